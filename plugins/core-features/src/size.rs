//! `size`: packet length (IP total length) and payload length statistics over the flow
//! and per direction, payload-carrying packet counts, the dominant packet size, L7 byte
//! totals, direction asymmetry, and optionally the signed packet-length sequence
//! (spec §4.3).
//!
//! Payload length: jj's transport payload without link padding by default; under
//! `compat=joyfuljay` the reference's Scapy length, which counts Ethernet trailer
//! padding ([`jj_kit::compat::scapy_payload_len`]).
use crate::config::Config;
use crate::spec::{spec, Spec};
use jj_kit::compat;
use jj_kit::stats::{summarize_basic, Dirs, LengthCounts, Summary};
use jj_plugin_api::{
    DType, Extractor, ExtractorFactory, ExtractorInfo, FeatureMeta, FlowView, Options, PluginError,
    PluginResult, Requirements, Value, DIR_FWD,
};

/// Feature group and id prefix.
pub const GROUP: &str = "size";

use DType::{Float64 as F, Int64 as I};

/// Output slots of the 42 fixed features, in column order.
pub mod slot {
    pub const PKT_LEN_MIN: usize = 0;
    pub const PKT_LEN_MAX: usize = 1;
    pub const PKT_LEN_MEAN: usize = 2;
    pub const PKT_LEN_STD: usize = 3;
    pub const PKT_LEN_MEDIAN: usize = 4;
    pub const PKT_LEN_P25: usize = 5;
    pub const PKT_LEN_P75: usize = 6;
    pub const PKT_LEN_P90: usize = 7;
    /// First of `pkt_len_fwd_{min,max,mean,std,median}`.
    pub const PKT_LEN_FWD: usize = 8;
    /// First of `pkt_len_bwd_{min,max,mean,std,median}`.
    pub const PKT_LEN_BWD: usize = 13;
    pub const PAYLOAD_LEN_MIN: usize = 18;
    pub const PAYLOAD_LEN_MAX: usize = 19;
    pub const PAYLOAD_LEN_MEAN: usize = 20;
    pub const PAYLOAD_LEN_STD: usize = 21;
    pub const PAYLOAD_LEN_FWD_MEAN: usize = 22;
    pub const PAYLOAD_LEN_FWD_STD: usize = 23;
    pub const PAYLOAD_LEN_BWD_MEAN: usize = 24;
    pub const PAYLOAD_LEN_BWD_STD: usize = 25;
    pub const PACKETS_WITH_PAYLOAD: usize = 26;
    pub const PACKETS_WITH_PAYLOAD_FWD: usize = 27;
    pub const PACKETS_WITH_PAYLOAD_BWD: usize = 28;
    pub const HEADER_ONLY_RATIO: usize = 29;
    pub const PKT_LEN_VARIANCE: usize = 30;
    pub const DOMINANT_PKT_SIZE: usize = 31;
    pub const DOMINANT_PKT_RATIO: usize = 32;
    pub const L7_BYTES_FWD: usize = 33;
    pub const L7_BYTES_BWD: usize = 34;
    pub const L7_BYTES_TOTAL: usize = 35;
    pub const L7_PKT_MIN_FWD: usize = 36;
    pub const L7_PKT_MAX_FWD: usize = 37;
    pub const L7_PKT_MIN_BWD: usize = 38;
    pub const L7_PKT_MAX_BWD: usize = 39;
    pub const PKT_ASYMMETRY: usize = 40;
    pub const BYTE_ASYMMETRY: usize = 41;
    /// Number of fixed features.
    pub const COUNT: usize = 42;
}

const STAT: &str = "nan";
const Z: &str = "zero";

