//! Adapters from the plain Rust traits to the FFI trait objects. Every call into plugin
//! code goes through [`guard`], which turns a panic into a [`PluginError`] of kind
//! [`ErrorKind::Panic`] so that it never unwinds across the C ABI.
use crate::{
    capture::{
        BatchStatus, CaptureFactory, CaptureSource, CaptureStats, ChunkFramed, ChunkedSource,
        FrameBatch,
    },
    error::{ErrorKind, PluginError, PluginResult},
    ffi::*,
    flow::{flow_pass, FlowView},
    meta::{Extractor, ExtractorFactory, ExtractorInfo},
    options::Options,
    value::Value,
    writer::{FormatInfo, RowBatch, Schema, WriteSummary, Writer, WriterFactory},
};
use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RErr, RNone, ROk, ROption, RResult, RSliceMut, RSome, RStr, RString, RVec},
};
use std::{
    cell::RefCell,
    panic::{catch_unwind, AssertUnwindSafe},
    sync::Once,
};

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once per library) a panic hook that records the message and location
/// instead of printing them: the host reports caught panics itself, counted.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = info.payload().downcast_ref::<String>() {
                s.clone()
            } else {
                "panic".to_string()
            };
            let text = match info.location() {
                Some(l) => format!("{msg} (at {}:{})", l.file(), l.line()),
                None => msg,
            };
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
        }));
    });
}

fn panic_error(payload: Box<dyn std::any::Any + Send>) -> PluginError {
    let recorded = LAST_PANIC.with(|p| p.borrow_mut().take());
    let msg = recorded.unwrap_or_else(|| {
        if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "panic".to_string()
        }
    });
    PluginError::new(ErrorKind::Panic, format!("plugin panicked: {msg}"))
}

/// Runs plugin code, converting a panic into an error.
pub fn guard<T>(f: impl FnOnce() -> PluginResult<T>) -> RResult<T, PluginError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => ROk(v),
        Ok(Err(e)) => RErr(e),
        Err(p) => RErr(panic_error(p)),
    }
}

/// Runs plugin code that cannot report errors; a panic yields `fallback`.
pub fn guard_or<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

fn opts(text: RStr<'_>) -> Options {
    Options::parse(text.as_str())
}

// ---- extractors ----

pub struct ExtractorShim<T>(pub T);

impl<T: Extractor> FfiExtractor for ExtractorShim<T> {
    fn extract(
        &mut self,
        flow: &FlowView<'_>,
        mut out: RSliceMut<'_, Value>,
    ) -> RResult<(), PluginError> {
        let out = out.as_mut_slice();
        match flow.pass {
            flow_pass::EXTRACT => guard(|| self.0.extract(flow, out)),
            flow_pass::OBSERVE_ROW => guard(|| self.0.observe_row(flow, out)),
            flow_pass::FINISH_ROW => guard(|| self.0.finish_row(flow, out)),
            p => RErr(PluginError::new(
                ErrorKind::Unsupported,
                format!("unknown extractor pass {p} (a newer host?)"),
            )),
        }
    }
    fn observe(&mut self, flow: &FlowView<'_>) -> RResult<(), PluginError> {
        guard(|| self.0.observe(flow))
    }
}

pub struct ExtractorFactoryShim<F>(pub F);

impl<F: ExtractorFactory> FfiExtractorFactory for ExtractorFactoryShim<F> {
    fn describe(&self, options: RStr<'_>) -> RResult<ExtractorInfo, PluginError> {
        guard(|| self.0.describe(&opts(options)))
    }
    fn create(&self, options: RStr<'_>) -> RResult<FfiExtractorBox, PluginError> {
        guard(|| {
            let inst = self.0.create(&opts(options))?;
            Ok(FfiExtractor_TO::from_value(ExtractorShim(inst), TD_Opaque))
        })
    }
}

// ---- capture ----

pub struct CaptureSourceShim<S>(pub S);

impl<S: CaptureSource> FfiCaptureSource for CaptureSourceShim<S> {
    fn next_batch(&mut self, batch: &mut FrameBatch) -> RResult<BatchStatus, PluginError> {
        guard(|| self.0.next_batch(batch))
    }
    fn stats(&self) -> CaptureStats {
        guard_or(CaptureStats::default(), || self.0.stats())
    }
}

pub struct CaptureFactoryShim<F>(pub F);

impl<F: CaptureFactory> FfiCaptureFactory for CaptureFactoryShim<F> {
    fn probe(&self, source: RStr<'_>) -> u8 {
        guard_or(0, || self.0.probe(source.as_str()))
    }
    fn open(
        &self,
        source: RStr<'_>,
        options: RStr<'_>,
    ) -> RResult<FfiCaptureSourceBox, PluginError> {
        guard(|| {
            let s = self.0.open(source.as_str(), &opts(options))?;
            Ok(FfiCaptureSource_TO::from_value(
                CaptureSourceShim(s),
                TD_Opaque,
            ))
        })
    }
}

pub struct ChunkedSourceShim(pub Box<dyn ChunkedSource>);

impl FfiChunkedSource for ChunkedSourceShim {
    fn start(&self) -> u64 {
        guard_or(0, || self.0.start())
    }
    fn read_chunk(&self, index: u64, batch: &mut FrameBatch) -> RResult<(), PluginError> {
        guard(|| self.0.read_chunk(index, batch))
    }
    fn frame_chunk(&self, index: u64, first: u64, batch: &mut FrameBatch) -> ChunkFramed {
        match guard(|| Ok(self.0.frame_chunk(index, first, batch))) {
            ROk(f) => f,
            RErr(e) => ChunkFramed {
                next: first,
                end: 0,
                error: RSome(e),
            },
        }
    }
    fn stats(&self) -> CaptureStats {
        guard_or(CaptureStats::default(), || self.0.stats())
    }
}

