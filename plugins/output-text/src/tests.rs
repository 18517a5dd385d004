//! Exact-text tests of both formats and of the temporary-file behaviour.
//!
//! Every expected text below was produced with Python 3.11 and pasted here, so it is an
//! independent reference: CSV with `csv.writer(f, lineterminator="\n")` writing each
//! row with lists replaced by `json.dumps(list)`, JSON Lines with
//! `json.dumps(dict(zip(columns, row)))` (float texts are Python's `repr`).

use crate::{CsvFactory, JsonlFactory, TextWriter};
use jj_plugin_api::{
    abi_stable::std_types::{RSlice, RVec},
    ErrorKind, Options, PluginResult, RowBatch, Schema, WriteSummary, Writer, WriterFactory,
};
use jj_writer_util::{OwnedColumn, OwnedColumns};
use std::path::Path;

// ---- building schemas and batches by hand (`jj_writer_util::OwnedColumn`) ----

fn schema_of(cols: &[OwnedColumn]) -> Schema {
    cols.schema()
}

/// Writes `cols` as one batch.
fn write(w: &mut TextWriter, cols: &[OwnedColumn]) -> PluginResult<()> {
    cols.with_batch(|b| w.write_batch(b))
}

/// How a test opens a writer on a target.
type OpenFn = dyn Fn(&str, &Schema) -> PluginResult<TextWriter>;

// ---- temporary directories ----

use jj_writer_util::ScratchDir as TempDir;

fn open(factory: &OpenFn, target: &Path, schema: &Schema) -> TextWriter {
    factory(target.to_str().unwrap(), schema).unwrap()
}

fn csv_open(target: &str, schema: &Schema) -> PluginResult<TextWriter> {
    CsvFactory.open("csv", target, schema, &Options::new())
}

fn jsonl_open(target: &str, schema: &Schema) -> PluginResult<TextWriter> {
    JsonlFactory.open("jsonl", target, schema, &Options::new())
}

/// Writes the batches through a fresh writer into a temp file and returns its text.
fn render(factory: &OpenFn, batches: &[&[OwnedColumn]]) -> String {
    let dir = TempDir::new();
    let path = dir.path("out");
    let schema = schema_of(batches[0]);
    let mut w = open(factory, &path, &schema);
    for b in batches {
        write(&mut w, b).unwrap();
    }
    w.finish().unwrap();
    String::from_utf8(std::fs::read(&path).unwrap()).unwrap()
}

// ---- the data set covering every dtype ----

const INF: f64 = f64::INFINITY;
const NAN: f64 = f64::NAN;

fn all_dtypes() -> Vec<OwnedColumn> {
    vec![
        OwnedColumn::ints("flow_id", &[Some(1), Some(-42), None, Some(i64::MAX)]),
        OwnedColumn::floats("duration", &[Some(0.1), Some(1e-5), None, Some(60.0)]),
        OwnedColumn::floats("rate", &[Some(INF), Some(-INF), Some(NAN), Some(0.1 + 0.2)]),
        OwnedColumn::floats(
            "big",
            &[
                Some(1.5e16),
                Some(123456789012345.0),
                Some(-0.0),
                Some(5e-324),
            ],
        ),
        OwnedColumn::bools("is_tls", &[Some(true), Some(false), None, Some(true)]),
        OwnedColumn::strs(
            "sni",
            &[
                Some("example.com"),
                Some("h2,http/1.1"),
                None,
                Some("say \"hi\"\nbye"),
            ],
        ),
        OwnedColumn::strs(
            "label",
            &[
                Some("café 😀"),
                Some(""),
                Some("tab\there"),
                Some("ctrl\u{1}"),
            ],
        ),
        OwnedColumn::float_lists(
            "iat",
            &[
                Some(&[0.01, 0.02]),
                Some(&[]),
                None,
                Some(&[1e-5, INF, NAN, -INF]),
            ],
        ),
        OwnedColumn::int_lists(
            "sizes",
            &[Some(&[60, 1500, -1]), Some(&[7]), Some(&[]), None],
        ),
    ]
}

// Python: csv.writer(f, lineterminator="\n"), header + the four rows of `all_dtypes`.
const ALL_DTYPES_CSV: &str = "flow_id,duration,rate,big,is_tls,sni,label,iat,sizes\n\
1,0.1,inf,1.5e+16,True,example.com,café 😀,\"[0.01, 0.02]\",\"[60, 1500, -1]\"\n\
-42,1e-05,-inf,123456789012345.0,False,\"h2,http/1.1\",,[],[7]\n\
,,nan,-0.0,,,tab\there,,[]\n\
9223372036854775807,60.0,0.30000000000000004,5e-324,True,\"say \"\"hi\"\"\nbye\",ctrl\x01,\"[1e-05, Infinity, NaN, -Infinity]\",\n";

