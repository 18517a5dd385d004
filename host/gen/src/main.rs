//! `jj-gen`: write a deterministic synthetic capture.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use jj_gen::{generate, parse_size, GenConfig, Mix, Mode, OutFormat};

/// Write a deterministic, realistic synthetic capture (Ethernet pcap/pcapng).
///
/// Examples:
///   jj-gen -o sample.pcap             (100 flows, roughly 5-10 MB)
///   jj-gen -o big.pcap --size 500MB
///   jj-gen -o flood.pcap --syn-flood 1000000
///   jj-gen -o corpus.pcap --replay ~/captures --repeat 8   (real traffic, end to end)
#[derive(Parser, Debug)]
#[command(name = "jj-gen", version, verbatim_doc_comment)]
struct Cli {
    /// Output file, or `-` for standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: String,

    /// Seed: the same options and seed give byte-identical output.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Number of flows (ignored with --size).
    #[arg(long, default_value_t = 100)]
    flows: u64,

    /// Stop at about this file size: 500MB, 2GB, 64MiB, ... (K/M/G decimal, KiB/MiB/GiB binary).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    size: Option<u64>,

    /// Flows in progress at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,

    /// Flow mix, e.g. tcp=0.3,tls=0.4,dns=0.2,udp=0.05,rst=0.03,icmp=0.02 (unnamed kinds get 0).
    #[arg(long, value_name = "SPEC")]
    mix: Option<Mix>,

    /// Share of flows over IPv6.
    #[arg(long = "ipv6", value_name = "SHARE", default_value_t = 0.1)]
    ipv6: f64,

    /// Share of flows with 802.1Q-tagged frames.
    #[arg(long = "vlan", value_name = "SHARE", default_value_t = 0.05)]
    vlan: f64,

    /// Output format: pcap (microseconds), pcap-ns (nanoseconds) or pcapng.
    #[arg(long, default_value = "pcap")]
    format: OutFormat,

    /// Snap length: longer frames are truncated.
    #[arg(long, default_value_t = jj_gen::pcap::DEFAULT_SNAPLEN)]
    snaplen: u32,

    /// Capture start time, nanoseconds since the Unix epoch.
    #[arg(long, value_name = "NS", default_value_t = 1_700_000_000_000_000_000)]
    start_ns: i64,

    /// Instead: N SYN-only flows from distinct client address/port pairs (N packets).
    #[arg(long, value_name = "N", conflicts_with_all = ["single_flow", "size"])]
    syn_flood: Option<u64>,

    /// Instead: one TCP connection with N data packets both ways, then a FIN close.
    #[arg(long, value_name = "N", conflicts_with_all = ["syn_flood", "size"])]
    single_flow: Option<u64>,

    /// Instead: the Ethernet frames of these captures (files, or directories searched
    /// recursively), one after the other an hour apart, into a nanosecond pcap.
    #[arg(long, value_name = "PATH", num_args = 1.., conflicts_with_all = ["syn_flood", "single_flow", "size"])]
    replay: Vec<std::path::PathBuf>,

    /// With --replay: write the whole list this many times (later copies an hour apart).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "replay")]
    repeat: u32,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !cli.replay.is_empty() {
        return replay_main(&cli);
    }
    let cfg = GenConfig {
        seed: cli.seed,
        flows: cli.flows,
        target_bytes: cli.size,
        concurrency: cli.concurrency,
        mix: cli.mix.unwrap_or_default(),
        ipv6_share: cli.ipv6,
        vlan_share: cli.vlan,
        start_ts_ns: cli.start_ns,
        format: cli.format,
        snaplen: cli.snaplen,
        mode: match (cli.syn_flood, cli.single_flow) {
            (Some(flows), _) => Mode::SynFlood { flows },
            (_, Some(packets)) => Mode::SingleFlow { packets },
            _ => Mode::Mixed,
        },
    };
    let started = Instant::now();
    let result = if cli.output == "-" {
        let stdout = io::stdout();
        let lock = stdout.lock();
        generate(&cfg, lock)
    } else {
        File::create(&cli.output).and_then(|f| {
            let s = generate(&cfg, &f)?;
            (&f).flush()?;
            Ok(s)
        })
    };
    match result {
        Ok(s) => {
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            let mb = s.bytes as f64 / 1e6;
            eprintln!(
                "jj-gen: {} packets, {:.1} MB, {} flows ({}) in {:.2} s, {:.0} MB/s -> {}",
                s.packets,
                mb,
                s.flows,
                s.by_kind,
                secs,
                mb / secs,
                cli.output
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("jj-gen: {}: {e}", cli.output);
            ExitCode::FAILURE
        }
    }
}

fn replay_main(cli: &Cli) -> ExitCode {
    let started = Instant::now();
    let files = match jj_gen::replay::input_files(&cli.replay) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("jj-gen: --replay: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if cli.output == "-" {
        jj_gen::replay::replay(&files, cli.repeat, cli.start_ns, io::stdout().lock())
    } else {
        File::create(&cli.output).and_then(|f| {
            let s = jj_gen::replay::replay(&files, cli.repeat, cli.start_ns, &f)?;
            (&f).flush()?;
            Ok(s)
        })
    };
    match result {
        Ok(s) => {
            for (p, why) in &s.files_skipped {
                eprintln!("jj-gen: skipped {}: {why}", p.display());
            }
            for (p, why) in &s.files_damaged {
                eprintln!("jj-gen: {} is damaged, used up to: {why}", p.display());
            }
            eprintln!(
                "jj-gen: {} packets, {:.1} MB from {} of {} files x {} ({} frames of other link types skipped) in {:.2} s -> {}",
                s.packets,
                s.bytes as f64 / 1e6,
                s.files_used,
                files.len(),
                cli.repeat.max(1),
                s.frames_skipped,
                started.elapsed().as_secs_f64(),
                cli.output
            );
            if s.packets == 0 {
                eprintln!("jj-gen: no Ethernet frame in the --replay inputs");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("jj-gen: {}: {e}", cli.output);
            ExitCode::FAILURE
        }
    }
}
