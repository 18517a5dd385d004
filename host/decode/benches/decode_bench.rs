//! Hand-written `jj_decode::decode` versus an equivalent `pnet_packet` path.
//!
//! `cargo bench -p jj-decode --bench decode_bench` (release profile). Decodes a few million
//! synthetic Ethernet/IPv4/TCP (with options) and Ethernet/IPv6/UDP frames with both and
//! prints ns/packet and the ratio. Both fill the same `Decoded` fields for these frames
//! (checked before timing).

use std::hint::black_box;
use std::time::Instant;

use jj_decode::{anomaly, decode, linktype, Decoded};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv4::Ipv4Packet;
use pnet_packet::ipv6::Ipv6Packet;
use pnet_packet::tcp::{TcpOptionNumbers, TcpPacket};
use pnet_packet::udp::UdpPacket;
use pnet_packet::Packet;

/// Deterministic xorshift64*.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn eth(et: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![
        0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    ];
    v.extend_from_slice(&et.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn v4_tcp(r: &mut Rng) -> Vec<u8> {
    let syn = r.next() & 3 == 0;
    let opts: &[u8] = if syn {
        &[
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ]
    } else {
        &[1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8]
    };
    let plen = if syn { 0 } else { (r.next() % 200) as usize };
    let mut tcp = Vec::new();
    tcp.extend_from_slice(&((r.next() % 60000) as u16 + 1024).to_be_bytes());
    tcp.extend_from_slice(&[0x01, 0xbb]);
    tcp.extend_from_slice(&(r.next() as u32).to_be_bytes());
    tcp.extend_from_slice(&(r.next() as u32).to_be_bytes());
    tcp.push((((20 + opts.len()) / 4) as u8) << 4);
    tcp.push(if syn { 0x02 } else { 0x18 });
    tcp.extend_from_slice(&[0xfa, 0xf0, 0, 0, 0, 0]);
    tcp.extend_from_slice(opts);
    tcp.resize(tcp.len() + plen, 0x61);
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0];
    ip[2..4].copy_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&(r.next() as u32).to_be_bytes());
    ip.extend_from_slice(&[10, 0, 0, 2]);
    ip.extend(tcp);
    eth(0x0800, &ip)
}

fn v6_udp(r: &mut Rng) -> Vec<u8> {
    let plen = (r.next() % 300) as usize;
    let mut udp = Vec::new();
    udp.extend_from_slice(&((r.next() % 60000) as u16 + 1024).to_be_bytes());
    udp.extend_from_slice(&[0, 53]);
    udp.extend_from_slice(&((8 + plen) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.resize(8 + plen, 0x62);
    let mut ip = vec![0x60, 0x01, 0x23, 0x45];
    ip.extend_from_slice(&(udp.len() as u16).to_be_bytes());
    ip.extend_from_slice(&[17, 64]);
    ip.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0]);
    ip.extend_from_slice(&(r.next() as u32).to_be_bytes());
    ip.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    ip.extend(udp);
    eth(0x86dd, &ip)
}

