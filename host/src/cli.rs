//! Command line: `jj [--plugin-dir DIR]... COMMAND`.
use crate::{
    catalog::{Catalog, Selection},
    config::{bidir_split_name, RunConfig},
    engine::{self, EngineConfig, GraphWindow, Plan, PlanExtractor, RunReport},
    flowtable::FlowConfig,
    loader::{plugin_dirs, Plugins},
    rows::schema_of,
    schema,
};
use clap::{Parser, Subcommand, ValueEnum};
use jj_decode::anomaly;
use jj_plugin_api::{
    abi_stable::std_types::RStr, meta::Requirements, ColumnMeta, Options, StreamFraming,
};
use std::{
    path::{Path, PathBuf},
    time::Instant,
};

#[derive(Parser, Debug)]
#[command(
    name = "jj",
    version,
    about = "Network traffic to ML-ready flow features, through plugins"
)]
pub struct Cli {
    /// Load plugins from DIR (repeatable). Also searched: $JJ_PLUGIN_PATH, then the
    /// directory of the jj executable.
    #[arg(long = "plugin-dir", global = true, value_name = "DIR")]
    pub plugin_dirs: Vec<PathBuf>,
    /// Do not load plugins from the executable's directory.
    #[arg(long, global = true)]
    pub no_default_plugins: bool,
    /// Exit with an error if any file in a plugin directory is not a compatible plugin.
    #[arg(long, global = true)]
    pub strict: bool,
    /// Print only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Extract one feature row per flow from a capture.
    Extract(ExtractArgs),
    /// Capture live from an interface and extract flows as they end (needs a live capture
    /// plugin, e.g. jj-capture-pcap, and capture privileges).
    Live(LiveArgs),
    /// List the loaded plugin libraries and their components.
    Plugins,
    /// List every feature of the loaded extractors, grouped.
    Features,
    /// Print the runtime feature schema.
    Schema {
        #[arg(short, long, value_enum, default_value = "json")]
        format: SchemaFormat,
        /// Write to FILE instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Packets, duration, rate and a protocol histogram of a capture.
    Info { input: String },
    /// Watch a directory and extract every new capture into its own output file.
    Watch(WatchArgs),
    /// Version, loaded plugins, output formats and whether live capture is available.
    Status,
    /// Benchmark floor: read the capture through its capture plugin and decode every
    /// frame's headers, with no flow tracking (used by `cargo bench -p jj`).
    #[command(hide = true)]
    DecodeOnly { input: String },
    /// Feature profiles.
    Profiles {
        #[command(subcommand)]
        action: ProfilesAction,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProfilesAction {
    /// Profile names and how many loaded features each has.
    List,
    /// The feature ids of one profile, grouped.
    Show { name: String },
    /// Check profiles against the loaded features.
    Validate,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum SchemaFormat {
    Json,
    Csv,
    Markdown,
}

#[derive(clap::Args, Debug)]
pub struct ExtractArgs {
    /// Capture file (pcap, pcapng), a directory of captures, or another source a capture
    /// plugin accepts.
    pub input: String,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(clap::Args, Debug)]
pub struct WatchArgs {
    /// Directory to watch for new .pcap, .pcapng and .cap files.
    pub directory: String,
    /// Where outputs go, one per capture: <stem>.<extension of the format> [default: DIR/features].
    #[arg(long = "output-dir", short = 'O', value_name = "DIR")]
    pub output_dir: Option<String>,
    /// Seconds between scans; a file is processed once its size stopped changing.
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    pub interval: f64,
    /// Process the captures present now, then exit.
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(clap::Args, Debug)]
pub struct LiveArgs {
    /// Interface to capture on (e.g. `lo`, `eth0`).
    pub interface: String,
    /// Stop after this many seconds (default: until Ctrl-C / SIGTERM).
    #[arg(short, long, value_name = "S")]
    pub duration: Option<f64>,
    /// BPF capture filter, e.g. `tcp port 443`.
    #[arg(long, value_name = "BPF")]
    pub filter: Option<String>,
    /// Also write every captured frame to this pcap file.
    #[arg(long, value_name = "FILE")]
    pub save_pcap: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct CommonArgs {
    /// Output path, or `-` for stdout (default).
    #[arg(short, long)]
    pub output: Option<String>,
    /// Output format (offered by the loaded writers; default: from the output extension, else csv).
    #[arg(short, long)]
    pub format: Option<String>,
    /// TOML config file; command-line flags override its values (see docs/configuration.md).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Threads in use (default: all cores). Output is identical for every value.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Idle timeout in seconds of packet time [default: 60].
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Active timeout in seconds: a longer flow continues in a new row (0 = off) [default: 0].
    #[arg(long)]
    pub active_timeout: Option<f64>,
    /// Maximum flows kept at once; the least recently active are evicted (0 = unlimited).
    #[arg(long)]
    pub max_flows: Option<usize>,
    /// Packets kept per flow; a longer flow continues in a new row [default: 65536].
    #[arg(long)]
    pub max_flow_packets: Option<usize>,
    /// Keep only the features of this profile (e.g. JJ-CORE).
    #[arg(long)]
    pub profile: Option<String>,
    /// Keep the features of this group (repeatable).
    #[arg(long = "features", value_name = "GROUP")]
    pub groups: Vec<String>,
    /// Keep this feature (repeatable; unprefixed name or id).
    #[arg(long = "feature", value_name = "NAME")]
    pub features: Vec<String>,
    /// Drop the src_ip and dst_ip columns.
    #[arg(long)]
    pub no_ips: bool,
    /// Drop the port columns (src_port, dst_port, dst_port_class, dst_port_class_num).
    #[arg(long)]
    pub no_ports: bool,
    /// Replace addresses with salted SHA-256 prefixes.
    #[arg(long)]
    pub anonymize_ips: bool,
    /// Salt for --anonymize-ips and --flow-id.
    #[arg(long, value_name = "SALT")]
    pub anonymization_salt: Option<String>,
    /// Add a first column `flow_id` (salted hash of the canonical 5-tuple).
    #[arg(long)]
    pub flow_id: bool,
    /// Add iat_sequence, timestamp_sequence and pkt_len_sequence.
    #[arg(long)]
    pub include_sequences: bool,
    /// Add SPLT columns (splt, splt_lengths, splt_times, splt_directions).
    #[arg(long)]
    pub include_splt: bool,
    /// Length of sequences and SPLT [default: 50].
    #[arg(long, value_name = "N")]
    pub max_sequence_length: Option<u64>,
    /// Rename directional columns like JoyfulJay's bidirectional split.
    #[arg(long)]
    pub bidir_split: bool,
    /// Gap that ends a burst, in milliseconds [default: 50].
    #[arg(long, value_name = "MS")]
    pub burst_threshold_ms: Option<f64>,
    /// `joyfuljay`: reproduce JoyfulJay 0.1.6.1's output, bugs included (docs/deviations.md).
    #[arg(long, value_name = "MODE")]
    pub compat: Option<String>,
    /// Use this capture backend instead of the best match.
    #[arg(long)]
    pub capture: Option<String>,
    /// Two-pass features (connection graph): seconds of flow end time per graph window;
    /// 0 = one window per capture [default: 0; live: 60].
    #[arg(long, value_name = "S")]
    pub graph_window: Option<f64>,
    /// Two-pass features: rows held per graph window at most; a fuller window closes early
    /// [default: 200000].
    #[arg(long, value_name = "N")]
    pub graph_window_rows: Option<usize>,
    /// Database table (SQLite, PostgreSQL; may be `schema.table`) [default: jj_features].
    #[arg(long, value_name = "TABLE", help_heading = "Output")]
    pub db_table: Option<String>,
    /// When the table exists: append, replace or fail [default: append].
    #[arg(long, value_name = "MODE", help_heading = "Output")]
    pub db_if_exists: Option<String>,
    /// Rows per transaction / COPY [default: 1000].
    #[arg(long, value_name = "N", help_heading = "Output")]
    pub db_batch_size: Option<u64>,
    /// Kafka bootstrap brokers `host:port[,host:port]` (the output target with -f kafka).
    #[arg(long, value_name = "BROKERS", help_heading = "Output")]
    pub kafka_brokers: Option<String>,
    /// Kafka topic.
    #[arg(long, value_name = "TOPIC", help_heading = "Output")]
    pub kafka_topic: Option<String>,
    /// Column used as the Kafka message key (e.g. flow_id).
    #[arg(long, value_name = "COLUMN", help_heading = "Output")]
    pub kafka_key: Option<String>,
    /// Write Hive-style partitions by this column (Parquet directory output; `start_time` → date=YYYY-MM-DD).
    #[arg(long, value_name = "COLUMN", help_heading = "Output")]
    pub partition_by: Option<String>,
    /// Parquet compression: snappy, zstd or none [default: snappy].
    #[arg(long, value_name = "CODEC", help_heading = "Output")]
    pub parquet_compression: Option<String>,
    /// Rows per Parquet row group [default: 100000].
    #[arg(long, value_name = "N", help_heading = "Output")]
    pub parquet_row_group_rows: Option<u64>,
}

impl CommonArgs {
    /// The flags as a config layer (only what was given).
    fn as_config(&self) -> RunConfig {
        let flag = |b: bool| if b { Some(true) } else { None };
        RunConfig {
            format: self.format.clone(),
            output: self.output.clone(),
            threads: self.threads,
            timeout: self.timeout,
            active_timeout: self.active_timeout,
            max_flows: self.max_flows,
            max_flow_packets: self.max_flow_packets,
            profile: self.profile.clone(),
            features: if self.groups.is_empty() {
                None
            } else {
                Some(self.groups.clone())
            },
            feature: if self.features.is_empty() {
                None
            } else {
                Some(self.features.clone())
            },
            no_ips: flag(self.no_ips),
            no_ports: flag(self.no_ports),
            anonymize_ips: flag(self.anonymize_ips),
            anonymization_salt: self.anonymization_salt.clone(),
            flow_id: flag(self.flow_id),
            include_sequences: flag(self.include_sequences),
            include_splt: flag(self.include_splt),
            max_sequence_length: self.max_sequence_length,
            bidir_split: flag(self.bidir_split),
            burst_threshold_ms: self.burst_threshold_ms,
            compat: self.compat.clone(),
            capture: self.capture.clone(),
            graph_window: self.graph_window,
            graph_window_rows: self.graph_window_rows,
            db_table: self.db_table.clone(),
            db_if_exists: self.db_if_exists.clone(),
            db_batch_size: self.db_batch_size,
            kafka_brokers: self.kafka_brokers.clone(),
            kafka_topic: self.kafka_topic.clone(),
            kafka_key: self.kafka_key.clone(),
            partition_by: self.partition_by.clone(),
            parquet_compression: self.parquet_compression.clone(),
            parquet_row_group_rows: self.parquet_row_group_rows,
            ..Default::default()
        }
    }
}

fn say(quiet: bool, msg: &str) {
    if !quiet {
        eprintln!("jj: {msg}");
    }
}

/// Loads plugins and reports rejected files. `Err` (exit code) with `--strict`.
fn load_plugins(cli: &Cli) -> Result<Plugins, i32> {
    let dirs = plugin_dirs(&cli.plugin_dirs, cli.no_default_plugins);
    let plugins = Plugins::load(&dirs);
    for (path, reason) in &plugins.rejected {
        eprintln!("jj: skipped {}: {}", path.display(), reason);
    }
    if cli.strict && !plugins.rejected.is_empty() {
        eprintln!(
            "jj: --strict: {} file(s) in the plugin directories are not compatible plugins",
            plugins.rejected.len()
        );
        return Err(2);
    }
    Ok(plugins)
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let plugins = match load_plugins(&cli) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match &cli.command {
        Command::Plugins => cmd_plugins(&plugins),
        Command::Features => {
            let cat = catalog(&cli, &plugins, &Options::new());
            write_text(None, &schema::to_markdown(&cat))
        }
        Command::Schema { format, output } => {
            let cat = catalog(&cli, &plugins, &Options::new());
            let text = match format {
                SchemaFormat::Json => schema::to_json(&cat),
                SchemaFormat::Csv => schema::to_csv(&cat),
                SchemaFormat::Markdown => schema::to_markdown(&cat),
            };
            write_text(output.as_deref(), &text)
        }
        Command::Profiles { action } => cmd_profiles(&cli, &plugins, action),
        Command::Extract(args) => {
            cmd_extract(&cli, &plugins, &args.input, &args.common, None, true)
        }
        Command::Live(args) => cmd_extract(
            &cli,
            &plugins,
            &args.interface,
            &args.common,
            Some(args),
            true,
        ),
        Command::DecodeOnly { input } => cmd_decode_only(&plugins, input),
        Command::Info { input } => cmd_info(&plugins, input),
        Command::Status => cmd_status(&plugins),
        Command::Watch(args) => cmd_watch(&cli, &plugins, args),
    }
}

/// The capture component that opens `input`: the one named, or the best `probe` score.
fn capture_index(plugins: &Plugins, input: &str, name: Option<&str>) -> Option<usize> {
    match name {
        Some(name) => plugins.captures.iter().position(|c| c.name == name),
        None => {
            let scores: Vec<u8> = plugins
                .captures
                .iter()
                .map(|c| c.factory.probe(RStr::from_str(input)))
                .collect();
            scores
                .iter()
                .enumerate()
                .filter(|(_, s)| **s > 0)
                .max_by_key(|(i, s)| (**s, usize::MAX - i))
                .map(|(i, _)| i)
        }
    }
}

fn open_capture(
    plugins: &Plugins,
    input: &str,
    name: Option<&str>,
    options: &Options,
) -> Result<jj_plugin_api::ffi::FfiCaptureSourceBox, (i32, String)> {
    let Some(idx) = capture_index(plugins, input, name) else {
        let names: Vec<&str> = plugins.captures.iter().map(|c| c.name.as_str()).collect();
        // Most often a mistyped path: say so first. (An interface name or a URL is not
        // a file either; the backends list says what could take those.)
        let missing = if !input.contains("://")
            && !input.starts_with("iface:")
            && std::fs::symlink_metadata(input).is_err()
        {
            "no such file, and "
        } else {
            ""
        };
        return Err((
            2,
            format!(
                "{input}: {missing}no capture backend can open it (loaded capture plugins: {}); check the path or load a capture plugin with --plugin-dir",
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            ),
        ));
    };
    plugins.captures[idx]
        .factory
        .open(RStr::from_str(input), RStr::from_str(&options.to_text()))
        .into_result()
        .map_err(|e| (1, format!("{input}: {}", e.message)))
}

/// The same source opened for chunked (parallel) reading, when its backend offers it
/// (plugin-api 1.2). Any failure just means sequential reading.
fn open_chunked(
    plugins: &Plugins,
    input: &str,
    name: Option<&str>,
    options: &Options,
) -> Option<jj_plugin_api::ffi::FfiChunkedSourceBox> {
    let idx = capture_index(plugins, input, name)?;
    let factory = plugins.chunked.get(idx)?.as_ref()?;
    factory
        .open_chunked(
            RStr::from_str(input),
            RStr::from_str(&options.to_text()),
            engine::CHUNK_BYTES,
        )
        .into_result()
        .ok()?
        .into_option()
}

fn cmd_decode_only(plugins: &Plugins, input: &str) -> i32 {
    let started = Instant::now();
    let mut capture = match open_capture(plugins, input, None, &Options::new()) {
        Ok(c) => c,
        Err((code, msg)) => {
            eprintln!("jj: {msg}");
            return code;
        }
    };
    let mut batch = jj_plugin_api::FrameBatch::with_limits(4096, 8 << 20);
    let mut d = jj_decode::Decoded::default();
    let (mut frames, mut bytes, mut ip, mut ports) = (0u64, 0u64, 0u64, 0u64);
    loop {
        batch.clear();
        let status = capture.next_batch(&mut batch).into_result();
        for fh in batch.frames.iter() {
            jj_decode::decode(fh.linktype, batch.bytes_of(fh), fh.wire_len, &mut d);
            frames += 1;
            bytes += fh.caplen as u64;
            ip += (d.ip_version != 0) as u64;
            ports = ports.wrapping_add(d.src_port as u64 ^ d.dst_port as u64);
        }
        match status {
            Ok(jj_plugin_api::BatchStatus::End) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("jj: {input}: {}", e.message);
                return 1;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!("frames={frames} bytes={bytes} ip={ip} checksum={ports} seconds={secs:.6}");
    0
}

fn protocol_name(p: u8) -> String {
    match p {
        1 => "ICMP".into(),
        2 => "IGMP".into(),
        6 => "TCP".into(),
        17 => "UDP".into(),
        41 => "IPv6-in-IP".into(),
        47 => "GRE".into(),
        50 => "ESP".into(),
        51 => "AH".into(),
        58 => "ICMPv6".into(),
        132 => "SCTP".into(),
        n => format!("proto {n}"),
    }
}

fn cmd_info(plugins: &Plugins, input: &str) -> i32 {
    let mut capture = match open_capture(plugins, input, None, &Options::new()) {
        Ok(c) => c,
        Err((code, msg)) => {
            eprintln!("jj: {msg}");
            return code;
        }
    };
    let mut batch = jj_plugin_api::FrameBatch::with_limits(4096, 8 << 20);
    let mut d = jj_decode::Decoded::default();
    let (mut frames, mut bytes, mut first, mut last) = (0u64, 0u64, i64::MAX, i64::MIN);
    let mut protos: std::collections::BTreeMap<String, u64> = Default::default();
    let mut links: std::collections::BTreeMap<u32, u64> = Default::default();
    let mut error = None;
    loop {
        batch.clear();
        let status = capture.next_batch(&mut batch).into_result();
        for fh in batch.frames.iter() {
            jj_decode::decode(fh.linktype, batch.bytes_of(fh), fh.wire_len, &mut d);
            frames += 1;
            bytes += fh.wire_len as u64;
            first = first.min(fh.ts_ns);
            last = last.max(fh.ts_ns);
            *links.entry(fh.linktype).or_default() += 1;
            let name = if d.ip_version == 0 {
                "not IP".to_string()
            } else {
                format!("IPv{} {}", d.ip_version, protocol_name(d.protocol))
            };
            *protos.entry(name).or_default() += 1;
        }
        match status {
            Ok(jj_plugin_api::BatchStatus::End) => break,
            Ok(_) => {}
            Err(e) => {
                error = Some(e.message.to_string());
                break;
            }
        }
    }
    let secs = if frames > 1 {
        (last - first) as f64 / 1e9
    } else {
        0.0
    };
    println!("file:      {input}");
    println!("packets:   {frames}");
    println!("bytes:     {bytes} (on the wire)");
    println!("duration:  {secs:.6} s");
    if secs > 0.0 {
        println!(
            "rate:      {:.1} packets/s, {:.1} bit/s",
            frames as f64 / secs,
            bytes as f64 * 8.0 / secs
        );
    }
    let links: Vec<String> = links.iter().map(|(l, n)| format!("{l} ({n})")).collect();
    println!("linktypes: {}", links.join(", "));
    println!("protocols:");
    let mut list: Vec<(String, u64)> = protos.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (name, n) in list {
        println!(
            "  {name:<18} {n:>10}  {:>5.1}%",
            n as f64 * 100.0 / frames.max(1) as f64
        );
    }
    if let Some(e) = error {
        eprintln!("jj: {input}: {e}");
        return 1;
    }
    0
}

fn cmd_watch(cli: &Cli, plugins: &Plugins, args: &WatchArgs) -> i32 {
    let dir = Path::new(&args.directory);
    if !dir.is_dir() {
        eprintln!("jj: {}: not a directory", args.directory);
        return 2;
    }
    if !(args.interval > 0.0 && args.interval.is_finite()) {
        eprintln!("jj: --interval must be > 0 seconds");
        return 2;
    }
    let out_dir = args
        .output_dir
        .clone()
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("features"));
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        eprintln!(
            "jj: cannot create output directory {}: {e}",
            out_dir.display()
        );
        return 2;
    }
    let format = args.common.format.clone().unwrap_or_else(|| "csv".into());
    let Some(ext) = plugins
        .writers
        .iter()
        .flat_map(|w| w.factory.formats().into_iter())
        .find(|f| f.name.as_str() == format)
        .map(|f| f.extension.to_string())
    else {
        eprintln!("jj: unknown output format '{format}' (see `jj status`)");
        return 2;
    };
    // a bad option fails every file: refuse to start instead
    let mut checked = args.common.clone();
    checked.format = Some(format.clone());
    if let Err(code) = prepare(cli, plugins, &checked, None, true) {
        return code;
    }
    let stop = crate::signals::stop_flag();
    let mut seen: std::collections::HashMap<String, (u64, bool)> = Default::default();
    let mut failures = 0;
    say(
        cli.quiet,
        &format!(
            "watching {} (outputs in {})",
            dir.display(),
            out_dir.display()
        ),
    );
    loop {
        let files = match capture_files(dir) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("jj: {}: {e}", dir.display());
                return 1;
            }
        };
        for f in files {
            let size = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
            let entry = seen.entry(f.clone()).or_insert((u64::MAX, false));
            let stable = entry.0 == size && size > 0;
            entry.0 = size;
            if entry.1 || !(stable || args.once) {
                continue;
            }
            entry.1 = true;
            let stem = Path::new(&f)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut common = args.common.clone();
            common.format = Some(format.clone());
            common.output = Some(
                out_dir
                    .join(format!("{stem}.{ext}"))
                    .to_string_lossy()
                    .into_owned(),
            );
            // options were checked (and warned about) once, before watching
            if cmd_extract(cli, plugins, &f, &common, None, false) != 0 {
                failures += 1;
            }
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
        }
        if args.once || stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs_f64(args.interval));
    }
    if failures > 0 {
        eprintln!("jj: {failures} capture(s) could not be processed completely");
        return 1;
    }
    0
}

fn cmd_status(plugins: &Plugins) -> i32 {
    println!(
        "jj {} (plugin-api {})",
        env!("CARGO_PKG_VERSION"),
        jj_plugin_api::API_VERSION
    );
    println!(
        "platform: {}-{}",
        std::env::consts::ARCH,
        std::env::consts::OS
    );
    println!(
        "plugins: {} libraries, {} capture, {} extractor, {} writer components ({} files skipped)",
        plugins.libraries.len(),
        plugins.captures.len(),
        plugins.extractors.len(),
        plugins.writers.len(),
        plugins.rejected.len()
    );
    let mut formats: Vec<String> = plugins
        .writers
        .iter()
        .flat_map(|w| w.factory.formats().into_iter().map(|f| f.name.to_string()))
        .collect();
    formats.sort();
    println!("output formats: {}", formats.join(", "));
    let live: Vec<&str> = plugins
        .captures
        .iter()
        .filter(|c| captures_interfaces(c))
        .map(|c| c.name.as_str())
        .collect();
    if live.is_empty() {
        println!("live capture: not available (no live capture plugin loaded)");
    } else {
        println!("live capture: available via {}", live.join(", "));
    }
    0
}

/// A live capture backend: it claims sources of the form `iface:NAME` (the convention in
/// docs/plugin-api.md), whatever interfaces this machine has.
fn captures_interfaces(
    c: &crate::loader::Component<jj_plugin_api::ffi::FfiCaptureFactoryBox>,
) -> bool {
    c.factory.probe(RStr::from_str("iface:jj-status-probe")) > 0
}

/// Peak resident memory of this process in bytes (Linux), for the run report.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn catalog(cli: &Cli, plugins: &Plugins, options: &Options) -> Catalog {
    let cat = Catalog::build(plugins, options);
    for w in &cat.warnings {
        say(cli.quiet, w);
    }
    cat
}

fn write_text(path: Option<&Path>, text: &str) -> i32 {
    match path {
        None => {
            // A closed pipe (`jj schema | head`) is not an error worth a panic.
            use std::io::Write;
            let _ = std::io::stdout().write_all(text.as_bytes());
            0
        }
        Some(p) => match std::fs::write(p, text) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("jj: cannot write {}: {e}", p.display());
                1
            }
        },
    }
}

