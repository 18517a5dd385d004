//! End-to-end checks of generated captures with a small independent reader.

use std::collections::{HashMap, HashSet};

use jj_gen::{generate, GenConfig, GenStats, Mix, Mode, OutFormat};

// ---- minimal capture reader -------------------------------------------------------------

struct Rec<'a> {
    ts_ns: i64,
    len: u32,
    data: &'a [u8],
}

fn u16be(b: &[u8], o: usize) -> u16 {
    u16::from_be_bytes([b[o], b[o + 1]])
}
fn u32be(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
fn u32le(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// Walk every record of a pcap or pcapng file, checking record framing as it goes.
fn read_capture(file: &[u8]) -> (u32, Vec<Rec<'_>>) {
    let magic = u32le(file, 0);
    let mut recs = Vec::new();
    if magic == 0x0A0D_0D0A {
        // pcapng: SHB, IDB, EPBs
        let mut p = 0;
        let mut snaplen = 0;
        while p < file.len() {
            let bt = u32le(file, p);
            let bl = u32le(file, p + 4) as usize;
            assert!(bl >= 12 && bl % 4 == 0, "bad block length {bl}");
            assert_eq!(
                u32le(file, p + bl - 4) as usize,
                bl,
                "trailing block length"
            );
            match bt {
                0x0A0D_0D0A => assert_eq!(u32le(file, p + 8), 0x1A2B_3C4D),
                1 => {
                    assert_eq!(u16::from_le_bytes([file[p + 8], file[p + 9]]), 1);
                    snaplen = u32le(file, p + 12);
                }
                6 => {
                    let ts = ((u32le(file, p + 12) as u64) << 32) | u32le(file, p + 16) as u64;
                    let cap = u32le(file, p + 20) as usize;
                    let len = u32le(file, p + 24);
                    assert!(28 + cap.div_ceil(4) * 4 + 4 == bl);
                    recs.push(Rec {
                        ts_ns: ts as i64,
                        len,
                        data: &file[p + 28..p + 28 + cap],
                    });
                }
                other => panic!("unexpected block type {other}"),
            }
            p += bl;
        }
        assert_eq!(p, file.len());
        return (snaplen, recs);
    }
    let nanos = match magic {
        0xa1b2_c3d4 => false,
        0xa1b2_3c4d => true,
        m => panic!("bad magic {m:#x}"),
    };
    assert_eq!(u32le(file, 20), 1, "linktype ethernet");
    let snaplen = u32le(file, 16);
    let mut p = 24;
    while p < file.len() {
        assert!(p + 16 <= file.len(), "truncated record header");
        let sec = u32le(file, p) as i64;
        let frac = u32le(file, p + 4) as i64;
        assert!(frac < if nanos { 1_000_000_000 } else { 1_000_000 });
        let cap = u32le(file, p + 8) as usize;
        let len = u32le(file, p + 12);
        assert!(p + 16 + cap <= file.len(), "truncated record");
        recs.push(Rec {
            ts_ns: sec * 1_000_000_000 + if nanos { frac } else { frac * 1000 },
            len,
            data: &file[p + 16..p + 16 + cap],
        });
        p += 16 + cap;
    }
    (snaplen, recs)
}

fn checksum(data: &[u8], mut sum: u32) -> u16 {
    let mut i = 0;
    while i + 1 < data.len() {
        sum += u16be(data, i) as u32;
        i += 2;
    }
    if i < data.len() {
        sum += (data[i] as u32) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[derive(Debug)]
struct Pkt<'a> {
    src: Vec<u8>,
    dst: Vec<u8>,
    proto: u8,
    sport: u16,
    dport: u16,
    // TCP
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &'a [u8],
}

/// Parse Ethernet/[802.1Q]/IPv4|IPv6/TCP|UDP|ICMP, checking lengths and checksums.
fn parse<'a>(frame: &'a [u8], vlans: &mut u64) -> Pkt<'a> {
    assert!(frame.len() >= 60, "frame shorter than the Ethernet minimum");
    let mut off = 12;
    let mut et = u16be(frame, off);
    if et == 0x8100 {
        *vlans += 1;
        off += 4;
        et = u16be(frame, off);
    }
    off += 2;
    let (src, dst, proto, l4) = match et {
        0x0800 => {
            let ip = &frame[off..];
            assert_eq!(ip[0], 0x45);
            assert_eq!(checksum(&ip[..20], 0), 0, "IPv4 header checksum");
            let total = u16be(ip, 2) as usize;
            assert!(total <= ip.len(), "IPv4 total length beyond frame");
            if total < ip.len() {
                assert!(ip[total..].iter().all(|&b| b == 0), "padding not zero");
                assert!(off + total < 60, "padding on a frame that needs none");
            }
            (
                ip[12..16].to_vec(),
                ip[16..20].to_vec(),
                ip[9],
                &ip[20..total],
            )
        }
        0x86dd => {
            let ip = &frame[off..];
            assert_eq!(ip[0] >> 4, 6);
            let plen = u16be(ip, 4) as usize;
            assert!(40 + plen <= ip.len());
            (
                ip[8..24].to_vec(),
                ip[24..40].to_vec(),
                ip[6],
                &ip[40..40 + plen],
            )
        }
        other => panic!("unexpected ethertype {other:#x}"),
    };
    // Pseudo-header sum for TCP/UDP/ICMPv6.
    let mut ph: u32 = 0;
    for c in src.chunks(2).chain(dst.chunks(2)) {
        ph += u16be(c, 0) as u32;
    }
    ph += proto as u32 + l4.len() as u32;
    let mut p = Pkt {
        src,
        dst,
        proto,
        sport: 0,
        dport: 0,
        seq: 0,
        ack: 0,
        flags: 0,
        payload: &[],
    };
    match proto {
        6 => {
            assert_eq!(checksum(l4, ph), 0, "TCP checksum");
            p.sport = u16be(l4, 0);
            p.dport = u16be(l4, 2);
            p.seq = u32be(l4, 4);
            p.ack = u32be(l4, 8);
            let doff = (l4[12] >> 4) as usize * 4;
            assert!((20..=60).contains(&doff) && doff <= l4.len());
            p.flags = l4[13];
            p.payload = &l4[doff..];
        }
        17 => {
            assert_eq!(u16be(l4, 4) as usize, l4.len(), "UDP length");
            assert_eq!(checksum(l4, ph), 0, "UDP checksum");
            p.sport = u16be(l4, 0);
            p.dport = u16be(l4, 2);
            p.payload = &l4[8..];
        }
        1 => {
            assert_eq!(checksum(l4, 0), 0, "ICMP checksum");
            assert!(l4[0] == 8 || l4[0] == 0);
        }
        58 => {
            assert_eq!(checksum(l4, ph), 0, "ICMPv6 checksum");
            assert!(l4[0] == 128 || l4[0] == 129);
        }
        other => panic!("unexpected protocol {other}"),
    }
    p
}

// ---- protocol checks ----------------------------------------------------------------------

/// Read a (possibly compressed) DNS name at `off`; returns the offset after it.
fn dns_name(msg: &[u8], mut off: usize, out: &mut String) -> usize {
    let mut end = None;
    let mut hops = 0;
    loop {
        let l = msg[off] as usize;
        if l == 0 {
            return end.unwrap_or(off + 1);
        }
        if l & 0xc0 == 0xc0 {
            let target = (u16be(msg, off) & 0x3fff) as usize;
            assert!(target < off, "compression pointer must point backwards");
            end.get_or_insert(off + 2);
            off = target;
            hops += 1;
            assert!(hops < 20);
            continue;
        }
        assert!(l < 64);
        let label = &msg[off + 1..off + 1 + l];
        assert!(label
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'*'));
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(std::str::from_utf8(label).unwrap());
        off += 1 + l;
    }
}

