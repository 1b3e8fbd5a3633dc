//! The gate's checks on hand-made metrics, edge cases included.

use super::*;

fn base() -> Metrics {
    Metrics {
        success_rate: 0.5,
        execution_time: 1.0,
        total_return: 0.2,
        cagr: 0.1,
        sharpe: 1.0,
        sortino: 1.5,
        max_drawdown: 0.2,
        profit_factor: 1.5,
        num_trades: 40.0,
        exposure: 0.5,
        buy_and_hold_return: 0.1,
    }
}

/// Every judged metric better by `f` (lower-is-better ones lower).
fn better(m: &Metrics, f: f64) -> Metrics {
    Metrics {
        success_rate: m.success_rate * (1.0 + f),
        execution_time: m.execution_time * (1.0 - f),
        total_return: m.total_return * (1.0 + f),
        cagr: m.cagr * (1.0 + f),
        sharpe: m.sharpe * (1.0 + f),
        sortino: m.sortino * (1.0 + f),
        max_drawdown: m.max_drawdown * (1.0 - f),
        profit_factor: m.profit_factor * (1.0 + f),
        ..*m
    }
}

fn check<'a>(r: &'a StandardsReport, name: &str) -> &'a Check {
    r.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name} in {r:?}"))
}

fn judge_default(b: &[Metrics], c: &[Metrics]) -> StandardsReport {
    judge(b, c, &Noise::new(), &StandardsConfig::default())
}

#[test]
fn a_clear_improvement_on_every_fold_passes_every_check() {
    let b = vec![base(); 3];
    let c = vec![better(&base(), 0.3); 3];
    let r = judge_default(&b, &c);
    assert!(r.passed, "{r:?}");
    let improvement = r.improvement.expect("computed");
    assert!((improvement - 0.3).abs() < 1e-12, "{improvement}");
    assert_eq!(check(&r, "stability").value, Some(1.0));
    // 1 overall + 2 required + 8 weighted + stability.
    assert_eq!(r.checks.len(), 12);
}

#[test]
fn an_improvement_below_the_threshold_fails_only_that_check() {
    let r = judge_default(&[base()], &[better(&base(), 0.10)]);
    assert!(!r.passed);
    let failed: Vec<_> = r
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failed, ["overall_improvement"]);
}

#[test]
fn a_required_metric_that_ties_fails_even_when_the_rest_improves() {
    let mut c = better(&base(), 0.5);
    c.success_rate = base().success_rate;
    let r = judge_default(&[base()], &[c]);
    assert!(!r.passed);
    let req = check(&r, "required:success_rate");
    assert_eq!((req.value, req.passed), (Some(0.0), false));
    assert!(
        check(&r, "no_regression:success_rate").passed,
        "a tie is no regression"
    );
}

#[test]
fn a_metric_falling_more_than_two_percent_fails_its_regression_check() {
    let mut c = better(&base(), 0.5);
    c.max_drawdown = base().max_drawdown * 1.05;
    let r = judge_default(&[base()], &[c]);
    let reg = check(&r, "no_regression:max_drawdown");
    assert!(!reg.passed);
    assert!((reg.value.expect("value") + 0.05).abs() < 1e-12);
    assert_eq!(reg.threshold, -0.02);
    let mut c = better(&base(), 0.5);
    c.max_drawdown = base().max_drawdown * 1.015;
    assert!(
        check(
            &judge_default(&[base()], &[c]),
            "no_regression:max_drawdown"
        )
        .passed
    );
}

#[test]
fn zero_and_negative_baselines_are_direction_aware() {
    assert_eq!(relative_change(Metric::SuccessRate, 0.0, 0.4), Some(1.0));
    assert_eq!(relative_change(Metric::SuccessRate, 0.0, 0.0), Some(0.0));
    assert_eq!(relative_change(Metric::MaxDrawdown, 0.0, 0.1), Some(-1.0));
    assert_eq!(
        relative_change(Metric::TotalReturn, -0.10, -0.05),
        Some(0.5)
    );
    assert_eq!(
        relative_change(Metric::TotalReturn, -0.10, -0.20),
        Some(-1.0)
    );
    assert_eq!(relative_change(Metric::ExecutionTime, 2.0, 1.0), Some(0.5));
    assert_eq!(
        relative_change(Metric::Sharpe, 1.0, 5.0),
        Some(1.0),
        "clamped"
    );
}

#[test]
fn a_missing_metric_fails_the_checks_that_need_it() {
    let mut c = better(&base(), 0.5);
    c.sharpe = f64::NAN;
    let r = judge_default(&[base()], &[c]);
    assert!(!r.passed);
    assert_eq!(r.improvement, None);
    let reg = check(&r, "no_regression:sharpe");
    assert_eq!((reg.value, reg.passed), (None, false));
    assert!(check(&r, "no_regression:sortino").passed);
    assert_eq!(relative_change(Metric::Sharpe, f64::INFINITY, 1.0), None);
}

#[test]
fn a_single_fold_is_won_or_lost_whole() {
    let won = judge_default(&[base()], &[better(&base(), 0.3)]);
    assert_eq!(check(&won, "stability").value, Some(1.0));
    let lost = judge_default(&[base()], &[better(&base(), -0.3)]);
    assert_eq!(check(&lost, "stability").value, Some(0.0));
    assert!(!lost.passed);
}

