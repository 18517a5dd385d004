//! # jj SQLite output writer
//!
//! Writer component `sqlite` (format `sqlite`, extension `db`) for the `jj` host. SQLite
//! is compiled in (rusqlite's `bundled` feature): no system library is needed.
//!
//! The target is a database file path, or `sqlite://path` (`sqlite:///abs/path.db`). The
//! table is created from the runtime schema, each column double-quoted, with the types
//! `int64` → `INTEGER`, `float64` → `REAL` (SQLite stores NaN as NULL), `bool` →
//! `INTEGER` 0/1, `string` → `TEXT`, lists → `TEXT` holding the list's JSON text
//! (`[0.01, 0.02]`, as the CSV and JSON Lines writers print it; SQLite's JSON functions
//! read it, including `NaN` / `Infinity`). Null rows are SQL `NULL`.
//!
//! Options (`key=value`, unknown keys ignored):
//!
//! * `db_table` — table name (default `jj_features`; not `sqlite_*`);
//! * `db_if_exists` — `append` (default: insert into the existing table, adding missing
//!   columns with `ALTER TABLE ... ADD COLUMN`), `replace` (the new table replaces the
//!   old one when the run finishes), `fail` (refuse if the table exists);
//! * `db_batch_size` — rows per transaction (default 1000).
//!
//! The database is put in WAL mode (`synchronous=NORMAL`), each transaction inserts up
//! to `db_batch_size` rows through one prepared statement, and `finish` commits, runs
//! `PRAGMA integrity_check` (anything but `ok` is an error), checkpoints the WAL and
//! closes the database. See [`writer`] for how a run that fails or is aborted leaves no
//! partial rows behind.
#![deny(unsafe_code)]

mod options;
pub mod writer;

#[cfg(test)]
mod tests;

use jj_plugin_api::{FormatInfo, Options, PluginResult, Schema, WriterFactory};

pub use options::{IfExists, SqliteOptions, DEFAULT_BATCH_SIZE, DEFAULT_TABLE};
pub use writer::SqliteWriter;

/// The `sqlite` writer component.
#[derive(Clone, Copy, Debug, Default)]
pub struct SqliteFactory;

impl WriterFactory for SqliteFactory {
    type Output = SqliteWriter;
    fn options(&self) -> Option<Vec<jj_plugin_api::OptionSpec>> {
        Some(options::OPTIONS.to_vec())
    }

    fn formats(&self) -> Vec<FormatInfo> {
        vec![FormatInfo {
            name: "sqlite".into(),
            extension: "db".into(),
            description: "SQLite database table (db_table, db_if_exists=append|replace|fail)"
                .into(),
            supports_stdout: 0,
        }]
    }

    fn open(
        &self,
        format: &str,
        target: &str,
        schema: &Schema,
        options: &Options,
    ) -> PluginResult<SqliteWriter> {
        jj_writer_util::expect_format("sqlite", format, &["sqlite"])?;
        let options = SqliteOptions::parse(options)?;
        SqliteWriter::open(target, schema, &options)
    }
}

/// The library's exports (`jj_plugin_root_module`).
mod export {
    use super::SqliteFactory;

    jj_plugin_api::export_plugin! {
        name: "jj-output-sqlite",
        version: env!("CARGO_PKG_VERSION"),
        writers: [
            "sqlite" => ("SQLite database output (bundled SQLite, WAL, batched transactions)", SqliteFactory),
        ],
    }
}
