//! DNS messages: a query and a matching response with CNAME/A/AAAA answers that use name
//! compression, or NXDOMAIN with an SOA record in the authority section.

use crate::rng::Rng;

pub(crate) const TYPE_A: u16 = 1;
pub(crate) const TYPE_CNAME: u16 = 5;
pub(crate) const TYPE_SOA: u16 = 6;
pub(crate) const TYPE_AAAA: u16 = 28;
pub(crate) const TYPE_OPT: u16 = 41;

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

fn header(out: &mut Vec<u8>, id: u16, flags: u16, qd: u16, an: u16, ns: u16, ar: u16) {
    put16(out, id);
    put16(out, flags);
    put16(out, qd);
    put16(out, an);
    put16(out, ns);
    put16(out, ar);
}

fn opt_rr(out: &mut Vec<u8>) {
    out.push(0); // root
    put16(out, TYPE_OPT);
    put16(out, 1232); // UDP payload size
    out.extend_from_slice(&[0, 0, 0, 0]); // ext-rcode, version, flags
    put16(out, 0);
}

/// Standard recursive query for `qname`/`qtype` with an EDNS OPT record.
pub(crate) fn query(out: &mut Vec<u8>, id: u16, qname: &str, qtype: u16, edns: bool) {
    out.clear();
    header(out, id, 0x0100, 1, 0, 0, edns as u16);
    put_name(out, qname);
    put16(out, qtype);
    put16(out, 1);
    if edns {
        opt_rr(out);
    }
}

/// Parameters of a response.
pub(crate) struct Answer<'a> {
    pub nxdomain: bool,
    /// Label prepended to the parent domain of the qname to form a CNAME target.
    pub cname_label: Option<&'a str>,
    /// Addresses (4 or 16 bytes each, matching qtype); may be empty.
    pub addrs: &'a [[u8; 16]],
    pub ttl: u32,
}

/// Response to [`query`]: question echoed, answers compressed against it.
pub(crate) fn response(
    out: &mut Vec<u8>,
    id: u16,
    qname: &str,
    qtype: u16,
    edns: bool,
    a: &Answer<'_>,
    rng: &mut Rng,
) {
    out.clear();
    let (an, ns) = if a.nxdomain {
        (0, 1)
    } else {
        (a.cname_label.is_some() as u16 + a.addrs.len() as u16, 0)
    };
    let rcode = if a.nxdomain { 3 } else { 0 };
    header(out, id, 0x8180 | rcode, 1, an, ns, edns as u16);
    let q_off = out.len() as u16; // 12
    put_name(out, qname);
    put16(out, qtype);
    put16(out, 1);
    // Offset of the parent domain inside the question (skip the first label).
    let first_len = qname.split('.').next().map_or(0, |l| l.len()) as u16;
    let labels = qname.split('.').filter(|l| !l.is_empty()).count();
    let parent_off = if labels >= 3 {
        q_off + 1 + first_len
    } else {
        q_off
    };
    if a.nxdomain {
        // SOA for the parent zone: name = ptr(parent), mname = "ns1"+ptr, rname = "hostmaster"+ptr
        put16(out, 0xc000 | parent_off);
        put16(out, TYPE_SOA);
        put16(out, 1);
        out.extend_from_slice(&900u32.to_be_bytes());
        let rdlen_at = out.len();
        put16(out, 0);
        let start = out.len();
        out.push(3);
        out.extend_from_slice(b"ns1");
        put16(out, 0xc000 | parent_off);
        out.push(10);
        out.extend_from_slice(b"hostmaster");
        put16(out, 0xc000 | parent_off);
        out.extend_from_slice(&(2023110100u32 + rng.below(99) as u32).to_be_bytes());
        for v in [7200u32, 3600, 1_209_600, 300] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        let rdlen = (out.len() - start) as u16;
        out[rdlen_at..rdlen_at + 2].copy_from_slice(&rdlen.to_be_bytes());
    } else {
        let mut owner = q_off;
        if let Some(label) = a.cname_label {
            put16(out, 0xc000 | q_off);
            put16(out, TYPE_CNAME);
            put16(out, 1);
            out.extend_from_slice(&a.ttl.to_be_bytes());
            put16(out, (1 + label.len() + 2) as u16);
            owner = out.len() as u16;
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
            put16(out, 0xc000 | parent_off);
        }
        let alen = if qtype == TYPE_AAAA { 16 } else { 4 };
        for addr in a.addrs {
            put16(out, 0xc000 | owner);
            put16(out, qtype);
            put16(out, 1);
            out.extend_from_slice(&a.ttl.to_be_bytes());
            put16(out, alen as u16);
            out.extend_from_slice(&addr[..alen]);
        }
    }
    if edns {
        opt_rr(out);
    }
}
