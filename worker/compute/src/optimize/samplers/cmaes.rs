//! CMA-ES (Hansen's `(mu/mu_w, lambda)` evolution strategy with cumulative step-size adaptation,
//! rank-one and active rank-mu covariance updates, as in his 2016 tutorial), run in the unit
//! cube: population `4 + floor(3 ln d)`, initial mean at the centre, initial step `SIGMA0`.
//!
//! Generations map onto trial numbers: generation `g` is trials `[g lambda, (g + 1) lambda)`.
//! The search distribution is a pure function of the history: it is the initial one updated by
//! every *complete* generation in it, in order (cached between asks, recomputed when the
//! history is not the one cached). A trial asked before the previous generation is fully told
//! (a batch straddling two generations) is drawn from the latest complete state; it is still
//! told to its own generation. The draw itself comes from the trial's random generator only.
//!
//! Bounds: a draw is mirrored into the unit cube; an infeasible one (constraints) is redrawn a
//! few times, then replaced by a uniform feasible point. The update clips each step to a
//! Mahalanobis length, so mirrored or replaced points cannot blow the covariance up.
//! Restarts (new random mean, initial step size) when the distribution has converged or become
//! ill-conditioned; flat generations (integer plateaus, all-NaN) widen the step instead.

use rand::Rng;
use rand::rngs::StdRng;

use super::super::{Space, Trial, score, trial_rng};
use super::{Sampler, normal};

/// Initial step size, in unit-cube coordinates (Optuna starts at 1/6 of the range; a wider
/// start explores more of the cube at the small budgets this product runs).
const SIGMA0: f64 = 0.25;
/// Draws tried before a uniform feasible point replaces an infeasible one.
const REDRAWS: usize = 16;
/// Salt of the random generator that places the mean at a restart.
const RESTART_SALT: u64 = 0xC3A5_C85C_97CB_3127;

/// The strategy's constants for `d` dimensions (Hansen's defaults).
#[derive(Clone, Debug)]
struct Params {
    dims: usize,
    lambda: usize,
    /// Parent number: the best `mu` trials move the mean.
    mu: usize,
    /// Recombination weights of all `lambda` ranks (the last `lambda - mu` negative).
    weights: Vec<f64>,
    mu_eff: f64,
    c_sigma: f64,
    d_sigma: f64,
    c_c: f64,
    c_1: f64,
    c_mu: f64,
    chi_n: f64,
}

impl Params {
    fn new(dims: usize) -> Self {
        let n = dims.max(1) as f64;
        let lambda = 4 + (3.0 * n.ln()).floor() as usize;
        let mu = lambda / 2;
        let raw: Vec<f64> = (1..=lambda)
            .map(|i| ((lambda as f64 + 1.0) / 2.0).ln() - (i as f64).ln())
            .collect();
        let (positive, negative) = raw.split_at(mu);
        let mu_eff =
            positive.iter().sum::<f64>().powi(2) / positive.iter().map(|w| w * w).sum::<f64>();
        let mu_eff_neg = negative.iter().sum::<f64>().powi(2)
            / negative.iter().map(|w| w * w).sum::<f64>().max(1e-300);
        let c_sigma = (mu_eff + 2.0) / (n + mu_eff + 5.0);
        let d_sigma = 1.0 + 2.0 * (((mu_eff - 1.0) / (n + 1.0)).sqrt() - 1.0).max(0.0) + c_sigma;
        let c_c = (4.0 + mu_eff / n) / (n + 4.0 + 2.0 * mu_eff / n);
        let c_1 = 2.0 / ((n + 1.3).powi(2) + mu_eff);
        let c_mu = (2.0 * (mu_eff - 2.0 + 1.0 / mu_eff) / ((n + 2.0).powi(2) + mu_eff))
            .min(1.0 - c_1 - 1e-8);
        // Active CMA (Hansen 2016): the worse half gets negative weights, bounded so the
        // covariance stays positive definite.
        let neg_scale = (1.0 + c_1 / c_mu)
            .min(1.0 + 2.0 * mu_eff_neg / (mu_eff + 2.0))
            .min((1.0 - c_1 - c_mu) / (n * c_mu));
        let pos_sum: f64 = positive.iter().sum();
        let neg_sum: f64 = negative.iter().map(|w| w.abs()).sum::<f64>().max(1e-300);
        let weights: Vec<f64> = positive
            .iter()
            .map(|w| w / pos_sum)
            .chain(negative.iter().map(|w| neg_scale * w / neg_sum))
            .collect();
        let chi_n = n.sqrt() * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n));
        Self {
            dims,
            lambda,
            mu,
            weights,
            mu_eff,
            c_sigma,
            d_sigma,
            c_c,
            c_1,
            c_mu,
            chi_n,
        }
    }
}