// Python: json.dumps(dict(zip(columns, row))) for the four rows of `all_dtypes`.
const ALL_DTYPES_JSONL: [&str; 4] = [
    r#"{"flow_id": 1, "duration": 0.1, "rate": Infinity, "big": 1.5e+16, "is_tls": true, "sni": "example.com", "label": "caf\u00e9 \ud83d\ude00", "iat": [0.01, 0.02], "sizes": [60, 1500, -1]}"#,
    r#"{"flow_id": -42, "duration": 1e-05, "rate": -Infinity, "big": 123456789012345.0, "is_tls": false, "sni": "h2,http/1.1", "label": "", "iat": [], "sizes": [7]}"#,
    r#"{"flow_id": null, "duration": null, "rate": NaN, "big": -0.0, "is_tls": null, "sni": null, "label": "tab\there", "iat": null, "sizes": []}"#,
    r#"{"flow_id": 9223372036854775807, "duration": 60.0, "rate": 0.30000000000000004, "big": 5e-324, "is_tls": true, "sni": "say \"hi\"\nbye", "label": "ctrl\u0001", "iat": [1e-05, Infinity, NaN, -Infinity], "sizes": null}"#,
];

fn jsonl_text(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

// ---- exact text ----

#[test]
fn csv_every_dtype() {
    assert_eq!(render(&csv_open, &[&all_dtypes()]), ALL_DTYPES_CSV);
}

#[test]
fn jsonl_every_dtype() {
    assert_eq!(
        render(&jsonl_open, &[&all_dtypes()]),
        jsonl_text(&ALL_DTYPES_JSONL)
    );
}

#[test]
fn json_alias_writes_jsonl() {
    let open_json = |t: &str, s: &Schema| JsonlFactory.open("json", t, s, &Options::new());
    assert_eq!(
        render(&open_json, &[&all_dtypes()]),
        jsonl_text(&ALL_DTYPES_JSONL)
    );
}

#[test]
fn several_batches_append() {
    let a = all_dtypes();
    let b = all_dtypes();
    let mut csv_expected = ALL_DTYPES_CSV.to_string();
    csv_expected.push_str(ALL_DTYPES_CSV.split_once('\n').unwrap().1);
    assert_eq!(render(&csv_open, &[&a, &b]), csv_expected);
    let mut lines = ALL_DTYPES_JSONL.to_vec();
    lines.extend_from_slice(&ALL_DTYPES_JSONL);
    assert_eq!(render(&jsonl_open, &[&a, &b]), jsonl_text(&lines));
}

#[test]
fn names_needing_quotes_and_escapes() {
    let cols = vec![
        OwnedColumn::ints("a,b", &[Some(1)]),
        OwnedColumn::floats("q\"x", &[Some(2.5)]),
        OwnedColumn::strs("é", &[None]),
    ];
    // Python: csv.writer header + row [1, 2.5, None]
    assert_eq!(
        render(&csv_open, &[&cols]),
        "\"a,b\",\"q\"\"x\",é\n1,2.5,\n"
    );
    // Python: json.dumps({"a,b": 1, 'q"x': 2.5, "é": None})
    assert_eq!(
        render(&jsonl_open, &[&cols]),
        "{\"a,b\": 1, \"q\\\"x\": 2.5, \"\\u00e9\": null}\n"
    );
}

#[test]
fn single_column_empty_record_is_quoted() {
    let cols = vec![OwnedColumn::strs("only", &[None, Some(""), Some("3")])];
    // Python: csv.writer rows ["only"], [None], [""], ["3"]
    assert_eq!(render(&csv_open, &[&cols]), "only\n\"\"\n\"\"\n3\n");
}

#[test]
fn empty_run_csv_has_header_only_and_jsonl_is_empty() {
    let cols = vec![OwnedColumn::ints("a", &[]), OwnedColumn::floats("b", &[])];
    assert_eq!(render(&csv_open, &[&cols]), "a,b\n");
    assert_eq!(render(&jsonl_open, &[&cols]), "");

    // Without any write_batch call either.
    let dir = TempDir::new();
    let schema = schema_of(&cols);
    for (factory, expected) in [(&csv_open as &OpenFn, "a,b\n"), (&jsonl_open, "")] {
        let path = dir.path("empty");
        let mut w = open(factory, &path, &schema);
        let s = w.finish().unwrap();
        assert_eq!(s, WriteSummary::default());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
    }
}

// ---- summary and malformed batches ----

#[test]
fn summary_counts_rows() {
    let dir = TempDir::new();
    let cols = all_dtypes();
    let mut w = open(&csv_open, &dir.path("s.csv"), &schema_of(&cols));
    write(&mut w, &cols).unwrap();
    write(&mut w, &cols).unwrap();
    let s = w.finish().unwrap();
    assert_eq!(
        s,
        WriteSummary {
            rows_received: 8,
            rows_written: 8,
            rows_failed: 0
        }
    );
    // finish is idempotent; writing afterwards is refused
    assert_eq!(w.finish().unwrap(), s);
    assert!(write(&mut w, &cols).is_err());
}

#[test]
fn malformed_batch_is_rejected_and_counted() {
    let dir = TempDir::new();
    let path = dir.path("m.jsonl");
    let good = vec![OwnedColumn::ints("a", &[Some(1), Some(2)])];
    let mut w = open(&jsonl_open, &path, &schema_of(&good));

    let wrong_type = vec![OwnedColumn::floats("a", &[Some(1.0)])];
    assert_eq!(
        write(&mut w, &wrong_type).unwrap_err().kind,
        ErrorKind::Other
    );
    let too_many = vec![
        OwnedColumn::ints("a", &[Some(1)]),
        OwnedColumn::ints("b", &[Some(1)]),
    ];
    assert!(write(&mut w, &too_many).is_err());
    // num_rows larger than the buffers
    let short = OwnedColumn::ints("a", &[Some(5)]);
    let views = [short.view()];
    let batch = RowBatch {
        num_rows: 3,
        columns: RSlice::from_slice(&views),
    };
    assert!(w.write_batch(&batch).is_err());

    write(&mut w, &good).unwrap();
    let s = w.finish().unwrap();
    assert_eq!(
        s,
        WriteSummary {
            rows_received: 2,
            rows_written: 2,
            rows_failed: 5
        }
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"a\": 1}\n{\"a\": 2}\n"
    );
}

#[test]
fn unknown_format_is_a_config_error() {
    let schema = Schema {
        columns: RVec::new(),
    };
    let e = CsvFactory
        .open("jsonl", "-", &schema, &Options::new())
        .err()
        .unwrap();
    assert_eq!(e.kind, ErrorKind::Config);
    let e = JsonlFactory
        .open("csv", "-", &schema, &Options::new())
        .err()
        .unwrap();
    assert_eq!(e.kind, ErrorKind::Config);
}

#[test]
fn formats_are_listed() {
    let csv = CsvFactory.formats();
    assert_eq!(csv.len(), 1);
    assert_eq!(
        (
            csv[0].name.as_str(),
            csv[0].extension.as_str(),
            csv[0].supports_stdout
        ),
        ("csv", "csv", 1)
    );
    let json = JsonlFactory.formats();
    let names: Vec<&str> = json.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["jsonl", "json"]);
    assert_eq!(json[1].description.as_str(), "JSON Lines (alias of jsonl)");
    assert!(json.iter().all(|f| f.supports_stdout == 1));
}

