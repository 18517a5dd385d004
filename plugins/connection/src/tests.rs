//! The extractor end to end on hand-built flows: pass 1 (`extract` on full views), then
//! pass 2 (`observe_row` for every flow, `finish_row` for each) on views without
//! packets, as the host runs it. Expected values are worked out in the comments.
use super::*;
use jj_kit::testutil::*;
use jj_plugin_api::{ErrorKind, DIR_BWD, DIR_FWD};

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 2];
const C: [u8; 4] = [10, 0, 0, 3];

/// A flow `src:sport → dst:dport` whose packets have the given IP lengths, 1 ms apart
/// from `t0`, alternating directions.
fn flow(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, t0: i64, lens: &[u32]) -> TestFlow {
    let pkts = lens
        .iter()
        .enumerate()
        .map(|(i, &len)| {
            let dir = if i % 2 == 0 { DIR_FWD } else { DIR_BWD };
            pkt(t0 + i as i64 * MS, dir, len, 0, 0)
        })
        .collect();
    TestFlow::tcp4(pkts).endpoints(4, (v4(src), sport), (v4(dst), dport))
}

fn options(pairs: &[(&str, &str)]) -> Options {
    let mut o = Options::new();
    for (k, v) in pairs {
        o.set(k, v);
    }
    o
}

/// Runs both passes over one window; returns the final rows.
fn run_window(ex: &mut Connection, flows: &[TestFlow]) -> Vec<Vec<Value>> {
    let cols = ex.cfg.columns();
    let scratch: Vec<Vec<Value>> = flows
        .iter()
        .map(|f| {
            let mut out = vec![Value::Null; cols];
            ex.extract(&f.view(), &mut out).unwrap();
            out
        })
        .collect();
    // Pass 2 sees no packets.
    let keys: Vec<TestFlow> = flows
        .iter()
        .map(|f| {
            let mut k = f.clone();
            k.packets.clear();
            k
        })
        .collect();
    for (k, s) in keys.iter().zip(&scratch) {
        ex.observe_row(&k.view(), s).unwrap();
    }
    keys.iter()
        .zip(scratch)
        .map(|(k, mut row)| {
            ex.finish_row(&k.view(), &mut row).unwrap();
            row
        })
        .collect()
}

fn ints(row: &[Value], range: std::ops::Range<usize>) -> Vec<i64> {
    row[range].iter().map(i).collect()
}

const NAMES: [&str; 20] = [
    "conn_src_unique_dsts",
    "conn_dst_unique_srcs",
    "conn_src_dst_flows",
    "conn_src_port_flows",
    "conn_src_total_flows",
    "conn_dst_total_flows",
    "conn_src_total_packets",
    "conn_src_total_bytes",
    "conn_dst_total_packets",
    "conn_dst_total_bytes",
    "conn_src_unique_ports",
    "conn_src_out_degree",
    "conn_dst_in_degree",
    "conn_src_betweenness",
    "conn_dst_betweenness",
    "conn_src_community",
    "conn_dst_community",
    "conn_same_community",
    "conn_src_clustering",
    "conn_dst_clustering",
];

#[test]
fn describe_lists_the_20_features() {
    let info = ConnectionFactory.describe(&Options::new()).unwrap();
    assert_eq!(info.group.as_str(), "connection");
    let names: Vec<&str> = info.features.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, NAMES);
    for f in info.features.iter() {
        assert_eq!(f.id.as_str(), format!("connection.{}", f.name));
        assert_eq!(f.profile.as_str(), "JJ-EXPERIMENTAL");
        let expected = match f.name.as_str() {
            "conn_src_betweenness"
            | "conn_dst_betweenness"
            | "conn_src_clustering"
            | "conn_dst_clustering" => DType::Float64,
            "conn_same_community" => DType::Bool,
            _ => DType::Int64,
        };
        assert_eq!(f.dtype, expected, "{}", f.name);
        let (policy, sentinel) =
            if f.name.ends_with("_community") && f.name != "conn_same_community" {
                ("sentinel", "-1")
            } else {
                ("zero", "null")
            };
        assert_eq!(
            (f.missing_policy.as_str(), f.missing_sentinel.as_str()),
            (policy, sentinel)
        );
    }
    assert_eq!(info.features[7].units.as_str(), "bytes");
    assert_eq!(info.features[0].units.as_str(), "count");
    let r = info.requirements;
    assert_eq!(r.needs_all_flows, 1);
    assert_eq!(
        (
            r.payload_bytes_per_packet,
            r.payload_bytes_per_direction,
            r.stream_bytes_per_direction,
            r.tcp_option_bytes
        ),
        (0, 0, 0, 0)
    );
}

