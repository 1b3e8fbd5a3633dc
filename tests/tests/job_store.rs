//! The jobs table through the store: claims by priority then age and never twice, writes only by
//! the current claim's holder, retries with backoff, cancellation, and the recovery sweep that
//! requeues jobs of dead workers and re-pushes lost messages. Every test runs on SQLite and on
//! PostgreSQL (where concurrent claims rely on `FOR UPDATE SKIP LOCKED`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use shared::jobs::{Job, JobKind, JobStatus};
use shared::store::{
    ClaimState, Dispatch, JobClaim, JobFilter, JobOutcome, NewJob, QueueCounts, StoreError,
    WorkerInfo,
};
use tests::{TestApp, store_test, test_epoch};
use uuid::Uuid;

const LEASE: Duration = Duration::from_secs(30);

fn at(seconds: i64) -> DateTime<Utc> {
    test_epoch() + TimeDelta::seconds(seconds)
}

fn new_job(owner: Uuid, priority: i32, max_attempts: i32) -> NewJob {
    NewJob {
        id: Uuid::now_v7(),
        kind: JobKind::Evaluate,
        owner_id: owner,
        priority,
        max_attempts,
        payload: json!({"tool_id": Uuid::nil(), "version": 1}),
    }
}

async fn create(app: &TestApp, owner: Uuid, priority: i32, max_attempts: i32, now: i64) -> Job {
    app.store
        .create_job(&new_job(owner, priority, max_attempts), at(now))
        .await
        .expect("job created")
}

async fn claim(app: &TestApp, worker: &str, now: i64) -> Option<Job> {
    app.store
        .claim_job(JobKind::Evaluate, worker, at(now), LEASE)
        .await
        .expect("claim runs")
}

fn claim_of(job: &Job) -> JobClaim {
    JobClaim {
        job_id: job.id,
        worker_id: job.worker_id.clone().expect("a claimed job has a worker"),
        attempt: job.attempts,
    }
}

async fn reload(app: &TestApp, id: Uuid) -> Job {
    app.store
        .job(id)
        .await
        .expect("job read")
        .expect("job exists")
}

fn problem(title: &str) -> Value {
    json!({"type": "about:blank", "title": title, "status": 500})
}

store_test!(
    claims_take_the_highest_priority_then_the_oldest_due_job,
    |app| {
        // Arrange
        let owner = app.user("owner").await.id;
        let old_low = create(&app, owner, 0, 3, 0).await;
        let high = create(&app, owner, 5, 3, 0).await;
        let new_low = create(&app, owner, 0, 3, 0).await;
        let later = create(&app, owner, 9, 3, 3600).await;

        // Act
        let mut order = Vec::new();
        while let Some(job) = claim(&app, "w1", 10).await {
            order.push(job);
        }

        // Assert
        let ids: Vec<Uuid> = order.iter().map(|j| j.id).collect();
        assert_eq!(
            ids,
            [high.id, old_low.id, new_low.id],
            "the job due later waits"
        );
        let first = &order[0];
        assert_eq!(first.status, JobStatus::Running);
        assert_eq!(first.attempts, 1);
        assert_eq!(first.worker_id.as_deref(), Some("w1"));
        assert_eq!(first.lease_until, Some(at(40)));
        assert_eq!(first.started_at, Some(at(10)));
        let due = claim(&app, "w1", 3600).await.expect("due at last");
        assert_eq!(due.id, later.id);
    }
);

store_test!(concurrent_claimers_take_each_job_exactly_once, |app| {
    // Arrange
    let owner = app.user("owner").await.id;
    let mut created = HashSet::new();
    for _ in 0..10 {
        created.insert(create(&app, owner, 0, 3, 0).await.id);
    }
    let start = Arc::new(tokio::sync::Barrier::new(20));

    // Act: 20 claimers, each claiming until nothing is left.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, start) = (app.store.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let mut mine = Vec::new();
                while let Some(job) = store
                    .claim_job(JobKind::Evaluate, &format!("w{i}"), at(1), LEASE)
                    .await
                    .expect("claim runs")
                {
                    mine.push(job.id);
                }
                mine
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.expect("claimer finished"));
    }

    // Assert
    assert_eq!(claimed.len(), 10, "no job claimed twice: {claimed:?}");
    assert_eq!(claimed.into_iter().collect::<HashSet<_>>(), created);
});

