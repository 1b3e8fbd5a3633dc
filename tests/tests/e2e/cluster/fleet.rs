//! The cluster under test: a fresh PostgreSQL database, a private `redis-server`, and the
//! product's real binaries (`marketplace-api`, `marketplace-worker`, `marketplace-scheduler`)
//! started as separate processes against them. Short leases and sweeps come from a TOML file
//! (`MARKETPLACE_CONFIG`), as an operator would set them. When the test fails, every process's
//! last log lines are printed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use shared::config::DatabaseSettings;
use shared::store::postgres::PgStore;
use tests::processes::{Process, RedisServer, binary, free_port};
use tests::{ADMIN_KEY, Backend, EmptyDatabase, Resp, TestApp, empty_database};

/// Worker and scheduler settings that keep the scenario short: a dead worker's job is taken
/// again about `lease_secs` after its last renewal, a lost message is pushed again after
/// `redeliver_after_secs`, and billing passes run every second in batches of one.
const CONFIG: &str = r#"
[worker]
lease_secs = 5
heartbeat_secs = 1
recover_interval_ms = 500
redeliver_after_secs = 2
poll_interval_ms = 100
shutdown_grace_secs = 2
retry_base_ms = 200
retry_cap_secs = 2

[queue]
push_timeout_ms = 500

[scheduler]
cron = "* * * * * *"
batch_size = 1
"#;

/// One API replica's address and an HTTP client for it.
pub(super) struct Api {
    /// `http://127.0.0.1:PORT`.
    pub(super) base: String,
    client: reqwest::Client,
}

impl Api {
    /// Sends a request; a transport error (the replica crashed or hung) is returned, not hidden.
    pub(super) async fn try_send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Resp, reqwest::Error> {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        Ok(TestApp::read(req.send().await?).await)
    }

    /// GET, expected to reach the replica.
    pub(super) async fn get(&self, path: &str, key: &str) -> Resp {
        self.try_send(Method::GET, path, Some(key), None)
            .await
            .unwrap_or_else(|e| panic!("GET {path} on {}: {e}", self.base))
    }

    /// POST with a JSON body, expected to reach the replica.
    pub(super) async fn post(&self, path: &str, key: Option<&str>, body: &Value) -> Resp {
        self.try_send(Method::POST, path, key, Some(body))
            .await
            .unwrap_or_else(|e| panic!("POST {path} on {}: {e}", self.base))
    }
}

/// The running cluster. Fields drop in order: processes first, the database last (its drop
/// forces the remaining connections out).
pub(super) struct Cluster {
    /// Every process started, killed ones included (their logs still count).
    pub(super) procs: Vec<Process>,
    /// The API replicas.
    pub(super) apis: Vec<Api>,
    /// The private Redis.
    pub(super) redis: RedisServer,
    /// The test's own handle on the store, for seeding and invariant checks.
    pub(super) store: Arc<PgStore>,
    env: Vec<(String, String)>,
    _config: tempfile::TempDir,
    _db: EmptyDatabase,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for p in &self.procs {
                eprintln!("{}", p.log_tail());
            }
        }
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn redis_server_installed() -> bool {
    let found = std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !in_ci(),
            "CI=true but redis-server is not installed: the cluster test cannot be skipped in CI"
        );
        eprintln!("SKIPPED (cluster): redis-server is not installed");
    }
    found
}