#[test]
fn options_change_the_columns() {
    let no_graph = ConnectionFactory
        .describe(&options(&[("connection_include_graph_metrics", "false")]))
        .unwrap();
    let names: Vec<&str> = no_graph.features.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, NAMES[..11]);
    let temporal = ConnectionFactory
        .describe(&options(&[("connection_include_temporal", "true")]))
        .unwrap();
    let names: Vec<&str> = temporal.features.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names[..20], NAMES);
    assert_eq!(
        names[20..],
        [
            "conn_src_flow_rate",
            "conn_temporal_spread",
            "conn_burst_connections"
        ]
    );
}

#[test]
fn bad_options_are_config_errors() {
    for (k, v) in [
        ("connection_community_algorithm", "greedy_modularity"),
        ("connection_community_algorithm", ""),
        ("connection_use_ports", "maybe"),
        ("connection_include_graph_metrics", "2"),
    ] {
        let o = options(&[(k, v)]);
        let e = ConnectionFactory.describe(&o).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config, "{k}={v}");
        assert!(e.message.as_str().contains(k), "{}", e.message);
        assert!(ConnectionFactory.create(&o).is_err());
    }
    let e = ConnectionFactory
        .describe(&options(&[(
            "connection_community_algorithm",
            "modularity",
        )]))
        .unwrap_err();
    assert!(
        e.message
            .as_str()
            .contains("louvain, greedy, label_propagation or none"),
        "{}",
        e.message
    );
    for v in ["louvain", "greedy", "label_propagation", "none"] {
        ConnectionFactory
            .create(&options(&[("connection_community_algorithm", v)]))
            .unwrap();
    }
}

/// Pass 1 writes packets, bytes (Σ IP total length, both directions), first and last
/// packet time, and nulls the other slots.
#[test]
fn pass_one_writes_scratch() {
    let mut ex = Connection::new();
    let f = flow(A, 1000, B, 80, T0, &[60, 100, 40]);
    let mut out = vec![Value::Float(9.0); 20];
    ex.extract(&f.view(), &mut out).unwrap();
    assert_eq!(ints(&out, 0..4), [3, 200, T0, T0 + 2 * MS]);
    assert!(out[4..].iter().all(|v| *v == Value::Null));
    let mut short = vec![Value::Null; 19];
    assert!(ex.extract(&f.view(), &mut short).is_err());
}

/// Window: f0 A:1000→B:80 (3 packets, 60+100+40 = 200 B), f1 A:1001→B:443 (2, 100 B),
/// f2 B:2000→C:53 (1, 80 B), f3 C:3000→A:22 (4, 40 B).
/// Nodes A, B, C; graph A→B, B→C, C→A: a directed 3-cycle, so betweenness 0.5 each
/// (see graph tests) and clustering 1.0 each. Louvain with weights A–B 2, B–C 1, C–A 1
/// (m = 4): A joins B (2/4 − 9/32 > 1/4 − 6/32), B stays, C joins them (2/4 − 12/32 >
/// 0): one community, index 0.
/// A: initiated 2 flows, 5 packets, 300 B, ports {80, 443}; responded to f3 (4, 40 B).
/// B: initiated f2 (1, 80 B), responded to f0 and f1 (5, 300 B). C: initiated f3,
/// responded to f2.
fn triangle() -> Vec<TestFlow> {
    vec![
        flow(A, 1000, B, 80, T0, &[60, 100, 40]),
        flow(A, 1001, B, 443, T0 + 10 * MS, &[50, 50]),
        flow(B, 2000, C, 53, T0 + 20 * MS, &[80]),
        flow(C, 3000, A, 22, T0 + 30 * MS, &[10, 10, 10, 10]),
    ]
}

