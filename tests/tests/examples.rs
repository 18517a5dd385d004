//! The third-party examples, built outside the main workspace and loaded into the
//! unchanged `jj` binary through `--plugin-dir`.
use jj_tests::*;
use std::process::Command;

#[test]
fn rust_and_c_examples_add_their_columns_to_output_and_schema() {
    let plugin_dir = scratch("example-plugins");
    // Rust example: its own Cargo workspace, depending on plugin-api by path.
    let release = cargo_build_outside(
        &workspace().join("examples/rust-extractor/Cargo.toml"),
        "rust-example",
        None,
    );
    std::fs::copy(
        release.join("libjj_example_rust_extractor.so"),
        plugin_dir.join("libjj_example_rust_extractor.so"),
    )
    .expect("rust example library");
    // C example: one .c file plus the header.
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(cc)
        .args(["-shared", "-fPIC", "-O2", "-I"])
        .arg(workspace().join("plugin-api/include"))
        .arg("-o")
        .arg(plugin_dir.join("libjj_example_c.so"))
        .arg(workspace().join("examples/c-extractor/example.c"))
        .status()
        .expect("run cc");
    assert!(status.success(), "cc failed");

    let dir = plugin_dir.to_str().unwrap();
    let plugins = jj(&["--plugin-dir", dir, "--strict", "plugins"]);
    assert!(plugins.status.success(), "{}", stderr(&plugins));
    let listing = stdout(&plugins);
    assert!(
        listing.contains("example_rust") && listing.contains("example_c"),
        "{listing}"
    );

    // schema with and without the examples
    let without = jj(&["schema", "-f", "json"]);
    let with = jj(&["--plugin-dir", dir, "schema", "-f", "json"]);
    let a: serde_json::Value = serde_json::from_slice(&without.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&with.stdout).unwrap();
    let fa = a["features"].as_object().unwrap();
    let fb = b["features"].as_object().unwrap();
    let added: Vec<&String> = fb.keys().filter(|k| !fa.contains_key(*k)).collect();
    let mut added_sorted: Vec<&str> = added.iter().map(|s| s.as_str()).collect();
    added_sorted.sort();
    assert_eq!(
        added_sorted,
        vec![
            "example_c.exc_mean_payload",
            "example_c.exc_syn_count",
            "example_rust.ex_fwd_bwd_packet_diff",
            "example_rust.ex_max_ttl"
        ]
    );
    assert_eq!(
        b["total_features"].as_u64().unwrap(),
        a["total_features"].as_u64().unwrap() + 4
    );
    for k in fa.keys() {
        assert_eq!(fa[k], fb[k], "existing schema entries unchanged: {k}");
    }

    // the columns appear in the output with values
    let pcap = generated_capture(300);
    let out = jj(&[
        "--plugin-dir",
        dir,
        "extract",
        pcap.to_str().unwrap(),
        "-o",
        "-",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (header, rows) = csv_rows(&stdout(&out));
    let col = |n: &str| {
        header
            .iter()
            .position(|h| h == n)
            .unwrap_or_else(|| panic!("column {n} missing"))
    };
    let (fwd, bwd, diff, syn, flags) = (
        col("packets_fwd"),
        col("packets_bwd"),
        col("ex_fwd_bwd_packet_diff"),
        col("exc_syn_count"),
        col("flow_stat"),
    );
    assert!(!rows.is_empty());
    for r in &rows {
        let f: i64 = r[fwd].parse().unwrap();
        let b: i64 = r[bwd].parse().unwrap();
        assert_eq!(r[diff].parse::<i64>().unwrap(), f - b);
        let flow_stat: i64 = r[flags].parse().unwrap();
        // a flow whose initiator sent a SYN has at least one SYN
        if flow_stat & 0x01 != 0 {
            assert!(r[syn].parse::<i64>().unwrap() >= 1);
        }
    }

    // Both examples declare their options (the C one through C ABI 1.1), so a misspelt
    // config-file key is refused, and the C example's own option changes its column.
    assert!(
        listing.lines().any(|l| l
            .split_whitespace()
            .take(2)
            .eq(["example_c", "exc_count_synack"])),
        "{listing}"
    );
    let with_config = |name: &str, text: &str| {
        let cfg = plugin_dir.join(name);
        std::fs::write(&cfg, text).unwrap();
        let (pcap, cfg) = (pcap.to_str().unwrap(), cfg.to_str().unwrap());
        jj(&["--plugin-dir", dir, "extract", pcap, "-o", "-", "-c", cfg])
    };
    let refused = with_config(
        "typo.toml",
        "[plugins.example_c]\nexc_count_synak = false\n",
    );
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("exc_count_synak: no loaded plugin reads an option of that name; did you mean 'exc_count_synack'?"),
        "{}",
        stderr(&refused)
    );
    let syn_only = with_config(
        "syn-only.toml",
        "[plugins.example_c]\nexc_count_synack = false\n",
    );
    assert!(syn_only.status.success(), "{}", stderr(&syn_only));
    let (h3, rows3) = csv_rows(&stdout(&syn_only));
    assert_eq!(h3, header);
    assert_eq!(rows3.len(), rows.len());
    let synacks_left_out = rows.iter().zip(&rows3).filter(|(a, b)| {
        let (all, pure): (i64, i64) = (a[syn].parse().unwrap(), b[syn].parse().unwrap());
        assert!(pure <= all, "{pure} > {all}");
        pure < all
    });
    assert!(
        synacks_left_out.count() > 0,
        "the generated capture has SYN+ACKs"
    );

    // removing the libraries removes the columns
    let plain = jj(&["extract", pcap.to_str().unwrap(), "-o", "-"]);
    let (h2, _) = csv_rows(&stdout(&plain));
    assert_eq!(h2.len() + 4, header.len());
}
