//! The writer's options (`key=value` lines from the host; unknown keys are ignored), the
//! target URL, and SQL identifiers.

use jj_plugin_api::{ColumnMeta, DType, OptionSpec, Options, PluginError, PluginResult};
use std::{path::Path, str::FromStr, time::Duration};

pub const DEFAULT_TABLE: &str = "jj_features";
pub const DEFAULT_BATCH_SIZE: usize = 1000;
/// Retries of a batch after a lost connection (so 6 tries in all).
pub const DEFAULT_RETRIES: u32 = 5;
/// The first pause before a retry; it doubles on each retry, up to [`MAX_RETRY_DELAY`]
/// (0.25 + 0.5 + 1 + 2 + 4 = 7.75 s of pauses for the default 5 retries, plus the time the
/// connection attempts themselves take).
pub const FIRST_RETRY_DELAY: Duration = Duration::from_millis(250);
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(4);
/// How long one connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// PostgreSQL keeps the first 63 bytes of a longer name (NAMEDATALEN - 1).
pub const MAX_IDENTIFIER_BYTES: usize = 63;
/// PostgreSQL tables have at most 1600 columns.
pub const MAX_COLUMNS: usize = 1600;

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

/// A table name, optionally qualified by its schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableName {
    /// `None`: the connection's `current_schema()`, resolved when the output is opened.
    pub schema: Option<String>,
    pub table: String,
}

impl TableName {
    /// `table` or `schema.table`. A dot always separates the schema from the table, so
    /// neither name may contain one.
    pub fn parse(text: &str) -> PluginResult<TableName> {
        let text = text.trim();
        let parts: Vec<&str> = text.split('.').collect();
        let (schema, table) = match parts.as_slice() {
            [t] => (None, *t),
            [s, t] => (Some(*s), *t),
            _ => {
                return Err(PluginError::config(format!(
                    "db_table={text}: give a table name or schema.table (names cannot contain dots)"
                )))
            }
        };
        if let Some(s) = schema {
            check_identifier("db_table schema", s)?;
        }
        check_identifier("db_table", table)?;
        Ok(TableName {
            schema: schema.map(str::to_string),
            table: table.to_string(),
        })
    }
}

/// Validated options.
#[derive(Clone, Debug, PartialEq)]
pub struct PgOptions {
    /// `db_table` (default `jj_features`, may be `schema.table`).
    pub table: TableName,
    /// `db_if_exists` = `append` (default) | `replace` | `fail`.
    pub if_exists: IfExists,
    /// `db_batch_size`: rows per COPY (default 1000).
    pub batch_size: usize,
    /// `db_retries`: retries of a batch after a lost connection (default 5).
    pub retries: u32,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            table: TableName {
                schema: None,
                table: DEFAULT_TABLE.to_string(),
            },
            if_exists: IfExists::Append,
            batch_size: DEFAULT_BATCH_SIZE,
            retries: DEFAULT_RETRIES,
        }
    }
}

/// The options [`PgOptions::parse`] reads.
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        "db_table",
        "table name, optionally schema.table (--db-table)",
    ),
    OptionSpec::new(
        "db_if_exists",
        "append (default), replace or fail (--db-if-exists)",
    ),
    OptionSpec::new("db_batch_size", "rows per COPY (--db-batch-size)"),
    OptionSpec::new("db_retries", "retries after a lost connection, 0..=20"),
];

impl PgOptions {
    pub fn parse(o: &Options) -> PluginResult<PgOptions> {
        let mut s = PgOptions::default();
        if let Some(t) = o.get("db_table") {
            s.table = TableName::parse(t)?;
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
                        "db_batch_size={v}: give a positive number of rows per COPY (default {DEFAULT_BATCH_SIZE})"
                    )))
                }
            };
        }
        if let Some(v) = o.get("db_retries") {
            s.retries = match v.trim().parse::<u32>() {
                Ok(n) if n <= 20 => n,
                _ => {
                    return Err(PluginError::config(format!(
                        "db_retries={v}: give 0 to 20 retries after a lost connection (default {DEFAULT_RETRIES})"
                    )))
                }
            };
        }
        Ok(s)
    }
}

/// A connection target: the parsed URL and how to show it (without its password).
#[derive(Clone)]
pub struct Target {
    pub config: postgres::Config,
    /// The URL with any password replaced by `***`, for messages.
    pub shown: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// The URL with the password of its user-info part (`user:password@`) and any
/// `password=` parameter replaced by `***`.
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        let authority_end = out[rest..].find(['/', '?']).map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..authority_end].rfind('@') {
            let userinfo = &out[rest..rest + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest + colon + 1..rest + at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{head}{}", query.join("&"));
    }
    out
}

