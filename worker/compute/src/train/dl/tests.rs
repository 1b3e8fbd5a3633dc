use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::super::features::Samples;
use super::*;

/// Deterministic uniform numbers in [-1, 1).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// Linearly separable set: label = [w·x + 0.3 > 0]; or pure noise labels when `noise`.
fn synthetic(rows: usize, width: usize, seed: u64, noise: bool) -> Samples {
    let mut rng = Lcg(seed);
    let weights: Vec<f32> = (0..width).map(|i| 1.0 - 0.3 * i as f32).collect();
    let mut x = Vec::with_capacity(rows * width);
    let mut y = Vec::with_capacity(rows);
    for _ in 0..rows {
        let row: Vec<f32> = (0..width).map(|_| rng.next() * 3.0 + 1.0).collect();
        let score: f32 = row.iter().zip(&weights).map(|(a, b)| (a - 1.0) * b).sum();
        let label = if noise {
            rng.next() > 0.0
        } else {
            score + 0.3 > 0.0
        };
        x.extend(row);
        y.push(if label { 1.0 } else { 0.0 });
    }
    Samples {
        x,
        y,
        bars: (0..rows).collect(),
        width,
    }
}

fn config(epochs: usize, hidden: Vec<usize>, patience: usize, seed: u64) -> DlConfig {
    DlConfig {
        epochs,
        learning_rate: 1e-2,
        batch_size: 32,
        hidden,
        patience,
        seed,
    }
}

fn go() -> impl FnMut(&EpochStats) -> ControlFlow<()> {
    |_| ControlFlow::Continue(())
}

#[test]
fn early_stopping_verdicts() {
    let mut es = EarlyStopping::new(2);
    assert_eq!(es.best_epoch(), None);
    assert_eq!(es.update(1, 1.0), Verdict::Improved);
    assert_eq!(es.update(2, 0.8), Verdict::Improved);
    assert_eq!(es.update(3, 0.9), Verdict::Continue);
    assert_eq!(es.update(4, 0.85), Verdict::Stop);
    assert_eq!(es.best_epoch(), Some(2));
    assert_eq!(es.best_loss(), Some(0.8));

    let mut es = EarlyStopping::new(2);
    assert_eq!(es.update(1, f64::NAN), Verdict::Continue);
    assert_eq!(es.update(2, 0.5), Verdict::Improved);
    assert_eq!(es.update(3, 0.5), Verdict::Continue, "equal is not better");
    assert_eq!(
        es.update(4, 0.4),
        Verdict::Improved,
        "improvement resets patience"
    );
    assert_eq!(es.update(5, 0.45), Verdict::Continue);
    assert_eq!(es.update(6, f64::INFINITY), Verdict::Stop);
    assert_eq!(es.best_epoch(), Some(4));

    let mut es = EarlyStopping::new(0);
    assert_eq!(es.update(1, 1.0), Verdict::Improved);
    assert_eq!(es.update(2, 1.0), Verdict::Stop);
}

#[test]
fn trained_mlp_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<TrainedMlp>();
    assert_send::<DlOutcome>();
}

#[test]
fn learns_a_linearly_separable_set() {
    let train_set = synthetic(2000, 4, 1, false);
    let valid_set = synthetic(500, 4, 2, false);
    let out = train(
        &train_set,
        &valid_set,
        &config(15, vec![16], 20, 7),
        Stop::NEVER,
        go(),
    )
    .expect("train");
    let best = &out.curve[out.best_epoch - 1];
    assert!(best.validation_loss < 0.25, "{:?}", out.curve);
    assert!(out.curve[0].train_loss > best.train_loss);
    let probs = out.net.predict(&valid_set.x);
    assert_eq!(probs.len(), valid_set.len());
    let correct = probs
        .iter()
        .zip(&valid_set.y)
        .filter(|(p, y)| (**p > 0.5) == (**y > 0.5))
        .count();
    let accuracy = correct as f64 / valid_set.len() as f64;
    assert!(accuracy > 0.9, "accuracy {accuracy}");
    assert_eq!(out.samples_seen, 2000 * out.curve.len() as u64);
    let meta = out.net.meta();
    assert_eq!(meta.parameters, 4 * 16 + 16 + 16 + 1);
    assert_eq!(meta.parameters, out.net.model.num_params());
    assert_eq!(out.net.shapes(), vec![[4, 16], [16, 1]]);
    // Standardization comes from the training rows (features centred near 1, spread ~1.7).
    assert!(
        meta.mean.iter().all(|m| (m - 1.0).abs() < 0.2),
        "{:?}",
        meta.mean
    );
    assert!(
        meta.std.iter().all(|s| (s - 1.73).abs() < 0.2),
        "{:?}",
        meta.std
    );
}

