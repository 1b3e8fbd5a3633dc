//! Job events: a job's id, published when the job ends (or changes in a way a waiter cares
//! about), so a request waiting for it wakes at once. In-process a tokio broadcast carries
//! them; with Redis configured they also travel on the `{prefix}:job-events` channel, so an API
//! process hears the workers of other machines. Delivery is best effort (Redis pub/sub keeps
//! nothing for a subscriber that is away): a waiter also re-reads the store every second, so a
//! lost event costs at most that second.

use std::time::Duration;

use futures::StreamExt;
use redis::aio::ConnectionManager;
use secrecy::ExposeSecret;
use shared::config::Settings;
use shared::jobs::Job;
use shared::store::{JobStore, StoreResult};
use tokio::sync::broadcast;
use uuid::Uuid;

/// How many events a slow in-process subscriber may fall behind before it skips (it then
/// re-reads the store, so nothing is missed).
const BUFFER: usize = 1024;

/// Publisher and subscription point of job events; cheap to clone.
#[derive(Clone, Debug)]
pub struct JobEvents {
    local: broadcast::Sender<Uuid>,
    redis: Option<(ConnectionManager, String)>,
}

impl JobEvents {
    /// Events within this process only (embedded mode, tests).
    pub fn local() -> Self {
        Self {
            local: broadcast::channel(BUFFER).0,
            redis: None,
        }
    }

    /// Events of this process and, with Redis configured, of every process on the same Redis
    /// and queue prefix: a task forwards the channel's messages to local subscribers and
    /// re-subscribes after Redis restarts, for as long as the process lives.
    ///
    /// # Errors
    /// When the Redis URL is invalid or Redis cannot be reached at start.
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let Some(url) = &settings.redis.url else {
            return Ok(Self::local());
        };
        let channel = format!("{}:job-events", settings.queue.prefix);
        let client = redis::Client::open(url.expose_secret())?;
        let conn = ConnectionManager::new(client.clone()).await?;
        let events = Self {
            local: broadcast::channel(BUFFER).0,
            redis: Some((conn, channel.clone())),
        };
        tokio::spawn(forward(client, channel, events.local.clone()));
        Ok(events)
    }

    /// Tells every subscriber that `job` changed. Never fails: an event that cannot be sent
    /// is only a missed wake-up.
    pub async fn publish(&self, job: Uuid) {
        self.publish_many(&[job]).await;
    }

    /// [`Self::publish`] for several jobs, in one round trip to Redis.
    pub async fn publish_many(&self, jobs: &[Uuid]) {
        for job in jobs {
            let _ = self.local.send(*job);
        }
        let (Some((conn, channel)), false) = (&self.redis, jobs.is_empty()) else {
            return;
        };
        let mut pipe = redis::pipe();
        for job in jobs {
            pipe.publish(channel.as_str(), job.to_string()).ignore();
        }
        let mut conn = conn.clone();
        let publish = pipe.query_async::<()>(&mut conn);
        match tokio::time::timeout(Duration::from_millis(500), publish).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, jobs = jobs.len(), "publishing job events failed")
            }
            Err(_) => tracing::debug!(jobs = jobs.len(), "publishing job events timed out"),
        }
    }

    /// A subscription to every job's events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.local.subscribe()
    }

    /// Waits until job `id` is final or `wait` has passed, and returns it as it then is
    /// (`None` when there is no such job). Wakes on the job's events; re-reads the store every
    /// second besides, so a lost event delays the answer by a second at most.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn wait_final(
        &self,
        store: &dyn JobStore,
        id: Uuid,
        wait: Duration,
    ) -> StoreResult<Option<Job>> {
        // Subscribe before the first read, so an end between the two is not missed.
        let mut events = self.subscribe();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let job = store.job(id).await?;
            let now = tokio::time::Instant::now();
            match &job {
                Some(j) if !j.status.is_final() && now < deadline => {}
                _ => return Ok(job),
            }
            let recheck = (deadline - now).min(Duration::from_secs(1));
            let _ = tokio::time::timeout(recheck, async {
                loop {
                    match events.recv().await {
                        Ok(changed) if changed == id => return,
                        Ok(_) => {}
                        // Fell behind: re-read the store.
                        Err(broadcast::error::RecvError::Lagged(_)) => return,
                        Err(broadcast::error::RecvError::Closed) => {
                            std::future::pending::<()>().await;
                        }
                    }
                }
            })
            .await;
        }
    }
}

/// Forwards the Redis channel's events to local subscribers, re-subscribing after failures.
async fn forward(client: redis::Client, channel: String, local: broadcast::Sender<Uuid>) {
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if let Err(e) = pubsub.subscribe(&channel).await {
                    tracing::debug!(error = %e, "subscribing to job events failed");
                } else {
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        if let Ok(text) = message.get_payload::<String>()
                            && let Ok(id) = text.parse::<Uuid>()
                        {
                            let _ = local.send(id);
                        }
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "connecting for job events failed"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
