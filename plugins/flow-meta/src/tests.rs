//! Hand-built flows, every feature checked against values worked out by hand (floats:
//! Python 3 arithmetic on `float("<decimal timestamp>")`, pasted as literals and
//! compared bit-for-bit).
use super::*;
use crate::text::layer;
use jj_plugin_api::{abi_stable::std_types::RSlice, LinkInfo, PacketRecord, StreamView, DIR_BWD};

const FIN: u16 = 0x01;
const SYN: u16 = 0x02;
const RST: u16 = 0x04;
const PSH: u16 = 0x08;
const ACK: u16 = 0x10;
const ECE: u16 = 0x40;
const CWR: u16 = 0x80;

/// 2024-01-01T00:00:00Z in nanoseconds.
const T0: i64 = 1_704_067_200_000_000_000;
const MS: i64 = 1_000_000;

fn pkt(ts_ns: i64, dir: u8, ip_len: u32, payload_len: u32, tcp_flags: u16) -> PacketRecord {
    PacketRecord {
        ts_ns,
        dir,
        ip_len,
        payload_len,
        wire_len: ip_len + 14,
        tcp_flags,
        ..Default::default()
    }
}

fn v4(a: [u8; 4]) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&a);
    b
}

fn v6(s: &str) -> [u8; 16] {
    s.parse::<std::net::Ipv6Addr>().unwrap().octets()
}

fn link(has_eth: bool, layers: &[u8]) -> LinkInfo {
    let mut l = LinkInfo {
        has_eth: has_eth as u8,
        n_layers: layers.len() as u8,
        vlan_id: 0xFFFF,
        ..Default::default()
    };
    l.layers[..layers.len()].copy_from_slice(layers);
    l
}

struct Flow {
    src: [u8; 16],
    dst: [u8; 16],
    sport: u16,
    dport: u16,
    version: u8,
    proto: u8,
    end: u8,
    link: LinkInfo,
    pkts: Vec<PacketRecord>,
}

impl Flow {
    fn tcp4(pkts: Vec<PacketRecord>) -> Flow {
        Flow {
            src: v4([192, 168, 1, 100]),
            dst: v4([93, 184, 216, 34]),
            sport: 54321,
            dport: 443,
            version: 4,
            proto: 6,
            end: flow_end::TCP_CLOSE,
            link: link(true, &[layer::ETH, layer::IP4, layer::TCP]),
            pkts,
        }
    }

    fn view(&self) -> FlowView<'_> {
        FlowView {
            src_ip: self.src,
            dst_ip: self.dst,
            src_port: self.sport,
            dst_port: self.dport,
            ip_version: self.version,
            protocol: self.proto,
            end_reason: self.end,
            pass: 0,
            first_packet_index: 0,
            anomalies: 0,
            _reserved2: 0,
            link: self.link,
            packets: RSlice::from_slice(&self.pkts),
            payload: RSlice::from_slice(&[]),
            hdr_bytes: RSlice::from_slice(&[]),
            streams: [StreamView::default(), StreamView::default()],
        }
    }

    fn run(&self, compat: bool) -> Vec<Value> {
        let mut out = vec![Value::Null; slot::COUNT];
        FlowMeta::new(compat)
            .extract(&self.view(), &mut out)
            .unwrap();
        out
    }
}

fn s(v: &Value) -> &str {
    match v {
        Value::Str(s) => s.as_str(),
        other => panic!("not a string: {other:?}"),
    }
}

fn i(v: &Value) -> i64 {
    match v {
        Value::Int(x) => *x,
        other => panic!("not an int: {other:?}"),
    }
}

/// Float compared bit-for-bit (so 0.0 vs -0.0 and 1-ulp differences fail).
fn f(v: &Value) -> u64 {
    match v {
        Value::Float(x) => x.to_bits(),
        other => panic!("not a float: {other:?}"),
    }
}

fn b(x: f64) -> u64 {
    x.to_bits()
}

fn by_name<'a>(out: &'a [Value], name: &str) -> &'a Value {
    let k = FEATURES
        .iter()
        .position(|s| s.name == name)
        .unwrap_or_else(|| panic!("no feature {name}"));
    &out[k]
}

fn stat_of(flow: &Flow, compat: bool) -> i64 {
    i(&flow.run(compat)[slot::FLOW_STAT])
}

// ---------------------------------------------------------------------------------------

/// A complete IPv4 TCP connection, 6 packets, 4 fwd / 2 bwd, µs timestamps:
///
/// | # | t (s after T0) | dir | flags   | ip_len | payload |
/// |---|----------------|-----|---------|--------|---------|
/// | 0 | 0.000          | fwd | SYN     | 60     | 0       |
/// | 1 | 0.010          | bwd | SYN+ACK | 60     | 0       |
/// | 2 | 0.020          | fwd | ACK     | 52     | 0       |
/// | 3 | 0.100          | fwd | PSH+ACK | 552    | 500     |
/// | 4 | 0.200          | fwd | FIN+ACK | 52     | 0       |
/// | 5 | 0.210          | bwd | FIN+ACK | 52     | 0       |
///
/// bytes: fwd 60+52+552+52 = 716, bwd 60+52 = 112, total 828; payload fwd 500, bwd 0.
/// start = float("1704067200.000000") = 1704067200.0, end = float("1704067200.210000")
/// = 1704067200.21, duration = end - start = 0.21000003814697266 (f64 subtraction at
/// 1.7e9 keeps only ~2.4e-7 resolution). pps = 6 / d = 28.571423381365207,
/// Bps = 828 / d = 3942.856426628399, packets_ratio = 4/2 = 2.0,
/// bytes_ratio = 716/112 = 6.392857142857143, avg = 828/6 = 138.0.
/// flow_stat: SYN 0x01 | SYN+ACK 0x02 | FIN fwd 0x04 | FIN bwd 0x08 | closed 0x40 = 79.
#[test]
fn tcp_connection_every_feature() {
    let flow = Flow::tcp4(vec![
        pkt(T0, DIR_FWD, 60, 0, SYN),
        pkt(T0 + 10 * MS, DIR_BWD, 60, 0, SYN | ACK),
        pkt(T0 + 20 * MS, DIR_FWD, 52, 0, ACK),
        pkt(T0 + 100 * MS, DIR_FWD, 552, 500, PSH | ACK),
        pkt(T0 + 200 * MS, DIR_FWD, 52, 0, FIN | ACK),
        pkt(T0 + 210 * MS, DIR_BWD, 52, 0, FIN | ACK),
    ]);
    let out = flow.run(false);
    assert_eq!(s(by_name(&out, "src_ip")), "192.168.1.100");
    assert_eq!(s(by_name(&out, "dst_ip")), "93.184.216.34");
    assert_eq!(i(by_name(&out, "src_port")), 54321);
    assert_eq!(i(by_name(&out, "dst_port")), 443);
    assert_eq!(s(by_name(&out, "dst_port_class")), "https");
    assert_eq!(i(by_name(&out, "dst_port_class_num")), 1);
    assert_eq!(i(by_name(&out, "protocol")), 6);
    assert_eq!(f(by_name(&out, "start_time")), b(1704067200.0));
    assert_eq!(f(by_name(&out, "end_time")), b(1704067200.21));
    assert_eq!(f(by_name(&out, "duration")), b(0.21000003814697266));
    assert_eq!(i(by_name(&out, "total_packets")), 6);
    assert_eq!(i(by_name(&out, "packets_fwd")), 4);
    assert_eq!(i(by_name(&out, "packets_bwd")), 2);
    assert_eq!(i(by_name(&out, "total_bytes")), 828);
    assert_eq!(i(by_name(&out, "bytes_fwd")), 716);
    assert_eq!(i(by_name(&out, "bytes_bwd")), 112);
    assert_eq!(i(by_name(&out, "payload_bytes_fwd")), 500);
    assert_eq!(i(by_name(&out, "payload_bytes_bwd")), 0);
    assert_eq!(i(by_name(&out, "payload_bytes_total")), 500);
    assert_eq!(f(by_name(&out, "packets_ratio")), b(2.0));
    assert_eq!(f(by_name(&out, "bytes_ratio")), b(6.392857142857143));
    assert_eq!(
        f(by_name(&out, "packets_per_second")),
        b(28.571423381365207)
    );
    assert_eq!(f(by_name(&out, "bytes_per_second")), b(3942.856426628399));
    assert_eq!(f(by_name(&out, "avg_packet_size")), b(138.0));
    assert_eq!(f(by_name(&out, "time_first")), b(1704067200.0));
    assert_eq!(f(by_name(&out, "time_last")), b(1704067200.21));
    assert_eq!(i(by_name(&out, "flow_stat")), 79);
    assert_eq!(i(by_name(&out, "num_hdrs")), 3);
    assert_eq!(s(by_name(&out, "hdr_desc")), "ETH-IP-TCP");

    // The reference's form of this stack is the same; every other value is identical too.
    assert_eq!(flow.run(true), out);
}

