//! Optimizers: ask/tell samplers over a [`Space`] and a study loop that evaluates trials in
//! parallel with rayon. Pure computation: the objective is a closure (a backtest score in the
//! product, a benchmark function in tests).
//!
//! Reproducibility: a study asks its trials in batches of a fixed size, each from the history
//! before the batch and from a random generator seeded by (study seed, trial index); each trial
//! is evaluated in parallel (with a costly sampler, on the pool as soon as it is asked, while
//! the next is asked) and the batch is told in trial order. The samplers' own parallel parts (a Gaussian process's matrices, the
//! scoring of candidates) write their own slots or add per-row results in a fixed order. The
//! trials and the result are therefore the same whatever the number of threads or workers.

mod samplers;
mod space;
mod tool;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Stop;

pub use samplers::Method;
pub use space::{Dim, Space};
pub(crate) use tool::GateObjective;
pub use tool::{Judgment, ToolOptimization, judge_candidate, optimize_tool};

/// One evaluated trial (maximization: higher `value` is better).
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    /// Trial number from 0.
    pub index: u64,
    /// The point in the unit cube.
    pub unit: Vec<f64>,
    /// The objective (NaN counts as the worst).
    pub value: f64,
}

/// Study settings.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyConfig {
    /// Sampler.
    pub method: Method,
    /// Trials to run.
    pub trials: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Trials asked together and evaluated in parallel (fixed, so results do not depend on
    /// the thread count).
    pub batch: usize,
}

/// A finished study.
#[derive(Clone, Debug, PartialEq)]
pub struct Study {
    /// Every trial in order.
    pub trials: Vec<Trial>,
}

impl Study {
    /// The best trial (highest value; the first of equals).
    pub fn best(&self) -> Option<&Trial> {
        self.trials
            .iter()
            .fold(None, |best: Option<&Trial>, t| match best {
                Some(b) if score(t.value) <= score(b.value) => Some(b),
                _ => Some(t),
            })
    }

    /// Best value after each trial.
    pub fn best_curve(&self) -> Vec<f64> {
        let mut best = f64::NEG_INFINITY;
        self.trials
            .iter()
            .map(|t| {
                best = best.max(score(t.value));
                best
            })
            .collect()
    }
}

/// Most points of a curve kept in a stored result.
const MAX_CURVE_POINTS: usize = 1_000;

/// At most [`MAX_CURVE_POINTS`] evenly spaced points as JSON, the last always kept.
pub(crate) fn thin<T: Serialize>(points: &[T]) -> Vec<serde_json::Value> {
    let step = points.len().div_ceil(MAX_CURVE_POINTS).max(1);
    points
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0 || i + 1 == points.len())
        .map(|(_, p)| serde_json::json!(p))
        .collect()
}

/// A study's best-so-far curve as stored: `{trial, best}` points (1-based trials, `null` before
/// any finite value), thinned.
pub fn best_curve_points(best_curve: &[f64]) -> Vec<serde_json::Value> {
    let points: Vec<serde_json::Value> = best_curve
        .iter()
        .enumerate()
        .map(|(i, v)| serde_json::json!({"trial": i + 1, "best": v.is_finite().then_some(*v)}))
        .collect();
    thin(&points)
}

pub(crate) fn score(v: f64) -> f64 {
    if v.is_nan() { f64::NEG_INFINITY } else { v }
}

/// The random generator of one trial: a function of the study seed and the trial index only.
pub(crate) fn trial_rng(seed: u64, index: u64) -> StdRng {
    // SplitMix64 of the pair, so neighbouring seeds and indices give unrelated streams.
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    StdRng::seed_from_u64(z ^ (z >> 31))
}

/// Runs a study of `objective` (maximized) over `space`. `stop` is checked between batches and
/// before every trial (cooperative cancellation: a raised stop ends the study within one trial
/// per thread); `on_batch` sees the trials so far (progress).
///
/// A batch interrupted by `stop` is dropped whole, so a stopped study holds whole batches only
/// and its trials are those of an uninterrupted study with fewer trials.
pub fn run_study(
    space: &Space,
    config: &StudyConfig,
    objective: impl Fn(&[f64]) -> f64 + Sync,
    on_batch: impl FnMut(&[Trial]),
    stop: Stop<'_>,
) -> Study {
    run_study_with(space, config, |x| (objective(x), ()), on_batch, stop).0
}

