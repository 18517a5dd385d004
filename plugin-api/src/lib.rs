//! # jj plugin API
//!
//! The stable ABI between the `jj` host and its plugins, built on `abi_stable`.
//! A plugin is a `cdylib` that exports one root module ([`PluginLib`]) listing its
//! components; each component is one of three kinds:
//!
//! * **capture backend** ([`CaptureFactory`] → [`CaptureSource`]): opens a source and
//!   hands the host batches of raw frames ([`FrameBatch`]);
//! * **extractor** ([`ExtractorFactory`] → [`Extractor`]): declares features
//!   ([`FeatureMeta`]) and what it needs from the host ([`Requirements`]), then fills one
//!   row fragment per flow from a [`FlowView`];
//! * **output writer** ([`WriterFactory`] → [`Writer`]): receives the runtime
//!   [`Schema`], then columnar [`RowBatch`]es, then `finish`.
//!
//! Plugin authors implement the plain Rust traits and call [`export_plugin!`]; the
//! macro generates the exports and wraps every entry point in `catch_unwind`, so a
//! panic inside a plugin becomes a [`PluginError`] of kind [`ErrorKind::Panic`] and
//! never crosses the boundary. See `docs/plugin-api.md` for the compatibility rules.
#![deny(unsafe_code)]

pub mod capture;
pub mod error;
pub mod ffi;
pub mod flow;
mod macros;
pub mod meta;
pub mod options;
pub mod shim;
pub mod value;
pub mod writer;

pub use abi_stable;
pub use capture::{
    BatchStatus, CaptureFactory, CaptureSource, CaptureStats, ChunkFramed, ChunkedSource,
    FrameBatch, FrameHeader,
};
pub use error::{ErrorKind, PluginError, PluginResult};
pub use ffi::{LibraryInfo, PluginLib, PluginLib_Ref};
pub use flow::{
    flow_end, flow_pass, pflags, FlowView, LinkInfo, PacketRecord, StreamView, DIR_BWD, DIR_FWD,
};
pub use meta::{ByteCheck, DType, ExtractorInfo, FeatureMeta, Requirements, StreamFraming};
pub use options::{OptionSpec, Options};
pub use value::Value;
pub use writer::{
    Column, ColumnMeta, FormatInfo, RowBatch, Schema, WriteSummary, Writer, WriterFactory,
};

pub use meta::{Extractor, ExtractorFactory};

/// The plugin-api version this crate is, as `major.minor.patch`. A library records the
/// version it was built against; the host accepts libraries with the same major version.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Major version of the ABI. Bumped on any non-append-only change.
pub const API_MAJOR: u32 = 1;
