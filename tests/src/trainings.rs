//! Training helpers: a creator's tool and dataset, starting a run and waiting for it.

use serde_json::{Value, json};

use crate::{TestApp, User};

/// A creator, their tool (from `tool_body`) and their dataset (from `generator`).
pub struct TrainingSetup {
    /// The tool's creator.
    pub creator: User,
    /// The tool's id.
    pub tool: String,
    /// The creator's dataset.
    pub dataset: String,
}

/// A small, trending synthetic series for training tests (1,200 daily bars).
pub fn training_data() -> Value {
    json!({"kind": "regime_switching", "bars": 1200, "seed": 5})
}

impl TestApp {
    /// Creator, tool and dataset.
    pub async fn training_setup(&self, tool_body: Value, generator: Value) -> TrainingSetup {
        let creator = self.user("creator").await;
        let tool = self.tool(&creator, tool_body).await["id"]
            .as_str()
            .expect("tool id")
            .to_owned();
        let dataset = self.generated_dataset(&creator, generator).await["id"]
            .as_str()
            .expect("dataset id")
            .to_owned();
        TrainingSetup {
            creator,
            tool,
            dataset,
        }
    }

    /// Starts a run (202) and returns the answer `{training, job, jobs}`.
    pub async fn start_training(&self, s: &TrainingSetup, method: &str, config: Value) -> Value {
        self.post(
            &format!("/v1/tools/{}/trainings", s.tool),
            &s.creator.key,
            &json!({"method": method, "config": config, "dataset_id": s.dataset}),
        )
        .await
        .expect(202)
    }

    /// Starts a run, waits for every job of it to succeed and returns the run as read back.
    pub async fn train(&self, s: &TrainingSetup, method: &str, config: Value) -> Value {
        let started = self.start_training(s, method, config).await;
        for job in started["jobs"].as_array().expect("jobs") {
            let id = job["id"].as_str().expect("job id");
            let done = self.wait_job(id, &s.creator.key, 180).await;
            assert_eq!(done["status"], json!("succeeded"), "training job: {done}");
        }
        let id = started["training"]["id"].as_str().expect("training id");
        self.get(&format!("/v1/trainings/{id}"), &s.creator.key)
            .await
            .expect(200)["training"]
            .clone()
    }

    /// Evaluates the tool's current version on `dataset` and returns the finished job's result.
    pub async fn evaluate_current(&self, key: &str, tool: &str, dataset: &str) -> Value {
        let job = self
            .post(
                &format!("/v1/tools/{tool}/evaluations"),
                key,
                &json!({"dataset_id": dataset}),
            )
            .await
            .expect(202)["job"]["id"]
            .as_str()
            .expect("job id")
            .to_owned();
        let done = self.wait_job(&job, key, 120).await;
        assert_eq!(done["status"], json!("succeeded"), "evaluation: {done}");
        done["result"].clone()
    }
}
