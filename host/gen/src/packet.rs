//! Frame builders: Ethernet (optionally 802.1Q tagged) / IPv4 or IPv6 / TCP, UDP or ICMP echo.
//!
//! Every builder produces a complete Ethernet frame (without FCS) with correct IPv4 header
//! checksum, IP/UDP lengths and TCP/UDP/ICMP checksums. Frames shorter than 60 bytes are
//! padded with zero bytes *after* the IP packet (Ethernet trailer padding), as a NIC would.
//!
//! Two levels:
//! - one-call helpers such as [`eth_ipv4_tcp`] or [`eth_ipv6_udp`] with sensible defaults
//!   (TTL 64, window 64240, MAC addresses derived from the IP addresses by [`mac_for`]);
//! - the general [`Frame`] description, which sets every field and can build into a reused
//!   buffer ([`Frame::build_into`]) without allocating.
//!
//! ```
//! use jj_gen::packet::{eth_ipv4_tcp, tcp_flags};
//! let syn = eth_ipv4_tcp([10, 0, 0, 1], 40000, [192, 0, 2, 1], 80, 1000, 0, tcp_flags::SYN, &[]);
//! assert_eq!(syn.len(), 60); // 54 bytes of headers, padded to the Ethernet minimum
//! ```

/// TCP flag bits (the low byte of the flags field).
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86DD;
pub const ETHERTYPE_VLAN: u16 = 0x8100;
pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_ICMPV6: u8 = 58;
/// Minimum Ethernet frame length without the 4-byte FCS.
pub const MIN_FRAME_LEN: usize = 60;

/// Source and destination addresses of one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpPair {
    V4 { src: [u8; 4], dst: [u8; 4] },
    V6 { src: [u8; 16], dst: [u8; 16] },
}

impl IpPair {
    /// The same pair in the other direction.
    pub fn reversed(self) -> IpPair {
        match self {
            IpPair::V4 { src, dst } => IpPair::V4 { src: dst, dst: src },
            IpPair::V6 { src, dst } => IpPair::V6 { src: dst, dst: src },
        }
    }
}

/// IP header fields other than addresses, protocol and lengths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpParams {
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification (ignored for IPv6).
    pub ident: u16,
    /// IPv4 DF bit (ignored for IPv6).
    pub dont_fragment: bool,
    /// IPv4 TOS / IPv6 traffic class.
    pub tos: u8,
    /// IPv6 flow label, 20 bits (ignored for IPv4).
    pub flow_label: u32,
}

impl Default for IpParams {
    fn default() -> Self {
        IpParams {
            ttl: 64,
            ident: 0,
            dont_fragment: true,
            tos: 0,
            flow_label: 0,
        }
    }
}

/// Transport header description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4<'a> {
    /// TCP. `options` are raw option bytes (see [`TcpOptions`]); they are padded with
    /// zero (EOL) bytes to a multiple of 4 and must not exceed 40 bytes.
    Tcp {
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        options: &'a [u8],
    },
    /// UDP with computed length and checksum.
    Udp { sport: u16, dport: u16 },
    /// ICMP echo request/reply over IPv4, ICMPv6 echo (128/129) over IPv6.
    IcmpEcho { reply: bool, id: u16, seq: u16 },
    /// No transport header is built: the payload is the whole IP payload, `protocol` is
    /// written as the IPv4 protocol / IPv6 next header. Useful for odd or broken packets.
    Raw { protocol: u8 },
}

/// A full frame description. Build it with [`Frame::build`] or [`Frame::build_into`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    /// 802.1Q VLAN id (12 bits); `None` for an untagged frame.
    pub vlan: Option<u16>,
    pub ip: IpPair,
    pub ip_params: IpParams,
    pub l4: L4<'a>,
}

