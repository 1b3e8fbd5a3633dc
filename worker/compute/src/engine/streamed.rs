//! One pass instead of two: for a family whose signal is a stream ([`SmaStream`]), the backtest
//! pulls each bar's target as it trades, so the targets are never written to memory and read
//! back, and the signal's rolling sums and the account's running sums advance in the same loop.
//! The same arithmetic in the same order as computing the targets first: the metrics are the
//! same bit for bit (tested against the two-pass path in `tests`).

use std::ops::Range;

use domain::Metrics;
use domain::dataset::Bars;

use super::backtest::{self, BacktestConfig};
use super::signals::{SmaStream, Strategy};

/// The metrics of `strategy` over `ranges` (each cut at `end`), when its signal is streamed and
/// the ranges come in increasing, non-overlapping order (a stream only moves forward); `None`
/// otherwise, for the caller to compute the targets first.
pub(crate) fn metrics(
    bars: &Bars,
    strategy: &Strategy,
    ranges: &[Range<usize>],
    end: usize,
    cfg: &BacktestConfig,
) -> Option<Vec<Metrics>> {
    let &Strategy::SmaCrossover { fast, slow } = strategy else {
        return None;
    };
    let increasing = ranges.windows(2).all(|w| w[1].start >= w[0].end.min(end));
    if !increasing {
        return None;
    }
    let mut stream = SmaStream::new(&bars.close[..end], fast, slow);
    Some(
        ranges
            .iter()
            .map(|r| backtest::metrics_of(bars, &mut stream, r.start..r.end.min(end), cfg))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use domain::dataset::synth::{GeneratorSpec, generate};
    use domain::evaluation::EvalConfig;
    use serde_json::json;

    use super::super::{Evaluator, Strategy};

    fn bars(n: usize, seed: u64) -> Bars {
        let spec: GeneratorSpec =
            serde_json::from_value(json!({"kind": "regime_switching", "bars": n, "seed": seed}))
                .expect("spec");
        generate(&spec).expect("bars")
    }

    use super::*;

    #[test]
    fn streamed_metrics_are_those_of_the_targets_computed_first_bit_for_bit() {
        // Arrange
        let bars = bars(3_000, 7);
        let config = EvalConfig {
            slippage: 0.0005,
            ..EvalConfig::default()
        };
        let range_sets: [Vec<Range<usize>>; 4] = [
            std::iter::once(0..3_000).collect(),
            std::iter::once(0..1).collect(),
            vec![5..700, 700..1_400, 1_400..2_100],
            vec![100..101, 101..900, 1_000..2_500, 2_900..4_000],
        ];
        for (fast, slow) in [(10, 20), (2, 3), (7, 31), (40, 12), (1, 100), (50, 120)] {
            let strategy = Strategy::SmaCrossover { fast, slow };
            for ranges in &range_sets {
                // Act
                let mut plain = Evaluator::new(&bars, config).expect("config");
                let streamed = plain.metrics(&strategy, ranges).expect("metrics");
                let two_pass = plain.metrics_from_targets(&strategy, ranges);

                // Assert
                assert_eq!(
                    streamed, two_pass,
                    "({fast}, {slow}) on {ranges:?}: one pass = two"
                );
            }
        }
    }
}
