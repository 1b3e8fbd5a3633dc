//! Real `marketplace-worker` processes on Redis + PostgreSQL: many jobs over two processes run
//! exactly once each, a worker SIGKILLed mid-job loses nothing (its lease expires and another
//! worker's recovery sweep hands the job on), and SIGTERM lets the running job finish while the
//! waiting ones stay queued for the next worker.
//!
//! Jobs are created exactly as the API does: a `jobs` row through the store, then a message on
//! the kind's queue. Needs PostgreSQL (`DATABASE_URL=postgres://...`, an admin URL: each test
//! creates and drops its own database) and Redis (`REDIS_URL`, default
//! `redis://127.0.0.1:6379`; each test uses its own queue prefix). Skipped without them, except
//! under `CI=true`, where they must be there.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use platform::Platform;
use serde_json::json;
use shared::config::{DatabaseSettings, Settings};
use shared::domain::account::PLATFORM_ACCOUNT_ID;
use shared::jobs::{Job, JobKind, JobStatus, NoopJob};
use shared::store::{JobClaim, JobOutcome, QueueCounts, Store};
use sqlx::Connection;
use uuid::Uuid;

/// The lease the workers get (renewed every third of it).
const LEASE_SECS: u64 = 2;
/// Queued jobs not taken within this are pushed again by the recovery sweep.
const REDELIVER_AFTER_SECS: u64 = 3;

/// One test at a time: each starts worker processes, and timings (exit after SIGTERM, recovery
/// after SIGKILL) mean more on a machine that is not also running the other tests' workers.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Fails under `CI=true`, else prints a SKIPPED line.
fn skip(why: &str) {
    assert!(
        !in_ci(),
        "CI=true: {why} (this test cannot be skipped in CI)"
    );
    eprintln!("SKIPPED: {why}");
}

/// A fresh PostgreSQL database, dropped (connections and all) when this goes, panic or not.
struct TestDatabase {
    admin_url: String,
    name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: do the async work on a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
            });
        })
        .join();
    }
}

/// A `marketplace-worker` process, SIGKILLed and reaped when this goes (panic or not); its
/// stdout and stderr are collected line by line and shown when a test fails.
struct WorkerProcess {
    name: &'static str,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl WorkerProcess {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log(&self) -> String {
        self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// The last lines of the log, for failure messages.
    fn log_tail(&self) -> String {
        let lines = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        let skip = lines.len().saturating_sub(40);
        format!(
            "--- worker {} (pid {}) log, last {} lines ---\n{}",
            self.name,
            self.pid(),
            lines.len() - skip,
            lines[skip..].join("\n")
        )
    }

    fn sigkill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM {} failed", self.pid());
    }

    /// Waits (bounded) for the process to exit by itself.
    async fn exited_within(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "worker {} did not exit within {limit:?}\n{}",
                self.name,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_tail());
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn collect_lines(stream: impl Read + Send + 'static, log: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut log) = log.lock() {
                log.push(line);
            }
        }
    });
}

/// One test's world: its own database, store, queue prefix and job platform.
struct Harness {
    store: Arc<dyn Store>,
    platform: Platform,
    url: String,
    redis_url: String,
    prefix: String,
    // Last: dropped after the store's pool.
    _db: TestDatabase,
}

