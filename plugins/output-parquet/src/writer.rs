//! The Parquet [`Writer`]: one file (or stdout), or a directory of Hive-style partitions.

use crate::{
    convert::{arrow_schema, to_array},
    options::ParquetOptions,
    partition::PartitionSpec,
};
use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use arrow_schema::SchemaRef;
use jj_plugin_api::{
    Column, ColumnMeta, DType, PluginError, PluginResult, RowBatch, Schema, WriteSummary, Writer,
};
use jj_writer_util::{check_batch, temp::BUFFER_BYTES, write_error, PartialFile};
use parquet::{arrow::ArrowWriter, file::properties::WriterProperties};
use std::{
    collections::HashMap,
    io::{self, BufWriter, Stdout, Write},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

/// Partition files open at once; the least recently used one is closed (footer written,
/// kept under its temporary name until `finish`) when another is needed.
const MAX_OPEN_PARTITIONS: usize = 64;

/// Bytes of unfinished row groups kept in memory over all open partition files; beyond
/// it, the largest one is written out as a (smaller) row group.
const PARTITION_MEMORY_BYTES: usize = 512 << 20;

/// Numbers the partition files of this process (`part-<pid>-<millis>-<counter>`).
static NEXT_PART: AtomicU64 = AtomicU64::new(0);

/// Where the bytes of a single-file output go.
pub(crate) enum Out {
    Stdout(BufWriter<Stdout>),
    File(PartialFile),
    /// Accepts this many more bytes, then fails every write like a full disk (tests).
    #[cfg(test)]
    Failing(usize),
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Out::Stdout(w) => w.write(buf),
            Out::File(f) => f.write(buf),
            #[cfg(test)]
            Out::Failing(budget) => match budget.checked_sub(buf.len()) {
                Some(left) => {
                    *budget = left;
                    Ok(buf.len())
                }
                None => Err(io::Error::other("No space left on device (simulated)")),
            },
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Out::Stdout(w) => w.flush(),
            Out::File(f) => f.flush(),
            #[cfg(test)]
            Out::Failing(_) => Ok(()),
        }
    }
}

impl Out {
    fn commit(&mut self) -> PluginResult<()> {
        match self {
            Out::Stdout(w) => w.flush().map_err(|e| write_error("standard output", &e)),
            Out::File(f) => f.commit(),
            #[cfg(test)]
            Out::Failing(_) => Ok(()),
        }
    }

    fn discard(&mut self) {
        if let Out::File(f) = self {
            f.discard();
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Open,
    /// A write failed: the output is incomplete and can only be discarded.
    Failed,
    Finished(WriteSummary),
    Aborted,
}

// One per writer: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Sink {
    /// One file (or stdout). `None` once finished or discarded.
    Single(Option<ArrowWriter<Out>>),
    Partitioned(Partitioned),
}

/// An open Parquet output.
pub struct ParquetWriter {
    columns: Vec<ColumnMeta>,
    /// The target as the user named it, for messages.
    target: String,
    /// The Arrow schema of a single-file output.
    schema: SchemaRef,
    sink: Sink,
    rows_received: u64,
    rows_failed: u64,
    state: State,
}

/// Dictionary pages larger than this make a column chunk fall back to plain encoding.
const DICTIONARY_PAGE_BYTES: usize = 64 << 10;

/// Writer settings. Dictionary encoding only for int64, string and int-list columns
/// (ports, protocols, counts, names, packet sizes: often few distinct values) and only
/// while the dictionary stays small; float columns (statistics, rates, times: nearly all
/// values distinct) are written plain. Dictionary-encoding every column of a 100k-row
/// group costs about twice the CPU time of the whole write for a slightly smaller file.
fn properties(o: &ParquetOptions, columns: &[&ColumnMeta]) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(o.compression)
        .set_max_row_group_size(o.row_group_rows)
        .set_dictionary_enabled(false)
        .set_dictionary_page_size_limit(DICTIONARY_PAGE_BYTES);
    let arrow = arrow_schema(columns.iter().copied());
    if let Ok(descr) = parquet::arrow::ArrowSchemaConverter::new().convert(&arrow) {
        for (leaf, col) in descr.columns().iter().enumerate() {
            let dtype = columns[descr.get_column_root_idx(leaf)].dtype;
            if matches!(dtype, DType::Int64 | DType::String | DType::IntList) {
                b = b.set_column_dictionary_enabled(col.path().clone(), true);
            }
        }
    }
    b.build()
}

