//! Streaming pcap / pcapng reader: the public API.
//!
//! [`CaptureReader`] detects the file format from its magic number (never from
//! the file name), then hands out frames in batches with [`CaptureReader::read_batch`].
//! It never loads the whole file: memory use is bounded by the largest record,
//! and packet bytes are read straight into the caller's (reused) buffer.
//!
//! The format-specific parsing lives in [`crate::pcap`] and [`crate::pcapng`].

#![forbid(unsafe_code)]

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use crate::{pcap, pcapng};

/// Hard upper bound for the captured length of one packet (256 MiB), whatever
/// the snapshot length in the file header says.
pub const MAX_CAPLEN: u32 = 256 * 1024 * 1024;

/// libpcap's maximum snapshot length. A record may claim more than the
/// file's snaplen as long as it stays within `max(snaplen, LIBPCAP_MAX_SNAPLEN)`.
pub const LIBPCAP_MAX_SNAPLEN: u32 = 262_144;

/// Size of the `BufReader` used by [`open_path`] for pcapng (read block by block, copied
/// out of this buffer).
pub const OPEN_PATH_BUFFER: usize = 64 << 10;

/// Size of the `BufReader` used by [`open_path`] for classic pcap. `read_batch_in_place`
/// fills its buffer through `read_to_end`, whose reads start at 8 KiB and grow; a read at
/// least as large as the `BufReader`'s buffer goes straight to the file when the buffer
/// is empty, so with 8 KiB every refill is read in place. With 64 KiB the first 64 KiB of
/// every refill went through the buffer (one more copy: 18% of the bytes of a
/// real-traffic corpus, 7% of the 1,000 MB bench capture).
pub const OPEN_PATH_PCAP_BUFFER: usize = 8 << 10;

/// `read_batch_in_place`: bytes read per refill at least / at most (unless one record
/// needs more).
const INPLACE_MIN_READ: u64 = 8 << 10;
const INPLACE_MAX_READ: u64 = 4 << 20;

/// Largest packet a record may claim given the interface/file snaplen
/// (`max(snaplen, 262144)`, capped at [`MAX_CAPLEN`]).
pub fn caplen_limit(snaplen: u32) -> u32 {
    snaplen.clamp(LIBPCAP_MAX_SNAPLEN, MAX_CAPLEN)
}

/// Metadata of one frame. Its captured bytes are `caplen` bytes in the data buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct FrameMeta {
    /// Timestamp in nanoseconds since the Unix epoch (0 for pcapng Simple Packet Blocks).
    pub ts_ns: i64,
    /// Number of bytes captured (appended to the data buffer).
    pub caplen: u32,
    /// Original length of the packet on the wire (never less than `caplen`).
    pub wire_len: u32,
    /// Link-layer type (LINKTYPE_* value; low 16 bits of the pcap header field).
    pub linktype: u32,
    /// Interface index: always 0 for classic pcap; the interface id within the
    /// current section for pcapng (index into [`CaptureReader::interfaces`]).
    pub iface: u32,
}

/// Category of a [`ReadError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadErrorKind {
    /// The underlying reader failed (or the file could not be opened).
    Io,
    /// Unknown magic number, empty file, or a file shorter than its file header.
    NotACapture,
    /// Structurally invalid data (bad lengths, absurd packet sizes, unknown interface...).
    Corrupt,
    /// The file ends in the middle of a record or block.
    Truncated,
    /// A recognised format, but a version/feature this reader does not handle.
    Unsupported,
}

/// An error while reading a capture. `offset` is the byte offset of the
/// offending record/block (or of the file header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub offset: u64,
    pub kind: ReadErrorKind,
    pub detail: String,
}

impl ReadError {
    pub fn new(offset: u64, kind: ReadErrorKind, detail: impl Into<String>) -> Self {
        ReadError {
            offset,
            kind,
            detail: detail.into(),
        }
    }

    pub(crate) fn io(offset: u64, err: &io::Error) -> Self {
        ReadError::new(offset, ReadErrorKind::Io, format!("read error: {err}"))
    }

