//! End-to-end test harness: the real application ([`api::Application`]) on a random port, over
//! a fresh store per test, driven through HTTP.
//!
//! - SQLite: a new database file in a temporary directory, always available.
//! - PostgreSQL: a new database `test_<uuid>` on the server named by `DATABASE_URL`, dropped
//!   when the test ends. Unset on a laptop: the test prints a loud SKIPPED line and passes;
//!   with `CI=true` a missing or unreachable server fails the test.
//!
//! Use [`store_test!`] to run one test body on both stores.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::clock::ManualClock;
use shared::config::Settings;
use shared::store::Store;
use uuid::Uuid;

pub mod browser;
mod jobs;
pub mod processes;
mod services;
mod sessions;
mod trainings;

pub use sessions::{SessionSetup, default_standards, momentum_tool, trending_data};
pub use trainings::{TrainingSetup, training_data};

use services::{PgDatabase, create_pg_database, redis_available, redis_url};

/// The admin key every test app is configured with.
pub const ADMIN_KEY: &str = "test-admin-key-0123456789";

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL from `DATABASE_URL`.
    Postgres,
    /// Distributed mode: PostgreSQL, apalis-redis on `REDIS_URL` (default
    /// `redis://127.0.0.1:6379`) with a unique queue prefix, and a worker started beside the
    /// API (which then runs no worker itself).
    Redis,
}

/// One test function of a multi-deployment test: the app on `$backend` with `tweak` applied.
/// SQLite is always there; a missing PostgreSQL or Redis skips outside CI (see `services`).
#[doc(hidden)]
#[macro_export]
macro_rules! backend_test {
    ($fn_name:ident, $backend:ident, $tweak:expr, |$app:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $fn_name() {
            let backend = $crate::Backend::$backend;
            let app = $crate::spawn_app_with(backend, $tweak).await;
            assert!(
                app.is_some() || backend != $crate::Backend::Sqlite,
                "SQLite is always available"
            );
            let Some($app) = app else {
                return;
            };
            $body
        }
    };
}

/// Runs a job-platform test body on the three deployments: embedded on SQLite, embedded on
/// PostgreSQL, and distributed (PostgreSQL + Redis + a separate worker).
#[macro_export]
macro_rules! queue_test {
    ($name:ident, |$app:ident| $body:block) => {
        $crate::queue_test!($name, |_s: &mut shared::config::Settings| {}, |$app| $body);
    };
    ($name:ident, $tweak:expr, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $crate::backend_test!(sqlite, Sqlite, $tweak, |$app| $body);
            $crate::backend_test!(postgres, Postgres, $tweak, |$app| $body);
            $crate::backend_test!(redis, Redis, $tweak, |$app| $body);
        }
    };
}

/// Runs a test body once on SQLite and once on PostgreSQL (when configured).
#[macro_export]
macro_rules! store_test {
    ($name:ident, |$app:ident| $body:block) => {
        $crate::store_test_with!($name, |_s: &mut shared::config::Settings| {}, |$app| $body);
    };
}

/// [`store_test!`] on an app whose settings `tweak` adjusts first (limits, sandbox mode...).
#[macro_export]
macro_rules! store_test_with {
    ($name:ident, $tweak:expr, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $crate::backend_test!(sqlite, Sqlite, $tweak, |$app| $body);
            $crate::backend_test!(postgres, Postgres, $tweak, |$app| $body);
        }
    };
}

/// A response: status, JSON body (Null when empty or not JSON) and headers.
#[derive(Debug)]
pub struct Resp {
    /// HTTP status.
    pub status: StatusCode,
    /// Body as JSON.
    pub body: Value,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// Asserts a problem+json error with this status and returns it.
    #[track_caller]
    pub fn problem(self, status: u16) -> Value {
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = self.expect(status);
        assert_eq!(
            ct, "application/problem+json",
            "errors are problem+json: {body}"
        );
        assert_eq!(body["status"], json!(status), "problem carries its status");
        assert!(
            body["type"].is_string() && body["title"].is_string() && body["detail"].is_string(),
            "{body}"
        );
        body
    }
}

/// A caller: account id and API key.
#[derive(Debug, Clone)]
pub struct User {
    /// Account id.
    pub id: Uuid,
    /// Bearer key.
    pub key: String,
}

/// A running application with a fresh store.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// HTTP client.
    pub client: reqwest::Client,
    /// The store the app uses (for invariant checks).
    pub store: Arc<dyn Store>,
    /// The app's clock, settable.
    pub clock: Arc<ManualClock>,
    /// Which store.
    pub backend: Backend,
    /// The app's settings.
    pub settings: Arc<Settings>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The app's job platform (to queue jobs and push messages as the API does).
    pub jobs: platform::Platform,
    /// Stops the separate worker of the Redis deployment.
    worker_stop: tokio_util::sync::CancellationToken,
    _dir: tempfile::TempDir,
    _pg: Option<PgDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.worker_stop.cancel();
    }
}

/// The instant every test starts at: a month end in a year before a leap year, so anchored
/// periods are exercised (Jan 31 -> Feb 28 -> Mar 31).
pub fn test_epoch() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-01-31T12:00:00Z")
        .expect("valid literal")
        .with_timezone(&Utc)
}

