//! Capture timestamps as `f64` seconds (spec §2.1).
//!
//! The reference turns a capture timestamp `sec` + fraction into the double nearest to
//! the exact decimal `sec.fraction` (one correct rounding), and every time feature
//! (start/end time, durations, inter-arrival times) is an `f64` difference of such
//! values. Naive arithmetic such as `ts_ns as f64 / 1e9` or `sec + nanos / 1e9` rounds
//! twice and is off by one ulp for some timestamps, which then shows up in durations and
//! IAT statistics; [`ts_ns_to_secs`] reproduces the single rounding exactly.

/// Largest integer such that every integer up to it is exact in `f64`.
const F64_EXACT_INT: u64 = 1 << 53;

const NS_PER_S: u64 = 1_000_000_000;

/// Nanoseconds since the epoch → seconds, as the `f64` nearest to the exact value
/// `ts_ns / 10^9` (ties to even): identical to parsing the decimal text
/// `"{sec}.{nanos:09}"` (or `"{sec}.{micros:06}"` for a microsecond timestamp, which
/// denotes the same number). Negative timestamps are handled (mirror image).
///
/// No allocation, no loop: at most 2^53 ns, one division of two exact operands; past
/// that, the whole seconds plus the fraction (`split_sum`), also correctly rounded.
pub fn ts_ns_to_secs(ts_ns: i64) -> f64 {
    let abs = ts_ns.unsigned_abs();
    let v = abs_ns_to_secs(abs);
    if ts_ns < 0 {
        -v
    } else {
        v
    }
}

fn abs_ns_to_secs(abs_ns: u64) -> f64 {
    if abs_ns <= F64_EXACT_INT {
        // Both operands are exact in f64, so the one IEEE division is correctly rounded
        // (Clinger's fast path).
        abs_ns as f64 / 1e9
    } else {
        split_sum(abs_ns)
    }
}

/// More than 2^53 ns (past about 104 days after the epoch, so any real capture date):
/// whole seconds `s` (exact in `f64`) plus the fraction `f = nanos / 10^9` (one rounding,
/// error at most 2^-54), added with one more rounding. That is the correctly rounded
/// `s + nanos / 10^9`: here the result is at least 2^23, so its rounding midpoints are
/// multiples of 2^p with p >= -30, and an exact multiple of 10^-9 that is not itself a
/// midpoint lies at least 2^(p+9) / 10^9 >= 4.8e-16 from every midpoint (both are
/// multiples of 2^p / 10^9 with a numerator difference that is a nonzero multiple of
/// gcd(2^-p, 10^9) = 2^9), far more than the error of `f`; an exact midpoint makes `f`
/// exact (a multiple of 2^p below 1), so the addition breaks the tie to even like the
/// decimal parser.
fn split_sum(abs_ns: u64) -> f64 {
    let secs = (abs_ns / NS_PER_S) as f64;
    let frac = (abs_ns % NS_PER_S) as f64 / 1e9;
    secs + frac
}

