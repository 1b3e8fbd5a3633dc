//! The dashboard's pages, one module per area. Every handler takes the signed-in person
//! ([`SignedIn`]), calls the API's own handler for the data or the change, and renders a
//! template; a form repeats the sign-in's CSRF token and answers with a redirect (303) to the
//! page that shows the result, or the form's page again with the problem.

mod ab_tests;
mod creators;
mod datasets;
mod forecasts;
mod home;
mod jobs;
mod moderation;
mod operators;
mod optimizations;
mod reviews;
mod sessions;
mod subscriptions;
mod tools;
mod trainings;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use shared::domain::Account;

use super::{PageError, SignedIn};
use crate::auth::{AccountCaller, Caller};
use crate::error::ApiError;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/sign-in", get(home::sign_in_page).post(home::sign_in))
        .route("/sign-out", post(home::sign_out))
        .route("/tools", get(tools::browse))
        .route("/tools/{id}", get(tools::show))
        .route("/tools/{id}/subscribe", post(tools::subscribe))
        .route("/tools/{id}/reviews", post(reviews::create))
        .route("/reviews/{id}/delete", post(reviews::delete))
        .route("/reviews/{id}/reply", post(reviews::reply))
        .route("/reviews/{id}/report", post(reviews::report))
        .route("/subscriptions", get(subscriptions::list))
        .route("/subscriptions/{id}", get(subscriptions::show))
        .route("/subscriptions/{id}/cancel", post(subscriptions::cancel))
        .route("/datasets", get(datasets::list))
        // The API's general body limit would refuse real files: the handler reads up to
        // `datasets.max_upload_bytes` and refuses beyond.
        .route(
            "/datasets/upload",
            post(datasets::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/datasets/generate", post(datasets::generate))
        .route("/datasets/{id}", get(datasets::show))
        .route("/sessions", get(sessions::list).post(sessions::create))
        .route("/sessions/{id}", get(sessions::show))
        .route("/sessions/{id}/tools", post(sessions::insert))
        .route(
            "/sessions/{id}/tools/{tool_id}/optimize",
            post(sessions::optimize),
        )
        .route("/sessions/{id}/end", post(sessions::end))
        .route("/jobs/{id}", get(jobs::show))
        .route("/optimizations/{id}", get(optimizations::show))
        .route("/optimizations/{id}/promote", post(optimizations::promote))
        .route("/tools/{id}/trainings", post(trainings::start))
        .route(
            "/tools/{id}/ab-tests",
            get(ab_tests::list).post(ab_tests::start),
        )
        .route("/tools/{id}/ab-tests/{test_id}", get(ab_tests::show))
        .route("/trainings/{id}", get(trainings::show))
        .route("/trainings/{id}/apply", post(trainings::apply))
        .route("/creator", get(creators::show))
        .route("/operator", get(operators::show))
        .route("/operator/forecast", get(forecasts::operator_forecast))
        .route("/operator/jobs/{id}/retry", post(operators::retry))
        .route("/operator/jobs/{id}/cancel", post(operators::cancel))
        .route("/operator/reviews", get(moderation::show))
        .route("/operator/reviews/{id}/hide", post(moderation::hide))
        .route("/operator/reviews/{id}/unhide", post(moderation::unhide))
        .route("/operator/reviews/{id}/dismiss", post(moderation::dismiss))
}

/// The signed-in account, for pages that act for one (the operator's key acts for nobody).
fn account(user: &SignedIn) -> Result<AccountCaller, PageError> {
    match &user.caller {
        Caller::Account(a) => Ok(AccountCaller(a.clone())),
        Caller::Admin => Err(ApiError::Forbidden(
            "the operator's key acts for no account; sign in with an account's key".into(),
        )
        .into()),
    }
}

/// The account a form acts for, once its CSRF token matched the sign-in's.
fn acting(user: &SignedIn, csrf: &str) -> Result<AccountCaller, PageError> {
    user.check_csrf(csrf)?;
    account(user)
}

/// A tool's name for a heading (a deleted tool says so).
async fn tool_name(state: &AppState, id: uuid::Uuid) -> Result<String, PageError> {
    Ok(state
        .store
        .tool(id)
        .await
        .map_err(ApiError::from)?
        .map_or_else(|| "(deleted tool)".to_owned(), |t| t.name))
}

/// The account of a signed-in person, by reference.
fn account_of(user: &SignedIn) -> Option<&Account> {
    match &user.caller {
        Caller::Account(a) => Some(a),
        Caller::Admin => None,
    }
}

/// A form's fields as the API's JSON body (its validation and field errors).
fn body<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, PageError> {
    crate::extract::from_value(value).map_err(PageError::from)
}

/// The caller's datasets (the newest 100) for a form's dataset picker.
async fn form_datasets(
    state: AppState,
    caller: AccountCaller,
) -> Result<Vec<crate::routes::datasets::DatasetView>, PageError> {
    let query = body(serde_json::json!({"limit": 100}))?;
    Ok(crate::routes::datasets::list_datasets(
        axum::extract::State(state),
        caller,
        crate::extract::ApiQuery(query),
    )
    .await?
    .0
    .datasets)
}

/// A filter field as typed: `None` when left empty.
fn given(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// An id typed into a filter field: `None` when left empty, a 422 naming `field` when it is
/// not a UUID.
fn given_id(field: &'static str, s: &str, what: &str) -> Result<Option<uuid::Uuid>, ApiError> {
    given(s)
        .map(|v| v.parse::<uuid::Uuid>())
        .transpose()
        .map_err(|_| ApiError::invalid(field, format!("must be {what} (a UUID)")))
}

/// The link to a filtered list's next page: `path` with the cursor and the filters typed (the
/// empty ones left out), then `anchor`.
fn next_page_link(path: &str, cursor: &str, filters: &[(&str, &str)], anchor: &str) -> String {
    let mut query = vec![format!("cursor={}", super::percent_encode(cursor))];
    for (name, value) in filters {
        if let Some(v) = given(value) {
            query.push(format!("{name}={}", super::percent_encode(&v)));
        }
    }
    format!("{path}?{}{anchor}", query.join("&"))
}

/// The tool a review is of, if it still exists (to send a form back to its page).
async fn tool_of_review(
    state: &AppState,
    review: uuid::Uuid,
) -> Result<Option<uuid::Uuid>, PageError> {
    Ok(state
        .store
        .review(review)
        .await
        .map_err(ApiError::from)?
        .map(|r| r.tool_id))
}

/// A whole number typed into a form, or the text itself (so the API names the field in its
/// 422).
fn number(s: &str) -> serde_json::Value {
    let s = s.trim();
    s.parse::<u64>()
        .map_or_else(|_| serde_json::json!(s), |n| serde_json::json!(n))
}

// Formatting for the templates (askama passes arguments by reference).

/// An optional fraction as a signed percentage (`+12.34%`, or `-`).
pub(crate) fn pct(v: &Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{:+.2}%", v * 100.0),
        _ => "-".into(),
    }
}

/// An optional number with 3 decimals (or `-`).
pub(crate) fn num(v: &Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.3}"),
        _ => "-".into(),
    }
}

/// A time as `YYYY-MM-DD HH:MM UTC`.
pub(crate) fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A JSON object of parameters as `name = value, ...`.
pub(crate) fn params(p: &serde_json::Map<String, serde_json::Value>) -> String {
    p.iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A JSON value, indented.
pub(crate) fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The last 8 hex digits of an id (tables show them; the link carries the whole id). Ids are
/// UUID v7, whose first digits are their creation time: ids made within a minute share them,
/// while the last digits are random.
pub(crate) fn short(id: &uuid::Uuid) -> String {
    let hex = id.simple().to_string();
    hex[hex.len() - 8..].to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_short_id_tells_ids_made_in_the_same_minute_apart() {
        let (a, b) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        assert_eq!(a.to_string()[..8], b.to_string()[..8], "the same minute");
        assert_ne!(super::short(&a), super::short(&b));
        assert!(
            a.to_string().ends_with(&super::short(&a)),
            "a suffix of the id"
        );
        assert_eq!(super::short(&a).len(), 8);
    }
}
