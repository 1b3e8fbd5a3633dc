//! `marketplace-scheduler`: the billing scheduler for distributed mode.

use std::process::ExitCode;
use std::sync::Arc;

use scheduler::Scheduler;
use shared::clock::SystemClock;
use shared::config::Settings;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> ExitCode {
    let Some(settings) = Settings::load_for("marketplace-scheduler") else {
        return ExitCode::from(2);
    };
    shared::telemetry::init_for("marketplace-scheduler", &settings);
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
