//! A search space: the family's parameters as dimensions (int or float, with bounds) and its
//! cross-parameter constraints. Samplers work in the unit cube; [`Space::decode`] maps a point to
//! parameters (ints rounded) and [`Space::feasible`] applies the constraints.

use domain::families::{Constraint, Family, ParamKind};
use rand::Rng;
use serde_json::{Map, Value};

/// One dimension.
#[derive(Clone, Debug, PartialEq)]
pub struct Dim {
    /// Parameter name.
    pub name: String,
    /// Int or float.
    pub kind: ParamKind,
    /// Lower bound (inclusive).
    pub low: f64,
    /// Upper bound (inclusive).
    pub high: f64,
}

/// A search space.
#[derive(Clone, Debug, PartialEq)]
pub struct Space {
    /// The dimensions, in the family's parameter order.
    pub dims: Vec<Dim>,
    constraints: Vec<(usize, usize)>,
}

impl Space {
    /// The space of a family's parameters, with `less than` constraints between them.
    pub fn of_family(family: &Family) -> Self {
        let dims: Vec<Dim> = family
            .parameters
            .iter()
            .map(|p| Dim {
                name: p.name.to_owned(),
                kind: p.r#type,
                low: p.min,
                high: p.max,
            })
            .collect();
        let index = |name: &str| dims.iter().position(|d| d.name == name);
        let constraints = family
            .constraints
            .iter()
            .filter_map(|c| match c {
                Constraint::LessThan { left, right } => Some((index(left)?, index(right)?)),
            })
            .collect();
        Self { dims, constraints }
    }

    /// A box of float dimensions without constraints (benchmark functions).
    pub fn unit_box(bounds: &[(f64, f64)]) -> Self {
        Self {
            dims: bounds
                .iter()
                .enumerate()
                .map(|(i, &(low, high))| Dim {
                    name: format!("x{i}"),
                    kind: ParamKind::Float,
                    low,
                    high,
                })
                .collect(),
            constraints: Vec::new(),
        }
    }

    /// Number of dimensions.
    pub fn len(&self) -> usize {
        self.dims.len()
    }

    /// Whether the space has no dimension.
    pub fn is_empty(&self) -> bool {
        self.dims.is_empty()
    }

    /// The value of each dimension at unit-cube point `u` (ints rounded to the nearest integer).
    pub fn values(&self, u: &[f64]) -> Vec<f64> {
        self.dims
            .iter()
            .zip(u)
            .map(|(d, &x)| {
                let v = d.low + x.clamp(0.0, 1.0) * (d.high - d.low);
                match d.kind {
                    ParamKind::Int => v.round(),
                    ParamKind::Float => v,
                }
            })
            .collect()
    }

    /// The unit-cube point of values `v`.
    pub fn unit(&self, v: &[f64]) -> Vec<f64> {
        self.dims
            .iter()
            .zip(v)
            .map(|(d, &x)| {
                if d.high > d.low {
                    ((x - d.low) / (d.high - d.low)).clamp(0.0, 1.0)
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Whether the values at `u` satisfy every constraint.
    pub fn feasible(&self, u: &[f64]) -> bool {
        let v = self.values(u);
        self.constraints.iter().all(|&(l, r)| v[l] < v[r])
    }

    /// The parameters (a JSON object) at `u`.
    pub fn decode(&self, u: &[f64]) -> Map<String, Value> {
        self.dims
            .iter()
            .zip(self.values(u))
            .map(|(d, v)| {
                let value = match d.kind {
                    ParamKind::Int => Value::from(v as i64),
                    ParamKind::Float => {
                        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
                    }
                };
                (d.name.clone(), value)
            })
            .collect()
    }

    /// The parameters (a JSON object) with the given dimension values.
    pub fn params(&self, values: &[f64]) -> Map<String, Value> {
        self.decode(&self.unit(values))
    }

    /// A uniformly random feasible point (rejection sampling; the last draw when none of 1,000
    /// is feasible, which only a nearly empty space can cause).
    pub fn sample(&self, rng: &mut impl Rng) -> Vec<f64> {
        let mut u = Vec::new();
        for _ in 0..1_000 {
            u = (0..self.len()).map(|_| rng.random::<f64>()).collect();
            if self.feasible(&u) {
                break;
            }
        }
        u
    }
}