    pub(crate) fn truncated(offset: u64, what: &str, have: u64, want: u64) -> Self {
        ReadError::new(
            offset,
            ReadErrorKind::Truncated,
            format!("file ends in the middle of {what} ({have} of {want} bytes)"),
        )
    }

    #[cold]
    pub(crate) fn too_big(offset: u64, caplen: u32, limit: u32) -> Self {
        ReadError::new(
            offset,
            ReadErrorKind::Corrupt,
            format!(
                "record claims {caplen}-byte packet, more than the maximum of {limit} (corrupt file?)"
            ),
        )
    }

    /// NotACapture error quoting the first bytes of the file.
    pub(crate) fn not_a_capture(first: &[u8], why: &str) -> Self {
        let detail = if first.is_empty() {
            "not a pcap or pcapng file (the file is empty)".to_string()
        } else {
            let mut d = format!("not a pcap or pcapng file (first bytes: {})", hex(first));
            if !why.is_empty() {
                d.push_str(": ");
                d.push_str(why);
            }
            d
        };
        ReadError::new(0, ReadErrorKind::NotACapture, detail)
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte offset {}: {}", self.offset, self.detail)
    }
}

impl std::error::Error for ReadError {}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Capture file format, detected from the magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Classic pcap, microsecond timestamps (magic a1b2c3d4).
    PcapMicro,
    /// Classic pcap, nanosecond timestamps (magic a1b23c4d).
    PcapNano,
    /// Kuznetzov "modified" pcap (magic a1b2cd34), 24-byte record headers, µs timestamps.
    PcapModified,
    /// pcapng.
    PcapNg,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::PcapMicro => "pcap (microsecond)",
            Format::PcapNano => "pcap (nanosecond)",
            Format::PcapModified => "pcap (Kuznetzov modified)",
            Format::PcapNg => "pcapng",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Byte order of the file (for pcapng: of the current section).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    Little,
    Big,
}

impl Endian {
    #[inline]
    pub(crate) fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }

    #[inline]
    pub(crate) fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    #[inline]
    pub(crate) fn u64(self, b: [u8; 8]) -> u64 {
        match self {
            Endian::Little => u64::from_le_bytes(b),
            Endian::Big => u64::from_be_bytes(b),
        }
    }

    /// Reads a `u16` at `at` from a fixed-size header array (caller guarantees bounds
    /// through the array type; out-of-range reads return 0 instead of panicking).
    #[inline]
    pub(crate) fn u16_at(self, b: &[u8], at: usize) -> u16 {
        match b.get(at..at.wrapping_add(2)) {
            Some(s) => self.u16([s[0], s[1]]),
            None => 0,
        }
    }

    #[inline]
    pub(crate) fn u32_at(self, b: &[u8], at: usize) -> u32 {
        match b.get(at..at.wrapping_add(4)) {
            Some(s) => self.u32([s[0], s[1], s[2], s[3]]),
            None => 0,
        }
    }

    #[inline]
    pub(crate) fn u64_at(self, b: &[u8], at: usize) -> u64 {
        match b.get(at..at.wrapping_add(8)) {
            Some(s) => self.u64([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]),
            None => 0,
        }
    }
}

/// Description of a capture interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// Link-layer type (LINKTYPE_*).
    pub linktype: u32,
    /// Snapshot length (0 = unlimited in pcapng).
    pub snaplen: u32,
    /// Raw `if_tsresol` value: high bit clear = 10^-v seconds, set = 2^-(v & 0x7f).
    /// 6 (µs) by default; classic pcap reports 6 or 9.
    pub tsresol: u8,
    /// `if_tsoffset`: seconds added to every timestamp (0 by default).
    pub ts_offset_s: i64,
    /// `if_name`, if present.
    pub name: Option<String>,
}

impl InterfaceInfo {
    pub(crate) fn new(linktype: u32, snaplen: u32, tsresol: u8) -> Self {
        InterfaceInfo {
            linktype,
            snaplen,
            tsresol,
            ts_offset_s: 0,
            name: None,
        }
    }
}

