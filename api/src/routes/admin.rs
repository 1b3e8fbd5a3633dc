//! Operator routes (admin key only).

use axum::Json;
use axum::extract::State;
use shared::domain::ledger::LedgerCheck;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::AdminCaller;
use crate::error::ApiResult;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(check_ledger))
}

/// Checks the ledger: every transaction sums to zero, every balance equals its entries.
#[utoipa::path(get, path = "/v1/admin/ledger/check", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = LedgerCheck), (status = 403, body = crate::error::Problem)))]
async fn check_ledger(
    _admin: AdminCaller,
    State(state): State<AppState>,
) -> ApiResult<Json<LedgerCheck>> {
    Ok(Json(state.store.check_ledger().await?))
}