fn check_dns(msg: &[u8]) -> bool {
    assert!(msg.len() >= 12);
    assert_eq!(u16be(msg, 4), 1, "qdcount");
    let an = u16be(msg, 6) as usize;
    let ns = u16be(msg, 8) as usize;
    let ar = u16be(msg, 10) as usize;
    let mut qname = String::new();
    let mut off = dns_name(msg, 12, &mut qname);
    assert!(qname.contains('.') && qname.len() < 255, "{qname}");
    off += 4;
    for _ in 0..an + ns + ar {
        let mut n = String::new();
        off = dns_name(msg, off, &mut n);
        let ty = u16be(msg, off);
        let rdlen = u16be(msg, off + 8) as usize;
        let rd = off + 10;
        match ty {
            1 => assert_eq!(rdlen, 4),
            28 => assert_eq!(rdlen, 16),
            5 => {
                let mut t = String::new();
                assert_eq!(dns_name(msg, rd, &mut t), rd + rdlen);
            }
            _ => {}
        }
        off = rd + rdlen;
    }
    assert_eq!(off, msg.len(), "DNS message has trailing bytes");
    msg[2] & 0x80 != 0
}

#[derive(Default)]
struct HelloSeen {
    total: usize,
    full_featured: usize,
}

/// Walk a ClientHello record: every length must add up.
fn check_client_hello(rec: &[u8], seen: &mut HelloSeen) {
    assert_eq!(rec[0], 22);
    let rlen = u16be(rec, 3) as usize;
    assert_eq!(rlen + 5, rec.len(), "record length");
    let hs = &rec[5..];
    assert_eq!(hs[0], 1, "client_hello");
    let hlen = ((hs[1] as usize) << 16) | u16be(hs, 2) as usize;
    assert_eq!(hlen + 4, hs.len(), "handshake length");
    let mut p = 4 + 2 + 32;
    let sid = hs[p] as usize;
    assert!(sid == 0 || sid == 32);
    p += 1 + sid;
    let cs = u16be(hs, p) as usize;
    assert!(cs % 2 == 0 && cs > 0);
    p += 2 + cs;
    let comp = hs[p] as usize;
    p += 1 + comp;
    let elen = u16be(hs, p) as usize;
    p += 2;
    assert_eq!(p + elen, hs.len(), "extensions length");
    let mut types = HashSet::new();
    let mut grease = false;
    let mut sni = String::new();
    while p < hs.len() {
        let t = u16be(hs, p);
        let l = u16be(hs, p + 2) as usize;
        let body = &hs[p + 4..p + 4 + l];
        if t & 0x0f0f == 0x0a0a && (t >> 8) == (t & 0xff) {
            grease = true;
        }
        match t {
            0x0000 => {
                assert_eq!(u16be(body, 0) as usize + 2, l);
                assert_eq!(body[2], 0);
                let n = u16be(body, 3) as usize;
                assert_eq!(n + 5, l);
                sni = String::from_utf8(body[5..].to_vec()).unwrap();
            }
            0x0010 | 0x000a | 0x000d | 0x0033 => {
                assert_eq!(u16be(body, 0) as usize + 2, l, "list length of ext {t:#x}");
            }
            0x000b | 0x002b => assert_eq!(body[0] as usize + 1, l, "list length of ext {t:#x}"),
            _ => {}
        }
        assert!(types.insert(t), "duplicate extension {t:#x}");
        p += 4 + l;
    }
    assert_eq!(p, hs.len());
    assert!(sni.contains('.'));
    seen.total += 1;
    if grease
        && [0x0000, 0x0010, 0x000a, 0x000b, 0x0033, 0x002b, 0x000d]
            .iter()
            .all(|t| types.contains(t))
    {
        seen.full_featured += 1;
    }
}

