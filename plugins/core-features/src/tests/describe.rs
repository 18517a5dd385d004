//! `describe`: names, order, dtypes, units and missing policies from the reference's
//! feature table (`joyfuljay-features.tsv`), and how the options change the list.
use super::*;
use crate::{size::SizeFactory, tcp::TcpFactory, timing::TimingFactory};

/// `(id, dtype, missing_policy, units)` of `timing`, rows of the reference's feature table.
const TIMING: [(&str, &str, &str, &str); 31] = [
    ("timing.iat_min", "float64", "nan", "s"),
    ("timing.iat_max", "float64", "nan", "s"),
    ("timing.iat_mean", "float64", "nan", "s"),
    ("timing.iat_std", "float64", "nan", "s"),
    ("timing.iat_median", "float64", "nan", "s"),
    ("timing.iat_sum", "float64", "nan", "s"),
    ("timing.iat_p25", "float64", "nan", "s"),
    ("timing.iat_p75", "float64", "nan", "s"),
    ("timing.iat_p90", "float64", "nan", "s"),
    ("timing.iat_p99", "float64", "nan", "s"),
    ("timing.iat_fwd_min", "float64", "nan", "s"),
    ("timing.iat_fwd_max", "float64", "nan", "s"),
    ("timing.iat_fwd_mean", "float64", "nan", "s"),
    ("timing.iat_fwd_std", "float64", "nan", "s"),
    ("timing.iat_fwd_median", "float64", "nan", "s"),
    ("timing.iat_bwd_min", "float64", "nan", "s"),
    ("timing.iat_bwd_max", "float64", "nan", "s"),
    ("timing.iat_bwd_mean", "float64", "nan", "s"),
    ("timing.iat_bwd_std", "float64", "nan", "s"),
    ("timing.iat_bwd_median", "float64", "nan", "s"),
    ("timing.burstiness_index", "float64", "nan", ""),
    ("timing.burstiness_index_fwd", "float64", "nan", ""),
    ("timing.burstiness_index_bwd", "float64", "nan", ""),
    ("timing.burst_count", "int64", "zero", "count"),
    ("timing.avg_burst_packets", "float64", "zero", "count"),
    ("timing.avg_burst_duration", "float64", "zero", "s"),
    ("timing.max_burst_packets", "int64", "zero", "count"),
    ("timing.idle_count", "int64", "zero", "count"),
    ("timing.avg_idle_duration", "float64", "zero", "s"),
    ("timing.max_idle_duration", "float64", "zero", "s"),
    ("timing.first_response_time", "float64", "zero", "s"),
];

/// `(id, dtype, missing_policy, units)` of `size`, rows of the reference's feature table.
const SIZE: [(&str, &str, &str, &str); 42] = [
    ("size.pkt_len_min", "float64", "nan", "bytes"),
    ("size.pkt_len_max", "float64", "nan", "bytes"),
    ("size.pkt_len_mean", "float64", "nan", "bytes"),
    ("size.pkt_len_std", "float64", "nan", "bytes"),
    ("size.pkt_len_median", "float64", "nan", "bytes"),
    ("size.pkt_len_p25", "float64", "nan", "bytes"),
    ("size.pkt_len_p75", "float64", "nan", "bytes"),
    ("size.pkt_len_p90", "float64", "nan", "bytes"),
    ("size.pkt_len_fwd_min", "float64", "nan", "bytes"),
    ("size.pkt_len_fwd_max", "float64", "nan", "bytes"),
    ("size.pkt_len_fwd_mean", "float64", "nan", "bytes"),
    ("size.pkt_len_fwd_std", "float64", "nan", "bytes"),
    ("size.pkt_len_fwd_median", "float64", "nan", "bytes"),
    ("size.pkt_len_bwd_min", "float64", "nan", "bytes"),
    ("size.pkt_len_bwd_max", "float64", "nan", "bytes"),
    ("size.pkt_len_bwd_mean", "float64", "nan", "bytes"),
    ("size.pkt_len_bwd_std", "float64", "nan", "bytes"),
    ("size.pkt_len_bwd_median", "float64", "nan", "bytes"),
    ("size.payload_len_min", "float64", "nan", "bytes"),
    ("size.payload_len_max", "float64", "nan", "bytes"),
    ("size.payload_len_mean", "float64", "nan", "bytes"),
    ("size.payload_len_std", "float64", "nan", "bytes"),
    ("size.payload_len_fwd_mean", "float64", "nan", "bytes"),
    ("size.payload_len_fwd_std", "float64", "nan", "bytes"),
    ("size.payload_len_bwd_mean", "float64", "nan", "bytes"),
    ("size.payload_len_bwd_std", "float64", "nan", "bytes"),
    ("size.packets_with_payload", "int64", "zero", "count"),
    ("size.packets_with_payload_fwd", "int64", "zero", "count"),
    ("size.packets_with_payload_bwd", "int64", "zero", "count"),
    ("size.header_only_ratio", "float64", "zero", ""),
    ("size.pkt_len_variance", "float64", "zero", "bytes"),
    ("size.dominant_pkt_size", "int64", "zero", "bytes"),
    ("size.dominant_pkt_ratio", "float64", "zero", ""),
    ("size.l7_bytes_fwd", "int64", "zero", "bytes"),
    ("size.l7_bytes_bwd", "int64", "zero", "bytes"),
    ("size.l7_bytes_total", "int64", "zero", "bytes"),
    ("size.l7_pkt_min_fwd", "int64", "zero", "bytes"),
    ("size.l7_pkt_max_fwd", "int64", "zero", "bytes"),
    ("size.l7_pkt_min_bwd", "int64", "zero", "bytes"),
    ("size.l7_pkt_max_bwd", "int64", "zero", "bytes"),
    ("size.pkt_asymmetry", "float64", "zero", ""),
    ("size.byte_asymmetry", "float64", "zero", ""),
];

