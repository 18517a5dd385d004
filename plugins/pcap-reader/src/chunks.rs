//! Classic pcap read as fixed-size chunks: the framing half of parallel reading.
//!
//! Records carry no sync marker, so where a record starts is known only by walking the
//! record chain from the file header. Copying the bytes is what costs; walking the
//! headers is cheap. So several threads read chunks (fixed byte ranges) at once, and
//! [`PcapChunks::frame`] walks each chunk's record headers in chunk order, starting
//! where the previous chunk's walk ended. A chunk's frames are the records that start
//! in it; one that runs past its end is completed by reading on.
//!
//! Frames, anomalies and errors (kind, offset, message) are those of
//! [`CaptureReader::read_batch_in_place`](crate::CaptureReader::read_batch_in_place)
//! on the same file: tests below compare the two on random and damaged files.
#![forbid(unsafe_code)]

use std::io;

use crate::pcap::PcapState;
use crate::reader::{Anomalies, FrameMeta, ReadError};

/// Largest read made at once to complete a record past the end of a chunk: a corrupt
/// length may claim far more than the file holds, and memory follows what arrives.
const MAX_READ_ON: usize = 1 << 20;

/// Appends up to `n` bytes of the file read at an offset to a buffer; returns how many
/// (0 at end of file).
pub type ReadOn<'a> = dyn FnMut(u64, &mut Vec<u8>, usize) -> io::Result<usize> + 'a;

/// What [`PcapChunks::frame`] found in one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framed {
    /// File offset of the first record starting after this chunk.
    pub next: u64,
    /// The file ended cleanly in this chunk.
    pub end: bool,
    /// The file is damaged here; the frames pushed before it are valid.
    pub error: Option<ReadError>,
}

/// A classic pcap file's framing state (the parsed file header).
#[derive(Clone)]
pub struct PcapChunks {
    st: PcapState,
    start: u64,
}

impl PcapChunks {
    pub(crate) fn new(st: PcapState, start: u64) -> PcapChunks {
        PcapChunks { st, start }
    }

