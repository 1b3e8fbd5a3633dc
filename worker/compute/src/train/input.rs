//! The contract of a training run, shared by the methods and the run that judges them: what a
//! method trains on ([`TrainInput`]), how it reports and stops ([`Hooks`]), why it fails
//! ([`TrainError`]), what it returns ([`Learned`]), and the time-ordered splits.

use std::ops::{ControlFlow, Range};

use domain::ResolvedConfig;
use domain::dataset::Bars;
use domain::evaluation::EvalConfig;
use domain::standards::StandardsConfig;
use domain::training::Splits;
use serde_json::{Map, Value};

use super::LoadedModel;
use crate::Stop;
use crate::engine::EngineError;

/// Fewest bars a dataset needs for training (each split must hold enough samples).
pub const MIN_BARS: usize = 200;

/// What a method trains on.
#[derive(Clone, Copy)]
pub struct TrainInput<'a> {
    /// The creator's dataset.
    pub bars: &'a Bars,
    /// The tool's family.
    pub family: &'a str,
    /// The base version's parameters.
    pub params: &'a Map<String, Value>,
    /// The base version's artifact, if any.
    pub base_model: Option<&'a LoadedModel>,
    /// Costs and cash of every backtest (and of labels and rewards).
    pub eval: EvalConfig,
    /// The tool's standards (the judgment's score).
    pub standards: &'a StandardsConfig,
    /// The resolved config.
    pub config: &'a ResolvedConfig,
}

/// Progress and cancellation.
#[derive(Clone, Copy)]
pub struct Hooks<'a> {
    /// Progress in 0..=1 with a message, after every epoch, episode or batch of trials.
    pub progress: &'a (dyn Fn(f64, String) + Sync),
    /// Checked inside every method's loops (each mini-batch and validation chunk, every
    /// block of Q-learning steps, every trial) and between the run's evaluations; raised, the
    /// run stops with [`TrainError::Canceled`].
    pub stop: Stop<'a>,
}

impl Hooks<'_> {
    /// [`TrainError::Canceled`] when the stop is raised.
    pub(super) fn check(&self) -> Result<(), TrainError> {
        if self.stop.requested() {
            Err(TrainError::Canceled)
        } else {
            Ok(())
        }
    }

    /// After step `done` of `total` (epoch, episode): reports progress (5% to 90% of the job)
    /// with `message` and says whether to go on.
    pub(super) fn step(&self, done: usize, total: usize, message: String) -> ControlFlow<()> {
        (self.progress)(0.05 + 0.85 * done as f64 / total.max(1) as f64, message);
        if self.stop.requested() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// Why training did not finish.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TrainError {
    /// The input can never work (too little data, a tool the method cannot train).
    #[error("{0}")]
    Invalid(String),
    /// Stopped by [`Hooks::stop`].
    #[error("canceled")]
    Canceled,
}

impl From<EngineError> for TrainError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Stopped => TrainError::Canceled,
            other => TrainError::Invalid(other.to_string()),
        }
    }
}

/// What a method returns before the common evaluation.
pub(super) struct Learned {
    pub(super) parameters: Map<String, Value>,
    pub(super) model: Option<LoadedModel>,
    pub(super) curves: Value,
    pub(super) details: Value,
}

/// The time-ordered splits of `n` bars: 60% train, 20% validation, 20% test.
///
/// # Errors
/// [`TrainError::Invalid`] below [`MIN_BARS`].
pub fn split(n: usize) -> Result<Splits, TrainError> {
    if n < MIN_BARS {
        return Err(TrainError::Invalid(format!(
            "the dataset has {n} bars; training needs at least {MIN_BARS}"
        )));
    }
    let (a, b) = (n * 3 / 5, n * 4 / 5);
    Ok(Splits {
        train: [0, a],
        validation: [a, b],
        test: [b, n],
    })
}

pub(super) fn range(r: [usize; 2]) -> Range<usize> {
    r[0]..r[1]
}

/// `r` cut into `k` consecutive, equal parts (the last takes the remainder).
pub(super) fn chunks(r: Range<usize>, k: usize) -> Vec<Range<usize>> {
    let len = r.len() / k;
    (0..k)
        .map(|i| {
            let start = r.start + i * len;
            start..if i + 1 == k { r.end } else { start + len }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_time_ordered_and_cover_the_series() {
        let s = split(1_000).expect("long enough");
        assert_eq!(
            (s.train, s.validation, s.test),
            ([0, 600], [600, 800], [800, 1_000])
        );
        assert!(split(MIN_BARS - 1).is_err());
        assert_eq!(chunks(600..800, 3), [600..666, 666..732, 732..800]);
    }
}