fn parquet_error(target: &str, e: parquet::errors::ParquetError) -> PluginError {
    match e {
        parquet::errors::ParquetError::External(inner) => match inner.downcast::<io::Error>() {
            Ok(io) => write_error(target, &io),
            Err(other) => PluginError::io(format!("cannot write to {target}: {other}")),
        },
        e => PluginError::io(format!("cannot write Parquet to {target}: {e}")),
    }
}

impl ParquetWriter {
    pub(crate) fn open(
        target: &str,
        schema: &Schema,
        options: &ParquetOptions,
    ) -> PluginResult<ParquetWriter> {
        let columns: Vec<ColumnMeta> = schema.columns.to_vec();
        let sink = match &options.partition_by {
            None => {
                let out = if target == "-" {
                    Out::Stdout(BufWriter::with_capacity(BUFFER_BYTES, io::stdout()))
                } else {
                    Out::File(PartialFile::create(Path::new(target))?)
                };
                return Self::with_out(out, target, schema, options);
            }
            Some(by) => {
                let spec = PartitionSpec::new(&columns, by)?;
                Sink::Partitioned(Partitioned::open(target, &columns, spec, options)?)
            }
        };
        let arrow = Arc::new(arrow_schema(&columns));
        Ok(Self::new(columns, target, arrow, sink))
    }

    /// A single-file writer on `out` (tests use a failing one).
    pub(crate) fn with_out(
        out: Out,
        target: &str,
        schema: &Schema,
        options: &ParquetOptions,
    ) -> PluginResult<ParquetWriter> {
        let columns: Vec<ColumnMeta> = schema.columns.to_vec();
        let arrow = Arc::new(arrow_schema(&columns));
        let props = properties(options, &columns.iter().collect::<Vec<_>>());
        let writer = ArrowWriter::try_new(out, arrow.clone(), Some(props))
            .map_err(|e| parquet_error(target, e))?;
        Ok(Self::new(
            columns,
            target,
            arrow,
            Sink::Single(Some(writer)),
        ))
    }

    fn new(columns: Vec<ColumnMeta>, target: &str, schema: SchemaRef, sink: Sink) -> ParquetWriter {
        ParquetWriter {
            columns,
            schema,
            target: if target == "-" {
                "standard output".to_string()
            } else {
                target.to_string()
            },
            sink,
            rows_received: 0,
            rows_failed: 0,
            state: State::Open,
        }
    }

    fn check_open(&self) -> PluginResult<()> {
        match self.state {
            State::Open => Ok(()),
            State::Failed => Err(PluginError::io(format!(
                "output to {} is incomplete after an earlier write error",
                self.target
            ))),
            State::Finished(_) | State::Aborted => Err(PluginError::other(format!(
                "output to {} is already closed",
                self.target
            ))),
        }
    }

