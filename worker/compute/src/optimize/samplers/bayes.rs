//! `bayesian`: Gaussian-process expected improvement at small budgets, TPE beyond.
//!
//! Phases, by trial number and history size:
//! 1. the first `STARTUP` trials: a Latin hypercube drawn once per study (seeded), an
//!    infeasible design point replaced by a uniform feasible one;
//! 2. while the history is shorter than `GP_LIMIT`: the point of largest (log) expected
//!    improvement under a Gaussian process (see `gp`), found among uniform and near-best
//!    candidates, then polished by a short local search (integer coordinates snapped);
//! 3. beyond (GP cost grows with the cube of the history): multivariate TPE;
//! 4. from `refine_from` (the last 30% of the budget): Gaussian steps around the best point.
//!
//! Determinism: a proposal is a function of the history, the trial number and the trial's
//! random generator. Trials of one batch share a history; each later one conditions the model
//! on the earlier ones as pending points (their values fantasized at the posterior mean), so a
//! batch spreads out. Pending points are cached, or recomputed from their own trial
//! generators, so the result does not depend on the order or timing of the asks.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use domain::families::ParamKind;
use rand::Rng;
use rand::rngs::StdRng;
use rayon::prelude::*;

use super::super::{Space, Trial, score, trial_rng};
use super::gp::{self, Gp, Hyper};
use super::tpe::Tpe;
use super::{Local, Sampler, normal};

/// Salt of the generator of the startup design.
const DESIGN_SALT: u64 = 0x2545_F491_4F6C_DD1D;
/// Space-filling trials before the first model.
const STARTUP: usize = 8;
/// History size from which TPE takes over (a GP ask costs O(n^3): about 1 ms at this size on
/// one core, ten times the cost at 50).
const GP_LIMIT: usize = 128;
/// Uniform candidates per ask.
const UNIFORM_CANDIDATES: usize = 48;
/// Best trials around which candidates are also drawn, and draws per trial and scale.
const NEAR_BEST: usize = 5;
const NEAR_DRAWS: usize = 4;
/// Candidates scored per rayon task (fewer cost more to hand over than to score).
const CANDIDATES_PER_TASK: usize = 11;
/// Best candidates polished by local search, and its steps.
const POLISHED: usize = 2;
const POLISH_STEPS: usize = 16;
/// Hyper-parameter fits: the first history length of the warm-started chain, the growth
/// between fits (one fifth: a fit costs O(n^3) per iteration), the Rprop iterations of a
/// fresh fit and of a warm-started one, and how often the prior's centre is tried again.
const FIRST_FIT: usize = 12;
const FIT_GROWTH: usize = 5;
const FRESH_ITERATIONS: usize = 40;
const WARM_ITERATIONS: usize = 10;
const FRESH_EVERY: usize = 4;

/// The `bayesian` sampler of one study.
pub(super) struct Bayes {
    seed: u64,
    refine_from: u64,
    design: Vec<Vec<f64>>,
    tpe: Tpe,
    /// Hyper-parameters fitted on the history prefixes of [`fit_schedule`], in order, with
    /// each prefix's fingerprint.
    fits: Vec<(u64, Hyper)>,
    /// Points proposed for trials not yet told, by (history fingerprint, trial number).
    pending: HashMap<(u64, u64), Vec<f64>>,
}

impl Bayes {
    /// The sampler for a study of `trials` trials over `space` seeded with `seed`.
    pub(super) fn new(space: &Space, trials: u64, seed: u64) -> Self {
        Self {
            seed,
            refine_from: (trials as f64 * 0.7).ceil() as u64,
            design: latin_hypercube(STARTUP.min(trials as usize), space.len(), seed),
            tpe: Tpe::default(),
            fits: Vec::new(),
            pending: HashMap::new(),
        }
    }

    /// Hyper-parameters for a history. Short histories get a fresh fit. From `FIRST_FIT` on,
    /// they come from a chain over the prefixes of [`fit_schedule`]: each fit starts from the
    /// previous one (and, every few, from the prior's centre too), so a short run suffices;
    /// between scheduled lengths the last fit serves. Every link is a pure function of its
    /// prefix; links are cached and checked against the history by fingerprint.
    fn hyper(&mut self, history: &[Trial], dims: usize) -> Hyper {
        let fresh = gp::default_hyper(dims);
        if history.len() < FIRST_FIT {
            let (points, y) = training_set(history);
            return gp::fit_hyper(&points, &y, dims, &[fresh], FRESH_ITERATIONS);
        }
        let schedule = fit_schedule(history.len());
        // Keep the longest cached chain that is a prefix of this history (a matching
        // fingerprint at length s vouches for every shorter prefix).
        let mut valid = self.fits.len().min(schedule.len());
        while valid > 0 && self.fits[valid - 1].0 != fingerprint(&history[..schedule[valid - 1]]) {
            valid -= 1;
        }
        self.fits.truncate(valid);
        for (k, &n) in schedule.iter().enumerate().skip(valid) {
            let prefix = &history[..n];
            let (points, y) = training_set(prefix);
            let mut starts: Vec<Hyper> = self
                .fits
                .last()
                .map(|(_, h)| h.clone())
                .into_iter()
                .collect();
            if k % FRESH_EVERY == 0 {
                starts.push(fresh.clone());
            }
            let iterations = if k == 0 {
                FRESH_ITERATIONS
            } else {
                WARM_ITERATIONS
            };
            let h = gp::fit_hyper(&points, &y, dims, &starts, iterations);
            self.fits.push((fingerprint(prefix), h));
        }
        self.fits.last().map_or(fresh, |(_, h)| h.clone())
    }

