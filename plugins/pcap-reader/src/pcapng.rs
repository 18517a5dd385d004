//! pcapng (draft-ietf-opsawg-pcapng).
//!
//! Every block: block type u32, block total length u32, body, block total
//! length u32 again. Lengths must be multiples of 4 and at least 12.
//! Handled: Section Header Block (both byte orders, several sections),
//! Interface Description Block (linktype, snaplen, if_name, if_tsresol,
//! if_tsoffset), Enhanced Packet Block, Simple Packet Block, obsolete Packet
//! Block. Everything else is skipped by its length.

#![forbid(unsafe_code)]

use std::io::Read;

use crate::reader::{
    caplen_limit, Anomalies, Endian, FrameMeta, InterfaceInfo, ReadError, ReadErrorKind, Src,
    MAX_CAPLEN,
};

/// Section Header Block type (a byte palindrome: same in both byte orders).
pub const BT_SHB: u32 = 0x0A0D_0D0A;
/// The SHB type as it appears on disk.
pub const SHB_MAGIC_BYTES: [u8; 4] = [0x0A, 0x0D, 0x0D, 0x0A];
/// Interface Description Block.
pub const BT_IDB: u32 = 1;
/// Obsolete Packet Block.
pub const BT_PB: u32 = 2;
/// Simple Packet Block.
pub const BT_SPB: u32 = 3;
/// Name Resolution Block.
pub const BT_NRB: u32 = 4;
/// Interface Statistics Block.
pub const BT_ISB: u32 = 5;
/// Enhanced Packet Block.
pub const BT_EPB: u32 = 6;
/// Decryption Secrets Block.
pub const BT_DSB: u32 = 0x0000_000A;
/// Custom blocks.
pub const BT_CUSTOM: u32 = 0x0000_0BAD;
pub const BT_CUSTOM_NOCOPY: u32 = 0x4000_0BAD;

/// SHB byte-order magic.
pub const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// IDB option codes.
pub const OPT_ENDOFOPT: u16 = 0;
pub const OPT_IF_NAME: u16 = 2;
pub const OPT_IF_TSRESOL: u16 = 9;
pub const OPT_IF_TSOFFSET: u16 = 14;

/// Default if_tsresol (microseconds).
pub const DEFAULT_TSRESOL: u8 = 6;

/// Largest block accepted at all: the largest packet plus generous room for options.
pub const MAX_BLOCK_LEN: u32 = MAX_CAPLEN + (1 << 20);
/// Largest block that is loaded into memory to be parsed (IDB).
pub const MAX_PARSED_BLOCK_LEN: u32 = 16 << 20;
/// Most interfaces accepted in one section.
pub const MAX_INTERFACES: usize = 1 << 16;

const SHB_MIN_LEN: u32 = 28;
const IDB_MIN_LEN: u32 = 20;
const EPB_MIN_LEN: u32 = 32;
const PB_MIN_LEN: u32 = 32;
const SPB_MIN_LEN: u32 = 16;
const BLOCK_MIN_LEN: u32 = 12;

