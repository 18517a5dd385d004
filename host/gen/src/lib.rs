//! Deterministic, realistic synthetic traffic captures for jj's tests, examples and
//! benchmarks.
//!
//! [`generate`] writes a pcap / pcapng capture of interleaved flows (HTTP, TLS 1.2/1.3,
//! refused TCP connections, DNS, QUIC-looking/NTP/syslog UDP, ICMP echo) with realistic
//! headers, timing and payloads. The same [`GenConfig`] always gives byte-identical output,
//! and memory stays bounded whatever the output size: only `concurrency` flows are alive at
//! once and nothing is kept after it is written.
//!
//! ```
//! let cfg = jj_gen::GenConfig { flows: 20, ..Default::default() };
//! let mut out = Vec::new();
//! let stats = jj_gen::generate(&cfg, &mut out).unwrap();
//! assert_eq!(stats.flows, 20);
//! assert_eq!(stats.bytes, out.len() as u64);
//! ```
//!
//! Special modes ([`Mode`]) produce adversarial captures: a SYN flood of N distinct flows,
//! or one TCP connection with N data packets.
//!
//! For hand-built captures, [`packet`] has frame builders and [`pcap`] the writers;
//! [`replay`] lays real captures end to end into one benchmark corpus.
#![forbid(unsafe_code)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::io::{self, BufWriter, Write};
use std::str::FromStr;

mod dns;
mod flow;
pub mod packet;
pub mod pcap;
pub mod replay;
pub mod rng;
mod tls;
mod world;

pub use pcap::{CaptureWriter, PcapNgWriter, PcapWriter, LINKTYPE_ETHERNET};

use flow::{Flow, Scratch};
use packet::{tcp_flags, Frame, IpPair, IpParams, TcpOptions, L4};
use rng::{mix64, Rng};
use world::World;

/// Capture file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OutFormat {
    /// Classic pcap, microsecond timestamps (magic a1b2c3d4).
    #[default]
    PcapMicro,
    /// Classic pcap, nanosecond timestamps (magic a1b23c4d).
    PcapNano,
    /// pcapng with one Ethernet interface and nanosecond timestamps.
    PcapNg,
}

impl FromStr for OutFormat {
    type Err = String;
    /// `pcap`, `pcap-ns` or `pcapng`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "pcap" | "pcap-us" => Ok(OutFormat::PcapMicro),
            "pcap-ns" | "pcapns" | "pcap-nano" => Ok(OutFormat::PcapNano),
            "pcapng" | "ng" => Ok(OutFormat::PcapNg),
            _ => Err(format!(
                "unknown format {s:?} (expected pcap, pcap-ns or pcapng)"
            )),
        }
    }
}

/// Kinds of flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowKind {
    /// Handshake, HTTP/1.1 requests and multi-segment responses (keep-alive), FIN close.
    TcpHttp,
    /// Handshake, TLS 1.2/1.3 handshake and application data, FIN or RST close.
    TcpTls,
    /// Connection refused: SYN, then RST/ACK.
    TcpRst,
    /// DNS query/response pairs (A and/or AAAA, CNAMEs, NXDOMAIN).
    UdpDns,
    /// QUIC-looking on port 443, NTP, syslog.
    UdpOther,
    /// ICMP / ICMPv6 echo request/reply pairs one second apart.
    Icmp,
    /// A SYN-only flow of [`Mode::SynFlood`].
    SynFlood,
    /// The connection of [`Mode::SingleFlow`].
    SingleFlow,
}

impl FlowKind {
    pub const ALL: [FlowKind; 8] = [
        FlowKind::TcpHttp,
        FlowKind::TcpTls,
        FlowKind::TcpRst,
        FlowKind::UdpDns,
        FlowKind::UdpOther,
        FlowKind::Icmp,
        FlowKind::SynFlood,
        FlowKind::SingleFlow,
    ];

    /// Short name, as used by `--mix`.
    pub fn name(self) -> &'static str {
        match self {
            FlowKind::TcpHttp => "tcp",
            FlowKind::TcpTls => "tls",
            FlowKind::TcpRst => "rst",
            FlowKind::UdpDns => "dns",
            FlowKind::UdpOther => "udp",
            FlowKind::Icmp => "icmp",
            FlowKind::SynFlood => "syn",
            FlowKind::SingleFlow => "single",
        }
    }
}