#[derive(Default)]
struct TcpFlow {
    /// Next expected sequence number per direction (0 = client).
    next: [Option<u32>; 2],
    fin: [bool; 2],
    rst: bool,
    packets: u64,
}

#[derive(Default)]
struct Report {
    packets: u64,
    tcp_flows: usize,
    dns_queries: u64,
    dns_responses: u64,
    hellos: HelloSeen,
    vlans: u64,
    v6: u64,
    truncated: u64,
}

/// Check a whole capture; returns what was seen. `strict` adds the TCP conversation checks
/// (sequence continuity, SYN first, FIN/RST close), which need untruncated packets.
fn check_capture(file: &[u8], strict: bool) -> Report {
    let (snaplen, recs) = read_capture(file);
    let mut r = Report::default();
    let mut last_ts = i64::MIN;
    let mut flows: HashMap<(Vec<u8>, u16, Vec<u8>, u16), TcpFlow> = HashMap::new();
    for rec in &recs {
        r.packets += 1;
        assert!(rec.ts_ns >= last_ts, "timestamps go backwards");
        last_ts = rec.ts_ns;
        assert!(rec.data.len() as u32 <= rec.len && rec.data.len() as u32 <= snaplen);
        if (rec.data.len() as u32) < rec.len {
            r.truncated += 1;
            continue;
        }
        let p = parse(rec.data, &mut r.vlans);
        if p.src.len() == 16 {
            r.v6 += 1;
        }
        match p.proto {
            6 if strict => {
                let fwd = (p.src.clone(), p.sport, p.dst.clone(), p.dport);
                let rev = (p.dst.clone(), p.dport, p.src.clone(), p.sport);
                let (key, dir) = if flows.contains_key(&fwd) {
                    (fwd, 0)
                } else if flows.contains_key(&rev) {
                    (rev, 1)
                } else {
                    assert_eq!(p.flags & 0x12, 0x02, "TCP flow must start with a SYN");
                    flows.insert(fwd.clone(), TcpFlow::default());
                    (fwd, 0)
                };
                let f = flows.get_mut(&key).unwrap();
                f.packets += 1;
                assert!(!f.rst, "packet after RST");
                let syn = p.flags & 0x02 != 0;
                let fin = p.flags & 0x01 != 0;
                let rst = p.flags & 0x04 != 0;
                match f.next[dir] {
                    Some(n) => assert_eq!(p.seq, n, "TCP sequence gap/overlap"),
                    None => assert!(
                        syn || rst,
                        "first segment of a direction must be SYN or RST"
                    ),
                }
                if rst && f.next[dir].is_none() {
                    // Refused: RST/ACK acking the SYN.
                    assert_eq!(Some(p.ack), f.next[1 - dir]);
                }
                if p.flags & 0x10 != 0 {
                    if let Some(peer) = f.next[1 - dir] {
                        assert!(peer.wrapping_sub(p.ack) < 1 << 30, "ACK of unsent data");
                    }
                }
                if f.fin[dir] {
                    assert!(p.payload.is_empty() && !fin, "data after FIN");
                }
                let adv = p.payload.len() as u32 + syn as u32 + fin as u32;
                if f.next[dir].is_some() || syn {
                    f.next[dir] = Some(p.seq.wrapping_add(adv));
                }
                f.fin[dir] |= fin;
                f.rst |= rst;
                if dir == 0 && p.payload.len() > 5 && p.payload[0] == 22 && p.payload[5] == 1 {
                    check_client_hello(p.payload, &mut r.hellos);
                }
            }
            17 if p.sport == 53 || p.dport == 53 => {
                if check_dns(p.payload) {
                    r.dns_responses += 1;
                } else {
                    r.dns_queries += 1;
                }
            }
            _ => {}
        }
    }
    r.tcp_flows = flows.len();
    if strict {
        for (k, f) in &flows {
            assert!(
                f.rst || (f.fin[0] && f.fin[1]),
                "TCP flow {k:?} not closed ({} packets)",
                f.packets
            );
        }
    }
    r
}

