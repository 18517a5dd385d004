//! Real captures replayed back to back into one Ethernet pcap: a benchmark corpus made of
//! real traffic instead of generated flows (docs/performance.md).
//!
//! Every input file's Ethernet frames are written in file order with its timeline moved
//! to start [`GAP_NS`] after the previous file's last frame, so no flow of one file meets
//! a flow of another (the gap is past every idle and active timeout of jj and of the
//! tools it is compared with). Repeating the list (`repeat > 1`) gives a bigger corpus
//! with the same traffic mix; repeated flows are new flows, an hour later. Frames of other
//! link types are skipped and counted; a damaged file contributes the frames before the
//! damage.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use jj_pcap_reader::reader::{open_path, FrameMeta};

use crate::pcap::{PcapWriter, LINKTYPE_ETHERNET};

/// Time between one file's last frame and the next file's first.
pub const GAP_NS: i64 = 3600 * 1_000_000_000;
/// Gaps between frames of one file are capped at this (a file with a bogus timestamp
/// does not stretch the corpus over years).
pub const MAX_INNER_GAP_NS: i64 = 86_400 * 1_000_000_000;

/// What [`replay`] wrote and skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Input files that gave at least one frame (per repetition: counted once).
    pub files_used: u64,
    /// Files with no Ethernet frame or that are not captures: (path, reason).
    pub files_skipped: Vec<(PathBuf, String)>,
    /// Files cut short by damage: (path, error).
    pub files_damaged: Vec<(PathBuf, String)>,
    pub packets: u64,
    /// Frames of other link types, over all repetitions.
    pub frames_skipped: u64,
    /// Bytes written, file header included.
    pub bytes: u64,
}

/// Every file named, and every file under every directory named (recursively), sorted
/// by path so the corpus does not depend on directory order.
pub fn input_files(paths: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
        if p.is_dir() {
            for e in fs::read_dir(p)? {
                walk(&e?.path(), out)?;
            }
        } else {
            out.push(p.to_path_buf());
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if !p.exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no such file or directory", p.display()),
            ));
        }
        walk(p, &mut out)?;
    }
    out.sort();
    Ok(out)
}

/// Writes the Ethernet frames of `files`, `repeat` times over, as one nanosecond pcap
/// starting at `start_ts_ns`.
pub fn replay<W: Write>(
    files: &[PathBuf],
    repeat: u32,
    start_ts_ns: i64,
    out: W,
) -> io::Result<ReplayStats> {
    let mut w = PcapWriter::new(
        BufWriter::with_capacity(1 << 20, out),
        LINKTYPE_ETHERNET,
        true,
    )?;
    let mut stats = ReplayStats::default();
    let mut next_start = start_ts_ns;
    let mut metas: Vec<FrameMeta> = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    for round in 0..repeat.max(1) {
        for path in files {
            let mut reader = match open_path(path) {
                Ok(r) => r,
                Err(e) => {
                    if round == 0 {
                        stats.files_skipped.push((path.clone(), e.to_string()));
                    }
                    continue;
                }
            };
            let mut base: Option<i64> = None;
            let mut last = next_start;
            let mut written = 0u64;
            loop {
                metas.clear();
                data.clear();
                let n = match reader.read_batch(&mut metas, &mut data, 4096, 8 << 20) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        if round == 0 {
                            stats.files_damaged.push((path.clone(), e.to_string()));
                        }
                        break;
                    }
                };
                let mut off = 0usize;
                for m in &metas[..n] {
                    let frame = &data[off..off + m.caplen as usize];
                    off += m.caplen as usize;
                    if m.linktype != LINKTYPE_ETHERNET {
                        stats.frames_skipped += 1;
                        continue;
                    }
                    let b = *base.get_or_insert(m.ts_ns);
                    let ts = next_start + (m.ts_ns - b).clamp(0, MAX_INNER_GAP_NS);
                    last = last.max(ts);
                    w.write_packet(ts, frame, m.wire_len)?;
                    written += 1;
                }
            }
            if written == 0 {
                if round == 0 {
                    stats
                        .files_skipped
                        .push((path.clone(), "no Ethernet frames".into()));
                }
                continue;
            }
            if round == 0 {
                stats.files_used += 1;
            }
            stats.packets += written;
            next_start = last + GAP_NS;
        }
    }
    w.flush()?;
    stats.bytes = w.bytes_written();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcap::PcapNgWriter;

    fn frame(tag: u8) -> Vec<u8> {
        let mut f = vec![0u8; 60];
        f[12] = 0x08; // IPv4 ethertype
        f[59] = tag;
        f
    }

    /// Reads back (ts, last byte) of every frame of a pcap written by `replay`.
    fn read_back(bytes: &[u8]) -> Vec<(i64, u8)> {
        let mut r = jj_pcap_reader::reader::CaptureReader::new(bytes).unwrap();
        let (mut metas, mut data) = (Vec::new(), Vec::new());
        while r.read_batch(&mut metas, &mut data, 1000, 1 << 20).unwrap() > 0 {}
        let mut off = 0;
        metas
            .iter()
            .map(|m| {
                off += m.caplen as usize;
                (m.ts_ns, data[off - 1])
            })
            .collect()
    }

    #[test]
    fn files_are_laid_end_to_end_an_hour_apart_and_repeated() {
        let dir = std::env::temp_dir().join(format!("jj-replay-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        // a.pcap: two frames 2 s apart; b.pcapng: one frame; c: not a capture;
        // d.pcap: a raw-IP capture (link type 101), skipped.
        let mut a = PcapWriter::new(Vec::new(), LINKTYPE_ETHERNET, false).unwrap();
        a.write_packet(5_000_000_000, &frame(1), 60).unwrap();
        a.write_packet(7_000_000_000, &frame(2), 60).unwrap();
        fs::write(dir.join("a.pcap"), a.into_inner()).unwrap();
        let mut b = PcapNgWriter::new(Vec::new(), LINKTYPE_ETHERNET, 65535).unwrap();
        b.write_packet(123, &frame(3), 60).unwrap();
        fs::write(dir.join("b.pcapng"), b.into_inner()).unwrap();
        fs::write(dir.join("c.txt"), b"hello").unwrap();
        let mut d = PcapWriter::new(Vec::new(), 101, false).unwrap();
        d.write_packet(1, &[0x45; 20], 20).unwrap();
        fs::write(dir.join("d.pcap"), d.into_inner()).unwrap();

        let files = input_files(&[dir.clone()]).unwrap();
        assert_eq!(files.len(), 4);
        let mut out = Vec::new();
        let s = replay(&files, 2, 1_000, &mut out).unwrap();
        fs::remove_dir_all(&dir).unwrap();

        assert_eq!(s.files_used, 2);
        assert_eq!(s.files_skipped.len(), 2);
        assert_eq!(s.packets, 6);
        assert_eq!(s.frames_skipped, 2);
        assert_eq!(s.bytes, out.len() as u64);
        let h = GAP_NS;
        let sec = 1_000_000_000;
        assert_eq!(
            read_back(&out),
            vec![
                (1_000, 1),
                (1_000 + 2 * sec, 2),
                (1_000 + 2 * sec + h, 3),
                (1_000 + 2 * sec + 2 * h, 1),
                (1_000 + 4 * sec + 2 * h, 2),
                (1_000 + 4 * sec + 3 * h, 3),
            ]
        );
    }

    #[test]
    fn a_missing_input_is_an_error_naming_it() {
        let e = input_files(&[PathBuf::from("/nonexistent/jj-replay")]).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/jj-replay"), "{e}");
    }
}
