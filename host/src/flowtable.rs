//! The flow table: bidirectional flows keyed by the 5-tuple, oriented by their first
//! packet, with TCP lifecycle, idle/active timeouts, per-flow bounds and eviction.
//!
//! Determinism: the table is split into `LOGICAL_SHARDS` logical shards by key hash,
//! independent of the thread count; capacity and eviction are per logical shard, and
//! expiry sweeps happen at fixed global packet indices with the global packet clock.
//! So the set of flows, their packets and their order keys are the same for any
//! number of worker threads.
use crate::reassembly::{StreamCounters, TcpStream};
use jj_decode::{Decoded, Layer};
use jj_plugin_api::{
    flow_end, pflags, FlowView, LinkInfo, PacketRecord, StreamView, DIR_BWD, DIR_FWD,
};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// Number of logical shards; workers own `shard % threads == worker`.
pub const LOGICAL_SHARDS: usize = 16;
/// Out-of-order bytes a stream direction may buffer while waiting for a hole to fill.
pub const STREAM_OOO_LIMIT: u32 = 64 << 10;
/// Expiry sweeps run after every window of this many packets (global index).
pub const WINDOW_PACKETS: u64 = 4096;

/// The hasher of the flow maps: a [`FlowKey`] hashes itself ([`FlowKey::hash64`]) and
/// writes the result as one `u64`, which this hasher keeps as it is.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Not used by `FlowKey`; kept total for any other key type.
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = fold_mul(self.0 ^ v, 0x9e37_79b9_7f4a_7c15);
    }
}

/// The 128-bit product of `a` and `b`, its halves xor-ed (the mixing step of
/// foldhash and wyhash).
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

pub type KeyBuild = BuildHasherDefault<KeyHasher>;

/// Canonical (direction-free) flow key: endpoint `a` <= endpoint `b`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FlowKey {
    pub a_ip: [u8; 16],
    pub b_ip: [u8; 16],
    pub a_port: u16,
    pub b_port: u16,
    pub proto: u8,
    pub version: u8,
}

impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash64());
    }
}

impl FlowKey {
    pub fn of(d: &Decoded) -> FlowKey {
        let s = (d.src_ip, d.src_port);
        let t = (d.dst_ip, d.dst_port);
        let (a, b) = if s <= t { (s, t) } else { (t, s) };
        FlowKey {
            a_ip: a.0,
            b_ip: b.0,
            a_port: a.1,
            b_port: b.1,
            proto: d.protocol,
            version: d.ip_version,
        }
    }

    /// The key's hash: three independent 64×64→128 multiply-folds of its five words
    /// (the addresses, then ports, protocol and version), combined and avalanched.
    /// Flow keys are not hash-flooding targets (bounded table with eviction), so speed
    /// matters more than keyed hashing: this runs once per packet.
    pub fn hash64(&self) -> u64 {
        let word = |ip: &[u8; 16], i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&ip[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let small = u64::from(self.a_port)
            | u64::from(self.b_port) << 16
            | u64::from(self.proto) << 32
            | u64::from(self.version) << 40;
        let h = fold_mul(
            word(&self.a_ip, 0) ^ 0x243f_6a88_85a3_08d3,
            word(&self.a_ip, 8) ^ 0x1319_8a2e_0370_7344,
        ) ^ fold_mul(
            word(&self.b_ip, 0) ^ 0xa409_3822_299f_31d0,
            word(&self.b_ip, 8) ^ 0x082e_fa98_ec4e_6c89,
        ) ^ fold_mul(small ^ 0x4528_21e6_38d0_1377, 0xbe54_66cf_34e9_0c6c);
        // final avalanche (murmur3's fmix64) so that low bits are usable for shards
        let mut h = h;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }

    pub fn logical_shard(&self) -> usize {
        (self.hash64() % LOGICAL_SHARDS as u64) as usize
    }
}

/// Output order of a finished flow: (event packet index, first packet index).
pub type OrderKey = (u64, u64);

/// Engine settings that shape flows.
#[derive(Clone, Debug)]
pub struct FlowConfig {
    pub idle_timeout_ns: i64,
    /// 0 = no active timeout.
    pub active_timeout_ns: i64,
    /// How long a closed TCP connection stays to absorb late packets (final ACK,
    /// retransmitted FIN) before it is emitted.
    pub close_linger_ns: i64,
    /// 0 = unlimited.
    pub max_flows: usize,
    pub max_flow_packets: usize,
    pub payload_bytes_per_packet: u32,
    pub payload_bytes_per_direction: u32,
    /// Reassembled TCP stream bytes kept per direction (0 = no reassembly).
    pub stream_bytes_per_direction: u32,
    /// How the extractors read the streams, when they all declared the same framing:
    /// a direction's stream is kept only up to its first record that fails it.
    pub stream_framing: Option<jj_plugin_api::StreamFraming>,
    pub tcp_option_bytes: bool,
    /// JoyfulJay 0.1.6.1 flow semantics: a FIN or RST on a non-first packet ends the flow
    /// at once; no linger, tombstones, active timeout or packet bound; idle expiry only by
    /// [`FlowTable::sweep_compat`] (every 10,000 packets).
    pub compat_joyfuljay: bool,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            idle_timeout_ns: 60_000_000_000,
            active_timeout_ns: 0,
            close_linger_ns: 2_000_000_000,
            max_flows: 0,
            max_flow_packets: 65_536,
            payload_bytes_per_packet: 0,
            payload_bytes_per_direction: 0,
            stream_bytes_per_direction: 0,
            stream_framing: None,
            tcp_option_bytes: false,
            compat_joyfuljay: false,
        }
    }
}

/// Counters kept by the table (summed over workers at the end of a run).
#[derive(Clone, Copy, Debug, Default)]
pub struct FlowCounters {
    pub flows_created: u64,
    pub flows_emitted: u64,
    pub evicted: u64,
    pub idle_expired: u64,
    pub active_expired: u64,
    pub tcp_closed: u64,
    pub packet_limit_splits: u64,
    /// Packets of an already-closed and emitted TCP connection (counted, not turned into flows).
    pub late_after_close: u64,
    /// TCP stream reassembly, summed over emitted flows.
    pub streams: StreamCounters,
    /// Stream directions that ended with a hole (missing segment).
    pub streams_with_gap: u64,
    /// Stream directions cut by the per-direction byte bound.
    pub streams_truncated: u64,
    /// Directions whose stream a framing cut (nothing kept or counted after the cut).
    pub streams_cut: u64,
    pub peak_flows: u64,
}

