//! The pipeline: capture → decode → flow table → extractors → writer.
//!
//! `threads == 1` runs everything inline on the calling thread. With N > 1 threads, N
//! workers each own a fixed set of logical flow-table shards and run the extractors on
//! them; they take turns at reading and decoding batches (whoever is ahead reads the next
//! one, for all), and a writer thread merges their rows (see [`run_parallel`]).
//! Rows are ordered by (event packet index, first packet index) within fixed windows of
//! `WINDOW_PACKETS` input packets, so the output is byte-identical for every thread count.
use crate::reassembly::{Defrag, DefragConfig, DefragCounters};
use crate::{
    cplugin::CExtractorInstance,
    flowtable::{
        Flow, FlowConfig, FlowCounters, FlowKey, FlowTable, OrderKey, LOGICAL_SHARDS,
        WINDOW_PACKETS,
    },
    loader::{ExtractorFactoryHandle, Plugins},
    rows::BatchBuilder,
};
use jj_decode::{anomaly, decode_ip, decode_with, DecodeMode, Decoded};
use jj_plugin_api::{
    abi_stable::std_types::{RSlice, RSliceMut, RStr},
    ffi::{FfiCaptureSourceBox, FfiChunkedSourceBox, FfiExtractorBox, FfiWriterBox},
    flow_pass, BatchStatus, CaptureStats, ErrorKind, FlowView, FrameBatch, PluginError, StreamView,
    Value, WriteSummary,
};
use std::sync::{
    atomic::{AtomicBool, Ordering},
    mpsc::{sync_channel, Receiver},
};

/// Rows handed to the writer per batch.
const ROWS_PER_BATCH: usize = 1024;

/// Recycled value vectors of written rows. A row holds one [`Value`] per output column
/// (JJ-CORE: 153 × 32 bytes); allocating, faulting in and freeing that per flow took
/// about a tenth of a run on real traffic, where flows are short. The writing side gives
/// the vectors back after copying the values into a batch; extraction takes them again
/// and overwrites the values in place, reusing string and list buffers.
#[derive(Clone, Default)]
struct RowPool {
    spare: std::sync::Arc<std::sync::Mutex<Vec<Vec<Value>>>>,
    /// Vectors kept at most (bounds what the pool holds after a burst of rows).
    cap: usize,
}

impl RowPool {
    /// At most about 256 Ki values are kept (8 MiB plus string buffers).
    fn new(columns: usize) -> RowPool {
        RowPool {
            spare: Default::default(),
            cap: (256 << 10) / columns.max(64),
        }
    }

    /// Gives back written rows' vectors (all of `spent` is taken).
    fn give(&self, spent: &mut Vec<Vec<Value>>) {
        if spent.is_empty() {
            return;
        }
        if let Ok(mut pool) = self.spare.lock() {
            let room = self.cap.saturating_sub(pool.len());
            let n = spent.len().min(room);
            pool.extend(spent.drain(..n));
        }
        spent.clear();
    }

    /// Moves up to `n` spare vectors into `into`.
    fn take(&self, into: &mut Vec<Vec<Value>>, n: usize) {
        if let Ok(mut pool) = self.spare.lock() {
            let k = pool.len().saturating_sub(n);
            into.extend(pool.drain(k..));
        }
    }
}

/// Sets `dst` to a copy of `src`, reusing `dst`'s string or list buffer when both hold
/// the same kind.
fn assign(dst: &mut Value, src: &Value) {
    match (&mut *dst, src) {
        (Value::Str(d), Value::Str(s)) => {
            d.clear();
            d.push_str(s);
        }
        (Value::FloatList(d), Value::FloatList(s)) => {
            d.clear();
            d.extend_from_slice(s);
        }
        (Value::IntList(d), Value::IntList(s)) => {
            d.clear();
            d.extend_from_slice(s);
        }
        _ => *dst = src.clone(),
    }
}

/// One extractor as the engine runs it.
pub struct PlanExtractor {
    pub component: usize,
    pub name: String,
    pub n_values: usize,
    /// Runs in two passes (`needs_all_flows`): see [`SecondPass`].
    pub two_pass: bool,
}

/// Two-pass extractors: how output rows are grouped into graph windows.
///
/// A window is a run of consecutive rows in output order. It closes at the end of each
/// capture; with `window_ns > 0` also before the first row whose flow ended (last packet)
/// at or after `start + window_ns`, where `start` is the first row's end time rounded down
/// to a multiple of `window_ns` (so windows of many sensors line up); at `max_rows` rows;
/// and, in live capture, when the wall clock passes `start + window_ns`.
#[derive(Clone, Debug)]
pub struct GraphWindow {
    /// Nanoseconds of flow end time per window; 0 = one window per capture.
    pub window_ns: i64,
    /// Rows held per window at most.
    pub max_rows: usize,
    /// Live capture: windows also close on the wall clock.
    pub live: bool,
}

impl GraphWindow {
    pub const DEFAULT_MAX_ROWS: usize = 200_000;
}

impl Default for GraphWindow {
    fn default() -> Self {
        GraphWindow {
            window_ns: 0,
            max_rows: Self::DEFAULT_MAX_ROWS,
            live: false,
        }
    }
}

/// What to run and which values to keep.
pub struct Plan {
    pub extractors: Vec<PlanExtractor>,
    /// Indices into the full row (all extractors' values concatenated) of the output columns.
    pub selection: Vec<usize>,
    /// The options text handed to `create`.
    pub options: String,
    /// Windows of the second pass (used only when an extractor is two-pass).
    pub graph: GraphWindow,
}

impl Plan {
    fn total_values(&self) -> usize {
        self.extractors.iter().map(|e| e.n_values).sum()
    }

    /// One zeroed failure counter per extractor.
    fn failure_counters(&self) -> Vec<ExtractorFailures> {
        self.extractors
            .iter()
            .map(|e| ExtractorFailures {
                name: e.name.clone(),
                ..Default::default()
            })
            .collect()
    }

    /// `(extractor index, range in the full row)` of every two-pass extractor.
    fn two_pass_ranges(&self) -> Vec<(usize, (usize, usize))> {
        let mut off = 0;
        let mut out = Vec::new();
        for (i, e) in self.extractors.iter().enumerate() {
            if e.two_pass {
                out.push((i, (off, off + e.n_values)));
            }
            off += e.n_values;
        }
        out
    }
}

/// One output row on its way to the writer.
pub struct Row {
    order: OrderKey,
    /// The selected columns.
    values: Vec<Value>,
    /// What the second pass needs; `None` when no extractor is two-pass.
    second: Option<Box<SecondPassRow>>,
}

/// A row's part in the second pass: the flow's key and the two-pass extractors' first-pass
/// values. Packets are not kept.
struct SecondPassRow {
    /// Key fields only: no packets, payload or streams.
    view: FlowView<'static>,
    /// Last packet time: decides the graph window.
    end_ts_ns: i64,
    /// The two-pass extractors' slots, concatenated in plan order and packed
    /// ([`crate::packed`]): the second pass unpacks them for each call.
    scratch: Vec<u8>,
    /// Bit k: the k-th two-pass extractor failed on this flow in the first pass.
    failed: u64,
}

/// The flow's key fields with every borrowed slice empty: what the second pass sees.
fn key_view(v: &FlowView<'_>) -> FlowView<'static> {
    FlowView {
        src_ip: v.src_ip,
        dst_ip: v.dst_ip,
        src_port: v.src_port,
        dst_port: v.dst_port,
        ip_version: v.ip_version,
        protocol: v.protocol,
        end_reason: v.end_reason,
        pass: flow_pass::EXTRACT,
        first_packet_index: v.first_packet_index,
        anomalies: v.anomalies,
        _reserved2: 0,
        link: v.link,
        packets: RSlice::from_slice(&[]),
        payload: RSlice::from_slice(&[]),
        hdr_bytes: RSlice::from_slice(&[]),
        streams: [StreamView::default(), StreamView::default()],
    }
}

enum Instance {
    Rust(FfiExtractorBox),
    C(CExtractorInstance),
}

#[derive(Clone, Debug, Default)]
pub struct ExtractorFailures {
    pub name: String,
    pub failures: u64,
    pub panics: u64,
    pub first_message: Option<String>,
}

/// Runs the extractors on finished flows and keeps the selected values.
struct Extraction<'p> {
    plan: &'p Plan,
    instances: Vec<Instance>,
    ranges: Vec<(usize, usize)>,
    scratch: Vec<Value>,
    failures: Vec<ExtractorFailures>,
    /// Two-pass extractors: (index, range in the full row).
    two_pass: Vec<(usize, (usize, usize))>,
    /// Per extractor: it failed on the flow being extracted.
    failed_now: Vec<bool>,
    out: Vec<Row>,
    pool: RowPool,
    /// Value vectors taken from the pool, ready for rows.
    spare: Vec<Vec<Value>>,
    /// Every value is selected, in order: the scratch itself becomes the row (and a
    /// recycled vector the next scratch) instead of being copied.
    whole_row: bool,
}

