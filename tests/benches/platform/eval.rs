//! (b) Evaluation jobs: a tool and a 2,000-bar dataset, then evaluations over several worker
//! processes and slots, with the workers' and the machine's CPU time per job.

use super::*;

/// A creator with an sma_crossover tool and a 2,000-bar GBM dataset, made through the store.
pub(crate) async fn eval_fixture(world: &World) -> anyhow::Result<Value> {
    let now = Utc::now();
    let owner = world
        .store
        .create_account(
            "bench creator",
            &NewApiKey {
                hash: format!("{:x}", Uuid::new_v4().as_u128()),
                prefix: "bench".into(),
            },
            now,
        )
        .await?;
    let family = shared::families::get("sma_crossover").context("sma_crossover family")?;
    let mut input = serde_json::Map::new();
    input.insert("fast".into(), json!(10));
    input.insert("slow".into(), json!(30));
    let parameters = family
        .validate(&input)
        .map_err(|e| anyhow::anyhow!("parameters: {e:?}"))?;
    let tool = world
        .store
        .create_tool(
            &NewTool {
                creator_id: owner.id,
                name: "bench sma".into(),
                description: "crossover of two simple moving averages".into(),
                category: "trading".into(),
                family: family.name.into(),
                monthly_price: Money::from_cents(1_000),
                tier: Tier::Basic,
                parameters,
                metadata: serde_json::Map::new(),
                standards: None,
                auto_promote: false,
                reference_dataset_id: None,
            },
            now,
        )
        .await?;
    let spec = GeneratorSpec {
        kind: GeneratorKind::Gbm,
        bars: 2_000,
        seed: 42,
        start: None,
        interval: None,
        initial_price: None,
        drift: None,
        volatility: None,
        switch_probability: None,
        trend_drift: None,
        trend_volatility: None,
        mean_reversion_speed: None,
        mean_reversion_volatility: None,
    }
    .resolve(100_000)
    .map_err(|e| anyhow::anyhow!("generator spec: {e:?}"))?;
    let bars = synth::generate(&spec).map_err(|e| anyhow::anyhow!("generator: {e:?}"))?;
    let new = NewDataset::from_bars(
        owner.id,
        "bench gbm 2000".into(),
        DatasetSource::Generator(spec),
        &bars,
    )
    .context("summarizing the bars")?;
    let (dataset, _) = world
        .store
        .create_dataset(&new, shared::store::DatasetLimits::NONE, now)
        .await?;
    let config = EvalConfig::default();
    config
        .folds
        .split(bars.len())
        .map_err(|e| anyhow::anyhow!("folds: {e:?}"))?;
    Ok(json!({
        "owner": owner.id,
        "payload": serde_json::to_value(EvaluateToolJob {
            tool_id: tool.id,
            version: tool.current_version,
            dataset_id: dataset.id,
            config: serde_json::to_value(config)?,
        })?,
    }))
}

pub(crate) struct EvalRun {
    pub(crate) processes: usize,
    pub(crate) slots: usize,
    pub(crate) cpu_ms_per_job: f64,
    /// Busy CPU time of the whole machine per job (workers, database, Redis, the driver).
    pub(crate) machine_ms_per_job: f64,
    pub(crate) rate: f64,
    pub(crate) seconds: f64,
    pub(crate) mean_job_ms: f64,
}

