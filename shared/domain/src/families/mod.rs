//! Tool families: the parameter schema of each family (names, types, bounds, defaults) and its
//! cross-parameter constraints, with the validation every write goes through. Evaluation of a
//! family lives in the worker's engine; this module only says what parameters are valid.

use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::{Map, Number, Value};

/// The type of a parameter.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    /// A whole number (JSON integers only).
    Int,
    /// A real number (JSON integers accepted).
    Float,
}

/// One parameter of a family.
#[derive(Clone, Debug, PartialEq, utoipa::ToSchema)]
pub struct ParamSpec {
    /// Name as it appears in `parameters`.
    pub name: &'static str,
    /// Int or float.
    pub r#type: ParamKind,
    /// Smallest allowed value (inclusive).
    pub min: f64,
    /// Largest allowed value (inclusive).
    pub max: f64,
    /// Value used when the parameter is omitted.
    pub default: f64,
    /// What it does.
    pub description: &'static str,
}

impl ParamSpec {
    fn number(&self, v: f64) -> Value {
        match self.r#type {
            // Int bounds are small whole numbers, exactly representable.
            ParamKind::Int => Value::from(v as i64),
            ParamKind::Float => Number::from_f64(v).map_or(Value::Null, Value::Number),
        }
    }

    /// The default as JSON (an integer for int parameters).
    pub fn default_value(&self) -> Value {
        self.number(self.default)
    }
}

impl Serialize for ParamSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("ParamSpec", 6)?;
        s.serialize_field("name", self.name)?;
        s.serialize_field("type", &self.r#type)?;
        s.serialize_field("min", &self.number(self.min))?;
        s.serialize_field("max", &self.number(self.max))?;
        s.serialize_field("default", &self.default_value())?;
        s.serialize_field("description", self.description)?;
        s.end()
    }
}

/// A rule across parameters.
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Constraint {
    /// `left < right`.
    LessThan {
        /// The smaller parameter.
        left: &'static str,
        /// The larger parameter.
        right: &'static str,
    },
}

impl Constraint {
    fn check(&self, params: &Map<String, Value>) -> Result<(), ParamError> {
        match self {
            Constraint::LessThan { left, right } => {
                let l = params.get(*left).and_then(Value::as_f64);
                let r = params.get(*right).and_then(Value::as_f64);
                match (l, r) {
                    (Some(l), Some(r)) if l < r => Ok(()),
                    _ => Err(ParamError::new(left, format!("must be less than {right}"))),
                }
            }
        }
    }
}

/// A tool family's schema.
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Family {
    /// Family name, e.g. `sma_crossover`.
    pub name: &'static str,
    /// Revision of the family's rule: it changes whenever the same parameters would trade
    /// differently (promotion certificates name it, so a verification knows what it re-runs).
    pub version: u32,
    /// What the family's signal does.
    pub description: &'static str,
    /// Parameters.
    pub parameters: Vec<ParamSpec>,
    /// Cross-parameter rules.
    pub constraints: Vec<Constraint>,
}

/// A parameter that failed validation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ParamError {
    /// The parameter's name.
    pub parameter: String,
    /// What is wrong.
    pub message: String,
}

impl ParamError {
    fn new(parameter: &str, message: impl Into<String>) -> Self {
        Self {
            parameter: parameter.to_owned(),
            message: message.into(),
        }
    }
}

impl Family {
    /// The spec of a parameter.
    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// Default parameters.
    pub fn defaults(&self) -> Map<String, Value> {
        self.parameters
            .iter()
            .map(|p| (p.name.to_owned(), p.default_value()))
            .collect()
    }

