//! Tools: creation with validated parameters and exact prices, creator-only changes, versions,
//! soft deletion, and the filtered, cursor-paginated listing.

use serde_json::{Value, json};
use tests::{TestApp, cents, store_test};

store_test!(
    create_tool_makes_version_one_with_defaults_and_exact_price,
    |app| {
        // Arrange
        let creator = app.user("creator").await;
        let body = json!({
            "name": "Momentum", "category": "trading", "family": "momentum",
            "monthly_price": 29.99, "tier": "pro", "parameters": {"lookback_period": 50}
        });

        // Act
        let created = app.post("/v1/tools", &creator.key, &body).await.expect(201)["tool"].clone();
        let id = created["id"].as_str().expect("id");
        let fetched = app
            .get(&format!("/v1/tools/{id}"), &creator.key)
            .await
            .expect(200)["tool"]
            .clone();

        // Assert
        assert_eq!(created, fetched);
        assert_eq!(
            fetched["monthly_price"],
            json!(29.99),
            "price shown as the same decimal"
        );
        assert_eq!(
            fetched["creator_id"],
            json!(creator.id.to_string()),
            "the caller is the creator"
        );
        assert_eq!(fetched["version"], json!(1));
        assert_eq!(fetched["tier"], json!("pro"));
        assert_eq!(
            fetched["parameters"],
            json!({"lookback_period": 50, "threshold": 0.5}),
            "defaults fill in"
        );
        let versions = app
            .get(&format!("/v1/tools/{id}/versions"), &creator.key)
            .await
            .expect(200);
        assert_eq!(versions["versions"].as_array().map(Vec::len), Some(1));
        assert_eq!(versions["versions"][0]["source"], json!("created"));
    }
);

store_test!(create_tool_refuses_invalid_fields_naming_each, |app| {
    let creator = app.user("creator").await;
    let base = TestApp::tool_body("SMA", 10.0, "basic");
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"parameters": {"fast": 10, "slow": 30, "bogus": 1}}),
            "parameters.bogus",
        ),
        (json!({"parameters": {"fast": 10.5}}), "parameters.fast"),
        (json!({"parameters": {"fast": "10"}}), "parameters.fast"),
        (json!({"parameters": {"fast": 1}}), "parameters.fast"),
        (
            json!({"parameters": {"fast": 40, "slow": 30}}),
            "parameters.fast",
        ),
        (json!({"monthly_price": 29.999}), "monthly_price"),
        (json!({"monthly_price": -1}), "monthly_price"),
        (json!({"monthly_price": 1e12}), "monthly_price"),
        (json!({"monthly_price": "abc"}), "monthly_price"),
        (json!({"family": "astrology"}), "family"),
        (json!({"tier": "gold"}), "tier"),
        (json!({"name": ""}), "name"),
        (json!({"category": "x".repeat(65)}), "category"),
        (
            json!({"creator_id": "00000000-0000-0000-0000-000000000001"}),
            "creator_id",
        ),
        (
            json!({"metadata": {"blob": "x".repeat(20_000)}}),
            "metadata",
        ),
    ];
    for (patch, field) in cases {
        let mut body = base.clone();
        body.as_object_mut()
            .expect("object")
            .extend(patch.as_object().expect("object").clone());
        let p = app
            .post("/v1/tools", &creator.key, &body)
            .await
            .problem(422);
        let fields: Vec<_> = p["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["field"].clone())
            .collect();
        assert!(
            fields.contains(&json!(field)),
            "{field} is named for {patch}: {p}"
        );
    }
    let listed = app
        .get(
            &format!("/v1/tools?creator_id={}", creator.id),
            &creator.key,
        )
        .await
        .expect(200);
    assert_eq!(listed["tools"], json!([]), "no invalid tool was created");
});