/// The same fields as `jj_decode::decode` for Ethernet + IPv4/IPv6 + TCP/UDP, via pnet.
fn pnet_decode(frame: &[u8], out: &mut Decoded) {
    *out = Decoded::default();
    let Some(e) = EthernetPacket::new(frame) else {
        out.anomalies |= anomaly::TRUNCATED;
        return;
    };
    out.has_eth = true;
    out.dst_mac = e.get_destination().octets();
    out.src_mac = e.get_source().octets();
    out.eth_type = e.get_ethertype().0;
    let l3 = e.payload();
    out.l3_offset = 14;
    let (proto, l4, l4_off) = match e.get_ethertype() {
        EtherTypes::Ipv4 => {
            let Some(ip) = Ipv4Packet::new(l3) else {
                out.anomalies |= anomaly::TRUNCATED;
                return;
            };
            let hl = usize::from(ip.get_header_length()) * 4;
            if ip.get_version() != 4 || hl < 20 || usize::from(ip.get_total_length()) < hl {
                out.anomalies |= anomaly::BAD_IP_HEADER;
                return;
            }
            out.ip_version = 4;
            out.src_ip[..4].copy_from_slice(&ip.get_source().octets());
            out.dst_ip[..4].copy_from_slice(&ip.get_destination().octets());
            out.protocol = ip.get_next_level_protocol().0;
            out.tos = (ip.get_dscp() << 2) | ip.get_ecn();
            out.ttl = ip.get_ttl();
            out.ip_id = ip.get_identification();
            out.frag_id = u32::from(out.ip_id);
            out.ip_flags = ip.get_flags();
            out.frag_offset = ip.get_fragment_offset() * 8;
            out.more_fragments = out.ip_flags & 1 != 0;
            out.ip_total_len = u32::from(ip.get_total_length());
            out.ip_opt_len = (hl - 20) as u8;
            // Like jj-decode, the transport payload excludes Ethernet trailer padding.
            let end = usize::from(ip.get_total_length()).min(l3.len());
            (ip.get_next_level_protocol(), &l3[hl..end.max(hl)], 14 + hl)
        }
        EtherTypes::Ipv6 => {
            let Some(ip) = Ipv6Packet::new(l3) else {
                out.anomalies |= anomaly::TRUNCATED;
                return;
            };
            if ip.get_version() != 6 {
                out.anomalies |= anomaly::BAD_IP_HEADER;
                return;
            }
            out.ip_version = 6;
            out.src_ip = ip.get_source().octets();
            out.dst_ip = ip.get_destination().octets();
            out.protocol = ip.get_next_header().0;
            out.tos = ip.get_traffic_class();
            out.flow_label = ip.get_flow_label();
            out.ttl = ip.get_hop_limit();
            out.ip_total_len = u32::from(ip.get_payload_length()) + 40;
            let end = (40 + usize::from(ip.get_payload_length())).min(l3.len());
            (ip.get_next_header(), &l3[40..end.max(40)], 14 + 40)
        }
        _ => {
            out.anomalies |= anomaly::NOT_IP;
            return;
        }
    };
    out.l4_offset = l4_off as u32;
    match proto {
        IpNextHeaderProtocols::Tcp => {
            let Some(t) = TcpPacket::new(l4) else {
                out.anomalies |= anomaly::BAD_L4_HEADER;
                return;
            };
            out.src_port = t.get_source();
            out.dst_port = t.get_destination();
            out.tcp_seq = t.get_sequence();
            out.tcp_ack = t.get_acknowledgement();
            out.tcp_flags = (u16::from(t.get_reserved() & 1) << 8) | u16::from(t.get_flags());
            out.tcp_window = t.get_window();
            out.tcp_urgent = t.get_urgent_ptr();
            let hl = usize::from(t.get_data_offset()) * 4;
            if hl < 20 || hl > l4.len() {
                out.anomalies |= anomaly::BAD_L4_HEADER;
                return;
            }
            out.tcp_opt_offset = (l4_off + 20) as u32;
            out.tcp_opt_len = (hl - 20) as u8;
            for o in t.get_options_iter() {
                let p = o.payload();
                match o.get_number() {
                    TcpOptionNumbers::MSS if p.len() == 2 => {
                        out.tcp_mss = u16::from_be_bytes([p[0], p[1]])
                    }
                    TcpOptionNumbers::WSCALE if p.len() == 1 => out.tcp_wscale = p[0],
                    TcpOptionNumbers::SACK_PERMITTED => out.tcp_sack_permitted = true,
                    TcpOptionNumbers::SACK => out.tcp_sack_blocks = (p.len() / 8) as u8,
                    TcpOptionNumbers::TIMESTAMPS if p.len() == 8 => {
                        out.tcp_has_ts = true;
                        out.tcp_ts_val = u32::from_be_bytes([p[0], p[1], p[2], p[3]]);
                        out.tcp_ts_ecr = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
                    }
                    _ => {}
                }
            }
            out.payload_offset = (l4_off + hl) as u32;
            out.payload_len = t.payload().len() as u32;
            out.payload_captured = out.payload_len;
        }
        IpNextHeaderProtocols::Udp => {
            let Some(u) = UdpPacket::new(l4) else {
                out.anomalies |= anomaly::BAD_L4_HEADER;
                return;
            };
            out.src_port = u.get_source();
            out.dst_port = u.get_destination();
            if u.get_length() < 8 {
                out.anomalies |= anomaly::BAD_L4_HEADER;
            }
            out.payload_offset = (l4_off + 8) as u32;
            out.payload_len = (l4.len() - 8) as u32;
            out.payload_captured = out.payload_len;
        }
        _ => {}
    }
}

