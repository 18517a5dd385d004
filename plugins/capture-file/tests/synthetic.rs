//! Reader tests on capture files built in memory (both byte orders, every format).

use std::io::{self, Cursor, Read};
use std::time::{Duration, Instant};

use jj_capture_file::{
    open_path, CaptureReader, Endian, Format, FrameMeta, ReadError, ReadErrorKind,
};

// ---------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum E {
    L,
    B,
}

impl E {
    fn endian(self) -> Endian {
        match self {
            E::L => Endian::Little,
            E::B => Endian::Big,
        }
    }
}

fn p16(v: &mut Vec<u8>, e: E, x: u16) {
    v.extend_from_slice(&match e {
        E::L => x.to_le_bytes(),
        E::B => x.to_be_bytes(),
    });
}

fn p32(v: &mut Vec<u8>, e: E, x: u32) {
    v.extend_from_slice(&match e {
        E::L => x.to_le_bytes(),
        E::B => x.to_be_bytes(),
    });
}

fn p64(v: &mut Vec<u8>, e: E, x: u64) {
    v.extend_from_slice(&match e {
        E::L => x.to_le_bytes(),
        E::B => x.to_be_bytes(),
    });
}

/// A capture being built, remembering where records/blocks end.
#[derive(Default, Clone)]
struct Cap {
    buf: Vec<u8>,
    /// End offset of each packet record/block.
    packet_ends: Vec<usize>,
    /// End offsets at which the file may cleanly stop (record/block boundaries).
    boundaries: Vec<usize>,
    /// Length of the file header (pcap) / first SHB (pcapng).
    header_len: usize,
}

impl Cap {
    fn mark_header(&mut self) {
        self.header_len = self.buf.len();
        self.boundaries.push(self.buf.len());
    }
    fn mark_block(&mut self) {
        self.boundaries.push(self.buf.len());
    }
    fn mark_packet(&mut self) {
        self.packet_ends.push(self.buf.len());
        self.boundaries.push(self.buf.len());
    }
}

const MAGIC_US: u32 = 0xa1b2c3d4;
const MAGIC_NS: u32 = 0xa1b23c4d;
const MAGIC_MOD: u32 = 0xa1b2cd34;

fn pcap_header(e: E, magic: u32, snaplen: u32, network: u32) -> Cap {
    let mut c = Cap::default();
    p32(&mut c.buf, e, magic);
    p16(&mut c.buf, e, 2);
    p16(&mut c.buf, e, 4);
    p32(&mut c.buf, e, 0);
    p32(&mut c.buf, e, 0);
    p32(&mut c.buf, e, snaplen);
    p32(&mut c.buf, e, network);
    c.mark_header();
    c
}

fn pcap_record(c: &mut Cap, e: E, modified: bool, sec: u32, frac: u32, data: &[u8], wire: u32) {
    pcap_record_raw(c, e, modified, sec, frac, data.len() as u32, wire, data);
}

#[allow(clippy::too_many_arguments)]
fn pcap_record_raw(
    c: &mut Cap,
    e: E,
    modified: bool,
    sec: u32,
    frac: u32,
    caplen: u32,
    wire: u32,
    data: &[u8],
) {
    p32(&mut c.buf, e, sec);
    p32(&mut c.buf, e, frac);
    p32(&mut c.buf, e, caplen);
    p32(&mut c.buf, e, wire);
    if modified {
        p32(&mut c.buf, e, 7); // ifindex
        p16(&mut c.buf, e, 0x0800); // protocol
        c.buf.push(4); // pkt_type
        c.buf.push(0); // pad
    }
    c.buf.extend_from_slice(data);
    c.mark_packet();
}

fn pkt(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| seed.wrapping_add((i as u8).wrapping_mul(7)))
        .collect()
}

/// One pcapng block: type, total length, body (padded), total length.
fn block(c: &mut Cap, e: E, btype: u32, body: &[u8]) {
    let padded = (body.len() + 3) & !3;
    let total = (12 + padded) as u32;
    p32(&mut c.buf, e, btype);
    p32(&mut c.buf, e, total);
    c.buf.extend_from_slice(body);
    c.buf.resize(c.buf.len() + padded - body.len(), 0);
    p32(&mut c.buf, e, total);
}

/// Encodes an options list (with opt_endofopt).
fn opts(e: E, list: &[(u16, &[u8])]) -> Vec<u8> {
    let mut v = Vec::new();
    for (code, val) in list {
        p16(&mut v, e, *code);
        p16(&mut v, e, val.len() as u16);
        v.extend_from_slice(val);
        v.resize((v.len() + 3) & !3, 0);
    }
    if !list.is_empty() {
        p32(&mut v, e, 0);
    }
    v
}

fn shb(c: &mut Cap, e: E, with_opts: bool) {
    let mut b = Vec::new();
    p32(&mut b, e, 0x1A2B3C4D);
    p16(&mut b, e, 1);
    p16(&mut b, e, 0);
    p64(&mut b, e, u64::MAX); // section length unknown
    if with_opts {
        b.extend(opts(e, &[(3, b"test-os"), (4, b"jj tests")]));
    }
    block(c, e, 0x0A0D0D0A, &b);
    if c.header_len == 0 {
        c.mark_header();
    } else {
        c.mark_block();
    }
}

fn idb(c: &mut Cap, e: E, linktype: u16, snaplen: u32, options: &[(u16, &[u8])]) {
    let mut b = Vec::new();
    p16(&mut b, e, linktype);
    p16(&mut b, e, 0);
    p32(&mut b, e, snaplen);
    b.extend(opts(e, options));
    block(c, e, 1, &b);
    c.mark_block();
}

fn epb(c: &mut Cap, e: E, iface: u32, ts: u64, data: &[u8], wire: u32, with_opts: bool) {
    let mut b = Vec::new();
    p32(&mut b, e, iface);
    p32(&mut b, e, (ts >> 32) as u32);
    p32(&mut b, e, ts as u32);
    p32(&mut b, e, data.len() as u32);
    p32(&mut b, e, wire);
    b.extend_from_slice(data);
    b.resize((b.len() + 3) & !3, 0);
    if with_opts {
        b.extend(opts(e, &[(1, b"a comment"), (2, &[0, 0, 0, 1])]));
    }
    block(c, e, 6, &b);
    c.mark_packet();
}

fn opb(c: &mut Cap, e: E, iface: u16, ts: u64, data: &[u8], wire: u32) {
    let mut b = Vec::new();
    p16(&mut b, e, iface);
    p16(&mut b, e, 0); // drops
    p32(&mut b, e, (ts >> 32) as u32);
    p32(&mut b, e, ts as u32);
    p32(&mut b, e, data.len() as u32);
    p32(&mut b, e, wire);
    b.extend_from_slice(data);
    block(c, e, 2, &b);
    c.mark_packet();
}

