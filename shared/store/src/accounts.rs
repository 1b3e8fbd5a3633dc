//! Accounts, their keys, credit top-ups and the ledger's own checks.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use domain::ledger::LedgerCheck;
use domain::payments::PaymentReceipt;
use domain::{Account, LedgerEntry};

use crate::{IdempotencyKey, Idempotent, NewApiKey, Render, StoreResult, TopUp};

/// Accounts and the ledger.
#[async_trait]
pub trait AccountStore: Send + Sync + std::fmt::Debug {
    /// Creates a user account with its first API key (stored as a hash).
    async fn create_account(
        &self,
        name: &str,
        key: &NewApiKey,
        now: DateTime<Utc>,
    ) -> StoreResult<Account>;

    /// The account owning a (non-revoked) key hash.
    async fn account_by_key_hash(&self, key_hash: &str) -> StoreResult<Option<Account>>;

    /// An account by id.
    async fn account(&self, id: Uuid) -> StoreResult<Option<Account>>;

    /// The stored answer of an earlier request with this idempotency key, if one completed:
    /// what a retry replays without doing the work again (a top-up looks before it collects).
    ///
    /// # Errors
    /// [`crate::StoreError::IdempotencyMismatch`] when the key was used for another request.
    async fn idempotent_answer(
        &self,
        account: Uuid,
        key: &IdempotencyKey,
    ) -> StoreResult<Option<serde_json::Value>>;

    /// Books credit collected by a payment provider.
    async fn top_up(
        &self,
        account: Uuid,
        receipt: &PaymentReceipt,
        idempotency: Option<&IdempotencyKey>,
        render: Render<'_, TopUp>,
        now: DateTime<Utc>,
    ) -> StoreResult<Idempotent<TopUp>>;

    /// An account's ledger entries, newest first, after the cursor.
    async fn ledger_entries(
        &self,
        account: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<LedgerEntry>>;

    /// Checks that every transaction sums to zero and every balance equals its entries.
    async fn check_ledger(&self) -> StoreResult<LedgerCheck>;
}
