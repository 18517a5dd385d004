//! TLS records built byte by byte: ClientHello (three client profiles, GREASE, SNI, ALPN,
//! key_share, ...), ServerHello, a DER certificate chain, the rest of the TLS 1.2 handshake,
//! TLS 1.3 handshake stand-ins, and alerts. Encrypted parts are random bytes of the right size.

use crate::rng::Rng;

pub(crate) const CT_CCS: u8 = 20;
pub(crate) const CT_ALERT: u8 = 21;
pub(crate) const CT_HANDSHAKE: u8 = 22;
pub(crate) const CT_APPDATA: u8 = 23;

/// A client implementation whose ClientHello is imitated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Profile {
    /// BoringSSL-like: GREASE, shuffled extensions, padding, TLS 1.3 + 1.2.
    Chrome,
    /// NSS-like: no GREASE, two key shares, record_size_limit, TLS 1.3 + 1.2.
    Firefox,
    /// OpenSSL 1.0.2 / old stacks: TLS 1.2 only, no supported_versions or key_share.
    Legacy,
}

/// What the ClientHello offered (needed to answer it).
#[derive(Clone, Copy, Debug)]
pub(crate) struct HelloInfo {
    pub profile: Profile,
    pub sid: [u8; 32],
    pub sid_len: u8,
    pub offers13: bool,
    pub alpn_h2: bool,
    pub alpn: bool,
}

/// What the server chose.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Negotiated {
    pub tls13: bool,
    pub cipher: u16,
    pub alpn: Option<&'static str>,
    pub ticket: bool,
    pub ec_cert: bool,
}

impl Negotiated {
    /// Bytes an encrypted record adds to its plaintext (explicit nonce + tag, or type + tag).
    pub fn overhead(&self) -> u32 {
        if self.tls13 {
            17
        } else if self.cipher & 0xff00 == 0xcc00 {
            16
        } else {
            24
        }
    }
}

// ---- byte helpers ---------------------------------------------------------------------

#[inline]
fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Reserve a `width`-byte big-endian length field; returns its position.
#[inline]
fn begin(out: &mut Vec<u8>, width: usize) -> usize {
    let p = out.len();
    out.resize(p + width, 0);
    p
}

/// Fill the length field reserved at `p` with the number of bytes written since.
#[inline]
fn end(out: &mut [u8], p: usize, width: usize) {
    let len = out.len() - p - width;
    let b = (len as u32).to_be_bytes();
    out[p..p + width].copy_from_slice(&b[4 - width..]);
}

fn rand_bytes(out: &mut Vec<u8>, rng: &mut Rng, n: usize) {
    let p = out.len();
    out.resize(p + n, 0);
    rng.fill(&mut out[p..]);
}

fn grease(rng: &mut Rng) -> u16 {
    let b = ((rng.below(16) as u16) << 4) | 0x0a;
    (b << 8) | b
}

/// Start a record of content type `ct`; returns the length position for [`end`] (width 2).
fn record(out: &mut Vec<u8>, ct: u8, legacy_ver: u16) -> usize {
    out.push(ct);
    put16(out, legacy_ver);
    begin(out, 2)
}

/// A record whose body is `len` random bytes (encrypted-looking).
pub(crate) fn opaque_record(out: &mut Vec<u8>, rng: &mut Rng, ct: u8, len: usize) {
    out.push(ct);
    put16(out, 0x0303);
    put16(out, len as u16);
    rand_bytes(out, rng, len);
}

pub(crate) fn change_cipher_spec(out: &mut Vec<u8>) {
    out.extend_from_slice(&[CT_CCS, 3, 3, 0, 1, 1]);
}

// ---- ClientHello ----------------------------------------------------------------------