/// The reference's golden row for `tcpd_tcp-handshake-nano.pcap` (nanosecond pcap,
/// Linux cooked capture). Packets (tshark): 1418145369.924505488 fwd SYN ip_len 60;
/// 1418145370.052027262 bwd SYN+ACK 60; 1418145370.052115157 fwd ACK 52.
/// Golden values: start 1418145369.9245055, end 1418145370.0521152,
/// duration 0.1276097297668457, pps 23.50917916275872, Bps 1347.8596053314998,
/// bytes 172 (112/60), bytes_ratio 1.8666666666666667, avg 57.333333333333336,
/// flow_stat 3, hdr_desc "IP-TCP" (no Ethernet).
#[test]
fn golden_handshake_nano_flow() {
    let mut flow = Flow::tcp4(vec![
        pkt(1_418_145_369_924_505_488, DIR_FWD, 60, 0, SYN),
        pkt(1_418_145_370_052_027_262, DIR_BWD, 60, 0, SYN | ACK),
        pkt(1_418_145_370_052_115_157, DIR_FWD, 52, 0, ACK),
    ]);
    flow.src = v4([131, 155, 215, 69]);
    flow.dst = v4([137, 116, 81, 94]);
    flow.sport = 46656;
    flow.dport = 80;
    flow.end = flow_end::EOF;
    flow.link = link(false, &[layer::SLL, layer::IP4, layer::TCP]);
    for compat in [true, false] {
        let out = flow.run(compat);
        assert_eq!(s(&out[slot::SRC_IP]), "131.155.215.69");
        assert_eq!(s(&out[slot::DST_IP]), "137.116.81.94");
        assert_eq!(s(&out[slot::DST_PORT_CLASS]), "http");
        assert_eq!(i(&out[slot::DST_PORT_CLASS_NUM]), 1);
        assert_eq!(f(&out[slot::START_TIME]), b(1418145369.9245055));
        assert_eq!(f(&out[slot::END_TIME]), b(1418145370.0521152));
        assert_eq!(f(&out[slot::DURATION]), b(0.1276097297668457));
        assert_eq!(i(&out[slot::TOTAL_PACKETS]), 3);
        assert_eq!(i(&out[slot::PACKETS_FWD]), 2);
        assert_eq!(i(&out[slot::PACKETS_BWD]), 1);
        assert_eq!(i(&out[slot::TOTAL_BYTES]), 172);
        assert_eq!(i(&out[slot::BYTES_FWD]), 112);
        assert_eq!(i(&out[slot::BYTES_BWD]), 60);
        assert_eq!(i(&out[slot::PAYLOAD_BYTES_TOTAL]), 0);
        assert_eq!(f(&out[slot::PACKETS_RATIO]), b(2.0));
        assert_eq!(f(&out[slot::BYTES_RATIO]), b(1.8666666666666667));
        assert_eq!(f(&out[slot::PACKETS_PER_SECOND]), b(23.50917916275872));
        assert_eq!(f(&out[slot::BYTES_PER_SECOND]), b(1347.8596053314998));
        assert_eq!(f(&out[slot::AVG_PACKET_SIZE]), b(57.333333333333336));
        assert_eq!(i(&out[slot::FLOW_STAT]), 3);
    }
    let compat = flow.run(true);
    assert_eq!(
        (i(&compat[slot::NUM_HDRS]), s(&compat[slot::HDR_DESC])),
        (2, "IP-TCP")
    );
    let default = flow.run(false);
    assert_eq!(
        (i(&default[slot::NUM_HDRS]), s(&default[slot::HDR_DESC])),
        (3, "SLL-IP-TCP")
    );
}

