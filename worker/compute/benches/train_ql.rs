//! Environment steps per second of `train` on 1 and 2 rayon threads.

use std::error::Error;
use std::hint::black_box;
use std::ops::ControlFlow;
use std::time::Duration;

use compute::Stop;
use compute::train::ql::{Market, QlConfig, StateSpec, market, train};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const BARS: usize = 100_000;

/// AR(1) log returns (phi 0.3, sigma 0.01) turned into closes, and the sign of
/// the last return as the signal.
fn series() -> (Vec<f64>, Vec<i8>) {
    let mut rng = SmallRng::seed_from_u64(42);
    let mut gauss = || {
        // Box-Muller.
        let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = rng.random();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    };
    let (mut close, mut signal) = (Vec::with_capacity(BARS), Vec::with_capacity(BARS));
    let (mut price, mut last) = (100.0f64, 0.0f64);
    for t in 0..BARS {
        if t > 0 {
            last = 0.3 * last + 0.01 * gauss();
            price *= last.exp();
        }
        close.push(price);
        signal.push(if last > 0.0 {
            1
        } else if last < 0.0 {
            -1
        } else {
            0
        });
    }
    (close, signal)
}

fn cfg() -> QlConfig {
    QlConfig {
        episodes: 3,
        learning_rate: 0.1,
        discount_factor: 0.9,
        exploration_rate: 0.5,
        min_exploration: 0.05,
        learners: 4,
        seed: 1,
        cost: 0.0005,
    }
}

fn run(threads: usize, m: &Market, signal: &[i8], spec: &StateSpec) -> Result<u64, Box<dyn Error>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let out = pool.install(|| {
        train(m, signal, 0..BARS, spec, &cfg(), Stop::NEVER, |_| {
            ControlFlow::Continue(())
        })
    })?;
    Ok(black_box(out).steps)
}

fn bench(c: &mut Criterion) {
    let (close, signal) = series();
    let spec = StateSpec::fit(&close, 0..BARS, 5, 20, 5, 3);
    let m = market(&close, &spec);
    let mut group = c.benchmark_group("ql_train");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for threads in [1, 2] {
        let steps = run(threads, &m, &signal, &spec).expect("train");
        group.throughput(Throughput::Elements(steps));
        group.bench_with_input(BenchmarkId::new("threads", threads), &threads, |b, &n| {
            b.iter(|| run(n, &m, &signal, &spec).expect("train"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
