//! The three methods, each on the training split (the validation split only where the method
//! itself needs it: early stopping).

use domain::families;
use domain::standards::gate_score;
use serde_json::json;

use super::LoadedModel;
use super::dl::{self, DlConfig, DlError, TrainedMlp};
use super::features::{FeatureSpec, Samples, direction_samples, meta_samples};
use super::input::{Hooks, Learned, TrainError, TrainInput, chunks, range};
use super::ql::{self, QlConfig, QlError, StateSpec, market};
use crate::engine::{Evaluator, Prepared, Scratch, Strategy};
use crate::optimize::{
    GateObjective, Space, StudyConfig, best_curve_points, run_study, score, thin,
};
use domain::training::Splits;

impl From<DlError> for TrainError {
    fn from(e: DlError) -> Self {
        match e {
            DlError::Canceled => TrainError::Canceled,
            other => TrainError::Invalid(other.to_string()),
        }
    }
}

impl From<QlError> for TrainError {
    fn from(e: QlError) -> Self {
        match e {
            QlError::Canceled => TrainError::Canceled,
            other => TrainError::Invalid(other.to_string()),
        }
    }
}

/// Fewest training samples a network is trained on.
const MIN_SAMPLES: usize = 30;
/// Trials asked together (fixed, so a seed gives the same trials on any thread count).
const BATCH: usize = 8;
/// State of the Q-learning environment: bars of the recent return, of the volatility window,
/// and bucket counts.
const RETURN_LOOKBACK: usize = 5;
const VOL_WINDOW: usize = 20;
const RETURN_BUCKETS: usize = 5;
const VOL_BUCKETS: usize = 3;

fn family_signal(input: &TrainInput<'_>) -> Result<Vec<i8>, TrainError> {
    let strategy = Strategy::from_params(input.family, input.params)?;
    let mut signal = Vec::new();
    strategy.targets(&input.bars.close, &mut Scratch::default(), &mut signal);
    Ok(signal)
}

/// The network's predictions of `s`, checking `hooks.stop` between chunks.
fn predictions(net: &TrainedMlp, s: &Samples, hooks: Hooks<'_>) -> Result<Vec<f32>, TrainError> {
    net.predict_until(&s.x, hooks.stop)
        .ok_or(TrainError::Canceled)
}

/// The share of `s` whose label the predictions `p` (of `s`) get right.
fn accuracy(p: &[f32], s: &Samples) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let right = p
        .iter()
        .zip(&s.y)
        .filter(|(p, y)| (**p >= 0.5) == (**y >= 0.5))
        .count();
    Some(right as f64 / s.len() as f64)
}

