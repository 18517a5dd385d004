//! SHA-256 (FIPS 180-4) and lowercase hex text, for the salted identifiers of
//! `flow_meta` (`anonymize_ips`, `flow_id`; spec §2.6) and the JA4 hashes of `tls`.
//!
//! [`Sha256`] is the `sha2` crate's (RustCrypto) incremental hasher, which uses the
//! CPU's SHA instructions when it has them (checked once at run time): hashing
//! `salt + text` needs no concatenated copy and no heap allocation.

use sha2::Digest;
use std::fmt;

/// Incremental SHA-256.
#[derive(Clone, Debug, Default)]
pub struct Sha256(sha2::Sha256);

impl Sha256 {
    pub fn new() -> Self {
        Sha256(sha2::Sha256::new())
    }

    /// Appends `data` to the message.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// Pads the message and returns the 32-byte digest.
    pub fn finalize(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// Text written with `write!` is hashed as its UTF-8 bytes (no buffer needed).
impl fmt::Write for Sha256 {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.update(s.as_bytes());
        Ok(())
    }
}

/// SHA-256 of `data` in one call.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(data);
    h.finalize()
}

/// Writes the first `n_chars` lowercase hex digits of `bytes` (Python's
/// `hexdigest()[:n_chars]`; the whole digest if `n_chars` is larger).
pub fn write_hex_prefix(out: &mut impl fmt::Write, bytes: &[u8], n_chars: usize) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut written = 0;
    for &byte in bytes {
        for nibble in [byte >> 4, byte & 0x0f] {
            if written == n_chars {
                return Ok(());
            }
            out.write_char(char::from(HEX[usize::from(nibble)]))?;
            written += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: &[u8]) -> String {
        let mut s = String::new();
        write_hex_prefix(&mut s, d, usize::MAX).unwrap();
        s
    }

    #[test]
    fn fips_180_2_vectors() {
        // FIPS 180-2 appendix B.1, B.2, B.3, and the empty message.
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&sha256(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        let million_a = vec![b'a'; 1_000_000];
        assert_eq!(
            hex(&sha256(&million_a)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn padding_boundaries_and_incremental_updates() {
        // Python: hashlib.sha256(b"a" * n).hexdigest() for the lengths around the
        // 56-byte padding boundary and one block.
        let cases = [
            (
                55,
                "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318",
            ),
            (
                56,
                "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a",
            ),
            (
                57,
                "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6",
            ),
            (
                63,
                "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34",
            ),
            (
                64,
                "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb",
            ),
            (
                65,
                "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0",
            ),
        ];
        for (n, want) in cases {
            let data = vec![b'a'; n];
            assert_eq!(hex(&sha256(&data)), want, "n={n}");
            // any split into two updates gives the same digest
            for cut in [0, 1, n / 2, n.saturating_sub(1), n] {
                let mut h = Sha256::new();
                h.update(&data[..cut]);
                h.update(&data[cut..]);
                assert_eq!(hex(&h.finalize()), want, "n={n} cut={cut}");
            }
        }
    }

    #[test]
    fn formatted_text_is_hashed_as_utf8() {
        use std::fmt::Write;
        let mut h = Sha256::new();
        let (ip, port) = ("10.0.0.1", 443);
        write!(h, "{ip}:{port}").unwrap();
        assert_eq!(h.finalize(), sha256(b"10.0.0.1:443"));
    }

    #[test]
    fn hex_prefix() {
        let d = sha256(b"abc");
        let mut s = String::new();
        write_hex_prefix(&mut s, &d, 16).unwrap();
        assert_eq!(s, "ba7816bf8f01cfea");
        s.clear();
        write_hex_prefix(&mut s, &d, 3).unwrap();
        assert_eq!(s, "ba7");
        s.clear();
        write_hex_prefix(&mut s, &d, 0).unwrap();
        assert_eq!(s, "");
    }
}