pub struct ChunkedFactoryShim<F>(pub F);

impl<F: CaptureFactory> FfiChunkedFactory for ChunkedFactoryShim<F> {
    fn open_chunked(
        &self,
        source: RStr<'_>,
        options: RStr<'_>,
        chunk_bytes: u64,
    ) -> RResult<ROption<FfiChunkedSourceBox>, PluginError> {
        guard(|| {
            let opened = self
                .0
                .open_chunked(source.as_str(), &opts(options), chunk_bytes)?;
            Ok(match opened {
                Some(c) => RSome(FfiChunkedSource_TO::from_value(
                    ChunkedSourceShim(c),
                    TD_Opaque,
                )),
                None => RNone,
            })
        })
    }
}

// ---- writers ----

pub struct WriterShim<W>(pub W);

impl<W: Writer> FfiWriter for WriterShim<W> {
    fn write_batch(&mut self, batch: &RowBatch<'_>) -> RResult<(), PluginError> {
        guard(|| self.0.write_batch(batch))
    }
    fn finish(&mut self) -> RResult<WriteSummary, PluginError> {
        guard(|| self.0.finish())
    }
    fn abort(&mut self) {
        guard_or((), || self.0.abort())
    }
}

pub struct WriterFactoryShim<F>(pub F);

impl<F: WriterFactory> FfiWriterFactory for WriterFactoryShim<F> {
    fn formats(&self) -> RVec<FormatInfo> {
        guard_or(RVec::new(), || self.0.formats().into())
    }
    fn open(
        &self,
        format: RStr<'_>,
        target: RStr<'_>,
        schema: &Schema,
        options: RStr<'_>,
    ) -> RResult<FfiWriterBox, PluginError> {
        guard(|| {
            let w = self
                .0
                .open(format.as_str(), target.as_str(), schema, &opts(options))?;
            Ok(FfiWriter_TO::from_value(WriterShim(w), TD_Opaque))
        })
    }
}

// ---- declarations (used by `export_plugin!`) ----

fn info(name: &str, version: &str, description: &str) -> ComponentInfo {
    ComponentInfo {
        name: RString::from(name),
        version: RString::from(version),
        description: RString::from(description),
        #[cfg(feature = "__test_layout_change")]
        test_layout_change: 0,
    }
}

pub fn extractor_decl<F: ExtractorFactory>(
    name: &str,
    version: &str,
    description: &str,
    f: F,
) -> ExtractorDecl {
    ExtractorDecl {
        info: info(name, version, description),
        factory: FfiExtractorFactory_TO::from_value(ExtractorFactoryShim(f), TD_Opaque),
    }
}

pub fn capture_decl<F: CaptureFactory>(
    name: &str,
    version: &str,
    description: &str,
    f: F,
) -> CaptureDecl {
    CaptureDecl {
        info: info(name, version, description),
        factory: FfiCaptureFactory_TO::from_value(CaptureFactoryShim(f), TD_Opaque),
    }
}

pub fn chunked_capture_decl<F: CaptureFactory>(name: &str, f: F) -> ChunkedCaptureDecl {
    ChunkedCaptureDecl {
        capture: RString::from(name),
        factory: FfiChunkedFactory_TO::from_value(ChunkedFactoryShim(f), TD_Opaque),
    }
}

pub fn stream_framing_decl<F: ExtractorFactory>(
    name: &str,
    f: F,
) -> Option<crate::ffi::StreamFramingDecl> {
    f.stream_framing()
        .map(|framing| crate::ffi::StreamFramingDecl {
            extractor: RString::from(name),
            framing,
        })
}

/// A component's declared options (plugin-api 1.4) for the extension table.
pub fn options_decl(
    kind: &str,
    name: &str,
    options: Option<Vec<crate::options::OptionSpec>>,
) -> crate::ffi::ComponentOptionsDecl {
    crate::ffi::ComponentOptionsDecl {
        kind: RString::from(kind),
        component: RString::from(name),
        declared: options.is_some(),
        keys: options
            .unwrap_or_default()
            .into_iter()
            .map(|o| crate::ffi::OptionKeyDecl {
                key: RString::from(o.key),
                help: RString::from(o.help),
            })
            .collect(),
    }
}

pub fn writer_hints<F: WriterFactory>(name: &str, f: F) -> Vec<WriterHintDecl> {
    f.formats()
        .into_iter()
        .map(|fmt| WriterHintDecl {
            writer: RString::from(name),
            batch_values: f.batch_values(fmt.name.as_str()),
            format: fmt.name,
        })
        .collect()
}

pub fn writer_decl<F: WriterFactory>(
    name: &str,
    version: &str,
    description: &str,
    f: F,
) -> WriterDecl {
    WriterDecl {
        info: info(name, version, description),
        factory: FfiWriterFactory_TO::from_value(WriterFactoryShim(f), TD_Opaque),
    }
}

/// Builds a declaration list; a panic while constructing factories yields an empty list.
pub fn decl_list<T>(f: impl FnOnce() -> Vec<T>) -> RVec<T> {
    install_panic_hook();
    guard_or(Vec::new(), f).into()
}
