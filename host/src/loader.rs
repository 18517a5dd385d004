//! Finds and loads plugin libraries. This module and `cplugin` are the only places
//! allowed to contain `unsafe` (see docs/ARCHITECTURE.md); here it is only what loading a
//! library through abi_stable requires.
//!
//! Every file that is not a compatible plugin gets exactly one short reason; the run
//! goes on without it (or stops, with `--strict`).
use crate::cplugin::CExtractorLib;
use jj_plugin_api::{
    abi_stable::library::{lib_header_from_path, LibraryError, RootModule},
    ffi::{
        ChunkedCaptureDecl, ComponentInfo, ComponentOptionsDecl, FfiCaptureFactoryBox,
        FfiChunkedFactoryBox, FfiExtractorFactoryBox, FfiWriterFactoryBox, StreamFramingDecl,
        WriterHintDecl,
    },
    PluginLib_Ref, StreamFraming,
};
use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    sync::Arc,
};

/// Where a directory came from: explicit directories report every file they hold;
/// the executable's own directory only looks at shared libraries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirKind {
    Explicit,
    ExeDir,
}

#[derive(Clone, Debug)]
pub struct LibraryRecord {
    pub path: PathBuf,
    pub name: String,
    pub version: String,
    pub api_version: String,
    /// `rust` (abi_stable) or `c` (jj_plugin.h).
    pub abi: &'static str,
}

pub struct Component<F> {
    pub library: usize,
    pub name: String,
    pub version: String,
    pub description: String,
    pub factory: F,
}

/// How an extractor is reached.
pub enum ExtractorFactoryHandle {
    Rust(FfiExtractorFactoryBox),
    C(Arc<CExtractorLib>),
}

/// The option keys one loaded component reads (plugin-api 1.4).
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentOptions {
    /// `capture`, `extractor` or `writer`.
    pub kind: String,
    pub component: String,
    /// `(key, help)`; `None` when the component does not declare them (it predates
    /// plugin-api 1.4 or C ABI 1.1, or its author left them undeclared).
    pub keys: Option<Vec<(String, String)>>,
}

#[derive(Default)]
pub struct Plugins {
    pub libraries: Vec<LibraryRecord>,
    pub captures: Vec<Component<FfiCaptureFactoryBox>>,
    /// Per capture component (same index): its chunked reading (plugin-api ≥ 1.2), if any.
    pub chunked: Vec<Option<FfiChunkedFactoryBox>>,
    /// Per writer component (same index): (format, preferred values per batch), 1.2.
    pub writer_hints: Vec<Vec<(String, u32)>>,
    pub extractors: Vec<Component<ExtractorFactoryHandle>>,
    /// Per extractor component (same index): how it reads TCP streams (plugin-api ≥ 1.3).
    pub stream_framing: Vec<Option<StreamFraming>>,
    pub writers: Vec<Component<FfiWriterFactoryBox>>,
    /// Every loaded component's declared options, in load order.
    pub options: Vec<ComponentOptions>,
    /// Files that were not loaded, with the reason (one line each).
    pub rejected: Vec<(PathBuf, String)>,
}

impl Plugins {
    /// Whether extractor component `c` can run a second pass: a Rust plugin built against
    /// plugin-api 1.1 or later (older shims do not dispatch `FlowView::pass`; the C
    /// contract has no second pass).
    pub fn extractor_has_second_pass(&self, c: usize) -> bool {
        let lib = &self.libraries[self.extractors[c].library];
        let mut parts = lib.api_version.split('.').map(|p| p.parse::<u32>().ok());
        lib.abi == "rust"
            && matches!((parts.next(), parts.next()), (Some(Some(1)), Some(Some(m))) if m >= 1)
    }
}

fn is_shared_library_name(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("so" | "dll" | "dylib")
    )
}

