//! Per-direction TCP stream reassembly.
//!
//! A [`TcpStream`] turns the segments of one direction of a connection, in capture order,
//! into the contiguous in-order byte stream the sender wrote, keeping at most `limit`
//! bytes of it and buffering at most `ooo_limit` bytes of out-of-order data.
//!
//! # Stream start
//! * A SYN sets the initial sequence number: the stream starts at ISN + 1 (payload carried
//!   by the SYN itself, as in TCP Fast Open, starts there too).
//! * Without a SYN, the first segment carrying data starts the stream at its sequence
//!   number (mid-stream pickup). Zero-length segments without SYN do not start it.
//! * Once started, the start never moves: a later SYN (retransmitted, or arriving after
//!   data because of capture reordering) is ignored, and data before the start is counted
//!   in [`StreamCounters::before_start_bytes`] and discarded.
//!
//! Sequence numbers are compared modulo 2^32 against the next expected sequence number
//! (RFC 1982 style: a segment up to 2^31 - 1 ahead is "ahead", anything else "behind"),
//! so a stream may cross the 2^32 wrap freely.
//!
//! # Overlaps
//! The first copy of every byte is kept (Suricata's "first" policy), whether it is in the
//! in-order prefix or in the out-of-order buffer. Bytes offered again are compared with
//! the kept copy: a segment carrying only already-held bytes is a retransmission
//! ([`StreamCounters::retransmitted_bytes`]); one that also carries new bytes adds its
//! re-sent part to [`StreamCounters::overlap_bytes`]. Differing bytes are counted in
//! [`StreamCounters::conflicting_bytes`] (and the segment once in `conflicting_segments`).
//!
//! # Out of order
//! Bytes beyond a hole are buffered (at most `ooo_limit` bytes and [`MAX_OOO_SEGMENTS`]
//! pieces). A piece that does not fit is dropped and counted. When the hole fills, every
//! contiguous buffered piece is appended to the in-order prefix at once.
//!
//! # Limit
//! Only stream offsets `< limit` are kept. A segment carrying any byte at an offset
//! `>= limit` sets [`TcpStream::truncated`]. Once `limit` in-order bytes are held a
//! segment costs a few integer operations (no copies, no counting).
//!
//! # Gap
//! [`TcpStream::gap`] is true when, at query time, the sender is known to have sent
//! stream bytes (within the first `limit`) that are not in [`TcpStream::bytes`]: the
//! highest known stream end — the end of any data segment offered (buffered, dropped or
//! kept), or the position of a FIN — clipped to `limit`, lies beyond `bytes().len()`.
//! In other words a missing segment stopped progress and was never filled. It becomes
//! false again if the hole is filled later. Zero-length segments other than FIN are not
//! taken as evidence (keep-alives and RSTs carry odd sequence numbers).
//!
//! # Framing
//! [`TcpStream::apply_framing`] after every [`TcpStream::push`], with a [`StreamFraming`]
//! (the extractors' declaration of how they read the stream: length-prefixed records),
//! walks the record headers of the in-order prefix as it grows. At the first header that
//! fails the framing's checks (or at offset 0, a stream that does not start with a valid
//! header) the stream is *cut*: the prefix ends where that record starts, the
//! out-of-order buffer is freed, and every later segment of the direction costs a flag
//! test (nothing is copied or counted any more). A cut stream has no [`TcpStream::gap`].
//!
//! # Memory
//! The in-order buffer's capacity stays ≤ `limit` (grown geometrically but capped), the
//! out-of-order arena's ≤ `ooo_limit`, plus at most [`MAX_OOO_SEGMENTS`] 12-byte
//! descriptors ([`TcpStream::memory_bytes`]). [`TcpStream::new`] allocates nothing;
//! [`TcpStream::reset`] keeps the buffers for reuse (so after a reset the capacities are
//! bounded by the largest limits used since creation). No allocation happens in steady
//! state once the buffers have grown.
#![forbid(unsafe_code)]

use jj_plugin_api::StreamFraming;

/// Most out-of-order pieces buffered at once (bounds the descriptor vector whatever the
/// segment sizes; beyond it pieces are dropped and counted).
pub const MAX_OOO_SEGMENTS: usize = 1024;

/// What happened to a stream's segments. All byte counts are stream bytes at offsets
/// below `limit` (bytes beyond `limit` are never compared or counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamCounters {
    /// Bytes of segments that brought nothing new (every byte already held).
    pub retransmitted_bytes: u64,
    /// Already-held bytes re-sent by segments that also brought new bytes.
    pub overlap_bytes: u64,
    /// Re-sent bytes (retransmitted or overlapping) that differ from the kept first copy.
    pub conflicting_bytes: u64,
    /// Segments with at least one conflicting byte.
    pub conflicting_segments: u64,
    /// Segments that arrived beyond a hole (their new bytes buffered or dropped).
    pub ooo_segments: u64,
    /// Segments with at least one piece dropped (over `ooo_limit` or
    /// [`MAX_OOO_SEGMENTS`]).
    pub dropped_segments: u64,
    /// Bytes of those dropped pieces.
    pub dropped_bytes: u64,
    /// Bytes before the stream start (old retransmissions after a mid-stream pickup,
    /// data before ISN + 1): discarded.
    pub before_start_bytes: u64,
}

/// One buffered out-of-order piece: stream offsets `[start, start + len)`, bytes at
/// `arena[at..at + len]`.
#[derive(Clone, Copy, Debug)]
struct Seg {
    start: u32,
    len: u32,
    at: u32,
}

