//! Mutation test ("hostile input"): damaged captures through `jj extract`.
//!
//! Seeds: the shipped `resources/samples/sample.pcap`, small captures generated with
//! jj-gen (pcap µs, pcap ns with a short snaplen, pcapng) and, when `../shared/pcaps`
//! exists, a handful of shared captures in other formats and link types (big-endian
//! pcapng, modified pcap, nanosecond pcap, SLL/SLL2, fragments, tunnels).
//!
//! From every seed, deterministic mutants (xorshift, fixed seeds) — at least
//! [`MIN_MUTANTS`] in all:
//! * random byte errors, anywhere or only inside packet data;
//! * truncations at record boundaries, inside headers and inside packet data;
//! * header lies: caplen > wire length, wire length 0, a 256 MiB (and larger) record
//!   length, caplen past the record, huge / "negative" / out-of-range-fraction
//!   timestamps, snaplen 0 / 1 / 2^32-1, pcapng block lengths 0, 8, 13, huge, short and
//!   long, a trailing-length mismatch, an unknown interface id, if_tsresol and
//!   if_tsoffset extremes, an unsupported version, a broken magic / byte-order mark;
//! * unknown link types (pcap network field, pcapng IDB link type).
//!
//! The mutants are put into directories of [`BATCH`] files and each directory goes
//! through one `jj extract DIR -o OUT.csv --threads 2`. For every invocation:
//! * it ends within [`HANG_GUARD`] (a hang detector, not a speed test);
//! * it exits with 0 or 1 (never a signal, an abort or another code);
//! * stderr has no panic text (a panic caught in a plugin shim included);
//! * every file is named by at most one stderr line; the files named are exactly the
//!   failed ones (their number is the "N of M captures" count, 0 iff exit 0); mutants
//!   known to be unreadable (a cut inside a record, an impossible record length, ...)
//!   are named, and mutants known to be well-formed (packet-data errors, cuts at record
//!   boundaries, tolerated lies, unknown link types) are not;
//! * the CSV output is complete: it ends with a newline, parses (quotes included), every
//!   row has the header's field count, and the row count is the report's.
//!
//! When a batch breaks a rule, its files are run one by one to name the culprits, which
//! are kept in `test-scratch/mutation/culprits/`. The wall times of the mutants and of
//! the clean seeds are printed (for docs/testing.md), not asserted.
use jj_tests::{jj_path, scratch, shared_dir, workspace};
use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

/// Fewest mutants written (at least 1,000 asked; they are cheap, about 1.5 ms each).
const MIN_MUTANTS: usize = 3000;
/// Files per `jj extract DIR` invocation.
const BATCH: usize = 100;
/// An invocation still running after this long is a hang.
const HANG_GUARD: Duration = Duration::from_secs(60);
/// Shared captures used as extra seeds (those present and at most 256 KiB).
const SHARED_SEEDS: [&str; 8] = [
    "pcapp_test016-be.pcapng",
    "ndpi_nano.pcapng",
    "pcapp_modified-format.pcap",
    "tcpd_tcp-handshake-nano.pcap",
    "zeek_linux_dlt_sll2.pcap",
    "ja4_tls-handshake.pcapng",
    "ndpi_dns_fragmented.pcap",
    "ja4_gre-erspan-vxlan.pcap",
];
const MIB256: u32 = 256 * 1024 * 1024;

/// Deterministic xorshift64*.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// What a mutant must do to jj.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Well-formed: read completely, the file is not reported.
    Ok,
    /// Unreadable: reported by exactly one line.
    Fail,
    /// Either (at most one line).
    Any,
}

pub(crate) struct Mutant {
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) expect: Expect,
}

#[derive(Clone, Copy, Debug)]
struct Block {
    off: usize,
    kind: u32,
    len: usize,
    le: bool,
}

/// Where things are in a seed.
#[derive(Default)]
struct Layout {
    ng: bool,
    le: bool,
    /// pcap record header size (16, or 24 for the modified format).
    rec_hdr: usize,
    /// pcap record header offsets.
    records: Vec<usize>,
    /// pcapng blocks.
    blocks: Vec<Block>,
    /// Packet data ranges: changing bytes there keeps the file well-formed.
    data: Vec<(usize, usize)>,
    /// Offsets where a record or block ends: a cut there leaves a well-formed file.
    boundaries: Vec<usize>,
}

