//! A throwaway PostgreSQL server for tests and benchmarks (standard library only).
//!
//! Shared by this crate's tests, its benchmark and the workspace's end-to-end test
//! (`tests/tests/postgres.rs`), which include this file with `#[path]`.
//!
//! [`PgServer::start`] creates a temporary directory, runs `initdb` in it (as the user
//! `postgres` when running as root, via `runuser`, since the server refuses to run as
//! root), starts `postgres` on a free loopback port with its socket in that directory,
//! and waits until it accepts connections. Dropping the [`PgServer`] (also while a
//! failing test unwinds) stops the server (`pg_ctl stop -m immediate`, then a kill) and
//! removes the directory.
//!
//! The binaries come from `$JJ_PG_BINDIR`, else the newest `/usr/lib/postgresql/*/bin`
//! (Debian's `postgresql-15` package). When they are missing, or when running as root
//! without a `postgres` user, `start` prints a loud SKIPPED line and returns `None`;
//! under `CI=true` it panics instead.
#![allow(dead_code)]

use std::{
    fs::File,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

/// A running server; stopped and removed on drop.
pub struct PgServer {
    root: PathBuf,
    bin: PathBuf,
    /// Run the server's programs as the user `postgres` (we are root).
    as_postgres: bool,
    child: Option<Child>,
    pub port: u16,
}

fn skip(reason: &str) -> Option<PgServer> {
    eprintln!("\n*** SKIPPED: PostgreSQL tests: {reason} ***\n");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true but the PostgreSQL tests cannot run: {reason}");
    }
    None
}

fn bin_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("JJ_PG_BINDIR") {
        let d = PathBuf::from(d);
        return d.join("initdb").exists().then_some(d);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl PgServer {
    /// Starts a server (see the module docs); `None` when the tests must be skipped.
    /// `settings` are extra `name=value` server settings.
    pub fn start(tag: &str, settings: &[&str]) -> Option<PgServer> {
        let Some(bin) = bin_dir() else {
            return skip(
                "no PostgreSQL server binaries (initdb) in $JJ_PG_BINDIR or /usr/lib/postgresql/*/bin: apt-get install postgresql-15",
            );
        };
        let as_postgres = is_root();
        if as_postgres
            && !Command::new("id")
                .arg("-u")
                .arg("postgres")
                .output()
                .is_ok_and(|o| o.status.success())
        {
            return skip("running as root, but there is no user `postgres` to run the server as");
        }
        static N: AtomicU32 = AtomicU32::new(0);
        let root = std::env::temp_dir().join(format!(
            "jj-pg-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("create the server directory");
        let mut server = PgServer {
            root,
            bin,
            as_postgres,
            child: None,
            port: 0,
        };
        if as_postgres {
            let o = run(Command::new("chown").arg("postgres:").arg(&server.root));
            assert!(
                o.status.success(),
                "chown: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let o = run(server
            .command("initdb")
            .arg("-D")
            .arg(server.data_dir())
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]));
        assert!(
            o.status.success(),
            "initdb failed:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        // A port found free may be taken before the server binds it: try a few.
        for attempt in 0.. {
            server.port = free_port();
            if server.launch(settings) {
                break;
            }
            assert!(attempt < 3, "the server does not start:\n{}", server.log());
        }
        Some(server)
    }

    /// A command for one of the server's programs, as the user `postgres` if we are root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.root.join("server.log")
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts the server on `self.port`; false if it exits before accepting connections.
    fn launch(&mut self, settings: &[&str]) -> bool {
        let log = File::create(self.log_path()).expect("server log");
        let mut cmd = self.command("postgres");
        cmd.arg("-D")
            .arg(self.data_dir())
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(&self.root)
            .args(["-c", "listen_addresses=127.0.0.1"]);
        for s in settings {
            cmd.args(["-c", s]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start postgres");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                eprintln!("postgres exited ({status}):\n{}", self.log());
                self.child = None;
                return false;
            }
            if self.try_psql("postgres", "SELECT 1").is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "postgres did not accept connections within 60 s:\n{}",
            self.log()
        );
    }

    /// `postgresql://postgres@127.0.0.1:PORT/db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs `sql` with psql (`-At`: unaligned, tuples only); the output, or the error.
    pub fn try_psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let o = run(Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-A",
                "-t",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
            ])
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", "postgres", "-d", db, "-c", sql])
            .env("PGCONNECT_TIMEOUT", "5"));
        if o.status.success() {
            Ok(String::from_utf8_lossy(&o.stdout).trim_end().to_string())
        } else {
            Err(String::from_utf8_lossy(&o.stderr).into_owned())
        }
    }

    /// Runs `sql` with psql; panics on error.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        self.try_psql(db, sql)
            .unwrap_or_else(|e| panic!("psql -d {db} -c {sql:?} failed: {e}"))
    }

    /// Creates database `name`.
    pub fn create_db(&self, name: &str) {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
    }

    /// The server's directory (data directory, socket, log).
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = self
                .command("pg_ctl")
                .arg("stop")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-m", "immediate", "-w", "-t", "10"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
