//! The frame every chart shares: the SVG document (size, `role="img"`, `<title>`), the title
//! line, notes, "no data", the axes and legend, the palette and text cleaning.
//!
//! Text: plotters without font features lays text out with a crude size estimate and the SVG
//! backend writes real `<text>` elements (the viewer's sans-serif font draws them), escaping
//! `<`, `>`, `&`, `"` and `'` itself. So caller text is handed to plotters unescaped (escaping
//! it here would show `&amp;lt;`), only [`clean`]ed of characters XML cannot hold; the one piece
//! of text written by hand, the `<title>`, goes through [`escape`].

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axis::Axis;

/// Error of any plotters call on the SVG backend (it writes to a `String`, so in practice none).
pub(crate) type DrawError = DrawingAreaErrorKind<std::io::Error>;

/// Result of a drawing step.
pub(crate) type DrawResult<T = ()> = Result<T, DrawError>;

/// A region of the SVG in pixels.
pub(crate) type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;

/// A cartesian plot with our ticks on both axes.
pub(crate) type Plot<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Axis, Axis>>;

/// Width of every chart in pixels (the `viewBox` lets CSS scale it).
pub(crate) const WIDTH: u32 = 800;

/// Height of a one-panel chart in pixels.
pub(crate) const HEIGHT: u32 = 400;

/// The one font family: no font files are read, the viewer picks its sans-serif.
const FONT: &str = "sans-serif";

/// Text colour: near-black on white (contrast above 16:1).
pub(crate) const TEXT: RGBColor = RGBColor(0x1a, 0x1a, 0x1a);

/// Secondary text (notes, "no data"): still above 7:1 on white.
pub(crate) const MUTED: RGBColor = RGBColor(0x4d, 0x4d, 0x4d);

/// Grid lines: light enough to stay behind the data.
pub(crate) const GRID: RGBColor = RGBColor(0xe0, 0xe0, 0xe0);

/// Okabe-Ito, the colour-blind-safe palette, without its yellow (too pale on white).
pub(crate) const PALETTE: [RGBColor; 7] = [
    RGBColor(0x00, 0x72, 0xb2), // blue
    RGBColor(0xd5, 0x5e, 0x00), // vermillion
    RGBColor(0x00, 0x9e, 0x73), // bluish green
    RGBColor(0xcc, 0x79, 0xa7), // reddish purple
    RGBColor(0xe6, 0x9f, 0x00), // orange
    RGBColor(0x56, 0xb4, 0xe9), // sky blue
    RGBColor(0x00, 0x00, 0x00), // black
];

/// The `i`th series colour (the palette repeats after seven series).
pub(crate) fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Text of `px` pixels in the text colour.
pub(crate) fn text_style(px: f64) -> TextStyle<'static> {
    // The SVG backend writes `size / 1.24` as the font size (whole numbers of pixels stay whole
    // for the even sizes used here).
    TextStyle::from((FONT, px * 1.24).into_font()).color(&TEXT)
}

/// Draws a chart of `size` into a complete SVG document titled `title`.
///
/// `draw` gets the area below the title line. A drawing error (the `String` backend has none in
/// practice) still yields a valid document that says the chart could not be drawn.
pub(crate) fn document<F>(size: (u32, u32), title: &str, draw: F) -> String
where
    F: FnOnce(&Area<'_>) -> DrawResult,
{
    let title = clean(title);
    let mut body = String::new();
    let outcome = {
        let root = SVGBackend::with_string(&mut body, size).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|()| root.titled(&shorten(&title, 70), text_style(20.0)))
            .and_then(|area| draw(&area))
            .and_then(|()| root.present())
    };
    match (outcome, body.strip_prefix("<svg")) {
        (Ok(()), Some(rest)) => with_title(rest, &title),
        _ => fallback(size, &title),
    }
}

/// The root tag gains `role="img"` and its first child becomes the `<title>`.
fn with_title(rest: &str, title: &str) -> String {
    // plotters escapes attribute values, so the first '>' closes the root tag.
    let end = rest.find('>').map_or(rest.len(), |i| i + 1);
    let (attributes, children) = rest.split_at(end);
    format!(
        "<svg role=\"img\"{attributes}\n<title>{}</title>{children}",
        escape(title)
    )
}

