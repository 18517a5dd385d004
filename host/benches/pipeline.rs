//! End-to-end throughput and memory benchmark of the release `jj` binary.
//!
//! Run: `cargo build --release --workspace && cargo bench -p jj --bench pipeline`
//! Env: `JJ_BENCH_MB` = size of the mixed capture in MB (default 1000);
//! `JJ_BENCH_REAL` = real captures (files or directories, `:`-separated) laid end to end
//! by `jj_gen::replay` into a corpus of about 200 MB for a second JJ-CORE vs NFStream run.
//! See docs/performance.md.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use jj_gen::{GenConfig, Mode};

/// Drops `path` from the page cache (GNU dd's `iflag=nocache`) and reads it back with
/// large sequential reads, so that every run finds the capture cached the way the
/// kernel's readahead caches a file read from disk. How a file got into the cache
/// matters: a file written in 8 KiB pieces and still cached is held in small folios,
/// and reading it costs jj's 1,000 MB run about 0.07 s more kernel time (15%) than the
/// same file read back from disk (docs/performance.md, "Ninth session").
fn refresh_page_cache(path: &Path) {
    use std::io::Read;
    let dropped = Command::new("dd")
        .arg(format!("if={}", path.display()))
        .args(["iflag=nocache", "count=0", "status=none"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !dropped {
        println!(
            "  (page cache not refreshed: `dd iflag=nocache` failed; times depend on how {} got into the cache)",
            path.display()
        );
    }
    let mut f = std::fs::File::open(path).expect("open capture");
    let mut buf = vec![0u8; 4 << 20];
    while f.read(&mut buf).expect("read capture") > 0 {}
}

fn release_dir() -> PathBuf {
    // <target>/release/deps/pipeline-<hash>  ->  <target>/release
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("release dir").to_path_buf()
}

/// Generate `path` with `cfg` unless it already exists (written via a temp file + rename,
/// so an interrupted generation is never reused).
fn ensure_capture(path: &Path, cfg: &GenConfig) {
    if path.metadata().map(|m| m.len() > 0).unwrap_or(false) {
        println!("reusing {}", path.display());
        return;
    }
    println!("generating {} ...", path.display());
    let tmp = path.with_extension("tmp");
    let t = Instant::now();
    let f = File::create(&tmp).expect("create capture");
    let stats = jj_gen::generate(cfg, BufWriter::with_capacity(1 << 20, f)).expect("generate");
    std::fs::rename(&tmp, path).expect("rename capture");
    println!(
        "  {} packets, {} flows, {:.1} MB in {:.1} s",
        stats.packets,
        stats.flows,
        stats.bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
}

struct Out {
    secs: f64,
    stdout: String,
    stderr: String,
}

fn run(jj: &Path, args: &[&str]) -> Out {
    let t = Instant::now();
    let out = Command::new(jj)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("spawn jj");
    let secs = t.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        eprintln!("jj {} failed ({}):\n{stderr}", args.join(" "), out.status);
        std::process::exit(1);
    }
    Out {
        secs,
        stdout,
        stderr,
    }
}

/// Median wall time of 3 runs; also returns the last run's output.
fn median3(jj: &Path, args: &[&str]) -> (f64, Out) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let o = run(jj, args);
        times.push(o.secs);
        last = Some(o);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "  jj {}: {:.3} / {:.3} / {:.3} s",
        args.join(" "),
        times[0],
        times[1],
        times[2]
    );
    (times[1], last.unwrap())
}

/// Runs `a` and `b` alternately `n` times each; the median wall time of each, and the
/// best (noise only ever adds time: the best runs are the least disturbed).
fn interleaved_medians(jj: &Path, a: &[&str], b: &[&str], n: usize) -> ((f64, f64), (f64, f64)) {
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..n {
        ta.push(run(jj, a).secs);
        tb.push(run(jj, b).secs);
    }
    let show = |args: &[&str], v: &mut Vec<f64>| {
        v.sort_by(|x, y| x.partial_cmp(y).unwrap());
        let all: Vec<String> = v.iter().map(|t| format!("{t:.3}")).collect();
        println!(
            "  jj {}: {} s (interleaved)",
            args.join(" "),
            all.join(" / ")
        );
        (v[v.len() / 2], v[0])
    };
    (show(a, &mut ta), show(b, &mut tb))
}