const NIL: u32 = u32::MAX;
/// How many flows back [`FlowTable::insert`] looks for a flow's place by last activity.
const INSERT_SEARCH: u32 = 64;
const LIST_OPEN: u8 = 0;
const LIST_CLOSED: u8 = 1;

/// One flow in the table.
pub struct Flow {
    pub key: FlowKey,
    pub init_ip: [u8; 16],
    pub init_port: u16,
    pub resp_ip: [u8; 16],
    pub resp_port: u16,
    pub first_index: u64,
    pub first_ts: i64,
    pub last_ts: i64,
    pub packets: Vec<PacketRecord>,
    pub payload: Vec<u8>,
    pub hdr_bytes: Vec<u8>,
    pub stored_dir: [u32; 2],
    /// Reassembled TCP byte streams `[fwd, bwd]` (used only when requested).
    pub streams: [TcpStream; 2],
    pub link: LinkInfo,
    pub anomalies: u32,
    fin_seen: [bool; 2],
    closed: bool,
}

/// A flow's place in its shard's lists. Kept apart from [`Flow`] (584 bytes) in a dense
/// array: placing a flow touches its neighbours' links, and the small links of
/// thousands of flows stay in cache where their `Flow`s would not.
#[derive(Clone, Copy)]
struct Link {
    /// The flow's last activity (its `last_ts`), by which a list is ordered.
    last_ts: i64,
    prev: u32,
    next: u32,
    shard: u8,
    list: u8,
}

impl Flow {
    /// The borrowed view handed to extractors.
    pub fn view(&self, end_reason: u8) -> FlowView<'_> {
        FlowView {
            src_ip: self.init_ip,
            dst_ip: self.resp_ip,
            src_port: self.init_port,
            dst_port: self.resp_port,
            ip_version: self.key.version,
            protocol: self.key.proto,
            end_reason,
            pass: 0,
            first_packet_index: self.first_index,
            anomalies: self.anomalies,
            _reserved2: 0,
            link: self.link,
            packets: self.packets.as_slice().into(),
            payload: self.payload.as_slice().into(),
            hdr_bytes: self.hdr_bytes.as_slice().into(),
            streams: [stream_view(&self.streams[0]), stream_view(&self.streams[1])],
        }
    }
}

fn stream_view(s: &TcpStream) -> StreamView<'_> {
    StreamView {
        bytes: s.bytes().into(),
        gap: s.gap() as u8,
        truncated: s.truncated() as u8,
        _reserved: [0; 6],
    }
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

const EMPTY_LIST: List = List {
    head: NIL,
    tail: NIL,
};

/// Receives finished flows. The flow is only borrowed for the call.
pub trait FlowSink {
    fn finished(&mut self, flow: &Flow, order: OrderKey, end_reason: u8);
}

impl<F: FnMut(&Flow, OrderKey, u8)> FlowSink for F {
    fn finished(&mut self, flow: &Flow, order: OrderKey, end_reason: u8) {
        self(flow, order, end_reason)
    }
}

pub struct FlowTable {
    cfg: FlowConfig,
    map: HashMap<FlowKey, u32, KeyBuild>,
    /// The flow of the last packet (key, slot), while it is live: consecutive packets
    /// often belong to one flow (59% on the generated bench capture), and then the map
    /// is not probed.
    last: Option<(FlowKey, u32)>,
    slots: Vec<Flow>,
    /// `links[i]` is `slots[i]`'s.
    links: Vec<Link>,
    free: Vec<u32>,
    lists: Vec<[List; 2]>,
    counts: Vec<usize>,
    shard_capacity: usize,
    tombstones: HashMap<FlowKey, i64, KeyBuild>,
    tomb_queue: VecDeque<(FlowKey, i64)>,
    live: usize,
    pub counters: FlowCounters,
}

fn link_info(d: &Decoded) -> LinkInfo {
    let mut layers = [0u8; 12];
    let n = (d.n_layers as usize).min(12);
    for (dst, l) in layers.iter_mut().zip(d.layers.iter()).take(n) {
        *dst = *l as u8;
    }
    LinkInfo {
        src_mac: d.src_mac,
        dst_mac: d.dst_mac,
        eth_type: d.eth_type,
        vlan_id: d.vlan_id,
        has_eth: d.has_eth as u8,
        tunnel_depth: d.tunnel_depth,
        n_layers: n as u8,
        layers,
        ipv6_ext_mask: d.ipv6_ext_mask,
        _reserved: [0; 4],
    }
}

const _: () = assert!(Layer::Other as u8 == 18);

impl FlowTable {
    pub fn new(cfg: FlowConfig) -> FlowTable {
        let shard_capacity = if cfg.max_flows == 0 {
            usize::MAX
        } else {
            cfg.max_flows.div_ceil(LOGICAL_SHARDS).max(1)
        };
        FlowTable {
            cfg,
            map: HashMap::with_capacity_and_hasher(1024, KeyBuild::default()),
            last: None,
            slots: Vec::new(),
            links: Vec::new(),
            free: Vec::new(),
            lists: vec![[EMPTY_LIST; 2]; LOGICAL_SHARDS],
            counts: vec![0; LOGICAL_SHARDS],
            shard_capacity,
            tombstones: HashMap::with_hasher(KeyBuild::default()),
            tomb_queue: VecDeque::new(),
            live: 0,
            counters: FlowCounters::default(),
        }
    }

    pub fn live_flows(&self) -> usize {
        self.live
    }

    // ---- shard lists, by last activity ----

