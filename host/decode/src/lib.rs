//! Link, network and transport header decoding.
//!
//! Pure and total: `decode(linktype, frame, wire_len, &mut out)` never panics, never
//! allocates and never does I/O. It fills a [`Decoded`] with what the headers show and
//! records every problem as an [`anomaly`] bit instead of failing.
//!
//! Layout (one module per layer, Suricata style): `bytes` (bounds-checked readers), `link`
//! (NULL/LOOP, Ethernet, VLAN, MPLS, PPPoE, SLL, SLL2, PPP), `ip` (shared IP helpers and
//! the transport dispatch), `ipv4`, `ipv6` (extension header walk), `tcp`, `udp`, `icmp`
//! and `tunnel` (IP-in-IP, GRE, ERSPAN, VXLAN, GTP-U). See `docs/decoding.md` for the
//! rules (tunnels, truncation versus lying lengths, fragments) and the benchmark.
//!
//! [`decode_with`] with [`DecodeMode::JoyfulJay`] instead reproduces how JoyfulJay
//! (through Scapy) reads a frame, for `--compat joyfuljay` (module `compat`).
#![forbid(unsafe_code)]

mod bytes;
mod compat;
mod icmp;
mod ip;
mod ipv4;
mod ipv6;
mod link;
#[cfg(test)]
mod robust;
mod tcp;
#[cfg(test)]
mod testutil;
mod tunnel;
mod udp;

/// Link types (pcap LINKTYPE_* values) the decoder understands.
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const RAW_BSD12: u32 = 12;
    pub const RAW_BSD14: u32 = 14;
    pub const RAW: u32 = 101;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
}

/// One encapsulation layer, innermost last (for `hdr_desc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Layer {
    #[default]
    None = 0,
    Eth,
    Vlan,
    Mpls,
    Sll,
    Sll2,
    Null,
    Pppoe,
    Ip4,
    Ip6,
    Gre,
    Erspan,
    Vxlan,
    GtpU,
    Tcp,
    Udp,
    Icmp,
    Icmp6,
    /// Any other upper-layer protocol (see `Decoded::protocol`).
    Other,
}

pub const MAX_LAYERS: usize = 12;

/// Anomaly bits (`Decoded::anomalies`). Each is counted by the host per reason.
pub mod anomaly {
    /// Frame shorter than its captured headers claim (snaplen cut).
    pub const TRUNCATED: u32 = 1 << 0;
    /// Unknown link type: nothing decoded.
    pub const UNKNOWN_LINKTYPE: u32 = 1 << 1;
    /// Link layer parsed, but it does not carry IP (ARP, LLDP, ...).
    pub const NOT_IP: u32 = 1 << 2;
    /// IP header invalid (bad version, IHL < 5, total length < header length, ...).
    pub const BAD_IP_HEADER: u32 = 1 << 3;
    /// Transport header invalid (TCP data offset < 5, UDP length < 8, ...).
    pub const BAD_L4_HEADER: u32 = 1 << 4;
    /// IP fragment (offset > 0 or MF set): ports unknown unless reassembled.
    pub const FRAGMENT: u32 = 1 << 5;
    /// IPv6 extension header chain malformed or too long.
    pub const BAD_IPV6_EXT: u32 = 1 << 6;
    /// Too many stacked encapsulations (VLAN/MPLS/tunnel) — stopped at the limit.
    pub const TOO_DEEP: u32 = 1 << 7;
    /// TCP options malformed.
    pub const BAD_TCP_OPTIONS: u32 = 1 << 8;
    /// Tunnel header malformed.
    pub const BAD_TUNNEL: u32 = 1 << 9;
    /// IP total length larger than what was on the wire (header lies).
    pub const IP_LEN_MISMATCH: u32 = 1 << 10;
    /// A tunnel header was fine but what it carries is not IP (ARP in VXLAN, LCP or
    /// compressed PPP in GRE, a GTP-U non-IP PDU, ...): the outer flow is kept.
    pub const INNER_NOT_IP: u32 = 1 << 11;

    /// All bits, for iterating/counting.
    /// Set by the host on a datagram rebuilt from IP fragments (not a problem; not counted
    /// as an anomaly).
    pub const REASSEMBLED: u32 = 1 << 12;

