//! IPv4 and IPv6 fragment reassembly.
//!
//! [`Defrag::push`] takes one decoded fragment (a frame whose `jj_decode::Decoded` has
//! the `FRAGMENT` anomaly) and, when it completes a datagram, returns the whole IP packet:
//! header + payload, with the fragmentation undone so that `jj_decode::decode_ip(&packet,
//! 0, &mut d)` decodes it as an unfragmented packet:
//!
//! * IPv4: the header (with options) of the offset-0 fragment, total length set, MF and
//!   offset cleared (DF and the reserved bit kept), header checksum recomputed.
//! * IPv6: the unfragmentable part of the offset-0 fragment (base header and the
//!   hop-by-hop / routing / destination options headers before the fragment header), the
//!   fragment header removed, the next-header byte that pointed to it set to the fragment
//!   header's next header, payload length set.
//!
//! The packet starts at the IP header; the outer layers (link, VLAN, tunnels) are those
//! of the fragments.
//!
//! # Keys
//! (IP version, first VLAN id, source, destination, identification, and for IPv4 the
//! protocol). IPv6 keys have no protocol (RFC 8200).
//!
//! # Rules
//! * Fragment data is placed at its offset, in any arrival order. Bytes received twice
//!   follow [`Overlap`]: `First` keeps the first copy (default), `Last` the latest. The
//!   offset-0 fragment's header follows the same policy. A fragment overlapping received
//!   bytes is counted in `overlaps`; if all its bytes were already there, identical, also
//!   in `duplicates`; if any overlapping byte differs, in `conflicting_overlaps`.
//!   (RFC 5722 asks IPv6 receivers to drop datagrams with overlaps; here both versions
//!   follow the policy, and the counters show it.)
//! * The last fragment (MF = 0) fixes the data length. A second last fragment with a
//!   different end, a last fragment ending before data already received, or a non-last
//!   fragment reaching past the fixed end is `bad` and drops the pending datagram (as
//!   Linux does). Teardrop-style fragments (nested or overlapping offsets) are just
//!   overlaps.
//! * A non-last fragment whose length is not a multiple of 8, an empty fragment, a frame
//!   that is not a fragment, or a header that does not parse is `bad` and ignored. A
//!   fragment not entirely captured (snaplen) is counted in `truncated` and ignored.
//! * A fragment whose end would make the rebuilt packet larger than the protocol allows
//!   (IPv4 total length or IPv6 payload length > 65535: ping of death) or than
//!   [`DefragConfig::max_datagram`] is `too_big` and drops the pending datagram.
//! * A datagram is complete when its offset-0 fragment and its last fragment are in and
//!   the bytes `[0, end)` are all received.
//! * Timeout: a datagram is dropped `timeout_ns` after its first fragment (by
//!   [`Defrag::expire`], or by `push` when a later fragment of it arrives too late; that
//!   fragment then starts a new datagram). Counted in `timed_out`.
//! * Memory: every pending datagram is charged its buffers' capacities plus
//!   [`SLOT_OVERHEAD`] bytes. When a fragment would push the total over
//!   [`DefragConfig::max_bytes`], the oldest other pending datagrams are dropped first
//!   (`dropped_over_memory`); if that is not enough the datagram itself is dropped.
//!   Buffers of finished datagrams are kept for reuse up to `max_bytes / 16` bytes; the
//!   heap held is at most about `max_bytes + max_bytes / 16 + max_datagram` (see
//!   [`Defrag::memory_bytes`]).
#![forbid(unsafe_code)]

use std::collections::HashMap;

use jj_decode::Decoded;

/// Bytes charged per pending datagram on top of its buffers (slot, map entry, list
/// links). Also bounds the number of pending datagrams: `max_bytes / SLOT_OVERHEAD`.
pub const SLOT_OVERHEAD: usize = 256;

/// Largest IPv4 total length / IPv6 payload length.
const IP_MAX: usize = 65_535;
const NIL: u32 = u32::MAX;

/// Which copy of a byte received twice is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Overlap {
    /// The first copy (Suricata's "first", BSD-right-ish; the default).
    #[default]
    First,
    /// The latest copy.
    Last,
}

/// Limits and policy. `Default` gives 16 MiB, 30 s, 65535 + 40 bytes, `First`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefragConfig {
    /// Total bytes buffered across all pending datagrams (default 16 MiB).
    pub max_bytes: usize,
    /// Pending datagram lifetime from its first fragment, packet clock (default 30 s).
    pub timeout_ns: i64,
    /// Largest rebuilt packet, header included (default 65535 + 40: any IPv4 packet and
    /// any non-jumbo IPv6 packet; jumbograms are not supported).
    pub max_datagram: usize,
    /// Overlap policy (default [`Overlap::First`]).
    pub overlap: Overlap,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_bytes: 16 << 20,
            timeout_ns: 30_000_000_000,
            max_datagram: IP_MAX + 40,
            overlap: Overlap::First,
        }
    }
}

/// What the reassembler saw. Fragment counts unless noted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefragCounters {
    /// Fragments offered to `push`.
    pub fragments: u64,
    /// Datagrams completed and returned.
    pub reassembled: u64,
    /// Datagrams dropped by the timeout.
    pub timed_out: u64,
    /// Fragments overlapping bytes already received (duplicates included).
    pub overlaps: u64,
    /// Fragments whose every byte was already received, identical.
    pub duplicates: u64,
    /// Fragments with overlapping bytes that differ from those received.
    pub conflicting_overlaps: u64,
    /// Datagrams dropped to stay within `max_bytes`.
    pub dropped_over_memory: u64,
    /// Fragments that would make the packet too big (the datagram is dropped).
    pub too_big: u64,
    /// Malformed or inconsistent fragments (see the module documentation).
    pub bad: u64,
    /// Fragments not entirely captured (ignored).
    pub truncated: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
struct Key {
    version: u8,
    proto: u8,
    vlan: u16,
    id: u32,
    src: [u8; 16],
    dst: [u8; 16],
}

/// One pending datagram.
#[derive(Debug, Default)]
struct Slot {
    key: Key,
    used: bool,
    first_ts: i64,
    /// Creation-order list (oldest at `Defrag::head`).
    prev: u32,
    next: u32,
    /// Header of the offset-0 fragment (IPv4 header, or IPv6 unfragmentable part).
    hdr: Vec<u8>,
    has_first: bool,
    /// IPv6: index in `hdr` of the next-header byte that pointed to the fragment header.
    nh_pos: usize,
    /// IPv6: the fragment header's next header.
    next_proto: u8,
    /// Fragment data by offset (holes are zero until filled).
    data: Vec<u8>,
    /// Received ranges of `data`: sorted, disjoint, non-adjacent.
    have: Vec<(u32, u32)>,
    /// The last fragment arrived: the data length is `total`.
    last: bool,
    total: u32,
    /// Bytes charged to `Defrag::used`.
    charge: usize,
}

impl Slot {
    fn heap(&self) -> usize {
        self.hdr.capacity() + self.data.capacity() + self.have.capacity() * 8
    }
}

/// One parsed fragment.
struct Piece<'a> {
    key: Key,
    off: usize,
    more: bool,
    hdr: &'a [u8],
    nh_pos: usize,
    next_proto: u8,
    data: &'a [u8],
}

enum ParseErr {
    Truncated,
    Bad,
}

/// IPv4/IPv6 fragment reassembler. See the module documentation.
#[derive(Debug)]
pub struct Defrag {
    cfg: DefragConfig,
    map: HashMap<Key, u32>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    head: u32,
    tail: u32,
    /// Sum of pending slots' charges.
    used: usize,
    /// Heap kept by free slots for reuse.
    retained: usize,
    out: Vec<u8>,
    c: DefragCounters,
}

