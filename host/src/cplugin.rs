//! Loads C extractors: shared libraries that export `jj_c_extractor_entry` as described in
//! `plugin-api/include/jj_plugin.h`.
//!
//! Everything the host needs from the descriptor (names, feature list, requirements,
//! function pointers) is validated and copied at load time, so nothing here keeps a pointer
//! into the library's data. The `jj_flow *` handed to the C `extract` is the host's own
//! [`FlowView`]: the header mirrors its layout byte for byte, and the tests below pin the
//! offsets on both sides to the same numbers.
//!
//! With the abi_stable loader, this is the only module allowed to use `unsafe`.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

use jj_plugin_api::{DType, ExtractorInfo, FeatureMeta, FlowView, Requirements, Value};
use std::{
    collections::HashSet,
    ffi::{c_char, c_int, c_void, CStr, CString},
    path::Path,
    ptr::NonNull,
    sync::Arc,
};

/// The C extractor ABI version this host implements (`JJ_C_ABI_VERSION`).
pub const C_ABI_VERSION: u32 = 1;

const ENTRY_SYMBOL: &[u8] = b"jj_c_extractor_entry\0";
/// A sanity bound on `n_features`, so a garbage descriptor fails cleanly.
const MAX_FEATURES: usize = 65_536;
/// A sanity bound on the options list, so a list without its end entry fails cleanly.
const MAX_OPTIONS: usize = 4_096;

// ---- mirrors of the C contract types (jj_plugin.h) ----

/// `jj_value`.
#[repr(C)]
#[derive(Clone, Copy)]
struct RawValue {
    kind: u32,
    _pad: u32,
    i: i64,
    f: f64,
    s: *const c_char,
    s_len: usize,
}

impl RawValue {
    const NULL: RawValue = RawValue {
        kind: 0,
        _pad: 0,
        i: 0,
        f: 0.0,
        s: std::ptr::null(),
        s_len: 0,
    };
}

/// `jj_c_feature`.
#[repr(C)]
struct RawFeature {
    name: *const c_char,
    dtype: *const c_char,
    units: *const c_char,
    description: *const c_char,
    profile: *const c_char,
}

/// `jj_c_option` (revision 1.1).
#[repr(C)]
struct RawOption {
    key: *const c_char,
    help: *const c_char,
}

type CreateFn = unsafe extern "C" fn(options: *const c_char) -> *mut c_void;
type ExtractFn =
    unsafe extern "C" fn(instance: *mut c_void, flow: *const c_void, out: *mut RawValue) -> c_int;
type DestroyFn = unsafe extern "C" fn(instance: *mut c_void);
type EntryFn = unsafe extern "C" fn() -> *const RawExtractor;

/// `jj_c_extractor` as revision 1.0 defined it; later revisions append fields.
#[repr(C)]
struct RawExtractor {
    abi_version: u32,
    struct_size: u32,
    name: *const c_char,
    version: *const c_char,
    group: *const c_char,
    n_features: usize,
    features: *const RawFeature,
    payload_bytes_per_packet: u32,
    payload_bytes_per_direction: u32,
    create: Option<CreateFn>,
    extract: Option<ExtractFn>,
    destroy: Option<DestroyFn>,
}

/// `jj_c_extractor` of revision 1.1: 1.0's fields, then `options`.
#[repr(C)]
struct RawExtractor11 {
    base: RawExtractor,
    options: *const RawOption,
}

// ---- the loaded library ----

/// What the library and its instances share. `_lib` is the last field so that it is
/// dropped (unloading the library) after everything else.
struct Shared {
    create: CreateFn,
    extract: ExtractFn,
    destroy: DestroyFn,
    dtypes: Vec<DType>,
    names: Vec<String>,
    _lib: libloading::Library,
}

/// A loaded C extractor library. Instances keep the library loaded after this is dropped.
pub struct CExtractorLib {
    name: String,
    version: String,
    group: String,
    info: ExtractorInfo,
    /// `(key, help)` of the options it declares; `None` when it does not (revision 1.0, or
    /// `options` NULL).
    options: Option<Vec<(String, String)>>,
    /// The contract revision its descriptor is complete for (`1.0` or `1.1`).
    revision: &'static str,
    shared: Arc<Shared>,
}

