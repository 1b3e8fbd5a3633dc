use super::*;
use proptest::prelude::*;

fn spec(lookback: usize, horizon: usize, with_direction: bool) -> FeatureSpec {
    FeatureSpec {
        lookback,
        horizon,
        with_direction,
    }
}

/// Deterministic pseudo-random walk (opens, closes).
fn walk(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    };
    let mut close = Vec::with_capacity(n);
    let mut open = Vec::with_capacity(n);
    let mut price = 100.0_f64;
    for _ in 0..n {
        open.push(price * (1.0 + 0.002 * next()));
        price *= (0.02 * next()).exp();
        close.push(price);
    }
    (open, close)
}

fn assert_finite_bounded(x: &[f32]) {
    for &v in x {
        assert!(v.is_finite(), "non-finite feature {v}");
        assert!(v.abs() <= FEATURE_CLAMP as f32, "unclamped feature {v}");
    }
}

#[test]
fn width_and_warmup() {
    assert_eq!(spec(8, 1, false).width(), 12);
    assert_eq!(spec(8, 1, true).width(), 13);
    assert_eq!(spec(8, 1, false).warmup(), LONG_WINDOW);
    assert_eq!(spec(150, 1, false).warmup(), 150);
}

#[test]
fn matrix_rows_before_warmup_are_zero_and_later_rows_are_not() {
    let (_, close) = walk(300, 1);
    let s = spec(5, 3, true);
    let m = feature_matrix(&close, &s, -1);
    let w = s.width();
    assert_eq!(m.len(), 300 * w);
    assert!(m[..s.warmup() * w].iter().all(|&v| v == 0.0));
    let row = &m[200 * w..201 * w];
    assert!(row[..5].iter().any(|&v| v != 0.0));
    assert_eq!(row[w - 1], -1.0);
    assert_finite_bounded(&m);
}

#[test]
fn first_return_column_is_the_return_over_vol20() {
    let (_, close) = walk(260, 2);
    let s = spec(3, 1, false);
    let m = feature_matrix(&close, &s, 0);
    let t = 250;
    let rets: Vec<f64> = (t - 19..=t)
        .map(|i| (close[i] / close[i - 1]).ln())
        .collect();
    let mean = rets.iter().sum::<f64>() / 20.0;
    let vol = (rets.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / 20.0).sqrt();
    let expected = ((close[t] / close[t - 1]).ln() / vol) as f32;
    let got = m[t * s.width()];
    assert!((got - expected).abs() < 1e-4, "{got} vs {expected}");
    let expected_lag2 = ((close[t - 2] / close[t - 3]).ln() / vol) as f32;
    assert!((m[t * s.width() + 2] - expected_lag2).abs() < 1e-4);
}

#[test]
fn constant_and_zero_prices_give_finite_zero_features() {
    let s = spec(10, 2, true);
    for price in [100.0, 0.0, 1e-300] {
        let close = vec![price; 400];
        let open = close.clone();
        let m = feature_matrix(&close, &s, 1);
        assert_finite_bounded(&m);
        let w = s.width();
        for t in s.warmup()..400 {
            let row = &m[t * w..(t + 1) * w];
            assert!(
                row[..w - 1].iter().all(|&v| v == 0.0),
                "price {price} row {t}: {row:?}"
            );
            assert_eq!(row[w - 1], 1.0);
        }
        let d = direction_samples(&open, &close, &s, 0..400);
        assert_finite_bounded(&d.x);
        assert!(d.y.iter().all(|&y| y == 0.0));
    }
}

#[test]
fn pathological_inputs_stay_finite() {
    let (_, mut close) = walk(400, 3);
    close[150] = f64::NAN;
    close[160] = 0.0;
    close[170] = -5.0;
    close[180] = f64::INFINITY;
    close[190] = 1e-300;
    let m = feature_matrix(&close, &spec(12, 1, true), 0);
    assert_finite_bounded(&m);
}

#[test]
fn hand_checked_labels() {
    let s = spec(3, 2, true);
    let n = 120;
    let mut close = vec![100.0; n];
    let mut open = vec![100.0; n];
    let t = 110;
    open[t + 1] = 100.0;
    close[t + 2] = 101.0; // +1 % from the next open to the horizon close
    open[t + 3] = 50.0; // never read by bar t
    close[t + 1] = 10.0; // intermediate close, never read by the label of bar t
    let d = direction_samples(&open, &close, &s, t..t + 3);
    assert_eq!(d.bars, vec![t]);
    assert_eq!(d.y, vec![1.0]);
    assert_eq!(
        d.x[s.width() - 1],
        0.0,
        "direction samples have a zero direction"
    );
    // A range ending at t + 2 cannot settle bar t's label.
    assert!(direction_samples(&open, &close, &s, t..t + 2).is_empty());

    let mut signal = vec![0_i8; n];
    signal[t] = 1;
    let long = meta_samples(&open, &close, &signal, &s, 0.004, t..t + 3);
    assert_eq!((long.bars.clone(), long.y.clone()), (vec![t], vec![1.0]));
    let costly = meta_samples(&open, &close, &signal, &s, 0.006, t..t + 3);
    assert_eq!(costly.y, vec![0.0], "0.01 does not beat a 1.2 % round trip");
    signal[t] = -1;
    let short = meta_samples(&open, &close, &signal, &s, 0.0, t..t + 3);
    assert_eq!(short.y, vec![0.0]);
    assert_eq!(short.x[s.width() - 1], -1.0);
}

