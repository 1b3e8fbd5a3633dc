//! Stopping through the public interface: an evaluation stops between its passes over the bars,
//! and a canceled optimization returns nothing (a search that only ran out of time is judged).

use std::sync::atomic::{AtomicUsize, Ordering};

use compute::Stop;
use compute::engine::{EngineError, Evaluator, Strategy};
use compute::optimize::{Method, StudyConfig, optimize_tool};
use domain::dataset::synth::{GeneratorSpec, generate};
use domain::evaluation::EvalConfig;
use domain::standards::StandardsConfig;
use serde_json::{Map, Value, json};

fn bars() -> domain::dataset::Bars {
    let spec: GeneratorSpec = serde_json::from_value(json!({
        "kind": "regime_switching", "bars": 3000, "seed": 3
    }))
    .expect("spec");
    generate(&spec).expect("bars")
}

fn baseline() -> Map<String, Value> {
    json!({"fast": 10, "slow": 30})
        .as_object()
        .cloned()
        .expect("object")
}

#[test]
fn an_evaluation_stops_at_its_next_pass_and_runs_whole_when_never_stopped() {
    // Arrange: the stop is raised from the 8th check on (after the 5 timing repeats, the whole
    // series and the out-of-sample span: before the first fold).
    let bars = bars();
    let strategy = Strategy::from_params("sma_crossover", &baseline()).expect("strategy");
    let checks = AtomicUsize::new(0);
    let check = || checks.fetch_add(1, Ordering::Relaxed) >= 7;

    // Act
    let stopped = Evaluator::new(&bars, EvalConfig::default())
        .expect("evaluator")
        .evaluate_until(&strategy, Stop::new(&check));
    let whole = Evaluator::new(&bars, EvalConfig::default())
        .expect("evaluator")
        .evaluate_until(&strategy, Stop::NEVER)
        .expect("evaluates");

    // Assert
    assert_eq!(stopped, Err(EngineError::Stopped));
    assert_eq!(
        checks.load(Ordering::Relaxed),
        8,
        "nothing ran after the check that saw the stop"
    );
    let plain =
        compute::engine::evaluate(&bars, &strategy, EvalConfig::default()).expect("evaluates");
    assert_eq!(whole.folds, plain.folds, "the checks change no result");
    assert_eq!(whole.overall, plain.overall);
}

#[test]
fn a_canceled_optimization_returns_nothing_and_a_timed_out_one_is_judged() {
    // Arrange
    let bars = bars();
    let study = StudyConfig {
        method: Method::Random,
        trials: 40,
        seed: 1,
        batch: 4,
    };
    let standards = StandardsConfig::default();
    let trials = AtomicUsize::new(0);
    let after_two_batches = || trials.load(Ordering::Relaxed) >= 8;
    let run = |end_search: Stop<'_>, cancel: Stop<'_>| {
        optimize_tool(
            &bars,
            "sma_crossover",
            &baseline(),
            None,
            &study,
            EvalConfig::default(),
            &standards,
            |t| trials.store(t.len(), Ordering::Relaxed),
            end_search,
            cancel,
        )
    };

    // Act
    let canceled = run(Stop::NEVER, Stop::new(&after_two_batches));
    trials.store(0, Ordering::Relaxed);
    let timed_out = run(Stop::new(&after_two_batches), Stop::NEVER);

    // Assert
    assert_eq!(canceled.err(), Some(EngineError::Stopped));
    let timed_out = timed_out.expect("a search that ran out of time is judged");
    assert_eq!(timed_out.trials_run, 8, "two whole batches");
    assert!(!timed_out.report.checks.is_empty(), "the gate judged it");
}