const EXT_SNI: u16 = 0x0000;
const EXT_STATUS: u16 = 0x0005;
const EXT_GROUPS: u16 = 0x000a;
const EXT_ECPF: u16 = 0x000b;
const EXT_SIGALGS: u16 = 0x000d;
const EXT_ALPN: u16 = 0x0010;
const EXT_SCT: u16 = 0x0012;
const EXT_PADDING: u16 = 0x0015;
const EXT_ETM: u16 = 0x0016;
const EXT_EMS: u16 = 0x0017;
const EXT_COMPRESS_CERT: u16 = 0x001b;
const EXT_RECORD_LIMIT: u16 = 0x001c;
const EXT_TICKET: u16 = 0x0023;
const EXT_VERSIONS: u16 = 0x002b;
const EXT_PSK_MODES: u16 = 0x002d;
const EXT_KEY_SHARE: u16 = 0x0033;
const EXT_RENEG: u16 = 0xff01;

struct HelloCtx<'a> {
    sni: &'a str,
    profile: Profile,
    g_group: u16,
    g_ver: u16,
    alpn_h2: bool,
}

fn write_ext(out: &mut Vec<u8>, rng: &mut Rng, id: u16, c: &HelloCtx<'_>) {
    put16(out, id);
    let l = begin(out, 2);
    match id {
        EXT_SNI => {
            let ll = begin(out, 2);
            out.push(0); // host_name
            put16(out, c.sni.len() as u16);
            out.extend_from_slice(c.sni.as_bytes());
            end(out, ll, 2);
        }
        EXT_STATUS => out.extend_from_slice(&[1, 0, 0, 0, 0]),
        EXT_GROUPS => {
            let ll = begin(out, 2);
            match c.profile {
                Profile::Chrome => {
                    for g in [c.g_group, 0x001d, 0x0017, 0x0018] {
                        put16(out, g);
                    }
                }
                Profile::Firefox => {
                    for g in [0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101] {
                        put16(out, g);
                    }
                }
                Profile::Legacy => {
                    for g in [0x001d, 0x0017, 0x0019, 0x0018] {
                        put16(out, g);
                    }
                }
            }
            end(out, ll, 2);
        }
        EXT_ECPF => {
            if c.profile == Profile::Legacy {
                out.extend_from_slice(&[3, 0, 1, 2]);
            } else {
                out.extend_from_slice(&[1, 0]);
            }
        }
        EXT_SIGALGS => {
            let ll = begin(out, 2);
            let algs: &[u16] = match c.profile {
                Profile::Chrome => &[
                    0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
                ],
                Profile::Firefox => &[
                    0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203,
                    0x0201,
                ],
                Profile::Legacy => &[
                    0x0601, 0x0602, 0x0603, 0x0501, 0x0502, 0x0503, 0x0401, 0x0402, 0x0403, 0x0301,
                    0x0302, 0x0303, 0x0201, 0x0202, 0x0203,
                ],
            };
            for &a in algs {
                put16(out, a);
            }
            end(out, ll, 2);
        }
        EXT_ALPN => {
            let ll = begin(out, 2);
            if c.alpn_h2 {
                out.push(2);
                out.extend_from_slice(b"h2");
            }
            out.push(8);
            out.extend_from_slice(b"http/1.1");
            end(out, ll, 2);
        }
        EXT_COMPRESS_CERT => out.extend_from_slice(&[2, 0, 2]),
        EXT_RECORD_LIMIT => put16(out, 0x4001),
        EXT_VERSIONS => {
            let ll = begin(out, 1);
            if c.profile == Profile::Chrome {
                put16(out, c.g_ver);
            }
            put16(out, 0x0304);
            put16(out, 0x0303);
            end(out, ll, 1);
        }
        EXT_PSK_MODES => out.extend_from_slice(&[1, 1]),
        EXT_KEY_SHARE => {
            let ll = begin(out, 2);
            if c.profile == Profile::Chrome {
                put16(out, c.g_group);
                put16(out, 1);
                out.push(0);
            }
            put16(out, 0x001d);
            put16(out, 32);
            rand_bytes(out, rng, 32);
            if c.profile == Profile::Firefox {
                put16(out, 0x0017);
                put16(out, 65);
                out.push(4);
                rand_bytes(out, rng, 64);
            }
            end(out, ll, 2);
        }
        EXT_RENEG => out.push(0),
        // Empty extensions: SCT, EMS, ETM, session ticket, GREASE (first).
        _ => {}
    }
    end(out, l, 2);
}

