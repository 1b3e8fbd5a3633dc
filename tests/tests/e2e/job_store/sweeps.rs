//! The recovery sweep (lost workers, lost messages), listings, queue counts and the workers
//! registry.

use super::*;

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
            failed.error.as_ref().map(|e| e.kind),
            Some(shared::jobs::FailureKind::WorkerLost)
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
                tool_id: None,
            },
            None,
            10,
        )
        .await;
        let running_only = list(
            JobFilter {
                status: Some(JobStatus::Running),
                kind: Some(JobKind::Evaluate),
                tool_id: None,
            },
            None,
            10,
        )
        .await;
        let failed = list(
            JobFilter {
                status: Some(JobStatus::Failed),
                kind: None,
                tool_id: None,
            },
            None,
            10,
        )
        .await;
        let evaluate = list(
            JobFilter {
                status: None,
                kind: Some(JobKind::Evaluate),
                tool_id: None,
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

    // Assert: one entry per kind, in `JobKind::ALL` order; only `evaluate` has jobs.
    let zeros: Vec<QueueCounts> = JobKind::ALL
        .iter()
        .map(|k| QueueCounts {
            queue: k.queue().into(),
            ..QueueCounts::default()
        })
        .collect();
    assert_eq!(empty, zeros, "every kind, zeros included");
    let expected: Vec<QueueCounts> = zeros
        .into_iter()
        .map(|z| match z.queue.as_str() {
            "evaluate" => QueueCounts {
                queued: 2,
                running: 1,
                succeeded: 1,
                canceled: 1,
                ..z
            },
            _ => z,
        })
        .collect();
    assert_eq!(counts, expected);
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

store_test!(
    recovery_cancels_a_job_whose_owner_canceled_it_before_its_worker_died,
    |app| {
        let owner = app.user("owner").await.id;
        let job = create(&app, owner, 0, 3, 0).await;
        claim(&app, "w1", 1).await.expect("claimed");
        app.store
            .cancel_job(owner, job.id, at(2))
            .await
            .expect("cancel requested");

        let swept = app
            .store
            .recover_jobs(at(100), Duration::from_secs(3600), 10)
            .await
            .expect("sweep runs");

        assert!(swept.is_empty(), "not delivered again: {swept:?}");
        let after = reload(&app, job.id).await;
        assert_eq!(after.status, JobStatus::Canceled);
        assert_eq!(after.result, None);
        assert_eq!(after.finished_at, Some(at(100)));
        assert_eq!(after.message.as_deref(), Some("canceled by the owner"));
        assert_eq!(after.attempts, 1);
    }
);

store_test!(
    a_busy_queue_gets_no_redelivered_messages_and_a_stalled_one_does,
    |app| {
        let owner = app.user("owner").await.id;
        let waiting = create(&app, owner, 0, 3, 0).await;
        let moving = create(&app, owner, 0, 3, 0).await;
        let minute = Duration::from_secs(60);
        // Another job of the kind starts at 100 s: the queue is draining, not stalled.
        let claimed = claim(&app, "w1", 100).await.expect("claimed");
        assert_eq!(claimed.id, waiting.id, "the older job first");

        let busy = app
            .store
            .recover_jobs(at(120), minute, 10)
            .await
            .expect("sweep runs");
        let stalled = app
            .store
            .recover_jobs(at(100 + 61), minute, 10)
            .await
            .expect("sweep runs");

        assert!(busy.is_empty(), "a job started within the minute: {busy:?}");
        // The busy job's message is pushed again; the claimed one's lease ran out at 130 s,
        // so it is recovered and pushed as well.
        assert!(
            stalled.iter().any(|d| d.job_id == moving.id),
            "nothing started for a minute: {stalled:?}"
        );
    }
);
