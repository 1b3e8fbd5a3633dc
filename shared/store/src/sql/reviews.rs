// Reviews of tools and the ratings they add up to, shared by both backends (see `common.rs`).

use domain::Review;

macro_rules! review_select {
    () => {
        "SELECT id, tool_id, author_id, rating, title, body, reply, replied_at, hidden_at, \
         hidden_reason, created_at, updated_at FROM reviews"
    };
}

#[derive(sqlx::FromRow)]
struct ReviewRow {
    id: Uuid,
    tool_id: Uuid,
    author_id: Uuid,
    rating: i16,
    title: String,
    body: String,
    reply: Option<String>,
    replied_at: Option<DateTime<Utc>>,
    hidden_at: Option<DateTime<Utc>>,
    hidden_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ReviewRow> for Review {
    fn from(r: ReviewRow) -> Self {
        Review {
            id: r.id,
            tool_id: r.tool_id,
            author_id: r.author_id,
            rating: r.rating,
            title: r.title,
            body: r.body,
            reply: r.reply,
            replied_at: r.replied_at,
            hidden_at: r.hidden_at,
            hidden_reason: r.hidden_reason,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[async_trait]
impl ReviewStore for This {
    async fn has_used_tool(&self, tool: Uuid, account: Uuid) -> StoreResult<bool> {
        let found: Option<(i32,)> = sqlx::query_as(
            "SELECT 1 FROM subscriptions WHERE tool_id = $1 AND subscriber_id = $2 \
             UNION ALL \
             SELECT 1 FROM session_tools st JOIN sessions s ON s.id = st.session_id \
             WHERE st.tool_id = $1 AND s.owner_id = $2 \
             LIMIT 1",
        )
        .bind(tool)
        .bind(account)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    async fn create_review(&self, review: &NewReview, now: DateTime<Utc>) -> StoreResult<Review> {
        let mut tx = self.begin().await?;
        lock_rated_tool(&mut tx, review.tool_id).await?;
        let id = Uuid::now_v7();
        let inserted = sqlx::query(
            "INSERT INTO reviews (id, tool_id, author_id, rating, title, body, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (tool_id, author_id) DO NOTHING",
        )
        .bind(id)
        .bind(review.tool_id)
        .bind(review.author_id)
        .bind(review.rating)
        .bind(&review.title)
        .bind(&review.body)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Conflict(
                "this account has reviewed the tool already; change or delete that review".into(),
            ));
        }
        refresh_rating(&mut tx, review.tool_id).await?;
        let out = fetch_review(&mut tx, id).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn review(&self, id: Uuid) -> StoreResult<Option<Review>> {
        let row: Option<ReviewRow> = sqlx::query_as(concat!(review_select!(), " WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Review::from))
    }

    async fn review_by(&self, tool: Uuid, author: Uuid) -> StoreResult<Option<Review>> {
        let row: Option<ReviewRow> = sqlx::query_as(concat!(
            review_select!(),
            " WHERE tool_id = $1 AND author_id = $2"
        ))
        .bind(tool)
        .bind(author)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Review::from))
    }

    async fn list_reviews(
        &self,
        filter: ReviewFilter,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<Review>> {
        let mut q = sqlx::QueryBuilder::<Db>::new(concat!(review_select!(), " WHERE TRUE"));
        if let Some(tool) = filter.tool {
            q.push(" AND tool_id = ").push_bind(tool);
        }
        match filter.visibility {
            ReviewVisibility::Visible => q.push(" AND hidden_at IS NULL"),
            ReviewVisibility::Hidden => q.push(" AND hidden_at IS NOT NULL"),
            ReviewVisibility::Any => &mut q,
        };
        if filter.reported {
            q.push(HAS_OPEN_REPORT);
        }
        if let Some(before) = before {
            q.push(" AND id < ").push_bind(before);
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
        let rows: Vec<ReviewRow> = q.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(Review::from).collect())
    }

    async fn update_review(
        &self,
        id: Uuid,
        patch: &ReviewPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<Review> {
        let mut tx = self.begin().await?;
        let tool = lock_tool_of_review(&mut tx, id).await?;
        let mut q = sqlx::QueryBuilder::<Db>::new("UPDATE reviews SET updated_at = ");
        q.push_bind(now);
        if let Some(rating) = patch.rating {
            q.push(", rating = ").push_bind(rating);
        }
        if let Some(title) = &patch.title {
            q.push(", title = ").push_bind(title.clone());
        }
        if let Some(body) = &patch.body {
            q.push(", body = ").push_bind(body.clone());
        }
        q.push(" WHERE id = ").push_bind(id);
        if q.build().execute(&mut *tx).await?.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        refresh_rating(&mut tx, tool).await?;
        let out = fetch_review(&mut tx, id).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn delete_review(&self, id: Uuid) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let tool = lock_tool_of_review(&mut tx, id).await?;
        let done = sqlx::query("DELETE FROM reviews WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        refresh_rating(&mut tx, tool).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn reply_to_review(
        &self,
        id: Uuid,
        reply: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Review> {
        let mut tx = self.begin().await?;
        // The condition makes two concurrent replies meet: one writes, the other finds a reply.
        let done = sqlx::query(
            "UPDATE reviews SET reply = $1, replied_at = $2 WHERE id = $3 AND reply IS NULL",
        )
        .bind(reply)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let out = fetch_review(&mut tx, id).await?;
        if done == 0 {
            return Err(StoreError::Conflict(
                "the creator has replied to this review already".into(),
            ));
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn report_review(
        &self,
        review: Uuid,
        reporter: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<domain::ReviewReport> {
        self.insert_report(review, reporter, reason, now).await
    }

    async fn open_reports(
        &self,
        reviews: &[Uuid],
        reporter: Option<Uuid>,
    ) -> StoreResult<Vec<domain::ReviewReport>> {
        self.select_open_reports(reviews, reporter).await
    }

    async fn dismiss_reports(&self, review: Uuid, now: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        require_review(&mut tx, review).await?;
        let resolved = resolve_reports(&mut tx, review, now).await?;
        tx.commit().await?;
        Ok(resolved)
    }

    async fn set_review_hidden(
        &self,
        id: Uuid,
        hide: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Review> {
        let mut tx = self.begin().await?;
        let tool = lock_tool_of_review(&mut tx, id).await?;
        match hide {
            Some(reason) => {
                // Hiding answers every open report of it.
                resolve_reports(&mut tx, id, now).await?;
                sqlx::query(
                    "UPDATE reviews SET hidden_reason = CASE WHEN hidden_at IS NULL THEN $1 ELSE hidden_reason END, \
                     hidden_at = COALESCE(hidden_at, $2) WHERE id = $3",
                )
                .bind(reason)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
            }
            None => {
                sqlx::query(
                    "UPDATE reviews SET hidden_at = NULL, hidden_reason = NULL WHERE id = $1",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?
            }
        };
        refresh_rating(&mut tx, tool).await?;
        let out = fetch_review(&mut tx, id).await?;
        tx.commit().await?;
        Ok(out)
    }
}

async fn fetch_review(tx: &mut Tx, id: Uuid) -> StoreResult<Review> {
    let row: ReviewRow = sqlx::query_as(concat!(review_select!(), " WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(row.into())
}

/// Locks the tool's row (PostgreSQL; SQLite's write lock is taken at `BEGIN`), so that writers
/// of its reviews take turns and each one's recount sees the others' reviews.
async fn lock_rated_tool(tx: &mut Tx, tool: Uuid) -> StoreResult<()> {
    let found: Option<(Uuid,)> =
        sqlx::query_as(concat!("SELECT id FROM tools WHERE id = $1", for_update!()))
            .bind(tool)
            .fetch_optional(&mut **tx)
            .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound)
}

/// Locks the tool of a review (see [`lock_rated_tool`]) and returns its id.
async fn lock_tool_of_review(tx: &mut Tx, review: Uuid) -> StoreResult<Uuid> {
    let (tool,): (Uuid,) = sqlx::query_as("SELECT tool_id FROM reviews WHERE id = $1")
        .bind(review)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    lock_rated_tool(tx, tool).await?;
    Ok(tool)
}

/// Adds up the tool's visible reviews again and stores the sum beside the tool.
async fn refresh_rating(tx: &mut Tx, tool: Uuid) -> StoreResult<()> {
    let (count, sum): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(rating), 0) FROM reviews WHERE tool_id = $1 AND hidden_at IS NULL",
    )
    .bind(tool)
    .fetch_one(&mut **tx)
    .await?;
    let rating = domain::Rating { count, sum };
    sqlx::query(
        "UPDATE tools SET rating_count = $1, rating_sum = $2, rating_score = $3 WHERE id = $4",
    )
    .bind(count)
    .bind(sum)
    .bind(rating.score())
    .bind(tool)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
