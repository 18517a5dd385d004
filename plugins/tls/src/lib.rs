//! `tls`: JoyfulJay's 23 TLS handshake features (spec §4.5) plus FoxIO's JA4 and JA4S.
//!
//! **Default mode** reads the TLS records of both directions of a TCP flow, reassembles
//! handshake messages that span records (and so segments), and parses ClientHello,
//! ServerHello, Certificate and ServerKeyExchange (see [`analysis`]). The bytes come
//! from the host's reassembled TCP streams (`FlowView::streams`, preferred: they are in
//! sequence order without retransmissions, up to `tls_stream_bytes` per direction).
//! With `tls_payload_fallback=true` (for hosts without TCP reassembly; off by default,
//! since jj's host always provides the streams and stored payloads would double the
//! memory), the stored payloads of a direction whose stream is empty are put together
//! here instead ([`assemble`]): in arrival order from the same first sequence number as
//! the host's, keeping the first copy of overlapping bytes, up to the first hole.
//!
//! **`compat=joyfuljay`** reproduces JoyfulJay 0.1.6.1 bit for bit: per-packet parsing
//! of the first 256 payload bytes, its detection rules, GREASE mask and quirks (see
//! [`compat`]).
//!
//! Parsing is total: truncated or malformed input gives the fields read so far and an
//! [`anomaly`] bit, never an error or a panic. The parsers ([`wire`], [`record`],
//! [`hello`], [`fingerprint`], [`names`], [`analysis`], [`compat`]) forbid `unsafe`.
//! One extractor instance reuses its buffers, so a warm instance allocates only inside
//! `tls-parser` (its cipher and certificate lists, once per handshake).
//!
//! Options: `compat`, `tls_stream_bytes` (default 65536), `tls_payload_fallback`
//! (default false).
//!
//! Default mode differs from JoyfulJay where the reference is wrong or truncated
//! (spec §13 items 1 and 7): whole ClientHellos (standard JA3 with the 16 RFC 8701
//! GREASE values, full SNI and extension list); the side that sent the ClientHello is
//! the client, and a lone ServerHello also counts as TLS; TCP flows only; the negotiated
//! version (TLS 1.3 from supported_versions); the server-selected ALPN when the
//! ServerHello has one; handshake packets = packets carrying bytes of handshake records;
//! the server's whole certificate chain (none in TLS 1.3, where it is encrypted);
//! resumption only when it happened (TLS 1.3 PSK accepted; TLS 1.0-1.2 session id
//! echoed or ticket accepted, without a certificate); the key exchange the server chose
//! (TLS 1.3 key_share, TLS 1.0-1.2 ServerKeyExchange read by the suite's key exchange),
//! IANA group names. JA4/JA4S follow FoxIO's written definition (`t` for TCP, GREASE
//! ignored everywhere, one-character ALPN doubled, hex for non-alphanumeric ALPN
//! bytes); they are empty under compat.
#![deny(unsafe_code)]

pub mod analysis;
pub mod compat;
pub mod fingerprint;
pub mod hello;
pub mod names;
pub mod record;
pub mod summary;
pub mod wire;

use jj_plugin_api::{
    DType, Extractor, ExtractorFactory, ExtractorInfo, FeatureMeta, FlowView, OptionSpec, Options,
    PluginError, PluginResult, Requirements, StreamFraming, Value, DIR_FWD,
};
use record::DirScan;
use std::fmt::Write;
use summary::{write_ascii, Kx, Summary, Texts};

/// Feature group and id prefix.
pub const GROUP: &str = "tls";

/// Default bytes of each direction's stream examined (`tls_stream_bytes`).
pub const DEFAULT_STREAM_BYTES: u32 = 65536;
/// Payload bytes kept per packet for the fallback when streams are empty.
pub const FALLBACK_PAYLOAD_PER_PACKET: u32 = 16384;