impl Frame<'_> {
    /// Build the frame carrying `payload` (above the transport header) into a new vector.
    pub fn build(&self, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(80 + payload.len());
        self.build_into(payload, &mut v);
        v
    }

    /// Build the frame into `out` (cleared first). Does not allocate once `out` is large
    /// enough.
    ///
    /// Panics if the IP payload exceeds 65535 bytes or the TCP options exceed 40 bytes.
    pub fn build_into(&self, payload: &[u8], out: &mut Vec<u8>) {
        out.clear();
        // Ethernet
        out.extend_from_slice(&self.dst_mac);
        out.extend_from_slice(&self.src_mac);
        if let Some(vid) = self.vlan {
            out.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
            out.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
        }
        let v6 = matches!(self.ip, IpPair::V6 { .. });
        out.extend_from_slice(&if v6 { ETHERTYPE_IPV6 } else { ETHERTYPE_IPV4 }.to_be_bytes());

        let ip_start = out.len();
        let proto = match self.l4 {
            L4::Tcp { .. } => IPPROTO_TCP,
            L4::Udp { .. } => IPPROTO_UDP,
            L4::IcmpEcho { .. } => {
                if v6 {
                    IPPROTO_ICMPV6
                } else {
                    IPPROTO_ICMP
                }
            }
            L4::Raw { protocol } => protocol,
        };
        let l4_hdr_len = match self.l4 {
            L4::Tcp { options, .. } => {
                assert!(options.len() <= 40, "TCP options longer than 40 bytes");
                20 + options.len().div_ceil(4) * 4
            }
            L4::Udp { .. } | L4::IcmpEcho { .. } => 8,
            L4::Raw { .. } => 0,
        };
        let l4_len = l4_hdr_len + payload.len();
        let p = &self.ip_params;
        match self.ip {
            IpPair::V4 { src, dst } => {
                let total = 20 + l4_len;
                assert!(total <= 65535, "IPv4 packet too long");
                let flags_frag: u16 = if p.dont_fragment { 0x4000 } else { 0 };
                out.extend_from_slice(&[0x45, p.tos]);
                out.extend_from_slice(&(total as u16).to_be_bytes());
                out.extend_from_slice(&p.ident.to_be_bytes());
                out.extend_from_slice(&flags_frag.to_be_bytes());
                out.extend_from_slice(&[p.ttl, proto, 0, 0]);
                out.extend_from_slice(&src);
                out.extend_from_slice(&dst);
                let c = checksum(&out[ip_start..ip_start + 20]);
                out[ip_start + 10..ip_start + 12].copy_from_slice(&c.to_be_bytes());
            }
            IpPair::V6 { src, dst } => {
                assert!(l4_len <= 65535, "IPv6 payload too long");
                let w0: u32 = (6 << 28) | ((p.tos as u32) << 20) | (p.flow_label & 0xf_ffff);
                out.extend_from_slice(&w0.to_be_bytes());
                out.extend_from_slice(&(l4_len as u16).to_be_bytes());
                out.extend_from_slice(&[proto, p.ttl]);
                out.extend_from_slice(&src);
                out.extend_from_slice(&dst);
            }
        }

        let l4_start = out.len();
        let csum_off = match self.l4 {
            L4::Tcp {
                sport,
                dport,
                seq,
                ack,
                flags,
                window,
                options,
            } => {
                out.extend_from_slice(&sport.to_be_bytes());
                out.extend_from_slice(&dport.to_be_bytes());
                out.extend_from_slice(&seq.to_be_bytes());
                out.extend_from_slice(&ack.to_be_bytes());
                out.push(((l4_hdr_len / 4) as u8) << 4);
                out.push(flags);
                out.extend_from_slice(&window.to_be_bytes());
                out.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
                out.extend_from_slice(options);
                out.resize(l4_start + l4_hdr_len, 0);
                Some(16)
            }
            L4::Udp { sport, dport } => {
                out.extend_from_slice(&sport.to_be_bytes());
                out.extend_from_slice(&dport.to_be_bytes());
                out.extend_from_slice(&(l4_len as u16).to_be_bytes());
                out.extend_from_slice(&[0, 0]);
                Some(6)
            }
            L4::IcmpEcho { reply, id, seq } => {
                let t = match (v6, reply) {
                    (false, false) => 8,
                    (false, true) => 0,
                    (true, false) => 128,
                    (true, true) => 129,
                };
                out.extend_from_slice(&[t, 0, 0, 0]);
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(&seq.to_be_bytes());
                Some(2)
            }
            L4::Raw { .. } => None,
        };
        out.extend_from_slice(payload);

        if let Some(off) = csum_off {
            // Pseudo-header (not for ICMPv4).
            let mut sum: u64 = 0;
            let pseudo = proto != IPPROTO_ICMP || v6;
            if pseudo {
                match self.ip {
                    IpPair::V4 { src, dst } => {
                        sum += u32::from_be_bytes(src) as u64;
                        sum += u32::from_be_bytes(dst) as u64;
                        sum += proto as u64 + l4_len as u64;
                    }
                    IpPair::V6 { src, dst } => {
                        sum += sum_words(&src);
                        sum += sum_words(&dst);
                        sum += proto as u64 + l4_len as u64;
                    }
                }
            }
            sum += sum_words(&out[l4_start..]);
            let mut c = fold(sum);
            if c == 0 && proto == IPPROTO_UDP {
                c = 0xffff; // 0 means "no checksum" for UDP
            }
            out[l4_start + off..l4_start + off + 2].copy_from_slice(&c.to_be_bytes());
        }

        if out.len() < MIN_FRAME_LEN {
            out.resize(MIN_FRAME_LEN, 0);
        }
    }
}