impl Seg {
    #[inline]
    fn end(self) -> u64 {
        u64::from(self.start) + u64::from(self.len)
    }
}

/// One direction of a TCP connection, reassembled. See the module documentation.
#[derive(Clone, Debug, Default)]
pub struct TcpStream {
    started: bool,
    syn_seen: bool,
    fin_seen: bool,
    truncated: bool,
    /// Sequence number of stream offset 0.
    base: u32,
    /// The in-order prefix (`len <= limit`).
    buf: Vec<u8>,
    /// Out-of-order pieces sorted by `start`, disjoint, all starting beyond `buf.len()`.
    segs: Vec<Seg>,
    /// Their bytes (plus garbage left by partial merges, compacted lazily).
    arena: Vec<u8>,
    /// Sum of `segs[..].len`.
    live: u64,
    /// Highest stream end known to have been sent, clipped to `limit`.
    known_end: u64,
    c: StreamCounters,
    /// Framing: the stream was cut (see the module documentation).
    cut: bool,
    /// Framing: stream offset of the next record header to check.
    next_record: u64,
}

impl TcpStream {
    /// An empty stream. Allocates nothing.
    pub fn new() -> Self {
        TcpStream::default()
    }

    /// Forget everything (for a new flow) but keep the buffers' capacity.
    pub fn reset(&mut self) {
        self.started = false;
        self.syn_seen = false;
        self.fin_seen = false;
        self.truncated = false;
        self.base = 0;
        self.buf.clear();
        self.segs.clear();
        self.arena.clear();
        self.live = 0;
        self.known_end = 0;
        self.c = StreamCounters::default();
        self.cut = false;
        self.next_record = 0;
    }

    /// Checks the record headers the in-order prefix now holds and cuts the stream at a
    /// failing one (module documentation, "Framing"). Call it after every
    /// [`TcpStream::push`] of a framed stream, always with the same framing.
    pub fn apply_framing(&mut self, f: &StreamFraming) {
        let header_len = u64::from(f.header_len);
        while self.next_record + header_len <= self.buf.len() as u64 {
            let at = self.next_record as usize;
            let header = &self.buf[at..at + usize::from(f.header_len)];
            match f.record_len(header) {
                Some(len) => self.next_record += len,
                None => {
                    self.buf.truncate(at);
                    self.segs.clear();
                    self.arena.clear();
                    self.live = 0;
                    self.cut = true;
                    return;
                }
            }
        }
    }

    /// Offer one segment of this direction: its sequence number, SYN and FIN flags and
    /// TCP payload (captured bytes only). `limit`: bytes of in-order stream to keep;
    /// `ooo_limit`: bytes of out-of-order data to buffer (use the same values for the
    /// whole stream). Never panics. A stream cut by [`TcpStream::apply_framing`] takes
    /// nothing more.
    pub fn push(
        &mut self,
        seq: u32,
        syn: bool,
        fin: bool,
        payload: &[u8],
        limit: u32,
        ooo_limit: u32,
    ) {
        if self.cut {
            return;
        }
        let mut data_seq = seq;
        if syn {
            data_seq = seq.wrapping_add(1);
            if !self.started {
                self.started = true;
                self.syn_seen = true;
                self.base = data_seq;
            }
        }
        if !self.started {
            if payload.is_empty() {
                return;
            }
            self.started = true;
            self.base = seq;
        }
        let limit = u64::from(limit);
        let held = self.buf.len() as u64;
        let next = self.base.wrapping_add(held as u32);
        // Offset of the segment's first byte relative to the stream start.
        let rel = held as i64 + i64::from(data_seq.wrapping_sub(next) as i32);
        let plen = i64::try_from(payload.len()).unwrap_or(i64::MAX);
        let rel_end = rel.saturating_add(plen);
        if fin {
            self.fin_seen = true;
            self.note_end(rel_end, limit);
        }
        if payload.is_empty() {
            return;
        }
        if rel_end > limit as i64 {
            self.truncated = true;
        }
        self.note_end(rel_end, limit);
        if held >= limit {
            return; // Full: nothing more is kept.
        }
        if rel < 0 {
            let before = (-rel).min(plen);
            self.c.before_start_bytes += before as u64;
        }
        // The part of the payload to consider: stream offsets [s, e).
        let s = rel.max(0) as u64;
        let e = (rel_end.max(0) as u64).min(limit);
        if s >= e {
            return;
        }
        // Fast path: in order, nothing buffered.
        if s == held && self.segs.is_empty() {
            let from = (s as i64 - rel) as usize;
            let to = (e as i64 - rel) as usize;
            if let Some(part) = payload.get(from..to) {
                append_capped(&mut self.buf, part, limit);
            }
            return;
        }
        self.slow(payload, rel, s, e, limit, u64::from(ooo_limit));
    }

    fn note_end(&mut self, rel_end: i64, limit: u64) {
        if rel_end > 0 {
            let end = (rel_end as u64).min(limit);
            if end > self.known_end {
                self.known_end = end;
            }
        }
    }

