//! Unit tests, and tests against a real PostgreSQL server started for each test
//! (`testing/pg_server.rs`; skipped loudly when no server binaries are installed).

use crate::{
    conn::{classify_io, retry_delay, Failure},
    encode::{encoding_for, Encoding, RowEncoder, HEADER, TRAILER},
    options::literal,
    *,
};
use jj_plugin_api::{DType, Options, Writer};
use jj_writer_util::{OwnedColumn, OwnedColumns};
use std::time::{Duration, Instant};

#[path = "../testing/pg_server.rs"]
mod pg_server;
use pg_server::PgServer;

// ---------------------------------------------------------------- without a server

#[test]
fn options_parse_and_validate() {
    let o = PgOptions::parse(&Options::new()).unwrap();
    assert_eq!(o, PgOptions::default());
    assert_eq!(o.table.table, "jj_features");
    assert_eq!(o.batch_size, 1000);
    let o = PgOptions::parse(&Options::parse(
        "db_table=analytics.Flows\ndb_if_exists=REPLACE\ndb_batch_size=10_000\ndb_retries=2\nother=x",
    ))
    .unwrap();
    assert_eq!(o.table.schema.as_deref(), Some("analytics"));
    assert_eq!(o.table.table, "Flows");
    assert_eq!(o.if_exists, IfExists::Replace);
    assert_eq!(o.batch_size, 10_000);
    assert_eq!(o.retries, 2);
    for bad in [
        "db_table=a.b.c",
        "db_table=.x",
        "db_table=x.",
        "db_if_exists=truncate",
        "db_batch_size=0",
        "db_batch_size=many",
        "db_retries=100",
    ] {
        let e = PgOptions::parse(&Options::parse(bad)).unwrap_err();
        assert_eq!(e.kind, jj_plugin_api::ErrorKind::Config, "{bad}");
        let key = bad.split('=').next().unwrap();
        assert!(e.message.contains(key), "{bad}: {e}");
    }
    let long = "x".repeat(64);
    assert!(TableName::parse(&long).is_err());
    assert!(TableName::parse(&"x".repeat(63)).is_ok());
    assert!(check_identifier("column", "a\tb").is_err());
    assert!(check_identifier("column", "wéird \"name\"").is_ok());
    assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    assert_eq!(literal("it's"), "'it''s'");
}

#[test]
fn targets_are_checked_and_passwords_hidden() {
    assert_eq!(
        redact("postgresql://u:secret@h:5/db?password=x&sslmode=disable"),
        "postgresql://u:***@h:5/db?password=***&sslmode=disable"
    );
    assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    let t = Target::parse("postgresql://u:pw@127.0.0.1:5433/flows").unwrap();
    assert_eq!(t.config.get_user(), Some("u"));
    assert_eq!(t.config.get_dbname(), Some("flows"));
    assert_eq!(t.config.get_ports(), &[5433]);
    assert_eq!(t.config.get_application_name(), Some("jj"));
    assert!(!format!("{t:?}").contains("pw"));
    let t = Target::parse("postgres://u@h/db?application_name=mine").unwrap();
    assert_eq!(t.config.get_application_name(), Some("mine"));
    for bad in [
        "flows.db",
        "mysql://u@h/db",
        "postgresql://u@h/db?nonsense=1",
        "postgresql://u@h/db?sslmode=require",
    ] {
        let e = Target::parse(bad).unwrap_err();
        assert!(
            e.message.contains(bad.split('?').next().unwrap()),
            "{bad}: {e}"
        );
    }
    let e = Target::parse("postgresql://u:hunter2@h/db?sslmode=require").unwrap_err();
    assert!(!e.message.contains("hunter2"), "{e}");
}

#[test]
fn retry_delays_double_up_to_four_seconds() {
    let d: Vec<u64> = (0..7).map(|r| retry_delay(r).as_millis() as u64).collect();
    assert_eq!(d, [250, 500, 1000, 2000, 4000, 4000, 4000]);
    let total: Duration = (0..DEFAULT_RETRIES).map(retry_delay).sum();
    assert!(total <= Duration::from_secs(10), "{total:?}");
}

#[test]
fn io_errors_of_the_copy_writer_count_as_connection_failures() {
    let e = std::io::Error::other("broken pipe");
    assert!(matches!(classify_io(&e), Failure::Connection(_)));
}

