//! The queues jobs travel on: apalis-redis when `REDIS_URL` is set (distributed mode), else
//! apalis-sqlite on a local file (embedded mode). One queue per job kind,
//! `{prefix}:{kind}`. A message only carries a job id and means "a job of this kind is waiting":
//! the worker that takes it claims the best due job of that kind from the store (highest
//! priority, then oldest), so priorities hold whatever order messages arrive in, and a message
//! that finds nothing to claim is simply dropped.
//!
//! Nothing depends on the queue for safety: apalis' own retries, timeouts and heartbeat recovery
//! are not used (see ../shared/notes/stack-1.0.md for why). Handlers always acknowledge; attempts,
//! backoff, timeouts and recovery of jobs whose worker died are the store's and the worker
//! runtime's. A lost message (Redis restarted empty, a push that failed after the row was
//! written) is made good by the workers' recovery sweep, which pushes again any queued job not
//! taken within `worker.redeliver_after_secs`.

use std::time::Duration;

use apalis::prelude::TaskSink;
use apalis_redis::{ConnectionManager, RedisStorage};
use apalis_sqlite::SqliteStorage;
use secrecy::ExposeSecret;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use shared::config::{DatabaseKind, Settings};
use shared::jobs::{JobKind, JobMessage};

use crate::wake::{self, Wake, Wakeups};

/// How often a queue consumer beats. apalis' interval polling was seen to stop waking an idle
/// consumer, which then only looked at its queue again on its next heartbeat (30 s by default):
/// a promotion's message sat for 20 s in a test with four consumers sharing a queue file. A
/// beat every second bounds such a stall to about a second; its write is cheap.
const CONSUMER_HEARTBEAT: Duration = Duration::from_secs(1);
/// Missed beats before apalis calls a consumer dead. Liveness of *jobs* is the store's leases';
/// this only keeps apalis from re-queuing messages of a consumer that is merely busy.
const MISSED_HEARTBEATS: usize = 30;

/// Most messages [`Queues::promote_due`] moves per round trip (far below the ~8,000 values
/// Lua's `unpack` takes).
const PROMOTE_CHUNK: usize = 1_000;

/// Most messages [`Queues::push_many`] sends per round trip.
const PUSH_CHUNK: usize = 500;

/// Moves up to ARGV[2] messages due by ARGV[1] (Unix seconds, apalis' scores) from the
/// scheduled set KEYS[1] onto the active list KEYS[2] in their time order, signals KEYS[3] as
/// apalis' own fetch does when it moves them, and announces them on the wake-up channel
/// ARGV[3] ([`crate::wake`]). Atomic, so a message moves once.
const PROMOTE_DUE: &str = r#"
local ids = redis.call('zrangebyscore', KEYS[1], 0, ARGV[1], 'LIMIT', 0, ARGV[2])
if #ids > 0 then
  redis.call('rpush', KEYS[2], unpack(ids))
  redis.call('zrem', KEYS[1], unpack(ids))
  redis.call('del', KEYS[3])
  redis.call('lpush', KEYS[3], 1)
  redis.call('publish', ARGV[3], #ids)
end
return #ids
"#;

/// Why a message could not be pushed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue did not answer in time.
    #[error("the queue did not answer within {0:?}")]
    Timeout(Duration),
    /// The queue refused or failed.
    #[error("queue error: {0}")]
    Backend(String),
}

/// The queue backend, cheap to clone (a connection manager or a pool).
#[derive(Clone)]
pub enum Queues {
    /// apalis-redis.
    Redis {
        /// Reconnects by itself after Redis restarts.
        conn: ConnectionManager,
        /// For the wake-up subscription of processes that consume.
        client: redis::Client,
        /// This process's consumers' wake-ups.
        wake: Wakeups,
        /// Queue name prefix.
        prefix: String,
        /// Push deadline.
        push_timeout: Duration,
    },
    /// apalis-sqlite on a local file.
    Sqlite {
        /// The queue database (not the store's).
        pool: sqlx::SqlitePool,
        /// This process's consumers' wake-ups.
        wake: Wakeups,
        /// Queue name prefix.
        prefix: String,
        /// Push deadline.
        push_timeout: Duration,
    },
}

impl std::fmt::Debug for Queues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Queues({})", self.backend_name())
    }
}