fn field<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    s.split_whitespace().find_map(|w| w.strip_prefix(key))
}

/// Number right before `suffix` in `s`, e.g. ("peak RSS 12.3 MB", " MB") after "peak RSS ".
fn number_after(s: &str, prefix: &str) -> Option<f64> {
    let i = s.find(prefix)? + prefix.len();
    s[i..]
        .split_whitespace()
        .next()?
        .trim_end_matches([',', ')'])
        .parse()
        .ok()
}

fn number_before(s: &str, suffix: &str) -> Option<u64> {
    let i = s.find(suffix)?;
    s[..i]
        .split_whitespace()
        .last()?
        .trim_start_matches(['(', ','])
        .parse()
        .ok()
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "MISS"
    }
}

fn main() {
    // cargo bench passes `--bench`; ignore all arguments.
    let rel = release_dir();
    let jj = rel.join("jj");
    if !jj.is_file() {
        eprintln!("{} not found", jj.display());
        eprintln!("build first: cargo build --release --workspace");
        std::process::exit(1);
    }
    let data = rel.parent().unwrap().join("bench-data");
    std::fs::create_dir_all(&data).expect("create bench-data");

    let mb: u64 = std::env::var("JJ_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let mixed = data.join(format!("mixed-{mb}MB.pcap"));
    ensure_capture(
        &mixed,
        &GenConfig {
            target_bytes: Some(mb * 1_000_000),
            ..Default::default()
        },
    );
    let floods: Vec<(u64, PathBuf)> = [200_000u64, 1_000_000]
        .iter()
        .map(|&n| {
            let p = data.join(format!("synflood-{n}.pcap"));
            ensure_capture(
                &p,
                &GenConfig {
                    mode: Mode::SynFlood { flows: n },
                    ..Default::default()
                },
            );
            (n, p)
        })
        .collect();

    let mixed_s = mixed.to_str().unwrap();
    let out_csv = data.join("out.csv");
    let out_s = out_csv.to_str().unwrap();
    let file_mb = std::fs::metadata(&mixed).unwrap().len() as f64 / 1e6;

    println!(
        "\nthroughput on {} ({file_mb:.1} MB), median of 3:",
        mixed.display()
    );
    refresh_page_cache(&mixed);
    // warm the page cache
    run(&jj, &["decode-only", mixed_s]);
    let (t_floor, o) = median3(&jj, &["decode-only", mixed_s]);
    let frames: u64 = field(&o.stdout, "frames=")
        .and_then(|v| v.parse().ok())
        .expect("frames= in decode-only output");
    // Issue 2's benchmark is flow_meta to CSV; issue 3's is every JJ-CORE feature.
    let t_core2 = median3(
        &jj,
        &extract_args(mixed_s, out_s, "2", &["--profile", "JJ-CORE"]),
    )
    .0;
    let c = compared_runs(&jj, mixed_s, out_s);
    let (t1, t2, t_core, t_nfs) = (c.t1, c.t2, c.t_core, c.t_nfs);

    let r1 = t_floor / t1;
    println!();
    println!("machine: {} cores, {}", cores(), cpu_model());
    println!("capture: {file_mb:.1} MB, {frames} packets");
    print_table(
        &[
            ("floor (decode-only)", t_floor),
            ("flow_meta --threads 1", t1),
            ("flow_meta --threads 2", t2),
            ("JJ-CORE --threads 1", t_core),
            ("JJ-CORE --threads 2", t_core2),
        ],
        t_nfs,
        file_mb,
        frames as f64,
    );
    println!(
        "extract(1)/floor   = {r1:.2}  (target >= 0.50)  {}",
        verdict(r1 >= 0.50)
    );
    scaling_verdict("", &c);
    println!("JJ-CORE(1)/floor = {:.2}", t_floor / t_core);
    nfstream_verdict("", t_core, t_nfs);
    as_written_runs(&jj, &mixed, out_s);
    real_traffic(&jj, &data);

    println!("\nmemory: extract --max-flows 100000 --threads 1");
    let flood_out = data.join("flood.csv");
    let flood_s = flood_out.to_str().unwrap();
    let mut rss = Vec::new();
    for (n, p) in &floods {
        let o = run(
            &jj,
            &[
                "extract",
                p.to_str().unwrap(),
                "-o",
                flood_s,
                "-f",
                "csv",
                "--max-flows",
                "100000",
                "--threads",
                "1",
            ],
        );
        let peak = number_after(&o.stderr, "peak RSS ").unwrap_or_else(|| {
            eprintln!("no 'peak RSS' in jj output:\n{}", o.stderr);
            std::process::exit(1)
        });
        let evicted = number_before(&o.stderr, " flows evicted (--max-flows)").unwrap_or(0);
        println!(
            "SYN flood {:>9} flows: peak RSS {:>8.1} MB, {:>9} flows evicted, {:.2} s",
            n, peak, evicted, o.secs
        );
        rss.push(peak);
    }
    let rr = rss[1] / rss[0];
    println!(
        "RSS(1M)/RSS(200k) = {rr:.2}  (target <= 1.25)  {}",
        verdict(rr <= 1.25)
    );

    // One 1,000,000-packet connection: bounded by --max-flow-packets (default 65,536),
    // the connection continues in new rows.
    let single = data.join("single-flow-1000000.pcap");
    ensure_capture(
        &single,
        &GenConfig {
            mode: Mode::SingleFlow { packets: 1_000_000 },
            ..Default::default()
        },
    );
    let o = run(
        &jj,
        &[
            "extract",
            single.to_str().unwrap(),
            "-o",
            flood_out.to_str().unwrap(),
            "--threads",
            "1",
            "--profile",
            "JJ-CORE",
        ],
    );
    let rss_single = number_after(&o.stderr, "peak RSS ").unwrap_or(f64::NAN);
    let rows = number_before(&o.stderr, " rows in").unwrap_or(0);
    println!(
        "single 1,000,000-packet flow (JJ-CORE): {rows} rows (split every 65,536 packets), peak RSS {rss_single:.1} MB  (bounded: {})",
        verdict(rss_single < 256.0)
    );
}

/// JJ-CORE vs NFStream on real captures (`JJ_BENCH_REAL`), replayed end to end into a
/// corpus of about 200 MB (the list repeated as often as needed).
fn real_traffic(jj: &Path, data: &Path) {
    let Ok(list) = std::env::var("JJ_BENCH_REAL") else {
        println!(
            "\nreal traffic: not measured (set JJ_BENCH_REAL to captures or directories, \
             e.g. nDPI's tests/cfgs/default/pcap; see docs/performance.md)"
        );
        return;
    };
    use std::hash::{Hash, Hasher};
    let paths: Vec<PathBuf> = list
        .split(':')
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .collect();
    let files = jj_gen::replay::input_files(&paths).unwrap_or_else(|e| {
        eprintln!("JJ_BENCH_REAL: {e}");
        std::process::exit(1)
    });
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in &files {
        f.hash(&mut h);
        std::fs::metadata(f)
            .map(|m| m.len())
            .unwrap_or(0)
            .hash(&mut h);
    }
    let corpus = data.join(format!("real-{:016x}.pcap", h.finish()));
    if corpus.metadata().map(|m| m.len() > 0).unwrap_or(false) {
        println!("\nreusing {}", corpus.display());
    } else {
        let once = jj_gen::replay::replay(&files, 1, 1_700_000_000_000_000_000, std::io::sink())
            .expect("replay");
        if once.packets == 0 {
            eprintln!("JJ_BENCH_REAL: no Ethernet frame in {} files", files.len());
            std::process::exit(1);
        }
        let repeat = (200_000_000 / once.bytes.max(1) + 1).min(10_000) as u32;
        let tmp = corpus.with_extension("tmp");
        let f = File::create(&tmp).expect("create corpus");
        let s =
            jj_gen::replay::replay(&files, repeat, 1_700_000_000_000_000_000, f).expect("replay");
        std::fs::rename(&tmp, &corpus).expect("rename corpus");
        println!(
            "\nreal-traffic corpus {}: {} of {} files x {repeat}, {} packets, {:.1} MB",
            corpus.display(),
            s.files_used,
            files.len(),
            s.packets,
            s.bytes as f64 / 1e6
        );
    }
    let cs = corpus.to_str().unwrap();
    let out = data.join("out-real.csv");
    let mb = std::fs::metadata(&corpus).unwrap().len() as f64 / 1e6;
    println!("throughput on the real-traffic corpus ({mb:.1} MB), median of 3:");
    refresh_page_cache(&corpus);
    run(jj, &["decode-only", cs]);
    let (t_floor, o) = median3(jj, &["decode-only", cs]);
    let frames: f64 = field(&o.stdout, "frames=")
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    let out_s = out.to_str().unwrap();
    let args = extract_args(cs, out_s, "1", &["--profile", "JJ-CORE"]);
    let (t_core, t_nfs) = core_vs_nfstream(jj, &args, cs);
    let rows = std::fs::read(&out)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count().saturating_sub(1))
        .unwrap_or(0);
    println!(
        "real traffic: {frames} packets, {rows} flows ({:.1} packets per flow, {:.0} bytes per packet)",
        frames / rows.max(1) as f64,
        mb * 1e6 / frames
    );
    print_table(
        &[
            ("floor (decode-only)", t_floor),
            ("JJ-CORE --threads 1", t_core),
        ],
        t_nfs,
        mb,
        frames,
    );
    nfstream_verdict("real traffic: ", t_core, t_nfs);
}

