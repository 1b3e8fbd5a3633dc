//! The job platform end to end on PostgreSQL + Redis with real `marketplace-worker` processes:
//!
//! - (a) no-op jobs through the platform's own path (a `jobs` row, a message on the Redis
//!   queue, a worker that claims the row and writes the result), 2 worker processes, worker
//!   concurrency 4 and 8 per process. Two scenarios, as the Celery peer benchmark
//!   (/work/shared/bench/peers, RESULTS.md section 4):
//!   - *concurrent*: workers started and warmed with 200 jobs; N jobs enqueued one call per
//!     job (store `create_job` + queue `push`, as the API's `enqueue` does) from several tasks
//!     while the workers consume; end-to-end jobs/s from the first enqueue to the last
//!     completion. Enqueueing pauses while more than `MAX_BACKLOG` jobs wait (apalis-redis
//!     workers are known to crash on backlogs of about 8,000).
//!   - *prefilled*: N jobs enqueued with no worker running, then the workers start; drain
//!     jobs/s from the first completion to the last.
//! - (b) evaluation jobs (sma_crossover on a 2,000-bar synthetic GBM dataset) with 1, 2 and 4
//!   worker processes of concurrency 2.
//! - (c) enqueue latency of `POST /v1/admin/jobs` through HTTP, the API in this process in
//!   distributed mode (no embedded worker): sequential requests and 16 concurrent clients.
//!
//! - (d) pickup latency of an idle worker (`platform/latency.rs`).
//!
//! Completion is seen by polling the store's `queue_counts()`. Every scenario runs on a fresh
//! database and a fresh queue prefix; both are removed afterwards.
//!
//! ```text
//! cargo build --release -p worker --bin marketplace-worker
//! cargo bench -p tests --bench platform
//! ```
//!
//! Environment: `DATABASE_URL` (an admin URL; default `postgres://postgres@127.0.0.1:5432/postgres`),
//! `REDIS_URL` (default `redis://127.0.0.1:6379`), `PLATFORM_N` (no-op jobs, default 10,000),
//! `PLATFORM_REPS` (repetitions of each no-op scenario, default 3), `PLATFORM_EVAL_N`
//! (default 500), `PLATFORM_HTTP_N` (requests per HTTP phase, default 2,000),
//! `PLATFORM_LATENCY_N` (default 300), `PLATFORM_ONLY` (comma-separated subset of
//! `noop,eval,http,latency`; `drain` runs only the prefilled no-op scenario), `PLATFORM_BATCH` (jobs per enqueue call in (a): 1, the default,
//! is the one-job enqueue; more is `enqueue_many`, the batch endpoints' path),
//! `PLATFORM_CONCURRENCY` (worker concurrencies of (a), default `4,8`), `PLATFORM_WORKER_LOG`
//! (the workers' `RUST_LOG`, default `warn`; when set, (b) counts the first worker's claims that
//! found nothing and keeps its log as `worker0-<processes>x<slots>.log` in the system's
//! temporary directory: with `sqlx::query=debug` it times every statement).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::Utc;
use platform::Platform;
use serde_json::{Value, json};
use shared::config::{DatabaseSettings, Settings};
use shared::dataset::synth::{self, GeneratorKind, GeneratorSpec};
use shared::domain::account::PLATFORM_ACCOUNT_ID;
use shared::domain::{DatasetSource, Money, Tier};
use shared::evaluation::EvalConfig;
use shared::jobs::{EvaluateToolJob, JobKind, JobPayload, NoopJob};
use shared::store::{NewApiKey, NewDataset, NewTool, Store};
use sqlx::Connection;
use uuid::Uuid;

#[path = "platform/eval.rs"]
mod eval;
#[path = "platform/http.rs"]
mod http;
#[path = "platform/latency.rs"]
mod latency;
#[path = "platform/noop.rs"]
mod noop;
#[path = "platform/world.rs"]
mod world;

use eval::*;
use http::*;
use noop::*;
use world::*;