fn spb(c: &mut Cap, e: E, wire: u32, data: &[u8]) {
    let mut b = Vec::new();
    p32(&mut b, e, wire);
    b.extend_from_slice(data);
    block(c, e, 3, &b);
    c.mark_packet();
}

fn other_block(c: &mut Cap, e: E, btype: u32, body: &[u8]) {
    block(c, e, btype, body);
    c.mark_block();
}

// ---------------------------------------------------------------------------
// Reading helpers
// ---------------------------------------------------------------------------

struct All {
    metas: Vec<FrameMeta>,
    data: Vec<u8>,
    error: Option<ReadError>,
    calls: usize,
}

impl All {
    fn frame(&self, i: usize) -> &[u8] {
        let start: usize = self.metas[..i].iter().map(|m| m.caplen as usize).sum();
        &self.data[start..start + self.metas[i].caplen as usize]
    }
}

/// Reads everything with the given batch size; checks the after-error /
/// after-EOF contract on the way.
fn read_all_from<R: Read>(r: &mut CaptureReader<R>, batch: usize, max_bytes: usize) -> All {
    let mut all = All {
        metas: Vec::new(),
        data: Vec::new(),
        error: None,
        calls: 0,
    };
    loop {
        all.calls += 1;
        assert!(all.calls < 1_000_000, "read_batch does not make progress");
        let before_m = all.metas.len();
        let before_d = all.data.len();
        match r.read_batch(&mut all.metas, &mut all.data, batch, max_bytes) {
            Ok(0) => {
                assert_eq!(all.metas.len(), before_m);
                assert_eq!(all.data.len(), before_d);
                break;
            }
            Ok(n) => {
                assert_eq!(all.metas.len(), before_m + n);
                assert!(n <= batch.max(1));
                let added: usize = all.metas[before_m..]
                    .iter()
                    .map(|m| m.caplen as usize)
                    .sum();
                assert_eq!(all.data.len(), before_d + added);
            }
            Err(e) => {
                assert_eq!(all.metas.len(), before_m, "error call appended frames");
                assert_eq!(all.data.len(), before_d, "error call appended data");
                all.error = Some(e);
                break;
            }
        }
    }
    // Every further call is a clean Ok(0).
    for _ in 0..3 {
        assert_eq!(
            r.read_batch(&mut all.metas, &mut all.data, batch, max_bytes),
            Ok(0)
        );
    }
    all
}

/// Reads everything with `read_batch_in_place` (frames copied out in order, so the
/// result compares with `read_all_from`'s); checks the same contract. With `append`,
/// `data` is never cleared: every call appends after what earlier calls left.
fn read_all_in_place(bytes: &[u8], batch: usize, max_bytes: usize, append: bool) -> All {
    let mut r = CaptureReader::new(Cursor::new(bytes)).expect("header parsed once already");
    let mut all = All {
        metas: Vec::new(),
        data: Vec::new(),
        error: None,
        calls: 0,
    };
    let (mut metas, mut offsets, mut data) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        all.calls += 1;
        assert!(
            all.calls < 1_000_000,
            "read_batch_in_place does not make progress"
        );
        metas.clear();
        offsets.clear();
        if !append {
            data.clear();
        }
        let before = data.len();
        match r.read_batch_in_place(&mut metas, &mut offsets, &mut data, batch, max_bytes) {
            Ok(0) => {
                assert!(metas.is_empty() && offsets.is_empty());
                break;
            }
            Ok(n) => {
                assert_eq!((metas.len(), offsets.len()), (n, n));
                assert!(n <= batch.max(1));
                for (m, &off) in metas.iter().zip(&offsets) {
                    let (a, b) = (off as usize, off as usize + m.caplen as usize);
                    assert!(a >= before, "a frame points before this call's bytes");
                    all.data.extend_from_slice(&data[a..b]);
                }
                all.metas.extend_from_slice(&metas);
            }
            Err(e) => {
                assert!(
                    metas.is_empty() && offsets.is_empty(),
                    "error call appended frames"
                );
                all.error = Some(e);
                break;
            }
        }
    }
    for _ in 0..3 {
        assert_eq!(
            r.read_batch_in_place(&mut metas, &mut offsets, &mut data, batch, max_bytes),
            Ok(0)
        );
    }
    all
}

/// Both reading methods give the same frames, bytes and error.
fn check_in_place_agrees(bytes: &[u8], batch: usize, max_bytes: usize, all: &All) {
    for append in [false, true] {
        let other = read_all_in_place(bytes, batch, max_bytes, append);
        assert_eq!(other.metas, all.metas, "in place (append {append}): frames");
        assert!(
            other.data == all.data,
            "in place (append {append}): frame bytes"
        );
        assert_eq!(other.error, all.error, "in place (append {append}): error");
    }
}

fn read_all(bytes: &[u8], batch: usize) -> Result<All, ReadError> {
    let mut r = CaptureReader::new(Cursor::new(bytes))?;
    let all = read_all_from(&mut r, batch, usize::MAX);
    check_in_place_agrees(bytes, batch, usize::MAX, &all);
    Ok(all)
}

fn read_ok(bytes: &[u8]) -> (CaptureReader<Cursor<&[u8]>>, All) {
    let mut r = CaptureReader::new(Cursor::new(bytes)).expect("header");
    let all = read_all_from(&mut r, 1000, usize::MAX);
    check_in_place_agrees(bytes, 1000, usize::MAX, &all);
    check_in_place_agrees(bytes, 1, 1, &all);
    if let Some(e) = &all.error {
        panic!("unexpected error: {e}");
    }
    (r, all)
}

fn expect_err(bytes: &[u8], kind: ReadErrorKind) -> (usize, ReadError) {
    let all = read_all(bytes, 1000).expect("header should parse");
    let e = all.error.expect("expected an error");
    assert_eq!(e.kind, kind, "{e}");
    (all.metas.len(), e)
}

// ---------------------------------------------------------------------------
// Classic pcap
// ---------------------------------------------------------------------------

fn classic(e: E, magic: u32) -> Cap {
    let modified = magic == MAGIC_MOD;
    let mut c = pcap_header(e, magic, 65535, 1);
    pcap_record(&mut c, e, modified, 1_700_000_000, 123_456, &pkt(60, 1), 60);
    pcap_record(
        &mut c,
        e,
        modified,
        1_700_000_001,
        999_999,
        &pkt(1, 2),
        1514,
    );
    pcap_record(&mut c, e, modified, 1_700_000_002, 0, &[], 0);
    pcap_record(&mut c, e, modified, 0, 5, &pkt(1514, 3), 1514);
    c
}

