//! Small MLP classifier trained with burn (flex CPU backend): Adam, binary cross-entropy on
//! logits, seeded mini-batch shuffling and early stopping on the validation loss.
//!
//! Determinism: weights are initialized from a `StdRng` seeded with [`DlConfig::seed`] (not from
//! burn's backend RNG, which is process-global on flex), and the batch order comes from a second
//! `StdRng` derived from the same seed, so the same samples and config give bit-identical weights
//! and loss curves.

use std::ops::ControlFlow;

use burn::module::Module;
use burn::nn::Relu;
use burn::optim::{AdamConfig, GradientsParams};
use burn::store::ModuleRecord;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Bytes, Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::features::Samples;
use crate::Stop;
use data::{check_inputs, push_standardized, standardization, standardize_into};
use net::{Mlp, bce_with_logits, linear, mean_loss, scalar};

/// Rows per tensor in prediction and validation passes.
const CHUNK_ROWS: usize = 4096;
/// Mixed into the seed of the shuffling RNG so it differs from the initialization RNG.
const SHUFFLE_STREAM: u64 = 0x9E37_79B9_7F4A_7C15;

/// Training hyper-parameters.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DlConfig {
    /// Maximum number of passes over the training split.
    pub epochs: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Rows per mini-batch (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Widths of the hidden ReLU layers (may be empty: logistic regression).
    pub hidden: Vec<usize>,
    /// Epochs without a validation improvement before stopping.
    pub patience: usize,
    /// Seed of the weight initialization and of the batch shuffling.
    pub seed: u64,
}

/// Losses after one epoch.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EpochStats {
    /// Epoch number, 1-based.
    pub epoch: usize,
    /// Mean binary cross-entropy over the epoch's mini-batches (weighted by rows).
    pub train_loss: f64,
    /// Mean binary cross-entropy on the validation split after the epoch.
    pub validation_loss: f64,
}

/// What [`EarlyStopping::update`] decided about an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The loss is a new best.
    Improved,
    /// No improvement, but patience is not exhausted.
    Continue,
    /// `patience` epochs in a row without improvement: stop.
    Stop,
}

/// Early stopping on validation loss: tracks the best loss and its epoch; stops after
/// `patience` epochs without improvement (strictly lower loss). Non-finite losses never improve.
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    patience: usize,
    best: Option<(usize, f64)>,
    stale: usize,
}

impl EarlyStopping {
    /// A tracker that stops after `patience` non-improving epochs in a row.
    pub fn new(patience: usize) -> Self {
        Self {
            patience,
            best: None,
            stale: 0,
        }
    }

    /// Records the loss of `epoch` and says whether to go on.
    pub fn update(&mut self, epoch: usize, loss: f64) -> Verdict {
        let improved = loss.is_finite() && self.best.is_none_or(|(_, best)| loss < best);
        if improved {
            self.best = Some((epoch, loss));
            self.stale = 0;
            return Verdict::Improved;
        }
        self.stale += 1;
        if self.stale >= self.patience {
            Verdict::Stop
        } else {
            Verdict::Continue
        }
    }

    /// Epoch of the best loss so far.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best.map(|(epoch, _)| epoch)
    }

    /// Best loss so far.
    pub fn best_loss(&self) -> Option<f64> {
        self.best.map(|(_, loss)| loss)
    }
}

/// Shape and standardization of a trained network (stored next to its weights).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MlpMeta {
    /// Number of input features.
    pub input: usize,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Per-feature mean subtracted before the network (training rows).
    pub mean: Vec<f32>,
    /// Per-feature deviation dividing the centred features (training rows, floored).
    pub std: Vec<f32>,
    /// Number of trainable scalars.
    pub parameters: usize,
}

/// Errors of training and weight loading.
#[derive(Debug, thiserror::Error)]
pub enum DlError {
    /// A split has no rows.
    #[error("the {split} split has no samples")]
    NoSamples {
        /// `"train"` or `"validation"`.
        split: &'static str,
    },
    /// Inconsistent samples or configuration.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// `on_epoch` asked to stop, or the stop signal was raised.
    #[error("training canceled")]
    Canceled,
    /// No epoch produced a finite validation loss.
    #[error("training diverged: no finite validation loss")]
    Diverged,
    /// Weight bytes that do not decode or do not fit the metadata.
    #[error("bad weights: {0}")]
    Weights(String),
    /// The tensor backend failed.
    #[error("backend error: {0}")]
    Backend(String),
}