impl<'p> Extraction<'p> {
    fn new(plugins: &Plugins, plan: &'p Plan, pool: RowPool) -> Result<Extraction<'p>, String> {
        let mut instances = Vec::new();
        let mut ranges = Vec::new();
        let mut off = 0;
        for e in &plan.extractors {
            let comp = &plugins.extractors[e.component];
            let inst = match &comp.factory {
                ExtractorFactoryHandle::Rust(f) => Instance::Rust(
                    f.create(RStr::from_str(&plan.options))
                        .into_result()
                        .map_err(|err| {
                            format!("extractor '{}' failed to start: {}", e.name, err.message)
                        })?,
                ),
                ExtractorFactoryHandle::C(lib) => Instance::C(
                    lib.create(&plan.options)
                        .map_err(|err| format!("extractor '{}' failed to start: {err}", e.name))?,
                ),
            };
            instances.push(inst);
            ranges.push((off, off + e.n_values));
            off += e.n_values;
        }
        Ok(Extraction {
            plan,
            instances,
            ranges,
            scratch: vec![Value::Null; plan.total_values()],
            failures: plan.failure_counters(),
            two_pass: plan.two_pass_ranges(),
            failed_now: vec![false; plan.extractors.len()],
            out: Vec::new(),
            pool,
            spare: Vec::new(),
            whole_row: plan.selection.iter().copied().eq(0..plan.total_values()),
        })
    }

    fn take_rows(&mut self) -> Vec<Row> {
        let mut rows = std::mem::take(&mut self.out);
        rows.sort_unstable_by_key(|r| r.order);
        rows
    }
}

impl crate::flowtable::FlowSink for Extraction<'_> {
    fn finished(&mut self, flow: &Flow, order: OrderKey, end_reason: u8) {
        let view = flow.view(end_reason);
        for (i, inst) in self.instances.iter_mut().enumerate() {
            self.failed_now[i] = false;
            let (a, b) = self.ranges[i];
            let slots = &mut self.scratch[a..b];
            let res: Result<(), (bool, String)> = match inst {
                Instance::Rust(x) => x
                    .extract(&view, RSliceMut::from_mut_slice(slots))
                    .into_result()
                    .map_err(|e| (e.kind == ErrorKind::Panic, e.message.to_string())),
                Instance::C(x) => x.extract(&view, slots).map_err(|e| (false, e)),
            };
            if let Err((panic, msg)) = res {
                for v in slots.iter_mut() {
                    v.set_null();
                }
                let f = &mut self.failures[i];
                f.failures += 1;
                f.panics += panic as u64;
                if f.first_message.is_none() {
                    f.first_message = Some(msg);
                }
                self.failed_now[i] = true;
            }
        }
        let second = (!self.two_pass.is_empty()).then(|| {
            let mut scratch = Vec::new();
            let mut mask = 0u64;
            for (k, &(i, (a, b))) in self.two_pass.iter().enumerate() {
                crate::packed::pack(&self.scratch[a..b], &mut scratch);
                if self.failed_now[i] {
                    mask |= 1u64 << k;
                }
            }
            Box::new(SecondPassRow {
                view: key_view(&view),
                end_ts_ns: view.last_ts_ns(),
                scratch,
                failed: mask,
            })
        });
        if self.spare.is_empty() {
            self.pool.take(&mut self.spare, 256);
        }
        let values = match self.spare.pop() {
            // The extractors overwrite every slot of the next flow (plugin contract), so
            // a recycled row's old values are as good a scratch as the previous flow's.
            Some(mut values) if self.whole_row && values.len() == self.scratch.len() => {
                std::mem::swap(&mut values, &mut self.scratch);
                values
            }
            Some(mut values) if values.len() == self.plan.selection.len() => {
                for (v, &j) in values.iter_mut().zip(&self.plan.selection) {
                    assign(v, &self.scratch[j]);
                }
                values
            }
            _ => self
                .plan
                .selection
                .iter()
                .map(|&j| self.scratch[j].clone())
                .collect(),
        };
        self.out.push(Row {
            order,
            values,
            second,
        });
    }
}

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub flow: FlowConfig,
    pub threads: usize,
    /// JoyfulJay compat: its flow table and expiry cadence; always runs on one thread
    /// (its expiry points depend on the global packet sequence).
    pub compat_joyfuljay: bool,
    /// Live source: the flow clock also advances with the wall clock, so flows expire
    /// even when no packets arrive (sweeps at least every `LIVE_SWEEP_NS`).
    pub live: bool,
    /// The writer's preferred values (rows × columns) per batch, 0 = none
    /// (`WriterFactory::batch_values`, plugin-api 1.2).
    pub writer_batch_values: u32,
}

/// Rows per writer batch: `ROWS_PER_BATCH`, or what the writer prefers for this many
/// columns (within 16..=`ROWS_PER_BATCH`).
fn writer_batch_rows(batch_values: u32, columns: usize) -> usize {
    match batch_values {
        0 => ROWS_PER_BATCH,
        v => (v as usize / columns.max(1)).clamp(16, ROWS_PER_BATCH),
    }
}

/// Live capture: wall-clock sweep interval.
pub const LIVE_SWEEP_NS: i64 = 1_000_000_000;

fn wall_clock_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// JoyfulJay checks idle flows only when its packet counter is a multiple of this.
pub const COMPAT_EXPIRY_EVERY: u64 = 10_000;

/// Everything a run counted. Every packet that does not reach a flow is counted here.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    pub frames: u64,
    pub bytes: u64,
    pub ip_packets: u64,
    /// Frames with no IP layer (ARP, LLDP, unknown link types, ...), not turned into flows.
    pub not_ip: u64,
    /// Per anomaly bit: number of frames showing it.
    pub anomalies: [u64; 32],
    pub flows: FlowCounters,
    pub extractor_failures: Vec<ExtractorFailures>,
    pub rows: u64,
    pub type_mismatches: u64,
    pub write: WriteSummary,
    pub capture: CaptureStats,
    /// The capture stopped with this error (rows from the frames before it were written).
    pub capture_error: Option<String>,
    pub interrupted: bool,
    /// IP fragment reassembly.
    pub defrag: DefragCounters,
    pub reassembled_datagrams: u64,
    /// Datagrams still incomplete when their capture ended (their fragments never became packets).
    pub fragments_pending_at_end: u64,
    /// Second pass: graph windows run, and how many closed early at the row bound.
    pub graph_windows: u64,
    pub graph_windows_cut: u64,
}

impl RunReport {
    fn count_decoded(&mut self, d: &Decoded) {
        if d.ip_version == 0 {
            self.not_ip += 1;
        } else {
            self.ip_packets += 1;
        }
        let mut a = d.anomalies;
        while a != 0 {
            let bit = a.trailing_zeros() as usize;
            self.anomalies[bit] += 1;
            a &= a - 1;
        }
    }

