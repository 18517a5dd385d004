//! `timing` on hand-built flows.
use super::*;
use crate::timing::{burst_walk, Bursts, Timing, TimingFactory};

/// Six packets at k/256 s after T0 (exact in f64):
///
/// | # | k  | dir |
/// |---|----|-----|
/// | 0 | 0  | fwd |
/// | 1 | 2  | bwd |
/// | 2 | 3  | fwd |
/// | 3 | 20 | fwd |
/// | 4 | 21 | bwd |
/// | 5 | 40 | fwd |
fn six() -> TestFlow {
    let at = |k: i64, dir| pkt(T0 + k * Q, dir, 60 + k as u32, 0, flags::ACK);
    TestFlow::tcp4(vec![
        at(0, DIR_FWD),
        at(2, DIR_BWD),
        at(3, DIR_FWD),
        at(20, DIR_FWD),
        at(21, DIR_BWD),
        at(40, DIR_FWD),
    ])
}

/// In units of q = 1/256 s:
/// * all IATs: 2, 1, 17, 1, 19 (sum 40, mean 8); sorted 1 1 2 17 19.
///   deviations -6 -7 9 -7 11 → squares 36 49 81 49 121 = 336 → var 67.2 q²,
///   std = sqrt(67.2)/256 = 0.03202172114362375 (numpy).
///   median = idx 2 → 2q; p25 = idx 1 → 1q; p75 = idx 3 → 17q;
///   p90: idx 3.6 → 17·(1-0.6) + 19·0.6 = 18.2q, but frac = 3.6000000000000001 - 3 in
///   floats: 0.07109375000000001; p99: idx 3.96 → 0.07390624999999999 (numpy).
/// * fwd timestamps 0 3 20 40 → IATs 3 17 20: min 3q, max 20q, mean 40/3 q =
///   0.052083333333333336, median 17q, std 0.028940248399600087 (numpy).
/// * bwd timestamps 2 21 → one IAT 19q: min = max = mean = median = 19q, std 0.
/// * burstiness: std/mean = 1.02469507659596 (all), 0.5556527692723217 (fwd), 0 (bwd).
/// * bursts at 50 ms = 12.8q: [0 2 3] (IATs 2, 1; duration 3q), idle 17q, [20 21]
///   (duration 1q), idle 19q, [40] (duration 0): 3 bursts, 6/3 = 2.0 packets,
///   (3 + 1 + 0)/3 q = 0.005208333333333333 s, largest 3; 2 idles, (17 + 19)/2 q =
///   18q = 0.0703125, longest 19q = 0.07421875.
/// * first response: 2q = 0.0078125.
#[test]
fn every_fixed_feature() {
    let q = |k: f64| k / 256.0;
    for compat in ["", "compat=joyfuljay"] {
        let r = run(&TimingFactory, compat, &six());
        assert_eq!(r.names().len(), 31);
        assert_eq!(r.f("iat_min"), b(q(1.0)));
        assert_eq!(r.f("iat_max"), b(q(19.0)));
        assert_eq!(r.f("iat_mean"), b(q(8.0)));
        assert_eq!(r.f("iat_std"), b(0.03202172114362375));
        assert_eq!(r.f("iat_std"), b(67.2f64.sqrt() / 256.0));
        assert_eq!(r.f("iat_median"), b(q(2.0)));
        assert_eq!(r.f("iat_sum"), b(q(40.0)));
        assert_eq!(r.f("iat_p25"), b(q(1.0)));
        assert_eq!(r.f("iat_p75"), b(q(17.0)));
        assert_eq!(r.f("iat_p90"), b(0.07109375000000001));
        assert_eq!(r.f("iat_p99"), b(0.07390624999999999));
        assert_eq!(r.f("iat_fwd_min"), b(q(3.0)));
        assert_eq!(r.f("iat_fwd_max"), b(q(20.0)));
        assert_eq!(r.f("iat_fwd_mean"), b(0.052083333333333336));
        assert_eq!(r.f("iat_fwd_std"), b(0.028940248399600087));
        assert_eq!(r.f("iat_fwd_median"), b(q(17.0)));
        for name in [
            "iat_bwd_min",
            "iat_bwd_max",
            "iat_bwd_mean",
            "iat_bwd_median",
        ] {
            assert_eq!(r.f(name), b(q(19.0)), "{name}");
        }
        assert_eq!(r.f("iat_bwd_std"), b(0.0));
        assert_eq!(r.f("burstiness_index"), b(1.02469507659596));
        assert_eq!(r.f("burstiness_index_fwd"), b(0.5556527692723217));
        assert_eq!(r.f("burstiness_index_bwd"), b(0.0));
        assert_eq!(r.i("burst_count"), 3);
        assert_eq!(r.f("avg_burst_packets"), b(2.0));
        assert_eq!(r.f("avg_burst_duration"), b(0.005208333333333333));
        assert_eq!(r.i("max_burst_packets"), 3);
        assert_eq!(r.i("idle_count"), 2);
        assert_eq!(r.f("avg_idle_duration"), b(0.0703125));
        assert_eq!(r.f("max_idle_duration"), b(q(19.0)));
        assert_eq!(r.f("first_response_time"), b(0.0078125));
    }
}

