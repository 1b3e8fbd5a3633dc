//! Job helpers: waiting for a job's final state and enqueueing operators' `noop` jobs.

use serde_json::{Value, json};

use crate::{ADMIN_KEY, TestApp};

impl TestApp {
    /// Polls a job (as `key`) until it reaches a final status; panics after `seconds`.
    pub async fn wait_job(&self, id: &str, key: &str, seconds: u64) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            let job = self.get(&format!("/v1/jobs/{id}"), key).await.expect(200)["job"].clone();
            let status = job["status"].as_str().unwrap_or_default().to_owned();
            if matches!(status.as_str(), "succeeded" | "failed" | "canceled") {
                return job;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "job {id} still {status} after {seconds} s: {job}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Polls a job until `pred` holds for it; panics after `seconds`.
    pub async fn wait_job_until(
        &self,
        id: &str,
        key: &str,
        seconds: u64,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            let job = self.get(&format!("/v1/jobs/{id}"), key).await.expect(200)["job"].clone();
            if pred(&job) {
                return job;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "job {id} never matched within {seconds} s: {job}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// Enqueues a `noop` job through the admin route and returns its id.
    pub async fn noop_job(&self, payload: Value) -> String {
        self.post(
            "/v1/admin/jobs",
            ADMIN_KEY,
            &json!({"kind": "noop", "payload": payload}),
        )
        .await
        .expect(202)["job"]["id"]
            .as_str()
            .expect("job id")
            .to_owned()
    }
}
