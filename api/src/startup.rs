//! Builds the application: store, state, router with its layers, and (in embedded mode) the
//! worker pool and scheduler in the same runtime. `main` and the tests both go through
//! [`Application::build`], so tests drive exactly what production runs.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderName;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use shared::clock::{ManualClock, SharedClock, SystemClock};
use shared::config::PaymentMode;
use shared::config::Settings;
use shared::payments::{PaymentProvider, SandboxPaymentProvider};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::error::{ApiError, Problem, problem_response};
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A built application, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Connects the store (migrating it), binds the listener and builds the router. In sandbox
    /// mode the clock is a manual one an admin can move (starting at the real time); otherwise
    /// the system clock.
    ///
    /// # Errors
    /// When the store cannot be reached or the address cannot be bound.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        if settings.sandbox {
            let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
            Self::build_with_clock(settings, clock).await
        } else {
            Self::assemble(settings, Arc::new(SystemClock), None).await
        }
    }

    /// [`Application::build`] on a manual clock (tests). In sandbox mode the admin clock
    /// routes move this clock.
    ///
    /// # Errors
    /// As [`Application::build`].
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<ManualClock>,
    ) -> anyhow::Result<Self> {
        let sandbox = settings.sandbox.then(|| clock.clone());
        Self::assemble(settings, clock, sandbox).await
    }

    async fn assemble(
        settings: Settings,
        clock: SharedClock,
        sandbox_clock: Option<Arc<ManualClock>>,
    ) -> anyhow::Result<Self> {
        let store = shared::store::connect(&settings.database).await?;
        let jobs = platform::Platform::connect(&settings).await?;
        crate::metrics::handle();
        let listener = TcpListener::bind(settings.api.bind).await?;
        let payments: Option<Arc<dyn PaymentProvider>> = match settings.payment_mode() {
            PaymentMode::Sandbox => Some(Arc::new(SandboxPaymentProvider)),
            PaymentMode::None => None,
        };
        let state = AppState {
            cookie_key: crate::web::auth::cookie_key(&settings.api),
            jobs,
            store,
            settings: Arc::new(settings),
            clock,
            payments,
            sandbox_clock,
            streams: Arc::default(),
        };
        let router = app(state.clone());
        Ok(Self {
            listener,
            router,
            state,
        })
    }

    /// The address actually bound (port 0 resolved).
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The shared state (tests reach the store through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests and stops the embedded
    /// roles.
    ///
    /// # Errors
    /// When serving fails or an embedded role fails.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let token = CancellationToken::new();
        let roles = spawn_embedded_roles(&self.state, &token);
        tracing::info!(address = %self.listener.local_addr()?, "marketplace API listening");
        let stop = token.clone();
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            tokio::select! {
                () = shutdown => {}
                () = stop.cancelled() => {}
            }
        })
        .await?;
        token.cancel();
        for role in roles {
            role.await??;
        }
        tracing::info!("marketplace API stopped");
        Ok(())
    }
}

type RoleHandle = tokio::task::JoinHandle<anyhow::Result<()>>;

/// Embedded mode (no Redis configured): the worker pool and the scheduler run in this process.
#[cfg(feature = "embedded")]
fn spawn_embedded_roles(state: &AppState, token: &CancellationToken) -> Vec<RoleHandle> {
    if state.settings.redis.url.is_some() {
        return Vec::new();
    }
    let worker = worker::Worker::new(
        state.settings.clone(),
        state.store.clone(),
        state.jobs.clone(),
    );
    let scheduler = scheduler::Scheduler::new(
        state.settings.clone(),
        state.store.clone(),
        state.clock.clone(),
    );
    vec![
        tokio::spawn(worker.run(token.child_token())),
        tokio::spawn(scheduler.run(token.child_token())),
    ]
}

#[cfg(not(feature = "embedded"))]
fn spawn_embedded_roles(_state: &AppState, _token: &CancellationToken) -> Vec<RoleHandle> {
    Vec::new()
}

/// The router with every route, the OpenAPI document and the layers.
pub fn app(state: AppState) -> Router {
    let (router, api) = crate::routes::router().split_for_parts();
    let doc = Arc::new(crate::openapi::document(api));
    let limits = Arc::new(crate::ratelimit::RateLimits::new(&state.settings.api));
    let body_limit = state.settings.api.body_limit_bytes;
    let timeout = Duration::from_secs(state.settings.api.request_timeout_secs);
    router
        .route("/openapi.json", get(move || async move { Json(doc.as_ref().clone()) }))
        .route("/metrics", get(crate::metrics::render))
        .merge(crate::web::router())
        .route_layer(middleware::from_fn(crate::metrics::track_http))
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
                }))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(middleware::from_fn(problem_instance))
                .layer(middleware::from_fn_with_state(limits, crate::ratelimit::limit))
                .layer(CatchPanicLayer::custom(|_panic: Box<dyn std::any::Any + Send>| {
                    tracing::error!("handler panicked");
                    ApiError::Unexpected(anyhow::anyhow!("handler panicked")).into_response()
                }))
                .layer(middleware::from_fn(move |req: Request, next: Next| deadline(timeout, req, next)))
                .layer(DefaultBodyLimit::max(body_limit)),
        )
}

/// Answers a request that is not done within `limit` with a 503 problem; dropping the handler's
/// future stops its work (blocking work is bounded where it is spawned).
async fn deadline(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::Unavailable(format!(
            "the request took longer than {} s and was stopped",
            limit.as_secs()
        ))
        .into_response(),
    }
}

/// Puts the request id into every problem's `instance`, so a client's report can be matched
/// to the server's log line.
async fn problem_instance(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut res = next.run(req).await;
    match res.extensions_mut().remove::<Problem>() {
        Some(mut problem) => {
            problem.instance = id.map(|id| format!("urn:request:{id}"));
            let retry_after = res.headers_mut().remove(axum::http::header::RETRY_AFTER);
            let mut rebuilt = problem_response(problem);
            if let Some(v) = retry_after {
                rebuilt
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
            rebuilt
        }
        None => res,
    }
}
