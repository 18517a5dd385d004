//! Per-flow state machines. A flow emits one packet per [`Flow::step`] and says when its
//! next packet is due; the scheduler in `lib.rs` interleaves flows by that time.
//!
//! Timing model: the capture point sits next to the clients. A packet a client sends in
//! reaction to the server appears `cdelay` (tens of µs) after the server's packet; a packet
//! the server sends in reaction to the client appears one RTT after the client's packet.

use crate::dns;
use crate::packet::{tcp_flags as F, Frame, IpPair, IpParams, TcpOptions, L4};
use crate::rng::Rng;
use crate::tls;
use crate::world::{copy_pool, word, World, N_CLIENTS};
use crate::{FlowKind, GenConfig};

pub(crate) const C: usize = 0;
pub(crate) const S: usize = 1;
const US: i64 = 1_000;
const MS: i64 = 1_000_000;
const SEC: i64 = 1_000_000_000;

/// Reused buffers: nothing is allocated per packet.
pub(crate) struct Scratch {
    pub payload: Vec<u8>,
    pub frame: Vec<u8>,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch {
            payload: Vec::with_capacity(70_000),
            frame: Vec::with_capacity(70_000),
        }
    }
}

/// Addressing of both endpoints; `[C]` is the client, `[S]` the server.
pub(crate) struct Net {
    pub mac: [[u8; 6]; 2],
    /// Client to server.
    pub ip: IpPair,
    pub port: [u16; 2],
    pub ttl: [u8; 2],
    pub ip_id: [u16; 2],
    pub flow_label: [u32; 2],
    pub vlan: Option<u16>,
    pub df: bool,
}

impl Net {
    pub fn emit(&mut self, side: usize, l4: L4<'_>, payload: &[u8], frame: &mut Vec<u8>) {
        let f = Frame {
            src_mac: self.mac[side],
            dst_mac: self.mac[1 - side],
            vlan: self.vlan,
            ip: if side == C {
                self.ip
            } else {
                self.ip.reversed()
            },
            ip_params: IpParams {
                ttl: self.ttl[side],
                ident: self.ip_id[side],
                dont_fragment: self.df,
                tos: 0,
                flow_label: self.flow_label[side],
            },
            l4,
        };
        f.build_into(payload, frame);
        self.ip_id[side] = self.ip_id[side].wrapping_add(1);
    }

    fn is_v6(&self) -> bool {
        matches!(self.ip, IpPair::V6 { .. })
    }
}

/// Everything a flow has besides its protocol state.
pub(crate) struct Env {
    /// Time of the packet being emitted (the flow's current time).
    pub ts: i64,
    t0: i64,
    rng: Rng,
    pub net: Net,
    rtt: i64,
    cdelay: i64,
    /// Serialisation time of one full-size segment at the flow's bottleneck.
    gap: i64,
    server: usize,
    /// Materialised bytes of the current TCP turn (handshake messages, headers).
    buf: Vec<u8>,
}

impl Env {
    /// Delay before `side` reacts to a packet from the other side (as seen at capture).
    fn react(&mut self, side: usize) -> i64 {
        if side == C {
            self.rng.jitter(self.cdelay, 30)
        } else {
            self.rng.jitter(self.rtt, 10)
        }
    }
}

#[allow(clippy::large_enum_variant)] // slots are reused, never moved per packet
enum Proto {
    Tcp(Tcp),
    Dns(DnsSt),
    Quic(QuicSt),
    Ntp(NtpSt),
    Syslog(SyslogSt),
    Icmp(IcmpSt),
}

pub(crate) struct Flow {
    pub kind: FlowKind,
    pub e: Env,
    proto: Proto,
}

impl Flow {
    /// Emit this flow's next packet (at `self.e.ts`) into `sc.frame`; return when the
    /// following one is due, or `None` when the flow is finished. With `stopping` set the
    /// flow winds down quickly (TCP closes, UDP stops).
    pub fn step(&mut self, w: &World, stopping: bool, sc: &mut Scratch) -> Option<i64> {
        let e = &mut self.e;
        let next = match &mut self.proto {
            Proto::Tcp(t) => t.step(e, w, stopping, sc),
            Proto::Dns(d) => d.step(e, w, sc),
            Proto::Quic(q) => q.step(e, w, sc),
            Proto::Ntp(n) => n.step(e, sc),
            Proto::Syslog(s) => s.step(e, sc),
            Proto::Icmp(i) => i.step(e, sc),
        };
        match next {
            Some(t) if stopping && !matches!(self.proto, Proto::Tcp(_)) => {
                let _ = t;
                None
            }
            Some(t) => Some(t.max(self.e.ts)),
            None => None,
        }
    }

