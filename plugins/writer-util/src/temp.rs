//! Output that only appears under its final name once it is complete.
//!
//! A file target is written to a temporary file in the same directory,
//! `.<name>.jj-partial-<pid>` (`-1`, `-2`, ... appended when that name is taken). The
//! leading dot hides it from `ls` and from dataset readers (pyarrow, Spark and Hive skip
//! files starting with `.`), so a directory of Parquet parts being written is always
//! readable. [`TempTarget::commit`] fsyncs the temporary file and renames it over the
//! final name; anything else ([`TempTarget::discard`], or dropping it) removes the
//! temporary file. A run that is killed, fails or is aborted therefore never leaves a
//! truncated file under the final name; a killed run leaves only a hidden
//! `*.jj-partial-*` file.
//!
//! [`PartialFile`] adds a large write buffer on top, for writers that stream bytes
//! (text, Parquet); [`TempTarget`] alone suits writers whose library opens the file
//! itself (SQLite).

use jj_plugin_api::{PluginError, PluginResult};
use std::{
    fs::{File, OpenOptions},
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
};

/// Buffer size between an encoder and its file.
pub const BUFFER_BYTES: usize = 1 << 20;

/// What every temporary name contains (`.<name>.jj-partial-<pid>`).
pub const TEMP_TAG: &str = "jj-partial";

/// How many alternative temporary names to try when one is taken.
const TEMP_NAME_ATTEMPTS: u32 = 100;

/// The user-facing message of a failed write to `target`.
pub fn write_error(target: &str, e: &io::Error) -> PluginError {
    let hint = match e.kind() {
        io::ErrorKind::BrokenPipe => " (the reading end of the pipe was closed)",
        _ => "",
    };
    PluginError::io(format!("cannot write to {target}: {e}{hint}"))
}

/// A final path and the temporary file standing in for it until [`TempTarget::commit`].
#[derive(Debug)]
pub struct TempTarget {
    tmp: PathBuf,
    dest: PathBuf,
    /// Suffixes of files next to the temporary one that belong to it (SQLite's `-wal`,
    /// `-shm`, `-journal`); they are removed with it.
    sidecars: Vec<String>,
    /// The temporary file exists and has been neither renamed nor removed.
    pending: bool,
}

