//! `tcp`: TCP flag counts and ratios, handshake and close indicators, data and pure-ACK
//! packet counts, a flag-anomaly test, a state bitmap and OR-ed flag aggregates
//! (spec §4.4). Flags are the 9-bit field (NS = 0x100 included), as the reference's
//! Scapy backend reports them. Non-TCP flows get `tcp_is_tcp = false` and zeros.
//!
//! Packets without a TCP header (non-first IP fragments) count in the ratio
//! denominators but are otherwise skipped, as in the reference.
//!
//! Default mode vs `compat=joyfuljay` (see [`Tcp`]): payload lengths (Scapy counts
//! Ethernet padding), `tcp_complete_handshake`, `tcp_graceful_close`,
//! `tcp_reset_close`, and which packets count as the responder's in a flow whose two
//! endpoints are identical.
use crate::config::Config;
use crate::spec::{spec, Spec, TCP};
use jj_kit::compat;
use jj_plugin_api::{
    pflags, DType, Extractor, ExtractorFactory, ExtractorInfo, FeatureMeta, FlowView, Options,
    PacketRecord, PluginError, PluginResult, Requirements, Value, DIR_FWD,
};

/// Feature group and id prefix.
pub const GROUP: &str = "tcp";

/// TCP flag bits of `PacketRecord::tcp_flags`.
pub mod flag {
    pub const FIN: u16 = 0x01;
    pub const SYN: u16 = 0x02;
    pub const RST: u16 = 0x04;
    pub const PSH: u16 = 0x08;
    pub const ACK: u16 = 0x10;
    pub const URG: u16 = 0x20;
    pub const ECE: u16 = 0x40;
    pub const CWR: u16 = 0x80;
}

/// Bits of `tcp_fstat`.
pub mod fstat {
    /// The initiator sent a SYN without ACK.
    pub const INITIATOR_SYN: i64 = 0x01;
    /// The responder sent a SYN+ACK.
    pub const RESPONDER_SYNACK: i64 = 0x02;
    /// More ACK-flagged packets than SYN+ACKs.
    pub const ACKED: i64 = 0x04;
    pub const FIN_FWD: i64 = 0x08;
    pub const FIN_BWD: i64 = 0x10;
    pub const RST: i64 = 0x20;
    /// At least one packet carried payload.
    pub const DATA: i64 = 0x40;
    /// `tcp_flags_anomaly`.
    pub const ANOMALY: i64 = 0x80;
}

use DType::{Bool as B, Float64 as F, Int64 as I};

/// Output slots, in column order.
pub mod slot {
    pub const IS_TCP: usize = 0;
    pub const SYN_COUNT: usize = 1;
    pub const SYNACK_COUNT: usize = 2;
    pub const FIN_COUNT: usize = 3;
    pub const RST_COUNT: usize = 4;
    pub const ACK_COUNT: usize = 5;
    pub const PSH_COUNT: usize = 6;
    pub const URG_COUNT: usize = 7;
    pub const ECE_COUNT: usize = 8;
    pub const CWR_COUNT: usize = 9;
    pub const COMPLETE_HANDSHAKE: usize = 10;
    pub const GRACEFUL_CLOSE: usize = 11;
    pub const RESET_CLOSE: usize = 12;
    pub const SYN_RATIO: usize = 13;
    pub const FIN_RATIO: usize = 14;
    pub const RST_RATIO: usize = 15;
    pub const PSH_RATIO: usize = 16;
    pub const DATA_PACKETS: usize = 17;
    pub const ACK_ONLY_PACKETS: usize = 18;
    pub const FLAGS_ANOMALY: usize = 19;
    pub const INITIATOR_SYN: usize = 20;
    pub const RESPONDER_SYNACK: usize = 21;
    pub const FSTAT: usize = 22;
    pub const FLAGS_AGG: usize = 23;
    pub const FLAGS_FWD: usize = 24;
    pub const FLAGS_BWD: usize = 25;
    pub const COUNT: usize = 26;
}

const Z: &str = "zero";

const fn t(
    name: &'static str,
    dtype: DType,
    units: &'static str,
    description: &'static str,
) -> Spec {
    spec(name, dtype, units, Z, description).deps(TCP)
}

