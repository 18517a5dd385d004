//! JoyfulJay compatibility decoding ([`crate::DecodeMode::JoyfulJay`]).
//!
//! JoyfulJay 0.1.6.1 dissects frames with Scapy 2.8 (default layer set) and then takes
//! the *first IPv4 layer anywhere* in the packet (else the first IPv6 layer) for the
//! addresses, protocol and lengths, and the *first TCP layer anywhere* (else the first
//! UDP, else the first ICMPv4) for ports, flags and payload. It does not decapsulate:
//! a GRE/6in4/IP-in-IP packet keeps the outer addresses and outer protocol but takes its
//! ports from the inner TCP/UDP. This module walks a frame the way Scapy's default
//! bindings do, records where those first layers are, and fills [`Decoded`] from them.
//!
//! Scapy rules mimicked (each checked against Scapy 2.8 and the reference's outputs):
//! * A layer whose fixed header does not fit in its buffer is not dissected (Scapy turns
//!   it into raw bytes) and the walk stops there.
//! * Link types: Ethernet, NULL (family = first byte: 0/2 IPv4, 10 IPv6), LOOP
//!   (big-endian family), raw 12/101 (version nibble), 228 (always IPv4), 229 and 31
//!   (always IPv6), Linux SLL/SLL2. Anything else — 14, or a link-type field with its
//!   upper (FCS) bits set — has no IP.
//! * Ethernet/802.1Q/802.1ad carry IPv4, IPv6, 802.1Q, 802.1ad, Ethernet, PPPoE
//!   session; an 802.3 length leads to LLC/SNAP; MPLS and ERSPAN are not dissected.
//! * IPv4: header fields taken as they are (no version check), payload cut to the total
//!   length; TCP/UDP/ICMP/IP-in-IP/GRE only when the fragment offset is 0, IPv6 (41)
//!   and AH (51) even in later fragments.
//! * IPv6: protocol = the fixed header's next header; hop-by-hop, routing, fragment
//!   (stops at offset > 0), destination options and AH are walked to TCP/UDP/IP/GRE.
//!   ICMPv6 is not ICMP.
//! * GRE (v0 with C/R/K/S, PPTP when the protocol is 0x880B) → IPv4/IPv6/Ethernet/802.1Q
//!   or PPP; UDP 4789/4790/6633/8472/48879 → VXLAN, 1701 → L2TP/PPP. GTP-U, Geneve,
//!   MPLS, ERSPAN are not dissected.
//! * Not mimicked (absent from the shared captures): Scapy's UDP port table beyond
//!   these tunnels (e.g. sport 53 with dport 4789 is DNS for Scapy), GRE in UDP 4754,
//!   Mobile IP tunnel data, 802.1ah, IPv4 option lists of more than 100 items, and a
//!   routing header cut below 3 bytes (Scapy then drops the enclosing layer).
//! * `payload_len` + the host's link trailer (`caplen − (l3_offset + ip_total_len)`,
//!   capped at 255) = Scapy's `len(layer.payload)`: every captured byte after the chosen
//!   transport header, trailer padding included.

use crate::anomaly::{FRAGMENT, NOT_IP, TOO_DEEP, TRUNCATED, UNKNOWN_LINKTYPE};
use crate::bytes::{array, be16, be32, sat32, u8_at};
use crate::{linktype, Decoded, Layer, NO_VLAN, NO_WSCALE};

/// Scapy's readers cut every frame to this many bytes (`MTU`).
pub(crate) const SCAPY_MAX_FRAME: usize = 0xFFFF;
/// Most layers followed in one frame (more is [`TOO_DEEP`]).
const MAX_STEPS: usize = 32;
/// Scapy's link type 31 (an old IPv6 raw link type it still maps to IPv6).
const LT_IPV6_31: u32 = 31;

/// The layer Scapy would dissect next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hdr {
    Eth,
    /// 802.1Q (`true`) or 802.1ad (`false`) tag.
    Vlan(bool),
    /// 802.2 LLC (after an 802.3 length or an 802.1Q tag with a length).
    Llc,
    Pppoe,
    Ppp,
    Ip4,
    Ip6,
    /// What follows an IPv6 header or extension header with this next-header value.
    Ip6Next(u8),
    Ah,
    Tcp,
    Udp,
    Icmp,
    Gre,
    Vxlan,
    L2tp,
}

/// A dissected layer: header offset and end of the buffer Scapy gave it.
#[derive(Clone, Copy, Debug)]
struct Span {
    off: usize,
    end: usize,
}

#[derive(Default)]
struct Seen {
    ip4: Option<Span>,
    ip6: Option<Span>,
    tcp: Option<Span>,
    udp: Option<Span>,
    icmp: Option<Span>,
    eth: Option<usize>,
    vlan: Option<u16>,
    /// First IPv6 fragment header: (offset bytes, more fragments, id).
    frag6: Option<(u16, bool, u32)>,
    ext_count: u8,
    ext_mask: u8,
}

/// Decode `f` (link type `lt`) as JoyfulJay's Scapy backend sees it. `out` is reset.
pub(crate) fn decode(lt: u32, f: &[u8], out: &mut Decoded) {
    let mut seen = Seen::default();
    if let Some(first) = link(lt, f, out) {
        walk(f, first, &mut seen, out);
    }
    fill(f, &seen, out);
}

/// The first layer after the link header.
fn link(lt: u32, f: &[u8], out: &mut Decoded) -> Option<(Hdr, usize)> {
    // NULL: Scapy reads the family as the frame's first byte (a little-endian value's
    // low byte); LOOP: big-endian. 0 and 2 are IPv4, 10 (Linux AF_INET6) IPv6.
    let family = |be: bool, out: &mut Decoded| {
        let Some(a) = array::<4>(f, 0) else {
            out.anomalies |= TRUNCATED;
            return None;
        };
        out.push_layer(Layer::Null);
        let fam = if be {
            u32::from_be_bytes(*a)
        } else {
            u32::from(a[0])
        };
        match fam {
            0 | 2 => Some((Hdr::Ip4, 4)),
            10 => Some((Hdr::Ip6, 4)),
            _ => None,
        }
    };
    let sll = |hlen: usize, at: usize, layer: Layer, out: &mut Decoded| {
        let (true, Some(proto)) = (f.len() >= hlen, be16(f, at)) else {
            out.anomalies |= TRUNCATED;
            return None;
        };
        out.push_layer(layer);
        let next = match proto {
            0x0800 => Hdr::Ip4,
            0x86DD => Hdr::Ip6,
            0x8100 => Hdr::Vlan(true),
            0x0001 => Hdr::Eth,
            0x8864 => Hdr::Pppoe,
            _ => return None,
        };
        Some((next, hlen))
    };
    match lt {
        linktype::ETHERNET => Some((Hdr::Eth, 0)),
        linktype::NULL => family(false, out),
        linktype::LOOP => family(true, out),
        linktype::RAW | linktype::RAW_BSD12 => match u8_at(f, 0) {
            Some(b) if b >> 4 == 6 => Some((Hdr::Ip6, 0)),
            _ => Some((Hdr::Ip4, 0)),
        },
        linktype::IPV4 => Some((Hdr::Ip4, 0)),
        linktype::IPV6 | LT_IPV6_31 => Some((Hdr::Ip6, 0)),
        linktype::LINUX_SLL => sll(16, 14, Layer::Sll, out),
        linktype::LINUX_SLL2 => sll(20, 0, Layer::Sll2, out),
        _ => {
            out.anomalies |= UNKNOWN_LINKTYPE;
            None
        }
    }
}