pub(crate) struct Seed {
    pub(crate) name: String,
    pub(crate) ext: &'static str,
    pub(crate) bytes: Vec<u8>,
    layout: Layout,
}

fn rd32(b: &[u8], at: usize, le: bool) -> u32 {
    let s: [u8; 4] = b[at..at + 4].try_into().unwrap();
    if le {
        u32::from_le_bytes(s)
    } else {
        u32::from_be_bytes(s)
    }
}

fn wr32(b: &mut [u8], at: usize, le: bool, v: u32) {
    let s = if le { v.to_le_bytes() } else { v.to_be_bytes() };
    b[at..at + 4].copy_from_slice(&s);
}

fn wr16(b: &mut [u8], at: usize, le: bool, v: u16) {
    let s = if le { v.to_le_bytes() } else { v.to_be_bytes() };
    b[at..at + 2].copy_from_slice(&s);
}

/// Walks a well-formed capture; `None` if it is not one this test understands.
fn layout(b: &[u8]) -> Option<Layout> {
    let magic = b.get(..4)?;
    let mut l = Layout::default();
    let pcap = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => Some((true, 16)),
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => Some((false, 16)),
        [0x34, 0xcd, 0xb2, 0xa1] => Some((true, 24)),
        [0xa1, 0xb2, 0xcd, 0x34] => Some((false, 24)),
        _ => None,
    };
    if let Some((le, rec_hdr)) = pcap {
        l.le = le;
        l.rec_hdr = rec_hdr;
        let mut o = 24;
        l.boundaries.push(o);
        while o < b.len() {
            if o + rec_hdr > b.len() {
                return None;
            }
            let cap = rd32(b, o + 8, le) as usize;
            let end = o + rec_hdr + cap;
            if end > b.len() {
                return None;
            }
            l.records.push(o);
            l.data.push((o + rec_hdr, end));
            l.boundaries.push(end);
            o = end;
        }
        return (o == b.len()).then_some(l);
    }
    if magic != [0x0a, 0x0d, 0x0d, 0x0a] {
        return None;
    }
    l.ng = true;
    let mut o = 0;
    let mut le = true;
    while o < b.len() {
        let kind_raw = b.get(o..o + 4)?;
        if kind_raw == [0x0a, 0x0d, 0x0d, 0x0a] {
            le = match b.get(o + 8..o + 12)? {
                [0x4d, 0x3c, 0x2b, 0x1a] => true,
                [0x1a, 0x2b, 0x3c, 0x4d] => false,
                _ => return None,
            };
        }
        let kind = rd32(b, o, le);
        let len = rd32(b, o + 4, le) as usize;
        if len < 12 || len & 3 != 0 || o + len > b.len() {
            return None;
        }
        match kind {
            6 if len >= 32 => {
                let cap = rd32(b, o + 20, le) as usize;
                l.data.push((o + 28, (o + 28 + cap).min(o + len - 4)));
            }
            3 => l.data.push((o + 12, o + len - 4)),
            _ => {}
        }
        l.blocks.push(Block {
            off: o,
            kind,
            len,
            le,
        });
        o += len;
        l.boundaries.push(o);
    }
    l.le = l.blocks.first().map(|b| b.le).unwrap_or(true);
    Some(l)
}

/// pcapng option `code` of the block `blk` (IDB options start at +16): offset of its value.
fn ng_option(b: &[u8], blk: Block, code: u16) -> Option<(usize, usize)> {
    let mut o = blk.off + 16;
    let end = blk.off + blk.len - 4;
    while o + 4 <= end {
        let rd16 = |at: usize| {
            let s = [b[at], b[at + 1]];
            if blk.le {
                u16::from_le_bytes(s)
            } else {
                u16::from_be_bytes(s)
            }
        };
        let (c, n) = (rd16(o), usize::from(rd16(o + 2)));
        if c == 0 {
            return None;
        }
        if c == code {
            return (o + 4 + n <= end).then_some((o + 4, n));
        }
        o += 4 + n.div_ceil(4) * 4;
    }
    None
}

fn push(out: &mut Vec<Mutant>, name: String, bytes: Vec<u8>, expect: Expect) {
    out.push(Mutant {
        name,
        bytes,
        expect,
    });
}

