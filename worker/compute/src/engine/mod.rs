//! The evaluation engine: pure computation, no I/O. A tool (a [`Strategy`]: family and
//! parameters) is evaluated on [`Bars`] by computing its target positions once over the series
//! ([`signals`]), trading them bar by bar ([`backtest`]) over the whole series and over every
//! walk-forward fold ([`FoldSpec`]), and summarizing each range in [`Metrics`].
//!
//! Same inputs, same output, bit for bit (`execution_time` included: it is a deterministic cost
//! model, see [`cost`]): every computation is sequential within an evaluation, and parallelism
//! (rayon) is only ever across independent evaluations.

pub mod backtest;
pub mod cost;
pub mod excess;
pub mod learned;
mod metrics;
pub mod policy;
pub mod signals;

use std::ops::Range;
use std::time::Instant;

use domain::Metrics;
use domain::dataset::Bars;
use serde::Serialize;
use utoipa::ToSchema;

use crate::Stop;

pub use backtest::{BacktestConfig, BacktestRun, Costs, Trade};
pub use domain::evaluation::{
    ConfigError, EvalConfig, Fold, FoldScheme, FoldSpec, MAX_FOLDS, MIN_FOLD_BARS,
};
pub use excess::ExcessStats;
pub use learned::Prepared;
pub use signals::{Position, Scratch, Strategy};

/// Revision of the engine's rules (fills, costs, metrics, folds): a promotion certificate names
/// it, so a verification under another revision knows its metrics may legitimately differ.
pub const ENGINE_VERSION: u32 = 2;

/// Why an evaluation cannot run: the caller's input, never a transient failure; or its
/// [`Stop`] signal was raised.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EngineError {
    /// The caller's stop signal was raised before the work was done.
    #[error("stopped before the end")]
    Stopped,
    /// No such family.
    #[error("unknown tool family {0}")]
    UnknownFamily(String),
    /// Parameters the family's schema refuses.
    #[error("invalid parameters: {0}")]
    InvalidParameters(String),
    /// A setting out of range.
    #[error("invalid {field}: {message}")]
    InvalidConfig {
        /// The setting.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The series is too short for the tool.
    #[error("the dataset has {bars} bars; this tool needs more than {needed}")]
    TooFewBars {
        /// Bars in the dataset.
        bars: usize,
        /// Bars of warm-up the tool needs.
        needed: usize,
    },
}

impl From<ConfigError> for EngineError {
    fn from(e: ConfigError) -> Self {
        EngineError::InvalidConfig {
            field: e.field,
            message: e.message,
        }
    }
}

fn costs(config: &EvalConfig) -> Costs {
    Costs {
        commission: config.commission,
        slippage: config.slippage,
    }
}

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

/// Evaluates strategies on one series, reusing its buffers between calls (an optimizer keeps one
/// per thread).
#[derive(Debug)]
pub struct Evaluator<'a> {
    bars: &'a Bars,
    config: EvalConfig,
    periods_per_year: f64,
    model: Option<&'a Prepared>,
    scratch: Scratch,
    signal: Vec<Position>,
    targets: Vec<Position>,
}

impl<'a> Evaluator<'a> {
    /// An evaluator of `bars` under `config`.
    ///
    /// # Errors
    /// [`EngineError::InvalidConfig`] for a bad setting.
    pub fn new(bars: &'a Bars, config: EvalConfig) -> Result<Self, EngineError> {
        config.validate()?;
        Ok(Self {
            bars,
            config,
            // One bar a day, trading days, when the timestamps say nothing (fewer than 2 bars).
            periods_per_year: bars.periods_per_year().unwrap_or(252.0),
            model: None,
            scratch: Scratch::default(),
            signal: Vec::new(),
            targets: Vec::new(),
        })
    }

    /// Evaluates with a learned artifact prepared for these bars (see [`learned`]).
    pub fn with_model(mut self, model: Option<&'a Prepared>) -> Self {
        self.model = model;
        self
    }

    /// Computes the targets over the first `end` bars into `self.targets`.
    fn compute_targets(&mut self, strategy: &Strategy, end: usize) {
        learned::targets(
            strategy,
            self.model,
            &self.bars.close[..end],
            &mut self.scratch,
            &mut self.signal,
            &mut self.targets,
        );
    }