/// One IPv6 UDP packet (mDNS-like, VLAN-tagged), nanosecond timestamp:
/// 2001:db8::1:5353 → 2001:db8::fb:5353, t = T0 + 0.123456789 s, ip_len 100,
/// payload 52 (100 - 40 IPv6 - 8 UDP).
/// start = end = float("1704067200.123456789") = 1704067200.1234567; duration 0.0 →
/// rates fall back to the totals: pps 1.0, Bps 100.0. No responder packets →
/// packets_ratio = float(1) = 1.0, bytes_ratio = float(100) = 100.0; avg 100.0.
/// Port 5353 is not in the table and in 1024..49152 → ("registered", 2). UDP → flow_stat 0.
#[test]
fn ipv6_single_packet_zero_duration() {
    let flow = Flow {
        src: v6("2001:db8::1"),
        dst: v6("2001:0db8:0000:0000:0000:0000:0000:00fb"),
        sport: 5353,
        dport: 5353,
        version: 6,
        proto: 17,
        end: flow_end::IDLE,
        link: link(true, &[layer::ETH, layer::VLAN, layer::IP6, layer::UDP]),
        pkts: vec![pkt(T0 + 123_456_789, DIR_FWD, 100, 52, 0)],
    };
    let out = flow.run(false);
    assert_eq!(s(&out[slot::SRC_IP]), "2001:db8::1");
    assert_eq!(s(&out[slot::DST_IP]), "2001:db8::fb");
    assert_eq!(i(&out[slot::SRC_PORT]), 5353);
    assert_eq!(i(&out[slot::DST_PORT]), 5353);
    assert_eq!(s(&out[slot::DST_PORT_CLASS]), "registered");
    assert_eq!(i(&out[slot::DST_PORT_CLASS_NUM]), 2);
    assert_eq!(i(&out[slot::PROTOCOL]), 17);
    assert_eq!(f(&out[slot::START_TIME]), b(1704067200.1234567));
    assert_eq!(f(&out[slot::END_TIME]), b(1704067200.1234567));
    assert_eq!(f(&out[slot::DURATION]), b(0.0));
    assert_eq!(i(&out[slot::TOTAL_PACKETS]), 1);
    assert_eq!(i(&out[slot::PACKETS_FWD]), 1);
    assert_eq!(i(&out[slot::PACKETS_BWD]), 0);
    assert_eq!(i(&out[slot::TOTAL_BYTES]), 100);
    assert_eq!(i(&out[slot::BYTES_FWD]), 100);
    assert_eq!(i(&out[slot::BYTES_BWD]), 0);
    assert_eq!(i(&out[slot::PAYLOAD_BYTES_FWD]), 52);
    assert_eq!(i(&out[slot::PAYLOAD_BYTES_BWD]), 0);
    assert_eq!(i(&out[slot::PAYLOAD_BYTES_TOTAL]), 52);
    assert_eq!(f(&out[slot::PACKETS_RATIO]), b(1.0));
    assert_eq!(f(&out[slot::BYTES_RATIO]), b(100.0));
    assert_eq!(f(&out[slot::PACKETS_PER_SECOND]), b(1.0));
    assert_eq!(f(&out[slot::BYTES_PER_SECOND]), b(100.0));
    assert_eq!(f(&out[slot::AVG_PACKET_SIZE]), b(100.0));
    assert_eq!(f(&out[slot::TIME_FIRST]), b(1704067200.1234567));
    assert_eq!(f(&out[slot::TIME_LAST]), b(1704067200.1234567));
    // UDP: no TCP state, and the idle-timeout bit is for TCP flows only.
    assert_eq!(i(&out[slot::FLOW_STAT]), 0);
    assert_eq!(i(&out[slot::NUM_HDRS]), 4);
    assert_eq!(s(&out[slot::HDR_DESC]), "ETH-VLAN-IP6-UDP");

    let compat = flow.run(true);
    assert_eq!(i(&compat[slot::NUM_HDRS]), 3);
    assert_eq!(s(&compat[slot::HDR_DESC]), "ETH-IP6-UDP");
    assert_eq!(compat[..slot::NUM_HDRS], out[..slot::NUM_HDRS]);
}

/// Only the responder direction empty vs only bytes zero: 2 fwd packets of 40 bytes,
/// 3 bwd packets with ip_len 0 (a pathological header) → bytes_bwd = 0 so
/// bytes_ratio = float(bytes_fwd) = 80.0, while packets_ratio = 2/3 = 0.6666666666666666.
/// An all-empty direction pair (0 fwd bytes and 0 bwd bytes) gives 0.0.
#[test]
fn ratio_rules() {
    let flow = Flow::tcp4(vec![
        pkt(T0, DIR_FWD, 40, 0, ACK),
        pkt(T0 + MS, DIR_BWD, 0, 0, ACK),
        pkt(T0 + 2 * MS, DIR_BWD, 0, 0, ACK),
        pkt(T0 + 3 * MS, DIR_FWD, 40, 0, ACK),
        pkt(T0 + 4 * MS, DIR_BWD, 0, 0, ACK),
    ]);
    let out = flow.run(false);
    assert_eq!(f(&out[slot::PACKETS_RATIO]), b(0.6666666666666666));
    assert_eq!(f(&out[slot::BYTES_RATIO]), b(80.0));
    assert_eq!(ratio(0, 0).to_bits(), b(0.0));
    assert_eq!(ratio(7, 0).to_bits(), b(7.0));
    assert_eq!(ratio(1, 3).to_bits(), b(1.0 / 3.0));
}

/// Timestamps going backwards: first packet at T0 + 0.5 s, last at T0 + 0.25 s.
/// end_time is the last packet's time, not the maximum: duration = 1704067200.25 -
/// 1704067200.5 = -0.25; a non-positive duration makes the rates equal the totals
/// (2 packets → 2.0 pps, 80 bytes → 80.0 Bps).
#[test]
fn out_of_order_timestamps_give_negative_duration() {
    let flow = Flow::tcp4(vec![
        pkt(T0 + 500 * MS, DIR_FWD, 40, 0, ACK),
        pkt(T0 + 250 * MS, DIR_BWD, 40, 0, ACK),
    ]);
    let out = flow.run(false);
    assert_eq!(f(&out[slot::START_TIME]), b(1704067200.5));
    assert_eq!(f(&out[slot::END_TIME]), b(1704067200.25));
    assert_eq!(f(&out[slot::DURATION]), b(-0.25));
    assert_eq!(f(&out[slot::PACKETS_PER_SECOND]), b(2.0));
    assert_eq!(f(&out[slot::BYTES_PER_SECOND]), b(80.0));
}

