//! Summary statistics with the reference's numeric conventions (spec §3.2).
//!
//! * Sums are numpy's pairwise float64 summation ([`pairwise_sum`]), bit-identical
//!   to `np.sum` on a contiguous float64 array.
//! * `mean = sum / n`; variance is the population variance computed the way
//!   `np.var` does it: pairwise sum of `(x - mean) * (x - mean)`, divided by `n`;
//!   `std = sqrt(var)`. This reproduces `np.mean`, `np.var` and `np.std` bit for bit.
//! * Percentiles use the reference's own formula (not numpy's `percentile`), see
//!   [`percentile_sorted`].
//!
//! Empty input gives 0.0 everywhere (the reference's convention), never NaN.
//!
//! Ordering uses [`f64::total_cmp`]: `-0.0` sorts before `0.0`, and NaNs sort to the
//! ends by sign bit (positive NaN last, like numpy; negative NaN first).

use std::cmp::Ordering;

/// numpy's `PW_BLOCKSIZE`: arrays up to this length are summed with 8 accumulators,
/// longer ones are split in two.
const PW_BLOCKSIZE: usize = 128;

/// The pairwise recursion of numpy's `pairwise_sum` for float64 (spec §3.2), over
/// `f(x)` for each element `x`.
///
/// `f` is applied element-wise before summation, which is exactly what numpy does
/// when it sums a temporary array such as `(x - mean) ** 2`.
fn pairwise_rec<F: Fn(f64) -> f64 + Copy>(a: &[f64], f: F) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += f(x);
        }
        res
    } else if n <= PW_BLOCKSIZE {
        let mut r = [0.0f64; 8];
        for (acc, &x) in r.iter_mut().zip(&a[..8]) {
            *acc = f(x);
        }
        let full = n - n % 8;
        for block in a[8..full].chunks_exact(8) {
            for (acc, &x) in r.iter_mut().zip(block) {
                *acc += f(x);
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[full..] {
            res += f(x);
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_rec(&a[..n2], f) + pairwise_rec(&a[n2..], f)
    }
}

/// `np.sum(np.array([f(x) for x in a], dtype=np.float64))`, bit for bit, without a
/// temporary array.
///
/// numpy's add-reduction starts from the identity `0.0` and adds the pairwise sum to
/// it, so an all-`-0.0` input sums to `+0.0`; this is reproduced.
#[inline]
pub fn pairwise_sum_map<F: Fn(f64) -> f64 + Copy>(a: &[f64], f: F) -> f64 {
    0.0 + pairwise_rec(a, f)
}

/// numpy's pairwise float64 sum: `np.sum(np.asarray(a, dtype=np.float64))`, bit for bit.
///
/// Differs from a sequential `+=` loop in the last bits for most arrays of 8 or more
/// elements.
#[inline]
pub fn pairwise_sum(a: &[f64]) -> f64 {
    pairwise_sum_map(a, |x| x)
}

/// `np.mean(v)`; 0.0 for an empty slice.
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        pairwise_sum(v) / v.len() as f64
    }
}

/// Population variance about a given `mean` (the `np.var` recipe); 0.0 if `v` is empty.
fn pop_var_about(v: &[f64], mean: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let sq_dev = |x: f64| {
        let d = x - mean;
        d * d
    };
    pairwise_sum_map(v, sq_dev) / v.len() as f64
}

/// `np.var(v)` (population, `ddof=0`); 0.0 for an empty slice.
pub fn pop_var(v: &[f64]) -> f64 {
    pop_var_about(v, mean(v))
}

/// `np.std(v)` (population, `ddof=0`); 0.0 for an empty slice.
pub fn pop_std(v: &[f64]) -> f64 {
    pop_var(v).sqrt()
}

/// `std / mean` (population std); 0.0 if `v` is empty or its mean is 0. The same as
/// [`Summary::cv`] of `v`'s summary, which callers that summarize `v` anyway should use.
pub fn coefficient_of_variation(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    Summary::moments(v).cv()
}

/// The reference's percentile of an ascending-sorted slice, `p` in 0..=100:
/// `idx = (n-1)*p/100`, `lo = floor(idx)`, `hi = min(lo+1, n-1)`, `frac = idx - lo`,
/// result `s[lo]*(1-frac) + s[hi]*frac`. 0.0 for an empty slice.
///
/// This is copied literally from the reference (it is not numpy's lerp), including
/// its corner cases: with an infinite neighbour and `frac == 0` the result is NaN.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    percentile_at(sorted.len(), p, |i| sorted[i])
}