impl Defrag {
    /// An empty reassembler. Allocates nothing until the first fragment.
    pub fn new(cfg: DefragConfig) -> Self {
        Defrag {
            cfg,
            map: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            used: 0,
            retained: 0,
            out: Vec::new(),
            c: DefragCounters::default(),
        }
    }

    /// Offer one decoded fragment: `d` from `jj_decode::decode` (its `l3_offset` locates
    /// the innermost IP header, `vlan_id` is part of the key), `frame` the captured
    /// frame, `ts_ns` its timestamp. Returns the rebuilt IP packet when this fragment
    /// completes a datagram; the slice borrows an internal buffer valid until the next
    /// call. Never panics.
    pub fn push(&mut self, ts_ns: i64, d: &Decoded, frame: &[u8]) -> Option<&[u8]> {
        self.c.fragments += 1;
        let p = match parse(d, frame) {
            Ok(p) => p,
            Err(ParseErr::Truncated) => {
                self.c.truncated += 1;
                return None;
            }
            Err(ParseErr::Bad) => {
                self.c.bad += 1;
                return None;
            }
        };
        let len = p.data.len();
        if len == 0 || (p.more && len % 8 != 0) {
            self.c.bad += 1;
            return None;
        }
        let end = p.off + len;
        // Existing datagram, unless it is too old.
        let mut idx = self.map.get(&p.key).copied();
        if let Some(i) = idx {
            let first = self.slots.get(i as usize).map_or(ts_ns, |s| s.first_ts);
            if ts_ns.saturating_sub(first) > self.cfg.timeout_ns {
                self.remove(i);
                self.c.timed_out += 1;
                idx = None;
            }
        }
        if p.hdr.len() + end > self.max_packet(p.key.version) {
            self.c.too_big += 1;
            if let Some(i) = idx {
                self.remove(i);
            }
            return None;
        }
        let i = match idx {
            Some(i) => i,
            None => match self.alloc(p.key, ts_ns) {
                Some(i) => i,
                None => {
                    self.c.dropped_over_memory += 1;
                    return None;
                }
            },
        };
        let iu = i as usize;
        let slot = self.slots.get(iu)?;
        // The last fragment fixes the length; contradictions drop the datagram.
        let received_end = slot.have.last().map_or(0, |r| r.1 as usize);
        let inconsistent = if p.more {
            slot.last && end > slot.total as usize
        } else {
            (slot.last && end != slot.total as usize) || received_end > end
        };
        if inconsistent {
            self.c.bad += 1;
            self.remove(i);
            return None;
        }
        // Memory: charge the capacities this fragment will need, make room first.
        let take_hdr = p.off == 0 && (!slot.has_first || self.cfg.overlap == Overlap::Last);
        let data_cap = if end > slot.data.capacity() {
            grow_target(slot.data.capacity(), end, self.max_packet(p.key.version))
        } else {
            slot.data.capacity()
        };
        let hdr_cap = if take_hdr {
            slot.hdr.capacity().max(p.hdr.len())
        } else {
            slot.hdr.capacity()
        };
        let have_cap = if slot.have.len() == slot.have.capacity() {
            slot.have.capacity() + slot.have.capacity().max(4)
        } else {
            slot.have.capacity()
        };
        let want = SLOT_OVERHEAD + data_cap + hdr_cap + have_cap * 8;
        let old = slot.charge;
        if want > old && !self.make_room(want - old, i) {
            self.c.dropped_over_memory += 1;
            self.remove(i);
            return None;
        }
        let policy = self.cfg.overlap;
        let slot = self.slots.get_mut(iu)?;
        if take_hdr {
            slot.hdr.clear();
            if slot.hdr.capacity() < p.hdr.len() {
                slot.hdr.reserve_exact(p.hdr.len());
            }
            slot.hdr.extend_from_slice(p.hdr);
            slot.has_first = true;
            slot.nh_pos = p.nh_pos;
            slot.next_proto = p.next_proto;
        }
        if end > slot.data.len() {
            if end > slot.data.capacity() {
                slot.data.reserve_exact(data_cap - slot.data.len());
            }
            slot.data.resize(end, 0);
        }
        let (overlapped, conflicts) = place(&mut slot.data, &slot.have, p.off, p.data, policy);
        add_range(&mut slot.have, p.off as u32, end as u32);
        if !p.more {
            slot.last = true;
            slot.total = end as u32;
        }
        let new_charge = SLOT_OVERHEAD + slot.heap();
        let old_charge = slot.charge;
        slot.charge = new_charge;
        self.used = self.used.saturating_sub(old_charge) + new_charge;
        if overlapped > 0 {
            self.c.overlaps += 1;
            if conflicts > 0 {
                self.c.conflicting_overlaps += 1;
            } else if overlapped == len {
                self.c.duplicates += 1;
            }
        }
        // Complete?
        let slot = self.slots.get(iu)?;
        let total = slot.total as usize;
        if !(slot.last
            && slot.has_first
            && slot.have.len() == 1
            && slot.have.first() == Some(&(0, slot.total)))
        {
            return None;
        }
        let version = slot.key.version;
        let size = slot.hdr.len() + total;
        if size > self.max_packet(version) {
            self.c.too_big += 1;
            self.remove(i);
            return None;
        }
        self.out.clear();
        if self.out.capacity() < size {
            self.out.reserve_exact(size);
        }
        self.out.extend_from_slice(&slot.hdr);
        self.out
            .extend_from_slice(slot.data.get(..total).unwrap_or(&[]));
        let ok = if version == 4 {
            fix_v4(&mut self.out)
        } else {
            fix_v6(&mut self.out, slot.nh_pos, slot.next_proto)
        };
        self.remove(i);
        if !ok {
            self.c.bad += 1;
            return None;
        }
        self.c.reassembled += 1;
        Some(&self.out)
    }

    /// Drop the datagrams whose first fragment is more than `timeout_ns` older than
    /// `now_ns` (the packet clock), oldest first, stopping at the first one still alive
    /// (creation order; with a non-monotonic clock a later-created datagram waits for
    /// the earlier ones). Returns how many were dropped.
    pub fn expire(&mut self, now_ns: i64) -> u64 {
        let mut n = 0u64;
        while self.head != NIL {
            let h = self.head;
            let Some(s) = self.slots.get(h as usize) else {
                break;
            };
            if now_ns.saturating_sub(s.first_ts) <= self.cfg.timeout_ns {
                break;
            }
            self.remove(h);
            n += 1;
        }
        self.c.timed_out += n;
        n
    }

    /// The counters so far.
    pub fn counters(&self) -> DefragCounters {
        self.c
    }

    /// Datagrams pending (some fragments received, not complete).
    pub fn pending(&self) -> usize {
        self.map.len()
    }

    /// Bytes charged for the pending datagrams (`<= max_bytes`).
    pub fn buffered_bytes(&self) -> usize {
        self.used
    }

    /// Heap bytes held: pending datagrams' charges, buffers kept for reuse, the output
    /// buffer.
    pub fn memory_bytes(&self) -> usize {
        self.used + self.retained + self.out.capacity()
    }

    /// Drop every pending datagram (not counted as timed out), keeping buffers.
    pub fn clear(&mut self) {
        while self.head != NIL {
            let h = self.head;
            self.remove(h);
        }
    }

    /// Largest rebuilt packet for `version`.
    fn max_packet(&self, version: u8) -> usize {
        let proto = if version == 4 { IP_MAX } else { IP_MAX + 40 };
        proto.min(self.cfg.max_datagram)
    }