/// Append a ClientHello record for `sni` to `out`.
pub(crate) fn client_hello(
    out: &mut Vec<u8>,
    rng: &mut Rng,
    sni: &str,
    profile: Profile,
) -> HelloInfo {
    let alpn_h2 = profile != Profile::Legacy || rng.chance(0.3);
    let alpn = profile != Profile::Legacy || rng.chance(0.5);
    let mut info = HelloInfo {
        profile,
        sid: [0; 32],
        sid_len: if profile == Profile::Legacy { 0 } else { 32 },
        offers13: profile != Profile::Legacy,
        alpn_h2: alpn && alpn_h2,
        alpn,
    };
    rng.fill(&mut info.sid);
    let c = HelloCtx {
        sni,
        profile,
        g_group: grease(rng),
        g_ver: grease(rng),
        alpn_h2: info.alpn_h2,
    };

    let rec = record(out, CT_HANDSHAKE, 0x0301);
    let hs_start = out.len();
    out.push(1); // client_hello
    let hl = begin(out, 3);
    put16(out, 0x0303);
    rand_bytes(out, rng, 32);
    out.push(info.sid_len);
    out.extend_from_slice(&info.sid[..info.sid_len as usize]);
    let cl = begin(out, 2);
    let suites: &[u16] = match profile {
        Profile::Chrome => &[
            0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
            0x009c, 0x009d, 0x002f, 0x0035,
        ],
        Profile::Firefox => &[
            0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c, 0xc030, 0xc00a, 0xc009,
            0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
        ],
        Profile::Legacy => &[
            0xc030, 0xc02c, 0xc028, 0xc024, 0xc014, 0xc00a, 0x009f, 0x006b, 0x0039, 0xc02f, 0xc02b,
            0xc027, 0xc023, 0xc013, 0xc009, 0x009e, 0x0067, 0x0033, 0x009d, 0x009c, 0x003d, 0x003c,
            0x0035, 0x002f, 0x00ff,
        ],
    };
    if profile == Profile::Chrome {
        put16(out, grease(rng));
    }
    for &s in suites {
        put16(out, s);
    }
    end(out, cl, 2);
    out.extend_from_slice(&[1, 0]); // compression methods: null
    let el = begin(out, 2);
    match profile {
        Profile::Chrome => {
            let g1 = grease(rng);
            let mut g2 = grease(rng);
            if g2 == g1 {
                g2 ^= 0x1010;
            }
            write_ext(out, rng, g1, &c);
            let mut order = [
                EXT_SNI,
                EXT_EMS,
                EXT_RENEG,
                EXT_GROUPS,
                EXT_ECPF,
                EXT_TICKET,
                EXT_ALPN,
                EXT_STATUS,
                EXT_SIGALGS,
                EXT_SCT,
                EXT_KEY_SHARE,
                EXT_PSK_MODES,
                EXT_VERSIONS,
                EXT_COMPRESS_CERT,
            ];
            for i in (1..order.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                order.swap(i, j);
            }
            for id in order {
                write_ext(out, rng, id, &c);
            }
            // Last GREASE extension carries one zero byte.
            put16(out, g2);
            put16(out, 1);
            out.push(0);
            // BoringSSL padding: make a 256..511-byte handshake message 512 bytes long.
            let len = out.len() - hs_start;
            if len > 0xff && len < 0x200 {
                let mut pad = 0x200 - len;
                if pad >= 5 {
                    pad -= 4;
                } else {
                    pad = 1;
                }
                put16(out, EXT_PADDING);
                put16(out, pad as u16);
                out.resize(out.len() + pad, 0);
            }
        }
        Profile::Firefox => {
            for id in [
                EXT_SNI,
                EXT_EMS,
                EXT_RENEG,
                EXT_GROUPS,
                EXT_ECPF,
                EXT_TICKET,
                EXT_ALPN,
                EXT_STATUS,
                EXT_KEY_SHARE,
                EXT_VERSIONS,
                EXT_SIGALGS,
                EXT_PSK_MODES,
                EXT_RECORD_LIMIT,
            ] {
                write_ext(out, rng, id, &c);
            }
        }
        Profile::Legacy => {
            write_ext(out, rng, EXT_SNI, &c);
            write_ext(out, rng, EXT_ECPF, &c);
            write_ext(out, rng, EXT_GROUPS, &c);
            write_ext(out, rng, EXT_TICKET, &c);
            write_ext(out, rng, EXT_SIGALGS, &c);
            if info.alpn {
                write_ext(out, rng, EXT_ALPN, &c);
            }
            write_ext(out, rng, EXT_ETM, &c);
            write_ext(out, rng, EXT_EMS, &c);
        }
    }
    end(out, el, 2);
    end(out, hl, 3);
    end(out, rec, 2);
    info
}

