//! `jj-kafka-tail BROKERS TOPIC [--expect N] [--idle-ms MS] [--timeout-ms MS]`
//!
//! Reads every partition of TOPIC from the beginning (no consumer group offsets are
//! committed) and prints one line per message on stdout:
//! `PARTITION<TAB>OFFSET<TAB>KEY<TAB>VALUE`, KEY as a JSON string (`null` without key),
//! VALUE as it is. Stops after N messages (`--expect`), after MS milliseconds without a
//! message (`--idle-ms`, default 5000) or after `--timeout-ms` (default 120000) in all,
//! and prints the count on stderr. Used by the end-to-end tests; handy to look at what a
//! sensor produced.
#![deny(unsafe_code)]

use rdkafka::{
    config::ClientConfig,
    consumer::{BaseConsumer, Consumer},
    message::Message,
    Offset, TopicPartitionList,
};
use std::{
    io::Write,
    process::ExitCode,
    time::{Duration, Instant},
};

struct Args {
    brokers: String,
    topic: String,
    expect: Option<u64>,
    idle: Duration,
    timeout: Duration,
}

fn usage() -> ExitCode {
    eprintln!("usage: jj-kafka-tail BROKERS TOPIC [--expect N] [--idle-ms MS] [--timeout-ms MS]");
    ExitCode::from(2)
}

fn parse_args() -> Option<Args> {
    let mut it = std::env::args().skip(1);
    let mut pos = Vec::new();
    let mut a = Args {
        brokers: String::new(),
        topic: String::new(),
        expect: None,
        idle: Duration::from_millis(5000),
        timeout: Duration::from_millis(120_000),
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--expect" => a.expect = Some(it.next()?.parse().ok()?),
            "--idle-ms" => a.idle = Duration::from_millis(it.next()?.parse().ok()?),
            "--timeout-ms" => a.timeout = Duration::from_millis(it.next()?.parse().ok()?),
            _ if arg.starts_with("--") => return None,
            _ => pos.push(arg),
        }
    }
    if pos.len() != 2 {
        return None;
    }
    a.topic = pos.pop()?;
    a.brokers = pos.pop()?;
    let b = a.brokers.trim_start_matches("kafka://").to_string();
    a.brokers = b;
    Some(a)
}

/// A JSON string literal (keys are arbitrary bytes; invalid UTF-8 is replaced).
fn json_string(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn main() -> ExitCode {
    let Some(args) = parse_args() else {
        return usage();
    };
    let consumer: BaseConsumer = match ClientConfig::new()
        .set("bootstrap.servers", &args.brokers)
        .set("group.id", "jj-kafka-tail")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "earliest")
        .create()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("jj-kafka-tail: {e}");
            return ExitCode::FAILURE;
        }
    };
    let md = match consumer
        .client()
        .fetch_metadata(Some(&args.topic), Duration::from_secs(10))
    {
        Ok(md) => md,
        Err(e) => {
            eprintln!(
                "jj-kafka-tail: metadata of {} from {}: {e}",
                args.topic, args.brokers
            );
            return ExitCode::FAILURE;
        }
    };
    let mut tpl = TopicPartitionList::new();
    for t in md.topics().iter().filter(|t| t.name() == args.topic) {
        for p in t.partitions() {
            if let Err(e) = tpl.add_partition_offset(&args.topic, p.id(), Offset::Beginning) {
                eprintln!("jj-kafka-tail: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if tpl.count() == 0 {
        eprintln!(
            "jj-kafka-tail: topic {} has no partitions on {}",
            args.topic, args.brokers
        );
        return ExitCode::FAILURE;
    }
    if let Err(e) = consumer.assign(&tpl) {
        eprintln!("jj-kafka-tail: assign: {e}");
        return ExitCode::FAILURE;
    }
    let started = Instant::now();
    let mut last = Instant::now();
    let mut count = 0u64;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    loop {
        if args.expect.is_some_and(|n| count >= n)
            || last.elapsed() >= args.idle
            || started.elapsed() >= args.timeout
        {
            break;
        }
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Err(e)) => eprintln!("jj-kafka-tail: {e}"),
            Some(Ok(m)) => {
                let key = m.key().map_or_else(|| "null".to_string(), json_string);
                let value = String::from_utf8_lossy(m.payload().unwrap_or_default());
                if writeln!(out, "{}\t{}\t{}\t{}", m.partition(), m.offset(), key, value).is_err() {
                    return ExitCode::FAILURE;
                }
                count += 1;
                last = Instant::now();
            }
        }
    }
    let _ = out.flush();
    eprintln!(
        "jj-kafka-tail: {count} messages from {} on {} in {:.2} s",
        args.topic,
        args.brokers,
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