/// Sum of big-endian 16-bit words (odd trailing byte padded with zero), unfolded.
#[inline]
fn sum_words(data: &[u8]) -> u64 {
    let mut sum: u64 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        sum += (v >> 32) + (v & 0xffff_ffff);
    }
    let mut rest = chunks.remainder();
    while rest.len() >= 2 {
        sum += u16::from_be_bytes([rest[0], rest[1]]) as u64;
        rest = &rest[2..];
    }
    if let [b] = rest {
        sum += (*b as u64) << 8;
    }
    sum
}

#[inline]
fn fold(mut sum: u64) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// RFC 1071 Internet checksum of `data`. Over a header whose checksum field is filled in,
/// the result is 0 when the checksum is correct.
pub fn checksum(data: &[u8]) -> u16 {
    fold(sum_words(data))
}

/// Deterministic locally-administered MAC address for an IP address (02:00 + the last four
/// address bytes). Used by the one-call helpers.
pub fn mac_for(ip: &[u8]) -> [u8; 6] {
    let n = ip.len();
    [0x02, 0x00, ip[n - 4], ip[n - 3], ip[n - 2], ip[n - 1]]
}

/// Builder for TCP option bytes in a fixed buffer (no allocation).
///
/// ```
/// use jj_gen::packet::TcpOptions;
/// let o = TcpOptions::new().mss(1460).sack_permitted().timestamps(1, 0).nop().wscale(7);
/// assert_eq!(o.as_slice().len(), 20); // the Linux SYN layout
/// ```
#[derive(Clone, Copy, Debug)]
pub struct TcpOptions {
    buf: [u8; 40],
    len: usize,
}

impl Default for TcpOptions {
    fn default() -> Self {
        TcpOptions {
            buf: [0; 40],
            len: 0,
        }
    }
}

impl TcpOptions {
    pub fn new() -> Self {
        Self::default()
    }
    fn put(mut self, bytes: &[u8]) -> Self {
        assert!(
            self.len + bytes.len() <= 40,
            "TCP options longer than 40 bytes"
        );
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        self
    }
    pub fn nop(self) -> Self {
        self.put(&[1])
    }
    pub fn mss(self, mss: u16) -> Self {
        let m = mss.to_be_bytes();
        self.put(&[2, 4, m[0], m[1]])
    }
    pub fn wscale(self, shift: u8) -> Self {
        self.put(&[3, 3, shift])
    }
    pub fn sack_permitted(self) -> Self {
        self.put(&[4, 2])
    }
    pub fn timestamps(self, tsval: u32, tsecr: u32) -> Self {
        let a = tsval.to_be_bytes();
        let b = tsecr.to_be_bytes();
        self.put(&[8, 10, a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]])
    }
    /// NOP, NOP, timestamps: the 12-byte block on established Linux segments.
    pub fn nop_nop_timestamps(self, tsval: u32, tsecr: u32) -> Self {
        self.nop().nop().timestamps(tsval, tsecr)
    }
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

fn v4_frame<'a>(src: [u8; 4], dst: [u8; 4], l4: L4<'a>) -> Frame<'a> {
    Frame {
        src_mac: mac_for(&src),
        dst_mac: mac_for(&dst),
        vlan: None,
        ip: IpPair::V4 { src, dst },
        ip_params: IpParams::default(),
        l4,
    }
}