/// The spec's §4.2 example (sample.pcap flow 0): 12 packets, ten gaps of 10 ms then one
/// of 100 ms, µs timestamps after T0, directions alternating from the initiator.
///
/// At 1.7e9 s a double resolves ~2.4e-7 s, so the gaps are
/// float("1704067200.010000") - float("1704067200.000000") = 0.009999990463256836 and
/// 0.10000014305114746. Bursts: one of 11 packets (duration = the ten small gaps as a
/// difference of running sums = 0.09999990463256836), idle 0.1, one of 1 packet:
/// burst_count 2, avg_burst_packets 6.0, max 11, avg_burst_duration
/// 0.04999995231628418 (≈ 0.05), idle_count 1. iat_p99: idx 9.9 between the largest
/// small gap and the 0.1 gap: 0.09100012779235843 (the golden 0.0910001…).
#[test]
fn spec_burst_example() {
    let mut pkts: Vec<_> = (0..11)
        .map(|k| {
            let dir = if k % 2 == 0 { DIR_FWD } else { DIR_BWD };
            pkt(T0 + k * 10 * MS, dir, 100, 48, flags::ACK)
        })
        .collect();
    pkts.push(pkt(T0 + 200 * MS, DIR_BWD, 100, 48, flags::ACK));
    let flow = TestFlow::tcp4(pkts);
    for compat in ["", "compat=joyfuljay"] {
        let r = run(&TimingFactory, compat, &flow);
        assert_eq!(r.i("burst_count"), 2);
        assert_eq!(r.f("avg_burst_packets"), b(6.0));
        assert_eq!(r.i("max_burst_packets"), 11);
        assert_eq!(r.f("avg_burst_duration"), b(0.04999995231628418));
        assert_eq!(r.i("idle_count"), 1);
        assert_eq!(r.f("avg_idle_duration"), b(0.10000014305114746));
        assert_eq!(r.f("max_idle_duration"), b(0.10000014305114746));
        assert_eq!(r.f("iat_p99"), b(0.09100012779235843));
        assert_eq!(r.f("iat_min"), b(0.009999990463256836));
        assert_eq!(r.f("iat_median"), b(0.009999990463256836));
        assert_eq!(r.f("iat_mean"), b(0.01818182251670144));
        assert_eq!(r.f("iat_std"), b(0.025873224721857442));
        assert_eq!(r.f("iat_sum"), b(0.20000004768371582));
        assert_eq!(r.f("burstiness_index"), b(1.423027020426079));
        // initiator: packets 0,2,..,10 → five gaps of 20 ms
        assert_eq!(r.f("iat_fwd_mean"), b(0.019999980926513672));
        assert_eq!(r.f("burstiness_index_fwd"), b(0.0));
        // responder: 1,3,5,7,9 then the last one 110 ms later
        assert_eq!(r.f("iat_bwd_max"), b(0.1100001335144043));
        assert_eq!(r.f("iat_bwd_mean"), b(0.0380000114440918));
        assert_eq!(r.f("iat_bwd_std"), b(0.03600006103515625));
        assert_eq!(r.f("burstiness_index_bwd"), b(0.9473697419307884));
        assert_eq!(r.f("first_response_time"), b(0.009999990463256836));
    }
}

