//! A scheduler SIGKILLed in the middle of a billing pass that two schedulers share: after the
//! other one finishes, every subscription is charged exactly once for the period that came
//! due (its first month and one renewal), and the ledger balances.

use std::time::{Duration, Instant};

use chrono::{Months, TimeDelta, Utc};
use futures::StreamExt;
use serde_json::{Value, json};
use shared::domain::payments::{PaymentProvider, SandboxPaymentProvider, payment_id};
use shared::domain::{Money, Tier, TransactionKind};
use shared::store::{
    AccountStore, BillingStore, Idempotent, NewApiKey, NewSubscription, NewTool, ToolStore,
};
use tests::ADMIN_KEY;
use uuid::Uuid;

use super::fleet::{Cluster, wait_until};

/// Subscriptions due at once: with batches of one, a pass of a few seconds for two schedulers
/// (about 450 renewals a second on a busy two-core machine; 600 were once done within 1.5 s).
const SUBSCRIPTIONS: usize = 1_500;

fn key() -> NewApiKey {
    NewApiKey {
        hash: format!("cluster-{}", Uuid::new_v4()),
        prefix: "mk_test".into(),
    }
}

/// Renters, each with one subscription to one tool that started a month and a minute ago: all
/// due for renewal now. Through the store, since the API would start them now.
async fn seed(cluster: &Cluster) -> Vec<Uuid> {
    let store = cluster.store.clone();
    let start = Utc::now() - Months::new(1) - TimeDelta::minutes(1);
    let creator = store
        .create_account("creator", &key(), start)
        .await
        .expect("creator");
    let tool = NewTool {
        creator_id: creator.id,
        name: "renewed".into(),
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
    };
    let tool = store.create_tool(&tool, start).await.expect("tool").id;
    let creator = creator.id;
    futures::stream::iter(0..SUBSCRIPTIONS)
        .map(|i| {
            let store = store.clone();
            async move {
                let renter = store
                    .create_account(&format!("renter {i}"), &key(), start)
                    .await
                    .expect("renter");
                let receipt = SandboxPaymentProvider
                    .collect(
                        renter.id,
                        Money::from_cents(5_000),
                        payment_id(renter.id, None),
                    )
                    .expect("sandbox credit");
                store
                    .top_up(renter.id, &receipt, None, &|_| Value::Null, start)
                    .await
                    .expect("top up");
                let new = NewSubscription {
                    tool_id: tool,
                    creator_id: creator,
                    subscriber_id: renter.id,
                    tier: Tier::Basic,
                    price: Money::from_cents(1_000),
                    months: 1,
                    auto_renew: true,
                    creator_share_bps: 8_000,
                };
                match store
                    .create_subscription(&new, None, &|_| Value::Null, start)
                    .await
                    .expect("subscribe")
                {
                    Idempotent::New(c) => c.subscription.id,
                    Idempotent::Replayed { .. } => unreachable!("no idempotency key"),
                }
            }
        })
        .buffer_unordered(8)
        .collect()
        .await
}

async fn renewals(cluster: &Cluster) -> usize {
    let (charges,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'subscription_charge'",
    )
    .fetch_one(cluster.store.pool())
    .await
    .expect("count charges");
    usize::try_from(charges).expect("a count") - SUBSCRIPTIONS
}

/// Renewals a scheduler reported in the passes it completed (`billing pass` log lines).
fn reported_renewals(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("billing pass"))
        .filter_map(|l| {
            let rest = &l[l.find("renewed: ")? + "renewed: ".len()..];
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum()
}

/// Runs the phase; returns the name of the scheduler it killed.
pub(super) async fn scheduler_killed_mid_pass(cluster: &mut Cluster) -> String {
    // Arrange
    let seeding = Instant::now();
    let subs = seed(cluster).await;
    eprintln!(
        "cluster: {SUBSCRIPTIONS} subscriptions seeded in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    assert_eq!(renewals(cluster).await, 0, "seeded: one charge each");

    // Act: two schedulers share the pass; one is killed while work is left.
    cluster
        .spawn_schedulers(&["scheduler-1", "scheduler-2"])
        .await;
    // Cron ticks fall on whole seconds: by then both have started a pass.
    let both_ticked = Instant::now() + Duration::from_millis(1_100);
    let mut at_kill = 0;
    wait_until(60, "the pass is under way", async || {
        at_kill = renewals(cluster).await;
        assert!(
            at_kill < SUBSCRIPTIONS,
            "the pass outlasts the wait for both schedulers to tick: raise SUBSCRIPTIONS"
        );
        at_kill > 0 && Instant::now() >= both_ticked
    })
    .await;
    cluster.process("scheduler-1").sigkill();
    let killed = Instant::now();
    wait_until(120, "the other scheduler finishes the pass", async || {
        renewals(cluster).await >= SUBSCRIPTIONS
    })
    .await;
    eprintln!(
        "cluster: scheduler-1 killed at {at_kill} of {SUBSCRIPTIONS} renewals; \
         scheduler-2 finished {:.1} s later",
        killed.elapsed().as_secs_f64()
    );
    // Two more ticks of the survivor: a period charged twice would show now.
    let until = Instant::now() + Duration::from_secs(2);
    wait_until(10, "two more ticks", async || Instant::now() >= until).await;

    // Assert
    let by_survivor = reported_renewals(&cluster.process("scheduler-2").log());
    let by_victim = reported_renewals(&cluster.process("scheduler-1").log());
    assert!(
        by_survivor + by_victim < SUBSCRIPTIONS,
        "the killed scheduler renewed subscriptions in a pass it never finished (passes \
         reported {by_survivor} + {by_victim} of {SUBSCRIPTIONS}; {at_kill} done at the kill)"
    );
    assert_eq!(renewals(cluster).await, SUBSCRIPTIONS, "one renewal each");
    for id in &subs {
        let lines = cluster.store.invoices(*id).await.expect("invoices");
        let charges: Vec<_> = lines
            .iter()
            .filter(|l| l.kind == TransactionKind::SubscriptionCharge)
            .collect();
        assert_eq!(
            charges.len(),
            2,
            "subscription {id}: its first month and one renewal, each once: {lines:?}"
        );
        assert_eq!(
            charges[1].period_start, charges[0].period_end,
            "the renewal pays the next period"
        );
    }
    let check = cluster.store.check_ledger().await.expect("ledger check");
    assert!(check.ok, "the ledger balances: {check:?}");
    let body = cluster.apis[1]
        .get("/v1/admin/ledger/check", ADMIN_KEY)
        .await
        .expect(200);
    assert_eq!(body["ok"], json!(true), "admin ledger check: {body}");
    assert_eq!(body["total"], json!(0.0), "{body}");
    "scheduler-1".to_owned()
}
