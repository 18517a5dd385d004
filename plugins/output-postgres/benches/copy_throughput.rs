//! COPY throughput of the PostgreSQL writer: rows per second into a local server.
//!
//! ```text
//! cargo bench -p jj-output-postgres --bench copy_throughput
//! ```
//!
//! Starts a throwaway server (`testing/pg_server.rs`, default settings: fsync on) unless
//! `JJ_PG_URL` names one, then writes `JJ_BENCH_ROWS` rows (default 200,000) through the
//! writer, in host-sized batches of 1000 rows, for two schemas: the dtype mix of the
//! JJ-CORE profile (151 columns: 56 int64, 73 float64, 12 bool, 10 string) and 60 mixed columns. `JJ_BENCH_BATCH` sets
//! `db_batch_size` (default 1000). Prints rows/s for the whole `open` .. `finish`, the
//! CPU time of the server process serving the writer and of this process, and the
//! client-side encoding time alone. On a shared machine the wall-clock rate depends on
//! the load; rows per server-CPU-second does not.
#![allow(clippy::print_stdout)]

#[path = "../testing/pg_server.rs"]
mod pg_server;

use jj_output_postgres::{
    encode::{Encoding, RowEncoder},
    PostgresFactory,
};
use jj_plugin_api::{DType, Options, Writer, WriterFactory};
use jj_writer_util::{OwnedColumn, OwnedColumns};
use std::time::Instant;

/// Rows per `write_batch` call.
const HOST_BATCH: usize = 1000;

/// A deterministic batch of `rows` rows with the given column dtypes.
fn batch(dtypes: &[(DType, usize)], rows: usize) -> Vec<OwnedColumn> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut cols = Vec::new();
    for &(dtype, n) in dtypes {
        for k in 0..n {
            let name = format!("{}_{k}", dtype.as_str().replace(['<', '>'], "_"));
            let mut c = OwnedColumn::empty(&name, dtype);
            for _ in 0..rows {
                let r = next();
                match dtype {
                    DType::Int64 => c.push_int(Some((r % 100_000) as i64)),
                    DType::Float64 => c.push_float(Some((r % 1_000_000) as f64 / 997.0)),
                    DType::Bool => c.push_bool(Some(r & 1 == 1)),
                    DType::String => c.push_str(Some(&format!(
                        "10.{}.{}.{}",
                        r % 256,
                        (r >> 8) % 256,
                        (r >> 16) % 256
                    ))),
                    DType::FloatList => {
                        let v: Vec<f64> = (0..(r % 8)).map(|i| i as f64 * 0.125).collect();
                        c.push_float_list(Some(&v))
                    }
                    DType::IntList => {
                        let v: Vec<i64> = (0..(r % 8) as i64).collect();
                        c.push_int_list(Some(&v))
                    }
                }
            }
            cols.push(c);
        }
    }
    cols
}

/// CPU seconds (user + system) used so far by process `pid` (Linux `/proc`).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ
}

fn run(
    url: &str,
    server: Option<&pg_server::PgServer>,
    label: &str,
    dtypes: &[(DType, usize)],
    total: usize,
    batch_size: &str,
) {
    let cols = batch(dtypes, HOST_BATCH);
    let schema = cols.schema();

    // Client-side encoding alone.
    let mut enc = RowEncoder::new(vec![Encoding::Native; cols.len()]);
    let mut buf = Vec::new();
    let t = Instant::now();
    let mut bytes = 0;
    for _ in 0..total / HOST_BATCH {
        buf.clear();
        cols.with_batch(|b| {
            for r in 0..HOST_BATCH {
                enc.encode_row(&mut buf, b.columns.as_slice(), r).unwrap();
            }
        });
        bytes += buf.len();
    }
    let encode_s = t.elapsed().as_secs_f64();

    let options = Options::parse(&format!(
        "db_table=bench_{label}\ndb_if_exists=replace\ndb_batch_size={batch_size}"
    ));
    let t = Instant::now();
    let mut w = PostgresFactory
        .open("postgres", url, &schema, &options)
        .unwrap_or_else(|e| panic!("open: {e}"));
    // The server process serving the writer, to measure its CPU time.
    let backend = server.and_then(|s| {
        s.try_psql(
            "postgres",
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'jj' LIMIT 1",
        )
        .ok()
    });
    let cpu = |pid: &Option<String>| pid.as_deref().and_then(cpu_seconds).unwrap_or(0.0);
    let (server_cpu0, client_cpu0) = (cpu(&backend), cpu(&Some("self".into())));
    for _ in 0..total / HOST_BATCH {
        cols.with_batch(|b| w.write_batch(b)).unwrap();
    }
    let (server_cpu, client_cpu) = (
        cpu(&backend) - server_cpu0,
        cpu(&Some("self".into())) - client_cpu0,
    );
    let summary = w.finish().unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(
        summary.rows_written as usize,
        total / HOST_BATCH * HOST_BATCH
    );
    assert_eq!(summary.rows_failed, 0);
    println!(
        "{label}: {} columns, {} rows in {secs:.2} s = {:.0} rows/s ({:.1} MB/s of COPY data); \
         CPU: server backend {server_cpu:.2} s, client {client_cpu:.2} s (encoding alone {:.2} s)",
        cols.len(),
        summary.rows_written,
        summary.rows_written as f64 / secs,
        bytes as f64 / 1e6 / secs,
        encode_s,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: keep it short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let total: usize = std::env::var("JJ_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 2_000 } else { 200_000 });
    let batch_size = std::env::var("JJ_BENCH_BATCH").unwrap_or_else(|_| "1000".into());
    let server = match std::env::var("JJ_PG_URL") {
        Ok(_) => None,
        Err(_) => {
            let Some(s) = pg_server::PgServer::start("bench", &[]) else {
                return;
            };
            s.create_db("bench");
            Some(s)
        }
    };
    let url = match &server {
        Some(s) => s.url("bench"),
        None => std::env::var("JJ_PG_URL").unwrap(),
    };
    let server = server.as_ref();
    // The dtype mix of `jj schema --profile JJ-CORE`.
    let core = [
        (DType::Int64, 56),
        (DType::Float64, 73),
        (DType::Bool, 12),
        (DType::String, 10),
    ];
    let mixed = [
        (DType::Int64, 24),
        (DType::Float64, 28),
        (DType::Bool, 4),
        (DType::String, 4),
    ];
    run(&url, server, "core", &core, total, &batch_size);
    run(&url, server, "mixed60", &mixed, total, &batch_size);
    if !quick {
        let lists = [
            (DType::Int64, 20),
            (DType::Float64, 30),
            (DType::String, 4),
            (DType::FloatList, 3),
            (DType::IntList, 3),
        ];
        run(&url, server, "lists60", &lists, total, &batch_size);
    }
}
