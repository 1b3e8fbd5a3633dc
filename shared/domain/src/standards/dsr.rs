//! The Deflated Sharpe Ratio (Bailey and López de Prado, 2014): the probability that the
//! selected trial's true Sharpe ratio is above what the best of `N` trials would show by luck.
//!
//! With `SR` the selected trial's Sharpe ratio per bar over `T` bars of returns with skewness
//! `g3` and (non-excess) kurtosis `g4`, and `V` the variance of the `N` trials' Sharpe ratios:
//!
//! ```text
//! SR0 = sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))      g = 0.5772... (Euler)
//! DSR = Z((SR - SR0) * sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1) / 4 SR^2))
//! ```
//!
//! `SR0` is the expected maximum of `N` Sharpe ratios whose true value is 0 and whose estimates
//! spread as the trials' did; `Z` is the standard normal distribution. One trial deflates
//! nothing (`SR0 = 0`, the probabilistic Sharpe ratio against 0).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};
use utoipa::ToSchema;

/// The Euler-Mascheroni constant.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// What the deflated Sharpe ratio is computed from: the search's trials and the selected
/// trial's returns. Sharpe ratios here are per bar (not annualized).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Selection {
    /// Which returns: `excess returns over the baseline` (the improvement's information
    /// ratio) or `returns` (the candidate's own Sharpe ratio).
    #[serde(default)]
    pub of: String,
    /// Trials the search ran (`N`).
    pub trials: u64,
    /// Variance of the trials' Sharpe ratios of the same returns (`V`, per bar).
    pub sharpe_variance: f64,
    /// The selected trial's Sharpe ratio (per bar) where it was selected; `None` when it has
    /// none (no spread of returns: the same positions as the baseline throughout, say).
    pub sharpe: Option<f64>,
    /// Bars of returns behind `sharpe` (`T`).
    pub bars: u64,
    /// Skewness of those returns.
    pub skewness: f64,
    /// Kurtosis of those returns (3 for a normal distribution).
    pub kurtosis: f64,
}

/// The deflated Sharpe ratio with what it was computed from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeflatedSharpe {
    /// The inputs.
    #[serde(flatten)]
    pub selection: Selection,
    /// The expected best Sharpe ratio (per bar) of `trials` trials with no skill (`SR0`).
    pub expected_max_sharpe: f64,
    /// The probability that the selected trial's true Sharpe ratio exceeds `SR0`; `None`
    /// when it cannot be computed (fewer than 2 bars, or a non-finite input).
    pub value: Option<f64>,
}

fn standard_normal() -> Normal {
    Normal::standard()
}

/// `SR0`: the expected maximum Sharpe ratio of `trials` unskilled trials whose estimates have
/// variance `variance`; 0 for a single trial.
pub fn expected_max_sharpe(trials: u64, variance: f64) -> f64 {
    if trials <= 1 || !(variance.is_finite() && variance > 0.0) {
        return 0.0;
    }
    let z = standard_normal();
    let n = trials as f64;
    variance.sqrt()
        * ((1.0 - EULER_GAMMA) * z.inverse_cdf(1.0 - 1.0 / n)
            + EULER_GAMMA * z.inverse_cdf(1.0 - 1.0 / (n * std::f64::consts::E)))
}

/// The deflated Sharpe ratio of `selection`.
pub fn deflated_sharpe(selection: &Selection) -> DeflatedSharpe {
    let sr0 = expected_max_sharpe(selection.trials, selection.sharpe_variance);
    let sr = selection.sharpe.unwrap_or(f64::NAN);
    let t = selection.bars as f64;
    let denominator = 1.0 - selection.skewness * sr + (selection.kurtosis - 1.0) / 4.0 * sr * sr;
    let value = (t >= 2.0 && sr.is_finite() && denominator.is_finite() && denominator > 0.0)
        .then(|| standard_normal().cdf((sr - sr0) * (t - 1.0).sqrt() / denominator.sqrt()))
        .filter(|v| v.is_finite());
    DeflatedSharpe {
        selection: selection.clone(),
        expected_max_sharpe: sr0,
        value,
    }
}

