//! From the host's columnar batches to Arrow arrays.
//!
//! Every column is copied once into an Arrow buffer (the batch only borrows the host's
//! memory). String and list columns reuse the host's offsets (rebased to 0) when they are
//! well formed; otherwise the column is rebuilt row by row through the same accessors
//! the text writers use (`Column::str`, `float_list`, ...), so every writer shows the
//! same values even for a malformed column.

use arrow_array::{
    builder::{Float64Builder, Int64Builder, ListBuilder, StringBuilder},
    ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, StringArray,
};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, FieldRef, Schema as ArrowSchema};
use jj_plugin_api::{Column, ColumnMeta, DType};
use std::sync::Arc;

/// The Arrow type of a jj dtype.
pub(crate) fn arrow_type(dtype: DType) -> DataType {
    match dtype {
        DType::Int64 => DataType::Int64,
        DType::Float64 => DataType::Float64,
        DType::Bool => DataType::Boolean,
        DType::String => DataType::Utf8,
        DType::FloatList => DataType::List(item_field(DataType::Float64)),
        DType::IntList => DataType::List(item_field(DataType::Int64)),
    }
}

/// The element field of a list: `item`, nullable, as pyarrow and DuckDB name it.
fn item_field(dtype: DataType) -> FieldRef {
    Arc::new(Field::new("item", dtype, true))
}

/// The Arrow schema of the given columns: every field nullable.
pub(crate) fn arrow_schema<'a>(columns: impl IntoIterator<Item = &'a ColumnMeta>) -> ArrowSchema {
    ArrowSchema::new(
        columns
            .into_iter()
            .map(|c| Field::new(c.name.as_str(), arrow_type(c.dtype), true))
            .collect::<Vec<_>>(),
    )
}

/// The first `rows` rows of `c` as an Arrow array (`c` must have passed `check_batch`).
pub(crate) fn to_array(c: &Column<'_>, rows: usize) -> ArrayRef {
    let nulls = null_buffer(c.valid.as_slice(), rows);
    match c.dtype {
        DType::Int64 => Arc::new(Int64Array::new(
            ScalarBuffer::from(c.ints[..rows].to_vec()),
            nulls,
        )),
        DType::Float64 => Arc::new(Float64Array::new(
            ScalarBuffer::from(c.floats[..rows].to_vec()),
            nulls,
        )),
        DType::Bool => {
            let ints = c.ints.as_slice();
            let values = BooleanBuffer::collect_bool(rows, |i| ints[i] != 0);
            Arc::new(BooleanArray::new(values, nulls))
        }
        DType::String => string_array(c, rows, nulls),
        DType::FloatList => float_list_array(c, rows, nulls),
        DType::IntList => int_list_array(c, rows, nulls),
    }
}

/// `None` when every row is valid (Arrow's cheapest form).
fn null_buffer(valid: &[u8], rows: usize) -> Option<NullBuffer> {
    let valid = &valid[..rows];
    if !valid.contains(&0) {
        return None;
    }
    Some(NullBuffer::new(BooleanBuffer::collect_bool(rows, |i| {
        valid[i] != 0
    })))
}

/// The host's offsets for `rows` rows rebased to start at 0, with the range of the data
/// buffer they cover; `None` unless they are non-decreasing, within `data_len` and fit
/// Arrow's 32-bit signed offsets.
fn rebased_offsets(
    offsets: &[u32],
    rows: usize,
    data_len: usize,
) -> Option<(OffsetBuffer<i32>, usize, usize)> {
    if rows == 0 {
        return Some((OffsetBuffer::new_empty(), 0, 0));
    }
    let o = offsets.get(..=rows)?;
    let (base, end) = (o[0] as usize, o[rows] as usize);
    if end > data_len || end - base.min(end) > i32::MAX as usize {
        return None;
    }
    if o.windows(2).any(|w| w[0] > w[1]) {
        return None;
    }
    let rebased: Vec<i32> = o.iter().map(|&x| (x as usize - base) as i32).collect();
    Some((OffsetBuffer::new(ScalarBuffer::from(rebased)), base, end))
}

fn string_array(c: &Column<'_>, rows: usize, nulls: Option<NullBuffer>) -> ArrayRef {
    let bytes = c.bytes.as_slice();
    if let Some((offsets, base, end)) = rebased_offsets(c.offsets.as_slice(), rows, bytes.len()) {
        let values = Buffer::from_slice_ref(&bytes[base..end]);
        // Validates UTF-8 (and that offsets fall on character boundaries).
        if let Ok(a) = StringArray::try_new(offsets, values, nulls.clone()) {
            return Arc::new(a);
        }
    }
    let mut b = StringBuilder::with_capacity(rows, bytes.len().min(1 << 24));
    for r in 0..rows {
        if c.is_valid(r) {
            b.append_value(c.str(r));
        } else {
            b.append_null();
        }
    }
    Arc::new(b.finish())
}

fn float_list_array(c: &Column<'_>, rows: usize, nulls: Option<NullBuffer>) -> ArrayRef {
    let floats = c.floats.as_slice();
    if let Some((offsets, base, end)) = rebased_offsets(c.offsets.as_slice(), rows, floats.len()) {
        let values = Float64Array::new(ScalarBuffer::from(floats[base..end].to_vec()), None);
        if let Ok(a) = ListArray::try_new(
            item_field(DataType::Float64),
            offsets,
            Arc::new(values),
            nulls.clone(),
        ) {
            return Arc::new(a);
        }
    }
    let mut b = ListBuilder::new(Float64Builder::new()).with_field(item_field(DataType::Float64));
    for r in 0..rows {
        if c.is_valid(r) {
            b.values().append_slice(c.float_list(r));
            b.append(true);
        } else {
            b.append_null();
        }
    }
    Arc::new(b.finish())
}

fn int_list_array(c: &Column<'_>, rows: usize, nulls: Option<NullBuffer>) -> ArrayRef {
    let ints = c.ints.as_slice();
    if let Some((offsets, base, end)) = rebased_offsets(c.offsets.as_slice(), rows, ints.len()) {
        let values = Int64Array::new(ScalarBuffer::from(ints[base..end].to_vec()), None);
        if let Ok(a) = ListArray::try_new(
            item_field(DataType::Int64),
            offsets,
            Arc::new(values),
            nulls.clone(),
        ) {
            return Arc::new(a);
        }
    }
    let mut b = ListBuilder::new(Int64Builder::new()).with_field(item_field(DataType::Int64));
    for r in 0..rows {
        if c.is_valid(r) {
            b.values().append_slice(c.int_list(r));
            b.append(true);
        } else {
            b.append_null();
        }
    }
    Arc::new(b.finish())
}
