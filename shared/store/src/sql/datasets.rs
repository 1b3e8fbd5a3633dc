// Datasets, shared by both backends (see `common.rs`). The summary row and the bars are
// separate tables, so listings never read the bars.

#[async_trait]
impl DatasetStore for This {
    async fn create_dataset(
        &self,
        new: &NewDataset,
        limits: DatasetLimits,
        now: DateTime<Utc>,
    ) -> StoreResult<(Dataset, bool)> {
        self.insert_dataset(new, limits, now).await
    }

    async fn dataset(&self, owner: Uuid, id: Uuid) -> StoreResult<Option<Dataset>> {
        self.owned_dataset(owner, id).await
    }

    async fn list_datasets(
        &self,
        owner: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<Dataset>> {
        self.owned_datasets(owner, before, limit).await
    }

    async fn dataset_bars(&self, id: Uuid) -> StoreResult<Option<Bars>> {
        self.load_bars(id).await
    }

    async fn dataset_bars_by_hash(&self, content_hash: &str) -> StoreResult<Option<Bars>> {
        let id: Option<(Uuid,)> =
            sqlx::query_as("SELECT id FROM datasets WHERE content_hash = $1 ORDER BY id LIMIT 1")
                .bind(content_hash)
                .fetch_optional(&self.pool)
                .await?;
        match id {
            Some((id,)) => self.load_bars(id).await,
            None => Ok(None),
        }
    }

    async fn delete_dataset(&self, owner: Uuid, id: Uuid) -> StoreResult<()> {
        self.remove_dataset(owner, id).await
    }
}

macro_rules! dataset_select {
    () => {
        "SELECT id, owner_id, name, row_count, start_at, end_at, frequency, periods_per_year, \
         content_hash, source, generator, stats, created_at FROM datasets"
    };
}

impl This {
    /// Inserts a dataset unless the owner has the same content; either way returns the row.
    /// The unique (owner, content hash) index makes concurrent identical uploads meet: the
    /// second waits for the first (row lock on PostgreSQL, the write lock on SQLite), inserts
    /// nothing and reads the first one's row. A new one must fit the owner's limits, counted
    /// under a lock on the owner's account row, so concurrent uploads cannot pass them together.
    async fn insert_dataset(
        &self,
        new: &NewDataset,
        limits: DatasetLimits,
        now: DateTime<Utc>,
    ) -> StoreResult<(Dataset, bool)> {
        let rows = i64::try_from(new.rows).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.begin().await?;
        lock_user_account(&mut tx, new.owner_id).await?;
        let known: Option<(Uuid,)> =
            sqlx::query_as("SELECT id FROM datasets WHERE owner_id = $1 AND content_hash = $2")
                .bind(new.owner_id)
                .bind(&new.content_hash)
                .fetch_optional(&mut *tx)
                .await?;
        if known.is_none() {
            let (count, bytes): (i64, i64) = sqlx::query_as(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(d.bars)), 0) FROM datasets s \
                 JOIN dataset_data d ON d.dataset_id = s.id WHERE s.owner_id = $1",
            )
            .bind(new.owner_id)
            .fetch_one(&mut *tx)
            .await?;
            if count >= limits.max_count {
                return Err(StoreError::Quota {
                    what: "datasets",
                    limit: limits.max_count,
                });
            }
            let size = i64::try_from(new.data.len()).unwrap_or(i64::MAX);
            if bytes.saturating_add(size) > limits.max_bytes {
                return Err(StoreError::Quota {
                    what: "bytes of stored bars",
                    limit: limits.max_bytes,
                });
            }
        }
        let id = Uuid::now_v7();
        let inserted = sqlx::query(
            "INSERT INTO datasets (id, owner_id, name, row_count, start_at, end_at, frequency, periods_per_year, \
             content_hash, source, generator, stats, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (owner_id, content_hash) DO NOTHING",
        )
        .bind(id)
        .bind(new.owner_id)
        .bind(&new.name)
        .bind(rows)
        .bind(new.start)
        .bind(new.end)
        .bind(&new.frequency)
        .bind(new.periods_per_year)
        .bind(&new.content_hash)
        .bind(new.source.as_str())
        .bind(new.source.generator().map(Json))
        .bind(Json(&new.stats))
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            sqlx::query("INSERT INTO dataset_data (dataset_id, bars) VALUES ($1, $2)")
                .bind(id)
                .bind(new.data.as_slice())
                .execute(&mut *tx)
                .await?;
        }
        let row: DatasetRow = sqlx::query_as(concat!(
            dataset_select!(),
            " WHERE owner_id = $1 AND content_hash = $2"
        ))
        .bind(new.owner_id)
        .bind(&new.content_hash)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((row.try_into()?, inserted))
    }

    async fn owned_dataset(&self, owner: Uuid, id: Uuid) -> StoreResult<Option<Dataset>> {
        let row: Option<DatasetRow> = sqlx::query_as(concat!(
            dataset_select!(),
            " WHERE id = $1 AND owner_id = $2"
        ))
        .bind(id)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Dataset::try_from).transpose()
    }

    async fn owned_datasets(
        &self,
        owner: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<Dataset>> {
        let rows: Vec<DatasetRow> = sqlx::query_as(concat!(
            dataset_select!(),
            " WHERE owner_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        ))
        .bind(owner)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        convert(rows)
    }

    async fn load_bars(&self, id: Uuid) -> StoreResult<Option<Bars>> {
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT bars FROM dataset_data WHERE dataset_id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(bytes,)| {
            codec::decode(&bytes).map_err(|e| StoreError::Corrupt(format!("dataset {id}: {e}")))
        })
        .transpose()
    }

    async fn remove_dataset(&self, owner: Uuid, id: Uuid) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let in_use: Option<(Uuid,)> =
            sqlx::query_as("SELECT id FROM sessions WHERE dataset_id = $1 AND owner_id = $2 AND status = 'active' LIMIT 1")
                .bind(id)
                .bind(owner)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((session,)) = in_use {
            return Err(StoreError::Conflict(format!(
                "the dataset is in use by active session {session}; end it first"
            )));
        }
        // A creator's reference dataset goes with it: promotions are then checked on the
        // sessions' data only.
        sqlx::query("UPDATE tools SET reference_dataset_id = NULL WHERE reference_dataset_id = $1 AND creator_id = $2")
            .bind(id)
            .bind(owner)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM datasets WHERE id = $1 AND owner_id = $2")
            .bind(id)
            .bind(owner)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        // The foreign key cascades too; deleting explicitly does not depend on it being on.
        sqlx::query("DELETE FROM dataset_data WHERE dataset_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
