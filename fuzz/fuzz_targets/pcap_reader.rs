//! Whole capture files (pcap, modified pcap, pcapng) through the streaming reader.
//!
//! Input: the bytes of a capture file. The first byte also picks the batch limits (it is
//! part of the file's magic number, so seeds stay real files).
//! Checks: no panic, and the `read_batch` contract — `n == metas.len()`, the frames'
//! captured lengths add up to the bytes appended, `caplen <= wire_len`, `caplen <=
//! MAX_CAPLEN`, nothing is handed out after an error or the end of file, and no more
//! bytes are returned than the file holds; and `read_batch_in_place` (the plugin's path)
//! returns exactly what `read_batch` returns.
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
    // The in-place reader (what the capture plugin uses) gives the same frames, bytes
    // and error as `read_batch`.
    if let Ok(mut r2) = CaptureReader::new(std::io::Cursor::new(data)) {
        let (mut first, mut second) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
        let mut r1 = CaptureReader::new(std::io::Cursor::new(data)).expect("parsed above");
        let err1 = loop {
            let (mut m, mut b) = (Vec::new(), Vec::new());
            match r1.read_batch(&mut m, &mut b, max_frames, max_bytes) {
                Ok(0) => break None,
                Ok(_) => {
                    first.0.extend(m);
                    first.1.extend(b);
                }
                Err(e) => break Some(e),
            }
        };
        let err2 = loop {
            let (mut m, mut o, mut b) = (Vec::new(), Vec::new(), Vec::new());
            match r2.read_batch_in_place(&mut m, &mut o, &mut b, max_frames, max_bytes) {
                Ok(0) => break None,
                Ok(n) => {
                    assert_eq!((m.len(), o.len()), (n, n));
                    for (meta, &off) in m.iter().zip(&o) {
                        let at = off as usize;
                        second
                            .1
                            .extend_from_slice(&b[at..at + meta.caplen as usize]);
                    }
                    second.0.extend(m);
                }
                Err(e) => break Some(e),
            }
        };
        assert_eq!(first.0, second.0, "in place: frames");
        assert!(first.1 == second.1, "in place: bytes");
        assert_eq!(err1, err2, "in place: error");
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