    /// Adds a worker's part (only one worker counts frames, anomalies and fragments).
    fn absorb(&mut self, p: RunReport) {
        self.frames += p.frames;
        self.bytes += p.bytes;
        self.ip_packets += p.ip_packets;
        self.not_ip += p.not_ip;
        for (a, b) in self.anomalies.iter_mut().zip(p.anomalies) {
            *a += b;
        }
        self.merge_flows(&p.flows);
        self.merge_failures(&p.extractor_failures);
        self.reassembled_datagrams += p.reassembled_datagrams;
        self.fragments_pending_at_end += p.fragments_pending_at_end;
        let (t, c) = (&mut self.defrag, p.defrag);
        t.fragments += c.fragments;
        t.reassembled += c.reassembled;
        t.timed_out += c.timed_out;
        t.overlaps += c.overlaps;
        t.duplicates += c.duplicates;
        t.conflicting_overlaps += c.conflicting_overlaps;
        t.dropped_over_memory += c.dropped_over_memory;
        t.too_big += c.too_big;
        t.bad += c.bad;
        t.truncated += c.truncated;
    }

    fn merge_failures(&mut self, f: &[ExtractorFailures]) {
        if self.extractor_failures.is_empty() {
            self.extractor_failures = f.to_vec();
            return;
        }
        for (mine, theirs) in self.extractor_failures.iter_mut().zip(f) {
            mine.failures += theirs.failures;
            mine.panics += theirs.panics;
            if mine.first_message.is_none() {
                mine.first_message = theirs.first_message.clone();
            }
        }
    }

    fn merge_flows(&mut self, c: &FlowCounters) {
        let f = &mut self.flows;
        f.flows_created += c.flows_created;
        f.flows_emitted += c.flows_emitted;
        f.evicted += c.evicted;
        f.idle_expired += c.idle_expired;
        f.active_expired += c.active_expired;
        f.tcp_closed += c.tcp_closed;
        f.packet_limit_splits += c.packet_limit_splits;
        f.late_after_close += c.late_after_close;
        f.peak_flows += c.peak_flows;
        f.streams_with_gap += c.streams_with_gap;
        f.streams_truncated += c.streams_truncated;
        f.streams_cut += c.streams_cut;
        let (a, b) = (&mut f.streams, &c.streams);
        a.retransmitted_bytes += b.retransmitted_bytes;
        a.overlap_bytes += b.overlap_bytes;
        a.conflicting_bytes += b.conflicting_bytes;
        a.conflicting_segments += b.conflicting_segments;
        a.ooo_segments += b.ooo_segments;
        a.dropped_segments += b.dropped_segments;
        a.dropped_bytes += b.dropped_bytes;
        a.before_start_bytes += b.before_start_bytes;
    }
}

/// The second pass of two-pass extractors (`needs_all_flows`): holds the rows of one
/// graph window (see [`GraphWindow`]), then, on one instance per extractor and in output
/// order, calls `observe_row` for every row of the window and `finish_row` for each, and
/// puts the final values into the rows' selected columns. Only rows are held, never
/// packets, and their values packed ([`crate::packed`]): memory is bounded by
/// `GraphWindow::max_rows`.
pub struct SecondPass {
    graph: GraphWindow,
    /// (plan extractor index, instance, range in `SecondPassRow::scratch`).
    stages: Vec<(usize, FfiExtractorBox, (usize, usize))>,
    /// (output column, index in `SecondPassRow::scratch`) of each selected two-pass column.
    columns: Vec<(usize, usize)>,
    /// The window's rows, their `values` moved out into `packed`.
    window: Vec<Row>,
    /// One row's two-pass slots, unpacked for a call.
    slots: Vec<Value>,
    /// Slots per row (`SecondPassRow::scratch` unpacked): every stage's range is within.
    scratch_len: usize,
    /// The window's rows' values, packed one after the other; `ends[i]` is where row
    /// `i`'s values end.
    packed: Vec<u8>,
    ends: Vec<usize>,
    /// Start of the current window (aligned), valid while `window` is not empty.
    start_ns: i64,
    /// Aligned with the plan's extractors (only two-pass ones are counted here).
    failures: Vec<ExtractorFailures>,
    windows: u64,
    windows_cut: u64,
    /// The last window closed at `max_rows`: the next row of the same capture makes it a
    /// cut (a capture of exactly `max_rows` flows is not one).
    cut_pending: bool,
}

impl SecondPass {
    /// `None` when no planned extractor is two-pass.
    fn new(plugins: &Plugins, plan: &Plan) -> Result<Option<SecondPass>, String> {
        let two_pass = plan.two_pass_ranges();
        if two_pass.is_empty() {
            return Ok(None);
        }
        if two_pass.len() > 64 {
            // `SecondPassRow::failed` has one bit per two-pass extractor.
            return Err(format!(
                "{} two-pass extractors selected; at most 64 can run in one run",
                two_pass.len()
            ));
        }
        let mut stages = Vec::new();
        let mut scratch_of = std::collections::HashMap::new();
        let mut off = 0;
        for &(i, (a, b)) in &two_pass {
            let e = &plan.extractors[i];
            let inst = match &plugins.extractors[e.component].factory {
                ExtractorFactoryHandle::Rust(f) => f
                    .create(RStr::from_str(&plan.options))
                    .into_result()
                    .map_err(|err| {
                        format!("extractor '{}' failed to start: {}", e.name, err.message)
                    })?,
                // The C contract has no second pass (the plan never marks one two-pass);
                // its slots keep their place in the scratch all the same.
                ExtractorFactoryHandle::C(_) => {
                    off += b - a;
                    continue;
                }
            };
            for j in a..b {
                scratch_of.insert(j, off + j - a);
            }
            stages.push((i, inst, (off, off + (b - a))));
            off += b - a;
        }
        let columns = plan
            .selection
            .iter()
            .enumerate()
            .filter_map(|(col, j)| scratch_of.get(j).map(|&s| (col, s)))
            .collect();
        Ok(Some(SecondPass {
            graph: plan.graph.clone(),
            stages,
            columns,
            window: Vec::new(),
            slots: Vec::new(),
            scratch_len: off,
            packed: Vec::new(),
            ends: Vec::new(),
            start_ns: 0,
            failures: plan.failure_counters(),
            windows: 0,
            windows_cut: 0,
            cut_pending: false,
        }))
    }

    /// Adds rows in output order; returns every window that closed. Held rows' value
    /// vectors go back to `pool` at once: packed, the values wait for the writer.
    fn push(&mut self, rows: Vec<Row>, done: &mut Vec<Closed>, pool: &RowPool) {
        let w = self.graph.window_ns;
        let mut spent = Vec::new();
        for mut row in rows {
            let end = row.second.as_ref().map_or(0, |s| s.end_ts_ns);
            if w > 0 && !self.window.is_empty() && end >= self.start_ns.saturating_add(w) {
                done.extend(self.close());
            }
            if self.window.is_empty() && w > 0 {
                self.start_ns = end.div_euclid(w) * w;
            }
            if std::mem::take(&mut self.cut_pending) {
                self.windows_cut += 1;
            }
            crate::packed::pack(&row.values, &mut self.packed);
            self.ends.push(self.packed.len());
            spent.push(std::mem::take(&mut row.values));
            self.window.push(row);
            if self.window.len() >= self.graph.max_rows {
                done.extend(self.close());
                self.cut_pending = true;
            }
        }
        pool.give(&mut spent);
        if self.graph.live
            && w > 0
            && !self.window.is_empty()
            && wall_clock_ns() >= self.start_ns.saturating_add(w)
        {
            done.extend(self.close());
        }
    }

