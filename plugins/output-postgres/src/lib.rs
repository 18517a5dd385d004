//! # jj PostgreSQL output writer
//!
//! Writer component `postgres` (format `postgres`) for the `jj` host: rows go into a
//! PostgreSQL table, in batches loaded with `COPY ... FROM STDIN (FORMAT binary)`.
//!
//! ```text
//! jj extract capture.pcap -o postgresql://jj@db.example:5432/flows --db-table analytics.flows
//! ```
//!
//! ## Target
//!
//! `postgresql://[user[:password]@][host][:port][/dbname][?param=value&...]` or the same
//! with `postgres://` (the host picks this writer for such a target without `-f`).
//! Parameters are libpq's (`application_name`, `connect_timeout`, `options`, `sslmode`,
//! `host=/socket/dir` for a Unix socket, ...). Without a host the local Unix socket
//! `/var/run/postgresql` is used (else `localhost`); without a password, `PGPASSWORD`;
//! without a user, the login name. Connections announce `application_name=jj` unless the
//! URL sets another, and give up connecting after 5 s (`connect_timeout`). Passwords
//! never appear in messages. There is no TLS (see below): `sslmode=require` is refused.
//!
//! ## Options
//!
//! `key=value` lines from the host (`--db-table`, `--db-if-exists`, `--db-batch-size`, or
//! a `[plugins.postgres]` table of the config file); unknown keys are ignored.
//!
//! * `db_table` — table name, or `schema.table` (default `jj_features` in the
//!   connection's `current_schema()`, normally `public`). A missing schema is created.
//!   Names are 1 to 63 bytes without control characters (PostgreSQL would silently cut a
//!   longer name) and are always double-quoted, so case is kept: `Flows` is not `flows`.
//! * `db_if_exists` — `append` (default): insert into the table, creating it if needed
//!   and adding missing columns with `ALTER TABLE ... ADD COLUMN`; `replace`: the new
//!   table replaces the old one when the run finishes; `fail`: refuse if the table
//!   exists.
//! * `db_batch_size` — rows per `COPY` transaction (default 1000). Up to three batches
//!   are held in memory at once (being encoded, waiting, being copied): about 2 kB per
//!   row of 150 columns.
//! * `db_retries` — retries of a batch after a lost connection (default 5, at most 20).
//!
//! ## Tables and types
//!
//! The table is created from the runtime schema, one column per feature in schema
//! order: `int64` → `bigint`, `float64` → `double precision`, `bool` → `boolean`,
//! `string` → `text`, `list<float64>` → `double precision[]`, `list<int64>` →
//! `bigint[]`. Lists are native arrays rather than JSON text, so SQL can use them
//! directly (`unnest`, `array_length`, `iat_sequence[1]`); an empty list is `'{}'`, a
//! null value `NULL`. Floats keep every bit, NaN and ±Infinity included.
//!
//! Appending to an existing table accepts, for each column, its own type as above, or
//! `text` / `varchar` (then the value is written as the CSV writer prints it: Python
//! `repr` floats, `True`/`False`, lists as JSON). Any other type of an existing column,
//! a view instead of a table, or a `NOT NULL` column without a default that jj does not
//! fill, is refused when the output is opened, with a message naming it. Opening also
//! runs a `COPY` of no rows (rolled back), so a missing `INSERT` privilege shows up at
//! once, not at the first batch.
//!
//! PostgreSQL `text` cannot hold the NUL character: a string containing one is written
//! with U+FFFD in its place, and the number of such values is reported at the end.
//!
//! ## Loading, reconnecting, failures
//!
//! Rows are encoded on the host's output thread; a loader thread owns the connection
//! and copies each batch while the next one is being encoded, so the server's work
//! overlaps with extraction (a fatal error shows up in the next `write_batch` or in
//! `finish`). Each batch is one binary `COPY` in its own transaction, with the `COPY`
//! statement prepared once per connection ([`encode`] has the format:
//! every value is sent with its length, so nothing needs escaping — tabs, newlines,
//! backslashes and `\N` in strings arrive as they are, and null stays distinct from the
//! empty string). A lost connection is retried with exponential backoff: pauses of
//! 0.25, 0.5, 1, 2 and 4 s (`db_retries=5`, about 8 s plus connection attempts), after
//! which the batch is re-sent on a new connection. A batch is one transaction, so it is
//! either committed whole or not at all; when the connection breaks while `COMMIT` is
//! unanswered, the writer asks the server (`txid_status`) before re-sending, so no batch
//! is written twice ([`conn`]). A batch that still cannot be written is counted in
//! `WriteSummary::rows_failed` and reported on standard error, and the run goes on;
//! while the server stays unreachable, later batches get one attempt each, spaced like
//! the retries (up to 4 s apart), and those in between are counted as failed at once. Rows the server refuses are found by splitting the batch, and only they
//! are counted as failed. See [`writer`] for where rows go under each `db_if_exists`
//! mode and what `abort` removes.
//!
//! At the end the writer prints, on standard error, a line with `rows_failed=N` and
//! `rows_written=M` when rows failed (or after reconnects), since the host does not
//! print the write summary.
//!
//! ## Throughput
//!
//! `benches/copy_throughput.rs` (`cargo bench -p jj-output-postgres`) writes 200,000
//! rows into a local PostgreSQL 15 (default settings, fsync on) on the project's 2-core
//! machine, `db_batch_size=1000`: the JJ-CORE column mix (151 columns) at 75,000 to
//! 94,000 rows/s (about 140 MB/s of COPY data), 60 mixed columns at 150,000 to 170,000
//! rows/s. The server process is the limit (about 100,000 JJ-CORE rows per CPU-second;
//! the writer's own encoding is about 1,000,000 rows per CPU-second).
//!
//! ## Why the `postgres` crate
//!
//! No PostgreSQL client is on the project's list of dependencies, so one was chosen:
//! [`postgres`](https://docs.rs/postgres) 0.19 (rust-postgres, MIT/Apache-2.0), the
//! synchronous client built on `tokio-postgres`. It is pure Rust (no libpq to install
//! or link; the plugin stays a self-contained `.so`), maintained, widely used, and has
//! what this writer needs: `COPY FROM STDIN` as a `std::io::Write`, libpq-style URLs,
//! connect and TCP timeouts, and SQLSTATE codes on errors. Its synchronous API matches
//! the `Writer` trait (the host calls writers from one thread); the small Tokio runtime
//! it runs internally stays inside the plugin. Alternatives: `tokio-postgres` directly
//! (the same code plus a runtime to manage here), `sqlx` (much larger, async only),
//! binding libpq through `pq-sys` (a system library and `unsafe` code, which this crate
//! denies). TLS would need another crate (`postgres-native-tls` / `postgres-openssl`
//! and a system TLS library, or rustls); it is left out of this version, so connect over
//! a trusted network, a Unix socket or an SSH tunnel. The crate needs Rust 1.85 (the
//! `postgres` crate's minimum) and a PostgreSQL server 10 or newer.
#![deny(unsafe_code)]