    /// Give back the turn buffer for reuse.
    pub fn take_buf(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.e.buf)
    }

    /// A new flow of `kind` starting at `ts`.
    pub fn new(
        kind: FlowKind,
        mut rng: Rng,
        w: &World,
        cfg: &GenConfig,
        ts: i64,
        mut buf: Vec<u8>,
    ) -> Flow {
        buf.clear();
        let client = w.client(rng.below(N_CLIENTS));
        let v6 = rng.chance(cfg.ipv6_share);
        let vlan = if rng.chance(cfg.vlan_share) {
            Some(*rng.pick(&[10u16, 20, 30, 100, 200]))
        } else {
            None
        };
        let (server, sv4, sv6, sttl) = match kind {
            FlowKind::UdpDns => {
                let r = &w.resolvers[rng.below(w.resolvers.len() as u64) as usize];
                (w.pick_web(&mut rng), r.v4, r.v6, r.ttl)
            }
            _ => {
                let i = w.pick_web(&mut rng);
                let s = &w.web[i];
                (i, s.v4, s.v6, s.ttl)
            }
        };
        let ip = if v6 {
            IpPair::V6 {
                src: client.v6,
                dst: sv6,
            }
        } else {
            IpPair::V4 {
                src: client.v4,
                dst: sv4,
            }
        };
        let gap_per_seg = *rng.pick(&[12 * US, 24 * US, 24 * US, 120 * US, 240 * US, 600 * US]);
        let mut e = Env {
            ts,
            t0: ts,
            net: Net {
                mac: [client.mac, w.gateway_mac],
                ip,
                port: [rng.range(32768, 60999) as u16, 0],
                ttl: [client.ttl, sttl],
                ip_id: [rng.next_u16(), rng.next_u16()],
                flow_label: if v6 {
                    [rng.next_u32() & 0xf_ffff, rng.next_u32() & 0xf_ffff]
                } else {
                    [0, 0]
                },
                vlan,
                df: true,
            },
            rtt: rng.log_uniform(MS as u64, 100 * MS as u64) as i64,
            cdelay: rng.range_i(15 * US, 150 * US),
            gap: gap_per_seg,
            server,
            buf,
            rng,
        };
        let proto = match kind {
            FlowKind::TcpHttp | FlowKind::TcpTls | FlowKind::TcpRst => {
                Proto::Tcp(Tcp::new(kind, &mut e, client.windows, w))
            }
            FlowKind::UdpDns => {
                e.net.df = false;
                e.net.port[S] = 53;
                Proto::Dns(DnsSt::new(&mut e))
            }
            FlowKind::UdpOther => {
                e.net.df = false;
                match e.rng.below(10) {
                    0..=5 => Proto::Quic(QuicSt::new(&mut e)),
                    6..=8 => {
                        let n = &w.ntp[e.rng.below(w.ntp.len() as u64) as usize];
                        e.net.ip = if v6 {
                            IpPair::V6 {
                                src: client.v6,
                                dst: n.v6,
                            }
                        } else {
                            IpPair::V4 {
                                src: client.v4,
                                dst: n.v4,
                            }
                        };
                        e.net.port = [
                            if e.rng.chance(0.3) {
                                123
                            } else {
                                e.net.port[C]
                            },
                            123,
                        ];
                        Proto::Ntp(NtpSt {
                            rounds: e.rng.range(1, 3) as u32,
                            step: 0,
                            xmt: [0; 8],
                        })
                    }
                    _ => {
                        let s = &w.syslog;
                        e.net.ip = if v6 {
                            IpPair::V6 {
                                src: client.v6,
                                dst: s.v6,
                            }
                        } else {
                            IpPair::V4 {
                                src: client.v4,
                                dst: s.v4,
                            }
                        };
                        e.net.port[S] = 514;
                        Proto::Syslog(SyslogSt {
                            left: e.rng.range(1, 10) as u32,
                            pid: e.rng.range(300, 30000) as u32,
                            host: e.rng.below(N_CLIENTS) as u32,
                        })
                    }
                }
            }
            FlowKind::Icmp => {
                let linux = !client.windows;
                Proto::Icmp(IcmpSt {
                    id: e.rng.next_u16(),
                    seq: if linux { 1 } else { e.rng.range(1, 400) as u16 },
                    left: e.rng.range(1, 5) as u32,
                    reply_next: false,
                    linux,
                    req_ts: ts,
                })
            }
            FlowKind::SynFlood | FlowKind::SingleFlow => unreachable!("special modes"),
        };
        Flow { kind, e, proto }
    }

    /// One long TCP connection with `packets` data packets, then a FIN close.
    pub fn single(mut rng: Rng, w: &World, cfg: &GenConfig, ts: i64, packets: u64) -> Flow {
        let mut f = Flow::new(FlowKind::TcpHttp, rng.fork(), w, cfg, ts, Vec::new());
        f.kind = FlowKind::SingleFlow;
        if let Proto::Tcp(t) = &mut f.proto {
            t.app = App::Bulk {
                left: packets,
                client_next: true,
            };
            t.no_acks = true;
            f.e.net.port[S] = 443;
        }
        f
    }
}

// ---- TCP ------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Syn,
    SynAck,
    Ack3,
    Refused,
    Data,
    Close,
    Done,
}

#[derive(Clone, Copy, Debug)]
enum Tail {
    None,
    Text {
        salt: u64,
    },
    Random {
        salt: u64,
    },
    /// Back-to-back TLS application-data records.
    Tls {
        salt: u64,
        /// Size of a full record, header included.
        full: u64,
        nfull: u64,
        /// Size of the final short record (0 if none), header included.
        last: u64,
    },
}

