//! IPv6 header and extension header chain.

use crate::anomaly::{BAD_IPV6_EXT, BAD_IP_HEADER, TRUNCATED};
use crate::bytes::{array, be16, be32, sat32, u8_at};
use crate::ip::{self, Frag};
use crate::{Decoded, Layer, MAX_IPV6_EXT};

/// `Decoded::ipv6_ext_mask` bits.
pub(crate) const EXT_HBH: u8 = 1 << 0;
pub(crate) const EXT_ROUTING: u8 = 1 << 1;
pub(crate) const EXT_DSTOPTS: u8 = 1 << 2;
pub(crate) const EXT_FRAGMENT: u8 = 1 << 3;
pub(crate) const EXT_AH: u8 = 1 << 4;
pub(crate) const EXT_ESP: u8 = 1 << 5;
pub(crate) const EXT_MOBILITY: u8 = 1 << 6;

const NH_HBH: u8 = 0;
const NH_ROUTING: u8 = 43;
const NH_FRAGMENT: u8 = 44;
const NH_ESP: u8 = 50;
const NH_AH: u8 = 51;
const NH_NO_NEXT: u8 = 59;
const NH_DSTOPTS: u8 = 60;
const NH_MOBILITY: u8 = 135;

/// Decode an IPv6 packet at `off` in a container ending at `end`.
#[inline]
pub(crate) fn decode(f: &[u8], off: usize, end: usize, out: &mut Decoded) {
    let Some(h) = array::<40>(f, off) else {
        out.anomalies |= match u8_at(f, off) {
            Some(b) if b >> 4 != 6 => BAD_IP_HEADER,
            _ => TRUNCATED,
        };
        return;
    };
    if h[0] >> 4 != 6 {
        out.anomalies |= BAD_IP_HEADER;
        return;
    }
    let plen = u16::from_be_bytes([h[4], h[5]]);
    out.ip_version = 6;
    out.src_ip.copy_from_slice(&h[8..24]);
    out.dst_ip.copy_from_slice(&h[24..40]);
    out.tos = (h[0] << 4) | (h[1] >> 4);
    out.flow_label = u32::from_be_bytes([0, h[1] & 0x0f, h[2], h[3]]);
    out.ttl = h[7];
    out.protocol = h[6];
    out.l3_offset = sat32(off);
    out.push_layer(Layer::Ip6);

    let mut payload = u32::from(plen);
    if plen == 0 && h[6] == NH_HBH {
        if let Some(j) = jumbo(f, off + 40) {
            if j <= 0xffff {
                out.anomalies |= BAD_IPV6_EXT; // RFC 2675: jumbo only for > 65535
            }
            payload = j;
        }
    }
    out.ip_total_len = payload.saturating_add(40);
    let claimed = off
        .saturating_add(40)
        .saturating_add(usize::try_from(payload).unwrap_or(usize::MAX));
    let ip_end = ip::bound_end(claimed, end, f.len(), out);
    walk(f, off + 40, ip_end, h[6], out);
}

/// The Jumbo Payload option value of the hop-by-hop header at `p`, if any.
fn jumbo(f: &[u8], p: usize) -> Option<u32> {
    let hlen = (usize::from(u8_at(f, p + 1)?) + 1) * 8;
    let end = p + hlen;
    let mut o = p + 2;
    while o < end {
        let t = u8_at(f, o)?;
        if t == 0 {
            o += 1; // Pad1
            continue;
        }
        let len = usize::from(u8_at(f, o + 1)?);
        if t == 0xC2 && len == 4 {
            return be32(f, o + 2);
        }
        o += 2 + len;
    }
    None
}