/// [`percentile_sorted`]'s formula over `n` ordered values read through `at(rank)`.
fn percentile_at(n: usize, p: f64, at: impl Fn(usize) -> f64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let idx = (n - 1) as f64 * p / 100.0;
    let lo_f = idx.floor();
    // Clamp so that an out-of-range `p` cannot index out of bounds.
    let lo = (lo_f.max(0.0) as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let frac = idx - lo_f;
    at(lo) * (1.0 - frac) + at(hi) * frac
}

/// An integer whose unsigned order is [`f64::total_cmp`]'s order of `x` (the bits of
/// a negative number inverted except the sign, then the sign bit flipped), so that
/// ordering runs on plain integer comparisons — several times faster than
/// `total_cmp`. [`from_order_key`] gives back the same bits.
fn order_key(x: f64) -> u64 {
    let b = x.to_bits();
    let flip = (((b as i64) >> 63) as u64 >> 1) | (1 << 63);
    b ^ flip
}

/// The float whose [`order_key`] is `k`.
fn from_order_key(k: u64) -> f64 {
    let b = k ^ (1 << 63);
    f64::from_bits(b ^ (((b as i64) >> 63) as u64 >> 1))
}

/// All summary statistics of one value set (spec §3.2). `Default` is the all-zero
/// summary of an empty set.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub sum: f64,
    pub mean: f64,
    pub std: f64,
    pub var: f64,
    pub min: f64,
    pub max: f64,
    pub median: f64,
    pub p25: f64,
    pub p75: f64,
    pub p90: f64,
    pub p99: f64,
}

impl Summary {
    /// `std / mean`, the coefficient of variation; 0.0 for an empty set or a mean of 0.
    pub fn cv(&self) -> f64 {
        if self.count == 0 || self.mean == 0.0 {
            0.0
        } else {
            self.std / self.mean
        }
    }

    /// count, sum, mean, var and std of a non-empty slice; the rest left 0.
    fn moments(values: &[f64]) -> Summary {
        Summary::moments_with_sum(values, pairwise_sum(values))
    }

    /// [`Summary::moments`] given `values`' pairwise sum.
    ///
    /// Never inlined: every summary runs this one copy of the code, so even a NaN result
    /// (inf − inf) has the same bits whichever function asked (IEEE leaves a NaN's sign
    /// to the operand order the compiler picks, which differed between inlined copies).
    #[inline(never)]
    fn moments_with_sum(values: &[f64], sum: f64) -> Summary {
        let count = values.len();
        let mean = sum / count as f64;
        let var = pop_var_about(values, mean);
        Summary {
            count,
            sum,
            mean,
            var,
            std: var.sqrt(),
            ..Summary::default()
        }
    }
}

/// The percentiles [`summarize`] reports.
const SUMMARY_PERCENTILES: [f64; 5] = [25.0, 50.0, 75.0, 90.0, 99.0];

/// Below this many values [`summarize`] sorts; above, it selects only the ranks it reads.
const SELECT_ABOVE: usize = 256;

/// Puts the element of every rank in `ranks` (ascending, distinct, absolute positions in
/// the whole slice, of which `v` is the part starting at `base`) where a full sort would
/// put it. Other positions end up in some order. Each step partitions around the middle
/// wanted rank, so the work is about `len × log(ranks)` instead of a sort's
/// `len × log(len)`.
fn select_ranks(v: &mut [u64], base: usize, ranks: &[usize]) {
    if ranks.is_empty() || v.len() <= 1 {
        return;
    }
    if v.len() <= 32 {
        v.sort_unstable();
        return;
    }
    let mid = ranks.len() / 2;
    let k = ranks[mid] - base;
    let (left, _, right) = v.select_nth_unstable(k);
    select_ranks(left, base, &ranks[..mid]);
    select_ranks(right, base + k + 1, &ranks[mid + 1..]);
}

/// Full summary: moments, min/max and the percentiles p25, median, p75, p90, p99.
///
/// The values' order keys are copied into `scratch` and ordered there, in
/// [`f64::total_cmp`]'s order (sorted, or for more than `SELECT_ABOVE` values only the
/// ranks the percentiles read are selected); keep reusing the same `scratch` so that no
/// allocation happens after warm-up. An empty slice gives `Summary::default()` (all
/// zeros).
pub fn summarize(values: &[f64], scratch: &mut Vec<u64>) -> Summary {
    summarize_order(values, scratch, &[0, 1, 2, 3, 4])
}

/// [`summarize`] for callers that read only min, max, mean, std and the median: the other
/// percentile fields stay 0.0, and above `SELECT_ABOVE` values 4 ranks are selected
/// instead of up to 12. Every field it fills equals `summarize`'s, bit for bit.
pub fn summarize_median(values: &[f64], scratch: &mut Vec<u64>) -> Summary {
    summarize_order(values, scratch, &[1])
}

