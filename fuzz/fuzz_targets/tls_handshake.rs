//! Both directions' TLS byte streams through the `tls` plugin's parsers.
//!
//! Input: `[n: u16 LE, client stream: n bytes, server stream: the rest]`.
//! * Default mode: `record::DirScan::scan` on each stream (record layer, handshake
//!   reassembly across records), then `analysis::analyze` (ClientHello, ServerHello,
//!   Certificate, ServerKeyExchange, JA3/JA3S/JA4/JA4S) — what the extractor does with
//!   the host's reassembled streams.
//! * `compat=joyfuljay`: `compat::analyze` over the streams cut into packets of at most
//!   256 bytes (client packets first, then server packets, then interleaved).
//! * Every handshake message of either stream through `ClientHello::parse` /
//!   `ServerHello::parse` / `CertChain::parse` (strict and lenient).
//!
//! Checks: no panic; the scan's handshake ranges are ascending and disjoint; the
//! fingerprints that are claimed present are non-empty ASCII.
#![no_main]

use jj_tls::{
    analysis, compat,
    hello::{msg, CertChain, ClientHello, ClientInfo, ServerHello, ServerInfo},
    record::{DirScan, HsMessages},
    summary::{Summary, Texts},
};
use libfuzzer_sys::fuzz_target;

fn check_texts(s: &Summary<'_>, t: &Texts) {
    for (on, text) in [
        (s.ja3, &t.ja3),
        (s.ja3s, &t.ja3s),
        (s.ja4, &t.ja4),
        (s.ja4s, &t.ja4s),
    ] {
        if on {
            assert!(!text.is_empty() && text.is_ascii(), "{text:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let rest = &data[2..];
    let (client, server) = rest.split_at(n.min(rest.len()));

    let mut scan = [DirScan::default(), DirScan::default()];
    scan[0].scan(client);
    scan[1].scan(server);
    for (d, stream) in scan.iter().zip([client, server]) {
        assert!(d.hs.len() <= stream.len());
        assert!(
            d.hs_ranges.windows(2).all(|w| w[0].1 <= w[1].0),
            "{:?}",
            d.hs_ranges
        );
        assert!(d.hs_ranges.iter().all(|r| r.0 < r.1));
        if let Some(m) = d.ccs_mark {
            assert!(m <= d.hs.len());
        }
        let _ = (d.plaintext_hs(false), d.plaintext_hs(true));
        let _ = d.overlaps_handshake(0, stream.len() as u64 + 1);
        // Each message through the body parsers directly.
        for m in HsMessages::new(&d.hs) {
            let complete = m.complete();
            match m.msg_type {
                msg::CLIENT_HELLO => {
                    let h = ClientHello::parse(m.body, complete);
                    let _ = ClientInfo::of(&h);
                    let _ = h.cipher_list().count();
                    let _ = h.extension_list().count();
                    let l = ClientHello::parse_lenient(m.body);
                    let _ = ClientInfo::of(&l);
                }
                msg::SERVER_HELLO => {
                    let h = ServerHello::parse(m.body, complete);
                    let _ = (ServerInfo::of(&h), h.is_hrr(), h.extension_list().count());
                    let _ = ServerInfo::of(&ServerHello::parse_lenient(m.body));
                }
                msg::CERTIFICATE => {
                    let _ = CertChain::parse(m.body, complete);
                }
                msg::SERVER_KEY_EXCHANGE => {
                    for cipher in [None, Some(0xc02f), Some(0x009e), Some(0x0033)] {
                        let _ = jj_tls::hello::parse_server_kx(m.body, cipher);
                    }
                }
                _ => {}
            }
        }
    }
    let mut texts = Texts::default();
    let s = analysis::analyze(&scan, &mut texts);
    check_texts(&s, &texts);
    let _ = analysis::client_direction(&scan);

    // compat=joyfuljay: per packet, at most 256 stored bytes each.
    let cap = compat::PAYLOAD_CAP as usize;
    let packets = client
        .chunks(cap)
        .map(|p| (true, p))
        .chain(server.chunks(cap).map(|p| (false, p)));
    let mut texts = Texts::default();
    let s = compat::analyze(packets, &mut texts);
    check_texts(&s, &texts);
    let interleaved = client
        .chunks(cap)
        .map(|p| (true, p))
        .zip(server.chunks(cap).map(|p| (false, p)))
        .flat_map(|(a, b)| [a, b]);
    let s = compat::analyze(interleaved, &mut texts);
    check_texts(&s, &texts);
});
