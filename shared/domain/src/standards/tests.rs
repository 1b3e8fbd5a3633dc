//! The gate's checks on hand-made metrics, edge cases included.

use super::*;
use crate::metrics::RATIO_CAP;

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

fn judge_with(b: &[Metrics], c: &[Metrics], cfg: &StandardsConfig) -> StandardsReport {
    judge(
        &Evidence {
            baseline: b,
            candidate: c,
            windows: &[],
            runs: &[],
            selection: None,
            absolute: None,
        },
        cfg,
    )
}

fn judge_default(b: &[Metrics], c: &[Metrics]) -> StandardsReport {
    judge_with(b, c, &StandardsConfig::default())
}

fn failed(r: &StandardsReport) -> Vec<&str> {
    r.checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect()
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
    // 1 overall + 2 required + 8 weighted + 2 evidence + stability + runs (no search: no DSR).
    assert_eq!(r.checks.len(), 15);
    assert_eq!(r.evidence.len(), 3);
    assert!(r.evidence.iter().all(|e| e.won && e.trades_after == 40.0));
    assert_eq!(r.runs.len(), 1, "run 0 only");
}

#[test]
fn an_improvement_below_the_threshold_fails_only_that_check() {
    let r = judge_default(&[base()], &[better(&base(), 0.10)]);
    assert!(!r.passed);
    // Run 0 is the same comparison, so it fails too.
    assert_eq!(failed(&r), ["overall_improvement", "stability:runs"]);
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
fn an_unchanged_cost_passes_its_required_check_and_a_higher_one_fails_it() {
    let mut c = better(&base(), 0.3);
    c.execution_time = base().execution_time;
    let r = judge_default(&[base()], &[c]);
    let req = check(&r, "required:execution_time");
    assert!(req.passed, "{req:?}");
    assert_eq!(req.value, Some(0.0));
    assert!(
        req.note
            .as_deref()
            .is_some_and(|n| n.starts_with("unchanged")),
        "{req:?}"
    );
    assert!(r.passed, "{:?}", failed(&r));
    // A cost that rises is a regression of the required metric, not a tie.
    c.execution_time = base().execution_time * 1.01;
    let r = judge_default(&[base()], &[c]);
    let req = check(&r, "required:execution_time");
    assert!(!req.passed && req.note.is_none(), "{req:?}");
    // An unchanged success rate is no improvement: the note is for costs only.
    let mut c = better(&base(), 0.3);
    c.success_rate = base().success_rate;
    assert!(!check(&judge_default(&[base()], &[c]), "required:success_rate").passed);
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
    // A configuration stored before the evidence floors existed takes their defaults.
    let old: StandardsConfig =
        serde_json::from_value(serde_json::json!({"min_improvement": 0.2, "required": ["sharpe"]}))
            .expect("deserializes");
    assert_eq!(old.min_trades, StandardsConfig::default().min_trades);
    assert_eq!(old.min_improvement, 0.2);
    // And a report stored before them reads with empty evidence.
    let report: StandardsReport = serde_json::from_value(serde_json::json!({
        "passed": false, "improvement": null,
        "checks": [{"name": "stability", "value": 0.5, "threshold": 0.6, "passed": false}]
    }))
    .expect("deserializes");
    assert!(report.evidence.is_empty() && report.deflated_sharpe.is_none());
}

#[test]
fn configurations_out_of_range_are_refused_field_by_field() {
    assert!(StandardsConfig::default().validate().is_ok());
    let bad = StandardsConfig {
        min_improvement: f64::NAN,
        max_regression: -0.1,
        min_fold_win_share: 1.5,
        weights: [(Metric::Sharpe, -1.0)].into_iter().collect(),
        min_exposure: 2.0,
        min_deflated_sharpe: -0.5,
        stability_runs: 0,
        min_run_share: f64::INFINITY,
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
            "min_exposure",
            "min_deflated_sharpe",
            "stability_runs",
            "min_run_share",
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

/// `m` with `trades` closed trades, the success rate and profit factor of `wins` of them.
fn trading(m: &Metrics, trades: f64, success_rate: f64, profit_factor: f64) -> Metrics {
    Metrics {
        num_trades: trades,
        success_rate,
        profit_factor,
        ..*m
    }
}

#[test]
fn one_lucky_trade_per_fold_is_not_evidence_of_anything() {
    // The degenerate corner: one winning trade a fold, so a success rate of 1 and a profit
    // factor at its cap, and better returns too.
    let b = vec![base(); 4];
    let lucky = vec![trading(&better(&base(), 0.5), 1.0, 1.0, RATIO_CAP); 4];
    let r = judge_default(&b, &lucky);
    assert!(!r.passed);
    let f = failed(&r);
    for name in ["required:success_rate", "evidence:trades", "stability"] {
        assert!(f.contains(&name), "{name} fails: {f:?}");
    }
    // The trade-based metrics count as no improvement at all.
    assert_eq!(check(&r, "required:success_rate").value, Some(0.0));
    assert_eq!(check(&r, "no_regression:profit_factor").value, Some(0.0));
    assert!(r.evidence.iter().all(|e| !e.won && e.trades_after == 1.0));
}

#[test]
fn a_candidate_that_never_trades_fails_the_evidence_checks() {
    let b = vec![base(); 4];
    let flat = Metrics {
        num_trades: 0.0,
        exposure: 0.0,
        success_rate: 0.0,
        profit_factor: 0.0,
        total_return: 0.0,
        cagr: 0.0,
        sharpe: 0.0,
        sortino: 0.0,
        max_drawdown: 0.0,
        ..base()
    };
    let r = judge_default(&b, &vec![flat; 4]);
    let f = failed(&r);
    for name in ["evidence:trades", "evidence:exposure", "stability"] {
        assert!(f.contains(&name), "{name} fails: {f:?}");
    }
    assert_eq!(check(&r, "evidence:trades").value, Some(0.0));
}

#[test]
fn a_fold_where_the_baseline_trades_too_little_counts_against_the_candidate() {
    let mut b = vec![base(); 3];
    b[2].num_trades = 2.0;
    let c = vec![better(&base(), 0.3); 3];
    let r = judge_default(&b, &c);
    assert!(!r.evidence[2].won, "no evidence on the baseline's side");
    assert!((check(&r, "stability").value.expect("value") - 2.0 / 3.0).abs() < 1e-12);
    // With a second thin fold, the candidate no longer wins two thirds.
    b[1].exposure = 0.01;
    assert!(!check(&judge_default(&b, &c), "stability").passed);
}

#[test]
fn no_losing_trade_in_one_fold_does_not_dominate_the_profit_factor() {
    // Two folds of 10 trades: profit factors 1.5 and (no loss) the cap. Pooled by profit share:
    // (0.6 + 0.999) / 2 -> about 4, not the mean of the ratios (about 500).
    let folds = [
        trading(&base(), 10.0, 0.6, 1.5),
        trading(&base(), 10.0, 1.0, RATIO_CAP),
    ];
    let pf = aggregate::aggregate(&folds, Metric::ProfitFactor);
    let share = (0.6 + RATIO_CAP / (1.0 + RATIO_CAP)) / 2.0;
    assert!((pf - share / (1.0 - share)).abs() < 1e-9, "{pf}");
    assert!(pf < 5.0);
    // Success rate is pooled over trades: 16 wins of 20.
    assert!((aggregate::aggregate(&folds, Metric::SuccessRate) - 0.8).abs() < 1e-12);
    // Every fold without a loss still reads as the cap.
    let perfect = [trading(&base(), 10.0, 1.0, RATIO_CAP); 2];
    assert_eq!(
        aggregate::aggregate(&perfect, Metric::ProfitFactor),
        RATIO_CAP
    );
}

#[test]
fn the_runs_are_judged_one_by_one_and_shown() {
    let b = vec![base(); 3];
    let c = vec![better(&base(), 0.3); 3];
    let good = Run {
        windows: vec![[0, 10], [10, 20], [20, 30]],
        baseline: b.clone(),
        candidate: c.clone(),
    };
    let bad = Run {
        windows: vec![[0, 15], [15, 30]],
        baseline: vec![base(); 2],
        candidate: vec![better(&base(), -0.1); 2],
    };
    let runs = vec![good.clone(), bad.clone(), bad];
    let cfg = StandardsConfig::default();
    let r = judge(
        &Evidence {
            baseline: &b,
            candidate: &c,
            windows: &[[0, 10], [10, 20], [20, 30]],
            runs: &runs,
            selection: None,
            absolute: None,
        },
        &cfg,
    );
    assert_eq!(r.runs.len(), 4);
    assert_eq!(r.runs[0].windows, [[0, 10], [10, 20], [20, 30]]);
    let passed: Vec<bool> = r.runs.iter().map(|x| x.passed).collect();
    assert_eq!(passed, [true, true, false, false]);
    let runs_check = check(&r, "stability:runs");
    assert_eq!(runs_check.value, Some(0.5));
    assert!(!runs_check.passed && !r.passed);
    // Half the runs is enough for a creator who asks for half.
    let lenient = StandardsConfig {
        min_run_share: 0.5,
        ..cfg
    };
    assert!(
        judge(
            &Evidence {
                baseline: &b,
                candidate: &c,
                windows: &[],
                runs: &runs,
                selection: None,
                absolute: None,
            },
            &lenient
        )
        .passed
    );
}

#[test]
fn the_deflated_sharpe_check_reads_the_search() {
    let b = vec![base(); 3];
    let c = vec![better(&base(), 0.3); 3];
    let judge_sel = |selection: &Selection| {
        judge(
            &Evidence {
                baseline: &b,
                candidate: &c,
                windows: &[],
                runs: &[],
                selection: Some(selection),
                absolute: None,
            },
            &StandardsConfig::default(),
        )
    };
    let strong = Selection {
        of: "excess returns over the baseline".into(),
        trials: 16,
        sharpe_variance: 1e-4,
        sharpe: Some(0.08),
        bars: 1_500,
        skewness: 0.0,
        kurtosis: 3.0,
    };
    let r = judge_sel(&strong);
    assert!(r.passed, "{:?}", failed(&r));
    let d = r.deflated_sharpe.as_ref().expect("reported");
    assert_eq!(d.selection, strong);
    // The same Sharpe ratio found among 5,000 widely spread trials is luck.
    let lucky = Selection {
        trials: 5_000,
        sharpe_variance: 4e-3,
        ..strong.clone()
    };
    let r = judge_sel(&lucky);
    assert_eq!(failed(&r), ["deflated_sharpe"]);
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn metrics() -> impl Strategy<Value = Metrics> {
        (
            0.0..1.0f64,
            -0.5..2.0f64,
            -3.0..3.0f64,
            0.0..0.9f64,
            0.0..10.0f64,
            0.0..60.0f64,
            0.0..1.0f64,
        )
            .prop_map(|(sr, ret, sharpe, dd, pf, trades, exposure)| Metrics {
                success_rate: sr,
                execution_time: 0.5,
                total_return: ret,
                cagr: ret / 2.0,
                sharpe,
                sortino: sharpe * 1.2,
                max_drawdown: dd,
                profit_factor: pf,
                num_trades: trades.floor(),
                exposure,
                buy_and_hold_return: 0.1,
            })
    }

    proptest! {
        #[test]
        fn a_tool_never_passes_against_itself(folds in prop::collection::vec(metrics(), 1..6)) {
            let r = judge_default(&folds, &folds);
            prop_assert!(!r.passed);
            prop_assert_eq!(r.improvement, Some(0.0));
        }

        #[test]
        fn a_candidate_below_the_trade_floor_in_every_fold_never_passes(
            b in prop::collection::vec(metrics(), 1..6),
            c in prop::collection::vec(metrics(), 1..6),
        ) {
            let n = b.len().min(c.len());
            let below = StandardsConfig::default().min_trades - 1.0;
            let thin: Vec<Metrics> = c[..n].iter().map(|m| Metrics { num_trades: m.num_trades.min(below), ..*m }).collect();
            let r = judge_default(&b[..n], &thin);
            prop_assert!(!r.passed);
            prop_assert!(!check(&r, "stability").passed);
            prop_assert!(check(&r, "required:success_rate").value.is_none_or(|v| v <= 0.0));
        }

        #[test]
        fn changes_are_bounded_and_swap_sign_with_the_sides(b in -5.0..5.0f64, c in -5.0..5.0f64) {
            for m in Metric::ALL {
                let up = relative_change(m, b, c).expect("finite");
                prop_assert!((-1.0..=1.0).contains(&up));
                let down = relative_change(m, c, b).expect("finite");
                prop_assert!(up == 0.0 && down == 0.0 || up.signum() == -down.signum(), "{m:?} {b} {c}");
            }
        }

        #[test]
        fn the_search_score_never_exceeds_the_overall_improvement(
            b in prop::collection::vec(metrics(), 1..6),
            c in prop::collection::vec(metrics(), 1..6),
        ) {
            let n = b.len().min(c.len());
            let cfg = StandardsConfig::default();
            if let (Some(score), Some(overall)) = (gate_score(&cfg, &b[..n], &c[..n]), overall_change(&cfg, &b[..n], &c[..n])) {
                prop_assert!(score <= overall + 1e-12);
            }
        }
    }
}
