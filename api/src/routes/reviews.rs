//! Reviews of tools: who may write one (an account that holds or held a subscription to the
//! tool, or inserted it into a session, and is not its creator; one per account and tool), the
//! public list of visible reviews, changes and deletion by the author. The creator's reply and
//! the operator's hiding are in [`moderation`], accounts' reports to the operators in
//! [`reports`].
//!
//! Text is stored and returned exactly as written; the dashboard escapes it where it renders it.

pub mod moderation;
pub mod reports;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shared::domain::review::{self, ReviewError};
use shared::domain::{Account, Review, Tool};
use shared::store::{NewReview, ReviewFilter, ReviewPatch, ReviewVisibility};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::{AccountCaller, Caller};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::pagination::{decode_cursor, page_limit, paginate};
use crate::state::AppState;
use crate::views::{RatingView, ReviewView};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_review, list_reviews))
        .routes(routes!(get_review, update_review, delete_review))
        .merge(moderation::router())
        .merge(reports::router())
}

/// `{review}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewEnvelope {
    /// The review.
    pub review: ReviewView,
}

/// Body of `POST /v1/tools/{id}/reviews`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReview {
    /// Stars, a whole number from 1 to 5.
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i64,
    /// Title: 1-120 characters on one line, not only blanks.
    #[schema(max_length = 120)]
    pub title: String,
    /// Body: up to 5,000 characters, line breaks allowed (default empty).
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub body: String,
}

/// Body of `PATCH /v1/reviews/{id}`; absent fields are kept.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateReview {
    /// New stars, 1-5.
    #[schema(minimum = 1, maximum = 5)]
    pub rating: Option<i64>,
    /// New title.
    #[schema(max_length = 120)]
    pub title: Option<String>,
    /// New body.
    #[schema(max_length = 5000)]
    pub body: Option<String>,
}

fn field<T>(name: &str, checked: Result<T, ReviewError>, errors: &mut Vec<FieldError>) {
    if let Err(e) = checked {
        errors.push(FieldError::new(name, e.to_string()));
    }
}

/// Whether `caller` may review `tool`: `Ok` or the 403 that says why not.
pub(crate) async fn check_reviewer(
    state: &AppState,
    caller: &Account,
    tool: &Tool,
) -> ApiResult<()> {
    if tool.creator_id == caller.id {
        return Err(ApiError::Forbidden(
            "a tool's creator does not review it; reply to its reviews instead".into(),
        ));
    }
    if !state.store.has_used_tool(tool.id, caller.id).await? {
        return Err(ApiError::Forbidden(
            "only an account that subscribes or subscribed to the tool, or used it in a session, \
             may review it"
                .into(),
        ));
    }
    Ok(())
}