    /// A fresh slot for `key`, linked as the newest; `None` if memory cannot be found.
    fn alloc(&mut self, key: Key, ts: i64) -> Option<u32> {
        // A reused slot brings its retained buffers: they are charged too.
        let reuse = self.free.pop();
        let mut reuse_heap = reuse
            .and_then(|f| self.slots.get(f as usize))
            .map_or(0, Slot::heap);
        self.retained = self.retained.saturating_sub(reuse_heap);
        if SLOT_OVERHEAD + reuse_heap > self.cfg.max_bytes {
            // Those buffers could never fit: start from empty ones.
            if let Some(s) = reuse.and_then(|f| self.slots.get_mut(f as usize)) {
                s.hdr = Vec::new();
                s.data = Vec::new();
                s.have = Vec::new();
            }
            reuse_heap = 0;
        }
        // Fails only when SLOT_OVERHEAD alone exceeds max_bytes.
        if !self.make_room(SLOT_OVERHEAD + reuse_heap, NIL) {
            if let Some(f) = reuse {
                self.free.push(f);
                self.retained += reuse_heap;
            }
            return None;
        }
        let i = match reuse {
            Some(f) => f,
            None => {
                if self.slots.len() >= NIL as usize {
                    return None;
                }
                self.slots.push(Slot::default());
                (self.slots.len() - 1) as u32
            }
        };
        let tail = self.tail;
        let s = self.slots.get_mut(i as usize)?;
        s.key = key;
        s.used = true;
        s.first_ts = ts;
        s.prev = tail;
        s.next = NIL;
        s.hdr.clear();
        s.has_first = false;
        s.nh_pos = 0;
        s.next_proto = 0;
        s.data.clear();
        s.have.clear();
        s.last = false;
        s.total = 0;
        s.charge = SLOT_OVERHEAD + s.heap();
        self.used += s.charge;
        match self.slots.get_mut(tail as usize) {
            Some(t) => t.next = i,
            None => self.head = i,
        }
        self.tail = i;
        self.map.insert(key, i);
        Some(i)
    }

    /// Evict the oldest pending datagrams other than `protect` until `extra` more bytes
    /// fit under `max_bytes`. False if they cannot.
    fn make_room(&mut self, extra: usize, protect: u32) -> bool {
        while self.used.saturating_add(extra) > self.cfg.max_bytes {
            let mut v = self.head;
            if v == protect {
                v = self.slots.get(v as usize).map_or(NIL, |s| s.next);
            }
            if v == NIL {
                return false;
            }
            self.remove(v);
            self.c.dropped_over_memory += 1;
        }
        true
    }

    /// Forget pending datagram `i`; keep its buffers if the reuse budget allows.
    fn remove(&mut self, i: u32) {
        let retain_max = self.cfg.max_bytes / 16;
        let Some(s) = self.slots.get_mut(i as usize) else {
            return;
        };
        if !s.used {
            return;
        }
        s.used = false;
        let (prev, next, key, charge) = (s.prev, s.next, s.key, s.charge);
        s.hdr.clear();
        s.data.clear();
        s.have.clear();
        s.charge = 0;
        let heap = s.heap();
        if self.retained + heap <= retain_max {
            self.retained += heap;
        } else {
            s.hdr = Vec::new();
            s.data = Vec::new();
            s.have = Vec::new();
        }
        match self.slots.get_mut(prev as usize) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match self.slots.get_mut(next as usize) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
        self.used = self.used.saturating_sub(charge);
        if self.map.get(&key) == Some(&i) {
            self.map.remove(&key);
        }
        self.free.push(i);
    }
}

/// Capacity for a data buffer that must hold `need` bytes: geometric growth, capped by
/// `max` (but at least `need`).
fn grow_target(cap: usize, need: usize, max: usize) -> usize {
    need.max(cap.saturating_mul(2)).max(512).min(max).max(need)
}

/// Copy `src` to `data[off..]` following `policy` against the received ranges `have`.
/// Returns (bytes overlapping received ones, of which differing).
fn place(
    data: &mut [u8],
    have: &[(u32, u32)],
    off: usize,
    src: &[u8],
    policy: Overlap,
) -> (usize, usize) {
    let end = off + src.len();
    let mut overlapped = 0usize;
    let mut conflicts = 0usize;
    let first = have.partition_point(|r| (r.1 as usize) <= off);
    for r in have.get(first..).unwrap_or(&[]) {
        let (a, b) = (r.0 as usize, r.1 as usize);
        if a >= end {
            break;
        }
        let (oa, ob) = (a.max(off), b.min(end));
        if oa < ob {
            overlapped += ob - oa;
            let kept = data.get(oa..ob).unwrap_or(&[]);
            let new = src.get(oa - off..ob - off).unwrap_or(&[]);
            conflicts += kept.iter().zip(new).filter(|(x, y)| x != y).count();
        }
    }
    match policy {
        Overlap::Last => copy_into(data, off, src, off, end),
        Overlap::First => {
            let mut cur = off;
            for r in have.get(first..).unwrap_or(&[]) {
                let (a, b) = (r.0 as usize, r.1 as usize);
                if a >= end {
                    break;
                }
                if a > cur {
                    copy_into(data, off, src, cur, a);
                }
                cur = cur.max(b);
            }
            if cur < end {
                copy_into(data, off, src, cur, end);
            }
        }
    }
    (overlapped, conflicts)
}

/// `data[a..b] = src[a - off..b - off]`, bounds-checked.
fn copy_into(data: &mut [u8], off: usize, src: &[u8], a: usize, b: usize) {
    if let (Some(dst), Some(s)) = (data.get_mut(a..b), src.get(a - off..b - off)) {
        dst.copy_from_slice(s);
    }
}

/// Add `[a, b)` to the sorted, disjoint, non-adjacent ranges `have`.
fn add_range(have: &mut Vec<(u32, u32)>, a: u32, b: u32) {
    let i = have.partition_point(|r| r.1 < a);
    let j = have.partition_point(|r| r.0 <= b);
    if i < j {
        let lo = have.get(i).map_or(a, |r| r.0.min(a));
        let hi = have.get(j - 1).map_or(b, |r| r.1.max(b));
        if let Some(r) = have.get_mut(i) {
            *r = (lo, hi);
        }
        have.drain(i + 1..j);
    } else {
        if have.len() == have.capacity() {
            let extra = have.capacity().max(4);
            have.reserve_exact(extra);
        }
        have.insert(i, (a, b));
    }
}

fn be16(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(o)?, *b.get(o + 1)?]))
}

fn be32(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(o)?,
        *b.get(o + 1)?,
        *b.get(o + 2)?,
        *b.get(o + 3)?,
    ]))
}

/// Locate the fragment fields, header and data of the IP packet at `d.l3_offset`.
fn parse<'a>(d: &Decoded, frame: &'a [u8]) -> Result<Piece<'a>, ParseErr> {
    let l3 = d.l3_offset as usize;
    match frame.get(l3).map(|b| b >> 4) {
        Some(4) => parse_v4(d, frame, l3),
        Some(6) => parse_v6(d, frame, l3),
        Some(_) => Err(ParseErr::Bad),
        None => Err(ParseErr::Truncated),
    }
}

fn parse_v4<'a>(d: &Decoded, f: &'a [u8], l3: usize) -> Result<Piece<'a>, ParseErr> {
    let h = f
        .get(l3..l3.saturating_add(20))
        .ok_or(ParseErr::Truncated)?;
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if ihl < 20 || total < ihl {
        return Err(ParseErr::Bad);
    }
    let end = l3.saturating_add(total);
    let pkt = f.get(l3..end).ok_or(ParseErr::Truncated)?;
    let ff = u16::from_be_bytes([h[6], h[7]]);
    let off = usize::from(ff & 0x1fff) * 8;
    let more = ff & 0x2000 != 0;
    if off == 0 && !more {
        return Err(ParseErr::Bad);
    }
    let mut key = Key {
        version: 4,
        proto: h[9],
        vlan: d.vlan_id,
        id: u32::from(u16::from_be_bytes([h[4], h[5]])),
        ..Key::default()
    };
    key.src[..4].copy_from_slice(&h[12..16]);
    key.dst[..4].copy_from_slice(&h[16..20]);
    Ok(Piece {
        key,
        off,
        more,
        hdr: pkt.get(..ihl).ok_or(ParseErr::Bad)?,
        nh_pos: 9,
        next_proto: h[9],
        data: pkt.get(ihl..).ok_or(ParseErr::Bad)?,
    })
}