#[derive(Clone, Copy, Debug)]
struct Turn {
    from: usize,
    /// Bytes of `Env::buf` sent first.
    prefix: u64,
    tail: Tail,
    total: u64,
    /// The receiver may skip its ACK (its reply carries it) when the turn is one segment.
    piggyback: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct Xfer {
    /// Bytes of the turn already sent.
    off: u64,
    cwnd: u32,
    /// Segments in the current burst, and how many are sent.
    bsegs: u32,
    bsent: u32,
    /// Burst timing: segment i is due at `bstart + i * bgap`; the receiver's ACK of
    /// segment i at that time plus `breact`.
    bstart: i64,
    bgap: i64,
    breact: i64,
    bseq: u32,
    bbytes: u64,
    /// ACKs the receiver sends for this burst (one per two segments), and how many are sent.
    acks: u32,
    ack_i: u32,
}

#[derive(Clone, Copy, Debug)]
enum CloseKind {
    Fin { init: usize, combined: bool },
    Rst { who: usize },
}

enum App {
    Http {
        reqs_left: u32,
        respond: bool,
        conn_close: bool,
        req_no: u32,
    },
    Tls {
        hello: tls::HelloInfo,
        n: tls::Negotiated,
        server_tls13: bool,
        stage: u8,
        exchanges_left: u32,
        respond: bool,
        alert: bool,
        rst: bool,
    },
    Refused,
    Bulk {
        left: u64,
        client_next: bool,
    },
}

struct Tcp {
    phase: Phase,
    isn: [u32; 2],
    nxt: [u32; 2],
    rcv: [u32; 2],
    mss: [u16; 2],
    /// Payload bytes of a full segment.
    seg: u32,
    wscale: [u8; 2],
    rwnd: [u32; 2],
    ts_on: bool,
    windows: bool,
    tsbase: [u32; 2],
    last_tsval: [u32; 2],
    turn: Turn,
    x: Xfer,
    no_acks: bool,
    close: CloseKind,
    cstep: u8,
    app: App,
}

fn body_size(rng: &mut Rng) -> u64 {
    match rng.below(100) {
        0..=69 => rng.log_uniform(200, 20_000),
        70..=95 => rng.log_uniform(20_000, 200_000),
        _ => rng.log_uniform(200_000, 2_000_000),
    }
}

fn set_turn(turn: &mut Turn, e: &Env, from: usize, tail: Tail, tail_len: u64, piggyback: bool) {
    let prefix = e.buf.len() as u64;
    *turn = Turn {
        from,
        prefix,
        tail,
        total: prefix + tail_len,
        piggyback,
    };
}

fn tls_tail(salt: u64, plain: u64, ovh: u32) -> (Tail, u64) {
    let full = 5 + 16384 + ovh as u64;
    let nfull = plain / 16384;
    let rem = plain % 16384;
    let last = if rem > 0 { 5 + rem + ovh as u64 } else { 0 };
    (
        Tail::Tls {
            salt,
            full,
            nfull,
            last,
        },
        nfull * full + last,
    )
}

impl Tcp {
    fn new(kind: FlowKind, e: &mut Env, windows: bool, w: &World) -> Tcp {
        let r = &mut e.rng;
        let v6 = e.net.is_v6();
        let base_mss: u16 = if v6 { 1440 } else { 1460 };
        let mss_c = if r.chance(0.85) {
            base_mss
        } else {
            base_mss - *r.pick(&[20u16, 40, 60, 80, 100])
        };
        let mss_s = if r.chance(0.9) {
            base_mss
        } else {
            base_mss - 40
        };
        let ts_on = !windows && r.chance(0.95);
        let seg = mss_c.min(mss_s) as u32 - if ts_on { 12 } else { 0 };
        let wscale = [if windows { 8 } else { 7 }, *r.pick(&[7u8, 7, 8, 9, 10])];
        let rwnd = [
            r.range(64_000, 3_000_000) as u32,
            r.range(64_000, 1_000_000) as u32,
        ];
        let server = &w.web[e.server];
        let app = match kind {
            FlowKind::TcpHttp => {
                let p = *r.pick(&[80u16, 80, 80, 80, 80, 80, 80, 8080, 8080, 8000]);
                e.net.port[S] = p;
                App::Http {
                    reqs_left: if r.chance(0.6) {
                        1
                    } else {
                        r.range(2, 4) as u32
                    },
                    respond: false,
                    conn_close: r.chance(0.3),
                    req_no: 0,
                }
            }
            FlowKind::TcpTls => {
                let p = *r.pick(&[443u16, 443, 443, 443, 443, 443, 443, 443, 8443, 993]);
                e.net.port[S] = p;
                let profile = match r.below(100) {
                    0..=59 => tls::Profile::Chrome,
                    60..=84 => tls::Profile::Firefox,
                    _ => tls::Profile::Legacy,
                };
                // The hello is built when the turn starts; keep a placeholder here.
                App::Tls {
                    hello: tls::HelloInfo {
                        profile,
                        sid: [0; 32],
                        sid_len: 0,
                        offers13: false,
                        alpn_h2: false,
                        alpn: false,
                    },
                    n: tls::Negotiated {
                        tls13: false,
                        cipher: 0,
                        alpn: None,
                        ticket: false,
                        ec_cert: false,
                    },
                    server_tls13: server.tls13,
                    stage: 0,
                    exchanges_left: if r.chance(0.6) {
                        1
                    } else {
                        r.range(2, 4) as u32
                    },
                    respond: false,
                    alert: r.chance(0.6),
                    rst: r.chance(0.3),
                }
            }
            _ => {
                let p = *r.pick(&[
                    22u16, 23, 25, 80, 443, 445, 3389, 8080, 8443, 5432, 3306, 6379, 9200,
                ]);
                e.net.port[S] = p;
                App::Refused
            }
        };
        let isn = [r.next_u32(), r.next_u32()];
        Tcp {
            phase: Phase::Syn,
            isn,
            nxt: isn,
            rcv: [0, 0],
            mss: [mss_c, mss_s],
            seg,
            wscale,
            rwnd,
            ts_on,
            windows,
            tsbase: [r.next_u32(), r.next_u32()],
            last_tsval: [0, 0],
            turn: Turn {
                from: C,
                prefix: 0,
                tail: Tail::None,
                total: 0,
                piggyback: false,
            },
            x: Xfer::default(),
            no_acks: false,
            close: CloseKind::Fin {
                init: C,
                combined: true,
            },
            cstep: 0,
            app,
        }
    }

    /// Emit one segment from `side`; the payload (if `data`) is in `sc.payload`.
    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        e: &mut Env,
        sc: &mut Scratch,
        side: usize,
        flags: u8,
        seq: u32,
        ack: u32,
        data: bool,
    ) {
        let tsval = self.tsbase[side].wrapping_add(((e.ts - e.t0) / MS) as u32);
        let tsecr = self.last_tsval[1 - side];
        self.last_tsval[side] = tsval;
        let opts = if flags & F::SYN != 0 {
            let o = TcpOptions::new().mss(self.mss[side]);
            if self.windows && side == C {
                o.nop()
                    .wscale(self.wscale[side])
                    .nop()
                    .nop()
                    .sack_permitted()
            } else if self.ts_on {
                o.sack_permitted()
                    .timestamps(tsval, tsecr)
                    .nop()
                    .wscale(self.wscale[side])
            } else {
                o.nop()
                    .nop()
                    .sack_permitted()
                    .nop()
                    .wscale(self.wscale[side])
            }
        } else if self.ts_on && flags & F::RST == 0 {
            TcpOptions::new().nop_nop_timestamps(tsval, tsecr)
        } else {
            TcpOptions::new()
        };
        let window = if flags & F::SYN != 0 {
            self.rwnd[side].min(if self.windows { 65535 } else { 64240 }) as u16
        } else if flags & F::RST != 0 && flags & F::ACK == 0 {
            0
        } else {
            (self.rwnd[side] >> self.wscale[side]).min(65535) as u16
        };
        let payload: &[u8] = if data { &sc.payload } else { &[] };
        e.net.emit(
            side,
            L4::Tcp {
                sport: e.net.port[side],
                dport: e.net.port[1 - side],
                seq,
                ack,
                flags,
                window,
                options: opts.as_slice(),
            },
            payload,
            &mut sc.frame,
        );
    }

