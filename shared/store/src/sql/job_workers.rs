// The workers registry and the queue counts operators see, shared by both backends (see
// `jobs.rs`). Workers register and refresh themselves with heartbeats; a worker that stops
// heartbeating simply drops out of `live_workers`, its jobs recovered by their leases.

impl This {
    /// Inserts or refreshes a worker's row. `started_at` is kept from the first heartbeat.
    async fn upsert_worker(&self, info: &WorkerInfo) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO workers (id, host, queues, concurrency, in_flight, started_at, heartbeat_at, stopped_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (id) DO UPDATE SET host = excluded.host, queues = excluded.queues, \
             concurrency = excluded.concurrency, in_flight = excluded.in_flight, \
             heartbeat_at = excluded.heartbeat_at, stopped_at = excluded.stopped_at",
        )
        .bind(&info.id)
        .bind(&info.host)
        .bind(Json(&info.queues))
        .bind(info.concurrency)
        .bind(info.in_flight)
        .bind(info.started_at)
        .bind(info.heartbeat_at)
        .bind(info.stopped_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mark_worker_stopped(&self, id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE workers SET stopped_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn workers_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<WorkerInfo>> {
        let rows: Vec<WorkerRow> = sqlx::query_as(
            "SELECT id, host, queues, concurrency, in_flight, started_at, heartbeat_at, stopped_at FROM workers \
             WHERE heartbeat_at >= $1 AND stopped_at IS NULL ORDER BY started_at, id",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(WorkerInfo::from).collect())
    }

    /// One `QueueCounts` per kind in `JobKind::ALL` order, zeros included.
    async fn count_jobs(&self) -> StoreResult<Vec<QueueCounts>> {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status")
                .fetch_all(&self.pool)
                .await?;
        let mut counts: Vec<QueueCounts> = JobKind::ALL
            .iter()
            .map(|k| QueueCounts {
                queue: k.queue().to_owned(),
                ..QueueCounts::default()
            })
            .collect();
        for (kind, status, n) in rows {
            let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("job {what} {v:?}"));
            let kind = JobKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?;
            let status = JobStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?;
            let Some(slot) = JobKind::ALL
                .iter()
                .position(|k| *k == kind)
                .and_then(|i| counts.get_mut(i))
            else {
                continue;
            };
            *match status {
                JobStatus::Queued => &mut slot.queued,
                JobStatus::Running => &mut slot.running,
                JobStatus::Succeeded => &mut slot.succeeded,
                JobStatus::Failed => &mut slot.failed,
                JobStatus::Canceled => &mut slot.canceled,
            } += n;
        }
        Ok(counts)
    }
}
