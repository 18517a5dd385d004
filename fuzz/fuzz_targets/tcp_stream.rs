//! Sequences of segments through `jj::reassembly::TcpStream`, against a reference model.
//!
//! Input: `[limit: u16 LE, ooo: u16 LE, segments...]`, each segment
//! `[flags, seq: u32 LE, len, payload: len bytes]` (the last takes what is left). Flags:
//! 0x01 SYN, 0x02 FIN, 0x04 absolute `seq` (else `first_seq + (seq & 0xffff) - 256`,
//! near the stream), 0x08 payload repeated 40 times (segments longer than 255 bytes),
//! 0x10 reset the stream. `limit` and `ooo` are scaled by 4 when the top bit of `ooo`
//! is set (up to ~128 KiB / 128 KiB).
//!
//! Checks: no panic; `bytes().len() <= limit`; `buffered() <= ooo_limit`; memory within
//! `limit + ooo_limit + MAX_OOO_SEGMENTS * 12`; and, while no out-of-order piece was
//! dropped, `bytes()` equals the in-order prefix of a naive byte map built with the same
//! rules (SYN/mid-stream start, sequence numbers mod 2^32 relative to the next expected
//! byte, first copy wins, offsets `>= limit` discarded).
#![no_main]

use jj::reassembly::tcp::MAX_OOO_SEGMENTS;
use jj::reassembly::TcpStream;
use libfuzzer_sys::fuzz_target;

/// Naive model: a byte map over stream offsets [0, limit).
struct Model {
    started: bool,
    base: u32,
    map: Vec<Option<u8>>,
    held: usize,
}

impl Model {
    fn new(limit: usize) -> Self {
        Model {
            started: false,
            base: 0,
            map: vec![None; limit],
            held: 0,
        }
    }

    fn push(&mut self, seq: u32, syn: bool, payload: &[u8]) {
        let mut data_seq = seq;
        if syn {
            data_seq = seq.wrapping_add(1);
            if !self.started {
                self.started = true;
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
        let next = self.base.wrapping_add(self.held as u32);
        let rel = self.held as i64 + i64::from(data_seq.wrapping_sub(next) as i32);
        for (i, &b) in payload.iter().enumerate() {
            let o = rel + i as i64;
            if o < 0 {
                continue;
            }
            if let Some(slot) = self.map.get_mut(o as usize) {
                if slot.is_none() {
                    *slot = Some(b);
                }
            }
        }
        while self.map.get(self.held).is_some_and(Option::is_some) {
            self.held += 1;
        }
    }

    /// Whether `got` equals the model's bytes at offsets `[from, from + got.len())`.
    fn same(&self, from: usize, got: &[u8]) -> bool {
        self.map
            .get(from..from + got.len())
            .is_some_and(|m| m.iter().zip(got).all(|(a, b)| *a == Some(*b)))
    }
}

/// The whole prefix against the model (the in-order prefix never changes once held).
fn check_all(s: &TcpStream, model: &Model) {
    if s.counters().dropped_segments == 0 {
        assert_eq!(s.bytes().len(), model.held, "in-order length vs model");
        assert!(model.same(0, s.bytes()), "bytes differ from the model");
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let mut limit = u32::from(u16::from_le_bytes([data[0], data[1]]));
    let ooo_raw = u16::from_le_bytes([data[2], data[3]]);
    let mut ooo = u32::from(ooo_raw & 0x7fff);
    if ooo_raw & 0x8000 != 0 {
        limit *= 2;
        ooo *= 4;
    }
    let mut rest = &data[4..];
    let mut s = TcpStream::new();
    let mut model = Model::new(limit as usize);
    let mut first_seq: Option<u32> = None;
    let mut long = Vec::new();
    let mut checked = 0usize;
    while rest.len() >= 6 {
        let flags = rest[0];
        let raw = u32::from_le_bytes([rest[1], rest[2], rest[3], rest[4]]);
        let len = usize::from(rest[5]);
        rest = &rest[6..];
        let (mut payload, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        if flags & 0x10 != 0 {
            check_all(&s, &model);
            s.reset();
            checked = 0;
            model = Model::new(limit as usize);
            first_seq = None;
        }
        let seq = if flags & 0x04 != 0 || first_seq.is_none() {
            raw
        } else {
            first_seq
                .unwrap_or(0)
                .wrapping_add(raw & 0xffff)
                .wrapping_sub(256)
        };
        first_seq.get_or_insert(seq);
        if flags & 0x08 != 0 {
            long.clear();
            for _ in 0..40 {
                long.extend_from_slice(payload);
            }
            payload = &long;
        }
        let (syn, fin) = (flags & 0x01 != 0, flags & 0x02 != 0);
        s.push(seq, syn, fin, payload, limit, ooo);
        model.push(seq, syn, payload);

        assert!(s.bytes().len() <= limit as usize);
        assert!(s.buffered() <= u64::from(ooo));
        assert!(
            s.memory_bytes() <= limit as usize + ooo as usize + MAX_OOO_SEGMENTS * 12,
            "memory {} (limit {limit}, ooo {ooo})",
            s.memory_bytes()
        );
        // New in-order bytes against the model (a dropped out-of-order piece can make
        // the stream keep a later copy of some bytes, so only while nothing was dropped).
        if s.counters().dropped_segments == 0 {
            assert_eq!(s.bytes().len(), model.held, "in-order length vs model");
            let from = checked.min(s.bytes().len());
            assert!(
                model.same(from, &s.bytes()[from..]),
                "bytes differ from the model"
            );
            checked = s.bytes().len();
        } else {
            assert!(s.bytes().len() <= model.held);
        }
        assert_eq!(s.start_seq().is_some(), model.started);
        let _ = (s.gap(), s.truncated(), s.syn_seen(), s.fin_seen());
    }
    check_all(&s, &model);
});
