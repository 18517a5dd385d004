//! Builds the seed corpora of the fuzz targets (run through `fuzz/make_corpus.sh`).
//!
//! `make_corpus PCAP_DIR OUT_DIR`: reads every capture of PCAP_DIR (if it exists) plus a
//! few captures generated with jj-gen and writes, in the input formats documented at the
//! top of each target:
//! * `pcap_reader/`: the whole files;
//! * `decode/`: one frame per distinct decoding shape (link type, layer stack,
//!   anomalies, protocol), with its link type and wire length;
//! * `ip_defrag/`: the fragments of each capture, in capture order and reversed, plus
//!   hand-built IPv4/IPv6 fragment sets;
//! * `tcp_stream/`: the segments of the busiest TCP directions of each capture;
//! * `tls_handshake/`: the two reassembled streams of each TCP connection that starts
//!   with a TLS record.
use std::collections::{BTreeMap, HashSet};
use std::io::Cursor;
use std::path::{Path, PathBuf};

use jj::reassembly::TcpStream;
use jj_capture_file::{CaptureReader, FrameMeta};
use jj_decode::{anomaly, decode, linktype, Decoded, Layer};

const DECODE_LINKTYPES: [u32; 10] = [
    linktype::ETHERNET,
    linktype::RAW,
    linktype::NULL,
    linktype::LOOP,
    linktype::LINUX_SLL,
    linktype::LINUX_SLL2,
    linktype::IPV4,
    linktype::IPV6,
    linktype::RAW_BSD12,
    linktype::RAW_BSD14,
];
const DEFRAG_LINKTYPES: [u32; 4] = [
    linktype::ETHERNET,
    linktype::RAW,
    linktype::IPV4,
    linktype::IPV6,
];

struct Capture {
    name: String,
    bytes: Vec<u8>,
    frames: Vec<(FrameMeta, Vec<u8>)>,
}

fn read_capture(name: String, bytes: Vec<u8>) -> Capture {
    let mut frames = Vec::new();
    if let Ok(mut r) = CaptureReader::new(Cursor::new(&bytes)) {
        let (mut metas, mut data) = (Vec::new(), Vec::new());
        while let Ok(n) = r.read_batch(&mut metas, &mut data, 1024, 8 << 20) {
            if n == 0 {
                break;
            }
            let mut at = 0usize;
            for m in metas.drain(..) {
                let end = at + m.caplen as usize;
                frames.push((m, data[at..end].to_vec()));
                at = end;
            }
            data.clear();
        }
    }
    Capture {
        name,
        bytes,
        frames,
    }
}

fn generated() -> Vec<Capture> {
    use jj_gen::{generate, GenConfig, OutFormat};
    let mut v = Vec::new();
    for (i, format) in [OutFormat::PcapMicro, OutFormat::PcapNano, OutFormat::PcapNg]
        .into_iter()
        .enumerate()
    {
        let cfg = GenConfig {
            seed: 1 + i as u64,
            flows: 12,
            concurrency: 4,
            ipv6_share: 0.3,
            vlan_share: 0.2,
            format,
            ..GenConfig::default()
        };
        let mut bytes = Vec::new();
        generate(&cfg, &mut bytes).expect("jj-gen");
        v.push(read_capture(format!("gen{i}"), bytes));
    }
    v
}

struct Out {
    dir: PathBuf,
    counts: BTreeMap<&'static str, usize>,
}

impl Out {
    fn write(&mut self, target: &'static str, name: &str, bytes: &[u8]) {
        let d = self.dir.join(target);
        std::fs::create_dir_all(&d).expect("corpus dir");
        let n = self.counts.entry(target).or_default();
        *n += 1;
        let file: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        std::fs::write(d.join(format!("{file}-{n}")), bytes).expect("write seed");
    }
}

fn decode_seeds(out: &mut Out, c: &Capture, seen: &mut HashSet<(u32, Vec<u8>, u32, u8)>) {
    let mut d = Decoded::default();
    for (m, f) in &c.frames {
        decode(m.linktype, f, m.wire_len, &mut d);
        let layers: Vec<u8> = d.layer_stack().iter().map(|&l| l as u8).collect();
        let shape = (m.linktype, layers, d.anomalies, d.protocol);
        if !seen.insert(shape) {
            continue;
        }
        let sel = DECODE_LINKTYPES
            .iter()
            .position(|&l| l == m.linktype)
            .map_or(0x80, |i| i as u8);
        let mut s = vec![sel, 1];
        s.extend_from_slice(&m.linktype.to_le_bytes());
        s.extend_from_slice(&m.wire_len.to_le_bytes());
        s.extend_from_slice(f);
        out.write("decode", &c.name, &s);
    }
}

