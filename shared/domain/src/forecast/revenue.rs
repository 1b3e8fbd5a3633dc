//! Renewal revenue: what billing will charge the subscriptions that exist now, month by month.
//!
//! The schedule is billing's own: [`Subscription::next_charge`] for the next charge, then one
//! charge per anchored period ([`period_start`]). Each charge is a Bernoulli event whose
//! probability comes from counts in the history ([`RenewalRates`]): the `j`-th renewal ahead of
//! an active subscription happens with probability `s^j`, where the survival `s` is the share of
//! renewals that came due and were paid (`paid / (paid + lost + churned)`); a past-due one is
//! recovered with the observed recovery rate `r`, and then survives like the others.
//!
//! A month's point forecast is `sum(amount x p)`. Its 95% interval is a normal approximation of
//! the sum of independent Bernoullis (`sum(amount^2 p (1 - p))`) plus the uncertainty of the
//! rates themselves by the delta method, with Agresti-Coull variances so that a rate observed as
//! 0 or 1 on few renewals still has a spread; it is clipped to `[0, scheduled amount]`.
//!
//! Accuracy: for each of the last 12 months, the forecast one month ahead made with only what
//! was known at its start (rates from earlier outcomes, subscriptions live then, charges booked
//! before), against the renewal charges booked in that month. Renewal charges only: first charges
//! of new subscriptions are demand, not renewals.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ForecastStatus, Z, cents, mape, months_before, whole_months};
use crate::period::{period_bounds, period_start};
use crate::{Money, Subscription, SubscriptionStatus};

/// Months of history below which no revenue forecast is given.
pub const REQUIRED_MONTHS: u32 = 3;
/// Past months (with renewal charges) a forecast must be backtested on.
pub const MIN_BACKTEST_MONTHS: usize = 2;
/// Past months backtested at most.
pub const MAX_BACKTEST_MONTHS: u32 = 12;

/// A subscription charge in the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChargeEvent {
    /// The period it paid for.
    pub period_start: DateTime<Utc>,
    /// When it was booked.
    pub booked_at: DateTime<Utc>,
    /// Amount charged.
    pub amount: Money,
}

/// A renewal that could not be charged (the first failure of that period).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureEvent {
    /// The period it was for.
    pub period_start: DateTime<Utc>,
    /// When it first failed.
    pub failed_at: DateTime<Utc>,
}

/// One subscription with its charges and failed renewals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionHistory {
    /// The subscription as it is now.
    pub subscription: Subscription,
    /// Its charges, the first one included.
    pub charges: Vec<ChargeEvent>,
    /// Its failed renewals.
    pub failures: Vec<FailureEvent>,
}

impl SubscriptionHistory {
    /// Whether a charge renewed the subscription: a later period than the first, booked after
    /// subscribing (months paid up front are booked with the subscription).
    pub fn is_renewal(&self, c: &ChargeEvent) -> bool {
        c.period_start > self.subscription.anchor_at && c.booked_at > self.subscription.created_at
    }
}

/// Outcomes of the renewals that came due, and the rates derived from them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RenewalRates {
    /// Renewals that came due: `paid + lost + churned`.
    pub renewals_due: i64,
    /// Renewals charged (on time or after a failure).
    pub paid: i64,
    /// Renewals whose first charge failed (resolved ones: recovered or lost).
    pub failed: i64,
    /// Failed renewals charged later, within grace.
    pub recovered: i64,
    /// Failed renewals never charged (the subscription ended).
    pub lost: i64,
    /// Subscriptions ended by their subscriber (canceled, or not renewing).
    pub churned: i64,
    /// `paid / renewals_due`: the probability that a renewal due is paid.
    pub survival: f64,
    /// `churned / renewals_due`.
    pub churn: f64,
    /// `failed / (paid + lost)`: the share of charges tried that failed first.
    pub failure: f64,
    /// `recovered / failed` (absent when no renewal ever failed).
    pub recovery: Option<f64>,
}

