//! The Kafka [`Writer`]: one message per row, produced by an idempotent librdkafka producer.

use crate::config::{KafkaConfig, KeyColumn, MAX_PROBE_MS};
use jj_kit::pyfmt::{write_i64, write_json_float};
use jj_plugin_api::{
    Column, ColumnMeta, DType, PluginError, PluginResult, RowBatch, Schema, WriteSummary, Writer,
};
use jj_writer_util::{
    check_batch,
    json::{jsonl_row, write_json_float_list, write_json_int_list, JsonKeys},
};
use rdkafka::{
    client::ClientContext,
    config::ClientConfig,
    error::{KafkaError, RDKafkaErrorCode},
    producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig},
};
use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

/// Counts delivery reports. librdkafka calls it from `poll`/`flush`, on the writer's thread.
#[derive(Default)]
pub(crate) struct Deliveries {
    acked: AtomicU64,
    failed: AtomicU64,
    /// The first delivery error and the last client-level error, for the diagnostics.
    first_error: Mutex<Option<String>>,
    last_client_error: Mutex<Option<String>>,
    fatal: AtomicBool,
}

impl Deliveries {
    fn note_error(&self, text: String) {
        let mut first = self.first_error.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            *first = Some(text);
        }
    }

    fn first_error(&self) -> Option<String> {
        self.first_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn last_client_error(&self) -> Option<String> {
        self.last_client_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl ClientContext for Deliveries {
    // librdkafka's log lines go to the `log` crate (silent in jj); errors are kept for the
    // messages this writer prints or returns.
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::Fatal) {
            self.fatal.store(true, Ordering::SeqCst);
        }
        *self
            .last_client_error
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(format!("{error}: {reason}"));
    }
}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.acked.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.note_error(e.to_string());
            }
        }
    }
}

pub(crate) type Kafka = BaseProducer<Deliveries>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Open,
    Finished(WriteSummary),
    Aborted,
}

/// An open Kafka output.
pub struct KafkaWriter {
    cfg: KafkaConfig,
    columns: Vec<ColumnMeta>,
    keys: JsonKeys,
    pub(crate) producer: Kafka,
    /// The current message's value and key, reused for every row.
    value: Vec<u8>,
    key: Vec<u8>,
    /// Rows handed to `write_batch` (each is one message).
    received: u64,
    /// Rows librdkafka refused at once (e.g. larger than `message.max.bytes`).
    refused: u64,
    state: State,
}