    fn propose(
        &mut self,
        space: &Space,
        history: &[Trial],
        rng: &mut StdRng,
        index: u64,
    ) -> Vec<f64> {
        let dims = space.len();
        if (index as usize) < self.design.len() {
            let point = &self.design[index as usize];
            return if space.feasible(point) {
                point.clone()
            } else {
                space.sample(rng)
            };
        }
        if index >= self.refine_from {
            return Local.ask(space, history, rng, index);
        }
        if history.len() >= GP_LIMIT {
            return self.tpe.ask(space, history, rng, index);
        }
        if history.iter().filter(|t| t.value.is_finite()).count() < 2 || dims == 0 {
            return space.sample(rng);
        }
        let (points, y) = training_set(history);
        let key = fingerprint(history);
        let hyper = self.hyper(history, dims);
        let told = history.len() as u64;
        let pending = index.saturating_sub(told) as usize;
        let Some(mut model) = Gp::new(&points, &y, dims, &hyper, pending) else {
            return self.tpe.ask(space, history, rng, index);
        };
        for j in told..index {
            let p = self.pending_point(space, history, key, j);
            model.add_fantasy(&p);
        }
        let mut order: Vec<usize> = (0..history.len()).collect();
        order.sort_by(|&a, &b| y[b].total_cmp(&y[a]).then(a.cmp(&b)));
        let near: Vec<&[f64]> = order
            .iter()
            .take(NEAR_BEST)
            .map(|&i| history[i].unit.as_slice())
            .collect();
        maximize_ei(&model, space, &near, rng).unwrap_or_else(|| space.sample(rng))
    }

    /// The point proposed for pending trial `j` from the history fingerprinted `key`.
    fn pending_point(&mut self, space: &Space, history: &[Trial], key: u64, j: u64) -> Vec<f64> {
        if let Some(p) = self.pending.get(&(key, j)) {
            return p.clone();
        }
        let p = self.propose(space, history, &mut trial_rng(self.seed, j), j);
        self.pending.insert((key, j), p.clone());
        p
    }
}

impl Sampler for Bayes {
    fn costly_asks(&self) -> bool {
        true
    }

    fn ask(&mut self, space: &Space, history: &[Trial], rng: &mut StdRng, index: u64) -> Vec<f64> {
        let key = fingerprint(history);
        // Proposals for older histories are never needed again.
        self.pending.retain(|&(k, _), _| k == key);
        let p = self.propose(space, history, rng, index);
        self.pending.insert((key, index), p.clone());
        p
    }
}

/// The candidate of largest log expected improvement (None when no candidate is feasible).
fn maximize_ei(model: &Gp, space: &Space, near: &[&[f64]], rng: &mut StdRng) -> Option<Vec<f64>> {
    let dims = space.len();
    let incumbent = model.best_mean();
    let acquisition = |x: &[f64]| {
        let (mean, var) = model.predict(x);
        let sd = var.sqrt();
        sd.ln() + gp::log_ei_factor((mean - incumbent) / sd)
    };
    let mut candidates: Vec<Vec<f64>> = (0..UNIFORM_CANDIDATES)
        .map(|_| (0..dims).map(|_| rng.random::<f64>()).collect())
        .collect();
    for center in near {
        for scale in [0.1, 0.02] {
            for _ in 0..NEAR_DRAWS {
                candidates.push(
                    center
                        .iter()
                        .map(|&c| (c + scale * normal(rng)).clamp(0.0, 1.0))
                        .collect(),
                );
            }
        }
    }
    // Scored in parallel (the candidates are drawn above, in order, from the trial's generator).
    let mut scored: Vec<(f64, Vec<f64>)> = candidates
        .into_par_iter()
        .with_min_len(CANDIDATES_PER_TASK)
        .map(|x| snap(space, x))
        .filter(|x| space.feasible(x))
        .map(|x| (acquisition(&x), x))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.truncate(POLISHED);
    // The polish's random steps are drawn first, candidate after candidate as a sequential
    // polish would draw them (every step draws one normal per coordinate, taken or not), so the
    // candidates can then be polished in parallel with the same result.
    let steps: Vec<Vec<f64>> = scored
        .iter()
        .map(|_| (0..POLISH_STEPS * dims).map(|_| normal(rng)).collect())
        .collect();
    // (1+1) local search with a step that grows on success and shrinks on failure.
    scored
        .par_iter_mut()
        .zip(steps)
        .for_each(|((value, x), draws)| {
            let mut step = 0.05;
            for z in draws.chunks_exact(dims.max(1)) {
                let y = snap(
                    space,
                    x.iter()
                        .zip(z)
                        .map(|(&c, &z)| (c + step * z).clamp(0.0, 1.0))
                        .collect(),
                );
                if !space.feasible(&y) {
                    step *= 0.7;
                    continue;
                }
                let v = acquisition(&y);
                if v > *value {
                    *value = v;
                    *x = y;
                    step = (step * 1.5).min(0.2);
                } else {
                    step *= 0.7;
                }
            }
        });
    scored
        .into_iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, x)| x)
}

