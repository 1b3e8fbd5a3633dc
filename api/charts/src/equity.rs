//! The equity chart of a backtest: returns and drawdowns of one or more equity lines, the last
//! line's trades, and the out-of-sample region.
//!
//! The legend carries each line's final return, written exactly as
//! `format!("{label}: {:+.2}%", final_return * 100.0)`: end-to-end tests compare that text with
//! the backtest's total return, so it is never shortened or rounded differently.

use plotters::element::{Drawable, EmptyElement, PointCollection};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::TimePoint;
use crate::axis::Axis;
use crate::frame::{self, Area, DrawResult, Plot, XLabels};

/// Height of the equity chart in pixels (two panels).
const HEIGHT: u32 = 600;

/// Long trades' marker colour (Okabe-Ito bluish green).
const LONG: RGBColor = frame::PALETTE[2];

/// Short trades' marker colour (Okabe-Ito reddish purple).
const SHORT: RGBColor = frame::PALETTE[3];

/// Shade of the out-of-sample region.
const OUT_OF_SAMPLE: RGBColor = RGBColor(0x80, 0x80, 0x80);

/// One equity curve of an [`equity`] chart.
#[derive(Clone, Copy, Debug)]
pub struct EquityLine<'a> {
    /// Legend text, followed in the legend by the final return.
    pub label: &'a str,
    /// (unix seconds UTC, equity in cash); non-finite equities are skipped.
    pub points: &'a [TimePoint],
    /// Cash at the start; returns are `equity / initial_cash - 1`.
    pub initial_cash: f64,
}

/// Direction of a trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Bought first, sold to exit: marked with an upward triangle.
    Long,
    /// Sold first, bought back to exit: marked with a downward triangle.
    Short,
}

/// One trade of the last equity line, marked at its entry and its exit.
#[derive(Clone, Copy, Debug)]
pub struct TradeMark {
    /// Entry time (unix seconds UTC).
    pub entry_time: i64,
    /// Exit time (unix seconds UTC).
    pub exit_time: i64,
    /// Long or short.
    pub side: Side,
    /// Profit or loss in cash: the exit square is filled for a win (> 0), hollow otherwise.
    pub pnl: f64,
}