/// The 42 fixed features, in the reference's column order.
pub const FEATURES: [Spec; slot::COUNT] = [
    spec(
        "pkt_len_min",
        F,
        "bytes",
        STAT,
        "Smallest IP total length among the flow's packets",
    ),
    spec(
        "pkt_len_max",
        F,
        "bytes",
        STAT,
        "Largest IP total length among the flow's packets",
    ),
    spec(
        "pkt_len_mean",
        F,
        "bytes",
        STAT,
        "Average IP total length of the flow's packets",
    ),
    spec(
        "pkt_len_std",
        F,
        "bytes",
        STAT,
        "Population standard deviation of the IP total lengths",
    ),
    spec(
        "pkt_len_median",
        F,
        "bytes",
        STAT,
        "Median IP total length (linear interpolation between ranks)",
    ),
    spec(
        "pkt_len_p25",
        F,
        "bytes",
        STAT,
        "25th percentile of the IP total lengths",
    ),
    spec(
        "pkt_len_p75",
        F,
        "bytes",
        STAT,
        "75th percentile of the IP total lengths",
    ),
    spec(
        "pkt_len_p90",
        F,
        "bytes",
        STAT,
        "90th percentile of the IP total lengths",
    ),
    spec(
        "pkt_len_fwd_min",
        F,
        "bytes",
        STAT,
        "Smallest IP total length sent by the initiator",
    )
    .fwd(),
    spec(
        "pkt_len_fwd_max",
        F,
        "bytes",
        STAT,
        "Largest IP total length sent by the initiator",
    )
    .fwd(),
    spec(
        "pkt_len_fwd_mean",
        F,
        "bytes",
        STAT,
        "Average IP total length of the initiator's packets",
    )
    .fwd(),
    spec(
        "pkt_len_fwd_std",
        F,
        "bytes",
        STAT,
        "Population standard deviation of the initiator's IP lengths",
    )
    .fwd(),
    spec(
        "pkt_len_fwd_median",
        F,
        "bytes",
        STAT,
        "Median IP total length of the initiator's packets",
    )
    .fwd(),
    spec(
        "pkt_len_bwd_min",
        F,
        "bytes",
        STAT,
        "Smallest IP total length sent by the responder",
    )
    .bwd(),
    spec(
        "pkt_len_bwd_max",
        F,
        "bytes",
        STAT,
        "Largest IP total length sent by the responder",
    )
    .bwd(),
    spec(
        "pkt_len_bwd_mean",
        F,
        "bytes",
        STAT,
        "Average IP total length of the responder's packets",
    )
    .bwd(),
    spec(
        "pkt_len_bwd_std",
        F,
        "bytes",
        STAT,
        "Population standard deviation of the responder's IP lengths",
    )
    .bwd(),
    spec(
        "pkt_len_bwd_median",
        F,
        "bytes",
        STAT,
        "Median IP total length of the responder's packets",
    )
    .bwd(),
    spec(
        "payload_len_min",
        F,
        "bytes",
        STAT,
        "Smallest transport payload length in the flow (empty payloads included)",
    ),
    spec(
        "payload_len_max",
        F,
        "bytes",
        STAT,
        "Largest transport payload length in the flow",
    ),
    spec(
        "payload_len_mean",
        F,
        "bytes",
        STAT,
        "Average transport payload length per packet (empty payloads included)",
    ),
    spec(
        "payload_len_std",
        F,
        "bytes",
        STAT,
        "Population standard deviation of the transport payload lengths",
    ),
    spec(
        "payload_len_fwd_mean",
        F,
        "bytes",
        STAT,
        "Average payload length of the initiator's packets",
    )
    .fwd(),
    spec(
        "payload_len_fwd_std",
        F,
        "bytes",
        STAT,
        "Population standard deviation of the initiator's payload lengths",
    )
    .fwd(),
    spec(
        "payload_len_bwd_mean",
        F,
        "bytes",
        STAT,
        "Average payload length of the responder's packets",
    )
    .bwd(),
    spec(
        "payload_len_bwd_std",
        F,
        "bytes",
        STAT,
        "Population standard deviation of the responder's payload lengths",
    )
    .bwd(),
    spec(
        "packets_with_payload",
        I,
        "count",
        Z,
        "Number of packets carrying at least one payload byte",
    ),
    spec(
        "packets_with_payload_fwd",
        I,
        "count",
        Z,
        "Number of the initiator's packets carrying payload",
    )
    .fwd(),
    spec(
        "packets_with_payload_bwd",
        I,
        "count",
        Z,
        "Number of the responder's packets carrying payload",
    )
    .bwd(),
    spec(
        "header_only_ratio",
        F,
        "",
        Z,
        "Share of the flow's packets without payload",
    ),
    spec(
        "pkt_len_variance",
        F,
        "bytes",
        Z,
        "Square of pkt_len_std (population variance of the IP lengths); 0 for a single packet",
    ),
    spec(
        "dominant_pkt_size",
        I,
        "bytes",
        Z,
        "Most frequent IP total length in the flow; on a tie, the one that appeared first",
    ),
    spec(
        "dominant_pkt_ratio",
        F,
        "",
        Z,
        "Share of the flow's packets that have the dominant IP length",
    ),
    spec(
        "l7_bytes_fwd",
        I,
        "bytes",
        Z,
        "Total payload bytes sent by the initiator",
    )
    .fwd(),
    spec(
        "l7_bytes_bwd",
        I,
        "bytes",
        Z,
        "Total payload bytes sent by the responder",
    )
    .bwd(),
    spec(
        "l7_bytes_total",
        I,
        "bytes",
        Z,
        "Total payload bytes in both directions",
    ),
    spec(
        "l7_pkt_min_fwd",
        I,
        "bytes",
        Z,
        "Smallest non-zero payload length sent by the initiator; 0 if it sent no payload",
    )
    .fwd(),
    spec(
        "l7_pkt_max_fwd",
        I,
        "bytes",
        Z,
        "Largest payload length sent by the initiator",
    )
    .fwd(),
    spec(
        "l7_pkt_min_bwd",
        I,
        "bytes",
        Z,
        "Smallest non-zero payload length sent by the responder; 0 if it sent no payload",
    )
    .bwd(),
    spec(
        "l7_pkt_max_bwd",
        I,
        "bytes",
        Z,
        "Largest payload length sent by the responder",
    )
    .bwd(),
    spec(
        "pkt_asymmetry",
        F,
        "",
        Z,
        "(initiator packets - responder packets) / all packets, from -1 to 1",
    ),
    spec(
        "byte_asymmetry",
        F,
        "",
        Z,
        "(initiator IP bytes - responder IP bytes) / all IP bytes, from -1 to 1",
    ),
];