/// Walk the extension headers starting with `nh` at `p`, then decode the upper layer.
#[inline]
fn walk(f: &[u8], mut p: usize, ip_end: usize, mut nh: u8, out: &mut Decoded) {
    let mut frag = Frag::No;
    let mut count: u8 = 0;
    let mut mask: u8 = 0;
    let status = loop {
        let bit = match nh {
            NH_HBH => EXT_HBH,
            NH_ROUTING => EXT_ROUTING,
            NH_DSTOPTS => EXT_DSTOPTS,
            NH_FRAGMENT => EXT_FRAGMENT,
            NH_AH => EXT_AH,
            NH_ESP => EXT_ESP,
            NH_MOBILITY => EXT_MOBILITY,
            _ => break Walk::Upper,
        };
        if count >= MAX_IPV6_EXT {
            out.anomalies |= BAD_IPV6_EXT;
            break Walk::Stop;
        }
        if nh == NH_ESP {
            // Encrypted from here on: NH_ESP is the upper layer.
            count += 1;
            mask |= bit;
            break Walk::Upper;
        }
        if nh == NH_HBH && count > 0 {
            out.anomalies |= BAD_IPV6_EXT; // hop-by-hop must come first; keep walking
        }
        if p.saturating_add(2) > ip_end {
            out.anomalies |= BAD_IPV6_EXT;
            break Walk::Stop;
        }
        let (Some(next), Some(len)) = (u8_at(f, p), u8_at(f, p + 1)) else {
            out.anomalies |= TRUNCATED;
            break Walk::Stop;
        };
        let len = usize::from(len);
        let hlen = match nh {
            NH_FRAGMENT => 8,
            NH_AH => (len + 2) * 4,
            _ => (len + 1) * 8,
        };
        if p.saturating_add(hlen) > ip_end {
            out.anomalies |= BAD_IPV6_EXT;
            break Walk::Stop;
        }
        count += 1;
        mask |= bit;
        if nh == NH_FRAGMENT {
            let (Some(fo), Some(id)) = (be16(f, p + 2), be32(f, p + 4)) else {
                out.anomalies |= TRUNCATED;
                break Walk::Stop;
            };
            out.frag_offset = fo & 0xfff8;
            out.more_fragments = fo & 1 != 0;
            out.frag_id = id;
            frag = Frag::of(out.frag_offset, out.more_fragments);
            if frag == Frag::Later {
                // No further headers in a later fragment: `next` is the fragmented protocol.
                p += hlen;
                nh = next;
                break Walk::Upper;
            }
        }
        if nh == NH_MOBILITY && next == NH_NO_NEXT {
            // The mobility message is the upper-layer content.
            break Walk::Upper;
        }
        p += hlen;
        nh = next;
    };
    out.ipv6_ext_count = count;
    out.ipv6_ext_mask = mask;
    out.protocol = nh;
    if status == Walk::Upper {
        ip::upper(f, out, nh, p, ip_end, frag);
    } else if frag != Frag::No {
        out.anomalies |= crate::anomaly::FRAGMENT;
    }
}

#[derive(PartialEq, Eq)]
enum Walk {
    /// `nh` at `p` is the upper-layer protocol.
    Upper,
    /// Chain broken or truncated: no upper layer.
    Stop,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anomaly::*;
    use crate::testutil::*;
    use crate::{decode, linktype, Decoded, Layer};

    /// A generic (len+1)*8 extension header of `units` 8-byte units.
    fn ext(next: u8, units: u8) -> Vec<u8> {
        let mut v = vec![0u8; (usize::from(units) + 1) * 8];
        v[0] = next;
        v[1] = units;
        v[2] = 1; // PadN
        v[3] = (v.len() - 4) as u8;
        v
    }

    fn frag_hdr(next: u8, off: u16, more: bool, id: u32) -> Vec<u8> {
        let mut v = vec![next, 0];
        v.extend_from_slice(&(off | u16::from(more)).to_be_bytes());
        v.extend_from_slice(&id.to_be_bytes());
        v
    }

    fn v6(nh: u8, body: &[u8]) -> Vec<u8> {
        ipv6_raw(nh, body)
    }