/// Counters of tolerated oddities (the reader accepted the data but it was not quite right).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Anomalies {
    /// Records whose captured length exceeded the original (wire) length;
    /// `wire_len` was raised to `caplen`.
    pub header_lies: u64,
    /// Records whose captured length exceeded the snaplen (accepted up to
    /// `max(snaplen, 262144)`).
    pub over_snaplen: u64,
    /// Classic pcap records whose sub-second field was >= 1 second.
    pub bad_ts_fraction: u64,
    /// Timestamps that did not fit an i64 of nanoseconds and were clamped.
    pub ts_clamped: u64,
    /// pcapng options that were malformed (overrunning the block, wrong size) and ignored.
    pub bad_options: u64,
    /// pcapng blocks skipped because they carry no packets (NRB, ISB, DSB, custom, unknown...).
    pub skipped_blocks: u64,
}

impl Anomalies {
    /// Counts what a record's lengths say (caplen past the snap length, or past the wire
    /// length) and returns the wire length to use: never below `caplen`.
    pub(crate) fn lengths(&mut self, caplen: u32, orig: u32, snaplen: u32) -> u32 {
        if snaplen != 0 && caplen > snaplen {
            self.over_snaplen += 1;
        }
        if caplen > orig {
            self.header_lies += 1;
            caplen
        } else {
            orig
        }
    }
}

/// Byte source that tracks its offset. Never allocates.
pub(crate) struct Src<R> {
    inner: R,
    pos: u64,
}

impl<R: Read> Src<R> {
    pub(crate) fn new(inner: R) -> Self {
        Src { inner, pos: 0 }
    }

    /// A source whose first byte is at file offset `pos`.
    pub(crate) fn at(inner: R, pos: u64) -> Self {
        Src { inner, pos }
    }

    #[inline]
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// Reads until `buf` is full or end of file; returns how many bytes were read.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.inner.read(&mut buf[done..]) {
                Ok(0) => break,
                Ok(n) => {
                    // A misbehaving reader could claim more than it was given.
                    let n = n.min(buf.len() - done);
                    done += n;
                    self.pos = self.pos.saturating_add(n as u64);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    /// Appends up to `n` bytes to `v` (stopping early at end of file); returns how many.
    /// `read_to_end` through `take` reads into `v`'s spare capacity without zeroing it
    /// first, and grows `v` only as data arrives, so memory follows what the file
    /// actually holds whatever length a corrupt record claims.
    pub(crate) fn fill_vec(&mut self, v: &mut Vec<u8>, n: usize) -> io::Result<usize> {
        let start = v.len();
        let res = (&mut self.inner).take(n as u64).read_to_end(v);
        let got = v.len() - start;
        self.pos = self.pos.saturating_add(got as u64);
        res.map(|_| got)
    }

    /// Skips `n` bytes; returns how many were skipped (fewer at end of file).
    pub(crate) fn skip(&mut self, n: u64) -> io::Result<u64> {
        let mut buf = [0u8; 4096];
        let mut done = 0u64;
        while done < n {
            let want = (n - done).min(buf.len() as u64) as usize;
            let got = self.fill(&mut buf[..want])?;
            done += got as u64;
            if got < want {
                break;
            }
        }
        Ok(done)
    }
}

enum Body {
    Pcap(pcap::PcapState),
    Ng(pcapng::NgState),
}

/// Streaming reader for pcap, modified pcap and pcapng files.
pub struct CaptureReader<R: Read> {
    src: Src<R>,
    format: Format,
    body: Body,
    anomalies: Anomalies,
    /// Error hit after some frames were returned; handed out by the next call.
    pending: Option<ReadError>,
    /// End of file reached or error returned: every further call returns Ok(0).
    finished: bool,
    /// [`CaptureReader::read_batch_in_place`]: bytes read past the last whole record,
    /// handed out first by the next call.
    carry: Vec<u8>,
    /// Frames and bytes (headers included) parsed in place so far: the refill estimate.
    inplace_frames: u64,
    inplace_bytes: u64,
    /// Nothing read past the file header yet (see [`CaptureReader::chunks`]).
    fresh: bool,
}

impl<R: Read> fmt::Debug for CaptureReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureReader")
            .field("format", &self.format)
            .field("endian", &self.endian())
            .field("offset", &self.src.pos())
            .field("interfaces", &self.interfaces())
            .field("anomalies", &self.anomalies)
            .field("finished", &self.finished)
            .finish()
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header; detects the format by magic number (never by file extension).
    pub fn new(r: R) -> Result<Self, ReadError> {
        let mut src = Src::new(r);
        let mut first = [0u8; 16];
        let got = src
            .fill(&mut first[..4])
            .map_err(|e| ReadError::io(0, &e))?;
        if got < 4 {
            return Err(ReadError::not_a_capture(
                &first[..got],
                "too short for a capture file header",
            ));
        }
        let magic = [first[0], first[1], first[2], first[3]];
        let (format, body) = if let Some((format, endian)) = pcap::detect(magic) {
            let st = pcap::open(&mut src, magic, format, endian)?;
            (format, Body::Pcap(st))
        } else if magic == pcapng::SHB_MAGIC_BYTES {
            (Format::PcapNg, Body::Ng(pcapng::NgState::open(&mut src)?))
        } else {
            // Read a few more bytes so the message shows something useful.
            let more = src.fill(&mut first[4..]).unwrap_or(0);
            let shown = &first[..4 + more];
            return Err(ReadError::not_a_capture(shown, sniff_hint(shown)));
        };
        Ok(CaptureReader {
            src,
            format,
            body,
            anomalies: Anomalies::default(),
            pending: None,
            finished: false,
            carry: Vec::new(),
            inplace_frames: 0,
            inplace_bytes: 0,
            fresh: true,
        })
    }

