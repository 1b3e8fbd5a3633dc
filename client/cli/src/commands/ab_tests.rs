//! For creators: A/B tests of a tool's versions (followed live), the cross-renter comparison
//! of two versions, and revenue and demand forecasts.

use anyhow::Result;
use clap::Subcommand;
use client::{AbTestRequest, Client, ForecastStatus};
use uuid::Uuid;

use super::{all, wait};
use crate::output::{Column, Format, Out};

#[derive(Debug, Subcommand)]
pub(crate) enum AbTestCmd {
    /// Starts an A/B test of two versions of your tool on your datasets; with --follow, shows
    /// its progress live and then its verdict.
    Start {
        /// Tool id.
        tool: Uuid,
        /// The control version.
        #[arg(long = "a", value_name = "VERSION")]
        version_a: i32,
        /// The treatment version.
        #[arg(long = "b", value_name = "VERSION")]
        version_b: i32,
        /// Your datasets (repeat, or several after one --dataset).
        #[arg(long = "dataset", value_name = "ID", required = true, num_args = 1..)]
        datasets: Vec<Uuid>,
        /// Significance level (default 0.05).
        #[arg(long)]
        alpha: Option<f64>,
        /// Bootstrap resamples.
        #[arg(long)]
        resamples: Option<usize>,
        /// Seed of the resampling.
        #[arg(long)]
        seed: Option<u64>,
        /// Follow it live, then print the verdict.
        #[arg(long)]
        follow: bool,
    },
    /// An A/B test and, once it succeeded, its statistics and verdict.
    Show {
        /// Tool id.
        tool: Uuid,
        /// A/B test id.
        id: Uuid,
    },
    /// Your tool's A/B tests, newest first.
    List {
        /// Tool id.
        tool: Uuid,
    },
    /// Two versions across renters' sessions (aggregates only, once each has enough renters).
    Renters {
        /// Tool id.
        tool: Uuid,
        /// One version.
        #[arg(long = "a", value_name = "VERSION")]
        version_a: i32,
        /// The other.
        #[arg(long = "b", value_name = "VERSION")]
        version_b: i32,
    },
}

const TEST: &[Column] = &[
    ("id", "/id"),
    ("tool", "/tool_id"),
    ("version a", "/version_a"),
    ("version b", "/version_b"),
    ("status", "/status"),
    ("verdict", "/verdict"),
    ("bars paired", "/result/bars"),
    ("sharpe a", "/result/sharpe/a"),
    ("sharpe b", "/result/sharpe/b"),
    ("sharpe b - a", "/result/sharpe/difference"),
    ("ci low", "/result/sharpe/ci_low"),
    ("ci high", "/result/sharpe/ci_high"),
    ("p-value", "/result/sharpe/p_value"),
    ("mean return b - a", "/result/mean_return/difference"),
    ("mean return p-value", "/result/mean_return/p_value"),
    ("alpha", "/result/test/alpha"),
    ("test", "/result/test/name"),
    ("message", "/message"),
    ("error", "/error/detail"),
];

const TESTS: &[Column] = &[
    ("id", "/id"),
    ("version a", "/version_a"),
    ("version b", "/version_b"),
    ("status", "/status"),
    ("verdict", "/verdict"),
    ("created", "/created_at"),
];

const RENTERS: &[Column] = &[
    ("version", "/version"),
    ("renters needed", "/renters_needed"),
    ("renters", "/aggregate/renters"),
    ("records", "/aggregate/records"),
    ("sharpe (mean)", "/aggregate/sharpe/mean"),
    ("total return (mean)", "/aggregate/total_return/mean"),
    ("success rate (mean)", "/aggregate/success_rate/mean"),
    ("improvement (median)", "/aggregate/improvement/median"),
];

