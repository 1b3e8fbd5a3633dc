//! Price datasets: OHLCV bars held in columns, oldest first.
//!
//! [`Bars`] is what every consumer sees: the API builds it from an upload or a generator, the
//! store keeps it in columnar form, and the worker's engine reads it. Timestamps are Unix seconds
//! in UTC, strictly increasing; prices are finite and positive.
//!
//! - [`csv`]: parsing and validating uploaded CSV text (pure).
//! - [`synth`]: deterministic synthetic generators (geometric Brownian motion, regime switching).
//! - [`codec`]: the compact columnar encoding the store keeps, and the content hash.
//! - [`stats`]: the inferred bar frequency and close-to-close return statistics.

pub mod codec;
pub mod csv;
pub mod stats;
mod summary;
pub mod synth;

pub use summary::{Dataset, DatasetSource};

use sha2::{Digest, Sha256};

/// The fewest bars a dataset may have: the smallest window a tool can be evaluated on.
pub const MIN_BARS: usize = 30;
/// The smallest price accepted (so returns and their statistics stay finite).
pub const MIN_PRICE: f64 = 1e-12;
/// The largest price accepted.
pub const MAX_PRICE: f64 = 1e12;

/// Where a set of bars is invalid and why. Rows are 1-based data rows (a CSV header is not a
/// row); lines are 1-based lines of the uploaded file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct DataError {
    /// The data row, when the problem is in one.
    pub row: Option<usize>,
    /// The line of the file, when the data came from one.
    pub line: Option<usize>,
    /// The column (lowercase header name), when the problem is in one.
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl DataError {
    /// A path naming the place: `rows.12.high` (row 12, column high), `rows.12`,
    /// `header.close` (a missing column), or `body`.
    pub fn field(&self) -> String {
        match (self.row, &self.column) {
            (Some(row), Some(column)) => format!("rows.{row}.{column}"),
            (Some(row), None) => format!("rows.{row}"),
            (None, Some(column)) => format!("header.{column}"),
            (None, None) => "body".into(),
        }
    }

    fn describe(&self) -> String {
        match (self.row, self.line) {
            (Some(row), Some(line)) => format!("row {row} (line {line}): {}", self.message),
            (Some(row), None) => format!("row {row}: {}", self.message),
            (None, Some(line)) => format!("line {line}: {}", self.message),
            (None, None) => self.message.clone(),
        }
    }
}

/// Checks one bar's values; the error names the offending column.
pub(crate) fn check_bar(
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
) -> Result<(), (&'static str, String)> {
    for (name, v) in [
        ("open", open),
        ("high", high),
        ("low", low),
        ("close", close),
    ] {
        if !v.is_finite() {
            return Err((name, format!("{name} must be a finite number, got {v}")));
        }
        if v <= 0.0 {
            return Err((name, format!("{name} must be positive, got {v}")));
        }
        if !(MIN_PRICE..=MAX_PRICE).contains(&v) {
            return Err((
                name,
                format!("{name} {v} is outside the accepted range {MIN_PRICE:e} to {MAX_PRICE:e}"),
            ));
        }
    }
    if !volume.is_finite() || volume < 0.0 {
        return Err((
            "volume",
            format!("volume must be a finite number, zero or more, got {volume}"),
        ));
    }
    if high < low {
        return Err(("high", format!("high {high} is below low {low}")));
    }
    for (name, v) in [("open", open), ("close", close)] {
        if high < v {
            return Err(("high", format!("high {high} is below {name} {v}")));
        }
        if low > v {
            return Err(("low", format!("low {low} is above {name} {v}")));
        }
    }
    Ok(())
}

/// OHLCV bars in columns (structure of arrays), oldest first. All columns have the same length.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bars {
    /// Bar open time, Unix seconds (UTC), strictly increasing.
    pub time: Vec<i64>,
    /// Opening price.
    pub open: Vec<f64>,
    /// Highest price.
    pub high: Vec<f64>,
    /// Lowest price.
    pub low: Vec<f64>,
    /// Closing price.
    pub close: Vec<f64>,
    /// Traded volume (0 where the source has none).
    pub volume: Vec<f64>,
}

impl Bars {
    /// An empty set with room for `n` bars in every column.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            time: Vec::with_capacity(n),
            open: Vec::with_capacity(n),
            high: Vec::with_capacity(n),
            low: Vec::with_capacity(n),
            close: Vec::with_capacity(n),
            volume: Vec::with_capacity(n),
        }
    }

    /// Appends one bar.
    pub fn push(&mut self, time: i64, open: f64, high: f64, low: f64, close: f64, volume: f64) {
        self.time.push(time);
        self.open.push(open);
        self.high.push(high);
        self.low.push(low);
        self.close.push(close);
        self.volume.push(volume);
    }

    /// Number of bars.
    pub fn len(&self) -> usize {
        self.time.len()
    }

    /// Whether there are no bars.
    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    /// Bars per year implied by the timestamps: `(n - 1) / span in years`, so daily stock data
    /// with weekends and holidays gives about 252 and round-the-clock hourly data about 8,766.
    /// `None` with fewer than two bars.
    pub fn periods_per_year(&self) -> Option<f64> {
        let (first, last) = (*self.time.first()?, *self.time.last()?);
        if self.len() < 2 || last <= first {
            return None;
        }
        const SECONDS_PER_YEAR: f64 = 365.25 * 86_400.0;
        Some((self.len() - 1) as f64 * SECONDS_PER_YEAR / (last - first) as f64)
    }

    /// Checks every bar: times strictly increasing, prices finite, positive and in range,
    /// `low <= min(open, close) <= max(open, close) <= high`, volume finite and not negative.
    ///
    /// # Errors
    /// The first invalid bar, by row (1-based).
    pub fn validate(&self) -> Result<(), DataError> {
        let n = self.len();
        let lengths = [&self.open, &self.high, &self.low, &self.close, &self.volume].map(Vec::len);
        if lengths.iter().any(|l| *l != n) {
            return Err(DataError {
                row: None,
                line: None,
                column: None,
                message: format!("columns of different lengths: {n} times, {lengths:?} values"),
            });
        }
        for i in 0..n {
            let at = |column: &str, message: String| DataError {
                row: Some(i + 1),
                line: None,
                column: Some(column.to_owned()),
                message,
            };
            check_bar(
                self.open[i],
                self.high[i],
                self.low[i],
                self.close[i],
                self.volume[i],
            )
            .map_err(|(column, m)| at(column, m))?;
            if i > 0 && self.time[i] <= self.time[i - 1] {
                return Err(at("time", "times must be strictly increasing".into()));
            }
        }
        Ok(())
    }

    /// Hex SHA-256 of the canonical encoding ([`codec::encode`]): equal bars have equal hashes
    /// whatever file format they were read from.
    pub fn content_hash(&self) -> String {
        content_hash(&codec::encode(self))
    }
}

/// Hex SHA-256 of an encoding made by [`codec::encode`].
pub fn content_hash(encoded: &[u8]) -> String {
    hex::encode(Sha256::digest(encoded))
}
