//! `marketplace-scheduler`: the billing scheduler for distributed mode.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use scheduler::Scheduler;
use shared::clock::SystemClock;
use shared::config::Settings;
use tokio_util::sync::CancellationToken;

/// Renews, bills and expires subscriptions on the configured cron
/// (`MARKETPLACE_SCHEDULER_CRON`); several may run, a pass is never run twice at once. Reads
/// `DATABASE_URL` and the other `MARKETPLACE_*` settings like every role.
#[derive(Debug, Parser)]
#[command(name = "marketplace-scheduler", version)]
struct Cli {
    /// Serve Prometheus metrics (billing passes, their duration, renewals, recoveries,
    /// failed charges and expiries) at `http://ADDR/metrics`, for example `0.0.0.0:9102`.
    #[arg(long, env = "MARKETPLACE_SCHEDULER_METRICS_ADDR", value_name = "ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(settings) = Settings::load_for("marketplace-scheduler") else {
        return ExitCode::from(2);
    };
    shared::telemetry::init_for("marketplace-scheduler", &settings);
    if let Some(addr) = cli.metrics_addr {
        if let Err(e) = shared::telemetry::serve_metrics(addr) {
            eprintln!("marketplace-scheduler: {e:#}");
            return ExitCode::from(1);
        }
        tracing::info!(%addr, "serving metrics at /metrics");
    }
    let store = match shared::store::connect(&settings.database).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("marketplace-scheduler: cannot connect to the store: {e:#}");
            return ExitCode::from(1);
        }
    };
    let token = CancellationToken::new();
    let stop = token.clone();
    let signal = shared::shutdown::signal();
    tokio::spawn(async move {
        signal.await;
        stop.cancel();
    });
    match Scheduler::new(Arc::new(settings), store, Arc::new(SystemClock))
        .run(token)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("marketplace-scheduler: {e:#}");
            ExitCode::from(1)
        }
    }
}
