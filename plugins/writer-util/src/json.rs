//! List values as Python's `json.dumps(list)` text: how CSV, JSON Lines and SQLite write
//! them; and whole rows as JSON objects ([`jsonl_row`]): the `jsonl` writer's lines and
//! the Kafka writer's message values. Number texts come from [`jj_kit::pyfmt`].

use jj_kit::pyfmt::{write_i64, write_json_float, write_json_string_ascii};
use jj_plugin_api::{Column, ColumnMeta, DType};

/// A float list as Python's `json.dumps(list)`: `[0.01, 0.02]`, `[]`, non-finite values as
/// `Infinity` / `-Infinity` / `NaN`.
pub fn write_json_float_list(out: &mut Vec<u8>, values: &[f64]) {
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
pub fn write_json_int_list(out: &mut Vec<u8>, values: &[i64]) {
    out.push(b'[');
    for (i, &v) in values.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        write_i64(out, v);
    }
    out.push(b']');
}

/// The JSON object keys, pre-rendered once per writer: for column `i`, the bytes that
/// precede its value (`{"name": ` for the first column, `, "name": ` for the others).
pub struct JsonKeys {
    text: Vec<u8>,
    /// `ends[i]` is the end of key `i` in `text` (key `i` starts at `ends[i - 1]`, or 0).
    ends: Vec<usize>,
}

impl JsonKeys {
    pub fn new(columns: &[ColumnMeta]) -> Self {
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
pub fn jsonl_row(out: &mut Vec<u8>, keys: &JsonKeys, columns: &[Column<'_>], row: usize) {
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
