//! Generated datasets: deterministic across callers, validated field by field; plus listing,
//! deletion and the load time of a large dataset.

use super::*;

store_test!(a_generator_gives_every_caller_the_same_bars, |app| {
    // Arrange
    let (ada, bob) = (app.user("ada").await, app.user("bob").await);
    let spec = json!({"kind": "regime_switching", "bars": 2000, "seed": 7, "interval": "1h",
                      "start": "2021-03-01T00:00:00Z"});

    // Act
    let mine = app
        .post("/v1/datasets", &ada.key, &json!({"generator": spec}))
        .await
        .expect(201)["dataset"]
        .clone();
    let theirs = app
        .post(
            "/v1/datasets",
            &bob.key,
            &json!({"name": "rs", "generator": spec}),
        )
        .await
        .expect(201)["dataset"]
        .clone();
    let again = app
        .post("/v1/datasets", &ada.key, &json!({"generator": spec}))
        .await
        .expect(200)["dataset"]
        .clone();

    // Assert
    assert_ne!(mine["id"], theirs["id"]);
    assert_eq!(
        mine["content_hash"], theirs["content_hash"],
        "same request, same bars"
    );
    assert_eq!(again["id"], mine["id"]);
    assert_eq!(mine["name"], json!("regime_switching seed 7"));
    assert_eq!(theirs["name"], json!("rs"));
    assert_eq!(mine["source"], json!("generator"));
    assert_eq!(
        (mine["rows"].clone(), mine["frequency"].clone()),
        (json!(2000), json!("1h"))
    );
    assert_eq!(mine["start"], json!("2021-03-01T00:00:00Z"));
    assert_eq!(
        mine["generator"],
        json!({"kind": "regime_switching", "bars": 2000, "seed": 7, "interval": "1h",
               "start": "2021-03-01T00:00:00Z", "initial_price": 100.0, "switch_probability": 0.02,
               "trend_drift": 0.3, "trend_volatility": 0.15, "mean_reversion_speed": 0.1,
               "mean_reversion_volatility": 0.2}),
        "the resolved spec is echoed with every default"
    );
    let other_seed = app
        .generated_dataset(
            &ada,
            json!({"kind": "regime_switching", "bars": 2000, "seed": 8, "interval": "1h"}),
        )
        .await;
    assert_ne!(other_seed["content_hash"], mine["content_hash"]);
    let id = mine["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let bars = app
        .store
        .dataset_bars(id)
        .await
        .expect("loads")
        .expect("stored");
    bars.validate().expect("generated bars are valid OHLC");
});

store_test!(invalid_generator_requests_name_the_field, |app| {
    let owner = app.user("tinkerer").await;
    let cases = [
        (
            json!({"generator": {"kind": "gbm", "bars": 10, "seed": 1}}),
            "generator.bars",
        ),
        (
            json!({"generator": {"kind": "garch", "bars": 100, "seed": 1}}),
            "generator.kind",
        ),
        (
            json!({"generator": {"kind": "gbm", "bars": 100, "seed": 1, "sigma": 0.2}}),
            "generator.sigma",
        ),
        (
            json!({"generator": {"kind": "gbm", "bars": 100, "seed": 1, "trend_drift": 0.2}}),
            "generator.trend_drift",
        ),
        (
            json!({"generator": {"kind": "gbm", "bars": 100, "seed": 1, "volatility": 9}}),
            "generator.volatility",
        ),
        (
            json!({"generator": {"kind": "gbm", "bars": 100, "seed": 1, "interval": "1y"}}),
            "generator.interval",
        ),
        (
            json!({"generator": {"kind": "gbm", "bars": 100}}),
            "generator.seed",
        ),
        (
            json!({"generator": {"kind": "gbm", "bars": 100, "seed": 1}, "colour": "red"}),
            "colour",
        ),
        (
            json!({"generator": {"kind": "gbm", "bars": 100, "seed": 1}, "name": " "}),
            "name",
        ),
        (
            json!({"generator": {"kind": "gbm", "bars": 200000, "seed": 1, "drift": 10, "volatility": 0}}),
            "generator",
        ),
    ];
    for (body, field) in cases {
        let problem = app
            .post("/v1/datasets", &owner.key, &body)
            .await
            .problem(422);
        assert_eq!(
            problem["errors"][0]["field"],
            json!(field),
            "{body}: {problem}"
        );
    }
    assert!(list(&app, &owner).await.is_empty(), "nothing stored");
});

store_test!(
    datasets_are_listed_newest_first_in_pages_and_deletable,
    |app| {
        // Arrange
        let owner = app.user("collector").await;
        let mut ids = Vec::new();
        for seed in 1..=3 {
            let d = app
                .generated_dataset(&owner, json!({"kind": "gbm", "bars": 50, "seed": seed}))
                .await;
            ids.push(d["id"].clone());
        }
        assert_eq!(
            app.dataset(&owner).await,
            app.dataset(&owner).await,
            "the helper is idempotent"
        );

        // Act
        let first = app
            .get("/v1/datasets?limit=2", &owner.key)
            .await
            .expect(200);
        let cursor = first["next_cursor"].as_str().expect("a next page");
        let second = app
            .get(&format!("/v1/datasets?limit=2&cursor={cursor}"), &owner.key)
            .await
            .expect(200);

        // Assert
        let page_ids = |p: &Value| -> Vec<Value> {
            p["datasets"]
                .as_array()
                .expect("array")
                .iter()
                .map(|d| d["id"].clone())
                .collect()
        };
        assert_eq!(page_ids(&first).len(), 2);
        assert_eq!(
            page_ids(&first)[1],
            ids[2],
            "newest first, after the helper's own dataset"
        );
        assert_eq!(page_ids(&second), vec![ids[1].clone(), ids[0].clone()]);
        assert!(second["next_cursor"].is_null());
        app.get("/v1/datasets?cursor=garbage", &owner.key)
            .await
            .problem(400);

        let id = ids[0].as_str().expect("id");
        app.delete(&format!("/v1/datasets/{id}"), &owner.key)
            .await
            .expect(204);
        app.get(&format!("/v1/datasets/{id}"), &owner.key)
            .await
            .problem(404);
        app.delete(&format!("/v1/datasets/{id}"), &owner.key)
            .await
            .problem(404);
        assert!(
            app.store
                .dataset_bars(id.parse().expect("uuid"))
                .await
                .expect("query")
                .is_none(),
            "bars deleted"
        );
        assert_eq!(list(&app, &owner).await.len(), 3);
    }
);

store_test!(a_million_bars_load_in_well_under_a_second, |app| {
    // Arrange
    let owner = app.user("heavy").await;
    let spec = json!({"kind": "gbm", "bars": 1_000_000, "seed": 11, "interval": "1m"});
    let d = app.generated_dataset(&owner, spec).await;
    let id = d["id"].as_str().and_then(|s| s.parse().ok()).expect("id");

    // Act: the best of three loads, so a busy test machine does not decide the verdict.
    let mut elapsed = Duration::MAX;
    let mut bars = None;
    for _ in 0..3 {
        let started = Instant::now();
        bars = app.store.dataset_bars(id).await.expect("loads");
        elapsed = elapsed.min(started.elapsed());
    }
    let bars = bars.expect("stored");

    // Assert
    eprintln!("{:?}: 1,000,000 bars loaded in {elapsed:?}", app.backend);
    assert_eq!(bars.len(), 1_000_000);
    assert_eq!(
        bars.content_hash(),
        d["content_hash"].as_str().expect("hash"),
        "the stored bars are the ones summarized"
    );
    assert!(
        elapsed < Duration::from_secs(1),
        "loading 1M bars took {elapsed:?}"
    );
});