impl Queues {
    /// Connects to Redis when configured, else opens (creating) the embedded queue file.
    ///
    /// # Errors
    /// When Redis cannot be reached at start or the queue file cannot be opened.
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let prefix = settings.queue.prefix.clone();
        let push_timeout = Duration::from_millis(settings.queue.push_timeout_ms);
        if let Some(url) = &settings.redis.url {
            let conn = apalis_redis::connect(url.expose_secret()).await?;
            return Ok(Queues::Redis {
                conn,
                client: redis::Client::open(url.expose_secret())?,
                wake: Wakeups::default(),
                prefix,
                push_timeout,
            });
        }
        let path = match &settings.queue.sqlite_path {
            Some(p) => std::path::PathBuf::from(p),
            None => default_sqlite_path(settings),
        };
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        // apalis' `setup` migrates and turns durability off on whichever connection runs it:
        // run it on a pool of its own, then open the queue's pool with the durability wanted
        // on every connection.
        {
            let setup = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await?;
            SqliteStorage::<()>::setup(&setup).await?;
            setup.close().await;
        }
        // Every kind's consumer fetches, acknowledges and beats on the queue file, and pushes
        // and the recovery sweep need connections too: two per kind and two to spare.
        let connections = u32::try_from(JobKind::ALL.len() * 2 + 2).unwrap_or(u32::MAX);
        let pool = SqlitePoolOptions::new()
            .max_connections(connections)
            .connect_with(options.synchronous(SqliteSynchronous::Normal))
            .await?;
        Ok(Queues::Sqlite {
            pool,
            wake: Wakeups::default(),
            prefix,
            push_timeout,
        })
    }

    /// `redis` or `sqlite`.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Queues::Redis { .. } => "redis",
            Queues::Sqlite { .. } => "sqlite",
        }
    }

    /// The full name of a kind's queue.
    pub fn name(&self, kind: JobKind) -> String {
        let prefix = match self {
            Queues::Redis { prefix, .. } | Queues::Sqlite { prefix, .. } => prefix,
        };
        format!("{prefix}:{}", kind.queue())
    }

    /// A stream that yields when a message of `kind` may be waiting (a push in this process or,
    /// with Redis, in any process on the same prefix), for the kind's consumer to fetch at once
    /// rather than on its next poll.
    pub fn wake_stream(&self, kind: JobKind) -> Wake {
        match self {
            Queues::Redis {
                client,
                wake,
                prefix,
                ..
            } => {
                wake.listen(client, prefix);
                wake.stream(kind)
            }
            Queues::Sqlite { wake, .. } => wake.stream(kind),
        }
    }

    /// The apalis-redis configuration of a kind's queue (its key names included).
    fn redis_config(&self, kind: JobKind) -> apalis_redis::Config {
        apalis_redis::Config::default()
            .queue(self.name(kind))
            .heartbeat_interval(CONSUMER_HEARTBEAT)
            .missed_heartbeats(MISSED_HEARTBEATS)
    }

    /// The Redis storage of a kind's queue (Redis backend only).
    pub fn redis_storage(&self, kind: JobKind) -> Option<RedisStorage<JobMessage>> {
        match self {
            Queues::Redis { conn, .. } => {
                Some(RedisStorage::new(conn.clone()).with_config(self.redis_config(kind)))
            }
            Queues::Sqlite { .. } => None,
        }
    }

    /// Moves due messages of a kind's Redis queue from apalis' scheduled set onto its active
    /// list, at most 1,000 per round trip, until none is left (or `rounds`
    /// rounds ran); answers how many moved. apalis-redis 1.0 pushes every message into the
    /// scheduled set (with "now" as its time) and its fetch moves *all* due ones in one Lua
    /// call, whose `unpack` fails beyond about 8,000 values: a deeper backlog made every fetch
    /// fail forever. Moving them in chunks after each push and on every recovery sweep keeps
    /// that set small whatever the queue's depth (the active list has no such limit: a fetch
    /// reads `batch_size` from it). Nothing on SQLite.
    ///
    /// # Errors
    /// [`QueueError`] when Redis fails or does not answer within the push deadline.
    pub async fn promote_due(&self, kind: JobKind, rounds: usize) -> Result<u64, QueueError> {
        let Queues::Redis {
            conn,
            push_timeout,
            prefix,
            ..
        } = self
        else {
            return Ok(0);
        };
        let config = self.redis_config(kind);
        let wake_channel = wake::channel(prefix, kind.queue());
        let script = redis::Script::new(PROMOTE_DUE);
        let mut conn = conn.clone();
        let mut moved = 0;
        for _ in 0..rounds {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            let mut invocation = script.key(config.scheduled_jobs_set());
            invocation
                .key(config.active_jobs_list())
                .key(config.signal_list())
                .arg(now)
                .arg(PROMOTE_CHUNK)
                .arg(&wake_channel);
            let call = invocation.invoke_async::<u64>(&mut conn);
            let n = tokio::time::timeout(*push_timeout, call)
                .await
                .map_err(|_| QueueError::Timeout(*push_timeout))?
                .map_err(|e| QueueError::Backend(e.to_string()))?;
            moved += n;
            if n < PROMOTE_CHUNK as u64 {
                break;
            }
        }
        Ok(moved)
    }

    /// The SQLite storage of a kind's queue (embedded backend only).
    pub fn sqlite_storage(&self, kind: JobKind) -> Option<SqliteStorage<JobMessage>> {
        match self {
            Queues::Sqlite { pool, .. } => Some(
                SqliteStorage::new(pool).with_config(
                    apalis_sqlite::Config::default()
                        .queue(self.name(kind))
                        .heartbeat_interval(CONSUMER_HEARTBEAT)
                        .missed_heartbeats(MISSED_HEARTBEATS),
                ),
            ),
            Queues::Redis { .. } => None,
        }
    }

    /// Messages waiting in a kind's Redis queue: on its active list and in apalis' scheduled
    /// set (`None` on SQLite, whose queue table the store's counts describe).
    ///
    /// # Errors
    /// [`QueueError`] when Redis fails or does not answer within the push deadline.
    pub async fn waiting(&self, kind: JobKind) -> Result<Option<u64>, QueueError> {
        let Queues::Redis {
            conn, push_timeout, ..
        } = self
        else {
            return Ok(None);
        };
        let config = self.redis_config(kind);
        let mut conn = conn.clone();
        let mut pipe = redis::pipe();
        pipe.llen(config.active_jobs_list())
            .zcard(config.scheduled_jobs_set());
        let call = pipe.query_async::<(u64, u64)>(&mut conn);
        let (active, scheduled) = tokio::time::timeout(*push_timeout, call)
            .await
            .map_err(|_| QueueError::Timeout(*push_timeout))?
            .map_err(|e| QueueError::Backend(e.to_string()))?;
        Ok(Some(active + scheduled))
    }

    /// Pushes a message onto a kind's queue, failing after the push deadline rather than
    /// hanging while the queue is down.
    ///
    /// # Errors
    /// [`QueueError`] when the queue is unreachable or refuses.
    pub async fn push(&self, kind: JobKind, message: JobMessage) -> Result<(), QueueError> {
        self.push_many(kind, vec![message]).await
    }

    /// Pushes many messages onto a kind's queue, 500 per round trip, each chunk
    /// within the push deadline. Stops at the first chunk that fails: the messages before it
    /// are queued, the rest are not.
    ///
    /// # Errors
    /// [`QueueError`] when the queue is unreachable or refuses.
    pub async fn push_many(
        &self,
        kind: JobKind,
        messages: Vec<JobMessage>,
    ) -> Result<(), QueueError> {
        for chunk in messages.chunks(PUSH_CHUNK) {
            match self {
                Queues::Redis { push_timeout, .. } => {
                    let storage = self.redis_storage(kind).ok_or_else(unreachable_backend)?;
                    push_bulk_within(storage, chunk.to_vec(), *push_timeout).await?;
                }
                Queues::Sqlite { push_timeout, .. } => {
                    let storage = self.sqlite_storage(kind).ok_or_else(unreachable_backend)?;
                    push_bulk_within(storage, chunk.to_vec(), *push_timeout).await?;
                }
            }
        }
        match self {
            Queues::Redis { wake, .. } => {
                wake.signal(kind);
                // Rounds enough for every message pushed and any others pushed meanwhile (the
                // recovery sweep moves whatever a failure here leaves).
                let rounds = messages.len().div_ceil(PROMOTE_CHUNK).max(1);
                if let Err(e) = self.promote_due(kind, rounds).await {
                    tracing::debug!(error = %e, "moving due messages failed; the sweep will");
                }
            }
            Queues::Sqlite { wake, .. } => wake.signal(kind),
        }
        Ok(())
    }
}

