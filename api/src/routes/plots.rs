//! Plots and exports: every chart the dashboard shows is an SVG (and a PNG) at a documented URL,
//! drawn from the stored numbers (the `charts` crate), so a notebook or a report can embed it; the trials
//! of a study and its equity curves are also CSV. Reads only: a signed-in browser reaches them
//! with its cookie, anything else with a bearer key. The same visibility as the JSON routes:
//! a record's study for its session's owner and its tool's creator, its equity curves (drawn
//! from the renter's data) for the owner only; a dataset for its owner.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use shared::domain::OptimizationTrial;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::AccountCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use crate::views::RecordView;

mod analytics;
mod curves;
mod image;

pub(crate) use curves::EquityCurves;
pub(crate) use image::image;
pub use image::{CurvesChart, DepthChart, EarningsChart, PriceChart, SubscribersChart};
pub use image::{DemandForecastChart, RevenueForecastChart};
use image::{Format, csv};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(optimization_plot))
        .routes(routes!(trials_csv))
        .routes(routes!(equity_csv))
        .routes(routes!(dataset_price_plot))
        .routes(routes!(training_curves_plot))
        .merge(analytics::router())
}

/// Most trials a plot or an export reads.
const MAX_TRIALS: i64 = 100_000;
/// Most points of a price chart (the series is thinned to this many).
const MAX_PRICE_POINTS: usize = 2_000;

/// A chart of an optimization record, as SVG or PNG (`history.png`, ...: twice the SVG's size).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum OptimizationPlot {
    /// Each trial's score in order, with the best so far.
    #[serde(rename = "history.svg")]
    History,
    /// One line per trial across the parameters' axes and the score.
    #[serde(rename = "parallel.svg")]
    Parallel,
    /// The share of the score's variance each parameter explains on its own.
    #[serde(rename = "importance.svg")]
    Importance,
    /// The score against one parameter (`param`, default the most important).
    #[serde(rename = "slice.svg")]
    Slice,
    /// Return and drawdown over time of the parameters before and after, with the trades and
    /// the out-of-sample span (the session's owner only).
    #[serde(rename = "equity.svg")]
    Equity,
    /// `history.svg` as PNG.
    #[serde(rename = "history.png")]
    HistoryPng,
    /// `parallel.svg` as PNG.
    #[serde(rename = "parallel.png")]
    ParallelPng,
    /// `importance.svg` as PNG.
    #[serde(rename = "importance.png")]
    ImportancePng,
    /// `slice.svg` as PNG.
    #[serde(rename = "slice.png")]
    SlicePng,
    /// `equity.svg` as PNG.
    #[serde(rename = "equity.png")]
    EquityPng,
}

/// The charts of a record's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Study {
    History,
    Parallel,
    Importance,
    Slice,
    Equity,
}

impl OptimizationPlot {
    fn split(self) -> (Study, Format) {
        use OptimizationPlot as P;
        match self {
            P::History => (Study::History, Format::Svg),
            P::Parallel => (Study::Parallel, Format::Svg),
            P::Importance => (Study::Importance, Format::Svg),
            P::Slice => (Study::Slice, Format::Svg),
            P::Equity => (Study::Equity, Format::Svg),
            P::HistoryPng => (Study::History, Format::Png),
            P::ParallelPng => (Study::Parallel, Format::Png),
            P::ImportancePng => (Study::Importance, Format::Png),
            P::SlicePng => (Study::Slice, Format::Png),
            P::EquityPng => (Study::Equity, Format::Png),
        }
    }
}

/// Query of a record's plots.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PlotQuery {
    /// The parameter of a slice plot.
    pub param: Option<String>,
}

async fn trials_of(state: &AppState, id: Uuid) -> ApiResult<Vec<OptimizationTrial>> {
    Ok(state
        .store
        .optimization_trials(id, None, MAX_TRIALS)
        .await?)
}

/// A parameter's name and the range its axis spans.
type ParamRange = (String, f64, f64);
/// A trial's parameter values (in the table's order) and its score.
type TrialRow = (Vec<f64>, f64);