/// An empty database of `backend` (SQLite file or PostgreSQL database), removed when dropped.
pub struct EmptyDatabase {
    /// Its URL.
    pub url: String,
    _dir: tempfile::TempDir,
    _pg: Option<PgDatabase>,
}

/// A new empty database; `None` only when PostgreSQL is not configured outside CI.
pub async fn empty_database(backend: Backend) -> Option<EmptyDatabase> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (url, pg) = match backend {
        Backend::Sqlite => (
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("empty.db").display()
            ),
            None,
        ),
        Backend::Postgres | Backend::Redis => {
            let (url, db) = create_pg_database().await?;
            (url, Some(db))
        }
    };
    Some(EmptyDatabase {
        url,
        _dir: dir,
        _pg: pg,
    })
}

/// Settings for a test app on `database_url`, port 0.
pub fn test_settings(database_url: &str) -> Settings {
    let env = [
        ("MARKETPLACE_BIND", "127.0.0.1:0".to_owned()),
        ("DATABASE_URL", database_url.to_owned()),
        ("MARKETPLACE_ADMIN_KEY", ADMIN_KEY.to_owned()),
        (
            "MARKETPLACE_QUEUE_PREFIX",
            format!("test:{}", Uuid::new_v4().simple()),
        ),
        ("MARKETPLACE_DATABASE_MAX_CONNECTIONS", "5".to_owned()),
        ("MARKETPLACE_PAYMENTS", "sandbox".to_owned()),
        // Tests make many accounts from one address; the signup limit has its own test.
        ("MARKETPLACE_SIGNUPS_PER_HOUR", "100000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Settings::load(&env).expect("test settings are valid")
}

/// Starts the application on a fresh store. `None` only when PostgreSQL is not configured
/// outside CI (the test is skipped with a message).
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// [`spawn_app`] with settings adjusted by `tweak` (sandbox mode, batch sizes, ...).
pub async fn spawn_app_with(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    if std::env::var("TEST_LOG").is_ok() {
        shared::telemetry::init_subscriber(shared::telemetry::get_subscriber(
            "info,sqlx=warn",
            shared::config::LogFormat::Pretty,
            std::io::stdout,
        ));
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let (url, pg) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}", dir.path().join("test.db").display()),
            None,
        ),
        Backend::Postgres => {
            let (url, db) = create_pg_database().await?;
            (url, Some(db))
        }
        Backend::Redis => {
            if !redis_available().await {
                return None;
            }
            let (url, db) = create_pg_database().await?;
            (url, Some(db))
        }
    };
    let clock = Arc::new(ManualClock::new(test_epoch()));
    let mut settings = test_settings(&url);
    if backend == Backend::Redis {
        settings.redis.url = Some(redis_url().into());
    }
    tweak(&mut settings);
    let app = api::Application::build_with_clock(settings, clock.clone())
        .await
        .expect("application builds");
    let address = format!("http://{}", app.local_addr().expect("bound"));
    let store = app.state().store.clone();
    let settings = app.state().settings.clone();
    let jobs = app.state().jobs.clone();
    let worker_stop = tokio_util::sync::CancellationToken::new();
    if backend == Backend::Redis {
        let w = worker::Worker::new(settings.clone(), store.clone(), app.state().jobs.clone());
        tokio::spawn(w.run(worker_stop.clone()));
    }
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = rx.await;
    }));
    Some(TestApp {
        jobs,
        worker_stop,
        address,
        client: reqwest::Client::new(),
        store,
        clock,
        backend,
        settings,
        shutdown: Some(tx),
        _dir: dir,
        _pg: pg,
    })
}

