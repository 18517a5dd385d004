/*
 * jj_plugin.h - the C side of the jj plugin ABI.
 *
 * Two things live here:
 *
 *  1. The flow view an extractor reads (jj_flow, jj_packet, jj_link, jj_stream). These
 *     structs mirror, byte for byte, FlowView, PacketRecord, LinkInfo and StreamView of the
 *     Rust crate jj-plugin-api (src/flow.rs): the host passes a pointer to its own Rust
 *     FlowView as `const jj_flow *`. Any change to either side is a major ABI change; the
 *     static asserts at the end of this file and the host's unit tests pin both sides to
 *     the same offsets.
 *
 *  2. The C extractor contract: a shared library that exports
 *
 *         const jj_c_extractor *jj_c_extractor_entry(void);
 *
 *     is loaded by jj as one extractor (see jj_c_extractor below). C plugins can only be
 *     extractors; capture backends and output writers are written in Rust.
 *
 * Build a C extractor with e.g.
 *     cc -shared -fPIC -O2 -I<jj>/plugin-api/include -o libmy_extractor.so my_extractor.c
 * and load it with `jj --plugin-dir <dir-with-the-.so> ...`.
 *
 * Everything a plugin receives is borrowed: pointers inside a jj_flow are valid only for
 * the duration of the extract call. All integers are in host byte order unless stated.
 *
 * C99, includable from C++.
 */
#ifndef JJ_PLUGIN_H
#define JJ_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the C extractor contract described by this header (jj_c_extractor). */
#define JJ_C_ABI_VERSION 1u
/* Its revision: 1.1 appended jj_c_extractor.options. A revision only appends fields, so a
 * library built against 1.0 loads in a 1.1 host and the other way round; struct_size tells
 * the host which fields exist. */
#define JJ_C_ABI_REVISION 1u

/* ------------------------------------------------------------------------------------ */
/* Constants                                                                            */
/* ------------------------------------------------------------------------------------ */

/* jj_packet.dir: from the initiator (the sender of the flow's first packet) ... */
#define JJ_DIR_FWD 0u
/* ... or from the responder. */
#define JJ_DIR_BWD 1u

/* jj_packet.tcp_flags bits (9 bits). */
#define JJ_TCP_FIN 0x001u
#define JJ_TCP_SYN 0x002u
#define JJ_TCP_RST 0x004u
#define JJ_TCP_PSH 0x008u
#define JJ_TCP_ACK 0x010u
#define JJ_TCP_URG 0x020u
#define JJ_TCP_ECE 0x040u
#define JJ_TCP_CWR 0x080u
#define JJ_TCP_NS 0x100u

/* jj_packet.pflags bits. */
#define JJ_PF_TCP_SACK_PERM (1u << 0)   /* TCP SACK-permitted option present */
#define JJ_PF_TCP_HAS_TS (1u << 1)      /* TCP timestamps option present (tcp_ts_val/ecr valid) */
#define JJ_PF_TRUNCATED (1u << 2)       /* cut by the snap length: lengths from headers, bytes missing */
#define JJ_PF_REASSEMBLED (1u << 3)     /* rebuilt from IP fragments */
#define JJ_PF_TCP_HAS_MSS (1u << 4)     /* TCP MSS option present (tcp_mss valid) */
#define JJ_PF_TCP_HAS_WSCALE (1u << 5)  /* TCP window-scale option present (tcp_wscale valid) */
#define JJ_PF_TCP_HAS_OPTIONS (1u << 6) /* the packet has TCP options (bytes in hdr_bytes if kept) */
#define JJ_PF_L4_HEADER (1u << 7)       /* a transport header is present: TCP/UDP/ICMP fields valid */

/* jj_flow.end_reason: why the host ended the flow. */
#define JJ_END_EOF 0u          /* end of input */
#define JJ_END_IDLE 1u         /* idle timeout (packet time, or wall clock for live capture) */
#define JJ_END_ACTIVE 2u       /* active timeout (maximum flow duration) */
#define JJ_END_TCP_CLOSE 3u    /* TCP: FIN seen in both directions (and acknowledged) or RST */
#define JJ_END_EVICTED 4u      /* evicted because the flow table was full (--max-flows) */
#define JJ_END_PACKET_LIMIT 5u /* the flow reached the per-flow packet bound and was split */
#define JJ_END_COMPAT_FIN 6u   /* JoyfulJay compat mode: the first FIN or RST ended the flow */

