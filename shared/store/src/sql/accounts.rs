// Accounts and the ledger's checks, shared by both backends (see `common.rs`).

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
