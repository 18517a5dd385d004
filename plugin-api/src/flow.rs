//! What an extractor sees of a flow: compact per-packet records plus the payload bytes
//! the loaded extractors asked for. Layouts here are mirrored by `include/jj_plugin.h`;
//! changing them is a major ABI change.
use abi_stable::{std_types::RSlice, StableAbi};

/// Packet direction: from the initiator (the sender of the flow's first packet).
pub const DIR_FWD: u8 = 0;
/// Packet direction: from the responder.
pub const DIR_BWD: u8 = 1;

/// Bits of [`PacketRecord::pflags`].
pub mod pflags {
    /// TCP SACK-permitted option present.
    pub const TCP_SACK_PERM: u8 = 1 << 0;
    /// TCP timestamps option present (`tcp_ts_val`/`tcp_ts_ecr` valid).
    pub const TCP_HAS_TS: u8 = 1 << 1;
    /// The frame was cut by the snap length: lengths come from headers, bytes are missing.
    pub const TRUNCATED: u8 = 1 << 2;
    /// Rebuilt from IP fragments.
    pub const REASSEMBLED: u8 = 1 << 3;
    /// TCP MSS option present.
    pub const TCP_HAS_MSS: u8 = 1 << 4;
    /// TCP window-scale option present (`tcp_wscale` valid).
    pub const TCP_HAS_WSCALE: u8 = 1 << 5;
    /// The packet has TCP options (raw bytes in `FlowView::hdr_bytes` if requested).
    pub const TCP_HAS_OPTIONS: u8 = 1 << 6;
    /// The packet carries a transport header: its TCP/UDP/ICMP fields are valid (not a
    /// later IP fragment, not cut before the header).
    pub const L4_HEADER: u8 = 1 << 7;
}

/// Why the host ended a flow ([`FlowView::end_reason`]).
pub mod flow_end {
    /// End of input.
    pub const EOF: u8 = 0;
    /// Idle timeout on packet time (or wall clock for live capture).
    pub const IDLE: u8 = 1;
    /// Active timeout (maximum flow duration).
    pub const ACTIVE: u8 = 2;
    /// TCP: FIN seen in both directions (and acknowledged) or RST.
    pub const TCP_CLOSE: u8 = 3;
    /// Evicted because the flow table was full (`--max-flows`).
    pub const EVICTED: u8 = 4;
    /// The flow reached the per-flow packet bound and was split.
    pub const PACKET_LIMIT: u8 = 5;
    /// JoyfulJay compat mode: the first FIN or RST ended the flow.
    pub const COMPAT_FIN: u8 = 6;
}

/// What a call to `extract` is for ([`FlowView::pass`]). Plugins built with
/// [`crate::export_plugin!`] never see this: the shim calls [`crate::Extractor::extract`],
/// [`crate::Extractor::observe_row`] or [`crate::Extractor::finish_row`] accordingly.
pub mod flow_pass {
    /// First (or only) pass: the full view; fill the slots.
    pub const EXTRACT: u8 = 0;
    /// Two-pass extractors, second pass: read the slots (first-pass values), change nothing.
    pub const OBSERVE_ROW: u8 = 1;
    /// Two-pass extractors, second pass: overwrite the slots with the final values.
    pub const FINISH_ROW: u8 = 2;
}

/// One packet of a flow, as decoded by the host. 80 bytes, no implicit padding.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, Default, PartialEq)]
pub struct PacketRecord {
    /// Capture timestamp, nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// IP total length (IPv4 `total length`, IPv6 payload length + 40).
    pub ip_len: u32,
    /// Transport payload length from the headers; excludes link-layer padding.
    pub payload_len: u32,
    /// Original frame length on the wire.
    pub wire_len: u32,
    pub tcp_seq: u32,
    pub tcp_ack: u32,
    /// Offset of this packet's stored payload bytes in [`FlowView::payload`].
    pub payload_off: u32,
    /// Number of payload bytes stored (`<= payload_len`; bounded by the requirements).
    pub payload_stored: u32,
    pub tcp_ts_val: u32,
    pub tcp_ts_ecr: u32,
    /// IPv6 flow label (0 for IPv4).
    pub flow_label: u32,
    /// Offset of the raw TCP option bytes in [`FlowView::hdr_bytes`] (if requested).
    pub opt_off: u32,
    /// Fragment offset in bytes (first fragment / unfragmented: 0).
    pub frag_offset: u16,
    /// ICMP/ICMPv6 echo id and sequence (0 otherwise).
    pub icmp_id: u16,
    pub icmp_seq: u16,
    /// TCP flags, 9 bits: FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80 NS 0x100.
    pub tcp_flags: u16,
    pub tcp_window: u16,
    pub ip_id: u16,
    pub tcp_mss: u16,
    pub tcp_urgent: u16,
    /// [`DIR_FWD`] or [`DIR_BWD`].
    pub dir: u8,
    pub ttl: u8,
    /// IPv4 TOS / IPv6 traffic class.
    pub tos: u8,
    /// IPv4 flags as the 3-bit field: MF 0x1, DF 0x2, reserved 0x4.
    pub ip_flags: u8,
    /// Window-scale shift (valid with `pflags::TCP_HAS_WSCALE`).
    pub tcp_wscale: u8,
    pub icmp_type: u8,
    pub icmp_code: u8,
    /// [`pflags`] bits.
    pub pflags: u8,
    /// Length of the raw TCP options (0..=40).
    pub tcp_opt_len: u8,
    /// Number of SACK blocks in this segment.
    pub tcp_sack_blocks: u8,
    /// IPv4 header options length in bytes / IPv6 extension headers count.
    pub ip_opt_len: u8,
    /// Bytes after the IP packet in the captured frame (Ethernet padding or trailer),
    /// capped at 255. JoyfulJay (Scapy) counts them as payload; jj does not.
    pub link_trailer: u8,
}