/* ------------------------------------------------------------------------------------ */
/* Flow view (mirrors jj-plugin-api src/flow.rs)                                         */
/* ------------------------------------------------------------------------------------ */

/* abi_stable's RSlice<'_, u8>: `len` bytes at `ptr` (ptr may be dangling when len == 0). */
typedef struct jj_bytes {
    const uint8_t *ptr;
    size_t len;
} jj_bytes;

/* One packet of a flow, as decoded by the host (PacketRecord). 80 bytes, no padding. */
typedef struct jj_packet {
    int64_t ts_ns;           /*  0: capture timestamp, nanoseconds since the Unix epoch */
    uint32_t ip_len;         /*  8: IP total length (IPv4 total length, IPv6 payload length + 40) */
    uint32_t payload_len;    /* 12: transport payload length from the headers (no link padding) */
    uint32_t wire_len;       /* 16: original frame length on the wire */
    uint32_t tcp_seq;        /* 20: TCP sequence number */
    uint32_t tcp_ack;        /* 24: TCP acknowledgement number */
    uint32_t payload_off;    /* 28: offset of this packet's stored payload bytes in jj_flow.payload */
    uint32_t payload_stored; /* 32: payload bytes stored (<= payload_len; bounded by requirements) */
    uint32_t tcp_ts_val;     /* 36: TCP timestamp value (valid with JJ_PF_TCP_HAS_TS) */
    uint32_t tcp_ts_ecr;     /* 40: TCP timestamp echo reply (valid with JJ_PF_TCP_HAS_TS) */
    uint32_t flow_label;     /* 44: IPv6 flow label (0 for IPv4) */
    uint32_t opt_off;        /* 48: offset of the raw TCP option bytes in jj_flow.hdr_bytes */
    uint16_t frag_offset;    /* 52: fragment offset in bytes (first fragment / unfragmented: 0) */
    uint16_t icmp_id;        /* 54: ICMP/ICMPv6 echo id (0 otherwise) */
    uint16_t icmp_seq;       /* 56: ICMP/ICMPv6 echo sequence (0 otherwise) */
    uint16_t tcp_flags;      /* 58: TCP flags, 9 bits, JJ_TCP_* */
    uint16_t tcp_window;     /* 60: TCP window (unscaled) */
    uint16_t ip_id;          /* 62: IPv4 identification */
    uint16_t tcp_mss;        /* 64: TCP MSS option value (valid with JJ_PF_TCP_HAS_MSS) */
    uint16_t tcp_urgent;     /* 66: TCP urgent pointer */
    uint8_t dir;             /* 68: JJ_DIR_FWD or JJ_DIR_BWD */
    uint8_t ttl;             /* 69: IPv4 TTL / IPv6 hop limit */
    uint8_t tos;             /* 70: IPv4 TOS / IPv6 traffic class */
    uint8_t ip_flags;        /* 71: IPv4 flags as the 3-bit field: MF 0x1, DF 0x2, reserved 0x4 */
    uint8_t tcp_wscale;      /* 72: window-scale shift (valid with JJ_PF_TCP_HAS_WSCALE) */
    uint8_t icmp_type;       /* 73: ICMP type */
    uint8_t icmp_code;       /* 74: ICMP code */
    uint8_t pflags;          /* 75: JJ_PF_* bits */
    uint8_t tcp_opt_len;     /* 76: length of the raw TCP options (0..40) */
    uint8_t tcp_sack_blocks; /* 77: number of SACK blocks in this segment */
    uint8_t ip_opt_len;      /* 78: IPv4 header options length in bytes / IPv6 extension header count */
    uint8_t link_trailer;    /* 79: bytes after the IP packet in the frame (padding), capped at 255 */
} jj_packet;

/* abi_stable's RSlice<'_, PacketRecord>. */
typedef struct jj_packets {
    const jj_packet *ptr;
    size_t len;
} jj_packets;

/* Link-layer and encapsulation facts, from the flow's first packet (LinkInfo). 36 bytes,
 * alignment 2. */