fn cmd_plugins(plugins: &Plugins) -> i32 {
    let mut rows: Vec<[String; 7]> = Vec::new();
    let mut row =
        |library: usize, name: &str, kind: &str, version: &str, features: String, about: String| {
            let l = &plugins.libraries[library];
            let file = l
                .path
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default();
            rows.push([
                file,
                name.into(),
                kind.into(),
                version.into(),
                l.api_version.clone(),
                features,
                about,
            ]);
        };
    for c in &plugins.captures {
        row(
            c.library,
            &c.name,
            "capture",
            &c.version,
            "-".into(),
            c.description.clone(),
        );
    }
    let cat = Catalog::build(plugins, &Options::new());
    for (i, c) in plugins.extractors.iter().enumerate() {
        let n = cat
            .extractors
            .iter()
            .find(|e| e.component == i)
            .map(|e| e.info.features.len().to_string())
            .unwrap_or_else(|| "error".into());
        let description = match plugins.stream_framing.get(i).copied().flatten() {
            Some(f) => format!(
                "{} [TCP streams read as {}-byte-header records]",
                c.description, f.header_len
            ),
            None => c.description.clone(),
        };
        row(c.library, &c.name, "extractor", &c.version, n, description);
    }
    for c in &plugins.writers {
        let formats: Vec<String> = c
            .factory
            .formats()
            .iter()
            .map(|f| f.name.to_string())
            .collect();
        row(
            c.library,
            &c.name,
            "writer",
            &c.version,
            "-".into(),
            format!("formats: {}", formats.join(", ")),
        );
    }
    let header = [
        "LIBRARY",
        "COMPONENT",
        "KIND",
        "VERSION",
        "API",
        "FEATURES",
        "DESCRIPTION",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{:<w$}  ", c, w = widths[i]));
            }
        }
        println!("{}", s.trim_end());
    };
    line(header.to_vec());
    for r in &rows {
        line(r.iter().map(|s| s.as_str()).collect());
    }
    if rows.is_empty() {
        eprintln!("jj: no plugins loaded; pass --plugin-dir DIR or set JJ_PLUGIN_PATH");
    }
    print_declared_options(plugins);
    0
}