/// Problems met while parsing (kept per flow in [`Summary::anomalies`]).
pub mod anomaly {
    /// A direction's bytes do not start with a TLS record.
    pub const NOT_TLS: u32 = 1 << 0;
    /// A header that is not a TLS record after valid records (the walk stopped).
    pub const BAD_RECORD: u32 = 1 << 1;
    /// The last record is cut by the end of the bytes.
    pub const RECORD_TRUNCATED: u32 = 1 << 2;
    /// A handshake message used is cut by the end of the bytes.
    pub const MSG_TRUNCATED: u32 = 1 << 3;
    /// A complete handshake message is inconsistent (lengths, sizes); read leniently.
    pub const MALFORMED: u32 = 1 << 4;
    /// An extension block ends inside an extension.
    pub const EXT_TRUNCATED: u32 = 1 << 5;
    /// A ServerKeyExchange whose parameters could not be read.
    pub const KX_UNREAD: u32 = 1 << 6;
}

const TCP: u8 = 6;
const SYN: u16 = 0x02;

/// Static description of one feature.
struct Spec {
    name: &'static str,
    dtype: DType,
    units: &'static str,
    direction: &'static str,
    privacy: &'static str,
    description: &'static str,
}

use DType::{Bool as B, Int64 as I, String as S};

const fn spec(
    name: &'static str,
    dtype: DType,
    units: &'static str,
    direction: &'static str,
    description: &'static str,
) -> Spec {
    Spec {
        name,
        dtype,
        units,
        direction,
        privacy: "safe",
        description,
    }
}

impl Spec {
    const fn privacy(mut self, p: &'static str) -> Self {
        self.privacy = p;
        self
    }
}

/// Output slots, in column order (the reference's order, then JA4 and JA4S).
pub mod slot {
    pub const DETECTED: usize = 0;
    pub const VERSION: usize = 1;
    pub const VERSION_STR: usize = 2;
    pub const CIPHER_SUITE: usize = 3;
    pub const CIPHER_COUNT: usize = 4;
    pub const EXTENSION_COUNT: usize = 5;
    pub const SNI: usize = 6;
    pub const ALPN: usize = 7;
    pub const JA3: usize = 8;
    pub const JA3S: usize = 9;
    pub const HANDSHAKE_PACKETS: usize = 10;
    pub const CERT_COUNT: usize = 11;
    pub const CERT_TOTAL_LENGTH: usize = 12;
    pub const CERT_FIRST_LENGTH: usize = 13;
    pub const CERT_CHAIN_LENGTH: usize = 14;
    pub const SESSION_ID_LEN: usize = 15;
    pub const SESSION_TICKET_EXT: usize = 16;
    pub const SESSION_RESUMED: usize = 17;
    pub const PSK_EXT: usize = 18;
    pub const EARLY_DATA_EXT: usize = 19;
    pub const KX_GROUP: usize = 20;
    pub const KX_GROUP_NAME: usize = 21;
    pub const KX_LENGTH: usize = 22;
    pub const JA4: usize = 23;
    pub const JA4S: usize = 24;
    pub const COUNT: usize = 25;
}

const C2S: &str = "src_to_dst";
const S2C: &str = "dst_to_src";
const BI: &str = "bidir";

