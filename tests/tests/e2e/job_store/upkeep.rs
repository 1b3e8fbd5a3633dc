//! The sweep and the table upkeep that keep a deep queue as fast as a short one: the recovery
//! sweep reads only jobs without a message and the waiting jobs of stalled kinds, never a busy
//! kind's backlog; workers vacuum and analyze the jobs table when the database does not.

use secrecy::ExposeSecret;
use shared::store::JobsMaintenance;
use tests::Backend;

use super::*;

fn of_kind(kind: JobKind, owner: Uuid, priority: i32) -> NewJob {
    NewJob {
        kind,
        ..new_job(owner, priority, 3)
    }
}

store_test!(
    the_sweep_pushes_jobs_without_a_message_and_stalled_kinds_not_a_busy_backlog,
    |app| {
        // Arrange: a busy evaluation backlog (one started at 100 s), a retry whose backoff
        // ended (no message), and a no-op backlog nobody took for a minute (stalled).
        let owner = app.user("owner").await.id;
        let backlog: Vec<NewJob> = (0..400).map(|_| new_job(owner, 0, 3)).collect();
        app.store
            .create_jobs(&backlog, at(0))
            .await
            .expect("created");
        claim(&app, "w1", 100).await.expect("claimed");
        let retried = app
            .store
            .create_job(&new_job(owner, 3, 3), at(100))
            .await
            .expect("created");
        let held = claim(&app, "w1", 101).await.expect("claimed");
        assert_eq!(held.id, retried.id, "the highest priority first");
        let retry = JobOutcome::Retry {
            error: problem("busy"),
            run_after: at(110),
        };
        assert!(
            app.store
                .finish_job(&claim_of(&held), &retry, at(102))
                .await
                .expect("runs")
        );
        let noops: Vec<NewJob> = (0..400).map(|_| of_kind(JobKind::Noop, owner, 0)).collect();
        let noops = app.store.create_jobs(&noops, at(0)).await.expect("created");
        let minute = Duration::from_secs(60);

        // Act
        let first = app
            .store
            .recover_jobs(at(120), minute, 10)
            .await
            .expect("sweep runs");
        let second = app
            .store
            .recover_jobs(at(121), minute, 10)
            .await
            .expect("sweep runs");

        // Assert: the retry first (highest priority), then the oldest stalled no-ops, at most
        // the limit; the busy evaluations are not pushed again; the next sweep goes on where
        // the first stopped.
        let dispatch = |job: &Job| Dispatch {
            job_id: job.id,
            kind: job.kind,
        };
        let mut expected = vec![dispatch(&retried)];
        expected.extend(noops[..9].iter().map(dispatch));
        assert_eq!(first, expected);
        assert_eq!(
            second,
            noops[9..19].iter().map(dispatch).collect::<Vec<_>>()
        );
    }
);

store_test!(
    workers_keep_the_jobs_table_analyzed_and_vacuumed_when_the_database_does_not,
    |app| {
        // Arrange: 1,500 jobs queued, claimed and finished: three row versions each.
        let owner = app.user("owner").await.id;
        let jobs: Vec<NewJob> = (0..1_500).map(|_| new_job(owner, 0, 3)).collect();
        app.store.create_jobs(&jobs, at(0)).await.expect("created");
        loop {
            let batch = app
                .store
                .claim_jobs(JobKind::Evaluate, "w1", at(1), LEASE, 100)
                .await
                .expect("claim runs");
            if batch.is_empty() {
                break;
            }
            for job in &batch {
                app.store
                    .finish_job(&claim_of(job), &JobOutcome::Canceled, at(2))
                    .await
                    .expect("finished");
            }
        }
        if app.backend == Backend::Sqlite {
            assert_eq!(
                app.store.maintain_jobs().await.expect("runs"),
                JobsMaintenance::Automatic
            );
            return;
        }
        let url = &app.settings.database.url;
        let pool = sqlx::PgPool::connect(url.expose_secret())
            .await
            .expect("connects");
        let (autovacuum,): (String,) = sqlx::query_as("SELECT current_setting('autovacuum')")
            .fetch_one(&pool)
            .await
            .expect("reads");

        // Act: sweep as workers do (every 10 s; here at once, and again while the database
        // has not yet published the counts of the statements above, up to 30 s).
        let mut done = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let vacuumed = loop {
            done.push(app.store.maintain_jobs().await.expect("runs"));
            let (vacuumed, analyzed): (bool, bool) = sqlx::query_as(
                "SELECT last_vacuum IS NOT NULL OR last_autovacuum IS NOT NULL, \
                 last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL \
                 FROM pg_stat_user_tables WHERE relid = 'jobs'::regclass",
            )
            .fetch_one(&pool)
            .await
            .expect("reads");
            if (vacuumed && analyzed) || autovacuum == "on" || std::time::Instant::now() > deadline
            {
                break vacuumed && analyzed;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };

        // Assert
        if autovacuum == "on" {
            assert_eq!(done, [JobsMaintenance::Automatic]);
            let (options,): (Vec<String>,) = sqlx::query_as(
                "SELECT COALESCE(reloptions, '{}') FROM pg_class WHERE oid = 'jobs'::regclass",
            )
            .fetch_one(&pool)
            .await
            .expect("reads");
            assert!(
                options.contains(&"autovacuum_vacuum_scale_factor=0.01".to_owned()),
                "{options:?}"
            );
        } else {
            // By this call or by the app's own worker (it sweeps every 10 s too).
            assert!(
                vacuumed,
                "the table was not vacuumed and analyzed: {done:?}"
            );
            assert!(
                !done.contains(&JobsMaintenance::Automatic),
                "autovacuum is off: {done:?}"
            );
        }
    }
);

store_test!(
    large_results_are_stored_compressed_with_lz4_on_postgresql,
    |app| {
        // Arrange: a result as large as an evaluation's (an equity curve of 1,000 points).
        let owner = app.user("owner").await.id;
        app.store
            .create_job(&new_job(owner, 0, 3), at(0))
            .await
            .expect("created");
        let job = claim(&app, "w1", 1).await.expect("claimed");
        let curve: Vec<serde_json::Value> = (0..1_000)
            .map(|i| json!({"bar": i, "time": 1_700_000_000 + i * 86_400, "equity": 10_000.0 + f64::from(i) * 1.25}))
            .collect();
        let result = json!({"equity_curve": curve});

        // Act
        let written = app
            .store
            .finish_jobs(
                &[(
                    claim_of(&job),
                    JobOutcome::Succeeded {
                        result: result.clone(),
                    },
                )],
                at(2),
            )
            .await
            .expect("finished");

        // Assert: stored whole, and (PostgreSQL) compressed with lz4, not pglz.
        assert_eq!(written, [true]);
        let stored = app.store.job(job.id).await.expect("reads").expect("kept");
        assert_eq!(stored.result, Some(result));
        if app.backend == Backend::Sqlite {
            return;
        }
        let pool = sqlx::PgPool::connect(app.settings.database.url.expose_secret())
            .await
            .expect("connects");
        let (method,): (Option<String>,) =
            sqlx::query_as("SELECT pg_column_compression(result) FROM jobs WHERE id = $1")
                .bind(job.id)
                .fetch_one(&pool)
                .await
                .expect("reads");
        assert_eq!(method.as_deref(), Some("lz4"));
    }
);
