//! Reads every capture in the shared corpus (`<workspace>/../shared/pcaps`, never
//! copied into the repo) and checks it against `MANIFEST.tsv`:
//! packet count (and, for rows like "2 (then read error: ...)", exactly that many
//! frames followed by an error of the matching kind), link type of the first
//! frame, detected format/byte order and (classic pcap) snaplen.
//!
//! If the directory is absent the test prints a loud SKIPPED message, and fails
//! when the environment variable `CI` is "true". `JJ_SHARED_PCAPS_DIR` overrides
//! the location.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use jj_capture_file::{open_path, Endian, Format, FrameMeta, ReadError, ReadErrorKind};

/// MANIFEST.tsv rows known to be wrong (checked independently against libpcap
/// 1.10 via pcap_next_ex, capinfos/tshark 4.0, and by walking the record headers
/// by hand). For these files the reader must produce the corrected value
/// instead; the deviation is printed on every run. (file, corrected `packets`, why)
const MANIFEST_ERRATA: &[(&str, &str, &str)] = &[
    (
        "ndpi_fuzz-2006-06-26-2594.pcap",
        "691",
        "manifest says 693, but 24 + sum(16 + caplen) over 691 records is exactly the \
         file size (111077); libpcap and capinfos also count 691",
    ),
    (
        "suri_bug-6875-01_fuzz.pcap",
        "1 (then read error: file appears to be damaged or corrupt)",
        "manifest count comes from Wireshark, whose heuristics read this fuzzed file as \
         the 1999 'ss990417' variant (24-byte record headers under the standard magic) and \
         yield a bogus 1-byte 2nd frame; read as standard pcap (as libpcap does) record 2 \
         claims a 1409179648-byte packet: 1 frame, then a Corrupt error",
    ),
];

/// `<workspace>/../shared/pcaps`, or `$JJ_SHARED_PCAPS_DIR` if set.
/// Writes straight to the process's stderr: unlike `eprintln!`, this is not
/// swallowed by the test harness's output capture, so it shows on every run.
fn loud(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{msg}");
}

fn corpus_dir() -> PathBuf {
    match std::env::var_os("JJ_SHARED_PCAPS_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/pcaps"),
    }
}

struct Row {
    file: String,
    packets: String,
    linktype: String,
}

fn parse_manifest(text: &str) -> Vec<Row> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .expect("empty MANIFEST.tsv")
        .split('\t')
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .unwrap_or_else(|| panic!("MANIFEST.tsv has no `{name}` column"))
    };
    let (c_file, c_packets, c_linktype) = (col("file"), col("packets"), col("linktype"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let get = |c: usize| f.get(c).map(|s| s.trim().to_string()).unwrap_or_default();
            Row {
                file: get(c_file),
                packets: get(c_packets),
                linktype: get(c_linktype),
            }
        })
        .collect()
}

struct Outcome {
    metas: Vec<FrameMeta>,
    data_len: usize,
    error: Option<ReadError>,
    format: Option<(Format, Endian)>,
    snaplen: Option<u32>,
}

fn read_file(path: &Path) -> Outcome {
    let mut out = Outcome {
        metas: Vec::new(),
        data_len: 0,
        error: None,
        format: None,
        snaplen: None,
    };
    let mut r = match open_path(path) {
        Ok(r) => r,
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    out.format = Some((r.format(), r.endian()));
    out.snaplen = r.interfaces().first().map(|i| i.snaplen);
    let mut data = Vec::new();
    loop {
        match r.read_batch(&mut out.metas, &mut data, 64, 1 << 20) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                out.error = Some(e);
                // After an error every call must report a clean end.
                let more = r.read_batch(&mut out.metas, &mut data, 64, 1 << 20);
                assert_eq!(more, Ok(0), "{}: call after error", path.display());
                break;
            }
        }
    }
    out.data_len = data.len();
    out
}

