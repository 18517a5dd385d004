//! The PostgreSQL [`Writer`].
//!
//! Where rows go:
//!
//! * **`db_if_exists=append`** (default): the table is created if it does not exist
//!   (`CREATE TABLE IF NOT EXISTS`), columns it lacks are added (`ALTER TABLE ... ADD
//!   COLUMN`), and each batch of `db_batch_size` rows is one `COPY` in one transaction,
//!   committed before the next: readers see the rows arrive batch by batch. The ids of
//!   these transactions are remembered, so `abort` deletes exactly this run's rows
//!   (`DELETE ... WHERE xmin = ...`), even while other runs append to the same table.
//! * **`db_if_exists=replace`**, and **`fail`**: rows go into a staging table
//!   `"<table>.jj-partial-<pid>-<n>"` in the same schema, which `finish` renames to the
//!   final name in one transaction (after dropping the old table, for `replace`; after
//!   checking that nobody created it meanwhile, for `fail`). Readers see the old table or
//!   the complete new one; `abort` drops the staging table.
//!
//! A lost connection is retried (see [`crate::conn`]); a batch that could not be written
//! after all retries is counted in `rows_failed`, reported on standard error, and the
//! run goes on. While the server stays unreachable, later batches get a single attempt
//! each, the attempts spaced like the retries (doubling up to 4 s; batches in between
//! are counted as failed at once), so a dead server costs seconds, not hours, and a
//! server that is back is used again within 4 s. A batch whose `COMMIT` went unanswered
//! and whose fate could not be found out is counted as failed but remembered: once the
//! server answers again, `txid_status` tells, and a batch that did commit is moved to
//! `rows_written`.
//!
//! Rows the server refuses (a value the table does not accept, a constraint of an
//! existing table) fail the batch's transaction; the batch is then split in halves until
//! the refused rows are found, and only they are counted in `rows_failed`. If every row
//! of a batch of 16 or more is refused, the problem is the table, not the data: the
//! output fails.

use crate::{
    conn::{classify, classify_io, describe, Conn, Failure, Link, RunError},
    encode::{encoding_for, Encoding, RowEncoder, HEADER, TRAILER},
    options::{
        check_columns, literal, quote, sql_type, IfExists, PgOptions, Target, DEFAULT_RETRIES,
        MAX_IDENTIFIER_BYTES, MAX_RETRY_DELAY,
    },
};
use jj_plugin_api::{
    ColumnMeta, PluginError, PluginResult, RowBatch, Schema, WriteSummary, Writer,
};
use jj_writer_util::check_batch;
use postgres::GenericClient;
use std::{
    io::Write,
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc::{sync_channel, Receiver, SyncSender},
        Arc, Condvar, Mutex,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

/// Bytes per `CopyData` message.
const CHUNK_BYTES: usize = 256 * 1024;

/// A batch at least this large whose every row is refused fails the output.
const ALL_REFUSED_FATAL_ROWS: usize = 16;

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

/// The table rows are copied into.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Dest {
    /// The final table itself (append).
    Direct,
    /// A staging table in the same schema, renamed to the final name by `finish`.
    Staging(String),
}

/// An open PostgreSQL output. Rows are encoded on the caller's thread; a loader
/// thread owns the connection and copies each batch while the next one is being
/// encoded (at most one batch waits between them), so the server's work overlaps with
/// the host's.
pub struct PgWriter {
    columns: Vec<ColumnMeta>,
    /// `postgresql://user@host/db, table "schema"."table"`, for messages.
    shown: String,
    table_name: String,
    batch_size: usize,
    encoder: RowEncoder,
    /// Encoded rows not handed to the loader yet, and where each starts in `data`.
    data: Vec<u8>,
    starts: Vec<usize>,
    rows_received: u64,
    /// Rows that never reached the loader (a malformed batch, a value too large).
    local_failed: u64,
    first_local_failure: Option<String>,
    to_loader: Option<SyncSender<Msg>>,
    loader: Option<JoinHandle<PluginResult<WriteSummary>>>,
    shared: Arc<Shared>,
    state: State,
}

/// What the writer sends to its loader thread.
enum Msg {
    /// Encoded rows and where each starts.
    Batch(Vec<u8>, Vec<usize>),
    /// Finish the output; the counts of the writer's side go into the summary.
    Finish {
        rows_received: u64,
        local_failed: u64,
        first_local_failure: Option<String>,
        nul_strings: u64,
    },
    /// Discard the output.
    Abort,
}

