//! Jobs end to end on the three deployments: embedded on SQLite and on PostgreSQL (the API
//! process runs the worker pool; the queue is apalis-sqlite), and distributed (PostgreSQL,
//! apalis-redis, a separate worker): an evaluation job runs the real engine,
//! progress streams as Server-Sent Events, cancellation, retries with backoff, timeouts, and
//! what operators see.

use serde_json::{Value, json};
use shared::domain::Metric;
use tests::{ADMIN_KEY, TestApp, queue_test};

async fn evaluable_tool(app: &TestApp) -> (tests::User, String, uuid::Uuid) {
    let creator = app.user("creator").await;
    let tool = app
        .tool(&creator, TestApp::tool_body("Cross", 10.0, "basic"))
        .await;
    let dataset = app.dataset(&creator).await;
    (
        creator,
        tool["id"].as_str().expect("id").to_owned(),
        dataset,
    )
}

queue_test!(
    an_evaluation_job_runs_the_engine_and_keeps_its_result,
    |app| {
        let (creator, tool, dataset) = evaluable_tool(&app).await;

        let job = app
            .post(
                &format!("/v1/tools/{tool}/evaluations"),
                &creator.key,
                &json!({"dataset_id": dataset, "folds": {"n": 3, "scheme": "anchored"}}),
            )
            .await
            .expect(202)["job"]
            .clone();
        assert_eq!(job["kind"], json!("evaluate"));
        assert_eq!(job["owner_id"], json!(creator.id.to_string()));
        let id = job["id"].as_str().expect("id");
        let done = app.wait_job(id, &creator.key, 60).await;

        assert_eq!(done["status"], json!("succeeded"), "{done}");
        assert_eq!(done["progress"], json!(1.0));
        assert_eq!(done["attempts"], json!(1));
        let result = &done["result"];
        for m in Metric::ALL {
            assert!(
                result["overall"]["metrics"][m.name()].is_number(),
                "overall {} in {result}",
                m.name()
            );
        }
        let folds = result["folds"].as_array().expect("folds");
        assert_eq!(folds.len(), 3);
        for f in folds {
            assert_eq!(f["in_sample"]["start_bar"], json!(0), "anchored");
            assert_eq!(f["metrics"], f["out_of_sample"]["metrics"]);
        }
        assert_eq!(folds[2]["out_of_sample"]["end_bar"], json!(500));
        assert_eq!(result["bars"], json!(500));
        assert!(
            result["timing"]["measured_spread"]
                .as_f64()
                .is_some_and(|s| s >= 0.0),
            "{result}"
        );
        assert_eq!(
            result["timing"]["modeled_ms_per_1000_bars"],
            result["overall"]["metrics"]["execution_time"],
            "execution_time is the modeled cost"
        );
        assert_eq!(result["parameters"], json!({"fast": 10, "slow": 30}));
        assert!(result["equity_curve"].as_array().expect("curve").len() <= 1_001);

        // The same evaluation again gives the same metrics, bit for bit (execution_time too).
        let again = app
            .post(
                &format!("/v1/tools/{tool}/evaluations"),
                &creator.key,
                &json!({"dataset_id": dataset, "folds": {"n": 3, "scheme": "anchored"}}),
            )
            .await
            .expect(202)["job"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let again = app.wait_job(&again, &creator.key, 60).await;
        assert_eq!(
            done["result"]["overall"]["metrics"],
            again["result"]["overall"]["metrics"]
        );
        assert_eq!(done["result"]["trades"], again["result"]["trades"]);
    }
);

queue_test!(
    evaluations_check_access_ownership_and_settings_before_enqueueing,
    |app| {
        let (creator, tool, dataset) = evaluable_tool(&app).await;
        let stranger = app.user("stranger").await;
        let path = format!("/v1/tools/{tool}/evaluations");

        let p = app
            .post(&path, &stranger.key, &json!({"dataset_id": dataset}))
            .await
            .problem(403);
        assert!(
            p["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("subscription"),
            "{p}"
        );
        let theirs = app.dataset(&stranger).await;
        let p = app
            .post(&path, &creator.key, &json!({"dataset_id": theirs}))
            .await
            .problem(422);
        assert_eq!(p["errors"][0]["field"], json!("dataset_id"));
        for (body, field) in [
            (
                json!({"dataset_id": dataset, "commission": 0.5}),
                "commission",
            ),
            (json!({"dataset_id": dataset, "folds": {"n": 0}}), "folds"),
            (json!({"dataset_id": dataset, "folds": {"n": 50}}), "folds"),
            (json!({"dataset_id": dataset, "version": 7}), "version"),
        ] {
            let p = app.post(&path, &creator.key, &body).await.problem(422);
            assert_eq!(p["errors"][0]["field"], json!(field), "{body}: {p}");
        }
        let p = app
            .post(
                &path,
                &creator.key,
                &json!({"dataset_id": dataset, "bogus": 1}),
            )
            .await
            .problem(422);
        assert!(
            p["detail"].as_str().unwrap_or_default().contains("bogus"),
            "{p}"
        );

        // Nothing was enqueued by any refused request.
        let jobs = app.get("/v1/jobs", &creator.key).await.expect(200);
        assert_eq!(jobs["jobs"], json!([]));
    }
);

queue_test!(a_job_is_visible_to_its_owner_and_the_admin_only, |app| {
    let (creator, tool, dataset) = evaluable_tool(&app).await;
    let other = app.user("other").await;
    let id = app
        .post(
            &format!("/v1/tools/{tool}/evaluations"),
            &creator.key,
            &json!({"dataset_id": dataset}),
        )
        .await
        .expect(202)["job"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.get(&format!("/v1/jobs/{id}"), &other.key)
        .await
        .problem(404);
    app.post(&format!("/v1/jobs/{id}/cancel"), &other.key, &json!({}))
        .await
        .problem(404);
    app.get(&format!("/v1/jobs/{id}/events"), &other.key)
        .await
        .problem(404);
    app.get(&format!("/v1/jobs/{id}"), ADMIN_KEY)
        .await
        .expect(200);
    app.wait_job(&id, &creator.key, 60).await;

    let mine = app
        .get("/v1/jobs?status=succeeded&kind=evaluate", &creator.key)
        .await
        .expect(200);
    assert_eq!(mine["jobs"].as_array().map(Vec::len), Some(1));
    let none = app
        .get("/v1/jobs?status=failed", &creator.key)
        .await
        .expect(200);
    assert_eq!(none["jobs"], json!([]));
    assert_eq!(
        app.get("/v1/jobs", &other.key).await.expect(200)["jobs"],
        json!([])
    );
    let p = app
        .get("/v1/jobs?status=done", &creator.key)
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], json!("status"));
});

async fn events(app: &TestApp, id: &str) -> String {
    let res = app
        .client
        .get(format!("{}/v1/jobs/{id}/events", app.address))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .expect("events request");
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/event-stream")
    );
    tokio::time::timeout(std::time::Duration::from_secs(30), res.text())
        .await
        .expect("the stream ends at the final state")
        .expect("body")
}

