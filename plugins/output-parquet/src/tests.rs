//! Round trips through the parquet crate's own Arrow reader, the temporary-file and
//! partitioning behaviour, and (when python3 has pyarrow / duckdb) what other readers see.

use crate::{writer::Out, ParquetFactory, ParquetOptions, ParquetWriter};
use arrow_array::{
    cast::AsArray,
    types::{Float64Type, Int64Type},
    Array, RecordBatch,
};
use arrow_schema::DataType;
use jj_plugin_api::{
    abi_stable::std_types::RSlice, ErrorKind, Options, PluginResult, RowBatch, Schema,
    WriteSummary, Writer, WriterFactory,
};
use jj_writer_util::{OwnedColumn, OwnedColumns};
use parquet::{
    arrow::arrow_reader::ParquetRecordBatchReaderBuilder, basic::Compression,
    file::reader::FileReader,
};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

// ---- helpers ----

use jj_writer_util::ScratchDir as TempDir;

/// Every file under `dir`, relative to it, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut v = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut v);
    }
    v.sort();
    v
}

fn opts(text: &str) -> Options {
    Options::parse(text)
}

fn open(target: &Path, schema: &Schema, options: &str) -> PluginResult<ParquetWriter> {
    ParquetFactory.open("parquet", target.to_str().unwrap(), schema, &opts(options))
}

fn write(w: &mut ParquetWriter, cols: &[OwnedColumn]) -> PluginResult<()> {
    cols.with_batch(|b| w.write_batch(b))
}

/// Reads a whole file back as one batch.
fn read(path: &Path) -> RecordBatch {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let schema = batches
        .first()
        .map(|b| b.schema())
        .unwrap_or_else(|| schema_of_file(path));
    arrow_select::concat::concat_batches(&schema, &batches).unwrap()
}

fn schema_of_file(path: &Path) -> arrow_schema::SchemaRef {
    let file = std::fs::File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .schema()
        .clone()
}

fn file_metadata(path: &Path) -> parquet::file::metadata::ParquetMetaData {
    let file = std::fs::File::open(path).unwrap();
    parquet::file::serialized_reader::SerializedFileReader::new(file)
        .unwrap()
        .metadata()
        .clone()
}

const INF: f64 = f64::INFINITY;
const NAN: f64 = f64::NAN;

