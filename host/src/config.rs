//! Run options: the TOML config file (`-c FILE`) merged with command-line flags (flags
//! win), validated, and turned into the options text every plugin receives.
//!
//! Keys are jj's long option names in snake_case; JoyfulJay's `Config` names are accepted
//! too (`flow_timeout`, `max_concurrent_flows`, `include_raw_sequences`,
//! `include_ip_addresses`, `include_ports`, `include_flow_id`, `bidirectional_split`,
//! `specific_features`). Unknown keys are errors, not silently ignored.
use jj_plugin_api::Options;
use serde::Deserialize;
use std::{collections::BTreeMap, path::Path};

/// Everything a run can be configured with. `None` = not given.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub format: Option<String>,
    pub output: Option<String>,
    pub threads: Option<usize>,
    #[serde(alias = "flow_timeout")]
    pub timeout: Option<f64>,
    pub active_timeout: Option<f64>,
    #[serde(alias = "max_concurrent_flows")]
    pub max_flows: Option<usize>,
    pub max_flow_packets: Option<usize>,
    pub profile: Option<String>,
    /// Feature groups to keep.
    pub features: Option<Vec<String>>,
    /// Single features to keep.
    #[serde(alias = "specific_features")]
    pub feature: Option<Vec<String>>,
    pub no_ips: Option<bool>,
    pub no_ports: Option<bool>,
    /// JoyfulJay's inverse of `no_ips`.
    pub include_ip_addresses: Option<bool>,
    /// JoyfulJay's inverse of `no_ports`.
    pub include_ports: Option<bool>,
    pub anonymize_ips: Option<bool>,
    pub anonymization_salt: Option<String>,
    #[serde(alias = "include_flow_id")]
    pub flow_id: Option<bool>,
    #[serde(alias = "include_raw_sequences")]
    pub include_sequences: Option<bool>,
    pub include_splt: Option<bool>,
    pub max_sequence_length: Option<u64>,
    #[serde(alias = "bidirectional_split")]
    pub bidir_split: Option<bool>,
    pub burst_threshold_ms: Option<f64>,
    /// `joyfuljay` for JoyfulJay 0.1.6.1-compatible output.
    pub compat: Option<String>,
    pub capture: Option<String>,
    /// Two-pass extractors: seconds of flow end time per graph window (0 = one window per
    /// capture; live capture defaults to 60).
    pub graph_window: Option<f64>,
    /// Two-pass extractors: at most this many rows held per window.
    pub graph_window_rows: Option<usize>,
    // ---- JoyfulJay's connection-graph options (passed to the `connection` plugin) ----
    pub connection_use_ports: Option<bool>,
    pub connection_include_graph_metrics: Option<bool>,
    pub connection_community_algorithm: Option<String>,
    pub connection_include_temporal: Option<bool>,
    // ---- writer options (passed to the output plugin) ----
    pub db_table: Option<String>,
    /// append | replace | fail
    pub db_if_exists: Option<String>,
    pub db_batch_size: Option<u64>,
    pub kafka_brokers: Option<String>,
    pub kafka_topic: Option<String>,
    pub kafka_key: Option<String>,
    /// Hive-style partition column for directory outputs (Parquet).
    pub partition_by: Option<String>,
    /// snappy | zstd | none
    pub parquet_compression: Option<String>,
    pub parquet_row_group_rows: Option<u64>,
    /// Extra options for plugins: `[plugins.<anything>] key = value` (all tables merged).
    pub plugins: Option<BTreeMap<String, BTreeMap<String, toml::Value>>>,
}

macro_rules! overlay {
    ($base:expr, $top:expr, $($field:ident),*) => {
        $( if $top.$field.is_some() { $base.$field = $top.$field.clone(); } )*
    };
}

/// serde's "unknown field `x`, expected one of `a`, `b`, ..." rewritten as "unknown key
/// `x`; did you mean 'a'? Valid keys: a, b, ..." (the guess first: the list is long);
/// `None` for any other message.
fn unknown_key_message(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("unknown field `")?;
    let (key, expected) = rest.split_once('`')?;
    // the expected keys are the backquoted words after the key
    let keys: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let mut hint = crate::suggest::did_you_mean(key, keys.iter().copied());
    if hint.is_empty() {
        hint.push('.');
    }
    Some(format!(
        "unknown key `{key}`{hint} Valid keys: {}.",
        keys.join(", ")
    ))
}

