//! Samplers: each proposes the next point in the unit cube from the trials so far and the
//! trial's own random generator.
//!
//! - `grid`: an even grid (all integer values of narrow int dimensions), feasible points only,
//!   thinned evenly to the budget;
//! - `random`: uniform feasible points;
//! - `bayesian`: multivariate TPE as in Optuna's `TPESampler(multivariate=True)`: after 10
//!   random trials, the best `min(ceil(0.1 n), 25)` trials form the "good" density l(x) and the
//!   rest the "bad" density g(x), each a mixture of product Gaussian kernels (bandwidth
//!   0.2 n^(-1/(d+4)) of each range, as Optuna's)
//!   plus a uniform prior; 24 candidates drawn from l(x), the one with the largest
//!   l(x) / g(x) is asked; the last 30% of the budget refines around the best point (`local`);
//! - `local`: Gaussian steps around the best trial, shrinking as the study goes on.

use rand::Rng;
use rand::rngs::StdRng;
use shared::families::ParamKind;

use super::{Space, StudyConfig, Trial, score};

pub use shared::optimization::Method;

pub(crate) trait Sampler: Send {
    fn ask(&mut self, space: &Space, history: &[Trial], rng: &mut StdRng, index: u64) -> Vec<f64>;
}

/// The sampler of `method` for a study of `config` over `space`.
pub(crate) fn sampler(method: Method, space: &Space, config: &StudyConfig) -> Box<dyn Sampler> {
    match method {
        Method::Grid => Box::new(Grid::new(space, config.trials)),
        Method::Random => Box::new(RandomSampler),
        Method::Bayesian => Box::new(Tpe {
            refine_from: (config.trials as f64 * 0.7).ceil() as u64,
            ..Tpe::default()
        }),
        Method::Local => Box::new(Local),
        // Placeholder until the CMA-ES sampler lands (being written in cmaes.rs).
        Method::Cmaes => Box::new(Local),
    }
}

struct RandomSampler;

impl Sampler for RandomSampler {
    fn ask(&mut self, space: &Space, _: &[Trial], rng: &mut StdRng, _: u64) -> Vec<f64> {
        space.sample(rng)
    }
}

struct Grid {
    points: Vec<Vec<f64>>,
}

impl Grid {
    fn new(space: &Space, budget: u64) -> Self {
        let d = space.len().max(1) as f64;
        let per_dim = (budget.max(1) as f64).powf(1.0 / d).ceil().max(2.0) as usize;
        let axes: Vec<Vec<f64>> = space
            .dims
            .iter()
            .map(|dim| {
                let span = dim.high - dim.low;
                let n = match dim.kind {
                    ParamKind::Int if span < per_dim as f64 => span as usize + 1,
                    _ => per_dim,
                };
                (0..n)
                    .map(|i| {
                        if n > 1 {
                            i as f64 / (n - 1) as f64
                        } else {
                            0.5
                        }
                    })
                    .collect()
            })
            .collect();
        let mut points: Vec<Vec<f64>> = vec![Vec::new()];
        for axis in &axes {
            points = points
                .into_iter()
                .flat_map(|p| {
                    axis.iter().map(move |&x| {
                        let mut q = p.clone();
                        q.push(x);
                        q
                    })
                })
                .collect();
        }
        points.retain(|p| space.feasible(p));
        let budget = budget.max(1) as usize;
        if points.len() > budget {
            let len = points.len();
            points = (0..budget)
                .map(|j| points[j * len / budget].clone())
                .collect();
        }
        Self { points }
    }
}

impl Sampler for Grid {
    fn ask(&mut self, space: &Space, _: &[Trial], rng: &mut StdRng, index: u64) -> Vec<f64> {
        if self.points.is_empty() {
            return space.sample(rng);
        }
        self.points[index as usize % self.points.len()].clone()
    }
}

struct Local;