/// The server's choices for a hello.
pub(crate) fn negotiate(rng: &mut Rng, hello: &HelloInfo, server_tls13: bool) -> Negotiated {
    let tls13 = hello.offers13 && server_tls13;
    let ec_cert = rng.chance(0.6);
    let cipher = if tls13 {
        *rng.pick(&[0x1301, 0x1301, 0x1301, 0x1302, 0x1302, 0x1303])
    } else if hello.profile == Profile::Legacy {
        match (ec_cert, rng.chance(0.6)) {
            (true, true) => 0xc02b,
            (true, false) => 0xc02c,
            (false, true) => 0xc02f,
            (false, false) => 0xc030,
        }
    } else {
        match (ec_cert, rng.below(5)) {
            (true, 0..=2) => 0xc02b,
            (true, 3) => 0xc02c,
            (true, _) => 0xcca9,
            (false, 0..=2) => 0xc02f,
            (false, 3) => 0xc030,
            (false, _) => 0xcca8,
        }
    };
    let alpn = if !hello.alpn {
        None
    } else if hello.alpn_h2 && rng.chance(0.8) {
        Some("h2")
    } else {
        Some("http/1.1")
    };
    Negotiated {
        tls13,
        cipher,
        alpn,
        ticket: !tls13 && rng.chance(0.7),
        ec_cert,
    }
}

/// Append the ServerHello record.
pub(crate) fn server_hello(
    out: &mut Vec<u8>,
    rng: &mut Rng,
    hello: &HelloInfo,
    n: &Negotiated,
    server_tls13: bool,
) {
    let rec = record(out, CT_HANDSHAKE, 0x0303);
    out.push(2); // server_hello
    let hl = begin(out, 3);
    put16(out, 0x0303);
    rand_bytes(out, rng, 32);
    if !n.tls13 && server_tls13 {
        // RFC 8446 downgrade sentinel
        let l = out.len();
        out[l - 8..].copy_from_slice(b"DOWNGRD\x01");
    }
    if n.tls13 {
        out.push(hello.sid_len);
        out.extend_from_slice(&hello.sid[..hello.sid_len as usize]);
    } else {
        out.push(32);
        rand_bytes(out, rng, 32);
    }
    put16(out, n.cipher);
    out.push(0);
    let el = begin(out, 2);
    if n.tls13 {
        put16(out, EXT_VERSIONS);
        put16(out, 2);
        put16(out, 0x0304);
        put16(out, EXT_KEY_SHARE);
        put16(out, 36);
        put16(out, 0x001d);
        put16(out, 32);
        rand_bytes(out, rng, 32);
    } else {
        put16(out, EXT_RENEG);
        put16(out, 1);
        out.push(0);
        put16(out, EXT_ECPF);
        put16(out, 2);
        out.extend_from_slice(&[1, 0]);
        put16(out, EXT_EMS);
        put16(out, 0);
        if n.ticket {
            put16(out, EXT_TICKET);
            put16(out, 0);
        }
        if let Some(p) = n.alpn {
            put16(out, EXT_ALPN);
            put16(out, (p.len() + 3) as u16);
            put16(out, (p.len() + 1) as u16);
            out.push(p.len() as u8);
            out.extend_from_slice(p.as_bytes());
        }
    }
    end(out, el, 2);
    end(out, hl, 3);
    end(out, rec, 2);
}

