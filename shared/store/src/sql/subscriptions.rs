// Subscriptions: subscribe, cancel with refunds, renewals' entry points and invoices, shared by
// both backends (see `common.rs`; the renewal batch itself is in `billing.rs`).

#[async_trait]
impl BillingStore for This {
    async fn create_subscription(
        &self,
        new: &NewSubscription,
        idempotency: Option<&IdempotencyKey>,
        render: Render<'_, SubscriptionCreated>,
        now: DateTime<Utc>,
    ) -> StoreResult<Idempotent<SubscriptionCreated>> {
        let mut tx = self.begin().await?;
        if let Some(key) = idempotency
            && let Some(replay) = claim_idempotency(&mut tx, new.subscriber_id, key, now).await?
        {
            return Ok(replay);
        }
        // Checked again inside the transaction: a tool deleted meanwhile takes no subscription.
        let live_tool: Option<(Uuid,)> =
            sqlx::query_as("SELECT id FROM tools WHERE id = $1 AND deleted_at IS NULL")
                .bind(new.tool_id)
                .fetch_optional(&mut *tx)
                .await?;
        if live_tool.is_none() {
            return Err(StoreError::NotFound);
        }
        // A lapsed subscription that will not renew no longer blocks a new one.
        sqlx::query(concat!(
            expire_lapsed!(),
            " AND tool_id = $4 AND subscriber_id = $5"
        ))
        .bind(now)
        .bind(false)
        .bind(true)
        .bind(new.tool_id)
        .bind(new.subscriber_id)
        .execute(&mut *tx)
        .await?;
        let id = Uuid::now_v7();
        let months = new.months.max(1);
        let paid_through = period_start(now, months);
        sqlx::query(
            "INSERT INTO subscriptions (id, tool_id, subscriber_id, tier, status, price_cents, anchor_at, periods_paid, \
             paid_through, auto_renew, cancel_at_period_end, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9, $10, $6, $6)",
        )
        .bind(id)
        .bind(new.tool_id)
        .bind(new.subscriber_id)
        .bind(new.tier.as_str())
        .bind(new.price.cents())
        .bind(now)
        .bind(i32::try_from(months).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(paid_through)
        .bind(new.auto_renew)
        .bind(false)
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict("you already have an active subscription to this tool".into())
            }
            _ => e.into(),
        })?;
        let mut charges = Vec::new();
        if new.price > Money::ZERO {
            let total = Money::from_cents(new.price.cents().saturating_mul(i64::from(months)));
            reserve_funds(&mut tx, new.subscriber_id, total).await?;
            let split = RevenueSplit::of(new.price, new.creator_share_bps);
            for k in 0..months {
                let (start, end) = period_bounds(now, k);
                let header = TxHeader {
                    kind: TransactionKind::SubscriptionCharge,
                    subscription_id: Some(id),
                    period: Some((start, end)),
                    refund_of: None,
                    reference: None,
                    memo: format!(
                        "subscription {id} ({}) period {}",
                        new.tier,
                        start.date_naive()
                    ),
                };
                let entries = [
                    (new.subscriber_id, new.price.negated()),
                    (new.creator_id, split.creator),
                    (PLATFORM_ACCOUNT_ID, split.platform),
                ];
                let transaction_id = book(&mut tx, header, &entries, now).await?;
                charges.push(Charge {
                    transaction_id,
                    period_start: start,
                    period_end: end,
                    amount: new.price,
                    creator_amount: split.creator,
                    platform_amount: split.platform,
                });
            }
        }
        let out = SubscriptionCreated {
            subscription: fetch_subscription(&mut tx, id).await?,
            charges,
        };
        if let Some(key) = idempotency {
            save_idempotent_response(&mut tx, new.subscriber_id, key, render(&out)).await?;
        }
        tx.commit().await?;
        Ok(Idempotent::New(out))
    }

    async fn subscription(&self, id: Uuid) -> StoreResult<Option<Subscription>> {
        let row: Option<SubscriptionRow> =
            sqlx::query_as(concat!(subscription_select!(), " WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(Subscription::try_from).transpose()
    }

    async fn list_subscriptions(
        &self,
        subscriber: Uuid,
        live_only: bool,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<Subscription>> {
        let rows: Vec<SubscriptionRow> = sqlx::query_as(concat!(
            subscription_select!(),
            " WHERE subscriber_id = $1 AND (NOT $2 OR status IN ('active', 'past_due')) \
             AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
        ))
        .bind(subscriber)
        .bind(live_only)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        convert(rows)
    }

    async fn live_subscription(
        &self,
        tool: Uuid,
        subscriber: Uuid,
    ) -> StoreResult<Option<Subscription>> {
        let row: Option<SubscriptionRow> = sqlx::query_as(concat!(
            subscription_select!(),
            " WHERE tool_id = $1 AND subscriber_id = $2 AND status IN ('active', 'past_due')"
        ))
        .bind(tool)
        .bind(subscriber)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Subscription::try_from).transpose()
    }

    async fn cancel_subscription(
        &self,
        id: Uuid,
        immediate: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Cancellation> {
        let mut tx = self.begin().await?;
        let changed = if immediate {
            sqlx::query(
                "UPDATE subscriptions SET status = 'canceled', ended_at = $1, updated_at = $1, auto_renew = $2, \
                 cancel_at_period_end = $2 WHERE id = $3 AND status IN ('active', 'past_due')",
            )
        } else {
            sqlx::query(
                "UPDATE subscriptions SET updated_at = $1, cancel_at_period_end = $2 \
                 WHERE id = $3 AND status IN ('active', 'past_due')",
            )
        }
        .bind(now)
        .bind(!immediate)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            fetch_subscription(&mut tx, id).await?;
            return Err(StoreError::Conflict(
                "the subscription has already ended".into(),
            ));
        }
        let mut refunds = Vec::new();
        if immediate {
            let charges: Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
                "SELECT c.id, c.period_start, c.period_end FROM ledger_transactions c \
                 WHERE c.subscription_id = $1 AND c.kind = 'subscription_charge' AND c.period_end > $2 \
                 AND NOT EXISTS (SELECT 1 FROM ledger_transactions r WHERE r.refund_of = c.id) \
                 ORDER BY c.period_start",
            )
            .bind(id)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            for (charge_id, start, end) in charges {
                if let Some(refund) =
                    refund_charge(&mut tx, id, charge_id, (start, end), now).await?
                {
                    refunds.push(refund);
                }
            }
        }
        let subscription = fetch_subscription(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Cancellation {
            subscription,
            refunds,
        })
    }

    async fn expire_lapsed_subscriptions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query(expire_lapsed!())
            .bind(now)
            .bind(false)
            .bind(true)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(done)
    }

    async fn renew_due_subscriptions(
        &self,
        now: DateTime<Utc>,
        policy: &BillingPolicy,
        creator_share_bps: u32,
        limit: i64,
    ) -> StoreResult<RenewalBatch> {
        self.renew_batch(now, policy, creator_share_bps, limit)
            .await
    }

    async fn next_billing_event(&self, after: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>> {
        self.next_event(after).await
    }

    async fn set_auto_renew(
        &self,
        id: Uuid,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Subscription> {
        self.update_auto_renew(id, enabled, now).await
    }

    async fn invoices(&self, subscription: Uuid) -> StoreResult<Vec<InvoiceLine>> {
        self.invoice_lines(subscription).await
    }
}

/// Gives back the unused part of one charged period: every account the charge credited
/// returns its share pro rata by the second (each rounded half up), the payer gets the sum.
async fn refund_charge(
    tx: &mut Tx,
    subscription: Uuid,
    charge: Uuid,
    period: (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> StoreResult<Option<Refund>> {
    let entries: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT account_id, amount_cents FROM ledger_entries WHERE transaction_id = $1 ORDER BY id",
    )
    .bind(charge)
    .fetch_all(&mut **tx)
    .await?;
    let share = ProRata::at(period.0, period.1, now);
    let payer = entries
        .iter()
        .find(|(_, cents)| *cents < 0)
        .map(|(a, _)| *a);
    let Some(payer) = payer else { return Ok(None) };
    let mut back: Vec<(Uuid, Money)> = entries
        .iter()
        .filter(|(_, cents)| *cents > 0)
        .map(|(account, cents)| (*account, share.of(Money::from_cents(*cents)).negated()))
        .collect();
    let total: i64 = -back.iter().map(|(_, m)| m.cents()).sum::<i64>();
    if total == 0 {
        return Ok(None);
    }
    back.push((payer, Money::from_cents(total)));
    let header = TxHeader {
        kind: TransactionKind::Refund,
        subscription_id: Some(subscription),
        period: Some(period),
        refund_of: Some(charge),
        reference: None,
        memo: format!(
            "refund of {}/{} unused seconds of period {}",
            share.unused_seconds,
            share.period_seconds,
            period.0.date_naive()
        ),
    };
    let transaction_id = book(tx, header, &back, now).await?;
    Ok(Some(Refund {
        transaction_id,
        refund_of: charge,
        period_start: period.0,
        period_end: period.1,
        amount: Money::from_cents(total),
    }))
}
