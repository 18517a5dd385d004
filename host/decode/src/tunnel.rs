//! Tunnels: IP-in-IP (4, 41), GRE (v0, PPTP v1, with PPP, transparent Ethernet bridging,
//! ERSPAN I/II/III), VXLAN and GTP-U.
//!
//! A tunnel is decoded into a cleared flow. When an inner IP header is found the result
//! describes the innermost packet; otherwise the outer flow is restored unchanged and the
//! reason is recorded (BAD_TUNNEL, TRUNCATED, TOO_DEEP, INNER_NOT_IP).

use crate::anomaly::{BAD_IP_HEADER, BAD_TUNNEL, INNER_NOT_IP, NOT_IP, TOO_DEEP, TRUNCATED};
use crate::bytes::{be16, has, u8_at};
use crate::ip::{bounded, set_payload};
use crate::link::{self, Ppp};
use crate::{ipv4, ipv6, Decoded, Layer, MAX_TUNNEL_DEPTH};

/// Why a tunnel header did not lead to an inner packet, and which layer to record on
/// the restored outer flow.
pub(crate) struct Stop {
    bits: u32,
    layer: Layer,
}

/// The anomaly for a header whose bytes `[.., need)` are missing: past the enclosing
/// length it is malformed, past the capture it is cut.
fn missing(need: usize, end: usize) -> u32 {
    if need > end {
        BAD_TUNNEL
    } else {
        TRUNCATED
    }
}

/// Decode a tunnel with `inner` on a cleared flow; keep the result if it reached an inner
/// IP header, else restore the outer flow and push `fallback` (or the `Stop`'s layer).
fn nest(out: &mut Decoded, fallback: Layer, inner: impl FnOnce(&mut Decoded) -> Result<(), Stop>) {
    if out.tunnel_depth >= MAX_TUNNEL_DEPTH {
        out.anomalies |= TOO_DEEP;
        out.push_layer(fallback);
        return;
    }
    let outer = *out;
    out.clear_flow();
    out.tunnel_depth += 1;
    let (bits, layer) = match inner(out) {
        Ok(()) if out.ip_version != 0 => return,
        Ok(()) => {
            let new = out.anomalies & !outer.anomalies;
            let mut bits = new & (TRUNCATED | TOO_DEEP | BAD_TUNNEL | INNER_NOT_IP);
            if new & NOT_IP != 0 {
                bits |= INNER_NOT_IP;
            }
            if new & BAD_IP_HEADER != 0 {
                bits |= BAD_TUNNEL;
            }
            (bits, fallback)
        }
        Err(stop) => (stop.bits, stop.layer),
    };
    *out = outer;
    out.push_layer(layer);
    out.anomalies |= bits;
}

/// IP protocol 4 (IPv4), 41 (IPv6) or 47 (GRE) at `l4`, in an IP packet ending at `ip_end`.
pub(crate) fn ip_proto(f: &[u8], proto: u8, l4: usize, ip_end: usize, out: &mut Decoded) {
    // The outer flow, kept if the tunnel cannot be followed.
    set_payload(f, l4, ip_end, out);
    match proto {
        4 => nest(out, Layer::Other, |o| {
            ipv4::decode(f, l4, ip_end, o);
            Ok(())
        }),
        41 => nest(out, Layer::Other, |o| {
            ipv6::decode(f, l4, ip_end, o);
            Ok(())
        }),
        _ => nest(out, Layer::Gre, |o| gre(f, l4, ip_end, o)),
    }
}

const GRE_C: u16 = 0x8000;
const GRE_R: u16 = 0x4000;
const GRE_K: u16 = 0x2000;
const GRE_S: u16 = 0x1000;
const GRE_A: u16 = 0x0080;
/// Bits that must be zero in PPTP enhanced GRE: C, R, s, Recur, Flags.
const GRE_V1_ZERO: u16 = 0xCF78;

const GRE_TEB: u16 = 0x6558;
const GRE_PPP: u16 = 0x880B;
const GRE_ERSPAN2: u16 = 0x88BE;
const GRE_ERSPAN3: u16 = 0x22EB;

