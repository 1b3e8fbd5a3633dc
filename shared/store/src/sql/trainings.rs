// Training runs, artifacts and applying a run (see `trainings.rs` in the store module). Included
// by both backends.

macro_rules! training_select {
    () => {
        "SELECT id, tool_id, creator_id, dataset_id, method, config, base_version, parent_id, job_id, result, \
         artifact_id, applied_version, created_at, updated_at FROM trainings"
    };
}

fn trainings(rows: Vec<TrainingRow>) -> StoreResult<Vec<TrainingRun>> {
    rows.into_iter().map(TrainingRun::try_from).collect()
}

/// Stores a finished run's artifact and result, once per run: a second delivery of the same
/// job (or another job of the same run) finds the result there and writes nothing.
async fn apply_training_outcome(
    tx: &mut Tx,
    o: &TrainingOutcome,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let taken = sqlx::query(
        "UPDATE trainings SET result = $1, job_id = $2, updated_at = $3 WHERE id = $4 AND result IS NULL",
    )
    .bind(Json(&o.result))
    .bind(o.job_id)
    .bind(now)
    .bind(o.training_id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if taken == 0 {
        return Ok(());
    }
    if let Some(a) = &o.artifact {
        use sha2::Digest as _;
        sqlx::query(
            "INSERT INTO artifacts (id, tool_id, training_id, kind, meta, bytes, size_bytes, sha256, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(a.id)
        .bind(o.tool_id)
        .bind(o.training_id)
        .bind(&a.kind)
        .bind(Json(&a.meta))
        .bind(&a.bytes)
        .bind(i64::try_from(a.bytes.len()).unwrap_or(i64::MAX))
        .bind(hex::encode(sha2::Sha256::digest(&a.bytes)))
        .bind(now)
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE trainings SET artifact_id = $1 WHERE id = $2")
            .bind(a.id)
            .bind(o.training_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl TrainingStore for This {
    async fn create_trainings(
        &self,
        new: &[NewTraining],
        jobs: &[(Uuid, NewJob)],
        now: DateTime<Utc>,
        job_now: DateTime<Utc>,
    ) -> StoreResult<(Vec<TrainingRun>, Vec<Job>)> {
        let mut tx = self.begin().await?;
        for t in new {
            sqlx::query(
                "INSERT INTO trainings (id, tool_id, creator_id, dataset_id, method, config, base_version, parent_id, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(t.id)
            .bind(t.tool_id)
            .bind(t.creator_id)
            .bind(t.dataset_id)
            .bind(t.method.as_str())
            .bind(Json(&t.config))
            .bind(t.base_version)
            .bind(t.parent_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let mut queued = Vec::with_capacity(jobs.len());
        for (run, job) in jobs {
            let job = insert_job(&mut tx, job, job_now).await?;
            let linked =
                sqlx::query("UPDATE trainings SET job_id = $1 WHERE id = $2 AND job_id IS NULL")
                    .bind(job.id)
                    .bind(run)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            if linked == 0 {
                return Err(StoreError::NotFound);
            }
            queued.push(job);
        }
        let mut out = Vec::with_capacity(new.len());
        for t in new {
            let row: TrainingRow = sqlx::query_as(concat!(training_select!(), " WHERE id = $1"))
                .bind(t.id)
                .fetch_one(&mut *tx)
                .await?;
            out.push(TrainingRun::try_from(row)?);
        }
        tx.commit().await?;
        Ok((out, queued))
    }

    async fn training(&self, id: Uuid) -> StoreResult<Option<TrainingRun>> {
        let row: Option<TrainingRow> =
            sqlx::query_as(concat!(training_select!(), " WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(TrainingRun::try_from).transpose()
    }

    async fn training_parts(&self, parent: Uuid) -> StoreResult<Vec<TrainingRun>> {
        let rows: Vec<TrainingRow> = sqlx::query_as(concat!(
            training_select!(),
            " WHERE parent_id = $1 ORDER BY id"
        ))
        .bind(parent)
        .fetch_all(&self.pool)
        .await?;
        trainings(rows)
    }

    async fn tool_trainings(
        &self,
        tool: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<TrainingRun>> {
        let rows: Vec<TrainingRow> = sqlx::query_as(concat!(
            training_select!(),
            " WHERE tool_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        ))
        .bind(tool)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        trainings(rows)
    }

    async fn artifact(&self, id: Uuid) -> StoreResult<Option<Artifact>> {
        let row: Option<ArtifactRow> = sqlx::query_as(
            "SELECT id, tool_id, training_id, kind, meta, bytes, sha256, created_at FROM artifacts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Artifact::from))
    }

    async fn apply_training(
        &self,
        a: &TrainingApplication,
        now: DateTime<Utc>,
    ) -> StoreResult<Tool> {
        let mut tx = self.begin().await?;
        // Locks the tool row first (PostgreSQL), so concurrent version changes serialize.
        let locked =
            sqlx::query("UPDATE tools SET updated_at = $1 WHERE id = $2 AND deleted_at IS NULL")
                .bind(now)
                .bind(a.tool_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if locked == 0 {
            return Err(StoreError::NotFound);
        }
        let current = fetch_tool(&mut tx, a.tool_id).await?;
        let version = current.current_version + 1;
        for id in std::iter::once(a.training_id).chain(a.parent_id) {
            let marked = sqlx::query(
                "UPDATE trainings SET applied_version = $1, updated_at = $2 \
                 WHERE id = $3 AND applied_version IS NULL",
            )
            .bind(version)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if marked == 0 {
                return Err(StoreError::Conflict(
                    "the training run has already been applied".into(),
                ));
            }
        }
        insert_version(
            &mut tx,
            a.tool_id,
            version,
            &a.parameters,
            "training",
            Some(&a.lineage),
            a.artifact_id,
            now,
        )
        .await?;
        sqlx::query("UPDATE tools SET current_version = $1 WHERE id = $2")
            .bind(version)
            .bind(a.tool_id)
            .execute(&mut *tx)
            .await?;
        let out = fetch_tool(&mut tx, a.tool_id).await?;
        tx.commit().await?;
        Ok(out)
    }
}
