//! Directories of captures, `jj info`, `jj status`, and SIGTERM during a run.
use jj_tests::*;
use std::process::{Command, Stdio};

#[test]
fn a_directory_is_processed_in_sorted_order_and_bad_files_are_reported_one_line_each() {
    let dir = scratch("capture-dir");
    let sample = workspace().join("resources/samples/sample.pcap");
    std::fs::copy(&sample, dir.join("b.pcap")).unwrap();
    std::fs::copy(generated_capture(300), dir.join("a.pcapng.cap")).unwrap();
    std::fs::write(dir.join("c.pcapng"), b"definitely not a capture").unwrap();
    std::fs::write(dir.join("notes.txt"), b"ignored: not a capture extension").unwrap();
    let o = jj(&[
        "extract",
        dir.to_str().unwrap(),
        "-o",
        "-",
        "--feature",
        "start_time",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a failed file makes the exit code 1"
    );
    let err = stderr(&o);
    let failures: Vec<&str> = err.lines().filter(|l| l.contains("c.pcapng")).collect();
    assert_eq!(failures.len(), 1, "{err}");
    assert!(!err.contains("notes.txt"));
    // rows of a.pcapng.cap come first, then b.pcap's
    let single = |p: &std::path::Path| {
        let o = jj(&[
            "extract",
            p.to_str().unwrap(),
            "-o",
            "-",
            "--feature",
            "start_time",
        ]);
        stdout(&o)
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let mut expected = single(&dir.join("a.pcapng.cap"));
    expected.extend(single(&dir.join("b.pcap")));
    let got: Vec<String> = stdout(&o).lines().skip(1).map(str::to_string).collect();
    assert_eq!(got, expected);
}

#[test]
fn info_and_status_describe_the_capture_and_the_installation() {
    let sample = workspace().join("resources/samples/sample.pcap");
    let o = jj(&["info", sample.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let packets: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("packets:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("packets line");
    // the same count as the frames jj extract reads
    let e = jj(&["extract", sample.to_str().unwrap(), "-o", "-"]);
    assert!(
        stderr(&e).contains(&format!(": {packets} frames")),
        "{}",
        stderr(&e)
    );
    assert!(text.contains("IPv4 TCP") && text.contains("duration:") && text.contains("rate:"));

    let s = stdout(&jj(&["status"]));
    assert!(
        s.contains(&format!("plugin-api {}", jj_plugin_api::API_VERSION))
            && s.contains("output formats:")
            && s.contains("live capture:")
    );
}

#[test]
fn sigterm_flushes_open_flows_and_leaves_a_complete_output() {
    let dir = scratch("sigterm");
    let pcap = dir.join("big.pcap");
    let cfg = jj_gen::GenConfig {
        target_bytes: Some(400_000_000),
        ..Default::default()
    };
    jj_gen::generate(
        &cfg,
        std::io::BufWriter::new(std::fs::File::create(&pcap).unwrap()),
    )
    .unwrap();
    // A complete run: its row count, and its duration to aim the signal at the middle of
    // the next run however fast jj is on this machine.
    let started = std::time::Instant::now();
    let full = jj(&[
        "extract",
        pcap.to_str().unwrap(),
        "-o",
        "-",
        "--threads",
        "2",
        "--feature",
        "protocol",
    ]);
    let full_time = started.elapsed();
    let full_rows = stdout(&full).lines().count() - 1;
    let out = dir.join("flows.csv");
    let child = Command::new(jj_path())
        .args([
            "extract",
            pcap.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--threads",
            "2",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(full_time / 2);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let res = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "clean exit after SIGTERM: {err}");
    let text = std::fs::read_to_string(&out).expect("final file exists");
    let mut lines = text.lines();
    let n = lines.next().unwrap().split(',').count();
    let mut rows = 0;
    for l in lines {
        assert_eq!(l.split(',').count(), n, "every row complete");
        rows += 1;
    }
    assert!(rows > 0);
    assert!(err.contains("interrupted"), "the run was cut short: {err}");
    assert!(rows <= full_rows);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file left");
}

#[test]
fn watch_processes_new_captures_as_they_appear() {
    let dir = scratch("watch");
    let incoming = dir.join("incoming");
    let out = dir.join("out");
    std::fs::create_dir_all(&incoming).unwrap();
    let sample = workspace().join("resources/samples/sample.pcap");
    std::fs::copy(&sample, incoming.join("a.pcap")).unwrap();
    let child = Command::new(jj_path())
        .args([
            "watch",
            incoming.to_str().unwrap(),
            "-O",
            out.to_str().unwrap(),
            "--interval",
            "0.2",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let wait_for = |p: &std::path::Path| {
        for _ in 0..100 {
            if p.exists() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        false
    };
    assert!(
        wait_for(&out.join("a.csv")),
        "the capture present at start is processed"
    );
    // a new capture arrives (moved in whole), and a damaged one
    std::fs::copy(generated_capture(300), dir.join("b.tmp")).unwrap();
    std::fs::rename(dir.join("b.tmp"), incoming.join("b.pcapng")).unwrap();
    std::fs::write(incoming.join("c.pcap"), b"not a capture at all").unwrap();
    assert!(wait_for(&out.join("b.csv")), "a new capture is processed");
    std::thread::sleep(std::time::Duration::from_millis(600));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let res = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(
        err.lines()
            .filter(|l| l.contains("c.pcap") && !l.contains("counted"))
            .count(),
        1,
        "{err}"
    );
    let single = jj(&["extract", sample.to_str().unwrap(), "-o", "-"]);
    assert_eq!(
        std::fs::read(out.join("a.csv")).unwrap(),
        single.stdout,
        "same output as jj extract"
    );
}

/// A bad option would fail every capture the watcher finds: it refuses to start, with
/// the same message `extract` gives, and processes nothing.
#[test]
fn watch_refuses_to_start_with_a_bad_option() {
    let dir = scratch("watch-bad-option");
    let incoming = dir.join("incoming");
    let out = dir.join("out");
    std::fs::create_dir_all(&incoming).unwrap();
    let sample = workspace().join("resources/samples/sample.pcap");
    std::fs::copy(&sample, incoming.join("a.pcap")).unwrap();
    let cfg = dir.join("typo.toml");
    std::fs::write(&cfg, "[plugins.tls]\ntls_stream_bytez = 4096\n").unwrap();
    let (incoming_s, out_s) = (incoming.to_str().unwrap(), out.to_str().unwrap());
    for (extra, needle) in [
        (
            vec!["-c", cfg.to_str().unwrap()],
            "did you mean 'tls_stream_bytes'?",
        ),
        (
            vec!["--feature", "pkt_len_maen"],
            "did you mean 'pkt_len_mean'?",
        ),
        (vec!["--timeout=-3"], "--timeout must be"),
    ] {
        let mut args = vec!["watch", incoming_s, "-O", out_s, "--once"];
        args.extend(extra);
        let o = jj(&args);
        assert_eq!(o.status.code(), Some(2), "{needle}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{}", stderr(&o));
        assert!(!out.join("a.csv").exists(), "nothing is processed");
    }
    // the same watcher with good options processes the file
    let o = jj(&["watch", incoming_s, "-O", out_s, "--once"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("a.csv").exists());
}