/// `s`'s field for `SUMMARY_PERCENTILES[i]`.
fn percentile_field(s: &mut Summary, i: usize) -> &mut f64 {
    match i {
        0 => &mut s.p25,
        1 => &mut s.median,
        2 => &mut s.p75,
        3 => &mut s.p90,
        _ => &mut s.p99,
    }
}

/// [`summarize`] with only the percentiles `SUMMARY_PERCENTILES[i]` for `i` in `wanted`.
fn summarize_order(values: &[f64], scratch: &mut Vec<u64>, wanted: &[usize]) -> Summary {
    if values.is_empty() {
        return Summary::default();
    }
    let mut s = Summary::moments(values);
    scratch.clear();
    scratch.extend(values.iter().map(|&x| order_key(x)));
    let n = scratch.len();
    if n <= SELECT_ABOVE {
        scratch.sort_unstable();
    } else {
        let (ranks, len) = order_ranks(n, wanted);
        select_ranks(scratch, 0, &ranks[..len]);
    }
    fill_order_stats(&mut s, n, wanted, |i| from_order_key(scratch[i]));
    s
}

/// The ranks (ascending, distinct) that [`fill_order_stats`] reads for `n` values: 0,
/// `n - 1`, and the lo and hi rank of each wanted percentile; and how many there are.
fn order_ranks(n: usize, wanted: &[usize]) -> ([usize; 2 + 2 * SUMMARY_PERCENTILES.len()], usize) {
    let mut ranks = [0usize; 2 + 2 * SUMMARY_PERCENTILES.len()];
    ranks[1] = n - 1;
    let mut len = 2;
    for &i in wanted {
        let idx = (n - 1) as f64 * SUMMARY_PERCENTILES[i] / 100.0;
        let lo = (idx.floor().max(0.0) as usize).min(n - 1);
        ranks[len] = lo;
        ranks[len + 1] = (lo + 1).min(n - 1);
        len += 2;
    }
    let all = &mut ranks[..len];
    all.sort_unstable();
    let mut distinct = 0;
    for i in 0..all.len() {
        if i == 0 || all[i] != all[distinct - 1] {
            all[distinct] = all[i];
            distinct += 1;
        }
    }
    (ranks, distinct)
}

/// Fills min, max and the wanted percentiles of `s` from the `n` values in ascending
/// order, read through `at(rank)` (only at the ranks [`order_ranks`] lists).
fn fill_order_stats(s: &mut Summary, n: usize, wanted: &[usize], at: impl Fn(usize) -> f64) {
    s.min = at(0);
    s.max = at(n - 1);
    for &i in wanted {
        *percentile_field(s, i) = percentile_at(n, SUMMARY_PERCENTILES[i], &at);
    }
}

/// Lengths at or above this are not counted in [`LengthCounts`]' dense table (IPv6
/// jumbograms): a flow with one is summarized by sorting, and its mode sorts them.
const LENGTHS_DENSE: u32 = 1 << 16;

/// A flow's lengths (non-negative integers, such as packet lengths) in its two
/// directions, counted per value, for their order statistics and their mode without a
/// sort: the summaries cost the values plus their distinct values (sorted), instead of
/// a sort of each of the three value sets (both directions, each direction). Every field
/// of a summary equals, bit for bit, what [`summarize`] / [`summarize_median`] give for
/// the same lengths as `f64`. Reuse one across flows: its table (512 KiB) is allocated
/// on first use and only the values seen are cleared.
#[derive(Clone, Debug, Default)]
pub struct LengthCounts {
    /// Count per direction of each value below `LENGTHS_DENSE` (empty until first use).
    dense: Vec<[u32; 2]>,
    /// The distinct values below `LENGTHS_DENSE` counted since the last clear, in
    /// first-seen order, and the index of each one's first occurrence.
    seen: Vec<u32>,
    first: Vec<u32>,
    /// `(value, index)` of the values at or above `LENGTHS_DENSE`; while there is one,
    /// summaries sort instead.
    big: Vec<(u32, u32)>,
    /// Sum and number of the values per direction.
    sums: [u64; 2],
    counts: [usize; 2],
    /// `seen` in ascending order (valid while `sorted_valid`).
    sorted: Vec<u32>,
    sorted_valid: bool,
    /// Scratch for the sorting path.
    scratch: Vec<u64>,
}

/// Which of a flow's two directions a summary covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dirs {
    Both,
    Only(usize),
}

impl LengthCounts {
    pub fn new() -> Self {
        LengthCounts::default()
    }