#[test]
fn two_passes_over_a_triangle() {
    let mut ex = Connection::new();
    let rows = run_window(&mut ex, &triangle());
    // f0: unique dsts of A {B}, unique srcs of B {A}, 2 flows A→B, 1 of them to port
    // 80, A initiated 2, B responded to 2, A sent 5/300, B received 5/300, A's ports 2,
    // out-degree of A 1, in-degree of B 1.
    assert_eq!(
        ints(&rows[0], 0..13),
        [1, 1, 2, 1, 2, 2, 5, 300, 5, 300, 2, 1, 1]
    );
    assert_eq!(
        ints(&rows[1], 0..13),
        [1, 1, 2, 1, 2, 2, 5, 300, 5, 300, 2, 1, 1]
    );
    // f2: B initiated 1 flow (1 packet, 80 B) to C, which responded to 1 (the same).
    assert_eq!(
        ints(&rows[2], 0..13),
        [1, 1, 1, 1, 1, 1, 1, 80, 1, 80, 1, 1, 1]
    );
    // f3: C initiated 1 (4, 40 B) to A, which responded to 1 (the same).
    assert_eq!(
        ints(&rows[3], 0..13),
        [1, 1, 1, 1, 1, 1, 4, 40, 4, 40, 1, 1, 1]
    );
    for row in &rows {
        assert_eq!((f(&row[13]), f(&row[14])), (b(0.5), b(0.5)));
        assert_eq!((i(&row[15]), i(&row[16]), bl(&row[17])), (0, 0, true));
        assert_eq!((f(&row[18]), f(&row[19])), (b(1.0), b(1.0)));
    }
}

/// After the `finish_row`s, the next `observe_row` starts a new window: only f2
/// (B→C): 2 nodes, so no scaling and no intermediate node (betweenness 0), no
/// triangle (clustering 0), one edge → one community.
#[test]
fn a_new_window_starts_afresh() {
    let mut ex = Connection::new();
    run_window(&mut ex, &triangle());
    let rows = run_window(&mut ex, &triangle()[2..3]);
    assert_eq!(
        ints(&rows[0], 0..13),
        [1, 1, 1, 1, 1, 1, 1, 80, 1, 80, 1, 1, 1]
    );
    assert_eq!((f(&rows[0][13]), f(&rows[0][14])), (b(0.0), b(0.0)));
    assert_eq!(
        (i(&rows[0][15]), i(&rows[0][16]), bl(&rows[0][17])),
        (0, 0, true)
    );
    assert_eq!((f(&rows[0][18]), f(&rows[0][19])), (b(0.0), b(0.0)));
    // And the same instance gives the same rows for the same window again.
    let again = run_window(&mut ex, &triangle());
    assert_eq!(again, run_window(&mut Connection::new(), &triangle()));
}

/// With `connection_use_ports`, every endpoint of the triangle is its own node: 8
/// nodes, 4 disjoint edges. Each flow: 1 responder, 1 initiator, 1 flow on its edge,
/// its own packets and bytes on both sides. n = 8 > 2 but no path has an intermediate
/// node: betweenness 0. Communities: Louvain pairs each edge's two nodes; flows are
/// numbered by their initiator: 0, 1, 2, 3.
#[test]
fn use_ports_makes_endpoints_nodes() {
    let mut ex = ConnectionFactory
        .create(&options(&[("connection_use_ports", "true")]))
        .unwrap();
    let rows = run_window(&mut ex, &triangle());
    assert_eq!(
        ints(&rows[0], 0..13),
        [1, 1, 1, 1, 1, 1, 3, 200, 3, 200, 1, 1, 1]
    );
    assert_eq!(
        ints(&rows[1], 0..13),
        [1, 1, 1, 1, 1, 1, 2, 100, 2, 100, 1, 1, 1]
    );
    for (k, row) in rows.iter().enumerate() {
        assert_eq!(f(&row[13]), b(0.0));
        assert_eq!(
            (i(&row[15]), i(&row[16]), bl(&row[17])),
            (k as i64, k as i64, true)
        );
    }
}

