//! Handshake message bodies: ClientHello, ServerHello, Certificate and ServerKeyExchange
//! (RFC 8446 §4.1-4.4, RFC 5246 §7.4, RFC 8422 §5.4), and the hello extensions the
//! features need.
//!
//! Complete messages are parsed with `tls-parser` (the rusticata parser Suricata uses);
//! when it rejects a message — cut by the end of the stored bytes, or malformed — a
//! lenient parser here keeps every field it can still read and sets an [`anomaly`] bit,
//! so a partial ClientHello still gives its version, ciphers and the extensions before
//! the cut. Nothing here panics or allocates except inside `tls-parser`.
#![forbid(unsafe_code)]

use crate::{
    anomaly,
    wire::{u16s, Cursor},
};
use tls_parser::{
    ECParametersContent, TlsCipherAu, TlsCipherKx, TlsCipherSuiteID, TlsMessageHandshake,
};

/// Handshake message types.
pub mod msg {
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
    pub const CERTIFICATE: u8 = 11;
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
    pub const SERVER_HELLO_DONE: u8 = 14;
}

/// Extension types used here.
pub mod ext {
    pub const SERVER_NAME: u16 = 0;
    pub const SUPPORTED_GROUPS: u16 = 10;
    pub const EC_POINT_FORMATS: u16 = 11;
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    pub const ALPN: u16 = 16;
    pub const SESSION_TICKET: u16 = 35;
    pub const PRE_SHARED_KEY: u16 = 41;
    pub const EARLY_DATA: u16 = 42;
    pub const SUPPORTED_VERSIONS: u16 = 43;
    pub const KEY_SHARE: u16 = 51;
}

/// ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3).
pub const HRR_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// A ClientHello body, borrowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientHello<'a> {
    /// `legacy_version` (0x0303 for TLS 1.3 clients).
    pub version: u16,
    pub session_id: &'a [u8],
    /// Cipher suites, big-endian `u16`s (even length).
    pub ciphers: &'a [u8],
    /// An extension block was present (possibly empty or cut).
    pub has_extensions: bool,
    /// The extension block after its length (cut when the message is).
    pub extensions: &'a [u8],
    /// [`anomaly`] bits.
    pub anomalies: u32,
}

impl<'a> ClientHello<'a> {
    /// Parses a ClientHello body; `complete` says the body has its declared length.
    pub fn parse(body: &'a [u8], complete: bool) -> ClientHello<'a> {
        if complete {
            if let Some(h) = Self::parse_strict(body) {
                return h;
            }
        }
        let mut h = Self::parse_lenient(body);
        h.anomalies |= if complete {
            anomaly::MALFORMED
        } else {
            anomaly::MSG_TRUNCATED
        };
        h
    }

    /// `tls-parser`, accepted only when it consumed the whole body.
    fn parse_strict(body: &'a [u8]) -> Option<ClientHello<'a>> {
        let (rest, ch) = tls_parser::parse_tls_handshake_client_hello(body).ok()?;
        if !rest.is_empty() {
            return None;
        }
        let session_id = ch.session_id.unwrap_or(&[]);
        // version, random, session id (length byte + bytes), cipher list length
        let start = 2 + 32 + 1 + session_id.len() + 2;
        let ciphers = body.get(start..start + 2 * ch.ciphers.len())?;
        Some(ClientHello {
            version: ch.version.0,
            session_id,
            ciphers,
            has_extensions: ch.ext.is_some(),
            extensions: ch.ext.unwrap_or(&[]),
            anomalies: 0,
        })
    }

    /// Field by field, keeping what precedes the first field that does not fit.
    pub fn parse_lenient(body: &'a [u8]) -> ClientHello<'a> {
        let mut h = ClientHello::default();
        let mut c = Cursor::new(body);
        let Some(v) = c.u16() else { return h };
        h.version = v;
        if c.take(32).is_none() {
            return h;
        }
        let Some(n) = c.u8() else { return h };
        let (sid, cut) = c.take_partial(n.into());
        h.session_id = sid;
        if cut {
            return h;
        }
        let Some(n) = c.u16() else { return h };
        let (cs, cut) = c.take_partial(n.into());
        h.ciphers = &cs[..cs.len() & !1];
        if cut || n % 2 == 1 {
            return h;
        }
        let Some(n) = c.u8() else { return h };
        if c.take_partial(n.into()).1 || c.remaining() == 0 {
            return h;
        }
        let Some(n) = c.u16() else { return h };
        h.has_extensions = true;
        h.extensions = c.take_partial(n.into()).0;
        h
    }

    pub fn cipher_list(&self) -> impl Iterator<Item = u16> + 'a {
        u16s(self.ciphers)
    }

    pub fn extension_list(&self) -> Extensions<'a> {
        Extensions::new(self.extensions)
    }
}

/// A ServerHello body (also a HelloRetryRequest), borrowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerHello<'a> {
    /// `legacy_version` (0x0303 for TLS 1.3).
    pub version: u16,
    pub random: &'a [u8],
    pub session_id: &'a [u8],
    /// The selected suite, if the body reaches it.
    pub cipher: Option<u16>,
    pub has_extensions: bool,
    pub extensions: &'a [u8],
    pub anomalies: u32,
}