/// The 26 features, in the reference's column order.
pub const FEATURES: [Spec; slot::COUNT] = [
    t("tcp_is_tcp", B, "", "True when the flow's protocol is TCP"),
    t("tcp_syn_count", I, "count", "Packets with SYN set and ACK clear"),
    t("tcp_synack_count", I, "count", "Packets with both SYN and ACK set"),
    t("tcp_fin_count", I, "count", "Packets with FIN set"),
    t("tcp_rst_count", I, "count", "Packets with RST set"),
    t("tcp_ack_count", I, "count", "Packets with ACK set"),
    t("tcp_psh_count", I, "count", "Packets with PSH set"),
    t("tcp_urg_count", I, "count", "Packets with URG set"),
    t("tcp_ece_count", I, "count", "Packets with ECE set"),
    t("tcp_cwr_count", I, "count", "Packets with CWR set"),
    t("tcp_complete_handshake", B, "", "The three-way handshake was seen in order: SYN from the initiator, SYN+ACK from the responder, then an ACK from the initiator (compat: initiator SYN and responder SYN+ACK in any order)"),
    t("tcp_graceful_close", B, "", "Both sides sent a FIN before any RST (compat: both sides sent a FIN)"),
    t("tcp_reset_close", B, "", "A RST ended the connection, i.e. came before FINs from both sides (compat: any RST)"),
    t("tcp_syn_ratio", F, "ratio", "(SYN-only packets + SYN+ACK packets) / all packets"),
    t("tcp_fin_ratio", F, "ratio", "FIN packets / all packets"),
    t("tcp_rst_ratio", F, "ratio", "RST packets / all packets"),
    t("tcp_psh_ratio", F, "ratio", "PSH packets / all packets"),
    t("tcp_data_packets", I, "count", "TCP packets carrying payload"),
    t("tcp_ack_only_packets", I, "count", "Pure ACKs: ACK set, no payload, none of SYN/FIN/RST"),
    t("tcp_flags_anomaly", B, "", "Some packet has an invalid flag combination: no flags, FIN+PSH+URG, FIN without ACK or SYN, SYN+FIN or SYN+RST"),
    t("tcp_initiator_syn", B, "", "The initiator sent a SYN without ACK")
        .direction("src_to_dst", crate::spec::FWD),
    t("tcp_responder_synack", B, "", "The responder sent a SYN+ACK")
        .direction("dst_to_src", crate::spec::BWD),
    t("tcp_fstat", I, "bitmap", "State bitmap: 0x01 initiator SYN, 0x02 responder SYN+ACK, 0x04 more ACKs than SYN+ACKs, 0x08 FIN from the initiator, 0x10 FIN from the responder, 0x20 RST seen, 0x40 payload seen, 0x80 flag anomaly"),
    t("tcp_flags_agg", I, "bitmap", "OR of the 9-bit TCP flags of all packets"),
    t("tcp_flags_fwd", I, "bitmap", "OR of the TCP flags of the initiator's packets")
        .direction("src_to_dst", crate::spec::FWD),
    t("tcp_flags_bwd", I, "bitmap", "OR of the TCP flags of the responder's packets")
        .direction("dst_to_src", crate::spec::BWD),
];

/// The feature list (independent of the options).
pub fn features() -> Vec<FeatureMeta> {
    FEATURES.iter().map(|s| s.meta(GROUP)).collect()
}

/// The factory registered under the component name `tcp`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpFactory;

impl ExtractorFactory for TcpFactory {
    type Instance = Tcp;
    fn options(&self) -> Option<Vec<jj_plugin_api::OptionSpec>> {
        Some(crate::config::OPTIONS.to_vec())
    }

    fn describe(&self, options: &Options) -> PluginResult<ExtractorInfo> {
        Config::from_options(options, GROUP)?;
        Ok(ExtractorInfo {
            group: GROUP.into(),
            features: features().into(),
            // Flags and lengths from the headers only.
            requirements: Requirements::default(),
        })
    }

    fn create(&self, options: &Options) -> PluginResult<Tcp> {
        Ok(Tcp::new(Config::from_options(options, GROUP)?))
    }
}