pub(crate) fn mutants_of(seed: &Seed, quota: usize, rng: &mut Rng) -> Vec<Mutant> {
    let b = &seed.bytes;
    let l = &seed.layout;
    let mut out: Vec<Mutant> = Vec::new();
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut v = b.clone();
        f(&mut v);
        v
    };
    let le = l.le;
    // ---- header lies and unknown link types ------------------------------------------
    if !l.ng {
        push(
            &mut out,
            "magic".into(),
            edit(&|v| v[1] ^= 0x40),
            Expect::Fail,
        );
        push(
            &mut out,
            "version3".into(),
            edit(&|v| wr16(v, 4, le, 3)),
            Expect::Fail,
        );
        for (tag, snap) in [("snap0", 0u32), ("snap1", 1), ("snapmax", u32::MAX)] {
            push(
                &mut out,
                tag.into(),
                edit(&|v| wr32(v, 16, le, snap)),
                Expect::Ok,
            );
        }
        for lt in [147u32, 0xffff, 9999, 0x0fff_0000 | 1] {
            push(
                &mut out,
                format!("linktype{lt:x}"),
                edit(&|v| wr32(v, 20, le, lt)),
                Expect::Ok,
            );
        }
        let n = l.records.len();
        let mut picks = vec![0, n / 2, n.saturating_sub(1)];
        picks.dedup();
        for &k in picks.iter().filter(|&&k| k < n) {
            let r = l.records[k];
            let cap = rd32(b, r + 8, le);
            let t = |s: &str| format!("rec{k}-{s}");
            if cap > 0 {
                push(
                    &mut out,
                    t("caplen-gt-len"),
                    edit(&|v| wr32(v, r + 12, le, cap - 1)),
                    Expect::Ok,
                );
            }
            push(
                &mut out,
                t("len0"),
                edit(&|v| wr32(v, r + 12, le, 0)),
                Expect::Ok,
            );
            push(
                &mut out,
                t("len-huge"),
                edit(&|v| wr32(v, r + 12, le, u32::MAX)),
                Expect::Ok,
            );
            for (tag, c) in [
                ("cap256m", MIB256),
                ("cap256m1", MIB256 + 1),
                ("capmax", u32::MAX),
            ] {
                push(
                    &mut out,
                    t(tag),
                    edit(&|v| wr32(v, r + 8, le, c)),
                    Expect::Fail,
                );
            }
            push(
                &mut out,
                t("cap-plus7"),
                edit(&|v| wr32(v, r + 8, le, cap + 7)),
                Expect::Any,
            );
            push(
                &mut out,
                t("ts-max"),
                edit(&|v| wr32(v, r, le, u32::MAX)),
                Expect::Ok,
            );
            push(
                &mut out,
                t("ts-neg"),
                edit(&|v| wr32(v, r, le, 0x8000_0000)),
                Expect::Ok,
            );
            push(
                &mut out,
                t("ts-zero"),
                edit(&|v| wr32(v, r, le, 0)),
                Expect::Ok,
            );
            push(
                &mut out,
                t("frac-max"),
                edit(&|v| wr32(v, r + 4, le, u32::MAX)),
                Expect::Ok,
            );
            push(
                &mut out,
                t("frac-1s"),
                edit(&|v| wr32(v, r + 4, le, 1_000_000_000)),
                Expect::Ok,
            );
        }
    } else {
        let shb = l.blocks[0];
        push(
            &mut out,
            "shb-bom".into(),
            edit(&|v| v[8] ^= 0x01),
            Expect::Fail,
        );
        push(
            &mut out,
            "shb-version2".into(),
            edit(&|v| wr16(v, 12, shb.le, 2)),
            Expect::Fail,
        );
        push(
            &mut out,
            "shb-seclen".into(),
            edit(&|v| {
                v[16..24].copy_from_slice(&[0x34, 0x12, 0, 0, 0, 0, 0, 0]);
            }),
            Expect::Any,
        );
        for (i, blk) in l
            .blocks
            .iter()
            .enumerate()
            .filter(|(_, x)| x.kind == 1)
            .take(2)
        {
            let (o, ble) = (blk.off, blk.le);
            for lt in [147u16, 0xffff, 9999] {
                push(
                    &mut out,
                    format!("idb{i}-linktype{lt:x}"),
                    edit(&|v| wr16(v, o + 8, ble, lt)),
                    Expect::Ok,
                );
            }
            for (tag, snap) in [("snap0", 0u32), ("snap1", 1), ("snapmax", u32::MAX)] {
                push(
                    &mut out,
                    format!("idb{i}-{tag}"),
                    edit(&|v| wr32(v, o + 12, ble, snap)),
                    Expect::Ok,
                );
            }
            if let Some((at, 1)) = ng_option(b, *blk, 9) {
                for r in [0u8, 30, 0x7f, 0xbf, 0xff] {
                    push(
                        &mut out,
                        format!("idb{i}-tsresol{r:x}"),
                        edit(&|v| v[at] = r),
                        Expect::Ok,
                    );
                }
            }
            if let Some((at, 8)) = ng_option(b, *blk, 14) {
                for (tag, off) in [
                    ("min", i64::MIN),
                    ("max", i64::MAX),
                    ("neg", -1_700_000_000),
                ] {
                    let s = if ble {
                        off.to_le_bytes()
                    } else {
                        off.to_be_bytes()
                    };
                    push(
                        &mut out,
                        format!("idb{i}-tsoffset-{tag}"),
                        edit(&|v| v[at..at + 8].copy_from_slice(&s)),
                        Expect::Ok,
                    );
                }
            }
        }
        let epbs: Vec<Block> = l
            .blocks
            .iter()
            .copied()
            .filter(|x| x.kind == 6 && x.len >= 32)
            .collect();
        let n = epbs.len();
        let mut picks = vec![0, n / 2, n.saturating_sub(1)];
        picks.dedup();
        for &k in picks.iter().filter(|&&k| k < n) {
            let Block {
                off: o,
                len,
                le: ble,
                ..
            } = epbs[k];
            let cap = rd32(b, o + 20, ble);
            let t = |s: &str| format!("epb{k}-{s}");
            if cap > 0 {
                push(
                    &mut out,
                    t("caplen-gt-len"),
                    edit(&|v| wr32(v, o + 24, ble, cap - 1)),
                    Expect::Ok,
                );
            }
            push(
                &mut out,
                t("len0"),
                edit(&|v| wr32(v, o + 24, ble, 0)),
                Expect::Ok,
            );
            push(
                &mut out,
                t("cap-plus100"),
                edit(&|v| wr32(v, o + 20, ble, cap + 100)),
                Expect::Any,
            );
            push(
                &mut out,
                t("cap256m"),
                edit(&|v| wr32(v, o + 20, ble, MIB256)),
                Expect::Fail,
            );
            push(
                &mut out,
                t("capmax"),
                edit(&|v| wr32(v, o + 20, ble, u32::MAX)),
                Expect::Fail,
            );
            push(
                &mut out,
                t("ts-max"),
                edit(&|v| {
                    wr32(v, o + 12, ble, u32::MAX);
                    wr32(v, o + 16, ble, u32::MAX);
                }),
                Expect::Ok,
            );
            push(
                &mut out,
                t("ts-neg"),
                edit(&|v| wr32(v, o + 12, ble, 0x8000_0000)),
                Expect::Ok,
            );
            push(
                &mut out,
                t("iface99"),
                edit(&|v| wr32(v, o + 8, ble, 99)),
                Expect::Fail,
            );
            for (tag, bl, expect) in [
                ("blocklen0", 0u32, Expect::Fail),
                ("blocklen8", 8, Expect::Fail),
                ("blocklen13", 13, Expect::Fail),
                ("blocklen-huge", 0xffff_fff0, Expect::Fail),
                ("blocklen-short", len as u32 - 4, Expect::Any),
                ("blocklen-long", len as u32 + 4, Expect::Any),
            ] {
                push(&mut out, t(tag), edit(&|v| wr32(v, o + 4, ble, bl)), expect);
            }
            push(
                &mut out,
                t("trailer-len"),
                edit(&|v| wr32(v, o + len - 4, ble, len as u32 + 8)),
                Expect::Any,
            );
        }
    }
    // ---- truncations: boundaries, inside headers, inside data -------------------------
    let boundary = |n: usize| l.boundaries.binary_search(&n).is_ok();
    let mut cuts: Vec<usize> = vec![0, 1, 3, 4, 7, 12, 23, 24, 25, 27, 28, 31, 40];
    for &(a, e) in l.data.iter().take(3) {
        cuts.extend([
            a.saturating_sub(1),
            a,
            a + 1,
            (a + e) / 2,
            e.saturating_sub(1),
            e,
        ]);
    }
    cuts.extend(l.boundaries.iter().rev().take(2));
    cuts.retain(|&c| c < b.len());
    cuts.sort_unstable();
    cuts.dedup();
    for c in cuts {
        let expect = if boundary(c) {
            Expect::Ok
        } else {
            Expect::Fail
        };
        push(&mut out, format!("cut{c}"), b[..c].to_vec(), expect);
    }
    // ---- fill the quota: random byte errors and random cuts ---------------------------
    let mut k = 0usize;
    while out.len() < quota {
        k += 1;
        match k % 4 {
            0 => {
                // Anywhere, 1 to 8 bytes (biased to the first 256 bytes half the time).
                let mut v = b.clone();
                let span = if rng.below(2) == 0 {
                    v.len().min(256)
                } else {
                    v.len()
                };
                let n = 1 + rng.below(8);
                for _ in 0..n {
                    let i = rng.below(span);
                    v[i] ^= 1 + rng.below(255) as u8;
                }
                push(&mut out, format!("flip{k}x{n}"), v, Expect::Any);
            }
            1 if !l.data.is_empty() => {
                // Only packet data: the file stays well-formed.
                let mut v = b.clone();
                let n = 1 + rng.below(16);
                for _ in 0..n {
                    let (a, e) = l.data[rng.below(l.data.len())];
                    if e > a {
                        let i = a + rng.below(e - a);
                        v[i] ^= 1 + rng.below(255) as u8;
                    }
                }
                push(&mut out, format!("dataflip{k}x{n}"), v, Expect::Ok);
            }
            2 => {
                // One 32-bit field anywhere set to an extreme.
                let mut v = b.clone();
                let i = rng.below(v.len().saturating_sub(4)) & !3;
                let x = [0u32, u32::MAX, 0x8000_0000, MIB256, 0x7fff_ffff][rng.below(5)];
                if v.len() >= 4 {
                    wr32(&mut v, i, le, x);
                }
                push(&mut out, format!("word{k}at{i}"), v, Expect::Any);
            }
            _ => {
                let c = rng.below(b.len());
                let expect = if boundary(c) {
                    Expect::Ok
                } else {
                    Expect::Fail
                };
                push(&mut out, format!("rcut{c}"), b[..c].to_vec(), expect);
            }
        }
    }
    out
}