fn defrag_record(s: &mut Vec<u8>, lt_sel: u8, step: u8, f: &[u8]) {
    let f = &f[..f.len().min(65535)];
    s.extend_from_slice(&(f.len() as u16).to_le_bytes());
    s.push(step);
    s.push(lt_sel);
    s.extend_from_slice(f);
}

fn defrag_seeds(out: &mut Out, c: &Capture) {
    let mut d = Decoded::default();
    let frags: Vec<(u8, &[u8])> = c
        .frames
        .iter()
        .filter_map(|(m, f)| {
            let sel = DEFRAG_LINKTYPES.iter().position(|&l| l == m.linktype)? as u8;
            decode(m.linktype, f, m.wire_len, &mut d);
            d.has_anomaly(anomaly::FRAGMENT).then_some((sel, &f[..]))
        })
        .take(64)
        .collect();
    if frags.is_empty() {
        return;
    }
    for reversed in [false, true] {
        let mut s = vec![0u8];
        let mut list = frags.clone();
        if reversed {
            list.reverse();
        }
        for (sel, f) in list {
            defrag_record(&mut s, sel, 0, f);
        }
        out.write("ip_defrag", &c.name, &s);
    }
}

fn ipv4_fragment(id: u16, off: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let mut h = vec![
        0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    h[2..4].copy_from_slice(&((20 + data.len()) as u16).to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    let fo = (off / 8) as u16 | if more { 0x2000 } else { 0 };
    h[6..8].copy_from_slice(&fo.to_be_bytes());
    h.extend_from_slice(data);
    h
}

fn ipv6_fragment(id: u32, off: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0, 0, 0, 44, 64];
    h[4..6].copy_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    let fo = (off as u16) | u16::from(more);
    h.extend_from_slice(&[17, 0]);
    h.extend_from_slice(&fo.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(data);
    h
}

fn synthetic_defrag(out: &mut Out) {
    // A UDP datagram of 8 + 40 bytes in three fragments (24, 16, 8 bytes).
    let mut udp = vec![0x30, 0x39, 0x00, 0x35, 0, 48, 0, 0];
    udp.extend((0..40u8).map(|i| b'a' + i % 26));
    let cuts = [(0usize, 24usize, true), (24, 40, true), (40, 48, false)];
    for (name, order) in [
        ("v4", [0usize, 1, 2]),
        ("v4-rev", [2, 1, 0]),
        ("v4-mid", [1, 0, 2]),
    ] {
        let mut s = vec![0u8];
        for &k in &order {
            let (a, b, more) = cuts[k];
            defrag_record(&mut s, 2, 1, &ipv4_fragment(7, a, more, &udp[a..b]));
        }
        // An overlapping, conflicting copy of the middle fragment.
        defrag_record(&mut s, 2, 1, &ipv4_fragment(8, 8, true, &[0xee; 16]));
        out.write("ip_defrag", name, &s);
    }
    for (name, order) in [("v6", [0usize, 1, 2]), ("v6-rev", [2, 1, 0])] {
        let mut s = vec![0x40u8];
        for &k in &order {
            let (a, b, more) = cuts[k];
            defrag_record(&mut s, 3, 1, &ipv6_fragment(9, a, more, &udp[a..b]));
        }
        out.write("ip_defrag", name, &s);
    }
}

type ConnKey = ([u8; 16], [u8; 16], u16, u16);

struct Seg {
    dir: usize,
    seq: u32,
    flags: u16,
    payload: Vec<u8>,
}

/// TCP segments of each connection (keyed by its first packet's direction), in order.
fn connections(c: &Capture) -> Vec<Vec<Seg>> {
    let mut d = Decoded::default();
    let mut conns: Vec<(ConnKey, Vec<Seg>)> = Vec::new();
    for (m, f) in &c.frames {
        decode(m.linktype, f, m.wire_len, &mut d);
        if d.transport() != Layer::Tcp || d.protocol != 6 {
            continue;
        }
        let fwd: ConnKey = (d.src_ip, d.dst_ip, d.src_port, d.dst_port);
        let rev: ConnKey = (d.dst_ip, d.src_ip, d.dst_port, d.src_port);
        let a = d.payload_offset as usize;
        let payload = f
            .get(a..a + d.payload_captured as usize)
            .unwrap_or(&[])
            .to_vec();
        let (i, dir) = match conns.iter().position(|(k, _)| *k == fwd) {
            Some(i) => (i, 0),
            None => match conns.iter().position(|(k, _)| *k == rev) {
                Some(i) => (i, 1),
                None => {
                    conns.push((fwd, Vec::new()));
                    (conns.len() - 1, 0)
                }
            },
        };
        conns[i].1.push(Seg {
            dir,
            seq: d.tcp_seq,
            flags: d.tcp_flags,
            payload,
        });
    }
    conns.into_iter().map(|(_, s)| s).collect()
}

fn tcp_seeds(out: &mut Out, c: &Capture, conns: &[Vec<Seg>]) {
    let mut dirs: Vec<(usize, Vec<&Seg>)> = Vec::new();
    for conn in conns {
        for dir in 0..2 {
            let segs: Vec<&Seg> = conn.iter().filter(|s| s.dir == dir).collect();
            let bytes = segs.iter().map(|s| s.payload.len()).sum();
            if bytes > 0 {
                dirs.push((bytes, segs));
            }
        }
    }
    dirs.sort_by_key(|d| std::cmp::Reverse(d.0));
    for (_, segs) in dirs.into_iter().take(4) {
        let mut s = Vec::new();
        s.extend_from_slice(&4096u16.to_le_bytes());
        s.extend_from_slice(&4096u16.to_le_bytes());
        let mut records = 0;
        'segs: for g in segs {
            let flags = (g.flags & 0x02 != 0) as u8 | ((g.flags & 0x01 != 0) as u8) << 1 | 0x04;
            let chunks: Vec<&[u8]> = if g.payload.is_empty() {
                vec![&[][..]]
            } else {
                g.payload.chunks(255).collect()
            };
            let mut seq = g.seq;
            for (k, ch) in chunks.into_iter().enumerate() {
                // SYN only on the first piece; its data starts at seq + 1.
                let f = if k == 0 { flags } else { flags & !0x01 };
                s.push(f);
                s.extend_from_slice(&seq.to_le_bytes());
                s.push(ch.len() as u8);
                s.extend_from_slice(ch);
                seq = seq
                    .wrapping_add(ch.len() as u32)
                    .wrapping_add(u32::from(f & 0x01));
                records += 1;
                if records >= 96 {
                    break 'segs;
                }
            }
        }
        out.write("tcp_stream", &c.name, &s);
    }
}

fn tls_seeds(out: &mut Out, c: &Capture, conns: &[Vec<Seg>]) {
    let mut written = 0;
    for conn in conns {
        let mut streams = [TcpStream::new(), TcpStream::new()];
        for g in conn {
            streams[g.dir].push(
                g.seq,
                g.flags & 0x02 != 0,
                g.flags & 0x01 != 0,
                &g.payload,
                16384,
                65536,
            );
        }
        let (a, b) = (streams[0].bytes(), streams[1].bytes());
        let tls = |s: &[u8]| s.len() >= 3 && s[0] == 0x16 && s[1] == 3;
        if !(tls(a) || tls(b)) {
            continue;
        }
        let mut s = (a.len() as u16).to_le_bytes().to_vec();
        s.extend_from_slice(a);
        s.extend_from_slice(b);
        out.write("tls_handshake", &c.name, &s);
        written += 1;
        if written >= 6 {
            break;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: make_corpus PCAP_DIR OUT_DIR");
        std::process::exit(2);
    }
    let (pcaps, dir) = (Path::new(&args[1]), PathBuf::from(&args[2]));
    let mut captures = Vec::new();
    match std::fs::read_dir(pcaps) {
        Ok(rd) => {
            let mut files: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("pcap" | "pcapng" | "cap")
                    )
                })
                .collect();
            files.sort();
            for p in files {
                let name = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                let bytes = std::fs::read(&p).expect("read capture");
                captures.push(read_capture(name, bytes));
            }
        }
        Err(e) => eprintln!(
            "make_corpus: no shared captures ({}: {e}); generated seeds only",
            pcaps.display()
        ),
    }
    captures.extend(generated());
    let mut out = Out {
        dir,
        counts: BTreeMap::new(),
    };
    let mut shapes = HashSet::new();
    for c in &captures {
        out.write(
            "pcap_reader",
            &c.name,
            &c.bytes[..c.bytes.len().min(1 << 20)],
        );
        decode_seeds(&mut out, c, &mut shapes);
        defrag_seeds(&mut out, c);
        let conns = connections(c);
        tcp_seeds(&mut out, c, &conns);
        tls_seeds(&mut out, c, &conns);
    }
    synthetic_defrag(&mut out);
    for (t, n) in &out.counts {
        println!("{t}: {n} seeds in {}", out.dir.join(t).display());
    }
}