impl CExtractorLib {
    /// Loads `path` as a C extractor. `Ok(None)` if the library has no
    /// `jj_c_extractor_entry` symbol; `Err` with a one-line reason if it has one but the
    /// descriptor is unusable.
    pub fn load(path: &Path) -> Result<Option<CExtractorLib>, String> {
        // SAFETY: loading a library runs its initialisers; jj trusts the files in its
        // plugin directories exactly as the abi_stable loader does.
        let lib = unsafe { libloading::Library::new(path) }.map_err(|e| {
            let msg = e.to_string();
            let msg = msg.rsplit(": ").next().unwrap_or(&msg).trim().to_string();
            format!("not a loadable shared library ({msg})")
        })?;
        // SAFETY: jj_plugin.h declares the symbol as `const jj_c_extractor *(void)`; reading
        // it as an `Option` of that function type makes a null symbol value harmless.
        let entry = match unsafe { lib.get::<Option<EntryFn>>(ENTRY_SYMBOL) } {
            Ok(sym) => *sym,
            Err(_) => return Ok(None),
        };
        let entry = entry.ok_or("jj_c_extractor_entry is a null symbol")?;
        // SAFETY: the contract: no arguments, returns a descriptor pointer or NULL.
        let raw = unsafe { entry() };
        if raw.is_null() {
            return Err("jj_c_extractor_entry returned NULL".to_string());
        }
        if !raw.is_aligned() {
            return Err("jj_c_extractor_entry returned a misaligned pointer".to_string());
        }
        // Every version of the descriptor starts with `uint32_t abi_version, struct_size`;
        // read those two before trusting the rest.
        let head = raw.cast::<u32>();
        // SAFETY: `raw` is non-null and aligned, and the first 8 bytes exist in every version.
        let (abi_version, struct_size) = unsafe { (head.read(), head.add(1).read()) };
        if abi_version != C_ABI_VERSION {
            return Err(format!(
                "C ABI version {abi_version}, this jj supports {C_ABI_VERSION}"
            ));
        }
        let need = std::mem::size_of::<RawExtractor>();
        if (struct_size as usize) < need {
            return Err(format!(
                "jj_c_extractor struct_size is {struct_size}, C ABI version {C_ABI_VERSION} needs at least {need}"
            ));
        }
        // SAFETY: struct_size vouches for a complete version-1 descriptor, which the contract
        // keeps valid and unchanged while the library is loaded (it is, until return).
        let d: &RawExtractor = unsafe { &*raw };
        let parsed = parse_descriptor(d)?;
        let (options, revision) = if struct_size as usize >= std::mem::size_of::<RawExtractor11>() {
            // SAFETY: struct_size vouches for the 1.1 fields as well.
            let d11: &RawExtractor11 = unsafe { &*raw.cast::<RawExtractor11>() };
            (parse_options(d11.options)?, "1.1")
        } else {
            (None, "1.0")
        };
        let shared = Arc::new(Shared {
            create: d.create.ok_or("jj_c_extractor.create is NULL")?,
            extract: d.extract.ok_or("jj_c_extractor.extract is NULL")?,
            destroy: d.destroy.ok_or("jj_c_extractor.destroy is NULL")?,
            dtypes: parsed.info.features.iter().map(|f| f.dtype).collect(),
            names: parsed
                .info
                .features
                .iter()
                .map(|f| f.name.to_string())
                .collect(),
            _lib: lib,
        });
        Ok(Some(CExtractorLib {
            name: parsed.name,
            version: parsed.version,
            group: parsed.info.group.to_string(),
            info: parsed.info,
            options,
            revision,
            shared,
        }))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    /// The options it declares as `(key, help)`; `None` when it does not declare them.
    pub fn options(&self) -> Option<&[(String, String)]> {
        self.options.as_deref()
    }

    /// The contract revision of its descriptor, e.g. `1.1`.
    pub fn revision(&self) -> &'static str {
        self.revision
    }

    /// Feature list and requirements (fixed at load time; C extractors do not depend on options).
    pub fn info(&self) -> ExtractorInfo {
        self.info.clone()
    }

    /// A new instance (the host makes one per worker thread). `options` is the
    /// `key=value\n` text given to every extractor.
    pub fn create(&self, options: &str) -> Result<CExtractorInstance, String> {
        let text = CString::new(options).map_err(|_| "options contain a NUL byte".to_string())?;
        // SAFETY: `create` comes from a validated descriptor of a library `shared` keeps
        // loaded; `text` is NUL-terminated and outlives the call.
        let ptr = unsafe { (self.shared.create)(text.as_ptr()) };
        let ptr = NonNull::new(ptr)
            .ok_or_else(|| format!("C extractor '{}': create returned NULL", self.name))?;
        Ok(CExtractorInstance {
            ptr,
            slots: vec![RawValue::NULL; self.shared.dtypes.len()],
            shared: Arc::clone(&self.shared),
        })
    }
}

struct Parsed {
    name: String,
    version: String,
    info: ExtractorInfo,
}

