//! jj capture backend for pcap / pcapng files (pure Rust, streaming).
//!
//! The reader (`reader`, `pcap`, `pcapng`) is the `jj-pcap-reader` crate, pure parsing
//! over any `Read`, re-exported here; `plugin` is the thin glue that exposes it as the
//! `file` capture component.
#![deny(unsafe_code)]

pub use jj_pcap_reader::{pcap, pcapng, reader};

pub use reader::*;

mod plugin {
    use super::{open_path, CaptureReader, FrameMeta, ReadErrorKind};
    use jj_pcap_reader::chunks::{Chunks, FrameList};
    use jj_plugin_api::{
        abi_stable::std_types::{ROption, RVec},
        BatchStatus, CaptureFactory, CaptureSource, CaptureStats, ChunkFramed, ChunkedSource,
        FrameBatch, FrameHeader, Options, PluginError, PluginResult,
    };
    use std::{fs::File, io, io::BufReader, path::Path, sync::Mutex};

    pub struct FileCapture;

    pub struct FileSource {
        reader: CaptureReader<BufReader<File>>,
        metas: Vec<FrameMeta>,
        /// Where each frame of the batch starts in its data (`read_batch_in_place`).
        offsets: Vec<u64>,
        stats: CaptureStats,
        ended: bool,
    }

    impl CaptureFactory for FileCapture {
        type Source = FileSource;
        /// Reads no options.
        fn options(&self) -> Option<Vec<jj_plugin_api::OptionSpec>> {
            Some(Vec::new())
        }

        fn probe(&self, source: &str) -> u8 {
            if Path::new(source).is_file() {
                100
            } else {
                0
            }
        }

        fn open(&self, source: &str, _options: &Options) -> PluginResult<FileSource> {
            let reader = open_path(Path::new(source)).map_err(|e| {
                let msg = format!("{e}");
                match e.kind {
                    ReadErrorKind::Io => PluginError::io(msg),
                    ReadErrorKind::NotACapture => {
                        PluginError::corrupt(format!("{msg} — jj reads pcap and pcapng files"))
                    }
                    _ => PluginError::corrupt(msg),
                }
            })?;
            Ok(FileSource {
                reader,
                metas: Vec::new(),
                offsets: Vec::new(),
                stats: CaptureStats::default(),
                ended: false,
            })
        }

        /// Classic pcap (framed in place) and pcapng (blocks parsed in chunk order).
        fn open_chunked(
            &self,
            source: &str,
            _options: &Options,
            chunk_bytes: u64,
        ) -> PluginResult<Option<Box<dyn ChunkedSource>>> {
            if cfg!(not(any(unix, windows))) {
                return Ok(None);
            }
            // One open file: the header is parsed through a duplicate of its handle (the
            // positioned reads of the chunks do not use the shared offset), so header and
            // chunks come from the same file even if the path is replaced meanwhile. Any
            // failure here falls back to sequential reading, which reports it.
            let Ok(file) = File::open(source) else {
                return Ok(None);
            };
            let Ok(header) = file.try_clone() else {
                return Ok(None);
            };
            let Ok(reader) = CaptureReader::new(BufReader::new(header)) else {
                return Ok(None);
            };
            let Some(chunks) = reader.chunks() else {
                return Ok(None);
            };
            Ok(Some(Box::new(ChunkedFile {
                file,
                start: chunks.start(),
                chunk_bytes: chunk_bytes.max(1),
                framing: Mutex::new(Framing {
                    chunks,
                    stats: CaptureStats::default(),
                    frames: FrameList::default(),
                }),
            })))
        }
    }

    /// A capture file read in chunks by several threads.
    struct ChunkedFile {
        file: File,
        start: u64,
        chunk_bytes: u64,
        framing: Mutex<Framing>,
    }

    /// The framing state (used in chunk order) and what it accumulates.
    struct Framing {
        chunks: Chunks,
        stats: CaptureStats,
        frames: FrameList,
    }

    /// Appends one frame header per (meta, offset of its bytes in `batch.data`), counted.
    fn push_frames(
        batch: &mut FrameBatch,
        metas: &[FrameMeta],
        offsets: &[u64],
        stats: &mut CaptureStats,
    ) {
        for (m, &off) in metas.iter().zip(offsets) {
            batch.frames.push(FrameHeader {
                ts_ns: m.ts_ns,
                data_off: off,
                caplen: m.caplen,
                wire_len: m.wire_len,
                linktype: m.linktype,
                iface: m.iface,
            });
            stats.frames += 1;
            stats.bytes += m.caplen as u64;
        }
    }

