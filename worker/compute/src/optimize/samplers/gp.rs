//! A small Gaussian-process surrogate for `bayesian`: zero mean on standardized values, Matern 5/2
//! kernel with one length scale per dimension (ARD), a noise term, the signal variance profiled
//! out of the marginal likelihood. Hyper-parameters maximize the marginal likelihood (with weak
//! log-normal priors) by Rprop on its gradient; the linear algebra is a hand-written Cholesky
//! (`bayesian` hands over to TPE before the history reaches 128 points, so O(n^3) stays small).
//!
//! Pure and deterministic: the same points and values give the same model bit for bit.

mod fit;

use rayon::prelude::*;

pub(super) use fit::fit_hyper;

/// Bounds of log length scale (unit-cube coordinates) and of log noise (relative to the signal).
const LOG_LS: (f64, f64) = (-4.5, 2.5);
const LOG_NOISE: (f64, f64) = (-13.8, 0.0);
/// Weak log-normal priors: length scale around 0.5 of the range, noise around 1e-3.
const PRIOR_LS: (f64, f64) = (-0.7, 1.0);
const PRIOR_NOISE: (f64, f64) = (-6.9, 2.0);
/// Added to the diagonal so the Cholesky of a noise-free fit stays defined.
const JITTER: f64 = 1e-9;

/// Rows of a matrix per rayon task (the kernel matrices, the inverse's columns, the gradient's
/// rows): below this a task costs more than it saves. Every parallel part writes its own rows
/// or adds per-row results in row order, so the model is the same whatever the thread count.
const ROWS_PER_TASK: usize = 32;

/// Hyper-parameters: log length scales then log noise.
pub(super) type Hyper = Vec<f64>;

/// The starting hyper-parameters for `dims` dimensions.
pub(super) fn default_hyper(dims: usize) -> Hyper {
    let mut h = vec![PRIOR_LS.0; dims];
    h.push(PRIOR_NOISE.0);
    h
}

/// Matern 5/2 correlation at scaled squared distance `r2`, and `(5/3)(1 + r) e^-r` (with
/// `r = sqrt(5 r2)`), which times `(dx_i / l_i)^2` is its derivative in `log l_i`.
fn matern(r2: f64) -> (f64, f64) {
    let r = (5.0 * r2).sqrt();
    let e = (-r).exp();
    ((1.0 + r + r * r / 3.0) * e, 5.0 / 3.0 * (1.0 + r) * e)
}

/// In-place lower Cholesky factor of the row-major `n x n` matrix `a` (upper part left as is);
/// false when `a` is not positive definite.
fn cholesky(a: &mut [f64], n: usize) -> bool {
    for i in 0..n {
        let (done, tail) = a.split_at_mut(i * n);
        let row_i = &mut tail[..n];
        for j in 0..i {
            let row_j = &done[j * n..j * n + j + 1];
            let s: f64 = row_i[..j].iter().zip(&row_j[..j]).map(|(a, b)| a * b).sum();
            row_i[j] = (row_i[j] - s) / row_j[j];
        }
        let d = row_i[i] - row_i[..i].iter().map(|v| v * v).sum::<f64>();
        if !(d > 0.0 && d.is_finite()) {
            return false;
        }
        row_i[i] = d.sqrt();
    }
    true
}

/// Solves `L v = b` in place (`l` row-major lower, stride `n`).
fn forward(l: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..b.len() {
        let row = &l[i * n..i * n + i];
        let s: f64 = row.iter().zip(&b[..i]).map(|(a, v)| a * v).sum();
        b[i] = (b[i] - s) / l[i * n + i];
    }
}

/// Solves `L^T v = b` in place.
fn backward(l: &[f64], n: usize, b: &mut [f64]) {
    for j in (0..b.len()).rev() {
        b[j] /= l[j * n + j];
        let bj = b[j];
        for (i, v) in b[..j].iter_mut().enumerate() {
            *v -= l[j * n + i] * bj;
        }
    }
}

/// A fitted model.
#[derive(Clone, Debug)]
pub(super) struct Gp {
    dims: usize,
    /// Points scaled by the inverse length scales (row-major `n x dims`).
    scaled: Vec<f64>,
    inv_ls: Vec<f64>,
    noise: f64,
    /// Profiled signal variance.
    signal: f64,
    /// Lower Cholesky factor of the correlation matrix plus noise, row stride `cap`.
    chol: Vec<f64>,
    cap: usize,
    n: usize,
    y: Vec<f64>,
    /// `(R + noise I)^-1 y`.
    alpha: Vec<f64>,
}

