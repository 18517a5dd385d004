//! The [`Writer`] shared by both formats.

use crate::{
    encode::{check_batch, csv_header, csv_row, jsonl_row, JsonKeys, TextFormat},
    target::{write_error, Sink},
};
use jj_plugin_api::{
    ColumnMeta, PluginError, PluginResult, RowBatch, Schema, WriteSummary, Writer,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Open,
    /// A write failed: the output is incomplete and can only be discarded.
    Failed,
    Finished(WriteSummary),
    Aborted,
}

/// An open CSV or JSON Lines output.
pub struct TextWriter {
    format: TextFormat,
    columns: Vec<ColumnMeta>,
    keys: JsonKeys,
    sink: Sink,
    /// Encoded rows waiting to be handed to the sink, reused.
    row: Vec<u8>,
    /// Scratch space for list values in CSV fields, reused.
    scratch: Vec<u8>,
    rows_received: u64,
    rows_failed: u64,
    state: State,
}

impl TextWriter {
    pub(crate) fn open(
        format: TextFormat,
        target: &str,
        schema: &Schema,
    ) -> PluginResult<TextWriter> {
        Self::with_sink(format, Sink::open(target)?, schema)
    }

    pub(crate) fn with_sink(
        format: TextFormat,
        mut sink: Sink,
        schema: &Schema,
    ) -> PluginResult<TextWriter> {
        let columns: Vec<ColumnMeta> = schema.columns.to_vec();
        let keys = JsonKeys::new(if format == TextFormat::Jsonl {
            &columns
        } else {
            &[]
        });
        if format == TextFormat::Csv {
            // Written now, so that a run without rows still gets its header line.
            let header = csv_header(&columns);
            sink.write_all(&header)
                .map_err(|e| write_error(&sink.describe(), &e))?;
        }
        Ok(TextWriter {
            format,
            columns,
            keys,
            sink,
            row: Vec::with_capacity(4096),
            scratch: Vec::new(),
            rows_received: 0,
            rows_failed: 0,
            state: State::Open,
        })
    }

    fn check_open(&self) -> PluginResult<()> {
        match self.state {
            State::Open => Ok(()),
            State::Failed => Err(PluginError::io(format!(
                "output to {} is incomplete after an earlier write error",
                self.sink.describe()
            ))),
            State::Finished(_) | State::Aborted => Err(PluginError::other(format!(
                "output to {} is already closed",
                self.sink.describe()
            ))),
        }
    }

    /// Encodes the rows into one buffer, handed to the sink every `CHUNK` bytes (one
    /// large write instead of a small one per row).
    fn write_rows(&mut self, batch: &RowBatch<'_>, rows: usize) -> std::io::Result<()> {
        const CHUNK: usize = 256 << 10;
        let columns = batch.columns.as_slice();
        self.row.clear();
        for r in 0..rows {
            match self.format {
                TextFormat::Csv => csv_row(&mut self.row, &mut self.scratch, columns, r),
                TextFormat::Jsonl => jsonl_row(&mut self.row, &self.keys, columns, r),
            }
            if self.row.len() >= CHUNK {
                self.sink.write_all(&self.row)?;
                self.row.clear();
            }
        }
        self.sink.write_all(&self.row)?;
        self.row.clear();
        Ok(())
    }

    /// The temporary file while the output is not final (tests).
    #[cfg(test)]
    pub(crate) fn temp_path(&self) -> Option<std::path::PathBuf> {
        self.sink.temp_path().map(|p| p.to_path_buf())
    }
}

impl Writer for TextWriter {
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
        if let Err(e) = self
            .write_rows(batch, rows)
            .and_then(|_| self.sink.end_batch())
        {
            self.state = State::Failed;
            self.rows_failed += batch.num_rows;
            // Free the disk space now (the write may have failed because the disk is full).
            self.sink.discard();
            return Err(write_error(&self.sink.describe(), &e));
        }
        self.rows_received += batch.num_rows;
        Ok(())
    }

    fn finish(&mut self) -> PluginResult<WriteSummary> {
        if let State::Finished(summary) = self.state {
            return Ok(summary);
        }
        self.check_open()?;
        if let Err(e) = self.sink.commit() {
            self.state = State::Failed;
            self.sink.discard();
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
            self.sink.discard();
        }
    }
}