store_test!(only_the_current_claim_can_finish_a_job, |app| {
    // Arrange
    let owner = app.user("owner").await.id;
    create(&app, owner, 0, 3, 0).await;
    let job = claim(&app, "w1", 1).await.expect("claimed");
    let claim = claim_of(&job);
    let done = JobOutcome::Succeeded {
        result: json!({"sharpe": 1.5}),
    };

    // Act
    let stale_attempt = JobClaim {
        attempt: 2,
        ..claim.clone()
    };
    let other_worker = JobClaim {
        worker_id: "w2".into(),
        ..claim.clone()
    };
    let by_stale = app
        .store
        .finish_job(&stale_attempt, &done, at(2))
        .await
        .expect("runs");
    let by_other = app
        .store
        .finish_job(&other_worker, &done, at(2))
        .await
        .expect("runs");
    let touched = app
        .store
        .touch_job(&other_worker, Some((0.5, None)), at(2), LEASE)
        .await
        .expect("runs");
    let untouched = reload(&app, job.id).await;
    let by_holder = app
        .store
        .finish_job(&claim, &done, at(3))
        .await
        .expect("runs");
    let again = app
        .store
        .finish_job(&claim, &JobOutcome::Canceled, at(4))
        .await
        .expect("runs");

    // Assert
    assert!(!by_stale && !by_other, "a stale claim writes nothing");
    assert_eq!(
        touched,
        ClaimState {
            held: false,
            cancel_requested: false
        }
    );
    assert_eq!(untouched, job, "nothing written by the stale claims");
    assert!(by_holder);
    assert!(!again, "a finished job cannot finish twice");
    let finished = reload(&app, job.id).await;
    assert_eq!(finished.status, JobStatus::Succeeded);
    assert_eq!(finished.progress, 1.0);
    assert_eq!(finished.result, Some(json!({"sharpe": 1.5})));
    assert_eq!(finished.finished_at, Some(at(3)));
    assert_eq!(finished.lease_until, None);
});

store_test!(touch_renews_the_lease_and_stores_clamped_progress, |app| {
    // Arrange
    let owner = app.user("owner").await.id;
    create(&app, owner, 0, 3, 0).await;
    let job = claim(&app, "w1", 1).await.expect("claimed");

    // Act
    let state = app
        .store
        .touch_job(
            &claim_of(&job),
            Some((1.7, Some("fold 3 of 5"))),
            at(20),
            LEASE,
        )
        .await
        .expect("runs");
    app.store
        .touch_job(&claim_of(&job), None, at(25), LEASE)
        .await
        .expect("runs");

    // Assert
    assert_eq!(
        state,
        ClaimState {
            held: true,
            cancel_requested: false
        }
    );
    let touched = reload(&app, job.id).await;
    assert_eq!(touched.progress, 1.0, "clamped to 1");
    assert_eq!(touched.message.as_deref(), Some("fold 3 of 5"));
    assert_eq!(touched.lease_until, Some(at(55)));
});

