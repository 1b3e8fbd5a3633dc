//! The worker role: takes jobs from the queues and runs them. This crate holds the process
//! plumbing; job kinds (evaluation, optimization, training) arrive with the job platform, the
//! engine and the optimizers, each in its own module (`jobs/`, `engine/`, `optimize/`, `train/`).

pub mod engine;

use std::sync::Arc;

use shared::clock::SharedClock;
use shared::config::Settings;
use shared::store::Store;
use tokio_util::sync::CancellationToken;

/// A worker process (or the embedded worker pool of the API process).
#[derive(Debug, Clone)]
pub struct Worker {
    settings: Arc<Settings>,
    store: Arc<dyn Store>,
    clock: SharedClock,
}

impl Worker {
    /// A worker over the given store and clock.
    pub fn new(settings: Arc<Settings>, store: Arc<dyn Store>, clock: SharedClock) -> Self {
        Self {
            settings,
            store,
            clock,
        }
    }

    /// Runs until `shutdown` is cancelled.
    ///
    /// # Errors
    /// When the store fails at start.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.store.ping().await?;
        tracing::info!(
            concurrency = self.settings.worker.concurrency,
            queues = ?self.settings.worker.queues,
            started_at = %self.clock.now(),
            "worker ready (no job kinds registered yet)"
        );
        shutdown.cancelled().await;
        tracing::info!("worker stopped");
        Ok(())
    }
}