/// The numeric parameters of a study's trials, each with its range (the family's, widened to
/// the values seen), and each trial's values in that order with its score.
fn parameter_table(
    family: Option<&str>,
    trials: &[OptimizationTrial],
) -> (Vec<ParamRange>, Vec<TrialRow>) {
    let mut names: Vec<String> = trials
        .first()
        .map(|t| {
            t.params
                .iter()
                .filter(|(_, v)| v.is_number())
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let schema = family.and_then(shared::domain::families::get);
    let rows: Vec<(Vec<f64>, f64)> = trials
        .iter()
        .filter_map(|t| {
            let score = t.score.filter(|s| s.is_finite())?;
            let values = names
                .iter()
                .map(|n| t.params.get(n).and_then(Value::as_f64).unwrap_or(f64::NAN))
                .collect();
            Some((values, score))
        })
        .collect();
    let ranges = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let spec = schema.and_then(|s| s.parameters.iter().find(|p| p.name == n));
            let seen = rows.iter().map(|(v, _)| v[i]).filter(|v| v.is_finite());
            let (lo, hi) = seen.fold(
                spec.map_or((f64::INFINITY, f64::NEG_INFINITY), |p| (p.min, p.max)),
                |(lo, hi), v| (lo.min(v), hi.max(v)),
            );
            (n.clone(), lo, hi)
        })
        .collect();
    (ranges, rows)
}

/// A chart of an optimization record, as SVG or PNG: the study's history, parallel
/// coordinates, parameter importance, a slice, or the equity curves before and after (owner
/// only).
#[utoipa::path(get, path = "/v1/optimizations/{id}/plots/{plot}", tag = "plots",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "record id"),
        ("plot" = OptimizationPlot, Path, description = "which chart"), PlotQuery),
    responses((status = 200, description = "The chart", content((String = "image/svg+xml"), (String = "image/png"))),
        (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub(crate) async fn optimization_plot(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath((id, plot)): ApiPath<(Uuid, OptimizationPlot)>,
    ApiQuery(q): ApiQuery<PlotQuery>,
) -> ApiResult<Response> {
    let record = super::promotions::visible_record(&state, &caller, id).await?;
    let (chart, format) = plot.split();
    if chart == Study::Equity {
        return image(format, equity_chart(&record)?).await;
    }
    let trials = trials_of(&state, id).await?;
    let family = state.store.tool(record.tool_id).await?.map(|t| t.family);
    let title_of = |what: &str| format!("{what} · {} trials", trials.len());
    let body = match chart {
        Study::History => {
            let points: Vec<(u64, f64)> = trials
                .iter()
                .map(|t| (t.trial, t.score.unwrap_or(f64::NAN)))
                .collect();
            charts::history(&title_of("Optimization history"), &points)
        }
        Study::Parallel => {
            let (ranges, rows) = parameter_table(family.as_deref(), &trials);
            let params: Vec<charts::Param<'_>> = ranges
                .iter()
                .map(|(name, low, high)| charts::Param {
                    name,
                    low: *low,
                    high: *high,
                })
                .collect();
            charts::parallel_coordinates(&title_of("Parallel coordinates"), &params, &rows)
        }
        Study::Importance => {
            let (ranges, rows) = parameter_table(family.as_deref(), &trials);
            let names: Vec<&str> = ranges.iter().map(|(n, _, _)| n.as_str()).collect();
            let shares = charts::importance_of(&names, &rows);
            charts::importance(&title_of("Parameter importance"), &shares)
        }
        Study::Slice => {
            let (ranges, rows) = parameter_table(family.as_deref(), &trials);
            let names: Vec<&str> = ranges.iter().map(|(n, _, _)| n.as_str()).collect();
            let param = match q.param {
                Some(p) => p,
                None => charts::importance_of(&names, &rows)
                    .into_iter()
                    .next()
                    .map(|(n, _)| n)
                    .unwrap_or_default(),
            };
            let Some(i) = names.iter().position(|n| *n == param) else {
                return Err(ApiError::invalid(
                    "param",
                    format!(
                        "the study has no numeric parameter `{param}`; it has: {}",
                        names.join(", ")
                    ),
                ));
            };
            let points: Vec<(f64, f64)> = rows.iter().map(|(v, s)| (v[i], *s)).collect();
            charts::slice(
                &title_of(&format!("Score against {param}")),
                &param,
                &points,
            )
        }
        Study::Equity => unreachable!("answered above"),
    };
    image(format, body).await
}

/// The record's equity curves, for its session's owner.
fn owner_curves(record: &RecordView) -> ApiResult<EquityCurves> {
    if record.dataset_id.is_none() {
        // The tool's creator sees the record, never a curve drawn from the renter's data.
        return Err(ApiError::NotFound("equity curves"));
    }
    EquityCurves::of(record).ok_or(ApiError::NotFound("equity curves"))
}

fn equity_chart(record: &RecordView) -> ApiResult<String> {
    let curves = owner_curves(record)?;
    Ok(curves.chart())
}

/// Every trial of a record as CSV: `trial,score,num_trades,sharpe,<parameters...>`.
#[utoipa::path(get, path = "/v1/optimizations/{id}/trials.csv", tag = "plots",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "record id")),
    responses((status = 200, description = "The trials", content_type = "text/csv", body = String),
        (status = 404, body = crate::error::Problem)))]
