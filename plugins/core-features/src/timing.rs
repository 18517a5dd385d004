//! `timing`: inter-arrival time (IAT) statistics over the whole flow and per direction,
//! burstiness, the burst/idle walk, the responder's first reply time, and optionally
//! the raw IAT/timestamp sequences and SPLT (spec §4.2).
//!
//! * IATs are differences of consecutive capture timestamps converted with
//!   [`ts_ns_to_secs`], in arrival order (no sorting: an out-of-order capture gives
//!   negative IATs). Per-direction IATs are between consecutive packets of that
//!   direction.
//! * Statistics follow spec §3.2 through [`jj_kit::stats`]; an empty IAT set gives 0.0.
//! * Bursts: walking the flow's IATs, a gap below `burst_threshold_ms` extends the
//!   current burst, a larger one closes it and counts as one idle period. The burst
//!   duration is a difference of running IAT sums, as the reference computes it.
//!
//! No value differs between the default mode and `compat=joyfuljay` in this group.
use crate::config::Config;
use crate::spec::{spec, Spec, INIT};
use jj_kit::pyfmt::{write_i64, write_json_float};
use jj_kit::stats::{summarize, summarize_median, Summary};
use jj_kit::time::ts_ns_to_secs;
use jj_plugin_api::{
    DType, Extractor, ExtractorFactory, ExtractorInfo, FeatureMeta, FlowView, Options, PluginError,
    PluginResult, Requirements, Value, DIR_FWD,
};

/// Feature group and id prefix.
pub const GROUP: &str = "timing";

use DType::{Float64 as F, Int64 as I};

/// Output slots of the 31 fixed features, in column order.
pub mod slot {
    pub const IAT_MIN: usize = 0;
    pub const IAT_MAX: usize = 1;
    pub const IAT_MEAN: usize = 2;
    pub const IAT_STD: usize = 3;
    pub const IAT_MEDIAN: usize = 4;
    pub const IAT_SUM: usize = 5;
    pub const IAT_P25: usize = 6;
    pub const IAT_P75: usize = 7;
    pub const IAT_P90: usize = 8;
    pub const IAT_P99: usize = 9;
    /// First of `iat_fwd_{min,max,mean,std,median}`.
    pub const IAT_FWD: usize = 10;
    /// First of `iat_bwd_{min,max,mean,std,median}`.
    pub const IAT_BWD: usize = 15;
    pub const BURSTINESS: usize = 20;
    pub const BURSTINESS_FWD: usize = 21;
    pub const BURSTINESS_BWD: usize = 22;
    pub const BURST_COUNT: usize = 23;
    pub const AVG_BURST_PACKETS: usize = 24;
    pub const AVG_BURST_DURATION: usize = 25;
    pub const MAX_BURST_PACKETS: usize = 26;
    pub const IDLE_COUNT: usize = 27;
    pub const AVG_IDLE_DURATION: usize = 28;
    pub const MAX_IDLE_DURATION: usize = 29;
    pub const FIRST_RESPONSE_TIME: usize = 30;
    /// Number of fixed features.
    pub const COUNT: usize = 31;
}

const STAT: &str = "nan";
const BURST: &str = "burst";