fn parse_descriptor(d: &RawExtractor) -> Result<Parsed, String> {
    // SAFETY: only called on string fields of the descriptor or of its features, which the
    // contract makes NULL or NUL-terminated strings valid while the library is loaded.
    let text = |p: *const c_char, what: &str| unsafe { c_str(p, what) };
    let name = text(d.name, "jj_c_extractor.name")?.ok_or("jj_c_extractor.name is NULL")?;
    let version =
        text(d.version, "jj_c_extractor.version")?.ok_or("jj_c_extractor.version is NULL")?;
    let group = text(d.group, "jj_c_extractor.group")?.ok_or("jj_c_extractor.group is NULL")?;
    if name.is_empty() || group.is_empty() {
        return Err("jj_c_extractor.name and .group must not be empty".to_string());
    }
    if d.n_features == 0 {
        return Err("jj_c_extractor declares no features".to_string());
    }
    if d.n_features > MAX_FEATURES {
        return Err(format!(
            "jj_c_extractor.n_features is {} (at most {MAX_FEATURES})",
            d.n_features
        ));
    }
    if d.features.is_null() || !d.features.is_aligned() {
        return Err("jj_c_extractor.features is NULL or misaligned".to_string());
    }
    // SAFETY: the contract: `features` points to `n_features` entries valid while loaded.
    let raw_features = unsafe { std::slice::from_raw_parts(d.features, d.n_features) };
    let mut seen = HashSet::new();
    let mut features = Vec::with_capacity(raw_features.len());
    for (i, f) in raw_features.iter().enumerate() {
        let what = |field: &str| format!("feature {i}: {field}");
        let fname = text(f.name, &what("name"))?.ok_or_else(|| what("name is NULL"))?;
        if fname.is_empty() {
            return Err(what("name is empty"));
        }
        if !seen.insert(fname.clone()) {
            return Err(format!("feature '{fname}' is declared twice"));
        }
        let dtype_text = text(f.dtype, &what("dtype"))?.ok_or_else(|| what("dtype is NULL"))?;
        let dtype = DType::parse(&dtype_text)
            .filter(|t| matches!(t, DType::Int64 | DType::Float64 | DType::Bool | DType::String))
            .ok_or_else(|| {
                format!("feature '{fname}': unknown dtype '{dtype_text}' (expected int64, float64, bool or string)")
            })?;
        let units = text(f.units, &what("units"))?.unwrap_or_default();
        let description = text(f.description, &what("description"))?.unwrap_or_default();
        let profile = text(f.profile, &what("profile"))?.unwrap_or_default();
        features.push(
            FeatureMeta::new(&group, &fname, dtype, &description)
                .units(&units)
                .profile(&profile),
        );
    }
    let requirements = Requirements {
        payload_bytes_per_packet: d.payload_bytes_per_packet,
        payload_bytes_per_direction: d.payload_bytes_per_direction,
        ..Requirements::default()
    };
    Ok(Parsed {
        name,
        version,
        info: ExtractorInfo {
            group: group.into(),
            features: features.into(),
            requirements,
        },
    })
}

/// Reads the revision 1.1 options list: `None` for NULL (not declared), else the entries
/// before the one whose key is NULL.
fn parse_options(list: *const RawOption) -> Result<Option<Vec<(String, String)>>, String> {
    if list.is_null() {
        return Ok(None);
    }
    if !list.is_aligned() {
        return Err("jj_c_extractor.options is misaligned".to_string());
    }
    let mut options = Vec::new();
    for i in 0..=MAX_OPTIONS {
        // SAFETY: the contract: `options` is an array ended by an entry whose key is NULL,
        // valid while the library is loaded; this reads up to and including that entry.
        let o = unsafe { &*list.add(i) };
        if o.key.is_null() {
            return Ok(Some(options));
        }
        if i == MAX_OPTIONS {
            break;
        }
        let what = format!("option {i}");
        // SAFETY: key and help are NULL or NUL-terminated strings valid while loaded.
        let key = unsafe { c_str(o.key, &format!("{what}: key")) }?.unwrap_or_default();
        let help = unsafe { c_str(o.help, &format!("{what}: help")) }?.unwrap_or_default();
        if key.is_empty()
            || key.starts_with('#')
            || key.contains(|c: char| c == '=' || c.is_whitespace())
        {
            return Err(format!(
                "{what}: key '{key}' must not be empty, start with '#' or hold '=', spaces or line breaks"
            ));
        }
        options.push((key, help));
    }
    Err(format!(
        "jj_c_extractor.options has no end entry (key NULL) within {MAX_OPTIONS} entries"
    ))
}

/// Copies a C string; `Ok(None)` for NULL, `Err` if it is not UTF-8.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string valid for the duration of the call.
unsafe fn c_str(p: *const c_char, what: &str) -> Result<Option<String>, String> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-null and NUL-terminated per the caller's guarantee.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .map(|s| Some(s.to_string()))
        .map_err(|_| format!("{what} is not valid UTF-8"))
}

// ---- instances ----

/// One instance of a C extractor (one per worker thread). Destroyed on drop.
pub struct CExtractorInstance {
    ptr: NonNull<c_void>,
    /// The `jj_value` array handed to C, reused across flows.
    slots: Vec<RawValue>,
    shared: Arc<Shared>,
}

// SAFETY: the contract (jj_plugin.h, "Threading") lets an instance be used from any thread
// as long as one thread at a time calls it, which `&mut self` in `extract` guarantees; the
// `slots` pointers only refer to C memory during one `extract` call.
unsafe impl Send for CExtractorInstance {}

