//! What the revenue forecast answers (see [`super::revenue`] for how it is computed).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ForecastStatus;
use super::revenue::{MIN_BACKTEST_MONTHS, MonthSum, REQUIRED_MONTHS, RenewalRates};
use crate::Money;

/// One forecast month: `[start, end)`, a calendar month anchored on the forecast's time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RevenueMonth {
    /// Start of the month.
    pub start: DateTime<Utc>,
    /// End of the month.
    pub end: DateTime<Utc>,
    /// Renewal charges billing would make in the month if every subscription renewed.
    pub scheduled_renewals: i64,
    /// Their amount.
    #[schema(value_type = f64)]
    pub scheduled: Money,
    /// Expected number of renewal charges.
    pub expected_renewals: f64,
    /// Expected renewal charges (point forecast).
    #[schema(value_type = f64)]
    pub point: Money,
    /// Lower bound of the 95% prediction interval.
    #[schema(value_type = f64)]
    pub lower: Money,
    /// Upper bound of the 95% prediction interval.
    #[schema(value_type = f64)]
    pub upper: Money,
}

impl RevenueMonth {
    pub(crate) fn from_sum(
        m: &MonthSum,
        (start, end): (DateTime<Utc>, DateTime<Utc>),
        rates: &RenewalRates,
    ) -> Self {
        let (point, lower, upper) = m.interval(rates);
        Self {
            start,
            end,
            scheduled_renewals: m.scheduled,
            scheduled: Money::from_cents(m.scheduled_cents),
            expected_renewals: m.expected_count,
            point: Money::from_cents(point),
            lower: Money::from_cents(lower),
            upper: Money::from_cents(upper),
        }
    }
}

/// A past month forecast one month ahead with what was known at its start, and what happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevenueBacktest {
    /// Start of the month.
    pub start: DateTime<Utc>,
    /// End of the month.
    pub end: DateTime<Utc>,
    /// The forecast then.
    #[schema(value_type = f64)]
    pub point: Money,
    /// Its lower bound.
    #[schema(value_type = f64)]
    pub lower: Money,
    /// Its upper bound.
    #[schema(value_type = f64)]
    pub upper: Money,
    /// Renewal charges actually booked in the month.
    #[schema(value_type = f64)]
    pub actual: Money,
}

/// How far to trust the revenue forecast.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RevenueAccuracy {
    /// Mean absolute percentage error of the one-month-ahead backtest (months with renewal
    /// charges only; absent when there were none).
    pub mape: Option<f64>,
    /// Months backtested.
    pub months: usize,
    /// Share of backtested months whose actual fell inside the interval.
    pub coverage: f64,
    /// The backtest, oldest month first.
    pub backtest: Vec<RevenueBacktest>,
}

/// Renewal revenue by month.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RevenueForecast {
    /// `ok`, or `insufficient_history` (then `months` is empty and `detail` says what is needed).
    pub status: ForecastStatus,
    /// Whole months since the first subscription in scope.
    pub history_months: u32,
    /// Months of history needed (with renewals in at least two of the past months).
    pub required_months: u32,
    /// Why there is no forecast.
    pub detail: Option<String>,
    /// The renewal outcomes observed and their rates.
    pub rates: Option<RenewalRates>,
    /// Forecast months, first one starting now.
    pub months: Vec<RevenueMonth>,
    /// The backtested error.
    pub accuracy: Option<RevenueAccuracy>,
}

impl RevenueForecast {
    pub(crate) fn insufficient(history_months: u32, usable: usize) -> Self {
        Self {
            status: ForecastStatus::InsufficientHistory,
            history_months,
            required_months: REQUIRED_MONTHS,
            detail: Some(format!(
                "a revenue forecast needs {REQUIRED_MONTHS} months of history with renewal charges \
                 in at least {MIN_BACKTEST_MONTHS} past months to backtest it; there are \
                 {history_months}, with renewal charges in {usable}"
            )),
            rates: None,
            months: Vec::new(),
            accuracy: None,
        }
    }
}
