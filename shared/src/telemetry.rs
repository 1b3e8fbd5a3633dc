//! Tracing set-up shared by every binary: `RUST_LOG` overrides the configured filter; JSON lines
//! in production, pretty output locally.

use std::net::SocketAddr;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
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

/// Buckets of request latencies (seconds).
const LATENCY_BUCKETS: [f64; 12] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
/// Buckets of job durations and billing passes (seconds).
const JOB_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0, 300.0, 1_800.0,
];

/// The Prometheus recorder's set-up every binary shares: histogram buckets for request
/// latencies, job durations and billing passes.
pub fn prometheus_builder() -> PrometheusBuilder {
    let plain = PrometheusBuilder::new;
    plain()
        .set_buckets_for_metric(
            Matcher::Full("http_request_duration_seconds".into()),
            &LATENCY_BUCKETS,
        )
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full("job_duration_seconds".into()), &JOB_BUCKETS)
        })
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full("billing_pass_duration_seconds".into()),
                &JOB_BUCKETS,
            )
        })
        .unwrap_or_else(|_| plain())
}

/// Serves the process's metrics at `http://{addr}/metrics` (Prometheus text format) for as
/// long as the process runs: the worker's and the scheduler's `--metrics-addr`. Call inside
/// the tokio runtime, once.
///
/// # Errors
/// When the address cannot be bound or a recorder is installed already.
pub fn serve_metrics(addr: SocketAddr) -> anyhow::Result<()> {
    prometheus_builder()
        .with_http_listener(addr)
        .install()
        .map_err(|e| anyhow::anyhow!("cannot serve metrics on {addr}: {e}"))
}