/// The options each component declares (plugin-api 1.4), for a config file's
/// `[plugins.<name>]` tables.
fn print_declared_options(plugins: &Plugins) {
    let declared: Vec<(&str, &str, &str)> = plugins
        .options
        .iter()
        .flat_map(|c| {
            c.keys
                .iter()
                .flatten()
                .map(move |(k, h)| (c.component.as_str(), k.as_str(), h.as_str()))
        })
        .collect();
    let undeclared: Vec<String> = plugins
        .options
        .iter()
        .filter(|c| c.keys.is_none())
        .map(|c| format!("{} '{}'", c.kind, c.component))
        .collect();
    if declared.is_empty() && undeclared.is_empty() {
        return;
    }
    println!("\nOptions (config file: `key = value` in a [plugins.<name>] table):");
    if !declared.is_empty() {
        let wc = declared.iter().map(|d| d.0.len()).max().unwrap_or(0).max(9);
        let wk = declared.iter().map(|d| d.1.len()).max().unwrap_or(0).max(6);
        println!("{:<wc$}  {:<wk$}  HELP", "COMPONENT", "OPTION");
        for (c, k, h) in &declared {
            println!("{c:<wc$}  {k:<wk$}  {h}");
        }
    }
    if !undeclared.is_empty() {
        println!(
            "Not declared (plugins built before plugin-api 1.4 or C ABI 1.1, or that leave them undeclared): {}",
            undeclared.join(", ")
        );
    }
}

