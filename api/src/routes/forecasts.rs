//! Revenue and demand forecasts: a creator's own tools, and the whole marketplace (operators).
//! The store gathers the history; `domain::forecast` computes everything (off the async
//! runtime: the demand models are refitted for every backtested week).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use shared::domain::forecast::{self, Forecast, ForecastInputs, ForecastScope, HORIZONS};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::{AccountCaller, AdminCaller};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::state::AppState;

mod plots;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(creator_forecast))
        .routes(routes!(marketplace_forecast))
        .merge(plots::router())
}

/// Query of the forecast routes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForecastQuery {
    /// Months ahead: 3, 6 or 12 (default 3).
    #[param(value_type = Option<u32>)]
    pub horizon: Option<String>,
}

/// The horizon asked for, or a 422 naming the allowed ones.
pub(crate) fn parse_horizon(raw: Option<&str>) -> ApiResult<u32> {
    let Some(raw) = raw else {
        return Ok(HORIZONS[0]);
    };
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|h| HORIZONS.contains(h))
        .ok_or_else(|| ApiError::invalid("horizon", "must be 3, 6 or 12 (months)"))
}

/// Computes a forecast of `creator`'s tools (every tool when `None`).
pub(crate) async fn compute(
    state: &AppState,
    creator: Option<Uuid>,
    horizon: u32,
) -> ApiResult<Forecast> {
    let scope = if creator.is_some() {
        ForecastScope::Creator
    } else {
        ForecastScope::Marketplace
    };
    from_inputs(state, creator, move |inputs, now| {
        forecast::forecast(inputs, scope, now, horizon)
    })
    .await
}

/// Runs `part` of the forecasts (all of it, or only what a chart draws) over the history of
/// `creator`'s tools (every tool when `None`) at the app's now, off the async runtime: the
/// demand models are refitted for every backtested week.
pub(crate) async fn from_inputs<T: Send + 'static>(
    state: &AppState,
    creator: Option<Uuid>,
    part: impl FnOnce(&ForecastInputs, DateTime<Utc>) -> T + Send + 'static,
) -> ApiResult<T> {
    let inputs = state.store.forecast_inputs(creator).await?;
    let now = state.now();
    tokio::task::spawn_blocking(move || part(&inputs, now))
        .await
        .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("forecast task failed: {e}")))
}

/// Renewal revenue of the caller's tools by month (the schedule billing will follow, weighted by
/// observed churn, failure and recovery rates, with 95% intervals) and new subscriptions per
/// tool per week, each with its backtested error; `insufficient_history` instead of numbers
/// when too little has happened.
#[utoipa::path(get, path = "/v1/creators/me/forecast", tag = "stats", security(("bearer" = [])),
    params(ForecastQuery),
    responses((status = 200, body = Forecast), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub(crate) async fn creator_forecast(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiQuery(q): ApiQuery<ForecastQuery>,
) -> ApiResult<Json<Forecast>> {
    let horizon = parse_horizon(q.horizon.as_deref())?;
    Ok(Json(compute(&state, Some(caller.id), horizon).await?))
}

/// The same forecast over the whole marketplace (operators; accounts get 404).
#[utoipa::path(get, path = "/v1/stats/marketplace/forecast", tag = "stats", security(("admin" = [])),
    params(ForecastQuery),
    responses((status = 200, body = Forecast), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub(crate) async fn marketplace_forecast(
    _admin: AdminCaller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ForecastQuery>,
) -> ApiResult<Json<Forecast>> {
    let horizon = parse_horizon(q.horizon.as_deref())?;
    Ok(Json(compute(&state, None, horizon).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_three_six_or_twelve_months() {
        assert_eq!(parse_horizon(None).ok(), Some(3));
        assert_eq!(parse_horizon(Some("12")).ok(), Some(12));
        for bad in ["4", "0", "-3", "six", "", "6.0"] {
            assert!(
                matches!(parse_horizon(Some(bad)), Err(ApiError::Validation { .. })),
                "{bad:?} is rejected"
            );
        }
    }
}