    fn step(&mut self, e: &mut Env, w: &World, stopping: bool, sc: &mut Scratch) -> Option<i64> {
        let now = e.ts;
        match self.phase {
            Phase::Syn => {
                self.send(e, sc, C, F::SYN, self.isn[C], 0, false);
                self.nxt[C] = self.isn[C].wrapping_add(1);
                self.phase = if matches!(self.app, App::Refused) || stopping {
                    Phase::Refused
                } else {
                    Phase::SynAck
                };
                Some(now + e.react(S))
            }
            Phase::Refused => {
                // Connection refused: RST/ACK with seq 0 acking the SYN.
                self.send(e, sc, S, F::RST | F::ACK, 0, self.nxt[C], false);
                self.phase = Phase::Done;
                None
            }
            Phase::SynAck => {
                if stopping {
                    self.phase = Phase::Refused;
                    return self.step(e, w, stopping, sc);
                }
                self.rcv[S] = self.nxt[C];
                self.send(e, sc, S, F::SYN | F::ACK, self.isn[S], self.rcv[S], false);
                self.nxt[S] = self.isn[S].wrapping_add(1);
                self.phase = Phase::Ack3;
                Some(now + e.react(C))
            }
            Phase::Ack3 => {
                self.rcv[C] = self.nxt[S];
                if stopping {
                    self.send(e, sc, C, F::RST | F::ACK, self.nxt[C], self.rcv[C], false);
                    self.phase = Phase::Done;
                    return None;
                }
                self.send(e, sc, C, F::ACK, self.nxt[C], self.rcv[C], false);
                self.phase = Phase::Data;
                Some(self.next_turn(e, w, now, true))
            }
            Phase::Data => {
                if stopping {
                    // Everything in flight counts as received; close from the client.
                    let r = 1 - self.turn.from;
                    self.rcv[r] = self.nxt[self.turn.from];
                    self.close = CloseKind::Fin {
                        init: C,
                        combined: true,
                    };
                    self.cstep = 0;
                    self.phase = Phase::Close;
                    return self.close_step(e, sc);
                }
                Some(self.data_step(e, w, sc))
            }
            Phase::Close => self.close_step(e, sc),
            Phase::Done => None,
        }
    }

    /// Plan the next turn (or the close) and return when its first packet is due.
    fn next_turn(&mut self, e: &mut Env, w: &World, now: i64, first: bool) -> i64 {
        match self.plan(e, w, first) {
            Some((_, gap)) => {
                self.x.off = 0;
                self.x.cwnd = if self.no_acks { 64 } else { 10 };
                self.start_burst(e, now + gap);
                now + gap
            }
            None => {
                self.phase = Phase::Close;
                self.cstep = 0;
                let init = match self.close {
                    CloseKind::Fin { init, .. } => init,
                    CloseKind::Rst { who } => who,
                };
                // The closing side's last act follows an idle moment.
                let gap = if init == C {
                    e.rng.log_uniform(MS as u64, 3 * SEC as u64) as i64
                } else {
                    e.rng.log_uniform(100 * US as u64, 20 * MS as u64) as i64
                };
                now + gap
            }
        }
    }

    /// Set up the next burst of the current turn, starting at `bstart`.
    fn start_burst(&mut self, e: &mut Env, bstart: i64) {
        let s = self.turn.from;
        let left = self.turn.total - self.x.off;
        let x = &mut self.x;
        x.bsegs = left.div_ceil(self.seg as u64).clamp(1, x.cwnd as u64) as u32;
        x.bsent = 0;
        x.bstart = bstart;
        x.bgap = e.rng.jitter(e.gap, 20).max(US);
        x.breact = e.react(1 - s);
        x.bseq = self.nxt[s];
        x.bbytes = (x.bsegs as u64 * self.seg as u64).min(left);
        x.ack_i = 0;
        x.acks = if self.no_acks { 0 } else { x.bsegs.div_ceil(2) };
        // A one-segment message whose answer follows often goes without its own ACK.
        if x.bsegs == 1 && x.bbytes == left && self.turn.piggyback && e.rng.chance(0.6) {
            x.acks = 0;
        }
    }

    fn seg_due(&self) -> Option<i64> {
        let x = &self.x;
        (x.bsent < x.bsegs).then(|| x.bstart + x.bsent as i64 * x.bgap)
    }

    /// ACK number `ack_i` is due once the second segment it covers has been sent.
    fn ack_due(&self) -> Option<i64> {
        let x = &self.x;
        if x.ack_i >= x.acks {
            return None;
        }
        let trig = (2 * x.ack_i + 1).min(x.bsegs - 1);
        (trig < x.bsent).then(|| x.bstart + trig as i64 * x.bgap + x.breact)
    }

    /// Fill `dst` with bytes `off..off+len` of the current turn's stream.
    fn fill(&self, e: &Env, w: &World, off: u64, len: usize, dst: &mut Vec<u8>) {
        dst.clear();
        dst.resize(len, 0);
        let t = &self.turn;
        let mut d = 0usize;
        let mut o = off;
        if o < t.prefix {
            let n = ((t.prefix - o) as usize).min(len);
            dst[..n].copy_from_slice(&e.buf[o as usize..o as usize + n]);
            d = n;
            o += n as u64;
        }
        if d == len {
            return;
        }
        let to = o - t.prefix; // offset within the tail
        let rest = &mut dst[d..];
        match t.tail {
            Tail::None => {}
            Tail::Text { salt } => copy_pool(&w.text, salt + to, rest),
            Tail::Random { salt } => copy_pool(&w.random, salt + to, rest),
            Tail::Tls {
                salt,
                full,
                nfull,
                last,
            } => {
                copy_pool(&w.random, salt + to, rest);
                let end = to + rest.len() as u64;
                let mut r = to / full;
                loop {
                    let rstart = r * full;
                    if rstart >= end {
                        break;
                    }
                    let rlen = if r < nfull { full } else { last };
                    if rlen == 0 {
                        break;
                    }
                    let body = (rlen - 5) as u16;
                    let hdr = [tls::CT_APPDATA, 3, 3, (body >> 8) as u8, body as u8];
                    for (i, &b) in hdr.iter().enumerate() {
                        let p = rstart + i as u64;
                        if p >= to && p < end {
                            rest[(p - to) as usize] = b;
                        }
                    }
                    r += 1;
                }
            }
        }
    }

    fn data_step(&mut self, e: &mut Env, w: &World, sc: &mut Scratch) -> i64 {
        let now = e.ts;
        let s = self.turn.from;
        let r = 1 - s;
        let send_seg = match (self.seg_due(), self.ack_due()) {
            (Some(sd), Some(ad)) => sd <= ad,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => unreachable!("a burst step is only scheduled with an event due"),
        };
        if send_seg {
            let len = (self.seg as u64).min(self.turn.total - self.x.off) as usize;
            let mut payload = std::mem::take(&mut sc.payload);
            self.fill(e, w, self.x.off, len, &mut payload);
            sc.payload = payload;
            self.x.bsent += 1;
            let last = self.x.bsent == self.x.bsegs;
            let flags = F::ACK | if last { F::PSH } else { 0 };
            self.send(e, sc, s, flags, self.nxt[s], self.rcv[s], true);
            self.nxt[s] = self.nxt[s].wrapping_add(len as u32);
            self.x.off += len as u64;
        } else {
            let k = self.x.ack_i as u64;
            let acked = ((2 * k + 2) * self.seg as u64).min(self.x.bbytes);
            let ack = self.x.bseq.wrapping_add(acked as u32);
            self.rcv[r] = ack;
            self.send(e, sc, r, F::ACK, self.nxt[r], ack, false);
            self.x.ack_i += 1;
        }
        match (self.seg_due(), self.ack_due()) {
            (None, None) => self.after_burst(e, w, now),
            (a, b) => a.unwrap_or(i64::MAX).min(b.unwrap_or(i64::MAX)).max(now),
        }
    }

