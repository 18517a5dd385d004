//! Small graphs whose values are worked out by hand in the comments. Floats are compared
//! bit for bit against the same arithmetic written out (`1.0 / 12.0`, ...).
use super::*;

fn g(n: usize, edges: &[(u32, u32)]) -> DiGraph {
    DiGraph::from_edges(n, edges)
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn degrees(g: &DiGraph) -> (Vec<usize>, Vec<usize>) {
    let n = g.node_count() as u32;
    (
        (0..n).map(|v| g.out_degree(v)).collect(),
        (0..n).map(|v| g.in_degree(v)).collect(),
    )
}

#[test]
fn node_ids_are_first_seen_order() {
    let mut ids = NodeIds::new();
    assert_eq!(ids.id("b"), 0);
    assert_eq!(ids.id("a"), 1);
    assert_eq!(ids.id("b"), 0);
    assert_eq!(ids.id("c"), 2);
    assert_eq!(ids.get(&"a"), Some(1));
    assert_eq!(ids.get(&"z"), None);
    assert_eq!(ids.len(), 3);
    ids.clear();
    assert!(ids.is_empty());
    assert_eq!(ids.id("c"), 0);
}

#[test]
fn csr_keeps_edge_order() {
    // 0→2 created before 0→1: successors of 0 are [2, 1]; predecessors of 1: [2, 0].
    let gr = g(3, &[(0, 2), (0, 1), (2, 1)]);
    assert_eq!(gr.successors(0), &[2, 1]);
    assert_eq!(gr.successors(1), &[] as &[u32]);
    assert_eq!(gr.predecessors(1), &[0, 2]);
    assert_eq!(gr.predecessors(2), &[0]);
}

/// Path a→b→c. The only pair with an intermediate node is (a, c), through b: raw
/// betweenness b = 1, scaled by 1/((3−1)(3−2)) = 1/2 → 0.5. Degrees: out 1,1,0, in
/// 0,1,1. Undirected it is a path: no triangle, clustering 0 everywhere.
#[test]
fn path_of_three() {
    let gr = g(3, &[(0, 1), (1, 2)]);
    assert_eq!(bits(&betweenness(&gr)), bits(&[0.0, 0.5, 0.0]));
    assert_eq!(degrees(&gr), (vec![1, 1, 0], vec![0, 1, 1]));
    assert_eq!(bits(&clustering(&gr)), bits(&[0.0, 0.0, 0.0]));
}

/// Directed cycle 0→1→2→0. Pairs with an intermediate node: (0,2) via 1, (1,0) via 2,
/// (2,1) via 0: raw 1 each, × 1/2 → 0.5 each. Undirected it is a triangle: every node
/// has d = 2 and T = 1 → 2·1/(2·1) = 1.0.
#[test]
fn triangle() {
    let gr = g(3, &[(0, 1), (1, 2), (2, 0)]);
    assert_eq!(bits(&betweenness(&gr)), bits(&[0.5, 0.5, 0.5]));
    assert_eq!(bits(&clustering(&gr)), bits(&[1.0, 1.0, 1.0]));
    assert_eq!(degrees(&gr), (vec![1, 1, 1], vec![1, 1, 1]));
}

/// Bidirectional star: hub 0 ⇄ leaves 1..4 (n = 5). Every ordered pair of distinct
/// leaves (4·3 = 12) has exactly one shortest path, leaf→0→leaf: raw 12 for the hub,
/// scaled by 1/((5−1)(5−2)) = 1/12 → 1.0; leaves 0. Out/in degree of the hub 4, of a
/// leaf 1. No triangles: clustering 0 (the hub has d = 4, leaves d = 1).
#[test]
fn bidirectional_star() {
    let mut edges = Vec::new();
    for leaf in 1..=4 {
        edges.push((0, leaf));
        edges.push((leaf, 0));
    }
    let gr = g(5, &edges);
    assert_eq!(bits(&betweenness(&gr)), bits(&[1.0, 0.0, 0.0, 0.0, 0.0]));
    assert_eq!(degrees(&gr), (vec![4, 1, 1, 1, 1], vec![4, 1, 1, 1, 1]));
    assert_eq!(bits(&clustering(&gr)), bits(&[0.0; 5]));
}

/// Out-star 0→1..4: no node is between two others (leaves have no successors), so
/// every betweenness is 0.
#[test]
fn out_star_has_no_betweenness() {
    let gr = g(5, &[(0, 1), (0, 2), (0, 3), (0, 4)]);
    assert_eq!(bits(&betweenness(&gr)), bits(&[0.0; 5]));
    assert_eq!(degrees(&gr), (vec![4, 0, 0, 0, 0], vec![0, 1, 1, 1, 1]));
}

/// Diamond 0→1, 0→2, 1→3, 2→3 (n = 4): the pair (0,3) has two shortest paths, via 1
/// and via 2, so each gets 1/2; no other pair has an intermediate node. Scaled by
/// 1/((4−1)(4−2)) = 1/6 → 1/12 for nodes 1 and 2. Undirected it is a 4-cycle: no
/// triangle, clustering 0.
#[test]
fn diamond_splits_paths() {
    let gr = g(4, &[(0, 1), (0, 2), (1, 3), (2, 3)]);
    assert_eq!(
        bits(&betweenness(&gr)),
        bits(&[0.0, 1.0 / 12.0, 1.0 / 12.0, 0.0])
    );
    assert_eq!(bits(&clustering(&gr)), bits(&[0.0; 4]));
}

/// Path 0→1→2→3 (n = 4): node 1 lies on (0,2) and (0,3), node 2 on (0,3) and (1,3):
/// raw 2 each, × 1/6 → 1/3.
#[test]
fn longer_path() {
    let gr = g(4, &[(0, 1), (1, 2), (2, 3)]);
    let third = 2.0 * (1.0 / 6.0);
    assert_eq!(bits(&betweenness(&gr)), bits(&[0.0, third, third, 0.0]));
}

/// Two nodes (n = 2): no scaling (NetworkX leaves values unscaled for n ≤ 2) and no
/// pair has an intermediate node: 0.
#[test]
fn two_nodes() {
    let gr = g(2, &[(0, 1), (1, 0)]);
    assert_eq!(bits(&betweenness(&gr)), bits(&[0.0, 0.0]));
    assert_eq!(degrees(&gr), (vec![1, 1], vec![1, 1]));
}

/// Self loops (a flow from a node to itself): the loop counts once in the node's out-
/// and in-degree (NetworkX DiGraph: the node is its own successor and predecessor),
/// is never on a shortest path, and is ignored by clustering.
/// Triangle 0→1→2→0 plus loop 0→0: degrees of 0 are out 2 (1 and itself), in 2 (2 and
/// itself); betweenness stays 0.5 each (see `triangle`); clustering stays 1.0 (d = 2).
#[test]
fn self_loops() {
    let gr = g(3, &[(0, 0), (0, 1), (1, 2), (2, 0)]);
    assert_eq!(degrees(&gr), (vec![2, 1, 1], vec![2, 1, 1]));
    assert_eq!(bits(&betweenness(&gr)), bits(&[0.5, 0.5, 0.5]));
    assert_eq!(bits(&clustering(&gr)), bits(&[1.0, 1.0, 1.0]));
    // A lone loop: one node, degree 1 each way, no betweenness, clustering 0.
    let lone = g(1, &[(0, 0)]);
    assert_eq!(degrees(&lone), (vec![1], vec![1]));
    assert_eq!(bits(&betweenness(&lone)), bits(&[0.0]));
    assert_eq!(bits(&clustering(&lone)), bits(&[0.0]));
}

/// Node 0 linked to 1, 2, 3 (0⇄1 reciprocal: one undirected edge), plus 2→1.
/// Undirected: 0–1, 0–2, 0–3, 1–2. Node 0: d = 3, one triangle (0,1,2) → 2/(3·2) = 1/3.
/// Nodes 1 and 2: d = 2, T = 1 → 1.0. Node 3: d = 1 → 0.
#[test]
fn clustering_with_reciprocal_edges() {
    let gr = g(4, &[(0, 1), (1, 0), (0, 2), (0, 3), (2, 1)]);
    assert_eq!(bits(&clustering(&gr)), bits(&[2.0 / 6.0, 1.0, 1.0, 0.0]));
    assert_eq!(degrees(&gr), (vec![3, 1, 1, 0], vec![1, 2, 1, 1]));
}

/// K4 (edges i→j for i < j): undirected complete graph, every node d = 3 with
/// T = 3 triangles → 2·3/(3·2) = 1.0.
#[test]
fn complete_graph_clustering() {
    let gr = g(4, &[(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]);
    assert_eq!(bits(&clustering(&gr)), bits(&[1.0; 4]));
}

/// Two triangles {0,1,2} and {3,4,5} joined by 2→3, every edge weight 1 (m = 7).
/// Louvain, nodes in order (gains `w/m − Σtot·k/(2m²)`, 2m² = 98):
/// pass 1: 0 joins 1's community (1/7 − 4/98 > 1/7 − 6/98 for 2's); 1 stays; 2 joins
/// {0,1} (2/7 − 12/98 = 0.163); 3 joins 4 (1/7 − 6/98, first of two equal gains);
/// 4 moves to 5 (−1/7 + 6/98 + 1/7 − 4/98 = 0.0204 > 0); 5 stays.
/// pass 2: 3 joins {4,5} (2/7 − 12/98 = 0.163); pass 3: no move.
/// Level 2 (two nodes, self loops 3, link 1): joining costs 1/7 − 49/98 < 0, no move.
/// Result {0,1,2}, {3,4,5}.
#[test]
fn louvain_two_triangles() {
    let gr = g(6, &[(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 5), (5, 3)]);
    assert_eq!(louvain(&gr, &[1; 7]), vec![0, 0, 0, 1, 1, 1]);
}

/// Two separate edges 0→1, 2→3 (m = 2): 0 joins 1 (1/2 − 1/8 > 0), 1 stays (gain
/// exactly 0, not an improvement), likewise 2 and 3. Modularity −4/16 → 2·(1/2 − 4/16)
/// = 0.5, then the level of two isolated nodes moves nothing. Result {0,1}, {2,3}.
#[test]
fn louvain_components() {
    let gr = g(4, &[(0, 1), (2, 3)]);
    assert_eq!(louvain(&gr, &[1, 1]), vec![0, 0, 1, 1]);
}

/// A lone self loop: one node, one community. A graph without edges: singletons.
#[test]
fn louvain_degenerate() {
    assert_eq!(louvain(&g(1, &[(0, 0)]), &[3]), vec![0]);
    assert_eq!(louvain(&g(0, &[]), &[]), Vec::<u32>::new());
    assert_eq!(louvain(&g(2, &[]), &[]), vec![0, 1]);
}

/// Weights decide: path 0–1–2 where 1–2 carries 10 flows and 0–1 one flow (m = 11,
/// 2m² = 242; degrees 1, 11, 10). Pass 1: node 0 joins 1 (1/11 − 11/242 = 0.045 > 0);
/// node 1 (Σtot of its community 1 after removal, remove cost −1/11 + 11/242 = −0.045)
/// moves to 2: −0.045 + 10/11 − 110/242 = 0.41 > 0 (its own ≈ 0); node 2 stays (own
/// ≈ 0, no other neighbour community). Pass 2: node 0, alone, joins {1,2} (Σtot 21):
/// 1/11 − 21/242 = 0.0041 > 0. Pass 3: no move. One community.
#[test]
fn louvain_uses_flow_counts() {
    let gr = g(3, &[(0, 1), (1, 2)]);
    assert_eq!(louvain(&gr, &[1, 10]), vec![0, 0, 0]);
}

/// Two triangles joined by 2–3 (undirected degrees 2,2,3,3,2,2). Largest degree first:
/// 2, 3, 0, 1, 4, 5 → colours 2:0, 3:1, 0:1, 1:2, 4:0, 5:2.
/// Round 1: colour 0: node 2 sees labels 0,1,3 (tie, own 2 not among them) → max 3;
/// node 4 sees 3,5 → 5. Colour 1: node 0 sees 1,3 → 3; node 3 sees 3,5,5 → 5.
/// Colour 2: node 1 sees 3,3 → 3; node 5 sees 5,5 → 5. Labels 3,3,3,5,5,5: every label
/// is its neighbours' most frequent, done. Renumbered: 0,0,0,1,1,1.
#[test]
fn label_propagation_two_triangles() {
    let gr = g(6, &[(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 5), (5, 3)]);
    assert_eq!(label_propagation(&gr), vec![0, 0, 0, 1, 1, 1]);
}

/// An isolated node keeps its own label; a lone self loop votes for itself.
#[test]
fn label_propagation_degenerate() {
    assert_eq!(label_propagation(&g(3, &[(0, 1)])), vec![0, 0, 1]);
    assert_eq!(label_propagation(&g(1, &[(0, 0)])), vec![0]);
}

#[test]
fn renumber_by_first_node() {
    assert_eq!(renumber(&[5, 5, 2, 5, 2, 7]), vec![0, 0, 1, 0, 1, 2]);
}

/// Window counters: flows (node ids) 0→1 port 80 (2 pkts, 100 B), 0→1 port 443
/// (3, 200), 0→2 port 80 (1, 50), 2→1 port 80 (4, 400).
/// Node 0: 3 flows out, packets 2+3+1 = 6, bytes 350, ports {80, 443} → 2, responders
/// {1, 2} → 2. Node 1: 3 flows in, packets 2+3+4 = 9, bytes 700, initiators {0, 2}.
/// Flow 0: edge 0→1 carries 2 flows, 1 of them to port 80.
/// Graph 0→1, 0→2, 2→1 (n = 3): every reachable pair is adjacent, so betweenness is 0;
/// undirected it is a triangle: clustering 1.0 everywhere.
#[test]
fn window_counters() {
    let mut w = Window::new();
    let rec = |src, dst, dst_port, packets, bytes| FlowRecord {
        src,
        dst,
        dst_port,
        packets,
        bytes,
    };
    w.push(rec(0, 1, 80, 2, 100));
    w.push(rec(0, 1, 443, 3, 200));
    w.push(rec(0, 2, 80, 1, 50));
    w.push(rec(2, 1, 80, 4, 400));
    let m = w.compute(GraphOptions {
        graph_metrics: true,
        communities: CommunityAlgorithm::Louvain,
    });
    let f = m.flow(0);
    assert_eq!(f.src_unique_dsts, 2);
    assert_eq!(f.dst_unique_srcs, 2);
    assert_eq!(f.src_dst_flows, 2);
    assert_eq!(f.src_port_flows, 1);
    assert_eq!(f.src_total_flows, 3);
    assert_eq!(f.dst_total_flows, 3);
    assert_eq!(f.src_total_packets, 6);
    assert_eq!(f.src_total_bytes, 350);
    assert_eq!(f.dst_total_packets, 9);
    assert_eq!(f.dst_total_bytes, 700);
    assert_eq!(f.src_unique_ports, 2);
    assert_eq!((f.src_out_degree, f.dst_in_degree), (2, 2));
    assert_eq!(f.src_betweenness.to_bits(), 0.0f64.to_bits());
    assert_eq!(f.src_clustering.to_bits(), 1.0f64.to_bits());
    // One triangle: Louvain puts the three nodes together.
    assert_eq!(
        (f.src_community, f.dst_community, f.same_community),
        (0, 0, true)
    );
    // Flow 3 (2→1, port 80): edge 2→1 has 1 flow; node 2 initiated 1 flow (4 pkts).
    let f = m.flow(3);
    assert_eq!(
        (f.src_dst_flows, f.src_port_flows, f.src_total_flows),
        (1, 1, 1)
    );
    assert_eq!((f.src_total_packets, f.src_unique_ports), (4, 1));

    // Without graph metrics, communities are missing.
    let m = w.compute(GraphOptions {
        graph_metrics: false,
        communities: CommunityAlgorithm::Louvain,
    });
    let f = m.flow(0);
    assert_eq!(
        (f.src_community, f.dst_community, f.same_community),
        (-1, -1, false)
    );
    let m = w.compute(GraphOptions {
        graph_metrics: true,
        communities: CommunityAlgorithm::None,
    });
    assert_eq!(m.flow(1).src_community, -1);
    assert!(!m.flow(1).same_community);
}

#[test]
fn community_option_values() {
    assert_eq!(
        CommunityAlgorithm::parse("louvain"),
        Some(CommunityAlgorithm::Louvain)
    );
    assert_eq!(
        CommunityAlgorithm::parse("Label_Propagation"),
        Some(CommunityAlgorithm::LabelPropagation)
    );
    assert_eq!(
        CommunityAlgorithm::parse("none"),
        Some(CommunityAlgorithm::None)
    );
    assert_eq!(CommunityAlgorithm::parse("greedy"), None);
}

/// Betweenness on a larger graph against a plain O(V³) reference: count, for every
/// ordered pair (s, t), the shortest s→t paths through v via BFS path counts
/// (σ_st(v) = σ_sv·σ_vt when d(s,v) + d(v,t) = d(s,t)).
#[test]
fn betweenness_matches_pair_counting() {
    // A deterministic pseudo-random digraph on 30 nodes.
    let n = 30usize;
    let mut edges = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut rng = jj_kit::testutil::XorShift64(0x9E37_79B9_7F4A_7C15);
    for _ in 0..90 {
        let x = rng.next_u64();
        let u = (x % n as u64) as u32;
        let v = ((x >> 20) % n as u64) as u32;
        if seen.insert((u, v)) {
            edges.push((u, v));
        }
    }
    let gr = g(n, &edges);
    // All-pairs BFS distances and path counts.
    let mut dist = vec![vec![u32::MAX; n]; n];
    let mut sig = vec![vec![0f64; n]; n];
    for s in 0..n {
        dist[s][s] = 0;
        sig[s][s] = 1.0;
        let mut q = std::collections::VecDeque::from([s]);
        while let Some(v) = q.pop_front() {
            for &w in gr.successors(v as u32) {
                let w = w as usize;
                if dist[s][w] == u32::MAX {
                    dist[s][w] = dist[s][v] + 1;
                    q.push_back(w);
                }
                if dist[s][w] == dist[s][v] + 1 {
                    sig[s][w] += sig[s][v];
                }
            }
        }
    }
    let bc = betweenness(&gr);
    for v in 0..n {
        let mut raw = 0.0;
        for s in 0..n {
            for t in 0..n {
                if s == t || s == v || t == v || dist[s][t] == u32::MAX {
                    continue;
                }
                if dist[s][v] != u32::MAX
                    && dist[v][t] != u32::MAX
                    && dist[s][v] + dist[v][t] == dist[s][t]
                {
                    raw += sig[s][v] * sig[v][t] / sig[s][t];
                }
            }
        }
        let expected = raw / ((n - 1) * (n - 2)) as f64;
        assert!(
            (bc[v] - expected).abs() <= 1e-12 * expected.abs().max(1.0),
            "node {v}: {} vs {expected}",
            bc[v]
        );
    }
}