#[test]
fn pcap_all_variants_both_orders() {
    for e in [E::L, E::B] {
        for (magic, format, frac_ns) in [
            (MAGIC_US, Format::PcapMicro, 1000i64),
            (MAGIC_NS, Format::PcapNano, 1),
            (MAGIC_MOD, Format::PcapModified, 1000),
        ] {
            let c = classic(e, magic);
            let (r, all) = read_ok(&c.buf);
            assert_eq!(r.format(), format);
            assert_eq!(r.endian(), e.endian());
            assert_eq!(r.offset(), c.buf.len() as u64);
            assert_eq!(r.sections(), 1);
            let ifs = r.interfaces();
            assert_eq!(ifs.len(), 1);
            assert_eq!(ifs[0].linktype, 1);
            assert_eq!(ifs[0].snaplen, 65535);
            assert_eq!(ifs[0].tsresol, if frac_ns == 1 { 9 } else { 6 });
            assert_eq!(all.metas.len(), 4);
            let m = &all.metas;
            assert_eq!(
                m[0],
                FrameMeta {
                    ts_ns: 1_700_000_000 * 1_000_000_000 + 123_456 * frac_ns,
                    caplen: 60,
                    wire_len: 60,
                    linktype: 1,
                    iface: 0
                }
            );
            assert_eq!(
                m[1].ts_ns,
                1_700_000_001 * 1_000_000_000 + 999_999 * frac_ns
            );
            assert_eq!((m[1].caplen, m[1].wire_len), (1, 1514));
            assert_eq!((m[2].caplen, m[2].wire_len), (0, 0));
            assert_eq!(m[3].ts_ns, 5 * frac_ns);
            assert_eq!(all.frame(0), &pkt(60, 1)[..]);
            assert_eq!(all.frame(1), &pkt(1, 2)[..]);
            assert_eq!(all.frame(3), &pkt(1514, 3)[..]);
            assert_eq!(r.anomalies(), Default::default());
        }
    }
}

#[test]
fn pcap_linktype_upper_bits_ignored() {
    // FCS-length-present flag + 4 bits of FCS length in the upper bits.
    let mut c = pcap_header(E::L, MAGIC_US, 65535, 0x1400_0000 | 105);
    pcap_record(&mut c, E::L, false, 1, 2, &pkt(10, 0), 10);
    let (r, all) = read_ok(&c.buf);
    assert_eq!(r.interfaces()[0].linktype, 105);
    assert_eq!(all.metas[0].linktype, 105);
}

#[test]
fn pcap_old_versions_have_swapped_lengths() {
    for (minor, caplen_first) in [(0u16, false), (2, false), (4, true)] {
        let mut c = pcap_header(E::L, MAGIC_US, 65535, 1);
        c.buf[6..8].copy_from_slice(&minor.to_le_bytes());
        // field order on disk: (caplen, len) for 2.4, (len, caplen) before 2.3
        let (f1, f2) = if caplen_first { (20, 100) } else { (100, 20) };
        pcap_record_raw(&mut c, E::L, false, 1, 0, f1, f2, &pkt(20, 0));
        let (_, all) = read_ok(&c.buf);
        assert_eq!((all.metas[0].caplen, all.metas[0].wire_len), (20, 100));
    }
    // 2.3: either order, swapped when caplen > len.
    let mut c = pcap_header(E::B, MAGIC_US, 65535, 1);
    c.buf[6..8].copy_from_slice(&3u16.to_be_bytes());
    pcap_record_raw(&mut c, E::B, false, 1, 0, 20, 100, &pkt(20, 0));
    pcap_record_raw(&mut c, E::B, false, 1, 0, 100, 20, &pkt(20, 0));
    let (_, all) = read_ok(&c.buf);
    assert_eq!((all.metas[0].caplen, all.metas[0].wire_len), (20, 100));
    assert_eq!((all.metas[1].caplen, all.metas[1].wire_len), (20, 100));
}

#[test]
fn pcap_unsupported_version() {
    let mut c = pcap_header(E::L, MAGIC_US, 65535, 1);
    c.buf[4..6].copy_from_slice(&1u16.to_le_bytes());
    let e = CaptureReader::new(Cursor::new(&c.buf)).unwrap_err();
    assert_eq!(e.kind, ReadErrorKind::Unsupported);
    assert!(e.detail.contains("version 1.4"), "{e}");
}

#[test]
fn pcap_lenient_lengths_and_anomalies() {
    let mut c = pcap_header(E::L, MAGIC_US, 100, 1);
    // caplen > snaplen, but within libpcap's 262144: accepted.
    pcap_record(&mut c, E::L, false, 1, 0, &pkt(200, 0), 200);
    // caplen > wire_len: accepted, wire_len raised.
    pcap_record(&mut c, E::L, false, 1, 0, &pkt(50, 0), 40);
    // sub-second field out of range: accepted (normalised by arithmetic).
    pcap_record(&mut c, E::L, false, 1, 1_500_000, &pkt(5, 0), 5);
    // exactly at the 262144 limit: accepted.
    pcap_record(&mut c, E::L, false, 1, 0, &pkt(262_144, 0), 262_144);
    let (r, all) = read_ok(&c.buf);
    assert_eq!(all.metas.len(), 4);
    assert_eq!((all.metas[1].caplen, all.metas[1].wire_len), (50, 50));
    assert_eq!(all.metas[2].ts_ns, 2_500_000_000);
    let a = r.anomalies();
    assert_eq!(a.header_lies, 1);
    assert_eq!(a.over_snaplen, 2);
    assert_eq!(a.bad_ts_fraction, 1);
}

#[test]
fn pcap_huge_snaplen_raises_the_limit() {
    let mut c = pcap_header(E::B, MAGIC_NS, 1 << 20, 1);
    pcap_record(&mut c, E::B, false, 1, 0, &pkt(300_000, 9), 300_000);
    let (_, all) = read_ok(&c.buf);
    assert_eq!(all.metas[0].caplen, 300_000);
    assert_eq!(all.frame(0), &pkt(300_000, 9)[..]);
}

