//! `execution_time`: what computing a tool's signals costs, from a deterministic model of the
//! work its family's rule does per bar, in milliseconds per 1,000 bars.
//!
//! Wall-clock timing of a few milliseconds of work spreads by about ±50% between repeats on a
//! shared machine, so a measured `execution_time` could neither be reproduced nor compared. The
//! model counts what the code does instead. Every family's rule does the same work per bar
//! whatever its parameters: rolling windows with O(1) updates (`sma_crossover`'s exact re-sum of
//! its windows is amortized over 16 of their lengths, so it too costs every bar the same), a
//! fixed-size state for RSI and the volatility-scaled momentum. So no parameter changes a tool's
//! cost, and an optimization reports `execution_time` as unchanged; what does change it is a
//! learned artifact's rule (a meta-labeling filter, a Q-learning policy), which adds its own
//! constant (its one-off preparation per series is not per-bar work and is not counted).
//!
//! The constants are nanoseconds per bar measured on this machine kind (release build, one
//! thread, 1,000,000 bars; `cargo bench -p compute --bench cost_model` measures them again and
//! prints them beside the model). The same strategy and artifact kind always cost the
//! same, bit for bit; two parameter sets of a family whose work does not depend on them cost
//! exactly the same, which the standards gate reports as unchanged.

use super::learned::Prepared;
use super::signals::Strategy;

/// Nanoseconds per bar of each rule's work: medians measured by the `cost_model` bench on this
/// machine kind (2026-12-03, load 1.2-1.8; each family at small and large windows, which agreed
/// within the run-to-run spread except momentum, 12.5-16.0, where fewer position changes at long
/// lookbacks mean fewer mispredicted branches: the model takes the middle).
mod ns {
    pub(super) const MOMENTUM: f64 = 14.2;
    pub(super) const MOMENTUM_RETURN: f64 = 2.9;
    pub(super) const SMA_CROSSOVER: f64 = 2.5;
    pub(super) const MEAN_REVERSION: f64 = 12.6;
    pub(super) const RSI: f64 = 8.5;
    pub(super) const NEURAL: f64 = 1.9;
    /// Added to the family's rule.
    pub(super) const META_FILTER: f64 = 3.0;
    /// Added to the family's rule.
    pub(super) const POLICY: f64 = 11.3;
}

/// Nanoseconds per bar of `strategy`'s rule, with the rule of `model` if any.
pub fn ns_per_bar(strategy: &Strategy, model: Option<&Prepared>) -> f64 {
    let rule = match *strategy {
        Strategy::Momentum { .. } => ns::MOMENTUM,
        Strategy::MomentumReturn { .. } => ns::MOMENTUM_RETURN,
        Strategy::SmaCrossover { .. } => ns::SMA_CROSSOVER,
        Strategy::MeanReversion { .. } => ns::MEAN_REVERSION,
        Strategy::Rsi { .. } => ns::RSI,
        Strategy::Neural { .. } => ns::NEURAL,
    };
    let artifact = match model {
        Some(Prepared::MetaFilter { .. }) => ns::META_FILTER,
        Some(Prepared::Policy { .. }) => ns::POLICY,
        Some(Prepared::Direction { .. }) | None => 0.0,
    };
    rule + artifact
}

/// `execution_time`: milliseconds per 1,000 bars (`ns_per_bar * 1e3 / 1e6`).
pub fn execution_time(strategy: &Strategy, model: Option<&Prepared>) -> f64 {
    ns_per_bar(strategy, model) * 1e-3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_parameter_changes_a_rules_cost() {
        let rsi = |period| Strategy::Rsi {
            period,
            lower: 30.0,
            upper: 70.0,
        };
        assert_eq!(
            execution_time(&rsi(2), None),
            execution_time(&rsi(100), None)
        );
        let sma = |fast, slow| Strategy::SmaCrossover { fast, slow };
        assert_eq!(
            execution_time(&sma(10, 20), None),
            execution_time(&sma(200, 500), None)
        );
        assert!(
            execution_time(&sma(10, 20), None) != execution_time(&rsi(14), None),
            "families differ"
        );
    }

    #[test]
    fn an_artifact_rule_adds_its_work() {
        let s = Strategy::Momentum {
            lookback: 20,
            threshold: 0.5,
        };
        let filter = Prepared::MetaFilter {
            p_long: vec![],
            p_short: vec![],
            approve: 0.5,
        };
        assert!(execution_time(&s, Some(&filter)) > execution_time(&s, None));
        // Milliseconds per 1,000 bars: a few microseconds.
        assert!((0.001..0.1).contains(&execution_time(&s, None)));
    }
}