fn all_dtypes() -> Vec<OwnedColumn> {
    vec![
        OwnedColumn::ints("flow_id", &[Some(1), Some(-42), None, Some(i64::MAX)]),
        OwnedColumn::floats("duration", &[Some(0.1), Some(1e-5), None, Some(60.0)]),
        OwnedColumn::floats("rate", &[Some(INF), Some(-INF), Some(NAN), Some(0.1 + 0.2)]),
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
            &[Some("café 😀"), Some(""), Some("tab\there"), Some("x")],
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

fn ints(b: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    b.column_by_name(name)
        .unwrap()
        .as_primitive::<Int64Type>()
        .iter()
        .collect()
}

fn floats(b: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    b.column_by_name(name)
        .unwrap()
        .as_primitive::<Float64Type>()
        .iter()
        .collect()
}

fn strs(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    b.column_by_name(name)
        .unwrap()
        .as_string::<i32>()
        .iter()
        .map(|s| s.map(str::to_string))
        .collect()
}

fn float_lists(b: &RecordBatch, name: &str) -> Vec<Option<Vec<f64>>> {
    b.column_by_name(name)
        .unwrap()
        .as_list::<i32>()
        .iter()
        .map(|l| l.map(|a| a.as_primitive::<Float64Type>().values().to_vec()))
        .collect()
}

fn int_lists(b: &RecordBatch, name: &str) -> Vec<Option<Vec<i64>>> {
    b.column_by_name(name)
        .unwrap()
        .as_list::<i32>()
        .iter()
        .map(|l| l.map(|a| a.as_primitive::<Int64Type>().values().to_vec()))
        .collect()
}

/// Floats compared bit for bit (NaN == NaN, -0.0 != 0.0).
fn bits(v: &[Option<f64>]) -> Vec<Option<u64>> {
    v.iter().map(|x| x.map(f64::to_bits)).collect()
}

fn check_all_dtypes(b: &RecordBatch, repeat: usize) {
    macro_rules! rep {
        ($v:expr) => {
            (0..repeat).flat_map(|_| $v).collect::<Vec<_>>()
        };
    }
    assert_eq!(
        ints(b, "flow_id"),
        rep!(vec![Some(1), Some(-42), None, Some(i64::MAX)])
    );
    assert_eq!(
        bits(&floats(b, "duration")),
        bits(&rep!(vec![Some(0.1), Some(1e-5), None, Some(60.0)]))
    );
    assert_eq!(
        bits(&floats(b, "rate")),
        bits(&rep!(vec![
            Some(INF),
            Some(-INF),
            Some(NAN),
            Some(0.1 + 0.2)
        ]))
    );
    let tls: Vec<Option<bool>> = b
        .column_by_name("is_tls")
        .unwrap()
        .as_boolean()
        .iter()
        .collect();
    assert_eq!(tls, rep!(vec![Some(true), Some(false), None, Some(true)]));
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        strs(b, "sni"),
        rep!(vec![
            s("example.com"),
            s("h2,http/1.1"),
            None,
            s("say \"hi\"\nbye")
        ])
    );
    assert_eq!(
        strs(b, "label"),
        rep!(vec![s("café 😀"), s(""), s("tab\there"), s("x")])
    );
    let iat: Vec<Option<Vec<u64>>> = float_lists(b, "iat")
        .into_iter()
        .map(|l| l.map(|v| v.iter().map(|x| x.to_bits()).collect()))
        .collect();
    let want: Vec<Option<Vec<u64>>> = rep!(vec![
        Some(vec![0.01f64.to_bits(), 0.02f64.to_bits()]),
        Some(vec![]),
        None,
        Some(
            [1e-5, INF, NAN, -INF]
                .iter()
                .map(|x: &f64| x.to_bits())
                .collect()
        ),
    ]);
    assert_eq!(iat, want);
    assert_eq!(
        int_lists(b, "sizes"),
        rep!(vec![
            Some(vec![60, 1500, -1]),
            Some(vec![7]),
            Some(vec![]),
            None
        ])
    );
}

// ---- types and values ----

#[test]
fn every_dtype_round_trips_with_types_and_nulls() {
    let dir = TempDir::new();
    let path = dir.path("flows.parquet");
    let cols = all_dtypes();
    let mut w = open(&path, &cols.schema(), "").unwrap();
    write(&mut w, &cols).unwrap();
    let s = w.finish().unwrap();
    assert_eq!(
        s,
        WriteSummary {
            rows_received: 4,
            rows_written: 4,
            rows_failed: 0
        }
    );
    let b = read(&path);
    let types: Vec<(String, DataType, bool)> = b
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
        .collect();
    let list = |t: DataType| DataType::List(arrow_schema::Field::new("item", t, true).into());
    assert_eq!(
        types,
        vec![
            ("flow_id".into(), DataType::Int64, true),
            ("duration".into(), DataType::Float64, true),
            ("rate".into(), DataType::Float64, true),
            ("is_tls".into(), DataType::Boolean, true),
            ("sni".into(), DataType::Utf8, true),
            ("label".into(), DataType::Utf8, true),
            ("iat".into(), list(DataType::Float64), true),
            ("sizes".into(), list(DataType::Int64), true),
        ]
    );
    check_all_dtypes(&b, 1);
    assert_eq!(b.column_by_name("flow_id").unwrap().null_count(), 1);
    // Snappy by default, one row group.
    let md = file_metadata(&path);
    assert_eq!(md.num_row_groups(), 1);
    assert!(md
        .row_group(0)
        .columns()
        .iter()
        .all(|c| c.compression() == Compression::SNAPPY));
}

#[test]
fn dictionary_encoding_only_for_int_string_and_int_list_columns() {
    let dir = TempDir::new();
    let cols = all_dtypes();
    let check = |path: &Path, names: &[&str]| {
        let md = file_metadata(path);
        let dict: Vec<(String, bool)> = md
            .row_group(0)
            .columns()
            .iter()
            .map(|c| {
                let dict = c.encodings().iter().any(|e| {
                    matches!(
                        e,
                        parquet::basic::Encoding::RLE_DICTIONARY
                            | parquet::basic::Encoding::PLAIN_DICTIONARY
                    )
                });
                (c.column_path().parts()[0].clone(), dict)
            })
            .collect();
        let want: Vec<(String, bool)> = names
            .iter()
            .map(|n| {
                let dtype = cols.iter().find(|c| c.name == *n).unwrap().dtype;
                let dict = matches!(
                    dtype,
                    jj_plugin_api::DType::Int64
                        | jj_plugin_api::DType::String
                        | jj_plugin_api::DType::IntList
                );
                (n.to_string(), dict)
            })
            .collect();
        assert_eq!(dict, want);
    };
    let path = dir.path("d.parquet");
    let mut w = open(&path, &cols.schema(), "").unwrap();
    write(&mut w, &cols).unwrap();
    w.finish().unwrap();
    let all: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    check(&path, &all);
    // partition files lack the partition column: settings follow their own columns
    let root = dir.path("p");
    let mut w = open(&root, &cols.schema(), "partition_by=flow_id").unwrap();
    write(&mut w, &cols).unwrap();
    w.finish().unwrap();
    let first = tree(&root).into_iter().next().unwrap();
    check(&root.join(first), &all[1..]);
}

#[test]
fn many_batches_make_row_groups_of_the_configured_size() {
    let dir = TempDir::new();
    let path = dir.path("rg.parquet");
    let cols = all_dtypes();
    let mut w = open(&path, &cols.schema(), "parquet_row_group_rows=10").unwrap();
    for _ in 0..7 {
        write(&mut w, &cols).unwrap();
    }
    assert_eq!(w.finish().unwrap().rows_written, 28);
    let md = file_metadata(&path);
    let sizes: Vec<i64> = md.row_groups().iter().map(|g| g.num_rows()).collect();
    assert_eq!(sizes, [10, 10, 8]);
    check_all_dtypes(&read(&path), 7);
}

#[test]
fn compression_options() {
    let dir = TempDir::new();
    let cols = all_dtypes();
    for (text, want) in [
        ("parquet_compression=snappy", Compression::SNAPPY),
        (
            "parquet_compression=zstd",
            Compression::ZSTD(Default::default()),
        ),
        (
            "parquet_compression=ZSTD",
            Compression::ZSTD(Default::default()),
        ),
        ("parquet_compression=none", Compression::UNCOMPRESSED),
    ] {
        let path = dir.path("c.parquet");
        let mut w = open(&path, &cols.schema(), text).unwrap();
        write(&mut w, &cols).unwrap();
        w.finish().unwrap();
        let md = file_metadata(&path);
        for c in md.row_group(0).columns() {
            // the reader reports ZSTD without its level
            let got = match c.compression() {
                Compression::ZSTD(_) => Compression::ZSTD(Default::default()),
                x => x,
            };
            assert_eq!(got, want, "{text}");
        }
        check_all_dtypes(&read(&path), 1);
    }
}

#[test]
fn bad_options_are_config_errors_naming_the_option() {
    let dir = TempDir::new();
    let cols = all_dtypes();
    for (text, needle) in [
        ("parquet_compression=lzo", "parquet_compression=lzo"),
        ("parquet_row_group_rows=0", "parquet_row_group_rows=0"),
        ("parquet_row_group_rows=many", "parquet_row_group_rows=many"),
        ("partition_by=nope", "partition_by=nope"),
        ("partition_by=rate", "is float64"),
        ("partition_by=iat", "is list<float64>"),
    ] {
        let e = open(&dir.path("x"), &cols.schema(), text).err().unwrap();
        assert_eq!(e.kind, ErrorKind::Config, "{text}");
        assert!(e.message.as_str().contains(needle), "{text}: {}", e.message);
    }
    assert!(tree(&dir.0).is_empty());
    let o = ParquetOptions::parse(&opts("unknown=1\npartition_by=none")).unwrap();
    assert_eq!(o, ParquetOptions::default());
}

#[test]
fn empty_run_writes_a_file_with_the_schema() {
    let dir = TempDir::new();
    let path = dir.path("empty.parquet");
    let cols = all_dtypes();
    let mut w = open(&path, &cols.schema(), "").unwrap();
    // a batch of zero rows is accepted
    let none: Vec<OwnedColumn> = cols
        .iter()
        .map(|c| OwnedColumn::empty(&c.name, c.dtype))
        .collect();
    write(&mut w, &none).unwrap();
    assert_eq!(w.finish().unwrap(), WriteSummary::default());
    let schema = schema_of_file(&path);
    assert_eq!(schema.fields().len(), 8);
    assert_eq!(read(&path).num_rows(), 0);
}

#[test]
fn malformed_columns_read_back_like_the_text_writers_show_them() {
    // Non-increasing offsets and invalid UTF-8: the slow path uses Column's accessors,
    // which give "" / [] for such rows.
    let dir = TempDir::new();
    let path = dir.path("m.parquet");
    let mut s = OwnedColumn::strs("s", &[Some("ab"), Some("cd"), Some("ef")]);
    s.offsets = vec![0, 2, 1, 6];
    let mut bad = OwnedColumn::strs("u", &[Some("ok"), Some("zz")]);
    bad.bytes[2] = 0xff;
    bad.push_str(Some("x"));
    let mut l = OwnedColumn::int_lists("l", &[Some(&[1, 2]), Some(&[3]), Some(&[4])]);
    l.offsets = vec![0, 2, 1, 4];
    let cols_a = vec![s, OwnedColumn::ints("pad", &[Some(1), Some(2), Some(3)]), l];
    let mut w = open(&path, &cols_a.schema(), "").unwrap();
    write(&mut w, &cols_a).unwrap();
    w.finish().unwrap();
    let b = read(&path);
    let st = |v: &str| Some(v.to_string());
    assert_eq!(strs(&b, "s"), vec![st("ab"), st(""), st("bcdef")]);
    assert_eq!(
        int_lists(&b, "l"),
        vec![Some(vec![1, 2]), Some(vec![]), Some(vec![2, 3, 4])]
    );

    let path = dir.path("u.parquet");
    let cols_b = vec![bad];
    let mut w = open(&path, &cols_b.schema(), "").unwrap();
    write(&mut w, &cols_b).unwrap();
    w.finish().unwrap();
    assert_eq!(strs(&read(&path), "u"), vec![st("ok"), st(""), st("x")]);
}

// ---- summary, malformed batches, errors ----

#[test]
fn malformed_batch_is_rejected_and_counted() {
    let dir = TempDir::new();
    let path = dir.path("m.parquet");
    let good = vec![OwnedColumn::ints("a", &[Some(1), Some(2)])];
    let mut w = open(&path, &good.schema(), "").unwrap();
    let wrong_type = vec![OwnedColumn::floats("a", &[Some(1.0)])];
    assert_eq!(
        write(&mut w, &wrong_type).unwrap_err().kind,
        ErrorKind::Other
    );
    let short = OwnedColumn::ints("a", &[Some(5)]);
    let views = [short.view()];
    let batch = RowBatch {
        num_rows: 3,
        columns: RSlice::from_slice(&views),
    };
    assert!(w.write_batch(&batch).is_err());
    write(&mut w, &good).unwrap();
    assert_eq!(
        w.finish().unwrap(),
        WriteSummary {
            rows_received: 2,
            rows_written: 2,
            rows_failed: 4
        }
    );
    assert_eq!(ints(&read(&path), "a"), [Some(1), Some(2)]);
    // finish is idempotent; writing afterwards is refused
    assert_eq!(w.finish().unwrap().rows_written, 2);
    assert!(write(&mut w, &good).is_err());
}

#[test]
fn write_error_is_an_io_error_and_poisons_the_writer() {
    let cols = all_dtypes();
    let schema = cols.schema();
    let mut w = ParquetWriter::with_out(
        Out::Failing(100),
        "failing-target",
        &schema,
        &ParquetOptions {
            row_group_rows: 2,
            ..Default::default()
        },
    )
    .unwrap();
    // The parquet crate buffers a few KiB itself: the failure shows within some batches.
    let e = (0..1000)
        .find_map(|_| write(&mut w, &cols).err())
        .expect("a write fails once the budget is used up");
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

#[test]
fn unknown_format_formats_and_root_module() {
    let e = ParquetFactory
        .open("csv", "-", &Schema::default(), &Options::new())
        .err()
        .unwrap();
    assert_eq!(e.kind, ErrorKind::Config);
    let f = ParquetFactory.formats();
    assert_eq!(
        (
            f[0].name.as_str(),
            f[0].extension.as_str(),
            f[0].supports_stdout
        ),
        ("parquet", "parquet", 1)
    );
    let lib = crate::export::jj_plugin_root_module();
    assert_eq!((lib.library())().name.as_str(), "jj-output-parquet");
    let writers = (lib.writers())();
    let names: Vec<&str> = writers.iter().map(|d| d.info.name.as_str()).collect();
    assert_eq!(names, ["parquet"]);
}

// ---- temporary files ----

#[test]
fn final_file_appears_only_after_the_footer() {
    let dir = TempDir::new();
    let path = dir.path("flows.parquet");
    std::fs::write(&path, "old").unwrap();
    let cols = all_dtypes();
    let mut w = open(&path, &cols.schema(), "parquet_row_group_rows=2").unwrap();
    let tmp = w.temp_paths();
    assert_eq!(tmp.len(), 1);
    assert_eq!(
        tmp[0].file_name().unwrap().to_str().unwrap(),
        format!(".flows.parquet.jj-partial-{}", std::process::id())
    );
    write(&mut w, &cols).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
    assert!(tmp[0].exists());
    w.finish().unwrap();
    assert!(!tmp[0].exists());
    assert_eq!(tree(&dir.0), ["flows.parquet"]);
    check_all_dtypes(&read(&path), 1);
}

#[test]
fn abort_and_drop_remove_the_temporary_file() {
    let dir = TempDir::new();
    let cols = all_dtypes();
    let mut w = open(&dir.path("a.parquet"), &cols.schema(), "").unwrap();
    write(&mut w, &cols).unwrap();
    w.abort();
    assert!(tree(&dir.0).is_empty());
    assert!(w.finish().is_err());
    assert!(write(&mut w, &cols).is_err());

    let mut w = open(&dir.path("d.parquet"), &cols.schema(), "").unwrap();
    write(&mut w, &cols).unwrap();
    assert_eq!(tree(&dir.0).len(), 1);
    drop(w);
    assert!(tree(&dir.0).is_empty());
}

#[test]
fn bad_targets_are_errors_naming_the_path() {
    let dir = TempDir::new();
    let schema = all_dtypes().schema();
    let missing = dir.path("no-such-dir").join("out.parquet");
    let e = open(&missing, &schema, "").err().unwrap();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(
        e.message.as_str().contains(missing.to_str().unwrap()),
        "{}",
        e.message
    );
    let e = open(&dir.0, &schema, "").err().unwrap();
    assert!(
        e.message.as_str().contains("is a directory"),
        "{}",
        e.message
    );
    // partitioned: the target must not be a file, nor stdout
    let file = dir.path("plain");
    std::fs::write(&file, "").unwrap();
    let e = open(&file, &schema, "partition_by=flow_id").err().unwrap();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(e.message.as_str().contains("is a file"), "{}", e.message);
    let e = ParquetFactory
        .open("parquet", "-", &schema, &opts("partition_by=flow_id"))
        .err()
        .unwrap();
    assert_eq!(e.kind, ErrorKind::Config);
}

// ---- partitions ----

/// Flows on three UTC days (2024-01-01 is 1704067200), one without a start time.
fn timed() -> Vec<OwnedColumn> {
    vec![
        OwnedColumn::floats(
            "start_time",
            &[
                Some(1_704_067_200.5),
                Some(1_704_153_599.999),
                Some(1_704_153_600.0),
                None,
                Some(1_704_067_201.0),
                Some(1_704_240_000.25),
                Some(NAN),
            ],
        ),
        OwnedColumn::ints(
            "dst_port",
            &[
                Some(443),
                Some(80),
                Some(443),
                Some(53),
                None,
                Some(80),
                Some(1),
            ],
        ),
        OwnedColumn::strs(
            "sni",
            &[
                Some("a.com"),
                Some("b/c=d%"),
                Some(""),
                None,
                Some("a.com"),
                Some("é"),
                Some("z"),
            ],
        ),
        OwnedColumn::float_lists(
            "iat",
            &[
                Some(&[1.0]),
                None,
                Some(&[]),
                Some(&[2.0, 3.0]),
                Some(&[4.0]),
                Some(&[5.0]),
                None,
            ],
        ),
    ]
}

/// (partition directory, file) pairs under `root`, with the rows of each file.
fn partition_files(root: &Path) -> Vec<(String, RecordBatch)> {
    tree(root)
        .into_iter()
        .map(|rel| {
            let (dir, file) = rel.rsplit_once('/').unwrap();
            assert!(
                file.starts_with("part-") && file.ends_with(".parquet"),
                "{rel}"
            );
            (dir.to_string(), read(&root.join(&rel)))
        })
        .collect()
}

#[test]
fn partition_by_start_time_writes_one_directory_per_utc_day() {
    let dir = TempDir::new();
    let root = dir.path("flows");
    let cols = timed();
    let mut w = open(&root, &cols.schema(), "partition_by=start_time").unwrap();
    write(&mut w, &cols).unwrap();
    write(&mut w, &cols).unwrap();
    // nothing under a final name before finish
    assert!(tree(&root)
        .iter()
        .all(|f| f.contains("/.part-") && f.contains(".jj-partial-")));
    assert_eq!(
        w.finish().unwrap(),
        WriteSummary {
            rows_received: 14,
            rows_written: 14,
            rows_failed: 0
        }
    );
    let files = partition_files(&root);
    let dirs: Vec<&str> = files.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(
        dirs,
        [
            "date=2024-01-01",
            "date=2024-01-02",
            "date=2024-01-03",
            "date=__HIVE_DEFAULT_PARTITION__"
        ]
    );
    // start_time is kept (date is derived); rows keep their order within a partition
    let day1 = &files[0].1;
    assert_eq!(day1.num_columns(), 4);
    assert_eq!(
        floats(day1, "start_time"),
        [
            Some(1_704_067_200.5),
            Some(1_704_153_599.999),
            Some(1_704_067_201.0)
        ]
        .repeat(2)
    );
    assert_eq!(
        ints(day1, "dst_port"),
        [Some(443), Some(80), None].repeat(2)
    );
    assert_eq!(
        float_lists(&files[1].1, "iat"),
        [Some(vec![]), Some(vec![])]
    );
    let default = &files[3].1;
    assert_eq!(ints(default, "dst_port"), [Some(53), Some(1)].repeat(2));

    // A second run into the same directory adds files next to the first run's.
    let mut w = open(&root, &cols.schema(), "partition_by=start_time").unwrap();
    write(&mut w, &cols).unwrap();
    w.finish().unwrap();
    let files = partition_files(&root);
    assert_eq!(files.len(), 8);
    let total: usize = files.iter().map(|(_, b)| b.num_rows()).sum();
    assert_eq!(total, 21);
}

#[test]
fn partition_by_int_and_string_columns_leaves_the_column_out_of_the_files() {
    let dir = TempDir::new();
    let cols = timed();
    let root = dir.path("by-port");
    let mut w = open(&root, &cols.schema(), "partition_by=dst_port").unwrap();
    write(&mut w, &cols).unwrap();
    w.finish().unwrap();
    let files = partition_files(&root);
    let dirs: Vec<&str> = files.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(
        dirs,
        [
            "dst_port=1",
            "dst_port=443",
            "dst_port=53",
            "dst_port=80",
            "dst_port=__HIVE_DEFAULT_PARTITION__"
        ]
    );
    for (_, b) in &files {
        assert!(b.column_by_name("dst_port").is_none());
        assert_eq!(b.num_columns(), 3);
    }
    assert_eq!(
        strs(&files[1].1, "sni"),
        [Some("a.com".to_string()), Some(String::new())]
    );

    // by feature id, string values escaped as Hive does
    let root = dir.path("by-sni");
    let mut w = open(&root, &cols.schema(), "partition_by=test.sni").unwrap();
    write(&mut w, &cols).unwrap();
    w.finish().unwrap();
    let dirs: Vec<String> = partition_files(&root).into_iter().map(|(d, _)| d).collect();
    assert_eq!(
        dirs,
        [
            "sni=__HIVE_DEFAULT_PARTITION__", // "" and null
            "sni=a.com",
            "sni=b%2Fc%3Dd%25",
            "sni=z",
            "sni=é",
        ]
    );
}

#[test]
fn many_partitions_close_files_early_and_rename_them_at_finish() {
    let dir = TempDir::new();
    let root = dir.path("many");
    let n = 150; // more than the 64 files kept open
    let mut cols = [
        OwnedColumn::empty("key", jj_plugin_api::DType::Int64),
        OwnedColumn::empty("v", jj_plugin_api::DType::Float64),
    ];
    for round in 0..3 {
        for k in 0..n {
            cols[0].push_int(Some(k));
            cols[1].push_float(Some((round * n + k) as f64));
        }
    }
    let mut w = open(&root, &cols.schema(), "partition_by=key").unwrap();
    for chunk in 0..3 {
        // three batches, each touching every partition once
        let part: Vec<OwnedColumn> = cols
            .iter()
            .map(|c| {
                let mut p = OwnedColumn::empty(&c.name, c.dtype);
                let r = chunk * n as usize..(chunk + 1) * n as usize;
                p.valid = c.valid[r.clone()].to_vec();
                if c.dtype == jj_plugin_api::DType::Int64 {
                    p.ints = c.ints[r].to_vec();
                } else {
                    p.floats = c.floats[r].to_vec();
                }
                p
            })
            .collect();
        write(&mut w, &part).unwrap();
    }
    let before = tree(&root);
    assert!(
        before.iter().all(|f| f.contains(".jj-partial-")),
        "{before:?}"
    );
    assert!(before.len() > n as usize); // partitions reopened after being closed
    w.finish().unwrap();
    let files = partition_files(&root);
    assert_eq!(files.len(), before.len());
    let mut per_key = std::collections::BTreeMap::<String, Vec<f64>>::new();
    for (d, b) in files {
        per_key
            .entry(d)
            .or_default()
            .extend(floats(&b, "v").into_iter().map(Option::unwrap));
    }
    assert_eq!(per_key.len(), n as usize);
    for (d, mut v) in per_key {
        let k: f64 = d.strip_prefix("key=").unwrap().parse().unwrap();
        v.sort_by(f64::total_cmp);
        assert_eq!(v, [k, k + n as f64, k + 2.0 * n as f64], "{d}");
    }
}

#[test]
fn aborted_partitioned_run_leaves_nothing() {
    let dir = TempDir::new();
    let root = dir.path("new").join("flows");
    let cols = timed();
    let mut w = open(&root, &cols.schema(), "partition_by=start_time").unwrap();
    write(&mut w, &cols).unwrap();
    assert_eq!(tree(&root).len(), 4);
    w.abort();
    assert!(!dir.path("new").exists(), "created directories are removed");
    // an existing directory is kept, with its other files
    let root = dir.path("keep");
    std::fs::create_dir_all(root.join("date=2024-01-01")).unwrap();
    std::fs::write(root.join("date=2024-01-01/other.parquet"), "x").unwrap();
    let mut w = open(&root, &cols.schema(), "partition_by=start_time").unwrap();
    write(&mut w, &cols).unwrap();
    drop(w);
    assert_eq!(tree(&root), ["date=2024-01-01/other.parquet"]);
}

// ---- other readers (python3 with pyarrow / duckdb, when installed) ----

fn python_has(module: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        println!("note: python3 with `{module}` is not available; skipping its check (pip install {module})");
    }
    ok
}

fn run_python(script: &str, args: &[&Path]) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_fixture(dir: &TempDir) -> (PathBuf, PathBuf) {
    let cols = all_dtypes();
    let file = dir.path("flows.parquet");
    let mut w = open(&file, &cols.schema(), "").unwrap();
    write(&mut w, &cols).unwrap();
    w.finish().unwrap();
    let timed = timed();
    let root = dir.path("parts");
    let mut w = open(&root, &timed.schema(), "partition_by=dst_port").unwrap();
    write(&mut w, &timed).unwrap();
    w.finish().unwrap();
    (file, root)
}

#[test]
fn pyarrow_reads_the_types_and_the_partitions() {
    if !python_has("pyarrow") {
        return;
    }
    let dir = TempDir::new();
    let (file, root) = write_fixture(&dir);
    run_python(
        r#"
import sys, math, pyarrow as pa, pyarrow.parquet as pq, pyarrow.dataset as ds
t = pq.read_table(sys.argv[1])
got = {f.name: str(f.type) for f in t.schema}
want = {"flow_id": "int64", "duration": "double", "rate": "double", "is_tls": "bool",
        "sni": "string", "label": "string", "iat": "list<item: double>",
        "sizes": "list<item: int64>"}
assert got == want, got
d = t.to_pydict()
assert d["flow_id"] == [1, -42, None, 2**63 - 1], d["flow_id"]
assert d["is_tls"] == [True, False, None, True]
assert d["sni"][2] is None and d["label"][0] == "caf\u00e9 \U0001F600"
assert d["iat"][1] == [] and d["iat"][2] is None and math.isnan(d["iat"][3][2])
assert d["sizes"] == [[60, 1500, -1], [7], [], None]
assert math.isnan(d["rate"][2]) and d["rate"][0] == math.inf
p = ds.dataset(sys.argv[2], partitioning="hive").to_table()
assert p.num_rows == 7, p.num_rows
ports = sorted(x for x in p.column("dst_port").to_pylist() if x is not None)
assert ports == [1, 53, 80, 80, 443, 443], ports
assert p.column("dst_port").null_count == 1
"#,
        &[&file, &root],
    );
}

#[test]
fn duckdb_reads_the_types_and_the_partitions() {
    if !python_has("duckdb") {
        return;
    }
    let dir = TempDir::new();
    let (file, root) = write_fixture(&dir);
    run_python(
        r#"
import sys, duckdb
con = duckdb.connect()
cols = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [sys.argv[1]]).fetchall()
got = {c[0]: c[1] for c in cols}
want = {"flow_id": "BIGINT", "duration": "DOUBLE", "rate": "DOUBLE", "is_tls": "BOOLEAN",
        "sni": "VARCHAR", "label": "VARCHAR", "iat": "DOUBLE[]", "sizes": "BIGINT[]"}
assert got == want, got
rows = con.execute("SELECT flow_id, sizes FROM read_parquet(?)", [sys.argv[1]]).fetchall()
assert rows == [(1, [60, 1500, -1]), (-42, [7]), (None, []), (2**63 - 1, None)], rows
n = con.execute("SELECT count(*), count(dst_port), sum(dst_port) FROM read_parquet(?, hive_partitioning=true)",
                [sys.argv[2] + "/*/*.parquet"]).fetchall()
assert n == [(7, 6, 1100)], n
"#,
        &[&file, &root],
    );
}

/// Every option the component reads is declared (so a `[plugins.*]` key the host rejects
/// is one it never reads), and every declared one is read: through the factory's `open`
/// and a whole write, so that a key read anywhere on the way counts.
#[test]
fn declares_exactly_the_options_it_reads() {
    let dir = TempDir::new();
    let path = dir.path("flows.parquet");
    let cols = all_dtypes();
    let o = Options::new();
    let mut w = ParquetFactory
        .open("parquet", path.to_str().unwrap(), &cols.schema(), &o)
        .unwrap();
    write(&mut w, &cols).unwrap();
    w.finish().unwrap();
    jj_plugin_api::options::check_declared(crate::options::OPTIONS, &o).unwrap();
}