    /// The general case: overlaps with held data, out-of-order pieces, hole filling.
    fn slow(&mut self, payload: &[u8], rel: i64, s: u64, e: u64, limit: u64, ooo_limit: u64) {
        // Payload bytes for stream offsets [a, b).
        let part = |a: u64, b: u64| -> &[u8] {
            let from = (a as i64 - rel) as usize;
            let to = (b as i64 - rel) as usize;
            payload.get(from..to).unwrap_or(&[])
        };
        let mut old = 0u64;
        let mut new = 0u64;
        let mut conflicts = 0u64;
        let mut ooo = false;
        let mut dropped = false;
        let mut cur = s;
        while cur < e {
            let held = self.buf.len() as u64;
            if cur < held {
                let oe = e.min(held);
                let kept = self.buf.get(cur as usize..oe as usize).unwrap_or(&[]);
                conflicts += count_diff(kept, part(cur, oe));
                old += oe - cur;
                cur = oe;
                continue;
            }
            let i = self.segs.partition_point(|g| g.end() <= cur);
            let next_start = match self.segs.get(i) {
                Some(g) if u64::from(g.start) <= cur => {
                    let oe = e.min(g.end());
                    let at = u64::from(g.at) + (cur - u64::from(g.start));
                    let len = oe - cur;
                    let kept = self
                        .arena
                        .get(at as usize..(at + len) as usize)
                        .unwrap_or(&[]);
                    conflicts += count_diff(kept, part(cur, oe));
                    old += len;
                    cur = oe;
                    continue;
                }
                Some(g) => u64::from(g.start),
                None => u64::MAX,
            };
            let pe = e.min(next_start);
            let bytes = part(cur, pe);
            if cur == held {
                append_capped(&mut self.buf, bytes, limit);
                new += pe - cur;
                self.merge(limit);
            } else {
                ooo = true;
                let n = pe - cur;
                if self.segs.len() < MAX_OOO_SEGMENTS && self.live + n <= ooo_limit {
                    self.insert(i, cur, bytes, ooo_limit);
                    new += n;
                } else {
                    dropped = true;
                    self.c.dropped_bytes += n;
                }
            }
            cur = pe;
        }
        if old > 0 {
            if new == 0 && !dropped {
                self.c.retransmitted_bytes += old;
            } else {
                self.c.overlap_bytes += old;
            }
        }
        if conflicts > 0 {
            self.c.conflicting_bytes += conflicts;
            self.c.conflicting_segments += 1;
        }
        if ooo {
            self.c.ooo_segments += 1;
        }
        if dropped {
            self.c.dropped_segments += 1;
        }
    }

    /// Buffer `bytes` at stream offset `start` as `segs[i]` (budget already checked).
    fn insert(&mut self, i: usize, start: u64, bytes: &[u8], ooo_limit: u64) {
        let n = bytes.len() as u64;
        if self.arena.len() as u64 + n > ooo_limit {
            self.compact();
        }
        let at = self.arena.len();
        append_capped(&mut self.arena, bytes, ooo_limit);
        if self.arena.len() != at + bytes.len() {
            // Cannot happen (the budget was checked); never lose track of bytes.
            self.arena.truncate(at);
            return;
        }
        let (Ok(start), Ok(len), Ok(at)) =
            (u32::try_from(start), u32::try_from(n), u32::try_from(at))
        else {
            self.arena.truncate(at);
            return;
        };
        let i = i.min(self.segs.len());
        self.segs.insert(i, Seg { start, len, at });
        self.live += n;
    }

    /// Move every buffered piece that now continues the in-order prefix into it.
    fn merge(&mut self, limit: u64) {
        let mut k = 0;
        while let Some(&g) = self.segs.get(k) {
            if u64::from(g.start) != self.buf.len() as u64 {
                break;
            }
            let at = g.at as usize;
            if let Some(bytes) = self.arena.get(at..at + g.len as usize) {
                append_capped(&mut self.buf, bytes, limit);
            }
            self.live -= u64::from(g.len);
            k += 1;
        }
        if k > 0 {
            self.segs.drain(..k);
            if self.segs.is_empty() {
                self.arena.clear();
                self.live = 0;
            }
        }
    }

    /// Squeeze the garbage out of the arena (in place, no allocation).
    fn compact(&mut self) {
        self.segs.sort_unstable_by_key(|g| g.at);
        let mut w = 0usize;
        for g in self.segs.iter_mut() {
            let at = g.at as usize;
            let len = g.len as usize;
            if at != w && at + len <= self.arena.len() {
                self.arena.copy_within(at..at + len, w);
            }
            g.at = w as u32;
            w += len;
        }
        self.arena.truncate(w);
        self.segs.sort_unstable_by_key(|g| g.start);
    }

    /// The contiguous in-order stream from its start (at most `limit` bytes).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// True when known-sent stream bytes below `limit` are missing from [`bytes`]
    /// (see the module documentation, "Gap").
    ///
    /// [`bytes`]: TcpStream::bytes
    pub fn gap(&self) -> bool {
        !self.cut && self.known_end > self.buf.len() as u64
    }

    /// True when a framing cut the stream (see the module documentation).
    pub fn cut(&self) -> bool {
        self.cut
    }

    /// True when a segment carried bytes at stream offsets `>= limit` (they were
    /// discarded).
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The counters so far.
    pub fn counters(&self) -> StreamCounters {
        self.c
    }

    /// A SYN started this stream (false for a mid-stream pickup or nothing seen).
    pub fn syn_seen(&self) -> bool {
        self.syn_seen
    }

    /// A FIN was seen.
    pub fn fin_seen(&self) -> bool {
        self.fin_seen
    }

    /// Sequence number of the first stream byte, once started.
    pub fn start_seq(&self) -> Option<u32> {
        self.started.then_some(self.base)
    }

    /// Bytes currently held out of order (waiting for a hole to fill).
    pub fn buffered(&self) -> u64 {
        self.live
    }