impl<'a> ServerHello<'a> {
    pub fn parse(body: &'a [u8], complete: bool) -> ServerHello<'a> {
        if complete {
            if let Some(h) = Self::parse_strict(body) {
                return h;
            }
        }
        let mut h = Self::parse_lenient(body);
        h.anomalies |= if complete {
            anomaly::MALFORMED
        } else {
            anomaly::MSG_TRUNCATED
        };
        h
    }

    fn parse_strict(body: &'a [u8]) -> Option<ServerHello<'a>> {
        let (rest, sh) = tls_parser::parse_tls_handshake_server_hello(body).ok()?;
        if !rest.is_empty() {
            return None;
        }
        Some(ServerHello {
            version: sh.version.0,
            random: sh.random,
            session_id: sh.session_id.unwrap_or(&[]),
            cipher: Some(sh.cipher.0),
            has_extensions: sh.ext.is_some(),
            extensions: sh.ext.unwrap_or(&[]),
            anomalies: 0,
        })
    }

    pub fn parse_lenient(body: &'a [u8]) -> ServerHello<'a> {
        let mut h = ServerHello::default();
        let mut c = Cursor::new(body);
        let Some(v) = c.u16() else { return h };
        h.version = v;
        let (random, cut) = c.take_partial(32);
        h.random = random;
        if cut {
            return h;
        }
        let Some(n) = c.u8() else { return h };
        let (sid, cut) = c.take_partial(n.into());
        h.session_id = sid;
        if cut {
            return h;
        }
        h.cipher = c.u16();
        if h.cipher.is_none() || c.u8().is_none() || c.remaining() == 0 {
            return h;
        }
        let Some(n) = c.u16() else { return h };
        h.has_extensions = true;
        h.extensions = c.take_partial(n.into()).0;
        h
    }

    /// A HelloRetryRequest (TLS 1.3) rather than a real ServerHello.
    pub fn is_hrr(&self) -> bool {
        self.random == HRR_RANDOM
    }

    pub fn extension_list(&self) -> Extensions<'a> {
        Extensions::new(self.extensions)
    }
}

/// Iterator over `(type, data)` of an extension block. An extension cut by the end of
/// the bytes is still yielded (with the bytes there are); `truncated` is set then, or
/// when 1-3 stray bytes end the block.
#[derive(Clone, Debug)]
pub struct Extensions<'a> {
    c: Cursor<'a>,
    pub truncated: bool,
}

impl<'a> Extensions<'a> {
    pub fn new(block: &'a [u8]) -> Self {
        Extensions {
            c: Cursor::new(block),
            truncated: false,
        }
    }
}

impl<'a> Iterator for Extensions<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        if self.c.remaining() < 4 {
            self.truncated |= self.c.remaining() > 0;
            self.c.take_partial(4);
            return None;
        }
        let t = self.c.u16()?;
        let n = self.c.u16()?;
        let (data, cut) = self.c.take_partial(n.into());
        self.truncated |= cut;
        Some((t, data))
    }
}

