//! Creating, appending, replacing and refusing tables; types as SQLite stores them;
//! transactions per batch; integrity; what abort and drop leave behind.

use crate::{writer::SqliteWriter, SqliteFactory};
use jj_plugin_api::{
    abi_stable::std_types::RSlice, ErrorKind, Options, PluginResult, RowBatch, Schema,
    WriteSummary, Writer, WriterFactory,
};
use jj_writer_util::{OwnedColumn, OwnedColumns};
use rusqlite::{types::Value as Sql, Connection};
use std::path::Path;

// ---- helpers ----

use jj_writer_util::ScratchDir as TempDir;

fn open_with(target: &str, schema: &Schema, options: &str) -> PluginResult<SqliteWriter> {
    SqliteFactory.open("sqlite", target, schema, &Options::parse(options))
}

fn open(path: &Path, schema: &Schema, options: &str) -> PluginResult<SqliteWriter> {
    open_with(path.to_str().unwrap(), schema, options)
}

fn write(w: &mut SqliteWriter, cols: &[OwnedColumn]) -> PluginResult<()> {
    cols.with_batch(|b| w.write_batch(b))
}

/// Writes `cols` in one run and returns the summary.
fn run(path: &Path, cols: &[OwnedColumn], options: &str) -> PluginResult<WriteSummary> {
    let mut w = open(path, &cols.schema(), options)?;
    write(&mut w, cols)?;
    w.finish()
}

fn query(path: &Path, sql: &str) -> Vec<Vec<Sql>> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| (0..n).map(|i| r.get::<_, Sql>(i)).collect())
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap()
}

fn count(path: &Path, table: &str) -> i64 {
    match query(path, &format!("SELECT count(*) FROM \"{table}\""))[0][0] {
        Sql::Integer(n) => n,
        ref v => panic!("{v:?}"),
    }
}

fn text(s: &str) -> Sql {
    Sql::Text(s.to_string())
}

const INF: f64 = f64::INFINITY;
const NAN: f64 = f64::NAN;

fn all_dtypes() -> Vec<OwnedColumn> {
    vec![
        OwnedColumn::ints("flow_id", &[Some(1), Some(-42), None, Some(i64::MAX)]),
        OwnedColumn::floats("duration", &[Some(0.1), Some(1e-5), None, Some(60.0)]),
        OwnedColumn::floats("rate", &[Some(INF), Some(-INF), Some(NAN), Some(0.1 + 0.2)]),
        OwnedColumn::bools("is_tls", &[Some(true), Some(false), None, Some(true)]),
        OwnedColumn::strs(
            "sni",
            &[
                Some("example.com"),
                Some("it's \"quoted\""),
                None,
                Some("café 😀"),
            ],
        ),
        OwnedColumn::float_lists(
            "iat",
            &[
                Some(&[0.01, 0.02]),
                Some(&[]),
                None,
                Some(&[1e-5, INF, NAN, -INF]),
            ],
        ),
        OwnedColumn::int_lists(
            "sizes",
            &[Some(&[60, 1500, -1]), Some(&[7]), Some(&[]), None],
        ),
    ]
}

fn ints(name: &str, v: std::ops::Range<i64>) -> OwnedColumn {
    let vals: Vec<Option<i64>> = v.map(Some).collect();
    OwnedColumn::ints(name, &vals)
}

// ---- create: types and values ----

