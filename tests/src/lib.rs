//! Helpers for the end-to-end tests: where the built `jj` and plugins are, how to run
//! them, where the shared reference material is.
use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::OnceLock,
};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// The directory holding the `jj` binary and the plugin libraries of this build profile
/// (`target/<profile>`), found from the test executable (`target/<profile>/deps/...`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf();
    let jj = dir.join(format!("jj{}", std::env::consts::EXE_SUFFIX));
    assert!(
        jj.exists(),
        "{} not found: build the workspace first (`cargo build --release --workspace`, as the README says)",
        jj.display()
    );
    dir
}

pub fn jj_path() -> PathBuf {
    bin_dir().join(format!("jj{}", std::env::consts::EXE_SUFFIX))
}

/// Runs `jj` with `args`; plugins come from the executable's directory as for a user.
pub fn jj(args: &[&str]) -> Output {
    Command::new(jj_path())
        .args(args)
        .env_remove("JJ_PLUGIN_PATH")
        .output()
        .expect("run jj")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `../shared` next to the workspace, if present. When absent this says so loudly, and
/// under `CI=true` it fails the test.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("JJ_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().parent().expect("parent").join("shared"));
    if dir.join("pcaps").is_dir() {
        return Some(dir);
    }
    eprintln!(
        "\n*** SKIPPED: shared reference material not found at {} ***\n",
        dir.display()
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "CI=true but the shared reference material is missing at {}",
            dir.display()
        );
    }
    None
}

/// A fresh scratch directory under the build's target directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = bin_dir().join("test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A generated capture with `flows` flows (deterministic), cached per size.
pub fn generated_capture(flows: u64) -> PathBuf {
    static LOCK: OnceLock<std::sync::Mutex<()>> = OnceLock::new();
    let _g = LOCK
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let path = bin_dir()
        .join("test-scratch")
        .join(format!("generated-{flows}.pcap"));
    if !path.exists() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        let cfg = jj_gen::GenConfig {
            flows,
            ..Default::default()
        };
        let tmp = path.with_extension("partial");
        let f = std::io::BufWriter::new(std::fs::File::create(&tmp).expect("create"));
        jj_gen::generate(&cfg, f).expect("generate");
        std::fs::rename(&tmp, &path).expect("rename");
    }
    path
}

/// Builds a Cargo project outside the main workspace (examples, fixtures) in a target
/// directory of its own, returning that target directory's release folder.
pub fn cargo_build_outside(manifest: &Path, target_name: &str, package: Option<&str>) -> PathBuf {
    let target = bin_dir().join("test-builds").join(target_name);
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.arg("build")
        .arg("--release")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(manifest);
    if let Some(p) = package {
        cmd.arg("-p").arg(p);
    }
    let out = cmd
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo");
    assert!(
        out.status.success(),
        "building {} failed:\n{}",
        manifest.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    target.join("release")
}

/// Parses CSV text produced by jj (no embedded newlines in jj's own columns).
pub fn csv_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap_or("")
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}
