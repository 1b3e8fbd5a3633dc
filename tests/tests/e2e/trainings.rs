//! Creator training end to end over HTTP: each method trains for real on a small synthetic
//! dataset, its result carries metrics on time-ordered splits and its curves, apply makes a
//! version whose learned artifact every later evaluation loads, and only the creator may do
//! any of it.

mod hybrid;
mod sessions;

use serde_json::{Value, json};
use tests::{TestApp, TrainingSetup, default_standards, momentum_tool, store_test, training_data};

async fn momentum_setup(app: &TestApp) -> TrainingSetup {
    app.training_setup(
        momentum_tool("Momentum", default_standards()),
        training_data(),
    )
    .await
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("a number: {v}"))
}

/// `POST /v1/trainings/{id}/apply` as the creator.
async fn apply_run(app: &TestApp, s: &TrainingSetup, id: &str) -> tests::Resp {
    app.post(
        &format!("/v1/trainings/{id}/apply"),
        &s.creator.key,
        &json!({}),
    )
    .await
}

/// Applies a run (201) and returns `{tool, version, training}`.
async fn apply(app: &TestApp, s: &TrainingSetup, training: &Value) -> Value {
    let id = training["id"].as_str().expect("training id");
    apply_run(app, s, id).await.expect(201)
}

fn assert_split_metrics(result: &Value) {
    for split in ["train", "validation", "test"] {
        for side in ["metrics", "baseline"] {
            assert!(
                result[side][split]["total_return"].is_number(),
                "{side}.{split} in {result}"
            );
        }
    }
    let s = &result["splits"];
    assert_eq!(s["train"][0], json!(0));
    assert_eq!(s["train"][1], s["validation"][0], "time-ordered");
    assert_eq!(s["validation"][1], s["test"][0], "time-ordered");
    assert_eq!(s["test"][1], json!(1200));
}

store_test!(
    deep_learning_trains_a_meta_filter_that_every_later_evaluation_uses,
    |app| {
        // Arrange
        let s = momentum_setup(&app).await;
        let before = app
            .evaluate_current(&s.creator.key, &s.tool, &s.dataset)
            .await;

        // Act
        let run = app
            .train(&s, "deep_learning", json!({"epochs": 40, "seed": 7}))
            .await;
        let applied = apply(&app, &s, &run).await;
        let after = app
            .evaluate_current(&s.creator.key, &s.tool, &s.dataset)
            .await;

        // Assert: the run learned, on honest splits.
        assert_eq!(run["status"], json!("succeeded"), "{run}");
        assert_eq!(run["progress"], json!(1.0));
        let result = &run["result"];
        assert_split_metrics(result);
        assert_eq!(result["seed"], json!(7));
        assert!(num(&result["duration_ms"]) > 0.0);
        let loss = result["curves"]["loss"].as_array().expect("loss curve");
        assert!(!loss.is_empty() && loss.len() <= 40);
        let first = num(&loss[0]["train_loss"]);
        let best = loss
            .iter()
            .map(|e| num(&e["train_loss"]))
            .fold(f64::INFINITY, f64::min);
        assert!(best < first, "the training loss falls: {loss:?}");
        // Learning happens: the filter keeps the signals that paid on the training split.
        assert!(
            num(&result["metrics"]["train"]["total_return"])
                > num(&result["baseline"]["train"]["total_return"]),
            "filtered beats unfiltered on the training split: {}",
            result["metrics"]["train"]
        );
        let threshold = num(&result["details"]["approve_threshold"]);
        assert!(
            (0.0..1.0).contains(&threshold),
            "an approval threshold chosen on the training split: {threshold}"
        );
        let artifact = &result["artifact"];
        assert_eq!(artifact["kind"], json!("mlp_meta_filter"));
        assert!(num(&artifact["size_bytes"]) > 1_000.0, "{artifact}");
        assert_eq!(
            artifact["shape"][0][1],
            json!(32),
            "first hidden layer: {artifact}"
        );
        assert_eq!(artifact["sha256"].as_str().map(str::len), Some(64));

        // Apply made a version with the artifact, and evaluation loads it.
        assert_eq!(applied["version"]["source"], json!("training"));
        assert_eq!(applied["version"]["artifact_id"], artifact["id"]);
        assert_eq!(applied["tool"]["artifact_id"], artifact["id"]);
        assert_eq!(applied["training"]["applied_version"], json!(2));
        assert_eq!(
            applied["version"]["lineage"]["training_id"], run["id"],
            "lineage names the run"
        );
        assert_eq!(after["artifact"]["kind"], json!("mlp_meta_filter"));
        assert_eq!(before["artifact"], Value::Null);
        assert_ne!(
            after["overall"]["metrics"]["num_trades"], before["overall"]["metrics"]["num_trades"],
            "the filter changes the trades"
        );

        // A run is applied once, and only by its creator: to anyone else it does not exist.
        let id = run["id"].as_str().expect("id");
        apply_run(&app, &s, id).await.problem(409);
        let other = app.user("other").await;
        app.post(&format!("/v1/trainings/{id}/apply"), &other.key, &json!({}))
            .await
            .problem(404);
    }
);