/// The plugin directories in search order: `--plugin-dir`s, then `JJ_PLUGIN_PATH`, then the
/// directory of the running executable.
pub fn plugin_dirs(cli_dirs: &[PathBuf], no_default: bool) -> Vec<(PathBuf, DirKind)> {
    let mut dirs: Vec<(PathBuf, DirKind)> = cli_dirs
        .iter()
        .map(|d| (d.clone(), DirKind::Explicit))
        .collect();
    if let Some(env) = std::env::var_os("JJ_PLUGIN_PATH") {
        for d in std::env::split_paths(&env) {
            if !d.as_os_str().is_empty() {
                dirs.push((d, DirKind::Explicit));
            }
        }
    }
    if !no_default {
        if let Some(dir) = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf))
        {
            dirs.push((dir, DirKind::ExeDir));
        }
    }
    dirs
}

impl Plugins {
    /// Loads every plugin found in `dirs`. Components whose name was already loaded from an
    /// earlier library are skipped with a reason (first one wins).
    pub fn load(dirs: &[(PathBuf, DirKind)]) -> Plugins {
        let mut plugins = Plugins::default();
        let mut seen_files: HashSet<PathBuf> = HashSet::new();
        for (dir, kind) in dirs {
            let entries = match std::fs::read_dir(dir) {
                Ok(e) => e,
                Err(e) => {
                    if *kind == DirKind::Explicit {
                        plugins
                            .rejected
                            .push((dir.clone(), format!("cannot read plugin directory: {e}")));
                    }
                    continue;
                }
            };
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .filter(|p| {
                    !p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with('.'))
                })
                .collect();
            files.sort();
            for path in files {
                if *kind == DirKind::ExeDir && !is_shared_library_name(&path) {
                    continue;
                }
                let canon = path.canonicalize().unwrap_or_else(|_| path.clone());
                if !seen_files.insert(canon) {
                    continue;
                }
                if let Err(reason) = plugins.load_file(&path) {
                    plugins.rejected.push((path, reason));
                }
            }
        }
        plugins
    }

    fn load_file(&mut self, path: &Path) -> Result<(), String> {
        match lib_header_from_path(path) {
            Ok(header) => {
                let module = header
                    .init_root_module::<PluginLib_Ref>()
                    .map_err(|e| describe_error(&e))?;
                self.add_rust_library(path, module)
            }
            Err(LibraryError::GetSymbolError { .. }) => match CExtractorLib::load(path)? {
                Some(lib) => self.add_c_library(path, lib),
                None => Err(
                    "not a jj plugin: it exports neither the jj plugin root module nor \
                             jj_c_extractor_entry"
                        .to_string(),
                ),
            },
            Err(e) => Err(describe_error(&e)),
        }
    }

    fn add_rust_library(&mut self, path: &Path, module: PluginLib_Ref) -> Result<(), String> {
        let info = (module.library())();
        let lib = self.libraries.len();
        let record = LibraryRecord {
            path: path.to_path_buf(),
            name: info.name.to_string(),
            version: info.version.to_string(),
            api_version: info.api_version.to_string(),
            abi: "rust",
        };
        // plugin-api 1.2, 1.3 and 1.4 extensions; a library whose table does not match is
        // still used without them (its root module passed the layout check).
        let (mut chunked, hints): (Vec<ChunkedCaptureDecl>, Vec<WriterHintDecl>) =
            ext_or_default(path, "1.2", crate::extsym::load_ext_v1(path), |ext| {
                (
                    (ext.chunked_captures)().into_vec(),
                    (ext.writer_hints)().into_vec(),
                )
            });
        let framings: Vec<StreamFramingDecl> =
            ext_or_default(path, "1.3", crate::extsym::load_ext_v2(path), |ext| {
                (ext.stream_framings)().into_vec()
            });
        let declared: Vec<ComponentOptionsDecl> =
            ext_or_default(path, "1.4", crate::extsym::load_ext_v3(path), |ext| {
                (ext.component_options)().into_vec()
            });
        let options_of = |kind: &str, name: &str| ComponentOptions {
            kind: kind.to_string(),
            component: name.to_string(),
            keys: declared
                .iter()
                .find(|d| d.declared && d.kind.as_str() == kind && d.component.as_str() == name)
                .map(|d| {
                    d.keys
                        .iter()
                        .map(|k| (k.key.to_string(), k.help.to_string()))
                        .collect()
                }),
        };
        let mut added = 0;
        for d in (module.captures())() {
            if self.name_taken(&self.captures, &d.info.name) {
                continue;
            }
            let ext = chunked
                .iter()
                .position(|c| c.capture == d.info.name)
                .map(|i| chunked.swap_remove(i).factory);
            self.options.push(options_of("capture", &d.info.name));
            self.captures.push(component(lib, &d.info, d.factory));
            self.chunked.push(ext);
            added += 1;
        }
        for d in (module.extractors())() {
            if self.name_taken(&self.extractors, &d.info.name) {
                continue;
            }
            let framing = framings
                .iter()
                .find(|f| f.extractor == d.info.name)
                .and_then(|f| match f.framing.problem() {
                    None => Some(f.framing),
                    Some(p) => {
                        eprintln!(
                            "jj: {}: extractor '{}' declares a stream framing jj cannot use ({p}); its streams are kept whole",
                            path.display(),
                            d.info.name
                        );
                        None
                    }
                });
            self.options.push(options_of("extractor", &d.info.name));
            self.extractors.push(component(
                lib,
                &d.info,
                ExtractorFactoryHandle::Rust(d.factory),
            ));
            self.stream_framing.push(framing);
            added += 1;
        }
        for d in (module.writers())() {
            if self.name_taken(&self.writers, &d.info.name) {
                continue;
            }
            self.writer_hints.push(
                hints
                    .iter()
                    .filter(|h| h.writer == d.info.name)
                    .map(|h| (h.format.to_string(), h.batch_values))
                    .collect(),
            );
            self.options.push(options_of("writer", &d.info.name));
            self.writers.push(component(lib, &d.info, d.factory));
            added += 1;
        }
        self.libraries.push(record);
        if added == 0 {
            return Err(format!(
                "library '{}' loaded but offers no component that is not already loaded",
                info.name
            ));
        }
        Ok(())
    }

    fn add_c_library(&mut self, path: &Path, lib: CExtractorLib) -> Result<(), String> {
        if self.extractors.iter().any(|c| c.name == lib.name()) {
            return Err(format!(
                "extractor '{}' is already loaded from another library",
                lib.name()
            ));
        }
        let idx = self.libraries.len();
        self.libraries.push(LibraryRecord {
            path: path.to_path_buf(),
            name: lib.name().to_string(),
            version: lib.version().to_string(),
            api_version: format!("C ABI {}", lib.revision()),
            abi: "c",
        });
        self.options.push(ComponentOptions {
            kind: "extractor".into(),
            component: lib.name().to_string(),
            keys: lib.options().map(<[_]>::to_vec),
        });
        self.extractors.push(Component {
            library: idx,
            name: lib.name().to_string(),
            version: lib.version().to_string(),
            description: format!("C extractor (group {})", lib.group()),
            factory: ExtractorFactoryHandle::C(Arc::new(lib)),
        });
        self.stream_framing.push(None);
        Ok(())
    }

    fn name_taken<F>(&self, list: &[Component<F>], name: &str) -> bool {
        list.iter().any(|c| c.name == name)
    }
}

