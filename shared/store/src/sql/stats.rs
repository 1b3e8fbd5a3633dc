// Analytics queries shared by both backends (see `common.rs`). `month_of!(col)` is the
// dialect's `YYYY-MM` of a UTC timestamp.

#[async_trait]
impl StatsStore for This {
    async fn marketplace_stats(&self, now: DateTime<Utc>) -> StoreResult<MarketplaceStats> {
        self.stats_marketplace(now).await
    }

    async fn creator_stats(&self, creator: Uuid, now: DateTime<Utc>) -> StoreResult<CreatorStats> {
        self.stats_creator(creator, now).await
    }

    async fn tool_analytics(&self, tool: &Tool) -> StoreResult<ToolAnalytics> {
        self.stats_tool(tool).await
    }

    async fn forecast_inputs(
        &self,
        creator: Option<Uuid>,
    ) -> StoreResult<domain::forecast::ForecastInputs> {
        self.forecast_history(creator).await
    }
}

impl This {
    async fn revenue_by_month(&self, creator: Option<Uuid>) -> StoreResult<Vec<MonthlyRevenue>> {
        let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(concat!(
            "SELECT ", month_of!("t.created_at"), " AS month, \
             CAST(COALESCE(SUM(CASE WHEN t.kind = 'subscription_charge' AND e.amount_cents < 0 THEN -e.amount_cents ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN t.kind = 'refund' AND e.amount_cents > 0 THEN e.amount_cents ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN e.account_id = $1 THEN e.amount_cents ELSE 0 END), 0) AS BIGINT) \
             FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id \
             JOIN subscriptions s ON s.id = t.subscription_id JOIN tools tl ON tl.id = s.tool_id \
             WHERE t.kind IN ('subscription_charge', 'refund') AND ($2 IS NULL OR tl.creator_id = $2) \
             GROUP BY 1 ORDER BY 1"
        ))
        .bind(PLATFORM_ACCOUNT_ID)
        .bind(creator)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(month, charges, refunds, platform)| MonthlyRevenue {
                month,
                charges: Money::from_cents(charges),
                refunds: Money::from_cents(refunds),
                net: Money::from_cents(charges - refunds),
                platform: Money::from_cents(platform),
            })
            .collect())
    }

    async fn churn(&self, creator: Option<Uuid>, now: DateTime<Utc>) -> StoreResult<Churn> {
        let window_days = 30;
        let start = now - chrono::TimeDelta::days(window_days);
        let (live_at_start, ended): (i64, i64) = sqlx::query_as(
            "SELECT \
             COALESCE(SUM(CASE WHEN s.created_at < $1 AND (s.ended_at IS NULL OR s.ended_at >= $1) THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN s.ended_at >= $1 AND s.ended_at < $2 THEN 1 ELSE 0 END), 0) \
             FROM subscriptions s JOIN tools t ON t.id = s.tool_id WHERE ($3 IS NULL OR t.creator_id = $3)",
        )
        .bind(start)
        .bind(now)
        .bind(creator)
        .fetch_one(&self.pool)
        .await?;
        let rate = if live_at_start > 0 {
            ended as f64 / live_at_start as f64
        } else {
            0.0
        };
        Ok(Churn {
            window_days,
            live_at_start,
            ended,
            rate,
        })
    }

    async fn creator_earnings(
        &self,
        creator: Uuid,
        tool: Option<Uuid>,
    ) -> StoreResult<Vec<ToolEarnings>> {
        let rows: Vec<(Uuid, String, String, i64)> = sqlx::query_as(concat!(
            "SELECT tl.id, tl.name, ",
            month_of!("t.created_at"),
            " AS month, CAST(SUM(e.amount_cents) AS BIGINT) \
             FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id \
             JOIN subscriptions s ON s.id = t.subscription_id JOIN tools tl ON tl.id = s.tool_id \
             WHERE e.account_id = $1 AND tl.creator_id = $1 AND ($2 IS NULL OR tl.id = $2) \
             GROUP BY tl.id, tl.name, 3 ORDER BY 3, tl.name"
        ))
        .bind(creator)
        .bind(tool)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(tool_id, tool_name, month, cents)| ToolEarnings {
                tool_id,
                tool_name,
                month,
                amount: Money::from_cents(cents),
            })
            .collect())
    }

    async fn stats_marketplace(&self, now: DateTime<Utc>) -> StoreResult<MarketplaceStats> {
        let (tools, creators, accounts, mrr): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM tools WHERE deleted_at IS NULL), \
             (SELECT COUNT(DISTINCT creator_id) FROM tools WHERE deleted_at IS NULL), \
             (SELECT COUNT(*) FROM accounts WHERE kind = 'user'), \
             (SELECT CAST(COALESCE(SUM(price_cents), 0) AS BIGINT) FROM subscriptions \
              WHERE status IN ('active', 'past_due') AND auto_renew = $1 AND cancel_at_period_end = $2)",
        )
        .bind(true)
        .bind(false)
        .fetch_one(&self.pool)
        .await?;
        let by_tier: Vec<(String, i64)> =
            sqlx::query_as("SELECT tier, COUNT(*) FROM subscriptions WHERE status IN ('active', 'past_due') GROUP BY tier")
                .fetch_all(&self.pool)
                .await?;
        let mut active_subscriptions_by_tier: std::collections::BTreeMap<String, i64> =
            domain::Tier::ALL
                .iter()
                .map(|t| (t.as_str().to_owned(), 0))
                .collect();
        active_subscriptions_by_tier.extend(by_tier);
        Ok(MarketplaceStats {
            tools,
            creators,
            accounts,
            active_subscriptions_by_tier,
            mrr: Money::from_cents(mrr),
            revenue_by_month: self.revenue_by_month(None).await?,
            churn: self.churn(None, now).await?,
        })
    }

    async fn stats_creator(&self, creator: Uuid, now: DateTime<Utc>) -> StoreResult<CreatorStats> {
        let earnings_by_tool_and_month = self.creator_earnings(creator, None).await?;
        let tools: Vec<(Uuid, String, i64)> = sqlx::query_as(
            "SELECT tl.id, tl.name, \
             (SELECT COUNT(*) FROM subscriptions s WHERE s.tool_id = tl.id AND s.status IN ('active', 'past_due')) \
             FROM tools tl WHERE tl.creator_id = $1 ORDER BY tl.id",
        )
        .bind(creator)
        .fetch_all(&self.pool)
        .await?;
        let mut top_tools: Vec<ToolSummary> = tools
            .into_iter()
            .map(|(tool_id, tool_name, subscribers)| {
                let cents = earnings_by_tool_and_month
                    .iter()
                    .filter(|e| e.tool_id == tool_id)
                    .map(|e| e.amount.cents())
                    .sum();
                ToolSummary {
                    tool_id,
                    tool_name,
                    subscribers,
                    earnings: Money::from_cents(cents),
                }
            })
            .collect();
        top_tools.sort_by(|a, b| {
            b.earnings
                .cmp(&a.earnings)
                .then(b.subscribers.cmp(&a.subscribers))
        });
        Ok(CreatorStats {
            total_earnings: Money::from_cents(
                earnings_by_tool_and_month
                    .iter()
                    .map(|e| e.amount.cents())
                    .sum(),
            ),
            subscribers: top_tools.iter().map(|t| t.subscribers).sum(),
            churn: self.churn(Some(creator), now).await?,
            earnings_by_tool_and_month,
            top_tools,
        })
    }

    async fn stats_tool(&self, tool: &Tool) -> StoreResult<ToolAnalytics> {
        let started: Vec<(String, i64)> = sqlx::query_as(concat!(
            "SELECT ",
            month_of!("created_at"),
            ", COUNT(*) FROM subscriptions WHERE tool_id = $1 GROUP BY 1"
        ))
        .bind(tool.id)
        .fetch_all(&self.pool)
        .await?;
        let ended: Vec<(String, i64)> = sqlx::query_as(concat!(
            "SELECT ",
            month_of!("ended_at"),
            ", COUNT(*) FROM subscriptions WHERE tool_id = $1 AND ended_at IS NOT NULL GROUP BY 1"
        ))
        .bind(tool.id)
        .fetch_all(&self.pool)
        .await?;
        let mut months: std::collections::BTreeMap<String, (i64, i64)> =
            std::collections::BTreeMap::new();
        for (m, n) in started {
            months.entry(m).or_default().0 += n;
        }
        for (m, n) in ended {
            months.entry(m).or_default().1 += n;
        }
        let mut live = 0;
        let subscribers_over_time = months
            .into_iter()
            .map(|(month, (started, ended))| {
                live += started - ended;
                SubscriberMonth {
                    month,
                    started,
                    ended,
                    live,
                }
            })
            .collect();
        let (live_subscribers,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM subscriptions WHERE tool_id = $1 AND status IN ('active', 'past_due')")
                .bind(tool.id)
                .fetch_one(&self.pool)
                .await?;
        let versions: Vec<(i32, String, DateTime<Utc>)> =
            sqlx::query_as("SELECT version, source, created_at FROM tool_versions WHERE tool_id = $1 ORDER BY version")
                .bind(tool.id)
                .fetch_all(&self.pool)
                .await?;
        Ok(ToolAnalytics {
            tool_id: tool.id,
            subscribers_over_time,
            live_subscribers,
            earnings_by_month: self
                .creator_earnings(tool.creator_id, Some(tool.id))
                .await?,
            versions: versions
                .into_iter()
                .map(|(version, source, created_at)| VersionSummary {
                    version,
                    source,
                    created_at,
                })
                .collect(),
        })
    }
}
