//! Live capture through the `pcap` capture plugin (plugins/capture-pcap) on the loopback
//! interface. Capturing needs root (or CAP_NET_RAW + CAP_NET_ADMIN): without it these
//! tests print a loud SKIPPED, and fail only under `CI=true` (CI runs as root).
use jj_tests::*;
use std::{
    net::UdpSocket,
    path::Path,
    process::{Child, Command, ExitStatus, Output, Stdio},
    sync::Mutex,
    thread,
    time::{Duration, Instant},
};

/// The capturing tests run one at a time (they share `lo` and the CPU).
static LIVE: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// True when this process may capture. Otherwise says so loudly, and fails under `CI=true`.
fn privileged(test: &str) -> bool {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if uid == "0" {
        return true;
    }
    eprintln!(
        "\n*** SKIPPED {test}: live capture needs root (id -u = {:?}); run the tests as root ***\n",
        uid
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true but {test} cannot capture: the tests must run as root in CI");
    }
    false
}

/// The pcap plugin must have been built next to `jj` (it is a workspace member).
/// The common start of a live test: `None` (after a loud SKIPPED) without root; else
/// the pcap plugin is there and this test runs alone.
fn live_test(name: &str) -> Option<std::sync::MutexGuard<'static, ()>> {
    if !privileged(name) {
        return None;
    }
    assert_pcap_plugin();
    Some(serial())
}

fn assert_pcap_plugin() {
    let name = format!(
        "{}jj_capture_pcap{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    assert!(
        bin_dir().join(&name).exists(),
        "{name} not found next to jj: build the workspace first (`cargo build --release --workspace`)"
    );
}

fn spawn_jj(args: &[&str]) -> Child {
    Command::new(jj_path())
        .args(args)
        .env_remove("JJ_PLUGIN_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run jj")
}

/// Waits for `child` at most `limit`; kills it (and fails) if it is still running.
fn wait_bounded(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    loop {
        match child.try_wait().expect("wait for jj") {
            Some(_) => return child.wait_with_output().expect("jj output"),
            None if started.elapsed() > limit => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("jj output");
                panic!(
                    "jj did not exit within {limit:?}; stderr:\n{}",
                    stderr(&out)
                );
            }
            None => thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Sends `count` datagrams from 127.0.0.1:`from` to 127.0.0.1:`to`, evenly paced over
/// `over`, and returns how many were sent. A receiver bound on `to` drains them, so the
/// kernel answers no ICMP port-unreachable.
fn send_udp(from: u16, to: u16, count: usize, over: Duration) -> usize {
    let rx = UdpSocket::bind(("127.0.0.1", to))
        .unwrap_or_else(|e| panic!("bind 127.0.0.1:{to} (is the port in use?): {e}"));
    rx.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let drain = thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut n = 0usize;
        while rx.recv_from(&mut buf).is_ok() {
            n += 1;
        }
        n
    });
    let tx = UdpSocket::bind(("127.0.0.1", from))
        .unwrap_or_else(|e| panic!("bind 127.0.0.1:{from} (is the port in use?): {e}"));
    const CHUNK: usize = 100;
    let chunks = count.div_ceil(CHUNK).max(1) as u32;
    let step = over / chunks;
    let start = Instant::now();
    let mut payload = [0u8; 64];
    let mut sent = 0usize;
    for i in 0..count {
        if i % CHUNK == 0 {
            let due = start + step * (i / CHUNK) as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                thread::sleep(wait);
            }
        }
        payload[..8].copy_from_slice(&(i as u64).to_be_bytes());
        // A full socket buffer is transient: retry a few times, never loop forever.
        for attempt in 0..50 {
            match tx.send_to(&payload, ("127.0.0.1", to)) {
                Ok(_) => {
                    sent += 1;
                    break;
                }
                Err(e) if attempt < 49 => {
                    eprintln!("send {i}: {e}; retrying");
                    thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("send {i}: {e}"),
            }
        }
    }
    let received = drain.join().expect("drain");
    eprintln!("sent {sent} datagrams {from} -> {to}; the receiver socket read {received}");
    sent
}

