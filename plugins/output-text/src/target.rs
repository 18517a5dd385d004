//! Where the text goes: standard output, or a file that only appears under its final name
//! once it is complete.
//!
//! A file target is a [`PartialFile`] from `jj-writer-util` (shared with the other
//! writers): written to a temporary file in the same directory
//! (`.<name>.jj-partial-<pid>`) through a large buffer. [`Sink::commit`] flushes it,
//! fsyncs it and renames it over the final name; anything else ([`Sink::discard`], or
//! dropping the sink) removes the temporary file. A run that is killed, fails or is
//! aborted therefore never leaves a truncated file under the final name.

use jj_plugin_api::PluginResult;
use jj_writer_util::{temp::BUFFER_BYTES, PartialFile};
use std::{
    io::{self, BufWriter, Stdout, Write},
    path::Path,
};

/// The user-facing message of a failed write (shared by every writer).
pub(crate) use jj_writer_util::write_error;

/// An open output target.
pub(crate) enum Sink {
    Stdout(BufWriter<Stdout>),
    File(PartialFile),
    /// Accepts this many more bytes, then fails every write like a full disk (tests).
    #[cfg(test)]
    Failing(usize),
}

impl Sink {
    /// Opens `target`: `-` is standard output, anything else a file path.
    pub(crate) fn open(target: &str) -> PluginResult<Sink> {
        if target == "-" {
            return Ok(Sink::Stdout(BufWriter::with_capacity(
                BUFFER_BYTES,
                io::stdout(),
            )));
        }
        PartialFile::create(Path::new(target)).map(Sink::File)
    }

    /// The target as the user named it, for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Sink::Stdout(_) => "standard output".to_string(),
            Sink::File(f) => f.dest().display().to_string(),
            #[cfg(test)]
            Sink::Failing(_) => "failing-target".to_string(),
        }
    }

    /// End of a batch: standard output is flushed, so a reader of a pipe gets whole
    /// batches as they are written (`jj live … -o - | consumer`); files are not.
    pub(crate) fn end_batch(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(w) => w.flush(),
            _ => Ok(()),
        }
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout(w) => w.write_all(bytes),
            Sink::File(f) => f.write_all(bytes),
            #[cfg(test)]
            Sink::Failing(budget) => match budget.checked_sub(bytes.len()) {
                Some(left) => {
                    *budget = left;
                    Ok(())
                }
                None => Err(io::Error::other("No space left on device (simulated)")),
            },
        }
    }

    /// Makes the output final: flushes stdout, or flushes, fsyncs and renames the file.
    pub(crate) fn commit(&mut self) -> PluginResult<()> {
        match self {
            Sink::Stdout(w) => w.flush().map_err(|e| write_error("standard output", &e)),
            Sink::File(f) => f.commit(),
            #[cfg(test)]
            Sink::Failing(_) => Ok(()),
        }
    }

    /// Discards the output: removes the temporary file. For stdout, whatever is buffered
    /// (always whole rows) is still flushed, best effort, so the stream ends on a row
    /// boundary; what was already written cannot be taken back.
    pub(crate) fn discard(&mut self) {
        match self {
            Sink::Stdout(w) => {
                let _ = w.flush();
            }
            Sink::File(f) => f.discard(),
            #[cfg(test)]
            Sink::Failing(_) => {}
        }
    }

    /// The temporary file while the output is not final (tests).
    #[cfg(test)]
    pub(crate) fn temp_path(&self) -> Option<&Path> {
        match self {
            Sink::File(f) if f.is_open() => f.temp_path(),
            _ => None,
        }
    }
}