#[test]
fn creates_a_new_database_with_typed_columns() {
    let dir = TempDir::new();
    let path = dir.path("flows.db");
    let cols = all_dtypes();
    let mut w = open(&path, &cols.schema(), "").unwrap();
    let tmp = w.temp_path().unwrap().to_path_buf();
    assert_eq!(
        tmp.file_name().unwrap().to_str().unwrap(),
        format!(".flows.db.jj-partial-{}", std::process::id())
    );
    write(&mut w, &cols).unwrap();
    assert!(!path.exists(), "the database appears only when complete");
    let s = w.finish().unwrap();
    assert_eq!(
        s,
        WriteSummary {
            rows_received: 4,
            rows_written: 4,
            rows_failed: 0
        }
    );
    // no temporary, -wal or -shm file left
    assert_eq!(dir.entries(), ["flows.db"]);

    let decl = query(
        &path,
        "SELECT name, type FROM pragma_table_info('jj_features')",
    );
    let decl: Vec<(String, String)> = decl
        .into_iter()
        .map(|r| match (&r[0], &r[1]) {
            (Sql::Text(n), Sql::Text(t)) => (n.clone(), t.clone()),
            _ => panic!("{r:?}"),
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("flow_id", "INTEGER"),
        ("duration", "REAL"),
        ("rate", "REAL"),
        ("is_tls", "INTEGER"),
        ("sni", "TEXT"),
        ("iat", "TEXT"),
        ("sizes", "TEXT"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(decl, want);

    let rows = query(&path, "SELECT * FROM jj_features ORDER BY rowid");
    assert_eq!(
        rows[0],
        [
            Sql::Integer(1),
            Sql::Real(0.1),
            Sql::Real(INF),
            Sql::Integer(1),
            text("example.com"),
            text("[0.01, 0.02]"),
            text("[60, 1500, -1]"),
        ]
    );
    assert_eq!(
        rows[1],
        [
            Sql::Integer(-42),
            Sql::Real(1e-5),
            Sql::Real(-INF),
            Sql::Integer(0),
            text("it's \"quoted\""),
            text("[]"),
            text("[7]"),
        ]
    );
    // nulls; NaN is stored as NULL by SQLite
    assert_eq!(
        rows[2],
        [
            Sql::Null,
            Sql::Null,
            Sql::Null,
            Sql::Null,
            Sql::Null,
            Sql::Null,
            text("[]")
        ]
    );
    assert_eq!(
        rows[3],
        [
            Sql::Integer(i64::MAX),
            Sql::Real(60.0),
            Sql::Real(0.1 + 0.2),
            Sql::Integer(1),
            text("café 😀"),
            text("[1e-05, Infinity, NaN, -Infinity]"),
            Sql::Null,
        ]
    );
    // SQLite's JSON functions read the list text (JSON5 allows NaN / Infinity)
    let n = query(
        &path,
        "SELECT json_array_length(iat), json_extract(sizes, '$[1]') FROM jj_features WHERE flow_id = 1",
    );
    assert_eq!(n[0], [Sql::Integer(2), Sql::Integer(1500)]);
    let n = query(
        &path,
        "SELECT json_array_length(iat) FROM jj_features WHERE flow_id = 9223372036854775807",
    );
    assert_eq!(n[0], [Sql::Integer(4)]);
    // the file is in WAL mode and intact
    assert_eq!(query(&path, "PRAGMA journal_mode")[0][0], text("wal"));
    assert_eq!(query(&path, "PRAGMA integrity_check"), [[text("ok")]]);
}

#[test]
fn sqlite_url_targets_and_custom_table_names() {
    let dir = TempDir::new();
    let path = dir.path("u.db");
    let cols = vec![
        OwnedColumn::ints("we\"ird col", &[Some(1)]),
        OwnedColumn::strs("select", &[Some("x")]),
    ];
    let target = format!("sqlite://{}", path.display());
    let mut w = open_with(&target, &cols.schema(), "db_table=my \"table\"").unwrap();
    write(&mut w, &cols).unwrap();
    w.finish().unwrap();
    let rows = query(
        &path,
        "SELECT \"we\"\"ird col\", \"select\" FROM \"my \"\"table\"\"\"",
    );
    assert_eq!(rows, [[Sql::Integer(1), text("x")]]);
}

#[test]
fn an_empty_run_creates_an_empty_table() {
    let dir = TempDir::new();
    let path = dir.path("e.db");
    let cols = all_dtypes();
    let mut w = open(&path, &cols.schema(), "").unwrap();
    assert_eq!(w.finish().unwrap(), WriteSummary::default());
    assert_eq!(count(&path, "jj_features"), 0);
    assert_eq!(
        query(
            &path,
            "SELECT count(*) FROM pragma_table_info('jj_features')"
        )[0][0],
        Sql::Integer(7)
    );
}

// ---- append / replace / fail ----

#[test]
fn append_adds_rows_and_missing_columns() {
    let dir = TempDir::new();
    let path = dir.path("a.db");
    run(&path, &[ints("a", 0..3)], "").unwrap();
    // same schema again (append is the default)
    run(&path, &[ints("a", 3..5)], "db_if_exists=append").unwrap();
    assert_eq!(count(&path, "jj_features"), 5);
    // a schema with one more column, in another order, with a different case
    let cols = vec![OwnedColumn::strs("b", &[Some("x"), None]), ints("A", 5..7)];
    let s = run(&path, &cols, "").unwrap();
    assert_eq!(s.rows_written, 2);
    let rows = query(&path, "SELECT a, b FROM jj_features ORDER BY a");
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[0], [Sql::Integer(0), Sql::Null]);
    assert_eq!(rows[5], [Sql::Integer(5), text("x")]);
    assert_eq!(rows[6], [Sql::Integer(6), Sql::Null]);
    let decl = query(
        &path,
        "SELECT type FROM pragma_table_info('jj_features') WHERE name = 'b'",
    );
    assert_eq!(decl, [[text("TEXT")]]);
}

#[test]
fn replace_swaps_the_table_when_the_run_finishes() {
    let dir = TempDir::new();
    let path = dir.path("r.db");
    run(&path, &[ints("old", 0..10)], "").unwrap();
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE VIEW v AS SELECT count(*) AS n FROM jj_features; CREATE TABLE other (x)",
        )
        .unwrap();
    }
    let cols = vec![ints("new", 100..103)];
    let mut w = open(&path, &cols.schema(), "db_if_exists=replace").unwrap();
    write(&mut w, &cols).unwrap();
    // readers still see the old table while the run goes on
    assert_eq!(count(&path, "jj_features"), 10);
    w.finish().unwrap();
    assert_eq!(
        query(&path, "SELECT new FROM jj_features"),
        [
            [Sql::Integer(100)],
            [Sql::Integer(101)],
            [Sql::Integer(102)]
        ]
    );
    // the view works on the new table; no staging table is left; other tables untouched
    assert_eq!(query(&path, "SELECT n FROM v"), [[Sql::Integer(3)]]);
    let tables = query(
        &path,
        "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
    );
    assert_eq!(tables, [[text("jj_features")], [text("other")]]);
    // replace when there is no table yet creates it
    run(&path, &cols, "db_if_exists=replace\ndb_table=fresh").unwrap();
    assert_eq!(count(&path, "fresh"), 3);
}