/// `jj -q extract INPUT -o OUT -f csv --threads N SELECTION...`
fn extract_args<'a>(
    input: &'a str,
    out: &'a str,
    threads: &'a str,
    selection: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "-q",
        "extract",
        input,
        "-o",
        out,
        "-f",
        "csv",
        "--threads",
        threads,
    ];
    args.extend_from_slice(selection);
    args
}

/// The run / time / MB/s / packets/s table, NFStream last when measured.
fn print_table(runs: &[(&str, f64)], t_nfs: Option<f64>, mb: f64, frames: f64) {
    println!(
        "{:<28} {:>9} {:>10} {:>14}",
        "run", "time s", "MB/s", "packets/s"
    );
    let nfs = t_nfs.map(|t| ("NFStream (1 meter)", t));
    for &(name, t) in runs.iter().chain(nfs.iter()) {
        println!(
            "{:<28} {:>9.3} {:>10.1} {:>14.0}",
            name,
            t,
            mb / t,
            frames / t
        );
    }
}

/// The two targets that compare runs (2 threads against 1, JJ-CORE against NFStream),
/// measured again on a copy of `capture` written in 8 KiB pieces and left in the page
/// cache as written, in small folios: the state of, say, a capture tool's output read
/// right after it was written. The main runs read the capture back from disk first
/// ([`refresh_page_cache`]); reading is cheaper then, which moves the two ratios in
/// opposite directions, so both states are shown.
fn as_written_runs(jj: &Path, capture: &Path, out: &str) {
    use std::io::{Read, Write};
    let copy = capture.with_extension("as-written.pcap");
    let written = (|| -> std::io::Result<()> {
        let mut from = File::open(capture)?;
        let mut to = File::create(&copy)?;
        let mut buf = vec![0u8; 8 << 10];
        loop {
            let n = from.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            to.write_all(&buf[..n])?;
        }
    })();
    if let Err(e) = written {
        println!("\nas written: not measured ({}: {e})", copy.display());
        let _ = std::fs::remove_file(&copy);
        return;
    }
    let cs = copy.to_str().unwrap();
    println!("\nthe same capture as written in 8 KiB pieces, still cached ({cs}):");
    run(jj, &["decode-only", cs]);
    let c = compared_runs(jj, cs, out);
    let _ = std::fs::remove_file(&copy);
    scaling_verdict("as written: ", &c);
    nfstream_verdict("as written: ", c.t_core, c.t_nfs);
}