impl CExtractorInstance {
    /// Calls the C `extract` for `flow` and converts its values into `out` (one slot per
    /// feature, in order; string slots reuse their buffers). A non-zero return, an unknown
    /// kind, a kind that does not match the feature's dtype, or a non-UTF-8 string is an `Err`
    /// (slots before the offending one may already be overwritten).
    pub fn extract(&mut self, flow: &FlowView<'_>, out: &mut [Value]) -> Result<(), String> {
        if out.len() != self.slots.len() {
            return Err(format!(
                "{} output slots given, the extractor has {} features",
                out.len(),
                self.slots.len()
            ));
        }
        self.slots.fill(RawValue::NULL);
        let flow_ptr = (flow as *const FlowView<'_>).cast::<c_void>();
        // SAFETY: `ptr` came from this library's `create` and is not destroyed yet; `flow`
        // is a live FlowView whose layout jj_plugin.h mirrors (pinned by the tests below);
        // `slots` holds exactly n_features values for the C side to fill.
        let rc =
            unsafe { (self.shared.extract)(self.ptr.as_ptr(), flow_ptr, self.slots.as_mut_ptr()) };
        if rc != 0 {
            return Err(format!("extract returned {rc}"));
        }
        for (i, (raw, slot)) in self.slots.iter().zip(out.iter_mut()).enumerate() {
            // SAFETY: `raw` was just written by `extract`; per the contract its string
            // stays valid until the next `extract` call on this instance.
            unsafe { convert(raw, self.shared.dtypes[i], slot) }
                .map_err(|e| format!("value of '{}': {e}", self.shared.names[i]))?;
        }
        Ok(())
    }
}

impl Drop for CExtractorInstance {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `create` and is destroyed exactly once, here; `shared`
        // (a field, dropped after this) keeps the library loaded.
        unsafe { (self.shared.destroy)(self.ptr.as_ptr()) }
    }
}

fn kind_name(kind: u32) -> &'static str {
    match kind {
        1 => "JJ_INT",
        2 => "JJ_FLOAT",
        3 => "JJ_BOOL",
        _ => "JJ_STR",
    }
}

