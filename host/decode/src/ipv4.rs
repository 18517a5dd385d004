//! IPv4 header.

use crate::anomaly::{BAD_IP_HEADER, TRUNCATED};
use crate::bytes::{array, has, sat32, u8_at};
use crate::ip::{self, Frag};
use crate::{Decoded, Layer};

/// Decode an IPv4 packet at `off` in a container ending at `end`.
#[inline]
pub(crate) fn decode(f: &[u8], off: usize, end: usize, out: &mut Decoded) {
    let Some(h) = array::<20>(f, off) else {
        out.anomalies |= match u8_at(f, off) {
            Some(b) if b >> 4 != 4 => BAD_IP_HEADER,
            _ => TRUNCATED,
        };
        return;
    };
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let total = u16::from_be_bytes([h[2], h[3]]);
    if h[0] >> 4 != 4 || ihl < 20 || usize::from(total) < ihl {
        out.anomalies |= BAD_IP_HEADER;
        return;
    }
    let frag_field = u16::from_be_bytes([h[6], h[7]]);
    out.ip_version = 4;
    out.src_ip = [0; 16];
    out.dst_ip = [0; 16];
    out.src_ip[..4].copy_from_slice(&h[12..16]);
    out.dst_ip[..4].copy_from_slice(&h[16..20]);
    out.protocol = h[9];
    out.tos = h[1];
    out.ttl = h[8];
    out.ip_id = u16::from_be_bytes([h[4], h[5]]);
    out.frag_id = u32::from(out.ip_id);
    out.ip_flags = (frag_field >> 13) as u8;
    out.frag_offset = (frag_field & 0x1fff) * 8;
    out.more_fragments = frag_field & 0x2000 != 0;
    out.ip_total_len = u32::from(total);
    out.ip_opt_len = (ihl - 20) as u8;
    out.l3_offset = sat32(off);
    out.push_layer(Layer::Ip4);

    let ip_end = ip::bound_end(off.saturating_add(usize::from(total)), end, f.len(), out);
    if !has(f, off, ihl) {
        // Options cut by the snaplen: addresses are known, the transport header is not.
        out.anomalies |= TRUNCATED;
        return;
    }
    let frag = Frag::of(out.frag_offset, out.more_fragments);
    ip::upper(f, out, h[9], off + ihl, ip_end, frag);
}

#[cfg(test)]
mod tests {
    use crate::anomaly::*;
    use crate::testutil::*;
    use crate::{decode, decode_ip, linktype, Decoded, Layer};

    #[test]
    fn basic_fields() {
        let mut ip = ipv4_hdr(17, [10, 0, 0, 1], [10, 0, 0, 2], 8 + 4);
        ip[1] = 0xb8; // DSCP EF
        ip[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
        ip[6] = 0x40; // DF
        ip[8] = 63;
        fix_ipv4_csum(&mut ip);
        let mut pkt = ip;
        pkt.extend_from_slice(&udp_hdr(1000, 53, 4));
        pkt.extend_from_slice(b"abcd");
        let d = dec(linktype::IPV4, &pkt);
        assert_eq!(d.anomalies, 0);
        assert_eq!(d.ip_version, 4);
        assert_eq!(&d.src_ip[..4], &[10, 0, 0, 1]);
        assert_eq!(&d.src_ip[4..], &[0; 12]);
        assert_eq!(&d.dst_ip[..4], &[10, 0, 0, 2]);
        assert_eq!(d.tos, 0xb8);
        assert_eq!(d.ttl, 63);
        assert_eq!(d.ip_id, 0x1234);
        assert_eq!(d.frag_id, 0x1234);
        assert_eq!(d.ip_flags, 0x2);
        assert!(!d.more_fragments);
        assert_eq!(d.ip_total_len, 32);
        assert_eq!(d.l3_offset, 0);
        assert_eq!(d.l4_offset, 20);
        assert_eq!(d.payload_offset, 28);
        assert_eq!(d.payload_len, 4);
        assert_eq!(d.layer_stack(), &[Layer::Ip4, Layer::Udp]);
    }

    #[test]
    fn options_length() {
        let mut ip = ipv4_hdr(6, [1, 1, 1, 1], [2, 2, 2, 2], 20);
        ip[0] = 0x47; // IHL 7: 8 option bytes
        ip.extend_from_slice(&[1, 1, 1, 1, 1, 1, 1, 0]);
        let total = (ip.len() + 20) as u16;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&tcp_hdr(1, 2, 0x02, &[]));
        let d = dec(linktype::RAW, &ip);
        assert_eq!(d.anomalies, 0);
        assert_eq!(d.ip_opt_len, 8);
        assert_eq!(d.l4_offset, 28);
        assert_eq!((d.src_port, d.dst_port), (1, 2));
    }

