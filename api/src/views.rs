//! JSON representations of domain objects, as every route shows them. Money is a decimal
//! number of currency units (29.99), times are RFC 3339 UTC, ids are UUIDs.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use shared::domain::{
    Account, LedgerEntry, Money, Subscription, SubscriptionStatus, Tier, Tool, ToolVersion,
    TransactionKind,
};
use shared::standards::StandardsConfig;
use shared::store::{Charge, Refund};
use utoipa::ToSchema;
use uuid::Uuid;

mod reviews;
mod sessions;
mod trainings;

pub use reviews::{RatingView, ReviewView};
pub use sessions::{FoldMetrics, RecordView, SessionToolView, SessionView};
pub use trainings::{TrainingPartView, TrainingView};

/// An account.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Balance (sum of the account's ledger entries).
    #[schema(value_type = f64, example = 100.0)]
    pub balance: Money,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id,
            name: a.name.clone(),
            balance: a.balance,
            created_at: a.created_at,
        }
    }
}

/// A tool.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolView {
    /// Id.
    pub id: Uuid,
    /// Creator's account id.
    pub creator_id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Category.
    pub category: String,
    /// Family.
    pub family: String,
    /// Monthly price at the basic tier.
    #[schema(value_type = f64, example = 29.99)]
    pub monthly_price: Money,
    /// Lowest tier it can be rented at.
    pub tier: Tier,
    /// Parameters of the current version.
    #[schema(value_type = Object)]
    pub parameters: Map<String, Value>,
    /// Creator's metadata.
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    /// Current version number.
    pub version: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Set when the creator deleted it (shown to the creator and current subscribers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    /// The standards gate promotions of this tool must pass (the creator's, else the defaults).
    pub standards: StandardsConfig,
    /// Passed records of ending sessions are promoted at once (through the same re-check).
    pub auto_promote: bool,
    /// The creator's dataset every promotion must also pass on.
    pub reference_dataset_id: Option<Uuid>,
    /// The learned artifact (network weights, Q-table) the current version evaluates with.
    pub artifact_id: Option<Uuid>,
    /// Its visible reviews, added up.
    pub rating: RatingView,
}

impl From<&Tool> for ToolView {
    fn from(t: &Tool) -> Self {
        Self {
            id: t.id,
            creator_id: t.creator_id,
            name: t.name.clone(),
            description: t.description.clone(),
            category: t.category.clone(),
            family: t.family.clone(),
            monthly_price: t.monthly_price,
            tier: t.tier,
            parameters: t.parameters.clone(),
            metadata: t.metadata.clone(),
            version: t.current_version,
            created_at: t.created_at,
            updated_at: t.updated_at,
            deleted_at: t.deleted_at,
            standards: t.standards(),
            auto_promote: t.auto_promote,
            reference_dataset_id: t.reference_dataset_id,
            artifact_id: t.artifact_id,
            rating: RatingView::from(t.rating),
        }
    }
}

/// One version of a tool.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    /// Version number.
    pub version: i32,
    /// Parameters.
    #[schema(value_type = Object)]
    pub parameters: Map<String, Value>,
    /// Why it exists (`created`, `updated`, `promotion`, `rollback`, `training`).
    pub source: String,
    /// Where it came from: a promotion's record, session, dataset hash, seed and re-check
    /// report; a rollback's restored version.
    #[schema(value_type = Option<Object>)]
    pub lineage: Option<Value>,
    /// The learned artifact the engine loads when evaluating this version.
    pub artifact_id: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// Lineage members anyone who sees the tool may read: how a version was made, not from whose
/// data. Everything else (a promotion's record, session, renter's dataset hash and gate report
/// with its figures on that data; a training's run and data) is for the tool's creator, and a
/// renter's session and dataset hash for nobody but that renter.
const PUBLIC_LINEAGE: &[&str] = &[
    "seed",
    "method",
    "trials_run",
    "promoted_by",
    "previous_version",
    "base_version",
    "improvement",
    "certificate",
    "rollback_of",
    "validation_score",
];

/// Lineage members that come from a renter's private session.
const RENTER_LINEAGE: &[&str] = &["session_id", "dataset_hash"];

impl VersionView {
    /// A version as `creator` (whether the caller created the tool) may see it.
    pub fn for_viewer(v: &ToolVersion, creator: bool) -> Self {
        let lineage = v.lineage.as_ref().map(|l| match l.as_object() {
            Some(members) => Value::Object(
                members
                    .iter()
                    .filter(|(k, _)| {
                        if creator {
                            v.source != "promotion" || !RENTER_LINEAGE.contains(&k.as_str())
                        } else {
                            PUBLIC_LINEAGE.contains(&k.as_str())
                        }
                    })
                    .map(|(k, val)| (k.clone(), val.clone()))
                    .collect(),
            ),
            None => l.clone(),
        });
        Self {
            version: v.version,
            parameters: v.parameters.clone(),
            source: v.source.clone(),
            lineage,
            artifact_id: v.artifact_id,
            created_at: v.created_at,
        }
    }
}

