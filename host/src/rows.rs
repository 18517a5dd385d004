//! Rows to columnar batches for the writers.
use jj_plugin_api::{
    abi_stable::std_types::RSlice, Column, ColumnMeta, DType, RowBatch, Schema, Value,
};

/// Counts values whose type did not match their column (written as null).
#[derive(Default, Clone, Copy, Debug)]
pub struct TypeMismatches(pub u64);

#[derive(Default)]
struct ColBuf {
    valid: Vec<u8>,
    ints: Vec<i64>,
    floats: Vec<f64>,
    offsets: Vec<u32>,
    bytes: Vec<u8>,
}

/// Accumulates rows and hands them to a writer as a [`RowBatch`].
pub struct BatchBuilder {
    dtypes: Vec<DType>,
    cols: Vec<ColBuf>,
    rows: usize,
    pub mismatches: TypeMismatches,
}

impl BatchBuilder {
    pub fn new(schema: &Schema) -> BatchBuilder {
        let dtypes: Vec<DType> = schema.columns.iter().map(|c| c.dtype).collect();
        let mut b = BatchBuilder {
            cols: dtypes.iter().map(|_| ColBuf::default()).collect(),
            dtypes,
            rows: 0,
            mismatches: TypeMismatches(0),
        };
        b.clear();
        b
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn clear(&mut self) {
        self.rows = 0;
        for (c, dt) in self.cols.iter_mut().zip(&self.dtypes) {
            c.valid.clear();
            c.ints.clear();
            c.floats.clear();
            c.offsets.clear();
            c.bytes.clear();
            if matches!(dt, DType::String | DType::FloatList | DType::IntList) {
                c.offsets.push(0);
            }
        }
    }

    pub fn push_row(&mut self, row: &[Value]) {
        for ((c, dt), v) in self.cols.iter_mut().zip(&self.dtypes).zip(row) {
            let ok = match (dt, v) {
                (_, Value::Null) => false,
                (DType::Int64, Value::Int(i)) => {
                    c.ints.push(*i);
                    true
                }
                (DType::Int64, Value::Bool(b)) => {
                    c.ints.push(*b as i64);
                    true
                }
                (DType::Int64, Value::Float(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                    c.ints.push(*f as i64);
                    true
                }
                (DType::Bool, Value::Bool(b)) => {
                    c.ints.push(*b as i64);
                    true
                }
                (DType::Bool, Value::Int(i)) => {
                    c.ints.push((*i != 0) as i64);
                    true
                }
                (DType::Float64, v) if v.as_f64().is_some() => {
                    c.floats.push(v.as_f64().unwrap_or(0.0));
                    true
                }
                (DType::String, Value::Str(s)) => {
                    c.bytes.extend_from_slice(s.as_bytes());
                    c.offsets.push(c.bytes.len() as u32);
                    true
                }
                (DType::FloatList, Value::FloatList(l)) => {
                    c.floats.extend_from_slice(l);
                    c.offsets.push(c.floats.len() as u32);
                    true
                }
                (DType::IntList, Value::IntList(l)) => {
                    c.ints.extend_from_slice(l);
                    c.offsets.push(c.ints.len() as u32);
                    true
                }
                _ => {
                    self.mismatches.0 += 1;
                    false
                }
            };
            if !ok {
                // placeholder slot
                match dt {
                    DType::Int64 | DType::Bool => c.ints.push(0),
                    DType::Float64 => c.floats.push(0.0),
                    DType::String => c.offsets.push(c.bytes.len() as u32),
                    DType::FloatList => c.offsets.push(c.floats.len() as u32),
                    DType::IntList => c.offsets.push(c.ints.len() as u32),
                }
            }
            c.valid.push(ok as u8);
        }
        self.rows += 1;
    }

    /// Calls `f` with the accumulated batch, then clears.
    pub fn with_batch<R>(&mut self, f: impl FnOnce(&RowBatch<'_>) -> R) -> R {
        let columns: Vec<Column<'_>> = self
            .cols
            .iter()
            .zip(&self.dtypes)
            .map(|(c, dt)| Column {
                dtype: *dt,
                valid: RSlice::from_slice(&c.valid),
                ints: RSlice::from_slice(&c.ints),
                floats: RSlice::from_slice(&c.floats),
                offsets: RSlice::from_slice(&c.offsets),
                bytes: RSlice::from_slice(&c.bytes),
            })
            .collect();
        let batch = RowBatch {
            num_rows: self.rows as u64,
            columns: RSlice::from_slice(&columns),
        };
        let r = f(&batch);
        drop(columns);
        self.clear();
        r
    }
}

/// Builds the schema handed to writers from column metadata.
pub fn schema_of(columns: Vec<ColumnMeta>) -> Schema {
    Schema {
        columns: columns.into(),
    }
}