/// The row of the flow `src_port` -> `dst_port` in jj's CSV, as (header, row).
fn flow_row(csv: &str, src_port: u16, dst_port: u16) -> (Vec<String>, Vec<String>) {
    let (header, rows) = csv_rows(csv);
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("column {name} missing: {header:?}"))
    };
    let (s, d) = (col("src_port"), col("dst_port"));
    let matching: Vec<Vec<String>> = rows
        .into_iter()
        .filter(|r| r[s] == src_port.to_string() && r[d] == dst_port.to_string())
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "expected one flow {src_port} -> {dst_port} in:\n{csv}"
    );
    (header, matching.into_iter().next().unwrap())
}

fn field<'a>(header: &[String], row: &'a [String], name: &str) -> &'a str {
    let i = header.iter().position(|h| h == name).expect(name);
    &row[i]
}

/// "jj: lo: N frames captured, K dropped by the kernel, I dropped by the interface"
fn capture_counts(err: &str) -> (u64, u64) {
    let line = err
        .lines()
        .find(|l| l.contains("frames captured") && l.contains("dropped by the kernel"))
        .unwrap_or_else(|| panic!("no capture counters in jj's stderr:\n{err}"));
    let number_before = |marker: &str| -> u64 {
        let head = &line[..line.find(marker).expect(marker)];
        head.trim_end()
            .rsplit([' ', ','])
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("cannot read the count before '{marker}' in: {line}"))
    };
    (
        number_before("frames captured"),
        number_before("dropped by the kernel"),
    )
}

fn exited_ok(status: ExitStatus, err: &str) {
    assert!(status.success(), "jj failed ({status}):\n{err}");
}

#[test]
fn live_loopback_counts_every_datagram_without_drops() {
    let Some(_g) = live_test("live_loopback_counts_every_datagram_without_drops") else {
        return;
    };
    let dir = scratch("live-loopback");
    let out = dir.join("OUT.csv");
    let child = spawn_jj(&[
        "live",
        "lo",
        "--duration",
        "4",
        "--filter",
        "udp and port 45999",
        "-o",
        out.to_str().unwrap(),
        "--feature",
        "src_port",
        "--feature",
        "dst_port",
        "--feature",
        "total_packets",
        "--feature",
        "protocol",
    ]);
    thread::sleep(Duration::from_secs(1));
    let sent = send_udp(45998, 45999, 10_000, Duration::from_millis(1500));
    let o = wait_bounded(child, Duration::from_secs(30));
    let err = stderr(&o);
    eprintln!("{err}");
    exited_ok(o.status, &err);
    assert_eq!(sent, 10_000);

    let csv = std::fs::read_to_string(&out).expect("OUT.csv");
    let (header, row) = flow_row(&csv, 45998, 45999);
    // Linux libpcap skips loopback's outgoing copy, so each datagram is seen once.
    assert_eq!(
        field(&header, &row, "total_packets"),
        "10000",
        "every datagram counted once:\n{csv}\n{err}"
    );
    assert_eq!(field(&header, &row, "protocol"), "17", "{csv}");
    // The filter lets only our datagrams through, and nothing was lost.
    let (frames, kernel_drops) = capture_counts(&err);
    assert_eq!(kernel_drops, 0, "{err}");
    assert!(err.contains(", 0 dropped by the kernel"), "{err}");
    assert_eq!(frames, 10_000, "{err}");
}