/// State shared between the writer and its loader thread.
#[derive(Default)]
struct Shared {
    /// Batches handed over and not processed yet.
    in_flight: Mutex<usize>,
    idle: Condvar,
    reconnects: AtomicU64,
    /// The error that ended the output, if any.
    fatal: Mutex<Option<PluginError>>,
}

impl Shared {
    fn fatal(&self) -> Option<PluginError> {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The loader thread's side: the connection, and where rows go.
struct Loader {
    shown: String,
    schema_name: String,
    table: String,
    if_exists: IfExists,
    dest: Dest,
    copy_sql: String,
    retries: u32,
    conn: Conn,
    /// The batch being copied, and where each of its rows starts in `data`.
    data: Vec<u8>,
    starts: Vec<usize>,
    /// Transactions that committed rows of this run into the final table (append).
    xids: Vec<i64>,
    rows_written: u64,
    rows_failed: u64,
    /// Rows whose `COMMIT` went unanswered and whose fate could not be found out
    /// (counted in `rows_failed`, but they may be in the table).
    rows_uncertain: u64,
    first_failure: Option<String>,
    /// Batches whose `COMMIT` went unanswered and whose fate could not be found out
    /// yet: (transaction id, rows). Asked about again once the server answers.
    uncertain: Vec<(i64, u64)>,
    /// The server could not be reached for a whole retry budget: when it was last
    /// tried, and how long to wait before the next try.
    unreachable: Option<(Instant, Duration)>,
    /// `discard` ran (it runs at most once).
    discarded: bool,
}

/// `"schema"."table"`.
pub fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", quote(schema), quote(table))
}

/// The staging table's name: `<table>.jj-partial-<pid>-<n>`, the table name shortened
/// (at a character boundary) so the whole fits in 63 bytes.
fn staging_name(table: &str) -> String {
    let suffix = format!(
        ".jj-partial-{}-{}",
        std::process::id(),
        NEXT_STAGING.fetch_add(1, Ordering::Relaxed)
    );
    let mut keep = MAX_IDENTIFIER_BYTES
        .saturating_sub(suffix.len())
        .min(table.len());
    while !table.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{suffix}", &table[..keep])
}

fn column_list(columns: &[ColumnMeta]) -> String {
    columns
        .iter()
        .map(|c| quote(c.name.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn column_defs(columns: &[ColumnMeta]) -> String {
    columns
        .iter()
        .map(|c| format!("{} {}", quote(c.name.as_str()), sql_type(c.dtype)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A column of an existing table.
struct TableColumn {
    name: String,
    type_oid: u32,
    type_name: String,
    /// `NOT NULL` without a default or identity: a row must give it a value.
    needs_value: bool,
}

fn relkind(
    client: &mut impl GenericClient,
    schema: &str,
    table: &str,
) -> Result<Option<String>, postgres::Error> {
    let row = client.query_opt(
        "SELECT c.relkind::text FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relname = $2",
        &[&schema, &table],
    )?;
    Ok(row.map(|r| r.get::<_, String>(0)))
}

fn relkind_name(kind: &str) -> &'static str {
    match kind {
        "v" => "view",
        "m" => "materialized view",
        "i" | "I" => "index",
        "S" => "sequence",
        "c" => "composite type",
        "f" => "foreign table",
        "t" => "TOAST table",
        _ => "relation that is not a table",
    }
}

fn table_columns(
    client: &mut impl GenericClient,
    qualified: &str,
) -> Result<Vec<TableColumn>, postgres::Error> {
    let rows = client.query(
        "SELECT a.attname::text, a.atttypid::int8, pg_catalog.format_type(a.atttypid, a.atttypmod), \
                a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' \
         FROM pg_catalog.pg_attribute a \
         WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum",
        &[&qualified],
    )?;
    Ok(rows
        .iter()
        .map(|r| TableColumn {
            name: r.get(0),
            type_oid: r.get::<_, i64>(1) as u32,
            type_name: r.get(2),
            needs_value: r.get(3),
        })
        .collect())
}

impl PgWriter {
    /// Connects, prepares the table and checks that a `COPY` into it works.
    pub fn open(target: &str, schema: &Schema, opts: &PgOptions) -> PluginResult<PgWriter> {
        let columns: Vec<ColumnMeta> = schema.columns.iter().cloned().collect();
        check_columns(&columns)?;
        let target = Target::parse(target)?;
        let url = target.shown.clone();
        let label = format!("jj: postgres {url}");
        let mut conn = Conn::open(target, label).map_err(|e| {
            PluginError::io(format!(
                "cannot connect to {url}: {}; check the URL, that the server runs and that the user may log in",
                describe(&e)
            ))
        })?;
        let setup_err = |what: &str, e: &postgres::Error| {
            PluginError::io(format!("{url}: {what}: {}", describe(e)))
        };
        let client = conn
            .client()
            .map_err(|_| PluginError::io(format!("cannot connect to {url}")))?;
        let schema_name = match &opts.table.schema {
            Some(s) => s.clone(),
            None => {
                let row = client
                    .query_one("SELECT current_schema()::text", &[])
                    .map_err(|e| setup_err("cannot find the current schema", &e))?;
                row.get::<_, Option<String>>(0).ok_or_else(|| {
                    PluginError::config(format!(
                        "{url}: no schema of the search_path exists to create db_table={} in; give db_table=schema.table",
                        opts.table.table
                    ))
                })?
            }
        };
        let table = opts.table.table.clone();
        let final_name = qualified(&schema_name, &table);
        let shown = format!("{url}, table {final_name}");

        let mut tx = client
            .transaction()
            .map_err(|e| setup_err("cannot begin", &e))?;
        let prepared =
            (|| -> Result<Result<(Dest, Vec<Encoding>), PluginError>, postgres::Error> {
                if opts.table.schema.is_some() {
                    let exists = tx
                        .query_opt(
                            "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1",
                            &[&schema_name],
                        )?
                        .is_some();
                    if !exists {
                        tx.batch_execute(&format!(
                            "CREATE SCHEMA IF NOT EXISTS {}",
                            quote(&schema_name)
                        ))?;
                    }
                }
                let kind = relkind(&mut tx, &schema_name, &table)?;
                if let Some(k) = kind.as_deref().filter(|k| !matches!(*k, "r" | "p")) {
                    return Ok(Err(PluginError::config(format!(
                        "{shown}: {final_name} is a {}, not a table; choose another db_table",
                        relkind_name(k)
                    ))));
                }
                match (opts.if_exists, kind.is_some()) {
                (IfExists::Fail, true) => Ok(Err(PluginError::config(format!(
                    "{shown}: the table already exists and db_if_exists=fail; choose another db_table, or db_if_exists=append or replace"
                )))),
                (IfExists::Append, exists) => {
                    if !exists {
                        tx.batch_execute(&format!(
                            "CREATE TABLE IF NOT EXISTS {final_name} ({})",
                            column_defs(&columns)
                        ))?;
                    }
                    let existing = table_columns(&mut tx, &final_name)?;
                    let mut encodings = Vec::with_capacity(columns.len());
                    for c in &columns {
                        match existing.iter().find(|e| e.name == c.name.as_str()) {
                            Some(e) => match encoding_for(c.dtype, e.type_oid) {
                                Some(enc) => encodings.push(enc),
                                None => {
                                    return Ok(Err(PluginError::config(format!(
                                        "{shown}: column {} has type {}, but jj writes {} values ({}); change the column's type, or use db_if_exists=replace or another db_table",
                                        quote(&e.name),
                                        e.type_name,
                                        sql_type(c.dtype),
                                        c.id
                                    ))))
                                }
                            },
                            None => {
                                tx.batch_execute(&format!(
                                    "ALTER TABLE {final_name} ADD COLUMN IF NOT EXISTS {} {}",
                                    quote(c.name.as_str()),
                                    sql_type(c.dtype)
                                ))?;
                                encodings.push(Encoding::Native);
                            }
                        }
                    }
                    if let Some(e) = existing.iter().find(|e| {
                        e.needs_value && !columns.iter().any(|c| c.name.as_str() == e.name)
                    }) {
                        return Ok(Err(PluginError::config(format!(
                            "{shown}: column {} is NOT NULL without a default, and jj has no such column; give it a default, or use another db_table",
                            quote(&e.name)
                        ))));
                    }
                    Ok(Ok((Dest::Direct, encodings)))
                }
                (IfExists::Replace, _) | (IfExists::Fail, false) => {
                    let staging = staging_name(&table);
                    tx.batch_execute(&format!(
                        "CREATE TABLE {} ({})",
                        qualified(&schema_name, &staging),
                        column_defs(&columns)
                    ))?;
                    Ok(Ok((
                        Dest::Staging(staging),
                        vec![Encoding::Native; columns.len()],
                    )))
                }
            }
            })();
        let (dest, encodings) = match prepared {
            Ok(Ok(ok)) => ok,
            Ok(Err(e)) => return Err(e),
            Err(e) => return Err(setup_err("cannot prepare the table", &e)),
        };
        tx.commit()
            .map_err(|e| setup_err("cannot prepare the table", &e))?;

        let into = match &dest {
            Dest::Direct => final_name.clone(),
            Dest::Staging(s) => qualified(&schema_name, s),
        };
        let copy_sql = format!(
            "COPY {into} ({}) FROM STDIN (FORMAT binary)",
            column_list(&columns)
        );
        let mut w = Loader {
            shown: shown.clone(),
            schema_name,
            table,
            if_exists: opts.if_exists,
            dest,
            copy_sql,
            retries: opts.retries,
            conn,
            data: Vec::new(),
            starts: Vec::new(),
            xids: Vec::new(),
            rows_written: 0,
            rows_failed: 0,
            rows_uncertain: 0,
            first_failure: None,
            uncertain: Vec::new(),
            unreachable: None,
            discarded: false,
        };
        // A COPY of no rows, rolled back: fails now, not at the first batch, if the
        // user may not insert into the table or a column cannot be written.
        let check = (|| -> Result<(), Failure> {
            let copy_sql = w.copy_sql.clone();
            let client = w.conn.client()?;
            client.batch_execute("BEGIN").map_err(|e| classify(&e))?;
            let result = (|| {
                let mut copy = client
                    .copy_in(copy_sql.as_str())
                    .map_err(|e| classify(&e))?;
                copy.write_all(HEADER).map_err(|e| classify_io(&e))?;
                copy.write_all(TRAILER).map_err(|e| classify_io(&e))?;
                copy.finish().map_err(|e| classify(&e))
            })();
            let _ = client.batch_execute("ROLLBACK");
            result.map(|_| ())
        })();
        if let Err(f) = check {
            let m = match f {
                Failure::Connection(m)
                | Failure::Data(m)
                | Failure::Fatal(m)
                | Failure::Unknown(m) => m,
                Failure::Ambiguous(_, m) => m,
                Failure::InProgress => "transaction in progress".into(),
            };
            let e = PluginError::io(format!("{}: cannot COPY into the table: {m}", w.shown));
            w.discard();
            return Err(e);
        }
        let table_name = w.table_name();
        let shared = Arc::new(Shared::default());
        let (to_loader, from_writer) = sync_channel(1);
        let loader = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("jj-postgres-loader".into())
                .spawn(move || w.run(from_writer, &shared))
                .map_err(|e| PluginError::other(format!("{shown}: cannot start a thread: {e}")))?
        };
        Ok(PgWriter {
            columns,
            shown,
            table_name,
            batch_size: opts.batch_size,
            encoder: RowEncoder::new(encodings),
            data: Vec::new(),
            starts: Vec::new(),
            rows_received: 0,
            local_failed: 0,
            first_local_failure: None,
            to_loader: Some(to_loader),
            loader: Some(loader),
            shared,
            state: State::Open,
        })
    }

    /// Connections opened again after a loss, so far (as of the last batch copied).
    pub fn reconnects(&self) -> u64 {
        self.shared.reconnects.load(Ordering::Relaxed)
    }

    /// The table's name as `"schema"."table"`.
    pub fn table_name(&self) -> String {
        self.table_name.clone()
    }

    /// Waits until every batch handed to the loader so far has been copied (or has
    /// failed).
    pub fn wait_idle(&self) {
        let mut n = self
            .shared
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        while *n > 0 {
            n = self.shared.idle.wait(n).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Hands the pending rows to the loader.
    fn hand_over(&mut self) -> PluginResult<()> {
        if self.starts.is_empty() {
            return Ok(());
        }
        let (bytes, rows) = (self.data.capacity(), self.starts.capacity());
        let data = std::mem::replace(&mut self.data, Vec::with_capacity(bytes));
        let starts = std::mem::replace(&mut self.starts, Vec::with_capacity(rows));
        *self
            .shared
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner()) += 1;
        let sent = self
            .to_loader
            .as_ref()
            .is_some_and(|tx| tx.send(Msg::Batch(data, starts)).is_ok());
        if sent {
            Ok(())
        } else {
            Err(self.loader_gone())
        }
    }

    /// The error to report when the loader thread has ended early.
    fn loader_gone(&mut self) -> PluginError {
        self.to_loader = None;
        if let Some(e) = self.shared.fatal() {
            return e;
        }
        match self.loader.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            Some(Err(_)) => PluginError::new(
                jj_plugin_api::ErrorKind::Panic,
                format!("{}: the loader thread panicked", self.shown),
            ),
            _ => PluginError::other(format!("{}: the loader thread has ended", self.shown)),
        }
    }

    /// Tells the loader to finish (or abort) and waits for it.
    fn close(&mut self, msg: Msg) -> PluginResult<WriteSummary> {
        if let Some(tx) = self.to_loader.take() {
            let _ = tx.send(msg);
        }
        match self.loader.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(PluginError::new(
                jj_plugin_api::ErrorKind::Panic,
                format!("{}: the loader thread panicked", self.shown),
            )),
            None => Err(PluginError::other(format!(
                "{}: output is already closed",
                self.shown
            ))),
        }
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
}

impl Loader {
    /// The table's name as `"schema"."table"`.
    fn table_name(&self) -> String {
        qualified(&self.schema_name, &self.table)
    }

    /// The loader thread: copies batches until told to finish or abort (or until the
    /// writer is gone, which counts as abort).
    fn run(mut self, from_writer: Receiver<Msg>, shared: &Shared) -> PluginResult<WriteSummary> {
        let mut fatal: Option<PluginError> = None;
        while let Ok(msg) = from_writer.recv() {
            match msg {
                Msg::Batch(data, starts) => {
                    if fatal.is_some() {
                        self.rows_failed += starts.len() as u64;
                    } else {
                        self.data = data;
                        self.starts = starts;
                        if let Err(e) = self.flush() {
                            *shared.fatal.lock().unwrap_or_else(|e| e.into_inner()) =
                                Some(e.clone());
                            fatal = Some(e);
                        }
                    }
                    shared
                        .reconnects
                        .store(self.conn.reconnects, Ordering::Relaxed);
                    let mut n = shared.in_flight.lock().unwrap_or_else(|e| e.into_inner());
                    *n = n.saturating_sub(1);
                    shared.idle.notify_all();
                }
                Msg::Finish {
                    rows_received,
                    local_failed,
                    first_local_failure,
                    nul_strings,
                } => {
                    if let Some(e) = fatal {
                        self.discard();
                        return Err(e);
                    }
                    self.rows_failed += local_failed;
                    if self.first_failure.is_none() {
                        self.first_failure = first_local_failure;
                    }
                    return match self.finish_inner() {
                        Ok(()) => {
                            self.report(rows_received, nul_strings);
                            Ok(WriteSummary {
                                rows_received,
                                rows_written: self.rows_written,
                                rows_failed: self.rows_failed,
                            })
                        }
                        Err(e) => {
                            self.discard();
                            Err(e)
                        }
                    };
                }
                Msg::Abort => break,
            }
        }
        self.discard();
        Err(PluginError::other(format!(
            "{}: output discarded",
            self.shown
        )))
    }

    fn note_failure(&mut self, rows: u64, message: &str) {
        self.rows_failed += rows;
        if self.first_failure.is_none() {
            self.first_failure = Some(message.to_string());
        }
    }

    /// Sends the pending rows.
    fn flush(&mut self) -> PluginResult<()> {
        if self.starts.is_empty() {
            return Ok(());
        }
        let n = self.starts.len();
        let result = self.send_range(0, n);
        self.data.clear();
        self.starts.clear();
        result
    }

    /// The encoded bytes of pending rows `a..b`.
    fn range_bytes(data: &[u8], starts: &[usize], a: usize, b: usize) -> std::ops::Range<usize> {
        let end = starts.get(b).copied().unwrap_or(data.len());
        starts[a]..end
    }

    /// Copies pending rows `a..b` (one transaction), with retries; splits the range when
    /// the server refuses some of its rows.
    fn send_range(&mut self, a: usize, b: usize) -> PluginResult<()> {
        let n = b - a;
        let mut retries = self.retries;
        if let Some((since, wait)) = self.unreachable {
            if since.elapsed() < wait {
                self.note_failure(n as u64, "the server was unreachable");
                return Ok(());
            }
            // One attempt to find out whether the server is back; the next one, if
            // this fails, after twice the wait (at most 4 s).
            retries = 0;
            self.unreachable = Some((Instant::now(), (wait * 2).min(MAX_RETRY_DELAY)));
        }
        let bytes = &self.data[Self::range_bytes(&self.data, &self.starts, a, b)];
        let copy_sql = self.copy_sql.as_str();
        let mut body = |link: &mut Link| -> Result<(), Failure> {
            let statement = link.prepared(copy_sql).map_err(|e| classify(&e))?;
            let mut copy = link.client.copy_in(&statement).map_err(|e| classify(&e))?;
            let mut write = |b: &[u8]| copy.write_all(b).map_err(|e| classify_io(&e));
            write(HEADER)?;
            for chunk in bytes.chunks(CHUNK_BYTES) {
                write(chunk)?;
            }
            write(TRAILER)?;
            let copied = copy.finish().map_err(|e| classify(&e))?;
            if copied != n as u64 {
                return Err(Failure::Fatal(format!(
                    "the server reports {copied} rows copied for {n} sent"
                )));
            }
            Ok(())
        };
        let what = format!("COPY of {n} rows");
        match self.conn.run(&what, retries, &mut body) {
            Ok(xid) => {
                if self.unreachable.take().is_some() {
                    eprintln!("jj: postgres {}: the server is reachable again", self.shown);
                }
                self.rows_written += n as u64;
                if self.dest == Dest::Direct {
                    self.xids.push(xid);
                }
                self.resolve_uncertain();
                Ok(())
            }
            Err(RunError::Unreachable {
                message,
                maybe_committed,
                unresolved,
            }) => {
                if self.unreachable.is_none() {
                    let wait = crate::conn::retry_delay(retries).min(MAX_RETRY_DELAY);
                    self.unreachable = Some((Instant::now(), wait));
                }
                if let Some(xid) = unresolved {
                    self.uncertain.push((xid, n as u64));
                }
                let message = if maybe_committed {
                    self.rows_uncertain += n as u64;
                    format!(
                        "{message} (the batch may have been committed: its COMMIT went unanswered)"
                    )
                } else {
                    message
                };
                eprintln!(
                    "jj: postgres {}: {n} rows could not be written: {message}",
                    self.shown
                );
                self.note_failure(n as u64, &message);
                Ok(())
            }
            Err(RunError::Refused(message)) => {
                if n == 1 {
                    self.note_failure(1, &format!("row refused: {message}"));
                    return Ok(());
                }
                let before = self.rows_failed;
                let mid = a + n / 2;
                self.send_range(a, mid)?;
                self.send_range(mid, b)?;
                if n >= ALL_REFUSED_FATAL_ROWS && self.rows_failed - before == n as u64 {
                    return Err(PluginError::io(format!(
                        "{}: the table refuses every row: {}",
                        self.shown,
                        self.first_failure.as_deref().unwrap_or(&message)
                    )));
                }
                Ok(())
            }
            Err(RunError::Fatal(message)) => Err(PluginError::io(format!(
                "{}: cannot write rows: {message}",
                self.shown
            ))),
        }
    }

    /// Asks the server what became of the batches whose `COMMIT` went unanswered: a
    /// committed one moves from `rows_failed` to `rows_written`. One attempt each.
    fn resolve_uncertain(&mut self) {
        let mut still = Vec::new();
        for (xid, n) in std::mem::take(&mut self.uncertain) {
            match self.conn.txid_status(xid).as_ref().map(|s| s.as_deref()) {
                Ok(Some("committed")) => {
                    self.rows_failed -= n;
                    self.rows_uncertain -= n;
                    self.rows_written += n;
                    if self.dest == Dest::Direct {
                        self.xids.push(xid);
                    }
                    eprintln!(
                        "jj: postgres {}: the batch of {n} rows whose COMMIT went unanswered was committed after all: counted as written",
                        self.shown
                    );
                }
                // Not in the table: they stay counted as failed.
                Ok(Some("aborted")) => self.rows_uncertain -= n,
                // The server cannot tell any more: they stay "maybe committed".
                Ok(None) => {}
                // In progress, or no answer: ask again later.
                _ => still.push((xid, n)),
            }
        }
        self.uncertain = still;
    }

    /// Makes the staging table the final table, in one transaction.
    fn publish(&mut self, staging: &str) -> PluginResult<()> {
        let schema = self.schema_name.clone();
        let table = self.table.clone();
        let if_exists = self.if_exists;
        let shown = self.shown.clone();
        let mut conflict: Option<PluginError> = None;
        let mut body = |link: &mut Link| -> Result<(), Failure> {
            let client = &mut link.client;
            let (t, s) = (qualified(&schema, &table), qualified(&schema, staging));
            let kind = relkind(client, &schema, &table).map_err(|e| classify(&e))?;
            match (kind.as_deref(), if_exists) {
                (None, _) => {}
                (Some(_), IfExists::Fail) => {
                    conflict = Some(PluginError::config(format!(
                        "{shown}: the table was created by someone else while this run was writing (db_if_exists=fail)"
                    )));
                    return Err(Failure::Fatal("conflict".into()));
                }
                (Some("r" | "p"), _) => client
                    .batch_execute(&format!("DROP TABLE {t}"))
                    .map_err(|e| classify(&e))?,
                (Some(k), _) => {
                    conflict = Some(PluginError::config(format!(
                        "{shown}: {t} is now a {}, not a table; it was not replaced",
                        relkind_name(k)
                    )));
                    return Err(Failure::Fatal("conflict".into()));
                }
            }
            client
                .batch_execute(&format!("ALTER TABLE {s} RENAME TO {}", quote(&table)))
                .map_err(|e| classify(&e))
        };
        let result = self
            .conn
            .run("publishing the table", self.retries, &mut body);
        if let Some(e) = conflict {
            return Err(e);
        }
        match result {
            Ok(_) => Ok(()),
            Err(RunError::Refused(m) | RunError::Fatal(m)) => Err(PluginError::io(format!(
                "{}: cannot create the final table: {m}",
                self.shown
            ))),
            Err(RunError::Unreachable { message, .. }) => Err(PluginError::io(format!(
                "{}: cannot create the final table: {message}; the rows are in table {} if it still exists",
                self.shown,
                qualified(&self.schema_name, staging)
            ))),
        }
    }

    fn finish_inner(&mut self) -> PluginResult<()> {
        self.flush()?;
        // Last chance to learn what became of unanswered COMMITs: worth the default
        // retry budget (about 8 s) even when db_retries is lower.
        let mut retry = 0;
        while !self.uncertain.is_empty() {
            self.resolve_uncertain();
            if self.uncertain.is_empty() || retry >= self.retries.max(DEFAULT_RETRIES) {
                break;
            }
            std::thread::sleep(crate::conn::retry_delay(retry));
            retry += 1;
        }
        if let Dest::Staging(staging) = self.dest.clone() {
            self.publish(&staging)?;
        }
        self.conn.close();
        Ok(())
    }

    /// Removes this run's rows: drops the staging table, or deletes the rows appended
    /// so far (one attempt; a message says so if it cannot).
    fn discard(&mut self) {
        if std::mem::replace(&mut self.discarded, true) {
            return;
        }
        self.data.clear();
        self.starts.clear();
        let sql = match &self.dest {
            Dest::Staging(s) => format!("DROP TABLE IF EXISTS {}", qualified(&self.schema_name, s)),
            Dest::Direct if !self.xids.is_empty() => {
                // xmin holds the low 32 bits of the 64-bit transaction id.
                let xids: Vec<String> = self
                    .xids
                    .iter()
                    .map(|x| (x & 0xffff_ffff).to_string())
                    .collect();
                format!(
                    "DELETE FROM {} WHERE xmin::text::int8 = ANY({}::int8[])",
                    self.table_name(),
                    literal(&format!("{{{}}}", xids.join(",")))
                )
            }
            Dest::Direct => {
                self.conn.close();
                return;
            }
        };
        let result = match self.conn.client() {
            Ok(client) => client.batch_execute(&sql).map_err(|e| describe(&e)),
            Err(f) => Err(format!("{f:?}")),
        };
        if let Err(e) = result {
            let what = match &self.dest {
                Dest::Staging(s) => format!("staging table {}", qualified(&self.schema_name, s)),
                Dest::Direct => format!("{} rows written by this run", self.rows_written),
            };
            eprintln!(
                "jj: postgres {}: could not remove the {what}: {e}",
                self.shown
            );
        }
        self.xids.clear();
        self.conn.close();
    }

    /// The summary line printed when rows failed.
    fn report(&self, rows_received: u64, nul_strings: u64) {
        if nul_strings > 0 {
            eprintln!(
                "jj: postgres {}: {nul_strings} string value(s) contained NUL characters (which PostgreSQL text cannot hold), written as U+FFFD",
                self.shown
            );
        }
        if self.rows_failed > 0 {
            let uncertain = if self.rows_uncertain > 0 {
                format!(
                    " ({} of them may have been committed before the connection was lost)",
                    self.rows_uncertain
                )
            } else {
                String::new()
            };
            eprintln!(
                "jj: postgres {}: rows_failed={} of {} rows could not be written{uncertain}; rows_written={}; first failure: {}",
                self.shown,
                self.rows_failed,
                rows_received,
                self.rows_written,
                self.first_failure.as_deref().unwrap_or("?")
            );
        } else if self.conn.reconnects > 0 {
            eprintln!(
                "jj: postgres {}: rows_written={} after {} reconnect(s); no row was lost",
                self.shown, self.rows_written, self.conn.reconnects
            );
        }
    }
}

impl Writer for PgWriter {
    fn write_batch(&mut self, batch: &RowBatch<'_>) -> PluginResult<()> {
        self.check_open()?;
        if let Some(e) = self.shared.fatal() {
            self.state = State::Failed;
            return Err(e);
        }
        let rows = match check_batch(&self.columns, batch) {
            Ok(rows) => rows,
            Err(e) => {
                // Rejected as a whole, nothing written; the output stays usable.
                self.rows_received += batch.num_rows;
                self.local_failed += batch.num_rows;
                return Err(e);
            }
        };
        self.rows_received += batch.num_rows;
        let columns = batch.columns.as_slice();
        for row in 0..rows {
            let start = self.data.len();
            match self.encoder.encode_row(&mut self.data, columns, row) {
                Ok(()) => self.starts.push(start),
                Err(too_large) => {
                    let c = &self.columns[too_large.column];
                    self.local_failed += 1;
                    if self.first_local_failure.is_none() {
                        self.first_local_failure = Some(format!(
                            "a value of column {} is {} bytes, more than PostgreSQL stores in one field",
                            c.name, too_large.bytes
                        ));
                    }
                }
            }
            if self.starts.len() >= self.batch_size {
                if let Err(e) = self.hand_over() {
                    self.state = State::Failed;
                    return Err(e);
                }
            }
        }
        if let Some(e) = self.shared.fatal() {
            self.state = State::Failed;
            return Err(e);
        }
        Ok(())
    }

    fn finish(&mut self) -> PluginResult<WriteSummary> {
        if let State::Finished(summary) = self.state {
            return Ok(summary);
        }
        self.check_open()?;
        let msg = Msg::Finish {
            rows_received: self.rows_received,
            local_failed: self.local_failed,
            first_local_failure: self.first_local_failure.take(),
            nul_strings: self.encoder.nul_strings,
        };
        let result = self.hand_over().and_then(|()| self.close(msg));
        match result {
            Ok(summary) => {
                self.state = State::Finished(summary);
                Ok(summary)
            }
            Err(e) => {
                self.state = State::Failed;
                // The loader has discarded the output (or is gone).
                let _ = self.close(Msg::Abort);
                Err(e)
            }
        }
    }

    fn abort(&mut self) {
        if !matches!(self.state, State::Finished(_) | State::Aborted) {
            self.state = State::Aborted;
            self.data.clear();
            self.starts.clear();
            let _ = self.close(Msg::Abort);
        }
    }
}

impl Drop for PgWriter {
    /// Dropped without `finish` (host error, panic): this run's rows are removed.
    fn drop(&mut self) {
        self.abort();
    }
}
