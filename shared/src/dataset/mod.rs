//! Price datasets: OHLCV bars held in columns, oldest first.
//!
//! [`Bars`] is what every consumer sees: the API builds it from an upload or a generator, the
//! store keeps it in columnar form, and the worker's engine reads it. Timestamps are Unix seconds
//! in UTC, strictly increasing; prices are finite and positive.

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
}
