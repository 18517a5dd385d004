//! Row encoders: one row of a columnar batch to CSV or JSON Lines text.
//!
//! Everything appends to caller-owned buffers that the writer reuses for every row,
//! so the hot path allocates nothing once the buffers have grown to the widest row.
//! The value texts themselves (floats, integers, strings, CSV quoting) come from
//! [`jj_kit::pyfmt`]; this module only lays them out.

use jj_kit::pyfmt::{write_csv_field, write_i64, write_py_float};
use jj_plugin_api::{Column, ColumnMeta, DType};
use jj_writer_util::json::{write_json_float_list, write_json_int_list};

/// The JSON Lines encoder is shared with the other writers that send JSON per row
/// (`jj-output-kafka`'s message values).
pub(crate) use jj_writer_util::json::{jsonl_row, JsonKeys};

/// Batch validation is shared by every writer.
pub(crate) use jj_writer_util::check_batch;

/// The text format of a writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextFormat {
    Csv,
    Jsonl,
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
