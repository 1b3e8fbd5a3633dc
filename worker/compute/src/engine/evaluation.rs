//! A full evaluation ([`Evaluator::evaluate`]): the whole series with its equity curve and
//! trades, the out-of-sample span and every fold, each a [`RangeReport`], with what computing
//! the signals cost ([`Timing`]).

use std::ops::Range;
use std::time::Instant;

use domain::Metrics;
use domain::dataset::Bars;
use serde::Serialize;
use utoipa::ToSchema;

use super::{EngineError, Evaluator, Strategy, Trade, backtest, cost};
use crate::Stop;

/// Metrics of one range of bars.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct RangeReport {
    /// First bar index.
    pub start_bar: usize,
    /// One past the last bar index.
    pub end_bar: usize,
    /// First bar's time, Unix seconds.
    pub start: i64,
    /// Last bar's time, Unix seconds.
    pub end: i64,
    /// The range's metrics.
    pub metrics: Metrics,
}

/// One walk-forward fold's metrics.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct FoldReport {
    /// In-sample range.
    pub in_sample: RangeReport,
    /// Out-of-sample range.
    pub out_of_sample: RangeReport,
    /// The fold's verdict: its out-of-sample metrics (the same as `out_of_sample.metrics`).
    pub metrics: Metrics,
}

/// A full evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Evaluation {
    /// The whole series, traded without closing the last trade (as backtesting.py).
    pub overall: RangeReport,
    /// The span of all out-of-sample windows traded as one range.
    pub out_of_sample: RangeReport,
    /// Every fold, each traded from a flat account and closed at its end.
    pub folds: Vec<FoldReport>,
    /// Equity at each close of the whole series.
    pub equity_curve: Vec<f64>,
    /// Closed trades of the whole series.
    pub trades: Vec<Trade>,
    /// The signal computation's cost: modeled (`execution_time`) and, for information, measured.
    pub timing: Timing,
}

/// What computing the signals cost.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Timing {
    /// `execution_time`: the deterministic cost model (see [`cost`]), ms per 1,000 bars.
    pub modeled_ms_per_1000_bars: f64,
    /// Wall-clock time of the same computation on this run, median of `repeats`, ms per
    /// 1,000 bars: shown to compare the model with the machine, never judged.
    pub measured_ms_per_1000_bars: f64,
    /// `(max - min) / median` of the measured repeats.
    pub measured_spread: f64,
    /// How many times it was measured.
    pub repeats: usize,
}

impl Evaluator<'_> {
    /// Wall-clock milliseconds per 1,000 bars to compute `strategy`'s targets (with the prepared
    /// artifact's rule, not its one-off preparation) over the whole series, median of the
    /// configured repeats, and the repeats' relative spread: information beside the modeled
    /// cost, never a metric. Leaves the targets in `self.targets`. Checks `stop` before each
    /// repeat.
    fn time_signals(
        &mut self,
        strategy: &Strategy,
        stop: Stop<'_>,
    ) -> Result<(f64, f64), EngineError> {
        let mut samples: Vec<f64> = (0..self.config.timing_repeats)
            .map(|_| {
                if stop.requested() {
                    return Err(EngineError::Stopped);
                }
                let started = Instant::now();
                self.compute_targets(strategy, self.bars.len());
                Ok(started.elapsed().as_secs_f64())
            })
            .collect::<Result<_, _>>()?;
        samples.sort_by(f64::total_cmp);
        let median = samples[samples.len() / 2];
        let spread = match (samples.first(), samples.last()) {
            (Some(lo), Some(hi)) if median > 0.0 => (hi - lo) / median,
            _ => 0.0,
        };
        Ok((median * 1e3 / (self.bars.len() as f64 / 1e3), spread))
    }

    fn report(&self, range: Range<usize>, metrics: Metrics) -> RangeReport {
        RangeReport {
            start: self.bars.time[range.start],
            end: self.bars.time[range.end - 1],
            start_bar: range.start,
            end_bar: range.end,
            metrics,
        }
    }

    /// The full evaluation of `strategy`: the whole series with its equity curve and trades,
    /// the out-of-sample span, and every fold.
    ///
    /// # Errors
    /// [`EngineError`] for a series too short for the tool or for the folds.
    pub fn evaluate(&mut self, strategy: &Strategy) -> Result<Evaluation, EngineError> {
        self.evaluate_until(strategy, Stop::NEVER)
    }

    /// [`Evaluator::evaluate`] that checks `stop` before each pass over the bars (each signal
    /// computation, each backtest of the series, the out-of-sample span and every fold's two
    /// ranges), so a raised stop ends it within one pass: at most 53 ms on 2,000,000 bars
    /// (BENCHMARKS.md, "Cancellation latency"). The passes themselves are not interrupted,
    /// which keeps the backtest's loop, and so the engine's benchmarks, free of checks.
    ///
    /// # Errors
    /// [`EngineError::Stopped`] when `stop` is raised; otherwise as [`Evaluator::evaluate`].
    pub fn evaluate_until(
        &mut self,
        strategy: &Strategy,
        stop: Stop<'_>,
    ) -> Result<Evaluation, EngineError> {
        let check = || {
            if stop.requested() {
                Err(EngineError::Stopped)
            } else {
                Ok(())
            }
        };
        self.check_length(strategy)?;
        let folds = self.folds()?;
        let (measured, measured_spread) = self.time_signals(strategy, stop)?;
        let execution_time = cost::execution_time(strategy, self.model);
        let timed = |mut m: Metrics| {
            m.execution_time = execution_time;
            m
        };
        let n = self.bars.len();
        check()?;
        let whole = backtest::run(
            self.bars,
            &self.targets,
            0..n,
            &self.backtest_config(false),
            true,
        );
        let closed = self.backtest_config(true);
        let oos_span = folds[0].out_of_sample.start..n;
        check()?;
        let oos = backtest::run(self.bars, &self.targets, oos_span.clone(), &closed, false);
        let fold_reports = folds
            .iter()
            .map(|f| {
                check()?;
                let is = backtest::run(
                    self.bars,
                    &self.targets,
                    f.in_sample.clone(),
                    &closed,
                    false,
                );
                check()?;
                let os = backtest::run(
                    self.bars,
                    &self.targets,
                    f.out_of_sample.clone(),
                    &closed,
                    false,
                );
                Ok(FoldReport {
                    in_sample: self.report(f.in_sample.clone(), timed(is.metrics)),
                    out_of_sample: self.report(f.out_of_sample.clone(), timed(os.metrics)),
                    metrics: timed(os.metrics),
                })
            })
            .collect::<Result<_, EngineError>>()?;
        Ok(Evaluation {
            overall: self.report(0..n, timed(whole.metrics)),
            out_of_sample: self.report(oos_span, timed(oos.metrics)),
            folds: fold_reports,
            equity_curve: whole.equity,
            trades: whole.trades,
            timing: Timing {
                modeled_ms_per_1000_bars: execution_time,
                measured_ms_per_1000_bars: measured,
                measured_spread,
                repeats: self.config.timing_repeats,
            },
        })
    }
}

/// Evaluates `strategy` on `bars` under `config` (see [`Evaluator::evaluate`]).
///
/// # Errors
/// [`EngineError`] for invalid settings or a series too short.
pub fn evaluate(
    bars: &Bars,
    strategy: &Strategy,
    config: super::EvalConfig,
) -> Result<Evaluation, EngineError> {
    Evaluator::new(bars, config)?.evaluate(strategy)
}