    fn unlink(&mut self, slot: u32) {
        let Link {
            prev,
            next,
            shard,
            list,
            ..
        } = self.links[slot as usize];
        let (shard, list) = (shard as usize, list as usize);
        if prev == NIL {
            self.lists[shard][list].head = next;
        } else {
            self.links[prev as usize].next = next;
        }
        if next == NIL {
            self.lists[shard][list].tail = prev;
        } else {
            self.links[next as usize].prev = prev;
        }
    }

    /// Links `slot` into `list` of its shard: after the last flow whose last activity is
    /// not later than `last_ts` (found from the tail; with packets in time order that is
    /// the tail itself), so that every list stays ordered by last activity and a sweep
    /// finds all the expired flows at its head. The search looks at most
    /// `INSERT_SEARCH` flows back, so that a capture whose timestamps jump back cannot
    /// make every packet walk the whole list; a flow placed there may end one sweep late,
    /// as the sweep stops at the first flow that has not expired. In compat mode, at the
    /// tail (JoyfulJay's sweep looks at every flow, and its last activity may go back).
    fn insert(&mut self, slot: u32, list: u8, last_ts: i64) {
        let shard = self.links[slot as usize].shard as usize;
        let mut prev = self.lists[shard][list as usize].tail;
        if !self.cfg.compat_joyfuljay {
            let mut steps = 0;
            while prev != NIL
                && self.links[prev as usize].last_ts > last_ts
                && steps < INSERT_SEARCH
            {
                prev = self.links[prev as usize].prev;
                steps += 1;
            }
        }
        let next = if prev == NIL {
            self.lists[shard][list as usize].head
        } else {
            self.links[prev as usize].next
        };
        {
            let l = &mut self.links[slot as usize];
            l.last_ts = last_ts;
            l.list = list;
            l.prev = prev;
            l.next = next;
        }
        if prev == NIL {
            self.lists[shard][list as usize].head = slot;
        } else {
            self.links[prev as usize].next = slot;
        }
        if next == NIL {
            self.lists[shard][list as usize].tail = slot;
        } else {
            self.links[next as usize].prev = slot;
        }
    }

    /// Records new activity of `slot` (last activity `last_ts`) and moves it in `list`.
    fn touch(&mut self, slot: u32, list: u8, last_ts: i64) {
        let l = &mut self.links[slot as usize];
        if l.next == NIL && l.list == list && (last_ts >= l.last_ts || self.cfg.compat_joyfuljay) {
            // already at its place, the tail (a flow's packets often come in runs)
            l.last_ts = last_ts;
            return;
        }
        self.unlink(slot);
        self.insert(slot, list, last_ts);
    }

    // ---- flows ----

    fn alloc(
        &mut self,
        key: FlowKey,
        shard: usize,
        idx: u64,
        ts: i64,
        d: &Decoded,
        init: ([u8; 16], u16),
    ) -> u32 {
        let (resp_ip, resp_port) = if (key.a_ip, key.a_port) == init {
            (key.b_ip, key.b_port)
        } else {
            (key.a_ip, key.a_port)
        };
        let link = link_info(d);
        let slot = if let Some(s) = self.free.pop() {
            let f = &mut self.slots[s as usize];
            f.key = key;
            f.init_ip = init.0;
            f.init_port = init.1;
            f.resp_ip = resp_ip;
            f.resp_port = resp_port;
            f.first_index = idx;
            f.first_ts = ts;
            f.last_ts = ts;
            f.packets.clear();
            f.payload.clear();
            f.hdr_bytes.clear();
            f.stored_dir = [0; 2];
            f.streams[0].reset();
            f.streams[1].reset();
            f.link = link;
            f.anomalies = 0;
            f.fin_seen = [false; 2];
            f.closed = false;
            self.links[s as usize].shard = shard as u8;
            s
        } else {
            self.slots.push(Flow {
                key,
                init_ip: init.0,
                init_port: init.1,
                resp_ip,
                resp_port,
                first_index: idx,
                first_ts: ts,
                last_ts: ts,
                packets: Vec::new(),
                payload: Vec::new(),
                hdr_bytes: Vec::new(),
                stored_dir: [0; 2],
                streams: [TcpStream::new(), TcpStream::new()],
                link,
                anomalies: 0,
                fin_seen: [false; 2],
                closed: false,
            });
            self.links.push(Link {
                last_ts: ts,
                prev: NIL,
                next: NIL,
                shard: shard as u8,
                list: LIST_OPEN,
            });
            (self.slots.len() - 1) as u32
        };
        self.insert(slot, LIST_OPEN, ts);
        self.map.insert(key, slot);
        self.counts[shard] += 1;
        self.live += 1;
        self.counters.flows_created += 1;
        self.counters.peak_flows = self.counters.peak_flows.max(self.live as u64);
        slot
    }