fn gen(cfg: &GenConfig) -> (Vec<u8>, GenStats) {
    let mut out = Vec::new();
    let stats = generate(cfg, &mut out).unwrap();
    assert_eq!(stats.bytes, out.len() as u64);
    (out, stats)
}

// ---- tests --------------------------------------------------------------------------------

#[test]
fn deterministic() {
    let cfg = GenConfig {
        seed: 42,
        flows: 150,
        concurrency: 16,
        ipv6_share: 0.3,
        vlan_share: 0.2,
        ..Default::default()
    };
    let (a, sa) = gen(&cfg);
    let (b, sb) = gen(&cfg);
    assert_eq!(sa, sb);
    assert!(a == b, "same config must give identical bytes");
    let (c, _) = gen(&GenConfig { seed: 43, ..cfg });
    assert!(a != c, "another seed gives another capture");
}

#[test]
fn mixed_capture_is_well_formed() {
    let cfg = GenConfig {
        seed: 7,
        flows: 400,
        ipv6_share: 0.25,
        vlan_share: 0.1,
        ..Default::default()
    };
    let (file, stats) = gen(&cfg);
    let r = check_capture(&file, true);
    assert_eq!(r.packets, stats.packets);
    assert_eq!(stats.flows, 400);
    let k = stats.by_kind;
    assert_eq!(
        k.tcp_http + k.tcp_tls + k.tcp_rst + k.udp_dns + k.udp_other + k.icmp,
        400
    );
    assert!(k.tcp_http > 0 && k.tcp_tls > 0 && k.tcp_rst > 0 && k.udp_dns > 0);
    assert_eq!(r.tcp_flows as u64, k.tcp_http + k.tcp_tls + k.tcp_rst);
    assert!(r.dns_queries > 0 && r.dns_responses == r.dns_queries);
    assert!(
        r.hellos.total as u64 >= k.tcp_tls * 9 / 10,
        "most TLS flows have a hello"
    );
    assert!(
        r.hellos.full_featured > 0,
        "some hellos carry GREASE and all main extensions"
    );
    assert!(r.vlans > 0 && r.v6 > 0);
    assert_eq!(r.truncated, 0);
}

