//! Optimizing a tool on synthetic data: in-sample search, out-of-sample judgment, reproducible.

use compute::Stop;
use compute::optimize::{Method, StudyConfig, optimize_tool};
use domain::dataset::synth::{GeneratorKind, GeneratorSpec, generate};
use domain::evaluation::EvalConfig;
use domain::standards::{StandardsConfig, overall_change};
use serde_json::{Map, Value, json};

fn bars() -> domain::dataset::Bars {
    let spec: GeneratorSpec = serde_json::from_value(json!({
        "kind": "regime_switching", "bars": 3000, "seed": 3
    }))
    .expect("spec");
    assert_eq!(spec.kind, GeneratorKind::RegimeSwitching);
    generate(&spec).expect("bars")
}

fn baseline() -> Map<String, Value> {
    json!({"fast": 10, "slow": 30})
        .as_object()
        .cloned()
        .expect("object")
}

fn study(trials: u64) -> StudyConfig {
    StudyConfig {
        method: Method::Bayesian,
        trials,
        seed: 1,
        batch: 4,
    }
}

#[test]
fn the_search_improves_in_sample_and_the_gate_judges_out_of_sample() {
    let bars = bars();
    let standards = StandardsConfig::default();
    let run = || {
        optimize_tool(
            &bars,
            "sma_crossover",
            &baseline(),
            None,
            &study(40),
            EvalConfig::default(),
            &standards,
            |_| {},
            Stop::NEVER,
            Stop::NEVER,
        )
        .expect("optimizes")
    };
    let a = run();

    assert_eq!(a.trials_run, 40);
    assert_eq!(a.params_before, baseline());
    let family = domain::families::get("sma_crossover").expect("family");
    assert!(
        family.validate(&a.params_after).is_ok(),
        "{:?}",
        a.params_after
    );
    assert!(
        a.best_curve.windows(2).all(|w| w[0] <= w[1]),
        "best so far never falls"
    );
    assert_eq!(a.best_curve.last().copied(), Some(a.best_in_sample));
    assert!(
        a.best_in_sample > 0.0,
        "some parameters beat the baseline in-sample: {a:?}"
    );
    assert_eq!(a.before.len(), 4, "one judgment per out-of-sample fold");
    let names: Vec<_> = a.report.checks.iter().map(|c| c.name.as_str()).collect();
    assert!(names.contains(&"overall_improvement") && names.contains(&"stability"));
    let overall = a
        .report
        .checks
        .iter()
        .find(|c| c.name == "overall_improvement")
        .expect("overall check");
    assert_eq!(a.report.improvement, overall.value);
    assert_eq!(
        overall_change(&standards, &a.before, &a.after),
        a.report.improvement,
        "the gate's improvement is the overall change of the folds"
    );
    // No parameter changes an sma_crossover's work: execution_time is reported unchanged.
    let timing = a
        .report
        .checks
        .iter()
        .find(|c| c.name == "required:execution_time")
        .expect("required check");
    assert!(timing.passed, "{timing:?}");
    assert!(
        timing
            .note
            .as_deref()
            .is_some_and(|n| n.starts_with("unchanged")),
        "{timing:?}"
    );

    // The search read only the bars before the first out-of-sample window.
    let folds = EvalConfig::default()
        .folds
        .split(bars.len())
        .expect("folds");
    assert_eq!(a.search_span, 0..folds[0].out_of_sample.start);
    // Every trial is kept with its blocks' metrics, and the report carries the rest.
    assert_eq!(a.trials.len(), 40);
    assert!(
        a.trials
            .iter()
            .enumerate()
            .all(|(i, t)| t.trial == i as u64 && t.metrics.len() == 3),
        "three blocks of a fold's length in a search span of three"
    );
    assert_eq!(a.trial_stats.trials, 40);
    let d = a
        .report
        .deflated_sharpe
        .as_ref()
        .expect("a search has a DSR");
    assert_eq!(d.selection.trials, 40);
    assert!(d.value.is_some_and(|v| (0.0..=1.0).contains(&v)), "{d:?}");
    assert!(a.report.deflated_sharpe_absolute.is_some());
    assert_eq!(
        a.report.runs.len(),
        standards.stability_runs as usize,
        "run 0 and the resampled partitions"
    );
    assert_eq!(a.report.evidence.len(), 4);

    // Same seed, same everything, bit for bit.
    let b = run();
    assert_eq!(
        (&a.params_after, &a.best_curve),
        (&b.params_after, &b.best_curve)
    );
    assert_eq!(a.after, b.after);
    assert_eq!(a.report, b.report);
    assert_eq!(a.trials, b.trials);
}

#[test]
fn a_stopped_search_keeps_the_baseline() {
    let bars = bars();
    let outcome = optimize_tool(
        &bars,
        "sma_crossover",
        &baseline(),
        None,
        &study(40),
        EvalConfig::default(),
        &StandardsConfig::default(),
        |_| {},
        Stop::new(&|| true),
        Stop::NEVER,
    )
    .expect("runs");
    assert_eq!(outcome.trials_run, 0);
    assert_eq!(outcome.params_after, outcome.params_before);
    assert!(!outcome.report.passed, "the baseline cannot beat itself");
}

/// The trials, the winner, its score and the gate's verdict do not depend on the number of
/// threads: batches are fixed, every parallel part writes its own slot or adds in a fixed order.
#[test]
fn a_sessions_optimization_is_the_same_on_one_and_two_threads() {
    // Arrange
    let bars = bars();
    let standards = StandardsConfig::default();
    let on = |threads: usize, method: Method| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(|| {
                optimize_tool(
                    &bars,
                    "sma_crossover",
                    &baseline(),
                    None,
                    &StudyConfig {
                        method,
                        trials: 48,
                        seed: 5,
                        batch: 8,
                    },
                    EvalConfig::default(),
                    &standards,
                    |_| {},
                    Stop::NEVER,
                    Stop::NEVER,
                )
                .expect("optimizes")
            })
    };
    for method in [Method::Random, Method::Bayesian] {
        // Act
        let (one, two) = (on(1, method), on(2, method));

        // Assert
        assert_eq!(
            one.params_after, two.params_after,
            "{method:?}: the same winner"
        );
        assert_eq!(
            one.best_in_sample.to_bits(),
            two.best_in_sample.to_bits(),
            "{method:?}: the same score"
        );
        assert_eq!(
            one, two,
            "{method:?}: the same optimization, trial for trial"
        );
    }
}
