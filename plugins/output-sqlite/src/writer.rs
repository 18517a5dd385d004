//! The SQLite [`Writer`].
//!
//! Where rows go:
//!
//! * **new database file**: the database is built under a temporary name
//!   (`.<name>.jj-partial-<pid>`, via `jj-writer-util`) and renamed into place by
//!   `finish` (no-clobber), so a half-written database never appears under the final
//!   name;
//! * **new table, or `db_if_exists=replace`**: rows go into a staging table
//!   `"<table>.jj-partial-<pid>-<n>"`, which `finish` renames to the final name (after
//!   dropping the old table, for `replace`) in one transaction. Readers see either the
//!   old table or the complete new one; `abort` drops the staging table;
//! * **`db_if_exists=append` to an existing table**: missing columns are added
//!   (`ALTER TABLE ... ADD COLUMN`), then rows are inserted directly, one transaction per
//!   `db_batch_size` rows. The rowids inserted are remembered, so `abort` deletes exactly
//!   this run's rows even while other runs append to the same table.
//!
//! Rows that the table refuses (constraints of an existing table: `UNIQUE`, `NOT NULL`,
//! `CHECK`, strict types) are counted in `rows_failed` and the run goes on; any other
//! database error fails the output.

use crate::options::{check_identifier, database_path, quote, sql_type, IfExists, SqliteOptions};
use jj_plugin_api::{
    Column, ColumnMeta, DType, PluginError, PluginResult, RowBatch, Schema, WriteSummary, Writer,
};
use jj_writer_util::{
    check_batch,
    json::{write_json_float_list, write_json_int_list},
    TempTarget,
};
use rusqlite::{types::Null, Connection, ErrorCode, OpenFlags, OptionalExtension, Statement};
use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

/// How long to wait for another writer's transaction (e.g. a concurrent jj run appending
/// to the same database) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Numbers the staging tables of this process.
static NEXT_STAGING: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Open,
    /// A write failed: the output is incomplete and can only be discarded.
    Failed,
    Finished(WriteSummary),
    Aborted,
}

/// The table rows are inserted into.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Dest {
    /// The final table itself (append to an existing table).
    Direct,
    /// A staging table, renamed (or copied) to the final table by `finish`.
    Staging(String),
}

/// The open database and the insert in progress.
struct Db {
    conn: Connection,
    dest: Dest,
    insert_sql: String,
    batch_size: u64,
    /// A transaction is open, `txn_ok` rows inserted in it so far.
    in_txn: bool,
    txn_ok: u64,
    /// Rows inserted by committed transactions.
    committed: u64,
    /// Direct appends to a rowid table: the rowids this run inserted, as inclusive ranges.
    rowids: Option<Vec<(i64, i64)>>,
    /// `rowids` as they were when the open transaction began (its length and last
    /// range), to forget the rows of a transaction that is rolled back: their rowids may
    /// be given to another writer's rows.
    mark: Option<(usize, Option<(i64, i64)>)>,
    /// Scratch space for the JSON text of list values.
    scratch: Vec<u8>,
}

/// An open SQLite output.
pub struct SqliteWriter {
    columns: Vec<ColumnMeta>,
    /// `database flows.db, table "jj_features"`, for messages.
    shown: String,
    path: PathBuf,
    table: String,
    if_exists: IfExists,
    /// `None` once finished or discarded.
    db: Option<Db>,
    /// The temporary file of a new database.
    temp: Option<TempTarget>,
    rows_received: u64,
    rows_failed: u64,
    state: State,
}

/// A database error as a one-line message naming `shown`.
fn db_error(shown: &str, what: &str, e: &rusqlite::Error) -> PluginError {
    let hint = match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            "; another program holds the database locked, try again when it is done"
        }
        Some(ErrorCode::DiskFull) => "; free some disk space",
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied | ErrorCode::CannotOpen) => {
            "; check that the file and its directory are writable"
        }
        Some(ErrorCode::NotADatabase) => "; the file is not a SQLite database, choose another path",
        _ => "",
    };
    PluginError::io(format!("{shown}: {what}: {e}{hint}"))
}

/// Errors that concern one row (the table refused it), not the database.
fn is_row_error(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::ConstraintViolation | ErrorCode::TypeMismatch | ErrorCode::TooBig)
    )
}

