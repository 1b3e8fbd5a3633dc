//! What a session's parameter search leaves behind besides its winner: every trial (so the
//! whole study can be seen, not only the best-so-far curve) and the statistics of the trials
//! that the gate's deflated Sharpe ratio needs.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::Metrics;

/// One evaluated trial of a search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OptimizationTrial {
    /// Trial number from 0, in the order the search asked them.
    pub trial: u64,
    /// The parameters tried.
    #[schema(value_type = Object)]
    pub params: Map<String, Value>,
    /// The search's in-sample score (the gate's measure over the baseline less its penalties);
    /// `None` when the parameters could not be evaluated.
    pub score: Option<f64>,
    /// Closed trades over the search's blocks.
    pub num_trades: f64,
    /// Sharpe ratio per bar: the mean of the blocks' annualized Sharpe ratios over the square
    /// root of bars per year.
    pub sharpe: Option<f64>,
    /// Information ratio per bar against the baseline: the Sharpe ratio of the excess returns
    /// over the blocks (what the gate's deflated Sharpe ratio of the improvement deflates);
    /// `None` when the positions never differ from the baseline's.
    #[serde(default)]
    pub information_ratio: Option<f64>,
    /// Metrics per block of the search span, in time order.
    pub metrics: Vec<Metrics>,
}

/// How many trials a search ran and how their ratios spread: with the selected trial's own
/// returns, what the deflated Sharpe ratios are computed from (and recomputed from when a
/// promotion re-checks the record).
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrialStats {
    /// Trials the search ran.
    pub trials: u64,
    /// Sample variance of the trials' per-bar Sharpe ratios (those that could be evaluated).
    pub sharpe_variance: f64,
    /// Sample variance of the trials' per-bar information ratios against the baseline.
    #[serde(default)]
    pub information_ratio_variance: f64,
}

/// Sample variance of the finite values; 0 with fewer than two.
fn variance(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    if v.len() < 2 {
        return 0.0;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
}

impl TrialStats {
    /// The statistics of `trials`: their count and the variances of their finite ratios.
    pub fn of(trials: &[OptimizationTrial]) -> Self {
        Self {
            trials: trials.len() as u64,
            sharpe_variance: variance(trials.iter().filter_map(|t| t.sharpe)),
            information_ratio_variance: variance(trials.iter().filter_map(|t| t.information_ratio)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(i: u64, sharpe: Option<f64>) -> OptimizationTrial {
        OptimizationTrial {
            trial: i,
            params: Map::new(),
            score: sharpe,
            num_trades: 10.0,
            sharpe,
            information_ratio: sharpe.map(|s| s / 2.0),
            metrics: Vec::new(),
        }
    }

    #[test]
    fn the_variance_reads_every_evaluable_trial_and_the_count_every_trial() {
        let trials = [
            trial(0, Some(0.01)),
            trial(1, Some(0.03)),
            trial(2, None),
            trial(3, Some(f64::NAN)),
        ];
        let stats = TrialStats::of(&trials);
        assert_eq!(stats.trials, 4);
        assert!((stats.sharpe_variance - 2e-4).abs() < 1e-15, "{stats:?}");
        assert!(
            (stats.information_ratio_variance - 0.5e-4).abs() < 1e-15,
            "{stats:?}"
        );
        assert_eq!(TrialStats::of(&trials[..1]).sharpe_variance, 0.0);
    }
}