/// A key share: the group and the length of its key_exchange field in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyShare {
    pub group: u16,
    pub key_len: u32,
}

/// What the features need from a ClientHello's extensions (first occurrence of each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo<'a> {
    /// Extension entries, GREASE included.
    pub ext_count: u32,
    pub sni_ext: bool,
    /// First `host_name` entry of server_name.
    pub sni: Option<&'a [u8]>,
    pub alpn_ext: bool,
    /// First protocol offered by ALPN.
    pub alpn_first: Option<&'a [u8]>,
    /// supported_groups, big-endian `u16`s.
    pub groups: &'a [u8],
    /// ec_point_formats, one byte each.
    pub point_formats: &'a [u8],
    /// signature_algorithms, big-endian `u16`s.
    pub sig_algs: &'a [u8],
    /// supported_versions, big-endian `u16`s, when the extension is present.
    pub versions: Option<&'a [u8]>,
    /// First key_share entry.
    pub key_share: Option<KeyShare>,
    /// session_ticket data, when the extension is present.
    pub session_ticket: Option<&'a [u8]>,
    pub psk: bool,
    pub early_data: bool,
    pub anomalies: u32,
}

impl<'a> ClientInfo<'a> {
    pub fn of(h: &ClientHello<'a>) -> ClientInfo<'a> {
        let mut info = ClientInfo::default();
        let mut exts = h.extension_list();
        for (t, d) in exts.by_ref() {
            info.ext_count += 1;
            match t {
                ext::SERVER_NAME if !info.sni_ext => {
                    info.sni_ext = true;
                    info.sni = sni_host_name(d);
                }
                ext::SUPPORTED_GROUPS if info.groups.is_empty() => info.groups = u16_vec(d),
                ext::EC_POINT_FORMATS if info.point_formats.is_empty() => {
                    info.point_formats = u8_vec(d)
                }
                ext::SIGNATURE_ALGORITHMS if info.sig_algs.is_empty() => info.sig_algs = u16_vec(d),
                ext::ALPN if !info.alpn_ext => {
                    info.alpn_ext = true;
                    info.alpn_first = alpn_first(d);
                }
                ext::SESSION_TICKET if info.session_ticket.is_none() => {
                    info.session_ticket = Some(d)
                }
                ext::PRE_SHARED_KEY => info.psk = true,
                ext::EARLY_DATA => info.early_data = true,
                ext::SUPPORTED_VERSIONS if info.versions.is_none() => {
                    let v = u8_vec(d);
                    info.versions = Some(&v[..v.len() & !1]);
                }
                ext::KEY_SHARE if info.key_share.is_none() => {
                    info.key_share = client_key_share(d);
                }
                _ => {}
            }
        }
        if exts.truncated {
            info.anomalies |= anomaly::EXT_TRUNCATED;
        }
        info
    }
}

/// What the features need from a ServerHello's extensions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerInfo<'a> {
    pub ext_count: u32,
    /// The selected ALPN protocol.
    pub alpn: Option<&'a [u8]>,
    /// supported_versions: the selected version (TLS 1.3).
    pub selected_version: Option<u16>,
    /// key_share: the server's share (ServerHello) or the requested group with
    /// `key_len` 0 (HelloRetryRequest).
    pub key_share: Option<KeyShare>,
    /// pre_shared_key: the server accepted a PSK (TLS 1.3 resumption).
    pub psk: bool,
    /// session_ticket present (the server will send a new ticket).
    pub session_ticket: bool,
    pub anomalies: u32,
}

