//! `compat=joyfuljay`: JoyfulJay 0.1.6.1's TLS extractor, reproduced (spec §4.5).
//!
//! It looks at single packets, at most the first 256 payload bytes of each, with no
//! record or message reassembly:
//!
//! * ClientHello = the first initiator packet longer than 9 bytes with byte 0 = 0x16
//!   and byte 5 = 1; ServerHello = the first responder packet with byte 5 = 2. Both are
//!   read from offset 9 (record and handshake lengths ignored); a field that does not
//!   fit ends the parse, keeping the fields before it.
//! * ServerKeyExchange / Certificate: in responder packets starting with 0x16, a walk
//!   over `type, u24 length` headers from offset 5 that ignores record boundaries.
//! * GREASE is `(v & 0x0F0F) == 0x0A0A`; `tls_version` is the ClientHello's
//!   legacy_version; ALPN is the client's first offer; the key exchange is the
//!   client's first key share unless a ServerKeyExchange overrides it;
//!   `tls_session_resumed` is "detected, no certificate, and a session id, ticket or PSK
//!   extension".
//!
//! JoyfulJay (Scapy) also counts Ethernet trailer bytes as payload; jj never stores
//! them (`PacketRecord::link_trailer` only counts them), so a handshake that the
//! reference parses into trailer bytes (frames carrying an FCS, or padded frames) can
//! differ. Padding alone never matters here: a padded frame carries at most 5 payload
//! bytes and every rule needs more than 9.
#![forbid(unsafe_code)]

use crate::{
    fingerprint::{is_grease_mask, push_md5_hex},
    hello::ext,
    summary::{Kx, Summary, Texts},
    wire::{be16, be24, Cursor},
};
use std::fmt::Write;

/// Payload bytes JoyfulJay keeps per packet.
pub const PAYLOAD_CAP: u32 = 256;

/// Runs the reference's algorithm over `(is_initiator, stored payload)` per packet in
/// arrival order.
pub fn analyze<'a>(
    packets: impl Iterator<Item = (bool, &'a [u8])>,
    texts: &mut Texts,
) -> Summary<'a> {
    let mut s = Summary::default();
    let mut client_seen = false;
    let mut server_seen = false;
    let mut ske: Option<Kx> = None;
    let mut cert_seen = false;
    let mut client_kx = Kx::None;
    for (fwd, p) in packets {
        if p.first() == Some(&0x16) {
            s.handshake_packets += 1;
        }
        let hello = p.len() > 9 && p[0] == 0x16;
        if fwd {
            if hello && !client_seen && p[5] == 1 {
                client_seen = true;
                client_kx = client_hello(p, &mut s, texts);
            }
        } else {
            if hello && !server_seen && p[5] == 2 {
                server_seen = true;
                server_hello(p, &mut s, texts);
            }
            if p.first() == Some(&0x16) {
                if ske.is_none() {
                    ske = find_message(p, 12).and_then(server_key_exchange);
                }
                if !cert_seen {
                    if let Some(body) = find_message(p, 11) {
                        cert_seen = true;
                        certificate(body, &mut s);
                    }
                }
            }
        }
    }
    s.kx = ske.unwrap_or(client_kx);
    s.resumed =
        s.detected && s.cert.count == 0 && (s.session_id_len > 0 || s.ticket_ext || s.psk_ext);
    s
}

