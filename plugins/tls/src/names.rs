//! Text forms: protocol versions and key exchange group names.
#![forbid(unsafe_code)]

use std::fmt::Write;

/// `tls_version_str`: `SSL 3.0`, `TLS 1.0` ... `TLS 1.3`, else `Unknown (0x%04x)`.
pub fn write_version(out: &mut String, v: u16) {
    out.clear();
    match v {
        0x0300 => out.push_str("SSL 3.0"),
        0x0301 => out.push_str("TLS 1.0"),
        0x0302 => out.push_str("TLS 1.1"),
        0x0303 => out.push_str("TLS 1.2"),
        0x0304 => out.push_str("TLS 1.3"),
        _ => {
            let _ = write!(out, "Unknown (0x{v:04x})");
        }
    }
}

/// IANA names of the TLS supported groups (registry "TLS Supported Groups").
fn iana_group(g: u16) -> Option<&'static str> {
    Some(match g {
        1 => "sect163k1",
        2 => "sect163r1",
        3 => "sect163r2",
        4 => "sect193r1",
        5 => "sect193r2",
        6 => "sect233k1",
        7 => "sect233r1",
        8 => "sect239k1",
        9 => "sect283k1",
        10 => "sect283r1",
        11 => "sect409k1",
        12 => "sect409r1",
        13 => "sect571k1",
        14 => "sect571r1",
        15 => "secp160k1",
        16 => "secp160r1",
        17 => "secp160r2",
        18 => "secp192k1",
        19 => "secp192r1",
        20 => "secp224k1",
        21 => "secp224r1",
        22 => "secp256k1",
        23 => "secp256r1",
        24 => "secp384r1",
        25 => "secp521r1",
        26 => "brainpoolP256r1",
        27 => "brainpoolP384r1",
        28 => "brainpoolP512r1",
        29 => "x25519",
        30 => "x448",
        31 => "brainpoolP256r1tls13",
        32 => "brainpoolP384r1tls13",
        33 => "brainpoolP512r1tls13",
        256 => "ffdhe2048",
        257 => "ffdhe3072",
        258 => "ffdhe4096",
        259 => "ffdhe6144",
        260 => "ffdhe8192",
        0x11eb => "SecP256r1MLKEM768",
        0x11ec => "X25519MLKEM768",
        0x11ed => "SecP384r1MLKEM1024",
        0x6399 => "X25519Kyber768Draft00",
        0x639a => "SecP256r1Kyber768Draft00",
        _ => return None,
    })
}

/// JoyfulJay's table (spec §4.5): a subset, plus its own 0x0200 entry.
fn joyfuljay_group(g: u16) -> Option<&'static str> {
    Some(match g {
        0x17 => "secp256r1",
        0x18 => "secp384r1",
        0x19 => "secp521r1",
        0x1d => "x25519",
        0x1e => "x448",
        0x100 => "ffdhe2048",
        0x101 => "ffdhe3072",
        0x102 => "ffdhe4096",
        0x103 => "ffdhe6144",
        0x104 => "ffdhe8192",
        0x6399 => "X25519Kyber768Draft00",
        0x0200 => "secp256r1_kyber768",
        _ => return None,
    })
}

/// `tls_key_exchange_group_name` of a group id: the IANA name (compat: JoyfulJay's
/// table), else `unknown(0x%04x)`.
pub fn write_group(out: &mut String, g: u16, compat: bool) {
    out.clear();
    let name = if compat {
        joyfuljay_group(g)
    } else {
        iana_group(g)
    };
    match name {
        Some(n) => out.push_str(n),
        None => {
            let _ = write!(out, "unknown(0x{g:04x})");
        }
    }
}

/// The RFC 7919 ffdhe primes all begin with 64 one bits followed by the binary
/// expansion of e; this is their first 24 bytes.
const FFDHE_PREFIX: [u8; 24] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xAD, 0xF8, 0x54, 0x58, 0xA2, 0xBB, 0x4A, 0x9A,
    0xAF, 0xDC, 0x56, 0x20, 0x27, 0x3D, 0x3C, 0xF1,
];

/// The named group of a TLS 1.2 DHE prime: ffdhe2048..8192 (0x0100..0x0104) when `p` is
/// one of the RFC 7919 primes (recognised by their common prefix and size), else `None`
/// (server-chosen parameters have no group id).
pub fn ffdhe_group(p: &[u8]) -> Option<u16> {
    let p = &p[p.iter().take_while(|&&b| b == 0).count()..];
    if !p.starts_with(&FFDHE_PREFIX) || p.last() != Some(&0xFF) {
        return None;
    }
    match p.len() * 8 {
        2048 => Some(0x100),
        3072 => Some(0x101),
        4096 => Some(0x102),
        6144 => Some(0x103),
        8192 => Some(0x104),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_groups() {
        let mut s = String::new();
        write_version(&mut s, 0x0304);
        assert_eq!(s, "TLS 1.3");
        write_version(&mut s, 0x7f1c);
        assert_eq!(s, "Unknown (0x7f1c)");
        write_group(&mut s, 0x11ec, false);
        assert_eq!(s, "X25519MLKEM768");
        write_group(&mut s, 0x11ec, true);
        assert_eq!(s, "unknown(0x11ec)");
        write_group(&mut s, 0x2a2a, true);
        assert_eq!(s, "unknown(0x2a2a)");
        write_group(&mut s, 0x0200, true);
        assert_eq!(s, "secp256r1_kyber768");
        write_group(&mut s, 0x0200, false);
        assert_eq!(s, "unknown(0x0200)");
        write_group(&mut s, 0x1d, false);
        assert_eq!(s, "x25519");
    }

    #[test]
    fn ffdhe_primes_are_recognised() {
        let mut p = vec![0xFF; 256];
        p[..24].copy_from_slice(&FFDHE_PREFIX);
        assert_eq!(ffdhe_group(&p), Some(0x100));
        let mut lead0 = vec![0];
        lead0.extend(&p);
        assert_eq!(ffdhe_group(&lead0), Some(0x100));
        // RFC 3526 MODP primes start with pi's digits instead.
        p[8] = 0xC9;
        assert_eq!(ffdhe_group(&p), None);
        assert_eq!(ffdhe_group(&[0xFF; 128]), None);
        assert_eq!(ffdhe_group(&[]), None);
    }
}