    fn write_rows(&mut self, columns: &[Column<'_>], rows: usize) -> PluginResult<()> {
        match &mut self.sink {
            Sink::Single(Some(w)) => {
                let arrays: Vec<ArrayRef> = columns.iter().map(|c| to_array(c, rows)).collect();
                let batch = RecordBatch::try_new(self.schema.clone(), arrays)
                    .map_err(|e| PluginError::other(format!("batch for {}: {e}", self.target)))?;
                w.write(&batch).map_err(|e| parquet_error(&self.target, e))
            }
            Sink::Single(None) => Err(PluginError::other(format!(
                "output to {} is already closed",
                self.target
            ))),
            Sink::Partitioned(p) => p.write(columns, rows),
        }
    }

    fn discard(&mut self) {
        match &mut self.sink {
            Sink::Single(w) => {
                if let Some(mut w) = w.take() {
                    // Remove the file first: dropping the writer flushes its own buffer.
                    w.inner_mut().discard();
                }
            }
            Sink::Partitioned(p) => p.discard(),
        }
    }

    /// The files this writer has not made final yet (tests).
    #[cfg(test)]
    pub(crate) fn temp_paths(&self) -> Vec<PathBuf> {
        match &self.sink {
            Sink::Single(Some(w)) => match w.inner() {
                Out::File(f) => f.temp_path().map(Path::to_path_buf).into_iter().collect(),
                _ => Vec::new(),
            },
            Sink::Single(None) => Vec::new(),
            Sink::Partitioned(p) => p
                .open
                .values()
                .filter_map(|o| o.writer.inner().temp_path().map(Path::to_path_buf))
                .chain(
                    p.sealed
                        .iter()
                        .filter_map(|(f, _)| f.temp_path().map(Path::to_path_buf)),
                )
                .collect(),
        }
    }
}

impl Writer for ParquetWriter {
    fn write_batch(&mut self, batch: &RowBatch<'_>) -> PluginResult<()> {
        self.check_open()?;
        let rows = match check_batch(&self.columns, batch) {
            Ok(rows) => rows,
            Err(e) => {
                // Rejected as a whole, nothing written; the output stays usable.
                self.rows_failed += batch.num_rows;
                return Err(e);
            }
        };
        if rows == 0 {
            return Ok(());
        }
        if let Err(e) = self.write_rows(batch.columns.as_slice(), rows) {
            self.state = State::Failed;
            self.rows_failed += batch.num_rows;
            // Free the disk space now (the write may have failed because the disk is full).
            self.discard();
            return Err(e);
        }
        self.rows_received += batch.num_rows;
        Ok(())
    }

    fn finish(&mut self) -> PluginResult<WriteSummary> {
        if let State::Finished(summary) = self.state {
            return Ok(summary);
        }
        self.check_open()?;
        let result = match &mut self.sink {
            Sink::Single(w) => match w.take() {
                Some(w) => w
                    .into_inner()
                    .map_err(|e| parquet_error(&self.target, e))
                    .and_then(|mut out| out.commit()),
                None => Err(PluginError::other(format!(
                    "output to {} is already closed",
                    self.target
                ))),
            },
            Sink::Partitioned(p) => p.finish(),
        };
        if let Err(e) = result {
            self.state = State::Failed;
            self.discard();
            return Err(e);
        }
        let summary = WriteSummary {
            rows_received: self.rows_received,
            rows_written: self.rows_received,
            rows_failed: self.rows_failed,
        };
        self.state = State::Finished(summary);
        Ok(summary)
    }

