//! The writer's options and target (`key=value` lines from the host; unknown keys are
//! ignored), and SQL identifier checks.

use jj_plugin_api::{ColumnMeta, DType, OptionSpec, Options, PluginError, PluginResult};
use std::path::PathBuf;

pub const DEFAULT_TABLE: &str = "jj_features";
pub const DEFAULT_BATCH_SIZE: usize = 1000;

/// What to do when the table already exists (`db_if_exists`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfExists {
    /// Add the rows (and any missing columns, with `ALTER TABLE ... ADD COLUMN`).
    Append,
    /// Replace the table by a new one when the run finishes.
    Replace,
    /// Refuse to write.
    Fail,
}

/// Validated options.
#[derive(Clone, Debug, PartialEq)]
pub struct SqliteOptions {
    /// `db_table` (default `jj_features`).
    pub table: String,
    /// `db_if_exists` = `append` (default) | `replace` | `fail`.
    pub if_exists: IfExists,
    /// `db_batch_size`: rows per transaction (default 1000).
    pub batch_size: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            table: DEFAULT_TABLE.to_string(),
            if_exists: IfExists::Append,
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }
}

/// The options [`SqliteOptions::parse`] reads.
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("db_table", "table name (--db-table)"),
    OptionSpec::new(
        "db_if_exists",
        "append (default), replace or fail (--db-if-exists)",
    ),
    OptionSpec::new("db_batch_size", "rows per transaction (--db-batch-size)"),
];

impl SqliteOptions {
    pub fn parse(o: &Options) -> PluginResult<SqliteOptions> {
        let mut s = SqliteOptions::default();
        if let Some(t) = o.get("db_table") {
            check_identifier("db_table", t)?;
            if t.len() >= 7 && t[..7].eq_ignore_ascii_case("sqlite_") {
                return Err(PluginError::config(format!(
                    "db_table={t}: names starting with sqlite_ are reserved by SQLite; choose another table name"
                )));
            }
            s.table = t.to_string();
        }
        if let Some(v) = o.get("db_if_exists") {
            s.if_exists = match v.trim().to_ascii_lowercase().as_str() {
                "append" => IfExists::Append,
                "replace" => IfExists::Replace,
                "fail" => IfExists::Fail,
                _ => {
                    return Err(PluginError::config(format!(
                        "db_if_exists={v}: use append (default), replace or fail"
                    )))
                }
            };
        }
        if let Some(v) = o.get("db_batch_size") {
            s.batch_size = match v.trim().replace('_', "").parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(PluginError::config(format!(
                        "db_batch_size={v}: give a positive number of rows per transaction (default {DEFAULT_BATCH_SIZE})"
                    )))
                }
            };
        }
        Ok(s)
    }
}

/// The database path of a target: a path, or `sqlite://path` (`sqlite:///abs/path`).
pub fn database_path(target: &str) -> PluginResult<PathBuf> {
    let path = target.strip_prefix("sqlite://").unwrap_or(target);
    match path {
        "" => Err(PluginError::config(format!(
            "sqlite output `{target}` names no database file; give a path such as flows.db or sqlite:///data/flows.db"
        ))),
        "-" => Err(PluginError::config(
            "the sqlite writer cannot write to standard output; give a database file path such as flows.db",
        )),
        ":memory:" => Err(PluginError::config(
            "an in-memory SQLite database would be lost when jj exits; give a database file path such as flows.db",
        )),
        p if p.starts_with("file:") => Err(PluginError::config(format!(
            "sqlite output `{target}`: SQLite URI filenames are not supported; give a plain path such as flows.db"
        ))),
        p => Ok(PathBuf::from(p)),
    }
}

/// A table or column name we accept: not empty, at most 255 bytes, no control
/// characters (a name is always written double-quoted, with `"` doubled).
pub fn check_identifier(what: &str, name: &str) -> PluginResult<()> {
    if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
        return Err(PluginError::config(format!(
            "{what} {name:?} is not a usable SQL name: it must be 1 to 255 bytes without control characters"
        )));
    }
    Ok(())
}

/// `name` double-quoted, for SQL text.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The declared column type of a dtype.
pub fn sql_type(dtype: DType) -> &'static str {
    match dtype {
        DType::Int64 | DType::Bool => "INTEGER",
        DType::Float64 => "REAL",
        DType::String | DType::FloatList | DType::IntList => "TEXT",
    }
}

/// Checks the schema's column names: usable, and unique ignoring ASCII case (as SQLite
/// compares them).
pub fn check_columns(columns: &[ColumnMeta]) -> PluginResult<()> {
    let mut seen = std::collections::HashMap::new();
    for c in columns {
        check_identifier("column name", c.name.as_str())?;
        if let Some(other) = seen.insert(c.name.to_ascii_lowercase(), c.id.as_str()) {
            return Err(PluginError::config(format!(
                "columns {} and {} are both named `{}` (SQLite column names ignore case); select only one of them",
                other, c.id, c.name
            )));
        }
    }
    Ok(())
}
