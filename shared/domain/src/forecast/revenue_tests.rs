//! Hand-computed cases of the renewal forecast.

use chrono::TimeDelta;

use super::*;
use crate::test_support::{sub, t};

/// Charges of periods `ks`, each booked `late` after its period started.
fn charges(s: &Subscription, ks: &[u32], late: TimeDelta) -> Vec<ChargeEvent> {
    ks.iter()
        .map(|k| ChargeEvent {
            period_start: period_start(s.anchor_at, *k),
            booked_at: period_start(s.anchor_at, *k) + late,
            amount: s.price,
        })
        .collect()
}

fn rates(paid: i64, due: i64) -> RenewalRates {
    RenewalRates {
        renewals_due: due,
        paid,
        failed: 0,
        recovered: 0,
        lost: 0,
        churned: due - paid,
        survival: paid as f64 / due as f64,
        churn: (due - paid) as f64 / due as f64,
        failure: 0.0,
        recovery: None,
    }
}

#[test]
fn rates_are_counts_of_renewal_outcomes() {
    let on_time = TimeDelta::zero();
    // A renews twice; B renews once, fails the next and is recovered a day later;
    // C fails its first renewal and expires; D renews once and is canceled.
    let a = sub("2027-01-01T00:00:00Z", 3);
    let mut b = sub("2027-01-01T00:00:00Z", 3);
    let mut c = sub("2027-01-01T00:00:00Z", 1);
    let mut d = sub("2027-01-01T00:00:00Z", 2);
    c.status = SubscriptionStatus::Expired;
    c.ended_at = Some(t("2027-02-04T00:00:00Z"));
    d.status = SubscriptionStatus::Expired;
    d.ended_at = Some(t("2027-03-01T00:00:00Z"));
    let mut b_charges = charges(&b, &[0, 1], on_time);
    b_charges.extend(charges(&b, &[2], TimeDelta::days(1)));
    b.status = SubscriptionStatus::Active;
    let history = vec![
        SubscriptionHistory {
            charges: charges(&a, &[0, 1, 2], on_time),
            subscription: a,
            failures: vec![],
        },
        SubscriptionHistory {
            failures: vec![FailureEvent {
                period_start: t("2027-03-01T00:00:00Z"),
                failed_at: t("2027-03-01T00:00:00Z"),
            }],
            charges: b_charges,
            subscription: b,
        },
        SubscriptionHistory {
            charges: charges(&c, &[0], on_time),
            failures: vec![FailureEvent {
                period_start: t("2027-02-01T00:00:00Z"),
                failed_at: t("2027-02-01T00:00:00Z"),
            }],
            subscription: c,
        },
        SubscriptionHistory {
            charges: charges(&d, &[0, 1], on_time),
            subscription: d,
            failures: vec![],
        },
    ];
    let r = RenewalRates::observed(&history, t("2027-03-15T00:00:00Z")).expect("renewals due");
    assert_eq!(
        (
            r.paid,
            r.lost,
            r.churned,
            r.failed,
            r.recovered,
            r.renewals_due
        ),
        (5, 1, 1, 2, 1, 7)
    );
    assert!((r.survival - 5.0 / 7.0).abs() < 1e-12);
    assert!((r.churn - 1.0 / 7.0).abs() < 1e-12);
    assert!((r.failure - 2.0 / 6.0).abs() < 1e-12);
    assert_eq!(r.recovery, Some(0.5));

    // On Mar 1 at noon B's failure is not resolved yet (D ended at midnight).
    let r = RenewalRates::observed(&history, t("2027-03-01T12:00:00Z")).expect("renewals due");
    assert_eq!((r.paid, r.lost, r.churned, r.failed), (4, 1, 1, 1));
    assert_eq!(
        RenewalRates::observed(&history, t("2027-01-15T00:00:00Z")),
        None,
        "nothing came due"
    );
}

#[test]
fn each_renewal_ahead_survives_once_more() {
    let now = t("2027-05-15T00:00:00Z");
    let s = sub("2027-01-01T00:00:00Z", 5); // next charge Jun 1
    let dues = vec![Due::now(&s).expect("renews")];
    let windows: Vec<_> = (0..3).map(|i| period_bounds(now, i)).collect();
    let m = project(&dues, &rates(8, 10), &windows);
    let expected: Vec<f64> = m.iter().map(|x| x.expected).collect();
    assert!((expected[0] - 800.0).abs() < 1e-9, "{expected:?}");
    assert!((expected[1] - 640.0).abs() < 1e-9);
    assert!((expected[2] - 512.0).abs() < 1e-9);
    assert_eq!(m[0].scheduled_cents, 1000);
    assert!((m[1].bernoulli_var - 1e6 * 0.64 * 0.36).abs() < 1e-6);
    assert!(
        (m[1].d_survival - 1000.0 * 2.0 * 0.8).abs() < 1e-9,
        "d(s^2)/ds = 2s"
    );

    let mut canceled = s.clone();
    canceled.cancel_at_period_end = true;
    assert_eq!(Due::now(&canceled), None, "billing will not renew it");
}

