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
    let m = w.compute(
        GraphOptions {
            graph_metrics: true,
            communities: CommunityAlgorithm::Louvain,
        },
        &[],
    );
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
    let m = w.compute(
        GraphOptions {
            graph_metrics: false,
            communities: CommunityAlgorithm::Louvain,
        },
        &[],
    );
    let f = m.flow(0);
    assert_eq!(
        (f.src_community, f.dst_community, f.same_community),
        (-1, -1, false)
    );
    let m = w.compute(
        GraphOptions {
            graph_metrics: true,
            communities: CommunityAlgorithm::None,
        },
        &[],
    );
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
    assert_eq!(
        CommunityAlgorithm::parse("greedy"),
        Some(CommunityAlgorithm::Greedy)
    );
    assert_eq!(CommunityAlgorithm::parse("greedy_modularity"), None);
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

/// Path a-b-c-d (nodes 0..4, labels in node order). m = 3, q0 = 1/3, degree shares
/// a = (1/6, 1/3, 1/3, 1/6); gains: a,b and c,d = 1/3 - 2/18 = 2/9, b,c = 1/3 - 2/9 = 1/9.
/// Best: (a, b) (a tie with (c, d), broken by labels): a joins b. Then b,c = 1/9 - 2·(1/6·1/3)
/// = 0, so (c, d) at 2/9 goes next: c joins d, and the only pair left gains
/// 0 - 2·(1/6·1/2) < 0: {a, b}, {c, d}.
#[test]
fn greedy_on_a_path() {
    let gr = g(4, &[(0, 1), (1, 2), (3, 2)]);
    assert_eq!(greedy_modularity(&gr, &[]), vec![0, 0, 1, 1]);
    assert_eq!(greedy_modularity(&gr, &[3, 2, 1, 0]), vec![0, 0, 1, 1]);
}

/// Two triangles joined by one edge split at that edge; no edges: every node alone.
#[test]
fn greedy_two_triangles_and_no_edges() {
    let gr = g(6, &[(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 5), (5, 3)]);
    assert_eq!(greedy_modularity(&gr, &[]), vec![0, 0, 0, 1, 1, 1]);
    assert_eq!(greedy_modularity(&g(3, &[]), &[]), vec![0, 1, 2]);
    // a self loop alone: one edge, nothing to merge
    assert_eq!(greedy_modularity(&g(2, &[(1, 1)]), &[]), vec![0, 1]);
}

/// The greedy communities of a graph stop only when every merge of two adjacent
/// communities would lower the modularity: checked on random graphs by recomputing the
/// gain of every adjacent pair from scratch (`e_ij/m·2 − 2·a_i·a_j` with the degree
/// shares `a`).
#[test]
fn greedy_stops_at_a_local_maximum() {
    let mut rng = jj_kit::testutil::XorShift64(0x6772_6565_6479);
    for _ in 0..200 {
        let n = 2 + rng.below(40) as usize;
        let mut seen = std::collections::HashSet::new();
        let mut edges = Vec::new();
        for _ in 0..rng.below(3 * n as u64) {
            let (u, v) = (rng.below(n as u64) as u32, rng.below(n as u64) as u32);
            if seen.insert((u, v)) {
                edges.push((u, v));
            }
        }
        let gr = g(n, &edges);
        let com = greedy_modularity(&gr, &[]);
        let (off, nbrs, self_loop) = gr.undirected();
        let m = (nbrs.len() / 2 + self_loop.iter().filter(|&&l| l).count()) as f64;
        if m == 0.0 {
            assert_eq!(com, (0..n as u32).collect::<Vec<_>>());
            continue;
        }
        let k = com.iter().max().map_or(0, |&c| c as usize + 1);
        let mut share = vec![0.0f64; k];
        let mut between = HashMap::new();
        for u in 0..n {
            let deg = (off[u + 1] - off[u]) as f64 + 2.0 * f64::from(u8::from(self_loop[u]));
            share[com[u] as usize] += deg / (2.0 * m);
            for &v in &nbrs[off[u] as usize..off[u + 1] as usize] {
                let (cu, cv) = (com[u], com[v as usize]);
                if cu != cv {
                    *between.entry((cu, cv)).or_insert(0.0) += 1.0;
                }
            }
        }
        for (&(cu, cv), &e) in &between {
            let gain = e / m - 2.0 * share[cu as usize] * share[cv as usize];
            assert!(
                gain < 1e-12,
                "{edges:?}: merging {cu} and {cv} gains {gain}"
            );
        }
    }
}