typedef struct jj_link {
    uint8_t src_mac[6];     /*  0 */
    uint8_t dst_mac[6];     /*  6 */
    uint16_t eth_type;      /* 12: outer EtherType (0x8100 for VLAN-tagged frames), 0 without Ethernet */
    uint16_t vlan_id;       /* 14: first VLAN id, 0xFFFF when untagged */
    uint8_t has_eth;        /* 16: 1 if the frame had an Ethernet header */
    uint8_t tunnel_depth;   /* 17: tunnel headers crossed to reach the flow's IP packet */
    uint8_t n_layers;       /* 18: number of valid entries in layers */
    uint8_t layers[12];     /* 19: encapsulation stack, outermost first (host Layer codes) */
    uint8_t ipv6_ext_mask;  /* 31: IPv6 extension headers seen: bit0 HBH, 1 routing, 2 dest opts,
                                   3 fragment, 4 AH, 5 ESP, 6 mobility */
    uint8_t _reserved[4];   /* 32 */
} jj_link;

/* A reassembled prefix of one direction's TCP byte stream (StreamView). */
typedef struct jj_stream {
    jj_bytes bytes;       /*  0: in-order stream bytes from the start of the connection */
    uint8_t gap;          /* 16: 1 if a gap (missing segment) stopped reassembly before bytes ended */
    uint8_t truncated;    /* 17: 1 if the per-direction bound cut the stream */
    uint8_t _reserved[6]; /* 18 */
} jj_stream;

/* One flow, oriented from its initiator (FlowView). Borrowed: valid only during extract.
 * payload, hdr_bytes and streams hold only what the loaded extractors asked for (the
 * maximum over all of them): a C extractor can ask for payload bytes
 * (jj_c_extractor.payload_bytes_per_*); TCP option bytes and reassembled streams are
 * present only if some Rust extractor requested them, and are empty otherwise.
 * Offsets are for 64-bit targets. */
typedef struct jj_flow {
    uint8_t src_ip[16];          /*   0: initiator address (IPv4 in the first 4 bytes) */
    uint8_t dst_ip[16];          /*  16: responder address */
    uint16_t src_port;           /*  32: initiator port (0 for portless protocols) */
    uint16_t dst_port;           /*  34: responder port */
    uint8_t ip_version;          /*  36: 4 or 6 */
    uint8_t protocol;            /*  37: upper-layer protocol number (after IPv6 extension headers) */
    uint8_t end_reason;          /*  38: JJ_END_* */
    uint8_t pass;                /*  39: 0 for C extractors (Rust two-pass extractors only; was reserved in 1.0) */
    uint64_t first_packet_index; /*  40: 0-based input index of the flow's first packet (unique per run) */
    uint32_t anomalies;          /*  48: OR of the decoder's anomaly bits over the flow's packets */
    uint32_t _reserved2;         /*  52 */
    jj_link link;                /*  56 (36 bytes; 4 bytes of implicit padding follow on 64-bit) */
    jj_packets packets;          /*  96: every packet of the flow, in arrival order */
    jj_bytes payload;            /* 112: stored payload bytes of all packets; see jj_packet.payload_off */
    jj_bytes hdr_bytes;          /* 128: raw TCP option bytes; see jj_packet.opt_off */
    jj_stream streams[2];        /* 144: reassembled TCP streams: [initiator->responder, responder->initiator] */
} jj_flow;

/* ------------------------------------------------------------------------------------ */
/* C extractor contract                                                                 */
/* ------------------------------------------------------------------------------------ */

/* Kinds of jj_value. */
typedef enum jj_value_kind {
    JJ_NULL = 0,  /* missing / not applicable (allowed for every dtype) */
    JJ_INT = 1,   /* jj_value.i, for dtype "int64" */
    JJ_FLOAT = 2, /* jj_value.f, for dtype "float64" */
    JJ_BOOL = 3,  /* jj_value.i != 0, for dtype "bool" */
    JJ_STR = 4    /* jj_value.s / s_len, for dtype "string" */
} jj_value_kind;

/* One feature value, written by extract. Before each extract call the host zeroes every
 * slot (kind JJ_NULL), so a slot left untouched is a missing value. The kind must match
 * the feature's declared dtype (or be JJ_NULL); any other kind fails the flow. */
typedef struct jj_value {
    uint32_t kind;    /* a jj_value_kind */
    uint32_t _pad;    /* ignored */
    int64_t i;        /* JJ_INT value; JJ_BOOL: 0 = false, anything else = true */
    double f;         /* JJ_FLOAT value */
    const char *s;    /* JJ_STR: UTF-8 bytes, need not be NUL-terminated; may be NULL if s_len == 0.
                         Must stay valid until the next extract call on the same instance
                         (the host copies it right after extract returns). */
    size_t s_len;     /* JJ_STR: length of s in bytes */
} jj_value;

/* Metadata of one feature (one output column). Strings must stay valid while the library
 * is loaded (string literals are the usual choice). */
