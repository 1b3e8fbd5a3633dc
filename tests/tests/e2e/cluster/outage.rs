//! Redis killed while jobs are enqueued through both API replicas, then started again empty:
//! no answer is a 5xx other than 503 while it is down, the replicas recover by themselves,
//! and every job, accepted at once or after the client retried a 503, completes exactly once.

use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use tests::ADMIN_KEY;

use super::fleet::{Api, Cluster, wait_until};

/// Jobs enqueued: a third before the outage, a third during, a third after.
const JOBS: usize = 120;
/// How long Redis stays down at least.
const OUTAGE: Duration = Duration::from_secs(3);

/// What the client saw enqueueing one job.
struct Enqueued {
    id: String,
    /// 503 answers before it was accepted.
    refusals: usize,
    /// The slowest answer.
    slowest: Duration,
}

fn assert_not_a_server_error(what: &str, status: reqwest::StatusCode, body: &Value) {
    assert!(
        !status.is_server_error() || status.as_u16() == 503,
        "{what} answered {status} (a dependency down may answer 503, never another 5xx): {body}"
    );
}

/// Enqueues a `noop` job, retrying 503s (as `Retry-After` asks) until it is accepted.
async fn enqueue(api: &Api) -> Enqueued {
    let body = json!({"kind": "noop", "payload": {"sleep_ms": 300}});
    let mut refusals = 0;
    let mut slowest = Duration::ZERO;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let sent = Instant::now();
        let res = api
            .try_send(Method::POST, "/v1/admin/jobs", Some(ADMIN_KEY), Some(&body))
            .await
            .unwrap_or_else(|e| panic!("{} answers an enqueue: {e}", api.base));
        slowest = slowest.max(sent.elapsed());
        if res.status.is_success() {
            let id = res.body["job"]["id"].as_str().expect("job id").to_owned();
            return Enqueued {
                id,
                refusals,
                slowest,
            };
        }
        assert_not_a_server_error("an enqueue", res.status, &res.body);
        assert_eq!(
            res.status.as_u16(),
            503,
            "an enqueue is accepted or refused for now: {}",
            res.body
        );
        refusals += 1;
        assert!(Instant::now() < deadline, "an enqueue accepted within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Enqueues jobs `range` through the replicas in turn, eight requests at a time.
async fn enqueue_many(cluster: &Cluster, range: std::ops::Range<usize>) -> Vec<Enqueued> {
    futures::stream::iter(range)
        .map(|i| enqueue(&cluster.apis[i % cluster.apis.len()]))
        .buffered(8)
        .collect()
        .await
}

/// Reads that do not need Redis, on every replica: each answers, with no 5xx but 503.
async fn probe(cluster: &Cluster, job: &str) {
    for api in &cluster.apis {
        for path in ["/readyz", "/v1/admin/queues", &format!("/v1/jobs/{job}")] {
            let res = api
                .try_send(Method::GET, path, Some(ADMIN_KEY), None)
                .await
                .unwrap_or_else(|e| panic!("{} answers GET {path}: {e}", api.base));
            assert_not_a_server_error(&format!("GET {path}"), res.status, &res.body);
        }
    }
}

async fn noop_counts(cluster: &Cluster) -> Value {
    let queues = cluster.apis[0]
        .get("/v1/admin/queues", ADMIN_KEY)
        .await
        .expect(200);
    queues["queues"]
        .as_array()
        .and_then(|q| q.iter().find(|q| q["queue"] == json!("noop")))
        .cloned()
        .unwrap_or_else(|| panic!("a noop queue in {queues}"))
}

/// Runs the phase.
pub(super) async fn redis_down_while_enqueueing(cluster: &mut Cluster) {
    // Arrange + Act: a third with Redis up, a third while it is down, a third after.
    let third = JOBS / 3;
    let mut jobs = enqueue_many(cluster, 0..third).await;
    cluster.redis.kill();
    let down_at = Instant::now();
    jobs.extend(enqueue_many(cluster, third..2 * third).await);
    while down_at.elapsed() < OUTAGE {
        probe(cluster, &jobs[third].id).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster.redis.restart();
    let outage = down_at.elapsed();
    jobs.extend(enqueue_many(cluster, 2 * third..JOBS).await);

    // Assert: every job completes, each in one attempt.
    wait_until(120, "every noop job finishes", async || {
        let counts = noop_counts(cluster).await;
        counts["queued"] == json!(0) && counts["running"] == json!(0)
    })
    .await;
    let refused: usize = jobs.iter().map(|j| j.refusals).sum();
    let slowest = jobs.iter().map(|j| j.slowest).max().unwrap_or_default();
    eprintln!(
        "cluster: {JOBS} jobs enqueued, {refused} answers 503 retried, slowest answer {} ms, \
         Redis down for {:.1} s",
        slowest.as_millis(),
        outage.as_secs_f64()
    );
    assert!(
        slowest < Duration::from_secs(10),
        "every enqueue is answered, none hangs on the missing Redis: {slowest:?}"
    );
    for (i, j) in jobs.iter().enumerate() {
        let job = cluster.apis[i % 2]
            .get(&format!("/v1/jobs/{}", j.id), ADMIN_KEY)
            .await
            .expect(200)["job"]
            .clone();
        assert_eq!(job["status"], json!("succeeded"), "job {i}: {job}");
        assert_eq!(job["attempts"], json!(1), "job {i} ran exactly once: {job}");
    }
    let ids: std::collections::HashSet<_> = jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids.len(), JOBS, "every enqueue made its own job");
    let counts = noop_counts(cluster).await;
    assert_eq!(counts["queued"], json!(0), "{counts}");
    assert_eq!(counts["running"], json!(0), "{counts}");
}
