//! Fixtures shared by the crate's unit tests.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Money, Subscription, SubscriptionStatus, Tier};

/// A UTC time from an RFC 3339 literal.
pub(crate) fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("valid literal")
        .with_timezone(&Utc)
}

/// An active, auto-renewing basic subscription at 10.00 a month, anchored at `anchor`, with
/// `periods_paid` periods paid (fresh ids for it and its subscriber).
pub(crate) fn sub(anchor: &str, periods_paid: u32) -> Subscription {
    let anchor_at = t(anchor);
    Subscription {
        id: Uuid::now_v7(),
        tool_id: Uuid::nil(),
        subscriber_id: Uuid::now_v7(),
        tier: Tier::Basic,
        status: SubscriptionStatus::Active,
        price: Money::from_cents(1000),
        anchor_at,
        periods_paid,
        auto_renew: true,
        cancel_at_period_end: false,
        created_at: anchor_at,
        updated_at: anchor_at,
        ended_at: None,
        grace_until: None,
        next_retry_at: None,
        retry_count: 0,
    }
}
