//! Streaming pcap / pcapng reader over any `Read` (pure Rust, no plugin glue).
//!
//! The `file` capture plugin (`jj-capture-file`) exposes it to the host; `jj-gen --replay`
//! uses it to lay real captures end to end. It is a crate of its own so that a program
//! can read captures without linking a plugin library (whose exported root-module symbol
//! would clash with another plugin's in the same binary).
#![deny(unsafe_code)]

pub mod chunks;
pub mod pcap;
pub mod pcapng;
pub mod reader;

pub use reader::*;
