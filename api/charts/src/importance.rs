//! Parameter importance: its estimate from a study's trials ([`importance_of`]) and its chart
//! ([`importance`], horizontal bars).
//!
//! The estimate is the correlation ratio (eta²) of each parameter on its own: how much of the
//! objective's variance the means of quantile bins of that parameter explain. It is cheap,
//! deterministic and needs no model; like any binned estimate it credits an irrelevant parameter
//! with about `(bins - 1) / (trials - 1)` by chance, so small studies look flatter than they are.

use std::ops::Range;

use plotters::element::EmptyElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axis::Axis;
use crate::frame::{self, Area, DrawResult, XLabels};

/// Most quantile bins per parameter.
const BINS: usize = 10;

/// Bar colour.
const BAR: RGBColor = frame::PALETTE[0];

/// Horizontal bars, largest first, each labelled with its share in percent.
///
/// Each item is (name, weight); a share is the weight over the sum of weights (non-finite and
/// negative weights count as 0, so [`importance_of`]'s shares are drawn as they are). The share is
/// written `{:.1}%` after its bar. The chart grows taller past ten bars.
pub fn importance(title: &str, items: &[(String, f64)]) -> String {
    let weight = |w: f64| if w.is_finite() && w > 0.0 { w } else { 0.0 };
    let total: f64 = items.iter().map(|(_, w)| weight(*w)).sum();
    let mut shares: Vec<(String, f64)> = items
        .iter()
        .map(|(name, w)| {
            let share = if total > 0.0 { weight(*w) / total } else { 0.0 };
            (frame::clean(name), share * 100.0)
        })
        .collect();
    shares.sort_by(|a, b| b.1.total_cmp(&a.1));
    let rows = u32::try_from(shares.len()).unwrap_or(u32::MAX);
    let height = rows
        .saturating_mul(30)
        .saturating_add(110)
        .clamp(frame::HEIGHT, 2000);
    frame::document((frame::WIDTH, height), title, |area| draw(area, &shares))
}

/// Draws `shares` (name, percent; largest first) as bars, the first at the top.
fn draw(area: &Area<'_>, shares: &[(String, f64)]) -> DrawResult {
    if shares.is_empty() {
        return frame::no_data(area, "no data");
    }
    let n = shares.len();
    let largest = shares.iter().map(|s| s.1).fold(0.0, f64::max);
    // Room after the longest bar for its label, up to 100%.
    let x = Axis::fixed(0.0, (largest * 1.2).clamp(1.0, 100.0));
    // Row i (0 = largest) is centred at n - i - 0.5, so the largest is at the top.
    let centre = |i: usize| (n - i) as f64 - 0.5;
    let mut y = Axis::fixed(0.0, n as f64);
    y.ticks = (0..n).map(centre).collect();
    let names: Vec<String> = shares
        .iter()
        .map(|(name, _)| frame::shorten(name, 28))
        .collect();
    let name_at = |v: &f64| {
        let row = n as f64 - 0.5 - v;
        (row >= 0.0)
            .then(|| row.round() as usize)
            .and_then(|i| names.get(i))
            .cloned()
            .unwrap_or_default()
    };
    let widest = names.iter().map(|s| s.chars().count()).max().unwrap_or(1);
    let y_area = u32::try_from(widest * 8 + 40).map_or(280, |w| w.clamp(60, 280));
    let mut chart = frame::plot_with(
        area,
        (&x, "share of importance (%)"),
        (&y, "parameter"),
        XLabels::Shown,
        (y_area, &name_at),
    )?;
    let thickness = 0.35;
    chart.draw_series(shares.iter().enumerate().map(|(i, (_, share))| {
        let c = centre(i);
        Rectangle::new(
            [(0.0, c - thickness), (x.clamp(*share), c + thickness)],
            BAR.filled(),
        )
    }))?;
    // A label goes after its bar, or inside it (white on the bar colour, above 5:1) when the bar
    // reaches the right end of the axis.
    let after = frame::text_style(14.0).pos(Pos::new(HPos::Left, VPos::Center));
    let inside = after.color(&WHITE).pos(Pos::new(HPos::Right, VPos::Center));
    chart.draw_series(shares.iter().enumerate().map(|(i, (_, share))| {
        let (offset, style) = if *share > x.hi * 0.85 {
            ((-6, 0), inside.clone())
        } else {
            ((6, 0), after.clone())
        };
        EmptyElement::at((x.clamp(*share), centre(i)))
            + Text::new(format!("{share:.1}%"), offset, style)
    }))?;
    Ok(())
}

/// Parameter importance of a study: for each parameter, the share of the objective's variance explained
/// by the parameter alone (values binned into up to 10 quantile bins; between-bin variance / total variance),
/// normalised so the shares sum to 1 (all zero when the objective does not vary). `trials` are (parameter
/// values in `names` order, objective value); non-finite values are ignored. Returned largest first.
///
/// Bins never split equal parameter values, so a parameter with a few distinct values gets one
/// bin per value. Ties in share keep `names` order. A parameter missing from a trial (a short
/// vector) ignores that trial.
pub fn importance_of(names: &[&str], trials: &[(Vec<f64>, f64)]) -> Vec<(String, f64)> {
    let explained: Vec<f64> = (0..names.len())
        .map(|j| {
            let pairs = trials
                .iter()
                .filter_map(|(xs, y)| {
                    let x = *xs.get(j)?;
                    (x.is_finite() && y.is_finite()).then_some((x, *y))
                })
                .collect();
            explained_share(pairs)
        })
        .collect();
    let total: f64 = explained.iter().sum();
    let mut shares: Vec<(String, f64)> = names
        .iter()
        .zip(explained)
        .map(|(name, e)| {
            let share = if total > 0.0 { e / total } else { 0.0 };
            ((*name).to_owned(), share)
        })
        .collect();
    shares.sort_by(|a, b| b.1.total_cmp(&a.1));
    shares
}

