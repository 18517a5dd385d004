//! The FFI-safe layer: `abi_stable` trait objects and the library root module.
//!
//! Plugin authors never touch this module: they implement the plain traits
//! ([`crate::ExtractorFactory`], [`crate::WriterFactory`], [`crate::CaptureFactory`]) and
//! [`crate::export_plugin!`] wraps them (see [`crate::shim`]). The host only uses this module.
//!
//! Evolution: every trait object here and the root module are `abi_stable` prefix types,
//! so methods and fields may be appended (never removed or reordered) in a minor version.
#![allow(unsafe_code, non_local_definitions, non_camel_case_types)] // only the code that abi_stable's derive and sabi_trait macros generate

use crate::{
    capture::{BatchStatus, CaptureStats, ChunkFramed, FrameBatch},
    error::PluginError,
    flow::FlowView,
    meta::ExtractorInfo,
    value::Value,
    writer::{FormatInfo, RowBatch, Schema, WriteSummary},
};
use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings, sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RBox, ROption, RResult, RSliceMut, RStr, RString, RVec},
    type_layout::TypeLayout,
    StableAbi,
};

#[sabi_trait]
pub trait FfiExtractor: Send {
    fn extract(
        &mut self,
        flow: &FlowView<'_>,
        out: RSliceMut<'_, Value>,
    ) -> RResult<(), PluginError>;
    #[sabi(last_prefix_field)]
    fn observe(&mut self, flow: &FlowView<'_>) -> RResult<(), PluginError>;
}
pub type FfiExtractorBox = FfiExtractor_TO<'static, RBox<()>>;

#[sabi_trait]
pub trait FfiExtractorFactory: Send + Sync {
    fn describe(&self, options: RStr<'_>) -> RResult<ExtractorInfo, PluginError>;
    #[sabi(last_prefix_field)]
    fn create(&self, options: RStr<'_>) -> RResult<FfiExtractorBox, PluginError>;
}
pub type FfiExtractorFactoryBox = FfiExtractorFactory_TO<'static, RBox<()>>;

#[sabi_trait]
pub trait FfiCaptureSource: Send {
    fn next_batch(&mut self, batch: &mut FrameBatch) -> RResult<BatchStatus, PluginError>;
    #[sabi(last_prefix_field)]
    fn stats(&self) -> CaptureStats;
}
pub type FfiCaptureSourceBox = FfiCaptureSource_TO<'static, RBox<()>>;

#[sabi_trait]
pub trait FfiCaptureFactory: Send + Sync {
    fn probe(&self, source: RStr<'_>) -> u8;
    #[sabi(last_prefix_field)]
    fn open(
        &self,
        source: RStr<'_>,
        options: RStr<'_>,
    ) -> RResult<FfiCaptureSourceBox, PluginError>;
}
pub type FfiCaptureFactoryBox = FfiCaptureFactory_TO<'static, RBox<()>>;

/// A capture source read in chunks by several threads (plugin-api 1.2, reached through
/// [`PluginExtV1`]).
#[sabi_trait]
pub trait FfiChunkedSource: Send + Sync {
    fn start(&self) -> u64;
    fn read_chunk(&self, index: u64, batch: &mut FrameBatch) -> RResult<(), PluginError>;
    fn frame_chunk(&self, index: u64, first: u64, batch: &mut FrameBatch) -> ChunkFramed;
    #[sabi(last_prefix_field)]
    fn stats(&self) -> CaptureStats;
}
pub type FfiChunkedSourceBox = FfiChunkedSource_TO<'static, RBox<()>>;

#[sabi_trait]
pub trait FfiChunkedFactory: Send + Sync {
    #[sabi(last_prefix_field)]
    fn open_chunked(
        &self,
        source: RStr<'_>,
        options: RStr<'_>,
        chunk_bytes: u64,
    ) -> RResult<ROption<FfiChunkedSourceBox>, PluginError>;
}
pub type FfiChunkedFactoryBox = FfiChunkedFactory_TO<'static, RBox<()>>;

#[sabi_trait]
pub trait FfiWriter: Send {
    fn write_batch(&mut self, batch: &RowBatch<'_>) -> RResult<(), PluginError>;
    fn finish(&mut self) -> RResult<WriteSummary, PluginError>;
    #[sabi(last_prefix_field)]
    fn abort(&mut self);
}
pub type FfiWriterBox = FfiWriter_TO<'static, RBox<()>>;

#[sabi_trait]
pub trait FfiWriterFactory: Send + Sync {
    fn formats(&self) -> RVec<FormatInfo>;
    #[sabi(last_prefix_field)]
    fn open(
        &self,
        format: RStr<'_>,
        target: RStr<'_>,
        schema: &Schema,
        options: RStr<'_>,
    ) -> RResult<FfiWriterBox, PluginError>;
}
pub type FfiWriterFactoryBox = FfiWriterFactory_TO<'static, RBox<()>>;

/// Name, version and description of one component.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct ComponentInfo {
    pub name: RString,
    pub version: RString,
    pub description: RString,
    /// Present only in the test build that checks layout-mismatch rejection.
    #[cfg(feature = "__test_layout_change")]
    pub test_layout_change: u64,
}

#[repr(C)]
#[derive(StableAbi)]
pub struct CaptureDecl {
    pub info: ComponentInfo,
    pub factory: FfiCaptureFactoryBox,
}

#[repr(C)]
#[derive(StableAbi)]
pub struct ExtractorDecl {
    pub info: ComponentInfo,
    pub factory: FfiExtractorFactoryBox,
}

#[repr(C)]
#[derive(StableAbi)]
pub struct WriterDecl {
    pub info: ComponentInfo,
    pub factory: FfiWriterFactoryBox,
}

/// Facts about the library itself.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct LibraryInfo {
    pub name: RString,
    pub version: RString,
    /// The plugin-api version the library was compiled against ([`crate::API_VERSION`]).
    pub api_version: RString,
}

/// The root module every plugin library exports (generated by [`crate::export_plugin!`]).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginLib_Ref)))]
#[sabi(missing_field(panic))]
pub struct PluginLib {
    pub library: extern "C" fn() -> LibraryInfo,
    pub captures: extern "C" fn() -> RVec<CaptureDecl>,
    pub extractors: extern "C" fn() -> RVec<ExtractorDecl>,
    #[sabi(last_prefix_field)]
    pub writers: extern "C" fn() -> RVec<WriterDecl>,
}

impl RootModule for PluginLib_Ref {
    declare_root_module_statics! {PluginLib_Ref}
    const BASE_NAME: &'static str = "jj_plugin";
    const NAME: &'static str = "jj_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// Chunked reading offered for the capture component named `capture` of the same library.
#[repr(C)]
#[derive(StableAbi)]
pub struct ChunkedCaptureDecl {
    pub capture: RString,
    pub factory: FfiChunkedFactoryBox,
}

/// A writer component's preferred batch size for one of its formats.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct WriterHintDecl {
    pub writer: RString,
    pub format: RString,
    /// Values (rows × columns) per batch; 0 = no preference.
    pub batch_values: u32,
}

/// Entry points added in plugin-api 1.2. The root module [`PluginLib`] cannot grow (an
/// older library would fail the host's layout check), so a library exports these through
/// a second symbol, [`EXT_V1_SYMBOL`], which 1.0 and 1.1 libraries lack. This struct and
/// the trait objects it reaches are frozen: a later minor version adds
/// `jj_plugin_ext_v2` rather than changing them.
#[repr(C)]
#[derive(StableAbi)]
pub struct PluginExtV1 {
    pub chunked_captures: extern "C" fn() -> RVec<ChunkedCaptureDecl>,
    pub writer_hints: extern "C" fn() -> RVec<WriterHintDecl>,
    /// Present only in the test build that checks extension-layout mismatch handling.
    #[cfg(feature = "__test_ext_layout_change")]
    pub test_ext_layout_change: u64,
}

impl PluginExtV1 {
    pub const fn new(
        chunked_captures: extern "C" fn() -> RVec<ChunkedCaptureDecl>,
        writer_hints: extern "C" fn() -> RVec<WriterHintDecl>,
    ) -> PluginExtV1 {
        PluginExtV1 {
            chunked_captures,
            writer_hints,
            #[cfg(feature = "__test_ext_layout_change")]
            test_ext_layout_change: 0,
        }
    }
}

/// What the [`EXT_V1_SYMBOL`] function returns: the extension table and the layout the
/// library compiled it with, which the host checks against its own before any call.
/// Frozen for good: two pointers.
#[repr(C)]
pub struct ExtExportV1 {
    pub layout: &'static TypeLayout,
    pub ext: &'static PluginExtV1,
}

/// Name of the exported `extern "C" fn() -> ExtExportV1`.
pub const EXT_V1_SYMBOL: &[u8] = b"jj_plugin_ext_v1\0";

/// An extractor component's [`crate::StreamFraming`] (plugin-api 1.3).
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct StreamFramingDecl {
    pub extractor: RString,
    pub framing: crate::StreamFraming,
}

/// Entry points added in plugin-api 1.3, behind the symbol [`EXT_V2_SYMBOL`] (libraries
/// built against 1.0–1.2 lack it). Frozen like [`PluginExtV1`]: a later minor version
/// adds `jj_plugin_ext_v3`.
#[repr(C)]
#[derive(StableAbi)]
pub struct PluginExtV2 {
    pub stream_framings: extern "C" fn() -> RVec<StreamFramingDecl>,
}

/// What the [`EXT_V2_SYMBOL`] function returns (as [`ExtExportV1`]).
#[repr(C)]
pub struct ExtExportV2 {
    pub layout: &'static TypeLayout,
    pub ext: &'static PluginExtV2,
}

/// Name of the exported `extern "C" fn() -> ExtExportV2`.
pub const EXT_V2_SYMBOL: &[u8] = b"jj_plugin_ext_v2\0";

/// One option key of a component (plugin-api 1.4).
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct OptionKeyDecl {
    pub key: RString,
    pub help: RString,
}

/// The options one component of the library declares (plugin-api 1.4): `kind` is
/// `capture`, `extractor` or `writer`; `declared` is false when the component does not
/// say which keys it reads (then `keys` is empty).
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct ComponentOptionsDecl {
    pub kind: RString,
    pub component: RString,
    pub declared: bool,
    pub keys: RVec<OptionKeyDecl>,
}

/// Entry points added in plugin-api 1.4, behind the symbol [`EXT_V3_SYMBOL`]. Frozen like
/// [`PluginExtV1`].
#[repr(C)]
#[derive(StableAbi)]
pub struct PluginExtV3 {
    pub component_options: extern "C" fn() -> RVec<ComponentOptionsDecl>,
}

/// What the [`EXT_V3_SYMBOL`] function returns (as [`ExtExportV1`]).
#[repr(C)]
pub struct ExtExportV3 {
    pub layout: &'static TypeLayout,
    pub ext: &'static PluginExtV3,
}

/// Name of the exported `extern "C" fn() -> ExtExportV3`.
pub const EXT_V3_SYMBOL: &[u8] = b"jj_plugin_ext_v3\0";

/// The export, for [`crate::export_plugin!`].
pub fn ext_export_v3(ext: &'static PluginExtV3) -> ExtExportV3 {
    ExtExportV3 {
        layout: <PluginExtV3 as StableAbi>::LAYOUT,
        ext,
    }
}

/// The export, for [`crate::export_plugin!`].
pub fn ext_export_v2(ext: &'static PluginExtV2) -> ExtExportV2 {
    ExtExportV2 {
        layout: <PluginExtV2 as StableAbi>::LAYOUT,
        ext,
    }
}

/// The export, for [`crate::export_plugin!`].
pub fn ext_export_v1(ext: &'static PluginExtV1) -> ExtExportV1 {
    ExtExportV1 {
        layout: <PluginExtV1 as StableAbi>::LAYOUT,
        ext,
    }
}
