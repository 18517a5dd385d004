//! `jj extract` on every capture in ../shared/pcaps: each is processed, or refused with a
//! one-line reason naming the file and the offset; never a panic; and the output is
//! byte-identical for 1 and 2 threads.
use jj_tests::*;

#[test]
fn every_shared_capture_is_processed_or_refused_cleanly() {
    let Some(shared) = shared_dir() else { return };
    let out_dir = scratch("shared-captures");
    let mut files: Vec<_> = std::fs::read_dir(shared.join("pcaps"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng" | "cap")
            )
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 70,
        "expected the shared captures, found {}",
        files.len()
    );
    let mut refused = 0;
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        let mut outputs = Vec::new();
        for threads in ["1", "2"] {
            let out_path = out_dir.join(format!("{name}.{threads}.csv"));
            let o = jj(&[
                "-q",
                "extract",
                f.to_str().unwrap(),
                "-o",
                out_path.to_str().unwrap(),
                "--threads",
                threads,
            ]);
            let err = stderr(&o);
            assert!(!err.contains("panicked"), "{name}: panic: {err}");
            match o.status.code() {
                Some(0) => assert!(
                    err.trim().is_empty(),
                    "{name}: unexpected messages with -q: {err}"
                ),
                Some(1) => {
                    // refused part-way: exactly one line naming the file and the byte offset
                    let lines: Vec<&str> = err.lines().collect();
                    assert_eq!(lines.len(), 1, "{name}: one line expected: {err}");
                    assert!(
                        lines[0].contains(name) && lines[0].contains("byte offset"),
                        "{name}: {err}"
                    );
                    if threads == "1" {
                        refused += 1;
                    }
                }
                other => panic!("{name}: exit {other:?}: {err}"),
            }
            let csv =
                std::fs::read(&out_path).unwrap_or_else(|_| panic!("{name}: output file missing"));
            outputs.push((o.status.code(), err, csv));
        }
        assert_eq!(
            outputs[0].0, outputs[1].0,
            "{name}: exit code differs between --threads 1 and 2"
        );
        assert_eq!(
            outputs[0].1, outputs[1].1,
            "{name}: messages differ between --threads 1 and 2"
        );
        assert!(
            outputs[0].2 == outputs[1].2,
            "{name}: CSV differs between --threads 1 and 2"
        );
        assert!(!outputs[0].2.is_empty(), "{name}: at least a header");
    }
    // the three known-corrupt captures of the manifest
    assert_eq!(refused, 3, "corrupt captures refused with a reason");
}
