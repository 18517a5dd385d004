//! The PostgreSQL writer end to end: `jj extract ... -o postgresql://...` into a real
//! PostgreSQL server started for each test and removed afterwards (also when a test
//! fails). The server harness is `plugins/output-postgres/testing/pg_server.rs`
//! (shared with that crate's own tests and benchmark): it needs Debian's
//! `postgresql-15` (or any `/usr/lib/postgresql/*/bin`, or `JJ_PG_BINDIR`) and, as root,
//! the user `postgres`. Without them the tests print a loud SKIPPED, and fail under
//! `CI=true`.
use jj_tests::*;
use std::{
    path::Path,
    process::{Command, Output},
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::{Duration, Instant},
};

#[path = "../../plugins/output-postgres/testing/pg_server.rs"]
mod pg_server;
use pg_server::PgServer;

const DB: &str = "jjtest";

fn server(tag: &str) -> Option<PgServer> {
    let s = PgServer::start(tag, &[])?;
    s.create_db(DB);
    Some(s)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The number of data rows jj writes for `pcap` as CSV, and the CSV text.
fn csv_of(pcap: &Path, dir: &Path, extra: &[&str]) -> (usize, String) {
    let out = dir.join("rows.csv");
    let mut args = vec!["extract", path(pcap), "-f", "csv", "-o", path(&out)];
    args.extend_from_slice(extra);
    let o = jj(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    (text.lines().count() - 1, text)
}

fn count(s: &PgServer, table: &str) -> usize {
    s.psql(DB, &format!("SELECT count(*) FROM {table}"))
        .parse()
        .unwrap()
}

fn extract_pg(s: &PgServer, pcap: &Path, extra: &[&str]) -> Output {
    let url = s.url(DB);
    let mut args = vec!["extract", path(pcap), "-o", url.as_str()];
    args.extend_from_slice(extra);
    jj(&args)
}

/// `rows_failed=N` from the writer's closing line (0 when it printed none).
fn rows_failed(err: &str) -> usize {
    err.split("rows_failed=")
        .nth(1)
        .map(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .unwrap_or(0)
}

#[test]
fn extract_into_postgres_writes_every_row_with_typed_columns() {
    let Some(s) = server("e2e-types") else { return };
    let dir = scratch("postgres-types");
    let pcap = generated_capture(3000);
    let (rows, csv) = csv_of(&pcap, &dir, &[]);
    assert!(rows > 1000, "{rows}");
    let url = s.url(DB);
    let o = jj(&["extract", path(&pcap), "-f", "postgres", "-o", &url]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(&s, "jj_features"), rows);

    // Column types follow the runtime schema.
    let schema = jj(&["schema"]);
    assert!(schema.status.success(), "{}", stderr(&schema));
    let schema: serde_json::Value = serde_json::from_str(&stdout(&schema)).unwrap();
    let features = schema["features"].as_object().expect("features by id");
    let types = s.psql(
        DB,
        "SELECT column_name || '=' || data_type || ':' || udt_name FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name = 'jj_features' ORDER BY ordinal_position",
    );
    let types: Vec<&str> = types.lines().collect();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(types.len(), header.len());
    let mut seen = std::collections::BTreeSet::new();
    for (t, name) in types.iter().zip(&header) {
        let (col, ty) = t.split_once('=').unwrap();
        assert_eq!(col, *name, "column order");
        let f = features
            .iter()
            .find(|(id, _)| id.split_once('.').map(|(_, n)| n) == Some(*name))
            .map(|(_, f)| f)
            .unwrap_or_else(|| panic!("{name} not in jj schema"));
        let want = match f["dtype"].as_str().unwrap() {
            "int64" => "bigint:int8",
            "float64" => "double precision:float8",
            "bool" => "boolean:bool",
            "string" => "text:text",
            "list<float64>" => "ARRAY:_float8",
            "list<int64>" => "ARRAY:_int8",
            other => panic!("dtype {other}"),
        };
        assert_eq!(ty, want, "{name}");
        seen.insert(ty.to_string());
    }
    for t in [
        "bigint:int8",
        "double precision:float8",
        "boolean:bool",
        "text:text",
    ] {
        assert!(seen.contains(t), "no {t} column in {seen:?}");
    }

    // Spot-check values against the CSV of the same run.
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (pk, dur, ip) = (col("total_packets"), col("duration"), col("src_ip"));
    let mut packets = 0i64;
    let mut ips = std::collections::BTreeSet::new();
    let mut max_duration = 0f64;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        packets += f[pk].parse::<i64>().unwrap();
        ips.insert(f[ip].to_string());
        max_duration = max_duration.max(f[dur].parse().unwrap());
    }
    assert_eq!(
        s.psql(DB, "SELECT sum(total_packets) FROM jj_features"),
        packets.to_string()
    );
    assert_eq!(
        s.psql(DB, "SELECT count(DISTINCT src_ip) FROM jj_features"),
        ips.len().to_string()
    );
    let pg_max: f64 = s
        .psql(DB, "SELECT max(duration) FROM jj_features")
        .parse()
        .unwrap();
    assert_eq!(pg_max, max_duration, "floats keep every bit");

    // Without -f the URL picks the writer; lists become arrays.
    let o = extract_pg(
        &s,
        &pcap,
        &[
            "--db-table",
            "seq",
            "--include-sequences",
            "--max-sequence-length",
            "5",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(&s, "seq"), rows);
    assert_eq!(
        s.psql(
            DB,
            "SELECT data_type || ':' || udt_name FROM information_schema.columns \
             WHERE table_name = 'seq' AND column_name = 'pkt_len_sequence'"
        ),
        "ARRAY:_int8"
    );
    assert_eq!(
        s.psql(
            DB,
            "SELECT max(cardinality(pkt_len_sequence)) <= 5 AND min(cardinality(pkt_len_sequence)) >= 1 FROM seq"
        ),
        "t"
    );
}

#[test]
fn append_replace_and_fail() {
    let Some(s) = server("e2e-modes") else { return };
    let dir = scratch("postgres-modes");
    let pcap = generated_capture(300);
    let (rows, _) = csv_of(&pcap, &dir, &[]);
    let run = |extra: &[&str]| extract_pg(&s, &pcap, extra);

    let o = run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["--db-if-exists", "append"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(&s, "jj_features"), 2 * rows, "append adds the rows");

    // Append with more columns adds them; the old rows have NULL there.
    let o = run(&["--flow-id"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(&s, "jj_features"), 3 * rows);
    assert_eq!(
        s.psql(DB, "SELECT count(flow_id) FROM jj_features"),
        rows.to_string()
    );

    let o = run(&["--db-if-exists", "replace", "--profile", "JJ-CORE"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(&s, "jj_features"), rows, "replace starts over");
    assert_eq!(
        s.psql(
            DB,
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'jj_features' AND column_name = 'flow_id'"
        ),
        "0",
        "the replaced table has the new schema"
    );

    let o = run(&["--db-if-exists", "fail"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("already exists") && err.contains("db_if_exists=fail"),
        "{err}"
    );
    assert_eq!(
        count(&s, "jj_features"),
        rows,
        "fail leaves the table alone"
    );
    let o = run(&["--db-if-exists", "fail", "--db-table", "fresh"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(&s, "fresh"), rows);

    let o = run(&["--db-if-exists", "sometimes"]);
    assert!(!o.status.success());
    // No staging table is left behind by any of these runs.
    assert_eq!(
        s.psql(
            DB,
            "SELECT count(*) FROM pg_class WHERE relname LIKE '%jj-partial%'"
        ),
        "0"
    );
}

#[test]
fn schema_qualified_table_from_the_config_file() {
    let Some(s) = server("e2e-schema") else {
        return;
    };
    let dir = scratch("postgres-schema");
    let pcap = generated_capture(300);
    let (rows, _) = csv_of(&pcap, &dir, &[]);
    let cfg = dir.join("cfg.toml");
    std::fs::write(
        &cfg,
        "[plugins.postgres]\ndb_table = \"analytics.flows\"\ndb_batch_size = 100\n",
    )
    .unwrap();
    let o = extract_pg(&s, &pcap, &["-c", path(&cfg)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(&s, "analytics.flows"), rows);
    assert_eq!(
        s.psql(DB, "SELECT to_regclass('public.jj_features') IS NULL"),
        "t"
    );
    // Quoted names keep their case; a bad name is refused naming the option.
    std::fs::write(&cfg, "[plugins.postgres]\ndb_table = \"Analytics.Flows\"\n").unwrap();
    let o = extract_pg(&s, &pcap, &["-c", path(&cfg)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(&s, "\"Analytics\".\"Flows\""), rows);
    std::fs::write(&cfg, "[plugins.postgres]\ndb_table = \"a.b.c\"\n").unwrap();
    let o = extract_pg(&s, &pcap, &["-c", path(&cfg)]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("db_table=a.b.c"), "{}", stderr(&o));
}

/// Runs `jj` in the background while `during` acts on the server; returns jj's output.
fn run_while(args: &[&str], during: impl FnOnce(&AtomicBool)) -> Output {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let jj = scope.spawn(|| {
            let o = Command::new(jj_path())
                .args(args)
                .env_remove("JJ_PLUGIN_PATH")
                .output()
                .expect("run jj");
            done.store(true, Ordering::SeqCst);
            o
        });
        during(&done);
        jj.join().unwrap()
    })
}

fn wait_for_rows(s: &PgServer, done: &AtomicBool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done.load(Ordering::SeqCst) && Instant::now() < deadline {
        let n = s
            .try_psql(DB, "SELECT count(*) FROM jj_features")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if n > 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn terminate_jj(s: &PgServer) -> u64 {
    s.try_psql(
        "postgres",
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'jj'",
    )
    .ok()
    .and_then(|v| v.parse().ok())
    .unwrap_or(0)
}

#[test]
fn lost_connections_mid_run_lose_no_rows_and_an_outage_is_counted() {
    let Some(s) = server("e2e-outage") else {
        return;
    };
    let dir = scratch("postgres-outage");
    // The capture the other tests use; one thread and tiny batches make the run a
    // thousand COPYs long.
    let pcap = generated_capture(3000);
    let common = ["--threads", "1", "--db-batch-size", "3"];
    let (rows, _) = csv_of(&pcap, &dir, &common[..2]);
    let url = s.url(DB);
    let mut args = vec!["extract", path(&pcap), "-o", url.as_str()];
    args.extend_from_slice(&common);

    // Short outages: backends terminated while jj writes; every batch gets through.
    let kills = AtomicU64::new(0);
    let o = run_while(&args, |done| {
        wait_for_rows(&s, done);
        while !done.load(Ordering::SeqCst) && kills.load(Ordering::SeqCst) < 5 {
            kills.fetch_add(terminate_jj(&s), Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(150));
        }
    });
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let kills = kills.into_inner();
    assert!(
        kills >= 1,
        "the run ended before a connection could be killed:\n{err}"
    );
    assert_eq!(rows_failed(&err), 0, "{err}");
    assert!(err.contains("reconnect"), "{err}");
    assert_eq!(count(&s, "jj_features"), rows, "{err}");
    eprintln!("{kills} connections killed mid-run; no row lost");

    // A longer outage (the database refuses connections for longer than 1 retry):
    // the batches that could not be written are counted, the rest are in the table.
    s.psql(DB, "DROP TABLE jj_features");
    let cfg = dir.join("retries.toml");
    std::fs::write(&cfg, "[plugins.postgres]\ndb_retries = 1\n").unwrap();
    let mut args = args.clone();
    args.extend_from_slice(&["-c", path(&cfg)]);
    let o = run_while(&args, |done| {
        wait_for_rows(&s, done);
        s.psql(
            "postgres",
            &format!("ALTER DATABASE {DB} ALLOW_CONNECTIONS false"),
        );
        terminate_jj(&s);
        std::thread::sleep(Duration::from_millis(1500));
        s.psql(
            "postgres",
            &format!("ALTER DATABASE {DB} ALLOW_CONNECTIONS true"),
        );
    });
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let failed = rows_failed(&err);
    let written = count(&s, "jj_features");
    assert!(failed > 0, "the outage cost no rows:\n{err}");
    assert_eq!(written + failed, rows, "{err}");
    assert!(err.contains("could not be written"), "{err}");
    eprintln!("outage: {written} rows written, {failed} counted as failed, of {rows}");
}
