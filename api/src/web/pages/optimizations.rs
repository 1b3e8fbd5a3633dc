//! An optimization record's page: the study (history, parallel coordinates, importance, a
//! slice and the trial table), the equity curves before and after (the session's owner), the
//! standards gate's report with each check, and promotion for the tool's creator.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use shared::domain::OptimizationTrial;
use uuid::Uuid;

use super::home::CsrfForm;
use super::{account, acting};
use crate::extract::ApiPath;
use crate::routes::promotions::{self as api, visible_record};
use crate::state::AppState;
use crate::views::RecordView;
use crate::web::extract::{Form, Path, Query};
use crate::web::{Chrome, PageResult, SignedIn, render};

/// Most trials the table shows (the CSV has them all).
const TABLE_ROWS: usize = 500;
/// Most trials read for sorting the table.
const MAX_TRIALS: i64 = 100_000;

/// How the trial table is sorted: a column (`trial`, `score`, `trades`, `sharpe` or a
/// parameter's name) and the direction.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SortQuery {
    sort: Option<String>,
    #[serde(default)]
    desc: Option<String>,
}

fn sort_trials(trials: &mut [OptimizationTrial], column: &str, desc: bool) {
    let key = |t: &OptimizationTrial| -> f64 {
        match column {
            "trial" => t.trial as f64,
            "score" => t.score.unwrap_or(f64::NEG_INFINITY),
            "trades" => t.num_trades,
            "sharpe" => t.sharpe.unwrap_or(f64::NEG_INFINITY),
            name => t
                .params
                .get(name)
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(f64::NEG_INFINITY),
        }
    };
    trials.sort_by(|a, b| {
        let o = key(a).total_cmp(&key(b)).then(a.trial.cmp(&b.trial));
        if desc { o.reverse() } else { o }
    });
}

#[derive(Template)]
#[template(path = "optimization.html")]
struct RecordPage {
    chrome: Chrome,
    record: RecordView,
    tool_name: String,
    creator: bool,
    owner: bool,
    trials: Vec<OptimizationTrial>,
    trials_total: usize,
    param_names: Vec<String>,
    has_equity: bool,
    sort: String,
    desc: bool,
}

pub(super) async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<SortQuery>,
) -> PageResult {
    let caller = account(&user)?;
    let record = visible_record(&state, &caller.0, id).await?;
    let tool = state
        .store
        .tool(record.tool_id)
        .await
        .map_err(crate::error::ApiError::from)?;
    let creator = tool.as_ref().is_some_and(|t| t.creator_id == caller.0.id);
    let mut trials = state
        .store
        .optimization_trials(id, None, MAX_TRIALS)
        .await
        .map_err(crate::error::ApiError::from)?;
    let sort = q.sort.unwrap_or_else(|| "score".into());
    let desc = q.desc.map_or(sort == "score", |d| d == "1" || d == "true");
    sort_trials(&mut trials, &sort, desc);
    let trials_total = trials.len();
    trials.truncate(TABLE_ROWS);
    let mut param_names: Vec<String> = trials
        .first()
        .map(|t| t.params.keys().cloned().collect())
        .unwrap_or_default();
    param_names.sort();
    let owner = record.dataset_id.is_some();
    let has_equity = owner && crate::routes::plots::EquityCurves::of(&record).is_some();
    Ok(render(&RecordPage {
        chrome: Chrome::of(&user, "sessions"),
        tool_name: tool.map_or_else(|| "(deleted tool)".into(), |t| t.name),
        creator,
        owner,
        trials,
        trials_total,
        param_names,
        has_equity,
        sort,
        desc,
        record,
    }))
}

/// The link of a column header: sorts by it, the other way when it is the current column.
pub(crate) fn sort_link(record: &Uuid, column: &str, current: &str, desc: &bool) -> String {
    let flip = column == current && *desc;
    format!(
        "/optimizations/{record}?sort={}&desc={}#trials",
        crate::web::percent_encode(column),
        if column == current {
            !flip
        } else {
            column == "score"
        }
    )
}

/// The value of a trial's parameter, for the table.
pub(crate) fn param(t: &OptimizationTrial, name: &str) -> String {
    t.params.get(name).map_or_else(String::new, |v| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// Promotes the record (the tool's creator): a new version when the re-check passes (to the
/// tool's page), or the re-check's job when it takes longer.
pub(super) async fn promote(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let caller = acting(&user, &form.csrf)?;
    let res = api::promote_optimization(State(state.clone()), caller.clone(), ApiPath(id)).await?;
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 4 << 20)
        .await
        .unwrap_or_default();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let to = if status == StatusCode::ACCEPTED {
        body["job"]["id"]
            .as_str()
            .map_or_else(|| format!("/optimizations/{id}"), |j| format!("/jobs/{j}"))
    } else {
        body["tool"]["id"]
            .as_str()
            .map_or_else(|| format!("/optimizations/{id}"), |t| format!("/tools/{t}"))
    };
    Ok(Redirect::to(&to).into_response())
}