    /// Validates `input` and returns the complete parameter set (omitted ones take defaults).
    /// Reports every problem at once: unknown names, wrong types, values out of range, and
    /// broken constraints (checked only when every parameter is individually valid).
    ///
    /// # Errors
    /// Every [`ParamError`] found.
    pub fn validate(
        &self,
        input: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Vec<ParamError>> {
        let mut errors = Vec::new();
        for name in input.keys() {
            if self.param(name).is_none() {
                let known: Vec<_> = self.parameters.iter().map(|p| p.name).collect();
                errors.push(ParamError::new(
                    name,
                    format!(
                        "unknown parameter for family {}: expected one of {}",
                        self.name,
                        known.join(", ")
                    ),
                ));
            }
        }
        let mut out = Map::new();
        for spec in &self.parameters {
            let value = match input.get(spec.name) {
                None => spec.default_value(),
                Some(v) => match check_value(spec, v) {
                    Ok(v) => v,
                    Err(message) => {
                        errors.push(ParamError::new(spec.name, message));
                        continue;
                    }
                },
            };
            out.insert(spec.name.to_owned(), value);
        }
        if errors.is_empty() {
            errors.extend(self.constraints.iter().filter_map(|c| c.check(&out).err()));
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

fn check_value(spec: &ParamSpec, v: &Value) -> Result<Value, String> {
    let Value::Number(n) = v else {
        return Err(format!(
            "must be {} number",
            match spec.r#type {
                ParamKind::Int => "an integer",
                ParamKind::Float => "a",
            }
        ));
    };
    let x = match spec.r#type {
        ParamKind::Int => n.as_i64().ok_or("must be an integer")? as f64,
        ParamKind::Float => n
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or("must be a finite number")?,
    };
    if x < spec.min || x > spec.max {
        return Err(format!(
            "must be between {} and {}",
            spec.number(spec.min),
            spec.number(spec.max)
        ));
    }
    Ok(spec.number(x))
}

/// Every family, in a stable order.
pub fn all() -> &'static [Family] {
    static FAMILIES: std::sync::OnceLock<Vec<Family>> = std::sync::OnceLock::new();
    FAMILIES.get_or_init(build)
}

/// The family called `name`.
pub fn get(name: &str) -> Option<&'static Family> {
    all().iter().find(|f| f.name == name)
}

/// The family of a tool created without one (the seed's `create_tool` names none): the first in
/// [`all`]'s order whose parameters take `params` as given (names, types, ranges, constraints),
/// so the seed's `{"threshold": 0.5, "lookback_period": 20}` is `momentum` and no parameters at
/// all is `momentum` with its defaults. `None` when no family takes them.
pub fn infer(params: &Map<String, Value>) -> Option<&'static Family> {
    all().iter().find(|f| f.validate(params).is_ok())
}

