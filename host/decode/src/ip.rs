//! Shared IP helpers: version dispatch, length bounding and the transport dispatch.

use crate::anomaly::{BAD_IP_HEADER, FRAGMENT, IP_LEN_MISMATCH, TRUNCATED};
use crate::bytes::{sat32, u8_at};
use crate::{icmp, ipv4, ipv6, tcp, tunnel, udp, Decoded, Layer};

/// Where a packet sits in its fragment series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Frag {
    /// Not fragmented (or an atomic fragment).
    No,
    /// Offset 0 with more fragments: the transport header is here.
    First,
    /// Offset > 0: no transport header.
    Later,
}

impl Frag {
    #[inline]
    pub(crate) fn of(offset_bytes: u16, more: bool) -> Frag {
        if offset_bytes > 0 {
            Frag::Later
        } else if more {
            Frag::First
        } else {
            Frag::No
        }
    }
}

/// Decode an IP header at `off`, version from the first nibble.
pub(crate) fn by_version(f: &[u8], off: usize, end: usize, out: &mut Decoded) {
    match u8_at(f, off).map(|b| b >> 4) {
        Some(4) => ipv4::decode(f, off, end, out),
        Some(6) => ipv6::decode(f, off, end, out),
        Some(_) => out.anomalies |= BAD_IP_HEADER,
        None => out.anomalies |= TRUNCATED,
    }
}

/// The end of an IP packet that claims to end at `claimed`, inside a container ending at
/// `end` (the wire length, or the enclosing payload for a tunnelled packet). A claim past
/// `end` is a lying header ([`IP_LEN_MISMATCH`]) and is cut to `end`; an end past the
/// captured bytes is a snaplen cut ([`TRUNCATED`]).
#[inline]
pub(crate) fn bound_end(claimed: usize, end: usize, caplen: usize, out: &mut Decoded) -> usize {
    let e = if claimed > end {
        out.anomalies |= IP_LEN_MISMATCH;
        end
    } else {
        claimed
    };
    if e > caplen {
        out.anomalies |= TRUNCATED;
    }
    e
}

/// The frame cut to the IP packet's end: reads through it cannot reach trailer padding.
#[inline]
pub(crate) fn bounded(f: &[u8], ip_end: usize) -> &[u8] {
    f.get(..ip_end.min(f.len())).unwrap_or(f)
}

/// Record the transport payload `[off, ip_end)` (length by IP, captured part by `f`).
#[inline]
pub(crate) fn set_payload(f: &[u8], off: usize, ip_end: usize, out: &mut Decoded) {
    out.payload_offset = sat32(off);
    out.payload_len = sat32(ip_end.saturating_sub(off));
    out.payload_captured = sat32(ip_end.min(f.len()).saturating_sub(off));
}

/// Decode the upper-layer protocol `proto` whose header starts at `l4` in an IP packet
/// ending at `ip_end`.
#[inline]
pub(crate) fn upper(f: &[u8], out: &mut Decoded, proto: u8, l4: usize, ip_end: usize, frag: Frag) {
    out.protocol = proto;
    out.l4_offset = sat32(l4);
    if frag != Frag::No {
        out.anomalies |= FRAGMENT;
    }
    if frag == Frag::Later {
        // No transport header in a later fragment: the payload is the fragment data.
        set_payload(f, l4, ip_end, out);
        return;
    }
    match proto {
        6 => tcp::decode(f, l4, ip_end, out),
        17 => udp::decode(f, l4, ip_end, frag, out),
        1 => icmp::decode(f, l4, ip_end, false, out),
        58 => icmp::decode(f, l4, ip_end, true, out),
        4 | 41 | 47 if frag == Frag::No => tunnel::ip_proto(f, proto, l4, ip_end, out),
        _ => {
            out.push_layer(Layer::Other);
            set_payload(f, l4, ip_end, out);
        }
    }
}