    /// Runs the second pass over the current window; `None` if it is empty. The closed
    /// window's rows keep their values packed and their final two-pass values in
    /// `SecondPassRow::scratch` (packed too): [`Output::write_closed`] puts them together one row at a
    /// time, so a window is never held as `Value`s.
    fn close(&mut self) -> Option<Closed> {
        if self.window.is_empty() {
            return None;
        }
        self.windows += 1;
        let mut rows = std::mem::take(&mut self.window);
        for (k, (i, inst, (a, b))) in self.stages.iter_mut().enumerate() {
            let (a, b, bit) = (*a, *b, 1u64 << k);
            let fail = &mut self.failures[*i];
            let mut note = |sec: &mut SecondPassRow, e: PluginError| {
                sec.failed |= bit;
                fail.failures += 1;
                fail.panics += (e.kind == ErrorKind::Panic) as u64;
                if fail.first_message.is_none() {
                    fail.first_message = Some(e.message.to_string());
                }
            };
            // A row's slots, unpacked for one call (`observe_row` gets a copy, so the
            // first-pass values stay as they were; `finish_row`'s results are packed back).
            let slots = &mut self.slots;
            let width = self.scratch_len;
            for row in rows.iter_mut() {
                let Some(sec) = row.second.as_deref_mut() else {
                    continue;
                };
                if sec.failed & bit == 0 {
                    unpack_slots(&sec.scratch, slots, width);
                    let view = FlowView {
                        pass: flow_pass::OBSERVE_ROW,
                        ..sec.view
                    };
                    let r = inst.extract(&view, RSliceMut::from_mut_slice(&mut slots[a..b]));
                    if let Err(e) = r.into_result() {
                        note(sec, e);
                    }
                }
            }
            for row in rows.iter_mut() {
                let Some(sec) = row.second.as_deref_mut() else {
                    continue;
                };
                unpack_slots(&sec.scratch, slots, width);
                let mine = &mut slots[a..b];
                if sec.failed & bit == 0 {
                    let view = FlowView {
                        pass: flow_pass::FINISH_ROW,
                        ..sec.view
                    };
                    let r = inst.extract(&view, RSliceMut::from_mut_slice(mine));
                    if let Err(e) = r.into_result() {
                        note(sec, e);
                    }
                }
                if sec.failed & bit != 0 {
                    for v in mine.iter_mut() {
                        v.set_null();
                    }
                }
                sec.scratch.clear();
                crate::packed::pack(slots, &mut sec.scratch);
            }
        }
        Some(Closed {
            rows,
            packed: std::mem::take(&mut self.packed),
            ends: std::mem::take(&mut self.ends),
            columns: self.columns.clone(),
        })
    }

    /// Takes back a written window's buffers (their capacity) for the next window, unless
    /// rows of the next window are already held.
    fn recycle(&mut self, mut packed: Vec<u8>, mut ends: Vec<usize>) {
        if self.ends.is_empty() && self.packed.capacity() < packed.capacity() {
            packed.clear();
            ends.clear();
            self.packed = packed;
            self.ends = ends;
        }
    }
}

/// Unpacks a row's two-pass slots into `slots`, exactly `width` of them (what was packed
/// for every row), so each stage's range indexes them.
fn unpack_slots(packed: &[u8], slots: &mut Vec<Value>, width: usize) {
    crate::packed::unpack(packed, slots);
    slots.resize(width, Value::Null);
}

/// A window the second pass has closed (see [`SecondPass::close`]).
struct Closed {
    /// In output order; `values` empty, `second` holding the final two-pass values.
    rows: Vec<Row>,
    /// The rows' first-pass values, packed; row `i`'s end at `ends[i]`.
    packed: Vec<u8>,
    ends: Vec<usize>,
    /// (output column, index in `SecondPassRow::scratch`) of the two-pass columns.
    columns: Vec<(usize, usize)>,
}

/// Writes rows in order, in batches.
struct Output {
    writer: FfiWriterBox,
    builder: BatchBuilder,
    rows: u64,
    error: Option<String>,
    second: Option<SecondPass>,
    /// Live capture: rows go to the writer at every wall-clock tick, not only in full
    /// batches, so a quiet network's flows still stream out.
    live: bool,
    /// Written rows' value vectors go back to extraction through here.
    pool: RowPool,
    spent: Vec<Vec<Value>>,
    /// Rows per batch handed to the writer.
    batch_rows: usize,
    /// One row of a closed graph window, unpacked for the writer, and its two-pass
    /// values.
    unpacked: Vec<Value>,
    two_pass: Vec<Value>,
}

impl Output {
    fn push(&mut self, rows: Vec<Row>) {
        match self.second.as_mut() {
            None => self.write(rows),
            Some(sp) => {
                let mut done = Vec::new();
                sp.push(rows, &mut done, &self.pool);
                for c in done {
                    self.write_closed(c);
                }
            }
        }
        if self.live {
            self.flush();
        }
    }

    /// End of a capture: graph windows never span captures.
    fn end_capture(&mut self) {
        if let Some(sp) = self.second.as_mut() {
            let done = sp.close();
            sp.cut_pending = false;
            if let Some(c) = done {
                self.write_closed(c);
            }
        }
    }

    fn write(&mut self, rows: Vec<Row>) {
        for row in rows {
            self.builder.push_row(&row.values);
            self.spent.push(row.values);
            self.rows += 1;
            if self.builder.len() >= self.batch_rows {
                self.flush();
            }
        }
        self.pool.give(&mut self.spent);
    }

    /// Writes a closed graph window, unpacking one row at a time.
    fn write_closed(&mut self, c: Closed) {
        let Closed {
            rows,
            packed,
            ends,
            columns,
        } = c;
        let mut start = 0;
        for (row, &end) in rows.into_iter().zip(&ends) {
            crate::packed::unpack(&packed[start..end], &mut self.unpacked);
            start = end;
            if let Some(sec) = row.second.as_deref() {
                crate::packed::unpack(&sec.scratch, &mut self.two_pass);
                for &(col, j) in &columns {
                    if let (Some(slot), Some(v)) =
                        (self.unpacked.get_mut(col), self.two_pass.get_mut(j))
                    {
                        *slot = std::mem::take(v);
                    }
                }
            }
            self.builder.push_row(&self.unpacked);
            self.rows += 1;
            if self.builder.len() >= self.batch_rows {
                self.flush();
            }
        }
        if let Some(sp) = self.second.as_mut() {
            sp.recycle(packed, ends);
        }
    }

    fn flush(&mut self) {
        if self.builder.is_empty() {
            return;
        }
        let writer = &mut self.writer;
        let res = self
            .builder
            .with_batch(|b| writer.write_batch(b).into_result());
        if let Err(e) = res {
            if self.error.is_none() {
                self.error = Some(e.message.to_string());
            }
        }
    }

    fn finish(mut self, report: &mut RunReport) -> Result<(), String> {
        self.end_capture();
        if let Some(sp) = &self.second {
            report.merge_failures(&sp.failures);
            report.graph_windows = sp.windows;
            report.graph_windows_cut = sp.windows_cut;
        }
        self.flush();
        report.rows = self.rows;
        report.type_mismatches = self.builder.mismatches.0;
        if let Some(e) = self.error.take() {
            self.writer.abort();
            return Err(format!("output failed: {e}"));
        }
        match self.writer.finish().into_result() {
            Ok(s) => {
                report.write = s;
                Ok(())
            }
            Err(e) => {
                self.writer.abort();
                Err(format!("output failed: {}", e.message))
            }
        }
    }
}

/// Decodes frames and feeds one flow table: the per-thread half of the pipeline.
///
/// Every worker sees every frame (decoded once, by the worker that read it), counts the same
/// global frame indices and so runs expiry sweeps at the same points, but adds to its
/// flow table only the packets of its logical shards.
struct FrameProcessor {
    decoded: Decoded,
    inner: Decoded,
    /// IP fragment reassembly (not in JoyfulJay compat mode, which has none).
    defrag: Option<Defrag>,
    index: u64,
    clock: i64,
    /// (this worker, number of workers).
    shard: (usize, usize),
    /// Whether this processor's fragment reassembly counts go into the report (one does).
    counting: bool,
    /// Whether it counts frames, bytes and anomalies (inline runs; in parallel runs the
    /// worker that reads a batch counts it).
    count_frames: bool,
    compat: bool,
    /// JoyfulJay compat decodes like Scapy (outer IP of tunnels, no extension walk, ...).
    mode: DecodeMode,
    ip_packets: u64,
}

type Rows = Vec<Row>;

impl FrameProcessor {
    fn new(shard: (usize, usize), counting: bool, cfg: &EngineConfig) -> FrameProcessor {
        FrameProcessor {
            decoded: Decoded::default(),
            inner: Decoded::default(),
            defrag: (!cfg.compat_joyfuljay).then(|| Defrag::new(DefragConfig::default())),
            index: 0,
            clock: i64::MIN,
            shard,
            counting,
            count_frames: shard.1 == 1,
            compat: cfg.compat_joyfuljay,
            mode: if cfg.compat_joyfuljay {
                DecodeMode::JoyfulJay
            } else {
                DecodeMode::Correct
            },
            ip_packets: 0,
        }
    }

