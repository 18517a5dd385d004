//! Whole capture files (pcap, modified pcap, pcapng) through the streaming reader.
//!
//! Input: the bytes of a capture file. The first byte also picks the batch limits (it is
//! part of the file's magic number, so seeds stay real files).
//! Checks: no panic, and the `read_batch` contract — `n == metas.len()`, the frames'
//! captured lengths add up to the bytes appended, `caplen <= wire_len`, `caplen <=
//! MAX_CAPLEN`, nothing is handed out after an error or the end of file, and no more
//! bytes are returned than the file holds.
#![no_main]

use jj_capture_file::{CaptureReader, MAX_CAPLEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let max_frames = [1usize, 3, 64, 4096][usize::from(data.first().copied().unwrap_or(0) & 3)];
    let max_bytes =
        [1usize, 1500, 1 << 16, 8 << 20][usize::from(data.first().copied().unwrap_or(0) >> 2 & 3)];
    let Ok(mut r) = CaptureReader::new(std::io::Cursor::new(data)) else {
        return;
    };
    let (mut metas, mut buf) = (Vec::new(), Vec::new());
    let mut total = 0usize;
    loop {
        metas.clear();
        buf.clear();
        match r.read_batch(&mut metas, &mut buf, max_frames, max_bytes) {
            Ok(0) => {
                assert!(metas.is_empty() && buf.is_empty());
                break;
            }
            Ok(n) => {
                assert_eq!(n, metas.len());
                assert!(n <= max_frames.max(1));
                let sum: usize = metas.iter().map(|m| m.caplen as usize).sum();
                assert_eq!(sum, buf.len(), "captured lengths vs bytes appended");
                for m in &metas {
                    assert!(m.caplen <= m.wire_len, "{m:?}");
                    assert!(m.caplen <= MAX_CAPLEN, "{m:?}");
                }
                total += buf.len();
                assert!(total <= data.len(), "more packet bytes than the file holds");
            }
            Err(e) => {
                assert!(metas.is_empty() && buf.is_empty(), "{e}");
                let _ = e.to_string();
                break;
            }
        }
    }
    // Finished: every further call returns Ok(0).
    metas.clear();
    buf.clear();
    assert_eq!(r.read_batch(&mut metas, &mut buf, 8, 1 << 20).ok(), Some(0));
    assert!(r.offset() <= data.len() as u64);
    let _ = (
        r.format(),
        r.endian(),
        r.interfaces(),
        r.anomalies(),
        r.sections(),
    );
    let _ = format!("{r:?}");
});
