//! Hand-built handshakes (the builder below), two real hellos of public captures, and
//! the compat path against JoyfulJay's own output. Expected JA3/JA4 values are either
//! FoxIO's/Wireshark's output for those captures or md5/sha256 of texts written out
//! here by hand (computed with Python's hashlib).
use super::*;
use crate::{
    fingerprint::Scratch,
    hello::{ClientHello, ClientInfo, HRR_RANDOM},
};
use jj_plugin_api::{abi_stable::std_types::RSlice, PacketRecord, StreamView, DIR_BWD};

// ---- builder ----------------------------------------------------------------------------

fn be(v: u16) -> [u8; 2] {
    v.to_be_bytes()
}

/// `b` with a 2-byte length prefix.
fn v16(b: &[u8]) -> Vec<u8> {
    let mut v = be(b.len() as u16).to_vec();
    v.extend_from_slice(b);
    v
}

/// `b` with a 1-byte length prefix.
fn v8(b: &[u8]) -> Vec<u8> {
    let mut v = vec![b.len() as u8];
    v.extend_from_slice(b);
    v
}

fn u16_bytes(vals: &[u16]) -> Vec<u8> {
    vals.iter().flat_map(|v| be(*v)).collect()
}

type Ext = (u16, Vec<u8>);

fn x_sni(host: &str) -> Ext {
    let mut entry = vec![0];
    entry.extend(v16(host.as_bytes()));
    (0, v16(&entry))
}
fn x_alpn(protos: &[&str]) -> Ext {
    let list: Vec<u8> = protos.iter().flat_map(|p| v8(p.as_bytes())).collect();
    (16, v16(&list))
}
fn x_groups(g: &[u16]) -> Ext {
    (10, v16(&u16_bytes(g)))
}
fn x_point_formats(f: &[u8]) -> Ext {
    (11, v8(f))
}
fn x_sig_algs(s: &[u16]) -> Ext {
    (13, v16(&u16_bytes(s)))
}
fn x_versions(v: &[u16]) -> Ext {
    (43, v8(&u16_bytes(v)))
}
fn x_version(v: u16) -> Ext {
    (43, be(v).to_vec())
}
fn x_key_shares(shares: &[(u16, usize)]) -> Ext {
    let mut list = vec![];
    for &(g, n) in shares {
        list.extend(be(g));
        list.extend(v16(&vec![0x42; n]));
    }
    (51, v16(&list))
}
fn x_key_share(g: u16, n: usize) -> Ext {
    let mut d = be(g).to_vec();
    d.extend(v16(&vec![0x43; n]));
    (51, d)
}

fn ext_block(exts: &[Ext]) -> Vec<u8> {
    let mut b = vec![];
    for (t, d) in exts {
        b.extend(be(*t));
        b.extend(v16(d));
    }
    v16(&b)
}

