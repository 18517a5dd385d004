//! The pure graph math of the `connection` group: no I/O, no plugin types.
//!
//! A [`Window`] collects one [`FlowRecord`] per flow (initiator node, responder node,
//! responder port, packets, bytes) and [`Window::compute`] turns them into
//! [`Metrics`], from which [`Metrics::flow`] reads the 20 features of one flow.
//!
//! Nodes are dense `u32` ids in first-seen order ([`NodeIds`] assigns them); that order
//! is the iteration order of every algorithm here, so all results are deterministic.
//! The directed graph ([`DiGraph`]) has one edge per distinct (initiator, responder)
//! pair, in the order of the first flow on it, stored as two CSR arrays (successors and
//! predecessors).
//!
//! Semantics follow NetworkX 3.x as JoyfulJay calls it:
//! * degrees: distinct neighbours of the `DiGraph`; a self loop (a flow whose two
//!   endpoints are the same node) counts once in both the out- and the in-degree;
//! * [`betweenness`]: `nx.betweenness_centrality(DiGraph)` — Brandes, unweighted,
//!   endpoints excluded, scaled by `1/((n−1)(n−2))` when `n > 2`; the BFS and the
//!   accumulation visit nodes and edges in NetworkX's order, so the sums round alike;
//! * [`clustering`]: `nx.clustering` of the undirected simple graph (reciprocal edges
//!   merged, self loops ignored, unweighted);
//! * [`louvain`]: `nx.community.louvain_communities` (modularity gain, resolution 1,
//!   threshold 1e-7, edge weight = number of flows) with the node order fixed to
//!   first-seen order instead of a random shuffle;
//! * [`label_propagation`]: NetworkX's semi-synchronous label propagation with
//!   colour classes visited in node order instead of set order.
//!
//! Community indices are renumbered so that community 0 holds node 0, the next index
//! goes to the community of the earliest node not yet numbered, and so on.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::hash::Hash;

/// Assigns dense node ids (0, 1, 2, …) in first-seen order.
#[derive(Clone, Debug)]
pub struct NodeIds<K> {
    map: HashMap<K, u32>,
}