/// Follow the layers from `first` until Scapy would stop dissecting.
fn walk(f: &[u8], first: (Hdr, usize), seen: &mut Seen, out: &mut Decoded) {
    let mut step = (first.0, first.1, f.len());
    for _ in 0..MAX_STEPS {
        let (layer, off, end) = step;
        if off >= end {
            return; // Scapy dissects no layer from an empty buffer
        }
        // Every read goes through `g`: nothing past the layer's buffer is seen.
        let g = f.get(..end).unwrap_or(f);
        match one(g, layer, off, end, seen, out) {
            Ok(Some(next)) => step = next,
            Ok(None) => return,
            Err(Cut) => {
                out.anomalies |= TRUNCATED;
                return;
            }
        }
    }
    out.anomalies |= TOO_DEEP;
}

/// A header that does not fit: Scapy keeps the bytes raw.
struct Cut;

type Step = Result<Option<(Hdr, usize, usize)>, Cut>;

/// A byte already known to be inside `g` (0 otherwise: never panics).
fn byte(g: &[u8], i: usize) -> u8 {
    u8_at(g, i).unwrap_or(0)
}

fn need(g: &[u8], off: usize, len: usize) -> Result<(), Cut> {
    match off.checked_add(len) {
        Some(e) if e <= g.len() => Ok(()),
        _ => Err(Cut),
    }
}

/// The layer bound to an EtherType in Ethernet and 802.1Q/802.1ad headers.
fn ether_next(et: u16) -> Option<Hdr> {
    Some(match et {
        0x0800 => Hdr::Ip4,
        0x86DD => Hdr::Ip6,
        0x8100 => Hdr::Vlan(true),
        0x88A8 => Hdr::Vlan(false),
        0x0001 => Hdr::Eth,
        0x8864 => Hdr::Pppoe,
        _ => return None,
    })
}

/// Scapy's ICMP header length for `t` (its per-type conditional fields).
fn icmp_hdr_len(t: u8) -> usize {
    match t {
        13 | 14 => 20,
        17 | 18 | 37 | 38 => 12,
        _ => 8,
    }
}

/// ICMP types whose id/seq fields Scapy dissects.
fn icmp_has_id(t: u8) -> bool {
    matches!(t, 0 | 8 | 13..=18 | 37 | 38)
}

