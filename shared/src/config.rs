//! Configuration for every role, loaded once in `main` and passed down.
//!
//! Order: built-in defaults (embedded mode: a SQLite file under `./data/`, in-process queue),
//! then an optional TOML file (`MARKETPLACE_CONFIG`, else `./marketplace.toml` when it exists),
//! then the environment (`DATABASE_URL`, `REDIS_URL`, `MARKETPLACE_*`). Nothing else in the code
//! base reads the environment.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use chrono::TimeDelta;

use crate::domain::{BillingPolicy, Money};

mod sessions;

pub use sessions::{SessionSettings, TrialLimits};
pub use store::config::{DatabaseKind, DatabaseSettings, UnknownDatabase, redact_url};

impl From<UnknownDatabase> for ConfigError {
    fn from(e: UnknownDatabase) -> Self {
        ConfigError::Invalid {
            name: "DATABASE_URL".into(),
            value: e.url,
            reason: e.expected.into(),
        }
    }
}

/// A setting that cannot be used, explained in one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value that does not parse or is out of range.
    #[error("invalid {name} {value:?}: {reason}")]
    Invalid {
        /// The setting (environment variable or file key).
        name: String,
        /// The offending value (redacted for secrets).
        value: String,
        /// What is expected.
        reason: String,
    },
    /// The configuration file could not be read or parsed.
    #[error("configuration file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// Every setting of every role.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// HTTP API.
    pub api: ApiSettings,
    /// The store.
    pub database: DatabaseSettings,
    /// Redis (distributed queue); absent means the embedded queue.
    pub redis: RedisSettings,
    /// Queue naming.
    pub queue: QueueSettings,
    /// Worker pool.
    pub worker: WorkerSettings,
    /// Billing scheduler.
    pub scheduler: SchedulerSettings,
    /// Money rules.
    pub billing: BillingSettings,
    /// Dataset uploads and generators.
    pub datasets: DatasetSettings,
    /// Sessions: tier entitlements of optimizations, promotion waits.
    pub sessions: SessionSettings,
    /// Logs.
    pub telemetry: TelemetrySettings,
    /// Sandbox mode: money is play money and an admin may move the clock.
    pub sandbox: bool,
    /// Where top-up money comes from (`MARKETPLACE_PAYMENTS`); unset: see
    /// [`Settings::payment_mode`].
    pub payments: Option<PaymentMode>,
}

/// Where top-up money comes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMode {
    /// Play money: every positive top-up is approved (no real payment network).
    Sandbox,
    /// No provider: top-ups are refused (`POST /v1/accounts/me/credits` does not exist).
    None,
}

impl Settings {
    /// The payment mode in force: the configured one, else `sandbox` in sandbox mode and in
    /// embedded mode (one machine, nothing real to pay with), else `none`: a deployment on
    /// PostgreSQL never mints play money unless told to.
    pub fn payment_mode(&self) -> PaymentMode {
        self.payments.unwrap_or(
            if self.sandbox || matches!(self.database.kind(), Ok(DatabaseKind::Sqlite)) {
                PaymentMode::Sandbox
            } else {
                PaymentMode::None
            },
        )
    }
}

/// HTTP API settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    /// Address to listen on; port 0 picks a free port (tests).
    pub bind: SocketAddr,
    /// Bearer token for operator routes; unset disables them.
    pub admin_key: Option<SecretString>,
    /// Bearer token a Prometheus scraper sends for `GET /metrics` (the admin key works too).
    /// With neither set, `/metrics` is open: set one wherever others can reach the API.
    pub metrics_token: Option<SecretString>,
    /// Largest accepted request body in bytes (413 beyond).
    pub body_limit_bytes: usize,
    /// Requests taking longer than this answer 503.
    pub request_timeout_secs: u64,
    /// Most job event streams one account (or the admin key) holds open at once (429 beyond).
    pub max_event_streams_per_account: usize,
    /// How long one event stream stays open; then it ends and the client reconnects (a browser's
    /// EventSource does so by itself).
    pub event_stream_max_secs: u64,
    /// Requests per second one key may send, sustained (429 beyond); requests without a key
    /// count per client address. 0 turns the limit off.
    pub rate_limit_per_sec: u32,
    /// Requests one key may send at once above the sustained rate.
    pub rate_limit_burst: u32,
    /// Accounts one client address may create per hour (429 beyond); 0 turns the limit off.
    pub signups_per_hour: u32,
    /// Secret the dashboard's sign-in cookies are encrypted with (at least 32 characters). Set
    /// the same value on every API instance behind one address; unset, each process picks a
    /// random one and its sign-ins end when it restarts.
    pub session_secret: Option<SecretString>,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_key: None,
            metrics_token: None,
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            max_event_streams_per_account: 10,
            event_stream_max_secs: 3_600,
            rate_limit_per_sec: 50,
            rate_limit_burst: 100,
            signups_per_hour: 20,
            session_secret: None,
        }
    }
}

