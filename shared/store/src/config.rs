//! Where the store lives: the database settings and the kind of store a URL names.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// A database URL whose scheme names no store this build has.
#[derive(Debug, thiserror::Error)]
#[error("unsupported DATABASE_URL {url:?}: {expected}")]
pub struct UnknownDatabase {
    /// The URL, password masked.
    pub url: String,
    /// What is accepted.
    pub expected: &'static str,
}

/// Which store a database URL points at.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DatabaseKind {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Store settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://path` (created when missing) or `postgres://...`; may hold a password.
    pub url: SecretString,
    /// Pool size.
    pub max_connections: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("sqlite://./data/marketplace.db"),
            max_connections: 10,
        }
    }
}

impl DatabaseSettings {
    /// The kind of store the URL names.
    ///
    /// # Errors
    /// When the scheme is neither SQLite nor PostgreSQL.
    pub fn kind(&self) -> Result<DatabaseKind, UnknownDatabase> {
        let url = self.url.expose_secret();
        if url.starts_with("sqlite:") {
            Ok(DatabaseKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseKind::Postgres)
        } else {
            Err(UnknownDatabase {
                url: redact_url(url),
                expected: "expected sqlite://PATH or postgres://USER@HOST/DB",
            })
        }
    }
}

/// Replaces the password of a URL (`scheme://user:password@host`) with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_owned()
            };
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}
