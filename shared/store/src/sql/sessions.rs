// Sessions, session tools, optimization records, promotion and rollback (see `sessions.rs` in
// the store module). Included by both backends.

macro_rules! session_select {
    () => {
        "SELECT id, owner_id, dataset_id, config, status, promote_successful, created_at, updated_at, ended_at \
         FROM sessions"
    };
}

macro_rules! session_tool_select {
    () => {
        "SELECT session_id, tool_id, base_version, parameters, active_record_id, last_job_id, created_at, updated_at \
         FROM session_tools"
    };
}

macro_rules! record_select {
    () => {
        "SELECT id, session_id, tool_id, owner_id, job_id, base_version, method, config, seed, trials_run, \
         params_before, params_after, metrics_before, metrics_after, improvement, standards_report, status, \
         dataset_hash, search, promoted_version, last_check, rechecks, created_at, updated_at FROM optimization_records"
    };
}

async fn fetch_session(tx: &mut Tx, id: Uuid) -> StoreResult<Option<Session>> {
    let row: Option<SessionRow> = sqlx::query_as(concat!(session_select!(), " WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(Session::try_from).transpose()
}

fn records(rows: Vec<RecordRow>) -> StoreResult<Vec<OptimizationRecord>> {
    rows.into_iter().map(OptimizationRecord::try_from).collect()
}

fn seed_i64(seed: u64) -> StoreResult<i64> {
    i64::try_from(seed).map_err(|_| StoreError::Conflict(format!("seed {seed} is out of range")))
}

/// Stores a finished optimization's record (once per job) and, when it is better than what
/// the session uses, makes its parameters the session's. The session row is written first so
/// that concurrent records of one session serialize on it (PostgreSQL row lock; SQLite's
/// write lock is taken by `BEGIN IMMEDIATE`).
async fn apply_record(
    tx: &mut Tx,
    record: &OptimizationRecord,
    trials: &[OptimizationTrial],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let state: Option<(String, Option<bool>)> = sqlx::query_as(
        "UPDATE sessions SET updated_at = $1 WHERE id = $2 RETURNING status, promote_successful",
    )
    .bind(now)
    .bind(record.session_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((session_status, promote_successful)) = state else {
        return Err(StoreError::Conflict("the session no longer exists".into()));
    };
    let active = session_status == SessionStatus::Active.as_str();
    // Better than the record in use, if any (the baseline otherwise, which `record.status`
    // already reflects).
    let current: Option<(Option<f64>,)> = sqlx::query_as(
        "SELECT r.improvement FROM session_tools t JOIN optimization_records r ON r.id = t.active_record_id \
         WHERE t.session_id = $1 AND t.tool_id = $2",
    )
    .bind(record.session_id)
    .bind(record.tool_id)
    .fetch_optional(&mut **tx)
    .await?;
    let mut status = record.status;
    if status == RecordStatus::Applied
        && let Some((Some(in_use),)) = current
        && record.improvement.is_none_or(|i| i <= in_use)
    {
        status = RecordStatus::Rejected;
    }
    if !active {
        status = if record.standards_report.passed && promote_successful == Some(true) {
            RecordStatus::Promotable
        } else if status == RecordStatus::Applied {
            RecordStatus::Superseded
        } else {
            status
        };
    }
    let inserted = sqlx::query(
        "INSERT INTO optimization_records (id, session_id, tool_id, owner_id, job_id, base_version, method, config, \
         seed, trials_run, params_before, params_after, metrics_before, metrics_after, improvement, standards_report, \
         passed, status, dataset_hash, search, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21) \
         ON CONFLICT (job_id) DO NOTHING",
    )
    .bind(record.id)
    .bind(record.session_id)
    .bind(record.tool_id)
    .bind(record.owner_id)
    .bind(record.job_id)
    .bind(record.base_version)
    .bind(record.study.method.as_str())
    .bind(Json(&record.config))
    .bind(seed_i64(record.study.seed)?)
    .bind(i64::try_from(record.trials_run).unwrap_or(i64::MAX))
    .bind(Json(&record.params_before))
    .bind(Json(&record.params_after))
    .bind(Json(&record.metrics_before))
    .bind(Json(&record.metrics_after))
    .bind(record.improvement.filter(|x| x.is_finite()))
    .bind(Json(&record.standards_report))
    .bind(record.standards_report.passed)
    .bind(status.as_str())
    .bind(&record.dataset_hash)
    .bind(Json(&record.search))
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(());
    }
    insert_trials(tx, record.id, trials).await?;
    if !active || status != RecordStatus::Applied {
        return Ok(());
    }
    sqlx::query(
        "UPDATE optimization_records SET status = 'superseded', updated_at = $1 \
         WHERE session_id = $2 AND tool_id = $3 AND status = 'applied' AND id <> $4",
    )
    .bind(now)
    .bind(record.session_id)
    .bind(record.tool_id)
    .bind(record.id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE session_tools SET parameters = $1, active_record_id = $2, updated_at = $3 \
         WHERE session_id = $4 AND tool_id = $5",
    )
    .bind(Json(&record.params_after))
    .bind(record.id)
    .bind(now)
    .bind(record.session_id)
    .bind(record.tool_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rows of trials per statement (8 parameters each, well under both databases' limits).
const TRIALS_PER_INSERT: usize = 500;

/// Stores a record's trials, in chunks of multi-row inserts.
async fn insert_trials(tx: &mut Tx, record: Uuid, trials: &[OptimizationTrial]) -> StoreResult<()> {
    for chunk in trials.chunks(TRIALS_PER_INSERT) {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO optimization_trials (record_id, trial, params, score, num_trades, sharpe, information_ratio, metrics) ",
        );
        insert.push_values(chunk, |mut row, t| {
            row.push_bind(record)
                .push_bind(i64::try_from(t.trial).unwrap_or(i64::MAX))
                .push_bind(Json(&t.params))
                .push_bind(t.score.filter(|x| x.is_finite()))
                .push_bind(t.num_trades)
                .push_bind(t.sharpe.filter(|x| x.is_finite()))
                .push_bind(t.information_ratio.filter(|x| x.is_finite()))
                .push_bind(Json(&t.metrics));
        });
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Seals the promotion's certificate after the tool's latest one and stores it; returns its
/// hash.
async fn insert_certificate(
    tx: &mut Tx,
    p: &Promotion,
    version: i32,
    now: DateTime<Utc>,
) -> StoreResult<String> {
    let previous: Option<(String,)> = sqlx::query_as(
        "SELECT hash FROM certificates WHERE tool_id = $1 ORDER BY version DESC LIMIT 1",
    )
    .bind(p.tool_id)
    .fetch_optional(&mut **tx)
    .await?;
    let previous = previous.map(|(h,)| h);
    let (body, hash) = p
        .certificate
        .as_ref()
        .clone()
        .seal(previous.clone(), now)
        .map_err(|e| StoreError::Corrupt(format!("the certificate cannot be written: {e}")))?;
    sqlx::query(
        "INSERT INTO certificates (tool_id, version, record_id, body, hash, previous_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(p.tool_id)
    .bind(version)
    .bind(p.record_id)
    .bind(body)
    .bind(&hash)
    .bind(previous)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(hash)
}

/// Makes the promoted version, if the record is still promotable and the tool is still at the
/// version the re-check compared against; `Conflict` otherwise (nothing written).
async fn apply_promotion(tx: &mut Tx, p: &Promotion, now: DateTime<Utc>) -> StoreResult<()> {
    let new_version = p.against_version + 1;
    let marked = sqlx::query(
        "UPDATE optimization_records SET status = 'promoted', promoted_version = $1, last_check = $2, updated_at = $3 \
         WHERE id = $4 AND tool_id = $5 AND passed = $6 AND status <> 'promoted'",
    )
    .bind(new_version)
    .bind(Json(&p.check))
    .bind(now)
    .bind(p.record_id)
    .bind(p.tool_id)
    .bind(true)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if marked == 0 {
        return Err(StoreError::Conflict(
            "the record is no longer promotable".into(),
        ));
    }
    let moved = sqlx::query(
        "UPDATE tools SET current_version = $1, updated_at = $2 WHERE id = $3 AND current_version = $4 AND deleted_at IS NULL",
    )
    .bind(new_version)
    .bind(now)
    .bind(p.tool_id)
    .bind(p.against_version)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if moved == 0 {
        return Err(StoreError::Conflict(
            "the tool changed during the re-check".into(),
        ));
    }
    // The new parameters run with the learned artifact of the version they replace.
    let (artifact,): (Option<Uuid>,) =
        sqlx::query_as("SELECT artifact_id FROM tool_versions WHERE tool_id = $1 AND version = $2")
            .bind(p.tool_id)
            .bind(p.against_version)
            .fetch_one(&mut **tx)
            .await?;
    let hash = insert_certificate(tx, p, new_version, now).await?;
    let mut lineage = p.lineage.clone();
    if let Some(l) = lineage.as_object_mut() {
        l.insert("certificate".into(), Value::String(hash));
    }
    insert_version(
        tx,
        p.tool_id,
        new_version,
        &p.parameters,
        "promotion",
        Some(&lineage),
        artifact,
        now,
    )
    .await
}

/// Applies a job's effect inside the transaction that marks it succeeded.
async fn apply_effect(tx: &mut Tx, effect: &JobEffect, now: DateTime<Utc>) -> StoreResult<()> {
    match effect {
        JobEffect::RecordOptimization { record, trials } => {
            apply_record(tx, record, trials, now).await
        }
        JobEffect::Promote(p) => apply_promotion(tx, p, now).await,
        JobEffect::RecordTraining(o) => apply_training_outcome(tx, o, now).await,
        JobEffect::RecordCheck { record_id, check } => {
            sqlx::query(
                "UPDATE optimization_records SET last_check = $1, updated_at = $2 WHERE id = $3",
            )
            .bind(Json(check))
            .bind(now)
            .bind(record_id)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }
    }
}

#[async_trait]
impl SessionStore for This {
    async fn create_session(
        &self,
        new: &NewSession,
        max_active: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Session> {
        let mut tx = self.begin().await?;
        lock_user_account(&mut tx, new.owner_id).await?;
        let (active,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM sessions WHERE owner_id = $1 AND status = 'active'",
        )
        .bind(new.owner_id)
        .fetch_one(&mut *tx)
        .await?;
        if active >= max_active {
            return Err(StoreError::Quota {
                what: "active sessions",
                limit: max_active,
            });
        }
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO sessions (id, owner_id, dataset_id, config, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'active', $5, $5)",
        )
        .bind(id)
        .bind(new.owner_id)
        .bind(new.dataset_id)
        .bind(Json(&new.config))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let session = fetch_session(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(session)
    }

    async fn session(&self, id: Uuid) -> StoreResult<Option<Session>> {
        let row: Option<SessionRow> = sqlx::query_as(concat!(session_select!(), " WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Session::try_from).transpose()
    }

    async fn list_sessions(
        &self,
        owner: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<Session>> {
        let rows: Vec<SessionRow> = sqlx::query_as(concat!(
            session_select!(),
            " WHERE owner_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        ))
        .bind(owner)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        convert(rows)
    }

    async fn insert_session_tool(
        &self,
        new: &NewSessionTool,
        job: Option<&NewJob>,
        now: DateTime<Utc>,
        job_now: DateTime<Utc>,
    ) -> StoreResult<(SessionTool, Option<Job>)> {
        let mut tx = self.begin().await?;
        // Locks the session row, so an insert and an end of the same session serialize.
        let status: Option<(String,)> =
            sqlx::query_as("UPDATE sessions SET updated_at = $1 WHERE id = $2 RETURNING status")
                .bind(now)
                .bind(new.session_id)
                .fetch_optional(&mut *tx)
                .await?;
        match status {
            None => return Err(StoreError::NotFound),
            Some((s,)) if s != SessionStatus::Active.as_str() => {
                return Err(StoreError::Conflict("the session has ended".into()));
            }
            Some(_) => {}
        }
        sqlx::query(
            "INSERT INTO session_tools (session_id, tool_id, base_version, parameters, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(new.session_id)
        .bind(new.tool_id)
        .bind(new.base_version)
        .bind(Json(&new.parameters))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict("the tool is already in this session".into())
            }
            _ => e.into(),
        })?;
        let job = match job {
            Some(job) => Some(
                link_session_tool_job(&mut tx, new.session_id, new.tool_id, job, now, job_now)
                    .await?,
            ),
            None => None,
        };
        let row: SessionToolRow = sqlx::query_as(concat!(
            session_tool_select!(),
            " WHERE session_id = $1 AND tool_id = $2"
        ))
        .bind(new.session_id)
        .bind(new.tool_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((row.into(), job))
    }

    async fn session_tools(&self, session: Uuid) -> StoreResult<Vec<SessionTool>> {
        let rows: Vec<SessionToolRow> = sqlx::query_as(concat!(
            session_tool_select!(),
            " WHERE session_id = $1 ORDER BY created_at, tool_id"
        ))
        .bind(session)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(SessionTool::from).collect())
    }

    async fn queue_session_tool_job(
        &self,
        session: Uuid,
        tool: Uuid,
        job: &NewJob,
        now: DateTime<Utc>,
        job_now: DateTime<Utc>,
    ) -> StoreResult<Job> {
        let mut tx = self.begin().await?;
        let job = link_session_tool_job(&mut tx, session, tool, job, now, job_now).await?;
        tx.commit().await?;
        Ok(job)
    }

    async fn end_session(
        &self,
        id: Uuid,
        promote_successful: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<EndedSession> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE sessions SET status = 'ended', promote_successful = $1, ended_at = $2, updated_at = $2 \
             WHERE id = $3 AND status = 'active'",
        )
        .bind(promote_successful)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let session = fetch_session(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if done == 0 {
            return Err(StoreError::Conflict("the session has already ended".into()));
        }
        if promote_successful {
            sqlx::query(
                "UPDATE optimization_records SET status = 'promotable', updated_at = $1 \
                 WHERE session_id = $2 AND passed = $3 AND status <> 'promoted'",
            )
            .bind(now)
            .bind(id)
            .bind(true)
            .execute(&mut *tx)
            .await?;
        }
        let rows: Vec<RecordRow> = sqlx::query_as(concat!(
            record_select!(),
            " WHERE session_id = $1 AND status = 'promotable' ORDER BY id"
        ))
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(EndedSession {
            session,
            candidates: records(rows)?,
        })
    }

    async fn optimization_record(&self, id: Uuid) -> StoreResult<Option<OptimizationRecord>> {
        let row: Option<RecordRow> = sqlx::query_as(concat!(record_select!(), " WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(OptimizationRecord::try_from).transpose()
    }

    async fn count_recheck(&self, record: Uuid, job: Uuid, limit: u32) -> StoreResult<bool> {
        // `last_recheck_job = $2` is NULL (not false) before the first count, so the CASE
        // and the OR read it through COALESCE.
        let counted = sqlx::query(
            "UPDATE optimization_records SET \
             rechecks = rechecks + CASE WHEN COALESCE(last_recheck_job = $2, FALSE) THEN 0 ELSE 1 END, \
             last_recheck_job = $2 \
             WHERE id = $1 AND (COALESCE(last_recheck_job = $2, FALSE) OR rechecks < $3)",
        )
        .bind(record)
        .bind(job)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await?
        .rows_affected();
        if counted > 0 {
            return Ok(true);
        }
        let exists: Option<(i32,)> =
            sqlx::query_as("SELECT rechecks FROM optimization_records WHERE id = $1")
                .bind(record)
                .fetch_optional(&self.pool)
                .await?;
        match exists {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound),
        }
    }

    async fn session_records(&self, session: Uuid) -> StoreResult<Vec<OptimizationRecord>> {
        let rows: Vec<RecordRow> = sqlx::query_as(concat!(
            record_select!(),
            " WHERE session_id = $1 ORDER BY id"
        ))
        .bind(session)
        .fetch_all(&self.pool)
        .await?;
        records(rows)
    }

    async fn optimization_trials(
        &self,
        record: Uuid,
        after: Option<u64>,
        limit: i64,
    ) -> StoreResult<Vec<OptimizationTrial>> {
        let after = after.map(|a| i64::try_from(a).unwrap_or(i64::MAX));
        let rows: Vec<TrialRow> = sqlx::query_as(
            "SELECT trial, params, score, num_trades, sharpe, information_ratio, metrics FROM optimization_trials \
             WHERE record_id = $1 AND ($2 IS NULL OR trial > $2) ORDER BY trial LIMIT $3",
        )
        .bind(record)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(OptimizationTrial::from).collect())
    }

    async fn certificates(&self, tool: Uuid) -> StoreResult<Vec<Certificate>> {
        let rows: Vec<CertificateRow> = sqlx::query_as(
            "SELECT tool_id, version, body, hash, previous_hash, created_at FROM certificates \
             WHERE tool_id = $1 ORDER BY version",
        )
        .bind(tool)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Certificate::from).collect())
    }

    async fn promotion_candidates(
        &self,
        tool: Uuid,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<OptimizationRecord>> {
        let rows: Vec<RecordRow> = sqlx::query_as(concat!(
            record_select!(),
            " WHERE tool_id = $1 AND status = 'promotable' AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3"
        ))
        .bind(tool)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        records(rows)
    }

    async fn rollback_tool(
        &self,
        tool: Uuid,
        version: i32,
        now: DateTime<Utc>,
    ) -> StoreResult<Tool> {
        let mut tx = self.begin().await?;
        // Locks the tool row first (PostgreSQL), so concurrent version changes serialize.
        let locked =
            sqlx::query("UPDATE tools SET updated_at = $1 WHERE id = $2 AND deleted_at IS NULL")
                .bind(now)
                .bind(tool)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if locked == 0 {
            return Err(StoreError::NotFound);
        }
        let target: Option<(Json<Map<String, Value>>, Option<Uuid>)> = sqlx::query_as(
            "SELECT parameters, artifact_id FROM tool_versions WHERE tool_id = $1 AND version = $2",
        )
        .bind(tool)
        .bind(version)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((Json(parameters), artifact)) = target else {
            return Err(StoreError::NotFound);
        };
        let current = fetch_tool(&mut tx, tool).await?;
        let new_version = current.current_version + 1;
        let lineage = serde_json::json!({"rollback_of": version, "previous_version": current.current_version});
        insert_version(
            &mut tx,
            tool,
            new_version,
            &parameters,
            "rollback",
            Some(&lineage),
            artifact,
            now,
        )
        .await?;
        sqlx::query("UPDATE tools SET current_version = $1 WHERE id = $2")
            .bind(new_version)
            .bind(tool)
            .execute(&mut *tx)
            .await?;
        let out = fetch_tool(&mut tx, tool).await?;
        tx.commit().await?;
        Ok(out)
    }
}

/// Queues `job` (at `job_now`) inside `tx` and records it as the latest job of a session's tool.
async fn link_session_tool_job(
    tx: &mut Tx,
    session: Uuid,
    tool: Uuid,
    job: &NewJob,
    now: DateTime<Utc>,
    job_now: DateTime<Utc>,
) -> StoreResult<Job> {
    let job = insert_job(tx, job, job_now).await?;
    let linked = sqlx::query(
        "UPDATE session_tools SET last_job_id = $1, updated_at = $2 WHERE session_id = $3 AND tool_id = $4",
    )
    .bind(job.id)
    .bind(now)
    .bind(session)
    .bind(tool)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if linked == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(job)
}