/// TLS 1.2 server flight after the ServerHello: Certificate, ServerKeyExchange,
/// ServerHelloDone.
pub(crate) fn server_flight12_rest(
    out: &mut Vec<u8>,
    rng: &mut Rng,
    n: &Negotiated,
    sni: &str,
    now_secs: i64,
) {
    // Certificate
    let rec = record(out, CT_HANDSHAKE, 0x0303);
    out.push(11);
    let hl = begin(out, 3);
    let chain = begin(out, 3);
    let c1 = begin(out, 3);
    cert_leaf(out, rng, sni, n.ec_cert, now_secs);
    end(out, c1, 3);
    let c2 = begin(out, 3);
    cert_ca(
        out,
        rng,
        "Example TLS RSA CA 2023",
        "Example Root CA X1",
        now_secs,
        true,
    );
    end(out, c2, 3);
    if rng.chance(0.35) {
        let c3 = begin(out, 3);
        cert_ca(
            out,
            rng,
            "Example Root CA X1",
            "Example Legacy Root CA",
            now_secs,
            false,
        );
        end(out, c3, 3);
    }
    end(out, chain, 3);
    end(out, hl, 3);
    end(out, rec, 2);

    // ServerKeyExchange (ECDHE, x25519)
    let rec = record(out, CT_HANDSHAKE, 0x0303);
    out.push(12);
    let hl = begin(out, 3);
    out.push(3); // named_curve
    put16(out, 0x001d);
    out.push(32);
    rand_bytes(out, rng, 32);
    if n.ec_cert {
        put16(out, 0x0403);
        let sl = begin(out, 2);
        ecdsa_sig(out, rng);
        end(out, sl, 2);
    } else {
        put16(out, 0x0804);
        put16(out, 256);
        rand_bytes(out, rng, 256);
    }
    end(out, hl, 3);
    end(out, rec, 2);

    // ServerHelloDone
    out.extend_from_slice(&[CT_HANDSHAKE, 3, 3, 0, 4, 14, 0, 0, 0]);
}

/// TLS 1.2 client: ClientKeyExchange, ChangeCipherSpec, encrypted Finished.
pub(crate) fn client_finish12(out: &mut Vec<u8>, rng: &mut Rng, n: &Negotiated) {
    out.extend_from_slice(&[CT_HANDSHAKE, 3, 3, 0, 37, 16, 0, 0, 33, 32]);
    rand_bytes(out, rng, 32);
    change_cipher_spec(out);
    opaque_record(out, rng, CT_HANDSHAKE, 16 + n.overhead() as usize);
}

/// TLS 1.2 server: NewSessionTicket (if negotiated), ChangeCipherSpec, encrypted Finished.
pub(crate) fn server_finish12(out: &mut Vec<u8>, rng: &mut Rng, n: &Negotiated) {
    if n.ticket {
        let tlen = 160 + 16 * rng.below(4) as usize;
        let rec = record(out, CT_HANDSHAKE, 0x0303);
        out.push(4);
        let hl = begin(out, 3);
        out.extend_from_slice(&(7200u32 * (1 + rng.below(24) as u32)).to_be_bytes());
        put16(out, tlen as u16);
        rand_bytes(out, rng, tlen);
        end(out, hl, 3);
        end(out, rec, 2);
    }
    change_cipher_spec(out);
    opaque_record(out, rng, CT_HANDSHAKE, 16 + n.overhead() as usize);
}

