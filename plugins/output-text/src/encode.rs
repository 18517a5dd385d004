//! Row encoders: one row of a columnar batch to CSV or JSON Lines text.
//!
//! Everything appends to caller-owned buffers that the writer reuses for every row,
//! so the hot path allocates nothing once the buffers have grown to the widest row.
//! The value texts themselves (floats, integers, strings, CSV quoting) come from
//! [`jj_kit::pyfmt`]; this module only lays them out.

use jj_kit::pyfmt::{
    write_csv_field, write_i64, write_json_float, write_json_string_ascii, write_py_float,
};
use jj_plugin_api::{Column, ColumnMeta, DType, PluginError, PluginResult, RowBatch};

/// The text format of a writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextFormat {
    Csv,
    Jsonl,
}

/// A float list as Python's `json.dumps(list)`: `[0.01, 0.02]`, `[]`, non-finite values as
/// `Infinity` / `-Infinity` / `NaN`.
pub(crate) fn write_json_float_list(out: &mut Vec<u8>, values: &[f64]) {
    out.push(b'[');
    for (i, &v) in values.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        write_json_float(out, v);
    }
    out.push(b']');
}

/// An int list as Python's `json.dumps(list)`: `[60, 1500]`, `[]`.
pub(crate) fn write_json_int_list(out: &mut Vec<u8>, values: &[i64]) {
    out.push(b'[');
    for (i, &v) in values.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        write_i64(out, v);
    }
    out.push(b']');
}

/// Appends a list's JSON text as one CSV field. The JSON text is built in `scratch`
/// (reused, so no allocation) and then quoted by the shared CSV field writer.
fn write_csv_list(out: &mut Vec<u8>, scratch: &mut Vec<u8>, fill: impl FnOnce(&mut Vec<u8>)) {
    scratch.clear();
    fill(scratch);
    // The JSON text of a number list is ASCII: digits, signs, `.`, `e`, `[`, `]`, `,`, ` `
    // and the letters of `Infinity` / `NaN`.
    let text = std::str::from_utf8(scratch).unwrap_or_default();
    write_csv_field(out, text);
}

/// The CSV header line (with its `\n`).
pub(crate) fn csv_header(columns: &[ColumnMeta]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_csv_field(&mut out, c.name.as_str());
    }
    finish_csv_record(&mut out, 0, columns.len());
    out
}

/// Ends a CSV record that started at `start`. Like Python's `csv` module, a record that
/// consists of a single empty field is written as `""`, so that it is not read back as
/// an empty line (which readers skip).
fn finish_csv_record(out: &mut Vec<u8>, start: usize, num_fields: usize) {
    if num_fields == 1 && out.len() == start {
        out.extend_from_slice(b"\"\"");
    }
    out.push(b'\n');
}

/// Appends one CSV record (with its `\n`) for `row`.
pub(crate) fn csv_row(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    columns: &[Column<'_>],
    row: usize,
) {
    let start = out.len();
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if !c.is_valid(row) {
            continue; // null: empty field
        }
        match c.dtype {
            DType::Int64 => write_i64(out, c.int(row)),
            DType::Float64 => write_py_float(out, c.float(row)),
            DType::Bool => out.extend_from_slice(if c.bool(row) { b"True" } else { b"False" }),
            DType::String => write_csv_field(out, c.str(row)),
            DType::FloatList => write_csv_list(out, scratch, |s| {
                write_json_float_list(s, c.float_list(row))
            }),
            DType::IntList => {
                write_csv_list(out, scratch, |s| write_json_int_list(s, c.int_list(row)))
            }
        }
    }
    finish_csv_record(out, start, columns.len());
}

/// The JSON object keys, pre-rendered once per writer: for column `i`, the bytes that
/// precede its value (`{"name": ` for the first column, `, "name": ` for the others).
pub(crate) struct JsonKeys {
    text: Vec<u8>,
    /// `ends[i]` is the end of key `i` in `text` (key `i` starts at `ends[i - 1]`, or 0).
    ends: Vec<usize>,
}

impl JsonKeys {
    pub(crate) fn new(columns: &[ColumnMeta]) -> Self {
        let mut text = Vec::new();
        let mut ends = Vec::with_capacity(columns.len());
        for (i, c) in columns.iter().enumerate() {
            text.extend_from_slice(if i == 0 { b"{" } else { b", " });
            write_json_string_ascii(&mut text, c.name.as_str());
            text.extend_from_slice(b": ");
            ends.push(text.len());
        }
        JsonKeys { text, ends }
    }

    fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

/// Appends one JSON Lines record (with its `\n`) for `row`, as Python's
/// `json.dumps(row_dict) + "\n"` writes it.
pub(crate) fn jsonl_row(out: &mut Vec<u8>, keys: &JsonKeys, columns: &[Column<'_>], row: usize) {
    if columns.is_empty() {
        out.extend_from_slice(b"{}\n");
        return;
    }
    for (i, c) in columns.iter().enumerate() {
        out.extend_from_slice(keys.key(i));
        if !c.is_valid(row) {
            out.extend_from_slice(b"null");
            continue;
        }
        match c.dtype {
            DType::Int64 => write_i64(out, c.int(row)),
            DType::Float64 => write_json_float(out, c.float(row)),
            DType::Bool => out.extend_from_slice(if c.bool(row) { b"true" } else { b"false" }),
            DType::String => write_json_string_ascii(out, c.str(row)),
            DType::FloatList => write_json_float_list(out, c.float_list(row)),
            DType::IntList => write_json_int_list(out, c.int_list(row)),
        }
    }
    out.extend_from_slice(b"}\n");
}

/// Checks that a batch has the schema's columns and that every buffer is long enough for
/// its rows, so that a malformed batch is rejected as a whole instead of being written
/// with placeholder values.
pub(crate) fn check_batch(schema: &[ColumnMeta], batch: &RowBatch<'_>) -> PluginResult<usize> {
    let rows = usize::try_from(batch.num_rows).map_err(|_| {
        PluginError::other(format!("batch of {} rows is too large", batch.num_rows))
    })?;
    let columns = batch.columns.as_slice();
    if columns.len() != schema.len() {
        return Err(PluginError::other(format!(
            "batch has {} columns but the schema has {}",
            columns.len(),
            schema.len()
        )));
    }
    for (meta, c) in schema.iter().zip(columns) {
        let bad = |what: String| {
            PluginError::other(format!(
                "batch column `{}` ({}): {what}",
                meta.name,
                meta.dtype.as_str()
            ))
        };
        if c.dtype != meta.dtype {
            return Err(bad(format!("has dtype {}", c.dtype.as_str())));
        }
        if c.valid.len() < rows {
            return Err(bad(format!(
                "{} validity flags for {rows} rows",
                c.valid.len()
            )));
        }
        let (data_len, needed) = match c.dtype {
            DType::Int64 | DType::Bool => (c.ints.len(), rows),
            DType::Float64 => (c.floats.len(), rows),
            DType::String | DType::FloatList | DType::IntList => {
                if rows > 0 && c.offsets.len() < rows + 1 {
                    return Err(bad(format!("{} offsets for {rows} rows", c.offsets.len())));
                }
                let end = if rows > 0 {
                    c.offsets[rows] as usize
                } else {
                    0
                };
                let len = match c.dtype {
                    DType::String => c.bytes.len(),
                    DType::FloatList => c.floats.len(),
                    _ => c.ints.len(),
                };
                (len, end)
            }
        };
        if data_len < needed {
            return Err(bad(format!(
                "data buffer holds {data_len} values, {needed} needed"
            )));
        }
    }
    Ok(rows)
}