queue_test!(
    the_event_stream_shows_progress_and_ends_with_the_final_job,
    |app| {
        let id = app.noop_job(json!({"sleep_ms": 1_500})).await;

        let body = events(&app, &id).await;

        let running = body.matches("\"status\":\"running\"").count();
        assert!(running >= 2, "running with changing progress: {body}");
        let end = body.split("event: end").nth(1).expect("an end event");
        assert!(end.contains("\"status\":\"succeeded\""), "{end}");
        assert!(end.contains("\"slept_ms\":1500"), "{end}");

        // A finished job's stream sends its final state at once and closes.
        let again = events(&app, &id).await;
        assert_eq!(again.matches("event: ").count(), 1, "{again}");
        assert!(again.contains("event: end"));
    }
);

queue_test!(
    event_streams_are_bounded_in_number_per_caller_and_in_lifetime,
    |s: &mut shared::config::Settings| {
        s.api.max_event_streams_per_account = 1;
        s.api.event_stream_max_secs = 2;
    },
    |app| {
        let id = app.noop_job(json!({"sleep_ms": 10_000})).await;
        let url = format!("{}/v1/jobs/{id}/events", app.address);
        let open = async || {
            app.client
                .get(&url)
                .bearer_auth(ADMIN_KEY)
                .send()
                .await
                .expect("events request")
        };

        let first = open().await;
        let second = open().await;
        let started = std::time::Instant::now();
        let body = tokio::time::timeout(std::time::Duration::from_secs(15), first.text())
            .await
            .expect("the stream ends at its lifetime")
            .expect("body");
        let third = open().await;

        assert!(
            matches!(first_status(&body), Some("queued" | "running")),
            "{body}"
        );
        assert_eq!(second.status(), 429, "one stream per caller");
        assert!(
            second.headers().contains_key("retry-after"),
            "429 says when to retry"
        );
        assert!(!body.contains("event: end"), "the job still runs: {body}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "ended after about 2 s, took {:?}",
            started.elapsed()
        );
        assert_eq!(
            third.status(),
            200,
            "the slot came back when the stream ended"
        );
    }
);

