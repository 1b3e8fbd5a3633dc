//! Charts over time: each queue's depth (operators), a creator's earnings per tool and month,
//! and a tool's subscribers per month (its creator). Each is drawn from what the JSON route of
//! the same data answers, called as the same caller, so it shows exactly what that route shows
//! to exactly whom it shows it.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use chrono::{NaiveDate, TimeZone, Utc};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::image::{DepthChart, EarningsChart, SubscribersChart, image};
use crate::auth::{AccountCaller, AdminCaller};
use crate::error::ApiResult;
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::fleet::{HistoryQuery, queue_history};
use crate::routes::stats::{creator_stats, tool_analytics};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(queue_depth_plot))
        .routes(routes!(earnings_plot))
        .routes(routes!(subscribers_plot))
}

/// Unix seconds of a `YYYY-MM` month's first day (UTC); `None` for anything else.
pub(crate) fn month_start(month: &str) -> Option<i64> {
    let (year, month) = month.split_once('-')?;
    let day = NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)?;
    Some(
        Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0)?)
            .timestamp(),
    )
}

fn draw(title: &str, y_label: &str, lines: &BTreeMap<String, Vec<charts::TimePoint>>) -> String {
    let series: Vec<charts::TimeSeries<'_>> = lines
        .iter()
        .map(|(label, points)| charts::TimeSeries { label, points })
        .collect();
    charts::time_lines(title, y_label, &series)
}

/// Each queue's waiting jobs over time (and its running jobs, for queues that ran any), as
/// sampled by the scheduler (operators: the admin key, or its dashboard sign-in).
#[utoipa::path(get, path = "/v1/admin/queues/plots/{chart}", tag = "plots",
    security(("admin" = []), ("cookie" = [])),
    params(("chart" = inline(DepthChart), Path, description = "`depth.svg` or `depth.png`"), HistoryQuery),
    responses((status = 200, description = "The chart", content((String = "image/svg+xml"), (String = "image/png"))),
        (status = 422, body = crate::error::Problem)))]
pub(crate) async fn queue_depth_plot(
    state: State<AppState>,
    admin: AdminCaller,
    ApiPath(chart): ApiPath<DepthChart>,
    query: ApiQuery<HistoryQuery>,
) -> ApiResult<Response> {
    let history = queue_history(state, admin, query).await?.0;
    let mut lines: BTreeMap<String, Vec<charts::TimePoint>> = BTreeMap::new();
    let mut ran: BTreeMap<String, bool> = BTreeMap::new();
    for s in &history.samples {
        let t = s.at.timestamp();
        let (queued, running) = (s.queued as f64, s.running as f64);
        lines
            .entry(format!("{} waiting", s.queue))
            .or_default()
            .push((t, queued));
        lines
            .entry(format!("{} running", s.queue))
            .or_default()
            .push((t, running));
        *ran.entry(s.queue.clone()).or_default() |= s.running > 0;
    }
    lines.retain(|label, _| {
        label
            .strip_suffix(" running")
            .is_none_or(|queue| ran.get(queue).copied().unwrap_or(false))
    });
    image(chart, draw("Queue depth", "jobs", &lines)).await
}

/// The caller's earnings per tool and month (their share of every charge, net of refunds),
/// in the marketplace's currency.
#[utoipa::path(get, path = "/v1/creators/me/plots/{chart}", tag = "plots",
    security(("bearer" = []), ("cookie" = [])),
    params(("chart" = inline(EarningsChart), Path, description = "`earnings.svg` or `earnings.png`")),
    responses((status = 200, description = "The chart", content((String = "image/svg+xml"), (String = "image/png")))))]
pub(crate) async fn earnings_plot(
    state: State<AppState>,
    caller: AccountCaller,
    ApiPath(chart): ApiPath<EarningsChart>,
) -> ApiResult<Response> {
    let stats = creator_stats(state, caller).await?.0;
    let mut lines: BTreeMap<String, Vec<charts::TimePoint>> = BTreeMap::new();
    for e in &stats.earnings_by_tool_and_month {
        if let Some(t) = month_start(&e.month) {
            let amount = e.amount.cents() as f64 / 100.0;
            lines
                .entry(e.tool_name.clone())
                .or_default()
                .push((t, amount));
        }
    }
    for points in lines.values_mut() {
        points.sort_by_key(|p| p.0);
    }
    image(chart, draw("Earnings per month", "earnings", &lines)).await
}

/// One of the caller's tools: subscribers live at each month's end, started and ended in it.
#[utoipa::path(get, path = "/v1/tools/{id}/plots/{chart}", tag = "plots",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "tool id"),
        ("chart" = inline(SubscribersChart), Path, description = "`subscribers.svg` or `subscribers.png`")),
    responses((status = 200, description = "The chart", content((String = "image/svg+xml"), (String = "image/png"))),
        (status = 404, body = crate::error::Problem)))]
pub(crate) async fn subscribers_plot(
    state: State<AppState>,
    caller: AccountCaller,
    ApiPath((id, chart)): ApiPath<(Uuid, SubscribersChart)>,
) -> ApiResult<Response> {
    let analytics = tool_analytics(state, caller, ApiPath(id)).await?.0;
    let mut lines: BTreeMap<String, Vec<charts::TimePoint>> = BTreeMap::new();
    for m in &analytics.subscribers_over_time {
        let Some(t) = month_start(&m.month) else {
            continue;
        };
        for (label, n) in [("live", m.live), ("started", m.started), ("ended", m.ended)] {
            lines
                .entry(label.to_owned())
                .or_default()
                .push((t, n as f64));
        }
    }
    image(
        chart,
        draw("Subscribers per month", "subscriptions", &lines),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_start_on_their_first_day_in_utc() {
        assert_eq!(month_start("2026-01"), Some(1_767_225_600));
        assert_eq!(month_start("2024-02"), Some(1_706_745_600));
        for bad in ["2026-13", "2026", "x-01", "", "2026-00"] {
            assert_eq!(month_start(bad), None, "{bad}");
        }
    }
}
