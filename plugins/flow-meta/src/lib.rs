//! `flow_meta`: the 29 per-flow identity and volume features of JoyfulJay's `flow_meta`
//! group (spec §4.1): endpoints and ports, responder-port class, protocol, first/last
//! packet times and duration, packet/byte/payload totals per direction, direction
//! ratios, rates, mean packet size, a TCP state bitmap and the header stack.
//!
//! Orientation: `src`/`fwd` is the initiator (the sender of the flow's first packet),
//! `dst`/`bwd` the responder, exactly as the host's [`FlowView`] is oriented.
//!
//! Options: `compat=joyfuljay` reproduces the reference's own text forms where jj's
//! default is more informative (see [`FlowMeta`]). `anonymize_ips=true` replaces
//! `src_ip`/`dst_ip` by the first 16 hex digits of SHA-256(`anonymization_salt` +
//! address text); `include_flow_id=true` adds a first column `flow_id`, the first 32
//! hex digits of SHA-256(salt + `"ip_a:port_a:ip_b:port_b:protocol"`) with the two
//! endpoints in the reference's canonical order (spec §2.2, §2.6).
//!
//! The extractor keeps no per-flow state and allocates nothing per flow once the
//! host's output slots hold strings and its two address buffers have grown (their
//! capacity is reused).
#![deny(unsafe_code)]

pub mod ports;
pub mod text;

use jj_kit::hash::{write_hex_prefix, Sha256};
use jj_kit::time::ts_ns_to_secs;
use jj_plugin_api::{
    flow_end, DType, Extractor, ExtractorFactory, ExtractorInfo, FeatureMeta, FlowView, OptionSpec,
    Options, PluginError, PluginResult, Requirements, Value, DIR_FWD,
};
use std::fmt::Write as _;

/// Feature group and id prefix.
pub const GROUP: &str = "flow_meta";

/// TCP flag bits of `PacketRecord::tcp_flags`.
mod tcp {
    pub const FIN: u16 = 0x01;
    pub const SYN: u16 = 0x02;
    pub const RST: u16 = 0x04;
    pub const ACK: u16 = 0x10;
}

/// Bits of the `flow_stat` feature.
pub mod flow_stat {
    /// A SYN without ACK was seen (either direction).
    pub const SYN: i64 = 0x01;
    /// A SYN+ACK was seen (either direction).
    pub const SYN_ACK: i64 = 0x02;
    /// The initiator sent a FIN.
    pub const FIN_FWD: i64 = 0x04;
    /// The responder sent a FIN.
    pub const FIN_BWD: i64 = 0x08;
    /// A RST was seen (either direction).
    pub const RST: i64 = 0x10;
    /// The host ended the flow on its idle timeout (jj only; never set by the reference
    /// nor under `compat=joyfuljay`).
    pub const IDLE_TIMEOUT: i64 = 0x20;
    /// SYN and SYN+ACK seen, and the flow was closed by FINs from both sides or a RST.
    pub const CLOSED: i64 = 0x40;
}

/// Static description of one feature; turned into a [`FeatureMeta`] by `describe`.
struct Spec {
    name: &'static str,
    dtype: DType,
    units: &'static str,
    /// `flow` or `direction`.
    scope: &'static str,
    direction: &'static str,
    semantics: &'static str,
    /// `zero` for numbers, `empty` for strings.
    missing: &'static str,
    deps: &'static [&'static str],
    privacy: &'static str,
    description: &'static str,
}

const IP: &[&str] = &["ip"];
const PORTS: &[&str] = &["tcp", "udp"];
const TCP: &[&str] = &["tcp"];
const INIT: &str = "initiator = sender of the flow's first packet";
const FWD: &str = "packets sent by the initiator";
const BWD: &str = "packets sent by the responder";
const BOTH: &str = "packets of both directions";

const fn spec(
    name: &'static str,
    dtype: DType,
    units: &'static str,
    direction: &'static str,
    privacy: &'static str,
    description: &'static str,
) -> Spec {
    let missing = match dtype {
        DType::String => "empty",
        _ => "zero",
    };
    Spec {
        name,
        dtype,
        units,
        scope: "flow",
        direction,
        semantics: INIT,
        missing,
        deps: IP,
        privacy,
        description,
    }
}