impl RenewalRates {
    /// Counts the outcomes known before `before`; `None` when no renewal has come due.
    pub fn observed(history: &[SubscriptionHistory], before: DateTime<Utc>) -> Option<Self> {
        let (mut paid, mut recovered, mut lost, mut churned) = (0i64, 0i64, 0i64, 0i64);
        for h in history {
            let charged = |period: DateTime<Utc>| {
                h.charges
                    .iter()
                    .any(|c| c.period_start == period && c.booked_at < before)
            };
            paid += h
                .charges
                .iter()
                .filter(|c| h.is_renewal(c) && c.booked_at < before)
                .count() as i64;
            let ended = h.subscription.ended_at.is_some_and(|e| e < before);
            let mut lost_here = 0;
            for f in h.failures.iter().filter(|f| f.failed_at < before) {
                if charged(f.period_start) {
                    recovered += 1;
                } else if ended {
                    lost_here += 1;
                }
            }
            lost += lost_here;
            if ended && lost_here == 0 {
                churned += 1;
            }
        }
        let due = paid + lost + churned;
        if due == 0 {
            return None;
        }
        let failed = recovered + lost;
        let tried = paid + lost;
        Some(Self {
            renewals_due: due,
            paid,
            failed,
            recovered,
            lost,
            churned,
            survival: paid as f64 / due as f64,
            churn: churned as f64 / due as f64,
            failure: if tried > 0 {
                failed as f64 / tried as f64
            } else {
                0.0
            },
            recovery: (failed > 0).then(|| recovered as f64 / failed as f64),
        })
    }
}

/// A subscription's next charge and the periods after it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Due {
    /// When the next charge is due.
    pub(crate) at: DateTime<Utc>,
    /// The subscription's anchor.
    pub(crate) anchor: DateTime<Utc>,
    /// Index of the period the next charge pays for.
    pub(crate) period: u32,
    /// Amount per period.
    pub(crate) amount: Money,
    /// Past due: the next charge is a retry.
    pub(crate) recovering: bool,
}

impl Due {
    /// The next charge as billing will make it (`None` when it will not renew).
    pub(crate) fn now(s: &Subscription) -> Option<Self> {
        s.next_charge().map(|c| Self {
            at: c.due_at,
            anchor: s.anchor_at,
            period: s.periods_paid,
            amount: c.amount,
            recovering: s.status == SubscriptionStatus::PastDue,
        })
    }

    /// The next charge as it stood at `t`, rebuilt from the history (the flags of that time are
    /// not kept, so every subscription live then counts as renewing).
    pub(crate) fn at(h: &SubscriptionHistory, t: DateTime<Utc>) -> Option<Self> {
        let s = &h.subscription;
        if s.created_at >= t || s.ended_at.is_some_and(|e| e <= t) {
            return None;
        }
        let paid = h.charges.iter().filter(|c| c.booked_at < t).count() as u32;
        if paid == 0 {
            return None;
        }
        let at = period_start(s.anchor_at, paid);
        Some(Self {
            at,
            anchor: s.anchor_at,
            period: paid,
            amount: s.price,
            recovering: h
                .failures
                .iter()
                .any(|f| f.period_start == at && f.failed_at < t),
        })
    }
}

/// The sums a month's forecast is made of.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct MonthSum {
    pub(crate) expected: f64,
    pub(crate) expected_count: f64,
    pub(crate) bernoulli_var: f64,
    pub(crate) d_survival: f64,
    pub(crate) d_recovery: f64,
    pub(crate) scheduled: i64,
    pub(crate) scheduled_cents: i64,
}

