//! Capture backends: open a source, hand the host batches of raw frames.
use crate::{error::PluginResult, options::Options};
use abi_stable::{
    std_types::{RString, RVec},
    StableAbi,
};

/// One captured frame inside a [`FrameBatch`].
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameHeader {
    /// Nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Offset of the frame's bytes in [`FrameBatch::data`].
    pub data_off: u64,
    /// Captured length (bytes present in `data`).
    pub caplen: u32,
    /// Original length on the wire.
    pub wire_len: u32,
    /// pcap LINKTYPE_* value of this frame.
    pub linktype: u32,
    /// Interface id (pcapng interface index; 0 for single-interface sources).
    pub iface: u32,
}

/// A batch of frames, owned by the host and reused between calls: the backend appends.
#[repr(C)]
#[derive(StableAbi, Debug, Default)]
pub struct FrameBatch {
    pub frames: RVec<FrameHeader>,
    pub data: RVec<u8>,
    /// Soft limits: stop appending once either is reached.
    pub max_frames: u32,
    pub max_bytes: u32,
}

impl FrameBatch {
    pub fn with_limits(max_frames: u32, max_bytes: u32) -> Self {
        FrameBatch {
            frames: RVec::new(),
            data: RVec::new(),
            max_frames,
            max_bytes,
        }
    }

    pub fn clear(&mut self) {
        self.frames.clear();
        self.data.clear();
    }

    /// True once the batch reached one of its limits.
    pub fn is_full(&self) -> bool {
        self.frames.len() >= self.max_frames as usize || self.data.len() >= self.max_bytes as usize
    }

    /// Appends one frame.
    pub fn push(&mut self, ts_ns: i64, bytes: &[u8], wire_len: u32, linktype: u32, iface: u32) {
        let data_off = self.data.len() as u64;
        // `extend_from_slice` on RVec pushes byte by byte; this is one memcpy.
        self.data.extend_from_copy_slice(bytes);
        self.frames.push(FrameHeader {
            ts_ns,
            data_off,
            caplen: bytes.len() as u32,
            wire_len,
            linktype,
            iface,
        });
    }

    /// The bytes of frame `h`.
    pub fn bytes_of(&self, h: &FrameHeader) -> &[u8] {
        let start = h.data_off as usize;
        self.data
            .get(start..start + h.caplen as usize)
            .unwrap_or(&[])
    }
}

/// What a `next_batch` call produced.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchStatus {
    /// Frames were appended (possibly zero for a live source that timed out: see `Idle`).
    Frames = 0,
    /// Live source: no frame arrived within its read timeout. Call again.
    Idle = 1,
    /// The source is exhausted. Frames appended in this call (if any) are still valid.
    End = 2,
}

/// Counters a backend reports (at the end and on demand).
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Frames delivered to the host.
    pub frames: u64,
    /// Bytes delivered (captured lengths).
    pub bytes: u64,
    /// Frames the kernel dropped (live capture).
    pub kernel_drops: u64,
    /// Frames the interface / driver dropped (live capture).
    pub iface_drops: u64,
    /// Records whose header lied (caplen > wire length, ...), delivered after fixing.
    pub header_anomalies: u64,
    /// Byte offset reached in a file source.
    pub offset: u64,
}

/// An open source.
pub trait CaptureSource: Send + 'static {
    /// Appends frames to `batch` (the host cleared it) until a limit or the end is reached.
    /// A corrupt file must first deliver every good frame before it, then fail with one
    /// line naming the byte offset and the problem.
    fn next_batch(&mut self, batch: &mut FrameBatch) -> PluginResult<BatchStatus>;
    fn stats(&self) -> CaptureStats;
}

/// The component a capture library registers.
pub trait CaptureFactory: Send + Sync + 'static {
    type Source: CaptureSource;
    /// How well this backend handles `source` (a path, an interface name or a URL):
    /// 0 = not at all; the host picks the highest score.
    fn probe(&self, source: &str) -> u8;
    fn open(&self, source: &str, options: &Options) -> PluginResult<Self::Source>;
    /// Optional (plugin-api 1.2): the same source read as fixed-size chunks that several
    /// threads can read at once (see [`ChunkedSource`]). `Ok(None)` when this backend or
    /// this source does not support it; the host then reads with [`CaptureFactory::open`]
    /// alone. Called after a successful `open` of the same source.
    fn open_chunked(
        &self,
        _source: &str,
        _options: &Options,
        _chunk_bytes: u64,
    ) -> PluginResult<Option<Box<dyn ChunkedSource>>> {
        Ok(None)
    }
    /// Since plugin-api 1.4: every option key this backend reads (see
    /// [`crate::ExtractorFactory::options`]). `None` (the default): not declared.
    fn options(&self) -> Option<Vec<crate::options::OptionSpec>> {
        None
    }
}

/// What [`ChunkedSource::frame_chunk`] found.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct ChunkFramed {
    /// File offset of the first record that starts after this chunk: the `first` of the
    /// next chunk's `frame_chunk`.
    pub next: u64,
    /// 1: the source ended cleanly in this chunk (the frames appended are the last).
    pub end: u8,
    /// The source is damaged here: the frames appended before it are valid, nothing
    /// after it is read. Same message as the sequential source gives.
    pub error: abi_stable::std_types::ROption<crate::error::PluginError>,
}

/// A file-like source read in fixed-size chunks (plugin-api 1.2).
///
/// Chunk `i` holds the source's bytes `start() + i * chunk_bytes ..` up to the next
/// chunk. Reading is parallel, framing is ordered: the host calls `read_chunk` for
/// several chunks at once from different threads, then `frame_chunk` once per chunk in
/// chunk order, each with the `next` offset the previous chunk's framing returned
/// (`start()` for chunk 0). A chunk's frames are exactly the records that *start* in it;
/// a record running past the chunk's end is completed by `frame_chunk` reading on.
/// Frames, their order, errors and counters must be those of the sequential source.
pub trait ChunkedSource: Send + Sync + 'static {
    /// File offset of the first record (and of chunk 0).
    fn start(&self) -> u64;
    /// Replaces `batch.data` with chunk `index`'s bytes (fewer at the end of the source)
    /// and clears `batch.frames`. May run on several threads at once.
    fn read_chunk(&self, index: u64, batch: &mut FrameBatch) -> PluginResult<()>;
    /// Appends the frames of the records that start in chunk `index` at or after file
    /// offset `first`; `batch` holds what `read_chunk(index)` left there. Frame data may
    /// point anywhere in `batch.data`, which may grow.
    fn frame_chunk(&self, index: u64, first: u64, batch: &mut FrameBatch) -> ChunkFramed;
    /// Counters over the chunks framed so far.
    fn stats(&self) -> CaptureStats;
}

/// Convenience: the description shown by `jj plugins`.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct CaptureDescription {
    /// Source kinds handled, e.g. `file`, `interface`, `url`.
    pub handles: RString,
}