/// A handshake message.
fn hs(t: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![t];
    v.extend(&(body.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

struct Ch {
    version: u16,
    session_id: Vec<u8>,
    ciphers: Vec<u16>,
    exts: Option<Vec<Ext>>,
}

impl Ch {
    fn msg(&self) -> Vec<u8> {
        let mut b = be(self.version).to_vec();
        b.extend([0x5a; 32]);
        b.extend(v8(&self.session_id));
        b.extend(v16(&u16_bytes(&self.ciphers)));
        b.extend(v8(&[0]));
        if let Some(e) = &self.exts {
            b.extend(ext_block(e));
        }
        hs(1, &b)
    }
}

struct Sh {
    random: [u8; 32],
    session_id: Vec<u8>,
    cipher: u16,
    exts: Vec<Ext>,
}

impl Sh {
    fn msg(&self) -> Vec<u8> {
        let mut b = be(0x0303).to_vec();
        b.extend(self.random);
        b.extend(v8(&self.session_id));
        b.extend(be(self.cipher));
        b.push(0);
        b.extend(ext_block(&self.exts));
        hs(2, &b)
    }
}

/// A Certificate message with certificates of these lengths.
fn certificate(lens: &[usize]) -> Vec<u8> {
    let mut list = vec![];
    for &n in lens {
        list.extend(&(n as u32).to_be_bytes()[1..]);
        list.extend(vec![0x30; n]);
    }
    let mut body = (list.len() as u32).to_be_bytes()[1..].to_vec();
    body.extend(list);
    hs(11, &body)
}

/// ServerKeyExchange for ECDHE with a named group, then a 64-byte signature.
fn ske_ecdhe(group: u16, public_len: usize) -> Vec<u8> {
    let mut b = vec![3];
    b.extend(be(group));
    b.extend(v8(&vec![4; public_len]));
    b.extend([4, 1]);
    b.extend(v16(&[0x99; 64]));
    hs(12, &b)
}

/// ServerKeyExchange for DHE with prime `p`, generator 2.
fn ske_dhe(p: &[u8]) -> Vec<u8> {
    let mut b = v16(p);
    b.extend(v16(&[2]));
    b.extend(v16(&vec![0x77; p.len()]));
    b.extend([4, 1]);
    b.extend(v16(&[0x99; 64]));
    hs(12, &b)
}

fn hello_done() -> Vec<u8> {
    hs(14, &[])
}

/// `data` as records of content type `t`, at most `max` bytes each.
fn records(t: u8, data: &[u8], max: usize) -> Vec<u8> {
    let mut v = vec![];
    for c in data.chunks(max.max(1)) {
        v.extend([t, 3, 3]);
        v.extend(be(c.len() as u16));
        v.extend_from_slice(c);
    }
    v
}

fn record(t: u8, data: &[u8]) -> Vec<u8> {
    records(t, data, 1 << 14)
}

fn ccs() -> Vec<u8> {
    record(20, &[1])
}

const SYN: u16 = 0x02;
const ACK: u16 = 0x10;
const PSH: u16 = 0x08;

/// A TCP connection built packet by packet: records, payloads and both streams.
struct Conn {
    proto: u8,
    pkts: Vec<PacketRecord>,
    payloads: Vec<Vec<u8>>,
    streams: [Vec<u8>; 2],
    next_seq: [u32; 2],
}

impl Conn {
    /// After a three-way handshake (initiator ISN 1000, responder ISN 0xFFFF_FF00 so the
    /// responder's sequence numbers wrap).
    fn tcp() -> Conn {
        let mut c = Conn {
            proto: 6,
            pkts: vec![],
            payloads: vec![],
            streams: [vec![], vec![]],
            next_seq: [1001, 0xFFFF_FF01],
        };
        c.raw(DIR_FWD, 1000, SYN, &[]);
        c.raw(DIR_BWD, 0xFFFF_FF00, SYN | ACK, &[]);
        c.raw(DIR_FWD, 1001, ACK, &[]);
        c
    }

    fn raw(&mut self, dir: u8, seq: u32, flags: u16, payload: &[u8]) {
        self.pkts.push(PacketRecord {
            ts_ns: self.pkts.len() as i64 * 1_000_000,
            dir,
            tcp_seq: seq,
            tcp_flags: flags,
            payload_len: payload.len() as u32,
            ip_len: 40 + payload.len() as u32,
            ..PacketRecord::default()
        });
        self.payloads.push(payload.to_vec());
    }

    /// Sends `bytes` in segments of at most `mss` bytes.
    fn send(&mut self, dir: u8, bytes: &[u8], mss: usize) {
        let d = usize::from(dir);
        for seg in bytes.chunks(mss) {
            let seq = self.next_seq[d];
            self.raw(dir, seq, ACK | PSH, seg);
            self.next_seq[d] = seq.wrapping_add(seg.len() as u32);
            self.streams[d].extend_from_slice(seg);
        }
    }

    /// Resends the segment `[back, back - len)` bytes before the current end.
    fn retransmit(&mut self, dir: u8, back: usize, len: usize) {
        let d = usize::from(dir);
        let start = self.streams[d].len() - back;
        let seg = self.streams[d][start..start + len].to_vec();
        let seq = self.next_seq[d].wrapping_sub(back as u32);
        self.raw(dir, seq, ACK | PSH, &seg);
    }

    fn ack(&mut self, dir: u8) {
        let seq = self.next_seq[usize::from(dir)];
        self.raw(dir, seq, ACK, &[]);
    }

    /// The stored form: payloads cut to `cap` bytes per packet, streams given or not.
    fn stored(&self, cap: usize, with_streams: bool) -> Stored {
        let mut pkts = self.pkts.clone();
        let mut payload = vec![];
        for (p, bytes) in pkts.iter_mut().zip(&self.payloads) {
            let n = bytes.len().min(cap);
            p.payload_off = payload.len() as u32;
            p.payload_stored = n as u32;
            payload.extend_from_slice(&bytes[..n]);
        }
        Stored {
            proto: self.proto,
            pkts,
            payload,
            streams: if with_streams {
                self.streams.clone()
            } else {
                [vec![], vec![]]
            },
        }
    }
}

struct Stored {
    proto: u8,
    pkts: Vec<PacketRecord>,
    payload: Vec<u8>,
    streams: [Vec<u8>; 2],
}

impl Stored {
    fn view(&self) -> FlowView<'_> {
        fn stream(b: &[u8]) -> StreamView<'_> {
            StreamView {
                bytes: RSlice::from_slice(b),
                ..StreamView::default()
            }
        }
        FlowView {
            src_ip: [0; 16],
            dst_ip: [0; 16],
            src_port: 50000,
            dst_port: 443,
            ip_version: 4,
            protocol: self.proto,
            end_reason: 0,
            pass: 0,
            first_packet_index: 0,
            anomalies: 0,
            _reserved2: 0,
            link: Default::default(),
            packets: RSlice::from_slice(&self.pkts),
            payload: RSlice::from_slice(&self.payload),
            hdr_bytes: RSlice::from_slice(&[]),
            streams: [stream(&self.streams[0]), stream(&self.streams[1])],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// Host streams present.
    Streams,
    /// Streams empty: stored payloads (16384 per packet) put together by the plugin.
    Fallback,
    /// `compat=joyfuljay` (256 payload bytes per packet).
    Compat,
}

fn config(mode: Mode) -> Config {
    Config {
        compat: mode == Mode::Compat,
        ..Config::default()
    }
}

fn stored(c: &Conn, mode: Mode) -> Stored {
    match mode {
        Mode::Streams => c.stored(16384, true),
        Mode::Fallback => c.stored(16384, false),
        // Another extractor may make the host keep more than compat's 256 bytes.
        Mode::Compat => c.stored(1000, true),
    }
}

fn run(c: &Conn, mode: Mode) -> Vec<Value> {
    let st = stored(c, mode);
    let mut out = vec![Value::Null; slot::COUNT];
    Tls::new(config(mode))
        .extract(&st.view(), &mut out)
        .unwrap();
    out
}

fn anomalies(c: &Conn, mode: Mode) -> u32 {
    let st = stored(c, mode);
    let mut t = Tls::new(config(mode));
    let flow = st.view();
    let (s, _) = t.summarize(&flow);
    s.anomalies
}

fn s(v: &Value) -> &str {
    match v {
        Value::Str(s) => s.as_str(),
        other => panic!("not a string: {other:?}"),
    }
}

fn i(v: &Value) -> i64 {
    match v {
        Value::Int(x) => *x,
        other => panic!("not an int: {other:?}"),
    }
}

fn b(v: &Value) -> bool {
    match v {
        Value::Bool(x) => *x,
        other => panic!("not a bool: {other:?}"),
    }
}

fn by_name<'a>(out: &'a [Value], name: &str) -> &'a Value {
    let k = FEATURES
        .iter()
        .position(|s| s.name == name)
        .unwrap_or_else(|| panic!("no feature {name}"));
    &out[k]
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

// ---- a TLS 1.2 handshake ----------------------------------------------------------------

/// A Chrome-like ClientHello with GREASE everywhere, plus 0x0A1A (GREASE to
/// JoyfulJay's mask, not to RFC 8701) as a cipher and an extension.
fn client_hello() -> Ch {
    Ch {
        version: 0x0303,
        session_id: vec![0x11; 32],
        ciphers: vec![0x2a2a, 0x1301, 0x1302, 0xc02b, 0xc02f, 0x009c, 0x0a1a],
        exts: Some(vec![
            (0x3a3a, vec![]),
            x_sni("example.com"),
            (23, vec![]),
            (65281, vec![0]),
            x_groups(&[0x4a4a, 0x001d, 0x0017, 0x0018]),
            x_point_formats(&[0]),
            (35, vec![]),
            x_alpn(&["h2", "http/1.1"]),
            (5, vec![1, 0, 0, 0, 0]),
            x_sig_algs(&[0x0403, 0x0804, 0x0401]),
            (18, vec![]),
            x_key_shares(&[(0x5a5a, 1), (0x001d, 12)]),
            (45, vec![1, 1]),
            x_versions(&[0x6a6a, 0x0304, 0x0303]),
            (27, vec![2, 0, 2]),
            (0x0a1a, vec![]),
            (0x7a7a, vec![0]),
        ]),
    }
}

/// JA3 text of [`client_hello`], worked out by hand: GREASE 0x2a2a, 0x3a3a, 0x4a4a,
/// 0x7a7a removed; 0x0a1a (2586) kept.
const JA3_TEXT: &str =
    "771,4865-4866-49195-49199-156-2586,0-23-65281-10-11-35-16-5-13-18-51-45-43-27-2586,29-23-24,0";
/// md5(JA3_TEXT).
const JA3: &str = "e0ab12717709d8f4c10ed54193e75841";
/// JA4: version 1.3 from supported_versions, SNI, 6 ciphers and 15 extensions without
/// GREASE, ALPN h2; sha256[:12] of "009c,0a1a,1301,1302,c02b,c02f" and of
/// "0005,000a,000b,000d,0012,0017,001b,0023,002b,002d,0033,0a1a,ff01_0403,0804,0401".
const JA4: &str = "t13d0615h2_88b02bab2857_82acba8b2be6";

fn server_hello_12() -> Sh {
    Sh {
        random: [0x33; 32],
        session_id: vec![0x22; 32],
        cipher: 0xc02f,
        exts: vec![
            (65281, vec![0]),
            (0, vec![]),
            x_point_formats(&[0]),
            (35, vec![]),
            x_alpn(&["h2"]),
        ],
    }
}

/// md5("771,49199,65281-0-11-35-16").
const JA3S_12: &str = "47decf033ac4c8fc9b952ff41e549679";
/// t, 1.2, 5 extensions, h2, c02f, sha256[:12]("ff01,0000,000b,0023,0010").
const JA4S_12: &str = "t1205h2_c02f_4527d988f689";

/// The server's first flight: ServerHello in its own record, then Certificate,
/// ServerKeyExchange and ServerHelloDone in records of at most `max_record` bytes.
fn server_flight_12(sh: &Sh, certs: &[usize], max_record: usize) -> Vec<u8> {
    let mut v = record(22, &sh.msg());
    let mut rest = certificate(certs);
    rest.extend(ske_ecdhe(0x001d, 32));
    rest.extend(hello_done());
    v.extend(records(22, &rest, max_record));
    v
}

/// A full TLS 1.2 handshake and a little application data. Flights are sent in
/// segments of `mss` bytes.
fn tls12_conn(mss: usize, max_record: usize) -> Conn {
    let mut c = Conn::tcp();
    c.send(DIR_FWD, &record(22, &client_hello().msg()), mss);
    c.send(
        DIR_BWD,
        &server_flight_12(&server_hello_12(), &[1200, 1000], max_record),
        mss,
    );
    let mut fin = record(22, &hs(16, &v8(&[0x44; 32])));
    fin.extend(ccs());
    fin.extend(record(22, &[0xe1; 40]));
    c.send(DIR_FWD, &fin, mss);
    let mut fin = record(22, &hs(4, &[0, 0, 1, 0, 0, 2, 0xab, 0xcd]));
    fin.extend(ccs());
    fin.extend(record(22, &[0xe2; 40]));
    c.send(DIR_BWD, &fin, mss);
    c.send(DIR_FWD, &record(23, &[0xa0; 300]), mss);
    c.send(DIR_BWD, &record(23, &[0xa1; 900]), mss);
    c.ack(DIR_FWD);
    c
}

fn check_tls12(out: &[Value]) {
    assert!(b(by_name(out, "tls_detected")));
    assert_eq!(i(by_name(out, "tls_version")), 0x0303);
    assert_eq!(s(by_name(out, "tls_version_str")), "TLS 1.2");
    assert_eq!(i(by_name(out, "tls_cipher_suite")), 0xc02f);
    assert_eq!(i(by_name(out, "tls_cipher_count")), 7);
    assert_eq!(i(by_name(out, "tls_extension_count")), 17);
    assert_eq!(s(by_name(out, "tls_sni")), "example.com");
    assert_eq!(s(by_name(out, "tls_alpn")), "h2");
    assert_eq!(s(by_name(out, "ja3_hash")), JA3);
    assert_eq!(s(by_name(out, "ja3s_hash")), JA3S_12);
    assert_eq!(i(by_name(out, "tls_cert_count")), 2);
    assert_eq!(i(by_name(out, "tls_cert_total_length")), 2200);
    assert_eq!(i(by_name(out, "tls_cert_first_length")), 1200);
    assert_eq!(i(by_name(out, "tls_cert_chain_length")), 2);
    assert_eq!(i(by_name(out, "tls_session_id_len")), 32);
    assert!(b(by_name(out, "tls_session_ticket_ext")));
    assert!(!b(by_name(out, "tls_session_resumed")));
    assert!(!b(by_name(out, "tls_psk_ext")));
    assert!(!b(by_name(out, "tls_early_data_ext")));
    assert_eq!(i(by_name(out, "tls_key_exchange_group")), 29);
    assert_eq!(s(by_name(out, "tls_key_exchange_group_name")), "x25519");
    assert_eq!(i(by_name(out, "tls_key_exchange_length")), 256);
    assert_eq!(s(by_name(out, "ja4")), JA4);
    assert_eq!(s(by_name(out, "ja4s")), JA4S_12);
}

#[test]
fn ja3_text_by_hand() {
    let msg = client_hello().msg();
    let h = ClientHello::parse(&msg[4..], true);
    assert_eq!(h.anomalies, 0);
    let info = ClientInfo::of(&h);
    let mut t = String::new();
    fingerprint::ja3_text(&mut t, &h, &info, fingerprint::is_grease);
    assert_eq!(t, JA3_TEXT);
    let mut j = String::new();
    fingerprint::ja4(&mut j, &h, &info, &mut Scratch::default());
    assert_eq!(j, JA4);
}

#[test]
fn tls12_one_record_per_flight() {
    let c = tls12_conn(1460, 1 << 14);
    for mode in [Mode::Streams, Mode::Fallback] {
        let out = run(&c, mode);
        check_tls12(&out);
        // ClientHello, server flight (2 segments), client Finished, server Finished.
        assert_eq!(i(by_name(&out, "tls_handshake_packets")), 5, "{mode:?}");
        assert_eq!(anomalies(&c, mode), 0, "{mode:?}");
    }
}

#[test]
fn tls12_split_across_records_and_packets() {
    // Records of 300 bytes (Certificate spans 8 records), segments of 211 bytes (records
    // and messages span segments), a retransmission, an out-of-window duplicate.
    let mut c = tls12_conn(211, 300);
    c.retransmit(DIR_BWD, 1000, 211);
    c.ack(DIR_FWD);
    for mode in [Mode::Streams, Mode::Fallback] {
        let out = run(&c, mode);
        check_tls12(&out);
        assert_eq!(anomalies(&c, mode), 0, "{mode:?}");
    }
    // Count by construction: segments overlapping a type-22 record.
    let st = c.stored(16384, true);
    let mut scans: [DirScan; 2] = Default::default();
    scans[0].scan(&st.streams[0]);
    scans[1].scan(&st.streams[1]);
    let base = [1001u32, 0xFFFF_FF01];
    let expected = st
        .pkts
        .iter()
        .filter(|p| p.payload_len > 0)
        .filter(|p| {
            let d = usize::from(p.dir);
            let off = p.tcp_seq.wrapping_sub(base[d]) as u64;
            scans[d].overlaps_handshake(off, off + u64::from(p.payload_len))
        })
        .count() as i64;
    assert!(expected > 15, "{expected}");
    for mode in [Mode::Streams, Mode::Fallback] {
        assert_eq!(
            i(by_name(&run(&c, mode), "tls_handshake_packets")),
            expected
        );
    }
}

#[test]
fn fallback_stops_at_a_hole() {
    let mut c = tls12_conn(400, 1 << 14);
    // Drop the server's second segment: the Certificate is cut in the fallback stream.
    let second_bwd = c
        .pkts
        .iter()
        .enumerate()
        .filter(|(_, p)| p.dir == DIR_BWD && p.payload_len > 0)
        .nth(1)
        .unwrap()
        .0;
    c.pkts.remove(second_bwd);
    c.payloads.remove(second_bwd);
    let out = run(&c, Mode::Fallback);
    assert_eq!(s(by_name(&out, "ja3s_hash")), JA3S_12);
    assert_eq!(i(by_name(&out, "tls_cert_count")), 1);
    assert_eq!(i(by_name(&out, "tls_cert_first_length")), 1200);
    assert_eq!(i(by_name(&out, "tls_key_exchange_group")), 0);
    assert_ne!(anomalies(&c, Mode::Fallback) & anomaly::MSG_TRUNCATED, 0);
}

#[test]
fn fallback_keeps_the_first_copy_like_the_host() {
    // A conflicting copy of the ClientHello's first bytes arrives after it: both the
    // host's streams (first copy kept) and the fallback ignore it, and that packet did
    // not carry handshake bytes of the stream.
    let mut c = tls12_conn(1460, 1 << 14);
    c.raw(DIR_FWD, 1001, ACK, &[0; 40]);
    for mode in [Mode::Streams, Mode::Fallback] {
        let out = run(&c, mode);
        check_tls12(&out);
        assert_eq!(i(by_name(&out, "tls_handshake_packets")), 5, "{mode:?}");
    }
    // Stray bytes in front of the ClientHello at the same sequence number (first copy):
    // the stream does not start with a record, in both modes.
    let mut c = Conn::tcp();
    c.raw(DIR_FWD, 1001, ACK, &[0, 0]);
    let ch = record(22, &client_hello().msg());
    c.raw(DIR_FWD, 1001, ACK | PSH, &ch);
    c.streams[0] = [&[0u8, 0][..], &ch[2..]].concat();
    for mode in [Mode::Streams, Mode::Fallback] {
        assert!(!b(&run(&c, mode)[slot::DETECTED]), "{mode:?}");
        assert_eq!(anomalies(&c, mode), anomaly::NOT_TLS, "{mode:?}");
    }
    // compat looks at packets one by one and finds it.
    assert!(b(&run(&c, Mode::Compat)[slot::DETECTED]));
}

#[test]
fn handshake_with_a_dhe_key_exchange() {
    // RFC 7919 ffdhe2048 is recognised by its prefix; other primes have no group.
    let mut ffdhe = vec![0xFF; 256];
    ffdhe[8..24].copy_from_slice(&[
        0xAD, 0xF8, 0x54, 0x58, 0xA2, 0xBB, 0x4A, 0x9A, 0xAF, 0xDC, 0x56, 0x20, 0x27, 0x3D, 0x3C,
        0xF1,
    ]);
    let modp = vec![0xC9; 128];
    for (p, group, name, bits) in [
        (&ffdhe, 256, "ffdhe2048", 2048),
        (&modp, 0, "dhe1024", 1024),
    ] {
        let mut c = Conn::tcp();
        c.send(DIR_FWD, &record(22, &client_hello().msg()), 1460);
        let sh = Sh {
            cipher: 0x009e, // DHE_RSA_WITH_AES_128_GCM_SHA256
            ..server_hello_12()
        };
        let mut f = sh.msg();
        f.extend(certificate(&[500]));
        f.extend(ske_dhe(p));
        f.extend(hello_done());
        c.send(DIR_BWD, &record(22, &f), 1460);
        let out = run(&c, Mode::Streams);
        assert_eq!(i(by_name(&out, "tls_key_exchange_group")), group);
        assert_eq!(s(by_name(&out, "tls_key_exchange_group_name")), name);
        assert_eq!(i(by_name(&out, "tls_key_exchange_length")), bits);
        assert_eq!(i(by_name(&out, "tls_cert_count")), 1);
        // compat: the ServerKeyExchange starts beyond the 256 stored bytes, so the
        // client's first key share (GREASE) stays.
        let out = run(&c, Mode::Compat);
        assert_eq!(i(by_name(&out, "tls_key_exchange_group")), 0x5a5a);
    }
    // compat: JoyfulJay's reading of a DHE ServerKeyExchange within the first 256 bytes:
    // group 0x0100 named after the prime's size.
    let mut c = Conn::tcp();
    c.send(DIR_FWD, &record(22, &client_hello().msg()), 1460);
    let mut f = server_hello_12().msg();
    f.extend(ske_dhe(&modp));
    c.send(DIR_BWD, &record(22, &f), 1460);
    let out = run(&c, Mode::Compat);
    assert_eq!(i(by_name(&out, "tls_key_exchange_group")), 0x100);
    assert_eq!(s(by_name(&out, "tls_key_exchange_group_name")), "ffdhe1024");
    assert_eq!(i(by_name(&out, "tls_key_exchange_length")), 1024);
}

#[test]
fn truncated_client_hello_keeps_what_precedes_the_cut() {
    let msg = client_hello().msg();
    // Cut inside the ALPN extension (the 8th extension).
    let cut = msg.windows(2).position(|w| w == b"h2").unwrap();
    let mut c = Conn::tcp();
    c.send(DIR_FWD, &record(22, &msg)[..5 + cut], 1460);
    let out = run(&c, Mode::Streams);
    assert!(b(by_name(&out, "tls_detected")));
    assert_eq!(i(by_name(&out, "tls_cipher_count")), 7);
    assert_eq!(i(by_name(&out, "tls_extension_count")), 8);
    assert_eq!(s(by_name(&out, "tls_sni")), "example.com");
    assert_eq!(s(by_name(&out, "tls_alpn")), "");
    assert_eq!(s(by_name(&out, "ja3s_hash")), "");
    assert_eq!(i(by_name(&out, "tls_version")), 0x0303);
    let mut text = String::new();
    let body = &msg[4..cut];
    let h = ClientHello::parse(body, false);
    fingerprint::ja3_text(&mut text, &h, &ClientInfo::of(&h), fingerprint::is_grease);
    assert_eq!(
        text,
        "771,4865-4866-49195-49199-156-2586,0-23-65281-10-11-35-16,29-23-24,0"
    );
    let mut md5 = String::new();
    fingerprint::push_md5_hex(&mut md5, &text);
    assert_eq!(s(by_name(&out, "ja3_hash")), md5);
    let a = anomalies(&c, Mode::Streams);
    assert_ne!(a & anomaly::RECORD_TRUNCATED, 0);
    assert_ne!(a & anomaly::MSG_TRUNCATED, 0);
    assert_ne!(a & anomaly::EXT_TRUNCATED, 0);

    // Cut inside the cipher list: ciphers before the cut, no extensions.
    let mut c = Conn::tcp();
    c.send(
        DIR_FWD,
        &record(22, &msg)[..5 + 4 + 2 + 32 + 33 + 2 + 5],
        1460,
    );
    let out = run(&c, Mode::Streams);
    assert_eq!(i(by_name(&out, "tls_cipher_count")), 2);
    assert_eq!(i(by_name(&out, "tls_extension_count")), 0);
    assert_eq!(s(by_name(&out, "ja3_hash")).len(), 32);
}

#[test]
fn every_prefix_and_mutation_is_total() {
    let c = tls12_conn(1460, 1 << 14);
    let full = c.stored(16384, true);
    let mut t = Tls::new(Config::default());
    let mut out = vec![Value::Null; slot::COUNT];
    for d in 0..2 {
        let stream = full.streams[d].clone();
        for cut in 0..stream.len().min(3000) {
            let mut st = c.stored(16384, true);
            st.streams[d].truncate(cut);
            t.extract(&st.view(), &mut out).unwrap();
        }
        for (pos, &orig) in stream.iter().enumerate().take(1600) {
            for v in [0x00, 0xff, orig ^ 0x80] {
                let mut st = c.stored(16384, true);
                st.streams[d][pos] = v;
                t.extract(&st.view(), &mut out).unwrap();
            }
        }
    }
    // Random handshake records (xorshift), both modes.
    let mut rng = jj_kit::testutil::XorShift64(0x2545_f491_4f6c_dd1d);
    let mut tc = Tls::new(config(Mode::Compat));
    for _ in 0..3000 {
        let mut body = vec![];
        let n = (rng.0 % 300) as usize;
        for _ in 0..n {
            body.push(rng.next_u64() as u8);
        }
        if let Some(b) = body.get_mut(0) {
            *b = [1, 2, 11, 12, 14][(rng.0 % 5) as usize];
        }
        let mut c = Conn::tcp();
        c.send(DIR_FWD, &record(22, &body), 1460);
        c.send(DIR_BWD, &records(22, &body, 50), 100);
        t.extract(&c.stored(16384, true).view(), &mut out).unwrap();
        t.extract(&c.stored(16384, false).view(), &mut out).unwrap();
        tc.extract(&c.stored(256, false).view(), &mut out).unwrap();
    }
    let msg = record(22, &client_hello().msg());
    for cut in 0..msg.len() {
        let mut c = Conn::tcp();
        c.send(DIR_FWD, &msg[..cut], 1460);
        c.send(DIR_BWD, &msg[..cut], 1460);
        tc.extract(&c.stored(256, false).view(), &mut out).unwrap();
    }
}

// ---- TLS 1.3 -------------------------------------------------------------------------

fn tls13_conn(server_exts: Vec<Ext>, hrr: bool) -> Conn {
    let mut c = Conn::tcp();
    let ch = client_hello();
    c.send(DIR_FWD, &record(22, &ch.msg()), 1460);
    let mut flight = vec![];
    if hrr {
        let h = Sh {
            random: HRR_RANDOM,
            session_id: vec![0x11; 32],
            cipher: 0x1301,
            exts: vec![x_version(0x0304), (51, be(0x0017).to_vec())],
        };
        flight.extend(record(22, &h.msg()));
        flight.extend(ccs());
        c.send(DIR_BWD, &flight, 1460);
        let mut again = ccs();
        again.extend(record(22, &ch.msg()));
        c.send(DIR_FWD, &again, 1460);
        flight.clear();
    }
    let sh = Sh {
        random: [0x44; 32],
        // TLS 1.3 servers echo the legacy session id: not a resumption.
        session_id: vec![0x11; 32],
        cipher: 0x1301,
        exts: server_exts,
    };
    flight.extend(record(22, &sh.msg()));
    if !hrr {
        flight.extend(ccs());
    }
    // EncryptedExtensions, Certificate, CertificateVerify, Finished: application data.
    flight.extend(record(23, &[0xee; 2500]));
    c.send(DIR_BWD, &flight, 1460);
    c.send(DIR_FWD, &record(23, &[0xef; 53]), 1460);
    c
}

#[test]
fn tls13_server_hello_with_supported_versions() {
    let c = tls13_conn(vec![x_key_share(0x001d, 32), x_version(0x0304)], false);
    for mode in [Mode::Streams, Mode::Fallback] {
        let out = run(&c, mode);
        assert!(b(by_name(&out, "tls_detected")));
        assert_eq!(i(by_name(&out, "tls_version")), 0x0304);
        assert_eq!(s(by_name(&out, "tls_version_str")), "TLS 1.3");
        assert_eq!(i(by_name(&out, "tls_cipher_suite")), 0x1301);
        // Encrypted in TLS 1.3.
        assert_eq!(i(by_name(&out, "tls_cert_count")), 0);
        // Echoed session id is middlebox compatibility, not resumption.
        assert!(!b(by_name(&out, "tls_session_resumed")));
        // ALPN is in EncryptedExtensions: the client's first offer.
        assert_eq!(s(by_name(&out, "tls_alpn")), "h2");
        assert_eq!(i(by_name(&out, "tls_key_exchange_group")), 29);
        assert_eq!(s(by_name(&out, "tls_key_exchange_group_name")), "x25519");
        assert_eq!(i(by_name(&out, "tls_key_exchange_length")), 256);
        // md5("771,4865,51-43") (the same value as Google's servers, see below).
        assert_eq!(
            s(by_name(&out, "ja3s_hash")),
            "eb1d94daa7e0344597e756a1fb6e7054"
        );
        assert_eq!(s(by_name(&out, "ja4s")), "t130200_1301_234ea6891581");
        assert_eq!(s(by_name(&out, "ja4")), JA4);
        // ClientHello and the ServerHello segment.
        assert_eq!(i(by_name(&out, "tls_handshake_packets")), 2);
    }
    // compat: the ClientHello's legacy version, the server's choice ignored.
    let out = run(&c, Mode::Compat);
    assert_eq!(i(by_name(&out, "tls_version")), 0x0303);
    assert_eq!(s(by_name(&out, "tls_version_str")), "TLS 1.2");
    assert!(b(by_name(&out, "tls_session_resumed")));
}

#[test]
fn tls13_psk_resumption() {
    let c = tls13_conn(
        vec![x_key_share(0x001d, 32), x_version(0x0304), (41, vec![0, 0])],
        false,
    );
    let out = run(&c, Mode::Streams);
    assert!(b(by_name(&out, "tls_session_resumed")));
    // md5("771,4865,51-43-41"), sha256[:12]("0033,002b,0029")
    assert_eq!(
        s(by_name(&out, "ja3s_hash")),
        "aa8ccc23f30f490cc666164b60a06354"
    );
    assert_eq!(s(by_name(&out, "ja4s")), "t130300_1301_e0120ca3a5bb");
}

#[test]
fn hello_retry_request() {
    let c = tls13_conn(vec![x_version(0x0304), x_key_share(0x0017, 65)], true);
    let out = run(&c, Mode::Streams);
    assert_eq!(i(by_name(&out, "tls_version")), 0x0304);
    // Negotiated values from the real ServerHello.
    assert_eq!(i(by_name(&out, "tls_key_exchange_group")), 23);
    assert_eq!(s(by_name(&out, "tls_key_exchange_group_name")), "secp256r1");
    assert_eq!(i(by_name(&out, "tls_key_exchange_length")), 520);
    // Fingerprints of the first ServerHello (the HelloRetryRequest), like FoxIO's tool:
    // md5("771,4865,43-51"), sha256[:12]("002b,0033").
    assert_eq!(
        s(by_name(&out, "ja3s_hash")),
        "f4febc55ea12b31ae17cfb7e614afda8"
    );
    assert_eq!(s(by_name(&out, "ja4s")), "t130200_1301_a56c5b993250");
    assert_eq!(s(by_name(&out, "ja3_hash")), JA3);
    assert_eq!(i(by_name(&out, "tls_handshake_packets")), 4);
}

// ---- resumption and roles ----------------------------------------------------------------

#[test]
fn tls12_resumption_by_session_id_and_ticket() {
    // Abbreviated handshake: ServerHello echoing the session id, then CCS + Finished.
    let mut c = Conn::tcp();
    c.send(DIR_FWD, &record(22, &client_hello().msg()), 1460);
    let sh = Sh {
        session_id: vec![0x11; 32],
        ..server_hello_12()
    };
    let mut f = record(22, &sh.msg());
    f.extend(ccs());
    f.extend(record(22, &[0xe3; 40]));
    c.send(DIR_BWD, &f, 1460);
    let out = run(&c, Mode::Streams);
    assert!(b(by_name(&out, "tls_session_resumed")));
    assert_eq!(i(by_name(&out, "tls_cert_count")), 0);
    // The encrypted Finished after the CCS is not read as a message.
    assert_eq!(anomalies(&c, Mode::Streams), 0);

    // Ticket resumption with an empty client session id: the server accepts the ticket
    // (abbreviated handshake) without an id to echo.
    let mut ch = client_hello();
    ch.session_id.clear();
    if let Some(e) = ch.exts.as_mut() {
        for x in e.iter_mut().filter(|x| x.0 == 35) {
            x.1 = vec![0x7e; 100];
        }
    }
    let mut c = Conn::tcp();
    c.send(DIR_FWD, &record(22, &ch.msg()), 1460);
    let sh = Sh {
        session_id: vec![],
        ..server_hello_12()
    };
    let mut f = record(22, &sh.msg());
    f.extend(record(22, &hs(4, &[0, 0, 1, 0, 0, 2, 0xab, 0xcd])));
    f.extend(ccs());
    f.extend(record(22, &[0xe3; 40]));
    c.send(DIR_BWD, &f, 1460);
    assert!(b(by_name(&run(&c, Mode::Streams), "tls_session_resumed")));

    // A full handshake with the same offer is not a resumption.
    let mut c = Conn::tcp();
    c.send(DIR_FWD, &record(22, &ch.msg()), 1460);
    c.send(DIR_BWD, &server_flight_12(&sh, &[900], 1 << 14), 1460);
    let out = run(&c, Mode::Streams);
    assert!(!b(by_name(&out, "tls_session_resumed")));
    // compat: the reference's rule calls it resumed (no certificate found, ticket
    // extension offered).
    let out = run(&c, Mode::Compat);
    assert!(b(by_name(&out, "tls_session_resumed")));
}

#[test]
fn client_is_the_side_that_sent_the_client_hello() {
    // The flow's first packet came from the server (capture started mid-handshake).
    let mut c = Conn::tcp();
    c.pkts.clear();
    c.payloads.clear();
    c.send(
        DIR_FWD,
        &server_flight_12(&server_hello_12(), &[1200, 1000], 1 << 14),
        1460,
    );
    c.send(DIR_BWD, &record(22, &client_hello().msg()), 1460);
    for mode in [Mode::Streams, Mode::Fallback] {
        let out = run(&c, mode);
        check_tls12(&out);
        assert_eq!(i(by_name(&out, "tls_handshake_packets")), 3);
    }
    // compat only looks for the ClientHello in initiator packets.
    let out = run(&c, Mode::Compat);
    assert!(!b(by_name(&out, "tls_detected")));
    assert_eq!(s(by_name(&out, "ja3_hash")), "");
}

#[test]
fn server_hello_alone_is_detected() {
    let mut c = Conn::tcp();
    c.send(
        DIR_BWD,
        &server_flight_12(&server_hello_12(), &[700], 1 << 14),
        1460,
    );
    let out = run(&c, Mode::Streams);
    assert!(b(by_name(&out, "tls_detected")));
    assert_eq!(i(by_name(&out, "tls_version")), 0x0303);
    assert_eq!(s(by_name(&out, "ja3_hash")), "");
    assert_eq!(s(by_name(&out, "ja3s_hash")), JA3S_12);
    assert_eq!(s(by_name(&out, "tls_alpn")), "h2");
    assert!(!b(by_name(&run(&c, Mode::Compat), "tls_detected")));
}

#[test]
fn non_tls_and_non_tcp_flows_are_empty() {
    let mut c = Conn::tcp();
    c.send(
        DIR_FWD,
        b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        1460,
    );
    c.send(DIR_BWD, b"HTTP/1.1 200 OK\r\n\r\n", 1460);
    let empty = run(&Conn::tcp(), Mode::Streams);
    for mode in [Mode::Streams, Mode::Fallback, Mode::Compat] {
        assert_eq!(run(&c, mode), empty, "{mode:?}");
    }
    assert_eq!(anomalies(&c, Mode::Streams), anomaly::NOT_TLS);
    assert!(!b(&empty[slot::DETECTED]));
    assert_eq!(i(&empty[slot::VERSION]), 0);
    assert_eq!(s(&empty[slot::VERSION_STR]), "");
    assert_eq!(s(&empty[slot::KX_GROUP_NAME]), "");
    assert_eq!(s(&empty[slot::JA4]), "");

    // A UDP flow: ignored by default; compat parses any payload that looks right.
    let mut u = Conn::tcp();
    u.proto = 17;
    u.send(DIR_FWD, &record(22, &client_hello().msg()), 1460);
    assert_eq!(run(&u, Mode::Streams), empty);
    assert!(b(&run(&u, Mode::Compat)[slot::DETECTED]));
}

// ---- real hellos -----------------------------------------------------------------------

// The ClientHello record of frame 1 and the ServerHello record of frame 2 of
// `pcap/tls-handshake.pcapng` in FoxIO's public ja4 repository (shared capture
// `ja4_tls-handshake.pcapng`): Chrome to clientservices.googleapis.com, TLS 1.3.
const CHROME_CH: &str = concat!(
    "1603010200010001fc03030f9e38acb9a54a7c6e00e29a70ac2feee180ff76d7f25dca84932a66a4",
    "2d1e5a20bc58b92f865e6b9aa4a6371cadcb0afe1da1c0f705209a11d52357f56d5dd9620020aaaa",
    "130113021303c02bc02fc02cc030cca9cca8c013c014009c009d002f0035010001939a9a0000ff01",
    "0001000033002b00290a0a000100001d0020cf55af2603e92f59eb321779706a18fa6b96b16c1640",
    "4c2264ed687a59401878002d00020101000500050100000000446900050003026832000d00120010",
    "040308040401050308050501080606010010000e000c02683208687474702f312e3100230000001b",
    "0003020002002b0007060a0a0304030300000022002000001d636c69656e7473657276696365732e",
    "676f6f676c65617069732e636f6d00120000000a000a00080a0a001d0017001800170000000b0002",
    "01006a6a000100001500ba0000000000000000000000000000000000000000000000000000000000",
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "00000000000000000000000000000000000000000000000000000000000000000000000000",
);
const GOOGLE_SH: &str = concat!(
    "160303007a020000760303897c232e3ee313314f2b662307ff4f7e2cf1caeec1b27711bca77f4695",
    "19168520bc58b92f865e6b9aa4a6371cadcb0afe1da1c0f705209a11d52357f56d5dd96213010000",
    "2e00330024001d002076b8b7ed0f96b63a773d85ab6f3a87a151c130529785b41a4defb531840559",
    "57002b00020304",
);

// The ClientHello record of frame 4 and the ServerHello record of frame 6 of
// `tests/cfgs/default/pcap/443-firefox.pcap` in nDPI's public repository (shared
// capture `ndpi_443-firefox.pcap`): Firefox to www.ntop.org, TLS 1.2 chosen.
const FIREFOX_CH: &str = concat!(
    "1603010200010001fc0303946bf125d520b848e57d09c375afa7295beb220cd1470e0e81d09c77a6",
    "ebb61c20ee594a6f44641c6449c6cf9207b65d86e1cceefacb12202eaf7f1b923823d9f500241301",
    "13031302c02bc02fcca9cca8c02cc030c00ac009c013c01400330039002f0035000a0100018f0000",
    "0011000f00000c7777772e6e746f702e6f726700170000ff01000100000a000e000c001d00170018",
    "001901000101000b00020100002300000010000e000c02683208687474702f312e31000500050100",
    "0000000033006b0069001d002011edefe3e699ce3aaf8ca89fc09be7532014ef953df40763060d94",
    "0a582ea04b0017004104d38e567337fe58d6d51c550202a5902e4978e5397292d86223056995ff63",
    "f225b03f1204612febc65cee1e0ec5823870893ffe756ac9cba259bfbf1461b4ed73002b00090803",
    "04030303020301000d0018001604030503060308040805080604010501060102030201002d000201",
    "01001c00024001001500920000000000000000000000000000000000000000000000000000000000",
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "00000000000000000000000000000000000000000000000000000000000000000000000000",
);
const NTOP_SH: &str = concat!(
    "160303004e0200004a0303af33c2eb5caa28d2e9e87e01e871dbddfcdcbd07b8908fd5d914bdce5e",
    "a8e24a00cca8000022ff0100010000000000000b0004030001020023000000100005000302683200",
    "170000",
);

/// A connection carrying one real ClientHello and ServerHello record.
fn real(ch: &str, sh: &str) -> Conn {
    let mut c = Conn::tcp();
    c.send(DIR_FWD, &unhex(ch), 1460);
    c.send(DIR_BWD, &unhex(sh), 1460);
    c
}

/// Values from the capture's rows of the shared truth table (tshark 4.0.17 for JA3,
/// JA3S, SNI; FoxIO's ja4 0.18.6 for JA4, JA4S).
#[test]
fn real_hellos_match_wireshark_and_foxio() {
    let c = real(CHROME_CH, GOOGLE_SH);
    for mode in [Mode::Streams, Mode::Fallback] {
        let out = run(&c, mode);
        assert_eq!(
            s(by_name(&out, "ja3_hash")),
            "1c258ebef8eee2dfa3df6d8d07285af9"
        );
        assert_eq!(
            s(by_name(&out, "ja3s_hash")),
            "eb1d94daa7e0344597e756a1fb6e7054"
        );
        assert_eq!(
            s(by_name(&out, "ja4")),
            "t13d1516h2_8daaf6152771_e5627efa2ab1"
        );
        assert_eq!(s(by_name(&out, "ja4s")), "t130200_1301_234ea6891581");
        assert_eq!(s(by_name(&out, "tls_sni")), "clientservices.googleapis.com");
        assert_eq!(i(by_name(&out, "tls_version")), 0x0304);
        assert_eq!(i(by_name(&out, "tls_cipher_suite")), 0x1301);
        assert_eq!(i(by_name(&out, "tls_cipher_count")), 16);
        assert_eq!(i(by_name(&out, "tls_extension_count")), 18);
        assert_eq!(s(by_name(&out, "tls_key_exchange_group_name")), "x25519");
        assert_eq!(i(by_name(&out, "tls_key_exchange_length")), 256);
        assert_eq!(anomalies(&c, mode), 0);
    }
    let c = real(FIREFOX_CH, NTOP_SH);
    let out = run(&c, Mode::Streams);
    assert_eq!(
        s(by_name(&out, "ja3_hash")),
        "b20b44b18b853ef29ab773e921b03422"
    );
    assert_eq!(
        s(by_name(&out, "ja3s_hash")),
        "3653a20186a5b490426131a611e01992"
    );
    assert_eq!(
        s(by_name(&out, "ja4")),
        "t13d1814h2_29a2cd9e9f10_d267a5f792d4"
    );
    assert_eq!(s(by_name(&out, "ja4s")), "t1206h2_cca8_17136cd5846b");
    assert_eq!(s(by_name(&out, "tls_sni")), "www.ntop.org");
    assert_eq!(s(by_name(&out, "tls_alpn")), "h2");
    assert_eq!(s(by_name(&out, "tls_version_str")), "TLS 1.2");
    assert_eq!(i(by_name(&out, "tls_cipher_suite")), 0xcca8);
    assert_eq!(i(by_name(&out, "tls_extension_count")), 14);
    // No ServerKeyExchange in these bytes: the TLS 1.2 key exchange is unknown.
    assert_eq!(i(by_name(&out, "tls_key_exchange_group")), 0);
    assert_eq!(anomalies(&c, Mode::Streams), 0);
}

/// The same hellos under `compat=joyfuljay` give JoyfulJay's values for these flows
/// (its golden output, default configuration: 256-byte payload cap), except
/// `tls_handshake_packets`, which counts the whole flow there.
#[test]
fn compat_matches_joyfuljay_on_real_hellos() {
    let out = run(&real(CHROME_CH, GOOGLE_SH), Mode::Compat);
    assert!(b(by_name(&out, "tls_detected")));
    assert_eq!(i(by_name(&out, "tls_version")), 771);
    assert_eq!(s(by_name(&out, "tls_version_str")), "TLS 1.2");
    assert_eq!(i(by_name(&out, "tls_cipher_suite")), 4865);
    assert_eq!(i(by_name(&out, "tls_cipher_count")), 16);
    assert_eq!(i(by_name(&out, "tls_extension_count")), 11);
    assert_eq!(s(by_name(&out, "tls_sni")), "");
    assert_eq!(s(by_name(&out, "tls_alpn")), "h2");
    assert_eq!(
        s(by_name(&out, "ja3_hash")),
        "d5249e2d8c73fd2f77ca833fdede56d9"
    );
    assert_eq!(
        s(by_name(&out, "ja3s_hash")),
        "eb1d94daa7e0344597e756a1fb6e7054"
    );
    assert_eq!(i(by_name(&out, "tls_handshake_packets")), 2);
    assert_eq!(i(by_name(&out, "tls_cert_count")), 0);
    assert_eq!(i(by_name(&out, "tls_session_id_len")), 32);
    assert!(b(by_name(&out, "tls_session_ticket_ext")));
    assert!(b(by_name(&out, "tls_session_resumed")));
    assert!(!b(by_name(&out, "tls_psk_ext")));
    assert!(!b(by_name(&out, "tls_early_data_ext")));
    assert_eq!(i(by_name(&out, "tls_key_exchange_group")), 2570);
    assert_eq!(
        s(by_name(&out, "tls_key_exchange_group_name")),
        "unknown(0x0a0a)"
    );
    assert_eq!(i(by_name(&out, "tls_key_exchange_length")), 8);
    assert_eq!(s(by_name(&out, "ja4")), "");
    assert_eq!(s(by_name(&out, "ja4s")), "");

    let out = run(&real(FIREFOX_CH, NTOP_SH), Mode::Compat);
    assert_eq!(i(by_name(&out, "tls_cipher_suite")), 52392);
    assert_eq!(i(by_name(&out, "tls_cipher_count")), 18);
    assert_eq!(i(by_name(&out, "tls_extension_count")), 9);
    assert_eq!(s(by_name(&out, "tls_sni")), "www.ntop.org");
    assert_eq!(
        s(by_name(&out, "ja3_hash")),
        "7cf17b4bd47e230036efc7f3b1fc73c4"
    );
    assert_eq!(
        s(by_name(&out, "ja3s_hash")),
        "3653a20186a5b490426131a611e01992"
    );
    assert_eq!(i(by_name(&out, "tls_key_exchange_group")), 29);
    assert_eq!(s(by_name(&out, "tls_key_exchange_group_name")), "x25519");
    assert_eq!(i(by_name(&out, "tls_key_exchange_length")), 256);
}

#[test]
fn compat_rules_on_hand_built_handshakes() {
    // The whole hand-built ClientHello fits in 256 bytes: JoyfulJay's mask also drops
    // 0x0A1A; cipher and extension counts include GREASE.
    let msg = record(22, &client_hello().msg());
    assert!(msg.len() <= 256, "{}", msg.len());
    let mut c = Conn::tcp();
    c.send(DIR_FWD, &msg, 1460);
    // ServerHello and Certificate in one record: the record-blind walk finds the
    // certificate (counted with its declared length although cut at 256 bytes).
    let sh = server_hello_12();
    let mut f = sh.msg();
    f.extend(certificate(&[1200, 1000]));
    c.send(DIR_BWD, &record(22, &f), 1460);
    let out = run(&c, Mode::Compat);
    // md5("771,4865-4866-49195-49199-156,0-23-65281-10-11-35-16-5-13-18-51-45-43-27,29-23-24,0")
    assert_eq!(
        s(by_name(&out, "ja3_hash")),
        "27021a5b1ed9505d788d0d1bf1e084c7"
    );
    assert_eq!(i(by_name(&out, "tls_cipher_count")), 7);
    assert_eq!(i(by_name(&out, "tls_extension_count")), 17);
    assert_eq!(s(by_name(&out, "ja3s_hash")), JA3S_12);
    assert_eq!(i(by_name(&out, "tls_cert_count")), 1);
    assert_eq!(i(by_name(&out, "tls_cert_first_length")), 1200);
    assert!(!b(by_name(&out, "tls_session_resumed")));
    // Client's first ALPN offer and first key share (GREASE) without a ServerKeyExchange.
    assert_eq!(s(by_name(&out, "tls_alpn")), "h2");
    assert_eq!(i(by_name(&out, "tls_key_exchange_group")), 0x5a5a);
    assert_eq!(
        s(by_name(&out, "tls_key_exchange_group_name")),
        "unknown(0x5a5a)"
    );
    assert_eq!(i(by_name(&out, "tls_key_exchange_length")), 8);
    assert_eq!(i(by_name(&out, "tls_handshake_packets")), 2);

    // Certificate in a second record of the same segment: the walk runs into the record
    // header and misses it; a ServerKeyExchange at the start of a later segment is found.
    let mut c = Conn::tcp();
    c.send(DIR_FWD, &msg, 1460);
    let mut f = record(22, &sh.msg());
    f.extend(record(22, &certificate(&[300])));
    c.send(DIR_BWD, &f, 1460);
    let mut f = record(22, &ske_ecdhe(0x0017, 65));
    f.extend(record(22, &hello_done()));
    c.send(DIR_BWD, &f, 1460);
    let out = run(&c, Mode::Compat);
    assert_eq!(i(by_name(&out, "tls_cert_count")), 0);
    assert!(b(by_name(&out, "tls_session_resumed")));
    assert_eq!(i(by_name(&out, "tls_key_exchange_group")), 23);
    assert_eq!(s(by_name(&out, "tls_key_exchange_group_name")), "secp256r1");
    assert_eq!(i(by_name(&out, "tls_key_exchange_length")), 520);
    assert_eq!(i(by_name(&out, "tls_handshake_packets")), 3);
    // Default mode reads both.
    let out = run(&c, Mode::Streams);
    assert_eq!(i(by_name(&out, "tls_cert_count")), 1);
    assert_eq!(i(by_name(&out, "tls_key_exchange_length")), 520);
    assert!(!b(by_name(&out, "tls_session_resumed")));

    // A payload that merely starts with 0x16 counts as a handshake packet in compat.
    let mut c = Conn::tcp();
    c.send(DIR_FWD, &[0x16, 0, 1, 2], 1460);
    let out = run(&c, Mode::Compat);
    assert_eq!(i(by_name(&out, "tls_handshake_packets")), 1);
    assert!(!b(by_name(&out, "tls_detected")));
    assert_eq!(
        i(by_name(&run(&c, Mode::Streams), "tls_handshake_packets")),
        0
    );
}

// ---- describe / options ----------------------------------------------------------------

/// `(name, dtype, units)` of JoyfulJay's 23 `tls` features in its column order (the
/// feature table), then jj's two.
const EXPECTED: [(&str, &str, &str); 25] = [
    ("tls_detected", "bool", ""),
    ("tls_version", "int64", ""),
    ("tls_version_str", "string", ""),
    ("tls_cipher_suite", "int64", ""),
    ("tls_cipher_count", "int64", "count"),
    ("tls_extension_count", "int64", "count"),
    ("tls_sni", "string", ""),
    ("tls_alpn", "string", ""),
    ("ja3_hash", "string", ""),
    ("ja3s_hash", "string", ""),
    ("tls_handshake_packets", "int64", "count"),
    ("tls_cert_count", "int64", "count"),
    ("tls_cert_total_length", "int64", "bytes"),
    ("tls_cert_first_length", "int64", "bytes"),
    ("tls_cert_chain_length", "int64", "count"),
    ("tls_session_id_len", "int64", "bytes"),
    ("tls_session_ticket_ext", "bool", ""),
    ("tls_session_resumed", "bool", ""),
    ("tls_psk_ext", "bool", ""),
    ("tls_early_data_ext", "bool", ""),
    ("tls_key_exchange_group", "int64", ""),
    ("tls_key_exchange_group_name", "string", ""),
    ("tls_key_exchange_length", "int64", "bits"),
    ("ja4", "string", ""),
    ("ja4s", "string", ""),
];

#[test]
fn describe_matches_the_feature_table() {
    let info = TlsFactory.describe(&Options::new()).unwrap();
    assert_eq!(info.group.as_str(), "tls");
    assert_eq!(info.features.len(), slot::COUNT);
    for (m, (name, dtype, units)) in info.features.iter().zip(EXPECTED) {
        assert_eq!(m.name.as_str(), name);
        assert_eq!(m.id.as_str(), format!("tls.{name}"));
        assert_eq!(m.dtype.as_str(), dtype, "{name}");
        assert_eq!(m.units.as_str(), units, "{name}");
        let missing = if dtype == "string" { "empty" } else { "zero" };
        assert_eq!(m.missing_policy.as_str(), missing, "{name}");
        assert_eq!(m.profile.as_str(), "JJ-CORE", "{name}");
        assert_eq!(m.shape.as_slice(), &[1], "{name}");
        assert_eq!(m.dependencies.len(), 2, "{name}");
        let privacy = if name == "tls_sni" {
            "sensitive"
        } else {
            "safe"
        };
        assert_eq!(m.privacy_level.as_str(), privacy, "{name}");
        assert!(!m.description.is_empty() && !m.direction_semantics.is_empty());
    }
    assert_eq!(FEATURES[slot::JA3S].name, "ja3s_hash");
    assert_eq!(FEATURES[slot::KX_LENGTH].name, "tls_key_exchange_length");
    assert_eq!(FEATURES[slot::JA4S].name, "ja4s");
    // Same features in compat mode (JA4/JA4S stay empty there).
    let compat = TlsFactory
        .describe(&Options::parse("compat=joyfuljay\n"))
        .unwrap();
    assert_eq!(compat.features, info.features);
}

#[test]
fn requirements_per_mode() {
    // Default: the host's reassembled streams only, no per-packet payload.
    let r = TlsFactory.describe(&Options::new()).unwrap().requirements;
    assert_eq!(r.stream_bytes_per_direction, 65536);
    assert_eq!(r.payload_bytes_per_packet, 0);
    assert_eq!(r.payload_bytes_per_direction, 0);
    assert_eq!(r.needs_all_flows, 0);
    let r = TlsFactory
        .describe(&Options::parse(
            "tls_payload_fallback=true
",
        ))
        .unwrap()
        .requirements;
    assert_eq!(r.payload_bytes_per_packet, 16384);
    assert_eq!(r.payload_bytes_per_direction, 65536);
    let r = TlsFactory
        .describe(&Options::parse(
            "tls_stream_bytes=4096\ntls_payload_fallback=false\n",
        ))
        .unwrap()
        .requirements;
    assert_eq!(
        (
            r.stream_bytes_per_direction,
            r.payload_bytes_per_packet,
            r.payload_bytes_per_direction
        ),
        (4096, 0, 0)
    );
    let r = TlsFactory
        .describe(&Options::parse(
            "tls_stream_bytes=1000\ntls_payload_fallback=true\n",
        ))
        .unwrap()
        .requirements;
    assert_eq!(
        (r.payload_bytes_per_packet, r.payload_bytes_per_direction),
        (1000, 1000)
    );
    let r = TlsFactory
        .describe(&Options::parse("compat=joyfuljay\n"))
        .unwrap()
        .requirements;
    assert_eq!(r.payload_bytes_per_packet, 256);
    assert_eq!(r.payload_bytes_per_direction, u32::MAX);
    assert_eq!(r.stream_bytes_per_direction, 0);
    let err = TlsFactory
        .describe(&Options::parse("tls_stream_bytes=99999999999\n"))
        .unwrap_err();
    assert_eq!(err.kind, jj_plugin_api::ErrorKind::Config);
}

#[test]
fn stream_bytes_option_bounds_the_stream() {
    // 600 bytes of each direction: the whole ClientHello, the ServerHello, and the
    // Certificate message's start (the leaf's length header, not the second one).
    let c = tls12_conn(1460, 1 << 14);
    let st = c.stored(16384, true);
    let mut t = Tls::new(Config {
        stream_bytes: 600,
        ..Config::default()
    });
    let mut out = vec![Value::Null; slot::COUNT];
    t.extract(&st.view(), &mut out).unwrap();
    assert_eq!(s(&out[slot::JA3]), JA3);
    assert_eq!(s(&out[slot::JA3S]), JA3S_12);
    assert_eq!(i(&out[slot::CERT_COUNT]), 1);
    assert_eq!(i(&out[slot::CERT_TOTAL_LENGTH]), 1200);
    assert_eq!(i(&out[slot::KX_GROUP]), 0);
    let flow = st.view();
    let (sum, _) = t.summarize(&flow);
    assert_ne!(sum.anomalies & anomaly::MSG_TRUNCATED, 0);
}

#[test]
fn slots_are_overwritten_and_buffers_reused() {
    let full = tls12_conn(1460, 1 << 14);
    let mut t = Tls::new(Config::default());
    let mut out = vec![Value::Null; slot::COUNT];
    let st = full.stored(16384, true);
    t.extract(&st.view(), &mut out).unwrap();
    check_tls12(&out);
    let caps = (t.scan[1].hs.capacity(), t.texts.ja4.capacity());
    let st_empty = Conn::tcp().stored(16384, true);
    t.extract(&st_empty.view(), &mut out).unwrap();
    assert_eq!(out, run(&Conn::tcp(), Mode::Streams));
    t.extract(&st.view(), &mut out).unwrap();
    check_tls12(&out);
    assert_eq!((t.scan[1].hs.capacity(), t.texts.ja4.capacity()), caps);
    let mut short = vec![Value::Null; 3];
    assert!(t.extract(&st.view(), &mut short).is_err());
}

#[test]
fn exported_root_module_lists_the_extractor() {
    let root = crate::jj_plugin_root_module();
    let decls = root.extractors()();
    assert_eq!(decls.len(), 1);
    assert_eq!(decls[0].info.name.as_str(), "tls");
    let lib = root.library()();
    assert_eq!(lib.name.as_str(), "jj-tls");
    assert_eq!(lib.api_version.as_str(), jj_plugin_api::API_VERSION);

    use jj_plugin_api::abi_stable::std_types::{RSliceMut, RStr};
    let factory = &decls[0].factory;
    let info = factory.describe(RStr::from("")).unwrap();
    assert_eq!(info.features.len(), slot::COUNT);
    let mut inst = factory.create(RStr::from("")).unwrap();
    let c = tls12_conn(1460, 1 << 14);
    let st = c.stored(16384, true);
    let mut out = vec![Value::Null; slot::COUNT];
    inst.extract(&st.view(), RSliceMut::from_mut_slice(&mut out))
        .unwrap();
    check_tls12(&out);
}

/// Every option the component reads is declared (so a `[plugins.*]` key the host rejects
/// is one it never reads), and every declared one is read.
#[test]
fn declares_exactly_the_options_it_reads() {
    let o = Options::new();
    TlsFactory.describe(&o).unwrap();
    TlsFactory.create(&o).unwrap();
    jj_plugin_api::options::check_declared(OPTIONS, &o).unwrap();
}
