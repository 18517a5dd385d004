//! Brute-force robustness: every prefix of a set of valid frames and many deterministic
//! pseudo-random mutations of them, for every link type. Nothing may panic, and a few
//! invariants must hold for any input.

use crate::testutil::*;
use crate::tunnel::tests::{gre, gtp, vxlan, INNER_MAC};
use crate::{
    anomaly, decode, decode_with, linktype, DecodeMode, Decoded, MAX_LAYERS, MAX_TUNNEL_DEPTH,
};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const ALL_LINKTYPES: [u32; 11] = [
    linktype::NULL,
    linktype::ETHERNET,
    linktype::RAW_BSD12,
    linktype::RAW_BSD14,
    linktype::RAW,
    linktype::LOOP,
    linktype::LINUX_SLL,
    linktype::IPV4,
    linktype::IPV6,
    linktype::LINUX_SLL2,
    9999,
];

/// IP packets exercising every decoder path.
fn ip_packets() -> Vec<Vec<u8>> {
    let tcp_opts = [
        2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7, 1, 1, 5, 10, 0, 0, 0, 1, 0,
        0, 0, 2,
    ];
    let v4_tcp = ipv4_tcp(
        [10, 0, 0, 1],
        [10, 0, 0, 2],
        40000,
        443,
        0x12,
        &tcp_opts,
        b"payload",
    );
    let inner_eth = |et: u16, p: &[u8]| {
        let mut v = INNER_MAC.to_vec();
        v.extend_from_slice(&MAC_SRC);
        v.extend_from_slice(&et.to_be_bytes());
        v.extend_from_slice(p);
        v
    };
    let mut ext_chain = vec![60, 0, 1, 4, 0, 0, 0, 0]; // HBH -> dest opts
    ext_chain.extend_from_slice(&[43, 0, 1, 4, 0, 0, 0, 0]); // dest opts -> routing
    ext_chain.extend_from_slice(&[44, 0, 4, 0, 0, 0, 0, 0]); // routing -> fragment
    ext_chain.extend_from_slice(&[51, 0, 0, 1, 0, 0, 0, 9]); // fragment (first, MF) -> AH
    ext_chain.extend_from_slice(&[17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // AH (12 bytes) -> UDP
    ext_chain.extend(udp(53, 53, b"dns"));
    let mut jumbo = vec![17u8, 0, 0xC2, 4];
    jumbo.extend_from_slice(&70_000u32.to_be_bytes());
    jumbo.extend(udp_hdr(1, 2, 0));
    let mut jumbo_pkt = ipv6_raw(0, &jumbo);
    jumbo_pkt[4] = 0;
    jumbo_pkt[5] = 0;
    let mut ppp = vec![0xff, 0x03, 0x00, 0x21];
    ppp.extend_from_slice(&v4_tcp);
    let mut erspan3 = vec![
        0x20, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    erspan3.extend(inner_eth(0x0800, &v4_tcp));
    let gtp_ext = [1, 0x10, 0x05, 0x85, 2, 0, 0, 0, 0, 0, 0, 0];
    let mut srh = vec![17u8, 4, 4, 1, 1, 0, 0, 0];
    srh.extend_from_slice(&[0x11; 32]);
    srh.extend(udp(7, 8, b""));
    let mut mobility = vec![59u8, 1, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    mobility.extend_from_slice(b"");
    let mut esp = vec![50u8, 0, 0, 0, 0, 0, 0, 0];
    esp.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0xaa, 0xbb]);
    let mut tagged_v6 = vec![0, 5, 0x86, 0xdd];
    tagged_v6.extend(ipv6_udp(9, 10, b"v6"));
    let src = [192, 0, 2, 1];
    let dst = [192, 0, 2, 2];
    vec![
        v4_tcp.clone(),
        ipv4_udp(src, dst, 1, 2, b"abc"),
        ipv4_raw(1, src, dst, &[8, 0, 0, 0, 0, 1, 0, 2, 1, 2, 3]),
        ipv6_raw(58, &[128, 0, 0, 0, 0, 1, 0, 2, 1, 2, 3]),
        ipv6_raw(0, &ext_chain),
        ipv6_raw(43, &srh),
        ipv6_raw(135, &mobility),
        ipv6_raw(60, &esp),
        jumbo_pkt,
        ipv6_raw(6, &tcp_hdr(1, 2, 0x02, &tcp_opts)),
        ipv4_raw(4, src, dst, &v4_tcp),
        ipv4_raw(41, src, dst, &ipv6_udp(1, 2, b"x")),
        ipv6_raw(4, &v4_tcp),
        ipv4_raw(47, src, dst, &gre(0xB000, 0x0800, &[0, 1, 2], &v4_tcp)),
        ipv4_raw(47, src, dst, &gre(0x3081, 0x880b, &[0x0042, 5, 4], &ppp)),
        ipv4_raw(47, src, dst, &gre(0x1000, 0x22eb, &[1], &erspan3)),
        ipv4_raw(
            47,
            src,
            dst,
            &gre(0x0000, 0x6558, &[], &inner_eth(0x8100, &tagged_v6)),
        ),
        ipv4_udp(src, dst, 1, 4789, &vxlan(&inner_eth(0x0800, &v4_tcp))),
        ipv4_udp(
            src,
            dst,
            1,
            2152,
            &gtp(0xff, Some((0x04, 0x85)), &gtp_ext, &v4_tcp),
        ),
    ]
}

/// Every frame for `lt`: each IP packet behind the link header, plus link-specific stacks.
fn frames_for(lt: u32, ips: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for ip in ips {
        let et: u16 = if ip[0] >> 4 == 4 { 0x0800 } else { 0x86dd };
        let frame = match lt {
            linktype::ETHERNET => eth(et, ip),
            linktype::NULL | linktype::LOOP => {
                let fam: u32 = if et == 0x0800 { 2 } else { 30 };
                let mut f = if lt == linktype::NULL {
                    fam.to_le_bytes()
                } else {
                    fam.to_be_bytes()
                }
                .to_vec();
                f.extend_from_slice(ip);
                f
            }
            linktype::LINUX_SLL => {
                let mut f = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
                f.extend_from_slice(&et.to_be_bytes());
                f.extend_from_slice(ip);
                f
            }
            linktype::LINUX_SLL2 => {
                let mut f = et.to_be_bytes().to_vec();
                f.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0]);
                f.extend_from_slice(ip);
                f
            }
            _ => ip.clone(),
        };
        v.push(frame);
    }
    if lt == linktype::ETHERNET {
        let ip = &ips[0];
        let mut qinq = vec![0, 10, 0x81, 0, 0, 20, 0x08, 0];
        qinq.extend_from_slice(ip);
        v.push(eth(0x88a8, &qinq));
        let mut m = mpls_label(1, false);
        m.extend(mpls_label(2, true));
        m.extend_from_slice(ip);
        v.push(eth(0x8847, &m));
        let mut pw = mpls_label(3, true);
        pw.extend_from_slice(&[0, 0, 0, 0]);
        pw.extend(eth(0x0800, ip));
        v.push(eth(0x8847, &pw));
        let mut pppoe = vec![0x11, 0, 0, 1, 0, 0, 0, 0x21];
        pppoe.extend_from_slice(ip);
        v.push(eth(0x8864, &pppoe));
    }
    v
}

