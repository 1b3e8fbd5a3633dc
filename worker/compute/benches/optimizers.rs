//! Sample efficiency and overhead of the optimizers on Branin and Hartmann6 (minimization, as
//! Optuna's figures in the peers' RESULTS.md): median [IQR] best value after 50 and 100 trials
//! over seeds 0..9, and the optimizer's own time per trial.
//!
//! Then the product's own hot path: `optimize_tool` (a session's optimization) on a 5,000-bar
//! series, trials per second on 1 and 2 threads (each trial backtests the search span's 3
//! blocks and tracks its excess returns over the baseline; the judgment at the end backtests
//! the baseline and the winner on the folds, the 7 resampled partitions and the search blocks).
//!
//! Last, what the honest gate's checks cost per optimization: the judgment with the stability
//! runs and the deflated Sharpe ratio against the folds-only judgment, and the per-trial excess
//! returns that feed the deflated Sharpe ratio, each beside the whole optimization.
//!
//! Run: `cargo bench -p compute --bench optimizers` (`-- session` or `-- gate` for one part).

use std::time::Instant;

use compute::Stop;
use compute::engine::{Evaluator, Strategy};
use compute::optimize::{Method, Space, StudyConfig, judge_candidate, optimize_tool, run_study};
use domain::dataset::synth::{GeneratorSpec, generate};
use domain::evaluation::EvalConfig;
use domain::standards::StandardsConfig;
use serde_json::json;

fn branin(x: &[f64]) -> f64 {
    let (x1, x2) = (x[0], x[1]);
    let pi = std::f64::consts::PI;
    let b = 5.1 / (4.0 * pi * pi);
    let c = 5.0 / pi;
    let t = 1.0 / (8.0 * pi);
    (x2 - b * x1 * x1 + c * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0
}

fn hartmann6(x: &[f64]) -> f64 {
    const A: [[f64; 6]; 4] = [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ];
    const P: [[f64; 6]; 4] = [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
    ];
    const ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
    -(0..4)
        .map(|i| {
            let s: f64 = (0..6).map(|j| A[i][j] * (x[j] - P[i][j]).powi(2)).sum();
            ALPHA[i] * (-s).exp()
        })
        .sum::<f64>()
}

fn quartiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (v.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
    };
    (q(0.5), q(0.25), q(0.75))
}

/// Name, space, function to minimize, known minimum.
type Problem = (&'static str, Space, fn(&[f64]) -> f64, f64);

fn main() {
    // `cargo bench` passes `--bench`; a word after `--` picks one part.
    let part = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_default();
    match part.as_str() {
        "session" => return session_optimizations(),
        "gate" => return gate_cost(),
        _ => {}
    }
    let problems: [Problem; 2] = [
        (
            "Branin",
            Space::unit_box(&[(-5.0, 10.0), (0.0, 15.0)]),
            branin,
            0.397_887,
        ),
        (
            "Hartmann6",
            Space::unit_box(&[(0.0, 1.0); 6]),
            hartmann6,
            -3.322_37,
        ),
    ];
    println!("| function | method | best @50 | best @100 | regret @100 | optimizer ms/trial |");
    println!("|---|---|---|---|---|---|");
    for (name, space, f, optimum) in &problems {
        for method in [
            Method::Bayesian,
            Method::Cmaes,
            Method::Random,
            Method::Local,
        ] {
            let mut at50 = Vec::new();
            let mut at100 = Vec::new();
            let started = Instant::now();
            for seed in 0..10 {
                let config = StudyConfig {
                    method,
                    trials: 100,
                    seed,
                    batch: 1,
                };
                let study = run_study(space, &config, |x| -f(x), |_| {}, Stop::NEVER);
                let curve = study.best_curve();
                at50.push(-curve[49]);
                at100.push(-curve[99]);
            }
            let per_trial = started.elapsed().as_secs_f64() * 1e3 / 1_000.0;
            let (m50, l50, h50) = quartiles(at50);
            let (m100, l100, h100) = quartiles(at100);
            println!(
                "| {name} | {method:?} | {m50:.5} [{l50:.5} - {h50:.5}] | {m100:.5} [{l100:.5} - {h100:.5}] | {:.4} | {per_trial:.3} |",
                m100 - optimum
            );
        }
    }
    session_optimizations();
    gate_cost();
}

/// Trials per second of a session's optimization, the study and the final judgment included:
/// the median of `SESSION_RUNS` runs on each thread count, the runs of the thread counts taken
/// in turn (one on 1 thread, one on 2, ...) so that a change in the machine's load falls on
/// both alike, and a check that every thread count finds the same optimization.
fn session_optimizations() {
    const SESSION_RUNS: usize = 31;
    const THREADS: [usize; 2] = [1, 2];
    let spec: GeneratorSpec = serde_json::from_value(json!({
        "kind": "regime_switching", "bars": 5000, "seed": 2
    }))
    .expect("spec");
    let bars = generate(&spec).expect("bars");
    let standards = StandardsConfig::default();
    let pools: Vec<rayon::ThreadPool> = THREADS
        .iter()
        .map(|&threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool")
        })
        .collect();
    println!();
    println!(
        "| family | method | trials | threads | wall s (median of {SESSION_RUNS}) | trials/s | vs 1 thread |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (family, baseline) in [
        ("sma_crossover", json!({"fast": 10, "slow": 30})),
        ("momentum", json!({"lookback_period": 5, "threshold": 0.0})),
    ] {
        let baseline = baseline.as_object().cloned().expect("object");
        for method in [Method::Random, Method::Bayesian] {
            let trials = 400;
            let study = StudyConfig {
                method,
                trials,
                seed: 1,
                batch: 8,
            };
            let run = |pool: &rayon::ThreadPool| {
                pool.install(|| {
                    optimize_tool(
                        &bars,
                        family,
                        &baseline,
                        None,
                        &study,
                        EvalConfig::default(),
                        &standards,
                        |_| {},
                        Stop::NEVER,
                        Stop::NEVER,
                    )
                    .expect("optimizes")
                })
            };
            let outcomes: Vec<_> = pools.iter().map(run).collect();
            for (threads, outcome) in THREADS.iter().zip(&outcomes) {
                assert_eq!(outcome.trials_run, trials);
                assert_eq!(
                    outcome, &outcomes[0],
                    "{family} {method:?}: the same optimization on {threads} thread(s)"
                );
            }
            let mut walls: Vec<Vec<f64>> = vec![Vec::with_capacity(SESSION_RUNS); pools.len()];
            for _ in 0..SESSION_RUNS {
                for (pool, times) in pools.iter().zip(&mut walls) {
                    let started = Instant::now();
                    run(pool);
                    times.push(started.elapsed().as_secs_f64());
                }
            }
            let rates: Vec<f64> = walls
                .iter_mut()
                .map(|times| {
                    times.sort_by(f64::total_cmp);
                    trials as f64 / times[SESSION_RUNS / 2]
                })
                .collect();
            for (i, threads) in THREADS.iter().enumerate() {
                let versus = if i == 0 {
                    String::new()
                } else {
                    format!("{:.2}x", rates[i] / rates[0])
                };
                println!(
                    "| {family} | {method:?} | {trials} | {threads} | {:.4} | {:.0} | {versus} |",
                    trials as f64 / rates[i],
                    rates[i]
                );
            }
        }
    }
}