impl<'a> ServerInfo<'a> {
    pub fn of(h: &ServerHello<'a>) -> ServerInfo<'a> {
        let mut info = ServerInfo::default();
        let mut exts = h.extension_list();
        for (t, d) in exts.by_ref() {
            info.ext_count += 1;
            match t {
                ext::ALPN if info.alpn.is_none() => info.alpn = alpn_first(d),
                ext::SUPPORTED_VERSIONS if info.selected_version.is_none() => {
                    info.selected_version = crate::wire::be16(d, 0)
                }
                ext::KEY_SHARE if info.key_share.is_none() => {
                    let mut c = Cursor::new(d);
                    info.key_share = c.u16().map(|group| KeyShare {
                        group,
                        key_len: c.u16().map_or(0, u32::from),
                    });
                }
                ext::PRE_SHARED_KEY => info.psk = true,
                ext::SESSION_TICKET => info.session_ticket = true,
                _ => {}
            }
        }
        if exts.truncated {
            info.anomalies |= anomaly::EXT_TRUNCATED;
        }
        info
    }
}

/// A list with a 2-byte length prefix, cut to what is there and to whole `u16`s.
fn u16_vec(d: &[u8]) -> &[u8] {
    let mut c = Cursor::new(d);
    let Some(n) = c.u16() else { return &[] };
    let v = c.take_partial(n.into()).0;
    &v[..v.len() & !1]
}

/// A list with a 1-byte length prefix, cut to what is there.
fn u8_vec(d: &[u8]) -> &[u8] {
    let mut c = Cursor::new(d);
    let Some(n) = c.u8() else { return &[] };
    c.take_partial(n.into()).0
}

/// The first `host_name` (type 0) entry of a server_name extension (RFC 6066 §3).
pub fn sni_host_name(d: &[u8]) -> Option<&[u8]> {
    let mut c = Cursor::new(d);
    let n = c.u16()?;
    let mut list = Cursor::new(c.take_partial(n.into()).0);
    while list.remaining() >= 3 {
        let name_type = list.u8()?;
        let len = list.u16()?;
        let (name, _) = list.take_partial(len.into());
        if name_type == 0 {
            return Some(name);
        }
    }
    None
}

/// The first protocol of an ALPN extension (RFC 7301 §3.1); `None` for an empty list.
pub fn alpn_first(d: &[u8]) -> Option<&[u8]> {
    let mut c = Cursor::new(d);
    let n = c.u16()?;
    let mut list = Cursor::new(c.take_partial(n.into()).0);
    let len = list.u8()?;
    Some(list.take_partial(len.into()).0)
}

/// The first entry of a ClientHello key_share (RFC 8446 §4.2.8).
fn client_key_share(d: &[u8]) -> Option<KeyShare> {
    let mut c = Cursor::new(d);
    let _list_len = c.u16()?;
    let group = c.u16()?;
    let key_len = c.u16()?;
    Some(KeyShare {
        group,
        key_len: key_len.into(),
    })
}

/// The server's certificate chain as the features see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CertChain {
    /// Certificates with a non-zero length.
    pub count: u32,
    /// Sum of their declared lengths.
    pub total_len: u64,
    /// Declared length of the first (leaf) certificate.
    pub first_len: u32,
    pub anomalies: u32,
}

impl CertChain {
    fn add(&mut self, len: u32) {
        if len > 0 {
            if self.count == 0 {
                self.first_len = len;
            }
            self.count += 1;
            self.total_len += u64::from(len);
        }
    }