#[test]
fn flow_stat_each_bit() {
    let t = |flags: &[(u8, u16)]| {
        Flow::tcp4(
            flags
                .iter()
                .enumerate()
                .map(|(k, &(d, fl))| pkt(T0 + k as i64 * MS, d, 40, 0, fl))
                .collect(),
        )
    };
    // 0x01: a SYN without ACK, from either side (ECE/CWR bits do not matter).
    assert_eq!(stat_of(&t(&[(DIR_FWD, SYN)]), false), 0x01);
    assert_eq!(stat_of(&t(&[(DIR_BWD, SYN | ECE | CWR)]), false), 0x01);
    // 0x02: SYN+ACK.
    assert_eq!(stat_of(&t(&[(DIR_BWD, SYN | ACK)]), false), 0x02);
    // 0x04 / 0x08: FIN by direction.
    assert_eq!(stat_of(&t(&[(DIR_FWD, FIN | ACK)]), false), 0x04);
    assert_eq!(stat_of(&t(&[(DIR_BWD, FIN)]), false), 0x08);
    // 0x10: RST from either side.
    assert_eq!(stat_of(&t(&[(DIR_BWD, RST | ACK)]), false), 0x10);
    // 0x40: handshake + RST → 0x01|0x02|0x10|0x40 = 83 (golden value seen in the reference).
    assert_eq!(
        stat_of(
            &t(&[(DIR_FWD, SYN), (DIR_BWD, SYN | ACK), (DIR_FWD, RST)]),
            false
        ),
        83
    );
    // Handshake + FIN from one side only: no 0x40 → 0x01|0x02|0x04 = 7.
    assert_eq!(
        stat_of(
            &t(&[(DIR_FWD, SYN), (DIR_BWD, SYN | ACK), (DIR_FWD, FIN | ACK)]),
            false
        ),
        7
    );
    // Both FINs and a RST but no handshake (capture started mid-connection): 0x04|0x08|0x10 = 28.
    assert_eq!(
        stat_of(
            &t(&[(DIR_FWD, FIN | ACK), (DIR_BWD, FIN | ACK), (DIR_FWD, RST)]),
            false
        ),
        28
    );
    // SYN+ACK without the initial SYN plus both FINs: 0x02|0x04|0x08 = 14 (no 0x40).
    assert_eq!(
        stat_of(
            &t(&[(DIR_BWD, SYN | ACK), (DIR_FWD, FIN), (DIR_BWD, FIN)]),
            false
        ),
        14
    );
    // Everything: 0x01|0x02|0x04|0x08|0x10|0x40 = 95.
    let all = t(&[
        (DIR_FWD, SYN),
        (DIR_BWD, SYN | ACK),
        (DIR_FWD, FIN),
        (DIR_BWD, FIN),
        (DIR_BWD, RST),
    ]);
    assert_eq!(stat_of(&all, false), 95);
    // Plain data: 0.
    assert_eq!(
        stat_of(&t(&[(DIR_FWD, ACK | PSH), (DIR_BWD, ACK)]), false),
        0
    );
}

#[test]
fn flow_stat_idle_timeout_bit() {
    // 0x20: jj sets it when the host ended a TCP flow on its idle timeout.
    let mut flow = Flow::tcp4(vec![
        pkt(T0, DIR_FWD, 60, 0, SYN),
        pkt(T0 + MS, DIR_BWD, 60, 0, SYN | ACK),
    ]);
    flow.end = flow_end::IDLE;
    assert_eq!(stat_of(&flow, false), 0x20 | 0x01 | 0x02);
    // The reference never sets it.
    assert_eq!(stat_of(&flow, true), 0x03);
    // Other end reasons do not set it.
    for end in [
        flow_end::EOF,
        flow_end::ACTIVE,
        flow_end::TCP_CLOSE,
        flow_end::EVICTED,
        flow_end::PACKET_LIMIT,
    ] {
        flow.end = end;
        assert_eq!(stat_of(&flow, false), 0x03, "end reason {end}");
    }
    // Non-TCP flows stay 0 even when they ended idle.
    let mut udp = Flow::tcp4(vec![pkt(T0, DIR_FWD, 60, 32, 0)]);
    udp.proto = 17;
    udp.end = flow_end::IDLE;
    assert_eq!(stat_of(&udp, false), 0);
}

#[test]
fn flow_stat_non_tcp_flows() {
    // A protocol-41 (6in4) flow whose packets carry inner TCP flags: the reference reads
    // the flags of whatever TCP header its dissector found (golden: 6in4 flows with
    // flow_stat 79); compat follows it, the default reports 0 for a non-TCP flow.
    let mut flow = Flow::tcp4(vec![
        pkt(T0, DIR_FWD, 80, 0, SYN),
        pkt(T0 + MS, DIR_BWD, 80, 0, SYN | ACK),
        pkt(T0 + 2 * MS, DIR_FWD, 72, 0, FIN | ACK),
        pkt(T0 + 3 * MS, DIR_BWD, 72, 0, FIN | ACK),
    ]);
    flow.proto = 41;
    assert_eq!(stat_of(&flow, true), 79);
    assert_eq!(stat_of(&flow, false), 0);
}

/// ICMP echo between two hosts: no ports → dst_port 0 → ("system", 1).
#[test]
fn icmp_flow_port_zero() {
    let mut flow = Flow::tcp4(vec![
        pkt(T0, DIR_FWD, 84, 56, 0),
        pkt(T0 + 5 * MS, DIR_BWD, 84, 56, 0),
    ]);
    flow.proto = 1;
    flow.sport = 0;
    flow.dport = 0;
    flow.link = link(true, &[layer::ETH, layer::IP4, layer::ICMP]);
    let out = flow.run(false);
    assert_eq!(i(&out[slot::SRC_PORT]), 0);
    assert_eq!(i(&out[slot::DST_PORT]), 0);
    assert_eq!(s(&out[slot::DST_PORT_CLASS]), "system");
    assert_eq!(i(&out[slot::DST_PORT_CLASS_NUM]), 1);
    assert_eq!(i(&out[slot::FLOW_STAT]), 0);
    assert_eq!(s(&out[slot::HDR_DESC]), "ETH-IP-ICMP");
    assert_eq!(s(&flow.run(true)[slot::HDR_DESC]), "ETH-IP-ICMP");
    // payload 56 + 56, packets_ratio 1/1, bytes_ratio 84/84
    assert_eq!(i(&out[slot::PAYLOAD_BYTES_TOTAL]), 112);
    assert_eq!(f(&out[slot::PACKETS_RATIO]), b(1.0));
    assert_eq!(f(&out[slot::BYTES_RATIO]), b(1.0));
}

#[test]
fn port_classes_through_extract() {
    for (port, class, num) in [
        (22u16, "ssh", 1i64),
        (8080, "http-alt", 2),
        (1023, "system", 1),
        (1024, "registered", 2),
        (49151, "registered", 2),
        (49152, "dynamic", 3),
        (0, "system", 1),
    ] {
        let mut flow = Flow::tcp4(vec![pkt(T0, DIR_FWD, 40, 0, ACK)]);
        flow.dport = port;
        let out = flow.run(false);
        assert_eq!(
            (
                s(&out[slot::DST_PORT_CLASS]),
                i(&out[slot::DST_PORT_CLASS_NUM])
            ),
            (class, num),
            "port {port}"
        );
    }
}

fn hdr(flow: &Flow, compat: bool) -> (i64, String) {
    let out = flow.run(compat);
    (i(&out[slot::NUM_HDRS]), s(&out[slot::HDR_DESC]).to_string())
}