/// Most jobs enqueued but not finished in the concurrent scenario (the Redis queue's depth
/// stays below this).
const MAX_BACKLOG: u64 = 4_000;
/// Tasks enqueueing at once in the concurrent scenarios.
const ENQUEUERS: usize = 8;
/// A run fails when no job finishes for this long.
const STALL: Duration = Duration::from_secs(60);
/// Completion polling interval (`queue_counts()` is a `GROUP BY` over the whole jobs table).
const POLL: Duration = Duration::from_millis(20);
const ADMIN_KEY: &str = "bench-admin-key-0123456789";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn range(v: &[f64]) -> String {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{lo:.0}-{hi:.0}")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let n: u64 = env_or("PLATFORM_N", 10_000);
    let reps: usize = env_or("PLATFORM_REPS", 3);
    let eval_n: u64 = env_or("PLATFORM_EVAL_N", 500);
    let http_n: usize = env_or("PLATFORM_HTTP_N", 2_000);
    let latency_n: u64 = env_or("PLATFORM_LATENCY_N", 300);
    let batch: u64 = env_or("PLATFORM_BATCH", 1);
    let concurrencies: Vec<usize> = std::env::var("PLATFORM_CONCURRENCY")
        .unwrap_or_else(|_| "4,8".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let only = std::env::var("PLATFORM_ONLY").unwrap_or_else(|_| "noop,eval,http,latency".into());
    let wants = |s: &str| only.split(',').any(|o| o.trim() == s);
    let bin = worker_binary()?;
    println!(
        "platform bench: PostgreSQL {} (admin), Redis {redis_url}, worker {}, load average {}",
        shared::config::redact_url(&base),
        bin.display(),
        loadavg()
    );
    let mut table: Vec<String> = Vec::new();

    // `drain`: only the prefilled no-op scenario (for a deep backlog such as 1,000,000 jobs).
    let drain_only = wants("drain") && !wants("noop");
    if wants("noop") || drain_only {
        println!(
            "(a) {n} no-op jobs, 2 worker processes, {reps} rep(s) per scenario, {ENQUEUERS} enqueue tasks, {batch} job(s) per enqueue call"
        );
        for concurrency in concurrencies.iter().copied() {
            let mut conc = Vec::new();
            for _ in 0..reps {
                if drain_only {
                    break;
                }
                conc.push(noop_concurrent(&base, &redis_url, &bin, n, concurrency).await?);
            }
            let e2e: Vec<f64> = conc.iter().map(|r| r.e2e_rate).collect();
            let enq: Vec<f64> = conc.iter().map(|r| r.enqueue_rate).collect();
            let tail: Vec<f64> = conc.iter().map(|r| r.tail_s).collect();
            let pauses: u64 = conc.iter().map(|r| r.pauses).sum();
            if !drain_only {
                table.push(format!(
                "| no-op concurrent, 2 x c={concurrency} | enqueue {:.0} ({}) | end-to-end **{:.0}** ({}) jobs/s | tail {:.2} s, back-pressure pauses {pauses} |",
                median(&enq),
                range(&enq),
                median(&e2e),
                range(&e2e),
                median(&tail)
            ));
            }
            let mut pre = Vec::new();
            let mut pre_n = n;
            for _ in 0..reps {
                match noop_prefilled(&base, &redis_url, &bin, pre_n, concurrency).await {
                    Ok(r) => pre.push(r),
                    Err(e) if pre_n > 5_000 => {
                        println!(
                            "    prefilled  c={concurrency} with N={pre_n} FAILED: {e:#}\n    retrying with N=5000"
                        );
                        table.push(format!(
                            "| no-op prefilled, 2 x c={concurrency}, N={pre_n} | FAILED: {} | | |",
                            format!("{e}").lines().next().unwrap_or_default()
                        ));
                        pre_n = 5_000;
                        pre.clear();
                        pre.push(
                            noop_prefilled(&base, &redis_url, &bin, pre_n, concurrency).await?,
                        );
                    }
                    Err(e) => return Err(e),
                }
            }
            let drain: Vec<f64> = pre.iter().map(|r| r.drain_rate).collect();
            let enq: Vec<f64> = pre.iter().map(|r| r.enqueue_rate).collect();
            let s2l: Vec<f64> = pre.iter().map(|r| r.start_to_last_s).collect();
            table.push(format!(
                "| no-op prefilled, 2 x c={concurrency}, N={pre_n} | enqueue {:.0} ({}) | drain **{:.0}** ({}) jobs/s | worker start to last {:.2} s |",
                median(&enq),
                range(&enq),
                median(&drain),
                range(&drain),
                median(&s2l)
            ));
        }
    }

    if wants("eval") {
        println!(
            "(b) {eval_n} evaluation jobs (sma_crossover, 2,000 bars), concurrency 2 per process"
        );
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        for (processes, slots) in [(1usize, 2usize), (1, 4), (2, 2), (4, 2)] {
            let r = evaluations(&base, &redis_url, &bin, eval_n, processes, slots).await?;
            // What the workers' own CPU time per job allows on this machine's cores (their
            // slots permitting): the database's and Redis' CPU share is not subtracted. And
            // what the whole machine's busy time per job allows on all its cores: the share
            // of it reached says how far the machine itself was from saturated.
            let allowed = (processes * slots).min(cores) as f64 * 1000.0 / r.cpu_ms_per_job;
            let machine_allows = cores as f64 * 1000.0 / r.machine_ms_per_job;
            table.push(format!(
                "| evaluate, {} process(es) x c={}, N={eval_n} | | **{:.1}** jobs/s ({:.2} s) | worker CPU {:.2} ms/job, so {:.0} jobs/s allowed: {:.0}% of it; machine CPU {:.2} ms/job ({:.0}% of its {cores} cores busy); mean claim-to-finish {:.1} ms |",
                r.processes,
                r.slots,
                r.rate,
                r.seconds,
                r.cpu_ms_per_job,
                allowed,
                100.0 * r.rate / allowed,
                r.machine_ms_per_job,
                100.0 * r.rate / machine_allows,
                r.mean_job_ms
            ));
        }
    }

    if wants("http") {
        println!(
            "(c) POST /v1/admin/jobs, {http_n} requests per phase, API in-process (distributed mode)"
        );
        for r in http_enqueue(&base, &redis_url, http_n).await? {
            table.push(format!(
                "| HTTP enqueue, {} | {:.0} requests/s | p50 {:.2} ms, p99 {:.2} ms | max {:.2} ms |",
                r.label, r.rate, r.p50_ms, r.p99_ms, r.max_ms
            ));
        }
    }

    if wants("latency") {
        println!("(d) pickup latency of an idle worker, {latency_n} jobs");
        let r = latency::pickup(&base, &redis_url, &bin, latency_n).await?;
        table.push(format!(
            "| pickup, 1 idle process x c=2, N={} | | p50 **{:.2}** ms, p99 **{:.2}** ms | max {:.2} ms |",
            r.n, r.p50_ms, r.p99_ms, r.max_ms
        ));
    }

    println!("\n| scenario | enqueue | throughput / latency | notes |\n|---|---|---|---|");
    for row in &table {
        println!("{row}");
    }
    println!("load average at the end: {}", loadavg());
    Ok(())
}