/// The search distribution after some generations.
#[derive(Clone, Debug, PartialEq)]
struct State {
    mean: Vec<f64>,
    sigma: f64,
    /// Covariance (row-major `d x d`).
    cov: Vec<f64>,
    /// Eigenvectors of `cov` (column `k` is `basis[i * d + k]`).
    basis: Vec<f64>,
    /// Square roots of the eigenvalues.
    scales: Vec<f64>,
    p_sigma: Vec<f64>,
    p_c: Vec<f64>,
    /// Generations since the last (re)start, for the `h_sigma` correction.
    run_generations: u32,
    /// Complete generations folded in.
    generations: usize,
}

impl State {
    fn initial(dims: usize, mean: Vec<f64>) -> Self {
        let identity: Vec<f64> = (0..dims * dims)
            .map(|k| if k / dims == k % dims { 1.0 } else { 0.0 })
            .collect();
        Self {
            mean,
            sigma: SIGMA0,
            cov: identity.clone(),
            basis: identity,
            scales: vec![1.0; dims],
            p_sigma: vec![0.0; dims],
            p_c: vec![0.0; dims],
            run_generations: 0,
            generations: 0,
        }
    }

    /// `B D z`: a draw of the (unscaled) mutation from standard normal `z`.
    fn mutation(&self, z: &[f64]) -> Vec<f64> {
        let d = z.len();
        (0..d)
            .map(|i| {
                (0..d)
                    .map(|k| self.basis[i * d + k] * self.scales[k] * z[k])
                    .sum()
            })
            .collect()
    }

    /// `C^(-1/2) y`.
    fn whiten(&self, y: &[f64]) -> Vec<f64> {
        let d = y.len();
        let coords: Vec<f64> = (0..d)
            .map(|k| (0..d).map(|i| self.basis[i * d + k] * y[i]).sum::<f64>() / self.scales[k])
            .collect();
        (0..d)
            .map(|i| (0..d).map(|k| self.basis[i * d + k] * coords[k]).sum())
            .collect()
    }
}

/// The CMA-ES sampler of one study.
pub(super) struct Cmaes {
    seed: u64,
    params: Params,
    /// The state after the complete generations of the history it was computed from, and that
    /// history's trials as (index, value bits), to check the next history extends it.
    cache: Option<(State, Vec<(u64, u64)>)>,
}

impl Cmaes {
    /// A sampler for `dims` dimensions; `seed` places the mean at restarts.
    pub(super) fn new(dims: usize, seed: u64) -> Self {
        Self {
            seed,
            params: Params::new(dims),
            cache: None,
        }
    }

    /// The distribution after every complete generation of `history`.
    fn state(&mut self, history: &[Trial]) -> State {
        let lambda = self.params.lambda;
        let complete = history.len() / lambda;
        let cached = self.cache.take().filter(|(state, seen)| {
            state.generations <= complete
                && seen.len() == state.generations * lambda
                && seen
                    .iter()
                    .zip(history)
                    .all(|(&(i, v), t)| i == t.index && v == t.value.to_bits())
        });
        let (mut state, mut seen) = cached.unwrap_or_else(|| {
            let dims = self.params.dims;
            (State::initial(dims, vec![0.5; dims]), Vec::new())
        });
        while state.generations < complete {
            let start = state.generations * lambda;
            let generation = &history[start..start + lambda];
            seen.extend(generation.iter().map(|t| (t.index, t.value.to_bits())));
            self.update(&mut state, generation);
        }
        self.cache = Some((state.clone(), seen));
        state
    }