    fn abort(&mut self) {
        if !matches!(self.state, State::Finished(_)) {
            self.state = State::Aborted;
            self.discard();
        }
    }
}

/// One partition's file being written.
struct OpenPart {
    writer: ArrowWriter<PartialFile>,
    /// Value of the writer's clock when this file last received rows (LRU).
    last_used: u64,
    rows: u64,
}

/// A directory of `key=value/part-*.parquet` files.
struct Partitioned {
    root: PathBuf,
    spec: PartitionSpec,
    /// Schema of the files (without the partition column where it is dropped).
    file_schema: SchemaRef,
    /// Schema indices of the columns stored in the files.
    file_cols: Vec<usize>,
    props: WriterProperties,
    /// `<pid>-<unix millis at open>`, shared by this writer's file names.
    run_tag: String,
    open: HashMap<String, OpenPart>,
    /// Files closed early (footer written) and their row counts, renamed by `finish`.
    sealed: Vec<(PartialFile, u64)>,
    /// Files renamed into place by `finish` (removed again if the run is aborted after).
    committed: Vec<PathBuf>,
    /// Directories this writer created, removed on abort if left empty.
    created_dirs: Vec<PathBuf>,
    clock: u64,
    /// Per-batch scratch: the current key, and the rows of each partition in the batch.
    key: String,
    groups: Vec<(String, Vec<u32>)>,
    group_of: HashMap<String, usize>,
}

impl Partitioned {
    fn open(
        target: &str,
        columns: &[ColumnMeta],
        spec: PartitionSpec,
        options: &ParquetOptions,
    ) -> PluginResult<Partitioned> {
        if target == "-" || target.is_empty() {
            return Err(PluginError::config(format!(
                "partition_by writes a directory of files; give a directory path instead of `{target}`"
            )));
        }
        let root = PathBuf::from(target);
        let mut created_dirs = Vec::new();
        if root.exists() {
            if !root.is_dir() {
                return Err(PluginError::io(format!(
                    "output path {target} is a file, but partition_by writes a directory of files; give a directory path (existing or new)"
                )));
            }
        } else {
            create_dirs(&root, &mut created_dirs).map_err(|e| {
                PluginError::io(format!(
                    "cannot create output directory {target}: {e}; check that its parent is a writable directory"
                ))
            })?;
        }
        let file_cols: Vec<usize> = (0..columns.len())
            .filter(|&i| !(spec.drop_column && i == spec.column))
            .collect();
        let file_metas: Vec<&ColumnMeta> = file_cols.iter().map(|&i| &columns[i]).collect();
        let file_schema = Arc::new(arrow_schema(file_metas.iter().copied()));
        let props = properties(options, &file_metas);
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        Ok(Partitioned {
            root,
            spec,
            file_schema,
            file_cols,
            props,
            run_tag: format!("{}-{millis}", std::process::id()),
            open: HashMap::new(),
            sealed: Vec::new(),
            committed: Vec::new(),
            created_dirs,
            clock: 0,
            key: String::new(),
            groups: Vec::new(),
            group_of: HashMap::new(),
        })
    }

