//! `connection`: JoyfulJay's connection-graph group (spec §4.23), 20 features computed
//! over all the flows of a *graph window* (a run of consecutive output rows; the host
//! decides the windows, see docs/plugin-api.md).
//!
//! Nodes are IP addresses (`connection_use_ports=true`: address and port), and every
//! flow is a directed edge from its initiator to its responder. Per flow, `src` is the
//! initiator's node and `dst` the responder's:
//!
//! * counters — distinct responders of src, distinct initiators of dst, flows on the
//!   edge (src, dst) and on that edge to this responder port, flows src initiated and
//!   dst responded to, their packets and bytes (both directions of each flow), distinct
//!   responder ports of src's flows;
//! * graph metrics (`connection_include_graph_metrics`, default true) — out-degree of
//!   src, in-degree of dst, betweenness and clustering of both, community of both and
//!   whether they are equal. See [`graph`] for the exact semantics (NetworkX's).
//!
//! Packets and bytes of a flow are the ones `flow_meta` reports as `total_packets` and
//! `total_bytes`: the flow's packet records, and the sum of their IP total lengths
//! (link-layer framing excluded), both directions; JoyfulJay sums `Packet.total_len`,
//! the same IP total length.
//!
//! **Two passes** (`Requirements::needs_all_flows`, plugin-api 1.1). Pass 1, `extract`
//! (any thread, full view): the slots are scratch — slot 0 the packet count, 1 the byte
//! total, 2 and 3 the first and last packet time in ns (all `Value::Int`), the others
//! null. Pass 2, per window on one instance: `observe_row` with each flow's key and
//! scratch, then `finish_row` for the same flows in the same order, which computes the
//! window's graph once (at the first `finish_row`) and writes the typed features. The
//! first `observe_row` after a `finish_row` starts a new window.
//!
//! Options:
//! * `connection_use_ports` (bool, false) — node = address and port;
//! * `connection_include_graph_metrics` (bool, true) — without it the 9 graph features
//!   (`conn_src_out_degree` … `conn_dst_clustering`) are not columns at all;
//! * `connection_community_algorithm` (`louvain` default, `greedy`, `label_propagation`,
//!   `none`) — any other value is a configuration error. All are deterministic (node
//!   order = first-seen order, no randomness). Louvain and label propagation are random
//!   in NetworkX, so their partitions may differ from JoyfulJay's; greedy modularity is
//!   deterministic there too and gives the same partition (ties broken by the node
//!   labels' text, as NetworkX compares them). Community indices are numbered by first
//!   appearance in node order for every algorithm. Greedy costs, like NetworkX's, about
//!   the degree of the merged communities per merge: a hub with 10,000 neighbours takes
//!   about 20 s a window, so bound windows (`--graph-window`) on such traffic;
//! * `connection_include_temporal` (bool, false) — three more columns after the others,
//!   JoyfulJay's unschematised `conn_src_flow_rate`, `conn_temporal_spread`,
//!   `conn_burst_connections` (see [`temporal`]).
//!
//! `unsafe` is denied here (the code `export_plugin!` generates needs a local `allow`)
//! and forbidden in the pure modules [`graph`] and [`temporal`].
#![deny(unsafe_code)]

pub mod graph;
pub mod temporal;

use std::fmt::Write as _;

use graph::{CommunityAlgorithm, FlowRecord, GraphOptions, Metrics, NodeIds, Window};
use jj_kit::time::ts_ns_to_secs;
use jj_plugin_api::{
    DType, Extractor, ExtractorFactory, ExtractorInfo, FeatureMeta, FlowView, Options, PluginError,
    PluginResult, Requirements, Value,
};
use temporal::{FlowTimes, NodeTemporal};

/// Feature group and id prefix.
pub const GROUP: &str = "connection";

/// Option names.
pub mod option {
    pub const USE_PORTS: &str = "connection_use_ports";
    pub const GRAPH_METRICS: &str = "connection_include_graph_metrics";
    pub const COMMUNITY_ALGORITHM: &str = "connection_community_algorithm";
    pub const TEMPORAL: &str = "connection_include_temporal";