/// The columns of table `name` (`None` if there is no such table); an error if `name` is
/// a view or an index.
fn table_columns(conn: &Connection, name: &str) -> rusqlite::Result<Option<Vec<String>>> {
    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_schema WHERE name = ?1 COLLATE NOCASE AND type <> 'trigger'",
            [name],
            |r| r.get(0),
        )
        .optional()?;
    match kind.as_deref() {
        None => Ok(None),
        Some("table") => {
            let mut stmt = conn.prepare("SELECT name FROM pragma_table_xinfo(?1)")?;
            let cols = stmt
                .query_map([name], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Some(cols))
        }
        Some(other) => Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(format!("`{name}` is an existing {other}, not a table")),
        )),
    }
}

/// Adds the schema's columns that `existing` lacks (names compared ignoring ASCII case).
fn add_missing_columns(
    conn: &Connection,
    table: &str,
    existing: &[String],
    columns: &[ColumnMeta],
) -> rusqlite::Result<()> {
    let have: std::collections::HashSet<String> =
        existing.iter().map(|c| c.to_ascii_lowercase()).collect();
    for c in columns {
        if !have.contains(&c.name.to_ascii_lowercase()) {
            conn.execute_batch(&format!(
                "ALTER TABLE {} ADD COLUMN {} {}",
                quote(table),
                quote(c.name.as_str()),
                sql_type(c.dtype)
            ))?;
        }
    }
    Ok(())
}

