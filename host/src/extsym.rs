//! Loads a Rust plugin's extension tables: plugin-api 1.2's (`jj_plugin_ext_v1`), 1.3's
//! (`jj_plugin_ext_v2`) and 1.4's (`jj_plugin_ext_v3`).
//!
//! The root module cannot grow (an older library would fail the layout check), so later
//! entry points sit behind a second exported symbol. Its table is used only after
//! abi_stable's layout checker has compared the library's layout with the host's, as for
//! the root module. Like `cplugin`, this is the loader: one of the two modules allowed to
//! use `unsafe`.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

use jj_plugin_api::{
    abi_stable::{
        abi_stability::abi_checking::check_layout_compatibility, type_layout::TypeLayout, StableAbi,
    },
    ffi::{
        ExtExportV1, ExtExportV2, ExtExportV3, PluginExtV1, PluginExtV2, PluginExtV3,
        EXT_V1_SYMBOL, EXT_V2_SYMBOL, EXT_V3_SYMBOL,
    },
};
use std::path::Path;

/// The plugin-api 1.2 table of the library at `path` (already loaded as a plugin),
/// `Ok(None)` for a library built against 1.0 or 1.1, `Err` with one line when its
/// layout differs from this jj's.
pub fn load_ext_v1(path: &Path) -> Result<Option<&'static PluginExtV1>, String> {
    load_ext(path, EXT_V1_SYMBOL, |e: ExtExportV1| (e.layout, e.ext))
}

/// The plugin-api 1.3 table, as [`load_ext_v1`] (`Ok(None)` before 1.3).
pub fn load_ext_v2(path: &Path) -> Result<Option<&'static PluginExtV2>, String> {
    load_ext(path, EXT_V2_SYMBOL, |e: ExtExportV2| (e.layout, e.ext))
}

/// The plugin-api 1.4 table, as [`load_ext_v1`] (`Ok(None)` before 1.4).
pub fn load_ext_v3(path: &Path) -> Result<Option<&'static PluginExtV3>, String> {
    load_ext(path, EXT_V3_SYMBOL, |e: ExtExportV3| (e.layout, e.ext))
}

/// Calls the `extern "C" fn() -> E` exported as `symbol`, and returns the table `T` it
/// reaches once its layout has passed abi_stable's check against this jj's.
fn load_ext<E, T: StableAbi + 'static>(
    path: &Path,
    symbol: &[u8],
    parts: fn(E) -> (&'static TypeLayout, &'static T),
) -> Result<Option<&'static T>, String> {
    // SAFETY: the library is already loaded (this only takes another reference to it) and
    // was accepted as a jj plugin by the abi_stable loader.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| e.to_string())?;
    // SAFETY: `export_plugin!` defines the symbol as `extern "C" fn() -> E` (each symbol
    // name is bound to one export type); reading it as an `Option` makes a null symbol
    // value harmless.
    let entry = match unsafe { lib.get::<Option<extern "C" fn() -> E>>(symbol) } {
        Ok(sym) => *sym,
        Err(_) => return Ok(None),
    };
    let Some(entry) = entry else {
        return Ok(None);
    };
    let (layout, ext) = parts(entry());
    check_layout_compatibility(<T as StableAbi>::LAYOUT, layout)
        .map_err(|e| crate::loader::summarize_layout_error(&e.to_string()))?;
    // Plugins stay loaded for the life of the process (abi_stable never unloads either),
    // so the table's `'static` references stay valid.
    std::mem::forget(lib);
    Ok(Some(ext))
}
