//! Rows in PostgreSQL's binary `COPY` format.
//!
//! The binary format sends every value with its length, so no value needs escaping
//! (tabs, newlines, backslashes and quotes in strings go through as they are, and a null
//! is a length of -1, distinct from an empty string), and numbers keep every bit
//! (integers as big-endian `int8`, floats as IEEE 754 `float8`, NaN and ±infinity
//! included). Layout (PostgreSQL manual, "COPY", section "Binary Format"):
//!
//! * header: the 11-byte signature `PGCOPY\n\377\r\n\0`, a 32-bit flags field (0) and a
//!   32-bit header-extension length (0);
//! * each row: a 16-bit field count, then per field a 32-bit length (-1 for null) and
//!   that many bytes;
//! * trailer: a 16-bit -1.
//!
//! Arrays (`double precision[]`, `bigint[]`) are sent as `array_recv` reads them: number of
//! dimensions (1, or 0 for an empty array), a has-nulls flag (0), the element type's OID,
//! per dimension its length and lower bound (1), then each element with its length.

use jj_kit::pyfmt::{write_i64, write_py_float};
use jj_plugin_api::{Column, DType};
use jj_writer_util::json::{write_json_float_list, write_json_int_list};

/// Signature, flags (no OIDs) and an empty header extension.
pub const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The file trailer: a field count of -1.
pub const TRAILER: &[u8] = &[0xff, 0xff];

/// Type OIDs (`pg_type.oid`), fixed in every PostgreSQL version.
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const INT8: u32 = 20;
    pub const TEXT: u32 = 25;
    pub const FLOAT8: u32 = 701;
    pub const INT8_ARRAY: u32 = 1016;
    pub const FLOAT8_ARRAY: u32 = 1022;
    pub const VARCHAR: u32 = 1043;
}

/// The largest value PostgreSQL stores in one field (1 GB - 1).
const MAX_FIELD_BYTES: usize = (1 << 30) - 1;

/// How the values of one column are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// The column's own type (`bigint`, `double precision`, `boolean`, `text`,
    /// `double precision[]`, `bigint[]`).
    Native,
    /// Text, for an existing `text` / `varchar` column: values as the CSV writer prints
    /// them (Python `repr` floats, `True` / `False`, lists as JSON).
    Text,
}

/// The encoding of values of `dtype` into an existing column of type `type_oid`, if the
/// writer can fill it.
pub fn encoding_for(dtype: DType, type_oid: u32) -> Option<Encoding> {
    let native = match dtype {
        DType::Int64 => oid::INT8,
        DType::Float64 => oid::FLOAT8,
        DType::Bool => oid::BOOL,
        DType::String => oid::TEXT,
        DType::FloatList => oid::FLOAT8_ARRAY,
        DType::IntList => oid::INT8_ARRAY,
    };
    if type_oid == native {
        Some(Encoding::Native)
    } else if type_oid == oid::TEXT || type_oid == oid::VARCHAR {
        // The binary form of text and varchar is the UTF-8 text itself.
        Some(Encoding::Text)
    } else {
        None
    }
}

/// A value too large for PostgreSQL: the row cannot be written.
#[derive(Debug, PartialEq, Eq)]
pub struct TooLarge {
    pub column: usize,
    pub bytes: usize,
}

/// Encodes rows, reusing its scratch buffer.
#[derive(Debug)]
pub struct RowEncoder {
    encodings: Vec<Encoding>,
    scratch: Vec<u8>,
    /// Strings in which NUL characters were replaced (PostgreSQL text cannot hold them).
    pub nul_strings: u64,
}

fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Reserves a 32-bit length slot, returning its position for [`end_field`].
fn begin_field(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    at
}

/// Fills the length slot at `at` with the number of bytes written after it.
fn end_field(out: &mut [u8], at: usize, column: usize) -> Result<(), TooLarge> {
    let bytes = out.len() - at - 4;
    if bytes > MAX_FIELD_BYTES {
        return Err(TooLarge { column, bytes });
    }
    out[at..at + 4].copy_from_slice(&(bytes as i32).to_be_bytes());
    Ok(())
}