    fn after_burst(&mut self, e: &mut Env, w: &World, now: i64) -> i64 {
        let s = self.turn.from;
        if self.x.off < self.turn.total {
            let cap = (self.rwnd[1 - s] / self.seg).clamp(4, 256);
            self.x.cwnd = (self.x.cwnd * 2).min(cap);
            let next = (self.x.bstart + e.rtt + e.cdelay).max(now + self.x.bgap);
            self.start_burst(e, next);
            next
        } else {
            self.rcv[1 - s] = self.nxt[s];
            self.next_turn(e, w, now, false)
        }
    }

    fn close_step(&mut self, e: &mut Env, sc: &mut Scratch) -> Option<i64> {
        let now = e.ts;
        let step = self.cstep;
        self.cstep += 1;
        match self.close {
            CloseKind::Rst { who } => {
                self.send(
                    e,
                    sc,
                    who,
                    F::RST | F::ACK,
                    self.nxt[who],
                    self.rcv[who],
                    false,
                );
                self.phase = Phase::Done;
                None
            }
            CloseKind::Fin { init, combined } => {
                let peer = 1 - init;
                match (step, combined) {
                    (0, _) => {
                        self.send(
                            e,
                            sc,
                            init,
                            F::FIN | F::ACK,
                            self.nxt[init],
                            self.rcv[init],
                            false,
                        );
                        self.nxt[init] = self.nxt[init].wrapping_add(1);
                        Some(now + e.react(peer))
                    }
                    (1, true) | (2, false) => {
                        self.rcv[peer] = self.nxt[init];
                        self.send(
                            e,
                            sc,
                            peer,
                            F::FIN | F::ACK,
                            self.nxt[peer],
                            self.rcv[peer],
                            false,
                        );
                        self.nxt[peer] = self.nxt[peer].wrapping_add(1);
                        Some(now + e.react(init))
                    }
                    (1, false) => {
                        self.rcv[peer] = self.nxt[init];
                        self.send(e, sc, peer, F::ACK, self.nxt[peer], self.rcv[peer], false);
                        let app_close = e.rng.log_uniform(50 * US as u64, 20 * MS as u64) as i64;
                        Some(now + app_close)
                    }
                    _ => {
                        self.rcv[init] = self.nxt[peer];
                        self.send(e, sc, init, F::ACK, self.nxt[init], self.rcv[init], false);
                        self.phase = Phase::Done;
                        None
                    }
                }
            }
        }
    }

