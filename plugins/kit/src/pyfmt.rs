//! Python-compatible value text for the CSV and JSON writers (spec §7).
//!
//! Every function appends to a caller-owned `Vec<u8>` and allocates nothing else
//! (the float digits are produced in a small stack buffer), so they can be called
//! per value per row.

use std::fmt::Write as _;

/// A fixed-size stack buffer that `core::fmt` can write into.
struct StackBuf {
    buf: [u8; 40],
    len: usize,
}

impl StackBuf {
    fn new() -> Self {
        StackBuf {
            buf: [0; 40],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Shortest round-trip decimal digits of a finite, non-negative `x` as
/// `(digits, k, e)` with `x ≈ d1.d2…dk × 10^e` (ASCII digits in `digits[..k]`).
/// Zero gives the single digit "0" and exponent 0.
///
/// The digits come from Żmij (the `zmij` crate, also behind serde_json): the shortest
/// digit string that round-trips and, among those, the closest to `x` — the same rule
/// as CPython's `repr` (`_Py_dg_dtoa` mode 0), several times faster than `core::fmt`'s
/// `{:e}` and faster than Ryū (docs/performance.md). When `x` lies exactly halfway between the two closest
/// shortest candidates, CPython takes the one whose last digit is even; that case is
/// detected exactly and resolved like CPython whatever Żmij chose.
fn shortest_digits(x: f64) -> ([u8; 17], usize, i32) {
    let mut buf = zmij::Buffer::new();
    let (digits, k, exp) = parse_decimal(buf.format_finite(x).as_bytes());
    if let Some(tie) = half_even_tie_digits(x, k) {
        return tie;
    }
    (digits, k, exp)
}

/// Splits a plain decimal text (`"0.00123"`, `"1.5e16"`, `"123.0"`, `"1e-7"`; no sign)
/// into significant digits without leading or trailing zeros and the decimal exponent
/// of the first one. All zeros gives `("0", 1, 0)`.
fn parse_decimal(text: &[u8]) -> ([u8; 17], usize, i32) {
    let (mantissa, exp10) = match text.iter().position(|&c| c == b'e' || c == b'E') {
        Some(p) => {
            let mut e: i32 = 0;
            let mut neg = false;
            for &c in &text[p + 1..] {
                match c {
                    b'-' => neg = true,
                    b'0'..=b'9' => e = e * 10 + i32::from(c - b'0'),
                    _ => {}
                }
            }
            (&text[..p], if neg { -e } else { e })
        }
        None => (text, 0),
    };
    let mut digits = [0u8; 17];
    let mut k = 0;
    // digits seen before the point, and whether a nonzero digit was seen yet
    let (mut before_point, mut in_fraction) = (0i32, false);
    let mut first_pos: Option<i32> = None; // position of the first nonzero digit
    let mut pos = 0i32; // position of the current digit among all digits
    let mut last_nonzero = 0usize;
    for &c in mantissa {
        if c == b'.' {
            in_fraction = true;
            continue;
        }
        if !in_fraction {
            before_point += 1;
        }
        if first_pos.is_none() && c == b'0' {
            pos += 1;
            continue;
        }
        if first_pos.is_none() {
            first_pos = Some(pos);
        }
        if k < digits.len() {
            digits[k] = c;
            k += 1;
            if c != b'0' {
                last_nonzero = k;
            }
        }
        pos += 1;
    }
    match first_pos {
        None => {
            digits[0] = b'0';
            (digits, 1, 0)
        }
        Some(f) => (digits, last_nonzero, before_point - 1 - f + exp10),
    }
}

/// If `x` (finite, positive) is exactly `N × 10^p` with `N < 10^18` (no trailing
/// zeros in `N`), returns `(N, p)`.
fn exact_short_decimal(x: f64) -> Option<(u64, i32)> {
    const LIMIT: u128 = 1_000_000_000_000_000_000;
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mut m, mut q) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    if m == 0 {
        return None;
    }
    let tz = m.trailing_zeros();
    m >>= tz;
    q += tz as i32;
    // x = m · 2^q with m odd
    let (mut n, mut p) = if q >= 0 {
        if q >= 64 {
            return None;
        }
        (u128::from(m) << q, 0)
    } else {
        // m · 2^q = m · 5^-q · 10^q; 5^26 < 10^18 < 5^27
        if q < -26 {
            return None;
        }
        (u128::from(m) * 5u128.pow(q.unsigned_abs()), q)
    };
    if n >= LIMIT {
        return None;
    }
    while n % 10 == 0 {
        n /= 10;
        p += 1;
    }
    Some((n as u64, p))
}

/// The CPython digits for the exact-tie case described in [`shortest_digits`], or
/// `None` if `x` is not such a tie (then the `{:e}` digits are CPython's too).
/// `k` is the length of the shortest round-trip digit string.
fn half_even_tie_digits(x: f64, k: usize) -> Option<([u8; 17], usize, i32)> {
    let (n, p) = exact_short_decimal(x)?;
    let mut nbuf = [0u8; 20];
    if n % 10 != 5 || u64_digits(n, &mut nbuf).len() != k + 1 {
        return None;
    }
    // x is exactly halfway between the k-digit candidates lo and lo + 1 (× 10^(p+1)).
    let lo = n / 10;
    let even = if lo % 2 == 0 { lo } else { lo + 1 };
    // Both candidates are equally close; take the even one if it round-trips (it may
    // not when x is a power of two, whose lower neighbour is closer).
    let mut check = StackBuf::new();
    write!(check, "{even}e{}", p + 1).ok()?;
    let back: f64 = std::str::from_utf8(check.as_bytes()).ok()?.parse().ok()?;
    if back != x {
        return None;
    }
    let mut ebuf = [0u8; 20];
    let mut text = u64_digits(even, &mut ebuf);
    // lo + 1 may have carried into a new digit (…9 + 1) and may end in zeros
    let exp = p + 1 + text.len() as i32 - 1;
    while text.len() > 1 && text[text.len() - 1] == b'0' {
        text = &text[..text.len() - 1];
    }
    let mut digits = [0u8; 17];
    digits[..text.len()].copy_from_slice(text);
    Some((digits, text.len(), exp))
}

/// CPython `repr` layout of a finite float (sign included).
fn write_repr_finite(out: &mut Vec<u8>, x: f64) {
    if x.is_sign_negative() {
        out.push(b'-');
    }
    let a = x.abs();
    // Integral values below 10^15 (counts, byte totals, 0.0 — a large share of feature
    // values): CPython writes the integer and ".0"; no Żmij call is needed.
    // (`a as u64` is exact below 2^53, and `fract` would be a libm call here.)
    if a < 1e15 && (a as u64) as f64 == a {
        write_u64(out, a as u64);
        out.extend_from_slice(b".0");
        return;
    }
    // Fast path: CPython writes plain decimals for decimal exponents -4..=15 of the
    // shortest digits, that is for 1e-4 <= a < 1e16 (a double below the double 1e-4 has
    // shortest digits below it, so an exponent of -5 or less, because "1e-4" reads back
    // as that double; likewise below 1e16, which is exact). Żmij writes plain decimals
    // ("0.0001", "123.5", "1000000000000000.0") for -5..=15 with the same digits, so in
    // that range its text is CPython's unless it is an exact tie. A tie needs an exact
    // decimal N·10^p with N >= 2^53 (16+ digits: the shorter candidate is at least 10^p
    // away, half an ulp at most N·10^p·2^-53) and a shortest form one digit shorter, so a
    // text of at most 15 bytes (<= 14 digits) is never one.
    if (1e-4..1e16).contains(&a) {
        let mut buf = zmij::Buffer::new();
        let text = buf.format_finite(a).as_bytes();
        if text.len() <= 15 || exact_short_decimal(a).is_none() {
            out.extend_from_slice(text);
            return;
        }
    }
    write_repr_general(out, a);
}

/// CPython `repr` layout of a finite non-negative float, from its shortest digits.
fn write_repr_general(out: &mut Vec<u8>, a: f64) {
    let (digits, n, exp) = shortest_digits(a);
    let digits = &digits[..n];
    if !(-4..16).contains(&exp) {
        // scientific: d[.ddd]e±XX (at least two exponent digits)
        out.push(digits[0]);
        if n > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push(b'0');
        }
        write_u64(out, u64::from(e));
    } else if exp < 0 {
        // 0.000ddd
        out.extend_from_slice(b"0.");
        for _ in 0..(-exp - 1) {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
    } else {
        let int_len = exp as usize + 1;
        if int_len < n {
            out.extend_from_slice(&digits[..int_len]);
            out.push(b'.');
            out.extend_from_slice(&digits[int_len..]);
        } else {
            out.extend_from_slice(digits);
            for _ in n..int_len {
                out.push(b'0');
            }
            out.extend_from_slice(b".0");
        }
    }
}

/// CPython `repr(x)` (= `str(x)`) of a float: shortest round-trip digits, fixed
/// notation with at least one decimal for decimal exponents -4..=15 (`60.0`,
/// `0.0001`, `123456789012345.0`), scientific otherwise (`1e-05`, `1.5e+16`);
/// `inf`, `-inf`, `nan`, `-0.0`. This is also what pandas' CSV writer prints.
pub fn write_py_float(out: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        out.extend_from_slice(b"nan");
    } else if x.is_infinite() {
        out.extend_from_slice(if x < 0.0 { b"-inf" } else { b"inf" });
    } else {
        write_repr_finite(out, x);
    }
}

/// A float as Python's `json.dumps` writes it: `repr`, except `Infinity`,
/// `-Infinity` and `NaN` for the non-finite values.
pub fn write_json_float(out: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if x.is_infinite() {
        out.extend_from_slice(if x < 0.0 { b"-Infinity" } else { b"Infinity" });
    } else {
        write_repr_finite(out, x);
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `\uXXXX` with lowercase hex digits, as Python's json module writes it.
fn write_u_escape(out: &mut Vec<u8>, unit: u16) {
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[usize::from((unit >> shift) & 0xf)]);
    }
}

/// The shared JSON string encoder. `ascii_only` selects `json.dumps`'s default
/// `ensure_ascii=True` behaviour (everything outside 0x20..=0x7E escaped).
fn write_json_string_impl(out: &mut Vec<u8>, s: &str, ascii_only: bool) {
    let bytes = s.as_bytes();
    out.push(b'"');
    let mut run_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let plain = match b {
            b'"' | b'\\' | 0x00..=0x1f => false,
            0x7f..=0xff => !ascii_only,
            _ => true,
        };
        if plain {
            i += 1;
            continue;
        }
        out.extend_from_slice(&bytes[run_start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x00..=0x7f => write_u_escape(out, u16::from(b)),
            _ => {
                // non-ASCII in ascii_only mode: escape the whole char as UTF-16
                let c = s[i..].chars().next().expect("i is on a char boundary");
                let mut units = [0u16; 2];
                for &unit in c.encode_utf16(&mut units).iter() {
                    write_u_escape(out, unit);
                }
                i += c.len_utf8();
                run_start = i;
                continue;
            }
        }
        i += 1;
        run_start = i;
    }
    out.extend_from_slice(&bytes[run_start..]);
    out.push(b'"');
}

/// A JSON string literal with the same text as Python's
/// `json.dumps(s, ensure_ascii=False)`: `"` and `\` escaped, `\n \r \t \b \f`, other
/// control characters as `\u00XX` (lowercase hex); everything else, including
/// non-ASCII, is kept as UTF-8.
///
/// Plain `json.dumps(s)` (the reference's JSON output) would instead escape
/// non-ASCII and DEL as `\uXXXX`; both forms parse to the same string. Use
/// [`write_json_string_ascii`] for byte-identical output.
pub fn write_json_string(out: &mut Vec<u8>, s: &str) {
    write_json_string_impl(out, s, false);
}

/// A JSON string literal byte-identical to Python's default `json.dumps(s)`
/// (`ensure_ascii=True`): like [`write_json_string`], plus every character outside
/// 0x20..=0x7E escaped as `\uXXXX` (UTF-16 surrogate pairs above U+FFFF).
pub fn write_json_string_ascii(out: &mut Vec<u8>, s: &str) {
    write_json_string_impl(out, s, true);
}

/// One CSV field, RFC 4180 minimal quoting: wrapped in `"` only if it contains a
/// comma, a quote, CR or LF, with quotes doubled inside.
///
/// Note Python's `csv` module additionally writes a row consisting of one empty
/// field as `""`; that is a row-level rule left to the writer.
pub fn write_csv_field(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if !bytes
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(b'"');
    for part in bytes.split_inclusive(|&b| b == b'"') {
        out.extend_from_slice(part);
        if part.last() == Some(&b'"') {
            out.push(b'"');
        }
    }
    out.push(b'"');
}

/// Pairs of decimal digits "00".."99".
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The decimal digits of `v`, written right-aligned into `buf`; returns them.
fn u64_digits(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut pos = buf.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        pos -= 2;
        buf[pos..pos + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        pos -= 2;
        buf[pos..pos + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        pos -= 1;
        buf[pos] = b'0' + v as u8;
    }
    &buf[pos..]
}

/// Decimal text of an unsigned integer (Python `str(int)`).
pub fn write_u64(out: &mut Vec<u8>, v: u64) {
    // Most values written are small (counts, flags, packet sizes): a fixed-size append
    // for them instead of a variable-length copy.
    if v < 10 {
        out.push(b'0' + v as u8);
    } else if v < 100 {
        let p = v as usize * 2;
        out.extend_from_slice(&[DIGIT_PAIRS[p], DIGIT_PAIRS[p + 1]]);
    } else if v < 10_000 {
        let (hi, lo) = ((v / 100) as usize, (v % 100) as usize * 2);
        if hi < 10 {
            out.extend_from_slice(&[b'0' + hi as u8, DIGIT_PAIRS[lo], DIGIT_PAIRS[lo + 1]]);
        } else {
            let hi = hi * 2;
            out.extend_from_slice(&[
                DIGIT_PAIRS[hi],
                DIGIT_PAIRS[hi + 1],
                DIGIT_PAIRS[lo],
                DIGIT_PAIRS[lo + 1],
            ]);
        }
    } else {
        let mut buf = [0u8; 20];
        out.extend_from_slice(u64_digits(v, &mut buf));
    }
}

/// Decimal text of a signed integer (Python `str(int)`).
pub fn write_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    write_u64(out, v.unsigned_abs());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with<F: FnOnce(&mut Vec<u8>)>(f: F) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    /// The digits as `core::fmt`'s `{:e}` gives them (shortest round-trip, closest), with
    /// the same exact-tie rule applied: an oracle for the Żmij path.
    fn digits_via_core_fmt(x: f64) -> (String, i32) {
        let text = format!("{x:e}");
        let (m, e) = text.split_once('e').unwrap();
        let digits: String = m.chars().filter(|c| *c != '.').collect();
        if let Some((d, k, e)) = half_even_tie_digits(x, digits.len()) {
            return (String::from_utf8(d[..k].to_vec()).unwrap(), e);
        }
        (digits, e.parse().unwrap())
    }

    #[test]
    #[allow(clippy::excessive_precision)] // exact binary values (ties)
    fn shortest_digits_equal_core_fmt_digits() {
        let check = |x: f64| {
            let (d, k, e) = shortest_digits(x);
            let got = (String::from_utf8(d[..k].to_vec()).unwrap(), e);
            assert_eq!(got, digits_via_core_fmt(x), "{x:e} ({:#x})", x.to_bits());
        };
        for x in [
            0.0,
            1.0,
            0.1,
            0.3,
            60.0,
            1e-5,
            1e16,
            1.5e16,
            1e22,
            1e23,
            5e-324,
            2.2250738585072014e-308,
            f64::MAX,
            1704067200.123456,
            0.000123,
            123456789012345680.0,
            9007199254740993.0,
            1059438285926254.25,
            26363981746409.3125,
        ] {
            check(x);
        }
        // random bit patterns (all exponents) and random "measurement-like" values
        let mut rng = crate::testutil::XorShift64(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next_u64();
        for _ in 0..200_000 {
            let x = f64::from_bits(next() & !(1u64 << 63));
            if x.is_finite() {
                check(x);
            }
            let y = (next() % 1_000_000_000) as f64 / 1000.0 + 1.7e9;
            check(y);
            let z = (next() % 100_000) as f64 / (1 + next() % 997) as f64;
            check(z);
        }
    }

    #[test]
    #[allow(clippy::excessive_precision)] // exact binary values (ties)
    fn the_fast_path_writes_what_the_general_layout_writes() {
        let mut rng = crate::testutil::XorShift64(0x2545_f491_4f6c_dd1d);
        let mut next = || rng.next_u64();
        let mut values = vec![
            1e-5,
            1.5e-5,
            9.99e-5,
            1e-4,
            0.5,
            1e15,
            9999999999999998.0,
            1e16,
            // the neighbours of the range's ends
            f64::from_bits(1e-4f64.to_bits() - 1),
            f64::from_bits(1e-4f64.to_bits() + 1),
            f64::from_bits(1e-5f64.to_bits() - 1),
            f64::from_bits(1e16f64.to_bits() - 1),
            f64::from_bits(1e16f64.to_bits() + 1),
            0.0,
            1.0,
            60.0,
            999999999999999.0,
            999999999999999.5,
            4503599627370497.0,
            9007199254740993.0,
            1059438285926254.25,
            26363981746409.3125,
            0.125,
            2.5,
        ];
        for _ in 0..100_000 {
            values.push(f64::from_bits(next() & !(1u64 << 63)));
            let scale = 10f64.powi((next() % 30) as i32 - 10);
            values.push((next() % 1_000_000) as f64 * scale);
            // integers as floats, and short exact decimals (n / 2^k)
            values.push((next() % (1u64 << (next() % 60))) as f64);
            values.push((next() % 100_000) as f64 / (1u64 << (next() % 12)) as f64);
        }
        for x in values.into_iter().filter(|x| x.is_finite()) {
            let fast = with(|o| write_repr_finite(o, x));
            let general = with(|o| write_repr_general(o, x));
            assert_eq!(fast, general, "{x:e}");
        }
    }

    #[test]
    fn plain_decimal_text_is_split_into_digits_and_exponent() {
        let p = |t: &str| {
            let (d, k, e) = parse_decimal(t.as_bytes());
            (String::from_utf8(d[..k].to_vec()).unwrap(), e)
        };
        assert_eq!(p("0.00123"), ("123".into(), -3));
        assert_eq!(p("123.0"), ("123".into(), 2));
        assert_eq!(p("1.5e16"), ("15".into(), 16));
        assert_eq!(p("1e-7"), ("1".into(), -7));
        assert_eq!(p("100.0"), ("1".into(), 2));
        assert_eq!(p("0.0"), ("0".into(), 0));
        assert_eq!(
            p("4.9406564584124654E-324"),
            ("49406564584124654".into(), -324)
        );
    }

    #[test]
    #[allow(clippy::excessive_precision)] // the tie cases are exact binary values
    fn float_layout_basics() {
        let r = |x: f64| with(|o| write_py_float(o, x));
        assert_eq!(r(0.0), "0.0");
        assert_eq!(r(-0.0), "-0.0");
        assert_eq!(r(60.0), "60.0");
        assert_eq!(r(0.1), "0.1");
        assert_eq!(r(1e-5), "1e-05");
        assert_eq!(r(0.0001), "0.0001");
        assert_eq!(r(1.5e16), "1.5e+16");
        assert_eq!(r(1e16), "1e+16");
        assert_eq!(r(123456789012345.0), "123456789012345.0");
        assert_eq!(r(1704067200.0), "1704067200.0");
        assert_eq!(r(f64::INFINITY), "inf");
        assert_eq!(r(f64::NEG_INFINITY), "-inf");
        assert_eq!(r(f64::NAN), "nan");
        assert_eq!(r(5e-324), "5e-324");
        assert_eq!(r(1e100), "1e+100");
        // exact ties between two shortest candidates: CPython takes the even digit
        assert_eq!(r(1059438285926254.25), "1059438285926254.2");
        assert_eq!(r(26363981746409.3125), "26363981746409.312");
        assert_eq!(r(1059438285926254.75), "1059438285926254.8");
        let j = |x: f64| with(|o| write_json_float(o, x));
        assert_eq!(j(f64::INFINITY), "Infinity");
        assert_eq!(j(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(j(f64::NAN), "NaN");
        assert_eq!(j(0.25), "0.25");
    }

    #[test]
    fn integers() {
        let u = |v: u64| with(|o| write_u64(o, v));
        let i = |v: i64| with(|o| write_i64(o, v));
        for v in [0u64, 1, 9, 10, 99, 100, 101, 999, 1000, 12345, u64::MAX] {
            assert_eq!(u(v), v.to_string());
        }
        for v in [0i64, -1, 7, -10, -99, 100, -12345678, i64::MIN, i64::MAX] {
            assert_eq!(i(v), v.to_string());
        }
        for k in 0..20 {
            let v = 10u64.pow(k);
            assert_eq!(u(v), v.to_string());
            assert_eq!(u(v - 1), (v - 1).to_string());
        }
        // every value of the small-number paths
        for v in 0..20_000u64 {
            assert_eq!(u(v), v.to_string());
        }
    }

    #[test]
    fn json_strings() {
        let s = |x: &str| with(|o| write_json_string(o, x));
        let a = |x: &str| with(|o| write_json_string_ascii(o, x));
        assert_eq!(s(""), r#""""#);
        assert_eq!(s("plain"), r#""plain""#);
        assert_eq!(s("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(s("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(s("\u{0}\u{1f}x"), r#""\u0000\u001fx""#);
        assert_eq!(s("é\u{7f}"), "\"é\u{7f}\"");
        // json.dumps('é\x7f€😀') == '"\\u00e9\\u007f\\u20ac\\ud83d\\ude00"'
        assert_eq!(a("é\u{7f}€😀"), r#""\u00e9\u007f\u20ac\ud83d\ude00""#);
        assert_eq!(a("h2,http/1.1"), r#""h2,http/1.1""#);
        assert_eq!(a("x\"é\ny"), r#""x\"\u00e9\ny""#);
    }

    #[test]
    fn csv_fields() {
        let c = |x: &str| with(|o| write_csv_field(o, x));
        assert_eq!(c(""), "");
        assert_eq!(c("abc def"), "abc def");
        assert_eq!(c("h2,http/1.1"), "\"h2,http/1.1\"");
        assert_eq!(c("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(c("\""), "\"\"\"\"");
        assert_eq!(c("a\nb"), "\"a\nb\"");
        assert_eq!(c("a\rb"), "\"a\rb\"");
        assert_eq!(c("[0.01, 0.02]"), "\"[0.01, 0.02]\"");
        assert_eq!(c("[1]"), "[1]");
    }

    #[test]
    fn appends_without_clearing() {
        let mut out = b"x=".to_vec();
        write_py_float(&mut out, 2.5);
        out.push(b',');
        write_i64(&mut out, -3);
        assert_eq!(out, b"x=2.5,-3");
    }
}
