//! The runtime schema and profiles as built from the loaded plugins.
use jj_tests::*;

#[test]
fn schema_json_has_joyfuljay_v1_layout_for_the_loaded_features() {
    let o = jj(&["schema", "-f", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["version"], "v1.0");
    let feats = v["features"].as_object().unwrap();
    assert_eq!(v["total_features"].as_u64().unwrap() as usize, feats.len());
    let keys: Vec<&String> = feats.keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "features keyed by id, sorted");
    let f = &feats["flow_meta.duration"];
    let fields: Vec<&String> = f.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        [
            "id",
            "dtype",
            "shape",
            "units",
            "scope",
            "direction",
            "direction_semantics",
            "missing_policy",
            "missing_sentinel",
            "dependencies",
            "privacy_level",
            "description",
            "profile"
        ]
    );
    assert_eq!(f["dtype"], "float64");
    assert_eq!(f["profile"], "JJ-CORE");
    let core = feats.values().filter(|f| f["profile"] == "JJ-CORE").count() as u64;
    assert_eq!(v["profiles"]["JJ-CORE"].as_u64().unwrap(), core);
}

#[test]
fn schema_csv_markdown_and_features_list_every_loaded_feature_in_order() {
    let csv = stdout(&jj(&["schema", "-f", "csv"]));
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,name,group,dtype"));
    let total = total_features();
    assert_eq!(lines.len(), 1 + total);
    assert!(
        lines[1].starts_with("flow_meta.src_ip,src_ip,flow_meta,string"),
        "output order: {}",
        lines[1]
    );
    let md = stdout(&jj(&["schema", "-f", "markdown"]));
    assert!(md.contains("## flow_meta (29 features"));
    assert_eq!(stdout(&jj(&["features"])), md);
}

fn total_features() -> usize {
    let v: serde_json::Value = serde_json::from_slice(&jj(&["schema"]).stdout).unwrap();
    v["total_features"].as_u64().unwrap() as usize
}

#[test]
fn profiles_list_show_and_validate() {
    let v: serde_json::Value = serde_json::from_slice(&jj(&["schema"]).stdout).unwrap();
    // features of the JoyfulJay profile file that the loaded plugins provide
    let core_listed = include_str!("../../resources/profiles/JJ-CORE.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && v["features"].get(l.trim()).is_some())
        .count();
    let core_loaded = v["features"]
        .as_object()
        .unwrap()
        .values()
        .filter(|f| f["profile"] == "JJ-CORE")
        .count();
    assert!(core_loaded >= core_listed);
    let list = stdout(&jj(&["profiles", "list"]));
    let more = core_loaded - core_listed;
    assert!(
        list.contains(&format!(
            "JJ-CORE\t{core_loaded} features loaded: {core_listed} of the 151 listed, {more} more declared by plugins"
        )),
        "{list}"
    );
    assert!(more > 0, "ja4 and ja4s are beyond JoyfulJay's list");
    let show = stdout(&jj(&["profiles", "show", "JJ-CORE"]));
    assert!(show.starts_with("flow_meta (29)"), "{show}");
    let bad = jj(&["profiles", "show", "NOPE"]);
    assert!(!bad.status.success() && stderr(&bad).contains("unknown profile 'NOPE'"));
    let v = jj(&["profiles", "validate"]);
    let out = stdout(&v);
    assert!(v.status.success(), "{out}");
    // groups whose plugins are not installed are noted, not failed
    assert!(
        out.contains("note: JJ-EXTENDED: 148 listed id(s) are not provided"),
        "{out}"
    );
}

#[test]
fn unknown_selectors_and_formats_are_rejected_with_a_clear_message() {
    let pcap = workspace().join("resources/samples/sample.pcap");
    let p = pcap.to_str().unwrap();
    for (args, needle) in [
        (
            vec!["extract", p, "--feature", "no_such_feature"],
            "unknown feature 'no_such_feature'",
        ),
        (
            vec!["extract", p, "--feature", "pkt_len_maen"],
            "unknown feature 'pkt_len_maen'; did you mean 'pkt_len_mean'?",
        ),
        (
            vec!["extract", p, "--features", "nogroup"],
            "unknown feature group 'nogroup'",
        ),
        (
            vec!["extract", p, "--profile", "JJ-NOPE"],
            "unknown profile 'JJ-NOPE'",
        ),
        (
            vec!["extract", p, "-f", "xlsx"],
            "unknown output format 'xlsx'",
        ),
        (
            vec!["extract", "/nonexistent.pcap"],
            "/nonexistent.pcap: no such file, and no capture backend can open it",
        ),
    ] {
        let o = jj(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    // a non-capture file is refused naming the file
    let dir = scratch("not-a-capture");
    let f = dir.join("notes.pcap");
    std::fs::write(&f, "hello, this is text").unwrap();
    let o = jj(&["extract", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("notes.pcap") && stderr(&o).contains("not a pcap or pcapng file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_shipped_sample_extracts_with_a_feature_selection() {
    let pcap = workspace().join("resources/samples/sample.pcap");
    let o = jj(&[
        "extract",
        pcap.to_str().unwrap(),
        "-o",
        "-",
        "--feature",
        "duration",
        "--feature",
        "flow_meta.protocol",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (h, rows) = csv_rows(&stdout(&o));
    assert_eq!(
        h,
        vec!["protocol", "duration"],
        "output order, not argument order"
    );
    assert_eq!(rows.len(), 40);
}
