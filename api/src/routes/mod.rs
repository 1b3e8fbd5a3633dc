//! HTTP routes, one module per area; each exposes `router()` and `startup` merges them.

pub mod ab_tests;
pub mod accounts;
pub mod admin;
pub mod certificates;
pub mod datasets;
pub mod evaluations;
pub mod families;
pub mod fleet;
pub mod forecasts;
pub mod health;
pub mod jobs;
pub mod keys;
pub mod plots;
pub mod promotions;
pub mod reviews;
pub mod sessions;
pub mod stats;
pub mod subscriptions;
pub mod tools;
pub mod trainings;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every route of the API, with its OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(health::router())
        .merge(accounts::router())
        .merge(keys::router())
        .merge(families::router())
        .merge(tools::router())
        .merge(reviews::router())
        .merge(subscriptions::router())
        .merge(datasets::router())
        .merge(evaluations::router())
        .merge(ab_tests::router())
        .merge(jobs::router())
        .merge(sessions::router())
        .merge(promotions::router())
        .merge(certificates::router())
        .merge(trainings::router())
        .merge(fleet::router())
        .merge(admin::router())
        .merge(stats::router())
        .merge(forecasts::router())
        .merge(plots::router())
}

/// Checks a required text field: trimmed, non-empty, at most `max` characters.
pub(crate) fn required_text(
    field: &str,
    value: &str,
    max: usize,
) -> Result<String, crate::error::FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(crate::error::FieldError::new(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(crate::error::FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(crate::error::FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(v.to_owned())
}