/// The status of the first event of a stream's body.
fn first_status(body: &str) -> Option<&str> {
    let data = body.lines().find_map(|l| l.strip_prefix("data: "))?;
    let at = data.find("\"status\":\"")? + "\"status\":\"".len();
    data[at..].split('"').next()
}

queue_test!(a_canceled_job_stops_and_never_stores_a_result, |app| {
    let id = app.noop_job(json!({"sleep_ms": 20_000})).await;
    app.wait_job_until(&id, ADMIN_KEY, 30, |j| j["status"] == json!("running"))
        .await;

    let started = std::time::Instant::now();
    let res = app
        .send(
            reqwest::Method::POST,
            &format!("/v1/jobs/{id}/cancel"),
            Some(ADMIN_KEY),
            Some(&json!({})),
        )
        .await;
    // The admin acts for nobody: only the owner (here the platform account) may cancel.
    assert_eq!(res.status, 403, "{:?}", res.body);
    let store = app.store.clone();
    let job_id: uuid::Uuid = id.parse().expect("uuid");
    store
        .cancel_job(
            shared::domain::account::PLATFORM_ACCOUNT_ID,
            job_id,
            chrono::Utc::now(),
        )
        .await
        .expect("owner cancels");
    let done = app.wait_job(&id, ADMIN_KEY, 10).await;

    assert_eq!(done["status"], json!("canceled"), "{done}");
    assert_eq!(done["result"], Value::Null);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "stopped at the next check"
    );
});

queue_test!(
    transient_failures_retry_with_backoff_until_the_attempts_run_out,
    |s: &mut shared::config::Settings| {
        s.worker.retry_base_ms = 100;
        s.worker.recover_interval_ms = 100;
        // A retry's message can be taken by a claim that finds the job already claimed, or a
        // claim can fail on a busy SQLite under load; the sweep then redelivers after this
        // (30 s by default, longer than the test waits). The test is about retries and backoff.
        s.worker.redeliver_after_secs = 1;
    },
    |app| {
        let recovers = app.noop_job(json!({"fail_attempts": 2})).await;
        let gives_up = app.noop_job(json!({"fail_attempts": 9})).await;

        let ok = app.wait_job(&recovers, ADMIN_KEY, 30).await;
        let failed = app.wait_job(&gives_up, ADMIN_KEY, 30).await;

        assert_eq!(ok["status"], json!("succeeded"), "{ok}");
        assert_eq!(ok["attempts"], json!(3));
        assert_eq!(ok["result"]["attempt"], json!(3));
        assert_eq!(failed["status"], json!("failed"), "{failed}");
        assert_eq!(
            failed["attempts"],
            json!(3),
            "max attempts enforced by the platform"
        );
        assert_eq!(failed["error"]["status"], json!(503));
        assert_eq!(
            failed["error"]["type"],
            json!("/problems/transient-failure")
        );
    }
);

queue_test!(a_job_past_its_timeout_is_failed_not_left_running, |app| {
    let id = app
        .noop_job(json!({"sleep_ms": 30_000, "timeout_ms": 300}))
        .await;

    let done = app.wait_job(&id, ADMIN_KEY, 15).await;

    assert_eq!(done["status"], json!("failed"), "{done}");
    assert_eq!(
        done["error"]["type"],
        json!("/problems/timed-out"),
        "{done}"
    );
    assert_eq!(done["error"]["status"], json!(504), "{done}");
    assert_eq!(done["attempts"], json!(1), "a timeout is not retried");
});