    /// Choose the next turn: fill `e.buf`, set `self.turn`, return (sender, gap before it).
    /// `None` means the application is done; `self.close` says how to close.
    fn plan(&mut self, e: &mut Env, w: &World, first: bool) -> Option<(usize, i64)> {
        e.buf.clear();
        let server = &w.web[e.server];
        match &mut self.app {
            App::Refused => None,
            App::Bulk { left, client_next } => {
                if *left == 0 {
                    self.close = CloseKind::Fin {
                        init: C,
                        combined: true,
                    };
                    return None;
                }
                let salt = e.rng.next_u64();
                let seg = self.seg as u64;
                if *client_next {
                    *left -= 1;
                    *client_next = false;
                    let len = e.rng.range(64, 600.min(seg));
                    let gap = if first || e.rng.chance(0.9) {
                        e.react(C)
                    } else {
                        e.rng.log_uniform(MS as u64, 200 * MS as u64) as i64
                    };
                    set_turn(&mut self.turn, e, C, Tail::Random { salt }, len, false);
                    Some((C, gap))
                } else {
                    let k = e.rng.range(1, 16).min(*left);
                    *left -= k;
                    *client_next = true;
                    let len = (k - 1) * seg + e.rng.range(1, seg);
                    let gap = e.react(S);
                    set_turn(&mut self.turn, e, S, Tail::Random { salt }, len, false);
                    Some((S, gap))
                }
            }
            App::Http {
                reqs_left,
                respond,
                conn_close,
                req_no,
            } => {
                use std::io::Write;
                if *respond {
                    *respond = false;
                    let status = match e.rng.below(100) {
                        0..=79 => 200,
                        80..=87 => 304,
                        88..=92 => 404,
                        93..=97 => 301,
                        _ => 500,
                    };
                    let reason = match status {
                        200 => "OK",
                        304 => "Not Modified",
                        404 => "Not Found",
                        301 => "Moved Permanently",
                        _ => "Internal Server Error",
                    };
                    let (ctype, body, binary) = match status {
                        200 => match e.rng.below(10) {
                            0..=5 => ("text/html; charset=utf-8", body_size(&mut e.rng), false),
                            6..=7 => ("text/plain", body_size(&mut e.rng), false),
                            _ => ("application/octet-stream", body_size(&mut e.rng), true),
                        },
                        304 => ("", 0, false),
                        _ => ("text/html", e.rng.range(150, 1200), false),
                    };
                    let b = &mut e.buf;
                    let _ = write!(b, "HTTP/1.1 {status} {reason}\r\nServer: ");
                    b.extend_from_slice(
                        e.rng
                            .pick(&[
                                "nginx/1.24.0",
                                "Apache/2.4.57 (Debian)",
                                "envoy",
                                "cloudflare",
                            ])
                            .as_bytes(),
                    );
                    b.extend_from_slice(b"\r\nDate: ");
                    crate::world::http_date(e.ts, b);
                    b.extend_from_slice(b"\r\n");
                    if status != 304 {
                        let _ = write!(b, "Content-Type: {ctype}\r\nContent-Length: {body}\r\n");
                    }
                    if status == 301 {
                        let _ = write!(b, "Location: https://{}/\r\n", server.name);
                    }
                    if status == 200 || status == 304 {
                        let _ = write!(
                            b,
                            "Cache-Control: max-age={}\r\nETag: \"{:016x}\"\r\n",
                            e.rng.pick(&[60, 300, 3600, 86400]),
                            e.rng.next_u64()
                        );
                    }
                    let last = *reqs_left == 0;
                    if last && *conn_close {
                        b.extend_from_slice(b"Connection: close\r\n\r\n");
                    } else {
                        b.extend_from_slice(b"Connection: keep-alive\r\n\r\n");
                    }
                    let salt = e.rng.next_u64();
                    let tail = if binary {
                        Tail::Random { salt }
                    } else {
                        Tail::Text { salt }
                    };
                    let proc = e.rng.log_uniform(200 * US as u64, 30 * MS as u64) as i64;
                    let gap = e.react(S) + proc;
                    set_turn(&mut self.turn, e, S, tail, body, false);
                    return Some((S, gap));
                }
                if *reqs_left == 0 {
                    self.close = if *conn_close {
                        CloseKind::Fin {
                            init: S,
                            combined: e.rng.chance(0.5),
                        }
                    } else {
                        CloseKind::Fin {
                            init: C,
                            combined: e.rng.chance(0.6),
                        }
                    };
                    return None;
                }
                *reqs_left -= 1;
                *req_no += 1;
                *respond = true;
                let post = e.rng.chance(0.12);
                let b = &mut e.buf;
                let _ = write!(b, "{} /", if post { "POST" } else { "GET" });
                match e.rng.below(5) {
                    0 => {}
                    1 => {
                        let _ = write!(b, "{}/{}.html", word(&mut e.rng), word(&mut e.rng));
                    }
                    2 => {
                        let _ =
                            write!(b, "static/{}.{:08x}.js", word(&mut e.rng), e.rng.next_u32());
                    }
                    3 => {
                        let _ = write!(
                            b,
                            "api/v1/{}?id={}&page={}",
                            word(&mut e.rng),
                            e.rng.below(100_000),
                            e.rng.range(1, 20)
                        );
                    }
                    _ => {
                        let _ = write!(
                            b,
                            "downloads/{}-{}.bin",
                            word(&mut e.rng),
                            e.rng.range(1, 9)
                        );
                    }
                }
                let _ = write!(b, " HTTP/1.1\r\nHost: {}", server.name);
                if e.net.port[S] != 80 {
                    let _ = write!(b, ":{}", e.net.port[S]);
                }
                b.extend_from_slice(b"\r\nUser-Agent: ");
                b.extend_from_slice(
                    e.rng
                        .pick(&[
                            "curl/8.4.0",
                            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
                            "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
                            "python-requests/2.31.0",
                            "Wget/1.21.3",
                        ])
                        .as_bytes(),
                );
                b.extend_from_slice(b"\r\nAccept: */*\r\nAccept-Language: en-US,en;q=0.9\r\n");
                let upload = if post {
                    if e.rng.chance(0.2) {
                        e.rng.log_uniform(5_000, 400_000)
                    } else {
                        e.rng.range(20, 900)
                    }
                } else {
                    0
                };
                if post {
                    let _ = write!(
                        b,
                        "Content-Type: text/plain\r\nContent-Length: {upload}\r\n"
                    );
                }
                if *reqs_left == 0 && *conn_close {
                    b.extend_from_slice(b"Connection: close\r\n\r\n");
                } else {
                    b.extend_from_slice(b"Connection: keep-alive\r\n\r\n");
                }
                let gap = if first {
                    e.rng.range_i(20 * US, 800 * US)
                } else {
                    e.rng.log_uniform(5 * MS as u64, 2 * SEC as u64) as i64
                };
                let salt = e.rng.next_u64();
                set_turn(&mut self.turn, e, C, Tail::Text { salt }, upload, true);
                Some((C, gap))
            }
            App::Tls {
                hello,
                n,
                server_tls13,
                stage,
                exchanges_left,
                respond,
                alert,
                rst,
            } => {
                let now_secs = e.ts.div_euclid(SEC);
                let st = *stage;
                *stage += 1;
                match st {
                    0 => {
                        *hello =
                            tls::client_hello(&mut e.buf, &mut e.rng, &server.name, hello.profile);
                        *n = tls::negotiate(&mut e.rng, hello, *server_tls13);
                        let gap = e.rng.range_i(20 * US, 1500 * US);
                        set_turn(&mut self.turn, e, C, Tail::None, 0, true);
                        Some((C, gap))
                    }
                    1 => {
                        tls::server_hello(&mut e.buf, &mut e.rng, hello, n, *server_tls13);
                        let proc = e.rng.log_uniform(100 * US as u64, 5 * MS as u64) as i64;
                        let gap = e.react(S) + proc;
                        if n.tls13 {
                            tls::change_cipher_spec(&mut e.buf);
                            // EncryptedExtensions, Certificate, CertificateVerify, Finished
                            let plain = e.rng.range(1800, 5200);
                            let (tail, len) = tls_tail(e.rng.next_u64(), plain, n.overhead());
                            set_turn(&mut self.turn, e, S, tail, len, false);
                        } else {
                            tls::server_flight12_rest(
                                &mut e.buf,
                                &mut e.rng,
                                n,
                                &server.name,
                                now_secs,
                            );
                            set_turn(&mut self.turn, e, S, Tail::None, 0, false);
                        }
                        Some((S, gap))
                    }
                    2 => {
                        if n.tls13 {
                            tls::change_cipher_spec(&mut e.buf);
                            tls::opaque_record(&mut e.buf, &mut e.rng, tls::CT_APPDATA, 32 + 17);
                        } else {
                            tls::client_finish12(&mut e.buf, &mut e.rng, n);
                        }
                        let gap = e.react(C) + e.rng.range_i(50 * US, 2 * MS);
                        set_turn(&mut self.turn, e, C, Tail::None, 0, !n.tls13);
                        Some((C, gap))
                    }
                    3 if !n.tls13 => {
                        tls::server_finish12(&mut e.buf, &mut e.rng, n);
                        let gap = e.react(S);
                        set_turn(&mut self.turn, e, S, Tail::None, 0, false);
                        Some((S, gap))
                    }
                    _ => {
                        if *respond {
                            *respond = false;
                            let plain = body_size(&mut e.rng);
                            let (tail, len) = tls_tail(e.rng.next_u64(), plain, n.overhead());
                            let proc = e.rng.log_uniform(200 * US as u64, 40 * MS as u64) as i64;
                            let gap = e.react(S) + proc;
                            set_turn(&mut self.turn, e, S, tail, len, false);
                            return Some((S, gap));
                        }
                        if *exchanges_left == 0 {
                            if *alert {
                                *alert = false;
                                tls::close_notify(&mut e.buf, &mut e.rng, n);
                                let gap = e.rng.log_uniform(MS as u64, 2 * SEC as u64) as i64;
                                set_turn(&mut self.turn, e, C, Tail::None, 0, false);
                                return Some((C, gap));
                            }
                            self.close = if *rst {
                                CloseKind::Rst { who: C }
                            } else {
                                CloseKind::Fin {
                                    init: if e.rng.chance(0.75) { C } else { S },
                                    combined: e.rng.chance(0.6),
                                }
                            };
                            return None;
                        }
                        let first_req = st <= 4;
                        *exchanges_left -= 1;
                        *respond = true;
                        let plain = e.rng.range(80, 1400);
                        let (tail, len) = tls_tail(e.rng.next_u64(), plain, n.overhead());
                        let gap = if first_req {
                            e.rng.range_i(10 * US, 500 * US)
                        } else {
                            e.rng.log_uniform(10 * MS as u64, 5 * SEC as u64) as i64
                        };
                        set_turn(&mut self.turn, e, C, tail, len, true);
                        Some((C, gap))
                    }
                }
            }
        }
    }
}

