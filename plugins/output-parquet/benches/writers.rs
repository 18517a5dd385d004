//! Writer throughput: 1,000,000 rows × 60 columns of mixed types through the CSV writer
//! (jj-output-text), the Parquet writer (snappy, zstd, uncompressed) and the SQLite
//! writer, in host-sized batches of 1024 rows.
//!
//! ```text
//! cargo bench -p jj-output-parquet --bench writers
//! JJ_BENCH_ROWS=100000 JJ_BENCH_REPS=1 JJ_BENCH_DIR=/tmp cargo bench -p jj-output-parquet --bench writers
//! ```
//!
//! The batches are generated before any timing; each timing covers `open`, every
//! `write_batch` and `finish` (fsync + rename, integrity check for SQLite). Reported: the
//! best and median wall time over `JJ_BENCH_REPS` runs (default 3; SQLite runs once
//! unless `JJ_BENCH_SQLITE_REPS` says otherwise), rows/s of the best run, output size,
//! and Parquet's time relative to CSV's.

use jj_output_parquet::ParquetFactory;
use jj_output_sqlite::SqliteFactory;
use jj_output_text::CsvFactory;
use jj_plugin_api::{DType, Options, Schema, Writer, WriterFactory};
use jj_writer_util::{OwnedColumn, OwnedColumns};
use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

const BATCH_ROWS: usize = 1024;

