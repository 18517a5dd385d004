//! The string features: the header-stack description (address text is
//! [`jj_kit::addr`]). Everything writes into a caller-owned `fmt::Write` (the reused
//! output slot), no allocation.
use jj_plugin_api::FlowView;
use std::fmt::{self, Write};

/// The host decoder's `Layer` codes as carried in `LinkInfo::layers`.
pub mod layer {
    pub const NONE: u8 = 0;
    pub const ETH: u8 = 1;
    pub const VLAN: u8 = 2;
    pub const MPLS: u8 = 3;
    pub const SLL: u8 = 4;
    pub const SLL2: u8 = 5;
    pub const NULL: u8 = 6;
    pub const PPPOE: u8 = 7;
    pub const IP4: u8 = 8;
    pub const IP6: u8 = 9;
    pub const GRE: u8 = 10;
    pub const ERSPAN: u8 = 11;
    pub const VXLAN: u8 = 12;
    pub const GTPU: u8 = 13;
    pub const TCP: u8 = 14;
    pub const UDP: u8 = 15;
    pub const ICMP: u8 = 16;
    pub const ICMP6: u8 = 17;
    pub const OTHER: u8 = 18;
}

/// Name of one layer code in `hdr_desc` (`None` for `OTHER` and unknown codes, which
/// are spelled with a number).
fn layer_name(code: u8) -> Option<&'static str> {
    Some(match code {
        layer::ETH => "ETH",
        layer::VLAN => "VLAN",
        layer::MPLS => "MPLS",
        layer::SLL => "SLL",
        layer::SLL2 => "SLL2",
        layer::NULL => "NULL",
        layer::PPPOE => "PPPOE",
        layer::IP4 => "IP",
        layer::IP6 => "IP6",
        layer::GRE => "GRE",
        layer::ERSPAN => "ERSPAN",
        layer::VXLAN => "VXLAN",
        layer::GTPU => "GTPU",
        layer::TCP => "TCP",
        layer::UDP => "UDP",
        layer::ICMP => "ICMP",
        layer::ICMP6 => "ICMP6",
        _ => return None,
    })
}

/// Joins parts with `-` and counts them.
struct Parts<'a, W: Write> {
    out: &'a mut W,
    n: i64,
}

impl<W: Write> Parts<'_, W> {
    fn sep(&mut self) -> fmt::Result {
        if self.n > 0 {
            self.out.write_char('-')?;
        }
        self.n += 1;
        Ok(())
    }
    fn push(&mut self, s: &str) -> fmt::Result {
        self.sep()?;
        self.out.write_str(s)
    }
    fn push_proto(&mut self, protocol: u8) -> fmt::Result {
        self.sep()?;
        write!(self.out, "PROTO{protocol}")
    }
    fn push_unknown(&mut self, code: u8) -> fmt::Result {
        self.sep()?;
        write!(self.out, "LAYER{code}")
    }
}

/// Writes `hdr_desc` and returns `num_hdrs` (the number of `-`-separated parts).
///
/// * Default: the real encapsulation of the flow's first packet from
///   `LinkInfo::layers`, outermost first (e.g. `ETH-VLAN-MPLS-IP-TCP`,
///   `ETH-IP-GRE-IP-UDP`, `SLL2-IP6-ICMP6`); an upper-layer protocol without a name is
///   `PROTO{n}` with the flow's protocol number.
/// * `compat` (or when the host filled no layers): the reference's three-part form —
///   `ETH` if the first packet came with an Ethernet header, `IP6` or `IP`, then
///   `TCP`/`UDP`/`ICMP` (protocol 1 only) or `PROTO{n}`.
pub fn write_hdr_desc(
    out: &mut impl Write,
    flow: &FlowView<'_>,
    compat: bool,
) -> Result<i64, fmt::Error> {
    let mut parts = Parts { out, n: 0 };
    let n_layers = usize::from(flow.link.n_layers).min(flow.link.layers.len());
    if compat || n_layers == 0 {
        if flow.link.has_eth != 0 {
            parts.push("ETH")?;
        }
        parts.push(if flow.ip_version == 6 { "IP6" } else { "IP" })?;
        match flow.protocol {
            6 => parts.push("TCP")?,
            17 => parts.push("UDP")?,
            1 => parts.push("ICMP")?,
            p => parts.push_proto(p)?,
        }
    } else {
        for &code in &flow.link.layers[..n_layers] {
            match (code, layer_name(code)) {
                (layer::NONE, _) => {}
                (_, Some(name)) => parts.push(name)?,
                (layer::OTHER, None) => parts.push_proto(flow.protocol)?,
                (_, None) => parts.push_unknown(code)?,
            }
        }
    }
    Ok(parts.n)
}
