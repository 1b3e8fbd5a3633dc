//! A job's page: its status and progress, followed live over the job's event stream (the page
//! itself renders the state at load, so it also works without JavaScript by reloading), and
//! where its result is once it ends.

use askama::Template;
use axum::extract::State;
use uuid::Uuid;

use crate::extract::ApiPath;
use crate::routes::jobs::{JobView, get_job};
use crate::state::AppState;
use crate::web::extract::Path;
use crate::web::{Chrome, PageResult, SignedIn, render};

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    chrome: Chrome,
    job: JobView,
    percent: String,
    ended: bool,
    record: Option<String>,
    training: Option<String>,
}

pub(super) async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
) -> PageResult {
    let job = get_job(State(state), user.caller.clone(), ApiPath(id))
        .await?
        .0
        .job;
    let field = |name: &str| {
        job.result
            .as_ref()
            .and_then(|r| r.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let record = field("record_id");
    let training = field("training_id");
    Ok(render(&JobPage {
        chrome: Chrome::of(&user, "sessions"),
        percent: format!("{:.0}%", job.progress * 100.0),
        ended: job.finished_at.is_some(),
        record,
        training,
        job,
    }))
}