/// splitmix64: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Null with probability `pct` percent.
    fn null(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

/// The 60 columns: 30 float64, 18 int64, 4 bool, 4 string, 2 float lists, 2 int lists.
fn empty_columns() -> Vec<OwnedColumn> {
    let mut cols = Vec::new();
    for i in 0..30 {
        cols.push(OwnedColumn::empty(&format!("f{i:02}"), DType::Float64));
    }
    for i in 0..18 {
        cols.push(OwnedColumn::empty(&format!("i{i:02}"), DType::Int64));
    }
    for i in 0..4 {
        cols.push(OwnedColumn::empty(&format!("b{i}"), DType::Bool));
    }
    for i in 0..4 {
        cols.push(OwnedColumn::empty(&format!("s{i}"), DType::String));
    }
    for i in 0..2 {
        cols.push(OwnedColumn::empty(&format!("fl{i}"), DType::FloatList));
    }
    for i in 0..2 {
        cols.push(OwnedColumn::empty(&format!("il{i}"), DType::IntList));
    }
    cols
}

/// One batch of flow-feature-like values.
fn batch(rng: &mut Rng, rows: usize, first_row: u64) -> Vec<OwnedColumn> {
    let mut cols = empty_columns();
    let mut list = Vec::new();
    for r in 0..rows {
        let row = first_row + r as u64;
        for (i, c) in cols.iter_mut().enumerate() {
            match c.dtype {
                DType::Float64 => {
                    let v = match i % 6 {
                        // full-precision statistics (means, std devs, rates)
                        0..=2 => rng.unit() * 1500.0,
                        // timestamps in seconds with microseconds
                        3 => {
                            1_704_067_200.0
                                + (row as f64) * 0.001
                                + rng.below(1_000_000) as f64 * 1e-6
                        }
                        // small counts stored as floats, ratios
                        4 => rng.below(64) as f64,
                        _ => (rng.below(1000) as f64) / 1000.0,
                    };
                    c.push_float((!rng.null(3)).then_some(v));
                }
                DType::Int64 => {
                    let v = match i % 4 {
                        0 => rng.below(65536) as i64,           // ports
                        1 => rng.below(200) as i64,             // packet counts
                        2 => rng.below(10_000_000) as i64,      // byte counts
                        _ => [6, 17, 1][rng.below(3) as usize], // protocol
                    };
                    c.push_int((!rng.null(2)).then_some(v));
                }
                DType::Bool => c.push_bool(Some(rng.below(2) == 1)),
                DType::String => {
                    let s = match i % 4 {
                        0 => format!(
                            "10.{}.{}.{}",
                            rng.below(256),
                            rng.below(256),
                            rng.below(256)
                        ),
                        1 => format!("host{}.example.com", rng.below(5000)),
                        2 => ["TCP", "UDP", "ICMP"][rng.below(3) as usize].to_string(),
                        _ => String::new(),
                    };
                    c.push_str((!rng.null(10)).then_some(s.as_str()));
                }
                DType::FloatList => {
                    list.clear();
                    for _ in 0..rng.below(21) {
                        list.push(rng.unit() * 0.5);
                    }
                    let null = rng.null(5);
                    c.push_float_list((!null).then_some(list.as_slice()));
                }
                DType::IntList => {
                    let n = rng.below(21);
                    let il: Vec<i64> = (0..n).map(|_| 40 + rng.below(1460) as i64).collect();
                    c.push_int_list((!rng.null(5)).then_some(il.as_slice()));
                }
            }
        }
    }
    cols
}

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

struct Result {
    name: String,
    best: Duration,
    median: Duration,
    /// CPU time of the run with the best wall time (Linux; zero elsewhere).
    cpu: Duration,
    bytes: u64,
}

/// CPU time of this thread so far (the writers run on it), from
/// `/proc/thread-self/schedstat` (Linux); zero where unavailable. Unlike wall time it
/// does not grow when other processes compete for the cores.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

fn size_of(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The input of every run.
struct Data {
    schema: Schema,
    batches: Vec<Vec<OwnedColumn>>,
    dir: PathBuf,
}

/// Runs one writer over all batches `reps` times, writing `dir/file`.
fn measure<F: WriterFactory>(
    data: &Data,
    name: &str,
    factory: &F,
    format: &str,
    options: &str,
    file: &str,
    reps: usize,
) -> Result {
    let (schema, batches) = (&data.schema, &data.batches);
    let path = &data.dir.join(file);
    let options = Options::parse(options);
    let mut times: Vec<(Duration, Duration)> = Vec::new();
    let mut bytes = 0;
    for _ in 0..reps {
        let _ = std::fs::remove_file(path);
        let start = Instant::now();
        let cpu0 = thread_cpu();
        let mut w = factory
            .open(format, path.to_str().unwrap(), schema, &options)
            .unwrap();
        for b in batches {
            b.with_batch(|rb| w.write_batch(rb)).unwrap();
        }
        let s = w.finish().unwrap();
        times.push((start.elapsed(), thread_cpu() - cpu0));
        drop(w);
        bytes = size_of(path);
        assert_eq!(s.rows_failed, 0);
        let _ = std::fs::remove_file(path);
    }
    times.sort();
    let r = Result {
        name: name.to_string(),
        best: times[0].0,
        median: times[times.len() / 2].0,
        cpu: times[0].1,
        bytes,
    };
    let rows: usize = batches.iter().map(|b| b[0].rows()).sum();
    println!(
        "{:<16} best {:>7.2} s  median {:>7.2} s  cpu {:>7.2} s  {:>10.0} rows/s  {:>8.1} MB",
        r.name,
        r.best.as_secs_f64(),
        r.median.as_secs_f64(),
        r.cpu.as_secs_f64(),
        rows as f64 / r.best.as_secs_f64(),
        r.bytes as f64 / 1e6
    );
    r
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: keep it tiny then.
    let quick = std::env::args().all(|a| a != "--bench");
    let rows = env_usize("JJ_BENCH_ROWS", if quick { 4096 } else { 1_000_000 });
    let reps = env_usize("JJ_BENCH_REPS", if quick { 1 } else { 3 }).max(1);
    let sqlite_reps = env_usize("JJ_BENCH_SQLITE_REPS", 1).max(1);
    let dir: PathBuf = std::env::var_os("JJ_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("jj-writers-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let t = Instant::now();
    let mut rng = Rng(0x5eed);
    let mut batches = Vec::new();
    let mut done = 0;
    while done < rows {
        let n = BATCH_ROWS.min(rows - done);
        batches.push(batch(&mut rng, n, done as u64));
        done += n;
    }
    let schema = batches[0].schema();
    println!(
        "{rows} rows x {} columns in {} batches of {BATCH_ROWS} (generated in {:.1} s); output in {}",
        schema.columns.len(),
        batches.len(),
        t.elapsed().as_secs_f64(),
        dir.display()
    );

    let data = Data {
        schema,
        batches,
        dir: dir.clone(),
    };
    let csv = measure(&data, "csv", &CsvFactory, "csv", "", "b.csv", reps);
    let pq = measure(
        &data,
        "parquet snappy",
        &ParquetFactory,
        "parquet",
        "",
        "s.parquet",
        reps,
    );
    let zstd = measure(
        &data,
        "parquet zstd",
        &ParquetFactory,
        "parquet",
        "parquet_compression=zstd",
        "z.parquet",
        reps,
    );
    let none = measure(
        &data,
        "parquet none",
        &ParquetFactory,
        "parquet",
        "parquet_compression=none",
        "n.parquet",
        reps,
    );
    let sqlite = measure(
        &data,
        "sqlite",
        &SqliteFactory,
        "sqlite",
        "",
        "b.db",
        sqlite_reps,
    );
    for r in [&pq, &zstd, &none, &sqlite] {
        println!(
            "{:<16} / csv: {:.2}x wall time (best), {:.2}x (median), {:.2}x cpu, {:.2}x size",
            r.name,
            r.best.as_secs_f64() / csv.best.as_secs_f64(),
            r.median.as_secs_f64() / csv.median.as_secs_f64(),
            r.cpu.as_secs_f64() / csv.cpu.as_secs_f64().max(1e-9),
            r.bytes as f64 / csv.bytes.max(1) as f64
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