    /// Whether the worker `shard` = (this worker, number of workers) owns logical shard
    /// `logical`.
    fn owns(shard: (usize, usize), logical: usize) -> bool {
        logical % shard.1 == shard.0
    }

    /// Whether the worker `shard` owns the flow of `d` (no hashing with one worker).
    fn owns_flow(shard: (usize, usize), d: &Decoded) -> bool {
        shard.1 == 1 || Self::owns(shard, FlowKey::of(d).logical_shard())
    }

    /// Processes one batch; `rows` receives the finished rows at every window boundary.
    /// `pre`: the batch's frames already decoded (by the reading thread), one per frame;
    /// `None` decodes here.
    // `u64::is_multiple_of` is newer than the workspace's rust-version (1.85).
    #[allow(unknown_lints, clippy::manual_is_multiple_of)]
    fn process(
        &mut self,
        batch: &FrameBatch,
        pre: Option<&DecodedBatch>,
        table: &mut FlowTable,
        ex: &mut Extraction<'_>,
        report: &mut RunReport,
        rows: &mut dyn FnMut(Rows),
    ) {
        let mut scratch = std::mem::take(&mut self.decoded);
        for (i, fh) in batch.frames.iter().enumerate() {
            self.clock = self.clock.max(fh.ts_ns);
            let idx = self.index;
            self.index += 1;
            let (d, route) = match pre.and_then(|p| Some((p.decoded.get(i)?, *p.routes.get(i)?))) {
                Some((d, route)) => (d, route),
                None => {
                    let bytes = batch.bytes_of(fh);
                    decode_with(fh.linktype, bytes, fh.wire_len, self.mode, &mut scratch);
                    (&scratch, ROUTE_ALL)
                }
            };
            let wanted = match route {
                ROUTE_ALL => true,
                ROUTE_NONE => false,
                logical => Self::owns(self.shard, logical as usize),
            };
            if wanted {
                let routed = route != ROUTE_ALL;
                self.frame(fh, batch.bytes_of(fh), idx, d, routed, table, ex, report);
            }
            if self.index % WINDOW_PACKETS == 0 {
                if let Some(d) = &mut self.defrag {
                    d.expire(self.clock);
                }
                if !self.compat {
                    table.sweep(self.index, self.clock, ex);
                }
                rows(ex.take_rows());
            }
        }
        self.decoded = scratch;
    }