fn cmd_profiles(cli: &Cli, plugins: &Plugins, action: &ProfilesAction) -> i32 {
    let cat = catalog(cli, plugins, &Options::new());
    match action {
        ProfilesAction::List => {
            for p in cat.profile_names() {
                let members = cat.profile_members(&p);
                match cat.profiles.iter().find(|x| x.name == p) {
                    // the list shipped in resources/ (JoyfulJay's), and what plugins add
                    Some(x) => {
                        let listed = members
                            .iter()
                            .filter(|f| x.ids.iter().any(|id| *id == f.id.as_str()))
                            .count();
                        let more = members.len() - listed;
                        println!(
                            "{p}\t{} features loaded: {listed} of the {} listed{}",
                            members.len(),
                            x.ids.len(),
                            if more > 0 {
                                format!(", {more} more declared by plugins")
                            } else {
                                String::new()
                            }
                        );
                    }
                    None => println!(
                        "{p}\t{} features loaded (declared by plugins)",
                        members.len()
                    ),
                }
            }
            0
        }
        ProfilesAction::Show { name } => {
            if !cat.profile_names().contains(name) {
                eprintln!(
                    "jj: unknown profile '{name}' (available: {})",
                    cat.profile_names().join(", ")
                );
                return 2;
            }
            for e in &cat.extractors {
                let ids: Vec<&str> = e
                    .info
                    .features
                    .iter()
                    .filter(|f| cat.profiles_of(f).contains(name))
                    .map(|f| f.id.as_str())
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                println!("{} ({})", e.info.group, ids.len());
                for id in ids {
                    println!("  {id}");
                }
            }
            0
        }
        ProfilesAction::Validate => {
            let (problems, not_provided) = cat.validate_profiles();
            for (profile, ids) in &not_provided {
                let groups: std::collections::BTreeSet<&str> =
                    ids.iter().filter_map(|id| id.split('.').next()).collect();
                println!(
                    "note: {profile}: {} listed id(s) are not provided by a loaded plugin (groups: {})",
                    ids.len(),
                    groups.into_iter().collect::<Vec<_>>().join(", ")
                );
            }
            for p in &problems {
                println!("{p}");
            }
            if problems.is_empty() {
                println!("ok: every loaded feature is in exactly one profile; profile files are well-formed");
                0
            } else {
                println!("{} problem(s)", problems.len());
                1
            }
        }
    }
}

