// Accounts, their API keys and the ledger's checks, shared by both backends (see `common.rs`).
// `for_update!()` is ` FOR NO KEY UPDATE` on PostgreSQL and empty on SQLite (whose writers are
// serialized by `BEGIN IMMEDIATE`).

macro_rules! api_key_cols {
    () => {
        "id, prefix, label, created_at, revoked_at"
    };
}

/// Locks a user account until the transaction ends, so that changes to its keys serialize: a
/// conditional UPDATE alone is not enough under PostgreSQL's READ COMMITTED, where two
/// revocations of an account's last two keys each count the other's key as still active.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such user account.
async fn lock_user_account(tx: &mut Tx, id: Uuid) -> StoreResult<()> {
    let found: Option<(Uuid,)> = sqlx::query_as(concat!(
        "SELECT id FROM accounts WHERE id = $1 AND kind = 'user'",
        for_update!()
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound)
}

#[async_trait]
impl Store for This {
    fn kind(&self) -> DatabaseKind {
        KIND
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

#[async_trait]
impl AccountStore for This {
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

    async fn create_api_key(
        &self,
        account: Uuid,
        key: &NewApiKey,
        label: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<ApiKeyInfo> {
        let mut tx = self.begin().await?;
        lock_user_account(&mut tx, account).await?;
        let (active,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL",
        )
        .bind(account)
        .fetch_one(&mut *tx)
        .await?;
        if active >= MAX_ACTIVE_API_KEYS {
            return Err(StoreError::Conflict(format!(
                "an account holds at most {MAX_ACTIVE_API_KEYS} active API keys; revoke one first"
            )));
        }
        let row: ApiKeyRow = sqlx::query_as(concat!(
            "INSERT INTO api_keys (id, account_id, key_hash, prefix, label, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
            api_key_cols!()
        ))
        .bind(Uuid::now_v7())
        .bind(account)
        .bind(&key.hash)
        .bind(&key.prefix)
        .bind(label)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.into())
    }

    async fn api_keys(&self, account: Uuid) -> StoreResult<Vec<ApiKeyInfo>> {
        // Ids are UUIDv7: their order is the order of creation.
        let rows: Vec<ApiKeyRow> = sqlx::query_as(concat!(
            "SELECT ",
            api_key_cols!(),
            " FROM api_keys WHERE account_id = $1 ORDER BY id DESC"
        ))
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(ApiKeyInfo::from).collect())
    }

    async fn revoke_api_key(
        &self,
        account: Uuid,
        key_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<ApiKeyInfo> {
        let mut tx = self.begin().await?;
        lock_user_account(&mut tx, account).await?;
        // Scoped to the account: another account's key is as absent as one that never existed.
        let key: ApiKeyRow = sqlx::query_as(concat!(
            "SELECT ",
            api_key_cols!(),
            " FROM api_keys WHERE id = $1 AND account_id = $2"
        ))
        .bind(key_id)
        .bind(account)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let key = ApiKeyInfo::from(key);
        if key.revoked_at.is_some() {
            return Ok(key);
        }
        // The count repeats, in the write itself, the rule the account's lock makes safe.
        let revoked: Option<ApiKeyRow> = sqlx::query_as(concat!(
            "UPDATE api_keys SET revoked_at = $1 \
             WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL \
             AND (SELECT COUNT(*) FROM api_keys WHERE account_id = $3 AND revoked_at IS NULL) > 1 \
             RETURNING ",
            api_key_cols!()
        ))
        .bind(now)
        .bind(key_id)
        .bind(account)
        .fetch_optional(&mut *tx)
        .await?;
        let revoked = revoked.ok_or_else(|| {
            StoreError::Conflict(
                "this is the account's last active API key; create another one before revoking it"
                    .into(),
            )
        })?;
        tx.commit().await?;
        Ok(revoked.into())
    }

    async fn idempotent_answer(
        &self,
        account: Uuid,
        key: &IdempotencyKey,
    ) -> StoreResult<Option<Value>> {
        let row: Option<(String, Json<Value>)> = sqlx::query_as(
            "SELECT request_hash, response_body FROM idempotency_keys \
             WHERE account_id = $1 AND scope = $2 AND key = $3",
        )
        .bind(account)
        .bind(key.scope)
        .bind(&key.key)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some((hash, _)) if hash != key.request_hash => Err(StoreError::IdempotencyMismatch),
            Some((_, Json(body))) => Ok(Some(body)),
            None => Ok(None),
        }
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
}