#[test]
fn binary_rows_have_the_documented_layout() {
    assert_eq!(HEADER.len(), 19);
    assert_eq!(&HEADER[..11], b"PGCOPY\n\xff\r\n\0");
    assert_eq!(TRAILER, &[0xff, 0xff]);
    let cols = [
        OwnedColumn::ints("i", &[Some(-2), None]),
        OwnedColumn::floats("f", &[Some(1.5), Some(f64::NAN)]),
        OwnedColumn::bools("b", &[Some(true), Some(false)]),
        OwnedColumn::strs("s", &[Some("a\tb\0"), Some("")]),
        OwnedColumn::float_lists("fl", &[Some(&[0.5]), Some(&[])]),
        OwnedColumn::int_lists("il", &[None, Some(&[7])]),
    ];
    let mut enc = RowEncoder::new(vec![Encoding::Native; cols.len()]);
    let mut out = Vec::new();
    cols.with_batch(|b| {
        let c = b.columns.as_slice();
        enc.encode_row(&mut out, c, 0).unwrap();
    });
    let mut want = Vec::new();
    want.extend_from_slice(&6i16.to_be_bytes());
    want.extend_from_slice(&8i32.to_be_bytes());
    want.extend_from_slice(&(-2i64).to_be_bytes());
    want.extend_from_slice(&8i32.to_be_bytes());
    want.extend_from_slice(&1.5f64.to_bits().to_be_bytes());
    want.extend_from_slice(&1i32.to_be_bytes());
    want.push(1);
    let s = "a\tb\u{fffd}".as_bytes();
    want.extend_from_slice(&(s.len() as i32).to_be_bytes());
    want.extend_from_slice(s);
    // float8[] {0.5}: ndim 1, no nulls, oid 701, dim 1 lbound 1, element
    want.extend_from_slice(&32i32.to_be_bytes());
    for v in [1i32, 0, 701, 1, 1, 8] {
        want.extend_from_slice(&v.to_be_bytes());
    }
    want.extend_from_slice(&0.5f64.to_bits().to_be_bytes());
    want.extend_from_slice(&(-1i32).to_be_bytes());
    assert_eq!(out, want);
    assert_eq!(enc.nul_strings, 1);

    // Row 1: an empty array has no dimensions; text encoding for text columns.
    let mut enc = RowEncoder::new(vec![
        Encoding::Text,
        Encoding::Text,
        Encoding::Text,
        Encoding::Native,
        Encoding::Native,
        Encoding::Text,
    ]);
    let mut out = Vec::new();
    cols.with_batch(|b| enc.encode_row(&mut out, b.columns.as_slice(), 1).unwrap());
    let mut want = Vec::new();
    want.extend_from_slice(&6i16.to_be_bytes());
    want.extend_from_slice(&(-1i32).to_be_bytes());
    for text in [&b"nan"[..], b"False", b""] {
        want.extend_from_slice(&(text.len() as i32).to_be_bytes());
        want.extend_from_slice(text);
    }
    want.extend_from_slice(&12i32.to_be_bytes());
    for v in [0i32, 0, 701] {
        want.extend_from_slice(&v.to_be_bytes());
    }
    want.extend_from_slice(&3i32.to_be_bytes());
    want.extend_from_slice(b"[7]");
    assert_eq!(out, want);
}

#[test]
fn existing_column_types_map_to_encodings() {
    use crate::encode::oid;
    assert_eq!(
        encoding_for(DType::Int64, oid::INT8),
        Some(Encoding::Native)
    );
    assert_eq!(encoding_for(DType::Int64, oid::TEXT), Some(Encoding::Text));
    assert_eq!(
        encoding_for(DType::FloatList, oid::FLOAT8_ARRAY),
        Some(Encoding::Native)
    );
    assert_eq!(
        encoding_for(DType::FloatList, oid::VARCHAR),
        Some(Encoding::Text)
    );
    assert_eq!(encoding_for(DType::Int64, 23 /* int4 */), None);
    assert_eq!(encoding_for(DType::Float64, oid::INT8), None);
}

// ---------------------------------------------------------------- with a server

const DB: &str = "t";

fn server(tag: &str) -> Option<PgServer> {
    let s = PgServer::start(tag, &[])?;
    s.create_db(DB);
    Some(s)
}

