//! The dashboard's plots, drawn as SVG strings with plotters' SVG backend.
//!
//! Pure: numbers in, a complete SVG document out. No I/O, no HTTP, no database, no font files
//! (the viewer's sans-serif draws the text; [`png`] sets it in a font compiled in), so a plot can
//! be tested against the numbers it was drawn from.
//!
//! Every chart is deterministic (same input, same bytes), never panics (empty, single-point,
//! constant and non-finite inputs give a valid document, "no data" when nothing is left to draw),
//! has `role="img"`, a `<title>` with the chart title, and `width`, `height` and `viewBox` (800
//! wide; CSS `width: 100%` scales it). Caller text (titles, labels, names) is XML-escaped.
//!
//! Modules:
//! - `frame`: the document, title, axes, legend, palette (Okabe-Ito) and text cleaning.
//! - `axis`, `dates`: ranges, ticks and tick labels (numbers; `YYYY-MM-DD` dates in UTC).
//! - `price`, `equity`: a market's closes; a backtest's returns, drawdowns and trades.
//! - `study`, `importance`: an optimization study's history, parallel coordinates, slices and
//!   parameter importance.
//! - `lines`: generic line charts over a number or over time.
//! - `forecast`: an observed series and a forecast with its interval as a band.
//! - `png`: any chart rasterized to PNG (resvg, DejaVu Sans compiled in).

mod axis;
mod dates;
mod equity;
mod forecast;
mod frame;
mod importance;
mod lines;
mod png;
mod price;
mod study;

pub use equity::{EquityLine, Side, TradeMark, equity};
pub use forecast::{BandPoint, forecast};
pub use importance::{importance, importance_of};
pub use lines::{Series, TimeSeries, lines, time_lines};
pub use png::png;
pub use price::price;
pub use study::{Param, history, parallel_coordinates, slice};

/// A point in time as unix seconds (UTC) and a value.
pub type TimePoint = (i64, f64);