/// The 25 features, in slot order. Directions name the TLS client/server roles; the
/// semantics line says how they map to initiator/responder.
const FEATURES: [Spec; slot::COUNT] = [
    spec("tls_detected", B, "", BI, "A TLS ClientHello or ServerHello was found (compat: a ClientHello in an initiator packet)"),
    spec("tls_version", I, "", BI, "Negotiated protocol version: the ServerHello's supported_versions choice (0x0304 for TLS 1.3), else its legacy_version, else the ClientHello's legacy_version (compat: always the ClientHello's legacy_version); 0 if none"),
    spec("tls_version_str", S, "", BI, "tls_version as text: SSL 3.0, TLS 1.0 ... TLS 1.3, or Unknown (0x....); empty if none"),
    spec("tls_cipher_suite", I, "", S2C, "Cipher suite selected by the ServerHello; 0 if none"),
    spec("tls_cipher_count", I, "count", C2S, "Cipher suites offered in the ClientHello, GREASE included"),
    spec("tls_extension_count", I, "count", C2S, "Extensions in the ClientHello, GREASE included"),
    spec("tls_sni", S, "", C2S, "First host_name of the ClientHello's server_name extension, non-ASCII bytes dropped")
        .privacy("sensitive"),
    spec("tls_alpn", S, "", BI, "ALPN protocol selected by the ServerHello, else the client's first offer (compat: always the client's first offer)"),
    spec("ja3_hash", S, "", C2S, "JA3 (Salesforce): md5 of SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats of the ClientHello, GREASE removed; empty if none"),
    spec("ja3s_hash", S, "", S2C, "JA3S (Salesforce): md5 of SSLVersion,Cipher,Extensions of the first ServerHello; empty if none"),
    spec("tls_handshake_packets", I, "count", BI, "Packets (both directions) carrying bytes of TLS handshake records (content type 22) that come before their direction's first application-data record (compat: packets whose payload starts with 0x16)"),
    spec("tls_cert_count", I, "count", S2C, "Certificates (non-empty) in the server's Certificate message; 0 for TLS 1.3, where it is encrypted"),
    spec("tls_cert_total_length", I, "bytes", S2C, "Sum of the lengths of those certificates"),
    spec("tls_cert_first_length", I, "bytes", S2C, "Length of the first (leaf) certificate"),
    spec("tls_cert_chain_length", I, "count", S2C, "Length of the certificate chain (same value as tls_cert_count)"),
    spec("tls_session_id_len", I, "bytes", C2S, "Length of the ClientHello's legacy_session_id"),
    spec("tls_session_ticket_ext", B, "", C2S, "The ClientHello has a session_ticket extension"),
    spec("tls_session_resumed", B, "", BI, "The session was resumed: TLS 1.3 server accepted a PSK; TLS 1.0-1.2 no server certificate and the ServerHello echoed the client's session id or accepted its ticket (compat: detected, no certificate, and session id, ticket or PSK extension offered)"),
    spec("tls_psk_ext", B, "", C2S, "The ClientHello has a pre_shared_key extension"),
    spec("tls_early_data_ext", B, "", C2S, "The ClientHello has an early_data extension"),
    spec("tls_key_exchange_group", I, "", BI, "Key exchange group: the server's key_share (TLS 1.3) or ServerKeyExchange named curve or RFC 7919 group (TLS 1.0-1.2); 0 if none or custom DH parameters (compat: ServerKeyExchange, else the client's first key_share)"),
    spec("tls_key_exchange_group_name", S, "", BI, "Name of the key exchange group (IANA), dhe<bits> for custom DH parameters, unknown(0x....) for other ids; empty if none"),
    spec("tls_key_exchange_length", I, "bits", BI, "Size in bits of the key share / ECDHE public key, or of the DH prime"),
    spec("ja4", S, "", C2S, "JA4 (FoxIO) of the first ClientHello, e.g. t13d1516h2_8daaf6152771_e5627efa2ab1; empty if none (jj only)"),
    spec("ja4s", S, "", S2C, "JA4S (FoxIO) of the first ServerHello, e.g. t130200_1301_234ea6891581; empty if none (jj only)"),
];

/// Parsed options of one `tls` instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub compat: bool,
    pub stream_bytes: u32,
    pub payload_fallback: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            compat: false,
            stream_bytes: DEFAULT_STREAM_BYTES,
            payload_fallback: true,
        }
    }
}

/// The options [`Config::from_options`] reads.
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("compat", "joyfuljay: JoyfulJay's values (--compat)"),
    OptionSpec::new(
        "tls_stream_bytes",
        "TCP stream bytes kept per direction for the handshake",
    ),
    OptionSpec::new(
        "tls_payload_fallback",
        "for hosts without TCP reassembly: rebuild an empty stream from stored payloads (true/false)",
    ),
];

