//! Unit tests against librdkafka's mock cluster (an in-process Kafka-protocol broker).

use crate::{KafkaFactory, KafkaWriter};
use jj_plugin_api::{
    DType, ErrorKind, Options, PluginError, PluginResult, Schema, WriteSummary, Writer,
    WriterFactory,
};
use jj_writer_util::owned::{OwnedColumn, OwnedColumns};
use rdkafka::{
    config::ClientConfig,
    consumer::{BaseConsumer, Consumer},
    message::Message,
    mocking::MockCluster,
    producer::DefaultProducerContext,
    Offset, TopicPartitionList,
};
use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

const TOPIC: &str = "flows";

/// A mock cluster with `TOPIC` (`partitions` partitions).
fn cluster(brokers: i32, partitions: i32) -> MockCluster<'static, DefaultProducerContext> {
    let mc = MockCluster::new(brokers).expect("mock cluster");
    mc.create_topic(TOPIC, partitions, 1).expect("create topic");
    mc
}

fn options(pairs: &[(&str, &str)]) -> Options {
    let mut o = Options::new();
    o.set("kafka_topic", TOPIC);
    for (k, v) in pairs {
        o.set(k, v);
    }
    o
}

/// `rows` rows starting at row number `first`: every dtype, nulls, non-ASCII text.
fn rows(first: usize, rows: usize) -> Vec<OwnedColumn> {
    let mut flow_id = OwnedColumn::empty("flow_id", DType::String);
    let mut port = OwnedColumn::empty("src_port", DType::Int64);
    let mut dur = OwnedColumn::empty("duration", DType::Float64);
    let mut tcp = OwnedColumn::empty("is_tcp", DType::Bool);
    let mut note = OwnedColumn::empty("note", DType::String);
    let mut iat = OwnedColumn::empty("iat_sequence", DType::FloatList);
    let mut sizes = OwnedColumn::empty("pkt_len_sequence", DType::IntList);
    for i in first..first + rows {
        flow_id.push_str(Some(&format!("{i:016x}")));
        port.push_int(Some(1024 + (i % 60000) as i64));
        dur.push_float(Some(if i % 97 == 0 {
            f64::INFINITY
        } else {
            i as f64 * 0.001
        }));
        tcp.push_bool(if i % 5 == 0 { None } else { Some(i % 2 == 0) });
        note.push_str(match i % 4 {
            0 => None,
            1 => Some("café \"quoted\"\t"),
            _ => Some(""),
        });
        iat.push_float_list(Some(&[0.01, 1e-5, i as f64]));
        sizes.push_int_list(if i % 3 == 0 {
            None
        } else {
            Some(&[60, 1500, -1])
        });
    }
    vec![flow_id, port, dur, tcp, note, iat, sizes]
}

fn schema() -> Schema {
    rows(0, 0).schema()
}

fn open(brokers: &str, opts: &Options) -> PluginResult<KafkaWriter> {
    KafkaFactory.open("kafka", brokers, &schema(), opts)
}

fn write(w: &mut KafkaWriter, cols: &[OwnedColumn]) -> PluginResult<()> {
    cols.with_batch(|b| w.write_batch(b))
}

/// The `jsonl` writer's lines for `cols` (the expected message values), from its encoder.
fn jsonl_lines(cols: &[OwnedColumn]) -> Vec<String> {
    let keys = jj_writer_util::json::JsonKeys::new(&cols.schema().columns);
    cols.with_batch(|b| {
        let mut out = Vec::new();
        for row in 0..b.num_rows as usize {
            jj_writer_util::json::jsonl_row(&mut out, &keys, b.columns.as_slice(), row);
        }
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    })
}

/// A consumed message: key (if any) and value.
type Msg = (Option<String>, String);

