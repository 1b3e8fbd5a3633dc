//! A forecast over time: the observed series as a line, then the forecast's point as a line of
//! its own over a shaded band from its interval's lower to upper bound.

use plotters::prelude::*;

use crate::TimePoint;
use crate::axis::Axis;
use crate::frame::{self, XLabels};

/// One forecast point: its time (unix seconds, UTC), the point forecast and its interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BandPoint {
    /// When (unix seconds, UTC).
    pub at: i64,
    /// Point forecast.
    pub point: f64,
    /// Lower bound of the interval.
    pub lower: f64,
    /// Upper bound of the interval.
    pub upper: f64,
}

/// Observed values, then the forecast with its interval as a band (legend: observed, forecast,
/// `band_label`). Non-finite values are left out; "no data" when nothing is left.
pub fn forecast(
    title: &str,
    y_label: &str,
    band_label: &str,
    observed: &[TimePoint],
    ahead: &[BandPoint],
) -> String {
    let observed: Vec<(f64, f64)> = observed
        .iter()
        .map(|&(t, v)| (t as f64, v))
        .filter(|(_, v)| v.is_finite())
        .collect();
    let ahead: Vec<BandPoint> = ahead
        .iter()
        .copied()
        .filter(|b| b.point.is_finite() && b.lower.is_finite() && b.upper.is_finite())
        .collect();
    let y_label = frame::clean(y_label);
    let band_label = frame::clean(band_label);
    frame::document((frame::WIDTH, frame::HEIGHT), title, |area| {
        let xs = observed
            .iter()
            .map(|p| p.0)
            .chain(ahead.iter().map(|b| b.at as f64));
        let ys = observed
            .iter()
            .map(|p| p.1)
            .chain(ahead.iter().flat_map(|b| [b.lower, b.point, b.upper]));
        let (Some(x), Some(y)) = (Axis::time(xs), Axis::number(ys)) else {
            return frame::no_data(area, "no data");
        };
        let mut chart = frame::plot(area, (&x, "date (UTC)"), (&y, &y_label), XLabels::Shown)?;
        let at = |t: f64, v: f64| (x.clamp(t), y.clamp(v));
        let (seen, fore) = (frame::colour(0), frame::colour(1));
        if !ahead.is_empty() {
            let band: Vec<(f64, f64)> = ahead
                .iter()
                .map(|b| at(b.at as f64, b.upper))
                .chain(ahead.iter().rev().map(|b| at(b.at as f64, b.lower)))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(band, fore.mix(0.2).filled())))?
                .label(frame::shorten(&band_label, 40))
                .legend(move |(px, py)| {
                    Rectangle::new([(px, py - 5), (px + 20, py + 5)], fore.mix(0.2).filled())
                });
        }
        let lines = [
            (
                "observed",
                seen,
                observed.iter().map(|p| at(p.0, p.1)).collect::<Vec<_>>(),
            ),
            (
                "forecast",
                fore,
                ahead.iter().map(|b| at(b.at as f64, b.point)).collect(),
            ),
        ];
        for (label, colour, points) in &lines {
            if points.is_empty() {
                continue;
            }
            let drawn: Vec<DynElement<'_, _, _>> = if points.len() == 1 {
                vec![Circle::new(points[0], 3, colour.filled()).into_dyn()]
            } else {
                vec![PathElement::new(points.clone(), colour.stroke_width(2)).into_dyn()]
            };
            chart
                .draw_series(drawn)?
                .label(*label)
                .legend(frame::line_marker(*colour));
        }
        let drawn = lines.iter().flat_map(|l| l.2.iter().copied());
        frame::legend(&mut chart, drawn)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_band_spans_the_interval_and_the_legend_names_every_part() {
        // Arrange
        let observed = [(1_800_000_000, 100.0), (1_802_592_000, 120.0)];
        let ahead = [
            BandPoint {
                at: 1_805_184_000,
                point: 110.0,
                lower: 90.0,
                upper: 130.0,
            },
            BandPoint {
                at: 1_807_776_000,
                point: 105.0,
                lower: 70.0,
                upper: 140.0,
            },
        ];

        // Act
        let svg = forecast("Revenue", "charges", "95% interval", &observed, &ahead);

        // Assert
        for text in [
            "<title>Revenue</title>",
            "observed",
            "forecast",
            "95% interval",
        ] {
            assert!(svg.contains(text), "{text} is drawn");
        }
        assert!(svg.contains("<polygon"), "the interval is a shaded band");
        let empty = forecast("Revenue", "charges", "95% interval", &[], &[]);
        assert!(empty.contains("no data"));
    }
}