    /// All of them, as the component declares them.
    pub const ALL: &[jj_plugin_api::OptionSpec] = &[
        jj_plugin_api::OptionSpec::new(USE_PORTS, "graph nodes are address and port (true/false)"),
        jj_plugin_api::OptionSpec::new(GRAPH_METRICS, "false: only the 11 counters"),
        jj_plugin_api::OptionSpec::new(
            COMMUNITY_ALGORITHM,
            "louvain, greedy, label_propagation or none",
        ),
        jj_plugin_api::OptionSpec::new(TEMPORAL, "3 more columns (true/false)"),
    ];
}

/// Static description of one feature.
struct Spec {
    name: &'static str,
    dtype: DType,
    units: &'static str,
    direction: &'static str,
    semantics: &'static str,
    description: &'static str,
}

const fn spec(
    name: &'static str,
    dtype: DType,
    units: &'static str,
    direction: &'static str,
    semantics: &'static str,
    description: &'static str,
) -> Spec {
    Spec {
        name,
        dtype,
        units,
        direction,
        semantics,
        description,
    }
}

use DType::{Bool as B, Float64 as F, Int64 as I};

const SRC: &str = "src_to_dst";
const DST: &str = "dst_to_src";
const BIDIR: &str = "bidir";

/// Number of counter features (always present).
const COUNTERS: usize = 11;
/// Number of graph-metric features (`connection_include_graph_metrics`).
const GRAPH_METRICS: usize = 9;
/// Number of temporal features (`connection_include_temporal`).
const TEMPORAL: usize = 3;

/// The counters and graph metrics, in column order (the reference's).
const FEATURES: [Spec; COUNTERS + GRAPH_METRICS] = [
    spec("conn_src_unique_dsts", I, "count", SRC, "responders of the initiator's node",
        "Number of distinct responder nodes of the flows the initiator's node initiated in the window"),
    spec("conn_dst_unique_srcs", I, "count", DST, "initiators of the responder's node",
        "Number of distinct initiator nodes of the flows the responder's node responded to in the window"),
    spec("conn_src_dst_flows", I, "count", BIDIR, "flows from the initiator's node to the responder's node",
        "Number of flows in the window from this flow's initiator node to its responder node (this one included; the reverse direction not counted)"),
    spec("conn_src_port_flows", I, "count", SRC, "flows of this node pair to this responder port",
        "Number of flows in the window from this flow's initiator node to its responder node with the same responder port"),
    spec("conn_src_total_flows", I, "count", SRC, "flows the initiator's node initiated",
        "Number of flows in the window initiated by this flow's initiator node"),
    spec("conn_dst_total_flows", I, "count", DST, "flows the responder's node responded to",
        "Number of flows in the window whose responder is this flow's responder node"),
    spec("conn_src_total_packets", I, "count", SRC, "flows the initiator's node initiated, both directions",
        "Packets (both directions) of all flows in the window initiated by this flow's initiator node"),
    spec("conn_src_total_bytes", I, "bytes", SRC, "flows the initiator's node initiated, both directions",
        "Bytes (sum of IP total lengths, both directions) of all flows in the window initiated by this flow's initiator node"),
    spec("conn_dst_total_packets", I, "count", DST, "flows the responder's node responded to, both directions",
        "Packets (both directions) of all flows in the window whose responder is this flow's responder node"),
    spec("conn_dst_total_bytes", I, "bytes", DST, "flows the responder's node responded to, both directions",
        "Bytes (sum of IP total lengths, both directions) of all flows in the window whose responder is this flow's responder node"),
    spec("conn_src_unique_ports", I, "count", SRC, "responder ports of the initiator's node's flows",
        "Number of distinct responder ports among the flows in the window initiated by this flow's initiator node"),
    spec("conn_src_out_degree", I, "count", SRC, "the initiator's node in the window's directed graph",
        "Out-degree of the initiator's node in the window's directed connection graph (distinct successors; a flow to itself counts once)"),
    spec("conn_dst_in_degree", I, "count", DST, "the responder's node in the window's directed graph",
        "In-degree of the responder's node in the window's directed connection graph (distinct predecessors; a flow from itself counts once)"),
    spec("conn_src_betweenness", F, "", SRC, "the initiator's node in the window's directed graph",
        "Betweenness centrality of the initiator's node: unweighted directed shortest paths, endpoints excluded, normalised by 1/((n-1)(n-2)) for n > 2 nodes"),
    spec("conn_dst_betweenness", F, "", DST, "the responder's node in the window's directed graph",
        "Betweenness centrality of the responder's node: unweighted directed shortest paths, endpoints excluded, normalised by 1/((n-1)(n-2)) for n > 2 nodes"),
    spec("conn_src_community", I, "", SRC, "community of the initiator's node",
        "Community index of the initiator's node (deterministic Louvain by default, weighted by flows; index 0 holds the window's first node); -1 when communities are off"),
    spec("conn_dst_community", I, "", DST, "community of the responder's node",
        "Community index of the responder's node (deterministic Louvain by default, weighted by flows; index 0 holds the window's first node); -1 when communities are off"),
    spec("conn_same_community", B, "", BIDIR, "both endpoints' nodes",
        "True when the initiator's and the responder's nodes are in the same community; false when communities are off"),
    spec("conn_src_clustering", F, "", SRC, "the initiator's node in the undirected graph",
        "Local clustering coefficient of the initiator's node in the window's undirected connection graph (reciprocal edges merged, self loops ignored)"),
    spec("conn_dst_clustering", F, "", DST, "the responder's node in the undirected graph",
        "Local clustering coefficient of the responder's node in the window's undirected connection graph (reciprocal edges merged, self loops ignored)"),
];