typedef struct jj_c_feature {
    const char *name;        /* unprefixed output column name, unique across all loaded
                                extractors (e.g. "exc_syn_count"); required, UTF-8 */
    const char *dtype;       /* "int64", "float64", "bool" or "string"; anything else
                                makes the host reject the library at load time */
    const char *units;       /* e.g. "packets", "bytes", "seconds"; NULL or "" = none */
    const char *description; /* one line for `jj features`; NULL = none */
    const char *profile;     /* profile the feature belongs to by its author's declaration
                                (e.g. "JJ-CORE"); NULL or "" = none */
} jj_c_feature;

/* An option create() reads (revision 1.1): a key of a [plugins.<name>] table of jj's config
 * file, which reaches create() as a "key=value" line. Strings must stay valid while the
 * library is loaded. */
typedef struct jj_c_option {
    const char *key;  /* e.g. "exc_count_synack"; NULL ends the list. A key ending in '*'
                         stands for every key with that prefix. Must not be empty, start
                         with '#' or hold '=', spaces or line breaks */
    const char *help; /* one line for `jj plugins`; NULL = none */
} jj_c_option;

/* The descriptor a C extractor library exposes through jj_c_extractor_entry. It must stay
 * valid (and unchanged) while the library is loaded; a static const object is the usual
 * choice. The host copies everything it needs at load time.
 *
 * Features get the defaults of jj-plugin-api's FeatureMeta::new: id "{group}.{name}",
 * shape [1], scope "flow", direction "bidir", missing policy "zero", privacy "safe".
 *
 * Threading: the host creates one instance per worker thread. create and destroy may be
 * called from any thread, concurrently; extract is called on one instance by one thread
 * at a time (possibly a different thread from the one that created it), while other
 * instances run extract concurrently. Keep per-flow state in the instance, not in globals.
 * No callback may unwind (C++ exceptions, longjmp) out of the library. */
typedef struct jj_c_extractor {
    uint32_t abi_version; /* JJ_C_ABI_VERSION; the host rejects any other value */
    uint32_t struct_size; /* sizeof(jj_c_extractor); later minor revisions only append
                             fields, and the host reads only the fields it knows */
    const char *name;     /* component name shown by `jj plugins` (e.g. "example_c");
                             required, UTF-8, unique across loaded extractors */
    const char *version;  /* the extractor's own version (e.g. "0.1.0"); required */
    const char *group;    /* feature group, the prefix of feature ids (e.g. "example_c");
                             required */
    size_t n_features;    /* number of entries in features (at least 1) */
    const jj_c_feature *features; /* features in output column order; extract fills
                                     exactly n_features values in this order */
    uint32_t payload_bytes_per_packet;    /* payload bytes the host keeps per packet
                                             (0 = none; see jj_packet.payload_stored) */
    uint32_t payload_bytes_per_direction; /* payload bytes kept per direction over the
                                             whole flow (0 = none) */

    /* Creates an instance. options: NUL-terminated "key=value\n" lines (engine options such
     * as compat=joyfuljay, plus the [plugins.<name>] table of the config file); blank
     * lines and lines starting with '#' carry nothing. Returns an opaque non-NULL
     * pointer, or NULL on failure. Required. */
    void *(*create)(const char *options);

    /* Computes one row fragment: fills out[0 .. n_features-1] for `flow` (every slot starts
     * as JJ_NULL). Returns 0 on success; any other value makes the host null this
     * extractor's columns for this flow and count a failure. Required. */
    int (*extract)(void *instance, const jj_flow *flow, jj_value *out);

    /* Frees an instance returned by create. Called exactly once per instance. Required. */
    void (*destroy)(void *instance);

    /* Revision 1.1. The options create reads, as an array ended by an entry whose key is
     * NULL; an extractor that reads none points to just that end entry. When every loaded
     * plugin declares its options, jj refuses a config-file key that none declares (a typo)
     * and suggests the closest declared one. NULL = not declared: while such an extractor
     * is loaded, jj only warns about unknown keys, since it may read them. */
    const jj_c_option *options;
} jj_c_extractor;

/* Marks the entry point as exported even when building with -fvisibility=hidden. */
#if defined(_WIN32)
#define JJ_EXPORT __declspec(dllexport)
#elif defined(__GNUC__)
#define JJ_EXPORT __attribute__((visibility("default")))
#else
#define JJ_EXPORT
#endif

