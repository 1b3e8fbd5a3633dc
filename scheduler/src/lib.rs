//! The scheduler role: an apalis-cron tick (every minute by default, `scheduler.cron`) runs the
//! billing pass ([`shared::billing::run_pass`]): renewals, dunning retries and expiries. Every
//! replica's cron fires, so the pass is idempotent: charges are unique per subscription period
//! in the ledger, and on PostgreSQL batches are claimed with `FOR UPDATE SKIP LOCKED`.
//!
//! Beside it, every `scheduler.queue_sample_secs` the scheduler records each job queue's depth
//! (waiting and running jobs) for the operators' chart of depth over time
//! ([`Scheduler::sample_queues`]); replicas sample the same interval start, stored once.

use std::str::FromStr;
use std::sync::Arc;

use apalis::prelude::{BoxDynError, Data, WorkerBuilder};
use apalis_cron::{CronScheduler, Tick};
use shared::billing::{PassReport, run_pass};
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

impl Scheduler {
    /// A scheduler over the given store and clock.
    pub fn new(settings: Arc<Settings>, store: Arc<dyn Store>, clock: SharedClock) -> Self {
        Self {
            settings,
            store,
            clock,
        }
    }

    /// One billing pass at the clock's current time (the sandbox clock's, in sandbox mode).
    ///
    /// # Errors
    /// When the store fails; the next tick tries again.
    pub async fn tick(&self) -> anyhow::Result<PassReport> {
        let now = self.clock.now();
        let started = std::time::Instant::now();
        let report = run_pass(self.store.as_ref(), &self.settings, now).await;
        metrics::histogram!("billing_pass_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        let report = match report {
            Ok(report) => report,
            Err(e) => {
                metrics::counter!("billing_passes_total", "outcome" => "failed").increment(1);
                return Err(e.into());
            }
        };
        metrics::counter!("billing_passes_total", "outcome" => "completed").increment(1);
        for (what, n) in [
            ("renewed", report.renewed),
            ("recovered", report.recovered),
            ("failed", report.failed),
            ("expired", report.expired),
            ("already_charged", report.already_charged),
        ] {
            metrics::counter!("billing_subscriptions_total", "outcome" => what).increment(n);
        }
        if report != PassReport::default() {
            tracing::info!(?report, %now, "billing pass");
        }
        Ok(report)
    }

    /// Records every queue's depth now (real time, as jobs keep it), at the start of the current
    /// sampling interval, and drops samples past the retention. Returns the rows written (0
    /// when another replica sampled this interval already).
    ///
    /// # Errors
    /// When the store fails; the next interval tries again.
    pub async fn sample_queues(&self) -> anyhow::Result<u64> {
        let every = i64::try_from(self.settings.scheduler.queue_sample_secs.max(1))?;
        let keep = i64::try_from(self.settings.scheduler.queue_sample_keep_hours)?;
        let now = chrono::Utc::now().timestamp();
        let at = chrono::DateTime::from_timestamp(now - now.rem_euclid(every), 0)
            .ok_or_else(|| anyhow::anyhow!("time out of range"))?;
        let keep_since = at - chrono::TimeDelta::hours(keep);
        Ok(self.store.sample_queues(at, keep_since).await?)
    }

    /// Samples the queues every interval until `shutdown` is cancelled.
    async fn sample_until(self, shutdown: CancellationToken) {
        let every =
            std::time::Duration::from_secs(self.settings.scheduler.queue_sample_secs.max(1));
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            if let Err(e) = self.sample_queues().await {
                tracing::warn!(error = %e, "queue depth sample failed; retrying at the next interval");
            }
        }
    }

    /// Runs the cron (and the queue sampler) until `shutdown` is cancelled.
    ///
    /// # Errors
    /// When the cron expression is invalid (configuration validates it first) or the worker
    /// fails.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let schedule = cron::Schedule::from_str(&self.settings.scheduler.cron)?;
        tracing::info!(cron = %self.settings.scheduler.cron, "scheduler started");
        let sampler = tokio::spawn(self.clone().sample_until(shutdown.child_token()));
        let worker = WorkerBuilder::new(format!("billing-{:x}", std::process::id()))
            .backend(CronScheduler::new(schedule))
            .data(self)
            .build(on_tick);
        let ran = worker
            .run_until(async move {
                shutdown.cancelled().await;
                Ok::<(), std::io::Error>(())
            })
            .await;
        sampler.abort();
        ran?;
        tracing::info!("scheduler stopped");
        Ok(())
    }
}

async fn on_tick(_tick: Tick, scheduler: Data<Scheduler>) -> Result<(), BoxDynError> {
    // A failed pass is logged and retried at the next tick; nothing it committed is lost.
    if let Err(e) = scheduler.tick().await {
        tracing::warn!(error = %e, "billing pass failed; retrying at the next tick");
    }
    Ok(())
}
