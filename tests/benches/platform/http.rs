//! (c) Enqueue latency through the API's HTTP routes.

use super::*;

pub(crate) struct HttpRun {
    pub(crate) label: String,
    pub(crate) rate: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
}

pub(crate) async fn post_noop(client: &reqwest::Client, url: &str) -> anyhow::Result<f64> {
    let t = Instant::now();
    let res = client
        .post(url)
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"kind": "noop", "payload": {"sleep_ms": 0}}))
        .send()
        .await?;
    let status = res.status();
    let body = res.bytes().await?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    ensure!(
        status.as_u16() == 202,
        "POST /v1/admin/jobs answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(ms)
}

/// `POST /v1/admin/jobs` against the API in this process (distributed mode, no worker).
pub(crate) async fn http_enqueue(
    base: &str,
    redis_url: &str,
    n: usize,
) -> anyhow::Result<Vec<HttpRun>> {
    let world = World::new(base, redis_url).await?;
    let app = api::Application::build(world.settings()?).await?;
    let url = format!("http://{}/v1/admin/jobs", app.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let result = async {
        let client = reqwest::Client::new();
        for _ in 0..50 {
            post_noop(&client, &url).await?;
        }
        let mut runs = Vec::new();
        // Sequential: one client, one request at a time.
        let mut lat = Vec::with_capacity(n);
        let t0 = Instant::now();
        for _ in 0..n {
            lat.push(post_noop(&client, &url).await?);
        }
        let secs = t0.elapsed().as_secs_f64();
        lat.sort_by(f64::total_cmp);
        runs.push(HttpRun {
            label: "sequential, 1 client".into(),
            rate: n as f64 / secs,
            p50_ms: percentile(&lat, 0.5),
            p99_ms: percentile(&lat, 0.99),
            max_ms: lat.last().copied().unwrap_or(f64::NAN),
        });
        // 16 clients, each with its own connection, n requests in all.
        let clients = 16;
        let next = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (next, url) = (next.clone(), url.clone());
                tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    let mut lat = Vec::new();
                    while next.fetch_add(1, Ordering::Relaxed) < n {
                        lat.push(post_noop(&client, &url).await?);
                    }
                    Ok::<_, anyhow::Error>(lat)
                })
            })
            .collect();
        let mut lat = Vec::with_capacity(n);
        for t in tasks {
            lat.extend(t.await??);
        }
        let secs = t0.elapsed().as_secs_f64();
        lat.sort_by(f64::total_cmp);
        runs.push(HttpRun {
            label: format!("{clients} concurrent clients"),
            rate: n as f64 / secs,
            p50_ms: percentile(&lat, 0.5),
            p99_ms: percentile(&lat, 0.99),
            max_ms: lat.last().copied().unwrap_or(f64::NAN),
        });
        let counts = world.store.queue_counts().await?;
        let queued: i64 = counts.iter().map(|c| c.queued).sum();
        ensure!(
            queued == i64::try_from(2 * n + 50).unwrap_or(i64::MAX),
            "expected {} queued jobs, found {queued}",
            2 * n + 50
        );
        for r in &runs {
            println!(
                "    {}: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, load {}",
                r.label,
                r.rate,
                r.p50_ms,
                r.p99_ms,
                r.max_ms,
                loadavg()
            );
        }
        anyhow::Ok(runs)
    }
    .await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    world.close(Vec::new()).await;
    result
}