    pub const ALL: [(u32, &str); 12] = [
        (TRUNCATED, "truncated"),
        (UNKNOWN_LINKTYPE, "unknown_linktype"),
        (NOT_IP, "not_ip"),
        (BAD_IP_HEADER, "bad_ip_header"),
        (BAD_L4_HEADER, "bad_l4_header"),
        (FRAGMENT, "fragment"),
        (BAD_IPV6_EXT, "bad_ipv6_ext"),
        (TOO_DEEP, "too_deep"),
        (BAD_TCP_OPTIONS, "bad_tcp_options"),
        (BAD_TUNNEL, "bad_tunnel"),
        (IP_LEN_MISMATCH, "ip_len_mismatch"),
        (INNER_NOT_IP, "inner_not_ip"),
    ];
}

/// Everything the host needs from one frame's headers. Plain data, `Copy`, no borrow.
/// Offsets index into the frame slice passed to [`decode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// 0 when no IP layer was found; else 4 or 6 (innermost IP).
    pub ip_version: u8,
    /// Addresses; IPv4 in the first 4 bytes, the rest zero.
    pub src_ip: [u8; 16],
    pub dst_ip: [u8; 16],
    /// Upper-layer protocol after walking IPv6 extension headers (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...).
    pub protocol: u8,
    /// TCP/UDP ports, 0 otherwise.
    pub src_port: u16,
    pub dst_port: u16,
    /// IPv4 total length, IPv6 payload length + 40 (jumbo payload aware).
    pub ip_total_len: u32,
    /// Offset of the innermost IP header in the frame.
    pub l3_offset: u32,
    /// Offset of the transport header in the frame.
    pub l4_offset: u32,
    /// Offset of the transport payload in the frame.
    pub payload_offset: u32,
    /// Transport payload length from the IP/transport lengths (no Ethernet trailer padding),
    /// even if the capture was cut shorter.
    pub payload_len: u32,
    /// How many payload bytes are actually in the captured frame (`<= payload_len`).
    pub payload_captured: u32,
    pub ttl: u8,
    /// IPv4 TOS / IPv6 traffic class.
    pub tos: u8,
    pub ip_id: u16,
    /// IPv4 flags as the 3-bit field (0x1 MF, 0x2 DF, 0x4 reserved).
    pub ip_flags: u8,
    /// Fragment offset in bytes (IPv4 or IPv6 fragment header).
    pub frag_offset: u16,
    pub more_fragments: bool,
    /// IPv6 fragment identification / IPv4 id widened.
    pub frag_id: u32,
    pub flow_label: u32,
    pub tcp_seq: u32,
    pub tcp_ack: u32,
    /// 9 bits: FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80 NS 0x100.
    pub tcp_flags: u16,
    pub tcp_window: u16,
    pub tcp_urgent: u16,
    /// Offset/length of the TCP options in the frame (length 0 when none).
    pub tcp_opt_offset: u32,
    pub tcp_opt_len: u8,
    /// Parsed TCP options (last occurrence wins). 0 / false when absent.
    pub tcp_mss: u16,
    /// 0xFF when absent.
    pub tcp_wscale: u8,
    pub tcp_sack_permitted: bool,
    pub tcp_has_ts: bool,
    pub tcp_ts_val: u32,
    pub tcp_ts_ecr: u32,
    pub tcp_sack_blocks: u8,
    pub icmp_type: u8,
    pub icmp_code: u8,
    /// Echo-family id/seq, 0 otherwise.
    pub icmp_id: u16,
    pub icmp_seq: u16,
    /// Outermost Ethernet addresses and EtherType (0 when no Ethernet layer).
    pub has_eth: bool,
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub eth_type: u16,
    /// First VLAN id seen, 0xFFFF when none.
    pub vlan_id: u16,
    /// Number of IPv6 extension headers walked; bitmap by kind (bit0 HBH, bit1 routing,
    /// bit2 dest opts, bit3 fragment, bit4 AH, bit5 ESP, bit6 mobility).
    pub ipv6_ext_count: u8,
    pub ipv6_ext_mask: u8,
    /// IPv4 header options length in bytes.
    pub ip_opt_len: u8,
    /// Encapsulation stack, outermost first.
    pub layers: [Layer; MAX_LAYERS],
    pub n_layers: u8,
    /// What [`Decoded::transport`] answers, kept by the decoder as it records layers.
    pub transport_layer: Layer,
    /// Number of tunnel headers crossed (GRE, VXLAN, IP-in-IP, ...).
    pub tunnel_depth: u8,
    /// [`anomaly`] bits.
    pub anomalies: u32,
    /// Captured length of the frame that was decoded.
    pub caplen: u32,
}

