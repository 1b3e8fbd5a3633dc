//! Training (a tool's creator): start a run of any method on one of their datasets, follow its
//! job live, see its curves, split metrics and the hybrid judgment, apply it as a new version,
//! and compare the runs of a tool side by side (on the tool's page).

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::home::CsrfForm;
use super::{account, acting, body, number};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::trainings::{self as api, apply};
use crate::state::AppState;
use crate::views::TrainingView;
use crate::web::extract::{Form, Path};
use crate::web::{Chrome, PageResult, SignedIn, render};

/// Methods the form offers.
pub(super) const METHODS: [(&str, &str); 4] = [
    ("hybrid", "hybrid: all three, the best on validation wins"),
    ("deep_learning", "deep learning (burn MLP)"),
    ("q_learning", "Q-learning (parallel learners)"),
    ("optimization_engine", "optimization engine"),
];

/// A tool's runs, newest first (its page compares them).
pub(super) async fn runs_of(
    state: &AppState,
    user: &SignedIn,
    tool: Uuid,
) -> Result<Vec<TrainingView>, crate::web::PageError> {
    let caller = account(user)?;
    Ok(api::list_trainings(
        State(state.clone()),
        caller,
        ApiPath(tool),
        ApiQuery(body(json!({"limit": 20}))?),
    )
    .await?
    .0
    .trainings)
}

#[derive(Deserialize)]
pub(super) struct StartForm {
    csrf: String,
    method: String,
    dataset_id: String,
    epochs: Option<String>,
}

/// Starts a run and follows its job.
pub(super) async fn start(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<StartForm>,
) -> PageResult {
    let caller = acting(&user, &form.csrf)?;
    let mut config = json!({});
    if let Some(epochs) = form
        .epochs
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        config["epochs"] = number(epochs);
    }
    let request = body(json!({
        "method": form.method,
        "dataset_id": form.dataset_id,
        "config": config,
    }))?;
    let (_, started) =
        api::create_training(State(state), caller, ApiPath(id), ApiJson(request)).await?;
    Ok(Redirect::to(&format!("/jobs/{}", started.0.job.id)).into_response())
}

#[derive(Template)]
#[template(path = "training.html")]
struct TrainingPage {
    chrome: Chrome,
    run: TrainingView,
    tool_name: String,
}

pub(super) async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
) -> PageResult {
    let caller = account(&user)?;
    let run = api::get_training(State(state.clone()), caller, ApiPath(id))
        .await?
        .0
        .training;
    let tool_name = super::tool_name(&state, run.tool_id).await?;
    Ok(render(&TrainingPage {
        chrome: Chrome::of(&user, "tools"),
        run,
        tool_name,
    }))
}

/// A run's metrics per split beside the base version's: `(split, trained, base)`.
pub(crate) fn split_rows(
    r: &shared::domain::TrainingResult,
) -> [(
    &'static str,
    shared::domain::Metrics,
    shared::domain::Metrics,
); 3] {
    [
        ("train", r.metrics.train, r.baseline.train),
        ("validation", r.metrics.validation, r.baseline.validation),
        ("test", r.metrics.test, r.baseline.test),
    ]
}

/// Applies a finished run as the tool's next version, then shows the tool.
pub(super) async fn apply(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let caller = acting(&user, &form.csrf)?;
    let (_, applied) = apply::apply_training(State(state), caller, ApiPath(id)).await?;
    Ok(Redirect::to(&format!("/tools/{}", applied.0.tool.id)).into_response())
}
