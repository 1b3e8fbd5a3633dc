// The `Store` implementation shared by both backends (see `common.rs`).

#[async_trait]
impl Store for This {
    fn kind(&self) -> DatabaseKind {
        KIND
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_account(
        &self,
        name: &str,
        key: &NewApiKey,
        now: DateTime<Utc>,
    ) -> StoreResult<Account> {
        let mut tx = self.begin().await?;
        let id = Uuid::now_v7();
        sqlx::query("INSERT INTO accounts (id, name, kind, balance_cents, created_at) VALUES ($1, $2, 'user', 0, $3)")
            .bind(id)
            .bind(name)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO api_keys (id, account_id, key_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(Uuid::now_v7())
            .bind(id)
            .bind(&key.hash)
            .bind(&key.prefix)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let account = fetch_account(&mut tx, id).await?;
        tx.commit().await?;
        Ok(account)
    }

    async fn account_by_key_hash(&self, key_hash: &str) -> StoreResult<Option<Account>> {
        let row: Option<AccountRow> = sqlx::query_as(
            "SELECT a.id, a.name, a.kind, a.balance_cents, a.created_at FROM api_keys k \
             JOIN accounts a ON a.id = k.account_id WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Account::try_from).transpose()
    }

    async fn account(&self, id: Uuid) -> StoreResult<Option<Account>> {
        let row: Option<AccountRow> = sqlx::query_as(concat!(account_select!(), " WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Account::try_from).transpose()
    }

    async fn top_up(
        &self,
        account: Uuid,
        receipt: &PaymentReceipt,
        idempotency: Option<&IdempotencyKey>,
        render: Render<'_, TopUp>,
        now: DateTime<Utc>,
    ) -> StoreResult<Idempotent<TopUp>> {
        let mut tx = self.begin().await?;
        if let Some(key) = idempotency
            && let Some(replay) = claim_idempotency(&mut tx, account, key, now).await?
        {
            return Ok(replay);
        }
        let header = TxHeader {
            kind: TransactionKind::TopUp,
            subscription_id: None,
            period: None,
            refund_of: None,
            reference: Some(&receipt.reference),
            memo: format!("top-up {} via {}", receipt.amount, receipt.reference),
        };
        let entries = [
            (account, receipt.amount),
            (receipt.source_account, receipt.amount.negated()),
        ];
        let transaction_id = book(&mut tx, header, &entries, now).await?;
        let out = TopUp {
            account: fetch_account(&mut tx, account).await?,
            transaction_id,
            amount: receipt.amount,
            reference: receipt.reference.clone(),
        };
        if let Some(key) = idempotency {
            save_idempotent_response(&mut tx, account, key, render(&out)).await?;
        }
        tx.commit().await?;
        Ok(Idempotent::New(out))
    }

    async fn ledger_entries(
        &self,
        account: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<LedgerEntry>> {
        let rows: Vec<EntryRow> = sqlx::query_as(
            "SELECT e.id, e.transaction_id, e.account_id, e.amount_cents, t.kind, t.subscription_id, \
             t.period_start, t.period_end, t.memo, e.created_at \
             FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id \
             WHERE e.account_id = $1 AND ($2 IS NULL OR e.id < $2) ORDER BY e.id DESC LIMIT $3",
        )
        .bind(account)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        convert(rows)
    }

    async fn check_ledger(&self) -> StoreResult<LedgerCheck> {
        let (total, transactions): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT), \
             (SELECT COUNT(*) FROM ledger_transactions) FROM ledger_entries",
        )
        .fetch_one(&self.pool)
        .await?;
        let unbalanced: Vec<(Uuid,)> = sqlx::query_as(
            "SELECT transaction_id FROM ledger_entries GROUP BY transaction_id HAVING SUM(amount_cents) <> 0",
        )
        .fetch_all(&self.pool)
        .await?;
        let mismatched: Vec<(Uuid,)> = sqlx::query_as(
            "SELECT a.id FROM accounts a LEFT JOIN \
             (SELECT account_id, SUM(amount_cents) AS total FROM ledger_entries GROUP BY account_id) e \
             ON e.account_id = a.id WHERE a.balance_cents <> COALESCE(e.total, 0)",
        )
        .fetch_all(&self.pool)
        .await?;
        let unbalanced_transactions: Vec<Uuid> = unbalanced.into_iter().map(|r| r.0).collect();
        let mismatched_accounts: Vec<Uuid> = mismatched.into_iter().map(|r| r.0).collect();
        Ok(LedgerCheck {
            ok: total == 0 && unbalanced_transactions.is_empty() && mismatched_accounts.is_empty(),
            total: Money::from_cents(total),
            unbalanced_transactions,
            mismatched_accounts,
            transactions,
        })
    }

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
        q.push(" ORDER BY t.id DESC LIMIT ").push_bind(limit);
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

    async fn marketplace_stats(&self, now: DateTime<Utc>) -> StoreResult<MarketplaceStats> {
        self.stats_marketplace(now).await
    }

    async fn creator_stats(&self, creator: Uuid, now: DateTime<Utc>) -> StoreResult<CreatorStats> {
        self.stats_creator(creator, now).await
    }

    async fn tool_analytics(&self, tool: &Tool) -> StoreResult<ToolAnalytics> {
        self.stats_tool(tool).await
    }

    async fn create_dataset(
        &self,
        new: &NewDataset,
        now: DateTime<Utc>,
    ) -> StoreResult<(Dataset, bool)> {
        self.insert_dataset(new, now).await
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