#[test]
fn root_module_declares_both_writers() {
    let lib = crate::export::jj_plugin_root_module();
    let info = (lib.library())();
    assert_eq!(info.name.as_str(), "jj-output-text");
    let writers = (lib.writers())();
    let names: Vec<&str> = writers.iter().map(|d| d.info.name.as_str()).collect();
    assert_eq!(names, ["csv", "jsonl"]);
    assert!((lib.extractors())().is_empty());
}

// ---- temporary file and error behaviour ----

#[test]
fn final_file_appears_only_on_finish() {
    let dir = TempDir::new();
    let path = dir.path("flows.csv");
    let cols = all_dtypes();
    let mut w = open(&csv_open, &path, &schema_of(&cols));
    let tmp = w.temp_path().unwrap();
    assert_eq!(tmp.parent(), path.parent());
    assert_eq!(
        tmp.file_name().unwrap().to_str().unwrap(),
        format!(".flows.csv.jj-partial-{}", std::process::id())
    );
    write(&mut w, &cols).unwrap();
    assert!(!path.exists());
    assert!(tmp.exists());
    w.finish().unwrap();
    assert!(path.exists());
    assert!(!tmp.exists());
    assert_eq!(dir.entries(), ["flows.csv"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), ALL_DTYPES_CSV);
}

#[test]
fn finish_replaces_an_existing_file() {
    let dir = TempDir::new();
    let path = dir.path("flows.jsonl");
    std::fs::write(&path, "old content\n").unwrap();
    let cols = all_dtypes();
    let mut w = open(&jsonl_open, &path, &schema_of(&cols));
    write(&mut w, &cols).unwrap();
    // the old file stays untouched until the new one is complete
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old content\n");
    w.finish().unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        jsonl_text(&ALL_DTYPES_JSONL)
    );
    assert_eq!(dir.entries(), ["flows.jsonl"]);
}