/// Reads every partition of `TOPIC` from the beginning until `expect` messages arrived
/// or nothing came for 3 s.
fn consume(brokers: &str, expect: usize) -> Vec<Msg> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "jj-test")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let md = consumer
        .fetch_metadata(Some(TOPIC), Duration::from_secs(10))
        .expect("metadata");
    let mut tpl = TopicPartitionList::new();
    for p in md.topics()[0].partitions() {
        tpl.add_partition_offset(TOPIC, p.id(), Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let mut last = Instant::now();
    while out.len() < expect && last.elapsed() < Duration::from_secs(3) {
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.expect("consume");
            let key = m.key().map(|k| String::from_utf8(k.to_vec()).unwrap());
            let value = String::from_utf8(m.payload().unwrap_or_default().to_vec()).unwrap();
            out.push((key, value));
            last = Instant::now();
        }
    }
    // Anything beyond `expect` (duplicates) would show up here.
    let extra = Instant::now();
    while extra.elapsed() < Duration::from_millis(300) {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(50)) {
            out.push((
                m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
            ));
        }
    }
    out
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn root_module_declares_the_kafka_writer() {
    let lib = crate::export::jj_plugin_root_module();
    assert_eq!((lib.library())().name.as_str(), "jj-output-kafka");
    let writers = (lib.writers())();
    let names: Vec<&str> = writers.iter().map(|d| d.info.name.as_str()).collect();
    assert_eq!(names, ["kafka"]);
    let formats = KafkaFactory.formats();
    assert_eq!(formats[0].name.as_str(), "kafka");
    assert_eq!(formats[0].supports_stdout, 0);
}

#[test]
fn every_row_arrives_keyed_with_the_jsonl_value() {
    let mc = cluster(1, 3);
    let brokers = mc.bootstrap_servers();
    let mut w = open(&brokers, &options(&[("kafka_key", "flow_id")])).unwrap();
    let (a, b) = (rows(0, 500), rows(500, 700));
    write(&mut w, &a).unwrap();
    write(&mut w, &b).unwrap();
    let s = w.finish().unwrap();
    assert_eq!(
        s,
        WriteSummary {
            rows_received: 1200,
            rows_written: 1200,
            rows_failed: 0
        }
    );
    // finish is idempotent
    assert_eq!(w.finish().unwrap(), s);

    let got = consume(&brokers, 1200);
    assert_eq!(got.len(), 1200, "every row exactly once");
    let mut expected = jsonl_lines(&a);
    expected.extend(jsonl_lines(&b));
    let values: Vec<String> = got.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(
        sorted(values),
        sorted(expected),
        "values are the jsonl objects"
    );
    // The text of one row, as Python's json.dumps writes it.
    let row1 = got
        .iter()
        .find(|(k, _)| k.as_deref() == Some("0000000000000001"))
        .unwrap();
    assert_eq!(
        row1.1,
        r#"{"flow_id": "0000000000000001", "src_port": 1025, "duration": 0.001, "is_tcp": false, "note": "caf\u00e9 \"quoted\"\t", "iat_sequence": [0.01, 1e-05, 1.0], "pkt_len_sequence": [60, 1500, -1]}"#
    );

    let names: Vec<&str> = ["flow_id", "src_port", "duration", "is_tcp", "note"].to_vec();
    let mut keys = HashSet::new();
    for (key, value) in &got {
        let key = key.as_deref().expect("a key");
        // serde_json rejects Infinity: check the structure on a copy without it.
        let v: serde_json::Value =
            serde_json::from_str(&value.replace("Infinity", "null")).expect("JSON value");
        let obj = v.as_object().expect("object");
        assert_eq!(obj.len(), 7);
        for n in &names {
            assert!(obj.contains_key(*n), "{n} in {value}");
        }
        assert_eq!(obj["flow_id"].as_str(), Some(key), "key = flow_id");
        assert!(!value.ends_with('\n'));
        keys.insert(key.to_string());
    }
    assert_eq!(keys.len(), 1200);
}

#[test]
fn key_of_other_dtypes_and_no_key() {
    let mc = cluster(1, 1);
    let brokers = mc.bootstrap_servers();
    let mut w = open(&brokers, &options(&[("kafka_key", "is_tcp")])).unwrap();
    write(&mut w, &rows(0, 10)).unwrap();
    assert_eq!(w.finish().unwrap().rows_written, 10);
    let got = consume(&brokers, 10);
    let keys: Vec<Option<&str>> = got.iter().map(|(k, _)| k.as_deref()).collect();
    // rows 0 and 5 have a null is_tcp: no key
    assert_eq!(
        keys,
        [
            None,
            Some("false"),
            Some("true"),
            Some("false"),
            Some("true"),
            None,
            Some("true"),
            Some("false"),
            Some("true"),
            Some("false")
        ]
    );

    let mc = cluster(1, 1);
    let brokers = mc.bootstrap_servers();
    let mut w = open(&brokers, &options(&[])).unwrap();
    write(&mut w, &rows(0, 3)).unwrap();
    w.finish().unwrap();
    assert!(consume(&brokers, 3).iter().all(|(k, _)| k.is_none()));
}

