/// Exports a plugin library: generates the `abi_stable` root module and wraps every
/// component in panic-catching shims. The plugin crate must be a `cdylib` and depend on
/// `abi_stable = "0.11"` itself (the generated code names it), and be built with
/// `panic = "unwind"` (the default).
///
/// ```ignore
/// jj_plugin_api::export_plugin! {
///     name: "my-plugin",
///     version: env!("CARGO_PKG_VERSION"),
///     extractors: [ "my_group" => ("what it computes", MyFactory) ],
/// }
/// ```
/// Each list (`captures`, `extractors`, `writers`) is optional; each entry is
/// `"component name" => ("description", factory_expression)`.
#[macro_export]
macro_rules! export_plugin {
    (
        name: $lib_name:expr,
        version: $lib_version:expr
        $(, captures: [ $( $cname:expr => ($cdesc:expr, $cfac:expr) ),* $(,)? ] )?
        $(, extractors: [ $( $ename:expr => ($edesc:expr, $efac:expr) ),* $(,)? ] )?
        $(, writers: [ $( $wname:expr => ($wdesc:expr, $wfac:expr) ),* $(,)? ] )?
        $(,)?
    ) => {
        // `export_root_module` emits a `#[no_mangle]` static: keep the allowance local, so
        // plugin crates can `deny(unsafe_code)`.
        #[allow(unsafe_code)]
        #[doc(hidden)]
        pub mod __jj_plugin_export {
        #[allow(unused_imports)]
        use super::*;
        #[::abi_stable::export_root_module]
        pub fn jj_plugin_root_module() -> $crate::PluginLib_Ref {
            use $crate::abi_stable::prefix_type::PrefixTypeTrait;
            extern "C" fn library() -> $crate::ffi::LibraryInfo {
                $crate::shim::install_panic_hook();
                $crate::ffi::LibraryInfo {
                    name: $crate::abi_stable::std_types::RString::from($lib_name),
                    version: $crate::abi_stable::std_types::RString::from($lib_version),
                    api_version: $crate::abi_stable::std_types::RString::from($crate::API_VERSION),
                }
            }
            extern "C" fn captures() -> $crate::abi_stable::std_types::RVec<$crate::ffi::CaptureDecl> {
                $crate::shim::decl_list(|| {
                    #[allow(unused_mut)]
                    let mut v = ::std::vec::Vec::new();
                    $( $( v.push($crate::shim::capture_decl($cname, $lib_version, $cdesc, $cfac)); )* )?
                    v
                })
            }
            extern "C" fn extractors() -> $crate::abi_stable::std_types::RVec<$crate::ffi::ExtractorDecl> {
                $crate::shim::decl_list(|| {
                    #[allow(unused_mut)]
                    let mut v = ::std::vec::Vec::new();
                    $( $( v.push($crate::shim::extractor_decl($ename, $lib_version, $edesc, $efac)); )* )?
                    v
                })
            }
            extern "C" fn writers() -> $crate::abi_stable::std_types::RVec<$crate::ffi::WriterDecl> {
                $crate::shim::decl_list(|| {
                    #[allow(unused_mut)]
                    let mut v = ::std::vec::Vec::new();
                    $( $( v.push($crate::shim::writer_decl($wname, $lib_version, $wdesc, $wfac)); )* )?
                    v
                })
            }
            $crate::ffi::PluginLib { library, captures, extractors, writers }.leak_into_prefix()
        }
        extern "C" fn chunked_captures() -> $crate::abi_stable::std_types::RVec<$crate::ffi::ChunkedCaptureDecl> {
            $crate::shim::decl_list(|| {
                #[allow(unused_mut)]
                let mut v = ::std::vec::Vec::new();
                $( $( v.push($crate::shim::chunked_capture_decl($cname, $cfac)); )* )?
                v
            })
        }
        extern "C" fn writer_hints() -> $crate::abi_stable::std_types::RVec<$crate::ffi::WriterHintDecl> {
            $crate::shim::decl_list(|| {
                #[allow(unused_mut)]
                let mut v = ::std::vec::Vec::new();
                $( $( v.extend($crate::shim::writer_hints($wname, $wfac)); )* )?
                v
            })
        }
        static EXT_V1: $crate::ffi::PluginExtV1 =
            $crate::ffi::PluginExtV1::new(chunked_captures, writer_hints);
        /// plugin-api 1.2 extensions ([`jj_plugin_api::ffi::EXT_V1_SYMBOL`]).
        #[no_mangle]
        pub extern "C" fn jj_plugin_ext_v1() -> $crate::ffi::ExtExportV1 {
            $crate::ffi::ext_export_v1(&EXT_V1)
        }
        extern "C" fn stream_framings() -> $crate::abi_stable::std_types::RVec<$crate::ffi::StreamFramingDecl> {
            $crate::shim::decl_list(|| {
                #[allow(unused_mut)]
                let mut v = ::std::vec::Vec::new();
                $( $( v.extend($crate::shim::stream_framing_decl($ename, $efac)); )* )?
                v
            })
        }
        static EXT_V2: $crate::ffi::PluginExtV2 =
            $crate::ffi::PluginExtV2 { stream_framings };
        /// plugin-api 1.3 extensions ([`jj_plugin_api::ffi::EXT_V2_SYMBOL`]).
        #[no_mangle]
        pub extern "C" fn jj_plugin_ext_v2() -> $crate::ffi::ExtExportV2 {
            $crate::ffi::ext_export_v2(&EXT_V2)
        }
        extern "C" fn component_options() -> $crate::abi_stable::std_types::RVec<$crate::ffi::ComponentOptionsDecl> {
            $crate::shim::decl_list(|| {
                #[allow(unused_mut)]
                let mut v = ::std::vec::Vec::new();
                $( $( v.push($crate::shim::options_decl("capture", $cname, $crate::CaptureFactory::options(&$cfac))); )* )?
                $( $( v.push($crate::shim::options_decl("extractor", $ename, $crate::ExtractorFactory::options(&$efac))); )* )?
                $( $( v.push($crate::shim::options_decl("writer", $wname, $crate::WriterFactory::options(&$wfac))); )* )?
                v
            })
        }
        static EXT_V3: $crate::ffi::PluginExtV3 =
            $crate::ffi::PluginExtV3 { component_options };
        /// plugin-api 1.4 extensions ([`jj_plugin_api::ffi::EXT_V3_SYMBOL`]).
        #[no_mangle]
        pub extern "C" fn jj_plugin_ext_v3() -> $crate::ffi::ExtExportV3 {
            $crate::ffi::ext_export_v3(&EXT_V3)
        }
        }
        /// The library's root module (also what `jj` loads), callable directly in tests.
        #[allow(unused_imports)]
        pub use __jj_plugin_export::jj_plugin_root_module;
    };
}
