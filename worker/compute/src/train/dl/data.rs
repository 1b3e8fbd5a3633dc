//! Standardization and validation of samples, configs and metadata (private to `dl`).

use super::{DlConfig, DlError, MlpMeta, Samples};

/// Floor of the standardization deviations.
const STD_FLOOR: f32 = 1e-6;
/// Largest weight matrix accepted (scalars), far below burnpack's 2 GiB tensor limit.
const MAX_LAYER_PARAMS: usize = 1 << 28;

impl MlpMeta {
    /// `[in, out]` of every linear layer.
    pub(super) fn layer_shapes(input: usize, hidden: &[usize]) -> Vec<[usize; 2]> {
        let mut dims = Vec::with_capacity(hidden.len() + 2);
        dims.push(input);
        dims.extend_from_slice(hidden);
        dims.push(1);
        dims.windows(2).map(|w| [w[0], w[1]]).collect()
    }

    pub(super) fn count_parameters(input: usize, hidden: &[usize]) -> usize {
        Self::layer_shapes(input, hidden)
            .iter()
            .map(|[i, o]| i * o + o)
            .sum()
    }

    pub(super) fn validate(&self) -> Result<(), DlError> {
        check_architecture(self.input, &self.hidden)?;
        if self.mean.len() != self.input || self.std.len() != self.input {
            return Err(DlError::Weights(
                "mean/std length differs from input".into(),
            ));
        }
        if self.mean.iter().any(|m| !m.is_finite())
            || self.std.iter().any(|s| !(s.is_finite() && *s > 0.0))
        {
            return Err(DlError::Weights(
                "non-finite mean or non-positive std".into(),
            ));
        }
        if self.parameters != Self::count_parameters(self.input, &self.hidden) {
            return Err(DlError::Weights(
                "parameter count differs from the shape".into(),
            ));
        }
        Ok(())
    }
}

pub(super) fn push_standardized(buf: &mut Vec<f32>, row: &[f32], meta: &MlpMeta) {
    buf.extend(
        row.iter()
            .zip(meta.mean.iter().zip(&meta.std))
            .map(|(v, (m, s))| (v - m) / s),
    );
}

pub(super) fn standardize_into(buf: &mut Vec<f32>, rows: &[f32], meta: &MlpMeta) {
    buf.clear();
    for row in rows.chunks_exact(meta.input) {
        push_standardized(buf, row, meta);
    }
}

/// Per-column mean and (population, floored) deviation of the training rows.
pub(super) fn standardization(train: &Samples) -> (Vec<f32>, Vec<f32>) {
    let w = train.width;
    let n = train.len() as f64;
    let mut mean = vec![0.0_f64; w];
    for row in train.x.chunks_exact(w) {
        mean.iter_mut()
            .zip(row)
            .for_each(|(m, &v)| *m += f64::from(v));
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0_f64; w];
    for row in train.x.chunks_exact(w) {
        for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
            *s += (f64::from(v) - m).powi(2);
        }
    }
    let std = var
        .iter()
        .map(|s| ((s / n).sqrt() as f32).max(STD_FLOOR))
        .collect();
    (mean.iter().map(|&m| m as f32).collect(), std)
}

pub(super) fn check_architecture(input: usize, hidden: &[usize]) -> Result<(), DlError> {
    if input == 0 || hidden.contains(&0) {
        return Err(DlError::Invalid("zero-width layer".into()));
    }
    let shapes = MlpMeta::layer_shapes(input, hidden);
    if shapes
        .iter()
        .any(|[i, o]| i.checked_mul(*o).is_none_or(|n| n > MAX_LAYER_PARAMS))
    {
        return Err(DlError::Invalid("a layer exceeds 2^28 weights".into()));
    }
    Ok(())
}

pub(super) fn check_inputs(
    train: &Samples,
    validation: &Samples,
    cfg: &DlConfig,
) -> Result<(), DlError> {
    for (split, s) in [("train", train), ("validation", validation)] {
        if s.is_empty() {
            return Err(DlError::NoSamples { split });
        }
        if s.x.len() != s.len() * train.width || s.width != train.width {
            return Err(DlError::Invalid(format!(
                "{split}: x does not match y and width"
            )));
        }
        if s.x.iter().any(|v| !v.is_finite()) || s.y.iter().any(|&y| !(0.0..=1.0).contains(&y)) {
            return Err(DlError::Invalid(format!(
                "{split}: non-finite x or y outside [0, 1]"
            )));
        }
    }
    if cfg.epochs == 0 || cfg.batch_size == 0 {
        return Err(DlError::Invalid(
            "epochs and batch_size must be positive".into(),
        ));
    }
    if !(cfg.learning_rate.is_finite() && cfg.learning_rate > 0.0) {
        return Err(DlError::Invalid("learning_rate must be positive".into()));
    }
    check_architecture(train.width, &cfg.hidden)
}
