//! The simulated network: clients, servers (with names), resolvers, payload pools.
//!
//! Everything is derived from the seed at start-up; nothing grows while generating.

use crate::rng::{mix64, Rng};

pub(crate) const N_WEB: usize = 400;
pub(crate) const N_CLIENTS: u64 = 4000;
const POOL_LEN: usize = 256 * 1024;

const WORDS: &[&str] = &[
    "alpha", "bravo", "cloud", "data", "delta", "echo", "fast", "fox", "globe", "harbor", "iris",
    "jet", "kite", "lumen", "metro", "nova", "orbit", "pixel", "quartz", "river", "solar", "terra",
    "ultra", "vista", "wave", "xeno", "yield", "zen", "acme", "blue", "cedar", "dune", "ember",
    "fjord", "granite", "helix", "indigo", "juniper", "kelp", "lotus", "maple", "nimbus", "onyx",
    "prism", "quill", "raven", "summit", "tundra", "umber", "vector", "willow", "zephyr", "shop",
    "news", "mail", "media", "photo", "stream", "learn", "travel", "bank", "health", "games",
];
const HOSTS: &[&str] = &[
    "www",
    "www",
    "www",
    "api",
    "cdn",
    "static",
    "img",
    "assets",
    "login",
    "app",
    "m",
    "edge",
    "media",
    "files",
    "telemetry",
    "update",
    "auth",
    "docs",
];
const TLDS: &[&str] = &[
    "com", "com", "com", "net", "org", "io", "example", "test", "co.uk", "de", "dev",
];

/// A server in the pool.
pub(crate) struct Server {
    pub v4: [u8; 4],
    pub v6: [u8; 16],
    pub name: String,
    /// TTL as seen at the capture point.
    pub ttl: u8,
    /// Whether the server negotiates TLS 1.3.
    pub tls13: bool,
}

pub(crate) struct World {
    pub web: Vec<Server>,
    pub resolvers: Vec<Server>,
    pub ntp: Vec<Server>,
    pub syslog: Server,
    pub gateway_mac: [u8; 6],
    client_salt: u64,
    /// Random bytes (encrypted-looking payloads).
    pub random: Vec<u8>,
    /// HTML-ish text (plain HTTP bodies).
    pub text: Vec<u8>,
}

/// A client host (derived from its index, no storage).
pub(crate) struct Client {
    pub v4: [u8; 4],
    pub v6: [u8; 16],
    pub mac: [u8; 6],
    pub ttl: u8,
    /// Windows-like TCP stack (no timestamps, different SYN option layout).
    pub windows: bool,
}

const PUBLIC_FIRST_OCTETS: &[u8] = &[
    13, 17, 23, 31, 34, 35, 44, 52, 54, 64, 66, 69, 72, 74, 91, 93, 104, 108, 128, 130, 142, 151,
    157, 162, 173, 176, 185, 198, 199, 204, 208, 209, 212, 216,
];

fn public_v4(rng: &mut Rng) -> [u8; 4] {
    match rng.below(10) {
        0 => [192, 0, 2, rng.range(1, 254) as u8],
        1 => [198, 51, 100, rng.range(1, 254) as u8],
        2 => [203, 0, 113, rng.range(1, 254) as u8],
        _ => [
            *rng.pick(PUBLIC_FIRST_OCTETS),
            rng.next_u8(),
            rng.next_u8(),
            rng.range(1, 254) as u8,
        ],
    }
}

fn server_ttl(rng: &mut Rng) -> u8 {
    let init: u32 = *rng.pick(&[64u32, 64, 64, 128, 255]);
    (init - rng.range(4, 22) as u32) as u8
}

fn v6_addr(prefix: [u16; 3], iid: u64) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0..2].copy_from_slice(&0x2001u16.to_be_bytes());
    a[2..4].copy_from_slice(&0x0db8u16.to_be_bytes());
    a[4..6].copy_from_slice(&prefix[0].to_be_bytes());
    a[6..8].copy_from_slice(&prefix[1].to_be_bytes());
    a[8..10].copy_from_slice(&prefix[2].to_be_bytes());
    a[10..16].copy_from_slice(&iid.to_be_bytes()[2..]);
    a
}

fn fixed(v4: [u8; 4], v6_tail: u16, name: &str, rng: &mut Rng) -> Server {
    let mut v6 = v6_addr([0, 0x53, 0], v6_tail as u64);
    v6[15] = (v6_tail & 0xff) as u8;
    Server {
        v4,
        v6,
        name: name.to_string(),
        ttl: server_ttl(rng),
        tls13: true,
    }
}

