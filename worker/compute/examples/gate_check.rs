//! Checks the standards gate the way a renter meets it, on data of your choosing: each CSV is cut
//! into the renter's data (the first 70% of the bars) and an untouched future (the rest). On the
//! renter's data, every family's default tool is optimized for a session (the session's default
//! folds and costs, the tool's default gate) with each seed; then the optimized parameters and
//! the defaults are both traded on the future. The gate is honest when the records it passes
//! beat the defaults there far more often than records in general do.
//!
//! ```sh
//! cargo run --release -p compute --example gate_check -- data/SP500.csv data/NASDAQ.csv \
//!     [--seeds 1,2] [--trials 100] [--method bayesian] [--families momentum,rsi] [--split 0.7] \
//!     [--folds 4,3] [--dump records.json]
//! ```
//!
//! One line per record (family, series, seed, verdict, failed checks, future Sharpe and trades
//! of both), then the summary: pass rate, the share of passed records that beat the defaults on
//! the future (Sharpe), the same share among all records, and the fewest future trades of a
//! passed record.

use std::time::Instant;

use compute::Stop;
use compute::engine::evaluate;
use compute::optimize::{Method, StudyConfig, optimize_tool};
use domain::SessionConfig;
use domain::dataset::Bars;
use domain::standards::StandardsConfig;
use serde_json::Map;

struct Args {
    files: Vec<String>,
    seeds: Vec<u64>,
    trials: u64,
    method: Method,
    families: Vec<String>,
    split: f64,
    dump: Option<String>,
    folds: Option<(usize, f64)>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        files: Vec::new(),
        seeds: vec![1, 2],
        trials: 100,
        method: Method::Bayesian,
        families: ["momentum", "sma_crossover", "mean_reversion", "rsi"]
            .map(String::from)
            .to_vec(),
        split: 0.7,
        dump: None,
        folds: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--seeds" => {
                args.seeds = value()?
                    .split(',')
                    .map(|s| s.parse().map_err(|_| format!("bad seed {s}")))
                    .collect::<Result<_, _>>()?;
            }
            "--trials" => args.trials = value()?.parse().map_err(|_| "bad --trials")?,
            "--method" => {
                let m = value()?;
                args.method = Method::parse(&m).ok_or(format!("unknown method {m}"))?;
            }
            "--families" => args.families = value()?.split(',').map(String::from).collect(),
            "--split" => args.split = value()?.parse().map_err(|_| "bad --split")?,
            "--dump" => args.dump = Some(value()?),
            "--folds" => {
                let v = value()?;
                let (n, ratio) = v.split_once(',').ok_or("--folds n,in_sample_ratio")?;
                args.folds = Some((
                    n.parse().map_err(|_| "bad fold count")?,
                    ratio.parse().map_err(|_| "bad in-sample ratio")?,
                ));
            }
            f if !f.starts_with("--") => args.files.push(f.to_owned()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if args.files.is_empty() {
        return Err("name at least one CSV file".into());
    }
    Ok(args)
}

fn slice(bars: &Bars, range: std::ops::Range<usize>) -> Bars {
    let mut out = Bars::with_capacity(range.len());
    for i in range {
        out.push(
            bars.time[i],
            bars.open[i],
            bars.high[i],
            bars.low[i],
            bars.close[i],
            bars.volume[i],
        );
    }
    out
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    let mut session = SessionConfig::default();
    if let Some((n, ratio)) = args.folds {
        session.folds.n = n;
        session.folds.in_sample_ratio = ratio;
    }
    let eval = session.eval_config();
    let standards = StandardsConfig::default();
    let (mut records, mut passed, mut beat_all, mut beat_passed) = (0, 0, 0, 0);
    let mut fewest_future_trades: Option<f64> = None;
    let started = Instant::now();
    let mut dump: Vec<serde_json::Value> = Vec::new();
    println!(
        "family\tseries\tseed\tpassed\timprovement\tfailed\tparams_after\tfuture_sharpe_default\tfuture_sharpe_after\tfuture_trades_after"
    );
    for file in &args.files {
        let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
        let bars =
            domain::dataset::csv::parse(&bytes, 10_000_000).map_err(|e| format!("{file}: {e}"))?;
        let cut = (bars.len() as f64 * args.split).round() as usize;
        let (mine, future) = (slice(&bars, 0..cut), slice(&bars, cut..bars.len()));
        let name = std::path::Path::new(file)
            .file_stem()
            .map_or(file.clone(), |s| s.to_string_lossy().into_owned());
        for family in &args.families {
            let schema = domain::families::get(family).ok_or(format!("no family {family}"))?;
            let defaults = schema.defaults();
            for &seed in &args.seeds {
                let study = StudyConfig {
                    method: args.method,
                    trials: args.trials,
                    seed,
                    batch: 8,
                };
                let run = optimize_tool(
                    &mine,
                    family,
                    &defaults,
                    None,
                    &study,
                    eval,
                    &standards,
                    |_| {},
                    Stop::NEVER,
                    Stop::NEVER,
                )
                .map_err(|e| format!("{name} {family}: {e}"))?;
                let future_of = |params: &Map<String, serde_json::Value>| {
                    let strategy = compute::engine::Strategy::from_params(family, params)
                        .map_err(|e| e.to_string())?;
                    evaluate(&future, &strategy, eval)
                        .map(|e| e.overall.metrics)
                        .map_err(|e| e.to_string())
                };
                let before = future_of(&defaults)?;
                let after = future_of(&run.params_after)?;
                let beat = after.sharpe > before.sharpe;
                records += 1;
                beat_all += usize::from(beat);
                if run.report.passed {
                    passed += 1;
                    beat_passed += usize::from(beat);
                    fewest_future_trades = Some(
                        fewest_future_trades.map_or(after.num_trades, |f| f.min(after.num_trades)),
                    );
                }
                if args.dump.is_some() {
                    dump.push(serde_json::json!({
                        "family": family, "series": name, "seed": seed,
                        "params_after": run.params_after,
                        "report": run.report,
                        "before": run.before, "after": run.after,
                        "future_default": before, "future_after": after,
                    }));
                }
                let failed: Vec<String> = run
                    .report
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| match c.value {
                        Some(v) => format!("{}={v:.3}", c.name),
                        None => c.name.clone(),
                    })
                    .collect();
                println!(
                    "{family}\t{name}\t{seed}\t{}\t{:+.3}\t{}\t{}\t{:.3}\t{:.3}\t{}",
                    run.report.passed,
                    run.report.improvement.unwrap_or(f64::NAN),
                    failed.join(","),
                    serde_json::Value::Object(run.params_after.clone()),
                    before.sharpe,
                    after.sharpe,
                    after.num_trades,
                );
            }
        }
    }
    let share = |a: usize, b: usize| {
        if b == 0 {
            "n/a".to_owned()
        } else {
            format!("{:.0}% ({a} of {b})", 100.0 * a as f64 / b as f64)
        }
    };
    println!();
    println!("records: {records}");
    println!("passed: {}", share(passed, records));
    println!(
        "passed records that beat the defaults on the future (Sharpe): {}",
        share(beat_passed, passed)
    );
    println!(
        "all records that beat the defaults on the future (Sharpe): {}",
        share(beat_all, records)
    );
    println!(
        "fewest future trades of a passed record: {}",
        fewest_future_trades.map_or("n/a".to_owned(), |f| f.to_string())
    );
    println!("elapsed: {:.1} s", started.elapsed().as_secs_f64());
    if let Some(path) = args.dump {
        std::fs::write(
            &path,
            serde_json::to_string(&dump).map_err(|e| e.to_string())?,
        )
        .map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(())
}