/// Converts one `jj_value` into a [`Value`].
///
/// # Safety
/// For `JJ_STR`, `raw.s` must be NULL or point to `raw.s_len` readable bytes.
unsafe fn convert(raw: &RawValue, dtype: DType, slot: &mut Value) -> Result<(), String> {
    match (raw.kind, dtype) {
        (0, _) => slot.set_null(),
        (1, DType::Int64) => slot.set_int(raw.i),
        (2, DType::Float64) => slot.set_float(raw.f),
        (3, DType::Bool) => slot.set_bool(raw.i != 0),
        (4, DType::String) => {
            let bytes: &[u8] = if raw.s_len == 0 {
                &[]
            } else if raw.s.is_null() {
                return Err(format!("JJ_STR with s_len {} and s NULL", raw.s_len));
            } else if raw.s_len > isize::MAX as usize {
                return Err(format!("JJ_STR with s_len {}", raw.s_len));
            } else {
                // SAFETY: non-null, `s_len` bytes readable per the caller's guarantee.
                unsafe { std::slice::from_raw_parts(raw.s.cast::<u8>(), raw.s_len) }
            };
            let text =
                std::str::from_utf8(bytes).map_err(|_| "JJ_STR is not valid UTF-8".to_string())?;
            slot.set_str(text);
        }
        (k @ 1..=4, _) => {
            return Err(format!(
                "kind {}, but the dtype is {}",
                kind_name(k),
                dtype.as_str()
            ))
        }
        (k, _) => return Err(format!("unknown value kind {k}")),
    }
    Ok(())
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::*;
    use jj_plugin_api::{abi_stable::std_types::RSlice, LinkInfo, PacketRecord, StreamView};
    use std::mem::{offset_of, size_of};

    /// `(key, offset computed here)`. The numbers are pinned three times: against the
    /// constants in [`PINNED`], in the static asserts of jj_plugin.h, and by
    /// `examples/c-extractor/layout_check.c`, whose output must equal
    /// `examples/c-extractor/layout_expected.txt` (checked here too).
    fn computed() -> Vec<(&'static str, usize)> {
        type Flow = FlowView<'static>;
        type Stream = StreamView<'static>;
        vec![
            ("packet.ts_ns", offset_of!(PacketRecord, ts_ns)),
            ("packet.ip_len", offset_of!(PacketRecord, ip_len)),
            ("packet.payload_len", offset_of!(PacketRecord, payload_len)),
            ("packet.tcp_seq", offset_of!(PacketRecord, tcp_seq)),
            ("packet.payload_off", offset_of!(PacketRecord, payload_off)),
            (
                "packet.payload_stored",
                offset_of!(PacketRecord, payload_stored),
            ),
            ("packet.opt_off", offset_of!(PacketRecord, opt_off)),
            ("packet.frag_offset", offset_of!(PacketRecord, frag_offset)),
            ("packet.tcp_flags", offset_of!(PacketRecord, tcp_flags)),
            ("packet.tcp_urgent", offset_of!(PacketRecord, tcp_urgent)),
            ("packet.dir", offset_of!(PacketRecord, dir)),
            ("packet.ttl", offset_of!(PacketRecord, ttl)),
            ("packet.pflags", offset_of!(PacketRecord, pflags)),
            ("packet.ip_opt_len", offset_of!(PacketRecord, ip_opt_len)),
            ("sizeof.packet", size_of::<PacketRecord>()),
            ("link.eth_type", offset_of!(LinkInfo, eth_type)),
            ("link.vlan_id", offset_of!(LinkInfo, vlan_id)),
            ("link.has_eth", offset_of!(LinkInfo, has_eth)),
            ("link.layers", offset_of!(LinkInfo, layers)),
            ("link.ipv6_ext_mask", offset_of!(LinkInfo, ipv6_ext_mask)),
            ("sizeof.link", size_of::<LinkInfo>()),
            ("stream.bytes", offset_of!(Stream, bytes)),
            ("stream.gap", offset_of!(Stream, gap)),
            ("stream.truncated", offset_of!(Stream, truncated)),
            ("sizeof.stream", size_of::<Stream>()),
            ("sizeof.bytes", size_of::<RSlice<'static, u8>>()),
            ("flow.src_ip", offset_of!(Flow, src_ip)),
            ("flow.dst_ip", offset_of!(Flow, dst_ip)),
            ("flow.src_port", offset_of!(Flow, src_port)),
            ("flow.dst_port", offset_of!(Flow, dst_port)),
            ("flow.ip_version", offset_of!(Flow, ip_version)),
            ("flow.protocol", offset_of!(Flow, protocol)),
            ("flow.end_reason", offset_of!(Flow, end_reason)),
            (
                "flow.first_packet_index",
                offset_of!(Flow, first_packet_index),
            ),
            ("flow.anomalies", offset_of!(Flow, anomalies)),
            ("flow.link", offset_of!(Flow, link)),
            ("flow.packets", offset_of!(Flow, packets)),
            ("flow.payload", offset_of!(Flow, payload)),
            ("flow.hdr_bytes", offset_of!(Flow, hdr_bytes)),
            ("flow.streams", offset_of!(Flow, streams)),
            ("sizeof.flow", size_of::<Flow>()),
            ("value.i", offset_of!(RawValue, i)),
            ("value.f", offset_of!(RawValue, f)),
            ("value.s", offset_of!(RawValue, s)),
            ("value.s_len", offset_of!(RawValue, s_len)),
            ("sizeof.value", size_of::<RawValue>()),
            ("sizeof.feature", size_of::<RawFeature>()),
            ("extractor.name", offset_of!(RawExtractor, name)),
            ("extractor.n_features", offset_of!(RawExtractor, n_features)),
            ("extractor.features", offset_of!(RawExtractor, features)),
            (
                "extractor.payload_bytes_per_packet",
                offset_of!(RawExtractor, payload_bytes_per_packet),
            ),
            ("extractor.create", offset_of!(RawExtractor, create)),
            ("extractor.extract", offset_of!(RawExtractor, extract)),
            ("extractor.destroy", offset_of!(RawExtractor, destroy)),
            ("extractor.options", offset_of!(RawExtractor11, options)),
            ("sizeof.extractor", size_of::<RawExtractor11>()),
            ("sizeof.option", size_of::<RawOption>()),
        ]
    }

    /// The pinned numbers (64-bit targets). Changing one is a major ABI change.
    const PINNED: &[(&str, usize)] = &[
        ("packet.ts_ns", 0),
        ("packet.ip_len", 8),
        ("packet.payload_len", 12),
        ("packet.tcp_seq", 20),
        ("packet.payload_off", 28),
        ("packet.payload_stored", 32),
        ("packet.opt_off", 48),
        ("packet.frag_offset", 52),
        ("packet.tcp_flags", 58),
        ("packet.tcp_urgent", 66),
        ("packet.dir", 68),
        ("packet.ttl", 69),
        ("packet.pflags", 75),
        ("packet.ip_opt_len", 78),
        ("sizeof.packet", 80),
        ("link.eth_type", 12),
        ("link.vlan_id", 14),
        ("link.has_eth", 16),
        ("link.layers", 19),
        ("link.ipv6_ext_mask", 31),
        ("sizeof.link", 36),
        ("stream.bytes", 0),
        ("stream.gap", 16),
        ("stream.truncated", 17),
        ("sizeof.stream", 24),
        ("sizeof.bytes", 16),
        ("flow.src_ip", 0),
        ("flow.dst_ip", 16),
        ("flow.src_port", 32),
        ("flow.dst_port", 34),
        ("flow.ip_version", 36),
        ("flow.protocol", 37),
        ("flow.end_reason", 38),
        ("flow.first_packet_index", 40),
        ("flow.anomalies", 48),
        ("flow.link", 56),
        ("flow.packets", 96),
        ("flow.payload", 112),
        ("flow.hdr_bytes", 128),
        ("flow.streams", 144),
        ("sizeof.flow", 192),
        ("value.i", 8),
        ("value.f", 16),
        ("value.s", 24),
        ("value.s_len", 32),
        ("sizeof.value", 40),
        ("sizeof.feature", 40),
        ("extractor.name", 8),
        ("extractor.n_features", 32),
        ("extractor.features", 40),
        ("extractor.payload_bytes_per_packet", 48),
        ("extractor.create", 56),
        ("extractor.extract", 64),
        ("extractor.destroy", 72),
        ("extractor.options", 80),
        ("sizeof.extractor", 88),
        ("sizeof.option", 16),
    ];

    #[test]
    fn rust_layouts_match_the_pinned_offsets() {
        let got = computed();
        assert_eq!(got.len(), PINNED.len());
        for ((key, off), (pkey, pinned)) in got.iter().zip(PINNED) {
            assert_eq!(key, pkey);
            assert_eq!(off, pinned, "{key}");
        }
    }

    #[test]
    fn pinned_offsets_match_the_c_layout_check_expectation() {
        // layout_check.c prints `key offset` lines; the C example test compares its output
        // with this file.
        let text = include_str!("../../examples/c-extractor/layout_expected.txt");
        let expected: Vec<(String, usize)> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let (k, v) = l.split_once(' ').expect("`key offset` line");
                (k.to_string(), v.trim().parse().expect("offset"))
            })
            .collect();
        let pinned: Vec<(String, usize)> =
            PINNED.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert_eq!(expected, pinned);
    }

    #[test]
    fn value_conversion_checks_kind_against_dtype() {
        let mut slot = Value::Null;
        let v = RawValue {
            kind: 1,
            i: 5,
            ..RawValue::NULL
        };
        unsafe { convert(&v, DType::Int64, &mut slot) }.unwrap();
        assert_eq!(slot, Value::Int(5));
        let err = unsafe { convert(&v, DType::Float64, &mut slot) }.unwrap_err();
        assert_eq!(err, "kind JJ_INT, but the dtype is float64");
        let v = RawValue {
            kind: 9,
            ..RawValue::NULL
        };
        assert_eq!(
            unsafe { convert(&v, DType::Int64, &mut slot) }.unwrap_err(),
            "unknown value kind 9"
        );
        let text = "héllo";
        let v = RawValue {
            kind: 4,
            s: text.as_ptr().cast(),
            s_len: text.len(),
            ..RawValue::NULL
        };
        unsafe { convert(&v, DType::String, &mut slot) }.unwrap();
        assert_eq!(slot, Value::Str("héllo".into()));
        let v = RawValue {
            kind: 3,
            i: 2,
            ..RawValue::NULL
        };
        unsafe { convert(&v, DType::Bool, &mut slot) }.unwrap();
        assert_eq!(slot, Value::Bool(true));
        unsafe { convert(&RawValue::NULL, DType::Bool, &mut slot) }.unwrap();
        assert_eq!(slot, Value::Null);
    }

    // ---- loading real C libraries (compiled with `cc`, which CI installs) ----

    const TEST_EXTRACTOR_C: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jj_plugin.h"
