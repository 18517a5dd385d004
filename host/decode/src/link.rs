//! Link layers: NULL/LOOP, Ethernet (VLAN, QinQ, MPLS, PPPoE), Linux SLL/SLL2, raw IP,
//! and the PPP header shared with GRE.

use crate::anomaly::{NOT_IP, TOO_DEEP, TRUNCATED, UNKNOWN_LINKTYPE};
use crate::bytes::{array, be16, be32, has, u8_at};
use crate::{ip, ipv4, ipv6, linktype, Decoded, Layer};
use crate::{MAX_MPLS_LABELS, MAX_TUNNEL_DEPTH, MAX_VLAN_TAGS, NO_VLAN};

pub(crate) const ETH_IPV4: u16 = 0x0800;
pub(crate) const ETH_IPV6: u16 = 0x86DD;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88A8;
const ETH_QINQ_OLD: u16 = 0x9100;
const ETH_MPLS: u16 = 0x8847;
const ETH_MPLS_MC: u16 = 0x8848;
const ETH_PPPOE_SESSION: u16 = 0x8864;

/// Decode a frame of link type `lt`; `end` is the wire length.
#[inline]
pub(crate) fn decode(lt: u32, f: &[u8], end: usize, out: &mut Decoded) {
    match lt {
        linktype::ETHERNET => ethernet(f, 0, end, out),
        linktype::NULL | linktype::LOOP => null(f, end, out),
        linktype::RAW | linktype::RAW_BSD12 | linktype::RAW_BSD14 => ip::by_version(f, 0, end, out),
        linktype::IPV4 => ipv4::decode(f, 0, end, out),
        linktype::IPV6 => ipv6::decode(f, 0, end, out),
        linktype::LINUX_SLL => sll(f, end, out),
        linktype::LINUX_SLL2 => sll2(f, end, out),
        _ => out.anomalies |= UNKNOWN_LINKTYPE,
    }
}

/// BSD loopback: a 4-byte address family in the capturing host's byte order (NULL) or
/// network order (LOOP); both orders are accepted for both.
fn null(f: &[u8], end: usize, out: &mut Decoded) {
    let Some(a) = array::<4>(f, 0) else {
        out.anomalies |= TRUNCATED;
        return;
    };
    out.push_layer(Layer::Null);
    let le = u32::from_le_bytes(*a);
    let family = if le & 0xffff_0000 != 0 {
        u32::from_be_bytes(*a)
    } else {
        le
    };
    match family {
        2 => ipv4::decode(f, 4, end, out),
        // AF_INET6 differs per OS: Linux/BSD 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30.
        10 | 24 | 28 | 30 => ipv6::decode(f, 4, end, out),
        _ => out.anomalies |= NOT_IP,
    }
}

/// Linux cooked capture v1: 16-byte header, protocol at offset 14.
fn sll(f: &[u8], end: usize, out: &mut Decoded) {
    let (true, Some(proto)) = (has(f, 0, 16), be16(f, 14)) else {
        out.anomalies |= TRUNCATED;
        return;
    };
    out.push_layer(Layer::Sll);
    ethertype(f, 16, end, proto, true, out);
}

/// Linux cooked capture v2: 20-byte header, protocol at offset 0.
fn sll2(f: &[u8], end: usize, out: &mut Decoded) {
    let (true, Some(proto)) = (has(f, 0, 20), be16(f, 0)) else {
        out.anomalies |= TRUNCATED;
        return;
    };
    out.push_layer(Layer::Sll2);
    ethertype(f, 20, end, proto, true, out);
}

/// Ethernet II at `off`. Only the outermost Ethernet fills the MAC/EtherType fields.
#[inline]
pub(crate) fn ethernet(f: &[u8], off: usize, end: usize, out: &mut Decoded) {
    let (Some(dst), Some(src), Some(et)) = (
        array::<6>(f, off),
        array::<6>(f, off.saturating_add(6)),
        be16(f, off.saturating_add(12)),
    ) else {
        out.anomalies |= TRUNCATED;
        return;
    };
    let outermost = !out.has_eth;
    if outermost {
        out.has_eth = true;
        out.dst_mac = *dst;
        out.src_mac = *src;
        out.eth_type = et;
    }
    out.push_layer(Layer::Eth);
    ethertype(f, off + 14, end, et, outermost, out);
}