/// One extractor instance; it keeps no per-flow state and allocates nothing.
///
/// Default behaviour vs `compat=joyfuljay`:
/// * payload lengths (`tcp_data_packets`, `tcp_ack_only_packets`, `tcp_fstat` 0x40):
///   true TCP payload (compat: Scapy's, including Ethernet padding, so a padded pure
///   ACK counts as a data packet and not as a pure ACK);
/// * `tcp_complete_handshake`: SYN (initiator) → SYN+ACK (responder) → ACK (initiator)
///   in this order (compat: initiator SYN and responder SYN+ACK, any order, no ACK);
/// * `tcp_graceful_close`: FINs from both sides before any RST (compat: FINs from both
///   sides); `tcp_reset_close`: a RST before the FIN exchange completed (compat: any
///   RST), so the two are exclusive by default;
/// * compat only: when both endpoints are the same address and port, every packet also
///   counts as the responder's for `tcp_responder_synack` (the reference matches the
///   responder by endpoint, jj by direction).
///
/// "TCP flow" means `FlowView::protocol == 6` in both modes; under `compat=joyfuljay`
/// the host's JoyfulJay decoding already makes that the reference's protocol (IPv6:
/// the fixed header's next header; tunnels: the outer protocol).
#[derive(Clone, Copy, Debug, Default)]
pub struct Tcp {
    cfg: Config,
}

impl Tcp {
    pub fn new(cfg: Config) -> Self {
        Tcp { cfg }
    }
}

/// Whether the packet carries a TCP header: not a later IP fragment (unless rebuilt).
#[inline]
fn has_tcp_header(p: &PacketRecord) -> bool {
    p.pflags & pflags::L4_HEADER != 0
}

/// The flag combinations the reference flags as anomalous.
#[inline]
fn anomalous(f: u16) -> bool {
    use flag::*;
    f == 0
        || f & (FIN | PSH | URG) == FIN | PSH | URG
        || (f & FIN != 0 && f & (ACK | SYN) == 0)
        || (f & SYN != 0 && f & FIN != 0)
        || (f & SYN != 0 && f & RST != 0)
}

/// Progress of the three-way handshake (default mode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Handshake {
    #[default]
    None,
    Syn,
    SynAck,
    Done,
}