#ifndef ABI
#define ABI JJ_C_ABI_VERSION
#endif
#ifndef SIZE
#define SIZE sizeof(jj_c_extractor)
#endif
#ifndef NAME
#define NAME "t_ext"
#endif
#ifndef DTYPE0
#define DTYPE0 "string"
#endif
#ifndef OPTIONS
#define OPTIONS NULL
#endif
const jj_c_option T_OPTS[] = {{"t_threshold", "a threshold"}, {"t_kafka.*", NULL}, {NULL, NULL}};
const jj_c_option T_NONE[] = {{NULL, NULL}};
const jj_c_option T_BAD[] = {{"t_ok", NULL}, {"a=b", NULL}, {NULL, NULL}};
static const jj_c_feature F[] = {
    {"t_str", DTYPE0, NULL, "a string", NULL},
    {"t_int", "int64", "", NULL, "JJ-TEST"},
    {"t_bool", "bool", NULL, NULL, NULL},
};
typedef struct { char buf[64]; int bad; } inst;
static void *create(const char *o) {
    if (strstr(o, "fail=1")) return NULL;
    inst *i = calloc(1, sizeof *i);
    i->bad = strstr(o, "bad=1") != NULL;
    return i;
}
static int extract(void *p, const jj_flow *f, jj_value *out) {
    inst *i = p;
    if (f->packets.len == 0) return 7;
    if (i->bad) { out[1].kind = JJ_FLOAT; out[1].f = 1.5; return 0; }
    int n = snprintf(i->buf, sizeof i->buf, "%u:%u:%u", (unsigned)f->packets.len,
                     (unsigned)f->src_port, (unsigned)f->link.vlan_id);
    out[0].kind = JJ_STR; out[0].s = i->buf; out[0].s_len = (size_t)n;
    out[1].kind = JJ_INT;
    out[1].i = (int64_t)f->first_packet_index + f->packets.ptr[f->packets.len - 1].ttl;
    /* out[2] left JJ_NULL when the flow has no payload bytes */
    if (f->payload.len > 0) { out[2].kind = JJ_BOOL; out[2].i = f->payload.ptr[0] == 'G'; }
    return 0;
}
static void destroy(void *p) { free(p); }
static const jj_c_extractor D = { ABI, SIZE, NAME, "1.2.3", "t_group", 3, F, 64, 128,
                                  create, extract, destroy, OPTIONS };
