//! `size` on hand-built flows.
use super::*;
use crate::size::{Size, SizeFactory};
use flags::{ACK, PSH, SYN};

/// | # | dir | flags   | ip_len | payload |
/// |---|-----|---------|--------|---------|
/// | 0 | fwd | SYN     | 60     | 0       |
/// | 1 | bwd | SYN+ACK | 60     | 0       |
/// | 2 | fwd | ACK     | 52     | 0       |
/// | 3 | fwd | PSH+ACK | 552    | 500     |
/// | 4 | bwd | PSH+ACK | 1052   | 1000    |
/// | 5 | bwd | ACK     | 52     | 0       |
fn six() -> TestFlow {
    TestFlow::tcp4(vec![
        pkt(T0, DIR_FWD, 60, 0, SYN),
        pkt(T0 + Q, DIR_BWD, 60, 0, SYN | ACK),
        pkt(T0 + 2 * Q, DIR_FWD, 52, 0, ACK),
        pkt(T0 + 3 * Q, DIR_FWD, 552, 500, PSH | ACK),
        pkt(T0 + 4 * Q, DIR_BWD, 1052, 1000, PSH | ACK),
        pkt(T0 + 5 * Q, DIR_BWD, 52, 0, ACK),
    ])
}

/// * IP lengths 60 60 52 552 1052 52, sorted 52 52 60 60 552 1052: sum 1828, mean
///   1828/6 = 304.6666666666667; median idx 2.5 → 60; p25 idx 1.25 → 52·.75 + 60·.25 =
///   54; p75 idx 3.75 → 60·.25 + 552·.75 = 429; p90 idx 4.5 → (552 + 1052)/2 = 802;
///   std 380.15026268861396 (numpy), variance = std² = 144514.2222222222.
/// * initiator 60 52 552: min 52, max 552, mean 664/3 = 221.33333333333334, median 60,
///   std 233.83945109602203; responder 60 1052 52: mean 1164/3 = 388, median 60,
///   std 469.53026171554336.
/// * payloads 0 0 0 500 1000 0: min 0, max 1000, mean 250, std 381.8813079129867;
///   initiator 0 0 500: mean 166.66666666666666, std 235.70226039551585; responder
///   0 1000 0: mean 333.3333333333333, std 471.4045207910317.
/// * 2 packets with payload (1 each way) → header_only_ratio 4/6.
/// * 60 and 52 both appear twice; 60 first → dominant 60, ratio 2/6.
/// * L7: 500 / 1000 / 1500; non-zero payload min = max = 500 (fwd), 1000 (bwd).
/// * asymmetry: packets (3-3)/6 = 0; bytes (664-1164)/1828 = -0.2735229759299781.
#[test]
fn every_fixed_feature() {
    for compat in ["", "compat=joyfuljay"] {
        // no link padding: both modes agree
        let r = run(&SizeFactory, compat, &six());
        assert_eq!(r.names().len(), 42);
        assert_eq!(r.f("pkt_len_min"), b(52.0));
        assert_eq!(r.f("pkt_len_max"), b(1052.0));
        assert_eq!(r.f("pkt_len_mean"), b(1828.0 / 6.0));
        assert_eq!(r.f("pkt_len_mean"), b(304.6666666666667));
        assert_eq!(r.f("pkt_len_std"), b(380.15026268861396));
        assert_eq!(r.f("pkt_len_median"), b(60.0));
        assert_eq!(r.f("pkt_len_p25"), b(54.0));
        assert_eq!(r.f("pkt_len_p75"), b(429.0));
        assert_eq!(r.f("pkt_len_p90"), b(802.0));
        assert_eq!(r.f("pkt_len_fwd_min"), b(52.0));
        assert_eq!(r.f("pkt_len_fwd_max"), b(552.0));
        assert_eq!(r.f("pkt_len_fwd_mean"), b(221.33333333333334));
        assert_eq!(r.f("pkt_len_fwd_std"), b(233.83945109602203));
        assert_eq!(r.f("pkt_len_fwd_median"), b(60.0));
        assert_eq!(r.f("pkt_len_bwd_min"), b(52.0));
        assert_eq!(r.f("pkt_len_bwd_max"), b(1052.0));
        assert_eq!(r.f("pkt_len_bwd_mean"), b(388.0));
        assert_eq!(r.f("pkt_len_bwd_std"), b(469.53026171554336));
        assert_eq!(r.f("pkt_len_bwd_median"), b(60.0));
        assert_eq!(r.f("payload_len_min"), b(0.0));
        assert_eq!(r.f("payload_len_max"), b(1000.0));
        assert_eq!(r.f("payload_len_mean"), b(250.0));
        assert_eq!(r.f("payload_len_std"), b(381.8813079129867));
        assert_eq!(r.f("payload_len_fwd_mean"), b(166.66666666666666));
        assert_eq!(r.f("payload_len_fwd_std"), b(235.70226039551585));
        assert_eq!(r.f("payload_len_bwd_mean"), b(333.3333333333333));
        assert_eq!(r.f("payload_len_bwd_std"), b(471.4045207910317));
        assert_eq!(r.i("packets_with_payload"), 2);
        assert_eq!(r.i("packets_with_payload_fwd"), 1);
        assert_eq!(r.i("packets_with_payload_bwd"), 1);
        assert_eq!(r.f("header_only_ratio"), b(4.0 / 6.0));
        assert_eq!(r.f("pkt_len_variance"), b(144514.2222222222));
        assert_eq!(r.i("dominant_pkt_size"), 60);
        assert_eq!(r.f("dominant_pkt_ratio"), b(2.0 / 6.0));
        assert_eq!(r.i("l7_bytes_fwd"), 500);
        assert_eq!(r.i("l7_bytes_bwd"), 1000);
        assert_eq!(r.i("l7_bytes_total"), 1500);
        assert_eq!(r.i("l7_pkt_min_fwd"), 500);
        assert_eq!(r.i("l7_pkt_max_fwd"), 500);
        assert_eq!(r.i("l7_pkt_min_bwd"), 1000);
        assert_eq!(r.i("l7_pkt_max_bwd"), 1000);
        assert_eq!(r.f("pkt_asymmetry"), b(0.0));
        assert_eq!(r.f("byte_asymmetry"), b(-0.2735229759299781));
        assert_eq!(r.f("byte_asymmetry"), b(-500.0 / 1828.0));
    }
}

