//! TCP header and options.

use crate::anomaly::{BAD_L4_HEADER, BAD_TCP_OPTIONS, TRUNCATED};
use crate::bytes::{be16, be32, has, sat32, u8_at};
use crate::ip::{bounded, set_payload};
use crate::{Decoded, Layer};

/// Decode a TCP header at `l4` in an IP packet ending at `ip_end`. Fields are taken as far
/// as they were captured, so a snaplen cut keeps ports and flags.
#[inline]
pub(crate) fn decode(f: &[u8], l4: usize, ip_end: usize, out: &mut Decoded) {
    out.push_layer(Layer::Tcp);
    let avail = ip_end.saturating_sub(l4);
    // Reads never go past the IP packet (no Ethernet padding) nor the capture.
    let g = bounded(f, ip_end);
    if avail < 20 {
        out.anomalies |= BAD_L4_HEADER;
    } else if !has(g, l4, 20) {
        out.anomalies |= TRUNCATED;
    }
    // Take each field that was captured, so a snaplen cut keeps ports and flags.
    if let Some(v) = be16(g, l4) {
        out.src_port = v;
    }
    if let Some(v) = be16(g, l4 + 2) {
        out.dst_port = v;
    }
    if let Some(v) = be32(g, l4 + 4) {
        out.tcp_seq = v;
    }
    if let Some(v) = be32(g, l4 + 8) {
        out.tcp_ack = v;
    }
    let Some(b12) = u8_at(g, l4 + 12) else {
        return;
    };
    if let Some(b13) = u8_at(g, l4 + 13) {
        out.tcp_flags = (u16::from(b12 & 1) << 8) | u16::from(b13);
    }
    if let Some(v) = be16(g, l4 + 14) {
        out.tcp_window = v;
    }
    if let Some(v) = be16(g, l4 + 18) {
        out.tcp_urgent = v;
    }
    let hlen = usize::from(b12 >> 4) * 4;
    if hlen < 20 || hlen > avail {
        out.anomalies |= BAD_L4_HEADER;
        return;
    }
    let opt_end = l4 + hlen;
    out.tcp_opt_offset = sat32(l4 + 20);
    out.tcp_opt_len = (hlen - 20) as u8;
    set_payload(f, opt_end, ip_end, out);
    options(g, l4 + 20, opt_end, out);
}

/// Parse the options in `[p, end)`; `g` is the captured, IP-bounded frame.
#[inline]
fn options(g: &[u8], mut p: usize, end: usize, out: &mut Decoded) {
    while p < end {
        let Some(kind) = u8_at(g, p) else {
            out.anomalies |= TRUNCATED;
            return;
        };
        match kind {
            0 => return, // end of option list
            1 => {
                p += 1; // NOP
                continue;
            }
            _ => {}
        }
        if p + 1 >= end {
            out.anomalies |= BAD_TCP_OPTIONS; // length byte outside the header
            return;
        }
        let Some(len) = u8_at(g, p + 1) else {
            out.anomalies |= TRUNCATED;
            return;
        };
        let len = usize::from(len);
        if len < 2 || p + len > end {
            out.anomalies |= BAD_TCP_OPTIONS;
            return;
        }
        if !has(g, p, len) {
            out.anomalies |= TRUNCATED;
            return;
        }
        let ok = match (kind, len) {
            (2, 4) => {
                out.tcp_mss = be16(g, p + 2).unwrap_or(0);
                true
            }
            (3, 3) => {
                out.tcp_wscale = u8_at(g, p + 2).unwrap_or(0);
                true
            }
            (4, 2) => {
                out.tcp_sack_permitted = true;
                true
            }
            (5, _) if len >= 10 && (len - 2) % 8 == 0 => {
                out.tcp_sack_blocks = ((len - 2) / 8) as u8;
                true
            }
            (8, 10) => {
                out.tcp_has_ts = true;
                out.tcp_ts_val = be32(g, p + 2).unwrap_or(0);
                out.tcp_ts_ecr = be32(g, p + 6).unwrap_or(0);
                true
            }
            (2..=5 | 8, _) => false,
            _ => true, // unknown kinds are skipped by length
        };
        if !ok {
            out.anomalies |= BAD_TCP_OPTIONS;
            return;
        }
        p += len;
    }
}

