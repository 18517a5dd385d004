//! Hand-built flows and value accessors for extractor unit tests (cargo feature
//! `testutil`; use it from `[dev-dependencies]` only).
//!
//! ```ignore
//! use jj_kit::testutil::*;
//! let flow = TestFlow::tcp4(vec![pkt(T0, DIR_FWD, 60, 0, flags::SYN)]);
//! extractor.extract(&flow.view(), &mut out)?;
//! assert_eq!(f(&out[0]), b(0.0));
//! ```
use jj_plugin_api::{
    abi_stable::std_types::RSlice, flow_end, FlowView, LinkInfo, PacketRecord, StreamView, Value,
};

/// TCP flag bits of `PacketRecord::tcp_flags`.
pub mod flags {
    pub const FIN: u16 = 0x01;
    pub const SYN: u16 = 0x02;
    pub const RST: u16 = 0x04;
    pub const PSH: u16 = 0x08;
    pub const ACK: u16 = 0x10;
    pub const URG: u16 = 0x20;
    pub const ECE: u16 = 0x40;
    pub const CWR: u16 = 0x80;
    pub const NS: u16 = 0x100;
}

/// 2024-01-01T00:00:00Z in nanoseconds.
pub const T0: i64 = 1_704_067_200_000_000_000;
/// One millisecond in nanoseconds.
pub const MS: i64 = 1_000_000;
/// One microsecond in nanoseconds.
pub const US: i64 = 1_000;

/// A packet record with the fields most tests need (a transport header is present,
/// `pflags::L4_HEADER`); the rest are zero.
pub fn pkt(ts_ns: i64, dir: u8, ip_len: u32, payload_len: u32, tcp_flags: u16) -> PacketRecord {
    PacketRecord {
        ts_ns,
        dir,
        ip_len,
        payload_len,
        wire_len: ip_len + 14,
        tcp_flags,
        pflags: jj_plugin_api::pflags::L4_HEADER,
        ..Default::default()
    }
}

/// An IPv4 address in the 16-byte form of `FlowView`.
pub fn v4(a: [u8; 4]) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&a);
    b
}

/// An IPv6 address from its text.
pub fn v6(s: &str) -> [u8; 16] {
    s.parse::<std::net::Ipv6Addr>()
        .expect("valid IPv6 text")
        .octets()
}

/// An owned flow that lends out a [`FlowView`].
#[derive(Clone, Debug)]
pub struct TestFlow {
    pub src_ip: [u8; 16],
    pub dst_ip: [u8; 16],
    pub src_port: u16,
    pub dst_port: u16,
    pub ip_version: u8,
    pub protocol: u8,
    pub end_reason: u8,
    pub link: LinkInfo,
    pub packets: Vec<PacketRecord>,
    pub payload: Vec<u8>,
    pub hdr_bytes: Vec<u8>,
}

impl TestFlow {
    /// IPv4 192.168.1.100:54321 → 93.184.216.34:443 over `protocol`, Ethernet link.
    pub fn ipv4(protocol: u8, packets: Vec<PacketRecord>) -> TestFlow {
        TestFlow {
            src_ip: v4([192, 168, 1, 100]),
            dst_ip: v4([93, 184, 216, 34]),
            src_port: 54321,
            dst_port: 443,
            ip_version: 4,
            protocol,
            end_reason: flow_end::EOF,
            link: LinkInfo {
                has_eth: 1,
                vlan_id: 0xFFFF,
                ..Default::default()
            },
            packets,
            payload: Vec::new(),
            hdr_bytes: Vec::new(),
        }
    }

    /// A TCP flow (see [`TestFlow::ipv4`]).
    pub fn tcp4(packets: Vec<PacketRecord>) -> TestFlow {
        Self::ipv4(6, packets)
    }

    /// A UDP flow 192.168.1.100:54321 → 93.184.216.34:53.
    pub fn udp4(packets: Vec<PacketRecord>) -> TestFlow {
        let mut f = Self::ipv4(17, packets);
        f.dst_port = 53;
        f
    }

    /// Replaces the endpoints (`ip_version` 4 or 6).
    pub fn endpoints(
        mut self,
        ip_version: u8,
        src: ([u8; 16], u16),
        dst: ([u8; 16], u16),
    ) -> TestFlow {
        self.ip_version = ip_version;
        (self.src_ip, self.src_port) = src;
        (self.dst_ip, self.dst_port) = dst;
        self
    }

    pub fn view(&self) -> FlowView<'_> {
        FlowView {
            src_ip: self.src_ip,
            dst_ip: self.dst_ip,
            src_port: self.src_port,
            dst_port: self.dst_port,
            ip_version: self.ip_version,
            protocol: self.protocol,
            end_reason: self.end_reason,
            pass: jj_plugin_api::flow_pass::EXTRACT,
            first_packet_index: 0,
            anomalies: 0,
            _reserved2: 0,
            link: self.link,
            packets: RSlice::from_slice(&self.packets),
            payload: RSlice::from_slice(&self.payload),
            hdr_bytes: RSlice::from_slice(&self.hdr_bytes),
            streams: [StreamView::default(), StreamView::default()],
        }
    }
}

/// The string in `v` (panics otherwise).
pub fn s(v: &Value) -> &str {
    match v {
        Value::Str(s) => s.as_str(),
        other => panic!("not a string: {other:?}"),
    }
}

/// The integer in `v` (panics otherwise).
pub fn i(v: &Value) -> i64 {
    match v {
        Value::Int(x) => *x,
        other => panic!("not an int: {other:?}"),
    }
}

/// The bool in `v` (panics otherwise).
pub fn bl(v: &Value) -> bool {
    match v {
        Value::Bool(x) => *x,
        other => panic!("not a bool: {other:?}"),
    }
}

/// The bits of the float in `v`, for bit-exact comparison with [`b`] (so 0.0 vs -0.0
/// and one-ulp differences fail). Panics if `v` is not a float.
pub fn f(v: &Value) -> u64 {
    match v {
        Value::Float(x) => x.to_bits(),
        other => panic!("not a float: {other:?}"),
    }
}

/// The bits of `x` (see [`f`]).
pub fn b(x: f64) -> u64 {
    x.to_bits()
}

/// The float list in `v` as bits (panics otherwise).
pub fn fl(v: &Value) -> Vec<u64> {
    match v {
        Value::FloatList(x) => x.iter().map(|x| x.to_bits()).collect(),
        other => panic!("not a float list: {other:?}"),
    }
}

/// Bits of a float slice, to compare with [`fl`].
pub fn bits(xs: &[f64]) -> Vec<u64> {
    xs.iter().map(|x| x.to_bits()).collect()
}

/// The int list in `v` (panics otherwise).
pub fn il(v: &Value) -> &[i64] {
    match v {
        Value::IntList(x) => x.as_slice(),
        other => panic!("not an int list: {other:?}"),
    }
}

/// Marsaglia's xorshift64 (13, 7, 17): a deterministic stream of test inputs. Not for
/// anything but tests.
#[derive(Clone, Copy, Debug)]
pub struct XorShift64(pub u64);

impl XorShift64 {
    /// The next value (the state after one step; a zero seed stays zero).
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value in `0..n` (0 when `n` is 0); modulo bias is irrelevant for tests.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}
