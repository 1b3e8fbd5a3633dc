// Inputs of the revenue and demand forecasts, shared by both backends (see `common.rs`): plain
// history for `domain::forecast`, which does every computation.

impl This {
    async fn forecast_history(
        &self,
        creator: Option<Uuid>,
    ) -> StoreResult<domain::forecast::ForecastInputs> {
        use domain::forecast::revenue::{ChargeEvent, FailureEvent};
        use domain::forecast::{SubscriptionHistory, ToolHistory};
        use std::collections::HashMap;

        // Free subscriptions charge nothing: they are demand, not revenue.
        let rows: Vec<SubscriptionRow> = sqlx::query_as(concat!(
            subscription_select!(),
            " WHERE price_cents > 0 AND tool_id IN (SELECT id FROM tools WHERE $1 IS NULL OR creator_id = $1) \
             ORDER BY id"
        ))
        .bind(creator)
        .fetch_all(&self.pool)
        .await?;
        let subs: Vec<Subscription> = convert(rows)?;
        // (subscription, period start, booked at, cents paid by the subscriber)
        type ChargeRow = (Uuid, Option<DateTime<Utc>>, DateTime<Utc>, i64);
        let charges: Vec<ChargeRow> = sqlx::query_as(
            "SELECT t.subscription_id, t.period_start, t.created_at, \
             CAST(COALESCE((SELECT -SUM(e.amount_cents) FROM ledger_entries e \
                            WHERE e.transaction_id = t.id AND e.account_id = s.subscriber_id), 0) AS BIGINT) \
             FROM ledger_transactions t JOIN subscriptions s ON s.id = t.subscription_id \
             JOIN tools tl ON tl.id = s.tool_id \
             WHERE t.kind = 'subscription_charge' AND s.price_cents > 0 AND ($1 IS NULL OR tl.creator_id = $1) \
             ORDER BY t.id",
        )
        .bind(creator)
        .fetch_all(&self.pool)
        .await?;
        let failures: Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
            "SELECT f.subscription_id, f.period_start, f.failed_at FROM renewal_failures f \
             JOIN subscriptions s ON s.id = f.subscription_id JOIN tools tl ON tl.id = s.tool_id \
             WHERE $1 IS NULL OR tl.creator_id = $1 ORDER BY f.failed_at",
        )
        .bind(creator)
        .fetch_all(&self.pool)
        .await?;
        let mut by_sub: HashMap<Uuid, (Vec<ChargeEvent>, Vec<FailureEvent>)> = HashMap::new();
        for (sub, period_start, booked_at, cents) in charges {
            let period_start =
                period_start.ok_or_else(|| StoreError::Corrupt("charge without period".into()))?;
            by_sub.entry(sub).or_default().0.push(ChargeEvent {
                period_start,
                booked_at,
                amount: Money::from_cents(cents),
            });
        }
        for (sub, period_start, failed_at) in failures {
            by_sub.entry(sub).or_default().1.push(FailureEvent {
                period_start,
                failed_at,
            });
        }
        let subscriptions = subs
            .into_iter()
            .map(|subscription| {
                let (charges, failures) = by_sub.remove(&subscription.id).unwrap_or_default();
                SubscriptionHistory {
                    subscription,
                    charges,
                    failures,
                }
            })
            .collect();

        let tools: Vec<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT id, name, created_at FROM tools \
             WHERE deleted_at IS NULL AND ($1 IS NULL OR creator_id = $1) ORDER BY id",
        )
        .bind(creator)
        .fetch_all(&self.pool)
        .await?;
        let created: Vec<(Uuid, DateTime<Utc>)> = sqlx::query_as(
            "SELECT s.tool_id, s.created_at FROM subscriptions s JOIN tools tl ON tl.id = s.tool_id \
             WHERE tl.deleted_at IS NULL AND ($1 IS NULL OR tl.creator_id = $1)",
        )
        .bind(creator)
        .fetch_all(&self.pool)
        .await?;
        let mut by_tool: HashMap<Uuid, Vec<DateTime<Utc>>> = HashMap::new();
        for (tool, at) in created {
            by_tool.entry(tool).or_default().push(at);
        }
        let tools = tools
            .into_iter()
            .map(|(tool_id, tool_name, listed_at)| ToolHistory {
                subscribed_at: by_tool.remove(&tool_id).unwrap_or_default(),
                tool_id,
                tool_name,
                listed_at,
            })
            .collect();
        Ok(domain::forecast::ForecastInputs {
            subscriptions,
            tools,
        })
    }
}