/// The history's points (row-major) and standardized values: NaN and -inf count as the worst
/// finite value seen, +inf (a ratio over zero, say) as the best; all 0 when none is finite.
fn training_set(history: &[Trial]) -> (Vec<f64>, Vec<f64>) {
    let finite = history.iter().map(|t| t.value).filter(|v| v.is_finite());
    let worst = finite.clone().fold(f64::INFINITY, f64::min);
    let best = finite.fold(f64::NEG_INFINITY, f64::max);
    let raw: Vec<f64> = history
        .iter()
        .map(|t| {
            if worst.is_finite() {
                score(t.value).clamp(worst, best)
            } else {
                0.0
            }
        })
        .collect();
    let points = history
        .iter()
        .flat_map(|t| t.unit.iter().copied())
        .collect();
    (points, standardize(&raw))
}

/// The history lengths (at most `n`) whose prefixes get a hyper-parameter fit: `FIRST_FIT`,
/// then each a fifth longer than the last.
fn fit_schedule(n: usize) -> Vec<usize> {
    let mut schedule = Vec::new();
    let mut s = FIRST_FIT;
    while s <= n {
        schedule.push(s);
        s += (s / FIT_GROWTH).max(1);
    }
    schedule
}

/// `x` with its integer coordinates moved to the unit-cube position of the integer they round
/// to: the model then sees where a trial really is, and an evaluated integer point has no
/// variance left to attract a duplicate.
fn snap(space: &Space, mut x: Vec<f64>) -> Vec<f64> {
    for (u, dim) in x.iter_mut().zip(&space.dims) {
        let span = dim.high - dim.low;
        if dim.kind == ParamKind::Int && span > 0.0 {
            *u = (((dim.low + *u * span).round() - dim.low) / span).clamp(0.0, 1.0);
        }
    }
    x
}

/// Values shifted and scaled to mean 0 and standard deviation 1 (1 when constant).
fn standardize(v: &[f64]) -> Vec<f64> {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let sd = if var > 0.0 { var.sqrt() } else { 1.0 };
    v.iter().map(|x| (x - mean) / sd).collect()
}

/// A fingerprint of a history (trial numbers, values and points), to key caches.
fn fingerprint(history: &[Trial]) -> u64 {
    // DefaultHasher::new() has fixed keys: the same history always hashes the same.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    history.len().hash(&mut h);
    for t in history {
        t.index.hash(&mut h);
        t.value.to_bits().hash(&mut h);
        for x in &t.unit {
            x.to_bits().hash(&mut h);
        }
    }
    h.finish()
}

/// `n` points of a Latin hypercube in `dims` dimensions, from a generator of `seed`.
fn latin_hypercube(n: usize, dims: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = trial_rng(seed ^ DESIGN_SALT, 0);
    let mut points = vec![vec![0.0; dims]; n];
    for d in 0..dims {
        let mut strata: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            strata.swap(i, rng.random_range(0..=i));
        }
        for (p, s) in points.iter_mut().zip(strata) {
            p[d] = (s as f64 + rng.random::<f64>()) / n as f64;
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(index: u64, value: f64) -> Trial {
        Trial {
            index,
            unit: vec![0.5],
            value,
        }
    }

    #[test]
    fn non_finite_values_train_the_model_as_the_extremes_seen() {
        // Arrange
        let history = [
            trial(0, 1.0),
            trial(1, f64::NAN),
            trial(2, 3.0),
            trial(3, f64::INFINITY),
            trial(4, f64::NEG_INFINITY),
        ];

        // Act
        let (_, y) = training_set(&history);
        let (_, none) = training_set(&[trial(0, f64::NAN), trial(1, f64::NAN)]);

        // Assert
        assert_eq!(y[1], y[0], "NaN counts as the worst value");
        assert_eq!(y[4], y[0], "-inf counts as the worst value");
        assert_eq!(y[3], y[2], "+inf counts as the best value");
        assert!(y.iter().all(|v| v.is_finite()));
        assert_eq!(none, [0.0, 0.0], "no finite value: a flat model");
    }

    #[test]
    fn fits_are_scheduled_a_fifth_apart() {
        assert!(fit_schedule(FIRST_FIT - 1).is_empty());
        assert_eq!(fit_schedule(40), [12, 14, 16, 19, 22, 26, 31, 37]);
    }
}