/// Ethernet padding (spec §2.1): 40-byte ACKs travel in 60-byte frames with 6 trailer
/// bytes, a 45-byte segment with 5 data bytes has 1.
///
/// | # | dir | ip_len | payload | trailer | compat payload |
/// |---|-----|--------|---------|---------|----------------|
/// | 0 | fwd | 40     | 0       | 6       | 6              |
/// | 1 | bwd | 45     | 5       | 1       | 6              |
/// | 2 | fwd | 40     | 0       | 6       | 6              |
/// | 3 | bwd | 1500   | 1460    | 0       | 1460           |
///
/// Default payloads 0 5 0 1460: mean 1465/4 = 366.25, std 631.4801560619304; fwd
/// 0 0 (mean 0, std 0), bwd 5 1460 (mean 732.5, std 727.5); 2 with payload → header
/// only 0.5; L7 fwd 0, bwd 1465; bwd non-zero min 5, max 1460, fwd none → 0 0.
/// Compat payloads 6 6 6 1460: min 6, mean 1478/4 = 369.5, std 629.6004685512869;
/// fwd mean 6, std 0; bwd 6 1460 → mean 733, std 727; 4 with payload → header only 0;
/// L7 fwd 12, bwd 1466; fwd min = max = 6, bwd min 6, max 1460.
#[test]
fn compat_counts_link_padding_as_payload() {
    let mut pkts = vec![
        pkt(T0, DIR_FWD, 40, 0, ACK),
        pkt(T0 + Q, DIR_BWD, 45, 5, PSH | ACK),
        pkt(T0 + 2 * Q, DIR_FWD, 40, 0, ACK),
        pkt(T0 + 3 * Q, DIR_BWD, 1500, 1460, ACK),
    ];
    for (p, trailer) in pkts.iter_mut().zip([6, 1, 6, 0]) {
        p.link_trailer = trailer;
    }
    let flow = TestFlow::tcp4(pkts);

    let jj = run(&SizeFactory, "", &flow);
    assert_eq!(jj.f("payload_len_min"), b(0.0));
    assert_eq!(jj.f("payload_len_max"), b(1460.0));
    assert_eq!(jj.f("payload_len_mean"), b(366.25));
    assert_eq!(jj.f("payload_len_std"), b(631.4801560619304));
    assert_eq!(jj.f("payload_len_fwd_mean"), b(0.0));
    assert_eq!(jj.f("payload_len_fwd_std"), b(0.0));
    assert_eq!(jj.f("payload_len_bwd_mean"), b(732.5));
    assert_eq!(jj.f("payload_len_bwd_std"), b(727.5));
    assert_eq!(
        (
            jj.i("packets_with_payload"),
            jj.i("packets_with_payload_fwd"),
            jj.i("packets_with_payload_bwd")
        ),
        (2, 0, 2)
    );
    assert_eq!(jj.f("header_only_ratio"), b(0.5));
    assert_eq!(
        (
            jj.i("l7_bytes_fwd"),
            jj.i("l7_bytes_bwd"),
            jj.i("l7_bytes_total")
        ),
        (0, 1465, 1465)
    );
    assert_eq!((jj.i("l7_pkt_min_fwd"), jj.i("l7_pkt_max_fwd")), (0, 0));
    assert_eq!((jj.i("l7_pkt_min_bwd"), jj.i("l7_pkt_max_bwd")), (5, 1460));

    let c = run(&SizeFactory, "compat=joyfuljay", &flow);
    assert_eq!(c.f("payload_len_min"), b(6.0));
    assert_eq!(c.f("payload_len_max"), b(1460.0));
    assert_eq!(c.f("payload_len_mean"), b(369.5));
    assert_eq!(c.f("payload_len_std"), b(629.6004685512869));
    assert_eq!(c.f("payload_len_fwd_mean"), b(6.0));
    assert_eq!(c.f("payload_len_fwd_std"), b(0.0));
    assert_eq!(c.f("payload_len_bwd_mean"), b(733.0));
    assert_eq!(c.f("payload_len_bwd_std"), b(727.0));
    assert_eq!(
        (
            c.i("packets_with_payload"),
            c.i("packets_with_payload_fwd"),
            c.i("packets_with_payload_bwd")
        ),
        (4, 2, 2)
    );
    assert_eq!(c.f("header_only_ratio"), b(0.0));
    assert_eq!(
        (
            c.i("l7_bytes_fwd"),
            c.i("l7_bytes_bwd"),
            c.i("l7_bytes_total")
        ),
        (12, 1466, 1478)
    );
    assert_eq!((c.i("l7_pkt_min_fwd"), c.i("l7_pkt_max_fwd")), (6, 6));
    assert_eq!((c.i("l7_pkt_min_bwd"), c.i("l7_pkt_max_bwd")), (6, 1460));

    // IP lengths do not depend on the mode: 40 45 40 1500, mean 406.25, median 42.5,
    // p90 idx 2.7 → 45·0.3 + 1500·0.7 = 1063.5000000000002 (float frac), dominant 40
    // (2 of 4), byte asymmetry (80 - 1545)/1625 = -0.9015384615384615.
    for r in [&jj, &c] {
        assert_eq!(r.f("pkt_len_mean"), b(406.25));
        assert_eq!(r.f("pkt_len_median"), b(42.5));
        assert_eq!(r.f("pkt_len_p90"), b(1063.5000000000002));
        assert_eq!(r.f("pkt_len_std"), b(631.4801560619304));
        assert_eq!(r.f("pkt_len_variance"), b(398767.1875));
        assert_eq!(r.i("dominant_pkt_size"), 40);
        assert_eq!(r.f("dominant_pkt_ratio"), b(0.5));
        assert_eq!(r.f("byte_asymmetry"), b(-0.9015384615384615));
        assert_eq!(r.f("pkt_asymmetry"), b(0.0));
    }
}