/* The one symbol a C plugin exports. Called once, at load time; returns a pointer to a
 * descriptor that stays valid while the library is loaded (NULL = not usable). */
JJ_EXPORT const jj_c_extractor *jj_c_extractor_entry(void);

/* ------------------------------------------------------------------------------------ */
/* Layout pins                                                                          */
/* ------------------------------------------------------------------------------------ */

#define JJ_CONCAT_(a, b) a##b
#define JJ_CONCAT(a, b) JJ_CONCAT_(a, b)
#if defined(__cplusplus) && __cplusplus >= 201103L
#define JJ_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#elif !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define JJ_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#else /* C99 / C++98: a negative array size fails the build */
#define JJ_STATIC_ASSERT(cond, msg) \
    typedef char JJ_CONCAT(jj_static_assert_line_, __LINE__)[(cond) ? 1 : -1]
#endif

/* Pointer-size independent. */
JJ_STATIC_ASSERT(sizeof(jj_packet) == 80, "jj_packet must be 80 bytes (PacketRecord)");
JJ_STATIC_ASSERT(offsetof(jj_packet, payload_off) == 28, "jj_packet.payload_off");
JJ_STATIC_ASSERT(offsetof(jj_packet, frag_offset) == 52, "jj_packet.frag_offset");
JJ_STATIC_ASSERT(offsetof(jj_packet, tcp_flags) == 58, "jj_packet.tcp_flags");
JJ_STATIC_ASSERT(offsetof(jj_packet, dir) == 68, "jj_packet.dir");
JJ_STATIC_ASSERT(offsetof(jj_packet, pflags) == 75, "jj_packet.pflags");
JJ_STATIC_ASSERT(sizeof(jj_link) == 36, "jj_link must be 36 bytes (LinkInfo)");
JJ_STATIC_ASSERT(offsetof(jj_link, eth_type) == 12, "jj_link.eth_type");
JJ_STATIC_ASSERT(offsetof(jj_link, layers) == 19, "jj_link.layers");
JJ_STATIC_ASSERT(offsetof(jj_link, ipv6_ext_mask) == 31, "jj_link.ipv6_ext_mask");
JJ_STATIC_ASSERT(offsetof(jj_flow, first_packet_index) == 40, "jj_flow.first_packet_index");
JJ_STATIC_ASSERT(offsetof(jj_flow, link) == 56, "jj_flow.link");

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu /* 64-bit targets */
JJ_STATIC_ASSERT(sizeof(jj_bytes) == 16, "jj_bytes (RSlice) must be 16 bytes");
JJ_STATIC_ASSERT(sizeof(jj_stream) == 24, "jj_stream must be 24 bytes (StreamView)");
JJ_STATIC_ASSERT(offsetof(jj_stream, gap) == 16, "jj_stream.gap");
JJ_STATIC_ASSERT(offsetof(jj_flow, packets) == 96, "jj_flow.packets");
JJ_STATIC_ASSERT(offsetof(jj_flow, payload) == 112, "jj_flow.payload");
JJ_STATIC_ASSERT(offsetof(jj_flow, hdr_bytes) == 128, "jj_flow.hdr_bytes");
JJ_STATIC_ASSERT(offsetof(jj_flow, streams) == 144, "jj_flow.streams");
JJ_STATIC_ASSERT(sizeof(jj_flow) == 192, "jj_flow must be 192 bytes (FlowView)");
JJ_STATIC_ASSERT(sizeof(jj_value) == 40, "jj_value must be 40 bytes");
JJ_STATIC_ASSERT(sizeof(jj_c_feature) == 40, "jj_c_feature must be 40 bytes");
JJ_STATIC_ASSERT(offsetof(jj_c_extractor, n_features) == 32, "jj_c_extractor.n_features");
JJ_STATIC_ASSERT(offsetof(jj_c_extractor, payload_bytes_per_packet) == 48,
                 "jj_c_extractor.payload_bytes_per_packet");
JJ_STATIC_ASSERT(offsetof(jj_c_extractor, create) == 56, "jj_c_extractor.create");
JJ_STATIC_ASSERT(offsetof(jj_c_extractor, options) == 80, "jj_c_extractor.options");
JJ_STATIC_ASSERT(sizeof(jj_c_extractor) == 88, "jj_c_extractor must be 88 bytes");
JJ_STATIC_ASSERT(sizeof(jj_c_option) == 16, "jj_c_option must be 16 bytes");
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* JJ_PLUGIN_H */
