//! Forecasts on the dashboard: the creator page's forecast of their own tools and the operator's
//! forecast page of the whole marketplace, both with the horizon chosen by a link (3, 6 or 12
//! months), the renewal revenue chart and table, and each tool's demand. The numbers are the
//! forecast routes' (`routes::forecasts`), the charts their plot routes'.

use askama::Template;
use axum::extract::State;
use serde::Deserialize;
use shared::domain::Money;
use shared::domain::forecast::{Forecast, ForecastStatus, HORIZONS};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::forecasts::{compute, parse_horizon};
use crate::state::AppState;
use crate::web::extract::Query;
use crate::web::{Chrome, PageError, PageResult, SignedIn, render};

/// The page's `?horizon=`, as typed (empty is the default).
#[derive(Debug, Default, Deserialize)]
pub(super) struct HorizonParam {
    #[serde(default)]
    horizon: String,
}

impl HorizonParam {
    /// The horizon, or the API's 422 as the page's error.
    pub(super) fn months(&self) -> Result<u32, PageError> {
        let raw = self.horizon.trim();
        Ok(parse_horizon((!raw.is_empty()).then_some(raw))?)
    }
}

/// One forecast month as the table shows it.
pub(super) struct MonthRow {
    pub(super) start: String,
    pub(super) scheduled: Money,
    pub(super) point: Money,
    pub(super) lower: Money,
    pub(super) upper: Money,
}

/// One tool's demand as the table shows it.
pub(super) struct ToolRow {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) next_week: String,
    pub(super) model: String,
    pub(super) error: String,
    pub(super) history: String,
}

/// What the forecast section of a page shows.
pub(super) struct ForecastView {
    pub(super) horizon: u32,
    pub(super) horizons: [u32; 3],
    pub(super) revenue_ok: bool,
    pub(super) detail: String,
    pub(super) rates: String,
    pub(super) accuracy: String,
    pub(super) months: Vec<MonthRow>,
    pub(super) tools: Vec<ToolRow>,
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

impl ForecastView {
    pub(super) fn of(f: &Forecast) -> Self {
        let r = &f.revenue;
        let rates = r.rates.as_ref().map_or_else(String::new, |x| {
            format!(
                "{} of {} renewals due were paid ({}); churn {}, first charges failed {}, recovered {}",
                x.paid,
                x.renewals_due,
                percent(x.survival),
                percent(x.churn),
                percent(x.failure),
                x.recovery.map_or_else(|| "n/a".to_owned(), percent),
            )
        });
        let accuracy = r.accuracy.as_ref().map_or_else(String::new, |a| {
            format!(
                "backtest over {} months: MAPE {}, {} of months inside the interval",
                a.months,
                a.mape
                    .map_or_else(|| "n/a".to_owned(), |m| format!("{m:.1}%")),
                percent(a.coverage),
            )
        });
        Self {
            horizon: f.horizon_months,
            horizons: HORIZONS,
            revenue_ok: r.status == ForecastStatus::Ok,
            detail: r.detail.clone().unwrap_or_default(),
            rates,
            accuracy,
            months: r
                .months
                .iter()
                .map(|m| MonthRow {
                    start: m.start.date_naive().to_string(),
                    scheduled: m.scheduled,
                    point: m.point,
                    lower: m.lower,
                    upper: m.upper,
                })
                .collect(),
            tools: f
                .demand
                .tools
                .iter()
                .map(|t| ToolRow {
                    id: t.tool_id.to_string(),
                    name: t.tool_name.clone(),
                    next_week: t.weeks.first().map_or_else(
                        || {
                            format!(
                                "needs {} weeks of history, has {}",
                                t.required_weeks, t.history_weeks
                            )
                        },
                        |w| format!("{:.1} ({:.1} to {:.1})", w.point, w.lower, w.upper),
                    ),
                    model: t.model.clone().unwrap_or_default(),
                    error: t.accuracy.as_ref().map_or_else(String::new, |a| {
                        format!(
                            "MAE {:.2}/week, MAPE {}",
                            a.mae,
                            a.mape
                                .map_or_else(|| "n/a".to_owned(), |m| format!("{m:.0}%"))
                        )
                    }),
                    history: t
                        .history
                        .iter()
                        .map(|w| w.count.to_string())
                        .collect::<Vec<_>>()
                        .join(" "),
                })
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "operator_forecast.html")]
struct OperatorForecastPage {
    chrome: Chrome,
    fc: ForecastView,
    page: &'static str,
    revenue_plot: &'static str,
    demand_plots: bool,
}

/// The marketplace's forecast (operators; a 404 page for accounts).
pub(super) async fn operator_forecast(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<HorizonParam>,
) -> PageResult {
    // The operators' pages do not exist for an account's sign-in (as the API's routes).
    if !matches!(user.caller, Caller::Admin) {
        return Err(ApiError::NotFound("page").into());
    }
    let horizon = q.months()?;
    let f = compute(&state, None, horizon).await?;
    Ok(render(&OperatorForecastPage {
        chrome: Chrome::of(&user, "operator"),
        fc: ForecastView::of(&f),
        page: "/operator/forecast",
        revenue_plot: "/v1/stats/marketplace/forecast/plots/revenue.svg",
        demand_plots: false,
    }))
}