impl Spec {
    const fn deps(mut self, deps: &'static [&'static str]) -> Self {
        self.deps = deps;
        self
    }
    const fn per_direction(mut self, semantics: &'static str) -> Self {
        self.scope = "direction";
        self.semantics = semantics;
        self
    }
    const fn semantics(mut self, semantics: &'static str) -> Self {
        self.semantics = semantics;
        self
    }
}

use DType::{Float64 as F, Int64 as I, String as S};

/// Output slots, in column order (the reference's order, spec §1).
mod slot {
    pub const SRC_IP: usize = 0;
    pub const DST_IP: usize = 1;
    pub const SRC_PORT: usize = 2;
    pub const DST_PORT: usize = 3;
    pub const DST_PORT_CLASS: usize = 4;
    pub const DST_PORT_CLASS_NUM: usize = 5;
    pub const PROTOCOL: usize = 6;
    pub const START_TIME: usize = 7;
    pub const END_TIME: usize = 8;
    pub const DURATION: usize = 9;
    pub const TOTAL_PACKETS: usize = 10;
    pub const PACKETS_FWD: usize = 11;
    pub const PACKETS_BWD: usize = 12;
    pub const TOTAL_BYTES: usize = 13;
    pub const BYTES_FWD: usize = 14;
    pub const BYTES_BWD: usize = 15;
    pub const PAYLOAD_BYTES_FWD: usize = 16;
    pub const PAYLOAD_BYTES_BWD: usize = 17;
    pub const PAYLOAD_BYTES_TOTAL: usize = 18;
    pub const PACKETS_RATIO: usize = 19;
    pub const BYTES_RATIO: usize = 20;
    pub const PACKETS_PER_SECOND: usize = 21;
    pub const BYTES_PER_SECOND: usize = 22;
    pub const AVG_PACKET_SIZE: usize = 23;
    pub const TIME_FIRST: usize = 24;
    pub const TIME_LAST: usize = 25;
    pub const FLOW_STAT: usize = 26;
    pub const NUM_HDRS: usize = 27;
    pub const HDR_DESC: usize = 28;
    pub const COUNT: usize = 29;
}