const POW10: [u128; 39] = {
    let mut t = [1u128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Converts a timestamp in `if_tsresol` units to nanoseconds, exactly
/// (rounded down), using u128 arithmetic. Never overflows.
pub fn units_to_ns(units: u64, tsresol: u8) -> u128 {
    let u = units as u128;
    if tsresol & 0x80 != 0 {
        // 2^-v seconds: ns = units * 1e9 / 2^v. units * 1e9 < 2^94.
        let v = (tsresol & 0x7f) as u32;
        (u * 1_000_000_000) >> v
    } else {
        let v = tsresol as usize;
        if v <= 9 {
            u * POW10[9 - v]
        } else {
            match POW10.get(v - 9) {
                Some(d) => u / d,
                None => 0,
            }
        }
    }
}

/// Timestamp in nanoseconds including `if_tsoffset`, clamped to the i64 range.
/// Returns (ns, clamped?).
pub fn timestamp_ns(units: u64, tsresol: u8, ts_offset_s: i64) -> (i64, bool) {
    let ns = units_to_ns(units, tsresol) as i128 + ts_offset_s as i128 * 1_000_000_000;
    if ns > i64::MAX as i128 {
        (i64::MAX, true)
    } else if ns < i64::MIN as i128 {
        (i64::MIN, true)
    } else {
        (ns as i64, false)
    }
}

fn block_name(btype: u32) -> String {
    match btype {
        BT_SHB => "Section Header Block".into(),
        BT_IDB => "Interface Description Block".into(),
        BT_PB => "Packet Block".into(),
        BT_SPB => "Simple Packet Block".into(),
        BT_NRB => "Name Resolution Block".into(),
        BT_ISB => "Interface Statistics Block".into(),
        BT_EPB => "Enhanced Packet Block".into(),
        BT_DSB => "Decryption Secrets Block".into(),
        BT_CUSTOM | BT_CUSTOM_NOCOPY => "Custom Block".into(),
        t => format!("block of type 0x{t:08x}"),
    }
}

/// What to call a block in a truncation message.
fn trunc_what(btype: u32) -> String {
    match btype {
        BT_EPB | BT_PB | BT_SPB => "a packet record".into(),
        BT_IDB => "an Interface Description Block".into(),
        BT_SHB => "a Section Header Block".into(),
        t => format!("a pcapng {}", block_name(t)),
    }
}

#[inline]
fn pad4(n: u64) -> u64 {
    (n + 3) & !3
}

#[derive(Clone)]
pub(crate) struct NgState {
    endian: Endian,
    interfaces: Vec<InterfaceInfo>,
    /// Reused buffer for blocks parsed in memory (IDB).
    scratch: Vec<u8>,
    sections: u64,
}

impl NgState {
    /// Reads the first Section Header Block (its 4-byte type was already consumed).
    pub(crate) fn open<R: Read>(src: &mut Src<R>) -> Result<NgState, ReadError> {
        let mut st = NgState {
            endian: Endian::Little,
            interfaces: Vec::new(),
            scratch: Vec::new(),
            sections: 0,
        };
        st.read_shb(src, 0, true)?;
        Ok(st)
    }

    pub(crate) fn endian(&self) -> Endian {
        self.endian
    }

    pub(crate) fn interfaces(&self) -> &[InterfaceInfo] {
        &self.interfaces
    }

    pub(crate) fn sections(&self) -> u64 {
        self.sections
    }

    /// Section Header Block; the block type at `off` has been consumed.
    /// For the first SHB of the file, a short or malformed header means "not a capture".
    fn read_shb<R: Read>(
        &mut self,
        src: &mut Src<R>,
        off: u64,
        first: bool,
    ) -> Result<(), ReadError> {
        let short = |have: u64, want: u64| {
            if first {
                ReadError::not_a_capture(
                    &SHB_MAGIC_BYTES,
                    &format!(
                        "pcapng magic number, but the file ends inside the Section Header Block ({have} of {want} bytes)"
                    ),
                )
            } else {
                ReadError::truncated(off, "a Section Header Block", have, want)
            }
        };
        let io = |e: std::io::Error| ReadError::io(off, &e);

        let mut h = [0u8; 8]; // total length + byte-order magic
        let got = src.fill(&mut h).map_err(io)?;
        if got < h.len() {
            return Err(short(4 + got as u64, SHB_MIN_LEN as u64));
        }
        let bom = [h[4], h[5], h[6], h[7]];
        let endian = if u32::from_le_bytes(bom) == BYTE_ORDER_MAGIC {
            Endian::Little
        } else if u32::from_be_bytes(bom) == BYTE_ORDER_MAGIC {
            Endian::Big
        } else if first {
            let mut shown = [0u8; 12];
            shown[..4].copy_from_slice(&SHB_MAGIC_BYTES);
            shown[4..].copy_from_slice(&h);
            return Err(ReadError::not_a_capture(
                &shown,
                "pcapng block type, but no valid byte-order magic",
            ));
        } else {
            return Err(ReadError::new(
                off,
                ReadErrorKind::Corrupt,
                format!(
                    "Section Header Block has an invalid byte-order magic ({})",
                    crate::reader::hex(&bom)
                ),
            ));
        };
        let total = endian.u32_at(&h, 0);
        check_len(off, BT_SHB, total, SHB_MIN_LEN)?;

        let mut v = [0u8; 12]; // major u16, minor u16, section length i64
        let got = src.fill(&mut v).map_err(io)?;
        if got < v.len() {
            return Err(short(12 + got as u64, total as u64));
        }
        let major = endian.u16_at(&v, 0);
        let minor = endian.u16_at(&v, 2);
        if major != 1 {
            return Err(ReadError::new(
                off,
                ReadErrorKind::Unsupported,
                format!("pcapng version {major}.{minor} is not supported (expected 1.x)"),
            ));
        }
        // Options (shb_hardware, shb_os, ...) are not needed: skip them.
        let opts = (total - SHB_MIN_LEN) as u64;
        let got = src.skip(opts).map_err(io)?;
        if got < opts {
            return Err(short(24 + got, total as u64));
        }
        let mut t = [0u8; 4];
        let got = src.fill(&mut t).map_err(io)?;
        if got < 4 {
            return Err(short(total as u64 - 4 + got as u64, total as u64));
        }
        let trailer = endian.u32(t);
        if trailer != total {
            return Err(trailer_mismatch(off, BT_SHB, total, trailer));
        }
        self.endian = endian;
        self.interfaces.clear();
        self.sections += 1;
        Ok(())
    }

    /// Reads blocks until one carrying a packet; appends its bytes to `data`.
    /// `Ok(None)` = clean end of file (at a block boundary).
    pub(crate) fn read_frame<R: Read>(
        &mut self,
        src: &mut Src<R>,
        data: &mut Vec<u8>,
        an: &mut Anomalies,
    ) -> Result<Option<FrameMeta>, ReadError> {
        loop {
            let off = src.pos();
            let mut h = [0u8; 8];
            let got = src.fill(&mut h[..4]).map_err(|e| ReadError::io(off, &e))?;
            if got == 0 {
                return Ok(None);
            }
            if got < 4 {
                return Err(ReadError::truncated(off, "a block header", got as u64, 8));
            }
            if h[..4] == SHB_MAGIC_BYTES {
                self.read_shb(src, off, false)?;
                continue;
            }
            let got = src.fill(&mut h[4..]).map_err(|e| ReadError::io(off, &e))?;
            if got < 4 {
                return Err(ReadError::truncated(
                    off,
                    "a block header",
                    4 + got as u64,
                    8,
                ));
            }
            let e = self.endian;
            let btype = e.u32_at(&h, 0);
            let total = e.u32_at(&h, 4);
            match btype {
                BT_EPB | BT_PB => {
                    check_len(off, btype, total, EPB_MIN_LEN.max(PB_MIN_LEN))?;
                    return self
                        .read_packet_block(src, off, btype, total, data, an)
                        .map(Some);
                }
                BT_SPB => {
                    check_len(off, btype, total, SPB_MIN_LEN)?;
                    return self.read_spb(src, off, total, data).map(Some);
                }
                BT_IDB => {
                    check_len(off, btype, total, IDB_MIN_LEN)?;
                    self.read_idb(src, off, total, an)?;
                }
                _ => {
                    check_len(off, btype, total, BLOCK_MIN_LEN)?;
                    let body = (total - BLOCK_MIN_LEN) as u64;
                    let got = src.skip(body).map_err(|e| ReadError::io(off, &e))?;
                    if got < body {
                        return Err(ReadError::truncated(
                            off,
                            &trunc_what(btype),
                            8 + got,
                            total as u64,
                        ));
                    }
                    self.read_trailer(src, off, btype, total)?;
                    an.skipped_blocks += 1;
                }
            }
        }
    }

    /// The rest of a packet block whose first `head` bytes were read: `caplen` bytes of
    /// packet data (appended to `data`), `rest` bytes to skip (padding, options), then
    /// the trailing length.
    #[allow(clippy::too_many_arguments)]
    fn read_packet_data<R: Read>(
        &self,
        src: &mut Src<R>,
        off: u64,
        btype: u32,
        total: u32,
        head: u64,
        caplen: u32,
        rest: u64,
        data: &mut Vec<u8>,
    ) -> Result<(), ReadError> {
        let io = |e: std::io::Error| ReadError::io(off, &e);
        let got = src.fill_vec(data, caplen as usize).map_err(io)?;
        let skipped = if got == caplen as usize {
            src.skip(rest).map_err(io)?
        } else {
            0
        };
        if got < caplen as usize || skipped < rest {
            return Err(ReadError::truncated(
                off,
                "a packet record",
                head + got as u64 + skipped,
                total as u64,
            ));
        }
        self.read_trailer(src, off, btype, total)
    }

    /// Reads and checks the trailing block length.
    fn read_trailer<R: Read>(
        &self,
        src: &mut Src<R>,
        off: u64,
        btype: u32,
        total: u32,
    ) -> Result<(), ReadError> {
        let mut t = [0u8; 4];
        let got = src.fill(&mut t).map_err(|e| ReadError::io(off, &e))?;
        if got < 4 {
            return Err(ReadError::truncated(
                off,
                &trunc_what(btype),
                total as u64 - 4 + got as u64,
                total as u64,
            ));
        }
        let trailer = self.endian.u32(t);
        if trailer != total {
            return Err(trailer_mismatch(off, btype, total, trailer));
        }
        Ok(())
    }

    fn read_idb<R: Read>(
        &mut self,
        src: &mut Src<R>,
        off: u64,
        total: u32,
        an: &mut Anomalies,
    ) -> Result<(), ReadError> {
        if total > MAX_PARSED_BLOCK_LEN {
            return Err(ReadError::new(
                off,
                ReadErrorKind::Corrupt,
                format!(
                    "Interface Description Block claims {total} bytes, more than the maximum of {MAX_PARSED_BLOCK_LEN} (corrupt file?)"
                ),
            ));
        }
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(ReadError::new(
                off,
                ReadErrorKind::Unsupported,
                format!("more than {MAX_INTERFACES} interfaces in one section"),
            ));
        }
        let body = (total - BLOCK_MIN_LEN) as usize;
        self.scratch.clear();
        let got = src
            .fill_vec(&mut self.scratch, body)
            .map_err(|e| ReadError::io(off, &e))?;
        if got < body {
            return Err(ReadError::truncated(
                off,
                &trunc_what(BT_IDB),
                8 + got as u64,
                total as u64,
            ));
        }
        self.read_trailer(src, off, BT_IDB, total)?;

        let e = self.endian;
        let b = &self.scratch[..];
        let linktype = e.u16_at(b, 0) as u32;
        let snaplen = e.u32_at(b, 4);
        let mut info = InterfaceInfo::new(linktype, snaplen, DEFAULT_TSRESOL);
        let mut p = 8usize;
        while p + 4 <= b.len() {
            let code = e.u16_at(b, p);
            let len = e.u16_at(b, p + 2) as usize;
            p += 4;
            let end = p + len;
            let Some(val) = b.get(p..end) else {
                an.bad_options += 1;
                break;
            };
            match code {
                OPT_ENDOFOPT => break,
                OPT_IF_NAME => {
                    let s = String::from_utf8_lossy(val);
                    info.name = Some(s.trim_end_matches('\0').to_string());
                }
                OPT_IF_TSRESOL => match val {
                    [r] => info.tsresol = *r,
                    _ => an.bad_options += 1,
                },
                OPT_IF_TSOFFSET => {
                    if val.len() == 8 {
                        info.ts_offset_s = e.u64_at(val, 0) as i64;
                    } else {
                        an.bad_options += 1;
                    }
                }
                _ => {}
            }
            p = end + ((4 - len % 4) % 4);
        }
        self.interfaces.push(info);
        Ok(())
    }

    /// Enhanced Packet Block or obsolete Packet Block (same layout apart from the
    /// interface id: u32 in EPB, u16 + u16 drops count in PB).
    fn read_packet_block<R: Read>(
        &mut self,
        src: &mut Src<R>,
        off: u64,
        btype: u32,
        total: u32,
        data: &mut Vec<u8>,
        an: &mut Anomalies,
    ) -> Result<FrameMeta, ReadError> {
        let io = |e: std::io::Error| ReadError::io(off, &e);
        let mut f = [0u8; 20];
        let got = src.fill(&mut f).map_err(io)?;
        if got < f.len() {
            return Err(ReadError::truncated(
                off,
                "a packet record",
                8 + got as u64,
                total as u64,
            ));
        }
        let e = self.endian;
        let iface = if btype == BT_PB {
            e.u16_at(&f, 0) as u32
        } else {
            e.u32_at(&f, 0)
        };
        let units = ((e.u32_at(&f, 4) as u64) << 32) | e.u32_at(&f, 8) as u64;
        let caplen = e.u32_at(&f, 12);
        let orig = e.u32_at(&f, 16);

        let Some(info) = self.interfaces.get(iface as usize) else {
            return Err(ReadError::new(
                off,
                ReadErrorKind::Corrupt,
                format!(
                    "{} refers to interface {iface}, but only {} interface(s) are described in this section",
                    block_name(btype),
                    self.interfaces.len()
                ),
            ));
        };
        let limit = caplen_limit(info.snaplen);
        if caplen > limit {
            return Err(ReadError::too_big(off, caplen, limit));
        }
        let room = (total - EPB_MIN_LEN) as u64;
        if pad4(caplen as u64) > room {
            return Err(ReadError::new(
                off,
                ReadErrorKind::Corrupt,
                format!(
                    "{} claims {caplen} bytes of packet data, which do not fit in its {total}-byte block",
                    block_name(btype)
                ),
            ));
        }
        let wire_len = an.lengths(caplen, orig, info.snaplen);
        let (ts_ns, clamped) = timestamp_ns(units, info.tsresol, info.ts_offset_s);
        if clamped {
            an.ts_clamped += 1;
        }
        let linktype = info.linktype;

        // padding + options follow the data
        self.read_packet_data(
            src,
            off,
            btype,
            total,
            28,
            caplen,
            room - caplen as u64,
            data,
        )?;
        Ok(FrameMeta {
            ts_ns,
            caplen,
            wire_len,
            linktype,
            iface,
        })
    }

    /// Simple Packet Block: interface 0, no timestamp.
    fn read_spb<R: Read>(
        &mut self,
        src: &mut Src<R>,
        off: u64,
        total: u32,
        data: &mut Vec<u8>,
    ) -> Result<FrameMeta, ReadError> {
        let io = |e: std::io::Error| ReadError::io(off, &e);
        let Some(info) = self.interfaces.first() else {
            return Err(ReadError::new(
                off,
                ReadErrorKind::Corrupt,
                "Simple Packet Block, but no interface is described in this section",
            ));
        };
        let mut w = [0u8; 4];
        let got = src.fill(&mut w).map_err(io)?;
        if got < 4 {
            return Err(ReadError::truncated(
                off,
                "a packet record",
                8 + got as u64,
                total as u64,
            ));
        }
        let wire_len = self.endian.u32(w);
        let room = total - SPB_MIN_LEN;
        let snap = if info.snaplen == 0 {
            u32::MAX
        } else {
            info.snaplen
        };
        let caplen = wire_len.min(snap).min(room);
        let limit = caplen_limit(info.snaplen);
        if caplen > limit {
            return Err(ReadError::too_big(off, caplen, limit));
        }
        let linktype = info.linktype;

        let rest = u64::from(room - caplen);
        self.read_packet_data(src, off, BT_SPB, total, 12, caplen, rest, data)?;
        Ok(FrameMeta {
            ts_ns: 0,
            caplen,
            wire_len,
            linktype,
            iface: 0,
        })
    }
}

fn check_len(off: u64, btype: u32, total: u32, min: u32) -> Result<(), ReadError> {
    let corrupt = |what: String| {
        Err(ReadError::new(
            off,
            ReadErrorKind::Corrupt,
            format!("{} has total length {total}: {what}", block_name(btype)),
        ))
    };
    if total & 3 != 0 {
        return corrupt("not a multiple of 4".into());
    }
    if total < min {
        return corrupt(format!("less than the minimum of {min}"));
    }
    if total > MAX_BLOCK_LEN {
        return corrupt(format!(
            "more than the maximum of {MAX_BLOCK_LEN} (corrupt file?)"
        ));
    }
    Ok(())
}

fn trailer_mismatch(off: u64, btype: u32, total: u32, trailer: u32) -> ReadError {
    ReadError::new(
        off,
        ReadErrorKind::Corrupt,
        format!(
            "{} has total length {total} but its trailing length field says {trailer}",
            block_name(btype)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_decimal() {
        assert_eq!(units_to_ns(1_500_000, 6), 1_500_000_000);
        assert_eq!(units_to_ns(1_500_000_123, 9), 1_500_000_123);
        assert_eq!(units_to_ns(7, 0), 7_000_000_000);
        assert_eq!(units_to_ns(123_456_789_012, 12), 123_456_789);
        assert_eq!(units_to_ns(u64::MAX, 127), 0);
        assert_eq!(units_to_ns(u64::MAX, 47), 0);
        assert_eq!(units_to_ns(u64::MAX, 0), u64::MAX as u128 * 1_000_000_000);
        // 10^-38 is still representable as a divisor.
        assert_eq!(units_to_ns(u64::MAX, 38 + 9), 0);
    }

    #[test]
    fn units_binary() {
        // 2^-20 seconds per unit.
        let r = 0x80 | 20;
        assert_eq!(units_to_ns(3 << 20, r), 3_000_000_000);
        assert_eq!(units_to_ns((3 << 20) + (1 << 19), r), 3_500_000_000);
        // one unit = 953.674... ns, rounded down
        assert_eq!(units_to_ns(1, r), 953);
        assert_eq!(units_to_ns(u64::MAX, 0x80 | 127), 0);
        assert_eq!(
            units_to_ns(u64::MAX, 0x80),
            u64::MAX as u128 * 1_000_000_000
        );
    }

    #[test]
    fn timestamp_offset_and_clamp() {
        assert_eq!(timestamp_ns(1, 6, 10), (10_000_001_000, false));
        assert_eq!(timestamp_ns(0, 6, -1), (-1_000_000_000, false));
        assert_eq!(timestamp_ns(u64::MAX, 0, 0), (i64::MAX, true));
        assert_eq!(timestamp_ns(0, 6, i64::MIN), (i64::MIN, true));
    }
}