/// What `read` takes from a library's extension table of plugin-api `version`; the default
/// when the library has no such table (it predates that version), and also, with one
/// warning line, when the table's layout differs from this jj's.
fn ext_or_default<T: 'static, R: Default>(
    path: &Path,
    version: &str,
    table: Result<Option<&'static T>, String>,
    read: impl FnOnce(&'static T) -> R,
) -> R {
    match table {
        Ok(Some(ext)) => read(ext),
        Ok(None) => R::default(),
        Err(e) => {
            eprintln!(
                "jj: {}: its plugin-api {version} extensions differ from this jj's ({e}); using it without them",
                path.display()
            );
            R::default()
        }
    }
}

fn component<F>(library: usize, info: &ComponentInfo, factory: F) -> Component<F> {
    Component {
        library,
        name: info.name.to_string(),
        version: info.version.to_string(),
        description: info.description.to_string(),
        factory,
    }
}

/// One line for the user from abi_stable's (often very long) errors.
pub fn describe_error(e: &LibraryError) -> String {
    match e {
        LibraryError::OpenError { err, .. } => {
            let msg = err.to_string();
            let msg = msg.rsplit(": ").next().unwrap_or(&msg).trim().to_string();
            format!("not a loadable shared library ({msg})")
        }
        LibraryError::GetSymbolError { .. } => "not a jj plugin: no plugin entry symbol".to_string(),
        LibraryError::IncompatibleVersionNumber { expected_version, actual_version, .. } => format!(
            "built against plugin-api {actual_version}, this jj uses plugin-api {expected_version} \
             (the major version must match: rebuild the plugin against this jj's plugin-api)"
        ),
        LibraryError::InvalidAbiHeader(h) => format!(
            "built with an incompatible abi_stable ABI ({h:?}); rebuild it against this jj's plugin-api"
        ),
        LibraryError::AbiInstability(err) => {
            format!(
                "its plugin-api types differ from this jj's ({}); rebuild it against this jj's plugin-api",
                summarize_layout_error(&{ let t = err.to_string(); if std::env::var_os("JJ_DEBUG_LAYOUT").is_some() { eprintln!("{t}"); } t })
            )
        }
        LibraryError::ParseVersionError(v) => format!("unreadable plugin-api version ({v})"),
        LibraryError::RootModule { err, .. } => format!("plugin failed to initialise: {err}"),
        LibraryError::InvalidCAbi { .. } => "compiled with a different C ABI of Rust".to_string(),
        LibraryError::Many(list) => list.iter().next().map(describe_error).unwrap_or_else(|| "unknown error".into()),
    }
}