#[test]
fn burst_threshold_option_and_the_boundary() {
    // 7.8125 ms = 2q exactly: a gap equal to the threshold is idle (not < threshold).
    // Gaps 2 1 17 1 19 → bursts [0] | [2 3] | [20 21] | [40]: 4 bursts of 1 2 2 1
    // packets (avg 1.5, max 2), durations 0 1 1 0 q → avg 0.5q = 0.001953125;
    // idles 2 17 19 → avg 38/3 q = 0.049479166666666664, max 19q.
    let r = run(&TimingFactory, "burst_threshold_ms=7.8125", &six());
    assert_eq!(r.i("burst_count"), 4);
    assert_eq!(r.f("avg_burst_packets"), b(1.5));
    assert_eq!(r.i("max_burst_packets"), 2);
    assert_eq!(r.f("avg_burst_duration"), b(0.001953125));
    assert_eq!(r.i("idle_count"), 3);
    assert_eq!(r.f("avg_idle_duration"), b(0.049479166666666664));
    assert_eq!(r.f("max_idle_duration"), b(19.0 / 256.0));
    // a huge threshold: one burst of all 6 packets lasting the whole flow, no idle
    let r = run(&TimingFactory, "burst_threshold_ms=1000", &six());
    assert_eq!(
        (
            r.i("burst_count"),
            r.i("max_burst_packets"),
            r.i("idle_count")
        ),
        (1, 6, 0)
    );
    assert_eq!(r.f("avg_burst_packets"), b(6.0));
    assert_eq!(r.f("avg_burst_duration"), b(40.0 / 256.0));
    assert_eq!(r.f("avg_idle_duration"), b(0.0));
    assert_eq!(r.f("max_idle_duration"), b(0.0));
    // a tiny one: every gap is idle, every packet its own burst
    let r = run(&TimingFactory, "burst_threshold_ms=0.001", &six());
    assert_eq!(
        (
            r.i("burst_count"),
            r.i("max_burst_packets"),
            r.i("idle_count")
        ),
        (6, 1, 5)
    );
    assert_eq!(r.f("avg_burst_duration"), b(0.0));
    assert_eq!(r.f("avg_idle_duration"), b(8.0 / 256.0));
}

#[test]
fn burst_walk_edge_cases() {
    assert_eq!(burst_walk(&[], 0.05), Bursts::default());
    // one gap below: one burst of two packets
    let one = burst_walk(&[0.01], 0.05);
    assert_eq!(
        (one.burst_count, one.max_burst_packets, one.idle_count),
        (1, 2, 0)
    );
    assert_eq!(one.avg_burst_duration, 0.01);
    // a negative gap (out-of-order capture) is below any threshold
    let neg = burst_walk(&[-0.5, 1.0], 0.05);
    assert_eq!((neg.burst_count, neg.idle_count), (2, 1));
    assert_eq!(neg.avg_burst_packets, 1.5);
    // first burst -0.5 long, second 0: avg -0.25
    assert_eq!(neg.avg_burst_duration, -0.25);
    assert_eq!(neg.max_idle_duration, 1.0);
}

