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
