//! The `jj` host: plugin loading, the runtime schema, the flow engine and the CLI.
//!
//! `unsafe` is confined to the loader (`cplugin`, `extsym`); everything else denies it.
#![deny(unsafe_code)]

pub mod catalog;
pub mod cli;
pub mod config;
pub mod cplugin;
pub mod engine;
pub mod extsym;
pub mod flowtable;
pub mod loader;
pub mod packed;
pub mod reassembly;
pub mod rows;
pub mod schema;
pub mod signals;
pub mod suggest;
