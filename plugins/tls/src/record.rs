//! The TLS record layer over one direction's byte stream (RFC 8446 §5.1, RFC 5246 §6.2).
//!
//! [`DirScan::scan`] walks the records of a stream prefix, concatenates the fragments of
//! the handshake records (so messages that span records come out whole), remembers where
//! the first ChangeCipherSpec fell among them, and keeps the stream ranges of the
//! handshake records (to count the packets that carried them). The walk stops at the end
//! of the bytes, at the first header that is not a TLS record (an anomaly bit, never an
//! error), or at the first application-data record: everything the features read comes
//! before it (the hellos, the TLS 1.2 server's certificates and key exchange), and the
//! host, told so by [`FRAMING`], keeps nothing of the direction after it. Either way
//! what was read so far is kept.
#![forbid(unsafe_code)]

use crate::anomaly;
use jj_plugin_api::{ByteCheck, StreamFraming};

/// Record content types.
pub mod content {
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    pub const ALERT: u8 = 21;
    pub const HANDSHAKE: u8 = 22;
    pub const APPLICATION_DATA: u8 = 23;
    pub const HEARTBEAT: u8 = 24;
}

/// How [`DirScan::scan`] reads a stream, for the host ([`StreamFraming`]): 5-byte
/// headers with the length in bytes 3–4; it goes on only past ChangeCipherSpec, alert,
/// handshake and heartbeat records of version major 3 (it also stops at some headers
/// that pass these checks, which only means the host keeps a little more).
pub const FRAMING: StreamFraming = StreamFraming::records(HEADER_LEN as u8, 3, 2)
    .check(
        0,
        ByteCheck::one_of(
            0,
            &[
                content::CHANGE_CIPHER_SPEC,
                content::ALERT,
                content::HANDSHAKE,
                content::HEARTBEAT,
            ],
        ),
    )
    .check(1, ByteCheck::one_of(1, &[3]));

/// Largest record length accepted: 2^14 plaintext plus the 2048 bytes of expansion
/// TLS 1.2 allows for ciphertext.
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// Length of a record header.
pub const HEADER_LEN: usize = 5;

/// Whether `h` (at least 5 bytes) looks like a TLS record header: a known content type,
/// protocol major version 3 (SSL 3.0 to TLS 1.3) and a length within the limit.
pub fn is_record_header(h: &[u8]) -> bool {
    if h.len() < HEADER_LEN {
        return false;
    }
    let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
    (content::CHANGE_CIPHER_SPEC..=content::HEARTBEAT).contains(&h[0])
        && h[1] == 3
        && h[2] <= 4
        && len <= MAX_RECORD_LEN
}

/// One direction's records, digested. Buffers are reused across flows.
#[derive(Debug, Default)]
pub struct DirScan {
    /// Concatenated fragments of every handshake record, in stream order.
    pub hs: Vec<u8>,
    /// `hs.len()` when this direction's first ChangeCipherSpec record was seen: in
    /// TLS 1.0-1.2 the handshake bytes after it (Finished) are encrypted.
    pub ccs_mark: Option<usize>,
    /// Stream byte ranges `[start, end)` of the handshake records (header included),
    /// ascending and disjoint; a record cut by the end of the bytes ends at its
    /// declared end.
    pub hs_ranges: Vec<(u64, u64)>,
    /// Number of complete or partial records walked.
    pub records: u32,
    /// [`anomaly`] bits.
    pub anomalies: u32,
}

impl DirScan {
    /// Forgets the previous stream, keeping the buffers' capacity.
    pub fn clear(&mut self) {
        self.hs.clear();
        self.ccs_mark = None;
        self.hs_ranges.clear();
        self.records = 0;
        self.anomalies = 0;
    }

    /// Walks the records of `stream` (which starts at a record boundary) up to the first
    /// application-data record.
    pub fn scan(&mut self, stream: &[u8]) {
        self.clear();
        let mut pos = 0usize;
        while pos < stream.len() {
            let Some(h) = stream.get(pos..pos + HEADER_LEN) else {
                self.anomalies |= anomaly::RECORD_TRUNCATED;
                break;
            };
            if !is_record_header(h) {
                self.anomalies |= if pos == 0 {
                    anomaly::NOT_TLS
                } else {
                    anomaly::BAD_RECORD
                };
                break;
            }
            if h[0] == content::APPLICATION_DATA {
                break;
            }
            let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
            let start = pos + HEADER_LEN;
            let end = start + len;
            let frag = stream.get(start..end.min(stream.len())).unwrap_or(&[]);
            if frag.len() < len {
                self.anomalies |= anomaly::RECORD_TRUNCATED;
            }
            self.records += 1;
            match h[0] {
                content::HANDSHAKE => {
                    self.hs.extend_from_slice(frag);
                    self.hs_ranges.push((pos as u64, end as u64));
                }
                content::CHANGE_CIPHER_SPEC if self.ccs_mark.is_none() => {
                    self.ccs_mark = Some(self.hs.len());
                }
                _ => {}
            }
            pos = end;
        }
    }

