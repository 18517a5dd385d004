//! # jj Parquet output writer
//!
//! Writer component `parquet` (format `parquet`, extension `parquet`) for the `jj` host.
//!
//! Columns are typed from the runtime schema: `int64` → Int64, `float64` → Float64,
//! `bool` → Boolean, `string` → Utf8, `list<float64>` → List<Float64>, `list<int64>` →
//! List<Int64>; every field is nullable and a null row (`valid == 0`) is a Parquet null.
//! The Arrow schema is stored in the file, so pyarrow, pandas, Polars and DuckDB read
//! the same types back.
//!
//! Options (`key=value`, unknown keys ignored):
//!
//! * `parquet_compression` = `snappy` (default) | `zstd` (level 1) | `none`;
//! * `parquet_row_group_rows` = rows per row group (default 100000);
//! * `partition_by` = a column name or feature id: the target is then a **directory** of
//!   Hive-style partitions. `start_time` gives `date=YYYY-MM-DD/` (UTC day of the flow's
//!   first packet, from its epoch seconds); any int, bool or string column `c` gives
//!   `c=<value>/` (the column is then left out of the files, as pyarrow/DuckDB/Spark
//!   expect). Null values go to `…=__HIVE_DEFAULT_PARTITION__/`. Each partition gets a
//!   `part-<pid>-<unix ms>-<counter>.parquet` file per run, so many runs (even at once)
//!   can write into the same directory. At most 64 files are open at once (the least
//!   recently used one is closed early, and its partition gets another file if more rows
//!   come) and unfinished row groups are kept under 512 MiB in total (beyond that the
//!   largest is written out early).
//!
//! Dictionary encoding is used for int64, string and int-list columns while the
//! dictionary stays under 64 KiB per column chunk; float columns are written plain (see
//! `writer::properties`: dictionary-encoding everything doubles the CPU time).
//!
//! The target is a file path, `-` for standard output (single file only), or a directory
//! with `partition_by`. A file appears under its final name only when complete (footer
//! written): it is written as `.<name>.jj-partial-<pid>` in the same directory and
//! renamed by `finish` (partition files with a no-clobber rename). `abort`, a failed
//! write, or dropping the writer removes every file of the run.
#![deny(unsafe_code)]

mod convert;
mod options;
mod partition;
mod writer;

#[cfg(test)]
mod tests;

use jj_plugin_api::{FormatInfo, Options, PluginResult, Schema, WriterFactory};

pub use options::{ParquetOptions, DEFAULT_ROW_GROUP_ROWS};
pub use writer::ParquetWriter;

/// The `parquet` writer component.
#[derive(Clone, Copy, Debug, Default)]
pub struct ParquetFactory;

impl WriterFactory for ParquetFactory {
    type Output = ParquetWriter;
    fn options(&self) -> Option<Vec<jj_plugin_api::OptionSpec>> {
        Some(options::OPTIONS.to_vec())
    }

    fn formats(&self) -> Vec<FormatInfo> {
        vec![FormatInfo {
            name: "parquet".into(),
            extension: "parquet".into(),
            description: "Apache Parquet: typed columns, snappy/zstd, optional Hive partitions (partition_by)".into(),
            supports_stdout: 1,
        }]
    }

    fn open(
        &self,
        format: &str,
        target: &str,
        schema: &Schema,
        options: &Options,
    ) -> PluginResult<ParquetWriter> {
        jj_writer_util::expect_format("parquet", format, &["parquet"])?;
        let options = ParquetOptions::parse(options)?;
        ParquetWriter::open(target, schema, &options)
    }
}

/// The library's exports (`jj_plugin_root_module`).
mod export {
    use super::ParquetFactory;

    jj_plugin_api::export_plugin! {
        name: "jj-output-parquet",
        version: env!("CARGO_PKG_VERSION"),
        writers: [
            "parquet" => ("Apache Parquet output (typed columns, Hive partitions)", ParquetFactory),
        ],
    }
}