#[test]
fn pcap_record_claiming_16mb() {
    for e in [E::L, E::B] {
        let mut c = pcap_header(e, MAGIC_US, 65535, 1);
        pcap_record(&mut c, e, false, 1, 0, &pkt(100, 0), 100);
        let bad_off = c.buf.len();
        pcap_record_raw(&mut c, e, false, 1, 0, 16_711_424, 16_711_424, &pkt(64, 0));
        let mut r = CaptureReader::new(Cursor::new(&c.buf)).unwrap();
        let (mut m, mut d) = (Vec::new(), Vec::new());
        // The good frame comes first, the error from the next call.
        assert_eq!(r.read_batch(&mut m, &mut d, 100, usize::MAX), Ok(1));
        let err = r.read_batch(&mut m, &mut d, 100, usize::MAX).unwrap_err();
        assert_eq!(err.kind, ReadErrorKind::Corrupt);
        assert_eq!(err.offset, bad_off as u64);
        assert_eq!(
            err.detail,
            "record claims 16711424-byte packet, more than the maximum of 262144 (corrupt file?)"
        );
        assert_eq!(
            err.to_string(),
            format!("at byte offset {bad_off}: {}", err.detail)
        );
        assert_eq!(r.read_batch(&mut m, &mut d, 100, usize::MAX), Ok(0));
        assert_eq!((m.len(), d.len()), (1, 100));
    }
}

#[test]
fn pcap_record_over_256mib_rejected_even_with_huge_snaplen() {
    let mut c = pcap_header(E::L, MAGIC_US, u32::MAX, 1);
    pcap_record_raw(&mut c, E::L, false, 1, 0, (256 << 20) + 1, u32::MAX, &[]);
    let (n, e) = expect_err(&c.buf, ReadErrorKind::Corrupt);
    assert_eq!(n, 0);
    assert!(
        e.detail.contains("more than the maximum of 268435456"),
        "{e}"
    );
}

#[test]
fn pcap_truncated_messages() {
    let mut c = pcap_header(E::L, MAGIC_US, 65535, 1);
    pcap_record(&mut c, E::L, false, 1, 0, &pkt(100, 0), 100);
    let full = c.buf.clone();
    // cut inside the data of the only record
    let (n, e) = expect_err(&full[..24 + 16 + 30], ReadErrorKind::Truncated);
    assert_eq!(n, 0);
    assert_eq!(e.offset, 24);
    assert_eq!(
        e.detail,
        "file ends in the middle of a packet record (46 of 116 bytes)"
    );
    // cut inside the record header
    let (_, e) = expect_err(&full[..24 + 5], ReadErrorKind::Truncated);
    assert_eq!(
        e.detail,
        "file ends in the middle of a packet record (5 of 16 bytes)"
    );
    // modified format: 24-byte record headers
    let mut c = pcap_header(E::B, MAGIC_MOD, 65535, 1);
    pcap_record(&mut c, E::B, true, 1, 0, &pkt(10, 0), 10);
    let (_, e) = expect_err(&c.buf[..24 + 20], ReadErrorKind::Truncated);
    assert_eq!(
        e.detail,
        "file ends in the middle of a packet record (20 of 24 bytes)"
    );
}

// ---------------------------------------------------------------------------
// Not a capture
// ---------------------------------------------------------------------------

#[test]
fn not_a_capture() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "(the file is empty)"),
        (b"\xd4\xc3", "first bytes: d4 c3"),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\n",
            "first bytes: 47 45 54 20 2f 20 48 54 54 50 2f 31 2e 31 0d 0a",
        ),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "gzip"),
        // pcap magic but the file header is cut short
        (b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00", "file header"),
        // pcapng block type but no byte-order magic (e.g. a text file)
        (b"\n\r\r\nhello world!", "byte-order magic"),
        // pcapng cut inside the first SHB
        (
            b"\n\r\r\n\x1c\x00\x00\x00\x4d\x3c\x2b\x1a\x01\x00",
            "Section Header Block",
        ),
    ];
    for (bytes, needle) in cases {
        let e = CaptureReader::new(Cursor::new(bytes)).unwrap_err();
        assert_eq!(e.kind, ReadErrorKind::NotACapture, "{e}");
        assert_eq!(e.offset, 0);
        assert!(
            e.detail.starts_with("not a pcap or pcapng file ("),
            "{}",
            e.detail
        );
        assert!(e.detail.contains(needle), "{:?} lacks {needle:?}", e.detail);
    }
}