/// Top panel: each line's return in percent (equity / initial_cash - 1) over time; bottom panel:
/// each line's drawdown in percent from its running peak. Trade marks (entries and exits, long vs short
/// distinguishable, drawn on the LAST line) and, when `out_of_sample_from` is given, the region from that
/// time on shaded and labelled "out of sample". Each line gets a text label with its final return,
/// formatted exactly as `format!("{label}: {:+.2}%", final_return * 100.0)` where
/// final_return = last equity / initial_cash - 1.
///
/// "Last equity" is the finite equity at the latest time (points are sorted by time first; with
/// equal times the later one in `points` wins). A line without a finite, non-zero `initial_cash`
/// is labelled `"{label}: n/a"` and not drawn; one without finite points `"{label}: no data"`.
/// Trades go on the last line that has data: entries are triangles (up: long, down: short),
/// exits squares (filled: winning trade); a mark outside that line's time range is not drawn.
pub fn equity(
    title: &str,
    lines: &[EquityLine<'_>],
    trades: &[TradeMark],
    out_of_sample_from: Option<i64>,
) -> String {
    let lines: Vec<Prepared> = lines.iter().map(prepare).collect();
    frame::document((frame::WIDTH, HEIGHT), title, |area| {
        draw(area, &lines, trades, out_of_sample_from)
    })
}

/// An equity line as drawn: its legend text and its curves in percent.
struct Prepared {
    legend: String,
    returns: Vec<(f64, f64)>,
    drawdowns: Vec<(f64, f64)>,
}

fn prepare(line: &EquityLine<'_>) -> Prepared {
    let label = frame::clean(line.label);
    let mut points: Vec<TimePoint> = line
        .points
        .iter()
        .filter(|(_, e)| e.is_finite())
        .copied()
        .collect();
    points.sort_by_key(|p| p.0);
    let cash = line.initial_cash;
    let Some(&(_, last)) = points.last().filter(|_| cash.is_finite() && cash != 0.0) else {
        let reason = if points.is_empty() { "no data" } else { "n/a" };
        return Prepared {
            legend: format!("{label}: {reason}"),
            returns: Vec::new(),
            drawdowns: Vec::new(),
        };
    };
    let final_return = last / cash - 1.0;
    let returns = points
        .iter()
        .map(|&(t, e)| (t as f64, (e / cash - 1.0) * 100.0))
        .collect();
    let mut peak = f64::NEG_INFINITY;
    let drawdowns = points
        .iter()
        .map(|&(t, e)| {
            peak = peak.max(e);
            let drawdown = if peak > 0.0 { e / peak - 1.0 } else { 0.0 };
            (t as f64, drawdown * 100.0)
        })
        .collect();
    Prepared {
        legend: format!("{label}: {:+.2}%", final_return * 100.0),
        returns,
        drawdowns,
    }
}

fn draw(
    area: &Area<'_>,
    lines: &[Prepared],
    trades: &[TradeMark],
    out_of_sample_from: Option<i64>,
) -> DrawResult {
    let times = lines.iter().flat_map(|l| &l.returns).map(|p| p.0);
    let Some(x) = Axis::time(times) else {
        let labels: Vec<&str> = lines.iter().map(|l| l.legend.as_str()).collect();
        let labels = labels.join(", ");
        let area = frame::with_note(area, Some(labels.as_str()).filter(|s| !s.is_empty()))?;
        return frame::no_data(&area, "no data");
    };
    let returns = lines.iter().flat_map(|l| &l.returns).map(|p| p.1);
    let y_returns = Axis::number(returns.chain([0.0])).unwrap_or_else(|| Axis::fixed(-1.0, 1.0));
    let deepest = lines
        .iter()
        .flat_map(|l| &l.drawdowns)
        .map(|p| p.1)
        .fold(0.0, f64::min);
    let lo = (deepest * 1.05).min(-1.0);
    let y_drawdowns = Axis::fixed(lo, -lo * 0.03);
    let y_area = frame::y_label_width(&[&y_returns, &y_drawdowns]);

    let (_, height) = area.dim_in_pixel();
    let (upper, lower) = area.split_vertically(height * 3 / 5);
    let mut top = frame::plot_aligned(
        &upper,
        (&x, "date (UTC)"),
        (&y_returns, "return (%)"),
        XLabels::Hidden,
        y_area,
    )?;
    let mut bottom = frame::plot_aligned(
        &lower,
        (&x, "date (UTC)"),
        (&y_drawdowns, "drawdown (%)"),
        XLabels::Shown,
        y_area,
    )?;
    let mut words = None;
    if let Some(from) = out_of_sample_from {
        words = shade(&mut top, &x, &y_returns, from as f64, true)?;
        shade(&mut bottom, &x, &y_drawdowns, from as f64, false)?;
    }
    for (i, line) in lines.iter().enumerate() {
        let colour = frame::colour(i);
        let style = colour.stroke_width(2);
        let clamped = |points: &[(f64, f64)], y: &Axis| -> Vec<(f64, f64)> {
            points.iter().map(|&(t, v)| (t, y.clamp(v))).collect()
        };
        top.draw_series(std::iter::once(PathElement::new(
            clamped(&line.returns, &y_returns),
            style,
        )))?
        .label(line.legend.clone())
        .legend(frame::line_marker(colour));
        bottom.draw_series(std::iter::once(PathElement::new(
            clamped(&line.drawdowns, &y_drawdowns),
            style,
        )))?;
    }
    if let Some(last) = lines.iter().rev().find(|l| !l.returns.is_empty()) {
        marks(&mut top, &last.returns, &y_returns, trades)?;
    }
    let drawn: Vec<(f64, f64)> = lines
        .iter()
        .flat_map(|l| &l.returns)
        .map(|&(t, r)| (t, y_returns.clamp(r)))
        .collect();
    // The "out of sample" words weigh as much as all the data: the legend never covers them.
    let words = words
        .into_iter()
        .flat_map(|at| std::iter::repeat_n(at, drawn.len() + 1));
    frame::legend(&mut top, drawn.iter().copied().chain(words))
}

/// Shades the panel from `from` to its right edge; the upper panel also gets the words, and
/// their position is returned.
fn shade<'a, 'b: 'a>(
    chart: &mut Plot<'a, 'b>,
    x: &Axis,
    y: &Axis,
    from: f64,
    labelled: bool,
) -> DrawResult<Option<(f64, f64)>> {
    if from >= x.hi {
        return Ok(None);
    }
    let from = x.clamp(from);
    chart.draw_series([Rectangle::new(
        [(from, y.hi), (x.hi, y.lo)],
        OUT_OF_SAMPLE.mix(0.15).filled(),
    )])?;
    chart.draw_series([PathElement::new(
        vec![(from, y.lo), (from, y.hi)],
        frame::MUTED.stroke_width(1),
    )])?;
    if labelled {
        // Near the right edge the words go right-aligned, so they stay inside the plot.
        let near_edge = from > x.lo + (x.hi - x.lo) * 0.8;
        let (at, offset, h) = if near_edge {
            (x.hi, (-6, 6), HPos::Right)
        } else {
            (from, (6, 6), HPos::Left)
        };
        let style = frame::text_style(14.0)
            .color(&frame::MUTED)
            .pos(Pos::new(h, VPos::Top));
        chart.draw_series([
            EmptyElement::at((at, y.hi)) + Text::new("out of sample", offset, style)
        ])?;
        return Ok(Some((at, y.hi)));
    }
    Ok(None)
}

