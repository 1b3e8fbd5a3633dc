//! Renewal throughput on PostgreSQL: 100,000 subscriptions due at once, renewed by one billing
//! pass, then (on a fresh database) by two schedulers at once splitting the work. Checks after
//! each run that every subscription was charged exactly once and the ledger sums to zero.
//!
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p scheduler --bench renewals`
//! (`RENEWALS=N` changes the count). A one-shot macro benchmark: seeding 100k subscriptions
//! takes longer than renewing them, so criterion's repeated sampling does not fit.

use std::sync::Arc;
use std::time::Instant;

use chrono::{Months, Utc};
use shared::billing::{PassReport, run_pass};
use shared::config::{DatabaseSettings, Settings};
use shared::store::AccountStore;
use shared::store::postgres::PgStore;
use sqlx::Connection;

async fn fresh_store(base: &str) -> anyhow::Result<(PgStore, String)> {
    let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(base).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await?;
    let url = format!("{}/{name}", base.rsplit_once('/').map_or(base, |(b, _)| b));
    let settings = DatabaseSettings {
        url: url.clone().into(),
        max_connections: 8,
    };
    Ok((PgStore::connect(&settings).await?, url))
}

/// Seeds `n` renters funded through one balanced top-up, 1,000 tools and `n` subscriptions whose
/// first month ended a minute ago.
async fn seed(store: &PgStore, n: i64) -> anyhow::Result<()> {
    let pool = store.pool();
    let anchor = Utc::now() - Months::new(1) - chrono::TimeDelta::minutes(1);
    let paid_through = anchor + Months::new(1);
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO accounts (id, name, kind, balance_cents, created_at) VALUES ('00000000-0000-7000-8000-000000000000', 'creator', 'user', 0, now())")
        .execute(&mut *tx).await?;
    sqlx::query("INSERT INTO accounts (id, name, kind, balance_cents, created_at) SELECT gen_random_uuid(), 'renter ' || i, 'user', 10000, now() FROM generate_series(1, $1) i")
        .bind(n).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO ledger_transactions (id, kind, memo, created_at) VALUES ('00000000-0000-7000-8000-0000000000aa', 'top_up', 'bench funding', now())")
        .execute(&mut *tx).await?;
    sqlx::query("INSERT INTO ledger_entries (id, transaction_id, account_id, amount_cents, created_at) \
                 SELECT gen_random_uuid(), '00000000-0000-7000-8000-0000000000aa', id, 10000, now() FROM accounts WHERE name LIKE 'renter %'")
        .execute(&mut *tx).await?;
    sqlx::query("INSERT INTO ledger_entries (id, transaction_id, account_id, amount_cents, created_at) \
                 VALUES (gen_random_uuid(), '00000000-0000-7000-8000-0000000000aa', '00000000-0000-0000-0000-000000000002', -10000 * $1, now())")
        .bind(n).execute(&mut *tx).await?;
    sqlx::query("UPDATE accounts SET balance_cents = -10000 * $1 WHERE id = '00000000-0000-0000-0000-000000000002'")
        .bind(n).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO tools (id, creator_id, name, description, category, family, price_cents, tier, metadata, current_version, created_at, updated_at) \
                 SELECT gen_random_uuid(), '00000000-0000-7000-8000-000000000000', 'tool ' || i, '', 'trading', 'sma_crossover', 1000, 'basic', '{}', 1, now(), now() FROM generate_series(1, 1000) i")
        .execute(&mut *tx).await?;
    sqlx::query("INSERT INTO tool_versions (tool_id, version, parameters, source, created_at) SELECT id, 1, '{\"fast\": 10, \"slow\": 20}', 'created', now() FROM tools")
        .execute(&mut *tx).await?;
    sqlx::query("INSERT INTO subscriptions (id, tool_id, subscriber_id, tier, status, price_cents, anchor_at, periods_paid, paid_through, auto_renew, cancel_at_period_end, created_at, updated_at) \
                 SELECT gen_random_uuid(), t.id, r.id, 'basic', 'active', 1000, $1, 1, $2, true, false, $1, $1 \
                 FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM accounts WHERE name LIKE 'renter %') r \
                 JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS tn FROM tools) t ON t.tn = r.rn % 1000")
        .bind(anchor).bind(paid_through).execute(&mut *tx).await?;
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
}

async fn verify(store: &PgStore, n: i64, reports: &[PassReport]) -> anyhow::Result<()> {
    let renewed: u64 = reports.iter().map(|r| r.renewed).sum();
    let overlap: u64 = reports.iter().map(|r| r.already_charged).sum();
    let (charges,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'subscription_charge'",
    )
    .fetch_one(store.pool())
    .await?;
    let (dupes,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM (SELECT subscription_id FROM ledger_transactions WHERE kind = 'subscription_charge' GROUP BY subscription_id HAVING COUNT(*) > 1) d")
        .fetch_one(store.pool()).await?;
    let ledger = store.check_ledger().await?;
    println!(
        "  renewed {renewed}, charges {charges}, subscriptions charged twice {dupes}, overlap {overlap}, ledger ok {}",
        ledger.ok
    );
    anyhow::ensure!(
        renewed as i64 == n && charges == n && dupes == 0 && overlap == 0 && ledger.ok,
        "invariants violated"
    );
    Ok(())
}

async fn drop_db(base: &str, url: &str) {
    let name = url.rsplit('/').next().unwrap_or_default().to_owned();
    if let Ok(mut c) = sqlx::PgConnection::connect(base).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .execute(&mut c)
        .await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Ok(base) = std::env::var("DATABASE_URL") else {
        println!("renewals bench: set DATABASE_URL=postgres://... (skipped)");
        return Ok(());
    };
    let n: i64 = std::env::var("RENEWALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let settings = Arc::new(Settings::default());
    println!(
        "renewals bench: {n} due subscriptions, batch {}",
        settings.scheduler.batch_size
    );

    for schedulers in [1usize, 2] {
        let (store, url) = fresh_store(&base).await?;
        let t = Instant::now();
        seed(&store, n).await?;
        println!(
            "{schedulers} scheduler(s): seeded in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        // Each scheduler has its own connection pool, as separate processes would.
        let mut stores = vec![store.clone()];
        for _ in 1..schedulers {
            stores.push(
                PgStore::connect(&DatabaseSettings {
                    url: url.clone().into(),
                    max_connections: 8,
                })
                .await?,
            );
        }
        let now = Utc::now();
        let t = Instant::now();
        let tasks: Vec<_> = stores
            .iter()
            .cloned()
            .map(|s| {
                let settings = settings.clone();
                tokio::spawn(async move { run_pass(&s, &settings, now).await })
            })
            .collect();
        let mut passes = Vec::new();
        for t in tasks {
            passes.push(t.await?);
        }
        let elapsed = t.elapsed();
        let reports: Vec<PassReport> = passes.into_iter().collect::<Result<_, _>>()?;
        println!(
            "  pass: {:.2} s, {:.0} renewals/s, per scheduler {:?}",
            elapsed.as_secs_f64(),
            n as f64 / elapsed.as_secs_f64(),
            reports.iter().map(|r| r.renewed).collect::<Vec<_>>()
        );
        verify(&store, n, &reports).await?;
        drop(stores);
        drop(store);
        drop_db(&base, &url).await;
    }
    Ok(())
}
