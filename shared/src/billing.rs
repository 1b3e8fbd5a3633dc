//! The billing pass: expire what lapsed, renew what is due (charging each period exactly once),
//! retry past-due charges, and expire what ran out of grace. Every step is idempotent, so a pass
//! may be repeated, run by several schedulers at once, or killed halfway and run again.
//!
//! [`advance_clock`] walks a manual clock to a target instant through every billing event on
//! the way (like Stripe's test clocks), running the pass due at each.

use chrono::{DateTime, Utc};

use crate::clock::{Clock, ManualClock};
use crate::config::Settings;
use crate::store::{BillingStore, RenewalBatch, StoreResult};

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct PassReport {
    /// Subscriptions expired.
    pub expired: u64,
    /// Periods renewed (charged, or extended for free).
    pub renewed: u64,
    /// Past-due subscriptions paid by a retry.
    pub recovered: u64,
    /// Charges that failed (balance short).
    pub failed: u64,
    /// Periods found already charged (repeated or concurrent passes).
    pub already_charged: u64,
    /// Renewal batches (transactions) used.
    pub batches: u64,
}

impl PassReport {
    fn add(&mut self, b: RenewalBatch) {
        self.renewed += b.renewed;
        self.recovered += b.recovered;
        self.failed += b.failed;
        self.already_charged += b.already_charged;
        self.batches += 1;
    }

    /// Adds another report's counts.
    pub fn merge(&mut self, other: PassReport) {
        self.expired += other.expired;
        self.renewed += other.renewed;
        self.recovered += other.recovered;
        self.failed += other.failed;
        self.already_charged += other.already_charged;
        self.batches += other.batches;
    }
}

/// Runs one billing pass at `now`. Renewal batches repeat until nothing is due, so a pass that
/// finds a subscription several periods behind brings it up to date.
///
/// # Errors
/// A store failure; whatever committed before it stays done, and the next pass continues.
pub async fn run_pass(
    store: &dyn BillingStore,
    settings: &Settings,
    now: DateTime<Utc>,
) -> StoreResult<PassReport> {
    let policy = settings.billing.policy();
    let limit = i64::from(settings.scheduler.batch_size);
    let mut report = PassReport::default();
    // Renewals and retries first: a retry due at the very end of grace still gets its chance.
    loop {
        let batch = store
            .renew_due_subscriptions(now, &policy, settings.billing.creator_share_bps, limit)
            .await?;
        if batch.claimed == 0 {
            break;
        }
        report.add(batch);
        if batch.renewed + batch.failed == 0 {
            // Claimed but nothing changed: leave it to the next pass rather than spin.
            break;
        }
    }
    report.expired = store.expire_lapsed_subscriptions(now).await?;
    Ok(report)
}

/// Moves `clock` forward to `target`, stopping at every billing event on the way (period ends,
/// retries, grace ends) to run the pass due then, so a year walked in one call bills exactly as
/// a year lived. Refuses to move backwards.
///
/// # Errors
/// A store failure; the clock stays at the last event processed.
pub async fn advance_clock(
    store: &dyn BillingStore,
    settings: &Settings,
    clock: &ManualClock,
    target: DateTime<Utc>,
) -> StoreResult<PassReport> {
    let mut report = PassReport::default();
    while let Some(at) = store
        .next_billing_event(clock.now())
        .await?
        .filter(|t| *t <= target)
    {
        clock.set(at);
        report.merge(run_pass(store, settings, at).await?);
    }
    if target > clock.now() {
        clock.set(target);
    }
    report.merge(run_pass(store, settings, clock.now()).await?);
    Ok(report)
}