/// Feature added by `include_sequences`.
pub const SEQUENCE_FEATURE: Spec = spec(
    "pkt_len_sequence",
    DType::IntList,
    "bytes",
    Z,
    "IP lengths of the first max_sequence_length packets, positive from the initiator and negative from the responder, zero-padded to that length",
)
.scope("packet_seq");

/// Column count under `cfg`.
pub fn column_count(cfg: &Config) -> usize {
    slot::COUNT + usize::from(cfg.include_sequences)
}

/// The feature list under `cfg`.
pub fn features(cfg: &Config) -> Vec<FeatureMeta> {
    let mut v: Vec<FeatureMeta> = FEATURES.iter().map(|s| s.meta(GROUP)).collect();
    if cfg.include_sequences {
        v.push(SEQUENCE_FEATURE.meta_fixed_len(GROUP, cfg.max_sequence_length));
    }
    v
}

/// The factory registered under the component name `size`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SizeFactory;

impl ExtractorFactory for SizeFactory {
    type Instance = Size;
    fn options(&self) -> Option<Vec<jj_plugin_api::OptionSpec>> {
        Some(crate::config::OPTIONS.to_vec())
    }

    fn describe(&self, options: &Options) -> PluginResult<ExtractorInfo> {
        let cfg = Config::from_options(options, GROUP)?;
        Ok(ExtractorInfo {
            group: GROUP.into(),
            features: features(&cfg).into(),
            // Lengths from the headers only.
            requirements: Requirements::default(),
        })
    }