#[test]
fn detection_ignores_the_file_name() {
    // pcapng content in a file called .pcap and vice versa.
    let dir = std::env::temp_dir().join(format!("jj-capfile-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ng = two_iface_pcapng(E::L);
    let p1 = dir.join("really-pcapng.pcap");
    std::fs::write(&p1, &ng.buf).unwrap();
    let mut r = open_path(&p1).unwrap();
    assert_eq!(r.format(), Format::PcapNg);
    let all = read_all_from(&mut r, 3, usize::MAX);
    assert!(all.error.is_none());
    assert_eq!(all.metas.len(), ng.packet_ends.len());

    let p2 = dir.join("really-pcap.pcapng");
    std::fs::write(&p2, classic(E::B, MAGIC_NS).buf).unwrap();
    assert_eq!(open_path(&p2).unwrap().format(), Format::PcapNano);

    let missing = open_path(&dir.join("does-not-exist.pcap")).unwrap_err();
    assert_eq!(missing.kind, ReadErrorKind::Io);
    assert!(missing.detail.contains("does-not-exist.pcap"));
    std::fs::remove_dir_all(&dir).ok();
}

// ---------------------------------------------------------------------------
// pcapng
// ---------------------------------------------------------------------------

/// Two interfaces: Ethernet with ns resolution and a name; raw IP with 2^-20
/// resolution and a +100 s offset. EPBs on both, with and without options,
/// plus non-packet blocks in between.
fn two_iface_pcapng(e: E) -> Cap {
    let mut c = Cap::default();
    shb(&mut c, e, true);
    idb(&mut c, e, 1, 0, &[(2, b"eth0\0"), (9, &[9])]);
    other_block(&mut c, e, 4, &[0, 0, 0, 0]); // NRB (empty-ish)
    idb(
        &mut c,
        e,
        101,
        65535,
        &[
            (2, b"tun0"),
            (9, &[0x80 | 20]),
            (14, &{
                let mut v = Vec::new();
                p64(&mut v, e, 100);
                v
            }),
        ],
    );
    epb(
        &mut c,
        e,
        0,
        1_700_000_000_123_456_789,
        &pkt(60, 1),
        60,
        false,
    );
    epb(&mut c, e, 1, (5 << 20) + (1 << 19), &pkt(33, 2), 1500, true);
    other_block(&mut c, e, 5, &[0u8; 20]); // ISB
    other_block(&mut c, e, 0x0000_0BAD, b"\x00\x00\x7e\x23custom!"); // custom
    other_block(&mut c, e, 0x0000_000A, &[1u8; 16]); // DSB
    other_block(&mut c, e, 0x1234_5678, &[]); // unknown, minimal 12-byte block
    epb(&mut c, e, 0, 0, &[], 0, true);
    epb(&mut c, e, 1, 1, &pkt(3, 4), 3, false);
    c
}

#[test]
fn pcapng_two_interfaces_both_orders() {
    for e in [E::L, E::B] {
        let c = two_iface_pcapng(e);
        for batch in [1, 2, 1000] {
            let mut r = CaptureReader::new(Cursor::new(&c.buf)).unwrap();
            assert_eq!(r.format(), Format::PcapNg);
            assert_eq!(r.endian(), e.endian());
            let all = read_all_from(&mut r, batch, usize::MAX);
            assert!(all.error.is_none(), "{:?}", all.error);
            let m = &all.metas;
            assert_eq!(m.len(), 4);
            assert_eq!(
                m[0],
                FrameMeta {
                    ts_ns: 1_700_000_000_123_456_789,
                    caplen: 60,
                    wire_len: 60,
                    linktype: 1,
                    iface: 0
                }
            );
            assert_eq!(
                m[1],
                FrameMeta {
                    ts_ns: 105_500_000_000,
                    caplen: 33,
                    wire_len: 1500,
                    linktype: 101,
                    iface: 1
                }
            );
            assert_eq!((m[2].caplen, m[2].ts_ns, m[2].linktype), (0, 0, 1));
            // one 2^-20 s unit = 953.67 ns, rounded down, plus the offset
            assert_eq!(m[3].ts_ns, 100_000_000_953);
            assert_eq!(all.frame(0), &pkt(60, 1)[..]);
            assert_eq!(all.frame(1), &pkt(33, 2)[..]);
            assert_eq!(all.frame(3), &pkt(3, 4)[..]);
            let ifs = r.interfaces();
            assert_eq!(ifs.len(), 2);
            assert_eq!(ifs[0].name.as_deref(), Some("eth0"));
            assert_eq!((ifs[0].linktype, ifs[0].snaplen, ifs[0].tsresol), (1, 0, 9));
            assert_eq!(ifs[1].name.as_deref(), Some("tun0"));
            assert_eq!((ifs[1].linktype, ifs[1].tsresol), (101, 0x80 | 20));
            assert_eq!(ifs[1].ts_offset_s, 100);
            let a = r.anomalies();
            assert_eq!(a.skipped_blocks, 5);
            assert_eq!(a.bad_options, 0);
            assert_eq!(r.offset(), c.buf.len() as u64);
        }
    }
}

#[test]
fn pcapng_default_tsresol_is_microseconds() {
    let e = E::B;
    let mut c = Cap::default();
    shb(&mut c, e, false);
    idb(&mut c, e, 1, 65535, &[]);
    epb(&mut c, e, 0, 1_000_001, &pkt(4, 0), 4, false);
    let (r, all) = read_ok(&c.buf);
    assert_eq!(r.interfaces()[0].tsresol, 6);
    assert_eq!(all.metas[0].ts_ns, 1_000_001_000);
}

#[test]
fn pcapng_simple_packet_blocks() {
    for e in [E::L, E::B] {
        let mut c = Cap::default();
        shb(&mut c, e, false);
        idb(&mut c, e, 1, 64, &[(9, &[9])]);
        // wire 100 but snaplen 64: 64 bytes captured (block holds 64).
        spb(&mut c, e, 100, &pkt(64, 1));
        // short packet with padding: caplen = wire.
        spb(&mut c, e, 10, &pkt(10, 2));
        let (_, all) = read_ok(&c.buf);
        assert_eq!(all.metas.len(), 2);
        assert_eq!(
            all.metas[0],
            FrameMeta {
                ts_ns: 0,
                caplen: 64,
                wire_len: 100,
                linktype: 1,
                iface: 0
            }
        );
        assert_eq!((all.metas[1].caplen, all.metas[1].wire_len), (10, 10));
        assert_eq!(all.frame(0), &pkt(64, 1)[..]);
        assert_eq!(all.frame(1), &pkt(10, 2)[..]);

        // snaplen 0 (unlimited): caplen limited by the room in the block.
        let mut c = Cap::default();
        shb(&mut c, e, false);
        idb(&mut c, e, 1, 0, &[]);
        spb(&mut c, e, 1500, &pkt(20, 3));
        let (_, all) = read_ok(&c.buf);
        assert_eq!((all.metas[0].caplen, all.metas[0].wire_len), (20, 1500));
    }
}

#[test]
fn pcapng_spb_without_interface_is_corrupt() {
    let mut c = Cap::default();
    shb(&mut c, E::L, false);
    let off = c.buf.len() as u64;
    spb(&mut c, E::L, 4, &[1, 2, 3, 4]);
    let (_, err) = expect_err(&c.buf, ReadErrorKind::Corrupt);
    assert_eq!(err.offset, off);
}

#[test]
fn pcapng_obsolete_packet_block() {
    for e in [E::L, E::B] {
        let mut c = Cap::default();
        shb(&mut c, e, false);
        idb(&mut c, e, 1, 65535, &[]);
        idb(&mut c, e, 105, 65535, &[(9, &[3])]);
        opb(&mut c, e, 1, 42, &pkt(7, 5), 90);
        opb(&mut c, e, 0, 2, &pkt(8, 6), 8);
        let (_, all) = read_ok(&c.buf);
        assert_eq!(
            all.metas[0],
            FrameMeta {
                ts_ns: 42_000_000,
                caplen: 7,
                wire_len: 90,
                linktype: 105,
                iface: 1
            }
        );
        assert_eq!(all.metas[1].ts_ns, 2_000);
        assert_eq!(all.frame(0), &pkt(7, 5)[..]);
        assert_eq!(all.frame(1), &pkt(8, 6)[..]);
    }
}

fn multi_section() -> (Cap, usize) {
    let mut c = Cap::default();
    shb(&mut c, E::L, false);
    idb(&mut c, E::L, 1, 0, &[(2, b"first")]);
    idb(&mut c, E::L, 113, 0, &[]);
    epb(&mut c, E::L, 1, 7, &pkt(5, 1), 5, false);
    let second = c.buf.len();
    shb(&mut c, E::B, true); // byte order changes
    idb(&mut c, E::B, 105, 0, &[(9, &[9])]);
    epb(&mut c, E::B, 0, 8, &pkt(6, 2), 6, false);
    spb(&mut c, E::B, 3, &pkt(3, 3));
    (c, second)
}

#[test]
fn pcapng_multiple_sections() {
    let (c, _) = multi_section();
    let mut r = CaptureReader::new(Cursor::new(&c.buf)).unwrap();
    assert_eq!(r.endian(), Endian::Little);
    let (mut m, mut d) = (Vec::new(), Vec::new());
    assert_eq!(r.read_batch(&mut m, &mut d, 1, usize::MAX), Ok(1));
    assert_eq!(r.interfaces().len(), 2);
    assert_eq!((m[0].linktype, m[0].iface, m[0].ts_ns), (113, 1, 7_000));
    assert_eq!(r.read_batch(&mut m, &mut d, 10, usize::MAX), Ok(2));
    assert_eq!(r.endian(), Endian::Big);
    assert_eq!(r.sections(), 2);
    let ifs = r.interfaces();
    assert_eq!(ifs.len(), 1, "a new section resets the interfaces");
    assert_eq!(ifs[0].linktype, 105);
    assert_eq!((m[1].linktype, m[1].iface, m[1].ts_ns), (105, 0, 8));
    assert_eq!((m[2].linktype, m[2].caplen), (105, 3));
    assert_eq!(d, [pkt(5, 1), pkt(6, 2), pkt(3, 3)].concat());
    assert_eq!(r.read_batch(&mut m, &mut d, 10, usize::MAX), Ok(0));
}

#[test]
fn pcapng_interface_ids_do_not_survive_a_new_section() {
    let mut c = Cap::default();
    shb(&mut c, E::L, false);
    idb(&mut c, E::L, 1, 0, &[]);
    idb(&mut c, E::L, 1, 0, &[]);
    epb(&mut c, E::L, 1, 0, &pkt(4, 0), 4, false);
    shb(&mut c, E::L, false);
    idb(&mut c, E::L, 1, 0, &[]);
    let off = c.buf.len() as u64;
    epb(&mut c, E::L, 1, 0, &pkt(4, 0), 4, false);
    let (n, e) = expect_err(&c.buf, ReadErrorKind::Corrupt);
    assert_eq!(n, 1);
    assert_eq!(e.offset, off);
    assert!(e.detail.contains("interface 1"), "{e}");
}

#[test]
fn pcapng_unknown_interface_is_corrupt() {
    let mut c = Cap::default();
    shb(&mut c, E::B, false);
    let off = c.buf.len() as u64;
    epb(&mut c, E::B, 0, 0, &pkt(4, 0), 4, false);
    let (n, e) = expect_err(&c.buf, ReadErrorKind::Corrupt);
    assert_eq!((n, e.offset), (0, off));
    assert_eq!(
        e.detail,
        "Enhanced Packet Block refers to interface 0, but only 0 interface(s) are described in this section"
    );
}

/// A file with one good EPB followed by a block with a bad length field.
fn with_bad_block(e: E, patch: impl Fn(&mut Vec<u8>, usize)) -> (Vec<u8>, u64) {
    let mut c = Cap::default();
    shb(&mut c, e, false);
    idb(&mut c, e, 1, 0, &[]);
    epb(&mut c, e, 0, 0, &pkt(10, 0), 10, false);
    let off = c.buf.len();
    epb(&mut c, e, 0, 0, &pkt(10, 0), 10, false);
    epb(&mut c, e, 0, 0, &pkt(10, 0), 10, false);
    patch(&mut c.buf, off);
    (c.buf, off as u64)
}

type Patch = dyn Fn(&mut Vec<u8>, usize);

fn put32_at(buf: &mut [u8], e: E, at: usize, v: u32) {
    let b = match e {
        E::L => v.to_le_bytes(),
        E::B => v.to_be_bytes(),
    };
    buf[at..at + 4].copy_from_slice(&b);
}

#[test]
fn pcapng_bad_block_lengths() {
    for e in [E::L, E::B] {
        // EPB total length 44: 32 + 12 bytes (10 data + 2 pad).
        let cases: Vec<(&str, Box<Patch>, &str)> = vec![
            (
                "not a multiple of 4",
                Box::new(move |b, o| put32_at(b, e, o + 4, 45)),
                "not a multiple of 4",
            ),
            (
                "less than 12",
                Box::new(move |b, o| put32_at(b, e, o + 4, 8)),
                "less than the minimum",
            ),
            (
                "less than the EPB minimum",
                Box::new(move |b, o| put32_at(b, e, o + 4, 28)),
                "less than the minimum of 32",
            ),
            (
                "trailer mismatch",
                Box::new(move |b, o| put32_at(b, e, o + 40, 48)),
                "trailing length field says 48",
            ),
            (
                "caplen does not fit",
                Box::new(move |b, o| put32_at(b, e, o + 20, 13)),
                "do not fit in its 44-byte block",
            ),
            (
                "absurd length",
                Box::new(move |b, o| put32_at(b, e, o + 4, 0xFFFF_FFF0)),
                "more than the maximum",
            ),
            (
                "16 MB caplen",
                Box::new(move |b, o| put32_at(b, e, o + 20, 16_711_424)),
                "record claims 16711424-byte packet, more than the maximum of 262144",
            ),
        ];
        for (name, patch, needle) in cases {
            let (buf, off) = with_bad_block(e, patch);
            let all = read_all(&buf, 1000).unwrap();
            let err = all.error.unwrap_or_else(|| panic!("{name}: no error"));
            assert_eq!(err.kind, ReadErrorKind::Corrupt, "{name}: {err}");
            assert_eq!(err.offset, off, "{name}: {err}");
            assert!(err.detail.contains(needle), "{name}: {err}");
            assert_eq!(all.metas.len(), 1, "{name}: frames before the bad block");
            assert_eq!(all.data, pkt(10, 0), "{name}");
        }
    }
}

#[test]
fn pcapng_bad_shb_mid_file() {
    let (mut c, second) = multi_section();
    // Break the byte-order magic of the second SHB.
    c.buf[second + 8] ^= 0xff;
    let (n, e) = expect_err(&c.buf, ReadErrorKind::Corrupt);
    assert_eq!((n, e.offset), (1, second as u64));
    // Unsupported major version in the second SHB (big-endian section).
    let (mut c, second) = multi_section();
    c.buf[second + 12..second + 14].copy_from_slice(&2u16.to_be_bytes());
    let (n, e) = expect_err(&c.buf, ReadErrorKind::Unsupported);
    assert_eq!((n, e.offset), (1, second as u64));
}

#[test]
fn pcapng_malformed_options_are_tolerated() {
    let e = E::L;
    let mut c = Cap::default();
    shb(&mut c, e, false);
    // if_tsresol with a wrong length, then an option overrunning the block.
    let mut b = Vec::new();
    p16(&mut b, e, 1);
    p16(&mut b, e, 0);
    p32(&mut b, e, 0);
    p16(&mut b, e, 9);
    p16(&mut b, e, 2);
    b.extend_from_slice(&[9, 9]);
    b.extend_from_slice(&[0, 0]);
    p16(&mut b, e, 2);
    p16(&mut b, e, 200);
    b.extend_from_slice(b"eth");
    block(&mut c, e, 1, &b);
    epb(&mut c, e, 0, 5, &pkt(4, 0), 4, false);
    let (r, all) = read_ok(&c.buf);
    assert_eq!(all.metas[0].ts_ns, 5_000);
    assert_eq!(r.interfaces()[0].tsresol, 6);
    assert_eq!(r.interfaces()[0].name, None);
    assert_eq!(r.anomalies().bad_options, 2);
}

#[test]
fn pcapng_caplen_above_wire_len_is_counted() {
    let e = E::B;
    let mut c = Cap::default();
    shb(&mut c, e, false);
    idb(&mut c, e, 1, 16, &[]);
    epb(&mut c, e, 0, 0, &pkt(40, 0), 20, false);
    let (r, all) = read_ok(&c.buf);
    assert_eq!((all.metas[0].caplen, all.metas[0].wire_len), (40, 40));
    assert_eq!(r.anomalies().header_lies, 1);
    assert_eq!(r.anomalies().over_snaplen, 1);
}

#[test]
fn pcapng_timestamp_clamped() {
    let e = E::L;
    let mut c = Cap::default();
    shb(&mut c, e, false);
    idb(&mut c, e, 1, 0, &[(9, &[0])]); // seconds
    epb(&mut c, e, 0, u64::MAX, &pkt(1, 0), 1, false);
    let (r, all) = read_ok(&c.buf);
    assert_eq!(all.metas[0].ts_ns, i64::MAX);
    assert_eq!(r.anomalies().ts_clamped, 1);
}

// ---------------------------------------------------------------------------
// Batching and reader behaviour
// ---------------------------------------------------------------------------

#[test]
fn batch_limits() {
    let mut c = pcap_header(E::L, MAGIC_US, 65535, 1);
    for i in 0..10 {
        pcap_record(&mut c, E::L, false, i, 0, &pkt(100, i as u8), 100);
    }
    let mut r = CaptureReader::new(Cursor::new(&c.buf)).unwrap();
    let (mut m, mut d) = (Vec::new(), Vec::new());
    assert_eq!(r.read_batch(&mut m, &mut d, 3, usize::MAX), Ok(3));
    // stops once data grew by >= 250 bytes: after 3 frames (300 bytes)
    assert_eq!(r.read_batch(&mut m, &mut d, 100, 250), Ok(3));
    // max_bytes smaller than a frame / zero still makes progress
    assert_eq!(r.read_batch(&mut m, &mut d, 100, 0), Ok(1));
    assert_eq!(r.read_batch(&mut m, &mut d, 0, usize::MAX), Ok(1));
    assert_eq!(r.read_batch(&mut m, &mut d, 100, usize::MAX), Ok(2));
    assert_eq!(r.read_batch(&mut m, &mut d, 100, usize::MAX), Ok(0));
    assert_eq!(m.len(), 10);
    assert_eq!(d.len(), 1000);
    for (i, meta) in m.iter().enumerate() {
        assert_eq!(meta.ts_ns, i as i64 * 1_000_000_000);
        assert_eq!(&d[i * 100..(i + 1) * 100], &pkt(100, i as u8)[..]);
    }
}

#[test]
fn appends_to_existing_buffers() {
    let c = classic(E::L, MAGIC_US);
    let mut r = CaptureReader::new(Cursor::new(&c.buf)).unwrap();
    let mut m = vec![FrameMeta::default()];
    let mut d = vec![0xEE; 5];
    assert_eq!(r.read_batch(&mut m, &mut d, 1, usize::MAX), Ok(1));
    assert_eq!(m.len(), 2);
    assert_eq!(&d[..5], &[0xEE; 5]);
    assert_eq!(&d[5..], &pkt(60, 1)[..]);
}

/// Returns at most `chunk` bytes per read and sometimes `Interrupted`.
struct Dribble<'a> {
    data: &'a [u8],
    pos: usize,
    chunk: usize,
    calls: usize,
}

impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls & 3 == 3 {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "signal"));
        }
        let n = buf.len().min(self.chunk).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn short_reads_and_interrupts() {
    for c in [classic(E::B, MAGIC_MOD), two_iface_pcapng(E::L)] {
        let (_, reference) = read_ok(&c.buf);
        for chunk in [1, 3, 7] {
            let src = Dribble {
                data: &c.buf,
                pos: 0,
                chunk,
                calls: 0,
            };
            let mut r = CaptureReader::new(src).unwrap();
            let all = read_all_from(&mut r, 2, usize::MAX);
            assert!(all.error.is_none());
            assert_eq!(all.metas, reference.metas);
            assert_eq!(all.data, reference.data);
        }
    }
}

