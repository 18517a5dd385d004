//! Small seeded PRNG: splitmix64 for seeding, xorshift64* for the stream.
//!
//! Everything here uses integer arithmetic or basic IEEE-754 operations only (no
//! `exp`/`ln` from libm), so a seed produces the same stream on every platform.

/// One splitmix64 step: advances `state` and returns a well-mixed 64-bit value.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Stateless 64-bit hash of a value (one splitmix64 finalisation).
pub fn mix64(x: u64) -> u64 {
    let mut s = x;
    splitmix64(&mut s)
}

/// xorshift64* generator. Cheap to copy; fork one per flow.
#[derive(Clone, Debug)]
pub struct Rng {
    s: u64,
}

impl Rng {
    /// A generator whose stream depends only on `seed` (any value, including 0).
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let s = splitmix64(&mut sm);
        Rng {
            s: if s == 0 { 0x9E37_79B9_7F4A_7C15 } else { s },
        }
    }

    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.s;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.s = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    #[inline]
    pub fn next_u16(&mut self) -> u16 {
        (self.next_u64() >> 48) as u16
    }

    #[inline]
    pub fn next_u8(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }

    /// Uniform in `0..n` (`n == 0` gives 0).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    #[inline]
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `lo..=hi` for signed values (nanosecond durations).
    #[inline]
    pub fn range_i(&mut self, lo: i64, hi: i64) -> i64 {
        debug_assert!(lo <= hi);
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// Uniform element of a non-empty slice.
    #[inline]
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Uniform in `[0, 1)`.
    #[inline]
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// A new independent generator derived from this one.
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }

    /// Fill `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let v = self.next_u64().to_le_bytes();
            let n = rest.len();
            rest.copy_from_slice(&v[..n]);
        }
    }

    /// Approximately log-uniform in `lo..=hi` (heavy-tailed sizes and durations).
    pub fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let lo = lo.max(1);
        if hi <= lo {
            return lo;
        }
        let a = log2_approx(lo as f64);
        let b = log2_approx(hi as f64);
        let v = exp2_approx(a + self.f64() * (b - a));
        (v as u64).clamp(lo, hi)
    }

    /// Approximately exponential with the given mean (nanoseconds), at least 0.
    pub fn exp_ns(&mut self, mean: i64) -> i64 {
        // -ln(u) = -log2(u) * ln 2, with u in (0, 1].
        let u = 1.0 - self.f64();
        let e = -log2_approx(u) * std::f64::consts::LN_2;
        (e * mean as f64) as i64
    }

    /// Duration in `base ± pct%` (jitter).
    pub fn jitter(&mut self, base: i64, pct: u32) -> i64 {
        let spread = base / 100 * pct as i64;
        if spread <= 0 {
            return base.max(0);
        }
        (base - spread + self.below(2 * spread as u64 + 1) as i64).max(0)
    }
}

/// Piecewise-linear log2 (exact at powers of two); inverse of [`exp2_approx`].
fn log2_approx(x: f64) -> f64 {
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    e as f64 + (m - 1.0)
}

/// Piecewise-linear 2^y; inverse of [`log2_approx`].
fn exp2_approx(y: f64) -> f64 {
    let fl = y.floor();
    let f = y - fl;
    let e = (fl as i64 + 1023).clamp(1, 2046) as u64;
    (1.0 + f) * f64::from_bits(e << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_bounded() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut r = Rng::new(0);
        for _ in 0..10_000 {
            let v = r.range(5, 9);
            assert!((5..=9).contains(&v));
            let l = r.log_uniform(100, 100_000);
            assert!((100..=100_000).contains(&l));
            assert!(r.exp_ns(1000) >= 0);
        }
    }

    #[test]
    fn approx_functions_invert() {
        for x in [1.0, 1.5, 3.0, 1000.0, 123456.0] {
            let y = exp2_approx(log2_approx(x));
            assert!((y - x).abs() < 1e-9 * x, "{x} -> {y}");
        }
    }
}
