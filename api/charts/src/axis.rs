//! Axis ranges, tick positions and tick labels.
//!
//! Plotters' own float key-point search loops forever on an infinite span and is fragile on
//! degenerate ones, so every chart gets its range and ticks from here: the range is always finite
//! and wider than zero, the ticks are computed once, and [`Axis`] is itself the plotters
//! coordinate (its key points are our ticks), and the labels are ours (plain numbers, or
//! `YYYY-MM-DD` dates in UTC).

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

use crate::dates;

/// Values beyond this magnitude are clamped, so a span (`hi - lo`) can never overflow to infinity.
pub(crate) const LIMIT: f64 = 1e300;

/// At most this many ticks on a numeric axis (a few more fit, but labels start to crowd).
pub(crate) const MAX_TICKS: usize = 6;

/// One axis: its range, its tick positions and how they are written.
#[derive(Clone, Debug)]
pub(crate) struct Axis {
    /// Lower end of the drawn range.
    pub(crate) lo: f64,
    /// Upper end of the drawn range (always greater than `lo`).
    pub(crate) hi: f64,
    /// Tick positions inside `lo..=hi`.
    pub(crate) ticks: Vec<f64>,
    format: Format,
}

#[derive(Clone, Copy, Debug)]
enum Format {
    /// Fixed-point with this many decimals.
    Fixed(usize),
    /// Scientific with this many decimals in the mantissa.
    Scientific(usize),
    /// A UTC date, with the time of day when ticks are less than a day apart.
    Date { with_time: bool },
}

impl Axis {
    /// A numeric axis around the finite values (5% padding each side); `None` without any.
    pub(crate) fn number(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let (lo, hi) = bounds(values)?;
        let (lo, hi) = pad(lo, hi);
        Some(Self::fixed(lo, hi))
    }

    /// A numeric axis over exactly `lo..hi` (widened when degenerate).
    pub(crate) fn fixed(lo: f64, hi: f64) -> Self {
        let (lo, hi) = sane(lo, hi);
        let (ticks, step) = nice_ticks(lo, hi, MAX_TICKS);
        Self {
            lo,
            hi,
            ticks,
            format: number_format(lo, hi, step),
        }
    }

    /// A time axis (values are unix seconds, UTC) around the finite values; `None` without any.
    pub(crate) fn time(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let (lo, hi) = bounds(values)?;
        let (lo, hi) = if hi - lo < 60.0 {
            // A single instant: show the day around it.
            let mid = lo / 2.0 + hi / 2.0;
            (mid - 43_200.0, mid + 43_200.0)
        } else {
            let margin = (hi - lo) * 0.02;
            (lo - margin, hi + margin)
        };
        Some(time_axis(lo, hi))
    }

    /// `v` moved inside the range (plotters does not clip, and a point outside would be drawn
    /// over the labels).
    pub(crate) fn clamp(&self, v: f64) -> f64 {
        v.clamp(self.lo, self.hi)
    }

    /// The tick label for `v`.
    pub(crate) fn label(&self, v: f64) -> String {
        // Adding 0.0 turns -0.0 into 0.0, so no tick reads "-0".
        let v = v + 0.0;
        match self.format {
            Format::Fixed(decimals) => format!("{v:.decimals$}"),
            Format::Scientific(decimals) => format!("{v:.decimals$e}"),
            Format::Date { with_time } => dates::label(v, with_time),
        }
    }

    /// The longest tick label in characters (to size the label area).
    pub(crate) fn widest_label(&self) -> usize {
        self.ticks
            .iter()
            .map(|&t| self.label(t).chars().count())
            .max()
            .unwrap_or(1)
    }
}

