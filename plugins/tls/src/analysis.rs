//! Default mode: the handshake read from both directions' byte streams.
//!
//! The client is the side whose first handshake message is a ClientHello (else the
//! side that did not send the ServerHello; else the initiator). Its first ClientHello
//! gives the offer (ciphers, extensions, SNI, JA3, JA4); the server's messages in
//! plaintext — everything before its first ChangeCipherSpec, or all type-22 records in
//! TLS 1.3 — give the choice: the first ServerHello for JA3S/JA4S, the last one (the
//! real ServerHello after a HelloRetryRequest) for the negotiated version, suite, ALPN
//! and key share, then Certificate and ServerKeyExchange (TLS 1.0-1.2).
#![forbid(unsafe_code)]

use crate::{
    anomaly,
    fingerprint::{is_grease, ja3_text, ja3s_text, ja4, ja4s, push_md5_hex},
    hello::{
        msg, parse_server_kx, CertChain, ClientHello, ClientInfo, ServerHello, ServerInfo, ServerKx,
    },
    names::ffdhe_group,
    record::{DirScan, HsMessages},
    summary::{Kx, Summary, Texts},
};

const TLS13: u16 = 0x0304;

/// Which direction (0 = initiator, 1 = responder) is the TLS client.
pub fn client_direction(scan: &[DirScan; 2]) -> usize {
    let first = |d: usize| HsMessages::new(&scan[d].hs).next().map(|m| m.msg_type);
    let (f, b) = (first(0), first(1));
    if f == Some(msg::CLIENT_HELLO) {
        0
    } else if b == Some(msg::CLIENT_HELLO) || f == Some(msg::SERVER_HELLO) {
        1
    } else {
        0
    }
}

/// The server's plaintext handshake messages that matter.
#[derive(Default)]
struct ServerSide<'a> {
    first_hello: Option<ServerHello<'a>>,
    /// The last ServerHello (a HelloRetryRequest only if nothing followed it).
    hello: Option<ServerHello<'a>>,
    cert: Option<CertChain>,
    kx: Option<&'a [u8]>,
    hello_done: bool,
    anomalies: u32,
}

fn server_side(scan: &DirScan) -> ServerSide<'_> {
    let mut s = ServerSide::default();
    let mut tls13 = false;
    for m in HsMessages::new(&scan.hs) {
        if !tls13 && scan.ccs_mark.is_some_and(|c| m.offset >= c) {
            break;
        }
        let complete = m.complete();
        match m.msg_type {
            msg::SERVER_HELLO => {
                let h = ServerHello::parse(m.body, complete);
                s.anomalies |= h.anomalies;
                tls13 |= ServerInfo::of(&h).selected_version == Some(TLS13);
                if s.first_hello.is_none() {
                    s.first_hello = Some(h);
                }
                s.hello = Some(h);
            }
            msg::CERTIFICATE if s.cert.is_none() && !tls13 => {
                let c = CertChain::parse(m.body, complete);
                s.anomalies |= c.anomalies;
                s.cert = Some(c);
            }
            msg::SERVER_KEY_EXCHANGE if s.kx.is_none() && !tls13 => s.kx = Some(m.body),
            msg::SERVER_HELLO_DONE => s.hello_done = true,
            _ => {}
        }
    }
    s
}

/// Analyses both directions (`handshake_packets` is left 0 for the caller).
pub fn analyze<'a>(scan: &'a [DirScan; 2], texts: &mut Texts) -> Summary<'a> {
    let mut s = Summary {
        anomalies: scan[0].anomalies | scan[1].anomalies,
        ..Summary::default()
    };
    let cd = client_direction(scan);
    let client = HsMessages::new(&scan[cd].hs)
        .next()
        .filter(|m| m.msg_type == msg::CLIENT_HELLO)
        .map(|m| ClientHello::parse(m.body, m.complete()));
    let server = server_side(&scan[1 - cd]);
    s.anomalies |= server.anomalies;

    let mut client_sid: &[u8] = &[];
    let mut client_ticket: &[u8] = &[];
    if let Some(h) = &client {
        let info = ClientInfo::of(h);
        s.anomalies |= h.anomalies | info.anomalies;
        s.detected = true;
        s.version = h.version;
        s.cipher_count = (h.ciphers.len() / 2) as u32;
        s.ext_count = info.ext_count;
        s.sni = info.sni;
        s.alpn = info.alpn_first;
        s.session_id_len = h.session_id.len() as u32;
        s.ticket_ext = info.session_ticket.is_some();
        s.psk_ext = info.psk;
        s.early_data_ext = info.early_data;
        client_sid = h.session_id;
        client_ticket = info.session_ticket.unwrap_or(&[]);
        ja3_text(&mut texts.scratch, h, &info, is_grease);
        texts.ja3.clear();
        push_md5_hex(&mut texts.ja3, &texts.scratch);
        s.ja3 = true;
        ja4(&mut texts.ja4, h, &info, &mut texts.fp);
        s.ja4 = true;
    }

    if let Some(h) = &server.first_hello {
        if ja3s_text(&mut texts.scratch, h, is_grease).is_some() {
            texts.ja3s.clear();
            push_md5_hex(&mut texts.ja3s, &texts.scratch);
            s.ja3s = true;
        }
        s.ja4s = ja4s(&mut texts.ja4s, h, &ServerInfo::of(h), &mut texts.fp).is_some();
    }

    let Some(h) = &server.hello else {
        return s;
    };
    let info = ServerInfo::of(h);
    s.anomalies |= info.anomalies;
    s.detected = true;
    s.version = info.selected_version.unwrap_or(h.version);
    s.cipher = h.cipher.unwrap_or(0);
    if info.alpn.is_some() {
        s.alpn = info.alpn;
    }
    let tls13 = s.version == TLS13;
    if tls13 {
        s.resumed = info.psk;
        if let Some(ks) = info.key_share {
            s.kx = Kx::Group {
                group: ks.group,
                bits: ks.key_len * 8,
            };
        }
        return s;
    }
    s.cert = server.cert.unwrap_or_default();
    let echoed = !client_sid.is_empty() && h.session_id == client_sid;
    // An abbreviated handshake: the server's ChangeCipherSpec follows its hello without
    // a certificate or ServerHelloDone.
    let abbreviated =
        scan[1 - cd].ccs_mark.is_some() && server.cert.is_none() && !server.hello_done;
    s.resumed = server.cert.is_none() && (echoed || (!client_ticket.is_empty() && abbreviated));
    if let Some(body) = server.kx {
        match parse_server_kx(body, h.cipher) {
            Some(ServerKx::Ec { group, public_len }) => {
                s.kx = Kx::Group {
                    group,
                    bits: public_len * 8,
                }
            }
            Some(ServerKx::Dh { p }) => {
                let significant = p.len() - p.iter().take_while(|&&b| b == 0).count();
                let bits = significant as u32 * 8;
                s.kx = match ffdhe_group(p) {
                    Some(group) => Kx::Group { group, bits },
                    None => Kx::CustomDh { bits },
                };
            }
            None => s.anomalies |= anomaly::KX_UNREAD,
        }
    }
    s
}