#[test]
fn deterministic_for_a_seed() {
    let train_set = synthetic(600, 5, 3, false);
    let valid_set = synthetic(200, 5, 4, false);
    let cfg = config(4, vec![8, 8], 10, 42);
    let a = train(&train_set, &valid_set, &cfg, Stop::NEVER, go()).expect("train a");
    let b = train(&train_set, &valid_set, &cfg, Stop::NEVER, go()).expect("train b");
    assert_eq!(a.curve, b.curve);
    assert_eq!(a.net.to_bytes(), b.net.to_bytes());
    let other = DlConfig { seed: 43, ..cfg };
    let c = train(&train_set, &valid_set, &other, Stop::NEVER, go()).expect("train c");
    assert_ne!(a.net.to_bytes(), c.net.to_bytes(), "the seed matters");
}

#[test]
fn bytes_round_trip_and_rejections() {
    let train_set = synthetic(300, 3, 5, false);
    let valid_set = synthetic(100, 3, 6, false);
    let out = train(
        &train_set,
        &valid_set,
        &config(2, vec![6], 5, 1),
        Stop::NEVER,
        go(),
    )
    .expect("train");
    let bytes = out.net.to_bytes();
    let meta = out.net.meta().clone();
    let back = TrainedMlp::from_bytes(meta.clone(), &bytes).expect("round trip");
    assert_eq!(back.predict(&valid_set.x), out.net.predict(&valid_set.x));
    assert_eq!(back.to_bytes(), bytes);

    let garbage: [&[u8]; 4] = [&[], &[1, 2, 3], &[0xFF; 4096], &bytes[..bytes.len() / 2]];
    for g in garbage {
        assert!(matches!(
            TrainedMlp::from_bytes(meta.clone(), g),
            Err(DlError::Weights(_))
        ));
    }
    let wider = MlpMeta {
        hidden: vec![7],
        parameters: 3 * 7 + 7 + 7 + 1,
        ..meta.clone()
    };
    assert!(matches!(
        TrainedMlp::from_bytes(wider, &bytes),
        Err(DlError::Weights(_))
    ));
    let deeper = MlpMeta {
        hidden: vec![6, 6],
        parameters: 3 * 6 + 6 + 6 * 6 + 6 + 6 + 1,
        ..meta.clone()
    };
    assert!(TrainedMlp::from_bytes(deeper, &bytes).is_err());
    let bad_count = MlpMeta {
        parameters: 1,
        ..meta.clone()
    };
    assert!(TrainedMlp::from_bytes(bad_count, &bytes).is_err());
    let bad_std = MlpMeta {
        std: vec![0.0; 3],
        ..meta
    };
    assert!(TrainedMlp::from_bytes(bad_std, &bytes).is_err());
}

#[test]
fn predict_chunks_match_single_rows() {
    let train_set = synthetic(200, 3, 9, false);
    let big = synthetic(5000, 3, 10, false);
    let out = train(
        &train_set,
        &train_set,
        &config(1, vec![4], 1, 3),
        Stop::NEVER,
        go(),
    )
    .expect("train");
    let all = out.net.predict(&big.x);
    assert_eq!(all.len(), 5000);
    for row in [0, 4095, 4096, 4999] {
        let single = out.net.predict(&big.x[row * 3..(row + 1) * 3]);
        assert!((single[0] - all[row]).abs() < 1e-6);
    }
    assert!(out.net.predict(&[]).is_empty());
}