/// `(id, dtype, missing_policy, units)` of `tcp`, rows of the reference's feature table.
const TCP: [(&str, &str, &str, &str); 26] = [
    ("tcp.tcp_is_tcp", "bool", "zero", ""),
    ("tcp.tcp_syn_count", "int64", "zero", "count"),
    ("tcp.tcp_synack_count", "int64", "zero", "count"),
    ("tcp.tcp_fin_count", "int64", "zero", "count"),
    ("tcp.tcp_rst_count", "int64", "zero", "count"),
    ("tcp.tcp_ack_count", "int64", "zero", "count"),
    ("tcp.tcp_psh_count", "int64", "zero", "count"),
    ("tcp.tcp_urg_count", "int64", "zero", "count"),
    ("tcp.tcp_ece_count", "int64", "zero", "count"),
    ("tcp.tcp_cwr_count", "int64", "zero", "count"),
    ("tcp.tcp_complete_handshake", "bool", "zero", ""),
    ("tcp.tcp_graceful_close", "bool", "zero", ""),
    ("tcp.tcp_reset_close", "bool", "zero", ""),
    ("tcp.tcp_syn_ratio", "float64", "zero", "ratio"),
    ("tcp.tcp_fin_ratio", "float64", "zero", "ratio"),
    ("tcp.tcp_rst_ratio", "float64", "zero", "ratio"),
    ("tcp.tcp_psh_ratio", "float64", "zero", "ratio"),
    ("tcp.tcp_data_packets", "int64", "zero", "count"),
    ("tcp.tcp_ack_only_packets", "int64", "zero", "count"),
    ("tcp.tcp_flags_anomaly", "bool", "zero", ""),
    ("tcp.tcp_initiator_syn", "bool", "zero", ""),
    ("tcp.tcp_responder_synack", "bool", "zero", ""),
    ("tcp.tcp_fstat", "int64", "zero", "bitmap"),
    ("tcp.tcp_flags_agg", "int64", "zero", "bitmap"),
    ("tcp.tcp_flags_fwd", "int64", "zero", "bitmap"),
    ("tcp.tcp_flags_bwd", "int64", "zero", "bitmap"),
];

fn check(info: &ExtractorInfo, group: &str, expected: &[(&str, &str, &str, &str)]) {
    assert_eq!(info.group.as_str(), group);
    assert_eq!(info.requirements, jj_plugin_api::Requirements::default());
    assert!(info.features.len() >= expected.len());
    for (m, (id, dtype, missing, units)) in info.features.iter().zip(expected) {
        assert_eq!(m.id.as_str(), *id);
        assert_eq!(format!("{group}.{}", m.name), *id);
        assert_eq!(m.dtype.as_str(), *dtype, "{id}");
        assert_eq!(m.missing_policy.as_str(), *missing, "{id}");
        assert_eq!(m.missing_sentinel.as_str(), "null", "{id}");
        assert_eq!(m.units.as_str(), *units, "{id}");
        assert_eq!(m.profile.as_str(), "JJ-CORE", "{id}");
        assert_eq!(m.privacy_level.as_str(), "safe", "{id}");
        assert_eq!(m.shape.as_slice(), &[1], "{id}");
        assert!(
            !m.description.is_empty() && !m.direction_semantics.is_empty(),
            "{id}"
        );
        let name = m.name.as_str();
        let direction = if name.contains("_fwd") || name == "tcp_initiator_syn" {
            "src_to_dst"
        } else if name.contains("_bwd")
            || name == "tcp_responder_synack"
            || name == "first_response_time"
        {
            "dst_to_src"
        } else {
            "bidir"
        };
        assert_eq!(m.direction.as_str(), direction, "{id}");
        let deps: Vec<&str> = m.dependencies.iter().map(|d| d.as_str()).collect();
        assert_eq!(deps, [if group == "tcp" { "tcp" } else { "ip" }], "{id}");
    }
}

