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
    use jj_plugin_api::{
        abi_stable::std_types::RVec, BatchStatus, CaptureFactory, CaptureSource, CaptureStats,
        FrameBatch, FrameHeader, Options, PluginError, PluginResult,
    };
    use std::{fs::File, io::BufReader, path::Path};

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
            for (m, &off) in self.metas.iter().zip(&self.offsets) {
                batch.frames.push(FrameHeader {
                    ts_ns: m.ts_ns,
                    data_off: off,
                    caplen: m.caplen,
                    wire_len: m.wire_len,
                    linktype: m.linktype,
                    iface: m.iface,
                });
                self.stats.frames += 1;
                self.stats.bytes += m.caplen as u64;
            }
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
