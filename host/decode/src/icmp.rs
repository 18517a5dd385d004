//! ICMP and ICMPv6 headers.

use crate::anomaly::{BAD_L4_HEADER, TRUNCATED};
use crate::bytes::{be16, has, u8_at};
use crate::ip::{bounded, set_payload};
use crate::{Decoded, Layer};

/// Echo-family types carrying an identifier and sequence number.
fn is_echo_family(v6: bool, t: u8) -> bool {
    if v6 {
        matches!(t, 128 | 129)
    } else {
        matches!(t, 0 | 8 | 13..=18)
    }
}

/// Decode an ICMP (`v6` false) or ICMPv6 header at `l4` in an IP packet ending at `ip_end`.
#[inline]
pub(crate) fn decode(f: &[u8], l4: usize, ip_end: usize, v6: bool, out: &mut Decoded) {
    out.push_layer(if v6 { Layer::Icmp6 } else { Layer::Icmp });
    let avail = ip_end.saturating_sub(l4);
    let g = bounded(f, ip_end);
    if let Some(t) = u8_at(g, l4) {
        out.icmp_type = t;
    }
    if let Some(c) = u8_at(g, l4 + 1) {
        out.icmp_code = c;
    }
    if avail < 8 {
        out.anomalies |= BAD_L4_HEADER;
        return;
    }
    set_payload(f, l4 + 8, ip_end, out);
    if !has(g, l4, 8) {
        out.anomalies |= TRUNCATED;
        return;
    }
    if is_echo_family(v6, out.icmp_type) {
        out.icmp_id = be16(g, l4 + 4).unwrap_or(0);
        out.icmp_seq = be16(g, l4 + 6).unwrap_or(0);
    }
}

#[cfg(test)]
mod tests {
    use crate::anomaly::*;
    use crate::testutil::*;
    use crate::{decode, linktype, Decoded, Layer};

    fn icmp(t: u8, code: u8, rest: [u8; 4], data: &[u8]) -> Vec<u8> {
        let mut v = vec![t, code, 0, 0];
        v.extend_from_slice(&rest);
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn echo_v4() {
        for t in [0u8, 8, 13, 14, 15, 16, 17, 18] {
            let f = ipv4_raw(1, [1; 4], [2; 4], &icmp(t, 0, [0x12, 0x34, 0, 7], b"ping"));
            let d = dec(linktype::RAW, &f);
            assert_eq!(d.anomalies, 0);
            assert_eq!((d.icmp_type, d.icmp_code), (t, 0));
            assert_eq!((d.icmp_id, d.icmp_seq), (0x1234, 7), "type {t}");
            assert_eq!((d.src_port, d.dst_port), (0, 0));
            assert_eq!((d.payload_offset, d.payload_len), (28, 4));
            assert_eq!(d.layer_stack(), &[Layer::Ip4, Layer::Icmp]);
        }
    }

    #[test]
    fn non_echo_v4() {
        // Destination unreachable / port unreachable quoting a header.
        let f = ipv4_raw(1, [1; 4], [2; 4], &icmp(3, 3, [0, 0, 0, 0], &[0x45; 28]));
        let d = dec(linktype::RAW, &f);
        assert_eq!(
            (d.icmp_type, d.icmp_code, d.icmp_id, d.icmp_seq),
            (3, 3, 0, 0)
        );
        assert_eq!(d.payload_len, 28);
    }

    #[test]
    fn icmpv6() {
        let d = dec(
            linktype::RAW,
            &ipv6_raw(58, &icmp(128, 0, [0, 1, 0, 2], b"")),
        );
        assert_eq!(d.anomalies, 0);
        assert_eq!(
            (d.protocol, d.icmp_type, d.icmp_id, d.icmp_seq),
            (58, 128, 1, 2)
        );
        assert_eq!(d.layer_stack(), &[Layer::Ip6, Layer::Icmp6]);
        // Neighbour solicitation: not echo.
        let d = dec(
            linktype::RAW,
            &ipv6_raw(58, &icmp(135, 0, [0, 1, 0, 2], &[0; 16])),
        );
        assert_eq!((d.icmp_type, d.icmp_id, d.payload_len), (135, 0, 16));
        // Type 8 is not echo in ICMPv6.
        let d = dec(linktype::RAW, &ipv6_raw(58, &icmp(8, 0, [0, 1, 0, 2], b"")));
        assert_eq!(d.icmp_id, 0);
    }

    #[test]
    fn short_and_truncated() {
        let d = dec(linktype::RAW, &ipv4_raw(1, [1; 4], [2; 4], &[8, 0, 0, 0]));
        assert_eq!((d.anomalies, d.icmp_type), (BAD_L4_HEADER, 8));
        let f = ipv4_raw(1, [1; 4], [2; 4], &icmp(8, 0, [0, 1, 0, 2], b"abc"));
        let mut d = Decoded::default();
        decode(linktype::RAW, &f[..26], f.len() as u32, &mut d);
        assert_eq!(d.anomalies, TRUNCATED);
        assert_eq!(
            (d.icmp_type, d.icmp_id, d.payload_len, d.payload_captured),
            (8, 0, 3, 0)
        );
    }
}