/// Fails with a real I/O error after `ok` bytes.
struct Failing<'a> {
    data: &'a [u8],
    pos: usize,
    ok: usize,
}

impl Read for Failing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.ok {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf
            .len()
            .min(self.ok - self.pos)
            .min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn io_errors_are_reported() {
    let c = classic(E::L, MAGIC_US);
    // fail in the middle of the last record's data (1514 bytes)
    let last = c.packet_ends[2];
    let mut r = CaptureReader::new(Failing {
        data: &c.buf,
        pos: 0,
        ok: last + 16 + 100,
    })
    .unwrap();
    let all = read_all_from(&mut r, 100, usize::MAX);
    let e = all.error.unwrap();
    assert_eq!(e.kind, ReadErrorKind::Io);
    assert_eq!(e.offset, last as u64);
    assert!(e.detail.contains("disk on fire"));
    assert_eq!(all.metas.len(), 3);
    assert_eq!(all.data.len(), 61);
    // failure while reading the file header
    let e = CaptureReader::new(Failing {
        data: &c.buf,
        pos: 0,
        ok: 0,
    })
    .unwrap_err();
    assert_eq!(e.kind, ReadErrorKind::Io);
}

// ---------------------------------------------------------------------------
// Truncation at every offset
// ---------------------------------------------------------------------------

fn check_every_cut(c: &Cap) {
    let (_, full) = read_ok(&c.buf);
    for cut in 0..=c.buf.len() {
        let bytes = &c.buf[..cut];
        if cut < c.header_len {
            let e = CaptureReader::new(Cursor::new(bytes)).unwrap_err();
            assert_eq!(e.kind, ReadErrorKind::NotACapture, "cut {cut}: {e}");
            continue;
        }
        let want_frames = c.packet_ends.iter().filter(|&&end| end <= cut).count();
        let clean = c.boundaries.contains(&cut);
        for batch in [1, 1000] {
            let all = read_all(bytes, batch).unwrap();
            assert_eq!(all.metas.len(), want_frames, "cut {cut} batch {batch}");
            assert_eq!(all.metas[..], full.metas[..want_frames], "cut {cut}");
            assert_eq!(all.data[..], full.data[..all.data.len()], "cut {cut}");
            match (&all.error, clean) {
                (None, true) => {}
                (Some(e), false) => {
                    assert_eq!(e.kind, ReadErrorKind::Truncated, "cut {cut}: {e}");
                    assert!(e.detail.starts_with("file ends in the middle of"), "{e}");
                    assert!(e.offset < cut as u64, "cut {cut}: {e}");
                }
                (e, _) => panic!("cut {cut}: clean={clean} error={e:?}"),
            }
        }
        // With a large batch the frames come first and the error on the next call.
        if want_frames > 0 && !clean {
            let mut r = CaptureReader::new(Cursor::new(bytes)).unwrap();
            let (mut m, mut d) = (Vec::new(), Vec::new());
            assert_eq!(
                r.read_batch(&mut m, &mut d, 1000, usize::MAX),
                Ok(want_frames)
            );
            let e = r.read_batch(&mut m, &mut d, 1000, usize::MAX).unwrap_err();
            assert_eq!(e.kind, ReadErrorKind::Truncated);
            assert_eq!(r.read_batch(&mut m, &mut d, 1000, usize::MAX), Ok(0));
        }
    }
}

#[test]
fn truncated_at_every_offset_pcap() {
    for e in [E::L, E::B] {
        for magic in [MAGIC_US, MAGIC_NS, MAGIC_MOD] {
            let modified = magic == MAGIC_MOD;
            let mut c = pcap_header(e, magic, 65535, 1);
            pcap_record(&mut c, e, modified, 1, 2, &pkt(9, 1), 9);
            pcap_record(&mut c, e, modified, 3, 4, &[], 0);
            pcap_record(&mut c, e, modified, 5, 6, &pkt(5, 2), 50);
            check_every_cut(&c);
        }
    }
}

#[test]
fn truncated_at_every_offset_pcapng() {
    for e in [E::L, E::B] {
        let mut c = Cap::default();
        shb(&mut c, e, true);
        idb(&mut c, e, 1, 0, &[(2, b"x"), (9, &[9])]);
        epb(&mut c, e, 0, 5, &pkt(5, 1), 5, true);
        other_block(&mut c, e, 5, &[0u8; 8]);
        spb(&mut c, e, 6, &pkt(6, 2));
        opb(&mut c, e, 0, 7, &pkt(3, 3), 3);
        shb(&mut c, e, false);
        idb(&mut c, e, 228, 0, &[]);
        epb(&mut c, e, 0, 8, &pkt(2, 4), 2, false);
        check_every_cut(&c);
    }
}

// ---------------------------------------------------------------------------
// Random mutation (no panics, bounded time)
// ---------------------------------------------------------------------------

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut XorShift, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    let edits = 1 + rng.below(6);
    for _ in 0..edits {
        if v.is_empty() {
            break;
        }
        match rng.below(10) {
            // flip random bits
            0..=4 => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            // random byte
            5 | 6 => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            // interesting 32-bit values at a 4-aligned spot (lengths, ids)
            7 | 8 => {
                let i = rng.below(v.len()) & !3;
                let vals = [
                    0u32,
                    1,
                    12,
                    0xFFFF_FFFF,
                    0x7FFF_FFFF,
                    0x0100_0000,
                    262_145,
                    rng.next() as u32,
                ];
                let x = vals[rng.below(vals.len())].to_le_bytes();
                for (k, b) in x.iter().enumerate() {
                    if let Some(slot) = v.get_mut(i + k) {
                        *slot = if rng.below(2) == 0 { *b } else { x[3 - k] };
                    }
                }
            }
            // truncate
            _ => {
                let n = rng.below(v.len() + 1);
                v.truncate(n);
            }
        }
    }
    v
}