/// GRE header at `off` (RFC 2784/2890 version 0, RFC 2637 version 1).
fn gre(f: &[u8], off: usize, end: usize, o: &mut Decoded) -> Result<(), Stop> {
    let bad = |bits| Stop {
        bits,
        layer: Layer::Gre,
    };
    let g = bounded(f, end);
    let (Some(flags), Some(proto)) = (be16(g, off), be16(g, off + 2)) else {
        return Err(bad(missing(off + 4, end)));
    };
    let mut hlen = 4;
    match flags & 7 {
        0 => {
            if flags & GRE_R != 0 {
                return Err(bad(BAD_TUNNEL)); // RFC 1701 source routing: unsupported
            }
            for bit in [GRE_C, GRE_K, GRE_S] {
                if flags & bit != 0 {
                    hlen += 4;
                }
            }
        }
        1 => {
            if flags & GRE_V1_ZERO != 0 || flags & GRE_K == 0 || proto != GRE_PPP {
                return Err(bad(BAD_TUNNEL));
            }
            hlen += 4; // key: payload length + call id
            for bit in [GRE_S, GRE_A] {
                if flags & bit != 0 {
                    hlen += 4;
                }
            }
        }
        _ => return Err(bad(BAD_TUNNEL)),
    }
    if !has(g, off, hlen) {
        return Err(bad(missing(off + hlen, end)));
    }
    o.push_layer(Layer::Gre);
    let p = off + hlen;
    if p >= end {
        // No payload (a PPTP acknowledgement, a keepalive): the GRE packet is the flow.
        return Err(bad(0));
    }
    match proto {
        GRE_TEB => link::ethernet(f, p, end, o),
        GRE_PPP => {
            if link::ppp(f, p, end, o) == Ppp::NotIp {
                o.anomalies |= NOT_IP;
            }
        }
        GRE_ERSPAN2 => {
            o.push_layer(Layer::Erspan);
            if flags & GRE_S == 0 {
                // ERSPAN type I: no ERSPAN header.
                link::ethernet(f, p, end, o);
            } else {
                erspan(f, p, end, 1, 8, o)?;
            }
        }
        GRE_ERSPAN3 => {
            o.push_layer(Layer::Erspan);
            let hl = if u8_at(g, p + 11).is_some_and(|b| b & 1 != 0) {
                20 // platform-specific subheader present (O bit)
            } else {
                12
            };
            erspan(f, p, end, 2, hl, o)?;
        }
        et => link::ethertype(f, p, end, et, false, o),
    }
    Ok(())
}

/// ERSPAN header of version `ver` and length `hlen` at `p`, then Ethernet.
fn erspan(
    f: &[u8],
    p: usize,
    end: usize,
    ver: u8,
    hlen: usize,
    o: &mut Decoded,
) -> Result<(), Stop> {
    let bad = |bits| Stop {
        bits,
        layer: Layer::Gre,
    };
    let g = bounded(f, end);
    if !has(g, p, hlen) {
        return Err(bad(missing(p + hlen, end)));
    }
    if u8_at(g, p).map(|b| b >> 4) != Some(ver) {
        return Err(bad(BAD_TUNNEL));
    }
    link::ethernet(f, p + hlen, end, o);
    Ok(())
}

/// VXLAN (RFC 7348) at the UDP payload `p`: 8-byte header with the I flag, then Ethernet.
/// Without the I flag the packet is left as plain UDP.
pub(crate) fn vxlan(f: &[u8], p: usize, end: usize, out: &mut Decoded) {
    let g = bounded(f, end);
    match u8_at(g, p) {
        Some(flags) if flags & 0x08 != 0 => {}
        _ => return,
    }
    nest(out, Layer::None, |o| {
        if !has(g, p, 8) {
            return Err(Stop {
                bits: missing(p + 8, end),
                layer: Layer::None,
            });
        }
        o.push_layer(Layer::Vxlan);
        link::ethernet(f, p + 8, end, o);
        Ok(())
    });
}

/// Most GTP-U extension headers walked.
const MAX_GTP_EXT: usize = 8;