#[cfg(test)]
mod tests {
    use crate::anomaly::*;
    use crate::testutil::*;
    use crate::{decode, linktype, Decoded, Layer, NO_WSCALE};

    const SYN_OPTS: [u8; 20] = [
        2, 4, 0x05, 0xb4, // MSS 1460
        4, 2, // SACK permitted
        8, 10, 0, 0, 0, 1, 0, 0, 0, 0, // TS val 1 ecr 0
        1, // NOP
        3, 3, 7, // WS 7
    ];

    fn syn() -> Vec<u8> {
        eth(
            0x0800,
            &ipv4_tcp(
                [10, 0, 0, 1],
                [10, 0, 0, 2],
                40000,
                443,
                0x02,
                &SYN_OPTS,
                b"",
            ),
        )
    }

    #[test]
    fn fixed_fields_and_options() {
        let d = dec(linktype::ETHERNET, &syn());
        assert_eq!(d.anomalies, 0);
        assert_eq!((d.src_port, d.dst_port), (40000, 443));
        assert_eq!((d.tcp_seq, d.tcp_ack), (0x1111_1111, 0x2222_2222));
        assert_eq!(
            (d.tcp_flags, d.tcp_window, d.tcp_urgent),
            (0x02, 0xfaf0, 0x0007)
        );
        assert_eq!((d.tcp_opt_offset, d.tcp_opt_len), (14 + 20 + 20, 20));
        assert_eq!(d.tcp_mss, 1460);
        assert!(d.tcp_sack_permitted);
        assert!(d.tcp_has_ts);
        assert_eq!((d.tcp_ts_val, d.tcp_ts_ecr), (1, 0));
        assert_eq!(d.tcp_wscale, 7);
        assert_eq!(d.tcp_sack_blocks, 0);
        assert_eq!((d.l4_offset, d.payload_offset, d.payload_len), (34, 74, 0));
        assert_eq!(d.layer_stack(), &[Layer::Eth, Layer::Ip4, Layer::Tcp]);
    }

    #[test]
    fn no_options() {
        let f = ipv4_tcp([1, 1, 1, 1], [2, 2, 2, 2], 1, 2, 0x18, &[], b"data");
        let d = dec(linktype::RAW, &f);
        assert_eq!(d.anomalies, 0);
        assert_eq!((d.tcp_opt_len, d.tcp_wscale, d.tcp_mss), (0, NO_WSCALE, 0));
        assert_eq!(
            (d.payload_offset, d.payload_len, d.payload_captured),
            (40, 4, 4)
        );
    }

    #[test]
    fn ns_flag_and_sack_blocks() {
        let opts = [1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4];
        let mut f = ipv4_tcp([1, 1, 1, 1], [2, 2, 2, 2], 1, 2, 0xd0, &opts, b"");
        f[20 + 12] |= 1; // NS
        let d = dec(linktype::RAW, &f);
        assert_eq!(d.anomalies, 0);
        assert_eq!(d.tcp_flags, 0x1d0);
        assert_eq!(d.tcp_sack_blocks, 2);
    }

    #[test]
    fn eol_stops_parsing() {
        let opts = [0, 2, 4, 5, 0xb4, 0, 0, 0];
        let d = dec(
            linktype::RAW,
            &ipv4_tcp([1; 4], [2; 4], 1, 2, 0x02, &opts, b""),
        );
        assert_eq!((d.anomalies, d.tcp_mss), (0, 0));
    }