    fn create(&self, options: &Options) -> PluginResult<Size> {
        Ok(Size::new(Config::from_options(options, GROUP)?))
    }
}

/// One extractor instance (per worker thread), with scratch buffers reused across
/// flows: no heap allocation per flow once they have grown to the largest flow.
#[derive(Clone, Debug)]
pub struct Size {
    cfg: Config,
    /// IP lengths: all packets, initiator's, responder's.
    pkt: [Vec<f64>; 3],
    /// Payload lengths: all packets, initiator's, responder's.
    payload: [Vec<f64>; 3],
    /// IP lengths counted per direction, for their percentiles and the dominant size
    /// without sorting.
    lengths: LengthCounts,
}

impl Size {
    pub fn new(cfg: Config) -> Self {
        Size {
            cfg,
            pkt: Default::default(),
            payload: Default::default(),
            lengths: LengthCounts::new(),
        }
    }

    /// Capacities of the scratch buffers (tests check that warm instances keep them).
    #[cfg(test)]
    pub(crate) fn capacities(&self) -> [usize; 7] {
        [
            self.pkt[0].capacity(),
            self.pkt[1].capacity(),
            self.pkt[2].capacity(),
            self.payload[0].capacity(),
            self.payload[1].capacity(),
            self.payload[2].capacity(),
            self.lengths.buffer_capacity(),
        ]
    }
}