    /// Counts `value` in direction `dir` (0 or 1).
    #[inline]
    pub fn push(&mut self, value: u32, dir: usize) {
        let dir = dir & 1;
        let idx = u32::try_from(self.counts[0] + self.counts[1]).unwrap_or(u32::MAX);
        self.sums[dir] += u64::from(value);
        self.counts[dir] += 1;
        if value >= LENGTHS_DENSE {
            self.big.push((value, idx));
            return;
        }
        if self.dense.is_empty() {
            self.dense = vec![[0; 2]; LENGTHS_DENSE as usize];
        }
        let slot = &mut self.dense[value as usize];
        if *slot == [0, 0] {
            self.seen.push(value);
            self.first.push(idx);
            self.sorted_valid = false;
        }
        slot[dir] += 1;
    }

    /// The capacity of its buffers, in elements (to check that reuse keeps them).
    pub fn buffer_capacity(&self) -> usize {
        self.dense.capacity()
            + self.seen.capacity()
            + self.first.capacity()
            + self.big.capacity()
            + self.sorted.capacity()
            + self.scratch.capacity()
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        for &v in &self.seen {
            self.dense[v as usize] = [0, 0];
        }
        self.seen.clear();
        self.first.clear();
        self.big.clear();
        self.sums = [0, 0];
        self.counts = [0, 0];
        self.sorted.clear();
        self.sorted_valid = true;
    }

    /// The most frequent value of both directions and its count (on a tie, the value
    /// whose first occurrence came first); `None` if nothing was counted.
    pub fn mode(&mut self) -> Option<(u32, usize)> {
        // (count, first index, value) of the best so far
        let mut best: Option<(usize, u32, u32)> = None;
        let mut consider = |count: usize, first: u32, value: u32| {
            let better = match best {
                None => true,
                Some((c, f, _)) => count > c || (count == c && first < f),
            };
            if better {
                best = Some((count, first, value));
            }
        };
        for (&v, &first) in self.seen.iter().zip(&self.first) {
            let c = self.dense[v as usize];
            consider(c[0] as usize + c[1] as usize, first, v);
        }
        self.big.sort_unstable();
        for run in self.big.chunk_by(|a, b| a.0 == b.0) {
            consider(run.len(), run[0].1, run[0].0);
        }
        best.map(|(count, _, value)| (value, count))
    }

    /// [`summarize`] of `values`, which must be the values pushed for `dirs` as `f64`, in
    /// the order pushed (the variance's rounding depends on that order).
    pub fn summarize(&mut self, values: &[f64], dirs: Dirs) -> Summary {
        self.summarize_wanted(values, dirs, &[0, 1, 2, 3, 4])
    }

    /// [`summarize_median`] of `values` (see [`LengthCounts::summarize`]).
    pub fn summarize_median(&mut self, values: &[f64], dirs: Dirs) -> Summary {
        self.summarize_wanted(values, dirs, &[1])
    }

    fn summarize_wanted(&mut self, values: &[f64], dirs: Dirs, wanted: &[usize]) -> Summary {
        let (n, sum) = match dirs {
            Dirs::Both => (self.counts[0] + self.counts[1], self.sums[0] + self.sums[1]),
            Dirs::Only(d) => (self.counts[d & 1], self.sums[d & 1]),
        };
        debug_assert_eq!(n, values.len(), "values are not the ones counted");
        if !self.big.is_empty() || values.is_empty() || n != values.len() {
            return summarize_order(values, &mut self.scratch, wanted);
        }
        // The pairwise sum of integers whose total is below 2^53 is exact: the integer sum.
        let mut s = Summary::moments_with_sum(values, sum as f64);
        if !self.sorted_valid {
            self.sorted.clear();
            self.sorted.extend_from_slice(&self.seen);
            self.sorted.sort_unstable();
            self.sorted_valid = true;
        }
        let count = |v: u32| {
            let c = self.dense[v as usize];
            match dirs {
                Dirs::Both => c[0] as usize + c[1] as usize,
                Dirs::Only(d) => c[d & 1] as usize,
            }
        };
        // The value at each rank read, by one walk through the distinct values.
        let (ranks, len) = order_ranks(n, wanted);
        let ranks = &ranks[..len];
        let mut at_rank = [0.0f64; 2 + 2 * SUMMARY_PERCENTILES.len()];
        let (mut next, mut below) = (0, 0usize);
        for &v in &self.sorted {
            below += count(v);
            while next < len && ranks[next] < below {
                at_rank[next] = f64::from(v);
                next += 1;
            }
            if next == len {
                break;
            }
        }
        let at = |rank: usize| {
            let i = ranks.iter().position(|&r| r == rank).unwrap_or(0);
            at_rank[i]
        };
        fill_order_stats(&mut s, n, wanted, at);
        s
    }
}