fn gen_seed(name: &str, format: jj_gen::OutFormat, snaplen: u32, seed: u64) -> Vec<u8> {
    let cfg = jj_gen::GenConfig {
        seed,
        flows: 8,
        concurrency: 4,
        ipv6_share: 0.3,
        vlan_share: 0.25,
        format,
        snaplen,
        ..jj_gen::GenConfig::default()
    };
    let mut v = Vec::new();
    jj_gen::generate(&cfg, &mut v).unwrap_or_else(|e| panic!("jj-gen {name}: {e}"));
    v
}

pub(crate) fn seeds() -> Vec<Seed> {
    use jj_gen::OutFormat;
    let mut raw: Vec<(String, &'static str, Vec<u8>)> = vec![(
        "sample".into(),
        "pcap",
        std::fs::read(workspace().join("resources/samples/sample.pcap")).expect("sample.pcap"),
    )];
    raw.push((
        "gen-us".into(),
        "pcap",
        gen_seed("gen-us", OutFormat::PcapMicro, 262_144, 11),
    ));
    raw.push((
        "gen-ns-snap".into(),
        "cap",
        gen_seed("gen-ns", OutFormat::PcapNano, 200, 12),
    ));
    raw.push((
        "gen-ng".into(),
        "pcapng",
        gen_seed("gen-ng", OutFormat::PcapNg, 262_144, 13),
    ));
    if let Some(shared) = shared_dir() {
        for name in SHARED_SEEDS {
            let p = shared.join("pcaps").join(name);
            match std::fs::read(&p) {
                Ok(b) if b.len() <= 256 << 10 => {
                    let ext = if name.ends_with(".pcapng") {
                        "pcapng"
                    } else {
                        "pcap"
                    };
                    let stem = name.rsplit_once('.').map_or(name, |s| s.0);
                    raw.push((format!("shared-{stem}"), ext, b));
                }
                _ => eprintln!("note: shared seed {name} missing or too big, skipped"),
            }
        }
    }
    raw.into_iter()
        .filter_map(|(name, ext, bytes)| match layout(&bytes) {
            Some(layout) => Some(Seed {
                name,
                ext,
                bytes,
                layout,
            }),
            None => {
                eprintln!(
                    "note: seed {name} is not a well-formed capture this test can walk; skipped"
                );
                None
            }
        })
        .collect()
}

