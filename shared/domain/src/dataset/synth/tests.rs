use super::*;
use serde_json::json;

fn spec(value: serde_json::Value) -> GeneratorSpec {
    let raw: GeneratorSpec = serde_json::from_value(value).expect("well-formed spec");
    raw.resolve(2_000_000).expect("valid spec")
}

fn bits(bars: &Bars) -> Vec<u64> {
    [&bars.open, &bars.high, &bars.low, &bars.close, &bars.volume]
        .iter()
        .flat_map(|c| c.iter().map(|v| v.to_bits()))
        .collect()
}

#[test]
fn the_same_seed_gives_bit_identical_bars_and_another_seed_differs() {
    for kind in ["gbm", "regime_switching"] {
        let s = spec(json!({"kind": kind, "bars": 500, "seed": 42}));
        let a = generate(&s).expect("generates");
        let b = generate(&s).expect("generates");
        assert_eq!(a.time, b.time);
        assert_eq!(bits(&a), bits(&b), "{kind}: same spec, same bits");
        let other =
            generate(&spec(json!({"kind": kind, "bars": 500, "seed": 43}))).expect("generates");
        assert_ne!(a.close, other.close, "{kind}: another seed, other prices");
    }
}

#[test]
fn ohlc_invariants_hold_on_100k_bars() {
    for kind in ["gbm", "regime_switching"] {
        let s = spec(json!({"kind": kind, "bars": 100_000, "seed": 7, "interval": "1h"}));
        let bars = generate(&s).expect("generates");
        assert_eq!(bars.len(), 100_000);
        bars.validate().expect("every bar is valid");
        for i in 0..bars.len() {
            let (o, h, l, c) = (bars.open[i], bars.high[i], bars.low[i], bars.close[i]);
            assert!(
                l > 0.0 && l <= o.min(c) && o.max(c) <= h,
                "bar {i}: {o} {h} {l} {c}"
            );
            assert!(bars.volume[i] >= 1.0, "volume is positive");
            if i > 0 {
                assert_eq!(o, bars.close[i - 1], "opens at the previous close");
                assert_eq!(bars.time[i] - bars.time[i - 1], 3_600);
            }
        }
    }
}

