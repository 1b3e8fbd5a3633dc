use super::*;

fn settings() -> AbTestSettings {
    AbTestSettings::default()
}

/// A deterministic, autocorrelated-looking return series (no randomness from outside).
fn series(n: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    let mut prev = 0.0;
    (0..n)
        .map(|_| {
            let u = rng.next_u64() as f64 / u64::MAX as f64 - 0.5;
            prev = 0.5 * prev + u * scale;
            prev
        })
        .collect()
}

#[test]
fn the_block_length_rule_is_the_ceiling_of_the_cube_root() {
    assert_eq!(block_length(1), 1);
    assert_eq!(block_length(8), 2);
    assert_eq!(block_length(9), 3);
    assert_eq!(block_length(27), 3);
    assert_eq!(block_length(28), 4);
    assert_eq!(block_length(1000), 10);
    assert_eq!(block_length(1001), 11);
}

#[test]
fn circular_blocks_wrap_around_and_are_cut_to_the_series_length() {
    // n = 5, l = 2: starts 3, 4, 0 give [3, 4], [4, 0], [0] (cut).
    assert_eq!(blocks_from_starts(5, 2, &[3, 4, 0]), [3, 4, 4, 0, 0]);
    assert_eq!(blocks_from_starts(4, 4, &[2]), [2, 3, 0, 1]);
}

#[test]
fn the_sharpe_ratio_and_quantiles_match_hand_computed_values() {
    // mean 0.02, sample sd sqrt((0.01^2 + 0.01^2) / 1) = 0.0141421 -> 1.41421.
    assert!((sharpe(&[0.01, 0.03]) - 2f64.sqrt()).abs() < 1e-12);
    assert_eq!(sharpe(&[0.01, 0.01, 0.01]), 0.0, "zero deviation gives 0");
    // Type 7: h = 3 * 0.5 = 1.5 -> 2 + 0.5 * (3 - 2).
    assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
    assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.0), 1.0);
    assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 1.0), 4.0);
    // h = 3 * 0.25 = 0.75 -> 1 + 0.75.
    assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75);
}

#[test]
fn the_centered_p_value_counts_resamples_at_least_as_far_as_the_observation() {
    // |d* - 0.2| = [0.1, 0.3, 0.4, 0.1]; 2 of them >= 0.2 -> (1 + 2) / (1 + 4) = 0.6.
    let p = centered_p_value(&[0.1, 0.5, -0.2, 0.3], 0.2);
    assert!((p - 0.6).abs() < 1e-12);
    // An observed 0 is never evidence: every resample is at least as far.
    assert_eq!(centered_p_value(&[0.1, -0.3], 0.0), 1.0);
}

#[test]
fn an_a_a_test_is_never_significant() {
    for seed in [1, 2, 3] {
        let a = series(300, seed, 0.02);
        let t = paired_test(&a, &a, 252.0, &settings()).expect("runs");
        assert_eq!(t.mean_return.p_value, 1.0);
        assert_eq!(t.sharpe.p_value, 1.0);
        assert_eq!((t.sharpe.ci_low, t.sharpe.ci_high), (0.0, 0.0));
        assert_eq!(t.sharpe.difference, 0.0);
        assert!(!t.mean_return.significant && !t.sharpe.significant);
        assert_eq!(t.verdict, Verdict::NoSignificantDifference);
    }
    // Zero-variance series, too.
    let flat = vec![0.0; 50];
    let t = paired_test(&flat, &flat, 252.0, &settings()).expect("runs");
    assert_eq!(t.sharpe.p_value, 1.0);
    assert!(!t.sharpe.significant);
}