pub(crate) async fn ab_tests(client: &Client, out: Out, cmd: &AbTestCmd) -> Result<()> {
    match cmd {
        AbTestCmd::Start {
            tool,
            version_a,
            version_b,
            datasets,
            alpha,
            resamples,
            seed,
            follow,
        } => {
            let request = AbTestRequest {
                alpha: *alpha,
                resamples: *resamples,
                seed: *seed,
                ..AbTestRequest::new(*version_a, *version_b, datasets.iter().copied())
            };
            let test = client.start_ab_test(*tool, &request).await?;
            if !follow {
                out.one(&test, TEST);
                return Ok(());
            }
            // The test's id is its job's.
            let job = client.get_job(test.id).await?;
            wait(client, out, &[&job], "A/B testing", false).await?;
            out.one(&client.get_ab_test(*tool, test.id).await?, TEST);
        }
        AbTestCmd::Show { tool, id } => out.one(&client.get_ab_test(*tool, *id).await?, TEST),
        AbTestCmd::List { tool } => out.list(&all(client.list_ab_tests(*tool)).await?, TESTS),
        AbTestCmd::Renters {
            tool,
            version_a,
            version_b,
        } => {
            let c = client
                .compare_renters(*tool, *version_a, *version_b)
                .await?;
            if out.format == Format::Json && !out.quiet {
                out.one(&c, &[]);
            } else {
                if !c.shown {
                    out.note(format!(
                        "aggregates are shown once each version has {} distinct renters",
                        c.min_renters
                    ));
                }
                out.list(&[&c.version_a, &c.version_b], RENTERS);
            }
        }
    }
    Ok(())
}

/// A forecast horizon: 3, 6 or 12 months.
pub(crate) fn horizon(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(h @ (3 | 6 | 12)) => Ok(h),
        _ => Err("must be 3, 6 or 12 (months)".into()),
    }
}

const FORECAST: &[Column] = &[
    ("scope", "/scope"),
    ("generated", "/generated_at"),
    ("horizon (months)", "/horizon_months"),
    ("interval level", "/level"),
    ("revenue", "/revenue/status"),
    ("history (months)", "/revenue/history_months"),
    ("required (months)", "/revenue/required_months"),
    ("detail", "/revenue/detail"),
    ("backtest MAPE %", "/revenue/accuracy/mape"),
    ("backtest coverage", "/revenue/accuracy/coverage"),
];

const MONTHS: &[Column] = &[
    ("month", "/start"),
    ("scheduled renewals", "/scheduled_renewals"),
    ("scheduled", "$/scheduled"),
    ("expected renewals", "/expected_renewals"),
    ("forecast", "$/point"),
    ("low (95%)", "$/lower"),
    ("high (95%)", "$/upper"),
];

const DEMAND: &[Column] = &[
    ("tool", "/tool_id"),
    ("name", "/tool_name"),
    ("status", "/status"),
    ("history (weeks)", "/history_weeks"),
    ("model", "/model"),
    ("next week", "/weeks/0/point"),
    ("low (95%)", "/weeks/0/lower"),
    ("high (95%)", "/weeks/0/upper"),
    ("backtest MAE", "/accuracy/mae"),
];

/// `marketplace forecast`: the caller's forecast, or the marketplace's with the operator's
/// key.
pub(crate) async fn forecast(
    client: &Client,
    out: Out,
    horizon: u32,
    marketplace: bool,
) -> Result<()> {
    let f = if marketplace {
        client.marketplace_forecast(horizon).await?
    } else {
        client.creator_forecast(horizon).await?
    };
    out.one(&f, FORECAST);
    if out.quiet || out.format == Format::Json {
        return Ok(());
    }
    if f.revenue.status == ForecastStatus::InsufficientHistory {
        out.note("revenue: insufficient history for a forecast yet");
    } else {
        out.list(&f.revenue.months, MONTHS);
    }
    if !f.demand.tools.is_empty() {
        out.list(&f.demand.tools, DEMAND);
    }
    Ok(())
}