/// Follow EtherType `et` whose payload starts at `off`: VLAN tags, MPLS, PPPoE, IP.
/// `outer_link` tells whether a VLAN tag here belongs to the outermost link (and so may
/// fill `vlan_id`).
#[inline]
pub(crate) fn ethertype(
    f: &[u8],
    mut off: usize,
    end: usize,
    mut et: u16,
    outer_link: bool,
    out: &mut Decoded,
) {
    let mut tags = 0;
    loop {
        match et {
            ETH_IPV4 => return ipv4::decode(f, off, end, out),
            ETH_IPV6 => return ipv6::decode(f, off, end, out),
            ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD => {
                if tags >= MAX_VLAN_TAGS {
                    out.anomalies |= TOO_DEEP;
                    return;
                }
                let (Some(tci), Some(next)) = (be16(f, off), be16(f, off.saturating_add(2))) else {
                    out.anomalies |= TRUNCATED;
                    return;
                };
                tags += 1;
                // The first tag of the outermost link only.
                if outer_link && out.vlan_id == NO_VLAN {
                    out.vlan_id = tci & 0x0fff;
                }
                out.push_layer(Layer::Vlan);
                off += 4;
                et = next;
            }
            ETH_MPLS | ETH_MPLS_MC => return mpls(f, off, end, out),
            ETH_PPPOE_SESSION => return pppoe(f, off, end, out),
            _ => {
                out.anomalies |= NOT_IP;
                return;
            }
        }
    }
}

/// MPLS label stack (one `Mpls` layer for the whole stack), then a guess on the first
/// nibble: 4 IPv4, 6 IPv6, 0 pseudowire control word + Ethernet.
fn mpls(f: &[u8], mut off: usize, end: usize, out: &mut Decoded) {
    out.push_layer(Layer::Mpls);
    let mut labels = 0;
    loop {
        let Some(lse) = be32(f, off) else {
            out.anomalies |= TRUNCATED;
            return;
        };
        off += 4;
        labels += 1;
        if lse & 0x100 != 0 {
            break; // bottom of stack
        }
        if labels >= MAX_MPLS_LABELS {
            out.anomalies |= TOO_DEEP;
            return;
        }
    }
    let Some(first) = u8_at(f, off) else {
        out.anomalies |= TRUNCATED;
        return;
    };
    match first >> 4 {
        4 => ipv4::decode(f, off, end, out),
        6 => ipv6::decode(f, off, end, out),
        0 => {
            // Ethernet pseudowire with the 4-byte control word (RFC 4448).
            if !has(f, off, 4) {
                out.anomalies |= TRUNCATED;
            } else if out.tunnel_depth >= MAX_TUNNEL_DEPTH {
                out.anomalies |= TOO_DEEP;
            } else {
                out.tunnel_depth += 1;
                ethernet(f, off + 4, end, out);
            }
        }
        _ => out.anomalies |= NOT_IP,
    }
}