    /// Folds one told generation into the distribution.
    fn update(&self, state: &mut State, generation: &[Trial]) {
        let p = &self.params;
        let d = p.dims;
        let mut ranked: Vec<&Trial> = generation.iter().collect();
        ranked.sort_by(|a, b| {
            score(b.value)
                .total_cmp(&score(a.value))
                .then(a.index.cmp(&b.index))
        });
        // Steps of the selected points, clipped to a Mahalanobis length (Hansen's advice for
        // repaired or injected points).
        let clip = (d as f64).sqrt() + 2.0 * d as f64 / (d as f64 + 2.0);
        let steps: Vec<Vec<f64>> = ranked
            .iter()
            .map(|t| {
                let y: Vec<f64> = t
                    .unit
                    .iter()
                    .zip(&state.mean)
                    .map(|(&x, &m)| (x - m) / state.sigma)
                    .collect();
                let length = norm(&state.whiten(&y));
                if length > clip {
                    y.iter().map(|v| v * clip / length).collect()
                } else {
                    y
                }
            })
            .collect();
        let y_w: Vec<f64> = (0..d)
            .map(|i| {
                p.weights[..p.mu]
                    .iter()
                    .zip(&steps)
                    .map(|(w, y)| w * y[i])
                    .sum()
            })
            .collect();
        // Negative weights act on steps rescaled to the Mahalanobis length sqrt(d).
        let active: Vec<f64> = p
            .weights
            .iter()
            .zip(&steps)
            .map(|(&w, y)| {
                if w >= 0.0 {
                    w
                } else {
                    w * d as f64 / norm(&state.whiten(y)).powi(2).max(1e-300)
                }
            })
            .collect();
        let weight_sum: f64 = p.weights.iter().sum();
        for (m, y) in state.mean.iter_mut().zip(&y_w) {
            *m = (*m + state.sigma * y).clamp(0.0, 1.0);
        }

        let c_s = p.c_sigma;
        let white = state.whiten(&y_w);
        let k_s = (c_s * (2.0 - c_s) * p.mu_eff).sqrt();
        for (ps, w) in state.p_sigma.iter_mut().zip(&white) {
            *ps = (1.0 - c_s) * *ps + k_s * w;
        }
        state.run_generations += 1;
        let ps_norm = norm(&state.p_sigma);
        let correction = (1.0 - (1.0 - c_s).powi(2 * state.run_generations as i32)).sqrt();
        let h_sigma = ps_norm / correction < (1.4 + 2.0 / (d as f64 + 1.0)) * p.chi_n;
        let k_c = if h_sigma {
            (p.c_c * (2.0 - p.c_c) * p.mu_eff).sqrt()
        } else {
            0.0
        };
        for (pc, y) in state.p_c.iter_mut().zip(&y_w) {
            *pc = (1.0 - p.c_c) * *pc + k_c * y;
        }
        let delta_h = if h_sigma { 0.0 } else { p.c_c * (2.0 - p.c_c) };
        for i in 0..d {
            for j in 0..d {
                let rank_mu: f64 = active
                    .iter()
                    .zip(&steps)
                    .map(|(w, y)| w * y[i] * y[j])
                    .sum();
                let c = &mut state.cov[i * d + j];
                *c = (1.0 - p.c_1 - p.c_mu * weight_sum) * *c
                    + p.c_1 * (state.p_c[i] * state.p_c[j] + delta_h * *c)
                    + p.c_mu * rank_mu;
            }
        }
        state.sigma *= ((c_s / p.d_sigma) * (ps_norm / p.chi_n - 1.0))
            .min(1.0)
            .exp();

        // Flat fitness (an integer plateau, or nothing but NaN): widen the step.
        let flat_at = ((0.7 * p.lambda as f64).ceil() as usize).clamp(1, ranked.len()) - 1;
        if score(ranked[0].value) == score(ranked[flat_at].value) {
            state.sigma *= (0.2 + c_s / p.d_sigma).exp();
        }
        let (values, vectors) = symmetric_eigen(&state.cov, d);
        state.basis = vectors;
        state.scales = values.iter().map(|v| v.max(1e-20).sqrt()).collect();
        // The cube has side 1: a step wider than that only mirrors back and forth.
        let widest = state.scales.iter().fold(0.0f64, |a, &b| a.max(b));
        state.sigma = state.sigma.min(1.0 / widest.max(1e-300));
        state.generations += 1;

        let narrowest = state.scales.iter().fold(f64::INFINITY, |a, &b| a.min(b));
        let converged = state.sigma * widest < 1e-8;
        let degenerate = !state.sigma.is_finite() || widest / narrowest > 1e7;
        if converged || degenerate {
            let mut rng = trial_rng(self.seed ^ RESTART_SALT, state.generations as u64);
            let mean = (0..d).map(|_| rng.random::<f64>()).collect();
            let generations = state.generations;
            *state = State::initial(d, mean);
            state.generations = generations;
        }
    }
}

