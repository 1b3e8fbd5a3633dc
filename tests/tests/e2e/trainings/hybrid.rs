//! The hybrid method: three jobs (deep learning, Q-learning, the optimization engine) judged on
//! the same validation folds; the best is kept, and apply makes a version of the winner.

use serde_json::json;
use tests::store_test;

use super::{apply, momentum_setup, num};

store_test!(
    a_hybrid_run_judges_its_three_parts_and_applies_the_winner,
    |app| {
        // Arrange
        let s = momentum_setup(&app).await;

        // Act
        let run = app
            .train(
                &s,
                "hybrid",
                json!({"seed": 5, "epochs": 30, "trials": 24, "learners": 2}),
            )
            .await;
        let applied = apply(&app, &s, &run).await;
        let listed = app
            .get(&format!("/v1/tools/{}/trainings", s.tool), &s.creator.key)
            .await
            .expect(200);

        // Assert: three parts, every score, a winner with its reason.
        assert_eq!(run["status"], json!("succeeded"), "{run}");
        let parts = run["parts"].as_array().expect("parts");
        let methods: Vec<_> = parts.iter().map(|p| p["method"].clone()).collect();
        assert_eq!(
            methods,
            [
                json!("deep_learning"),
                json!("q_learning"),
                json!("optimization_engine")
            ]
        );
        assert!(parts.iter().all(|p| p["status"] == json!("succeeded")));
        let judgment = &run["judgment"];
        let ranking = judgment["ranking"].as_array().expect("ranking");
        assert_eq!(ranking.len(), 3);
        let best = ranking
            .iter()
            .filter_map(|p| p["score"].as_f64())
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(
            num(&ranking[0]["score"]),
            best,
            "ranked best first: {judgment}"
        );
        let winner = judgment["winner"].as_str().expect("a winner");
        assert!(
            judgment["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with(winner)),
            "{judgment}"
        );
        assert_eq!(
            run["result"]["method"],
            json!(winner),
            "the result is the winner's"
        );
        assert_eq!(
            applied["version"]["lineage"]["hybrid_training_id"], run["id"],
            "the version names the hybrid run"
        );
        assert_eq!(applied["version"]["lineage"]["method"], json!(winner));
        assert_eq!(applied["training"]["applied_version"], json!(2));
        // The tool's runs list the hybrid run once, its parts inside it.
        let runs = listed["trainings"].as_array().expect("runs");
        assert_eq!(runs.len(), 1, "{listed}");
        assert_eq!(runs[0]["id"], run["id"]);
        assert_eq!(runs[0]["parts"].as_array().map(Vec::len), Some(3));
    }
);
