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

/// `Ok` if `format` is one of `provided`, else the one-line configuration error every
/// writer gives for a format it does not offer.
pub fn expect_format(
    writer: &str,
    format: &str,
    provided: &[&str],
) -> jj_plugin_api::PluginResult<()> {
    if provided.contains(&format) {
        return Ok(());
    }
    let known: Vec<String> = provided.iter().map(|f| format!("`{f}`")).collect();
    Err(jj_plugin_api::PluginError::config(format!(
        "the {writer} writer does not provide format `{format}` (it provides {})",
        known.join(" and ")
    )))
}

#[cfg(test)]
mod format_tests {
    use super::expect_format;

    #[test]
    fn a_format_the_writer_does_not_offer_is_named_with_the_ones_it_does() {
        assert!(expect_format("jsonl", "json", &["jsonl", "json"]).is_ok());
        let e = expect_format("jsonl", "csv", &["jsonl", "json"]).unwrap_err();
        assert_eq!(e.kind, jj_plugin_api::ErrorKind::Config);
        assert_eq!(
            e.message.as_str(),
            "the jsonl writer does not provide format `csv` (it provides `jsonl` and `json`)"
        );
    }
}