    #[test]
    fn malformed_options_keep_what_was_parsed() {
        for (opts, mss) in [
            (vec![2u8, 4, 0x05, 0xb4, 3, 0, 0, 0], 1460), // length 0
            (vec![2, 4, 0x05, 0xb4, 3, 9, 0, 0], 1460),   // past the header
            (vec![2, 3, 0x05, 0, 0, 0, 0, 0], 0),         // MSS with length 3
            (vec![1, 1, 1, 5, 7, 0, 0, 0], 0),            // SACK with a partial block
            (vec![2, 4, 0x05, 0xb4, 1, 1, 1, 8], 1460),   // length byte outside header
        ] {
            let d = dec(
                linktype::RAW,
                &ipv4_tcp([1; 4], [2; 4], 1, 2, 0x02, &opts, b"x"),
            );
            assert_eq!(d.anomalies, BAD_TCP_OPTIONS, "{opts:?}");
            assert_eq!(d.tcp_mss, mss, "{opts:?}");
            assert_eq!((d.src_port, d.payload_len), (1, 1));
        }
    }

    #[test]
    fn bad_data_offset() {
        let mut f = ipv4_tcp([1; 4], [2; 4], 1, 2, 0x02, &[], b"");
        f[20 + 12] = 0x40; // 16 bytes
        let d = dec(linktype::RAW, &f);
        assert_eq!(d.anomalies, BAD_L4_HEADER);
        assert_eq!((d.src_port, d.tcp_flags), (1, 0x02));
        f[20 + 12] = 0xf0; // 60 bytes, beyond the IP payload
        assert_eq!(dec(linktype::RAW, &f).anomalies, BAD_L4_HEADER);
        // IP payload too short for a TCP header at all.
        let f = ipv4_raw(6, [1; 4], [2; 4], &[0, 1, 0, 2, 0, 0]);
        let d = dec(linktype::RAW, &f);
        assert_eq!(d.anomalies, BAD_L4_HEADER);
        assert_eq!((d.src_port, d.dst_port), (1, 2));
    }

    #[test]
    fn snaplen_68_keeps_ports_and_flags() {
        let f = syn(); // 14 + 20 + 40 = 74 bytes
        let mut d = Decoded::default();
        decode(linktype::ETHERNET, &f[..68], f.len() as u32, &mut d);
        assert_eq!(d.anomalies, TRUNCATED);
        assert_eq!((d.src_port, d.dst_port, d.tcp_flags), (40000, 443, 0x02));
        assert_eq!(d.tcp_mss, 1460);
        assert!(d.tcp_sack_permitted);
        assert!(!d.tcp_has_ts, "timestamp option was cut");
        assert_eq!(d.tcp_wscale, NO_WSCALE);
        assert_eq!((d.payload_len, d.payload_captured), (0, 0));
    }

    #[test]
    fn truncated_at_every_offset() {
        let f = eth(
            0x0800,
            &ipv4_tcp(
                [10, 0, 0, 1],
                [10, 0, 0, 2],
                40000,
                443,
                0x12,
                &SYN_OPTS,
                b"payload!",
            ),
        );
        let mut d = Decoded::default();
        for cut in 0..f.len() {
            decode(linktype::ETHERNET, &f[..cut], f.len() as u32, &mut d);
            assert_eq!(d.anomalies, TRUNCATED, "cut at {cut}");
            if cut >= 34 {
                assert_eq!(d.ip_version, 4);
            }
            if cut >= 47 {
                // The data offset byte was captured.
                assert_eq!(d.payload_len, 8, "cut at {cut}");
            }
            if cut >= 38 {
                assert_eq!((d.src_port, d.dst_port), (40000, 443), "cut at {cut}");
            }
            if cut >= 48 {
                assert_eq!(d.tcp_flags, 0x12, "cut at {cut}");
            }
            assert!(d.payload_captured <= d.payload_len);
        }
        decode(linktype::ETHERNET, &f, f.len() as u32, &mut d);
        assert_eq!((d.anomalies, d.payload_captured), (0, 8));
    }

    #[test]
    fn ipv6_tcp() {
        let f = ipv6_raw(
            6,
            &tcp_hdr(22, 50000, 0x10, &[1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8]),
        );
        let d = dec(linktype::IPV6, &f);
        assert_eq!(d.anomalies, 0);
        assert_eq!((d.src_port, d.tcp_ts_val, d.tcp_ts_ecr), (22, 9, 8));
    }
}
