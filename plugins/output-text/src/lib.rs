//! # jj text output writers
//!
//! Two writer components for the `jj` host:
//!
//! * `csv` — format `csv`: a header line of column names, then one line per row (`\n`
//!   line endings). Integers in decimal, floats as Python's `repr` (`0.1`, `1e-05`,
//!   `60.0`, `inf`, `nan`), booleans `True` / `False`, strings quoted only when needed
//!   (RFC 4180), lists as their `json.dumps` text (`"[0.01, 0.02]"`), null as an empty
//!   field.
//! * `jsonl` — formats `jsonl` and its alias `json`: one object per row, keys in schema
//!   order, byte-identical to Python's `json.dumps(row) + "\n"`: `", "` and `": "`
//!   separators, `Infinity` / `-Infinity` / `NaN` for non-finite floats, strings with
//!   non-ASCII characters escaped (`ensure_ascii`), null as `null`.
//!
//! The target is a file path or `-` for standard output. A file is written under a
//! temporary name in the same directory and renamed into place by `finish`, so an
//! interrupted run never leaves a truncated file under the final name.
//!
//! Value texts come from [`jj_kit::pyfmt`], shared with every other writer.
#![deny(unsafe_code)]

mod encode;
mod target;
mod writer;

#[cfg(test)]
mod tests;

use encode::TextFormat;
use jj_plugin_api::{FormatInfo, Options, PluginResult, Schema, WriterFactory};

pub use writer::TextWriter;

/// Values per batch the text writers ask for (`WriterFactory::batch_values`): they format
/// row by row, reading every column of a row, so a batch should stay in the CPU cache
/// from the host filling it to the writer reading it (16,384 values: 107 rows of JJ-CORE's
/// 153 columns, about 150 KB of column data). Measured on the real-traffic corpus,
/// JJ-CORE to CSV on 1 thread: 1,024-row batches 0.59–0.63 s, 64–128 rows 0.52–0.57 s.
const TEXT_BATCH_VALUES: u32 = 16 << 10;

fn format_info(name: &str, extension: &str, description: &str) -> FormatInfo {
    FormatInfo {
        name: name.into(),
        extension: extension.into(),
        description: description.into(),
        supports_stdout: 1,
    }
}

/// The `csv` writer component.
#[derive(Clone, Copy, Debug, Default)]
pub struct CsvFactory;

impl WriterFactory for CsvFactory {
    type Output = TextWriter;
    /// Reads no options.
    fn options(&self) -> Option<Vec<jj_plugin_api::OptionSpec>> {
        Some(Vec::new())
    }

    fn formats(&self) -> Vec<FormatInfo> {
        vec![format_info(
            "csv",
            "csv",
            "Comma-separated values with a header line",
        )]
    }

    fn open(
        &self,
        format: &str,
        target: &str,
        schema: &Schema,
        _options: &Options,
    ) -> PluginResult<TextWriter> {
        jj_writer_util::expect_format("csv", format, &["csv"])?;
        TextWriter::open(TextFormat::Csv, target, schema)
    }

    fn batch_values(&self, _format: &str) -> u32 {
        TEXT_BATCH_VALUES
    }
}

/// The `jsonl` writer component (formats `jsonl` and `json`).
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonlFactory;

impl WriterFactory for JsonlFactory {
    type Output = TextWriter;
    /// Reads no options.
    fn options(&self) -> Option<Vec<jj_plugin_api::OptionSpec>> {
        Some(Vec::new())
    }

    fn formats(&self) -> Vec<FormatInfo> {
        vec![
            format_info("jsonl", "jsonl", "JSON Lines: one JSON object per row"),
            format_info("json", "json", "JSON Lines (alias of jsonl)"),
        ]
    }

    fn open(
        &self,
        format: &str,
        target: &str,
        schema: &Schema,
        _options: &Options,
    ) -> PluginResult<TextWriter> {
        jj_writer_util::expect_format("jsonl", format, &["jsonl", "json"])?;
        TextWriter::open(TextFormat::Jsonl, target, schema)
    }

    fn batch_values(&self, _format: &str) -> u32 {
        TEXT_BATCH_VALUES
    }
}

/// The library's exports (`jj_plugin_root_module`). No `allow(unsafe_code)` is needed:
/// the `#[no_mangle]` static comes from `abi_stable`'s attribute macro.
mod export {
    use super::{CsvFactory, JsonlFactory};

    jj_plugin_api::export_plugin! {
        name: "jj-output-text",
        version: env!("CARGO_PKG_VERSION"),
        writers: [
            "csv" => ("CSV output (Python csv / repr compatible)", CsvFactory),
            "jsonl" => ("JSON Lines output (Python json.dumps compatible)", JsonlFactory),
        ],
    }
}
