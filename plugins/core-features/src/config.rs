//! The options the three extractors read (spec §2.6), parsed strictly: a value that is
//! present but not understood is a configuration error naming the option, never a
//! silent fallback to the default.
use jj_plugin_api::{OptionSpec, Options, PluginError, PluginResult};

/// Default `burst_threshold_ms`.
pub const DEFAULT_BURST_THRESHOLD_MS: f64 = 50.0;
/// Default `max_sequence_length`.
pub const DEFAULT_MAX_SEQUENCE_LENGTH: usize = 50;
/// Largest accepted `max_sequence_length` (the padded sequences hold this many values
/// per flow and column).
pub const MAX_SEQUENCE_LENGTH_LIMIT: usize = 1_000_000;

/// Parsed options shared by `timing`, `size` and `tcp`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// `compat=joyfuljay`: reproduce the reference's values (Scapy payload lengths,
    /// its TCP close/handshake rules, IP-only direction of `pkt_len_sequence`).
    pub compat: bool,
    /// `burst_threshold_ms / 1000.0`, in seconds (computed exactly like the reference).
    pub burst_threshold_s: f64,
    /// `include_sequences` (JoyfulJay's `include_raw_sequences` is accepted too).
    pub include_sequences: bool,
    pub include_splt: bool,
    pub max_sequence_length: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            compat: false,
            burst_threshold_s: DEFAULT_BURST_THRESHOLD_MS / 1000.0,
            include_sequences: false,
            include_splt: false,
            max_sequence_length: DEFAULT_MAX_SEQUENCE_LENGTH,
        }
    }
}

fn bool_option(options: &Options, component: &str, key: &str) -> PluginResult<Option<bool>> {
    let Some(v) = options.get(key) else {
        return Ok(None);
    };
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(Some(true)),
        "false" | "0" | "no" | "off" => Ok(Some(false)),
        _ => Err(PluginError::config(format!(
            "{component}: option {key}={v:?} is not a boolean (use true or false)"
        ))),
    }
}

/// The options [`Config::from_options`] reads (the same for `timing`, `size` and `tcp`).
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("compat", "joyfuljay: JoyfulJay's values (--compat)"),
    OptionSpec::new(
        "burst_threshold_ms",
        "gap that ends a burst, ms (--burst-threshold-ms)",
    ),
    OptionSpec::new(
        "include_sequences",
        "per-packet sequences (--include-sequences)",
    ),
    OptionSpec::new(
        "include_raw_sequences",
        "JoyfulJay's name for include_sequences",
    ),
    OptionSpec::new("include_splt", "SPLT columns (--include-splt)"),
    OptionSpec::new(
        "max_sequence_length",
        "length of the sequences (--max-sequence-length)",
    ),
];