/// Encrypted close_notify alert.
pub(crate) fn close_notify(out: &mut Vec<u8>, rng: &mut Rng, n: &Negotiated) {
    if n.tls13 {
        opaque_record(out, rng, CT_APPDATA, 2 + n.overhead() as usize);
    } else {
        opaque_record(out, rng, CT_ALERT, 2 + n.overhead() as usize);
    }
}

// ---- DER certificates ---------------------------------------------------------------------

fn tlv(out: &mut Vec<u8>, tag: u8, f: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    f(out);
    let len = out.len() - start;
    let mut hdr = [tag, 0, 0, 0];
    let n = if len < 0x80 {
        hdr[1] = len as u8;
        2
    } else if len < 0x100 {
        hdr[1] = 0x81;
        hdr[2] = len as u8;
        3
    } else {
        hdr[1] = 0x82;
        hdr[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    };
    out.splice(start..start, hdr[..n].iter().copied());
}

fn prim(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    tlv(out, tag, |o| o.extend_from_slice(body));
}

const OID_SHA256_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC_PUBKEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_C: &[u8] = &[0x55, 0x04, 0x06];
const OID_O: &[u8] = &[0x55, 0x04, 0x0a];
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const OID_EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
const OID_SKI: &[u8] = &[0x55, 0x1d, 0x0e];
const OID_AKI: &[u8] = &[0x55, 0x1d, 0x23];
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];
const OID_POLICIES: &[u8] = &[0x55, 0x1d, 0x20];
const OID_CRL_DP: &[u8] = &[0x55, 0x1d, 0x1f];
const OID_AIA: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01];
const OID_SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
const OID_CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
const OID_OCSP: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];
const OID_CA_ISSUERS: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];
const OID_DV_POLICY: &[u8] = &[0x67, 0x81, 0x0c, 0x01, 0x02, 0x01];

fn sha256_rsa_alg(out: &mut Vec<u8>) {
    tlv(out, 0x30, |o| {
        prim(o, 0x06, OID_SHA256_RSA);
        prim(o, 0x05, &[]);
    });
}

fn dn(out: &mut Vec<u8>, org: &str, cn: &str) {
    tlv(out, 0x30, |o| {
        for (oid, tag, val) in [(OID_C, 0x13, "US"), (OID_O, 0x0c, org), (OID_CN, 0x0c, cn)] {
            tlv(o, 0x31, |o| {
                tlv(o, 0x30, |o| {
                    prim(o, 0x06, oid);
                    prim(o, tag, val.as_bytes());
                })
            });
        }
    });
}

fn utc_time(out: &mut Vec<u8>, secs: i64) {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = crate::world::civil_from_days(days);
    let s = format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        y.rem_euclid(100),
        m,
        d,
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    prim(out, 0x17, s.as_bytes());
}

/// Positive INTEGER of `n` random bytes (DER-minimal).
fn rand_int(out: &mut Vec<u8>, rng: &mut Rng, n: usize, top_bit: bool) {
    tlv(out, 0x02, |o| {
        let p = o.len();
        rand_bytes(o, rng, n);
        if top_bit {
            o[p] |= 0x80;
        } else if o[p] == 0 {
            o[p] = 1;
        }
        if o[p] & 0x80 != 0 {
            o.insert(p, 0);
        }
    });
}

fn ecdsa_sig(out: &mut Vec<u8>, rng: &mut Rng) {
    tlv(out, 0x30, |o| {
        rand_int(o, rng, 32, false);
        rand_int(o, rng, 32, false);
    });
}

