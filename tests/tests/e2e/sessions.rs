//! Sessions end to end over HTTP: a renter opens a session on their data, inserts a rented tool
//! with auto-optimization, the optimizer's winner becomes the session's parameters (never the
//! tool's or another session's), and the tool's creator promotes a record that passed the
//! standards gate into a new permanent version, re-checked against the tool's current version.

mod certificates;
mod limits;
mod promotion;
mod rechecks;

use std::sync::Arc;

use serde_json::{Value, json};
use tests::{
    ADMIN_KEY, TestApp, default_standards, momentum_tool, queue_test, store_test, store_test_with,
    trending_data,
};

fn record_id(session: &Value) -> String {
    session["optimizations"][0]["record_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a record: {session}"))
        .to_owned()
}

async fn passing_setup(app: &TestApp) -> tests::SessionSetup {
    app.session_setup(
        momentum_tool("Momentum", default_standards()),
        "pro",
        trending_data(),
        json!({"seed": 7}),
    )
    .await
}

/// [`passing_setup`] with its tool optimized (40 trials) and the record's id.
async fn passed_record(app: &TestApp) -> (tests::SessionSetup, String) {
    let s = passing_setup(app).await;
    app.insert_and_optimize(&s.renter, &s.session, &s.tool, json!({"trials": 40}))
        .await;
    let rid = record_id(&app.session_view(&s.renter, &s.session).await);
    (s, rid)
}

queue_test!(
    quick_start_optimizes_for_the_session_and_the_creator_promotes,
    |app| {
        // Arrange: steps 1-3 of the quick start (tool, subscription, session).
        let s = passing_setup(&app).await;

        // Act: insert with auto-optimization, read the record, promote as the creator.
        let job = app
            .insert_and_optimize(&s.renter, &s.session, &s.tool, json!({"trials": 40}))
            .await;
        let view = app.session_view(&s.renter, &s.session).await;
        let rid = record_id(&view);

        // Assert: the record carries the evidence and the session uses the winner.
        let record = &view["optimizations"][0];
        assert_eq!(
            job["result"]["record_id"],
            json!(rid),
            "the job names its record"
        );
        assert_eq!(record["status"], json!("applied"), "{record}");
        assert_eq!(record["method"], json!("bayesian"));
        assert_eq!(record["seed"], json!(7), "the session's seed by default");
        assert_eq!(record["trials_run"], json!(40));
        assert_eq!(record["base_version"], json!(1));
        assert_eq!(
            record["standards_report"]["passed"],
            json!(true),
            "{record}"
        );
        assert!(record["improvement"].as_f64().expect("improvement") >= 0.15);
        assert_eq!(
            record["folds"].as_array().map(Vec::len),
            Some(4),
            "one per fold"
        );
        assert_eq!(
            record["dataset_id"],
            json!(s.dataset),
            "the owner sees the dataset"
        );
        let tool_view = &view["session"]["tools"][0];
        assert_eq!(tool_view["parameters"], record["params_after"]);
        assert_eq!(tool_view["optimized"], json!(true));
        assert_eq!(view["session"]["optimizations"][0]["record_id"], json!(rid));
        let tool = app
            .get(&format!("/v1/tools/{}", s.tool), &s.renter.key)
            .await
            .expect(200);
        assert_eq!(
            tool["tool"]["version"],
            json!(1),
            "optimizing never changes the tool"
        );
        assert_eq!(tool["tool"]["parameters"], record["params_before"]);

        // The creator sees parameters and metrics but not the renter's data; others nothing.
        let seen = app
            .get(&format!("/v1/optimizations/{rid}"), &s.creator.key)
            .await
            .expect(200);
        assert!(seen["optimization"].get("dataset_id").is_none(), "{seen}");
        assert_eq!(seen["optimization"]["params_after"], record["params_after"]);
        let stranger = app.user("stranger").await;
        app.get(&format!("/v1/optimizations/{rid}"), &stranger.key)
            .await
            .problem(404);

        // Only the creator promotes; to anyone but the record's owner it does not exist.
        app.promote(&rid, &s.renter.key).await.problem(403);
        app.promote(&rid, &stranger.key).await.problem(404);
        let promoted = app.promote(&rid, &s.creator.key).await.expect(201);
        let version = &promoted["version"];
        assert_eq!(version["version"], json!(2));
        assert_eq!(version["source"], json!("promotion"));
        assert_eq!(version["parameters"], record["params_after"]);
        assert_eq!(version["lineage"]["record_id"], json!(rid));
        assert_eq!(version["lineage"]["seed"], json!(7));
        assert_eq!(
            version["lineage"]["standards_report"]["passed"],
            json!(true)
        );
        for private in ["session_id", "dataset_hash"] {
            assert!(
                version["lineage"].get(private).is_none(),
                "the renter's {private} is not the creator's: {version}"
            );
        }
        // Anyone else who sees the tool learns how the version was made, not from whose data.
        let listed = app
            .get(&format!("/v1/tools/{}/versions", s.tool), &stranger.key)
            .await
            .expect(200);
        let public = &listed["versions"][1]["lineage"];
        assert_eq!(public["seed"], json!(7));
        assert_eq!(public["promoted_by"], json!("creator"));
        for private in [
            "record_id",
            "session_id",
            "dataset_hash",
            "standards_report",
        ] {
            assert!(
                public.get(private).is_none(),
                "{private} is public: {public}"
            );
        }
        assert_eq!(promoted["tool"]["version"], json!(2));
        let after = app
            .get(&format!("/v1/optimizations/{rid}"), &s.renter.key)
            .await
            .expect(200);
        assert_eq!(after["optimization"]["status"], json!("promoted"));
        assert_eq!(after["optimization"]["promoted_version"], json!(2));
        app.promote(&rid, &s.creator.key).await.problem(409);
    }
);

