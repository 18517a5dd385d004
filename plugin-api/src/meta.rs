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
}