fn spki(out: &mut Vec<u8>, rng: &mut Rng, ec: bool) {
    tlv(out, 0x30, |o| {
        if ec {
            tlv(o, 0x30, |o| {
                prim(o, 0x06, OID_EC_PUBKEY);
                prim(o, 0x06, OID_P256);
            });
            tlv(o, 0x03, |o| {
                o.extend_from_slice(&[0, 4]);
                rand_bytes(o, rng, 64);
            });
        } else {
            tlv(o, 0x30, |o| {
                prim(o, 0x06, OID_RSA);
                prim(o, 0x05, &[]);
            });
            tlv(o, 0x03, |o| {
                o.push(0);
                tlv(o, 0x30, |o| {
                    rand_int(o, rng, 256, true);
                    prim(o, 0x02, &[1, 0, 1]);
                });
            });
        }
    });
}

fn ext(out: &mut Vec<u8>, oid: &[u8], critical: bool, f: impl FnOnce(&mut Vec<u8>)) {
    tlv(out, 0x30, |o| {
        prim(o, 0x06, oid);
        if critical {
            prim(o, 0x01, &[0xff]);
        }
        tlv(o, 0x04, f);
    });
}

fn key_id(out: &mut Vec<u8>, tag: u8, rng: &mut Rng) {
    let mut id = [0u8; 20];
    rng.fill(&mut id);
    prim(out, tag, &id);
}

fn signature(out: &mut Vec<u8>, rng: &mut Rng) {
    sha256_rsa_alg(out);
    tlv(out, 0x03, |o| {
        o.push(0);
        rand_bytes(o, rng, 256);
    });
}

fn tbs_common(
    o: &mut Vec<u8>,
    rng: &mut Rng,
    issuer_cn: &str,
    subject: (&str, &str),
    validity: (i64, i64),
    ec: bool,
) {
    tlv(o, 0xa0, |o| prim(o, 0x02, &[2]));
    rand_int(o, rng, 16, false);
    sha256_rsa_alg(o);
    dn(o, "Example Trust Services", issuer_cn);
    tlv(o, 0x30, |o| {
        utc_time(o, validity.0);
        utc_time(o, validity.1);
    });
    dn(o, subject.0, subject.1);
    spki(o, rng, ec);
}

/// Leaf certificate for `host` with subjectAltNames, signed (randomly) by the CA.
fn cert_leaf(out: &mut Vec<u8>, rng: &mut Rng, host: &str, ec: bool, now: i64) {
    let start = now - 86_400 * rng.range(1, 80) as i64 - rng.below(86_400) as i64;
    let domain = host.split_once('.').map_or(host, |(_, d)| d);
    let n_sans = if rng.chance(0.2) {
        rng.range(10, 40)
    } else {
        rng.range(1, 4)
    };
    tlv(out, 0x30, |o| {
        tlv(o, 0x30, |o| {
            tbs_common(
                o,
                rng,
                "Example TLS RSA CA 2023",
                ("Example Hosting", host),
                (start, start + 90 * 86_400),
                ec,
            );
            tlv(o, 0xa3, |o| {
                tlv(o, 0x30, |o| {
                    ext(o, OID_KEY_USAGE, true, |o| prim(o, 0x03, &[7, 0x80]));
                    ext(o, OID_EXT_KEY_USAGE, false, |o| {
                        tlv(o, 0x30, |o| {
                            prim(o, 0x06, OID_SERVER_AUTH);
                            prim(o, 0x06, OID_CLIENT_AUTH);
                        })
                    });
                    ext(o, OID_BASIC_CONSTRAINTS, true, |o| prim(o, 0x30, &[]));
                    ext(o, OID_SKI, false, |o| key_id(o, 0x04, rng));
                    ext(o, OID_AKI, false, |o| {
                        tlv(o, 0x30, |o| key_id(o, 0x80, rng))
                    });
                    ext(o, OID_AIA, false, |o| {
                        tlv(o, 0x30, |o| {
                            tlv(o, 0x30, |o| {
                                prim(o, 0x06, OID_OCSP);
                                prim(o, 0x86, b"http://ocsp.ca.example.net");
                            });
                            tlv(o, 0x30, |o| {
                                prim(o, 0x06, OID_CA_ISSUERS);
                                prim(o, 0x86, b"http://crt.ca.example.net/tls-rsa-2023.der");
                            });
                        })
                    });
                    ext(o, OID_SAN, false, |o| {
                        tlv(o, 0x30, |o| {
                            prim(o, 0x82, host.as_bytes());
                            let mut name = String::with_capacity(64);
                            for i in 1..n_sans {
                                name.clear();
                                if i == 1 {
                                    name.push('*');
                                } else {
                                    name.push_str(crate::world::word(rng));
                                    if rng.chance(0.3) {
                                        name.push_str(&i.to_string());
                                    }
                                }
                                name.push('.');
                                name.push_str(domain);
                                prim(o, 0x82, name.as_bytes());
                            }
                        })
                    });
                    ext(o, OID_POLICIES, false, |o| {
                        tlv(o, 0x30, |o| tlv(o, 0x30, |o| prim(o, 0x06, OID_DV_POLICY)))
                    });
                })
            });
        });
        signature(o, rng);
    });
}