/// A document written by hand for the (unexpected) case where plotters failed.
fn fallback(size: (u32, u32), title: &str) -> String {
    let (w, h) = size;
    format!(
        "<svg role=\"img\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         xmlns=\"http://www.w3.org/2000/svg\">\n<title>{}</title>\n\
         <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#FFFFFF\"/>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-family=\"{FONT}\" font-size=\"16\" \
         fill=\"#1A1A1A\">chart could not be drawn</text>\n</svg>\n",
        escape(title),
        w / 2,
        h / 2,
    )
}

/// Writes `message` (e.g. "no data") in the middle of `area`.
pub(crate) fn no_data(area: &Area<'_>, message: &str) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    let style = text_style(18.0)
        .color(&MUTED)
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(message.to_owned(), (half(w), half(h)), style))
}

/// Writes `note` on a line at the bottom of `area` and returns the area above it (all of
/// `area` without a note).
pub(crate) fn with_note<'b>(area: &Area<'b>, note: Option<&str>) -> DrawResult<Area<'b>> {
    let Some(note) = note else {
        return Ok(area.clone());
    };
    let (w, h) = area.dim_in_pixel();
    let (upper, lower) = area.split_vertically(h.saturating_sub(24));
    let style = text_style(14.0)
        .color(&MUTED)
        .pos(Pos::new(HPos::Center, VPos::Center));
    lower.draw(&Text::new(note.to_owned(), (half(w), 12), style))?;
    Ok(upper)
}

/// Labels on the x axis, or not (the upper of two panels sharing the lower one's dates).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum XLabels {
    /// Tick labels and the axis description.
    Shown,
    /// Grid lines only.
    Hidden,
}

/// Width of the y label area that fits the tick labels of all `axes` (panels stacked on one
/// time axis share it, so their x pixels line up).
pub(crate) fn y_label_width(axes: &[&Axis]) -> u32 {
    let widest = axes.iter().map(|a| a.widest_label()).max().unwrap_or(1);
    // ~8 px per character of the widest tick label, plus room for the rotated description.
    u32::try_from(widest * 8 + 36).map_or(160, |w| w.clamp(56, 160))
}

/// A plot over `x` and `y` with grid, tick labels and axis descriptions drawn.
pub(crate) fn plot<'a, 'b>(
    area: &'a Area<'b>,
    x: (&Axis, &str),
    y: (&Axis, &str),
    x_labels: XLabels,
) -> DrawResult<Plot<'a, 'b>> {
    plot_aligned(area, x, y, x_labels, y_label_width(&[y.0]))
}

/// [`plot`] with a given y label area width (in pixels).
pub(crate) fn plot_aligned<'a, 'b>(
    area: &'a Area<'b>,
    x: (&Axis, &str),
    y: (&Axis, &str),
    x_labels: XLabels,
    y_area: u32,
) -> DrawResult<Plot<'a, 'b>> {
    let y_format = |v: &f64| y.0.label(*v);
    plot_with(area, x, y, x_labels, (y_area, &y_format))
}

/// [`plot_aligned`] with the y tick labels written by `y_format` (e.g. names of bars).
pub(crate) fn plot_with<'a, 'b>(
    area: &'a Area<'b>,
    (x, x_desc): (&Axis, &str),
    (y, y_desc): (&Axis, &str),
    x_labels: XLabels,
    (y_area, y_format): (u32, &dyn Fn(&f64) -> String),
) -> DrawResult<Plot<'a, 'b>> {
    let x_area = if x_labels == XLabels::Shown { 52 } else { 8 };
    let mut chart = ChartBuilder::on(area)
        .margin_top(8)
        .margin_bottom(4)
        .margin_left(8)
        .margin_right(44)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(x.clone(), y.clone())?;
    let x_format = |v: &f64| x.label(*v);
    let mut mesh = chart.configure_mesh();
    mesh.y_desc(y_desc)
        .y_label_formatter(y_format)
        .x_label_formatter(&x_format)
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(TEXT)
        .label_style(text_style(14.0))
        .axis_desc_style(text_style(14.0));
    if x_labels == XLabels::Shown {
        mesh.x_desc(x_desc);
    } else {
        // Our key points ignore `x_labels(0)`; the SVG backend skips fully transparent text.
        mesh.x_label_style(text_style(14.0).color(&TRANSPARENT));
    }
    mesh.draw()?;
    Ok(chart)
}