store_test!(
    a_retry_waits_for_its_backoff_and_fails_on_the_last_attempt,
    |app| {
        // Arrange
        let owner = app.user("owner").await.id;
        let created = create(&app, owner, 0, 2, 0).await;
        let first = claim(&app, "w1", 1).await.expect("claimed");
        let retry = |run_after| JobOutcome::Retry {
            error: problem("Database unavailable"),
            run_after,
        };

        // Act: the first attempt fails transiently.
        assert!(
            app.store
                .finish_job(&claim_of(&first), &retry(at(11)), at(2))
                .await
                .expect("runs")
        );
        let waiting = reload(&app, created.id).await;
        let too_early = claim(&app, "w2", 10).await;
        let second = claim(&app, "w2", 11).await.expect("due after the backoff");
        let last = app
            .store
            .finish_job(&claim_of(&second), &retry(at(30)), at(12))
            .await
            .expect("runs");

        // Assert
        assert_eq!(waiting.status, JobStatus::Queued);
        assert_eq!(waiting.run_after, at(11));
        assert_eq!(
            waiting.error,
            Some(problem("Database unavailable")),
            "kept for visibility"
        );
        assert_eq!((waiting.worker_id, waiting.lease_until), (None, None));
        assert!(too_early.is_none());
        assert_eq!(second.attempts, 2);
        assert_eq!(second.started_at, Some(at(1)), "first claim time kept");
        assert!(last);
        let failed = reload(&app, created.id).await;
        assert_eq!(failed.status, JobStatus::Failed, "no attempt left");
        assert_eq!(failed.error, Some(problem("Database unavailable")));
        assert_eq!(failed.finished_at, Some(at(12)));
        assert!(claim(&app, "w3", 60).await.is_none());
    }
);

store_test!(cancel_ends_a_queued_job_and_flags_a_running_one, |app| {
    // Arrange
    let owner = app.user("owner").await.id;
    let stranger = app.user("stranger").await.id;
    let running = create(&app, owner, 0, 3, 0).await;
    let claimed = claim(&app, "w1", 1).await.expect("claimed");
    let queued = create(&app, owner, 0, 3, 2).await;

    // Act
    let by_stranger = app.store.cancel_job(stranger, queued.id, at(3)).await;
    let canceled = app
        .store
        .cancel_job(owner, queued.id, at(3))
        .await
        .expect("canceled");
    let flagged = app
        .store
        .cancel_job(owner, running.id, at(4))
        .await
        .expect("flagged");
    let state = app
        .store
        .touch_job(&claim_of(&claimed), None, at(5), LEASE)
        .await
        .expect("runs");
    let stopped = app
        .store
        .finish_job(&claim_of(&claimed), &JobOutcome::Canceled, at(6))
        .await
        .expect("runs");
    let final_again = app
        .store
        .cancel_job(owner, running.id, at(7))
        .await
        .expect("unchanged");

    // Assert
    assert!(
        matches!(by_stranger, Err(StoreError::NotFound)),
        "{by_stranger:?}"
    );
    assert_eq!(canceled.status, JobStatus::Canceled);
    assert_eq!(canceled.finished_at, Some(at(3)));
    assert!(
        claim(&app, "w2", 10).await.is_none(),
        "a canceled job is never claimed"
    );
    assert_eq!(flagged.status, JobStatus::Running);
    assert!(flagged.cancel_requested);
    assert_eq!(
        state,
        ClaimState {
            held: true,
            cancel_requested: true
        }
    );
    assert!(stopped);
    assert_eq!(final_again.status, JobStatus::Canceled);
    assert_eq!(
        final_again.message.as_deref(),
        Some("canceled by the owner")
    );
    assert_eq!(final_again.result, None);
    assert_eq!(final_again.finished_at, Some(at(6)));
});