/// One finished `jj extract`.
struct Run {
    code: Option<i32>,
    stderr: String,
    secs: f64,
    hung: bool,
}

fn run_jj(input: &Path, out: &Path) -> Run {
    let started = Instant::now();
    let mut child = Command::new(jj_path())
        .args([
            "extract",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--threads",
            "2",
        ])
        .env_remove("JJ_PLUGIN_PATH")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jj");
    let mut pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = pipe.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let mut hung = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if started.elapsed() > HANG_GUARD {
            hung = true;
            let _ = child.kill();
            break child.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let secs = started.elapsed().as_secs_f64();
    Run {
        code: status.code(),
        stderr: reader.join().unwrap_or_default(),
        secs,
        hung,
    }
}

/// Minimal RFC 4180 reader: the field count of every record, or an error.
fn csv_field_counts(text: &str) -> Result<Vec<usize>, String> {
    if text.is_empty() {
        return Err("empty output".into());
    }
    if !text.ends_with('\n') {
        return Err("output does not end with a newline (cut short?)".into());
    }
    let mut counts = Vec::new();
    let (mut fields, mut in_q, mut at_start) = (1usize, false, true);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_q {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                } else {
                    in_q = false;
                }
            }
            continue;
        }
        match c {
            '"' if at_start => in_q = true,
            '"' => return Err(format!("stray quote in record {}", counts.len() + 1)),
            ',' => {
                fields += 1;
                at_start = true;
                continue;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                counts.push(fields);
                fields = 1;
                at_start = true;
                continue;
            }
            _ => {}
        }
        at_start = false;
    }
    if in_q {
        return Err("unterminated quoted field".into());
    }
    Ok(counts)
}