    /// A TLS 1.0-1.2 Certificate body (RFC 5246 §7.4.2). A certificate cut by the end of
    /// the bytes still counts with its declared length.
    pub fn parse(body: &[u8], complete: bool) -> CertChain {
        let mut chain = CertChain::default();
        if complete {
            if let Ok((rest, TlsMessageHandshake::Certificate(c))) =
                tls_parser::parse_tls_handshake_msg_certificate(body)
            {
                if rest.is_empty() {
                    for cert in &c.cert_chain {
                        chain.add(cert.data.len() as u32);
                    }
                    return chain;
                }
            }
        }
        chain.anomalies |= if complete {
            anomaly::MALFORMED
        } else {
            anomaly::MSG_TRUNCATED
        };
        let mut c = Cursor::new(body);
        let Some(n) = c.u24() else { return chain };
        let mut list = Cursor::new(c.take_partial(n as usize).0);
        while let Some(len) = list.u24() {
            chain.add(len);
            if list.take_partial(len as usize).1 {
                break;
            }
        }
        chain
    }
}

/// The key exchange a TLS 1.0-1.2 ServerKeyExchange carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKx<'a> {
    /// ECDHE with a named group: the group and the public point length in bytes.
    Ec { group: u16, public_len: u32 },
    /// Finite-field DHE: the prime.
    Dh { p: &'a [u8] },
}

/// Which parameters a suite's ServerKeyExchange holds, from `tls-parser`'s suite table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KxKind {
    Ec { psk_hint: bool },
    Dh { psk_hint: bool },
    Other,
    Unknown,
}

fn kx_kind(cipher: Option<u16>) -> KxKind {
    let Some(suite) = cipher.and_then(|c| TlsCipherSuiteID(c).get_ciphersuite()) else {
        return KxKind::Unknown;
    };
    let psk_hint = suite.au == TlsCipherAu::Psk;
    match suite.kx {
        TlsCipherKx::Ecdhe | TlsCipherKx::Ecdh | TlsCipherKx::Aecdh => KxKind::Ec { psk_hint },
        TlsCipherKx::Dhe | TlsCipherKx::Dh => KxKind::Dh { psk_hint },
        _ => KxKind::Other,
    }
}