/// CA certificate (RSA key), `intermediate` adds a CRL distribution point.
fn cert_ca(
    out: &mut Vec<u8>,
    rng: &mut Rng,
    subject: &str,
    issuer: &str,
    now: i64,
    intermediate: bool,
) {
    let start = now - 86_400 * 400 - rng.below(86_400 * 300) as i64;
    tlv(out, 0x30, |o| {
        tlv(o, 0x30, |o| {
            tbs_common(
                o,
                rng,
                issuer,
                ("Example Trust Services", subject),
                (start, start + 5 * 365 * 86_400),
                false,
            );
            tlv(o, 0xa3, |o| {
                tlv(o, 0x30, |o| {
                    ext(o, OID_KEY_USAGE, true, |o| prim(o, 0x03, &[1, 0x86]));
                    ext(o, OID_BASIC_CONSTRAINTS, true, |o| {
                        tlv(o, 0x30, |o| {
                            prim(o, 0x01, &[0xff]);
                            prim(o, 0x02, &[0]);
                        })
                    });
                    ext(o, OID_SKI, false, |o| key_id(o, 0x04, rng));
                    ext(o, OID_AKI, false, |o| {
                        tlv(o, 0x30, |o| key_id(o, 0x80, rng))
                    });
                    if intermediate {
                        ext(o, OID_CRL_DP, false, |o| {
                            tlv(o, 0x30, |o| {
                                tlv(o, 0x30, |o| {
                                    tlv(o, 0xa0, |o| {
                                        tlv(o, 0xa0, |o| {
                                            prim(o, 0x86, b"http://crl.ca.example.net/root-x1.crl")
                                        })
                                    })
                                })
                            })
                        });
                    }
                })
            });
        });
        signature(o, rng);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walk a DER element, checking every nested length of constructed types.
    fn walk_der(b: &[u8]) -> usize {
        let tag = b[0];
        let (len, hl) = match b[1] {
            l if l < 0x80 => (l as usize, 2),
            0x81 => (b[2] as usize, 3),
            0x82 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
            _ => panic!("bad length"),
        };
        assert!(hl + len <= b.len());
        if tag & 0x20 != 0 {
            let mut p = hl;
            while p < hl + len {
                p += walk_der(&b[p..hl + len]);
            }
            assert_eq!(p, hl + len);
        }
        hl + len
    }

    #[test]
    fn certificates_are_well_formed_der() {
        let mut rng = Rng::new(3);
        for ec in [true, false] {
            let mut v = Vec::new();
            cert_leaf(&mut v, &mut rng, "www.example.com", ec, 1_700_000_000);
            assert_eq!(walk_der(&v), v.len());
            let mut v = Vec::new();
            cert_ca(&mut v, &mut rng, "A", "B", 1_700_000_000, true);
            assert_eq!(walk_der(&v), v.len());
        }
    }
}