    #[test]
    fn fixed_header() {
        let mut p = ipv6_udp(5353, 5353, b"hello");
        p[0] = 0x6a; // traffic class 0xab
        p[1] = 0xb1;
        p[2] = 0x23;
        p[3] = 0x45;
        p[7] = 255;
        let d = dec(linktype::IPV6, &p);
        assert_eq!(d.anomalies, 0);
        assert_eq!(d.ip_version, 6);
        assert_eq!(d.tos, 0xab);
        assert_eq!(d.flow_label, 0x12345);
        assert_eq!(d.ttl, 255);
        assert_eq!(d.ip_total_len, 40 + 8 + 5);
        assert_eq!(d.src_ip, V6_SRC);
        assert_eq!(d.dst_ip, V6_DST);
        assert_eq!((d.protocol, d.src_port, d.dst_port), (17, 5353, 5353));
        assert_eq!((d.l4_offset, d.payload_offset, d.payload_len), (40, 48, 5));
        assert_eq!((d.ipv6_ext_count, d.ipv6_ext_mask), (0, 0));
        assert_eq!(d.layer_stack(), &[Layer::Ip6, Layer::Udp]);
    }

    #[test]
    fn each_extension_kind() {
        let udp = {
            let mut u = udp_hdr(1, 2, 3);
            u.extend_from_slice(b"abc");
            u
        };
        let cases: [(u8, Vec<u8>, u8); 5] = [
            (NH_HBH, ext(17, 0), EXT_HBH),
            (NH_ROUTING, ext(17, 2), EXT_ROUTING),
            (NH_DSTOPTS, ext(17, 1), EXT_DSTOPTS),
            (NH_FRAGMENT, frag_hdr(17, 0, false, 7), EXT_FRAGMENT),
            // NH_AH: length in 4-byte units minus 2: 24 bytes = len 4.
            (
                NH_AH,
                {
                    let mut a = vec![0u8; 24];
                    a[0] = 17;
                    a[1] = 4;
                    a
                },
                EXT_AH,
            ),
        ];
        for (nh, hdr, bit) in cases {
            let mut body = hdr.clone();
            body.extend_from_slice(&udp);
            let d = dec(linktype::IPV6, &v6(nh, &body));
            assert_eq!(d.anomalies, 0, "nh {nh}");
            assert_eq!((d.ipv6_ext_count, d.ipv6_ext_mask), (1, bit), "nh {nh}");
            assert_eq!(d.protocol, 17);
            assert_eq!(d.l4_offset as usize, 40 + hdr.len());
            assert_eq!((d.src_port, d.dst_port, d.payload_len), (1, 2, 3));
        }
    }

    #[test]
    fn chain_of_extensions() {
        let mut body = ext(NH_ROUTING, 0);
        body.extend(ext(NH_DSTOPTS, 1));
        body.extend(ext(6, 0));
        body.extend(tcp_hdr(10, 20, 0x02, &[]));
        let d = dec(linktype::IPV6, &v6(NH_HBH, &body));
        assert_eq!(d.anomalies, 0);
        assert_eq!(d.ipv6_ext_count, 3);
        assert_eq!(d.ipv6_ext_mask, EXT_HBH | EXT_ROUTING | EXT_DSTOPTS);
        assert_eq!((d.protocol, d.src_port, d.dst_port), (6, 10, 20));
        assert_eq!(d.l4_offset, 40 + 8 + 16 + 8);
    }

    #[test]
    fn segment_routing_header() {
        // SRH (routing type 4) with two segments: 8 + 2*16 bytes, len = 4.
        let mut srh = vec![0u8; 40];
        srh[0] = 17;
        srh[1] = 4;
        srh[2] = 4; // routing type 4
        srh[3] = 1; // segments left
        srh[4] = 1; // last entry
        let mut body = srh;
        body.extend(udp_hdr(7, 8, 0));
        let d = dec(linktype::IPV6, &v6(NH_ROUTING, &body));
        assert_eq!(d.anomalies, 0);
        assert_eq!((d.ipv6_ext_mask, d.l4_offset), (EXT_ROUTING, 80));
        assert_eq!((d.src_port, d.dst_port), (7, 8));
    }

