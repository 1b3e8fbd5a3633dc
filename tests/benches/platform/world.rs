//! The bench's world: a fresh database and queue prefix per scenario, `marketplace-worker`
//! processes (their logs and CPU time), completion tracking, and the machine's busy time.

use super::*;

/// The `marketplace-worker` release binary next to this bench's executable
/// (`target/release/deps/platform-*` -> `target/release/marketplace-worker`).
pub(crate) fn worker_binary() -> anyhow::Result<PathBuf> {
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
pub(crate) struct World {
    pub(crate) admin_url: String,
    pub(crate) db_name: String,
    pub(crate) url: String,
    pub(crate) redis_url: String,
    pub(crate) prefix: String,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) platform: Platform,
    pub(crate) pool: sqlx::PgPool,
    pub(crate) logs: tempfile::TempDir,
    /// Jobs per enqueue call (`PLATFORM_BATCH`): 1 is the API's one-job `enqueue`, more is
    /// `enqueue_many` (the batch endpoints' path: one transaction, one bulk push).
    pub(crate) batch: u64,
}

impl World {
    pub(crate) async fn new(admin_url: &str, redis_url: &str) -> anyhow::Result<Self> {
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

    pub(crate) fn settings_for(
        url: &str,
        redis_url: &str,
        prefix: &str,
    ) -> anyhow::Result<Settings> {
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

    pub(crate) fn settings(&self) -> anyhow::Result<Settings> {
        Self::settings_for(&self.url, &self.redis_url, &self.prefix)
    }

    pub(crate) fn spawn_worker(
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
    pub(crate) async fn enqueue(
        &self,
        kind: JobKind,
        owner: Uuid,
        payload: Value,
    ) -> anyhow::Result<()> {
        let payload = JobPayload::from_stored(kind, &payload)?;
        self.platform
            .enqueue(self.store.as_ref(), owner, payload, 0, Utc::now())
            .await?;
        Ok(())
    }

    /// Queues `count` jobs with one call: the one-job enqueue, or `enqueue_many`.
    pub(crate) async fn enqueue_n(
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
    pub(crate) async fn finished(&self, kind: JobKind) -> anyhow::Result<(u64, u64)> {
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
    pub(crate) async fn track(
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
    pub(crate) async fn audit(&self, kind: JobKind) -> anyhow::Result<(i64, i64)> {
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
    pub(crate) async fn close(self, workers: Vec<WorkerProcess>) {
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

pub(crate) struct Tracked {
    pub(crate) t_first: Instant,
    pub(crate) c_first: u64,
    pub(crate) t_last: Instant,
    pub(crate) failed: u64,
    /// Mean time of one `queue_counts()` poll.
    pub(crate) poll_ms: f64,
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`, 100 when it cannot be read).
pub(crate) fn clock_ticks_per_sec() -> f64 {
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
pub(crate) fn machine_busy_secs() -> anyhow::Result<f64> {
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
pub(crate) struct WorkerProcess {
    pub(crate) child: Child,
    pub(crate) log: PathBuf,
}

impl WorkerProcess {
    /// The process's log (kept in the bench's temporary directory).
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// CPU seconds (user + system) the process has used so far, from `/proc`.
    pub(crate) fn cpu_secs(&self) -> anyhow::Result<f64> {
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

    pub(crate) fn log_tail(&self) -> String {
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
    pub(crate) async fn stop(mut self) {
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