/// Walk the IPv6 unfragmentable part (hop-by-hop, routing, destination options) to the
/// fragment header.
fn parse_v6<'a>(d: &Decoded, f: &'a [u8], l3: usize) -> Result<Piece<'a>, ParseErr> {
    let h = f
        .get(l3..l3.saturating_add(40))
        .ok_or(ParseErr::Truncated)?;
    let plen = usize::from(u16::from_be_bytes([h[4], h[5]]));
    if plen == 0 {
        return Err(ParseErr::Bad); // jumbogram or empty: no fragment header
    }
    let end = l3.saturating_add(40 + plen);
    let pkt = f.get(l3..end).ok_or(ParseErr::Truncated)?;
    let mut nh = h[6];
    let mut nh_pos = 6usize;
    let mut p = 40usize; // offsets within `pkt`
    let mut steps = 0;
    while nh != 44 {
        steps += 1;
        if steps > usize::from(jj_decode::MAX_IPV6_EXT) {
            return Err(ParseErr::Bad);
        }
        match nh {
            0 | 43 | 60 => {
                let next = *pkt.get(p).ok_or(ParseErr::Bad)?;
                let hl = (usize::from(*pkt.get(p + 1).ok_or(ParseErr::Bad)?) + 1) * 8;
                nh_pos = p;
                nh = next;
                p += hl;
            }
            _ => return Err(ParseErr::Bad),
        }
    }
    let next_proto = *pkt.get(p).ok_or(ParseErr::Bad)?;
    let fo = be16(pkt, p + 2).ok_or(ParseErr::Bad)?;
    let id = be32(pkt, p + 4).ok_or(ParseErr::Bad)?;
    let data = pkt.get(p + 8..).ok_or(ParseErr::Bad)?;
    let mut key = Key {
        version: 6,
        proto: 0,
        vlan: d.vlan_id,
        id,
        ..Key::default()
    };
    key.src.copy_from_slice(&h[8..24]);
    key.dst.copy_from_slice(&h[24..40]);
    Ok(Piece {
        key,
        off: usize::from(fo & 0xfff8),
        more: fo & 1 != 0,
        hdr: pkt.get(..p).ok_or(ParseErr::Bad)?,
        nh_pos,
        next_proto,
        data,
    })
}

