//! Plugin loading as users meet it: default plugins next to the binary, junk and foreign
//! files in a plugin directory, libraries built against another plugin-api, a panicking
//! extractor.
use jj_tests::*;
use std::path::PathBuf;

fn fixture_lib(package: &str, target: &str) -> PathBuf {
    let manifest = workspace().join("tests/fixtures/plugins/Cargo.toml");
    // Each fixture in its own build, so cargo's feature unification cannot mix them.
    let dir = cargo_build_outside(&manifest, target, Some(package));
    dir.join(format!("lib{}.so", package.replace('-', "_")))
}

#[test]
fn default_plugins_load_from_the_executable_directory() {
    let out = jj(&["plugins"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "file",
        "capture",
        "flow_meta",
        "extractor",
        "csv",
        "jsonl",
        "writer",
    ] {
        assert!(
            text.contains(needle),
            "`jj plugins` lacks {needle}:\n{text}"
        );
    }
    // flow_meta has 29 features
    let line = text
        .lines()
        .find(|l| l.contains("flow_meta"))
        .expect("flow_meta row");
    assert!(line.split_whitespace().any(|w| w == "29"), "{line}");
    // tls declares how it reads TCP streams (plugin-api 1.3, through `jj_plugin_ext_v2`);
    // flow_meta reads none.
    let tls = text.lines().find(|l| l.contains(" tls ")).expect("tls row");
    assert!(
        tls.contains("[TCP streams read as 5-byte-header records]"),
        "{tls}"
    );
    assert!(!line.contains("TCP streams"), "{line}");
}

#[test]
fn junk_and_foreign_files_get_one_reason_each() {
    let dir = scratch("junk-plugins");
    std::fs::write(dir.join("notes.txt"), "not a library").unwrap();
    std::fs::write(dir.join("fake.so"), [0x7f, b'E', b'L', b'F', 0, 0, 0, 0]).unwrap();
    // a real shared library that is not a jj plugin
    let foreign = [
        "/lib/x86_64-linux-gnu/libz.so.1",
        "/usr/lib/x86_64-linux-gnu/libz.so.1",
    ]
    .iter()
    .find(|p| std::path::Path::new(p).exists())
    .copied();
    if let Some(f) = foreign {
        std::fs::copy(f, dir.join("libz.so")).unwrap();
    }
    let out = jj(&["--plugin-dir", dir.to_str().unwrap(), "plugins"]);
    assert!(
        out.status.success(),
        "jj must go on without bad files: {}",
        stderr(&out)
    );
    let err = stderr(&out);
    let expected = 2 + foreign.is_some() as usize;
    let skipped: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("jj: skipped "))
        .collect();
    assert_eq!(skipped.len(), expected, "one line per bad file:\n{err}");
    assert!(skipped
        .iter()
        .any(|l| l.contains("notes.txt") && l.contains("not a loadable shared library")));
    if foreign.is_some() {
        assert!(
            skipped
                .iter()
                .any(|l| l.contains("libz.so") && l.contains("not a jj plugin")),
            "{err}"
        );
    }
    // the default plugins still work
    assert!(stdout(&out).contains("flow_meta"));

    let strict = jj(&["--plugin-dir", dir.to_str().unwrap(), "--strict", "plugins"]);
    assert!(
        !strict.status.success(),
        "--strict must fail on bad plugin files"
    );
}