#[test]
fn hdr_desc_both_modes() {
    let base = || Flow::tcp4(vec![pkt(T0, DIR_FWD, 40, 0, ACK)]);

    // VXLAN-in-IPv4 carrying an inner TCP flow.
    let mut f = base();
    f.link = link(
        true,
        &[
            layer::ETH,
            layer::IP4,
            layer::UDP,
            layer::VXLAN,
            layer::ETH,
            layer::IP4,
            layer::TCP,
        ],
    );
    assert_eq!(hdr(&f, false), (7, "ETH-IP-UDP-VXLAN-ETH-IP-TCP".into()));
    assert_eq!(hdr(&f, true), (3, "ETH-IP-TCP".into()));

    // QinQ + MPLS.
    f.link = link(
        true,
        &[
            layer::ETH,
            layer::VLAN,
            layer::VLAN,
            layer::MPLS,
            layer::IP4,
            layer::TCP,
        ],
    );
    assert_eq!(hdr(&f, false), (6, "ETH-VLAN-VLAN-MPLS-IP-TCP".into()));

    // GRE / ERSPAN / PPPoE / GTP-U / NULL / SLL2 names.
    f.link = link(
        true,
        &[
            layer::ETH,
            layer::IP4,
            layer::GRE,
            layer::ERSPAN,
            layer::ETH,
            layer::IP4,
            layer::TCP,
        ],
    );
    assert_eq!(hdr(&f, false), (7, "ETH-IP-GRE-ERSPAN-ETH-IP-TCP".into()));
    f.link = link(
        true,
        &[
            layer::ETH,
            layer::PPPOE,
            layer::IP4,
            layer::UDP,
            layer::GTPU,
            layer::IP4,
            layer::TCP,
        ],
    );
    assert_eq!(hdr(&f, false), (7, "ETH-PPPOE-IP-UDP-GTPU-IP-TCP".into()));
    f.link = link(false, &[layer::NULL, layer::IP4, layer::TCP]);
    assert_eq!(hdr(&f, false), (3, "NULL-IP-TCP".into()));
    assert_eq!(hdr(&f, true), (2, "IP-TCP".into()));

    // ICMPv6 over SLL2: named ICMP6 by default, PROTO58 in the reference's form.
    let mut f = base();
    f.version = 6;
    f.proto = 58;
    f.link = link(false, &[layer::SLL2, layer::IP6, layer::ICMP6]);
    assert_eq!(hdr(&f, false), (3, "SLL2-IP6-ICMP6".into()));
    assert_eq!(hdr(&f, true), (2, "IP6-PROTO58".into()));

    // Another upper layer: `Other` is spelled with the flow's protocol number.
    let mut f = base();
    f.proto = 47;
    f.link = link(true, &[layer::ETH, layer::IP4, layer::OTHER]);
    assert_eq!(hdr(&f, false), (3, "ETH-IP-PROTO47".into()));
    assert_eq!(hdr(&f, true), (3, "ETH-IP-PROTO47".into()));

    // IPv6-in-IPv4 (6in4) reaching an inner UDP flow.
    let mut f = base();
    f.version = 6;
    f.proto = 17;
    f.link = link(true, &[layer::ETH, layer::IP4, layer::IP6, layer::UDP]);
    assert_eq!(hdr(&f, false), (4, "ETH-IP-IP6-UDP".into()));
    assert_eq!(hdr(&f, true), (3, "ETH-IP6-UDP".into()));

    // Unknown future codes are kept visible; NONE entries are skipped.
    let mut f = base();
    f.link = link(true, &[layer::ETH, layer::NONE, 99, layer::IP4, layer::TCP]);
    assert_eq!(hdr(&f, false), (4, "ETH-LAYER99-IP-TCP".into()));
}

#[test]
fn hdr_desc_falls_back_without_layers() {
    // The host filled no layer stack: the reference's form in both modes.
    let mut f = Flow::tcp4(vec![pkt(T0, DIR_FWD, 40, 0, ACK)]);
    f.link = link(true, &[]);
    assert_eq!(hdr(&f, false), (3, "ETH-IP-TCP".into()));
    f.link = link(false, &[]);
    f.proto = 17;
    assert_eq!(hdr(&f, false), (2, "IP-UDP".into()));
    f.proto = 0;
    f.version = 6;
    assert_eq!(hdr(&f, false), (2, "IP6-PROTO0".into()));
    // n_layers larger than the array is clamped, not a panic.
    let mut f = Flow::tcp4(vec![pkt(T0, DIR_FWD, 40, 0, ACK)]);
    f.link.n_layers = 200;
    let (n, _) = hdr(&f, false);
    assert_eq!(n, 3); // ETH IP TCP, the remaining 9 slots are NONE
}

#[test]
fn ipv6_text_modes() {
    let mut flow = Flow::tcp4(vec![pkt(T0, DIR_FWD, 60, 0, SYN)]);
    flow.version = 6;
    flow.src = v6("fe80::8c36:6ff:fe44:acaf");
    flow.dst = v6("::1.2.3.4"); // IPv4-compatible (deprecated) form
    let out = flow.run(false);
    assert_eq!(s(&out[slot::SRC_IP]), "fe80::8c36:6ff:fe44:acaf");
    assert_eq!(s(&out[slot::DST_IP]), "::102:304");
    let out = flow.run(true);
    assert_eq!(s(&out[slot::SRC_IP]), "fe80::8c36:6ff:fe44:acaf");
    assert_eq!(s(&out[slot::DST_IP]), "::1.2.3.4");
}

/// Nanosecond timestamps where `ts_ns as f64 / 1e9` would be one ulp off:
/// float("1704076080.977787844") = 1704076080.9777877 (naive: 1704076080.977788) and
/// float("1704096748.467570198") = 1704096748.4675703; duration = 20667.489782571793.
#[test]
fn timestamps_are_correctly_rounded() {
    let flow = Flow::tcp4(vec![
        pkt(1_704_076_080_977_787_844, DIR_FWD, 40, 0, ACK),
        pkt(1_704_096_748_467_570_198, DIR_BWD, 40, 0, ACK),
    ]);
    let out = flow.run(false);
    assert_eq!(f(&out[slot::START_TIME]), b(1704076080.9777877));
    assert_eq!(f(&out[slot::END_TIME]), b(1704096748.4675703));
    assert_eq!(
        f(&out[slot::DURATION]),
        b(1704096748.4675703 - 1704076080.9777877)
    );
    assert_eq!(f(&out[slot::DURATION]), b(20667.489782571793));
}