fn put_stats5(out: &mut [Value], first: usize, s: &Summary) {
    out[first].set_float(s.min);
    out[first + 1].set_float(s.max);
    out[first + 2].set_float(s.mean);
    out[first + 3].set_float(s.std);
    out[first + 4].set_float(s.median);
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// `num / den` as a float, 0.0 when `den` is 0.
fn share(num: f64, den: f64) -> f64 {
    if den != 0.0 {
        num / den
    } else {
        0.0
    }
}

impl Extractor for Size {
    fn extract(&mut self, flow: &FlowView<'_>, out: &mut [Value]) -> PluginResult<()> {
        use slot::*;
        let expected = column_count(&self.cfg);
        if out.len() != expected {
            return Err(PluginError::other(format!(
                "size: the host passed {} output slots, expected {expected}",
                out.len()
            )));
        }
        let compat = self.cfg.compat;
        for v in self.pkt.iter_mut().chain(self.payload.iter_mut()) {
            v.clear();
        }

        let mut with_payload = [0u64; 2];
        let mut ip_bytes = [0u64; 2];
        let mut l7_bytes = [0u64; 2];
        // (min, max) of the non-zero payload lengths per direction
        let mut l7_range: [Option<(u32, u32)>; 2] = [None, None];
        self.lengths.clear();
        for p in flow.packets() {
            let d = usize::from(p.dir != DIR_FWD);
            let len = p.ip_len;
            let pl = compat::payload_len(p, compat);
            self.pkt[0].push(f64::from(len));
            self.pkt[1 + d].push(f64::from(len));
            self.payload[0].push(f64::from(pl));
            self.payload[1 + d].push(f64::from(pl));
            self.lengths.push(len, d);
            ip_bytes[d] += u64::from(len);
            l7_bytes[d] += u64::from(pl);
            if pl > 0 {
                with_payload[d] += 1;
                l7_range[d] = Some(match l7_range[d] {
                    None => (pl, pl),
                    Some((lo, hi)) => (lo.min(pl), hi.max(pl)),
                });
            }
        }
        let n = self.pkt[0].len();

        let all = self.lengths.summarize(&self.pkt[0], Dirs::Both);
        out[PKT_LEN_MIN].set_float(all.min);
        out[PKT_LEN_MAX].set_float(all.max);
        out[PKT_LEN_MEAN].set_float(all.mean);
        out[PKT_LEN_STD].set_float(all.std);
        out[PKT_LEN_MEDIAN].set_float(all.median);
        out[PKT_LEN_P25].set_float(all.p25);
        out[PKT_LEN_P75].set_float(all.p75);
        out[PKT_LEN_P90].set_float(all.p90);
        let fwd = self.lengths.summarize_median(&self.pkt[1], Dirs::Only(0));
        put_stats5(out, PKT_LEN_FWD, &fwd);
        let bwd = self.lengths.summarize_median(&self.pkt[2], Dirs::Only(1));
        put_stats5(out, PKT_LEN_BWD, &bwd);

        let pl = summarize_basic(&self.payload[0]);
        out[PAYLOAD_LEN_MIN].set_float(pl.min);
        out[PAYLOAD_LEN_MAX].set_float(pl.max);
        out[PAYLOAD_LEN_MEAN].set_float(pl.mean);
        out[PAYLOAD_LEN_STD].set_float(pl.std);
        let pl_fwd = summarize_basic(&self.payload[1]);
        out[PAYLOAD_LEN_FWD_MEAN].set_float(pl_fwd.mean);
        out[PAYLOAD_LEN_FWD_STD].set_float(pl_fwd.std);
        let pl_bwd = summarize_basic(&self.payload[2]);
        out[PAYLOAD_LEN_BWD_MEAN].set_float(pl_bwd.mean);
        out[PAYLOAD_LEN_BWD_STD].set_float(pl_bwd.std);

        let with_payload_all = with_payload[0] + with_payload[1];
        out[PACKETS_WITH_PAYLOAD].set_int(int(with_payload_all));
        out[PACKETS_WITH_PAYLOAD_FWD].set_int(int(with_payload[0]));
        out[PACKETS_WITH_PAYLOAD_BWD].set_int(int(with_payload[1]));
        out[HEADER_ONLY_RATIO].set_float(share((n as u64 - with_payload_all) as f64, n as f64));

        // The square of the standard deviation (not `var`), as the reference defines it.
        out[PKT_LEN_VARIANCE].set_float(if n > 1 { all.std * all.std } else { 0.0 });

        let (size, count) = self.lengths.mode().unwrap_or((0, 0));
        out[DOMINANT_PKT_SIZE].set_int(i64::from(size));
        out[DOMINANT_PKT_RATIO].set_float(share(count as f64, n as f64));

        out[L7_BYTES_FWD].set_int(int(l7_bytes[0]));
        out[L7_BYTES_BWD].set_int(int(l7_bytes[1]));
        out[L7_BYTES_TOTAL].set_int(int(l7_bytes[0] + l7_bytes[1]));
        let (min_fwd, max_fwd) = l7_range[0].unwrap_or((0, 0));
        let (min_bwd, max_bwd) = l7_range[1].unwrap_or((0, 0));
        out[L7_PKT_MIN_FWD].set_int(i64::from(min_fwd));
        out[L7_PKT_MAX_FWD].set_int(i64::from(max_fwd));
        out[L7_PKT_MIN_BWD].set_int(i64::from(min_bwd));
        out[L7_PKT_MAX_BWD].set_int(i64::from(max_bwd));

        let (n_fwd, n_bwd) = (self.pkt[1].len() as f64, self.pkt[2].len() as f64);
        out[PKT_ASYMMETRY].set_float(share(n_fwd - n_bwd, n as f64));
        let (b_fwd, b_bwd) = (ip_bytes[0] as f64, ip_bytes[1] as f64);
        out[BYTE_ASYMMETRY].set_float(share(b_fwd - b_bwd, b_fwd + b_bwd));

        if self.cfg.include_sequences {
            // Default: the sign follows the packet's direction. The reference decides it
            // by the source IP alone, so when both endpoints share one address every
            // packet counts as the initiator's.
            let same_ip = flow.src_ip == flow.dst_ip;
            let seq = out[COUNT].int_list();
            let len = self.cfg.max_sequence_length;
            seq.extend(flow.packets().iter().take(len).map(|p| {
                let from_initiator = p.dir == DIR_FWD || (compat && same_ip);
                let l = i64::from(p.ip_len);
                if from_initiator {
                    l
                } else {
                    -l
                }
            }));
            seq.resize(len, 0);
        }
        Ok(())
    }
}