/// Sample mean, standard deviation, skewness and kurtosis (non-excess) of `x`: what the
/// Sharpe ratio and its deflation need from a series of returns. Zeros for fewer than 2
/// values; skewness 0 and kurtosis 3 (the normal case) when the deviation is 0.
pub fn moments(x: &[f64]) -> (f64, f64, f64, f64) {
    let n = x.len() as f64;
    if x.len() < 2 {
        return (0.0, 0.0, 0.0, 3.0);
    }
    let mean = x.iter().sum::<f64>() / n;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for &v in x {
        let d = v - mean;
        let d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
    }
    let sd = (m2 / (n - 1.0)).sqrt();
    let (m2, m3, m4) = (m2 / n, m3 / n, m4 / n);
    if m2 <= 0.0 {
        return (mean, 0.0, 0.0, 3.0);
    }
    (mean, sd, m3 / m2.powf(1.5), m4 / (m2 * m2))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numerical example of Bailey and López de Prado (2014), section 4: an annualized
    /// Sharpe ratio of 2.5 over 1,250 daily returns with skewness -3 and kurtosis 10, selected
    /// among 100 trials whose annualized Sharpe ratios have variance 0.5. The paper gives
    /// `SR0 = 0.1132` per day and a DSR of 0.9004.
    #[test]
    fn the_papers_numerical_example_is_reproduced() {
        let days: f64 = 250.0;
        let d = deflated_sharpe(&Selection {
            of: "returns".into(),
            trials: 100,
            sharpe_variance: 0.5 / days,
            sharpe: Some(2.5 / days.sqrt()),
            bars: 1_250,
            skewness: -3.0,
            kurtosis: 10.0,
        });
        assert!(
            (d.expected_max_sharpe - 0.1132).abs() < 5e-5,
            "SR0 = {}",
            d.expected_max_sharpe
        );
        let value = d.value.expect("computable");
        assert!((value - 0.9004).abs() < 5e-4, "DSR = {value}");
    }

    #[test]
    fn more_trials_deflate_more_and_one_trial_deflates_nothing() {
        let at = |trials| {
            deflated_sharpe(&Selection {
                of: "returns".into(),
                trials,
                sharpe_variance: 1e-4,
                sharpe: Some(0.05),
                bars: 1_000,
                skewness: 0.0,
                kurtosis: 3.0,
            })
        };
        assert_eq!(at(1).expected_max_sharpe, 0.0);
        let dsr = |n| at(n).value.expect("computable");
        assert!(
            dsr(1) > dsr(16) && dsr(16) > dsr(5_000),
            "{} {} {}",
            dsr(1),
            dsr(16),
            dsr(5_000)
        );
        // One trial: the probabilistic Sharpe ratio against 0, z = 0.05 * sqrt(999) / sqrt(1 + 0.5 * 0.0025).
        let z: f64 = 0.05 * 999f64.sqrt() / (1.0 + 0.5 * 0.0025f64).sqrt();
        assert!((dsr(1) - standard_normal().cdf(z)).abs() < 1e-12);
    }

    #[test]
    fn a_sharpe_ratio_below_the_expected_maximum_is_below_one_half() {
        let d = deflated_sharpe(&Selection {
            of: "returns".into(),
            trials: 200,
            sharpe_variance: 4e-4,
            sharpe: Some(0.02),
            bars: 1_500,
            skewness: 0.0,
            kurtosis: 3.0,
        });
        assert!(d.expected_max_sharpe > 0.02);
        assert!(d.value.expect("computable") < 0.5);
    }

    #[test]
    fn too_few_bars_or_bad_inputs_give_no_value() {
        let base = Selection {
            of: "returns".into(),
            trials: 10,
            sharpe_variance: 1e-4,
            sharpe: Some(0.05),
            bars: 1,
            skewness: 0.0,
            kurtosis: 3.0,
        };
        assert_eq!(deflated_sharpe(&base).value, None);
        let nan = Selection {
            bars: 100,
            sharpe: None,
            ..base
        };
        assert_eq!(deflated_sharpe(&nan).value, None);
    }

    #[test]
    fn moments_of_a_known_sample() {
        let (mean, sd, skew, kurt) = moments(&[1.0, 2.0, 3.0, 4.0, 10.0]);
        assert!((mean - 4.0).abs() < 1e-12);
        assert!((sd - 12.5f64.sqrt()).abs() < 1e-12);
        // Population moments: m2 = 10, m3 = 30 * ... computed by hand below.
        let d = [-3.0f64, -2.0, -1.0, 0.0, 6.0];
        let m2 = d.iter().map(|x| x * x).sum::<f64>() / 5.0;
        let m3 = d.iter().map(|x| x * x * x).sum::<f64>() / 5.0;
        let m4 = d.iter().map(|x| x.powi(4)).sum::<f64>() / 5.0;
        assert!((skew - m3 / m2.powf(1.5)).abs() < 1e-12);
        assert!((kurt - m4 / (m2 * m2)).abs() < 1e-12);
        assert_eq!(moments(&[2.0, 2.0, 2.0]), (2.0, 0.0, 0.0, 3.0));
    }
}