/// JoyfulJay's optional temporal features (not in its schema), after the others.
const TEMPORAL_FEATURES: [Spec; TEMPORAL] = [
    spec("conn_src_flow_rate", F, "flows/s", SRC, "the initiator's node",
        "Flows the initiator's node initiated in the window, divided by the time from the first packet to the last of all flows it took part in (either role); 0 when that span is 0"),
    spec("conn_temporal_spread", F, "s", SRC, "the initiator's node",
        "Population standard deviation of the start times of the flows the initiator's node took part in (either role) in the window"),
    spec("conn_burst_connections", I, "count", SRC, "the initiator's node",
        "Longest run of start times (sorted, flows the initiator's node took part in, either role) whose consecutive gaps are at most 1 s"),
];

/// Feature index of the community columns (for the missing sentinel).
const SRC_COMMUNITY: usize = 15;
const DST_COMMUNITY: usize = 16;

/// Scratch slots of pass 1.
mod scratch {
    pub const PACKETS: usize = 0;
    pub const BYTES: usize = 1;
    pub const FIRST_NS: usize = 2;
    pub const LAST_NS: usize = 3;
}

/// Parsed options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Config {
    use_ports: bool,
    graph_metrics: bool,
    communities: CommunityAlgorithm,
    temporal: bool,
}

fn bool_option(options: &Options, key: &str, default: bool) -> PluginResult<bool> {
    match options.get(key).map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(_) => Err(PluginError::config(format!(
            "connection: option {key}={:?} is not a boolean (use true or false)",
            options.get(key).unwrap_or_default()
        ))),
    }
}

impl Config {
    fn from_options(options: &Options) -> PluginResult<Config> {
        let communities = match options.get(option::COMMUNITY_ALGORITHM) {
            None => CommunityAlgorithm::default(),
            Some(v) => CommunityAlgorithm::parse(v).ok_or_else(|| {
                PluginError::config(format!(
                    "connection: option {}={v:?} is not supported (use {})",
                    option::COMMUNITY_ALGORITHM,
                    CommunityAlgorithm::ACCEPTED
                ))
            })?,
        };
        Ok(Config {
            use_ports: bool_option(options, option::USE_PORTS, false)?,
            graph_metrics: bool_option(options, option::GRAPH_METRICS, true)?,
            communities,
            temporal: bool_option(options, option::TEMPORAL, false)?,
        })
    }

