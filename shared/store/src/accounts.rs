//! Accounts, their keys, credit top-ups and the ledger's own checks.
//!
//! An account holds one or more API keys. Rotation is create-new-then-revoke-old: a key is
//! revoked for good (the row stays, with `revoked_at`, so its owner can see when), and the
//! account's last active key cannot be revoked, so nobody locks themselves out.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use domain::ledger::LedgerCheck;
use domain::payments::PaymentReceipt;
use domain::{Account, LedgerEntry};

use crate::{IdempotencyKey, Idempotent, NewApiKey, Render, StoreResult, TopUp};

/// Most active (not revoked) API keys one account may hold: enough for a key per machine or
/// pipeline, few enough that a leaked key cannot mint keys without end.
pub const MAX_ACTIVE_API_KEYS: i64 = 20;

/// An API key as its owner sees it: never the key, never its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// Id (what revocation names).
    pub id: Uuid,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    /// The owner's name for it, if any.
    pub label: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Revoked (the key no longer authenticates), if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

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

    /// Adds an API key (stored as a hash) to a user account.
    ///
    /// # Errors
    /// [`crate::StoreError::NotFound`] when there is no such user account;
    /// [`crate::StoreError::Conflict`] when it already holds [`MAX_ACTIVE_API_KEYS`] active keys
    /// (checked under the account's lock, so concurrent creations cannot pass it together).
    async fn create_api_key(
        &self,
        account: Uuid,
        key: &NewApiKey,
        label: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<ApiKeyInfo>;

    /// Every key of the account, newest first, revoked ones included.
    async fn api_keys(&self, account: Uuid) -> StoreResult<Vec<ApiKeyInfo>>;

    /// Revokes one of the account's keys: from now on it authenticates nobody. Revoking a
    /// revoked key changes nothing and returns it.
    ///
    /// # Errors
    /// [`crate::StoreError::NotFound`] when the key is not this account's (another account's
    /// key is not found either); [`crate::StoreError::Conflict`] when it is the account's last
    /// active key (checked under the account's lock, so two concurrent revocations of an
    /// account's last two keys cannot both succeed).
    async fn revoke_api_key(
        &self,
        account: Uuid,
        key_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<ApiKeyInfo>;

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
