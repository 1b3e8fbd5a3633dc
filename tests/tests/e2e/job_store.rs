//! The jobs table through the store: claims by priority then age and never twice, writes only by
//! the current claim's holder, retries with backoff, cancellation, and the recovery sweep that
//! requeues jobs of dead workers and re-pushes lost messages. Every test runs on SQLite and on
//! PostgreSQL (where concurrent claims rely on `FOR UPDATE SKIP LOCKED`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use shared::jobs::{FailureKind, Job, JobFailure, JobKind, JobStatus};
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

fn problem(title: &str) -> JobFailure {
    JobFailure::new(FailureKind::Transient, title, "the store did not answer")
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

store_test!(
    claims_alternate_between_accounts_so_a_backlog_starves_nobody,
    |app| {
        // Arrange: a floods the queue first, b queues one job afterwards, and a premium job of
        // a's still goes first.
        let a = app.user("a").await.id;
        let b = app.user("b").await.id;
        let mut backlog = Vec::new();
        for _ in 0..5 {
            backlog.push(create(&app, a, 0, 3, 0).await.id);
        }
        let late = create(&app, b, 0, 3, 0).await;
        let premium = create(&app, a, 5, 3, 0).await;

        // Act: three claims while none finishes.
        let first = claim(&app, "w1", 10).await.expect("a job");
        let second = claim(&app, "w2", 10).await.expect("a job");
        let third = claim(&app, "w3", 10).await.expect("a job");

        // Assert
        assert_eq!(first.id, premium.id, "priority comes before fairness");
        assert_eq!(
            second.id, late.id,
            "b has nothing running, so its job goes before a's backlog"
        );
        assert_eq!(third.id, backlog[0], "then a's oldest");
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

mod batches;
mod sweeps;
mod upkeep;