const PANIC_TEXT: [&str; 8] = [
    "panic",
    "RUST_BACKTRACE",
    "stack backtrace",
    "fatal runtime error",
    "memory allocation of",
    "Aborted",
    "Segmentation fault",
    "attempt to ",
];

/// Lines of `stderr` that report `path` as failed (not the run's report line).
fn failure_lines(stderr: &str, path: &str) -> usize {
    stderr
        .lines()
        .filter(|l| l.contains(path) && !l.contains(" rows in "))
        .count()
}

/// Everything wrong with one invocation over `files` (empty when all is well).
fn problems(run: &Run, files: &[(PathBuf, Expect)], out: &Path, is_dir: bool) -> Vec<String> {
    let mut p = Vec::new();
    if run.hung {
        p.push(format!(
            "hang: still running after {} s (killed)",
            HANG_GUARD.as_secs()
        ));
    }
    match run.code {
        Some(0 | 1) => {}
        Some(c) => p.push(format!("exit code {c}")),
        None => p.push("killed by a signal".into()),
    }
    for pat in PANIC_TEXT {
        if let Some(line) = run.stderr.lines().find(|l| l.contains(pat)) {
            p.push(format!("panic text {pat:?}: {line}"));
        }
    }
    let mut named = 0usize;
    for (f, expect) in files {
        let path = f.to_str().unwrap();
        // (In a single-file run the closing report line is labelled with the file too.)
        let lines = failure_lines(&run.stderr, path);
        named += usize::from(lines > 0);
        let name = f.file_name().unwrap().to_string_lossy();
        match (lines, expect) {
            (0, Expect::Ok | Expect::Any) | (1, Expect::Fail | Expect::Any) => {}
            (0, Expect::Fail) => p.push(format!("{name}: unreadable but not reported")),
            (1, Expect::Ok) => p.push(format!("{name}: well-formed but reported as failed")),
            (n, _) => p.push(format!("{name}: named by {n} lines")),
        }
    }
    if !run.hung && matches!(run.code, Some(0 | 1)) {
        let reported = run.stderr.lines().find_map(|l| {
            let rest = l.strip_prefix("jj: ")?;
            let (n, rest) = rest.split_once(" of ")?;
            rest.contains("captures could not be read completely")
                .then(|| n.parse::<usize>().ok())?
        });
        if is_dir && reported.unwrap_or(0) != named {
            p.push(format!(
                "{named} files named, the count line says {reported:?}"
            ));
        }
        if (run.code == Some(0)) != (named == 0) {
            p.push(format!(
                "exit code {:?} with {named} failed files",
                run.code
            ));
        }
        match std::fs::read_to_string(out) {
            Ok(text) => match csv_field_counts(&text) {
                Ok(counts) => {
                    let header = counts[0];
                    if let Some(i) = counts.iter().position(|&c| c != header) {
                        p.push(format!(
                            "output row {i} has {} fields, the header {header}",
                            counts[i]
                        ));
                    }
                    let rows = counts.len() - 1;
                    let said = run.stderr.lines().find_map(|l| {
                        let (before, _) = l.split_once(" rows in ")?;
                        before.rsplit(' ').next()?.parse::<usize>().ok()
                    });
                    if said.is_some_and(|n| n != rows) {
                        p.push(format!("output has {rows} rows, the report says {said:?}"));
                    }
                }
                Err(e) => p.push(format!("output {}: {e}", out.display())),
            },
            // A single file that cannot be opened leaves no output (it is opened before
            // the output); a directory run always writes one.
            Err(_) if !is_dir && named == 1 => {}
            Err(e) => p.push(format!("no output {}: {e}", out.display())),
        }
    }
    p
}

