//! Hand-computed cases for every family, and the no-look-ahead property.

use proptest::prelude::{ProptestConfig, prop, prop_assert_eq, prop_oneof, proptest};
use proptest::strategy::Strategy as _;
use serde_json::json;

use super::*;

fn targets(strategy: &Strategy, close: &[f64]) -> Vec<Position> {
    let mut out = Vec::new();
    strategy.targets(close, &mut Scratch::default(), &mut out);
    out
}

#[test]
fn sma_crossover_goes_long_on_a_cross_up_and_short_on_a_cross_down() {
    // fast(2): -, 4.5, 3.5, 2.5, 2.5, 3.5, 4.5, 4.5, 3.5
    // slow(3): -, -, 4, 3, 2.67, 3, 4, 4.33, 4
    // Bar 5: 2.5 < 2.67 then 3.5 > 3 -> up. Bar 8: 4.5 > 4.33 then 3.5 < 4 -> down.
    let close = [5.0, 4.0, 3.0, 2.0, 3.0, 4.0, 5.0, 4.0, 3.0];
    let s = Strategy::SmaCrossover { fast: 2, slow: 3 };
    assert_eq!(targets(&s, &close), [0, 0, 0, 0, 0, 1, 1, 1, -1]);
}

#[test]
fn sma_crossover_ignores_averages_that_touch_without_crossing() {
    // fast(2) and slow(3) of a flat series are equal: no strict cross, no position.
    let close = [2.0, 2.0, 2.0, 2.0, 2.0, 3.0];
    let s = Strategy::SmaCrossover { fast: 2, slow: 3 };
    // Bar 5: f[4] = s[4] = 2 (not <), so the rise is not a cross.
    assert_eq!(targets(&s, &close), [0; 6]);
}

#[test]
fn sma_crossover_matches_a_direct_computation_across_resync_blocks() {
    let close = price_path(
        (0..3_000)
            .map(|i| ((i * 7919 % 101) as f64 - 50.0) * 4e-4)
            .collect(),
    );
    let mean = |t: usize, n: usize| close[t + 1 - n..=t].iter().sum::<f64>() / n as f64;
    let (fast, slow) = (7, 31);
    let mut state = 0;
    let mut expected = vec![0; close.len()];
    for (t, slot) in expected.iter_mut().enumerate().skip(slow) {
        let (f0, s0, f1, s1) = (
            mean(t - 1, fast),
            mean(t - 1, slow),
            mean(t, fast),
            mean(t, slow),
        );
        if f0 < s0 && f1 > s1 {
            state = 1;
        } else if f0 > s0 && f1 < s1 {
            state = -1;
        }
        *slot = state;
    }
    let got = targets(&Strategy::SmaCrossover { fast, slow }, &close);
    assert_eq!(got, expected);
    assert!(
        got.iter().filter(|&&p| p != 0).count() > 2_000,
        "the series crosses"
    );
}

#[test]
fn legacy_momentum_follows_the_raw_lookback_return_beyond_the_threshold() {
    // r[2] = 12/10-1 = 0.2 > 0.1; r[3] = 0; r[4] = 9/12-1 = -0.25; r[5] = 9.9/10-1 = -0.01.
    let close = [10.0, 10.0, 12.0, 10.0, 9.0, 9.9];
    let s = Strategy::MomentumReturn {
        lookback: 2,
        threshold: 0.1,
    };
    assert_eq!(targets(&s, &close), [0, 0, 1, 0, -1, 0]);
}