    /// Emits the flow in `slot` and frees it.
    fn finish(&mut self, slot: u32, event: u64, reason: u8, sink: &mut dyn FlowSink) {
        self.unlink(slot);
        let (key, shard, closed, last_ts) = {
            let f = &self.slots[slot as usize];
            let shard = self.links[slot as usize].shard as usize;
            (f.key, shard, f.closed, f.last_ts)
        };
        self.map.remove(&key);
        if matches!(self.last, Some((_, s)) if s == slot) {
            self.last = None;
        }
        self.counts[shard] -= 1;
        self.live -= 1;
        {
            let f = &self.slots[slot as usize];
            sink.finished(f, (event, f.first_index), reason);
        }
        self.counters.flows_emitted += 1;
        match reason {
            flow_end::IDLE => self.counters.idle_expired += 1,
            flow_end::ACTIVE => self.counters.active_expired += 1,
            flow_end::EVICTED => self.counters.evicted += 1,
            flow_end::TCP_CLOSE => self.counters.tcp_closed += 1,
            flow_end::PACKET_LIMIT => self.counters.packet_limit_splits += 1,
            _ => {}
        }
        if closed && key.proto == 6 && reason != flow_end::EOF {
            // Remember the closed connection so that its stragglers don't open new flows.
            let until = last_ts.saturating_add(self.cfg.idle_timeout_ns);
            self.tombstones.insert(key, until);
            self.tomb_queue.push_back((key, until));
            let cap = if self.cfg.max_flows == 0 {
                1 << 20
            } else {
                self.cfg.max_flows
            };
            while self.tomb_queue.len() > cap {
                if let Some((k, _)) = self.tomb_queue.pop_front() {
                    self.tombstones.remove(&k);
                }
            }
        }
        if self.cfg.stream_bytes_per_direction > 0 && key.proto == 6 {
            let c = &mut self.counters;
            for st in &self.slots[slot as usize].streams {
                let x = st.counters();
                c.streams.retransmitted_bytes += x.retransmitted_bytes;
                c.streams.overlap_bytes += x.overlap_bytes;
                c.streams.conflicting_bytes += x.conflicting_bytes;
                c.streams.conflicting_segments += x.conflicting_segments;
                c.streams.ooo_segments += x.ooo_segments;
                c.streams.dropped_segments += x.dropped_segments;
                c.streams.dropped_bytes += x.dropped_bytes;
                c.streams.before_start_bytes += x.before_start_bytes;
                c.streams_with_gap += st.gap() as u64;
                c.streams_truncated += st.truncated() as u64;
                c.streams_cut += st.cut() as u64;
            }
        }
        // Give the flow's buffers back to the allocator (measured: reusing them, sized for
        // the slot's largest flow so far, more than doubled peak memory and cost time).
        let f = &mut self.slots[slot as usize];
        f.streams = [TcpStream::new(), TcpStream::new()];
        f.packets = Vec::new();
        f.payload = Vec::new();
        f.hdr_bytes = Vec::new();
        self.free.push(slot);
    }

    fn make_room(&mut self, shard: usize, event: u64, sink: &mut dyn FlowSink) {
        while self.counts[shard] >= self.shard_capacity {
            let victim = {
                let l = self.lists[shard];
                if l[LIST_CLOSED as usize].head != NIL {
                    (l[LIST_CLOSED as usize].head, flow_end::TCP_CLOSE)
                } else {
                    (l[LIST_OPEN as usize].head, flow_end::EVICTED)
                }
            };
            if victim.0 == NIL {
                return;
            }
            self.finish(victim.0, event, victim.1, sink);
            if victim.1 == flow_end::TCP_CLOSE {
                // a closed connection pushed out early still counts as an eviction
                self.counters.evicted += 1;
            }
        }
    }

    /// Adds one decoded packet (`idx` = its global index, frame = its captured bytes).
    pub fn add(
        &mut self,
        idx: u64,
        ts: i64,
        wire_len: u32,
        d: &Decoded,
        frame: &[u8],
        sink: &mut dyn FlowSink,
    ) {
        if self.cfg.compat_joyfuljay {
            return self.add_compat(idx, ts, wire_len, d, frame, sink);
        }
        let key = FlowKey::of(d);
        let is_tcp = d.protocol == 6;
        let syn_only = is_tcp && d.tcp_flags & 0x12 == 0x02;
        let mut slot = match self.last {
            Some((k, s)) if k == key => Some(s),
            _ => self.map.get(&key).copied(),
        };

        if let Some(s) = slot {
            let (reason, keep_orientation) = {
                let f = &self.slots[s as usize];
                if ts.saturating_sub(f.last_ts) > self.cfg.idle_timeout_ns {
                    (Some(flow_end::IDLE), false)
                } else if f.closed && syn_only {
                    (Some(flow_end::TCP_CLOSE), false)
                } else if self.cfg.active_timeout_ns > 0
                    && ts.saturating_sub(f.first_ts) > self.cfg.active_timeout_ns
                {
                    (Some(flow_end::ACTIVE), true)
                } else if f.packets.len() >= self.cfg.max_flow_packets {
                    (Some(flow_end::PACKET_LIMIT), true)
                } else {
                    (None, false)
                }
            };
            if let Some(reason) = reason {
                let init = {
                    let f = &self.slots[s as usize];
                    (f.init_ip, f.init_port)
                };
                let shard = self.links[s as usize].shard as usize;
                self.finish(s, idx, reason, sink);
                slot = None;
                if keep_orientation {
                    // The same connection goes on in a new row with the same initiator.
                    self.make_room(shard, idx, sink);
                    slot = Some(self.alloc(key, shard, idx, ts, d, init));
                } else if reason == flow_end::TCP_CLOSE {
                    self.tombstones.remove(&key);
                }
            }
        } else if is_tcp && d.tcp_flags & 0x02 == 0 {
            // No SYN: is this a straggler of a connection we already closed and emitted?
            if let Some(&until) = self.tombstones.get(&key) {
                if ts <= until {
                    self.counters.late_after_close += 1;
                    return;
                }
                self.tombstones.remove(&key);
            }
        } else if syn_only {
            self.tombstones.remove(&key);
        }

        let s = match slot {
            Some(s) => {
                let f = &self.slots[s as usize];
                let list = if f.closed { LIST_CLOSED } else { LIST_OPEN };
                // `record` makes this the flow's `last_ts`
                let last_ts = f.last_ts.max(ts);
                self.touch(s, list, last_ts);
                s
            }
            None => {
                let shard = key.logical_shard();
                self.make_room(shard, idx, sink);
                self.alloc(key, shard, idx, ts, d, (d.src_ip, d.src_port))
            }
        };
        self.last = Some((key, s));
        self.record(s, ts, wire_len, d, frame);
    }

    /// JoyfulJay's table: append; a FIN or RST on a packet that is not the flow's first
    /// ends the flow immediately; the first packet's flags are never checked.
    fn add_compat(
        &mut self,
        idx: u64,
        ts: i64,
        wire_len: u32,
        d: &Decoded,
        frame: &[u8],
        sink: &mut dyn FlowSink,
    ) {
        let key = FlowKey::of(d);
        match self.map.get(&key).copied() {
            Some(s) => {
                self.touch(s, LIST_OPEN, ts);
                self.record(s, ts, wire_len, d, frame);
                // A TCP layer anywhere counts (compat decoding keeps a tunnel's outer
                // protocol with the inner TCP's flags).
                if d.transport() == Layer::Tcp && d.tcp_flags & 0x05 != 0 {
                    self.finish(s, idx, flow_end::COMPAT_FIN, sink);
                }
            }
            None => {
                let shard = key.logical_shard();
                self.make_room(shard, idx, sink);
                let s = self.alloc(key, shard, idx, ts, d, (d.src_ip, d.src_port));
                self.record(s, ts, wire_len, d, frame);
            }
        }
    }

