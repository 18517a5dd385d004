//! JA3/JA3S (Salesforce) and JA4/JA4S (FoxIO) client and server fingerprints.
//!
//! * JA3 = md5 of `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`:
//!   decimal values joined by `-`; the version is the ClientHello's `legacy_version`;
//!   GREASE values are dropped from ciphers, extensions and curves (point formats are
//!   one byte and kept as sent). JA3S = md5 of `SSLVersion,Cipher,Extensions`.
//! * JA4 = `t{ver}{d|i}{nc:02}{ne:02}{alpn}_{sha256[:12] of sorted ciphers}_{sha256[:12]
//!   of sorted extensions without SNI/ALPN, then "_" and the signature algorithms}`;
//!   JA4S = `t{ver}{ne:02}{alpn}_{cipher}_{sha256[:12] of extensions in order}` (FoxIO's
//!   `technical_details/JA4.md` and JA4S definitions; the hex lists are lowercase 4-digit
//!   values joined by `,`; an empty list hashes to `000000000000`).
//!
//! Which values are GREASE is the caller's choice ([`is_grease`]: the 16 values of
//! RFC 8701; [`is_grease_mask`]: JoyfulJay's broader mask). Everything is written into
//! caller-owned buffers.
#![forbid(unsafe_code)]

use crate::{
    hello::{ext, ClientHello, ClientInfo, ServerHello, ServerInfo},
    wire::u16s,
};
use md5::{Digest, Md5};
use std::fmt::Write;

/// The 16 GREASE values of RFC 8701 (`0x0A0A`, `0x1A1A`, ..., `0xFAFA`).
pub fn is_grease(v: u16) -> bool {
    v & 0x0F0F == 0x0A0A && v >> 8 == v & 0xFF
}

/// JoyfulJay's GREASE test: any value with both low nibbles `A` (256 values).
pub fn is_grease_mask(v: u16) -> bool {
    v & 0x0F0F == 0x0A0A
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the lowercase hex digits of `bytes`.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
}

/// Appends the md5 of `text` as 32 lowercase hex digits.
pub fn push_md5_hex(out: &mut String, text: &str) {
    push_hex(out, &Md5::digest(text.as_bytes()));
}

/// Appends the first 12 hex digits of the sha256 of `text`, or `000000000000` for an
/// empty text (FoxIO's rule).
pub fn push_hash12(out: &mut String, text: &str) {
    if text.is_empty() {
        out.push_str("000000000000");
    } else {
        push_hex(out, &jj_kit::hash::sha256(text.as_bytes())[..6]);
    }
}

/// Appends `values` in decimal joined by `-`.
fn push_dec_list(out: &mut String, values: impl Iterator<Item = u16>) {
    let mut buf = itoa::Buffer::new();
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push('-');
        }
        out.push_str(buf.format(v));
    }
}

/// Appends `values` as 4-digit lowercase hex joined by `,`.
fn push_hex4_list(out: &mut String, values: impl Iterator<Item = u16>) {
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_hex(out, &v.to_be_bytes());
    }
}

/// The JA3 text of a ClientHello into `text` (cleared first).
pub fn ja3_text(
    text: &mut String,
    hello: &ClientHello<'_>,
    info: &ClientInfo<'_>,
    grease: fn(u16) -> bool,
) {
    text.clear();
    text.push_str(itoa::Buffer::new().format(hello.version));
    text.push(',');
    push_dec_list(text, hello.cipher_list().filter(|&v| !grease(v)));
    text.push(',');
    push_dec_list(
        text,
        hello
            .extension_list()
            .map(|(t, _)| t)
            .filter(|&v| !grease(v)),
    );
    text.push(',');
    push_dec_list(text, u16s(info.groups).filter(|&v| !grease(v)));
    text.push(',');
    push_dec_list(text, info.point_formats.iter().map(|&b| u16::from(b)));
}

/// The JA3S text of a ServerHello into `text` (cleared first); `None` when the hello
/// ends before its cipher suite.
pub fn ja3s_text(
    text: &mut String,
    hello: &ServerHello<'_>,
    grease: fn(u16) -> bool,
) -> Option<()> {
    text.clear();
    let cipher = hello.cipher?;
    let _ = write!(text, "{},{},", hello.version, cipher);
    push_dec_list(
        text,
        hello
            .extension_list()
            .map(|(t, _)| t)
            .filter(|&v| !grease(v)),
    );
    Some(())
}

/// JA4's two-character version code.
pub fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// JA4's ALPN code: first and last character of the first protocol when both are ASCII
/// alphanumerics (one character counts as both), else the first and last digit of its
/// hex form; `00` when there is none or it is empty.
pub fn ja4_alpn(alpn: Option<&[u8]>) -> [char; 2] {
    match alpn {
        Some(&[first, .., last]) | Some(&[first @ last]) => {
            if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
                [char::from(first), char::from(last)]
            } else {
                [
                    char::from(HEX[usize::from(first >> 4)]),
                    char::from(HEX[usize::from(last & 15)]),
                ]
            }
        }
        _ => ['0', '0'],
    }
}