/// `Decoded::transport` worked out from the recorded layer stack: the first of the four
/// transport layers, in their order of precedence, that the stack holds.
fn transport_of_stack(d: &Decoded) -> crate::Layer {
    use crate::Layer;
    let s = d.layer_stack();
    [Layer::Tcp, Layer::Udp, Layer::Icmp, Layer::Icmp6]
        .into_iter()
        .find(|l| s.contains(l))
        .unwrap_or(Layer::None)
}

fn check(lt: u32, f: &[u8], wire: u32, out: &mut Decoded) {
    decode(lt, f, wire, out);
    let d = *out;
    assert_eq!(d.transport(), transport_of_stack(&d), "{d:?}");
    assert!(usize::from(d.n_layers) <= MAX_LAYERS);
    assert!(matches!(d.ip_version, 0 | 4 | 6));
    assert!(d.payload_captured <= d.payload_len, "{d:?}");
    if d.payload_captured > 0 {
        assert!(d.payload_offset as usize + d.payload_captured as usize <= f.len());
    }
    if d.ip_version == 0 {
        let why = anomaly::NOT_IP
            | anomaly::TRUNCATED
            | anomaly::BAD_IP_HEADER
            | anomaly::UNKNOWN_LINKTYPE
            | anomaly::TOO_DEEP;
        assert!(d.anomalies & why != 0, "no IP and no reason: {d:?}");
    } else {
        assert!((d.l3_offset as usize) < f.len());
    }
    assert!(d.tcp_opt_len <= 40);
    assert!(d.tunnel_depth <= MAX_TUNNEL_DEPTH);
    assert!(d.ipv6_ext_count <= crate::MAX_IPV6_EXT);
    // Decoding into a dirty output gives the same as into a fresh one.
    let mut fresh = Decoded::default();
    decode(lt, f, wire, &mut fresh);
    assert_eq!(fresh, d);
    check_joyfuljay(lt, f, wire);
}

