//! The worker runtime: takes queue messages (apalis) as wake-ups for the kinds' claimers
//! ([`crate::claimer`]), which claim jobs from the store; runs each with a lease, a timeout and
//! a cancel flag, and records every outcome. Also, in every worker
//! process: a heartbeat into the `workers` registry and the recovery sweep that re-queues jobs
//! whose worker died and re-pushes messages that were lost.
//!
//! Stopping a running job is cooperative: a cancel request (seen by the lease keeper within
//! [`CANCEL_POLL`]) or the job's timeout raises its [`JobControl`] flag, which the handler and
//! the computation check inside their loops (`compute::Stop`). A job's slot (one of its
//! claimer's `worker.concurrency`) is given back only when the attempt has returned, blocking work
//! included, never while that work still runs ([`run_to_end`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use apalis::prelude::{BackendExt, BoxDynError, Data, Strategy, WorkerBuilder, WorkerBuilderExt};
use platform::Platform;
use shared::clock::SharedClock;
use shared::config::Settings;
use shared::jobs::{FailureKind, Job, JobFailure, JobKind, JobMessage, backoff};
use shared::store::{
    JobClaim, JobEffect, JobOutcome, JobsMaintenance, Store, StoreError, WorkerInfo,
};
use tokio_util::sync::CancellationToken;

use crate::attempt::{TimedOut, run_to_end};
use crate::claimer::Claimer;
use crate::finisher::Finisher;
use crate::handlers::{self, JobControl, JobError};

/// How often the lease keeper looks for a cancel request of a running job (a read of its row
/// between renewals): the runtime's share of the cancellation latency.
const CANCEL_POLL: Duration = Duration::from_millis(250);

/// Message handlers per queue consumer: each only wakes the kind's claimer.
const MESSAGE_HANDLERS: usize = 4;

/// How often a worker checks whether the jobs table needs vacuuming or analyzing.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(10);

/// Everything the message handlers of one worker process share.
#[derive(Debug)]
pub(crate) struct Runtime {
    pub(crate) id: String,
    pub(crate) settings: Arc<Settings>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: SharedClock,
    pub(crate) platform: Platform,
    pub(crate) kinds: Vec<JobKind>,
    in_flight: AtomicI32,
    stopping: AtomicBool,
    /// Writes outcomes without an effect in batches.
    finisher: Finisher,
}