impl TestApp {
    /// Sends a request; `key` is the bearer token, `body` JSON.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.address, path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        Self::read(req.send().await.expect("request sent")).await
    }

    /// Reads a response.
    pub async fn read(res: reqwest::Response) -> Resp {
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body read");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            headers,
        }
    }

    /// GET.
    pub async fn get(&self, path: &str, key: &str) -> Resp {
        self.send(reqwest::Method::GET, path, Some(key), None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, key: &str, body: &Value) -> Resp {
        self.send(reqwest::Method::POST, path, Some(key), Some(body))
            .await
    }

    /// PATCH with a JSON body.
    pub async fn patch(&self, path: &str, key: &str, body: &Value) -> Resp {
        self.send(reqwest::Method::PATCH, path, Some(key), Some(body))
            .await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str, key: &str) -> Resp {
        self.send(reqwest::Method::DELETE, path, Some(key), None)
            .await
    }

    /// POST with an `Idempotency-Key`.
    pub async fn post_idempotent(
        &self,
        path: &str,
        key: &str,
        idempotency_key: &str,
        body: &Value,
    ) -> Resp {
        let req = self
            .client
            .post(format!("{}{}", self.address, path))
            .bearer_auth(key)
            .header("Idempotency-Key", idempotency_key)
            .json(body);
        Self::read(req.send().await.expect("request sent")).await
    }

    /// Creates an account.
    pub async fn user(&self, name: &str) -> User {
        let body = self
            .send(
                reqwest::Method::POST,
                "/v1/accounts",
                None,
                Some(&json!({"name": name})),
            )
            .await
            .expect(201);
        User {
            id: body["account"]["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("account id"),
            key: body["api_key"].as_str().expect("api key").to_owned(),
        }
    }

    /// Creates an account with `credit` in its balance.
    pub async fn funded_user(&self, name: &str, credit: f64) -> User {
        let u = self.user(name).await;
        self.post(
            "/v1/accounts/me/credits",
            &u.key,
            &json!({"amount": credit}),
        )
        .await
        .expect(200);
        u
    }

    /// The account's balance in cents (from the API's decimal).
    pub async fn balance_cents(&self, user: &User) -> i64 {
        let body = self.get("/v1/accounts/me", &user.key).await.expect(200);
        cents(&body["account"]["balance"])
    }

    /// Creates a tool and returns its JSON.
    pub async fn tool(&self, creator: &User, body: Value) -> Value {
        self.post("/v1/tools", &creator.key, &body)
            .await
            .expect(201)["tool"]
            .clone()
    }

    /// A valid tool body with the given price and tier.
    pub fn tool_body(name: &str, price: f64, tier: &str) -> Value {
        json!({
            "name": name,
            "description": "crossover of two simple moving averages",
            "category": "trading",
            "family": "sma_crossover",
            "monthly_price": price,
            "tier": tier,
            "parameters": {"fast": 10, "slow": 30},
            "metadata": {"asset_class": "fx"}
        })
    }

    /// Runs one billing pass at the clock's time, as the scheduler's tick does.
    pub async fn billing_pass(&self) -> shared::billing::PassReport {
        use shared::clock::Clock;
        shared::billing::run_pass(self.store.as_ref(), &self.settings, self.clock.now())
            .await
            .expect("billing pass")
    }

    /// Charges booked for a subscription (from its invoices in the store).
    pub async fn charges_of(&self, subscription: &str) -> Vec<shared::store::InvoiceLine> {
        let id = subscription.parse().expect("subscription id");
        let lines = self.store.invoices(id).await.expect("invoices");
        lines
            .into_iter()
            .filter(|l| l.kind == shared::domain::TransactionKind::SubscriptionCharge)
            .collect()
    }

    /// Asserts the ledger invariants, both through the store and the admin API.
    pub async fn assert_ledger_balanced(&self) {
        let check = self.store.check_ledger().await.expect("ledger check runs");
        assert!(check.ok, "ledger invariants hold: {check:?}");
        let body = self
            .get("/v1/admin/ledger/check", ADMIN_KEY)
            .await
            .expect(200);
        assert_eq!(body["ok"], json!(true), "admin ledger check: {body}");
        assert_eq!(body["total"], json!(0.0));
    }
}

impl TestApp {
    /// POST with a raw body of the given content type (`None`: no `Content-Type` header).
    pub async fn post_raw(
        &self,
        path: &str,
        key: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Resp {
        let mut req = self
            .client
            .post(format!("{}{}", self.address, path))
            .bearer_auth(key)
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        Self::read(req.send().await.expect("request sent")).await
    }

    /// POST a CSV body (`Content-Type: text/csv`).
    pub async fn post_csv(&self, path: &str, key: &str, body: impl Into<reqwest::Body>) -> Resp {
        self.post_raw(path, key, Some("text/csv"), body).await
    }

    /// Generates a dataset for `owner` from `generator` (a generator spec) and returns it
    /// (`{"dataset": ...}`'s object); 201, or 200 when the owner already has the content.
    pub async fn generated_dataset(&self, owner: &User, generator: Value) -> Value {
        let res = self
            .post(
                "/v1/datasets",
                &owner.key,
                &json!({ "generator": generator }),
            )
            .await;
        assert!(
            res.status == StatusCode::CREATED || res.status == StatusCode::OK,
            "dataset generated: {} {}",
            res.status,
            res.body
        );
        res.body["dataset"].clone()
    }

    /// A small synthetic dataset of `owner` (GBM, 500 daily bars from 2020-01-01, seed 42)
    /// and its id. Calling it again for the same owner returns the same dataset.
    pub async fn dataset(&self, owner: &User) -> Uuid {
        let d = self
            .generated_dataset(owner, json!({"kind": "gbm", "bars": 500, "seed": 42}))
            .await;
        d["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("dataset id")
    }
}

/// The bundled EURUSD hourly file (5,000 bars, unnamed first column): the repository's
/// `testdata/` copy, else the shared data directory.
pub fn eurusd_csv() -> Vec<u8> {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/EURUSD.csv");
    std::fs::read(&repo)
        .or_else(|_| std::fs::read("/work/shared/data/EURUSD.csv"))
        .expect("EURUSD.csv in testdata/ or /work/shared/data/")
}

/// A JSON decimal amount in cents.
pub fn cents(v: &Value) -> i64 {
    let f = v
        .as_f64()
        .unwrap_or_else(|| panic!("a decimal amount, got {v}"));
    (f * 100.0).round() as i64
}