/// Like [`summarize`] without sorting: count, sum, mean, var, std, min and max are
/// filled (min/max agree with `summarize`), the percentile fields stay 0.0.
pub fn summarize_basic(values: &[f64]) -> Summary {
    if values.is_empty() {
        return Summary::default();
    }
    let mut s = Summary::moments(values);
    let (min, max) = min_max(values);
    s.min = min;
    s.max = max;
    s
}

/// Smallest and largest element under [`f64::total_cmp`] (the same elements sorting
/// would put first and last). `(0.0, 0.0)` for an empty slice.
pub fn min_max(values: &[f64]) -> (f64, f64) {
    let Some((&first, rest)) = values.split_first() else {
        return (0.0, 0.0);
    };
    rest.iter().fold((first, first), |(lo, hi), &x| {
        (
            if x.total_cmp(&lo) == Ordering::Less {
                x
            } else {
                lo
            },
            if x.total_cmp(&hi) == Ordering::Greater {
                x
            } else {
                hi
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `summarize` by a full sort: the reference for the selection path.
    fn summarize_by_sorting(values: &[f64]) -> Summary {
        let mut s = Summary::moments(values);
        let mut v = values.to_vec();
        v.sort_unstable_by(f64::total_cmp);
        s.min = v[0];
        s.max = v[v.len() - 1];
        s.median = percentile_sorted(&v, 50.0);
        s.p25 = percentile_sorted(&v, 25.0);
        s.p75 = percentile_sorted(&v, 75.0);
        s.p90 = percentile_sorted(&v, 90.0);
        s.p99 = percentile_sorted(&v, 99.0);
        s
    }

    #[test]
    fn selecting_ranks_gives_what_sorting_gives() {
        let bits = |s: &Summary| {
            [
                s.min, s.max, s.median, s.p25, s.p75, s.p90, s.p99, s.sum, s.mean, s.var, s.std,
            ]
            .map(f64::to_bits)
        };
        let mut rng = crate::testutil::XorShift64(0x9E37_79B9_7F4A_7C15);
        let mut next = || rng.next_u64();
        let mut scratch = Vec::new();
        for n in (1..300).chain([500, 1000, 1001, 4096, 20_000]) {
            for kind in 0..9 {
                let v: Vec<f64> = (0..n)
                    .map(|_| {
                        let r = next();
                        match kind {
                            // many ties (packet sizes)
                            0 => (r % 7) as f64 * 60.0,
                            // spread values
                            1 => (r % 1_000_000) as f64 / 1e3,
                            // special values mixed in
                            2 => match r % 50 {
                                0 => -0.0,
                                1 => 0.0,
                                2 => f64::INFINITY,
                                3 => f64::NEG_INFINITY,
                                4 => f64::NAN,
                                _ => ((r >> 8) % 1000) as f64 - 500.0,
                            },
                            // inter-arrival times: spread over many binades
                            3 => f64::exp2(-((r % 40_000) as f64) / 1000.0),
                            // clustered near 1.0 plus rare huge outliers
                            4 => match r % 997 {
                                0 => 1e300,
                                _ => 1.0 + ((r >> 12) % 100_000) as f64 * 1e-9,
                            },
                            // neighbouring floats
                            5 => f64::from_bits(1.5f64.to_bits() + (r % 1500)),
                            // two values
                            6 => [3.0, -7.5][(r % 2) as usize],
                            // all equal
                            7 => 42.0,
                            // sorted input, ascending
                            _ => 0.0,
                        }
                    })
                    .collect();
                let v = if kind == 8 {
                    (0..n).map(|i| i as f64 * 0.5).collect()
                } else {
                    v
                };
                let got = summarize(&v, &mut scratch);
                let want = summarize_by_sorting(&v);
                assert_eq!(bits(&got), bits(&want), "n = {n}, kind = {kind}");
                let five = |s: &Summary| [s.min, s.max, s.mean, s.std, s.median].map(f64::to_bits);
                let m = summarize_median(&v, &mut scratch);
                assert_eq!(five(&m), five(&want), "median only: n = {n}, kind = {kind}");
                assert_eq!([m.p25, m.p75, m.p90, m.p99], [0.0; 4]);
            }
        }
    }

    /// The mode by definition: count every value over the whole sequence.
    fn mode_by_counting(v: &[u32]) -> Option<(u32, usize)> {
        let mut best: Option<(u32, usize)> = None;
        for (i, &x) in v.iter().enumerate() {
            if v[..i].contains(&x) {
                continue; // counted at its first occurrence, which comes first
            }
            let c = v.iter().filter(|&&y| y == x).count();
            if best.is_none_or(|(_, bc)| c > bc) {
                best = Some((x, c));
            }
        }
        best
    }

    #[test]
    fn mode_is_the_most_frequent_and_the_first_seen_on_a_tie() {
        let mut m = LengthCounts::new();
        assert_eq!(m.mode(), None);
        // both directions count (a value seen in each direction counts twice)
        for (i, v) in [52, 60, 1500, 60, 52].into_iter().enumerate() {
            m.push(v, i % 2);
        }
        assert_eq!(m.mode(), Some((52, 2)), "52 and 60 twice; 52 first");
        // the counter starts over after a clear
        m.clear();
        for v in [60, 1500, 1500] {
            m.push(v, 1);
        }
        assert_eq!(m.mode(), Some((1500, 2)));
        // jumbogram lengths (>= 2^16) compete with the dense ones by the same rules
        m.clear();
        for v in [70_000, 40, 70_000, 40] {
            m.push(v, 0);
        }
        assert_eq!(m.mode(), Some((70_000, 2)));
        m.clear();
        for v in [40, 70_000, 70_000, 40] {
            m.push(v, 0);
        }
        assert_eq!(m.mode(), Some((40, 2)));
    }

    #[test]
    fn mode_matches_counting_on_random_sequences() {
        let mut rng = crate::testutil::XorShift64(0x6d6f6465);
        let mut m = LengthCounts::new();
        for _ in 0..2000 {
            let n = rng.below(40) as usize;
            // few distinct values (ties are common), some of them past the dense range
            let v: Vec<u32> = (0..n)
                .map(|_| match rng.below(8) {
                    0 => 65_530 + rng.below(12) as u32,
                    _ => 40 + rng.below(6) as u32,
                })
                .collect();
            m.clear();
            for &x in &v {
                m.push(x, rng.below(2) as usize);
            }
            assert_eq!(m.mode(), mode_by_counting(&v), "{v:?}");
        }
    }

    /// Every field, bit for bit (`Summary`'s `==` would take -0.0 for 0.0).
    fn bits(s: &Summary) -> [u64; 12] {
        let f = |x: f64| x.to_bits();
        [
            s.count as u64,
            f(s.sum),
            f(s.mean),
            f(s.std),
            f(s.var),
            f(s.min),
            f(s.max),
            f(s.median),
            f(s.p25),
            f(s.p75),
            f(s.p90),
            f(s.p99),
        ]
    }

    #[test]
    fn length_counts_summarize_like_sorting() {
        let mut rng = crate::testutil::XorShift64(0x6c656e73);
        let mut counts = LengthCounts::new();
        let mut scratch = Vec::new();
        for round in 0..3000 {
            // sizes from a handful of distinct values (ties) up to many; a few flows
            // past the selection threshold; now and then a jumbogram length
            let n = match round % 10 {
                0 => 300 + rng.below(700) as usize,
                _ => rng.below(60) as usize,
            };
            let spread = 1 + rng.below(1500) as u32;
            counts.clear();
            let mut all = Vec::new();
            let mut lens = Vec::new();
            let mut dir = [Vec::new(), Vec::new()];
            for _ in 0..n {
                let len = if rng.below(2000) == 0 {
                    65_536 + rng.below(1000) as u32
                } else {
                    40 + rng.below(u64::from(spread)) as u32
                };
                let d = rng.below(2) as usize;
                counts.push(len, d);
                lens.push(len);
                all.push(f64::from(len));
                dir[d].push(f64::from(len));
            }
            let full = counts.summarize(&all, Dirs::Both);
            assert_eq!(bits(&full), bits(&summarize(&all, &mut scratch)), "{all:?}");
            for (d, v) in dir.iter().enumerate() {
                let got = counts.summarize_median(v, Dirs::Only(d));
                assert_eq!(
                    bits(&got),
                    bits(&summarize_median(v, &mut scratch)),
                    "{v:?}"
                );
            }
            // the summaries leave the first-seen order the mode needs
            assert_eq!(counts.mode(), mode_by_counting(&lens), "{lens:?}");
        }
    }

    /// Worked by hand: lengths 60, 1500, 60, 52 (directions 0, 1, 0, 1) → sorted 52 60
    /// 60 1500; median idx 1.5 → 60; p25 idx 0.75 → 52·0.25 + 60·0.75 = 58; direction 1
    /// alone: 52 1500, median 776.
    #[test]
    fn length_counts_hand_worked() {
        let mut c = LengthCounts::new();
        for (len, d) in [(60, 0), (1500, 1), (60, 0), (52, 1)] {
            c.push(len, d);
        }
        let s = c.summarize(&[60.0, 1500.0, 60.0, 52.0], Dirs::Both);
        assert_eq!(
            (s.min, s.max, s.median, s.p25, s.sum),
            (52.0, 1500.0, 60.0, 58.0, 1672.0)
        );
        let b = c.summarize_median(&[1500.0, 52.0], Dirs::Only(1));
        assert_eq!(
            (b.min, b.max, b.median, b.mean),
            (52.0, 1500.0, 776.0, 776.0)
        );
        c.clear();
        assert_eq!(c.summarize(&[], Dirs::Both), Summary::default());
    }

    #[test]
    fn empty_is_all_zero() {
        let mut scratch = Vec::new();
        assert_eq!(summarize(&[], &mut scratch), Summary::default());
        assert_eq!(summarize_basic(&[]), Summary::default());
        assert_eq!(pairwise_sum(&[]), 0.0);
        assert_eq!(mean(&[]), 0.0);
        assert_eq!(pop_var(&[]), 0.0);
        assert_eq!(pop_std(&[]), 0.0);
        assert_eq!(coefficient_of_variation(&[]), 0.0);
        assert_eq!(percentile_sorted(&[], 50.0), 0.0);
        assert_eq!(min_max(&[]), (0.0, 0.0));
    }

    #[test]
    fn hand_worked_summary() {
        // values 4, 1, 3, 2 -> sorted 1 2 3 4
        // sum 10, mean 2.5, deviations -1.5 -0.5 0.5 1.5 -> squares 2.25 .25 .25 2.25,
        // var = 5/4 = 1.25, std = sqrt(1.25)
        // p25: idx = 3*25/100 = 0.75 -> 1*0.25 + 2*0.75 = 1.75
        // p50: idx 1.5 -> 2*0.5 + 3*0.5 = 2.5
        // p75: idx 2.25 -> 3*0.75 + 4*0.25 = 3.25
        // p90: idx 2.7 -> 3*(1-frac) + 4*frac (frac = 2.7 - 2, not exactly 0.7)
        // p99: idx 2.97 -> 3*(1-frac) + 4*frac
        let mut scratch = Vec::new();
        let s = summarize(&[4.0, 1.0, 3.0, 2.0], &mut scratch);
        assert_eq!(s.count, 4);
        assert_eq!(s.sum, 10.0);
        assert_eq!(s.mean, 2.5);
        assert_eq!(s.var, 1.25);
        assert_eq!(s.std, 1.25f64.sqrt());
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 4.0);
        assert_eq!(s.p25, 1.75);
        assert_eq!(s.median, 2.5);
        assert_eq!(s.p75, 3.25);
        let idx90 = 3.0 * 90.0 / 100.0;
        let f90 = idx90 - 2.0;
        assert_eq!(s.p90, 3.0 * (1.0 - f90) + 4.0 * f90);
        assert!((s.p90 - 3.7).abs() < 1e-12);
        let idx99 = 3.0 * 99.0 / 100.0;
        let f99 = idx99 - 2.0;
        assert_eq!(s.p99, 3.0 * (1.0 - f99) + 4.0 * f99);
        assert!((s.p99 - 3.97).abs() < 1e-12);

        let b = summarize_basic(&[4.0, 1.0, 3.0, 2.0]);
        assert_eq!(
            b,
            Summary {
                median: 0.0,
                p25: 0.0,
                p75: 0.0,
                p90: 0.0,
                p99: 0.0,
                ..s
            }
        );
    }

    #[test]
    fn single_value() {
        let mut scratch = Vec::new();
        let s = summarize(&[7.5], &mut scratch);
        assert_eq!(
            s,
            Summary {
                count: 1,
                sum: 7.5,
                mean: 7.5,
                std: 0.0,
                var: 0.0,
                min: 7.5,
                max: 7.5,
                median: 7.5,
                p25: 7.5,
                p75: 7.5,
                p90: 7.5,
                p99: 7.5,
            }
        );
    }

    #[test]
    fn percentile_formula_small() {
        let s = [10.0, 20.0, 30.0];
        // idx = 2*p/100
        assert_eq!(percentile_sorted(&s, 0.0), 10.0);
        assert_eq!(percentile_sorted(&s, 25.0), 15.0);
        assert_eq!(percentile_sorted(&s, 50.0), 20.0);
        assert_eq!(percentile_sorted(&s, 100.0), 30.0);
        // the literal formula: frac 0 next to an infinity gives NaN, like the reference
        assert!(percentile_sorted(&[1.0, f64::INFINITY], 0.0).is_nan());
    }

    #[test]
    fn cv_and_std() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population var 4, std 2
        let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(mean(&v), 5.0);
        assert_eq!(pop_var(&v), 4.0);
        assert_eq!(pop_std(&v), 2.0);
        assert_eq!(coefficient_of_variation(&v), 0.4);
        assert_eq!(coefficient_of_variation(&[-1.0, 1.0]), 0.0);
        assert_eq!(coefficient_of_variation(&[0.0, 0.0]), 0.0);
        // negative mean: std / mean is negative
        assert_eq!(coefficient_of_variation(&[-2.0, -4.0]), 1.0 / -3.0);
        // a summary's cv is the same number, bit for bit
        let mut rng = crate::testutil::XorShift64(0x0DDB_1A5E_5BAD_5EED);
        let mut scratch = Vec::new();
        for n in [0usize, 1, 2, 7, 8, 9, 100, 129, 1000] {
            let v: Vec<f64> = (0..n)
                .map(|_| (rng.next_u64() % 1_000_000) as f64 / 7e3 - 20.0)
                .collect();
            let cv = summarize(&v, &mut scratch).cv();
            assert_eq!(
                cv.to_bits(),
                coefficient_of_variation(&v).to_bits(),
                "n = {n}"
            );
        }
        assert_eq!(summarize(&[0.0, 0.0], &mut scratch).cv(), 0.0);
        assert!(summarize(&[1.0, f64::NAN], &mut scratch).cv().is_nan());
    }

    #[test]
    fn negative_zero_sums_to_positive_zero() {
        // np.sum(np.array([-0.0] * k)) == +0.0 for every k
        for k in [1usize, 3, 8, 20, 200] {
            let v = vec![-0.0f64; k];
            let s = pairwise_sum(&v);
            assert_eq!(s.to_bits(), 0.0f64.to_bits(), "k={k}");
        }
    }

    #[test]
    fn pairwise_block_structure() {
        // With 9 elements the 8 accumulators are combined as a tree and the 9th is
        // added afterwards: ((1e16 + 1) + (1 + 1)) + ... differs from a left fold.
        let v = [1e16, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        // sequential: 1e16+1 = 1e16 (ties to even), three times, then +1 -> 1e16
        let naive = v.iter().fold(0.0, |a, &x| a + x);
        assert_eq!(naive, 1e16);
        // pairwise: ((1e16+1) + (1+1)) + ((0+0) + (0+0)) = 1e16 + 2, then + 1 is a tie
        // between 1e16+2 and 1e16+4 that rounds to even: 1e16 + 4.
        // numpy: np.sum(np.array([1e16,1,1,1,0,0,0,0,1.0])) == 1.0000000000000004e+16
        assert_eq!(pairwise_sum(&v), 1e16 + 4.0);
        // fewer than 8 elements: plain sequential loop
        let w = [1e16, 1.0, 1.0, 1.0];
        assert_eq!(pairwise_sum(&w), 1e16);
    }

    #[test]
    fn order_keys_order_like_total_cmp_and_give_back_the_bits() {
        let mut v = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::from_bits(1),
            -f64::from_bits(1),
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0001),
            1514.0,
            0.25,
        ];
        let mut rng = crate::testutil::XorShift64(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            v.push(f64::from_bits(rng.next_u64()));
        }
        for &a in &v {
            assert_eq!(from_order_key(order_key(a)).to_bits(), a.to_bits());
            for &b in v.iter().take(40) {
                assert_eq!(
                    order_key(a).cmp(&order_key(b)),
                    a.total_cmp(&b),
                    "{a:?} {b:?}"
                );
            }
        }
    }

    #[test]
    fn scratch_is_reused() {
        let mut scratch = Vec::with_capacity(16);
        let cap = scratch.capacity();
        for k in 1..=16 {
            let v: Vec<f64> = (0..k).rev().map(|i| i as f64).collect();
            let s = summarize(&v, &mut scratch);
            assert_eq!(s.min, 0.0);
            assert_eq!(s.max, (k - 1) as f64);
        }
        assert_eq!(scratch.capacity(), cap);
    }

    #[test]
    fn min_max_matches_sorting() {
        let v = [0.0, -0.0, 3.0, -7.0, f64::INFINITY, 2.0];
        let mut scratch = Vec::new();
        let s = summarize(&v, &mut scratch);
        let b = summarize_basic(&v);
        assert_eq!(s.min, -7.0);
        assert_eq!(s.max, f64::INFINITY);
        assert_eq!((b.min, b.max), (s.min, s.max));
        assert_eq!(s.sum, b.sum);
        assert_eq!(s.var.to_bits(), b.var.to_bits());
    }
}
