use super::*;
use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Total reward of a position path over `range`, as in training: the sum over
/// bars t in `range` except its last of
/// `positions[t] * next_return[t] - cost * |positions[t] - positions[t-1]|`
/// (the position before bar 0 is flat; missing bars count as flat).
fn policy_reward(positions: &[i8], market: &Market, range: Range<usize>, cost: f64) -> f64 {
    let at = |t: usize| f64::from(positions.get(t).copied().unwrap_or(0));
    (range.start..range.end.saturating_sub(1))
        .map(|t| {
            let prev = if t == 0 { 0.0 } else { at(t - 1) };
            let ret = market.next_return.get(t).copied().unwrap_or(0.0);
            at(t) * ret - cost * (at(t) - prev).abs()
        })
        .sum()
}

fn cfg() -> QlConfig {
    QlConfig {
        episodes: 60,
        learning_rate: 0.1,
        discount_factor: 0.5,
        exploration_rate: 1.0,
        min_exploration: 0.02,
        learners: 4,
        seed: 7,
        cost: 0.0005,
    }
}

/// Pseudo-random walk with noise from a fixed LCG.
fn walk(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut c = vec![100.0];
    for _ in 1..n {
        let last = c[c.len() - 1];
        c.push(last * (1.0 + rng.random_range(-0.01..0.01)));
    }
    c
}

/// Series whose next return has the sign of the signal (plus noise), signal random.
fn informative(n: usize) -> (Vec<f64>, Vec<i8>) {
    let mut rng = SmallRng::seed_from_u64(3);
    let signal: Vec<i8> = (0..n).map(|_| ACTIONS[rng.random_range(0..3)]).collect();
    let mut close = vec![100.0];
    for t in 0..n - 1 {
        let r = 0.005 * f64::from(signal[t]) + rng.random_range(-0.002..0.002);
        close.push(close[t] * (1.0 + r));
    }
    (close, signal)
}

fn setup(n: usize) -> (StateSpec, Market, Vec<i8>) {
    let (close, signal) = informative(n);
    let spec = StateSpec::fit(&close, 0..n, 3, 5, 3, 2);
    let m = market(&close, &spec);
    (spec, m, signal)
}

#[test]
fn q_update_hand_checked() {
    // Q[0,1] = 0.5, next state 1 has max 2; r = 1, gamma 0.9, alpha 0.1:
    // 0.5 + 0.1 * (1 + 0.9 * 2 - 0.5) = 0.5 + 0.1 * 2.3 = 0.73
    let mut q = vec![0.0, 0.5, 0.0, -1.0, 2.0, 1.5];
    q_update(&mut q, 0, 1, 1.0, Some(1), 0.1, 0.9);
    assert!((q[1] - 0.73).abs() < 1e-12, "{}", q[1]);
    assert_eq!(&q[3..], &[-1.0, 2.0, 1.5]);
    assert_eq!((q[0], q[2]), (0.0, 0.0));
}

#[test]
fn q_update_terminal() {
    // Terminal: 0.5 + 0.1 * (1 - 0.5) = 0.55, the next state's 2 is ignored.
    let mut q = vec![0.0, 0.5, 0.0, 2.0, 2.0, 2.0];
    q_update(&mut q, 0, 1, 1.0, None, 0.1, 0.9);
    assert!((q[1] - 0.55).abs() < 1e-12, "{}", q[1]);
}

#[test]
fn state_index_is_bijection() {
    let spec = StateSpec {
        return_lookback: 2,
        vol_window: 3,
        return_edges: vec![-0.1, 0.0, 0.1, 0.2],
        vol_edges: vec![0.01, 0.02],
    };
    assert_eq!(spec.states(), 3 * 5 * 3 * 3);
    let mut seen = HashSet::new();
    for s in [-1i8, 0, 1] {
        for rb in 0..5u8 {
            for vb in 0..3u8 {
                for p in [-1i8, 0, 1] {
                    let i = state_index(&spec, s, rb, vb, p);
                    assert!(i < spec.states());
                    assert!(seen.insert(i), "duplicate {i}");
                }
            }
        }
    }
    assert_eq!(seen.len(), spec.states());
}