    fn write(&mut self, columns: &[Column<'_>], rows: usize) -> PluginResult<()> {
        // Group the rows by partition, keeping their order within each partition.
        for g in &mut self.groups {
            g.1.clear();
        }
        let mut used = 0;
        self.group_of.clear();
        let pcol = &columns[self.spec.column];
        for r in 0..rows {
            self.spec.key(pcol, r, &mut self.key);
            let g = match self.group_of.get(self.key.as_str()) {
                Some(&g) => g,
                None => {
                    if used == self.groups.len() {
                        self.groups.push((String::new(), Vec::new()));
                    }
                    self.groups[used].0.clone_from(&self.key);
                    self.group_of.insert(self.key.clone(), used);
                    used += 1;
                    used - 1
                }
            };
            self.groups[g].1.push(r as u32);
        }
        let arrays: Vec<ArrayRef> = self
            .file_cols
            .iter()
            .map(|&i| to_array(&columns[i], rows))
            .collect();
        let batch = RecordBatch::try_new(self.file_schema.clone(), arrays)
            .map_err(|e| PluginError::other(format!("batch for {}: {e}", self.root.display())))?;
        for g in 0..used {
            let part = if used == 1 {
                batch.clone()
            } else {
                let idx = UInt32Array::from_iter_values(self.groups[g].1.iter().copied());
                arrow_select::take::take_record_batch(&batch, &idx)
                    .map_err(|e| PluginError::other(format!("partitioning a batch: {e}")))?
            };
            let key = std::mem::take(&mut self.groups[g].0);
            let result = self.write_part(&key, &part);
            self.groups[g].0 = key;
            result?;
        }
        self.limit_memory()
    }

    fn write_part(&mut self, key: &str, part: &RecordBatch) -> PluginResult<()> {
        self.clock += 1;
        if !self.open.contains_key(key) {
            if self.open.len() >= MAX_OPEN_PARTITIONS {
                self.seal_least_recently_used()?;
            }
            let writer = self.new_file(key)?;
            self.open.insert(
                key.to_string(),
                OpenPart {
                    writer,
                    last_used: 0,
                    rows: 0,
                },
            );
        }
        let o = self.open.get_mut(key).expect("inserted above");
        o.last_used = self.clock;
        o.rows += part.num_rows() as u64;
        let shown = o.writer.inner().dest().display().to_string();
        o.writer.write(part).map_err(|e| parquet_error(&shown, e))
    }

    fn new_file(&mut self, key: &str) -> PluginResult<ArrowWriter<PartialFile>> {
        let dir = self.root.join(key);
        if !dir.is_dir() {
            create_dirs(&dir, &mut self.created_dirs).map_err(|e| {
                PluginError::io(format!(
                    "cannot create partition directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let n = NEXT_PART.fetch_add(1, Ordering::Relaxed);
        let dest = dir.join(format!("part-{}-{n:05}.parquet", self.run_tag));
        let file = PartialFile::create(&dest)?;
        ArrowWriter::try_new(file, self.file_schema.clone(), Some(self.props.clone()))
            .map_err(|e| parquet_error(&dest.display().to_string(), e))
    }

    /// Writes the footer of the least recently used file and closes it.
    fn seal_least_recently_used(&mut self) -> PluginResult<()> {
        let Some(key) = self
            .open
            .iter()
            .min_by_key(|(_, o)| o.last_used)
            .map(|(k, _)| k.clone())
        else {
            return Ok(());
        };
        let o = self.open.remove(&key).expect("key from the map");
        self.seal(o)
    }

    fn seal(&mut self, o: OpenPart) -> PluginResult<()> {
        let shown = o.writer.inner().dest().display().to_string();
        let mut file = o
            .writer
            .into_inner()
            .map_err(|e| parquet_error(&shown, e))?;
        file.seal().map_err(|e| write_error(&shown, &e))?;
        self.sealed.push((file, o.rows));
        Ok(())
    }

    /// Keeps the unfinished row groups of all open files under the memory budget.
    fn limit_memory(&mut self) -> PluginResult<()> {
        loop {
            let total: usize = self
                .open
                .values()
                .map(|o| o.writer.in_progress_size())
                .sum();
            if total <= PARTITION_MEMORY_BYTES {
                return Ok(());
            }
            let Some(o) = self
                .open
                .values_mut()
                .max_by_key(|o| o.writer.in_progress_size())
            else {
                return Ok(());
            };
            let shown = o.writer.inner().dest().display().to_string();
            o.writer.flush().map_err(|e| parquet_error(&shown, e))?;
        }
    }

    fn finish(&mut self) -> PluginResult<()> {
        let mut keys: Vec<String> = self.open.keys().cloned().collect();
        keys.sort();
        for k in keys {
            let o = self.open.remove(&k).expect("key from the map");
            self.seal(o)?;
        }
        for (mut file, _rows) in std::mem::take(&mut self.sealed) {
            let dest = file.dest().to_path_buf();
            file.commit_no_clobber()?;
            self.committed.push(dest);
        }
        Ok(())
    }

    /// Removes everything this writer wrote: unfinished files, closed files not yet
    /// renamed, files already renamed by a `finish` that then failed, and the directories
    /// it created once they are empty.
    fn discard(&mut self) {
        for (_, mut o) in self.open.drain() {
            o.writer.inner_mut().discard();
        }
        for (mut f, _) in self.sealed.drain(..) {
            f.discard();
        }
        for p in self.committed.drain(..) {
            let _ = std::fs::remove_file(p);
        }
        for d in self.created_dirs.drain(..).rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// `create_dir_all`, recording each directory it creates (outermost first).
fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut d = dir;
    while !d.as_os_str().is_empty() && !d.exists() {
        missing.push(d.to_path_buf());
        match d.parent() {
            Some(p) => d = p,
            None => break,
        }
    }
    for m in missing.into_iter().rev() {
        match std::fs::create_dir(&m) {
            Ok(()) => created.push(m),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && m.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Drop for ParquetWriter {
    /// Dropped without `finish` (host error, panic): nothing is left behind.
    fn drop(&mut self) {
        if !matches!(self.state, State::Finished(_)) {
            self.discard();
        }
    }
}
