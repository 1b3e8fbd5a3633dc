//! Scale-free families end to end: the seed's example tool (`momentum`, threshold 0.5 over 20
//! bars) trades on a daily stock-index-like series and on hourly FX alike, where the legacy
//! raw-return rule with the same numbers never takes a position; and deep learning on it finds
//! samples to learn from. Every test runs on SQLite and on PostgreSQL.

use serde_json::{Value, json};
use tests::{TestApp, User, eurusd_csv, store_test};

fn seed_tool(family: &str) -> Value {
    json!({
        "name": "Advanced Analytics Tool", "description": "ML-powered analytics for trading signals",
        "category": "analysis", "family": family, "monthly_price": 29.99, "tier": "pro",
        "parameters": {"threshold": 0.5, "lookback_period": 20},
    })
}

/// A daily series with an equity index's volatility (18% a year), 2,500 bars.
fn daily_index() -> Value {
    json!({"kind": "gbm", "bars": 2500, "seed": 11, "drift": 0.07, "volatility": 0.18, "interval": "1d"})
}

async fn trades(app: &TestApp, user: &User, tool: &str, dataset: &str) -> f64 {
    let result = app.evaluate_current(&user.key, tool, dataset).await;
    result["overall"]["metrics"]["num_trades"]
        .as_f64()
        .unwrap_or_else(|| panic!("{result}"))
}

store_test!(
    the_seeds_example_trades_on_daily_and_hourly_data_alike,
    |app| {
        // Arrange: the seed's tool under both rules, a daily index-like series and hourly EURUSD.
        let creator = app.user("creator").await;
        let scaled = app.tool(&creator, seed_tool("momentum")).await["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let raw = app.tool(&creator, seed_tool("momentum_return")).await["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let daily = app.generated_dataset(&creator, daily_index()).await["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let hourly = app
            .post_csv("/v1/datasets?name=EURUSD", &creator.key, eurusd_csv())
            .await
            .expect(201)["dataset"]["id"]
            .as_str()
            .expect("id")
            .to_owned();

        // Act
        let scaled_daily = trades(&app, &creator, &scaled, &daily).await;
        let scaled_hourly = trades(&app, &creator, &scaled, &hourly).await;
        let raw_daily = trades(&app, &creator, &raw, &daily).await;
        let raw_hourly = trades(&app, &creator, &raw, &hourly).await;

        // Assert: one threshold, plenty of trades on both; the raw 50% move never happens.
        assert!(scaled_daily >= 50.0, "daily: {scaled_daily} trades");
        assert!(scaled_hourly >= 50.0, "hourly: {scaled_hourly} trades");
        assert_eq!((raw_daily, raw_hourly), (0.0, 0.0));
        // Trades per bar are of the same order on both scales.
        let (per_daily, per_hourly) = (scaled_daily / 2500.0, scaled_hourly / 5000.0);
        assert!(
            per_daily / per_hourly < 3.0 && per_hourly / per_daily < 3.0,
            "{per_daily} vs {per_hourly} trades a bar"
        );
    }
);

store_test!(deep_learning_on_the_seeds_example_finds_samples, |app| {
    // Arrange
    let s = app
        .training_setup(seed_tool("momentum"), daily_index())
        .await;

    // Act
    let run = app
        .train(
            &s,
            "deep_learning",
            json!({"epochs": 5, "seed": 1, "hidden": [8]}),
        )
        .await;

    // Assert: the meta-filter had signals of the tool to learn from.
    assert_eq!(run["status"], json!("succeeded"), "{run}");
    let samples = &run["result"]["details"]["samples"];
    assert!(
        samples["train"].as_f64().is_some_and(|n| n > 100.0),
        "{samples}"
    );
});
