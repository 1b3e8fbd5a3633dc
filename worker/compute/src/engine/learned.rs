//! Learned artifacts in evaluation. A tool version may carry one artifact (network weights or a
//! Q-table); before a series is evaluated, the artifact is *prepared* for it: the network's
//! probability for every bar, or the Q-table with the series' state buckets. The per-bar inputs
//! depend only on the bars, never on the parameters, so an optimizer evaluating thousands of
//! parameter sets runs the network once.
//!
//! How each kind shapes the targets (all causal: bar t's target reads bars `..=t` only):
//! - `Direction` (the `neural` family): the probability that the next move is up, averaged over
//!   the last `smoothing` bars; long above `0.5 + threshold`, short below `0.5 - threshold`.
//! - `MetaFilter` (any other family): the family's target is kept only where the network
//!   approves it (probability that taking it pays at least the filter's threshold), flat
//!   elsewhere.
//! - `Policy` (Q-learning): the learned greedy policy over (the family's target, return and
//!   volatility buckets, current position) decides the position.

use super::policy::{Market, QTable, policy_targets};
use super::signals::{Position, Strategy};

/// An artifact prepared for one series.
#[derive(Clone, Debug, PartialEq)]
pub enum Prepared {
    /// The `neural` family's network: probability that the next move is up, per bar.
    Direction {
        /// Per bar.
        p_up: Vec<f32>,
    },
    /// A meta-labeling filter: probability that taking a long (short) position at the bar pays.
    MetaFilter {
        /// Per bar, for a long.
        p_long: Vec<f32>,
        /// Per bar, for a short.
        p_short: Vec<f32>,
        /// Probability a signal needs to be taken (chosen when the filter was trained).
        approve: f32,
    },
    /// A Q-learning execution policy.
    Policy {
        /// The learned table.
        table: QTable,
        /// The series' state buckets.
        market: Market,
    },
}

/// Writes the targets of `strategy` shaped by `model` over the first `end` bars of `close` into
/// `out`; `signal` is scratch space for the family's own targets under a policy.
pub(crate) fn targets(
    strategy: &Strategy,
    model: Option<&Prepared>,
    close: &[f64],
    scratch: &mut super::Scratch,
    signal: &mut Vec<Position>,
    out: &mut Vec<Position>,
) {
    match (strategy, model) {
        (
            &Strategy::Neural {
                threshold,
                smoothing,
            },
            Some(Prepared::Direction { p_up }),
        ) => direction(&p_up[..close.len()], threshold, smoothing, out),
        _ => strategy.targets(close, scratch, out),
    }
    match model {
        Some(Prepared::MetaFilter {
            p_long,
            p_short,
            approve,
        }) => {
            for (t, target) in out.iter_mut().enumerate() {
                let p = match *target {
                    1 => p_long[t],
                    -1 => p_short[t],
                    _ => continue,
                };
                if p < *approve {
                    *target = 0;
                }
            }
        }
        Some(Prepared::Policy { table, market }) => {
            signal.clear();
            signal.extend_from_slice(out);
            policy_targets(table, market, signal, out);
        }
        _ => {}
    }
}

/// The `neural` rule over the network's probabilities.
fn direction(p_up: &[f32], threshold: f64, smoothing: usize, out: &mut Vec<Position>) {
    out.clear();
    out.resize(p_up.len(), 0);
    let k = smoothing.max(1);
    let mut sum = 0.0_f64;
    for t in 0..p_up.len() {
        sum += f64::from(p_up[t]);
        if t >= k {
            sum -= f64::from(p_up[t - k]);
        }
        if t + 1 < k {
            continue;
        }
        let p = sum / k as f64;
        out[t] = if p > 0.5 + threshold {
            1
        } else if p < 0.5 - threshold {
            -1
        } else {
            0
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_thresholds_the_smoothed_probability() {
        let p = [0.9_f32, 0.1, 0.52, 0.6, 0.6];
        let mut out = Vec::new();
        direction(&p, 0.05, 1, &mut out);
        assert_eq!(out, [1, -1, 0, 1, 1]);
        direction(&p, 0.05, 2, &mut out);
        // means: -, 0.5, 0.31, 0.56, 0.6
        assert_eq!(out, [0, 0, -1, 1, 1]);
    }

    #[test]
    fn a_meta_filter_only_removes_signals_it_does_not_approve() {
        let close = [1.0, 2.0, 3.0, 4.0, 3.0, 2.0];
        let strategy = Strategy::MomentumReturn {
            lookback: 1,
            threshold: 0.0,
        };
        let mut plain = Vec::new();
        strategy.targets(&close, &mut super::super::Scratch::default(), &mut plain);
        assert_eq!(plain, [0, 1, 1, 1, -1, -1]);
        let model = Prepared::MetaFilter {
            p_long: vec![0.9, 0.9, 0.2, 0.9, 0.9, 0.9],
            p_short: vec![0.9, 0.9, 0.9, 0.9, 0.3, 0.8],
            approve: 0.5,
        };
        let mut out = Vec::new();
        targets(
            &strategy,
            Some(&model),
            &close,
            &mut super::super::Scratch::default(),
            &mut Vec::new(),
            &mut out,
        );
        assert_eq!(out, [0, 1, 0, 1, 0, -1]);
    }
}