/// The test oracle: `"{sec}.{nanos:09}"` in a stack buffer, parsed by `core`'s decimal
/// parser (correctly rounded for every input).
#[cfg(test)]
fn parse_decimal(abs_ns: u64) -> f64 {
    // u64::MAX ns = 18446744073.709551615 s: 11 integer digits + '.' + 9 = 21 bytes.
    let mut buf = [0u8; 24];
    let mut pos = buf.len();
    let mut frac = abs_ns % NS_PER_S;
    for _ in 0..9 {
        pos -= 1;
        buf[pos] = b'0' + (frac % 10) as u8;
        frac /= 10;
    }
    pos -= 1;
    buf[pos] = b'.';
    let mut int = abs_ns / NS_PER_S;
    loop {
        pos -= 1;
        buf[pos] = b'0' + (int % 10) as u8;
        int /= 10;
        if int == 0 {
            break;
        }
    }
    match std::str::from_utf8(&buf[pos..]) {
        Ok(text) => text.parse::<f64>().unwrap_or(f64::NAN),
        // Unreachable: the buffer holds ASCII digits and one '.'.
        Err(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values: Python 3 `float("<decimal>")`, the reference's conversion,
    // pasted as the repr and checked bit-for-bit through `to_bits`.
    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits()
    }

    #[test]
    fn microsecond_timestamps() {
        // float("1704067200.123456") == 1704067200.123456 (0x1.964802007e6b4p+30)
        assert!(same(
            ts_ns_to_secs(1_704_067_200_123_456_000),
            1704067200.123456
        ));
        // sample capture style values (spec §11 golden: tcp-handshake-nano first/last)
        assert!(same(
            ts_ns_to_secs(1_418_145_369_924_505_000),
            1418145369.924505
        ));
        assert!(same(
            ts_ns_to_secs(1_418_145_370_052_115_000),
            1418145370.052115
        ));
        // whole seconds and tiny values
        assert!(same(ts_ns_to_secs(1_704_067_200_000_000_000), 1704067200.0));
        assert!(same(ts_ns_to_secs(0), 0.0));
        assert!(ts_ns_to_secs(0).is_sign_positive());
        assert!(same(ts_ns_to_secs(100_000_000), 0.1));
        assert!(same(ts_ns_to_secs(1_100_000_000), 1.1));
    }

    #[test]
    fn nanosecond_timestamps() {
        // float("1704067200.123456789") == 1704067200.1234567 (0x1.964802007e6b7p+30)
        assert!(same(
            ts_ns_to_secs(1_704_067_200_123_456_789),
            1704067200.1234567
        ));
        // float("1418145369.924505123") == 1418145369.9245052
        assert!(same(
            ts_ns_to_secs(1_418_145_369_924_505_123),
            1418145369.9245052
        ));
        // float("1704067200.000000001") == 1704067200.0 ; float("1704067200.999999999") == 1704067201.0
        assert!(same(ts_ns_to_secs(1_704_067_200_000_000_001), 1704067200.0));
        assert!(same(ts_ns_to_secs(1_704_067_200_999_999_999), 1704067201.0));
        // float("0.000000001") == 1e-09
        assert!(same(ts_ns_to_secs(1), 1e-9));
    }

    #[test]
    fn values_where_naive_division_is_one_ulp_off() {
        // For these, `ts_ns as f64 / 1e9` (two roundings) differs from the correctly
        // rounded decimal. Python: float("1704076080.977787844") == 1704076080.9777877
        // while float(1704076080977787844) / 1e9 == 1704076080.977788.
        let cases: [(i64, f64, f64); 3] = [
            (
                1_704_076_080_977_787_844,
                1704076080.9777877,
                1704076080.977788,
            ),
            (
                1_704_096_748_467_570_198,
                1704096748.4675703,
                1704096748.46757,
            ),
            (
                1_704_122_063_206_855_602,
                1704122063.2068555,
                1704122063.2068558,
            ),
        ];
        for (ns, want, naive) in cases {
            assert!(same(ts_ns_to_secs(ns), want), "{ns}");
            assert!(!same(want, naive));
            assert!(
                same(ns as f64 / 1e9, naive),
                "the naive result really differs"
            );
        }
    }

    #[test]
    fn negative_and_extreme_timestamps() {
        // float("-0.5"), float("-1.000000001")
        assert!(same(ts_ns_to_secs(-500_000_000), -0.5));
        assert!(same(ts_ns_to_secs(-1_000_000_001), -1.000000001));
        // float("9223372036.854775807") == float("-9223372036.854775808") negated == 9223372036.854776
        assert!(same(ts_ns_to_secs(i64::MAX), 9223372036.854776));
        assert!(same(ts_ns_to_secs(i64::MIN), -9223372036.854776));
    }

    #[test]
    fn capture_timestamps_agree_with_the_decimal_parser() {
        // Deterministic LCG over second-, milli-, micro- and nanosecond-precision values.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..200_000u64 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // seconds in [1e9, 2e9); every 8th below 2^53 ns (the one-division branch)
            let base = if i % 8 == 7 {
                (x >> 30) % 9_000_000
            } else {
                1_000_000_000 + (x >> 20) % 1_000_000_000
            };
            let nanos = (x >> 7) % NS_PER_S;
            let nanos = match i % 4 {
                0 => nanos / 1_000 * 1_000,
                1 => nanos / 1_000_000 * 1_000_000,
                2 => 0,
                _ => nanos,
            };
            let ns = base * NS_PER_S + nanos;
            assert!(same(abs_ns_to_secs(ns), parse_decimal(ns)), "{ns}");
        }
    }

    #[test]
    fn split_sum_agrees_with_the_decimal_parser() {
        // Every magnitude past 2^53 ns (2^23 s and up, to u64::MAX), random nanoseconds,
        // and the exact ties (fractions that are multiples of 2^-9 s = 1,953,125 ns).
        let mut rng = crate::testutil::XorShift64(0x2545_F491_4F6C_DD1D);
        let mut checked = 0u64;
        for i in 0..400_000u64 {
            let x = rng.next_u64();
            let bits = 54 + (i % 11) as u32; // 2^53 .. 2^64 ns
            let ns = if bits >= 64 { x } else { x % (1u64 << bits) } | (1u64 << 53);
            let ns = match i % 3 {
                0 => ns,
                1 => ns / NS_PER_S * NS_PER_S + (x >> 40) % 512 * 1_953_125,
                _ => ns / NS_PER_S * NS_PER_S + 999_999_999 - (x >> 50),
            };
            if ns <= F64_EXACT_INT {
                continue;
            }
            assert!(same(split_sum(ns), parse_decimal(ns)), "{ns}");
            assert!(same(abs_ns_to_secs(ns), parse_decimal(ns)), "{ns}");
            checked += 1;
        }
        assert!(checked > 390_000);
    }
}
