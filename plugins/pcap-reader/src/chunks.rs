//! Capture files read as fixed-size chunks: the framing half of parallel reading.
//!
//! Records carry no sync marker, so where a record starts is known only by walking the
//! record chain from the file header. Copying the bytes out of the page cache is what
//! costs; walking the headers is cheap. So several threads read chunks (fixed byte
//! ranges) at once, and [`Chunks::frame`] walks each chunk's records in chunk order,
//! starting where the previous chunk's walk ended. A chunk's frames are the records that
//! start in it; one that runs past its end is completed by reading on.
//!
//! Classic pcap is framed in place ([`PcapChunks`]: frames point into the chunk). pcapng
//! ([`NgChunks`]) goes through the sequential block parser over the chunk's bytes, which
//! copies each packet once more, out of the cache-hot chunk; the parser's state
//! (byte order, interfaces) carries over from chunk to chunk.
//!
//! Frames, anomalies and errors (kind, offset, message) are those of the sequential
//! reader ([`CaptureReader`](crate::CaptureReader)) on the same file: tests below compare
//! the two on random and damaged files.
#![forbid(unsafe_code)]

use std::io;

use crate::pcap::PcapState;
use crate::pcapng::NgState;
use crate::reader::{Anomalies, FrameMeta, ReadError, Src};

/// Largest read made at once to complete a record past the end of a chunk: a corrupt
/// length may claim far more than the file holds, and memory follows what arrives.
const MAX_READ_ON: usize = 1 << 20;

/// Appends up to `n` bytes of the file read at an offset to a buffer; returns how many
/// (0 at end of file).
pub type ReadOn<'a> = dyn FnMut(u64, &mut Vec<u8>, usize) -> io::Result<usize> + 'a;

/// What [`Chunks::frame`] found in one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framed {
    /// File offset of the first record starting after this chunk.
    pub next: u64,
    /// The file ended cleanly in this chunk.
    pub end: bool,
    /// The file is damaged here; the frames pushed before it are valid.
    pub error: Option<ReadError>,
}

/// The frames of one chunk, and what framing counts over the whole file. Reused from
/// chunk to chunk: [`Chunks::frame`] replaces the frames and adds to the counters.
#[derive(Debug, Default)]
pub struct FrameList {
    /// One per frame, in file order.
    pub metas: Vec<FrameMeta>,
    /// Where each frame's bytes start in the chunk's data.
    pub offsets: Vec<u64>,
    /// Tolerated oddities over every chunk framed so far.
    pub anomalies: Anomalies,
    /// pcapng: the buffer the next chunk's frames are copied into.
    spare: Vec<u8>,
}

/// The framing state of a capture file, either format.
#[derive(Clone)]
pub enum Chunks {
    Pcap(PcapChunks),
    Ng(NgChunks),
}

impl Chunks {
    /// File offset of the first record (and of chunk 0).
    pub fn start(&self) -> u64 {
        match self {
            Chunks::Pcap(c) => c.start(),
            Chunks::Ng(c) => c.start,
        }
    }

    /// Frames the records that start in the chunk `chunk_start .. chunk_start +
    /// chunk_len` at or after file offset `first` into `out` (its frames are replaced).
    /// `data` holds the file's bytes from `chunk_start` (all `chunk_len` of them unless the
    /// file ends first); on return `out.offsets` index `data`. A record running past the
    /// end of `data` is completed with `read_on(file_offset, buf, n)`, which appends up to
    /// `n` bytes read at `file_offset` to `buf` and returns how many (0 at end of file).
    ///
    /// Classic pcap frames point into the chunk as read. pcapng frames are copied into
    /// a spare buffer that is then swapped with `data` (the chunk's bytes are kept in
    /// `out` for the next chunk).
    pub fn frame(
        &mut self,
        data: &mut Vec<u8>,
        chunk_start: u64,
        chunk_len: u64,
        first: u64,
        read_on: &mut ReadOn<'_>,
        out: &mut FrameList,
    ) -> Framed {
        out.metas.clear();
        out.offsets.clear();
        match self {
            Chunks::Pcap(c) => {
                let bytes = ChunkBytes::new(data, chunk_start, chunk_len, read_on);
                c.frame(bytes, first, out)
            }
            Chunks::Ng(c) => {
                let mut copies = std::mem::take(&mut out.spare);
                copies.clear();
                let bytes = ChunkBytes::new(data, chunk_start, chunk_len, read_on);
                let f = c.frame(bytes, first, out, &mut copies);
                out.spare = std::mem::replace(data, copies);
                f
            }
        }
    }
}

