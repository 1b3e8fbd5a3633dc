//! A worker SIGKILLed while it holds a training job: the job's lease runs out, the other worker
//! takes it again (attempt 2) and completes it, and the run has exactly one result.

use serde_json::{Value, json};
use tests::{default_standards, momentum_tool};

use super::fleet::{Cluster, wait_until};

async fn job(cluster: &Cluster, key: &str, id: &str) -> Value {
    cluster.apis[0]
        .get(&format!("/v1/jobs/{id}"), key)
        .await
        .expect(200)["job"]
        .clone()
}

/// Runs the phase; returns the name of the worker it killed.
pub(super) async fn worker_killed_mid_training(cluster: &mut Cluster) -> String {
    // Arrange: a creator, their tool and dataset, and a Q-learning run of several seconds.
    let api = &cluster.apis[0];
    let creator = api
        .post("/v1/accounts", None, &json!({"name": "creator"}))
        .await
        .expect(201)["api_key"]
        .as_str()
        .expect("api key")
        .to_owned();
    let key = creator.as_str();
    let tool = api
        .post(
            "/v1/tools",
            Some(key),
            &momentum_tool("Momentum", default_standards()),
        )
        .await
        .expect(201)["tool"]["id"]
        .as_str()
        .expect("tool id")
        .to_owned();
    let dataset = api
        .post(
            "/v1/datasets",
            Some(key),
            &json!({"generator": {"kind": "regime_switching", "bars": BARS, "seed": 5}}),
        )
        .await
        .expect(201)["dataset"]["id"]
        .as_str()
        .expect("dataset id")
        .to_owned();
    let started = cluster.apis[1]
        .post(
            &format!("/v1/tools/{tool}/trainings"),
            Some(key),
            &json!({
                "method": "q_learning",
                "dataset_id": dataset,
                "config": {"epochs": EPISODES, "seed": 3, "learners": 2},
            }),
        )
        .await
        .expect(202);
    let job_id = started["job"]["id"].as_str().expect("job id").to_owned();
    let training = started["training"]["id"]
        .as_str()
        .expect("training id")
        .to_owned();

    // Act: once the run is computing, SIGKILL the worker holding it.
    let mut holder = Value::Null;
    wait_until(
        90,
        "the training job runs and reports progress",
        async || {
            holder = job(cluster, key, &job_id).await;
            assert_ne!(
                holder["status"],
                json!("succeeded"),
                "the run outlasts the wait for its progress: raise EPISODES"
            );
            holder["status"] == json!("running") && holder["progress"].as_f64() >= Some(0.05)
        },
    )
    .await;
    let victim = cluster.worker_named_by(holder["worker_id"].as_str().expect("worker id"));
    cluster.process(&victim).sigkill();
    let killed = std::time::Instant::now();
    let at_kill = job(cluster, key, &job_id).await;

    // Assert: taken again after the lease and completed by the other worker, once.
    let mut done = Value::Null;
    wait_until(
        240,
        "the training job completes after the kill",
        async || {
            done = job(cluster, key, &job_id).await;
            matches!(
                done["status"].as_str(),
                Some("succeeded" | "failed" | "canceled")
            )
        },
    )
    .await;
    eprintln!(
        "cluster: {victim} killed at progress {}; the job completed {:.1} s later",
        at_kill["progress"],
        killed.elapsed().as_secs_f64()
    );
    assert_eq!(
        at_kill["status"],
        json!("running"),
        "the worker was killed while it held the job: {at_kill}"
    );
    assert_eq!(done["status"], json!("succeeded"), "{done}");
    assert_eq!(
        done["attempts"],
        json!(2),
        "one attempt killed, one completed: {done}"
    );
    let finisher = cluster.worker_named_by(done["worker_id"].as_str().expect("worker id"));
    assert_ne!(finisher, victim, "the other worker completed it");
    let run = cluster.apis[1]
        .get(&format!("/v1/trainings/{training}"), key)
        .await
        .expect(200)["training"]
        .clone();
    assert_eq!(run["status"], json!("succeeded"), "{run}");
    assert_eq!(run["progress"], json!(1.0));
    assert_eq!(run["result"]["artifact"]["kind"], json!("q_table"), "{run}");
    let training_id: uuid::Uuid = training.parse().expect("uuid");
    let (artifacts, results): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM artifacts WHERE training_id = $1), \
                (SELECT COUNT(*) FROM trainings WHERE id = $1 AND result IS NOT NULL)",
    )
    .bind(training_id)
    .fetch_one(cluster.store.pool())
    .await
    .expect("count the run's results");
    assert_eq!(
        (artifacts, results),
        (1, 1),
        "the run completed exactly once: one result, one artifact"
    );
    victim
}

/// Q-learning episodes over a dataset of `BARS` bars: about 7 s of work for a debug build on
/// two busy cores (0.4 s for the 1,200 bars other training tests use), so the run is still
/// going when its worker is killed.
const EPISODES: u32 = 3_000;
/// Bars of the creator's dataset.
const BARS: u32 = 30_000;