store_test!(
    a_record_that_fails_the_gate_is_refused_with_its_failing_checks,
    |app| {
        // Arrange: a creator whose gate also requires more trades than the baseline, which trades
        // on nearly every bar already: no parameters can give both that and better results.
        let mut standards = default_standards();
        standards["required"] = json!(["success_rate", "num_trades"]);
        let s = app
            .session_setup(
                momentum_tool("Strict", standards),
                "pro",
                trending_data(),
                json!({}),
            )
            .await;
        app.insert_and_optimize(&s.renter, &s.session, &s.tool, json!({"trials": 30}))
            .await;
        let view = app.session_view(&s.renter, &s.session).await;
        let rid = record_id(&view);
        assert_eq!(
            view["optimizations"][0]["standards_report"]["passed"],
            json!(false)
        );

        // Act
        let problem = app
            .post(
                &format!("/v1/optimizations/{rid}/promote"),
                &s.creator.key,
                &json!({}),
            )
            .await
            .problem(422);

        // Assert: the failing check is named, the report travels, nothing changed.
        assert_eq!(problem["type"], json!("/problems/standards-failed"));
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(
            fields.contains(&"checks.required:num_trades")
                || fields.contains(&"checks.overall_improvement"),
            "{problem}"
        );
        assert_eq!(problem["standards_report"]["passed"], json!(false));
        let versions = app
            .get(&format!("/v1/tools/{}/versions", s.tool), &s.creator.key)
            .await
            .expect(200);
        assert_eq!(
            versions["versions"].as_array().map(Vec::len),
            Some(1),
            "no version made"
        );
    }
);