/// Pushes messages onto any apalis sink in one bulk operation (one script call on Redis; one
/// message is the same call), giving up after `timeout`.
async fn push_bulk_within<S, K>(
    mut storage: S,
    messages: Vec<JobMessage>,
    timeout: Duration,
) -> Result<(), QueueError>
where
    S: TaskSink<JobMessage, K> + Send,
    apalis::prelude::TaskSinkError<S::Error>: std::fmt::Display,
{
    tokio::time::timeout(timeout, async move {
        storage
            .push_bulk(messages)
            .await
            .map_err(|e| QueueError::Backend(e.to_string()))
    })
    .await
    .map_err(|_| QueueError::Timeout(timeout))?
}

fn unreachable_backend() -> QueueError {
    QueueError::Backend("queue backend mismatch".into())
}

/// Next to a SQLite store (`data/marketplace.db` -> `data/marketplace.queue.db`), else a file
/// per process in the temporary directory (the queue of a PostgreSQL store without Redis is
/// only ever used by this one process).
fn default_sqlite_path(settings: &Settings) -> std::path::PathBuf {
    let url = settings.database.url.expose_secret();
    if matches!(settings.database.kind(), Ok(DatabaseKind::Sqlite)) {
        let file = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:")
            .split('?')
            .next()
            .unwrap_or_default();
        if !file.is_empty() && !file.contains(":memory:") {
            return std::path::PathBuf::from(format!("{file}.queue"));
        }
    }
    std::env::temp_dir().join(format!(
        "marketplace-queue-{}-{}.db",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ))
}