/// `Decoded::vlan_id` when no VLAN tag was seen.
pub const NO_VLAN: u16 = 0xFFFF;
/// `Decoded::tcp_wscale` when the option is absent.
pub const NO_WSCALE: u8 = 0xFF;
/// Most VLAN tags accepted in one stack before [`anomaly::TOO_DEEP`].
pub const MAX_VLAN_TAGS: usize = 4;
/// Most MPLS labels accepted in one stack before [`anomaly::TOO_DEEP`].
pub const MAX_MPLS_LABELS: usize = 8;
/// Most tunnel headers crossed before [`anomaly::TOO_DEEP`] (the flow then stays the
/// last one decoded).
pub const MAX_TUNNEL_DEPTH: u8 = 4;
/// Most IPv6 extension headers walked before [`anomaly::BAD_IPV6_EXT`].
pub const MAX_IPV6_EXT: u8 = 16;

impl Decoded {
    /// The reset state: nothing decoded, `vlan_id` = [`NO_VLAN`], `tcp_wscale` = [`NO_WSCALE`].
    pub const EMPTY: Decoded = Decoded {
        ip_version: 0,
        src_ip: [0; 16],
        dst_ip: [0; 16],
        protocol: 0,
        src_port: 0,
        dst_port: 0,
        ip_total_len: 0,
        l3_offset: 0,
        l4_offset: 0,
        payload_offset: 0,
        payload_len: 0,
        payload_captured: 0,
        ttl: 0,
        tos: 0,
        ip_id: 0,
        ip_flags: 0,
        frag_offset: 0,
        more_fragments: false,
        frag_id: 0,
        flow_label: 0,
        tcp_seq: 0,
        tcp_ack: 0,
        tcp_flags: 0,
        tcp_window: 0,
        tcp_urgent: 0,
        tcp_opt_offset: 0,
        tcp_opt_len: 0,
        tcp_mss: 0,
        tcp_wscale: NO_WSCALE,
        tcp_sack_permitted: false,
        tcp_has_ts: false,
        tcp_ts_val: 0,
        tcp_ts_ecr: 0,
        tcp_sack_blocks: 0,
        icmp_type: 0,
        icmp_code: 0,
        icmp_id: 0,
        icmp_seq: 0,
        has_eth: false,
        src_mac: [0; 6],
        dst_mac: [0; 6],
        eth_type: 0,
        vlan_id: NO_VLAN,
        ipv6_ext_count: 0,
        ipv6_ext_mask: 0,
        ip_opt_len: 0,
        layers: [Layer::None; MAX_LAYERS],
        n_layers: 0,
        transport_layer: Layer::None,
        tunnel_depth: 0,
        anomalies: 0,
        caplen: 0,
    };

    /// [`Decoded::EMPTY`] with every field zero (the two sentinels too), so that the
    /// compiler clears it with a few vector stores instead of copying the whole constant.
    const ZEROED: Decoded = Decoded {
        vlan_id: 0,
        tcp_wscale: 0,
        ..Decoded::EMPTY
    };

    /// Sets `self` to [`Decoded::EMPTY`] (once per frame).
    #[inline]
    pub(crate) fn reset(&mut self) {
        *self = Decoded::ZEROED;
        self.vlan_id = NO_VLAN;
        self.tcp_wscale = NO_WSCALE;
    }

    /// The decoded layers, outermost first.
    pub fn layer_stack(&self) -> &[Layer] {
        let n = usize::from(self.n_layers).min(MAX_LAYERS);
        self.layers.get(..n).unwrap_or(&[])
    }

    /// The transport layer whose fields (ports, TCP or ICMP fields) were filled: `Tcp`,
    /// `Udp`, `Icmp`, `Icmp6` or `None`. In [`DecodeMode::JoyfulJay`] this can differ
    /// from what `protocol` says (a GRE packet, protocol 47, with the inner TCP's ports
    /// and flags), so "is this a TCP segment" must be asked here, not of `protocol`.
    /// When several are recorded (a tunnel), the first of `Tcp`, `Udp`, `Icmp`, `Icmp6`
    /// among them.
    pub fn transport(&self) -> Layer {
        self.transport_layer
    }

    /// True when any of the `bits` ([`anomaly`]) is set.
    pub fn has_anomaly(&self, bits: u32) -> bool {
        self.anomalies & bits != 0
    }

