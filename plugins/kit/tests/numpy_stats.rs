//! `jj_kit::stats` against numpy 2.4.6: the expected values in `data/numpy_reference.rs`
//! were computed with numpy by `gen/numpy_reference.py` on arrays that both sides
//! generate with the same exactly-rounded splitmix64 recipe.

use jj_kit::stats::{
    coefficient_of_variation, mean, pairwise_sum, percentile_sorted, pop_std, pop_var, summarize,
    summarize_basic,
};

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Mixed,
    Iat,
}

/// bits = [sum, naive, mean, var, std, min, max, median, p25, p75, p90, p99, cv]
pub struct Row {
    pub kind: Kind,
    pub n: usize,
    pub seed: u64,
    pub bits: [u64; 13],
}

include!("data/numpy_reference.rs");

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unit(state: &mut u64) -> f64 {
    (splitmix64(state) >> 11) as f64 * (1.0 / 9007199254740992.0)
}

fn generate(kind: Kind, seed: u64, n: usize) -> Vec<f64> {
    const SCALES: [f64; 5] = [1e-6, 1e-3, 1.0, 1e3, 1e6];
    let mut s = seed;
    (0..n)
        .map(|i| match kind {
            Kind::Mixed => (unit(&mut s) * 2000.0 - 1000.0) * SCALES[i % 5],
            Kind::Iat => unit(&mut s) * 0.05,
        })
        .collect()
}

fn check(what: &str, row: &Row, got: f64, want_bits: u64) {
    assert_eq!(
        got.to_bits(),
        want_bits,
        "{what} for {:?} n={}: got {got:e}, want {:e}",
        row.kind,
        row.n,
        f64::from_bits(want_bits)
    );
}

#[test]
fn matches_numpy_bit_for_bit() {
    let mut scratch = Vec::new();
    let mut differing = 0;
    for row in ROWS {
        let a = generate(row.kind, row.seed, row.n);
        let [sum, naive, m, var, std, min, max, median, p25, p75, p90, p99, cv] = row.bits;

        // the generator reproduces the Python one: the sequential sums agree
        check("naive sum", row, a.iter().fold(0.0, |r, &x| r + x), naive);
        if sum != naive {
            differing += 1;
        }

        check("pairwise_sum", row, pairwise_sum(&a), sum);
        check("mean", row, mean(&a), m);
        check("pop_var", row, pop_var(&a), var);
        check("pop_std", row, pop_std(&a), std);
        check("cv", row, coefficient_of_variation(&a), cv);

        let s = summarize(&a, &mut scratch);
        assert_eq!(s.count, row.n);
        check("summary.sum", row, s.sum, sum);
        check("summary.mean", row, s.mean, m);
        check("summary.var", row, s.var, var);
        check("summary.std", row, s.std, std);
        check("summary.min", row, s.min, min);
        check("summary.max", row, s.max, max);
        check("summary.median", row, s.median, median);
        check("summary.p25", row, s.p25, p25);
        check("summary.p75", row, s.p75, p75);
        check("summary.p90", row, s.p90, p90);
        check("summary.p99", row, s.p99, p99);
        let mut sorted = a.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        check(
            "percentile_sorted",
            row,
            percentile_sorted(&sorted, 50.0),
            median,
        );

        let b = summarize_basic(&a);
        assert_eq!(
            (b.count, b.sum, b.mean, b.var, b.std),
            (s.count, s.sum, s.mean, s.var, s.std)
        );
        assert_eq!((b.min, b.max), (s.min, s.max));
    }
    // pairwise and sequential summation really differ on most of these arrays
    assert!(differing >= 25, "only {differing} rows differ");
}