/// Reusable buffers for JA4/JA4S.
#[derive(Debug, Default)]
pub struct Scratch {
    list: Vec<u16>,
    text: String,
}

/// JA4 of a ClientHello over TCP into `out` (cleared first).
pub fn ja4(out: &mut String, hello: &ClientHello<'_>, info: &ClientInfo<'_>, s: &mut Scratch) {
    out.clear();
    let version = info
        .versions
        .and_then(|v| u16s(v).filter(|&v| !is_grease(v)).max())
        .unwrap_or(hello.version);
    let n_ciphers = hello.cipher_list().filter(|&v| !is_grease(v)).count();
    let n_exts = hello
        .extension_list()
        .filter(|&(t, _)| !is_grease(t))
        .count();
    let [a0, a1] = ja4_alpn(info.alpn_first);
    let _ = write!(
        out,
        "t{}{}{:02}{:02}{a0}{a1}_",
        ja4_version(version),
        if info.sni_ext { 'd' } else { 'i' },
        n_ciphers.min(99),
        n_exts.min(99),
    );

    s.list.clear();
    s.list
        .extend(hello.cipher_list().filter(|&v| !is_grease(v)));
    s.list.sort_unstable();
    s.text.clear();
    push_hex4_list(&mut s.text, s.list.iter().copied());
    push_hash12(out, &s.text);
    out.push('_');

    s.list.clear();
    s.list.extend(
        hello
            .extension_list()
            .map(|(t, _)| t)
            .filter(|&t| !is_grease(t) && t != ext::SERVER_NAME && t != ext::ALPN),
    );
    s.list.sort_unstable();
    s.text.clear();
    if !s.list.is_empty() {
        push_hex4_list(&mut s.text, s.list.iter().copied());
        let mut sigs = u16s(info.sig_algs).filter(|&v| !is_grease(v)).peekable();
        if sigs.peek().is_some() {
            s.text.push('_');
            push_hex4_list(&mut s.text, sigs);
        }
    }
    push_hash12(out, &s.text);
}

/// JA4S of a ServerHello over TCP into `out` (cleared first); `None` (and `out` empty)
/// when the hello ends before its cipher suite.
pub fn ja4s(
    out: &mut String,
    hello: &ServerHello<'_>,
    info: &ServerInfo<'_>,
    s: &mut Scratch,
) -> Option<()> {
    out.clear();
    let cipher = hello.cipher?;
    let version = info.selected_version.unwrap_or(hello.version);
    let n_exts = hello
        .extension_list()
        .filter(|&(t, _)| !is_grease(t))
        .count();
    let [a0, a1] = ja4_alpn(info.alpn);
    let _ = write!(
        out,
        "t{}{:02}{a0}{a1}_",
        ja4_version(version),
        n_exts.min(99)
    );
    push_hex(out, &cipher.to_be_bytes());
    out.push('_');
    s.text.clear();
    push_hex4_list(
        &mut s.text,
        hello
            .extension_list()
            .map(|(t, _)| t)
            .filter(|&t| !is_grease(t)),
    );
    push_hash12(out, &s.text);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grease_tables() {
        let official: Vec<u16> = (0..=u16::MAX).filter(|&v| is_grease(v)).collect();
        assert_eq!(official.len(), 16);
        assert_eq!(official[0], 0x0a0a);
        assert_eq!(official[15], 0xfafa);
        assert_eq!((0..=u16::MAX).filter(|&v| is_grease_mask(v)).count(), 256);
        assert!(is_grease_mask(0x0a1a) && !is_grease(0x0a1a));
    }

    #[test]
    fn hashes_of_known_texts() {
        // RFC 1321 test vectors.
        for (text, md5) in [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ] {
            let mut s = String::new();
            push_md5_hex(&mut s, text);
            assert_eq!(s, md5, "md5({text:?})");
        }
        // FoxIO's worked example (technical_details/JA4.md).
        let mut s = String::new();
        push_hash12(
            &mut s,
            "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601",
        );
        assert_eq!(s, "e5627efa2ab1");
        s.clear();
        push_hash12(&mut s, "");
        assert_eq!(s, "000000000000");
    }

    #[test]
    fn alpn_codes() {
        assert_eq!(ja4_alpn(Some(b"h2")), ['h', '2']);
        assert_eq!(ja4_alpn(Some(b"http/1.1")), ['h', '1']);
        assert_eq!(ja4_alpn(Some(b"h")), ['h', 'h']);
        assert_eq!(ja4_alpn(Some(b"")), ['0', '0']);
        assert_eq!(ja4_alpn(None), ['0', '0']);
        // FoxIO's examples of non-alphanumeric ALPN values.
        assert_eq!(ja4_alpn(Some(&[0xab])), ['a', 'b']);
        assert_eq!(ja4_alpn(Some(&[0x20])), ['2', '0']);
        assert_eq!(ja4_alpn(Some(&[0xab, 0xcd])), ['a', 'd']);
        assert_eq!(ja4_alpn(Some(&[0x20, 0x61])), ['2', '1']);
        assert_eq!(ja4_alpn(Some(&[0x30, 0xab])), ['3', 'b']);
    }
}
