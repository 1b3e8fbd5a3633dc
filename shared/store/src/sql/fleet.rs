// The operators' view of the job platform, shared by both backends (see `store/fleet.rs` for
// the contract and `jobs.rs` for a job's life).

/// The message of a job an operator sent back to its queue.
const OPERATOR_RETRIED: &str = "sent back to its queue by an operator";

#[async_trait]
impl FleetStore for This {
    async fn fleet_jobs(
        &self,
        owner: Option<Uuid>,
        filter: &JobFilter,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<Job>> {
        let rows: Vec<JobRow> = sqlx::query_as(concat!(
            "SELECT ",
            job_cols!(),
            " FROM jobs WHERE ($1 IS NULL OR owner_id = $1) AND ($2 IS NULL OR status = $2) \
             AND ($3 IS NULL OR kind = $3) AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
        ))
        .bind(owner)
        .bind(filter.status.map(JobStatus::as_str))
        .bind(filter.kind.map(JobKind::as_str))
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        convert(rows)
    }

    async fn retry_job(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<Job> {
        let mut tx = self.begin().await?;
        let job = fetch_job(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        let max_attempts = job.attempts.saturating_add(job.kind.max_attempts());
        // Conditional on `failed`: of two retries at once, the second finds it queued.
        let row: Option<JobRow> = sqlx::query_as(concat!(
            "UPDATE jobs SET status = 'queued', max_attempts = $1, run_after = $2, \
             delivered_at = $2, worker_id = NULL, lease_until = NULL, cancel_requested = $3, \
             progress = 0, message = $4, finished_at = NULL, updated_at = $2 \
             WHERE id = $5 AND status = 'failed' RETURNING ",
            job_cols!()
        ))
        .bind(max_attempts)
        .bind(now)
        .bind(false)
        .bind(OPERATOR_RETRIED)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::Conflict(format!(
                "the job is {}; only a failed job can be retried",
                job.status.as_str()
            )));
        };
        let job = Job::try_from(row)?;
        tx.commit().await?;
        Ok(job)
    }

    async fn sample_queues(
        &self,
        at: DateTime<Utc>,
        keep_since: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT kind, status, COUNT(*) FROM jobs WHERE status IN ('queued', 'running') \
             GROUP BY kind, status",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut depth: Vec<(&str, i64, i64)> =
            JobKind::ALL.iter().map(|k| (k.as_str(), 0, 0)).collect();
        for (kind, status, n) in rows {
            if let Some(slot) = depth.iter_mut().find(|(k, _, _)| *k == kind) {
                if status == JobStatus::Queued.as_str() {
                    slot.1 += n;
                } else {
                    slot.2 += n;
                }
            }
        }
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO queue_samples (at, queue, queued, running) ",
        );
        insert.push_values(&depth, |mut row, (queue, queued, running)| {
            row.push_bind(at)
                .push_bind(*queue)
                .push_bind(*queued)
                .push_bind(*running);
        });
        insert.push(" ON CONFLICT (at, queue) DO NOTHING");
        let written = insert.build().execute(&mut *tx).await?.rows_affected();
        sqlx::query("DELETE FROM queue_samples WHERE at < $1")
            .bind(keep_since)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(written)
    }

    async fn queue_samples(&self, since: DateTime<Utc>) -> StoreResult<Vec<QueueSample>> {
        let mut rows: Vec<(DateTime<Utc>, String, i64, i64)> = sqlx::query_as(
            "SELECT at, queue, queued, running FROM queue_samples WHERE at >= $1 \
             ORDER BY at DESC, queue LIMIT $2",
        )
        .bind(since)
        .bind(MAX_QUEUE_SAMPLES)
        .fetch_all(&self.pool)
        .await?;
        rows.reverse();
        Ok(rows
            .into_iter()
            .map(|(at, queue, queued, running)| QueueSample {
                at,
                queue,
                queued,
                running,
            })
            .collect())
    }
}
