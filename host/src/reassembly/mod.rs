//! Pure reassembly building blocks for the host: no I/O, no `unsafe`, no panics on any
//! input, bounded memory.
//!
//! - [`tcp`]: per-direction TCP stream reassembly ([`tcp::TcpStream`]): ISN from the SYN
//!   or mid-stream pickup, mod-2^32 sequence arithmetic, "first copy wins" overlaps,
//!   bounded out-of-order buffer, in-order prefix up to a byte limit.
//! - [`ip`]: IPv4 and IPv6 fragment reassembly ([`ip::Defrag`]): keyed by
//!   (version, VLAN, addresses, id, IPv4 protocol), overlap policy First or Last, total
//!   memory bound with oldest-first eviction, timeout on the packet clock; completed
//!   datagrams come back as plain IP packets for `jj_decode::decode_ip`.
//!
//! Both keep their buffers for reuse, so steady-state operation does not allocate.
#![forbid(unsafe_code)]

pub mod ip;
pub mod tcp;

pub use ip::{Defrag, DefragConfig, DefragCounters, Overlap};
pub use tcp::{StreamCounters, TcpStream};