const jj_c_extractor *jj_c_extractor_entry(void) { return &D; }
"#;

    fn root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// A scratch directory, removed on drop (loaded libraries stay usable on Unix).
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("jj-cplugin-{}-{tag}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Compiles `source` (with `-D` defines) into a shared library in `dir`.
    fn compile(dir: &Scratch, tag: &str, source: &str, defines: &[&str]) -> std::path::PathBuf {
        let dir = &dir.0;
        let src = dir.join("ext.c");
        std::fs::write(&src, source).unwrap();
        let lib = dir.join(format!("lib{tag}.so"));
        let status = std::process::Command::new("cc")
            .args([
                "-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-O1", "-I",
            ])
            .arg(root().join("plugin-api/include"))
            .args(defines.iter().map(|d| format!("-D{d}")))
            .arg("-o")
            .arg(&lib)
            .arg(&src)
            .status()
            .expect("running cc (a C compiler is needed for these tests)");
        assert!(status.success(), "cc failed for {tag}");
        lib
    }

    fn load_err(dir: &Scratch, tag: &str, defines: &[&str]) -> String {
        match CExtractorLib::load(&compile(dir, tag, TEST_EXTRACTOR_C, defines)) {
            Err(e) => e,
            Ok(_) => panic!("{tag}: loaded"),
        }
    }

    fn packet(dir: u8, flags: u16, payload_len: u32, ttl: u8) -> PacketRecord {
        PacketRecord {
            dir,
            tcp_flags: flags,
            payload_len,
            ttl,
            ..PacketRecord::default()
        }
    }

    fn flow<'a>(packets: &'a [PacketRecord], payload: &'a [u8]) -> FlowView<'a> {
        FlowView {
            src_ip: [0; 16],
            dst_ip: [0; 16],
            src_port: 40000,
            dst_port: 80,
            ip_version: 4,
            protocol: 6,
            end_reason: 0,
            pass: 0,
            first_packet_index: 1000,
            anomalies: 0,
            _reserved2: 0,
            link: LinkInfo {
                vlan_id: 0xFFFF,
                ..LinkInfo::default()
            },
            packets: RSlice::from_slice(packets),
            payload: RSlice::from_slice(payload),
            hdr_bytes: RSlice::from_slice(&[]),
            streams: [StreamView::default(), StreamView::default()],
        }
    }

    #[test]
    #[cfg(unix)]
    fn loads_and_runs_the_c_example() {
        let dir = Scratch::new("example");
        let source =
            std::fs::read_to_string(root().join("examples/c-extractor/example.c")).unwrap();
        let lib = compile(&dir, "example", &source, &[]);
        let lib = CExtractorLib::load(&lib)
            .unwrap()
            .expect("has the entry symbol");
        assert_eq!(
            (lib.name(), lib.version(), lib.group()),
            ("example_c", "0.1.0", "example_c")
        );
        let info = lib.info();
        let cols: Vec<(&str, &str, DType)> = info
            .features
            .iter()
            .map(|f| (f.id.as_str(), f.name.as_str(), f.dtype))
            .collect();
        assert_eq!(
            cols,
            [
                ("example_c.exc_syn_count", "exc_syn_count", DType::Int64),
                (
                    "example_c.exc_mean_payload",
                    "exc_mean_payload",
                    DType::Float64
                )
            ]
        );
        assert_eq!(info.features[1].units.as_str(), "bytes");
        let declared: Vec<&str> = lib
            .options()
            .unwrap()
            .iter()
            .map(|o| o.0.as_str())
            .collect();
        assert_eq!(declared, ["exc_count_synack"]);
        let mut inst = lib.create("compat=joyfuljay\n").unwrap();
        let mut syn_only = lib
            .create("compat=joyfuljay\nexc_count_synack=false\n")
            .unwrap();
        assert_eq!(
            lib.create("exc_count_synack=no\n").err().unwrap(),
            "C extractor 'example_c': create returned NULL"
        );
        drop(lib); // the instances keep the library loaded
        let pkts = [
            packet(0, 0x02, 0, 64),
            packet(1, 0x12, 0, 50),
            packet(0, 0x10, 300, 64),
        ];
        let mut out = vec![Value::Null; 2];
        inst.extract(&flow(&pkts, &[]), &mut out).unwrap();
        assert_eq!(out, [Value::Int(2), Value::Float(100.0)]);
        syn_only.extract(&flow(&pkts, &[]), &mut out).unwrap();
        assert_eq!(out, [Value::Int(1), Value::Float(100.0)]);
        inst.extract(&flow(&[], &[]), &mut out).unwrap();
        assert_eq!(out, [Value::Int(0), Value::Null]);
    }

    #[test]
    #[cfg(unix)]
    fn layout_check_program_prints_the_pinned_offsets() {
        let dir = Scratch::new("layout");
        let exe = dir.0.join("layout_check");
        let c_dir = root().join("examples/c-extractor");
        let status = std::process::Command::new("cc")
            .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-I"])
            .arg(root().join("plugin-api/include"))
            .arg("-o")
            .arg(&exe)
            .arg(c_dir.join("layout_check.c"))
            .status()
            .expect("running cc");
        assert!(status.success());
        let output = std::process::Command::new(&exe).output().unwrap();
        let expected = std::fs::read_to_string(c_dir.join("layout_expected.txt")).unwrap();
        assert_eq!(String::from_utf8(output.stdout).unwrap(), expected);
    }

    #[test]
    #[cfg(unix)]
    fn converts_strings_bools_and_reports_failures() {
        let dir = Scratch::new("convert");
        let lib = CExtractorLib::load(&compile(&dir, "ok", TEST_EXTRACTOR_C, &[]))
            .unwrap()
            .unwrap();
        let info = lib.info();
        assert_eq!(info.group.as_str(), "t_group");
        assert_eq!(info.requirements.payload_bytes_per_packet, 64);
        assert_eq!(info.requirements.payload_bytes_per_direction, 128);
        assert_eq!(info.features[0].description.as_str(), "a string");
        assert_eq!(info.features[1].profile.as_str(), "JJ-TEST");
        let mut inst = lib.create("").unwrap();
        let pkts = [packet(0, 0, 3, 9), packet(1, 0, 0, 17)];
        let mut out = vec![
            Value::Str("previous flow, long".into()),
            Value::Int(-1),
            Value::Bool(false),
        ];
        inst.extract(&flow(&pkts, b"GET"), &mut out).unwrap();
        assert_eq!(
            out,
            [
                Value::Str("2:40000:65535".into()),
                Value::Int(1017),
                Value::Bool(true)
            ]
        );
        inst.extract(&flow(&pkts[..1], &[]), &mut out).unwrap();
        assert_eq!(
            out,
            [
                Value::Str("1:40000:65535".into()),
                Value::Int(1009),
                Value::Null
            ]
        );
        assert_eq!(
            inst.extract(&flow(&[], &[]), &mut out).unwrap_err(),
            "extract returned 7"
        );
        assert!(inst.extract(&flow(&pkts, &[]), &mut out[..2]).is_err());

        let mut bad = lib.create("bad=1\n").unwrap();
        assert_eq!(
            bad.extract(&flow(&pkts, &[]), &mut out).unwrap_err(),
            "value of 't_int': kind JJ_FLOAT, but the dtype is int64"
        );
        assert_eq!(
            lib.create("fail=1").err().unwrap(),
            "C extractor 't_ext': create returned NULL"
        );
        assert_eq!(
            lib.create("a\0b").err().unwrap(),
            "options contain a NUL byte"
        );
    }

    /// Revision 1.1's options list: NULL or a 1.0-sized descriptor declares nothing, an
    /// empty list declares that it reads none.
    #[test]
    #[cfg(unix)]
    fn reads_the_declared_options_of_revision_1_1() {
        let d = &Scratch::new("options");
        let load = |tag: &str, defines: &[&str]| {
            CExtractorLib::load(&compile(d, tag, TEST_EXTRACTOR_C, defines))
                .unwrap()
                .unwrap()
        };
        let declared = load("declared", &["OPTIONS=T_OPTS"]);
        assert_eq!(
            declared.options().unwrap(),
            [
                ("t_threshold".to_string(), "a threshold".to_string()),
                ("t_kafka.*".to_string(), String::new())
            ]
        );
        assert_eq!(declared.revision(), "1.1");
        let none = load("none", &["OPTIONS=T_NONE"]);
        assert_eq!(none.options(), Some(&[][..]));
        let undeclared = load("undeclared", &[]);
        assert_eq!((undeclared.options(), undeclared.revision()), (None, "1.1"));
        // built against revision 1.0: struct_size 80, the options field is not read
        let old = load("old", &["OPTIONS=T_OPTS", "SIZE=80"]);
        assert_eq!((old.options(), old.revision()), (None, "1.0"));
    }

    #[test]
    #[cfg(unix)]
    fn rejects_bad_descriptors_with_one_line_reasons() {
        let d = &Scratch::new("reject");
        assert_eq!(
            load_err(d, "abi2", &["ABI=2"]),
            "C ABI version 2, this jj supports 1"
        );
        assert_eq!(
            load_err(d, "small", &["SIZE=40"]),
            "jj_c_extractor struct_size is 40, C ABI version 1 needs at least 80"
        );
        assert_eq!(
            load_err(d, "nullname", &["NAME=NULL"]),
            "jj_c_extractor.name is NULL"
        );
        assert_eq!(
            load_err(d, "latin1", &["NAME=\"caf\\xe9\""]),
            "jj_c_extractor.name is not valid UTF-8"
        );
        assert_eq!(
            load_err(d, "dtype", &["DTYPE0=\"int32\""]),
            "feature 't_str': unknown dtype 'int32' (expected int64, float64, bool or string)"
        );
        assert_eq!(
            load_err(d, "list", &["DTYPE0=\"list<float64>\""]),
            "feature 't_str': unknown dtype 'list<float64>' (expected int64, float64, bool or string)"
        );
        assert_eq!(
            load_err(d, "badopt", &["OPTIONS=T_BAD"]),
            "option 1: key 'a=b' must not be empty, start with '#' or hold '=', spaces or line breaks"
        );
        let plain = compile(
            d,
            "plain",
            "int jj_something_else(void) { return 1; }\n",
            &[],
        );
        assert!(CExtractorLib::load(&plain).unwrap().is_none());
    }
}
