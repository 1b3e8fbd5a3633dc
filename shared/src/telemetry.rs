//! Tracing set-up shared by every binary: `RUST_LOG` overrides the configured filter; JSON lines
//! in production, pretty output locally.

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{EnvFilter, layer::SubscriberExt};

use crate::config::{LogFormat, Settings};

/// Builds a subscriber writing to `sink`.
pub fn get_subscriber<W>(
    default_filter: &str,
    format: LogFormat,
    sink: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => {
            Box::new(registry.with(tracing_subscriber::fmt::layer().json().with_writer(sink)))
        }
        LogFormat::Pretty => {
            Box::new(registry.with(tracing_subscriber::fmt::layer().with_writer(sink)))
        }
    }
}

/// Installs `subscriber` as the global default; a second call (tests) is ignored.
pub fn init_subscriber(subscriber: Box<dyn Subscriber + Send + Sync>) {
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Installs the configured subscriber on stdout and logs the effective configuration of `bin`
/// with secrets redacted.
pub fn init_for(bin: &str, settings: &Settings) {
    init_subscriber(get_subscriber(
        &settings.telemetry.filter,
        settings.telemetry.format,
        std::io::stdout,
    ));
    tracing::info!(config = %settings.redacted(), "starting {bin}");
}
