//! The option set: config file + flags, column dropping, renaming, unknown names.
use jj_tests::*;

fn sample() -> String {
    workspace()
        .join("resources/samples/sample.pcap")
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn config_file_values_apply_and_flags_override_them() {
    let dir = scratch("config-file");
    let cfg = dir.join("jj.toml");
    std::fs::write(
        &cfg,
        "feature = [\"duration\", \"src_ip\"]\nno_ips = true\nformat = \"jsonl\"\n",
    )
    .unwrap();
    let o = jj(&["extract", &sample(), "-c", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = stdout(&o).lines().next().unwrap().to_string();
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        vec!["duration"],
        "no_ips drops src_ip even when selected"
    );
    // flag overrides the file's format
    let o = jj(&[
        "extract",
        &sample(),
        "-c",
        cfg.to_str().unwrap(),
        "-f",
        "csv",
    ]);
    assert_eq!(stdout(&o).lines().next(), Some("duration"));
}

#[test]
fn unknown_config_keys_and_bad_values_are_rejected_naming_the_file() {
    let dir = scratch("bad-config");
    let cfg = dir.join("bad.toml");
    std::fs::write(&cfg, "timeuot = 5\n").unwrap();
    let o = jj(&["extract", &sample(), "-c", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("bad.toml") && err.contains("timeuot"), "{err}");
    assert!(err.contains("line 1, column 1"), "{err}");
    assert!(err.contains("did you mean 'timeout'?"), "{err}");

    // a misspelt key in a plugin table: every bundled component declares its options
    std::fs::write(&cfg, "[plugins.tls]\ntls_stream_bytez = 4096\n").unwrap();
    let o = jj(&["extract", &sample(), "-c", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("bad.toml: [plugins.tls] tls_stream_bytez: no loaded plugin reads an option of that name; did you mean 'tls_stream_bytes'?"),
        "{err}"
    );
    std::fs::write(&cfg, "[plugins.tls]\ntls_stream_bytes = 4096\n").unwrap();
    let o = jj(&["extract", &sample(), "-c", cfg.to_str().unwrap(), "-o", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));

    std::fs::write(&cfg, "timeout = -1.0\n").unwrap();
    let o = jj(&["extract", &sample(), "-c", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--timeout must be"), "{}", stderr(&o));

    let o = jj(&["extract", &sample(), "--compat", "nfstream"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown --compat mode 'nfstream'"));

    let o = jj(&["extract", &sample(), "--bogus-flag"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn no_ports_and_bidir_split_change_the_columns() {
    let o = jj(&[
        "extract",
        &sample(),
        "--no-ports",
        "--features",
        "flow_meta",
    ]);
    let header = stdout(&o).lines().next().unwrap().to_string();
    for gone in [
        "src_port",
        "dst_port",
        "dst_port_class",
        "dst_port_class_num",
    ] {
        assert!(
            !header.split(',').any(|c| c == gone),
            "{gone} still in {header}"
        );
    }
    assert!(header.contains("src_ip"));
    let o = jj(&[
        "extract",
        &sample(),
        "--bidir-split",
        "--feature",
        "total_bytes",
        "--feature",
        "duration",
    ]);
    assert_eq!(
        stdout(&o).lines().next(),
        Some("duration,total_total_bytes")
    );
}

#[test]
fn compat_mode_splits_tcp_connections_at_the_first_fin() {
    let default = jj(&["extract", &sample(), "--feature", "protocol"]);
    let compat = jj(&[
        "extract",
        &sample(),
        "--feature",
        "protocol",
        "--compat",
        "joyfuljay",
    ]);
    assert!(compat.status.success(), "{}", stderr(&compat));
    let n_default = stdout(&default).lines().count();
    let n_compat = stdout(&compat).lines().count();
    // every gracefully closed connection leaves JoyfulJay's extra FIN/ACK flows
    assert!(
        n_compat > n_default,
        "compat {n_compat} rows vs default {n_default}"
    );
}

#[test]
fn two_pass_groups_run_when_asked_for() {
    let header = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["extract", "-o", "-", "-f", "csv"];
        let s = sample();
        args.insert(1, &s);
        args.extend_from_slice(extra);
        let o = jj(&args);
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        csv_rows(&stdout(&o)).0
    };
    let has_conn = |h: &[String]| h.iter().any(|c| c.starts_with("conn_"));
    let plain = header(&[]);
    assert!(
        plain.iter().any(|c| c == "ja3_hash") && !has_conn(&plain),
        "default: every single-pass feature, no connection graph: {plain:?}"
    );
    let all = header(&["--features", "all"]);
    assert!(has_conn(&all) && all.len() > plain.len());
    assert!(all.iter().all(|c| c != "all"));
    let conn = header(&["--features", "connection"]);
    assert!(conn.iter().all(|c| c.starts_with("conn_")), "{conn:?}");
    let compat = header(&["--compat", "joyfuljay"]);
    assert!(has_conn(&compat), "JoyfulJay's default includes its graph");
}