/// Reviews a tool: one review per account and tool, by an account that holds or held a
/// subscription to it (any status) or inserted it into a session, and is not its creator.
/// The tool's rating counts it at once.
#[utoipa::path(post, path = "/v1/tools/{id}/reviews", tag = "reviews", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id")), request_body = CreateReview,
    responses((status = 201, body = ReviewEnvelope),
        (status = 403, description = "the creator, or an account that never held the tool", body = crate::error::Problem),
        (status = 404, body = crate::error::Problem),
        (status = 409, description = "this account reviewed the tool already", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub(crate) async fn create_review(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CreateReview>,
) -> ApiResult<(StatusCode, Json<ReviewEnvelope>)> {
    let tool = super::tools::visible_tool(&state, &caller, id).await?;
    check_reviewer(&state, &caller, &tool).await?;
    let mut errors = Vec::new();
    let rating = review::check_rating(body.rating)
        .map_err(|e| errors.push(FieldError::new("rating", e.to_string())))
        .ok();
    field("title", review::check_title(&body.title), &mut errors);
    field("body", review::check_body(&body.body), &mut errors);
    let (Some(rating), true) = (rating, errors.is_empty()) else {
        return Err(ApiError::invalid_fields(errors));
    };
    let new = NewReview {
        tool_id: tool.id,
        author_id: caller.id,
        rating,
        title: body.title,
        body: body.body,
    };
    let review = state.store.create_review(&new, state.now()).await?;
    tracing::info!(review_id = %review.id, tool_id = %tool.id, "review written");
    Ok((
        StatusCode::CREATED,
        Json(ReviewEnvelope {
            review: ReviewView::from(&review),
        }),
    ))
}

/// Page of `GET /v1/tools/{id}/reviews`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListReviewsQuery {
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of a tool's reviews, with its rating.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewPage {
    /// The tool's visible reviews, added up.
    pub rating: RatingView,
    /// Reviews, newest first: the visible ones (the operator also sees hidden ones).
    pub reviews: Vec<ReviewView>,
    /// Cursor of the next page, absent on the last.
    pub next_cursor: Option<String>,
}

/// A tool's reviews, newest first, with its rating (count, mean, Bayesian average). Hidden
/// reviews are left out, except for the operator.
#[utoipa::path(get, path = "/v1/tools/{id}/reviews", tag = "reviews", security(("bearer" = []), ("admin" = [])),
    params(("id" = Uuid, Path, description = "tool id"), ListReviewsQuery),
    responses((status = 200, body = ReviewPage), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn list_reviews(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<ListReviewsQuery>,
) -> ApiResult<Json<ReviewPage>> {
    let limit = page_limit(q.limit)?;
    let before = decode_cursor(q.cursor.as_deref())?;
    let (tool, operator) = match &caller {
        Caller::Account(a) => (super::tools::visible_tool(&state, a, id).await?, false),
        Caller::Admin => (
            state
                .store
                .tool(id)
                .await?
                .ok_or(ApiError::NotFound("tool"))?,
            true,
        ),
    };
    let rows = state
        .store
        .list_reviews(
            ReviewFilter {
                tool: Some(id),
                visibility: if operator {
                    ReviewVisibility::Any
                } else {
                    ReviewVisibility::Visible
                },
                reported: false,
            },
            before,
            i64::from(limit) + 1,
        )
        .await?;
    let (rows, next_cursor) = paginate(rows, limit, |r| r.id);
    Ok(Json(ReviewPage {
        rating: RatingView::from(tool.rating),
        reviews: rows.iter().map(ReviewView::from).collect(),
        next_cursor,
    }))
}

/// The review if `caller` may see it: a visible review of a tool the caller may see; a hidden
/// one only to its author and the operator (404 to anyone else).
pub(crate) async fn visible_review(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> ApiResult<Review> {
    let review = state
        .store
        .review(id)
        .await?
        .ok_or(ApiError::NotFound("review"))?;
    match caller {
        Caller::Admin => Ok(review),
        Caller::Account(a) if a.id == review.author_id => Ok(review),
        Caller::Account(_) if review.is_hidden() => Err(ApiError::NotFound("review")),
        Caller::Account(a) => {
            super::tools::visible_tool(state, a, review.tool_id)
                .await
                .map_err(|_| ApiError::NotFound("review"))?;
            Ok(review)
        }
    }
}

/// A review by id (a hidden one: its author and the operator only).
#[utoipa::path(get, path = "/v1/reviews/{id}", tag = "reviews", security(("bearer" = []), ("admin" = [])),
    params(("id" = Uuid, Path, description = "review id")),
    responses((status = 200, body = ReviewEnvelope), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn get_review(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ReviewEnvelope>> {
    let review = visible_review(&state, &caller, id).await?;
    Ok(Json(ReviewEnvelope {
        review: ReviewView::from(&review),
    }))
}

/// The caller's own review: 404 when the caller may not see it, 403 when it is someone else's.
async fn authored_review(state: &AppState, caller: &Account, id: Uuid) -> ApiResult<Review> {
    let review = visible_review(state, &Caller::Account(caller.clone()), id).await?;
    if review.author_id != caller.id {
        return Err(ApiError::Forbidden(
            "only its author may change or delete a review".into(),
        ));
    }
    Ok(review)
}

/// Changes the caller's review (author only); the tool's rating follows.
#[utoipa::path(patch, path = "/v1/reviews/{id}", tag = "reviews", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "review id")), request_body = UpdateReview,
    responses((status = 200, body = ReviewEnvelope),
        (status = 403, description = "not the review's author", body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub(crate) async fn update_review(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<UpdateReview>,
) -> ApiResult<Json<ReviewEnvelope>> {
    authored_review(&state, &caller, id).await?;
    let mut errors = Vec::new();
    let rating = match body.rating.map(review::check_rating).transpose() {
        Ok(r) => r,
        Err(e) => {
            errors.push(FieldError::new("rating", e.to_string()));
            None
        }
    };
    if let Some(title) = &body.title {
        field("title", review::check_title(title), &mut errors);
    }
    if let Some(text) = &body.body {
        field("body", review::check_body(text), &mut errors);
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let patch = ReviewPatch {
        rating,
        title: body.title,
        body: body.body,
    };
    let review = state.store.update_review(id, &patch, state.now()).await?;
    Ok(Json(ReviewEnvelope {
        review: ReviewView::from(&review),
    }))
}

/// Deletes the caller's review (author only); the tool's rating follows, and the author may
/// review the tool again.
#[utoipa::path(delete, path = "/v1/reviews/{id}", tag = "reviews", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "review id")),
    responses((status = 204),
        (status = 403, description = "not the review's author", body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
pub(crate) async fn delete_review(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    authored_review(&state, &caller, id).await?;
    state.store.delete_review(id).await?;
    tracing::info!(review_id = %id, "review deleted");
    Ok(StatusCode::NO_CONTENT)
}
