//! Sequences of frames through `jj::reassembly::Defrag`.
//!
//! Input: `[cfg, records...]`, each record `[len: u16 LE, ts_step, lt_sel, frame: len bytes]`
//! (the last record takes what is left). `cfg` picks the memory budget, the timeout,
//! `max_datagram` and the overlap policy. Each frame is decoded with `jj_decode::decode`
//! and pushed when it has the FRAGMENT anomaly (as the host does); `ts_step` advances (or,
//! with its top bit, moves back) the packet clock, and every 16th frame calls `expire`.
//!
//! Checks: no panic; a rebuilt packet fits `max_datagram`, is an unfragmented IP packet
//! whose length fields match its size (IPv4: MF and offset clear, total length; IPv6:
//! payload length) and decodes with `decode_ip`; memory stays within the documented
//! bound (`buffered_bytes <= max_bytes`, `memory_bytes <= max_bytes + max_bytes / 16 +
//! 65575`); `clear` leaves nothing pending.
#![no_main]

use jj::reassembly::{Defrag, DefragConfig, Overlap};
use jj_decode::{anomaly, decode, decode_ip, linktype, Decoded};
use libfuzzer_sys::fuzz_target;

const IP_MAX: usize = 65_535;
const LINKTYPES: [u32; 4] = [
    linktype::ETHERNET,
    linktype::RAW,
    linktype::IPV4,
    linktype::IPV6,
];

fuzz_target!(|data: &[u8]| {
    let Some((&c, mut rest)) = data.split_first() else {
        return;
    };
    let cfg = DefragConfig {
        max_bytes: [16 << 20, 64 << 10, 4 << 10, 300][usize::from(c & 3)],
        timeout_ns: [30_000_000_000, 1_000, 0, i64::MAX][usize::from(c >> 2 & 3)],
        max_datagram: [IP_MAX + 40, 1500, 60, 0][usize::from(c >> 4 & 3)],
        overlap: if c & 0x40 == 0 {
            Overlap::First
        } else {
            Overlap::Last
        },
    };
    let mut df = Defrag::new(cfg);
    let mut ts: i64 = 1_700_000_000_000_000_000;
    let mut d = Decoded::default();
    let mut n = 0u32;
    while rest.len() >= 4 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let step = rest[2];
        let lt = LINKTYPES[usize::from(rest[3]) % LINKTYPES.len()];
        rest = &rest[4..];
        let (frame, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        let delta = i64::from(step & 0x7f) * 1_000_000_007;
        ts = if step & 0x80 == 0 {
            ts.saturating_add(delta)
        } else {
            ts.saturating_sub(delta)
        };
        n += 1;
        if n & 15 == 0 {
            df.expire(ts);
        }
        decode(lt, frame, frame.len() as u32, &mut d);
        if !d.has_anomaly(anomaly::FRAGMENT) {
            continue;
        }
        if let Some(pkt) = df.push(ts, &d, frame) {
            assert!(
                pkt.len() <= cfg.max_datagram.min(IP_MAX + 40),
                "{}",
                pkt.len()
            );
            match pkt.first().map(|b| b >> 4) {
                Some(4) => {
                    assert!(pkt.len() >= 20 && pkt.len() <= IP_MAX);
                    assert_eq!(usize::from(u16::from_be_bytes([pkt[2], pkt[3]])), pkt.len());
                    let frag = u16::from_be_bytes([pkt[6], pkt[7]]);
                    assert_eq!(frag & 0x3fff, 0, "MF/offset left set");
                }
                Some(6) => {
                    assert!(pkt.len() >= 40);
                    assert_eq!(
                        usize::from(u16::from_be_bytes([pkt[4], pkt[5]])) + 40,
                        pkt.len()
                    );
                }
                v => panic!("rebuilt packet is not IP (version {v:?})"),
            }
            let mut dd = Decoded::default();
            decode_ip(pkt, 0, &mut dd);
            assert_eq!(u32::from(pkt[0] >> 4), u32::from(dd.ip_version));
        }
        assert!(
            df.buffered_bytes() <= cfg.max_bytes,
            "{} > {}",
            df.buffered_bytes(),
            cfg.max_bytes
        );
        assert!(
            df.memory_bytes() <= cfg.max_bytes + cfg.max_bytes / 16 + IP_MAX + 40,
            "memory {}",
            df.memory_bytes()
        );
    }
    let c = df.counters();
    assert!(c.reassembled <= c.fragments);
    df.clear();
    assert_eq!(df.pending(), 0);
    assert_eq!(df.buffered_bytes(), 0);
});
