//! The `connection` group's graph math against JoyfulJay's own output: for every golden
//! file (one graph over all the flows of one capture), the golden rows' identity and
//! totals (src_ip, dst_ip, dst_port, total_packets, total_bytes) go through
//! `jj_connection::graph`, and every `conn_*` column but the three community ones
//! (JoyfulJay's Louvain is unseeded) must match: integers exactly, floats within a
//! relative 1e-9. No `jj` binary is needed.
use jj_connection::graph::{CommunityAlgorithm, FlowRecord, GraphOptions, NodeIds, Window};
use jj_tests::shared_dir;
use serde_json::Value;

/// The compared columns, in the reference's order.
const COLUMNS: [&str; 17] = [
    "conn_src_unique_dsts",
    "conn_dst_unique_srcs",
    "conn_src_dst_flows",
    "conn_src_port_flows",
    "conn_src_total_flows",
    "conn_dst_total_flows",
    "conn_src_total_packets",
    "conn_src_total_bytes",
    "conn_dst_total_packets",
    "conn_dst_total_bytes",
    "conn_src_unique_ports",
    "conn_src_out_degree",
    "conn_dst_in_degree",
    "conn_src_betweenness",
    "conn_dst_betweenness",
    "conn_src_clustering",
    "conn_dst_clustering",
];

/// The number after `"key": ` in a JSON line, parsed with Rust's correctly rounded
/// parser (serde_json's default float parsing can be one ulp off, which would hide
/// whether the values are identical).
fn raw_number(line: &str, key: &str) -> Option<f64> {
    let pat = format!("\"{key}\": ");
    let start = line.find(&pat)? + pat.len();
    let rest = &line[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

fn field<'a>(row: &'a Value, key: &str, file: &str) -> &'a Value {
    row.get(key)
        .unwrap_or_else(|| panic!("{file}: a row has no {key}"))
}

fn uint(row: &Value, key: &str, file: &str) -> u64 {
    let v = field(row, key, file);
    v.as_u64()
        .or_else(|| {
            v.as_f64()
                .filter(|x| x.fract() == 0.0 && *x >= 0.0)
                .map(|x| x as u64)
        })
        .unwrap_or_else(|| panic!("{file}: {key} = {v} is not a count"))
}

#[test]
fn connection_features_match_joyfuljay_golden() {
    let Some(shared) = shared_dir() else { return };
    let dir = shared.join("reference/joyfuljay-golden/default");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("jsonl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no golden files in {}", dir.display());

    let mut matched = [0usize; COLUMNS.len()];
    let mut bit_exact = [0usize; COLUMNS.len()];
    let (mut rows_total, mut graphs) = (0usize, 0usize);
    let mut failures: Vec<String> = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let rows: Vec<Value> = lines
            .iter()
            // Python's json writes inf as `Infinity` (entropy_ratio), which is not JSON;
            // no conn_* column is ever infinite.
            .map(|l| l.replace("-Infinity", "null").replace("Infinity", "null"))
            .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("{name}: {e}")))
            .collect();
        if rows.is_empty() {
            continue;
        }
        graphs += 1;
        let mut ids: NodeIds<String> = NodeIds::new();
        let mut window = Window::new();
        for r in &rows {
            let text = |k: &str| {
                field(r, k, &name)
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: {k} is not text"))
                    .to_string()
            };
            let src = ids.id(text("src_ip"));
            let dst = ids.id(text("dst_ip"));
            window.push(FlowRecord {
                src,
                dst,
                dst_port: u16::try_from(uint(r, "dst_port", &name)).expect("a port"),
                packets: uint(r, "total_packets", &name),
                bytes: uint(r, "total_bytes", &name),
            });
        }
        let metrics = window.compute(
            GraphOptions {
                graph_metrics: true,
                communities: CommunityAlgorithm::None,
            },
            &[],
        );
        for (i, r) in rows.iter().enumerate() {
            rows_total += 1;
            let f = metrics.flow(i);
            let ours: [f64; COLUMNS.len()] = [
                f.src_unique_dsts as f64,
                f.dst_unique_srcs as f64,
                f.src_dst_flows as f64,
                f.src_port_flows as f64,
                f.src_total_flows as f64,
                f.dst_total_flows as f64,
                f.src_total_packets as f64,
                f.src_total_bytes as f64,
                f.dst_total_packets as f64,
                f.dst_total_bytes as f64,
                f.src_unique_ports as f64,
                f.src_out_degree as f64,
                f.dst_in_degree as f64,
                f.src_betweenness,
                f.dst_betweenness,
                f.src_clustering,
                f.dst_clustering,
            ];
            for (k, col) in COLUMNS.iter().enumerate() {
                let want = raw_number(lines[i], col)
                    .unwrap_or_else(|| panic!("{name} row {i}: {col} is not a number"));
                let got = ours[k];
                // Counts are exact in f64 here (far below 2^53).
                let ok = got == want
                    || (k >= 13 && (got - want).abs() <= 1e-9 * got.abs().max(want.abs()));
                if ok {
                    matched[k] += 1;
                    bit_exact[k] += usize::from(got == want);
                } else if failures.len() < 20 {
                    failures.push(format!(
                        "{name} row {i} ({} -> {}): {col} = {got}, JoyfulJay {want}",
                        r["src_ip"], r["dst_ip"]
                    ));
                }
            }
        }
    }
    eprintln!("connection vs JoyfulJay golden: {graphs} graphs, {rows_total} flows");
    for (k, col) in COLUMNS.iter().enumerate() {
        eprintln!(
            "  {col:<24} {:>4}/{rows_total} match ({:.1} %), {} identical",
            matched[k],
            100.0 * matched[k] as f64 / rows_total as f64,
            bit_exact[k]
        );
    }
    assert!(
        failures.is_empty(),
        "differences from JoyfulJay (first {}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
