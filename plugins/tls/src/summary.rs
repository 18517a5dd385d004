//! What one flow's TLS handshake comes to, before it is written into the row. Both the
//! default analysis and the compat path produce a [`Summary`]; strings that are built
//! (fingerprints) live in the reusable [`Texts`].
#![forbid(unsafe_code)]

use crate::{fingerprint::Scratch, hello::CertChain};

/// The key exchange behind `tls_key_exchange_group`, `_name` and `_length`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kx {
    /// Not known: group 0, name "", length 0.
    #[default]
    None,
    /// A named group and its public key length in bits.
    Group { group: u16, bits: u32 },
    /// TLS 1.2 DHE with server-chosen parameters (no group id): group 0, name
    /// `dhe<bits>`, length = prime size in bits.
    CustomDh { bits: u32 },
    /// JoyfulJay's DHE reading: group 0x0100, name `ffdhe<bits>`, length = prime size.
    CompatDh { bits: u32 },
}

/// One flow's TLS facts. Slices borrow the handshake bytes or the stored payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary<'a> {
    pub detected: bool,
    /// 0 when unknown.
    pub version: u16,
    /// Selected cipher suite, 0 when unknown.
    pub cipher: u16,
    pub cipher_count: u32,
    pub ext_count: u32,
    pub sni: Option<&'a [u8]>,
    pub alpn: Option<&'a [u8]>,
    /// Whether [`Texts::ja3`] / `ja3s` / `ja4` / `ja4s` hold this flow's value.
    pub ja3: bool,
    pub ja3s: bool,
    pub ja4: bool,
    pub ja4s: bool,
    pub handshake_packets: u32,
    pub cert: CertChain,
    pub session_id_len: u32,
    pub ticket_ext: bool,
    pub resumed: bool,
    pub psk_ext: bool,
    pub early_data_ext: bool,
    pub kx: Kx,
    /// [`crate::anomaly`] bits of both directions.
    pub anomalies: u32,
}

/// Reusable text buffers (one set per extractor instance).
#[derive(Debug, Default)]
pub struct Texts {
    pub ja3: String,
    pub ja3s: String,
    pub ja4: String,
    pub ja4s: String,
    /// The text a hash is computed over.
    pub scratch: String,
    /// Version and group names.
    pub name: String,
    pub fp: Scratch,
}

/// Text of a protocol name (SNI, ALPN) as the reference decodes it: bytes outside
/// ASCII are dropped.
pub fn write_ascii(out: &mut String, b: &[u8]) {
    out.clear();
    out.extend(b.iter().filter(|c| c.is_ascii()).map(|&c| char::from(c)));
}