#[test]
fn sigterm_flushes_rows_and_leaves_a_readable_saved_pcap() {
    let Some(_g) = live_test("sigterm_flushes_rows_and_leaves_a_readable_saved_pcap") else {
        return;
    };
    let dir = scratch("live-sigterm");
    let out = dir.join("rows.csv");
    let saved = dir.join("saved.pcap");
    let child = spawn_jj(&[
        "live",
        "lo",
        "--filter",
        "udp and port 46002",
        "--save-pcap",
        saved.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--feature",
        "src_port",
        "--feature",
        "dst_port",
        "--feature",
        "total_packets",
    ]);
    thread::sleep(Duration::from_secs(1));
    let sent = send_udp(46001, 46002, 200, Duration::from_millis(200));
    assert_eq!(sent, 200);
    thread::sleep(Duration::from_millis(500));
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let o = wait_bounded(child, Duration::from_secs(10));
    let err = stderr(&o);
    exited_ok(o.status, &err);
    let csv = std::fs::read_to_string(&out).expect("rows.csv");
    let (header, row) = flow_row(&csv, 46001, 46002);
    assert_eq!(field(&header, &row, "total_packets"), "200", "{csv}\n{err}");

    // The saved capture is complete and readable by the file backend.
    assert!(Path::new(&saved).is_file());
    let o = jj(&[
        "extract",
        saved.to_str().unwrap(),
        "--feature",
        "src_port",
        "--feature",
        "dst_port",
        "--feature",
        "total_packets",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (header, row) = flow_row(&stdout(&o), 46001, 46002);
    assert_eq!(field(&header, &row, "total_packets"), "200");
}

#[test]
fn unknown_interface_and_bad_filter_fail_with_one_line() {
    assert_pcap_plugin();
    // No capture backend claims an interface that does not exist: no privileges needed.
    let o = jj(&["live", "nonexistent0", "--duration", "1"]);
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line:\n{err}");
    assert!(err.contains("nonexistent0"), "{err}");

    if !privileged("unknown_interface_and_bad_filter_fail_with_one_line (bad filter part)") {
        return;
    }
    let _g = serial();
    // --duration bounds the run should the filter ever be accepted.
    let o = jj(&[
        "live",
        "lo",
        "--filter",
        "not a filter(((",
        "--duration",
        "1",
    ]);
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line:\n{err}");
    assert!(err.contains("not a filter((("), "{err}");
}

/// `jj live` streams: rows reach the writer (here a pipe) while the capture goes on, and
/// two-pass features are filled in when their graph window closes — here at two rows.
#[test]
fn live_rows_stream_out_with_their_graph_features() {
    let Some(_g) = live_test("live_rows_stream_out_with_their_graph_features") else {
        return;
    };
    let mut child = spawn_jj(&[
        "live",
        "lo",
        "--filter",
        "udp and portrange 46010-46012",
        "-o",
        "-",
        "-f",
        "jsonl",
        "--timeout",
        "1",
        "--graph-window",
        "3600",
        "--graph-window-rows",
        "2",
        "--feature",
        "src_port",
        "--feature",
        "dst_port",
        "--feature",
        "total_packets",
        "--features",
        "connection",
    ]);
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    thread::sleep(Duration::from_secs(1));
    assert_eq!(send_udp(46010, 46012, 20, Duration::from_millis(100)), 20);
    assert_eq!(send_udp(46011, 46012, 30, Duration::from_millis(100)), 30);
    // Both flows end after 1 s of silence (wall clock); their window then has two rows.
    let mut rows = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while rows.len() < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => rows.push(serde_json::from_str::<serde_json::Value>(&line).unwrap()),
            Err(_) => break,
        }
    }
    let still_running = child.try_wait().expect("try_wait").is_none();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let o = wait_bounded(child, Duration::from_secs(10));
    let _ = reader.join();
    let err = stderr(&o);
    exited_ok(o.status, &err);
    assert!(still_running, "jj ended early: {err}");
    assert_eq!(rows.len(), 2, "two rows while capturing: {rows:?}\n{err}");
    rows.sort_by_key(|r| r["src_port"].as_i64());
    assert_eq!(rows[0]["total_packets"], 20, "{rows:?}");
    assert_eq!(rows[1]["total_packets"], 30, "{rows:?}");
    for r in &rows {
        // one node (127.0.0.1), two flows on its edge to itself, both to port 46012
        assert_eq!(r["conn_src_dst_flows"], 2, "{r}");
        assert_eq!(r["conn_src_port_flows"], 2, "{r}");
        assert_eq!(r["conn_src_total_packets"], 50, "{r}");
    }
}