/// Medians (and the 2-thread comparison's best runs) of [`compared_runs`].
struct Compared {
    t1: f64,
    best1: f64,
    t2: f64,
    best2: f64,
    t_core: f64,
    t_nfs: Option<f64>,
}

/// The runs the two run-comparing targets need, on `cap`: flow_meta on 1 and 2 threads
/// interleaved, so that their ratio compares runs made under the same load (this kind of
/// VM drifts by tens of percent within minutes), then JJ-CORE on 1 thread interleaved
/// with NFStream.
fn compared_runs(jj: &Path, cap: &str, out: &str) -> Compared {
    let ((t1, best1), (t2, best2)) = interleaved_medians(
        jj,
        &extract_args(cap, out, "1", &["--features", "flow_meta"]),
        &extract_args(cap, out, "2", &["--features", "flow_meta"]),
        7,
    );
    let core_args = extract_args(cap, out, "1", &["--profile", "JJ-CORE"]);
    let (t_core, t_nfs) = core_vs_nfstream(jj, &core_args, cap);
    Compared {
        t1,
        best1,
        t2,
        best2,
        t_core,
        t_nfs,
    }
}

/// Issue 2's scaling target line: flow_meta on 2 threads against 1.
fn scaling_verdict(prefix: &str, c: &Compared) {
    let r = c.t1 / c.t2;
    println!(
        "{prefix}extract(2)/extract(1) = {r:.2} ({:.3} / {:.3} s)  (target >= 1.60)  {}   [best runs: {:.2}]",
        c.t1,
        c.t2,
        verdict(r >= 1.60),
        c.best1 / c.best2
    );
}

