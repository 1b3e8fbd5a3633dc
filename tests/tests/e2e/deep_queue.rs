//! A Redis queue of any depth drains. apalis-redis 1.0 keeps pushed messages in a scheduled
//! set that its fetch moves in one Lua call, which fails beyond about 8,000 messages; with
//! 10,000 waiting, every fetch failed and no job ever completed. The platform moves due
//! messages in bounded chunks, so 20,000 waiting messages drain, and every job among them
//! runs exactly once. Jobs queued beyond `MESSAGE_CAP` waiting messages get none (apalis-redis
//! takes each message with an `LREM` as slow as its list is long): they are claimed all the
//! same, by the workers the messages woke and by workers started later.

use std::time::{Duration, Instant};

use futures::StreamExt;
use shared::domain::account::PLATFORM_ACCOUNT_ID;
use shared::jobs::{JobKind, JobMessage, JobStatus, NoopJob};
use tests::{Backend, TestApp, spawn_app_with};

const MESSAGES: usize = 20_000;
const JOBS: usize = 1_000;

/// A distributed deployment whose own worker takes another queue: the noop queue only fills.
async fn app_without_noop_worker() -> Option<TestApp> {
    spawn_app_with(Backend::Redis, |s| {
        s.worker.queues = vec!["verify".into()];
    })
    .await
}

fn noop(sleep_ms: u64) -> NoopJob {
    NoopJob {
        sleep_ms,
        timeout_ms: None,
        fail_attempts: 0,
        blocking_ms: 0,
        blocking_check_ms: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_waiting_messages_drain_and_every_job_runs_once() {
    let Some(app) = app_without_noop_worker().await else {
        return;
    };
    let queues = app.jobs.queues().clone();

    // Arrange: 20,000 bare messages (each claims the best due job, or finds none and is
    // dropped), then 1,000 real jobs behind them, whose messages do not fit under the cap.
    futures::stream::iter(0..MESSAGES)
        .for_each_concurrent(32, |_| {
            let queues = queues.clone();
            async move {
                let message = JobMessage {
                    job_id: uuid::Uuid::now_v7(),
                };
                queues.push(JobKind::Noop, message).await.expect("pushed");
            }
        })
        .await;
    let jobs: Vec<uuid::Uuid> = futures::stream::iter(0..JOBS)
        .map(|_| {
            let app = &app;
            async move {
                app.jobs
                    .enqueue(
                        app.store.as_ref(),
                        PLATFORM_ACCOUNT_ID,
                        noop(0),
                        0,
                        chrono::Utc::now(),
                    )
                    .await
                    .expect("enqueued")
                    .id
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let waiting = queues.waiting(JobKind::Noop).await.expect("counted");
    assert_eq!(
        waiting,
        Some(MESSAGES as u64),
        "all {MESSAGES} wait, and no message of the jobs behind them"
    );

    // Act: a worker for the noop queue.
    let mut settings = (*app.settings).clone();
    settings.worker.queues = vec!["noop".into()];
    settings.worker.concurrency = 8;
    let stop = tokio_util::sync::CancellationToken::new();
    let w = worker::Worker::new(
        std::sync::Arc::new(settings),
        app.store.clone(),
        app.jobs.clone(),
    );
    tokio::spawn(w.run(stop.clone()));

    // Assert: the queue empties and every job succeeded on its first attempt.
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let left = queues.waiting(JobKind::Noop).await.expect("counted");
        if left == Some(0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the queue stalled: {left:?} of {MESSAGES} messages still wait"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for id in &jobs {
        let job = loop {
            let job = app.store.job(*id).await.expect("read").expect("job");
            if job.status.is_final() || Instant::now() > deadline {
                break job;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
        assert_eq!(job.attempts, 1, "ran once: {job:?}");
    }
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_deeper_than_the_message_cap_runs_once_on_a_worker_started_after() {
    let Some(app) = app_without_noop_worker().await else {
        return;
    };
    let queues = app.jobs.queues().clone();
    let cap = usize::try_from(platform::enqueue::MESSAGE_CAP).expect("fits");

    // Arrange: three times the cap of jobs (20 ms each) queued in batches, no consumer.
    let job = noop(20);
    let mut jobs = Vec::new();
    for _ in 0..3 * cap / 100 {
        let batch = app
            .jobs
            .enqueue_many(
                app.store.as_ref(),
                PLATFORM_ACCOUNT_ID,
                (0..100).map(|_| job.clone().into()).collect(),
                0,
                chrono::Utc::now(),
            )
            .await
            .expect("enqueued");
        jobs.extend(batch.into_iter().map(|j| j.id));
    }
    let waiting = queues.waiting(JobKind::Noop).await.expect("counted");
    assert_eq!(waiting, Some(cap as u64), "messages stop at the cap");

    // Act: two workers; the second starts once the first has taken every message.
    let mut settings = (*app.settings).clone();
    settings.worker.queues = vec!["noop".into()];
    settings.worker.concurrency = 4;
    let settings = std::sync::Arc::new(settings);
    let stop = tokio_util::sync::CancellationToken::new();
    let start = |settings: std::sync::Arc<shared::config::Settings>| {
        let w = worker::Worker::new(settings, app.store.clone(), app.jobs.clone());
        tokio::spawn(w.run(stop.clone()));
    };
    start(settings.clone());
    let deadline = Instant::now() + Duration::from_secs(120);
    while queues.waiting(JobKind::Noop).await.expect("counted") != Some(0) {
        assert!(Instant::now() < deadline, "the messages were not taken");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start(settings);

    // Assert: every job succeeded once, and the worker that started without a message took
    // its share.
    let mut workers = std::collections::HashSet::new();
    let mut left = jobs.clone();
    while !left.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} of {} jobs never ran",
            left.len(),
            jobs.len()
        );
        let mut still = Vec::new();
        for id in left {
            let job = app.store.job(id).await.expect("read").expect("job");
            if !job.status.is_final() {
                still.push(id);
                continue;
            }
            assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
            assert_eq!(job.attempts, 1, "ran once: {job:?}");
            workers.insert(job.worker_id);
        }
        left = still;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(workers.len(), 2, "{workers:?}");
    stop.cancel();
}
