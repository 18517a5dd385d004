//! Loads a Rust plugin's plugin-api 1.2 extension table (`jj_plugin_ext_v1`).
//!
//! The root module cannot grow (an older library would fail the layout check), so later
//! entry points sit behind a second exported symbol. Its table is used only after
//! abi_stable's layout checker has compared the library's layout with the host's, as for
//! the root module. Like `cplugin`, this is the loader: one of the two modules allowed to
//! use `unsafe`.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

use jj_plugin_api::{
    abi_stable::{abi_stability::abi_checking::check_layout_compatibility, StableAbi},
    ffi::{ExtExportV1, PluginExtV1, EXT_V1_SYMBOL},
};
use std::path::Path;

type ExtFn = extern "C" fn() -> ExtExportV1;

/// The extension table of the library at `path` (already loaded as a plugin), `Ok(None)`
/// for a library built against plugin-api 1.0 or 1.1, `Err` with one line when its
/// layout differs from this jj's.
pub fn load_ext_v1(path: &Path) -> Result<Option<&'static PluginExtV1>, String> {
    // SAFETY: the library is already loaded (this only takes another reference to it) and
    // was accepted as a jj plugin by the abi_stable loader.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| e.to_string())?;
    // SAFETY: `export_plugin!` defines the symbol as `extern "C" fn() -> ExtExportV1`;
    // reading it as an `Option` makes a null symbol value harmless.
    let entry = match unsafe { lib.get::<Option<ExtFn>>(EXT_V1_SYMBOL) } {
        Ok(sym) => *sym,
        Err(_) => return Ok(None),
    };
    let Some(entry) = entry else {
        return Ok(None);
    };
    let export = entry();
    check_layout_compatibility(<PluginExtV1 as StableAbi>::LAYOUT, export.layout)
        .map_err(|e| crate::loader::summarize_layout_error(&e.to_string()))?;
    // Plugins stay loaded for the life of the process (abi_stable never unloads either),
    // so the table's `'static` references stay valid.
    std::mem::forget(lib);
    Ok(Some(export.ext))
}