impl Sampler for Local {
    fn ask(&mut self, space: &Space, history: &[Trial], rng: &mut StdRng, _: u64) -> Vec<f64> {
        let Some(best) = history
            .iter()
            .max_by(|a, b| score(a.value).total_cmp(&score(b.value)))
        else {
            return space.sample(rng);
        };
        let sigma = (0.2 * 0.97f64.powi(history.len() as i32)).max(0.005);
        for _ in 0..100 {
            let u: Vec<f64> = best
                .unit
                .iter()
                .map(|&x| (x + sigma * normal(rng)).clamp(0.0, 1.0))
                .collect();
            if space.feasible(&u) {
                return u;
            }
        }
        best.unit.clone()
    }
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

struct Tpe {
    startup: usize,
    candidates: usize,
    /// From this trial on, refine locally around the best point (the last 30% of the budget).
    refine_from: u64,
}

impl Default for Tpe {
    fn default() -> Self {
        Self {
            startup: 10,
            candidates: 24,
            refine_from: u64::MAX,
        }
    }
}

/// A mixture of product Gaussian kernels on the unit cube plus a uniform prior.
struct Parzen {
    centers: Vec<Vec<f64>>,
    sigma: Vec<f64>,
}

impl Parzen {
    fn fit(points: Vec<Vec<f64>>, dims: usize) -> Self {
        // Optuna's multivariate bandwidth: 0.2 n^(-1/(d+4)) of each (unit) range.
        let n = points.len().max(1) as f64;
        let s = 0.2 * n.powf(-1.0 / (dims as f64 + 4.0));
        Self {
            centers: points,
            sigma: vec![s; dims],
        }
    }

    /// log density at `x` (the prior is one extra uniform component).
    fn log_density(&self, x: &[f64]) -> f64 {
        let mut total = 1.0; // the uniform prior's density on the unit cube
        for c in &self.centers {
            let mut log_k = 0.0;
            for ((&xi, &ci), &s) in x.iter().zip(c).zip(&self.sigma) {
                let z = (xi - ci) / s;
                log_k += -0.5 * z * z - s.ln() - 0.918_938_533_204_672_7;
            }
            total += log_k.exp();
        }
        (total / (self.centers.len() as f64 + 1.0)).ln()
    }

    fn sample(&self, rng: &mut StdRng) -> Vec<f64> {
        let pick = rng.random_range(0..=self.centers.len());
        match self.centers.get(pick) {
            None => (0..self.sigma.len()).map(|_| rng.random::<f64>()).collect(),
            Some(c) => c
                .iter()
                .zip(&self.sigma)
                .map(|(&ci, &s)| {
                    // Truncated to the unit interval by redrawing (then clamping).
                    for _ in 0..20 {
                        let x = ci + s * normal(rng);
                        if (0.0..=1.0).contains(&x) {
                            return x;
                        }
                    }
                    ci.clamp(0.0, 1.0)
                })
                .collect(),
        }
    }
}

impl Sampler for Tpe {
    fn ask(&mut self, space: &Space, history: &[Trial], rng: &mut StdRng, index: u64) -> Vec<f64> {
        if history.len() < self.startup {
            return space.sample(rng);
        }
        if index >= self.refine_from {
            return Local.ask(space, history, rng, index);
        }
        let mut sorted: Vec<&Trial> = history.iter().collect();
        sorted.sort_by(|a, b| {
            score(b.value)
                .total_cmp(&score(a.value))
                .then(a.index.cmp(&b.index))
        });
        let n_good = ((0.1 * sorted.len() as f64).ceil() as usize).clamp(1, 25);
        let dims = space.len();
        let good = Parzen::fit(
            sorted[..n_good].iter().map(|t| t.unit.clone()).collect(),
            dims,
        );
        let bad = Parzen::fit(
            sorted[n_good..].iter().map(|t| t.unit.clone()).collect(),
            dims,
        );
        let mut best: Option<(f64, Vec<f64>)> = None;
        let mut tries = 0;
        while tries < self.candidates * 20 && best.as_ref().is_none_or(|_| tries < self.candidates)
        {
            tries += 1;
            let x = good.sample(rng);
            if !space.feasible(&x) {
                continue;
            }
            let ratio = good.log_density(&x) - bad.log_density(&x);
            if best.as_ref().is_none_or(|(r, _)| ratio > *r) {
                best = Some((ratio, x));
            }
        }
        best.map_or_else(|| space.sample(rng), |(_, x)| x)
    }
}