#[test]
fn fail_refuses_an_existing_table_and_changes_nothing() {
    let dir = TempDir::new();
    let path = dir.path("f.db");
    run(&path, &[ints("a", 0..2)], "db_if_exists=fail").unwrap();
    let before = std::fs::read(&path).unwrap();
    let e = open(&path, &[ints("a", 0..1)].schema(), "db_if_exists=fail")
        .err()
        .unwrap();
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(
        e.message.as_str().contains("already exists"),
        "{}",
        e.message
    );
    assert!(
        e.message.as_str().contains(path.to_str().unwrap()),
        "{}",
        e.message
    );
    assert_eq!(count(&path, "jj_features"), 2);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // another table name in the same database is fine
    run(&path, &[ints("a", 0..1)], "db_if_exists=fail\ndb_table=t2").unwrap();
    assert_eq!(count(&path, "t2"), 1);
}

#[test]
fn rows_refused_by_constraints_are_counted() {
    let dir = TempDir::new();
    let path = dir.path("c.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE jj_features (a INTEGER UNIQUE NOT NULL, b TEXT)")
            .unwrap();
    }
    let cols = vec![
        OwnedColumn::ints("a", &[Some(1), Some(2), Some(1), None, Some(3)]),
        OwnedColumn::strs("b", &[Some("x"); 5]),
    ];
    let s = run(&path, &cols, "").unwrap();
    assert_eq!(
        s,
        WriteSummary {
            rows_received: 5,
            rows_written: 3,
            rows_failed: 2
        }
    );
    assert_eq!(count(&path, "jj_features"), 3);
}

// ---- transactions, large batches, integrity ----

#[test]
fn large_run_commits_every_batch_before_returning() {
    let dir = TempDir::new();
    let path = dir.path("big.db");
    run(&path, &[ints("i", 0..1)], "").unwrap();
    // Direct append to the existing table: committed rows are visible to other readers.
    let schema = [ints("i", 0..1), OwnedColumn::floats("f", &[Some(0.5)])].schema();
    let mut w = open(&path, &schema, "db_batch_size=1000").unwrap();
    let mut next = 1;
    for k in 1..=50 {
        // host-sized batches of 1024 rows: transactions of 1000 and 24 rows
        let cols = vec![
            ints("i", next..next + 1024),
            OwnedColumn::floats("f", &vec![Some(0.25); 1024]),
        ];
        next += 1024;
        write(&mut w, &cols).unwrap();
        if k % 10 == 0 {
            assert_eq!(count(&path, "jj_features"), 1 + k * 1024);
        }
    }
    let s = w.finish().unwrap();
    assert_eq!(s.rows_written, 50 * 1024);
    assert_eq!(count(&path, "jj_features"), 1 + 50 * 1024);
    assert_eq!(
        query(
            &path,
            "SELECT min(i), max(i), sum(f) FROM jj_features WHERE f IS NOT NULL"
        ),
        [[
            Sql::Integer(1),
            Sql::Integer(50 * 1024),
            Sql::Real(0.25 * 50.0 * 1024.0)
        ]]
    );
    assert_eq!(query(&path, "PRAGMA integrity_check"), [[text("ok")]]);
}