/// Counts and observations from one pass over a TCP flow.
#[derive(Default)]
struct Tally {
    syn: u64,
    synack: u64,
    fin: u64,
    rst: u64,
    ack: u64,
    psh: u64,
    urg: u64,
    ece: u64,
    cwr: u64,
    data: u64,
    ack_only: u64,
    anomaly: bool,
    initiator_syn: bool,
    responder_synack: bool,
    fin_dir: [bool; 2],
    /// Default-mode close: both FINs seen while no RST had been seen.
    graceful: bool,
    /// Default-mode close: a RST seen before the FIN exchange completed.
    reset: bool,
    handshake: Handshake,
    flags: [u16; 2],
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn ratio(num: u64, total: usize) -> f64 {
    if total > 0 {
        num as f64 / total as f64
    } else {
        0.0
    }
}

impl Tcp {
    fn tally(&self, flow: &FlowView<'_>) -> Tally {
        use flag::*;
        let compat = self.cfg.compat;
        let self_flow = flow.src_ip == flow.dst_ip && flow.src_port == flow.dst_port;
        let mut t = Tally::default();
        let mut hs = Handshake::None;
        for p in flow.packets() {
            if !has_tcp_header(p) {
                continue;
            }
            let f = p.tcp_flags;
            let fwd = p.dir == DIR_FWD;
            let d = usize::from(!fwd);
            let from_responder = !fwd || (compat && self_flow);
            let payload = compat::payload_len(p, compat);

            if f & SYN != 0 {
                if f & ACK != 0 {
                    t.synack += 1;
                    t.responder_synack |= from_responder;
                } else {
                    t.syn += 1;
                    t.initiator_syn |= fwd;
                }
            }
            if f & RST != 0 {
                t.rst += 1;
                // A RST before both FINs: the connection was reset.
                if !t.graceful {
                    t.reset = true;
                }
            }
            if f & FIN != 0 {
                t.fin += 1;
                t.fin_dir[d] = true;
                if t.fin_dir[0] && t.fin_dir[1] && !t.reset {
                    t.graceful = true;
                }
            }
            if f & ACK != 0 {
                t.ack += 1;
                if payload == 0 && f & (SYN | FIN | RST) == 0 {
                    t.ack_only += 1;
                }
            }
            t.psh += u64::from(f & PSH != 0);
            t.urg += u64::from(f & URG != 0);
            t.ece += u64::from(f & ECE != 0);
            t.cwr += u64::from(f & CWR != 0);
            t.data += u64::from(payload > 0);
            t.anomaly |= anomalous(f);
            t.flags[d] |= f;

            // SYN → SYN+ACK → ACK, in order; a new SYN restarts the handshake.
            let syn_ack = f & (SYN | ACK | RST);
            hs = match (hs, fwd, syn_ack) {
                (Handshake::Done, _, _) => Handshake::Done,
                (_, true, SYN) => Handshake::Syn,
                (Handshake::Syn | Handshake::SynAck, false, x) if x == SYN | ACK => {
                    Handshake::SynAck
                }
                (Handshake::SynAck, true, ACK) => Handshake::Done,
                (state, _, _) => state,
            };
        }
        t.handshake = hs;
        t
    }
}

impl Extractor for Tcp {
    fn extract(&mut self, flow: &FlowView<'_>, out: &mut [Value]) -> PluginResult<()> {
        use slot::*;
        if out.len() != COUNT {
            return Err(PluginError::other(format!(
                "tcp: the host passed {} output slots, expected {COUNT}",
                out.len()
            )));
        }
        let compat = self.cfg.compat;
        let is_tcp = flow.protocol == 6;
        let t = if is_tcp {
            self.tally(flow)
        } else {
            Tally::default()
        };
        let total = flow.packets().len();

        let (handshake, graceful, reset) = if compat {
            (
                t.initiator_syn && t.responder_synack,
                t.fin_dir[0] && t.fin_dir[1],
                t.rst > 0,
            )
        } else {
            (t.handshake == Handshake::Done, t.graceful, t.reset)
        };

        out[IS_TCP].set_bool(is_tcp);
        out[SYN_COUNT].set_int(int(t.syn));
        out[SYNACK_COUNT].set_int(int(t.synack));
        out[FIN_COUNT].set_int(int(t.fin));
        out[RST_COUNT].set_int(int(t.rst));
        out[ACK_COUNT].set_int(int(t.ack));
        out[PSH_COUNT].set_int(int(t.psh));
        out[URG_COUNT].set_int(int(t.urg));
        out[ECE_COUNT].set_int(int(t.ece));
        out[CWR_COUNT].set_int(int(t.cwr));
        out[COMPLETE_HANDSHAKE].set_bool(handshake);
        out[GRACEFUL_CLOSE].set_bool(graceful);
        out[RESET_CLOSE].set_bool(reset);
        let denominator = if is_tcp { total } else { 0 };
        out[SYN_RATIO].set_float(ratio(t.syn + t.synack, denominator));
        out[FIN_RATIO].set_float(ratio(t.fin, denominator));
        out[RST_RATIO].set_float(ratio(t.rst, denominator));
        out[PSH_RATIO].set_float(ratio(t.psh, denominator));
        out[DATA_PACKETS].set_int(int(t.data));
        out[ACK_ONLY_PACKETS].set_int(int(t.ack_only));
        out[FLAGS_ANOMALY].set_bool(t.anomaly);
        out[INITIATOR_SYN].set_bool(t.initiator_syn);
        out[RESPONDER_SYNACK].set_bool(t.responder_synack);

        let mut fs = 0;
        for (on, bit) in [
            (t.initiator_syn, fstat::INITIATOR_SYN),
            (t.responder_synack, fstat::RESPONDER_SYNACK),
            (t.ack > t.synack, fstat::ACKED),
            (t.fin_dir[0], fstat::FIN_FWD),
            (t.fin_dir[1], fstat::FIN_BWD),
            (t.rst > 0, fstat::RST),
            (t.data > 0, fstat::DATA),
            (t.anomaly, fstat::ANOMALY),
        ] {
            if on {
                fs |= bit;
            }
        }
        out[FSTAT].set_int(fs);
        out[FLAGS_AGG].set_int(i64::from(t.flags[0] | t.flags[1]));
        out[FLAGS_FWD].set_int(i64::from(t.flags[0]));
        out[FLAGS_BWD].set_int(i64::from(t.flags[1]));
        Ok(())
    }
}