/// Make the rebuilt IPv4 packet `pkt` unfragmented: total length, flags/offset, checksum.
fn fix_v4(pkt: &mut [u8]) -> bool {
    let Ok(total) = u16::try_from(pkt.len()) else {
        return false;
    };
    let ihl = usize::from(pkt.first().map_or(0, |b| b & 0x0f)) * 4;
    let Some(h) = pkt.get_mut(..ihl) else {
        return false;
    };
    if ihl < 20 {
        return false;
    }
    h[2..4].copy_from_slice(&total.to_be_bytes());
    let ff = u16::from_be_bytes([h[6], h[7]]) & 0xc000; // keep reserved + DF
    h[6..8].copy_from_slice(&ff.to_be_bytes());
    h[10] = 0;
    h[11] = 0;
    let mut sum = 0u32;
    for w in h.chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    h[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    true
}

/// Make the rebuilt IPv6 packet `pkt` unfragmented: next header, payload length.
fn fix_v6(pkt: &mut [u8], nh_pos: usize, next: u8) -> bool {
    let Ok(plen) = u16::try_from(pkt.len().saturating_sub(40)) else {
        return false;
    };
    if pkt.len() < 40 {
        return false;
    }
    match pkt.get_mut(nh_pos) {
        Some(b) => *b = next,
        None => return false,
    }
    pkt[4..6].copy_from_slice(&plen.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use jj_decode::{anomaly, decode, decode_ip, linktype};

    const SRC4: [u8; 4] = [10, 0, 0, 1];
    const DST4: [u8; 4] = [10, 0, 0, 2];

    /// Deterministic xorshift64*.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            if n == 0 {
                0
            } else {
                self.next() % n
            }
        }
    }

    fn bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut r = Rng(seed | 1);
        (0..n).map(|_| r.next() as u8).collect()
    }

    fn udp(sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&sp.to_be_bytes());
        v.extend_from_slice(&dp.to_be_bytes());
        v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(payload);
        v
    }

    /// A raw IPv4 fragment (IHL 5 unless `opts`).
    fn v4(id: u16, proto: u8, off: usize, more: bool, chunk: &[u8]) -> Vec<u8> {
        v4_opts(id, proto, off, more, chunk, &[])
    }

    fn v4_opts(id: u16, proto: u8, off: usize, more: bool, chunk: &[u8], opts: &[u8]) -> Vec<u8> {
        let ihl = 20 + opts.len();
        let total = ihl + chunk.len();
        let mut h = vec![0x40 | (ihl / 4) as u8, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0];
        h[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        h[4..6].copy_from_slice(&id.to_be_bytes());
        let ff = ((off / 8) as u16 & 0x1fff) | if more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&ff.to_be_bytes());
        h.extend_from_slice(&SRC4);
        h.extend_from_slice(&DST4);
        h.extend_from_slice(opts);
        h.extend_from_slice(chunk);
        h
    }

    /// IPv6 fragment with unfragmentable extension headers `exts` ((type, 8-byte units)),
    /// then the fragment header (next header 17 unless `inner`), then `chunk`.
    fn v6(exts: &[(u8, u8)], inner: u8, id: u32, off: usize, more: bool, chunk: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        for (k, &(_, units)) in exts.iter().enumerate() {
            let next = exts.get(k + 1).map_or(44, |e| e.0);
            let mut e = vec![0u8; (usize::from(units) + 1) * 8];
            e[0] = next;
            e[1] = units;
            e[2] = 1; // PadN
            e[3] = (e.len() - 4) as u8;
            body.extend(e);
        }
        body.push(inner);
        body.push(0);
        body.extend_from_slice(&((off as u16 & 0xfff8) | u16::from(more)).to_be_bytes());
        body.extend_from_slice(&id.to_be_bytes());
        body.extend_from_slice(chunk);
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&(body.len() as u16).to_be_bytes());
        p.push(exts.first().map_or(44, |e| e.0));
        p.push(64);
        p.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        p.extend(body);
        p
    }

    fn eth(et: u16, ip: &[u8]) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        f.extend_from_slice(&et.to_be_bytes());
        f.extend_from_slice(ip);
        if f.len() < 60 {
            f.resize(60, 0xAA); // Ethernet padding: must not become data
        }
        f
    }

    fn dec(lt: u32, f: &[u8]) -> Decoded {
        let mut d = Decoded::default();
        decode(lt, f, f.len() as u32, &mut d);
        d
    }

    fn lt_of(f: &[u8]) -> u32 {
        match f[0] >> 4 {
            4 => linktype::IPV4,
            _ => linktype::IPV6,
        }
    }

    /// Push a raw IP fragment; returns the rebuilt packet, copied.
    fn push(df: &mut Defrag, ts: i64, f: &[u8]) -> Option<Vec<u8>> {
        let d = dec(lt_of(f), f);
        df.push(ts, &d, f).map(<[u8]>::to_vec)
    }

    /// Cut `dgram` at `cuts` (ascending, multiples of 8, excluding 0 and len) into
    /// (offset, more, chunk).
    fn cut(dgram: &[u8], cuts: &[usize]) -> Vec<(usize, bool, Vec<u8>)> {
        let mut pts = vec![0];
        pts.extend_from_slice(cuts);
        pts.push(dgram.len());
        pts.windows(2)
            .map(|w| (w[0], w[1] != dgram.len(), dgram[w[0]..w[1]].to_vec()))
            .collect()
    }

    fn permutations(n: usize) -> Vec<Vec<usize>> {
        fn rec(cur: &mut Vec<usize>, used: &mut Vec<bool>, out: &mut Vec<Vec<usize>>) {
            if cur.len() == used.len() {
                out.push(cur.clone());
                return;
            }
            for i in 0..used.len() {
                if !used[i] {
                    used[i] = true;
                    cur.push(i);
                    rec(cur, used, out);
                    cur.pop();
                    used[i] = false;
                }
            }
        }
        let mut out = Vec::new();
        rec(&mut Vec::new(), &mut vec![false; n], &mut out);
        out
    }

    /// The packet decodes, unfragmented, as UDP `sp -> dp` carrying `payload`.
    fn check_udp(pkt: &[u8], version: u8, sp: u16, dp: u16, payload: &[u8]) -> Decoded {
        let mut d = Decoded::default();
        decode_ip(pkt, 0, &mut d);
        assert_eq!(d.anomalies, 0, "{d:?}");
        assert_eq!(d.ip_version, version);
        assert_eq!((d.protocol, d.src_port, d.dst_port), (17, sp, dp));
        assert_eq!(d.payload_len as usize, payload.len());
        assert_eq!(d.ip_total_len as usize, pkt.len());
        let po = d.payload_offset as usize;
        assert_eq!(&pkt[po..po + payload.len()], payload);
        if version == 4 {
            let ihl = usize::from(pkt[0] & 15) * 4;
            let mut sum = 0u32;
            for w in pkt[..ihl].chunks(2) {
                sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
            }
            while sum > 0xffff {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            assert_eq!(sum, 0xffff, "IPv4 header checksum");
        } else {
            assert_eq!(d.ipv6_ext_mask & (1 << 3), 0, "fragment header removed");
        }
        d
    }

    /// Internal consistency: list, map, charges, bounds.
    fn check(df: &Defrag) {
        let mut n = 0usize;
        let mut used = 0usize;
        let mut v = df.head;
        let mut prev = NIL;
        while v != NIL {
            let s = &df.slots[v as usize];
            assert!(s.used);
            assert_eq!(s.prev, prev);
            assert_eq!(df.map.get(&s.key), Some(&v));
            assert_eq!(s.charge, SLOT_OVERHEAD + s.heap());
            assert!(s.data.len() <= df.max_packet(s.key.version));
            for w in s.have.windows(2) {
                assert!(w[0].1 < w[1].0, "ranges sorted, disjoint, non-adjacent");
            }
            used += s.charge;
            n += 1;
            prev = v;
            v = s.next;
            assert!(n <= df.slots.len());
        }
        assert_eq!(df.tail, prev);
        assert_eq!(n, df.map.len());
        assert_eq!(used, df.used);
        assert!(df.used <= df.cfg.max_bytes);
        assert!(df.retained <= df.cfg.max_bytes / 16);
        assert!(df.out.capacity() <= df.cfg.max_datagram.max(IP_MAX + 40));
    }

    #[test]
    fn v4_udp_all_orders() {
        let payload = bytes(3000, 1);
        let dgram = udp(5353, 53, &payload);
        for cuts in [&[1480usize, 2960][..], &[8, 1000, 2000][..], &[1480][..]] {
            let frags = cut(&dgram, cuts);
            for perm in permutations(frags.len()) {
                let mut df = Defrag::new(DefragConfig::default());
                let mut got = None;
                for (k, &i) in perm.iter().enumerate() {
                    let (off, more, chunk) = &frags[i];
                    let r = push(&mut df, k as i64, &v4(0x1234, 17, *off, *more, chunk));
                    check(&df);
                    if k + 1 < perm.len() {
                        assert!(r.is_none(), "completed early: {perm:?}");
                    } else {
                        got = r;
                    }
                }
                let pkt = got.unwrap_or_else(|| panic!("not completed: {cuts:?} {perm:?}"));
                let d = check_udp(&pkt, 4, 5353, 53, &payload);
                assert_eq!(d.ip_id, 0x1234);
                assert_eq!(pkt.len(), 20 + 8 + 3000);
                let c = df.counters();
                assert_eq!((c.reassembled, c.overlaps, c.bad), (1, 0, 0));
                assert_eq!(df.pending(), 0);
                assert_eq!(df.buffered_bytes(), 0);
            }
        }
    }

    #[test]
    fn v4_options_df_and_ethernet_padding() {
        let payload = bytes(100, 2);
        let dgram = udp(1, 2, &payload);
        let opts = [1u8, 1, 1, 0]; // NOP NOP NOP EOL
        let mut df = Defrag::new(DefragConfig::default());
        // Last fragment tiny: padded to 60 bytes on Ethernet; the padding is not data.
        let f2 = eth(0x0800, &v4(9, 17, 104, false, &dgram[104..]));
        let d2 = dec(linktype::ETHERNET, &f2);
        assert!(d2.has_anomaly(anomaly::FRAGMENT));
        assert!(df.push(5, &d2, &f2).is_none());
        let mut first = v4_opts(9, 17, 0, true, &dgram[..104], &opts);
        first[6] |= 0x40; // DF (odd with MF, but kept as is)
        let f1 = eth(0x0800, &first);
        let d1 = dec(linktype::ETHERNET, &f1);
        let pkt = df.push(6, &d1, &f1).expect("complete").to_vec();
        assert_eq!(pkt.len(), 24 + 108);
        assert_eq!(&pkt[20..24], &opts);
        assert_eq!(pkt[6] & 0xe0, 0x40, "DF kept, MF cleared");
        check_udp(&pkt, 4, 1, 2, &payload);
    }

    #[test]
    fn v6_udp_all_orders_and_chains() {
        let payload = bytes(2500, 3);
        let dgram = udp(53, 40000, &payload);
        let chains: [&[(u8, u8)]; 4] = [&[], &[(0, 0)], &[(0, 1), (60, 0), (43, 2)], &[(60, 0)]];
        for exts in chains {
            let unfrag: usize = 40
                + exts
                    .iter()
                    .map(|e| (usize::from(e.1) + 1) * 8)
                    .sum::<usize>();
            for cuts in [&[1232usize][..], &[800, 1600, 2400][..], &[16, 1000][..]] {
                let frags = cut(&dgram, cuts);
                for perm in permutations(frags.len()) {
                    let mut df = Defrag::new(DefragConfig::default());
                    let mut got = None;
                    for &i in &perm {
                        let (off, more, chunk) = &frags[i];
                        let f = v6(exts, 17, 0xdead_beef, *off, *more, chunk);
                        let d = dec(linktype::IPV6, &f);
                        assert!(d.has_anomaly(anomaly::FRAGMENT));
                        assert_eq!((d.frag_offset as usize, d.more_fragments), (*off, *more));
                        got = df.push(0, &d, &f).map(<[u8]>::to_vec);
                        check(&df);
                    }
                    let pkt = got.unwrap_or_else(|| panic!("{exts:?} {cuts:?} {perm:?}"));
                    assert_eq!(pkt.len(), unfrag + dgram.len());
                    let d = check_udp(&pkt, 6, 53, 40000, &payload);
                    assert_eq!(usize::from(d.ipv6_ext_count), exts.len());
                    assert_eq!(df.counters().reassembled, 1);
                }
            }
        }
    }

    #[test]
    fn keys_do_not_mix() {
        let a = udp(1, 1, &bytes(40, 4));
        let b = udp(2, 2, &bytes(40, 5));
        let mut df = Defrag::new(DefragConfig::default());
        // Same id, different protocol (IPv4 key includes it); different ids.
        assert!(push(&mut df, 0, &v4(7, 17, 0, true, &a[..24])).is_none());
        assert!(push(&mut df, 0, &v4(7, 200, 24, false, &b[24..])).is_none());
        assert!(push(&mut df, 0, &v4(8, 17, 24, false, &b[24..])).is_none());
        // Same id, another source.
        let mut other = v4(7, 17, 24, false, &b[24..]);
        other[12] = 99;
        assert!(push(&mut df, 0, &other).is_none());
        assert_eq!(df.pending(), 4);
        let pkt = push(&mut df, 0, &v4(7, 17, 24, false, &a[24..])).expect("a");
        check_udp(&pkt, 4, 1, 1, &a[8..]);
        // VLAN is part of the key.
        let mut df = Defrag::new(DefragConfig::default());
        let f1 = v4(3, 17, 0, true, &a[..24]);
        let mut d1 = dec(linktype::IPV4, &f1);
        d1.vlan_id = 10;
        assert!(df.push(0, &d1, &f1).is_none());
        let f2 = v4(3, 17, 24, false, &a[24..]);
        let d2 = dec(linktype::IPV4, &f2);
        assert!(df.push(0, &d2, &f2).is_none());
        assert_eq!(df.pending(), 2);
        // v6: protocol not in the key.
        let mut df = Defrag::new(DefragConfig::default());
        assert!(push(&mut df, 0, &v6(&[], 17, 1, 0, true, &a[..24])).is_none());
        let pkt = push(&mut df, 0, &v6(&[], 99, 1, 24, false, &a[24..])).expect("v6");
        check_udp(&pkt, 6, 1, 1, &a[8..]); // next header from the offset-0 fragment
    }

    #[test]
    fn duplicates_complete_once() {
        let dgram = udp(1, 2, &bytes(200, 6));
        let frags = cut(&dgram, &[64, 128]);
        let mut df = Defrag::new(DefragConfig::default());
        for (off, more, chunk) in &frags[..2] {
            assert!(push(&mut df, 0, &v4(1, 17, *off, *more, chunk)).is_none());
            assert!(push(&mut df, 0, &v4(1, 17, *off, *more, chunk)).is_none());
        }
        let (off, more, chunk) = &frags[2];
        assert!(push(&mut df, 0, &v4(1, 17, *off, *more, chunk)).is_some());
        // A late duplicate starts a new (never completed) datagram.
        assert!(push(&mut df, 0, &v4(1, 17, *off, *more, chunk)).is_none());
        let c = df.counters();
        assert_eq!(
            (
                c.reassembled,
                c.overlaps,
                c.duplicates,
                c.conflicting_overlaps
            ),
            (1, 2, 2, 0)
        );
        assert_eq!(df.pending(), 1);
        check(&df);
    }

    #[test]
    fn overlap_policies() {
        // Data [0,48): A = [0,32) "a", B = [16,48) "b" overlapping [16,32).
        let base = udp(7, 8, &[b'x'; 40]); // 48 bytes
        let mut a = base[..32].to_vec();
        a[8..].fill(b'a');
        let mut b = base[16..48].to_vec();
        b.fill(b'b');
        for (policy, expect_mid) in [(Overlap::First, b'a'), (Overlap::Last, b'b')] {
            let cfg = DefragConfig {
                overlap: policy,
                ..DefragConfig::default()
            };
            let mut df = Defrag::new(cfg);
            assert!(push(&mut df, 0, &v4(5, 17, 0, true, &a)).is_none());
            let pkt = push(&mut df, 0, &v4(5, 17, 16, false, &b)).expect("complete");
            let d = check_udp(&pkt, 4, 7, 8, &pkt[28..]);
            assert_eq!(d.payload_len, 40);
            assert!(pkt[28..20 + 16].iter().all(|&x| x == b'a'));
            assert!(
                pkt[20 + 16..20 + 32].iter().all(|&x| x == expect_mid),
                "{policy:?}"
            );
            assert!(pkt[20 + 32..].iter().all(|&x| x == b'b'));
            let c = df.counters();
            assert_eq!(
                (c.overlaps, c.conflicting_overlaps, c.duplicates),
                (1, 1, 0)
            );
        }
        // Reverse arrival: B first, then A.
        for (policy, expect_mid) in [(Overlap::First, b'b'), (Overlap::Last, b'a')] {
            let mut df = Defrag::new(DefragConfig {
                overlap: policy,
                ..DefragConfig::default()
            });
            assert!(push(&mut df, 0, &v4(5, 17, 16, false, &b)).is_none());
            let pkt = push(&mut df, 0, &v4(5, 17, 0, true, &a)).expect("complete");
            assert!(
                pkt[20 + 16..20 + 32].iter().all(|&x| x == expect_mid),
                "{policy:?}"
            );
        }
    }

    #[test]
    fn offset_zero_rewrite_attack() {
        // RFC 1858: a second offset-0 fragment tries to change the ports.
        let dgram = udp(1111, 80, &bytes(56, 7));
        let evil = udp(2222, 22, &bytes(8, 8));
        for (policy, sp) in [(Overlap::First, 1111), (Overlap::Last, 2222)] {
            let mut df = Defrag::new(DefragConfig {
                overlap: policy,
                ..DefragConfig::default()
            });
            assert!(push(&mut df, 0, &v4(9, 17, 0, true, &dgram[..32])).is_none());
            assert!(push(&mut df, 0, &v4(9, 17, 0, true, &evil)).is_none());
            let pkt = push(&mut df, 0, &v4(9, 17, 32, false, &dgram[32..])).expect("complete");
            let mut d = Decoded::default();
            decode_ip(&pkt, 0, &mut d);
            assert_eq!(d.src_port, sp, "{policy:?}");
            assert_eq!(df.counters().conflicting_overlaps, 1);
        }
        // Tiny first fragment (8 bytes), rest overlapping from offset 8 with new data.
        let mut df = Defrag::new(DefragConfig::default());
        assert!(push(&mut df, 0, &v4(10, 6, 0, true, &dgram[..8])).is_none());
        assert!(push(&mut df, 0, &v4(10, 6, 8, true, &dgram[8..16])).is_none());
        let mut rewrite = dgram[8..].to_vec();
        rewrite[0] = 0xff;
        let pkt = push(&mut df, 0, &v4(10, 6, 8, false, &rewrite)).expect("complete");
        assert_eq!(pkt[28], dgram[8], "first copy kept");
        assert_eq!(df.counters().conflicting_overlaps, 1);
    }

    #[test]
    fn teardrop() {
        let dgram = udp(1, 2, &bytes(64, 9)); // 72 bytes
                                              // Classic teardrop: [0,40) MF, then a last fragment [24,28) inside it: the end is
                                              // before received data: bad, the datagram is dropped.
        let mut df = Defrag::new(DefragConfig::default());
        assert!(push(&mut df, 0, &v4(1, 17, 0, true, &dgram[..40])).is_none());
        assert!(push(&mut df, 0, &v4(1, 17, 24, false, &dgram[24..28])).is_none());
        assert_eq!(df.counters().bad, 1);
        assert_eq!(df.pending(), 0);
        check(&df);
        // Nested and straddling overlaps, then completion with first-copy data.
        let mut df = Defrag::new(DefragConfig::default());
        assert!(push(&mut df, 0, &v4(2, 17, 0, true, &dgram[..40])).is_none());
        assert!(push(&mut df, 0, &v4(2, 17, 8, true, &[0u8; 8])).is_none()); // nested
        assert!(push(&mut df, 0, &v4(2, 17, 32, true, &[0u8; 24])).is_none()); // straddles
        let pkt = push(&mut df, 0, &v4(2, 17, 56, false, &dgram[56..])).expect("complete");
        assert_eq!(
            &pkt[20..20 + 56],
            &{
                let mut e = dgram[..56].to_vec();
                e[40..56].fill(0);
                e
            }[..]
        );
        let c = df.counters();
        assert_eq!((c.overlaps, c.conflicting_overlaps), (2, 2));
        // Two last fragments with different ends; a non-last fragment past the end.
        let mut df = Defrag::new(DefragConfig::default());
        assert!(push(&mut df, 0, &v4(3, 17, 32, false, &dgram[32..])).is_none());
        assert!(push(&mut df, 0, &v4(3, 17, 32, false, &dgram[32..64])).is_none());
        assert_eq!((df.counters().bad, df.pending()), (1, 0));
        assert!(push(&mut df, 0, &v4(4, 17, 32, false, &dgram[32..])).is_none());
        assert!(push(&mut df, 0, &v4(4, 17, 64, true, &[0u8; 16])).is_none());
        assert_eq!((df.counters().bad, df.pending()), (2, 0));
    }

    #[test]
    fn malformed_fragments() {
        let mut df = Defrag::new(DefragConfig::default());
        // Non-last fragment of a length not a multiple of 8.
        assert!(push(&mut df, 0, &v4(1, 17, 0, true, &[0u8; 13])).is_none());
        // Empty fragment.
        assert!(push(&mut df, 0, &v4(1, 17, 8, true, &[])).is_none());
        // Not a fragment at all.
        assert!(push(&mut df, 0, &v4(1, 17, 0, false, &[0u8; 16])).is_none());
        assert_eq!(df.counters().bad, 3);
        // Snaplen cut: the fragment is not all there.
        let f = v4(1, 17, 0, true, &[0u8; 64]);
        let mut d = Decoded::default();
        decode(linktype::IPV4, &f[..50], f.len() as u32, &mut d);
        assert!(df.push(0, &d, &f[..50]).is_none());
        assert_eq!(df.counters().truncated, 1);
        // Garbage and out-of-range offsets in `Decoded`.
        let mut d = Decoded {
            l3_offset: u32::MAX,
            ..Decoded::default()
        };
        assert!(df.push(0, &d, &f).is_none());
        d.l3_offset = 3;
        assert!(df.push(0, &d, &f).is_none());
        assert!(df.push(0, &Decoded::default(), &[]).is_none());
        // IPv6 without a fragment header, or with one behind an unsupported header.
        let p = v6(&[(51, 1)], 17, 1, 0, true, &[0u8; 16]);
        assert!(push(&mut df, 0, &p).is_none());
        assert_eq!(df.pending(), 0);
        check(&df);
    }

    #[test]
    fn too_big() {
        let mut df = Defrag::new(DefragConfig::default());
        // IPv4: offset 65528 + 16 bytes + 20 header > 65535 (ping of death).
        assert!(push(&mut df, 0, &v4(1, 17, 0, true, &[0u8; 64])).is_none());
        assert!(push(&mut df, 0, &v4(1, 17, 65528, false, &[0u8; 16])).is_none());
        assert_eq!(df.counters().too_big, 1);
        assert_eq!(df.pending(), 0, "the datagram is dropped");
        // Exactly 65535: allowed.
        let dgram = udp(1, 2, &vec![7u8; 65535 - 20 - 8]);
        let mut df = Defrag::new(DefragConfig::default());
        let mut got = None;
        for (off, more, chunk) in cut(&dgram, &(1..45).map(|k| k * 1480).collect::<Vec<_>>()) {
            got = push(&mut df, 0, &v4(2, 17, off, more, &chunk));
        }
        let pkt = got.expect("65535-byte packet");
        assert_eq!(pkt.len(), 65535);
        check_udp(&pkt, 4, 1, 2, &dgram[8..]);
        // IPv6: payload 65535 allowed (offset 65528 + 7 ... ), beyond is too big.
        let mut df = Defrag::new(DefragConfig::default());
        assert!(push(&mut df, 0, &v6(&[], 17, 1, 65528, false, &[0u8; 16])).is_none());
        assert_eq!(df.counters().too_big, 1);
        // max_datagram smaller than the protocol limit.
        let mut df = Defrag::new(DefragConfig {
            max_datagram: 1000,
            ..DefragConfig::default()
        });
        assert!(push(&mut df, 0, &v4(3, 17, 976, false, &[0u8; 8])).is_none());
        assert_eq!(df.counters().too_big, 1);
        assert!(push(&mut df, 0, &v4(3, 17, 968, false, &[0u8; 8])).is_none());
        assert_eq!(df.counters().too_big, 1);
        assert_eq!(df.pending(), 1);
    }

    #[test]
    fn timeout() {
        let dgram = udp(1, 2, &bytes(100, 10));
        let frags = cut(&dgram, &[56]);
        let s = 1_000_000_000i64;
        let mut df = Defrag::new(DefragConfig::default());
        assert!(push(&mut df, 0, &v4(1, 17, frags[0].0, true, &frags[0].2)).is_none());
        assert!(push(&mut df, 10 * s, &v4(2, 17, frags[0].0, true, &frags[0].2)).is_none());
        assert_eq!(df.expire(30 * s), 0, "exactly the timeout: alive");
        assert_eq!(df.expire(30 * s + 1), 1);
        assert_eq!(df.pending(), 1);
        assert_eq!(df.expire(i64::MAX), 1);
        assert_eq!(df.expire(i64::MIN), 0);
        assert_eq!(df.counters().timed_out, 2);
        check(&df);
        // A fragment arriving too late for its datagram starts a new one.
        assert!(push(&mut df, 100 * s, &v4(3, 17, frags[0].0, true, &frags[0].2)).is_none());
        assert!(push(&mut df, 131 * s, &v4(3, 17, frags[1].0, false, &frags[1].2)).is_none());
        assert_eq!((df.counters().timed_out, df.pending()), (3, 1));
        // In time: completes.
        let pkt = push(&mut df, 140 * s, &v4(3, 17, frags[0].0, true, &frags[0].2));
        assert!(pkt.is_some());
        // Clock going backwards does not expire anything.
        assert!(push(&mut df, 200 * s, &v4(4, 17, 0, true, &frags[0].2)).is_none());
        assert_eq!(df.expire(0), 0);
        assert_eq!(df.pending(), 1);
    }

    #[test]
    fn memory_bound_drops_oldest() {
        let cfg = DefragConfig {
            max_bytes: 64 << 10,
            ..DefragConfig::default()
        };
        let mut df = Defrag::new(cfg);
        let dgram = udp(1, 2, &bytes(2000, 11));
        let frags = cut(&dgram, &[1480]);
        for id in 0..1000u16 {
            assert!(push(&mut df, i64::from(id), &v4(id, 17, 0, true, &frags[0].2)).is_none());
            check(&df);
            assert!(df.buffered_bytes() <= 64 << 10);
        }
        let c = df.counters();
        assert!(c.dropped_over_memory > 900, "{c:?}");
        assert!(df.pending() > 10 && df.pending() < 64, "{}", df.pending());
        // The newest completes; the oldest was dropped.
        assert!(push(&mut df, 2000, &v4(999, 17, 1480, false, &frags[1].2)).is_some());
        assert!(push(&mut df, 2000, &v4(0, 17, 1480, false, &frags[1].2)).is_none());
        assert!(df.memory_bytes() <= (64 << 10) + (4 << 10) + IP_MAX + 40);
        // Far offsets are charged for the hole too (no 8-byte fragment pins 64 KiB free).
        let mut df = Defrag::new(DefragConfig {
            max_bytes: 1 << 20,
            ..DefragConfig::default()
        });
        for id in 0..1000u16 {
            let _ = push(&mut df, 0, &v4(id, 17, 65000, true, &[0u8; 8]));
        }
        check(&df);
        assert!(df.pending() <= (1 << 20) / 65008);
        // A budget too small for even one datagram: everything is dropped, nothing breaks.
        let mut df = Defrag::new(DefragConfig {
            max_bytes: 100,
            ..DefragConfig::default()
        });
        assert!(push(&mut df, 0, &v4(1, 17, 0, true, &frags[0].2)).is_none());
        assert_eq!((df.pending(), df.counters().dropped_over_memory), (0, 1));
        check(&df);
    }

    #[test]
    fn steady_state_reuses_buffers() {
        let mut df = Defrag::new(DefragConfig::default());
        let dgram = udp(1, 2, &bytes(3000, 12));
        let frags = cut(&dgram, &[1480, 2960]);
        let mut mem = Vec::new();
        for id in 0..50u16 {
            for (off, more, chunk) in &frags {
                let _ = push(&mut df, 0, &v4(id, 17, *off, *more, chunk));
            }
            mem.push((df.slots.len(), df.retained, df.out.capacity()));
        }
        assert_eq!(df.counters().reassembled, 50);
        assert_eq!(df.slots.len(), 1, "one slot reused");
        assert!(mem.windows(2).skip(1).all(|w| w[0] == w[1]), "{mem:?}");
    }

    #[test]
    fn fuzz_fields_no_panic_bounded() {
        let mut r = Rng(0xfeed);
        for round in 0..40 {
            let cfg = DefragConfig {
                max_bytes: [1usize << 10, 64 << 10, 1 << 20][round % 3],
                timeout_ns: r.below(1000) as i64,
                max_datagram: [IP_MAX + 40, 1500, 20][round % 3],
                overlap: if round % 2 == 0 {
                    Overlap::First
                } else {
                    Overlap::Last
                },
            };
            let mut df = Defrag::new(cfg);
            let mut ts = 0i64;
            for _ in 0..1500 {
                ts += r.below(20) as i64 - 3;
                let id = r.below(4) as u16;
                let off = if r.below(4) == 0 {
                    r.below(8192) as usize * 8
                } else {
                    r.below(64) as usize * 8
                };
                let len = match r.below(5) {
                    0 => r.below(20) as usize,
                    1 => r.below(3000) as usize,
                    _ => 8 * r.below(20) as usize,
                };
                let more = r.below(3) != 0;
                let chunk = bytes(len, r.next());
                let mut f = if r.below(2) == 0 {
                    v4(id, [17u8, 6][r.below(2) as usize], off, more, &chunk)
                } else {
                    let exts: &[(u8, u8)] =
                        [&[][..], &[(0, 0)][..], &[(60, 1), (43, 0)][..]][r.below(3) as usize];
                    v6(exts, 17, u32::from(id), off, more, &chunk)
                };
                // Mutations.
                for _ in 0..r.below(3) {
                    let i = r.below(f.len() as u64) as usize;
                    f[i] = r.next() as u8;
                }
                if r.below(10) == 0 {
                    let n = r.below(f.len() as u64 + 1) as usize;
                    f.truncate(n);
                }
                let lt = if f.first().is_some_and(|b| b >> 4 == 6) {
                    linktype::IPV6
                } else {
                    linktype::IPV4
                };
                let mut d = Decoded::default();
                decode(lt, &f, f.len() as u32 + r.below(2) as u32, &mut d);
                if r.below(20) == 0 {
                    d.l3_offset = r.next() as u32 % 64;
                }
                if let Some(pkt) = df.push(ts, &d, &f) {
                    assert!(pkt.len() <= cfg.max_datagram.min(IP_MAX + 40));
                    let mut dd = Decoded::default();
                    decode_ip(pkt, 0, &mut dd);
                    assert!(!dd.has_anomaly(anomaly::FRAGMENT), "{dd:?}");
                }
                if r.below(50) == 0 {
                    df.expire(ts);
                }
                check(&df);
                assert!(df.memory_bytes() <= cfg.max_bytes + cfg.max_bytes / 16 + IP_MAX + 40);
            }
            df.clear();
            check(&df);
            assert_eq!(df.buffered_bytes(), 0);
        }
    }

    // ---- shared captures ----------------------------------------------------------

    /// Frames (ts_ns, wire_len, bytes) and link type of a classic pcap file.
    type Frames = Vec<(i64, u32, Vec<u8>)>;

    fn read_pcap(path: &std::path::Path) -> Option<(u32, Frames)> {
        let b = std::fs::read(path).ok()?;
        let magic = b.get(..4)?;
        let (le, nanos) = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
            [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
            [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
            _ => return None,
        };
        let u32_at = |o: usize| -> Option<u32> {
            let s: [u8; 4] = b.get(o..o + 4)?.try_into().ok()?;
            Some(if le {
                u32::from_le_bytes(s)
            } else {
                u32::from_be_bytes(s)
            })
        };
        let lt = u32_at(20)? & 0xffff;
        let mut frames = Vec::new();
        let mut o = 24;
        while o + 16 <= b.len() {
            let (sec, frac, cap, wire) =
                (u32_at(o)?, u32_at(o + 4)?, u32_at(o + 8)?, u32_at(o + 12)?);
            let data = b.get(o + 16..o + 16 + cap as usize)?;
            let ts =
                i64::from(sec) * 1_000_000_000 + i64::from(frac) * if nanos { 1 } else { 1000 };
            frames.push((ts, wire, data.to_vec()));
            o += 16 + cap as usize;
        }
        Some((lt, frames))
    }

    fn loud(msg: &str) {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "{msg}");
    }

    #[test]
    fn shared_fragmented_captures() {
        let dir = match std::env::var_os("JJ_SHARED_PCAPS_DIR") {
            Some(d) => std::path::PathBuf::from(d),
            None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/pcaps"),
        };
        if !dir.is_dir() {
            loud("==================================================================");
            loud(&format!(
                "SKIPPED: shared pcaps not found (looked for {})",
                dir.display()
            ));
            loud("==================================================================");
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("shared captures missing under CI=true: {}", dir.display());
            }
            return;
        }
        // (file, fragments, datagrams reassembled, of which TCP/UDP with ports, pending at
        // the end). The IPv6 capture has an orphan last fragment (id 1) whose first part
        // was never captured; fragmented-4 is TCP with an overlapping (conflicting) piece.
        let expect = [
            ("zeek_ipv6-fragmented-dns.pcap", 4u64, 1u64, 1u64, 1usize),
            ("ndpi_dns_fragmented.pcap", 14, 7, 7, 0),
            ("zeek_fragmented-4.pcap", 4, 1, 1, 0),
        ];
        for (name, want_frags, want_done, want_ports, want_pending) in expect {
            let path = dir.join(name);
            let (lt, frames) =
                read_pcap(&path).unwrap_or_else(|| panic!("cannot read {}", path.display()));
            let mut df = Defrag::new(DefragConfig::default());
            let (mut frags, mut done, mut ports) = (0u64, 0u64, 0u64);
            let mut d = Decoded::default();
            for (ts, wire, f) in &frames {
                decode(lt, f, *wire, &mut d);
                df.expire(*ts);
                if !d.has_anomaly(anomaly::FRAGMENT) {
                    continue;
                }
                frags += 1;
                if let Some(pkt) = df.push(*ts, &d, f) {
                    let mut dd = Decoded::default();
                    decode_ip(pkt, 0, &mut dd);
                    assert!(!dd.has_anomaly(anomaly::FRAGMENT), "{name}: {dd:?}");
                    assert_eq!(dd.ip_version, d.ip_version);
                    assert_eq!(dd.ip_total_len as usize, pkt.len());
                    done += 1;
                    if matches!(dd.protocol, 6 | 17) && dd.src_port != 0 && dd.dst_port != 0 {
                        ports += 1;
                    }
                }
                check(&df);
            }
            let c = df.counters();
            loud(&format!(
                "{name}: {} frames, {frags} fragments, {done} datagrams reassembled \
                 ({ports} with ports), pending {}, {c:?}",
                frames.len(),
                df.pending()
            ));
            assert_eq!(
                (frags, done, ports, df.pending()),
                (want_frags, want_done, want_ports, want_pending),
                "{name}"
            );
            assert_eq!(c.bad + c.truncated + c.too_big, 0, "{name}: {c:?}");
        }
    }
}
