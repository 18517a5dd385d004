//! Shannon entropy in bits with the reference's summation orders (spec §4.12, §4.10).
//!
//! Every variant computes `H = -Σ p·log2(p)` with `p = count / total`, accumulated
//! sequentially as `h -= p * log2(p)` starting from `+0.0` and skipping zero counts;
//! only the *order* of the terms differs, which changes the last bits:
//!
//! * [`shannon_entropy_bytes`]: byte values 0..=255 ascending (`entropy_payload`).
//! * [`shannon_entropy_first_occurrence`]: byte values in order of first occurrence
//!   in the data (`entropy_initiator` / `entropy_responder`, Python `Counter` order).
//! * [`shannon_entropy_counts`]: any order the caller gives (e.g. first-seen packet
//!   sizes for `size_entropy`).
//!
//! `log2` is `f64::log2`, i.e. the platform libm like Python's `math.log2`.

/// Adds the byte counts of `bytes` to `hist` (it is not cleared first, so a
/// histogram can be accumulated packet by packet).
#[inline]
pub fn byte_histogram(bytes: &[u8], hist: &mut [u32; 256]) {
    for &b in bytes {
        hist[b as usize] += 1;
    }
}

/// Shannon entropy (bits) of a distribution given as counts, summed sequentially in
/// the order of `counts`; zero counts are skipped. `total` is the number of samples
/// (normally the sum of the counts). 0.0 if `total == 0`.
pub fn shannon_entropy_counts<I: IntoIterator<Item = u64>>(counts: I, total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    let n = total as f64;
    let mut h = 0.0;
    for c in counts {
        if c > 0 {
            let p = c as f64 / n;
            h -= p * p.log2();
        }
    }
    h
}

/// Shannon entropy (bits per byte) from a byte histogram, summed over byte values
/// 0..=255 in ascending order. `total` is the number of bytes. 0.0 if `total == 0`.
pub fn shannon_entropy_bytes(hist: &[u32; 256], total: u64) -> f64 {
    shannon_entropy_counts(hist.iter().map(|&c| u64::from(c)), total)
}

/// Shannon entropy (bits per byte) of `bytes`, summed over the distinct byte values
/// in order of their first occurrence in `bytes` (the reference's `Counter` order).
/// 0.0 for empty input. Uses only stack memory.
pub fn shannon_entropy_first_occurrence(bytes: &[u8]) -> f64 {
    let mut hist = [0u32; 256];
    byte_histogram(bytes, &mut hist);
    // Yield each byte value's count at its first occurrence, then zero it so that
    // later occurrences yield nothing (zero counts are skipped).
    let counts = bytes.iter().map(|&b| {
        let slot = &mut hist[b as usize];
        let c = *slot;
        *slot = 0;
        u64::from(c)
    });
    shannon_entropy_counts(counts, bytes.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn hist_of(bytes: &[u8]) -> [u32; 256] {
        let mut h = [0u32; 256];
        byte_histogram(bytes, &mut h);
        h
    }

    #[test]
    fn hand_worked() {
        assert_eq!(shannon_entropy_bytes(&[0; 256], 0), 0.0);
        assert_eq!(shannon_entropy_first_occurrence(&[]), 0.0);
        // one symbol: 0 bits, and +0.0 (not -0.0)
        let e = shannon_entropy_first_occurrence(b"aaaa");
        assert_eq!(e.to_bits(), 0.0f64.to_bits());
        assert_eq!(shannon_entropy_bytes(&hist_of(b"aaaa"), 4).to_bits(), 0);
        // two equiprobable symbols: 1 bit; four: 2 bits; all 256: 8 bits
        assert_eq!(shannon_entropy_first_occurrence(b"abab"), 1.0);
        assert_eq!(shannon_entropy_bytes(&hist_of(b"abcd"), 4), 2.0);
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(shannon_entropy_bytes(&hist_of(&all), 256), 8.0);
        assert_eq!(shannon_entropy_first_occurrence(&all), 8.0);
        // p = 1/2, 1/4, 1/4 -> 0.5 + 0.5 + 0.5 = 1.5
        assert_eq!(shannon_entropy_first_occurrence(b"aabc"), 1.5);
        assert_eq!(shannon_entropy_counts([2u64, 0, 1, 1], 4), 1.5);
    }

    #[test]
    fn histogram_accumulates() {
        let mut h = [0u32; 256];
        byte_histogram(b"ab", &mut h);
        byte_histogram(b"bc", &mut h);
        assert_eq!(
            (h[b'a' as usize], h[b'b' as usize], h[b'c' as usize]),
            (1, 2, 1)
        );
        assert_eq!(h.iter().sum::<u32>(), 4);
    }

    /// First flow of `tcpd_dns_tcp.pcap` (golden `default` output): the payload bytes
    /// each direction contributed (Scapy payload incl. Ethernet trailer padding), and
    /// the reference's `entropy_payload` / `entropy_initiator` / `entropy_responder`.
    /// The three summation orders give three different last bits here, so this pins
    /// down which order each feature uses.
    #[test]
    fn golden_dns_tcp_flow() {
        let ini = hex(
            "0038431901200001000000000001037777770774637064756d70036f7267000001\
             0001000029100000000000000c000a00088f06be7d691442f0",
        );
        let resp = hex(
            "000000000000000000e0431985000001000200020005037777770774637064756d\
             70036f72670000010001c00c000100010000003c0004c08b2e42c00c0001000100\
             00003c0004c6c75868c01000020001000151800012036e69630973616e64656c6d\
             616e02636100c0100002000100015180001203736e7308636f6f7065726978036e\
             657400c04d000100010000012c0004d157f912c04d001c00010000012c00102607\
             f0b0000f000000000000babef00dc06b0001000100001c200004616b850fc06b00\
             1c000100001c20001026003c0300000000f03c91fffe96e8ef0000291000000000\
             000000",
        );
        assert_eq!((ini.len(), resp.len()), (58, 234));
        let mut all = ini.clone();
        all.extend_from_slice(&resp);

        let e_all = shannon_entropy_bytes(&hist_of(&all), all.len() as u64);
        assert_eq!(e_all, 4.629993031687817);
        assert_eq!(shannon_entropy_first_occurrence(&ini), 4.016548411087101);
        assert_eq!(shannon_entropy_first_occurrence(&resp), 4.565356207599033);

        // the other orders really differ (values from the same Python loop):
        // ascending order for the initiator gives 4.0165484110871,
        // first-occurrence order for all bytes gives 4.629993031687816
        assert_eq!(
            shannon_entropy_bytes(&hist_of(&ini), ini.len() as u64),
            4.0165484110871
        );
        assert_eq!(shannon_entropy_first_occurrence(&all), 4.629993031687816);
    }
}
