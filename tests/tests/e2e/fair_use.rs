//! Fair use: request rates per key (and per address without one), the hourly signup allowance,
//! bounded error bodies, and each account's limits on datasets, active sessions and daily
//! compute. Over a limit: 429 naming it, nothing created, other accounts unaffected.

use std::time::Duration;

use chrono::TimeDelta;
use reqwest::Method;
use serde_json::json;
use shared::jobs::JobKind;
use shared::store::{JobClaim, JobOutcome, NewJob};
use tests::{store_test, store_test_with};

store_test_with!(
    a_key_over_its_rate_gets_429_and_others_are_served,
    |s: &mut shared::config::Settings| {
        s.api.rate_limit_per_sec = 1;
        s.api.rate_limit_burst = 5;
    },
    |app| {
        // Arrange: account creation is keyless, so it draws from the address' bucket; the
        // users' own requests draw from their keys' buckets.
        let alice = app.user("alice").await;
        let bob = app.user("bob").await;
        let mut answered = Vec::new();

        // Act: more requests than the burst at once.
        for i in 0..8 {
            let reply = app
                .send(
                    Method::POST,
                    "/v1/tools",
                    Some(&alice.key),
                    Some(&json!({
                        "name": format!("tool {i}"), "description": "d", "category": "c",
                        "family": "sma_crossover", "monthly_price": 0, "tier": "free"
                    })),
                )
                .await;
            answered.push(reply);
        }
        let bob_me = app.get("/v1/accounts/me", &bob.key).await;
        let probe = app.send(Method::GET, "/healthz", None, None).await;

        // Assert
        let created = answered.iter().filter(|r| r.status == 201).count();
        let limited: Vec<_> = answered.into_iter().filter(|r| r.status == 429).collect();
        assert!(
            (5..=6).contains(&created),
            "the burst is served, then the rate: {created} created"
        );
        assert!(!limited.is_empty(), "the rest is refused");
        let retry_after: u64 = limited[0]
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in whole seconds");
        assert!(
            (1..=2).contains(&retry_after),
            "retry after {retry_after} s"
        );
        let problem = limited.into_iter().next().expect("one").problem(429);
        assert_eq!(problem["type"], json!("/problems/rate-limited"));
        bob_me.expect(200);
        probe.expect(200);
        let listed = app
            .store
            .list_tools(&Default::default(), 100)
            .await
            .expect("tools");
        assert_eq!(listed.len(), created, "a refused request created nothing");
    }
);

store_test_with!(
    one_address_creates_a_bounded_number_of_accounts_per_hour,
    |s: &mut shared::config::Settings| s.api.signups_per_hour = 3,
    |app| {
        let mut statuses = Vec::new();
        for i in 0..5 {
            let reply = app
                .send(
                    Method::POST,
                    "/v1/accounts",
                    None,
                    Some(&json!({"name": format!("farm {i}")})),
                )
                .await;
            statuses.push(reply.status);
        }
        assert_eq!(statuses, [201, 201, 201, 429, 429]);
    }
);

