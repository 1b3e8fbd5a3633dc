//! (a) No-op jobs: enqueued while workers consume (end to end), and prefilled then drained.

use super::*;

pub(crate) fn noop_payload() -> Value {
    serde_json::to_value(NoopJob::default()).unwrap_or(Value::Null)
}

/// Enqueues `n` jobs from `ENQUEUERS` tasks, pausing while more than `MAX_BACKLOG` are
/// unfinished. Returns the enqueue time and how often a task paused.
pub(crate) async fn enqueue_concurrently(
    world: &Arc<World>,
    kind: JobKind,
    owner: Uuid,
    payload: Value,
    n: u64,
    base: u64,
    done: &Arc<AtomicU64>,
) -> anyhow::Result<(Duration, u64)> {
    let next = Arc::new(AtomicU64::new(0));
    let pauses = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..ENQUEUERS)
        .map(|_| {
            let (world, next, pauses, done, payload) = (
                world.clone(),
                next.clone(),
                pauses.clone(),
                done.clone(),
                payload.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(world.batch, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<(), anyhow::Error>(());
                    }
                    while i.saturating_sub(done.load(Ordering::Relaxed).saturating_sub(base))
                        > MAX_BACKLOG
                    {
                        pauses.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    world
                        .enqueue_n(kind, owner, &payload, world.batch.min(n - i))
                        .await?;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok((t0.elapsed(), pauses.load(Ordering::Relaxed)))
}

pub(crate) struct ConcurrentRun {
    pub(crate) enqueue_rate: f64,
    pub(crate) e2e_rate: f64,
    pub(crate) tail_s: f64,
    pub(crate) pauses: u64,
}

/// Workers warmed with 200 jobs, then N enqueued while they consume.
pub(crate) async fn noop_concurrent(
    base: &str,
    redis_url: &str,
    bin: &Path,
    n: u64,
    concurrency: usize,
) -> anyhow::Result<ConcurrentRun> {
    let world = Arc::new(World::new(base, redis_url).await?);
    let mut workers = vec![
        world.spawn_worker(bin, 0, concurrency, "noop")?,
        world.spawn_worker(bin, 1, concurrency, "noop")?,
    ];
    let result = async {
        for _ in 0..200 {
            world
                .enqueue(JobKind::Noop, PLATFORM_ACCOUNT_ID, noop_payload())
                .await?;
        }
        world
            .track(JobKind::Noop, 200, None, &mut workers)
            .await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let done = Arc::new(AtomicU64::new(200));
        let t0 = Instant::now();
        let enqueuing = {
            let (world, done) = (world.clone(), done.clone());
            tokio::spawn(async move {
                enqueue_concurrently(
                    &world,
                    JobKind::Noop,
                    PLATFORM_ACCOUNT_ID,
                    noop_payload(),
                    n,
                    200,
                    &done,
                )
                .await
            })
        };
        let tracked = world
            .track(JobKind::Noop, 200 + n, Some(done.as_ref()), &mut workers)
            .await?;
        let (t_enq, pauses) = enqueuing.await??;
        let e2e = tracked.t_last - t0;
        let (retried, redelivered) = world.audit(JobKind::Noop).await?;
        ensure!(
            tracked.failed == 0,
            "{} noop jobs failed",
            tracked.failed
        );
        println!(
            "    concurrent c={concurrency}: enqueue {:.0}/s ({:.2} s), end-to-end {:.0} jobs/s ({:.2} s), \
             last completion {:.2} s after last enqueue, back-pressure pauses {pauses}, \
             run twice {retried}, redelivered {redelivered}, poll {:.1} ms, load {}",
            n as f64 / t_enq.as_secs_f64(),
            t_enq.as_secs_f64(),
            n as f64 / e2e.as_secs_f64(),
            e2e.as_secs_f64(),
            e2e.as_secs_f64() - t_enq.as_secs_f64(),
            tracked.poll_ms,
            loadavg()
        );
        anyhow::Ok(ConcurrentRun {
            enqueue_rate: n as f64 / t_enq.as_secs_f64(),
            e2e_rate: n as f64 / e2e.as_secs_f64(),
            tail_s: e2e.as_secs_f64() - t_enq.as_secs_f64(),
            pauses,
        })
    }
    .await;
    match Arc::try_unwrap(world) {
        Ok(w) => w.close(workers).await,
        Err(_) => drop(workers),
    }
    result
}

pub(crate) struct PrefilledRun {
    pub(crate) enqueue_rate: f64,
    pub(crate) drain_rate: f64,
    pub(crate) start_to_last_s: f64,
}

/// N enqueued with no worker running, then the workers start.
pub(crate) async fn noop_prefilled(
    base: &str,
    redis_url: &str,
    bin: &Path,
    n: u64,
    concurrency: usize,
) -> anyhow::Result<PrefilledRun> {
    let world = Arc::new(World::new(base, redis_url).await?);
    let mut workers = Vec::new();
    let result = async {
        let done = Arc::new(AtomicU64::new(0));
        // No consumer: nothing finishes, so no back-pressure (a backlog of N is the point).
        let (t_enq, _) = {
            let next = Arc::new(AtomicU64::new(0));
            let t0 = Instant::now();
            let tasks: Vec<_> = (0..ENQUEUERS)
                .map(|_| {
                    let (world, next) = (world.clone(), next.clone());
                    tokio::spawn(async move {
                        loop {
                            let i = next.fetch_add(world.batch, Ordering::Relaxed);
                            if i >= n {
                                return Ok::<(), anyhow::Error>(());
                            }
                            let count = world.batch.min(n - i);
                            world
                                .enqueue_n(JobKind::Noop, PLATFORM_ACCOUNT_ID, &noop_payload(), count)
                                .await?;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await??;
            }
            (t0.elapsed(), ())
        };
        let t_start = Instant::now();
        workers.push(world.spawn_worker(bin, 0, concurrency, "noop")?);
        workers.push(world.spawn_worker(bin, 1, concurrency, "noop")?);
        let tracked = world
            .track(JobKind::Noop, n, Some(done.as_ref()), &mut workers)
            .await?;
        let drain = (n - tracked.c_first) as f64 / (tracked.t_last - tracked.t_first).as_secs_f64();
        let (retried, redelivered) = world.audit(JobKind::Noop).await?;
        ensure!(tracked.failed == 0, "{} noop jobs failed", tracked.failed);
        println!(
            "    prefilled  c={concurrency}: enqueue {:.0}/s ({:.2} s), drain {drain:.0} jobs/s, \
             worker start to last completion {:.2} s, run twice {retried}, redelivered {redelivered}, poll {:.1} ms, load {}",
            n as f64 / t_enq.as_secs_f64(),
            t_enq.as_secs_f64(),
            (tracked.t_last - t_start).as_secs_f64(),
            tracked.poll_ms,
            loadavg()
        );
        anyhow::Ok(PrefilledRun {
            enqueue_rate: n as f64 / t_enq.as_secs_f64(),
            drain_rate: drain,
            start_to_last_s: (tracked.t_last - t_start).as_secs_f64(),
        })
    }
    .await;
    match Arc::try_unwrap(world) {
        Ok(w) => w.close(workers).await,
        Err(_) => drop(workers),
    }
    result
}
