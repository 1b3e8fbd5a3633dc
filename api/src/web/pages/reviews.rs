//! Reviews on a tool's page: its rating, the visible reviews with the creator's replies, and
//! the forms: write one (an eligible account without a review yet), delete one's own, reply
//! (the creator, once per review), report another's to the operators. Each form goes through
//! the API's own handler, so the page keeps every rule the API has; text is rendered escaped
//! (askama's HTML escaping).

use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::home::CsrfForm;
use super::{acting, body, number};
use crate::auth::{AccountCaller, Caller};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::reviews::{self as api, moderation, reports};
use crate::state::AppState;
use crate::views::{RatingView, ReviewView, ToolView};
use crate::web::extract::{Form, Path};
use crate::web::{PageError, PageResult, SignedIn};

/// What a tool's page shows of its reviews to the signed-in account.
pub(super) struct ReviewsBlock {
    /// The tool's rating.
    pub(super) rating: RatingView,
    /// The newest visible reviews (up to 50).
    pub(super) reviews: Vec<ReviewView>,
    /// The account's own review (hidden or not).
    pub(super) mine: Option<ReviewView>,
    /// Whether the form to write one is shown.
    pub(super) may_review: bool,
    /// Whether the account created the tool (it may reply).
    pub(super) creator: bool,
    /// The signed-in account (it may report the others' reviews).
    pub(super) me: Uuid,
    /// The listed reviews the account has an open report of.
    pub(super) reported: Vec<Uuid>,
}

impl ReviewsBlock {
    /// Whether the account's report of a listed review is open.
    pub(super) fn has_reported(&self, review: &Uuid) -> bool {
        self.reported.contains(review)
    }
}

impl ReviewsBlock {
    /// The review block of `tool` for `caller`.
    pub(super) async fn of(
        state: &AppState,
        caller: &AccountCaller,
        tool: &ToolView,
    ) -> Result<Self, PageError> {
        let me = caller.0.id;
        let page = api::list_reviews(
            State(state.clone()),
            Caller::Account(caller.0.clone()),
            ApiPath(tool.id),
            ApiQuery(body(json!({"limit": 50}))?),
        )
        .await?
        .0;
        let mine = state
            .store
            .review_by(tool.id, me)
            .await
            .map_err(ApiError::from)?;
        let eligible = match state.store.tool(tool.id).await.map_err(ApiError::from)? {
            Some(t) => api::check_reviewer(state, &caller.0, &t).await.is_ok(),
            None => false,
        };
        let listed: Vec<Uuid> = page.reviews.iter().map(|r| r.id).collect();
        let reported = state
            .store
            .open_reports(&listed, Some(me))
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .map(|r| r.review_id)
            .collect();
        Ok(Self {
            rating: page.rating,
            reviews: page.reviews,
            may_review: eligible && mine.is_none(),
            mine: mine.as_ref().map(ReviewView::from),
            creator: tool.creator_id == me,
            me,
            reported,
        })
    }
}

#[derive(Deserialize)]
pub(super) struct ReviewForm {
    csrf: String,
    rating: String,
    title: String,
    #[serde(default)]
    body: String,
}

/// Writes the signed-in account's review of a tool, back to the tool's page.
pub(super) async fn create(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<ReviewForm>,
) -> PageResult {
    let caller = acting(&user, &form.csrf)?;
    let request = body(json!({
        "rating": number(&form.rating),
        "title": form.title,
        "body": form.body,
    }))?;
    let _ = api::create_review(State(state), caller, ApiPath(id), ApiJson(request)).await?;
    Ok(Redirect::to(&format!("/tools/{id}#reviews-h")).into_response())
}

/// Deletes the signed-in account's own review.
pub(super) async fn delete(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let caller = acting(&user, &form.csrf)?;
    let tool = super::tool_of_review(&state, id).await?;
    api::delete_review(State(state), caller, ApiPath(id)).await?;
    Ok(match tool {
        Some(tool) => Redirect::to(&format!("/tools/{tool}#reviews-h")),
        None => Redirect::to("/tools"),
    }
    .into_response())
}

#[derive(Deserialize)]
pub(super) struct ReplyForm {
    csrf: String,
    reply: String,
}

/// The creator's reply to a review of their tool.
pub(super) async fn reply(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<ReplyForm>,
) -> PageResult {
    let caller = acting(&user, &form.csrf)?;
    let request = body(json!({"reply": form.reply}))?;
    let answered = moderation::reply_to_review(State(state), caller, ApiPath(id), ApiJson(request))
        .await?
        .0
        .review;
    Ok(Redirect::to(&format!("/tools/{}#reviews-h", answered.tool_id)).into_response())
}

#[derive(Deserialize)]
pub(super) struct ReportForm {
    csrf: String,
    reason: String,
}

/// Reports a review to the operators, back to it on its tool's page.
pub(super) async fn report(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<ReportForm>,
) -> PageResult {
    let caller = acting(&user, &form.csrf)?;
    let tool = super::tool_of_review(&state, id).await?;
    let request = body(json!({"reason": form.reason}))?;
    let _ = reports::report_review(State(state), caller, ApiPath(id), ApiJson(request)).await?;
    Ok(match tool {
        Some(tool) => Redirect::to(&format!("/tools/{tool}#review-{id}")),
        None => Redirect::to("/tools"),
    }
    .into_response())
}