/// The 31 fixed features, in the reference's column order.
pub const FEATURES: [Spec; slot::COUNT] = [
    spec("iat_min", F, "s", STAT, "Smallest gap between two consecutive packets of the flow (any direction)"),
    spec("iat_max", F, "s", STAT, "Largest gap between two consecutive packets of the flow (any direction)"),
    spec("iat_mean", F, "s", STAT, "Average gap between consecutive packets of the flow"),
    spec("iat_std", F, "s", STAT, "Population standard deviation of the gaps between consecutive packets"),
    spec("iat_median", F, "s", STAT, "Median gap between consecutive packets (linear interpolation between ranks)"),
    spec("iat_sum", F, "s", STAT, "Sum of all gaps between consecutive packets (last minus first timestamp, up to rounding)"),
    spec("iat_p25", F, "s", STAT, "25th percentile of the gaps between consecutive packets"),
    spec("iat_p75", F, "s", STAT, "75th percentile of the gaps between consecutive packets"),
    spec("iat_p90", F, "s", STAT, "90th percentile of the gaps between consecutive packets"),
    spec("iat_p99", F, "s", STAT, "99th percentile of the gaps between consecutive packets"),
    spec("iat_fwd_min", F, "s", STAT, "Smallest gap between consecutive packets sent by the initiator").fwd(),
    spec("iat_fwd_max", F, "s", STAT, "Largest gap between consecutive packets sent by the initiator").fwd(),
    spec("iat_fwd_mean", F, "s", STAT, "Average gap between consecutive packets sent by the initiator").fwd(),
    spec("iat_fwd_std", F, "s", STAT, "Population standard deviation of the initiator's inter-packet gaps").fwd(),
    spec("iat_fwd_median", F, "s", STAT, "Median gap between consecutive packets sent by the initiator").fwd(),
    spec("iat_bwd_min", F, "s", STAT, "Smallest gap between consecutive packets sent by the responder").bwd(),
    spec("iat_bwd_max", F, "s", STAT, "Largest gap between consecutive packets sent by the responder").bwd(),
    spec("iat_bwd_mean", F, "s", STAT, "Average gap between consecutive packets sent by the responder").bwd(),
    spec("iat_bwd_std", F, "s", STAT, "Population standard deviation of the responder's inter-packet gaps").bwd(),
    spec("iat_bwd_median", F, "s", STAT, "Median gap between consecutive packets sent by the responder").bwd(),
    spec("burstiness_index", F, "", STAT, "Coefficient of variation (std / mean) of the flow's inter-packet gaps; 0 when there are none or their mean is 0"),
    spec("burstiness_index_fwd", F, "", STAT, "Coefficient of variation of the initiator's inter-packet gaps").fwd(),
    spec("burstiness_index_bwd", F, "", STAT, "Coefficient of variation of the responder's inter-packet gaps").bwd(),
    spec("burst_count", I, "count", "zero", "Number of bursts: runs of packets whose gaps stay below burst_threshold_ms (a lone packet is a burst of one)").scope(BURST),
    spec("avg_burst_packets", F, "count", "zero", "Average number of packets per burst").scope(BURST),
    spec("avg_burst_duration", F, "s", "zero", "Average burst length in time (sum of the gaps inside each burst)").scope(BURST),
    spec("max_burst_packets", I, "count", "zero", "Packets in the largest burst").scope(BURST),
    spec("idle_count", I, "count", "zero", "Number of gaps of at least burst_threshold_ms, each separating two bursts").scope(BURST),
    spec("avg_idle_duration", F, "s", "zero", "Average length of those idle gaps").scope(BURST),
    spec("max_idle_duration", F, "s", "zero", "Longest idle gap").scope(BURST),
    spec("first_response_time", F, "s", "zero", "Time from the flow's first packet to the responder's first packet; 0 if the responder sent nothing")
        .direction("dst_to_src", INIT),
];

/// Features added by `include_sequences`, after the fixed ones.
pub const SEQUENCE_FEATURES: [Spec; 2] = [
    spec("iat_sequence", DType::FloatList, "s", "zero", "The first max_sequence_length inter-packet gaps of the flow, zero-padded to that length").scope("packet_seq"),
    spec("timestamp_sequence", DType::FloatList, "s", "zero", "Arrival times of the first max_sequence_length packets relative to the first packet, zero-padded to that length").scope("packet_seq"),
];

/// Features added by `include_splt`, after the sequences.
pub const SPLT_FEATURES: [Spec; 4] = [
    spec("splt", DType::String, "", "empty", "Sequence of packet lengths and times for the first max_sequence_length packets, as JSON text: a list of [IP length, gap to the previous packet (0.0 for the first), 1 from the initiator / -1 from the responder]").scope("packet_seq"),
    spec("splt_lengths", DType::IntList, "bytes", "zero", "IP lengths of the first max_sequence_length packets (not padded)").scope("packet_seq"),
    spec("splt_times", DType::FloatList, "s", "zero", "Gap to the previous packet for the first max_sequence_length packets, 0.0 for the first (not padded)").scope("packet_seq"),
    spec("splt_directions", DType::IntList, "", "zero", "Direction of the first max_sequence_length packets: 1 initiator, -1 responder (not padded)").scope("packet_seq"),
];

/// Column count under `cfg`.
pub fn column_count(cfg: &Config) -> usize {
    slot::COUNT
        + if cfg.include_sequences {
            SEQUENCE_FEATURES.len()
        } else {
            0
        }
        + if cfg.include_splt {
            SPLT_FEATURES.len()
        } else {
            0
        }
}

/// The feature list under `cfg`.
pub fn features(cfg: &Config) -> Vec<FeatureMeta> {
    let mut v: Vec<FeatureMeta> = FEATURES.iter().map(|s| s.meta(GROUP)).collect();
    if cfg.include_sequences {
        v.extend(
            SEQUENCE_FEATURES
                .iter()
                .map(|s| s.meta_fixed_len(GROUP, cfg.max_sequence_length)),
        );
    }
    if cfg.include_splt {
        v.extend(SPLT_FEATURES.iter().map(|s| s.meta(GROUP)));
    }
    v
}

