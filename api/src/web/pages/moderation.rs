//! The operator's review moderation page: every tool's reviews, newest first, by visibility and
//! tool or only the reported ones (the queue), each with its tool, author, stars, text and open
//! reports, and what the operator can do to it: hide it with a reason (it leaves the public list
//! and the tool's rating, its author still sees it and why, its reports are answered), dismiss
//! its reports (it stays), or show a hidden one again. Each form goes through the API's own handler. To an
//! account's sign-in these pages do not exist (404, as the API's routes).

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::home::CsrfForm;
use super::operators::operator;
use super::{body, given, tool_name};
use crate::extract::{ApiPath, ApiQuery, OptionalJson};
use crate::routes::reviews::moderation::{
    AllReviewsQuery, ModeratedReview, hide_review, list_all_reviews, unhide_review,
};
use crate::routes::reviews::reports::dismiss_reports;
use crate::state::AppState;
use crate::web::extract::{Form, Path, Query};
use crate::web::{Chrome, PageError, PageResult, SignedIn, render};

/// The page's filters, as typed into its form (an empty field is no filter).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Filters {
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    tool: String,
    #[serde(default)]
    cursor: String,
}

#[derive(Template)]
#[template(path = "operator_reviews.html")]
struct ModerationPage {
    chrome: Chrome,
    reviews: Vec<ModeratedReview>,
    /// Each listed tool's name.
    names: HashMap<Uuid, String>,
    next: Option<String>,
    problem: Option<PageError>,
    filters: Filters,
    visibilities: [(&'static str, &'static str); 4],
}

impl ModerationPage {
    /// The name of a listed review's tool.
    fn tool_name(&self, id: &Uuid) -> &str {
        self.names.get(id).map_or("", String::as_str)
    }

    /// The link to the next page with the same filters.
    fn next_link(&self, cursor: &str) -> String {
        let f = &self.filters;
        let filters = [("visibility", &*f.visibility), ("tool", &f.tool)];
        super::next_page_link("/operator/reviews", cursor, &filters, "")
    }
}

/// Every tool's reviews, 50 a page, as the filters ask.
pub(super) async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Query(filters): Query<Filters>,
) -> PageResult {
    let admin = operator(&user)?;
    let listed = match super::given_id("tool", &filters.tool, "a tool id") {
        Ok(tool_id) => {
            // "reported" is the queue: reviews with open reports, hidden or not.
            let reported = filters.visibility.trim() == "reported";
            let query = AllReviewsQuery {
                visibility: given(&filters.visibility).filter(|_| !reported),
                tool_id,
                reported: Some(reported),
                limit: Some(50),
                cursor: given(&filters.cursor),
            };
            list_all_reviews(State(state.clone()), admin, ApiQuery(query)).await
        }
        Err(e) => Err(e),
    };
    let (reviews, next, problem) = match listed {
        Ok(page) => (page.0.reviews, page.0.next_cursor, None),
        Err(e) => (Vec::new(), None, Some(PageError::from(e))),
    };
    let mut names: HashMap<Uuid, String> = HashMap::new();
    for m in &reviews {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(m.review.tool_id) {
            slot.insert(tool_name(&state, m.review.tool_id).await?);
        }
    }
    Ok(render(&ModerationPage {
        chrome: Chrome::of(&user, "operator"),
        reviews,
        names,
        next,
        problem,
        filters,
        visibilities: [
            ("any", "hidden or not"),
            ("reported", "reported (open reports)"),
            ("visible", "visible"),
            ("hidden", "hidden"),
        ],
    }))
}

#[derive(Deserialize)]
pub(super) struct HideForm {
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// Where a moderated review is shown again: its tool's reviews, at the review.
fn back_to(tool: Uuid, review: Uuid) -> Redirect {
    Redirect::to(&format!("/operator/reviews?tool={tool}#review-{review}"))
}

/// Hides a review with the operator's reason.
pub(super) async fn hide(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<HideForm>,
) -> PageResult {
    user.check_csrf(&form.csrf)?;
    let admin = operator(&user)?;
    let request = body(json!({"reason": form.reason}))?;
    let hidden = hide_review(admin, State(state), ApiPath(id), OptionalJson(request))
        .await?
        .0
        .review;
    Ok(back_to(hidden.tool_id, id).into_response())
}

/// Shows a hidden review again.
pub(super) async fn unhide(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    user.check_csrf(&form.csrf)?;
    let admin = operator(&user)?;
    let shown = unhide_review(admin, State(state), ApiPath(id))
        .await?
        .0
        .review;
    Ok(back_to(shown.tool_id, id).into_response())
}

/// Dismisses a review's open reports: the review stays as it is.
pub(super) async fn dismiss(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    user.check_csrf(&form.csrf)?;
    let admin = operator(&user)?;
    let kept = dismiss_reports(admin, State(state), ApiPath(id))
        .await?
        .0
        .review;
    Ok(back_to(kept.tool_id, id).into_response())
}