store_test!(
    q_learning_learns_a_policy_reproducibly_and_evaluation_runs_it,
    |app| {
        let s = momentum_setup(&app).await;
        let config = json!({"epochs": 60, "seed": 3, "learners": 2});

        let run = app.train(&s, "q_learning", config.clone()).await;
        let again = app.train(&s, "q_learning", config).await;
        apply(&app, &s, &run).await;
        let after = app
            .evaluate_current(&s.creator.key, &s.tool, &s.dataset)
            .await;

        let result = &run["result"];
        assert_split_metrics(result);
        let rewards: Vec<f64> = result["curves"]["reward"]
            .as_array()
            .expect("reward curve")
            .iter()
            .map(|e| num(&e["reward"]))
            .collect();
        assert_eq!(rewards.len(), 60);
        let mean = |r: &[f64]| r.iter().sum::<f64>() / r.len() as f64;
        assert!(
            mean(&rewards[50..]) > mean(&rewards[..10]),
            "the episode reward rises: {rewards:?}"
        );
        assert_eq!(result["artifact"]["kind"], json!("q_table"));
        assert!(num(&result["details"]["visited_states"]) > 10.0);
        // Same seed and data, same result.
        assert_eq!(
            result["artifact"]["sha256"],
            again["result"]["artifact"]["sha256"]
        );
        assert_eq!(result["metrics"], again["result"]["metrics"]);
        assert_eq!(after["artifact"]["kind"], json!("q_table"));
    }
);

store_test!(
    a_neural_tool_trades_only_once_its_network_is_trained,
    |app| {
        let body = json!({
            "name": "Net", "description": "an MLP", "category": "trading", "family": "neural",
            "monthly_price": 10.0, "tier": "basic", "parameters": {"threshold": 0.0},
        });
        let s = app.training_setup(body, training_data()).await;
        let untrained = app
            .evaluate_current(&s.creator.key, &s.tool, &s.dataset)
            .await;

        let run = app
            .train(
                &s,
                "deep_learning",
                json!({"epochs": 30, "seed": 1, "hidden": [16]}),
            )
            .await;
        apply(&app, &s, &run).await;
        let trained = app
            .evaluate_current(&s.creator.key, &s.tool, &s.dataset)
            .await;

        assert_eq!(num(&untrained["overall"]["metrics"]["num_trades"]), 0.0);
        assert_eq!(run["result"]["artifact"]["kind"], json!("mlp_direction"));
        assert_eq!(
            run["result"]["artifact"]["shape"],
            json!([[14, 16], [16, 1]])
        );
        assert!(
            num(&trained["overall"]["metrics"]["num_trades"]) > 0.0,
            "{trained}"
        );
        let accuracy = num(&run["result"]["details"]["accuracy"]["train"]);
        assert!(
            accuracy > 0.5,
            "better than a coin on what it saw: {accuracy}"
        );
    }
);

store_test!(
    the_optimization_engine_searches_with_a_creator_budget,
    |app| {
        let s = momentum_setup(&app).await;

        let run = app
            .train(
                &s,
                "optimization_engine",
                json!({"trials": 48, "optimizer": "random", "seed": 11}),
            )
            .await;
        let applied = apply(&app, &s, &run).await;

        let result = &run["result"];
        assert_split_metrics(result);
        assert_eq!(
            result["curves"]["best_score"].as_array().map(Vec::len),
            Some(48)
        );
        assert_eq!(result["artifact"], Value::Null);
        assert_ne!(
            result["parameters"],
            json!({"lookback_period": 5, "threshold": 0.0}),
            "a better parameter set was found"
        );
        assert!(
            num(&result["metrics"]["train"]["total_return"])
                > num(&result["baseline"]["train"]["total_return"]),
            "it beats the default on the training split: {result}"
        );
        assert_eq!(applied["tool"]["parameters"], result["parameters"]);
        assert_eq!(applied["version"]["artifact_id"], Value::Null);
    }
);

