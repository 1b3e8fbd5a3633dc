//! How long each long computation takes to return once its stop is raised: the compute share of
//! a job's cancellation latency (BENCHMARKS.md, "Cancellation latency").
//!
//! Every path runs on the calling thread (rayon on the global pool) while a second thread raises
//! the stop at 10%, 20%, ... 90% of the path's uninterrupted run time; the latency is from the
//! raise to the return. The series are the largest a job may have (2,000,000 bars, the dataset
//! row limit) and the networks the widest the training config allows.
//!
//! ```sh
//! cargo run --release -p compute --example stop_latency
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use compute::Stop;
use compute::engine::{Evaluator, Strategy};
use compute::optimize::{Method, StudyConfig, judge_candidate, optimize_tool};
use compute::train::LoadedModel;
use compute::train::dl::{self, DlConfig};
use compute::train::features::{FeatureSpec, Samples, direction_samples};
use compute::train::ql::{self, QlConfig, StateSpec, market};
use domain::dataset::Bars;
use domain::dataset::synth::{GeneratorSpec, generate};
use domain::evaluation::EvalConfig;
use domain::standards::StandardsConfig;
use serde_json::{Map, Value, json};

/// The dataset row limit.
const BARS: usize = 2_000_000;

fn bars(n: usize) -> Bars {
    let spec: GeneratorSpec = serde_json::from_value(json!({
        "kind": "regime_switching", "bars": n, "seed": 7, "interval": "1m"
    }))
    .expect("a valid generator");
    generate(&spec).expect("bars")
}

fn params(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

/// Runs `work` once uninterrupted (its duration), then once per raise point, and prints the
/// row: path, uninterrupted time, median and largest latency.
fn measure<T>(path: &str, work: impl Fn(Stop<'_>) -> T) {
    let started = Instant::now();
    drop(work(Stop::NEVER));
    let full = started.elapsed();
    let mut latencies: Vec<Duration> = (1..10u32)
        .filter_map(|tenth| {
            let raised = AtomicBool::new(false);
            let check = || raised.load(Ordering::Relaxed);
            std::thread::scope(|scope| {
                let raiser = scope.spawn(|| {
                    std::thread::sleep(full * tenth / 10);
                    raised.store(true, Ordering::Relaxed);
                    Instant::now()
                });
                drop(work(Stop::new(&check)));
                let returned = Instant::now();
                let raised_at = raiser.join().expect("the raiser ends");
                // A run that ended before the raise says nothing about the latency.
                (returned > raised_at).then(|| returned - raised_at)
            })
        })
        .collect();
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    match (latencies.get(latencies.len() / 2), latencies.last()) {
        (Some(&median), Some(&max)) => println!(
            "| {path} | {:.0} | {:.2} | {:.2} | {} |",
            ms(full),
            ms(median),
            ms(max),
            latencies.len()
        ),
        _ => println!("| {path} | {:.0} | - | - | 0 |", ms(full)),
    }
}

fn main() {
    println!(
        "rayon threads: {}; load average: {}",
        rayon::current_num_threads(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!("| path | uninterrupted ms | median latency ms | max latency ms | raises |");
    println!("|---|---|---|---|---|");
    let series = bars(BARS);
    let eval = EvalConfig::default();
    let sma = params(json!({"fast": 10, "slow": 30}));

    let strategy = Strategy::from_params("sma_crossover", &sma).expect("strategy");
    measure("evaluation, 2,000,000 bars", |stop| {
        Evaluator::new(&series, eval)
            .expect("evaluator")
            .evaluate_until(&strategy, stop)
    });

    let standards = StandardsConfig::default();
    let candidate = params(json!({"fast": 12, "slow": 40}));
    measure(
        "judgment (promote, verify, an optimization's end), 2,000,000 bars",
        |stop| {
            judge_candidate(
                &series,
                "sma_crossover",
                &sma,
                &candidate,
                None,
                eval,
                &standards,
                1,
                None,
                stop,
            )
        },
    );

    let study = StudyConfig {
        method: Method::Random,
        trials: 32,
        seed: 1,
        batch: 8,
    };
    measure("optimization (cancel), 2,000,000 bars, 32 trials", |stop| {
        optimize_tool(
            &series,
            "sma_crossover",
            &sma,
            None,
            &study,
            eval,
            &standards,
            |_| {},
            Stop::NEVER,
            stop,
        )
    });

    // Q-learning on the training split of the largest dataset, the most learners.
    let train = 0..BARS * 3 / 5;
    let spec = StateSpec::fit(&series.close, train.clone(), 5, 20, 5, 3);
    let env = market(&series.close, &spec);
    let signal: Vec<i8> = series
        .close
        .windows(2)
        .map(|w| if w[1] > w[0] { 1 } else { -1 })
        .chain([0])
        .collect();
    let ql_cfg = QlConfig {
        episodes: 2,
        learning_rate: 0.1,
        discount_factor: 0.9,
        exploration_rate: 0.5,
        min_exploration: 0.05,
        learners: 16,
        seed: 1,
        cost: 0.002,
    };
    measure("Q-learning, 1,200,000 bars, 16 learners", |stop| {
        ql::train(&env, &signal, train.clone(), &spec, &ql_cfg, stop, |_| {
            std::ops::ControlFlow::Continue(())
        })
    });

    // Deep learning: the default network and the widest one with the largest batch.
    let features = FeatureSpec {
        lookback: 64,
        horizon: 1,
        with_direction: false,
    };
    let samples = direction_samples(&series.open, &series.close, &features, 0..200_000);
    let held = direction_samples(&series.open, &series.close, &features, 200_000..210_000);
    let small = DlConfig {
        epochs: 1,
        learning_rate: 1e-3,
        batch_size: 64,
        hidden: vec![32, 16],
        patience: 1,
        seed: 1,
    };
    measure(
        "deep learning, defaults (32-16, batch 64), 200,000 rows",
        |stop| {
            dl::train(&samples, &held, &small, stop, |_| {
                std::ops::ControlFlow::Continue(())
            })
        },
    );
    let widest = DlConfig {
        hidden: vec![512; 4],
        batch_size: 4096,
        ..small
    };
    let some = Samples {
        x: samples.x[..16 * 4096 * samples.width].to_vec(),
        y: samples.y[..16 * 4096].to_vec(),
        bars: samples.bars[..16 * 4096].to_vec(),
        width: samples.width,
    };
    measure(
        "deep learning, widest (4 x 512, batch 4,096), 65,536 rows",
        |stop| {
            dl::train(&some, &held, &widest, stop, |_| {
                std::ops::ControlFlow::Continue(())
            })
        },
    );

    // A learned version's preparation (every evaluation of it): the widest network over every
    // bar, 4,096 rows between checks.
    let net = dl::train(&some, &held, &widest, Stop::NEVER, |_| {
        std::ops::ControlFlow::Continue(())
    })
    .expect("trains")
    .net;
    let model = LoadedModel::Direction { net, features };
    measure("a network's predictions (widest), 2,000,000 bars", |stop| {
        model.prepare_until(&series, stop)
    });
}
