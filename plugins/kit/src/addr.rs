//! IP addresses as text, the way the reference prints them (spec §2.1): a dotted quad
//! for IPv4, and for IPv6 either RFC 5952 (Rust's `Ipv6Addr` display) or glibc's
//! `inet_ntop`. Shared by the flow_meta columns and the connection graph's node labels.
//! Everything writes into a caller-owned `fmt::Write`, no allocation.
use std::fmt::{self, Write};
use std::net::Ipv4Addr;

/// Writes one flow address as text. IPv4: dotted quad. IPv6: the compressed form.
///
/// Default: Rust's `Ipv6Addr` display (RFC 5952: lowercase, longest run of two or more
/// zero groups replaced by `::`, the first one on a tie, dotted tail only for
/// IPv4-mapped `::ffff:a.b.c.d`). With `inet_ntop_style`, the output of glibc's
/// `inet_ntop`, which the reference prints (spec §2.1): identical except that the
/// deprecated IPv4-compatible form `::a.b.c.d` also gets a dotted tail.
pub fn write_ip(
    out: &mut impl Write,
    version: u8,
    addr: &[u8; 16],
    inet_ntop_style: bool,
) -> fmt::Result {
    if version == 6 {
        if inet_ntop_style {
            write_ipv6_inet_ntop(out, addr)
        } else {
            write!(out, "{}", std::net::Ipv6Addr::from(*addr))
        }
    } else {
        write_ipv4(out, [addr[0], addr[1], addr[2], addr[3]])
    }
}

/// Dotted quad, as `Ipv4Addr`'s display writes it, in one `write_str` (the formatting
/// machinery made several calls per address; flows have two).
pub fn write_ipv4(out: &mut impl Write, a: [u8; 4]) -> fmt::Result {
    let mut buf = [0u8; 15];
    let mut n = 0;
    for (i, &octet) in a.iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        if octet >= 100 {
            buf[n] = b'0' + octet / 100;
            n += 1;
        }
        if octet >= 10 {
            buf[n] = b'0' + octet / 10 % 10;
            n += 1;
        }
        buf[n] = b'0' + octet % 10;
        n += 1;
    }
    // ASCII digits and dots only.
    out.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
}

/// IPv6 text exactly as glibc `inet_ntop(AF_INET6, ...)` formats it.
pub fn write_ipv6_inet_ntop(out: &mut impl Write, b: &[u8; 16]) -> fmt::Result {
    let mut words = [0u16; 8];
    for (i, w) in words.iter_mut().enumerate() {
        *w = u16::from_be_bytes([b[2 * i], b[2 * i + 1]]);
    }
    // Longest run of zero words; the first one wins a tie; runs of one are not compressed.
    let (mut best_base, mut best_len) = (0usize, 0usize);
    let (mut cur_base, mut cur_len) = (0usize, 0usize);
    for (i, w) in words.iter().enumerate() {
        if *w == 0 {
            if cur_len == 0 {
                cur_base = i;
            }
            cur_len += 1;
            if cur_len > best_len {
                best_base = cur_base;
                best_len = cur_len;
            }
        } else {
            cur_len = 0;
        }
    }
    let compress = best_len >= 2;
    let mut i = 0;
    while i < 8 {
        if compress && i >= best_base && i < best_base + best_len {
            if i == best_base {
                out.write_char(':')?;
            }
            i += 1;
            continue;
        }
        if i != 0 {
            out.write_char(':')?;
        }
        // IPv4-compatible (::a.b.c.d) or IPv4-mapped (::ffff:a.b.c.d) tail.
        if i == 6
            && compress
            && best_base == 0
            && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))
        {
            return write!(out, "{}", Ipv4Addr::new(b[12], b[13], b[14], b[15]));
        }
        write!(out, "{:x}", words[i])?;
        i += 1;
    }
    if compress && best_base + best_len == 8 {
        out.write_char(':')?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn v6(s: &str, glibc: bool) -> String {
        let a: Ipv6Addr = s.parse().unwrap();
        let mut out = String::new();
        write_ip(&mut out, 6, &a.octets(), glibc).unwrap();
        out
    }

    #[test]
    fn ipv4_dotted_quad() {
        let mut out = String::new();
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&[192, 168, 1, 100]);
        a[4] = 0xEE; // bytes past the first four are ignored for IPv4
        write_ip(&mut out, 4, &a, false).unwrap();
        assert_eq!(out, "192.168.1.100");
        // every octet value in every position, against the standard library's display
        for v in 0..=255u8 {
            for q in [
                [v, 0, 9, 10],
                [99, v, 100, 255],
                [1, 22, v, 233],
                [255, 255, 7, v],
            ] {
                out.clear();
                write_ipv4(&mut out, q).unwrap();
                assert_eq!(out, std::net::Ipv4Addr::from(q).to_string());
            }
        }
    }

    #[test]
    fn ipv6_matches_inet_ntop() {
        // Expected strings: Python `socket.inet_ntop(AF_INET6, inet_pton(AF_INET6, s))`
        // on glibc 2.36. Both modes agree on all of these.
        for (s, want) in [
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("fe80::8c36:6ff:fe44:acaf", "fe80::8c36:6ff:fe44:acaf"),
            (
                "2620:0:e00:400e:d1d:db37:beb:5aac",
                "2620:0:e00:400e:d1d:db37:beb:5aac",
            ),
            ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("0:0:1::", "0:0:1::"),
            ("fe80::1:0:0:0", "fe80::1:0:0:0"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::ffff:0:0", "::ffff:0.0.0.0"),
            ("::ffff:0:1.2.3.4", "::ffff:0:102:304"),
            ("0:0:0:0:0:1:0:0", "::1:0:0"),
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"),
        ] {
            assert_eq!(v6(s, true), want, "inet_ntop style {s}");
            assert_eq!(v6(s, false), want, "RFC 5952 {s}");
        }
    }

    #[test]
    fn ipv4_compatible_differs_between_modes() {
        // glibc: inet_ntop gives "::1.2.3.4" / "::0.1.0.0"; RFC 5952 (Rust) uses hex.
        assert_eq!(v6("::1.2.3.4", true), "::1.2.3.4");
        assert_eq!(v6("::1.2.3.4", false), "::102:304");
        assert_eq!(v6("::0.1.0.0", true), "::0.1.0.0");
        assert_eq!(v6("::0.1.0.0", false), "::1:0");
    }
}
