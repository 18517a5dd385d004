//! Packet facts as the reference (JoyfulJay with its default Scapy backend) sees them,
//! for `compat=joyfuljay` (spec §2.1).
//!
//! jj's [`PacketRecord::payload_len`] is the payload taken from the IP and transport
//! lengths, without link-layer padding. Scapy instead counts every byte it dissected
//! after the transport header, so Ethernet trailer padding (a 60-byte minimum frame
//! carrying a 40-byte TCP ACK has 6 such bytes) ends up in the reference's payload
//! length. The host records those bytes in [`PacketRecord::link_trailer`].

use jj_plugin_api::PacketRecord;

/// The payload length JoyfulJay's Scapy backend reports for `p`:
/// `payload_len + link_trailer`.
///
/// * TCP and UDP: the transport payload plus the trailer padding.
/// * ICMP: jj's `payload_len` already starts after the 8-byte ICMP header, as Scapy's
///   does; plus the padding.
/// * Everything else (and every packet when the host decodes in its JoyfulJay mode,
///   `jj_decode::DecodeMode::JoyfulJay`, which `compat=joyfuljay` selects): the host's
///   `payload_len` is Scapy's length without the trailer — the IP payload when Scapy
///   finds no TCP/UDP/ICMP layer, the payload of the first such layer otherwise, even
///   behind IPv6 extension headers or a tunnel — so adding the trailer gives Scapy's
///   value. (With the host's default decoder, IPv6 extension headers and the ICMPv6
///   header are not part of `payload_len`, so it is smaller than Scapy's there.)
///
/// The host caps `link_trailer` at 255 bytes.
#[inline]
pub fn scapy_payload_len(p: &PacketRecord) -> u32 {
    p.payload_len.saturating_add(u32::from(p.link_trailer))
}

/// `p`'s payload length under the chosen mode: jj's true payload (`compat == false`)
/// or [`scapy_payload_len`] (`compat == true`).
#[inline]
pub fn payload_len(p: &PacketRecord, compat: bool) -> u32 {
    if compat {
        scapy_payload_len(p)
    } else {
        p.payload_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(payload_len: u32, trailer: u8) -> PacketRecord {
        PacketRecord {
            payload_len,
            link_trailer: trailer,
            ..Default::default()
        }
    }

    #[test]
    fn padding_counts_as_payload() {
        // 40-byte pure TCP ACK in a 60-byte Ethernet frame: 14 + 40 + 6 padding.
        let ack = rec(0, 6);
        assert_eq!(scapy_payload_len(&ack), 6);
        assert_eq!(payload_len(&ack, true), 6);
        assert_eq!(payload_len(&ack, false), 0);
        // UDP with 5 data bytes: 20 + 8 + 5 = 33, frame 60 → 13 bytes of padding.
        assert_eq!(scapy_payload_len(&rec(5, 13)), 18);
        // ICMP echo with 4 data bytes after the 8-byte header, 14 bytes of padding.
        assert_eq!(scapy_payload_len(&rec(4, 14)), 18);
        // no padding: identical
        let data = rec(500, 0);
        assert_eq!(payload_len(&data, true), payload_len(&data, false));
        // never overflows
        assert_eq!(scapy_payload_len(&rec(u32::MAX, 255)), u32::MAX);
    }
}
