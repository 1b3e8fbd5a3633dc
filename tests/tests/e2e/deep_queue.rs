//! A Redis queue of any depth drains. apalis-redis 1.0 keeps pushed messages in a scheduled
//! set that its fetch moves in one Lua call, which fails beyond about 8,000 messages; with
//! 10,000 waiting, every fetch failed and no job ever completed. The platform moves due
//! messages in bounded chunks, so 20,000 waiting messages drain, and every job among them
//! runs exactly once.

use std::time::{Duration, Instant};

use futures::StreamExt;
use shared::domain::account::PLATFORM_ACCOUNT_ID;
use shared::jobs::{JobKind, JobMessage, JobStatus, NoopJob};
use tests::{Backend, spawn_app_with};

const MESSAGES: usize = 20_000;
const JOBS: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_waiting_messages_drain_and_every_job_runs_once() {
    // The app's own worker takes another queue: the noop queue only fills.
    let Some(app) = spawn_app_with(Backend::Redis, |s| {
        s.worker.queues = vec!["verify".into()];
    })
    .await
    else {
        return;
    };
    let queues = app.jobs.queues().clone();

    // Arrange: 19,000 bare messages (each claims the best due job, or finds none and is
    // dropped), then 1,000 real jobs behind them, all waiting with no consumer.
    futures::stream::iter(0..MESSAGES - JOBS)
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
                let noop = NoopJob {
                    sleep_ms: 0,
                    timeout_ms: None,
                    fail_attempts: 0,
                    blocking_ms: 0,
                    blocking_check_ms: 0,
                };
                app.jobs
                    .enqueue(
                        app.store.as_ref(),
                        PLATFORM_ACCOUNT_ID,
                        noop,
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
    assert_eq!(waiting, Some(MESSAGES as u64), "all {MESSAGES} wait");

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
