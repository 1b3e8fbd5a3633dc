//! Prometheus metrics at `GET /metrics`: HTTP requests and latencies by route (recorded by a
//! middleware), jobs enqueued (here) and finished, retried and timed (by the worker runtime,
//! visible here when the worker runs in this process), and, read from the store at scrape time
//! so they cover the whole fleet, per-queue depth (`jobs_queued`, `jobs_running`) and live
//! workers' jobs in flight.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::error::ApiResult;
use crate::state::AppState;

/// The process-wide recorder (installed once; every app in the process shares it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = shared::telemetry::prometheus_builder().build_recorder();
        let handle = recorder.handle();
        // Fails only when another recorder is installed already (then that one records).
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Counts and times every request by method, matched route and status.
pub(crate) async fn track_http(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "path" => path.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "path" => path)
        .record(started.elapsed().as_secs_f64());
    res
}

/// `GET /metrics` in the Prometheus text format.
pub(crate) async fn render(
    _reader: crate::auth::MetricsReader,
    State(state): State<AppState>,
) -> ApiResult<Response> {
    for q in state.store.queue_counts().await? {
        let queue = q.queue.clone();
        metrics::gauge!("jobs_queued", "queue" => queue.clone()).set(q.queued as f64);
        metrics::gauge!("jobs_running", "queue" => queue).set(q.running as f64);
    }
    let since = state.job_now()
        - chrono::Duration::seconds(
            i64::try_from(state.settings.worker.heartbeat_secs.max(1) * 3).unwrap_or(15),
        );
    let workers = state.store.live_workers(since).await?;
    metrics::gauge!("workers_live").set(workers.len() as f64);
    metrics::gauge!("jobs_in_flight")
        .set(workers.iter().map(|w| f64::from(w.in_flight)).sum::<f64>());
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle().render(),
    )
        .into_response())
}

/// Counts a request refused for its rate (`http_rate_limited_total`).
pub(crate) fn rate_limited() {
    metrics::counter!("http_rate_limited_total").increment(1);
}