    /// Heap bytes held (capacities), for accounting and tests.
    pub fn memory_bytes(&self) -> usize {
        self.buf.capacity()
            + self.arena.capacity()
            + self.segs.capacity() * std::mem::size_of::<Seg>()
    }
}

/// Append `bytes` to `v` without letting its capacity grow past `cap` (geometric growth,
/// capped), and never its length past `cap`.
#[inline]
fn append_capped(v: &mut Vec<u8>, bytes: &[u8], cap: u64) {
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    let room = cap.saturating_sub(v.len());
    let bytes = bytes.get(..bytes.len().min(room)).unwrap_or(&[]);
    let need = v.len() + bytes.len();
    if need > v.capacity() {
        let target = need
            .max(v.capacity().saturating_mul(2))
            .max(64)
            .min(cap)
            .max(need);
        v.reserve_exact(target - v.len());
    }
    v.extend_from_slice(bytes);
}

/// Number of positions where `a` and `b` differ (over the shorter length).
#[inline]
fn count_diff(a: &[u8], b: &[u8]) -> u64 {
    a.iter().zip(b).filter(|(x, y)| x != y).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: u32 = 1 << 20;

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

    fn data(n: usize, seed: u64) -> Vec<u8> {
        let mut r = Rng(seed | 1);
        (0..n).map(|_| r.next() as u8).collect()
    }

    /// `d` (the stream after SYN `isn`) cut into segments of up to five random sizes below
    /// `max_seg`, plus up to five duplicates and overlapping re-segmentations of the same
    /// bytes (each up to `max_extra` long), shuffled.
    fn scrambled_segments(
        r: &mut Rng,
        d: &[u8],
        isn: u32,
        max_seg: u64,
        max_extra: u64,
    ) -> Vec<(u32, Vec<u8>)> {
        let n = d.len();
        let sizes: Vec<usize> = (0..5).map(|_| 1 + r.below(max_seg) as usize).collect();
        let mut segs = segment(d, isn.wrapping_add(1), &sizes);
        for _ in 0..r.below(6) {
            let a = r.below(n as u64) as usize;
            let b = (a + 1 + r.below(max_extra) as usize).min(n);
            segs.push((isn.wrapping_add(1 + a as u32), d[a..b].to_vec()));
        }
        // Fisher-Yates.
        for i in (1..segs.len()).rev() {
            let j = r.below(i as u64 + 1) as usize;
            segs.swap(i, j);
        }
        segs
    }

    /// Segments `(seq, payload)` of `d` starting at `start_seq`, of lengths from `sizes`
    /// cycled.
    fn segment(d: &[u8], start_seq: u32, sizes: &[usize]) -> Vec<(u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut off = 0usize;
        let mut k = 0usize;
        while off < d.len() {
            let n = sizes[k % sizes.len()].min(d.len() - off).max(1);
            out.push((start_seq.wrapping_add(off as u32), d[off..off + n].to_vec()));
            off += n;
            k += 1;
        }
        out
    }

    fn check_invariants(s: &TcpStream, limit: u32, ooo_limit: u32) {
        assert!(s.buf.len() <= limit as usize);
        assert!(s.live <= u64::from(ooo_limit));
        assert!(s.arena.len() <= ooo_limit as usize);
        assert!(s.segs.len() <= MAX_OOO_SEGMENTS);
        let mut prev_end = s.buf.len() as u64;
        let mut live = 0u64;
        for (i, g) in s.segs.iter().enumerate() {
            // Strictly beyond the prefix (merged otherwise), sorted, disjoint.
            if i == 0 {
                assert!(u64::from(g.start) > prev_end, "{:?} vs {}", g, prev_end);
            } else {
                assert!(u64::from(g.start) >= prev_end);
            }
            assert!(g.end() <= u64::from(limit));
            assert!(g.at as usize + g.len as usize <= s.arena.len());
            prev_end = g.end();
            live += u64::from(g.len);
        }
        assert_eq!(live, s.live);
    }

    #[test]
    fn new_allocates_nothing() {
        let s = TcpStream::new();
        assert_eq!(s.memory_bytes(), 0);
        assert!(s.bytes().is_empty());
        assert!(!s.gap() && !s.truncated());
        assert_eq!(s.counters(), StreamCounters::default());
        assert_eq!(s.start_seq(), None);
    }

    #[test]
    fn in_order_with_syn() {
        let mut s = TcpStream::new();
        s.push(1000, true, false, &[], BIG, BIG);
        assert_eq!(s.start_seq(), Some(1001));
        assert!(s.syn_seen());
        s.push(1001, false, false, b"hello ", BIG, BIG);
        s.push(1007, false, false, b"world", BIG, BIG);
        s.push(1012, false, true, &[], BIG, BIG);
        assert_eq!(s.bytes(), b"hello world");
        assert!(!s.gap() && !s.truncated() && s.fin_seen());
        assert_eq!(s.counters(), StreamCounters::default());
    }

    #[test]
    fn syn_with_payload_and_fin_with_payload() {
        let mut s = TcpStream::new();
        s.push(7, true, false, b"fast", BIG, BIG); // TFO: data after the SYN's sequence
        s.push(12, false, true, b"open", BIG, BIG);
        assert_eq!(s.bytes(), b"fastopen");
        assert!(!s.gap());
        // A retransmitted SYN with a different ISN changes nothing.
        s.push(500, true, false, &[], BIG, BIG);
        assert_eq!(s.start_seq(), Some(8));
        assert_eq!(s.bytes(), b"fastopen");
    }

    #[test]
    fn mid_stream_pickup() {
        let mut s = TcpStream::new();
        s.push(5000, false, false, &[], BIG, BIG); // pure ACK: does not start
        assert_eq!(s.start_seq(), None);
        s.push(5000, false, false, b"abc", BIG, BIG);
        assert_eq!(s.start_seq(), Some(5000));
        assert!(!s.syn_seen());
        s.push(5003, false, false, b"def", BIG, BIG);
        // Old data from before the pickup: counted, discarded; the overlapping tail is a
        // retransmission of held bytes.
        s.push(4998, false, false, b"xxab", BIG, BIG);
        assert_eq!(s.bytes(), b"abcdef");
        let c = s.counters();
        assert_eq!(c.before_start_bytes, 2);
        assert_eq!(c.retransmitted_bytes, 2);
        // A later SYN does not move the start.
        s.push(10, true, false, &[], BIG, BIG);
        assert_eq!(s.start_seq(), Some(5000));
    }

    #[test]
    fn data_before_isn_is_discarded() {
        let mut s = TcpStream::new();
        s.push(100, true, false, &[], BIG, BIG);
        s.push(99, false, false, b"zzab", BIG, BIG); // seq 99,100 before ISN+1=101
        assert_eq!(s.bytes(), b"ab");
        assert_eq!(s.counters().before_start_bytes, 2);
    }

    #[test]
    fn reordered() {
        let mut s = TcpStream::new();
        s.push(0, true, false, &[], BIG, BIG);
        s.push(7, false, false, b"world", BIG, BIG);
        assert_eq!(s.bytes(), b"");
        assert!(s.gap());
        assert_eq!(s.buffered(), 5);
        s.push(4, false, false, b"lo ", BIG, BIG);
        assert!(s.gap());
        s.push(1, false, false, b"hel", BIG, BIG);
        assert_eq!(s.bytes(), b"hello world");
        assert!(!s.gap());
        assert_eq!(s.buffered(), 0);
        let c = s.counters();
        assert_eq!(c.ooo_segments, 2);
        assert_eq!(
            (c.retransmitted_bytes, c.overlap_bytes, c.dropped_segments),
            (0, 0, 0)
        );
    }

    #[test]
    fn duplicates_are_retransmissions() {
        let mut s = TcpStream::new();
        s.push(0, true, false, &[], BIG, BIG);
        s.push(1, false, false, b"abcd", BIG, BIG);
        s.push(1, false, false, b"abcd", BIG, BIG);
        s.push(9, false, false, b"ijkl", BIG, BIG); // out of order
        s.push(9, false, false, b"ijkl", BIG, BIG); // duplicate of buffered data
        s.push(5, false, false, b"efgh", BIG, BIG);
        assert_eq!(s.bytes(), b"abcdefghijkl");
        let c = s.counters();
        assert_eq!(c.retransmitted_bytes, 8);
        assert_eq!(
            (c.overlap_bytes, c.conflicting_bytes, c.conflicting_segments),
            (0, 0, 0)
        );
        assert_eq!(c.ooo_segments, 1);
    }

    #[test]
    fn overlaps_keep_the_first_copy() {
        let mut s = TcpStream::new();
        s.push(0, true, false, &[], BIG, BIG);
        s.push(1, false, false, b"AAAA", BIG, BIG); // [0,4)
        s.push(3, false, false, b"bbbbCC", BIG, BIG); // [2,8): 2 old (conflicting), 4 new
        assert_eq!(s.bytes(), b"AAAAbbCC");
        let c = s.counters();
        assert_eq!(
            (c.overlap_bytes, c.conflicting_bytes, c.conflicting_segments),
            (2, 2, 1)
        );
        // Against buffered data: [12,16) buffered, then [10,18) over it with other bytes.
        s.push(13, false, false, b"XXXX", BIG, BIG);
        s.push(11, false, false, b"yyzzzzyy", BIG, BIG); // [10,18)
        s.push(9, false, false, b"--", BIG, BIG); // fill [8,10)
        assert_eq!(s.bytes(), b"AAAAbbCC--yyXXXXyy");
        let c = s.counters();
        assert_eq!(c.overlap_bytes, 2 + 4);
        assert_eq!(c.conflicting_bytes, 2 + 4);
        assert_eq!(c.conflicting_segments, 2);
        // A fully conflicting retransmission.
        s.push(1, false, false, b"AAAZ", BIG, BIG);
        let c = s.counters();
        assert_eq!(c.retransmitted_bytes, 4);
        assert_eq!((c.conflicting_bytes, c.conflicting_segments), (7, 3));
        assert!(!s.gap());
    }

    #[test]
    fn segment_spanning_several_holes() {
        let mut s = TcpStream::new();
        s.push(0, true, false, &[], BIG, BIG);
        let d = data(100, 3);
        // Buffer [20,30), [50,60), [80,90).
        for a in [20usize, 50, 80] {
            s.push(1 + a as u32, false, false, &d[a..a + 10], BIG, BIG);
        }
        assert_eq!(s.segs.len(), 3);
        // [10,95) fills the holes between them (a hole remains at [0,10)).
        s.push(11, false, false, &d[10..95], BIG, BIG);
        check_invariants(&s, BIG, BIG);
        assert_eq!(s.bytes().len(), 0);
        assert_eq!(s.buffered(), 85);
        s.push(1, false, false, &d[..10], BIG, BIG);
        assert_eq!(s.bytes(), &d[..95]);
        s.push(96, false, false, &d[95..], BIG, BIG);
        assert_eq!(s.bytes(), &d[..]);
        assert_eq!(s.counters().overlap_bytes, 30);
        assert_eq!(s.counters().conflicting_bytes, 0);
    }

    #[test]
    fn in_order_piece_then_merge_then_more() {
        // buf [0,100), buffered [150,200); a segment [100,300) fills, merges, continues.
        let d = data(300, 9);
        let mut s = TcpStream::new();
        s.push(u32::MAX, true, false, &[], BIG, BIG); // ISN at the top: stream starts at 0
        s.push(0, false, false, &d[..100], BIG, BIG);
        s.push(150, false, false, &d[150..200], BIG, BIG);
        s.push(100, false, false, &d[100..300], BIG, BIG);
        assert_eq!(s.bytes(), &d[..]);
        assert_eq!(s.buffered(), 0);
        assert_eq!(s.counters().overlap_bytes, 50);
        check_invariants(&s, BIG, BIG);
    }

    #[test]
    fn wraparound() {
        let d = data(5000, 11);
        for isn in [u32::MAX - 2000, u32::MAX - 1, u32::MAX, 0u32, 0x7fff_ffff] {
            let segs = segment(&d, isn.wrapping_add(1), &[700, 13, 1460]);
            // In order.
            let mut s = TcpStream::new();
            s.push(isn, true, false, &[], BIG, BIG);
            for (q, p) in &segs {
                s.push(*q, false, false, p, BIG, BIG);
            }
            assert_eq!(s.bytes(), &d[..], "isn {isn}");
            // Reversed.
            let mut s = TcpStream::new();
            s.push(isn, true, false, &[], BIG, BIG);
            for (q, p) in segs.iter().rev() {
                s.push(*q, false, false, p, BIG, BIG);
            }
            assert_eq!(s.bytes(), &d[..], "isn {isn} reversed");
            assert!(!s.gap());
            // Mid-stream pickup across the wrap.
            let mut s = TcpStream::new();
            for (q, p) in &segs {
                s.push(*q, false, false, p, BIG, BIG);
            }
            assert_eq!(s.bytes(), &d[..]);
        }
    }

    #[test]
    fn zero_length_segments() {
        let mut s = TcpStream::new();
        s.push(0, true, false, &[], BIG, BIG);
        for _ in 0..10 {
            s.push(1, false, false, &[], BIG, BIG);
            s.push(1_000_000, false, false, &[], BIG, BIG); // odd seq, no data: no gap
        }
        assert!(s.bytes().is_empty());
        assert!(!s.gap());
        assert_eq!(s.counters(), StreamCounters::default());
        assert_eq!(s.memory_bytes(), 0);
    }

    #[test]
    fn fin_beyond_a_hole_is_a_gap() {
        let mut s = TcpStream::new();
        s.push(0, true, false, &[], BIG, BIG);
        s.push(1, false, false, b"abc", BIG, BIG);
        // Segment [3,6) lost; FIN at 6.
        s.push(7, false, true, &[], BIG, BIG);
        assert!(s.fin_seen());
        assert!(s.gap());
        s.push(4, false, false, b"def", BIG, BIG);
        assert!(!s.gap());
        assert_eq!(s.bytes(), b"abcdef");
    }

    #[test]
    fn gap_persists_when_hole_never_fills() {
        let mut s = TcpStream::new();
        s.push(0, true, false, &[], BIG, BIG);
        s.push(1, false, false, b"abc", BIG, BIG);
        s.push(10, false, false, b"later", BIG, BIG);
        assert!(s.gap());
        assert_eq!(s.bytes(), b"abc");
    }

    #[test]
    fn limit_truncates_and_is_cheap() {
        let d = data(1000, 5);
        let mut s = TcpStream::new();
        s.push(0, true, false, &[], 100, 1000);
        for (q, p) in segment(&d, 1, &[30]) {
            s.push(q, false, false, &p, 100, 1000);
        }
        assert_eq!(s.bytes(), &d[..100]);
        assert!(s.truncated());
        assert!(!s.gap());
        assert!(s.memory_bytes() <= 100);
        // Exactly `limit` bytes: not truncated; a retransmission then does not truncate.
        let mut s = TcpStream::new();
        s.push(0, true, false, &[], 100, 1000);
        s.push(1, false, false, &d[..100], 100, 1000);
        assert!(!s.truncated());
        s.push(51, false, false, &d[50..100], 100, 1000);
        assert!(!s.truncated());
        s.push(101, false, false, &d[100..101], 100, 1000);
        assert!(s.truncated());
        // Out-of-order data straddling the limit is clipped.
        let mut s = TcpStream::new();
        s.push(0, true, false, &[], 100, 1000);
        s.push(91, false, false, &d[90..120], 100, 1000);
        assert!(s.truncated());
        assert_eq!(s.buffered(), 10);
        s.push(1, false, false, &d[..90], 100, 1000);
        assert_eq!(s.bytes(), &d[..100]);
        // Limit 0 keeps nothing.
        let mut s = TcpStream::new();
        s.push(1, false, false, b"x", 0, 0);
        assert!(s.truncated() && s.bytes().is_empty() && !s.gap());
    }

    #[test]
    fn ooo_limit_drops_and_counts() {
        let d = data(100, 8);
        let mut s = TcpStream::new();
        s.push(0, true, false, &[], BIG, 25);
        s.push(11, false, false, &d[10..20], BIG, 25); // buffered (10)
        s.push(31, false, false, &d[30..40], BIG, 25); // buffered (20)
        s.push(51, false, false, &d[50..60], BIG, 25); // dropped: 30 > 25
        let c = s.counters();
        assert_eq!(
            (c.ooo_segments, c.dropped_segments, c.dropped_bytes),
            (3, 1, 10)
        );
        assert_eq!(s.buffered(), 20);
        check_invariants(&s, BIG, 25);
        // Filling [0,10) merges [10,20), frees budget; [20,30) merges [30,40).
        s.push(1, false, false, &d[..10], BIG, 25);
        assert_eq!(s.bytes(), &d[..20]);
        s.push(21, false, false, &d[20..30], BIG, 25);
        assert_eq!(s.bytes(), &d[..40]);
        // The dropped data was never re-sent: the stream stops at a gap.
        assert!(s.gap());
        s.push(41, false, false, &d[40..100], BIG, 25);
        assert_eq!(s.bytes(), &d[..]);
        assert!(!s.gap());
        // ooo_limit 0: nothing buffered, in-order still works.
        let mut s = TcpStream::new();
        s.push(0, true, false, &[], BIG, 0);
        s.push(11, false, false, &d[10..20], BIG, 0);
        s.push(1, false, false, &d[..10], BIG, 0);
        assert_eq!(s.bytes(), &d[..10]);
        assert!(s.gap());
        assert_eq!(s.counters().dropped_segments, 1);
        assert_eq!(s.memory_bytes(), 64);
    }

    #[test]
    fn arena_compaction_keeps_data() {
        // Partial merges leave garbage; later inserts compact without losing bytes.
        let d = data(400, 21);
        let mut s = TcpStream::new();
        s.push(0, true, false, &[], BIG, 60);
        s.push(11, false, false, &d[10..30], BIG, 60); // [10,30)
        s.push(41, false, false, &d[40..70], BIG, 60); // [40,70)  live 50
        s.push(1, false, false, &d[..10], BIG, 60); // merges [10,30): garbage 20
        assert_eq!(s.bytes(), &d[..30]);
        s.push(81, false, false, &d[80..110], BIG, 60); // needs compaction: 30 + 30 = 60
        check_invariants(&s, BIG, 60);
        assert_eq!(s.buffered(), 60);
        s.push(31, false, false, &d[30..40], BIG, 60);
        s.push(71, false, false, &d[70..80], BIG, 60);
        assert_eq!(s.bytes(), &d[..110]);
        assert_eq!(s.counters().dropped_segments, 0);
    }

    #[test]
    fn too_many_pieces_are_dropped() {
        let mut s = TcpStream::new();
        s.push(0, true, false, &[], BIG, BIG);
        for k in 0..(MAX_OOO_SEGMENTS as u32 + 10) {
            s.push(3 + 2 * k, false, false, b"x", BIG, BIG); // 1-byte islands
        }
        assert_eq!(s.segs.len(), MAX_OOO_SEGMENTS);
        assert_eq!(s.counters().dropped_segments, 10);
        check_invariants(&s, BIG, BIG);
    }

    #[test]
    fn reset_reuses_buffers() {
        let mut s = TcpStream::new();
        s.push(0, true, false, &[], BIG, BIG);
        s.push(1, false, false, &data(5000, 2), BIG, BIG);
        s.push(9000, false, false, &data(100, 2), BIG, BIG);
        let mem = s.memory_bytes();
        s.reset();
        assert_eq!(s.memory_bytes(), mem);
        assert!(s.bytes().is_empty() && !s.gap() && !s.truncated());
        assert_eq!(s.start_seq(), None);
        assert_eq!(s.counters(), StreamCounters::default());
        s.push(42, false, false, b"again", BIG, BIG);
        assert_eq!(s.bytes(), b"again");
        assert_eq!(s.memory_bytes(), mem, "no allocation after reset");
    }

    #[test]
    fn shuffled_segments_reassemble() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..300 {
            let n = 1 + r.below(6000) as usize;
            let d = data(n, round + 1);
            let isn = r.next() as u32;
            let segs = scrambled_segments(&mut r, &d, isn, 1500, 2000);
            let mut s = TcpStream::new();
            s.push(isn, true, false, &[], BIG, BIG);
            for (q, p) in &segs {
                s.push(*q, false, false, p, BIG, BIG);
                check_invariants(&s, BIG, BIG);
            }
            assert_eq!(s.bytes(), &d[..], "round {round}");
            assert!(!s.gap() && !s.truncated());
            let c = s.counters();
            assert_eq!(c.conflicting_bytes, 0);
            assert_eq!(c.dropped_segments, 0);
            assert_eq!(s.buffered(), 0);
            // With a limit: the prefix, truncated iff the data is longer.
            let limit = 1 + r.below(n as u64 + 100) as u32;
            let mut s = TcpStream::new();
            s.push(isn, true, false, &[], limit, BIG);
            for (q, p) in &segs {
                s.push(*q, false, false, p, limit, BIG);
                check_invariants(&s, limit, BIG);
            }
            let keep = n.min(limit as usize);
            assert_eq!(s.bytes(), &d[..keep], "round {round} limit {limit}");
            assert_eq!(s.truncated(), n > limit as usize);
            assert!(!s.gap());
        }
    }

    /// Records of a 2-byte header `[type, body length]`; type 1 goes on.
    const FRAMING: StreamFraming =
        StreamFraming::records(2, 1, 1).check(0, jj_plugin_api::ByteCheck::one_of(0, &[1]));

    /// Where the host cuts `d` under `FRAMING`: the start of the first complete header
    /// that fails, else `d.len()`.
    fn cut_of(d: &[u8]) -> usize {
        let mut at = 0usize;
        while at + 2 <= d.len() {
            if d[at] != 1 {
                return at;
            }
            at += 2 + usize::from(d[at + 1]);
        }
        d.len()
    }

    /// `push` then `apply_framing`, as the flow table does for a framed stream.
    fn push_framed(s: &mut TcpStream, seq: u32, syn: bool, fin: bool, p: &[u8], limit: u32) {
        s.push(seq, syn, fin, p, limit, BIG);
        s.apply_framing(&FRAMING);
    }

    /// Records 1:"ab", 1:"", then a type-2 record whose header arrives split over two
    /// segments: the stream ends where it starts (6 bytes); what comes later, even a
    /// retransmission or a hole, changes nothing and is not counted.
    #[test]
    fn framing_cuts_at_the_first_failing_record() {
        let d = [1, 2, b'a', b'b', 1, 0, 2, 3, b'x', b'y', b'z', 1, 1, b'q'];
        let mut s = TcpStream::new();
        push_framed(&mut s, 99, true, false, &[], BIG);
        push_framed(&mut s, 100, false, false, &d[..7], BIG);
        assert_eq!(s.bytes(), &d[..7], "the failing header is not complete yet");
        assert!(!s.cut());
        push_framed(&mut s, 107, false, false, &d[7..9], BIG);
        assert!(s.cut());
        assert_eq!(s.bytes(), &d[..6]);
        let before = s.counters();
        push_framed(&mut s, 100, false, false, &d[..9], BIG); // retransmitted
        push_framed(&mut s, 120, false, true, b"later", BIG); // beyond a hole
        assert_eq!(s.bytes(), &d[..6]);
        assert_eq!(s.counters(), before);
        assert!(!s.gap(), "a cut stream has no gap");
        // A stream that does not start with a valid header keeps nothing.
        let mut s = TcpStream::new();
        push_framed(&mut s, 0, false, false, b"GET / HTTP/1.1", BIG);
        assert!(s.cut() && s.bytes().is_empty());
        // reset forgets the cut
        s.reset();
        push_framed(&mut s, 0, false, false, &d[..4], BIG);
        assert_eq!(s.bytes(), &d[..4]);
        assert!(!s.cut());
    }

    /// Shuffled, duplicated and re-cut segments of random record streams: the framed
    /// stream is the unframed one up to `cut_of` it, and out-of-order data held beyond a
    /// cut is freed.
    #[test]
    fn framing_matches_cutting_the_whole_stream() {
        let mut r = Rng(0x6672_616d_696e_67);
        for round in 0..300 {
            let mut d = Vec::new();
            for _ in 0..r.below(40) {
                let t = if r.below(12) == 0 { 2 } else { 1 };
                let len = r.below(300) as u8;
                d.push(t);
                d.push(len);
                d.extend((0..len).map(|_| r.next() as u8));
            }
            if d.is_empty() {
                continue;
            }
            let n = d.len();
            let isn = r.next() as u32;
            let segs = scrambled_segments(&mut r, &d, isn, 700, 900);
            let limit = if r.below(3) == 0 {
                1 + r.below(n as u64) as u32
            } else {
                BIG
            };
            let (mut plain, mut framed) = (TcpStream::new(), TcpStream::new());
            plain.push(isn, true, false, &[], limit, BIG);
            push_framed(&mut framed, isn, true, false, &[], limit);
            for (i, (q, p)) in segs.iter().enumerate() {
                plain.push(*q, false, false, p, limit, BIG);
                push_framed(&mut framed, *q, false, false, p, limit);
                check_invariants(&framed, limit, BIG);
                let whole = plain.bytes();
                let keep = cut_of(whole);
                assert_eq!(framed.bytes(), &whole[..keep], "round {round} segment {i}");
                if framed.cut() {
                    assert_eq!(framed.buffered(), 0);
                }
            }
            assert_eq!(framed.cut(), cut_of(plain.bytes()) < plain.bytes().len());
        }
    }

    #[test]
    fn fuzz_random_segments() {
        let mut r = Rng(12345);
        let mut s = TcpStream::new();
        let payload = data(70_000, 77);
        let (mut max_limit, mut max_ooo) = (0usize, 0usize);
        for round in 0..400u64 {
            s.reset();
            let limit = r.below(20_000) as u32;
            let ooo = r.below(8_000) as u32;
            let base = r.next() as u32;
            for _ in 0..200 {
                let seq = match r.below(4) {
                    0 => r.next() as u32,
                    _ => base.wrapping_add(r.below(30_000) as u32).wrapping_sub(1000),
                };
                let len = match r.below(8) {
                    0 => 0,
                    1 => r.below(70_000) as usize,
                    _ => r.below(1500) as usize,
                };
                let off = r.below((payload.len() - len) as u64 + 1) as usize;
                let syn = r.below(50) == 0;
                let fin = r.below(50) == 0;
                s.push(seq, syn, fin, &payload[off..off + len], limit, ooo);
                check_invariants(&s, limit, ooo);
                // Capacities never exceed the largest limits used since creation (reset
                // keeps buffers).
                max_limit = max_limit.max(limit as usize);
                max_ooo = max_ooo.max(ooo as usize);
                assert!(s.buf.capacity() <= max_limit, "round {round}");
                assert!(s.arena.capacity() <= max_ooo, "round {round}");
                assert!(s.segs.capacity() <= MAX_OOO_SEGMENTS);
                assert!(s.memory_bytes() <= max_limit + max_ooo + MAX_OOO_SEGMENTS * 12);
            }
            let _ = (s.bytes(), s.gap(), s.truncated(), s.counters());
        }
    }
}