/// Relative shares of flow kinds (need not sum to 1; they are normalised).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mix {
    pub tcp_http: f64,
    pub tcp_tls: f64,
    pub tcp_rst: f64,
    pub udp_dns: f64,
    pub udp_other: f64,
    pub icmp: f64,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            tcp_http: 0.22,
            tcp_tls: 0.38,
            tcp_rst: 0.05,
            udp_dns: 0.25,
            udp_other: 0.07,
            icmp: 0.03,
        }
    }
}

impl Mix {
    fn weights(&self) -> [(FlowKind, f64); 6] {
        [
            (FlowKind::TcpHttp, self.tcp_http),
            (FlowKind::TcpTls, self.tcp_tls),
            (FlowKind::TcpRst, self.tcp_rst),
            (FlowKind::UdpDns, self.udp_dns),
            (FlowKind::UdpOther, self.udp_other),
            (FlowKind::Icmp, self.icmp),
        ]
    }

    /// Sum of the shares.
    pub fn total(&self) -> f64 {
        self.weights().iter().map(|w| w.1).sum()
    }

    fn validate(&self) -> Result<(), String> {
        if self
            .weights()
            .iter()
            .any(|&(_, w)| !w.is_finite() || w < 0.0)
        {
            return Err("mix shares must be finite and >= 0".into());
        }
        if self.total() <= 0.0 {
            return Err("mix shares must not all be 0".into());
        }
        Ok(())
    }

    fn pick(&self, rng: &mut Rng) -> FlowKind {
        let w = self.weights();
        let mut x = rng.f64() * self.total();
        let mut last = FlowKind::TcpHttp;
        for (k, share) in w {
            if share <= 0.0 {
                continue;
            }
            if x < share {
                return k;
            }
            x -= share;
            last = k;
        }
        last
    }
}

impl FromStr for Mix {
    type Err = String;
    /// `tcp=0.3,tls=0.4,dns=0.2,...`; kinds not named get share 0.
    /// Keys: `tcp`/`http`, `tls`/`https`, `rst`, `dns`, `udp`/`other`, `icmp`/`ping`.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut m = Mix {
            tcp_http: 0.0,
            tcp_tls: 0.0,
            tcp_rst: 0.0,
            udp_dns: 0.0,
            udp_other: 0.0,
            icmp: 0.0,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("mix entry {part:?} is not KEY=SHARE"))?;
            let v: f64 = v
                .trim()
                .parse()
                .map_err(|_| format!("mix share {v:?} is not a number"))?;
            let slot = match k.trim().to_ascii_lowercase().as_str() {
                "tcp" | "http" | "tcp_http" => &mut m.tcp_http,
                "tls" | "https" | "tcp_tls" => &mut m.tcp_tls,
                "rst" | "refused" | "tcp_rst" => &mut m.tcp_rst,
                "dns" | "udp_dns" => &mut m.udp_dns,
                "udp" | "other" | "udp_other" | "quic" => &mut m.udp_other,
                "icmp" | "ping" => &mut m.icmp,
                other => {
                    return Err(format!(
                        "unknown mix key {other:?} (expected tcp, tls, rst, dns, udp, icmp)"
                    ))
                }
            };
            *slot = v;
        }
        m.validate()?;
        Ok(m)
    }
}

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Interleaved flows of all kinds according to [`GenConfig::mix`].
    #[default]
    Mixed,
    /// `flows` SYN-only flows from distinct client address/port pairs to one server,
    /// a few microseconds apart: exactly `flows` packets. Streams in constant memory.
    SynFlood { flows: u64 },
    /// One TCP connection: handshake (3 packets), `packets` data packets alternating
    /// between a small client request and bursts of full server segments (every packet
    /// carries the current ACK; no pure ACKs), then a FIN close (3 packets).
    SingleFlow { packets: u64 },
}

