//! The double-entry ledger: every movement of money is one transaction whose entries sum to zero.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Money;

/// What a ledger transaction records.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    /// Credit bought from the payment provider.
    TopUp,
    /// One period of a subscription paid by its subscriber.
    SubscriptionCharge,
    /// The unused part of a charged period given back.
    Refund,
}

impl TransactionKind {
    /// Name in the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransactionKind::TopUp => "top_up",
            TransactionKind::SubscriptionCharge => "subscription_charge",
            TransactionKind::Refund => "refund",
        }
    }

    /// Parses a stored name.
    ///
    /// # Errors
    /// When the name is unknown.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "top_up" => Ok(TransactionKind::TopUp),
            "subscription_charge" => Ok(TransactionKind::SubscriptionCharge),
            "refund" => Ok(TransactionKind::Refund),
            other => Err(format!("unknown transaction kind {other:?}")),
        }
    }
}

/// One entry of a transaction, as an account sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Entry id (UUID v7, so ids order entries in time).
    pub id: Uuid,
    /// The transaction it belongs to.
    pub transaction_id: Uuid,
    /// The account it moves money for.
    pub account_id: Uuid,
    /// Signed amount: positive credits the account, negative debits it.
    pub amount: Money,
    /// The transaction's kind.
    pub kind: TransactionKind,
    /// The subscription it concerns, if any.
    pub subscription_id: Option<Uuid>,
    /// The billing period it concerns, if any.
    pub period_start: Option<DateTime<Utc>>,
    /// End of that billing period.
    pub period_end: Option<DateTime<Utc>>,
    /// Human-readable description.
    pub memo: String,
    /// When it was booked.
    pub created_at: DateTime<Utc>,
}

/// The result of checking the ledger's invariants.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct LedgerCheck {
    /// Sum of every entry of every transaction (must be 0).
    #[schema(value_type = f64)]
    pub total: Money,
    /// Transactions whose entries do not sum to zero (must be empty).
    pub unbalanced_transactions: Vec<Uuid>,
    /// Accounts whose balance differs from the sum of their entries (must be empty).
    pub mismatched_accounts: Vec<Uuid>,
    /// Number of transactions checked.
    pub transactions: i64,
    /// Whether every invariant holds.
    pub ok: bool,
}

/// How a subscription charge is split between the creator and the platform.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RevenueSplit {
    /// The creator's part.
    pub creator: Money,
    /// The platform's part (the rest, so the two always add up to the charge).
    pub platform: Money,
}

impl RevenueSplit {
    /// Splits `amount` giving the creator `creator_share_bps` basis points (rounded half up)
    /// and the platform the remainder.
    pub fn of(amount: Money, creator_share_bps: u32) -> Self {
        let creator = amount.mul_ratio(i64::from(creator_share_bps), 10_000);
        Self {
            creator,
            platform: Money::from_cents(amount.cents() - creator.cents()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_always_adds_up_to_the_charge() {
        for cents in [0, 1, 3, 2999, 7498, 14_995, 99_999_999] {
            let s = RevenueSplit::of(Money::from_cents(cents), 8_000);
            assert_eq!(s.creator.cents() + s.platform.cents(), cents);
        }
        let s = RevenueSplit::of(Money::from_cents(2999), 8_000);
        assert_eq!(
            (s.creator.cents(), s.platform.cents()),
            (2399, 600),
            "23.992 -> 23.99"
        );
    }
}