/// Issue 3's target line: JJ-CORE on 1 thread against NFStream.
fn nfstream_verdict(prefix: &str, t_core: f64, t_nfs: Option<f64>) {
    match t_nfs {
        Some(t) => {
            let r = t / t_core;
            println!(
                "{prefix}JJ-CORE(1) vs NFStream(statistical_analysis, splt_analysis=10, 1 meter) = {r:.1}x  (target >= 10)  {}",
                verdict(r >= 10.0)
            );
        }
        None => println!("NFStream: not installed (pip install nfstream) — ratio not measured"),
    }
}

/// Runs of jj and of NFStream in [`core_vs_nfstream`] (this machine's noise moved 3-run
/// medians by 10%).
const NFS_PAIRS: usize = 5;

/// JJ-CORE on one thread and NFStream on the same capture, interleaved (jj, NFStream,
/// jj, NFStream, ...) so both see the same machine load: medians of [`NFS_PAIRS`] each.
/// NFStream is `None` when its Python package is not installed.
fn core_vs_nfstream(jj: &Path, jj_args: &[&str], pcap: &str) -> (f64, Option<f64>) {
    let have_nfs = std::process::Command::new("python3")
        .args(["-c", "import nfstream"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    let (mut tj, mut tn) = (Vec::new(), Vec::new());
    for _ in 0..NFS_PAIRS {
        tj.push(run(jj, jj_args).secs);
        if have_nfs {
            if let Some(t) = nfstream_once(pcap) {
                tn.push(t);
            }
        }
    }
    let show = |v: &[f64]| {
        v.iter()
            .map(|t| format!("{t:.3}"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    println!("  jj {}: {} s", jj_args.join(" "), show(&tj));
    if !tn.is_empty() {
        println!("  NFStream, interleaved with it: {} s", show(&tn));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let t_nfs = (tn.len() == NFS_PAIRS).then(|| median(&mut tn));
    (median(&mut tj), t_nfs)
}

/// One NFStream run (`statistical_analysis=True, splt_analysis=10, n_meters=1`), timed
/// inside Python (interpreter start not counted).
fn nfstream_once(pcap: &str) -> Option<f64> {
    let script = "import sys, time\n\
from nfstream import NFStreamer\n\
t = time.time()\n\
n = sum(1 for _ in NFStreamer(source=sys.argv[1], statistical_analysis=True, splt_analysis=10, n_meters=1))\n\
print('flows', n, 'seconds', time.time() - t)\n";
    let o = std::process::Command::new("python3")
        .args(["-c", script, pcap])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    text.split_whitespace().last()?.parse().ok()
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