/// Generator settings. `Default` gives 100 mixed flows (roughly 5-10 MB) as a microsecond pcap.
#[derive(Clone, Debug, PartialEq)]
pub struct GenConfig {
    pub seed: u64,
    /// Total number of flows (ignored when `target_bytes` is set).
    pub flows: u64,
    /// Stop at about this file size (within ~1% for sizes of a few MB and up): new flows
    /// keep starting until the size is nearly reached, then open flows are closed cleanly.
    pub target_bytes: Option<u64>,
    /// Flows in progress at once (interleaved in timestamp order).
    pub concurrency: usize,
    pub mix: Mix,
    /// Share of flows over IPv6 (2001:db8::/32 addresses).
    pub ipv6_share: f64,
    /// Share of flows whose frames carry an 802.1Q tag.
    pub vlan_share: f64,
    /// Timestamp of the start of the capture, ns since the Unix epoch.
    pub start_ts_ns: i64,
    pub format: OutFormat,
    /// Frames longer than this are truncated (caplen < len).
    pub snaplen: u32,
    pub mode: Mode,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 1,
            flows: 100,
            target_bytes: None,
            concurrency: 64,
            mix: Mix::default(),
            ipv6_share: 0.1,
            vlan_share: 0.05,
            start_ts_ns: 1_700_000_000_000_000_000,
            format: OutFormat::PcapMicro,
            snaplen: pcap::DEFAULT_SNAPLEN,
            mode: Mode::Mixed,
        }
    }
}

impl GenConfig {
    fn validate(&self) -> Result<(), String> {
        self.mix.validate()?;
        for (name, v) in [
            ("ipv6_share", self.ipv6_share),
            ("vlan_share", self.vlan_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be within 0..=1, got {v}"));
            }
        }
        if self.snaplen == 0 {
            return Err("snaplen must be > 0".into());
        }
        Ok(())
    }
}

/// Flow counts per [`FlowKind`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindCounts {
    pub tcp_http: u64,
    pub tcp_tls: u64,
    pub tcp_rst: u64,
    pub udp_dns: u64,
    pub udp_other: u64,
    pub icmp: u64,
    pub syn_flood: u64,
    pub single_flow: u64,
}

impl KindCounts {
    pub fn get(&self, k: FlowKind) -> u64 {
        match k {
            FlowKind::TcpHttp => self.tcp_http,
            FlowKind::TcpTls => self.tcp_tls,
            FlowKind::TcpRst => self.tcp_rst,
            FlowKind::UdpDns => self.udp_dns,
            FlowKind::UdpOther => self.udp_other,
            FlowKind::Icmp => self.icmp,
            FlowKind::SynFlood => self.syn_flood,
            FlowKind::SingleFlow => self.single_flow,
        }
    }

    fn add(&mut self, k: FlowKind, n: u64) {
        let c = match k {
            FlowKind::TcpHttp => &mut self.tcp_http,
            FlowKind::TcpTls => &mut self.tcp_tls,
            FlowKind::TcpRst => &mut self.tcp_rst,
            FlowKind::UdpDns => &mut self.udp_dns,
            FlowKind::UdpOther => &mut self.udp_other,
            FlowKind::Icmp => &mut self.icmp,
            FlowKind::SynFlood => &mut self.syn_flood,
            FlowKind::SingleFlow => &mut self.single_flow,
        };
        *c += n;
    }
}