/// The factory registered under the component name `timing`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TimingFactory;

impl ExtractorFactory for TimingFactory {
    type Instance = Timing;
    fn options(&self) -> Option<Vec<jj_plugin_api::OptionSpec>> {
        Some(crate::config::OPTIONS.to_vec())
    }

    fn describe(&self, options: &Options) -> PluginResult<ExtractorInfo> {
        let cfg = Config::from_options(options, GROUP)?;
        Ok(ExtractorInfo {
            group: GROUP.into(),
            features: features(&cfg).into(),
            // Timestamps and directions only.
            requirements: Requirements::default(),
        })
    }

    fn create(&self, options: &Options) -> PluginResult<Timing> {
        Ok(Timing::new(Config::from_options(options, GROUP)?))
    }
}

/// Result of the burst/idle walk.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bursts {
    pub burst_count: i64,
    pub avg_burst_packets: f64,
    pub avg_burst_duration: f64,
    pub max_burst_packets: i64,
    pub idle_count: i64,
    pub avg_idle_duration: f64,
    pub max_idle_duration: f64,
}

/// Walks the flow's IATs with threshold `threshold_s` (seconds); see the module docs.
/// No IATs (fewer than two packets) gives all zeros.
///
/// Sums are sequential (`+=`); a burst's duration is `prefix[end] - prefix[start]`
/// over the running sums of all IATs, which is how the reference computes it (it can
/// differ from summing the burst's own IATs in the last bits).
pub fn burst_walk(iats: &[f64], threshold_s: f64) -> Bursts {
    if iats.is_empty() {
        return Bursts::default();
    }
    let mut bursts: i64 = 0;
    let mut burst_packets_sum: i64 = 0;
    let mut burst_duration_sum = 0.0;
    let mut burst_packets_max: i64 = 0;
    let mut idles: i64 = 0;
    let mut idle_sum = 0.0;
    let mut idle_max = 0.0;

    // `prefix` is the running sum of the IATs before the current one; `start_prefix`
    // the running sum at the current burst's first packet.
    let mut prefix = 0.0;
    let mut start_prefix = 0.0;
    let mut current: i64 = 1;
    for &iat in iats {
        if iat < threshold_s {
            current += 1;
        } else {
            bursts += 1;
            burst_packets_sum += current;
            burst_duration_sum += prefix - start_prefix;
            burst_packets_max = burst_packets_max.max(current);
            idles += 1;
            idle_sum += iat;
            if iat > idle_max {
                idle_max = iat;
            }
            current = 1;
            start_prefix = prefix + iat;
        }
        prefix += iat;
    }
    // The last burst is always closed.
    bursts += 1;
    burst_packets_sum += current;
    burst_duration_sum += prefix - start_prefix;
    burst_packets_max = burst_packets_max.max(current);

    Bursts {
        burst_count: bursts,
        avg_burst_packets: burst_packets_sum as f64 / bursts as f64,
        avg_burst_duration: burst_duration_sum / bursts as f64,
        max_burst_packets: burst_packets_max,
        idle_count: idles,
        avg_idle_duration: if idles > 0 {
            idle_sum / idles as f64
        } else {
            0.0
        },
        max_idle_duration: idle_max,
    }
}

/// One extractor instance (per worker thread), with scratch buffers reused across
/// flows: no heap allocation per flow once they have grown to the largest flow.
#[derive(Clone, Debug)]
pub struct Timing {
    cfg: Config,
    /// Timestamps (s) of all packets, arrival order.
    ts: Vec<f64>,
    /// IATs of all packets.
    iat: Vec<f64>,
    /// IATs per direction: `[initiator, responder]`.
    iat_dir: [Vec<f64>; 2],
    /// Ordering scratch for the percentiles (order keys, see `jj_kit::stats::summarize`).
    sorted: Vec<u64>,
    /// SPLT JSON text before it is copied into its slot.
    text: Vec<u8>,
}

impl Timing {
    pub fn new(cfg: Config) -> Self {
        Timing {
            cfg,
            ts: Vec::new(),
            iat: Vec::new(),
            iat_dir: [Vec::new(), Vec::new()],
            sorted: Vec::new(),
            text: Vec::new(),
        }
    }

