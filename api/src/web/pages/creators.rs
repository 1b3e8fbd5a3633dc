//! A creator's analytics: earnings per tool and month, subscribers and churn, and for each of
//! their tools the subscribers per month (charts drawn by the API's plot routes from the same
//! numbers the stats routes answer).

use askama::Template;
use axum::extract::State;
use shared::domain::stats::CreatorStats;

use super::account;
use crate::routes::stats::creator_stats;
use crate::state::AppState;
use crate::web::{Chrome, PageResult, SignedIn, render};

#[derive(Template)]
#[template(path = "creator.html")]
struct CreatorPage {
    chrome: Chrome,
    stats: CreatorStats,
    churn: String,
}

pub(super) async fn show(State(state): State<AppState>, user: SignedIn) -> PageResult {
    let caller = account(&user)?;
    let stats = creator_stats(State(state), caller).await?.0;
    Ok(render(&CreatorPage {
        chrome: Chrome::of(&user, "creator"),
        churn: format!("{:.1}%", stats.churn.rate * 100.0),
        stats,
    }))
}