impl fmt::Display for KindCounts {
    /// `tcp 12, tls 30, dns 20` (kinds with 0 flows left out).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for k in FlowKind::ALL {
            let n = self.get(k);
            if n > 0 {
                write!(f, "{}{} {}", if first { "" } else { ", " }, k.name(), n)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// What [`generate`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenStats {
    pub packets: u64,
    /// Bytes written, file header included (the file size).
    pub bytes: u64,
    pub flows: u64,
    pub by_kind: KindCounts,
}

const US: i64 = 1_000;
const MS: i64 = 1_000_000;
/// Expected bytes each open flow still writes once wind-down starts (a FIN close).
const WIND_DOWN_BYTES: u64 = 320;

/// Write a capture described by `cfg` to `out` (buffered internally) and flush it.
///
/// Returns `InvalidInput` for a bad configuration, or the writer's error.
pub fn generate<W: Write>(cfg: &GenConfig, out: W) -> io::Result<GenStats> {
    cfg.validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let buf = BufWriter::with_capacity(1 << 20, out);
    let lt = LINKTYPE_ETHERNET;
    let mut w = match cfg.format {
        OutFormat::PcapMicro => {
            CaptureWriter::Pcap(PcapWriter::with_snaplen(buf, lt, false, cfg.snaplen)?)
        }
        OutFormat::PcapNano => {
            CaptureWriter::Pcap(PcapWriter::with_snaplen(buf, lt, true, cfg.snaplen)?)
        }
        OutFormat::PcapNg => CaptureWriter::PcapNg(PcapNgWriter::new(buf, lt, cfg.snaplen)?),
    };
    let mut stats = GenStats::default();
    match cfg.mode {
        Mode::Mixed => run_mixed(cfg, &mut w, &mut stats)?,
        Mode::SynFlood { flows } => run_syn_flood(cfg, &mut w, &mut stats, flows)?,
        Mode::SingleFlow { packets } => run_single(cfg, &mut w, &mut stats, packets)?,
    }
    w.flush()?;
    stats.packets = w.packets_written();
    stats.bytes = w.bytes_written();
    Ok(stats)
}

#[inline]
fn write_frame<W: Write>(
    w: &mut CaptureWriter<W>,
    cfg: &GenConfig,
    ts: i64,
    frame: &[u8],
) -> io::Result<()> {
    let cap = frame.len().min(cfg.snaplen as usize);
    w.write_packet(ts, &frame[..cap], frame.len() as u32)
}

fn run_mixed<W: Write>(
    cfg: &GenConfig,
    w: &mut CaptureWriter<W>,
    stats: &mut GenStats,
) -> io::Result<()> {
    let world = World::new(cfg.seed);
    let mut master = Rng::new(cfg.seed);
    let conc = cfg.concurrency.max(1);
    let limit = if cfg.target_bytes.is_some() {
        u64::MAX
    } else {
        cfg.flows
    };
    let mut slots: Vec<Flow> = Vec::with_capacity(conc.min(1 << 16));
    // (next timestamp, insertion tick for FIFO ties, slot)
    let mut heap: BinaryHeap<Reverse<(i64, u64, usize)>> =
        BinaryHeap::with_capacity(conc.min(1 << 16));
    let mut tick = 0u64;
    let mut sc = Scratch::new();
    let mut started = 0u64;
    let mut stopping = cfg.target_bytes.is_some_and(|t| w.bytes_written() >= t);

    while slots.len() < conc && started < limit && !stopping {
        let ts = cfg.start_ts_ns + master.range_i(0, 20 * MS);
        let kind = cfg.mix.pick(&mut master);
        let f = Flow::new(kind, master.fork(), &world, cfg, ts, Vec::new());
        stats.by_kind.add(kind, 1);
        started += 1;
        heap.push(Reverse((ts, tick, slots.len())));
        tick += 1;
        slots.push(f);
    }
    let mut active = slots.len() as u64;

    while let Some(Reverse((ts, _, i))) = heap.pop() {
        let f = &mut slots[i];
        let next = f.step(&world, stopping, &mut sc);
        write_frame(w, cfg, ts, &sc.frame)?;
        if let Some(target) = cfg.target_bytes {
            if !stopping && w.bytes_written() + active * WIND_DOWN_BYTES >= target {
                stopping = true;
            }
        }
        match next {
            Some(nts) => {
                f.e.ts = nts;
                heap.push(Reverse((nts, tick, i)));
                tick += 1;
            }
            None => {
                active -= 1;
                if !stopping && started < limit {
                    let kind = cfg.mix.pick(&mut master);
                    let nts = ts + master.exp_ns(300 * US);
                    let buf = f.take_buf();
                    *f = Flow::new(kind, master.fork(), &world, cfg, nts, buf);
                    stats.by_kind.add(kind, 1);
                    started += 1;
                    active += 1;
                    heap.push(Reverse((nts, tick, i)));
                    tick += 1;
                }
            }
        }
    }
    stats.flows = started;
    Ok(())
}

/// Bijection on 24-bit values (so distinct inputs give distinct outputs).
fn perm24(mut x: u64, salt: u64) -> u64 {
    const M: u64 = (1 << 24) - 1;
    x = x.wrapping_mul(0x9E_3779) & M; // odd multiplier
    x ^= x >> 12;
    x = x.wrapping_mul(0x5B_D1E9 | 1) & M;
    x ^= x >> 11;
    (x + salt) & M
}

fn run_syn_flood<W: Write>(
    cfg: &GenConfig,
    w: &mut CaptureWriter<W>,
    stats: &mut GenStats,
    n: u64,
) -> io::Result<()> {
    let mut rng = Rng::new(cfg.seed ^ 0x5151_f100d);
    let salt = rng.next_u64();
    let dst4 = [203, 0, 113, 80];
    let mut dst6 = [0u8; 16];
    dst6[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    dst6[4..6].copy_from_slice(&[0xff, 0xff]);
    dst6[15] = 0x80;
    let dport = 80;
    let gw = [0x00, 0x1c, 0x73, 0x10, 0x20, 0x30];
    let mut frame = Vec::with_capacity(128);
    let mut ts = cfg.start_ts_ns;
    for i in 0..n {
        let host = perm24(i & 0xff_ffff, salt);
        let hi = i >> 24;
        let sport = 32768 + ((hi + mix64(host ^ salt)) % 28232) as u16;
        let ip = if rng.chance(cfg.ipv6_share) {
            let mut s = [0u8; 16];
            s[..6].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0x0b, 0xad]);
            s[13..16].copy_from_slice(&host.to_be_bytes()[5..8]);
            IpPair::V6 { src: s, dst: dst6 }
        } else {
            IpPair::V4 {
                src: [10, (host >> 16) as u8, (host >> 8) as u8, host as u8],
                dst: dst4,
            }
        };
        let tool = rng.chance(0.5);
        let opts = if tool {
            TcpOptions::new()
        } else {
            TcpOptions::new()
                .mss(1460)
                .sack_permitted()
                .timestamps(rng.next_u32(), 0)
                .nop()
                .wscale(7)
        };
        let f = Frame {
            src_mac: [
                0x02,
                0x00,
                (host >> 16) as u8,
                (host >> 8) as u8,
                host as u8,
                hi as u8,
            ],
            dst_mac: gw,
            vlan: if rng.chance(cfg.vlan_share) {
                Some(10)
            } else {
                None
            },
            ip,
            ip_params: IpParams {
                ttl: if tool { rng.range(40, 250) as u8 } else { 64 },
                ident: rng.next_u16(),
                dont_fragment: !tool,
                tos: 0,
                flow_label: rng.next_u32() & 0xf_ffff,
            },
            l4: L4::Tcp {
                sport,
                dport,
                seq: rng.next_u32(),
                ack: 0,
                flags: tcp_flags::SYN,
                window: if tool { 512 } else { 64240 },
                options: opts.as_slice(),
            },
        };
        f.build_into(&[], &mut frame);
        write_frame(w, cfg, ts, &frame)?;
        ts += rng.range_i(US, 20 * US);
    }
    stats.flows = n;
    stats.by_kind.add(FlowKind::SynFlood, n);
    Ok(())
}

