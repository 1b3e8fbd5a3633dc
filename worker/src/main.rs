//! `marketplace-worker`: a worker process for distributed mode.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use shared::config::Settings;
use tokio_util::sync::CancellationToken;
use worker::Worker;

/// Takes jobs from the marketplace's queues. Reads `DATABASE_URL`, `REDIS_URL` and the other
/// `MARKETPLACE_*` settings like every role.
#[derive(Debug, Parser)]
#[command(name = "marketplace-worker", version)]
struct Cli {
    /// Jobs run at once.
    #[arg(long)]
    concurrency: Option<usize>,
    /// Queues to take jobs from, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    queues: Vec<String>,
    /// Serve Prometheus metrics (jobs started, finished, retried and timed, jobs in flight) at
    /// `http://ADDR/metrics`, for example `0.0.0.0:9101`.
    #[arg(long, env = "MARKETPLACE_WORKER_METRICS_ADDR", value_name = "ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(mut settings) = Settings::load_for("marketplace-worker") else {
        return ExitCode::from(2);
    };
    if let Some(c) = cli.concurrency {
        if c == 0 {
            eprintln!("marketplace-worker: invalid --concurrency 0: must be at least 1");
            return ExitCode::from(2);
        }
        settings.worker.concurrency = c;
    }
    if !cli.queues.is_empty() {
        if let Some(bad) = cli
            .queues
            .iter()
            .find(|q| shared::jobs::JobKind::from_queue(q.trim()).is_none())
        {
            let known: Vec<_> = shared::jobs::JobKind::ALL
                .iter()
                .map(|k| k.queue())
                .collect();
            eprintln!(
                "marketplace-worker: invalid --queues {bad}: expected some of {}",
                known.join(", ")
            );
            return ExitCode::from(2);
        }
        settings.worker.queues = cli.queues;
    }
    shared::telemetry::init_for("marketplace-worker", &settings);
    if let Some(addr) = cli.metrics_addr {
        if let Err(e) = shared::telemetry::serve_metrics(addr) {
            eprintln!("marketplace-worker: {e:#}");
            return ExitCode::from(1);
        }
        tracing::info!(%addr, "serving metrics at /metrics");
    }
    let store = match shared::store::connect(&settings.database).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("marketplace-worker: cannot connect to the store: {e:#}");
            return ExitCode::from(1);
        }
    };
    let platform = match platform::Platform::connect(&settings).await {
        Ok(q) => q,
        Err(e) => {
            eprintln!("marketplace-worker: cannot connect to the queue: {e:#}");
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
    match Worker::new(Arc::new(settings), store, platform)
        .run(token)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("marketplace-worker: {e:#}");
            ExitCode::from(1)
        }
    }
}
