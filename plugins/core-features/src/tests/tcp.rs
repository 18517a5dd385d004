//! `tcp` on hand-built flows.
use super::*;
use crate::tcp::TcpFactory;
use flags::{ACK, CWR, ECE, FIN, NS, PSH, RST, SYN, URG};

/// Packets `(dir, flags, payload)` of a TCP flow, Q apart; IP length 40 + payload.
fn tcp(pkts: &[(u8, u16, u32)]) -> TestFlow {
    TestFlow::tcp4(
        pkts.iter()
            .enumerate()
            .map(|(k, &(dir, fl, payload))| pkt(T0 + k as i64 * Q, dir, 40 + payload, payload, fl))
            .collect(),
    )
}

const F: u8 = DIR_FWD;
const B: u8 = DIR_BWD;

/// A complete connection with ECN negotiation, urgent data and the NS bit:
///
/// | # | dir | flags               | payload |
/// |---|-----|---------------------|---------|
/// | 0 | fwd | SYN+ECE+CWR         | 0       |
/// | 1 | bwd | SYN+ACK+ECE         | 0       |
/// | 2 | fwd | ACK                 | 0       |
/// | 3 | fwd | PSH+ACK+URG         | 100     |
/// | 4 | bwd | PSH+ACK+NS          | 200     |
/// | 5 | fwd | FIN+ACK             | 0       |
/// | 6 | bwd | FIN+ACK             | 0       |
/// | 7 | fwd | ACK                 | 0       |
///
/// SYN-only 1, SYN+ACK 1, FIN 2, RST 0, ACK 7 (all but #0), PSH 2, URG 1, ECE 2,
/// CWR 1; handshake #0 → #1 → #2 complete; FINs both ways, no RST → graceful;
/// ratios over 8 packets: SYN (1+1)/8, FIN 2/8, RST 0, PSH 2/8; data packets 2 (#3,
/// #4); pure ACKs 2 (#2, #7); no anomaly.
/// tcp_fstat = 0x01 | 0x02 | 0x04 (7 ACKs > 1 SYN+ACK) | 0x08 | 0x10 | 0x40 = 0x5F.
/// Flags: fwd 0xC2 | 0x10 | 0x38 | 0x11 = 0xFB, bwd 0x52 | 0x118 | 0x11 = 0x15B,
/// all 0x1FB (the NS bit 0x100 included).
#[test]
fn every_feature_on_a_full_connection() {
    let flow = tcp(&[
        (F, SYN | ECE | CWR, 0),
        (B, SYN | ACK | ECE, 0),
        (F, ACK, 0),
        (F, PSH | ACK | URG, 100),
        (B, PSH | ACK | NS, 200),
        (F, FIN | ACK, 0),
        (B, FIN | ACK, 0),
        (F, ACK, 0),
    ]);
    for compat in ["", "compat=joyfuljay"] {
        let r = run(&TcpFactory, compat, &flow);
        assert!(r.b("tcp_is_tcp"));
        assert_eq!(r.i("tcp_syn_count"), 1);
        assert_eq!(r.i("tcp_synack_count"), 1);
        assert_eq!(r.i("tcp_fin_count"), 2);
        assert_eq!(r.i("tcp_rst_count"), 0);
        assert_eq!(r.i("tcp_ack_count"), 7);
        assert_eq!(r.i("tcp_psh_count"), 2);
        assert_eq!(r.i("tcp_urg_count"), 1);
        assert_eq!(r.i("tcp_ece_count"), 2);
        assert_eq!(r.i("tcp_cwr_count"), 1);
        assert!(r.b("tcp_complete_handshake"));
        assert!(r.b("tcp_graceful_close"));
        assert!(!r.b("tcp_reset_close"));
        assert_eq!(r.f("tcp_syn_ratio"), b(0.25));
        assert_eq!(r.f("tcp_fin_ratio"), b(0.25));
        assert_eq!(r.f("tcp_rst_ratio"), b(0.0));
        assert_eq!(r.f("tcp_psh_ratio"), b(0.25));
        assert_eq!(r.i("tcp_data_packets"), 2);
        assert_eq!(r.i("tcp_ack_only_packets"), 2);
        assert!(!r.b("tcp_flags_anomaly"));
        assert!(r.b("tcp_initiator_syn"));
        assert!(r.b("tcp_responder_synack"));
        assert_eq!(r.i("tcp_fstat"), 0x5F);
        assert_eq!(r.i("tcp_flags_agg"), 0x1FB);
        assert_eq!(r.i("tcp_flags_fwd"), 0xFB);
        assert_eq!(r.i("tcp_flags_bwd"), 0x15B);
    }
}