    /// One frame this worker has to look at (`idx`: its global index; `routed`: already
    /// known to belong to this worker's shards).
    #[allow(clippy::too_many_arguments)]
    // `u64::is_multiple_of` is newer than the workspace's rust-version (1.85).
    #[allow(unknown_lints, clippy::manual_is_multiple_of)]
    fn frame(
        &mut self,
        fh: &jj_plugin_api::FrameHeader,
        bytes: &[u8],
        idx: u64,
        d: &Decoded,
        routed: bool,
        table: &mut FlowTable,
        ex: &mut Extraction<'_>,
        report: &mut RunReport,
    ) {
        {
            if self.count_frames {
                report.frames += 1;
                report.bytes += fh.caplen as u64;
                report.count_decoded(d);
            }
            let fragment = d.anomalies & anomaly::FRAGMENT != 0;
            match (&mut self.defrag, fragment) {
                (Some(defrag), true) => {
                    // Fragments become one packet when their datagram completes.
                    if let Some(datagram) = defrag.push(fh.ts_ns, d, bytes) {
                        decode_ip(datagram, 0, &mut self.inner);
                        let outer = d;
                        let inner = &mut self.inner;
                        inner.has_eth = outer.has_eth;
                        inner.src_mac = outer.src_mac;
                        inner.dst_mac = outer.dst_mac;
                        inner.eth_type = outer.eth_type;
                        inner.vlan_id = outer.vlan_id;
                        inner.anomalies |=
                            (outer.anomalies & !anomaly::FRAGMENT) | anomaly::REASSEMBLED;
                        if self.counting {
                            report.reassembled_datagrams += 1;
                        }
                        let d = &self.inner;
                        if Self::owns_flow(self.shard, d) {
                            table.add(idx, fh.ts_ns, datagram.len() as u32, d, datagram, ex);
                        }
                    }
                }
                _ if d.ip_version != 0 => {
                    if routed || Self::owns_flow(self.shard, d) {
                        table.add(idx, fh.ts_ns, fh.wire_len, d, bytes, ex);
                    }
                    if self.compat {
                        self.ip_packets += 1;
                        if self.ip_packets % COMPAT_EXPIRY_EVERY == 0 {
                            table.sweep_compat(idx, fh.ts_ns, ex);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Live capture: the clock also follows the wall clock, so idle flows expire.
    fn tick(
        &mut self,
        now: i64,
        table: &mut FlowTable,
        ex: &mut Extraction<'_>,
        rows: &mut dyn FnMut(Rows),
    ) {
        self.clock = self.clock.max(now);
        if let Some(d) = &mut self.defrag {
            d.expire(self.clock);
        }
        table.sweep(self.index, self.clock, ex);
        rows(ex.take_rows());
    }

    /// End of input: every remaining flow.
    fn finish(
        &mut self,
        table: &mut FlowTable,
        ex: &mut Extraction<'_>,
        report: &mut RunReport,
        rows: &mut dyn FnMut(Rows),
    ) {
        // End-of-input rows go out in chunks, each worker's in order (the writer merges
        // several workers' chunks), so open flows' rows are never all held at once.
        table.flush_sorted(ex, ROWS_PER_BATCH, |ex| rows(ex.take_rows()));
        report.merge_flows(&table.counters);
        report.merge_failures(&ex.failures);
        if let (true, Some(d)) = (self.counting, &self.defrag) {
            let c = d.counters();
            report.fragments_pending_at_end += d.pending() as u64;
            let t = &mut report.defrag;
            t.fragments += c.fragments;
            t.reassembled += c.reassembled;
            t.timed_out += c.timed_out;
            t.overlaps += c.overlaps;
            t.duplicates += c.duplicates;
            t.conflicting_overlaps += c.conflicting_overlaps;
            t.dropped_over_memory += c.dropped_over_memory;
            t.too_big += c.too_big;
            t.bad += c.bad;
            t.truncated += c.truncated;
        }
    }
}

/// Pulls the next batch; `Ok(false)` at the end of the source.
fn pull(capture: &mut FfiCaptureSourceBox, batch: &mut FrameBatch, report: &mut RunReport) -> bool {
    batch.clear();
    match capture.next_batch(batch).into_result() {
        Ok(BatchStatus::Frames) | Ok(BatchStatus::Idle) => true,
        Ok(BatchStatus::End) => false,
        Err(e) => {
            report.capture_error = Some(e.message.to_string());
            false
        }
    }
}

/// Live sources: wall-clock ticks at most every `LIVE_SWEEP_NS`.
struct LiveTicker {
    live: bool,
    last: i64,
}

impl LiveTicker {
    fn tick(&mut self) -> Option<i64> {
        if !self.live {
            return None;
        }
        let now = wall_clock_ns();
        if now - self.last >= LIVE_SWEEP_NS {
            self.last = now;
            Some(now)
        } else {
            None
        }
    }
}

fn new_batch() -> FrameBatch {
    FrameBatch::with_limits(BATCH_FRAMES, BATCH_BYTES)
}

/// One output shared by the captures of a run (`jj extract DIR` feeds several files).
pub struct Session<'p> {
    plugins: &'p Plugins,
    plan: &'p Plan,
    cfg: &'p EngineConfig,
    output: Output,
    pub report: RunReport,
}

impl<'p> Session<'p> {
    pub fn new(
        plugins: &'p Plugins,
        plan: &'p Plan,
        writer: FfiWriterBox,
        schema: &jj_plugin_api::Schema,
        cfg: &'p EngineConfig,
    ) -> Result<Session<'p>, String> {
        let second = match SecondPass::new(plugins, plan) {
            Ok(s) => s,
            Err(e) => {
                let mut writer = writer;
                writer.abort();
                return Err(e);
            }
        };
        Ok(Session {
            plugins,
            plan,
            cfg,
            output: Output {
                writer,
                builder: BatchBuilder::new(schema),
                rows: 0,
                error: None,
                second,
                live: cfg.live,
                pool: RowPool::new(plan.selection.len()),
                spent: Vec::new(),
                batch_rows: writer_batch_rows(cfg.writer_batch_values, schema.columns.len()),
                unpacked: Vec::new(),
                two_pass: Vec::new(),
            },
            report: RunReport::default(),
        })
    }

    /// Extracts every flow of one capture into the shared output. Flows never span
    /// captures. `Err` only when the run cannot go on (an extractor failed to start);
    /// a damaged capture ends with `report.capture_error` set and its rows written.
    pub fn process(
        &mut self,
        capture: FfiCaptureSourceBox,
        stop: &AtomicBool,
    ) -> Result<(), String> {
        self.process_with(capture, None, stop)
    }

    /// [`Session::process`], with the same source also opened for chunked reading
    /// (plugin-api 1.2), which parallel runs use when given.
    pub fn process_with(
        &mut self,
        capture: FfiCaptureSourceBox,
        chunked: Option<FfiChunkedSourceBox>,
        stop: &AtomicBool,
    ) -> Result<(), String> {
        // With N > 1 threads, N workers read, decode, track flows and extract; one more
        // thread writes.
        let threads = if self.cfg.compat_joyfuljay {
            1
        } else {
            self.cfg.threads.clamp(1, LOGICAL_SHARDS)
        };
        let workers = threads;
        let mut extractions = Vec::new();
        for _ in 0..workers {
            extractions.push(Extraction::new(
                self.plugins,
                self.plan,
                self.output.pool.clone(),
            )?);
        }
        self.report.capture_error = None;
        let res = if threads == 1 {
            let ex = extractions.pop().expect("one extraction");
            run_inline(
                capture,
                ex,
                &mut self.output,
                self.cfg,
                &mut self.report,
                stop,
            )
        } else {
            run_parallel(
                capture,
                chunked.as_ref(),
                extractions,
                &mut self.output,
                self.cfg,
                &mut self.report,
                stop,
            )
        };
        self.output.end_capture();
        res
    }

    /// Flushes and finalises the output (or discards it on failure).
    pub fn finish(mut self) -> Result<RunReport, String> {
        self.output.finish(&mut self.report)?;
        Ok(self.report)
    }

    pub fn abort(mut self) {
        self.output.writer.abort();
    }
}

/// Runs one capture end to end (a one-capture [`Session`]).
pub fn run(
    plugins: &Plugins,
    plan: &Plan,
    capture: FfiCaptureSourceBox,
    writer: FfiWriterBox,
    schema: &jj_plugin_api::Schema,
    cfg: &EngineConfig,
    stop: &AtomicBool,
) -> Result<RunReport, String> {
    let mut session = Session::new(plugins, plan, writer, schema, cfg)?;
    if let Err(e) = session.process(capture, stop) {
        session.abort();
        return Err(e);
    }
    let capture_error = session.report.capture_error.clone();
    let mut report = session.finish()?;
    report.capture_error = capture_error;
    Ok(report)
}

fn run_inline(
    mut capture: FfiCaptureSourceBox,
    mut ex: Extraction<'_>,
    output: &mut Output,
    cfg: &EngineConfig,
    report: &mut RunReport,
    stop: &AtomicBool,
) -> Result<(), String> {
    let mut table = FlowTable::new(cfg.flow.clone());
    let mut proc = FrameProcessor::new((0, 1), true, cfg);
    let mut batch = new_batch();
    let mut ticker = LiveTicker {
        live: cfg.live,
        last: 0,
    };
    let mut emit = |rows: Rows| output.push(rows);
    loop {
        if stop.load(Ordering::Relaxed) {
            report.interrupted = true;
            break;
        }
        let more = pull(&mut capture, &mut batch, report);
        proc.process(&batch, None, &mut table, &mut ex, report, &mut emit);
        if let Some(now) = ticker.tick() {
            proc.tick(now, &mut table, &mut ex, &mut emit);
        }
        if !more {
            break;
        }
    }
    proc.finish(&mut table, &mut ex, report, &mut emit);
    report.capture = capture.stats();
    Ok(())
}

/// A batch of frames and, one per frame, their decoded headers: the reading thread
/// decodes every frame once for all workers.
struct DecodedBatch {
    frames: FrameBatch,
    decoded: Vec<Decoded>,
    /// Per frame: its logical shard, or [`ROUTE_ALL`] / [`ROUTE_NONE`].
    routes: Vec<u16>,
}

/// Every worker looks at this frame (an IP fragment: each worker reassembles).
const ROUTE_ALL: u16 = u16::MAX;
/// No worker needs this frame (not IP; it is counted when read).
const ROUTE_NONE: u16 = u16::MAX - 1;
const _: () = assert!(LOGICAL_SHARDS < ROUTE_NONE as usize);

impl DecodedBatch {
    fn new() -> DecodedBatch {
        DecodedBatch {
            frames: new_batch(),
            decoded: Vec::new(),
            routes: Vec::new(),
        }
    }

    /// Decodes every frame (correct mode: compat runs on one thread), routes it to its
    /// shard, and counts it into `report`.
    fn decode(&mut self, report: &mut RunReport) {
        let frames = &self.frames;
        self.decoded
            .resize_with(frames.frames.len(), Decoded::default);
        self.routes.clear();
        for (fh, d) in frames.frames.iter().zip(self.decoded.iter_mut()) {
            decode_with(
                fh.linktype,
                frames.bytes_of(fh),
                fh.wire_len,
                DecodeMode::Correct,
                d,
            );
            report.frames += 1;
            report.bytes += fh.caplen as u64;
            report.count_decoded(d);
            self.routes.push(if d.ip_version == 0 {
                ROUTE_NONE
            } else if d.anomalies & anomaly::FRAGMENT != 0 {
                ROUTE_ALL
            } else {
                FlowKey::of(d).logical_shard() as u16
            });
        }
    }
}

/// What a worker sends to the writer thread.
enum FromWorker {
    /// The rows of one window (every worker sends one per window, maybe empty).
    Window(Rows),
    /// End of input: a chunk of the worker's remaining rows, in order.
    Final(Rows),
}

/// The writer thread's end-of-input phase: a k-way merge of the workers' final chunks
/// (each worker's rows are in order), written in batches as they become certain.
fn merge_final(
    from_workers: &[Receiver<FromWorker>],
    mut heads: Vec<std::collections::VecDeque<Row>>,
    mut open: Vec<bool>,
    output: &mut Output,
) {
    loop {
        // Every worker still sending must have a row buffered before the smallest is known.
        for (w, rx) in from_workers.iter().enumerate() {
            while open[w] && heads[w].is_empty() {
                match rx.recv() {
                    Ok(FromWorker::Final(rows) | FromWorker::Window(rows)) => heads[w].extend(rows),
                    Err(_) => open[w] = false,
                }
            }
        }
        let mut out = Vec::new();
        while out.len() < ROWS_PER_BATCH {
            let Some(w) = (0..heads.len())
                .filter(|&w| !heads[w].is_empty())
                .min_by_key(|&w| heads[w][0].order)
            else {
                break;
            };
            out.extend(heads[w].pop_front());
            if heads[w].is_empty() && open[w] {
                break; // its next row may be smaller than the other heads
            }
        }
        if out.is_empty() {
            return; // every worker done and drained
        }
        output.push(out);
    }
}

/// Batches read ahead of the slowest worker at most.
const READ_AHEAD: u64 = 8;
/// A worker reads only when it has at most this many read batches left to process. 0
/// (read only when caught up) leaves the capture idle while both workers process; no
/// limit lets one worker read far ahead and then process alone while the other idles.
/// Measured on 2 cores, 1,000 MB capture, 2 threads: 0 → flow_meta 0.37 s, JJ-CORE
/// 0.59 s; 2 → 0.29 s, 0.46 s; 4 → 0.30 s, 0.53 s; unlimited → 0.42 s, 0.75 s.
const READ_LAG: u64 = 2;
/// `READ_LAG` for a chunked source, where reading is not exclusive. Measured the same way
/// (5 runs each, interleaved): lag 2 → flow_meta 0.230 s, JJ-CORE 0.404–0.407 s; lag 1 →
/// 0.222 s, 0.388–0.405 s; lag 0 → flow_meta 0.32 s. `READ_AHEAD` 4 instead of 8 was no
/// better.
const READ_LAG_CHUNKED: u64 = 1;
/// Batch size: small enough that a batch just read is still in cache when the workers go
/// through it (2 threads, 1,000 MB capture: 4,096 frames / 8 MiB → JJ-CORE 0.66 s, 1,024
/// frames / 1 MiB → 0.55 s; 256 / 256 KiB → 0.64 s).
const BATCH_FRAMES: u32 = 1024;
const BATCH_BYTES: u32 = 1 << 20;
/// Chunk size of chunked reading: one batch's bytes.
pub const CHUNK_BYTES: u64 = BATCH_BYTES as u64;

/// What the workers of a parallel run share: the capture, whose next batch any worker
/// may read, and the batches read so far that some worker has not processed yet.
struct ReadState {
    /// `None` while a worker is reading from it.
    capture: Option<FfiCaptureSourceBox>,
    /// Chunked reading: the next chunk to frame, and where its first record starts.
    framed: u64,
    next_first: u64,
    /// Index of the next batch to read.
    next_index: u64,
    /// Number of batches once the capture ended (or the run was stopped).
    end: Option<u64>,
    /// Batches `base..next_index`: `None` while the worker that claimed it reads and
    /// decodes it, then published there.
    published: std::collections::VecDeque<Option<(std::sync::Arc<DecodedBatch>, Option<i64>)>>,
    base: u64,
    /// Per worker: the index of the next batch it needs.
    needs: Vec<u64>,
    recycled: Vec<DecodedBatch>,
    ticker: LiveTicker,
    capture_error: Option<String>,
    interrupted: bool,
}

/// Marks a worker done when it leaves, however it leaves: a worker that panicked or
/// failed must not hold back the others' reading, and if it panicked while reading the
/// capture is gone, so the run ends for everyone after the batches already read.
struct LeaveGuard<'a> {
    shared: &'a (std::sync::Mutex<ReadState>, std::sync::Condvar),
    worker: usize,
}

impl Drop for LeaveGuard<'_> {
    fn drop(&mut self) {
        let (lock, cond) = self.shared;
        let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
        st.needs[self.worker] = u64::MAX;
        if std::thread::panicking() {
            // Batches from the first one not published on will never be: end there.
            let missing = st
                .published
                .iter()
                .position(Option::is_none)
                .map_or(st.next_index, |i| st.base + i as u64);
            st.end_at(missing);
        }
        st.trim();
        cond.notify_all();
    }
}

impl ReadState {
    /// The run ends before batch `e` (or earlier, if an end was already set: a worker
    /// that panicked may have cut it short while another was still reading).
    fn end_at(&mut self, e: u64) {
        self.end = Some(self.end.map_or(e, |old| old.min(e)));
    }

    /// Drops published batches every worker is done with.
    fn trim(&mut self) {
        let done = self.needs.iter().copied().min().unwrap_or(0);
        while self.base < done && !self.published.is_empty() {
            self.published.pop_front();
            self.base += 1;
        }
    }
}

/// Decodes batch `k` (outside the lock, so other workers read meanwhile), then publishes
/// it in the slot its reader claimed; returns the lock held again.
fn decode_and_publish<'a>(
    shared: &'a (std::sync::Mutex<ReadState>, std::sync::Condvar),
    k: u64,
    mut batch: DecodedBatch,
    tick: Option<i64>,
    part: &mut RunReport,
) -> Result<std::sync::MutexGuard<'a, ReadState>, String> {
    batch.decode(part);
    let (lock, cond) = shared;
    let mut st = lock
        .lock()
        .map_err(|_| "a worker thread panicked".to_string())?;
    let slot = (k - st.base) as usize;
    st.published[slot] = Some((std::sync::Arc::new(batch), tick));
    cond.notify_all();
    Ok(st)
}