    /// JoyfulJay's expiry: flows idle for strictly more than the timeout as of `now`
    /// (the timestamp of every 10,000th packet), oldest activity first.
    pub fn sweep_compat(&mut self, event: u64, now: i64, sink: &mut dyn FlowSink) {
        for shard in 0..LOGICAL_SHARDS {
            let mut h = self.lists[shard][LIST_OPEN as usize].head;
            while h != NIL {
                let next = self.links[h as usize].next;
                if now.saturating_sub(self.slots[h as usize].last_ts) > self.cfg.idle_timeout_ns {
                    self.finish(h, event, flow_end::IDLE, sink);
                }
                h = next;
            }
        }
    }

    fn record(&mut self, s: u32, ts: i64, wire_len: u32, d: &Decoded, frame: &[u8]) {
        let cfg_pp = self.cfg.payload_bytes_per_packet;
        let cfg_pd = self.cfg.payload_bytes_per_direction;
        let want_opts = self.cfg.tcp_option_bytes;
        let f = &mut self.slots[s as usize];
        let dir = if d.src_ip == f.init_ip && d.src_port == f.init_port {
            DIR_FWD
        } else {
            DIR_BWD
        };
        // Idle decisions use the latest timestamp seen, so one packet with a bogus
        // earlier timestamp does not split a connection (JoyfulJay: the last added).
        f.last_ts = if self.cfg.compat_joyfuljay {
            ts
        } else {
            f.last_ts.max(ts)
        };
        f.anomalies |= d.anomalies;

        let mut pf = 0u8;
        if d.tcp_sack_permitted {
            pf |= pflags::TCP_SACK_PERM;
        }
        if d.tcp_has_ts {
            pf |= pflags::TCP_HAS_TS;
        }
        if d.anomalies & jj_decode::anomaly::TRUNCATED != 0 {
            pf |= pflags::TRUNCATED;
        }
        if d.tcp_mss != 0 {
            pf |= pflags::TCP_HAS_MSS;
        }
        if d.tcp_wscale != 0xFF {
            pf |= pflags::TCP_HAS_WSCALE;
        }
        if d.tcp_opt_len > 0 {
            pf |= pflags::TCP_HAS_OPTIONS;
        }
        if d.transport() != Layer::None {
            pf |= pflags::L4_HEADER;
        }
        if d.anomalies & jj_decode::anomaly::REASSEMBLED != 0 {
            pf |= pflags::REASSEMBLED;
        }

        // payload bytes, bounded per packet and per direction
        let payload_off = f.payload.len() as u32;
        let mut stored = 0u32;
        if cfg_pp > 0 && d.payload_captured > 0 {
            let room = cfg_pd.saturating_sub(f.stored_dir[dir as usize]);
            let n = d.payload_captured.min(cfg_pp).min(room) as usize;
            let start = d.payload_offset as usize;
            if let Some(bytes) = frame.get(start..start + n) {
                f.payload.extend_from_slice(bytes);
                stored = n as u32;
                f.stored_dir[dir as usize] += stored;
            }
        }
        if self.cfg.stream_bytes_per_direction > 0 && d.protocol == 6 {
            let start = d.payload_offset as usize;
            let bytes = frame
                .get(start..start + d.payload_captured as usize)
                .unwrap_or(&[]);
            let limit = self.cfg.stream_bytes_per_direction;
            let st = &mut f.streams[dir as usize];
            st.push(
                d.tcp_seq,
                d.tcp_flags & 0x02 != 0,
                d.tcp_flags & 0x01 != 0,
                bytes,
                limit,
                limit.min(STREAM_OOO_LIMIT),
            );
            if let Some(framing) = &self.cfg.stream_framing {
                st.apply_framing(framing);
            }
        }
        let opt_off = f.hdr_bytes.len() as u32;
        let mut opt_len = 0u8;
        if want_opts && d.tcp_opt_len > 0 {
            let start = d.tcp_opt_offset as usize;
            if let Some(bytes) = frame.get(start..start + d.tcp_opt_len as usize) {
                f.hdr_bytes.extend_from_slice(bytes);
                opt_len = d.tcp_opt_len;
            }
        } else {
            opt_len = d.tcp_opt_len;
        }

        f.packets.push(PacketRecord {
            ts_ns: ts,
            ip_len: d.ip_total_len,
            payload_len: d.payload_len,
            wire_len,
            tcp_seq: d.tcp_seq,
            tcp_ack: d.tcp_ack,
            payload_off,
            payload_stored: stored,
            tcp_ts_val: d.tcp_ts_val,
            tcp_ts_ecr: d.tcp_ts_ecr,
            flow_label: d.flow_label,
            opt_off: if want_opts { opt_off } else { 0 },
            frag_offset: d.frag_offset,
            icmp_id: d.icmp_id,
            icmp_seq: d.icmp_seq,
            tcp_flags: d.tcp_flags,
            tcp_window: d.tcp_window,
            ip_id: d.ip_id,
            tcp_mss: d.tcp_mss,
            tcp_urgent: d.tcp_urgent,
            dir,
            ttl: d.ttl,
            tos: d.tos,
            ip_flags: d.ip_flags,
            tcp_wscale: if d.tcp_wscale == 0xFF {
                0
            } else {
                d.tcp_wscale
            },
            icmp_type: d.icmp_type,
            icmp_code: d.icmp_code,
            pflags: pf,
            tcp_opt_len: opt_len,
            tcp_sack_blocks: d.tcp_sack_blocks,
            ip_opt_len: if d.ip_version == 6 {
                d.ipv6_ext_count
            } else {
                d.ip_opt_len
            },
            link_trailer: (d.caplen as u64)
                .saturating_sub(d.l3_offset as u64 + d.ip_total_len as u64)
                .min(255) as u8,
        });

        if d.protocol == 6 && !f.closed && !self.cfg.compat_joyfuljay {
            if d.tcp_flags & 0x04 != 0 {
                f.closed = true;
            } else if d.tcp_flags & 0x01 != 0 {
                f.fin_seen[dir as usize] = true;
                if f.fin_seen[0] && f.fin_seen[1] {
                    f.closed = true;
                }
            }
            if f.closed {
                let last_ts = f.last_ts;
                self.touch(s, LIST_CLOSED, last_ts);
            }
        }
    }