fn run_single<W: Write>(
    cfg: &GenConfig,
    w: &mut CaptureWriter<W>,
    stats: &mut GenStats,
    packets: u64,
) -> io::Result<()> {
    let world = World::new(cfg.seed);
    let mut rng = Rng::new(cfg.seed);
    let mut f = Flow::single(rng.fork(), &world, cfg, cfg.start_ts_ns, packets);
    let mut sc = Scratch::new();
    loop {
        let ts = f.e.ts;
        let next = f.step(&world, false, &mut sc);
        write_frame(w, cfg, ts, &sc.frame)?;
        match next {
            Some(t) => f.e.ts = t,
            None => break,
        }
    }
    stats.flows = 1;
    stats.by_kind.add(FlowKind::SingleFlow, 1);
    Ok(())
}

/// Parse a size such as `500MB`, `2GB`, `1.5G`, `64KiB` or `1000000`.
/// `K/M/G/T` (with or without `B`) are decimal; `KiB/MiB/GiB/TiB` binary.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("size {s:?} does not start with a number"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        u => return Err(format!("unknown size unit {u:?} in {s:?}")),
    };
    Ok((v * mult).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("500MB").unwrap(), 500_000_000);
        assert_eq!(parse_size("2GB").unwrap(), 2_000_000_000);
        assert_eq!(parse_size("1.5G").unwrap(), 1_500_000_000);
        assert_eq!(parse_size("64KiB").unwrap(), 65_536);
        assert_eq!(parse_size("123").unwrap(), 123);
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("MB").is_err());
    }

    #[test]
    fn mixes() {
        let m: Mix = "tcp=0.5,tls=0.3,dns=0.2".parse().unwrap();
        assert_eq!(m.tcp_http, 0.5);
        assert_eq!(m.icmp, 0.0);
        assert!("tcp=0".parse::<Mix>().is_err());
        assert!("bogus=1".parse::<Mix>().is_err());
        let mut r = Rng::new(1);
        for _ in 0..1000 {
            assert!(matches!(
                m.pick(&mut r),
                FlowKind::TcpHttp | FlowKind::TcpTls | FlowKind::UdpDns
            ));
        }
    }

    #[test]
    fn perm24_is_injective_on_a_sample() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..200_000 {
            assert!(seen.insert(perm24(i, 12345)));
        }
    }
}