impl Ranged for Axis {
    // Tick labels always come from `Axis::label` through the mesh's formatters; the default
    // (`Debug`) formatter only satisfies plotters' bounds.
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, (from, to): (i32, i32)) -> i32 {
        let t = (value - self.lo) / (self.hi - self.lo);
        let pixel = f64::from(from) + (f64::from(to) - f64::from(from)) * t;
        // A stray value far outside the range lands far off the canvas, never overflows (`as`
        // saturates, NaN becomes 0).
        pixel.round().clamp(-1e6, 1e6) as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Only bold grid lines, at our ticks; no light ones in between.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// `v` in about four significant digits, without trailing zeros (an axis end, a bar's value).
pub(crate) fn short_number(v: f64) -> String {
    let v = v + 0.0;
    let magnitude = v.abs();
    if magnitude != 0.0 && !(1e-3..1e6).contains(&magnitude) {
        return format!("{v:.3e}");
    }
    let decimals = if magnitude == 0.0 {
        0.0
    } else {
        3.0 - magnitude.log10().floor()
    };
    let decimals = decimals.clamp(0.0, 6.0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// The finite values' min and max, clamped to `±LIMIT`.
pub(crate) fn bounds(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .map(|v| v.clamp(-LIMIT, LIMIT))
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
        })
}

/// `lo..hi` with 5% padding, or ±10% (±1 around zero) when all values are (nearly) equal.
fn pad(lo: f64, hi: f64) -> (f64, f64) {
    if is_degenerate(lo, hi) {
        return sane(lo, hi);
    }
    let margin = (hi - lo) * 0.05;
    (lo - margin, hi + margin)
}

/// A finite range wider than zero: degenerate ranges are widened around their middle.
fn sane(lo: f64, hi: f64) -> (f64, f64) {
    let lo = if lo.is_finite() {
        lo.clamp(-LIMIT, LIMIT)
    } else {
        0.0
    };
    let hi = if hi.is_finite() {
        hi.clamp(-LIMIT, LIMIT)
    } else {
        0.0
    };
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    if !is_degenerate(lo, hi) {
        return (lo, hi);
    }
    let mid = lo / 2.0 + hi / 2.0;
    let half = if mid.abs() > 1e-300 {
        mid.abs() * 0.1
    } else {
        1.0
    };
    (mid - half, mid + half)
}

/// Too narrow to tick: below a relative 1e-12 (float noise) or an absolute 1e-200.
fn is_degenerate(lo: f64, hi: f64) -> bool {
    let span = hi - lo;
    span <= lo.abs().max(hi.abs()) * 1e-12 || span < 1e-200
}

/// Multiples of a 1-2-5 step inside `lo..=hi`, at most `max` (+1) of them, and the step.
fn nice_ticks(lo: f64, hi: f64, max: usize) -> (Vec<f64>, f64) {
    let raw = (hi - lo) / max as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    if !(step.is_finite() && step > 0.0) {
        return (vec![lo, hi], hi - lo);
    }
    // `sane` keeps the span above 1e-12 of the magnitude, so these indices fit an i64 exactly.
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    let ticks = (first..=last)
        .take(max + 2)
        .map(|i| i as f64 * step)
        .map(|v| if v.abs() < step * 1e-9 { 0.0 } else { v })
        .collect();
    (ticks, step)
}

/// Enough decimals to tell ticks `step` apart; scientific for very large or very small values.
fn number_format(lo: f64, hi: f64, step: f64) -> Format {
    let magnitude = lo.abs().max(hi.abs());
    if !(1e-4..1e9).contains(&magnitude) {
        let digits = (magnitude / step).log10().ceil();
        let digits = if digits.is_finite() {
            digits.clamp(0.0, 14.0)
        } else {
            2.0
        };
        return Format::Scientific(digits as usize);
    }
    let decimals = -step.log10().floor();
    let decimals = if decimals.is_finite() {
        decimals.clamp(0.0, 12.0)
    } else {
        0.0
    };
    Format::Fixed(decimals as usize)
}

/// A time axis over `lo..hi` seconds (dates from [`dates`], plain numbers of seconds beyond
/// the calendar).
fn time_axis(lo: f64, hi: f64) -> Axis {
    let (lo, hi) = sane(lo, hi);
    match dates::ticks(lo, hi) {
        Some((ticks, with_time)) => Axis {
            lo,
            hi,
            ticks,
            format: Format::Date { with_time },
        },
        None => Axis::fixed(lo, hi),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_of_a_plain_range_are_round_numbers_inside_it() {
        // Arrange
        let axis = Axis::fixed(0.0, 10.0);

        // Act
        let labels: Vec<String> = axis.ticks.iter().map(|t| axis.label(*t)).collect();

        // Assert
        assert_eq!(
            labels,
            ["0", "2", "4", "6", "8", "10"],
            "ticks fall on 1-2-5 steps"
        );
    }

    #[test]
    fn degenerate_and_extreme_ranges_become_finite_and_wide() {
        for (lo, hi) in [
            (5.0, 5.0),
            (0.0, 0.0),
            (1e15, 1e15 + 1e-3),
            (-f64::MAX, f64::MAX),
            (f64::NAN, f64::INFINITY),
            (1e-320, 2e-320),
        ] {
            // Act
            let axis = Axis::fixed(lo, hi);

            // Assert
            assert!(
                axis.lo.is_finite() && axis.hi.is_finite(),
                "{lo}..{hi}: finite range"
            );
            assert!(axis.hi > axis.lo, "{lo}..{hi}: range wider than zero");
            assert!(
                axis.ticks.len() <= MAX_TICKS + 2,
                "{lo}..{hi}: bounded tick count"
            );
            assert!(
                axis.ticks.iter().all(|t| (axis.lo..=axis.hi).contains(t)),
                "{lo}..{hi}: ticks inside the range"
            );
        }
    }

    #[test]
    fn short_numbers_keep_four_significant_digits() {
        let cases = [
            (0.98, "0.98"),
            (-13.94321, "-13.94"),
            (20.0, "20"),
            (0.5, "0.5"),
            (-0.0, "0"),
        ];
        for (v, text) in cases {
            assert_eq!(short_number(v), text, "{v}");
        }
        assert_eq!(short_number(1.5e7), "1.500e7", "large values go scientific");
    }
}