    /// Expires flows idle for longer than the timeout and closed connections past their
    /// linger, as of packet time `clock`; `event` is the global index of the sweep.
    pub fn sweep(&mut self, event: u64, clock: i64, sink: &mut dyn FlowSink) {
        for shard in 0..LOGICAL_SHARDS {
            loop {
                let h = self.lists[shard][LIST_CLOSED as usize].head;
                if h == NIL
                    || clock.saturating_sub(self.slots[h as usize].last_ts)
                        <= self.cfg.close_linger_ns
                {
                    break;
                }
                self.finish(h, event, flow_end::TCP_CLOSE, sink);
            }
            loop {
                let h = self.lists[shard][LIST_OPEN as usize].head;
                if h == NIL
                    || clock.saturating_sub(self.slots[h as usize].last_ts)
                        <= self.cfg.idle_timeout_ns
                {
                    break;
                }
                self.finish(h, event, flow_end::IDLE, sink);
            }
        }
        while let Some(&(k, until)) = self.tomb_queue.front() {
            if until >= clock {
                break;
            }
            self.tomb_queue.pop_front();
            if self.tombstones.get(&k) == Some(&until) {
                self.tombstones.remove(&k);
            }
        }
    }

    /// Emits every remaining flow (end of input).
    pub fn flush(&mut self, sink: &mut dyn FlowSink) {
        self.flush_sorted(sink, usize::MAX, |_| {});
    }

