//! Forecast charts, drawn from the same forecast the JSON routes answer, for the same callers:
//! renewal revenue by month (the creator's or the marketplace's) and one tool's new
//! subscriptions per week (its creator's).

use axum::extract::State;
use axum::response::Response;
use shared::domain::forecast::{ForecastStatus, RevenueForecast, demand, revenue};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{ForecastQuery, from_inputs, parse_horizon};
use crate::auth::{AccountCaller, AdminCaller};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::plots::{DemandForecastChart, RevenueForecastChart, image};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(creator_revenue_plot))
        .routes(routes!(marketplace_revenue_plot))
        .routes(routes!(tool_demand_plot))
}

/// The revenue part alone of the forecast (a chart of it fits no demand model).
async fn revenue_of(
    state: &AppState,
    creator: Option<Uuid>,
    horizon: u32,
) -> ApiResult<RevenueForecast> {
    from_inputs(state, creator, move |inputs, now| {
        revenue::forecast_revenue(&inputs.subscriptions, now, horizon)
    })
    .await
}

/// Renewal charges booked in each backtested month, then the forecast months with their
/// intervals (in the currency, not cents).
fn revenue_chart(r: &RevenueForecast, title: &str) -> String {
    let units = |m: shared::domain::Money| m.cents() as f64 / 100.0;
    let observed: Vec<charts::TimePoint> = r
        .accuracy
        .iter()
        .flat_map(|a| &a.backtest)
        .map(|b| (b.start.timestamp(), units(b.actual)))
        .collect();
    let ahead: Vec<charts::BandPoint> = r
        .months
        .iter()
        .map(|m| charts::BandPoint {
            at: m.start.timestamp(),
            point: units(m.point),
            lower: units(m.lower),
            upper: units(m.upper),
        })
        .collect();
    let band = if r.status == ForecastStatus::Ok {
        "95% interval"
    } else {
        "not enough history to forecast"
    };
    charts::forecast(title, "renewal charges", band, &observed, &ahead)
}

/// The caller's renewal revenue: the past 12 months' charges and the forecast with its 95%
/// interval (`?horizon=3|6|12`).
#[utoipa::path(get, path = "/v1/creators/me/forecast/plots/{chart}", tag = "plots",
    security(("bearer" = []), ("cookie" = [])),
    params(("chart" = inline(RevenueForecastChart), Path, description = "`revenue.svg` or `revenue.png`"), ForecastQuery),
    responses((status = 200, description = "The chart", content((String = "image/svg+xml"), (String = "image/png"))),
        (status = 400, body = crate::error::Problem), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub(crate) async fn creator_revenue_plot(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(chart): ApiPath<RevenueForecastChart>,
    ApiQuery(q): ApiQuery<ForecastQuery>,
) -> ApiResult<Response> {
    let horizon = parse_horizon(q.horizon.as_deref())?;
    let r = revenue_of(&state, Some(caller.id), horizon).await?;
    image(chart, revenue_chart(&r, "Your renewal revenue")).await
}

/// The marketplace's renewal revenue, as [`creator_revenue_plot`] (operators).
#[utoipa::path(get, path = "/v1/stats/marketplace/forecast/plots/{chart}", tag = "plots",
    security(("admin" = []), ("cookie" = [])),
    params(("chart" = inline(RevenueForecastChart), Path, description = "`revenue.svg` or `revenue.png`"), ForecastQuery),
    responses((status = 200, description = "The chart", content((String = "image/svg+xml"), (String = "image/png"))),
        (status = 400, body = crate::error::Problem), (status = 401, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub(crate) async fn marketplace_revenue_plot(
    _admin: AdminCaller,
    State(state): State<AppState>,
    ApiPath(chart): ApiPath<RevenueForecastChart>,
    ApiQuery(q): ApiQuery<ForecastQuery>,
) -> ApiResult<Response> {
    let horizon = parse_horizon(q.horizon.as_deref())?;
    let r = revenue_of(&state, None, horizon).await?;
    image(chart, revenue_chart(&r, "Marketplace renewal revenue")).await
}

/// New subscriptions per week of one of the caller's tools: the last 52 weeks and the forecast
/// with its 95% interval (`?horizon=3|6|12` months, in whole weeks). Anyone else's tool is a 404.
#[utoipa::path(get, path = "/v1/tools/{id}/forecast/plots/{chart}", tag = "plots",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "tool id"),
        ("chart" = inline(DemandForecastChart), Path, description = "`demand.svg` or `demand.png`"), ForecastQuery),
    responses((status = 200, description = "The chart", content((String = "image/svg+xml"), (String = "image/png"))),
        (status = 400, body = crate::error::Problem), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub(crate) async fn tool_demand_plot(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath((id, chart)): ApiPath<(Uuid, DemandForecastChart)>,
    ApiQuery(q): ApiQuery<ForecastQuery>,
) -> ApiResult<Response> {
    let horizon = parse_horizon(q.horizon.as_deref())?;
    // Only this tool's model is fitted: the page shows one chart per tool.
    let tool = from_inputs(&state, Some(caller.id), move |inputs, now| {
        demand::forecast_demand_of(&inputs.tools, id, now, horizon)
    })
    .await?
    .ok_or(ApiError::NotFound("tool"))?;
    let observed: Vec<charts::TimePoint> = tool
        .history
        .iter()
        .map(|w| (w.start.timestamp(), w.count as f64))
        .collect();
    let ahead: Vec<charts::BandPoint> = tool
        .weeks
        .iter()
        .map(|w| charts::BandPoint {
            at: w.start.timestamp(),
            point: w.point,
            lower: w.lower,
            upper: w.upper,
        })
        .collect();
    let band = if tool.status == ForecastStatus::Ok {
        "95% interval"
    } else {
        "not enough history to forecast"
    };
    let title = format!("New subscriptions per week: {}", tool.tool_name);
    image(
        chart,
        charts::forecast(&title, "subscriptions", band, &observed, &ahead),
    )
    .await
}