    /// The handshake bytes that are plaintext: all of them in TLS 1.3 (where records of
    /// type 22 after the compatibility ChangeCipherSpec are still plaintext hellos and
    /// the encrypted handshake travels as application data), otherwise those before the
    /// first ChangeCipherSpec.
    pub fn plaintext_hs(&self, tls13: bool) -> &[u8] {
        match self.ccs_mark {
            Some(m) if !tls13 => self.hs.get(..m).unwrap_or(&self.hs),
            _ => &self.hs,
        }
    }

    /// Whether any byte of the stream range `[start, end)` belongs to a handshake record.
    pub fn overlaps_handshake(&self, start: u64, end: u64) -> bool {
        if start >= end {
            return false;
        }
        // First range whose end is past `start`; ranges are ascending and disjoint.
        let i = self.hs_ranges.partition_point(|&(_, e)| e <= start);
        self.hs_ranges.get(i).is_some_and(|&(s, _)| s < end)
    }
}

/// One handshake message (RFC 8446 §4): type, and the body as far as the bytes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HsMessage<'a> {
    /// Offset of the message header in the concatenated handshake bytes.
    pub offset: usize,
    pub msg_type: u8,
    /// Declared body length.
    pub declared_len: u32,
    /// The body (shorter than `declared_len` when the bytes end first).
    pub body: &'a [u8],
}

impl HsMessage<'_> {
    pub fn complete(&self) -> bool {
        self.body.len() as u64 == u64::from(self.declared_len)
    }
}

/// Iterator over the handshake messages in concatenated handshake bytes. The last one
/// may be incomplete; a header cut by the end yields nothing more.
#[derive(Clone, Debug)]
pub struct HsMessages<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> HsMessages<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        HsMessages { buf, pos: 0 }
    }
}

impl<'a> Iterator for HsMessages<'a> {
    type Item = HsMessage<'a>;

