// SQL shared by both backends; `include!`d by `sqlite.rs` and `postgres.rs`, which define
// `Db`, `This`, `BEGIN` and `KIND`. Placeholders are `$n` in order of first use.

type Tx = sqlx::Transaction<'static, Db>;

macro_rules! tool_select {
    () => {
        "SELECT t.id, t.creator_id, t.name, t.description, t.category, t.family, t.price_cents, \
         t.tier, t.metadata, t.current_version, v.parameters, t.created_at, t.updated_at, t.deleted_at, \
         t.standards, t.auto_promote, t.reference_dataset_id, v.artifact_id, \
         t.rating_count, t.rating_sum \
         FROM tools t JOIN tool_versions v ON v.tool_id = t.id AND v.version = t.current_version"
    };
}

macro_rules! subscription_select {
    () => {
        "SELECT id, tool_id, subscriber_id, tier, status, price_cents, anchor_at, periods_paid, \
         auto_renew, cancel_at_period_end, created_at, updated_at, ended_at, grace_until, next_retry_at, \
         retry_count FROM subscriptions"
    };
}

/// Expires live subscriptions that lapsed and will not renew ($1 = now, $2 = false, $3 = true):
/// paid periods over and not auto-renewing, canceled at period end, or of a deleted tool; past
/// due and out of grace. Access ended when the paid periods (or the grace) did.
macro_rules! expire_lapsed {
    () => {
        "UPDATE subscriptions SET status = 'expired', updated_at = $1, next_retry_at = NULL, \
         ended_at = CASE WHEN status = 'past_due' AND grace_until < $1 THEN grace_until \
                         WHEN status = 'past_due' THEN $1 ELSE paid_through END \
         WHERE ((status = 'active' AND paid_through <= $1 AND (auto_renew = $2 OR cancel_at_period_end = $3 \
                 OR tool_id IN (SELECT id FROM tools WHERE deleted_at IS NOT NULL))) \
             OR (status = 'past_due' AND (grace_until <= $1 OR cancel_at_period_end = $3 \
                 OR tool_id IN (SELECT id FROM tools WHERE deleted_at IS NOT NULL))))"
    };
}

macro_rules! account_select {
    () => {
        "SELECT id, name, kind, balance_cents, created_at FROM accounts"
    };
}

impl This {
    async fn begin(&self) -> StoreResult<Tx> {
        Ok(self.pool.begin_with(BEGIN).await?)
    }

