//! Training configs: what a creator sends (every field optional, unknown fields refused) and
//! the validated config with the method's defaults filled in, as the API checks it and the
//! worker runs it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::TrainingMethod;
use crate::optimization::Method;
use crate::session::MAX_SEED;

/// A training config as sent: every field optional, defaults by method. Unknown fields are
/// refused.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingConfig {
    /// Seed of every random choice (0..=2^63-1; 42).
    pub seed: Option<u64>,
    /// Commission per fill, fraction of traded value (0..=0.1; 0.002): every backtest, label and
    /// reward of the run pays it.
    pub commission: Option<f64>,
    /// Slippage per fill, fraction of price (0..=0.1; 0).
    pub slippage: Option<f64>,
    /// Deep learning: epochs (1..=2000; 60). Q-learning: episodes (1..=5000; 150).
    /// Optimization engine alone: the seed's name for `trials` (one trial is one epoch of the
    /// search); give one of the two.
    pub epochs: Option<u32>,
    /// Deep learning: Adam's step (0 < x <= 1; 0.001). Q-learning: alpha (0 < x <= 1; 0.1).
    pub learning_rate: Option<f64>,
    /// Deep learning: samples per step (1..=4096; 64).
    pub batch_size: Option<u32>,
    /// Deep learning: hidden layer widths (1 to 4 layers of 1..=512; [32, 16]).
    pub hidden: Option<Vec<u32>>,
    /// Deep learning: epochs without a better validation loss before stopping (1..=1000; 8).
    pub patience: Option<u32>,
    /// Deep learning: past returns in the network's input window (2..=64; 10).
    pub lookback: Option<u32>,
    /// Deep learning: bars ahead a label looks (1..=50; 5 for a filter, 1 for `neural`).
    pub horizon: Option<u32>,
    /// Q-learning: gamma (0 <= x < 1; 0.9).
    pub discount_factor: Option<f64>,
    /// Q-learning: initial epsilon (0..=1; 0.3), decaying to `min_exploration`.
    pub exploration_rate: Option<f64>,
    /// Q-learning: final epsilon (0..=exploration_rate; 0.01).
    pub min_exploration: Option<f64>,
    /// Q-learning: independent learners run in parallel and averaged (1..=16; 4).
    pub learners: Option<u32>,
    /// Optimization engine: trials (1..=the creator budget; 200).
    pub trials: Option<u64>,
    /// Optimization engine: sampler (`bayesian`).
    pub optimizer: Option<Method>,
}

/// A config field that is out of range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigFieldError {
    /// `config.<field>`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// A validated config with every default of its method filled in (what the worker runs and the
/// result shows).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResolvedConfig {
    /// Seed.
    pub seed: u64,
    /// Commission per fill.
    #[serde(default = "default_commission")]
    pub commission: f64,
    /// Slippage per fill.
    #[serde(default)]
    pub slippage: f64,
    /// Deep learning settings (deep learning and hybrid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deep_learning: Option<DlSettings>,
    /// Q-learning settings (Q-learning and hybrid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q_learning: Option<QlSettings>,
    /// Optimization engine settings (optimization engine and hybrid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimization_engine: Option<OptSettings>,
}

/// Deep learning settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DlSettings {
    /// Most epochs.
    pub epochs: u32,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Mini-batch size.
    pub batch_size: u32,
    /// Hidden layer widths.
    pub hidden: Vec<u32>,
    /// Early-stopping patience in epochs.
    pub patience: u32,
    /// Past returns in the input window.
    pub lookback: u32,
    /// Label horizon in bars.
    pub horizon: u32,
}

/// Q-learning settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QlSettings {
    /// Episodes (one pass over the training split each).
    pub episodes: u32,
    /// Alpha.
    pub learning_rate: f64,
    /// Gamma.
    pub discount_factor: f64,
    /// Initial epsilon.
    pub exploration_rate: f64,
    /// Final epsilon.
    pub min_exploration: f64,
    /// Parallel learners.
    pub learners: u32,
}

/// Optimization engine settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OptSettings {
    /// Trials.
    pub trials: u64,
    /// Sampler.
    pub optimizer: Method,
}

fn default_commission() -> f64 {
    crate::evaluation::EvalConfig::default().commission
}

fn field(name: &str, message: impl Into<String>) -> ConfigFieldError {
    ConfigFieldError {
        field: format!("config.{name}"),
        message: message.into(),
    }
}

fn range_u<T: PartialOrd + Copy + std::fmt::Display>(
    errors: &mut Vec<ConfigFieldError>,
    name: &str,
    value: Option<T>,
    default: T,
    (lo, hi): (T, T),
) -> T {
    let v = value.unwrap_or(default);
    if v < lo || v > hi {
        errors.push(field(name, format!("must be between {lo} and {hi}")));
    }
    v
}