/// The stream framing the flow table may apply: the one every stream-reading extractor
/// of the run declared, if they all declared the same; otherwise none (streams whole).
fn common_framing(framings: &[Option<StreamFraming>]) -> Option<StreamFraming> {
    let first = (*framings.first()?)?;
    framings.iter().all(|f| *f == Some(first)).then_some(first)
}

fn pick_format(cfg: &RunConfig, output: &str) -> String {
    if let Some(f) = &cfg.format {
        return f.clone();
    }
    if output.starts_with("postgres://") || output.starts_with("postgresql://") {
        return "postgres".into();
    }
    if output.starts_with("sqlite://") {
        return "sqlite".into();
    }
    if output.starts_with("kafka://") || (cfg.output.is_none() && cfg.kafka_brokers.is_some()) {
        return "kafka".into();
    }
    match Path::new(output).extension().and_then(|e| e.to_str()) {
        Some("jsonl" | "ndjson" | "json") => "jsonl".into(),
        Some("db" | "sqlite" | "sqlite3") => "sqlite".into(),
        Some(ext) if ext != "csv" => ext.to_string(),
        _ => "csv".into(),
    }
}

/// A run's options, checked against the loaded plugins: the merged config, the options
/// the components get, the catalog and the feature selection.
struct Prepared {
    cfg: RunConfig,
    options: Options,
    cat: Catalog,
    selection: Selection,
}

