//! Deterministic synthetic OHLCV: the same [`GeneratorSpec`] always gives the same bars, bit
//! for bit (a seeded `StdRng`, ChaCha12 in rand 0.9, and normal draws by Box–Muller).
//!
//! - `gbm`: geometric Brownian motion with annual drift and volatility.
//! - `regime_switching`: a two-state Markov chain (switch probability per bar) between a
//!   trending regime (GBM with its own drift and volatility) and a mean-reverting one (the log
//!   price pulled back toward where the regime began, Ornstein–Uhlenbeck style).
//!
//! Each bar opens at the previous close; the close is the open times `exp(log return)`; the
//! high and low extend past `max(open, close)` and `min(open, close)` by random intrabar
//! excursions, so `low <= min(open, close) <= max(open, close) <= high` always holds and every
//! price is positive. Volume is log-normal and grows with the size of the move.

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Bars, MAX_PRICE, MIN_BARS, MIN_PRICE};

mod spec;

pub use spec::{Interval, SpecError};

const SECONDS_PER_YEAR: f64 = 365.25 * 86_400.0;

/// Which model generates the bars.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GeneratorKind {
    /// Geometric Brownian motion.
    Gbm,
    /// Markov switching between a trending and a mean-reverting regime.
    RegimeSwitching,
}

/// A generator request; absent parameters take their defaults in [`GeneratorSpec::resolve`],
/// and the resolved spec (every parameter of its model filled in) is what a dataset echoes:
/// sending it again gives the same bars.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeneratorSpec {
    /// `gbm` or `regime_switching`.
    pub kind: GeneratorKind,
    /// Number of bars (at least 30, at most the configured row limit).
    pub bars: usize,
    /// Seed of the random stream.
    pub seed: u64,
    /// Time of the first bar (default 2020-01-01T00:00:00Z).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    /// Bar spacing: `"1m"`, `"5m"`, `"1h"`, `"1d"`, `"1w"` (units s, m, h, d, w) or seconds
    /// (default `"1d"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "1h")]
    pub interval: Option<Interval>,
    /// Price of the first open (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_price: Option<f64>,
    /// gbm: annual drift (default 0.05).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<f64>,
    /// gbm: annual volatility (default 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volatility: Option<f64>,
    /// regime_switching: probability per bar of switching regime (default 0.02).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch_probability: Option<f64>,
    /// regime_switching: annual drift of the trending regime (default 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trend_drift: Option<f64>,
    /// regime_switching: annual volatility of the trending regime (default 0.15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trend_volatility: Option<f64>,
    /// regime_switching: share of the distance to the anchor closed each bar in the
    /// mean-reverting regime, 0 to 1 (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_reversion_speed: Option<f64>,
    /// regime_switching: annual volatility of the mean-reverting regime (default 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_reversion_volatility: Option<f64>,
}

/// The regime a bar was generated in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Regime {
    /// Drifting random walk.
    Trending,
    /// Pulled back toward an anchor.
    MeanReverting,
}

/// Standard normal draws by Box–Muller, using both values of each pair.
struct Normal {
    rng: StdRng,
    spare: Option<f64>,
}

impl Normal {
    fn next(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        // 1 - U is in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.rng.random::<f64>();
        let u2 = self.rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        self.spare = Some(r * theta.sin());
        r * theta.cos()
    }
}

/// Generates the bars of a resolved spec (see [`GeneratorSpec::resolve`]).
///
/// # Errors
/// When the parameters drive a price out of the accepted range.
pub fn generate(spec: &GeneratorSpec) -> Result<Bars, SpecError> {
    generate_with_regimes(spec).map(|(bars, _)| bars)
}

/// [`generate`], also returning the regime of every bar (all trending for `gbm`).
///
/// # Errors
/// As [`generate`].
pub fn generate_with_regimes(spec: &GeneratorSpec) -> Result<(Bars, Vec<Regime>), SpecError> {
    let p = spec::Params::of(spec);
    let dt = p.interval as f64 / SECONDS_PER_YEAR;
    let sqrt_dt = dt.sqrt();
    let mut normal = Normal {
        rng: StdRng::seed_from_u64(spec.seed),
        spare: None,
    };
    let mut bars = Bars::with_capacity(spec.bars);
    let mut regimes = Vec::with_capacity(spec.bars);
    let mut regime = Regime::Trending;
    let mut close = p.initial_price;
    let mut anchor = close.ln();
    for i in 0..spec.bars {
        if p.regime_switching && i > 0 && normal.rng.random::<f64>() < p.switch_probability {
            regime = match regime {
                Regime::Trending => {
                    anchor = close.ln();
                    Regime::MeanReverting
                }
                Regime::MeanReverting => Regime::Trending,
            };
        }
        let open = close;
        let z = normal.next();
        let (log_return, sigma) = match regime {
            Regime::Trending => (
                (p.drift - p.volatility.powi(2) / 2.0) * dt + p.volatility * sqrt_dt * z,
                p.volatility,
            ),
            Regime::MeanReverting => (
                p.reversion_speed * (anchor - open.ln()) + p.reversion_volatility * sqrt_dt * z,
                p.reversion_volatility,
            ),
        };
        close = open * log_return.exp();
        let excursion = 0.5 * sigma * sqrt_dt;
        let high = open.max(close) * (excursion * normal.next().abs()).exp();
        let low = open.min(close) * (-excursion * normal.next().abs()).exp();
        let volume = (1e6 * (0.25 * normal.next()).exp() * (1.0 + z.abs()))
            .round()
            .max(1.0);
        let time = p.start + p.interval * i as i64;
        if !(MIN_PRICE..=MAX_PRICE).contains(&low) || !(MIN_PRICE..=MAX_PRICE).contains(&high) {
            return Err(SpecError::new(
                "generator",
                format!(
                    "the parameters drive prices outside {MIN_PRICE:e} to {MAX_PRICE:e} at bar \
                     {}; lower the drift, volatility or number of bars",
                    i + 1
                ),
            ));
        }
        bars.push(time, open, high, low, close, volume);
        regimes.push(regime);
    }
    debug_assert!(bars.len() < MIN_BARS || bars.validate().is_ok());
    Ok((bars, regimes))
}

#[cfg(test)]
mod tests;