#[test]
fn incompatible_plugin_api_versions_and_layouts_are_refused() {
    let dir = scratch("incompatible-plugins");
    let v2 = fixture_lib("jj-fixture-v2", "fixture-v2");
    let layout = fixture_lib("jj-fixture-layout", "fixture-layout");
    std::fs::copy(&v2, dir.join("libjj_fixture_v2.so")).unwrap();
    std::fs::copy(&layout, dir.join("libjj_fixture_layout.so")).unwrap();
    let out = jj(&["--plugin-dir", dir.to_str().unwrap(), "plugins"]);
    assert!(out.status.success());
    let err = stderr(&out);
    let v2_line = err
        .lines()
        .find(|l| l.contains("libjj_fixture_v2.so"))
        .expect("v2 reason");
    assert!(
        v2_line.contains("2.0.0") && v2_line.contains(jj_plugin_api::API_VERSION),
        "expected vs found version: {v2_line}"
    );
    let layout_line = err
        .lines()
        .find(|l| l.contains("libjj_fixture_layout.so"))
        .expect("layout reason");
    assert!(
        layout_line.contains("ComponentInfo"),
        "first layout mismatch named: {layout_line}"
    );
    assert!(
        layout_line.len() < 400,
        "short reason, not abi_stable's full report: {layout_line}"
    );
    assert!(
        !stdout(&out).contains("fixture_"),
        "incompatible components must not be listed"
    );
}

#[test]
fn a_panicking_extractor_nulls_only_its_own_columns() {
    let dir = scratch("panic-plugin");
    let lib = fixture_lib("jj-fixture-panic", "fixture-panic");
    std::fs::copy(&lib, dir.join("libjj_fixture_panic.so")).unwrap();
    let pcap = generated_capture(300);
    let base = jj(&[
        "extract",
        pcap.to_str().unwrap(),
        "-o",
        "-",
        "--threads",
        "1",
    ]);
    assert!(base.status.success(), "{}", stderr(&base));
    let with = jj(&[
        "--plugin-dir",
        dir.to_str().unwrap(),
        "extract",
        pcap.to_str().unwrap(),
        "-o",
        "-",
        "--threads",
        "2",
    ]);
    assert!(
        with.status.success(),
        "a plugin panic must not stop the run: {}",
        stderr(&with)
    );
    let (h0, r0) = csv_rows(&stdout(&base));
    let (h1, r1) = csv_rows(&stdout(&with));
    assert_eq!(r0.len(), r1.len(), "same flows");
    let col = h1
        .iter()
        .position(|c| c == "fx_panic")
        .expect("fixture column");
    let pk = h1
        .iter()
        .position(|c| c == "total_packets")
        .expect("total_packets");
    let mut panicked = 0;
    for (a, b) in r0.iter().zip(&r1) {
        // every other column unchanged
        let mut b_rest = b.clone();
        b_rest.remove(col);
        assert_eq!(a, &b_rest);
        let n: u64 = b[pk].parse().unwrap();
        if n % 2 == 1 {
            assert_eq!(b[col], "", "odd flows panic: null column");
            panicked += 1;
        } else {
            assert_eq!(b[col], n.to_string());
        }
    }
    assert_eq!(h0.len() + 1, h1.len());
    assert!(panicked > 0, "the capture must contain odd flows");
    let err = stderr(&with);
    assert!(
        err.contains(&format!("failed on {panicked} flow(s) ({panicked} panics)")),
        "the failure count is reported: {err}"
    );
}

