//! Extractors: feature metadata, requirements and the plain-Rust traits authors implement.
use crate::{error::PluginResult, flow::FlowView, options::Options, value::Value};
use abi_stable::{
    std_types::{RString, RVec},
    StableAbi,
};

/// Column type of a feature.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    Int64 = 0,
    Float64 = 1,
    Bool = 2,
    String = 3,
    /// Variable-length list of float64 (sequences).
    FloatList = 4,
    /// Variable-length list of int64.
    IntList = 5,
}

impl DType {
    /// The schema name (JoyfulJay schema v1.0 `dtype`).
    pub fn as_str(self) -> &'static str {
        match self {
            DType::Int64 => "int64",
            DType::Float64 => "float64",
            DType::Bool => "bool",
            DType::String => "string",
            DType::FloatList => "list<float64>",
            DType::IntList => "list<int64>",
        }
    }

    pub fn parse(s: &str) -> Option<DType> {
        Some(match s {
            "int64" => DType::Int64,
            "float64" => DType::Float64,
            "bool" => DType::Bool,
            "string" => DType::String,
            "list<float64>" => DType::FloatList,
            "list<int64>" => DType::IntList,
            _ => return None,
        })
    }
}

/// Metadata of one feature, with JoyfulJay's schema v1.0 fields.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct FeatureMeta {
    /// Stable id `"{group}.{name}"`.
    pub id: RString,
    /// Unprefixed output column name.
    pub name: RString,
    pub dtype: DType,
    /// `[1]` for scalars; `[]` (empty) for variable-length lists.
    pub shape: RVec<i64>,
    pub units: RString,
    /// `flow`, `direction`, `burst`, `packet_seq`.
    pub scope: RString,
    /// `bidir`, `src_to_dst`, `dst_to_src`, `both`.
    pub direction: RString,
    pub direction_semantics: RString,
    /// `zero`, `nan`, `empty`, `sentinel`.
    pub missing_policy: RString,
    /// JSON literal of the sentinel (`null`, `-1`, `"unknown"`).
    pub missing_sentinel: RString,
    pub dependencies: RVec<RString>,
    /// `safe`, `sensitive`, `high`.
    pub privacy_level: RString,
    pub description: RString,
    /// Profile the feature belongs to by its author's declaration (`JJ-CORE`, ...);
    /// the profile files in `resources/profiles/` are authoritative.
    pub profile: RString,
}

impl FeatureMeta {
    /// A feature with the common defaults (`shape [1]`, scope `flow`, direction `bidir`,
    /// missing policy `zero`, privacy `safe`); adjust fields afterwards as needed.
    pub fn new(group: &str, name: &str, dtype: DType, description: &str) -> Self {
        FeatureMeta {
            id: format!("{group}.{name}").into(),
            name: name.into(),
            dtype,
            shape: if matches!(dtype, DType::FloatList | DType::IntList) {
                RVec::new()
            } else {
                vec![1].into()
            },
            units: RString::new(),
            scope: "flow".into(),
            direction: "bidir".into(),
            direction_semantics: "initiator is the sender of the first packet".into(),
            missing_policy: "zero".into(),
            missing_sentinel: "null".into(),
            dependencies: vec![RString::from("ip")].into(),
            privacy_level: "safe".into(),
            description: description.into(),
            profile: RString::new(),
        }
    }

    pub fn units(mut self, u: &str) -> Self {
        self.units = u.into();
        self
    }
    pub fn profile(mut self, p: &str) -> Self {
        self.profile = p.into();
        self
    }
    pub fn direction(mut self, d: &str) -> Self {
        self.direction = d.into();
        self
    }
    pub fn scope(mut self, s: &str) -> Self {
        self.scope = s.into();
        self
    }
    pub fn missing(mut self, policy: &str, sentinel_json: &str) -> Self {
        self.missing_policy = policy.into();
        self.missing_sentinel = sentinel_json.into();
        self
    }
    pub fn privacy(mut self, p: &str) -> Self {
        self.privacy_level = p.into();
        self
    }
    pub fn deps(mut self, deps: &[&str]) -> Self {
        self.dependencies = deps.iter().map(|d| RString::from(*d)).collect();
        self
    }
}

