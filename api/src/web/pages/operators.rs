//! The operator's page (the admin key): each queue's counts and depth over time, the live
//! workers with their heartbeats, every account's jobs by status, kind and owner, and for each
//! job what an operator can do to it: send a failed one back to its queue, cancel a waiting or
//! running one. To an account's sign-in these pages do not exist (404, as the API's routes).

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use shared::store::WorkerInfo;
use uuid::Uuid;

use super::given;
use super::home::CsrfForm;
use crate::auth::{AdminCaller, Caller};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::fleet::{
    FleetJobQuery, QueueList, cancel_any_job, list_all_jobs, list_queues, list_workers, retry_job,
};
use crate::routes::jobs::JobView;
use crate::state::AppState;
use crate::web::extract::{Form, Path, Query};
use crate::web::{Chrome, PageError, PageResult, SignedIn, render};

/// The operator's key, or a 404 page for an account (the operator's pages are not theirs).
pub(super) fn operator(user: &SignedIn) -> Result<AdminCaller, PageError> {
    match user.caller {
        Caller::Admin => Ok(AdminCaller),
        Caller::Account(_) => Err(ApiError::NotFound("page").into()),
    }
}

/// The page's filters, as typed into its form (an empty field is no filter).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Filters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    cursor: String,
    #[serde(default)]
    hours: String,
}

/// A worker with how long ago it last reported.
struct WorkerRow {
    worker: WorkerInfo,
    seconds_ago: i64,
}

#[derive(Template)]
#[template(path = "operator.html")]
struct OperatorPage {
    chrome: Chrome,
    queues: QueueList,
    workers: Vec<WorkerRow>,
    jobs: Vec<JobView>,
    next: Option<String>,
    problem: Option<PageError>,
    filters: Filters,
    hours: u32,
    periods: [(u32, &'static str); 4],
    statuses: [&'static str; 5],
    kinds: Vec<&'static str>,
}

impl OperatorPage {
    /// The link to the jobs' next page with the same filters.
    fn next_link(&self, cursor: &str) -> String {
        let f = &self.filters;
        let filters = [
            ("status", &*f.status),
            ("kind", &f.kind),
            ("owner", &f.owner),
        ];
        super::next_page_link("/operator", cursor, &filters, "#jobs")
    }
}

pub(super) async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Query(filters): Query<Filters>,
) -> PageResult {
    let admin = operator(&user)?;
    let hours = match filters.hours.trim() {
        "1" => 1,
        "6" => 6,
        "168" => 168,
        _ => 24,
    };
    let queues = list_queues(State(state.clone()), AdminCaller).await?.0;
    let now = state.job_now();
    let workers = list_workers(State(state.clone()), AdminCaller)
        .await?
        .0
        .workers
        .into_iter()
        .map(|worker| WorkerRow {
            seconds_ago: (now - worker.heartbeat_at).num_seconds().max(0),
            worker,
        })
        .collect();
    let listed = match super::given_id("owner", &filters.owner, "an account id") {
        Ok(owner) => {
            let query = FleetJobQuery {
                status: given(&filters.status),
                kind: given(&filters.kind),
                owner,
                limit: Some(50),
                cursor: given(&filters.cursor),
            };
            list_all_jobs(State(state.clone()), admin, ApiQuery(query)).await
        }
        Err(e) => Err(e),
    };
    let (jobs, next, problem) = match listed {
        Ok(list) => (list.0.jobs, list.0.next_cursor, None),
        Err(e) => (Vec::new(), None, Some(PageError::from(e))),
    };
    Ok(render(&OperatorPage {
        chrome: Chrome::of(&user, "operator"),
        queues,
        workers,
        jobs,
        next,
        problem,
        filters,
        hours,
        periods: [
            (1, "hour"),
            (6, "6 hours"),
            (24, "24 hours"),
            (168, "7 days"),
        ],
        statuses: ["queued", "running", "succeeded", "failed", "canceled"],
        kinds: shared::jobs::JobKind::ALL
            .iter()
            .map(|k| k.as_str())
            .collect(),
    }))
}

/// Sends a failed job back to its queue, then shows its page (live while it runs again).
pub(super) async fn retry(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    user.check_csrf(&form.csrf)?;
    let admin = operator(&user)?;
    let _queued = retry_job(State(state), admin, ApiPath(id)).await?;
    Ok(Redirect::to(&format!("/jobs/{id}")).into_response())
}

/// Cancels a waiting or running job, then shows its page.
pub(super) async fn cancel(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    user.check_csrf(&form.csrf)?;
    let admin = operator(&user)?;
    let _canceled = cancel_any_job(State(state), admin, ApiPath(id)).await?;
    Ok(Redirect::to(&format!("/jobs/{id}")).into_response())
}