#[test]
fn interval_width_adds_rate_uncertainty_to_the_bernoulli_spread() {
    let now = t("2027-05-15T00:00:00Z");
    let dues: Vec<Due> = (0..100)
        .map(|_| Due::now(&sub("2027-01-01T00:00:00Z", 5)).expect("renews"))
        .collect();
    let r = rates(8, 10);
    let m = project(&dues, &r, &[period_bounds(now, 0)])[0];
    let (point, lower, upper) = m.interval(&r);
    // 100 renewals of 10.00 at p = 0.8: mean 80,000; Bernoulli variance 100 x 1e6 x 0.16;
    // rate variance (Agresti-Coull, 10/14 x 4/14 / 14) times (d mean / ds = 100,000)^2.
    let sd = (16e6_f64 + 1e10 * (10.0 / 14.0) * (4.0 / 14.0) / 14.0).sqrt();
    assert_eq!(point, 80_000);
    assert_eq!(lower, (80_000.0 - Z * sd).round() as i64);
    assert_eq!(upper, (80_000.0 + Z * sd).round().min(100_000.0) as i64);
}

#[test]
fn a_past_due_renewal_is_recovered_at_the_observed_rate() {
    let now = t("2027-06-01T12:00:00Z");
    let mut s = sub("2027-01-01T00:00:00Z", 5);
    s.status = SubscriptionStatus::PastDue;
    s.next_retry_at = Some(t("2027-06-02T00:00:00Z"));
    let mut r = rates(8, 10);
    r.failed = 4;
    r.recovered = 1;
    r.recovery = Some(0.25);
    let windows: Vec<_> = (0..2).map(|i| period_bounds(now, i)).collect();
    let m = project(&[Due::now(&s).expect("retry left")], &r, &windows);
    // Window 0 holds the retry (0.25) and the Jul 1 renewal (0.25 x 0.8); window 1 Aug 1's.
    assert!((m[0].expected - 450.0).abs() < 1e-9, "{}", m[0].expected);
    assert!(
        (m[1].expected - 160.0).abs() < 1e-9,
        "0.25 x 0.8^2 of 10.00"
    );
    assert!((m[0].d_recovery - 1800.0).abs() < 1e-9, "d/dr of r + r s");
    assert!((m[0].d_survival - 250.0).abs() < 1e-9, "d/ds of r s");
}

#[test]
fn too_little_history_gives_no_numbers() {
    let s = sub("2027-01-01T00:00:00Z", 2);
    let history = vec![SubscriptionHistory {
        charges: charges(&s, &[0, 1], TimeDelta::zero()),
        subscription: s,
        failures: vec![],
    }];
    let f = forecast_revenue(&history, t("2027-02-15T00:00:00Z"), 3);
    assert_eq!(f.status, ForecastStatus::InsufficientHistory);
    assert_eq!((f.history_months, f.required_months), (1, REQUIRED_MONTHS));
    assert!(f.months.is_empty() && f.accuracy.is_none() && f.rates.is_none());
    assert!(f.detail.is_some_and(|d| d.contains("3 months")));
    assert_eq!(
        forecast_revenue(&[], t("2027-02-15T00:00:00Z"), 3).status,
        ForecastStatus::InsufficientHistory
    );
}

#[test]
fn a_steady_book_is_forecast_exactly_and_backtests_without_error() {
    // Ten subscriptions charged every month on the 1st since January; now is mid-August.
    let now = t("2027-08-15T00:00:00Z");
    let history: Vec<SubscriptionHistory> = (0..10)
        .map(|_| {
            let s = sub("2027-01-01T00:00:00Z", 8);
            SubscriptionHistory {
                charges: charges(&s, &(0..8).collect::<Vec<_>>(), TimeDelta::hours(1)),
                subscription: s,
                failures: vec![],
            }
        })
        .collect();
    let f = forecast_revenue(&history, now, 6);
    assert_eq!(f.status, ForecastStatus::Ok);
    assert_eq!(f.months.len(), 6);
    assert_eq!(f.months[0].start, now);
    assert_eq!(f.months[0].scheduled_renewals, 10);
    assert_eq!(f.months[0].point, Money::from_cents(10_000), "survival 1");
    assert_eq!(
        f.months[0].upper,
        Money::from_cents(10_000),
        "capped at the schedule"
    );
    assert!(
        f.months[0].lower < f.months[0].point,
        "rate uncertainty leaves a spread"
    );
    let a = f.accuracy.expect("backtested");
    assert_eq!(a.mape, Some(0.0));
    assert_eq!(a.coverage, 1.0);
    // Backtest months start Jan 15 .. Jul 15; Jan 15 has no renewal outcome yet.
    assert_eq!(a.months, 6);
    assert!(
        a.backtest
            .iter()
            .all(|b| b.actual == Money::from_cents(10_000))
    );
}