/// [`run_study`] whose objective also returns what it saw of each trial (kept in trial order
/// beside the study: a backtest's metrics, say).
pub fn run_study_with<T: Send>(
    space: &Space,
    config: &StudyConfig,
    objective: impl Fn(&[f64]) -> (f64, T) + Sync,
    mut on_batch: impl FnMut(&[Trial]),
    stop: Stop<'_>,
) -> (Study, Vec<T>) {
    let mut trials: Vec<Trial> = Vec::with_capacity(config.trials as usize);
    let mut outputs: Vec<T> = Vec::with_capacity(config.trials as usize);
    let mut sampler = samplers::sampler(config.method, space, config);
    let batch = config.batch.max(1) as u64;
    let mut next = 0u64;
    while next < config.trials && !stop.requested() {
        let end = (next + batch).min(config.trials);
        let asked_and_run = if sampler.costly_asks() {
            ask_while_running(
                &mut *sampler,
                space,
                config,
                &trials,
                next..end,
                &objective,
                stop,
            )
        } else {
            ask_then_run(
                &mut *sampler,
                space,
                config,
                &trials,
                next..end,
                &objective,
                stop,
            )
        };
        let (asked, Some(values)) = asked_and_run else {
            break;
        };
        for ((index, unit), (value, output)) in asked.into_iter().zip(values) {
            trials.push(Trial { index, unit, value });
            outputs.push(output);
        }
        on_batch(&trials);
        next = end;
    }
    (Study { trials }, outputs)
}

/// A batch's asks and, unless the stop was raised before one of them ran, its trials' outputs.
type Batch<T> = (Vec<(u64, Vec<f64>)>, Option<Vec<(f64, T)>>);

/// Asks the trials `indices`, then evaluates them in parallel.
fn ask_then_run<T: Send>(
    sampler: &mut dyn samplers::Sampler,
    space: &Space,
    config: &StudyConfig,
    history: &[Trial],
    indices: std::ops::Range<u64>,
    objective: &(impl Fn(&[f64]) -> (f64, T) + Sync),
    stop: Stop<'_>,
) -> Batch<T> {
    let asked: Vec<(u64, Vec<f64>)> = indices
        .map(|i| {
            (
                i,
                sampler.ask(space, history, &mut trial_rng(config.seed, i), i),
            )
        })
        .collect();
    // `None`: the trial was not run because the stop was raised.
    let values = asked
        .par_iter()
        .map(|(_, u)| (!stop.requested()).then(|| objective(&space.values(u))))
        .collect();
    (asked, values)
}

/// Asks the trials `indices` one after the other, each handed to the pool as soon as it is
/// asked, so the other threads evaluate it while this one asks the next (a batch's asks read
/// only the history before the batch). Every trial writes its own slot: the order in which the
/// trials run changes nothing.
fn ask_while_running<T: Send>(
    sampler: &mut dyn samplers::Sampler,
    space: &Space,
    config: &StudyConfig,
    history: &[Trial],
    indices: std::ops::Range<u64>,
    objective: &(impl Fn(&[f64]) -> (f64, T) + Sync),
    stop: Stop<'_>,
) -> Batch<T> {
    let mut asked: Vec<(u64, Vec<f64>)> = Vec::with_capacity(indices.clone().count());
    // `None`: the trial was not run because the stop was raised.
    let mut slots: Vec<Option<(f64, T)>> = indices.clone().map(|_| None).collect();
    rayon::in_place_scope(|scope| {
        for (i, slot) in indices.zip(slots.iter_mut()) {
            let unit = sampler.ask(space, history, &mut trial_rng(config.seed, i), i);
            let values = space.values(&unit);
            asked.push((i, unit));
            scope.spawn(move |_| {
                if !stop.requested() {
                    *slot = Some(objective(&values));
                }
            });
        }
    });
    (asked, slots.into_iter().collect())
}

#[cfg(test)]
mod tests;