#[test]
fn two_folds_of_three_are_stable_and_one_is_not() {
    let b = vec![base(); 3];
    let two = vec![
        better(&base(), 0.6),
        better(&base(), 0.6),
        better(&base(), -0.01),
    ];
    let r = judge_default(&b, &two);
    let s = check(&r, "stability");
    assert!(s.passed, "{s:?}");
    let one = vec![
        better(&base(), 0.9),
        better(&base(), -0.01),
        better(&base(), -0.01),
    ];
    assert!(!check(&judge_default(&b, &one), "stability").passed);
}

#[test]
fn a_noisy_metric_improves_only_beyond_its_spread() {
    let noise: Noise = [(Metric::ExecutionTime, 0.05)].into_iter().collect();
    let cfg = StandardsConfig::default();
    let mut c = better(&base(), 0.3);
    c.execution_time = base().execution_time * 0.97;
    let r = judge(&[base()], &[c], &noise, &cfg);
    let req = check(&r, "required:execution_time");
    assert_eq!(req.threshold, 0.05);
    assert!(!req.passed, "3% is inside a 5% spread: {req:?}");
    c.execution_time = base().execution_time * 0.90;
    assert!(
        check(
            &judge(&[base()], &[c], &noise, &cfg),
            "required:execution_time"
        )
        .passed
    );
    // And a slowdown inside the spread is no regression.
    c.execution_time = base().execution_time * 1.06;
    let reg = check(
        &judge(&[base()], &[c], &noise, &cfg),
        "no_regression:execution_time",
    )
    .clone();
    assert!(reg.passed, "{reg:?}");
}

#[test]
fn folds_that_do_not_match_fail_everything() {
    let r = judge_default(&[base(), base()], &[better(&base(), 0.5)]);
    assert!(!r.passed);
    assert!(r.checks.iter().all(|c| !c.passed), "{r:?}");
    let r = judge_default(&[], &[]);
    assert!(!r.passed);
}

#[test]
fn the_configuration_round_trips_and_rejects_unknown_fields() {
    let cfg = StandardsConfig::default();
    let json = serde_json::to_value(&cfg).expect("serializes");
    assert_eq!(
        json["required"],
        serde_json::json!(["success_rate", "execution_time"])
    );
    let back: StandardsConfig = serde_json::from_value(json).expect("deserializes");
    assert_eq!(back, cfg);
    assert!(serde_json::from_value::<StandardsConfig>(serde_json::json!({"bogus": 1})).is_err());
}

#[test]
fn noise_inside_its_spread_counts_as_no_change_in_the_overall_improvement() {
    let noise: Noise = [(Metric::ExecutionTime, 0.05)].into_iter().collect();
    let cfg = StandardsConfig::default();
    let mut c = better(&base(), 0.2);
    c.execution_time = base().execution_time;
    let quiet = judge(&[base()], &[c], &noise, &cfg).improvement;
    // A 4% timing wobble either way changes nothing ...
    for wobble in [0.96, 1.04] {
        c.execution_time = base().execution_time * wobble;
        let r = judge(&[base()], &[c], &noise, &cfg);
        assert_eq!(r.improvement, quiet, "wobble {wobble}");
    }
    // ... while a 20% speed-up beyond the spread counts.
    c.execution_time = base().execution_time * 0.8;
    let faster = judge(&[base()], &[c], &noise, &cfg).improvement;
    assert!(faster > quiet, "{faster:?} > {quiet:?}");
    assert_eq!(
        overall_change_with_noise(&cfg, &[base()], &[c], &noise),
        faster
    );
}

#[test]
fn configurations_out_of_range_are_refused_field_by_field() {
    assert!(StandardsConfig::default().validate().is_ok());
    let bad = StandardsConfig {
        min_improvement: f64::NAN,
        max_regression: -0.1,
        min_fold_win_share: 1.5,
        weights: [(Metric::Sharpe, -1.0)].into_iter().collect(),
        ..StandardsConfig::default()
    };
    let fields: Vec<String> = bad
        .validate()
        .expect_err("invalid")
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        [
            "min_improvement",
            "max_regression",
            "min_fold_win_share",
            "weights.sharpe",
            "weights"
        ]
    );
}

#[test]
fn the_search_score_penalizes_what_the_gate_would_refuse() {
    let cfg = StandardsConfig::default();
    let b = vec![base(); 3];
    let good = vec![better(&base(), 0.3); 3];
    let clean = gate_score(&cfg, &b, &good).expect("computable");
    assert!(
        (clean - 0.3).abs() < 1e-12,
        "no penalty for a clean win: {clean}"
    );
    // Same overall gain, but the required success rate collapses: far worse a score.
    let mut lopsided = better(&base(), 0.6);
    lopsided.success_rate = 0.0;
    let lopsided = vec![lopsided; 3];
    let overall = overall_change(&cfg, &b, &lopsided).expect("computable");
    let score = gate_score(&cfg, &b, &lopsided).expect("computable");
    assert!(score < overall - 0.9, "{score} vs {overall}");
    assert!(score < clean);
    assert_eq!(gate_score(&cfg, &b, &good[..2]), None, "folds must match");
}
