//! (d) Pickup latency of an idle worker: one `marketplace-worker` (concurrency 2), no-op jobs
//! enqueued one at a time with a pause longer than a job, so the worker is idle whenever one
//! arrives. A job's pickup latency is its row's `started_at` (the claim) minus its
//! `created_at` (the enqueue call): the insert's commit, the push, the wake-up or poll that
//! fetches the message, and the claim.

use std::path::Path;
use std::time::Duration;

use shared::domain::account::PLATFORM_ACCOUNT_ID;
use shared::jobs::JobKind;

use super::{World, loadavg, noop_payload, percentile};

/// Pause between two enqueues (a no-op job takes a few milliseconds).
const GAP: Duration = Duration::from_millis(30);
const WARM: u64 = 20;

pub(crate) struct Latency {
    pub(crate) n: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
}

pub(crate) async fn pickup(
    base: &str,
    redis_url: &str,
    bin: &Path,
    n: u64,
) -> anyhow::Result<Latency> {
    let world = World::new(base, redis_url).await?;
    let mut workers = vec![world.spawn_worker(bin, 0, 2, "noop")?];
    let result = async {
        for _ in 0..WARM {
            world
                .enqueue(JobKind::Noop, PLATFORM_ACCOUNT_ID, noop_payload())
                .await?;
        }
        world.track(JobKind::Noop, WARM, None, &mut workers).await?;
        for _ in 0..n {
            tokio::time::sleep(GAP).await;
            world
                .enqueue(JobKind::Noop, PLATFORM_ACCOUNT_ID, noop_payload())
                .await?;
        }
        world
            .track(JobKind::Noop, WARM + n, None, &mut workers)
            .await?;
        let rows: Vec<(f64,)> = sqlx::query_as(
            "SELECT (EXTRACT(EPOCH FROM started_at - created_at) * 1000)::float8 FROM jobs \
             WHERE kind = 'noop' ORDER BY created_at OFFSET $1",
        )
        .bind(i64::try_from(WARM)?)
        .fetch_all(&world.pool)
        .await?;
        let mut ms: Vec<f64> = rows.into_iter().map(|r| r.0).collect();
        ms.sort_by(f64::total_cmp);
        let latency = Latency {
            n,
            p50_ms: percentile(&ms, 0.5),
            p99_ms: percentile(&ms, 0.99),
            max_ms: ms.last().copied().unwrap_or(f64::NAN),
        };
        println!(
            "    pickup of {n} jobs by an idle worker: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, load {}",
            latency.p50_ms,
            latency.p99_ms,
            latency.max_ms,
            loadavg()
        );
        anyhow::Ok(latency)
    }
    .await;
    world.close(workers).await;
    result
}