/// Reads the config file, lays the flags over it and checks the result against the
/// loaded plugins, before any input is opened. `Err` holds the exit code, the errors
/// already printed; warnings are printed when `warn`.
fn prepare(
    cli: &Cli,
    plugins: &Plugins,
    args: &CommonArgs,
    live: Option<&LiveArgs>,
    warn: bool,
) -> Result<Prepared, i32> {
    let file_cfg = match &args.config {
        Some(path) => match RunConfig::from_file(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("jj: {e}");
                return Err(2);
            }
        },
        None => RunConfig::default(),
    };
    let cfg = file_cfg.overlaid(&args.as_config());
    if let Err(e) = cfg.validate() {
        eprintln!("jj: {e}");
        return Err(2);
    }
    // `[plugins.*]` tables come only from the config file
    let in_file = args
        .config
        .as_ref()
        .map(|p| format!("config file {}: ", p.display()))
        .unwrap_or_default();
    match cfg.check_plugin_keys(&plugins.options) {
        Ok(warnings) => {
            for w in warnings.iter().filter(|_| warn) {
                eprintln!("jj: warning: {in_file}{w}");
            }
        }
        Err(e) => {
            eprintln!("jj: {in_file}{e}");
            return Err(2);
        }
    }
    let mut options = cfg.plugin_options();
    if let Some(l) = live {
        options.set("live", "true");
        if let Some(f) = &l.filter {
            options.set("filter", f);
        }
        if let Some(p) = &l.save_pcap {
            options.set("save_pcap", p);
        }
        if let Some(d) = l.duration {
            if !(d > 0.0 && d.is_finite()) {
                eprintln!("jj: --duration must be > 0 seconds (got {d})");
                return Err(2);
            }
        }
    }
    let cat = catalog(cli, plugins, &options);
    if !cat.option_errors.is_empty() {
        for e in &cat.option_errors {
            eprintln!("jj: {e}");
        }
        return Err(2);
    }
    let empty = Vec::new();
    let selection = match cat.select(
        cfg.profile.as_deref(),
        cfg.features.as_ref().unwrap_or(&empty),
        cfg.feature.as_ref().unwrap_or(&empty),
        // JoyfulJay's default `features=["all"]` includes its connection graph
        cfg.compat_joyfuljay(),
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("jj: {e}");
            return Err(2);
        }
    };
    if cat.extractors.is_empty() {
        eprintln!("jj: no extractor plugins loaded; pass --plugin-dir DIR (see `jj plugins`)");
        return Err(2);
    }
    Ok(Prepared {
        cfg,
        options,
        cat,
        selection,
    })
}

