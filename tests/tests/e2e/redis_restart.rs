//! Redis restarting under a running API (distributed mode): a job is a store row first (the
//! outbox), so enqueueing while Redis is down is still accepted at once (no hang, no crash),
//! and every acknowledged job completes once Redis is back, although Redis came back empty:
//! the workers' recovery sweep pushes their messages again from the store.

use std::time::{Duration, Instant};

use serde_json::json;
use tests::processes::{RedisServer, free_port};
use tests::{ADMIN_KEY, Backend, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_accepted_while_redis_is_down_run_once_it_is_back_and_none_is_lost() {
    let port = free_port();
    let mut redis = RedisServer::start(port);
    let url = redis.url();
    let tweak_url = url.clone();
    let Some(app) = spawn_app_with(Backend::Redis, move |s| {
        s.redis.url = Some(tweak_url.into());
        s.queue.push_timeout_ms = 500;
        s.worker.redeliver_after_secs = 1;
        s.worker.recover_interval_ms = 200;
    })
    .await
    else {
        return;
    };
    let noop = |ms: u64| json!({"kind": "noop", "payload": {"sleep_ms": ms}});

    // Acknowledged while Redis is up; still queued or running when Redis goes away.
    let acknowledged = app
        .post("/v1/admin/jobs", ADMIN_KEY, &noop(1_500))
        .await
        .expect(202)["job"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    redis.kill();

    let started = Instant::now();
    let during = app.post("/v1/admin/jobs", ADMIN_KEY, &noop(0)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered, not hung"
    );
    let during = during.expect(202)["job"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.get("/healthz", ADMIN_KEY).await.expect(200);

    // Back, empty (no persistence): new jobs go straight through again.
    redis.restart();
    let after = app
        .post("/v1/admin/jobs", ADMIN_KEY, &noop(0))
        .await
        .expect(202)["job"]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    for id in [&acknowledged, &during, &after] {
        let done = app.wait_job(id, ADMIN_KEY, 60).await;
        assert_eq!(done["status"], json!("succeeded"), "{done}");
        assert_eq!(done["attempts"], json!(1), "ran once: {done}");
    }
    let queues = app.get("/v1/admin/queues", ADMIN_KEY).await.expect(200);
    let noop_counts = queues["queues"]
        .as_array()
        .and_then(|q| q.iter().find(|q| q["queue"] == json!("noop")))
        .expect("noop queue")
        .clone();
    assert_eq!(noop_counts["queued"], json!(0), "{queues}");
    assert_eq!(noop_counts["running"], json!(0), "{queues}");
}
