//! Multivariate TPE as in Optuna's `TPESampler(multivariate=True)`: the best
//! `min(ceil(0.1 n), 25)` trials form the "good" density l(x) and the rest the "bad" density
//! g(x), each a mixture of product Gaussian kernels (bandwidth 0.2 n^(-1/(d+4)) of each range,
//! as Optuna's) plus a uniform prior; 24 candidates drawn from l(x), the one with the largest
//! l(x) / g(x) is asked. Cheap at any history size.

use rand::Rng;
use rand::rngs::StdRng;

use super::super::{Space, Trial, score};
use super::{Sampler, normal};

/// Multivariate TPE; `bayesian` hands over to it once the history is too long for the
/// Gaussian process.
pub(super) struct Tpe {
    /// Candidates drawn from the good density per ask.
    candidates: usize,
}

impl Default for Tpe {
    fn default() -> Self {
        Self { candidates: 24 }
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
    fn ask(&mut self, space: &Space, history: &[Trial], rng: &mut StdRng, _: u64) -> Vec<f64> {
        if history.is_empty() {
            return space.sample(rng);
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