/// The 29 features, in slot order.
const FEATURES: [Spec; slot::COUNT] = [
    spec("src_ip", S, "", "src_to_dst", "high", "Address of the initiator as text (IPv4 dotted quad, IPv6 compressed)")
        .semantics("the initiator's address"),
    spec("dst_ip", S, "", "dst_to_src", "high", "Address of the responder as text (IPv4 dotted quad, IPv6 compressed)")
        .semantics("the responder's address"),
    spec("src_port", I, "", "src_to_dst", "sensitive", "Transport port of the initiator; 0 for protocols without ports")
        .deps(PORTS)
        .semantics("the initiator's port"),
    spec("dst_port", I, "", "dst_to_src", "sensitive", "Transport port of the responder; 0 for protocols without ports")
        .deps(PORTS)
        .semantics("the responder's port"),
    spec(
        "dst_port_class",
        S,
        "",
        "dst_to_src",
        "safe",
        "Service name of the responder port from a list of 45 common services, otherwise its range: system (below 1024, including 0), registered (below 49152) or dynamic",
    )
    .deps(PORTS)
    .semantics("classifies the responder's port"),
    spec(
        "dst_port_class_num",
        I,
        "",
        "dst_to_src",
        "safe",
        "Numeric class of the responder port: 1 system (listed services below 1024 and every other port below 1024), 2 registered (listed services from 1024 up and every other port below 49152), 3 dynamic",
    )
    .deps(PORTS)
    .semantics("classifies the responder's port"),
    spec("protocol", I, "", "bidir", "safe", "IP protocol number of the flow (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...)"),
    spec(
        "start_time",
        F,
        "s",
        "bidir",
        "sensitive",
        "Capture time of the first packet, seconds since the Unix epoch",
    ),
    spec(
        "end_time",
        F,
        "s",
        "bidir",
        "sensitive",
        "Capture time of the last packet in arrival order (not the latest timestamp), seconds since the Unix epoch",
    ),
    spec(
        "duration",
        F,
        "s",
        "bidir",
        "safe",
        "end_time minus start_time in seconds; negative when the capture's clock went backwards",
    ),
    spec("total_packets", I, "count", "bidir", "safe", "Number of packets in the flow, both directions").semantics(BOTH),
    spec("packets_fwd", I, "count", "src_to_dst", "safe", "Number of packets sent by the initiator").per_direction(FWD),
    spec("packets_bwd", I, "count", "dst_to_src", "safe", "Number of packets sent by the responder").per_direction(BWD),
    spec(
        "total_bytes",
        I,
        "bytes",
        "bidir",
        "safe",
        "Sum of the IP total lengths of all packets (link-layer framing not counted)",
    )
    .semantics(BOTH),
    spec("bytes_fwd", I, "bytes", "src_to_dst", "safe", "Sum of the IP total lengths of the initiator's packets")
        .per_direction(FWD),
    spec("bytes_bwd", I, "bytes", "dst_to_src", "safe", "Sum of the IP total lengths of the responder's packets")
        .per_direction(BWD),
    spec(
        "payload_bytes_fwd",
        I,
        "bytes",
        "src_to_dst",
        "safe",
        "Sum of the transport payload lengths of the initiator's packets (taken from the headers, link padding excluded)",
    )
    .per_direction(FWD),
    spec(
        "payload_bytes_bwd",
        I,
        "bytes",
        "dst_to_src",
        "safe",
        "Sum of the transport payload lengths of the responder's packets (taken from the headers, link padding excluded)",
    )
    .per_direction(BWD),
    spec(
        "payload_bytes_total",
        I,
        "bytes",
        "bidir",
        "safe",
        "payload_bytes_fwd plus payload_bytes_bwd",
    )
    .semantics(BOTH),
    spec(
        "packets_ratio",
        F,
        "",
        "bidir",
        "safe",
        "packets_fwd divided by packets_bwd; equals packets_fwd when the responder sent nothing",
    ),
    spec(
        "bytes_ratio",
        F,
        "",
        "bidir",
        "safe",
        "bytes_fwd divided by bytes_bwd; equals bytes_fwd when the responder sent nothing",
    ),
    spec(
        "packets_per_second",
        F,
        "pps",
        "bidir",
        "safe",
        "total_packets divided by duration; equals total_packets when duration is not positive",
    ),
    spec(
        "bytes_per_second",
        F,
        "Bps",
        "bidir",
        "safe",
        "total_bytes divided by duration; equals total_bytes when duration is not positive",
    ),
    spec("avg_packet_size", F, "bytes", "bidir", "safe", "Mean IP total length per packet (total_bytes / total_packets)"),
    spec(
        "time_first",
        F,
        "s",
        "bidir",
        "sensitive",
        "Same value as start_time, under the Tranalyzer column name",
    ),
    spec(
        "time_last",
        F,
        "s",
        "bidir",
        "sensitive",
        "Same value as end_time, under the Tranalyzer column name",
    ),
    spec(
        "flow_stat",
        I,
        "",
        "bidir",
        "safe",
        "TCP state bitmap: 0x01 SYN without ACK seen, 0x02 SYN+ACK seen, 0x04 FIN from the initiator, 0x08 FIN from the responder, 0x10 RST seen, 0x20 flow ended by the idle timeout (jj only), 0x40 handshake seen and closed by both FINs or a RST; 0 for non-TCP flows",
    )
    .deps(TCP),
    spec("num_hdrs", I, "count", "bidir", "safe", "Number of headers listed in hdr_desc"),
    spec(
        "hdr_desc",
        S,
        "",
        "bidir",
        "safe",
        "Header stack of the flow's first packet, outermost first, joined by '-' (e.g. ETH-VLAN-IP-TCP); under compat=joyfuljay only [ETH-]IP|IP6-TCP|UDP|ICMP|PROTO<n>",
    ),
];

/// Hex digits of an anonymized address (spec §2.6).
const ANON_HEX: usize = 16;
/// Hex digits of `flow_id`.
const FLOW_ID_HEX: usize = 32;

/// The optional first column.
const FLOW_ID: Spec = spec(
    "flow_id",
    S,
    "",
    "bidir",
    "sensitive",
    "First 32 hex digits of SHA-256(anonymization_salt + \"ip_a:port_a:ip_b:port_b:protocol\"), the endpoints ordered by (address text, port) as the reference orders its flow keys; the same for both directions of a conversation",
)
.semantics("identifies the conversation, independent of who initiated it");

/// Parsed options of one `flow_meta` instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Config {
    compat: bool,
    /// `anonymize_ips`: hash the addresses.
    anonymize: bool,
    /// `include_flow_id`: add the `flow_id` column first.
    flow_id: bool,
    /// `anonymization_salt` (prefix of every hashed text).
    salt: String,
}

