//! `GET /v1/tools/{id}/ab-tests/{test_id}/plots/curves.svg` (or `.png`): the paired cumulative
//! returns of both versions over the out-of-sample bars, drawn from the stored result.

use axum::extract::State;
use axum::response::Response;
use uuid::Uuid;

use super::{creators_tool, find_ab_test};
use crate::auth::AccountCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::routes::plots::{CurvesChart, image};
use crate::state::AppState;

/// The paired cumulative returns of an A/B test's two versions, as SVG or PNG (the tool's
/// creator only; 404 until the test has succeeded).
#[utoipa::path(get, path = "/v1/tools/{id}/ab-tests/{test_id}/plots/{chart}", tag = "plots",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "tool id"), ("test_id" = Uuid, Path, description = "A/B test id"),
        ("chart" = inline(CurvesChart), Path, description = "`curves.svg` or `curves.png`")),
    responses((status = 200, description = "The chart", content((String = "image/svg+xml"), (String = "image/png"))),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub(crate) async fn ab_test_plot(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath((id, test_id, chart)): ApiPath<(Uuid, Uuid, CurvesChart)>,
) -> ApiResult<Response> {
    let tool = creators_tool(&state, &caller, id).await?;
    let result = find_ab_test(&state, &caller, tool.id, test_id)
        .await?
        .result
        .ok_or(ApiError::NotFound("A/B test result"))?;
    let a: Vec<(f64, f64)> = result
        .cumulative
        .iter()
        .map(|p| (p.index as f64, p.a * 100.0))
        .collect();
    let b: Vec<(f64, f64)> = result
        .cumulative
        .iter()
        .map(|p| (p.index as f64, p.b * 100.0))
        .collect();
    let (label_a, label_b) = (
        format!("A: version {}", result.version_a),
        format!("B: version {}", result.version_b),
    );
    let body = charts::lines(
        "Paired cumulative returns",
        "paired out-of-sample bar",
        "cumulative return (%)",
        &[
            charts::Series {
                label: &label_a,
                points: &a,
            },
            charts::Series {
                label: &label_b,
                points: &b,
            },
        ],
    );
    image(chart, body).await
}
