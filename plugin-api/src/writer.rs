//! Output writers: schema first, then columnar row batches, then `finish`.
use crate::{error::PluginResult, meta::DType, options::Options};
use abi_stable::{
    std_types::{RSlice, RString, RVec},
    StableAbi,
};

/// One output column.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct ColumnMeta {
    /// Unprefixed column name, e.g. `duration`.
    pub name: RString,
    /// Feature id, e.g. `flow_meta.duration`.
    pub id: RString,
    pub group: RString,
    pub dtype: DType,
}

/// The runtime schema: the columns of every row, in order.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Default)]
pub struct Schema {
    pub columns: RVec<ColumnMeta>,
}

/// One column of a batch, in an Arrow-like layout. Which buffers are used depends on `dtype`:
/// * `Int64`: `ints`; `Bool`: `ints` (0/1); `Float64`: `floats`;
/// * `String`: `offsets` (`rows + 1` entries) into `bytes` (UTF-8);
/// * `FloatList`: `offsets` into `floats`; `IntList`: `offsets` into `ints`.
///
/// `valid[i] == 0` marks a null row (its slot in the data buffers holds a placeholder).
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct Column<'a> {
    pub dtype: DType,
    pub valid: RSlice<'a, u8>,
    pub ints: RSlice<'a, i64>,
    pub floats: RSlice<'a, f64>,
    pub offsets: RSlice<'a, u32>,
    pub bytes: RSlice<'a, u8>,
}

impl<'a> Column<'a> {
    pub fn is_valid(&self, row: usize) -> bool {
        self.valid.get(row).is_some_and(|v| *v != 0)
    }
    pub fn int(&self, row: usize) -> i64 {
        self.ints.get(row).copied().unwrap_or(0)
    }
    pub fn float(&self, row: usize) -> f64 {
        self.floats.get(row).copied().unwrap_or(0.0)
    }
    pub fn bool(&self, row: usize) -> bool {
        self.int(row) != 0
    }
    fn range(&self, row: usize) -> (usize, usize) {
        let o = self.offsets.as_slice();
        match (o.get(row), o.get(row + 1)) {
            (Some(&a), Some(&b)) if a <= b => (a as usize, b as usize),
            _ => (0, 0),
        }
    }
    pub fn str(&self, row: usize) -> &'a str {
        let (a, b) = self.range(row);
        let bytes: &'a [u8] = self.bytes.as_slice();
        bytes
            .get(a..b)
            .and_then(|s| std::str::from_utf8(s).ok())
            .unwrap_or("")
    }
    pub fn float_list(&self, row: usize) -> &'a [f64] {
        let (a, b) = self.range(row);
        let f: &'a [f64] = self.floats.as_slice();
        f.get(a..b).unwrap_or(&[])
    }
    pub fn int_list(&self, row: usize) -> &'a [i64] {
        let (a, b) = self.range(row);
        let i: &'a [i64] = self.ints.as_slice();
        i.get(a..b).unwrap_or(&[])
    }
}

/// A batch of rows, column by column (same order as the [`Schema`]).
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct RowBatch<'a> {
    pub num_rows: u64,
    pub columns: RSlice<'a, Column<'a>>,
}

/// What a writer reports when it finishes.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Rows accepted by `write_batch`.
    pub rows_received: u64,
    /// Rows durably written (file renamed, transaction committed, broker acknowledged).
    pub rows_written: u64,
    /// Rows that could not be written (counted, never silently dropped).
    pub rows_failed: u64,
}

/// A format a writer offers (`-f NAME`).
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct FormatInfo {
    pub name: RString,
    /// Default file extension, e.g. `csv`.
    pub extension: RString,
    pub description: RString,
    /// 1 if the target may be `-` (stdout).
    pub supports_stdout: u8,
}

/// An open output.
pub trait Writer: Send + 'static {
    fn write_batch(&mut self, batch: &RowBatch<'_>) -> PluginResult<()>;
    /// Flushes everything and makes the output final (e.g. renames the temporary file).
    fn finish(&mut self) -> PluginResult<WriteSummary>;
    /// The run failed or was interrupted: discard partial output (remove temporary files).
    fn abort(&mut self) {}
}

/// The component a writer library registers.
pub trait WriterFactory: Send + Sync + 'static {
    type Output: Writer;
    fn formats(&self) -> Vec<FormatInfo>;
    /// Opens `target` (a path, `-` for stdout, or a URL) for `format`.
    fn open(
        &self,
        format: &str,
        target: &str,
        schema: &Schema,
        options: &Options,
    ) -> PluginResult<Self::Output>;
    /// Optional (plugin-api 1.2): the batch size `format` handles best, in values (rows ×
    /// columns); 0 = no preference, and the host sends 1,024 rows. A writer that formats
    /// row by row wants batches that stay in the CPU cache between the host filling them
    /// and the writer reading them; a columnar encoder wants long ones.
    fn batch_values(&self, _format: &str) -> u32 {
        0
    }
    /// Since plugin-api 1.4: every option key this writer reads (see
    /// [`crate::ExtractorFactory::options`]). `None` (the default): not declared.
    fn options(&self) -> Option<Vec<crate::options::OptionSpec>> {
        None
    }
}