fn bool_option(options: &Options, key: &str) -> PluginResult<bool> {
    match options.get(key).map(str::to_ascii_lowercase).as_deref() {
        None => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(_) => Err(PluginError::config(format!(
            "flow_meta: option {key}={:?} is not a boolean (use true or false)",
            options.get(key).unwrap_or_default()
        ))),
    }
}

/// The options `Config::from_options` reads.
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("compat", "joyfuljay: JoyfulJay's values (--compat)"),
    OptionSpec::new("anonymize_ips", "hash the addresses (--anonymize-ips)"),
    OptionSpec::new(
        "anonymization_salt",
        "salt of the address hash (--anonymization-salt)",
    ),
    OptionSpec::new("include_flow_id", "add the flow_id column (--flow-id)"),
];

impl Config {
    fn from_options(options: &Options) -> PluginResult<Config> {
        Ok(Config {
            compat: options.compat_joyfuljay(),
            anonymize: bool_option(options, "anonymize_ips")?,
            flow_id: bool_option(options, "include_flow_id")?,
            salt: options
                .get("anonymization_salt")
                .unwrap_or_default()
                .to_string(),
        })
    }

    /// Output columns: the 29 features, plus `flow_id` first when asked for.
    fn columns(&self) -> usize {
        slot::COUNT + usize::from(self.flow_id)
    }
}

/// The factory registered under the component name `flow_meta`.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlowMetaFactory;

impl ExtractorFactory for FlowMetaFactory {
    type Instance = FlowMeta;
    fn options(&self) -> Option<Vec<jj_plugin_api::OptionSpec>> {
        Some(OPTIONS.to_vec())
    }

    fn describe(&self, options: &Options) -> PluginResult<ExtractorInfo> {
        let cfg = Config::from_options(options)?;
        let mut features = Vec::with_capacity(cfg.columns());
        if cfg.flow_id {
            features.push(feature_meta(&FLOW_ID));
        }
        features.extend(FEATURES.iter().map(|s| {
            let mut m = feature_meta(s);
            if cfg.anonymize && (s.name == "src_ip" || s.name == "dst_ip") {
                let whose = if s.name == "src_ip" {
                    "initiator"
                } else {
                    "responder"
                };
                m.description = format!(
                    "First 16 hex digits of SHA-256(anonymization_salt + the {whose}'s address text) (anonymize_ips)"
                )
                .into();
                m.privacy_level = "sensitive".into();
            }
            m
        }));
        Ok(ExtractorInfo {
            group: GROUP.into(),
            features: features.into(),
            // Headers only: no payload, stream or option bytes, single pass.
            requirements: Requirements::default(),
        })
    }

    fn create(&self, options: &Options) -> PluginResult<FlowMeta> {
        Ok(FlowMeta::with_config(Config::from_options(options)?))
    }
}

fn feature_meta(s: &Spec) -> FeatureMeta {
    let mut m = FeatureMeta::new(GROUP, s.name, s.dtype, s.description)
        .units(s.units)
        .scope(s.scope)
        .direction(s.direction)
        .missing(s.missing, "null")
        .privacy(s.privacy)
        .deps(s.deps)
        .profile("JJ-CORE");
    m.direction_semantics = s.semantics.into();
    m
}

/// One extractor instance (per worker thread).
///
/// Default behaviour vs `compat=joyfuljay`:
/// * `flow_stat` bit 0x20 is set when the host ended a TCP flow on its idle timeout
///   (compat: never, like the reference);
/// * `hdr_desc`/`num_hdrs` describe the real encapsulation stack (compat: the
///   reference's `[ETH-]IP|IP6-<L4>` form);
/// * IPv6 text is RFC 5952 (compat: glibc `inet_ntop`, which differs only for the
///   deprecated IPv4-compatible addresses `::a.b.c.d`); the hashed address text of
///   `anonymize_ips` and `flow_id` is the same text the mode prints.
#[derive(Clone, Debug, Default)]
pub struct FlowMeta {
    cfg: Config,
    /// Address texts of the two endpoints for `flow_id` (reused across flows).
    text: [String; 2],
}

impl FlowMeta {
    /// An instance with default (non-compat) behaviour and no hashing; `create` is the
    /// usual way.
    pub fn new(compat: bool) -> Self {
        Self::with_config(Config {
            compat,
            ..Config::default()
        })
    }