/// Parallel run: `n` workers, each owning a fixed set of logical flow-table shards, and a
/// writer thread merging their rows.
///
/// There is no dedicated reading thread. Every worker processes every batch in order
/// (the packets of its own shards); a worker that needs a batch nobody has read yet reads
/// it from the capture and decodes all its frames, then publishes it for the others.
/// Reading thus goes to whichever worker is ahead, so the work balances itself whether
/// reading or flow tracking and extraction dominate. A worker reads at most
/// `READ_AHEAD` batches past the slowest one (bounded memory).
///
/// With a chunked source (plugin-api 1.2), batch `i` is chunk `i`: workers read chunks
/// at the same time (copying the bytes is most of reading) and only the framing, a walk
/// over the record headers, goes in chunk order.
fn run_parallel(
    capture: FfiCaptureSourceBox,
    chunked: Option<&FfiChunkedSourceBox>,
    extractions: Vec<Extraction<'_>>,
    output: &mut Output,
    cfg: &EngineConfig,
    report: &mut RunReport,
    stop: &AtomicBool,
) -> Result<(), String> {
    use std::sync::{Arc, Condvar, Mutex};
    let n = extractions.len();
    let shared = (
        Mutex::new(ReadState {
            capture: Some(capture),
            framed: 0,
            next_first: chunked.map_or(0, |c| c.start()),
            next_index: 0,
            end: None,
            published: Default::default(),
            base: 0,
            needs: vec![0; n],
            recycled: Vec::new(),
            ticker: LiveTicker {
                live: cfg.live,
                last: 0,
            },
            capture_error: None,
            interrupted: false,
        }),
        Condvar::new(),
    );
    let shared = &shared;
    let poisoned = || "a worker thread panicked".to_string();
    let (parts, stats) = std::thread::scope(|scope| -> Result<_, String> {
        let mut from_workers: Vec<Receiver<FromWorker>> = Vec::new();
        let mut handles = Vec::new();
        for (w, mut ex) in extractions.into_iter().enumerate() {
            // Few messages in flight: a window can hold thousands of rows (a flood of
            // evictions), and the writer is often the slower side.
            let (rtx, rrx) = sync_channel::<FromWorker>(2);
            from_workers.push(rrx);
            handles.push(scope.spawn(move || -> Result<RunReport, String> {
                let (lock, cond) = shared;
                let _leave = LeaveGuard { shared, worker: w };
                let mut table = FlowTable::new(cfg.flow.clone());
                let mut proc = FrameProcessor::new((w, n), w == 0, cfg);
                let mut part = RunReport::default();
                let mut emit = |rows: Rows| {
                    let _ = rtx.send(FromWorker::Window(rows));
                };
                let mut next = 0u64;
                let lag = if chunked.is_some() {
                    READ_LAG_CHUNKED
                } else {
                    READ_LAG
                };
                loop {
                    // Read the next batch when the capture is free (a chunked source always
                    // is), this worker has at most `lag` read batches left to process and
                    // the slowest worker is not too far behind; otherwise process batch
                    // `next`.
                    let mut st = lock.lock().map_err(|_| poisoned())?;
                    let got = loop {
                        let slowest = st.needs.iter().copied().min().unwrap_or(0);
                        let may_read = st.end.is_none()
                            && (chunked.is_some() || st.capture.is_some())
                            && st.next_index <= next + lag
                            && st.next_index < slowest.saturating_add(READ_AHEAD);
                        if may_read && stop.load(Ordering::Relaxed) {
                            st.interrupted = true;
                            st.end = Some(st.next_index);
                            cond.notify_all();
                            continue;
                        }
                        if let Some(chunked) = chunked.filter(|_| may_read) {
                            let k = st.next_index;
                            st.next_index += 1;
                            st.published.push_back(None);
                            let mut batch = st.recycled.pop().unwrap_or_else(DecodedBatch::new);
                            drop(st);
                            let read = chunked.read_chunk(k, &mut batch.frames).into_result();
                            st = lock.lock().map_err(|_| poisoned())?;
                            while st.framed != k && st.end.is_none_or(|e| k < e) {
                                st = cond.wait(st).map_err(|_| poisoned())?;
                            }
                            if st.end.is_some_and(|e| k >= e) {
                                st.recycled.push(batch);
                                continue;
                            }
                            let first = st.next_first;
                            drop(st);
                            let (next_first, ended, error) = match read {
                                Ok(()) => {
                                    let f = chunked.frame_chunk(k, first, &mut batch.frames);
                                    (f.next, f.end != 0, f.error.into_option())
                                }
                                Err(e) => {
                                    batch.frames.clear();
                                    (first, false, Some(e))
                                }
                            };
                            st = lock.lock().map_err(|_| poisoned())?;
                            st.framed = k + 1;
                            st.next_first = next_first;
                            if let Some(e) = error {
                                if st.capture_error.is_none() {
                                    st.capture_error = Some(e.message.to_string());
                                }
                                st.end_at(k + 1);
                            } else if ended {
                                st.end_at(k + 1);
                            }
                            cond.notify_all();
                            drop(st);
                            st = decode_and_publish(shared, k, batch, None, &mut part)?;
                            continue;
                        }
                        if may_read {
                            let mut capture = st.capture.take().expect("checked just above");
                            let mut batch = st.recycled.pop().unwrap_or_else(DecodedBatch::new);
                            let tick = st.ticker.tick();
                            let k = st.next_index;
                            st.next_index += 1;
                            st.published.push_back(None);
                            drop(st);
                            let mut read_report = RunReport::default();
                            let more = pull(&mut capture, &mut batch.frames, &mut read_report);
                            // The capture goes back before decoding: another worker can
                            // read the next batch meanwhile.
                            st = lock.lock().map_err(|_| poisoned())?;
                            st.capture = Some(capture);
                            if st.capture_error.is_none() {
                                st.capture_error = read_report.capture_error;
                            }
                            if !more {
                                st.end_at(k + 1);
                            }
                            cond.notify_all();
                            drop(st);
                            st = decode_and_publish(shared, k, batch, tick, &mut part)?;
                            continue;
                        }
                        if next >= st.base && next < st.base + st.published.len() as u64 {
                            if let Some((b, tick)) = &st.published[(next - st.base) as usize] {
                                break Some((b.clone(), *tick));
                            }
                        }
                        if st.end.is_some_and(|e| next >= e) {
                            break None;
                        }
                        st = cond.wait(st).map_err(|_| poisoned())?;
                    };
                    drop(st);
                    let Some((batch, tick)) = got else { break };
                    proc.process(
                        &batch.frames,
                        Some(&batch),
                        &mut table,
                        &mut ex,
                        &mut part,
                        &mut emit,
                    );
                    if let Some(now) = tick {
                        proc.tick(now, &mut table, &mut ex, &mut emit);
                    }
                    next += 1;
                    let mut st = lock.lock().map_err(|_| poisoned())?;
                    st.needs[w] = next;
                    st.trim();
                    // The last holder recycles the batch.
                    if let Ok(b) = Arc::try_unwrap(batch) {
                        st.recycled.push(b);
                    }
                    cond.notify_all();
                }
                let mut emit_final = |rows: Rows| {
                    let _ = rtx.send(FromWorker::Final(rows));
                };
                // Done reading: `_leave` tells the others before the final flush.
                drop(_leave);
                proc.finish(&mut table, &mut ex, &mut part, &mut emit_final);
                Ok(part)
            }));
        }
        // The writer merges the workers' windows in order: every worker emits the same
        // number of windows (same frame indices, same ticks), then its remaining rows as
        // `Final` chunks, merged by `merge_final`.
        let writer = scope.spawn(move || {
            let n = from_workers.len();
            let mut heads: Vec<std::collections::VecDeque<Row>> =
                (0..n).map(|_| Default::default()).collect();
            let mut open = vec![true; n];
            loop {
                let mut merged: Rows = Vec::new();
                let mut at_end = false;
                for (w, rx) in from_workers.iter().enumerate() {
                    match rx.recv() {
                        Ok(FromWorker::Window(rows)) => merged.extend(rows),
                        Ok(FromWorker::Final(rows)) => {
                            heads[w].extend(rows);
                            at_end = true;
                        }
                        Err(_) => {
                            open[w] = false;
                            at_end = true;
                        }
                    }
                }
                merged.sort_unstable_by_key(|r| r.order);
                output.push(merged);
                if at_end {
                    merge_final(&from_workers, heads, open, output);
                    break;
                }
            }
        });
        let mut parts = Vec::new();
        let mut failed = None;
        for h in handles {
            match h.join() {
                Ok(Ok(part)) => parts.push(part),
                Ok(Err(e)) => failed = Some(e),
                Err(_) => failed = Some(poisoned()),
            }
        }
        writer
            .join()
            .map_err(|_| "the writer thread panicked".to_string())?;
        if let Some(e) = failed {
            return Err(e);
        }
        let mut st = shared.0.lock().map_err(|_| poisoned())?;
        let stats = match chunked {
            Some(c) => c.stats(),
            None => st.capture.as_mut().map(|c| c.stats()).unwrap_or_default(),
        };
        report.capture_error = st.capture_error.take();
        report.interrupted |= st.interrupted;
        Ok((parts, stats))
    })?;
    for part in parts {
        report.absorb(part);
    }
    report.capture = stats;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assign_copies_every_kind_and_reuses_buffers() {
        let cases = [
            Value::Null,
            Value::Int(-3),
            Value::Float(2.5),
            Value::Bool(true),
            Value::Str("a longer string than the first".into()),
            Value::Str("".into()),
            Value::FloatList(vec![1.0, 2.0].into()),
            Value::IntList(vec![7].into()),
        ];
        // every kind onto every kind, starting from values that own buffers
        for from in &cases {
            for to in &cases {
                let mut dst = to.clone();
                assign(&mut dst, from);
                assert_eq!(&dst, from, "{to:?} <- {from:?}");
            }
        }
        let mut dst = Value::Null;
        dst.set_str(&"x".repeat(64));
        let ptr = match &dst {
            Value::Str(s) => s.as_ptr(),
            _ => unreachable!(),
        };
        assign(&mut dst, &Value::Str("short".into()));
        match &dst {
            Value::Str(s) => {
                assert_eq!(s.as_str(), "short");
                assert_eq!(s.as_ptr(), ptr, "the string buffer is reused");
            }
            _ => unreachable!(),
        }
    }

    #[test]
    fn writer_batch_rows_follow_the_writers_preference_within_bounds() {
        assert_eq!(writer_batch_rows(0, 153), ROWS_PER_BATCH, "no preference");
        assert_eq!(writer_batch_rows(16_384, 153), 107);
        assert_eq!(writer_batch_rows(16_384, 5), ROWS_PER_BATCH, "at most");
        assert_eq!(writer_batch_rows(16_384, 4_000), 16, "at least");
        assert_eq!(writer_batch_rows(16_384, 0), ROWS_PER_BATCH, "no columns");
    }

    #[test]
    fn row_pool_keeps_at_most_its_cap() {
        let pool = RowPool::new(1 << 20); // cap = 256 Ki / 1 Mi columns -> 0
        let mut spent = vec![vec![Value::Int(1)]; 3];
        pool.give(&mut spent);
        assert!(spent.is_empty());
        let mut got = Vec::new();
        pool.take(&mut got, 10);
        assert!(got.is_empty());

        let pool = RowPool::new(100); // cap = 2,621 rows
        let mut spent = vec![vec![Value::Int(1); 100]; 3000];
        pool.give(&mut spent);
        assert!(spent.is_empty(), "what does not fit is dropped");
        pool.take(&mut got, 5000);
        assert_eq!(got.len(), (256 << 10) / 100);
        let mut more = Vec::new();
        pool.take(&mut more, 1);
        assert!(more.is_empty());
    }
}
