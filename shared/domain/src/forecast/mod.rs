//! Revenue and demand forecasts: pure functions from plain history (subscriptions with their
//! charges and failed renewals, new subscriptions per tool) to forecasts with 95% prediction
//! intervals and their backtested error. The store gathers the inputs; the API serves the answer.
//!
//! - [`revenue`]: the renewal schedule billing will follow ([`crate::Subscription::next_charge`]
//!   and the anchored periods), each renewal weighted by its probability from the observed
//!   churn, failure and recovery rates; intervals from a normal approximation of the sum of
//!   Bernoulli renewals plus the uncertainty of the rates (delta method).
//! - [`demand`]: new subscriptions per tool per week from an exponential-smoothing model
//!   ([`ets`]: simple, Holt or damped Holt, chosen by AICc) with its closed-form intervals.
//!
//! Each forecast reports the error of the forecasts it would have made in the past (one step
//! ahead, refitted on the history available then), and says `insufficient_history` rather than
//! inventing a number when too little has happened.

pub mod demand;
pub mod ets;
pub mod revenue;
mod revenue_view;

use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use demand::{DemandForecast, ToolDemand, ToolHistory};
pub use revenue::{RevenueForecast, SubscriptionHistory};

/// The horizons (months) a forecast may be asked for.
pub const HORIZONS: [u32; 3] = [3, 6, 12];

/// Coverage of every prediction interval.
pub const LEVEL: f64 = 0.95;

/// The standard normal quantile of `(1 + LEVEL) / 2`.
pub(crate) const Z: f64 = 1.959_963_984_540_054;

/// Whether a forecast has numbers or says why not.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForecastStatus {
    /// Forecast and backtest computed.
    Ok,
    /// Too little history to fit or to backtest: no numbers are given.
    InsufficientHistory,
}

/// Whose forecast.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForecastScope {
    /// The caller's own tools.
    Creator,
    /// The whole marketplace (operators).
    Marketplace,
}

/// Everything a forecast is computed from.
#[derive(Clone, Debug, Default)]
pub struct ForecastInputs {
    /// Every subscription in scope, ended ones included, with its charges and failures.
    pub subscriptions: Vec<SubscriptionHistory>,
    /// The tools in scope with the times their subscriptions were created.
    pub tools: Vec<ToolHistory>,
}

/// `GET /v1/creators/me/forecast` and `GET /v1/stats/marketplace/forecast`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Forecast {
    /// Whose forecast.
    pub scope: ForecastScope,
    /// When it was computed (the start of the first forecast month).
    pub generated_at: DateTime<Utc>,
    /// Months ahead (3, 6 or 12).
    pub horizon_months: u32,
    /// Coverage of the prediction intervals (0.95).
    pub level: f64,
    /// Renewal revenue by month.
    pub revenue: RevenueForecast,
    /// New subscriptions per tool per week.
    pub demand: DemandForecast,
}

/// Computes both forecasts at `now` for `horizon_months` months.
pub fn forecast(
    inputs: &ForecastInputs,
    scope: ForecastScope,
    now: DateTime<Utc>,
    horizon_months: u32,
) -> Forecast {
    Forecast {
        scope,
        generated_at: now,
        horizon_months,
        level: LEVEL,
        revenue: revenue::forecast_revenue(&inputs.subscriptions, now, horizon_months),
        demand: demand::forecast_demand(&inputs.tools, now, horizon_months),
    }
}

/// Mean absolute percentage error (percent) of `(forecast, actual)` pairs, over the pairs whose
/// actual is positive (a percentage of zero is undefined); `None` when there are none.
pub fn mape(pairs: impl IntoIterator<Item = (f64, f64)>) -> Option<f64> {
    let (sum, n) = pairs
        .into_iter()
        .filter(|(_, a)| *a > 0.0)
        .fold((0.0, 0usize), |(s, n), (f, a)| {
            (s + (f - a).abs() / a, n + 1)
        });
    (n > 0).then(|| 100.0 * sum / n as f64)
}

/// Whole calendar months (anchored on `from`) from `from` to `to` (0 when `to` is earlier).
pub fn whole_months(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    crate::period::period_index_at(from, to)
}

/// `at` minus `k` months (clamping the day like the billing periods), or `None` before the
/// calendar's start.
pub(crate) fn months_before(at: DateTime<Utc>, k: u32) -> Option<DateTime<Utc>> {
    at.checked_sub_months(Months::new(k))
}

/// Half up to the cent, never negative.
pub(crate) fn cents(x: f64) -> i64 {
    if x.is_finite() && x > 0.0 {
        x.round() as i64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::t;

    #[test]
    fn mape_skips_zero_actuals_and_is_a_percentage() {
        // |90-100|/100 = 0.1, |30-20|/20 = 0.5 -> mean 0.3 -> 30%.
        let m = mape([(90.0, 100.0), (5.0, 0.0), (30.0, 20.0)]).expect("two usable pairs");
        assert!((m - 30.0).abs() < 1e-9, "{m}");
        assert_eq!(mape([(1.0, 0.0)]), None, "no positive actual, no MAPE");
    }

    #[test]
    fn whole_months_follow_the_anchored_calendar() {
        assert_eq!(
            whole_months(t("2027-01-31T00:00:00Z"), t("2027-02-28T00:00:00Z")),
            1
        );
        assert_eq!(
            whole_months(t("2027-01-31T00:00:00Z"), t("2027-02-27T00:00:00Z")),
            0
        );
        assert_eq!(
            whole_months(t("2027-03-01T00:00:00Z"), t("2027-01-01T00:00:00Z")),
            0
        );
        assert_eq!(cents(12.5), 13);
        assert_eq!(cents(-3.0), 0);
    }
}