#[test]
fn size_target_within_one_percent() {
    for (seed, target) in [(1u64, 3_000_000u64), (2, 12_000_000)] {
        let cfg = GenConfig {
            seed,
            target_bytes: Some(target),
            ..Default::default()
        };
        let (file, stats) = gen(&cfg);
        let diff = (stats.bytes as f64 - target as f64).abs() / target as f64;
        assert!(
            diff <= 0.01,
            "target {target}, wrote {} ({:.3}%)",
            stats.bytes,
            diff * 100.0
        );
        // Wind-down closes every TCP flow cleanly.
        check_capture(&file, true);
    }
}

#[test]
fn other_formats_and_snaplen() {
    for format in [OutFormat::PcapNano, OutFormat::PcapNg] {
        let cfg = GenConfig {
            flows: 60,
            format,
            snaplen: 200,
            ..Default::default()
        };
        let (file, stats) = gen(&cfg);
        let r = check_capture(&file, false);
        assert_eq!(r.packets, stats.packets);
        assert!(r.truncated > 0, "large frames are cut to the snaplen");
    }
}

#[test]
fn mix_restricts_kinds() {
    let cfg = GenConfig {
        flows: 50,
        mix: "dns=1,icmp=1".parse::<Mix>().unwrap(),
        ..Default::default()
    };
    let (file, stats) = gen(&cfg);
    assert_eq!(stats.by_kind.udp_dns + stats.by_kind.icmp, 50);
    let r = check_capture(&file, true);
    assert_eq!(r.tcp_flows, 0);
}

#[test]
fn syn_flood_200k() {
    let n = 200_000;
    let cfg = GenConfig {
        mode: Mode::SynFlood { flows: n },
        ipv6_share: 0.1,
        ..Default::default()
    };
    let (file, stats) = gen(&cfg);
    assert_eq!(stats.packets, n);
    assert_eq!(stats.flows, n);
    let (_, recs) = read_capture(&file);
    assert_eq!(recs.len() as u64, n);
    let mut seen = HashSet::with_capacity(n as usize);
    let mut vl = 0;
    let mut last = i64::MIN;
    for rec in &recs {
        assert!(rec.ts_ns >= last);
        last = rec.ts_ns;
        let p = parse(rec.data, &mut vl);
        assert_eq!(p.proto, 6);
        assert_eq!(p.flags, 0x02, "SYN only");
        assert!((32768..61000).contains(&p.sport));
        assert!(
            seen.insert((p.src, p.sport)),
            "source address/port pairs are distinct"
        );
    }
}

#[test]
fn single_flow() {
    let n = 5000;
    let cfg = GenConfig {
        mode: Mode::SingleFlow { packets: n },
        ..Default::default()
    };
    let (file, stats) = gen(&cfg);
    assert_eq!(stats.packets, n + 6, "handshake + data + FIN close");
    let r = check_capture(&file, true);
    assert_eq!(r.tcp_flows, 1);
    // Every packet between the handshake and the close carries data.
    let (_, recs) = read_capture(&file);
    let mut vl = 0;
    let data = recs
        .iter()
        .filter(|r| !parse(r.data, &mut vl).payload.is_empty())
        .count() as u64;
    assert_eq!(data, n);
}
