//! Reports of reviews: any account that can read a review (not its author) reports it to the
//! operators with a reason, once while the report is open; the operator answers by hiding the
//! review (which resolves its reports) or by dismissing them (the review stays). Reports are
//! the operators' to read: they appear in `GET /v1/admin/reviews`, never to other accounts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::domain::{ReviewReport, review};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::visible_review;
use crate::auth::{AccountCaller, AdminCaller, Caller};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::views::ReviewView;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report_review))
        .routes(routes!(dismiss_reports))
}

/// An open report of a review.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    /// The review reported.
    pub review_id: Uuid,
    /// Who reported it.
    pub reporter_id: Uuid,
    /// Why, as written (escape it where you render it).
    pub reason: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<&ReviewReport> for ReportView {
    fn from(r: &ReviewReport) -> Self {
        Self {
            review_id: r.review_id,
            reporter_id: r.reporter_id,
            reason: r.reason.clone(),
            created_at: r.created_at,
        }
    }
}

/// Body of `POST /v1/reviews/{id}/report`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportReview {
    /// Why: 1-500 characters on one line, not only blanks.
    #[schema(max_length = 500)]
    pub reason: String,
}

/// `{report}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportEnvelope {
    /// The report.
    pub report: ReportView,
}

/// Reports a review to the operators (any account that can read it, except its author), once
/// while the report is open; after an operator answered it, the same account may report it
/// again.
#[utoipa::path(post, path = "/v1/reviews/{id}/report", tag = "reviews", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "review id")), request_body = ReportReview,
    responses((status = 201, body = ReportEnvelope),
        (status = 403, description = "the caller's own review", body = crate::error::Problem),
        (status = 404, body = crate::error::Problem),
        (status = 409, description = "the caller's report of it is open", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub(crate) async fn report_review(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ReportReview>,
) -> ApiResult<(StatusCode, Json<ReportEnvelope>)> {
    let found = visible_review(&state, &Caller::Account(caller.clone()), id).await?;
    if found.author_id == caller.id {
        return Err(ApiError::Forbidden(
            "you cannot report your own review; change or delete it instead".into(),
        ));
    }
    review::check_report(&body.reason).map_err(|e| ApiError::invalid("reason", e.to_string()))?;
    let report = state
        .store
        .report_review(id, caller.id, &body.reason, state.now())
        .await
        .map_err(super::moderation::not_found)?;
    tracing::info!(review_id = %id, "review reported");
    Ok((
        StatusCode::CREATED,
        Json(ReportEnvelope {
            report: ReportView::from(&report),
        }),
    ))
}

/// `{review, dismissed}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DismissedReports {
    /// The review, as it stays.
    pub review: ReviewView,
    /// How many open reports were dismissed.
    pub dismissed: u64,
}

/// Dismisses a review's open reports (operator only): the review stays as it is. Dismissing
/// none is not an error (`dismissed: 0`).
#[utoipa::path(post, path = "/v1/reviews/{id}/dismiss-reports", tag = "reviews", security(("admin" = [])),
    params(("id" = Uuid, Path, description = "review id")),
    responses((status = 200, body = DismissedReports), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn dismiss_reports(
    _admin: AdminCaller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<DismissedReports>> {
    let dismissed = state
        .store
        .dismiss_reports(id, state.now())
        .await
        .map_err(super::moderation::not_found)?;
    let review = visible_review(&state, &Caller::Admin, id).await?;
    tracing::info!(review_id = %id, dismissed, "review reports dismissed");
    Ok(Json(DismissedReports {
        review: ReviewView::from(&review),
        dismissed,
    }))
}
