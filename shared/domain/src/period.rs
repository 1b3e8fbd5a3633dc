//! Calendar-month billing periods anchored on the start instant.
//!
//! Period `k` runs from `anchor + k months` to `anchor + (k + 1) months`, where adding months
//! keeps the anchor's day and time and clamps the day to the month's length. Computing every
//! boundary from the anchor (never from the previous boundary) is what makes Jan 31 renew to
//! Feb 28 (29 in leap years), then Mar 31, then Apr 30, instead of drifting to the 28th.

use chrono::{DateTime, Months, Utc};

/// The start of period `k` of a subscription anchored at `anchor`.
pub fn period_start(anchor: DateTime<Utc>, k: u32) -> DateTime<Utc> {
    anchor
        .checked_add_months(Months::new(k))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `(start, end)` of period `k`.
pub fn period_bounds(anchor: DateTime<Utc>, k: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    (period_start(anchor, k), period_start(anchor, k + 1))
}

/// The index of the period that contains `at` (0 when `at` is before the anchor).
pub fn period_index_at(anchor: DateTime<Utc>, at: DateTime<Utc>) -> u32 {
    if at <= anchor {
        return 0;
    }
    // Estimate from the day count (a month is at least 28 days), then step to the exact index.
    let mut k = u32::try_from((at - anchor).num_days() / 31).unwrap_or(0);
    while period_start(anchor, k + 1) <= at {
        k += 1;
    }
    while k > 0 && period_start(anchor, k) > at {
        k -= 1;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::t;
    use proptest::prelude::*;

    #[test]
    fn january_31_anchors_to_month_ends() {
        let a = t("2027-01-31T12:00:00Z");
        assert_eq!(period_start(a, 1), t("2027-02-28T12:00:00Z"));
        assert_eq!(period_start(a, 2), t("2027-03-31T12:00:00Z"));
        assert_eq!(period_start(a, 3), t("2027-04-30T12:00:00Z"));
        assert_eq!(period_start(a, 12), t("2028-01-31T12:00:00Z"));
        assert_eq!(period_start(a, 13), t("2028-02-29T12:00:00Z"), "leap year");
    }

    #[test]
    fn finds_the_period_containing_an_instant() {
        let a = t("2027-01-31T00:00:00Z");
        assert_eq!(period_index_at(a, t("2027-01-30T00:00:00Z")), 0);
        assert_eq!(period_index_at(a, a), 0);
        assert_eq!(period_index_at(a, t("2027-02-27T23:59:59Z")), 0);
        assert_eq!(period_index_at(a, t("2027-02-28T00:00:00Z")), 1);
        assert_eq!(period_index_at(a, t("2027-03-31T00:00:00Z")), 2);
    }

    proptest! {
        #[test]
        fn periods_tile_time_without_gaps(secs in 0i64..4_000_000_000, k in 0u32..600, probe in 0i64..1_600_000_000) {
            let anchor = DateTime::from_timestamp(secs, 0).expect("in range");
            let (s, e) = period_bounds(anchor, k);
            prop_assert!(s < e);
            prop_assert_eq!(period_bounds(anchor, k + 1).0, e, "next period starts where this one ends");
            let days = (e - s).num_days();
            prop_assert!((28..=31).contains(&days));
            let at = anchor + chrono::TimeDelta::seconds(probe);
            let i = period_index_at(anchor, at);
            let (ps, pe) = period_bounds(anchor, i);
            prop_assert!(ps <= at && at < pe);
        }
    }
}
