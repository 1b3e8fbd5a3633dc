//! Subscriptions (monthly rental of a tool at a tier) and the rules that follow from their
//! periods: access, the current period and pro-rata refunds.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::period::{period_bounds, period_index_at, period_start};
use super::{Money, Tier};

/// Where a subscription stands.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// Paid up; access until `paid_through`.
    Active,
    /// A renewal charge failed; access kept during the grace period.
    PastDue,
    /// Canceled with immediate effect; access ended.
    Canceled,
    /// Ran out (not renewed, canceled at period end, or unpaid after grace); access ended.
    Expired,
}

impl SubscriptionStatus {
    /// Name in the store and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::PastDue => "past_due",
            SubscriptionStatus::Canceled => "canceled",
            SubscriptionStatus::Expired => "expired",
        }
    }

    /// Parses a stored name.
    ///
    /// # Errors
    /// When the name is unknown.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "active" => Ok(SubscriptionStatus::Active),
            "past_due" => Ok(SubscriptionStatus::PastDue),
            "canceled" => Ok(SubscriptionStatus::Canceled),
            "expired" => Ok(SubscriptionStatus::Expired),
            other => Err(format!("unknown subscription status {other:?}")),
        }
    }

    /// Whether the subscription still counts as the subscriber's one live subscription.
    pub const fn is_live(self) -> bool {
        matches!(
            self,
            SubscriptionStatus::Active | SubscriptionStatus::PastDue
        )
    }
}

/// A subscription. Periods are derived from `anchor_at` (see [`super::period`]); the first
/// `periods_paid` periods have been charged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// Id (UUID v7).
    pub id: Uuid,
    /// The rented tool.
    pub tool_id: Uuid,
    /// The renter.
    pub subscriber_id: Uuid,
    /// The tier rented at.
    pub tier: Tier,
    /// Status.
    pub status: SubscriptionStatus,
    /// Price per month, locked when subscribing.
    pub price: Money,
    /// Start of the first period; every period boundary derives from it.
    pub anchor_at: DateTime<Utc>,
    /// How many periods have been charged.
    pub periods_paid: u32,
    /// Renew at the end of the paid periods.
    pub auto_renew: bool,
    /// Canceled to take effect at the end of the paid periods.
    pub cancel_at_period_end: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When access ended (canceled or expired).
    pub ended_at: Option<DateTime<Utc>>,
    /// Past due: access lasts until then.
    pub grace_until: Option<DateTime<Utc>>,
    /// Past due: when the charge is tried again (none when no retry is left).
    pub next_retry_at: Option<DateTime<Utc>>,
    /// Past due: failed retries so far.
    pub retry_count: u32,
}

/// How renewals that cannot be charged are handled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillingPolicy {
    /// Access kept after a failed renewal (from the end of the paid periods).
    pub grace: TimeDelta,
    /// When to retry the charge, counted from the end of the paid periods.
    pub retry_after: Vec<TimeDelta>,
}

impl Default for BillingPolicy {
    fn default() -> Self {
        Self {
            grace: TimeDelta::days(3),
            retry_after: vec![TimeDelta::days(1), TimeDelta::days(3)],
        }
    }
}

/// The next charge of a subscription, as the scheduler will make it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextCharge {
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// The period it pays for.
    pub period_start: DateTime<Utc>,
    /// End of that period.
    pub period_end: DateTime<Utc>,
    /// Amount (the locked price; zero at the free tier).
    pub amount: Money,
}

impl Subscription {
    /// End of the last charged period: access lasts until then.
    pub fn paid_through(&self) -> DateTime<Utc> {
        period_start(self.anchor_at, self.periods_paid)
    }

    /// The period that `now` falls in, limited to the charged periods (an ended subscription
    /// shows the period it ended in).
    pub fn current_period(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let at = self.ended_at.map_or(now, |ended| ended.min(now));
        let k = period_index_at(self.anchor_at, at).min(self.periods_paid.saturating_sub(1));
        period_bounds(self.anchor_at, k)
    }

    /// Whether the subscriber may use the tool at `now`: paid up, or past due within grace.
    pub fn has_access(&self, now: DateTime<Utc>) -> bool {
        self.status.is_live() && now < self.access_until()
    }

    /// When access ends unless the subscription is renewed or paid.
    pub fn access_until(&self) -> DateTime<Utc> {
        let paid = self.paid_through();
        self.grace_until.map_or(paid, |g| g.max(paid))
    }

    /// The charge that will renew this subscription, computed by the same code that makes it:
    /// the period after the paid ones, at the locked price. `None` when it will not renew
    /// (ended, not auto-renewing, canceled at period end, or past due with no retry left).
    pub fn next_charge(&self) -> Option<NextCharge> {
        if !self.status.is_live() || !self.auto_renew || self.cancel_at_period_end {
            return None;
        }
        let (period_start, period_end) = period_bounds(self.anchor_at, self.periods_paid);
        let due_at = match self.status {
            SubscriptionStatus::PastDue => self.next_retry_at?,
            _ => period_start,
        };
        Some(NextCharge {
            due_at,
            period_start,
            period_end,
            amount: self.price,
        })
    }

