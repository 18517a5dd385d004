//! Columns that own their buffers, for tests and benchmarks that build batches by hand.
//! [`OwnedColumn::view`] borrows one as the [`Column`] a writer receives.

use jj_plugin_api::{abi_stable::std_types::RSlice, Column, ColumnMeta, DType, RowBatch, Schema};

/// One column of a hand-built batch.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedColumn {
    pub name: String,
    pub dtype: DType,
    pub valid: Vec<u8>,
    pub ints: Vec<i64>,
    pub floats: Vec<f64>,
    pub offsets: Vec<u32>,
    pub bytes: Vec<u8>,
}

impl OwnedColumn {
    /// A column without rows (list and string columns get their leading offset).
    pub fn empty(name: &str, dtype: DType) -> Self {
        let offsets = match dtype {
            DType::String | DType::FloatList | DType::IntList => vec![0],
            _ => Vec::new(),
        };
        OwnedColumn {
            name: name.to_string(),
            dtype,
            valid: Vec::new(),
            ints: Vec::new(),
            floats: Vec::new(),
            offsets,
            bytes: Vec::new(),
        }
    }

    pub fn ints(name: &str, data: &[Option<i64>]) -> Self {
        let mut c = Self::empty(name, DType::Int64);
        data.iter().for_each(|v| c.push_int(*v));
        c
    }

    pub fn floats(name: &str, data: &[Option<f64>]) -> Self {
        let mut c = Self::empty(name, DType::Float64);
        data.iter().for_each(|v| c.push_float(*v));
        c
    }

    pub fn bools(name: &str, data: &[Option<bool>]) -> Self {
        let mut c = Self::empty(name, DType::Bool);
        data.iter().for_each(|v| c.push_bool(*v));
        c
    }

    pub fn strs(name: &str, data: &[Option<&str>]) -> Self {
        let mut c = Self::empty(name, DType::String);
        data.iter().for_each(|v| c.push_str(*v));
        c
    }

    pub fn float_lists(name: &str, data: &[Option<&[f64]>]) -> Self {
        let mut c = Self::empty(name, DType::FloatList);
        data.iter().for_each(|v| c.push_float_list(*v));
        c
    }

    pub fn int_lists(name: &str, data: &[Option<&[i64]>]) -> Self {
        let mut c = Self::empty(name, DType::IntList);
        data.iter().for_each(|v| c.push_int_list(*v));
        c
    }

    pub fn push_int(&mut self, v: Option<i64>) {
        self.valid.push(v.is_some() as u8);
        self.ints.push(v.unwrap_or(0));
    }

    pub fn push_float(&mut self, v: Option<f64>) {
        self.valid.push(v.is_some() as u8);
        self.floats.push(v.unwrap_or(0.0));
    }

    pub fn push_bool(&mut self, v: Option<bool>) {
        self.valid.push(v.is_some() as u8);
        self.ints.push(v.unwrap_or(false) as i64);
    }

    pub fn push_str(&mut self, v: Option<&str>) {
        self.valid.push(v.is_some() as u8);
        self.bytes.extend_from_slice(v.unwrap_or("").as_bytes());
        self.offsets.push(self.bytes.len() as u32);
    }

    pub fn push_float_list(&mut self, v: Option<&[f64]>) {
        self.valid.push(v.is_some() as u8);
        self.floats.extend_from_slice(v.unwrap_or(&[]));
        self.offsets.push(self.floats.len() as u32);
    }

    pub fn push_int_list(&mut self, v: Option<&[i64]>) {
        self.valid.push(v.is_some() as u8);
        self.ints.extend_from_slice(v.unwrap_or(&[]));
        self.offsets.push(self.ints.len() as u32);
    }

    /// Removes every row, keeping the buffers' capacity.
    pub fn clear(&mut self) {
        self.valid.clear();
        self.ints.clear();
        self.floats.clear();
        self.bytes.clear();
        self.offsets.clear();
        if matches!(
            self.dtype,
            DType::String | DType::FloatList | DType::IntList
        ) {
            self.offsets.push(0);
        }
    }

    pub fn rows(&self) -> usize {
        self.valid.len()
    }

    /// The column as a writer receives it.
    pub fn view(&self) -> Column<'_> {
        Column {
            dtype: self.dtype,
            valid: RSlice::from_slice(&self.valid),
            ints: RSlice::from_slice(&self.ints),
            floats: RSlice::from_slice(&self.floats),
            offsets: RSlice::from_slice(&self.offsets),
            bytes: RSlice::from_slice(&self.bytes),
        }
    }

    /// Its schema entry (group `test`).
    pub fn meta(&self) -> ColumnMeta {
        ColumnMeta {
            name: self.name.as_str().into(),
            id: format!("test.{}", self.name).into(),
            group: "test".into(),
            dtype: self.dtype,
        }
    }
}

/// Helpers on a set of columns forming one batch.
pub trait OwnedColumns {
    /// The schema of these columns.
    fn schema(&self) -> Schema;
    /// Calls `f` with the columns as one [`RowBatch`] (as many rows as the first column).
    fn with_batch<R>(&self, f: impl FnOnce(&RowBatch<'_>) -> R) -> R;
}

impl OwnedColumns for [OwnedColumn] {
    fn schema(&self) -> Schema {
        Schema {
            columns: self
                .iter()
                .map(OwnedColumn::meta)
                .collect::<Vec<_>>()
                .into(),
        }
    }

    fn with_batch<R>(&self, f: impl FnOnce(&RowBatch<'_>) -> R) -> R {
        let views: Vec<Column<'_>> = self.iter().map(OwnedColumn::view).collect();
        let batch = RowBatch {
            num_rows: self.first().map_or(0, OwnedColumn::rows) as u64,
            columns: RSlice::from_slice(&views),
        };
        f(&batch)
    }
}