    fn with_config(cfg: Config) -> Self {
        FlowMeta {
            cfg,
            text: [String::new(), String::new()],
        }
    }

    /// `src_ip` or `dst_ip`: the address text, or its salted hash.
    fn write_address(&self, out: &mut Value, addr: &[u8; 16], version: u8) -> PluginResult<()> {
        let compat = self.cfg.compat;
        if !self.cfg.anonymize {
            return jj_kit::addr::write_ip(out.str_buf(), version, addr, compat)
                .map_err(|_| fmt_err("an address"));
        }
        let mut h = Sha256::new();
        h.update(self.cfg.salt.as_bytes());
        jj_kit::addr::write_ip(&mut h, version, addr, compat).map_err(|_| fmt_err("an address"))?;
        write_hex_prefix(out.str_buf(), &h.finalize(), ANON_HEX).map_err(|_| fmt_err("an address"))
    }

    /// `flow_id`: hash of the canonical key, endpoints ordered by (address text, port).
    fn write_flow_id(&mut self, out: &mut Value, flow: &FlowView<'_>) -> PluginResult<()> {
        let compat = self.cfg.compat;
        let [a, b] = &mut self.text;
        a.clear();
        b.clear();
        jj_kit::addr::write_ip(a, flow.ip_version, &flow.src_ip, compat)
            .map_err(|_| fmt_err("flow_id"))?;
        jj_kit::addr::write_ip(b, flow.ip_version, &flow.dst_ip, compat)
            .map_err(|_| fmt_err("flow_id"))?;
        let mut ends = [(a.as_str(), flow.src_port), (b.as_str(), flow.dst_port)];
        // Python tuple order: the address as a string (byte order for ASCII), then port.
        if ends[1] < ends[0] {
            ends.swap(0, 1);
        }
        let [(ip_a, port_a), (ip_b, port_b)] = ends;
        let mut h = Sha256::new();
        h.update(self.cfg.salt.as_bytes());
        write!(h, "{ip_a}:{port_a}:{ip_b}:{port_b}:{}", flow.protocol)
            .map_err(|_| fmt_err("flow_id"))?;
        write_hex_prefix(out.str_buf(), &h.finalize(), FLOW_ID_HEX).map_err(|_| fmt_err("flow_id"))
    }
}

/// Per-direction totals and TCP flag observations from one pass over the packets.
#[derive(Default)]
struct Totals {
    packets: [u64; 2],
    bytes: [u64; 2],
    payload: [u64; 2],
    syn: bool,
    syn_ack: bool,
    fin: [bool; 2],
    rst: bool,
}

impl Totals {
    fn of(flow: &FlowView<'_>, compat: bool) -> Totals {
        let mut t = Totals::default();
        for p in flow.packets() {
            let d = usize::from(p.dir != DIR_FWD);
            t.packets[d] += 1;
            t.bytes[d] += u64::from(p.ip_len);
            t.payload[d] += u64::from(jj_kit::compat::payload_len(p, compat));
            // The host leaves tcp_flags at 0 for non-TCP packets.
            let f = p.tcp_flags;
            let syn_ack = f & (tcp::SYN | tcp::ACK);
            t.syn |= syn_ack == tcp::SYN;
            t.syn_ack |= syn_ack == tcp::SYN | tcp::ACK;
            t.fin[d] |= f & tcp::FIN != 0;
            t.rst |= f & tcp::RST != 0;
        }
        t
    }

    fn flow_stat(&self) -> i64 {
        let mut s = 0;
        if self.syn {
            s |= flow_stat::SYN;
        }
        if self.syn_ack {
            s |= flow_stat::SYN_ACK;
        }
        if self.fin[0] {
            s |= flow_stat::FIN_FWD;
        }
        if self.fin[1] {
            s |= flow_stat::FIN_BWD;
        }
        if self.rst {
            s |= flow_stat::RST;
        }
        if self.syn && self.syn_ack && ((self.fin[0] && self.fin[1]) || self.rst) {
            s |= flow_stat::CLOSED;
        }
        s
    }
}

/// `num / den`, or `num` itself when `den` is 0 (the reference's ratio rule; `0/0` = 0.0).
fn ratio(num: u64, den: u64) -> f64 {
    if den > 0 {
        num as f64 / den as f64
    } else {
        num as f64
    }
}

