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
 *
 * Option (in a [plugins.<name>] table of jj's config file):
 *   exc_count_synack  true (default) or false: whether a SYN+ACK counts in exc_syn_count
 */
#include <stdlib.h>
#include <string.h>

#include "jj_plugin.h"

static const jj_c_feature FEATURES[] = {
    {"exc_syn_count", "int64", "packets", "Packets with the TCP SYN flag set", NULL},
    {"exc_mean_payload", "float64", "bytes", "Mean transport payload length per packet", NULL},
};

/* The options create reads, declared so that jj can refuse a misspelt key in a config
 * file (and list them in `jj plugins`). The list ends with a NULL key; an extractor that
 * reads no option declares just that end entry. */
static const jj_c_option OPTIONS[] = {
    {"exc_count_synack", "true (default) or false: whether a SYN+ACK counts in exc_syn_count"},
    {NULL, NULL},
};

/* Per-instance state. The host creates one instance per worker thread, so state kept here
 * needs no locking. */
typedef struct example_instance {
    int count_synack;    /* the exc_count_synack option */
    unsigned long flows; /* flows seen by this instance */
} example_instance;

/* The value of `key` in the "key=value\n" lines of options, or NULL; *len gets its length. */
static const char *option_value(const char *options, const char *key, size_t *len)
{
    size_t klen = strlen(key);
    for (const char *line = options; *line;) {
        size_t n = strcspn(line, "\n");
        if (n > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
            *len = n - klen - 1;
            return line + klen + 1;
        }
        line += n + (line[n] == '\n');
    }
    return NULL;
}

static void *example_create(const char *options)
{
    /* options: "key=value\n" lines (engine options such as compat=joyfuljay, and the keys
     * of the config file's [plugins.<name>] tables) */
    int count_synack = 1;
    size_t len = 0;
    const char *v = option_value(options, "exc_count_synack", &len);
    if (v) {
        if (len == 4 && strncmp(v, "true", 4) == 0)
            count_synack = 1;
        else if (len == 5 && strncmp(v, "false", 5) == 0)
            count_synack = 0;
        else
            return NULL; /* jj reports that create failed; the run stops before reading */
    }
    example_instance *inst = calloc(1, sizeof(example_instance));
    if (inst)
        inst->count_synack = count_synack;
    return inst;
}

static int example_extract(void *instance, const jj_flow *flow, jj_value *out)
{
    example_instance *inst = (example_instance *)instance;
    int64_t syn = 0;
    uint64_t payload = 0;
    for (size_t i = 0; i < flow->packets.len; i++) {
        const jj_packet *p = &flow->packets.ptr[i];
        if ((p->tcp_flags & JJ_TCP_SYN) && (inst->count_synack || !(p->tcp_flags & JJ_TCP_ACK)))
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
    OPTIONS, /* since C ABI 1.1; NULL would leave the options undeclared */
};

const jj_c_extractor *jj_c_extractor_entry(void)
{
    return &EXAMPLE;
}
