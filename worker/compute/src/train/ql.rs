//! Tabular Q-learning of an execution policy: state (tool signal, return bucket, vol bucket,
//! position), actions [`ACTIONS`]; independent learners run on rayon and are averaged.

use std::ops::{ControlFlow, Range};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use crate::Stop;
pub use crate::engine::policy::{
    ACTIONS, Market, PolicyError, QTable, StateSpec, market, policy_targets, state_index,
};
use crate::engine::policy::{argmax3, state_base};

/// Environment steps a learner takes between two checks of the stop signal: about 0.2 ms of
/// one thread at the measured 78 M steps/s. The steps between checks run in a loop of their
/// own, so the step loop itself carries no check.
pub const STOP_CHECK_STEPS: usize = 16_384;

/// Errors of the Q-learning module.
#[derive(Debug, thiserror::Error)]
pub enum QlError {
    /// A configuration value or an input is invalid; the message names it.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The training range leaves too few environment steps after warmup.
    #[error("training range too short: {bars} bars, need at least {needed}")]
    TooShort {
        /// Bars in the requested range.
        bars: usize,
        /// Bars the range needs (warmup inside the range plus 3).
        needed: usize,
    },
    /// `on_episode` asked to stop, or the stop signal was raised.
    #[error("training canceled")]
    Canceled,
}

/// The Q-learning update `Q[s,a] += alpha * (reward + gamma * max_a' Q[s',a'] - Q[s,a])`
/// on a table laid out as states × 3; `next` None = terminal (no bootstrap).
#[inline]
pub fn q_update(
    q: &mut [f64],
    state: usize,
    action: usize,
    reward: f64,
    next: Option<usize>,
    alpha: f64,
    gamma: f64,
) {
    let target = match next {
        Some(s) => reward + gamma * q[3 * s].max(q[3 * s + 1]).max(q[3 * s + 2]),
        None => reward,
    };
    let cell = &mut q[3 * state + action];
    *cell += alpha * (target - *cell);
}

/// Training configuration.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QlConfig {
    /// Episodes (passes over the training range), at least 1.
    pub episodes: usize,
    /// Learning rate alpha, in (0, 1].
    pub learning_rate: f64,
    /// Discount factor gamma, in [0, 1).
    pub discount_factor: f64,
    /// Initial exploration rate epsilon (first episode), in [0, 1].
    pub exploration_rate: f64,
    /// Final exploration rate (last episode), in [0, exploration_rate].
    pub min_exploration: f64,
    /// Independent learners, at least 1.
    pub learners: usize,
    /// Base seed; learner `i` uses a generator seeded from (seed, i).
    pub seed: u64,
    /// Fraction paid per unit of position change, >= 0.
    pub cost: f64,
}

/// Exploration rate of 1-based `episode`: linear from `exploration_rate` (episode 1) to
/// `min_exploration` (last episode).
pub fn exploration_at(cfg: &QlConfig, episode: usize) -> f64 {
    if cfg.episodes <= 1 {
        return cfg.exploration_rate;
    }
    let frac = (episode.saturating_sub(1) as f64 / (cfg.episodes - 1) as f64).min(1.0);
    cfg.exploration_rate + (cfg.min_exploration - cfg.exploration_rate) * frac
}

/// Statistics of one training episode.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EpisodeStats {
    /// Episode number, 1-based.
    pub episode: usize,
    /// Mean over learners of the episode's total reward.
    pub reward: f64,
    /// Exploration rate used in the episode.
    pub exploration: f64,
}

/// Result of [`train`].
#[derive(Clone, Debug)]
pub struct QlOutcome {
    /// The learners' Q-tables averaged per state-action.
    pub table: QTable,
    /// Per-episode statistics.
    pub curve: Vec<EpisodeStats>,
    /// Environment steps over all learners and episodes.
    pub steps: u64,
}

