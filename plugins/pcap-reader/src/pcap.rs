//! Classic pcap (µs / ns) and Kuznetzov "modified" pcap.
//!
//! File header (24 bytes): magic u32, version_major u16, version_minor u16,
//! thiszone i32, sigfigs u32, snaplen u32, network u32 (link type in the low
//! 16 bits; the upper bits may carry FCS information).
//!
//! Record header: ts_sec u32, ts_frac u32 (µs or ns), caplen u32, wire_len u32;
//! the modified format appends ifindex u32, protocol u16, pkt_type u8, pad u8
//! (24 bytes in total).

#![forbid(unsafe_code)]

use std::io::Read;

use crate::reader::{
    caplen_limit, Anomalies, Endian, Format, FrameMeta, InterfaceInfo, ReadError, ReadErrorKind,
    Src,
};

/// Microsecond pcap magic.
pub const MAGIC_MICRO: u32 = 0xa1b2_c3d4;
/// Nanosecond pcap magic.
pub const MAGIC_NANO: u32 = 0xa1b2_3c4d;
/// Kuznetzov modified pcap magic.
pub const MAGIC_MODIFIED: u32 = 0xa1b2_cd34;

/// Size of the file header.
pub const FILE_HEADER_LEN: usize = 24;
/// Size of a standard record header.
pub const RECORD_HEADER_LEN: usize = 16;
/// Size of a modified-format record header.
pub const MODIFIED_RECORD_HEADER_LEN: usize = 24;

/// Recognises a classic pcap magic number in either byte order.
pub(crate) fn detect(magic: [u8; 4]) -> Option<(Format, Endian)> {
    for endian in [Endian::Little, Endian::Big] {
        let format = match endian.u32(magic) {
            MAGIC_MICRO => Format::PcapMicro,
            MAGIC_NANO => Format::PcapNano,
            MAGIC_MODIFIED => Format::PcapModified,
            _ => continue,
        };
        return Some((format, endian));
    }
    None
}

/// Order of the caplen / wire-length fields in record headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lengths {
    /// caplen, then wire length (version 2.4).
    Normal,
    /// wire length, then caplen (versions 2.0-2.2, 543.0).
    Swapped,
    /// Version 2.3: either order; swap when caplen > wire length.
    MaybeSwapped,
}

#[derive(Clone)]
pub(crate) struct PcapState {
    endian: Endian,
    nanos: bool,
    rec_len: usize,
    lengths: Lengths,
    snaplen: u32,
    linktype: u32,
    limit: u32,
    iface: [InterfaceInfo; 1],
}

/// Reads the rest of the 24-byte file header (the magic was already consumed).
pub(crate) fn open<R: Read>(
    src: &mut Src<R>,
    magic: [u8; 4],
    format: Format,
    endian: Endian,
) -> Result<PcapState, ReadError> {
    let mut h = [0u8; FILE_HEADER_LEN];
    h[..4].copy_from_slice(&magic);
    let got = src.fill(&mut h[4..]).map_err(|e| ReadError::io(0, &e))?;
    if got < FILE_HEADER_LEN - 4 {
        return Err(ReadError::not_a_capture(
            &h[..4 + got],
            &format!(
                "pcap magic number, but the file ends inside the {FILE_HEADER_LEN}-byte file header ({} bytes)",
                4 + got
            ),
        ));
    }
    let major = endian.u16_at(&h, 4);
    let minor = endian.u16_at(&h, 6);
    // Like libpcap: before version 2.3 (and in DG/UX's 543.0) the caplen and
    // wire-length fields of the record header were in the opposite order; some
    // 2.3 writers used either order.
    let lengths = match (major, minor) {
        (2, 0..=2) | (543, 0) => Lengths::Swapped,
        (2, 3) => Lengths::MaybeSwapped,
        (2, _) => Lengths::Normal,
        _ => {
            return Err(ReadError::new(
                0,
                ReadErrorKind::Unsupported,
                format!("pcap format version {major}.{minor} is not supported (expected 2.x)"),
            ))
        }
    };
    let snaplen = endian.u32_at(&h, 16);
    let linktype = endian.u32_at(&h, 20) & 0xffff;
    let nanos = format == Format::PcapNano;
    let rec_len = if format == Format::PcapModified {
        MODIFIED_RECORD_HEADER_LEN
    } else {
        RECORD_HEADER_LEN
    };
    Ok(PcapState {
        endian,
        nanos,
        rec_len,
        lengths,
        snaplen,
        linktype,
        limit: caplen_limit(snaplen),
        iface: [InterfaceInfo::new(
            linktype,
            snaplen,
            if nanos { 9 } else { 6 },
        )],
    })
}