/// Every family with its parameter names, for a message that says how to choose:
/// `momentum (lookback_period, threshold), sma_crossover (fast, slow), ...`.
pub fn catalog() -> String {
    all()
        .iter()
        .map(|f| {
            let names: Vec<_> = f.parameters.iter().map(|p| p.name).collect();
            format!("{} ({})", f.name, names.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

const fn int(
    name: &'static str,
    min: f64,
    max: f64,
    default: f64,
    description: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        r#type: ParamKind::Int,
        min,
        max,
        default,
        description,
    }
}

const fn float(
    name: &'static str,
    min: f64,
    max: f64,
    default: f64,
    description: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        r#type: ParamKind::Float,
        min,
        max,
        default,
        description,
    }
}

/// The momentum families' lookback.
const fn lookback_period() -> ParamSpec {
    int(
        "lookback_period",
        2.0,
        500.0,
        20.0,
        "bars over which the return is measured",
    )
}

fn build() -> Vec<Family> {
    vec![
        Family {
            name: "momentum",
            version: 2,
            description: "Time-series momentum in units of volatility: long when the return over the lookback exceeds +threshold standard deviations of such returns (the one-bar volatility over max(lookback, 20) bars times sqrt(lookback)), short below -threshold, flat between. Scale-free: the same threshold means the same on daily stock indices and hourly FX.",
            parameters: vec![
                lookback_period(),
                float(
                    "threshold",
                    0.0,
                    5.0,
                    0.5,
                    "minimum absolute lookback return, in standard deviations of the lookback return, to take a position",
                ),
            ],
            constraints: vec![],
        },
        Family {
            name: "sma_crossover",
            version: 1,
            description: "Long when the fast simple moving average crosses above the slow one, short when it crosses below.",
            parameters: vec![
                int("fast", 2.0, 200.0, 10.0, "bars in the fast moving average"),
                int("slow", 3.0, 500.0, 20.0, "bars in the slow moving average"),
            ],
            constraints: vec![Constraint::LessThan {
                left: "fast",
                right: "slow",
            }],
        },
        Family {
            name: "mean_reversion",
            version: 1,
            description: "Enter against a move when the close is entry_z standard deviations from its rolling mean; exit when back within exit_z.",
            parameters: vec![
                int(
                    "lookback_period",
                    5.0,
                    500.0,
                    20.0,
                    "bars in the rolling mean and standard deviation",
                ),
                float("entry_z", 0.5, 5.0, 2.0, "z-score that opens a position"),
                float(
                    "exit_z",
                    0.0,
                    3.0,
                    0.5,
                    "z-score within which the position is closed",
                ),
            ],
            constraints: vec![Constraint::LessThan {
                left: "exit_z",
                right: "entry_z",
            }],
        },
        Family {
            name: "rsi",
            version: 1,
            description: "Long when Wilder's RSI falls below lower (oversold), short when it rises above upper (overbought).",
            parameters: vec![
                int("period", 2.0, 100.0, 14.0, "bars in Wilder's RSI"),
                float("lower", 1.0, 99.0, 30.0, "oversold level"),
                float("upper", 1.0, 99.0, 70.0, "overbought level"),
            ],
            constraints: vec![Constraint::LessThan {
                left: "lower",
                right: "upper",
            }],
        },
        Family {
            name: "neural",
            version: 1,
            description: "An MLP over a lookback window of normalized returns and indicator features predicts the probability that the next move is up; long above 0.5 + threshold, short below 0.5 - threshold, flat between. Holds no position until trained (deep learning).",
            parameters: vec![
                float(
                    "threshold",
                    0.0,
                    0.45,
                    0.02,
                    "distance of the predicted probability from 0.5 needed to take a position",
                ),
                int(
                    "smoothing",
                    1.0,
                    20.0,
                    1.0,
                    "bars over which the predicted probability is averaged",
                ),
            ],
            constraints: vec![],
        },
        Family {
            name: "momentum_return",
            version: 1,
            description: "Legacy momentum with a raw-return threshold (the momentum rule before version 2; tools created before it keep trading exactly as they did): long when the return over the lookback exceeds +threshold, short below -threshold, flat between. Not scale-free: a threshold fit to one asset or bar size does not transfer; prefer momentum.",
            parameters: vec![
                lookback_period(),
                float(
                    "threshold",
                    0.0,
                    0.5,
                    0.02,
                    "minimum absolute lookback return (fraction) to take a position",
                ),
            ],
            constraints: vec![],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object literal")
    }

    #[test]
    fn a_tool_without_a_family_takes_the_first_that_accepts_its_parameters() {
        let seed = obj(json!({"threshold": 0.5, "lookback_period": 20}));
        assert_eq!(infer(&seed).map(|f| f.name), Some("momentum"));
        assert_eq!(infer(&Map::new()).map(|f| f.name), Some("momentum"));
        assert_eq!(
            infer(&obj(json!({"fast": 5, "slow": 40}))).map(|f| f.name),
            Some("sma_crossover")
        );
        // Only `neural` has a smoothing.
        assert_eq!(
            infer(&obj(json!({"threshold": 0.45, "smoothing": 3}))).map(|f| f.name),
            Some("neural")
        );
        assert!(infer(&obj(json!({"fast": 50, "slow": 20}))).is_none());
        assert!(infer(&obj(json!({"window": 5}))).is_none());
        let catalog = catalog();
        assert!(
            catalog
                .starts_with("momentum (lookback_period, threshold), sma_crossover (fast, slow)"),
            "{catalog}"
        );
    }

    #[test]
    fn omitted_parameters_take_defaults() {
        let f = get("sma_crossover").expect("family exists");
        let out = f.validate(&obj(json!({"fast": 5}))).expect("valid");
        assert_eq!(Value::Object(out), json!({"fast": 5, "slow": 20}));
    }

    #[test]
    fn every_kind_of_mistake_names_the_parameter() {
        let f = get("sma_crossover").expect("family exists");
        let e = f
            .validate(&obj(json!({"fast": 5.5, "slowest": 3})))
            .expect_err("invalid");
        let names: Vec<_> = e.iter().map(|e| e.parameter.as_str()).collect();
        assert_eq!(names, ["slowest", "fast"]);
        let e = f
            .validate(&obj(json!({"fast": 1})))
            .expect_err("out of range");
        assert_eq!(e[0].parameter, "fast");
        assert!(
            e[0].message.contains("between 2 and 200"),
            "{}",
            e[0].message
        );
        let e = f
            .validate(&obj(json!({"fast": 30, "slow": 20})))
            .expect_err("constraint");
        assert_eq!(
            (e[0].parameter.as_str(), e[0].message.as_str()),
            ("fast", "must be less than slow")
        );
        let e = f.validate(&obj(json!({"fast": "10"}))).expect_err("type");
        assert_eq!(e[0].message, "must be an integer number");
    }

    #[test]
    fn floats_accept_integers_and_every_default_is_valid() {
        let f = get("rsi").expect("family exists");
        let out = f.validate(&obj(json!({"lower": 20}))).expect("valid");
        assert_eq!(out["lower"], json!(20.0));
        for family in all() {
            assert!(
                family.validate(&Map::new()).is_ok(),
                "defaults of {} are valid",
                family.name
            );
        }
        let names: Vec<_> = all().iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "momentum",
                "sma_crossover",
                "mean_reversion",
                "rsi",
                "neural",
                "momentum_return"
            ]
        );
    }
}
