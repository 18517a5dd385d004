//! Packet builders for the unit tests (test builds only).

use crate::{decode, Decoded};

pub const MAC_DST: [u8; 6] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
pub const MAC_SRC: [u8; 6] = [0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb];
pub const V6_SRC: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
pub const V6_DST: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/// Decode with the wire length equal to the captured length.
pub fn dec(lt: u32, f: &[u8]) -> Decoded {
    let mut d = Decoded::default();
    decode(lt, f, f.len() as u32, &mut d);
    d
}

pub fn eth(et: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = MAC_DST.to_vec();
    v.extend_from_slice(&MAC_SRC);
    v.extend_from_slice(&et.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// A 20-byte IPv4 header with total length 20 + `payload_len`, TTL 64, checksum set.
pub fn ipv4_hdr(proto: u8, src: [u8; 4], dst: [u8; 4], payload_len: usize) -> Vec<u8> {
    let mut v = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, proto, 0, 0];
    v[2..4].copy_from_slice(&((20 + payload_len) as u16).to_be_bytes());
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    fix_ipv4_csum(&mut v);
    v
}

pub fn fix_ipv4_csum(h: &mut [u8]) {
    h[10] = 0;
    h[11] = 0;
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let mut sum: u32 = 0;
    for c in h[..ihl].chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    h[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

pub fn ipv4_raw(proto: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut v = ipv4_hdr(proto, src, dst, payload.len());
    v.extend_from_slice(payload);
    v
}

/// A 40-byte IPv6 header (V6_SRC -> V6_DST, hop limit 64) and `payload`.
pub fn ipv6_raw(nh: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.push(nh);
    v.push(64);
    v.extend_from_slice(&V6_SRC);
    v.extend_from_slice(&V6_DST);
    v.extend_from_slice(payload);
    v
}

pub fn udp_hdr(sp: u16, dp: u16, payload_len: usize) -> Vec<u8> {
    let mut v = sp.to_be_bytes().to_vec();
    v.extend_from_slice(&dp.to_be_bytes());
    v.extend_from_slice(&((8 + payload_len) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v
}

pub fn udp(sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = udp_hdr(sp, dp, payload.len());
    v.extend_from_slice(payload);
    v
}

/// A TCP header with seq 0x11111111, ack 0x22222222, window 0xfaf0, urgent 7 and `opts`
/// (length must be a multiple of 4).
pub fn tcp_hdr(sp: u16, dp: u16, flags: u8, opts: &[u8]) -> Vec<u8> {
    assert_eq!(opts.len() % 4, 0);
    let mut v = sp.to_be_bytes().to_vec();
    v.extend_from_slice(&dp.to_be_bytes());
    v.extend_from_slice(&0x1111_1111u32.to_be_bytes());
    v.extend_from_slice(&0x2222_2222u32.to_be_bytes());
    v.push((((20 + opts.len()) / 4) as u8) << 4);
    v.push(flags);
    v.extend_from_slice(&0xfaf0u16.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 7]);
    v.extend_from_slice(opts);
    v
}

pub fn ipv4_udp(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    ipv4_raw(17, src, dst, &udp(sp, dp, payload))
}

pub fn ipv4_tcp(
    src: [u8; 4],
    dst: [u8; 4],
    sp: u16,
    dp: u16,
    flags: u8,
    opts: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut t = tcp_hdr(sp, dp, flags, opts);
    t.extend_from_slice(payload);
    ipv4_raw(6, src, dst, &t)
}

pub fn ipv6_udp(sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    ipv6_raw(17, &udp(sp, dp, payload))
}

pub fn mpls_label(label: u32, bottom: bool) -> Vec<u8> {
    ((label << 12) | (u32::from(bottom) << 8) | 64)
        .to_be_bytes()
        .to_vec()
}
