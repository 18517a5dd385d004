/*
 * example.c - a jj extractor written in C (group "example_c").
 *
 * Build:  cc -shared -fPIC -O2 -I../../plugin-api/include -o libjj_example_c.so example.c
 * Run:    jj --plugin-dir . extract capture.pcap -o out.csv
 *
 * Columns:
 *   exc_syn_count     int64    packets of the flow with the TCP SYN flag set
 *   exc_mean_payload  float64  mean transport payload length per packet (bytes);
 *                              missing for a flow without packets
 */
#include <stdlib.h>
#include <string.h>

#include "jj_plugin.h"

static const jj_c_feature FEATURES[] = {
    {"exc_syn_count", "int64", "packets", "Packets with the TCP SYN flag set", NULL},
    {"exc_mean_payload", "float64", "bytes", "Mean transport payload length per packet", NULL},
};

/* Per-instance state. The host creates one instance per worker thread, so state kept here
 * needs no locking. This extractor needs none, but create must still return non-NULL. */
typedef struct example_instance {
    unsigned long flows; /* flows seen by this instance */
} example_instance;

static void *example_create(const char *options)
{
    (void)options; /* "key=value\n" lines (engine options, [plugins.<name>] config) */
    return calloc(1, sizeof(example_instance));
}

static int example_extract(void *instance, const jj_flow *flow, jj_value *out)
{
    example_instance *inst = (example_instance *)instance;
    int64_t syn = 0;
    uint64_t payload = 0;
    for (size_t i = 0; i < flow->packets.len; i++) {
        const jj_packet *p = &flow->packets.ptr[i];
        if (p->tcp_flags & JJ_TCP_SYN)
            syn++;
        payload += p->payload_len;
    }
    inst->flows++;
    out[0].kind = JJ_INT;
    out[0].i = syn;
    if (flow->packets.len > 0) {
        out[1].kind = JJ_FLOAT;
        out[1].f = (double)payload / (double)flow->packets.len;
    } /* else: left as JJ_NULL (missing) */
    return 0;
}

static void example_destroy(void *instance)
{
    free(instance);
}

static const jj_c_extractor EXAMPLE = {
    JJ_C_ABI_VERSION,
    (uint32_t)sizeof(jj_c_extractor),
    "example_c", /* name */
    "0.1.0",     /* version */
    "example_c", /* group */
    sizeof FEATURES / sizeof FEATURES[0],
    FEATURES,
    0, /* payload_bytes_per_packet: only lengths are needed, no payload bytes */
    0, /* payload_bytes_per_direction */
    example_create,
    example_extract,
    example_destroy,
};

const jj_c_extractor *jj_c_extractor_entry(void)
{
    return &EXAMPLE;
}