#[test]
fn slots_are_overwritten_and_string_capacity_reused() {
    let mut long = Flow::tcp4(vec![pkt(T0, DIR_FWD, 60, 0, SYN)]);
    long.version = 6;
    long.src = v6("2001:db8:1111:2222:3333:4444:5555:6666");
    long.dst = v6("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff");
    long.dport = 5432;
    long.link = link(
        true,
        &[
            layer::ETH,
            layer::VLAN,
            layer::VLAN,
            layer::MPLS,
            layer::IP6,
            layer::TCP,
        ],
    );
    let short = Flow::tcp4(vec![pkt(T0, DIR_FWD, 40, 0, ACK)]);

    // Slots start with junk of the wrong types (the previous flow's values).
    let mut out = vec![Value::Float(9.9); slot::COUNT];
    out[slot::PROTOCOL] = Value::Str("junk".into());
    let mut ex = FlowMeta::new(false);
    ex.extract(&long.view(), &mut out).unwrap();
    assert_eq!(s(&out[slot::DST_PORT_CLASS]), "postgresql");
    let caps: Vec<usize> = [
        slot::SRC_IP,
        slot::DST_IP,
        slot::DST_PORT_CLASS,
        slot::HDR_DESC,
    ]
    .iter()
    .map(|&k| match &out[k] {
        Value::Str(s) => s.capacity(),
        _ => unreachable!(),
    })
    .collect();
    ex.extract(&short.view(), &mut out).unwrap();
    assert_eq!(
        out,
        short.run(false),
        "nothing of the previous flow survives"
    );
    for (n, &k) in [
        slot::SRC_IP,
        slot::DST_IP,
        slot::DST_PORT_CLASS,
        slot::HDR_DESC,
    ]
    .iter()
    .enumerate()
    {
        match &out[k] {
            Value::Str(s) => assert_eq!(s.capacity(), caps[n], "slot {k} reallocated"),
            _ => unreachable!(),
        }
    }
}

#[test]
fn empty_flow_is_all_zero() {
    let mut flow = Flow::tcp4(vec![]);
    flow.link = link(false, &[]);
    let out = flow.run(false);
    for k in [
        slot::START_TIME,
        slot::END_TIME,
        slot::DURATION,
        slot::PACKETS_RATIO,
        slot::AVG_PACKET_SIZE,
    ] {
        assert_eq!(f(&out[k]), b(0.0), "slot {k}");
    }
    assert_eq!(i(&out[slot::TOTAL_PACKETS]), 0);
    assert_eq!(f(&out[slot::PACKETS_PER_SECOND]), b(0.0));
    assert_eq!(i(&out[slot::FLOW_STAT]), 0);
}

#[test]
fn wrong_slot_count_is_an_error() {
    let flow = Flow::tcp4(vec![pkt(T0, DIR_FWD, 40, 0, ACK)]);
    let mut out = vec![Value::Null; slot::COUNT - 1];
    assert!(FlowMeta::new(false)
        .extract(&flow.view(), &mut out)
        .is_err());
}

// ---- describe / options ----------------------------------------------------------------

/// `(id, dtype, missing_policy, units)` of the group, in the reference's column order
/// (the rows of the feature table for `flow_meta`).
const EXPECTED: [(&str, &str, &str, &str); 29] = [
    ("flow_meta.src_ip", "string", "empty", ""),
    ("flow_meta.dst_ip", "string", "empty", ""),
    ("flow_meta.src_port", "int64", "zero", ""),
    ("flow_meta.dst_port", "int64", "zero", ""),
    ("flow_meta.dst_port_class", "string", "empty", ""),
    ("flow_meta.dst_port_class_num", "int64", "zero", ""),
    ("flow_meta.protocol", "int64", "zero", ""),
    ("flow_meta.start_time", "float64", "zero", "s"),
    ("flow_meta.end_time", "float64", "zero", "s"),
    ("flow_meta.duration", "float64", "zero", "s"),
    ("flow_meta.total_packets", "int64", "zero", "count"),
    ("flow_meta.packets_fwd", "int64", "zero", "count"),
    ("flow_meta.packets_bwd", "int64", "zero", "count"),
    ("flow_meta.total_bytes", "int64", "zero", "bytes"),
    ("flow_meta.bytes_fwd", "int64", "zero", "bytes"),
    ("flow_meta.bytes_bwd", "int64", "zero", "bytes"),
    ("flow_meta.payload_bytes_fwd", "int64", "zero", "bytes"),
    ("flow_meta.payload_bytes_bwd", "int64", "zero", "bytes"),
    ("flow_meta.payload_bytes_total", "int64", "zero", "bytes"),
    ("flow_meta.packets_ratio", "float64", "zero", ""),
    ("flow_meta.bytes_ratio", "float64", "zero", ""),
    ("flow_meta.packets_per_second", "float64", "zero", "pps"),
    ("flow_meta.bytes_per_second", "float64", "zero", "Bps"),
    ("flow_meta.avg_packet_size", "float64", "zero", "bytes"),
    ("flow_meta.time_first", "float64", "zero", "s"),
    ("flow_meta.time_last", "float64", "zero", "s"),
    ("flow_meta.flow_stat", "int64", "zero", ""),
    ("flow_meta.num_hdrs", "int64", "zero", "count"),
    ("flow_meta.hdr_desc", "string", "empty", ""),
];

#[test]
fn describe_matches_the_feature_table() {
    let info = FlowMetaFactory.describe(&Options::new()).unwrap();
    assert_eq!(info.group.as_str(), "flow_meta");
    assert_eq!(info.requirements, Requirements::default());
    assert_eq!(info.features.len(), 29);
    for (m, (id, dtype, missing, units)) in info.features.iter().zip(EXPECTED) {
        assert_eq!(m.id.as_str(), id);
        assert_eq!(format!("flow_meta.{}", m.name), id);
        assert_eq!(m.dtype.as_str(), dtype, "{id}");
        assert_eq!(m.missing_policy.as_str(), missing, "{id}");
        assert_eq!(m.missing_sentinel.as_str(), "null", "{id}");
        assert_eq!(m.units.as_str(), units, "{id}");
        assert_eq!(m.profile.as_str(), "JJ-CORE", "{id}");
        assert_eq!(m.shape.as_slice(), &[1], "{id}");
        assert!(
            !m.description.is_empty() && !m.direction_semantics.is_empty(),
            "{id}"
        );
        let privacy = match m.name.as_str() {
            "src_ip" | "dst_ip" => "high",
            "src_port" | "dst_port" | "start_time" | "end_time" | "time_first" | "time_last" => {
                "sensitive"
            }
            _ => "safe",
        };
        assert_eq!(m.privacy_level.as_str(), privacy, "{id}");
        let direction = if m.name.starts_with("src_") || m.name.ends_with("_fwd") {
            "src_to_dst"
        } else if m.name.starts_with("dst_") || m.name.ends_with("_bwd") {
            "dst_to_src"
        } else {
            "bidir"
        };
        assert_eq!(m.direction.as_str(), direction, "{id}");
        let scope = if m.name.ends_with("_fwd") || m.name.ends_with("_bwd") {
            "direction"
        } else {
            "flow"
        };
        assert_eq!(m.scope.as_str(), scope, "{id}");
    }
    // Slot constants agree with the table.
    assert_eq!(FEATURES[slot::SRC_IP].name, "src_ip");
    assert_eq!(
        FEATURES[slot::DST_PORT_CLASS_NUM].name,
        "dst_port_class_num"
    );
    assert_eq!(
        FEATURES[slot::PAYLOAD_BYTES_TOTAL].name,
        "payload_bytes_total"
    );
    assert_eq!(FEATURES[slot::TIME_LAST].name, "time_last");
    assert_eq!(FEATURES[slot::HDR_DESC].name, "hdr_desc");
}

