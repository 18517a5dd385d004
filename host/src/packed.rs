//! Rows held by the second pass, packed into bytes.
//!
//! A two-pass run holds every row of a graph window until the window closes (up to
//! `--graph-window-rows`, 200,000 by default). As `Value`s a row costs 40 bytes a column
//! plus its strings' buffers; packed, a number costs 9 bytes, a string 5 plus its text.
//! [`pack`] appends one row to a byte buffer, [`unpack`] reads it back bit for bit (floats
//! by their bits, so NaN payloads and `-0.0` survive) into value slots whose string and
//! list buffers it reuses. Pure code, no I/O.
#![forbid(unsafe_code)]

use jj_plugin_api::Value;

const NULL: u8 = 0;
const INT: u8 = 1;
const FLOAT: u8 = 2;
const FALSE: u8 = 3;
const TRUE: u8 = 4;
const STR: u8 = 5;
const FLOAT_LIST: u8 = 6;
const INT_LIST: u8 = 7;

/// Appends `values` to `out`.
pub fn pack(values: &[Value], out: &mut Vec<u8>) {
    for v in values {
        match v {
            Value::Null => out.push(NULL),
            Value::Int(i) => {
                out.push(INT);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Value::Float(f) => {
                out.push(FLOAT);
                out.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            Value::Bool(b) => out.push(if *b { TRUE } else { FALSE }),
            Value::Str(s) => {
                out.push(STR);
                put_len(out, s.len());
                out.extend_from_slice(s.as_bytes());
            }
            Value::FloatList(l) => {
                out.push(FLOAT_LIST);
                put_len(out, l.len());
                for f in l.iter() {
                    out.extend_from_slice(&f.to_bits().to_le_bytes());
                }
            }
            Value::IntList(l) => {
                out.push(INT_LIST);
                put_len(out, l.len());
                for i in l.iter() {
                    out.extend_from_slice(&i.to_le_bytes());
                }
            }
        }
    }
}

/// Lengths are below 2^32: a value is at most one column of one flow.
fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

/// Reads back every value [`pack`] wrote into `bytes`, into `out` (resized to the number
/// of values, its slots' buffers reused). Bytes not written by `pack` give `Null`s for
/// what cannot be read, never a panic.
pub fn unpack(bytes: &[u8], out: &mut Vec<Value>) {
    let mut r = Reader { b: bytes, at: 0 };
    let mut n = 0;
    while let Some(tag) = r.byte() {
        if out.len() == n {
            out.push(Value::Null);
        }
        let slot = &mut out[n];
        n += 1;
        match tag {
            INT => slot.set_int(r.word().map_or(0, |w| w as i64)),
            FLOAT => slot.set_float(f64::from_bits(r.word().unwrap_or(0))),
            FALSE => slot.set_bool(false),
            TRUE => slot.set_bool(true),
            STR => {
                let len = r.len();
                let text = r.take(len).unwrap_or(&[]);
                slot.set_str(std::str::from_utf8(text).unwrap_or(""));
            }
            FLOAT_LIST => {
                let len = r.len();
                let l = slot.float_list();
                for _ in 0..len {
                    match r.word() {
                        Some(w) => l.push(f64::from_bits(w)),
                        None => break,
                    }
                }
            }
            INT_LIST => {
                let len = r.len();
                let l = slot.int_list();
                for _ in 0..len {
                    match r.word() {
                        Some(w) => l.push(w as i64),
                        None => break,
                    }
                }
            }
            _ => slot.set_null(),
        }
    }
    out.truncate(n);
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }

    fn word(&mut self) -> Option<u64> {
        let s = self.take(8)?;
        Some(u64::from_le_bytes(s.try_into().ok()?))
    }

    fn len(&mut self) -> usize {
        self.take(4)
            .and_then(|s| s.try_into().ok())
            .map_or(0, |a| u32::from_le_bytes(a) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jj_plugin_api::abi_stable::std_types::{RString, RVec};

    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
            (Value::FloatList(x), Value::FloatList(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .zip(y.iter())
                        .all(|(p, q)| p.to_bits() == q.to_bits())
            }
            _ => a == b,
        }
    }

    #[test]
    fn every_kind_round_trips_bit_for_bit() {
        let row = vec![
            Value::Null,
            Value::Int(i64::MIN),
            Value::Int(-1),
            Value::Float(-0.0),
            Value::Float(f64::from_bits(0x7ff8_0000_0000_0123)), // a NaN with a payload
            Value::Float(f64::INFINITY),
            Value::Bool(true),
            Value::Bool(false),
            Value::Str(RString::from("")),
            Value::Str(RString::from("10.0.0.1 → ::1, ünïcode")),
            Value::FloatList(RVec::from(vec![1.5, f64::NAN, -0.0])),
            Value::FloatList(RVec::new()),
            Value::IntList(RVec::from(vec![i64::MAX, 0, -7])),
        ];
        let mut bytes = Vec::new();
        pack(&row, &mut bytes);
        // a number takes 9 bytes (not a 40-byte `Value`), a null or bool 1
        let mut small = Vec::new();
        pack(
            &[
                Value::Int(5),
                Value::Float(0.5),
                Value::Null,
                Value::Bool(true),
            ],
            &mut small,
        );
        assert_eq!(small.len(), 9 + 9 + 1 + 1);
        let mut back = Vec::new();
        unpack(&bytes, &mut back);
        assert_eq!(back.len(), row.len());
        for (a, b) in row.iter().zip(&back) {
            assert!(same(a, b), "{a:?} vs {b:?}");
        }
    }

    /// Slots of another kind are replaced, extra slots dropped, missing ones added; a
    /// string slot keeps its buffer.
    #[test]
    fn unpack_reuses_and_resizes_the_slots() {
        let mut bytes = Vec::new();
        pack(
            &[Value::Str(RString::from("ab")), Value::Int(3)],
            &mut bytes,
        );
        let mut slots = vec![
            Value::Str(RString::with_capacity(64)),
            Value::FloatList(RVec::from(vec![1.0])),
            Value::Int(9),
        ];
        unpack(&bytes, &mut slots);
        assert_eq!(slots, vec![Value::Str(RString::from("ab")), Value::Int(3)]);
        match &slots[0] {
            Value::Str(s) => assert!(s.capacity() >= 64, "buffer reused"),
            other => panic!("{other:?}"),
        }
        let mut few = Vec::new();
        unpack(&bytes, &mut few);
        assert_eq!(few.len(), 2);
    }

    /// Random rows of random kinds round-trip; cut or damaged bytes never panic.
    #[test]
    fn random_rows_round_trip_and_damage_is_harmless() {
        let mut rng = jj_gen::rng::Rng::new(0x7061_636b);
        let mut next = move || rng.next_u64();
        let mut out = Vec::new();
        for _ in 0..500 {
            let row: Vec<Value> = (0..(next() % 40))
                .map(|_| match next() % 7 {
                    0 => Value::Null,
                    1 => Value::Int(next() as i64),
                    2 => Value::Float(f64::from_bits(next())),
                    3 => Value::Bool(next() % 2 == 0),
                    4 => Value::Str(RString::from("x".repeat((next() % 20) as usize))),
                    5 => {
                        Value::FloatList((0..next() % 5).map(|_| f64::from_bits(next())).collect())
                    }
                    _ => Value::IntList((0..next() % 5).map(|_| next() as i64).collect()),
                })
                .collect();
            let mut bytes = Vec::new();
            pack(&row, &mut bytes);
            unpack(&bytes, &mut out);
            assert_eq!(out.len(), row.len());
            assert!(row.iter().zip(&out).all(|(a, b)| same(a, b)));
            if !bytes.is_empty() {
                let cut = (next() % bytes.len() as u64) as usize;
                unpack(&bytes[..cut], &mut out);
                let i = (next() % bytes.len() as u64) as usize;
                bytes[i] = next() as u8;
                unpack(&bytes, &mut out);
            }
        }
    }
}
