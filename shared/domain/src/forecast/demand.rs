//! Demand: new subscriptions per tool per week, forecast by exponential smoothing
//! ([`super::ets`]) with 95% intervals, and the error of one-week-ahead forecasts refitted on
//! each past week's history.
//!
//! Weeks end at the forecast's time: the last observed week is `[now - 7 days, now)` and the
//! history starts at the first whole week after the tool was listed. Counts cannot be negative,
//! so points and bounds are clipped at zero.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ForecastStatus, Z, ets, mape};
use crate::period::period_start;

/// Weeks of history below which a tool gets no demand forecast.
pub const REQUIRED_WEEKS: usize = 8;
/// Weeks a backtest fit uses at least.
pub const MIN_TRAIN_WEEKS: usize = 6;
/// Tools forecast at most (the most subscribed first).
pub const MAX_TOOLS: usize = 20;
/// Weeks of observed history returned with each tool (for charts) and backtested at most.
pub const HISTORY_WEEKS_SHOWN: usize = 52;
/// Weeks the model is fitted on at most (the latest ones).
pub const MAX_FIT_WEEKS: usize = 104;

/// A tool and when each of its subscriptions was created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolHistory {
    /// The tool.
    pub tool_id: Uuid,
    /// Its name.
    pub tool_name: String,
    /// When it was listed.
    pub listed_at: DateTime<Utc>,
    /// Creation times of its subscriptions.
    pub subscribed_at: Vec<DateTime<Utc>>,
}

/// New subscriptions observed in one week.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WeekCount {
    /// Start of the week.
    pub start: DateTime<Utc>,
    /// New subscriptions.
    pub count: i64,
}

/// One forecast week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DemandWeek {
    /// Start of the week.
    pub start: DateTime<Utc>,
    /// End of the week.
    pub end: DateTime<Utc>,
    /// Expected new subscriptions.
    pub point: f64,
    /// Lower bound of the 95% prediction interval.
    pub lower: f64,
    /// Upper bound of the 95% prediction interval.
    pub upper: f64,
}

/// How far to trust a demand forecast.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DemandAccuracy {
    /// Mean absolute percentage error of the one-week-ahead backtest, over weeks with new
    /// subscriptions (absent when there were none).
    pub mape: Option<f64>,
    /// Mean absolute error (subscriptions per week) over every backtested week.
    pub mae: f64,
    /// Weeks backtested.
    pub weeks: usize,
    /// Share of backtested weeks whose count fell inside the interval.
    pub coverage: f64,
}

/// One tool's demand.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ToolDemand {
    /// The tool.
    pub tool_id: Uuid,
    /// Its name.
    pub tool_name: String,
    /// `ok`, or `insufficient_history` (then `weeks` is empty).
    pub status: ForecastStatus,
    /// Whole weeks since the tool was listed.
    pub history_weeks: usize,
    /// Weeks of history needed.
    pub required_weeks: usize,
    /// The model chosen (`ETS(A,N,N)`, `ETS(A,A,N)` or `ETS(A,Ad,N)`).
    pub model: Option<String>,
    /// Observed weekly counts, the last 52 weeks at most, oldest first.
    pub history: Vec<WeekCount>,
    /// Forecast weeks, first one starting now.
    pub weeks: Vec<DemandWeek>,
    /// The backtested error.
    pub accuracy: Option<DemandAccuracy>,
}

/// New subscriptions per tool per week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DemandForecast {
    /// Weeks forecast (the whole weeks covering the horizon's months).
    pub horizon_weeks: usize,
    /// The tools, most subscribed first (20 at most).
    pub tools: Vec<ToolDemand>,
}

