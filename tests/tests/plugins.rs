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
        v2_line.contains("2.0.0") && v2_line.contains("1.0.0"),
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