    /// The bars.
    pub fn bars(&self) -> &'a Bars {
        self.bars
    }

    /// Bars per year, from the bars' spacing (252 when it says nothing).
    pub fn periods_per_year(&self) -> f64 {
        self.periods_per_year
    }

    /// The walk-forward folds of the series under this configuration.
    ///
    /// # Errors
    /// See [`FoldSpec::split`].
    pub fn folds(&self) -> Result<Vec<Fold>, EngineError> {
        Ok(self.config.folds.split(self.bars.len())?)
    }

    fn check_length(&self, strategy: &Strategy) -> Result<(), EngineError> {
        let needed = strategy.warmup() + 1;
        if self.bars.len() <= needed {
            return Err(EngineError::TooFewBars {
                bars: self.bars.len(),
                needed,
            });
        }
        Ok(())
    }

    fn backtest_config(&self, close_at_end: bool) -> BacktestConfig {
        BacktestConfig {
            costs: costs(&self.config),
            initial_cash: self.config.initial_cash,
            close_at_end,
            periods_per_year: self.periods_per_year,
        }
    }

    /// Metrics of `strategy` over each of `ranges` (trades closed at each range's end), with the
    /// modeled `execution_time`: the optimizer's inner loop, allocation-free after the first call.
    ///
    /// # Errors
    /// [`EngineError::TooFewBars`].
    pub fn metrics(
        &mut self,
        strategy: &Strategy,
        ranges: &[Range<usize>],
    ) -> Result<Vec<Metrics>, EngineError> {
        self.check_length(strategy)?;
        let end = ranges
            .iter()
            .map(|r| r.end)
            .max()
            .unwrap_or(0)
            .min(self.bars.len());
        self.compute_targets(strategy, end);
        let cfg = self.backtest_config(true);
        let execution_time = cost::execution_time(strategy, self.model);
        Ok(ranges
            .iter()
            .map(|r| {
                let mut m = backtest::run(
                    self.bars,
                    &self.targets,
                    r.start..r.end.min(end),
                    &cfg,
                    false,
                )
                .metrics;
                m.execution_time = execution_time;
                m
            })
            .collect())
    }

    /// `strategy`'s targets over the whole series.
    ///
    /// # Errors
    /// [`EngineError::TooFewBars`].
    pub fn targets(&mut self, strategy: &Strategy) -> Result<Vec<Position>, EngineError> {
        self.check_length(strategy)?;
        self.compute_targets(strategy, self.bars.len());
        Ok(self.targets.clone())
    }

    /// [`Evaluator::metrics`] with the running sums of `strategy`'s excess returns over a
    /// baseline's `targets` (see [`excess`]) across the same ranges.
    ///
    /// # Errors
    /// [`EngineError::TooFewBars`].
    pub fn metrics_and_excess(
        &mut self,
        strategy: &Strategy,
        ranges: &[Range<usize>],
        baseline: &[Position],
    ) -> Result<(Vec<Metrics>, ExcessStats), EngineError> {
        let metrics = self.metrics(strategy, ranges)?;
        let stats = excess::stats(
            &self.bars.close,
            &self.targets,
            baseline,
            ranges,
            self.config.commission + self.config.slippage,
        );
        Ok((metrics, stats))
    }

    /// Every bar's excess return of `strategy` over a baseline's `targets` across `ranges`.
    ///
    /// # Errors
    /// [`EngineError::TooFewBars`].
    pub fn excess_returns(
        &mut self,
        strategy: &Strategy,
        ranges: &[Range<usize>],
        baseline: &[Position],
    ) -> Result<Vec<f64>, EngineError> {
        self.check_length(strategy)?;
        self.compute_targets(strategy, self.bars.len());
        let mut out = Vec::new();
        excess::for_each(
            &self.bars.close,
            &self.targets,
            baseline,
            ranges,
            self.config.commission + self.config.slippage,
            |x| out.push(x),
        );
        Ok(out)
    }

    /// Per-bar returns of `strategy`'s equity over `range`, traded from flat and closed at its
    /// end (what the deflated Sharpe ratio reads the shape of returns from).
    ///
    /// # Errors
    /// [`EngineError::TooFewBars`].
    pub fn returns(
        &mut self,
        strategy: &Strategy,
        range: Range<usize>,
    ) -> Result<Vec<f64>, EngineError> {
        self.check_length(strategy)?;
        let end = range.end.min(self.bars.len());
        self.compute_targets(strategy, end);
        let run = backtest::run(
            self.bars,
            &self.targets,
            range.start..end,
            &self.backtest_config(true),
            true,
        );
        let mut prev = self.config.initial_cash;
        Ok(run
            .equity
            .iter()
            .map(|&e| {
                let r = if prev > 0.0 { e / prev - 1.0 } else { 0.0 };
                prev = e;
                r
            })
            .collect())
    }

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
    config: EvalConfig,
) -> Result<Evaluation, EngineError> {
    Evaluator::new(bars, config)?.evaluate(strategy)
}
