//! Accounts: people (creators and renters alike) and the system accounts the ledger needs.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Money;

/// What an account stands for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AccountKind {
    /// A person or organisation using the API (creator and renter alike).
    User,
    /// The marketplace's own revenue account.
    Platform,
    /// The outside world money comes from (the sandbox payment provider); its balance is the
    /// negative of all credit ever bought, which keeps every transaction summing to zero.
    External,
}

impl AccountKind {
    /// Name in the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            AccountKind::User => "user",
            AccountKind::Platform => "platform",
            AccountKind::External => "external",
        }
    }

    /// Parses a stored name.
    ///
    /// # Errors
    /// When the name is unknown.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "user" => Ok(AccountKind::User),
            "platform" => Ok(AccountKind::Platform),
            "external" => Ok(AccountKind::External),
            other => Err(format!("unknown account kind {other:?}")),
        }
    }
}

/// The platform's revenue account (created by the store at start).
pub const PLATFORM_ACCOUNT_ID: Uuid = Uuid::from_u128(1);
/// The sandbox payment provider's account (created by the store at start).
pub const SANDBOX_PROVIDER_ACCOUNT_ID: Uuid = Uuid::from_u128(2);

/// An account with its balance (the sum of its ledger entries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Id (UUID v7).
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// What it stands for.
    pub kind: AccountKind,
    /// Current balance; equals the sum of the account's ledger entries.
    pub balance: Money,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}