/// PPPoE session header (6 bytes) then PPP.
fn pppoe(f: &[u8], off: usize, end: usize, out: &mut Decoded) {
    let (Some(vt), Some(code)) = (u8_at(f, off), u8_at(f, off.saturating_add(1))) else {
        out.anomalies |= TRUNCATED;
        return;
    };
    if vt != 0x11 || code != 0 {
        out.anomalies |= NOT_IP;
        return;
    }
    if !has(f, off, 6) {
        out.anomalies |= TRUNCATED;
        return;
    }
    out.push_layer(Layer::Pppoe);
    if ppp(f, off + 6, end, out) == Ppp::NotIp {
        out.anomalies |= NOT_IP;
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ppp {
    /// IPv4/IPv6 found and decoded.
    Ip,
    /// Another PPP protocol (LCP, CCP, compressed data, ...).
    NotIp,
    /// Header cut by the capture (TRUNCATED is set).
    Truncated,
}

/// PPP at `off`: optional 0xFF03 address/control, then a 1-byte (protocol field
/// compression) or 2-byte protocol; 0x21 IPv4, 0x57 IPv6.
pub(crate) fn ppp(f: &[u8], mut off: usize, end: usize, out: &mut Decoded) -> Ppp {
    if be16(f, off) == Some(0xff03) {
        off += 2;
    }
    let Some(b0) = u8_at(f, off) else {
        out.anomalies |= TRUNCATED;
        return Ppp::Truncated;
    };
    let proto = if b0 & 1 == 1 {
        off += 1;
        u16::from(b0)
    } else {
        let Some(p) = be16(f, off) else {
            out.anomalies |= TRUNCATED;
            return Ppp::Truncated;
        };
        off += 2;
        p
    };
    match proto {
        0x0021 => ipv4::decode(f, off, end, out),
        0x0057 => ipv6::decode(f, off, end, out),
        _ => return Ppp::NotIp,
    }
    Ppp::Ip
}

#[cfg(test)]
mod tests {
    use crate::anomaly::*;
    use crate::testutil::*;
    use crate::{decode, linktype, Decoded, Layer, NO_VLAN};

    fn vlan(tci: u16, next: u16) -> Vec<u8> {
        let mut v = tci.to_be_bytes().to_vec();
        v.extend_from_slice(&next.to_be_bytes());
        v
    }

    #[test]
    fn ethernet_ipv4() {
        let f = eth(0x0800, &ipv4_udp([1; 4], [2; 4], 1, 2, b""));
        let d = dec(linktype::ETHERNET, &f);
        assert_eq!(d.anomalies, 0);
        assert!(d.has_eth);
        assert_eq!(
            (d.dst_mac, d.src_mac, d.eth_type),
            (MAC_DST, MAC_SRC, 0x0800)
        );
        assert_eq!((d.vlan_id, d.l3_offset, d.l4_offset), (NO_VLAN, 14, 34));
        assert_eq!(d.layer_stack(), &[Layer::Eth, Layer::Ip4, Layer::Udp]);
    }

    #[test]
    fn ethernet_ipv6() {
        let d = dec(linktype::ETHERNET, &eth(0x86dd, &ipv6_udp(1, 2, b"")));
        assert_eq!((d.anomalies, d.ip_version, d.eth_type), (0, 6, 0x86dd));
    }

    #[test]
    fn ethernet_not_ip() {
        let d = dec(linktype::ETHERNET, &eth(0x0806, &[0u8; 28]));
        assert_eq!((d.anomalies, d.ip_version, d.eth_type), (NOT_IP, 0, 0x0806));
        assert!(d.has_eth);
        assert_eq!(d.layer_stack(), &[Layer::Eth]);
        // 802.3 length field.
        let d = dec(linktype::ETHERNET, &eth(46, &[0u8; 46]));
        assert_eq!(d.anomalies, NOT_IP);
        // Truncated Ethernet header.
        let d = dec(linktype::ETHERNET, &[0u8; 13]);
        assert_eq!((d.anomalies, d.has_eth), (TRUNCATED, false));
    }

    #[test]
    fn vlan_and_qinq() {
        let mut p = vlan(0x2064, 0x0800); // PCP 1, VID 100
        p.extend(ipv4_udp([1; 4], [2; 4], 1, 2, b""));
        let d = dec(linktype::ETHERNET, &eth(0x8100, &p));
        assert_eq!(d.anomalies, 0);
        assert_eq!((d.eth_type, d.vlan_id, d.l3_offset), (0x8100, 100, 18));
        assert_eq!(
            d.layer_stack(),
            &[Layer::Eth, Layer::Vlan, Layer::Ip4, Layer::Udp]
        );
        for outer in [0x88a8u16, 0x9100, 0x8100] {
            let mut p = vlan(10, 0x8100);
            p.extend(vlan(20, 0x86dd));
            p.extend(ipv6_udp(1, 2, b""));
            let d = dec(linktype::ETHERNET, &eth(outer, &p));
            assert_eq!(d.anomalies, 0);
            assert_eq!((d.eth_type, d.vlan_id, d.l3_offset), (outer, 10, 22));
            assert_eq!(
                d.layer_stack(),
                &[Layer::Eth, Layer::Vlan, Layer::Vlan, Layer::Ip6, Layer::Udp]
            );
        }
        // Too many tags.
        let mut p = Vec::new();
        for i in 0..6 {
            p.extend(vlan(i, 0x8100));
        }
        let d = dec(linktype::ETHERNET, &eth(0x8100, &p));
        assert_eq!((d.anomalies, d.vlan_id), (TOO_DEEP, 0));
        // Truncated tag.
        let d = dec(linktype::ETHERNET, &eth(0x8100, &[0, 1]));
        assert_eq!(d.anomalies, TRUNCATED);
        // VLAN carrying ARP.
        let d = dec(linktype::ETHERNET, &eth(0x8100, &vlan(5, 0x0806)));
        assert_eq!((d.anomalies, d.vlan_id), (NOT_IP, 5));
    }

    #[test]
    fn mpls() {
        let mut p = mpls_label(100, false);
        p.extend(mpls_label(200, true));
        p.extend(ipv4_tcp([1; 4], [2; 4], 1, 2, 0x02, &[], b""));
        let d = dec(linktype::ETHERNET, &eth(0x8847, &p));
        assert_eq!(d.anomalies, 0);
        assert_eq!((d.eth_type, d.l3_offset, d.src_port), (0x8847, 22, 1));
        assert_eq!(
            d.layer_stack(),
            &[Layer::Eth, Layer::Mpls, Layer::Ip4, Layer::Tcp]
        );
        let mut p = mpls_label(3, true);
        p.extend(ipv6_udp(1, 2, b""));
        let d = dec(linktype::ETHERNET, &eth(0x8848, &p));
        assert_eq!((d.anomalies, d.ip_version), (0, 6));
        // No bottom of stack within the limit.
        let mut p = Vec::new();
        for _ in 0..10 {
            p.extend(mpls_label(1, false));
        }
        assert_eq!(
            dec(linktype::ETHERNET, &eth(0x8847, &p)).anomalies,
            TOO_DEEP
        );
        // Unknown payload.
        let mut p = mpls_label(1, true);
        p.extend_from_slice(&[0x99; 20]);
        assert_eq!(dec(linktype::ETHERNET, &eth(0x8847, &p)).anomalies, NOT_IP);
        // Cut inside the stack.
        let p = mpls_label(1, false);
        let d = dec(linktype::ETHERNET, &eth(0x8847, &p[..3]));
        assert_eq!(d.anomalies, TRUNCATED);
    }

    #[test]
    fn mpls_ethernet_pseudowire() {
        let mut p = mpls_label(16, true);
        p.extend_from_slice(&[0, 0, 0, 1]); // control word
        let mut inner = vec![0x02, 0, 0, 0, 0, 9, 0x02, 0, 0, 0, 0, 8, 0x08, 0x00];
        inner.extend(ipv4_udp([7; 4], [8; 4], 9, 10, b"pw"));
        p.extend(inner);
        let d = dec(linktype::ETHERNET, &eth(0x8847, &p));
        assert_eq!(d.anomalies, 0);
        assert_eq!((d.src_ip[0], d.src_port, d.dst_port), (7, 9, 10));
        assert_eq!(d.dst_mac, MAC_DST, "outermost Ethernet kept");
        assert_eq!(d.tunnel_depth, 1);
        assert_eq!(
            d.layer_stack(),
            &[Layer::Eth, Layer::Mpls, Layer::Eth, Layer::Ip4, Layer::Udp]
        );
    }

    #[test]
    fn pppoe_session() {
        for (proto, body, v) in [
            (0x0021u16, ipv4_udp([1; 4], [2; 4], 1, 2, b""), 4u8),
            (0x0057, ipv6_udp(1, 2, b""), 6),
        ] {
            let mut p = vec![0x11, 0x00, 0x12, 0x34];
            p.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
            p.extend_from_slice(&proto.to_be_bytes());
            p.extend(body);
            let d = dec(linktype::ETHERNET, &eth(0x8864, &p));
            assert_eq!((d.anomalies, d.ip_version, d.l3_offset), (0, v, 22));
            assert_eq!(
                d.layer_stack()[..3],
                [
                    Layer::Eth,
                    Layer::Pppoe,
                    if v == 4 { Layer::Ip4 } else { Layer::Ip6 }
                ]
            );
        }
        // LCP.
        let p = [0x11, 0, 0, 1, 0, 6, 0xc0, 0x21, 1, 1, 0, 4];
        let d = dec(linktype::ETHERNET, &eth(0x8864, &p));
        assert_eq!(d.anomalies, NOT_IP);
        // Discovery stage.
        let d = dec(linktype::ETHERNET, &eth(0x8863, &[0x11, 0x09, 0, 0, 0, 0]));
        assert_eq!(d.anomalies, NOT_IP);
    }

    #[test]
    fn null_and_loop_both_byte_orders() {
        let v4 = ipv4_udp([1; 4], [2; 4], 1, 2, b"");
        let v6 = ipv6_udp(1, 2, b"");
        for lt in [linktype::NULL, linktype::LOOP] {
            for (fam, body, ver) in [
                (2u32, &v4, 4u8),
                (10, &v6, 6),
                (24, &v6, 6),
                (28, &v6, 6),
                (30, &v6, 6),
            ] {
                for bytes in [fam.to_le_bytes(), fam.to_be_bytes()] {
                    let mut f = bytes.to_vec();
                    f.extend_from_slice(body);
                    let d = dec(lt, &f);
                    assert_eq!((d.anomalies, d.ip_version, d.l3_offset), (0, ver, 4));
                    assert_eq!(d.layer_stack()[0], Layer::Null);
                    assert!(!d.has_eth);
                }
            }
            let mut f = 7u32.to_le_bytes().to_vec();
            f.extend_from_slice(&v4);
            assert_eq!(dec(lt, &f).anomalies, NOT_IP);
            assert_eq!(dec(lt, &[2, 0]).anomalies, TRUNCATED);
        }
    }

    #[test]
    fn raw_link_types() {
        for lt in [linktype::RAW, linktype::RAW_BSD12, linktype::RAW_BSD14] {
            let d = dec(lt, &ipv4_udp([1; 4], [2; 4], 1, 2, b""));
            assert_eq!((d.anomalies, d.ip_version, d.l3_offset), (0, 4, 0));
            let d = dec(lt, &ipv6_udp(1, 2, b""));
            assert_eq!((d.anomalies, d.ip_version), (0, 6));
            assert_eq!(dec(lt, &[0x20; 40]).anomalies, BAD_IP_HEADER);
            assert_eq!(dec(lt, &[]).anomalies, TRUNCATED);
        }
        let d = dec(linktype::IPV4, &ipv4_udp([1; 4], [2; 4], 1, 2, b""));
        assert_eq!((d.anomalies, d.ip_version), (0, 4));
        let d = dec(linktype::IPV6, &ipv6_udp(1, 2, b""));
        assert_eq!((d.anomalies, d.ip_version), (0, 6));
    }

    #[test]
    fn linux_sll() {
        let mut f = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        f.extend(ipv4_udp([1; 4], [2; 4], 1, 2, b""));
        let d = dec(linktype::LINUX_SLL, &f);
        assert_eq!(
            (d.anomalies, d.ip_version, d.l3_offset, d.has_eth),
            (0, 4, 16, false)
        );
        assert_eq!(d.layer_stack(), &[Layer::Sll, Layer::Ip4, Layer::Udp]);
        // VLAN not stripped by the kernel.
        let mut f = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x81, 0x00];
        f.extend(vlan(42, 0x86dd));
        f.extend(ipv6_udp(1, 2, b""));
        let d = dec(linktype::LINUX_SLL, &f);
        assert_eq!((d.anomalies, d.ip_version, d.vlan_id), (0, 6, 42));
        assert_eq!(dec(linktype::LINUX_SLL, &f[..15]).anomalies, TRUNCATED);
        f[14] = 0x08;
        f[15] = 0x06;
        assert_eq!(dec(linktype::LINUX_SLL, &f).anomalies, NOT_IP);
    }

    #[test]
    fn linux_sll2() {
        let mut f = vec![
            0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
        ];
        f.extend(ipv6_udp(1, 2, b"x"));
        let d = dec(linktype::LINUX_SLL2, &f);
        assert_eq!(
            (d.anomalies, d.ip_version, d.l3_offset, d.payload_len),
            (0, 6, 20, 1)
        );
        assert_eq!(d.layer_stack(), &[Layer::Sll2, Layer::Ip6, Layer::Udp]);
        assert_eq!(dec(linktype::LINUX_SLL2, &f[..19]).anomalies, TRUNCATED);
    }

    #[test]
    fn unknown_linktype() {
        let mut d = Decoded::default();
        decode(147, &[0x45; 60], 60, &mut d);
        assert_eq!(
            (d.anomalies, d.ip_version, d.n_layers),
            (UNKNOWN_LINKTYPE, 0, 0)
        );
    }
}