/// The version-2 rule by hand: the lookback return over the sample deviation of the last
/// `max(lookback, 20)` one-bar returns times sqrt(lookback).
fn momentum_by_hand(close: &[f64], lookback: usize, threshold: f64) -> Vec<Position> {
    let w = lookback.max(20);
    (0..close.len())
        .map(|t| {
            if t < w {
                return 0;
            }
            let r: Vec<f64> = (t + 1 - w..=t)
                .map(|i| close[i] / close[i - 1] - 1.0)
                .collect();
            let mean = r.iter().sum::<f64>() / w as f64;
            let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (w - 1) as f64;
            if var <= 0.0 {
                return 0;
            }
            let z =
                (close[t] / close[t - lookback] - 1.0) / (var.sqrt() * (lookback as f64).sqrt());
            if z > threshold {
                1
            } else if z < -threshold {
                -1
            } else {
                0
            }
        })
        .collect()
}

#[test]
fn momentum_reads_the_lookback_return_in_standard_deviations() {
    // A zig-zag with a drift: up 1.2%, down 1%, and a late slump.
    let mut close = vec![100.0];
    for i in 1..80 {
        let step = if i > 60 {
            -0.015
        } else if i % 2 == 0 {
            0.012
        } else {
            -0.01
        };
        close.push(close[i - 1] * (1.0 + step));
    }
    for (lookback, threshold) in [(5, 0.5), (20, 0.5), (30, 1.0), (3, 0.0)] {
        let s = Strategy::Momentum {
            lookback,
            threshold,
        };
        let got = targets(&s, &close);
        assert_eq!(
            got,
            momentum_by_hand(&close, lookback, threshold),
            "{lookback} {threshold}"
        );
        assert_eq!(s.warmup(), lookback.max(20));
    }
    let s = Strategy::Momentum {
        lookback: 5,
        threshold: 0.5,
    };
    let got = targets(&s, &close);
    assert!(
        got[..20].iter().all(|&p| p == 0),
        "no decision before 20 returns"
    );
    assert_eq!(got[79], -1, "the slump is short");
}

#[test]
fn the_same_threshold_means_the_same_at_any_scale_of_moves() {
    // The same path with moves ten times smaller (an FX hour against an index day): the
    // version-2 signal is unchanged, the raw-return rule goes flat.
    // Noise around trends that turn every 60 bars (an LCG, so the test needs no generator).
    let path = |scale: f64| {
        let mut close = vec![1.0];
        let mut state: u64 = 7;
        for i in 1..300 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let trend = if (i / 60) % 2 == 0 { 0.004 } else { -0.004 };
            close.push(close[i - 1] * (1.0 + scale * (0.02 * u + trend)));
        }
        close
    };
    let (big, small) = (path(1.0), path(0.1));
    let v2 = |threshold| Strategy::Momentum {
        lookback: 20,
        threshold,
    };
    let a = targets(&v2(0.5), &big);
    let b = targets(&v2(0.5), &small);
    let agree = a.iter().zip(&b).filter(|(x, y)| x == y).count();
    assert!(agree >= 290, "{agree} of 300 bars agree");
    assert!(a.iter().filter(|&&p| p != 0).count() > 50, "it trades");
    let raw = Strategy::MomentumReturn {
        lookback: 20,
        threshold: 0.05,
    };
    let positions = |c: &[f64]| targets(&raw, c).iter().filter(|&&p| p != 0).count();
    assert!(
        positions(&small) < positions(&big) / 4,
        "{} vs {}",
        positions(&small),
        positions(&big)
    );
}

#[test]
fn mean_reversion_fades_a_move_and_exits_when_it_reverts() {
    // Bar 3: window 10,10,13: mean 11, sd sqrt(3), z = 1.15 > 1 -> short.
    // Bar 4: window 10,13,10: z = -0.58 <= 0 -> flat. Bar 5: z = -0.58, not < -1 -> flat.
    // Bar 6: window 10,10,7: mean 9, z = -1.15 < -1 -> long.
    let close = [10.0, 10.0, 10.0, 13.0, 10.0, 10.0, 7.0];
    let s = Strategy::MeanReversion {
        lookback: 3,
        entry_z: 1.0,
        exit_z: 0.0,
    };
    assert_eq!(targets(&s, &close), [0, 0, 0, -1, 0, 0, 1]);
}