/// Dissect one layer at `off` (buffer `g` ends at `end`); return the next one.
fn one(g: &[u8], layer: Hdr, off: usize, end: usize, seen: &mut Seen, out: &mut Decoded) -> Step {
    let next = |l: Option<Hdr>, at: usize, e: usize| Ok(l.map(|l| (l, at, e)));
    match layer {
        Hdr::Eth => {
            let et = be16(g, off + 12).ok_or(Cut)?;
            if et <= 1500 {
                // 802.3 (not an Ethernet II layer for JoyfulJay): LLC cut to the length.
                return next(
                    Some(Hdr::Llc),
                    off + 14,
                    (off + 14 + usize::from(et)).min(end),
                );
            }
            seen.eth.get_or_insert(off);
            out.push_layer(Layer::Eth);
            next(ether_next(et), off + 14, end)
        }
        Hdr::Vlan(dot1q) => {
            let (tci, et) = (be16(g, off).ok_or(Cut)?, be16(g, off + 2).ok_or(Cut)?);
            if dot1q && seen.vlan.is_none() {
                seen.vlan = Some(tci & 0x0fff); // JoyfulJay reads the first 802.1Q tag only
            }
            out.push_layer(Layer::Vlan);
            if et <= 1500 {
                return next(
                    Some(Hdr::Llc),
                    off + 4,
                    (off + 4 + usize::from(et)).min(end),
                );
            }
            next(ether_next(et), off + 4, end)
        }
        Hdr::Llc => {
            // Only SNAP (AA AA 03) leads on; its EtherType binds IPv4, IPv6, 802.1Q, Ethernet.
            let h = array::<3>(g, off).ok_or(Cut)?;
            if *h != [0xAA, 0xAA, 0x03] {
                return Ok(None);
            }
            let code = be16(g, off + 6).ok_or(Cut)?;
            let l = match code {
                0x0800 => Some(Hdr::Ip4),
                0x86DD => Some(Hdr::Ip6),
                0x8100 => Some(Hdr::Vlan(true)),
                0x0001 => Some(Hdr::Eth),
                _ => None,
            };
            next(l, off + 8, end)
        }
        Hdr::Pppoe => {
            need(g, off, 6)?;
            out.push_layer(Layer::Pppoe);
            next((byte(g, off + 1) == 0).then_some(Hdr::Ppp), off + 6, end)
        }
        Hdr::Ppp => {
            let mut p = off;
            // 0xFF starts an HDLC address/control pair, then PPP again.
            while u8_at(g, p) == Some(0xff) {
                need(g, p, 2)?;
                p += 2;
            }
            let Some(b0) = u8_at(g, p) else {
                return Ok(None);
            };
            let (proto, len) = if b0 & 1 == 1 {
                (u16::from(b0), 1)
            } else {
                (be16(g, p).ok_or(Cut)?, 2)
            };
            let l = match proto {
                0x0021 => Some(Hdr::Ip4),
                0x0057 => Some(Hdr::Ip6),
                _ => None,
            };
            next(l, p + len, end)
        }
        Hdr::Ip4 => {
            let h = array::<20>(g, off).ok_or(Cut)?;
            if seen.ip4.is_some() || seen.ip6.is_some() {
                out.tunnel_depth = out.tunnel_depth.saturating_add(1);
            }
            seen.ip4.get_or_insert(Span { off, end });
            out.push_layer(Layer::Ip4);
            let (hdr_end, pay_end) = ip4_bounds(h, off, end);
            let first_frag = u16::from_be_bytes([h[6], h[7]]) & 0x1fff == 0;
            let l = match h[9] {
                6 if first_frag => Some(Hdr::Tcp),
                17 if first_frag => Some(Hdr::Udp),
                1 if first_frag => Some(Hdr::Icmp),
                4 if first_frag => Some(Hdr::Ip4),
                47 if first_frag => Some(Hdr::Gre),
                41 => Some(Hdr::Ip6),
                51 => Some(Hdr::Ah),
                _ => None,
            };
            next(l, hdr_end, pay_end)
        }
        Hdr::Ip6 => {
            let h = array::<40>(g, off).ok_or(Cut)?;
            let plen = usize::from(u16::from_be_bytes([h[4], h[5]]));
            let data = off + 40;
            let len = if plen == 0 && h[6] == 0 && end - data.min(end) >= 8 {
                jumbo(g.get(data..).unwrap_or(&[])).ok_or(Cut)?
            } else {
                plen
            };
            if seen.ip4.is_some() || seen.ip6.is_some() {
                out.tunnel_depth = out.tunnel_depth.saturating_add(1);
            }
            seen.ip6.get_or_insert(Span { off, end });
            out.push_layer(Layer::Ip6);
            next(
                Some(Hdr::Ip6Next(h[6])),
                data,
                data.saturating_add(len).min(end),
            )
        }
        Hdr::Ip6Next(nh) => {
            let ext = |bit: u8, seen: &mut Seen| {
                seen.ext_count = seen.ext_count.saturating_add(1);
                seen.ext_mask |= bit;
            };
            match nh {
                // Hop-by-hop, destination options, routing (incl. segment routing).
                0 | 60 | 43 => {
                    need(g, off, if nh == 43 { 8 } else { 2 })?;
                    ext(
                        match nh {
                            0 => 1,
                            43 => 2,
                            _ => 4,
                        },
                        seen,
                    );
                    let hlen = (usize::from(byte(g, off + 1)) + 1) * 8;
                    next(Some(Hdr::Ip6Next(byte(g, off))), (off + hlen).min(end), end)
                }
                44 => {
                    need(g, off, 8)?;
                    ext(8, seen);
                    let fo = be16(g, off + 2).unwrap_or(0);
                    let id = be32(g, off + 4).unwrap_or(0);
                    seen.frag6.get_or_insert((fo & 0xfff8, fo & 1 != 0, id));
                    // A later fragment carries raw data.
                    next(
                        (fo >> 3 == 0).then_some(Hdr::Ip6Next(byte(g, off))),
                        off + 8,
                        end,
                    )
                }
                51 => next(Some(Hdr::Ah), off, end),
                6 => next(Some(Hdr::Tcp), off, end),
                17 => next(Some(Hdr::Udp), off, end),
                4 => next(Some(Hdr::Ip4), off, end),
                41 => next(Some(Hdr::Ip6), off, end),
                47 => next(Some(Hdr::Gre), off, end),
                _ => Ok(None), // ICMPv6, ESP, mobility, no next header, ...
            }
        }
        Hdr::Ah => {
            need(g, off, 12)?;
            seen.ext_mask |= 16;
            // ICV length (payload length − 1) × 4; Scapy's negative length keeps the last
            // 4 bytes as payload.
            let icv_end = match byte(g, off + 1) {
                0 => end.saturating_sub(4).max(off + 12),
                n => (off + 12 + (usize::from(n) - 1) * 4).min(end),
            };
            // Scapy binds AH only to IPv4 (next header 0, sic) and IPv6 (41).
            let l = match byte(g, off) {
                0 => Some(Hdr::Ip4),
                41 => Some(Hdr::Ip6),
                _ => None,
            };
            next(l, icv_end, end)
        }
        Hdr::Tcp => {
            need(g, off, 20)?;
            seen.tcp.get_or_insert(Span { off, end });
            out.push_layer(Layer::Tcp);
            Ok(None) // nothing Scapy binds to TCP carries IP
        }
        Hdr::Udp => {
            let h = array::<8>(g, off).ok_or(Cut)?;
            seen.udp.get_or_insert(Span { off, end });
            out.push_layer(Layer::Udp);
            let (sp, dp) = (
                u16::from_be_bytes([h[0], h[1]]),
                u16::from_be_bytes([h[2], h[3]]),
            );
            // Payload cut to the UDP length; a length < 8 drops that many bytes from
            // the end (Python's negative slice).
            let ulen = usize::from(u16::from_be_bytes([h[4], h[5]]));
            let pay_end = if ulen >= 8 {
                (off + ulen).min(end)
            } else {
                end.saturating_sub(8 - ulen).max(off + 8)
            };
            // The tunnels Scapy binds to UDP ports (GRE on 4754 and Mobile IP tunnel
            // data on 434 are not mimicked).
            let l = if sp == 1701 || dp == 1701 {
                Some(Hdr::L2tp)
            } else if matches!(dp, 4789 | 4790 | 6633 | 8472 | 48879)
                || matches!(sp, 4789 | 4790 | 6633 | 8472)
            {
                Some(Hdr::Vxlan)
            } else {
                None
            };
            next(l, off + 8, pay_end)
        }
        Hdr::Icmp => {
            let t = u8_at(g, off).ok_or(Cut)?;
            need(g, off, icmp_hdr_len(t))?;
            seen.icmp.get_or_insert(Span { off, end });
            out.push_layer(Layer::Icmp);
            Ok(None) // error messages quote an "IPerror", which is not IP
        }
        Hdr::Gre => {
            let (flags, proto) = (be16(g, off).ok_or(Cut)?, be16(g, off + 2).ok_or(Cut)?);
            let bit = |b: u16| usize::from(flags & b != 0) * 4;
            out.tunnel_depth = out.tunnel_depth.saturating_add(1);
            if proto == 0x880B {
                // PPTP enhanced GRE: fixed 8 bytes, then sequence and ack numbers.
                let hlen = 8 + bit(0x1000) + bit(0x0080);
                need(g, off, hlen)?;
                out.push_layer(Layer::Gre);
                return next(Some(Hdr::Ppp), off + hlen, end);
            }
            let hlen = 4 + bit(0xC000).min(4) + bit(0x2000) + bit(0x1000);
            need(g, off, hlen)?;
            out.push_layer(Layer::Gre);
            let l = match proto {
                0x8100 => Some(Hdr::Vlan(true)),
                0x6558 => Some(Hdr::Eth),
                _ if flags & 0x4000 != 0 => None, // routing present: source route entries
                0x0800 => Some(Hdr::Ip4),
                0x86DD => Some(Hdr::Ip6),
                _ => None,
            };
            next(l, off + hlen, end)
        }
        Hdr::Vxlan => {
            let flags = u8_at(g, off).ok_or(Cut)?;
            let (np, gbp) = (flags & 0x04 != 0, flags & 0x80 != 0);
            let hlen = 1 + if np || !gbp { 3 } else { 0 } + if gbp { 3 } else { 0 } + 4;
            need(g, off, hlen)?;
            out.push_layer(Layer::Vxlan);
            out.tunnel_depth = out.tunnel_depth.saturating_add(1);
            let l = if np {
                match byte(g, off + 3) {
                    0 | 3 => Some(Hdr::Eth),
                    1 => Some(Hdr::Ip4),
                    2 => Some(Hdr::Ip6),
                    _ => None,
                }
            } else {
                Some(Hdr::Eth)
            };
            next(l, off + hlen, end)
        }
        Hdr::L2tp => {
            let hdr = be16(g, off).ok_or(Cut)? >> 4;
            let (ctl, len, seq, offs) = (
                hdr & 0x800 != 0,
                hdr & 0x400 != 0,
                hdr & 0x080 != 0,
                hdr & 0x020 != 0,
            );
            let mut p = off + 2 + usize::from(ctl || len) * 2 + 4 + usize::from(seq || ctl) * 4;
            need(g, off, p - off)?;
            if !ctl && offs {
                let pad = usize::from(be16(g, p).ok_or(Cut)?);
                p = (p + 2 + pad).min(end);
            }
            out.tunnel_depth = out.tunnel_depth.saturating_add(1);
            next(Some(Hdr::Ppp), p, end)
        }
    }
}

/// Where Scapy's IPv4 header (with options) ends and its payload ends, for a header at
/// `off` in a buffer ending at `end`. The options take IHL × 4 − 20 bytes as far as
/// they are there. An IHL < 5 gives Python's negative slice: the options take all but
/// the last 20 − IHL × 4 bytes, and those last bytes are the payload. The payload is cut
/// to the total length unless that is shorter than IHL × 4.
fn ip4_bounds(h: &[u8; 20], off: usize, end: usize) -> (usize, usize) {
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let hdr_end = if ihl >= 20 {
        (off + ihl).min(end)
    } else {
        end.saturating_sub(20 - ihl).max(off + 20)
    };
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let pay_end = if total < ihl {
        end
    } else {
        (hdr_end + (total - ihl)).min(end)
    };
    (hdr_end, pay_end)
}

/// Scapy's IPv6 payload length for a zero payload length with a hop-by-hop header
/// (jumbogram): hop-by-hop length + the Jumbo Payload value read in *little-endian*
/// order, scanning option offsets 2, 2, 6, 10, ... `None` where Scapy raises.
fn jumbo(data: &[u8]) -> Option<usize> {
    let hbh = 8 + usize::from(*data.get(1)?) * 8;
    let (mut off, mut idx) = (2usize, 0usize);
    let mut jumbo = 0usize;
    while off <= data.len() {
        if *data.get(off)? == 0xc2 {
            let b = data.get(off + 2..off + 6)?;
            jumbo = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
            break;
        }
        off = 4 * idx + 2;
        idx += 1;
    }
    Some(hbh + jumbo)
}

