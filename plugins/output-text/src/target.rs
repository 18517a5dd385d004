//! Where the text goes: standard output, or a file that only appears under its final name
//! once it is complete.
//!
//! A file target is written to a temporary file in the same directory
//! (`.<name>.jj-partial-<pid>`), through a large buffer. [`Sink::commit`] flushes it,
//! fsyncs it and renames it over the final name; anything else ([`Sink::discard`], or
//! dropping the sink) removes the temporary file. A run that is killed, fails or is
//! aborted therefore never leaves a truncated file under the final name.

use jj_plugin_api::{PluginError, PluginResult};
use std::{
    fs::{File, OpenOptions},
    io::{self, BufWriter, Stdout, Write},
    path::{Path, PathBuf},
};

/// Buffer size between the row encoder and the file or stdout.
const BUFFER_BYTES: usize = 1 << 20;

/// How many alternative temporary names to try when one is taken.
const TEMP_NAME_ATTEMPTS: u32 = 100;

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
            Sink::File(f) => f.dest.display().to_string(),
            #[cfg(test)]
            Sink::Failing(_) => "failing-target".to_string(),
        }
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout(w) => w.write_all(bytes),
            Sink::File(f) => match f.out.as_mut() {
                Some(w) => w.write_all(bytes),
                None => Err(io::Error::other("the output is already closed")),
            },
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
            Sink::File(f) if f.out.is_some() => Some(&f.tmp),
            _ => None,
        }
    }
}

/// The user-facing message of a failed write.
pub(crate) fn write_error(target: &str, e: &io::Error) -> PluginError {
    let hint = match e.kind() {
        io::ErrorKind::BrokenPipe => " (the reading end of the pipe was closed)",
        _ => "",
    };
    PluginError::io(format!("cannot write to {target}: {e}{hint}"))
}

/// A file being written under a temporary name.
pub(crate) struct PartialFile {
    /// `None` once committed or discarded.
    out: Option<BufWriter<File>>,
    tmp: PathBuf,
    dest: PathBuf,
}

impl PartialFile {
    fn create(dest: &Path) -> PluginResult<PartialFile> {
        let shown = dest.display();
        let name = match dest.file_name() {
            Some(n) if !dest.as_os_str().is_empty() => n,
            _ => {
                return Err(PluginError::config(format!(
                    "output path `{shown}` does not name a file; give a file path such as out.csv, or - for stdout"
                )))
            }
        };
        if dest.is_dir() {
            return Err(PluginError::io(format!(
                "output path {shown} is a directory; give a file path inside it instead"
            )));
        }
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let base = format!(
            ".{}.jj-partial-{}",
            name.to_string_lossy(),
            std::process::id()
        );
        let mut attempt = 0;
        loop {
            let tmp_name = if attempt == 0 {
                base.clone()
            } else {
                format!("{base}-{attempt}")
            };
            let tmp = dir.join(tmp_name);
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(file) => {
                    return Ok(PartialFile {
                        out: Some(BufWriter::with_capacity(BUFFER_BYTES, file)),
                        tmp,
                        dest: dest.to_path_buf(),
                    })
                }
                Err(e)
                    if e.kind() == io::ErrorKind::AlreadyExists
                        && attempt + 1 < TEMP_NAME_ATTEMPTS =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(create_error(dest, dir, &tmp, &e)),
            }
        }
    }

    fn commit(&mut self) -> PluginResult<()> {
        let Some(out) = self.out.take() else {
            return Err(PluginError::other(format!(
                "output {} is already closed",
                self.dest.display()
            )));
        };
        let result = (|| {
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            drop(file);
            std::fs::rename(&self.tmp, &self.dest)
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(PluginError::io(format!(
                "cannot complete output file {} (written as {}): {e}",
                self.dest.display(),
                self.tmp.display()
            )));
        }
        sync_parent_dir(&self.dest);
        Ok(())
    }

    fn discard(&mut self) {
        if let Some(out) = self.out.take() {
            // Drop the buffered bytes without writing them, then close the file.
            let (file, _unwritten) = out.into_parts();
            drop(file);
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

impl Drop for PartialFile {
    /// A writer dropped without `finish` (host error, panic, early exit) leaves nothing behind.
    fn drop(&mut self) {
        self.discard();
    }
}

fn create_error(dest: &Path, dir: &Path, tmp: &Path, e: &io::Error) -> PluginError {
    let (dest, dir) = (dest.display(), dir.display());
    PluginError::io(match e.kind() {
        io::ErrorKind::NotFound => format!(
            "cannot create output file {dest}: directory {dir} does not exist; create it first or choose another output path"
        ),
        io::ErrorKind::PermissionDenied => format!(
            "cannot create output file {dest}: no permission to create files in {dir}; choose a writable directory"
        ),
        _ => format!(
            "cannot create output file {dest} (temporary file {}): {e}; check that {dir} is a writable directory",
            tmp.display()
        ),
    })
}

/// Makes the rename durable (best effort; not possible everywhere).
fn sync_parent_dir(dest: &Path) {
    #[cfg(unix)]
    {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = dest;
}
