//! The distributed deployment survives its processes dying (issue 16): two API replicas, two
//! workers and two billing schedulers run as real processes on a fresh PostgreSQL database
//! and a private Redis, and
//!
//! - a worker SIGKILLed while it holds a training job: the other worker takes the job again
//!   once its lease runs out and completes it; two attempts, one result;
//! - a scheduler SIGKILLed in the middle of a billing pass: the other finishes it; every
//!   subscription is charged exactly once for the period due, and the ledger balances;
//! - Redis killed while jobs are enqueued through both replicas, then started again empty: no
//!   5xx but 503, the replicas recover by themselves, and every job completes exactly once;
//! - no process panics, and none but the killed ones stops.
//!
//! Every wait polls a condition under a generous deadline, for a loaded two-core machine.

mod billing;
mod fleet;
mod outage;
mod training;

use std::time::Instant;

use fleet::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_survives_killed_workers_schedulers_and_redis_without_losing_or_repeating_work() {
    let started = Instant::now();
    let Some(mut cluster) = Cluster::start().await else {
        return;
    };
    for name in ["worker-1", "worker-2"] {
        cluster.spawn_worker(name).await;
    }
    eprintln!("cluster: up in {:.1} s", started.elapsed().as_secs_f64());

    let dead_worker = training::worker_killed_mid_training(&mut cluster).await;
    eprintln!(
        "cluster: training phase done at {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Two workers again for the rest.
    cluster.spawn_worker("worker-3").await;

    let dead_scheduler = billing::scheduler_killed_mid_pass(&mut cluster).await;
    eprintln!(
        "cluster: billing phase done at {:.1} s",
        started.elapsed().as_secs_f64()
    );

    outage::redis_down_while_enqueueing(&mut cluster).await;
    eprintln!(
        "cluster: Redis phase done at {:.1} s",
        started.elapsed().as_secs_f64()
    );

    cluster.assert_healthy(&[dead_worker.as_str(), dead_scheduler.as_str()]);
}
