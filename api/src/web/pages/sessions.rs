//! Sessions: open one on a dataset, insert tools, optimize them (each run is a job whose
//! progress page follows it live), see the records and end the session.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{account, acting, body, number};
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use crate::routes::datasets::DatasetView;
use crate::routes::sessions::{self as api, SessionSummary};
use crate::state::AppState;
use crate::views::{RecordView, SessionView};
use crate::web::extract::{Form, Path};
use crate::web::{Chrome, PageResult, SignedIn, render};

/// Sampler names the forms offer, the default first.
const METHODS: [&str; 5] = ["bayesian", "random", "cmaes", "local", "grid"];

#[derive(Template)]
#[template(path = "sessions.html")]
struct ListPage {
    chrome: Chrome,
    sessions: Vec<SessionSummary>,
    datasets: Vec<DatasetView>,
}

pub(super) async fn list(State(state): State<AppState>, user: SignedIn) -> PageResult {
    let caller = account(&user)?;
    let sessions = api::list_sessions(
        State(state.clone()),
        caller.clone(),
        ApiQuery(body(json!({"limit": 100}))?),
    )
    .await?
    .0
    .sessions;
    let datasets = super::form_datasets(state, caller).await?;
    Ok(render(&ListPage {
        chrome: Chrome::of(&user, "sessions"),
        sessions,
        datasets,
    }))
}

#[derive(Deserialize)]
pub(super) struct CreateForm {
    csrf: String,
    dataset_id: String,
    seed: Option<String>,
}

pub(super) async fn create(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form<CreateForm>,
) -> PageResult {
    let caller = acting(&user, &form.csrf)?;
    let mut config = json!({});
    if let Some(seed) = form.seed.as_deref().filter(|s| !s.trim().is_empty()) {
        config["seed"] = number(seed);
    }
    let request = body(json!({"dataset_id": form.dataset_id, "config": config}))?;
    let (_, envelope) = api::create_session(State(state), caller, ApiJson(request)).await?;
    let id = envelope.0.session.id;
    Ok(Redirect::to(&format!("/sessions/{id}")).into_response())
}

/// A tool the account may insert.
struct Choice {
    id: Uuid,
    name: String,
}

#[derive(Template)]
#[template(path = "session.html")]
struct ShowPage {
    chrome: Chrome,
    session: SessionView,
    records: Vec<RecordView>,
    choices: Vec<Choice>,
    methods: [&'static str; 5],
}

/// Tools the account can use: those it subscribes to and those it created.
async fn choices(state: &AppState, user: &SignedIn) -> Result<Vec<Choice>, crate::web::PageError> {
    let caller = account(user)?;
    let me = caller.0.id;
    let mut out: Vec<Choice> = Vec::new();
    let subs = crate::routes::subscriptions::list_subscriptions(
        State(state.clone()),
        caller.clone(),
        ApiQuery(body(json!({"active_only": true, "limit": 100}))?),
    )
    .await?
    .0
    .subscriptions;
    for s in subs {
        if let Some(t) = state
            .store
            .tool(s.tool_id)
            .await
            .map_err(crate::error::ApiError::from)?
            .filter(|t| t.deleted_at.is_none())
        {
            out.push(Choice {
                id: t.id,
                name: t.name,
            });
        }
    }
    let own = crate::routes::tools::list_tools(
        State(state.clone()),
        caller,
        ApiQuery(body(json!({"creator_id": me, "limit": 100}))?),
    )
    .await?
    .0
    .tools;
    for t in own {
        if !out.iter().any(|c| c.id == t.id) {
            out.push(Choice {
                id: t.id,
                name: t.name,
            });
        }
    }
    Ok(out)
}

pub(super) async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
) -> PageResult {
    let caller = account(&user)?;
    let envelope = api::get_session(State(state.clone()), caller, ApiPath(id))
        .await?
        .0;
    let choices = choices(&state, &user).await?;
    Ok(render(&ShowPage {
        chrome: Chrome::of(&user, "sessions"),
        session: envelope.session,
        records: envelope.optimizations,
        choices,
        methods: METHODS,
    }))
}

#[derive(Deserialize)]
pub(super) struct InsertForm {
    csrf: String,
    tool_id: String,
    auto_optimize: Option<String>,
    method: String,
    trials: String,
}

/// Inserts a tool; with optimization on, follows the job it started.
pub(super) async fn insert(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<InsertForm>,
) -> PageResult {
    let caller = acting(&user, &form.csrf)?;
    let request = body(json!({
        "tool_id": form.tool_id,
        "auto_optimize": form.auto_optimize.is_some(),
        "optimization_config": {"method": form.method, "trials": number(&form.trials)},
    }))?;
    let (_, inserted) =
        api::insert_tool(State(state), caller, ApiPath(id), ApiJson(request)).await?;
    let to = match inserted.0.job {
        Some(job) => format!("/jobs/{}", job.id),
        None => format!("/sessions/{id}"),
    };
    Ok(Redirect::to(&to).into_response())
}

#[derive(Deserialize)]
pub(super) struct OptimizeForm {
    csrf: String,
    method: String,
    trials: String,
}

/// Optimizes an inserted tool again, then follows the job.
pub(super) async fn optimize(
    State(state): State<AppState>,
    user: SignedIn,
    Path((id, tool_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<OptimizeForm>,
) -> PageResult {
    let caller = acting(&user, &form.csrf)?;
    let request = body(json!({
        "method": form.method,
        "config": {"trials": number(&form.trials)},
    }))?;
    let (_, job) = api::create_optimization(
        State(state),
        caller,
        ApiPath((id, tool_id)),
        OptionalJson(request),
    )
    .await?;
    Ok(Redirect::to(&format!("/jobs/{}", job.0.job.id)).into_response())
}

#[derive(Deserialize)]
pub(super) struct EndForm {
    csrf: String,
    promote_successful: Option<String>,
}

pub(super) async fn end(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<EndForm>,
) -> PageResult {
    let caller = acting(&user, &form.csrf)?;
    let request = body(json!({"promote_successful": form.promote_successful.is_some()}))?;
    let _ = api::end_session(State(state), caller, ApiPath(id), OptionalJson(request)).await?;
    Ok(Redirect::to(&format!("/sessions/{id}")).into_response())
}