    /// Capacities of the scratch buffers (tests check that warm instances keep them).
    #[cfg(test)]
    pub(crate) fn capacities(&self) -> [usize; 6] {
        [
            self.ts.capacity(),
            self.iat.capacity(),
            self.iat_dir[0].capacity(),
            self.iat_dir[1].capacity(),
            self.sorted.capacity(),
            self.text.capacity(),
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

impl Extractor for Timing {
    fn extract(&mut self, flow: &FlowView<'_>, out: &mut [Value]) -> PluginResult<()> {
        use slot::*;
        let expected = column_count(&self.cfg);
        if out.len() != expected {
            return Err(PluginError::other(format!(
                "timing: the host passed {} output slots, expected {expected}",
                out.len()
            )));
        }

        self.ts.clear();
        self.iat.clear();
        self.iat_dir[0].clear();
        self.iat_dir[1].clear();
        let mut last_dir: [Option<f64>; 2] = [None, None];
        let mut first_bwd: Option<f64> = None;
        for p in flow.packets() {
            let t = ts_ns_to_secs(p.ts_ns);
            if let Some(&prev) = self.ts.last() {
                self.iat.push(t - prev);
            }
            self.ts.push(t);
            let d = usize::from(p.dir != DIR_FWD);
            if let Some(prev) = last_dir[d] {
                self.iat_dir[d].push(t - prev);
            }
            last_dir[d] = Some(t);
            if d == 1 && first_bwd.is_none() {
                first_bwd = Some(t);
            }
        }
        let start = self.ts.first().copied().unwrap_or(0.0);

        let all = summarize(&self.iat, &mut self.sorted);
        out[IAT_MIN].set_float(all.min);
        out[IAT_MAX].set_float(all.max);
        out[IAT_MEAN].set_float(all.mean);
        out[IAT_STD].set_float(all.std);
        out[IAT_MEDIAN].set_float(all.median);
        out[IAT_SUM].set_float(all.sum);
        out[IAT_P25].set_float(all.p25);
        out[IAT_P75].set_float(all.p75);
        out[IAT_P90].set_float(all.p90);
        out[IAT_P99].set_float(all.p99);
        let fwd = summarize_median(&self.iat_dir[0], &mut self.sorted);
        put_stats5(out, IAT_FWD, &fwd);
        let bwd = summarize_median(&self.iat_dir[1], &mut self.sorted);
        put_stats5(out, IAT_BWD, &bwd);

        out[BURSTINESS].set_float(all.cv());
        out[BURSTINESS_FWD].set_float(fwd.cv());
        out[BURSTINESS_BWD].set_float(bwd.cv());

        let b = burst_walk(&self.iat, self.cfg.burst_threshold_s);
        out[BURST_COUNT].set_int(b.burst_count);
        out[AVG_BURST_PACKETS].set_float(b.avg_burst_packets);
        out[AVG_BURST_DURATION].set_float(b.avg_burst_duration);
        out[MAX_BURST_PACKETS].set_int(b.max_burst_packets);
        out[IDLE_COUNT].set_int(b.idle_count);
        out[AVG_IDLE_DURATION].set_float(b.avg_idle_duration);
        out[MAX_IDLE_DURATION].set_float(b.max_idle_duration);

        out[FIRST_RESPONSE_TIME].set_float(first_bwd.map_or(0.0, |t| t - start));

        let n = self.cfg.max_sequence_length;
        let mut k = COUNT;
        if self.cfg.include_sequences {
            let seq = out[k].float_list();
            seq.extend(self.iat.iter().take(n).copied());
            seq.resize(n, 0.0);
            let seq = out[k + 1].float_list();
            seq.extend(self.ts.iter().take(n).map(|&t| t - start));
            seq.resize(n, 0.0);
            k += SEQUENCE_FEATURES.len();
        }
        if self.cfg.include_splt {
            let packets = &flow.packets()[..flow.packets().len().min(n)];
            // gap to the previous packet, 0.0 for the first
            let gap = |i: usize| if i == 0 { 0.0 } else { self.iat[i - 1] };
            let text = &mut self.text;
            text.clear();
            text.push(b'[');
            for (i, p) in packets.iter().enumerate() {
                if i > 0 {
                    text.extend_from_slice(b", ");
                }
                text.push(b'[');
                write_i64(text, i64::from(p.ip_len));
                text.extend_from_slice(b", ");
                write_json_float(text, gap(i));
                text.extend_from_slice(if p.dir == DIR_FWD { b", 1]" } else { b", -1]" });
            }
            text.push(b']');
            let json = std::str::from_utf8(text)
                .map_err(|_| PluginError::other("timing: SPLT text is not UTF-8"))?;
            out[k].set_str(json);
            let lengths = out[k + 1].int_list();
            lengths.extend(packets.iter().map(|p| i64::from(p.ip_len)));
            let times = out[k + 2].float_list();
            times.extend((0..packets.len()).map(gap));
            let dirs = out[k + 3].int_list();
            dirs.extend(
                packets
                    .iter()
                    .map(|p| if p.dir == DIR_FWD { 1 } else { -1 }),
            );
        }
        Ok(())
    }
}