/// Draws the trades' entries and exits on the curve `returns`.
fn marks<'a, 'b: 'a>(
    chart: &mut Plot<'a, 'b>,
    returns: &[(f64, f64)],
    y: &Axis,
    trades: &[TradeMark],
) -> DrawResult {
    let at = |t: i64| value_at(returns, t as f64).map(|v| (t as f64, y.clamp(v)));
    // Shapes tell entries from exits and long from short without colour.
    let up = || Polygon::new(vec![(-6, 5), (6, 5), (0, -6)], LONG.filled());
    let down = || Polygon::new(vec![(-6, -5), (6, -5), (0, 6)], SHORT.filled());
    let won = || Rectangle::new([(-4, -4), (4, 4)], frame::TEXT.filled());
    let lost = || Rectangle::new([(-4, -4), (4, 4)], frame::TEXT.stroke_width(2));
    group(chart, "long entry", entries(trades, Side::Long, at), up)?;
    group(chart, "short entry", entries(trades, Side::Short, at), down)?;
    group(chart, "exit, winning trade", exits(trades, true, at), won)?;
    group(chart, "exit, losing trade", exits(trades, false, at), lost)
}

/// Draws `shape` (in pixels around its anchor) at each of `points`, with a legend entry.
fn group<'a, 'b: 'a, S>(
    chart: &mut Plot<'a, 'b>,
    label: &str,
    points: Vec<(f64, f64)>,
    shape: impl Fn() -> S + 'a,
) -> DrawResult
where
    S: Drawable<SVGBackend<'b>> + 'a,
    for<'p> &'p S: PointCollection<'p, (i32, i32)>,
{
    if points.is_empty() {
        return Ok(());
    }
    let marks: Vec<_> = points
        .into_iter()
        .map(|p| EmptyElement::at(p) + shape())
        .collect();
    chart
        .draw_series(marks)?
        .label(label)
        .legend(move |(x, y)| EmptyElement::at((x + 10, y)) + shape());
    Ok(())
}

fn entries(
    trades: &[TradeMark],
    side: Side,
    at: impl Fn(i64) -> Option<(f64, f64)>,
) -> Vec<(f64, f64)> {
    trades
        .iter()
        .filter(|t| t.side == side)
        .filter_map(|t| at(t.entry_time))
        .collect()
}

fn exits(
    trades: &[TradeMark],
    winning: bool,
    at: impl Fn(i64) -> Option<(f64, f64)>,
) -> Vec<(f64, f64)> {
    trades
        .iter()
        .filter(|t| (t.pnl > 0.0) == winning)
        .filter_map(|t| at(t.exit_time))
        .collect()
}

/// The curve's value at `t`: that of its last point at or before `t`; `None` outside the curve.
fn value_at(points: &[(f64, f64)], t: f64) -> Option<f64> {
    let last = points.last()?;
    if t > last.0 {
        return None;
    }
    let i = points.partition_point(|p| p.0 <= t);
    i.checked_sub(1).map(|i| points[i].1)
}