/// `n` evaluation jobs over `processes` workers of concurrency `slots` (warmed with 10 jobs).
pub(crate) async fn evaluations(
    base: &str,
    redis_url: &str,
    bin: &Path,
    n: u64,
    processes: usize,
    slots: usize,
) -> anyhow::Result<EvalRun> {
    let world = Arc::new(World::new(base, redis_url).await?);
    let fixture = eval_fixture(&world).await?;
    let owner: Uuid = serde_json::from_value(fixture["owner"].clone())?;
    let payload = fixture["payload"].clone();
    let mut workers = (0..processes)
        .map(|i| world.spawn_worker(bin, i, slots, "evaluate"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let result = async {
        for _ in 0..10 {
            world
                .enqueue(JobKind::Evaluate, owner, payload.clone())
                .await?;
        }
        world
            .track(JobKind::Evaluate, 10, None, &mut workers)
            .await?;
        let done = Arc::new(AtomicU64::new(10));
        let cpu = |workers: &[WorkerProcess]| -> anyhow::Result<f64> {
            workers.iter().map(WorkerProcess::cpu_secs).sum()
        };
        let cpu_before = cpu(&workers)?;
        let machine_before = machine_busy_secs()?;
        let t0 = Instant::now();
        let enqueuing = {
            let (world, done, payload) = (world.clone(), done.clone(), payload.clone());
            tokio::spawn(async move {
                enqueue_concurrently(&world, JobKind::Evaluate, owner, payload, n, 10, &done).await
            })
        };
        let tracked = world
            .track(JobKind::Evaluate, 10 + n, Some(done.as_ref()), &mut workers)
            .await?;
        let cpu_ms_per_job = (cpu(&workers)? - cpu_before) * 1000.0 / n as f64;
        let machine_ms_per_job = (machine_busy_secs()? - machine_before) * 1000.0 / n as f64;
        if std::env::var("PLATFORM_WORKER_LOG").is_ok() {
            let text = workers[0].log_text();
            let kept = std::env::temp_dir().join(format!("worker0-{processes}x{slots}.log"));
            let _ = std::fs::write(&kept, &text);
            let found_nothing = text.matches("claim found nothing").count();
            println!(
                "    worker 0 log: {} lines, {found_nothing} claims found nothing, kept in {}",
                text.lines().count(),
                kept.display()
            );
        }
        let (t_enq, _) = enqueuing.await??;
        let seconds = (tracked.t_last - t0).as_secs_f64();
        if tracked.failed > 0 {
            let (error,): (Option<Value>,) = sqlx::query_as(
                "SELECT error FROM jobs WHERE kind = 'evaluate' AND status = 'failed' LIMIT 1",
            )
            .fetch_one(&world.pool)
            .await?;
            bail!("{} evaluation jobs failed, e.g. {error:?}", tracked.failed);
        }
        let (mean_ms, with_results): (Option<f64>, i64) = sqlx::query_as(
            "SELECT AVG(EXTRACT(EPOCH FROM finished_at - started_at) * 1000)::float8, \
                    COUNT(*) FILTER (WHERE result ? 'overall') \
             FROM jobs WHERE kind = 'evaluate' AND status = 'succeeded'",
        )
        .fetch_one(&world.pool)
        .await?;
        let mean_ms = mean_ms.unwrap_or(f64::NAN);
        ensure!(
            with_results == i64::try_from(n + 10).unwrap_or(i64::MAX),
            "only {with_results} evaluation results have an `overall` section"
        );
        let (retried, _) = world.audit(JobKind::Evaluate).await?;
        println!(
            "    {processes} process(es) x {slots}: {n} evaluations in {seconds:.2} s = {:.1} jobs/s \
             (enqueued in {:.2} s), worker CPU {cpu_ms_per_job:.2} ms per job, machine CPU {machine_ms_per_job:.2} ms per job, mean claim-to-finish {mean_ms:.1} ms, \
             results checked {with_results}, run twice {retried}, load {}",
            n as f64 / seconds,
            t_enq.as_secs_f64(),
            loadavg()
        );
        anyhow::Ok(EvalRun {
            processes,
            slots,
            cpu_ms_per_job,
            machine_ms_per_job,
            rate: n as f64 / seconds,
            seconds,
            mean_job_ms: mean_ms,
        })
    }
    .await;
    match Arc::try_unwrap(world) {
        Ok(w) => w.close(workers).await,
        Err(_) => drop(workers),
    }
    result
}
