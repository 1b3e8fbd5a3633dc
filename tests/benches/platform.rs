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

#[path = "platform/latency.rs"]
mod latency;

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

/// The `marketplace-worker` release binary next to this bench's executable
/// (`target/release/deps/platform-*` -> `target/release/marketplace-worker`).
fn worker_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the bench executable")?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the bench executable has no grandparent directory")?;
    let bin = dir.join(format!(
        "marketplace-worker{}",
        std::env::consts::EXE_SUFFIX
    ));
    if !bin.is_file() {
        bail!(
            "{} is missing: build it first with `cargo build --release -p worker --bin marketplace-worker` \
             (same CARGO_TARGET_DIR as this bench)",
            bin.display()
        );
    }
    Ok(bin)
}

/// One scenario's world: a fresh database (dropped afterwards), a fresh queue prefix (its
/// Redis keys deleted afterwards), the store and the job platform.
struct World {
    admin_url: String,
    db_name: String,
    url: String,
    redis_url: String,
    prefix: String,
    store: Arc<dyn Store>,
    platform: Platform,
    pool: sqlx::PgPool,
    logs: tempfile::TempDir,
    /// Jobs per enqueue call (`PLATFORM_BATCH`): 1 is the API's one-job `enqueue`, more is
    /// `enqueue_many` (the batch endpoints' path: one transaction, one bulk push).
    batch: u64,
}

