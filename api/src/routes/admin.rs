//! Operator routes (admin key only): the ledger check and, in sandbox mode, the test clock.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use shared::billing::{PassReport, advance_clock};
use shared::clock::Clock;
use shared::domain::ledger::LedgerCheck;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::AdminCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(check_ledger))
        .routes(routes!(get_clock, set_clock))
        .routes(routes!(advance))
}

/// Checks the ledger: every transaction sums to zero, every balance equals its entries.
#[utoipa::path(get, path = "/v1/admin/ledger/check", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = LedgerCheck), (status = 403, body = crate::error::Problem)))]
async fn check_ledger(
    _admin: AdminCaller,
    State(state): State<AppState>,
) -> ApiResult<Json<LedgerCheck>> {
    Ok(Json(state.store.check_ledger().await?))
}

/// The sandbox clock and what moving it did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClockView {
    /// The product's current time.
    pub now: DateTime<Utc>,
    /// Billing done on the way (absent for a plain read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing: Option<PassReport>,
}

/// Body of `PUT /v1/admin/clock`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetClock {
    /// The new time (RFC 3339); the clock only moves forward.
    pub now: DateTime<Utc>,
}

/// Body of `POST /v1/admin/clock/advance`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClock {
    /// Days to move forward.
    #[serde(default)]
    pub days: u32,
    /// Hours to move forward.
    #[serde(default)]
    pub hours: u32,
}

/// Outside sandbox mode the clock routes do not exist.
fn sandbox(state: &AppState) -> ApiResult<&std::sync::Arc<shared::clock::ManualClock>> {
    state
        .sandbox_clock
        .as_ref()
        .ok_or(ApiError::NotFound("route"))
}

/// The sandbox clock (sandbox mode only).
#[utoipa::path(get, path = "/v1/admin/clock", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = ClockView), (status = 404, body = crate::error::Problem)))]
async fn get_clock(
    _admin: AdminCaller,
    State(state): State<AppState>,
) -> ApiResult<Json<ClockView>> {
    let clock = sandbox(&state)?;
    Ok(Json(ClockView {
        now: clock.now(),
        billing: None,
    }))
}

async fn move_to(state: &AppState, target: DateTime<Utc>) -> ApiResult<Json<ClockView>> {
    let clock = sandbox(state)?;
    if target < clock.now() {
        return Err(ApiError::invalid(
            "now",
            "the sandbox clock only moves forward",
        ));
    }
    let report = advance_clock(state.store.as_ref(), &state.settings, clock, target).await?;
    tracing::info!(now = %clock.now(), ?report, "sandbox clock moved");
    Ok(Json(ClockView {
        now: clock.now(),
        billing: Some(report),
    }))
}

/// Sets the sandbox clock forward, running every billing pass due on the way (sandbox only).
#[utoipa::path(put, path = "/v1/admin/clock", tag = "admin", security(("admin" = [])), request_body = SetClock,
    responses((status = 200, body = ClockView), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
async fn set_clock(
    _admin: AdminCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SetClock>,
) -> ApiResult<Json<ClockView>> {
    move_to(&state, body.now).await
}

/// Moves the sandbox clock forward by days and hours, billing on the way (sandbox only).
#[utoipa::path(post, path = "/v1/admin/clock/advance", tag = "admin", security(("admin" = [])),
    request_body = AdvanceClock,
    responses((status = 200, body = ClockView), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
async fn advance(
    _admin: AdminCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AdvanceClock>,
) -> ApiResult<Json<ClockView>> {
    let clock = sandbox(&state)?;
    if body.days == 0 && body.hours == 0 {
        return Err(ApiError::invalid(
            "days",
            "give days or hours to move forward",
        ));
    }
    if body.days > 3_660 || body.hours > 87_840 {
        return Err(ApiError::invalid("days", "at most ten years at a time"));
    }
    let by = TimeDelta::days(i64::from(body.days)) + TimeDelta::hours(i64::from(body.hours));
    move_to(&state, clock.now() + by).await
}