store_test!(only_the_creator_may_change_or_delete_a_tool, |app| {
    let creator = app.user("creator").await;
    let mallory = app.user("mallory").await;
    let tool = app
        .tool(&creator, TestApp::tool_body("SMA", 10.0, "basic"))
        .await;
    let path = format!("/v1/tools/{}", tool["id"].as_str().expect("id"));

    app.patch(&path, &mallory.key, &json!({"name": "pwned"}))
        .await
        .problem(403);
    app.delete(&path, &mallory.key).await.problem(403);
    app.patch(
        &format!("/v1/tools/{}", uuid::Uuid::now_v7()),
        &creator.key,
        &json!({"name": "x"}),
    )
    .await
    .problem(404);
    app.delete(&format!("/v1/tools/{}", uuid::Uuid::now_v7()), &creator.key)
        .await
        .problem(404);

    let unchanged = app.get(&path, &mallory.key).await.expect(200)["tool"].clone();
    assert_eq!(unchanged, tool, "refused calls changed nothing");
});

store_test!(
    changing_parameters_makes_a_new_version_and_keeps_history,
    |app| {
        let creator = app.user("creator").await;
        let tool = app
            .tool(&creator, TestApp::tool_body("SMA", 10.0, "basic"))
            .await;
        let id = tool["id"].as_str().expect("id");
        let path = format!("/v1/tools/{id}");

        let renamed = app
            .patch(
                &path,
                &creator.key,
                &json!({"name": "SMA 2", "monthly_price": "12.50"}),
            )
            .await
            .expect(200);
        assert_eq!(
            renamed["tool"]["version"],
            json!(1),
            "no parameter change, no new version"
        );
        assert_eq!(cents(&renamed["tool"]["monthly_price"]), 1250);
        let same = app
            .patch(&path, &creator.key, &json!({"parameters": {"fast": 10}}))
            .await
            .expect(200);
        assert_eq!(
            same["tool"]["version"],
            json!(1),
            "identical parameters make no version"
        );
        let v2 = app
            .patch(&path, &creator.key, &json!({"parameters": {"fast": 5}}))
            .await
            .expect(200);
        assert_eq!(v2["tool"]["version"], json!(2));
        assert_eq!(
            v2["tool"]["parameters"],
            json!({"fast": 5, "slow": 30}),
            "a patch merges over the current parameters"
        );
        let bad = app
            .patch(&path, &creator.key, &json!({"parameters": {"slow": 4}}))
            .await
            .problem(422);
        assert_eq!(bad["errors"][0]["field"], json!("parameters.fast"), "{bad}");
        app.patch(&path, &creator.key, &json!({"family": "rsi"}))
            .await
            .problem(422);
        app.patch(&path, &creator.key, &json!({"monthly_price": 1.234}))
            .await
            .problem(422);

        let versions = app
            .get(&format!("{path}/versions"), &creator.key)
            .await
            .expect(200)["versions"]
            .clone();
        assert_eq!(versions.as_array().map(Vec::len), Some(2));
        assert_eq!(
            versions[0]["parameters"],
            json!({"fast": 10, "slow": 30}),
            "history kept"
        );
        assert_eq!(versions[1]["parameters"], json!({"fast": 5, "slow": 30}));
        let current = app.get(&path, &creator.key).await.expect(200)["tool"].clone();
        assert_eq!(
            (current["version"].clone(), current["name"].clone()),
            (json!(2), json!("SMA 2"))
        );
    }
);

