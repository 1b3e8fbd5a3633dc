// Jobs, shared by both backends (see `common.rs` and `store/jobs.rs` for the contract). Every
// state change is one conditional statement: a claim is `status = 'queued'` -> `running`, and
// only the holder of the current claim (`worker_id` and `attempts`) can renew or end it.
// `skip_locked!()` is ` FOR UPDATE SKIP LOCKED` on PostgreSQL (concurrent claimers and sweepers
// take different rows without waiting) and empty on SQLite (whose writers are serialized by
// `BEGIN IMMEDIATE`). The workers registry and the queue counts are in `job_workers.rs`.

use super::rows::{JobRow, WorkerRow};
use domain::jobs::{Job, JobKind, JobStatus};

/// The message of a job that ended because its owner canceled it.
const OWNER_CANCELED: &str = "canceled by the owner";

macro_rules! job_cols {
    () => {
        "id, kind, owner_id, status, progress, message, attempts, max_attempts, priority, worker_id, \
         payload, result, error, cancel_requested, run_after, lease_until, created_at, started_at, \
         finished_at, updated_at"
    };
}

/// The claim condition: the job is running under this worker's current attempt.
macro_rules! held_by {
    ($id:literal, $worker:literal, $attempt:literal) => {
        concat!(
            " WHERE id = ",
            $id,
            " AND status = 'running' AND worker_id = ",
            $worker,
            " AND attempts = ",
            $attempt
        )
    };
}

/// `now + d` (or `now - d`), refusing durations beyond the calendar.
fn shifted(now: DateTime<Utc>, d: Duration, forward: bool) -> StoreResult<DateTime<Utc>> {
    let delta = chrono::TimeDelta::from_std(d)
        .map_err(|e| StoreError::Conflict(format!("duration out of range: {e}")))?;
    let at = if forward {
        now.checked_add_signed(delta)
    } else {
        now.checked_sub_signed(delta)
    };
    at.ok_or_else(|| StoreError::Conflict("duration out of range".into()))
}

/// The failure stored on a job whose worker died during its last attempt.
fn worker_lost() -> domain::jobs::JobFailure {
    domain::jobs::JobFailure::new(
        domain::jobs::FailureKind::WorkerLost,
        "Worker lost",
        "the worker running this job stopped responding on its last attempt",
    )
}

/// Inserts a queued job inside `tx`: the outbox row of whatever the transaction creates. It
/// commits or rolls back with the domain row that asked for it, so no caller needs an undo.
/// `delivered_at = now`: the caller pushes a message after the commit; the recovery sweep
/// pushes it again only if the job is still queued `redeliver_after` later (a failed push).
async fn insert_job(tx: &mut Tx, new: &NewJob, now: DateTime<Utc>) -> StoreResult<Job> {
    let mut jobs = insert_jobs(tx, std::slice::from_ref(new), now).await?;
    jobs.pop()
        .ok_or_else(|| StoreError::Conflict(format!("job {} was not inserted", new.id)))
}

/// Rows of jobs per insert statement (9 parameters each, well under both databases' limits).
const JOBS_PER_INSERT: usize = 500;

/// Inserts queued jobs, in chunks of multi-row inserts; returns them in the given order.
async fn insert_jobs(tx: &mut Tx, new: &[NewJob], now: DateTime<Utc>) -> StoreResult<Vec<Job>> {
    let mut jobs = Vec::with_capacity(new.len());
    for chunk in new.chunks(JOBS_PER_INSERT) {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO jobs (id, kind, owner_id, status, progress, attempts, max_attempts, priority, payload, \
             cancel_requested, run_after, delivered_at, created_at, updated_at) ",
        );
        insert.push_values(chunk, |mut row, j| {
            row.push_bind(j.id)
                .push_bind(j.kind.as_str())
                .push_bind(j.owner_id)
                .push_unseparated(", 'queued', 0, 0")
                .push_bind(j.max_attempts)
                .push_bind(j.priority)
                .push_bind(Json(&j.payload))
                .push_bind(false)
                .push_bind(now)
                .push_bind(now)
                .push_bind(now)
                .push_bind(now);
        });
        insert.push(concat!(" RETURNING ", job_cols!()));
        let rows: Vec<JobRow> = insert.build_query_as().fetch_all(&mut **tx).await?;
        let mut by_id: std::collections::HashMap<Uuid, Job> = rows
            .into_iter()
            .map(|r| Job::try_from(r).map(|j| (j.id, j)))
            .collect::<StoreResult<_>>()?;
        for j in chunk {
            jobs.push(
                by_id.remove(&j.id).ok_or_else(|| {
                    StoreError::Conflict(format!("job {} was not inserted", j.id))
                })?,
            );
        }
    }
    Ok(jobs)
}