store_test!(
    inserting_needs_a_subscription_and_optimizing_needs_the_tier,
    |app| {
        // Arrange: a free-tier tool with a free and a basic subscriber, and an outsider.
        let mut body = momentum_tool("Free momentum", default_standards());
        body["tier"] = json!("free");
        let s = app
            .session_setup(body, "basic", trending_data(), json!({}))
            .await;
        let outsider = app.user("outsider").await;
        let data = app.generated_dataset(&outsider, trending_data()).await;
        let outsider_session = app.open_session(&outsider, &data["id"], json!({})).await;
        let free = app.user("free").await;
        app.post(
            "/v1/subscriptions",
            &free.key,
            &json!({"tool_id": s.tool, "tier": "free", "months": 1}),
        )
        .await
        .expect(201);
        let free_data = app.generated_dataset(&free, trending_data()).await;
        let free_session = app.open_session(&free, &free_data["id"], json!({})).await;
        let insert = |session: &str, body: Value| (format!("/v1/sessions/{session}/tools"), body);

        // Act + Assert: no subscription, no insert.
        let (path, body) = insert(&outsider_session, json!({"tool_id": s.tool}));
        let p = app.post(&path, &outsider.key, &body).await.problem(403);
        assert!(
            p["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("subscription"),
            "{p}"
        );

        // The free tier may insert but not optimize.
        let (path, body) = insert(
            &free_session,
            json!({"tool_id": s.tool, "auto_optimize": true}),
        );
        let p = app.post(&path, &free.key, &body).await.problem(403);
        assert_eq!(p["limit"], json!(0), "{p}");
        let (path, body) = insert(&free_session, json!({"tool_id": s.tool}));
        app.post(&path, &free.key, &body).await.expect(201);

        // Basic allows 50 trials; asking 51 names the limit and inserts nothing.
        let (path, body) = insert(
            &s.session,
            json!({"tool_id": s.tool, "auto_optimize": true, "optimization_config": {"trials": 51}}),
        );
        let p = app.post(&path, &s.renter.key, &body).await.problem(403);
        assert_eq!(
            (p["limit"].clone(), p["tier"].clone()),
            (json!(50), json!("basic")),
            "{p}"
        );
        assert!(
            p["detail"].as_str().unwrap_or_default().contains("50"),
            "{p}"
        );
        let view = app.session_view(&s.renter, &s.session).await;
        assert_eq!(
            view["session"]["tools"],
            json!([]),
            "a refused insert changes nothing"
        );

        // Bad input is a 422 naming the field, also changing nothing.
        let (path, body) = insert(
            &s.session,
            json!({"tool_id": s.tool, "auto_optimize": true, "optimization_config": {"method": "magic"}}),
        );
        let p = app.post(&path, &s.renter.key, &body).await.problem(422);
        assert!(
            p["errors"][0]["field"]
                .as_str()
                .unwrap_or_default()
                .contains("method"),
            "{p}"
        );
        let view = app.session_view(&s.renter, &s.session).await;
        assert_eq!(view["session"]["tools"], json!([]));

        // Enterprise subscribers' optimizations are queued first.
        let big = app.funded_user("big", 1_000.0).await;
        app.post(
            "/v1/subscriptions",
            &big.key,
            &json!({"tool_id": s.tool, "tier": "enterprise", "months": 1}),
        )
        .await
        .expect(201);
        let big_data = app.generated_dataset(&big, trending_data()).await;
        let big_session = app.open_session(&big, &big_data["id"], json!({})).await;
        let (path, body) = insert(
            &big_session,
            json!({"tool_id": s.tool, "auto_optimize": true, "optimization_config": {"trials": 5000}}),
        );
        let accepted = app.post(&path, &big.key, &body).await.expect(202);
        assert_eq!(accepted["job"]["priority"], json!(10), "{accepted}");
        assert_eq!(accepted["job"]["kind"], json!("optimize"));
    }
);

store_test!(sessions_are_private_and_validated, |app| {
    // Arrange
    let owner = app.user("owner").await;
    let other = app.user("other").await;
    let data = app.generated_dataset(&owner, trending_data()).await;

    // Act + Assert: someone else's dataset, folds that do not fit, unknown settings.
    let p = app
        .post(
            "/v1/sessions",
            &other.key,
            &json!({"dataset_id": data["id"]}),
        )
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], json!("dataset_id"));
    let p = app
        .post(
            "/v1/sessions",
            &owner.key,
            &json!({"dataset_id": data["id"], "config": {"folds": {"n": 0}}}),
        )
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], json!("config.folds"), "{p}");
    let p = app
        .post(
            "/v1/sessions",
            &owner.key,
            &json!({"dataset_id": data["id"], "config": {"time_limit_secs": 0}}),
        )
        .await
        .problem(422);
    assert_eq!(
        p["errors"][0]["field"],
        json!("config.time_limit_secs"),
        "{p}"
    );
    app.post(
        "/v1/sessions",
        &owner.key,
        &json!({"dataset_id": data["id"], "config": {"bogus": 1}}),
    )
    .await
    .problem(422);
    let session = app
        .post(
            "/v1/sessions",
            &owner.key,
            &json!({"dataset_id": data["id"]}),
        )
        .await
        .expect(201);
    let id = session["session"]["id"].as_str().expect("id");
    assert_eq!(session["session"]["status"], json!("active"));
    app.get(&format!("/v1/sessions/{id}"), &other.key)
        .await
        .problem(404);
    app.post(&format!("/v1/sessions/{id}/end"), &other.key, &json!({}))
        .await
        .problem(404);
    let listed = app.get("/v1/sessions", &owner.key).await.expect(200);
    assert_eq!(listed["sessions"][0]["id"], json!(id));
    assert_eq!(
        app.get("/v1/sessions", &other.key).await.expect(200)["sessions"],
        json!([])
    );
    // A dataset in use by an active session is kept.
    app.delete(
        &format!("/v1/datasets/{}", data["id"].as_str().expect("id")),
        &owner.key,
    )
    .await
    .problem(409);
});

