// Renewals, dunning and invoices, shared by both backends (see `common.rs`). `skip_locked!()`
// is ` FOR UPDATE SKIP LOCKED` on PostgreSQL and empty on SQLite (whose writers are serialized).

impl This {
    async fn renew_batch(
        &self,
        now: DateTime<Utc>,
        policy: &BillingPolicy,
        creator_share_bps: u32,
        limit: i64,
    ) -> StoreResult<RenewalBatch> {
        let mut tx = self.begin().await?;
        let rows: Vec<SubscriptionRow> = sqlx::query_as(concat!(
            subscription_select!(),
            " WHERE ((status = 'active' AND paid_through <= $1 AND auto_renew = $2 AND cancel_at_period_end = $3) \
               OR (status = 'past_due' AND next_retry_at <= $1 AND cancel_at_period_end = $3)) \
             AND tool_id NOT IN (SELECT id FROM tools WHERE deleted_at IS NOT NULL) \
             ORDER BY paid_through, id LIMIT $4",
            skip_locked!()
        ))
        .bind(now)
        .bind(true)
        .bind(false)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut report = RenewalBatch { claimed: rows.len() as u64, ..RenewalBatch::default() };
        for row in rows {
            let sub = Subscription::try_from(row)?;
            renew_one(&mut tx, &sub, now, policy, creator_share_bps, &mut report).await?;
        }
        tx.commit().await?;
        Ok(report)
    }

    async fn next_event(&self, after: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>> {
        let times: Vec<(Option<DateTime<Utc>>,)> = sqlx::query_as(
            "SELECT MIN(paid_through) FROM subscriptions WHERE status IN ('active', 'past_due') AND paid_through > $1 \
             UNION ALL SELECT MIN(next_retry_at) FROM subscriptions WHERE status = 'past_due' AND next_retry_at > $1 \
             UNION ALL SELECT MIN(grace_until) FROM subscriptions WHERE status = 'past_due' AND grace_until > $1",
        )
        .bind(after)
        .fetch_all(&self.pool)
        .await?;
        Ok(times.into_iter().filter_map(|t| t.0).min())
    }

    async fn update_auto_renew(&self, id: Uuid, enabled: bool, now: DateTime<Utc>) -> StoreResult<Subscription> {
        let mut tx = self.begin().await?;
        let q = if enabled {
            "UPDATE subscriptions SET auto_renew = $1, cancel_at_period_end = $2, updated_at = $3 \
             WHERE id = $4 AND status IN ('active', 'past_due')"
        } else {
            "UPDATE subscriptions SET auto_renew = $1, cancel_at_period_end = cancel_at_period_end OR $2, updated_at = $3 \
             WHERE id = $4 AND status IN ('active', 'past_due')"
        };
        let changed = sqlx::query(q).bind(enabled).bind(false).bind(now).bind(id).execute(&mut *tx).await?.rows_affected();
        if changed == 0 {
            fetch_subscription(&mut tx, id).await?;
            return Err(StoreError::Conflict("the subscription has already ended".into()));
        }
        let sub = fetch_subscription(&mut tx, id).await?;
        tx.commit().await?;
        Ok(sub)
    }

    async fn invoice_lines(&self, subscription: Uuid) -> StoreResult<Vec<InvoiceLine>> {
        let rows: Vec<InvoiceRow> = sqlx::query_as(
            "SELECT t.id, t.kind, t.period_start, t.period_end, e.amount_cents, t.created_at \
             FROM ledger_transactions t \
             JOIN subscriptions s ON s.id = t.subscription_id \
             JOIN ledger_entries e ON e.transaction_id = t.id AND e.account_id = s.subscriber_id \
             WHERE t.subscription_id = $1 ORDER BY t.id",
        )
        .bind(subscription)
        .fetch_all(&self.pool)
        .await?;
        convert(rows)
    }
}

/// Renews one claimed subscription inside the batch transaction. A period already charged
/// (unique per subscription and period start) counts as paid, so a re-run after a crash or a
/// second scheduler never charges twice; nothing here raises a database error on that path,
/// which would poison a PostgreSQL transaction.
async fn renew_one(
    tx: &mut Tx,
    sub: &Subscription,
    now: DateTime<Utc>,
    policy: &BillingPolicy,
    creator_share_bps: u32,
    report: &mut RenewalBatch,
) -> StoreResult<()> {
    let Some(charge) = sub.next_charge().filter(|c| c.due_at <= now) else {
        return Ok(());
    };
    let already: Option<(Uuid,)> = sqlx::query_as(
        "SELECT id FROM ledger_transactions WHERE subscription_id = $1 AND kind = 'subscription_charge' AND period_start = $2",
    )
    .bind(sub.id)
    .bind(charge.period_start)
    .fetch_optional(&mut **tx)
    .await?;
    let paid = if already.is_some() {
        report.already_charged += 1;
        true
    } else if charge.amount == Money::ZERO {
        true
    } else {
        match reserve_funds(tx, sub.subscriber_id, charge.amount).await {
            Ok(()) => {
                let (creator,): (Uuid,) = sqlx::query_as("SELECT creator_id FROM tools WHERE id = $1")
                    .bind(sub.tool_id)
                    .fetch_one(&mut **tx)
                    .await?;
                let split = RevenueSplit::of(charge.amount, creator_share_bps);
                let header = TxHeader {
                    kind: TransactionKind::SubscriptionCharge,
                    subscription_id: Some(sub.id),
                    period: Some((charge.period_start, charge.period_end)),
                    refund_of: None,
                    reference: None,
                    memo: format!("renewal of subscription {} ({}) period {}", sub.id, sub.tier, charge.period_start.date_naive()),
                };
                let entries = [
                    (sub.subscriber_id, charge.amount.negated()),
                    (creator, split.creator),
                    (PLATFORM_ACCOUNT_ID, split.platform),
                ];
                book(tx, header, &entries, now).await?;
                true
            }
            Err(StoreError::InsufficientFunds { .. }) => false,
            Err(e) => return Err(e),
        }
    };
    if paid {
        report.renewed += 1;
        if sub.status == SubscriptionStatus::PastDue {
            report.recovered += 1;
        }
        sqlx::query(
            "UPDATE subscriptions SET status = 'active', periods_paid = $1, paid_through = $2, grace_until = NULL, \
             next_retry_at = NULL, retry_count = 0, updated_at = $3 WHERE id = $4",
        )
        .bind(i32::try_from(sub.periods_paid + 1).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(charge.period_end)
        .bind(now)
        .bind(sub.id)
        .execute(&mut **tx)
        .await?;
    } else {
        report.failed += 1;
        let (grace_until, next_retry_at, retry_count) = sub.after_failed_charge(policy);
        sqlx::query(
            "UPDATE subscriptions SET status = 'past_due', grace_until = $1, next_retry_at = $2, retry_count = $3, \
             updated_at = $4 WHERE id = $5",
        )
        .bind(grace_until)
        .bind(next_retry_at)
        .bind(i32::try_from(retry_count).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(now)
        .bind(sub.id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
