//! Shared math and value formatting for jj extractor and writer plugins.
//!
//! Every plugin links this crate statically, so each numeric convention of the
//! reference implementation (JoyfulJay, see the spec §3) is written exactly once:
//!
//! * [`addr`] — IP addresses as text (dotted quad, RFC 5952 or glibc `inet_ntop`).
//! * [`stats`] — numpy-compatible pairwise summation, mean / population variance /
//!   standard deviation, the reference's own percentile formula, and the combined
//!   [`stats::Summary`].
//! * [`entropy`] — byte histograms and Shannon entropy with the reference's
//!   summation orders (ascending byte value, or first occurrence).
//! * [`hash`] — SHA-256 and hex text for salted identifiers (`anonymize_ips`,
//!   `flow_id`).
//! * [`compat`] — packet facts as the reference's Scapy backend reports them
//!   (payload length including Ethernet padding) for `compat=joyfuljay`.
//! * `testutil` (feature `testutil`, tests only) — hand-built `FlowView`s.
//! * [`pyfmt`] — Python-compatible text: `repr(float)`, `json.dumps` floats and
//!   strings, CSV fields, integers. All writers append to a caller-owned
//!   `Vec<u8>` and never allocate anything else.

#![forbid(unsafe_code)]

pub mod addr;
pub mod compat;
pub mod entropy;
pub mod hash;
pub mod pyfmt;
pub mod stats;
pub mod time;

#[cfg(any(test, feature = "testutil"))]
pub mod testutil;