impl PcapState {
    pub(crate) fn endian(&self) -> Endian {
        self.endian
    }

    pub(crate) fn interfaces(&self) -> &[InterfaceInfo] {
        &self.iface
    }

    /// Size of this file's record headers.
    pub(crate) fn record_header_len(&self) -> usize {
        self.rec_len
    }

    /// Checks and decodes one record header (`hdr` is exactly `record_header_len()`
    /// bytes, read at file offset `off`): `(ts_ns, caplen, wire_len)`. Once per record:
    /// inlined into the read loops.
    #[inline]
    pub(crate) fn parse_header(
        &self,
        hdr: &[u8],
        off: u64,
        an: &mut Anomalies,
    ) -> Result<(i64, u32, u32), ReadError> {
        let e = self.endian;
        let ts_sec = e.u32_at(hdr, 0);
        let ts_frac = e.u32_at(hdr, 4);
        let (mut caplen, mut orig) = (e.u32_at(hdr, 8), e.u32_at(hdr, 12));
        if self.lengths == Lengths::Swapped
            || (self.lengths == Lengths::MaybeSwapped && caplen > orig)
        {
            std::mem::swap(&mut caplen, &mut orig);
        }

        if caplen > self.limit {
            return Err(ReadError::too_big(off, caplen, self.limit));
        }
        let wire_len = an.lengths(caplen, orig, self.snaplen);
        let (frac_ns, frac_max) = if self.nanos {
            (ts_frac as i64, 1_000_000_000u32)
        } else {
            (ts_frac as i64 * 1_000, 1_000_000u32)
        };
        if ts_frac >= frac_max {
            an.bad_ts_fraction += 1;
        }
        // u32 seconds * 1e9 + u32 * 1e3 < 2^63: no overflow possible.
        Ok((ts_sec as i64 * 1_000_000_000 + frac_ns, caplen, wire_len))
    }

    /// The metadata of a frame of this file.
    pub(crate) fn meta(&self, ts_ns: i64, caplen: u32, wire_len: u32) -> FrameMeta {
        FrameMeta {
            ts_ns,
            caplen,
            wire_len,
            linktype: self.linktype,
            iface: 0,
        }
    }

    /// Reads one record, appending its bytes to `data`. `Ok(None)` = clean end of file.
    /// On error the caller discards whatever was appended to `data`.
    pub(crate) fn read_record<R: Read>(
        &self,
        src: &mut Src<R>,
        data: &mut Vec<u8>,
        an: &mut Anomalies,
    ) -> Result<Option<FrameMeta>, ReadError> {
        let off = src.pos();
        let mut hbuf = [0u8; MODIFIED_RECORD_HEADER_LEN];
        let hdr = &mut hbuf[..self.rec_len];
        let got = src.fill(hdr).map_err(|e| ReadError::io(off, &e))?;
        if got == 0 {
            return Ok(None);
        }
        let rec_len = self.rec_len as u64;
        if got < self.rec_len {
            return Err(ReadError::truncated(
                off,
                "a packet record",
                got as u64,
                rec_len,
            ));
        }
        let (ts_ns, caplen, wire_len) = self.parse_header(hdr, off, an)?;
        let got = src
            .fill_vec(data, caplen as usize)
            .map_err(|e| ReadError::io(off, &e))?;
        if got < caplen as usize {
            return Err(ReadError::truncated(
                off,
                "a packet record",
                rec_len + got as u64,
                rec_len + caplen as u64,
            ));
        }
        Ok(Some(self.meta(ts_ns, caplen, wire_len)))
    }
}