/// Runs `files` (already written in `dir`) through one `jj extract DIR`; on any broken
/// rule, runs each file alone to name the culprits (copied to `culprits`). Returns the
/// invocation and the report of what went wrong (empty when all is well).
fn check_batch(
    root: &Path,
    dir: &Path,
    files: &[(PathBuf, Expect)],
    culprits: &Path,
) -> (Run, Option<String>) {
    let out = root.join(format!(
        "{}.csv",
        dir.file_name().unwrap().to_string_lossy()
    ));
    let run = run_jj(dir, &out);
    let p = problems(&run, files, &out, true);
    if p.is_empty() {
        return (run, None);
    }
    std::fs::create_dir_all(culprits).unwrap();
    let mut lone = Vec::new();
    for (f, expect) in files {
        let (r, lp) = run_alone(root, f, *expect);
        if !lp.is_empty() {
            let keep = culprits.join(f.file_name().unwrap());
            let _ = std::fs::copy(f, &keep);
            lone.push(format!(
                "{} (kept as {}): {lp:?}\n--- stderr ---\n{}",
                f.display(),
                keep.display(),
                r.stderr
            ));
        }
    }
    let report = format!(
        "batch {} ({} files): {p:#?}\nfiles failing alone:\n{}\n--- batch stderr ---\n{}",
        dir.display(),
        files.len(),
        lone.join("\n"),
        run.stderr
    );
    (run, Some(report))
}

/// `jj extract FILE` on its own.
fn run_alone(root: &Path, f: &Path, expect: Expect) -> (Run, Vec<String>) {
    let one = root.join("alone.csv");
    let _ = std::fs::remove_file(&one);
    let r = run_jj(f, &one);
    let p = problems(&r, &[(f.to_path_buf(), expect)], &one, false);
    (r, p)
}

