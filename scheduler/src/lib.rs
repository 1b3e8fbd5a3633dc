//! The scheduler role: periodic billing passes over subscriptions. Today each tick expires
//! subscriptions whose paid periods ended and that will not renew; renewals, dunning and
//! reapers join the same pass (every step idempotent, so several schedulers may run at once).

use std::sync::Arc;
use std::time::Duration;

use shared::clock::SharedClock;
use shared::config::Settings;
use shared::store::Store;
use tokio_util::sync::CancellationToken;

/// The billing scheduler (its own process, or inside the embedded API process).
#[derive(Debug, Clone)]
pub struct Scheduler {
    settings: Arc<Settings>,
    store: Arc<dyn Store>,
    clock: SharedClock,
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Subscriptions expired.
    pub expired: u64,
}

impl Scheduler {
    /// A scheduler over the given store and clock.
    pub fn new(settings: Arc<Settings>, store: Arc<dyn Store>, clock: SharedClock) -> Self {
        Self {
            settings,
            store,
            clock,
        }
    }

    /// One billing pass at the clock's current time.
    ///
    /// # Errors
    /// When the store fails; the next tick tries again.
    pub async fn tick(&self) -> anyhow::Result<TickReport> {
        let now = self.clock.now();
        let expired = self.store.expire_lapsed_subscriptions(now).await?;
        if expired > 0 {
            tracing::info!(expired, %now, "billing pass");
        }
        Ok(TickReport { expired })
    }

    /// Ticks every `scheduler.tick_secs` until `shutdown` is cancelled. A failed tick is logged
    /// and retried at the next one.
    ///
    /// # Errors
    /// Never at present; the signature leaves room for fatal start-up failures.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut interval =
            tokio::time::interval(Duration::from_secs(self.settings.scheduler.tick_secs));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(
            tick_secs = self.settings.scheduler.tick_secs,
            "scheduler started"
        );
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = interval.tick() => {
                    if let Err(e) = self.tick().await {
                        tracing::warn!(error = %e, "billing pass failed; retrying at the next tick");
                    }
                }
            }
        }
        tracing::info!("scheduler stopped");
        Ok(())
    }
}