impl RunConfig {
    /// Reads a config file; errors name the file and the offending key or line.
    pub fn from_file(path: &Path) -> Result<RunConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|r| {
                    let before = text.get(..r.start).unwrap_or("");
                    let line = before.matches('\n').count() + 1;
                    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                    format!(", line {line}, column {column}")
                })
                .unwrap_or_default();
            let msg = unknown_key_message(e.message()).unwrap_or_else(|| {
                e.message()
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join("; ")
            });
            format!("config file {}{at}: {msg}", path.display())
        })
    }

    /// Checks the keys of the `[plugins.<name>]` tables against the options the loaded
    /// components declare (plugin-api 1.4; a declared key ending in `*` covers every key
    /// with that prefix). A key none of them declares is an error (one
    /// line, with the closest declared key) when every component declares its options,
    /// since it can only be a mistake; otherwise it is returned as a warning, as one of the
    /// undeclared components may read it.
    pub fn check_plugin_keys(
        &self,
        components: &[crate::loader::ComponentOptions],
    ) -> Result<Vec<String>, String> {
        let mut known: Vec<&str> = components
            .iter()
            .flat_map(|c| c.keys.iter().flatten())
            .map(|(k, _)| k.as_str())
            .collect();
        known.sort_unstable();
        known.dedup();
        let undeclared: Vec<String> = components
            .iter()
            .filter(|c| c.keys.is_none())
            .map(|c| format!("{} '{}'", c.kind, c.component))
            .collect();
        let mut warnings = Vec::new();
        for (table, keys) in self.plugins.iter().flatten() {
            for key in keys.keys() {
                // a declared key ending in `*` stands for every key with that prefix
                let declared = |k: &&str| match k.strip_suffix('*') {
                    Some(prefix) => key.starts_with(prefix),
                    None => *k == key.as_str(),
                };
                if known.iter().any(declared) {
                    continue;
                }
                let exact = known.iter().copied().filter(|k| !k.ends_with('*'));
                let mut hint = crate::suggest::did_you_mean(key, exact);
                if hint.is_empty() {
                    hint.push('.');
                }
                if undeclared.is_empty() {
                    return Err(format!(
                        "[plugins.{table}] {key}: no loaded plugin reads an option of that name{hint} Options they read: {} (`jj plugins` describes them).",
                        if known.is_empty() { "none".to_string() } else { known.join(", ") }
                    ));
                }
                warnings.push(format!(
                    "[plugins.{table}] {key}: no loaded plugin declares an option of that name{hint} It is passed on, as {} may read it (they do not declare their options).",
                    undeclared.join(", ")
                ));
            }
        }
        Ok(warnings)
    }

    /// `self` with every value set in `top` replacing it.
    pub fn overlaid(mut self, top: &RunConfig) -> RunConfig {
        overlay!(
            self,
            top,
            format,
            output,
            threads,
            timeout,
            active_timeout,
            max_flows,
            max_flow_packets,
            profile,
            features,
            feature,
            no_ips,
            no_ports,
            include_ip_addresses,
            include_ports,
            anonymize_ips,
            anonymization_salt,
            flow_id,
            include_sequences,
            include_splt,
            max_sequence_length,
            bidir_split,
            burst_threshold_ms,
            compat,
            capture,
            graph_window,
            graph_window_rows,
            connection_use_ports,
            connection_include_graph_metrics,
            connection_community_algorithm,
            connection_include_temporal,
            db_table,
            db_if_exists,
            db_batch_size,
            kafka_brokers,
            kafka_topic,
            kafka_key,
            partition_by,
            parquet_compression,
            parquet_row_group_rows,
            plugins
        );
        self
    }

    pub fn drop_ips(&self) -> bool {
        self.no_ips.unwrap_or(false) || self.include_ip_addresses == Some(false)
    }

    pub fn drop_ports(&self) -> bool {
        self.no_ports.unwrap_or(false) || self.include_ports == Some(false)
    }

    pub fn compat_joyfuljay(&self) -> bool {
        self.compat.as_deref() == Some("joyfuljay")
    }

    /// Checks values; the message says which option and what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(t) = self.timeout {
            if !(t > 0.0 && t.is_finite()) {
                return Err(format!(
                    "--timeout must be a number of seconds > 0 (got {t})"
                ));
            }
        }
        if let Some(t) = self.active_timeout {
            if !(t >= 0.0 && t.is_finite()) {
                return Err(format!("--active-timeout must be >= 0 seconds (got {t})"));
            }
        }
        if let Some(b) = self.burst_threshold_ms {
            if !(b > 0.0 && b.is_finite()) {
                return Err(format!("--burst-threshold-ms must be > 0 (got {b})"));
            }
        }
        if self.max_sequence_length == Some(0) {
            return Err("--max-sequence-length must be > 0".into());
        }
        if self.threads == Some(0) {
            return Err("--threads must be at least 1".into());
        }
        if self.max_flow_packets == Some(0) {
            return Err("--max-flow-packets must be at least 1".into());
        }
        if let Some(m) = &self.db_if_exists {
            if !matches!(m.as_str(), "append" | "replace" | "fail") {
                return Err(format!(
                    "--db-if-exists must be append, replace or fail (got '{m}')"
                ));
            }
        }
        if let Some(w) = self.graph_window {
            if !(w >= 0.0 && w.is_finite()) {
                return Err(format!(
                    "--graph-window must be >= 0 seconds (0 = one window per capture; got {w})"
                ));
            }
        }
        if self.graph_window_rows == Some(0) {
            return Err("--graph-window-rows must be at least 1".into());
        }
        if self.db_batch_size == Some(0) {
            return Err("--db-batch-size must be at least 1".into());
        }
        if let Some(c) = &self.compat {
            if c != "joyfuljay" {
                return Err(format!(
                    "unknown --compat mode '{c}' (the only one is 'joyfuljay')"
                ));
            }
        }
        // Components receive options as trimmed `key=value` lines: refuse what would
        // reach them changed (a salt with a trailing space would hash otherwise).
        let options = self.plugin_options();
        let received = Options::parse(&options.to_text());
        if let Some((k, v)) = options.iter().find(|&(k, v)| received.get(k) != Some(v)) {
            return Err(format!(
                "option '{k}' = {v:?} cannot be passed to plugins as it is: they receive `key=value` lines, so a key may not contain '=' or start with '#', and a value may not start or end with spaces or hold a line break"
            ));
        }
        Ok(())
    }

    /// The options text handed to every component.
    pub fn plugin_options(&self) -> Options {
        let mut o = Options::new();
        if self.compat_joyfuljay() {
            o.set("compat", "joyfuljay");
        }
        let flags = [
            ("anonymize_ips", self.anonymize_ips),
            ("include_flow_id", self.flow_id),
            ("include_sequences", self.include_sequences),
            ("include_splt", self.include_splt),
            ("connection_use_ports", self.connection_use_ports),
            (
                "connection_include_graph_metrics",
                self.connection_include_graph_metrics,
            ),
            (
                "connection_include_temporal",
                self.connection_include_temporal,
            ),
        ];
        for (k, v) in flags {
            if let Some(v) = v {
                o.set(k, v);
            }
        }
        if let Some(s) = &self.anonymization_salt {
            o.set("anonymization_salt", s);
        }
        if let Some(n) = self.max_sequence_length {
            o.set("max_sequence_length", n);
        }
        if let Some(b) = self.burst_threshold_ms {
            o.set("burst_threshold_ms", b);
        }
        if let Some(t) = self.timeout {
            o.set("timeout", t);
        }
        let texts = [
            ("db_table", &self.db_table),
            ("db_if_exists", &self.db_if_exists),
            ("kafka_topic", &self.kafka_topic),
            ("kafka_key", &self.kafka_key),
            ("partition_by", &self.partition_by),
            ("parquet_compression", &self.parquet_compression),
            (
                "connection_community_algorithm",
                &self.connection_community_algorithm,
            ),
        ];
        for (k, v) in texts {
            if let Some(v) = v {
                o.set(k, v);
            }
        }
        if let Some(n) = self.db_batch_size {
            o.set("db_batch_size", n);
        }
        if let Some(n) = self.parquet_row_group_rows {
            o.set("parquet_row_group_rows", n);
        }
        for table in self.plugins.iter().flat_map(|p| p.values()) {
            for (k, v) in table {
                let text = match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                o.set(k, text);
            }
        }
        o
    }
}

