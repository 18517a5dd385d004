//! Only for the `writers` benchmark: it links the CSV and SQLite writer plugins next to
//! this one, and each plugin library defines abi_stable's root-module symbol
//! (`_as_lib_header_root_module_loader`). The benchmark never loads a plugin, so the
//! duplicate definitions are allowed there (first one wins). Nothing else is affected.
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(
        os.as_str(),
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd"
    ) {
        println!("cargo::rustc-link-arg-benches=-Wl,--allow-multiple-definition");
    }
}