#[test]
fn rsi_uses_wilder_smoothing_and_holds_between_the_levels() {
    // Deltas +1 +1 -1 -1 -1. Bar 2: gain 1, loss 0 -> RSI 100 -> short.
    // Bar 3: gain 0.5, loss 0.5 -> 50 -> hold. Bar 4: 0.25 / 0.75 -> 25 -> long.
    let close = [10.0, 11.0, 12.0, 11.0, 10.0, 9.0];
    let mut rsi_values = Vec::new();
    rsi::rsi(&close, 2, &mut rsi_values);
    assert!(rsi_values[1].is_nan());
    assert_eq!(&rsi_values[2..], &[100.0, 50.0, 25.0, 12.5]);
    let s = Strategy::Rsi {
        period: 2,
        lower: 30.0,
        upper: 70.0,
    };
    assert_eq!(targets(&s, &close), [0, 0, -1, -1, 1, 1]);
}

#[test]
fn parameters_go_through_the_family_schema() {
    let params = json!({"fast": 5}).as_object().cloned().expect("object");
    assert_eq!(
        Strategy::from_params("sma_crossover", &params),
        Ok(Strategy::SmaCrossover { fast: 5, slow: 20 })
    );
    let bad = json!({"fast": 30, "slow": 20})
        .as_object()
        .cloned()
        .expect("object");
    assert!(matches!(
        Strategy::from_params("sma_crossover", &bad),
        Err(EngineError::InvalidParameters(m)) if m.contains("fast")
    ));
    assert!(matches!(
        Strategy::from_params("astrology", &Map::new()),
        Err(EngineError::UnknownFamily(_))
    ));
    for family in domain::families::all() {
        Strategy::from_params(family.name, &Map::new()).expect("defaults build");
    }
}

fn any_strategy() -> impl proptest::strategy::Strategy<Value = Strategy> + 'static {
    prop_oneof![
        (2usize..30, 0.0f64..2.0).prop_map(|(lookback, threshold)| Strategy::Momentum {
            lookback,
            threshold
        }),
        (2usize..30, 0.0f64..0.05).prop_map(|(lookback, threshold)| Strategy::MomentumReturn {
            lookback,
            threshold
        }),
        (2usize..15, 1usize..20).prop_map(|(fast, extra)| Strategy::SmaCrossover {
            fast,
            slow: fast + extra
        }),
        (5usize..30, 0.5f64..3.0, 0.0f64..0.5).prop_map(|(lookback, entry_z, exit_z)| {
            Strategy::MeanReversion {
                lookback,
                entry_z,
                exit_z,
            }
        }),
        (2usize..30, 10.0f64..45.0, 55.0f64..90.0).prop_map(|(period, lower, upper)| {
            Strategy::Rsi {
                period,
                lower,
                upper,
            }
        }),
    ]
}

fn price_path(steps: Vec<f64>) -> Vec<f64> {
    let mut p = 100.0;
    steps
        .into_iter()
        .map(|r| {
            p *= 1.0 + r;
            p
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn changing_bars_after_t_never_changes_targets_up_to_t(
        strategy in any_strategy(),
        steps in prop::collection::vec(-0.05f64..0.05, 60..300),
        other in prop::collection::vec(-0.2f64..0.2, 300),
        cut in 0.0f64..1.0,
    ) {
        let close = price_path(steps);
        let t = (cut * (close.len() - 1) as f64) as usize;
        let mut changed = close.clone();
        for (i, r) in (t + 1..changed.len()).zip(other) {
            changed[i] = changed[i - 1] * (1.0 + r);
        }
        let a = targets(&strategy, &close);
        let b = targets(&strategy, &changed);
        prop_assert_eq!(&a[..=t], &b[..=t]);
        // Truncating the series is the same as never having seen the rest.
        prop_assert_eq!(&a[..=t], &targets(&strategy, &close[..=t])[..]);
    }
}