/// A subscription as of a given instant.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    /// Id.
    pub id: Uuid,
    /// The tool.
    pub tool_id: Uuid,
    /// The subscriber.
    pub subscriber_id: Uuid,
    /// Tier.
    pub tier: Tier,
    /// Status.
    pub status: SubscriptionStatus,
    /// Start of the period in force.
    pub current_period_start: DateTime<Utc>,
    /// End of the period in force.
    pub current_period_end: DateTime<Utc>,
    /// End of the last paid period.
    pub paid_through: DateTime<Utc>,
    /// Renews at the end of the paid periods.
    pub auto_renew: bool,
    /// Ends at the end of the paid periods.
    pub cancel_at_period_end: bool,
    /// Locked price per month.
    #[schema(value_type = f64, example = 74.98)]
    pub price: Money,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When access ended, if it has.
    pub ended_at: Option<DateTime<Utc>>,
    /// When access ends unless renewed or paid (the end of grace when past due).
    pub access_until: DateTime<Utc>,
    /// Past due: when the charge is retried next.
    pub next_retry_at: Option<DateTime<Utc>>,
}

impl SubscriptionView {
    /// The view of `s` at `now`.
    pub fn at(s: &Subscription, now: DateTime<Utc>) -> Self {
        let (current_period_start, current_period_end) = s.current_period(now);
        Self {
            id: s.id,
            tool_id: s.tool_id,
            subscriber_id: s.subscriber_id,
            tier: s.tier,
            status: s.status,
            current_period_start,
            current_period_end,
            paid_through: s.paid_through(),
            auto_renew: s.auto_renew,
            cancel_at_period_end: s.cancel_at_period_end,
            price: s.price,
            created_at: s.created_at,
            ended_at: s.ended_at,
            access_until: s.access_until(),
            next_retry_at: s.next_retry_at,
        }
    }
}

/// One charged period.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChargeLine {
    /// Ledger transaction.
    pub transaction_id: Uuid,
    /// Period start.
    pub period_start: DateTime<Utc>,
    /// Period end.
    pub period_end: DateTime<Utc>,
    /// Paid by the renter.
    #[schema(value_type = f64)]
    pub amount: Money,
    /// Creator's share.
    #[schema(value_type = f64)]
    pub creator_amount: Money,
    /// Platform's share.
    #[schema(value_type = f64)]
    pub platform_amount: Money,
}

/// What subscribing cost.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChargeView {
    /// Total charged now.
    #[schema(value_type = f64)]
    pub amount: Money,
    /// Months paid up front.
    pub months: u32,
    /// One line per period (empty at the free tier).
    pub periods: Vec<ChargeLine>,
}

impl ChargeView {
    /// Sums the charges of a new subscription.
    pub fn of(charges: &[Charge], months: u32) -> Self {
        let amount = Money::from_cents(charges.iter().map(|c| c.amount.cents()).sum());
        let periods = charges
            .iter()
            .map(|c| ChargeLine {
                transaction_id: c.transaction_id,
                period_start: c.period_start,
                period_end: c.period_end,
                amount: c.amount,
                creator_amount: c.creator_amount,
                platform_amount: c.platform_amount,
            })
            .collect();
        Self {
            amount,
            months,
            periods,
        }
    }
}

/// One refunded period.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundLine {
    /// Refund transaction.
    pub transaction_id: Uuid,
    /// The charge partly given back.
    pub refund_of: Uuid,
    /// Period start.
    pub period_start: DateTime<Utc>,
    /// Period end.
    pub period_end: DateTime<Utc>,
    /// Amount back to the renter.
    #[schema(value_type = f64)]
    pub amount: Money,
}

/// What a cancellation gave back.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    /// Total back to the renter.
    #[schema(value_type = f64)]
    pub amount: Money,
    /// One line per refunded period.
    pub periods: Vec<RefundLine>,
}

impl From<&[Refund]> for RefundView {
    fn from(refunds: &[Refund]) -> Self {
        Self {
            amount: Money::from_cents(refunds.iter().map(|r| r.amount.cents()).sum()),
            periods: refunds
                .iter()
                .map(|r| RefundLine {
                    transaction_id: r.transaction_id,
                    refund_of: r.refund_of,
                    period_start: r.period_start,
                    period_end: r.period_end,
                    amount: r.amount,
                })
                .collect(),
        }
    }
}

/// One ledger entry of the caller's account.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntryView {
    /// Entry id.
    pub id: Uuid,
    /// Transaction (its other entries belong to other accounts).
    pub transaction_id: Uuid,
    /// Kind of transaction.
    pub kind: TransactionKind,
    /// Signed amount: positive credits the account.
    #[schema(value_type = f64)]
    pub amount: Money,
    /// Subscription concerned.
    pub subscription_id: Option<Uuid>,
    /// Period concerned.
    pub period_start: Option<DateTime<Utc>>,
    /// Period end.
    pub period_end: Option<DateTime<Utc>>,
    /// Description.
    pub memo: String,
    /// Booked.
    pub created_at: DateTime<Utc>,
}

impl From<&LedgerEntry> for LedgerEntryView {
    fn from(e: &LedgerEntry) -> Self {
        Self {
            id: e.id,
            transaction_id: e.transaction_id,
            kind: e.kind,
            amount: e.amount,
            subscription_id: e.subscription_id,
            period_start: e.period_start,
            period_end: e.period_end,
            memo: e.memo.clone(),
            created_at: e.created_at,
        }
    }
}