queue_test!(
    a_failed_attempt_keeps_the_last_progress_its_work_reported,
    |app| {
        // Reports at 0 ms and every 100 ms; stopped at 120 ms, before the lease keeper's first
        // look (250 ms): only the write at the attempt's end can record the report.
        let id = app
            .noop_job(json!({"sleep_ms": 30_000, "timeout_ms": 120}))
            .await;

        let done = app.wait_job(&id, ADMIN_KEY, 15).await;

        assert_eq!(done["status"], json!("failed"), "{done}");
        let message = done["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("slept "),
            "the last report is kept: {done}"
        );
        assert!(
            done["progress"].as_f64().is_some_and(|p| p < 0.01),
            "{done}"
        );
    }
);

queue_test!(
    a_timed_out_job_keeps_its_slot_until_its_work_has_stopped,
    |s: &mut shared::config::Settings| {
        s.worker.concurrency = 1;
    },
    |app| {
        // Arrange: the only slot runs blocking work that looks at its stop once a second, past
        // a 200 ms timeout; a quick job of the same kind waits for the slot.
        let slow = app
            .noop_job(json!({"blocking_ms": 10_000, "blocking_check_ms": 1_000, "timeout_ms": 200}))
            .await;
        app.wait_job_until(&slow, ADMIN_KEY, 30, |j| j["status"] == json!("running"))
            .await;
        let next = app.noop_job(json!({})).await;

        // Act
        let timed_out = app.wait_job(&slow, ADMIN_KEY, 30).await;
        let done = app.wait_job(&next, ADMIN_KEY, 30).await;

        // Assert
        assert_eq!(timed_out["status"], json!("failed"), "{timed_out}");
        assert_eq!(timed_out["error"]["type"], json!("/problems/timed-out"));
        assert_eq!(done["status"], json!("succeeded"), "{done}");
        let at = |job: &Value, field: &str| {
            chrono::DateTime::parse_from_rfc3339(job[field].as_str().expect("time"))
                .expect("RFC 3339")
        };
        let ran = at(&timed_out, "finished_at") - at(&timed_out, "started_at");
        assert!(
            ran >= chrono::Duration::seconds(1),
            "the attempt ended when its work stopped (its first check, after 1 s), not at the timeout: {ran}"
        );
        assert!(
            ran < chrono::Duration::seconds(5),
            "the timeout stopped the work: it did not run its 10 s: {ran}"
        );
        let waited = at(&done, "started_at") - at(&timed_out, "started_at");
        assert!(
            waited >= chrono::Duration::seconds(1),
            "the next job took the slot only once the timed-out work had stopped, {waited} after it started"
        );
    }
);

queue_test!(operators_see_live_workers_and_queue_counts, |app| {
    let id = app.noop_job(json!({})).await;
    app.wait_job(&id, ADMIN_KEY, 30).await;

    let workers = app.get("/v1/admin/workers", ADMIN_KEY).await.expect(200);
    let w = &workers["workers"][0];
    assert!(
        w["id"].as_str().unwrap_or_default().starts_with("worker-"),
        "{workers}"
    );
    let every: Vec<&str> = shared::jobs::JobKind::ALL
        .iter()
        .map(|k| k.queue())
        .collect();
    assert_eq!(
        w["queues"],
        json!(every),
        "an unconfigured worker takes every queue"
    );
    let queues = app.get("/v1/admin/queues", ADMIN_KEY).await.expect(200);
    let backend = if app.backend == tests::Backend::Redis {
        "redis"
    } else {
        "sqlite"
    };
    assert_eq!(queues["backend"], json!(backend));
    let noop = queues["queues"]
        .as_array()
        .and_then(|q| q.iter().find(|q| q["queue"] == json!("noop")))
        .expect("noop queue")
        .clone();
    assert_eq!(noop["succeeded"], json!(1), "{queues}");
    let user = app.user("user").await;
    app.get("/v1/admin/workers", &user.key).await.problem(404);
});

queue_test!(
    metrics_count_requests_and_jobs_and_show_queue_depth,
    |app| {
        let id = app.noop_job(json!({})).await;
        app.wait_job(&id, ADMIN_KEY, 30).await;

        let url = format!("{}/metrics", app.address);
        let anonymous = app.client.get(&url).send().await.expect("metrics");
        assert_eq!(anonymous.status(), 401, "metrics need a token");
        let user = app.user("user").await;
        let account = app.client.get(&url).bearer_auth(&user.key).send().await;
        assert_eq!(
            account.expect("metrics").status(),
            401,
            "not an account's key"
        );
        let res = app
            .client
            .get(&url)
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .expect("metrics");
        assert_eq!(res.status(), 200);
        let text = res.text().await.expect("body");

        assert!(text.contains("http_requests_total{"), "{text}");
        assert!(text.contains("path=\"/v1/admin/jobs\""), "{text}");
        assert!(
            text.contains("http_request_duration_seconds_bucket{"),
            "{text}"
        );
        assert!(
            text.contains("jobs_enqueued_total{kind=\"noop\"}"),
            "{text}"
        );
        assert!(text.contains("jobs_queued{queue=\"noop\"}"), "{text}");
        assert!(text.contains("jobs_finished_total{"), "{text}");
        assert!(text.contains("job_duration_seconds_bucket{"), "{text}");
        assert!(text.contains("workers_live "), "{text}");
    }
);

