//! Study reproducibility, constraints and sample efficiency on benchmark functions.

use super::*;

/// Branin, negated (the study maximizes); global minimum 0.397887.
pub(crate) fn branin(x: &[f64]) -> f64 {
    let (x1, x2) = (x[0], x[1]);
    let b = 5.1 / (4.0 * std::f64::consts::PI.powi(2));
    let c = 5.0 / std::f64::consts::PI;
    let t = 1.0 / (8.0 * std::f64::consts::PI);
    -((x2 - b * x1 * x1 + c * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0)
}

fn branin_space() -> Space {
    Space::unit_box(&[(-5.0, 10.0), (0.0, 15.0)])
}

fn config(method: Method, trials: u64, seed: u64) -> StudyConfig {
    StudyConfig {
        method,
        trials,
        seed,
        batch: 4,
    }
}

#[test]
fn the_same_seed_gives_the_same_trials_whatever_the_thread_count() {
    for method in [
        Method::Random,
        Method::Bayesian,
        Method::Local,
        Method::Grid,
    ] {
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool")
                .install(|| {
                    run_study(
                        &branin_space(),
                        &config(method, 40, 7),
                        branin,
                        |_| {},
                        || false,
                    )
                })
        };
        assert_eq!(run(1), run(3), "{method:?}");
    }
    let other = run_study(
        &branin_space(),
        &config(Method::Bayesian, 40, 8),
        branin,
        |_| {},
        || false,
    );
    let first = run_study(
        &branin_space(),
        &config(Method::Bayesian, 40, 7),
        branin,
        |_| {},
        || false,
    );
    assert_ne!(other, first, "another seed explores differently");
}

#[test]
fn every_trial_of_a_family_space_satisfies_its_constraints() {
    let family = shared::families::get("sma_crossover").expect("family");
    let space = Space::of_family(family);
    for method in [
        Method::Random,
        Method::Bayesian,
        Method::Local,
        Method::Grid,
    ] {
        let study = run_study(
            &space,
            &config(method, 60, 1),
            |v| -(v[0] - 12.0).abs() - (v[1] - 40.0).abs(),
            |_| {},
            || false,
        );
        for t in &study.trials {
            let params = space.decode(&t.unit);
            assert!(family.validate(&params).is_ok(), "{method:?}: {params:?}");
        }
    }
}

#[test]
fn a_stop_request_ends_the_study_between_batches() {
    let study = run_study(
        &branin_space(),
        &config(Method::Random, 100, 1),
        branin,
        |_| {},
        || true,
    );
    assert!(study.trials.is_empty());
    let mut seen = Vec::new();
    let study = run_study(
        &branin_space(),
        &config(Method::Random, 10, 1),
        branin,
        |t| seen.push(t.len()),
        || false,
    );
    assert_eq!(seen, [4, 8, 10]);
    assert_eq!(study.best_curve().len(), 10);
}

#[test]
fn bayesian_beats_random_on_branin_over_ten_seeds() {
    let median_best = |method: Method| {
        let mut bests: Vec<f64> = (0..10)
            .map(|seed| {
                let study = run_study(
                    &branin_space(),
                    &config(method, 100, seed),
                    branin,
                    |_| {},
                    || false,
                );
                -study.best().expect("trials").value
            })
            .collect();
        bests.sort_by(f64::total_cmp);
        (bests[4] + bests[5]) / 2.0
    };
    let (tpe, random) = (median_best(Method::Bayesian), median_best(Method::Random));
    assert!(tpe < random, "TPE {tpe} vs random {random}");
    assert!(
        tpe < 0.6,
        "TPE median best after 100 trials: {tpe} (optimum 0.398)"
    );
}