/// Fill `out` from the first IP and transport layers found.
fn fill(f: &[u8], seen: &Seen, out: &mut Decoded) {
    let caplen = f.len();
    if let Some(e) = seen.eth {
        if let (Some(d), Some(s), Some(t)) =
            (array::<6>(f, e), array::<6>(f, e + 6), be16(f, e + 12))
        {
            out.has_eth = true;
            out.dst_mac = *d;
            out.src_mac = *s;
            out.eth_type = t;
        }
    }
    out.vlan_id = seen.vlan.unwrap_or(NO_VLAN);
    out.ipv6_ext_count = seen.ext_count;
    out.ipv6_ext_mask = seen.ext_mask;

    // JoyfulJay prefers any IPv4 layer over any IPv6 layer.
    let (ip, mut pay_off) = if let Some(ip) = seen.ip4 {
        let Some(h) = array::<20>(f, ip.off) else {
            return;
        };
        let ihl = usize::from(h[0] & 0x0f) * 4;
        let frag = u16::from_be_bytes([h[6], h[7]]);
        out.ip_version = 4;
        out.src_ip[..4].copy_from_slice(&h[12..16]);
        out.dst_ip[..4].copy_from_slice(&h[16..20]);
        out.protocol = h[9];
        out.tos = h[1];
        out.ttl = h[8];
        out.ip_id = u16::from_be_bytes([h[4], h[5]]);
        out.frag_id = u32::from(out.ip_id);
        out.ip_flags = (frag >> 13) as u8;
        out.frag_offset = (frag & 0x1fff) * 8;
        out.more_fragments = frag & 0x2000 != 0;
        out.ip_total_len = u32::from(u16::from_be_bytes([h[2], h[3]]));
        out.ip_opt_len = ihl.saturating_sub(20) as u8;
        (ip, ip4_bounds(h, ip.off, ip.end).0)
    } else if let Some(ip) = seen.ip6 {
        let Some(h) = array::<40>(f, ip.off) else {
            return;
        };
        out.ip_version = 6;
        out.src_ip.copy_from_slice(&h[8..24]);
        out.dst_ip.copy_from_slice(&h[24..40]);
        out.protocol = h[6]; // the fixed header's next header, extension headers or not
        out.tos = (h[0] << 4) | (h[1] >> 4);
        out.flow_label = u32::from_be_bytes([0, h[1] & 0x0f, h[2], h[3]]);
        out.ttl = h[7];
        out.ip_total_len = u32::from(u16::from_be_bytes([h[4], h[5]])) + 40;
        if let Some((fo, more, id)) = seen.frag6 {
            (out.frag_offset, out.more_fragments, out.frag_id) = (fo, more, id);
        }
        (ip, ip.off + 40)
    } else {
        if out.anomalies & (UNKNOWN_LINKTYPE | TRUNCATED) == 0 {
            out.anomalies |= NOT_IP;
        }
        return;
    };
    out.l3_offset = sat32(ip.off);
    if out.frag_offset != 0 || out.more_fragments {
        out.anomalies |= FRAGMENT;
    }
    out.l4_offset = sat32(pay_off);

    let mut scapy_len: Option<usize> = None;
    let mut keeps_payload = false;
    if let Some(t) = seen.tcp {
        let Some(h) = array::<20>(f, t.off) else {
            return;
        };
        out.src_port = u16::from_be_bytes([h[0], h[1]]);
        out.dst_port = u16::from_be_bytes([h[2], h[3]]);
        out.tcp_seq = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        out.tcp_ack = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
        out.tcp_flags = (u16::from(h[12] & 1) << 8) | u16::from(h[13]);
        out.tcp_window = u16::from_be_bytes([h[14], h[15]]);
        out.tcp_urgent = u16::from_be_bytes([h[18], h[19]]);
        // Options: (data offset − 5) × 4 bytes as far as the buffer has them (none for
        // a data offset < 5).
        let opsz = usize::from(h[12] >> 4).saturating_sub(5) * 4;
        let opt_end = (t.off + 20 + opsz).min(t.end.max(t.off + 20));
        out.l4_offset = sat32(t.off);
        out.tcp_opt_offset = sat32(t.off + 20);
        out.tcp_opt_len = (opt_end - (t.off + 20)) as u8;
        tcp_options(f.get(t.off + 20..opt_end).unwrap_or(&[]), out);
        pay_off = opt_end;
        keeps_payload = true;
    } else if let Some(u) = seen.udp {
        out.src_port = be16(f, u.off).unwrap_or(0);
        out.dst_port = be16(f, u.off + 2).unwrap_or(0);
        out.l4_offset = sat32(u.off);
        pay_off = u.off + 8;
        keeps_payload = true;
    } else if let Some(c) = seen.icmp {
        let t = u8_at(f, c.off).unwrap_or(0);
        out.icmp_type = t;
        out.icmp_code = u8_at(f, c.off + 1).unwrap_or(0);
        if icmp_has_id(t) {
            out.icmp_id = be16(f, c.off + 4).unwrap_or(0);
            out.icmp_seq = be16(f, c.off + 6).unwrap_or(0);
        }
        out.l4_offset = sat32(c.off);
        pay_off = c.off + icmp_hdr_len(t);
        // RFC 4884: from 144 bytes on, Scapy reads an extension structure at byte 136 of
        // an error message and moves any trailer into it: the payload is 128 bytes.
        if matches!(t, 3 | 11 | 12) && c.end - c.off >= 144 {
            scapy_len = Some(128);
        }
    }
    let scapy_len = scapy_len.unwrap_or(caplen.saturating_sub(pay_off));
    // The host adds this trailer back (PacketRecord::link_trailer).
    let ip_end = ip.off.saturating_add(out.ip_total_len as usize);
    let trailer = caplen.saturating_sub(ip_end).min(255);
    out.payload_offset = sat32(pay_off.min(caplen));
    out.payload_len = sat32(scapy_len.saturating_sub(trailer));
    // JoyfulJay keeps payload bytes (trailer included) of TCP and UDP packets only.
    out.payload_captured = if keeps_payload { sat32(scapy_len) } else { 0 };
}