/// A trained network with its standardization, on the (non-autodiff) inference device.
#[derive(Debug)]
pub struct TrainedMlp {
    meta: MlpMeta,
    model: Mlp,
    device: Device,
}

impl TrainedMlp {
    /// Shape and standardization.
    pub fn meta(&self) -> &MlpMeta {
        &self.meta
    }

    /// Burn record (burnpack) bytes of the weights only; pair them with [`Self::meta`].
    pub fn to_bytes(&self) -> Vec<u8> {
        self.model
            .clone()
            .into_record()
            .into_bytes()
            .map(|bytes| bytes.to_vec())
            // Layers are capped at MAX_LAYER_PARAMS scalars, far below burnpack's limits, and
            // the writer targets memory: encoding cannot fail.
            .expect("in-memory burnpack encoding of bounded f32 tensors cannot fail")
    }

    /// Rebuilds a network from [`Self::meta`] and [`Self::to_bytes`]; wrong shapes or
    /// undecodable bytes give [`DlError::Weights`].
    pub fn from_bytes(meta: MlpMeta, bytes: &[u8]) -> Result<Self, DlError> {
        meta.validate()?;
        let device = Device::flex();
        let shapes = MlpMeta::layer_shapes(meta.input, &meta.hidden);
        let zeros = Mlp {
            layers: shapes
                .iter()
                .enumerate()
                .map(|(n, &[i, o])| linear(n, vec![0.0; i * o], vec![0.0; o], [i, o], &device))
                .collect(),
            act: Relu::new(),
        };
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
            .map_err(|e| DlError::Weights(e.to_string()))?
            .cast_to_module_dtype();
        let model = zeros
            .try_load_record(record)
            .map_err(|e| DlError::Weights(e.to_string()))?;
        Ok(Self {
            meta,
            model,
            device,
        })
    }

    /// Probabilities (sigmoid of the logit) of row-major rows of `meta.input` values,
    /// standardized with `meta.mean`/`meta.std`, computed in chunks of 4096 rows. Trailing values
    /// that do not fill a row are ignored.
    pub fn predict(&self, x: &[f32]) -> Vec<f32> {
        self.predict_until(x, Stop::NEVER)
            .expect("a prediction that is never stopped runs to the end")
    }

    /// [`TrainedMlp::predict`] checking `stop` before each chunk of rows: `None` when it was
    /// raised.
    pub fn predict_until(&self, x: &[f32], stop: Stop<'_>) -> Option<Vec<f32>> {
        let width = self.meta.input;
        let rows = x.len() / width.max(1);
        let mut out = Vec::with_capacity(rows);
        let mut buf = Vec::with_capacity(CHUNK_ROWS.min(rows) * width);
        for start in (0..rows).step_by(CHUNK_ROWS) {
            if stop.requested() {
                return None;
            }
            let end = (start + CHUNK_ROWS).min(rows);
            standardize_into(&mut buf, &x[start * width..end * width], &self.meta);
            let input = Tensor::<2>::from_data(
                TensorData::new(buf.clone(), [end - start, width]),
                &self.device,
            );
            let probs = sigmoid(self.model.forward(input));
            match probs.try_into_data().map(|d| d.try_into_vec::<f32>()) {
                Ok(Ok(values)) => out.extend(values),
                _ => out.resize(end, f32::NAN),
            }
        }
        Some(out)
    }

    /// `[in, out]` of every linear layer, input first.
    pub fn shapes(&self) -> Vec<[usize; 2]> {
        self.model
            .layers
            .iter()
            .map(|l| l.weight.val().dims())
            .collect()
    }
}

/// Result of [`train`].
#[derive(Debug)]
pub struct DlOutcome {
    /// The network of the best validation epoch.
    pub net: TrainedMlp,
    /// Losses of every completed epoch.
    pub curve: Vec<EpochStats>,
    /// Epoch (1-based) whose weights `net` holds.
    pub best_epoch: usize,
    /// Whether patience ran out before `epochs`.
    pub stopped_early: bool,
    /// Training rows fed through the network (all epochs).
    pub samples_seen: u64,
}