// ---- UDP: DNS --------------------------------------------------------------------------------

struct DnsSt {
    ids: [u16; 2],
    qtypes: [u16; 2],
    nq: u8,
    step: u8,
    /// Index of the web server whose name is asked for.
    target: usize,
    nx: bool,
    cname: Option<&'static str>,
    naddr: u8,
    ttl: u32,
    edns: bool,
}

impl DnsSt {
    fn new(e: &mut Env) -> DnsSt {
        let r = &mut e.rng;
        let both = r.chance(0.4);
        let v6 = e.net.is_v6();
        let first = if v6 && !both && r.chance(0.5) {
            dns::TYPE_AAAA
        } else {
            dns::TYPE_A
        };
        DnsSt {
            ids: [r.next_u16(), r.next_u16()],
            qtypes: [first, dns::TYPE_AAAA],
            nq: if both { 2 } else { 1 },
            step: 0,
            target: e.server,
            nx: r.chance(0.04),
            cname: if r.chance(0.35) {
                Some(*r.pick(&["edge", "cdn", "lb", "star", "ghs", "origin"]))
            } else {
                None
            },
            naddr: r.range(1, 4) as u8,
            ttl: *r.pick(&[30u32, 60, 300, 300, 3600, 86400]),
            edns: r.chance(0.8),
        }
    }

    fn step(&mut self, e: &mut Env, w: &World, sc: &mut Scratch) -> Option<i64> {
        let now = e.ts;
        let nq = self.nq;
        let step = self.step;
        self.step += 1;
        let name = &w.web[self.target].name;
        let (side, i) = if step < nq {
            (C, step as usize)
        } else {
            (S, (step - nq) as usize)
        };
        if side == C {
            dns::query(
                &mut sc.payload,
                self.ids[i],
                name,
                self.qtypes[i],
                self.edns,
            );
        } else {
            let s = &w.web[self.target];
            let mut addrs = [[0u8; 16]; 4];
            for (k, a) in addrs.iter_mut().enumerate().take(self.naddr as usize) {
                if self.qtypes[i] == dns::TYPE_AAAA {
                    *a = s.v6;
                    a[15] = a[15].wrapping_add(k as u8);
                } else {
                    a[..4].copy_from_slice(&s.v4);
                    a[3] = a[3].wrapping_add(k as u8).max(1);
                }
            }
            let ans = dns::Answer {
                nxdomain: self.nx,
                cname_label: self.cname,
                addrs: &addrs[..self.naddr as usize],
                ttl: self.ttl,
            };
            dns::response(
                &mut sc.payload,
                self.ids[i],
                name,
                self.qtypes[i],
                self.edns,
                &ans,
                &mut e.rng,
            );
        }
        e.net.emit(
            side,
            L4::Udp {
                sport: e.net.port[side],
                dport: e.net.port[1 - side],
            },
            &sc.payload,
            &mut sc.frame,
        );
        let total = 2 * nq;
        if self.step >= total {
            return None;
        }
        let next = self.step;
        Some(if next < nq {
            now + e.rng.range_i(10 * US, 200 * US)
        } else if next == nq {
            // First answer: the resolver's RTT plus (uncached) recursion time.
            let rec = if e.rng.chance(0.6) {
                e.rng.range_i(50 * US, 500 * US)
            } else {
                e.rng.log_uniform(2 * MS as u64, 150 * MS as u64) as i64
            };
            now + e.rtt.min(30 * MS) + rec
        } else {
            now + e.rng.range_i(30 * US, 3 * MS)
        })
    }
}

// ---- UDP: QUIC-looking ---------------------------------------------------------------------

struct QuicSt {
    cid: [[u8; 8]; 2],
    step: u32,
    n: u32,
    pn: [u32; 2],
}

impl QuicSt {
    fn new(e: &mut Env) -> QuicSt {
        e.net.port[S] = 443;
        let mut cid = [[0u8; 8]; 2];
        e.rng.fill(&mut cid[0]);
        e.rng.fill(&mut cid[1]);
        QuicSt {
            cid,
            step: 0,
            n: e.rng.range(6, 60) as u32,
            pn: [0, 0],
        }
    }

    fn step(&mut self, e: &mut Env, w: &World, sc: &mut Scratch) -> Option<i64> {
        let now = e.ts;
        let step = self.step;
        self.step += 1;
        // Handshake: C Initial, S Initial, S Handshake, S Handshake, C Initial(ack); then
        // short-header packets, mostly server to client.
        let (side, long_type, size) = match step {
            0 => (C, Some(0u8), 1250),
            1 => (S, Some(0), 1200),
            2 => (S, Some(2), 1200),
            3 => (S, Some(2), e.rng.range(300, 1200) as usize),
            4 => (C, Some(0), 1250),
            _ => {
                if e.rng.chance(0.3) {
                    (C, None, e.rng.range(40, 300) as usize)
                } else {
                    (S, None, e.rng.range(200, 1252) as usize)
                }
            }
        };
        let p = &mut sc.payload;
        p.clear();
        let pn = self.pn[side];
        self.pn[side] += 1;
        match long_type {
            Some(t) => {
                p.push(0xc0 | (t << 4) | 0x01); // long header, 2-byte packet number
                p.extend_from_slice(&1u32.to_be_bytes());
                // DCID = peer's id, SCID = own id
                p.push(8);
                p.extend_from_slice(&self.cid[1 - side]);
                p.push(8);
                p.extend_from_slice(&self.cid[side]);
                if t == 0 {
                    p.push(0); // token length
                }
                let rest = size.saturating_sub(p.len() + 2).max(20);
                p.extend_from_slice(&(0x4000 | rest as u16).to_be_bytes());
                p.extend_from_slice(&(pn as u16).to_be_bytes());
                let start = p.len();
                p.resize(start + rest - 2, 0);
                copy_pool(&w.random, e.rng.next_u64(), &mut p[start..]);
            }
            None => {
                p.push(0x40 | 0x01 | (e.rng.next_u8() & 0x04));
                p.extend_from_slice(&self.cid[1 - side]);
                p.extend_from_slice(&(pn as u16).to_be_bytes());
                let start = p.len();
                p.resize(size.max(start + 20), 0);
                copy_pool(&w.random, e.rng.next_u64(), &mut p[start..]);
            }
        }
        e.net.emit(
            side,
            L4::Udp {
                sport: e.net.port[side],
                dport: e.net.port[1 - side],
            },
            &sc.payload,
            &mut sc.frame,
        );
        if self.step >= self.n {
            return None;
        }
        Some(match self.step {
            1 => now + e.react(S),
            2 | 3 => now + e.rng.range_i(5 * US, 60 * US),
            4 => now + e.react(C),
            _ => {
                if e.rng.chance(0.05) {
                    now + e.rng.log_uniform(50 * MS as u64, 3 * SEC as u64) as i64
                } else {
                    now + e.rng.jitter(e.gap, 30)
                }
            }
        })
    }
}