/// What an extractor needs the host to keep per flow. The host keeps the maximum over
/// all loaded extractors, and never more.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    /// Payload bytes kept per packet (0 = none).
    pub payload_bytes_per_packet: u32,
    /// Payload bytes kept per direction over the whole flow (0 = none).
    pub payload_bytes_per_direction: u32,
    /// Bytes of reassembled TCP stream kept per direction (0 = no reassembly).
    pub stream_bytes_per_direction: u32,
    /// Keep the raw TCP option bytes of every packet.
    pub tcp_option_bytes: u8,
    /// The extractor needs every flow of a window before it can compute a row
    /// (JoyfulJay's connection-graph group). The host runs it in two passes: see
    /// [`Extractor::observe_row`].
    pub needs_all_flows: u8,
    pub _reserved: [u8; 2],
}

impl Requirements {
    /// The element-wise maximum: what the host keeps when several extractors are loaded.
    pub fn merge(self, o: Requirements) -> Requirements {
        Requirements {
            payload_bytes_per_packet: self
                .payload_bytes_per_packet
                .max(o.payload_bytes_per_packet),
            payload_bytes_per_direction: self
                .payload_bytes_per_direction
                .max(o.payload_bytes_per_direction),
            stream_bytes_per_direction: self
                .stream_bytes_per_direction
                .max(o.stream_bytes_per_direction),
            tcp_option_bytes: self.tcp_option_bytes.max(o.tcp_option_bytes),
            needs_all_flows: self.needs_all_flows.max(o.needs_all_flows),
            _reserved: [0; 2],
        }
    }
}

/// A byte of a record header that must hold one of some values ([`StreamFraming`]).
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteCheck {
    /// Position in the record header.
    pub offset: u8,
    pub _reserved: [u8; 7],
    /// Allowed values: bit `v % 64` of word `v / 64`.
    pub allowed: [u64; 4],
}

impl ByteCheck {
    /// Every value allowed (a check that never fails).
    pub const ANY: ByteCheck = ByteCheck {
        offset: 0,
        _reserved: [0; 7],
        allowed: [u64::MAX; 4],
    };

    /// The header byte at `offset` must be one of `values`.
    pub const fn one_of(offset: u8, values: &[u8]) -> ByteCheck {
        let mut allowed = [0u64; 4];
        let mut i = 0;
        while i < values.len() {
            let v = values[i] as usize;
            allowed[v / 64] |= 1 << (v % 64);
            i += 1;
        }
        ByteCheck {
            offset,
            _reserved: [0; 7],
            allowed,
        }
    }

    /// Whether `header` passes (a header too short to hold the byte fails).
    pub fn passes(&self, header: &[u8]) -> bool {
        match header.get(usize::from(self.offset)) {
            Some(&v) => self.allowed[usize::from(v / 64)] & (1 << (v % 64)) != 0,
            None => false,
        }
    }
}

/// How an extractor reads its TCP streams (since plugin-api 1.3, see
/// [`ExtractorFactory::stream_framing`]): as length-prefixed records, of which it reads
/// only those before the first record whose header fails a check. The host may then
/// stop keeping a direction's stream at that record: the bytes the extractor sees end
/// where the record starts, and nothing of the direction is copied after it.
///
/// A record is `header_len` header bytes then a body whose length is the big-endian
/// `length_size`-byte number at `length_offset` in the header. TLS, for instance: 5-byte
/// header, length in bytes 3–4, content type (byte 0) 20, 21, 22 or 24 and version major
/// (byte 1) 3 to go on (an application-data record, type 23, ends what is read).
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamFraming {
    /// Header bytes per record, 1..=32.
    pub header_len: u8,
    /// The body length field: position in the header and size in bytes (1..=4).
    pub length_offset: u8,
    pub length_size: u8,
    pub _reserved: [u8; 5],
    /// Checks every record header must pass for the stream to go on.
    pub checks: [ByteCheck; 2],
}