impl World {
    pub fn new(seed: u64) -> World {
        let mut rng = Rng::new(seed ^ 0x005e_ed0f_3013);
        let mut web = Vec::with_capacity(N_WEB);
        let mut name = String::new();
        for i in 0..N_WEB {
            name.clear();
            name.push_str(pick_str(&mut rng, HOSTS));
            name.push('.');
            name.push_str(word(&mut rng));
            if rng.chance(0.4) {
                name.push_str(word(&mut rng));
            }
            name.push('.');
            name.push_str(pick_str(&mut rng, TLDS));
            let v4 = public_v4(&mut rng);
            let v6 = v6_addr([0x1000 + i as u16, rng.next_u16(), 0], rng.next_u64() | 1);
            web.push(Server {
                v4,
                v6,
                name: name.clone(),
                ttl: server_ttl(&mut rng),
                tls13: rng.chance(0.8),
            });
        }
        let resolvers = vec![
            fixed([8, 8, 8, 8], 0x0808, "dns.google", &mut rng),
            fixed([1, 1, 1, 1], 0x0101, "one.one.one.one", &mut rng),
            fixed([9, 9, 9, 9], 0x0909, "dns.quad9.net", &mut rng),
            fixed([10, 0, 0, 53], 0x0053, "resolver.corp.example", &mut rng),
            fixed([10, 0, 0, 53], 0x0053, "resolver.corp.example", &mut rng),
        ];
        let ntp = vec![
            fixed([192, 0, 2, 123], 0x0123, "0.pool.ntp.example", &mut rng),
            fixed([198, 51, 100, 123], 0x1123, "1.pool.ntp.example", &mut rng),
            fixed([10, 0, 0, 123], 0x2123, "ntp.corp.example", &mut rng),
        ];
        let syslog = fixed([10, 200, 0, 10], 0x0514, "log.corp.example", &mut rng);
        let gateway_mac = [
            0x00,
            0x1c,
            0x73,
            rng.next_u8(),
            rng.next_u8(),
            rng.next_u8(),
        ];

        let mut random = vec![0u8; POOL_LEN];
        rng.fill(&mut random);
        let text = make_text(&mut rng, POOL_LEN);
        World {
            web,
            resolvers,
            ntp,
            syslog,
            gateway_mac,
            client_salt: rng.next_u64(),
            random,
            text,
        }
    }

    /// Zipf-like popular pick of a web server index.
    pub fn pick_web(&self, rng: &mut Rng) -> usize {
        let u = rng.f64();
        ((u * u * u) * self.web.len() as f64) as usize
    }

    /// Client `i` (0..N_CLIENTS).
    pub fn client(&self, i: u64) -> Client {
        let h = mix64(i ^ self.client_salt);
        let a = 1 + (i / (250 * 250)) as u8;
        let b = ((i / 250) % 250) as u8;
        let c = (2 + i % 250) as u8;
        const OUIS: &[[u8; 3]] = &[
            [0x3c, 0x22, 0xfb],
            [0xf8, 0xff, 0xc2],
            [0x00, 0x1b, 0x21],
            [0xa4, 0x83, 0xe7],
            [0xdc, 0xa6, 0x32],
            [0x00, 0x50, 0x56],
            [0x8c, 0x85, 0x90],
            [0x48, 0x2a, 0xe3],
        ];
        let oui = OUIS[(h % OUIS.len() as u64) as usize];
        let windows = (h >> 8) % 10 < 4;
        Client {
            v4: [10, a, b, c],
            v6: v6_addr([1, b as u16, a as u16], (h >> 16) | 0x0200_0000_0000),
            mac: [
                oui[0],
                oui[1],
                oui[2],
                (h >> 40) as u8,
                (h >> 48) as u8,
                (h >> 56) as u8,
            ],
            ttl: if windows { 128 } else { 64 },
            windows,
        }
    }
}

/// Copy `dst.len()` bytes of `pool` starting at `pos` (wrapping).
#[inline]
pub(crate) fn copy_pool(pool: &[u8], pos: u64, dst: &mut [u8]) {
    let n = pool.len();
    let mut p = (pos % n as u64) as usize;
    let mut done = 0;
    while done < dst.len() {
        let take = (dst.len() - done).min(n - p);
        dst[done..done + take].copy_from_slice(&pool[p..p + take]);
        done += take;
        p = 0;
    }
}

fn make_text(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut t = Vec::with_capacity(len + 200);
    const TAGS: &[&str] = &["p", "li", "span", "div", "td", "h3"];
    while t.len() < len {
        let tag = *rng.pick(TAGS);
        t.extend_from_slice(b"<");
        t.extend_from_slice(tag.as_bytes());
        t.extend_from_slice(b" class=\"");
        t.extend_from_slice(rng.pick(WORDS).as_bytes());
        t.extend_from_slice(b"\">");
        let n = rng.range(3, 18);
        for k in 0..n {
            if k > 0 {
                t.push(b' ');
            }
            t.extend_from_slice(rng.pick(WORDS).as_bytes());
        }
        t.extend_from_slice(b"</");
        t.extend_from_slice(tag.as_bytes());
        t.extend_from_slice(b">\n");
    }
    t.truncate(len);
    t
}

/// A random word (for paths and generated names).
pub(crate) fn word(rng: &mut Rng) -> &'static str {
    pick_str(rng, WORDS)
}

fn pick_str(rng: &mut Rng, list: &[&'static str]) -> &'static str {
    list[rng.below(list.len() as u64) as usize]
}

/// Days since 1970-01-01 to (year, month, day) (proleptic Gregorian).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `Tue, 14 Nov 2023 22:13:20 GMT`
pub(crate) fn http_date(ts_ns: i64, out: &mut Vec<u8>) {
    use std::io::Write;
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ts_ns.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let mut v = Vec::new();
        http_date(1_700_000_000_000_000_000, &mut v);
        assert_eq!(
            std::str::from_utf8(&v).unwrap(),
            "Tue, 14 Nov 2023 22:13:20 GMT"
        );
    }

    #[test]
    fn clients_are_private() {
        let w = World::new(1);
        for i in 0..N_CLIENTS {
            let c = w.client(i);
            assert_eq!(c.v4[0], 10);
            assert_eq!(&c.v6[..4], &[0x20, 0x01, 0x0d, 0xb8]);
        }
    }
}