/// `(handshake, graceful, reset)` in the default mode and under compat.
fn close_and_handshake(pkts: &[(u8, u16, u32)]) -> [(bool, bool, bool); 2] {
    let flow = tcp(pkts);
    let get = |o: &str| {
        let r = run(&TcpFactory, o, &flow);
        (
            r.b("tcp_complete_handshake"),
            r.b("tcp_graceful_close"),
            r.b("tcp_reset_close"),
        )
    };
    [get(""), get("compat=joyfuljay")]
}

#[test]
fn handshake_needs_the_three_packets_in_order_by_default() {
    // SYN, SYN+ACK, no final ACK: the reference already calls it complete.
    assert_eq!(
        close_and_handshake(&[(F, SYN, 0), (B, SYN | ACK, 0)]),
        [(false, false, false), (true, false, false)]
    );
    // SYN+ACK seen before the SYN (capture began mid-handshake, retransmitted SYN):
    // out of order for jj, complete for the reference.
    assert_eq!(
        close_and_handshake(&[(B, SYN | ACK, 0), (F, SYN, 0), (F, ACK, 0)]),
        [(false, false, false), (true, false, false)]
    );
    // The three packets in order, with a retransmitted SYN+ACK in between.
    let ok = [
        (F, SYN, 0),
        (B, SYN | ACK, 0),
        (B, SYN | ACK, 0),
        (F, ACK, 0),
    ];
    assert_eq!(
        close_and_handshake(&ok),
        [(true, false, false), (true, false, false)]
    );
    // A data segment (PSH+ACK) also completes it.
    assert_eq!(
        close_and_handshake(&[(F, SYN, 0), (B, SYN | ACK, 0), (F, PSH | ACK, 10)])[0],
        (true, false, false)
    );
    // A new SYN after the SYN+ACK restarts the handshake: the ACK then completes nothing.
    assert_eq!(
        close_and_handshake(&[(F, SYN, 0), (B, SYN | ACK, 0), (F, SYN, 0), (F, ACK, 0)]),
        [(false, false, false), (true, false, false)]
    );
    // The SYN+ACK must come from the responder (both modes).
    assert_eq!(
        close_and_handshake(&[(F, SYN, 0), (F, SYN | ACK, 0), (F, ACK, 0)]),
        [(false, false, false), (false, false, false)]
    );
    // Refused connection: SYN answered by RST+ACK.
    assert_eq!(
        close_and_handshake(&[(F, SYN, 0), (B, RST | ACK, 0)]),
        [(false, false, true), (false, false, true)]
    );
}

#[test]
fn graceful_and_reset_close_are_exclusive_by_default() {
    // FIN both ways: graceful in both modes.
    assert_eq!(
        close_and_handshake(&[(F, FIN | ACK, 0), (B, FIN | ACK, 0)]),
        [(false, true, false), (false, true, false)]
    );
    // A stray RST after the FIN exchange: still a graceful close for jj; the
    // reference reports both.
    assert_eq!(
        close_and_handshake(&[(F, FIN | ACK, 0), (B, FIN | ACK, 0), (F, RST, 0)]),
        [(false, true, false), (false, true, true)]
    );
    // RST first, FINs afterwards: the connection was reset, not closed gracefully;
    // the reference reports both again.
    assert_eq!(
        close_and_handshake(&[(F, RST | ACK, 0), (F, FIN | ACK, 0), (B, FIN | ACK, 0)]),
        [(false, false, true), (false, true, true)]
    );
    // Half close then reset: reset in both modes.
    assert_eq!(
        close_and_handshake(&[(F, FIN | ACK, 0), (B, RST, 0)]),
        [(false, false, true), (false, false, true)]
    );
    // One FIN only: neither.
    assert_eq!(
        close_and_handshake(&[(F, FIN | ACK, 0), (B, ACK, 0)]),
        [(false, false, false), (false, false, false)]
    );
}

#[test]
fn compat_counts_padding_as_payload() {
    // Pure ACKs in minimum Ethernet frames carry 6 padding bytes, which the
    // reference's Scapy payload includes: they become data packets, not pure ACKs.
    let mut flow = tcp(&[(F, ACK, 0), (B, ACK, 0), (F, PSH | ACK, 10)]);
    flow.packets[0].link_trailer = 6;
    flow.packets[1].link_trailer = 6;
    let jj = run(&TcpFactory, "", &flow);
    let c = run(&TcpFactory, "compat=joyfuljay", &flow);
    assert_eq!(
        (jj.i("tcp_data_packets"), jj.i("tcp_ack_only_packets")),
        (1, 2)
    );
    assert_eq!(
        (c.i("tcp_data_packets"), c.i("tcp_ack_only_packets")),
        (3, 0)
    );

    // Only padded ACKs: the data bit 0x40 of tcp_fstat differs.
    let mut flow = tcp(&[(F, ACK, 0)]);
    flow.packets[0].link_trailer = 6;
    assert_eq!(run(&TcpFactory, "", &flow).i("tcp_fstat"), 0x04);
    assert_eq!(
        run(&TcpFactory, "compat=joyfuljay", &flow).i("tcp_fstat"),
        0x44
    );
}

