//! Where money enters the marketplace. The only provider here is a sandbox: it approves every
//! well-formed top-up without touching a real payment network, and its counter-account in the
//! ledger is [`crate::account::SANDBOX_PROVIDER_ACCOUNT_ID`].

use uuid::Uuid;

use crate::Money;

/// A payment the provider accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentReceipt {
    /// The provider's reference for the payment.
    pub reference: String,
    /// The ledger account the money comes from.
    pub source_account: Uuid,
    /// The amount received.
    pub amount: Money,
}

/// Why a payment was declined.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// The provider refused it.
    #[error("payment declined: {0}")]
    Declined(String),
}

/// A payment provider that turns outside money into account credit.
///
/// A collection is named by `payment`, an id the caller derives from its request's idempotency
/// key: collecting the same `payment` again must not take the money twice but answer the first
/// receipt (real providers take such a key; the ledger also refuses a reference booked twice).
pub trait PaymentProvider: Send + Sync + std::fmt::Debug {
    /// Collects `amount` for `account` as payment `payment`.
    ///
    /// # Errors
    /// [`PaymentError`] when the provider declines.
    fn collect(
        &self,
        account: Uuid,
        amount: Money,
        payment: Uuid,
    ) -> Result<PaymentReceipt, PaymentError>;
}

/// The payment id of a top-up: derived from the request's idempotency key (so a retry names
/// the same payment), or a fresh one without a key.
pub fn payment_id(account: Uuid, idempotency_key: Option<&str>) -> Uuid {
    match idempotency_key {
        Some(key) => Uuid::new_v5(&account, format!("top_up:{key}").as_bytes()),
        None => Uuid::now_v7(),
    }
}

/// Sandbox provider: play money, every positive amount approved.
#[derive(Debug, Default, Clone, Copy)]
pub struct SandboxPaymentProvider;

impl PaymentProvider for SandboxPaymentProvider {
    fn collect(
        &self,
        _account: Uuid,
        amount: Money,
        payment: Uuid,
    ) -> Result<PaymentReceipt, PaymentError> {
        if amount <= Money::ZERO {
            return Err(PaymentError::Declined("amount must be positive".into()));
        }
        Ok(PaymentReceipt {
            reference: format!("sandbox_{}", payment.simple()),
            source_account: crate::account::SANDBOX_PROVIDER_ACCOUNT_ID,
            amount,
        })
    }
}