#[test]
fn compat_padding_for_udp_and_icmp() {
    // UDP, 5 data bytes in a minimum frame: 13 trailer bytes → Scapy payload 18.
    let mut p = pkt(T0, DIR_FWD, 33, 5, 0);
    p.link_trailer = 13;
    let udp = TestFlow::udp4(vec![p]);
    assert_eq!(run(&SizeFactory, "", &udp).i("l7_bytes_fwd"), 5);
    assert_eq!(
        run(&SizeFactory, "compat=joyfuljay", &udp).i("l7_bytes_fwd"),
        18
    );
    // ICMP echo with 4 data bytes (jj counts after the 8-byte header) + 14 padding.
    let mut p = pkt(T0, DIR_FWD, 32, 4, 0);
    p.link_trailer = 14;
    let icmp = TestFlow::ipv4(1, vec![p]);
    assert_eq!(run(&SizeFactory, "", &icmp).f("payload_len_max"), b(4.0));
    assert_eq!(
        run(&SizeFactory, "compat=joyfuljay", &icmp).f("payload_len_max"),
        b(18.0)
    );
}

#[test]
fn one_packet_and_empty_flows() {
    // One 60-byte SYN: every statistic of one value is that value, std 0, variance 0
    // (fewer than 2 packets), dominant 60 with ratio 1, asymmetry (1-0)/1 = 1.
    let r = run(
        &SizeFactory,
        "",
        &TestFlow::tcp4(vec![pkt(T0, DIR_FWD, 60, 0, SYN)]),
    );
    for name in [
        "pkt_len_min",
        "pkt_len_max",
        "pkt_len_mean",
        "pkt_len_median",
        "pkt_len_p25",
        "pkt_len_p75",
        "pkt_len_p90",
        "pkt_len_fwd_min",
        "pkt_len_fwd_max",
        "pkt_len_fwd_mean",
        "pkt_len_fwd_median",
    ] {
        assert_eq!(r.f(name), b(60.0), "{name}");
    }
    for name in [
        "pkt_len_std",
        "pkt_len_variance",
        "pkt_len_bwd_min",
        "pkt_len_bwd_mean",
        "payload_len_max",
        "payload_len_bwd_std",
    ] {
        assert_eq!(r.f(name), b(0.0), "{name}");
    }
    assert_eq!(r.f("byte_asymmetry"), b(1.0));
    assert_eq!(r.f("pkt_asymmetry"), b(1.0));
    assert_eq!(r.f("header_only_ratio"), b(1.0));
    assert_eq!(r.i("dominant_pkt_size"), 60);
    assert_eq!(r.f("dominant_pkt_ratio"), b(1.0));

    // No packets at all: every value is 0 / 0.0.
    let r = run(
        &SizeFactory,
        "include_sequences=true\nmax_sequence_length=2",
        &TestFlow::tcp4(vec![]),
    );
    for (k, m) in r.features.iter().enumerate().take(42) {
        match &r.values[k] {
            Value::Float(x) => assert_eq!(x.to_bits(), 0, "{}", m.name),
            Value::Int(x) => assert_eq!(*x, 0, "{}", m.name),
            other => panic!("{}: {other:?}", m.name),
        }
    }
    assert_eq!(il(r.get("pkt_len_sequence")), &[0, 0]);
}

