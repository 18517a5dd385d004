//! Issue 4's "wall time on each mutated capture is at most 3× that of its clean seed",
//! measured (not asserted in a test): every seed of the mutation test (`tests/mutation.rs`,
//! included here), then `JJ_BENCH_MUTANTS` (default 40) of its mutants, each extracted
//! alone by the release `jj` with every plugin (`jj -q extract FILE -o OUT.csv --threads
//! 1`). A seed's time is the median of 5 runs; a mutant's is one run, repeated up to 3
//! times when it is more than 1.5× its seed (to tell load spikes from slow inputs).
//! Prints the worst ratio per seed and overall, and PASS/MISS against 3×.
//!
//! ```text
//! cargo build --release --workspace && cargo bench -p jj-tests --bench mutants
//! ```
#![allow(clippy::print_stdout)]

#[allow(dead_code, unused_imports)]
#[path = "../tests/mutation.rs"]
mod mutation;

use jj_tests::{jj_path, scratch};
use std::{
    path::Path,
    process::{Command, Stdio},
    time::Instant,
};

fn time_once(input: &Path, out: &Path) -> f64 {
    let t = Instant::now();
    let _ = Command::new(jj_path())
        .args(["-q", "extract"])
        .arg(input)
        .arg("-o")
        .arg(out)
        .args(["--threads", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run jj");
    t.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if !jj_path().exists() {
        eprintln!("build first: cargo build --release --workspace");
        std::process::exit(2);
    }
    let per_seed: usize = std::env::var("JJ_BENCH_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let dir = scratch("bench-mutants");
    let out = dir.join("out.csv");
    let mut rng = mutation::Rng(0x6a6a_5eed_0bad_cafe);
    let mut worst = (0.0f64, String::new());
    let mut all = Vec::new();
    println!(
        "{:<36} {:>9} {:>8} {:>10} {:>10}",
        "seed", "bytes", "seed ms", "mutants", "worst ×"
    );
    for seed in mutation::seeds() {
        let seed_path = dir.join(format!("seed.{}", seed.ext));
        std::fs::write(&seed_path, &seed.bytes).unwrap();
        let base = median((0..5).map(|_| time_once(&seed_path, &out)).collect());
        let mut seed_worst = (0.0f64, String::new());
        let mutants = mutation::mutants_of(&seed, per_seed, &mut rng);
        for m in &mutants {
            let p = dir.join(format!("mutant.{}", seed.ext));
            std::fs::write(&p, &m.bytes).unwrap();
            let mut t = time_once(&p, &out);
            for _ in 0..2 {
                if t <= 1.5 * base {
                    break;
                }
                t = t.min(time_once(&p, &out));
            }
            let ratio = t / base;
            all.push(ratio);
            if ratio > seed_worst.0 {
                seed_worst = (ratio, m.name.clone());
            }
        }
        println!(
            "{:<36} {:>9} {:>8.1} {:>10} {:>9.2}× ({})",
            seed.name,
            seed.bytes.len(),
            base * 1e3,
            mutants.len(),
            seed_worst.0,
            seed_worst.1
        );
        if seed_worst.0 > worst.0 {
            worst = (seed_worst.0, format!("{}: {}", seed.name, seed_worst.1));
        }
    }
    let n = all.len();
    all.sort_by(f64::total_cmp);
    let p99 = all[(n * 99 / 100).min(n - 1)];
    println!(
        "{n} mutants: worst {:.2}× its seed ({}), p99 {:.2}×  (target <= 3×)  {}",
        worst.0,
        worst.1,
        p99,
        if worst.0 <= 3.0 { "PASS" } else { "MISS" }
    );
}