store_test!(
    only_the_creator_trains_and_bad_configs_name_the_field,
    |app| {
        let s = momentum_setup(&app).await;
        let other = app.user("other").await;
        let other_data = app.dataset(&other).await;
        let path = format!("/v1/tools/{}/trainings", s.tool);

        let post = async |key: &str, body: Value| app.post(&path, key, &body).await;

        let refused = post(
            &other.key,
            json!({"method": "q_learning", "dataset_id": other_data}),
        )
        .await
        .problem(403);
        let bad = post(
            &s.creator.key,
            json!({"method": "deep_learning", "dataset_id": s.dataset, "config": {"epochs": 0, "discount_factor": 0.5}}),
        )
        .await
        .problem(422);
        let not_mine = post(
            &s.creator.key,
            json!({"method": "q_learning", "dataset_id": other_data}),
        )
        .await
        .problem(422);
        let unknown = post(
            &s.creator.key,
            json!({"method": "gradient_boosting", "dataset_id": s.dataset}),
        )
        .await
        .problem(422);
        let started = app
            .start_training(&s, "q_learning", json!({"epochs": 5}))
            .await;
        let id = started["training"]["id"].as_str().expect("id");
        let hidden = app
            .get(&format!("/v1/trainings/{id}"), &other.key)
            .await
            .problem(404);
        let recommendations = app
            .get(
                &format!(
                    "/v1/tools/{}/training-recommendations?dataset_id={}",
                    s.tool, s.dataset
                ),
                &s.creator.key,
            )
            .await
            .expect(200);
        app.get(
            &format!("/v1/tools/{}/training-recommendations", s.tool),
            &other.key,
        )
        .await
        .problem(403);

        assert!(
            refused["detail"]
                .as_str()
                .is_some_and(|d| d.contains("creator"))
        );
        let fields: Vec<_> = bad["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(fields, ["config.discount_factor", "config.epochs"]);
        assert_eq!(not_mine["errors"][0]["field"], json!("dataset_id"));
        assert!(
            unknown["detail"]
                .as_str()
                .is_some_and(|d| d.contains("method")),
            "{unknown}"
        );
        assert_eq!(hidden["status"], json!(404));
        assert_eq!(
            started["training"]["config"]["q_learning"]["episodes"],
            json!(5)
        );
        assert_eq!(started["training"]["config"]["commission"], json!(0.002));
        assert_eq!(started["jobs"].as_array().map(Vec::len), Some(1));
        let recs = recommendations["recommendations"].as_array().expect("list");
        // One earlier run (maybe unfinished): a hybrid when none finished, each with a reason.
        assert!(recs.len() >= 3, "{recommendations}");
        assert!(
            recs.iter()
                .all(|r| r["reason"].as_str().is_some_and(|t| !t.is_empty()))
        );
        assert_eq!(recommendations["basis"]["dataset_rows"], json!(1200));
    }
);

store_test!(
    canceling_a_training_stops_it_inside_its_epoch_within_two_seconds,
    |app| {
        // Arrange: epochs of thousands of one-row batches through a 512-512 network (seconds
        // each, and no progress report before an epoch ends).
        let s = app
            .training_setup(
                momentum_tool("Momentum", default_standards()),
                json!({"kind": "regime_switching", "bars": 50_000, "seed": 5}),
            )
            .await;
        let started = app
            .start_training(
                &s,
                "deep_learning",
                json!({"epochs": 20, "patience": 20, "hidden": [512, 512], "batch_size": 1}),
            )
            .await;
        let job = started["job"]["id"].as_str().expect("job id");
        app.wait_job_until(job, &s.creator.key, 60, |j| j["status"] == json!("running"))
            .await;
        let id = started["training"]["id"].as_str().expect("id");

        // Act
        let asked = std::time::Instant::now();
        app.post(
            &format!("/v1/trainings/{id}/cancel"),
            &s.creator.key,
            &json!({}),
        )
        .await
        .expect(200);
        let done = app.wait_job(job, &s.creator.key, 60).await;
        let latency = asked.elapsed();

        // Assert
        println!("cancel request to canceled: {latency:?}");
        assert_eq!(done["status"], json!("canceled"), "{done}");
        assert!(
            latency < std::time::Duration::from_secs(2),
            "canceled {latency:?} after the request; the bound is 2 s"
        );
        assert_eq!(
            done["progress"].as_f64().map(|p| p < 0.05 + 0.85 / 20.0),
            Some(true),
            "stopped inside the first epoch: {done}"
        );
    }
);

store_test!(a_canceled_run_stores_nothing, |app| {
    let s = momentum_setup(&app).await;
    let started = app
        .start_training(
            &s,
            "deep_learning",
            json!({"epochs": 2000, "patience": 1000, "hidden": [256, 256], "batch_size": 8}),
        )
        .await;
    let id = started["training"]["id"].as_str().expect("id");
    let job = started["job"]["id"].as_str().expect("job id");
    app.wait_job_until(job, &s.creator.key, 60, |j| j["status"] == json!("running"))
        .await;

    app.post(
        &format!("/v1/trainings/{id}/cancel"),
        &s.creator.key,
        &json!({}),
    )
    .await
    .expect(200);
    let done = app.wait_job(job, &s.creator.key, 60).await;
    let run = app
        .get(&format!("/v1/trainings/{id}"), &s.creator.key)
        .await
        .expect(200)["training"]
        .clone();

    assert_eq!(done["status"], json!("canceled"));
    assert_eq!(run["status"], json!("canceled"));
    assert_eq!(run["result"], Value::Null);
    apply_run(&app, &s, id).await.problem(409);
});
