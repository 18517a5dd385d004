//! Output is byte-identical whatever the thread count, on a generated capture with many
//! interleaved flows; and the flow table's bounds are visible in the counters.
use jj_tests::*;

#[test]
fn csv_is_identical_for_1_2_and_3_threads() {
    let pcap = generated_capture(3000);
    let mut outs = Vec::new();
    for t in ["1", "2", "3"] {
        let o = jj(&["extract", pcap.to_str().unwrap(), "-o", "-", "--threads", t]);
        assert!(o.status.success(), "{}", stderr(&o));
        outs.push(o.stdout);
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
    let rows = String::from_utf8_lossy(&outs[0]).lines().count() - 1;
    assert!(rows >= 3000, "one row per flow at least: {rows}");
}

#[test]
fn max_flows_evicts_and_counts_identically_for_any_thread_count() {
    let pcap = generated_capture(3000);
    let mut outs = Vec::new();
    for t in ["1", "2"] {
        let o = jj(&[
            "extract",
            pcap.to_str().unwrap(),
            "-o",
            "-",
            "--threads",
            t,
            "--max-flows",
            "32",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("flows evicted (--max-flows)"),
            "evictions are reported: {err}"
        );
        outs.push(o.stdout);
    }
    assert_eq!(outs[0], outs[1]);
}

#[test]
fn json_lines_output_has_one_object_per_flow() {
    let pcap = generated_capture(300);
    let dir = scratch("jsonl");
    let path = dir.join("flows.jsonl");
    let o = jj(&[
        "extract",
        pcap.to_str().unwrap(),
        "-o",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&path).unwrap();
    let csv = jj(&["extract", pcap.to_str().unwrap(), "-o", "-", "-f", "csv"]);
    let csv_rows = String::from_utf8_lossy(&csv.stdout).lines().count() - 1;
    assert_eq!(text.lines().count(), csv_rows);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
        assert!(v.get("src_ip").is_some() && v.get("duration").is_some());
    }
    // no temporary file left behind
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .collect();
    assert_eq!(leftovers.len(), 1, "only the final file remains");
}

/// End of input with thousands of open flows: every worker sends its remaining rows in
/// chunks of 1,024 and the writer merges them; the rows come out as with one thread.
#[test]
fn end_of_input_rows_merge_identically_for_any_thread_count() {
    let dir = scratch("determinism-open-flows");
    let pcap = dir.join("syn-5000.pcap");
    let cfg = jj_gen::GenConfig {
        mode: jj_gen::Mode::SynFlood { flows: 5000 },
        ..Default::default()
    };
    jj_gen::generate(
        &cfg,
        std::io::BufWriter::new(std::fs::File::create(&pcap).unwrap()),
    )
    .unwrap();
    let mut outs = Vec::new();
    for t in ["1", "2", "3", "5"] {
        let o = jj(&[
            "extract",
            pcap.to_str().unwrap(),
            "-o",
            "-",
            "--threads",
            t,
            "--features",
            "flow_meta",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        outs.push(o.stdout);
    }
    let rows = String::from_utf8_lossy(&outs[0]).lines().count() - 1;
    assert_eq!(rows, 5000, "every SYN is a flow still open at the end");
    for (i, o) in outs.iter().enumerate().skip(1) {
        assert!(o == &outs[0], "thread count #{i} differs");
    }
}

/// Runs `jj -q extract PATH -o -` with 1, 2 and 3 threads and checks that the exit code,
/// the messages and the rows are the same; returns the 1-thread run's.
fn same_for_1_2_and_3_threads(
    path: &std::path::Path,
    name: &str,
) -> (Option<i32>, String, Vec<u8>) {
    let run = |threads: &str| {
        let o = jj(&[
            "-q",
            "extract",
            path.to_str().unwrap(),
            "-o",
            "-",
            "--threads",
            threads,
        ]);
        (o.status.code(), stderr(&o), o.stdout)
    };
    let one = run("1");
    for t in ["2", "3"] {
        let other = run(t);
        assert_eq!(one.0, other.0, "{name}: exit code, --threads 1 vs {t}");
        assert_eq!(one.1, other.1, "{name}: messages, --threads 1 vs {t}");
        assert!(one.2 == other.2, "{name}: rows differ, --threads 1 vs {t}");
    }
    one
}

/// Parallel runs read classic pcap in 1 MiB chunks that several workers copy at once
/// (plugin-api 1.2 `open_chunked`); the sequential reader is used with one thread. On a
/// capture damaged inside, across and right at chunk boundaries both must give the same
/// rows, the same one-line error (naming the byte offset) and the same exit code.
#[test]
fn a_damaged_capture_ends_identically_for_any_thread_count() {
    const CHUNK: usize = 1 << 20;
    let full = std::fs::read(generated_capture(100)).unwrap();
    assert!(full.len() > 6 * CHUNK, "several chunks: {}", full.len());
    // Record starts (classic little-endian pcap: 24-byte file header, 16-byte records).
    assert_eq!(&full[..4], &0xa1b2_c3d4u32.to_le_bytes());
    let mut starts = Vec::new();
    let mut at = 24;
    while at + 16 <= full.len() {
        starts.push(at);
        at += 16 + u32::from_le_bytes(full[at + 8..at + 12].try_into().unwrap()) as usize;
    }
    let straddling = |k: usize| {
        let boundary = 24 + k * CHUNK;
        *starts.iter().rev().find(|&&s| s < boundary).unwrap()
    };
    let dir = scratch("chunked-damage");
    let mut variants: Vec<(String, Vec<u8>)> = Vec::new();
    for cut in [
        24 + 2 * CHUNK,         // at a chunk boundary
        24 + 2 * CHUNK + 1,     // just past one
        straddling(3) + 5,      // inside the header of a record crossing a boundary
        straddling(4) + 16 + 3, // inside the body of one
        5 * CHUNK + 12_345,     // anywhere
    ] {
        variants.push((format!("cut-{cut}"), full[..cut].to_vec()));
    }
    for (name, rec) in [
        ("crossing", straddling(2)),
        (
            "after-crossing",
            starts[starts.iter().position(|&s| s == straddling(3)).unwrap() + 1],
        ),
    ] {
        let mut f = full[..6 * CHUNK].to_vec();
        f[rec + 8..rec + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        variants.push((format!("bad-length-{name}"), f));
    }
    variants.push(("whole".into(), full[..6 * CHUNK].to_vec()));
    let mut refused = 0;
    for (name, bytes) in &variants {
        let path = dir.join(format!("{name}.pcap"));
        std::fs::write(&path, bytes).unwrap();
        let one = same_for_1_2_and_3_threads(&path, name);
        if one.0 == Some(1) {
            assert!(one.1.contains("byte offset"), "{name}: {}", one.1);
            refused += 1;
        }
        assert!(
            String::from_utf8_lossy(&one.2).lines().count() > 10,
            "{name}: rows"
        );
    }
    // Every damaged variant except the clean cut at a record boundary fails loudly.
    assert!(refused >= 5, "{refused} of {} refused", variants.len());
}

/// The same for pcapng, whose blocks are parsed in chunk order while workers copy the
/// chunks at once: cut anywhere, or with a block length damaged, the rows, the message
/// and the exit code do not depend on the thread count.
#[test]
fn a_damaged_pcapng_capture_ends_identically_for_any_thread_count() {
    let dir = scratch("chunked-damage-ng");
    let path = dir.join("whole.pcapng");
    let cfg = jj_gen::GenConfig {
        flows: 100,
        format: jj_gen::OutFormat::PcapNg,
        ..Default::default()
    };
    jj_gen::generate(
        &cfg,
        std::io::BufWriter::new(std::fs::File::create(&path).unwrap()),
    )
    .unwrap();
    let full = std::fs::read(&path).unwrap();
    assert!(full.len() > 5 << 20, "several chunks: {}", full.len());
    let mut variants: Vec<(String, Vec<u8>)> = vec![("whole".into(), full.clone())];
    for cut in [(2 << 20) + 100, (3 << 20) + 7, 4_444_444] {
        variants.push((format!("cut-{cut}"), full[..cut].to_vec()));
    }
    // A block length overwritten somewhere past the first megabyte.
    let mut bad = full.clone();
    let mut at = 0;
    while at < (1 << 20) + 12_345 {
        at += u32::from_le_bytes(bad[at + 4..at + 8].try_into().unwrap()) as usize;
    }
    bad[at + 4..at + 8].copy_from_slice(&0x00ff_ff00u32.to_le_bytes());
    variants.push(("bad-length".into(), bad));
    let mut refused = 0;
    for (name, bytes) in &variants {
        let path = dir.join(format!("{name}.pcapng"));
        std::fs::write(&path, bytes).unwrap();
        let one = same_for_1_2_and_3_threads(&path, name);
        refused += (one.0 == Some(1)) as u32;
        assert!(
            String::from_utf8_lossy(&one.2).lines().count() > 10,
            "{name}: rows"
        );
    }
    assert!(refused >= 3, "{refused} of {} refused", variants.len());
}