#[test]
fn without_graph_metrics_only_counters() {
    let mut ex = ConnectionFactory
        .create(&options(&[("connection_include_graph_metrics", "false")]))
        .unwrap();
    let rows = run_window(&mut ex, &triangle());
    assert_eq!(rows[0].len(), 11);
    assert_eq!(ints(&rows[0], 0..11), [1, 1, 2, 1, 2, 2, 5, 300, 5, 300, 2]);
}

/// Communities off: −1, −1, not the same; the other graph metrics stay.
/// Label propagation on the triangle (colours 0, 1, 2 in node order): A sees labels
/// 1, 2 (tie, own 0 not among them) → 2; B sees 2, 2 → 2; C sees 2, 2 → 2: one
/// community, index 0.
#[test]
fn community_algorithms() {
    let mut none = ConnectionFactory
        .create(&options(&[("connection_community_algorithm", "none")]))
        .unwrap();
    let rows = run_window(&mut none, &triangle());
    assert_eq!(
        (i(&rows[0][15]), i(&rows[0][16]), bl(&rows[0][17])),
        (-1, -1, false)
    );
    assert_eq!(f(&rows[0][13]), b(0.5));
    let mut lp = ConnectionFactory
        .create(&options(&[(
            "connection_community_algorithm",
            "label_propagation",
        )]))
        .unwrap();
    let rows = run_window(&mut lp, &triangle());
    for row in &rows {
        assert_eq!((i(&row[15]), i(&row[16]), bl(&row[17])), (0, 0, true));
    }
}

/// A flow from A to A (same address, other ports) is a self loop: A's out- and
/// in-degree count it once; together with A→B: out-degree 2 (A, B), unique
/// responders 2; clustering 0 (the loop is ignored, A has one other neighbour).
#[test]
fn self_loop_flow() {
    let flows = [
        flow(A, 1000, A, 80, T0, &[60]),
        flow(A, 1001, B, 80, T0 + MS, &[60]),
    ];
    let rows = run_window(&mut Connection::new(), &flows);
    // Flow 0: A→A. unique dsts of A {A, B} = 2, unique srcs of A {A} = 1, 1 flow on
    // A→A, A initiated 2 flows (120 B), responded to 1 (60 B), ports {80} = 1,
    // out-degree 2, in-degree 1.
    assert_eq!(
        ints(&rows[0], 0..13),
        [2, 1, 1, 1, 2, 1, 2, 120, 1, 60, 1, 2, 1]
    );
    assert_eq!((f(&rows[0][18]), f(&rows[0][19])), (b(0.0), b(0.0)));
}

/// Temporal extras: A initiates f0 (T0 … T0+2 ms), f1 (T0+10 ms … T0+11 ms) and is the
/// responder of f3 (T0+30 ms … T0+33 ms). A's span: T0 → T0+33 ms, 2 initiated flows
/// → 2 / (s(T0+33ms) − s(T0)); starts T0, T0+10ms, T0+30ms → population std; all within
/// 1 s → burst 3.
#[test]
fn temporal_extras() {
    let mut ex = ConnectionFactory
        .create(&options(&[("connection_include_temporal", "true")]))
        .unwrap();
    let rows = run_window(&mut ex, &triangle());
    assert_eq!(rows[0].len(), 23);
    let s = ts_ns_to_secs;
    let rate = 2.0 / (s(T0 + 33 * MS) - s(T0));
    let starts = [s(T0), s(T0 + 10 * MS), s(T0 + 30 * MS)];
    assert_eq!(f(&rows[0][20]), b(rate));
    assert_eq!(f(&rows[0][21]), b(jj_kit::stats::pop_std(&starts)));
    assert_eq!(i(&rows[0][22]), 3);
}

/// A flow whose first pass failed (null scratch) still counts as a flow, with 0
/// packets and bytes.
#[test]
fn null_scratch_counts_as_zero() {
    let mut ex = Connection::new();
    let flows = triangle();
    let key = |f: &TestFlow| {
        let mut k = f.clone();
        k.packets.clear();
        k
    };
    let k0 = key(&flows[0]);
    let null = vec![Value::Null; 20];
    ex.observe_row(&k0.view(), &null).unwrap();
    let mut row = null.clone();
    ex.finish_row(&k0.view(), &mut row).unwrap();
    assert_eq!(ints(&row, 0..13), [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1]);
}