fn column_list(columns: &[ColumnMeta]) -> String {
    columns
        .iter()
        .map(|c| quote(c.name.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `PRAGMA integrity_check` output must be the single row `ok`.
pub(crate) fn check_integrity(shown: &str, rows: &[String]) -> PluginResult<()> {
    if rows.len() == 1 && rows[0] == "ok" {
        return Ok(());
    }
    let first: Vec<&str> = rows.iter().take(3).map(String::as_str).collect();
    Err(PluginError::corrupt(format!(
        "{shown}: PRAGMA integrity_check reports {} problem(s): {}; the database is damaged, restore it or write to a new file",
        rows.len(),
        first.join(" | ")
    )))
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Fails on a file that is not a database.
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
    // WAL: readers are not blocked while rows go in, and commits are cheap. The mode is
    // kept by the file. Some file systems cannot do it; the database then keeps its mode.
    let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Renaming the staging table must not re-check views on the replaced table.
    conn.pragma_update(None, "legacy_alter_table", "ON")?;
    Ok(conn)
}

impl SqliteWriter {
    pub(crate) fn open(
        target: &str,
        schema: &Schema,
        options: &SqliteOptions,
    ) -> PluginResult<SqliteWriter> {
        let columns: Vec<ColumnMeta> = schema.columns.to_vec();
        crate::options::check_columns(&columns)?;
        check_identifier("db_table", &options.table)?;
        let path = database_path(target)?;
        let shown = format!(
            "database {}, table {}",
            path.display(),
            quote(&options.table)
        );
        if path.is_dir() {
            return Err(PluginError::io(format!(
                "output path {} is a directory; give a database file path such as flows.db",
                path.display()
            )));
        }
        let (conn, temp) = if path.exists() {
            let conn = open_connection(&path).map_err(|e| db_error(&shown, "cannot open", &e))?;
            (conn, None)
        } else {
            let (temp, file) = TempTarget::create(&path)?;
            drop(file);
            let temp = temp.with_sidecars(&["-wal", "-shm", "-journal"]);
            let conn = open_connection(temp.temp_path())
                .map_err(|e| db_error(&shown, "cannot create", &e))?;
            (conn, Some(temp))
        };
        let mut w = SqliteWriter {
            columns,
            shown,
            path,
            table: options.table.clone(),
            if_exists: options.if_exists,
            db: None,
            temp,
            rows_received: 0,
            rows_failed: 0,
            state: State::Open,
        };
        let db = w.prepare(conn, options.batch_size as u64)?;
        w.db = Some(db);
        Ok(w)
    }

    /// Decides where rows go and creates or extends the table.
    fn prepare(&self, conn: Connection, batch_size: u64) -> PluginResult<Db> {
        let shown = &self.shown;
        let err = |what: &str, e: rusqlite::Error| db_error(shown, what, &e);
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| err("cannot start a transaction", e))?;
        let result = (|| {
            let existing = table_columns(&conn, &self.table)?;
            let dest = match (existing, self.if_exists) {
                (Some(_), IfExists::Fail) => return Ok(None),
                (Some(cols), IfExists::Append) => {
                    add_missing_columns(&conn, &self.table, &cols, &self.columns)?;
                    Dest::Direct
                }
                (None, _) | (Some(_), IfExists::Replace) => {
                    let name = format!(
                        "{}.jj-partial-{}-{}",
                        self.table,
                        std::process::id(),
                        NEXT_STAGING.fetch_add(1, Ordering::Relaxed)
                    );
                    let defs: Vec<String> = self
                        .columns
                        .iter()
                        .map(|c| format!("{} {}", quote(c.name.as_str()), sql_type(c.dtype)))
                        .collect();
                    conn.execute_batch(&format!(
                        "CREATE TABLE {} ({})",
                        quote(&name),
                        defs.join(", ")
                    ))?;
                    Dest::Staging(name)
                }
            };
            Ok(Some(dest))
        })();
        let dest = match result {
            Ok(Some(dest)) => dest,
            Ok(None) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(PluginError::config(format!(
                    "{shown}: the table already exists and db_if_exists=fail; choose another db_table, or db_if_exists=append or replace"
                )));
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(err("cannot prepare the table", e));
            }
        };
        conn.execute_batch("COMMIT")
            .map_err(|e| err("cannot prepare the table", e))?;
        let into = match &dest {
            Dest::Direct => self.table.as_str(),
            Dest::Staging(name) => name.as_str(),
        };
        let rowids = match dest {
            // A rowid table: `SELECT rowid` compiles (it does not for WITHOUT ROWID).
            Dest::Direct => conn
                .prepare(&format!("SELECT rowid FROM {} LIMIT 0", quote(into)))
                .is_ok()
                .then(Vec::new),
            Dest::Staging(_) => None,
        };
        let params: Vec<String> = (1..=self.columns.len()).map(|i| format!("?{i}")).collect();
        let insert_sql = if self.columns.is_empty() {
            format!("INSERT INTO {} DEFAULT VALUES", quote(into))
        } else {
            format!(
                "INSERT INTO {} ({}) VALUES ({})",
                quote(into),
                column_list(&self.columns),
                params.join(", ")
            )
        };
        // Fails now, not at the first row, if the statement cannot work.
        conn.prepare_cached(&insert_sql)
            .map_err(|e| err("cannot prepare the insert", e))?;
        Ok(Db {
            conn,
            dest,
            insert_sql,
            batch_size,
            in_txn: false,
            txn_ok: 0,
            committed: 0,
            rowids,
            mark: None,
            scratch: Vec::new(),
        })
    }

    fn check_open(&self) -> PluginResult<()> {
        match self.state {
            State::Open => Ok(()),
            State::Failed => Err(PluginError::io(format!(
                "{}: output is incomplete after an earlier error",
                self.shown
            ))),
            State::Finished(_) | State::Aborted => Err(PluginError::other(format!(
                "{}: output is already closed",
                self.shown
            ))),
        }
    }

    /// Makes the rows of the staging table the final table, in one transaction.
    fn publish(&self, db: &Db, staging: &str) -> rusqlite::Result<Option<&'static str>> {
        let conn = &db.conn;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = (|| {
            let (t, s) = (quote(&self.table), quote(staging));
            match (table_columns(conn, &self.table)?, self.if_exists) {
                (None, _) => conn.execute_batch(&format!("ALTER TABLE {s} RENAME TO {t}"))?,
                (Some(_), IfExists::Replace) => conn.execute_batch(&format!(
                    "DROP TABLE {t}; ALTER TABLE {s} RENAME TO {t}"
                ))?,
                (Some(_), IfExists::Fail) => {
                    return Ok(Some(
                        "the table was created by someone else while this run was writing (db_if_exists=fail)",
                    ))
                }
                (Some(cols), IfExists::Append) => {
                    // Another run created the table meanwhile: append to it.
                    add_missing_columns(conn, &self.table, &cols, &self.columns)?;
                    let list = column_list(&self.columns);
                    conn.execute_batch(&format!(
                        "INSERT INTO {t} ({list}) SELECT {list} FROM {s}; DROP TABLE {s}"
                    ))?;
                }
            }
            Ok(None)
        })();
        match result {
            Ok(None) => conn.execute_batch("COMMIT").map(|()| None),
            other => {
                let _ = conn.execute_batch("ROLLBACK");
                other
            }
        }
    }

    fn finish_inner(&mut self) -> PluginResult<u64> {
        let shown = self.shown.clone();
        let err = |what: &str, e: rusqlite::Error| db_error(&shown, what, &e);
        let Some(db) = self.db.as_mut() else {
            return Err(PluginError::other(format!(
                "{shown}: output is already closed"
            )));
        };
        db.commit().map_err(|e| err("cannot commit", e))?;
        let db = self.db.as_ref().expect("checked above");
        if let Dest::Staging(staging) = &db.dest {
            if let Some(problem) = self
                .publish(db, staging)
                .map_err(|e| err("cannot create the final table", e))?
            {
                return Err(PluginError::config(format!("{shown}: {problem}")));
            }
        }
        let rows: Vec<String> = (|| {
            let mut stmt = db.conn.prepare("PRAGMA integrity_check")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })()
        .map_err(|e| err("PRAGMA integrity_check failed", e))?;
        check_integrity(&shown, &rows)?;
        // Fold the WAL back into the database file (best effort: readers may hold it).
        let _ = db
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        let written = db.committed;
        let db = self.db.take().expect("checked above");
        if let Err((_conn, e)) = db.conn.close() {
            return Err(err("cannot close", e));
        }
        if let Some(temp) = self.temp.as_mut() {
            temp.commit_no_clobber()?;
        }
        Ok(written)
    }

    /// Removes this run's rows: rolls back, drops the staging table or deletes the rows
    /// appended so far, and removes a new database file.
    fn discard(&mut self) {
        if let Some(mut db) = self.db.take() {
            if db.in_txn || !db.conn.is_autocommit() {
                let _ = db.conn.execute_batch("ROLLBACK");
            }
            // Forget the rows of the transaction just rolled back (or failed to commit).
            if let (Some(ranges), Some((len, last))) = (db.rowids.as_mut(), db.mark.take()) {
                ranges.truncate(len);
                if let (Some(slot), Some(last)) = (ranges.last_mut(), last) {
                    *slot = last;
                }
            }
            let conn = &db.conn;
            if self.temp.is_none() {
                match &db.dest {
                    Dest::Staging(name) => {
                        let _ =
                            conn.execute_batch(&format!("DROP TABLE IF EXISTS {}", quote(name)));
                    }
                    Dest::Direct => {
                        if let Some(ranges) = db.rowids.as_ref().filter(|r| !r.is_empty()) {
                            let _ = delete_rowids(conn, &self.table, ranges);
                        }
                    }
                }
            }
            let _ = db.conn.close();
        }
        if let Some(t) = self.temp.as_mut() {
            t.discard();
        }
    }

    /// The temporary database file while the output is not final (tests).
    #[cfg(test)]
    pub(crate) fn temp_path(&self) -> Option<&Path> {
        self.temp
            .as_ref()
            .filter(|t| t.is_pending())
            .map(TempTarget::temp_path)
    }

    /// The final database path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn delete_rowids(conn: &Connection, table: &str, ranges: &[(i64, i64)]) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        let mut stmt = conn.prepare(&format!(
            "DELETE FROM {} WHERE rowid BETWEEN ?1 AND ?2",
            quote(table)
        ))?;
        for (a, b) in ranges {
            stmt.execute([a, b])?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Binds the value of `row` of column `c` to parameter `idx`.
fn bind(
    stmt: &mut Statement<'_>,
    idx: usize,
    c: &Column<'_>,
    row: usize,
    scratch: &mut Vec<u8>,
) -> rusqlite::Result<()> {
    if !c.is_valid(row) {
        return stmt.raw_bind_parameter(idx, Null);
    }
    match c.dtype {
        DType::Int64 => stmt.raw_bind_parameter(idx, c.int(row)),
        DType::Bool => stmt.raw_bind_parameter(idx, c.bool(row) as i64),
        // SQLite stores NaN as NULL.
        DType::Float64 => stmt.raw_bind_parameter(idx, c.float(row)),
        DType::String => stmt.raw_bind_parameter(idx, c.str(row)),
        DType::FloatList | DType::IntList => {
            scratch.clear();
            if c.dtype == DType::FloatList {
                write_json_float_list(scratch, c.float_list(row));
            } else {
                write_json_int_list(scratch, c.int_list(row));
            }
            // Number lists are ASCII.
            stmt.raw_bind_parameter(idx, std::str::from_utf8(scratch).unwrap_or("[]"))
        }
    }
}

impl Db {
    fn begin(&mut self) -> rusqlite::Result<()> {
        if !self.in_txn {
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.in_txn = true;
            self.txn_ok = 0;
            self.mark = self.rowids.as_ref().map(|r| (r.len(), r.last().copied()));
        }
        Ok(())
    }

    fn commit(&mut self) -> rusqlite::Result<()> {
        if self.in_txn {
            self.conn.execute_batch("COMMIT")?;
            self.in_txn = false;
            self.committed += self.txn_ok;
            self.mark = None;
        }
        Ok(())
    }

    /// Inserts `rows` rows, one transaction per `batch_size` rows, all committed before
    /// returning: a transaction never stays open between batches, so concurrent writers
    /// (other jj runs appending to the same database) are never held up for longer than
    /// one transaction, however slowly rows arrive. Returns how many rows the table
    /// refused.
    fn insert(&mut self, columns: &[Column<'_>], rows: usize) -> rusqlite::Result<u64> {
        let mut refused = 0;
        let per_txn = usize::try_from(self.batch_size).unwrap_or(usize::MAX);
        let mut r = 0;
        while r < rows {
            let end = rows.min(r.saturating_add(per_txn));
            self.begin()?;
            {
                let mut stmt = self.conn.prepare_cached(&self.insert_sql)?;
                for row in r..end {
                    for (i, c) in columns.iter().enumerate() {
                        bind(&mut stmt, i + 1, c, row, &mut self.scratch)?;
                    }
                    match stmt.raw_execute() {
                        Ok(_) => {
                            self.txn_ok += 1;
                            if let Some(ranges) = self.rowids.as_mut() {
                                let id = self.conn.last_insert_rowid();
                                match ranges.last_mut() {
                                    Some((_, b)) if id.checked_sub(1) == Some(*b) => *b = id,
                                    _ => ranges.push((id, id)),
                                }
                            }
                        }
                        // The table refused the row; the transaction goes on, unless the
                        // table's conflict clause (or a trigger) rolled it back: then the
                        // rows before it are lost too, and the output fails.
                        Err(e) if is_row_error(&e) && !self.conn.is_autocommit() => refused += 1,
                        Err(e) => {
                            self.in_txn = !self.conn.is_autocommit();
                            return Err(e);
                        }
                    }
                }
            }
            self.commit()?;
            r = end;
        }
        Ok(refused)
    }
}

impl Writer for SqliteWriter {
    fn write_batch(&mut self, batch: &RowBatch<'_>) -> PluginResult<()> {
        self.check_open()?;
        let rows = match check_batch(&self.columns, batch) {
            Ok(rows) => rows,
            Err(e) => {
                // Rejected as a whole, nothing written; the output stays usable.
                self.rows_failed += batch.num_rows;
                return Err(e);
            }
        };
        let Some(db) = self.db.as_mut() else {
            return self.check_open();
        };
        match db.insert(batch.columns.as_slice(), rows) {
            Ok(refused) => {
                self.rows_received += batch.num_rows;
                self.rows_failed += refused;
                Ok(())
            }
            Err(e) => {
                let e = db_error(&self.shown, "cannot insert rows", &e);
                self.state = State::Failed;
                self.rows_failed += batch.num_rows;
                self.discard();
                Err(e)
            }
        }
    }

    fn finish(&mut self) -> PluginResult<WriteSummary> {
        if let State::Finished(summary) = self.state {
            return Ok(summary);
        }
        self.check_open()?;
        match self.finish_inner() {
            Ok(written) => {
                let summary = WriteSummary {
                    rows_received: self.rows_received,
                    rows_written: written,
                    rows_failed: self.rows_failed,
                };
                self.state = State::Finished(summary);
                Ok(summary)
            }
            Err(e) => {
                self.state = State::Failed;
                self.discard();
                Err(e)
            }
        }
    }

    fn abort(&mut self) {
        if !matches!(self.state, State::Finished(_)) {
            self.state = State::Aborted;
            self.discard();
        }
    }
}

impl Drop for SqliteWriter {
    /// Dropped without `finish` (host error, panic): this run's rows are removed.
    fn drop(&mut self) {
        if !matches!(self.state, State::Finished(_)) {
            self.discard();
        }
    }
}