    #[test]
    fn bad_headers() {
        let good = ipv4_udp([1, 2, 3, 4], [5, 6, 7, 8], 1, 2, b"xy");
        for (i, v, expect) in [
            (0usize, 0x55u8, BAD_IP_HEADER), // version 5
            (0, 0x44, BAD_IP_HEADER),        // IHL 4
            (3, 10, BAD_IP_HEADER),          // total length < IHL*4
        ] {
            let mut p = good.clone();
            if i == 3 {
                p[2] = 0;
            }
            p[i] = v;
            let d = dec(linktype::IPV4, &p);
            assert_eq!(d.anomalies, expect, "byte {i} = {v:#x}");
            assert_eq!(d.ip_version, 0);
            assert_eq!(d.n_layers, 0);
        }
        // IPv4 link type carrying an IPv6 header.
        let d = dec(linktype::IPV4, &ipv6_udp(1, 2, b""));
        assert_eq!(d.anomalies, BAD_IP_HEADER);
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        // 20 + 8 + 1 = 29 byte packet padded to the 46 byte Ethernet minimum.
        let mut f = eth(0x0800, &ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 5, 6, b"z"));
        f.resize(60, 0xAA);
        let d = dec(linktype::ETHERNET, &f);
        assert_eq!(d.anomalies, 0);
        assert_eq!(d.ip_total_len, 29);
        assert_eq!(d.payload_len, 1);
        assert_eq!(d.payload_captured, 1);
        // Same for TCP and other protocols.
        let mut f = eth(
            0x0800,
            &ipv4_tcp([1, 1, 1, 1], [2, 2, 2, 2], 5, 6, 0x18, &[], b""),
        );
        f.resize(60, 0);
        let d = dec(linktype::ETHERNET, &f);
        assert_eq!((d.payload_len, d.payload_captured), (0, 0));
        let mut f = eth(0x0800, &ipv4_raw(132, [1, 1, 1, 1], [2, 2, 2, 2], b"abc"));
        f.resize(60, 0);
        let d = dec(linktype::ETHERNET, &f);
        assert_eq!((d.protocol, d.payload_len, d.payload_captured), (132, 3, 3));
        assert_eq!(d.layer_stack(), &[Layer::Eth, Layer::Ip4, Layer::Other]);
    }

    #[test]
    fn truncated_versus_lying_length() {
        let pkt = ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 5, 6, &[7u8; 100]);
        let mut d = Decoded::default();
        // Snaplen cut: the wire had everything.
        decode(linktype::IPV4, &pkt[..60], pkt.len() as u32, &mut d);
        assert_eq!(d.anomalies, TRUNCATED);
        assert_eq!((d.payload_len, d.payload_captured), (100, 32));
        assert_eq!((d.src_port, d.dst_port), (5, 6));
        // Fully captured, but the header claims more than was on the wire.
        decode(linktype::IPV4, &pkt[..60], 60, &mut d);
        assert_eq!(d.anomalies, IP_LEN_MISMATCH);
        assert_eq!(d.ip_total_len, 128);
        assert_eq!((d.payload_len, d.payload_captured), (32, 32));
        // Both: cut at 40 of a 60 byte wire packet that claims 128.
        decode(linktype::IPV4, &pkt[..40], 60, &mut d);
        assert_eq!(d.anomalies, IP_LEN_MISMATCH | TRUNCATED);
        assert_eq!((d.payload_len, d.payload_captured), (32, 12));
    }

    #[test]
    fn truncated_header() {
        let pkt = ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 5, 6, b"");
        let d = dec(linktype::IPV4, &pkt[..19]);
        assert_eq!(d.anomalies, TRUNCATED);
        assert_eq!(d.ip_version, 0);
        // Options cut: addresses known.
        let mut ip = ipv4_hdr(6, [1, 1, 1, 1], [2, 2, 2, 2], 20);
        ip[0] = 0x46;
        ip[2..4].copy_from_slice(&44u16.to_be_bytes());
        ip.extend_from_slice(&[1, 1]);
        let mut d = Decoded::default();
        decode(linktype::IPV4, &ip, 44, &mut d);
        assert_eq!(d.anomalies, TRUNCATED);
        assert_eq!(d.ip_version, 4);
        assert_eq!(d.ip_opt_len, 4);
        assert_eq!(d.layer_stack(), &[Layer::Ip4]);
    }

    #[test]
    fn fragments() {
        // First fragment: MF, offset 0 -> ports parsed.
        let mut pkt = ipv4_udp([1, 1, 1, 1], [2, 2, 2, 2], 1111, 2222, &[0u8; 16]);
        pkt[4..6].copy_from_slice(&0xbeefu16.to_be_bytes());
        pkt[6] = 0x20;
        let d = dec(linktype::IPV4, &pkt);
        assert_eq!(d.anomalies, FRAGMENT);
        assert!(d.more_fragments);
        assert_eq!(d.ip_flags, 0x1);
        assert_eq!(d.frag_offset, 0);
        assert_eq!(d.frag_id, 0xbeef);
        assert_eq!((d.src_port, d.dst_port), (1111, 2222));
        assert_eq!(d.payload_len, 16);
        // Later fragment: offset 185*8 = 1480, no MF -> no L4.
        pkt[6] = 0x00;
        pkt[7] = 185;
        let d = dec(linktype::IPV4, &pkt);
        assert_eq!(d.anomalies, FRAGMENT);
        assert_eq!(d.frag_offset, 1480);
        assert!(!d.more_fragments);
        assert_eq!((d.src_port, d.dst_port), (0, 0));
        assert_eq!(d.protocol, 17);
        assert_eq!((d.l4_offset, d.payload_offset, d.payload_len), (20, 20, 24));
        assert_eq!(d.layer_stack(), &[Layer::Ip4]);
        // Largest offset fits in u16 bytes.
        pkt[6] = 0x1f;
        pkt[7] = 0xff;
        assert_eq!(dec(linktype::IPV4, &pkt).frag_offset, 65528);
        // Reserved flag bit is reported.
        pkt[6] = 0x80;
        pkt[7] = 0;
        let d = dec(linktype::IPV4, &pkt);
        assert_eq!((d.ip_flags, d.anomalies), (0x4, 0));
    }

    #[test]
    fn decode_ip_entry() {
        let mut buf = vec![0xEEu8; 7];
        buf.extend_from_slice(&ipv4_tcp(
            [9, 9, 9, 9],
            [8, 8, 8, 8],
            80,
            443,
            0x10,
            &[],
            b"hi",
        ));
        let mut d = Decoded::default();
        decode_ip(&buf, 7, &mut d);
        assert_eq!(d.anomalies, 0);
        assert_eq!((d.l3_offset, d.l4_offset, d.payload_offset), (7, 27, 47));
        assert_eq!(d.payload_len, 2);
        decode_ip(&buf, 100, &mut d);
        assert_eq!(d.anomalies, TRUNCATED);
        decode_ip(&buf, 0, &mut d);
        assert_eq!(d.anomalies, BAD_IP_HEADER);
    }
}