#[test]
fn timing_matches_the_feature_table() {
    let info = TimingFactory.describe(&Options::new()).unwrap();
    assert_eq!(info.features.len(), 31);
    check(&info, "timing", &TIMING);
    for m in info.features.iter() {
        let burst = [
            "burst_count",
            "avg_burst_packets",
            "avg_burst_duration",
            "max_burst_packets",
            "idle_count",
            "avg_idle_duration",
            "max_idle_duration",
        ]
        .contains(&m.name.as_str());
        let want = if burst {
            "burst"
        } else if m.name.contains("_fwd") || m.name.contains("_bwd") {
            "direction"
        } else {
            "flow"
        };
        assert_eq!(m.scope.as_str(), want, "{}", m.name);
    }
}

#[test]
fn size_matches_the_feature_table() {
    let info = SizeFactory.describe(&Options::new()).unwrap();
    assert_eq!(info.features.len(), 42);
    check(&info, "size", &SIZE);
}

#[test]
fn tcp_matches_the_feature_table() {
    let info = TcpFactory.describe(&Options::new()).unwrap();
    assert_eq!(info.features.len(), 26);
    check(&info, "tcp", &TCP);
    // the options never change the tcp list
    let o = Options::parse("include_sequences=true\ninclude_splt=true\ncompat=joyfuljay\n");
    assert_eq!(TcpFactory.describe(&o).unwrap(), info);
}

#[test]
fn optional_columns_follow_the_options() {
    let names = |info: ExtractorInfo| -> Vec<String> {
        info.features.iter().map(|m| m.name.to_string()).collect()
    };
    let opts = |t: &str| Options::parse(t);

    // timing: sequences, then SPLT, after the 31 fixed columns
    let seq = TimingFactory
        .describe(&opts("include_sequences=true\nmax_sequence_length=7\n"))
        .unwrap();
    check(&seq, "timing", &TIMING);
    assert_eq!(
        names(seq.clone())[31..],
        ["iat_sequence", "timestamp_sequence"]
    );
    for m in &seq.features[31..] {
        assert_eq!(m.dtype.as_str(), "list<float64>");
        assert_eq!(m.shape.as_slice(), &[7], "padded to max_sequence_length");
        assert_eq!((m.units.as_str(), m.scope.as_str()), ("s", "packet_seq"));
        assert_eq!(m.missing_policy.as_str(), "zero");
    }
    let both = TimingFactory
        .describe(&opts("include_sequences=1\ninclude_splt=true\n"))
        .unwrap();
    assert_eq!(
        names(both.clone())[31..],
        [
            "iat_sequence",
            "timestamp_sequence",
            "splt",
            "splt_lengths",
            "splt_times",
            "splt_directions"
        ]
    );
    let kinds: Vec<(&str, &[i64], &str)> = both.features[33..]
        .iter()
        .map(|m| {
            (
                m.dtype.as_str(),
                m.shape.as_slice(),
                m.missing_policy.as_str(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("string", &[1][..], "empty"),
            ("list<int64>", &[][..], "zero"),
            ("list<float64>", &[][..], "zero"),
            ("list<int64>", &[][..], "zero"),
        ]
    );
    let splt_only = TimingFactory.describe(&opts("include_splt=true")).unwrap();
    assert_eq!(
        names(splt_only)[31..],
        ["splt", "splt_lengths", "splt_times", "splt_directions"]
    );
    // the JoyfulJay option name works too
    assert_eq!(
        TimingFactory
            .describe(&opts("include_raw_sequences=true"))
            .unwrap()
            .features
            .len(),
        33
    );

    // size: one signed int sequence
    let size = SizeFactory
        .describe(&opts("include_sequences=true\ninclude_splt=true\n"))
        .unwrap();
    check(&size, "size", &SIZE);
    assert_eq!(names(size.clone())[42..], ["pkt_len_sequence"]);
    let m = &size.features[42];
    assert_eq!(
        (m.dtype.as_str(), m.shape.as_slice(), m.units.as_str()),
        ("list<int64>", &[50][..], "bytes")
    );

    // compat changes values, never columns
    for (a, b) in [
        (
            TimingFactory.describe(&opts("compat=joyfuljay")).unwrap(),
            TimingFactory.describe(&Options::new()).unwrap(),
        ),
        (
            SizeFactory.describe(&opts("compat=joyfuljay")).unwrap(),
            SizeFactory.describe(&Options::new()).unwrap(),
        ),
    ] {
        assert_eq!(a, b);
    }
}

#[test]
fn bad_options_are_refused_by_all_three() {
    for text in [
        "burst_threshold_ms=0",
        "burst_threshold_ms=-1",
        "burst_threshold_ms=abc",
        "max_sequence_length=0",
        "max_sequence_length=many",
        "include_sequences=perhaps",
        "include_splt=2",
        "compat=tranalyzer",
    ] {
        let msgs = [
            config_error(&TimingFactory, text).message,
            config_error(&SizeFactory, text).message,
            config_error(&TcpFactory, text).message,
        ];
        for (m, group) in msgs.iter().zip(["timing", "size", "tcp"]) {
            assert!(m.starts_with(&format!("{group}: ")), "{m}");
            let key = text.split('=').next().unwrap();
            assert!(m.contains(key), "{m}");
        }
    }
}
