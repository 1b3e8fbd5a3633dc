//! The one way to queue a job. A job is a store row first (the outbox): [`Platform::draft`]
//! makes the row to write, the caller writes it in the transaction that creates whatever asked
//! for it (a session's tool, a training run) or with [`Platform::enqueue`] alone, and
//! [`Platform::dispatch`] pushes its message after the commit. A push that fails changes
//! nothing the caller must undo: the job stays queued and the workers' recovery sweep pushes
//! it again after `worker.redeliver_after_secs`.

use chrono::{DateTime, TimeDelta, Utc};
use shared::domain::account::PLATFORM_ACCOUNT_ID;
use shared::jobs::{Job, JobPayload};
use shared::store::{JobStore, NewJob, StoreError};
use uuid::Uuid;

use crate::events::JobEvents;
use crate::queue::Queues;

/// Most messages a kind's Redis queue holds: a push beyond it is skipped (see
/// [`Platform::dispatch`]), so a backlog of any depth keeps Redis' lists short.
pub const MESSAGE_CAP: u64 = 1_000;

/// Why a job was not queued.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    /// Admission control: the kind's queue holds `queue.max_depth` waiting jobs already.
    #[error("the {queue} queue is full ({depth} jobs waiting); retry later")]
    Full {
        /// The queue.
        queue: &'static str,
        /// Jobs waiting in it.
        depth: i64,
    },
    /// The per-account quota: the owner has `limit` jobs queued or running already.
    #[error(
        "this account has {active} jobs queued or running and asked for {asked} more, its limit is {limit}; retry when some have finished"
    )]
    Quota {
        /// Jobs of the owner queued or running.
        active: i64,
        /// Jobs the request would add.
        asked: i64,
        /// The limit.
        limit: i64,
    },
    /// The daily compute budget: the owner's jobs ran `used` seconds in the last 24 hours.
    #[error(
        "this account's jobs ran {used} s in the last 24 hours, its daily compute budget is {limit} s; retry in {retry_after} s"
    )]
    Budget {
        /// Seconds the owner's jobs ran in the last 24 hours.
        used: i64,
        /// The budget in seconds.
        limit: i64,
        /// Seconds until enough of that time leaves the window.
        retry_after: i64,
    },
    /// The payload could not be encoded (a bug).
    #[error("the job's input could not be encoded")]
    Encode(#[from] serde_json::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The job platform's handle: the queues, the job events and admission control. Cheap to
/// clone; one per process.
#[derive(Clone, Debug)]
pub struct Platform {
    queues: Queues,
    events: JobEvents,
    admission: Admission,
}

/// What [`Platform::draft`] admits.
#[derive(Clone, Copy, Debug)]
pub struct Admission {
    /// Most waiting jobs of a kind (0: no cap).
    pub max_depth: i64,
    /// Most queued or running jobs of one account.
    pub max_active_per_account: i64,
    /// Most seconds one account's jobs may run in any 24 hours (0: no budget).
    pub compute_secs_per_day: i64,
}

impl Platform {
    /// A platform over the given queues and events, admitting work as `admission` says.
    pub fn new(queues: Queues, events: JobEvents, admission: Admission) -> Self {
        Self {
            queues,
            events,
            admission,
        }
    }

    /// Connects the configured queues and events (Redis when `REDIS_URL` is set, else the
    /// embedded queue file and in-process events), with admission at `queue.max_depth`.
    ///
    /// # Errors
    /// When Redis cannot be reached at start or the queue file cannot be opened.
    pub async fn connect(settings: &shared::config::Settings) -> anyhow::Result<Self> {
        let queues = Queues::connect(settings).await?;
        let events = JobEvents::connect(settings).await?;
        Ok(Self::new(
            queues,
            events,
            Admission {
                max_depth: settings.queue.max_depth,
                max_active_per_account: settings.queue.max_active_per_account,
                compute_secs_per_day: settings.queue.compute_secs_per_day,
            },
        ))
    }

    /// The queues.
    pub fn queues(&self) -> &Queues {
        &self.queues
    }

    /// The job events.
    pub fn events(&self) -> &JobEvents {
        &self.events
    }

    /// Refuses when `owner`'s jobs ran the daily budget or more in the last 24 hours (by the
    /// system clock, as every job time).
    async fn check_budget(
        &self,
        store: &dyn JobStore,
        owner: Uuid,
        kind: shared::jobs::JobKind,
    ) -> Result<(), EnqueueError> {
        let limit = self.admission.compute_secs_per_day;
        if limit <= 0 {
            return Ok(());
        }
        let now = Utc::now();
        let since = now - TimeDelta::days(1);
        let spans = store.compute_spans(owner, since, now).await?;
        let used: i64 = spans.iter().map(|(s, e)| (*e - *s).num_seconds()).sum();
        if used < limit {
            return Ok(());
        }
        metrics::counter!("jobs_over_budget_total", "kind" => kind.as_str()).increment(1);
        Err(EnqueueError::Budget {
            used,
            limit,
            retry_after: budget_frees_in(&spans, since, used - limit + 1),
        })
    }

    /// The row of a new queued job of the payload's kind, to be written by the caller's
    /// transaction. Refuses when the owner is at its quota or over its daily compute budget, or
    /// the kind's queue is full (the platform's own jobs are not counted against an account). The
    /// checks are counts, not locks: requests racing past them at once may go over by their
    /// number, never without bound.
    ///
    /// # Errors
    /// [`EnqueueError::Quota`], [`EnqueueError::Budget`], [`EnqueueError::Full`], or the store
    /// failing to count.
    pub async fn draft(
        &self,
        store: &dyn JobStore,
        owner: Uuid,
        payload: impl Into<JobPayload>,
        priority: i32,
    ) -> Result<NewJob, EnqueueError> {
        let payload = payload.into();
        self.admit(store, owner, payload.kind(), 1).await?;
        new_job(owner, payload, priority)
    }

    /// The rows of several new queued jobs of one kind, admitted together: all of them fit the
    /// owner's quota and the queue's depth, or none is drafted (the checks of [`Self::draft`]).
    ///
    /// # Errors
    /// As [`Self::draft`]; [`EnqueueError::Quota`] also when the batch alone is larger than the
    /// quota.
    pub async fn draft_many(
        &self,
        store: &dyn JobStore,
        owner: Uuid,
        payloads: Vec<JobPayload>,
        priority: i32,
    ) -> Result<Vec<NewJob>, EnqueueError> {
        let Some(kind) = payloads.first().map(JobPayload::kind) else {
            return Ok(Vec::new());
        };
        debug_assert!(
            payloads.iter().all(|p| p.kind() == kind),
            "one kind per batch"
        );
        let n = i64::try_from(payloads.len()).unwrap_or(i64::MAX);
        self.admit(store, owner, kind, n).await?;
        payloads
            .into_iter()
            .map(|p| new_job(owner, p, priority))
            .collect()
    }

    /// Whether `n` more jobs of `kind` for `owner` fit the quota, the budget and the depth cap.
    async fn admit(
        &self,
        store: &dyn JobStore,
        owner: Uuid,
        kind: shared::jobs::JobKind,
        n: i64,
    ) -> Result<(), EnqueueError> {
        if owner != PLATFORM_ACCOUNT_ID {
            let limit = self.admission.max_active_per_account;
            let active = store.active_jobs(owner).await?;
            if active.saturating_add(n) > limit {
                metrics::counter!("jobs_over_quota_total", "kind" => kind.as_str()).increment(1);
                return Err(EnqueueError::Quota {
                    active,
                    asked: n,
                    limit,
                });
            }
            self.check_budget(store, owner, kind).await?;
        }
        if self.admission.max_depth > 0 {
            let depth = store.queued_jobs(kind).await?;
            if depth.saturating_add(n) > self.admission.max_depth {
                metrics::counter!("jobs_refused_total", "kind" => kind.as_str()).increment(1);
                return Err(EnqueueError::Full {
                    queue: kind.queue(),
                    depth,
                });
            }
        }
        Ok(())
    }

    /// Pushes the messages of jobs the caller has committed, one bulk push per kind, while the
    /// kind's Redis queue holds fewer than [`MESSAGE_CAP`]: a message only wakes a worker,
    /// which then claims jobs while any is due, so the jobs beyond are taken all the same.
    /// Never fails: a message that cannot be pushed now is pushed again by the recovery sweep.
    pub async fn dispatch(&self, jobs: &[Job]) {
        self.push_by_kind(jobs.iter().map(|j| (j.kind, j.id)), "jobs_enqueued_total")
            .await;
    }

    /// Pushes again the messages of jobs the recovery sweep found (kind, job id), one bulk
    /// push per kind, counted in `jobs_redelivered_total`. Never fails; a failure is logged.
    pub async fn redeliver(&self, jobs: impl IntoIterator<Item = (shared::jobs::JobKind, Uuid)>) {
        self.push_by_kind(jobs, "jobs_redelivered_total").await;
    }

    /// Pushes one bulk per kind of the messages that fit under [`MESSAGE_CAP`].
    async fn push_by_kind(
        &self,
        jobs: impl IntoIterator<Item = (shared::jobs::JobKind, Uuid)>,
        counter: &'static str,
    ) {
        let mut by_kind: Vec<(shared::jobs::JobKind, Vec<shared::jobs::JobMessage>)> = Vec::new();
        for (kind, job_id) in jobs {
            let message = shared::jobs::JobMessage { job_id };
            match by_kind.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, messages)) => messages.push(message),
                None => by_kind.push((kind, vec![message])),
            }
        }
        for (kind, mut messages) in by_kind {
            // A message only wakes a worker, which then claims while jobs are due; beyond
            // `MESSAGE_CAP` waiting ones more wake nobody, and apalis-redis takes each
            // message with an `LREM` of its list, as slow as the list is long (37 jobs/s at
            // 1,000,000 messages). The jobs are in the store and are claimed all the same.
            if let Ok(Some(waiting)) = self.queues.waiting(kind).await {
                let room = usize::try_from(MESSAGE_CAP.saturating_sub(waiting)).unwrap_or(0);
                if room < messages.len() {
                    let skipped = (messages.len() - room) as u64;
                    metrics::counter!("jobs_messages_skipped_total", "kind" => kind.as_str())
                        .increment(skipped);
                    messages.truncate(room);
                }
            }
            if messages.is_empty() {
                continue;
            }
            let n = messages.len() as u64;
            match self.queues.push_many(kind, messages).await {
                Ok(()) => metrics::counter!(counter, "kind" => kind.as_str()).increment(n),
                Err(e) => {
                    metrics::counter!("jobs_push_failed_total", "kind" => kind.as_str())
                        .increment(n);
                    tracing::warn!(error = %e, kind = kind.as_str(), jobs = n,
                        "pushing jobs' messages failed; the recovery sweep will deliver them");
                }
            }
        }
    }

    /// Queues a job that no other row goes with: draft, write, dispatch.
    ///
    /// # Errors
    /// [`EnqueueError`]; nothing is queued then.
    pub async fn enqueue(
        &self,
        store: &dyn JobStore,
        owner: Uuid,
        payload: impl Into<JobPayload>,
        priority: i32,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Job, EnqueueError> {
        let new = self.draft(store, owner, payload, priority).await?;
        let job = store.create_job(&new, now).await?;
        self.dispatch(std::slice::from_ref(&job)).await;
        Ok(job)
    }

    /// Queues several jobs of one kind that no other row goes with, admitted together
    /// ([`Self::draft_many`]), written in one transaction and pushed in bulk.
    ///
    /// # Errors
    /// [`EnqueueError`]; nothing is queued then.
    pub async fn enqueue_many(
        &self,
        store: &dyn JobStore,
        owner: Uuid,
        payloads: Vec<JobPayload>,
        priority: i32,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Job>, EnqueueError> {
        let new = self.draft_many(store, owner, payloads, priority).await?;
        let jobs = store.create_jobs(&new, now).await?;
        self.dispatch(&jobs).await;
        Ok(jobs)
    }
}

/// A queued job's row.
fn new_job(owner: Uuid, payload: JobPayload, priority: i32) -> Result<NewJob, EnqueueError> {
    let kind = payload.kind();
    Ok(NewJob {
        id: Uuid::now_v7(),
        kind,
        owner_id: owner,
        priority,
        max_attempts: kind.max_attempts(),
        payload: payload.to_value()?,
    })
}

/// Seconds until the 24-hour window, sliding forward from `since`, has dropped `excess` seconds
/// of the `spans` (running jobs taken as ending now).
fn budget_frees_in(
    spans: &[(DateTime<Utc>, DateTime<Utc>)],
    since: DateTime<Utc>,
    excess: i64,
) -> i64 {
    // Dropped by a slide of t: the sum of each span's part before since + t, increasing in t;
    // bisect over whole seconds up to a day.
    let dropped = |t: i64| -> i64 {
        let edge = since + TimeDelta::seconds(t);
        spans
            .iter()
            .map(|(s, e)| ((*e).min(edge) - *s).num_seconds().max(0))
            .sum()
    };
    let (mut low, mut high) = (0_i64, 86_400_i64);
    while low < high {
        let mid = (low + high) / 2;
        if dropped(mid) >= excess {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    low.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_frees_when_enough_old_work_leaves_the_window() {
        let since = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let at = |s: i64| since + TimeDelta::seconds(s);
        // Two hours of work: one hour at the start of the window, one at its end.
        let spans = [(at(0), at(3_600)), (at(82_800), at(86_400))];
        assert_eq!(budget_frees_in(&spans, since, 1), 1);
        assert_eq!(budget_frees_in(&spans, since, 1_800), 1_800);
        assert_eq!(budget_frees_in(&spans, since, 3_600), 3_600);
        // Beyond the first hour the window must reach the second span.
        assert_eq!(budget_frees_in(&spans, since, 3_601), 82_801);
    }
}