#[test]
fn a_clearly_better_version_is_significant_and_named() {
    // B earns 0.5% more than A on every bar, with the same noise.
    let a = series(400, 7, 0.01);
    let b: Vec<f64> = a.iter().map(|x| x + 0.005).collect();
    let t = paired_test(&a, &b, 252.0, &settings()).expect("runs");
    assert!((t.mean_return.difference - 0.005).abs() < 1e-12);
    assert!(t.mean_return.significant, "p = {}", t.mean_return.p_value);
    assert!(t.sharpe.difference > 0.0 && t.sharpe.significant);
    assert!(t.sharpe.ci_low > 0.0, "the interval excludes 0");
    assert_eq!(t.verdict, Verdict::BBetter);
    // The minimum p-value of B = 2000 resamples: 1 / 2001.
    assert!(t.sharpe.p_value >= 1.0 / 2001.0);
    let swapped = paired_test(&b, &a, 252.0, &settings()).expect("runs");
    assert_eq!(swapped.verdict, Verdict::ABetter);
}

#[test]
fn two_independent_noises_are_usually_not_significant() {
    let a = series(500, 11, 0.01);
    let b = series(500, 12, 0.01);
    let t = paired_test(&a, &b, 252.0, &settings()).expect("runs");
    assert!(t.sharpe.ci_low <= t.sharpe.difference && t.sharpe.difference <= t.sharpe.ci_high);
    assert!(
        t.mean_return.p_value > 0.05,
        "p = {}",
        t.mean_return.p_value
    );
}

#[test]
fn a_block_as_long_as_the_series_only_rotates_it() {
    // Every resample is a rotation: the same mean difference, so none is as far from it as it
    // is from 0, and the interval collapses onto it.
    let a = series(64, 3, 0.01);
    let b: Vec<f64> = series(64, 4, 0.01).iter().map(|x| x + 0.001).collect();
    let s = AbTestSettings {
        block_length: Some(64),
        resamples: 100,
        ..settings()
    };
    let t = paired_test(&a, &b, 1.0, &s).expect("runs");
    assert_eq!(t.test.block_length, 64);
    assert!((t.mean_return.p_value - 1.0 / 101.0).abs() < 1e-12);
    assert!((t.mean_return.ci_low - t.mean_return.difference).abs() < 1e-12);
    assert!((t.mean_return.ci_high - t.mean_return.difference).abs() < 1e-12);
}

#[test]
fn the_same_seed_gives_the_same_result_and_another_seed_another_one() {
    let a = series(200, 5, 0.01);
    let b = series(200, 6, 0.01);
    let first = paired_test(&a, &b, 252.0, &settings()).expect("runs");
    let again = paired_test(&a, &b, 252.0, &settings()).expect("runs");
    assert_eq!(first, again);
    let other = AbTestSettings {
        seed: 43,
        ..settings()
    };
    let different = paired_test(&a, &b, 252.0, &other).expect("runs");
    assert_ne!(first.sharpe.ci_low, different.sharpe.ci_low);
    assert_eq!(first.sharpe.difference, different.sharpe.difference);
}

#[test]
fn the_random_stream_is_fixed_by_the_code() {
    // SplitMix64's reference outputs for seed 0 (Vigna's splitmix64.c).
    let mut rng = SplitMix64::new(0);
    assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
    assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    let mut rng = SplitMix64::new(9);
    assert!((0..1000).all(|_| rng.below(7) < 7));
}

#[test]
fn bad_inputs_are_refused() {
    assert_eq!(
        paired_test(&[0.1, 0.2], &[0.1], 1.0, &settings()),
        Err(AbTestError::Unpaired { a: 2, b: 1 })
    );
    assert_eq!(
        paired_test(&[0.1], &[0.1], 1.0, &settings()),
        Err(AbTestError::TooFewBars(1))
    );
    assert_eq!(
        paired_test(&[0.1, f64::NAN], &[0.1, 0.2], 1.0, &settings()),
        Err(AbTestError::NotFinite)
    );
}

#[test]
fn a_raised_stop_ends_the_resampling() {
    let a = series(100, 1, 0.01);
    let b = series(100, 2, 0.01);
    let raised = || true;
    assert_eq!(
        paired_test_until(&a, &b, 252.0, &settings(), Stop::new(&raised)),
        Err(AbTestError::Stopped)
    );
}