/// Between-bin variance over total variance of the objective, binned by the parameter (0 when
/// the objective does not vary or there are fewer than two pairs).
fn explained_share(mut pairs: Vec<(f64, f64)>) -> f64 {
    let Some((lo, hi)) = crate::axis::bounds(pairs.iter().map(|p| p.1)) else {
        return 0.0;
    };
    if pairs.len() < 2 || lo == hi {
        return 0.0;
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Scaled to at most 1 in magnitude, so squares of huge objectives cannot overflow.
    let scale = lo.abs().max(hi.abs());
    let ys: Vec<f64> = pairs.iter().map(|p| p.1 / scale).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let overall = mean(&ys);
    let total: f64 = ys.iter().map(|y| (y - overall).powi(2)).sum();
    let between: f64 = bins(&pairs)
        .into_iter()
        .map(|range| {
            let bin = &ys[range];
            bin.len() as f64 * (mean(bin) - overall).powi(2)
        })
        .sum();
    let share = between / total;
    if share.is_finite() {
        share.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Index ranges of up to [`BINS`] bins of about equal count over pairs sorted by parameter value;
/// a run of equal values stays in one bin.
fn bins(sorted: &[(f64, f64)]) -> Vec<Range<usize>> {
    let n = sorted.len();
    let mut bins = Vec::with_capacity(BINS);
    let (mut start, mut i) = (0, 0);
    while i < n {
        let value = sorted[i].0;
        while i < n && sorted[i].0 == value {
            i += 1;
        }
        if i == n || i >= (bins.len() + 1) * n / BINS {
            bins.push(start..i);
            start = i;
        }
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every combination of `a` and `b` in 0..10 (a crossed design), objective `f(a, b)`.
    fn grid(f: impl Fn(f64, f64) -> f64) -> Vec<(Vec<f64>, f64)> {
        (0..10)
            .flat_map(|a| (0..10).map(move |b| (f64::from(a), f64::from(b))))
            .map(|(a, b)| (vec![a, b], f(a, b)))
            .collect()
    }

    #[test]
    fn the_parameter_that_determines_the_objective_gets_all_the_importance() {
        // Arrange
        let trials = grid(|a, _| a * a);

        // Act
        let shares = importance_of(&["a", "b"], &trials);

        // Assert
        assert_eq!(shares[0].0, "a", "largest first");
        assert!(
            (shares[0].1 - 1.0).abs() < 1e-9,
            "a explains everything: {shares:?}"
        );
        assert!(shares[1].1.abs() < 1e-9, "b explains nothing: {shares:?}");
    }

    #[test]
    fn shares_sum_to_one_when_both_parameters_matter() {
        // Arrange: a continuous parameter (many distinct values, so ten real quantile bins)
        let trials: Vec<(Vec<f64>, f64)> = (0..200)
            .map(|i| {
                let (a, b) = (f64::from(i) * 0.37 % 7.0, f64::from(i % 4));
                (vec![a, b, f64::NAN], 3.0 * a + b)
            })
            .collect();

        // Act
        let shares = importance_of(&["a", "b", "c"], &trials);

        // Assert
        let sum: f64 = shares.iter().map(|s| s.1).sum();
        assert!((sum - 1.0).abs() < 1e-9, "shares sum to 1: {shares:?}");
        assert_eq!(
            shares[0].0, "a",
            "the larger effect ranks first: {shares:?}"
        );
        assert_eq!(
            shares[2],
            ("c".to_owned(), 0.0),
            "an all-NaN parameter gets nothing"
        );
    }

    #[test]
    fn a_constant_objective_gives_all_zero_shares() {
        // Act
        let shares = importance_of(&["a", "b"], &grid(|_, _| 0.1));

        // Assert
        assert!(
            shares.iter().all(|s| s.1 == 0.0),
            "nothing to explain: {shares:?}"
        );
        assert_eq!(shares[0].0, "a", "ties keep the names' order");
    }

    #[test]
    fn bins_never_split_equal_values_and_stay_at_most_ten() {
        // Arrange: 50 equal values then 50 distinct ones
        let sorted: Vec<(f64, f64)> = (0..100).map(|i| (f64::from(i.max(50)), 0.0)).collect();

        // Act
        let bins = bins(&sorted);

        // Assert
        assert_eq!(bins[0], 0..51, "the run of equal values is one bin");
        assert!(bins.len() <= BINS, "at most ten bins: {bins:?}");
        assert_eq!(
            bins.last().map(|b| b.end),
            Some(100),
            "every pair is binned"
        );
    }

    #[test]
    fn importance_bars_come_largest_first_with_percent_labels() {
        // Arrange
        let items = vec![("slow".to_owned(), 0.25), ("fast".to_owned(), 0.75)];

        // Act
        let svg = importance("Importance", &items);

        // Assert
        let fast = svg.find("75.0%").expect("fast's share");
        let slow = svg.find("25.0%").expect("slow's share");
        assert!(fast < slow, "the largest bar is drawn first");
    }
}