/// Link-layer and encapsulation facts, taken from the flow's first packet.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, Default, PartialEq)]
pub struct LinkInfo {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    /// Outer EtherType (0x8100 for VLAN-tagged frames), 0 without Ethernet.
    pub eth_type: u16,
    /// First VLAN id, 0xFFFF when untagged.
    pub vlan_id: u16,
    pub has_eth: u8,
    /// Tunnel headers crossed to reach the flow's IP packet.
    pub tunnel_depth: u8,
    pub n_layers: u8,
    /// Encapsulation stack, outermost first (see the host's `Layer` codes in docs/plugin-api.md).
    pub layers: [u8; 12],
    /// IPv6 extension header kinds seen in the flow (bit0 HBH, 1 routing, 2 dest opts,
    /// 3 fragment, 4 AH, 5 ESP, 6 mobility).
    pub ipv6_ext_mask: u8,
    pub _reserved: [u8; 4],
}

/// A reassembled prefix of one direction's TCP byte stream.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct StreamView<'a> {
    /// In-order stream bytes from the start of the connection.
    pub bytes: RSlice<'a, u8>,
    /// 1 if a gap (missing segment) stopped the reassembly before `bytes` ended.
    pub gap: u8,
    /// 1 if the per-direction bound cut the stream.
    pub truncated: u8,
    pub _reserved: [u8; 6],
}

impl Default for StreamView<'_> {
    fn default() -> Self {
        StreamView {
            bytes: RSlice::from_slice(&[]),
            gap: 0,
            truncated: 0,
            _reserved: [0; 6],
        }
    }
}

/// One flow, oriented from its initiator. Borrowed: valid only during `extract`.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct FlowView<'a> {
    /// Initiator address (IPv4 in the first 4 bytes).
    pub src_ip: [u8; 16],
    /// Responder address.
    pub dst_ip: [u8; 16],
    pub src_port: u16,
    pub dst_port: u16,
    /// 4 or 6.
    pub ip_version: u8,
    /// Upper-layer protocol number (after IPv6 extension headers).
    pub protocol: u8,
    /// [`flow_end`] code.
    pub end_reason: u8,
    /// Which call this is ([`flow_pass`]); always `EXTRACT` except for two-pass
    /// extractors. (Since 1.1; was a reserved zero byte, same layout.)
    #[sabi(rename = _reserved)]
    pub pass: u8,
    /// Index (0-based, in input order) of the flow's first packet: unique per flow in a run.
    pub first_packet_index: u64,
    /// OR of the decoder's anomaly bits over the flow's packets.
    pub anomalies: u32,
    pub _reserved2: u32,
    pub link: LinkInfo,
    /// Every packet of the flow, in arrival order.
    pub packets: RSlice<'a, PacketRecord>,
    /// Stored payload bytes of all packets; see `PacketRecord::payload_off`.
    pub payload: RSlice<'a, u8>,
    /// Raw TCP option bytes; see `PacketRecord::opt_off`.
    pub hdr_bytes: RSlice<'a, u8>,
    /// Reassembled TCP streams: `[initiator→responder, responder→initiator]`.
    pub streams: [StreamView<'a>; 2],
}

impl<'a> FlowView<'a> {
    pub fn packets(&self) -> &'a [PacketRecord] {
        self.packets.as_slice()
    }

    /// The stored payload bytes of packet `p` (empty when none were kept).
    pub fn payload_of(&self, p: &PacketRecord) -> &'a [u8] {
        let all = self.payload.as_slice();
        let start = p.payload_off as usize;
        let end = start.saturating_add(p.payload_stored as usize);
        all.get(start..end).unwrap_or(&[])
    }

    /// The raw TCP option bytes of packet `p` (empty when not requested or none).
    pub fn tcp_options_of(&self, p: &PacketRecord) -> &'a [u8] {
        let all = self.hdr_bytes.as_slice();
        let start = p.opt_off as usize;
        let end = start.saturating_add(p.tcp_opt_len as usize);
        all.get(start..end).unwrap_or(&[])
    }

    pub fn src_ip(&self) -> std::net::IpAddr {
        ip_of(self.ip_version, &self.src_ip)
    }

    pub fn dst_ip(&self) -> std::net::IpAddr {
        ip_of(self.ip_version, &self.dst_ip)
    }

    /// Timestamp of the first packet in nanoseconds (0 for an empty view).
    pub fn first_ts_ns(&self) -> i64 {
        self.packets.first().map_or(0, |p| p.ts_ns)
    }

    /// Timestamp of the last packet in arrival order (not a maximum).
    pub fn last_ts_ns(&self) -> i64 {
        self.packets.last().map_or(0, |p| p.ts_ns)
    }
}

/// Builds an `IpAddr` from the 16-byte address form used in [`FlowView`].
pub fn ip_of(version: u8, b: &[u8; 16]) -> std::net::IpAddr {
    if version == 6 {
        std::net::IpAddr::V6(std::net::Ipv6Addr::from(*b))
    } else {
        std::net::IpAddr::V4(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_the_c_header() {
        // include/jj_plugin.h documents these sizes; the C example test checks offsets.
        assert_eq!(std::mem::size_of::<PacketRecord>(), 80);
        assert_eq!(std::mem::size_of::<LinkInfo>(), 36);
        assert_eq!(std::mem::align_of::<PacketRecord>(), 8);
    }
}