/// Deep learning: the `neural` family's next-move network, or a meta-labeling filter of the
/// family's signal.
pub(super) fn deep_learning(
    input: &TrainInput<'_>,
    splits: &Splits,
    hooks: Hooks<'_>,
) -> Result<Learned, TrainError> {
    let cfg = input
        .config
        .deep_learning
        .as_ref()
        .ok_or_else(|| TrainError::Invalid("no deep learning settings".into()))?;
    let neural = input.family == "neural";
    let spec = FeatureSpec {
        lookback: cfg.lookback as usize,
        horizon: cfg.horizon as usize,
        with_direction: !neural,
    };
    let (open, close) = (&input.bars.open, &input.bars.close);
    let cost = input.eval.commission + input.eval.slippage;
    let (train, validation) = if neural {
        (
            direction_samples(open, close, &spec, range(splits.train)),
            direction_samples(open, close, &spec, range(splits.validation)),
        )
    } else {
        let signal = family_signal(input)?;
        (
            meta_samples(open, close, &signal, &spec, cost, range(splits.train)),
            meta_samples(open, close, &signal, &spec, cost, range(splits.validation)),
        )
    };
    if train.len() < MIN_SAMPLES || validation.is_empty() {
        return Err(TrainError::Invalid(format!(
            "too few samples to train a network: {} in the training split and {} in the validation split (at least {MIN_SAMPLES} and 1); {}",
            train.len(),
            validation.len(),
            if neural {
                "use a longer dataset"
            } else {
                "the tool's signal is rarely on; use a longer dataset or parameters that trade more"
            }
        )));
    }
    let dl_cfg = DlConfig {
        epochs: cfg.epochs as usize,
        learning_rate: cfg.learning_rate,
        batch_size: cfg.batch_size as usize,
        hidden: cfg.hidden.iter().map(|&h| h as usize).collect(),
        patience: cfg.patience as usize,
        seed: input.config.seed,
    };
    let outcome = dl::train(&train, &validation, &dl_cfg, hooks.stop, |e| {
        hooks.step(
            e.epoch,
            dl_cfg.epochs,
            format!(
                "epoch {} of {}: train loss {:.4}, validation loss {:.4}",
                e.epoch, dl_cfg.epochs, e.train_loss, e.validation_loss
            ),
        )
    })?;
    let train_p = predictions(&outcome.net, &train, hooks)?;
    let validation_p = predictions(&outcome.net, &validation, hooks)?;
    let mut details = json!({
        "network": if neural { "next-move classifier (the neural family's signal)" } else { "meta-labeling filter: takes the family's signal only where it predicts the signal pays" },
        "features": spec,
        "label": if neural {
            format!("1 when close[t+{h}] > open[t+1]", h = spec.horizon)
        } else {
            format!("1 when the signal's direction times close[t+{h}] / open[t+1] - 1 exceeds the round-trip cost {c}", h = spec.horizon, c = 2.0 * cost)
        },
        "samples": {"train": train.len(), "validation": validation.len()},
        "positive_share": {"train": train.positive_share(), "validation": validation.positive_share()},
        "accuracy": {"train": accuracy(&train_p, &train), "validation": accuracy(&validation_p, &validation)},
        "epochs_run": outcome.curve.len(),
        "best_epoch": outcome.best_epoch,
        "stopped_early": outcome.stopped_early,
        "samples_seen": outcome.samples_seen,
        "trainable_parameters": outcome.net.meta().parameters,
    });
    let model = if neural {
        LoadedModel::Direction {
            net: outcome.net,
            features: spec,
        }
    } else {
        let candidates = approval_candidates(&train_p);
        let mut filter = LoadedModel::MetaFilter {
            net: outcome.net,
            features: spec,
            approve: 0.5,
        };
        let (approve, score) = calibrate(input, splits, &filter, &candidates, hooks)?;
        if let LoadedModel::MetaFilter { approve: a, .. } = &mut filter {
            *a = approve;
        }
        details["approve_threshold"] = json!(approve);
        details["approve_threshold_train_score"] = json!(score);
        filter
    };
    Ok(Learned {
        parameters: input.params.clone(),
        model: Some(model),
        curves: json!({"loss": thin(&outcome.curve)}),
        details,
    })
}

/// Approval thresholds a filter may use: 0.5 and the deciles of its probabilities on the
/// training samples (the top 90%, 80%, ... 10% of signals), ascending, without repeats.
fn approval_candidates(probabilities: &[f32]) -> Vec<f32> {
    let mut sorted: Vec<f32> = probabilities
        .iter()
        .copied()
        .filter(|p| p.is_finite())
        .collect();
    sorted.sort_by(f32::total_cmp);
    let mut out = vec![0.5];
    if !sorted.is_empty() {
        out.extend((1..10).map(|k| sorted[(sorted.len() - 1) * k / 10]));
    }
    out.sort_by(f32::total_cmp);
    out.dedup();
    out
}

/// The filter's approval threshold: of `candidates`, the one whose filtered tool scores best
/// (the gate's score against the unfiltered rule) on three folds of the training split, the
/// most permissive of equals; the validation and test splits are not looked at. Returns the
/// threshold and its score. Checks `hooks.stop` between its evaluations.
fn calibrate(
    input: &TrainInput<'_>,
    splits: &Splits,
    filter: &LoadedModel,
    candidates: &[f32],
    hooks: Hooks<'_>,
) -> Result<(f32, f64), TrainError> {
    let folds = chunks(range(splits.train), 3);
    let strategy = Strategy::from_params(input.family, input.params)?;
    let unfiltered = Evaluator::new(input.bars, input.eval)?.metrics(&strategy, &folds)?;
    let mut prepared = filter
        .prepare_until(input.bars, hooks.stop)
        .ok_or(TrainError::Canceled)?;
    let mut best = (0.5, f64::NEG_INFINITY);
    for &c in candidates {
        hooks.check()?;
        if let Prepared::MetaFilter { approve, .. } = &mut prepared {
            *approve = c;
        }
        let filtered = Evaluator::new(input.bars, input.eval)?
            .with_model(Some(&prepared))
            .metrics(&strategy, &folds)?;
        let score = gate_score(input.standards, &unfiltered, &filtered).unwrap_or(f64::NAN);
        if score > best.1 {
            best = (c, score);
        }
    }
    Ok(best)
}