    /// Creates the platform and sandbox-provider accounts the ledger books against.
    async fn ensure_system_accounts(&self, now: DateTime<Utc>) -> StoreResult<()> {
        for (id, name, kind) in [
            (PLATFORM_ACCOUNT_ID, "platform", AccountKind::Platform),
            (
                SANDBOX_PROVIDER_ACCOUNT_ID,
                "sandbox payment provider",
                AccountKind::External,
            ),
        ] {
            sqlx::query(
                "INSERT INTO accounts (id, name, kind, balance_cents, created_at) VALUES ($1, $2, $3, 0, $4) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(name)
            .bind(kind.as_str())
            .bind(now)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }
}

async fn fetch_account(tx: &mut Tx, id: Uuid) -> StoreResult<Account> {
    let row: AccountRow = sqlx::query_as(concat!(account_select!(), " WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    row.try_into()
}

async fn fetch_tool(tx: &mut Tx, id: Uuid) -> StoreResult<Tool> {
    let row: ToolRow = sqlx::query_as(concat!(tool_select!(), " WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    row.try_into()
}

async fn fetch_subscription(tx: &mut Tx, id: Uuid) -> StoreResult<Subscription> {
    let row: SubscriptionRow = sqlx::query_as(concat!(subscription_select!(), " WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    row.try_into()
}

/// Claims an idempotency key inside `tx`. `Some` means the key was used before: the stored
/// response (same request) or a mismatch error (different request). The claim commits or rolls
/// back with the work, so a failed attempt leaves the key free for a retry; a concurrent
/// duplicate waits on the unique key (PostgreSQL) or the write lock (SQLite) and then replays.
async fn claim_idempotency<T>(
    tx: &mut Tx,
    account: Uuid,
    key: &IdempotencyKey,
    now: DateTime<Utc>,
) -> StoreResult<Option<Idempotent<T>>> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (account_id, scope, key, request_hash, response_code, response_body, created_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $6) ON CONFLICT (account_id, scope, key) DO NOTHING",
    )
    .bind(account)
    .bind(key.scope)
    .bind(&key.key)
    .bind(&key.request_hash)
    .bind(Json(Value::Null))
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(None);
    }
    let (hash, Json(body)): (String, Json<Value>) = sqlx::query_as(
        "SELECT request_hash, response_body FROM idempotency_keys \
         WHERE account_id = $1 AND scope = $2 AND key = $3",
    )
    .bind(account)
    .bind(key.scope)
    .bind(&key.key)
    .fetch_one(&mut **tx)
    .await?;
    if hash != key.request_hash {
        return Err(StoreError::IdempotencyMismatch);
    }
    Ok(Some(Idempotent::Replayed(body)))
}

async fn save_idempotent_response(
    tx: &mut Tx,
    account: Uuid,
    key: &IdempotencyKey,
    body: Value,
) -> StoreResult<()> {
    // `response_code` (a column of the first schema) stays 0: the caller knows what a replay
    // answers with; the store keeps only the body.
    sqlx::query(
        "UPDATE idempotency_keys SET response_body = $1 \
         WHERE account_id = $2 AND scope = $3 AND key = $4",
    )
    .bind(Json(body))
    .bind(account)
    .bind(key.scope)
    .bind(&key.key)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A ledger transaction header.
struct TxHeader<'a> {
    kind: TransactionKind,
    subscription_id: Option<Uuid>,
    period: Option<(DateTime<Utc>, DateTime<Utc>)>,
    refund_of: Option<Uuid>,
    reference: Option<&'a str>,
    memo: String,
}

/// Books a transaction: its header, one entry per `(account, amount)` and the balances. The
/// entries must sum to zero (checked here, before anything is written).
async fn book(
    tx: &mut Tx,
    header: TxHeader<'_>,
    entries: &[(Uuid, Money)],
    now: DateTime<Utc>,
) -> StoreResult<Uuid> {
    let sum: i64 = entries.iter().map(|(_, m)| m.cents()).sum();
    if sum != 0 {
        return Err(StoreError::Corrupt(format!(
            "unbalanced transaction: entries sum to {sum} cents"
        )));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO ledger_transactions (id, kind, subscription_id, period_start, period_end, refund_of, reference, memo, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(header.kind.as_str())
    .bind(header.subscription_id)
    .bind(header.period.map(|p| p.0))
    .bind(header.period.map(|p| p.1))
    .bind(header.refund_of)
    .bind(header.reference)
    .bind(&header.memo)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(match header.kind {
                TransactionKind::TopUp => "this payment was already credited".into(),
                _ => "this period was already charged or refunded".into(),
            })
        }
        _ => e.into(),
    })?;
    for (account, amount) in entries {
        if *amount == Money::ZERO {
            continue;
        }
        sqlx::query("INSERT INTO ledger_entries (id, transaction_id, account_id, amount_cents, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(Uuid::now_v7())
            .bind(id)
            .bind(account)
            .bind(amount.cents())
            .bind(now)
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE accounts SET balance_cents = balance_cents + $1 WHERE id = $2")
            .bind(amount.cents())
            .bind(account)
            .execute(&mut **tx)
            .await?;
    }
    Ok(id)
}

/// Reserves `amount` from a balance before booking a debit: the conditional update is atomic,
/// so concurrent purchases can never take a balance below zero.
async fn reserve_funds(tx: &mut Tx, account: Uuid, amount: Money) -> StoreResult<()> {
    let done = sqlx::query("UPDATE accounts SET balance_cents = balance_cents - $1 WHERE id = $2 AND balance_cents >= $1")
        .bind(amount.cents())
        .bind(account)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if done == 1 {
        // Give it back: `book` applies the debit entry itself, keeping one code path for balances.
        sqlx::query("UPDATE accounts SET balance_cents = balance_cents + $1 WHERE id = $2")
            .bind(amount.cents())
            .bind(account)
            .execute(&mut **tx)
            .await?;
        return Ok(());
    }
    let balance = fetch_account(tx, account).await?.balance;
    Err(StoreError::InsufficientFunds {
        balance,
        required: amount,
    })
}