#[test]
fn damaged_captures_fail_cleanly() {
    let root = scratch("mutation");
    let culprits = root.join("culprits");
    let seeds = seeds();
    assert!(!seeds.is_empty());
    let mut failures: Vec<String> = Vec::new();

    // Baseline: a batch of clean seed copies in the mutants' proportions (every seed the
    // same number of times). Each must be read completely: this also checks that the
    // mutants' expectations start from well-formed files.
    let clean_dir = root.join("clean");
    std::fs::create_dir_all(&clean_dir).unwrap();
    let mut clean_files = Vec::new();
    let mut clean_bytes = 0usize;
    let copies = BATCH.div_ceil(seeds.len());
    for k in 0..copies {
        for s in &seeds {
            let p = clean_dir.join(format!("{k:02}-{}.{}", s.name, s.ext));
            std::fs::write(&p, &s.bytes).unwrap();
            clean_bytes += s.bytes.len();
            clean_files.push((p, Expect::Ok));
        }
    }
    let (clean, report) = check_batch(&root, &clean_dir, &clean_files, &culprits);
    failures.extend(report);

    // Mutants.
    let quota = MIN_MUTANTS.div_ceil(seeds.len()) + 10;
    let mut rng = Rng(0x6a6a_5eed_0bad_cafe);
    let mut all: Vec<(String, Mutant)> = Vec::new();
    for s in &seeds {
        for m in mutants_of(s, quota, &mut rng) {
            all.push((format!("{}.{}", s.name, s.ext), m));
        }
    }
    // Interleave seeds across batches (deterministic shuffle).
    for i in (1..all.len()).rev() {
        let j = rng.below(i + 1);
        all.swap(i, j);
    }
    assert!(all.len() >= MIN_MUTANTS, "{} mutants", all.len());
    let mut by_expect = [0usize; 3];
    let (mut mut_bytes, mut mut_secs, mut batches) = (0usize, 0f64, 0usize);
    let mut failed_files = 0usize;
    let mut alone: Vec<(PathBuf, Expect)> = Vec::new();
    for (b, chunk) in all.chunks(BATCH).enumerate() {
        let dir = root.join(format!("batch-{b:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut files = Vec::new();
        for (i, (seed, m)) in chunk.iter().enumerate() {
            let (stem, ext) = seed.rsplit_once('.').unwrap();
            let n = b * BATCH + i;
            let p = dir.join(format!("{n:04}-{stem}-{}.{ext}", m.name));
            std::fs::write(&p, &m.bytes).unwrap();
            mut_bytes += m.bytes.len();
            by_expect[m.expect as usize] += 1;
            if matches!(n % 20, 0) {
                alone.push((p.clone(), m.expect));
            }
            files.push((p, m.expect));
        }
        let (run, report) = check_batch(&root, &dir, &files, &culprits);
        mut_secs += run.secs;
        batches += 1;
        failed_files += files
            .iter()
            .filter(|(f, _)| failure_lines(&run.stderr, f.to_str().unwrap()) > 0)
            .count();
        match report {
            Some(r) => failures.push(r),
            // Keep the disk use low: only the files run alone below stay.
            None => {
                for (f, _) in &files {
                    if !alone.iter().any(|(a, _)| a == f) {
                        let _ = std::fs::remove_file(f);
                    }
                }
            }
        }
    }
    // Every 20th mutant also on its own (`jj extract FILE`: the single-input path opens
    // the capture before the output).
    for (f, expect) in &alone {
        let (r, p) = run_alone(&root, f, *expect);
        if !p.is_empty() {
            failures.push(format!("{} alone: {p:?}\n{}", f.display(), r.stderr));
        }
    }
    let mb = |b: usize| b as f64 / 1e6;
    eprintln!(
        "mutation: {} seeds, {} mutants ({:.1} MB; expected well-formed {}, unreadable {}, \
         either {}) in {batches} invocations of up to {BATCH} files, {failed_files} reported \
         as failed; {} mutants also run alone",
        seeds.len(),
        all.len(),
        mb(mut_bytes),
        by_expect[Expect::Ok as usize],
        by_expect[Expect::Fail as usize],
        by_expect[Expect::Any as usize],
        alone.len(),
    );
    eprintln!(
        "mutation timing: clean seeds {:.2} s for {} files, {:.1} MB ({:.2} ms/file, {:.1} MB/s); \
         mutants {:.2} s for {} files, {:.1} MB ({:.2} ms/file, {:.1} MB/s)",
        clean.secs,
        clean_files.len(),
        mb(clean_bytes),
        1e3 * clean.secs / clean_files.len() as f64,
        mb(clean_bytes) / clean.secs,
        mut_secs,
        all.len(),
        mb(mut_bytes),
        1e3 * mut_secs / all.len() as f64,
        mb(mut_bytes) / mut_secs,
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
