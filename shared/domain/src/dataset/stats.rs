//! What a dataset summary shows besides its size: the bar frequency inferred from the
//! timestamps, and statistics of its close-to-close returns.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Bars;

const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;

/// A human label of the bar spacing: the median gap between consecutive bars (`"1m"`, `"5m"`,
/// `"1h"`, `"4h"`, `"1d"`, `"1w"`, `"1mo"`, or `"{n}s"` / `"{n}m"` / `"{n}h"` / `"{n}d"`), or
/// `"irregular"` when fewer than half of the gaps equal the median (weekend and holiday gaps
/// in daily or hourly data leave most gaps regular).
pub fn frequency(bars: &Bars) -> String {
    let mut gaps: Vec<i64> = bars.time.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.is_empty() {
        return "irregular".into();
    }
    gaps.sort_unstable();
    let median = gaps[gaps.len() / 2];
    let month = 28 * DAY..=31 * DAY;
    if month.contains(&median) {
        let monthly = gaps.iter().filter(|g| month.contains(g)).count();
        return if 2 * monthly >= gaps.len() {
            "1mo".into()
        } else {
            "irregular".into()
        };
    }
    let regular = gaps.iter().filter(|g| **g == median).count();
    if 2 * regular < gaps.len() {
        return "irregular".into();
    }
    match median {
        m if m % WEEK == 0 => format!("{}w", m / WEEK),
        m if m % DAY == 0 => format!("{}d", m / DAY),
        m if m % HOUR == 0 => format!("{}h", m / HOUR),
        m if m % MINUTE == 0 => format!("{}m", m / MINUTE),
        m => format!("{m}s"),
    }
}

/// Statistics of simple close-to-close returns `r_i = close_i / close_{i-1} - 1`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReturnStats {
    /// `last close / first close - 1`.
    pub total_return: f64,
    /// Mean of the per-bar returns.
    pub mean_return: f64,
    /// Sample standard deviation of the per-bar returns.
    pub volatility: f64,
    /// Compound annual growth rate, `(1 + total_return)^(periods_per_year / (rows - 1)) - 1`;
    /// absent when it overflows (a big move over a short span).
    pub annualized_return: Option<f64>,
    /// `volatility * sqrt(periods_per_year)`.
    pub annualized_volatility: f64,
    /// Largest peak-to-trough fall of the close, as a fraction of the peak (0.25 = 25%).
    pub max_drawdown: f64,
    /// Lowest close.
    pub min_close: f64,
    /// Highest close.
    pub max_close: f64,
}

impl ReturnStats {
    /// The statistics of a set of bars; all zero with fewer than two bars.
    pub fn of(bars: &Bars) -> Self {
        let close = &bars.close;
        let (Some(&first), Some(&last)) = (close.first(), close.last()) else {
            return Self::default();
        };
        let mut stats = Self {
            min_close: close.iter().copied().fold(f64::INFINITY, f64::min),
            max_close: close.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ..Self::default()
        };
        let n = close.len() - 1;
        if n == 0 {
            return stats;
        }
        let returns = close.windows(2).map(|w| w[1] / w[0] - 1.0);
        let mean = returns.clone().sum::<f64>() / n as f64;
        let variance = if n > 1 {
            returns.map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        let mut peak = first;
        let mut max_drawdown: f64 = 0.0;
        for &c in close {
            peak = peak.max(c);
            max_drawdown = max_drawdown.max(1.0 - c / peak);
        }
        let ppy = bars.periods_per_year().unwrap_or(0.0);
        stats.total_return = last / first - 1.0;
        stats.mean_return = mean;
        stats.volatility = variance.sqrt();
        stats.annualized_return =
            Some((last / first).powf(ppy / n as f64) - 1.0).filter(|r| r.is_finite());
        stats.annualized_volatility = stats.volatility * ppy.sqrt();
        stats.max_drawdown = max_drawdown;
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(times: &[i64], closes: &[f64]) -> Bars {
        let mut b = Bars::default();
        for (t, c) in times.iter().zip(closes) {
            b.push(*t, *c, *c, *c, *c, 1.0);
        }
        b
    }

    #[test]
    fn frequency_is_the_median_gap_with_a_label() {
        let hourly: Vec<i64> = (0..100).map(|i| i * HOUR).collect();
        assert_eq!(frequency(&bars(&hourly, &[1.0; 100])), "1h");
        let five: Vec<i64> = (0..10).map(|i| i * 5 * MINUTE).collect();
        assert_eq!(frequency(&bars(&five, &[1.0; 10])), "5m");
        // Weekdays only: a 3-day gap every week leaves the median at one day.
        let weekdays: Vec<i64> = (0..60).filter(|d| d % 7 < 5).map(|d| d * DAY).collect();
        assert_eq!(
            frequency(&bars(&weekdays, &vec![1.0; weekdays.len()])),
            "1d"
        );
        let weekly: Vec<i64> = (0..10).map(|i| i * WEEK).collect();
        assert_eq!(frequency(&bars(&weekly, &[1.0; 10])), "1w");
        let monthly = [0, 31, 59, 90, 120, 151].map(|d| d * DAY);
        assert_eq!(frequency(&bars(&monthly, &[1.0; 6])), "1mo");
        assert_eq!(frequency(&bars(&[0, 7, 14, 21], &[1.0; 4])), "7s");
        assert_eq!(
            frequency(&bars(&[0, 1, 3, 7, 15, 31], &[1.0; 6])),
            "irregular"
        );
    }

    #[test]
    fn return_stats_match_a_hand_computed_series() {
        // Closes 100 -> 110 -> 99 -> 108.9, one bar a day over 3 days.
        let b = bars(&[0, DAY, 2 * DAY, 3 * DAY], &[100.0, 110.0, 99.0, 108.9]);
        let s = ReturnStats::of(&b);
        let close = |a: f64, e: f64| (a - e).abs() < 1e-12;
        // Returns +10%, -10%, +10%.
        assert!(close(s.total_return, 0.089), "{s:?}");
        assert!(close(s.mean_return, 0.1 / 3.0), "{s:?}");
        // Sample sd of (0.1, -0.1, 0.1): mean 1/30, deviations 2/30, -4/30, 2/30.
        let sd = ((4.0 + 16.0 + 4.0) / 900.0 / 2.0_f64).sqrt();
        assert!(close(s.volatility, sd), "{s:?}");
        assert!(
            close(s.annualized_volatility, sd * 365.25_f64.sqrt()),
            "{s:?}"
        );
        let cagr = 1.089_f64.powf(365.25 / 3.0) - 1.0;
        assert!((s.annualized_return.expect("finite") / cagr - 1.0).abs() < 1e-9);
        assert!(
            close(s.max_drawdown, 0.1),
            "110 -> 99 is the worst fall: {s:?}"
        );
        assert_eq!((s.min_close, s.max_close), (99.0, 110.0));
    }

    #[test]
    fn overflowing_compounding_is_absent_not_infinite() {
        // Doubling within a minute compounds beyond f64 over a year.
        let b = bars(&[0, 30, 60], &[1.0, 1.5, 2.0]);
        assert_eq!(ReturnStats::of(&b).annualized_return, None);
    }
}