/// Trains an MLP (input -> hidden... with ReLU -> 1 logit) with Adam and binary cross-entropy on
/// logits; mini-batches drawn from `train` in an order shuffled by a seeded RNG each epoch
/// (shuffling only inside the training split); the validation loss after each epoch drives early
/// stopping (patience), and the returned net is the one of the best validation epoch.
/// `on_epoch` is called after each epoch; returning `ControlFlow::Break(())` stops with
/// [`DlError::Canceled`]. `stop` is checked before every mini-batch and every chunk of the
/// validation pass, so a raised stop ends training within one of them (the longest: one
/// mini-batch of 4,096 rows through the widest network the config allows, see
/// BENCHMARKS.md, "Cancellation latency"); it also gives [`DlError::Canceled`].
pub fn train(
    train: &Samples,
    validation: &Samples,
    cfg: &DlConfig,
    stop: Stop<'_>,
    mut on_epoch: impl FnMut(&EpochStats) -> ControlFlow<()>,
) -> Result<DlOutcome, DlError> {
    check_inputs(train, validation, cfg)?;
    let width = train.width;
    let (mean, std) = standardization(train);
    let meta = MlpMeta {
        input: width,
        hidden: cfg.hidden.clone(),
        mean,
        std,
        parameters: MlpMeta::count_parameters(width, &cfg.hidden),
    };
    let device = Device::flex().autodiff();
    let mut init_rng = StdRng::seed_from_u64(cfg.seed);
    let mut shuffle_rng = StdRng::seed_from_u64(cfg.seed ^ SHUFFLE_STREAM);
    let mut model = Mlp::init(
        &MlpMeta::layer_shapes(width, &cfg.hidden),
        &mut init_rng,
        &device,
    );
    // PyTorch's Adam epsilon (burn defaults to 1e-5).
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let mut stopping = EarlyStopping::new(cfg.patience);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut xbuf = Vec::with_capacity(cfg.batch_size * width);
    let mut ybuf = Vec::with_capacity(cfg.batch_size);
    let mut curve = Vec::with_capacity(cfg.epochs);
    let mut best = None;
    let mut stopped_early = false;
    let mut samples_seen = 0_u64;
    for epoch in 1..=cfg.epochs {
        order.shuffle(&mut shuffle_rng);
        let mut loss_sum = 0.0_f64;
        for batch in order.chunks(cfg.batch_size) {
            if stop.requested() {
                return Err(DlError::Canceled);
            }
            xbuf.clear();
            ybuf.clear();
            for &row in batch {
                push_standardized(&mut xbuf, &train.x[row * width..(row + 1) * width], &meta);
                ybuf.push(train.y[row]);
            }
            let x = Tensor::<2>::from_data(
                TensorData::new(xbuf.clone(), [batch.len(), width]),
                &device,
            );
            let y =
                Tensor::<2>::from_data(TensorData::new(ybuf.clone(), [batch.len(), 1]), &device);
            let loss = bce_with_logits(model.forward(x), y);
            loss_sum += scalar(loss.clone())? * batch.len() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(cfg.learning_rate, model, grads);
            samples_seen += batch.len() as u64;
        }
        let inference = model.valid();
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / train.len() as f64,
            validation_loss: mean_loss(&inference, validation, &meta, stop)?,
        };
        let verdict = stopping.update(epoch, stats.validation_loss);
        if verdict == Verdict::Improved {
            best = Some(inference);
        }
        let flow = on_epoch(&stats);
        curve.push(stats);
        if flow.is_break() {
            return Err(DlError::Canceled);
        }
        if verdict == Verdict::Stop {
            stopped_early = epoch < cfg.epochs;
            break;
        }
    }
    let (Some(model), Some(best_epoch)) = (best, stopping.best_epoch()) else {
        return Err(DlError::Diverged);
    };
    Ok(DlOutcome {
        net: TrainedMlp {
            meta,
            model,
            device: Device::flex(),
        },
        curve,
        best_epoch,
        stopped_early,
        samples_seen,
    })
}

mod data;
mod net;

#[cfg(test)]
mod tests;
