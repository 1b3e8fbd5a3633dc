//! The network module, its loss and the chunked validation loss (private to `dl`).

use burn::module::{Module, Param, ParamId};
use burn::nn::{Linear, Relu};
use burn::tensor::activation::log_sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand::rngs::StdRng;

use super::data::standardize_into;
use super::{CHUNK_ROWS, DlError, MlpMeta, Samples};
use crate::Stop;

/// First parameter id of the layers (ids are `PARAM_ID_BASE + 2 * layer (+ 1 for the bias)`).
const PARAM_ID_BASE: u64 = 0x6D6C_7000;

/// Input -> (Linear, ReLU)* -> Linear -> one logit.
#[derive(Module, Debug)]
pub(super) struct Mlp {
    pub(super) layers: Vec<Linear>,
    pub(super) act: Relu,
}

impl Mlp {
    /// Kaiming-uniform initialization (`U(-k, k)`, `k = 1/sqrt(fan_in)`, as burn's and
    /// PyTorch's default `Linear`) drawn from `rng`.
    pub(super) fn init(shapes: &[[usize; 2]], rng: &mut StdRng, device: &Device) -> Self {
        let mut uniform = |n: usize, k: f32| (0..n).map(|_| rng.random_range(-k..=k)).collect();
        let layers = shapes
            .iter()
            .enumerate()
            .map(|(index, &[i, o])| {
                let k = 1.0 / (i as f32).sqrt();
                let w: Vec<f32> = uniform(i * o, k);
                let b: Vec<f32> = uniform(o, k);
                linear(index, w, b, [i, o], device)
            })
            .collect();
        Self {
            layers,
            act: Relu::new(),
        }
    }

    pub(super) fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = self.act.forward(x);
            }
        }
        x
    }
}

/// Layer `index` with the given weights. Parameter ids are fixed (burn draws random ones) so
/// that the record bytes, which store them, are reproducible too.
pub(super) fn linear(
    index: usize,
    w: Vec<f32>,
    b: Vec<f32>,
    [i, o]: [usize; 2],
    device: &Device,
) -> Linear {
    let mut weight = Param::from_data(TensorData::new(w, [i, o]), device);
    weight.id = ParamId::from(PARAM_ID_BASE + 2 * index as u64);
    let mut bias = Param::from_data(TensorData::new(b, [o]), device);
    bias.id = ParamId::from(PARAM_ID_BASE + 2 * index as u64 + 1);
    Linear {
        weight,
        bias: Some(bias),
    }
}

/// Mean binary cross-entropy of logits `[n, 1]` against 0/1 targets `[n, 1]`, computed as
/// `(1 - y) * z - log_sigmoid(z)` (stable for large |z|).
pub(super) fn bce_with_logits(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    let loss = (targets.neg() + 1.0) * logits.clone() - log_sigmoid(logits);
    loss.mean()
}

pub(super) fn scalar(t: Tensor<1>) -> Result<f64, DlError> {
    let data = t
        .try_into_data()
        .map_err(|e| DlError::Backend(format!("{e:?}")))?;
    let values = data
        .try_into_vec::<f32>()
        .map_err(|e| DlError::Backend(format!("{e:?}")))?;
    values
        .first()
        .map(|&v| f64::from(v))
        .ok_or_else(|| DlError::Backend("empty loss tensor".into()))
}

/// Validation loss over `samples`, in chunks of `CHUNK_ROWS` rows; [`DlError::Canceled`] when
/// `stop` is raised before a chunk.
pub(super) fn mean_loss(
    model: &Mlp,
    samples: &Samples,
    meta: &MlpMeta,
    stop: Stop<'_>,
) -> Result<f64, DlError> {
    let device = Device::flex();
    let width = meta.input;
    let mut buf = Vec::with_capacity(CHUNK_ROWS.min(samples.len()) * width);
    let mut total = 0.0_f64;
    for start in (0..samples.len()).step_by(CHUNK_ROWS) {
        if stop.requested() {
            return Err(DlError::Canceled);
        }
        let end = (start + CHUNK_ROWS).min(samples.len());
        standardize_into(&mut buf, &samples.x[start * width..end * width], meta);
        let x = Tensor::<2>::from_data(TensorData::new(buf.clone(), [end - start, width]), &device);
        let y = Tensor::<2>::from_data(
            TensorData::new(samples.y[start..end].to_vec(), [end - start, 1]),
            &device,
        );
        total += scalar(bce_with_logits(model.forward(x), y))? * (end - start) as f64;
    }
    Ok(total / samples.len() as f64)
}