/// Median wall time of `f` over `n` runs, milliseconds.
fn median_ms(n: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..n)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[n / 2]
}

/// What the honest gate adds to an optimization, on one thread.
fn gate_cost() {
    let spec: GeneratorSpec = serde_json::from_value(json!({
        "kind": "regime_switching", "bars": 5000, "seed": 2
    }))
    .expect("spec");
    let bars = generate(&spec).expect("bars");
    let eval = EvalConfig::default();
    let full = StandardsConfig::default();
    // The judgment as it was: folds only (no resampled runs, no deflated Sharpe ratio).
    let folds_only = StandardsConfig {
        stability_runs: 1,
        ..StandardsConfig::default()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    println!();
    println!(
        "| family | trials | optimization ms | judgment, folds only ms | judgment, full gate ms | excess returns, all trials ms | added, share of the optimization |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (family, baseline) in [
        ("sma_crossover", json!({"fast": 10, "slow": 30})),
        ("momentum", json!({"lookback_period": 5, "threshold": 0.0})),
    ] {
        let baseline = baseline.as_object().cloned().expect("object");
        for trials in [100u64, 1_000] {
            let study = StudyConfig {
                method: Method::Bayesian,
                trials,
                seed: 1,
                batch: 8,
            };
            let run = || {
                optimize_tool(
                    &bars,
                    family,
                    &baseline,
                    None,
                    &study,
                    eval,
                    &full,
                    |_| {},
                    Stop::NEVER,
                    Stop::NEVER,
                )
                .expect("optimizes")
            };
            let outcome = pool.install(run);
            let optimization = median_ms(5, || {
                pool.install(run);
            });
            let judge = |standards: &StandardsConfig, stats| {
                judge_candidate(
                    &bars,
                    family,
                    &outcome.params_before,
                    &outcome.params_after,
                    None,
                    eval,
                    standards,
                    1,
                    stats,
                    Stop::NEVER,
                )
                .expect("judges")
            };
            let plain = median_ms(21, || {
                judge(&folds_only, None);
            });
            let gated = median_ms(21, || {
                judge(&full, Some(&outcome.trial_stats));
            });
            // Per trial, the excess returns beside the metrics the search computes anyway.
            let blocks = domain::evaluation::blocks(outcome.search_span.clone(), 3);
            let base = Strategy::from_params(family, &baseline).expect("baseline");
            let mut evaluator = Evaluator::new(&bars, eval).expect("evaluator");
            let base_targets = evaluator.targets(&base).expect("targets");
            let strategies: Vec<Strategy> = outcome
                .trials
                .iter()
                .map(|t| Strategy::from_params(family, &t.params).expect("params"))
                .collect();
            let metrics_only = median_ms(5, || {
                for s in &strategies {
                    evaluator.metrics(s, &blocks).expect("metrics");
                }
            });
            let with_excess = median_ms(5, || {
                for s in &strategies {
                    evaluator
                        .metrics_and_excess(s, &blocks, &base_targets)
                        .expect("metrics");
                }
            });
            let excess = (with_excess - metrics_only).max(0.0);
            let added = gated - plain + excess;
            println!(
                "| {family} | {trials} | {optimization:.2} | {plain:.2} | {gated:.2} | {excess:.2} | {:.1}% |",
                100.0 * added / optimization
            );
        }
    }
}