/// One learner: its own table and generator.
struct Learner {
    q: Vec<f64>,
    rng: SmallRng,
}

/// Where a learner is within an episode.
struct Walk {
    /// Current position.
    pos: i8,
    /// Its index in the state's position part (`pos + 1`).
    pos_idx: usize,
    /// Reward so far.
    total: f64,
}

/// Walks one episode (`base`: state bases per bar, `rets` one shorter); the last step
/// bootstraps (truncation, not a terminal state). Returns the total reward, or `None` when
/// `stop` was raised (checked every [`STOP_CHECK_STEPS`] steps).
fn run_episode(
    l: &mut Learner,
    base: &[usize],
    rets: &[f64],
    cfg: &QlConfig,
    eps: f64,
    stop: Stop<'_>,
) -> Option<f64> {
    let mut walk = Walk {
        pos: 0,
        pos_idx: 1,
        total: 0.0,
    };
    let mut start = 0;
    while start < rets.len() {
        if stop.requested() {
            return None;
        }
        let end = (start + STOP_CHECK_STEPS).min(rets.len());
        walk_steps(
            l,
            &base[start..=end],
            &rets[start..end],
            cfg,
            eps,
            &mut walk,
        );
        start = end;
    }
    Some(walk.total)
}

/// The steps of `rets` (`base` one longer: the state after the last step is its last).
#[inline]
fn walk_steps(
    l: &mut Learner,
    base: &[usize],
    rets: &[f64],
    cfg: &QlConfig,
    eps: f64,
    walk: &mut Walk,
) {
    let (q, rng) = (&mut l.q, &mut l.rng);
    let (mut pos, mut pos_idx, mut total) = (walk.pos, walk.pos_idx, walk.total);
    let (alpha, gamma, cost) = (cfg.learning_rate, cfg.discount_factor, cfg.cost);
    for (i, (&b, &ret)) in base.iter().zip(rets).enumerate() {
        let s = b + pos_idx;
        let a = if eps > 0.0 && rng.random::<f64>() < eps {
            rng.random_range(0..3)
        } else {
            argmax3(&q[3 * s..3 * s + 3])
        };
        let p = ACTIONS[a];
        let reward = f64::from(p) * ret - cost * f64::from((p - pos).abs());
        let next_idx = (p + 1) as usize;
        let next = Some(base[i + 1] + next_idx);
        q_update(q, s, a, reward, next, alpha, gamma);
        total += reward;
        pos = p;
        pos_idx = next_idx;
    }
    *walk = Walk {
        pos,
        pos_idx,
        total,
    };
}

/// `Ok` when `ok`, else an `Invalid` error naming the field and rule.
fn check(ok: bool, rule: &str, got: f64) -> Result<(), QlError> {
    match ok {
        true => Ok(()),
        false => Err(QlError::Invalid(format!("{rule} required, got {got}"))),
    }
}

/// Checks the configuration; messages name the offending field.
fn validate(c: &QlConfig) -> Result<(), QlError> {
    let (lr, g, k) = (c.learning_rate, c.discount_factor, c.cost);
    let (x, m) = (c.exploration_rate, c.min_exploration);
    check(c.episodes >= 1, "episodes >= 1", c.episodes as f64)?;
    check(lr > 0.0 && lr <= 1.0, "learning_rate in (0, 1]", lr)?;
    check((0.0..1.0).contains(&g), "discount_factor in [0, 1)", g)?;
    check((0.0..=1.0).contains(&x), "exploration_rate in [0, 1]", x)?;
    check(
        (0.0..=x).contains(&m),
        "min_exploration in [0, exploration_rate]",
        m,
    )?;
    check(c.learners >= 1, "learners >= 1", c.learners as f64)?;
    check(k.is_finite() && k >= 0.0, "cost finite and >= 0", k)
}

