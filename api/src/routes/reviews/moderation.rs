//! Answering and moderating reviews: the tool creator's one reply per review, and the operator
//! hiding a review (kept, marked hidden, out of the public list and of the rating) or showing
//! it again.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use shared::domain::review;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{ReviewEnvelope, visible_review};
use crate::auth::{AccountCaller, AdminCaller, Caller};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, OptionalJson};
use crate::state::AppState;
use crate::views::ReviewView;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reply_to_review))
        .routes(routes!(hide_review))
        .routes(routes!(unhide_review))
}

/// Body of `POST /v1/reviews/{id}/reply`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyToReview {
    /// The reply: 1-2,000 characters, line breaks allowed, not only blanks.
    #[schema(max_length = 2000)]
    pub reply: String,
}

/// Replies to a review of the caller's tool, once (the tool's creator only).
#[utoipa::path(post, path = "/v1/reviews/{id}/reply", tag = "reviews", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "review id")), request_body = ReplyToReview,
    responses((status = 200, body = ReviewEnvelope),
        (status = 403, description = "not the tool's creator", body = crate::error::Problem),
        (status = 404, body = crate::error::Problem),
        (status = 409, description = "the review has a reply already", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub(crate) async fn reply_to_review(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ReplyToReview>,
) -> ApiResult<Json<ReviewEnvelope>> {
    let found = visible_review(&state, &Caller::Account(caller.clone()), id).await?;
    let creator = state.store.tool(found.tool_id).await?.map(|t| t.creator_id);
    if creator != Some(caller.id) {
        return Err(ApiError::Forbidden(
            "only the tool's creator may reply to its reviews".into(),
        ));
    }
    if found.reply.is_some() {
        return Err(ApiError::Conflict(
            "the creator has replied to this review already".into(),
        ));
    }
    review::check_reply(&body.reply).map_err(|e| ApiError::invalid("reply", e.to_string()))?;
    let review = state
        .store
        .reply_to_review(id, &body.reply, state.now())
        .await?;
    tracing::info!(review_id = %id, "review answered");
    Ok(Json(ReviewEnvelope {
        review: ReviewView::from(&review),
    }))
}

/// Body of `POST /v1/reviews/{id}/hide` (may be omitted).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HideReview {
    /// Why (up to 500 characters, one line); shown to the author.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: String,
}

/// Hides a review (operator only): it is kept and its author still sees it, but it leaves the
/// public list and the tool's rating. Hiding a hidden review changes nothing.
#[utoipa::path(post, path = "/v1/reviews/{id}/hide", tag = "reviews", security(("admin" = [])),
    params(("id" = Uuid, Path, description = "review id")), request_body = HideReview,
    responses((status = 200, body = ReviewEnvelope), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub(crate) async fn hide_review(
    _admin: AdminCaller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    OptionalJson(body): OptionalJson<HideReview>,
) -> ApiResult<Json<ReviewEnvelope>> {
    review::check_reason(&body.reason).map_err(|e| ApiError::invalid("reason", e.to_string()))?;
    let review = state
        .store
        .set_review_hidden(id, Some(&body.reason), state.now())
        .await
        .map_err(not_found)?;
    tracing::info!(review_id = %id, "review hidden");
    Ok(Json(ReviewEnvelope {
        review: ReviewView::from(&review),
    }))
}

/// Shows a hidden review again (operator only); it counts in the rating again.
#[utoipa::path(post, path = "/v1/reviews/{id}/unhide", tag = "reviews", security(("admin" = [])),
    params(("id" = Uuid, Path, description = "review id")),
    responses((status = 200, body = ReviewEnvelope), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn unhide_review(
    _admin: AdminCaller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ReviewEnvelope>> {
    let review = state
        .store
        .set_review_hidden(id, None, state.now())
        .await
        .map_err(not_found)?;
    tracing::info!(review_id = %id, "review shown again");
    Ok(Json(ReviewEnvelope {
        review: ReviewView::from(&review),
    }))
}

fn not_found(e: shared::store::StoreError) -> ApiError {
    match e {
        shared::store::StoreError::NotFound => ApiError::NotFound("review"),
        e => e.into(),
    }
}
