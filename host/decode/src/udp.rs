//! UDP header (and the UDP-carried tunnels' entry points).

use crate::anomaly::{BAD_L4_HEADER, TRUNCATED};
use crate::bytes::{be16, has};
use crate::ip::{bounded, set_payload, Frag};
use crate::{tunnel, Decoded, Layer};

pub(crate) const VXLAN_PORT: u16 = 4789;
pub(crate) const GTPU_PORT: u16 = 2152;

/// Decode a UDP header at `l4` in an IP packet ending at `ip_end`. The payload length
/// comes from the IP length, not the UDP length field.
#[inline]
pub(crate) fn decode(f: &[u8], l4: usize, ip_end: usize, frag: Frag, out: &mut Decoded) {
    out.push_layer(Layer::Udp);
    let avail = ip_end.saturating_sub(l4);
    let g = bounded(f, ip_end);
    if let Some(v) = be16(g, l4) {
        out.src_port = v;
    }
    if let Some(v) = be16(g, l4 + 2) {
        out.dst_port = v;
    }
    if avail < 8 {
        out.anomalies |= BAD_L4_HEADER;
        return;
    }
    set_payload(f, l4 + 8, ip_end, out);
    let Some(ulen) = be16(g, l4 + 4) else {
        out.anomalies |= TRUNCATED;
        return;
    };
    // Length 0 is legal in an IPv6 jumbogram (RFC 2675).
    if ulen < 8 && !(ulen == 0 && avail > 0xffff) {
        out.anomalies |= BAD_L4_HEADER;
        return;
    }
    if !has(g, l4, 8) {
        out.anomalies |= TRUNCATED;
        return;
    }
    // A fragment's payload is incomplete: the tunnel is decoded after reassembly.
    if frag == Frag::No {
        match out.dst_port {
            VXLAN_PORT => tunnel::vxlan(f, l4 + 8, ip_end, out),
            GTPU_PORT => tunnel::gtpu(f, l4 + 8, ip_end, out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::anomaly::*;
    use crate::testutil::*;
    use crate::{decode, linktype, Decoded, Layer};

    #[test]
    fn ports_and_payload() {
        let f = ipv4_udp([1; 4], [2; 4], 12345, 53, b"query");
        let d = dec(linktype::RAW, &f);
        assert_eq!(d.anomalies, 0);
        assert_eq!((d.src_port, d.dst_port, d.protocol), (12345, 53, 17));
        assert_eq!((d.l4_offset, d.payload_offset, d.payload_len), (20, 28, 5));
        assert_eq!(d.layer_stack(), &[Layer::Ip4, Layer::Udp]);
    }

    #[test]
    fn ip_length_wins_over_udp_length() {
        let mut f = ipv4_udp([1; 4], [2; 4], 1, 2, b"0123456789");
        f[24..26].copy_from_slice(&12u16.to_be_bytes()); // claims 4 payload bytes
        let d = dec(linktype::RAW, &f);
        assert_eq!((d.anomalies, d.payload_len), (0, 10));
        f[24..26].copy_from_slice(&7u16.to_be_bytes());
        let d = dec(linktype::RAW, &f);
        assert_eq!((d.anomalies, d.src_port, d.dst_port), (BAD_L4_HEADER, 1, 2));
    }

    #[test]
    fn short_ip_payload() {
        let f = ipv4_raw(17, [1; 4], [2; 4], &[0, 7, 0, 9]);
        let d = dec(linktype::RAW, &f);
        assert_eq!((d.anomalies, d.src_port, d.dst_port), (BAD_L4_HEADER, 7, 9));
    }

    #[test]
    fn truncated_header() {
        let f = ipv4_udp([1; 4], [2; 4], 1, 2, b"abc");
        let mut d = Decoded::default();
        decode(linktype::RAW, &f[..25], f.len() as u32, &mut d);
        assert_eq!(d.anomalies, TRUNCATED);
        assert_eq!(
            (d.src_port, d.dst_port, d.payload_len, d.payload_captured),
            (1, 2, 3, 0)
        );
    }

    #[test]
    fn over_ipv6() {
        let d = dec(linktype::RAW, &ipv6_udp(546, 547, b"dhcp"));
        assert_eq!(d.anomalies, 0);
        assert_eq!(
            (d.ip_version, d.src_port, d.dst_port, d.payload_len),
            (6, 546, 547, 4)
        );
        assert_eq!(d.layer_stack(), &[Layer::Ip6, Layer::Udp]);
    }
}