/// Whole weeks ending at `now` since `listed_at`, with the subscriptions created in each.
pub fn weekly_counts(
    listed_at: DateTime<Utc>,
    subscribed_at: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Vec<WeekCount> {
    let week = TimeDelta::weeks(1);
    let n = ((now - listed_at).num_seconds() / week.num_seconds()).max(0);
    (0..n)
        .map(|i| {
            let start = now - week * i32::try_from(n - i).unwrap_or(i32::MAX);
            let end = start + week;
            WeekCount {
                start,
                count: subscribed_at
                    .iter()
                    .filter(|t| start <= **t && **t < end)
                    .count() as i64,
            }
        })
        .collect()
}

/// Whole weeks covering `horizon_months` months from `now`.
pub fn horizon_weeks(now: DateTime<Utc>, horizon_months: u32) -> usize {
    let days = (period_start(now, horizon_months) - now).num_days().max(0);
    usize::try_from((days + 6) / 7).unwrap_or(0)
}

/// One tool's forecast `horizon` weeks ahead.
pub fn forecast_tool(tool: &ToolHistory, now: DateTime<Utc>, horizon: usize) -> ToolDemand {
    let counts = weekly_counts(tool.listed_at, &tool.subscribed_at, now);
    let all: Vec<f64> = counts.iter().map(|c| c.count as f64).collect();
    let y = &all[all.len().saturating_sub(MAX_FIT_WEEKS)..];
    let mut out = ToolDemand {
        tool_id: tool.tool_id,
        tool_name: tool.tool_name.clone(),
        status: ForecastStatus::InsufficientHistory,
        history_weeks: all.len(),
        required_weeks: REQUIRED_WEEKS,
        model: None,
        history: counts[counts.len().saturating_sub(HISTORY_WEEKS_SHOWN)..].to_vec(),
        weeks: Vec::new(),
        accuracy: None,
    };
    if all.len() < REQUIRED_WEEKS {
        return out;
    }
    let Some(fit) = ets::fit(y) else {
        return out;
    };
    let week = TimeDelta::weeks(1);
    out.weeks = fit
        .forecast(horizon)
        .into_iter()
        .enumerate()
        .map(|(i, (mean, sd))| {
            let start = now + week * i32::try_from(i).unwrap_or(i32::MAX);
            DemandWeek {
                start,
                end: start + week,
                point: mean.max(0.0),
                lower: (mean - Z * sd).max(0.0),
                upper: (mean + Z * sd).max(0.0),
            }
        })
        .collect();
    let backtest = ets::backtest(
        y,
        MIN_TRAIN_WEEKS.max(y.len().saturating_sub(HISTORY_WEEKS_SHOWN)),
    );
    let weeks = backtest.len();
    let inside = backtest
        .iter()
        .filter(|(m, sd, a)| (m - Z * sd).max(0.0) <= *a && *a <= m + Z * sd)
        .count();
    out.accuracy = Some(DemandAccuracy {
        mape: mape(backtest.iter().map(|(m, _, a)| (m.max(0.0), *a))),
        mae: backtest
            .iter()
            .map(|(m, _, a)| (m.max(0.0) - a).abs())
            .sum::<f64>()
            / weeks.max(1) as f64,
        weeks,
        coverage: inside as f64 / weeks.max(1) as f64,
    });
    out.model = Some(fit.kind.as_str().to_owned());
    out.status = ForecastStatus::Ok;
    out
}

/// The tools forecast, most subscribed first (ties by name, then id), at most [`MAX_TOOLS`].
fn ranked(tools: &[ToolHistory]) -> impl Iterator<Item = &ToolHistory> {
    let mut ranked: Vec<&ToolHistory> = tools.iter().collect();
    ranked.sort_by(|a, b| {
        b.subscribed_at
            .len()
            .cmp(&a.subscribed_at.len())
            .then_with(|| a.tool_name.cmp(&b.tool_name))
            .then_with(|| a.tool_id.cmp(&b.tool_id))
    });
    ranked.into_iter().take(MAX_TOOLS)
}

/// Every tool's forecast for `horizon_months` months (in whole weeks), most subscribed first.
pub fn forecast_demand(
    tools: &[ToolHistory],
    now: DateTime<Utc>,
    horizon_months: u32,
) -> DemandForecast {
    let horizon = horizon_weeks(now, horizon_months);
    DemandForecast {
        horizon_weeks: horizon,
        tools: ranked(tools)
            .map(|t| forecast_tool(t, now, horizon))
            .collect(),
    }
}

/// The one tool's entry of [`forecast_demand`] (its model alone fitted), or `None` when the
/// tool is not among those it forecasts.
pub fn forecast_demand_of(
    tools: &[ToolHistory],
    tool_id: Uuid,
    now: DateTime<Utc>,
    horizon_months: u32,
) -> Option<ToolDemand> {
    ranked(tools)
        .find(|t| t.tool_id == tool_id)
        .map(|t| forecast_tool(t, now, horizon_weeks(now, horizon_months)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::t;

    fn tool(listed: &str, subs: Vec<DateTime<Utc>>) -> ToolHistory {
        ToolHistory {
            tool_id: Uuid::nil(),
            tool_name: "sma".into(),
            listed_at: t(listed),
            subscribed_at: subs,
        }
    }

    #[test]
    fn weeks_end_now_and_count_each_subscription_once() {
        let now = t("2027-03-01T00:00:00Z");
        let subs = [
            t("2027-02-21T00:00:00Z"),
            t("2027-02-28T23:00:00Z"),
            t("2027-02-22T00:00:00Z"),
        ];
        // Listed 17 days ago: two whole weeks, [Feb 15, Feb 22) and [Feb 22, Mar 1).
        let w = weekly_counts(t("2027-02-12T00:00:00Z"), &subs, now);
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].start, w[0].count), (t("2027-02-15T00:00:00Z"), 1));
        assert_eq!((w[1].start, w[1].count), (t("2027-02-22T00:00:00Z"), 2));
        assert_eq!(horizon_weeks(now, 3), 14, "92 days round up to 14 weeks");
    }

    #[test]
    fn too_little_history_says_so() {
        let now = t("2027-03-01T00:00:00Z");
        let d = forecast_tool(&tool("2027-01-20T00:00:00Z", vec![]), now, 4);
        assert_eq!(d.status, ForecastStatus::InsufficientHistory);
        assert_eq!((d.history_weeks, d.required_weeks), (5, REQUIRED_WEEKS));
        assert!(d.weeks.is_empty() && d.accuracy.is_none());
    }

    #[test]
    fn steady_demand_is_forecast_with_its_backtest() {
        let now = t("2027-06-01T00:00:00Z");
        // Two subscriptions in each of the last 12 weeks.
        let subs: Vec<_> = (1..=12)
            .flat_map(|w| {
                [
                    now - TimeDelta::weeks(w) + TimeDelta::hours(1),
                    now - TimeDelta::weeks(w) + TimeDelta::days(3),
                ]
            })
            .collect();
        let d = forecast_tool(&tool("2027-03-09T00:00:00Z", subs), now, 3);
        assert_eq!(d.status, ForecastStatus::Ok);
        assert_eq!(d.history_weeks, 12);
        assert_eq!(d.weeks.len(), 3);
        for w in &d.weeks {
            assert!(
                (w.point - 2.0).abs() < 1e-6,
                "steady two a week, got {}",
                w.point
            );
            assert!(w.lower <= w.point && w.point <= w.upper);
        }
        let a = d.accuracy.expect("backtested");
        assert_eq!(a.weeks, 12 - MIN_TRAIN_WEEKS);
        assert!(a.mape.is_some_and(|m| m < 1e-6) && a.mae < 1e-6);
    }

    #[test]
    fn one_tools_demand_is_its_entry_of_the_whole_and_only_for_tools_it_forecasts() {
        let now = t("2027-06-01T00:00:00Z");
        // MAX_TOOLS + 1 tools: tool k has k + 1 subscriptions, one a week.
        let tools: Vec<ToolHistory> = (0..=MAX_TOOLS)
            .map(|k| ToolHistory {
                tool_id: Uuid::from_u128(k as u128 + 1),
                ..tool(
                    "2027-01-05T00:00:00Z",
                    (1..=k + 1)
                        .map(|w| now - TimeDelta::weeks(w as i64) + TimeDelta::hours(1))
                        .collect(),
                )
            })
            .collect();
        let whole = forecast_demand(&tools, now, 3);
        for entry in &whole.tools {
            assert_eq!(
                forecast_demand_of(&tools, entry.tool_id, now, 3).as_ref(),
                Some(entry)
            );
        }
        // The least subscribed tool is past MAX_TOOLS: neither forecasts it.
        let last = Uuid::from_u128(1);
        assert!(whole.tools.iter().all(|d| d.tool_id != last));
        assert_eq!(forecast_demand_of(&tools, last, now, 3), None);
    }
}
