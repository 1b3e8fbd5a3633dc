// Tools and their versions, shared by both backends (see `common.rs`).

#[async_trait]
impl ToolStore for This {
    async fn create_tool(&self, tool: &NewTool, now: DateTime<Utc>) -> StoreResult<Tool> {
        let mut tx = self.begin().await?;
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO tools (id, creator_id, name, description, category, family, price_cents, tier, metadata, \
             current_version, created_at, updated_at, standards, auto_promote, reference_dataset_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10, $11, $12, $13)",
        )
        .bind(id)
        .bind(tool.creator_id)
        .bind(&tool.name)
        .bind(&tool.description)
        .bind(&tool.category)
        .bind(&tool.family)
        .bind(tool.monthly_price.cents())
        .bind(tool.tier.as_str())
        .bind(Json(&tool.metadata))
        .bind(now)
        .bind(tool.standards.as_ref().map(Json))
        .bind(tool.auto_promote)
        .bind(tool.reference_dataset_id)
        .execute(&mut *tx)
        .await?;
        insert_version(&mut tx, id, 1, &tool.parameters, "created", None, None, now).await?;
        let out = fetch_tool(&mut tx, id).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn tool(&self, id: Uuid) -> StoreResult<Option<Tool>> {
        let row: Option<ToolRow> = sqlx::query_as(concat!(tool_select!(), " WHERE t.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Tool::try_from).transpose()
    }

    async fn list_tools(&self, filter: &ToolFilter, limit: i64) -> StoreResult<Vec<Tool>> {
        let mut q =
            sqlx::QueryBuilder::<Db>::new(concat!(tool_select!(), " WHERE t.deleted_at IS NULL"));
        if let Some(category) = &filter.category {
            q.push(" AND t.category = ").push_bind(category.clone());
        }
        if let Some(family) = &filter.family {
            q.push(" AND t.family = ").push_bind(family.clone());
        }
        if let Some(tier) = filter.tier {
            q.push(" AND t.tier = ").push_bind(tier.as_str());
        }
        if let Some(max) = filter.max_price {
            q.push(" AND t.price_cents <= ").push_bind(max.cents());
        }
        if let Some(creator) = filter.creator_id {
            q.push(" AND t.creator_id = ").push_bind(creator);
        }
        if let Some(before) = filter.before {
            q.push(" AND t.id < ").push_bind(before);
        }
        match filter.order {
            ToolOrder::Newest => q.push(" ORDER BY t.id DESC LIMIT "),
            ToolOrder::Rating => {
                if let Some((score, id)) = filter.rated_after {
                    q.push(" AND (t.rating_score < ")
                        .push_bind(score)
                        .push(" OR (t.rating_score = ")
                        .push_bind(score)
                        .push(" AND t.id < ")
                        .push_bind(id)
                        .push("))");
                }
                q.push(" ORDER BY t.rating_score DESC, t.id DESC LIMIT ")
            }
        };
        q.push_bind(limit);
        let rows: Vec<ToolRow> = q.build_query_as().fetch_all(&self.pool).await?;
        convert(rows)
    }

    async fn update_tool(
        &self,
        id: Uuid,
        patch: &ToolPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Tool> {
        let mut tx = self.begin().await?;
        let mut q = sqlx::QueryBuilder::<Db>::new("UPDATE tools SET updated_at = ");
        q.push_bind(now);
        if let Some(name) = &patch.name {
            q.push(", name = ").push_bind(name.clone());
        }
        if let Some(description) = &patch.description {
            q.push(", description = ").push_bind(description.clone());
        }
        if let Some(category) = &patch.category {
            q.push(", category = ").push_bind(category.clone());
        }
        if let Some(price) = patch.monthly_price {
            q.push(", price_cents = ").push_bind(price.cents());
        }
        if let Some(tier) = patch.tier {
            q.push(", tier = ").push_bind(tier.as_str());
        }
        if let Some(metadata) = &patch.metadata {
            q.push(", metadata = ").push_bind(Json(metadata.clone()));
        }
        if let Some(standards) = &patch.standards {
            q.push(", standards = ")
                .push_bind(standards.clone().map(Json));
        }
        if let Some(auto_promote) = patch.auto_promote {
            q.push(", auto_promote = ").push_bind(auto_promote);
        }
        if let Some(reference) = patch.reference_dataset_id {
            q.push(", reference_dataset_id = ").push_bind(reference);
        }
        q.push(" WHERE deleted_at IS NULL AND id = ").push_bind(id);
        // Locks the row (PostgreSQL) before the version is read, so concurrent edits serialize.
        if q.build().execute(&mut *tx).await?.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        if let Some(parameters) = &patch.parameters {
            let current = fetch_tool(&mut tx, id).await?;
            if &current.parameters != parameters {
                let version = current.current_version + 1;
                // A parameter change keeps the learned artifact (it reads the family's signal).
                insert_version(
                    &mut tx,
                    id,
                    version,
                    parameters,
                    "updated",
                    None,
                    current.artifact_id,
                    now,
                )
                .await?;
                sqlx::query("UPDATE tools SET current_version = $1 WHERE id = $2")
                    .bind(version)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let out = fetch_tool(&mut tx, id).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn delete_tool(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        let done = sqlx::query("UPDATE tools SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if done == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn tool_versions(&self, id: Uuid) -> StoreResult<Vec<ToolVersion>> {
        let rows: Vec<VersionRow> = sqlx::query_as(
            "SELECT tool_id, version, parameters, source, created_at, lineage, artifact_id FROM tool_versions WHERE tool_id = $1 ORDER BY version",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(ToolVersion::from).collect())
    }
}

#[allow(clippy::too_many_arguments)]
async fn insert_version(
    tx: &mut Tx,
    tool: Uuid,
    version: i32,
    parameters: &Map<String, Value>,
    source: &str,
    lineage: Option<&Value>,
    artifact: Option<Uuid>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO tool_versions (tool_id, version, parameters, source, lineage, artifact_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tool)
    .bind(version)
    .bind(Json(parameters))
    .bind(source)
    .bind(lineage.map(Json))
    .bind(artifact)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
