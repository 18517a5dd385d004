//! Minimal capture-file writers: classic pcap (micro- or nanosecond) and pcapng.
//!
//! Both write little-endian files and do no validation of what they are given: a test can
//! write a record whose `wire_len` is smaller than the captured bytes, or a frame longer
//! than the snaplen, to exercise a reader's error paths.

use std::io::{self, Write};

/// pcap LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Snaplen written to headers unless told otherwise.
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// Classic pcap writer.
///
/// ```
/// use jj_gen::pcap::{PcapWriter, LINKTYPE_ETHERNET};
/// let mut w = PcapWriter::new(Vec::new(), LINKTYPE_ETHERNET, false).unwrap();
/// w.write_packet(1_700_000_000_123_456_789, &[0u8; 60], 60).unwrap();
/// let bytes = w.into_inner();
/// assert_eq!(bytes.len(), 24 + 16 + 60);
/// ```
pub struct PcapWriter<W: Write> {
    w: W,
    nanos: bool,
    bytes: u64,
    packets: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Write the 24-byte file header (snaplen [`DEFAULT_SNAPLEN`]). `nanos` selects the
    /// nanosecond magic (0xa1b23c4d) instead of the microsecond one (0xa1b2c3d4).
    pub fn new(w: W, linktype: u32, nanos: bool) -> io::Result<Self> {
        Self::with_snaplen(w, linktype, nanos, DEFAULT_SNAPLEN)
    }

    /// As [`PcapWriter::new`], with the snaplen field set to `snaplen`.
    pub fn with_snaplen(mut w: W, linktype: u32, nanos: bool, snaplen: u32) -> io::Result<Self> {
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&magic.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone, sigfigs = 0
        h[16..20].copy_from_slice(&snaplen.to_le_bytes());
        h[20..24].copy_from_slice(&linktype.to_le_bytes());
        w.write_all(&h)?;
        Ok(PcapWriter {
            w,
            nanos,
            bytes: 24,
            packets: 0,
        })
    }

    /// Write one record: `frame` is what was captured (caplen = `frame.len()`), `wire_len`
    /// the original length on the wire. `ts_ns` is nanoseconds since the Unix epoch;
    /// it is truncated to microseconds for a microsecond file.
    pub fn write_packet(&mut self, ts_ns: i64, frame: &[u8], wire_len: u32) -> io::Result<()> {
        let sec = ts_ns.div_euclid(1_000_000_000) as u32;
        let sub = ts_ns.rem_euclid(1_000_000_000) as u32;
        let frac = if self.nanos { sub } else { sub / 1000 };
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&sec.to_le_bytes());
        h[4..8].copy_from_slice(&frac.to_le_bytes());
        h[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&wire_len.to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(frame)?;
        self.bytes += 16 + frame.len() as u64;
        self.packets += 1;
        Ok(())
    }

    /// Bytes written so far, file header included.
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// Records written so far.
    pub fn packets_written(&self) -> u64 {
        self.packets
    }

    /// Flush the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    /// The underlying writer (not flushed).
    pub fn into_inner(self) -> W {
        self.w
    }
}

/// pcapng writer: one Section Header Block, one Interface Description Block (with
/// `if_tsresol` = 9, i.e. nanosecond timestamps) and Enhanced Packet Blocks.
pub struct PcapNgWriter<W: Write> {
    w: W,
    bytes: u64,
    packets: u64,
}

impl<W: Write> PcapNgWriter<W> {
    pub fn new(mut w: W, linktype: u32, snaplen: u32) -> io::Result<Self> {
        let mut b = Vec::with_capacity(96);
        // Section Header Block
        let app = b"jj-gen";
        let opt_len = 4 + app.len().div_ceil(4) * 4 + 4; // shb_userappl + opt_endofopt
        let shb_len = (28 + opt_len) as u32;
        b.extend_from_slice(&0x0A0D_0D0Au32.to_le_bytes());
        b.extend_from_slice(&shb_len.to_le_bytes());
        b.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&(-1i64).to_le_bytes());
        b.extend_from_slice(&4u16.to_le_bytes()); // shb_userappl
        b.extend_from_slice(&(app.len() as u16).to_le_bytes());
        b.extend_from_slice(app);
        while b.len() % 4 != 0 {
            b.push(0);
        }
        b.extend_from_slice(&[0, 0, 0, 0]);
        b.extend_from_slice(&shb_len.to_le_bytes());
        // Interface Description Block with if_tsresol = 9
        let idb_len: u32 = 20 + 8 + 4;
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&idb_len.to_le_bytes());
        b.extend_from_slice(&(linktype as u16).to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&snaplen.to_le_bytes());
        b.extend_from_slice(&9u16.to_le_bytes()); // if_tsresol
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&[9, 0, 0, 0]);
        b.extend_from_slice(&[0, 0, 0, 0]);
        b.extend_from_slice(&idb_len.to_le_bytes());
        w.write_all(&b)?;
        Ok(PcapNgWriter {
            w,
            bytes: b.len() as u64,
            packets: 0,
        })
    }

    /// Write one Enhanced Packet Block on interface 0 (timestamps in nanoseconds).
    pub fn write_packet(&mut self, ts_ns: i64, frame: &[u8], wire_len: u32) -> io::Result<()> {
        let pad = (4 - frame.len() % 4) % 4;
        let total = (32 + frame.len() + pad) as u32;
        let ts = ts_ns as u64;
        let mut h = [0u8; 28];
        h[0..4].copy_from_slice(&6u32.to_le_bytes());
        h[4..8].copy_from_slice(&total.to_le_bytes());
        // interface id 0
        h[12..16].copy_from_slice(&((ts >> 32) as u32).to_le_bytes());
        h[16..20].copy_from_slice(&(ts as u32).to_le_bytes());
        h[20..24].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        h[24..28].copy_from_slice(&wire_len.to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(frame)?;
        self.w.write_all(&[0u8; 3][..pad])?;
        self.w.write_all(&total.to_le_bytes())?;
        self.bytes += total as u64;
        self.packets += 1;
        Ok(())
    }

    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    pub fn packets_written(&self) -> u64 {
        self.packets
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    pub fn into_inner(self) -> W {
        self.w
    }
}

/// Either writer, chosen at run time.
pub enum CaptureWriter<W: Write> {
    Pcap(PcapWriter<W>),
    PcapNg(PcapNgWriter<W>),
}

impl<W: Write> CaptureWriter<W> {
    pub fn write_packet(&mut self, ts_ns: i64, frame: &[u8], wire_len: u32) -> io::Result<()> {
        match self {
            CaptureWriter::Pcap(w) => w.write_packet(ts_ns, frame, wire_len),
            CaptureWriter::PcapNg(w) => w.write_packet(ts_ns, frame, wire_len),
        }
    }
    pub fn bytes_written(&self) -> u64 {
        match self {
            CaptureWriter::Pcap(w) => w.bytes_written(),
            CaptureWriter::PcapNg(w) => w.bytes_written(),
        }
    }
    pub fn packets_written(&self) -> u64 {
        match self {
            CaptureWriter::Pcap(w) => w.packets_written(),
            CaptureWriter::PcapNg(w) => w.packets_written(),
        }
    }
    pub fn flush(&mut self) -> io::Result<()> {
        match self {
            CaptureWriter::Pcap(w) => w.flush(),
            CaptureWriter::PcapNg(w) => w.flush(),
        }
    }
    pub fn into_inner(self) -> W {
        match self {
            CaptureWriter::Pcap(w) => w.into_inner(),
            CaptureWriter::PcapNg(w) => w.into_inner(),
        }
    }
}
