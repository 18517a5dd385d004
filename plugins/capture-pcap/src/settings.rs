//! The capture settings, from the options the host passes (pure: no libpcap, no I/O).
use jj_plugin_api::{OptionSpec, Options, PluginError, PluginResult};

/// libpcap's largest snapshot length (`MAXIMUM_SNAPLEN`).
pub const MAX_SNAPLEN: u64 = 262_144;
/// The kernel buffer size is an `int` of bytes.
pub const MAX_BUFFER_MB: u64 = (i32::MAX as u64) >> 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Bytes kept of each frame.
    pub snaplen: i32,
    pub promisc: bool,
    /// Kernel capture buffer, bytes.
    pub buffer_bytes: i32,
    /// BPF expression.
    pub filter: Option<String>,
    /// Write every delivered frame to this pcap file too.
    pub save_pcap: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            snaplen: MAX_SNAPLEN as i32,
            promisc: true,
            buffer_bytes: 64 << 20,
            filter: None,
            save_pcap: None,
        }
    }
}

/// The options [`Settings::from_options`] reads.
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("snaplen", "bytes kept of each packet (1..=262144)"),
    OptionSpec::new("buffer_mb", "kernel capture buffer, MiB"),
    OptionSpec::new("promisc", "promiscuous mode (true/false)"),
    OptionSpec::new("filter", "BPF filter (also --filter)"),
    OptionSpec::new(
        "save_pcap",
        "also write the delivered frames to this pcap file (also --save-pcap)",
    ),
];

impl Settings {
    /// Reads `snaplen`, `promisc`, `buffer_mb`, `filter` and `save_pcap`; a value that does
    /// not parse is a config error naming the option (unknown keys are ignored).
    pub fn from_options(o: &Options) -> PluginResult<Settings> {
        let mut s = Settings::default();
        if let Some(v) = o.get("snaplen") {
            s.snaplen = ranged("snaplen", v, 1, MAX_SNAPLEN, "bytes")? as i32;
        }
        if let Some(v) = o.get("buffer_mb") {
            s.buffer_bytes = (ranged("buffer_mb", v, 1, MAX_BUFFER_MB, "MiB")? << 20) as i32;
        }
        if let Some(v) = o.get("promisc") {
            s.promisc = match v {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => {
                    return Err(PluginError::config(format!(
                        "option promisc: expected true or false, got '{v}'"
                    )))
                }
            };
        }
        s.filter = o
            .get("filter")
            .filter(|f| !f.trim().is_empty())
            .map(str::to_string);
        s.save_pcap = o
            .get("save_pcap")
            .filter(|p| !p.is_empty())
            .map(str::to_string);
        Ok(s)
    }
}

fn ranged(key: &str, v: &str, min: u64, max: u64, unit: &str) -> PluginResult<u64> {
    match v.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(PluginError::config(format!(
            "option {key}: expected {min}..={max} {unit}, got '{v}'"
        ))),
    }
}

/// The interface a source names: `iface:NAME` or `NAME`.
pub fn interface_name(source: &str) -> &str {
    source.strip_prefix("iface:").unwrap_or(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option the component reads is declared (so a `[plugins.*]` key the host rejects
    /// is one it never reads), and every declared one is read.
    #[test]
    fn declares_exactly_the_options_it_reads() {
        let o = Options::new();
        Settings::from_options(&o).unwrap();
        jj_plugin_api::options::check_declared(OPTIONS, &o).unwrap();
    }

    #[test]
    fn defaults() {
        let s = Settings::from_options(&Options::parse("live=true\nunknown=1\n")).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.snaplen, 262_144);
        assert!(s.promisc);
        assert_eq!(s.buffer_bytes, 64 << 20);
    }

    #[test]
    fn values() {
        let o = Options::parse(
            "snaplen=128\npromisc=false\nbuffer_mb=2\nfilter=udp and port 53\nsave_pcap=/tmp/x.pcap\n",
        );
        let s = Settings::from_options(&o).unwrap();
        assert_eq!(s.snaplen, 128);
        assert!(!s.promisc);
        assert_eq!(s.buffer_bytes, 2 << 20);
        assert_eq!(s.filter.as_deref(), Some("udp and port 53"));
        assert_eq!(s.save_pcap.as_deref(), Some("/tmp/x.pcap"));
    }

    #[test]
    fn bad_values_name_the_option() {
        for (text, key) in [
            ("snaplen=0", "snaplen"),
            ("snaplen=300000", "snaplen"),
            ("snaplen=abc", "snaplen"),
            ("buffer_mb=0", "buffer_mb"),
            ("buffer_mb=4096", "buffer_mb"),
            ("promisc=maybe", "promisc"),
        ] {
            let e = Settings::from_options(&Options::parse(text)).unwrap_err();
            assert_eq!(e.kind, jj_plugin_api::ErrorKind::Config, "{text}");
            assert!(e.message.as_str().contains(key), "{text}: {}", e.message);
        }
    }

    #[test]
    fn empty_filter_is_none() {
        let s = Settings::from_options(&Options::parse("filter=\nsave_pcap=")).unwrap();
        assert_eq!(s.filter, None);
        assert_eq!(s.save_pcap, None);
    }

    #[test]
    fn interface_names() {
        assert_eq!(interface_name("iface:eth0"), "eth0");
        assert_eq!(interface_name("lo"), "lo");
    }
}