impl<K: Hash + Eq> Default for NodeIds<K> {
    fn default() -> Self {
        NodeIds {
            map: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq> NodeIds<K> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `key`, assigning the next one when it is new.
    pub fn id(&mut self, key: K) -> u32 {
        let next = u32::try_from(self.map.len()).expect("fewer than 2^32 nodes");
        *self.map.entry(key).or_insert(next)
    }

    /// Every key, indexed by its id.
    pub fn keys_by_id(&self) -> Vec<&K> {
        let mut keys: Vec<Option<&K>> = vec![None; self.map.len()];
        for (k, &id) in &self.map {
            keys[id as usize] = Some(k);
        }
        keys.into_iter().flatten().collect()
    }

    /// The id of `key` if it has one.
    pub fn get(&self, key: &K) -> Option<u32> {
        self.map.get(key).copied()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Forgets every node (keeps the capacity).
    pub fn clear(&mut self) {
        self.map.clear();
    }
}

/// Which community detection runs (option `connection_community_algorithm`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CommunityAlgorithm {
    /// No communities: every community feature is missing (−1, not the same).
    None,
    /// Deterministic Louvain (see [`louvain`]).
    #[default]
    Louvain,
    /// Deterministic semi-synchronous label propagation (see [`label_propagation`]).
    LabelPropagation,
    /// Greedy modularity maximisation (see [`greedy_modularity`]).
    Greedy,
}

impl CommunityAlgorithm {
    /// The accepted option values, for messages.
    pub const ACCEPTED: &'static str = "louvain, greedy, label_propagation or none";

    pub fn parse(s: &str) -> Option<CommunityAlgorithm> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "louvain" => CommunityAlgorithm::Louvain,
            "label_propagation" => CommunityAlgorithm::LabelPropagation,
            "greedy" => CommunityAlgorithm::Greedy,
            "none" => CommunityAlgorithm::None,
            _ => return None,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Directed graph

/// A compact simple directed graph over nodes `0..n`: CSR successor and predecessor
/// lists, each in edge-creation order.
#[derive(Clone, Debug, Default)]
pub struct DiGraph {
    n: usize,
    succ_off: Vec<u32>,
    succ: Vec<u32>,
    pred_off: Vec<u32>,
    pred: Vec<u32>,
    /// The edges in creation order.
    edges: Vec<(u32, u32)>,
}

/// Compressed sparse rows of `(row, col)` pairs, rows `0..n`, the pairs of one row in
/// their order in `pairs` (a stable counting sort).
fn csr(n: usize, pairs: impl Iterator<Item = (u32, u32)> + Clone) -> (Vec<u32>, Vec<u32>) {
    let mut off = vec![0u32; n + 1];
    for (r, _) in pairs.clone() {
        off[r as usize + 1] += 1;
    }
    for i in 0..n {
        off[i + 1] += off[i];
    }
    let mut next: Vec<u32> = off[..n].to_vec();
    let mut cols = vec![0u32; off[n] as usize];
    for (r, c) in pairs {
        let at = &mut next[r as usize];
        cols[*at as usize] = c;
        *at += 1;
    }
    (off, cols)
}

impl DiGraph {
    /// The graph over nodes `0..n` with `edges` (distinct pairs, every id below `n`) in
    /// creation order. Panics on an id out of range.
    pub fn from_edges(n: usize, edges: &[(u32, u32)]) -> DiGraph {
        assert!(
            edges
                .iter()
                .all(|&(u, v)| (u as usize) < n && (v as usize) < n),
            "edge endpoint out of range"
        );
        let (succ_off, succ) = csr(n, edges.iter().copied());
        let (pred_off, pred) = csr(n, edges.iter().map(|&(u, v)| (v, u)));
        DiGraph {
            n,
            succ_off,
            succ,
            pred_off,
            pred,
            edges: edges.to_vec(),
        }
    }

    pub fn node_count(&self) -> usize {
        self.n
    }

    pub fn edges(&self) -> &[(u32, u32)] {
        &self.edges
    }

    /// Successors of `u` in edge-creation order.
    pub fn successors(&self, u: u32) -> &[u32] {
        let u = u as usize;
        &self.succ[self.succ_off[u] as usize..self.succ_off[u + 1] as usize]
    }

    /// Predecessors of `v` in edge-creation order.
    pub fn predecessors(&self, v: u32) -> &[u32] {
        let v = v as usize;
        &self.pred[self.pred_off[v] as usize..self.pred_off[v + 1] as usize]
    }

    /// Distinct successors (a self loop counts once), like `DiGraph.out_degree`.
    pub fn out_degree(&self, u: u32) -> usize {
        self.successors(u).len()
    }

    /// Distinct predecessors (a self loop counts once), like `DiGraph.in_degree`.
    pub fn in_degree(&self, v: u32) -> usize {
        self.predecessors(v).len()
    }

    /// Neighbour lists of the undirected simple graph (reciprocal edges merged, self
    /// loops dropped), each sorted ascending, as CSR; and which nodes have a self loop.
    pub fn undirected(&self) -> (Vec<u32>, Vec<u32>, Vec<bool>) {
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(2 * self.edges.len());
        let mut self_loop = vec![false; self.n];
        for &(u, v) in &self.edges {
            if u == v {
                self_loop[u as usize] = true;
            } else {
                pairs.push((u, v));
                pairs.push((v, u));
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let (off, nbrs) = csr(self.n, pairs.iter().copied());
        (off, nbrs, self_loop)
    }
}

// ---------------------------------------------------------------------------------------
// Betweenness

/// Betweenness centrality of every node: Brandes' algorithm on the unweighted directed
/// graph, endpoints excluded, multiplied by `1/((n−1)(n−2))` when `n > 2` (NetworkX's
/// `betweenness_centrality(G)` with its defaults). O(V·E) time in general, and per
/// source only the edges its BFS reaches (a hub with many leaves costs O(V + E) in
/// all); O(V + E) extra memory.
///
/// Sources are taken in node order, each BFS scans successors in edge-creation order,
/// every node's BFS predecessors are kept in the order they were found (NetworkX's
/// `P[w]`), and dependencies are accumulated in reverse BFS order, as NetworkX does, so
/// the floating-point sums are formed in the same order.
pub fn betweenness(g: &DiGraph) -> Vec<f64> {
    const UNSEEN: u32 = u32::MAX;
    const NONE: u32 = u32::MAX;
    let n = g.n;
    let mut bc = vec![0.0f64; n];
    let mut dist = vec![UNSEEN; n];
    let mut sigma = vec![0.0f64; n];
    let mut delta = vec![0.0f64; n];
    // Predecessor lists as linked lists in an arena: first/last entry per node, and per
    // entry (predecessor, next entry). Reset per source for the nodes it reached only.
    let mut p_first = vec![NONE; n];
    let mut p_last = vec![NONE; n];
    let mut p_entries: Vec<(u32, u32)> = Vec::new();
    // BFS order: the queue (read at `head`) and Brandes' stack S (read backwards).
    let mut order: Vec<u32> = Vec::with_capacity(n);
    for s in 0..n as u32 {
        for &v in &order {
            let v = v as usize;
            dist[v] = UNSEEN;
            sigma[v] = 0.0;
            delta[v] = 0.0;
            p_first[v] = NONE;
            p_last[v] = NONE;
        }
        order.clear();
        p_entries.clear();
        dist[s as usize] = 0;
        sigma[s as usize] = 1.0;
        order.push(s);
        let mut head = 0;
        while head < order.len() {
            let v = order[head];
            head += 1;
            let dv = dist[v as usize];
            let sv = sigma[v as usize];
            for &w in g.successors(v) {
                let w = w as usize;
                if dist[w] == UNSEEN {
                    dist[w] = dv + 1;
                    order.push(w as u32);
                }
                if dist[w] == dv + 1 {
                    sigma[w] += sv;
                    // append v to P[w]
                    let e = p_entries.len() as u32;
                    p_entries.push((v, NONE));
                    match p_last[w] {
                        NONE => p_first[w] = e,
                        last => p_entries[last as usize].1 = e,
                    }
                    p_last[w] = e;
                }
            }
        }
        for &w in order.iter().rev() {
            let w = w as usize;
            let coeff = (1.0 + delta[w]) / sigma[w];
            let mut e = p_first[w];
            while e != NONE {
                let (v, next) = p_entries[e as usize];
                delta[v as usize] += sigma[v as usize] * coeff;
                e = next;
            }
            if w != s as usize {
                bc[w] += delta[w];
            }
        }
    }
    if n > 2 {
        let pairs = ((n - 1) as u128 * (n - 2) as u128) as f64;
        let scale = 1.0 / pairs;
        for b in &mut bc {
            *b *= scale;
        }
    }
    bc
}

// ---------------------------------------------------------------------------------------
// Clustering

/// Local clustering coefficient of every node in the undirected simple graph
/// (reciprocal edges merged, self loops ignored): `2·T(v) / (d(v)·(d(v)−1))` with `T(v)`
/// the triangles through `v` and `d(v)` its distinct neighbours other than itself; 0
/// when `T(v) = 0` (NetworkX's `clustering`).
///
/// Triangles are counted once each by the degree-ordered "forward" algorithm,
/// O(E^1.5) even for a hub with many leaves.
pub fn clustering(g: &DiGraph) -> Vec<f64> {
    let (off, nbrs, _) = g.undirected();
    let n = g.n;
    let deg = |v: usize| (off[v + 1] - off[v]) as usize;
    let nb = |v: usize| &nbrs[off[v] as usize..off[v + 1] as usize];
    // Rank by (degree, id); orient every edge from lower to higher rank.
    let higher = |a: usize, b: usize| (deg(b), b) > (deg(a), a);
    let forward: Vec<Vec<u32>> = (0..n)
        .map(|u| {
            nb(u)
                .iter()
                .copied()
                .filter(|&v| higher(u, v as usize))
                .collect()
        })
        .collect();
    let mut triangles = vec![0u64; n];
    let mut mark = vec![u32::MAX; n];
    for u in 0..n {
        for &v in &forward[u] {
            mark[v as usize] = u as u32;
        }
        for &v in &forward[u] {
            for &w in &forward[v as usize] {
                if mark[w as usize] == u as u32 {
                    triangles[u] += 1;
                    triangles[v as usize] += 1;
                    triangles[w as usize] += 1;
                }
            }
        }
    }
    (0..n)
        .map(|v| {
            let d = deg(v) as u64;
            if triangles[v] == 0 {
                0.0
            } else {
                (2 * triangles[v]) as f64 / (d * (d - 1)) as f64
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Communities

/// Community index per node, renumbered by first appearance in node order.
fn renumber(labels: &[u32]) -> Vec<u32> {
    let mut map: HashMap<u32, u32> = HashMap::new();
    labels
        .iter()
        .map(|&l| {
            let next = map.len() as u32;
            *map.entry(l).or_insert(next)
        })
        .collect()
}

/// An undirected weighted graph with NetworkX `Graph` insertion-order semantics: a new
/// edge is appended to both endpoints' neighbour lists (once for a self loop), adding
/// an existing edge adds to its weight.
#[derive(Clone, Debug, Default)]
struct WGraph {
    /// Neighbour lists: (neighbour, edge index), in insertion order.
    adj: Vec<Vec<(u32, u32)>>,
    weight: Vec<u64>,
    index: HashMap<(u32, u32), u32>,
}

impl WGraph {
    fn with_nodes(n: usize) -> WGraph {
        WGraph {
            adj: vec![Vec::new(); n],
            weight: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn node_count(&self) -> usize {
        self.adj.len()
    }

    fn add_edge(&mut self, a: u32, b: u32, w: u64) {
        let key = (a.min(b), a.max(b));
        if let Some(&e) = self.index.get(&key) {
            self.weight[e as usize] += w;
            return;
        }
        let e = self.weight.len() as u32;
        self.weight.push(w);
        self.index.insert(key, e);
        self.adj[a as usize].push((b, e));
        if a != b {
            self.adj[b as usize].push((a, e));
        }
    }

    /// Every edge once, in NetworkX's `G.edges()` order: nodes in order, and from each
    /// node the neighbours not visited before it (itself included, for a self loop).
    fn edges_in_order(&self) -> Vec<(u32, u32, u64)> {
        let mut out = Vec::with_capacity(self.weight.len());
        for (u, nbrs) in self.adj.iter().enumerate() {
            for &(v, e) in nbrs {
                if v as usize >= u {
                    out.push((u as u32, v, self.weight[e as usize]));
                }
            }
        }
        out
    }

    /// A fresh graph with the same nodes and the edges added in `edges_in_order`.
    fn rebuilt(&self) -> WGraph {
        let mut g = WGraph::with_nodes(self.node_count());
        for (u, v, w) in self.edges_in_order() {
            g.add_edge(u, v, w);
        }
        g
    }

    /// Weighted degree; a self loop counts twice.
    fn degrees(&self) -> Vec<u64> {
        self.adj
            .iter()
            .enumerate()
            .map(|(u, nbrs)| {
                nbrs.iter()
                    .map(|&(v, e)| {
                        let w = self.weight[e as usize];
                        if v as usize == u {
                            2 * w
                        } else {
                            w
                        }
                    })
                    .sum()
            })
            .collect()
    }

    /// Newman modularity (resolution 1) of the partition given as community slots per
    /// node, communities taken in ascending slot order (NetworkX's `modularity`).
    fn modularity(&self, com: &[u32], n_slots: usize) -> f64 {
        let deg = self.degrees();
        let deg_sum: u64 = deg.iter().sum();
        if deg_sum == 0 {
            return 0.0;
        }
        let m = deg_sum as f64 / 2.0;
        let norm = 1.0 / ((deg_sum as u128 * deg_sum as u128) as f64);
        let mut internal = vec![0u64; n_slots];
        let mut degs = vec![0u64; n_slots];
        let mut used = vec![false; n_slots];
        for (u, &c) in com.iter().enumerate() {
            degs[c as usize] += deg[u];
            used[c as usize] = true;
        }
        for (u, v, w) in self.edges_in_order() {
            if com[u as usize] == com[v as usize] {
                internal[com[u as usize] as usize] += w;
            }
        }
        let mut q = 0.0;
        for c in 0..n_slots {
            if used[c] {
                let d = degs[c] as u128;
                q += internal[c] as f64 / m - (d * d) as f64 * norm;
            }
        }
        q
    }
}

/// One pass of Louvain's local moving on `g` (NetworkX's `_one_level` with nodes in
/// order): returns the community slot of each node (slots are node indices of `g`)
/// and whether any node moved.
fn louvain_one_level(g: &WGraph, m: f64) -> (Vec<u32>, bool) {
    let n = g.node_count();
    let mut com: Vec<u32> = (0..n as u32).collect();
    let degrees = g.degrees();
    let mut stot: Vec<u64> = degrees.clone();
    let two_m2 = 2.0 * (m * m);
    // Per-node neighbour weights to communities, in first-seen neighbour order.
    let mut w2c = vec![0.0f64; n];
    let mut seen = vec![false; n];
    let mut order: Vec<u32> = Vec::new();
    let mut improvement = false;
    loop {
        let mut moves = 0usize;
        for u in 0..n {
            order.clear();
            for &(v, e) in &g.adj[u] {
                if v as usize == u {
                    continue;
                }
                let c = com[v as usize] as usize;
                if !seen[c] {
                    seen[c] = true;
                    w2c[c] = 0.0;
                    order.push(c as u32);
                }
                w2c[c] += g.weight[e as usize] as f64;
            }
            let own = com[u] as usize;
            if !seen[own] {
                seen[own] = true;
                w2c[own] = 0.0;
                order.push(own as u32);
            }
            let degree = degrees[u];
            stot[own] -= degree;
            let remove_cost = -w2c[own] / m + (stot[own] as u128 * degree as u128) as f64 / two_m2;
            let mut best_gain = 0.0;
            let mut best = own;
            for &c in &order {
                let c = c as usize;
                let gain =
                    remove_cost + w2c[c] / m - (stot[c] as u128 * degree as u128) as f64 / two_m2;
                if gain > best_gain {
                    best_gain = gain;
                    best = c;
                }
            }
            stot[best] += degree;
            for &c in &order {
                seen[c as usize] = false;
            }
            if best != own {
                com[u] = best as u32;
                improvement = true;
                moves += 1;
            }
        }
        if moves == 0 {
            break;
        }
    }
    (com, improvement)
}

/// The graph of communities: one node per non-empty slot (in slot order), edge weights
/// summed, internal edges becoming self loops (NetworkX's `_gen_graph`). Returns it and
/// the new node of each old node.
fn louvain_aggregate(g: &WGraph, com: &[u32]) -> (WGraph, Vec<u32>) {
    let n = g.node_count();
    let mut used = vec![false; n];
    for &c in com {
        used[c as usize] = true;
    }
    let mut slot_to_new = vec![u32::MAX; n];
    let mut k = 0u32;
    for slot in 0..n {
        if used[slot] {
            slot_to_new[slot] = k;
            k += 1;
        }
    }
    let new_of: Vec<u32> = com.iter().map(|&c| slot_to_new[c as usize]).collect();
    let mut h = WGraph::with_nodes(k as usize);
    for (u, v, w) in g.edges_in_order() {
        h.add_edge(new_of[u as usize], new_of[v as usize], w);
    }
    (h, new_of)
}

/// Louvain communities of the undirected graph underlying `g`, with edge weight
/// `weights[i]` for `g.edges()[i]` (reciprocal edges: the sum of both directions).
/// Returns a community index per node, renumbered by first appearance in node order.
///
/// The algorithm is NetworkX 3.x's `louvain_communities` (resolution 1, threshold
/// 1e-7): levels of local moving (gain `w_uC/m − Σtot_C·k_u/(2m²)`, strict
/// improvement, first best community in neighbour order) and aggregation, stopping when
/// a level improves the modularity by no more than the threshold. The one difference:
/// nodes are visited in node order, not in a random shuffle, so the result is
/// deterministic.
pub fn louvain(g: &DiGraph, weights: &[u64]) -> Vec<u32> {
    assert_eq!(weights.len(), g.edges.len(), "one weight per edge");
    let n = g.n;
    // `to_undirected` (edges from each node's successors, in node order), then the
    // copy `louvain_partitions` makes of it.
    let mut und = WGraph::with_nodes(n);
    let mut first_out: Vec<Vec<(u32, u64)>> = vec![Vec::new(); n];
    for (&(u, v), &w) in g.edges.iter().zip(weights) {
        first_out[u as usize].push((v, w));
    }
    for (u, outs) in first_out.iter().enumerate() {
        for &(v, w) in outs {
            und.add_edge(u as u32, v, w);
        }
    }
    let mut graph = und.rebuilt();
    // The community of every original node, as a node of the current level graph.
    let mut level_of: Vec<u32> = (0..n as u32).collect();
    if graph.weight.is_empty() {
        return level_of;
    }
    let m = graph.degrees().iter().sum::<u64>() as f64 / 2.0;
    let mut modularity = graph.modularity(&level_of, n);
    let (mut com, _) = louvain_one_level(&graph, m);
    loop {
        // The partition of this level is the result so far.
        let result: Vec<u32> = level_of.iter().map(|&x| com[x as usize]).collect();
        let new_mod = graph.modularity(&com, graph.node_count());
        if new_mod - modularity <= 1e-7 {
            return renumber(&result);
        }
        modularity = new_mod;
        let (h, new_of) = louvain_aggregate(&graph, &com);
        for x in &mut level_of {
            *x = new_of[*x as usize];
        }
        graph = h;
        let (next, improvement) = louvain_one_level(&graph, m);
        if !improvement {
            return renumber(&result);
        }
        com = next;
    }
}

/// One candidate merge in [`greedy_modularity`]'s order: the largest modularity gain
/// first, ties by the pair's node labels (the first node's, then the second's), as
/// NetworkX's heaps order `(-dq, u, v)`. Gains compare as floats, so `-0.0 == 0.0`.
#[derive(Clone, Copy, Debug)]
struct Merge {
    neg_dq: f64,
    /// Label ranks of the two communities' surviving nodes.
    u: u32,
    v: u32,
}

impl PartialEq for Merge {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == std::cmp::Ordering::Equal
    }
}

impl Eq for Merge {}

impl PartialOrd for Merge {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Merge {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        // Gains are finite (m >= 1): `partial_cmp` never fails.
        self.neg_dq
            .partial_cmp(&o.neg_dq)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(self.u.cmp(&o.u))
            .then(self.v.cmp(&o.v))
    }
}

/// Greedy modularity communities (Clauset, Newman & Moore, as NetworkX 3.x's
/// `greedy_modularity_communities` with its defaults: unweighted, resolution 1, merging
/// while the best gain is not negative) of the undirected simple graph underlying `g`,
/// a self loop counting in its node's degree and in the edge count. Returns a community
/// index per node, renumbered by first appearance in node order.
///
/// Every node starts alone; each step merges the pair of adjacent communities with the
/// largest gain `dq` (ties: the smallest `label_rank` of the first community, then of
/// the second, NetworkX's comparison of node labels), the first into the second, and
/// updates the gains with the same float operations in the same order, so that ties
/// fall the same way. Empty `label_rank`: node order breaks ties.
pub fn greedy_modularity(g: &DiGraph, label_rank: &[u32]) -> Vec<u32> {
    use std::collections::BTreeSet;
    let n = g.n;
    let (off, nbrs, self_loop) = g.undirected();
    let loops = self_loop.iter().filter(|&&l| l).count();
    let m = nbrs.len() / 2 + loops;
    if m == 0 {
        return (0..n as u32).collect();
    }
    let node_order: Vec<u32>;
    let rank: &[u32] = if label_rank.len() == n {
        label_rank
    } else {
        node_order = (0..n as u32).collect();
        &node_order
    };
    let mut node_of = vec![0u32; n];
    for (v, &r) in rank.iter().enumerate() {
        node_of[r as usize] = v as u32;
    }
    let q0 = 1.0 / m as f64;
    let mut a: Vec<f64> = (0..n)
        .map(|v| {
            let deg = (off[v + 1] - off[v]) as usize + 2 * usize::from(self_loop[v]);
            deg as f64 * q0 * 0.5
        })
        .collect();
    // dq[u][v]: the gain of merging u's community into v's, for adjacent communities.
    let mut dq: Vec<HashMap<u32, f64>> = vec![HashMap::new(); n];
    let mut heap: BTreeSet<Merge> = BTreeSet::new();
    // The nodes of each community, under its surviving node.
    let mut members: Vec<Vec<u32>> = (0..n as u32).map(|v| vec![v]).collect();
    let key = |u: u32, v: u32, d: f64| Merge {
        neg_dq: -d,
        u: rank[u as usize],
        v: rank[v as usize],
    };
    for u in 0..n {
        for &v in &nbrs[off[u] as usize..off[u + 1] as usize] {
            let d = q0 * 1.0 - (a[u] * a[v as usize] + a[u] * a[v as usize]);
            dq[u].insert(v, d);
            heap.insert(key(u as u32, v, d));
        }
    }
    while let Some(best) = heap.pop_first() {
        if -best.neg_dq < 0.0 {
            break;
        }
        let (u, v) = (node_of[best.u as usize], node_of[best.v as usize]);
        let (ui, vi) = (u as usize, v as usize);
        if let Some(&back) = dq[vi].get(&u) {
            heap.remove(&key(v, u, back));
        }
        // Merge u into v: the gains of v's community with every neighbour of either.
        let mut all: Vec<u32> = dq[ui].keys().chain(dq[vi].keys()).copied().collect();
        all.sort_unstable();
        all.dedup();
        for w in all {
            if w == u || w == v {
                continue;
            }
            let wi = w as usize;
            let d = match (dq[vi].get(&w), dq[ui].get(&w)) {
                (Some(&dv), Some(&du)) => dv + du,
                (Some(&dv), None) => dv - (a[ui] * a[wi] + a[wi] * a[ui]),
                (None, Some(&du)) => du - (a[vi] * a[wi] + a[wi] * a[vi]),
                (None, None) => continue,
            };
            for (row, col) in [(v, w), (w, v)] {
                if let Some(old) = dq[row as usize].insert(col, d) {
                    heap.remove(&key(row, col, old));
                }
                heap.insert(key(row, col, d));
            }
        }
        // Drop u's row and column.
        for (w, old) in std::mem::take(&mut dq[ui]) {
            let back = dq[w as usize].remove(&u);
            if w != v {
                heap.remove(&key(u, w, old));
                if let Some(b) = back {
                    heap.remove(&key(w, u, b));
                }
            }
        }
        a[vi] += a[ui];
        a[ui] = 0.0;
        let mut moved = std::mem::take(&mut members[ui]);
        if moved.len() > members[vi].len() {
            std::mem::swap(&mut moved, &mut members[vi]);
        }
        members[vi].extend(moved);
    }
    let mut label = vec![0u32; n];
    for (c, nodes) in members.iter().enumerate() {
        for &x in nodes {
            label[x as usize] = c as u32;
        }
    }
    renumber(&label)
}

/// Rounds of label updates after which [`label_propagation`] stops even if some label
/// is not yet among its node's most frequent ones (convergence is normally reached in a
/// handful of rounds).
pub const LABEL_PROPAGATION_MAX_ROUNDS: usize = 1000;

/// Semi-synchronous label propagation (Cordasco & Gargano, as NetworkX's
/// `label_propagation_communities`) on the undirected simple graph, a self loop being
/// one vote of the node for its own label. Returns a community index per node,
/// renumbered by first appearance in node order.
///
/// Every node starts with its own id as label. Nodes are coloured greedily, largest
/// degree first (ties in node order); each round updates the colour classes in colour
/// order, the nodes of a class in node order: a node takes the most frequent label
/// among its neighbours, and on a tie keeps its label if it is among the most frequent,
/// otherwise takes the largest. Rounds repeat until every node's label is among its
/// most frequent ones (at most [`LABEL_PROPAGATION_MAX_ROUNDS`]).
pub fn label_propagation(g: &DiGraph) -> Vec<u32> {
    let (off, nbrs, self_loop) = g.undirected();
    let n = g.n;
    let nb = |v: usize| &nbrs[off[v] as usize..off[v + 1] as usize];
    let degree = |v: usize| (off[v + 1] - off[v]) as usize + 2 * usize::from(self_loop[v]);
    // Greedy colouring, largest degree first (stable: ties keep node order).
    let mut by_degree: Vec<usize> = (0..n).collect();
    by_degree.sort_by_key(|&v| std::cmp::Reverse(degree(v)));
    let mut colour = vec![u32::MAX; n];
    let mut taken: Vec<bool> = Vec::new();
    let mut n_colours = 0u32;
    for &u in &by_degree {
        taken.clear();
        taken.resize(n_colours as usize + 1, false);
        for &v in nb(u) {
            let c = colour[v as usize];
            if c != u32::MAX {
                taken[c as usize] = true;
            }
        }
        let c = taken.iter().position(|&t| !t).expect("one colour is free") as u32;
        colour[u] = c;
        n_colours = n_colours.max(c + 1);
    }
    let (class_off, class_nodes) = csr(
        n_colours as usize,
        (0..n as u32).map(|v| (colour[v as usize], v)),
    );

    let mut label: Vec<u32> = (0..n as u32).collect();
    let mut count = vec![0u32; n];
    let mut touched: Vec<u32> = Vec::new();
    // The most frequent labels around `v` (into `best`), or false for a node with no
    // neighbour at all.
    let most_frequent = |v: usize,
                         label: &[u32],
                         count: &mut [u32],
                         touched: &mut Vec<u32>,
                         best: &mut Vec<u32>|
     -> bool {
        best.clear();
        touched.clear();
        let own = self_loop[v].then_some(v as u32);
        for &w in nb(v).iter().chain(own.iter()) {
            let l = label[w as usize];
            if count[l as usize] == 0 {
                touched.push(l);
            }
            count[l as usize] += 1;
        }
        let max = touched.iter().map(|&l| count[l as usize]).max();
        if let Some(max) = max {
            best.extend(
                touched
                    .iter()
                    .copied()
                    .filter(|&l| count[l as usize] == max),
            );
        }
        for &l in touched.iter() {
            count[l as usize] = 0;
        }
        max.is_some()
    };
    let mut best: Vec<u32> = Vec::new();
    for _ in 0..LABEL_PROPAGATION_MAX_ROUNDS {
        let complete = (0..n).all(|v| {
            !most_frequent(v, &label, &mut count, &mut touched, &mut best)
                || best.contains(&label[v])
        });
        if complete {
            break;
        }
        for c in 0..n_colours as usize {
            for &v in &class_nodes[class_off[c] as usize..class_off[c + 1] as usize] {
                let v = v as usize;
                if !most_frequent(v, &label, &mut count, &mut touched, &mut best) {
                    continue;
                }
                if best.len() == 1 {
                    label[v] = best[0];
                } else if !best.contains(&label[v]) {
                    label[v] = *best.iter().max().expect("non-empty");
                }
            }
        }
    }
    renumber(&label)
}

// ---------------------------------------------------------------------------------------
// The window of flows

/// One flow as the graph sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowRecord {
    /// Initiator node id.
    pub src: u32,
    /// Responder node id.
    pub dst: u32,
    /// Responder port.
    pub dst_port: u16,
    /// Packets of both directions.
    pub packets: u64,
    /// Bytes of both directions.
    pub bytes: u64,
}

/// What [`Window::compute`] computes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GraphOptions {
    /// Degrees, betweenness, clustering and communities (`connection_include_graph_metrics`).
    pub graph_metrics: bool,
    pub communities: CommunityAlgorithm,
}

/// The flows of one graph window, in output order.
#[derive(Clone, Debug, Default)]
pub struct Window {
    flows: Vec<FlowRecord>,
    /// One more than the largest node id seen.
    nodes: u32,
}

impl Window {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn clear(&mut self) {
        self.flows.clear();
        self.nodes = 0;
    }

    /// Adds a flow. Node ids should be dense (as [`NodeIds`] assigns them): every id
    /// below the largest one is a node of the graph.
    pub fn push(&mut self, flow: FlowRecord) {
        self.nodes = self.nodes.max(flow.src + 1).max(flow.dst + 1);
        self.flows.push(flow);
    }

    pub fn flows(&self) -> &[FlowRecord] {
        &self.flows
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    pub fn node_count(&self) -> usize {
        self.nodes as usize
    }

    /// Every per-node and per-flow quantity the features need.
    /// `label_rank[v]` orders the nodes by their text label, for the greedy algorithm's
    /// ties (node order when it is empty).
    pub fn compute(&self, opts: GraphOptions, label_rank: &[u32]) -> Metrics {
        let n = self.nodes as usize;
        let mut node = vec![NodeTotals::default(); n];
        let mut edge_of: HashMap<(u32, u32), u32> = HashMap::new();
        let mut edges: Vec<(u32, u32)> = Vec::new();
        let mut edge_flows: Vec<u64> = Vec::new();
        let mut port_flows: HashMap<(u32, u16), u64> = HashMap::new();
        let mut flow_edge: Vec<u32> = Vec::with_capacity(self.flows.len());
        for f in &self.flows {
            let e = *edge_of.entry((f.src, f.dst)).or_insert_with(|| {
                edges.push((f.src, f.dst));
                edge_flows.push(0);
                (edges.len() - 1) as u32
            });
            edge_flows[e as usize] += 1;
            *port_flows.entry((e, f.dst_port)).or_insert(0) += 1;
            flow_edge.push(e);
            let s = &mut node[f.src as usize];
            s.out_flows += 1;
            s.packets_sent = s.packets_sent.saturating_add(f.packets);
            s.bytes_sent = s.bytes_sent.saturating_add(f.bytes);
            let d = &mut node[f.dst as usize];
            d.in_flows += 1;
            d.packets_received = d.packets_received.saturating_add(f.packets);
            d.bytes_received = d.bytes_received.saturating_add(f.bytes);
        }
        // Distinct responder ports per initiator.
        let mut src_ports: Vec<(u32, u16)> =
            self.flows.iter().map(|f| (f.src, f.dst_port)).collect();
        src_ports.sort_unstable();
        src_ports.dedup();
        for &(s, _) in &src_ports {
            node[s as usize].unique_ports += 1;
        }
        let per_flow = self
            .flows
            .iter()
            .zip(&flow_edge)
            .map(|(f, &e)| EdgeCounts {
                edge_flows: edge_flows[e as usize],
                port_flows: port_flows[&(e, f.dst_port)],
            })
            .collect();

        let graph = DiGraph::from_edges(n, &edges);
        let (betweenness, clustering, community) = if opts.graph_metrics {
            let community = match opts.communities {
                CommunityAlgorithm::None => Vec::new(),
                CommunityAlgorithm::Louvain => louvain(&graph, &edge_flows),
                CommunityAlgorithm::LabelPropagation => label_propagation(&graph),
                CommunityAlgorithm::Greedy => greedy_modularity(&graph, label_rank),
            };
            (betweenness(&graph), clustering(&graph), community)
        } else {
            (Vec::new(), Vec::new(), Vec::new())
        };
        Metrics {
            flows: self.flows.clone(),
            per_flow,
            node,
            graph,
            betweenness,
            clustering,
            community,
        }
    }
}

/// Per-node sums over the flows of a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeTotals {
    /// Flows the node initiated.
    pub out_flows: u64,
    /// Flows the node responded to.
    pub in_flows: u64,
    pub packets_sent: u64,
    pub bytes_sent: u64,
    pub packets_received: u64,
    pub bytes_received: u64,
    /// Distinct responder ports of the flows the node initiated.
    pub unique_ports: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct EdgeCounts {
    edge_flows: u64,
    port_flows: u64,
}

/// The result of [`Window::compute`].
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    flows: Vec<FlowRecord>,
    per_flow: Vec<EdgeCounts>,
    node: Vec<NodeTotals>,
    graph: DiGraph,
    /// Empty without graph metrics.
    betweenness: Vec<f64>,
    clustering: Vec<f64>,
    /// Empty without communities.
    community: Vec<u32>,
}

/// The 20 features of one flow, in column order (the graph metrics are meaningful only
/// with [`GraphOptions::graph_metrics`]; without communities they are −1, −1, false).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FlowFeatures {
    pub src_unique_dsts: u64,
    pub dst_unique_srcs: u64,
    pub src_dst_flows: u64,
    pub src_port_flows: u64,
    pub src_total_flows: u64,
    pub dst_total_flows: u64,
    pub src_total_packets: u64,
    pub src_total_bytes: u64,
    pub dst_total_packets: u64,
    pub dst_total_bytes: u64,
    pub src_unique_ports: u64,
    pub src_out_degree: u64,
    pub dst_in_degree: u64,
    pub src_betweenness: f64,
    pub dst_betweenness: f64,
    pub src_community: i64,
    pub dst_community: i64,
    pub same_community: bool,
    pub src_clustering: f64,
    pub dst_clustering: f64,
}

impl Metrics {
    pub fn node_count(&self) -> usize {
        self.node.len()
    }

    pub fn node_totals(&self, v: u32) -> &NodeTotals {
        &self.node[v as usize]
    }

    pub fn graph(&self) -> &DiGraph {
        &self.graph
    }

    /// Community index of node `v`, −1 when communities were not computed.
    pub fn community(&self, v: u32) -> i64 {
        self.community.get(v as usize).map_or(-1, |&c| i64::from(c))
    }

    /// The features of flow `i` (in push order).
    pub fn flow(&self, i: usize) -> FlowFeatures {
        let f = &self.flows[i];
        let c = &self.per_flow[i];
        let s = &self.node[f.src as usize];
        let d = &self.node[f.dst as usize];
        let out_degree = self.graph.out_degree(f.src) as u64;
        let in_degree = self.graph.in_degree(f.dst) as u64;
        let get = |v: &[f64], x: u32| v.get(x as usize).copied().unwrap_or(0.0);
        let (src_community, dst_community) = (self.community(f.src), self.community(f.dst));
        FlowFeatures {
            // The distinct responders of src are its successors in the graph.
            src_unique_dsts: out_degree,
            dst_unique_srcs: in_degree,
            src_dst_flows: c.edge_flows,
            src_port_flows: c.port_flows,
            src_total_flows: s.out_flows,
            dst_total_flows: d.in_flows,
            src_total_packets: s.packets_sent,
            src_total_bytes: s.bytes_sent,
            dst_total_packets: d.packets_received,
            dst_total_bytes: d.bytes_received,
            src_unique_ports: s.unique_ports,
            src_out_degree: out_degree,
            dst_in_degree: in_degree,
            src_betweenness: get(&self.betweenness, f.src),
            dst_betweenness: get(&self.betweenness, f.dst),
            src_community,
            dst_community,
            same_community: src_community >= 0 && src_community == dst_community,
            src_clustering: get(&self.clustering, f.src),
            dst_clustering: get(&self.clustering, f.dst),
        }
    }
}

#[cfg(test)]
mod tests;