fn cmd_extract(
    cli: &Cli,
    plugins: &Plugins,
    input: &str,
    args: &CommonArgs,
    live: Option<&LiveArgs>,
    warn: bool,
) -> i32 {
    let started = Instant::now();
    let Prepared {
        cfg,
        options,
        cat,
        mut selection,
    } = match prepare(cli, plugins, args, live, warn) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let dropped: &[&str] = match (cfg.drop_ips(), cfg.drop_ports()) {
        (true, true) => &[
            "src_ip",
            "dst_ip",
            "src_port",
            "dst_port",
            "dst_port_class",
            "dst_port_class_num",
        ],
        (true, false) => &["src_ip", "dst_ip"],
        (false, true) => &[
            "src_port",
            "dst_port",
            "dst_port_class",
            "dst_port_class_num",
        ],
        (false, false) => &[],
    };
    selection
        .columns
        .retain(|&(e, i)| !dropped.contains(&cat.extractors[e].info.features[i].name.as_str()));
    let output = cfg
        .output
        .clone()
        .or_else(|| cfg.kafka_brokers.clone())
        .unwrap_or_else(|| "-".to_string());
    // Run only the extractors that contribute a selected column.
    let mut plan = Plan {
        extractors: Vec::new(),
        selection: Vec::new(),
        options: options.to_text(),
        graph: GraphWindow::default(),
    };
    let mut columns: Vec<ColumnMeta> = Vec::new();
    let mut reqs = Requirements::default();
    // Per selected extractor that asks for TCP streams: its framing, if declared.
    let mut stream_framings: Vec<Option<StreamFraming>> = Vec::new();
    let mut offsets = vec![usize::MAX; cat.extractors.len()];
    for (e, entry) in cat.extractors.iter().enumerate() {
        if selection.columns.iter().any(|(x, _)| *x == e) {
            offsets[e] = plan.extractors.iter().map(|p| p.n_values).sum();
            plan.extractors.push(PlanExtractor {
                component: entry.component,
                name: entry.name.clone(),
                n_values: entry.info.features.len(),
                two_pass: entry.info.requirements.needs_all_flows != 0
                    && plugins.extractor_has_second_pass(entry.component),
            });
            if entry.info.requirements.needs_all_flows != 0
                && !plugins.extractor_has_second_pass(entry.component)
            {
                eprintln!(
                    "jj: warning: extractor '{}' asks for a second pass, but its library was built against a plugin-api without one (needs Rust plugin-api >= 1.1): its columns hold first-pass values only; rebuild it",
                    entry.name
                );
            }
            reqs = reqs.merge(entry.info.requirements);
            if entry.info.requirements.stream_bytes_per_direction > 0 {
                stream_framings.push(
                    plugins
                        .stream_framing
                        .get(entry.component)
                        .copied()
                        .flatten(),
                );
            }
        }
    }
    for &(e, i) in &selection.columns {
        let f = &cat.extractors[e].info.features[i];
        plan.selection.push(offsets[e] + i);
        columns.push(ColumnMeta {
            name: f.name.clone(),
            id: f.id.clone(),
            group: cat.extractors[e].info.group.clone(),
            dtype: f.dtype,
        });
    }
    plan.graph = GraphWindow {
        window_ns: (cfg
            .graph_window
            .unwrap_or(if live.is_some() { 60.0 } else { 0.0 })
            * 1e9) as i64,
        max_rows: cfg
            .graph_window_rows
            .unwrap_or(GraphWindow::DEFAULT_MAX_ROWS),
        live: live.is_some(),
    };
    if cfg.bidir_split.unwrap_or(false) {
        for c in &mut columns {
            c.name = bidir_split_name(c.name.as_str()).into();
        }
    }
    let schema = schema_of(columns);

    // inputs: one capture, or every capture of a directory in sorted order
    let is_dir = live.is_none() && Path::new(input).is_dir();
    let inputs = if is_dir {
        match capture_files(Path::new(input)) {
            Ok(files) if !files.is_empty() => files,
            Ok(_) => {
                eprintln!(
                    "jj: {}: no .pcap, .pcapng or .cap files in this directory",
                    input
                );
                return 2;
            }
            Err(e) => {
                eprintln!("jj: {}: {e}", input);
                return 2;
            }
        }
    } else {
        vec![input.to_string()]
    };
    // A single input is opened before the output, so a bad input leaves no output behind.
    let mut first_capture = None;
    if !is_dir {
        // `jj live` goes to a live capture component even when its probe does not know the
        // name, so that it can say which interfaces exist.
        let live_component = if live.is_some() && cfg.capture.is_none() {
            plugins
                .captures
                .iter()
                .find(|c| captures_interfaces(c))
                .map(|c| c.name.as_str())
        } else {
            None
        };
        if live.is_some() && live_component.is_none() && cfg.capture.is_none() {
            eprintln!("jj: no live capture plugin is loaded (install jj-capture-pcap next to jj or pass --plugin-dir)");
            return 2;
        }
        match open_capture(
            plugins,
            input,
            cfg.capture.as_deref().or(live_component),
            &options,
        ) {
            Ok(c) => first_capture = Some(c),
            Err((code, msg)) => {
                eprintln!("jj: {msg}");
                return code;
            }
        }
    }

    // writer
    let format = pick_format(&cfg, &output);
    let writer_idx = plugins.writers.iter().position(|w| {
        w.factory
            .formats()
            .iter()
            .any(|f| f.name.as_str() == format)
    });
    let Some(writer_idx) = writer_idx else {
        let mut all: Vec<String> = plugins
            .writers
            .iter()
            .flat_map(|w| w.factory.formats().into_iter().map(|f| f.name.to_string()))
            .collect();
        all.sort();
        all.dedup();
        eprintln!(
            "jj: unknown output format '{format}' (loaded writers offer: {})",
            if all.is_empty() {
                "none".into()
            } else {
                all.join(", ")
            }
        );
        return 2;
    };
    let writer = match plugins.writers[writer_idx]
        .factory
        .open(
            RStr::from_str(&format),
            RStr::from_str(&output),
            &schema,
            RStr::from_str(&options.to_text()),
        )
        .into_result()
    {
        Ok(w) => w,
        Err(e) => {
            eprintln!("jj: cannot open output '{output}': {}", e.message);
            return 1;
        }
    };

    let threads = cfg.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let compat = cfg.compat_joyfuljay();
    let engine_cfg = EngineConfig {
        flow: FlowConfig {
            idle_timeout_ns: (cfg.timeout.unwrap_or(60.0) * 1e9) as i64,
            active_timeout_ns: (cfg.active_timeout.unwrap_or(0.0) * 1e9) as i64,
            max_flows: cfg.max_flows.unwrap_or(0),
            max_flow_packets: cfg.max_flow_packets.unwrap_or(65_536),
            payload_bytes_per_packet: reqs.payload_bytes_per_packet,
            payload_bytes_per_direction: reqs.payload_bytes_per_direction,
            stream_bytes_per_direction: reqs.stream_bytes_per_direction,
            stream_framing: common_framing(&stream_framings),
            tcp_option_bytes: reqs.tcp_option_bytes != 0,
            compat_joyfuljay: compat,
            ..FlowConfig::default()
        },
        threads,
        compat_joyfuljay: compat,
        live: live.is_some(),
        writer_batch_values: plugins
            .writer_hints
            .get(writer_idx)
            .and_then(|hints| hints.iter().find(|(f, _)| *f == format))
            .map_or(0, |(_, v)| *v),
    };
    let stop = crate::signals::stop_flag();
    if let Some(d) = live.and_then(|l| l.duration) {
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs_f64(d));
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        });
    }
    let mut session = match engine::Session::new(plugins, &plan, writer, &schema, &engine_cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("jj: {e}");
            return 1;
        }
    };
    let mut failed_files = 0usize;
    for input in &inputs {
        let capture = match first_capture.take() {
            Some(c) => c,
            None => match open_capture(plugins, input, cfg.capture.as_deref(), &options) {
                Ok(c) => c,
                Err((_, msg)) => {
                    eprintln!("jj: {msg}");
                    failed_files += 1;
                    continue;
                }
            },
        };
        let frames_before = session.report.frames;
        // Several workers read a file at once when its backend can (not in compat mode,
        // which runs on one thread).
        let chunked = (threads > 1 && !compat && live.is_none())
            .then(|| open_chunked(plugins, input, cfg.capture.as_deref(), &options))
            .flatten();
        if let Err(e) = session.process_with(capture, chunked, stop) {
            eprintln!("jj: {e}");
            session.abort();
            return 1;
        }
        if let Some(e) = &session.report.capture_error {
            eprintln!(
                "jj: {input}: {e} — rows for the {} frames before it were written",
                session.report.frames - frames_before
            );
            failed_files += 1;
        }
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
    }
    let report = match session.finish() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("jj: {e}");
            return 1;
        }
    };
    let label = if is_dir {
        format!("{} ({} captures)", input, inputs.len())
    } else {
        input.to_string()
    };
    print_report(cli.quiet, &label, &report, started.elapsed().as_secs_f64());
    if let Some(l) = live {
        let c = &report.capture;
        eprintln!(
            "jj: {}: {} frames captured, {} dropped by the kernel, {} dropped by the interface",
            l.interface, c.frames, c.kernel_drops, c.iface_drops
        );
    }
    if report.interrupted && live.is_none() {
        eprintln!("jj: interrupted: every open flow was flushed and the output closed cleanly");
    }
    if failed_files > 0 {
        if is_dir {
            eprintln!(
                "jj: {failed_files} of {} captures could not be read completely",
                inputs.len()
            );
        }
        return 1;
    }
    0
}