#[test]
fn a_constraint_that_rolls_back_the_transaction_fails_the_output() {
    let dir = TempDir::new();
    let path = dir.path("rb.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE jj_features (i INTEGER UNIQUE ON CONFLICT ROLLBACK);
             INSERT INTO jj_features VALUES (-1);",
        )
        .unwrap();
    }
    let mut w = open(&path, &[ints("i", 0..1)].schema(), "db_batch_size=10").unwrap();
    write(&mut w, &[ints("i", 0..25)]).unwrap();
    let e = write(&mut w, &[ints("i", -3..3)]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(e.message.as_str().contains("UNIQUE"), "{}", e.message);
    assert!(w.finish().is_err());
    // the run's committed rows are removed again
    assert_eq!(
        query(&path, "SELECT i FROM jj_features"),
        [[Sql::Integer(-1)]]
    );
}

#[test]
fn integrity_check_output_other_than_ok_is_an_error() {
    crate::writer::check_integrity("db", &["ok".into()]).unwrap();
    let e = crate::writer::check_integrity(
        "database x.db",
        &[
            "*** in database main ***".into(),
            "Page 5: btreeInitPage() returns error code 11".into(),
        ],
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Corrupt);
    assert!(e.message.as_str().contains("x.db"), "{}", e.message);
    assert!(e.message.as_str().contains("Page 5"), "{}", e.message);
    assert!(crate::writer::check_integrity("db", &[]).is_err());
}

// ---- abort / drop ----

#[test]
fn abort_of_a_new_database_leaves_no_file() {
    let dir = TempDir::new();
    let path = dir.path("n.db");
    let cols = all_dtypes();
    let mut w = open(&path, &cols.schema(), "db_batch_size=2").unwrap();
    write(&mut w, &cols).unwrap();
    w.abort();
    assert!(dir.entries().is_empty(), "{:?}", dir.entries());
    assert!(w.finish().is_err());
    assert!(write(&mut w, &cols).is_err());
    let mut w = open(&path, &cols.schema(), "").unwrap();
    write(&mut w, &cols).unwrap();
    drop(w);
    assert!(dir.entries().is_empty(), "{:?}", dir.entries());
}

#[test]
fn abort_removes_exactly_this_runs_rows_even_between_other_appends() {
    let dir = TempDir::new();
    let path = dir.path("shared.db");
    run(&path, &[ints("i", 0..5)], "").unwrap();
    let schema = [ints("i", 0..1)].schema();
    let mut keep = open(&path, &schema, "db_batch_size=3").unwrap();
    let mut lose = open(&path, &schema, "db_batch_size=3").unwrap();
    for k in 0..4 {
        write(&mut keep, &[ints("i", 100 + 10 * k..100 + 10 * k + 4)]).unwrap();
        write(&mut lose, &[ints("i", 500 + 10 * k..500 + 10 * k + 4)]).unwrap();
    }
    lose.abort();
    keep.finish().unwrap();
    assert_eq!(count(&path, "jj_features"), 5 + 16);
    assert_eq!(
        query(&path, "SELECT count(*) FROM jj_features WHERE i >= 500"),
        [[Sql::Integer(0)]]
    );
}

#[test]
fn aborted_replace_keeps_the_old_table() {
    let dir = TempDir::new();
    let path = dir.path("k.db");
    run(&path, &[ints("a", 0..4)], "").unwrap();
    let cols = vec![ints("b", 0..2)];
    let mut w = open(&path, &cols.schema(), "db_if_exists=replace").unwrap();
    write(&mut w, &cols).unwrap();
    drop(w);
    assert_eq!(count(&path, "jj_features"), 4);
    let tables = query(&path, "SELECT name FROM sqlite_schema WHERE type = 'table'");
    assert_eq!(tables, [[text("jj_features")]]);
}

// ---- bad input ----

#[test]
fn malformed_batch_is_rejected_and_counted() {
    let dir = TempDir::new();
    let path = dir.path("m.db");
    let good = vec![OwnedColumn::ints("a", &[Some(1), Some(2)])];
    let mut w = open(&path, &good.schema(), "").unwrap();
    assert!(write(&mut w, &[OwnedColumn::floats("a", &[Some(1.0)])]).is_err());
    let short = OwnedColumn::ints("a", &[Some(5)]);
    let views = [short.view()];
    let batch = RowBatch {
        num_rows: 3,
        columns: RSlice::from_slice(&views),
    };
    assert!(w.write_batch(&batch).is_err());
    write(&mut w, &good).unwrap();
    assert_eq!(
        w.finish().unwrap(),
        WriteSummary {
            rows_received: 2,
            rows_written: 2,
            rows_failed: 4
        }
    );
    assert_eq!(w.finish().unwrap().rows_written, 2);
    assert!(write(&mut w, &good).is_err());
}