queue_test!(
    subscribers_evaluate_and_enterprise_subscribers_jobs_go_first,
    |app| {
        let (_creator, tool, _) = evaluable_tool(&app).await;
        let mut priorities = Vec::new();
        for tier in ["basic", "enterprise"] {
            let renter = app.funded_user(tier, 100.0).await;
            app.post(
                "/v1/subscriptions",
                &renter.key,
                &json!({"tool_id": tool, "tier": tier}),
            )
            .await
            .expect(201);
            let dataset = app.dataset(&renter).await;
            let job = app
                .post(
                    &format!("/v1/tools/{tool}/evaluations"),
                    &renter.key,
                    &json!({"dataset_id": dataset}),
                )
                .await
                .expect(202)["job"]
                .clone();
            let done = app
                .wait_job(job["id"].as_str().expect("id"), &renter.key, 60)
                .await;
            assert_eq!(done["status"], json!("succeeded"), "{done}");
            priorities.push(job["priority"].clone());
        }
        assert_eq!(priorities, [json!(0), json!(10)]);
    }
);

queue_test!(a_message_delivered_many_times_runs_its_job_once, |app| {
    let id = app.noop_job(json!({"sleep_ms": 300})).await;
    let job_id: uuid::Uuid = id.parse().expect("uuid");
    for _ in 0..5 {
        app.jobs
            .queues()
            .push(
                shared::jobs::JobKind::Noop,
                shared::jobs::JobMessage { job_id },
            )
            .await
            .expect("pushed");
    }

    let done = app.wait_job(&id, ADMIN_KEY, 30).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let after = app
        .get(&format!("/v1/jobs/{id}"), ADMIN_KEY)
        .await
        .expect(200)["job"]
        .clone();
    assert_eq!(done["status"], json!("succeeded"));
    assert_eq!(
        after["attempts"],
        json!(1),
        "extra messages found nothing to claim"
    );
    assert_eq!(after["finished_at"], done["finished_at"], "finished once");
});

queue_test!(
    a_full_queue_refuses_new_jobs_with_503_and_creates_nothing,
    |s: &mut shared::config::Settings| {
        s.queue.max_depth = 2;
        s.worker.concurrency = 1;
    },
    |app| {
        let running = app.noop_job(json!({"sleep_ms": 5_000})).await;
        app.wait_job_until(&running, ADMIN_KEY, 30, |j| j["status"] == json!("running"))
            .await;
        app.noop_job(json!({})).await;
        app.noop_job(json!({})).await;

        let refused = app
            .post(
                "/v1/admin/jobs",
                ADMIN_KEY,
                &json!({"kind": "noop", "payload": {}}),
            )
            .await;

        assert_eq!(refused.status, 503, "{:?}", refused.body);
        assert!(refused.headers.contains_key("retry-after"));
        assert!(
            refused.body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("full"),
            "{:?}",
            refused.body
        );
        let queues = app.get("/v1/admin/queues", ADMIN_KEY).await.expect(200);
        let noop = queues["queues"]
            .as_array()
            .and_then(|q| q.iter().find(|q| q["queue"] == json!("noop")))
            .expect("noop queue")
            .clone();
        assert_eq!(noop["queued"], json!(2), "{queues}");
        assert_eq!(noop["running"], json!(1), "{queues}");
    }
);

queue_test!(an_idle_worker_picks_a_new_job_up_at_once, |app| {
    // apalis workers otherwise only look for work on their heartbeat (30 s); ours poll every
    // 100 ms (the bound leaves room for a loaded CI machine).
    let id = app.noop_job(json!({})).await;
    let done = app.wait_job(&id, ADMIN_KEY, 30).await;
    let at = |field: &str| {
        chrono::DateTime::parse_from_rfc3339(done[field].as_str().expect("time")).expect("RFC 3339")
    };
    let waited = at("started_at") - at("created_at");
    assert!(
        waited < chrono::Duration::seconds(5),
        "picked up after {waited}"
    );
});