    /// The features in column order.
    fn features(&self) -> impl Iterator<Item = (usize, &'static Spec)> {
        let base = if self.graph_metrics {
            &FEATURES[..]
        } else {
            &FEATURES[..COUNTERS]
        };
        let extra: &[Spec] = if self.temporal {
            &TEMPORAL_FEATURES[..]
        } else {
            &[]
        };
        base.iter().chain(extra).enumerate()
    }

    fn columns(&self) -> usize {
        COUNTERS
            + if self.graph_metrics { GRAPH_METRICS } else { 0 }
            + if self.temporal { TEMPORAL } else { 0 }
    }

    fn graph_options(&self) -> GraphOptions {
        GraphOptions {
            graph_metrics: self.graph_metrics,
            communities: self.communities,
        }
    }
}

fn feature_meta(index: usize, s: &Spec, cfg: &Config) -> FeatureMeta {
    let mut m = FeatureMeta::new(GROUP, s.name, s.dtype, s.description)
        .units(s.units)
        .direction(s.direction)
        .profile("JJ-EXPERIMENTAL");
    m.direction_semantics = s.semantics.into();
    if cfg.graph_metrics && (index == SRC_COMMUNITY || index == DST_COMMUNITY) {
        m = m.missing("sentinel", "-1");
    }
    if cfg.use_ports {
        m = m.deps(&["ip", "tcp", "udp"]);
    }
    m
}

/// The factory registered under the component name `connection`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnectionFactory;

impl ExtractorFactory for ConnectionFactory {
    type Instance = Connection;
    fn options(&self) -> Option<Vec<jj_plugin_api::OptionSpec>> {
        Some(option::ALL.to_vec())
    }

    fn describe(&self, options: &Options) -> PluginResult<ExtractorInfo> {
        let cfg = Config::from_options(options)?;
        let features: Vec<FeatureMeta> = cfg
            .features()
            .map(|(i, s)| feature_meta(i, s, &cfg))
            .collect();
        Ok(ExtractorInfo {
            group: GROUP.into(),
            features: features.into(),
            // Headers only, but every flow of a window before any row.
            requirements: Requirements {
                needs_all_flows: 1,
                ..Requirements::default()
            },
        })
    }

    fn create(&self, options: &Options) -> PluginResult<Connection> {
        Ok(Connection::with_config(Config::from_options(options)?))
    }
}

/// A graph node: address (IPv4 in the first 4 bytes, the rest zero) and, with
/// `connection_use_ports`, the port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct NodeKey {
    version: u8,
    addr: [u8; 16],
    port: u16,
}

/// The state of pass 2.
#[derive(Debug, Default)]
enum Phase {
    /// Collecting the flows of a window (`observe_row`).
    #[default]
    Observing,
    /// Writing the rows of the window (`finish_row`); `next` is the next flow's index.
    Finishing {
        metrics: Box<Metrics>,
        temporal: Vec<NodeTemporal>,
        next: usize,
    },
}

/// One extractor instance.
#[derive(Debug, Default)]
pub struct Connection {
    cfg: Config,
    ids: NodeIds<NodeKey>,
    window: Window,
    /// Per flow of the window, with `connection_include_temporal` only.
    times: Vec<FlowTimes>,
    phase: Phase,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            use_ports: false,
            graph_metrics: true,
            communities: CommunityAlgorithm::default(),
            temporal: false,
        }
    }
}