/// `total / duration`, or `total` itself when the duration is not positive.
fn rate(total: u64, duration: f64) -> f64 {
    if duration > 0.0 {
        total as f64 / duration
    } else {
        total as f64
    }
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn fmt_err(feature: &str) -> PluginError {
    PluginError::other(format!("flow_meta: could not format {feature}"))
}

impl Extractor for FlowMeta {
    fn extract(&mut self, flow: &FlowView<'_>, out: &mut [Value]) -> PluginResult<()> {
        use slot::*;
        let columns = self.cfg.columns();
        if out.len() != columns {
            return Err(PluginError::other(format!(
                "flow_meta: the host passed {} output slots, expected {columns}",
                out.len()
            )));
        }
        let out = if self.cfg.flow_id {
            let (id, rest) = out.split_at_mut(1);
            self.write_flow_id(&mut id[0], flow)?;
            rest
        } else {
            out
        };
        let compat = self.cfg.compat;

        self.write_address(&mut out[SRC_IP], &flow.src_ip, flow.ip_version)?;
        self.write_address(&mut out[DST_IP], &flow.dst_ip, flow.ip_version)?;
        out[SRC_PORT].set_int(i64::from(flow.src_port));
        out[DST_PORT].set_int(i64::from(flow.dst_port));
        let (class, class_num) = ports::classify(flow.dst_port);
        out[DST_PORT_CLASS].set_str(class);
        out[DST_PORT_CLASS_NUM].set_int(class_num);
        out[PROTOCOL].set_int(i64::from(flow.protocol));

        let start = ts_ns_to_secs(flow.first_ts_ns());
        let end = ts_ns_to_secs(flow.last_ts_ns());
        let duration = end - start;
        out[START_TIME].set_float(start);
        out[END_TIME].set_float(end);
        out[DURATION].set_float(duration);

        let t = Totals::of(flow, self.cfg.compat);
        let [pk_fwd, pk_bwd] = t.packets;
        let [by_fwd, by_bwd] = t.bytes;
        let [pl_fwd, pl_bwd] = t.payload;
        let packets = pk_fwd + pk_bwd;
        let bytes = by_fwd + by_bwd;
        out[TOTAL_PACKETS].set_int(int(packets));
        out[PACKETS_FWD].set_int(int(pk_fwd));
        out[PACKETS_BWD].set_int(int(pk_bwd));
        out[TOTAL_BYTES].set_int(int(bytes));
        out[BYTES_FWD].set_int(int(by_fwd));
        out[BYTES_BWD].set_int(int(by_bwd));
        out[PAYLOAD_BYTES_FWD].set_int(int(pl_fwd));
        out[PAYLOAD_BYTES_BWD].set_int(int(pl_bwd));
        out[PAYLOAD_BYTES_TOTAL].set_int(int(pl_fwd + pl_bwd));
        out[PACKETS_RATIO].set_float(ratio(pk_fwd, pk_bwd));
        out[BYTES_RATIO].set_float(ratio(by_fwd, by_bwd));
        out[PACKETS_PER_SECOND].set_float(rate(packets, duration));
        out[BYTES_PER_SECOND].set_float(rate(bytes, duration));
        out[AVG_PACKET_SIZE].set_float(if packets > 0 {
            bytes as f64 / packets as f64
        } else {
            0.0
        });
        out[TIME_FIRST].set_float(start);
        out[TIME_LAST].set_float(end);

        let mut stat = if compat || flow.protocol == 6 {
            t.flow_stat()
        } else {
            0
        };
        if !compat && flow.protocol == 6 && flow.end_reason == flow_end::IDLE {
            stat |= flow_stat::IDLE_TIMEOUT;
        }
        out[FLOW_STAT].set_int(stat);

        let n = text::write_hdr_desc(out[HDR_DESC].str_buf(), flow, compat)
            .map_err(|_| fmt_err("hdr_desc"))?;
        out[NUM_HDRS].set_int(n);
        Ok(())
    }
}

jj_plugin_api::export_plugin! {
    name: "jj-flow-meta",
    version: env!("CARGO_PKG_VERSION"),
    extractors: [
        "flow_meta" => (
            "Per-flow identity, timing, packet/byte/payload totals, ratios, rates, TCP state bitmap and header stack (29 features, JJ-CORE)",
            FlowMetaFactory
        )
    ],
}

#[cfg(test)]
mod tests;