/// GTP-U version 1 (3GPP TS 29.281) at the UDP payload `p`. G-PDUs (type 0xFF) carry IP;
/// other messages (echo, end marker, error indication) leave the UDP packet as the flow.
pub(crate) fn gtpu(f: &[u8], p: usize, end: usize, out: &mut Decoded) {
    let g = bounded(f, end);
    if p >= end {
        return; // empty UDP payload: not GTP
    }
    nest(out, Layer::None, |o| {
        let stop = |bits, layer| Stop { bits, layer };
        let (Some(b0), Some(msg), Some(len)) = (u8_at(g, p), u8_at(g, p + 1), be16(g, p + 2))
        else {
            return Err(stop(missing(p + 4, end), Layer::None));
        };
        // Version 1 and protocol type GTP (not GTP').
        if b0 >> 5 != 1 || b0 & 0x10 == 0 {
            return Err(stop(BAD_TUNNEL, Layer::None));
        }
        let body_end = p + 8 + usize::from(len);
        if body_end > end {
            return Err(stop(BAD_TUNNEL, Layer::None));
        }
        let mut hlen = 8;
        if b0 & 0x07 != 0 {
            // Sequence number, N-PDU number and next extension type are all present.
            hlen = 12;
            let Some(mut next) = u8_at(g, p + 11) else {
                return Err(stop(missing(p + 12, body_end), Layer::None));
            };
            let mut n = 0;
            while b0 & 0x04 != 0 && next != 0 {
                n += 1;
                // Length in 4-byte units, covering the length and next-type bytes.
                let ext_len = match u8_at(g, p + hlen) {
                    Some(0) => return Err(stop(BAD_TUNNEL, Layer::None)),
                    Some(l) => usize::from(l) * 4,
                    None => return Err(stop(missing(p + hlen + 1, body_end), Layer::None)),
                };
                if n > MAX_GTP_EXT || p + hlen + ext_len > body_end {
                    return Err(stop(BAD_TUNNEL, Layer::None));
                }
                let Some(nx) = u8_at(g, p + hlen + ext_len - 1) else {
                    return Err(stop(TRUNCATED, Layer::None));
                };
                next = nx;
                hlen += ext_len;
            }
        }
        if p + hlen > body_end {
            return Err(stop(BAD_TUNNEL, Layer::None));
        }
        if msg != 0xFF {
            // Signalling on the user plane: the UDP packet is the flow.
            return Err(stop(0, Layer::GtpU));
        }
        o.push_layer(Layer::GtpU);
        let ip = p + hlen;
        match u8_at(g, ip).map(|b| b >> 4) {
            Some(4) => ipv4::decode(f, ip, body_end, o),
            Some(6) => ipv6::decode(f, ip, body_end, o),
            Some(_) => o.anomalies |= NOT_IP, // Ethernet or unstructured PDU
            None if ip >= body_end => return Err(stop(BAD_TUNNEL, Layer::GtpU)),
            None => return Err(stop(TRUNCATED, Layer::GtpU)),
        }
        Ok(())
    });
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::anomaly::*;
    use crate::testutil::*;
    use crate::{decode, linktype, Decoded, Layer, MAX_TUNNEL_DEPTH};

    const OUT_SRC: [u8; 4] = [192, 0, 2, 1];
    const OUT_DST: [u8; 4] = [192, 0, 2, 2];
    const IN_SRC: [u8; 4] = [10, 1, 1, 1];
    const IN_DST: [u8; 4] = [10, 2, 2, 2];
    pub(crate) const INNER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x99];

    fn inner_tcp() -> Vec<u8> {
        ipv4_tcp(IN_SRC, IN_DST, 1234, 80, 0x18, &[], b"GET /")
    }

    /// Ethernet + outer IPv4 carrying `proto` with `payload`.
    fn outer(proto: u8, payload: &[u8]) -> Vec<u8> {
        eth(0x0800, &ipv4_raw(proto, OUT_SRC, OUT_DST, payload))
    }

    fn outer_udp(dp: u16, payload: &[u8]) -> Vec<u8> {
        eth(0x0800, &ipv4_udp(OUT_SRC, OUT_DST, 40000, dp, payload))
    }

    fn inner_eth(et: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = INNER_MAC.to_vec();
        v.extend_from_slice(&[2, 0, 0, 0, 0, 0x88]);
        v.extend_from_slice(&et.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    pub(crate) fn gre(flags: u16, proto: u16, fields: &[u32], payload: &[u8]) -> Vec<u8> {
        let mut v = flags.to_be_bytes().to_vec();
        v.extend_from_slice(&proto.to_be_bytes());
        for x in fields {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v.extend_from_slice(payload);
        v
    }

    pub(crate) fn vxlan(payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0x08, 0, 0, 0, 0, 0x12, 0x34, 0];
        v.extend_from_slice(payload);
        v
    }

    /// GTP-U header; `opt` adds the 4 optional bytes (seq 1, N-PDU 0, `next_ext`) with
    /// flags `opt_flags`, then raw extension bytes.
    pub(crate) fn gtp(msg: u8, opt: Option<(u8, u8)>, ext: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut b0 = 0x30;
        if let Some((flags, next)) = opt {
            b0 |= flags;
            body.extend_from_slice(&[0, 1, 0, next]);
        }
        body.extend_from_slice(ext);
        body.extend_from_slice(payload);
        let mut v = vec![b0, msg];
        v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        v.extend_from_slice(&0x0000_abcdu32.to_be_bytes());
        v.extend(body);
        v
    }

    fn assert_inner_tcp(d: &Decoded) {
        assert_eq!(d.ip_version, 4);
        assert_eq!(&d.src_ip[..4], &IN_SRC);
        assert_eq!(&d.dst_ip[..4], &IN_DST);
        assert_eq!((d.protocol, d.src_port, d.dst_port), (6, 1234, 80));
        assert_eq!(d.payload_len, 5);
        assert_eq!(d.ip_total_len, 45);
        assert_eq!(d.ttl, 64);
        assert!(d.has_eth);
        assert_eq!(
            (d.dst_mac, d.src_mac, d.eth_type),
            (MAC_DST, MAC_SRC, 0x0800)
        );
    }

    fn assert_outer_kept(d: &Decoded, proto: u8) {
        assert_eq!(d.ip_version, 4);
        assert_eq!(&d.src_ip[..4], &OUT_SRC);
        assert_eq!(&d.dst_ip[..4], &OUT_DST);
        assert_eq!(d.protocol, proto);
        assert_eq!(d.tunnel_depth, 0);
    }

    #[test]
    fn ip_in_ip() {
        let d = dec(linktype::ETHERNET, &outer(4, &inner_tcp()));
        assert_eq!(d.anomalies, 0);
        assert_inner_tcp(&d);
        assert_eq!((d.tunnel_depth, d.l3_offset, d.l4_offset), (1, 34, 54));
        assert_eq!(
            d.layer_stack(),
            &[Layer::Eth, Layer::Ip4, Layer::Ip4, Layer::Tcp]
        );
    }

    #[test]
    fn six_in_four_and_in_ipv6() {
        let d = dec(linktype::ETHERNET, &outer(41, &ipv6_udp(1, 2, b"x")));
        assert_eq!(
            (d.anomalies, d.ip_version, d.src_port, d.tunnel_depth),
            (0, 6, 1, 1)
        );
        assert_eq!(d.src_ip, V6_SRC);
        assert_eq!(
            d.layer_stack(),
            &[Layer::Eth, Layer::Ip4, Layer::Ip6, Layer::Udp]
        );
        // IPv4 in IPv6 and IPv6 in IPv6.
        let d = dec(linktype::RAW, &ipv6_raw(4, &inner_tcp()));
        assert_eq!((d.anomalies, d.ip_version, d.src_port), (0, 4, 1234));
        assert_eq!(d.layer_stack(), &[Layer::Ip6, Layer::Ip4, Layer::Tcp]);
        let d = dec(linktype::RAW, &ipv6_raw(41, &ipv6_udp(5, 6, b"")));
        assert_eq!(
            (d.anomalies, d.ip_version, d.src_port, d.l3_offset),
            (0, 6, 5, 40)
        );
    }

    #[test]
    fn ip_in_ip_bad_inner_keeps_outer() {
        let d = dec(linktype::ETHERNET, &outer(4, &[0x99; 30]));
        assert_eq!(d.anomalies, BAD_TUNNEL);
        assert_outer_kept(&d, 4);
        assert_eq!((d.l4_offset, d.payload_offset, d.payload_len), (34, 34, 30));
        assert_eq!(d.layer_stack(), &[Layer::Eth, Layer::Ip4, Layer::Other]);
        // Inner IPv4 claiming more than the outer payload: inner kept, length bounded.
        let mut inner = inner_tcp();
        inner[3] += 10;
        let d = dec(linktype::ETHERNET, &outer(4, &inner));
        assert_eq!(d.anomalies, IP_LEN_MISMATCH);
        assert_eq!((d.ip_total_len, d.payload_len), (55, 5));
    }

    #[test]
    fn gre_v0() {
        let d = dec(
            linktype::ETHERNET,
            &outer(47, &gre(0, 0x0800, &[], &inner_tcp())),
        );
        assert_eq!(d.anomalies, 0);
        assert_inner_tcp(&d);
        assert_eq!((d.tunnel_depth, d.l3_offset), (1, 38));
        assert_eq!(
            d.layer_stack(),
            &[Layer::Eth, Layer::Ip4, Layer::Gre, Layer::Ip4, Layer::Tcp]
        );
        // Checksum, key and sequence present, IPv6 inside.
        let g = gre(0xB000, 0x86dd, &[0, 7, 9], &ipv6_udp(1, 2, b""));
        let d = dec(linktype::ETHERNET, &outer(47, &g));
        assert_eq!(
            (d.anomalies, d.ip_version, d.l3_offset),
            (0, 6, 14 + 20 + 16)
        );
    }

    #[test]
    fn gre_transparent_ethernet() {
        let mut tagged = vec![0x00, 0x07, 0x08, 0x00];
        tagged.extend(inner_tcp());
        let g = gre(0x2000, 0x6558, &[1], &inner_eth(0x8100, &tagged));
        let d = dec(linktype::ETHERNET, &outer(47, &g));
        assert_eq!(d.anomalies, 0);
        assert_inner_tcp(&d);
        assert_eq!(
            d.vlan_id,
            crate::NO_VLAN,
            "inner VLAN is not the outermost link's"
        );
        assert_eq!(
            d.layer_stack(),
            &[
                Layer::Eth,
                Layer::Ip4,
                Layer::Gre,
                Layer::Eth,
                Layer::Vlan,
                Layer::Ip4,
                Layer::Tcp
            ]
        );
    }

    #[test]
    fn gre_pptp_ppp() {
        // Enhanced GRE: K, S, A set; key = payload length + call id.
        for (ppp, ver) in [
            (vec![0xff, 0x03, 0x00, 0x21], 4u8),
            (vec![0xff, 0x03, 0x21], 4),
            (vec![0x21], 4),
            (vec![0x00, 0x57], 6),
        ] {
            let inner = if ver == 4 {
                inner_tcp()
            } else {
                ipv6_udp(1, 2, b"")
            };
            let mut payload = ppp.clone();
            payload.extend(inner);
            let key = ((payload.len() as u32) << 16) | 0x0042;
            let g = gre(0x3081, 0x880b, &[key, 5, 4], &payload);
            let d = dec(linktype::ETHERNET, &outer(47, &g));
            assert_eq!(
                (d.anomalies, d.ip_version, d.tunnel_depth),
                (0, ver, 1),
                "{ppp:x?}"
            );
            assert_eq!(d.l3_offset as usize, 14 + 20 + 16 + ppp.len());
        }
        // Acknowledgement only: no payload, the GRE packet is the flow.
        let d = dec(
            linktype::ETHERNET,
            &outer(47, &gre(0x2081, 0x880b, &[0x42, 5], &[])),
        );
        assert_eq!(d.anomalies, 0);
        assert_outer_kept(&d, 47);
        assert_eq!(d.layer_stack(), &[Layer::Eth, Layer::Ip4, Layer::Gre]);
        // LCP / compressed payload: not IP.
        let g = gre(
            0x3001,
            0x880b,
            &[0x42, 1],
            &[0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4],
        );
        let d = dec(linktype::ETHERNET, &outer(47, &g));
        assert_eq!(d.anomalies, INNER_NOT_IP);
        assert_outer_kept(&d, 47);
        assert_eq!(d.layer_stack(), &[Layer::Eth, Layer::Ip4, Layer::Gre]);
        // Version 1 without the key bit, or with a checksum, is malformed.
        for flags in [0x1001u16, 0xA001] {
            let d = dec(
                linktype::ETHERNET,
                &outer(47, &gre(flags, 0x880b, &[0, 0], &[0x21])),
            );
            assert_eq!(d.anomalies, BAD_TUNNEL, "{flags:#x}");
        }
    }

    #[test]
    fn gre_erspan() {
        let frame = inner_eth(0x0800, &inner_tcp());
        // Type I: no sequence, no ERSPAN header.
        let d = dec(linktype::ETHERNET, &outer(47, &gre(0, 0x88be, &[], &frame)));
        assert_eq!(d.anomalies, 0);
        assert_inner_tcp(&d);
        // Type II: sequence + 8-byte header, version 1.
        let mut e2 = vec![0x10, 0x64, 0x00, 0x01, 0, 0, 0, 0];
        e2.extend_from_slice(&frame);
        let d = dec(
            linktype::ETHERNET,
            &outer(47, &gre(0x1000, 0x88be, &[1], &e2)),
        );
        assert_eq!(d.anomalies, 0);
        assert_inner_tcp(&d);
        assert_eq!(d.l3_offset as usize, 14 + 20 + 8 + 8 + 14);
        assert_eq!(
            d.layer_stack(),
            &[
                Layer::Eth,
                Layer::Ip4,
                Layer::Gre,
                Layer::Erspan,
                Layer::Eth,
                Layer::Ip4,
                Layer::Tcp
            ]
        );
        // Type III, with and without the platform subheader.
        for o_bit in [false, true] {
            let mut e3 = vec![0x20, 0x64, 0x00, 0x01, 0, 0, 0, 1, 0, 0, 0, u8::from(o_bit)];
            if o_bit {
                e3.extend_from_slice(&[0xAA; 8]);
            }
            e3.extend_from_slice(&frame);
            let d = dec(
                linktype::ETHERNET,
                &outer(47, &gre(0x1000, 0x22eb, &[1], &e3)),
            );
            assert_eq!(d.anomalies, 0, "O={o_bit}");
            assert_inner_tcp(&d);
            assert_eq!(
                d.l3_offset as usize,
                14 + 20 + 8 + e3.len() - frame.len() + 14
            );
        }
        // Wrong ERSPAN version.
        let mut bad = e2.clone();
        bad[0] = 0x30;
        let d = dec(
            linktype::ETHERNET,
            &outer(47, &gre(0x1000, 0x88be, &[1], &bad)),
        );
        assert_eq!(d.anomalies, BAD_TUNNEL);
        assert_outer_kept(&d, 47);
        assert_eq!(d.layer_stack(), &[Layer::Eth, Layer::Ip4, Layer::Gre]);
    }

    #[test]
    fn gre_malformed() {
        for g in [
            gre(0x0003, 0x0800, &[], &inner_tcp()),  // version 3
            gre(0x4000, 0x0800, &[0], &inner_tcp()), // routing
            gre(0x0000, 0x0800, &[], &[0x99; 20]),   // not an IPv4 header
            gre(0xB000, 0x0800, &[], &[]),           // options past the packet
            vec![0x00, 0x00, 0x08],                  // 3 bytes
        ] {
            let d = dec(linktype::ETHERNET, &outer(47, &g));
            assert_eq!(d.anomalies, BAD_TUNNEL, "{g:x?}");
            assert_outer_kept(&d, 47);
            assert_eq!((d.payload_offset, d.payload_len as usize), (34, g.len()));
            assert_eq!(d.layer_stack(), &[Layer::Eth, Layer::Ip4, Layer::Gre]);
        }
        // Unknown protocol: a tunnel that carries something else.
        let d = dec(
            linktype::ETHERNET,
            &outer(47, &gre(0, 0x883e, &[], &[0; 8])),
        );
        assert_eq!(d.anomalies, INNER_NOT_IP);
    }

    #[test]
    fn vxlan_ethernet() {
        let f = outer_udp(4789, &vxlan(&inner_eth(0x0800, &inner_tcp())));
        let d = dec(linktype::ETHERNET, &f);
        assert_eq!(d.anomalies, 0);
        assert_inner_tcp(&d);
        assert_eq!((d.tunnel_depth, d.l3_offset), (1, 14 + 20 + 8 + 8 + 14));
        assert_eq!(
            d.layer_stack(),
            &[
                Layer::Eth,
                Layer::Ip4,
                Layer::Udp,
                Layer::Vxlan,
                Layer::Eth,
                Layer::Ip4,
                Layer::Tcp
            ]
        );
        // I flag clear: plain UDP.
        let mut v = vxlan(&inner_eth(0x0800, &inner_tcp()));
        v[0] = 0;
        let d = dec(linktype::ETHERNET, &outer_udp(4789, &v));
        assert_eq!(d.anomalies, 0);
        assert_outer_kept(&d, 17);
        assert_eq!((d.dst_port, d.payload_len as usize), (4789, v.len()));
        // Header longer than the UDP payload.
        let d = dec(linktype::ETHERNET, &outer_udp(4789, &[0x08, 0, 0, 0]));
        assert_eq!(d.anomalies, BAD_TUNNEL);
        assert_outer_kept(&d, 17);
        assert_eq!(d.layer_stack(), &[Layer::Eth, Layer::Ip4, Layer::Udp]);
        // ARP inside: outer flow kept.
        let d = dec(
            linktype::ETHERNET,
            &outer_udp(4789, &vxlan(&inner_eth(0x0806, &[0; 28]))),
        );
        assert_eq!(d.anomalies, INNER_NOT_IP);
        assert_outer_kept(&d, 17);
        assert_eq!(d.dst_port, 4789);
    }

    #[test]
    fn outermost_ethernet_may_be_inside_a_tunnel() {
        // No Ethernet outside: the VXLAN-carried one is the outermost, with its VLAN.
        let mut tagged = vec![0x00, 0x07, 0x08, 0x00];
        tagged.extend(inner_tcp());
        let p = ipv4_udp(
            OUT_SRC,
            OUT_DST,
            1,
            4789,
            &vxlan(&inner_eth(0x8100, &tagged)),
        );
        let d = dec(linktype::RAW, &p);
        assert_eq!(d.anomalies, 0);
        assert!(d.has_eth);
        assert_eq!((d.dst_mac, d.eth_type, d.vlan_id), (INNER_MAC, 0x8100, 7));
        // When the tunnel fails, the inner Ethernet is forgotten with the rest.
        let mut d = Decoded::default();
        decode(linktype::RAW, &p[..20 + 8 + 8 + 10], p.len() as u32, &mut d);
        assert_eq!(d.anomalies, TRUNCATED);
        assert_eq!(d.protocol, 17);
        assert!(!d.has_eth);
        assert_eq!(d.vlan_id, crate::NO_VLAN);
    }

    #[test]
    fn vxlan_truncation() {
        let f = outer_udp(4789, &vxlan(&inner_eth(0x0800, &inner_tcp())));
        let mut d = Decoded::default();
        // Cut inside the inner IP header: the outer flow stands.
        decode(
            linktype::ETHERNET,
            &f[..14 + 20 + 8 + 8 + 14 + 10],
            f.len() as u32,
            &mut d,
        );
        assert_eq!(d.anomalies, TRUNCATED);
        assert_outer_kept(&d, 17);
        assert_eq!(d.payload_len as usize, f.len() - 42);
        // Cut inside the inner TCP header: the inner flow with what was captured.
        decode(
            linktype::ETHERNET,
            &f[..14 + 20 + 8 + 8 + 14 + 20 + 4],
            f.len() as u32,
            &mut d,
        );
        assert_eq!(d.anomalies, TRUNCATED);
        assert_eq!(
            (d.ip_version, d.src_port, d.dst_port, d.tunnel_depth),
            (4, 1234, 80, 1)
        );
    }

    #[test]
    fn gtpu() {
        // Plain 8-byte header.
        let d = dec(
            linktype::ETHERNET,
            &outer_udp(2152, &gtp(0xff, None, &[], &inner_tcp())),
        );
        assert_eq!(d.anomalies, 0);
        assert_inner_tcp(&d);
        assert_eq!(d.l3_offset as usize, 14 + 20 + 8 + 8);
        assert_eq!(
            d.layer_stack(),
            &[
                Layer::Eth,
                Layer::Ip4,
                Layer::Udp,
                Layer::GtpU,
                Layer::Ip4,
                Layer::Tcp
            ]
        );
        // Sequence number present.
        let g = gtp(0xff, Some((0x02, 0)), &[], &inner_tcp());
        let d = dec(linktype::ETHERNET, &outer_udp(2152, &g));
        assert_eq!((d.anomalies, d.l3_offset as usize), (0, 14 + 20 + 8 + 12));
        // Extension headers: PDU session container (len 1) then a 2-unit one.
        let ext = [1, 0x10, 0x05, 0x85, 2, 0, 0, 0, 0, 0, 0, 0];
        let g = gtp(0xff, Some((0x04, 0x85)), &ext, &ipv6_udp(1, 2, b"x"));
        let d = dec(linktype::ETHERNET, &outer_udp(2152, &g));
        assert_eq!((d.anomalies, d.ip_version, d.src_port), (0, 6, 1));
        assert_eq!(d.l3_offset as usize, 14 + 20 + 8 + 12 + 12);
        // Echo request: signalling, the UDP packet is the flow.
        let d = dec(
            linktype::ETHERNET,
            &outer_udp(2152, &gtp(1, Some((0x02, 0)), &[], &[])),
        );
        assert_eq!(d.anomalies, 0);
        assert_outer_kept(&d, 17);
        assert_eq!(
            d.layer_stack(),
            &[Layer::Eth, Layer::Ip4, Layer::Udp, Layer::GtpU]
        );
    }

    #[test]
    fn gtpu_malformed() {
        let good = gtp(0xff, None, &[], &inner_tcp());
        let mut v2 = good.clone();
        v2[0] = 0x50; // version 2
        let mut prime = good.clone();
        prime[0] = 0x20; // GTP'
        let mut long = good.clone();
        long[3] += 10; // length past the UDP payload
        let zero_ext = gtp(0xff, Some((0x04, 0x85)), &[0, 0, 0, 0], &inner_tcp());
        let runaway = gtp(0xff, Some((0x04, 0x85)), &[1, 0, 0, 0x85], &[]);
        let empty = gtp(0xff, None, &[], &[]);
        for g in [v2, prime, long, zero_ext, runaway, empty, vec![0x30, 0xff]] {
            let d = dec(linktype::ETHERNET, &outer_udp(2152, &g));
            assert_eq!(d.anomalies, BAD_TUNNEL, "{g:x?}");
            assert_outer_kept(&d, 17);
            assert_eq!(d.dst_port, 2152);
        }
        // Non-IP PDU.
        let d = dec(
            linktype::ETHERNET,
            &outer_udp(2152, &gtp(0xff, None, &[], &[0x12; 20])),
        );
        assert_eq!(d.anomalies, INNER_NOT_IP);
    }

    #[test]
    fn nested_tunnels_and_depth_limit() {
        // VXLAN in GRE: depth 2.
        let vx = ipv4_udp(
            IN_DST,
            IN_SRC,
            5,
            4789,
            &vxlan(&inner_eth(0x0800, &inner_tcp())),
        );
        let d = dec(linktype::ETHERNET, &outer(47, &gre(0, 0x0800, &[], &vx)));
        assert_eq!(d.anomalies, 0);
        assert_inner_tcp(&d);
        assert_eq!(d.tunnel_depth, 2);
        // IP-in-IP nested beyond the limit: the deepest allowed IP is the flow.
        let mut p = inner_tcp();
        for i in 0..6u8 {
            p = ipv4_raw(4, [i; 4], [i; 4], &p);
        }
        let d = dec(linktype::RAW, &p);
        assert_eq!(d.anomalies, TOO_DEEP);
        assert_eq!(d.tunnel_depth, MAX_TUNNEL_DEPTH);
        // Level 0 is the outermost (built last, i = 5).
        let level = MAX_TUNNEL_DEPTH;
        assert_eq!(d.src_ip[0], 5 - level);
        assert_eq!(d.protocol, 4);
        assert_eq!(usize::from(d.n_layers), usize::from(level) + 2);
    }

    #[test]
    fn no_tunnel_in_fragments() {
        let mut p = ipv4_raw(47, OUT_SRC, OUT_DST, &gre(0, 0x0800, &[], &inner_tcp()));
        p[6] = 0x20; // MF
        let d = dec(linktype::RAW, &p);
        assert_eq!(d.anomalies, FRAGMENT);
        assert_eq!((d.protocol, d.tunnel_depth), (47, 0));
        assert_eq!(d.layer_stack(), &[Layer::Ip4, Layer::Other]);
        let mut p = ipv4_udp(
            OUT_SRC,
            OUT_DST,
            1,
            4789,
            &vxlan(&inner_eth(0x0800, &inner_tcp())),
        );
        p[6] = 0x20;
        let d = dec(linktype::RAW, &p);
        assert_eq!(
            (d.anomalies, d.dst_port, d.tunnel_depth),
            (FRAGMENT, 4789, 0)
        );
    }

    #[test]
    fn layer_stack_overflow_is_bounded() {
        // Eth + 4 VLAN + MPLS + IP + GRE + Eth + 4 VLAN + IP + TCP = 15 layers.
        let mut inner = vec![];
        for _ in 0..3 {
            inner.extend_from_slice(&[0, 1, 0x81, 0]);
        }
        inner.extend_from_slice(&[0, 1, 0x08, 0]);
        inner.extend(inner_tcp());
        let g = gre(0, 0x6558, &[], &inner_eth(0x8100, &inner));
        let mut p = vec![];
        for _ in 0..3 {
            p.extend_from_slice(&[0, 9, 0x81, 0]);
        }
        p.extend_from_slice(&[0, 9, 0x88, 0x47]);
        p.extend(mpls_label(5, true));
        p.extend(ipv4_raw(47, OUT_SRC, OUT_DST, &g));
        let d = dec(linktype::ETHERNET, &eth(0x8100, &p));
        assert_eq!(d.anomalies, 0);
        assert_eq!(
            (d.ip_version, d.src_ip[0], d.src_port, d.eth_type),
            (4, 10, 1234, 0x8100)
        );
        assert_eq!(usize::from(d.n_layers), crate::MAX_LAYERS);
        assert_eq!(d.vlan_id, 9);
    }
}
