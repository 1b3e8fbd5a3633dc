//! What operators do to the job platform with the admin key, on the three deployments: every
//! account's jobs with filters, a failed job sent back to its queue (once, however often it is
//! sent), any job canceled, and each queue's depth over time as the scheduler samples it.

use serde_json::{Value, json};
use shared::domain::account::PLATFORM_ACCOUNT_ID;
use tests::{ADMIN_KEY, TestApp, queue_test, store_test_with};

fn ids(list: &Value) -> Vec<String> {
    list["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn failed_jobs(app: &TestApp) -> Vec<String> {
    let list = app
        .get("/v1/admin/jobs?status=failed&limit=100", ADMIN_KEY)
        .await;
    ids(&list.expect(200))
}

queue_test!(
    an_operator_sends_a_failed_job_back_to_its_queue_and_it_runs_once_more,
    |s: &mut shared::config::Settings| {
        s.worker.retry_base_ms = 100;
        s.worker.recover_interval_ms = 100;
        s.worker.redeliver_after_secs = 1;
    },
    |app| {
        // Arrange: a job that fails its three attempts, then would succeed on a fourth.
        let id = app.noop_job(json!({"fail_attempts": 3})).await;
        let failed = app.wait_job(&id, ADMIN_KEY, 30).await;
        assert_eq!(failed["status"], json!("failed"), "{failed}");
        assert_eq!(failed["attempts"], json!(3));
        assert!(failed_jobs(&app).await.contains(&id), "listed as failed");
        let retry = format!("/v1/admin/jobs/{id}/retry");
        let user = app.user("user").await;

        // Act
        let refused = app.post(&retry, &user.key, &json!({})).await;
        let retried = app.post(&retry, ADMIN_KEY, &json!({})).await;
        let again = app.post(&retry, ADMIN_KEY, &json!({})).await;
        let done = app.wait_job(&id, ADMIN_KEY, 30).await;
        let after = app.post(&retry, ADMIN_KEY, &json!({})).await;

        // Assert
        refused.problem(404);
        let job = retried.expect(202)["job"].clone();
        assert_eq!(job["id"], json!(id));
        assert_eq!(job["status"], json!("queued"), "{job}");
        assert_eq!(job["attempts"], json!(3), "the attempt count goes on");
        assert_eq!(job["max_attempts"], json!(6), "as many attempts again");
        assert_eq!(
            job["error"]["type"],
            json!("/problems/transient-failure"),
            "the last error stays until the next attempt ends"
        );
        let second = again.problem(409);
        assert!(
            second["detail"]
                .as_str()
                .is_some_and(|d| d.contains("only a failed job can be retried")),
            "{second}"
        );
        assert_eq!(done["status"], json!("succeeded"), "{done}");
        assert_eq!(done["attempts"], json!(4), "it ran once more, not twice");
        assert_eq!(done["result"]["attempt"], json!(4));
        assert_eq!(done["error"], Value::Null);
        after.problem(409);
        assert!(!failed_jobs(&app).await.contains(&id));
        let unknown = format!("/v1/admin/jobs/{}/retry", uuid::Uuid::now_v7());
        app.post(&unknown, ADMIN_KEY, &json!({})).await.problem(404);
    }
);

queue_test!(an_operator_cancels_any_accounts_job, |app| {
    let id = app.noop_job(json!({"sleep_ms": 20_000})).await;
    app.wait_job_until(&id, ADMIN_KEY, 30, |j| j["status"] == json!("running"))
        .await;
    let cancel = format!("/v1/admin/jobs/{id}/cancel");
    let user = app.user("user").await;

    let refused = app.post(&cancel, &user.key, &json!({})).await;
    let started = std::time::Instant::now();
    let asked = app.post(&cancel, ADMIN_KEY, &json!({})).await;
    let done = app.wait_job(&id, ADMIN_KEY, 10).await;

    refused.problem(404);
    assert_eq!(asked.expect(200)["job"]["cancel_requested"], json!(true));
    assert_eq!(done["status"], json!("canceled"), "{done}");
    assert_eq!(done["result"], Value::Null);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
});

queue_test!(
    operators_list_every_accounts_jobs_by_status_kind_and_owner,
    |app| {
        let first = app.noop_job(json!({})).await;
        let second = app.noop_job(json!({})).await;
        let third = app.noop_job(json!({})).await;
        for id in [&first, &second, &third] {
            app.wait_job(id, ADMIN_KEY, 30).await;
        }
        let user = app.user("user").await;

        let platform = format!("/v1/admin/jobs?owner={PLATFORM_ACCOUNT_ID}&kind=noop&limit=2");
        let page = app.get(&platform, ADMIN_KEY).await.expect(200);
        let cursor = page["next_cursor"]
            .as_str()
            .expect("a second page")
            .to_owned();
        let next = app
            .get(&format!("{platform}&cursor={cursor}"), ADMIN_KEY)
            .await
            .expect(200);
        let succeeded = app
            .get("/v1/admin/jobs?status=succeeded", ADMIN_KEY)
            .await
            .expect(200);
        let nobody = app
            .get(&format!("/v1/admin/jobs?owner={}", user.id), ADMIN_KEY)
            .await
            .expect(200);
        let queued = app
            .get("/v1/admin/jobs?status=queued&kind=noop", ADMIN_KEY)
            .await
            .expect(200);

        assert_eq!(
            ids(&page),
            vec![third.clone(), second.clone()],
            "newest first"
        );
        assert_eq!(ids(&next), vec![first.clone()]);
        assert_eq!(next["next_cursor"], Value::Null);
        assert!(ids(&succeeded).contains(&first));
        assert!(ids(&nobody).is_empty(), "another owner's jobs only");
        assert!(ids(&queued).is_empty(), "all three finished");
        let bad = app.get("/v1/admin/jobs?status=lost", ADMIN_KEY).await;
        assert!(bad.problem(422).to_string().contains("expected queued"));
        app.get("/v1/admin/jobs?kind=mine", ADMIN_KEY)
            .await
            .problem(422);
        app.get("/v1/admin/jobs?owner=me", ADMIN_KEY)
            .await
            .problem(400);
        app.get("/v1/admin/jobs", &user.key).await.problem(404);
    }
);

store_test_with!(
    the_scheduler_samples_every_queues_depth_for_operators,
    |s: &mut shared::config::Settings| s.scheduler.queue_sample_secs = 1,
    |app| {
        // Arrange: jobs that hold the noop queue for a few seconds.
        let mut jobs = Vec::new();
        for _ in 0..3 {
            jobs.push(app.noop_job(json!({"sleep_ms": 3_000})).await);
        }

        // Act: wait for a sample that saw them.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let history = loop {
            let h = app
                .get("/v1/admin/queues/history?hours=1", ADMIN_KEY)
                .await
                .expect(200);
            let busy = h["samples"].as_array().expect("samples").iter().any(|s| {
                s["queue"] == json!("noop")
                    && s["queued"].as_i64().unwrap_or(0) + s["running"].as_i64().unwrap_or(0) >= 1
            });
            if busy || std::time::Instant::now() > deadline {
                break h;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        for id in &jobs {
            app.wait_job(id, ADMIN_KEY, 30).await;
        }

        // Assert
        assert_eq!(history["interval_secs"], json!(1));
        let samples = history["samples"].as_array().expect("samples");
        let busy: Vec<&Value> = samples
            .iter()
            .filter(|s| s["queue"] == json!("noop"))
            .filter(|s| s["queued"].as_i64().unwrap_or(0) + s["running"].as_i64().unwrap_or(0) > 0)
            .collect();
        assert!(!busy.is_empty(), "a sample saw the noop jobs: {history}");
        assert!(
            busy.iter().all(|s| {
                s["queued"].as_i64().unwrap_or(0) + s["running"].as_i64().unwrap_or(0) <= 3
            }),
            "never more than the three jobs: {history}"
        );
        let kinds = shared::jobs::JobKind::ALL.len();
        let first_at = &samples[0]["at"];
        let at_first = samples.iter().filter(|s| &s["at"] == first_at).count();
        assert_eq!(
            at_first, kinds,
            "every queue at every sample, zeros included"
        );
        let times: Vec<chrono::DateTime<chrono::Utc>> = samples
            .iter()
            .map(|s| s["at"].as_str().expect("at").parse().expect("a time"))
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");
        assert!(
            times.iter().all(|t| t.timestamp_subsec_nanos() == 0),
            "interval starts"
        );
        let user = app.user("user").await;
        app.get("/v1/admin/queues/history", &user.key)
            .await
            .problem(404);
        app.get("/v1/admin/queues/history?hours=0", ADMIN_KEY)
            .await
            .problem(422);
    }
);