impl Config {
    pub fn from_options(options: &Options) -> PluginResult<Config> {
        let stream_bytes = options.get_u64("tls_stream_bytes", DEFAULT_STREAM_BYTES.into());
        let stream_bytes = u32::try_from(stream_bytes).map_err(|_| {
            PluginError::config(format!(
                "tls: tls_stream_bytes={stream_bytes} is too large (at most {})",
                u32::MAX
            ))
        })?;
        Ok(Config {
            compat: options.compat_joyfuljay(),
            stream_bytes,
            payload_fallback: options.get_bool("tls_payload_fallback", false),
        })
    }

    pub fn requirements(&self) -> Requirements {
        if self.compat {
            // The reference keeps 256 bytes of every packet and looks at the first byte
            // of all of them (tls_handshake_packets), so no per-direction bound.
            return Requirements {
                payload_bytes_per_packet: compat::PAYLOAD_CAP,
                payload_bytes_per_direction: u32::MAX,
                ..Requirements::default()
            };
        }
        let fallback = self.payload_fallback && self.stream_bytes > 0;
        Requirements {
            payload_bytes_per_packet: if fallback {
                FALLBACK_PAYLOAD_PER_PACKET.min(self.stream_bytes)
            } else {
                0
            },
            payload_bytes_per_direction: if fallback { self.stream_bytes } else { 0 },
            stream_bytes_per_direction: self.stream_bytes,
            ..Requirements::default()
        }
    }
}

/// The factory registered under the component name `tls`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TlsFactory;

impl ExtractorFactory for TlsFactory {
    type Instance = Tls;
    fn options(&self) -> Option<Vec<jj_plugin_api::OptionSpec>> {
        Some(OPTIONS.to_vec())
    }

    fn describe(&self, options: &Options) -> PluginResult<ExtractorInfo> {
        let cfg = Config::from_options(options)?;
        Ok(ExtractorInfo {
            group: GROUP.into(),
            features: FEATURES.iter().map(feature_meta).collect(),
            requirements: cfg.requirements(),
        })
    }

    fn create(&self, options: &Options) -> PluginResult<Tls> {
        Ok(Tls::new(Config::from_options(options)?))
    }

    /// The records [`record::DirScan`] reads: it stops at an application-data record or
    /// at a header that is not TLS, so the host need not keep a stream past that.
    fn stream_framing(&self) -> Option<StreamFraming> {
        Some(record::FRAMING)
    }
}

fn feature_meta(s: &Spec) -> FeatureMeta {
    let missing = if s.dtype == DType::String {
        "empty"
    } else {
        "zero"
    };
    let mut m = FeatureMeta::new(GROUP, s.name, s.dtype, s.description)
        .units(s.units)
        .direction(s.direction)
        .missing(missing, "null")
        .privacy(s.privacy)
        .deps(&["tcp", "tls"])
        .profile("JJ-CORE");
    m.direction_semantics = match s.direction {
        C2S => "sent by the TLS client (the side that sent the ClientHello; compat: the initiator)",
        S2C => "sent by the TLS server (compat: the responder)",
        _ => "from the handshake as a whole",
    }
    .into();
    m
}

/// One extractor instance (per worker thread), with its reusable buffers.
#[derive(Debug, Default)]
pub struct Tls {
    cfg: Config,
    /// Per-direction stream assembled from stored payloads (fallback).
    assembled: [Vec<u8>; 2],
    scan: [DirScan; 2],
    texts: Texts,
}

impl Tls {
    pub fn new(cfg: Config) -> Self {
        Tls {
            cfg,
            ..Tls::default()
        }
    }