impl Gp {
    /// The model of `values` at `points` (row-major `n x dims`) with hyper-parameters `hyper`,
    /// room for `extra` fantasized points; `None` if the matrix is not positive definite.
    pub(super) fn new(
        points: &[f64],
        values: &[f64],
        dims: usize,
        hyper: &[f64],
        extra: usize,
    ) -> Option<Self> {
        let n = values.len();
        let cap = n + extra;
        let (inv_ls, noise, scaled) = scaled_points(points, dims, hyper);
        let mut chol = vec![0.0; cap * cap];
        chol.par_chunks_mut(cap.max(1))
            .take(n)
            .enumerate()
            .with_min_len(ROWS_PER_TASK)
            .for_each(|(i, row)| {
                for (j, c) in row[..i].iter_mut().enumerate() {
                    *c = matern(dist2(&scaled, dims, i, j)).0;
                }
                row[i] = 1.0 + noise + JITTER;
            });
        // The factorization works on a stride-n copy, then moves into the stride-cap buffer.
        let mut packed: Vec<f64> = (0..n)
            .flat_map(|i| chol[i * cap..i * cap + n].to_vec())
            .collect();
        if !cholesky(&mut packed, n) {
            return None;
        }
        for i in 0..n {
            chol[i * cap..i * cap + i + 1].copy_from_slice(&packed[i * n..i * n + i + 1]);
        }
        let mut gp = Self {
            dims,
            scaled,
            inv_ls,
            noise,
            signal: 1.0,
            chol,
            cap,
            n,
            y: values.to_vec(),
            alpha: Vec::new(),
        };
        gp.solve_alpha();
        gp.signal =
            (gp.y.iter().zip(&gp.alpha).map(|(a, b)| a * b).sum::<f64>() / n as f64).max(1e-12);
        Some(gp)
    }

    fn solve_alpha(&mut self) {
        let mut a = self.y.clone();
        forward(&self.chol, self.cap, &mut a);
        backward(&self.chol, self.cap, &mut a);
        self.alpha = a;
    }

    fn scale(&self, x: &[f64]) -> Vec<f64> {
        x.iter().zip(&self.inv_ls).map(|(a, s)| a * s).collect()
    }

    /// Correlations of (scaled) `xs` with the model's points.
    fn cross(&self, xs: &[f64]) -> Vec<f64> {
        self.scaled
            .chunks(self.dims)
            .take(self.n)
            .map(|p| matern(p.iter().zip(xs).map(|(a, b)| (a - b) * (a - b)).sum()).0)
            .collect()
    }

    /// Posterior mean and variance of the latent function at `x` (standardized units).
    pub(super) fn predict(&self, x: &[f64]) -> (f64, f64) {
        let mut k = self.cross(&self.scale(x));
        let mean: f64 = k.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
        forward(&self.chol, self.cap, &mut k);
        let explained: f64 = k.iter().map(|v| v * v).sum();
        (mean, self.signal * (1.0 - explained).max(1e-10))
    }