/// JoyfulJay's `bidirectional_split` renaming (spec §5.4): `*_initiator`/`*_responder`
/// become `fwd_*`/`bwd_*`; a fixed set of direction-free counters gets a `total_` prefix.
pub fn bidir_split_name(name: &str) -> String {
    const TOTALS: [&str; 16] = [
        "total_bytes",
        "burst_count",
        "tcp_syn_count",
        "tcp_synack_count",
        "tcp_fin_count",
        "tcp_rst_count",
        "tcp_ack_count",
        "tcp_psh_count",
        "tcp_urg_count",
        "tcp_ece_count",
        "tcp_cwr_count",
        "entropy_payload",
        "byte_distribution_uniformity",
        "printable_ratio",
        "null_ratio",
        "high_byte_ratio",
    ];
    if let Some(base) = name.strip_suffix("_initiator") {
        format!("fwd_{base}")
    } else if let Some(base) = name.strip_suffix("_responder") {
        format!("bwd_{base}")
    } else if TOTALS.contains(&name) {
        format!("total_{name}")
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_values_are_overridden_by_flags_and_unknown_keys_rejected() {
        let file: RunConfig = toml::from_str(
            "flow_timeout = 30.0\ninclude_ip_addresses = false\nprofile = \"JJ-CORE\"\n[plugins.tls]\ntls_stream_bytes = 4096\n",
        )
        .unwrap();
        assert_eq!(file.timeout, Some(30.0));
        assert!(file.drop_ips());
        let cli = RunConfig {
            timeout: Some(5.0),
            ..Default::default()
        };
        let merged = file.overlaid(&cli);
        assert_eq!(merged.timeout, Some(5.0));
        assert_eq!(merged.profile.as_deref(), Some("JJ-CORE"));
        let o = merged.plugin_options();
        assert_eq!(o.get("tls_stream_bytes"), Some("4096"));
        assert_eq!(o.get("timeout"), Some("5"));

        let err = toml::from_str::<RunConfig>("timeuot = 3")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `timeuot`"), "{err}");
    }

    #[test]
    fn plugin_table_keys_are_checked_against_the_declared_options() {
        use crate::loader::ComponentOptions;
        let comp = |name: &str, keys: Option<&[&str]>| ComponentOptions {
            kind: "extractor".into(),
            component: name.into(),
            keys: keys.map(|k| k.iter().map(|k| (k.to_string(), String::new())).collect()),
        };
        let cfg = |text: &str| toml::from_str::<RunConfig>(text).unwrap();
        let declared = [
            comp("tls", Some(&["tls_stream_bytes", "compat"])),
            comp("kafka", Some(&["kafka_topic", "kafka.*"])),
            comp("text", Some(&[])),
        ];
        // declared keys, in any table, and keys under a declared prefix pass
        let ok = cfg("[plugins.tls]\ntls_stream_bytes = 1\n[plugins.x]\nkafka_topic = \"t\"\n\"kafka.linger.ms\" = 5\n");
        assert_eq!(ok.check_plugin_keys(&declared), Ok(vec![]));
        assert_eq!(
            RunConfig::default().check_plugin_keys(&declared),
            Ok(vec![])
        );
        // every component declares: an unknown key is an error with the closest key
        let typo = cfg("[plugins.tls]\ntls_stream_bytez = 1\n");
        let err = typo.check_plugin_keys(&declared).unwrap_err();
        assert!(
            err.starts_with("[plugins.tls] tls_stream_bytez: no loaded plugin reads an option of that name; did you mean 'tls_stream_bytes'? Options they read: compat, kafka.*, kafka_topic, tls_stream_bytes"),
            "{err}"
        );
        // the prefix alone is not a key, and `kafka` is no prefix of `kafka.*`
        for text in ["[plugins.k]\nkafka = 1\n", "[plugins.k]\nkafkax = 1\n"] {
            assert!(cfg(text).check_plugin_keys(&declared).is_err(), "{text}");
        }
        // a component that does not declare: the same key is only a warning, naming it
        let mut some_undeclared = declared.to_vec();
        some_undeclared.push(comp("old", None));
        let warnings = typo.check_plugin_keys(&some_undeclared).unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("tls_stream_bytez") && warnings[0].contains("extractor 'old'"),
            "{warnings:?}"
        );
        // nothing loaded declares anything: no guess, an empty list
        let err = typo
            .check_plugin_keys(&[comp("text", Some(&[]))])
            .unwrap_err();
        assert!(
            err.ends_with("Options they read: none (`jj plugins` describes them)."),
            "{err}"
        );
        assert!(!err.contains("did you mean"), "{err}");
    }

    #[test]
    fn config_file_errors_name_the_file_the_line_and_a_likely_key() {
        let dir = std::env::temp_dir().join(format!("jj-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err_of = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            let err = RunConfig::from_file(&path).unwrap_err();
            assert!(
                err.starts_with(&format!("config file {}", path.display())),
                "{err}"
            );
            assert!(!err.contains('\n'), "one line: {err}");
            err
        };
        let err = err_of("typo.toml", "threads = 2\n\ntimeuot = 3\n");
        assert!(
            err.contains(", line 3, column 1: unknown key `timeuot`; did you mean 'timeout'? Valid keys: format, output, threads,"),
            "{err}"
        );
        // nothing close: no guess
        let err = err_of("far.toml", "zzzzzz = 1\n");
        assert!(
            err.contains("unknown key `zzzzzz`. Valid keys: format,"),
            "{err}"
        );
        assert!(!err.contains("did you mean"), "{err}");
        // a wrong type and a syntax error also carry their position
        let err = err_of("type.toml", "profile = \"JJ-CORE\"\nthreads = \"two\"\n");
        assert!(err.contains(", line 2, column 11: "), "{err}");
        let err = err_of("syntax.toml", "threads = 2\nprofile = \n");
        assert!(err.contains(", line 2, column "), "{err}");
        assert!(!err.contains("did you mean"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_field_is_overlaid() {
        // A config with every field set, written as TOML: overlaying it on an empty
        // config must reproduce it (catches a field missing from `overlaid`).
        let text = r#"
            format = "csv"
            output = "o"
            threads = 2
            timeout = 1.0
            active_timeout = 2.0
            max_flows = 3
            max_flow_packets = 4
            profile = "P"
            features = ["g"]
            feature = ["f"]
            no_ips = true
            no_ports = true
            include_ip_addresses = false
            include_ports = false
            anonymize_ips = true
            anonymization_salt = "s"
            flow_id = true
            include_sequences = true
            include_splt = true
            max_sequence_length = 5
            bidir_split = true
            burst_threshold_ms = 6.0
            compat = "joyfuljay"
            capture = "file"
            graph_window = 30.0
            graph_window_rows = 9
            connection_use_ports = true
            connection_include_graph_metrics = false
            connection_community_algorithm = "none"
            connection_include_temporal = true
            db_table = "t"
            db_if_exists = "fail"
            db_batch_size = 7
            kafka_brokers = "b:1"
            kafka_topic = "topic"
            kafka_key = "flow_id"
            partition_by = "start_time"
            parquet_compression = "zstd"
            parquet_row_group_rows = 8
            [plugins.x]
            k = "v"
        "#;
        let full: RunConfig = toml::from_str(text).unwrap();
        assert_eq!(RunConfig::default().overlaid(&full), full);
        let o = full.plugin_options();
        for k in [
            "db_table",
            "db_if_exists",
            "db_batch_size",
            "kafka_topic",
            "kafka_key",
            "partition_by",
            "connection_use_ports",
            "connection_include_graph_metrics",
            "connection_community_algorithm",
            "connection_include_temporal",
            "k",
        ] {
            assert!(o.get(k).is_some(), "{k} reaches the plugins");
        }
    }

    #[test]
    fn validation_names_the_option() {
        for (cfg, needle) in [
            (
                RunConfig {
                    timeout: Some(0.0),
                    ..Default::default()
                },
                "--timeout",
            ),
            (
                RunConfig {
                    burst_threshold_ms: Some(-1.0),
                    ..Default::default()
                },
                "--burst-threshold-ms",
            ),
            (
                RunConfig {
                    max_sequence_length: Some(0),
                    ..Default::default()
                },
                "--max-sequence-length",
            ),
            (
                RunConfig {
                    graph_window: Some(-1.0),
                    ..Default::default()
                },
                "--graph-window",
            ),
            (
                RunConfig {
                    compat: Some("nfstream".into()),
                    ..Default::default()
                },
                "unknown --compat mode",
            ),
            (
                RunConfig {
                    anonymization_salt: Some("pepper ".into()),
                    ..Default::default()
                },
                "option 'anonymization_salt' = \"pepper \" cannot be passed",
            ),
            (
                RunConfig {
                    anonymization_salt: Some("two\nlines".into()),
                    ..Default::default()
                },
                "option 'anonymization_salt'",
            ),
        ] {
            assert!(cfg.validate().unwrap_err().contains(needle));
        }
        assert!(RunConfig::default().validate().is_ok());
        // inner spaces and '=' in a value pass through unchanged
        let ok = RunConfig {
            anonymization_salt: Some("a b=c".into()),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
    }

    /// Keys of a `[plugins.<name>]` table reach components the same way.
    #[test]
    fn plugin_table_keys_must_survive_the_options_text() {
        let cfg: RunConfig = toml::from_str("[plugins.tls]\n\"a=b\" = 1\n").unwrap();
        let e = cfg.validate().unwrap_err();
        assert!(e.contains("option 'a=b' = \"1\""), "{e}");
        let cfg: RunConfig = toml::from_str("[plugins.tls]\ntls_stream_bytes = 4096\n").unwrap();
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn bidir_split_renames_like_joyfuljay() {
        assert_eq!(bidir_split_name("entropy_initiator"), "fwd_entropy");
        assert_eq!(bidir_split_name("entropy_responder"), "bwd_entropy");
        assert_eq!(bidir_split_name("total_bytes"), "total_total_bytes");
        assert_eq!(bidir_split_name("tcp_syn_count"), "total_tcp_syn_count");
        assert_eq!(bidir_split_name("duration"), "duration");
    }
}