/// The parts of a record that a seed fixes (ids, timestamps and timings aside).
fn reproducible(record: &Value) -> Value {
    let mut folds = record["folds"].clone();
    for f in folds.as_array_mut().into_iter().flatten() {
        for side in ["before", "after"] {
            if let Some(m) = f[side].as_object_mut() {
                m.remove("execution_time");
            }
        }
    }
    json!({
        "params_before": record["params_before"],
        "params_after": record["params_after"],
        "trials_run": record["trials_run"],
        "seed": record["seed"],
        "method": record["method"],
        "config": record["config"],
        "improvement": record["improvement"],
        "standards_report": record["standards_report"],
        "status": record["status"],
        "folds": folds,
        "best_curve": record["search"]["best_curve"],
    })
}

store_test!(
    one_seed_gives_identical_records_and_sessions_stay_apart,
    |app| {
        // Arrange: two sessions of the same renter on the same data, the tool in both.
        let s = passing_setup(&app).await;
        let second = app
            .open_session(&s.renter, &json!(s.dataset), json!({"seed": 7}))
            .await;
        app.post(
            &format!("/v1/sessions/{second}/tools"),
            &s.renter.key,
            &json!({"tool_id": s.tool}),
        )
        .await
        .expect(201);

        // Act: optimize in the first session, check the second, then optimize there too.
        app.insert_and_optimize(
            &s.renter,
            &s.session,
            &s.tool,
            json!({"trials": 32, "seed": 11, "method": "bayesian"}),
        )
        .await;
        let untouched = app.session_view(&s.renter, &second).await;
        let job = app
            .post(
                &format!("/v1/sessions/{second}/tools/{}/optimizations", s.tool),
                &s.renter.key,
                &json!({"method": "bayesian", "config": {"trials": 32, "seed": 11}}),
            )
            .await
            .expect(202)["job"]["id"]
            .as_str()
            .expect("job")
            .to_owned();
        app.wait_job(&job, &s.renter.key, 120).await;

        // Assert
        let tool = app
            .get(&format!("/v1/tools/{}", s.tool), &s.renter.key)
            .await
            .expect(200);
        assert_eq!(
            untouched["session"]["tools"][0]["parameters"], tool["tool"]["parameters"],
            "another session's optimization changed nothing here"
        );
        assert_eq!(untouched["optimizations"], json!([]));
        let a = app.session_view(&s.renter, &s.session).await["optimizations"][0].clone();
        let b = app.session_view(&s.renter, &second).await["optimizations"][0].clone();
        assert_ne!(a["record_id"], b["record_id"]);
        assert_eq!(reproducible(&a), reproducible(&b), "same seed, same record");
    }
);

