//! Evaluation metrics: what a backtest reports, and which direction is better for each.
//!
//! The worker's engine fills [`Metrics`]; the standards gate compares two of them metric by
//! metric, so every metric carries a [`Direction`]. Values are plain `f64` fractions (0.05 is
//! 5%), except `execution_time` (milliseconds per 1,000 bars), `num_trades` (a count) and the
//! ratios.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whether a larger or a smaller value of a metric is better.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Larger is better.
    Higher,
    /// Smaller is better.
    Lower,
}

/// Ratios whose denominator is zero (no losing trade, no downside return) are reported as this
/// cap instead of infinity, which JSON cannot carry.
pub const RATIO_CAP: f64 = 1_000.0;

/// The metrics of one backtest over one range of bars.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Metrics {
    /// Share of closed trades with a positive P&L after costs (0 with no closed trade).
    pub success_rate: f64,
    /// Milliseconds to compute the tool's signals per 1,000 bars, from a deterministic model of
    /// the work its family's rule does for its parameters (and its learned artifact), calibrated
    /// on this machine kind; reproducible like every other metric.
    pub execution_time: f64,
    /// Final equity over initial equity, minus one.
    pub total_return: f64,
    /// Compound annual growth rate over the range (years from the bar frequency).
    pub cagr: f64,
    /// Mean over standard deviation (sample) of per-bar equity returns, times sqrt(bars per year).
    pub sharpe: f64,
    /// Mean per-bar return over the downside deviation (root mean square of the negative
    /// returns), times sqrt(bars per year); capped at [`RATIO_CAP`].
    pub sortino: f64,
    /// Largest peak-to-trough fall of equity, as a positive fraction of the peak.
    pub max_drawdown: f64,
    /// Gross profit over gross loss of closed trades; capped at [`RATIO_CAP`], 0 with no profit.
    pub profit_factor: f64,
    /// Closed trades.
    pub num_trades: f64,
    /// Share of bars that end with a position open.
    pub exposure: f64,
    /// Return of holding the asset from the first bar's close to the last bar's close.
    pub buy_and_hold_return: f64,
}

/// A metric's name.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// See [`Metrics::success_rate`].
    SuccessRate,
    /// See [`Metrics::execution_time`].
    ExecutionTime,
    /// See [`Metrics::total_return`].
    TotalReturn,
    /// See [`Metrics::cagr`].
    Cagr,
    /// See [`Metrics::sharpe`].
    Sharpe,
    /// See [`Metrics::sortino`].
    Sortino,
    /// See [`Metrics::max_drawdown`].
    MaxDrawdown,
    /// See [`Metrics::profit_factor`].
    ProfitFactor,
    /// See [`Metrics::num_trades`].
    NumTrades,
    /// See [`Metrics::exposure`].
    Exposure,
    /// See [`Metrics::buy_and_hold_return`].
    BuyAndHoldReturn,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 11] = [
        Metric::SuccessRate,
        Metric::ExecutionTime,
        Metric::TotalReturn,
        Metric::Cagr,
        Metric::Sharpe,
        Metric::Sortino,
        Metric::MaxDrawdown,
        Metric::ProfitFactor,
        Metric::NumTrades,
        Metric::Exposure,
        Metric::BuyAndHoldReturn,
    ];

    /// The name as the API shows it.
    pub fn name(self) -> &'static str {
        match self {
            Metric::SuccessRate => "success_rate",
            Metric::ExecutionTime => "execution_time",
            Metric::TotalReturn => "total_return",
            Metric::Cagr => "cagr",
            Metric::Sharpe => "sharpe",
            Metric::Sortino => "sortino",
            Metric::MaxDrawdown => "max_drawdown",
            Metric::ProfitFactor => "profit_factor",
            Metric::NumTrades => "num_trades",
            Metric::Exposure => "exposure",
            Metric::BuyAndHoldReturn => "buy_and_hold_return",
        }
    }

    /// What it measures, in one line.
    pub fn description(self) -> &'static str {
        match self {
            Metric::SuccessRate => "share of closed trades with a positive P&L after costs",
            Metric::ExecutionTime => {
                "milliseconds to compute the signals per 1,000 bars (modeled work, calibrated)"
            }
            Metric::TotalReturn => "final equity over initial equity, minus one",
            Metric::Cagr => "compound annual growth rate",
            Metric::Sharpe => "annualized mean over standard deviation of per-bar returns",
            Metric::Sortino => "annualized mean per-bar return over the downside deviation",
            Metric::MaxDrawdown => "largest peak-to-trough fall of equity, fraction of the peak",
            Metric::ProfitFactor => "gross profit over gross loss of closed trades",
            Metric::NumTrades => "closed trades",
            Metric::Exposure => "share of bars ending with a position open",
            Metric::BuyAndHoldReturn => "return of holding the asset over the same bars",
        }
    }

    /// Whether it is a cost of running the tool (modeled work, not a trading outcome).
    pub fn is_cost(self) -> bool {
        matches!(self, Metric::ExecutionTime)
    }

    /// The metric called `name`.
    pub fn parse(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Which way is better. `num_trades` counts as higher-is-better (more evidence) and
    /// `exposure` as lower-is-better (less time at risk); both are informational and the
    /// standards gate weighs them zero by default. `buy_and_hold_return` describes the data,
    /// not the tool, and is the same for any two tools on the same range.
    pub fn direction(self) -> Direction {
        match self {
            Metric::ExecutionTime | Metric::MaxDrawdown | Metric::Exposure => Direction::Lower,
            _ => Direction::Higher,
        }
    }
}

impl Metrics {
    /// The value of `metric`.
    pub fn get(&self, metric: Metric) -> f64 {
        match metric {
            Metric::SuccessRate => self.success_rate,
            Metric::ExecutionTime => self.execution_time,
            Metric::TotalReturn => self.total_return,
            Metric::Cagr => self.cagr,
            Metric::Sharpe => self.sharpe,
            Metric::Sortino => self.sortino,
            Metric::MaxDrawdown => self.max_drawdown,
            Metric::ProfitFactor => self.profit_factor,
            Metric::NumTrades => self.num_trades,
            Metric::Exposure => self.exposure,
            Metric::BuyAndHoldReturn => self.buy_and_hold_return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_serialized_fields() {
        let json = serde_json::to_value(Metrics::default()).expect("serializes");
        let fields = json.as_object().expect("object");
        assert_eq!(fields.len(), Metric::ALL.len());
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.name()), Some(m));
            assert!(fields.contains_key(m.name()), "{} is a field", m.name());
            assert_eq!(
                serde_json::to_value(m).expect("serializes"),
                serde_json::json!(m.name())
            );
        }
    }

    #[test]
    fn get_reads_the_named_field() {
        let m = Metrics {
            sharpe: 1.5,
            max_drawdown: 0.2,
            ..Metrics::default()
        };
        assert_eq!(m.get(Metric::Sharpe), 1.5);
        assert_eq!(m.get(Metric::MaxDrawdown), 0.2);
        assert_eq!(Metric::MaxDrawdown.direction(), Direction::Lower);
        assert_eq!(Metric::SuccessRate.direction(), Direction::Higher);
    }
}