impl Harness {
    /// A fresh database and queue prefix; `None` (skipped) without PostgreSQL or Redis
    /// outside CI.
    async fn new() -> Option<Self> {
        let admin_url = match std::env::var("DATABASE_URL") {
            Ok(u) if u.starts_with("postgres") => u,
            _ => {
                skip("these tests need DATABASE_URL=postgres://... (an admin URL)");
                return None;
            }
        };
        let redis_url =
            std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(c) => c,
            Err(e) => {
                skip(&format!("PostgreSQL unreachable at DATABASE_URL: {e}"));
                return None;
            }
        };
        let name = format!("test_{}", Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .expect("create db");
        let _ = admin.close().await;
        let db = TestDatabase {
            admin_url: admin_url.clone(),
            name: name.clone(),
        };
        let url = format!(
            "{}/{name}",
            admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(b, _)| b)
        );
        let prefix = format!("test:{}", Uuid::new_v4().simple());
        let settings = Settings::load(&HashMap::from([
            ("DATABASE_URL".to_owned(), url.clone()),
            ("REDIS_URL".to_owned(), redis_url.clone()),
            ("MARKETPLACE_QUEUE_PREFIX".to_owned(), prefix.clone()),
        ]))
        .expect("settings");
        let platform = match tokio::time::timeout(
            Duration::from_secs(5),
            Platform::connect(&settings),
        )
        .await
        {
            Ok(Ok(q)) => q,
            Ok(Err(e)) => {
                skip(&format!("Redis unreachable at {redis_url}: {e:#}"));
                return None;
            }
            Err(_) => {
                skip(&format!("Redis at {redis_url} did not answer within 5 s"));
                return None;
            }
        };
        // Runs the migrations; the platform account exists afterwards.
        let store = shared::store::connect(&DatabaseSettings {
            url: url.clone().into(),
            max_connections: 4,
        })
        .await
        .expect("store");
        Some(Self {
            store,
            platform,
            url,
            redis_url,
            prefix,
            _db: db,
        })
    }

    fn spawn_worker(&self, name: &'static str, concurrency: usize) -> WorkerProcess {
        self.spawn_worker_with(name, concurrency, REDELIVER_AFTER_SECS)
    }

    fn spawn_worker_with(
        &self,
        name: &'static str,
        concurrency: usize,
        redeliver_after_secs: u64,
    ) -> WorkerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_marketplace-worker"))
            .args([
                "--concurrency",
                &concurrency.to_string(),
                "--queues",
                "noop",
            ])
            .env("DATABASE_URL", &self.url)
            .env("REDIS_URL", &self.redis_url)
            .env("MARKETPLACE_QUEUE_PREFIX", &self.prefix)
            .env("MARKETPLACE_WORKER_LEASE_SECS", LEASE_SECS.to_string())
            .env(
                "MARKETPLACE_WORKER_REDELIVER_AFTER_SECS",
                redeliver_after_secs.to_string(),
            )
            .env("MARKETPLACE_LOG_FORMAT", "json")
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("marketplace-worker starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        if let Some(out) = child.stdout.take() {
            collect_lines(out, log.clone());
        }
        if let Some(err) = child.stderr.take() {
            collect_lines(err, log.clone());
        }
        WorkerProcess { name, child, log }
    }

    /// Waits until the worker is registered and its consumers are up; returns its id.
    async fn ready(&self, worker: &mut WorkerProcess) -> String {
        let id_prefix = format!("worker-{}-", worker.pid());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = worker.child.try_wait().expect("try_wait") {
                panic!(
                    "worker {} exited at start ({status})\n{}",
                    worker.name,
                    worker.log_tail()
                );
            }
            let since = Utc::now() - chrono::TimeDelta::minutes(10);
            let registered = self
                .store
                .live_workers(since)
                .await
                .expect("live workers")
                .into_iter()
                .find(|w| w.id.starts_with(&id_prefix));
            if let Some(w) = registered
                && worker.log().contains("worker ready")
            {
                return w.id;
            }
            assert!(
                Instant::now() < deadline,
                "worker {} not ready within 60 s\n{}",
                worker.name,
                worker.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Queues a noop job the way the API does (the platform's one enqueue).
    async fn enqueue(&self, sleep_ms: u64) -> Uuid {
        let payload = NoopJob {
            sleep_ms,
            ..NoopJob::default()
        };
        self.platform
            .enqueue(
                self.store.as_ref(),
                PLATFORM_ACCOUNT_ID,
                payload,
                0,
                Utc::now(),
            )
            .await
            .expect("enqueue")
            .id
    }

    async fn job(&self, id: Uuid) -> Job {
        self.store
            .job(id)
            .await
            .expect("read job")
            .expect("job exists")
    }

    async fn jobs(&self, ids: &[Uuid]) -> Vec<Job> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.job(*id).await);
        }
        out
    }

    async fn noop_counts(&self) -> QueueCounts {
        self.store
            .queue_counts()
            .await
            .expect("queue counts")
            .into_iter()
            .find(|c| c.queue == JobKind::Noop.queue())
            .expect("noop counts")
    }
}

/// A job row on one line, for failure messages.
fn row(j: &Job) -> String {
    format!(
        "{} {:?} attempts={} worker={:?} lease_until={:?} finished_at={:?} message={:?} error={} result={}",
        j.id,
        j.status,
        j.attempts,
        j.worker_id,
        j.lease_until,
        j.finished_at,
        j.message,
        j.error.as_ref().map_or("-".into(), |e| format!("{e:?}")),
        j.result.as_ref().map_or("-".into(), ToString::to_string),
    )
}

fn rows<'a>(jobs: impl IntoIterator<Item = &'a Job>) -> String {
    jobs.into_iter().map(row).collect::<Vec<_>>().join("\n")
}