impl TempTarget {
    /// Checks that `dest` names a file in an existing directory and creates a fresh, empty
    /// temporary file for it (exclusively: an existing file is never reused). Errors name
    /// `dest` and say what to do.
    pub fn create(dest: &Path) -> PluginResult<(TempTarget, File)> {
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
        let dir = parent_dir(dest);
        let base = format!(
            ".{}.{TEMP_TAG}-{}",
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
                    let target = TempTarget {
                        tmp,
                        dest: dest.to_path_buf(),
                        sidecars: Vec::new(),
                        pending: true,
                    };
                    return Ok((target, file));
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

    /// Also removes `<temporary name><suffix>` for each suffix when discarding.
    pub fn with_sidecars(mut self, suffixes: &[&str]) -> Self {
        self.sidecars = suffixes.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The final path.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// The temporary path.
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// The temporary file exists (neither committed nor discarded yet).
    pub fn is_pending(&self) -> bool {
        self.pending
    }

    /// Makes the output final: fsyncs the temporary file (whoever wrote it, through any
    /// handle, must have closed or flushed it), renames it over the final name, replacing
    /// a file there, and fsyncs the directory. On failure the temporary file is removed.
    pub fn commit(&mut self) -> PluginResult<()> {
        self.finalize(false)
    }

    /// Like [`TempTarget::commit`], but fails (and removes the temporary file) when
    /// something already exists under the final name, e.g. a file another program
    /// created while this one was writing. Uses a hard link where the file system has
    /// them, so the check and the rename are one atomic step.
    pub fn commit_no_clobber(&mut self) -> PluginResult<()> {
        self.finalize(true)
    }

    fn finalize(&mut self, no_clobber: bool) -> PluginResult<()> {
        if !self.pending {
            return Err(PluginError::other(format!(
                "output {} is already closed",
                self.dest.display()
            )));
        }
        let result = File::open(&self.tmp)
            .and_then(|f| f.sync_all())
            .and_then(|()| {
                if no_clobber {
                    link_no_clobber(&self.tmp, &self.dest)
                } else {
                    std::fs::rename(&self.tmp, &self.dest)
                }
            });
        match result {
            Ok(()) => {
                self.pending = false;
                self.remove_sidecars();
                sync_dir(parent_dir(&self.dest));
                Ok(())
            }
            Err(e) => {
                let shown = (self.dest.display(), self.tmp.display());
                let message = if e.kind() == io::ErrorKind::AlreadyExists {
                    format!(
                        "cannot complete output file {}: it was created by someone else while this run was writing (written as {}, now removed); choose another output path",
                        shown.0, shown.1
                    )
                } else {
                    format!(
                        "cannot complete output file {} (written as {}): {e}",
                        shown.0, shown.1
                    )
                };
                self.discard();
                Err(PluginError::io(message))
            }
        }
    }

    /// Removes the temporary file (and its sidecars). Does nothing once committed.
    pub fn discard(&mut self) {
        if self.pending {
            self.pending = false;
            let _ = std::fs::remove_file(&self.tmp);
            self.remove_sidecars();
        }
    }

    fn remove_sidecars(&self) {
        for suffix in &self.sidecars {
            let mut p = self.tmp.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
}

impl Drop for TempTarget {
    /// Dropped without `commit` (host error, panic, early exit): nothing is left behind.
    fn drop(&mut self) {
        self.discard();
    }
}

/// Hard-links `tmp` as `dest` (fails with `AlreadyExists` if `dest` exists), then removes
/// `tmp`. Where hard links are not supported, checks and renames instead.
fn link_no_clobber(tmp: &Path, dest: &Path) -> io::Result<()> {
    match std::fs::hard_link(tmp, dest) {
        Ok(()) => {
            let _ = std::fs::remove_file(tmp);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(_) if dest.exists() => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
        Err(_) => std::fs::rename(tmp, dest),
    }
}

/// The directory `dest` is in (`.` for a bare file name).
fn parent_dir(dest: &Path) -> &Path {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
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

/// Makes a rename in `dir` durable (best effort; not possible everywhere).
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// A file being written under a temporary name, through a [`BUFFER_BYTES`] buffer.
/// Implements [`Write`]; writing after `seal`, `commit` or `discard` is an error.
#[derive(Debug)]
pub struct PartialFile {
    /// `None` once sealed, committed or discarded.
    out: Option<BufWriter<File>>,
    target: TempTarget,
}

impl PartialFile {
    /// See [`TempTarget::create`].
    pub fn create(dest: &Path) -> PluginResult<PartialFile> {
        let (target, file) = TempTarget::create(dest)?;
        Ok(PartialFile {
            out: Some(BufWriter::with_capacity(BUFFER_BYTES, file)),
            target,
        })
    }

    /// The final path.
    pub fn dest(&self) -> &Path {
        self.target.dest()
    }

    /// The temporary file while the output is not final.
    pub fn temp_path(&self) -> Option<&Path> {
        self.target.is_pending().then(|| self.target.temp_path())
    }

    /// The file is still open for writing.
    pub fn is_open(&self) -> bool {
        self.out.is_some()
    }

    /// Flushes and closes the file, keeping it under its temporary name until
    /// [`PartialFile::commit`] (so a writer can close many files early and still make
    /// them all final at the end). On failure the temporary file is removed.
    pub fn seal(&mut self) -> io::Result<()> {
        if let Some(out) = self.out.take() {
            if let Err(e) = out.into_inner().map_err(|e| e.into_error()) {
                self.target.discard();
                return Err(e);
            }
        }
        Ok(())
    }

    /// Makes the output final: flushes, fsyncs and renames the file over the final name.
    pub fn commit(&mut self) -> PluginResult<()> {
        self.finalize(false)
    }

    /// Like [`PartialFile::commit`], but fails if something exists under the final name
    /// (see [`TempTarget::commit_no_clobber`]).
    pub fn commit_no_clobber(&mut self) -> PluginResult<()> {
        self.finalize(true)
    }

    fn finalize(&mut self, no_clobber: bool) -> PluginResult<()> {
        if self.target.is_pending() {
            if let Err(e) = self.seal() {
                return Err(PluginError::io(format!(
                    "cannot complete output file {} (written as {}): {e}",
                    self.target.dest().display(),
                    self.target.temp_path().display()
                )));
            }
        }
        // (when not pending, this is the "already closed" error)
        self.target.finalize(no_clobber)
    }

    /// Discards the output: drops the buffered bytes unwritten and removes the file.
    pub fn discard(&mut self) {
        if let Some(out) = self.out.take() {
            let (file, _unwritten) = out.into_parts();
            drop(file);
        }
        self.target.discard();
    }
}

impl Write for PartialFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.out.as_mut() {
            Some(w) => w.write(buf),
            None => Err(closed()),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self.out.as_mut() {
            Some(w) => w.write_all(buf),
            None => Err(closed()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.out.as_mut() {
            Some(w) => w.flush(),
            None => Err(closed()),
        }
    }
}

fn closed() -> io::Error {
    io::Error::other("the output is already closed")
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        self.discard();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn temp_dir() -> PathBuf {
        static N: AtomicU32 = AtomicU32::new(0);
        let d = std::env::temp_dir().join(format!(
            "jj-writer-util-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn commit_renames_and_discard_removes() {
        let dir = temp_dir();
        let dest = dir.join("a.bin");
        let mut f = PartialFile::create(&dest).unwrap();
        let tmp = f.temp_path().unwrap().to_path_buf();
        assert_eq!(
            tmp.file_name().unwrap().to_str().unwrap(),
            format!(".a.bin.jj-partial-{}", std::process::id())
        );
        f.write_all(b"hello").unwrap();
        assert!(!dest.exists());
        f.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello");
        assert_eq!(entries(&dir), ["a.bin"]);
        assert!(f.commit().is_err());
        assert!(f.write_all(b"x").is_err());

        let mut g = PartialFile::create(&dir.join("b.bin")).unwrap();
        g.write_all(b"x").unwrap();
        g.discard();
        drop(PartialFile::create(&dir.join("c.bin")).unwrap());
        assert_eq!(entries(&dir), ["a.bin"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sealed_files_stay_hidden_until_commit() {
        let dir = temp_dir();
        let mut f = PartialFile::create(&dir.join("p.parquet")).unwrap();
        f.write_all(b"abc").unwrap();
        f.seal().unwrap();
        assert!(!f.is_open());
        assert_eq!(entries(&dir).len(), 1);
        assert!(entries(&dir)[0].starts_with(".p.parquet.jj-partial-"));
        f.commit().unwrap();
        assert_eq!(entries(&dir), ["p.parquet"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_clobber_commit_and_sidecars() {
        let dir = temp_dir();
        let dest = dir.join("db.sqlite");
        let (t, file) = TempTarget::create(&dest).unwrap();
        let mut t = t.with_sidecars(&["-wal"]);
        drop(file);
        let mut wal = t.temp_path().as_os_str().to_owned();
        wal.push("-wal");
        std::fs::write(&wal, b"w").unwrap();
        std::fs::write(&dest, b"someone else's").unwrap();
        let e = t.commit_no_clobber().unwrap_err();
        assert!(
            e.message.as_str().contains("created by someone else"),
            "{e}"
        );
        assert_eq!(std::fs::read(&dest).unwrap(), b"someone else's");
        assert_eq!(entries(&dir), ["db.sqlite"]);

        std::fs::remove_file(&dest).unwrap();
        let (mut t, file) = TempTarget::create(&dest).unwrap();
        drop(file);
        t.commit_no_clobber().unwrap();
        assert_eq!(entries(&dir), ["db.sqlite"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_targets_name_the_path() {
        let dir = temp_dir();
        let e = TempTarget::create(&dir).unwrap_err();
        assert!(e.message.as_str().contains("is a directory"), "{e}");
        let missing = dir.join("nope").join("x.csv");
        let e = TempTarget::create(&missing).unwrap_err();
        assert!(e.message.as_str().contains("does not exist"), "{e}");
        assert!(
            e.message.as_str().contains(missing.to_str().unwrap()),
            "{e}"
        );
        let e = TempTarget::create(Path::new("")).unwrap_err();
        assert_eq!(e.kind, jj_plugin_api::ErrorKind::Config);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