    /// The largest posterior mean at the observed points (the incumbent of expected
    /// improvement; with noise it is less optimistic than the largest observation).
    pub(super) fn best_mean(&self) -> f64 {
        self.y
            .iter()
            .zip(&self.alpha)
            .map(|(y, a)| y - (self.noise + JITTER) * a)
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// Conditions on a pending point as if its value were the posterior mean there ("kriging
    /// believer"): the mean is unchanged, the variance around the point shrinks, so the
    /// next proposal of the same batch goes elsewhere. No-op once the reserved room is used.
    pub(super) fn add_fantasy(&mut self, x: &[f64]) {
        if self.n >= self.cap {
            return;
        }
        let xs = self.scale(x);
        let mut k = self.cross(&xs);
        let mean: f64 = k.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
        forward(&self.chol, self.cap, &mut k);
        let rest = 1.0 + self.noise + JITTER - k.iter().map(|v| v * v).sum::<f64>();
        let n = self.n;
        self.chol[n * self.cap..n * self.cap + n].copy_from_slice(&k);
        self.chol[n * self.cap + n] = rest.max(1e-10).sqrt();
        self.scaled.extend(xs);
        self.y.push(mean);
        self.n += 1;
        self.solve_alpha();
    }
}

/// The inverse length scales and the noise variance of log hyper-parameters `hyper`, and the
/// points (rows of `dims`) divided by their length scales.
fn scaled_points(points: &[f64], dims: usize, hyper: &[f64]) -> (Vec<f64>, f64, Vec<f64>) {
    let inv_ls: Vec<f64> = hyper[..dims].iter().map(|l| (-l).exp()).collect();
    let noise = hyper[dims].exp();
    let scaled = points
        .chunks(dims)
        .flat_map(|p| p.iter().zip(&inv_ls).map(|(x, s)| x * s))
        .collect();
    (inv_ls, noise, scaled)
}

fn dist2(scaled: &[f64], dims: usize, i: usize, j: usize) -> f64 {
    scaled[i * dims..i * dims + dims]
        .iter()
        .zip(&scaled[j * dims..j * dims + dims])
        .map(|(a, b)| (a - b) * (a - b))
        .sum()
}

/// `ln(phi(z) + z Phi(z))`, the log of expected improvement per unit of standard deviation,
/// accurate far into the left tail (where the plain formula underflows and ties every
/// candidate at zero).
pub(super) fn log_ei_factor(z: f64) -> f64 {
    const LN_SQRT_TAU: f64 = 0.918_938_533_204_672_7;
    if z > -3.0 {
        let phi = (-0.5 * z * z - LN_SQRT_TAU).exp();
        let cdf = 0.5 * erfc(-z / std::f64::consts::SQRT_2);
        (phi + z * cdf).max(1e-300).ln()
    } else {
        // phi(z) (1 - t R(t)) with t = -z and Mills' ratio R(t) as a continued fraction:
        // 1 - t R(t) = 1 / (1 + t T), T = t + 2 / (t + 3 / (t + ...)).
        let t = -z;
        let mut tail = t;
        for k in (2..32).rev() {
            tail = t + k as f64 / tail;
        }
        -0.5 * t * t - LN_SQRT_TAU - (1.0 + t * tail).ln()
    }
}

/// Complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_likelihood_gradient_matches_finite_differences() {
        // Arrange
        let points = [0.1, 0.2, 0.5, 0.9, 0.8, 0.4, 0.3, 0.7, 0.6, 0.1];
        let y = [0.5, -1.0, 0.3, 1.2, -0.4];
        let h = [-0.9, -0.3, -4.0];

        // Act
        let (_, grad) = fit::log_likelihood(&points, &y, 2, &h).expect("positive definite");

        // Assert
        for k in 0..3 {
            let mut up = h;
            let mut down = h;
            up[k] += 1e-6;
            down[k] -= 1e-6;
            let f = |p: &[f64]| fit::log_likelihood(&points, &y, 2, p).expect("pd").0;
            let numeric = (f(&up) - f(&down)) / 2e-6;
            assert!(
                (numeric - grad[k]).abs() < 1e-4 * (1.0 + numeric.abs()),
                "{k}: {numeric} vs {}",
                grad[k]
            );
        }
    }

    #[test]
    fn the_model_interpolates_and_fantasies_shrink_the_variance() {
        // Arrange
        let points = [0.1, 0.5, 0.9];
        let y = [1.0, -1.0, 0.5];
        let mut gp = Gp::new(&points, &y, 1, &[-1.0, -12.0], 1).expect("positive definite");

        // Act
        let (mean, var) = gp.predict(&[0.5]);
        let before = gp.predict(&[0.3]).1;
        gp.add_fantasy(&[0.3]);
        let (_, after) = gp.predict(&[0.3]);

        // Assert
        assert!(
            (mean + 1.0).abs() < 1e-3 && var < 1e-4,
            "noise-free fit interpolates"
        );
        assert!(
            after < 0.01 * before,
            "a fantasy removes the variance at its point"
        );
    }

    #[test]
    fn log_ei_is_continuous_and_monotone() {
        let mut last = f64::NEG_INFINITY;
        for i in 0..400 {
            let z = -30.0 + i as f64 * 0.1;
            let v = log_ei_factor(z);
            assert!(v > last, "increasing at {z}");
            last = v;
        }
        assert!((log_ei_factor(-3.0 + 1e-9) - log_ei_factor(-3.0 - 1e-9)).abs() < 1e-5);
        assert!((log_ei_factor(0.0) - (0.398_942_28f64).ln()).abs() < 1e-6);
    }
}