/// Runs `jj extract` with the two-pass fixture and flow_meta; returns (header, rows, stderr).
fn two_pass_run(
    plugin_dir: &std::path::Path,
    input: &std::path::Path,
    extra: &[&str],
) -> (Vec<String>, Vec<Vec<String>>, String) {
    let mut args = vec![
        "--plugin-dir",
        plugin_dir.to_str().unwrap(),
        "extract",
        input.to_str().unwrap(),
        "-o",
        "-",
        "--features",
        "flow_meta",
        "--features",
        "fixture_twopass",
    ];
    args.extend_from_slice(extra);
    let o = jj(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let (h, r) = csv_rows(&stdout(&o));
    (h, r, stderr(&o))
}

/// Checks the fixture's second-pass columns against windows worked out here from the
/// output's own flow_meta columns: `windows` lists each window's row indices.
fn check_two_pass(h: &[String], rows: &[Vec<String>], windows: &[Vec<usize>]) -> usize {
    let col = |n: &str| h.iter().position(|c| c == n).expect(n);
    let (flows, index, src_flows, packets) = (
        col("tp_window_flows"),
        col("tp_window_index"),
        col("tp_src_flows"),
        col("tp_packets"),
    );
    let (src, total) = (col("src_ip"), col("total_packets"));
    assert_eq!(windows.iter().map(Vec::len).sum::<usize>(), rows.len());
    let mut failed = 0;
    for w in windows {
        for (pos, &i) in w.iter().enumerate() {
            let r = &rows[i];
            if r[total] == "3" {
                // the fixture panics in `finish_row` on 3-packet flows: its columns are null
                for c in [flows, index, src_flows, packets] {
                    assert_eq!(r[c], "", "row {i}: a failed second pass leaves nulls");
                }
                failed += 1;
                continue;
            }
            let same_src = w.iter().filter(|&&j| rows[j][src] == r[src]).count();
            assert_eq!(
                r[flows],
                w.len().to_string(),
                "row {i}: flows in its window"
            );
            assert_eq!(r[index], pos.to_string(), "row {i}: position in its window");
            assert_eq!(
                r[src_flows],
                same_src.to_string(),
                "row {i}: same-source flows"
            );
            assert_eq!(
                r[packets], r[total],
                "row {i}: first-pass value handed back"
            );
        }
    }
    failed
}

#[test]
fn a_two_pass_extractor_sees_every_flow_of_its_window() {
    let dir = scratch("two-pass-plugin");
    let lib = fixture_lib("jj-fixture-twopass", "fixture-twopass");
    std::fs::copy(&lib, dir.join("libjj_fixture_twopass.so")).unwrap();
    let pcap = generated_capture(300);

    // Default: one window per capture, the same for every thread count.
    let (h, rows, err) = two_pass_run(&dir, &pcap, &["--threads", "1"]);
    let all: Vec<usize> = (0..rows.len()).collect();
    let failed = check_two_pass(&h, &rows, &[all]);
    assert!(failed > 0, "the capture must contain 3-packet flows");
    assert!(
        err.contains(&format!("failed on {failed} flow(s) ({failed} panics)")),
        "second-pass failures are counted: {err}"
    );
    for t in ["2", "3"] {
        let (_, r, _) = two_pass_run(&dir, &pcap, &["--threads", t]);
        assert_eq!(r, rows, "--threads {t} gives the same rows");
    }

    // A row bound: windows of 64 consecutive rows, reported.
    let (h, rows, err) = two_pass_run(&dir, &pcap, &["--graph-window-rows", "64"]);
    let chunks: Vec<Vec<usize>> = (0..rows.len())
        .collect::<Vec<_>>()
        .chunks(64)
        .map(|c| c.to_vec())
        .collect();
    check_two_pass(&h, &rows, &chunks);
    // a window that reached the bound is a cut only if more rows of the capture follow
    let cut = (rows.len() - 1) / 64;
    assert!(
        err.contains(&format!("{cut} of {} graph window(s)", chunks.len())),
        "{err}"
    );

    // Time windows of 1 s of flow end time, in output order.
    let (h, rows, _) = two_pass_run(&dir, &pcap, &["--graph-window", "1", "--threads", "2"]);
    let end = h.iter().position(|c| c == "end_time").unwrap();
    let mut windows: Vec<Vec<usize>> = Vec::new();
    let mut start = f64::NEG_INFINITY;
    for (i, r) in rows.iter().enumerate() {
        let t: f64 = r[end].parse().unwrap();
        if windows.is_empty() || t >= start + 1.0 {
            windows.push(Vec::new());
            start = t.floor();
        }
        windows.last_mut().unwrap().push(i);
    }
    assert!(windows.len() > 3, "the capture spans several seconds");
    check_two_pass(&h, &rows, &windows);

    // Windows never span captures: the same capture twice in one run.
    let two = scratch("two-pass-captures");
    std::fs::copy(&pcap, two.join("a.pcap")).unwrap();
    std::fs::copy(&pcap, two.join("b.pcap")).unwrap();
    let (h, rows, _) = two_pass_run(&dir, &two, &[]);
    let n = rows.len() / 2;
    check_two_pass(&h, &rows, &[(0..n).collect(), (n..2 * n).collect()]);
}

/// A library whose plugin-api 1.2 extension table (`jj_plugin_ext_v1`) has another layout
/// than the host's: its root module is fine, so it loads and works, without the
/// extensions, and the user gets one line saying so. (Libraries built against 1.0 or 1.1
/// have no table at all and load silently: checked by hand, see docs/plugin-api.md.)
#[test]
fn a_plugin_with_a_changed_extension_table_loads_without_its_extensions() {
    let dir = scratch("ext-layout-plugin");
    let lib = fixture_lib("jj-fixture-ext-layout", "fixture-ext-layout");
    std::fs::copy(&lib, dir.join("libjj_fixture_ext_layout.so")).unwrap();
    let out = jj(&["--plugin-dir", dir.to_str().unwrap(), "plugins"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(
        lines[0].contains("libjj_fixture_ext_layout.so")
            && lines[0].contains("1.2 extensions differ")
            && lines[0].contains("using it without them"),
        "{err}"
    );
    assert!(lines[0].len() < 400, "short: {err}");
    assert!(stdout(&out).contains("fixture_ext_layout"), "listed");
    let pcap = workspace().join("resources/samples/sample.pcap");
    let o = jj(&[
        "--plugin-dir",
        dir.to_str().unwrap(),
        "extract",
        pcap.to_str().unwrap(),
        "-o",
        "-",
        "--feature",
        "fx_ext_layout",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let mut rows = text.lines();
    assert_eq!(rows.next(), Some("fx_ext_layout"));
    assert!(rows.all(|r| r == "7"), "{text}");
}

/// A `[plugins.*]` key no loaded component declares (plugin-api 1.4) is refused when
/// every component declares its options, and only warned about when one does not (the
/// two-pass fixture declares none, so it might read the key).
#[test]
fn an_undeclared_plugin_option_is_refused_unless_an_undeclared_component_may_read_it() {
    let dir = scratch("undeclared-options");
    let lib = fixture_lib("jj-fixture-twopass", "fixture-twopass");
    std::fs::copy(&lib, dir.join("libjj_fixture_twopass.so")).unwrap();
    let cfg = dir.join("knob.toml");
    std::fs::write(&cfg, "[plugins.fixture]\nfixture_knob = 3\n").unwrap();
    let pcap = workspace().join("resources/samples/sample.pcap");
    let run = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend([
            "extract",
            pcap.to_str().unwrap(),
            "-o",
            "-",
            "--features",
            "flow_meta",
            "-c",
            cfg.to_str().unwrap(),
        ]);
        jj(&args)
    };
    let bundled_only = run(&[]);
    assert_eq!(
        bundled_only.status.code(),
        Some(2),
        "{}",
        stderr(&bundled_only)
    );
    let err = stderr(&bundled_only);
    assert!(
        err.contains("knob.toml: [plugins.fixture] fixture_knob: no loaded plugin reads an option of that name"),
        "{err}"
    );
    let with_fixture = run(&["--plugin-dir", dir.to_str().unwrap()]);
    assert!(with_fixture.status.success(), "{}", stderr(&with_fixture));
    let err = stderr(&with_fixture);
    assert!(
        err.contains("jj: warning: config file")
            && err.contains("fixture_knob")
            && err.contains("extractor 'fixture_twopass'"),
        "{err}"
    );
    assert!(!stdout(&with_fixture).is_empty());
    // `jj plugins` shows who declares what
    let listed = stdout(&jj(&["--plugin-dir", dir.to_str().unwrap(), "plugins"]));
    assert!(
        listed.contains("Not declared (plugins built before plugin-api 1.4 or C ABI 1.1, or that leave them undeclared): extractor 'fixture_twopass'"),
        "{listed}"
    );
    assert!(
        listed.lines().any(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.get(..2) == Some(&["tls", "tls_stream_bytes"][..])
        }),
        "{listed}"
    );
}
