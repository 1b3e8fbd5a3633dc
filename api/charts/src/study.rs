//! Charts of an optimization study: the history of its trials, their parallel coordinates, and
//! the objective against one parameter (slice). Parameter importance is in `importance.rs`.
//!
//! Like the workspace's optimizer, these charts read a higher objective value as better.

use plotters::element::EmptyElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axis::{Axis, short_number};
use crate::frame::{self, Area, DrawResult, XLabels};

/// Colour of trial points.
const POINT: RGBColor = frame::PALETTE[0];

/// Colour of the best-so-far line.
const BEST: RGBColor = frame::PALETTE[1];

/// Lightest and darkest colour of the parallel-coordinates ramp (one hue, so it reads the same
/// with any colour vision).
const RAMP: [(u8, u8, u8); 2] = [(0xc6, 0xdb, 0xef), (0x08, 0x30, 0x6b)];

/// A tuned parameter: one axis of a [`parallel_coordinates`] chart, scaled from `low` to `high`.
#[derive(Clone, Copy, Debug)]
pub struct Param<'a> {
    /// Axis label.
    pub name: &'a str,
    /// Bottom of the axis (the search space's lower bound).
    pub low: f64,
    /// Top of the axis (the search space's upper bound).
    pub high: f64,
}

/// Optimization history: exactly one `<circle` element per trial with a finite value (x = trial number,
/// y = value), NO other `<circle` elements anywhere in this SVG (legend markers must be another shape),
/// plus a best-so-far step line. Trials with non-finite values are not drawn; a text says how many.
///
/// Best means highest (the optimizer maximizes). The text reads
/// `"{n} trials with a non-finite value not shown"` (`"1 trial with …"` for one) and appears
/// only when `n > 0`.
pub fn history(title: &str, trials: &[(u64, f64)]) -> String {
    frame::document((frame::WIDTH, frame::HEIGHT), title, |area| {
        draw_history(area, trials)
    })
}

fn draw_history(area: &Area<'_>, trials: &[(u64, f64)]) -> DrawResult {
    let mut finite: Vec<(f64, f64)> = trials
        .iter()
        .filter(|t| t.1.is_finite())
        .map(|&(n, v)| (n as f64, v))
        .collect();
    finite.sort_by(|a, b| a.0.total_cmp(&b.0));
    let note = skipped_note(
        trials.len() - finite.len(),
        "trial",
        "with a non-finite value",
    );
    let area = frame::with_note(area, note.as_deref())?;
    let x = Axis::number(finite.iter().map(|p| p.0));
    let y = Axis::number(finite.iter().map(|p| p.1));
    let (Some(x), Some(y)) = (x, y) else {
        return frame::no_data(&area, "no data");
    };
    let mut chart = frame::plot(
        &area,
        (&x, "trial"),
        (&y, "objective value"),
        XLabels::Shown,
    )?;
    let points = finite.iter().map(|&(n, v)| (x.clamp(n), y.clamp(v)));
    chart
        .draw_series(points.map(|p| Circle::new(p, 3, POINT.mix(0.75).filled())))?
        .label("trial")
        .legend(|(px, py)| Rectangle::new([(px + 6, py - 4), (px + 14, py + 4)], POINT.filled()));
    let steps: Vec<(f64, f64)> = best_steps(&finite)
        .into_iter()
        .map(|(n, b)| (n, y.clamp(b)))
        .collect();
    chart
        .draw_series([PathElement::new(steps.clone(), BEST.stroke_width(2))])?
        .label("best so far")
        .legend(frame::line_marker(BEST));
    let drawn = finite.iter().map(|&(n, v)| (x.clamp(n), y.clamp(v)));
    frame::legend(&mut chart, drawn.chain(steps))
}

/// The best-so-far curve of trials sorted by number, as a step line (flat until a better trial).
fn best_steps(sorted: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut best = f64::NEG_INFINITY;
    let mut steps = Vec::with_capacity(sorted.len() * 2);
    for &(n, v) in sorted {
        if best.is_finite() {
            steps.push((n, best));
        }
        if v > best {
            best = v;
            steps.push((n, best));
        }
    }
    steps
}