/// The captures of a directory (not recursive), sorted by name.
fn capture_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut files: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng" | "cap")
            )
        })
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    Ok(files)
}

fn print_report(quiet: bool, input: &str, r: &RunReport, secs: f64) {
    let w = &r.write;
    if w.rows_failed > 0 || w.rows_written != w.rows_received {
        eprintln!(
            "jj: output: {} rows produced, {} written/acknowledged, {} failed (counted, not retried further)",
            w.rows_received, w.rows_written, w.rows_failed
        );
    }
    for f in &r.extractor_failures {
        if f.failures > 0 {
            eprintln!(
                "jj: extractor '{}' failed on {} flow(s) ({} panics); its columns are empty for those rows. First: {}",
                f.name,
                f.failures,
                f.panics,
                f.first_message.as_deref().unwrap_or("")
            );
        }
    }
    if r.graph_windows_cut > 0 {
        eprintln!(
            "jj: {} of {} graph window(s) reached --graph-window-rows and closed early: their two-pass (connection) features cover only the flows of each part",
            r.graph_windows_cut, r.graph_windows
        );
    }
    if r.type_mismatches > 0 {
        eprintln!(
            "jj: {} value(s) did not match their column type and were written as null",
            r.type_mismatches
        );
    }
    if quiet {
        return;
    }
    let mb = r.bytes as f64 / 1e6;
    eprintln!(
        "jj: {input}: {} frames ({:.1} MB), {} IP packets, {} flows, {} rows in {:.2} s ({:.1} MB/s, {:.0} packets/s, peak RSS {:.1} MB)",
        r.frames,
        mb,
        r.ip_packets,
        r.flows.flows_emitted,
        r.rows,
        secs,
        if secs > 0.0 { mb / secs } else { 0.0 },
        if secs > 0.0 { r.frames as f64 / secs } else { 0.0 },
        peak_rss_bytes().unwrap_or(0) as f64 / 1e6
    );
    let mut notes = Vec::new();
    if r.not_ip > 0 {
        notes.push(format!("{} frames without IP (not flows)", r.not_ip));
    }
    for (bit, name) in anomaly::ALL {
        let n = r.anomalies[bit.trailing_zeros() as usize];
        if n > 0 && bit != anomaly::NOT_IP {
            notes.push(format!("{n} {name}"));
        }
    }
    if r.flows.evicted > 0 {
        notes.push(format!("{} flows evicted (--max-flows)", r.flows.evicted));
    }
    if r.flows.packet_limit_splits > 0 {
        notes.push(format!(
            "{} flows split at --max-flow-packets",
            r.flows.packet_limit_splits
        ));
    }
    if r.flows.late_after_close > 0 {
        notes.push(format!(
            "{} late packets of closed TCP connections",
            r.flows.late_after_close
        ));
    }
    if r.defrag.fragments > 0 {
        notes.push(format!(
            "{} IP fragments → {} datagrams reassembled ({} timed out, {} incomplete at end, {} overlaps, {} bad)",
            r.defrag.fragments,
            r.reassembled_datagrams,
            r.defrag.timed_out,
            r.fragments_pending_at_end,
            r.defrag.overlaps,
            r.defrag.bad + r.defrag.too_big + r.defrag.dropped_over_memory
        ));
    }
    let st = &r.flows.streams;
    if st.retransmitted_bytes + st.ooo_segments + st.dropped_segments > 0
        || r.flows.streams_with_gap > 0
    {
        notes.push(format!(
            "TCP streams: {} retransmitted bytes, {} out-of-order segments, {} dropped segments, {} directions with a gap, {} truncated, {} ended early (the extractors read no further)",
            st.retransmitted_bytes, st.ooo_segments, st.dropped_segments, r.flows.streams_with_gap, r.flows.streams_truncated, r.flows.streams_cut
        ));
    }
    if r.capture.header_anomalies > 0 {
        notes.push(format!(
            "{} capture records with inconsistent lengths",
            r.capture.header_anomalies
        ));
    }
    if !notes.is_empty() {
        eprintln!("jj: counted: {}", notes.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::common_framing;
    use jj_plugin_api::{ByteCheck, StreamFraming};

    #[test]
    fn a_framing_applies_only_when_every_stream_reader_declares_it() {
        let a = StreamFraming::records(5, 3, 2).check(0, ByteCheck::one_of(0, &[22]));
        let b = StreamFraming::records(2, 0, 2);
        assert_eq!(common_framing(&[]), None, "no stream readers");
        assert_eq!(common_framing(&[Some(a)]), Some(a));
        assert_eq!(common_framing(&[Some(a), Some(a)]), Some(a));
        assert_eq!(
            common_framing(&[Some(a), None]),
            None,
            "one reads whole streams"
        );
        assert_eq!(common_framing(&[None, Some(a)]), None);
        assert_eq!(common_framing(&[Some(a), Some(b)]), None, "two framings");
    }
}