impl World {
    async fn new(admin_url: &str, redis_url: &str) -> anyhow::Result<Self> {
        let db_name = format!("bench_{}", Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(admin_url)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {admin_url}"))?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{db_name}\""
        )))
        .execute(&mut admin)
        .await?;
        let _ = admin.close().await;
        let url = format!(
            "{}/{db_name}",
            admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b)
        );
        let prefix = format!("bench:{}", Uuid::new_v4().simple());
        let settings = Self::settings_for(&url, redis_url, &prefix)?;
        let store = shared::store::connect(&DatabaseSettings {
            url: url.clone().into(),
            max_connections: 16,
        })
        .await?;
        let platform = tokio::time::timeout(Duration::from_secs(5), Platform::connect(&settings))
            .await
            .with_context(|| format!("Redis at {redis_url} did not answer within 5 s"))?
            .with_context(|| format!("connecting to Redis at {redis_url}"))?;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await?;
        Ok(Self {
            admin_url: admin_url.to_owned(),
            db_name,
            url,
            redis_url: redis_url.to_owned(),
            prefix,
            store,
            platform,
            pool,
            logs: tempfile::tempdir()?,
            batch: env_or("PLATFORM_BATCH", 1u64).max(1),
        })
    }

    fn settings_for(url: &str, redis_url: &str, prefix: &str) -> anyhow::Result<Settings> {
        let env: HashMap<String, String> = [
            ("DATABASE_URL", url),
            ("REDIS_URL", redis_url),
            ("MARKETPLACE_QUEUE_PREFIX", prefix),
            ("MARKETPLACE_ADMIN_KEY", ADMIN_KEY),
            ("MARKETPLACE_BIND", "127.0.0.1:0"),
            // Throughput, not the per-account quota, is measured here.
            ("MARKETPLACE_QUEUE_MAX_ACTIVE_PER_ACCOUNT", "1000000000"),
            ("MARKETPLACE_QUEUE_COMPUTE_SECS_PER_DAY", "0"),
            ("MARKETPLACE_RATE_LIMIT_PER_SEC", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Ok(Settings::load(&env)?)
    }

    fn settings(&self) -> anyhow::Result<Settings> {
        Self::settings_for(&self.url, &self.redis_url, &self.prefix)
    }

    fn spawn_worker(
        &self,
        bin: &Path,
        n: usize,
        concurrency: usize,
        queue: &str,
    ) -> anyhow::Result<WorkerProcess> {
        let log_path = self.logs.path().join(format!("worker-{n}.log"));
        let log = std::fs::File::create(&log_path)?;
        let child = Command::new(bin)
            .args(["--concurrency", &concurrency.to_string(), "--queues", queue])
            .env("DATABASE_URL", &self.url)
            .env("REDIS_URL", &self.redis_url)
            .env("MARKETPLACE_QUEUE_PREFIX", &self.prefix)
            .env("MARKETPLACE_LOG_FORMAT", "json")
            // Like the Celery peer's `--loglevel WARNING`: no line per job.
            .env(
                "RUST_LOG",
                std::env::var("PLATFORM_WORKER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Ok(WorkerProcess {
            child,
            log: log_path,
        })
    }

    /// Queues a job with the platform's one enqueue, as the API does.
    async fn enqueue(&self, kind: JobKind, owner: Uuid, payload: Value) -> anyhow::Result<()> {
        let payload = JobPayload::from_stored(kind, &payload)?;
        self.platform
            .enqueue(self.store.as_ref(), owner, payload, 0, Utc::now())
            .await?;
        Ok(())
    }

    /// Queues `count` jobs with one call: the one-job enqueue, or `enqueue_many`.
    async fn enqueue_n(
        &self,
        kind: JobKind,
        owner: Uuid,
        payload: &Value,
        count: u64,
    ) -> anyhow::Result<()> {
        if count == 1 {
            return self.enqueue(kind, owner, payload.clone()).await;
        }
        let payloads = (0..count)
            .map(|_| JobPayload::from_stored(kind, payload))
            .collect::<Result<Vec<_>, _>>()?;
        self.platform
            .enqueue_many(self.store.as_ref(), owner, payloads, 0, Utc::now())
            .await?;
        Ok(())
    }

    /// Finished jobs (succeeded + failed + canceled) of a kind, and of those, failed.
    async fn finished(&self, kind: JobKind) -> anyhow::Result<(u64, u64)> {
        let counts = self.store.queue_counts().await?;
        let c = counts
            .iter()
            .find(|c| c.queue == kind.queue())
            .context("queue_counts lists every kind")?;
        let done = c.succeeded + c.failed + c.canceled;
        Ok((
            u64::try_from(done).unwrap_or(0),
            u64::try_from(c.failed).unwrap_or(0),
        ))
    }

    /// Polls `queue_counts()` until `target` jobs of `kind` finished; returns the times of the
    /// first and of the last completion seen and the count at the first. `progress` (when
    /// given) is kept up to date for the enqueuers' back-pressure.
    async fn track(
        &self,
        kind: JobKind,
        target: u64,
        progress: Option<&AtomicU64>,
        workers: &mut [WorkerProcess],
    ) -> anyhow::Result<Tracked> {
        let mut first: Option<(Instant, u64)> = None;
        let mut last_change = Instant::now();
        let mut last_count = 0;
        let (mut polls, mut poll_time) = (0u32, Duration::ZERO);
        loop {
            let before = Instant::now();
            let (done, failed) = self.finished(kind).await?;
            let now = Instant::now();
            polls += 1;
            poll_time += now - before;
            if let Some(p) = progress {
                p.store(done, Ordering::Relaxed);
            }
            if done > 0 && first.is_none() {
                first = Some((now, done));
            }
            if done != last_count {
                last_count = done;
                last_change = now;
            }
            if done >= target {
                let (t_first, c_first) = first.unwrap_or((now, done));
                return Ok(Tracked {
                    t_first,
                    c_first,
                    t_last: now,
                    failed,
                    poll_ms: poll_time.as_secs_f64() * 1000.0 / f64::from(polls.max(1)),
                });
            }
            for w in workers.iter_mut() {
                if let Some(status) = w.child.try_wait()? {
                    bail!(
                        "a worker exited ({status}) with {done} of {target} jobs finished\n{}",
                        w.log_tail()
                    );
                }
            }
            if now - last_change > STALL {
                let tails: Vec<String> = workers.iter().map(WorkerProcess::log_tail).collect();
                bail!(
                    "stalled: {done} of {target} jobs finished, none for {STALL:?}\n{}",
                    tails.join("\n")
                );
            }
            // A count over a deep table takes a while: poll less often then, so the bench's
            // own queries stay a small share of the database's work.
            tokio::time::sleep(POLL.max((now - before) * 4)).await;
        }
    }

    /// Jobs of a kind run more than once, and jobs whose message was pushed again by the
    /// recovery sweep (delivered later than created).
    async fn audit(&self, kind: JobKind) -> anyhow::Result<(i64, i64)> {
        let (retried, redelivered): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE attempts > 1), \
                    COUNT(*) FILTER (WHERE delivered_at > created_at + interval '1 second') \
             FROM jobs WHERE kind = $1",
        )
        .bind(kind.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok((retried, redelivered))
    }

    /// Drops the database and the queue prefix's Redis keys.
    async fn close(self, workers: Vec<WorkerProcess>) {
        for w in workers {
            w.stop().await;
        }
        if let Ok(client) = redis::Client::open(self.redis_url.as_str())
            && let Ok(mut conn) = client.get_multiplexed_async_connection().await
        {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{}*", self.prefix))
                .query_async(&mut conn)
                .await
                .unwrap_or_default();
            for chunk in keys.chunks(500) {
                let _: Result<i64, _> = redis::cmd("DEL").arg(chunk).query_async(&mut conn).await;
            }
        }
        self.pool.close().await;
        drop(self.store);
        drop(self.platform);
        if let Ok(mut c) = sqlx::PgConnection::connect(&self.admin_url).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.db_name
            )))
            .execute(&mut c)
            .await;
        }
    }
}