/// abi_stable's layout errors run to ~1,000 lines; keep what matters: for each mismatch,
/// the type, the kind of error and the expected/found values, innermost last.
pub fn summarize_layout_error(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut current_type = "";
    let mut found: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l == "Layout of expected type:" {
            if let Some(t) = lines[i + 1..].iter().find_map(|x| x.strip_prefix("type:")) {
                current_type = t;
            }
        } else if let Some(kind) = l.strip_prefix("Error:") {
            let value_after = |label: &str| {
                lines[i + 1..]
                    .iter()
                    .position(|x| *x == label)
                    .and_then(|p| lines.get(i + 1 + p + 1))
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            };
            let item = format!(
                "{}{} (expected {}, found {})",
                if current_type.is_empty() {
                    String::new()
                } else {
                    format!("{current_type}: ")
                },
                kind.trim(),
                value_after("Expected:"),
                value_after("Found:")
            );
            if !found.contains(&item) {
                found.push(item);
            }
        }
        i += 1;
    }
    if found.is_empty() {
        return text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("layout mismatch")
            .chars()
            .take(200)
            .collect();
    }
    // The root cause is usually the innermost type: field-level errors first, then the
    // smallest type whose size changed.
    found.sort_by_key(|f| {
        let size_err = f.contains("incompatible type size");
        let expected: u64 = f
            .split("(expected ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(u64::MAX);
        (size_err, expected)
    });
    found.truncate(2);
    found.join("; ")
}

/// Keeps `RootModule` in scope for the `init_root_module` bound.
#[allow(dead_code)]
fn _assert_root_module<T: RootModule>() {}