impl Sampler for Cmaes {
    fn ask(&mut self, space: &Space, history: &[Trial], rng: &mut StdRng, _: u64) -> Vec<f64> {
        if space.is_empty() || space.len() != self.params.dims {
            return space.sample(rng);
        }
        let state = self.state(history);
        for _ in 0..REDRAWS {
            let z: Vec<f64> = (0..space.len()).map(|_| normal(rng)).collect();
            let x: Vec<f64> = state
                .mutation(&z)
                .iter()
                .zip(&state.mean)
                .map(|(y, m)| mirror(m + state.sigma * y))
                .collect();
            if space.feasible(&x) {
                return x;
            }
        }
        space.sample(rng)
    }
}

/// `x` reflected into [0, 1] at both bounds (0.5 when not finite).
fn mirror(x: f64) -> f64 {
    if !x.is_finite() {
        return 0.5;
    }
    let t = x.rem_euclid(2.0);
    if t > 1.0 { 2.0 - t } else { t }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Eigenvalues and eigenvectors (columns of a row-major matrix) of the symmetric `d x d`
/// matrix `a`, by cyclic Jacobi rotations (the dimensions here are a handful).
fn symmetric_eigen(a: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut m = a.to_vec();
    // Symmetrize against rounding.
    for i in 0..d {
        for j in 0..i {
            let s = 0.5 * (m[i * d + j] + m[j * d + i]);
            m[i * d + j] = s;
            m[j * d + i] = s;
        }
    }
    let mut v: Vec<f64> = (0..d * d)
        .map(|k| if k / d == k % d { 1.0 } else { 0.0 })
        .collect();
    for _ in 0..64 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * d + j].powi(2))
            .sum();
        let diag: f64 = (0..d).map(|i| m[i * d + i].powi(2)).sum();
        if off <= 1e-30 * diag.max(1e-300) {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = m[p * d + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (m[q * d + q] - m[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (mkp, mkq) = (m[k * d + p], m[k * d + q]);
                    m[k * d + p] = c * mkp - s * mkq;
                    m[k * d + q] = s * mkp + c * mkq;
                }
                for k in 0..d {
                    let (mpk, mqk) = (m[p * d + k], m[q * d + k]);
                    m[p * d + k] = c * mpk - s * mqk;
                    m[q * d + k] = s * mpk + c * mqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| m[i * d + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_eigen_reconstructs_a_symmetric_matrix() {
        // Arrange
        let a = [4.0, 1.0, 0.5, 1.0, 3.0, -0.2, 0.5, -0.2, 1.0];

        // Act
        let (values, v) = symmetric_eigen(&a, 3);

        // Assert
        for i in 0..3 {
            for j in 0..3 {
                let back: f64 = (0..3)
                    .map(|k| v[i * 3 + k] * values[k] * v[j * 3 + k])
                    .sum();
                assert!((back - a[i * 3 + j]).abs() < 1e-10, "V diag(l) V^T = A");
            }
        }
    }

    #[test]
    fn mirroring_keeps_points_in_the_cube() {
        for (x, want) in [
            (0.3, 0.3),
            (-0.2, 0.2),
            (1.25, 0.75),
            (2.5, 0.5),
            (-3.1, 0.9),
        ] {
            assert!((mirror(x) - want).abs() < 1e-12, "{x} mirrors to {want}");
        }
        assert_eq!(mirror(f64::NAN), 0.5);
    }
}