#[test]
fn describe_is_the_same_in_compat_mode() {
    let mut o = Options::new();
    o.set("compat", "joyfuljay");
    assert!(o.compat_joyfuljay());
    assert_eq!(
        FlowMetaFactory.describe(&o).unwrap(),
        FlowMetaFactory.describe(&Options::new()).unwrap()
    );
    assert!(FlowMetaFactory.create(&o).unwrap().cfg.compat);
    assert!(!FlowMetaFactory.create(&Options::new()).unwrap().cfg.compat);
}

/// Runs `flow` through an instance made from `options` text; returns names and values.
fn run_with(options: &str, flow: &Flow) -> (Vec<String>, Vec<Value>) {
    let o = Options::parse(options);
    let info = FlowMetaFactory.describe(&o).unwrap();
    let mut ex = FlowMetaFactory.create(&o).unwrap();
    let mut out = vec![Value::Null; info.features.len()];
    ex.extract(&flow.view(), &mut out).unwrap();
    let names = info.features.iter().map(|m| m.name.to_string()).collect();
    (names, out)
}

fn with_endpoints(mut flow: Flow, version: u8, src: ([u8; 16], u16), dst: ([u8; 16], u16)) -> Flow {
    flow.version = version;
    (flow.src, flow.sport) = src;
    (flow.dst, flow.dport) = dst;
    flow
}

/// Expected values: Python `hashlib.sha256((salt + ip).encode()).hexdigest()[:16]`.
#[test]
fn anonymize_ips_hashes_the_address_text() {
    let flow = Flow::tcp4(vec![pkt(T0, DIR_FWD, 60, 0, SYN)]);
    // no salt: sha256("192.168.1.100"), sha256("93.184.216.34")
    let (names, out) = run_with("anonymize_ips=true", &flow);
    assert_eq!(names.len(), slot::COUNT);
    assert_eq!(s(&out[slot::SRC_IP]), "2a39f1eedcd9f986");
    assert_eq!(s(&out[slot::DST_IP]), "e14759884124ebda");
    // with a salt: sha256("s3cret192.168.1.100"), sha256("s3cret93.184.216.34")
    let (_, out) = run_with("anonymize_ips=true\nanonymization_salt=s3cret", &flow);
    assert_eq!(s(&out[slot::SRC_IP]), "54fc045ccd6a434d");
    assert_eq!(s(&out[slot::DST_IP]), "41297de4d541dbf3");
    // everything else is unchanged
    let plain = flow.run(false);
    assert_eq!(out[slot::SRC_PORT..], plain[slot::SRC_PORT..]);
    // off (or a salt alone): the raw text
    for opts in ["anonymize_ips=false", "anonymization_salt=s3cret", ""] {
        assert_eq!(s(&run_with(opts, &flow).1[slot::SRC_IP]), "192.168.1.100");
    }
    // The hashed text is the one the mode prints: for an IPv4-compatible IPv6 address
    // "::102:304" (RFC 5952) by default, "::1.2.3.4" (inet_ntop) under compat.
    let v6flow = with_endpoints(
        Flow::tcp4(vec![pkt(T0, DIR_FWD, 60, 0, SYN)]),
        6,
        (v6("::1.2.3.4"), 1),
        (v6("::5.6.7.8"), 2),
    );
    let (_, out) = run_with("anonymize_ips=true", &v6flow);
    assert_eq!(s(&out[slot::SRC_IP]), "9bb2cf4531f3001d");
    let (_, out) = run_with("anonymize_ips=true\ncompat=joyfuljay", &v6flow);
    assert_eq!(s(&out[slot::SRC_IP]), "a92951ecc4d30e69");

    let info = FlowMetaFactory
        .describe(&Options::parse("anonymize_ips=true"))
        .unwrap();
    assert_eq!(
        info.features[slot::SRC_IP].privacy_level.as_str(),
        "sensitive"
    );
    assert!(info.features[slot::DST_IP].description.contains("SHA-256"));
}

