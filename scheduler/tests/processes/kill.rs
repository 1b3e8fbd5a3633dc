//! A scheduler process killed with SIGKILL in the middle of a billing run, then restarted:
//! no subscription is charged twice, none is missed, and the ledger still sums to zero. Runs
//! on SQLite, and on PostgreSQL when `DATABASE_URL` points at one.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Months, TimeDelta, Utc};
use serde_json::Value;
use shared::config::DatabaseSettings;
use shared::domain::{Money, Tier};
use shared::store::{NewApiKey, NewSubscription, NewTool, Store};
use sqlx::Connection;

const SUBSCRIPTIONS: usize = 1_500;

fn start(url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_marketplace-scheduler"))
        .env("DATABASE_URL", url)
        .env("MARKETPLACE_SCHEDULER_CRON", "* * * * * *")
        .env("MARKETPLACE_SCHEDULER_BATCH_SIZE", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("scheduler starts")
}

async fn charges(store: &dyn Store, subs: &[uuid::Uuid]) -> Vec<usize> {
    let mut out = Vec::with_capacity(subs.len());
    for id in subs {
        out.push(store.invoices(*id).await.expect("invoices").len());
    }
    out
}

async fn seed(store: &Arc<dyn Store>) -> Vec<uuid::Uuid> {
    // Subscriptions started a month and a minute ago: their renewal is due now.
    let start = Utc::now() - Months::new(1) - TimeDelta::minutes(1);
    let key = |i: usize| NewApiKey {
        hash: format!("hash-{i}-{}", uuid::Uuid::new_v4()),
        prefix: "mk_test".into(),
    };
    let creator = store
        .create_account("creator", &key(0), start)
        .await
        .expect("creator");
    let tool = store
        .create_tool(
            &NewTool {
                creator_id: creator.id,
                name: "t".into(),
                description: String::new(),
                category: "trading".into(),
                family: "sma_crossover".into(),
                monthly_price: Money::from_cents(1_000),
                tier: Tier::Basic,
                parameters: serde_json::Map::new(),
                metadata: serde_json::Map::new(),
                standards: None,
                auto_promote: false,
                reference_dataset_id: None,
            },
            start,
        )
        .await
        .expect("tool");
    let provider = shared::payments::SandboxPaymentProvider;
    let mut subs = Vec::new();
    let render = |_: &_| Value::Null;
    let render_top_up = |_: &_| Value::Null;
    for i in 0..SUBSCRIPTIONS {
        let renter = store
            .create_account("renter", &key(i + 1), start)
            .await
            .expect("renter");
        let receipt = shared::payments::PaymentProvider::collect(
            &provider,
            renter.id,
            Money::from_cents(5_000),
            shared::payments::payment_id(renter.id, None),
        )
        .expect("credit");
        store
            .top_up(renter.id, &receipt, None, &render_top_up, start)
            .await
            .expect("top up");
        let new = NewSubscription {
            tool_id: tool.id,
            creator_id: creator.id,
            subscriber_id: renter.id,
            tier: Tier::Basic,
            price: Money::from_cents(1_000),
            months: 1,
            auto_renew: true,
            creator_share_bps: 8_000,
        };
        match store
            .create_subscription(&new, None, &render, start)
            .await
            .expect("subscribe")
        {
            shared::store::Idempotent::New(c) => subs.push(c.subscription.id),
            shared::store::Idempotent::Replayed { .. } => unreachable!("no idempotency key"),
        }
    }
    subs
}

async fn kill_and_restart(url: &str) {
    // Arrange
    let store = shared::store::connect(&DatabaseSettings {
        url: url.to_owned().into(),
        max_connections: 4,
    })
    .await
    .expect("store");
    let subs = seed(&store).await;
    assert!(charges(store.as_ref(), &subs).await.iter().all(|c| *c == 1));

    // Act: start, let it renew part of the backlog, SIGKILL it, restart it.
    let mut first = start(url);
    let deadline = Instant::now() + Duration::from_secs(60);
    // Initially one top-up and one charge per renter; each renewal adds one transaction.
    let initial = store.check_ledger().await.expect("ledger").transactions;
    let partial = loop {
        let done = store.check_ledger().await.expect("ledger").transactions - initial;
        if done > 0 || Instant::now() > deadline {
            break done;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let after_kill = charges(store.as_ref(), &subs)
        .await
        .iter()
        .filter(|c| **c == 2)
        .count();
    let mut second = start(url);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if charges(store.as_ref(), &subs).await.iter().all(|c| *c >= 2) || Instant::now() > deadline
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give a duplicate every chance to appear before looking.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    second.kill().expect("stop");
    second.wait().expect("reaped");

    // Assert
    assert!(
        partial > 0,
        "the first scheduler started renewing before it was killed"
    );
    assert!(
        after_kill < SUBSCRIPTIONS,
        "it was killed with work left ({after_kill} of {SUBSCRIPTIONS} done)"
    );
    let counts = charges(store.as_ref(), &subs).await;
    assert!(
        counts.iter().all(|c| *c == 2),
        "every subscription charged exactly once for its renewal: {:?}",
        counts.iter().filter(|c| **c != 2).collect::<Vec<_>>()
    );
    let ledger = store.check_ledger().await.expect("ledger check");
    assert!(ledger.ok, "ledger sums to zero: {ledger:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_then_restart_charges_each_period_once_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    kill_and_restart(&format!(
        "sqlite://{}",
        dir.path().join("kill.db").display()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_then_restart_charges_each_period_once_on_postgres() {
    let base = match std::env::var("DATABASE_URL") {
        Ok(u) if u.starts_with("postgres") => u,
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true requires DATABASE_URL=postgres://..."
            );
            eprintln!("SKIPPED (PostgreSQL): set DATABASE_URL=postgres://...");
            return;
        }
    };
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .expect("PostgreSQL reachable");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .expect("create db");
    let url = format!(
        "{}/{name}",
        base.rsplit_once('/').map_or(base.as_str(), |(b, _)| b)
    );
    kill_and_restart(&url).await;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await;
}