    /// Dunning after the charge of the next period failed: past due with access until the end
    /// of grace, and the next retry from the policy's schedule (`None` when none is left).
    /// Returns `(grace_until, next_retry_at, retry_count)`.
    pub fn after_failed_charge(
        &self,
        policy: &BillingPolicy,
    ) -> (DateTime<Utc>, Option<DateTime<Utc>>, u32) {
        let due = self.paid_through();
        let failures = if self.status == SubscriptionStatus::PastDue {
            self.retry_count + 1
        } else {
            0
        };
        let next = policy.retry_after.get(failures as usize).map(|d| due + *d);
        (
            self.grace_until.unwrap_or(due + policy.grace),
            next,
            failures,
        )
    }
}

/// The part of one charged period given back when access ends at `now`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ProRata {
    /// Seconds of the period not used.
    pub unused_seconds: i64,
    /// Length of the period in seconds.
    pub period_seconds: i64,
}

impl ProRata {
    /// The unused share of `[start, end)` when access ends at `now`, by the second.
    pub fn at(start: DateTime<Utc>, end: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        let period_seconds = (end - start).num_seconds().max(1);
        let unused_seconds = (end - now.max(start))
            .num_seconds()
            .clamp(0, period_seconds);
        Self {
            unused_seconds,
            period_seconds,
        }
    }

    /// `amount x unused / period`, half up to the cent.
    pub fn of(self, amount: Money) -> Money {
        amount.mul_ratio(self.unused_seconds, self.period_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{sub, t};

    #[test]
    fn access_lasts_through_the_paid_periods() {
        let s = sub("2027-01-31T00:00:00Z", 3);
        assert_eq!(s.paid_through(), t("2027-04-30T00:00:00Z"));
        assert!(s.has_access(t("2027-04-29T23:59:59Z")));
        assert!(!s.has_access(t("2027-04-30T00:00:00Z")));
        assert_eq!(
            s.current_period(t("2027-03-01T00:00:00Z")),
            (t("2027-02-28T00:00:00Z"), t("2027-03-31T00:00:00Z"))
        );
        assert_eq!(
            s.current_period(t("2028-01-01T00:00:00Z")).1,
            s.paid_through(),
            "capped at paid periods"
        );
    }

    #[test]
    fn dunning_follows_the_retry_schedule_within_grace() {
        let policy = BillingPolicy::default();
        let mut s = sub("2027-01-31T00:00:00Z", 1);
        let due = t("2027-02-28T00:00:00Z");
        assert_eq!(
            s.next_charge().map(|c| (c.due_at, c.period_end)),
            Some((due, t("2027-03-31T00:00:00Z")))
        );

        let (grace, next, count) = s.after_failed_charge(&policy);
        assert_eq!(
            (grace, next, count),
            (
                t("2027-03-03T00:00:00Z"),
                Some(t("2027-03-01T00:00:00Z")),
                0
            )
        );
        s.status = SubscriptionStatus::PastDue;
        (s.grace_until, s.next_retry_at, s.retry_count) = (Some(grace), next, count);
        assert!(
            s.has_access(t("2027-03-02T23:59:59Z")),
            "access kept during grace"
        );
        assert!(!s.has_access(t("2027-03-03T00:00:00Z")));
        assert_eq!(
            s.next_charge().map(|c| c.due_at),
            Some(t("2027-03-01T00:00:00Z"))
        );

        let (_, next, count) = s.after_failed_charge(&policy);
        assert_eq!(
            (next, count),
            (Some(t("2027-03-03T00:00:00Z")), 1),
            "second retry after 3 days"
        );
        (s.next_retry_at, s.retry_count) = (next, count);
        let (_, next, count) = s.after_failed_charge(&policy);
        assert_eq!((next, count), (None, 2), "no retry left");
        s.next_retry_at = next;
        assert_eq!(s.next_charge(), None);
        s.cancel_at_period_end = true;
        assert_eq!(s.next_charge(), None);
    }

    #[test]
    fn pro_rata_counts_unused_seconds() {
        let (s, e) = (t("2027-04-01T00:00:00Z"), t("2027-05-01T00:00:00Z")); // 30 days
        let half = ProRata::at(s, e, t("2027-04-16T00:00:00Z"));
        assert_eq!(half.of(Money::from_cents(1000)), Money::from_cents(500));
        assert_eq!(
            ProRata::at(s, e, t("2027-03-01T00:00:00Z")).of(Money::from_cents(999)),
            Money::from_cents(999),
            "future period refunds fully"
        );
        assert_eq!(
            ProRata::at(s, e, t("2027-06-01T00:00:00Z")).of(Money::from_cents(999)),
            Money::ZERO
        );
        let one_sec = ProRata::at(s, e, e - chrono::TimeDelta::seconds(1));
        assert_eq!(
            (one_sec.unused_seconds, one_sec.period_seconds),
            (1, 30 * 86_400)
        );
    }
}