/// `"{n} {noun}s {reason} not shown"`, or nothing when `n` is 0.
fn skipped_note(n: usize, noun: &str, reason: &str) -> Option<String> {
    let plural = if n == 1 { "" } else { "s" };
    (n > 0).then(|| format!("{n} {noun}{plural} {reason} not shown"))
}

/// Parallel coordinates: one axis per parameter (scaled low..high) plus a last axis for the value;
/// one polyline per trial, coloured by value (better = darker/stronger).
///
/// `trials` are (parameter values in `params` order, objective value). A trial with a non-finite
/// number or the wrong count of values is not drawn (a text says how many). A parameter whose
/// `low..high` is not a finite, non-empty range is scaled to its trials' values instead.
pub fn parallel_coordinates(
    title: &str,
    params: &[Param<'_>],
    trials: &[(Vec<f64>, f64)],
) -> String {
    let names: Vec<String> = params.iter().map(|p| frame::clean(p.name)).collect();
    frame::document((frame::WIDTH, frame::HEIGHT), title, |area| {
        draw_parallel(area, params, &names, trials)
    })
}

fn draw_parallel(
    area: &Area<'_>,
    params: &[Param<'_>],
    names: &[String],
    trials: &[(Vec<f64>, f64)],
) -> DrawResult {
    let mut valid: Vec<&(Vec<f64>, f64)> = trials
        .iter()
        .filter(|(xs, v)| {
            xs.len() == params.len() && v.is_finite() && xs.iter().all(|x| x.is_finite())
        })
        .collect();
    // Worst first, so the best lines end up on top.
    valid.sort_by(|a, b| a.1.total_cmp(&b.1));
    let skipped = skipped_note(
        trials.len() - valid.len(),
        "trial",
        "with a missing or non-finite value",
    );
    let note = match skipped {
        Some(s) => format!("darker lines: higher objective value; {s}"),
        None => "darker lines: higher objective value".to_owned(),
    };
    let area = frame::with_note(area, Some(&note))?;
    if valid.is_empty() {
        return frame::no_data(&area, "no data");
    }

    // Each axis as (low, high, label); the value axis last.
    let mut axes: Vec<(f64, f64, String)> = params
        .iter()
        .zip(names)
        .enumerate()
        .map(|(j, (p, name))| {
            let (low, high) = if p.low.is_finite() && p.high.is_finite() && p.low != p.high {
                (p.low, p.high)
            } else {
                crate::axis::bounds(valid.iter().map(|t| t.0[j])).unwrap_or((0.0, 1.0))
            };
            (low, high, name.clone())
        })
        .collect();
    let (vmin, vmax) = crate::axis::bounds(valid.iter().map(|t| t.1)).unwrap_or((0.0, 1.0));
    axes.push((vmin, vmax, "objective value".to_owned()));

    let last = (axes.len() - 1) as f64;
    let x_range = if axes.len() == 1 {
        -0.5..0.5
    } else {
        0.0..last
    };
    let mut chart = ChartBuilder::on(&area)
        .margin_top(30)
        .margin_bottom(52)
        .margin_left(56)
        .margin_right(56)
        .build_cartesian_2d(x_range, 0.0..1.0)?;
    let (plot_width, _) = chart.plotting_area().dim_in_pixel();
    let spacing = plot_width as f64 / axes.len() as f64;
    let name_chars = ((spacing / 8.0) as usize).clamp(4, 24);
    let label_style = frame::text_style(14.0);

    for (j, (low, high, name)) in axes.iter().enumerate() {
        let x = j as f64;
        chart.draw_series([PathElement::new(
            vec![(x, 0.0), (x, 1.0)],
            frame::TEXT.stroke_width(1),
        )])?;
        let centred = |v: VPos| label_style.pos(Pos::new(HPos::Center, v));
        chart.draw_series([EmptyElement::at((x, 1.0))
            + Text::new(short_number(*high), (0, -6), centred(VPos::Bottom))])?;
        chart
            .draw_series([EmptyElement::at((x, 0.0))
                + Text::new(short_number(*low), (0, 6), centred(VPos::Top))])?;
        chart.draw_series([EmptyElement::at((x, 0.0))
            + Text::new(
                frame::shorten(name, name_chars),
                (0, 26),
                frame::text_style(14.0).pos(Pos::new(HPos::Center, VPos::Top)),
            )])?;
    }

    let scale = |v: f64, low: f64, high: f64| {
        let t = (v - low) / (high - low);
        if t.is_finite() {
            t.clamp(0.0, 1.0)
        } else {
            0.5
        }
    };
    let lines = valid.iter().map(|(xs, v)| {
        let rank = scale(*v, vmin, vmax);
        let points: Vec<(f64, f64)> = xs
            .iter()
            .chain([v])
            .zip(&axes)
            .enumerate()
            .map(|(j, (x, (low, high, _)))| (j as f64, scale(*x, *low, *high)))
            .collect();
        PathElement::new(points, ramp(rank).mix(0.35 + 0.6 * rank).stroke_width(2))
    });
    chart.draw_series(lines)?;
    Ok(())
}

/// The ramp's colour at `t` in 0..=1 (0 lightest, 1 darkest).
fn ramp(t: f64) -> RGBColor {
    let [(r0, g0, b0), (r1, g1, b1)] = RAMP;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    RGBColor(mix(r0, r1), mix(g0, g1), mix(b0, b1))
}

/// Objective value against one parameter's value, one point per trial.
///
/// `points` are (parameter value, objective value); each finite one is a dot, the others are
/// counted in a text. `param` names the x axis.
pub fn slice(title: &str, param: &str, points: &[(f64, f64)]) -> String {
    let param = frame::clean(param);
    frame::document((frame::WIDTH, frame::HEIGHT), title, |area| {
        let finite: Vec<(f64, f64)> = points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .copied()
            .collect();
        let note = skipped_note(
            points.len() - finite.len(),
            "trial",
            "with a non-finite value",
        );
        let area = frame::with_note(area, note.as_deref())?;
        let x = Axis::number(finite.iter().map(|p| p.0));
        let y = Axis::number(finite.iter().map(|p| p.1));
        let (Some(x), Some(y)) = (x, y) else {
            return frame::no_data(&area, "no data");
        };
        let mut chart = frame::plot(&area, (&x, &param), (&y, "objective value"), XLabels::Shown)?;
        let dots = finite
            .iter()
            .map(|&(px, py)| Circle::new((x.clamp(px), y.clamp(py)), 3, POINT.mix(0.75).filled()));
        chart.draw_series(dots)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_steps_climb_only_on_a_better_trial() {
        // Act
        let steps = best_steps(&[(0.0, 1.0), (1.0, 0.5), (2.0, 2.0)]);

        // Assert
        assert_eq!(
            steps,
            [(0.0, 1.0), (1.0, 1.0), (2.0, 1.0), (2.0, 2.0)],
            "flat through the worse trial, then up"
        );
    }

    #[test]
    fn history_draws_one_circle_per_finite_trial_and_counts_the_rest() {
        // Arrange
        let trials = [
            (0, 1.0),
            (1, f64::NAN),
            (2, 3.0),
            (3, f64::INFINITY),
            (4, 2.5),
        ];

        // Act
        let svg = history("Study", &trials);

        // Assert
        assert_eq!(
            svg.matches("<circle").count(),
            3,
            "one circle per finite trial, no other"
        );
        assert!(
            svg.contains("2 trials with a non-finite value not shown"),
            "the skipped trials are counted"
        );
    }

    #[test]
    fn parallel_coordinates_draws_one_line_per_trial_darkest_last() {
        // Arrange
        let params = [
            Param {
                name: "fast",
                low: 2.0,
                high: 20.0,
            },
            Param {
                name: "slow",
                low: 10.0,
                high: 100.0,
            },
        ];
        let trials = vec![
            (vec![5.0, 50.0], 2.0),
            (vec![10.0, 20.0], 1.0),
            (vec![1.0], 3.0),
        ];

        // Act
        let svg = parallel_coordinates("Study", &params, &trials);

        // Assert
        let lines: Vec<&str> = svg.lines().filter(|l| l.starts_with("<polyline")).collect();
        let trial_lines = &lines[lines.len() - 2..];
        assert!(
            trial_lines[1].contains("stroke=\"#08306B\""),
            "the best trial is drawn last, in the darkest colour: {trial_lines:?}"
        );
        assert!(
            svg.contains("1 trial with a missing or non-finite value not shown"),
            "the short trial is counted"
        );
    }
}