#[test]
fn broker_outage_shorter_than_the_message_timeout_loses_nothing() {
    let mc = cluster(1, 2);
    let brokers = mc.bootstrap_servers();
    let mut w = open(
        &brokers,
        &options(&[("kafka_key", "flow_id"), ("kafka_timeout_ms", "20000")]),
    )
    .unwrap();
    write(&mut w, &rows(0, 1000)).unwrap();
    assert_eq!(w.settle(Duration::from_secs(10)), (1000, 0));
    mc.broker_down(1).unwrap();
    write(&mut w, &rows(1000, 1000)).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    write(&mut w, &rows(2000, 1000)).unwrap();
    // Nothing is acknowledged (or given up) while the broker is down.
    assert_eq!(w.settle(Duration::from_secs(1)), (1000, 0));
    mc.broker_up(1).unwrap();
    write(&mut w, &rows(3000, 1000)).unwrap();
    let s = w.finish().unwrap();
    assert_eq!(s.rows_received, 4000);
    assert_eq!(s.rows_written, 4000, "produced == acked");
    assert_eq!(s.rows_failed, 0);

    let got = consume(&brokers, 4000);
    assert_eq!(got.len(), 4000, "no loss and no duplicates");
    let keys: HashSet<&str> = got.iter().filter_map(|(k, _)| k.as_deref()).collect();
    assert_eq!(keys.len(), 4000);
}

#[test]
fn outage_longer_than_the_message_timeout_is_counted_not_an_error() {
    let mc = cluster(1, 1);
    let brokers = mc.bootstrap_servers();
    let mut w = open(&brokers, &options(&[("kafka_timeout_ms", "1500")])).unwrap();
    mc.broker_down(1).unwrap();
    write(&mut w, &rows(0, 100)).unwrap();
    let t = Instant::now();
    let s = w
        .finish()
        .expect("failed deliveries are counted, not an error");
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert_eq!(
        s,
        WriteSummary {
            rows_received: 100,
            rows_written: 0,
            rows_failed: 100
        }
    );
}

#[test]
fn the_final_flush_is_bounded() {
    let mc = cluster(1, 1);
    let brokers = mc.bootstrap_servers();
    let mut w = open(
        &brokers,
        &options(&[
            ("kafka_timeout_ms", "120000"),
            ("kafka_flush_timeout_ms", "500"),
        ]),
    )
    .unwrap();
    mc.broker_down(1).unwrap();
    write(&mut w, &rows(0, 50)).unwrap();
    let t = Instant::now();
    let s = w.finish().unwrap();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(
        (s.rows_received, s.rows_written, s.rows_failed),
        (50, 0, 50)
    );
}

#[test]
fn abort_discards_what_was_not_sent() {
    let mc = cluster(1, 1);
    let brokers = mc.bootstrap_servers();
    let mut w = open(&brokers, &options(&[])).unwrap();
    mc.broker_down(1).unwrap();
    write(&mut w, &rows(0, 20)).unwrap();
    w.abort();
    assert!(w.write_batch_is_closed());
    drop(w);
}

impl KafkaWriter {
    /// Serves delivery reports for `wait`: (acknowledged, failed) so far.
    fn settle(&self, wait: Duration) -> (u64, u64) {
        let _ = rdkafka::producer::Producer::flush(&self.producer, wait);
        let s = self.summary();
        (s.rows_written, s.rows_failed)
    }

    fn write_batch_is_closed(&mut self) -> bool {
        write(self, &rows(0, 1)).is_err() && self.finish().is_err()
    }
}

