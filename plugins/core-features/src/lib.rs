//! The `timing`, `size` and `tcp` extractors of jj (JoyfulJay's JJ-CORE groups of the
//! same names, spec §4.2–§4.4): 31 + 42 + 26 features with JoyfulJay's unprefixed
//! column names and order.
//!
//! * [`timing`] — inter-arrival time statistics, burstiness, bursts and idle periods,
//!   first response time; optional IAT/timestamp sequences and SPLT.
//! * [`size`] — IP length and payload length statistics, payload counts, dominant size,
//!   L7 byte totals, asymmetry; optional signed packet-length sequence.
//! * [`tcp`] — TCP flag counts, ratios, handshake/close indicators, state bitmap.
//!
//! Options (spec §2.6, see [`config`]): `compat=joyfuljay`, `burst_threshold_ms`,
//! `include_sequences` (alias `include_raw_sequences`), `include_splt`,
//! `max_sequence_length`. Statistics come from [`jj_kit::stats`] (numpy pairwise sums,
//! population std, the reference's percentile formula, 0.0 for empty sets).
//!
//! Each extractor instance keeps its scratch buffers, and the output slots' lists and
//! strings are reused, so a warm instance allocates nothing per flow.
#![deny(unsafe_code)]

pub mod config;
pub mod size;
pub mod spec;
pub mod tcp;
pub mod timing;

pub use config::Config;
pub use size::{Size, SizeFactory};
pub use tcp::{Tcp, TcpFactory};
pub use timing::{Timing, TimingFactory};

jj_plugin_api::export_plugin! {
    name: "jj-core-features",
    version: env!("CARGO_PKG_VERSION"),
    extractors: [
        "timing" => (
            "Inter-arrival time statistics, burstiness, bursts and idle periods, first response time; optional IAT/timestamp sequences and SPLT (31 features, JJ-CORE)",
            TimingFactory
        ),
        "size" => (
            "Packet and payload length statistics, payload packet counts, dominant size, L7 bytes, asymmetry; optional signed length sequence (42 features, JJ-CORE)",
            SizeFactory
        ),
        "tcp" => (
            "TCP flag counts and ratios, handshake and close indicators, pure ACKs, flag anomalies, state bitmap and flag aggregates (26 features, JJ-CORE)",
            TcpFactory
        ),
    ],
}

#[cfg(test)]
mod tests;
