//! Time axes: tick positions on round times, whole days or the 1st of a month, and their labels
//! (`YYYY-MM-DD`, with `HH:MM` under two days), all in UTC. Times are unix seconds as `f64`.

use chrono::{DateTime, Datelike, NaiveDate};

use crate::axis::MAX_TICKS;

/// Tick steps below a day, in seconds.
const SUB_DAY_STEPS: [i64; 13] = [
    1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
];

/// Tick steps of whole days before months take over.
const DAY_STEPS: [i64; 3] = [2 * 86400, 7 * 86400, 14 * 86400];

/// Mean length of a month, for choosing a step only (ticks themselves fall on the 1st).
const MONTH_SECONDS: f64 = 30.436_875 * 86400.0;

/// Ticks for `lo..hi` seconds (a finite, non-empty range) on round times, days, or the 1st of a
/// month, and whether their labels need the time of day; `None` beyond the calendar's range
/// (±262,000 years).
pub(crate) fn ticks(lo: f64, hi: f64) -> Option<(Vec<f64>, bool)> {
    let span = hi - lo;
    // Times of day only under two days (daily data reads best on dates), and fewer of them:
    // "YYYY-MM-DD HH:MM" is half again as wide as a date.
    let fits = |step: i64| {
        let ticks = span / step as f64;
        if step >= 86_400 {
            ticks <= MAX_TICKS as f64
        } else {
            ticks <= (MAX_TICKS - 1) as f64 && span < 2.0 * 86_400.0
        }
    };
    match SUB_DAY_STEPS.iter().chain(&DAY_STEPS).find(|s| fits(**s)) {
        Some(&step) => Some((multiples(lo, hi, step as f64), step < 86_400)),
        None => month_ticks(lo, hi, span).map(|ticks| (ticks, false)),
    }
}

/// Multiples of `step` (seconds from the epoch) inside `lo..=hi`.
fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last)
        .take(MAX_TICKS + 2)
        .map(|i| i as f64 * step)
        .collect()
}

/// The 1st of every `n`th month inside `lo..=hi`, `n` chosen from 1-2-3-6 months, then 1-2-5
/// years; `None` outside the calendar's range.
fn month_ticks(lo: f64, hi: f64, span: f64) -> Option<Vec<f64>> {
    let months = [1_i64, 2, 3, 6]
        .into_iter()
        .chain((0..6).flat_map(|e| [1, 2, 5].map(|m| 12 * m * 10_i64.pow(e))))
        .find(|m| span / (*m as f64 * MONTH_SECONDS) <= MAX_TICKS as f64)?;
    let start = DateTime::from_timestamp(lo.floor() as i64, 0)?;
    let index = i64::from(start.year()) * 12 + i64::from(start.month0());
    let mut index = index.div_euclid(months) * months;
    let mut ticks = Vec::new();
    while ticks.len() <= MAX_TICKS + 1 {
        let year = i32::try_from(index.div_euclid(12)).ok()?;
        let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
        let t = NaiveDate::from_ymd_opt(year, month, 1)?
            .and_hms_opt(0, 0, 0)?
            .and_utc()
            .timestamp() as f64;
        if t > hi {
            break;
        }
        if t >= lo {
            ticks.push(t);
        }
        index += months;
    }
    Some(ticks)
}

/// `YYYY-MM-DD` (and ` HH:MM` when asked) in UTC; plain seconds outside the calendar's range.
pub(crate) fn label(seconds: f64, with_time: bool) -> String {
    match DateTime::from_timestamp(seconds.round() as i64, 0) {
        Some(t) if with_time => t.format("%Y-%m-%d %H:%M").to_string(),
        Some(t) => t.format("%Y-%m-%d").to_string(),
        None => format!("{seconds:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use crate::axis::Axis;

    #[test]
    fn time_ticks_are_dates_on_the_first_of_a_month_for_a_year() {
        // Arrange: 2024-01-15 to 2024-12-15
        let axis = Axis::time([1_705_276_800.0, 1_734_220_800.0]).expect("finite values");

        // Act
        let labels: Vec<String> = axis.ticks.iter().map(|t| axis.label(*t)).collect();

        // Assert
        assert_eq!(
            labels,
            [
                "2024-03-01",
                "2024-05-01",
                "2024-07-01",
                "2024-09-01",
                "2024-11-01"
            ],
            "bimonthly ticks on the 1st, written YYYY-MM-DD"
        );
    }

    #[test]
    fn time_ticks_within_a_day_carry_the_time_of_day() {
        // Arrange: 2024-01-01 00:00 to 06:00
        let axis = Axis::time([1_704_067_200.0, 1_704_088_800.0]).expect("finite values");

        // Act
        let first = axis.label(axis.ticks[0]);

        // Assert
        assert_eq!(
            first, "2024-01-01 00:00",
            "sub-day ticks show hours and minutes"
        );
    }

    #[test]
    fn times_beyond_the_calendar_fall_back_to_numbers() {
        // Act
        let axis = Axis::time([-1e18, 1e18]).expect("finite values");

        // Assert
        assert!(!axis.ticks.is_empty(), "numeric ticks instead of dates");
    }
}
