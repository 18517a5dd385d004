//! Hive-style partition directories: `partition_by=start_time` → `date=YYYY-MM-DD/` (the
//! UTC day of the flow's first packet), any other int, bool or string column →
//! `<column>=<value>/`.
//!
//! Conventions shared with pyarrow (`partitioning="hive"`), DuckDB
//! (`hive_partitioning=true`), Spark and Hive:
//!
//! * a null value (and an empty string, and a start time that is not a finite number
//!   within years 1..=9999) goes to `<key>=__HIVE_DEFAULT_PARTITION__`, which those
//!   readers read back as null;
//! * characters that are unsafe in a path or ambiguous in a `key=value` segment are
//!   percent-encoded as Hive does (`/` → `%2F`, `=` → `%3D`, `%` → `%25`, control
//!   characters, `"#'*:?\{[]^` and DEL); the readers decode them;
//! * the partition column itself is not stored in the files of a `<column>=<value>`
//!   layout (readers add it back from the path; storing it too makes pyarrow fail on the
//!   type conflict). The `date=` layout keeps `start_time`, since `date` is derived.

use jj_plugin_api::{Column, ColumnMeta, DType, PluginError, PluginResult};
use std::fmt::Write as _;

/// The directory of rows whose partition value is null.
pub(crate) const DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// The column whose `partition_by` means "one directory per UTC day".
pub(crate) const START_TIME: &str = "start_time";

/// Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
const MIN_SECS: i64 = -62_135_596_800;
const MAX_SECS: i64 = 253_402_300_799;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    /// `date=YYYY-MM-DD` from epoch seconds (int or float).
    Date,
    Int,
    Bool,
    Str,
}

/// How rows are assigned to partition directories.
#[derive(Clone, Debug)]
pub(crate) struct PartitionSpec {
    /// Index of the partition column in the schema.
    pub(crate) column: usize,
    kind: KeyKind,
    /// `date=` or `<escaped column name>=`.
    prefix: String,
    /// The column is left out of the files (`<column>=<value>` layouts).
    pub(crate) drop_column: bool,
}

impl PartitionSpec {
    /// The partitioning for `partition_by=<by>`: a column name (or feature id) of the
    /// schema.
    pub(crate) fn new(schema: &[ColumnMeta], by: &str) -> PluginResult<PartitionSpec> {
        let by = by.trim();
        let found: Vec<usize> = match schema.iter().position(|c| c.id.as_str() == by) {
            Some(i) => vec![i],
            None => schema
                .iter()
                .enumerate()
                .filter(|(_, c)| c.name.as_str() == by)
                .map(|(i, _)| i)
                .collect(),
        };
        let column = match found.as_slice() {
            [i] => *i,
            [] => {
                return Err(PluginError::config(format!(
                    "partition_by={by}: no output column of that name; choose one of the selected columns (e.g. start_time)"
                )))
            }
            _ => {
                return Err(PluginError::config(format!(
                    "partition_by={by}: several output columns have that name; give the feature id instead (e.g. {})",
                    schema[found[0]].id
                )))
            }
        };
        let meta = &schema[column];
        let kind = match (meta.name.as_str() == START_TIME, meta.dtype) {
            (true, DType::Int64 | DType::Float64) => KeyKind::Date,
            (_, DType::Int64) => KeyKind::Int,
            (_, DType::Bool) => KeyKind::Bool,
            (_, DType::String) => KeyKind::Str,
            (_, dtype) => {
                return Err(PluginError::config(format!(
                    "partition_by={by}: column `{}` is {}; partition by start_time (one directory per day) or by an int, bool or string column",
                    meta.name,
                    dtype.as_str()
                )))
            }
        };
        let prefix = match kind {
            KeyKind::Date => "date=".to_string(),
            _ => {
                let mut p = String::new();
                hive_escape(meta.name.as_str(), &mut p);
                p.push('=');
                p
            }
        };
        Ok(PartitionSpec {
            column,
            kind,
            prefix,
            drop_column: kind != KeyKind::Date,
        })
    }

    /// Sets `out` to the partition directory name of `row` of the partition column `c`.
    pub(crate) fn key(&self, c: &Column<'_>, row: usize, out: &mut String) {
        out.clear();
        out.push_str(&self.prefix);
        if !c.is_valid(row) {
            out.push_str(DEFAULT_PARTITION);
            return;
        }
        match self.kind {
            KeyKind::Date => {
                let secs = match c.dtype {
                    DType::Float64 => {
                        let s = c.float(row);
                        (s.is_finite() && s >= MIN_SECS as f64 && s < (MAX_SECS + 1) as f64)
                            .then(|| s.floor() as i64)
                    }
                    _ => Some(c.int(row)).filter(|s| (MIN_SECS..=MAX_SECS).contains(s)),
                };
                match secs {
                    Some(s) => {
                        let (y, m, d) = civil_from_days(s.div_euclid(86_400));
                        let _ = write!(out, "{y:04}-{m:02}-{d:02}");
                    }
                    None => out.push_str(DEFAULT_PARTITION),
                }
            }
            KeyKind::Int => {
                let _ = write!(out, "{}", c.int(row));
            }
            KeyKind::Bool => out.push_str(if c.bool(row) { "true" } else { "false" }),
            KeyKind::Str => match c.str(row) {
                "" => out.push_str(DEFAULT_PARTITION),
                s => hive_escape(s, out),
            },
        }
    }
}

/// Hive's path escaping (`FileUtils.escapePathName`): `%XX` for control characters,
/// `"#%'*/:=?\{[]^` and DEL; everything else (including non-ASCII) as is.
pub(crate) fn hive_escape(s: &str, out: &mut String) {
    for ch in s.chars() {
        let escape = matches!(
            ch,
            '\u{00}'
                ..='\u{1f}'
                    | '"'
                    | '#'
                    | '%'
                    | '\''
                    | '*'
                    | '/'
                    | ':'
                    | '='
                    | '?'
                    | '\\'
                    | '\u{7f}'
                    | '{'
                    | '['
                    | ']'
                    | '^'
        );
        if escape {
            let _ = write!(out, "%{:02X}", ch as u32);
        } else {
            out.push(ch);
        }
    }
}

/// (year, month, day) of the proleptic Gregorian calendar for days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(MIN_SECS / 86_400), (1, 1, 1));
        assert_eq!(civil_from_days(MAX_SECS.div_euclid(86_400)), (9999, 12, 31));
        // every day of 1900..2100 round-trips through a naive day counter
        let mut days = civil_days_before(1900);
        for y in 1900..2100 {
            for m in 1..=12u32 {
                for d in 1..=month_len(y, m) {
                    assert_eq!(civil_from_days(days), (y, m, d));
                    days += 1;
                }
            }
        }
    }

    fn month_len(y: i64, m: u32) -> u32 {
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ][m as usize - 1]
    }

    fn civil_days_before(year: i64) -> i64 {
        // days from 1970-01-01 back to year-01-01
        -(year..1970)
            .map(|y| (1..=12).map(|m| month_len(y, m) as i64).sum::<i64>())
            .sum::<i64>()
    }

    #[test]
    fn escaping() {
        let mut s = String::new();
        hive_escape("a/b=c%d é:\n", &mut s);
        assert_eq!(s, "a%2Fb%3Dc%25d é%3A%0A");
    }
}