/// TCP options as JoyfulJay reads Scapy's option list: a length < 2 counts as 2, values
/// are cut at the end; MSS/WScale/Timestamp only with their exact value size, SAckOK with
/// any, and each SAck option of ≥ 2 whole 32-bit words counts as ONE block.
fn tcp_options(o: &[u8], out: &mut Decoded) {
    let mut i = 0;
    while let Some(&kind) = o.get(i) {
        match kind {
            0 => return,
            1 => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let olen = usize::from(o.get(i + 1).copied().unwrap_or(0)).max(2);
        let v = o.get(i + 2..(i + olen).min(o.len())).unwrap_or(&[]);
        match (kind, v.len()) {
            (2, 2) => out.tcp_mss = u16::from_be_bytes([v[0], v[1]]),
            (3, 1) => out.tcp_wscale = v[0],
            (4, _) => out.tcp_sack_permitted = true,
            (5, n) if n >= 8 && n % 4 == 0 => {
                out.tcp_sack_blocks = out.tcp_sack_blocks.saturating_add(1);
            }
            (8, 8) => {
                out.tcp_has_ts = true;
                out.tcp_ts_val = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
                out.tcp_ts_ecr = u32::from_be_bytes([v[4], v[5], v[6], v[7]]);
            }
            _ => {}
        }
        i += olen;
    }
}

/// `Decoded::tcp_wscale` stays [`NO_WSCALE`] without the option.
const _: () = assert!(NO_WSCALE == 0xFF);

#[cfg(test)]
mod tests {
    //! One test per rule; the capture named in each is where the reference's golden
    //! output (`joyfuljay-golden/default`) shows the rule.
    use crate::anomaly::*;
    use crate::testutil::*;
    use crate::tunnel::tests::{gre, gtp, vxlan};
    use crate::{decode_with, linktype, DecodeMode, Decoded, Layer, NO_VLAN, NO_WSCALE};

    const OUT_SRC: [u8; 4] = [192, 0, 2, 1];
    const OUT_DST: [u8; 4] = [192, 0, 2, 2];
    const IN_SRC: [u8; 4] = [10, 1, 1, 1];
    const IN_DST: [u8; 4] = [10, 2, 2, 2];

    fn jj(lt: u32, f: &[u8]) -> Decoded {
        let mut d = Decoded::default();
        decode_with(lt, f, f.len() as u32, DecodeMode::JoyfulJay, &mut d);
        d
    }

    /// What JoyfulJay would count as payload: `payload_len` plus the host's trailer.
    fn scapy_payload(d: &Decoded) -> u32 {
        let trailer = d
            .caplen
            .saturating_sub(d.l3_offset + d.ip_total_len)
            .min(255);
        d.payload_len + trailer
    }

    fn inner_tcp(flags: u8) -> Vec<u8> {
        ipv4_tcp(IN_SRC, IN_DST, 40264, 22, flags, &[], b"SSH-2.0")
    }

    fn outer(proto: u8, payload: &[u8]) -> Vec<u8> {
        eth(0x0800, &ipv4_raw(proto, OUT_SRC, OUT_DST, payload))
    }

    fn v4(d: &Decoded) -> ([u8; 4], [u8; 4]) {
        let s: [u8; 4] = d.src_ip[..4].try_into().unwrap();
        let t: [u8; 4] = d.dst_ip[..4].try_into().unwrap();
        (s, t)
    }

    #[test]
    fn correct_mode_is_decode() {
        let f = outer(47, &gre(0, 0x0800, &[], &inner_tcp(0x18)));
        let mut a = Decoded::default();
        let mut b = Decoded::default();
        crate::decode(linktype::ETHERNET, &f, 99, &mut a);
        decode_with(linktype::ETHERNET, &f, 99, DecodeMode::Correct, &mut b);
        assert_eq!(a, b);
        assert_eq!(DecodeMode::default(), DecodeMode::Correct);
    }

    /// zeek_gre-sample.pcap: flows are proto 47 between the outer addresses with the
    /// inner TCP ports (172.27.1.66:40264 → 66.59.109.137:22, PROTO47).
    #[test]
    fn gre_outer_addresses_inner_ports() {
        let f = outer(47, &gre(0x2000, 0x0800, &[7], &inner_tcp(0x11)));
        let d = jj(linktype::ETHERNET, &f);
        assert_eq!(
            (d.ip_version, v4(&d), d.protocol),
            (4, (OUT_SRC, OUT_DST), 47)
        );
        assert_eq!((d.src_port, d.dst_port, d.tcp_flags), (40264, 22, 0x11));
        assert_eq!(d.transport(), Layer::Tcp);
        assert_eq!((d.ip_total_len, d.l3_offset), (20 + 8 + 47, 14));
        assert_eq!((d.tunnel_depth, d.anomalies), (2, 0));
        assert_eq!(
            d.layer_stack(),
            &[Layer::Eth, Layer::Ip4, Layer::Gre, Layer::Ip4, Layer::Tcp]
        );
        // Payload: the inner TCP payload.
        assert_eq!((scapy_payload(&d), d.payload_captured), (7, 7));
        // GRE carrying ICMP: ports 0, ICMP fields from the inner ICMP.
        let icmp = ipv4_raw(1, IN_SRC, IN_DST, &[8, 0, 0, 0, 0, 3, 0, 4, b'p']);
        let d = jj(linktype::ETHERNET, &outer(47, &gre(0, 0x0800, &[], &icmp)));
        assert_eq!(
            (d.protocol, d.src_port, d.icmp_type, d.icmp_id, d.icmp_seq),
            (47, 0, 8, 3, 4)
        );
        assert_eq!(
            (d.transport(), scapy_payload(&d), d.payload_captured),
            (Layer::Icmp, 1, 0)
        );
        // Transparent Ethernet bridging and PPTP (version 1, protocol 0x880B, PPP with
        // HDLC address/control) are dissected too.
        let teb = gre(0, 0x6558, &[], &eth(0x0800, &inner_tcp(0x10)));
        let d = jj(linktype::ETHERNET, &outer(47, &teb));
        assert_eq!((d.protocol, d.dst_port, v4(&d).0), (47, 22, OUT_SRC));
        let mut ppp = vec![0xff, 0x03, 0x00, 0x21];
        ppp.extend(inner_tcp(0x10));
        let pptp = gre(0x3001, 0x880B, &[0x0040_0001, 9], &ppp);
        let d = jj(linktype::ETHERNET, &outer(47, &pptp));
        assert_eq!((d.protocol, d.src_port), (47, 40264));
        // Routing present: source route entries, no inner packet.
        let d = jj(
            linktype::ETHERNET,
            &outer(47, &gre(0x4000, 0x0800, &[0], &inner_tcp(0))),
        );
        assert_eq!(
            (d.protocol, d.src_port, d.transport()),
            (47, 0, Layer::None)
        );
        // ERSPAN is not dissected (ja4_gre-erspan-vxlan.pcap: one PROTO47 flow, ports 0).
        let erspan = gre(0x1000, 0x88BE, &[1], &[0x10; 60]);
        let d = jj(linktype::ETHERNET, &outer(47, &erspan));
        assert_eq!((d.protocol, d.src_port, d.dst_port), (47, 0, 0));
        assert_eq!(scapy_payload(&d), 4 + 4 + 60); // IP payload (other protocol)
    }

    /// ndpi_6in4tunnel.pcap: 174.3.73.24:41538 → 184.105.255.26:80, protocol 41.
    #[test]
    fn ip_in_ip_and_6in4_keep_outer() {
        let d = jj(linktype::ETHERNET, &outer(41, &ipv6_udp(5353, 53, b"q")));
        assert_eq!(
            (d.ip_version, v4(&d), d.protocol),
            (4, (OUT_SRC, OUT_DST), 41)
        );
        assert_eq!(
            (d.src_port, d.dst_port, d.transport()),
            (5353, 53, Layer::Udp)
        );
        let d = jj(linktype::ETHERNET, &outer(4, &inner_tcp(0x02)));
        assert_eq!(
            (v4(&d).0, d.protocol, d.src_port, d.tcp_flags),
            (OUT_SRC, 4, 40264, 2)
        );
    }

    /// JoyfulJay asks Scapy for an IPv4 layer first: IPv4 inside IPv6 wins.
    #[test]
    fn any_ipv4_beats_the_outer_ipv6() {
        let d = jj(
            linktype::RAW,
            &ipv6_raw(4, &ipv4_udp(IN_SRC, IN_DST, 1, 2, b"")),
        );
        assert_eq!(
            (d.ip_version, v4(&d), d.protocol),
            (4, (IN_SRC, IN_DST), 17)
        );
        assert_eq!((d.l3_offset, d.ip_total_len, d.src_port), (40, 28, 1));
    }

    /// The first TCP layer anywhere wins over an outer UDP (VXLAN with inner TCP).
    #[test]
    fn vxlan_outer_udp_inner_tcp_ports() {
        let inner = eth(0x0800, &inner_tcp(0x18));
        let f = eth(
            0x0800,
            &ipv4_udp(OUT_SRC, OUT_DST, 40000, 4789, &vxlan(&inner)),
        );
        let d = jj(linktype::ETHERNET, &f);
        assert_eq!((v4(&d), d.protocol), ((OUT_SRC, OUT_DST), 17));
        assert_eq!(
            (d.src_port, d.dst_port, d.transport()),
            (40264, 22, Layer::Tcp)
        );
        // Inner UDP only: the outer UDP is the first UDP.
        let inner = eth(0x0800, &ipv4_udp(IN_SRC, IN_DST, 7, 8, b""));
        let f = eth(
            0x0800,
            &ipv4_udp(OUT_SRC, OUT_DST, 40000, 4789, &vxlan(&inner)),
        );
        assert_eq!(jj(linktype::ETHERNET, &f).src_port, 40000);
        // VXLAN-GPE next protocol 1: IPv4 directly.
        let mut gpe = vec![0x0c, 0, 0, 1, 0, 0, 5, 0];
        gpe.extend(inner_tcp(0x10));
        let f = eth(0x0800, &ipv4_udp(OUT_SRC, OUT_DST, 40000, 4790, &gpe));
        assert_eq!(jj(linktype::ETHERNET, &f).dst_port, 22);
    }

    /// ndpi_ja3_lots_of_cipher_suites_2_anon.pcap: GTP-U is keyed by the outer UDP
    /// flow (2152 → 2152, ETH-IP-UDP).
    #[test]
    fn gtpu_is_not_dissected() {
        let f = eth(
            0x0800,
            &ipv4_udp(
                OUT_SRC,
                OUT_DST,
                2152,
                2152,
                &gtp(0xff, None, &[], &inner_tcp(0x18)),
            ),
        );
        let d = jj(linktype::ETHERNET, &f);
        assert_eq!(
            (v4(&d).0, d.protocol, d.src_port, d.dst_port),
            (OUT_SRC, 17, 2152, 2152)
        );
        assert_eq!(scapy_payload(&d), 8 + 47);
    }

    /// L2TP (UDP 1701) → PPP → IPv4 (length bit: 2 more header bytes).
    #[test]
    fn l2tp() {
        let mut l2tp = vec![0x40, 0x02, 0, 20, 0, 1, 0, 2, 0x00, 0x21];
        l2tp.extend(inner_tcp(0x10));
        let f = eth(0x0800, &ipv4_udp(OUT_SRC, OUT_DST, 1701, 1701, &l2tp));
        let d = jj(linktype::ETHERNET, &f);
        assert_eq!((d.protocol, d.src_port), (17, 40264));
    }

    /// jj_mpls-basic.cap: 58 frames, 35 IP packets — the MPLS ones are dropped.
    #[test]
    fn mpls_and_unbound_ethertypes_have_no_ip() {
        let mut p = mpls_label(100, true);
        p.extend(ipv4_udp(IN_SRC, IN_DST, 1, 2, b""));
        let d = jj(linktype::ETHERNET, &eth(0x8847, &p));
        assert_eq!((d.ip_version, d.anomalies), (0, NOT_IP));
        let mut p = vec![0, 10, 0x08, 0x00];
        p.extend(ipv4_udp(IN_SRC, IN_DST, 1, 2, b""));
        assert_eq!(jj(linktype::ETHERNET, &eth(0x9100, &p)).ip_version, 0);
        assert_eq!(
            jj(linktype::ETHERNET, &eth(0x0806, &[0; 28])).anomalies,
            NOT_IP
        );
    }

    /// VLAN id from the first 802.1Q tag (an 802.1ad S-tag is not one), outer EtherType.
    #[test]
    fn vlan_tags() {
        let ip = ipv4_udp(IN_SRC, IN_DST, 1, 2, b"");
        let mut p = vec![0x00, 10, 0x81, 0x00, 0x00, 20, 0x08, 0x00];
        p.extend_from_slice(&ip);
        let d = jj(linktype::ETHERNET, &eth(0x88a8, &p));
        assert_eq!((d.vlan_id, d.eth_type, d.src_port), (20, 0x88a8, 1));
        let d = jj(linktype::ETHERNET, &eth(0x8100, &p));
        assert_eq!(d.vlan_id, 10);
        let d = jj(linktype::ETHERNET, &eth(0x0800, &ip));
        assert_eq!(
            (d.vlan_id, d.has_eth, d.dst_mac, d.src_mac),
            (NO_VLAN, true, MAC_DST, MAC_SRC)
        );
        // 802.3 length + LLC/SNAP carrying IPv4: IP, but no Ethernet II layer.
        let mut snap = vec![0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];
        snap.extend_from_slice(&ip);
        let d = jj(linktype::ETHERNET, &eth(snap.len() as u16, &snap));
        assert_eq!((d.ip_version, d.has_eth, d.eth_type), (4, false, 0));
    }

    /// PPPoE session → PPP (2-byte, 1-byte or HDLC-prefixed protocol) → IP.
    #[test]
    fn pppoe() {
        let ip = ipv4_udp(IN_SRC, IN_DST, 1, 2, b"");
        for ppp in [&[0x00u8, 0x21][..], &[0x21], &[0xff, 0x03, 0x00, 0x21]] {
            let mut p = vec![0x11, 0, 0, 1, 0, 0];
            p.extend_from_slice(ppp);
            p.extend_from_slice(&ip);
            assert_eq!(
                jj(linktype::ETHERNET, &eth(0x8864, &p)).src_port,
                1,
                "{ppp:?}"
            );
        }
        let mut p = vec![0x11, 0x09, 0, 1, 0, 0, 0, 0x21];
        p.extend_from_slice(&ip);
        assert_eq!(jj(linktype::ETHERNET, &eth(0x8864, &p)).ip_version, 0);
    }

    /// zeek_ipv6-hbh-routing0.pcap (PROTO0 with ports 53/53), tcpd_ipv6-srh-ext-header
    /// (PROTO43), zeek_ipv6-mobility-dst-opts.pcap (PROTO60 with ports 30000/13000):
    /// protocol is the fixed header's next header, ports from the TCP/UDP behind.
    #[test]
    fn ipv6_protocol_is_the_fixed_next_header() {
        let udp = udp(53, 53, b"abc");
        let mut hbh = vec![43, 0, 1, 4, 0, 0, 0, 0];
        hbh.extend_from_slice(&[60, 0, 0, 0, 0, 0, 0, 0]); // routing, 8 bytes
        hbh.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]); // destination options
        hbh.extend_from_slice(&udp);
        let d = jj(linktype::RAW, &ipv6_raw(0, &hbh));
        assert_eq!(
            (d.ip_version, d.protocol, d.src_port, d.dst_port),
            (6, 0, 53, 53)
        );
        assert_eq!(
            (d.ip_total_len, scapy_payload(&d), d.ipv6_ext_count),
            (40 + 24 + 11, 3, 3)
        );
        // ICMPv6 is not ICMP: no ICMP fields, payload = everything after the fixed header.
        let d = jj(
            linktype::RAW,
            &ipv6_raw(58, &[128, 0, 0, 0, 0, 1, 0, 2, b'x']),
        );
        assert_eq!(
            (d.protocol, d.icmp_type, d.icmp_id, d.transport()),
            (58, 0, 0, Layer::None)
        );
        assert_eq!((scapy_payload(&d), d.payload_captured), (9, 0));
    }

    /// zeek_ipv6-fragmented-dns.pcap: the first fragment is PROTO44 with ports 53/51851,
    /// later fragments PROTO44 with ports 0. ndpi_dns_fragmented.pcap: IPv4 later
    /// fragments have ports 0 (193.24.227.238:0 → 172.217.40.76:0, UDP).
    #[test]
    fn fragments_are_not_reassembled() {
        let mut first = vec![17, 0, 0x00, 0x01, 0, 0, 0, 9];
        first.extend(udp(53, 51851, &[1; 16]));
        let d = jj(linktype::RAW, &ipv6_raw(44, &first));
        assert_eq!((d.protocol, d.src_port, d.dst_port), (44, 53, 51851));
        assert_eq!(
            (d.more_fragments, d.frag_id, d.anomalies),
            (true, 9, FRAGMENT)
        );
        let mut later = vec![17, 0, 0x00, 0xb0, 0, 0, 0, 9];
        later.extend_from_slice(&[1; 24]);
        let d = jj(linktype::RAW, &ipv6_raw(44, &later));
        assert_eq!((d.protocol, d.src_port, d.frag_offset), (44, 0, 0xb0));
        assert_eq!(scapy_payload(&d), 32);
        // IPv4: first fragment parsed, later fragment raw.
        let mut p = ipv4_udp(IN_SRC, IN_DST, 53, 9999, &[0; 16]);
        p[6] = 0x20;
        assert_eq!(jj(linktype::RAW, &p).src_port, 53);
        p[6] = 0x00;
        p[7] = 0x03;
        let d = jj(linktype::RAW, &p);
        assert_eq!(
            (d.protocol, d.src_port, d.transport(), scapy_payload(&d)),
            (17, 0, Layer::None, 24)
        );
        // A first fragment whose TCP header is cut is not TCP either.
        let mut p = ipv4_raw(6, IN_SRC, IN_DST, &inner_tcp(0x10)[20..32]);
        p[6] = 0x20;
        assert_eq!(jj(linktype::RAW, &p).src_port, 0);
        // Scapy binds IPv6-in-IPv4 without the fragment condition.
        let mut p = ipv4_raw(41, IN_SRC, IN_DST, &ipv6_udp(7, 8, b""));
        p[7] = 0x05;
        assert_eq!(jj(linktype::RAW, &p).src_port, 7);
    }

    /// tcpd_bigtcp-ipv6-hbh.pcap: jumbogram (payload length 0) → total_bytes 40, and
    /// Scapy sees at most 65535 bytes of the frame (payload 65441, not 80000).
    #[test]
    fn jumbogram_and_frame_cut() {
        let mut hbh = vec![6, 0, 0xc2, 4];
        let tcp_len = 70_000u32 - 8;
        hbh.extend_from_slice(&(tcp_len + 8).to_be_bytes());
        let mut t = tcp_hdr(41851, 43913, 0x18, &[]);
        t.resize(tcp_len as usize, 7);
        hbh.extend(t);
        let mut p = ipv6_raw(0, &hbh);
        p[4] = 0;
        p[5] = 0;
        let f = eth(0x86dd, &p);
        let d = jj(linktype::ETHERNET, &f);
        assert_eq!((d.protocol, d.ip_total_len, d.src_port), (0, 40, 41851));
        assert_eq!(d.caplen, 65535);
        assert_eq!(scapy_payload(&d), 65535 - 14 - 40 - 8 - 20);
        assert_eq!(d.payload_captured, scapy_payload(&d));
    }

    /// Padding after the IP packet is payload for JoyfulJay (spec §2.1): a pure ACK in a
    /// 60-byte frame has payload 6.
    #[test]
    fn trailer_is_payload() {
        let mut f = eth(0x0800, &ipv4_tcp(IN_SRC, IN_DST, 1, 2, 0x10, &[], b""));
        f.resize(60, 0);
        let d = jj(linktype::ETHERNET, &f);
        assert_eq!(
            (d.ip_total_len, d.payload_len, scapy_payload(&d)),
            (40, 0, 6)
        );
        assert_eq!((d.payload_offset, d.payload_captured), (54, 6));
        // Snaplen cut: only the captured bytes count.
        let f = eth(0x0800, &ipv4_udp(IN_SRC, IN_DST, 1, 2, &[9; 100]));
        let mut d = Decoded::default();
        decode_with(
            linktype::ETHERNET,
            &f[..60],
            f.len() as u32,
            DecodeMode::JoyfulJay,
            &mut d,
        );
        assert_eq!(
            (d.ip_total_len, scapy_payload(&d), d.payload_captured),
            (128, 18, 18)
        );
    }

    /// Link types: what Scapy 2.8 on Linux maps to IP (status.tsv: link-type fields with
    /// FCS bits set give zero flows).
    #[test]
    fn link_types() {
        let ip = ipv4_udp(IN_SRC, IN_DST, 1, 2, b"");
        let v6 = ipv6_udp(3, 4, b"");
        let with = |h: &[u8], p: &[u8]| [h, p].concat();
        // NULL: the first byte is the family.
        assert_eq!(jj(linktype::NULL, &with(&[2, 0, 0, 0], &ip)).src_port, 1);
        assert_eq!(jj(linktype::NULL, &with(&[0, 0, 0, 2], &ip)).src_port, 1); // 0 = IPv4
        assert_eq!(jj(linktype::NULL, &with(&[10, 0, 0, 0], &v6)).src_port, 3);
        for fam in [24u8, 28, 30] {
            assert_eq!(
                jj(linktype::NULL, &with(&[fam, 0, 0, 0], &v6)).ip_version,
                0
            );
        }
        // LOOP: big-endian family.
        assert_eq!(jj(linktype::LOOP, &with(&[0, 0, 0, 2], &ip)).src_port, 1);
        assert_eq!(jj(linktype::LOOP, &with(&[2, 0, 0, 0], &ip)).ip_version, 0);
        // Raw: version nibble (anything but 6 is IPv4); 228 always IPv4; 229 IPv6.
        assert_eq!(jj(linktype::RAW, &v6).ip_version, 6);
        assert_eq!(jj(linktype::RAW_BSD12, &ip).ip_version, 4);
        let mut ip5 = ip.clone();
        ip5[0] = 0x55;
        assert_eq!(jj(linktype::RAW, &ip5).src_port, 1);
        assert_eq!(jj(linktype::IPV4, &ip5).src_port, 1);
        assert_eq!(jj(linktype::IPV6, &v6).src_port, 3);
        assert_eq!(jj(linktype::IPV4, &v6).ip_version, 4); // IPv6 bytes read as IPv4
                                                           // Not known to Scapy on Linux: 14, FCS bits in the link-type field.
        for lt in [linktype::RAW_BSD14, 0x3000_0001, 0x3000_00e5, 9999] {
            assert_eq!(jj(lt, &ip).anomalies, UNKNOWN_LINKTYPE, "{lt:#x}");
        }
        // SLL and SLL2 (zeek_linux_dlt_sll2.pcap); no Ethernet MACs there.
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&0x0800u16.to_be_bytes());
        let d = jj(linktype::LINUX_SLL, &with(&sll, &ip));
        assert_eq!((d.src_port, d.has_eth), (1, false));
        let mut sll2 = 0x86ddu16.to_be_bytes().to_vec();
        sll2.resize(20, 0);
        assert_eq!(jj(linktype::LINUX_SLL2, &with(&sll2, &v6)).src_port, 3);
        sll[14..16].copy_from_slice(&0x88a8u16.to_be_bytes());
        assert_eq!(jj(linktype::LINUX_SLL, &with(&sll, &ip)).ip_version, 0);
        // Cut headers: no IP.
        assert_eq!(jj(linktype::ETHERNET, &[0x11]).anomalies, TRUNCATED);
        assert_eq!(jj(linktype::RAW, &ip[..19]).anomalies, TRUNCATED);
    }

    /// Scapy's ICMP header length by type; a cut header is not ICMP; id/seq for the
    /// echo-like types only.
    #[test]
    fn icmp() {
        let icmp = |b: &[u8]| jj(linktype::RAW, &ipv4_raw(1, IN_SRC, IN_DST, b));
        let d = icmp(&[8, 0, 0, 0, 0, 5, 0, 6, 1, 2, 3]);
        assert_eq!(
            (d.icmp_type, d.icmp_id, d.icmp_seq, scapy_payload(&d)),
            (8, 5, 6, 3)
        );
        let mut ts = vec![13, 0, 0, 0, 0, 5, 0, 6];
        ts.extend_from_slice(&[0; 14]);
        assert_eq!(scapy_payload(&icmp(&ts)), 2);
        let d = icmp(&[37, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 9]);
        assert_eq!((d.icmp_id, d.icmp_seq, scapy_payload(&d)), (1, 2, 1));
        let d = icmp(&[3, 3, 0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(
            (d.icmp_type, d.icmp_code, d.icmp_id, scapy_payload(&d)),
            (3, 3, 0, 2)
        );
        // Cut echo: not ICMP, the IP payload counts.
        let d = icmp(&[8, 0, 0, 0, 0, 5]);
        assert_eq!(
            (d.icmp_type, d.transport(), scapy_payload(&d)),
            (0, Layer::None, 6)
        );
        // An error message of 144 bytes or more: the RFC 4884 rule leaves 128.
        let mut big = vec![11, 0, 0, 0, 0, 0, 0, 0];
        big.extend(ipv4_udp(IN_DST, IN_SRC, 53, 9, &[0; 160]));
        let mut f = eth(0x0800, &ipv4_raw(1, IN_SRC, IN_DST, &big));
        f.extend_from_slice(&[0; 4]);
        assert_eq!(scapy_payload(&jj(linktype::ETHERNET, &f)), 128);
    }

    /// IPv4 fields as the header says: total length unchecked (0 from TSO stays 0), IHL
    /// < 5 leaves the last 20 − 4·IHL bytes as payload (ndpi_fuzz-2006-06-26-2594).
    #[test]
    fn ipv4_lengths_as_written() {
        let mut p = ipv4_tcp(IN_SRC, IN_DST, 1, 2, 0x10, &[], &[5; 300]);
        p[2] = 0;
        p[3] = 0;
        let d = jj(linktype::RAW, &p);
        assert_eq!(
            (d.ip_total_len, d.src_port, d.payload_captured),
            (0, 1, 300)
        );
        let mut p = ipv4_udp(IN_SRC, IN_DST, 1, 2, &[0; 24]);
        p[0] = 0x41; // IHL 1: the last 16 bytes follow the header
        let n = p.len();
        p[n - 16..n - 14].copy_from_slice(&31074u16.to_be_bytes());
        p[n - 14..n - 12].copy_from_slice(&25970u16.to_be_bytes());
        let d = jj(linktype::RAW, &p);
        assert_eq!(
            (d.src_port, d.dst_port, d.payload_captured),
            (31074, 25970, 8)
        );
        // UDP length < 8: Python's negative slice, same total payload.
        let mut p = ipv4_udp(IN_SRC, IN_DST, 7, 8, b"abcdef");
        p[24..26].copy_from_slice(&4u16.to_be_bytes());
        assert_eq!(jj(linktype::RAW, &p).payload_captured, 6);
    }

    /// ndpi_ah.pcapng: AH packets are PROTO51 with ports 0 (Scapy binds AH to IPv4 and
    /// IPv6 only).
    #[test]
    fn ah_hides_transport() {
        let mut ah = vec![17, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
        ah.extend_from_slice(&[0; 12]);
        ah.extend(udp(500, 500, b"x"));
        let d = jj(linktype::RAW, &ipv4_raw(51, IN_SRC, IN_DST, &ah));
        assert_eq!(
            (d.protocol, d.src_port, d.transport()),
            (51, 0, Layer::None)
        );
        ah[0] = 0; // "IP" next header: an IPv4 packet follows
        let n = ah.len() - 9;
        ah.truncate(n);
        ah.extend(ipv4_udp(OUT_SRC, OUT_DST, 500, 500, b""));
        let d = jj(linktype::RAW, &ipv4_raw(51, IN_SRC, IN_DST, &ah));
        assert_eq!((v4(&d).0, d.protocol, d.src_port), (IN_SRC, 51, 500));
    }

    /// TCP options as JoyfulJay reads Scapy's list.
    #[test]
    fn tcp_options_like_joyfuljay() {
        let opts = [
            2, 4, 5, 0xb4, // MSS 1460
            5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, // SACK, 2 blocks: counts 1
            3, 3, 7, // WScale 7
            4, 2, // SAckOK
            8, 10, 0, 0, 0, 5, 0, 0, 0, 6, // Timestamp
            1, 1, 0, // NOP, NOP, EOL
        ];
        let mut o = opts.to_vec();
        o.resize(40, 0);
        let d = jj(
            linktype::RAW,
            &ipv4_tcp(IN_SRC, IN_DST, 9, 10, 0x02, &o, b""),
        );
        assert_eq!(
            (d.tcp_mss, d.tcp_wscale, d.tcp_sack_permitted),
            (1460, 7, true)
        );
        assert_eq!(
            (d.tcp_sack_blocks, d.tcp_has_ts, d.tcp_ts_val, d.tcp_ts_ecr),
            (1, true, 5, 6)
        );
        assert_eq!((d.tcp_opt_len, d.l4_offset, d.payload_offset), (40, 20, 80));
        // Wrong sizes are ignored; a length < 2 counts as 2 and parsing goes on.
        let o = [2, 3, 5, 3, 1, 4, 0, 3, 3, 9, 0, 0];
        let d = jj(
            linktype::RAW,
            &ipv4_tcp(IN_SRC, IN_DST, 9, 10, 0x02, &o, b""),
        );
        assert_eq!(
            (d.tcp_mss, d.tcp_wscale, d.tcp_sack_permitted),
            (0, 9, true)
        );
        // Data offset < 5: no options, 20-byte header.
        let mut p = ipv4_tcp(IN_SRC, IN_DST, 9, 10, 0x02, &[], b"pp");
        p[32] = 0x30;
        let d = jj(linktype::RAW, &p);
        assert_eq!(
            (d.tcp_opt_len, d.tcp_wscale, d.payload_captured),
            (0, NO_WSCALE, 2)
        );
    }

    /// Nothing deeper than the step limit is followed, and nothing panics on any prefix.
    #[test]
    fn deep_nesting_and_prefixes() {
        let mut p = inner_tcp(0x10);
        for _ in 0..40 {
            p = ipv4_raw(4, OUT_SRC, OUT_DST, &p);
        }
        let d = jj(linktype::RAW, &p);
        assert_eq!((d.ip_version, d.protocol, d.src_port), (4, 4, 0));
        assert!(d.has_anomaly(TOO_DEEP));
        let f = outer(47, &gre(0x2000, 0x0800, &[7], &inner_tcp(0x11)));
        for cut in 0..f.len() {
            let d = jj(linktype::ETHERNET, &f[..cut]);
            assert!(d.ip_version != 0 || d.anomalies != 0, "{cut}");
        }
    }
}