#[test]
fn one_packet_and_empty_flows_are_all_zero() {
    let one = TestFlow::tcp4(vec![pkt(T0, DIR_FWD, 60, 0, flags::SYN)]);
    let empty = TestFlow::tcp4(vec![]);
    for flow in [one, empty] {
        let r = run(
            &TimingFactory,
            "include_sequences=true\ninclude_splt=true\nmax_sequence_length=3",
            &flow,
        );
        for (k, m) in r.features.iter().enumerate().take(31) {
            match &r.values[k] {
                Value::Float(x) => assert_eq!(x.to_bits(), 0, "{}", m.name),
                Value::Int(x) => assert_eq!(*x, 0, "{}", m.name),
                other => panic!("{}: {other:?}", m.name),
            }
        }
        assert_eq!(fl(r.get("iat_sequence")), bits(&[0.0; 3]));
        assert_eq!(fl(r.get("timestamp_sequence")), bits(&[0.0; 3]));
        if flow.packets.is_empty() {
            assert_eq!(s(r.get("splt")), "[]");
            assert!(il(r.get("splt_lengths")).is_empty());
        } else {
            assert_eq!(s(r.get("splt")), "[[60, 0.0, 1]]");
            assert_eq!(il(r.get("splt_lengths")), &[60]);
            assert_eq!(fl(r.get("splt_times")), bits(&[0.0]));
            assert_eq!(il(r.get("splt_directions")), &[1]);
        }
    }
}

#[test]
fn responder_only_and_out_of_order_timestamps() {
    // Only the responder's packet after the first: first_response_time is its offset.
    // Timestamps going backwards give a negative IAT (no sorting) and a negative
    // first response time.
    let flow = TestFlow::udp4(vec![
        pkt(T0 + 8 * Q, DIR_FWD, 40, 12, 0),
        pkt(T0 + 4 * Q, DIR_BWD, 40, 12, 0),
        pkt(T0 + 6 * Q, DIR_FWD, 40, 12, 0),
    ]);
    let r = run(&TimingFactory, "", &flow);
    // gaps: -4q, +2q → min -4q, max 2q, sum -2q, mean -1q
    assert_eq!(r.f("iat_min"), b(-4.0 / 256.0));
    assert_eq!(r.f("iat_max"), b(2.0 / 256.0));
    assert_eq!(r.f("iat_sum"), b(-2.0 / 256.0));
    assert_eq!(r.f("iat_mean"), b(-1.0 / 256.0));
    // std: deviations -3q, 3q → 3q; cv = 3q / -1q = -3
    assert_eq!(r.f("iat_std"), b(3.0 / 256.0));
    assert_eq!(r.f("burstiness_index"), b(-3.0));
    assert_eq!(r.f("iat_fwd_min"), b(-2.0 / 256.0));
    assert_eq!(r.f("first_response_time"), b(-4.0 / 256.0));
    // both gaps are below 50 ms: one burst of 3 packets, "lasting" -2q
    assert_eq!((r.i("burst_count"), r.i("max_burst_packets")), (1, 3));
    assert_eq!(r.f("avg_burst_duration"), b(-2.0 / 256.0));
}