store_test!(a_422_does_not_echo_a_large_request_back, |app| {
    // Arrange: a body of many unknown parameters with long names, about 600 KB.
    let alice = app.user("alice").await;
    let parameters: serde_json::Map<String, serde_json::Value> = (0..2_000)
        .map(|i| (format!("{}{i}", "p".repeat(300)), json!(1)))
        .collect();
    let body = json!({
        "name": "echo", "description": "d", "category": "c", "family": "sma_crossover",
        "monthly_price": 0, "tier": "free", "parameters": parameters
    });
    let sent = serde_json::to_vec(&body).expect("json").len();

    // Act
    let reply = app
        .send(Method::POST, "/v1/tools", Some(&alice.key), Some(&body))
        .await;

    // Assert
    let problem = reply.problem(422);
    let answered = serde_json::to_vec(&problem).expect("json").len();
    assert!(sent > 500_000, "{sent}");
    assert!(
        answered < 16 * 1024,
        "a {sent}-byte request got a {answered}-byte problem"
    );
    let errors = problem["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 21, "20 named, then how many more");
});

store_test_with!(
    datasets_are_limited_in_number_and_bytes_and_deleting_frees_room,
    |s: &mut shared::config::Settings| {
        s.datasets.max_per_account = 2;
        s.datasets.max_bytes_per_account = 200_000;
    },
    |app| {
        let alice = app.user("alice").await;
        let generate = |seed: u64, bars: u64| json!({"name": format!("d{seed}"), "generator": {"kind": "gbm", "bars": bars, "seed": seed}});
        let first = app
            .post("/v1/datasets", &alice.key, &generate(1, 300))
            .await
            .expect(201);
        app.post("/v1/datasets", &alice.key, &generate(2, 300))
            .await
            .expect(201);

        // Over the count: refused, nothing stored; the same content again is no new dataset.
        let third = app
            .post("/v1/datasets", &alice.key, &generate(3, 300))
            .await;
        assert!(
            third.headers.get("retry-after").is_none(),
            "time does not lift it"
        );
        let problem = third.problem(429);
        assert_eq!(problem["limit"], json!(2));
        app.post("/v1/datasets", &alice.key, &generate(1, 300))
            .await
            .expect(200);
        let listed = app.get("/v1/datasets", &alice.key).await.expect(200);
        assert_eq!(listed["datasets"].as_array().map(Vec::len), Some(2));

        // Deleting one frees room; then the byte limit refuses a large one.
        let id = first["dataset"]["id"].as_str().expect("id");
        app.send(
            Method::DELETE,
            &format!("/v1/datasets/{id}"),
            Some(&alice.key),
            None,
        )
        .await
        .expect(204);
        let big = app
            .post("/v1/datasets", &alice.key, &generate(4, 20_000))
            .await;
        assert_eq!(big.problem(429)["limit"], json!(200_000));
        app.post("/v1/datasets", &alice.key, &generate(5, 300))
            .await
            .expect(201);

        // Another account is not affected.
        let bob = app.user("bob").await;
        app.post("/v1/datasets", &bob.key, &generate(3, 300))
            .await
            .expect(201);
    }
);

store_test_with!(
    active_sessions_are_limited_and_ending_one_frees_room,
    |s: &mut shared::config::Settings| s.sessions.max_active_per_account = 2,
    |app| {
        let alice = app.user("alice").await;
        let dataset = app.dataset(&alice).await;
        let open = || json!({"dataset_id": dataset});
        let first = app
            .post("/v1/sessions", &alice.key, &open())
            .await
            .expect(201);
        app.post("/v1/sessions", &alice.key, &open())
            .await
            .expect(201);
        let refused = app
            .post("/v1/sessions", &alice.key, &open())
            .await
            .problem(429);
        assert_eq!(refused["limit"], json!(2));
        let listed = app.get("/v1/sessions", &alice.key).await.expect(200);
        assert_eq!(listed["sessions"].as_array().map(Vec::len), Some(2));
        let id = first["session"]["id"].as_str().expect("id");
        app.post(&format!("/v1/sessions/{id}/end"), &alice.key, &json!({}))
            .await
            .expect(200);
        app.post("/v1/sessions", &alice.key, &open())
            .await
            .expect(201);
    }
);

store_test_with!(
    an_account_over_its_daily_compute_budget_is_refused_until_work_leaves_the_window,
    |s: &mut shared::config::Settings| s.queue.compute_secs_per_day = 1_800,
    |app| {
        // Arrange: an hour of alice's work ended an hour ago (written through the store, as a
        // worker would have).
        let alice = app.user("alice").await;
        let tool = app
            .tool(&alice, tests::TestApp::tool_body("Cross", 10.0, "basic"))
            .await;
        let dataset = app.dataset(&alice).await;
        let now = chrono::Utc::now();
        let job = NewJob {
            id: uuid::Uuid::now_v7(),
            kind: JobKind::Noop,
            owner_id: alice.id,
            priority: 0,
            max_attempts: 1,
            payload: json!({}),
        };
        app.store
            .create_job(&job, now - TimeDelta::hours(2))
            .await
            .expect("job");
        let claimed = app
            .store
            .claim_job(
                JobKind::Noop,
                "w-old",
                now - TimeDelta::hours(2),
                Duration::from_secs(30),
            )
            .await
            .expect("claim")
            .expect("the job");
        let claim = JobClaim {
            job_id: claimed.id,
            worker_id: "w-old".into(),
            attempt: claimed.attempts,
        };
        app.store
            .finish_job(
                &claim,
                &JobOutcome::Succeeded { result: json!({}) },
                now - TimeDelta::hours(1),
            )
            .await
            .expect("finished");
        let tool_id = tool["id"].as_str().expect("id");
        let evaluate = json!({"dataset_id": dataset});

        // Act
        let refused = app
            .post(
                &format!("/v1/tools/{tool_id}/evaluations"),
                &alice.key,
                &evaluate,
            )
            .await;
        let bob = app.user("bob").await;
        let bobs_tool = app
            .tool(&bob, tests::TestApp::tool_body("Cross", 10.0, "basic"))
            .await;
        let bobs_data = app.dataset(&bob).await;
        let bobs = app
            .post(
                &format!(
                    "/v1/tools/{}/evaluations",
                    bobs_tool["id"].as_str().expect("id")
                ),
                &bob.key,
                &json!({"dataset_id": bobs_data}),
            )
            .await;

        // Assert: the hour must slide out of the window for 1,801 s to leave it: 22 h 30 min.
        let retry_after: i64 = refused
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("Retry-After");
        assert!(
            (80_990..=81_010).contains(&retry_after),
            "retry after {retry_after} s"
        );
        assert_eq!(refused.problem(429)["limit"], json!(1_800));
        bobs.expect(202);
    }
);

/// A PostgreSQL deadlock, provoked for real between two transactions, is classified as
/// contention and answered 503, which carries Retry-After (nothing was written; a retry may pass), not 500.
#[tokio::test]
async fn a_deadlock_is_answered_as_a_retryable_503() {
    use sqlx::Connection;

    let Some(db) = tests::empty_database(tests::Backend::Postgres).await else {
        return;
    };
    let mut setup = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    sqlx::query("CREATE TABLE pair (id INT PRIMARY KEY, n INT NOT NULL)")
        .execute(&mut setup)
        .await
        .expect("table");
    sqlx::query("INSERT INTO pair VALUES (1, 0), (2, 0)")
        .execute(&mut setup)
        .await
        .expect("rows");
    let mut one = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let mut two = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let mut tx1 = one.begin().await.expect("begin");
    let mut tx2 = two.begin().await.expect("begin");
    let update = |id: i32| sqlx::query("UPDATE pair SET n = n + 1 WHERE id = $1").bind(id);
    update(1).execute(&mut *tx1).await.expect("1 locks row 1");
    update(2).execute(&mut *tx2).await.expect("2 locks row 2");

    // Each waits for the other's row: PostgreSQL breaks the cycle by failing one of them.
    let (a, b) = tokio::join!(update(2).execute(&mut *tx1), update(1).execute(&mut *tx2));
    let failed = a
        .err()
        .or(b.err())
        .expect("one transaction is chosen as the victim");

    let error = shared::store::StoreError::from(failed);
    assert!(error.is_contention(), "{error:?}");
    let api_error = api::error::ApiError::from(error);
    assert!(matches!(api_error, api::error::ApiError::Unavailable(_)));
    assert_eq!(api_error.problem().status, 503);
}