/// Redis settings.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://host:port/db`; unset means the embedded queue.
    pub url: Option<SecretString>,
}

/// Queue settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSettings {
    /// Prefix of every queue name (tests use a unique one each).
    pub prefix: String,
    /// The embedded queue's SQLite file when Redis is not configured (default: next to a SQLite
    /// store's file, else in the temporary directory). The queue only carries job ids: losing
    /// it loses no job, because workers redeliver queued jobs from the store.
    pub sqlite_path: Option<String>,
    /// Most jobs of one kind waiting at once; beyond it enqueueing answers 503 with
    /// Retry-After. 0 (the default): no global cap; the per-account quotas bound each account,
    /// and a queue of any depth drains (apalis-redis' deep-backlog stall is worked around in
    /// the platform's queues).
    pub max_depth: i64,
    /// Most jobs one account may have queued or running at once (the platform's own jobs are
    /// not counted); beyond it enqueueing answers 429 with Retry-After, so one account cannot
    /// fill the queues everyone shares.
    pub max_active_per_account: i64,
    /// Most seconds one account's jobs may run in any 24 hours, summed over its jobs (two jobs
    /// running for an hour use two hours); beyond it enqueueing answers 429 with the time until
    /// enough of that work leaves the window. 0: no budget.
    pub compute_secs_per_day: i64,
    /// How long an enqueue may wait for the queue before it answers 503.
    pub push_timeout_ms: u64,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            prefix: "marketplace".into(),
            sqlite_path: None,
            max_depth: 0,
            max_active_per_account: 20,
            compute_secs_per_day: 28_800,
            push_timeout_ms: 2_000,
        }
    }
}

/// Worker settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    /// Jobs run at once by one worker process.
    pub concurrency: usize,
    /// Queues this worker takes jobs from (empty: all).
    pub queues: Vec<String>,
    /// A running job's claim lasts this long unless renewed (renewed every third of it); a job
    /// whose worker died is taken again within about this time plus `recover_interval_ms`.
    pub lease_secs: u64,
    /// How often idle workers look for queue messages.
    pub poll_interval_ms: u64,
    /// How often each worker sweeps the store for expired claims and undelivered jobs.
    pub recover_interval_ms: u64,
    /// A queued job whose message has not been taken within this time is pushed again.
    pub redeliver_after_secs: u64,
    /// How often a worker refreshes its registration.
    pub heartbeat_secs: u64,
    /// On shutdown, how long in-flight jobs may take to finish before they are left to others.
    pub shutdown_grace_secs: u64,
    /// First retry delay after a transient failure; doubles per attempt.
    pub retry_base_ms: u64,
    /// Longest retry delay.
    pub retry_cap_secs: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 2,
            queues: Vec::new(),
            lease_secs: 15,
            poll_interval_ms: 100,
            recover_interval_ms: 1_000,
            redeliver_after_secs: 30,
            heartbeat_secs: 5,
            shutdown_grace_secs: 30,
            retry_base_ms: 1_000,
            retry_cap_secs: 60,
        }
    }
}

/// Scheduler settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerSettings {
    /// When billing passes run: a cron expression with seconds first (default every minute).
    pub cron: String,
    /// Subscriptions renewed per transaction.
    pub batch_size: u32,
    /// How often every queue's depth is recorded for the operators' chart, in seconds.
    pub queue_sample_secs: u64,
    /// How long queue depth samples are kept, in hours.
    pub queue_sample_keep_hours: u64,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            cron: "0 * * * * *".into(),
            batch_size: 500,
            queue_sample_secs: 60,
            queue_sample_keep_hours: 24 * 7,
        }
    }
}

