//! The writer's settings: the target (broker list) and the `kafka_*` options.

use jj_plugin_api::{DType, OptionSpec, Options, PluginError, PluginResult, Schema};

/// Default for `kafka_timeout_ms`: how long librdkafka keeps retrying one message.
pub const DEFAULT_MESSAGE_TIMEOUT_MS: u64 = 30_000;
/// Default for `kafka_flush_timeout_ms`: the bound on the final flush in `finish`.
pub const DEFAULT_FLUSH_TIMEOUT_MS: u64 = 30_000;
/// Longest wait for the broker's answer when the writer opens (the reachability check).
pub const MAX_PROBE_MS: u64 = 10_000;

/// Prefix of options passed to librdkafka unchanged (`kafka.compression.type=lz4`).
pub const PASSTHROUGH_PREFIX: &str = "kafka.";

/// librdkafka properties the writer sets itself: they decide what "acknowledged" means,
/// so they cannot be overridden through `kafka.*` options.
const RESERVED: [&str; 6] = [
    "bootstrap.servers",
    "metadata.broker.list",
    "enable.idempotence",
    "acks",
    "message.timeout.ms",
    "delivery.timeout.ms",
];

/// Where the message key comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyColumn {
    pub name: String,
    /// Index in the schema.
    pub index: usize,
    pub dtype: DType,
}

/// Everything `open` needs, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct KafkaConfig {
    /// `host:port,host:port` as librdkafka's `bootstrap.servers`.
    pub brokers: String,
    pub topic: String,
    pub key: Option<KeyColumn>,
    pub message_timeout_ms: u64,
    pub flush_timeout_ms: u64,
    /// `kafka.*` options, prefix removed.
    pub passthrough: Vec<(String, String)>,
}

/// The options [`KafkaConfig::parse`] reads; `kafka.*` is any key with that prefix.
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("kafka_topic", "topic to produce to (--kafka-topic)"),
    OptionSpec::new(
        "kafka_key",
        "column whose value is the message key (--kafka-key)",
    ),
    OptionSpec::new("kafka_timeout_ms", "message delivery timeout, ms"),
    OptionSpec::new("kafka_flush_timeout_ms", "flush timeout at the end, ms"),
    OptionSpec::new(
        "kafka.*",
        "librdkafka producer property, prefix removed (kafka.linger.ms = 5)",
    ),
];

impl KafkaConfig {
    pub fn parse(target: &str, schema: &Schema, options: &Options) -> PluginResult<KafkaConfig> {
        let brokers = parse_brokers(target)?;
        let topic = match options.get("kafka_topic").map(str::trim) {
            Some(t) if !t.is_empty() => t.to_string(),
            _ => {
                return Err(PluginError::config(format!(
                    "the kafka writer needs a topic: set `kafka_topic = \"NAME\"` under \
                     [plugins.kafka] in the config file (or --kafka-topic NAME) to produce to {brokers}"
                )))
            }
        };
        check_topic(&topic)?;
        let key = match options.get("kafka_key").map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(key_column(name, schema)?),
        };
        let message_timeout_ms = millis(options, "kafka_timeout_ms", DEFAULT_MESSAGE_TIMEOUT_MS)?;
        let flush_timeout_ms = millis(options, "kafka_flush_timeout_ms", DEFAULT_FLUSH_TIMEOUT_MS)?;
        // librdkafka's limit for message.timeout.ms (0 would mean "retry forever").
        if message_timeout_ms == 0 || message_timeout_ms > i32::MAX as u64 {
            return Err(PluginError::config(format!(
                "kafka_timeout_ms = {message_timeout_ms}: expected 1 to {} milliseconds",
                i32::MAX
            )));
        }
        let mut passthrough = Vec::new();
        for (k, v) in options.iter() {
            let Some(prop) = k.strip_prefix(PASSTHROUGH_PREFIX) else {
                continue;
            };
            if RESERVED.contains(&prop) {
                return Err(PluginError::config(format!(
                    "option `{k}` cannot be set: the kafka writer sets `{prop}` itself \
                     (brokers come from the output target, the message timeout from kafka_timeout_ms; \
                     the producer is always idempotent with acks=all)"
                )));
            }
            passthrough.push((prop.to_string(), v.to_string()));
        }
        Ok(KafkaConfig {
            brokers,
            topic,
            key,
            message_timeout_ms,
            flush_timeout_ms,
            passthrough,
        })
    }
}

fn millis(options: &Options, key: &str, default: u64) -> PluginResult<u64> {
    match options.get(key) {
        None => Ok(default),
        Some(v) => v.trim().parse::<u64>().map_err(|_| {
            PluginError::config(format!(
                "{key} = `{v}`: expected a whole number of milliseconds"
            ))
        }),
    }
}

/// `host:port[,host:port]`, optionally as `kafka://host:port[,host:port]`.
pub fn parse_brokers(target: &str) -> PluginResult<String> {
    let list = target.trim();
    let list = list.strip_prefix("kafka://").unwrap_or(list);
    let list = list.trim_end_matches('/');
    let usage = |why: String| {
        PluginError::config(format!(
            "kafka output target `{target}`: {why}; expected the broker list `host:port[,host:port]` \
             (or `kafka://host:port`), e.g. -o 127.0.0.1:9092"
        ))
    };
    if list.is_empty() || list == "-" {
        return Err(usage(
            "no brokers (the kafka writer cannot write to stdout)".into(),
        ));
    }
    let mut out = Vec::new();
    for b in list.split(',') {
        let b = b.trim();
        let (host, port) = b
            .rsplit_once(':')
            .ok_or_else(|| usage(format!("`{b}` has no port")))?;
        let host_ok = if let Some(v6) = host.strip_prefix('[') {
            v6.ends_with(']') && v6.len() > 1
        } else {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        };
        if !host_ok {
            return Err(usage(format!("`{b}` has no valid host name")));
        }
        match port.parse::<u16>() {
            Ok(p) if p > 0 => {}
            _ => return Err(usage(format!("`{b}` has no valid port"))),
        }
        out.push(b);
    }
    Ok(out.join(","))
}

/// Kafka's topic name rules: 1 to 249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
fn check_topic(topic: &str) -> PluginResult<()> {
    let ok = !topic.is_empty()
        && topic.len() <= 249
        && topic != "."
        && topic != ".."
        && topic
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(PluginError::config(format!(
            "kafka_topic `{topic}` is not a valid Kafka topic name \
             (1 to 249 characters of letters, digits, `.`, `_`, `-`)"
        )))
    }
}

fn key_column(name: &str, schema: &Schema) -> PluginResult<KeyColumn> {
    let found = schema
        .columns
        .iter()
        .enumerate()
        .find(|(_, c)| c.name.as_str() == name);
    match found {
        Some((index, c)) => Ok(KeyColumn {
            name: name.to_string(),
            index,
            dtype: c.dtype,
        }),
        None => {
            let hint = if name == "flow_id" {
                " (add --flow-id, or `flow_id = true` in the config file, to get that column)"
            } else {
                " (see `jj features` for the column names; --no-ips / --no-ports and the \
                 profile decide which columns exist)"
            };
            Err(PluginError::config(format!(
                "kafka_key = `{name}`: the output has no column `{name}`{hint}"
            )))
        }
    }
}