fn open(
    s: &PgServer,
    cols: &[OwnedColumn],
    options: &str,
) -> jj_plugin_api::PluginResult<PgWriter> {
    use jj_plugin_api::WriterFactory;
    PostgresFactory.open(
        "postgres",
        &s.url(DB),
        &cols.schema(),
        &Options::parse(options),
    )
}

fn write(w: &mut PgWriter, cols: &[OwnedColumn]) {
    cols.with_batch(|b| w.write_batch(b)).unwrap();
}

fn count(s: &PgServer, table: &str) -> u64 {
    s.psql(DB, &format!("SELECT count(*) FROM {table}"))
        .parse()
        .unwrap()
}

fn ids(n: i64) -> OwnedColumn {
    OwnedColumn::ints("id", &(0..n).map(Some).collect::<Vec<_>>())
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn values_round_trip_exactly() {
    let Some(s) = server("roundtrip") else { return };
    let strings = [
        Some("tab\there"),
        Some("line\nbreak\r\n"),
        Some("back\\slash \\N \\."),
        Some(""),
        None,
        Some("quote\"' unicode é 日本 🦀"),
        Some("nul\0char"),
    ];
    let n = strings.len();
    let cols = [
        ids(n as i64),
        OwnedColumn::ints(
            "i",
            &[
                Some(i64::MIN),
                Some(i64::MAX),
                None,
                Some(0),
                Some(-1),
                Some(42),
                Some(7),
            ],
        ),
        OwnedColumn::floats(
            "f",
            &[
                Some(0.1),
                Some(f64::NAN),
                Some(f64::INFINITY),
                Some(-0.0),
                None,
                Some(f64::NEG_INFINITY),
                Some(1e-300),
            ],
        ),
        OwnedColumn::bools(
            "b",
            &[
                Some(true),
                Some(false),
                None,
                Some(true),
                Some(false),
                Some(true),
                None,
            ],
        ),
        OwnedColumn::strs("s", &strings),
        OwnedColumn::float_lists(
            "fl",
            &[
                Some(&[0.01, 0.02][..]),
                Some(&[]),
                None,
                Some(&[f64::NAN, f64::INFINITY]),
                Some(&[1.0]),
                Some(&[]),
                Some(&[2.5]),
            ],
        ),
        OwnedColumn::int_lists(
            "il",
            &[
                Some(&[60, 1500][..]),
                Some(&[]),
                None,
                Some(&[-1]),
                Some(&[0]),
                None,
                Some(&[i64::MAX]),
            ],
        ),
        OwnedColumn::strs("Mixed Case", &[Some("x"); 7]),
    ];
    let mut w = open(&s, &cols, "db_batch_size=3").unwrap();
    assert_eq!(w.table_name(), "\"public\".\"jj_features\"");
    write(&mut w, &cols);
    let summary = w.finish().unwrap();
    assert_eq!(
        (
            summary.rows_received,
            summary.rows_written,
            summary.rows_failed
        ),
        (n as u64, n as u64, 0)
    );
    let got = s.psql(
        DB,
        "SELECT id, coalesce(i::text, 'NULL'), coalesce(f::text, 'NULL'), coalesce(b::text, 'NULL'), \
         coalesce(encode(convert_to(s, 'UTF8'), 'hex'), 'NULL'), coalesce(fl::text, 'NULL'), \
         coalesce(il::text, 'NULL'), \"Mixed Case\" FROM jj_features ORDER BY id",
    );
    let h = |s: &str| hex(s);
    let want = [
        format!(
            "0|-9223372036854775808|0.1|true|{}|{{0.01,0.02}}|{{60,1500}}|x",
            h("tab\there")
        ),
        format!(
            "1|9223372036854775807|NaN|false|{}|{{}}|{{}}|x",
            h("line\nbreak\r\n")
        ),
        format!(
            "2|NULL|Infinity|NULL|{}|NULL|NULL|x",
            h("back\\slash \\N \\.")
        ),
        "3|0|-0|true||{NaN,Infinity}|{-1}|x".to_string(),
        "4|-1|NULL|false|NULL|{1}|{0}|x".to_string(),
        format!(
            "5|42|-Infinity|true|{}|{{}}|NULL|x",
            h("quote\"' unicode é 日本 🦀")
        ),
        format!(
            "6|7|1e-300|NULL|{}|{{2.5}}|{{9223372036854775807}}|x",
            h("nul\u{fffd}char")
        ),
    ];
    assert_eq!(got.lines().collect::<Vec<_>>(), want);
    let types = s.psql(
        DB,
        "SELECT column_name || ':' || data_type || ':' || udt_name FROM information_schema.columns \
         WHERE table_name = 'jj_features' ORDER BY ordinal_position",
    );
    assert_eq!(
        types.lines().collect::<Vec<_>>(),
        [
            "id:bigint:int8",
            "i:bigint:int8",
            "f:double precision:float8",
            "b:boolean:bool",
            "s:text:text",
            "fl:ARRAY:_float8",
            "il:ARRAY:_int8",
            "Mixed Case:text:text",
        ]
    );
}

#[test]
fn append_adds_missing_columns_and_fills_text_columns() {
    let Some(s) = server("append") else { return };
    s.psql(
        DB,
        "CREATE SCHEMA a; CREATE TABLE a.flows (id bigint, note text NOT NULL DEFAULT 'n', f varchar, fl text); \
         INSERT INTO a.flows (id) VALUES (-1)",
    );
    let cols = [
        ids(2),
        OwnedColumn::floats("f", &[Some(0.1), Some(f64::NAN)]),
        OwnedColumn::float_lists("fl", &[Some(&[1.0, 0.5][..]), Some(&[])]),
        OwnedColumn::bools("b", &[Some(true), None]),
    ];
    let mut w = open(&s, &cols, "db_table=a.flows").unwrap();
    write(&mut w, &cols);
    assert_eq!(w.finish().unwrap().rows_written, 2);
    assert_eq!(
        s.psql(DB, "SELECT id, note, coalesce(f, '-'), coalesce(fl, '-'), coalesce(b::text, '-') FROM a.flows ORDER BY id"),
        "-1|n|-|-|-\n0|n|0.1|[1.0, 0.5]|true\n1|n|nan|[]|-"
    );
    assert_eq!(
        s.psql(DB, "SELECT data_type FROM information_schema.columns WHERE table_name = 'flows' AND column_name = 'b'"),
        "boolean"
    );
    // A new schema is created when needed.
    let mut w = open(&s, &cols, "db_table=fresh.t2").unwrap();
    write(&mut w, &cols);
    w.finish().unwrap();
    assert_eq!(count(&s, "fresh.t2"), 2);
}

#[test]
fn unusable_tables_are_refused_when_opening() {
    let Some(s) = server("refuse") else { return };
    s.psql(
        DB,
        "CREATE TABLE narrow (id integer); CREATE VIEW v AS SELECT 1 AS id; \
         CREATE TABLE strict (id bigint, must text NOT NULL); CREATE TABLE taken (id bigint); \
         CREATE ROLE reader LOGIN; GRANT USAGE ON SCHEMA public TO reader; GRANT SELECT ON taken TO reader",
    );
    let cols = [ids(1)];
    let err = |opts: &str| open(&s, &cols, opts).err().expect(opts).message.to_string();
    let e = err("db_table=narrow");
    assert!(
        e.contains("\"id\" has type integer") && e.contains("bigint"),
        "{e}"
    );
    let e = err("db_table=v");
    assert!(e.contains("is a view"), "{e}");
    let e = err("db_table=strict");
    assert!(e.contains("\"must\" is NOT NULL"), "{e}");
    let e = err("db_table=taken\ndb_if_exists=fail");
    assert!(e.contains("already exists"), "{e}");
    // No INSERT privilege: found by the empty COPY when opening.
    use jj_plugin_api::WriterFactory;
    let url = s.url(DB).replace("postgres@", "reader@");
    let e = PostgresFactory
        .open(
            "postgres",
            &url,
            &cols.schema(),
            &Options::parse("db_table=taken"),
        )
        .err()
        .unwrap();
    assert!(e.message.contains("permission denied"), "{e}");
    let e = PostgresFactory
        .open(
            "postgres",
            &s.url("nosuchdb"),
            &cols.schema(),
            &Options::new(),
        )
        .err()
        .unwrap();
    assert!(
        e.message.contains("cannot connect") && e.message.contains("nosuchdb"),
        "{e}"
    );
    // Nothing was left behind.
    assert_eq!(
        s.psql(
            DB,
            "SELECT count(*) FROM pg_class WHERE relname LIKE '%jj-partial%'"
        ),
        "0"
    );
}

#[test]
fn replace_and_fail_publish_at_finish_and_abort_keeps_the_old_table() {
    let Some(s) = server("replace") else { return };
    s.psql(DB, "CREATE TABLE r (id bigint, old text); INSERT INTO r SELECT g, 'x' FROM generate_series(1, 5) g");
    let cols = [ids(3)];
    let staging = |s: &PgServer| {
        s.psql(
            DB,
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'r.jj-partial-%'",
        )
    };
    let mut w = open(
        &s,
        &cols,
        "db_table=r\ndb_if_exists=replace\ndb_batch_size=2",
    )
    .unwrap();
    write(&mut w, &cols);
    assert_eq!(count(&s, "r"), 5, "the old table stays until finish");
    assert_eq!(staging(&s), "1");
    w.abort();
    assert_eq!(count(&s, "r"), 5);
    assert_eq!(staging(&s), "0");

    let mut w = open(&s, &cols, "db_table=r\ndb_if_exists=replace").unwrap();
    write(&mut w, &cols);
    w.finish().unwrap();
    assert_eq!(count(&s, "r"), 3);
    assert_eq!(staging(&s), "0");
    assert_eq!(
        s.psql(
            DB,
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'r'"
        ),
        "1",
        "the new table has the new columns only"
    );

    // fail: a new table appears only at finish; someone creating it meanwhile wins.
    let mut w = open(&s, &cols, "db_table=f\ndb_if_exists=fail").unwrap();
    write(&mut w, &cols);
    assert_eq!(s.psql(DB, "SELECT to_regclass('f') IS NULL"), "t");
    w.finish().unwrap();
    assert_eq!(count(&s, "f"), 3);
    let mut w = open(&s, &cols, "db_table=g\ndb_if_exists=fail").unwrap();
    write(&mut w, &cols);
    s.psql(DB, "CREATE TABLE g (x int)");
    let e = w.finish().unwrap_err();
    assert!(e.message.contains("created by someone else"), "{e}");
    assert_eq!(count(&s, "g"), 0);
    assert_eq!(
        s.psql(
            DB,
            "SELECT count(*) FROM pg_class WHERE relname LIKE '%jj-partial%'"
        ),
        "0"
    );
}

#[test]
fn abort_of_an_append_removes_only_this_runs_rows() {
    let Some(s) = server("abort") else { return };
    s.psql(
        DB,
        "CREATE TABLE ap (id bigint); INSERT INTO ap VALUES (-1), (-2)",
    );
    let cols = [ids(2500)];
    let mut w = open(&s, &cols, "db_table=ap\ndb_batch_size=1000").unwrap();
    write(&mut w, &cols);
    w.wait_idle();
    assert_eq!(
        count(&s, "ap"),
        2002,
        "two batches are committed, 500 rows pending"
    );
    s.psql(DB, "INSERT INTO ap VALUES (-3)");
    w.abort();
    assert_eq!(
        s.psql(DB, "SELECT string_agg(id::text, ',' ORDER BY id) FROM ap"),
        "-3,-2,-1"
    );
    // Dropping an unfinished writer does the same.
    let mut w = open(&s, &cols, "db_table=ap\ndb_batch_size=100").unwrap();
    write(&mut w, &cols);
    w.wait_idle();
    assert_eq!(count(&s, "ap"), 3 + 2500);
    drop(w);
    assert_eq!(count(&s, "ap"), 3);
}

#[test]
fn refused_rows_are_found_by_splitting_and_counted() {
    let Some(s) = server("refused") else { return };
    s.psql(DB, "CREATE TABLE c (id bigint CHECK (id % 37 <> 5))");
    let cols = [ids(200)];
    let mut w = open(&s, &cols, "db_table=c\ndb_batch_size=64").unwrap();
    write(&mut w, &cols);
    let summary = w.finish().unwrap();
    // 5, 42, 79, 116, 153, 190
    assert_eq!((summary.rows_written, summary.rows_failed), (194, 6));
    assert_eq!(count(&s, "c"), 194);

    // A table that refuses every row fails the output.
    s.psql(DB, "CREATE TABLE never (id bigint CHECK (id < 0))");
    let mut w = open(&s, &cols, "db_table=never\ndb_batch_size=50").unwrap();
    // The error shows in the write_batch after the loader met it, or in finish.
    let e = match cols.with_batch(|b| w.write_batch(b)) {
        Err(e) => e,
        Ok(()) => {
            w.wait_idle();
            w.finish().unwrap_err()
        }
    };
    assert!(e.message.contains("refuses every row"), "{e}");
    assert!(cols.with_batch(|b| w.write_batch(b)).is_err());
    w.abort();
    assert_eq!(count(&s, "never"), 0);
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
fn lost_connections_are_retried_and_no_row_is_lost_or_doubled() {
    let Some(s) = server("retry") else { return };
    let cols = [
        ids(50),
        OwnedColumn::strs("pad", &[Some(&*"p".repeat(2000)); 50]),
    ];
    let mut w = open(&s, &cols, "db_batch_size=50").unwrap();
    write(&mut w, &cols);
    w.wait_idle();
    assert_eq!(terminate_jj(&s), 1);
    write(&mut w, &cols); // reconnects, then copies
    w.wait_idle();
    assert_eq!(w.reconnects(), 1);
    // Terminate the connection again and again while batches are being copied and
    // committed (a kill may land in BEGIN, the COPY, the COMMIT or between batches).
    let started = Instant::now();
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
    let (stop, kills) = (AtomicBool::new(false), AtomicU64::new(0));
    let mut batches: u64 = 2;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Relaxed) {
                kills.fetch_add(terminate_jj(&s), Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        while kills.load(Relaxed) < 8 && batches < 5000 {
            write(&mut w, &cols);
            batches += 1;
        }
        stop.store(true, Relaxed);
    });
    let kills = kills.into_inner();
    let summary = w.finish().unwrap();
    assert!(kills >= 8, "{kills}");
    assert_eq!(summary.rows_failed, 0);
    assert_eq!(summary.rows_written, batches * 50);
    assert_eq!(count(&s, "jj_features"), batches * 50);
    assert_eq!(
        s.psql(DB, "SELECT count(*) FROM (SELECT id FROM jj_features GROUP BY id HAVING count(*) <> {batches}) x".replace("{batches}", &batches.to_string()).as_str()),
        "0",
        "every row exactly once per batch"
    );
    eprintln!(
        "{batches} batches with {kills} kills in {:?}",
        started.elapsed()
    );
}

#[test]
fn an_unreachable_server_costs_rows_counted_as_failed() {
    let Some(s) = server("outage") else { return };
    let cols = [ids(10)];
    let mut w = open(&s, &cols, "db_batch_size=10\ndb_retries=2").unwrap();
    write(&mut w, &cols);
    w.wait_idle();
    s.psql(
        "postgres",
        &format!("ALTER DATABASE {DB} ALLOW_CONNECTIONS false"),
    );
    assert_eq!(terminate_jj(&s), 1);
    let t = Instant::now();
    write(&mut w, &cols);
    w.wait_idle(); // 3 attempts (0.25 + 0.5 s of pauses), then counted as failed
    assert!(
        t.elapsed() >= Duration::from_millis(700),
        "{:?}",
        t.elapsed()
    );
    let t = Instant::now();
    write(&mut w, &cols);
    w.wait_idle(); // still unreachable: failed at once, no new attempt
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    s.psql(
        "postgres",
        &format!("ALTER DATABASE {DB} ALLOW_CONNECTIONS true"),
    );
    std::thread::sleep(crate::options::MAX_RETRY_DELAY);
    write(&mut w, &cols);
    w.wait_idle(); // one attempt, which works
    let summary = w.finish().unwrap();
    assert_eq!(
        (
            summary.rows_received,
            summary.rows_written,
            summary.rows_failed
        ),
        (40, 20, 20)
    );
    assert_eq!(count(&s, "jj_features"), 20);
}

/// A loopback TCP proxy in front of the server that can break the connection right at
/// a `COMMIT`: either after passing it on (the server commits, the client never hears
/// so) or instead of passing it on (the server rolls back).
mod proxy {
    use std::{
        io::{Read, Write},
        net::{Shutdown, TcpListener, TcpStream},
        sync::{
            atomic::{AtomicBool, AtomicU8, Ordering},
            Arc,
        },
        time::Duration,
    };

    pub const PASS: u8 = 0;
    pub const CUT_AFTER_COMMIT: u8 = 1;
    pub const CUT_BEFORE_COMMIT: u8 = 2;

    pub struct Proxy {
        pub port: u16,
        pub mode: Arc<AtomicU8>,
        stop: Arc<AtomicBool>,
    }

    impl Drop for Proxy {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    pub fn start(server_port: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(AtomicU8::new(PASS));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, st) = (mode.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let server = TcpStream::connect(("127.0.0.1", server_port)).unwrap();
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut s_in, mut c_out) = (server, client);
                let m = m.clone();
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 1 << 16];
                    loop {
                        let n = match c_in.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let chunk = &buf[..n];
                        if contains(chunk, b"COMMIT\0") {
                            match m.swap(PASS, Ordering::SeqCst) {
                                CUT_AFTER_COMMIT => {
                                    // The client hears nothing more; the server gets the COMMIT.
                                    let _ = c_in.shutdown(Shutdown::Both);
                                    let _ = s_out.write_all(chunk);
                                    std::thread::sleep(Duration::from_millis(300));
                                    let _ = s_out.shutdown(Shutdown::Both);
                                    let _ = c_in.shutdown(Shutdown::Both);
                                    break;
                                }
                                CUT_BEFORE_COMMIT => {
                                    let _ = s_out.shutdown(Shutdown::Both);
                                    let _ = c_in.shutdown(Shutdown::Both);
                                    break;
                                }
                                _ => {}
                            }
                        }
                        if s_out.write_all(chunk).is_err() {
                            break;
                        }
                    }
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s_in, &mut c_out);
                    let _ = c_out.shutdown(Shutdown::Both);
                });
            }
        });
        Proxy { port, mode, stop }
    }
}