// ---- UDP: NTP and syslog ---------------------------------------------------------------------

struct NtpSt {
    rounds: u32,
    step: u32,
    xmt: [u8; 8],
}

fn ntp_ts(ts_ns: i64) -> [u8; 8] {
    let secs = ts_ns.div_euclid(SEC) + 2_208_988_800;
    let frac = ((ts_ns.rem_euclid(SEC) as u64) << 32) / SEC as u64;
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&(secs as u32).to_be_bytes());
    b[4..].copy_from_slice(&(frac as u32).to_be_bytes());
    b
}

impl NtpSt {
    fn step(&mut self, e: &mut Env, sc: &mut Scratch) -> Option<i64> {
        let now = e.ts;
        let side = (self.step % 2) as usize;
        self.step += 1;
        let p = &mut sc.payload;
        p.clear();
        p.resize(48, 0);
        if side == C {
            p[0] = 0x23; // LI 0, VN 4, mode 3 (client)
            p[2] = 6; // poll
            p[3] = 0xe9; // precision
                         // The transmit timestamp is random (chrony-style privacy).
            e.rng.fill(&mut self.xmt);
            p[40..48].copy_from_slice(&self.xmt);
        } else {
            p[0] = 0x24; // mode 4 (server)
            p[1] = 2; // stratum
            p[2] = 6;
            p[3] = 0xe8;
            p[4..8].copy_from_slice(&(e.rng.range(20, 2000) as u32).to_be_bytes());
            p[8..12].copy_from_slice(&(e.rng.range(20, 2000) as u32).to_be_bytes());
            p[12..16].copy_from_slice(&[192, 0, 2, e.rng.range(1, 254) as u8]);
            p[16..24].copy_from_slice(&ntp_ts(now - e.rng.range_i(SEC, 1000 * SEC)));
            p[24..32].copy_from_slice(&self.xmt);
            let half = e.rtt / 2;
            p[32..40].copy_from_slice(&ntp_ts(now - half));
            p[40..48].copy_from_slice(&ntp_ts(now - half + e.rng.range_i(5 * US, 50 * US)));
        }
        e.net.emit(
            side,
            L4::Udp {
                sport: e.net.port[side],
                dport: e.net.port[1 - side],
            },
            &sc.payload,
            &mut sc.frame,
        );
        if self.step >= 2 * self.rounds {
            return None;
        }
        Some(if side == C {
            now + e.react(S)
        } else {
            now + e.rng.range_i(SEC, 2 * SEC)
        })
    }
}

struct SyslogSt {
    left: u32,
    pid: u32,
    host: u32,
}

impl SyslogSt {
    fn step(&mut self, e: &mut Env, sc: &mut Scratch) -> Option<i64> {
        use std::io::Write;
        let now = e.ts;
        self.left -= 1;
        let p = &mut sc.payload;
        p.clear();
        let secs = now.div_euclid(SEC);
        let (_, m, d) = crate::world::civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let pri = *e.rng.pick(&[134u32, 134, 30, 86, 38, 131]);
        let _ = write!(
            p,
            "<{pri}>{} {:2} {:02}:{:02}:{:02} host{} {}[{}]: ",
            MONTHS[(m - 1) as usize],
            d,
            sod / 3600,
            (sod / 60) % 60,
            sod % 60,
            self.host,
            word(&mut e.rng),
            self.pid
        );
        for i in 0..e.rng.range(3, 25) {
            if i > 0 {
                p.push(b' ');
            }
            p.extend_from_slice(word(&mut e.rng).as_bytes());
        }
        e.net.emit(
            C,
            L4::Udp {
                sport: e.net.port[C],
                dport: e.net.port[S],
            },
            &sc.payload,
            &mut sc.frame,
        );
        if self.left == 0 {
            return None;
        }
        Some(now + e.rng.log_uniform(MS as u64, 2 * SEC as u64) as i64)
    }
}

// ---- ICMP echo -----------------------------------------------------------------------------

struct IcmpSt {
    id: u16,
    seq: u16,
    left: u32,
    reply_next: bool,
    linux: bool,
    req_ts: i64,
}

impl IcmpSt {
    fn step(&mut self, e: &mut Env, sc: &mut Scratch) -> Option<i64> {
        let now = e.ts;
        let reply = self.reply_next;
        let side = if reply { S } else { C };
        if !reply {
            self.req_ts = now;
        }
        // The reply echoes the request's payload; both are derived from `req_ts`.
        let p = &mut sc.payload;
        p.clear();
        if self.linux {
            // struct timeval + 0x10.. pattern: 56 bytes
            let t = self.req_ts;
            p.extend_from_slice(&(t.div_euclid(SEC) as u64).to_le_bytes());
            p.extend_from_slice(&((t.rem_euclid(SEC) / US) as u64).to_le_bytes());
            p.extend(0x10u8..0x38);
        } else {
            p.extend_from_slice(b"abcdefghijklmnopqrstuvwabcdefghi");
        }
        e.net.emit(
            side,
            L4::IcmpEcho {
                reply,
                id: self.id,
                seq: self.seq,
            },
            &sc.payload,
            &mut sc.frame,
        );
        if reply {
            self.reply_next = false;
            self.left -= 1;
            self.seq = self.seq.wrapping_add(1);
            if self.left == 0 {
                return None;
            }
            Some(self.req_ts + SEC + e.rng.range_i(0, 2 * MS))
        } else {
            self.reply_next = true;
            Some(now + e.rtt)
        }
    }
}