struct Tracked {
    t_first: Instant,
    c_first: u64,
    t_last: Instant,
    failed: u64,
    /// Mean time of one `queue_counts()` poll.
    poll_ms: f64,
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`, 100 when it cannot be read).
fn clock_ticks_per_sec() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// CPU seconds the whole machine has spent busy so far (every process: workers, PostgreSQL,
/// Redis, this bench), from `/proc/stat`'s `cpu` line (all but idle and iowait).
fn machine_busy_secs() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().context("a /proc/stat cpu line")?;
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    ensure!(
        ticks.len() >= 5,
        "a /proc/stat cpu line with idle and iowait"
    );
    let busy: f64 = ticks.iter().sum::<f64>() - ticks[3] - ticks[4];
    Ok(busy / clock_ticks_per_sec())
}

/// A `marketplace-worker` process, killed when dropped.
struct WorkerProcess {
    child: Child,
    log: PathBuf,
}

impl WorkerProcess {
    /// The process's log (kept in the bench's temporary directory).
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// CPU seconds (user + system) the process has used so far, from `/proc`.
    fn cpu_secs(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        let after_name = stat.rsplit_once(')').context("a /proc stat line")?.1;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // utime and stime are the 14th and 15th fields, the 12th and 13th after the name.
        let ticks: f64 = fields
            .get(11..13)
            .context("utime and stime")?
            .iter()
            .map(|f| f.parse::<f64>())
            .sum::<Result<f64, _>>()?;
        Ok(ticks / clock_ticks_per_sec())
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(20)..];
        format!(
            "--- worker pid {} log ({}), last {} lines ---\n{}",
            self.child.id(),
            self.log.display(),
            tail.len(),
            tail.join("\n")
        )
    }

    /// SIGTERM, then SIGKILL after 10 s.
    async fn stop(mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn noop_payload() -> Value {
    serde_json::to_value(NoopJob::default()).unwrap_or(Value::Null)
}

/// Enqueues `n` jobs from `ENQUEUERS` tasks, pausing while more than `MAX_BACKLOG` are
/// unfinished. Returns the enqueue time and how often a task paused.
async fn enqueue_concurrently(
    world: &Arc<World>,
    kind: JobKind,
    owner: Uuid,
    payload: Value,
    n: u64,
    base: u64,
    done: &Arc<AtomicU64>,
) -> anyhow::Result<(Duration, u64)> {
    let next = Arc::new(AtomicU64::new(0));
    let pauses = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..ENQUEUERS)
        .map(|_| {
            let (world, next, pauses, done, payload) = (
                world.clone(),
                next.clone(),
                pauses.clone(),
                done.clone(),
                payload.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(world.batch, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<(), anyhow::Error>(());
                    }
                    while i.saturating_sub(done.load(Ordering::Relaxed).saturating_sub(base))
                        > MAX_BACKLOG
                    {
                        pauses.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    world
                        .enqueue_n(kind, owner, &payload, world.batch.min(n - i))
                        .await?;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok((t0.elapsed(), pauses.load(Ordering::Relaxed)))
}

struct ConcurrentRun {
    enqueue_rate: f64,
    e2e_rate: f64,
    tail_s: f64,
    pauses: u64,
}

/// Workers warmed with 200 jobs, then N enqueued while they consume.
async fn noop_concurrent(
    base: &str,
    redis_url: &str,
    bin: &Path,
    n: u64,
    concurrency: usize,
) -> anyhow::Result<ConcurrentRun> {
    let world = Arc::new(World::new(base, redis_url).await?);
    let mut workers = vec![
        world.spawn_worker(bin, 0, concurrency, "noop")?,
        world.spawn_worker(bin, 1, concurrency, "noop")?,
    ];
    let result = async {
        for _ in 0..200 {
            world
                .enqueue(JobKind::Noop, PLATFORM_ACCOUNT_ID, noop_payload())
                .await?;
        }
        world
            .track(JobKind::Noop, 200, None, &mut workers)
            .await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let done = Arc::new(AtomicU64::new(200));
        let t0 = Instant::now();
        let enqueuing = {
            let (world, done) = (world.clone(), done.clone());
            tokio::spawn(async move {
                enqueue_concurrently(
                    &world,
                    JobKind::Noop,
                    PLATFORM_ACCOUNT_ID,
                    noop_payload(),
                    n,
                    200,
                    &done,
                )
                .await
            })
        };
        let tracked = world
            .track(JobKind::Noop, 200 + n, Some(done.as_ref()), &mut workers)
            .await?;
        let (t_enq, pauses) = enqueuing.await??;
        let e2e = tracked.t_last - t0;
        let (retried, redelivered) = world.audit(JobKind::Noop).await?;
        ensure!(
            tracked.failed == 0,
            "{} noop jobs failed",
            tracked.failed
        );
        println!(
            "    concurrent c={concurrency}: enqueue {:.0}/s ({:.2} s), end-to-end {:.0} jobs/s ({:.2} s), \
             last completion {:.2} s after last enqueue, back-pressure pauses {pauses}, \
             run twice {retried}, redelivered {redelivered}, poll {:.1} ms, load {}",
            n as f64 / t_enq.as_secs_f64(),
            t_enq.as_secs_f64(),
            n as f64 / e2e.as_secs_f64(),
            e2e.as_secs_f64(),
            e2e.as_secs_f64() - t_enq.as_secs_f64(),
            tracked.poll_ms,
            loadavg()
        );
        anyhow::Ok(ConcurrentRun {
            enqueue_rate: n as f64 / t_enq.as_secs_f64(),
            e2e_rate: n as f64 / e2e.as_secs_f64(),
            tail_s: e2e.as_secs_f64() - t_enq.as_secs_f64(),
            pauses,
        })
    }
    .await;
    match Arc::try_unwrap(world) {
        Ok(w) => w.close(workers).await,
        Err(_) => drop(workers),
    }
    result
}

struct PrefilledRun {
    enqueue_rate: f64,
    drain_rate: f64,
    start_to_last_s: f64,
}

/// N enqueued with no worker running, then the workers start.
async fn noop_prefilled(
    base: &str,
    redis_url: &str,
    bin: &Path,
    n: u64,
    concurrency: usize,
) -> anyhow::Result<PrefilledRun> {
    let world = Arc::new(World::new(base, redis_url).await?);
    let mut workers = Vec::new();
    let result = async {
        let done = Arc::new(AtomicU64::new(0));
        // No consumer: nothing finishes, so no back-pressure (a backlog of N is the point).
        let (t_enq, _) = {
            let next = Arc::new(AtomicU64::new(0));
            let t0 = Instant::now();
            let tasks: Vec<_> = (0..ENQUEUERS)
                .map(|_| {
                    let (world, next) = (world.clone(), next.clone());
                    tokio::spawn(async move {
                        loop {
                            let i = next.fetch_add(world.batch, Ordering::Relaxed);
                            if i >= n {
                                return Ok::<(), anyhow::Error>(());
                            }
                            let count = world.batch.min(n - i);
                            world
                                .enqueue_n(JobKind::Noop, PLATFORM_ACCOUNT_ID, &noop_payload(), count)
                                .await?;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await??;
            }
            (t0.elapsed(), ())
        };
        let t_start = Instant::now();
        workers.push(world.spawn_worker(bin, 0, concurrency, "noop")?);
        workers.push(world.spawn_worker(bin, 1, concurrency, "noop")?);
        let tracked = world
            .track(JobKind::Noop, n, Some(done.as_ref()), &mut workers)
            .await?;
        let drain = (n - tracked.c_first) as f64 / (tracked.t_last - tracked.t_first).as_secs_f64();
        let (retried, redelivered) = world.audit(JobKind::Noop).await?;
        ensure!(tracked.failed == 0, "{} noop jobs failed", tracked.failed);
        println!(
            "    prefilled  c={concurrency}: enqueue {:.0}/s ({:.2} s), drain {drain:.0} jobs/s, \
             worker start to last completion {:.2} s, run twice {retried}, redelivered {redelivered}, poll {:.1} ms, load {}",
            n as f64 / t_enq.as_secs_f64(),
            t_enq.as_secs_f64(),
            (tracked.t_last - t_start).as_secs_f64(),
            tracked.poll_ms,
            loadavg()
        );
        anyhow::Ok(PrefilledRun {
            enqueue_rate: n as f64 / t_enq.as_secs_f64(),
            drain_rate: drain,
            start_to_last_s: (tracked.t_last - t_start).as_secs_f64(),
        })
    }
    .await;
    match Arc::try_unwrap(world) {
        Ok(w) => w.close(workers).await,
        Err(_) => drop(workers),
    }
    result
}

/// A creator with an sma_crossover tool and a 2,000-bar GBM dataset, made through the store.
async fn eval_fixture(world: &World) -> anyhow::Result<Value> {
    let now = Utc::now();
    let owner = world
        .store
        .create_account(
            "bench creator",
            &NewApiKey {
                hash: format!("{:x}", Uuid::new_v4().as_u128()),
                prefix: "bench".into(),
            },
            now,
        )
        .await?;
    let family = shared::families::get("sma_crossover").context("sma_crossover family")?;
    let mut input = serde_json::Map::new();
    input.insert("fast".into(), json!(10));
    input.insert("slow".into(), json!(30));
    let parameters = family
        .validate(&input)
        .map_err(|e| anyhow::anyhow!("parameters: {e:?}"))?;
    let tool = world
        .store
        .create_tool(
            &NewTool {
                creator_id: owner.id,
                name: "bench sma".into(),
                description: "crossover of two simple moving averages".into(),
                category: "trading".into(),
                family: family.name.into(),
                monthly_price: Money::from_cents(1_000),
                tier: Tier::Basic,
                parameters,
                metadata: serde_json::Map::new(),
                standards: None,
                auto_promote: false,
                reference_dataset_id: None,
            },
            now,
        )
        .await?;
    let spec = GeneratorSpec {
        kind: GeneratorKind::Gbm,
        bars: 2_000,
        seed: 42,
        start: None,
        interval: None,
        initial_price: None,
        drift: None,
        volatility: None,
        switch_probability: None,
        trend_drift: None,
        trend_volatility: None,
        mean_reversion_speed: None,
        mean_reversion_volatility: None,
    }
    .resolve(100_000)
    .map_err(|e| anyhow::anyhow!("generator spec: {e:?}"))?;
    let bars = synth::generate(&spec).map_err(|e| anyhow::anyhow!("generator: {e:?}"))?;
    let new = NewDataset::from_bars(
        owner.id,
        "bench gbm 2000".into(),
        DatasetSource::Generator(spec),
        &bars,
    )
    .context("summarizing the bars")?;
    let (dataset, _) = world
        .store
        .create_dataset(&new, shared::store::DatasetLimits::NONE, now)
        .await?;
    let config = EvalConfig::default();
    config
        .folds
        .split(bars.len())
        .map_err(|e| anyhow::anyhow!("folds: {e:?}"))?;
    Ok(json!({
        "owner": owner.id,
        "payload": serde_json::to_value(EvaluateToolJob {
            tool_id: tool.id,
            version: tool.current_version,
            dataset_id: dataset.id,
            config: serde_json::to_value(config)?,
        })?,
    }))
}

struct EvalRun {
    processes: usize,
    slots: usize,
    cpu_ms_per_job: f64,
    /// Busy CPU time of the whole machine per job (workers, database, Redis, the driver).
    machine_ms_per_job: f64,
    rate: f64,
    seconds: f64,
    mean_job_ms: f64,
}

/// `n` evaluation jobs over `processes` workers of concurrency `slots` (warmed with 10 jobs).
async fn evaluations(
    base: &str,
    redis_url: &str,
    bin: &Path,
    n: u64,
    processes: usize,
    slots: usize,
) -> anyhow::Result<EvalRun> {
    let world = Arc::new(World::new(base, redis_url).await?);
    let fixture = eval_fixture(&world).await?;
    let owner: Uuid = serde_json::from_value(fixture["owner"].clone())?;
    let payload = fixture["payload"].clone();
    let mut workers = (0..processes)
        .map(|i| world.spawn_worker(bin, i, slots, "evaluate"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let result = async {
        for _ in 0..10 {
            world
                .enqueue(JobKind::Evaluate, owner, payload.clone())
                .await?;
        }
        world
            .track(JobKind::Evaluate, 10, None, &mut workers)
            .await?;
        let done = Arc::new(AtomicU64::new(10));
        let cpu = |workers: &[WorkerProcess]| -> anyhow::Result<f64> {
            workers.iter().map(WorkerProcess::cpu_secs).sum()
        };
        let cpu_before = cpu(&workers)?;
        let machine_before = machine_busy_secs()?;
        let t0 = Instant::now();
        let enqueuing = {
            let (world, done, payload) = (world.clone(), done.clone(), payload.clone());
            tokio::spawn(async move {
                enqueue_concurrently(&world, JobKind::Evaluate, owner, payload, n, 10, &done).await
            })
        };
        let tracked = world
            .track(JobKind::Evaluate, 10 + n, Some(done.as_ref()), &mut workers)
            .await?;
        let cpu_ms_per_job = (cpu(&workers)? - cpu_before) * 1000.0 / n as f64;
        let machine_ms_per_job = (machine_busy_secs()? - machine_before) * 1000.0 / n as f64;
        if std::env::var("PLATFORM_WORKER_LOG").is_ok() {
            let text = workers[0].log_text();
            let kept = std::env::temp_dir().join(format!("worker0-{processes}x{slots}.log"));
            let _ = std::fs::write(&kept, &text);
            let found_nothing = text.matches("claim found nothing").count();
            println!(
                "    worker 0 log: {} lines, {found_nothing} claims found nothing, kept in {}",
                text.lines().count(),
                kept.display()
            );
        }
        let (t_enq, _) = enqueuing.await??;
        let seconds = (tracked.t_last - t0).as_secs_f64();
        if tracked.failed > 0 {
            let (error,): (Option<Value>,) = sqlx::query_as(
                "SELECT error FROM jobs WHERE kind = 'evaluate' AND status = 'failed' LIMIT 1",
            )
            .fetch_one(&world.pool)
            .await?;
            bail!("{} evaluation jobs failed, e.g. {error:?}", tracked.failed);
        }
        let (mean_ms, with_results): (Option<f64>, i64) = sqlx::query_as(
            "SELECT AVG(EXTRACT(EPOCH FROM finished_at - started_at) * 1000)::float8, \
                    COUNT(*) FILTER (WHERE result ? 'overall') \
             FROM jobs WHERE kind = 'evaluate' AND status = 'succeeded'",
        )
        .fetch_one(&world.pool)
        .await?;
        let mean_ms = mean_ms.unwrap_or(f64::NAN);
        ensure!(
            with_results == i64::try_from(n + 10).unwrap_or(i64::MAX),
            "only {with_results} evaluation results have an `overall` section"
        );
        let (retried, _) = world.audit(JobKind::Evaluate).await?;
        println!(
            "    {processes} process(es) x {slots}: {n} evaluations in {seconds:.2} s = {:.1} jobs/s \
             (enqueued in {:.2} s), worker CPU {cpu_ms_per_job:.2} ms per job, machine CPU {machine_ms_per_job:.2} ms per job, mean claim-to-finish {mean_ms:.1} ms, \
             results checked {with_results}, run twice {retried}, load {}",
            n as f64 / seconds,
            t_enq.as_secs_f64(),
            loadavg()
        );
        anyhow::Ok(EvalRun {
            processes,
            slots,
            cpu_ms_per_job,
            machine_ms_per_job,
            rate: n as f64 / seconds,
            seconds,
            mean_job_ms: mean_ms,
        })
    }
    .await;
    match Arc::try_unwrap(world) {
        Ok(w) => w.close(workers).await,
        Err(_) => drop(workers),
    }
    result
}

struct HttpRun {
    label: String,
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn post_noop(client: &reqwest::Client, url: &str) -> anyhow::Result<f64> {
    let t = Instant::now();
    let res = client
        .post(url)
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"kind": "noop", "payload": {"sleep_ms": 0}}))
        .send()
        .await?;
    let status = res.status();
    let body = res.bytes().await?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    ensure!(
        status.as_u16() == 202,
        "POST /v1/admin/jobs answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(ms)
}

/// `POST /v1/admin/jobs` against the API in this process (distributed mode, no worker).
async fn http_enqueue(base: &str, redis_url: &str, n: usize) -> anyhow::Result<Vec<HttpRun>> {
    let world = World::new(base, redis_url).await?;
    let app = api::Application::build(world.settings()?).await?;
    let url = format!("http://{}/v1/admin/jobs", app.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let result = async {
        let client = reqwest::Client::new();
        for _ in 0..50 {
            post_noop(&client, &url).await?;
        }
        let mut runs = Vec::new();
        // Sequential: one client, one request at a time.
        let mut lat = Vec::with_capacity(n);
        let t0 = Instant::now();
        for _ in 0..n {
            lat.push(post_noop(&client, &url).await?);
        }
        let secs = t0.elapsed().as_secs_f64();
        lat.sort_by(f64::total_cmp);
        runs.push(HttpRun {
            label: "sequential, 1 client".into(),
            rate: n as f64 / secs,
            p50_ms: percentile(&lat, 0.5),
            p99_ms: percentile(&lat, 0.99),
            max_ms: lat.last().copied().unwrap_or(f64::NAN),
        });
        // 16 clients, each with its own connection, n requests in all.
        let clients = 16;
        let next = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (next, url) = (next.clone(), url.clone());
                tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    let mut lat = Vec::new();
                    while next.fetch_add(1, Ordering::Relaxed) < n {
                        lat.push(post_noop(&client, &url).await?);
                    }
                    Ok::<_, anyhow::Error>(lat)
                })
            })
            .collect();
        let mut lat = Vec::with_capacity(n);
        for t in tasks {
            lat.extend(t.await??);
        }
        let secs = t0.elapsed().as_secs_f64();
        lat.sort_by(f64::total_cmp);
        runs.push(HttpRun {
            label: format!("{clients} concurrent clients"),
            rate: n as f64 / secs,
            p50_ms: percentile(&lat, 0.5),
            p99_ms: percentile(&lat, 0.99),
            max_ms: lat.last().copied().unwrap_or(f64::NAN),
        });
        let counts = world.store.queue_counts().await?;
        let queued: i64 = counts.iter().map(|c| c.queued).sum();
        ensure!(
            queued == i64::try_from(2 * n + 50).unwrap_or(i64::MAX),
            "expected {} queued jobs, found {queued}",
            2 * n + 50
        );
        for r in &runs {
            println!(
                "    {}: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, load {}",
                r.label,
                r.rate,
                r.p50_ms,
                r.p99_ms,
                r.max_ms,
                loadavg()
            );
        }
        anyhow::Ok(runs)
    }
    .await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    world.close(Vec::new()).await;
    result
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