fn config_error(brokers: &str, opts: &Options) -> PluginError {
    match open(brokers, opts) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

#[test]
fn configuration_errors_name_the_problem() {
    let mc = cluster(1, 1);
    let brokers = mc.bootstrap_servers();

    let e = config_error(&brokers, &Options::new());
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(e.message.contains("kafka_topic"), "{}", e.message);

    let e = config_error(&brokers, &options(&[("kafka_key", "nope")]));
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(e.message.contains("no column `nope`"), "{}", e.message);

    let no_flow_id = [OwnedColumn::empty("src_port", DType::Int64)].schema();
    let e = match KafkaFactory.open(
        "kafka",
        &brokers,
        &no_flow_id,
        &options(&[("kafka_key", "flow_id")]),
    ) {
        Err(e) => e,
        Ok(_) => panic!("expected an error"),
    };
    assert!(e.message.contains("--flow-id"), "{}", e.message);

    for bad in [
        "",
        "-",
        "localhost",
        "host:notaport",
        "host:0",
        ":9092",
        "a:1,,b:2",
    ] {
        let e = config_error(bad, &options(&[]));
        assert_eq!(e.kind, ErrorKind::Config, "{bad}");
        assert!(e.message.contains("host:port"), "{bad}: {}", e.message);
    }
    let e = config_error(&brokers, &options(&[("kafka_timeout_ms", "soon")]));
    assert!(e.message.contains("kafka_timeout_ms"), "{}", e.message);
    let e = config_error(&brokers, &options(&[("kafka_flush_timeout_ms", "-1")]));
    assert!(
        e.message.contains("kafka_flush_timeout_ms"),
        "{}",
        e.message
    );
    let e = config_error(&brokers, &options(&[("kafka.enable.idempotence", "false")]));
    assert!(e.message.contains("cannot be set"), "{}", e.message);
    let e = config_error(&brokers, &options(&[("kafka.no.such.property", "1")]));
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(e.message.contains("no.such.property"), "{}", e.message);
    let e = config_error(&brokers, &options(&[("kafka_topic", "bad topic")]));
    assert!(
        e.message.contains("not a valid Kafka topic"),
        "{}",
        e.message
    );
    let e = match KafkaFactory.open("csv", &brokers, &schema(), &options(&[])) {
        Err(e) => e,
        Ok(_) => panic!("expected an error"),
    };
    assert!(e.message.contains("`kafka`"), "{}", e.message);

    // kafka:// prefix and passthrough properties are accepted
    let url = format!("kafka://{brokers}");
    let mut w = open(
        &url,
        &options(&[("kafka.compression.type", "lz4"), ("kafka.linger.ms", "1")]),
    )
    .unwrap();
    write(&mut w, &rows(0, 5)).unwrap();
    assert_eq!(w.finish().unwrap().rows_written, 5);
}

#[test]
fn a_missing_topic_fails_when_opening() {
    let mc = cluster(1, 1);
    mc.topic_error(
        "missing",
        rdkafka::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
    )
    .unwrap();
    let e = config_error(
        &mc.bootstrap_servers(),
        &options(&[("kafka_topic", "missing")]),
    );
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(
        e.message.contains("topic `missing` does not exist"),
        "{}",
        e.message
    );
}

#[test]
fn unreachable_brokers_fail_when_opening() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = Instant::now();
    let e = config_error(
        &format!("127.0.0.1:{port}"),
        &options(&[("kafka_timeout_ms", "1000")]),
    );
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(e.message.contains("cannot reach"), "{}", e.message);
    assert!(t.elapsed() < Duration::from_secs(10));
}

/// Every option the component reads is declared (so a `[plugins.*]` key the host rejects
/// is one it never reads), and every declared one is read: through the factory's `open`
/// and a whole write, so that a key read anywhere on the way counts.
#[test]
fn declares_exactly_the_options_it_reads() {
    let mc = cluster(1, 1);
    let o = jj_plugin_api::Options::parse("kafka_topic=t");
    let mut w = open(&mc.bootstrap_servers(), &o).unwrap();
    write(&mut w, &rows(0, 10)).unwrap();
    w.finish().unwrap();
    jj_plugin_api::options::check_declared(crate::config::OPTIONS, &o).unwrap();
}