#[test]
fn meta_samples_only_on_signals_with_their_direction() {
    let (open, close) = walk(500, 4);
    let signal: Vec<i8> = (0..500).map(|i| [0, 1, -1, 0, 0, 1][i % 6]).collect();
    let s = spec(6, 4, true);
    let m = meta_samples(&open, &close, &signal, &s, 0.0005, 0..500);
    assert!(!m.is_empty());
    assert_eq!(m.x.len(), m.len() * s.width());
    for (row, &bar) in m.bars.iter().enumerate() {
        assert_ne!(signal[bar], 0);
        assert!(bar >= s.warmup() && bar + 4 < 500);
        let dir = m.x[(row + 1) * s.width() - 1];
        assert_eq!(dir, f32::from(signal[bar]));
        let ret = f64::from(signal[bar]) * (close[bar + 4] / open[bar + 1] - 1.0);
        assert_eq!(m.y[row], if ret > 0.001 { 1.0 } else { 0.0 });
    }
    let expected = (s.warmup()..496).filter(|&t| signal[t] != 0).count();
    assert_eq!(m.len(), expected);
    let share = m.positive_share();
    assert!(share > 0.0 && share < 1.0);
}

#[test]
fn sample_features_equal_matrix_rows() {
    let (open, close) = walk(400, 5);
    let s = spec(7, 3, true);
    let m = feature_matrix(&close, &s, 0);
    let d = direction_samples(&open, &close, &s, 150..300);
    let w = s.width();
    assert_eq!(d.bars.first(), Some(&150));
    assert_eq!(d.bars.last(), Some(&296));
    for (row, &bar) in d.bars.iter().enumerate() {
        assert_eq!(&d.x[row * w..(row + 1) * w], &m[bar * w..(bar + 1) * w]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Features of rows `<= t` do not change when bars after `t` change.
    #[test]
    fn no_look_ahead(seed in 0u64..1000, cut in 0usize..260, noise in 0.5f64..2.0, lookback in 1usize..30) {
        let (_, close) = walk(260, seed);
        let mut altered = close.clone();
        for (i, v) in altered.iter_mut().enumerate().skip(cut + 1) {
            *v *= noise + 0.01 * (i % 7) as f64;
        }
        let s = spec(lookback, 1, true);
        let w = s.width();
        let a = feature_matrix(&close, &s, 1);
        let b = feature_matrix(&altered, &s, 1);
        prop_assert_eq!(&a[..(cut + 1) * w], &b[..(cut + 1) * w]);
    }

    /// Samples never read bars at or beyond `range.end`.
    #[test]
    fn samples_ignore_bars_from_range_end(seed in 0u64..1000, end in 100usize..300, horizon in 1usize..6) {
        let (open, close) = walk(300, seed);
        let (open2, close2) = walk(300, seed + 7919);
        let mut o = open.clone();
        let mut c = close.clone();
        o[end..].copy_from_slice(&open2[end..]);
        c[end..].copy_from_slice(&close2[end..]);
        let signal: Vec<i8> = (0..300).map(|i| [1, 0, -1][i % 3]).collect();
        let s = spec(5, horizon, true);
        let a = direction_samples(&open, &close, &s, 50..end);
        let b = direction_samples(&o, &c, &s, 50..end);
        prop_assert_eq!(&a, &b);
        prop_assert!(a.bars.iter().all(|&t| t + horizon < end && t >= s.warmup()));
        let ma = meta_samples(&open, &close, &signal, &s, 0.001, 50..end);
        let mb = meta_samples(&o, &c, &signal, &s, 0.001, 50..end);
        prop_assert_eq!(&ma, &mb);
        prop_assert!(ma.bars.iter().all(|&t| t + horizon < end));
        // Truncated inputs give the same samples too.
        let mt = meta_samples(&open[..end], &close[..end], &signal[..end], &s, 0.001, 50..end);
        prop_assert_eq!(&ma, &mt);
    }
}