/// NetworkX's own partitions: `greedy_modularity_communities(D.to_undirected())` of
/// NetworkX 3.6.1, for random digraphs on nodes labelled with the strings below (added
/// in this order, then the edges), renumbered by first appearance in node order. Made
/// by a throwaway script (random.seed(7); 2..14 nodes; some self loops); the labels
/// sort differently from node order, so ties are broken as NetworkX breaks them.
#[test]
fn greedy_matches_networkx() {
    let mut differs_by_order = 0;
    for (labels, edges, want) in NX_GREEDY_CASES {
        let gr = g(labels.len(), edges);
        let mut by_label: Vec<(&str, u32)> = labels.iter().zip(0..).map(|(l, i)| (*l, i)).collect();
        by_label.sort_unstable();
        let mut rank = vec![0u32; labels.len()];
        for (r, (_, i)) in by_label.iter().enumerate() {
            rank[*i as usize] = r as u32;
        }
        assert_eq!(
            greedy_modularity(&gr, &rank),
            want.to_vec(),
            "{labels:?} {edges:?}"
        );
        if greedy_modularity(&gr, &[]) != want.to_vec() {
            differs_by_order += 1;
        }
    }
    // The labels matter: in node order some of these graphs split differently.
    assert!(differs_by_order > 0);
}