pub(crate) async fn trials_csv(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    super::promotions::visible_record(&state, &caller, id).await?;
    let trials = trials_of(&state, id).await?;
    let mut names: Vec<String> = trials
        .first()
        .map(|t| t.params.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    let mut out = String::from("trial,score,num_trades,sharpe");
    for n in &names {
        out.push(',');
        out.push_str(&curves::csv_field(n));
    }
    out.push('\n');
    for t in &trials {
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        out.push_str(&format!(
            "{},{},{},{}",
            t.trial,
            opt(t.score),
            t.num_trades,
            opt(t.sharpe)
        ));
        for n in &names {
            out.push(',');
            let v = t.params.get(n).map_or(String::new(), |v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            out.push_str(&curves::csv_field(&v));
        }
        out.push('\n');
    }
    Ok(csv(&format!("trials-{id}.csv"), out))
}

/// The equity curves before and after of a record as CSV (its session's owner only):
/// `curve,time,equity,return` per point, then the trades of the parameters after.
#[utoipa::path(get, path = "/v1/optimizations/{id}/equity.csv", tag = "plots",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "record id")),
    responses((status = 200, description = "The curves", content_type = "text/csv", body = String),
        (status = 404, body = crate::error::Problem)))]
pub(crate) async fn equity_csv(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let record = super::promotions::visible_record(&state, &caller, id).await?;
    let curves = owner_curves(&record)?;
    Ok(csv(&format!("equity-{id}.csv"), curves.csv()))
}

/// A dataset's close prices over time, as SVG or PNG (thinned to 2,000 points, keeping each
/// span's first, lowest, highest and last close).
#[utoipa::path(get, path = "/v1/datasets/{id}/plots/{chart}", tag = "plots",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "dataset id"),
        ("chart" = inline(PriceChart), Path, description = "`price.svg` or `price.png`")),
    responses((status = 200, description = "The chart", content((String = "image/svg+xml"), (String = "image/png"))),
        (status = 404, body = crate::error::Problem)))]
pub(crate) async fn dataset_price_plot(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath((id, chart)): ApiPath<(Uuid, PriceChart)>,
) -> ApiResult<Response> {
    let dataset = state
        .store
        .dataset(caller.id, id)
        .await?
        .ok_or(ApiError::NotFound("dataset"))?;
    let bars = state
        .store
        .dataset_bars(dataset.id)
        .await?
        .ok_or(ApiError::NotFound("dataset"))?;
    let body = tokio::task::spawn_blocking(move || {
        let points = curves::thin_extremes(&bars.time, &bars.close, MAX_PRICE_POINTS);
        charts::price(&dataset.name, &points)
    })
    .await
    .map_err(|e| ApiError::Unexpected(anyhow::Error::new(e)))?;
    image(chart, body).await
}

/// A training run's learning curves, as SVG or PNG (its creator only): loss per epoch (deep
/// learning), reward per episode (Q-learning) or best score per trial (optimization engine).
#[utoipa::path(get, path = "/v1/trainings/{id}/plots/{chart}", tag = "plots",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "training run id"),
        ("chart" = inline(CurvesChart), Path, description = "`curves.svg` or `curves.png`")),
    responses((status = 200, description = "The chart", content((String = "image/svg+xml"), (String = "image/png"))),
        (status = 404, body = crate::error::Problem)))]
pub(crate) async fn training_curves_plot(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath((id, chart)): ApiPath<(Uuid, CurvesChart)>,
) -> ApiResult<Response> {
    let run = super::trainings::owned_run(&state, &caller, id).await?;
    let curves = run.result.map(|r| r.curves).unwrap_or(Value::Null);
    let series = curves::training_series(&curves);
    let charted: Vec<charts::Series<'_>> = series
        .iter()
        .map(|(label, points)| charts::Series { label, points })
        .collect();
    let x_label = if curves.get("loss").is_some() {
        "epoch"
    } else if curves.get("reward").is_some() {
        "episode"
    } else {
        "trial"
    };
    let body = charts::lines(
        &format!("{} training", run.method.as_str()),
        x_label,
        "value",
        &charted,
    );
    image(chart, body).await
}