/// Saturating `u64` → `i64`.
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A non-negative integer scratch value (0 for anything else, e.g. a null left by a
/// failed first pass).
fn scratch_u64(v: Option<&Value>) -> u64 {
    match v {
        Some(Value::Int(x)) => u64::try_from(*x).unwrap_or(0),
        _ => 0,
    }
}

fn scratch_ns(v: Option<&Value>) -> Option<i64> {
    match v {
        Some(Value::Int(x)) => Some(*x),
        _ => None,
    }
}

impl Connection {
    /// An instance with the default options (`create` is the usual way).
    pub fn new() -> Self {
        Self::default()
    }

    fn with_config(cfg: Config) -> Self {
        Connection {
            cfg,
            ..Connection::default()
        }
    }

    fn key(&self, version: u8, addr: &[u8; 16], port: u16) -> NodeKey {
        let mut a = *addr;
        if version != 6 {
            a[4..].fill(0);
        }
        NodeKey {
            version,
            addr: a,
            port: if self.cfg.use_ports { port } else { 0 },
        }
    }

    fn endpoints(&self, flow: &FlowView<'_>) -> (NodeKey, NodeKey) {
        (
            self.key(flow.ip_version, &flow.src_ip, flow.src_port),
            self.key(flow.ip_version, &flow.dst_ip, flow.dst_port),
        )
    }

    fn check_len(&self, len: usize) -> PluginResult<()> {
        let columns = self.cfg.columns();
        if len != columns {
            return Err(PluginError::other(format!(
                "connection: the host passed {len} slots, expected {columns}"
            )));
        }
        Ok(())
    }

    /// Starts a new window.
    fn reset(&mut self) {
        self.ids.clear();
        self.window.clear();
        self.times.clear();
        self.phase = Phase::Observing;
    }

    /// Each node's rank among the window's node labels as the reference writes them
    /// (`ip`, or `ip:port` with `connection_use_ports`; IPv6 as `inet_ntop` prints it),
    /// ordered as Python orders strings (by code point: bytes, for this ASCII text).
    fn label_ranks(&self) -> PluginResult<Vec<u32>> {
        let keys = self.ids.keys_by_id();
        let mut labels: Vec<(String, u32)> = Vec::with_capacity(keys.len());
        for (id, k) in keys.iter().enumerate() {
            let mut text = String::new();
            jj_kit::addr::write_ip(&mut text, k.version, &k.addr, true)
                .and_then(|()| {
                    if self.cfg.use_ports {
                        write!(text, ":{}", k.port)
                    } else {
                        Ok(())
                    }
                })
                .map_err(|_| PluginError::other("connection: formatting a node label failed"))?;
            labels.push((text, id as u32));
        }
        labels.sort_unstable();
        let mut rank = vec![0u32; labels.len()];
        for (r, (_, id)) in labels.iter().enumerate() {
            rank[*id as usize] = r as u32;
        }
        Ok(rank)
    }

    /// Computes the window's graph (at the first `finish_row`).
    fn finish_window(&mut self) -> PluginResult<()> {
        if self.window.is_empty() {
            return Err(PluginError::other(
                "connection: finish_row before any observe_row (the host must observe every flow of a window first)",
            ));
        }
        let ranks = if self.cfg.graph_metrics && self.cfg.communities == CommunityAlgorithm::Greedy
        {
            self.label_ranks()?
        } else {
            Vec::new()
        };
        let metrics = self.window.compute(self.cfg.graph_options(), &ranks);
        let temporal = if self.cfg.temporal {
            let n = metrics.node_count();
            let out: Vec<u64> = (0..n as u32)
                .map(|v| metrics.node_totals(v).out_flows)
                .collect();
            temporal::node_temporal(n, &self.times, &out)
        } else {
            Vec::new()
        };
        self.phase = Phase::Finishing {
            metrics: Box::new(metrics),
            temporal,
            next: 0,
        };
        Ok(())
    }
}

impl Extractor for Connection {
    /// Pass 1: scratch values for pass 2.
    fn extract(&mut self, flow: &FlowView<'_>, out: &mut [Value]) -> PluginResult<()> {
        self.check_len(out.len())?;
        let packets = flow.packets();
        let bytes: u64 = packets.iter().map(|p| u64::from(p.ip_len)).sum();
        for v in out.iter_mut() {
            v.set_null();
        }
        out[scratch::PACKETS].set_int(int(packets.len() as u64));
        out[scratch::BYTES].set_int(int(bytes));
        if !packets.is_empty() {
            out[scratch::FIRST_NS].set_int(flow.first_ts_ns());
            out[scratch::LAST_NS].set_int(flow.last_ts_ns());
        }
        Ok(())
    }

    fn observe_row(&mut self, flow: &FlowView<'_>, row: &[Value]) -> PluginResult<()> {
        if matches!(self.phase, Phase::Finishing { .. }) {
            self.reset();
        }
        self.check_len(row.len())?;
        let (s, d) = self.endpoints(flow);
        let src = self.ids.id(s);
        let dst = self.ids.id(d);
        self.window.push(FlowRecord {
            src,
            dst,
            dst_port: flow.dst_port,
            packets: scratch_u64(row.get(scratch::PACKETS)),
            bytes: scratch_u64(row.get(scratch::BYTES)),
        });
        if self.cfg.temporal {
            let first = scratch_ns(row.get(scratch::FIRST_NS));
            let last = scratch_ns(row.get(scratch::LAST_NS));
            self.times.push(FlowTimes {
                src,
                dst,
                span: first
                    .zip(last)
                    .map(|(a, b)| (ts_ns_to_secs(a), ts_ns_to_secs(b))),
            });
        }
        Ok(())
    }

    fn finish_row(&mut self, flow: &FlowView<'_>, row: &mut [Value]) -> PluginResult<()> {
        self.check_len(row.len())?;
        if matches!(self.phase, Phase::Observing) {
            self.finish_window()?;
        }
        let (s, d) = self.endpoints(flow);
        let ids = (self.ids.get(&s), self.ids.get(&d));
        let Phase::Finishing {
            metrics,
            temporal,
            next,
        } = &mut self.phase
        else {
            unreachable!("set by finish_window");
        };
        let i = *next;
        let Some(rec) = self.window.flows().get(i) else {
            return Err(PluginError::other(format!(
                "connection: finish_row called {} times for a window of {} observed flows",
                i + 1,
                self.window.len()
            )));
        };
        *next += 1;
        if ids != (Some(rec.src), Some(rec.dst)) {
            return Err(PluginError::other(format!(
                "connection: finish_row #{i} is not the flow observed #{i} (rows must come in the same order in both calls)"
            )));
        }
        let f = metrics.flow(i);
        let counters = [
            f.src_unique_dsts,
            f.dst_unique_srcs,
            f.src_dst_flows,
            f.src_port_flows,
            f.src_total_flows,
            f.dst_total_flows,
            f.src_total_packets,
            f.src_total_bytes,
            f.dst_total_packets,
            f.dst_total_bytes,
            f.src_unique_ports,
        ];
        for (slot, v) in row.iter_mut().zip(counters) {
            slot.set_int(int(v));
        }
        let mut k = COUNTERS;
        if self.cfg.graph_metrics {
            row[k].set_int(int(f.src_out_degree));
            row[k + 1].set_int(int(f.dst_in_degree));
            row[k + 2].set_float(f.src_betweenness);
            row[k + 3].set_float(f.dst_betweenness);
            row[k + 4].set_int(f.src_community);
            row[k + 5].set_int(f.dst_community);
            row[k + 6].set_bool(f.same_community);
            row[k + 7].set_float(f.src_clustering);
            row[k + 8].set_float(f.dst_clustering);
            k += GRAPH_METRICS;
        }
        if self.cfg.temporal {
            let t = temporal.get(rec.src as usize).copied().unwrap_or_default();
            row[k].set_float(t.flow_rate);
            row[k + 1].set_float(t.spread);
            row[k + 2].set_int(int(t.burst));
        }
        Ok(())
    }
}

jj_plugin_api::export_plugin! {
    name: "jj-connection",
    version: env!("CARGO_PKG_VERSION"),
    extractors: [
        "connection" => (
            "Connection graph over the flows of a window: fan-out and totals per endpoint, degrees, betweenness, clustering, communities (20 features, JJ-EXPERIMENTAL, two-pass)",
            ConnectionFactory
        )
    ],
}

#[cfg(test)]
mod tests;