#[test]
fn protocol_errors() {
    let flows = triangle();
    let key = |f: &TestFlow| {
        let mut k = f.clone();
        k.packets.clear();
        k
    };
    let (k0, k2) = (key(&flows[0]), key(&flows[2]));
    let mut row = vec![Value::Null; 20];
    // finish_row before observe_row.
    assert!(Connection::new().finish_row(&k0.view(), &mut row).is_err());
    // Out of order.
    let mut ex = Connection::new();
    ex.observe_row(&k0.view(), &row.clone()).unwrap();
    ex.observe_row(&k2.view(), &row.clone()).unwrap();
    assert!(ex.finish_row(&k2.view(), &mut row).is_err());
    // Too many.
    let mut ex = Connection::new();
    ex.observe_row(&k0.view(), &row.clone()).unwrap();
    ex.finish_row(&k0.view(), &mut row).unwrap();
    assert!(ex.finish_row(&k0.view(), &mut row).is_err());
    // Wrong slot count.
    assert!(Connection::new()
        .observe_row(&k0.view(), &row[..5])
        .is_err());
}

/// IPv4 and IPv6 nodes never merge, and an IPv4 node ignores bytes 4..16 of the view.
#[test]
fn address_keys() {
    let mut v4_dirty = flow(A, 1000, B, 80, T0, &[60]);
    v4_dirty.src_ip[10] = 0xFF;
    let v4_clean = flow(A, 1001, B, 80, T0 + MS, &[60]);
    let mut v6 = flow(A, 1002, B, 80, T0 + 2 * MS, &[60]);
    v6.ip_version = 6;
    let rows = run_window(&mut Connection::new(), &[v4_dirty, v4_clean, v6]);
    // Flows 0 and 1 share the nodes A and B (2 flows on the edge); flow 2 is between
    // two other nodes.
    assert_eq!(i(&rows[0][2]), 2);
    assert_eq!(i(&rows[2][2]), 1);
}

/// Greedy modularity on the path N3 – N1 – N0 – N2 – N4 (nodes numbered in first-seen
/// order) breaks its ties by the nodes' address text, as NetworkX compares node labels.
/// Expected partitions from NetworkX 3.6.1 (`greedy_modularity_communities` on that
/// path with these labels): addresses ascending with node order → {N0, N1, N3},
/// {N2, N4}; descending → {N0, N2, N4}, {N1, N3}.
#[test]
fn greedy_breaks_ties_by_address_text() {
    let path = |addr: &dyn Fn(u8) -> [u8; 4]| {
        vec![
            flow(addr(0), 1000, addr(1), 80, T0, &[60]),
            flow(addr(0), 1001, addr(2), 80, T0 + MS, &[60]),
            flow(addr(1), 1002, addr(3), 80, T0 + 2 * MS, &[60]),
            flow(addr(2), 1003, addr(4), 80, T0 + 3 * MS, &[60]),
        ]
    };
    let communities = |flows: &[TestFlow]| {
        let mut ex = ConnectionFactory
            .create(&options(&[("connection_community_algorithm", "greedy")]))
            .unwrap();
        run_window(&mut ex, flows)
            .iter()
            .map(|r| (i(&r[15]), i(&r[16]), bl(&r[17])))
            .collect::<Vec<_>>()
    };
    // 10.0.0.1 … 10.0.0.5 in node order
    let up = communities(&path(&|k| [10, 0, 0, 1 + k]));
    assert_eq!(
        up,
        [(0, 0, true), (0, 1, false), (0, 0, true), (1, 1, true)]
    );
    // 10.0.0.5 … 10.0.0.1 in node order
    let down = communities(&path(&|k| [10, 0, 0, 5 - k]));
    assert_eq!(
        down,
        [(0, 1, false), (0, 0, true), (1, 1, true), (0, 0, true)]
    );
}

/// Every option the component reads is declared (so a `[plugins.*]` key the host rejects
/// is one it never reads), and every declared one is read.
#[test]
fn declares_exactly_the_options_it_reads() {
    let o = jj_plugin_api::Options::new();
    ConnectionFactory.describe(&o).unwrap();
    ConnectionFactory.create(&o).unwrap();
    jj_plugin_api::options::check_declared(option::ALL, &o).unwrap();
}