/// Expected values: Python `hashlib.sha256((salt + key).encode()).hexdigest()[:32]` with
/// `key = f"{ip_a}:{port_a}:{ip_b}:{port_b}:{proto}"`, `(ip_a, port_a) <= (ip_b, port_b)`
/// as Python tuples (address compared as a string).
#[test]
fn flow_id_is_the_hashed_canonical_key() {
    let flow = Flow::tcp4(vec![pkt(T0, DIR_FWD, 60, 0, SYN)]);
    let (names, out) = run_with("include_flow_id=true", &flow);
    assert_eq!(names.len(), slot::COUNT + 1);
    assert_eq!(names[0], "flow_id");
    assert_eq!(names[1], "src_ip");
    // "192.168.1.100:54321:93.184.216.34:443:6"
    assert_eq!(s(&out[0]), "6c7c9d023681fb30d415cd95ed2bd980");
    // the remaining columns are the usual ones, shifted by one
    assert_eq!(out[1..], flow.run(false)[..]);
    // salted: sha256("pepper" + key)
    let (_, out) = run_with("include_flow_id=true\nanonymization_salt=pepper", &flow);
    assert_eq!(s(&out[0]), "4869c0b6a94b03b5bd6cfe5c13fcdd21");
    // the other direction of the conversation has the same id
    let rev = with_endpoints(
        Flow::tcp4(vec![pkt(T0, DIR_FWD, 60, 0, SYN)]),
        4,
        (v4([93, 184, 216, 34]), 443),
        (v4([192, 168, 1, 100]), 54321),
    );
    assert_eq!(
        s(&run_with("include_flow_id=true", &rev).1[0]),
        "6c7c9d023681fb30d415cd95ed2bd980"
    );
    // addresses compare as text: "10.0.0.2" < "9.0.0.1" → "10.0.0.2:1234:9.0.0.1:80:17"
    let mut udp = with_endpoints(
        Flow::tcp4(vec![pkt(T0, DIR_FWD, 60, 0, 0)]),
        4,
        (v4([9, 0, 0, 1]), 80),
        (v4([10, 0, 0, 2]), 1234),
    );
    udp.proto = 17;
    assert_eq!(
        s(&run_with("include_flow_id=true", &udp).1[0]),
        "206849d96a62be87c9578f665feed83d"
    );
    // same address: ports compare as numbers → "127.0.0.1:8080:127.0.0.1:40000:6"
    let lo = v4([127, 0, 0, 1]);
    let local = with_endpoints(
        Flow::tcp4(vec![pkt(T0, DIR_FWD, 60, 0, SYN)]),
        4,
        (lo, 40000),
        (lo, 8080),
    );
    assert_eq!(
        s(&run_with("include_flow_id=true", &local).1[0]),
        "640290821602bcb00c5635e2339ff387"
    );
    // IPv6: "2001:db8::1" is a prefix of "2001:db8::10", so it sorts first
    // → "2001:db8::1:50000:2001:db8::10:443:6"
    let six = with_endpoints(
        Flow::tcp4(vec![pkt(T0, DIR_FWD, 60, 0, SYN)]),
        6,
        (v6("2001:db8::10"), 443),
        (v6("2001:db8::1"), 50000),
    );
    assert_eq!(
        s(&run_with("include_flow_id=true", &six).1[0]),
        "9d4ba8dffde3f6f1a250cdc39c5df17c"
    );
    // the mode's address text: "::102:304:1:::506:708:2:17" by default,
    // "::1.2.3.4:1:::5.6.7.8:2:17" under compat
    let mut compat6 = with_endpoints(
        Flow::tcp4(vec![pkt(T0, DIR_FWD, 60, 0, 0)]),
        6,
        (v6("::1.2.3.4"), 1),
        (v6("::5.6.7.8"), 2),
    );
    compat6.proto = 17;
    assert_eq!(
        s(&run_with("include_flow_id=true", &compat6).1[0]),
        "32d43d0333a10848324ce2dee3fff50b"
    );
    assert_eq!(
        s(&run_with("include_flow_id=true\ncompat=joyfuljay", &compat6).1[0]),
        "a4755766be26e0c19b4c555fbd0acaaa"
    );
    // with anonymize_ips too: the id hashes the raw addresses, src_ip is hashed
    let (_, out) = run_with("include_flow_id=true\nanonymize_ips=true", &flow);
    assert_eq!(s(&out[0]), "6c7c9d023681fb30d415cd95ed2bd980");
    assert_eq!(s(&out[1 + slot::SRC_IP]), "2a39f1eedcd9f986");

    let info = FlowMetaFactory
        .describe(&Options::parse("include_flow_id=yes"))
        .unwrap();
    let m = &info.features[0];
    assert_eq!(
        (m.id.as_str(), m.dtype.as_str(), m.missing_policy.as_str()),
        ("flow_meta.flow_id", "string", "empty")
    );
    assert_eq!(m.privacy_level.as_str(), "sensitive");
}

#[test]
fn hashing_options_are_validated() {
    for opts in ["anonymize_ips=maybe", "include_flow_id=2"] {
        let o = Options::parse(opts);
        let e = FlowMetaFactory.describe(&o).unwrap_err();
        assert_eq!(e.kind, jj_plugin_api::ErrorKind::Config);
        assert!(e.message.contains(opts.split('=').next().unwrap()));
        assert!(FlowMetaFactory.create(&o).is_err());
    }
}

#[test]
fn warm_instance_reuses_its_buffers() {
    // flow_id and hashed addresses keep the output strings' buffers once warm.
    let o = Options::parse("include_flow_id=true\nanonymize_ips=true");
    let mut ex = FlowMetaFactory.create(&o).unwrap();
    let flow = Flow::tcp4(vec![pkt(T0, DIR_FWD, 60, 0, SYN)]);
    let mut out = vec![Value::Null; slot::COUNT + 1];
    ex.extract(&flow.view(), &mut out).unwrap();
    let ptr = |v: &Value| s(v).as_ptr() as usize;
    let before = (ptr(&out[0]), ptr(&out[1]), ex.text[0].capacity());
    ex.extract(&flow.view(), &mut out).unwrap();
    assert_eq!((ptr(&out[0]), ptr(&out[1]), ex.text[0].capacity()), before);
}

#[test]
fn exported_root_module_lists_the_extractor() {
    // The generated root-module function is callable in-process (the rlib build).
    let root = crate::jj_plugin_root_module();
    let decls = root.extractors()();
    assert_eq!(decls.len(), 1);
    assert_eq!(decls[0].info.name.as_str(), "flow_meta");
    let lib = root.library()();
    assert_eq!(lib.name.as_str(), "jj-flow-meta");
    assert_eq!(lib.api_version.as_str(), jj_plugin_api::API_VERSION);

    // Through the FFI trait objects, as the host calls it.
    use jj_plugin_api::abi_stable::std_types::{RSliceMut, RStr};
    let factory = &decls[0].factory;
    let info = factory.describe(RStr::from("compat=joyfuljay\n")).unwrap();
    assert_eq!(info.features.len(), slot::COUNT);
    assert!(factory
        .describe(RStr::from("anonymize_ips=perhaps\n"))
        .is_err());
    assert_eq!(
        factory
            .describe(RStr::from("include_flow_id=true\n"))
            .unwrap()
            .features
            .len(),
        slot::COUNT + 1
    );
    let mut inst = factory.create(RStr::from("compat=joyfuljay\n")).unwrap();
    let mut flow = Flow::tcp4(vec![pkt(T0, DIR_FWD, 60, 0, SYN)]);
    flow.end = flow_end::IDLE;
    flow.link = link(true, &[layer::ETH, layer::VLAN, layer::IP4, layer::TCP]);
    let mut out = vec![Value::Null; slot::COUNT];
    inst.extract(&flow.view(), RSliceMut::from_mut_slice(&mut out))
        .unwrap();
    assert_eq!(out, flow.run(true));
    assert_eq!(s(&out[slot::HDR_DESC]), "ETH-IP-TCP");
    assert_eq!(i(&out[slot::FLOW_STAT]), 0x01);
    let mut short = vec![Value::Null; 3];
    assert!(inst
        .extract(&flow.view(), RSliceMut::from_mut_slice(&mut short))
        .is_err());
}

/// Every option the component reads is declared (so a `[plugins.*]` key the host rejects
/// is one it never reads), and every declared one is read.
#[test]
fn declares_exactly_the_options_it_reads() {
    let o = Options::new();
    FlowMetaFactory.describe(&o).unwrap();
    FlowMetaFactory.create(&o).unwrap();
    jj_plugin_api::options::check_declared(OPTIONS, &o).unwrap();
}
