// A/B tests: renters' optimization records of two versions (see `ab_tests.rs` in the store
// module). Included by both backends, after `sessions.rs` (whose `record_select!` it uses).

#[async_trait]
impl AbTestStore for This {
    async fn renter_records(
        &self,
        tool: Uuid,
        creator: Uuid,
        a: i32,
        b: i32,
    ) -> StoreResult<Vec<domain::ab_test::RenterRecord>> {
        let rows: Vec<RecordRow> = sqlx::query_as(concat!(
            record_select!(),
            " WHERE tool_id = $1 AND owner_id <> $2 AND (base_version = $3 OR base_version = $4) \
             ORDER BY id DESC LIMIT $5"
        ))
        .bind(tool)
        .bind(creator)
        .bind(a)
        .bind(b)
        .bind(ab_tests::MAX_RENTER_RECORDS)
        .fetch_all(&self.pool)
        .await?;
        Ok(records(rows)?
            .into_iter()
            .map(|r| domain::ab_test::RenterRecord {
                owner_id: r.owner_id,
                version: r.base_version,
                baseline: r.metrics_before,
                improvement: r.improvement,
            })
            .collect())
    }
}