fn jj(frame: &[u8], out: &mut Decoded) {
    decode(linktype::ETHERNET, frame, frame.len() as u32, out);
}

/// ns/packet of one pass decoding `total` packets.
fn run(frames: &[Vec<u8>], total: usize, f: fn(&[u8], &mut Decoded)) -> f64 {
    let mut out = Decoded::default();
    let passes = total.div_ceil(frames.len());
    let mut sink = 0u64;
    let t = Instant::now();
    for _ in 0..passes {
        for fr in frames {
            f(black_box(fr), &mut out);
            sink = sink.wrapping_add(u64::from(out.src_port) ^ u64::from(out.payload_len));
        }
    }
    let ns = t.elapsed().as_nanos() as f64 / (passes * frames.len()) as f64;
    black_box(sink);
    ns
}

/// Best (minimum) ns/packet of each decoder over `rounds` interleaved runs, so machine
/// noise and frequency changes hit both alike.
fn time_pair(frames: &[Vec<u8>], total: usize, rounds: usize) -> (f64, f64) {
    let (mut j, mut p) = (f64::MAX, f64::MAX);
    for r in 0..rounds {
        if r % 2 == 0 {
            j = j.min(run(frames, total, jj));
            p = p.min(run(frames, total, pnet_decode));
        } else {
            p = p.min(run(frames, total, pnet_decode));
            j = j.min(run(frames, total, jj));
        }
    }
    (j, p)
}

fn main() {
    let mut r = Rng(0x1234_5678_9abc_def1);
    let n = 4096;
    let tcp4: Vec<Vec<u8>> = (0..n).map(|_| v4_tcp(&mut r)).collect();
    let udp6: Vec<Vec<u8>> = (0..n).map(|_| v6_udp(&mut r)).collect();
    let mixed: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            if i % 3 == 2 {
                v6_udp(&mut r)
            } else {
                v4_tcp(&mut r)
            }
        })
        .collect();

    // Same answers before timing anything (fields that both paths fill).
    let (mut a, mut b) = (Decoded::default(), Decoded::default());
    for fr in tcp4.iter().chain(&udp6).chain(&mixed) {
        jj(fr, &mut a);
        pnet_decode(fr, &mut b);
        a.layers = b.layers;
        a.n_layers = 0;
        assert_eq!(a, b, "decoders disagree on {fr:x?}");
    }

    let total: usize = std::env::var("JJ_BENCH_PACKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000_000);
    let rounds = 10;
    println!(
        "{total} packets per run, best of {rounds} interleaved runs, {n} distinct frames per workload"
    );
    println!("| workload | jj-decode ns/pkt | pnet_packet ns/pkt | pnet / jj-decode |");
    println!("|---|---:|---:|---:|");
    for (name, frames) in [
        ("Ethernet/IPv4/TCP+options", &tcp4),
        ("Ethernet/IPv6/UDP", &udp6),
        ("mixed 2:1", &mixed),
    ] {
        if std::env::var("JJ_BENCH_ONLY").is_ok_and(|w| !name.starts_with(&w)) {
            continue;
        }
        let (j, p) = time_pair(frames, total, rounds);
        println!("| {name} | {j:.1} | {p:.1} | {:.2}x |", p / j);
    }
}
