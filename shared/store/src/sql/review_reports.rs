// Accounts' reports of reviews and their resolution by the operators, shared by both backends
// (see `common.rs`); the `ReviewStore` methods in `reviews.rs` call these.

#[derive(sqlx::FromRow)]
struct ReportRow {
    review_id: Uuid,
    reporter_id: Uuid,
    reason: String,
    created_at: DateTime<Utc>,
}

impl From<ReportRow> for domain::ReviewReport {
    fn from(r: ReportRow) -> Self {
        domain::ReviewReport {
            review_id: r.review_id,
            reporter_id: r.reporter_id,
            reason: r.reason,
            created_at: r.created_at,
        }
    }
}

/// The condition "the review has an open report", for a listing of `reviews`.
const HAS_OPEN_REPORT: &str = " AND EXISTS (SELECT 1 FROM review_reports rr \
     WHERE rr.review_id = reviews.id AND rr.resolved_at IS NULL)";

impl This {
    /// Records a report, or reopens the reporter's resolved one with the new reason.
    async fn insert_report(
        &self,
        review: Uuid,
        reporter: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<domain::ReviewReport> {
        let mut tx = self.begin().await?;
        require_review(&mut tx, review).await?;
        // An open report stays as it was: the condition makes a second one a no-op.
        let written = sqlx::query(
            "INSERT INTO review_reports (review_id, reporter_id, reason, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (review_id, reporter_id) DO UPDATE \
             SET reason = excluded.reason, created_at = excluded.created_at, resolved_at = NULL \
             WHERE review_reports.resolved_at IS NOT NULL",
        )
        .bind(review)
        .bind(reporter)
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if written == 0 {
            return Err(StoreError::Conflict(
                "you reported this review already; an operator will look at it".into(),
            ));
        }
        tx.commit().await?;
        Ok(domain::ReviewReport {
            review_id: review,
            reporter_id: reporter,
            reason: reason.to_owned(),
            created_at: now,
        })
    }

    /// The open reports of `reviews` (only `reporter`'s if given), oldest first.
    async fn select_open_reports(
        &self,
        reviews: &[Uuid],
        reporter: Option<Uuid>,
    ) -> StoreResult<Vec<domain::ReviewReport>> {
        if reviews.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = sqlx::QueryBuilder::<Db>::new(
            "SELECT review_id, reporter_id, reason, created_at FROM review_reports \
             WHERE resolved_at IS NULL AND review_id IN (",
        );
        let mut ids = q.separated(", ");
        for id in reviews {
            ids.push_bind(*id);
        }
        q.push(")");
        if let Some(reporter) = reporter {
            q.push(" AND reporter_id = ").push_bind(reporter);
        }
        q.push(" ORDER BY created_at, reporter_id");
        let rows: Vec<ReportRow> = q.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

/// Resolves every open report of a review; how many there were.
async fn resolve_reports(tx: &mut Tx, review: Uuid, now: DateTime<Utc>) -> StoreResult<u64> {
    Ok(sqlx::query(
        "UPDATE review_reports SET resolved_at = $1 WHERE review_id = $2 AND resolved_at IS NULL",
    )
    .bind(now)
    .bind(review)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// [`StoreError::NotFound`] unless the review exists.
async fn require_review(tx: &mut Tx, review: Uuid) -> StoreResult<()> {
    let found: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM reviews WHERE id = $1")
        .bind(review)
        .fetch_optional(&mut **tx)
        .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound)
}