impl KafkaWriter {
    pub fn open(cfg: KafkaConfig, schema: &Schema) -> PluginResult<KafkaWriter> {
        let mut cc = ClientConfig::new();
        // Our defaults first, then the user's `kafka.*` properties, then what cannot change.
        cc.set(
            "client.id",
            concat!("jj-output-kafka/", env!("CARGO_PKG_VERSION")),
        )
        // Same partition for the same key as the Java client's default partitioner.
        .set("partitioner", "murmur2_random")
        // Flow rows are repetitive JSON: LZ4 batches cut the bytes the broker takes in
        // several times, which is what limits wide rows (docs/performance.md: 41k → 68k
        // rows/s of 151 columns into tansu). Every Kafka client decompresses it;
        // `kafka.compression.type = "none"` turns it off.
        .set("compression.type", "lz4");
        for (k, v) in &cfg.passthrough {
            cc.set(k, v);
        }
        cc.set("bootstrap.servers", &cfg.brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", cfg.message_timeout_ms.to_string());
        let producer: Kafka = cc.create_with_context(Deliveries::default()).map_err(|e| {
            PluginError::config(format!(
                "kafka producer for {}: {e} (check the kafka.* options)",
                cfg.brokers
            ))
        })?;
        probe(&producer, &cfg)?;
        let columns: Vec<ColumnMeta> = schema.columns.to_vec();
        Ok(KafkaWriter {
            keys: JsonKeys::new(&columns),
            columns,
            producer,
            value: Vec::with_capacity(4096),
            key: Vec::with_capacity(64),
            received: 0,
            refused: 0,
            state: State::Open,
            cfg,
        })
    }

    fn deliveries(&self) -> &Deliveries {
        self.producer.context()
    }

    fn fatal_error(&self) -> Option<PluginError> {
        fatal_error(&self.producer, &self.cfg)
    }

    fn check_open(&self) -> PluginResult<()> {
        match self.state {
            State::Open => Ok(()),
            State::Finished(_) => Err(PluginError::other("write after finish")),
            State::Aborted => Err(PluginError::other("write after abort")),
        }
    }

    pub(crate) fn summary(&self) -> WriteSummary {
        let d = self.deliveries();
        WriteSummary {
            rows_received: self.received,
            rows_written: d.acked.load(Ordering::SeqCst),
            rows_failed: d.failed.load(Ordering::SeqCst) + self.refused,
        }
    }

    /// Discards what librdkafka still holds; their delivery reports (errors) are served.
    fn purge(&self) {
        self.producer
            .purge(PurgeConfig::default().queue().inflight());
        // Serves the purge's delivery reports (they are ready at once).
        let _ = self.producer.flush(Duration::from_millis(1000));
    }
}

/// The producer's fatal error, if it had one (idempotence guarantees could no longer be
/// kept, so librdkafka stopped producing).
fn fatal_error(producer: &Kafka, cfg: &KafkaConfig) -> Option<PluginError> {
    if !producer.context().fatal.load(Ordering::SeqCst) {
        return None;
    }
    let reason = producer
        .client()
        .fatal_error()
        .map(|(code, text)| format!("{code}: {text}"))
        .or_else(|| producer.context().last_client_error())
        .unwrap_or_else(|| "unknown".into());
    Some(PluginError::io(format!(
        "kafka producer for topic `{}` on {} hit a fatal error and stopped: {reason}",
        cfg.topic, cfg.brokers
    )))
}

/// Enqueues one message, waiting for room in librdkafka's queue when it is full
/// (back-pressure: at most until queued messages are delivered or time out). `Ok(false)`:
/// librdkafka refused this message at once (e.g. larger than `message.max.bytes`); the
/// reason is noted and the run goes on.
fn send(
    producer: &Kafka,
    cfg: &KafkaConfig,
    value: &[u8],
    key: Option<&[u8]>,
) -> PluginResult<bool> {
    let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&cfg.topic).payload(value);
    if let Some(k) = key {
        record = record.key(k);
    }
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(true),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                producer.poll(Duration::from_millis(20));
                if let Some(e) = fatal_error(producer, cfg) {
                    return Err(e);
                }
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::Fatal), _)) => {
                producer.context().fatal.store(true, Ordering::SeqCst);
                return Err(fatal_error(producer, cfg).unwrap_or_else(|| {
                    PluginError::io("kafka producer hit a fatal error and stopped")
                }));
            }
            Err((e, _)) => {
                producer.context().note_error(e.to_string());
                return Ok(false);
            }
        }
    }
}

/// Asks the brokers for the topic's metadata, so that a wrong address or a missing topic
/// is reported when the output opens rather than as failed deliveries at the end.
fn probe(producer: &Kafka, cfg: &KafkaConfig) -> PluginResult<()> {
    let wait = Duration::from_millis(cfg.message_timeout_ms.min(MAX_PROBE_MS));
    let md = producer
        .client()
        .fetch_metadata(Some(&cfg.topic), wait)
        .map_err(|e| {
            let detail = producer
                .context()
                .last_client_error()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default();
            PluginError::io(format!(
                "cannot reach the Kafka brokers {} within {} ms: {e}{detail}; is the broker \
                 running and is the target `host:port` right?",
                cfg.brokers,
                wait.as_millis()
            ))
        })?;
    let topic = md.topics().iter().find(|t| t.name() == cfg.topic);
    if let Some(err) = topic.and_then(|t| t.error()) {
        let code = RDKafkaErrorCode::from(err);
        if code == RDKafkaErrorCode::UnknownTopicOrPartition {
            return Err(PluginError::config(format!(
                "Kafka topic `{}` does not exist on {} (create it, or enable \
                 auto.create.topics.enable on the brokers)",
                cfg.topic, cfg.brokers
            )));
        }
        if code == RDKafkaErrorCode::TopicAuthorizationFailed {
            return Err(PluginError::config(format!(
                "not allowed to produce to Kafka topic `{}` on {}",
                cfg.topic, cfg.brokers
            )));
        }
        // Anything else (e.g. leader not available while the topic is being created
        // automatically) is left to librdkafka's retries.
    }
    Ok(())
}

