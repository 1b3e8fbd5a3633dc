//! Defaults, ranges and the bar interval of a [`GeneratorSpec`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{GeneratorKind, GeneratorSpec, MAX_PRICE, MIN_BARS, MIN_PRICE};

/// A generator parameter that is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SpecError {
    /// The parameter (`bars`, `drift`, ...), or `generator` for the whole spec.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl SpecError {
    pub(super) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A bar spacing in seconds, written `"30s"`, `"5m"`, `"1h"`, `"1d"`, `"1w"` or as a number of
/// seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval(pub i64);

impl Interval {
    /// Parses `"<n><unit>"` (units s, m, h, d, w) or a plain number of seconds.
    ///
    /// # Errors
    /// A message when it is neither.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (n, unit) = s.split_at(split);
        let unit_seconds = match unit {
            "" | "s" => 1,
            "m" | "min" => 60,
            "h" => 3_600,
            "d" => 86_400,
            "w" => 604_800,
            _ => 0,
        };
        n.parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(unit_seconds))
            .filter(|s| *s > 0)
            .map(Self)
            .ok_or_else(|| {
                format!("invalid interval {s:?}: expected e.g. \"1m\", \"5m\", \"1h\", \"1d\", \"1w\" or seconds")
            })
    }
}

impl Serialize for Interval {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (n, unit) = [(604_800, "w"), (86_400, "d"), (3_600, "h"), (60, "m")]
            .into_iter()
            .find(|(u, _)| self.0 % u == 0)
            .map_or((self.0, "s"), |(u, name)| (self.0 / u, name));
        s.serialize_str(&format!("{n}{unit}"))
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(i64),
            Text(String),
        }
        match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected a string such as \"1h\" or a number of seconds")
        })? {
            Raw::Seconds(s) if s > 0 => Ok(Interval(s)),
            Raw::Seconds(s) => Err(serde::de::Error::custom(format!(
                "interval must be positive, got {s}"
            ))),
            Raw::Text(t) => Interval::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

/// Default time of the first bar, fixed so the same request gives the same bars.
fn default_start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_577_836_800, 0).unwrap_or_default()
}

/// Latest time of a last bar (RFC 3339 needs a four-digit year).
const LAST_TIME: i64 = 253_402_300_799;
/// Longest interval: 31 days.
const MAX_INTERVAL: i64 = 31 * 86_400;

impl GeneratorSpec {
    /// Checks the parameters and fills in every default of the spec's model. Parameters of the
    /// other model are refused (so nobody believes they had an effect).
    ///
    /// # Errors
    /// Every invalid parameter, each naming its field.
    pub fn resolve(&self, max_bars: usize) -> Result<GeneratorSpec, Vec<SpecError>> {
        let mut errors = Vec::new();
        let mut out = self.clone();
        if !(MIN_BARS..=max_bars).contains(&self.bars) {
            errors.push(SpecError::new(
                "bars",
                format!("must be between {MIN_BARS} and {max_bars}"),
            ));
        }
        let start = *out.start.get_or_insert_with(default_start);
        let interval = out.interval.get_or_insert(Interval(86_400)).0;
        if interval > MAX_INTERVAL {
            errors.push(SpecError::new("interval", "must be at most 31 days"));
        } else if interval
            .checked_mul(self.bars as i64)
            .and_then(|span| start.timestamp().checked_add(span))
            .is_none_or(|end| end > LAST_TIME)
        {
            errors.push(SpecError::new(
                "bars",
                "the last bar would fall after the year 9999; use fewer bars or a shorter interval",
            ));
        }
        let mut param =
            |field: &'static str, value: &mut Option<f64>, default: f64, lo: f64, hi: f64| {
                let v = *value.get_or_insert(default);
                if !(lo..=hi).contains(&v) {
                    errors.push(SpecError::new(
                        field,
                        format!("must be between {lo} and {hi}"),
                    ));
                }
            };
        param(
            "initial_price",
            &mut out.initial_price,
            100.0,
            MIN_PRICE,
            MAX_PRICE,
        );
        let foreign = match self.kind {
            GeneratorKind::Gbm => {
                param("drift", &mut out.drift, 0.05, -10.0, 10.0);
                param("volatility", &mut out.volatility, 0.2, 0.0, 5.0);
                regime_fields(self)
            }
            GeneratorKind::RegimeSwitching => {
                param(
                    "switch_probability",
                    &mut out.switch_probability,
                    0.02,
                    0.0,
                    1.0,
                );
                param("trend_drift", &mut out.trend_drift, 0.3, -10.0, 10.0);
                param(
                    "trend_volatility",
                    &mut out.trend_volatility,
                    0.15,
                    0.0,
                    5.0,
                );
                param(
                    "mean_reversion_speed",
                    &mut out.mean_reversion_speed,
                    0.1,
                    0.0,
                    1.0,
                );
                param(
                    "mean_reversion_volatility",
                    &mut out.mean_reversion_volatility,
                    0.2,
                    0.0,
                    5.0,
                );
                gbm_fields(self)
            }
        };
        for field in foreign {
            errors.push(SpecError::new(
                field,
                format!(
                    "is not a parameter of the {} generator",
                    kind_name(self.kind)
                ),
            ));
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

fn kind_name(kind: GeneratorKind) -> &'static str {
    match kind {
        GeneratorKind::Gbm => "gbm",
        GeneratorKind::RegimeSwitching => "regime_switching",
    }
}

fn gbm_fields(s: &GeneratorSpec) -> Vec<&'static str> {
    [("drift", s.drift), ("volatility", s.volatility)]
        .into_iter()
        .filter_map(|(f, v)| v.map(|_| f))
        .collect()
}

fn regime_fields(s: &GeneratorSpec) -> Vec<&'static str> {
    [
        ("switch_probability", s.switch_probability),
        ("trend_drift", s.trend_drift),
        ("trend_volatility", s.trend_volatility),
        ("mean_reversion_speed", s.mean_reversion_speed),
        ("mean_reversion_volatility", s.mean_reversion_volatility),
    ]
    .into_iter()
    .filter_map(|(f, v)| v.map(|_| f))
    .collect()
}

/// The numbers a resolved spec generates from (defaults where a field is somehow absent).
pub(super) struct Params {
    pub(super) start: i64,
    pub(super) interval: i64,
    pub(super) initial_price: f64,
    pub(super) regime_switching: bool,
    pub(super) drift: f64,
    pub(super) volatility: f64,
    pub(super) switch_probability: f64,
    pub(super) reversion_speed: f64,
    pub(super) reversion_volatility: f64,
}

impl Params {
    pub(super) fn of(s: &GeneratorSpec) -> Self {
        let regime_switching = s.kind == GeneratorKind::RegimeSwitching;
        let (drift, volatility) = if regime_switching {
            (
                s.trend_drift.unwrap_or(0.3),
                s.trend_volatility.unwrap_or(0.15),
            )
        } else {
            (s.drift.unwrap_or(0.05), s.volatility.unwrap_or(0.2))
        };
        Self {
            start: s.start.unwrap_or_else(default_start).timestamp(),
            interval: s.interval.map_or(86_400, |i| i.0),
            initial_price: s.initial_price.unwrap_or(100.0),
            regime_switching,
            drift,
            volatility,
            switch_probability: s.switch_probability.unwrap_or(0.02),
            reversion_speed: s.mean_reversion_speed.unwrap_or(0.1),
            reversion_volatility: s.mean_reversion_volatility.unwrap_or(0.2),
        }
    }
}