#[test]
fn fit_edges_and_warmup() {
    let close = walk(500, 1);
    let spec = StateSpec::fit(&close, 0..300, 4, 10, 5, 3);
    assert_eq!((spec.return_edges.len(), spec.vol_edges.len()), (4, 2));
    assert!(spec.return_edges.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(spec.warmup(), 10);
    // Bars outside the range do not influence the fit.
    let mut other = close.clone();
    other[300..].iter_mut().for_each(|c| *c *= 3.0);
    assert_eq!(StateSpec::fit(&other, 0..300, 4, 10, 5, 3), spec);
    let m = market(&close, &spec);
    let used: HashSet<u8> = m.return_bucket[10..300].iter().copied().collect();
    assert_eq!(used.len(), 5);
    assert!((m.next_return[0] - (close[1] / close[0] - 1.0)).abs() < 1e-15);
    assert_eq!(m.next_return[499], 0.0);
}

proptest! {
    #[test]
    fn buckets_have_no_lookahead(seed in 0u64..1000, cut in 20usize..199) {
        let close = walk(200, seed);
        let spec = StateSpec::fit(&close, 0..200, 3, 6, 4, 3);
        let a = market(&close, &spec);
        let mut changed = close.clone();
        for (k, c) in changed[cut + 1..].iter_mut().enumerate() {
            *c *= 1.5 + (k % 3) as f64;
        }
        let b = market(&changed, &spec);
        prop_assert_eq!(&a.return_bucket[..=cut], &b.return_bucket[..=cut]);
        prop_assert_eq!(&a.vol_bucket[..=cut], &b.vol_bucket[..=cut]);
        prop_assert_eq!(&a.next_return[..cut], &b.next_return[..cut]);
    }
}

#[test]
fn same_seed_same_result_and_seed_matters() {
    let (spec, m, signal) = setup(600);
    let c = QlConfig {
        episodes: 10,
        ..cfg()
    };
    let a = train(&m, &signal, 0..600, &spec, &c, Stop::NEVER, |_| {
        ControlFlow::Continue(())
    })
    .expect("train");
    let b = train(&m, &signal, 0..600, &spec, &c, Stop::NEVER, |_| {
        ControlFlow::Continue(())
    })
    .expect("train");
    assert_eq!(a.table, b.table);
    assert_eq!(a.curve, b.curve);
    assert_eq!(a.steps, b.steps);
    assert_eq!(a.steps, (10 * 4 * (600 - 5 - 1)) as u64);
    let d = QlConfig { seed: 8, ..c };
    let d = train(&m, &signal, 0..600, &spec, &d, Stop::NEVER, |_| {
        ControlFlow::Continue(())
    })
    .expect("train");
    assert_ne!(a.table, d.table);
}

#[test]
fn thread_count_does_not_change_result() {
    let (spec, m, signal) = setup(800);
    let c = QlConfig {
        episodes: 8,
        learners: 5,
        ..cfg()
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(|| {
                train(&m, &signal, 0..800, &spec, &c, Stop::NEVER, |_| {
                    ControlFlow::Continue(())
                })
            })
            .expect("train")
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a.table, b.table);
    assert_eq!(a.curve, b.curve);
    assert_eq!(a.steps, b.steps);
}

#[test]
fn learning_happens() {
    let n = 3000;
    let (spec, m, signal) = setup(n);
    let c = cfg();
    let out = train(&m, &signal, 0..n, &spec, &c, Stop::NEVER, |_| {
        ControlFlow::Continue(())
    })
    .expect("train");
    assert!(out.table.visited_states() > 10);
    let mut pos = vec![0i8; n];
    policy_targets(&out.table, &m, &signal, &mut pos);
    let learned = policy_reward(&pos, &m, 0..n, c.cost);
    let untrained = QTable {
        spec: spec.clone(),
        q: vec![0.0; spec.states() * 3],
    };
    let mut zero_pos = vec![1i8; n];
    policy_targets(&untrained, &m, &signal, &mut zero_pos);
    let untrained_reward = policy_reward(&zero_pos, &m, 0..n, c.cost);
    let flat = policy_reward(&vec![0i8; n], &m, 0..n, c.cost);
    // Perfect-information reward is about 2/3 * n * 0.005 = 10; demand a large share.
    assert!(learned > 5.0, "learned {learned}");
    assert!(learned > flat + 5.0 && learned > untrained_reward + 5.0);
    assert_eq!(flat, 0.0);
    let k = c.episodes / 10;
    let mean = |s: &[EpisodeStats]| s.iter().map(|e| e.reward).sum::<f64>() / s.len() as f64;
    let (first, last) = (mean(&out.curve[..k]), mean(&out.curve[c.episodes - k..]));
    assert!(last > first + 2.0, "first {first} last {last}");
    assert_eq!(out.curve[0].exploration, 1.0);
    assert!((out.curve[c.episodes - 1].exploration - 0.02).abs() < 1e-12);
    assert_eq!(
        out.curve.iter().map(|e| e.episode).collect::<Vec<_>>(),
        (1..=60).collect::<Vec<_>>()
    );
}

#[test]
fn policy_follows_greedy_from_warmup() {
    let (spec, m, signal) = setup(100);
    let mut q = vec![0.0; spec.states() * 3];
    // Every state prefers long.
    q.chunks_exact_mut(3).for_each(|r| r[1] = 1.0);
    let mut out = vec![9i8; 100];
    policy_targets(
        &QTable {
            spec: spec.clone(),
            q,
        },
        &m,
        &signal,
        &mut out,
    );
    assert!(out[..spec.warmup()].iter().all(|p| *p == 0));
    assert!(out[spec.warmup()..].iter().all(|p| *p == 1));
}

#[test]
fn cancel_on_break() {
    let (spec, m, signal) = setup(400);
    let mut calls = 0;
    let res = train(&m, &signal, 0..400, &spec, &cfg(), Stop::NEVER, |s| {
        calls += 1;
        if s.episode == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert!(matches!(res, Err(QlError::Canceled)));
    assert_eq!(calls, 3);
}

/// A stop raised inside the first episode ends training within one block of
/// [`STOP_CHECK_STEPS`] steps: the learner's third check sees it, and no episode ends.
#[test]
fn a_stop_raised_mid_episode_ends_training_within_a_block_of_steps() {
    // Arrange: one learner, episodes of about 100,000 steps (7 blocks); raised from the 3rd
    // check on.
    let n = 100_000;
    let (spec, m, signal) = setup(n);
    let c = QlConfig {
        learners: 1,
        episodes: 3,
        ..cfg()
    };
    let checks = AtomicUsize::new(0);
    let check = || checks.fetch_add(1, Ordering::Relaxed) >= 2;
    let mut episodes = 0;

    // Act
    let res = train(&m, &signal, 0..n, &spec, &c, Stop::new(&check), |_| {
        episodes += 1;
        ControlFlow::Continue(())
    });

    // Assert
    assert!(
        matches!(res, Err(QlError::Canceled)),
        "{:?}",
        res.map(|o| o.steps)
    );
    assert_eq!(
        episodes, 0,
        "stopped inside the first episode, not at its end"
    );
    assert_eq!(
        checks.load(Ordering::Relaxed),
        3,
        "two blocks ran, the third was not started"
    );
}

/// Learners running in parallel each stop at their next check.
#[test]
fn a_stop_reaches_every_parallel_learner() {
    // Arrange: 4 learners on 2 threads; raised once two checks have passed.
    let n = 100_000;
    let (spec, m, signal) = setup(n);
    let c = QlConfig {
        learners: 4,
        episodes: 3,
        ..cfg()
    };
    let checks = AtomicUsize::new(0);
    let check = || checks.fetch_add(1, Ordering::Relaxed) >= 2;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("pool");
    let mut episodes = 0;

    // Act
    let res = pool.install(|| {
        train(&m, &signal, 0..n, &spec, &c, Stop::new(&check), |_| {
            episodes += 1;
            ControlFlow::Continue(())
        })
    });

    // Assert: at most the two learners that had started take one more block each; the others
    // stop at their first check (or never start).
    assert!(
        matches!(res, Err(QlError::Canceled)),
        "{:?}",
        res.map(|o| o.steps)
    );
    assert_eq!(episodes, 0, "stopped inside the first episode");
    let seen = checks.load(Ordering::Relaxed);
    assert!((3..=6).contains(&seen), "{seen} checks");
}

#[test]
fn bytes_round_trip_and_wrong_length() {
    let (spec, m, signal) = setup(400);
    let c = QlConfig {
        episodes: 3,
        ..cfg()
    };
    let t = train(&m, &signal, 0..400, &spec, &c, Stop::NEVER, |_| {
        ControlFlow::Continue(())
    })
    .expect("train")
    .table;
    let bytes = t.to_bytes();
    assert_eq!(bytes.len(), spec.states() * 3 * 8);
    assert_eq!(QTable::from_bytes(spec.clone(), &bytes).expect("bytes"), t);
    let err = QTable::from_bytes(spec.clone(), &bytes[1..]);
    assert!(matches!(err, Err(PolicyError::Bytes { got, .. }) if got == bytes.len() - 1));
    let json = serde_json::to_string(&spec).expect("json");
    assert_eq!(
        serde_json::from_str::<StateSpec>(&json).expect("json"),
        spec
    );
}

#[test]
fn greedy_ties_go_flat() {
    let spec = StateSpec {
        return_lookback: 1,
        vol_window: 1,
        return_edges: vec![],
        vol_edges: vec![],
    };
    let t = QTable {
        spec,
        q: vec![0.0, 0.0, 0.0, 1.0, 2.0, 2.0, -1.0, -1.0, -0.5],
    };
    assert_eq!(
        (t.greedy(0), t.greedy(1), t.greedy(2), t.greedy(99)),
        (0, 1, 2, 0)
    );
    assert_eq!(t.visited_states(), 2);
}

#[test]
fn invalid_config_names_field() {
    let (spec, m, signal) = setup(200);
    let check =
        |c: QlConfig, field: &str| match train(&m, &signal, 0..200, &spec, &c, Stop::NEVER, |_| {
            ControlFlow::Continue(())
        }) {
            Err(QlError::Invalid(msg)) => assert!(msg.contains(field), "{msg}"),
            other => panic!(
                "expected Invalid for {field}, got {:?}",
                other.map(|o| o.steps)
            ),
        };
    check(
        QlConfig {
            episodes: 0,
            ..cfg()
        },
        "episodes",
    );
    check(
        QlConfig {
            learning_rate: 0.0,
            ..cfg()
        },
        "learning_rate",
    );
    check(
        QlConfig {
            learning_rate: 1.5,
            ..cfg()
        },
        "learning_rate",
    );
    check(
        QlConfig {
            discount_factor: 1.0,
            ..cfg()
        },
        "discount_factor",
    );
    check(
        QlConfig {
            exploration_rate: 1.1,
            ..cfg()
        },
        "exploration_rate",
    );
    check(
        QlConfig {
            min_exploration: -0.1,
            ..cfg()
        },
        "min_exploration",
    );
    check(
        QlConfig {
            learners: 0,
            ..cfg()
        },
        "learners",
    );
    check(
        QlConfig {
            cost: f64::NAN,
            ..cfg()
        },
        "cost",
    );
    let short = train(&m, &signal, 190..197, &spec, &cfg(), Stop::NEVER, |_| {
        ControlFlow::Continue(())
    });
    assert_eq!(
        short.expect("7 bars after warmup suffice").steps,
        (60 * 4 * 6) as u64
    );
    let short = train(&m, &signal, 0..7, &spec, &cfg(), Stop::NEVER, |_| {
        ControlFlow::Continue(())
    });
    assert!(
        matches!(short, Err(QlError::TooShort { bars: 7, needed: 8 })),
        "{short:?}"
    );
    let far = train(&m, &signal, 0..300, &spec, &cfg(), Stop::NEVER, |_| {
        ControlFlow::Continue(())
    });
    assert!(matches!(far, Err(QlError::Invalid(_))));
}
