//! Each family's signal: from the closes up to bar t, the position the tool wants to hold after
//! bar t's close (its *target*: -1 short, 0 flat, +1 long). The exact rule of each family is
//! documented in its module. Every family is O(bars) with rolling windows, and the target at t
//! depends on bars `..=t` only (no look-ahead; property-tested in `tests`).

mod mean_reversion;
pub(crate) mod momentum;
pub(crate) mod rolling;
mod rsi;
mod sma;

pub(crate) use sma::SmaStream;

use serde_json::{Map, Value};

use super::EngineError;

/// A target position: -1 short, 0 flat, +1 long.
pub type Position = i8;

/// A tool's signal rule with typed parameters, built from a family name and its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Strategy {
    /// See the `momentum` module (family version 2).
    Momentum {
        /// Bars over which the return is measured.
        lookback: usize,
        /// Minimum absolute lookback return, in standard deviations of such returns.
        threshold: f64,
    },
    /// The legacy `momentum_return` family (see the `momentum` module).
    MomentumReturn {
        /// Bars over which the return is measured.
        lookback: usize,
        /// Minimum absolute return (fraction) to take a position.
        threshold: f64,
    },
    /// See the `sma` module.
    SmaCrossover {
        /// Bars in the fast average.
        fast: usize,
        /// Bars in the slow average.
        slow: usize,
    },
    /// See the `mean_reversion` module.
    MeanReversion {
        /// Bars in the rolling mean and deviation.
        lookback: usize,
        /// |z| that opens a position.
        entry_z: f64,
        /// |z| within which a position is closed.
        exit_z: f64,
    },
    /// The `neural` family: targets from a trained network's probabilities (see
    /// [`super::learned`]); flat without one.
    Neural {
        /// Distance from 0.5 needed to take a position.
        threshold: f64,
        /// Bars over which the probability is averaged.
        smoothing: usize,
    },
    /// See the `rsi` module.
    Rsi {
        /// Bars in Wilder's RSI.
        period: usize,
        /// Oversold level.
        lower: f64,
        /// Overbought level.
        upper: f64,
    },
}

/// Reusable buffers, so evaluating many parameter sets on one series allocates nothing after the
/// first evaluation.
#[derive(Debug, Default)]
pub struct Scratch {
    pub(crate) a: Vec<f64>,
}

impl Strategy {
    /// Builds the strategy of `family` from its parameters. The parameters go through the
    /// family's schema validation first (omitted ones take defaults), so anything the API would
    /// refuse is refused here too.
    ///
    /// # Errors
    /// [`EngineError::UnknownFamily`] or [`EngineError::InvalidParameters`].
    pub fn from_params(family: &str, params: &Map<String, Value>) -> Result<Self, EngineError> {
        let schema = domain::families::get(family)
            .ok_or_else(|| EngineError::UnknownFamily(family.to_owned()))?;
        let p = schema.validate(params).map_err(|errors| {
            EngineError::InvalidParameters(
                errors
                    .into_iter()
                    .map(|e| format!("{}: {}", e.parameter, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        // Validated above: every parameter is present and of its declared type.
        let int = |name: &str| p.get(name).and_then(Value::as_u64).unwrap_or(0) as usize;
        let float = |name: &str| p.get(name).and_then(Value::as_f64).unwrap_or(0.0);
        Ok(match family {
            "momentum" => Strategy::Momentum {
                lookback: int("lookback_period"),
                threshold: float("threshold"),
            },
            "momentum_return" => Strategy::MomentumReturn {
                lookback: int("lookback_period"),
                threshold: float("threshold"),
            },
            "sma_crossover" => Strategy::SmaCrossover {
                fast: int("fast"),
                slow: int("slow"),
            },
            "mean_reversion" => Strategy::MeanReversion {
                lookback: int("lookback_period"),
                entry_z: float("entry_z"),
                exit_z: float("exit_z"),
            },
            "rsi" => Strategy::Rsi {
                period: int("period"),
                lower: float("lower"),
                upper: float("upper"),
            },
            "neural" => Strategy::Neural {
                threshold: float("threshold"),
                smoothing: int("smoothing"),
            },
            other => return Err(EngineError::UnknownFamily(other.to_owned())),
        })
    }

    /// Bars of history the rule needs before its first decision.
    pub fn warmup(&self) -> usize {
        match *self {
            Strategy::Momentum { lookback, .. } => momentum::vol_window(lookback),
            Strategy::MomentumReturn { lookback, .. } => lookback,
            Strategy::SmaCrossover { slow, .. } => slow,
            Strategy::MeanReversion { lookback, .. } => lookback - 1,
            Strategy::Rsi { period, .. } => period,
            Strategy::Neural { smoothing, .. } => smoothing - 1,
        }
    }

    /// Writes the target after each bar's close into `out` (resized to `close.len()`). The
    /// `neural` family needs its network's probabilities ([`super::learned::Prepared`]) and is
    /// flat here.
    pub fn targets(&self, close: &[f64], scratch: &mut Scratch, out: &mut Vec<Position>) {
        out.clear();
        out.resize(close.len(), 0);
        match *self {
            Strategy::Momentum {
                lookback,
                threshold,
            } => momentum::targets(close, lookback, threshold, out),
            Strategy::MomentumReturn {
                lookback,
                threshold,
            } => momentum::return_targets(close, lookback, threshold, out),
            Strategy::SmaCrossover { fast, slow } => sma::targets(close, fast, slow, out),
            Strategy::MeanReversion {
                lookback,
                entry_z,
                exit_z,
            } => mean_reversion::targets(close, lookback, entry_z, exit_z, out),
            Strategy::Rsi {
                period,
                lower,
                upper,
            } => rsi::targets(close, period, lower, upper, &mut scratch.a, out),
            Strategy::Neural { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests;
