//! A/B tests (a tool's creator): start one from the tool's A/B tests page (two versions, one of
//! their datasets), and read its result: the verdict, the statistics with their confidence
//! intervals and p-values, the per-period paired returns and the plot of the paired cumulative
//! returns.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{account, acting, body, number};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::ab_tests::{self as api, AbTestView};
use crate::routes::datasets::DatasetView;
use crate::state::AppState;
use crate::web::extract::{Form, Path};
use crate::web::{Chrome, PageResult, SignedIn, render};
use shared::domain::ab_test::{RenterComparison, VersionAggregate};

#[derive(Template)]
#[template(path = "ab_tests.html")]
struct AbTestsPage {
    chrome: Chrome,
    tool_id: Uuid,
    tool_name: String,
    /// Versions to choose from, newest first.
    versions: Vec<i32>,
    datasets: Vec<DatasetView>,
    tests: Vec<AbTestView>,
}

/// The tool's A/B tests and the form to start one.
pub(super) async fn list(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
) -> PageResult {
    let caller = account(&user)?;
    let tool = api::creators_tool(&state, &caller.0, id).await?;
    let page = api::AbTestPage {
        limit: Some(50),
        cursor: None,
    };
    let tests = api::tool_ab_tests(&state, &caller.0, id, &page)
        .await?
        .ab_tests;
    let datasets = super::form_datasets(state, caller).await?;
    Ok(render(&AbTestsPage {
        chrome: Chrome::of(&user, "tools"),
        tool_id: tool.id,
        versions: (1..=tool.current_version).rev().collect(),
        tool_name: tool.name,
        datasets,
        tests,
    }))
}

#[derive(Deserialize)]
pub(super) struct StartForm {
    csrf: String,
    version_a: String,
    version_b: String,
    dataset_id: String,
    seed: Option<String>,
}

/// Starts an A/B test and shows it.
pub(super) async fn start(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<StartForm>,
) -> PageResult {
    let caller = acting(&user, &form.csrf)?;
    let mut request = json!({
        "version_a": number(&form.version_a),
        "version_b": number(&form.version_b),
        "dataset_ids": [form.dataset_id],
    });
    if let Some(seed) = form
        .seed
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        request["seed"] = number(seed);
    }
    let (_, started) =
        api::create_ab_test(State(state), caller, ApiPath(id), ApiJson(body(request)?)).await?;
    Ok(Redirect::to(&format!("/tools/{id}/ab-tests/{}", started.0.ab_test.id)).into_response())
}

#[derive(Template)]
#[template(path = "ab_test.html")]
struct AbTestPage {
    chrome: Chrome,
    tool_name: String,
    test: AbTestView,
    /// The same two versions across renters' sessions (aggregates, or how many renters are
    /// still needed).
    renters: RenterComparison,
    /// Each version's aggregate, when shown: `(version, aggregate)`.
    renter_rows: Vec<(i32, VersionAggregate)>,
}

/// One A/B test and its result.
pub(super) async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path((id, test_id)): Path<(Uuid, Uuid)>,
) -> PageResult {
    let caller = account(&user)?;
    let tool = api::creators_tool(&state, &caller.0, id).await?;
    let test = api::find_ab_test(&state, &caller.0, tool.id, test_id).await?;
    let query = body(json!({"version_a": test.version_a, "version_b": test.version_b}))?;
    let renters = api::compare_ab_renters(State(state), caller, ApiPath(id), ApiQuery(query))
        .await?
        .0;
    let renter_rows = [&renters.version_a, &renters.version_b]
        .into_iter()
        .filter_map(|side| side.aggregate.clone().map(|g| (side.version, g)))
        .collect();
    Ok(render(&AbTestPage {
        chrome: Chrome::of(&user, "tools"),
        tool_name: tool.name,
        test,
        renters,
        renter_rows,
    }))
}

/// A verdict in words.
pub(crate) fn verdict_text(v: &shared::domain::ab_test::Verdict) -> &'static str {
    use shared::domain::ab_test::Verdict;
    match v {
        Verdict::BBetter => "B is better",
        Verdict::ABetter => "A is better",
        Verdict::NoSignificantDifference => "no significant difference",
    }
}

/// A Unix time as its UTC date.
pub(crate) fn date(t: &i64) -> String {
    chrono::DateTime::from_timestamp(*t, 0)
        .map_or_else(|| t.to_string(), |d| d.format("%Y-%m-%d").to_string())
}
