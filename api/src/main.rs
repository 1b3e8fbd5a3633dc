//! `marketplace-api`: with no configuration, the whole product (API, worker pool, scheduler) in
//! one process on an embedded SQLite store at 127.0.0.1:8080.

use std::process::ExitCode;

use api::Application;
use shared::config::Settings;
use shared::telemetry::{get_subscriber, init_subscriber};

#[tokio::main]
async fn main() -> ExitCode {
    let env = std::env::vars().collect();
    let settings = match Settings::load(&env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("marketplace-api: {e}");
            return ExitCode::from(2);
        }
    };
    init_subscriber(get_subscriber(
        &settings.telemetry.filter,
        settings.telemetry.format,
        std::io::stdout,
    ));
    tracing::info!(config = %settings.redacted(), "starting marketplace-api");
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("marketplace-api: cannot start: {e:#}");
            return ExitCode::from(1);
        }
    };
    match app.run_until_stopped(shared::shutdown::signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("marketplace-api: {e:#}");
            ExitCode::from(1)
        }
    }
}