#[test]
fn responder_heavy_asymmetry_and_dominant_tie_order() {
    // Lengths 52 (fwd), 1500, 1500, 52 (bwd): 52 and 1500 tie at 2; 52 came first.
    // packets (1 - 3)/4 = -0.5; bytes (52 - 3052)/3104 = -0.9664948453608248.
    let flow = TestFlow::tcp4(vec![
        pkt(T0, DIR_FWD, 52, 0, ACK),
        pkt(T0 + Q, DIR_BWD, 1500, 1448, ACK),
        pkt(T0 + 2 * Q, DIR_BWD, 1500, 1448, ACK),
        pkt(T0 + 3 * Q, DIR_BWD, 52, 0, ACK),
    ]);
    let r = run(&SizeFactory, "", &flow);
    assert_eq!(r.i("dominant_pkt_size"), 52);
    assert_eq!(r.f("dominant_pkt_ratio"), b(0.5));
    assert_eq!(r.f("pkt_asymmetry"), b(-0.5));
    assert_eq!(r.f("byte_asymmetry"), b(-3000.0 / 3104.0));
    assert_eq!(r.f("byte_asymmetry"), b(-0.9664948453608248));
    // responder's non-zero payloads 1448 1448
    assert_eq!((r.i("l7_pkt_min_bwd"), r.i("l7_pkt_max_bwd")), (1448, 1448));
}

