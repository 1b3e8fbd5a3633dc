//! Training throughput of the MLP, mirroring the PyTorch peer benchmark: 32 -> 64 -> ReLU ->
//! 64 -> ReLU -> 1, BCE with logits, Adam (lr 1e-3), 100 000 samples X ~ N(0, 1), labels from a
//! fixed random linear teacher plus 0.5 Gaussian noise (> 0). One iteration = one epoch.

use std::hint::black_box;
use std::ops::ControlFlow;
use std::time::Duration;

use compute::Stop;
use compute::train::dl::{DlConfig, train};
use compute::train::features::Samples;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const WIDTH: usize = 32;
const ROWS: usize = 100_000;

/// Standard normal draw (Box–Muller).
fn normal(rng: &mut StdRng) -> f32 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

fn teacher_samples(rows: usize, teacher: &[f32], rng: &mut StdRng) -> Samples {
    let mut x = Vec::with_capacity(rows * WIDTH);
    let mut y = Vec::with_capacity(rows);
    for _ in 0..rows {
        let row: Vec<f32> = (0..WIDTH).map(|_| normal(rng)).collect();
        let score: f32 = row.iter().zip(teacher).map(|(a, b)| a * b).sum();
        y.push(if score + 0.5 * normal(rng) > 0.0 {
            1.0
        } else {
            0.0
        });
        x.extend(row);
    }
    Samples {
        x,
        y,
        bars: (0..rows).collect(),
        width: WIDTH,
    }
}

fn bench_training(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(7);
    let teacher: Vec<f32> = (0..WIDTH).map(|_| normal(&mut rng)).collect();
    let train_set = teacher_samples(ROWS, &teacher, &mut rng);
    let valid_set = teacher_samples(256, &teacher, &mut rng);

    let mut group = c.benchmark_group("mlp_train_epoch");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(ROWS as u64));
    for batch_size in [256, 32] {
        let cfg = DlConfig {
            epochs: 1,
            learning_rate: 1e-3,
            batch_size,
            hidden: vec![64, 64],
            patience: usize::MAX,
            seed: 1,
        };
        group.bench_function(format!("batch_{batch_size}"), |b| {
            b.iter(|| {
                let out = train(&train_set, &valid_set, &cfg, Stop::NEVER, |_| {
                    ControlFlow::Continue(())
                })
                .expect("training succeeds");
                black_box(out.curve)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_training);
criterion_main!(benches);