/// A pcapng file's framing state: the block parser, whose byte order and interface
/// table carry over from one chunk to the next.
#[derive(Clone)]
pub struct NgChunks {
    st: NgState,
    start: u64,
}

/// A chunk's bytes, which grow past the chunk when a record runs on.
struct ChunkBytes<'a, 'b> {
    /// The file's bytes from `start`.
    data: &'a mut Vec<u8>,
    start: u64,
    /// File offset where the chunk ends (records starting there belong to the next one).
    end: u64,
    /// The file ends at the end of `data`.
    eof: bool,
    read_on: &'a mut ReadOn<'b>,
}

impl<'a, 'b> ChunkBytes<'a, 'b> {
    /// `data` holds chunk bytes as read: fewer than `chunk_len` means the file ended.
    fn new(data: &'a mut Vec<u8>, start: u64, chunk_len: u64, read_on: &'a mut ReadOn<'b>) -> Self {
        let eof = (data.len() as u64) < chunk_len;
        ChunkBytes {
            data,
            start,
            end: start.saturating_add(chunk_len),
            eof,
            read_on,
        }
    }

    /// Makes `data` reach `len` bytes, reading on at least `min_read` bytes at a time
    /// (at most [`MAX_READ_ON`]); `false` when the file ends first.
    fn ensure(&mut self, len: usize, min_read: usize) -> io::Result<bool> {
        while self.data.len() < len {
            if self.eof {
                return Ok(false);
            }
            let n = (len - self.data.len()).max(min_read).min(MAX_READ_ON);
            let at = self.start + self.data.len() as u64;
            if (self.read_on)(at, self.data, n)? == 0 {
                self.eof = true;
            }
        }
        Ok(true)
    }
}

/// Chunk bytes as a `Read` positioned at file offset `pos`, for the pcapng parser.
struct ChunkRead<'a, 'b> {
    bytes: ChunkBytes<'a, 'b>,
    pos: u64,
}