    #[test]
    fn esp_stops_the_walk() {
        let mut body = ext(NH_ESP, 0);
        body.extend_from_slice(&[0, 0, 1, 0, 0, 0, 0, 1, 0xde, 0xad]);
        let d = dec(linktype::IPV6, &v6(NH_DSTOPTS, &body));
        assert_eq!(d.anomalies, 0);
        assert_eq!(d.protocol, 50);
        assert_eq!(
            (d.ipv6_ext_count, d.ipv6_ext_mask),
            (2, EXT_DSTOPTS | EXT_ESP)
        );
        assert_eq!((d.l4_offset, d.payload_offset, d.payload_len), (48, 48, 10));
        assert_eq!((d.src_port, d.dst_port), (0, 0));
        assert_eq!(d.layer_stack(), &[Layer::Ip6, Layer::Other]);
    }

    #[test]
    fn mobility_header() {
        // Binding update: payload proto 59, 16 bytes.
        let mut mh = vec![0u8; 16];
        mh[0] = NH_NO_NEXT;
        mh[1] = 1;
        mh[2] = 5; // MH type
        let d = dec(linktype::IPV6, &v6(NH_MOBILITY, &mh));
        assert_eq!(d.anomalies, 0);
        assert_eq!(d.protocol, 135);
        assert_eq!((d.ipv6_ext_count, d.ipv6_ext_mask), (1, EXT_MOBILITY));
        assert_eq!((d.l4_offset, d.payload_len), (40, 16));
        // A (non-standard) mobility header followed by UDP is walked through.
        let mut mh2 = mh.clone();
        mh2[0] = 17;
        mh2.extend(udp_hdr(3, 4, 0));
        let d = dec(linktype::IPV6, &v6(NH_MOBILITY, &mh2));
        assert_eq!((d.protocol, d.src_port, d.ipv6_ext_count), (17, 3, 1));
    }

    #[test]
    fn no_next_header() {
        let d = dec(linktype::IPV6, &v6(NH_NO_NEXT, &[]));
        assert_eq!((d.anomalies, d.protocol, d.payload_len), (0, 59, 0));
    }

    #[test]
    fn jumbo_payload() {
        // Hop-by-hop with the Jumbo Payload option, then UDP (length 0) and data.
        let jumbo_len: u32 = 70_000;
        let mut hbh = vec![17u8, 0, 0xC2, 4];
        hbh.extend_from_slice(&jumbo_len.to_be_bytes());
        let mut body = hbh;
        body.extend(udp_hdr(9, 10, 0));
        body[8 + 4..8 + 6].copy_from_slice(&[0, 0]);
        body.resize(jumbo_len as usize, 0x55);
        let mut p = v6(NH_HBH, &body);
        p[4] = 0;
        p[5] = 0;
        let d = dec(linktype::IPV6, &p);
        assert_eq!(d.anomalies, 0);
        assert_eq!(d.ip_total_len, 70_040);
        assert_eq!((d.src_port, d.dst_port), (9, 10));
        assert_eq!(d.payload_len, 70_000 - 16);
        // Snaplen cut of the same packet.
        let mut dd = Decoded::default();
        decode(linktype::IPV6, &p[..200], p.len() as u32, &mut dd);
        assert_eq!(dd.anomalies, TRUNCATED);
        assert_eq!(
            (dd.payload_len, dd.payload_captured),
            (70_000 - 16, 200 - 56)
        );
        // A "jumbo" that is not > 65535 is flagged but used.
        let mut q = p[..200].to_vec();
        q[40 + 4..40 + 8].copy_from_slice(&160u32.to_be_bytes());
        let d = dec(linktype::IPV6, &q);
        // (and UDP length 0 is only legal in a real jumbogram)
        assert_eq!(d.anomalies, BAD_IPV6_EXT | BAD_L4_HEADER);
        assert_eq!(d.ip_total_len, 200);
    }