/// Draws the legend of every labelled series in the corner of the plot that holds the fewest of
/// `points` (the data drawn), so it hides as little as it can.
pub(crate) fn legend<'a, 'b: 'a>(
    chart: &mut Plot<'a, 'b>,
    points: impl IntoIterator<Item = (f64, f64)>,
) -> DrawResult {
    let corner = emptiest_corner(points, chart.x_range(), chart.y_range());
    chart
        .configure_series_labels()
        .position(corner)
        .background_style(WHITE.mix(0.85))
        .border_style(GRID)
        .label_font(text_style(14.0))
        .draw()
}

/// The corner (upper left, upper right, lower left, lower right; the first on a tie) whose
/// 40% × 40% of the plot holds the fewest `points`.
fn emptiest_corner(
    points: impl IntoIterator<Item = (f64, f64)>,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> SeriesLabelPosition {
    let (left, right) = (
        x.start + (x.end - x.start) * 0.4,
        x.end - (x.end - x.start) * 0.4,
    );
    let (low, high) = (
        y.start + (y.end - y.start) * 0.4,
        y.end - (y.end - y.start) * 0.4,
    );
    let mut counts = [0_usize; 4];
    for (px, py) in points {
        let column = if px <= left {
            Some(0)
        } else if px >= right {
            Some(1)
        } else {
            None
        };
        let row = if py >= high {
            Some(0)
        } else if py <= low {
            Some(2)
        } else {
            None
        };
        if let (Some(column), Some(row)) = (column, row) {
            counts[row + column] += 1;
        }
    }
    let corners = [
        SeriesLabelPosition::UpperLeft,
        SeriesLabelPosition::UpperRight,
        SeriesLabelPosition::LowerLeft,
        SeriesLabelPosition::LowerRight,
    ];
    let fewest = (0..4).min_by_key(|&i| counts[i]).unwrap_or(0);
    corners[fewest].clone()
}

/// A short line in `colour`, the legend marker of a line series.
pub(crate) fn line_marker(colour: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
}

/// `text` with the characters XML 1.0 cannot hold (control characters other than tab and line
/// breaks, U+FFFE, U+FFFF) replaced by U+FFFD, so a document never becomes unparseable.
pub(crate) fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// `text` escaped for XML character data and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` cut to `max` characters (the last one an ellipsis) so it fits its place.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Half of a pixel length, as a coordinate.
pub(crate) fn half(length: u32) -> i32 {
    i32::try_from(length / 2).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_replaces_characters_xml_cannot_hold() {
        assert_eq!(
            clean("a\u{1b}b\tc\u{0}"),
            "a\u{fffd}b\tc\u{fffd}",
            "control characters go"
        );
    }

    #[test]
    fn escape_covers_the_five_xml_specials() {
        assert_eq!(
            escape(r#"<a & 'b' "c">"#),
            "&lt;a &amp; &apos;b&apos; &quot;c&quot;&gt;"
        );
    }

    #[test]
    fn shorten_cuts_on_characters_not_bytes() {
        assert_eq!(
            shorten("ééééé", 3),
            "éé…",
            "multi-byte characters are not split"
        );
        assert_eq!(shorten("abc", 3), "abc", "short text is kept");
    }

    #[test]
    fn document_has_role_title_size_and_view_box() {
        // Act
        let svg = document((WIDTH, HEIGHT), "t & u", |area| no_data(area, "no data"));

        // Assert
        assert!(
            svg.starts_with(
                "<svg role=\"img\" width=\"800\" height=\"400\" viewBox=\"0 0 800 400\""
            ),
            "root tag carries role, size and viewBox: {svg}"
        );
        assert!(
            svg.contains("<title>t &amp; u</title>"),
            "title child, escaped"
        );
    }
}
