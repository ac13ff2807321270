//! A contiguous run of samples in stored precision: the unit the block store, the HDF5 writer and
//! merge exchange.

use crate::error::{DatasetError, Result};
use crate::schema::{Sample, Schema};
use crate::settings::Precision;

/// Values of one field (or scalar) for every sample of a batch, concatenated, in stored precision.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Stored as f32.
    F32(Vec<f32>),
    /// Stored as f64.
    F64(Vec<f64>),
}

impl Values {
    /// Empty storage of the given precision with room for `capacity` values.
    pub fn with_capacity(precision: Precision, capacity: usize) -> Self {
        match precision {
            Precision::F32 => Values::F32(Vec::with_capacity(capacity)),
            Precision::F64 => Values::F64(Vec::with_capacity(capacity)),
        }
    }

    /// Append f64 values, rounding to nearest when stored as f32.
    pub fn extend_from_f64(&mut self, values: &[f64]) {
        match self {
            Values::F32(v) => v.extend(values.iter().map(|&x| x as f32)),
            Values::F64(v) => v.extend_from_slice(values),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Append little-endian bytes of every value.
    pub fn write_le(&self, out: &mut Vec<u8>) {
        match self {
            Values::F32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Values::F64(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
    }

    /// Decode `count` little-endian values of `precision` from the front of `bytes`; returns the
    /// values and the remaining bytes, or `None` if there are too few bytes.
    pub fn read_le(precision: Precision, count: usize, bytes: &[u8]) -> Option<(Values, &[u8])> {
        let need = count.checked_mul(precision.bytes())?;
        if bytes.len() < need {
            return None;
        }
        let (head, rest) = bytes.split_at(need);
        let values = match precision {
            Precision::F32 => Values::F32(head.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()),
            Precision::F64 => Values::F64(head.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()),
        };
        Some((values, rest))
    }
}

/// Samples `start .. start + count` of a dataset, column by column.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Index of the first sample.
    pub start: u64,
    /// Number of samples.
    pub count: u64,
    /// One entry per schema field: all samples' values concatenated.
    pub fields: Vec<Values>,
    /// One entry per schema scalar.
    pub scalars: Vec<Values>,
    /// One entry per schema text: one string per sample.
    pub texts: Vec<Vec<String>>,
}

impl Batch {
    /// Convert generated samples (in index order starting at `start`) to stored precision,
    /// checking every sample against the schema and rejecting non-finite values.
    pub fn from_samples(schema: &Schema, precision: Precision, start: u64, samples: &[Sample]) -> Result<Self> {
        let n = samples.len();
        let mut fields: Vec<Values> = (0..schema.fields.len()).map(|f| Values::with_capacity(precision, n * schema.field_len(f))).collect();
        let mut scalars: Vec<Values> = (0..schema.scalars.len()).map(|s| Values::with_capacity(precision, n * schema.scalar_len(s))).collect();
        let mut texts: Vec<Vec<String>> = vec![Vec::with_capacity(n); schema.texts.len()];
        for (offset, sample) in samples.iter().enumerate() {
            let index = start + offset as u64;
            check_sample(schema, index, sample)?;
            for (dst, src) in fields.iter_mut().zip(&sample.fields) {
                dst.extend_from_f64(src);
            }
            for (dst, src) in scalars.iter_mut().zip(&sample.scalars) {
                dst.extend_from_f64(src);
            }
            for (dst, src) in texts.iter_mut().zip(&sample.texts) {
                dst.push(src.clone());
            }
        }
        Ok(Batch { start, count: n as u64, fields, scalars, texts })
    }
}

/// A generated sample must have exactly the schema's layout and only finite numbers: a NaN or Inf
/// is a solver failure, never data.
fn check_sample(schema: &Schema, index: u64, sample: &Sample) -> Result<()> {
    let fail = |message: String| DatasetError::Sample(crate::error::SampleError { index, message });
    if sample.fields.len() != schema.fields.len() || sample.scalars.len() != schema.scalars.len() || sample.texts.len() != schema.texts.len() {
        return Err(fail("generator returned a sample whose layout does not match its schema".into()));
    }
    for (i, (spec, values)) in schema.fields.iter().zip(&sample.fields).enumerate() {
        if values.len() != schema.field_len(i) {
            return Err(fail(format!("field `{}` has {} values, schema says {}", spec.name, values.len(), schema.field_len(i))));
        }
        if let Some(pos) = values.iter().position(|v| !v.is_finite()) {
            return Err(fail(format!("field `{}` holds a non-finite value ({}) at flat position {pos}: the solver blew up", spec.name, values[pos])));
        }
    }
    for (i, (spec, values)) in schema.scalars.iter().zip(&sample.scalars).enumerate() {
        if values.len() != schema.scalar_len(i) {
            return Err(fail(format!("scalar `{}` has {} values, schema says {}", spec.name, values.len(), schema.scalar_len(i))));
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(fail(format!("scalar `{}` holds a non-finite value", spec.name)));
        }
    }
    Ok(())
}