/// A one-dimensional array of 8-byte elements (or an empty array).
fn put_array<T: Copy>(
    out: &mut Vec<u8>,
    elem_oid: u32,
    values: &[T],
    bytes: impl Fn(T) -> [u8; 8],
) {
    if values.is_empty() {
        put_i32(out, 0); // dimensions
        put_i32(out, 0); // has nulls
        out.extend_from_slice(&elem_oid.to_be_bytes());
        return;
    }
    put_i32(out, 1);
    put_i32(out, 0);
    out.extend_from_slice(&elem_oid.to_be_bytes());
    put_i32(out, values.len() as i32);
    put_i32(out, 1); // lower bound
    out.reserve(values.len() * 12);
    for &v in values {
        put_i32(out, 8);
        out.extend_from_slice(&bytes(v));
    }
}

/// UTF-8 text with each NUL character replaced by U+FFFD. Returns whether any was.
fn put_text(out: &mut Vec<u8>, s: &str) -> bool {
    let b = s.as_bytes();
    if !b.contains(&0) {
        out.extend_from_slice(b);
        return false;
    }
    for part in b.split(|&c| c == 0).enumerate() {
        if part.0 > 0 {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
        out.extend_from_slice(part.1);
    }
    true
}

impl RowEncoder {
    pub fn new(encodings: Vec<Encoding>) -> Self {
        RowEncoder {
            encodings,
            scratch: Vec::new(),
            nul_strings: 0,
        }
    }

    /// Appends row `row` of `columns` (in schema order) as one binary COPY tuple. On
    /// error nothing is appended.
    pub fn encode_row(
        &mut self,
        out: &mut Vec<u8>,
        columns: &[Column<'_>],
        row: usize,
    ) -> Result<(), TooLarge> {
        let start = out.len();
        let result = self.encode_fields(out, columns, row);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_fields(
        &mut self,
        out: &mut Vec<u8>,
        columns: &[Column<'_>],
        row: usize,
    ) -> Result<(), TooLarge> {
        // The schema has at most 1600 columns (checked when the output is opened).
        out.extend_from_slice(&(columns.len() as i16).to_be_bytes());
        for (i, (c, enc)) in columns.iter().zip(&self.encodings).enumerate() {
            if !c.is_valid(row) {
                put_i32(out, -1);
                continue;
            }
            match (enc, c.dtype) {
                (Encoding::Native, DType::Int64) => {
                    put_i32(out, 8);
                    out.extend_from_slice(&c.int(row).to_be_bytes());
                }
                (Encoding::Native, DType::Float64) => {
                    put_i32(out, 8);
                    out.extend_from_slice(&c.float(row).to_bits().to_be_bytes());
                }
                (Encoding::Native, DType::Bool) => {
                    put_i32(out, 1);
                    out.push(c.bool(row) as u8);
                }
                (_, DType::String) => {
                    let at = begin_field(out);
                    if put_text(out, c.str(row)) {
                        self.nul_strings += 1;
                    }
                    end_field(out, at, i)?;
                }
                (Encoding::Native, DType::FloatList) => {
                    let at = begin_field(out);
                    put_array(out, oid::FLOAT8, c.float_list(row), |v: f64| {
                        v.to_bits().to_be_bytes()
                    });
                    end_field(out, at, i)?;
                }
                (Encoding::Native, DType::IntList) => {
                    let at = begin_field(out);
                    put_array(out, oid::INT8, c.int_list(row), |v: i64| v.to_be_bytes());
                    end_field(out, at, i)?;
                }
                (Encoding::Text, dtype) => {
                    let s = &mut self.scratch;
                    s.clear();
                    match dtype {
                        DType::Int64 => write_i64(s, c.int(row)),
                        DType::Float64 => write_py_float(s, c.float(row)),
                        DType::Bool => {
                            s.extend_from_slice(if c.bool(row) { b"True" } else { b"False" })
                        }
                        DType::FloatList => write_json_float_list(s, c.float_list(row)),
                        DType::IntList => write_json_int_list(s, c.int_list(row)),
                        // (strings are handled above)
                        DType::String => s.extend_from_slice(c.str(row).as_bytes()),
                    }
                    let at = begin_field(out);
                    out.extend_from_slice(s);
                    end_field(out, at, i)?;
                }
            }
        }
        Ok(())
    }
}