/// The same frame in JoyfulJay mode: total, bounded, deterministic.
fn check_joyfuljay(lt: u32, f: &[u8], wire: u32) {
    // Start from a dirty output: decoding must reset it.
    let mut out = Decoded {
        src_port: 7,
        anomalies: u32::MAX,
        ..Decoded::default()
    };
    decode_with(lt, f, wire, DecodeMode::JoyfulJay, &mut out);
    let d = out;
    assert_eq!(d.transport(), transport_of_stack(&d), "{d:?}");
    assert!(usize::from(d.n_layers) <= MAX_LAYERS);
    assert!(matches!(d.ip_version, 0 | 4 | 6));
    assert!(
        d.payload_offset as usize + d.payload_captured as usize <= f.len(),
        "{d:?}"
    );
    assert!(d.tcp_opt_len <= 40);
    if d.ip_version == 0 {
        let why =
            anomaly::NOT_IP | anomaly::TRUNCATED | anomaly::UNKNOWN_LINKTYPE | anomaly::TOO_DEEP;
        assert!(d.anomalies & why != 0, "no IP and no reason: {d:?}");
    } else {
        assert!((d.l3_offset as usize) < f.len());
    }
    let mut fresh = Decoded::default();
    decode_with(lt, f, wire, DecodeMode::JoyfulJay, &mut fresh);
    assert_eq!(fresh, d);
}

#[test]
fn valid_frames_decode_cleanly() {
    let ips = ip_packets();
    let mut out = Decoded::default();
    for lt in ALL_LINKTYPES {
        for f in frames_for(lt, &ips) {
            check(lt, &f, f.len() as u32, &mut out);
            if lt == 9999 {
                assert_eq!(out.anomalies, anomaly::UNKNOWN_LINKTYPE);
                continue;
            }
            let ok = if out.ip_total_len > 65_575 {
                anomaly::IP_LEN_MISMATCH
            } else {
                0
            };
            let ok = ok | anomaly::FRAGMENT;
            // IPv4-only / IPv6-only link types reject the other version.
            let wrong_version = (lt == linktype::IPV4 && f[0] >> 4 == 6)
                || (lt == linktype::IPV6 && f[0] >> 4 == 4);
            if wrong_version {
                assert_eq!(out.anomalies, anomaly::BAD_IP_HEADER);
            } else {
                assert_eq!(out.anomalies & !ok, 0, "lt {lt} {f:x?} -> {out:?}");
                assert_ne!(out.ip_version, 0);
            }
        }
    }
}

#[test]
fn every_prefix() {
    let ips = ip_packets();
    let mut out = Decoded::default();
    for lt in ALL_LINKTYPES {
        for f in frames_for(lt, &ips) {
            for cut in 0..=f.len() {
                check(lt, &f[..cut], f.len() as u32, &mut out);
                check(lt, &f[..cut], cut as u32, &mut out);
            }
        }
    }
}

#[test]
fn random_mutations() {
    let ips = ip_packets();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Decoded::default();
    let mut buf = Vec::with_capacity(256);
    let mut n = 0u64;
    for lt in ALL_LINKTYPES {
        for f in frames_for(lt, &ips) {
            for _ in 0..2000 {
                buf.clear();
                buf.extend_from_slice(&f);
                let edits = 1 + rng.below(4);
                for _ in 0..edits {
                    // Mostly in the headers, sometimes anywhere.
                    let span = if rng.below(4) == 0 {
                        buf.len()
                    } else {
                        buf.len().min(96)
                    };
                    let i = rng.below(span);
                    let r = rng.next();
                    if let Some(b) = buf.get_mut(i) {
                        *b = match r % 4 {
                            0 => (r >> 8) as u8,
                            1 => *b ^ (1 << ((r >> 8) % 8)),
                            2 => 0,
                            _ => 0xff,
                        };
                    }
                }
                if rng.below(5) == 0 {
                    let cut = rng.below(buf.len() + 1);
                    buf.truncate(cut);
                }
                let wire = match rng.below(4) {
                    0 => buf.len() as u32,
                    1 => f.len() as u32,
                    2 => rng.next() as u32,
                    _ => 0,
                };
                check(lt, &buf, wire, &mut out);
                n += 1;
            }
        }
    }
    // Random bytes of random lengths.
    for lt in ALL_LINKTYPES {
        for _ in 0..5000 {
            buf.clear();
            let len = rng.below(160);
            for _ in 0..len {
                buf.push(rng.next() as u8);
            }
            if let Some(b) = buf.first_mut() {
                if rng.below(2) == 0 {
                    *b = 0x45; // plausible IPv4 start
                }
            }
            check(lt, &buf, rng.next() as u32, &mut out);
            n += 1;
        }
    }
    assert!(n > 400_000);
}