fn unit(
    errors: &mut Vec<ConfigFieldError>,
    name: &str,
    value: Option<f64>,
    default: f64,
    ok: impl Fn(f64) -> bool,
    rule: &str,
) -> f64 {
    let v = value.unwrap_or(default);
    if !v.is_finite() || !ok(v) {
        errors.push(field(name, format!("must be {rule}")));
    }
    v
}

impl TrainingConfig {
    /// Validates the config for `method` (fields of other methods are refused, so a typo in a
    /// method never goes unnoticed) and fills in the defaults. `neural` says whether the tool
    /// is of the `neural` family (its label horizon defaults to the next bar); `max_trials` is
    /// the creator's trial budget.
    ///
    /// # Errors
    /// Every field out of range or not used by the method, as `config.<field>`.
    pub fn resolve(
        &self,
        method: TrainingMethod,
        neural: bool,
        max_trials: u64,
    ) -> Result<ResolvedConfig, Vec<ConfigFieldError>> {
        let mut errors = Vec::new();
        let seed = range_u(&mut errors, "seed", self.seed, 42, (0, MAX_SEED));
        let cost = |v: f64| (0.0..=0.1).contains(&v);
        let commission = unit(
            &mut errors,
            "commission",
            self.commission,
            default_commission(),
            cost,
            "between 0 and 0.1",
        );
        let slippage = unit(
            &mut errors,
            "slippage",
            self.slippage,
            0.0,
            cost,
            "between 0 and 0.1",
        );
        let wants = |m: TrainingMethod| method == m || method == TrainingMethod::Hybrid;
        let dl = wants(TrainingMethod::DeepLearning);
        let ql = wants(TrainingMethod::QLearning);
        let opt = wants(TrainingMethod::OptimizationEngine);
        let mut unused = |name: &str, set: bool, used: bool| {
            if set && !used {
                errors.push(field(
                    name,
                    format!("is not a setting of {}", method.as_str()),
                ));
            }
        };
        // The seed calls an optimization engine's trials `epochs`; in a hybrid `epochs` stays
        // the learners' and `trials` the search's.
        let epochs_are_trials = method == TrainingMethod::OptimizationEngine;
        unused(
            "epochs",
            self.epochs.is_some(),
            dl || ql || epochs_are_trials,
        );
        unused("learning_rate", self.learning_rate.is_some(), dl || ql);
        for (name, set) in [
            ("batch_size", self.batch_size.is_some()),
            ("hidden", self.hidden.is_some()),
            ("patience", self.patience.is_some()),
            ("lookback", self.lookback.is_some()),
            ("horizon", self.horizon.is_some()),
        ] {
            unused(name, set, dl);
        }
        for (name, set) in [
            ("discount_factor", self.discount_factor.is_some()),
            ("exploration_rate", self.exploration_rate.is_some()),
            ("min_exploration", self.min_exploration.is_some()),
            ("learners", self.learners.is_some()),
        ] {
            unused(name, set, ql);
        }
        unused("trials", self.trials.is_some(), opt);
        unused("optimizer", self.optimizer.is_some(), opt);

        let positive_unit = |v: f64| v > 0.0 && v <= 1.0;
        let deep_learning = dl.then(|| {
            let hidden = self.hidden.clone().unwrap_or_else(|| vec![32, 16]);
            if hidden.is_empty() || hidden.len() > 4 || hidden.iter().any(|&h| h == 0 || h > 512) {
                errors.push(field("hidden", "must be 1 to 4 layer widths of 1..=512"));
            }
            DlSettings {
                epochs: range_u(&mut errors, "epochs", self.epochs, 60, (1, 2_000)),
                learning_rate: unit(
                    &mut errors,
                    "learning_rate",
                    self.learning_rate,
                    1e-3,
                    positive_unit,
                    "greater than 0 and at most 1",
                ),
                batch_size: range_u(&mut errors, "batch_size", self.batch_size, 64, (1, 4_096)),
                hidden,
                patience: range_u(&mut errors, "patience", self.patience, 8, (1, 1_000)),
                lookback: range_u(&mut errors, "lookback", self.lookback, 10, (2, 64)),
                horizon: range_u(
                    &mut errors,
                    "horizon",
                    self.horizon,
                    if neural { 1 } else { 5 },
                    (1, 50),
                ),
            }
        });
        let q_learning = ql.then(|| {
            let exploration_rate = unit(
                &mut errors,
                "exploration_rate",
                self.exploration_rate,
                0.3,
                |v| (0.0..=1.0).contains(&v),
                "between 0 and 1",
            );
            QlSettings {
                episodes: range_u(&mut errors, "epochs", self.epochs, 150, (1, 5_000)),
                learning_rate: unit(
                    &mut errors,
                    "learning_rate",
                    self.learning_rate,
                    0.1,
                    positive_unit,
                    "greater than 0 and at most 1",
                ),
                discount_factor: unit(
                    &mut errors,
                    "discount_factor",
                    self.discount_factor,
                    0.9,
                    |v| (0.0..1.0).contains(&v),
                    "at least 0 and less than 1",
                ),
                exploration_rate,
                min_exploration: unit(
                    &mut errors,
                    "min_exploration",
                    self.min_exploration,
                    0.01_f64.min(exploration_rate),
                    |v| v >= 0.0 && v <= exploration_rate,
                    "between 0 and exploration_rate",
                ),
                learners: range_u(&mut errors, "learners", self.learners, 4, (1, 16)),
            }
        });
        let (trials_field, trials) = match (epochs_are_trials, self.epochs) {
            (true, Some(epochs)) => {
                if self.trials.is_some() {
                    errors.push(field(
                        "epochs",
                        "is the seed's name for trials; give trials or epochs, not both",
                    ));
                }
                ("epochs", Some(u64::from(epochs)))
            }
            _ => ("trials", self.trials),
        };
        let optimization_engine = opt.then(|| OptSettings {
            trials: range_u(
                &mut errors,
                trials_field,
                trials,
                200.min(max_trials),
                (1, max_trials.max(1)),
            ),
            optimizer: self.optimizer.unwrap_or(Method::Bayesian),
        });
        if errors.is_empty() {
            Ok(ResolvedConfig {
                seed,
                commission,
                slippage,
                deep_learning,
                q_learning,
                optimization_engine,
            })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_by_method_and_foreign_fields_are_refused() {
        let c = TrainingConfig::default();
        let r = c
            .resolve(TrainingMethod::Hybrid, false, 5_000)
            .expect("defaults are valid");
        assert_eq!(r.seed, 42);
        assert_eq!(r.deep_learning.as_ref().map(|d| d.horizon), Some(5));
        assert_eq!(r.q_learning.as_ref().map(|q| q.episodes), Some(150));
        assert_eq!(r.optimization_engine.as_ref().map(|o| o.trials), Some(200));
        let r = c
            .resolve(TrainingMethod::DeepLearning, true, 5_000)
            .expect("valid");
        assert_eq!(r.deep_learning.map(|d| d.horizon), Some(1));
        assert!(r.q_learning.is_none() && r.optimization_engine.is_none());

        let bad = TrainingConfig {
            discount_factor: Some(0.5),
            ..TrainingConfig::default()
        };
        let e = bad
            .resolve(TrainingMethod::DeepLearning, false, 5_000)
            .expect_err("foreign field");
        assert_eq!(e[0].field, "config.discount_factor");
    }

    #[test]
    fn out_of_range_fields_are_named() {
        let bad = TrainingConfig {
            epochs: Some(0),
            learning_rate: Some(2.0),
            hidden: Some(vec![]),
            ..TrainingConfig::default()
        };
        let e = bad
            .resolve(TrainingMethod::DeepLearning, false, 5_000)
            .expect_err("invalid");
        let fields: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["config.hidden", "config.epochs", "config.learning_rate"]
        );
        let e = TrainingConfig {
            trials: Some(10_000),
            ..TrainingConfig::default()
        }
        .resolve(TrainingMethod::OptimizationEngine, false, 5_000)
        .expect_err("over budget");
        assert_eq!(e[0].field, "config.trials");
        let e = TrainingConfig {
            exploration_rate: Some(0.1),
            min_exploration: Some(0.2),
            ..TrainingConfig::default()
        }
        .resolve(TrainingMethod::QLearning, false, 5_000)
        .expect_err("min above initial");
        assert_eq!(e[0].field, "config.min_exploration");
        let e = TrainingConfig {
            commission: Some(0.5),
            ..TrainingConfig::default()
        }
        .resolve(TrainingMethod::Hybrid, false, 5_000)
        .expect_err("costs are fractions");
        assert_eq!(e[0].field, "config.commission");
    }

    #[test]
    fn the_seeds_epochs_are_an_optimization_engines_trials() {
        let epochs = |n| TrainingConfig {
            epochs: Some(n),
            ..TrainingConfig::default()
        };
        let r = epochs(120)
            .resolve(TrainingMethod::OptimizationEngine, false, 5_000)
            .expect("the seed's call");
        assert_eq!(r.optimization_engine.map(|o| o.trials), Some(120));
        let e = epochs(9_000)
            .resolve(TrainingMethod::OptimizationEngine, false, 5_000)
            .expect_err("over budget");
        assert_eq!(e[0].field, "config.epochs");
        let both = TrainingConfig {
            trials: Some(50),
            ..epochs(50)
        };
        let e = both
            .resolve(TrainingMethod::OptimizationEngine, false, 5_000)
            .expect_err("two names for one budget");
        assert_eq!(e[0].field, "config.epochs");
        // In a hybrid, epochs stay the learners' and trials the search's.
        let r = epochs(30)
            .resolve(TrainingMethod::Hybrid, false, 5_000)
            .expect("valid");
        assert_eq!(r.deep_learning.map(|d| d.epochs), Some(30));
        assert_eq!(r.optimization_engine.map(|o| o.trials), Some(200));
    }
}