#[test]
fn random_mutations_never_panic() {
    let bases: Vec<Vec<u8>> = vec![
        classic(E::L, MAGIC_US).buf,
        classic(E::B, MAGIC_NS).buf,
        classic(E::L, MAGIC_MOD).buf,
        two_iface_pcapng(E::L).buf,
        two_iface_pcapng(E::B).buf,
        multi_section().0.buf,
    ];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    let mut outcomes = [0usize; 3]; // ok, error at open, error while reading
    for base in &bases {
        for _ in 0..3000 {
            let bytes = mutate(&mut rng, base);
            let t0 = Instant::now();
            let res = std::panic::catch_unwind(|| match CaptureReader::new(Cursor::new(&bytes)) {
                Err(_) => 1,
                Ok(mut r) => {
                    let all = read_all_from(&mut r, 1 + (bytes.len() % 4), 4096);
                    check_in_place_agrees(&bytes, 1 + (bytes.len() % 4), 4096, &all);
                    // Frames can only come from bytes that are in the file.
                    let total: usize = all.metas.iter().map(|m| m.caplen as usize).sum();
                    assert_eq!(total, all.data.len());
                    assert!(all.data.len() <= bytes.len());
                    assert!(all.calls <= bytes.len() + 2);
                    for m in &all.metas {
                        assert!(m.wire_len >= m.caplen);
                    }
                    if all.error.is_some() {
                        2
                    } else {
                        0
                    }
                }
            });
            match res {
                Ok(k) => outcomes[k] += 1,
                Err(_) => panic!("panic on input {:02x?}", bytes),
            }
            assert!(
                t0.elapsed() < Duration::from_secs(2),
                "slow input ({:?}): {:02x?}",
                t0.elapsed(),
                bytes
            );
        }
    }
    eprintln!(
        "mutations: {} read cleanly, {} rejected at open, {} errored while reading, in {:?}",
        outcomes[0],
        outcomes[1],
        outcomes[2],
        started.elapsed()
    );
    assert!(outcomes.iter().all(|&n| n > 0), "{outcomes:?}");
}
