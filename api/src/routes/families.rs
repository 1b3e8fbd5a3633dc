//! Tool families' parameter schemas.

use axum::Json;
use serde::Serialize;
use shared::families::{self, Family};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_families))
        .routes(routes!(get_family))
}

/// Every family.
#[derive(Debug, Serialize, ToSchema)]
pub struct FamilyList {
    /// Families with their parameter schemas and constraints.
    pub families: &'static [Family],
}

/// One family.
#[derive(Debug, Serialize, ToSchema)]
pub struct FamilyEnvelope {
    /// The family.
    pub family: &'static Family,
}

/// Lists the tool families with their parameter schemas.
#[utoipa::path(get, path = "/v1/families", tag = "families", security(("bearer" = []), ("admin" = [])),
    responses((status = 200, body = FamilyList)))]
async fn list_families(_caller: Caller) -> Json<FamilyList> {
    Json(FamilyList {
        families: families::all(),
    })
}

/// One family's parameter schema.
#[utoipa::path(get, path = "/v1/families/{name}", tag = "families", security(("bearer" = []), ("admin" = [])),
    params(("name" = String, Path, description = "family name")),
    responses((status = 200, body = FamilyEnvelope), (status = 404, body = crate::error::Problem)))]
async fn get_family(
    _caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<FamilyEnvelope>> {
    families::get(&name)
        .map(|family| Json(FamilyEnvelope { family }))
        .ok_or(ApiError::NotFound("family"))
}
