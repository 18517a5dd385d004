//! SIGKILL at random moments, many times per output format: a file under its final name
//! is always complete and valid (writers write a temporary file and rename it at the end).
use jj_tests::*;
use std::{
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

fn formats() -> Vec<String> {
    let s = stdout(&jj(&["status"]));
    let line = s
        .lines()
        .find_map(|l| l.strip_prefix("output formats: "))
        .unwrap_or("")
        .to_string();
    line.split(", ").map(str::to_string).collect()
}

/// Row count of a complete output, or a description of what is wrong with it.
fn validate(format: &str, path: &Path) -> Result<usize, String> {
    match format {
        "csv" => {
            let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
            if !text.ends_with('\n') {
                return Err("does not end with a newline".into());
            }
            let mut lines = text.lines();
            let n = lines.next().ok_or("empty")?.split(',').count();
            let mut rows = 0;
            for l in lines {
                if l.split(',').count() != n {
                    return Err(format!("short row: {l}"));
                }
                rows += 1;
            }
            Ok(rows)
        }
        "jsonl" => {
            let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
            for l in text.lines() {
                serde_json::from_str::<serde_json::Value>(l).map_err(|e| format!("{e}: {l}"))?;
            }
            Ok(text.lines().count())
        }
        "sqlite" | "parquet" => {
            let script = if format == "sqlite" {
                "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nassert c.execute('pragma integrity_check').fetchone()[0]=='ok'\nprint(c.execute('select count(*) from jj_features').fetchone()[0])"
            } else {
                "import sys\nimport pyarrow.parquet as pq\nprint(pq.read_table(sys.argv[1]).num_rows)"
            };
            let o = Command::new("python3")
                .args(["-c", script])
                .arg(path)
                .output()
                .map_err(|e| e.to_string())?;
            if !o.status.success() {
                return Err(String::from_utf8_lossy(&o.stderr).into_owned());
            }
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse()
                .map_err(|e| format!("{e}"))
        }
        other => Err(format!("no validator for {other}")),
    }
}

fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn sigkill_never_leaves_a_truncated_file_under_the_final_name() {
    let dir = scratch("kill");
    let pcap = dir.join("input.pcap");
    let cfg = jj_gen::GenConfig {
        target_bytes: Some(60_000_000),
        ..Default::default()
    };
    jj_gen::generate(
        &cfg,
        std::io::BufWriter::new(std::fs::File::create(&pcap).unwrap()),
    )
    .unwrap();
    let available = formats();
    let mut tested = Vec::new();
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    for (format, ext, needs) in [
        ("csv", "csv", None),
        ("jsonl", "jsonl", None),
        ("parquet", "parquet", Some("pyarrow")),
        ("sqlite", "db", Some("sqlite3")),
    ] {
        if !available.iter().any(|f| f == format) {
            eprintln!("kill test: format {format} not installed, skipped");
            continue;
        }
        if let Some(m) = needs {
            if !python_has(m) {
                eprintln!(
                    "kill test: python3 module {m} missing, cannot validate {format}; skipped"
                );
                continue;
            }
        }
        // the row count and duration of a complete run
        let full = dir.join(format!("full.{ext}"));
        let started = std::time::Instant::now();
        let o = jj(&[
            "-q",
            "extract",
            pcap.to_str().unwrap(),
            "-o",
            full.to_str().unwrap(),
            "-f",
            format,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        // Kill after 0 to 2x a complete run's time, so about half the runs are cut short
        // however fast jj is on this machine.
        let span_ms = (2 * started.elapsed().as_millis() as u64).max(20);
        let expected = validate(format, &full).expect("complete output valid");
        let (mut killed, mut finished) = (0, 0);
        for i in 0..50 {
            let out = dir.join(format!("run{i}.{ext}"));
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let delay = Duration::from_millis(seed % span_ms);
            let mut child = Command::new(jj_path())
                .args([
                    "-q",
                    "extract",
                    pcap.to_str().unwrap(),
                    "-o",
                    out.to_str().unwrap(),
                    "-f",
                    format,
                ])
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(delay);
            let _ = child.kill(); // SIGKILL
            let status = child.wait().unwrap();
            if status.success() {
                finished += 1;
            } else {
                killed += 1;
            }
            if out.exists() {
                let rows = validate(format, &out)
                    .unwrap_or_else(|e| panic!("{format} run {i}: corrupt final file: {e}"));
                assert_eq!(
                    rows, expected,
                    "{format} run {i}: a final file holds every row"
                );
            }
        }
        eprintln!(
            "kill test {format}: {killed} killed, {finished} finished, every final file complete"
        );
        assert!(
            killed > 0,
            "{format}: the runs must be interrupted sometimes"
        );
        tested.push(format);
    }
    assert!(tested.contains(&"csv") && tested.contains(&"jsonl"));
}