/// Money rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BillingSettings {
    /// Creator's share of every charge in basis points (8000 = 80%).
    pub creator_share_bps: u32,
    /// Largest single top-up, in cents.
    pub max_top_up_cents: i64,
    /// Largest monthly price of a tool, in cents.
    pub max_monthly_price_cents: i64,
    /// Hours of access kept after a renewal could not be charged.
    pub grace_hours: u32,
    /// When failed renewals are retried, in hours after the period ended.
    pub retry_after_hours: Vec<u32>,
}

impl Default for BillingSettings {
    fn default() -> Self {
        Self {
            creator_share_bps: 8_000,
            max_top_up_cents: 100_000_000,
            max_monthly_price_cents: 10_000_000,
            grace_hours: 72,
            retry_after_hours: vec![24, 72],
        }
    }
}

impl BillingSettings {
    /// Largest single top-up.
    pub fn max_top_up(&self) -> Money {
        Money::from_cents(self.max_top_up_cents)
    }

    /// Largest monthly price.
    pub fn max_monthly_price(&self) -> Money {
        Money::from_cents(self.max_monthly_price_cents)
    }

    /// Grace and retry schedule for failed renewals.
    pub fn policy(&self) -> BillingPolicy {
        BillingPolicy {
            grace: TimeDelta::hours(i64::from(self.grace_hours)),
            retry_after: self
                .retry_after_hours
                .iter()
                .map(|h| TimeDelta::hours(i64::from(*h)))
                .collect(),
        }
    }
}

/// Dataset limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatasetSettings {
    /// Largest CSV upload in bytes (413 beyond); the dataset route's own body limit, above
    /// the API's general one.
    pub max_upload_bytes: usize,
    /// Most bars in a dataset, uploaded (413 beyond) or generated (422 beyond).
    pub max_rows: usize,
    /// Most datasets one account keeps (429 beyond, naming the limit; deleting frees room).
    pub max_per_account: i64,
    /// Most bytes of stored bars one account keeps, summed over its datasets (429 beyond).
    pub max_bytes_per_account: i64,
}

impl Default for DatasetSettings {
    fn default() -> Self {
        Self {
            max_upload_bytes: 50 * 1024 * 1024,
            max_rows: 2_000_000,
            max_per_account: 100,
            max_bytes_per_account: 1024 * 1024 * 1024,
        }
    }
}

/// Log output.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    #[default]
    Pretty,
    /// One JSON object per line (production).
    Json,
}

/// Telemetry settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// Log format.
    pub format: LogFormat,
    /// Default filter when `RUST_LOG` is unset.
    pub filter: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            filter: "info,sqlx=warn,tower_http=info".into(),
        }
    }
}

