//! Validation of incoming batches, shared by every writer.

use jj_plugin_api::{ColumnMeta, DType, PluginError, PluginResult, RowBatch};

/// Checks that a batch has the schema's columns and that every buffer is long enough for
/// its rows, so that a malformed batch is rejected as a whole instead of being written
/// with placeholder values.
pub fn check_batch(schema: &[ColumnMeta], batch: &RowBatch<'_>) -> PluginResult<usize> {
    let rows = usize::try_from(batch.num_rows).map_err(|_| {
        PluginError::other(format!("batch of {} rows is too large", batch.num_rows))
    })?;
    let columns = batch.columns.as_slice();
    if columns.len() != schema.len() {
        return Err(PluginError::other(format!(
            "batch has {} columns but the schema has {}",
            columns.len(),
            schema.len()
        )));
    }
    for (meta, c) in schema.iter().zip(columns) {
        let bad = |what: String| {
            PluginError::other(format!(
                "batch column `{}` ({}): {what}",
                meta.name,
                meta.dtype.as_str()
            ))
        };
        if c.dtype != meta.dtype {
            return Err(bad(format!("has dtype {}", c.dtype.as_str())));
        }
        if c.valid.len() < rows {
            return Err(bad(format!(
                "{} validity flags for {rows} rows",
                c.valid.len()
            )));
        }
        let (data_len, needed) = match c.dtype {
            DType::Int64 | DType::Bool => (c.ints.len(), rows),
            DType::Float64 => (c.floats.len(), rows),
            DType::String | DType::FloatList | DType::IntList => {
                if rows > 0 && c.offsets.len() < rows + 1 {
                    return Err(bad(format!("{} offsets for {rows} rows", c.offsets.len())));
                }
                let end = if rows > 0 {
                    c.offsets[rows] as usize
                } else {
                    0
                };
                let len = match c.dtype {
                    DType::String => c.bytes.len(),
                    DType::FloatList => c.floats.len(),
                    _ => c.ints.len(),
                };
                (len, end)
            }
        };
        if data_len < needed {
            return Err(bad(format!(
                "data buffer holds {data_len} values, {needed} needed"
            )));
        }
    }
    Ok(rows)
}