/// Keeps a claimed job counted in flight until it is dropped (the attempt has ended, or its
/// task panicked).
pub(crate) struct InFlight(Arc<Runtime>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Runtime {
    pub(crate) fn new(
        id: String,
        settings: Arc<Settings>,
        store: Arc<dyn Store>,
        clock: SharedClock,
        platform: Platform,
        kinds: Vec<JobKind>,
    ) -> Self {
        let finisher = Finisher::start(store.clone(), clock.clone());
        Self {
            id,
            settings,
            store,
            clock,
            platform,
            kinds,
            in_flight: AtomicI32::new(0),
            stopping: AtomicBool::new(false),
            finisher,
        }
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(self.settings.worker.lease_secs.max(1))
    }

    pub(crate) fn in_flight(&self) -> i32 {
        self.in_flight.load(Ordering::SeqCst)
    }

    fn info(&self, started_at: chrono::DateTime<chrono::Utc>) -> WorkerInfo {
        WorkerInfo {
            id: self.id.clone(),
            host: hostname(),
            queues: self.kinds.iter().map(|k| k.queue().to_owned()).collect(),
            concurrency: i32::try_from(self.settings.worker.concurrency).unwrap_or(i32::MAX),
            in_flight: self.in_flight(),
            started_at,
            heartbeat_at: self.clock.now(),
            stopped_at: None,
        }
    }

    /// Starts one claimer and one apalis worker per kind; they stop taking messages and jobs
    /// when `stop` is cancelled.
    pub(crate) fn spawn_consumers(
        self: &Arc<Self>,
        stop: &CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let poll = Duration::from_millis(self.settings.worker.poll_interval_ms.max(1));
        let concurrency = self.settings.worker.concurrency.max(1);
        let mut tasks = Vec::new();
        for &kind in &self.kinds {
            let claimer = Claimer::new(self.clone(), kind, concurrency);
            tasks.push(tokio::spawn(claimer.clone().run(stop.clone())));
            let name = format!("{}:{}", self.id, kind.queue());
            let stop = stop.clone();
            let queues = self.platform.queues().clone();
            tasks.push(tokio::spawn(async move {
                // A consumer whose backend fails (Redis restarting) is started again after
                // a pause, for as long as the worker runs.
                let mut generation = 0u32;
                while !stop.is_cancelled() {
                    generation += 1;
                    let name = format!("{name}:{generation}");
                    let until = {
                        let stop = stop.clone();
                        async move {
                            stop.cancelled().await;
                            Ok::<(), std::io::Error>(())
                        }
                    };
                    // Fetches when a push announces a message (at once), and on every poll
                    // besides (a lost announcement, a message that came back).
                    let wake = Strategy::new()
                        .stream(queues.wake_stream(kind))
                        .interval(poll);
                    // The two backends are different types; the consumer is the same. Its
                    // handler only wakes the claimer, so a few at a time keep up with any rate.
                    macro_rules! consume {
                        ($storage:expr) => {
                            WorkerBuilder::new(name)
                                .backend($storage.poll_with_strategy(wake))
                                .data(claimer.clone())
                                .concurrency(MESSAGE_HANDLERS)
                                .build(on_message)
                                .run_until(until)
                                .await
                        };
                    }
                    let result = if let Some(storage) = queues.redis_storage(kind) {
                        consume!(storage)
                    } else if let Some(storage) = queues.sqlite_storage(kind) {
                        consume!(storage)
                    } else {
                        return;
                    };
                    match result {
                        Ok(()) if stop.is_cancelled() => return,
                        Ok(()) => tracing::warn!(queue = kind.queue(), "queue consumer ended; restarting"),
                        Err(e) => tracing::warn!(error = %e, queue = kind.queue(), "queue consumer failed; restarting in 1 s"),
                    }
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }));
        }
        tasks
    }

    /// Claims up to `max` due jobs of `kind`, counted in flight from before the claim (a drain
    /// that starts now either sees the claim in flight and waits for its jobs, or is seen here
    /// and nothing is claimed). `None` when stopping or the claim failed; each job returned is
    /// in flight until its [`InFlight`] guard drops.
    pub(crate) async fn claim(self: &Arc<Self>, kind: JobKind, max: usize) -> Option<Vec<Job>> {
        let max = u32::try_from(max).unwrap_or(u32::MAX);
        self.in_flight
            .fetch_add(i32::try_from(max).unwrap_or(i32::MAX), Ordering::SeqCst);
        let release = |n: usize| {
            self.in_flight
                .fetch_sub(i32::try_from(n).unwrap_or(i32::MAX), Ordering::SeqCst);
        };
        if self.stopping.load(Ordering::SeqCst) {
            release(max as usize);
            return None;
        }
        match self
            .store
            .claim_jobs(kind, &self.id, self.clock.now(), self.lease(), max)
            .await
        {
            Ok(jobs) => {
                release(max as usize - jobs.len());
                if jobs.is_empty() {
                    tracing::debug!(kind = kind.as_str(), "claim found nothing");
                }
                Some(jobs)
            }
            Err(e) => {
                release(max as usize);
                tracing::warn!(error = %e, "claiming jobs failed; the recovery sweep will deliver them again");
                None
            }
        }
    }

    /// Counts one claimed job in flight until the guard drops (see [`Self::claim`]).
    pub(crate) fn in_flight_guard(self: &Arc<Self>) -> InFlight {
        InFlight(self.clone())
    }

    /// Runs one claimed attempt under its lease and records its outcome (the claimer has
    /// published that it runs).
    pub(crate) async fn execute(self: &Arc<Self>, job: Job) {
        metrics::gauge!("worker_jobs_in_flight").increment(1.0);
        let claim = JobClaim {
            job_id: job.id,
            worker_id: self.id.clone(),
            attempt: job.attempts,
        };
        let control = Arc::new(JobControl::default());
        let keeper_stop = CancellationToken::new();
        let keeper = tokio::spawn(self.clone().keep_lease(
            claim.clone(),
            control.clone(),
            keeper_stop.clone(),
        ));
        let timeout = handlers::timeout(&job);
        let started = std::time::Instant::now();
        // The lease keeper runs until the work has stopped, a timed-out one included: the job
        // stays this worker's while it still computes.
        let result = run_to_end(
            timeout,
            &control,
            handlers::run(&self.store, &job, control.clone()),
        )
        .await;
        keeper_stop.cancel();
        let mut owner_canceled = keeper.await.unwrap_or(false);
        if !owner_canceled && matches!(result, Ok(Err(_))) {
            // A job that failed may have failed because its owner canceled it before the lease
            // keeper looked (a session ended while its optimization loaded): canceled, then.
            owner_canceled =
                matches!(self.store.job(job.id).await, Ok(Some(j)) if j.cancel_requested);
        }
        let mut effect = None;
        let outcome = match result {
            Err(TimedOut) => JobOutcome::Failed {
                error: JobFailure::new(
                    FailureKind::TimedOut,
                    "Timed out",
                    format!(
                        "the job ran longer than its {} ms timeout",
                        timeout.as_millis()
                    ),
                ),
            },
            // Whatever the work returned: its owner asked to stop it.
            Ok(_) if owner_canceled => JobOutcome::Canceled,
            Ok(Ok(output)) => {
                effect = output.effect;
                JobOutcome::Succeeded {
                    result: output.result,
                }
            }
            Ok(Err(JobError::Canceled)) => {
                // Stopped without the owner asking: the claim was lost (another worker has the
                // job now); finishing below writes nothing.
                JobOutcome::Canceled
            }
            Ok(Err(e)) => {
                // Logged once per failed attempt, with the whole cause chain where there is one.
                tracing::warn!(error = %e, cause = e.cause().unwrap_or_default(), "job attempt failed");
                match e {
                    JobError::Transient { .. } => self.retry(&job, e.failure()),
                    _ => JobOutcome::Failed { error: e.failure() },
                }
            }
        };
        if !matches!(outcome, JobOutcome::Succeeded { .. }) {
            // The last progress the work reported, which says how far a failed or stopped
            // attempt got (a success's write sets it to 1 itself: no statement for it).
            if let Some((p, m)) = control.take_progress() {
                let _ = self
                    .store
                    .touch_job(&claim, Some((p, Some(&m))), self.clock.now(), self.lease())
                    .await;
            }
        }
        let (outcome, recorded) = self.finish(&job, &claim, outcome, effect).await;
        // Wakes whoever waits for this job (a promotion's request), here or in another process.
        self.platform.events().publish(job.id).await;
        let status = match &outcome {
            JobOutcome::Succeeded { .. } => "succeeded",
            JobOutcome::Failed { .. } => "failed",
            JobOutcome::Retry { .. } => "retry",
            JobOutcome::Canceled => "canceled",
        };
        let kind = job.kind.as_str();
        metrics::counter!("jobs_finished_total", "kind" => kind, "status" => status).increment(1);
        metrics::histogram!("job_duration_seconds", "kind" => kind)
            .record(started.elapsed().as_secs_f64());
        tracing::info!(
            status,
            recorded,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "job attempt ended"
        );
        metrics::gauge!("worker_jobs_in_flight").decrement(1.0);
    }

    /// A transient failure of `job`'s attempt: back to the queue after a backoff.
    fn retry(&self, job: &Job, error: JobFailure) -> JobOutcome {
        let delay = backoff(
            job.attempts,
            Duration::from_millis(self.settings.worker.retry_base_ms),
            Duration::from_secs(self.settings.worker.retry_cap_secs),
        );
        let run_after = self.clock.now()
            + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::zero());
        JobOutcome::Retry { error, run_after }
    }

    /// Writes the outcome (with its effect, atomically), retrying a few times while the store
    /// is unavailable (after that the lease expires and the job is recovered: at least once,
    /// never lost). An effect that the current state refuses (another worker or request got
    /// there first, the tool changed under a promotion) writes nothing; the attempt is then
    /// retried, so the job runs again against the new state. Returns the outcome recorded and
    /// whether it was written.
    async fn finish(
        &self,
        job: &Job,
        claim: &JobClaim,
        mut outcome: JobOutcome,
        mut effect: Option<JobEffect>,
    ) -> (JobOutcome, bool) {
        if effect.is_none() {
            match self.finisher.finish(claim.clone(), outcome.clone()).await {
                Ok(written) => return (outcome, written),
                Err(why) => {
                    tracing::warn!(%why, "recording job outcomes in a batch failed; retrying this one alone");
                }
            }
        }
        let mut attempt = 0u32;
        while attempt < 5 {
            match self
                .store
                .finish_job_with(claim, &outcome, effect.as_ref(), self.clock.now())
                .await
            {
                Ok(written) => return (outcome, written),
                Err(StoreError::Conflict(why)) if effect.is_some() => {
                    tracing::info!(%why, "the job's effect no longer applies; retrying the job");
                    effect = None;
                    outcome = self.retry(
                        job,
                        JobFailure::new(
                            FailureKind::Conflict,
                            "Conflict",
                            format!("{why}; the job runs again"),
                        ),
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "recording a job outcome failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
                    attempt += 1;
                }
            }
        }
        (outcome, false)
    }

    /// Every [`CANCEL_POLL`] while the job runs: flushes new progress (which renews the lease),
    /// renews the lease once a third of it has passed, and otherwise reads whether the owner
    /// asked to cancel. Cancels the job when the owner asks or the claim is lost. Returns
    /// whether the owner asked to cancel.
    async fn keep_lease(
        self: Arc<Self>,
        claim: JobClaim,
        control: Arc<JobControl>,
        stop: CancellationToken,
    ) -> bool {
        let renew_every = self.lease() / 3;
        let mut last_renewal = std::time::Instant::now();
        let mut owner_canceled = false;
        loop {
            tokio::select! {
                // Progress not flushed yet stays in `control`: the outcome's write follows.
                () = stop.cancelled() => return owner_canceled,
                () = tokio::time::sleep(CANCEL_POLL) => {}
            }
            let progress = control.take_progress();
            if progress.is_none() && last_renewal.elapsed() < renew_every {
                // No write due: a read sees a cancel request without waiting for the next
                // renewal (a third of the lease), which a long step reporting no progress
                // would otherwise make the latency.
                if !owner_canceled {
                    match self.store.job(claim.job_id).await {
                        Ok(Some(job)) if job.cancel_requested => {
                            owner_canceled = true;
                            control.cancel();
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::debug!(error = %e, "reading the job's cancel flag failed")
                        }
                    }
                }
                continue;
            }
            let progress_ref = progress.as_ref().map(|(p, m)| (*p, Some(m.as_str())));
            match self
                .store
                .touch_job(&claim, progress_ref, self.clock.now(), self.lease())
                .await
            {
                Ok(state) => {
                    last_renewal = std::time::Instant::now();
                    if progress.is_some() {
                        self.platform.events().publish(claim.job_id).await;
                    }
                    if state.cancel_requested {
                        owner_canceled = true;
                        control.cancel();
                    }
                    if !state.held {
                        tracing::warn!("lost the claim on this job; stopping it");
                        control.cancel();
                    }
                }
                Err(e) => tracing::warn!(error = %e, "renewing the job's lease failed"),
            }
        }
    }

    /// Registers (or refreshes) this worker in the registry.
    pub(crate) async fn beat(&self, started_at: chrono::DateTime<chrono::Utc>) {
        if let Err(e) = self.store.heartbeat_worker(&self.info(started_at)).await {
            tracing::warn!(error = %e, "worker heartbeat failed");
        }
    }

    /// Refreshes this worker (registered with [`Self::beat`] at `started_at`) until `stop`.
    pub(crate) async fn heartbeat_loop(
        self: Arc<Self>,
        started_at: chrono::DateTime<chrono::Utc>,
        stop: CancellationToken,
    ) {
        let every = Duration::from_secs(self.settings.worker.heartbeat_secs.max(1));
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            self.beat(started_at).await;
        }
    }

    /// Re-queues jobs of dead workers and pushes again messages that were not taken, until `stop`.
    pub(crate) async fn recovery_loop(self: Arc<Self>, stop: CancellationToken) {
        let every = Duration::from_millis(self.settings.worker.recover_interval_ms.max(10));
        let redeliver = Duration::from_secs(self.settings.worker.redeliver_after_secs);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            match self
                .store
                .recover_jobs(self.clock.now(), redeliver, 500)
                .await
            {
                Ok(dispatches) => {
                    self.platform
                        .redeliver(dispatches.into_iter().map(|d| (d.kind, d.job_id)))
                        .await;
                }
                Err(e) => tracing::warn!(error = %e, "recovery sweep failed"),
            }
            // Keep apalis-redis' scheduled set small whatever the queue's depth (see
            // `Queues::promote_due`).
            for kind in JobKind::ALL {
                if let Err(e) = self.platform.queues().promote_due(kind, 1_000).await {
                    tracing::warn!(error = %e, kind = kind.as_str(), "moving due messages failed; will try again");
                }
            }
        }
    }

    /// Keeps the jobs table's statistics and dead rows in check where the database does not
    /// (see [`shared::store::JobStore::maintain_jobs`]), every 10 s until `stop`. Its own task:
    /// a vacuum of a large table takes seconds and must not hold up the recovery sweep.
    pub(crate) async fn maintenance_loop(self: Arc<Self>, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(MAINTENANCE_EVERY) => {}
            }
            let started = std::time::Instant::now();
            match self.store.maintain_jobs().await {
                Ok(done @ (JobsMaintenance::Analyzed | JobsMaintenance::Vacuumed)) => {
                    tracing::info!(
                        ?done,
                        took_ms = started.elapsed().as_millis() as u64,
                        "jobs table maintained"
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "maintaining the jobs table failed; will try again")
                }
            }
        }
    }

    /// Stops claiming; waits up to the grace period for jobs in flight.
    pub(crate) async fn drain(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let deadline = std::time::Instant::now()
            + Duration::from_secs(self.settings.worker.shutdown_grace_secs);
        while self.in_flight() > 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if self.in_flight() > 0 {
            tracing::warn!(
                in_flight = self.in_flight(),
                "shutdown grace ended with jobs running; their leases will expire and other workers will take them"
            );
        }
    }
}

async fn on_message(message: JobMessage, claimer: Data<Arc<Claimer>>) -> Result<(), BoxDynError> {
    tracing::trace!(job_id = %message.job_id, "message received");
    // The message only says a job of this kind waits: the claimer takes the best due ones.
    // Always acknowledge; attempts and recovery are the store's business, not apalis'.
    claimer.wake();
    Ok(())
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