#[test]
fn each_anomalous_flag_combination() {
    for (flags, anomalous) in [
        (0, true),                     // null scan
        (FIN | PSH | URG, true),       // xmas tree
        (FIN | PSH | URG | ACK, true), // still xmas
        (FIN, true),                   // FIN without ACK
        (SYN | FIN, true),             // SYN+FIN
        (SYN | RST, true),             // SYN+RST
        (SYN | RST | ACK, true),
        (NS, false), // only NS: flags are not 0 (9-bit field)
        (FIN | ACK, false),
        (SYN, false),
        (SYN | ACK, false),
        (RST, false),
        (RST | ACK, false),
        (PSH | ACK | URG, false),
    ] {
        let r = run(&TcpFactory, "", &tcp(&[(F, ACK, 0), (B, flags, 0)]));
        assert_eq!(r.b("tcp_flags_anomaly"), anomalous, "{flags:#x}");
        assert_eq!(r.i("tcp_fstat") & 0x80 != 0, anomalous, "{flags:#x}");
    }
}

#[test]
fn non_tcp_flows_get_the_defaults() {
    let udp = TestFlow::udp4(vec![pkt(T0, F, 33, 5, 0), pkt(T0 + Q, B, 33, 5, 0)]);
    let icmp = TestFlow::ipv4(1, vec![pkt(T0, F, 84, 56, 0)]);
    for flow in [udp, icmp, TestFlow::tcp4(vec![])] {
        for compat in ["", "compat=joyfuljay"] {
            let r = run(&TcpFactory, compat, &flow);
            assert_eq!(r.b("tcp_is_tcp"), flow.protocol == 6);
            for (k, m) in r.features.iter().enumerate().skip(1) {
                match &r.values[k] {
                    Value::Bool(x) => assert!(!x, "{}", m.name),
                    Value::Int(x) => assert_eq!(*x, 0, "{}", m.name),
                    Value::Float(x) => assert_eq!(x.to_bits(), 0, "{}", m.name),
                    other => panic!("{}: {other:?}", m.name),
                }
            }
        }
    }
}

#[test]
fn later_fragments_have_no_tcp_header() {
    // The second packet is a non-first IP fragment: flags 0 there mean "no header",
    // not a null scan; it still counts in the ratios' denominator.
    let mut flow = tcp(&[(F, SYN, 0), (F, 0, 100)]);
    flow.packets[1].frag_offset = 1480;
    flow.packets[1].pflags = 0; // the host sets no L4_HEADER on a later fragment
    let r = run(&TcpFactory, "", &flow);
    assert!(!r.b("tcp_flags_anomaly"));
    assert_eq!(r.i("tcp_data_packets"), 0);
    assert_eq!(r.f("tcp_syn_ratio"), b(0.5));
    assert_eq!(r.i("tcp_fstat"), 0x01);
    // Rebuilt from fragments: the header is there.
    flow.packets[1].pflags = jj_plugin_api::pflags::REASSEMBLED | jj_plugin_api::pflags::L4_HEADER;
    let r = run(&TcpFactory, "", &flow);
    assert!(r.b("tcp_flags_anomaly"));
    assert_eq!(r.i("tcp_data_packets"), 1);
}

#[test]
fn compat_quirks_of_the_reference() {
    // Both endpoints identical (10.0.0.1:5000 on both sides): every packet goes to the
    // initiator; the reference also matches them as the responder's.
    let a = v4([10, 0, 0, 1]);
    let flow =
        tcp(&[(F, SYN, 0), (F, SYN | ACK, 0), (F, ACK, 0)]).endpoints(4, (a, 5000), (a, 5000));
    let jj = run(&TcpFactory, "", &flow);
    let c = run(&TcpFactory, "compat=joyfuljay", &flow);
    assert!(!jj.b("tcp_responder_synack") && !jj.b("tcp_complete_handshake"));
    assert!(c.b("tcp_responder_synack") && c.b("tcp_complete_handshake"));
    assert_eq!((jj.i("tcp_fstat"), c.i("tcp_fstat")), (0x05, 0x07));

    // IPv6 TCP is TCP in both modes
    let flow = tcp(&[(F, SYN, 0), (B, SYN | ACK, 0)]).endpoints(
        6,
        (v6("2001:db8::1"), 40000),
        (v6("2001:db8::2"), 443),
    );
    for compat in ["", "compat=joyfuljay"] {
        let r = run(&TcpFactory, compat, &flow);
        assert!(r.b("tcp_is_tcp") && r.b("tcp_responder_synack"));
    }
}