#[test]
fn a_commit_whose_answer_is_lost_is_neither_repeated_nor_lost() {
    let Some(s) = server("commit") else { return };
    let p = proxy::start(s.port);
    let url = format!("postgresql://postgres@127.0.0.1:{}/{DB}", p.port);
    let cols = [ids(10)];
    use jj_plugin_api::WriterFactory;
    let mut w = PostgresFactory
        .open(
            "postgres",
            &url,
            &cols.schema(),
            &Options::parse("db_batch_size=10"),
        )
        .unwrap();
    // The server commits, the answer never arrives: txid_status says committed.
    p.mode
        .store(proxy::CUT_AFTER_COMMIT, std::sync::atomic::Ordering::SeqCst);
    write(&mut w, &cols);
    w.wait_idle();
    assert_eq!(w.reconnects(), 1);
    assert_eq!(count(&s, "jj_features"), 10, "committed once, not re-sent");
    // The COMMIT never arrives: the server rolls back, the batch is sent again.
    p.mode.store(
        proxy::CUT_BEFORE_COMMIT,
        std::sync::atomic::Ordering::SeqCst,
    );
    write(&mut w, &cols);
    w.wait_idle();
    assert_eq!(w.reconnects(), 2);
    assert_eq!(count(&s, "jj_features"), 20);
    let summary = w.finish().unwrap();
    assert_eq!((summary.rows_written, summary.rows_failed), (20, 0));
    assert_eq!(
        s.psql(DB, "SELECT count(DISTINCT xmin::text) FROM jj_features"),
        "2",
        "one transaction per batch"
    );
}

/// Every option the component reads is declared (so a `[plugins.*]` key the host rejects
/// is one it never reads), and every declared one is read: through the factory's `open`
/// and a whole write, so that a key read anywhere on the way counts. Without a
/// server, only the option parser is checked.
#[test]
fn declares_exactly_the_options_it_reads() {
    let o = Options::new();
    match server("declared") {
        Some(s) => {
            let cols = [ids(3)];
            let mut w = {
                use jj_plugin_api::WriterFactory;
                PostgresFactory.open("postgres", &s.url(DB), &cols.schema(), &o)
            }
            .unwrap();
            write(&mut w, &cols);
            w.finish().unwrap();
        }
        None => {
            crate::PgOptions::parse(&o).unwrap();
        }
    }
    jj_plugin_api::options::check_declared(crate::options::OPTIONS, &o).unwrap();
}
