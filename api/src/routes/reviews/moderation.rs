//! Answering and moderating reviews: the tool creator's one reply per review, and the operator
//! reading every tool's reviews (newest first, hidden, visible or both), hiding a review (kept,
//! marked hidden, out of the public list and of the rating) or showing it again.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use shared::domain::review;
use shared::store::{ReviewFilter, ReviewVisibility};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::reports::ReportView;
use super::{ReviewEnvelope, visible_review};
use crate::auth::{AccountCaller, AdminCaller, Caller};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use crate::pagination::{decode_cursor, page_limit, paginate};
use crate::state::AppState;
use crate::views::ReviewView;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_all_reviews))
        .routes(routes!(reply_to_review))
        .routes(routes!(hide_review))
        .routes(routes!(unhide_review))
}

/// Filters of `GET /v1/admin/reviews`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AllReviewsQuery {
    /// `hidden`, `visible` or `any` (default `any`).
    pub visibility: Option<String>,
    /// Only this tool's reviews.
    pub tool_id: Option<Uuid>,
    /// `true`: only reviews with an open report (the moderation queue).
    pub reported: Option<bool>,
    /// Page size (1..=100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// A review as the operator moderates it: the review and its open reports.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModeratedReview {
    /// The review.
    #[serde(flatten)]
    pub review: ReviewView,
    /// Its open reports, oldest first.
    pub reports: Vec<ReportView>,
}

/// A page of reviews across the marketplace.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllReviewsPage {
    /// Reviews, newest first, hidden ones included as the filter asks.
    pub reviews: Vec<ModeratedReview>,
    /// Cursor of the next page, absent on the last.
    pub next_cursor: Option<String>,
}

/// The visibility a query names: 422 naming `visibility` for anything else.
pub(crate) fn visibility(raw: Option<&str>) -> ApiResult<ReviewVisibility> {
    match raw.map(str::trim) {
        None | Some("" | "any") => Ok(ReviewVisibility::Any),
        Some("hidden") => Ok(ReviewVisibility::Hidden),
        Some("visible") => Ok(ReviewVisibility::Visible),
        Some(_) => Err(ApiError::invalid(
            "visibility",
            "must be hidden, visible or any",
        )),
    }
}

/// Every tool's reviews, newest first (operator only), to read and moderate: the hidden ones,
/// the visible ones or both, of one tool or all, all or only those with open reports; each
/// with its open reports.
#[utoipa::path(get, path = "/v1/admin/reviews", tag = "admin", security(("admin" = [])),
    params(AllReviewsQuery),
    responses((status = 200, body = AllReviewsPage), (status = 422, body = crate::error::Problem)))]
pub(crate) async fn list_all_reviews(
    State(state): State<AppState>,
    _admin: AdminCaller,
    ApiQuery(q): ApiQuery<AllReviewsQuery>,
) -> ApiResult<Json<AllReviewsPage>> {
    let filter = ReviewFilter {
        tool: q.tool_id,
        visibility: visibility(q.visibility.as_deref())?,
        reported: q.reported.unwrap_or(false),
    };
    let limit = page_limit(q.limit)?;
    let before = decode_cursor(q.cursor.as_deref())?;
    let rows = state
        .store
        .list_reviews(filter, before, i64::from(limit) + 1)
        .await?;
    let (rows, next_cursor) = paginate(rows, limit, |r| r.id);
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut reports = state.store.open_reports(&ids, None).await?;
    let reviews = rows
        .iter()
        .map(|r| ModeratedReview {
            review: ReviewView::from(r),
            reports: reports
                .extract_if(.., |p| p.review_id == r.id)
                .map(|p| ReportView::from(&p))
                .collect(),
        })
        .collect();
    Ok(Json(AllReviewsPage {
        reviews,
        next_cursor,
    }))
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

pub(super) fn not_found(e: shared::store::StoreError) -> ApiError {
    match e {
        shared::store::StoreError::NotFound => ApiError::NotFound("review"),
        e => e.into(),
    }
}
