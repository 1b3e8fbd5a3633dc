//! A creator's analytics: earnings per tool and month, subscribers and churn, and for each of
//! their tools the subscribers per month (charts drawn by the API's plot routes from the same
//! numbers the stats routes answer); and the forecast of their tools' renewal revenue and
//! demand (see [`super::forecasts`]).

use askama::Template;
use axum::extract::State;
use shared::domain::stats::CreatorStats;

use super::account;
use super::forecasts::{ForecastView, HorizonParam};
use crate::routes::forecasts::compute;
use crate::routes::stats::creator_stats;
use crate::state::AppState;
use crate::web::extract::Query;
use crate::web::{Chrome, PageResult, SignedIn, render};

#[derive(Template)]
#[template(path = "creator.html")]
struct CreatorPage {
    chrome: Chrome,
    stats: CreatorStats,
    churn: String,
    fc: ForecastView,
    page: &'static str,
    revenue_plot: &'static str,
    demand_plots: bool,
}

pub(super) async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<HorizonParam>,
) -> PageResult {
    let caller = account(&user)?;
    let horizon = q.months()?;
    let forecast = compute(&state, Some(caller.0.id), horizon).await?;
    let stats = creator_stats(State(state), caller).await?.0;
    Ok(render(&CreatorPage {
        chrome: Chrome::of(&user, "creator"),
        churn: format!("{:.1}%", stats.churn.rate * 100.0),
        stats,
        fc: ForecastView::of(&forecast),
        page: "/creator",
        revenue_plot: "/v1/creators/me/forecast/plots/revenue.svg",
        demand_plots: true,
    }))
}