impl Settings {
    /// Loads defaults, the optional file, then the given environment, and validates the result.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first bad setting.
    pub fn load(env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let file = env
            .get("MARKETPLACE_CONFIG")
            .map(PathBuf::from)
            .or_else(|| {
                let p = PathBuf::from("marketplace.toml");
                p.exists().then_some(p)
            });
        let mut settings = match file {
            Some(path) => Self::from_file(&path)?,
            None => Self::default(),
        };
        settings.apply_env(env)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Loads the settings of binary `bin` from the process environment. A bad setting is
    /// printed as one line (`bin: invalid NAME ...`) and `None` returned: the caller exits 2.
    pub fn load_for(bin: &str) -> Option<Self> {
        let env = std::env::vars().collect();
        Self::load(&env).map_err(|e| eprintln!("{bin}: {e}")).ok()
    }

    /// Reads a TOML file (missing keys keep their defaults, unknown keys are refused).
    ///
    /// # Errors
    /// When the file cannot be read or parsed.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.to_owned(),
            reason: e.message().to_owned(),
        })
    }

    fn apply_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
                name: name.into(),
                value: v.into(),
                reason: e.to_string(),
            })
        }
        for (name, value) in env {
            match name.as_str() {
                "MARKETPLACE_BIND" => self.api.bind = parse(name, value)?,
                "MARKETPLACE_MAX_EVENT_STREAMS_PER_ACCOUNT" => {
                    self.api.max_event_streams_per_account = parse(name, value)?
                }
                "MARKETPLACE_EVENT_STREAM_MAX_SECS" => {
                    self.api.event_stream_max_secs = parse(name, value)?
                }
                "MARKETPLACE_RATE_LIMIT_PER_SEC" => {
                    self.api.rate_limit_per_sec = parse(name, value)?
                }
                "MARKETPLACE_RATE_LIMIT_BURST" => self.api.rate_limit_burst = parse(name, value)?,
                "MARKETPLACE_SIGNUPS_PER_HOUR" => self.api.signups_per_hour = parse(name, value)?,
                "DATABASE_URL" => self.database.url = SecretString::from(value.as_str()),
                "MARKETPLACE_DATABASE_MAX_CONNECTIONS" => {
                    self.database.max_connections = parse(name, value)?
                }
                "REDIS_URL" => {
                    self.redis.url =
                        (!value.trim().is_empty()).then(|| SecretString::from(value.as_str()));
                }
                "MARKETPLACE_ADMIN_KEY" => {
                    self.api.admin_key = Some(SecretString::from(value.as_str()))
                }
                "MARKETPLACE_METRICS_TOKEN" => {
                    self.api.metrics_token = Some(SecretString::from(value.as_str()))
                }
                "MARKETPLACE_SESSION_SECRET" => {
                    self.api.session_secret = Some(SecretString::from(value.as_str()))
                }
                "MARKETPLACE_QUEUE_PREFIX" => self.queue.prefix = value.clone(),
                "MARKETPLACE_WORKER_CONCURRENCY" => self.worker.concurrency = parse(name, value)?,
                "MARKETPLACE_WORKER_LEASE_SECS" => self.worker.lease_secs = parse(name, value)?,
                "MARKETPLACE_WORKER_REDELIVER_AFTER_SECS" => {
                    self.worker.redeliver_after_secs = parse(name, value)?
                }
                "MARKETPLACE_WORKER_SHUTDOWN_GRACE_SECS" => {
                    self.worker.shutdown_grace_secs = parse(name, value)?
                }
                "MARKETPLACE_QUEUE_MAX_DEPTH" => self.queue.max_depth = parse(name, value)?,
                "MARKETPLACE_QUEUE_MAX_ACTIVE_PER_ACCOUNT" => {
                    self.queue.max_active_per_account = parse(name, value)?
                }
                "MARKETPLACE_QUEUE_COMPUTE_SECS_PER_DAY" => {
                    self.queue.compute_secs_per_day = parse(name, value)?
                }
                "MARKETPLACE_DATASETS_MAX_PER_ACCOUNT" => {
                    self.datasets.max_per_account = parse(name, value)?
                }
                "MARKETPLACE_DATASETS_MAX_BYTES_PER_ACCOUNT" => {
                    self.datasets.max_bytes_per_account = parse(name, value)?
                }
                "MARKETPLACE_SESSIONS_MAX_ACTIVE_PER_ACCOUNT" => {
                    self.sessions.max_active_per_account = parse(name, value)?
                }
                "MARKETPLACE_SESSIONS_MAX_RECHECKS_PER_RECORD" => {
                    self.sessions.max_rechecks_per_record = parse(name, value)?
                }
                "MARKETPLACE_QUEUE_SQLITE_PATH" => {
                    self.queue.sqlite_path = Some(value.trim().to_owned())
                }
                "MARKETPLACE_SCHEDULER_CRON" => self.scheduler.cron = value.trim().to_owned(),
                "MARKETPLACE_SCHEDULER_BATCH_SIZE" => {
                    self.scheduler.batch_size = parse(name, value)?
                }
                "MARKETPLACE_SCHEDULER_QUEUE_SAMPLE_SECS" => {
                    self.scheduler.queue_sample_secs = parse(name, value)?
                }
                "MARKETPLACE_SCHEDULER_QUEUE_SAMPLE_KEEP_HOURS" => {
                    self.scheduler.queue_sample_keep_hours = parse(name, value)?
                }
                "MARKETPLACE_GRACE_HOURS" => self.billing.grace_hours = parse(name, value)?,
                "MARKETPLACE_RETRY_AFTER_HOURS" => {
                    self.billing.retry_after_hours = value
                        .split(',')
                        .filter(|h| !h.trim().is_empty())
                        .map(|h| parse(name, h))
                        .collect::<Result<_, _>>()?;
                }
                "MARKETPLACE_CREATOR_SHARE_BPS" => {
                    self.billing.creator_share_bps = parse(name, value)?
                }
                "MARKETPLACE_SANDBOX" => self.sandbox = parse_bool(name, value)?,
                "MARKETPLACE_PAYMENTS" => {
                    self.payments = Some(match value.trim() {
                        "sandbox" => PaymentMode::Sandbox,
                        "none" => PaymentMode::None,
                        other => {
                            return Err(ConfigError::Invalid {
                                name: name.into(),
                                value: other.into(),
                                reason: "expected sandbox or none".into(),
                            });
                        }
                    })
                }
                "MARKETPLACE_DATASETS_MAX_UPLOAD_BYTES" => {
                    self.datasets.max_upload_bytes = parse(name, value)?
                }
                "MARKETPLACE_DATASETS_MAX_ROWS" => self.datasets.max_rows = parse(name, value)?,
                "MARKETPLACE_MAX_TRIALS" => {
                    self.sessions.max_trials =
                        self.sessions
                            .max_trials
                            .parse_over(value)
                            .map_err(|reason| ConfigError::Invalid {
                                name: name.into(),
                                value: value.clone(),
                                reason,
                            })?;
                }
                "MARKETPLACE_PROMOTE_WAIT_SECS" => {
                    self.sessions.promote_wait_secs = parse(name, value)?;
                }
                "MARKETPLACE_LOG_FORMAT" => {
                    self.telemetry.format = match value.trim() {
                        "pretty" => LogFormat::Pretty,
                        "json" => LogFormat::Json,
                        _ => {
                            return Err(ConfigError::Invalid {
                                name: name.clone(),
                                value: value.clone(),
                                reason: "expected pretty or json".into(),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name: &str, value: String, reason: &str| ConfigError::Invalid {
            name: name.into(),
            value,
            reason: reason.into(),
        };
        self.database.kind()?;
        if self.database.max_connections == 0 {
            return Err(invalid(
                "database.max_connections",
                "0".into(),
                "must be at least 1",
            ));
        }
        if let Some(url) = &self.redis.url {
            let url = url.expose_secret();
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(invalid(
                    "REDIS_URL",
                    redact_url(url),
                    "expected redis://HOST:PORT",
                ));
            }
        }
        for (name, key) in [
            ("MARKETPLACE_ADMIN_KEY", &self.api.admin_key),
            ("MARKETPLACE_METRICS_TOKEN", &self.api.metrics_token),
        ] {
            if let Some(key) = key
                && key.expose_secret().trim().len() < 16
            {
                return Err(invalid(
                    name,
                    "[redacted]".into(),
                    "must be at least 16 characters",
                ));
            }
        }
        if let Some(secret) = &self.api.session_secret
            && secret.expose_secret().trim().len() < 32
        {
            return Err(invalid(
                "MARKETPLACE_SESSION_SECRET",
                "[redacted]".into(),
                "must be at least 32 characters",
            ));
        }
        if self.billing.creator_share_bps > 10_000 {
            return Err(invalid(
                "MARKETPLACE_CREATOR_SHARE_BPS",
                self.billing.creator_share_bps.to_string(),
                "must be between 0 and 10000 basis points",
            ));
        }
        if self.worker.concurrency == 0 {
            return Err(invalid(
                "MARKETPLACE_WORKER_CONCURRENCY",
                "0".into(),
                "must be at least 1",
            ));
        }
        if let Err(e) = cron::Schedule::from_str(&self.scheduler.cron) {
            return Err(invalid(
                "MARKETPLACE_SCHEDULER_CRON",
                self.scheduler.cron.clone(),
                &format!("{e}; expected six fields, seconds first, e.g. \"0 * * * * *\""),
            ));
        }
        for (name, value) in [
            (
                "MARKETPLACE_SCHEDULER_QUEUE_SAMPLE_SECS",
                self.scheduler.queue_sample_secs,
            ),
            (
                "MARKETPLACE_SCHEDULER_QUEUE_SAMPLE_KEEP_HOURS",
                self.scheduler.queue_sample_keep_hours,
            ),
        ] {
            if !(1..=1_000_000).contains(&value) {
                return Err(invalid(name, value.to_string(), "must be 1 to 1000000"));
            }
        }
        if self.scheduler.batch_size == 0 {
            return Err(invalid(
                "scheduler.batch_size",
                "0".into(),
                "must be at least 1",
            ));
        }
        if !self
            .billing
            .retry_after_hours
            .windows(2)
            .all(|w| w[0] < w[1])
        {
            return Err(invalid(
                "MARKETPLACE_RETRY_AFTER_HOURS",
                format!("{:?}", self.billing.retry_after_hours),
                "must be increasing",
            ));
        }
        if self.datasets.max_rows < crate::dataset::MIN_BARS {
            return Err(invalid(
                "MARKETPLACE_DATASETS_MAX_ROWS",
                self.datasets.max_rows.to_string(),
                &format!("must be at least {}", crate::dataset::MIN_BARS),
            ));
        }
        if self.datasets.max_upload_bytes == 0 {
            return Err(invalid(
                "MARKETPLACE_DATASETS_MAX_UPLOAD_BYTES",
                "0".into(),
                "must be at least 1",
            ));
        }
        if self.queue.prefix.trim().is_empty() || self.queue.prefix.contains(char::is_whitespace) {
            return Err(invalid(
                "MARKETPLACE_QUEUE_PREFIX",
                self.queue.prefix.clone(),
                "must be a non-empty word",
            ));
        }
        Ok(())
    }

    /// The effective configuration as JSON with every secret redacted, for the start-up log.
    pub fn redacted(&self) -> serde_json::Value {
        serde_json::json!({
            "api": {
                "bind": self.api.bind.to_string(),
                "admin_key": self.api.admin_key.as_ref().map(|_| "[redacted]"),
                "metrics_token": self.api.metrics_token.as_ref().map(|_| "[redacted]"),
                "session_secret": self.api.session_secret.as_ref().map(|_| "[redacted]"),
                "body_limit_bytes": self.api.body_limit_bytes,
                "request_timeout_secs": self.api.request_timeout_secs,
                "rate_limit_per_sec": self.api.rate_limit_per_sec,
                "rate_limit_burst": self.api.rate_limit_burst,
                "signups_per_hour": self.api.signups_per_hour,
            },
            "database": {
                "url": redact_url(self.database.url.expose_secret()),
                "max_connections": self.database.max_connections,
            },
            "redis": { "url": self.redis.url.as_ref().map(|u| redact_url(u.expose_secret())) },
            "queue": { "prefix": self.queue.prefix },
            "worker": { "concurrency": self.worker.concurrency, "queues": self.worker.queues },
            "scheduler": {
                "cron": self.scheduler.cron,
                "batch_size": self.scheduler.batch_size,
                "queue_sample_secs": self.scheduler.queue_sample_secs,
                "queue_sample_keep_hours": self.scheduler.queue_sample_keep_hours,
            },
            "billing": {
                "creator_share_bps": self.billing.creator_share_bps,
                "max_top_up_cents": self.billing.max_top_up_cents,
                "max_monthly_price_cents": self.billing.max_monthly_price_cents,
                "grace_hours": self.billing.grace_hours,
                "retry_after_hours": self.billing.retry_after_hours,
            },
            "datasets": {
                "max_upload_bytes": self.datasets.max_upload_bytes,
                "max_rows": self.datasets.max_rows,
            },
            "sessions": {
                "max_trials": {
                    "free": self.sessions.max_trials.free,
                    "basic": self.sessions.max_trials.basic,
                    "pro": self.sessions.max_trials.pro,
                    "enterprise": self.sessions.max_trials.enterprise,
                },
                "creator_max_trials": self.sessions.creator_max_trials,
                "default_trials": self.sessions.default_trials,
                "promote_wait_secs": self.sessions.promote_wait_secs,
            },
            "sandbox": self.sandbox,
            "payments": self.payment_mode(),
        })
    }
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(ConfigError::Invalid {
            name: name.into(),
            value: value.into(),
            reason: "expected 1/0 or true/false".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn play_money_needs_embedded_or_sandbox_mode_or_an_explicit_setting() {
        let pg = ("DATABASE_URL", "postgres://u@h/db");
        let mode = |pairs: &[(&str, &str)]| Settings::load(&env(pairs)).map(|s| s.payment_mode());
        assert_eq!(mode(&[]).expect("valid"), PaymentMode::Sandbox);
        assert_eq!(mode(&[pg]).expect("valid"), PaymentMode::None);
        assert_eq!(
            mode(&[pg, ("MARKETPLACE_SANDBOX", "1")]).expect("valid"),
            PaymentMode::Sandbox
        );
        assert_eq!(
            mode(&[pg, ("MARKETPLACE_PAYMENTS", "sandbox")]).expect("valid"),
            PaymentMode::Sandbox
        );
        assert_eq!(
            mode(&[("MARKETPLACE_PAYMENTS", "none")]).expect("valid"),
            PaymentMode::None
        );
        let bad = mode(&[("MARKETPLACE_PAYMENTS", "stripe")]).expect_err("refused");
        assert!(bad.to_string().contains("MARKETPLACE_PAYMENTS"), "{bad}");
    }

    #[test]
    fn defaults_are_embedded_mode_on_port_8080() {
        let s = Settings::load(&env(&[])).expect("defaults are valid");
        assert_eq!(s.api.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database.kind().expect("valid"), DatabaseKind::Sqlite);
        assert!(s.redis.url.is_none());
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.toml");
        std::fs::write(
            &path,
            "[api]\nbind = \"127.0.0.1:9000\"\n[billing]\ncreator_share_bps = 7000\n",
        )
        .expect("write");
        let path = path.to_string_lossy().into_owned();
        let s = Settings::load(&env(&[
            ("MARKETPLACE_CONFIG", &path),
            ("MARKETPLACE_BIND", "0.0.0.0:1234"),
        ]))
        .expect("valid");
        assert_eq!(s.api.bind.to_string(), "0.0.0.0:1234");
        assert_eq!(s.billing.creator_share_bps, 7000);
    }

    #[test]
    fn bad_settings_are_one_clear_line() {
        let e = Settings::load(&env(&[("MARKETPLACE_BIND", "nowhere")])).expect_err("invalid");
        assert_eq!(
            e.to_string(),
            "invalid MARKETPLACE_BIND \"nowhere\": invalid socket address syntax"
        );
        let e =
            Settings::load(&env(&[("DATABASE_URL", "mysql://u:pw@h/db")])).expect_err("invalid");
        assert!(
            e.to_string().contains("mysql://u:***@h/db"),
            "password redacted: {e}"
        );
        assert!(Settings::load(&env(&[("MARKETPLACE_ADMIN_KEY", "short")])).is_err());
        assert!(
            Settings::load(&env(&[("MARKETPLACE_SESSION_SECRET", "sixteen-chars-xx")])).is_err()
        );
        assert!(Settings::load(&env(&[("REDIS_URL", "http://x")])).is_err());
        let e = Settings::load(&env(&[("MARKETPLACE_SCHEDULER_CRON", "every minute")]))
            .expect_err("invalid");
        assert!(
            e.to_string()
                .starts_with("invalid MARKETPLACE_SCHEDULER_CRON"),
            "{e}"
        );
        assert!(Settings::load(&env(&[("MARKETPLACE_RETRY_AFTER_HOURS", "72,24")])).is_err());
        let s = Settings::load(&env(&[
            ("MARKETPLACE_RETRY_AFTER_HOURS", "12, 36"),
            ("MARKETPLACE_GRACE_HOURS", "48"),
        ]))
        .expect("valid");
        assert_eq!(
            s.billing.policy().retry_after,
            vec![TimeDelta::hours(12), TimeDelta::hours(36)]
        );
    }

    #[test]
    fn redaction_hides_passwords_and_keys() {
        assert_eq!(
            redact_url("postgres://me:secret@db:5432/x"),
            "postgres://me:***@db:5432/x"
        );
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
        let s = Settings::load(&env(&[
            ("DATABASE_URL", "postgres://me:hunter2-pw@db/x"),
            ("MARKETPLACE_ADMIN_KEY", "0123456789abcdef-admin"),
            (
                "MARKETPLACE_SESSION_SECRET",
                "cookie-key-material-0123456789-abcdef",
            ),
        ]))
        .expect("valid");
        let text = s.redacted().to_string();
        assert!(
            !text.contains("hunter2-pw")
                && !text.contains("0123456789abcdef")
                && !text.contains("cookie-key-material"),
            "{text}"
        );
        assert!(text.contains(r#""session_secret":"[redacted]""#), "{text}");
    }
}
