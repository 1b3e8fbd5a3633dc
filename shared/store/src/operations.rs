//! Inputs and outputs of store operations that are not domain entities themselves.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use domain::dataset::stats::{ReturnStats, frequency};
use domain::dataset::{Bars, codec, content_hash};
use domain::{Account, DatasetSource, Money, Subscription, Tier, TransactionKind};

/// A freshly generated API key, as the store keeps it (never the key itself).
#[derive(Clone, Debug)]
pub struct NewApiKey {
    /// SHA-256 of the key, hex.
    pub hash: String,
    /// The first characters of the key, to recognise it in listings.
    pub prefix: String,
}

/// An `Idempotency-Key` of a request that moves money.
#[derive(Clone, Debug)]
pub struct IdempotencyKey {
    /// The operation (`subscribe`, `top_up`): a key is scoped to the caller and the operation.
    pub scope: &'static str,
    /// The caller's key.
    pub key: String,
    /// Hash of the request body: the same key with another body is refused.
    pub request_hash: String,
}

/// The outcome of an idempotent operation.
#[derive(Clone, Debug)]
pub enum Idempotent<T> {
    /// Done now.
    New(T),
    /// Done before under the same key: the first answer, verbatim, as the caller's
    /// `Render` made it (the store keeps it without reading it).
    Replayed(Value),
}

/// Credit booked to an account.
#[derive(Clone, Debug)]
pub struct TopUp {
    /// The account after the credit.
    pub account: Account,
    /// The ledger transaction.
    pub transaction_id: Uuid,
    /// The amount credited.
    pub amount: Money,
    /// The payment provider's reference.
    pub reference: String,
}

/// What a subscription needs at creation (checked by the caller).
#[derive(Clone, Debug)]
pub struct NewSubscription {
    /// The tool.
    pub tool_id: Uuid,
    /// The tool's creator, who earns the creator share.
    pub creator_id: Uuid,
    /// The renter (the caller).
    pub subscriber_id: Uuid,
    /// Tier.
    pub tier: Tier,
    /// Locked price per month at that tier.
    pub price: Money,
    /// Months charged up front (1..=12).
    pub months: u32,
    /// Renew when the paid months end.
    pub auto_renew: bool,
    /// Creator share in basis points.
    pub creator_share_bps: u32,
}

/// One charged period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    /// The ledger transaction.
    pub transaction_id: Uuid,
    /// Start of the period paid for.
    pub period_start: DateTime<Utc>,
    /// End of the period paid for.
    pub period_end: DateTime<Utc>,
    /// Amount paid by the renter.
    pub amount: Money,
    /// Creator's part.
    pub creator_amount: Money,
    /// Platform's part.
    pub platform_amount: Money,
}

/// A new subscription with what it cost.
#[derive(Clone, Debug)]
pub struct SubscriptionCreated {
    /// The subscription.
    pub subscription: Subscription,
    /// One charge per prepaid month (none for the free tier).
    pub charges: Vec<Charge>,
}

/// Money given back for the unused part of a charged period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    /// The refund's ledger transaction.
    pub transaction_id: Uuid,
    /// The charge it gives back part of.
    pub refund_of: Uuid,
    /// Start of that period.
    pub period_start: DateTime<Utc>,
    /// End of that period.
    pub period_end: DateTime<Utc>,
    /// Amount back to the renter.
    pub amount: Money,
}

/// The outcome of a cancellation.
#[derive(Clone, Debug)]
pub struct Cancellation {
    /// The subscription after the change.
    pub subscription: Subscription,
    /// Refunds booked (immediate cancellation only).
    pub refunds: Vec<Refund>,
}

/// What one renewal batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenewalBatch {
    /// Subscriptions examined (claimed) in the batch.
    pub claimed: u64,
    /// Periods charged (or extended for free) now.
    pub renewed: u64,
    /// Of those, past-due subscriptions recovered by a retry.
    pub recovered: u64,
    /// Renewals that could not be charged (now past due, or a retry failed).
    pub failed: u64,
    /// Periods found already charged (a crash or another scheduler got there first).
    pub already_charged: u64,
}

/// One charge or refund of a subscription, from the subscriber's side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceLine {
    /// The ledger transaction.
    pub transaction_id: Uuid,
    /// Charge or refund.
    pub kind: TransactionKind,
    /// Period paid for (or refunded).
    pub period_start: DateTime<Utc>,
    /// End of that period.
    pub period_end: DateTime<Utc>,
    /// Paid by the subscriber (negative for a refund).
    pub amount: Money,
    /// When it was booked.
    pub created_at: DateTime<Utc>,
}

/// What one owner may keep in datasets.
#[derive(Clone, Copy, Debug)]
pub struct DatasetLimits {
    /// Most datasets of one owner.
    pub max_count: i64,
    /// Most bytes of stored bars of one owner.
    pub max_bytes: i64,
}

impl DatasetLimits {
    /// No limit (tools and tests that store data for themselves).
    pub const NONE: Self = Self {
        max_count: i64::MAX,
        max_bytes: i64::MAX,
    };
}

/// A dataset to store: its summary, computed from the bars, and the bars' encoding.
#[derive(Clone, Debug)]
pub struct NewDataset {
    /// The owner (the caller).
    pub owner_id: Uuid,
    /// Display name.
    pub name: String,
    /// Upload or generator.
    pub source: DatasetSource,
    /// Number of bars.
    pub rows: u64,
    /// First bar time.
    pub start: DateTime<Utc>,
    /// Last bar time.
    pub end: DateTime<Utc>,
    /// Frequency label.
    pub frequency: String,
    /// Bars per year.
    pub periods_per_year: f64,
    /// Return statistics.
    pub stats: ReturnStats,
    /// Hex SHA-256 of `data`.
    pub content_hash: String,
    /// The bars, encoded by [`codec::encode`].
    pub data: Vec<u8>,
}

impl NewDataset {
    /// Summarizes and encodes valid bars (CPU work: call it off the async threads for big
    /// sets). `None` with fewer than two bars or times outside the calendar.
    pub fn from_bars(
        owner_id: Uuid,
        name: String,
        source: DatasetSource,
        bars: &Bars,
    ) -> Option<Self> {
        let start = DateTime::from_timestamp(*bars.time.first()?, 0)?;
        let end = DateTime::from_timestamp(*bars.time.last()?, 0)?;
        let periods_per_year = bars.periods_per_year()?;
        let data = codec::encode(bars);
        Some(Self {
            owner_id,
            name,
            source,
            rows: bars.len() as u64,
            start,
            end,
            frequency: frequency(bars),
            periods_per_year,
            stats: ReturnStats::of(bars),
            content_hash: content_hash(&data),
            data,
        })
    }
}