#[test]
fn bad_options_and_targets_are_errors_naming_them() {
    let dir = TempDir::new();
    let schema = all_dtypes().schema();
    let db = dir.path("x.db");
    let db = db.to_str().unwrap();
    for (target, options, kind, needle) in [
        (
            db,
            "db_if_exists=maybe",
            ErrorKind::Config,
            "db_if_exists=maybe",
        ),
        (db, "db_batch_size=0", ErrorKind::Config, "db_batch_size=0"),
        (
            db,
            "db_batch_size=lots",
            ErrorKind::Config,
            "db_batch_size=lots",
        ),
        (db, "db_table=sqlite_master", ErrorKind::Config, "reserved"),
        (db, "db_table=a\u{1}b", ErrorKind::Config, "db_table"),
        ("-", "", ErrorKind::Config, "standard output"),
        (":memory:", "", ErrorKind::Config, "in-memory"),
        ("sqlite://", "", ErrorKind::Config, "names no database"),
    ] {
        let e = open_with(target, &schema, options).err().unwrap();
        assert_eq!(e.kind, kind, "{target} {options}");
        assert!(
            e.message.as_str().contains(needle),
            "{target} {options}: {}",
            e.message
        );
    }
    assert!(dir.entries().is_empty());
    // a directory, a missing directory, a file that is not a database
    let e = open(&dir.0, &schema, "").err().unwrap();
    assert!(
        e.message.as_str().contains("is a directory"),
        "{}",
        e.message
    );
    let missing = dir.path("nope").join("x.db");
    let e = open(&missing, &schema, "").err().unwrap();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(
        e.message.as_str().contains("does not exist"),
        "{}",
        e.message
    );
    let junk = dir.path("junk.db");
    std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
    let e = open(&junk, &schema, "").err().unwrap();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(
        e.message.as_str().contains("not a SQLite database"),
        "{}",
        e.message
    );
    assert!(e.message.as_str().contains("junk.db"), "{}", e.message);
    // a view under the table's name
    let v = dir.path("v.db");
    Connection::open(&v)
        .unwrap()
        .execute_batch("CREATE VIEW jj_features AS SELECT 1 AS a")
        .unwrap();
    let e = open(&v, &schema, "").err().unwrap();
    assert!(
        e.message.as_str().contains("is an existing view"),
        "{}",
        e.message
    );
}

#[test]
fn column_names_equal_ignoring_case_are_refused() {
    let dir = TempDir::new();
    let cols = [ints("Port", 0..1), ints("port", 0..1)];
    let e = open(&dir.path("d.db"), &cols.schema(), "").err().unwrap();
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(e.message.as_str().contains("test.Port"), "{}", e.message);
    let cols = [ints("", 0..1)];
    assert!(open(&dir.path("d.db"), &cols.schema(), "").is_err());
    assert!(dir.entries().is_empty());
}

#[test]
fn formats_unknown_format_and_root_module() {
    let f = SqliteFactory.formats();
    assert_eq!(
        (
            f[0].name.as_str(),
            f[0].extension.as_str(),
            f[0].supports_stdout
        ),
        ("sqlite", "db", 0)
    );
    let e = SqliteFactory
        .open("csv", "x.db", &Schema::default(), &Options::new())
        .err()
        .unwrap();
    assert_eq!(e.kind, ErrorKind::Config);
    let lib = crate::export::jj_plugin_root_module();
    assert_eq!((lib.library())().name.as_str(), "jj-output-sqlite");
    let writers = (lib.writers())();
    let names: Vec<&str> = writers.iter().map(|d| d.info.name.as_str()).collect();
    assert_eq!(names, ["sqlite"]);
}

/// Every option the component reads is declared (so a `[plugins.*]` key the host rejects
/// is one it never reads), and every declared one is read: through the factory's `open`
/// and a whole write, so that a key read anywhere on the way counts.
#[test]
fn declares_exactly_the_options_it_reads() {
    let dir = TempDir::new();
    let path = dir.path("flows.db");
    let cols = all_dtypes();
    let o = Options::new();
    let mut w = SqliteFactory
        .open("sqlite", path.to_str().unwrap(), &cols.schema(), &o)
        .unwrap();
    write(&mut w, &cols).unwrap();
    w.finish().unwrap();
    jj_plugin_api::options::check_declared(crate::options::OPTIONS, &o).unwrap();
}
