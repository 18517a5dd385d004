//! # Shared parts of jj output writers
//!
//! Linked statically into each writer plugin (`jj-output-text`, `jj-output-parquet`,
//! `jj-output-sqlite`), so that every writer follows the same rules:
//!
//! * [`temp`] — output that appears under its final name only when complete: a
//!   temporary file in the same directory (`.<name>.jj-partial-<pid>`), fsynced and
//!   renamed by `commit`, removed by `discard` or when dropped.
//! * [`batch`] — [`check_batch`]: a malformed [`RowBatch`](jj_plugin_api::RowBatch) is
//!   rejected as a whole instead of being written with placeholder values.
//! * [`json`] — list values as Python's `json.dumps(list)` text, rows as JSON objects.
//! * [`owned`] — [`OwnedColumn`]: a column that owns its buffers, for tests and
//!   benchmarks that build batches by hand.
#![deny(unsafe_code)]

pub mod batch;
pub mod json;
pub mod owned;
pub mod scratch;
pub mod services;
pub mod temp;

pub use batch::check_batch;
pub use owned::{OwnedColumn, OwnedColumns};
pub use scratch::ScratchDir;
pub use temp::{write_error, PartialFile, TempTarget};