impl Target {
    /// `postgresql://[user[:password]@][host][:port][/dbname][?param=value&...]`, or the
    /// same with `postgres://`. Parameters are libpq's (`sslmode`, `application_name`,
    /// `connect_timeout`, `host=/unix/socket/dir`, ...). Defaults: no host → the local
    /// Unix socket (`/var/run/postgresql`, else `localhost`); no password →
    /// `PGPASSWORD`; no `application_name` → `jj`; no `connect_timeout` → 5 s.
    pub fn parse(target: &str) -> PluginResult<Target> {
        let shown = redact(target);
        if !(target.starts_with("postgresql://") || target.starts_with("postgres://")) {
            return Err(PluginError::config(format!(
                "postgres output `{shown}` is not a PostgreSQL URL; give postgresql://user@host:port/dbname"
            )));
        }
        let mut config = postgres::Config::from_str(target).map_err(|e| {
            PluginError::config(format!(
                "postgres output `{shown}`: {e}; give postgresql://user@host:port/dbname"
            ))
        })?;
        if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
            let socket_dir = Path::new("/var/run/postgresql");
            if cfg!(unix) && socket_dir.is_dir() {
                config.host_path(socket_dir);
            } else {
                config.host("localhost");
            }
        }
        if config.get_password().is_none() {
            if let Ok(p) = std::env::var("PGPASSWORD") {
                config.password(p);
            }
        }
        if config.get_application_name().is_none() {
            config.application_name("jj");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        // Notice that a server is gone even while only sending (a COPY) or idle.
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(Duration::from_secs(30));
        }
        // Server notices (e.g. "schema already exists, skipping") are of no interest.
        config.notice_callback(|_| {});
        if config.get_ssl_mode() == postgres::config::SslMode::Require {
            return Err(PluginError::config(format!(
                "postgres output `{shown}`: sslmode=require is not supported by this writer (it has no TLS); connect over a trusted network, a Unix socket or an SSH tunnel, with sslmode=disable or prefer"
            )));
        }
        Ok(Target { config, shown })
    }
}

/// A table, schema or column name we accept: 1 to 63 bytes (PostgreSQL would silently cut
/// a longer one), no NUL or other control characters. Names are always written
/// double-quoted (`"` doubled), so any other character is fine and case is kept.
pub fn check_identifier(what: &str, name: &str) -> PluginResult<()> {
    if name.is_empty() || name.len() > MAX_IDENTIFIER_BYTES || name.chars().any(char::is_control) {
        return Err(PluginError::config(format!(
            "{what} {name:?} is not a usable PostgreSQL name: it must be 1 to {MAX_IDENTIFIER_BYTES} bytes without control characters"
        )));
    }
    Ok(())
}

/// `name` double-quoted, for SQL text.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `value` as a SQL string literal (`'` doubled; `standard_conforming_strings` is on in
/// every supported server).
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The column type the writer creates for a dtype.
pub fn sql_type(dtype: DType) -> &'static str {
    match dtype {
        DType::Int64 => "bigint",
        DType::Float64 => "double precision",
        DType::Bool => "boolean",
        DType::String => "text",
        DType::FloatList => "double precision[]",
        DType::IntList => "bigint[]",
    }
}

/// Checks the schema: 1 to 1600 columns, usable names, no name twice (PostgreSQL
/// compares quoted names exactly, so `A` and `a` are different columns).
pub fn check_columns(columns: &[ColumnMeta]) -> PluginResult<()> {
    if columns.is_empty() {
        return Err(PluginError::config(
            "no columns are selected: a PostgreSQL table needs at least one; select some features",
        ));
    }
    if columns.len() > MAX_COLUMNS {
        return Err(PluginError::config(format!(
            "{} columns are selected but a PostgreSQL table holds at most {MAX_COLUMNS}; select fewer features (e.g. --profile JJ-CORE)",
            columns.len()
        )));
    }
    let mut seen = std::collections::HashMap::new();
    for c in columns {
        check_identifier("column name", c.name.as_str())?;
        if let Some(other) = seen.insert(c.name.as_str(), c.id.as_str()) {
            return Err(PluginError::config(format!(
                "columns {} and {} are both named `{}`; select only one of them",
                other, c.id, c.name
            )));
        }
    }
    Ok(())
}
