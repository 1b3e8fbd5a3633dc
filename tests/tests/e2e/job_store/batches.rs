//! Batch claims: one statement takes several jobs, in turns across accounts, and concurrent
//! batch claimers never take a job twice.

use super::*;

async fn claim_batch(app: &TestApp, worker: &str, now: i64, max: u32) -> Vec<Job> {
    app.store
        .claim_jobs(JobKind::Evaluate, worker, at(now), LEASE, max)
        .await
        .expect("claim runs")
}

store_test!(a_batch_takes_turns_across_accounts, |app| {
    // Arrange: a already runs one job and has four more waiting, b has two, c one.
    let (a, b, c) = (
        app.user("a").await.id,
        app.user("b").await.id,
        app.user("c").await.id,
    );
    create(&app, a, 0, 3, 0).await;
    claim(&app, "w0", 1).await.expect("a's first job runs");
    let mut a_waiting = Vec::new();
    for _ in 0..4 {
        a_waiting.push(create(&app, a, 0, 3, 2).await.id);
    }
    let b_waiting = [
        create(&app, b, 0, 3, 2).await.id,
        create(&app, b, 0, 3, 2).await.id,
    ];
    let c_waiting = create(&app, c, 0, 3, 2).await.id;

    // Act
    let batch = claim_batch(&app, "w1", 3, 4).await;
    let next = claim_batch(&app, "w2", 3, 1).await;

    // Assert: first turns go to b and c (nothing running), then a's oldest and b's second;
    // a's second waits for the next claim.
    let taken: HashSet<Uuid> = batch.iter().map(|j| j.id).collect();
    let expected: HashSet<Uuid> = [b_waiting[0], c_waiting, a_waiting[0], b_waiting[1]].into();
    assert_eq!(taken, expected);
    for job in &batch {
        assert_eq!(job.status, JobStatus::Running);
        assert_eq!(job.attempts, 1);
        assert_eq!(job.worker_id.as_deref(), Some("w1"));
        assert_eq!(job.lease_until, Some(at(33)));
    }
    assert_eq!(
        next.iter().map(|j| j.id).collect::<Vec<_>>(),
        [a_waiting[1]]
    );
    assert!(
        claim_batch(&app, "w1", 3, 0).await.is_empty(),
        "a batch of none"
    );
});

store_test!(a_batch_takes_at_most_what_is_due, |app| {
    // Arrange: three due jobs and one retry that is not due yet.
    let owner = app.user("owner").await.id;
    for _ in 0..3 {
        create(&app, owner, 0, 3, 0).await;
    }
    let later = create(&app, owner, 9, 3, 0).await;
    let retry = claim(&app, "w0", 1).await.expect("the premium job first");
    assert_eq!(retry.id, later.id);
    let failure = JobFailure::new(FailureKind::Transient, "busy", "try later");
    app.store
        .finish_job(
            &claim_of(&retry),
            &JobOutcome::Retry {
                error: failure,
                run_after: at(3600),
            },
            at(2),
        )
        .await
        .expect("retry recorded");

    // Act
    let batch = claim_batch(&app, "w1", 5, 10).await;

    // Assert
    assert_eq!(batch.len(), 3, "the three due jobs, not the retry");
    assert!(batch.iter().all(|j| j.id != later.id));
    assert!(claim_batch(&app, "w1", 6, 10).await.is_empty());
});

store_test!(
    concurrent_batch_claimers_take_each_job_exactly_once,
    |app| {
        // Arrange
        let owner = app.user("owner").await.id;
        let mut created = HashSet::new();
        for _ in 0..120 {
            created.insert(create(&app, owner, 0, 3, 0).await.id);
        }
        let start = Arc::new(tokio::sync::Barrier::new(8));

        // Act: 8 claimers taking batches of up to 7 until nothing is left.
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (store, start) = (app.store.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    let mut mine = Vec::new();
                    loop {
                        let batch = store
                            .claim_jobs(JobKind::Evaluate, &format!("w{i}"), at(1), LEASE, 7)
                            .await
                            .expect("claim runs");
                        assert!(batch.len() <= 7, "a batch holds at most its maximum");
                        if batch.is_empty() {
                            break;
                        }
                        mine.extend(batch.into_iter().map(|j| j.id));
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
        assert_eq!(claimed.len(), 120, "no job claimed twice");
        assert_eq!(claimed.into_iter().collect::<HashSet<_>>(), created);
    }
);

store_test!(
    a_batch_of_outcomes_writes_what_one_finish_each_writes,
    |app| {
        // Arrange: two identical sets of claimed jobs, and one more job that a claim no
        // longer held (an older attempt's) tries to finish.
        let owner = app.user("owner").await.id;
        let outcomes = [
            JobOutcome::Succeeded {
                result: json!({"total_return": 0.125, "trades": [1, 2, 3]}),
            },
            JobOutcome::Failed {
                error: problem("bad input"),
            },
            JobOutcome::Canceled,
            JobOutcome::Retry {
                error: problem("busy"),
                run_after: at(60),
            },
        ];
        let new: Vec<NewJob> = (0..2 * outcomes.len() + 1)
            .map(|_| new_job(owner, 0, 3))
            .collect();
        app.store.create_jobs(&new, at(0)).await.expect("created");
        let claimed = claim_batch(&app, "w1", 1, 100).await;
        assert_eq!(claimed.len(), new.len());
        let (one_by_one, batched) = claimed.split_at(outcomes.len());
        let stale = JobClaim {
            attempt: 0,
            ..claim_of(&batched[outcomes.len()])
        };

        // Act
        let mut single = Vec::new();
        for (job, outcome) in one_by_one.iter().zip(&outcomes) {
            single.push(
                app.store
                    .finish_job(&claim_of(job), outcome, at(5))
                    .await
                    .expect("runs"),
            );
        }
        let mut done: Vec<(JobClaim, JobOutcome)> = batched[..outcomes.len()]
            .iter()
            .zip(&outcomes)
            .map(|(job, outcome)| (claim_of(job), outcome.clone()))
            .collect();
        done.push((stale.clone(), outcomes[0].clone()));
        let written = app.store.finish_jobs(&done, at(5)).await.expect("runs");

        // Assert
        assert_eq!(single, [true; 4]);
        assert_eq!(written, [true, true, true, true, false]);
        for (a, b) in one_by_one.iter().zip(batched) {
            let (a, b) = (reload(&app, a.id).await, reload(&app, b.id).await);
            assert_eq!(
                (a.status, a.progress, &a.result, &a.error, &a.message),
                (b.status, b.progress, &b.result, &b.error, &b.message)
            );
            assert_eq!(
                (a.finished_at, a.lease_until, a.run_after, a.updated_at),
                (b.finished_at, b.lease_until, b.run_after, b.updated_at)
            );
        }
        let other = reload(&app, stale.job_id).await;
        assert_eq!(
            other.status,
            JobStatus::Running,
            "the held claim is untouched"
        );
        assert_eq!((other.result, other.finished_at), (None, None));
    }
);