#[test]
fn signed_length_sequence() {
    // Default: the sign follows the direction; N = 4 truncates the 6 packets.
    let r = run(
        &SizeFactory,
        "include_sequences=true\nmax_sequence_length=4",
        &six(),
    );
    assert_eq!(il(r.get("pkt_len_sequence")), &[60, -60, 52, 552]);
    // N = 8 pads with zeros.
    let r = run(
        &SizeFactory,
        "include_sequences=true\nmax_sequence_length=8",
        &six(),
    );
    assert_eq!(
        il(r.get("pkt_len_sequence")),
        &[60, -60, 52, 552, -1052, -52, 0, 0]
    );
    assert_eq!(
        run(&SizeFactory, "include_sequences=true", &six())
            .names()
            .len(),
        43
    );

    // Both endpoints on one address (127.0.0.1:40000 ↔ 127.0.0.1:8080): jj signs by
    // direction; the reference compares the source address only, so every packet is
    // positive under compat.
    let lo = v4([127, 0, 0, 1]);
    let flow = six().endpoints(4, (lo, 40000), (lo, 8080));
    let opts = "include_sequences=true\nmax_sequence_length=6";
    assert_eq!(
        il(run(&SizeFactory, opts, &flow).get("pkt_len_sequence")),
        &[60, -60, 52, 552, -1052, -52]
    );
    assert_eq!(
        il(run(&SizeFactory, &format!("{opts}\ncompat=joyfuljay"), &flow).get("pkt_len_sequence")),
        &[60, 60, 52, 552, 1052, 52]
    );
    // Different addresses: compat agrees with the default.
    assert_eq!(
        il(run(&SizeFactory, &format!("{opts}\ncompat=joyfuljay"), &six()).get("pkt_len_sequence")),
        &[60, -60, 52, 552, -1052, -52]
    );
}

#[test]
fn scratch_and_output_buffers_are_reused() {
    let o = Options::parse("include_sequences=true\nmax_sequence_length=8");
    let info = SizeFactory.describe(&o).unwrap();
    let mut inst: Size = SizeFactory.create(&o).unwrap();
    let mut out = vec![Value::Null; info.features.len()];
    let big = six();
    inst.extract(&big.view(), &mut out).unwrap();
    let ptr = |out: &[Value]| match &out[42] {
        Value::IntList(x) => x.as_ptr() as usize,
        other => panic!("{other:?}"),
    };
    let before = ptr(&out);
    let small = TestFlow::tcp4(big.packets[..2].to_vec());
    for flow in [&small, &big, &small] {
        let caps = inst.capacities();
        inst.extract(&flow.view(), &mut out).unwrap();
        assert_eq!(inst.capacities(), caps);
        assert_eq!(ptr(&out), before);
    }
}
