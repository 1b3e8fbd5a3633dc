//! Wall time of a hybrid training run (deep learning, Q-learning and the optimization engine as
//! three `train` jobs) with 1 and 2 worker slots: the embedded application on SQLite, a
//! momentum tool and a 4,000-bar regime-switching dataset; from the POST to the last of the
//! three jobs finished. Each setting runs `HYBRID_REPS` times (default 3) on a fresh app.
//!
//! ```text
//! cargo bench -p tests --bench hybrid
//! ```

use std::time::Instant;

use serde_json::json;
use tests::{Backend, default_standards, momentum_tool, spawn_app_with};

fn main() -> anyhow::Result<()> {
    let reps: usize = std::env::var("HYBRID_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "| worker slots | rep | wall s | deep_learning s | q_learning s | optimization_engine s |"
    );
    println!("|---|---|---|---|---|---|");
    for slots in [1usize, 2] {
        for rep in 1..=reps {
            rt.block_on(async {
                let app = spawn_app_with(Backend::Sqlite, |s| s.worker.concurrency = slots)
                    .await
                    .expect("sqlite app");
                let s = app
                    .training_setup(
                        momentum_tool("Momentum", default_standards()),
                        json!({"kind": "regime_switching", "bars": 20000, "seed": 9}),
                    )
                    .await;
                let config = std::env::var("HYBRID_CONFIG")
                    .ok()
                    .and_then(|c| serde_json::from_str(&c).ok())
                    .unwrap_or_else(|| {
                        json!({
                            "seed": 1, "epochs": 300, "patience": 300, "hidden": [64, 32],
                            "trials": 1000, "learners": 4
                        })
                    });
                let started = Instant::now();
                let answer = app.start_training(&s, "hybrid", config).await;
                let mut parts = Vec::new();
                for job in answer["jobs"].as_array().expect("jobs") {
                    let id = job["id"].as_str().expect("id");
                    let done = app.wait_job(id, &s.creator.key, 600).await;
                    assert_eq!(done["status"], json!("succeeded"), "{done}");
                    parts.push(done);
                }
                let wall = started.elapsed().as_secs_f64();
                let secs = |j: &serde_json::Value| {
                    let t = |k: &str| {
                        j[k].as_str()
                            .and_then(|v| chrono::DateTime::parse_from_rfc3339(v).ok())
                    };
                    match (t("started_at"), t("finished_at")) {
                        (Some(a), Some(b)) => (b - a).num_milliseconds() as f64 / 1e3,
                        _ => f64::NAN,
                    }
                };
                println!(
                    "| {slots} | {rep} | {wall:.2} | {:.2} | {:.2} | {:.2} |",
                    secs(&parts[0]),
                    secs(&parts[1]),
                    secs(&parts[2])
                );
            });
        }
    }
    Ok(())
}