/// Polls `probe` until it returns `Ok` or `limit` passes; then panics with `what` and the last
/// state the probe described.
async fn eventually<T>(
    what: &str,
    limit: Duration,
    mut probe: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(state) if Instant::now() >= deadline => {
                panic!("{what}: not within {limit:?}; last state:\n{state}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(25)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_jobs_over_two_worker_processes_each_complete_exactly_once() {
    let _serial = SERIAL.lock().await;
    let Some(h) = Harness::new().await else {
        return;
    };
    // Arrange: both workers up before any job exists, so both get a share. Redelivery only
    // after a minute: each job must be run because of its own message.
    let mut a = h.spawn_worker_with("A", 4, 60);
    let mut b = h.spawn_worker_with("B", 4, 60);
    let a_id = h.ready(&mut a).await;
    let b_id = h.ready(&mut b).await;

    // Act
    let started = Instant::now();
    let mut ids = Vec::with_capacity(200);
    for i in 0..200u64 {
        ids.push(h.enqueue(i % 21).await);
    }
    let pushed = started.elapsed();
    // Well within the redelivery delay: every message must lead to a claim, none may be
    // dropped while a job waits (only the recovery sweep would deliver that job, a minute on).
    eventually(
        "all 200 jobs succeeded without waiting for a redelivery",
        Duration::from_secs(45),
        async || {
            let counts = h.noop_counts().await;
            if counts.succeeded == 200 {
                Ok(())
            } else {
                let jobs = h.jobs(&ids).await;
                Err(format!(
                    "{counts:?}\n{}",
                    rows(jobs.iter().filter(|j| j.status != JobStatus::Succeeded))
                ))
            }
        },
    )
    .await;
    eprintln!(
        "200 jobs: pushed in {pushed:?}, all succeeded {:?} after the first push",
        started.elapsed()
    );

    // Assert
    let jobs = h.jobs(&ids).await;
    let not_once: Vec<&Job> = jobs
        .iter()
        .filter(|j| {
            j.status != JobStatus::Succeeded
                || j.attempts != 1
                || j.finished_at.is_none()
                || j.result.as_ref().and_then(|r| r.get("attempt")) != Some(&json!(1))
        })
        .collect();
    assert!(
        not_once.is_empty(),
        "every job succeeded on its first and only attempt; these did not:\n{}",
        rows(not_once)
    );
    let mut by_worker: BTreeMap<String, usize> = BTreeMap::new();
    for j in &jobs {
        *by_worker
            .entry(j.worker_id.clone().unwrap_or_default())
            .or_default() += 1;
    }
    eprintln!("jobs per worker: {by_worker:?}");
    assert_eq!(
        by_worker.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([a_id, b_id]),
        "both worker processes ran jobs, and no one else did: {by_worker:?}"
    );
    assert_eq!(
        h.noop_counts().await,
        QueueCounts {
            queue: "noop".into(),
            queued: 0,
            running: 0,
            succeeded: 200,
            failed: 0,
            canceled: 0,
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_loses_nothing_and_the_job_completes_once() {
    let _serial = SERIAL.lock().await;
    let Some(h) = Harness::new().await else {
        return;
    };
    // Arrange: worker A alone takes a 4 s job.
    let mut a = h.spawn_worker("A", 1);
    let a_id = h.ready(&mut a).await;
    let job_id = h.enqueue(4_000).await;
    eventually(
        "worker A runs the job",
        Duration::from_secs(30),
        async || {
            let j = h.job(job_id).await;
            if j.status == JobStatus::Running && j.worker_id.as_deref() == Some(a_id.as_str()) {
                Ok(())
            } else {
                Err(row(&j))
            }
        },
    )
    .await;
    let mut b = h.spawn_worker("B", 1);
    let b_id = h.ready(&mut b).await;
    let before_kill = h.job(job_id).await;
    assert!(
        before_kill.status == JobStatus::Running
            && before_kill.attempts == 1
            && before_kill.worker_id.as_deref() == Some(a_id.as_str()),
        "A still runs the job when it is killed (B took too long to start?): {}",
        row(&before_kill)
    );

    // Act: SIGKILL A mid-job.
    a.sigkill();
    let killed = Instant::now();
    let mut taken_over_after = None;
    let done = eventually(
        "the job completes on B after A was killed",
        Duration::from_secs(20),
        async || {
            let j = h.job(job_id).await;
            if taken_over_after.is_none() && j.attempts == 2 {
                taken_over_after = Some(killed.elapsed());
            }
            if j.status.is_final() {
                Ok(j)
            } else {
                Err(row(&j))
            }
        },
    )
    .await;
    let finished_after = killed.elapsed();
    eprintln!(
        "after SIGKILL: job claimed again by B after {taken_over_after:?}, succeeded after {finished_after:?} \
         (lease {LEASE_SECS} s, sweep every 1 s, job 4 s)"
    );

    // Assert
    assert!(
        done.status == JobStatus::Succeeded
            && done.attempts == 2
            && done.worker_id.as_deref() == Some(b_id.as_str())
            && done.finished_at.is_some()
            && done.result.as_ref().and_then(|r| r.get("attempt")) == Some(&json!(2)),
        "succeeded once, on B's attempt 2: {}",
        row(&done)
    );
    assert_ne!(done.worker_id.as_deref(), Some(a_id.as_str()));
    // The dead worker's claim can write nothing any more.
    let stale = JobClaim {
        job_id,
        worker_id: a_id.clone(),
        attempt: 1,
    };
    let written = h
        .store
        .finish_job(
            &stale,
            &JobOutcome::Succeeded {
                result: json!({"stale": true}),
            },
            Utc::now(),
        )
        .await
        .expect("finish");
    assert!(!written, "A's stale claim cannot finish the job again");
    let touched = h
        .store
        .touch_job(&stale, None, Utc::now(), Duration::from_secs(LEASE_SECS))
        .await
        .expect("touch");
    assert!(!touched.held, "A's stale claim is not held");
    assert_eq!(h.job(job_id).await, done, "the stale claim changed nothing");
    let counts = h.noop_counts().await;
    assert_eq!(
        (
            counts.succeeded,
            counts.queued,
            counts.running,
            counts.failed
        ),
        (1, 0, 0, 0),
        "{counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_running_job_finish_and_stops_taking_new_ones() {
    let _serial = SERIAL.lock().await;
    let Some(h) = Harness::new().await else {
        return;
    };
    // Arrange: one worker, one job at a time, three 1.5 s jobs.
    let mut w = h.spawn_worker("W", 1);
    let w_id = h.ready(&mut w).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(h.enqueue(1_500).await);
    }
    let first = eventually(
        "the worker runs a job",
        Duration::from_secs(30),
        async || {
            let jobs = h.jobs(&ids).await;
            jobs.iter()
                .find(|j| j.status == JobStatus::Running)
                .map(|j| j.id)
                .ok_or_else(|| rows(&jobs))
        },
    )
    .await;

    // Act: SIGTERM while the first job runs.
    let term_at = Utc::now();
    let termed = Instant::now();
    w.sigterm();
    let status = w.exited_within(Duration::from_secs(10)).await;
    let exit_after = termed.elapsed();
    eprintln!("after SIGTERM: exited with {status} after {exit_after:?}");

    // Assert: exit 0 after the running job finished; the other two still waiting.
    assert!(
        status.success(),
        "exit 0 on SIGTERM ({status})\n{}",
        w.log_tail()
    );
    let log = w.log();
    assert!(log.contains("worker stopped"), "{}", w.log_tail());
    let jobs = h.jobs(&ids).await;
    let running_one = jobs.iter().find(|j| j.id == first).expect("first job");
    assert!(
        running_one.status == JobStatus::Succeeded
            && running_one.attempts == 1
            && running_one.worker_id.as_deref() == Some(w_id.as_str())
            && running_one.finished_at.is_some_and(|f| f > term_at),
        "the job running at SIGTERM finished, after the signal, on its only attempt:\n{}",
        rows(&jobs)
    );
    let rest: Vec<&Job> = jobs.iter().filter(|j| j.id != first).collect();
    assert!(
        rest.iter().all(|j| j.status == JobStatus::Queued
            && j.attempts == 0
            && j.worker_id.is_none()
            && j.error.is_none()),
        "the two others were not taken: still queued, never attempted:\n{}",
        rows(&jobs)
    );
    let since = Utc::now() - chrono::TimeDelta::minutes(10);
    let live = h.store.live_workers(since).await.expect("live workers");
    assert!(
        live.iter().all(|x| x.id != w_id),
        "a stopped worker is not listed as live: {live:?}"
    );
    let mut conn = sqlx::PgConnection::connect(&h.url).await.expect("connect");
    let (stopped_at,): (Option<DateTime<Utc>>,) =
        sqlx::query_as("SELECT stopped_at FROM workers WHERE id = $1")
            .bind(&w_id)
            .fetch_one(&mut conn)
            .await
            .expect("registration");
    let _ = conn.close().await;
    assert!(
        stopped_at.is_some_and(|s| s >= term_at),
        "the registration shows the stop: {stopped_at:?}"
    );

    // Act: another worker takes the two that waited.
    let mut next = h.spawn_worker("W2", 1);
    let next_id = h.ready(&mut next).await;
    let restarted = Instant::now();
    let jobs = eventually(
        "the next worker runs the two waiting jobs",
        Duration::from_secs(30),
        async || {
            let jobs = h.jobs(&ids).await;
            if jobs.iter().all(|j| j.status.is_final()) {
                Ok(jobs)
            } else {
                Err(rows(&jobs))
            }
        },
    )
    .await;
    eprintln!(
        "the next worker finished the two waiting jobs {:?} after it was ready",
        restarted.elapsed()
    );
    assert!(
        jobs.iter()
            .all(|j| j.status == JobStatus::Succeeded && j.attempts == 1)
            && jobs
                .iter()
                .filter(|j| j.id != first)
                .all(|j| j.worker_id.as_deref() == Some(next_id.as_str())),
        "all three succeeded once, the two waiting ones on the next worker:\n{}",
        rows(&jobs)
    );
}