/// Appends the message key text of a key column's value: strings as they are, numbers
/// and lists as their JSON text, booleans `true` / `false`. `false` for null (no key).
fn write_key(out: &mut Vec<u8>, c: &Column<'_>, row: usize) -> bool {
    if !c.is_valid(row) {
        return false;
    }
    match c.dtype {
        DType::String => out.extend_from_slice(c.str(row).as_bytes()),
        DType::Int64 => write_i64(out, c.int(row)),
        DType::Float64 => write_json_float(out, c.float(row)),
        DType::Bool => out.extend_from_slice(if c.bool(row) { b"true" } else { b"false" }),
        DType::FloatList => write_json_float_list(out, c.float_list(row)),
        DType::IntList => write_json_int_list(out, c.int_list(row)),
    }
    true
}

impl Writer for KafkaWriter {
    fn write_batch(&mut self, batch: &RowBatch<'_>) -> PluginResult<()> {
        self.check_open()?;
        let rows = check_batch(&self.columns, batch)?;
        let columns = batch.columns.as_slice();
        let key_col: Option<Column<'_>> =
            self.cfg.key.as_ref().map(|k: &KeyColumn| columns[k.index]);
        for row in 0..rows {
            self.value.clear();
            jsonl_row(&mut self.value, &self.keys, columns, row);
            // The JSON Lines record without its line end.
            if self.value.last() == Some(&b'\n') {
                self.value.pop();
            }
            self.key.clear();
            let has_key = key_col.is_some_and(|c| write_key(&mut self.key, &c, row));
            self.received += 1;
            let key = has_key.then_some(self.key.as_slice());
            if !send(&self.producer, &self.cfg, &self.value, key)? {
                self.refused += 1;
            }
        }
        // Serve the delivery reports that are ready (frees their queue slots).
        self.producer.poll(Duration::ZERO);
        if let Some(e) = self.fatal_error() {
            return Err(e);
        }
        Ok(())
    }

    fn finish(&mut self) -> PluginResult<WriteSummary> {
        match self.state {
            State::Finished(s) => return Ok(s),
            State::Aborted => return Err(PluginError::other("finish after abort")),
            State::Open => {}
        }
        let started = Instant::now();
        let bound = Duration::from_millis(self.cfg.flush_timeout_ms);
        let flushed = self.producer.flush(bound);
        let mut summary = self.summary();
        if flushed.is_err() || summary.rows_written + summary.rows_failed < summary.rows_received {
            // Not acknowledged within the bound: given up and counted as failed.
            self.deliveries().note_error(format!(
                "not acknowledged within kafka_flush_timeout_ms = {} ms",
                self.cfg.flush_timeout_ms
            ));
            self.purge();
            summary = self.summary();
            let settled = summary.rows_written + summary.rows_failed;
            if settled < summary.rows_received {
                summary.rows_failed += summary.rows_received - settled;
            }
        }
        if let Some(e) = self.fatal_error() {
            self.state = State::Aborted;
            return Err(e);
        }
        if summary.rows_failed > 0 {
            let why = self
                .deliveries()
                .first_error()
                .or_else(|| self.deliveries().last_client_error())
                .unwrap_or_else(|| "unknown".into());
            eprintln!(
                "jj: kafka: {} of {} messages to topic `{}` on {} were not acknowledged \
                 (first error: {why}); {} were ({:.1} s to flush)",
                summary.rows_failed,
                summary.rows_received,
                self.cfg.topic,
                self.cfg.brokers,
                summary.rows_written,
                started.elapsed().as_secs_f64()
            );
        }
        self.state = State::Finished(summary);
        Ok(summary)
    }

    fn abort(&mut self) {
        if self.state == State::Open {
            // Messages not yet sent are dropped; what the brokers acknowledged stays.
            self.purge();
        }
        self.state = State::Aborted;
    }
}