/// Trains `cfg.learners` independent learners over the bars of `range`: each episode walks
/// it once from its first bar with complete state (`max(range.start, warmup)`), starting
/// flat, to its second-to-last bar (rewards use closes inside the range only; the last step
/// bootstraps). Learners of one episode run in parallel on rayon, each with its own
/// `SmallRng` seeded from (cfg.seed, learner index): the result is the same whatever the
/// thread count. Epsilon-greedy, epsilon decaying linearly ([`exploration_at`]). Step at
/// bar t: state (`signal[t]`, buckets at t, position), action -> new position p, reward
/// `p * next_return[t] - cost * |p - previous position|`. After each episode `on_episode`
/// gets its stats (`Break(())` -> [`QlError::Canceled`]). Every learner checks `stop` every
/// [`STOP_CHECK_STEPS`] steps of its episode; raised, training ends with
/// [`QlError::Canceled`] once each learner has seen it. At the end the learners' Q-tables are
/// averaged per state-action.
pub fn train(
    market: &Market,
    signal: &[i8],
    range: Range<usize>,
    spec: &StateSpec,
    cfg: &QlConfig,
    stop: Stop<'_>,
    mut on_episode: impl FnMut(&EpisodeStats) -> ControlFlow<()>,
) -> Result<QlOutcome, QlError> {
    validate(cfg)?;
    let (rb, vb) = (&market.return_bucket, &market.vol_bucket);
    let n = rb.len().min(vb.len()).min(market.next_return.len());
    if range.end > n.min(signal.len()) {
        let msg = format!("range end {} beyond market/signal lengths", range.end);
        return Err(QlError::Invalid(msg));
    }
    let start = range.start.max(spec.warmup());
    let needed = start - range.start + 3;
    if range.len() < needed {
        let bars = range.len();
        return Err(QlError::TooShort { bars, needed });
    }
    let (r, v) = (spec.return_buckets(), spec.vol_buckets());
    let outside = |t: &usize| usize::from(rb[*t]) >= r || usize::from(vb[*t]) >= v;
    if let Some(t) = (start..range.end).find(outside) {
        let msg = format!("market bucket at bar {t} outside spec (R = {r}, V = {v})");
        return Err(QlError::Invalid(msg));
    }
    // State index of each bar without its position part, shared by all learners.
    let base: Vec<usize> = (start..range.end)
        .map(|t| state_base(r, v, signal[t], rb[t], vb[t]))
        .collect();
    let rets = &market.next_return[start..range.end - 1];
    let cells = spec.states() * 3;
    let mut learners: Vec<Learner> = (0..cfg.learners as u64)
        .map(|i| Learner {
            q: vec![0.0; cells],
            rng: SmallRng::seed_from_u64(cfg.seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        })
        .collect();
    let mut curve = Vec::with_capacity(cfg.episodes);
    for episode in 1..=cfg.episodes {
        let exploration = exploration_at(cfg, episode);
        let run = |l: &mut Learner| run_episode(l, &base, rets, cfg, exploration, stop);
        let totals: Option<Vec<f64>> = learners.par_iter_mut().map(run).collect();
        let Some(totals) = totals else {
            return Err(QlError::Canceled);
        };
        let reward = totals.iter().sum::<f64>() / cfg.learners as f64;
        let stats = EpisodeStats {
            episode,
            reward,
            exploration,
        };
        let flow = on_episode(&stats);
        curve.push(stats);
        if flow.is_break() {
            return Err(QlError::Canceled);
        }
    }
    let mut q = vec![0.0; cells];
    for l in &learners {
        q.iter_mut().zip(&l.q).for_each(|(a, b)| *a += b);
    }
    q.iter_mut().for_each(|x| *x /= cfg.learners as f64);
    let steps = (cfg.episodes * cfg.learners * rets.len()) as u64;
    let table = QTable {
        spec: spec.clone(),
        q,
    };
    Ok(QlOutcome {
        table,
        curve,
        steps,
    })
}

#[cfg(test)]
mod tests;