/// Waits until `done` holds, polling every 50 ms; panics with `what` after `secs`.
pub(super) async fn wait_until<F: AsyncFnMut() -> bool>(secs: u64, what: &str, mut done: F) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(Instant::now() < deadline, "{what} within {secs} s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Cluster {
    /// A fresh database and Redis, the binaries built, the store migrated, and two API replicas
    /// answering. `None` when PostgreSQL or redis-server is missing outside CI.
    pub(super) async fn start() -> Option<Self> {
        if !redis_server_installed() {
            return None;
        }
        let db = empty_database(Backend::Postgres).await?;
        // Build (or find) the binaries once, off the async threads.
        tokio::task::spawn_blocking(|| binary("marketplace-api"))
            .await
            .expect("binaries built");
        let store = PgStore::connect(&DatabaseSettings {
            url: db.url.clone().into(),
            max_connections: 8,
        })
        .await
        .expect("the store connects and migrates");
        let redis = RedisServer::start(free_port());
        let config = tempfile::tempdir().expect("temporary directory");
        let config_path = config.path().join("marketplace.toml");
        std::fs::write(&config_path, CONFIG).expect("config written");
        let env = [
            ("DATABASE_URL", db.url.clone()),
            ("REDIS_URL", redis.url()),
            ("MARKETPLACE_CONFIG", config_path.display().to_string()),
            ("MARKETPLACE_ADMIN_KEY", ADMIN_KEY.to_owned()),
            ("MARKETPLACE_PAYMENTS", "sandbox".to_owned()),
            ("MARKETPLACE_DATABASE_MAX_CONNECTIONS", "5".to_owned()),
            ("MARKETPLACE_RATE_LIMIT_PER_SEC", "0".to_owned()),
            ("MARKETPLACE_SIGNUPS_PER_HOUR", "0".to_owned()),
            ("RUST_LOG", "info,sqlx=warn".to_owned()),
            ("NO_COLOR", "1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let mut cluster = Self {
            procs: Vec::new(),
            apis: Vec::new(),
            redis,
            store: Arc::new(store),
            env,
            _config: config,
            _db: db,
        };
        for i in 1..=2 {
            cluster.spawn_api(&format!("api-{i}")).await;
        }
        Some(cluster)
    }

    fn spawn(&mut self, name: &str, binary: &str, args: &[&str], extra: &[(&str, String)]) {
        let mut env = self.env.clone();
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        self.procs.push(Process::spawn(name, binary, args, &env));
    }

    async fn spawn_api(&mut self, name: &str) {
        let bind = format!("127.0.0.1:{}", free_port());
        self.spawn(
            name,
            "marketplace-api",
            &[],
            &[("MARKETPLACE_BIND", bind.clone())],
        );
        let api = Api {
            base: format!("http://{bind}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("HTTP client"),
        };
        wait_until(60, &format!("{name} answers /healthz"), async || {
            api.try_send(Method::GET, "/healthz", None, None)
                .await
                .is_ok_and(|r| r.status.is_success())
        })
        .await;
        self.apis.push(api);
    }

    /// Starts a worker on every queue (two jobs at a time) and waits until it is ready.
    pub(super) async fn spawn_worker(&mut self, name: &str) {
        self.spawn(name, "marketplace-worker", &["--concurrency", "2"], &[]);
        self.wait_log(name, "worker ready", 60).await;
    }

    /// Starts billing schedulers together and waits until their crons run.
    pub(super) async fn spawn_schedulers(&mut self, names: &[&str]) {
        for name in names {
            self.spawn(name, "marketplace-scheduler", &[], &[]);
        }
        for name in names {
            self.wait_log(name, "scheduler started", 60).await;
        }
    }

    /// The process called `name`.
    pub(super) fn process(&mut self, name: &str) -> &mut Process {
        self.procs
            .iter_mut()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no process {name}"))
    }

    /// The name of the worker process whose id (`worker-{pid}-...`) is `worker_id`.
    pub(super) fn worker_named_by(&self, worker_id: &str) -> String {
        self.procs
            .iter()
            .find(|p| worker_id.starts_with(&format!("worker-{}-", p.pid())))
            .map(|p| p.name.clone())
            .unwrap_or_else(|| panic!("no process of ours is worker {worker_id}"))
    }

    async fn wait_log(&mut self, name: &str, line: &str, secs: u64) {
        let what = format!("{name} logs {line:?}");
        wait_until(secs, &what, async || {
            let p = self.process(name);
            assert!(!p.exited(), "{} exited while starting", p.name);
            p.log().contains(line)
        })
        .await;
    }

    /// No process logged a panic, and every process not killed on purpose still runs.
    pub(super) fn assert_healthy(&mut self, killed: &[&str]) {
        for p in &mut self.procs {
            assert!(
                !p.log().contains("panicked"),
                "{} logged a panic:\n{}",
                p.name,
                p.log_tail()
            );
            if !killed.contains(&p.name.as_str()) {
                assert!(!p.exited(), "{} is still running", p.name);
            }
        }
    }
}
