//! Subscriptions and their money: subscribe, cancel, renew, expire, invoices.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use domain::{BillingPolicy, Subscription};

use crate::{
    Cancellation, IdempotencyKey, Idempotent, InvoiceLine, NewSubscription, Render, RenewalBatch,
    StoreResult, SubscriptionCreated,
};

/// Subscriptions and billing.
#[async_trait]
pub trait BillingStore: Send + Sync + std::fmt::Debug {
    /// Subscribes, charging the first months up front in one transaction.
    async fn create_subscription(
        &self,
        new: &NewSubscription,
        idempotency: Option<&IdempotencyKey>,
        render: Render<'_, SubscriptionCreated>,
        now: DateTime<Utc>,
    ) -> StoreResult<Idempotent<SubscriptionCreated>>;

    /// A subscription by id.
    async fn subscription(&self, id: Uuid) -> StoreResult<Option<Subscription>>;

    /// A subscriber's subscriptions, newest first.
    async fn list_subscriptions(
        &self,
        subscriber: Uuid,
        live_only: bool,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<Subscription>>;

    /// The live (active or past-due) subscription of a renter to a tool.
    async fn live_subscription(
        &self,
        tool: Uuid,
        subscriber: Uuid,
    ) -> StoreResult<Option<Subscription>>;

    /// Cancels at period end, or now with a pro-rata refund of every charged period not used.
    async fn cancel_subscription(
        &self,
        id: Uuid,
        immediate: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Cancellation>;

    /// Expires live subscriptions whose paid periods ended and that will not renew: not
    /// auto-renewing, canceled at period end, or of a deleted tool; and past-due ones whose
    /// grace ended. Returns how many.
    async fn expire_lapsed_subscriptions(&self, now: DateTime<Utc>) -> StoreResult<u64>;

    /// Renews up to `limit` due subscriptions (period over and renewing, or past due with a
    /// retry due) in one transaction: each is charged its next period exactly once (the charge
    /// of a period is unique in the ledger), or goes past due under `policy`. On PostgreSQL the
    /// batch is claimed with `FOR UPDATE SKIP LOCKED`, so concurrent schedulers split the work.
    async fn renew_due_subscriptions(
        &self,
        now: DateTime<Utc>,
        policy: &BillingPolicy,
        creator_share_bps: u32,
        limit: i64,
    ) -> StoreResult<RenewalBatch>;

    /// The first instant after `after` at which a billing pass has something to do.
    async fn next_billing_event(&self, after: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>>;

    /// Turns auto-renewal on (which also withdraws a pending cancellation) or off.
    async fn set_auto_renew(
        &self,
        id: Uuid,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Subscription>;

    /// Every charge and refund of a subscription, oldest first.
    async fn invoices(&self, subscription: Uuid) -> StoreResult<Vec<InvoiceLine>>;
}
