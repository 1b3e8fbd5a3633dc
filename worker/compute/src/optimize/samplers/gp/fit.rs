//! Fitting the Gaussian process's hyper-parameters: the marginal likelihood and its gradient,
//! maximized by Rprop. The O(n^3) parts (the kernel matrix, the inverse's columns, the
//! gradient's rows) run in parallel by rows, each row's result added in row order.

use rayon::prelude::*;

use super::{
    Hyper, JITTER, LOG_LS, LOG_NOISE, PRIOR_LS, PRIOR_NOISE, ROWS_PER_TASK, backward, cholesky,
    default_hyper, dist2, forward, matern, scaled_points,
};

/// Log marginal likelihood (signal variance profiled out, constants dropped, priors added)
/// and its gradient in the hyper-parameters; `None` when the matrix is not positive definite.
pub(super) fn log_likelihood(
    points: &[f64],
    y: &[f64],
    dims: usize,
    hyper: &[f64],
) -> Option<(f64, Vec<f64>)> {
    let n = y.len();
    let (_, noise, scaled) = scaled_points(points, dims, hyper);
    let mut r = vec![0.0; n * n];
    let mut g = vec![0.0; n * n];
    r.par_chunks_mut(n.max(1))
        .zip(g.par_chunks_mut(n.max(1)))
        .enumerate()
        .with_min_len(ROWS_PER_TASK)
        .for_each(|(i, (r_row, g_row))| {
            for j in 0..i {
                let (k, dk) = matern(dist2(&scaled, dims, i, j));
                r_row[j] = k;
                g_row[j] = dk;
            }
            r_row[i] = 1.0 + noise + JITTER;
        });
    if !cholesky(&mut r, n) {
        return None;
    }
    let l = r;
    let mut alpha = y.to_vec();
    forward(&l, n, &mut alpha);
    backward(&l, n, &mut alpha);
    let quad: f64 = y
        .iter()
        .zip(&alpha)
        .map(|(a, b)| a * b)
        .sum::<f64>()
        .max(1e-300);
    let signal = quad / n as f64;
    let log_det: f64 = (0..n).map(|i| l[i * n + i].ln()).sum();
    let mut ll = -0.5 * n as f64 * signal.ln() - log_det;

    // L^-1, stored transposed (row c holds column c, contiguous), then R^-1 = L^-T L^-1.
    // Columns are independent: computed in parallel.
    let mut linv_t = vec![0.0; n * n];
    linv_t
        .par_chunks_mut(n.max(1))
        .enumerate()
        .with_min_len(ROWS_PER_TASK)
        .for_each(|(c, col)| {
            col[c] = 1.0 / l[c * n + c];
            for i in c + 1..n {
                let s: f64 = l[i * n + c..i * n + i]
                    .iter()
                    .zip(&col[c..i])
                    .map(|(a, b)| a * b)
                    .sum();
                col[i] = -s / l[i * n + i];
            }
        });
    // Each row's share of the gradient in parallel, then added in row order: the same sums
    // whatever the number of threads.
    let rows: Vec<(Vec<f64>, f64)> = (0..n)
        .into_par_iter()
        .with_min_len(ROWS_PER_TASK)
        .map(|i| {
            let mut grad = vec![0.0; dims];
            let mut trace_w = 0.0;
            let col_i = &linv_t[i * n + i..i * n + n];
            for j in 0..=i {
                // (R^-1)_ij = sum over k >= i of Linv_ki Linv_kj.
                let col_j = &linv_t[j * n + i..j * n + n];
                let rinv: f64 = col_i.iter().zip(col_j).map(|(a, b)| a * b).sum();
                let w = alpha[i] * alpha[j] / signal - rinv;
                if i == j {
                    trace_w += w;
                } else {
                    let wg = w * g[i * n + j];
                    let (pi, pj) = (
                        &scaled[i * dims..i * dims + dims],
                        &scaled[j * dims..j * dims + dims],
                    );
                    for ((gd, a), b) in grad.iter_mut().zip(pi).zip(pj) {
                        *gd += wg * (a - b) * (a - b);
                    }
                }
            }
            (grad, trace_w)
        })
        .collect();
    let mut grad = vec![0.0; dims + 1];
    let mut trace_w = 0.0;
    for (row, w) in rows {
        for (gd, r) in grad.iter_mut().zip(row) {
            *gd += r;
        }
        trace_w += w;
    }
    grad[dims] = 0.5 * noise * trace_w;
    for (d, h) in hyper.iter().enumerate() {
        let (mu, sd) = if d < dims { PRIOR_LS } else { PRIOR_NOISE };
        ll -= 0.5 * ((h - mu) / sd).powi(2);
        grad[d] -= (h - mu) / (sd * sd);
    }
    (ll.is_finite() && grad.iter().all(|g| g.is_finite())).then_some((ll, grad))
}

/// Hyper-parameters maximizing the (penalized) marginal likelihood of `y` at `points`, by
/// `iterations` of Rprop from each of `starts`; the first start (or the prior's centre) when
/// every evaluation fails.
pub(in crate::optimize::samplers) fn fit_hyper(
    points: &[f64],
    y: &[f64],
    dims: usize,
    starts: &[Hyper],
    iterations: usize,
) -> Hyper {
    let mut best: Option<(f64, Hyper)> = None;
    for start in starts {
        let mut h = start.clone();
        let mut step = vec![0.5f64; dims + 1];
        let mut last = vec![0.0; dims + 1];
        for _ in 0..iterations {
            let Some((ll, mut grad)) = log_likelihood(points, y, dims, &h) else {
                // Not positive definite: more noise.
                h[dims] = (h[dims] + 1.0).min(LOG_NOISE.1);
                continue;
            };
            if best.as_ref().is_none_or(|(b, _)| ll > *b) {
                best = Some((ll, h.clone()));
            }
            for k in 0..=dims {
                let sign = grad[k] * last[k];
                if sign > 0.0 {
                    step[k] = (step[k] * 1.2).min(1.0);
                } else if sign < 0.0 {
                    step[k] *= 0.5;
                    grad[k] = 0.0;
                }
                let (lo, hi) = if k < dims { LOG_LS } else { LOG_NOISE };
                if grad[k] != 0.0 {
                    h[k] = (h[k] + step[k] * grad[k].signum()).clamp(lo, hi);
                }
            }
            last = grad;
            if step.iter().all(|s| *s < 1e-3) {
                break;
            }
        }
    }
    best.map(|(_, h)| h)
        .or_else(|| starts.first().cloned())
        .unwrap_or_else(|| default_hyper(dims))
}