impl StreamFraming {
    /// Records of `header_len` header bytes with the body length at `length_offset`
    /// (`length_size` bytes, big-endian), without checks yet.
    pub const fn records(header_len: u8, length_offset: u8, length_size: u8) -> StreamFraming {
        StreamFraming {
            header_len,
            length_offset,
            length_size,
            _reserved: [0; 5],
            checks: [ByteCheck::ANY, ByteCheck::ANY],
        }
    }

    /// With `check` as check number `i` (0 or 1; others are ignored).
    pub const fn check(mut self, i: usize, check: ByteCheck) -> StreamFraming {
        if i < 2 {
            self.checks[i] = check;
        }
        self
    }

    /// Why the host cannot use this framing, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let (h, o, s) = (self.header_len, self.length_offset, self.length_size);
        if !(1..=32).contains(&h) {
            return Some(format!("header_len {h} is not in 1..=32"));
        }
        if !(1..=4).contains(&s) || u16::from(o) + u16::from(s) > u16::from(h) {
            return Some(format!(
                "the length field (offset {o}, {s} bytes) does not fit a {h}-byte header in 1..=4 bytes"
            ));
        }
        self.checks
            .iter()
            .find(|c| c.allowed != [u64::MAX; 4] && c.offset >= h)
            .map(|c| format!("a check reads byte {} of a {h}-byte header", c.offset))
    }

    /// The whole length of the record whose header is `header` (at least `header_len`
    /// bytes), or `None` if the header fails a check.
    pub fn record_len(&self, header: &[u8]) -> Option<u64> {
        if !self.checks.iter().all(|c| c.passes(header)) {
            return None;
        }
        let at = usize::from(self.length_offset);
        let field = header.get(at..at + usize::from(self.length_size))?;
        let body = field.iter().fold(0u64, |n, &b| n << 8 | u64::from(b));
        Some(u64::from(self.header_len) + body)
    }
}

/// What an extractor produces under given options.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct ExtractorInfo {
    /// Feature group (the id prefix), e.g. `flow_meta`.
    pub group: RString,
    /// Features in output column order. `extract` fills exactly this many values.
    pub features: RVec<FeatureMeta>,
    pub requirements: Requirements,
}

/// A per-thread extractor instance. The host creates one per worker thread, so `&mut self`
/// state (scratch buffers) needs no locking.
pub trait Extractor: Send + 'static {
    /// Fills `out` (one slot per feature of [`ExtractorInfo::features`], in order) for one
    /// flow. Slots hold values written for some earlier flow: set every slot. An `Err` or a panic
    /// makes the host null this extractor's columns for this flow and count the failure.
    fn extract(&mut self, flow: &FlowView<'_>, out: &mut [Value]) -> PluginResult<()>;

    /// Deprecated since plugin-api 1.1: never called. Two-pass extractors implement
    /// [`Extractor::observe_row`] and [`Extractor::finish_row`].
    fn observe(&mut self, _flow: &FlowView<'_>) -> PluginResult<()> {
        Ok(())
    }

    /// Two-pass extractors only (`needs_all_flows`), since plugin-api 1.1.
    ///
    /// The host runs such an extractor in two passes, map then reduce:
    /// 1. `extract` on every flow, like any extractor (any worker thread, full view).
    ///    Its slots are scratch here: put in them whatever the second pass needs (any
    ///    [`Value`] variant in any slot; the host does not check dtypes yet).
    /// 2. Per *graph window* (a run of consecutive output rows, see docs/plugin-api.md),
    ///    on one instance, in output order: `observe_row` for every flow of the window with
    ///    its scratch values, then `finish_row` for the same flows in the same order, which
    ///    must overwrite every slot with the final value. The next window starts with
    ///    `observe_row` again: drop the previous window's state then.
    ///
    /// Over the C ABI both second-pass calls are `extract` calls with
    /// [`FlowView::pass`] set ([`crate::flow_pass`]); [`crate::export_plugin!`]'s shim
    /// dispatches them here, so a library built against 1.0 still loads (its vtable is
    /// unchanged).
    ///
    /// In pass 2 the view has the flow's key fields (addresses, ports, protocol,
    /// `first_packet_index`, `end_reason`, `link`, `anomalies`) but **no packets, payload
    /// or streams**: the host keeps only rows between the passes, never packets.
    fn observe_row(&mut self, _flow: &FlowView<'_>, _row: &[Value]) -> PluginResult<()> {
        Ok(())
    }

    /// See [`Extractor::observe_row`]. An `Err` or a panic nulls this extractor's columns
    /// for this flow and is counted.
    fn finish_row(&mut self, _flow: &FlowView<'_>, _row: &mut [Value]) -> PluginResult<()> {
        Ok(())
    }
}