pub mod conn;
pub mod encode;
mod options;
pub mod writer;

#[cfg(test)]
mod tests;

use jj_plugin_api::{FormatInfo, Options, PluginResult, Schema, WriterFactory};

pub use options::{
    check_identifier, quote, redact, sql_type, IfExists, PgOptions, TableName, Target,
    DEFAULT_BATCH_SIZE, DEFAULT_RETRIES, DEFAULT_TABLE,
};
pub use writer::PgWriter;

/// The `postgres` writer component.
#[derive(Clone, Copy, Debug, Default)]
pub struct PostgresFactory;

impl WriterFactory for PostgresFactory {
    type Output = PgWriter;
    fn options(&self) -> Option<Vec<jj_plugin_api::OptionSpec>> {
        Some(options::OPTIONS.to_vec())
    }

    fn formats(&self) -> Vec<FormatInfo> {
        vec![FormatInfo {
            name: "postgres".into(),
            extension: String::new().into(),
            description: "PostgreSQL table via COPY (target postgresql://user@host:port/db; db_table, db_if_exists=append|replace|fail, db_batch_size)".into(),
            supports_stdout: 0,
        }]
    }

    fn open(
        &self,
        format: &str,
        target: &str,
        schema: &Schema,
        options: &Options,
    ) -> PluginResult<PgWriter> {
        jj_writer_util::expect_format("postgres", format, &["postgres"])?;
        let options = PgOptions::parse(options)?;
        PgWriter::open(target, schema, &options)
    }
}

/// The library's exports (`jj_plugin_root_module`).
mod export {
    use super::PostgresFactory;

    jj_plugin_api::export_plugin! {
        name: "jj-output-postgres",
        version: env!("CARGO_PKG_VERSION"),
        writers: [
            "postgres" => ("PostgreSQL output (binary COPY batches, reconnect with backoff)", PostgresFactory),
        ],
    }
}