#[tokio::test]
async fn every_metric_says_which_direction_is_better() {
    let app = tests::spawn_app(tests::Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let body = app
        .send(reqwest::Method::GET, "/v1/metrics", None, None)
        .await
        .expect(200);
    let metrics = body["metrics"].as_array().expect("metrics");
    assert_eq!(metrics.len(), Metric::ALL.len());
    for (m, v) in Metric::ALL.iter().zip(metrics) {
        assert_eq!(v["name"], json!(m.name()));
        assert!(v["direction"] == json!("higher") || v["direction"] == json!("lower"));
    }
    let lower: Vec<_> = metrics
        .iter()
        .filter(|m| m["direction"] == json!("lower"))
        .map(|m| m["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(lower, ["execution_time", "max_drawdown", "exposure"]);
}

queue_test!(invalid_input_fails_at_once_without_a_retry, |app| {
    // A payload no handler can use (only reachable through the store: every route
    // validates before enqueueing).
    let owner = app.user("owner").await;
    let job = app
        .store
        .create_job(
            &shared::store::NewJob {
                id: uuid::Uuid::now_v7(),
                kind: shared::jobs::JobKind::Evaluate,
                owner_id: owner.id,
                priority: 0,
                max_attempts: 3,
                payload: json!({"tool_id": "not a uuid"}),
            },
            chrono::Utc::now(),
        )
        .await
        .expect("created");
    app.jobs.dispatch(std::slice::from_ref(&job)).await;

    let done = app.wait_job(&job.id.to_string(), &owner.key, 30).await;

    assert_eq!(done["status"], json!("failed"), "{done}");
    assert_eq!(done["attempts"], json!(1), "no retry for invalid input");
    assert_eq!(done["error"]["status"], json!(422));
    assert_eq!(done["result"], Value::Null);
});

queue_test!(
    one_account_at_its_job_quota_is_refused_with_429_while_others_go_on,
    |s: &mut shared::config::Settings| {
        s.queue.max_active_per_account = 2;
        s.worker.concurrency = 1;
    },
    |app| {
        use shared::domain::account::PLATFORM_ACCOUNT_ID;
        use shared::jobs::NoopJob;
        let (alice, tool, dataset) = evaluable_tool(&app).await;
        let bob = app.user("bob").await;
        let long = || NoopJob {
            sleep_ms: 20_000,
            ..NoopJob::default()
        };
        let enqueue = async |owner: uuid::Uuid| {
            app.jobs
                .enqueue(app.store.as_ref(), owner, long(), 0, chrono::Utc::now())
                .await
        };
        let mut ids = Vec::new();
        for _ in 0..2 {
            ids.push(enqueue(alice.id).await.expect("within the quota").id);
        }

        let over = enqueue(alice.id).await;
        let evaluation = app
            .post(
                &format!("/v1/tools/{tool}/evaluations"),
                &alice.key,
                &json!({"dataset_id": dataset}),
            )
            .await;

        assert!(
            matches!(
                over,
                Err(platform::EnqueueError::Quota {
                    active: 2,
                    limit: 2,
                    ..
                })
            ),
            "{over:?}"
        );
        assert_eq!(evaluation.status, 429, "{:?}", evaluation.body);
        assert_eq!(
            evaluation
                .headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("5")
        );
        assert_eq!(evaluation.body["limit"], json!(2));
        assert!(
            evaluation.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("limit is 2")),
            "{:?}",
            evaluation.body
        );
        let page = app.get("/v1/jobs", &alice.key).await.expect(200);
        assert_eq!(
            page["jobs"].as_array().map(Vec::len),
            Some(2),
            "the refused evaluation created no job: {page}"
        );
        enqueue(bob.id).await.expect("another account goes on");
        enqueue(PLATFORM_ACCOUNT_ID)
            .await
            .expect("the platform's own jobs are not counted");
        for id in ids {
            app.post(&format!("/v1/jobs/{id}/cancel"), &alice.key, &json!({}))
                .await
                .expect(200);
        }
        enqueue(alice.id).await.expect("room again once canceled");
    }
);