/// Q-learning of an execution policy over the family's signal.
pub(super) fn q_learning(
    input: &TrainInput<'_>,
    splits: &Splits,
    hooks: Hooks<'_>,
) -> Result<Learned, TrainError> {
    let cfg = input
        .config
        .q_learning
        .as_ref()
        .ok_or_else(|| TrainError::Invalid("no Q-learning settings".into()))?;
    let close = &input.bars.close;
    let signal = family_signal(input)?;
    let train_range = range(splits.train);
    let spec = StateSpec::fit(
        close,
        train_range.clone(),
        RETURN_LOOKBACK,
        VOL_WINDOW,
        RETURN_BUCKETS,
        VOL_BUCKETS,
    );
    let env = market(close, &spec);
    let ql_cfg = QlConfig {
        episodes: cfg.episodes as usize,
        learning_rate: cfg.learning_rate,
        discount_factor: cfg.discount_factor,
        exploration_rate: cfg.exploration_rate,
        min_exploration: cfg.min_exploration,
        learners: cfg.learners as usize,
        seed: input.config.seed,
        cost: input.eval.commission + input.eval.slippage,
    };
    let outcome = ql::train(
        &env,
        &signal,
        train_range,
        &spec,
        &ql_cfg,
        hooks.stop,
        |e| {
            hooks.step(
                e.episode,
                ql_cfg.episodes,
                format!(
                    "episode {} of {}: reward {:+.4}, exploration {:.3}",
                    e.episode, ql_cfg.episodes, e.reward, e.exploration
                ),
            )
        },
    )?;
    let details = json!({
        "state": format!(
            "family signal (3) x return over {RETURN_LOOKBACK} bars ({RETURN_BUCKETS} buckets) x volatility over {VOL_WINDOW} bars ({VOL_BUCKETS} buckets) x position (3)"
        ),
        "actions": ["flat", "long", "short"],
        "reward": "position x next return - cost x |position change|",
        "states": spec.states(),
        "visited_states": outcome.table.visited_states(),
        "learners": ql_cfg.learners,
        "steps": outcome.steps,
    });
    Ok(Learned {
        parameters: input.params.clone(),
        model: Some(LoadedModel::Policy(outcome.table)),
        curves: json!({"reward": thin(&outcome.curve)}),
        details,
    })
}

/// The session optimizers on the training split (cut into folds), with the version's artifact.
pub(super) fn optimization_engine(
    input: &TrainInput<'_>,
    splits: &Splits,
    base: Option<&Prepared>,
    hooks: Hooks<'_>,
) -> Result<Learned, TrainError> {
    let cfg = input
        .config
        .optimization_engine
        .as_ref()
        .ok_or_else(|| TrainError::Invalid("no optimization engine settings".into()))?;
    let schema = families::get(input.family)
        .ok_or_else(|| TrainError::Invalid(format!("unknown family {}", input.family)))?;
    let space = Space::of_family(schema);
    let folds = chunks(range(splits.train), 3);
    let base_strategy = Strategy::from_params(input.family, input.params)?;
    let objective = GateObjective::new(
        input.bars,
        input.family,
        &base_strategy,
        base,
        input.eval,
        input.standards,
        folds,
    )?;
    let study = StudyConfig {
        method: cfg.optimizer,
        trials: cfg.trials,
        seed: input.config.seed,
        batch: BATCH,
    };
    let result = run_study(
        &space,
        &study,
        |values| objective.score(&space.params(values)),
        |trials| {
            let best = trials
                .iter()
                .map(|t| score(t.value))
                .fold(f64::NEG_INFINITY, f64::max);
            (hooks.progress)(
                0.05 + 0.85 * trials.len() as f64 / study.trials.max(1) as f64,
                format!(
                    "trial {} of {}: best score {:+.2}%",
                    trials.len(),
                    study.trials,
                    if best.is_finite() { best * 100.0 } else { 0.0 }
                ),
            );
        },
        hooks.stop,
    );
    hooks.check()?;
    let best = result.best().cloned();
    let (parameters, best_score) = match &best {
        Some(t) if t.value > 0.0 => (space.decode(&t.unit), t.value),
        _ => (input.params.clone(), 0.0),
    };
    Ok(Learned {
        parameters,
        model: None,
        curves: json!({"best_score": best_curve_points(&result.best_curve())}),
        details: json!({
            "optimizer": cfg.optimizer,
            "trials_run": result.trials.len(),
            "objective": "gate score (overall improvement less the gate's penalties) over the base version on three folds of the training split",
            "best_score": best_score,
            "kept_base_parameters": best.is_none_or(|t| t.value <= 0.0),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_candidates_are_half_and_the_deciles() {
        let p: Vec<f32> = (0..=100).map(|i| i as f32 / 100.0).collect();
        let c = approval_candidates(&p);
        assert_eq!(
            c,
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
            "0.5 is also the fifth decile here"
        );
        assert_eq!(approval_candidates(&[]), [0.5]);
        assert_eq!(approval_candidates(&[0.2; 7]), [0.2, 0.5]);
    }
}