store_test!(
    every_method_optimizes_and_the_admin_sees_the_queues,
    |app| {
        // Arrange
        let s = passing_setup(&app).await;
        app.post(
            &format!("/v1/sessions/{}/tools", s.session),
            &s.renter.key,
            &json!({"tool_id": s.tool}),
        )
        .await
        .expect(201);

        // Act + Assert: each method runs its trials and leaves a record.
        for (i, method) in ["grid", "random", "cmaes", "local", "bayesian"]
            .into_iter()
            .enumerate()
        {
            let job = app
                .post(
                    &format!("/v1/sessions/{}/tools/{}/optimizations", s.session, s.tool),
                    &s.renter.key,
                    &json!({"method": method, "config": {"trials": 16}}),
                )
                .await
                .expect(202)["job"]["id"]
                .as_str()
                .expect("job")
                .to_owned();
            let done = app.wait_job(&job, &s.renter.key, 120).await;
            assert_eq!(done["status"], json!("succeeded"), "{method}: {done}");
            let view = app.session_view(&s.renter, &s.session).await;
            let record = &view["optimizations"][i];
            assert_eq!(record["method"], json!(method));
            assert_eq!(record["trials_run"], json!(16), "{method}");
        }
        let queues = app.get("/v1/admin/queues", ADMIN_KEY).await.expect(200);
        assert!(queues.to_string().contains("optimize"), "{queues}");
    }
);

store_test_with!(
    queued_work_does_not_outlive_the_subscription_that_allowed_it,
    // The process's own workers take only noop jobs: the optimization waits for the worker
    // this test starts after the cancellation.
    |s: &mut shared::config::Settings| s.worker.queues = vec!["noop".into()],
    |app| {
        // Arrange: an enterprise renter queues an optimization, then cancels at once.
        let s = app
            .session_setup(
                momentum_tool("Ent", default_standards()),
                "enterprise",
                trending_data(),
                json!({"seed": 7}),
            )
            .await;
        let queued = app
            .post(
                &format!("/v1/sessions/{}/tools", s.session),
                &s.renter.key,
                &json!({"tool_id": s.tool, "auto_optimize": true, "optimization_config": {"trials": 20}}),
            )
            .await
            .expect(202);
        let job = queued["job"]["id"].as_str().expect("job id").to_owned();
        let subs = app
            .get("/v1/subscriptions", &s.renter.key)
            .await
            .expect(200);
        let sub = subs["subscriptions"][0]["id"].as_str().expect("id");
        app.post(
            &format!("/v1/subscriptions/{sub}/cancel"),
            &s.renter.key,
            &json!({"immediate": true}),
        )
        .await
        .expect(200);

        // An evaluation queued past the API's check (as a job that raced the cancellation).
        let evaluation = app
            .jobs
            .enqueue(
                app.store.as_ref(),
                s.renter.id,
                shared::jobs::EvaluateToolJob {
                    tool_id: s.tool.parse().expect("uuid"),
                    version: 1,
                    dataset_id: s.dataset.parse().expect("uuid"),
                    config: serde_json::to_value(shared::evaluation::EvalConfig::default())
                        .expect("json"),
                },
                0,
                chrono::Utc::now(),
            )
            .await
            .expect("queued")
            .id
            .to_string();

        // Act: a worker for every queue picks the jobs up.
        let mut settings = (*app.settings).clone();
        settings.worker.queues.clear();
        let stop = tokio_util::sync::CancellationToken::new();
        let w = worker::Worker::new(Arc::new(settings), app.store.clone(), app.jobs.clone());
        tokio::spawn(w.run(stop.clone()));
        let optimization = app.wait_job(&job, &s.renter.key, 60).await;
        let evaluated = app.wait_job(&evaluation, &s.renter.key, 60).await;
        stop.cancel();

        // Assert: the optimization was canceled with the subscription, the evaluation refused
        // by the worker, and no record was written.
        assert_eq!(optimization["status"], json!("canceled"), "{optimization}");
        assert_eq!(evaluated["status"], json!("failed"), "{evaluated}");
        assert!(
            evaluated["error"]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("subscription")),
            "{evaluated}"
        );
        let view = app.session_view(&s.renter, &s.session).await;
        assert_eq!(view["optimizations"], json!([]), "{view}");
    }
);
