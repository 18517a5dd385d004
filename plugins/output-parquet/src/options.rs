//! The writer's options (`key=value` lines from the host; unknown keys are ignored).

use jj_plugin_api::{OptionSpec, Options, PluginError, PluginResult};
use parquet::basic::{Compression, ZstdLevel};

/// Rows per row group unless `parquet_row_group_rows` says otherwise.
pub const DEFAULT_ROW_GROUP_ROWS: usize = 100_000;

/// Validated options.
#[derive(Clone, Debug, PartialEq)]
pub struct ParquetOptions {
    /// `parquet_compression`: `snappy` (default), `zstd` (level 1, as pyarrow) or `none`.
    pub compression: Compression,
    /// `parquet_row_group_rows`: at most this many rows per row group (default 100000).
    pub row_group_rows: usize,
    /// `partition_by`: a column name or feature id; the target is then a directory.
    pub partition_by: Option<String>,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            compression: Compression::SNAPPY,
            row_group_rows: DEFAULT_ROW_GROUP_ROWS,
            partition_by: None,
        }
    }
}

/// The options [`ParquetOptions::parse`] reads.
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        "parquet_compression",
        "snappy (default), zstd or none (--parquet-compression)",
    ),
    OptionSpec::new(
        "parquet_row_group_rows",
        "rows per row group (--parquet-row-group-rows)",
    ),
    OptionSpec::new(
        "partition_by",
        "column whose values split the output into files (--partition-by)",
    ),
];

impl ParquetOptions {
    pub fn parse(o: &Options) -> PluginResult<ParquetOptions> {
        let mut p = ParquetOptions::default();
        if let Some(v) = o.get("parquet_compression") {
            p.compression = match v.trim().to_ascii_lowercase().as_str() {
                "snappy" | "" => Compression::SNAPPY,
                "zstd" => Compression::ZSTD(ZstdLevel::default()),
                "none" | "uncompressed" => Compression::UNCOMPRESSED,
                _ => {
                    return Err(PluginError::config(format!(
                        "parquet_compression={v}: unknown codec; use snappy (default), zstd or none"
                    )))
                }
            };
        }
        if let Some(v) = o.get("parquet_row_group_rows") {
            p.row_group_rows = match v.trim().replace('_', "").parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(PluginError::config(format!(
                        "parquet_row_group_rows={v}: give a positive number of rows (default {DEFAULT_ROW_GROUP_ROWS})"
                    )))
                }
            };
        }
        p.partition_by = o
            .get("partition_by")
            .map(str::trim)
            .filter(|v| !v.is_empty() && *v != "none")
            .map(str::to_string);
        Ok(p)
    }
}