fn lag1_autocorrelation(pairs: &[(f64, f64)]) -> f64 {
    let n = pairs.len() as f64;
    let (ma, mb) = pairs
        .iter()
        .fold((0.0, 0.0), |(a, b), p| (a + p.0 / n, b + p.1 / n));
    let cov: f64 = pairs.iter().map(|p| (p.0 - ma) * (p.1 - mb)).sum();
    let va: f64 = pairs.iter().map(|p| (p.0 - ma).powi(2)).sum();
    let vb: f64 = pairs.iter().map(|p| (p.1 - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn the_regime_model_visits_both_regimes_and_they_behave_differently() {
    let s = spec(json!({"kind": "regime_switching", "bars": 100_000, "seed": 1, "interval": "1h"}));
    let (bars, regimes) = generate_with_regimes(&s).expect("generates");
    let reverting = regimes
        .iter()
        .filter(|r| **r == Regime::MeanReverting)
        .count();
    assert!(
        (10_000..90_000).contains(&reverting),
        "both regimes take a real share: {reverting} of 100000 mean-reverting"
    );
    let switches = regimes.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(
        switches > 1_000,
        "p = 0.02 switches about 2000 times: {switches}"
    );
    let r: Vec<f64> = bars.close.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let pairs_in = |regime: Regime| -> Vec<(f64, f64)> {
        (1..r.len())
            .filter(|&i| regimes[i] == regime && regimes[i + 1] == regime)
            .map(|i| (r[i - 1], r[i]))
            .collect()
    };
    let trending = lag1_autocorrelation(&pairs_in(Regime::Trending));
    let reverting = lag1_autocorrelation(&pairs_in(Regime::MeanReverting));
    assert!(
        reverting < -0.02,
        "mean reversion makes returns anti-correlated: {reverting}"
    );
    assert!(trending > -0.02, "a trend's returns are not: {trending}");
}

#[test]
fn gbm_drift_shows_in_the_mean_log_return() {
    let s = spec(
        json!({"kind": "gbm", "bars": 100_000, "seed": 3, "interval": "1h", "drift": 0.5, "volatility": 0.01}),
    );
    let bars = generate(&s).expect("generates");
    let years = 100_000.0 * 3_600.0 / (365.25 * 86_400.0);
    let mean_log = (bars.close[99_999] / bars.open[0]).ln() / years;
    // Expected 0.5 - 0.01^2/2 a year; the estimate's sd is 0.01/sqrt(11.4) = 0.003.
    assert!((mean_log - 0.49995).abs() < 0.015, "{mean_log}");
}

#[test]
fn resolved_specs_echo_every_default_and_reproduce_the_bars() {
    let s = spec(json!({"kind": "gbm", "bars": 30, "seed": 9}));
    let echoed = serde_json::to_value(&s).expect("serializes");
    assert_eq!(
        echoed,
        json!({"kind": "gbm", "bars": 30, "seed": 9, "start": "2020-01-01T00:00:00Z",
               "interval": "1d", "initial_price": 100.0, "drift": 0.05, "volatility": 0.2})
    );
    let again = spec(echoed);
    assert_eq!(again, s);
    assert_eq!(
        bits(&generate(&again).expect("ok")),
        bits(&generate(&s).expect("ok"))
    );
    assert_eq!(generate(&s).expect("ok").time[0], 1_577_836_800);
}

#[test]
fn invalid_parameters_name_their_field() {
    let errors = |v: serde_json::Value| -> Vec<String> {
        let raw: GeneratorSpec = serde_json::from_value(v).expect("well-formed");
        raw.resolve(1_000)
            .expect_err("invalid")
            .into_iter()
            .map(|e| e.field)
            .collect()
    };
    assert_eq!(
        errors(json!({"kind": "gbm", "bars": 29, "seed": 1})),
        ["bars"]
    );
    assert_eq!(
        errors(json!({"kind": "gbm", "bars": 1001, "seed": 1})),
        ["bars"]
    );
    assert_eq!(
        errors(json!({"kind": "gbm", "bars": 30, "seed": 1, "volatility": -1.0})),
        ["volatility"]
    );
    assert_eq!(
        errors(json!({"kind": "gbm", "bars": 30, "seed": 1, "trend_drift": 0.1})),
        ["trend_drift"],
        "a parameter of the other model is refused"
    );
    assert_eq!(
        errors(
            json!({"kind": "regime_switching", "bars": 30, "seed": 1, "switch_probability": 2.0})
        ),
        ["switch_probability"]
    );
    assert_eq!(
        errors(json!({"kind": "gbm", "bars": 30, "seed": 1, "interval": "40d"})),
        ["interval"]
    );
    let unknown = serde_json::from_value::<GeneratorSpec>(
        json!({"kind": "gbm", "bars": 30, "seed": 1, "sigma": 1}),
    );
    assert!(
        unknown
            .expect_err("unknown field")
            .to_string()
            .contains("sigma")
    );
    let kind =
        serde_json::from_value::<GeneratorSpec>(json!({"kind": "garch", "bars": 30, "seed": 1}));
    assert!(
        kind.expect_err("unknown kind")
            .to_string()
            .contains("garch")
    );
}

#[test]
fn intervals_parse_and_print_in_units() {
    for (text, seconds) in [
        ("1m", 60),
        ("5m", 300),
        ("1h", 3_600),
        ("4h", 14_400),
        ("1d", 86_400),
        ("1w", 604_800),
        ("90", 90),
    ] {
        let i = Interval::parse(text).expect("valid");
        assert_eq!(i.0, seconds, "{text}");
    }
    assert_eq!(
        serde_json::to_value(Interval(7_200)).expect("ok"),
        json!("2h")
    );
    assert_eq!(
        serde_json::to_value(Interval(90)).expect("ok"),
        json!("90s")
    );
    assert_eq!(
        serde_json::from_value::<Interval>(json!(3600)).expect("ok"),
        Interval(3_600)
    );
    for bad in ["0m", "1y", "h", "-1h", ""] {
        assert!(Interval::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn runaway_parameters_are_refused_not_infinite() {
    let s =
        spec(json!({"kind": "gbm", "bars": 100_000, "seed": 1, "drift": 10.0, "volatility": 0.0}));
    let e = generate(&s).expect_err("prices leave the range");
    assert_eq!(e.field, "generator");
}
