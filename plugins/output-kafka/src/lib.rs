//! # jj Kafka output writer
//!
//! Format `kafka`: every row becomes one Kafka message. The value is the row's JSON
//! object exactly as the `jsonl` writer writes it, without the line end (the encoder,
//! [`jj_writer_util::json::jsonl_row`], is shared with `jj-output-text`); the key is
//! optionally the text of one column.
//!
//! * target (`-o`): the bootstrap brokers, `host:port[,host:port]` or
//!   `kafka://host:port[,host:port]`;
//! * `kafka_topic` (required): the topic, which must exist (or be created automatically
//!   by the brokers);
//! * `kafka_key`: a column name, usually `flow_id` (run with `--flow-id`); its text is
//!   the message key (strings as they are, numbers and lists as JSON text, booleans
//!   `true`/`false`; null → no key). Keys are partitioned like the Java client does
//!   (`murmur2_random`), so a flow's rows keep their order within one partition.
//! * `kafka_timeout_ms` (default 30000): how long librdkafka keeps retrying a message
//!   (`message.timeout.ms`). A broker outage shorter than this loses nothing.
//! * `kafka_flush_timeout_ms` (default 30000): the bound on the final flush in `finish`;
//!   messages not acknowledged by then are counted as failed.
//! * `kafka.<property>`: any other librdkafka producer property, passed through
//!   (`kafka.compression.type = "lz4"`, `kafka.linger.ms = "20"`, ...). The brokers,
//!   `enable.idempotence` (always true), `acks` (always `all`) and the message timeout
//!   cannot be overridden.
//!
//! The producer is idempotent with `acks=all`: retries never duplicate or reorder a
//! partition's messages. [`WriteSummary`](jj_plugin_api::WriteSummary): `rows_received`
//! = messages produced, `rows_written` = acknowledged by the brokers, `rows_failed` =
//! refused, failed delivery or not acknowledged within the flush bound. Failed
//! deliveries are counted, not errors: `finish` fails only on a fatal producer error.
//! `open` asks the brokers for the topic's metadata, so an unreachable broker or a
//! missing topic is reported before any packet is read.
#![deny(unsafe_code)]

mod config;
mod writer;

#[cfg(test)]
mod tests;

pub use config::{
    KafkaConfig, KeyColumn, DEFAULT_FLUSH_TIMEOUT_MS, DEFAULT_MESSAGE_TIMEOUT_MS,
    PASSTHROUGH_PREFIX,
};
pub use writer::KafkaWriter;

use jj_plugin_api::{FormatInfo, Options, PluginResult, Schema, WriterFactory};

/// The `kafka` writer component.
#[derive(Clone, Copy, Debug, Default)]
pub struct KafkaFactory;

impl WriterFactory for KafkaFactory {
    type Output = KafkaWriter;
    fn options(&self) -> Option<Vec<jj_plugin_api::OptionSpec>> {
        Some(config::OPTIONS.to_vec())
    }

    fn formats(&self) -> Vec<FormatInfo> {
        vec![FormatInfo {
            name: "kafka".into(),
            extension: "".into(),
            description: "Kafka: one JSON message per row (target: host:port[,host:port]; \
                          options kafka_topic, kafka_key)"
                .into(),
            supports_stdout: 0,
        }]
    }

    fn open(
        &self,
        format: &str,
        target: &str,
        schema: &Schema,
        options: &Options,
    ) -> PluginResult<KafkaWriter> {
        jj_writer_util::expect_format("kafka", format, &["kafka"])?;
        let cfg = KafkaConfig::parse(target, schema, options)?;
        KafkaWriter::open(cfg, schema)
    }
}

/// The library's exports (`jj_plugin_root_module`).
mod export {
    use super::KafkaFactory;

    jj_plugin_api::export_plugin! {
        name: "jj-output-kafka",
        version: env!("CARGO_PKG_VERSION"),
        writers: [
            "kafka" => ("Kafka producer: one JSON message per row, idempotent, acks=all", KafkaFactory),
        ],
    }
}