/// Spreads each due subscription's charges over `windows` (`[start, end)`, in order; a charge
/// due before the first window falls in it) with their probabilities.
pub(crate) fn project(
    dues: &[Due],
    rates: &RenewalRates,
    windows: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Vec<MonthSum> {
    let mut out = vec![MonthSum::default(); windows.len()];
    let (Some(first), Some(last)) = (windows.first(), windows.last()) else {
        return out;
    };
    let s = rates.survival;
    for d in dues {
        for j in 0u32.. {
            let at = if j == 0 {
                d.at.max(first.0)
            } else {
                period_start(d.anchor, d.period + j)
            };
            if at >= last.1 {
                break;
            }
            let Some(i) = windows.iter().position(|w| w.0 <= at && at < w.1) else {
                continue;
            };
            let jf = f64::from(j);
            let (p, dp_ds, dp_dr) = match (d.recovering, rates.recovery) {
                (true, Some(r)) => (
                    r * s.powf(jf),
                    if j == 0 {
                        0.0
                    } else {
                        r * jf * s.powf(jf - 1.0)
                    },
                    s.powf(jf),
                ),
                _ => (s.powf(jf + 1.0), (jf + 1.0) * s.powf(jf), 0.0),
            };
            let a = d.amount.cents() as f64;
            let m = &mut out[i];
            m.expected += a * p;
            m.expected_count += p;
            m.bernoulli_var += a * a * p * (1.0 - p);
            m.d_survival += a * dp_ds;
            m.d_recovery += a * dp_dr;
            m.scheduled += 1;
            m.scheduled_cents += d.amount.cents();
        }
    }
    out
}

/// Agresti-Coull variance of a proportion `k / n` (adds two successes and two failures).
fn rate_variance(k: i64, n: i64) -> f64 {
    let n = n as f64 + 4.0;
    let p = (k as f64 + 2.0) / n;
    p * (1.0 - p) / n
}

impl MonthSum {
    /// `(point, lower, upper)` in cents.
    pub(crate) fn interval(&self, rates: &RenewalRates) -> (i64, i64, i64) {
        let var = self.bernoulli_var
            + self.d_survival.powi(2) * rate_variance(rates.paid, rates.renewals_due)
            + self.d_recovery.powi(2) * rate_variance(rates.recovered, rates.failed);
        let sd = var.max(0.0).sqrt();
        let cap = self.scheduled_cents;
        (
            cents(self.expected).min(cap),
            cents(self.expected - Z * sd).min(cap),
            cents(self.expected + Z * sd).min(cap),
        )
    }
}

pub use super::revenue_view::{RevenueAccuracy, RevenueBacktest, RevenueForecast, RevenueMonth};

/// The renewal revenue of the next `horizon_months` months from `now`, or why there is none.
pub fn forecast_revenue(
    history: &[SubscriptionHistory],
    now: DateTime<Utc>,
    horizon_months: u32,
) -> RevenueForecast {
    let history_months = history
        .iter()
        .map(|h| h.subscription.created_at)
        .min()
        .map_or(0, |first| whole_months(first, now));
    let backtest = backtest(history, now);
    let rates = RenewalRates::observed(history, now);
    let usable = backtest.iter().filter(|b| b.actual > Money::ZERO).count();
    let Some(rates) =
        rates.filter(|_| history_months >= REQUIRED_MONTHS && usable >= MIN_BACKTEST_MONTHS)
    else {
        return RevenueForecast::insufficient(history_months, usable);
    };
    let windows: Vec<_> = (0..horizon_months).map(|i| period_bounds(now, i)).collect();
    let dues: Vec<Due> = history
        .iter()
        .filter_map(|h| Due::now(&h.subscription))
        .collect();
    let months = project(&dues, &rates, &windows)
        .iter()
        .zip(&windows)
        .map(|(m, w)| RevenueMonth::from_sum(m, *w, &rates))
        .collect();
    let inside = backtest
        .iter()
        .filter(|b| b.lower <= b.actual && b.actual <= b.upper)
        .count();
    RevenueForecast {
        status: ForecastStatus::Ok,
        history_months,
        required_months: REQUIRED_MONTHS,
        detail: None,
        rates: Some(rates),
        months,
        accuracy: Some(RevenueAccuracy {
            mape: mape(
                backtest
                    .iter()
                    .map(|b| (b.point.cents() as f64, b.actual.cents() as f64)),
            ),
            months: backtest.len(),
            coverage: inside as f64 / backtest.len().max(1) as f64,
            backtest,
        }),
    }
}

/// One-month-ahead forecasts of the last [`MAX_BACKTEST_MONTHS`] months, oldest first, each
/// made with what was known at the month's start.
pub(crate) fn backtest(
    history: &[SubscriptionHistory],
    now: DateTime<Utc>,
) -> Vec<RevenueBacktest> {
    let mut out = Vec::new();
    for k in (1..=MAX_BACKTEST_MONTHS).rev() {
        let Some(t) = months_before(now, k) else {
            continue;
        };
        let Some(rates) = RenewalRates::observed(history, t) else {
            continue;
        };
        let window = period_bounds(t, 0);
        let dues: Vec<Due> = history.iter().filter_map(|h| Due::at(h, t)).collect();
        let sum = project(&dues, &rates, &[window])[0];
        let (point, lower, upper) = sum.interval(&rates);
        let actual: i64 = history
            .iter()
            .flat_map(|h| {
                h.charges.iter().filter(move |c| {
                    h.is_renewal(c) && window.0 <= c.booked_at && c.booked_at < window.1
                })
            })
            .map(|c| c.amount.cents())
            .sum();
        out.push(RevenueBacktest {
            start: window.0,
            end: window.1,
            point: Money::from_cents(point),
            lower: Money::from_cents(lower),
            upper: Money::from_cents(upper),
            actual: Money::from_cents(actual),
        });
    }
    out
}

#[cfg(test)]
#[path = "revenue_tests.rs"]
mod tests;
