//! The services tests run against: fresh PostgreSQL databases (dropped afterwards) and Redis.
//! Outside CI a missing service skips its variant with a message; with `CI=true` it fails.

use sqlx::Connection;
use uuid::Uuid;

pub(crate) fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Whether Redis answers; in CI a missing Redis fails the test instead of skipping it.
pub(crate) async fn redis_available() -> bool {
    let url = redis_url();
    let reachable = async {
        let client = redis::Client::open(url.as_str()).ok()?;
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .ok()
    };
    let ok = tokio::time::timeout(std::time::Duration::from_secs(3), reachable)
        .await
        .ok()
        .flatten()
        .is_some();
    if !ok {
        assert!(
            !in_ci(),
            "CI=true but Redis at {url} is unreachable: the Redis variant cannot be skipped in CI"
        );
        eprintln!("SKIPPED (Redis): cannot reach {url}");
    }
    ok
}

pub(crate) struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Dropping needs async I/O; a drop cannot await, so a scoped thread runs its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&url).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .ok()
            })
        })
        .join();
    }
}

pub(crate) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// `postgres://.../db?x` with the database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

pub(crate) async fn create_pg_database() -> Option<(String, PgDatabase)> {
    let url = match std::env::var("DATABASE_URL") {
        Ok(u) if u.starts_with("postgres") => u,
        _ => {
            assert!(
                !in_ci(),
                "CI=true but DATABASE_URL does not point at PostgreSQL: the PostgreSQL variant cannot be skipped in CI"
            );
            eprintln!(
                "SKIPPED (PostgreSQL): set DATABASE_URL=postgres://... to run the PostgreSQL variant"
            );
            return None;
        }
    };
    let mut conn = match sqlx::PgConnection::connect(&url).await {
        Ok(c) => c,
        Err(e) => {
            assert!(
                !in_ci(),
                "CI=true but PostgreSQL at DATABASE_URL is unreachable: {e}"
            );
            eprintln!("SKIPPED (PostgreSQL): cannot connect to DATABASE_URL: {e}");
            return None;
        }
    };
    let name = format!("test_{}", Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await
        .expect("create a fresh test database");
    Some((
        with_database(&url, &name),
        PgDatabase {
            admin_url: url,
            name,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced_in_postgres_urls() {
        assert_eq!(
            with_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
