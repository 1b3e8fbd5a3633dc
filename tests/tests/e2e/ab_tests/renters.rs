//! The cross-renter comparison of two versions: hidden (no numbers, only how many renters are
//! still needed) until each version has 5 distinct renters whose sessions started from it,
//! shown as aggregates at 5 (through the API and on the A/B test's page).

use serde_json::json;
use tests::{TestApp, default_standards, momentum_tool, store_test, trending_data};

/// A renter of `tool` who ran one optimization in a session started from its current version.
async fn renter_optimizes(app: &TestApp, tool: &str, name: &str, seed: u64) {
    let renter = app.funded_user(name, 1_000.0).await;
    app.post(
        "/v1/subscriptions",
        &renter.key,
        &json!({"tool_id": tool, "tier": "basic", "months": 1}),
    )
    .await
    .expect(201);
    let data = app.generated_dataset(&renter, trending_data()).await;
    let session = app
        .open_session(&renter, &data["id"], json!({"seed": seed}))
        .await;
    app.insert_and_optimize(&renter, &session, tool, json!({"trials": 4}))
        .await;
}

store_test!(
    the_renter_aggregate_is_hidden_below_five_renters_and_shown_at_five,
    |app| {
        // Arrange: four renters, then a fifth, optimize from version 1.
        let creator = app.user("creator").await;
        let tool = app
            .tool(&creator, momentum_tool("Momentum", default_standards()))
            .await["id"]
            .as_str()
            .expect("tool id")
            .to_owned();
        let path = format!("/v1/tools/{tool}/ab-tests/renters?version_a=1&version_b=1");
        for i in 0..4 {
            renter_optimizes(&app, &tool, &format!("renter {i}"), i).await;
        }

        // Act
        let hidden = app.get(&path, &creator.key).await.expect(200);
        renter_optimizes(&app, &tool, "renter 4", 4).await;
        let shown = app.get(&path, &creator.key).await.expect(200);

        // Assert
        assert_eq!(hidden["min_renters"], json!(5));
        assert_eq!(hidden["shown"], json!(false), "{hidden}");
        assert_eq!(hidden["version_a"]["renters_needed"], json!(1));
        assert_eq!(
            hidden["version_a"]["aggregate"],
            json!(null),
            "no numbers below 5"
        );
        assert_eq!(hidden["version_b"]["aggregate"], json!(null));
        assert_eq!(shown["shown"], json!(true), "{shown}");
        let agg = &shown["version_a"]["aggregate"];
        assert_eq!(agg["renters"], json!(5));
        assert_eq!(agg["records"], json!(5));
        assert!(agg["sharpe"]["mean"].is_f64() && agg["sharpe"]["median"].is_f64());
        assert_eq!(shown["version_a"]["renters_needed"], json!(0));

        // The A/B test page shows the same aggregate to the creator.
        let dataset = app.dataset(&creator).await;
        let started = app
            .post(
                &format!("/v1/tools/{tool}/ab-tests"),
                &creator.key,
                &json!({"version_a": 1, "version_b": 1, "dataset_ids": [dataset]}),
            )
            .await
            .expect(202);
        let test = started["ab_test"]["id"].as_str().expect("id").to_owned();
        app.wait_job(&test, &creator.key, 120).await;
        let web = crate::dashboard::Web::sign_in(&app, &creator.key).await;
        let (status, _, page) = web.get(&format!("/tools/{tool}/ab-tests/{test}")).await;
        assert_eq!(status, 200);
        assert!(
            page.contains("id=\"ab-renters\""),
            "the aggregate is shown: {page}"
        );
        let sharpe = format!("{:.2}", agg["sharpe"]["mean"].as_f64().expect("mean"));
        assert!(
            page.contains(&sharpe),
            "the page shows the mean Sharpe {sharpe}"
        );
    }
);
