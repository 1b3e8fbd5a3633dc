//! Taking work: one claimer per job kind in a worker process. A queue message only says that a
//! job of its kind waits, so the message handler just wakes the claimer; the claimer takes due
//! jobs from the store in batches, as many as the process has free slots for the kind, starts
//! each on its own task, and goes on claiming as soon as a slot frees while jobs are due. A
//! busy worker therefore never waits for the next message or poll between two jobs (it runs at
//! the speed of its slots), and one claim statement serves several jobs.
//!
//! Messages are interchangeable and many arrive for jobs a claimer already took while it kept
//! claiming: each costs a wake-up, never a store query of its own. A claim that finds nothing
//! is tried again twice shortly after while some job of the kind is due (a claim only sees the
//! jobs committed before its statement started, and skips rows other claimers hold, so during a
//! burst it can miss a job whose message woke it). A claimer also claims when it starts and,
//! while idle, looks once a second whether a job is due: queues hold a bounded number of
//! messages, so the jobs of a deep backlog have none, and a worker added to drain it must find
//! them without one.

use std::sync::Arc;
use std::time::Duration;

use shared::jobs::JobKind;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::runtime::Runtime;

/// How often an idle claimer looks for due jobs itself: a queue holds at most
/// `platform::enqueue::MESSAGE_CAP` messages, so a worker started beside others that drain a
/// deeper backlog may get none.
const IDLE_LOOK: Duration = Duration::from_secs(1);

/// Pauses before claiming again after a claim found nothing while jobs were due.
const RETRY_PAUSES_MS: [u64; 2] = [10, 50];

/// One kind's claimer: the kind's slots in this process and the wake-up its messages raise.
#[derive(Debug)]
pub(crate) struct Claimer {
    rt: Arc<Runtime>,
    kind: JobKind,
    slots: Arc<Semaphore>,
    wake: Notify,
}

impl Claimer {
    /// A claimer of `kind` with `slots` jobs at a time.
    pub(crate) fn new(rt: Arc<Runtime>, kind: JobKind, slots: usize) -> Arc<Self> {
        Arc::new(Self {
            rt,
            kind,
            slots: Arc::new(Semaphore::new(slots.max(1))),
            wake: Notify::new(),
        })
    }

    /// A message of the kind arrived (or a poll found one): claim what is due. Wake-ups that
    /// arrive while the claimer works are kept as one, so it looks once more after.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Claims on every wake-up until `stop`; jobs already started run on (the runtime's drain
    /// waits for them).
    pub(crate) async fn run(self: Arc<Self>, stop: CancellationToken) {
        loop {
            self.claim_while_due(&stop).await;
            // Idle until a message wakes the claimer or a look finds a due job.
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = self.wake.notified() => break,
                    () = tokio::time::sleep(IDLE_LOOK) => {
                        if matches!(self.rt.store.has_due_job(self.kind, self.rt.clock.now()).await, Ok(true)) {
                            break;
                        }
                    }
                }
            }
        }
    }

    /// Claims batches as slots free up, until a claim finds nothing due (after the retries).
    async fn claim_while_due(&self, stop: &CancellationToken) {
        let mut retries = RETRY_PAUSES_MS.into_iter();
        loop {
            let Some(mut permits) = self.free_slots(stop).await else {
                return;
            };
            let Some(jobs) = self.rt.claim(self.kind, permits.len()).await else {
                return;
            };
            if jobs.is_empty() {
                drop(permits);
                let Some(pause) = retries.next() else {
                    return;
                };
                match self
                    .rt
                    .store
                    .has_due_job(self.kind, self.rt.clock.now())
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "looking for due jobs failed; the recovery sweep will deliver them again");
                        return;
                    }
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_millis(pause)) => {}
                }
                continue;
            }
            retries = RETRY_PAUSES_MS.into_iter();
            // Running now: event streams show it without waiting for a re-read.
            let ids: Vec<_> = jobs.iter().map(|j| j.id).collect();
            self.rt.platform.events().publish_many(&ids).await;
            for job in jobs {
                let permit = permits
                    .pop()
                    .expect("a claim takes at most one job per free slot");
                self.start(job, permit);
            }
        }
    }

    /// Waits for one free slot, then takes every other free one: the claim's batch.
    async fn free_slots(&self, stop: &CancellationToken) -> Option<Vec<OwnedSemaphorePermit>> {
        let first = tokio::select! {
            () = stop.cancelled() => return None,
            permit = self.slots.clone().acquire_owned() => permit.ok()?,
        };
        let mut permits = vec![first];
        while let Ok(permit) = self.slots.clone().try_acquire_owned() {
            permits.push(permit);
        }
        Some(permits)
    }

    /// Runs a claimed job on its own task, holding its slot (and its place in the runtime's
    /// jobs in flight) until the attempt has ended.
    fn start(&self, job: shared::jobs::Job, permit: OwnedSemaphorePermit) {
        let rt = self.rt.clone();
        let span = tracing::info_span!("job", job_id = %job.id, kind = job.kind.as_str(), attempt = job.attempts);
        tokio::spawn(
            async move {
                let _slot = permit;
                let _in_flight = rt.in_flight_guard();
                rt.execute(job).await;
            }
            .instrument(span),
        );
    }
}