    /// The detected format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Byte order of the file (pcapng: of the current section).
    pub fn endian(&self) -> Endian {
        match &self.body {
            Body::Pcap(st) => st.endian(),
            Body::Ng(st) => st.endian(),
        }
    }

    /// Appends up to `max_frames` frames (stopping also once `data` grew by
    /// `>= max_bytes`): metadata into `metas`, captured bytes appended contiguously
    /// to `data` (frame i's bytes are the next `meta.caplen` bytes).
    ///
    /// Returns how many frames were appended; `Ok(0)` means clean end of file.
    /// At least one frame is read per call (unless at end of file or on error),
    /// so `max_frames == 0` / `max_bytes == 0` behave like 1.
    ///
    /// If an error is hit after some frames were appended in this call, those
    /// frames are returned (`Ok(n)`) and the error comes from the next call.
    /// After an error (or end of file), every further call returns `Ok(0)`.
    /// On error, nothing of the failing record is left in `metas`/`data`.
    pub fn read_batch(
        &mut self,
        metas: &mut Vec<FrameMeta>,
        data: &mut Vec<u8>,
        max_frames: usize,
        max_bytes: usize,
    ) -> Result<usize, ReadError> {
        if let Some(done) = self.done() {
            return done;
        }
        let max_frames = max_frames.max(1);
        let start = data.len();
        let mut n = 0usize;
        loop {
            let mark = data.len();
            let res = match &mut self.body {
                Body::Pcap(st) => st.read_record(&mut self.src, data, &mut self.anomalies),
                Body::Ng(st) => st.read_frame(&mut self.src, data, &mut self.anomalies),
            };
            match res {
                Ok(Some(meta)) => {
                    metas.push(meta);
                    n += 1;
                }
                Ok(None) => {
                    self.finished = true;
                    break;
                }
                Err(e) => {
                    data.truncate(mark);
                    self.finished = true;
                    if n == 0 {
                        return Err(e);
                    }
                    self.pending = Some(e);
                    break;
                }
            }
            if n >= max_frames || data.len() - start >= max_bytes {
                break;
            }
        }
        Ok(n)
    }

