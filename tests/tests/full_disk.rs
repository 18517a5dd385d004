//! A full disk gives a clear error naming the output and leaves no file under the final
//! name (a 1 MiB tmpfs stands in for the full disk; mounting needs root, as CI has).
use jj_tests::*;
use std::process::Command;

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_cleanly() {
    let dir = scratch("full-disk");
    let mnt = dir.join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&mnt)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("\n*** SKIPPED: cannot mount a tmpfs (not root?) ***\n");
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI runs as root and must run this test"
        );
        return;
    }
    let _guard = Mount(mnt.clone());
    let pcap = generated_capture(3000);
    for (format, name) in [("csv", "out.csv"), ("jsonl", "out.jsonl")] {
        let out = mnt.join(name);
        let o = jj(&[
            "extract",
            pcap.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "-f",
            format,
        ]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{format}: {err}");
        assert!(
            err.contains(name),
            "{format}: the error names the output: {err}"
        );
        assert!(
            err.to_lowercase().contains("no space"),
            "{format}: says why: {err}"
        );
        assert!(!err.contains("panicked"));
        assert!(!out.exists(), "{format}: nothing under the final name");
        let left: Vec<_> = std::fs::read_dir(&mnt)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "{format}: partial file removed: {left:?}");
    }
}