#[test]
fn abort_removes_the_temporary_file() {
    let dir = TempDir::new();
    let path = dir.path("a.csv");
    let cols = all_dtypes();
    let mut w = open(&csv_open, &path, &schema_of(&cols));
    let tmp = w.temp_path().unwrap();
    write(&mut w, &cols).unwrap();
    w.abort();
    assert!(!tmp.exists());
    assert!(!path.exists());
    assert!(dir.entries().is_empty());
    assert!(w.finish().is_err());
    assert!(write(&mut w, &cols).is_err());
}

#[test]
fn drop_without_finish_removes_the_temporary_file() {
    let dir = TempDir::new();
    let path = dir.path("d.jsonl");
    let cols = all_dtypes();
    let mut w = open(&jsonl_open, &path, &schema_of(&cols));
    let tmp = w.temp_path().unwrap();
    write(&mut w, &cols).unwrap();
    assert!(tmp.exists());
    drop(w);
    assert!(!tmp.exists());
    assert!(!path.exists());
    assert!(dir.entries().is_empty());
}

#[test]
fn two_writers_on_one_target_get_distinct_temporary_files() {
    let dir = TempDir::new();
    let path = dir.path("same.csv");
    let cols = all_dtypes();
    let w1 = open(&csv_open, &path, &schema_of(&cols));
    let w2 = open(&csv_open, &path, &schema_of(&cols));
    assert_ne!(w1.temp_path(), w2.temp_path());
    drop((w1, w2));
    assert!(dir.entries().is_empty());
}

#[test]
fn missing_directory_is_an_io_error_naming_the_path() {
    let dir = TempDir::new();
    let path = dir.path("no-such-dir").join("out.csv");
    let schema = schema_of(&all_dtypes());
    for open_fn in [&csv_open as &OpenFn, &jsonl_open] {
        let e = open_fn(path.to_str().unwrap(), &schema).err().unwrap();
        assert_eq!(e.kind, ErrorKind::Io);
        assert!(
            e.message.as_str().contains(path.to_str().unwrap()),
            "{}",
            e.message
        );
        assert!(
            e.message.as_str().contains("does not exist"),
            "{}",
            e.message
        );
    }
}

#[test]
fn directory_or_file_parent_as_target_is_an_error_naming_the_path() {
    let dir = TempDir::new();
    let schema = schema_of(&all_dtypes());
    // the target is an existing directory
    let e = csv_open(dir.0.to_str().unwrap(), &schema).err().unwrap();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(
        e.message.as_str().contains(dir.0.to_str().unwrap()),
        "{}",
        e.message
    );
    // the parent is a regular file
    let file = dir.path("plain");
    std::fs::write(&file, "").unwrap();
    let target = file.join("out.csv");
    let e = csv_open(target.to_str().unwrap(), &schema).err().unwrap();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(
        e.message.as_str().contains(target.to_str().unwrap()),
        "{}",
        e.message
    );
}

#[cfg(unix)]
#[test]
fn failure_in_finish_is_an_io_error_naming_the_path() {
    // The directory disappears while the file is open (allowed on Unix): the buffered
    // writes and the fsync still succeed, the rename in `finish` fails.
    let dir = TempDir::new();
    let sub = dir.path("sub");
    std::fs::create_dir(&sub).unwrap();
    let path = sub.join("gone.csv");
    let cols = all_dtypes();
    let mut w = open(&csv_open, &path, &schema_of(&cols));
    write(&mut w, &cols).unwrap();
    std::fs::remove_dir_all(&sub).unwrap();
    let e = w.finish().err().unwrap();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(
        e.message.as_str().contains(path.to_str().unwrap()),
        "{}",
        e.message
    );
    assert!(w.finish().is_err());
}

#[test]
fn broken_pipe_message_names_the_target() {
    let e = crate::target::write_error(
        "standard output",
        &std::io::Error::from(std::io::ErrorKind::BrokenPipe),
    );
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(
        e.message
            .as_str()
            .starts_with("cannot write to standard output: "),
        "{}",
        e.message
    );
    assert!(
        e.message.as_str().contains("pipe was closed"),
        "{}",
        e.message
    );
}

#[test]
fn write_error_is_an_io_error_and_poisons_the_writer() {
    let cols = all_dtypes();
    let schema = schema_of(&cols);
    // Room for the header and a little more: the first batch fails part-way.
    let sink = crate::target::Sink::Failing(ALL_DTYPES_CSV.find('\n').unwrap() + 1 + 10);
    let mut w = TextWriter::with_sink(crate::encode::TextFormat::Csv, sink, &schema).unwrap();
    let e = write(&mut w, &cols).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(
        e.message.as_str().contains("failing-target"),
        "{}",
        e.message
    );
    assert!(
        e.message.as_str().contains("No space left"),
        "{}",
        e.message
    );
    assert_eq!(write(&mut w, &cols).unwrap_err().kind, ErrorKind::Io);
    assert_eq!(w.finish().unwrap_err().kind, ErrorKind::Io);
    w.abort();
}