const NX_GREEDY_CASES: &[(&[&str], &[(u32, u32)], &[u32])] = &[
    (
        &[
            "10.0.2.243",
            "10.0.0.39",
            "10.0.1.102",
            "10.0.2.167",
            "10.0.0.13",
            "10.0.2.19",
            "10.0.0.211",
        ],
        &[(0, 5), (1, 4), (1, 6), (4, 4)],
        &[0, 1, 2, 3, 4, 0, 1],
    ),
    (
        &[
            "10.0.2.43",
            "10.0.0.194",
            "10.0.2.88",
            "10.0.2.39",
            "10.0.1.239",
            "10.0.1.126",
            "10.0.2.108",
            "10.0.1.11",
        ],
        &[
            (0, 7),
            (1, 5),
            (2, 0),
            (2, 3),
            (2, 4),
            (2, 5),
            (2, 7),
            (3, 0),
            (3, 4),
            (4, 2),
            (5, 0),
            (5, 1),
            (5, 2),
            (5, 3),
            (5, 7),
            (6, 0),
            (7, 2),
        ],
        &[0, 1, 2, 2, 2, 1, 0, 1],
    ),
    (
        &[
            "10.0.0.101",
            "10.0.1.27",
            "10.0.0.124",
            "10.0.0.163",
            "10.0.1.103",
            "10.0.2.16",
            "10.0.0.49",
            "10.0.0.18",
        ],
        &[(0, 5)],
        &[0, 1, 2, 3, 4, 0, 5, 6],
    ),
    (
        &[
            "10.0.0.245",
            "10.0.1.94",
            "10.0.0.21",
            "10.0.1.57",
            "10.0.2.27",
            "10.0.2.59",
            "10.0.0.121",
        ],
        &[
            (0, 5),
            (1, 2),
            (1, 6),
            (2, 5),
            (2, 6),
            (3, 1),
            (4, 3),
            (4, 6),
            (5, 2),
            (5, 4),
            (6, 0),
            (6, 2),
            (6, 3),
        ],
        &[0, 1, 1, 1, 1, 0, 1],
    ),
    (
        &[
            "10.0.2.108",
            "10.0.2.214",
            "10.0.1.34",
            "10.0.2.16",
            "10.0.0.233",
            "10.0.2.190",
            "10.0.0.91",
            "10.0.2.230",
            "10.0.2.118",
            "10.0.0.170",
        ],
        &[
            (0, 4),
            (0, 5),
            (0, 7),
            (0, 8),
            (1, 5),
            (1, 6),
            (1, 7),
            (1, 8),
            (2, 0),
            (2, 3),
            (2, 7),
            (2, 8),
            (3, 2),
            (3, 9),
            (4, 7),
            (4, 9),
            (5, 4),
            (5, 6),
            (5, 9),
            (6, 1),
            (6, 3),
            (7, 0),
            (7, 8),
            (8, 0),
            (8, 2),
            (8, 4),
            (8, 5),
            (8, 7),
            (2, 2),
        ],
        &[0, 1, 0, 1, 0, 1, 1, 0, 0, 1],
    ),
    (
        &[
            "10.0.1.230",
            "10.0.0.19",
            "10.0.2.69",
            "10.0.0.241",
            "10.0.0.5",
            "10.0.1.163",
            "10.0.0.23",
            "10.0.1.206",
        ],
        &[(1, 3), (2, 5), (2, 7), (5, 7), (6, 1)],
        &[0, 1, 2, 1, 3, 2, 1, 2],
    ),
    (
        &[
            "10.0.0.94",
            "10.0.0.247",
            "10.0.1.85",
            "10.0.0.249",
            "10.0.1.141",
            "10.0.0.83",
        ],
        &[(0, 1)],
        &[0, 0, 1, 2, 3, 4],
    ),
    (
        &[
            "10.0.2.36",
            "10.0.2.233",
            "10.0.2.135",
            "10.0.2.193",
            "10.0.2.130",
            "10.0.2.146",
            "10.0.0.214",
            "10.0.0.209",
            "10.0.0.206",
            "10.0.0.5",
        ],
        &[
            (0, 5),
            (0, 6),
            (1, 2),
            (1, 5),
            (2, 8),
            (3, 1),
            (4, 5),
            (5, 6),
            (5, 9),
            (6, 7),
            (6, 8),
            (7, 5),
            (8, 9),
            (9, 6),
            (6, 6),
        ],
        &[0, 1, 2, 1, 0, 0, 0, 0, 2, 2],
    ),
    (
        &[
            "10.0.2.20",
            "10.0.1.93",
            "10.0.2.237",
            "10.0.0.110",
            "10.0.0.194",
            "10.0.1.71",
            "10.0.1.219",
            "10.0.2.13",
            "10.0.1.72",
            "10.0.0.27",
            "10.0.1.14",
        ],
        &[
            (0, 8),
            (1, 3),
            (1, 4),
            (1, 6),
            (1, 9),
            (2, 1),
            (2, 7),
            (2, 8),
            (2, 9),
            (3, 1),
            (3, 6),
            (3, 7),
            (3, 8),
            (3, 10),
            (4, 0),
            (4, 1),
            (5, 0),
            (5, 1),
            (5, 3),
            (5, 8),
            (5, 9),
            (5, 10),
            (6, 5),
            (6, 7),
            (7, 1),
            (7, 8),
            (7, 9),
            (7, 10),
            (8, 9),
            (9, 0),
            (9, 4),
            (9, 5),
            (9, 8),
            (9, 10),
            (10, 3),
            (10, 5),
        ],
        &[0, 1, 2, 1, 0, 1, 1, 2, 2, 0, 1],
    ),
    (
        &[
            "10.0.1.135",
            "10.0.0.61",
            "10.0.0.141",
            "10.0.0.64",
            "10.0.1.8",
            "10.0.2.246",
            "10.0.2.106",
            "10.0.1.181",
            "10.0.0.167",
        ],
        &[
            (1, 0),
            (1, 4),
            (1, 8),
            (2, 4),
            (3, 1),
            (3, 5),
            (3, 6),
            (4, 1),
            (4, 6),
            (4, 7),
            (4, 8),
            (5, 0),
            (6, 1),
            (6, 2),
            (6, 3),
            (7, 4),
            (7, 6),
        ],
        &[0, 0, 1, 0, 1, 0, 1, 1, 0],
    ),
    (
        &[
            "10.0.1.17",
            "10.0.1.206",
            "10.0.1.236",
            "10.0.1.16",
            "10.0.2.66",
            "10.0.0.50",
            "10.0.1.192",
            "10.0.2.231",
            "10.0.2.156",
        ],
        &[
            (0, 7),
            (1, 0),
            (1, 8),
            (2, 1),
            (2, 6),
            (3, 6),
            (4, 2),
            (4, 5),
            (4, 6),
            (5, 3),
            (5, 4),
            (7, 2),
            (7, 6),
            (7, 8),
            (8, 4),
            (8, 6),
            (8, 7),
        ],
        &[0, 0, 1, 2, 1, 2, 1, 1, 1],
    ),
    (
        &[
            "10.0.1.216",
            "10.0.0.115",
            "10.0.0.235",
            "10.0.0.96",
            "10.0.0.11",
        ],
        &[(1, 4), (4, 2)],
        &[0, 1, 1, 2, 1],
    ),
    (
        &["10.0.0.159", "10.0.1.80", "10.0.2.20", "10.0.1.53"],
        &[(3, 2)],
        &[0, 1, 2, 2],
    ),
    (
        &[
            "10.0.0.107",
            "10.0.1.5",
            "10.0.2.222",
            "10.0.1.197",
            "10.0.0.206",
            "10.0.0.94",
            "10.0.1.165",
        ],
        &[(1, 0), (1, 5), (3, 0), (4, 3)],
        &[0, 1, 2, 0, 0, 1, 3],
    ),
    (
        &[
            "10.0.0.92",
            "10.0.0.32",
            "10.0.2.39",
            "10.0.2.64",
            "10.0.0.249",
            "10.0.2.186",
            "10.0.1.209",
            "10.0.0.230",
        ],
        &[
            (1, 4),
            (1, 7),
            (2, 4),
            (2, 6),
            (2, 7),
            (3, 1),
            (3, 5),
            (3, 7),
            (4, 3),
            (5, 0),
            (5, 6),
            (6, 3),
            (6, 7),
            (7, 2),
            (7, 4),
            (7, 6),
        ],
        &[0, 1, 0, 1, 1, 0, 0, 1],
    ),
    (
        &[
            "10.0.0.54",
            "10.0.0.152",
            "10.0.1.68",
            "10.0.0.158",
            "10.0.2.130",
            "10.0.1.61",
            "10.0.2.82",
            "10.0.1.96",
            "10.0.1.10",
        ],
        &[
            (0, 4),
            (2, 4),
            (4, 6),
            (5, 0),
            (5, 1),
            (6, 4),
            (7, 0),
            (7, 6),
            (8, 7),
            (0, 0),
        ],
        &[0, 0, 1, 2, 1, 0, 3, 3, 3],
    ),
    (
        &[
            "10.0.2.48",
            "10.0.2.61",
            "10.0.2.41",
            "10.0.0.15",
            "10.0.0.234",
            "10.0.1.200",
            "10.0.0.27",
            "10.0.2.4",
        ],
        &[
            (0, 2),
            (0, 5),
            (1, 2),
            (2, 0),
            (2, 1),
            (2, 3),
            (2, 4),
            (3, 2),
            (4, 0),
            (4, 3),
            (4, 6),
            (4, 7),
            (5, 0),
            (6, 0),
            (1, 1),
        ],
        &[0, 1, 2, 2, 2, 0, 0, 2],
    ),
    (
        &[
            "10.0.0.234",
            "10.0.2.44",
            "10.0.0.38",
            "10.0.0.9",
            "10.0.0.7",
            "10.0.0.29",
            "10.0.2.28",
            "10.0.2.160",
            "10.0.2.238",
            "10.0.0.42",
            "10.0.2.89",
        ],
        &[
            (0, 2),
            (0, 8),
            (1, 5),
            (2, 8),
            (3, 8),
            (4, 10),
            (5, 3),
            (8, 0),
        ],
        &[0, 1, 0, 1, 2, 1, 3, 4, 0, 5, 2],
    ),
    (
        &["10.0.2.186", "10.0.2.40", "10.0.1.64", "10.0.0.84"],
        &[(1, 2), (2, 0), (0, 0)],
        &[0, 1, 1, 2],
    ),
    (
        &[
            "10.0.1.53",
            "10.0.1.227",
            "10.0.2.100",
            "10.0.0.119",
            "10.0.2.9",
            "10.0.2.4",
        ],
        &[(0, 2), (4, 1)],
        &[0, 1, 0, 2, 1, 3],
    ),
    (
        &[
            "10.0.0.170",
            "10.0.0.239",
            "10.0.1.224",
            "10.0.2.47",
            "10.0.0.229",
            "10.0.0.168",
            "10.0.2.84",
            "10.0.0.200",
            "10.0.2.3",
            "10.0.1.100",
            "10.0.0.213",
            "10.0.2.126",
        ],
        &[
            (0, 9),
            (1, 2),
            (1, 5),
            (1, 6),
            (1, 8),
            (2, 1),
            (2, 3),
            (2, 7),
            (2, 10),
            (2, 11),
            (3, 6),
            (4, 1),
            (4, 3),
            (4, 8),
            (4, 10),
            (5, 0),
            (5, 1),
            (5, 3),
            (5, 4),
            (6, 2),
            (6, 7),
            (6, 10),
            (6, 11),
            (7, 2),
            (7, 3),
            (7, 4),
            (7, 5),
            (7, 9),
            (8, 0),
            (8, 9),
            (9, 4),
            (9, 5),
            (9, 6),
            (9, 8),
            (9, 11),
            (10, 4),
            (11, 2),
            (11, 5),
        ],
        &[0, 1, 1, 2, 2, 2, 1, 2, 0, 0, 1, 1],
    ),
    (
        &[
            "10.0.1.194",
            "10.0.0.230",
            "10.0.2.37",
            "10.0.1.9",
            "10.0.1.55",
            "10.0.1.184",
            "10.0.2.107",
            "10.0.2.161",
            "10.0.0.33",
        ],
        &[
            (2, 4),
            (2, 8),
            (3, 1),
            (3, 2),
            (5, 2),
            (5, 3),
            (5, 4),
            (7, 3),
            (7, 5),
            (7, 6),
            (8, 3),
        ],
        &[0, 1, 2, 1, 2, 2, 3, 3, 2],
    ),
    (
        &[
            "10.0.2.141",
            "10.0.0.27",
            "10.0.1.22",
            "10.0.0.165",
            "10.0.0.121",
            "10.0.2.55",
            "10.0.2.230",
            "10.0.0.39",
        ],
        &[(2, 6), (2, 7), (3, 0), (7, 5)],
        &[0, 1, 2, 0, 3, 4, 2, 4],
    ),
    (
        &[
            "10.0.1.110",
            "10.0.1.228",
            "10.0.2.64",
            "10.0.0.97",
            "10.0.1.100",
            "10.0.1.176",
            "10.0.1.155",
            "10.0.1.198",
            "10.0.0.230",
            "10.0.2.60",
            "10.0.0.207",
        ],
        &[
            (1, 0),
            (2, 6),
            (3, 6),
            (3, 7),
            (3, 8),
            (4, 3),
            (4, 5),
            (4, 8),
            (5, 0),
            (5, 4),
            (5, 6),
            (6, 9),
            (7, 0),
            (7, 1),
            (7, 2),
            (7, 9),
            (8, 1),
            (9, 0),
            (9, 4),
            (10, 0),
            (10, 5),
            (10, 6),
            (9, 9),
        ],
        &[0, 1, 0, 1, 1, 0, 0, 1, 1, 2, 0],
    ),
    (
        &[
            "10.0.1.195",
            "10.0.1.168",
            "10.0.1.27",
            "10.0.0.121",
            "10.0.1.83",
            "10.0.0.96",
            "10.0.0.66",
            "10.0.2.100",
            "10.0.0.32",
        ],
        &[
            (0, 2),
            (0, 3),
            (0, 5),
            (1, 0),
            (1, 3),
            (2, 4),
            (2, 5),
            (2, 6),
            (3, 0),
            (3, 2),
            (3, 5),
            (3, 6),
            (4, 0),
            (4, 5),
            (4, 7),
            (5, 1),
            (5, 3),
            (5, 4),
            (5, 6),
            (6, 2),
            (6, 3),
            (6, 5),
            (6, 8),
            (7, 1),
            (7, 4),
            (7, 5),
            (8, 0),
            (8, 3),
            (8, 5),
            (8, 6),
        ],
        &[0, 0, 1, 1, 0, 0, 1, 0, 1],
    ),
    (
        &[
            "10.0.2.154",
            "10.0.2.21",
            "10.0.1.213",
            "10.0.1.23",
            "10.0.0.228",
        ],
        &[(1, 2), (3, 4), (4, 4)],
        &[0, 1, 1, 2, 2],
    ),
    (
        &[
            "10.0.0.10",
            "10.0.1.42",
            "10.0.2.180",
            "10.0.1.96",
            "10.0.2.148",
            "10.0.0.153",
            "10.0.0.220",
        ],
        &[
            (1, 2),
            (2, 3),
            (2, 6),
            (3, 0),
            (3, 4),
            (3, 5),
            (4, 0),
            (4, 1),
            (5, 0),
            (5, 3),
            (5, 4),
            (6, 2),
            (6, 4),
        ],
        &[0, 1, 1, 0, 0, 0, 1],
    ),
    (
        &["10.0.1.172", "10.0.0.147", "10.0.0.119", "10.0.2.192"],
        &[(1, 0), (1, 3)],
        &[0, 0, 1, 0],
    ),
    (
        &[
            "10.0.0.209",
            "10.0.2.103",
            "10.0.1.217",
            "10.0.0.144",
            "10.0.1.14",
            "10.0.2.84",
            "10.0.2.133",
        ],
        &[(0, 3), (0, 6), (2, 3), (0, 0)],
        &[0, 1, 2, 2, 3, 4, 0],
    ),
    (
        &[
            "10.0.1.140",
            "10.0.1.74",
            "10.0.2.215",
            "10.0.1.117",
            "10.0.2.157",
            "10.0.1.178",
            "10.0.1.146",
            "10.0.1.57",
            "10.0.0.167",
            "10.0.0.99",
            "10.0.1.52",
            "10.0.0.141",
            "10.0.0.182",
        ],
        &[
            (0, 4),
            (0, 8),
            (0, 10),
            (0, 11),
            (0, 12),
            (2, 3),
            (2, 4),
            (2, 6),
            (2, 8),
            (2, 12),
            (3, 5),
            (3, 8),
            (3, 11),
            (4, 0),
            (4, 2),
            (4, 6),
            (4, 12),
            (5, 9),
            (6, 1),
            (6, 7),
            (6, 8),
            (6, 10),
            (7, 6),
            (7, 10),
            (7, 11),
            (7, 12),
            (8, 4),
            (8, 5),
            (9, 1),
            (9, 4),
            (9, 6),
            (9, 8),
            (10, 4),
            (10, 7),
            (10, 9),
            (11, 2),
            (11, 3),
            (11, 8),
            (11, 9),
            (11, 10),
            (11, 12),
            (12, 5),
            (12, 6),
            (12, 8),
            (12, 11),
            (8, 8),
        ],
        &[0, 1, 2, 2, 1, 2, 1, 0, 2, 1, 1, 0, 0],
    ),
    (
        &[
            "10.0.2.211",
            "10.0.2.120",
            "10.0.1.157",
            "10.0.0.111",
            "10.0.2.207",
            "10.0.0.205",
            "10.0.1.16",
            "10.0.1.167",
            "10.0.0.4",
        ],
        &[(0, 8), (1, 7), (5, 4), (6, 4), (7, 7)],
        &[0, 1, 2, 3, 4, 4, 4, 1, 0],
    ),
    (
        &[
            "10.0.2.34",
            "10.0.2.242",
            "10.0.0.181",
            "10.0.0.67",
            "10.0.0.153",
            "10.0.2.231",
            "10.0.2.113",
            "10.0.0.151",
            "10.0.2.95",
            "10.0.1.137",
            "10.0.2.64",
            "10.0.1.104",
        ],
        &[
            (1, 4),
            (2, 6),
            (3, 11),
            (4, 0),
            (4, 6),
            (5, 6),
            (5, 10),
            (6, 1),
            (8, 1),
            (8, 9),
            (9, 6),
        ],
        &[0, 0, 1, 2, 0, 1, 1, 3, 4, 4, 1, 2],
    ),
    (
        &["10.0.1.177", "10.0.1.75", "10.0.0.4"],
        &[(0, 1)],
        &[0, 0, 1],
    ),
    (
        &[
            "10.0.1.146",
            "10.0.0.93",
            "10.0.2.75",
            "10.0.2.44",
            "10.0.1.143",
            "10.0.2.19",
            "10.0.2.12",
            "10.0.1.3",
            "10.0.0.120",
        ],
        &[
            (0, 6),
            (0, 7),
            (1, 4),
            (1, 6),
            (1, 8),
            (2, 6),
            (3, 5),
            (3, 6),
            (4, 0),
            (4, 1),
            (4, 2),
            (4, 8),
            (5, 0),
            (5, 7),
            (5, 8),
            (6, 0),
            (6, 7),
            (7, 0),
            (7, 4),
            (7, 5),
            (7, 6),
            (8, 1),
            (8, 2),
            (8, 4),
            (8, 7),
        ],
        &[0, 1, 1, 0, 1, 0, 0, 0, 1],
    ),
    (
        &[
            "10.0.2.90",
            "10.0.0.146",
            "10.0.1.51",
            "10.0.2.121",
            "10.0.2.22",
            "10.0.0.139",
            "10.0.0.83",
            "10.0.2.133",
            "10.0.2.118",
            "10.0.1.110",
            "10.0.2.249",
            "10.0.2.137",
        ],
        &[
            (0, 5),
            (1, 2),
            (2, 6),
            (3, 8),
            (4, 9),
            (4, 11),
            (5, 3),
            (5, 4),
            (5, 9),
            (5, 10),
            (6, 0),
            (6, 3),
            (6, 11),
            (8, 0),
            (8, 5),
            (8, 11),
            (9, 1),
            (10, 1),
            (10, 5),
            (10, 7),
            (11, 10),
        ],
        &[0, 1, 1, 0, 2, 2, 0, 1, 0, 2, 1, 0],
    ),
    (
        &[
            "10.0.1.44",
            "10.0.2.210",
            "10.0.1.93",
            "10.0.1.187",
            "10.0.1.120",
        ],
        &[(0, 1), (0, 4), (1, 3), (1, 4), (4, 1)],
        &[0, 0, 1, 0, 0],
    ),
    (
        &[
            "10.0.1.110",
            "10.0.1.163",
            "10.0.2.147",
            "10.0.1.26",
            "10.0.2.93",
            "10.0.2.203",
            "10.0.0.73",
            "10.0.1.204",
            "10.0.2.61",
            "10.0.2.224",
            "10.0.1.241",
            "10.0.1.37",
            "10.0.0.175",
            "10.0.2.19",
        ],
        &[
            (0, 8),
            (1, 4),
            (1, 10),
            (1, 11),
            (2, 10),
            (3, 2),
            (3, 4),
            (3, 9),
            (3, 11),
            (3, 12),
            (3, 13),
            (4, 0),
            (4, 5),
            (4, 8),
            (4, 10),
            (4, 13),
            (5, 3),
            (5, 7),
            (6, 0),
            (6, 8),
            (6, 9),
            (7, 4),
            (7, 12),
            (8, 10),
            (8, 13),
            (9, 5),
            (11, 1),
            (11, 3),
            (12, 1),
            (12, 2),
            (13, 4),
            (13, 6),
            (13, 7),
            (0, 0),
        ],
        &[0, 1, 1, 1, 2, 2, 0, 2, 0, 0, 0, 1, 1, 2],
    ),
    (
        &[
            "10.0.1.54",
            "10.0.2.218",
            "10.0.0.227",
            "10.0.0.189",
            "10.0.0.93",
            "10.0.0.12",
            "10.0.0.200",
            "10.0.1.199",
            "10.0.0.222",
            "10.0.2.113",
            "10.0.2.47",
            "10.0.1.112",
            "10.0.0.36",
            "10.0.0.240",
        ],
        &[
            (0, 2),
            (0, 8),
            (0, 9),
            (0, 12),
            (1, 0),
            (1, 3),
            (1, 4),
            (1, 8),
            (1, 10),
            (1, 12),
            (2, 0),
            (2, 4),
            (2, 9),
            (2, 13),
            (3, 0),
            (3, 1),
            (3, 2),
            (3, 4),
            (3, 9),
            (4, 12),
            (5, 0),
            (5, 3),
            (5, 7),
            (5, 8),
            (5, 9),
            (5, 13),
            (6, 7),
            (6, 13),
            (7, 12),
            (8, 0),
            (8, 6),
            (8, 7),
            (9, 0),
            (9, 1),
            (9, 8),
            (9, 13),
            (10, 0),
            (10, 1),
            (10, 2),
            (10, 7),
            (11, 2),
            (11, 6),
            (11, 10),
            (11, 12),
            (12, 0),
            (12, 1),
            (12, 3),
            (12, 5),
            (12, 7),
            (12, 10),
            (13, 2),
            (13, 6),
        ],
        &[0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1],
    ),
    (
        &[
            "10.0.0.249",
            "10.0.2.219",
            "10.0.0.183",
            "10.0.1.149",
            "10.0.0.96",
        ],
        &[(1, 3)],
        &[0, 1, 2, 1, 3],
    ),
    (&["10.0.1.237", "10.0.2.175"], &[(0, 0)], &[0, 1]),
];
