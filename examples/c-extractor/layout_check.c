/*
 * layout_check.c - prints the offsets and sizes of jj_plugin.h's structs as `key value`
 * lines. On 64-bit targets the output must equal layout_expected.txt, the same numbers the
 * host's Rust unit test (host/src/cplugin.rs) checks with offset_of!.
 *
 * Build and compare:
 *   cc -std=c99 -Wall -Wextra -I../../plugin-api/include -o layout_check layout_check.c
 *   ./layout_check | diff - layout_expected.txt
 */
#include <stddef.h>
#include <stdio.h>

#include "jj_plugin.h"

#define OFF(key, type, field) printf("%s %zu\n", key, offsetof(type, field))
#define SIZE(key, type) printf("%s %zu\n", key, sizeof(type))

int main(void)
{
    OFF("packet.ts_ns", jj_packet, ts_ns);
    OFF("packet.ip_len", jj_packet, ip_len);
    OFF("packet.payload_len", jj_packet, payload_len);
    OFF("packet.tcp_seq", jj_packet, tcp_seq);
    OFF("packet.payload_off", jj_packet, payload_off);
    OFF("packet.payload_stored", jj_packet, payload_stored);
    OFF("packet.opt_off", jj_packet, opt_off);
    OFF("packet.frag_offset", jj_packet, frag_offset);
    OFF("packet.tcp_flags", jj_packet, tcp_flags);
    OFF("packet.tcp_urgent", jj_packet, tcp_urgent);
    OFF("packet.dir", jj_packet, dir);
    OFF("packet.ttl", jj_packet, ttl);
    OFF("packet.pflags", jj_packet, pflags);
    OFF("packet.ip_opt_len", jj_packet, ip_opt_len);
    SIZE("sizeof.packet", jj_packet);
    OFF("link.eth_type", jj_link, eth_type);
    OFF("link.vlan_id", jj_link, vlan_id);
    OFF("link.has_eth", jj_link, has_eth);
    OFF("link.layers", jj_link, layers);
    OFF("link.ipv6_ext_mask", jj_link, ipv6_ext_mask);
    SIZE("sizeof.link", jj_link);
    OFF("stream.bytes", jj_stream, bytes);
    OFF("stream.gap", jj_stream, gap);
    OFF("stream.truncated", jj_stream, truncated);
    SIZE("sizeof.stream", jj_stream);
    SIZE("sizeof.bytes", jj_bytes);
    OFF("flow.src_ip", jj_flow, src_ip);
    OFF("flow.dst_ip", jj_flow, dst_ip);
    OFF("flow.src_port", jj_flow, src_port);
    OFF("flow.dst_port", jj_flow, dst_port);
    OFF("flow.ip_version", jj_flow, ip_version);
    OFF("flow.protocol", jj_flow, protocol);
    OFF("flow.end_reason", jj_flow, end_reason);
    OFF("flow.first_packet_index", jj_flow, first_packet_index);
    OFF("flow.anomalies", jj_flow, anomalies);
    OFF("flow.link", jj_flow, link);
    OFF("flow.packets", jj_flow, packets);
    OFF("flow.payload", jj_flow, payload);
    OFF("flow.hdr_bytes", jj_flow, hdr_bytes);
    OFF("flow.streams", jj_flow, streams);
    SIZE("sizeof.flow", jj_flow);
    OFF("value.i", jj_value, i);
    OFF("value.f", jj_value, f);
    OFF("value.s", jj_value, s);
    OFF("value.s_len", jj_value, s_len);
    SIZE("sizeof.value", jj_value);
    SIZE("sizeof.feature", jj_c_feature);
    OFF("extractor.name", jj_c_extractor, name);
    OFF("extractor.n_features", jj_c_extractor, n_features);
    OFF("extractor.features", jj_c_extractor, features);
    OFF("extractor.payload_bytes_per_packet", jj_c_extractor, payload_bytes_per_packet);
    OFF("extractor.create", jj_c_extractor, create);
    OFF("extractor.extract", jj_c_extractor, extract);
    OFF("extractor.destroy", jj_c_extractor, destroy);
    OFF("extractor.options", jj_c_extractor, options);
    SIZE("sizeof.extractor", jj_c_extractor);
    SIZE("sizeof.option", jj_c_option);
    return 0;
}
