//! Samplers: each proposes the next point in the unit cube from the trials so far and the
//! trial's own random generator.
//!
//! - `grid`: an even grid (all integer values of narrow int dimensions), feasible points only,
//!   thinned evenly to the budget;
//! - `random`: uniform feasible points;
//! - `bayesian` ([`bayes`]): a Latin-hypercube start, then Gaussian-process expected
//!   improvement ([`gp`]) while the history is short, multivariate TPE ([`tpe`]) beyond; the
//!   last 30% of the budget refines around the best point (`local`);
//! - `cmaes` ([`cmaes`]): CMA-ES, one generation per `lambda` consecutive trials;
//! - `local`: Gaussian steps around the best trial, shrinking as the study goes on.

mod bayes;
mod cmaes;
mod gp;
mod tpe;

use domain::families::ParamKind;
use rand::Rng;
use rand::rngs::StdRng;

use super::{Space, StudyConfig, Trial, score};

pub use domain::optimization::Method;

pub(crate) trait Sampler: Send {
    fn ask(&mut self, space: &Space, history: &[Trial], rng: &mut StdRng, index: u64) -> Vec<f64>;

    /// Whether an ask costs as much as a trial or more (a model fitted per ask): then each trial
    /// is evaluated while the next is asked; otherwise a batch is asked whole, then evaluated.
    fn costly_asks(&self) -> bool {
        false
    }
}

/// The sampler of `method` for a study of `config` over `space`.
pub(crate) fn sampler(method: Method, space: &Space, config: &StudyConfig) -> Box<dyn Sampler> {
    match method {
        Method::Grid => Box::new(Grid::new(space, config.trials)),
        Method::Random => Box::new(RandomSampler),
        Method::Bayesian => Box::new(bayes::Bayes::new(space, config.trials, config.seed)),
        Method::Local => Box::new(Local),
        Method::Cmaes => Box::new(cmaes::Cmaes::new(space.len(), config.seed)),
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