/// Parses the ClientHello fields from offset 9; returns the first key share.
fn client_hello<'a>(p: &'a [u8], s: &mut Summary<'a>, texts: &mut Texts) -> Kx {
    s.detected = true;
    let mut c = Cursor::new(p);
    c.take(9);
    let Some(version) = c.u16() else {
        return Kx::None;
    };
    s.version = version;
    if c.take(32).is_none() {
        return Kx::None;
    }
    let Some(sid_len) = c.u8() else {
        return Kx::None;
    };
    s.session_id_len = sid_len.into();
    if c.take(sid_len.into()).is_none() {
        return Kx::None;
    }
    let Some(n) = c.u16() else { return Kx::None };
    let Some(ciphers) = c.take(n.into()) else {
        return Kx::None;
    };
    s.cipher_count = (ciphers.len() / 2) as u32;
    let Some(n) = c.u8() else { return Kx::None };
    if c.take(n.into()).is_none() {
        return Kx::None;
    }
    let Some(ext_len) = c.u16() else {
        return Kx::None;
    };

    let mut kx = Kx::None;
    let mut groups: &[u8] = &[];
    let mut formats: &[u8] = &[];
    let t = &mut texts.scratch;
    t.clear();
    let _ = write!(t, "{version},");
    let mut first = true;
    for v in crate::wire::u16s(ciphers).filter(|&v| !is_grease_mask(v)) {
        push_sep(t, &mut first);
        let _ = write!(t, "{v}");
    }
    t.push(',');
    first = true;
    let end = (c.pos() + usize::from(ext_len)).min(p.len());
    let mut pos = c.pos();
    while pos + 4 <= end {
        let typ = be16(p, pos).unwrap_or(0);
        let len = usize::from(be16(p, pos + 2).unwrap_or(0));
        let data = p.get(pos + 4..(pos + 4 + len).min(p.len())).unwrap_or(&[]);
        s.ext_count += 1;
        if !is_grease_mask(typ) {
            push_sep(t, &mut first);
            let _ = write!(t, "{typ}");
        }
        match typ {
            // Only a name that is whole in the stored bytes.
            ext::SERVER_NAME if data.len() >= 5 && data[2] == 0 => {
                let n = usize::from(be16(data, 3).unwrap_or(0));
                s.sni = data.get(5..5 + n);
            }
            ext::SUPPORTED_GROUPS => {
                if let Some(n) = be16(data, 0) {
                    let list = &data[2..(2 + usize::from(n)).min(data.len())];
                    groups = &list[..list.len() & !1];
                }
            }
            ext::EC_POINT_FORMATS => {
                if let Some(&n) = data.first() {
                    formats = &data[1..(1 + usize::from(n)).min(data.len())];
                }
            }
            ext::ALPN if data.len() >= 3 => s.alpn = data.get(3..3 + usize::from(data[2])),
            ext::SESSION_TICKET => s.ticket_ext = true,
            ext::PRE_SHARED_KEY => s.psk_ext = true,
            ext::EARLY_DATA => s.early_data_ext = true,
            ext::KEY_SHARE => {
                if let (Some(group), Some(len)) = (be16(data, 2), be16(data, 4)) {
                    kx = Kx::Group {
                        group,
                        bits: u32::from(len) * 8,
                    };
                }
            }
            _ => {}
        }
        pos += 4 + len;
    }
    t.push(',');
    first = true;
    for v in crate::wire::u16s(groups).filter(|&v| !is_grease_mask(v)) {
        push_sep(t, &mut first);
        let _ = write!(t, "{v}");
    }
    t.push(',');
    first = true;
    for v in formats {
        push_sep(t, &mut first);
        let _ = write!(t, "{v}");
    }
    texts.ja3.clear();
    push_md5_hex(&mut texts.ja3, &texts.scratch);
    s.ja3 = true;
    kx
}

fn push_sep(t: &mut String, first: &mut bool) {
    if !*first {
        t.push('-');
    }
    *first = false;
}

/// Parses the ServerHello fields from offset 9 (cipher suite and JA3S).
fn server_hello(p: &[u8], s: &mut Summary<'_>, texts: &mut Texts) {
    let mut c = Cursor::new(p);
    c.take(9);
    let Some(version) = c.u16() else { return };
    if c.take(32).is_none() {
        return;
    }
    let Some(n) = c.u8() else { return };
    if c.take(n.into()).is_none() {
        return;
    }
    let Some(cipher) = c.u16() else { return };
    s.cipher = cipher;
    if c.u8().is_none() {
        return;
    }
    let Some(ext_len) = c.u16() else { return };
    let t = &mut texts.scratch;
    t.clear();
    let _ = write!(t, "{version},{cipher},");
    let mut first = true;
    let end = (c.pos() + usize::from(ext_len)).min(p.len());
    let mut pos = c.pos();
    while pos + 4 <= end {
        let typ = be16(p, pos).unwrap_or(0);
        let len = usize::from(be16(p, pos + 2).unwrap_or(0));
        if !is_grease_mask(typ) {
            push_sep(t, &mut first);
            let _ = write!(t, "{typ}");
        }
        pos += 4 + len;
    }
    texts.ja3s.clear();
    push_md5_hex(&mut texts.ja3s, &texts.scratch);
    s.ja3s = true;
}

/// The body (to the end of the packet) of the first message of type `want` found by
/// walking `type, u24 length` headers from offset 5, ignoring record boundaries.
fn find_message(p: &[u8], want: u8) -> Option<&[u8]> {
    let mut pos = 5usize;
    while pos + 4 <= p.len() {
        let t = p[pos];
        let len = be24(p, pos + 1)? as usize;
        if t == want {
            return p.get(pos + 4..);
        }
        pos += 4 + len;
    }
    None
}

/// ECDHE (curve type 3): the named group and the point length; otherwise DHE: the
/// prime length, reported as group 0x0100 named `ffdhe<bits>`.
fn server_key_exchange(b: &[u8]) -> Option<Kx> {
    if b.first() == Some(&3) {
        let group = be16(b, 1)?;
        let len = *b.get(3)?;
        Some(Kx::Group {
            group,
            bits: u32::from(len) * 8,
        })
    } else {
        let len = be16(b, 0)?;
        Some(Kx::CompatDh {
            bits: u32::from(len) * 8,
        })
    }
}

/// Counts the certificates whose 3-byte length header is inside both the certificate
/// list and the packet.
fn certificate(b: &[u8], s: &mut Summary<'_>) {
    let Some(list_len) = be24(b, 0) else { return };
    let end = (3 + list_len as usize).min(b.len());
    let mut pos = 3usize;
    while pos + 3 <= end {
        let Some(len) = be24(b, pos) else { break };
        if len > 0 {
            if s.cert.count == 0 {
                s.cert.first_len = len;
            }
            s.cert.count += 1;
            s.cert.total_len += u64::from(len);
        }
        pos += 3 + len as usize;
    }
}