    /// Emits every remaining flow in first-packet order (the output order of end-of-input
    /// rows), calling `chunk` after every `every` flows so the caller can write the rows
    /// out instead of holding all of them.
    pub fn flush_sorted<S: FlowSink + ?Sized>(
        &mut self,
        sink: &mut S,
        every: usize,
        mut chunk: impl FnMut(&mut S),
    ) {
        let mut live: Vec<(u64, u32)> = Vec::with_capacity(self.live);
        for shard in 0..LOGICAL_SHARDS {
            for list in [LIST_OPEN, LIST_CLOSED] {
                let mut h = self.lists[shard][list as usize].head;
                while h != NIL {
                    live.push((self.slots[h as usize].first_index, h));
                    h = self.links[h as usize].next;
                }
            }
        }
        live.sort_unstable();
        struct Fwd<'a, S: ?Sized>(&'a mut S);
        impl<S: FlowSink + ?Sized> FlowSink for Fwd<'_, S> {
            fn finished(&mut self, flow: &Flow, order: OrderKey, end_reason: u8) {
                self.0.finished(flow, order, end_reason)
            }
        }
        for (n, (_, h)) in live.into_iter().enumerate() {
            let reason = if self.slots[h as usize].closed {
                flow_end::TCP_CLOSE
            } else {
                flow_end::EOF
            };
            self.finish(h, u64::MAX, reason, &mut Fwd(&mut *sink));
            if (n + 1) % every == 0 {
                chunk(sink);
            }
        }
        chunk(sink);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    /// A TCP packet from a (10.0.0.1:1000) to b (10.0.0.2:80) or back.
    fn tcp(from_a: bool, flags: u16) -> Decoded {
        let mut d = Decoded::default();
        d.ip_version = 4;
        d.protocol = 6;
        let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        let (src, dst, sp, dp) = if from_a {
            (a, b, 1000, 80)
        } else {
            (b, a, 80, 1000)
        };
        d.src_ip[..4].copy_from_slice(&src);
        d.dst_ip[..4].copy_from_slice(&dst);
        d.src_port = sp;
        d.dst_port = dp;
        d.tcp_flags = flags;
        d.ip_total_len = 40;
        d
    }

    fn udp(port: u16) -> Decoded {
        let mut d = tcp(true, 0);
        d.protocol = 17;
        d.src_port = port;
        d
    }

    #[derive(Default)]
    struct Collect(Vec<(OrderKey, u8, usize, [u8; 16])>);
    impl FlowSink for Collect {
        fn finished(&mut self, f: &Flow, order: OrderKey, reason: u8) {
            self.0.push((order, reason, f.packets.len(), f.init_ip));
        }
    }

    /// A table with an idle timeout of `secs` seconds, and a sink.
    fn idle_table(secs: i64) -> (FlowTable, Collect) {
        let t = FlowTable::new(FlowConfig {
            idle_timeout_ns: secs * S,
            ..FlowConfig::default()
        });
        (t, Collect::default())
    }

    const SYN: u16 = 0x02;
    const SYNACK: u16 = 0x12;
    const ACK: u16 = 0x10;
    const FINACK: u16 = 0x11;
    const RST: u16 = 0x04;

    fn run(table: &mut FlowTable, pkts: &[(i64, Decoded)], sink: &mut Collect) {
        for (i, (ts, d)) in pkts.iter().enumerate() {
            table.add(i as u64, *ts, 60, d, &[], sink);
        }
    }

    #[test]
    fn key_hash_spreads_typical_keys_over_the_shards() {
        // Keys that differ only in a client port, only in the last address byte, or
        // only in an IPv6 interface id: each shard gets close to its share.
        let families: [&dyn Fn(u32) -> Decoded; 3] = [
            &|i| udp(i as u16),
            &|i| {
                let mut d = udp(5353);
                d.src_ip[..4].copy_from_slice(&[10, 0, (i >> 8) as u8, i as u8]);
                d
            },
            &|i| {
                let mut d = udp(443);
                d.ip_version = 6;
                d.src_ip = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
                d.src_ip[12..].copy_from_slice(&i.to_be_bytes());
                d
            },
        ];
        for (f, make) in families.iter().enumerate() {
            let n = 16_000u32;
            let mut per_shard = [0u32; LOGICAL_SHARDS];
            let mut hashes = std::collections::HashSet::new();
            for i in 0..n {
                let key = FlowKey::of(&make(i));
                per_shard[key.logical_shard()] += 1;
                hashes.insert(key.hash64());
            }
            assert_eq!(hashes.len(), n as usize, "family {f}: colliding hashes");
            let share = n / LOGICAL_SHARDS as u32;
            for (shard, &c) in per_shard.iter().enumerate() {
                assert!(
                    c > share * 9 / 10 && c < share * 11 / 10,
                    "family {f}: shard {shard} got {c} of {n} keys"
                );
            }
        }
    }

    #[test]
    fn fin_in_both_directions_closes_and_the_final_ack_stays_in_the_flow() {
        let mut t = FlowTable::new(FlowConfig::default());
        let mut c = Collect::default();
        let pkts = [
            (0, tcp(true, SYN)),
            (S / 100, tcp(false, SYNACK)),
            (2 * S / 100, tcp(true, ACK)),
            (3 * S / 100, tcp(true, FINACK)),
            (4 * S / 100, tcp(false, FINACK)),
            (5 * S / 100, tcp(true, ACK)), // final ACK: a late packet of the same connection
        ];
        run(&mut t, &pkts, &mut c);
        assert!(
            c.0.is_empty(),
            "closed connections linger to absorb late packets"
        );
        // after the linger, a sweep emits it with all 6 packets
        t.sweep(6, 5 * S, &mut c);
        assert_eq!(c.0.len(), 1);
        assert_eq!(c.0[0].1, flow_end::TCP_CLOSE);
        assert_eq!(c.0[0].2, 6);
        assert_eq!(c.0[0].0, (6, 0));
        // a straggler after emission does not open a new flow, but is counted
        t.add(7, 6 * S, 60, &tcp(false, ACK), &[], &mut c);
        t.flush(&mut c);
        assert_eq!(c.0.len(), 1);
        assert_eq!(t.counters.late_after_close, 1);
        assert_eq!(t.live_flows(), 0);
    }

    #[test]
    fn rst_closes_and_a_new_syn_starts_a_new_flow() {
        let mut t = FlowTable::new(FlowConfig::default());
        let mut c = Collect::default();
        let pkts = [
            (0, tcp(true, SYN)),
            (S / 10, tcp(false, RST | ACK)),
            (S / 5, tcp(true, SYN)),
        ];
        run(&mut t, &pkts, &mut c);
        assert_eq!(c.0.len(), 1, "the new SYN ends the reset connection");
        assert_eq!(
            (c.0[0].0, c.0[0].1, c.0[0].2),
            ((2, 0), flow_end::TCP_CLOSE, 2)
        );
        t.flush(&mut c);
        assert_eq!(
            (c.0[1].0, c.0[1].1, c.0[1].2),
            ((u64::MAX, 2), flow_end::EOF, 1)
        );
    }

    #[test]
    fn idle_timeout_splits_on_packet_time_and_reorients() {
        let (mut t, mut c) = idle_table(60);
        // packet from b first after the gap: the new flow's initiator is b
        let pkts = [
            (0, tcp(true, ACK)),
            (30 * S, tcp(false, ACK)),
            (91 * S, tcp(false, ACK)),
            (92 * S, tcp(true, ACK)),
        ];
        run(&mut t, &pkts, &mut c);
        t.flush(&mut c);
        assert_eq!(c.0.len(), 2);
        assert_eq!((c.0[0].1, c.0[0].2), (flow_end::IDLE, 2));
        assert_eq!(c.0[0].3[..4], [10, 0, 0, 1]);
        assert_eq!(c.0[1].2, 2);
        assert_eq!(c.0[1].3[..4], [10, 0, 0, 2]);
        // exactly the timeout is not idle (strictly greater)
        let (mut t, mut c) = idle_table(60);
        run(&mut t, &[(0, udp(5)), (60 * S, udp(5))], &mut c);
        t.flush(&mut c);
        assert_eq!(c.0.len(), 1);
    }

    #[test]
    fn sweep_expires_idle_flows_in_first_packet_order_per_event() {
        let (mut t, mut c) = idle_table(10);
        run(
            &mut t,
            &[(0, udp(1)), (S, udp(2)), (20 * S, udp(3))],
            &mut c,
        );
        t.sweep(3, 20 * S, &mut c);
        let mut got: Vec<OrderKey> = c.0.iter().map(|x| x.0).collect();
        got.sort();
        assert_eq!(got, vec![(3, 0), (3, 1)]);
        assert_eq!(t.counters.idle_expired, 2);
        assert_eq!(t.live_flows(), 1);
    }

    #[test]
    fn a_flow_ended_by_a_sweep_is_not_found_again_through_the_last_packet_cache() {
        // udp(1) twice (the second through the one-entry cache), expired by a sweep,
        // then udp(1) again at once: a new flow, whose slot may be taken by udp(2)
        // without udp(1)'s later packets joining it.
        let (mut t, mut c) = idle_table(10);
        run(&mut t, &[(0, udp(1)), (1, udp(1))], &mut c);
        t.sweep(2, 20 * S, &mut c);
        assert_eq!((c.0.len(), t.live_flows()), (1, 0));
        for (i, port) in [(3, 1), (4, 1), (5, 2), (6, 1)] {
            t.add(i, 20 * S, 60, &udp(port), &[], &mut c);
        }
        assert_eq!(t.live_flows(), 2);
        t.flush(&mut c);
        let mut sizes: Vec<(u64, usize)> = c.0.iter().map(|x| (x.0 .1, x.2)).collect();
        sizes.sort();
        assert_eq!(sizes, vec![(0, 2), (3, 3), (5, 1)]);
        assert_eq!(t.counters.flows_created, 3);
    }

    #[test]
    fn a_sweep_expires_a_flow_whose_packet_came_late_with_an_earlier_timestamp() {
        // Two flows of one shard: A's packet at 10 s, then B's with the earlier time 5 s.
        // At 16 s B has been idle for 11 s (> 10) and A for 6: B ends, A stays, although
        // A was active first in arrival order.
        let port_a = 1u16;
        let shard = FlowKey::of(&udp(port_a)).logical_shard();
        let port_b = (2..)
            .find(|&p| FlowKey::of(&udp(p)).logical_shard() == shard)
            .unwrap();
        let (mut t, mut c) = idle_table(10);
        run(
            &mut t,
            &[(10 * S, udp(port_a)), (5 * S, udp(port_b))],
            &mut c,
        );
        t.sweep(2, 16 * S, &mut c);
        assert_eq!(c.0.len(), 1);
        assert_eq!(
            c.0[0].0,
            (2, 1),
            "B (first packet index 1) ends at the sweep"
        );
        assert_eq!(t.live_flows(), 1);
        t.sweep(3, 21 * S, &mut c);
        assert_eq!(c.0.len(), 2);
    }

    #[test]
    fn lists_stay_whole_with_timestamps_out_of_order() {
        // 300 flows, 20,000 packets whose timestamps jitter back by up to 30 s (and a
        // few by an hour), sweeps every 500 packets: every packet ends up in exactly one
        // emitted flow, and the lists stay consistent (a broken link would lose or repeat
        // flows, or loop).
        let (mut t, mut c) = idle_table(10);
        let mut rng = jj_gen::rng::Rng::new(0x6c69_7374);
        for i in 0..20_000u64 {
            let x = rng.next_u64();
            let mut ts = i as i64 * S / 100 - (x % 3000) as i64 * S / 100;
            if x % 997 == 0 {
                ts -= 3600 * S;
            }
            t.add(i, ts, 60, &udp((x >> 20) as u16 % 300), &[], &mut c);
            if i % 500 == 499 {
                t.sweep(i, i as i64 * S / 100, &mut c);
            }
            if i % 2000 == 0 {
                let linked: usize = (0..LOGICAL_SHARDS)
                    .map(|sh| {
                        let mut n = 0;
                        for list in [LIST_OPEN, LIST_CLOSED] {
                            let mut h = t.lists[sh][list as usize].head;
                            let mut prev = NIL;
                            while h != NIL {
                                assert_eq!(t.links[h as usize].prev, prev);
                                prev = h;
                                h = t.links[h as usize].next;
                                n += 1;
                            }
                            assert_eq!(t.lists[sh][list as usize].tail, prev);
                        }
                        n
                    })
                    .sum();
                assert_eq!(linked, t.live_flows());
            }
        }
        t.flush(&mut c);
        assert_eq!(c.0.iter().map(|x| x.2).sum::<usize>(), 20_000);
        assert!(t.counters.idle_expired > 0);
    }

    #[test]
    fn active_timeout_and_packet_limit_keep_the_initiator() {
        let mut t = FlowTable::new(FlowConfig {
            max_flow_packets: 3,
            ..FlowConfig::default()
        });
        let mut c = Collect::default();
        let pkts: Vec<(i64, Decoded)> =
            (0..7).map(|i| (i * S / 10, tcp(i % 2 == 0, ACK))).collect();
        run(&mut t, &pkts, &mut c);
        t.flush(&mut c);
        assert_eq!(c.0.iter().map(|x| x.2).collect::<Vec<_>>(), vec![3, 3, 1]);
        assert!(c.0.iter().all(|x| x.3[..4] == [10, 0, 0, 1]));
        assert_eq!(t.counters.packet_limit_splits, 2);

        let mut t = FlowTable::new(FlowConfig {
            active_timeout_ns: S,
            ..FlowConfig::default()
        });
        let mut c = Collect::default();
        let pkts: Vec<(i64, Decoded)> = (0..5)
            .map(|i| (i * S * 6 / 10, tcp(i % 2 == 1, ACK)))
            .collect();
        run(&mut t, &pkts, &mut c);
        t.flush(&mut c);
        assert_eq!(c.0.iter().map(|x| x.2).collect::<Vec<_>>(), vec![2, 2, 1]);
        assert!(
            c.0.iter().all(|x| x.3[..4] == [10, 0, 0, 2]),
            "the first sender stays the initiator"
        );
        assert_eq!(t.counters.active_expired, 2);
    }

    #[test]
    fn max_flows_evicts_least_recently_active_and_counts_it() {
        let mut t = FlowTable::new(FlowConfig {
            max_flows: 16,
            ..FlowConfig::default()
        });
        let mut c = Collect::default();
        let pkts: Vec<(i64, Decoded)> = (0..2000).map(|i| (i, udp(i as u16))).collect();
        run(&mut t, &pkts, &mut c);
        assert!(t.live_flows() <= 16, "bounded: {}", t.live_flows());
        assert_eq!(t.counters.evicted as usize, 2000 - t.live_flows());
        assert!(c.0.iter().all(|x| x.1 == flow_end::EVICTED));
        t.flush(&mut c);
        assert_eq!(c.0.len(), 2000, "every flow is emitted once");
    }

    #[test]
    fn payload_storage_is_bounded_per_packet_and_direction() {
        let mut t = FlowTable::new(FlowConfig {
            payload_bytes_per_packet: 4,
            payload_bytes_per_direction: 6,
            ..FlowConfig::default()
        });
        let mut c = Collect::default();
        let frame = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        let mut d = udp(9);
        d.payload_offset = 2;
        d.payload_len = 8;
        d.payload_captured = 8;
        for i in 0..3 {
            t.add(i, i as i64, 60, &d, &frame, &mut c);
        }
        struct Check;
        impl FlowSink for Check {
            fn finished(&mut self, f: &Flow, _o: OrderKey, _r: u8) {
                let v = f.view(0);
                let stored: Vec<&[u8]> = v.packets().iter().map(|p| v.payload_of(p)).collect();
                assert_eq!(stored, vec![&[3u8, 4, 5, 6][..], &[3, 4][..], &[][..]]);
                assert!(v.packets().iter().all(|p| p.payload_len == 8));
            }
        }
        t.flush(&mut Check);
    }
}