    /// The analysis of one flow (the values `extract` writes) and the texts it built.
    pub fn summarize<'a>(&'a mut self, flow: &FlowView<'a>) -> (Summary<'a>, &'a mut Texts) {
        let Tls {
            cfg,
            assembled,
            scan,
            texts,
        } = self;
        if cfg.compat {
            // Other extractors may have made the host keep more than 256 bytes.
            let cap = compat::PAYLOAD_CAP as usize;
            let packets = flow.packets().iter().map(|p| {
                let b = flow.payload_of(p);
                (p.dir == DIR_FWD, &b[..b.len().min(cap)])
            });
            return (compat::analyze(packets, texts), texts);
        }
        if flow.protocol != TCP {
            return (Summary::default(), texts);
        }
        let limit = cfg.stream_bytes as usize;
        let mut bases = [None; 2];
        for (d, (base, buf)) in bases.iter_mut().zip(assembled.iter_mut()).enumerate() {
            buf.clear();
            if flow.streams[d].bytes.is_empty() && cfg.payload_fallback {
                *base = assemble(flow, d as u8, limit, buf);
            } else if !flow.streams[d].bytes.is_empty() {
                *base = stream_base(flow, d as u8);
            }
        }
        let streams: [&[u8]; 2] = std::array::from_fn(|d| {
            let host = flow.streams[d].bytes.as_slice();
            if host.is_empty() {
                &assembled[d][..]
            } else {
                &host[..host.len().min(limit)]
            }
        });
        scan[0].scan(streams[0]);
        scan[1].scan(streams[1]);
        let scan: &'a [DirScan; 2] = scan;
        let mut s = analysis::analyze(scan, texts);
        s.handshake_packets = count_handshake_packets(flow, &bases, streams, scan);
        (s, texts)
    }
}

/// Sequence number of a direction's first stream byte, as the host's reassembly defines
/// it: the first segment of the direction (in capture order) that is a SYN (stream at
/// ISN + 1) or carries payload (stream at its sequence number).
pub fn stream_base(flow: &FlowView<'_>, dir: u8) -> Option<u32> {
    flow.packets()
        .iter()
        .find(|p| p.dir == dir && (p.tcp_flags & SYN != 0 || p.payload_len > 0))
        .map(data_seq)
}

/// Sequence number of a segment's first payload byte (a SYN occupies one).
fn data_seq(p: &jj_plugin_api::PacketRecord) -> u32 {
    if p.tcp_flags & SYN != 0 {
        p.tcp_seq.wrapping_add(1)
    } else {
        p.tcp_seq
    }
}

/// Puts a direction's stored payloads together in arrival order from its stream base,
/// with the host's overlap policy: the first copy of a byte is kept (retransmitted and
/// overlapping bytes are skipped). The stream ends at the first hole (a lost or
/// reordered segment: unlike the host, nothing is buffered beyond it), at the first
/// payload the host stored only partly, or at `limit` bytes. Returns the base.
pub fn assemble(flow: &FlowView<'_>, dir: u8, limit: usize, out: &mut Vec<u8>) -> Option<u32> {
    out.clear();
    let base = stream_base(flow, dir)?;
    for p in flow.packets() {
        if p.dir != dir || p.payload_len == 0 {
            continue;
        }
        let stored = flow.payload_of(p);
        let off = i64::from(data_seq(p).wrapping_sub(base) as i32);
        if off > out.len() as i64 {
            break;
        }
        // Skip what is already held (and anything before the base).
        let held = usize::try_from(out.len() as i64 - off).unwrap_or(usize::MAX);
        let fresh = stored.get(held..).unwrap_or(&[]);
        out.extend_from_slice(&fresh[..fresh.len().min(limit.saturating_sub(out.len()))]);
        if stored.len() < p.payload_len as usize || out.len() >= limit {
            break;
        }
    }
    Some(base)
}

/// Packets whose payload overlaps a handshake record of their direction's stream. A
/// packet whose stored bytes differ from the stream's at the same place (bytes another
/// copy replaced) did not carry them and is not counted.
fn count_handshake_packets(
    flow: &FlowView<'_>,
    bases: &[Option<u32>; 2],
    streams: [&[u8]; 2],
    scan: &[DirScan; 2],
) -> u32 {
    let mut n = 0;
    for p in flow.packets() {
        let d = usize::from(p.dir != DIR_FWD);
        let Some(base) = bases[d] else { continue };
        if p.payload_len == 0 || scan[d].hs_ranges.is_empty() {
            continue;
        }
        let off = i64::from(data_seq(p).wrapping_sub(base) as i32);
        let end = off + i64::from(p.payload_len);
        if end <= 0 || !scan[d].overlaps_handshake(off.max(0) as u64, end as u64) {
            continue;
        }
        let stored = flow.payload_of(p);
        let skip = usize::try_from(-off).unwrap_or(0);
        let at = usize::try_from(off).unwrap_or(0);
        let mine = stored.get(skip..).unwrap_or(&[]);
        let theirs = streams[d].get(at..).unwrap_or(&[]);
        let k = mine.len().min(theirs.len());
        if mine[..k] == theirs[..k] {
            n += 1;
        }
    }
    n
}