/// `include_sequences`: the first N gaps and relative timestamps, zero-padded to N.
/// `include_splt`: the first N packets' (IP length, gap, ±1), truncated only.
#[test]
fn sequences_and_splt() {
    let r = run(
        &TimingFactory,
        "include_sequences=true\ninclude_splt=true\nmax_sequence_length=4",
        &six(),
    );
    let q = |k: f64| k / 256.0;
    // 5 gaps truncated to 4; 6 timestamps truncated to 4
    assert_eq!(
        fl(r.get("iat_sequence")),
        bits(&[q(2.0), q(1.0), q(17.0), q(1.0)])
    );
    assert_eq!(
        fl(r.get("timestamp_sequence")),
        bits(&[0.0, q(2.0), q(3.0), q(20.0)])
    );
    // IP lengths are 60 + k in `six()`
    assert_eq!(
        s(r.get("splt")),
        "[[60, 0.0, 1], [62, 0.0078125, -1], [63, 0.00390625, 1], [80, 0.06640625, 1]]"
    );
    assert_eq!(il(r.get("splt_lengths")), &[60, 62, 63, 80]);
    assert_eq!(
        fl(r.get("splt_times")),
        bits(&[0.0, q(2.0), q(1.0), q(17.0)])
    );
    assert_eq!(il(r.get("splt_directions")), &[1, -1, 1, 1]);

    // N larger than the flow: sequences padded with zeros, SPLT not padded
    let r = run(
        &TimingFactory,
        "include_sequences=true\ninclude_splt=true\nmax_sequence_length=8",
        &six(),
    );
    assert_eq!(
        fl(r.get("iat_sequence")),
        bits(&[q(2.0), q(1.0), q(17.0), q(1.0), q(19.0), 0.0, 0.0, 0.0])
    );
    assert_eq!(
        fl(r.get("timestamp_sequence")),
        bits(&[0.0, q(2.0), q(3.0), q(20.0), q(21.0), q(40.0), 0.0, 0.0])
    );
    assert_eq!(il(r.get("splt_lengths")), &[60, 62, 63, 80, 81, 100]);
    assert_eq!(il(r.get("splt_directions")), &[1, -1, 1, 1, -1, 1]);
    assert_eq!(
        s(r.get("splt")),
        "[[60, 0.0, 1], [62, 0.0078125, -1], [63, 0.00390625, 1], [80, 0.06640625, 1], \
         [81, 0.00390625, -1], [100, 0.07421875, 1]]"
    );
    // default N = 50
    let r = run(&TimingFactory, "include_sequences=true", &six());
    assert_eq!(fl(r.get("iat_sequence")).len(), 50);
    assert_eq!(r.names().len(), 33);
}

#[test]
fn splt_text_uses_python_float_repr() {
    // gaps of 10 µs and 1 s after T0 (µs timestamps): the differences are the doubles
    // float("1704067200.000010") - 1704067200.0 = 1.0013580322265625e-05 and then
    // float("1704067201.000010") - float("1704067200.000010") = 1.0 → "1.0";
    // Python repr writes the small one in exponent form.
    let flow = TestFlow::udp4(vec![
        pkt(T0, DIR_FWD, 33, 5, 0),
        pkt(T0 + 10 * US, DIR_BWD, 1500, 1472, 0),
        pkt(T0 + 1_000_010 * US, DIR_FWD, 33, 5, 0),
    ]);
    let r = run(&TimingFactory, "include_splt=true", &flow);
    assert_eq!(
        s(r.get("splt")),
        "[[33, 0.0, 1], [1500, 1.0013580322265625e-05, -1], [33, 1.0, 1]]"
    );
}

#[test]
fn scratch_and_output_buffers_are_reused() {
    // After a warm-up flow, extracting a flow that is not larger allocates nothing: the
    // scratch capacities and the output lists' and string's buffers stay the same.
    let o = Options::parse("include_sequences=true\ninclude_splt=true\nmax_sequence_length=8");
    let info = TimingFactory.describe(&o).unwrap();
    let mut inst: Timing = TimingFactory.create(&o).unwrap();
    let mut out = vec![Value::Null; info.features.len()];
    let big = six();
    inst.extract(&big.view(), &mut out).unwrap();
    let ptrs = |out: &[Value]| -> Vec<usize> {
        out[31..]
            .iter()
            .map(|v| match v {
                Value::FloatList(x) => x.as_ptr() as usize,
                Value::IntList(x) => x.as_ptr() as usize,
                Value::Str(x) => x.as_str().as_ptr() as usize,
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let before = ptrs(&out);
    let small = TestFlow::tcp4(big.packets[..4].to_vec());
    for flow in [&small, &big, &small] {
        let caps = inst.capacities();
        inst.extract(&flow.view(), &mut out).unwrap();
        assert_eq!(inst.capacities(), caps);
        assert_eq!(ptrs(&out), before);
    }
}