impl Config {
    /// Reads the options; `component` names the extractor in error messages.
    pub fn from_options(options: &Options, component: &str) -> PluginResult<Config> {
        let mut cfg = Config::default();

        match options.get("compat") {
            None | Some("") => {}
            Some("joyfuljay") => cfg.compat = true,
            Some(other) => {
                return Err(PluginError::config(format!(
                    "{component}: unknown compat mode {other:?} (the only one is \"joyfuljay\")"
                )))
            }
        }

        if let Some(v) = options.get("burst_threshold_ms") {
            let ms: f64 = v.trim().parse().map_err(|_| {
                PluginError::config(format!(
                    "{component}: option burst_threshold_ms={v:?} is not a number of milliseconds"
                ))
            })?;
            if !(ms > 0.0 && ms.is_finite()) {
                return Err(PluginError::config(format!(
                    "{component}: option burst_threshold_ms must be a finite number > 0 (got {v})"
                )));
            }
            cfg.burst_threshold_s = ms / 1000.0;
        }

        cfg.include_sequences = match bool_option(options, component, "include_sequences")? {
            Some(b) => b,
            None => bool_option(options, component, "include_raw_sequences")?.unwrap_or(false),
        };
        cfg.include_splt = bool_option(options, component, "include_splt")?.unwrap_or(false);

        if let Some(v) = options.get("max_sequence_length") {
            let n: u64 = v.trim().parse().map_err(|_| {
                PluginError::config(format!(
                    "{component}: option max_sequence_length={v:?} is not a whole number"
                ))
            })?;
            if n == 0 || n > MAX_SEQUENCE_LENGTH_LIMIT as u64 {
                return Err(PluginError::config(format!(
                    "{component}: option max_sequence_length must be between 1 and {MAX_SEQUENCE_LENGTH_LIMIT} (got {n})"
                )));
            }
            cfg.max_sequence_length = n as usize;
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jj_plugin_api::ErrorKind;

    /// Every option the component reads is declared (so a `[plugins.*]` key the host rejects
    /// is one it never reads), and every declared one is read.
    #[test]
    fn declares_exactly_the_options_it_reads() {
        let o = Options::new();
        Config::from_options(&o, "timing").unwrap();
        jj_plugin_api::options::check_declared(OPTIONS, &o).unwrap();
    }

    fn parse(text: &str) -> PluginResult<Config> {
        Config::from_options(&Options::parse(text), "timing")
    }

    fn err(text: &str) -> String {
        let e = parse(text).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config, "{text}");
        e.message.to_string()
    }

    #[test]
    fn defaults() {
        let c = parse("").unwrap();
        assert_eq!(c, Config::default());
        assert!(!c.compat && !c.include_sequences && !c.include_splt);
        assert_eq!(c.burst_threshold_s, 0.05);
        assert_eq!(c.max_sequence_length, 50);
        // unknown keys are ignored (other components' options)
        assert_eq!(parse("frobnicate=7\n").unwrap(), Config::default());
    }

    #[test]
    fn values_are_read() {
        let c = parse(
            "compat=joyfuljay\nburst_threshold_ms=12.5\ninclude_sequences=true\ninclude_splt=1\nmax_sequence_length=7\n",
        )
        .unwrap();
        assert!(c.compat && c.include_sequences && c.include_splt);
        // 12.5 / 1000.0 exactly as the reference divides
        assert_eq!(c.burst_threshold_s.to_bits(), (12.5f64 / 1000.0).to_bits());
        assert_eq!(c.max_sequence_length, 7);
        // JoyfulJay's name for include_sequences; ours wins when both are given
        assert!(
            parse("include_raw_sequences=true")
                .unwrap()
                .include_sequences
        );
        assert!(
            !parse("include_raw_sequences=true\ninclude_sequences=false")
                .unwrap()
                .include_sequences
        );
        assert!(parse("include_splt=True").unwrap().include_splt);
        assert!(!parse("compat=").unwrap().compat);
    }

    #[test]
    fn bad_values_are_config_errors() {
        assert!(err("burst_threshold_ms=0").contains("burst_threshold_ms must be"));
        assert!(err("burst_threshold_ms=-5").contains("> 0"));
        assert!(err("burst_threshold_ms=inf").contains("finite"));
        assert!(err("burst_threshold_ms=NaN").contains("burst_threshold_ms"));
        assert!(err("burst_threshold_ms=fast").contains("not a number"));
        assert!(err("max_sequence_length=0").contains("between 1 and"));
        assert!(err("max_sequence_length=-3").contains("not a whole number"));
        assert!(err("max_sequence_length=2000000").contains("between 1 and"));
        assert!(err("include_sequences=maybe").contains("include_sequences"));
        assert!(err("include_raw_sequences=2").contains("include_raw_sequences"));
        assert!(err("include_splt=yes please").contains("not a boolean"));
        assert!(err("compat=cicflowmeter").contains("unknown compat mode"));
        assert!(err("compat=cicflowmeter").starts_with("timing: "));
    }
}