fn int(v: impl Into<i64>) -> i64 {
    v.into()
}

impl Extractor for Tls {
    fn extract(&mut self, flow: &FlowView<'_>, out: &mut [Value]) -> PluginResult<()> {
        use slot::*;
        if out.len() != COUNT {
            return Err(PluginError::other(format!(
                "tls: the host passed {} output slots, expected {COUNT}",
                out.len()
            )));
        }
        let compat = self.cfg.compat;
        let (s, t) = self.summarize(flow);
        out[DETECTED].set_bool(s.detected);
        out[VERSION].set_int(int(s.version));
        if s.version == 0 {
            out[VERSION_STR].set_str("");
        } else {
            names::write_version(&mut t.name, s.version);
            out[VERSION_STR].set_str(&t.name);
        }
        out[CIPHER_SUITE].set_int(int(s.cipher));
        out[CIPHER_COUNT].set_int(int(s.cipher_count));
        out[EXTENSION_COUNT].set_int(int(s.ext_count));
        write_ascii(&mut t.name, s.sni.unwrap_or(&[]));
        out[SNI].set_str(&t.name);
        write_ascii(&mut t.name, s.alpn.unwrap_or(&[]));
        out[ALPN].set_str(&t.name);
        out[JA3].set_str(if s.ja3 { &t.ja3 } else { "" });
        out[JA3S].set_str(if s.ja3s { &t.ja3s } else { "" });
        out[HANDSHAKE_PACKETS].set_int(int(s.handshake_packets));
        out[CERT_COUNT].set_int(int(s.cert.count));
        out[CERT_TOTAL_LENGTH].set_int(i64::try_from(s.cert.total_len).unwrap_or(i64::MAX));
        out[CERT_FIRST_LENGTH].set_int(int(s.cert.first_len));
        out[CERT_CHAIN_LENGTH].set_int(int(s.cert.count));
        out[SESSION_ID_LEN].set_int(int(s.session_id_len));
        out[SESSION_TICKET_EXT].set_bool(s.ticket_ext);
        out[SESSION_RESUMED].set_bool(s.resumed);
        out[PSK_EXT].set_bool(s.psk_ext);
        out[EARLY_DATA_EXT].set_bool(s.early_data_ext);
        let (group, bits) = match s.kx {
            Kx::None => {
                t.name.clear();
                (0, 0)
            }
            Kx::Group { group, bits } => {
                names::write_group(&mut t.name, group, compat);
                (group, bits)
            }
            Kx::CustomDh { bits } => {
                t.name.clear();
                let _ = write!(t.name, "dhe{bits}");
                (0, bits)
            }
            Kx::CompatDh { bits } => {
                t.name.clear();
                let _ = write!(t.name, "ffdhe{bits}");
                (0x100, bits)
            }
        };
        out[KX_GROUP].set_int(int(group));
        out[KX_GROUP_NAME].set_str(&t.name);
        out[KX_LENGTH].set_int(int(bits));
        out[JA4].set_str(if s.ja4 && !compat { &t.ja4 } else { "" });
        out[JA4S].set_str(if s.ja4s && !compat { &t.ja4s } else { "" });
        Ok(())
    }
}

jj_plugin_api::export_plugin! {
    name: "jj-tls",
    version: env!("CARGO_PKG_VERSION"),
    extractors: [
        "tls" => (
            "TLS handshake: version, suites, extensions, SNI, ALPN, JA3/JA3S, JA4/JA4S, certificates, resumption, key exchange (25 features, JJ-CORE)",
            TlsFactory
        )
    ],
}

#[cfg(test)]
mod tests;