store_test!(
    recovery_requeues_jobs_of_lost_workers_and_fails_the_last_attempt,
    |app| {
        // Arrange: two running jobs whose worker stops renewing; one has no attempt left.
        let owner = app.user("owner").await.id;
        let retried = create(&app, owner, 0, 3, 0).await;
        let claimed = claim(&app, "w1", 1).await.expect("claimed");
        let last = create(&app, owner, 0, 1, 2).await;
        let last_claimed = claim(&app, "w1", 3).await.expect("claimed");
        let hour = Duration::from_secs(3600);

        // Act
        let before_expiry = app
            .store
            .recover_jobs(at(30), hour, 10)
            .await
            .expect("sweep runs");
        let swept = app
            .store
            .recover_jobs(at(40), hour, 10)
            .await
            .expect("sweep runs");

        // Assert
        assert!(
            before_expiry.is_empty(),
            "leases still valid: {before_expiry:?}"
        );
        assert_eq!(
            swept,
            [Dispatch {
                job_id: retried.id,
                kind: JobKind::Evaluate
            }]
        );
        let requeued = reload(&app, retried.id).await;
        assert_eq!(requeued.status, JobStatus::Queued);
        assert_eq!(requeued.message.as_deref(), Some("worker lost; retrying"));
        assert_eq!((requeued.worker_id, requeued.lease_until), (None, None));
        assert_eq!(requeued.run_after, at(40));
        let state = app
            .store
            .touch_job(&claim_of(&claimed), None, at(41), LEASE)
            .await
            .expect("runs");
        assert!(!state.held, "the lost worker's claim is gone");
        let failed = reload(&app, last.id).await;
        assert_eq!(failed.status, JobStatus::Failed);
        assert_eq!(
            failed.error.as_ref().map(|e| &e["title"]),
            Some(&json!("Worker lost"))
        );
        assert_eq!(failed.finished_at, Some(at(40)));
        assert!(
            !app.store
                .finish_job(&claim_of(&last_claimed), &JobOutcome::Canceled, at(42))
                .await
                .expect("runs")
        );
        let again = claim(&app, "w2", 41).await.expect("claimable again");
        assert_eq!((again.id, again.attempts), (retried.id, 2));
    }
);

store_test!(
    recovery_redelivers_a_queued_job_only_after_redeliver_after,
    |app| {
        // Arrange: created (and pushed) at 0.
        let owner = app.user("owner").await.id;
        let job = create(&app, owner, 0, 3, 0).await;
        let minute = Duration::from_secs(60);

        // Act
        let early = app
            .store
            .recover_jobs(at(30), minute, 10)
            .await
            .expect("sweep runs");
        let late = app
            .store
            .recover_jobs(at(61), minute, 10)
            .await
            .expect("sweep runs");
        let just_after = app
            .store
            .recover_jobs(at(62), minute, 10)
            .await
            .expect("sweep runs");
        app.store
            .mark_delivered(job.id, at(200))
            .await
            .expect("marked");
        let after_push = app
            .store
            .recover_jobs(at(230), minute, 10)
            .await
            .expect("sweep runs");
        let limited = {
            create(&app, owner, 0, 3, 0).await;
            app.store
                .recover_jobs(at(1000), minute, 1)
                .await
                .expect("sweep runs")
        };

        // Assert
        assert!(early.is_empty());
        assert_eq!(
            late,
            [Dispatch {
                job_id: job.id,
                kind: JobKind::Evaluate
            }]
        );
        assert!(just_after.is_empty(), "delivered again just now");
        assert!(after_push.is_empty(), "pushed at 200");
        assert_eq!(
            limited,
            [Dispatch {
                job_id: job.id,
                kind: JobKind::Evaluate
            }],
            "oldest first, at most the limit"
        );
    }
);

store_test!(discard_removes_only_a_job_never_claimed, |app| {
    // Arrange
    let owner = app.user("owner").await.id;
    let claimed = create(&app, owner, 0, 3, 0).await;
    claim(&app, "w1", 1).await.expect("claimed");
    let fresh = create(&app, owner, 0, 3, 2).await;

    // Act
    let removed = app.store.discard_job(fresh.id).await.expect("runs");
    let kept = app.store.discard_job(claimed.id).await.expect("runs");

    // Assert
    assert!(removed && !kept);
    assert!(app.store.job(fresh.id).await.expect("read").is_none());
    assert!(app.store.job(claimed.id).await.expect("read").is_some());
});

