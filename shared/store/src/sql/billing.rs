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
        prefer_indexes(&mut tx).await?;
        // Two claims, each an ordered walk of a partial index that stops after `limit` rows
        // (migration 0012): retries due first, then renewals. One claim with an `OR` of the two
        // made PostgreSQL read every due row, and every dead version a previous batch left, on
        // each batch: a pass grew with the square of the backlog (100,000 renewals in 55 s).
        let mut rows: Vec<SubscriptionRow> = sqlx::query_as(concat!(
            subscription_select!(),
            " WHERE status = 'past_due' AND NOT cancel_at_period_end AND next_retry_at <= $1 \
             AND tool_id NOT IN (SELECT id FROM tools WHERE deleted_at IS NOT NULL) \
             ORDER BY next_retry_at, id LIMIT $2",
            skip_locked!()
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let left = limit - rows.len() as i64;
        if left > 0 {
            let due: Vec<SubscriptionRow> = sqlx::query_as(concat!(
                subscription_select!(),
                " WHERE status = 'active' AND auto_renew AND NOT cancel_at_period_end AND paid_through <= $1 \
                 AND tool_id NOT IN (SELECT id FROM tools WHERE deleted_at IS NOT NULL) \
                 ORDER BY paid_through, id LIMIT $2",
                skip_locked!()
            ))
            .bind(now)
            .bind(left)
            .fetch_all(&mut *tx)
            .await?;
            rows.extend(due);
        }
        let mut report = RenewalBatch {
            claimed: rows.len() as u64,
            ..RenewalBatch::default()
        };
        let subs: Vec<Subscription> = convert(rows)?;
        renew_claimed(&mut tx, &subs, now, policy, creator_share_bps, &mut report).await?;
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

    async fn update_auto_renew(
        &self,
        id: Uuid,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Subscription> {
        let mut tx = self.begin().await?;
        let q = if enabled {
            "UPDATE subscriptions SET auto_renew = $1, cancel_at_period_end = $2, updated_at = $3 \
             WHERE id = $4 AND status IN ('active', 'past_due')"
        } else {
            "UPDATE subscriptions SET auto_renew = $1, cancel_at_period_end = cancel_at_period_end OR $2, updated_at = $3 \
             WHERE id = $4 AND status IN ('active', 'past_due')"
        };
        let changed = sqlx::query(q)
            .bind(enabled)
            .bind(false)
            .bind(now)
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

/// Renews a claimed batch with a handful of set-based statements (the hot path of a billing run
/// over many subscriptions): one look-up of periods already charged, one of the tools' creators,
/// one conditional debit of every renter, then bulk inserts of the charges and their entries,
/// bulk credits, and one update of the subscriptions. A renter with several subscriptions due in
/// the same batch is charged one subscription at a time ([`charge_one`]) so that one short
/// balance does not fail the others.
async fn renew_claimed(
    tx: &mut Tx,
    subs: &[Subscription],
    now: DateTime<Utc>,
    policy: &BillingPolicy,
    creator_share_bps: u32,
    report: &mut RenewalBatch,
) -> StoreResult<()> {
    use std::collections::{HashMap, HashSet};

    let due: Vec<(&Subscription, NextCharge)> = subs
        .iter()
        .filter_map(|s| s.next_charge().filter(|c| c.due_at <= now).map(|c| (s, c)))
        .collect();
    if due.is_empty() {
        return Ok(());
    }
    let mut q = sqlx::QueryBuilder::<Db>::new(
        "SELECT subscription_id, period_start FROM ledger_transactions WHERE kind = 'subscription_charge' AND subscription_id IN (",
    );
    let mut ids = q.separated(", ");
    for (s, _) in &due {
        ids.push_bind(s.id);
    }
    q.push(")");
    let charged: Vec<(Uuid, DateTime<Utc>)> = q.build_query_as().fetch_all(&mut **tx).await?;
    let charged: HashSet<(Uuid, DateTime<Utc>)> = charged.into_iter().collect();

    // Money moves only for priced periods not yet charged.
    let (paying, free): (Vec<_>, Vec<_>) = due
        .iter()
        .partition(|(s, c)| c.amount > Money::ZERO && !charged.contains(&(s.id, c.period_start)));
    report.already_charged += free
        .iter()
        .filter(|(s, c)| charged.contains(&(s.id, c.period_start)))
        .count() as u64;
    let mut per_renter: HashMap<Uuid, usize> = HashMap::new();
    for (s, _) in &paying {
        *per_renter.entry(s.subscriber_id).or_default() += 1;
    }
    let (bulk, single): (Vec<_>, Vec<_>) = paying
        .into_iter()
        .partition(|(s, _)| per_renter[&s.subscriber_id] == 1);
    let mut renewed: Vec<(&Subscription, NextCharge)> = Vec::new();
    for (s, c) in single {
        if charge_one(tx, s, &c, creator_share_bps, now).await? {
            renewed.push((s, c));
        } else {
            fail_charge(tx, s, now, policy, report).await?;
        }
    }

    let mut debited: HashSet<Uuid> = HashSet::new();
    if !bulk.is_empty() {
        let mut q = sqlx::QueryBuilder::<Db>::new(
            "UPDATE accounts SET balance_cents = balance_cents - v.column2 FROM (",
        );
        q.push_values(&bulk, |mut b, (s, c)| {
            b.push_bind(s.subscriber_id).push_bind(c.amount.cents());
        });
        q.push(") AS v WHERE accounts.id = v.column1 AND accounts.balance_cents >= v.column2 RETURNING accounts.id");
        let rows: Vec<(Uuid,)> = q.build_query_as().fetch_all(&mut **tx).await?;
        debited = rows.into_iter().map(|r| r.0).collect();
    }
    let (paid, short): (Vec<_>, Vec<_>) = bulk
        .into_iter()
        .partition(|(s, _)| debited.contains(&s.subscriber_id));
    for (s, _) in &short {
        fail_charge(tx, s, now, policy, report).await?;
    }

    if !paid.is_empty() {
        let mut q = sqlx::QueryBuilder::<Db>::new("SELECT id, creator_id FROM tools WHERE id IN (");
        let mut ids = q.separated(", ");
        for (s, _) in &paid {
            ids.push_bind(s.tool_id);
        }
        q.push(")");
        let creators: Vec<(Uuid, Uuid)> = q.build_query_as().fetch_all(&mut **tx).await?;
        let creators: HashMap<Uuid, Uuid> = creators.into_iter().collect();
        let charges: Vec<(Uuid, &Subscription, NextCharge, Uuid, RevenueSplit)> = paid
            .iter()
            .map(|(s, c)| {
                let creator = creators
                    .get(&s.tool_id)
                    .copied()
                    .ok_or_else(|| StoreError::Corrupt("tool without creator".into()))?;
                Ok((
                    Uuid::now_v7(),
                    *s,
                    *c,
                    creator,
                    RevenueSplit::of(c.amount, creator_share_bps),
                ))
            })
            .collect::<StoreResult<_>>()?;
        let mut q = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO ledger_transactions (id, kind, subscription_id, period_start, period_end, memo, created_at) ",
        );
        q.push_values(&charges, |mut b, (id, s, c, _, _)| {
            b.push_bind(*id)
                .push_bind(TransactionKind::SubscriptionCharge.as_str())
                .push_bind(s.id)
                .push_bind(c.period_start)
                .push_bind(c.period_end)
                .push_bind(format!(
                    "renewal of subscription {} ({}) period {}",
                    s.id,
                    s.tier,
                    c.period_start.date_naive()
                ))
                .push_bind(now);
        });
        q.build().execute(&mut **tx).await?;
        let entries: Vec<(Uuid, Uuid, Money)> = charges
            .iter()
            .flat_map(|(id, s, c, creator, split)| {
                [
                    (*id, s.subscriber_id, c.amount.negated()),
                    (*id, *creator, split.creator),
                    (*id, PLATFORM_ACCOUNT_ID, split.platform),
                ]
            })
            .filter(|(_, _, m)| *m != Money::ZERO)
            .collect();
        let mut q = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO ledger_entries (id, transaction_id, account_id, amount_cents, created_at) ",
        );
        q.push_values(&entries, |mut b, (tx_id, account, amount)| {
            b.push_bind(Uuid::now_v7())
                .push_bind(*tx_id)
                .push_bind(*account)
                .push_bind(amount.cents())
                .push_bind(now);
        });
        q.build().execute(&mut **tx).await?;
        // Credits (the renters' debits were applied by the conditional update above).
        let mut credits: HashMap<Uuid, i64> = HashMap::new();
        for (_, _, _, creator, split) in &charges {
            *credits.entry(*creator).or_default() += split.creator.cents();
            *credits.entry(PLATFORM_ACCOUNT_ID).or_default() += split.platform.cents();
        }
        // A fixed order (by account id) keeps concurrent schedulers from locking the creators'
        // and the platform's rows in opposite orders.
        let mut credits: Vec<(Uuid, i64)> = credits.into_iter().filter(|(_, c)| *c != 0).collect();
        credits.sort_unstable();
        if !credits.is_empty() {
            let mut q = sqlx::QueryBuilder::<Db>::new(
                "UPDATE accounts SET balance_cents = balance_cents + v.column2 FROM (",
            );
            q.push_values(&credits, |mut b, (account, cents)| {
                b.push_bind(*account).push_bind(*cents);
            });
            q.push(") AS v WHERE accounts.id = v.column1");
            q.build().execute(&mut **tx).await?;
        }
    }

    // Advance every renewed subscription by one period.
    renewed.extend(free.into_iter().chain(paid));
    if !renewed.is_empty() {
        let mut q = sqlx::QueryBuilder::<Db>::new(
            "UPDATE subscriptions SET status = 'active', grace_until = NULL, next_retry_at = NULL, retry_count = 0, updated_at = ",
        );
        q.push_bind(now)
            .push(", periods_paid = v.column2, paid_through = v.column3 FROM (");
        let mut values = Vec::with_capacity(renewed.len());
        for (s, c) in &renewed {
            values.push((
                s.id,
                i32::try_from(s.periods_paid + 1)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                c.period_end,
            ));
        }
        q.push_values(&values, |mut b, (id, k, end)| {
            b.push_bind(*id).push_bind(*k).push_bind(*end);
        });
        q.push(") AS v WHERE subscriptions.id = v.column1");
        q.build().execute(&mut **tx).await?;
        report.renewed += renewed.len() as u64;
        report.recovered += renewed
            .iter()
            .filter(|(s, _)| s.status == SubscriptionStatus::PastDue)
            .count() as u64;
    }
    Ok(())
}

/// Records a charge that could not be made: past due under the policy's grace and retries.
async fn fail_charge(
    tx: &mut Tx,
    sub: &Subscription,
    now: DateTime<Utc>,
    policy: &BillingPolicy,
    report: &mut RenewalBatch,
) -> StoreResult<()> {
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
    // The failure history forecasts learn failure and recovery rates from (migration 0019).
    sqlx::query(
        "INSERT INTO renewal_failures (subscription_id, period_start, failed_at) VALUES ($1, $2, $3) \
         ON CONFLICT (subscription_id, period_start) DO UPDATE SET attempts = renewal_failures.attempts + 1",
    )
    .bind(sub.id)
    .bind(sub.paid_through())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Charges one renewal through the ledger if the renter's balance covers it (the path for a
/// renter with several renewals in one batch). Returns whether it was paid.
async fn charge_one(
    tx: &mut Tx,
    sub: &Subscription,
    charge: &NextCharge,
    creator_share_bps: u32,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    match reserve_funds(tx, sub.subscriber_id, charge.amount).await {
        Ok(()) => {}
        Err(StoreError::InsufficientFunds { .. }) => return Ok(false),
        Err(e) => return Err(e),
    }
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
        memo: format!(
            "renewal of subscription {} ({}) period {}",
            sub.id,
            sub.tier,
            charge.period_start.date_naive()
        ),
    };
    let entries = [
        (sub.subscriber_id, charge.amount.negated()),
        (creator, split.creator),
        (PLATFORM_ACCOUNT_ID, split.platform),
    ];
    book(tx, header, &entries, now).await?;
    Ok(true)
}