    /// Reads up to `buf.len()` bytes at `offset`; fewer only at the end of the file.
    fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            #[cfg(unix)]
            let r =
                std::os::unix::fs::FileExt::read_at(file, &mut buf[done..], offset + done as u64);
            #[cfg(windows)]
            let r = std::os::windows::fs::FileExt::seek_read(
                file,
                &mut buf[done..],
                offset + done as u64,
            );
            #[cfg(not(any(unix, windows)))]
            let r: io::Result<usize> = Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "positioned reads are not available on this platform",
            ));
            match r {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    /// Appends up to `n` bytes read at `offset` to `v`.
    fn append_at(file: &File, v: &mut Vec<u8>, offset: u64, n: usize) -> io::Result<usize> {
        let old = v.len();
        v.resize(old + n, 0);
        let got = read_full_at(file, &mut v[old..], offset);
        v.truncate(old + *got.as_ref().unwrap_or(&0));
        got
    }

    impl ChunkedSource for ChunkedFile {
        fn start(&self) -> u64 {
            self.start
        }

        fn read_chunk(&self, index: u64, batch: &mut FrameBatch) -> PluginResult<()> {
            batch.frames.clear();
            let mut data = std::mem::take(&mut batch.data).into_vec();
            // A recycled buffer is reused as it is: only growth is zeroed.
            data.resize(self.chunk_bytes as usize, 0);
            let offset = self.start + index * self.chunk_bytes;
            let got = read_full_at(&self.file, &mut data, offset);
            data.truncate(*got.as_ref().unwrap_or(&0));
            batch.data = RVec::from(data);
            got.map(|_| ())
                .map_err(|e| PluginError::io(format!("read error at byte offset {offset}: {e}")))
        }

        fn frame_chunk(&self, index: u64, first: u64, batch: &mut FrameBatch) -> ChunkFramed {
            let mut guard = self.framing.lock().unwrap_or_else(|e| e.into_inner());
            let f = &mut *guard;
            let mut data = std::mem::take(&mut batch.data).into_vec();
            let chunk_start = self.start + index * self.chunk_bytes;
            let mut read_on =
                |off: u64, v: &mut Vec<u8>, n: usize| append_at(&self.file, v, off, n);
            let framed = f.chunks.frame(
                &mut data,
                chunk_start,
                self.chunk_bytes,
                first,
                &mut read_on,
                &mut f.frames,
            );
            batch.data = RVec::from(data);
            push_frames(batch, &f.frames.metas, &f.frames.offsets, &mut f.stats);
            f.stats.offset = framed.next;
            f.stats.header_anomalies = f.frames.anomalies.header_lies;
            ChunkFramed {
                next: framed.next,
                end: framed.end as u8,
                error: match framed.error {
                    Some(e) => ROption::RSome(PluginError::corrupt(format!("{e}"))),
                    None => ROption::RNone,
                },
            }
        }

        fn stats(&self) -> CaptureStats {
            self.framing.lock().unwrap_or_else(|e| e.into_inner()).stats
        }
    }

    impl CaptureSource for FileSource {
        fn next_batch(&mut self, batch: &mut FrameBatch) -> PluginResult<BatchStatus> {
            if self.ended {
                return Ok(BatchStatus::End);
            }
            self.metas.clear();
            let max_frames = (batch.max_frames as usize).max(1);
            let max_bytes = (batch.max_bytes as usize).max(1);
            // Read straight into the batch's buffer: taking the RVec as a Vec and giving it
            // back is O(1), so frame bytes are copied once, from the file buffer.
            let mut data = std::mem::take(&mut batch.data).into_vec();
            self.offsets.clear();
            let res = self.reader.read_batch_in_place(
                &mut self.metas,
                &mut self.offsets,
                &mut data,
                max_frames,
                max_bytes,
            );
            batch.data = RVec::from(data);
            push_frames(batch, &self.metas, &self.offsets, &mut self.stats);
            self.stats.offset = self.reader.offset();
            self.stats.header_anomalies = self.reader.anomalies().header_lies;
            match res {
                Ok(0) => {
                    self.ended = true;
                    Ok(BatchStatus::End)
                }
                Ok(_) => Ok(BatchStatus::Frames),
                Err(e) => {
                    self.ended = true;
                    Err(PluginError::corrupt(format!("{e}")))
                }
            }
        }

        fn stats(&self) -> CaptureStats {
            self.stats
        }
    }
}

pub use plugin::FileCapture;

jj_plugin_api::export_plugin! {
    name: "jj-capture-file",
    version: env!("CARGO_PKG_VERSION"),
    captures: [ "file" => ("pcap and pcapng files (pure Rust, streaming)", FileCapture) ],
}
