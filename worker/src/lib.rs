//! The worker role: takes jobs from the queues and runs them.
//!
//! - [`handlers`]: one handler per job kind (load inputs, call the computation, store the result).
//! - `runtime`: claims, leases, timeouts, retries, cancellation, heartbeats and recovery.
//! - `attempt`: one attempt run to its end; a timed-out one keeps its slot until its work stops.
//! - [`engine`], [`optimize`], [`train`]: the pure computation, re-exported from the `compute`
//!   crate (`worker/compute`), which has no store, queue or async runtime.

use std::sync::Arc;

use platform::Platform;
use shared::clock::{SharedClock, SystemClock};
use shared::config::Settings;
use shared::jobs::JobKind;
use shared::store::Store;
use tokio_util::sync::CancellationToken;

mod attempt;
mod claimer;
mod finisher;
pub mod handlers;
mod runtime;

pub use compute::{Stop, engine, optimize, train};

/// A worker process (or the embedded worker pool of the API process).
#[derive(Debug, Clone)]
pub struct Worker {
    settings: Arc<Settings>,
    store: Arc<dyn Store>,
    clock: SharedClock,
    platform: Platform,
    id: String,
}

impl Worker {
    /// A worker over the given store and queues, with a fresh id (pid and a random suffix).
    /// Leases, backoffs and heartbeats are operational time and always use the system clock,
    /// even where billing runs on a sandbox clock.
    pub fn new(settings: Arc<Settings>, store: Arc<dyn Store>, platform: Platform) -> Self {
        let clock: SharedClock = Arc::new(SystemClock);
        let id = format!(
            "worker-{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        Self {
            settings,
            store,
            clock,
            platform,
            id,
        }
    }

    /// This worker's id, as the registry and the jobs it holds show it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The job kinds this worker takes: those of `worker.queues`, or all when empty.
    ///
    /// # Errors
    /// When a queue name is not a job kind's.
    pub fn kinds(&self) -> anyhow::Result<Vec<JobKind>> {
        if self.settings.worker.queues.is_empty() {
            return Ok(JobKind::ALL.to_vec());
        }
        self.settings
            .worker
            .queues
            .iter()
            .map(|q| {
                JobKind::from_queue(q.trim()).ok_or_else(|| {
                    let known: Vec<_> = JobKind::ALL.iter().map(|k| k.queue()).collect();
                    anyhow::anyhow!("unknown queue {q}: expected one of {}", known.join(", "))
                })
            })
            .collect()
    }

    /// Takes and runs jobs until `shutdown` is cancelled; then stops taking new ones, lets
    /// running ones finish within `worker.shutdown_grace_secs` and deregisters.
    ///
    /// # Errors
    /// When the store fails at start or a queue name is unknown.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.store.ping().await?;
        let kinds = self.kinds()?;
        let rt = Arc::new(runtime::Runtime::new(
            self.id.clone(),
            self.settings.clone(),
            self.store.clone(),
            self.clock.clone(),
            self.platform.clone(),
            kinds,
        ));
        // Registered before it takes a job: whoever sees a job of this worker finished finds the
        // worker in the registry.
        let started_at = self.clock.now();
        rt.beat(started_at).await;
        let background = CancellationToken::new();
        let heartbeat = tokio::spawn(rt.clone().heartbeat_loop(started_at, background.clone()));
        let recovery = tokio::spawn(rt.clone().recovery_loop(background.clone()));
        let maintenance = tokio::spawn(rt.clone().maintenance_loop(background.clone()));
        let consumers_stop = CancellationToken::new();
        let consumers = rt.spawn_consumers(&consumers_stop);
        // Slots per queue this process offers (a dashboard divides jobs in flight by it).
        for kind in &rt.kinds {
            metrics::gauge!("worker_slots", "queue" => kind.queue())
                .set(self.settings.worker.concurrency as f64);
        }
        tracing::info!(
            worker_id = %self.id,
            concurrency = self.settings.worker.concurrency,
            queues = ?rt.kinds.iter().map(|k| k.queue()).collect::<Vec<_>>(),
            backend = self.platform.queues().backend_name(),
            "worker ready"
        );
        shutdown.cancelled().await;
        tracing::info!(in_flight = rt.in_flight(), "worker stopping: no new jobs");
        consumers_stop.cancel();
        rt.drain().await;
        background.cancel();
        let _ = heartbeat.await;
        let _ = recovery.await;
        let _ = maintenance.await;
        for c in consumers {
            if tokio::time::timeout(std::time::Duration::from_secs(1), c)
                .await
                .is_err()
            {
                tracing::warn!("a queue consumer did not stop within 1 s");
            }
        }
        if let Err(e) = self.store.stop_worker(&self.id, self.clock.now()).await {
            tracing::warn!(error = %e, "deregistering the worker failed");
        }
        tracing::info!("worker stopped");
        Ok(())
    }
}