store_test!(
    list_jobs_filters_by_status_and_kind_and_pages_newest_first,
    |app| {
        // Arrange
        let owner = app.user("owner").await.id;
        let other = app.user("other").await.id;
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(create(&app, owner, 0, 3, i).await.id);
        }
        create(&app, other, 0, 3, 0).await;
        let running = claim(&app, "w1", 10).await.expect("claimed").id;
        let all = JobFilter::default();
        let list = |filter: JobFilter, before: Option<Uuid>, limit: i64| {
            let store = app.store.clone();
            async move {
                let jobs = store
                    .list_jobs(owner, &filter, before, limit)
                    .await
                    .expect("listed");
                jobs.into_iter().map(|j| j.id).collect::<Vec<_>>()
            }
        };

        // Act
        let page1 = list(all.clone(), None, 2).await;
        let page2 = list(all.clone(), page1.last().copied(), 2).await;
        let page3 = list(all.clone(), page2.last().copied(), 2).await;
        let queued = list(
            JobFilter {
                status: Some(JobStatus::Queued),
                kind: None,
            },
            None,
            10,
        )
        .await;
        let running_only = list(
            JobFilter {
                status: Some(JobStatus::Running),
                kind: Some(JobKind::Evaluate),
            },
            None,
            10,
        )
        .await;
        let failed = list(
            JobFilter {
                status: Some(JobStatus::Failed),
                kind: None,
            },
            None,
            10,
        )
        .await;
        let evaluate = list(
            JobFilter {
                status: None,
                kind: Some(JobKind::Evaluate),
            },
            None,
            10,
        )
        .await;

        // Assert
        let newest_first: Vec<Uuid> = ids.iter().rev().copied().collect();
        assert_eq!(
            [page1, page2, page3].concat(),
            newest_first,
            "another owner's jobs never listed"
        );
        assert_eq!(running_only, [running]);
        assert_eq!(queued.len(), 4);
        assert!(!queued.contains(&running));
        assert!(failed.is_empty());
        assert_eq!(evaluate, newest_first);
    }
);

store_test!(queue_counts_lists_every_kind_by_status, |app| {
    // Arrange
    let owner = app.user("owner").await.id;
    let empty = app.store.queue_counts().await.expect("counted");
    for i in 0..4 {
        create(&app, owner, 0, 3, i).await;
    }
    let done = claim(&app, "w1", 10).await.expect("claimed");
    let result = JobOutcome::Succeeded { result: json!({}) };
    app.store
        .finish_job(&claim_of(&done), &result, at(11))
        .await
        .expect("finished");
    claim(&app, "w1", 12).await.expect("claimed");
    let queued = create(&app, owner, 0, 3, 13).await;
    app.store
        .cancel_job(owner, queued.id, at(14))
        .await
        .expect("canceled");

    // Act
    let counts = app.store.queue_counts().await.expect("counted");

    // Assert
    let zero = QueueCounts {
        queue: "evaluate".into(),
        ..QueueCounts::default()
    };
    assert_eq!(empty, [zero.clone()], "every kind, zeros included");
    let expected = QueueCounts {
        queued: 2,
        running: 1,
        succeeded: 1,
        canceled: 1,
        ..zero
    };
    assert_eq!(counts, [expected]);
});

store_test!(
    workers_are_live_while_they_heartbeat_until_they_stop,
    |app| {
        // Arrange
        let worker = |id: &str, started: i64, heartbeat: i64, in_flight: i32| WorkerInfo {
            id: id.into(),
            host: "host-a".into(),
            queues: vec!["evaluate".into()],
            concurrency: 4,
            in_flight,
            started_at: at(started),
            heartbeat_at: at(heartbeat),
            stopped_at: None,
        };
        let store = &app.store;

        // Act
        store
            .heartbeat_worker(&worker("w2", 5, 5, 0))
            .await
            .expect("registered");
        store
            .heartbeat_worker(&worker("w1", 0, 0, 0))
            .await
            .expect("registered");
        store
            .heartbeat_worker(&worker("w1", 0, 10, 2))
            .await
            .expect("refreshed");
        let both = store.live_workers(at(5)).await.expect("listed");
        let recent = store.live_workers(at(6)).await.expect("listed");
        store.stop_worker("w1", at(11)).await.expect("stopped");
        let after_stop = store.live_workers(at(0)).await.expect("listed");

        // Assert
        assert_eq!(
            both,
            [worker("w1", 0, 10, 2), worker("w2", 5, 5, 0)],
            "by start, refreshed"
        );
        assert_eq!(recent, [worker("w1", 0, 10, 2)], "w2 missed its heartbeat");
        assert_eq!(after_stop, [worker("w2", 5, 5, 0)]);
    }
);