    #[test]
    fn fragments() {
        // First fragment: ports parsed.
        let mut body = frag_hdr(17, 0, true, 0xdead_beef);
        body.extend(udp_hdr(53, 5353, 100));
        body.extend_from_slice(&[0u8; 24]);
        let d = dec(linktype::IPV6, &v6(NH_FRAGMENT, &body));
        assert_eq!(d.anomalies, FRAGMENT);
        assert_eq!(
            (d.frag_id, d.frag_offset, d.more_fragments),
            (0xdead_beef, 0, true)
        );
        assert_eq!((d.src_port, d.dst_port, d.protocol), (53, 5353, 17));
        assert_eq!(d.payload_len, 24);
        // Later fragment: no L4.
        let mut body = frag_hdr(17, 1232, false, 0xdead_beef);
        body.extend_from_slice(&[0xffu8; 30]);
        let d = dec(linktype::IPV6, &v6(NH_FRAGMENT, &body));
        assert_eq!(d.anomalies, FRAGMENT);
        assert_eq!((d.frag_offset, d.more_fragments), (1232, false));
        assert_eq!((d.src_port, d.dst_port, d.protocol), (0, 0, 17));
        assert_eq!((d.l4_offset, d.payload_len), (48, 30));
        assert_eq!(d.layer_stack(), &[Layer::Ip6]);
        // Atomic fragment (offset 0, no M): not a fragment.
        let mut body = frag_hdr(17, 0, false, 1);
        body.extend(udp_hdr(1, 2, 0));
        let d = dec(linktype::IPV6, &v6(NH_FRAGMENT, &body));
        assert_eq!((d.anomalies, d.src_port), (0, 1));
    }

    #[test]
    fn malformed_chains() {
        // Extension header longer than the payload.
        let mut body = ext(17, 0);
        body[1] = 5;
        let d = dec(linktype::IPV6, &v6(NH_DSTOPTS, &body));
        assert_eq!(d.anomalies, BAD_IPV6_EXT);
        assert_eq!((d.ip_version, d.protocol, d.src_port), (6, NH_DSTOPTS, 0));
        // Hop-by-hop not first.
        let mut body = ext(NH_HBH, 0);
        body.extend(ext(17, 0));
        body.extend(udp_hdr(1, 2, 0));
        let d = dec(linktype::IPV6, &v6(NH_DSTOPTS, &body));
        assert_eq!(d.anomalies, BAD_IPV6_EXT);
        assert_eq!(d.src_port, 1);
        // Too many headers.
        let mut body = Vec::new();
        for _ in 0..20 {
            body.extend(ext(NH_DSTOPTS, 0));
        }
        let d = dec(linktype::IPV6, &v6(NH_DSTOPTS, &body));
        assert_eq!(d.anomalies, BAD_IPV6_EXT);
        assert_eq!(d.ipv6_ext_count, MAX_IPV6_EXT);
        // Empty payload with an extension header announced.
        let d = dec(linktype::IPV6, &v6(NH_ROUTING, &[]));
        assert_eq!(d.anomalies, BAD_IPV6_EXT);
        // Snaplen cut inside the chain.
        let mut body = ext(NH_ROUTING, 0);
        body.extend(ext(17, 0));
        body.extend(udp_hdr(1, 2, 0));
        let p = v6(NH_HBH, &body);
        let mut d = Decoded::default();
        decode(linktype::IPV6, &p[..48], p.len() as u32, &mut d);
        assert_eq!(d.anomalies, TRUNCATED);
        assert_eq!((d.ip_version, d.ipv6_ext_count), (6, 1));
    }

    #[test]
    fn header_truncated_or_bad() {
        let p = ipv6_udp(1, 2, b"");
        let d = dec(linktype::IPV6, &p[..39]);
        assert_eq!((d.anomalies, d.ip_version), (TRUNCATED, 0));
        let mut q = p.clone();
        q[0] = 0x45;
        assert_eq!(dec(linktype::IPV6, &q).anomalies, BAD_IP_HEADER);
        let mut d = Decoded::default();
        decode(linktype::IPV6, &p, 20, &mut d); // wire shorter than capture: ignored
        assert_eq!(d.anomalies, 0);
    }
}