fn v6_frame<'a>(src: [u8; 16], dst: [u8; 16], l4: L4<'a>) -> Frame<'a> {
    Frame {
        src_mac: mac_for(&src),
        dst_mac: mac_for(&dst),
        vlan: None,
        ip: IpPair::V6 { src, dst },
        ip_params: IpParams::default(),
        l4,
    }
}

fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8) -> L4<'static> {
    L4::Tcp {
        sport,
        dport,
        seq,
        ack,
        flags,
        window: 64240,
        options: &[],
    }
}

/// Ethernet/IPv4/TCP frame without TCP options (TTL 64, DF, window 64240).
#[allow(clippy::too_many_arguments)]
pub fn eth_ipv4_tcp(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    v4_frame(src, dst, tcp(sport, dport, seq, ack, flags)).build(payload)
}

/// Ethernet/IPv6/TCP frame without TCP options (hop limit 64, window 64240).
#[allow(clippy::too_many_arguments)]
pub fn eth_ipv6_tcp(
    src: [u8; 16],
    sport: u16,
    dst: [u8; 16],
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    v6_frame(src, dst, tcp(sport, dport, seq, ack, flags)).build(payload)
}

/// Ethernet/IPv4/UDP frame.
pub fn eth_ipv4_udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    v4_frame(src, dst, L4::Udp { sport, dport }).build(payload)
}

/// Ethernet/IPv6/UDP frame.
pub fn eth_ipv6_udp(
    src: [u8; 16],
    sport: u16,
    dst: [u8; 16],
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    v6_frame(src, dst, L4::Udp { sport, dport }).build(payload)
}

/// Ethernet/IPv4/ICMP echo request (`reply == false`) or reply.
pub fn eth_ipv4_icmp_echo(
    src: [u8; 4],
    dst: [u8; 4],
    reply: bool,
    id: u16,
    seq: u16,
    payload: &[u8],
) -> Vec<u8> {
    v4_frame(src, dst, L4::IcmpEcho { reply, id, seq }).build(payload)
}

/// Ethernet/IPv6/ICMPv6 echo request (`reply == false`) or reply.
pub fn eth_ipv6_icmp_echo(
    src: [u8; 16],
    dst: [u8; 16],
    reply: bool,
    id: u16,
    seq: u16,
    payload: &[u8],
) -> Vec<u8> {
    v6_frame(src, dst, L4::IcmpEcho { reply, id, seq }).build(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_tcp_checksums() {
        let f = eth_ipv4_tcp(
            [10, 0, 0, 1],
            40000,
            [192, 0, 2, 7],
            80,
            1,
            2,
            tcp_flags::ACK | tcp_flags::PSH,
            b"hello world!!",
        );
        assert_eq!(&f[12..14], &[0x08, 0x00]);
        assert_eq!(checksum(&f[14..34]), 0);
        // TCP checksum with pseudo-header verifies to 0.
        let tcp = &f[34..];
        let mut sum = sum_words(&f[26..34]) + 6 + tcp.len() as u64;
        sum += sum_words(tcp);
        assert_eq!(fold(sum), 0);
        assert_eq!(tcp.len(), 20 + 13);
    }

    #[test]
    fn padding_and_vlan() {
        let mut f = Frame {
            src_mac: [2, 0, 0, 0, 0, 1],
            dst_mac: [2, 0, 0, 0, 0, 2],
            vlan: Some(100),
            ip: IpPair::V4 {
                src: [10, 0, 0, 1],
                dst: [10, 0, 0, 2],
            },
            ip_params: IpParams::default(),
            l4: L4::Udp { sport: 1, dport: 2 },
        };
        let v = f.build(b"x");
        assert_eq!(v.len(), 60);
        assert_eq!(&v[12..16], &[0x81, 0x00, 0x00, 100]);
        assert_eq!(u16::from_be_bytes([v[20], v[21]]), 20 + 8 + 1); // IP total length
        assert!(v[18 + 29..].iter().all(|&b| b == 0));
        f.vlan = None;
        f.ip = IpPair::V6 {
            src: [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            dst: [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
        };
        let v = f.build(&[0u8; 100]);
        assert_eq!(v.len(), 14 + 40 + 8 + 100);
    }

    #[test]
    fn icmp_checksum() {
        let f = eth_ipv4_icmp_echo([10, 0, 0, 1], [10, 0, 0, 2], false, 7, 1, &[1, 2, 3]);
        assert_eq!(checksum(&f[34..34 + 11]), 0);
    }
}