    /// Append a layer; silently ignored once [`MAX_LAYERS`] are recorded.
    pub(crate) fn push_layer(&mut self, layer: Layer) {
        if layer == Layer::None {
            return;
        }
        if let Some(slot) = self.layers.get_mut(usize::from(self.n_layers)) {
            *slot = layer;
            self.n_layers += 1;
            // the transport layers are declared in that order of precedence
            let transport = (Layer::Tcp as u8)..=(Layer::Icmp6 as u8);
            if transport.contains(&(layer as u8))
                && (self.transport_layer == Layer::None
                    || (layer as u8) < (self.transport_layer as u8))
            {
                self.transport_layer = layer;
            }
        }
    }

    /// Forget the network/transport part (before decoding a tunnel's inner packet), keeping
    /// the outermost link fields, the layer stack, the tunnel depth and the anomalies.
    pub(crate) fn clear_flow(&mut self) {
        let keep = *self;
        *self = Decoded::EMPTY;
        self.has_eth = keep.has_eth;
        self.src_mac = keep.src_mac;
        self.dst_mac = keep.dst_mac;
        self.eth_type = keep.eth_type;
        self.vlan_id = keep.vlan_id;
        self.layers = keep.layers;
        self.n_layers = keep.n_layers;
        self.transport_layer = keep.transport_layer;
        self.tunnel_depth = keep.tunnel_depth;
        self.anomalies = keep.anomalies;
    }
}

impl Default for Decoded {
    fn default() -> Self {
        Decoded::EMPTY
    }
}

/// How [`decode_with`] reads a frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DecodeMode {
    /// What the headers really say: tunnels decapsulated to the innermost IP packet,
    /// IPv6 extension headers walked, lengths checked ([`decode`]).
    #[default]
    Correct,
    /// What JoyfulJay 0.1.6.1 (Scapy 2.8) makes of the frame, for value-for-value
    /// compatibility: no decapsulation — the first IPv4 layer anywhere (else the first
    /// IPv6) gives addresses, protocol (IPv6: the fixed header's next header) and
    /// `ip_total_len`; the first TCP layer anywhere (else UDP, else ICMPv4) gives ports,
    /// flags and payload. No MPLS, ERSPAN, GTP-U; unknown link types (including a pcap
    /// link-type field with FCS bits set, if passed unmasked) have no IP. Fragments are
    /// not reassembled (later fragments: ports 0). `payload_len` plus the trailer bytes
    /// after the first IP packet (`caplen − (l3_offset + ip_total_len)`, at most 255)
    /// equals Scapy's payload length; `payload_captured` counts every captured byte
    /// after the transport header for TCP/UDP (what JoyfulJay keeps), 0 otherwise.
    /// `wire_len` is not used: Scapy only sees the captured bytes. See `compat.rs`.
    JoyfulJay,
}

/// Decode one frame in `mode`. `decode_with(lt, f, w, DecodeMode::Correct, out)` is
/// [`decode`]. Resets `out` then fills it. Never panics, never allocates, never does I/O.
#[inline]
pub fn decode_with(
    linktype: u32,
    frame: &[u8],
    wire_len: u32,
    mode: DecodeMode,
    out: &mut Decoded,
) {
    match mode {
        DecodeMode::Correct => decode(linktype, frame, wire_len, out),
        DecodeMode::JoyfulJay => {
            out.reset();
            // Scapy's pcap/pcapng readers keep at most 65535 bytes of a frame.
            let frame = frame.get(..compat::SCAPY_MAX_FRAME).unwrap_or(frame);
            compat::decode(linktype, frame, out);
            out.caplen = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        }
    }
}

/// Decode one frame. `frame` = captured bytes, `wire_len` = original length on the wire.
/// Resets `out` then fills it. Never panics, never allocates, never does I/O.
pub fn decode(linktype: u32, frame: &[u8], wire_len: u32, out: &mut Decoded) {
    out.reset();
    // Everything after an offset is bounded by what was on the wire; a bogus wire_len
    // shorter than the capture is ignored.
    let end = frame
        .len()
        .max(usize::try_from(wire_len).unwrap_or(usize::MAX));
    link::decode(linktype, frame, end, out);
    out.caplen = u32::try_from(frame.len()).unwrap_or(u32::MAX);
}

/// Decode starting at an IP header (used after IP reassembly): version from the first
/// nibble. Offsets in `out` index into `frame`; the IP packet may not extend past `frame`.
pub fn decode_ip(frame: &[u8], offset: usize, out: &mut Decoded) {
    out.reset();
    ip::by_version(frame, offset, frame.len(), out);
    out.caplen = u32::try_from(frame.len()).unwrap_or(u32::MAX);
}