#[test]
fn on_epoch_break_cancels() {
    let s = synthetic(100, 2, 11, false);
    let mut calls = 0;
    let res = train(&s, &s, &config(10, vec![4], 10, 1), Stop::NEVER, |stats| {
        calls += 1;
        assert_eq!(stats.epoch, calls);
        if calls == 2 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert!(matches!(res, Err(DlError::Canceled)));
    assert_eq!(calls, 2);
}

#[test]
fn stops_early_when_validation_loss_rises() {
    let train_set = synthetic(200, 6, 12, true);
    let valid_set = synthetic(200, 6, 13, true);
    let cfg = DlConfig {
        learning_rate: 3e-3,
        ..config(200, vec![128, 128], 5, 2)
    };
    let out = train(&train_set, &valid_set, &cfg, Stop::NEVER, go()).expect("train");
    assert!(out.stopped_early, "{:?}", out.curve);
    assert!(out.best_epoch < out.curve.len());
    assert_eq!(out.curve.len(), out.best_epoch + 5);
    let best = out.curve[out.best_epoch - 1].validation_loss;
    let last = out.curve[out.curve.len() - 1].validation_loss;
    assert!(last > best);
    // Memorizing noise: the training loss keeps falling below the best validation loss.
    assert!(out.curve[out.curve.len() - 1].train_loss < best);
}

#[test]
fn rejects_bad_inputs() {
    let s = synthetic(50, 3, 14, false);
    let empty = Samples {
        width: 3,
        ..Samples::default()
    };
    let cfg = config(1, vec![4], 1, 1);
    assert!(matches!(
        train(&empty, &s, &cfg, Stop::NEVER, go()),
        Err(DlError::NoSamples { split: "train" })
    ));
    assert!(matches!(
        train(&s, &empty, &cfg, Stop::NEVER, go()),
        Err(DlError::NoSamples {
            split: "validation"
        })
    ));
    let narrow = synthetic(50, 2, 15, false);
    assert!(matches!(
        train(&s, &narrow, &cfg, Stop::NEVER, go()),
        Err(DlError::Invalid(_))
    ));
    let zero_layer = config(1, vec![0], 1, 1);
    assert!(matches!(
        train(&s, &s, &zero_layer, Stop::NEVER, go()),
        Err(DlError::Invalid(_))
    ));
    let mut nan = s.clone();
    nan.x[4] = f32::NAN;
    assert!(matches!(
        train(&nan, &s, &cfg, Stop::NEVER, go()),
        Err(DlError::Invalid(_))
    ));
}

#[test]
fn trains_on_feature_samples() {
    use super::super::features::{FeatureSpec, direction_samples};
    let mut close = Vec::with_capacity(700);
    let mut price = 50.0_f64;
    let mut rng = Lcg(21);
    for _ in 0..700 {
        price *= (0.01 * f64::from(rng.next())).exp();
        close.push(price);
    }
    let open: Vec<f64> = std::iter::once(50.0)
        .chain(close[..699].iter().copied())
        .collect();
    let spec = FeatureSpec {
        lookback: 8,
        horizon: 3,
        with_direction: false,
    };
    let fit = direction_samples(&open, &close, &spec, 0..500);
    let hold = direction_samples(&open, &close, &spec, 500..700);
    let out = train(&fit, &hold, &config(3, vec![8], 3, 5), Stop::NEVER, go()).expect("train");
    let probs = out.net.predict(&hold.x);
    assert_eq!(probs.len(), hold.len());
    assert!(probs.iter().all(|p| (0.0..=1.0).contains(p)));
}

/// Bit-identical results whatever the rayon pool size, with matrices large enough for flex to
/// run its matmuls multi-threaded (M·N·K ≥ 192³).
#[test]
fn deterministic_across_thread_counts() {
    let train_set = synthetic(4096, 16, 16, false);
    let valid_set = synthetic(4500, 16, 17, false);
    let cfg = DlConfig {
        batch_size: 2048,
        ..config(2, vec![128, 128], 5, 9)
    };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        pool.install(|| train(&train_set, &valid_set, &cfg, Stop::NEVER, go()).expect("train"))
    };
    let single = run(1);
    let multi = run(4);
    assert_eq!(single.curve, multi.curve);
    assert_eq!(single.net.to_bytes(), multi.net.to_bytes());
}

/// A stop raised inside the first epoch ends training at the next mini-batch: the check before
/// batch 11 sees it, no batch runs after it, and no epoch ends.
#[test]
fn a_stop_raised_mid_epoch_ends_training_before_the_next_batch() {
    // Arrange: an epoch of 250 batches; the stop is raised from the 11th check on.
    let train_set = synthetic(2_000, 4, 19, false);
    let valid_set = synthetic(100, 4, 20, false);
    let cfg = DlConfig {
        batch_size: 8,
        ..config(3, vec![8], 3, 1)
    };
    let checks = AtomicUsize::new(0);
    let check = || checks.fetch_add(1, Ordering::Relaxed) >= 10;
    let mut epochs = 0;

    // Act
    let result = train(&train_set, &valid_set, &cfg, Stop::new(&check), |_| {
        epochs += 1;
        ControlFlow::Continue(())
    });

    // Assert
    assert!(matches!(result, Err(DlError::Canceled)), "{result:?}");
    assert_eq!(epochs, 0, "stopped inside the first epoch, not at its end");
    assert_eq!(
        checks.load(Ordering::Relaxed),
        11,
        "the check before each batch stops it; none runs after the stop"
    );
}

/// A stop raised from another thread, as the worker's runtime does, ends training within the
/// mini-batch running when it was raised, inside the epoch.
#[test]
fn a_stop_raised_from_another_thread_ends_training_within_one_batch() {
    // Arrange: epochs of 256 batches of 256 rows through a 128-128 network.
    let train_set = synthetic(256 * 256, 16, 21, false);
    let valid_set = synthetic(256, 16, 22, false);
    let cfg = DlConfig {
        batch_size: 256,
        ..config(50, vec![128, 128], 50, 3)
    };
    let raised = AtomicBool::new(false);
    let checks = Mutex::new(Vec::<Instant>::new());
    let check = || {
        checks.lock().expect("not poisoned").push(Instant::now());
        raised.load(Ordering::Relaxed)
    };
    let mut epochs = 0;

    // Act: raised once four batches have started.
    let (result, raised_at, returned_at) = std::thread::scope(|scope| {
        let raiser = scope.spawn(|| {
            while checks.lock().expect("not poisoned").len() < 4 {
                std::thread::sleep(Duration::from_millis(1));
            }
            raised.store(true, Ordering::Relaxed);
            Instant::now()
        });
        let result = train(&train_set, &valid_set, &cfg, Stop::new(&check), |_| {
            epochs += 1;
            ControlFlow::Continue(())
        });
        let returned_at = Instant::now();
        (result, raiser.join().expect("raiser"), returned_at)
    });

    // Assert
    assert!(matches!(result, Err(DlError::Canceled)), "{result:?}");
    assert_eq!(epochs, 0, "stopped inside the first epoch");
    let checks = checks.into_inner().expect("not poisoned");
    assert!(
        checks.iter().filter(|&&t| t > raised_at).count() <= 1,
        "one check at most after the stop was raised"
    );
    let longest_batch = checks
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .expect("several checks");
    let latency = returned_at.saturating_duration_since(raised_at);
    println!("stop latency {latency:?}, longest batch {longest_batch:?}");
    assert!(
        latency <= longest_batch + Duration::from_millis(50),
        "stopped {latency:?} after the stop; a batch takes up to {longest_batch:?}"
    );
}
