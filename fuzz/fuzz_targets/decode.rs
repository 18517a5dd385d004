//! One frame through `jj_decode::decode` (and the JoyfulJay compatibility mode and
//! `decode_ip`).
//!
//! Input: `[lt_sel, wire_mode, lt: u32 LE, wire: u32 LE, frame...]`.
//! * `lt_sel & 0x80 == 0`: link type = `KNOWN[lt_sel % KNOWN.len()]`, else the raw `lt`.
//! * `wire_mode % 4`: 0 = the frame length, 1 = `wire` (as written by make_corpus), 2 =
//!   the frame length plus `wire % 65536` (snaplen cut), 3 = `wire % (frame length + 1)`
//!   (a lying, shorter wire length).
//!
//! Checks: no panic; the invariants of `host/decode/src/robust.rs` (offsets inside the
//! frame, `payload_captured <= payload_len`, bounded layer/tunnel/extension counts,
//! every non-IP result has a reason); decoding into a dirty `Decoded` equals decoding
//! into a fresh one.
#![no_main]

use jj_decode::{anomaly, decode, decode_ip, decode_with, linktype, DecodeMode, Decoded};
use libfuzzer_sys::fuzz_target;

const KNOWN: [u32; 10] = [
    linktype::ETHERNET,
    linktype::RAW,
    linktype::NULL,
    linktype::LOOP,
    linktype::LINUX_SLL,
    linktype::LINUX_SLL2,
    linktype::IPV4,
    linktype::IPV6,
    linktype::RAW_BSD12,
    linktype::RAW_BSD14,
];

fn check(d: &Decoded, f: &[u8], joyfuljay: bool) {
    assert!(usize::from(d.n_layers) <= jj_decode::MAX_LAYERS, "{d:?}");
    assert!(matches!(d.ip_version, 0 | 4 | 6), "{d:?}");
    assert!(d.tcp_opt_len <= 40, "{d:?}");
    assert_eq!(
        d.caplen as usize,
        f.len().min(if joyfuljay { 65535 } else { usize::MAX })
    );
    if !joyfuljay {
        assert!(d.payload_captured <= d.payload_len, "{d:?}");
        assert!(d.tunnel_depth <= jj_decode::MAX_TUNNEL_DEPTH, "{d:?}");
        assert!(d.ipv6_ext_count <= jj_decode::MAX_IPV6_EXT, "{d:?}");
    }
    if d.payload_captured > 0 {
        assert!(
            d.payload_offset as usize + d.payload_captured as usize <= f.len(),
            "{d:?}"
        );
    }
    if d.ip_version == 0 {
        let mut why =
            anomaly::NOT_IP | anomaly::TRUNCATED | anomaly::UNKNOWN_LINKTYPE | anomaly::TOO_DEEP;
        if !joyfuljay {
            why |= anomaly::BAD_IP_HEADER;
        }
        assert!(d.anomalies & why != 0, "no IP and no reason: {d:?}");
    } else {
        assert!((d.l3_offset as usize) < f.len(), "{d:?}");
    }
    let _ = (d.layer_stack(), d.transport());
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 10 {
        return;
    }
    let (h, f) = data.split_at(10);
    let raw_lt = u32::from_le_bytes([h[2], h[3], h[4], h[5]]);
    let wire = u32::from_le_bytes([h[6], h[7], h[8], h[9]]);
    let lt = if h[0] & 0x80 == 0 {
        KNOWN[usize::from(h[0]) % KNOWN.len()]
    } else {
        raw_lt
    };
    let flen = u32::try_from(f.len()).unwrap_or(u32::MAX);
    let wire_len = match h[1] % 4 {
        0 => flen,
        1 => wire,
        2 => flen.saturating_add(wire % 65536),
        _ => wire % flen.saturating_add(1),
    };
    let mut d = Decoded {
        src_port: 7,
        anomalies: u32::MAX,
        n_layers: 200,
        ..Decoded::default()
    };
    decode(lt, f, wire_len, &mut d);
    check(&d, f, false);
    let mut fresh = Decoded::default();
    decode(lt, f, wire_len, &mut fresh);
    assert_eq!(fresh, d);

    let mut j = Decoded {
        payload_len: 9,
        anomalies: u32::MAX,
        ..Decoded::default()
    };
    decode_with(lt, f, wire_len, DecodeMode::JoyfulJay, &mut j);
    check(&j, f, true);
    let mut fresh = Decoded::default();
    decode_with(lt, f, wire_len, DecodeMode::JoyfulJay, &mut fresh);
    assert_eq!(fresh, j);

    // The frame from its innermost IP header on, as after reassembly.
    if d.ip_version != 0 {
        let ip = f.get(d.l3_offset as usize..).unwrap_or(&[]);
        let mut e = Decoded::default();
        decode_ip(ip, 0, &mut e);
        check(&e, ip, false);
    }
    let mut e = Decoded::default();
    decode_ip(f, usize::from(h[1]) % (f.len() + 2), &mut e);
    check(&e, f, false);
});
