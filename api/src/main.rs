//! `marketplace-api`: with no configuration, the whole product (API, worker pool, scheduler) in
//! one process on an embedded SQLite store at 127.0.0.1:8080.

use std::process::ExitCode;

use api::Application;
use shared::config::Settings;

#[tokio::main]
async fn main() -> ExitCode {
    let Some(settings) = Settings::load_for("marketplace-api") else {
        return ExitCode::from(2);
    };
    shared::telemetry::init_for("marketplace-api", &settings);
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
