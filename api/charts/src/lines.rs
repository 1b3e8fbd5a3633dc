//! Line charts of one or more series: over a numeric x ([`lines`]: loss or reward per epoch) or
//! over time ([`time_lines`]: revenue, subscribers, queue depth; and [`crate::price()`]).
//!
//! A non-finite point breaks its line (a diverged loss is a gap, not a bridge); a point alone
//! between gaps is drawn as a dot so it does not vanish.

use plotters::prelude::*;

use crate::TimePoint;
use crate::axis::Axis;
use crate::frame::{self, Area, DrawResult, XLabels};

/// A named series of (x, y) points, drawn as one line of a [`lines`] chart.
#[derive(Clone, Copy, Debug)]
pub struct Series<'a> {
    /// Legend text.
    pub label: &'a str,
    /// Points in drawing order; non-finite ones leave a gap.
    pub points: &'a [(f64, f64)],
}

/// A named series of points over time, drawn as one line of a [`time_lines`] chart.
#[derive(Clone, Copy, Debug)]
pub struct TimeSeries<'a> {
    /// Legend text.
    pub label: &'a str,
    /// Points in drawing order; non-finite values leave a gap.
    pub points: &'a [TimePoint],
}

/// Generic x/y line chart (training loss/reward curves per epoch, several series, with a legend).
///
/// `x_label` and `y_label` describe the axes (with their unit, if any). Series are coloured in
/// order from a colour-blind-safe palette.
pub fn lines(title: &str, x_label: &str, y_label: &str, series: &[Series<'_>]) -> String {
    let curves: Vec<Curve> = series
        .iter()
        .map(|s| Curve {
            label: Some(frame::clean(s.label)),
            points: s.points.to_vec(),
        })
        .collect();
    let x_label = frame::clean(x_label);
    let y_label = frame::clean(y_label);
    frame::document((frame::WIDTH, frame::HEIGHT), title, |area| {
        draw(area, XScale::Number, (&x_label, &y_label), &curves)
    })
}

/// Line chart over time (revenue, subscribers, queue depth), several series, with a legend.
///
/// Times are unix seconds (UTC); the time axis reads `YYYY-MM-DD` (with `HH:MM` when the range is
/// shorter than a few days). `y_label` describes the values (with their unit, if any).
pub fn time_lines(title: &str, y_label: &str, series: &[TimeSeries<'_>]) -> String {
    let curves: Vec<Curve> = series
        .iter()
        .map(|s| Curve {
            label: Some(frame::clean(s.label)),
            points: timed(s.points),
        })
        .collect();
    let y_label = frame::clean(y_label);
    frame::document((frame::WIDTH, frame::HEIGHT), title, |area| {
        draw(area, XScale::Time, ("date (UTC)", &y_label), &curves)
    })
}

/// One line to draw: its legend text (none for a single unnamed line) and its points.
pub(crate) struct Curve {
    pub(crate) label: Option<String>,
    pub(crate) points: Vec<(f64, f64)>,
}

/// How the x values are read.
#[derive(Clone, Copy)]
pub(crate) enum XScale {
    /// Plain numbers.
    Number,
    /// Unix seconds, labelled as UTC dates.
    Time,
}

/// Time points as plot coordinates (unix seconds as `f64`: exact for any date of this era).
pub(crate) fn timed(points: &[TimePoint]) -> Vec<(f64, f64)> {
    points.iter().map(|&(t, v)| (t as f64, v)).collect()
}

/// Draws `curves` on one plot with a legend of the labelled ones; "no data" without any
/// finite point.
pub(crate) fn draw(
    area: &Area<'_>,
    scale: XScale,
    (x_desc, y_desc): (&str, &str),
    curves: &[Curve],
) -> DrawResult {
    let finite = || {
        curves
            .iter()
            .flat_map(|c| &c.points)
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    let xs = finite().map(|p| p.0);
    let x = match scale {
        XScale::Number => Axis::number(xs),
        XScale::Time => Axis::time(xs),
    };
    let (Some(x), Some(y)) = (x, Axis::number(finite().map(|p| p.1))) else {
        return frame::no_data(area, "no data");
    };
    let mut chart = frame::plot(area, (&x, x_desc), (&y, y_desc), XLabels::Shown)?;
    for (i, curve) in curves.iter().enumerate() {
        let colour = frame::colour(i);
        let segments = segments(&curve.points, &x, &y);
        let lines = segments
            .iter()
            .filter(|s| s.len() > 1)
            .map(|s| PathElement::new(s.clone(), colour.stroke_width(2)));
        let dots = segments
            .iter()
            .filter(|s| s.len() == 1)
            .map(|s| Circle::new(s[0], 3, colour.filled()));
        let annotation = chart.draw_series(lines)?;
        if let Some(label) = &curve.label {
            annotation
                .label(frame::shorten(label, 40))
                .legend(frame::line_marker(colour));
        }
        chart.draw_series(dots)?;
    }
    if curves.iter().any(|c| c.label.is_some()) {
        let drawn = curves
            .iter()
            .flat_map(|c| segments(&c.points, &x, &y))
            .flatten();
        frame::legend(&mut chart, drawn)?;
    }
    Ok(())
}

/// Runs of consecutive finite points, clamped into the axes' ranges.
fn segments(points: &[(f64, f64)], x: &Axis, y: &Axis) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    let mut run = Vec::new();
    for &(px, py) in points {
        if px.is_finite() && py.is_finite() {
            run.push((x.clamp(px), y.clamp(py)));
        } else if !run.is_empty() {
            runs.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_finite_point_breaks_the_line() {
        // Arrange
        let axis = Axis::fixed(0.0, 10.0);
        let points = [(0.0, 1.0), (1.0, 2.0), (2.0, f64::NAN), (3.0, 4.0)];

        // Act
        let runs = segments(&points, &axis, &axis);

        // Assert
        assert_eq!(runs.len(), 2, "the NaN splits the series in two");
        assert_eq!(
            runs[1],
            [(3.0, 4.0)],
            "the lone point after the gap is kept"
        );
    }

    #[test]
    fn every_series_label_reaches_the_legend() {
        // Arrange
        let train = [(1.0, 0.9), (2.0, 0.5), (3.0, 0.3)];
        let valid = [(1.0, 1.0), (2.0, 0.7), (3.0, 0.6)];
        let series = [
            Series {
                label: "train loss",
                points: &train,
            },
            Series {
                label: "validation loss",
                points: &valid,
            },
        ];

        // Act
        let svg = lines("Loss", "epoch", "loss", &series);

        // Assert
        assert!(svg.contains("train loss"), "first series in the legend");
        assert!(
            svg.contains("validation loss"),
            "second series in the legend"
        );
        for colour in ["#0072B2", "#D55E00"] {
            let drawn = svg
                .lines()
                .filter(|l| l.starts_with("<polyline") && l.contains(colour))
                .count();
            assert_eq!(drawn, 2, "{colour}: the series' line and its legend marker");
        }
    }
}