    /// Like [`CaptureReader::read_batch`], except that frame `i`'s bytes are
    /// `data[offsets[i]..][..metas[i].caplen]` and need not be contiguous (one offset is
    /// pushed per frame).
    ///
    /// For classic pcap the file is read in large chunks straight into `data` and parsed
    /// there, record headers left between the frames: every byte is copied once, by the
    /// `read` itself, instead of once more out of a read buffer. Bytes read past the
    /// batch's last whole record are kept and put first into the next call's `data`.
    /// Other formats are read by [`CaptureReader::read_batch`]. Use one of the two
    /// methods for the whole file, not both.
    pub fn read_batch_in_place(
        &mut self,
        metas: &mut Vec<FrameMeta>,
        offsets: &mut Vec<u64>,
        data: &mut Vec<u8>,
        max_frames: usize,
        max_bytes: usize,
    ) -> Result<usize, ReadError> {
        if let Some(done) = self.done() {
            return done;
        }
        let st = match &self.body {
            Body::Pcap(st) => st,
            Body::Ng(_) => {
                let (first, mut off) = (metas.len(), data.len() as u64);
                let res = self.read_batch(metas, data, max_frames, max_bytes);
                for m in &metas[first..] {
                    offsets.push(off);
                    off += u64::from(m.caplen);
                }
                return res;
            }
        };
        let max_frames = max_frames.max(1);
        let rec_len = st.record_header_len();
        let start = data.len();
        // file offset of data[start]
        let base_off = self.src.pos() - self.carry.len() as u64;
        if data.is_empty() {
            // The usual case (the host cleared the batch): the carried bytes' buffer
            // becomes the batch's, and the batch's old buffer takes the next carry. The
            // two buffers trade places every call, and the carry is copied once, not twice.
            std::mem::swap(data, &mut self.carry);
        } else {
            data.extend_from_slice(&self.carry);
        }
        self.carry.clear();
        let mut at = start;
        let mut n = 0usize;
        let mut failure = None;
        loop {
            // Refill with about what the rest of the batch needs (average record size so
            // far), at least `need` more bytes, within [8 KiB, 4 MiB] per read. Bytes
            // read beyond the batch are copied to the carry: a small minimum keeps that
            // small. (The average is worked out only when a refill is due, not per record.)
            let (bytes_so_far, frames_so_far) = (self.inplace_bytes, self.inplace_frames);
            let refill = |src: &mut Src<R>, data: &mut Vec<u8>, need: usize| {
                let avg = bytes_so_far.checked_div(frames_so_far).unwrap_or(2048);
                let estimate = (max_frames - n) as u64 * avg;
                let want = estimate
                    .max(need as u64)
                    .clamp(INPLACE_MIN_READ, INPLACE_MAX_READ)
                    .max(need as u64);
                // A corrupt length may ask for far more than the file holds: reserve at
                // most one large read ahead; `fill_vec` grows as data really arrives.
                data.reserve(want.min(INPLACE_MAX_READ) as usize);
                src.fill_vec(data, want as usize)
            };
            let off = base_off + (at - start) as u64;
            if data.len() - at < rec_len {
                match refill(&mut self.src, data, rec_len - (data.len() - at)) {
                    Err(e) => {
                        failure = Some(ReadError::io(off, &e));
                        break;
                    }
                    Ok(0) if data.len() == at => {
                        self.finished = true;
                        break;
                    }
                    Ok(0) => {
                        let have = (data.len() - at) as u64;
                        let e = ReadError::truncated(off, "a packet record", have, rec_len as u64);
                        failure = Some(e);
                        break;
                    }
                    Ok(_) => continue,
                }
            }
            let hdr = &data[at..at + rec_len];
            let (ts_ns, caplen, wire_len) = match st.parse_header(hdr, off, &mut self.anomalies) {
                Ok(v) => v,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            let end = at + rec_len + caplen as usize;
            while data.len() < end {
                match refill(&mut self.src, data, end - data.len()) {
                    Ok(0) => {
                        let have = (data.len() - at) as u64;
                        let want = (rec_len + caplen as usize) as u64;
                        failure = Some(ReadError::truncated(off, "a packet record", have, want));
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        failure = Some(ReadError::io(off, &e));
                        break;
                    }
                }
            }
            if failure.is_some() {
                break;
            }
            metas.push(st.meta(ts_ns, caplen, wire_len));
            offsets.push((at + rec_len) as u64);
            self.inplace_frames += 1;
            self.inplace_bytes += (end - at) as u64;
            n += 1;
            at = end;
            if n >= max_frames || at - start >= max_bytes {
                break;
            }
        }
        match failure {
            None => {
                self.carry.extend_from_slice(&data[at..]);
                data.truncate(at);
                Ok(n)
            }
            Some(e) => {
                data.truncate(at);
                self.finished = true;
                if n == 0 {
                    return Err(e);
                }
                self.pending = Some(e);
                Ok(n)
            }
        }
    }

    /// What a read call returns without reading: the error held back from the previous
    /// call, or `Ok(0)` once finished; `None` to go on reading. Every read call starts
    /// here, so from then on the reader is no longer fresh.
    fn done(&mut self) -> Option<Result<usize, ReadError>> {
        self.fresh = false;
        if let Some(e) = self.pending.take() {
            self.finished = true;
            return Some(Err(e));
        }
        self.finished.then_some(Ok(0))
    }

    /// Before any frame was read: the state to frame the rest of the file in chunks
    /// (several threads reading at once, see [`crate::chunks`]); `None` once reading
    /// started.
    pub fn chunks(&self) -> Option<crate::chunks::Chunks> {
        if !self.fresh {
            return None;
        }
        let start = self.src.pos();
        Some(match &self.body {
            Body::Pcap(st) => {
                crate::chunks::Chunks::Pcap(crate::chunks::PcapChunks::new(st.clone(), start))
            }
            Body::Ng(st) => {
                crate::chunks::Chunks::Ng(crate::chunks::NgChunks::new(st.clone(), start))
            }
        })
    }

    /// Bytes consumed so far (for progress and error offsets).
    pub fn offset(&self) -> u64 {
        self.src.pos()
    }

    /// pcapng: interface descriptions of the current section seen so far
    /// (a new Section Header Block resets them); pcap: one entry.
    pub fn interfaces(&self) -> &[InterfaceInfo] {
        match &self.body {
            Body::Pcap(st) => st.interfaces(),
            Body::Ng(st) => st.interfaces(),
        }
    }

    /// Counters of tolerated oddities seen so far.
    pub fn anomalies(&self) -> Anomalies {
        self.anomalies
    }

    /// pcapng: number of Section Header Blocks seen so far; pcap: 1.
    pub fn sections(&self) -> u64 {
        match &self.body {
            Body::Pcap(_) => 1,
            Body::Ng(st) => st.sections(),
        }
    }
}

/// A hint for common non-capture files (compressed captures mostly).
fn sniff_hint(b: &[u8]) -> &'static str {
    if b.starts_with(&[0x1f, 0x8b]) {
        "looks gzip-compressed; decompress it first"
    } else if b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "looks zstd-compressed; decompress it first"
    } else if b.starts_with(b"BZh") {
        "looks bzip2-compressed; decompress it first"
    } else if b.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        "looks xz-compressed; decompress it first"
    } else if b.starts_with(b"PK\x03\x04") {
        "looks like a zip archive; extract it first"
    } else if b.starts_with(b"snoop\0") {
        "looks like a Solaris snoop capture, which is not supported"
    } else {
        "unknown magic number"
    }
}

/// Opens a capture file with a buffered reader sized for its format
/// ([`OPEN_PATH_PCAP_BUFFER`] for classic pcap, [`OPEN_PATH_BUFFER`] otherwise).
pub fn open_path(path: &Path) -> Result<CaptureReader<BufReader<File>>, ReadError> {
    let f = File::open(path).map_err(|e| {
        ReadError::new(
            0,
            ReadErrorKind::Io,
            format!("cannot open {}: {e}", path.display()),
        )
    })?;
    let capacity = if is_classic_pcap(&f) {
        OPEN_PATH_PCAP_BUFFER
    } else {
        OPEN_PATH_BUFFER
    };
    CaptureReader::new(BufReader::with_capacity(capacity, f))
}

/// Peeks at the magic number without moving the file position (`false` when the file
/// cannot be read at an offset, e.g. a pipe).
fn is_classic_pcap(f: &File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        let mut magic = [0u8; 4];
        matches!(f.read_at(&mut magic, 0), Ok(4)) && pcap::detect(magic).is_some()
    }
    #[cfg(not(unix))]
    {
        let _ = f;
        false
    }
}