/// Parses a ServerKeyExchange body given the selected suite (RFC 8422 §5.4, RFC 5246
/// §7.4.3, RFC 5489/4279 for the PSK identity hint). An unknown suite is read as ECDHE
/// when the body starts with curve type 3 (named_curve), else as DHE.
pub fn parse_server_kx(body: &[u8], cipher: Option<u16>) -> Option<ServerKx<'_>> {
    let kind = kx_kind(cipher);
    let (ec, psk_hint) = match kind {
        KxKind::Ec { psk_hint } => (true, psk_hint),
        KxKind::Dh { psk_hint } => (false, psk_hint),
        KxKind::Other => return None,
        KxKind::Unknown => (body.first() == Some(&3), false),
    };
    let mut params = body;
    if psk_hint {
        let mut c = Cursor::new(body);
        let n = c.u16()?;
        c.take(n.into())?;
        params = c.rest();
    }
    if ec {
        if let Ok((_, p)) = tls_parser::parse_ecdh_params(params) {
            return match p.curve_params.params_content {
                ECParametersContent::NamedGroup(g) => Some(ServerKx::Ec {
                    group: g.0,
                    public_len: p.public.point.len() as u32,
                }),
                _ => None,
            };
        }
        // Cut: curve type, group and the point's length byte are enough.
        let mut c = Cursor::new(params);
        if c.u8()? != 3 {
            return None;
        }
        let group = c.u16()?;
        let public_len = c.u8()?.into();
        Some(ServerKx::Ec { group, public_len })
    } else {
        if let Ok((_, p)) = tls_parser::parse_dh_params(params) {
            return Some(ServerKx::Dh { p: p.dh_p });
        }
        let mut c = Cursor::new(params);
        let n = c.u16()?;
        let (p, _) = c.take_partial(n.into());
        // Only the length matters: report a cut prime by its declared length.
        (p.len() == usize::from(n)).then_some(ServerKx::Dh { p })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sni_skips_other_name_types() {
        // list: type 1 "ab", type 0 "host"
        let d = [0, 12, 1, 0, 2, b'a', b'b', 0, 0, 4, b'h', b'o', b's', b't'];
        assert_eq!(sni_host_name(&d), Some(&b"host"[..]));
        assert_eq!(sni_host_name(&d[..11]), Some(&b"h"[..]));
        assert_eq!(sni_host_name(&d[..7]), None);
        assert_eq!(sni_host_name(&[]), None);
    }

    #[test]
    fn alpn_first_and_empty() {
        assert_eq!(alpn_first(&[0, 3, 2, b'h', b'2']), Some(&b"h2"[..]));
        assert_eq!(alpn_first(&[0, 0]), None);
        assert_eq!(alpn_first(&[0, 9, 8, b'h', b't']), Some(&b"ht"[..]));
    }

    #[test]
    fn extension_iterator_reports_cuts() {
        let mut e = Extensions::new(&[0, 1, 0, 2, 9, 9, 0, 2, 0, 5, 1]);
        assert_eq!(e.next(), Some((1, &[9u8, 9][..])));
        assert_eq!(e.next(), Some((2, &[1u8][..])));
        assert_eq!(e.next(), None);
        assert!(e.truncated);
        let mut e = Extensions::new(&[0, 1, 0]);
        assert_eq!(e.next(), None);
        assert!(e.truncated);
        assert_eq!(e.next(), None);
    }

    #[test]
    fn server_kx_by_suite() {
        // ECDHE_RSA (0xc02f): named curve x25519, 32-byte point, then a signature.
        let mut ske = vec![3, 0, 0x1d, 32];
        ske.extend([7u8; 32]);
        ske.extend([4, 1, 0, 2, 0xaa, 0xbb]);
        assert_eq!(
            parse_server_kx(&ske, Some(0xc02f)),
            Some(ServerKx::Ec {
                group: 0x1d,
                public_len: 32
            })
        );
        // Cut after the point length.
        assert_eq!(
            parse_server_kx(&ske[..5], Some(0xc02f)),
            Some(ServerKx::Ec {
                group: 0x1d,
                public_len: 32
            })
        );
        // DHE_RSA (0x009e): p of 0x0300 bytes starts with 0x03 but the suite decides.
        let mut dh = vec![3, 0];
        dh.extend(vec![0xff; 0x300]);
        dh.extend([0, 1, 2, 0, 1, 5]);
        match parse_server_kx(&dh, Some(0x009e)) {
            Some(ServerKx::Dh { p }) => assert_eq!(p.len(), 0x300),
            other => panic!("{other:?}"),
        }
        // RSA suite: no key exchange parameters of interest.
        assert_eq!(parse_server_kx(&ske, Some(0x002f)), None);
        // ECDHE_PSK (0xc035): identity hint first.
        let mut psk = vec![0, 2, b'h', b'i'];
        psk.extend(&ske);
        assert_eq!(
            parse_server_kx(&psk, Some(0xc035)),
            Some(ServerKx::Ec {
                group: 0x1d,
                public_len: 32
            })
        );
        // Unknown suite: guessed from the curve type byte.
        assert!(matches!(
            parse_server_kx(&ske, Some(0x1234)),
            Some(ServerKx::Ec { .. })
        ));
        assert!(parse_server_kx(&[], Some(0xc02f)).is_none());
    }

    #[test]
    fn cert_chain_lenient() {
        // list of 2 certs: 3 bytes and 0x10 bytes (cut after 2)
        let body = [0, 0, 30, 0, 0, 3, 1, 2, 3, 0, 0, 0x10, 1, 2];
        let c = CertChain::parse(&body, false);
        assert_eq!(c.count, 2);
        assert_eq!(c.total_len, 19);
        assert_eq!(c.first_len, 3);
        assert_eq!(c.anomalies, anomaly::MSG_TRUNCATED);
        let ok = [0, 0, 10, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4];
        let c = CertChain::parse(&ok, true);
        assert_eq!(
            (c.count, c.total_len, c.first_len, c.anomalies),
            (1, 4, 4, 0)
        );
    }
}