impl io::Read for ChunkRead<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(from) = usize::try_from(self.pos.saturating_sub(self.bytes.start)).ok() else {
            return Ok(0);
        };
        if !buf.is_empty() {
            // Read on in 64 KiB steps, not the parser's few bytes at a time.
            self.bytes.ensure(from + 1, 64 << 10)?;
        }
        let have = self.bytes.data.get(from..).unwrap_or(&[]);
        let n = have.len().min(buf.len());
        buf[..n].copy_from_slice(&have[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl NgChunks {
    pub(crate) fn new(st: NgState, start: u64) -> NgChunks {
        NgChunks { st, start }
    }

    /// Like [`PcapChunks::frame`], except that the frames' bytes are appended to
    /// `copies` and the offsets index `copies`.
    fn frame(
        &mut self,
        bytes: ChunkBytes<'_, '_>,
        first: u64,
        out: &mut FrameList,
        copies: &mut Vec<u8>,
    ) -> Framed {
        let chunk_end = bytes.end;
        let reader = ChunkRead { bytes, pos: first };
        let mut src = Src::at(reader, first);
        loop {
            let at = src.pos();
            if at >= chunk_end {
                return Framed {
                    next: at,
                    end: false,
                    error: None,
                };
            }
            let mark = copies.len();
            match self.st.read_frame(&mut src, copies, &mut out.anomalies) {
                Ok(Some(meta)) => {
                    out.metas.push(meta);
                    out.offsets.push(mark as u64);
                }
                Ok(None) => {
                    return Framed {
                        next: src.pos(),
                        end: true,
                        error: None,
                    };
                }
                Err(e) => {
                    copies.truncate(mark);
                    return Framed {
                        next: src.pos(),
                        end: false,
                        error: Some(e),
                    };
                }
            }
        }
    }
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

    /// [`Chunks::frame`] for classic pcap: frames point into the chunk's bytes; appends
    /// to `out`.
    fn frame(&self, mut bytes: ChunkBytes<'_, '_>, first: u64, out: &mut FrameList) -> Framed {
        let rec_len = self.st.record_header_len();
        let (chunk_start, chunk_end) = (bytes.start, bytes.end);
        let mut at = first;
        let done = |next: u64, end: bool, error: Option<ReadError>| Framed { next, end, error };
        loop {
            if at >= chunk_end {
                return done(at, false, None);
            }
            let Some(rel) = usize::try_from(at - chunk_start).ok() else {
                return done(at, false, None);
            };
            match bytes.ensure(rel + rec_len, 0) {
                Err(e) => return done(at, false, Some(ReadError::io(at, &e))),
                Ok(true) => {}
                Ok(false) if bytes.data.len() <= rel => return done(at, true, None),
                Ok(false) => {
                    let have = (bytes.data.len() - rel) as u64;
                    let e = ReadError::truncated(at, "a packet record", have, rec_len as u64);
                    return done(at, false, Some(e));
                }
            }
            let hdr = &bytes.data[rel..rel + rec_len];
            let (ts_ns, caplen, wire_len) = match self.st.parse_header(hdr, at, &mut out.anomalies)
            {
                Ok(v) => v,
                Err(e) => return done(at, false, Some(e)),
            };
            let end = rel + rec_len + caplen as usize;
            match bytes.ensure(end, 0) {
                Err(e) => return done(at, false, Some(ReadError::io(at, &e))),
                Ok(true) => {}
                Ok(false) => {
                    let have = (bytes.data.len() - rel) as u64;
                    let want = (rec_len + caplen as usize) as u64;
                    let e = ReadError::truncated(at, "a packet record", have, want);
                    return done(at, false, Some(e));
                }
            }
            out.metas.push(self.st.meta(ts_ns, caplen, wire_len));
            out.offsets.push((rel + rec_len) as u64);
            at += (rec_len + caplen as usize) as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CaptureReader;

    use jj_kit::testutil::XorShift64 as Rng;

    fn be_or_le32(big: bool, v: u32) -> [u8; 4] {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn be_or_le16(big: bool, v: u16) -> [u8; 2] {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// A classic pcap file of `n` records with random lengths (some past the wire length,
    /// some sub-second fields out of range), little- or big-endian.
    fn pcap_file(rng: &mut Rng, n: usize, big: bool) -> Vec<u8> {
        let u32b = |v: u32| be_or_le32(big, v);
        let u16b = |v: u16| be_or_le16(big, v);
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
            f.extend((0..caplen).map(|_| rng.next_u64() as u8));
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
        let r = match CaptureReader::new(file) {
            Ok(r) => r,
            Err(e) => return (Vec::new(), Some(e.to_string()), Anomalies::default()),
        };
        let mut chunks = r.chunks().expect("a fresh reader");
        let mut read_on = |off: u64, v: &mut Vec<u8>, n: usize| -> io::Result<usize> {
            let from = (off as usize).min(file.len());
            let got = &file[from..(from + n).min(file.len())];
            v.extend_from_slice(got);
            Ok(got.len())
        };
        let (mut out, mut list) = (Vec::new(), FrameList::default());
        let mut first = chunks.start();
        for index in 0.. {
            let chunk_start = chunks.start() + index * chunk_len;
            let from = (chunk_start as usize).min(file.len());
            let mut data = file[from..(from + chunk_len as usize).min(file.len())].to_vec();
            let f = chunks.frame(
                &mut data,
                chunk_start,
                chunk_len,
                first,
                &mut read_on,
                &mut list,
            );
            for (m, o) in list.metas.iter().zip(&list.offsets) {
                out.push((*m, data[*o as usize..][..m.caplen as usize].to_vec()));
            }
            if let Some(e) = f.error {
                return (out, Some(e.to_string()), list.anomalies);
            }
            if f.end {
                return (out, None, list.anomalies);
            }
            first = f.next;
        }
        unreachable!()
    }

    /// Damages half of the files past their first `header` bytes: a quarter cut anywhere,
    /// a quarter with 4 bytes overwritten by `word`.
    fn damage(rng: &mut Rng, file: &mut Vec<u8>, header: usize, word: [u8; 4]) {
        let room = file.len().saturating_sub(header + 4) as u64;
        match rng.below(4) {
            0 if room > 0 => file.truncate(header + rng.below(room + 4) as usize),
            1 if room > 16 => {
                let at = header + rng.below(room) as usize;
                file[at..at + 4].copy_from_slice(&word);
            }
            _ => {}
        }
    }

    /// Frames `file` in chunks of several sizes (1 byte to 1 MiB) and checks frames,
    /// error and anomaly counters against the sequential reader's; returns the latter.
    fn chunked_matches_sequential(file: &[u8], case: usize) -> (Frames, Option<String>, Anomalies) {
        let want = sequential(file);
        for chunk_len in [1, 7, 16, 100, 1000, 4096, 1 << 20] {
            let got = chunked(file, chunk_len);
            assert_eq!(got.0.len(), want.0.len(), "case {case}, chunk {chunk_len}");
            assert!(
                got.0 == want.0,
                "case {case}, chunk {chunk_len}: frames differ"
            );
            assert_eq!(got.1, want.1, "case {case}, chunk {chunk_len}");
            assert_eq!(got.2, want.2, "case {case}, chunk {chunk_len}");
        }
        want
    }

    #[test]
    fn chunks_frame_exactly_what_the_sequential_reader_reads() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut damaged, mut lies, mut frames) = (0, 0, 0);
        for case in 0..300 {
            let n = rng.below(60) as usize;
            let mut file = pcap_file(&mut rng, n, case % 2 == 1);
            // A length beyond any limit, or anything else wrong in a record header.
            damage(&mut rng, &mut file, 24, [0xff, 0xff, 0xff, 0x7f]);
            let want = chunked_matches_sequential(&file, case);
            damaged += want.1.is_some() as u32;
            lies += want.2.header_lies;
            frames += want.0.len();
        }
        // The cases cover damaged files, header anomalies and many frames.
        assert!(
            damaged > 50 && lies > 50 && frames > 3000,
            "{damaged} {lies} {frames}"
        );
    }

    /// A pcapng file of random blocks: 1-3 sections of either byte order, interfaces with
    /// and without time-resolution and offset options, Enhanced, Simple and obsolete
    /// Packet Blocks (some with options), blocks to skip, interfaces added mid-section.
    fn pcapng_file(rng: &mut Rng) -> Vec<u8> {
        let mut f = Vec::new();
        for _section in 0..1 + rng.below(3) {
            let big = rng.below(2) == 1;
            let u32b = |v: u32| be_or_le32(big, v);
            let u16b = |v: u16| be_or_le16(big, v);
            let block = |f: &mut Vec<u8>, btype: u32, body: &[u8]| {
                let total = 12 + body.len() as u32;
                f.extend(u32b(btype));
                f.extend(u32b(total));
                f.extend_from_slice(body);
                f.extend(u32b(total));
            };
            let pad = |v: &mut Vec<u8>| v.resize(v.len().div_ceil(4) * 4, 0);
            let mut shb = Vec::new();
            shb.extend(u32b(0x1a2b_3c4d));
            shb.extend(u16b(1));
            shb.extend(u16b(0));
            shb.extend((-1i64).to_le_bytes());
            block(&mut f, 0x0a0d_0d0a, &shb);
            let mut snaplens = Vec::new();
            let idb = |f: &mut Vec<u8>, rng: &mut Rng, snaplens: &mut Vec<u32>| {
                let snap = [0, 65535, 100, 64][rng.below(4) as usize];
                let mut b = Vec::new();
                b.extend(u16b(1));
                b.extend(u16b(0));
                b.extend(u32b(snap));
                if rng.below(2) == 1 {
                    b.extend(u16b(9)); // if_tsresol
                    b.extend(u16b(1));
                    b.push([6u8, 9, 3, 0x86][rng.below(4) as usize]);
                    pad(&mut b);
                }
                if rng.below(3) == 0 {
                    b.extend(u16b(14)); // if_tsoffset
                    b.extend(u16b(8));
                    b.extend(if big {
                        1000u64.to_be_bytes()
                    } else {
                        1000u64.to_le_bytes()
                    });
                }
                if rng.below(2) == 1 {
                    b.extend(u16b(0));
                    b.extend(u16b(0));
                }
                block(f, 1, &b);
                snaplens.push(snap);
            };
            idb(&mut f, rng, &mut snaplens);
            for _ in 0..rng.below(40) {
                match rng.below(12) {
                    0 => idb(&mut f, rng, &mut snaplens),
                    1 => block(&mut f, [4, 5, 0x0bad][rng.below(3) as usize], &[7u8; 8]),
                    2 => {
                        let wire = rng.below(300) as u32;
                        let snap = match snaplens[0] {
                            0 => wire,
                            s => wire.min(s),
                        };
                        let mut b = u32b(wire).to_vec();
                        b.extend((0..snap).map(|_| rng.next_u64() as u8));
                        pad(&mut b);
                        block(&mut f, 3, &b);
                    }
                    k => {
                        let iface = rng.below(snaplens.len() as u64) as u32;
                        let caplen = match snaplens[iface as usize] {
                            0 => rng.below(2000) as u32,
                            s => rng.below(u64::from(s) + 1) as u32,
                        };
                        let wire = if rng.below(15) == 0 {
                            caplen / 2
                        } else {
                            caplen + 4
                        };
                        let ts = rng.next_u64() >> 8;
                        let mut b = Vec::new();
                        if k == 3 {
                            b.extend(u16b(iface as u16)); // obsolete Packet Block
                            b.extend(u16b(0));
                        } else {
                            b.extend(u32b(iface));
                        }
                        b.extend(u32b((ts >> 32) as u32));
                        b.extend(u32b(ts as u32));
                        b.extend(u32b(caplen));
                        b.extend(u32b(wire));
                        b.extend((0..caplen).map(|_| rng.next_u64() as u8));
                        pad(&mut b);
                        if rng.below(4) == 0 {
                            b.extend(u16b(1)); // opt_comment
                            b.extend(u16b(3));
                            b.extend(b"hi!\0");
                            b.extend(u16b(0));
                            b.extend(u16b(0));
                        }
                        block(&mut f, if k == 3 { 2 } else { 6 }, &b);
                    }
                }
            }
        }
        f
    }

    #[test]
    fn pcapng_chunks_frame_exactly_what_the_sequential_reader_reads() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let (mut damaged, mut frames, mut clean) = (0, 0, 0);
        for case in 0..300 {
            let mut file = pcapng_file(&mut rng);
            // Past the first SHB: a wrong length, type or trailer.
            damage(&mut rng, &mut file, 28, [0xff, 0xff, 0xff, 0x0f]);
            let want = chunked_matches_sequential(&file, case);
            damaged += want.1.is_some() as u32;
            clean += want.1.is_none() as u32;
            frames += want.0.len();
        }
        assert!(
            damaged > 50 && clean > 100 && frames > 2000,
            "{damaged} {clean} {frames}"
        );
    }

    #[test]
    fn only_a_fresh_reader_is_chunked() {
        let mut rng = Rng(7);
        let file = pcap_file(&mut rng, 3, false);
        let mut r = CaptureReader::new(&file[..]).expect("pcap header");
        assert_eq!(r.chunks().map(|c| c.start()), Some(24));
        let (mut m, mut d) = (Vec::new(), Vec::new());
        r.read_batch(&mut m, &mut d, 1, 1 << 20).expect("a frame");
        assert!(r.chunks().is_none());
    }
}