    fn next(&mut self) -> Option<HsMessage<'a>> {
        let offset = self.pos;
        let h = self.buf.get(offset..offset + 4)?;
        let msg_type = h[0];
        let declared_len = u32::from_be_bytes([0, h[1], h[2], h[3]]);
        let start = self.pos + 4;
        let end = start
            .saturating_add(declared_len as usize)
            .min(self.buf.len());
        let body = self.buf.get(start..end).unwrap_or(&[]);
        self.pos = end;
        if end == self.buf.len() && body.len() < declared_len as usize {
            // Nothing can follow a cut message.
            self.pos = self.buf.len();
        }
        Some(HsMessage {
            offset,
            msg_type,
            declared_len,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(t: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![t, 3, 3];
        v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn fragments_are_concatenated_and_ccs_marked() {
        let mut s = rec(22, &[1, 0, 0, 2]);
        s.extend(rec(22, &[0xaa, 0xbb]));
        s.extend(rec(20, &[1]));
        s.extend(rec(22, &[0x14, 0, 0, 1, 9]));
        s.extend(rec(23, &[7; 10]));
        let mut d = DirScan::default();
        d.scan(&s);
        assert_eq!(d.records, 4, "the application-data record ends the walk");
        assert_eq!(d.anomalies, 0);
        assert_eq!(d.hs, [1, 0, 0, 2, 0xaa, 0xbb, 0x14, 0, 0, 1, 9]);
        assert_eq!(d.ccs_mark, Some(6));
        assert_eq!(d.plaintext_hs(false), [1, 0, 0, 2, 0xaa, 0xbb]);
        assert_eq!(d.plaintext_hs(true).len(), 11);
        assert_eq!(d.hs_ranges, [(0, 9), (9, 16), (22, 32)]);
        assert!(d.overlaps_handshake(8, 9));
        assert!(!d.overlaps_handshake(16, 22));
        assert!(d.overlaps_handshake(16, 23));
        assert!(!d.overlaps_handshake(32, 100));
        assert!(!d.overlaps_handshake(5, 5));
        let msgs: Vec<_> = HsMessages::new(&d.hs).collect();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].msg_type, 1);
        assert_eq!(msgs[0].body, [0xaa, 0xbb]);
        assert!(msgs[1].complete());
    }

    /// A handshake record after application data (a TLS 1.2 renegotiation, encrypted)
    /// is not read.
    #[test]
    fn application_data_ends_the_walk() {
        let mut s = rec(22, &[2, 0, 0, 0]);
        s.extend(rec(23, &[7; 4]));
        s.extend(rec(22, &[0xee; 6]));
        let mut d = DirScan::default();
        d.scan(&s);
        assert_eq!(d.hs, [2, 0, 0, 0]);
        assert_eq!(d.hs_ranges, [(0, 9)]);
        assert_eq!(d.anomalies, 0);
    }

    /// What the host keeps under [`FRAMING`] (the stream up to the first record header
    /// that fails its checks) is all the walk reads: random streams of valid, invalid
    /// and application-data records, some cut short, scan the same whole or cut.
    #[test]
    fn framing_keeps_everything_the_walk_reads() {
        let mut rng = jj_kit::testutil::XorShift64(0x746c_7366);
        for _ in 0..3000 {
            let mut s = Vec::new();
            for _ in 0..rng.below(6) {
                let t = [20, 21, 22, 22, 22, 23, 24, 25, 0x47][rng.below(9) as usize];
                let body: Vec<u8> = (0..rng.below(40)).map(|_| rng.below(256) as u8).collect();
                let mut r = rec(t, &body);
                if rng.below(8) == 0 {
                    r[1] = rng.below(256) as u8; // a version byte that may be wrong
                }
                s.extend(r);
            }
            s.truncate(s.len() - rng.below(4).min(s.len() as u64) as usize);
            // the host's cut
            let mut at = 0usize;
            let mut cut = s.len();
            while at + HEADER_LEN <= s.len() {
                match FRAMING.record_len(&s[at..at + HEADER_LEN]) {
                    Some(len) => at += len as usize,
                    None => {
                        cut = at;
                        break;
                    }
                }
            }
            let (mut whole, mut kept) = (DirScan::default(), DirScan::default());
            whole.scan(&s);
            kept.scan(&s[..cut]);
            assert_eq!(whole.hs, kept.hs, "{s:?}");
            assert_eq!(whole.hs_ranges, kept.hs_ranges, "{s:?}");
            assert_eq!(whole.ccs_mark, kept.ccs_mark, "{s:?}");
        }
        assert!(FRAMING.problem().is_none());
    }

    #[test]
    fn truncation_and_garbage_stop_the_walk() {
        let mut d = DirScan::default();
        d.scan(b"GET / HTTP/1.1\r\n");
        assert_eq!(d.anomalies, anomaly::NOT_TLS);
        assert_eq!(d.records, 0);

        let mut s = rec(22, &[1, 0, 0, 10, 1, 2, 3]);
        s.truncate(9);
        d.scan(&s);
        assert_eq!(d.anomalies, anomaly::RECORD_TRUNCATED);
        assert_eq!(d.hs, [1, 0, 0, 10]);
        assert_eq!(d.hs_ranges, [(0, 12)]);
        let m: Vec<_> = HsMessages::new(&d.hs).collect();
        assert_eq!(m.len(), 1);
        assert!(!m[0].complete());

        let mut s = rec(22, &[2, 0, 0, 0]);
        s.extend_from_slice(&[0x16, 3, 3]);
        d.scan(&s);
        assert_eq!(d.anomalies, anomaly::RECORD_TRUNCATED);
        let mut s = rec(22, &[2, 0, 0, 0]);
        s.extend_from_slice(&[0x16, 9, 9, 0, 1, 0]);
        d.scan(&s);
        assert_eq!(d.anomalies, anomaly::BAD_RECORD);
        assert_eq!(d.records, 1);
    }

    #[test]
    fn message_header_cut_yields_nothing() {
        assert_eq!(HsMessages::new(&[1, 0, 0]).count(), 0);
        let m: Vec<_> = HsMessages::new(&[1, 0xff, 0xff, 0xff, 5]).collect();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].body, [5]);
        assert_eq!(m[0].declared_len, 0xffffff);
    }
}