async fn fetch_job(tx: &mut Tx, id: Uuid) -> StoreResult<Option<Job>> {
    let row: Option<JobRow> =
        sqlx::query_as(concat!("SELECT ", job_cols!(), " FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    row.map(Job::try_from).transpose()
}

#[async_trait]
impl JobStore for This {
    async fn create_job(&self, new: &NewJob, now: DateTime<Utc>) -> StoreResult<Job> {
        let mut tx = self.begin().await?;
        let job = insert_job(&mut tx, new, now).await?;
        tx.commit().await?;
        Ok(job)
    }

    async fn create_jobs(&self, new: &[NewJob], now: DateTime<Utc>) -> StoreResult<Vec<Job>> {
        let mut tx = self.begin().await?;
        let jobs = insert_jobs(&mut tx, new, now).await?;
        tx.commit().await?;
        Ok(jobs)
    }

    async fn job(&self, id: Uuid) -> StoreResult<Option<Job>> {
        let row: Option<JobRow> =
            sqlx::query_as(concat!("SELECT ", job_cols!(), " FROM jobs WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(Job::try_from).transpose()
    }

    async fn list_jobs(
        &self,
        owner: Uuid,
        filter: &JobFilter,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<Job>> {
        let rows: Vec<JobRow> = sqlx::query_as(concat!(
            "SELECT ",
            job_cols!(),
            " FROM jobs WHERE owner_id = $1 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR kind = $3) \
             AND ($4 IS NULL OR id < $4) AND ($6 IS NULL OR payload->>'tool_id' = $6) \
             ORDER BY id DESC LIMIT $5"
        ))
        .bind(owner)
        .bind(filter.status.map(JobStatus::as_str))
        .bind(filter.kind.map(JobKind::as_str))
        .bind(before)
        .bind(limit)
        .bind(filter.tool_id.map(|id| id.hyphenated().to_string()))
        .fetch_all(&self.pool)
        .await?;
        convert(rows)
    }

    async fn queued_jobs(&self, kind: JobKind) -> StoreResult<i64> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM jobs WHERE kind = $1 AND status = 'queued'")
                .bind(kind.as_str())
                .fetch_one(&self.pool)
                .await?;
        Ok(n)
    }

    async fn active_jobs(&self, owner: Uuid) -> StoreResult<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM jobs WHERE owner_id = $1 AND status IN ('queued', 'running')",
        )
        .bind(owner)
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }

    async fn compute_spans(
        &self,
        owner: Uuid,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
        // Ids are UUID v7: jobs made more than two days before the window are not read (the
        // owner's index range), whatever their number.
        let floor = uuid_v7_floor(since - chrono::TimeDelta::days(2));
        let rows: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT started_at, finished_at FROM jobs WHERE owner_id = $1 AND id >= $2 \
             AND started_at IS NOT NULL AND (finished_at IS NULL OR finished_at > $3)",
        )
        .bind(owner)
        .bind(floor)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(start, end)| (start.max(since), end.unwrap_or(now).min(now)))
            .filter(|(start, end)| end > start)
            .collect())
    }

    async fn has_due_job(&self, kind: JobKind, now: DateTime<Utc>) -> StoreResult<bool> {
        let row: Option<(Uuid,)> = sqlx::query_as(
            // In the claim index's order: a plan made for any kind (PostgreSQL's generic plan of
            // a prepared statement) then walks that index rather than scanning the table.
            "SELECT id FROM jobs WHERE kind = $1 AND status = 'queued' AND run_after <= $2 \
             ORDER BY priority DESC, id LIMIT 1",
        )
        .bind(kind.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    async fn claim_jobs(
        &self,
        kind: JobKind,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
        max: u32,
    ) -> StoreResult<Vec<Job>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let lease_until = shifted(now, lease, true)?;
        // Fair order: the highest priority first; within it, turns: an owner's first waiting job
        // counts as its running jobs of this kind plus one, its second plus two, and so on, so one
        // account's backlog does not keep another account's job waiting behind all of it, in a
        // batch as across batches. Only the first due jobs are weighed (256, an index range) and
        // running jobs are counted once per owner, so a deep queue costs no more per claim than a
        // short one. Rows another claimer holds are skipped (PostgreSQL) and the next ones taken;
        // the outer `status = 'queued'` re-checks each row once locked. The picked rows are a
        // materialized CTE: as `id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)` PostgreSQL
        // may run the subquery again for each row it updates and take more than `n`. The
        // locked rows are reached by id only: with a status condition there, a plan made
        // without statistics (a new table) looked every candidate up through the status index,
        // all waiting rows each time (100 ms claims with 10,000 queued); a row another claimer
        // took since the statement began is locked and then dropped by the status re-check.
        let claim = sqlx::query_as(concat!(
            "WITH cand AS (SELECT id, owner_id, priority FROM jobs \
                           WHERE kind = $4 AND status = 'queued' AND run_after <= $3 \
                           ORDER BY priority DESC, id LIMIT 256), \
                  busy AS (SELECT owner_id, COUNT(*) AS n FROM jobs \
                           WHERE kind = $4 AND status = 'running' GROUP BY owner_id), \
                  turns AS (SELECT c.id, c.priority, COALESCE(b.n, 0) + ROW_NUMBER() OVER ( \
                                PARTITION BY c.owner_id, c.priority ORDER BY c.id) AS turn \
                            FROM cand c LEFT JOIN busy b ON b.owner_id = c.owner_id), \
                  picked AS MATERIALIZED (SELECT j.id FROM turns t JOIN jobs j ON j.id = t.id \
                            ORDER BY t.priority DESC, t.turn, t.id LIMIT $5",
            skip_locked!("j"),
            ") UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = $1, lease_until = $2, \
             started_at = COALESCE(started_at, $3), updated_at = $3 \
             WHERE id IN (SELECT id FROM picked) AND status = 'queued' RETURNING ",
            job_cols!()
        ))
        .bind(worker)
        .bind(lease_until)
        .bind(now)
        .bind(kind.as_str())
        .bind(i64::from(max));
        // One statement is atomic on its own: PostgreSQL runs it without a transaction around
        // it (two round trips fewer per claim). SQLite's writes start with `BEGIN IMMEDIATE`,
        // so that a claim waits for the write lock before it reads instead of failing after.
        let rows: Vec<JobRow> = if matches!(KIND, DatabaseKind::Postgres) {
            claim.fetch_all(&self.pool).await?
        } else {
            let mut tx = self.begin().await?;
            let rows = claim.fetch_all(&mut *tx).await?;
            tx.commit().await?;
            rows
        };
        let mut jobs = rows
            .into_iter()
            .map(Job::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        jobs.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.id.cmp(&b.id)));
        Ok(jobs)
    }

    async fn touch_job(
        &self,
        claim: &JobClaim,
        progress: Option<(f64, Option<&str>)>,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<ClaimState> {
        let lease_until = shifted(now, lease, true)?;
        let row: Option<(bool,)> = match progress {
            None => {
                sqlx::query_as(concat!(
                    "UPDATE jobs SET lease_until = $1, updated_at = $2",
                    held_by!("$3", "$4", "$5"),
                    " RETURNING cancel_requested"
                ))
                .bind(lease_until)
                .bind(now)
                .bind(claim.job_id)
                .bind(&claim.worker_id)
                .bind(claim.attempt)
                .fetch_optional(&self.pool)
                .await?
            }
            Some((fraction, message)) => {
                // NaN would pass no range check; it means "no idea", so 0.
                let fraction = if fraction.is_nan() {
                    0.0
                } else {
                    fraction.clamp(0.0, 1.0)
                };
                // No message keeps the previous one.
                sqlx::query_as(concat!(
                    "UPDATE jobs SET lease_until = $1, updated_at = $2, progress = $3, message = COALESCE($4, message)",
                    held_by!("$5", "$6", "$7"),
                    " RETURNING cancel_requested"
                ))
                .bind(lease_until)
                .bind(now)
                .bind(fraction)
                .bind(message)
                .bind(claim.job_id)
                .bind(&claim.worker_id)
                .bind(claim.attempt)
                .fetch_optional(&self.pool)
                .await?
            }
        };
        Ok(match row {
            Some((cancel_requested,)) => ClaimState {
                held: true,
                cancel_requested,
            },
            None => ClaimState {
                held: false,
                cancel_requested: false,
            },
        })
    }

    async fn finish_job_with(
        &self,
        claim: &JobClaim,
        outcome: &JobOutcome,
        effect: Option<&JobEffect>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let query = match outcome {
            JobOutcome::Succeeded { result } => sqlx::query(concat!(
                "UPDATE jobs SET status = 'succeeded', progress = 1, result = $1, error = NULL, finished_at = $2, \
                 lease_until = NULL, updated_at = $2",
                held_by!("$3", "$4", "$5")
            ))
            .bind(Json(result)),
            JobOutcome::Failed { error } => sqlx::query(concat!(
                "UPDATE jobs SET status = 'failed', error = $1, finished_at = $2, lease_until = NULL, updated_at = $2",
                held_by!("$3", "$4", "$5")
            ))
            .bind(Json(error)),
            JobOutcome::Canceled => sqlx::query(concat!(
                "UPDATE jobs SET status = 'canceled', message = $1, finished_at = $2, lease_until = NULL, updated_at = $2",
                held_by!("$3", "$4", "$5")
            ))
            .bind(OWNER_CANCELED),
            // The last attempt's error stays in `error` for visibility either way; with no
            // attempt left the job fails for good, otherwise it waits for `run_after` and the
            // recovery sweep (`delivered_at` NULL) pushes it again.
            JobOutcome::Retry { error, .. } => sqlx::query(concat!(
                "UPDATE jobs SET error = $1, updated_at = $2, lease_until = NULL, \
                 status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
                 finished_at = CASE WHEN attempts >= max_attempts THEN $2 ELSE NULL END, \
                 run_after = CASE WHEN attempts >= max_attempts THEN run_after ELSE $6 END, \
                 worker_id = CASE WHEN attempts >= max_attempts THEN worker_id ELSE NULL END, \
                 delivered_at = NULL",
                held_by!("$3", "$4", "$5")
            ))
            .bind(Json(error)),
        };
        let query = query
            .bind(now)
            .bind(claim.job_id)
            .bind(&claim.worker_id)
            .bind(claim.attempt);
        let query = match outcome {
            JobOutcome::Retry { run_after, .. } => query.bind(*run_after),
            _ => query,
        };
        let effect = match (outcome, effect) {
            (JobOutcome::Succeeded { .. }, Some(effect)) => effect,
            _ => return Ok(query.execute(&self.pool).await?.rows_affected() == 1),
        };
        let mut tx = self.begin().await?;
        if query.execute(&mut *tx).await?.rows_affected() != 1 {
            return Ok(false);
        }
        apply_effect(&mut tx, effect, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn finish_jobs(
        &self,
        done: &[(JobClaim, JobOutcome)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<bool>> {
        let mut written = vec![false; done.len()];
        let mut finals = Vec::with_capacity(done.len());
        for (i, (claim, outcome)) in done.iter().enumerate() {
            if matches!(outcome, JobOutcome::Retry { .. }) {
                written[i] = self.finish_job_with(claim, outcome, None, now).await?;
            } else {
                finals.push(i);
            }
        }
        for chunk in finals.chunks(500) {
            // `column1`... name a VALUES list's columns in both databases. Each column a
            // final outcome does not set keeps the row's value (COALESCE), as the single
            // statements leave it.
            let mut query = sqlx::QueryBuilder::<Db>::new(
                "UPDATE jobs SET status = v.column4, \
                 progress = CASE WHEN v.column4 = 'succeeded' THEN 1 ELSE jobs.progress END, \
                 result = COALESCE(v.column5, jobs.result), \
                 error = CASE WHEN v.column4 = 'succeeded' THEN NULL ELSE COALESCE(v.column6, jobs.error) END, \
                 message = COALESCE(v.column7, jobs.message), lease_until = NULL, finished_at = ",
            );
            query
                .push_bind(now)
                .push(", updated_at = ")
                .push_bind(now)
                .push(" FROM (");
            query.push_values(chunk, |mut row, &i| {
                let (claim, outcome) = &done[i];
                let (status, result, error, message) = match outcome {
                    JobOutcome::Succeeded { result } => ("succeeded", Some(result), None, None),
                    JobOutcome::Failed { error } => ("failed", None, Some(error), None),
                    _ => ("canceled", None, None, Some(OWNER_CANCELED)),
                };
                row.push_bind(claim.job_id)
                    .push_bind(claim.worker_id.as_str())
                    .push_bind(claim.attempt)
                    .push_bind(status)
                    .push_bind(result.map(Json))
                    .push_bind(error.map(Json))
                    .push_bind(message);
            });
            query.push(
                ") AS v WHERE jobs.id = v.column1 AND jobs.status = 'running' \
                 AND jobs.worker_id = v.column2 AND jobs.attempts = v.column3 RETURNING jobs.id",
            );
            let ids: Vec<(Uuid,)> = query.build_query_as().fetch_all(&self.pool).await?;
            let ids: std::collections::HashSet<Uuid> = ids.into_iter().map(|(id,)| id).collect();
            for &i in chunk {
                written[i] = ids.contains(&done[i].0.job_id);
            }
        }
        Ok(written)
    }

    async fn cancel_job(&self, owner: Uuid, id: Uuid, now: DateTime<Utc>) -> StoreResult<Job> {
        let mut tx = self.begin().await?;
        // A queued job ends now (a message still on the queue finds it canceled and claims
        // nothing); a running one is flagged for its worker; a final one is left alone.
        sqlx::query(
            "UPDATE jobs SET status = CASE WHEN status = 'queued' THEN 'canceled' ELSE status END, \
             message = CASE WHEN status = 'queued' THEN $1 ELSE message END, \
             finished_at = CASE WHEN status = 'queued' THEN $2 ELSE finished_at END, \
             cancel_requested = $3, updated_at = $2 \
             WHERE id = $4 AND owner_id = $5 AND status IN ('queued', 'running')",
        )
        .bind(OWNER_CANCELED)
        .bind(now)
        .bind(true)
        .bind(id)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        let job = fetch_job(&mut tx, id)
            .await?
            .filter(|j| j.owner_id == owner)
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(job)
    }

    async fn recover_jobs(
        &self,
        now: DateTime<Utc>,
        redeliver_after: Duration,
        limit: i64,
    ) -> StoreResult<Vec<Dispatch>> {
        let delivered_before = shifted(now, redeliver_after, false)?;
        let mut tx = self.begin().await?;
        // A job its owner asked to cancel whose worker died is canceled, not run again.
        sqlx::query(concat!(
            "UPDATE jobs SET status = 'canceled', finished_at = $1, lease_until = NULL, \
             updated_at = $1, message = $2 \
             WHERE id IN (SELECT id FROM jobs WHERE status = 'running' AND cancel_requested AND lease_until < $1",
            skip_locked!(),
            ")"
        ))
        .bind(now)
        .bind(OWNER_CANCELED)
        .execute(&mut *tx)
        .await?;
        // Leases that ran out: the worker died (or hung past its lease). A row locked now is
        // being renewed or finished by its worker: skipped, it is not lost.
        sqlx::query(concat!(
            "UPDATE jobs SET status = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END, \
             run_after = CASE WHEN attempts < max_attempts THEN $1 ELSE run_after END, \
             worker_id = CASE WHEN attempts < max_attempts THEN NULL ELSE worker_id END, \
             message = CASE WHEN attempts < max_attempts THEN $2 ELSE message END, \
             error = CASE WHEN attempts < max_attempts THEN error ELSE $3 END, \
             finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE $1 END, \
             delivered_at = NULL, lease_until = NULL, updated_at = $1 \
             WHERE id IN (SELECT id FROM jobs WHERE status = 'running' AND lease_until < $1",
            skip_locked!(),
            ")"
        ))
        .bind(now)
        .bind("worker lost; retrying")
        .bind(Json(worker_lost()))
        .execute(&mut *tx)
        .await?;
        // Due queued jobs without a message (retried after a backoff, or recovered from a lost
        // worker: their message was consumed) are pushed at once; a partial index holds only
        // them, so a deep backlog of delivered jobs is never read.
        let mut rows = redeliver(&mut tx, None, now, now, limit).await?;
        // Jobs whose message is older than `redeliver_after` are pushed again only when their
        // kind looks stalled (no job of the kind started within that time: the messages were
        // lost, e.g. Redis restarted empty). A queue that is merely busy draining a backlog
        // gets no extra messages, so redelivery can never grow the queue beyond what was
        // enqueued, and its backlog is not read (one index probe per kind).
        for kind in JobKind::ALL {
            let left = limit - rows.len() as i64;
            if left <= 0 {
                break;
            }
            // `max` walks the (kind, started_at) index from its end in any plan; a `LIMIT 1`
            // probe for `started_at >= $2` was planned generically as a table scan (95 ms at
            // 1,000,000 jobs, once per kind per sweep).
            let (last_start,): (Option<DateTime<Utc>>,) =
                sqlx::query_as("SELECT max(started_at) FROM jobs WHERE kind = $1")
                    .bind(kind.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
            if last_start.is_none_or(|at| at < delivered_before) {
                rows.extend(redeliver(&mut tx, Some(kind), now, delivered_before, left).await?);
            }
        }
        tx.commit().await?;
        rows.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        rows.into_iter()
            .map(|(job_id, kind, _)| {
                let kind = JobKind::parse(&kind).ok_or_else(|| {
                    StoreError::Corrupt(format!("job {job_id}: unknown kind {kind:?}"))
                })?;
                Ok(Dispatch { job_id, kind })
            })
            .collect()
    }

    async fn maintain_jobs(&self) -> StoreResult<JobsMaintenance> {
        self.maintain_jobs_table().await
    }

    async fn mark_delivered(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE jobs SET delivered_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn heartbeat_worker(&self, info: &WorkerInfo) -> StoreResult<()> {
        self.upsert_worker(info).await
    }

    async fn stop_worker(&self, id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        self.mark_worker_stopped(id, now).await
    }

    async fn live_workers(&self, since: DateTime<Utc>) -> StoreResult<Vec<WorkerInfo>> {
        self.workers_since(since).await
    }

    async fn queue_counts(&self) -> StoreResult<Vec<QueueCounts>> {
        self.count_jobs().await
    }
}

/// Marks due queued jobs delivered at `now` and returns them (id, kind, priority), highest
/// priority then oldest first, at most `limit`: with no `stalled` kind, the jobs that have no
/// message (`delivered_at` NULL, their own partial index); with one, that kind's jobs whose
/// message was pushed before `delivered_before` (an index range of the kind's waiting jobs).
async fn redeliver(
    tx: &mut Tx,
    stalled: Option<JobKind>,
    now: DateTime<Utc>,
    delivered_before: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<(Uuid, String, i32)>> {
    // Locked in a materialized CTE, as in `claim_jobs`, so at most `limit` rows are taken.
    // Parameters: $1 now, $2 delivered before, $3 the stalled kind, $4 the limit.
    macro_rules! redeliver_where {
        ($condition:literal) => {
            concat!(
                "WITH picked AS MATERIALIZED (SELECT id FROM jobs WHERE ",
                $condition,
                " AND status = 'queued' AND run_after <= $1 ORDER BY priority DESC, id LIMIT $4",
                skip_locked!(),
                ") UPDATE jobs SET delivered_at = $1 WHERE id IN (SELECT id FROM picked) \
                 RETURNING id, kind, priority"
            )
        };
    }
    let sql = match stalled {
        None => redeliver_where!("delivered_at IS NULL"),
        Some(_) => redeliver_where!("kind = $3 AND delivered_at < $2"),
    };
    Ok(sqlx::query_as(sql)
        .bind(now)
        .bind(delivered_before)
        .bind(stalled.map(JobKind::as_str))
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?)
}

/// The smallest UUID v7 of the millisecond `at`: every id made at or after `at` is above it.
fn uuid_v7_floor(at: DateTime<Utc>) -> Uuid {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    bytes[6] = 0x70;
    bytes[8] = 0x80;
    Uuid::from_bytes(bytes)
}