store_test!(deleting_is_soft_and_subscribers_keep_access, |app| {
    // Arrange
    let creator = app.user("creator").await;
    let renter = app.funded_user("renter", 100.0).await;
    let stranger = app.funded_user("stranger", 100.0).await;
    let tool = app
        .tool(&creator, TestApp::tool_body("SMA", 10.0, "basic"))
        .await;
    let id = tool["id"].as_str().expect("id").to_owned();
    app.post(
        "/v1/subscriptions",
        &renter.key,
        &json!({"tool_id": id, "tier": "basic"}),
    )
    .await
    .expect(201);

    // Act
    app.delete(&format!("/v1/tools/{id}"), &creator.key)
        .await
        .expect(204);

    // Assert
    let listed = app.get("/v1/tools", &stranger.key).await.expect(200);
    assert!(
        listed["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .all(|t| t["id"] != json!(id)),
        "left the listing"
    );
    app.get(&format!("/v1/tools/{id}"), &stranger.key)
        .await
        .problem(404);
    let seen = app
        .get(&format!("/v1/tools/{id}"), &creator.key)
        .await
        .expect(200);
    assert!(
        seen["tool"]["deleted_at"].is_string(),
        "the creator still sees it, marked deleted"
    );
    app.get(&format!("/v1/tools/{id}"), &renter.key)
        .await
        .expect(200);
    let access = app
        .get(&format!("/v1/tools/{id}/access"), &renter.key)
        .await
        .expect(200);
    assert_eq!(
        access["has_access"],
        json!(true),
        "current subscribers keep access"
    );
    app.post(
        "/v1/subscriptions",
        &stranger.key,
        &json!({"tool_id": id, "tier": "basic"}),
    )
    .await
    .problem(404);
    app.delete(&format!("/v1/tools/{id}"), &creator.key)
        .await
        .problem(404);
    app.patch(
        &format!("/v1/tools/{id}"),
        &creator.key,
        &json!({"name": "back"}),
    )
    .await
    .problem(404);
    assert_eq!(
        app.balance_cents(&stranger).await,
        10_000,
        "no charge for the refused subscription"
    );
});

store_test!(listing_filters_orders_newest_first_and_paginates, |app| {
    let a = app.user("a").await;
    let b = app.user("b").await;
    let mut ids = Vec::new();
    for (i, (family, tier, price)) in [
        ("sma_crossover", "basic", 10.0),
        ("rsi", "pro", 25.0),
        ("rsi", "basic", 5.0),
        ("momentum", "free", 0.0),
        ("sma_crossover", "enterprise", 99.99),
    ]
    .into_iter()
    .enumerate()
    {
        let owner = if i % 2 == 0 { &a } else { &b };
        let category = if i < 3 { "trading" } else { "research" };
        let body = json!({"name": format!("t{i}"), "category": category, "family": family, "monthly_price": price, "tier": tier});
        ids.push(app.tool(owner, body).await["id"].clone());
    }
    let names = |v: &Value| -> Vec<String> {
        v["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .map(|t| t["name"].as_str().expect("name").to_owned())
            .collect()
    };

    assert_eq!(
        names(&app.get("/v1/tools", &a.key).await.expect(200)),
        ["t4", "t3", "t2", "t1", "t0"],
        "newest first"
    );
    assert_eq!(
        names(&app.get("/v1/tools?family=rsi", &a.key).await.expect(200)),
        ["t2", "t1"]
    );
    assert_eq!(
        names(
            &app.get("/v1/tools?category=research", &a.key)
                .await
                .expect(200)
        ),
        ["t4", "t3"]
    );
    assert_eq!(
        names(&app.get("/v1/tools?tier=basic", &a.key).await.expect(200)),
        ["t2", "t0"]
    );
    assert_eq!(
        names(&app.get("/v1/tools?max_price=10", &a.key).await.expect(200)),
        ["t3", "t2", "t0"]
    );
    assert_eq!(
        names(
            &app.get(&format!("/v1/tools?creator_id={}", b.id), &a.key)
                .await
                .expect(200)
        ),
        ["t3", "t1"]
    );
    assert_eq!(
        names(
            &app.get("/v1/tools?family=rsi&tier=pro&max_price=30", &a.key)
                .await
                .expect(200)
        ),
        ["t1"]
    );
    app.get("/v1/tools?tier=gold", &a.key).await.problem(400);
    app.get("/v1/tools?max_price=1.001", &a.key)
        .await
        .problem(422);

    let mut seen = Vec::new();
    let mut path = "/v1/tools?limit=2".to_owned();
    loop {
        let page = app.get(&path, &a.key).await.expect(200);
        assert!(page["tools"].as_array().expect("tools").len() <= 2);
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/tools?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["t4", "t3", "t2", "t1", "t0"],
        "pages cover every tool once, in order"
    );
    assert_eq!(ids.len(), 5);
});