    /// File offset of the first record.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Walks the records that start in the chunk `chunk_start .. chunk_start + chunk_len`
    /// at or after file offset `first`. `data` holds the file's bytes from `chunk_start`
    /// (all `chunk_len` of them unless the file ends first). For each record one
    /// [`FrameMeta`] and the offset of its bytes in `data` are pushed. A record running
    /// past the end of `data` is completed with `read_on(file_offset, data, n)`, which
    /// appends up to `n` bytes read at `file_offset` and returns how many (0 at end of
    /// file).
    #[allow(clippy::too_many_arguments)]
    pub fn frame(
        &self,
        data: &mut Vec<u8>,
        chunk_start: u64,
        chunk_len: u64,
        first: u64,
        read_on: &mut ReadOn<'_>,
        metas: &mut Vec<FrameMeta>,
        offsets: &mut Vec<u64>,
        anomalies: &mut Anomalies,
    ) -> Framed {
        let rec_len = self.st.record_header_len();
        let chunk_end = chunk_start.saturating_add(chunk_len);
        // The file is known to end at `chunk_start + data.len()` once a read came short.
        let mut eof = (data.len() as u64) < chunk_len;
        let mut at = first;
        let done = |next: u64, end: bool, error: Option<ReadError>| Framed { next, end, error };
        // Makes `data` reach `want` bytes when the file has them; false at end of file.
        let mut ensure = |data: &mut Vec<u8>, want: usize, eof: &mut bool| -> io::Result<bool> {
            while data.len() < want {
                if *eof {
                    return Ok(false);
                }
                let n = (want - data.len()).min(MAX_READ_ON);
                let got = read_on(chunk_start + data.len() as u64, data, n)?;
                if got == 0 {
                    *eof = true;
                }
            }
            Ok(true)
        };
        loop {
            if at >= chunk_end {
                return done(at, false, None);
            }
            let Some(rel) = usize::try_from(at - chunk_start).ok() else {
                return done(at, false, None);
            };
            match ensure(data, rel + rec_len, &mut eof) {
                Err(e) => return done(at, false, Some(ReadError::io(at, &e))),
                Ok(true) => {}
                Ok(false) if data.len() <= rel => return done(at, true, None),
                Ok(false) => {
                    let have = (data.len() - rel) as u64;
                    let e = ReadError::truncated(at, "a packet record", have, rec_len as u64);
                    return done(at, false, Some(e));
                }
            }
            let hdr = &data[rel..rel + rec_len];
            let (ts_ns, caplen, wire_len) = match self.st.parse_header(hdr, at, anomalies) {
                Ok(v) => v,
                Err(e) => return done(at, false, Some(e)),
            };
            let end = rel + rec_len + caplen as usize;
            match ensure(data, end, &mut eof) {
                Err(e) => return done(at, false, Some(ReadError::io(at, &e))),
                Ok(true) => {}
                Ok(false) => {
                    let have = (data.len() - rel) as u64;
                    let want = (rec_len + caplen as usize) as u64;
                    let e = ReadError::truncated(at, "a packet record", have, want);
                    return done(at, false, Some(e));
                }
            }
            metas.push(self.st.meta(ts_ns, caplen, wire_len));
            offsets.push((rel + rec_len) as u64);
            at += (rec_len + caplen as usize) as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CaptureReader;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    /// A classic pcap file of `n` records with random lengths (some past the wire length,
    /// some sub-second fields out of range), little- or big-endian.
    fn pcap_file(rng: &mut Rng, n: usize, big: bool) -> Vec<u8> {
        let u32b = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u16b = |v: u16| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut f = Vec::new();
        f.extend(u32b(0xa1b2_c3d4));
        f.extend(u16b(2));
        f.extend(u16b(4));
        f.extend([0u8; 8]);
        f.extend(u32b(65535));
        f.extend(u32b(1));
        for i in 0..n {
            let caplen = match rng.below(10) {
                0 => 0,
                1 => 1500 + rng.below(3000) as u32,
                _ => 14 + rng.below(200) as u32,
            };
            let wire = if rng.below(20) == 0 {
                caplen / 2
            } else {
                caplen + rng.below(9) as u32
            };
            let frac = if rng.below(30) == 0 {
                1_500_000
            } else {
                rng.below(1_000_000) as u32
            };
            f.extend(u32b(1_600_000_000 + i as u32));
            f.extend(u32b(frac));
            f.extend(u32b(caplen));
            f.extend(u32b(wire));
            f.extend((0..caplen).map(|_| rng.next() as u8));
        }
        f
    }

    type Frames = Vec<(FrameMeta, Vec<u8>)>;

    fn sequential(file: &[u8]) -> (Frames, Option<String>, Anomalies) {
        let mut r = match CaptureReader::new(file) {
            Ok(r) => r,
            Err(e) => return (Vec::new(), Some(e.to_string()), Anomalies::default()),
        };
        let mut out = Vec::new();
        loop {
            let (mut metas, mut offsets, mut data) = (Vec::new(), Vec::new(), Vec::new());
            match r.read_batch_in_place(&mut metas, &mut offsets, &mut data, 7, 1 << 20) {
                Ok(0) => return (out, None, r.anomalies()),
                Ok(_) => {}
                Err(e) => return (out, Some(e.to_string()), r.anomalies()),
            }
            for (m, o) in metas.iter().zip(&offsets) {
                out.push((*m, data[*o as usize..][..m.caplen as usize].to_vec()));
            }
        }
    }

    fn chunked(file: &[u8], chunk_len: u64) -> (Frames, Option<String>, Anomalies) {
        let r = CaptureReader::new(file).expect("header");
        let chunks = r.pcap_chunks().expect("classic pcap");
        let mut read_on = |off: u64, v: &mut Vec<u8>, n: usize| -> io::Result<usize> {
            let from = (off as usize).min(file.len());
            let got = &file[from..(from + n).min(file.len())];
            v.extend_from_slice(got);
            Ok(got.len())
        };
        let (mut out, mut an) = (Vec::new(), Anomalies::default());
        let mut first = chunks.start();
        for index in 0.. {
            let chunk_start = chunks.start() + index * chunk_len;
            let from = (chunk_start as usize).min(file.len());
            let mut data = file[from..(from + chunk_len as usize).min(file.len())].to_vec();
            let (mut metas, mut offsets) = (Vec::new(), Vec::new());
            let f = chunks.frame(
                &mut data,
                chunk_start,
                chunk_len,
                first,
                &mut read_on,
                &mut metas,
                &mut offsets,
                &mut an,
            );
            for (m, o) in metas.iter().zip(&offsets) {
                out.push((*m, data[*o as usize..][..m.caplen as usize].to_vec()));
            }
            if let Some(e) = f.error {
                return (out, Some(e.to_string()), an);
            }
            if f.end {
                return (out, None, an);
            }
            first = f.next;
        }
        unreachable!()
    }

    #[test]
    fn chunks_frame_exactly_what_the_sequential_reader_reads() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut damaged, mut lies, mut frames) = (0, 0, 0);
        for case in 0..300 {
            let n = rng.below(60) as usize;
            let mut file = pcap_file(&mut rng, n, case % 2 == 1);
            // Damage some: cut anywhere, or write a length beyond any limit.
            match rng.below(4) {
                0 if file.len() > 24 => {
                    let at = 24 + rng.below(file.len() as u64 - 24) as usize;
                    file.truncate(at);
                }
                1 if file.len() > 40 => {
                    let at = 24 + rng.below(file.len() as u64 - 40) as usize;
                    file[at..at + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
                }
                _ => {}
            }
            let want = sequential(&file);
            damaged += want.1.is_some() as u32;
            lies += want.2.header_lies;
            frames += want.0.len();
            for chunk_len in [1, 7, 16, 100, 1000, 4096, 1 << 20] {
                let got = chunked(&file, chunk_len);
                assert_eq!(got.0.len(), want.0.len(), "case {case}, chunk {chunk_len}");
                assert!(
                    got.0 == want.0,
                    "case {case}, chunk {chunk_len}: frames differ"
                );
                assert_eq!(got.1, want.1, "case {case}, chunk {chunk_len}");
                assert_eq!(got.2, want.2, "case {case}, chunk {chunk_len}");
            }
        }
        // The cases cover damaged files, header anomalies and many frames.
        assert!(
            damaged > 50 && lies > 50 && frames > 3000,
            "{damaged} {lies} {frames}"
        );
    }

    #[test]
    fn only_classic_pcap_is_chunked() {
        let mut ng = Vec::new();
        ng.extend(0x0a0d_0d0au32.to_le_bytes());
        ng.extend(28u32.to_le_bytes());
        ng.extend(0x1a2b_3c4du32.to_le_bytes());
        ng.extend(1u16.to_le_bytes());
        ng.extend(0u16.to_le_bytes());
        ng.extend((-1i64).to_le_bytes());
        ng.extend(28u32.to_le_bytes());
        let r = CaptureReader::new(&ng[..]).expect("pcapng header");
        assert!(r.pcap_chunks().is_none());
        let mut rng = Rng(7);
        let file = pcap_file(&mut rng, 3, false);
        let r = CaptureReader::new(&file[..]).expect("pcap header");
        assert_eq!(r.pcap_chunks().map(|c| c.start()), Some(24));
    }
}
