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
mod evaluation;
pub mod excess;
pub mod learned;
mod metrics;
pub mod policy;
pub mod signals;
mod streamed;

use std::ops::Range;

use domain::Metrics;
use domain::dataset::Bars;

pub use backtest::{BacktestConfig, BacktestRun, Costs, Trade};
pub use domain::evaluation::{
    ConfigError, EvalConfig, Fold, FoldScheme, FoldSpec, MAX_FOLDS, MIN_FOLD_BARS,
};
pub use evaluation::{Evaluation, FoldReport, RangeReport, Timing, evaluate};
pub use excess::ExcessStats;
pub use learned::Prepared;
pub use signals::{Position, Scratch, Strategy};

/// Revision of the engine's rules (fills, costs, metrics, folds): a promotion certificate names
/// it, so a verification under another revision knows its metrics may legitimately differ.
pub const ENGINE_VERSION: u32 = 2;

/// Why an evaluation cannot run: the caller's input, never a transient failure; or its
/// [`Stop`](crate::Stop) signal was raised.
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
    /// modeled `execution_time`: the optimizer's inner loop, allocation-free after the first call
    /// but for the returned `Vec`. A family with a streamed signal (see `engine::streamed`) is computed
    /// in one pass with its trading when the ranges come in increasing order.
    ///
    /// # Errors
    /// [`EngineError::TooFewBars`].
    pub fn metrics(
        &mut self,
        strategy: &Strategy,
        ranges: &[Range<usize>],
    ) -> Result<Vec<Metrics>, EngineError> {
        self.check_length(strategy)?;
        let end = self.end_of(ranges);
        let cfg = self.backtest_config(true);
        let streamed = match self.model {
            None => streamed::metrics(self.bars, strategy, ranges, end, &cfg),
            Some(_) => None,
        };
        let Some(mut metrics) = streamed else {
            return Ok(self.metrics_from_targets(strategy, ranges));
        };
        let execution_time = cost::execution_time(strategy, self.model);
        for m in &mut metrics {
            m.execution_time = execution_time;
        }
        Ok(metrics)
    }

    /// One past the last bar any of `ranges` reads.
    fn end_of(&self, ranges: &[Range<usize>]) -> usize {
        ranges
            .iter()
            .map(|r| r.end)
            .max()
            .unwrap_or(0)
            .min(self.bars.len())
    }

    /// [`Evaluator::metrics`] from targets computed first (left in `self.targets`).
    fn metrics_from_targets(
        &mut self,
        strategy: &Strategy,
        ranges: &[Range<usize>],
    ) -> Vec<Metrics> {
        let end = self.end_of(ranges);
        self.compute_targets(strategy, end);
        let cfg = self.backtest_config(true);
        let execution_time = cost::execution_time(strategy, self.model);
        ranges
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
            .collect()
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
        self.check_length(strategy)?;
        // The excess returns read the targets: computed first, not streamed.
        let metrics = self.metrics_from_targets(strategy, ranges);
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
}