/// Checks one file; returns a list of problems (empty = matches the manifest).
fn check(row: &Row, packets: &str, o: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    // packets: "N" or "N (then read error: ...)"
    let p = packets;
    let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
    let Ok(want) = digits.parse::<usize>() else {
        return vec![format!("cannot parse packets column {p:?}")];
    };
    let want_err = p.contains("read error");
    if o.metas.len() != want {
        problems.push(format!(
            "read {} frames, manifest says {want}",
            o.metas.len()
        ));
    }
    match (&o.error, want_err) {
        (None, true) => problems.push("expected a read error after the frames, got none".into()),
        (Some(e), false) => problems.push(format!("unexpected error: {e} ({:?})", e.kind)),
        (Some(e), true) => {
            let want_kind = if p.contains("cut short") {
                Some(ReadErrorKind::Truncated)
            } else if p.contains("damaged or corrupt") {
                Some(ReadErrorKind::Corrupt)
            } else {
                None
            };
            if let Some(k) = want_kind {
                if e.kind != k {
                    problems.push(format!("error kind {:?}, expected {k:?}: {e}", e.kind));
                }
            }
        }
        (None, false) => {}
    }
    let total: u64 = o.metas.iter().map(|m| m.caplen as u64).sum();
    if total != o.data_len as u64 {
        problems.push(format!(
            "data buffer holds {} bytes, frames claim {total}",
            o.data_len
        ));
    }
    for (i, m) in o.metas.iter().enumerate() {
        if m.wire_len < m.caplen {
            problems.push(format!(
                "frame {i}: wire_len {} < caplen {}",
                m.wire_len, m.caplen
            ));
        }
    }
    // linktype: "1 (EN10MB) [pcap-us-le, snaplen 65535]"
    let lt: String = row
        .linktype
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    if let (Ok(lt), Some(first)) = (lt.parse::<u32>(), o.metas.first()) {
        if first.linktype != lt {
            problems.push(format!("linktype {}, manifest says {lt}", first.linktype));
        }
    }
    if let Some(tag) = row
        .linktype
        .split_once('[')
        .and_then(|(_, t)| t.split_once(']'))
        .map(|(t, _)| t)
    {
        let mut parts = tag.split(',').map(str::trim);
        let kind = parts.next().unwrap_or("");
        let want_fmt = if kind.starts_with("pcapng") {
            Some(Format::PcapNg)
        } else if kind.starts_with("pcap-us") {
            Some(Format::PcapMicro)
        } else if kind.starts_with("pcap-ns") {
            Some(Format::PcapNano)
        } else if kind.starts_with("pcap-modified") {
            Some(Format::PcapModified)
        } else {
            None
        };
        let want_endian = if kind.ends_with("-le") {
            Some(Endian::Little)
        } else if kind.ends_with("-be") {
            Some(Endian::Big)
        } else {
            None
        };
        if let Some((fmt, endian)) = o.format {
            if want_fmt.is_some_and(|w| w != fmt) {
                problems.push(format!("format {fmt:?}, manifest says {kind}"));
            }
            if want_endian.is_some_and(|w| w != endian) {
                problems.push(format!("byte order {endian:?}, manifest says {kind}"));
            }
        }
        for part in parts {
            if let Some(s) = part.strip_prefix("snaplen ") {
                if let (Ok(s), Some(got)) = (s.trim().parse::<u32>(), o.snaplen) {
                    if s != got {
                        problems.push(format!("snaplen {got}, manifest says {s}"));
                    }
                }
            }
        }
    }
    problems
}

#[test]
fn shared_captures_match_manifest() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        loud("");
        loud("==================================================================");
        loud(&format!(
            "SKIPPED: ../shared/pcaps not found (looked for {})",
            dir.display()
        ));
        loud("==================================================================");
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("shared captures missing under CI=true: {}", dir.display());
        }
        return;
    }
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv"))
        .unwrap_or_else(|e| panic!("cannot read {}/MANIFEST.tsv: {e}", dir.display()));
    let rows = parse_manifest(&manifest);
    assert!(!rows.is_empty(), "MANIFEST.tsv lists no files");

    let mut listed = BTreeSet::new();
    let mut failures = Vec::new();
    let mut matched = 0usize;
    let mut explained = Vec::new();
    for row in &rows {
        listed.insert(row.file.clone());
        let path = dir.join(&row.file);
        if !path.is_file() {
            failures.push(format!("{}: listed in MANIFEST.tsv but missing", row.file));
            continue;
        }
        let o = read_file(&path);
        let problems = check(row, &row.packets, &o);
        if problems.is_empty() {
            matched += 1;
            continue;
        }
        let erratum = MANIFEST_ERRATA.iter().find(|(f, _, _)| *f == row.file);
        if let Some((_, corrected, why)) = erratum {
            if check(row, corrected, &o).is_empty() {
                explained.push(format!(
                    "{}: manifest says {:?}, read {corrected:?} ({why})",
                    row.file, row.packets
                ));
                continue;
            }
        }
        for p in problems {
            failures.push(format!("{}: {p}", row.file));
        }
    }
    // Files present but not listed: must still read without panicking.
    let mut unlisted = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("read_dir") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !path.is_file() || name == "MANIFEST.tsv" || listed.contains(&name) {
            continue;
        }
        let o = read_file(&path);
        unlisted.push(format!(
            "{name}: {} frames{}",
            o.metas.len(),
            o.error.map(|e| format!(", then {e}")).unwrap_or_default()
        ));
    }
    loud(&format!(
        "shared captures: {matched} of {} manifest rows matched exactly, {} known manifest errata",
        rows.len(),
        explained.len()
    ));
    for x in &explained {
        loud(&format!("KNOWN MANIFEST ERRATUM: {x}"));
    }
    for u in &unlisted {
        loud(&format!("warning: not in MANIFEST.tsv (read anyway): {u}"));
    }
    assert!(
        failures.is_empty(),
        "{} mismatch(es) against MANIFEST.tsv:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
