//! State shared by every handler.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use shared::clock::{ManualClock, SharedClock};
use shared::config::Settings;
use shared::payments::PaymentProvider;
use shared::store::Store;

/// Everything a handler needs; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Effective settings.
    pub settings: Arc<Settings>,
    /// The clock every time in the product comes from (manual in sandbox mode and tests).
    pub clock: SharedClock,
    /// Where top-ups are collected.
    pub payments: Option<Arc<dyn PaymentProvider>>,
    /// Sandbox mode only: the same clock as `clock`, which an admin may move.
    pub sandbox_clock: Option<Arc<ManualClock>>,
    /// The job platform: queues, job events, admission.
    pub jobs: platform::Platform,
    /// Open event streams per caller.
    pub streams: Arc<crate::streams::StreamSlots>,
    /// What the dashboard's sign-in cookies are encrypted with.
    pub cookie_key: axum_extra::extract::cookie::Key,
}

impl AppState {
    /// The current time from the product's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The time of the job platform: always the system clock (leases and backoffs are
    /// operational time, not the sandbox's business time).
    pub fn job_now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
