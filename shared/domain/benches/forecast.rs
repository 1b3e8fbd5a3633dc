//! The revenue and demand forecast (criterion): `domain::forecast::forecast`, the function the
//! forecast routes run in `spawn_blocking`, on deterministic synthetic marketplaces.
//!
//! - `forecast/marketplace_200x10000`: 200 tools, 10,000 subscriptions created over the 2 years
//!   before `now`, monthly renewals with churn, failed renewals (recovered or lost), horizon 12
//!   months; `forecast/revenue_200x10000` and `forecast/demand_200x10000` are its two halves.
//! - `forecast/creator_5x200`: a small creator, 5 tools and 200 subscriptions, the same rules.
//!
//! The inputs come from an LCG (no generator crate), so every run forecasts the same history;
//! `scripts/peers/bench_forecast.py` rebuilds the same weekly demand series for the peer.
//!
//! Run: `cargo bench -p domain --bench forecast`.

use std::hint::black_box;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use domain::forecast::revenue::{ChargeEvent, FailureEvent, forecast_revenue};
use domain::forecast::{
    ForecastInputs, ForecastScope, SubscriptionHistory, ToolHistory, demand::forecast_demand,
    forecast,
};
use domain::period::period_start;
use domain::{Money, Subscription, SubscriptionStatus, Tier};
use uuid::Uuid;

/// Months forecast.
const HORIZON: u32 = 12;
/// Days of history.
const HISTORY_DAYS: i64 = 730;

/// A 64-bit LCG (Knuth's MMIX constants).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 11
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 53) as f64
    }
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2028-01-01T00:00:00Z")
        .expect("valid literal")
        .with_timezone(&Utc)
}

/// A marketplace of `tools` tools (listed in the first 8 weeks of the 2 years) and
/// `subscriptions` subscriptions, tool popularity ~ 1/rank, created uniformly over the 2 years;
/// each renewal is paid (90%), paid after a failure (3%), lost after a failure (2%) or churned.
fn marketplace(tools: usize, subscriptions: usize) -> ForecastInputs {
    let now = now();
    let start = now - TimeDelta::days(HISTORY_DAYS);
    let mut rng = Lcg(0x9E37_79B9_7F4A_7C15);
    let mut histories: Vec<ToolHistory> = (0..tools)
        .map(|i| ToolHistory {
            tool_id: Uuid::from_u128(i as u128 + 1),
            tool_name: format!("tool-{i:03}"),
            listed_at: start + TimeDelta::hours((rng.next() % (8 * 7 * 24)) as i64),
            subscribed_at: Vec::new(),
        })
        .collect();
    let weights: Vec<f64> = (1..=tools).map(|r| 1.0 / r as f64).collect();
    let total: f64 = weights.iter().sum();
    let mut subs = Vec::with_capacity(subscriptions);
    for i in 0..subscriptions {
        let mut pick = rng.unit() * total;
        let tool = weights
            .iter()
            .position(|w| {
                pick -= w;
                pick < 0.0
            })
            .unwrap_or(tools - 1);
        let listed = histories[tool].listed_at;
        let span = (now - listed).num_seconds();
        let created = listed + TimeDelta::seconds((rng.next() % span as u64) as i64);
        histories[tool].subscribed_at.push(created);
        subs.push(subscription(i, &histories[tool], created, &mut rng, now));
    }
    ForecastInputs {
        subscriptions: subs,
        tools: histories,
    }
}

/// One subscription's history up to `now`.
fn subscription(
    i: usize,
    tool: &ToolHistory,
    created: DateTime<Utc>,
    rng: &mut Lcg,
    now: DateTime<Utc>,
) -> SubscriptionHistory {
    let price = Money::from_cents(1_000 + 500 * (rng.next() % 9) as i64);
    let first = ChargeEvent {
        period_start: created,
        booked_at: created,
        amount: price,
    };
    let (mut charges, mut failures) = (vec![first], Vec::new());
    let (mut status, mut ended_at) = (SubscriptionStatus::Active, None);
    let mut k = 1;
    loop {
        let due = period_start(created, k);
        if due >= now {
            break;
        }
        let u = rng.unit();
        if u < 0.90 {
            charges.push(ChargeEvent {
                period_start: due,
                booked_at: due,
                amount: price,
            });
        } else if u < 0.95 {
            failures.push(FailureEvent {
                period_start: due,
                failed_at: due,
            });
            let retry = due + TimeDelta::days(3);
            if u < 0.93 && retry < now {
                charges.push(ChargeEvent {
                    period_start: due,
                    booked_at: retry,
                    amount: price,
                });
            } else {
                let end = due + TimeDelta::days(7);
                if end < now {
                    (status, ended_at) = (SubscriptionStatus::Expired, Some(end));
                } else {
                    status = SubscriptionStatus::PastDue;
                }
                break;
            }
        } else {
            (status, ended_at) = (SubscriptionStatus::Canceled, Some(due));
            break;
        }
        k += 1;
    }
    let periods_paid = charges.len() as u32;
    let paid_through = period_start(created, periods_paid);
    let past_due = status == SubscriptionStatus::PastDue;
    SubscriptionHistory {
        subscription: Subscription {
            id: Uuid::from_u128(1 << 64 | i as u128),
            tool_id: tool.tool_id,
            subscriber_id: Uuid::from_u128(2 << 64 | i as u128),
            tier: Tier::Basic,
            status,
            price,
            anchor_at: created,
            periods_paid,
            auto_renew: true,
            cancel_at_period_end: false,
            created_at: created,
            updated_at: ended_at.unwrap_or(created),
            ended_at,
            grace_until: past_due.then(|| paid_through + TimeDelta::days(7)),
            next_retry_at: past_due.then(|| paid_through + TimeDelta::days(3)),
            retry_count: 0,
        },
        charges,
        failures,
    }
}

/// Prints what the peer script prints for the same inputs (to check it rebuilt them).
fn describe(inputs: &ForecastInputs) {
    let charges: usize = inputs.subscriptions.iter().map(|h| h.charges.len()).sum();
    let failures: usize = inputs.subscriptions.iter().map(|h| h.failures.len()).sum();
    let mut top: Vec<usize> = inputs.tools.iter().map(|t| t.subscribed_at.len()).collect();
    top.sort_unstable_by(|a, b| b.cmp(a));
    top.truncate(3);
    eprintln!(
        "inputs: {} subscriptions, {charges} charges, {failures} failures, top tools' \
         subscriptions {top:?}",
        inputs.subscriptions.len()
    );
}

fn forecasts(c: &mut Criterion) {
    let now = now();
    let mut group = c.benchmark_group("forecast");
    group.sample_size(10);
    let big = marketplace(200, 10_000);
    describe(&big);
    group.bench_function("marketplace_200x10000", |b| {
        b.iter(|| forecast(black_box(&big), ForecastScope::Marketplace, now, HORIZON));
    });
    group.bench_function("revenue_200x10000", |b| {
        b.iter(|| forecast_revenue(black_box(&big.subscriptions), now, HORIZON));
    });
    group.bench_function("demand_200x10000", |b| {
        b.iter(|| forecast_demand(black_box(&big.tools), now, HORIZON));
    });
    let small = marketplace(5, 200);
    describe(&small);
    group.bench_function("creator_5x200", |b| {
        b.iter(|| forecast(black_box(&small), ForecastScope::Creator, now, HORIZON));
    });
    group.finish();
}

criterion_group!(benches, forecasts);
criterion_main!(benches);
