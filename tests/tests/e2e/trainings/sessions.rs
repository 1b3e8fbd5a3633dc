//! A trained version's artifact travels into sessions: a renter who inserts the tool after the
//! creator applied a training optimizes it with the artifact in every backtest.

use serde_json::json;
use tests::{
    TrainingSetup, default_standards, momentum_tool, store_test, training_data, trending_data,
};

use super::{apply, num};

store_test!(
    sessions_optimize_the_trained_version_with_its_artifact,
    |app| {
        // Arrange: the creator trains a Q-learning policy on their own data and applies it.
        let s = app
            .session_setup(
                momentum_tool("Momentum", default_standards()),
                "pro",
                trending_data(),
                json!({"seed": 7}),
            )
            .await;
        let creator_data = app.generated_dataset(&s.creator, training_data()).await["id"]
            .as_str()
            .expect("dataset id")
            .to_owned();
        let t = TrainingSetup {
            creator: s.creator.clone(),
            tool: s.tool.clone(),
            dataset: creator_data,
        };
        let run = app
            .train(&t, "q_learning", json!({"epochs": 40, "seed": 2}))
            .await;
        apply(&app, &t, &run).await;

        // Act: the renter optimizes the tool in a session and evaluates it on the same data.
        app.insert_and_optimize(&s.renter, &s.session, &s.tool, json!({"trials": 16}))
            .await;
        let view = app.session_view(&s.renter, &s.session).await;
        let evaluation = app
            .evaluate_current(&s.renter.key, &s.tool, &s.dataset)
            .await;

        // Assert: the record's baseline is the trained version, backtested with its Q-table: the
        // same out-of-sample metrics as an evaluation (which loads the artifact) of that version.
        let record = &view["optimizations"][0];
        assert_eq!(record["base_version"], json!(2), "{record}");
        assert_eq!(evaluation["artifact"]["kind"], json!("q_table"));
        let folds = record["folds"].as_array().expect("record folds");
        let eval_folds = evaluation["folds"].as_array().expect("evaluation folds");
        assert_eq!(folds.len(), eval_folds.len());
        for (r, e) in folds.iter().zip(eval_folds) {
            for m in ["total_return", "num_trades", "max_drawdown"] {
                assert_eq!(
                    num(&r["before"][m]),
                    num(&e["out_of_sample"]["metrics"][m]),
                    "{m}: record {r} vs evaluation {e}"
                );
            }
        }
    }
);