/// The component an extractor library registers.
pub trait ExtractorFactory: Send + Sync + 'static {
    type Instance: Extractor;
    /// Feature list and requirements under `options`. Must not depend on anything but options.
    fn describe(&self, options: &Options) -> PluginResult<ExtractorInfo>;
    /// A fresh instance (one per worker thread).
    fn create(&self, options: &Options) -> PluginResult<Self::Instance>;
    /// Since plugin-api 1.3: how this extractor reads the TCP streams it asks for, if as
    /// records ([`StreamFraming`]). With a framing the host may keep less of a stream:
    /// only the records before the first one that fails the framing's checks. It applies
    /// it only when every loaded extractor that asks for streams declares the same
    /// framing. `None` (the default): the whole stream, up to the requested bytes.
    fn stream_framing(&self) -> Option<StreamFraming> {
        None
    }
    /// Since plugin-api 1.4: every option key this component reads, so that the host can
    /// reject a misspelt key in a config file's `[plugins.<name>]` tables. `None` (the
    /// default): not declared, and the host, unable to tell, only warns about keys no
    /// loaded component declares. `Some(vec![])`: it reads none.
    fn options(&self) -> Option<Vec<crate::options::OptionSpec>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_checks() {
        let c = ByteCheck::one_of(1, &[0, 3, 64, 255]);
        for v in 0..=255u8 {
            assert_eq!(c.passes(&[9, v]), [0, 3, 64, 255].contains(&v), "{v}");
        }
        assert!(!c.passes(&[3]), "a header too short fails");
        assert!(ByteCheck::ANY.passes(&[7]));
    }

    /// TLS-like records: 5-byte header, length in bytes 3–4, type 22 or 20, major 3.
    #[test]
    fn record_lengths_and_checks() {
        let f = StreamFraming::records(5, 3, 2)
            .check(0, ByteCheck::one_of(0, &[20, 22]))
            .check(1, ByteCheck::one_of(1, &[3]));
        assert_eq!(f.problem(), None);
        assert_eq!(f.record_len(&[22, 3, 1, 0x01, 0x02]), Some(5 + 0x0102));
        assert_eq!(f.record_len(&[20, 3, 3, 0, 0]), Some(5));
        assert_eq!(f.record_len(&[23, 3, 3, 0, 5]), None, "type 23 fails");
        assert_eq!(f.record_len(&[22, 2, 0, 0, 5]), None, "major 2 fails");
        // a 3-byte big-endian length, with a 1-byte header offset
        let g = StreamFraming::records(4, 1, 3);
        assert_eq!(g.record_len(&[0, 1, 0, 2]), Some(4 + 0x010002));
    }

    #[test]
    fn unusable_framings_say_why() {
        assert!(StreamFraming::records(0, 0, 1).problem().is_some());
        assert!(StreamFraming::records(33, 0, 1).problem().is_some());
        assert!(
            StreamFraming::records(4, 3, 2).problem().is_some(),
            "length past the header"
        );
        assert!(
            StreamFraming::records(4, 0, 5).problem().is_some(),
            "length of 5 bytes"
        );
        assert!(StreamFraming::records(4, 0, 0).problem().is_some());
        let far = StreamFraming::records(4, 0, 2).check(1, ByteCheck::one_of(4, &[1]));
        assert!(far.problem().is_some(), "a check past the header");
        assert!(StreamFraming::records(4, 2, 2).problem().is_none());
    }
}
