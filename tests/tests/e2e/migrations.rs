//! Migrations keep existing tools working: a momentum tool made before family version 2 (a
//! raw-return threshold) becomes a `momentum_return` tool with the same parameters, so it trades
//! exactly as it did, on SQLite and on PostgreSQL.

use std::borrow::Cow;

use chrono::Utc;
use serde_json::json;
use shared::config::DatabaseSettings;
use sqlx::types::Json;
use tests::{Backend, empty_database};
use uuid::Uuid;

/// Migrations before the honest gate (0001-0007).
const BEFORE: usize = 7;

/// Inserts, with the schema of migration 0007, a creator and a momentum tool with a raw 2%
/// threshold; returns the tool's id.
macro_rules! old_momentum_tool {
    ($pool:expr) => {{
        let (creator, tool) = (Uuid::now_v7(), Uuid::now_v7());
        let now = Utc::now();
        sqlx::query("INSERT INTO accounts (id, name, kind, created_at) VALUES ($1, 'old', 'user', $2)")
            .bind(creator)
            .bind(now)
            .execute($pool)
            .await
            .expect("account");
        sqlx::query(
            "INSERT INTO tools (id, creator_id, name, description, category, family, price_cents, tier, \
             metadata, current_version, created_at, updated_at) \
             VALUES ($1, $2, 'Old momentum', 'made under version 1', 'trading', 'momentum', 1000, 'basic', $3, 1, $4, $4)",
        )
        .bind(tool)
        .bind(creator)
        .bind(Json(json!({})))
        .bind(now)
        .execute($pool)
        .await
        .expect("tool");
        sqlx::query(
            "INSERT INTO tool_versions (tool_id, version, parameters, source, created_at) VALUES ($1, 1, $2, 'created', $3)",
        )
        .bind(tool)
        .bind(Json(json!({"lookback_period": 20, "threshold": 0.02})))
        .bind(now)
        .execute($pool)
        .await
        .expect("version");
        tool
    }};
}

async fn momentum_made_before_version_two_keeps_its_rule(backend: Backend) {
    let Some(db) = empty_database(backend).await else {
        return;
    };
    // Arrange: the schema as it was, with an old tool.
    let tool = match backend {
        Backend::Sqlite => {
            let all = sqlx::migrate!("../shared/store/migrations/sqlite");
            let before = sqlx::migrate::Migrator {
                migrations: Cow::Owned(all.migrations[..BEFORE].to_vec()),
                ..sqlx::migrate::Migrator::DEFAULT
            };
            let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
            before.run(&pool).await.expect("migrated to 0007");
            let tool = old_momentum_tool!(&pool);
            pool.close().await;
            tool
        }
        _ => {
            let all = sqlx::migrate!("../shared/store/migrations/postgres");
            let before = sqlx::migrate::Migrator {
                migrations: Cow::Owned(all.migrations[..BEFORE].to_vec()),
                ..sqlx::migrate::Migrator::DEFAULT
            };
            let pool = sqlx::PgPool::connect(&db.url).await.expect("postgres");
            before.run(&pool).await.expect("migrated to 0007");
            let tool = old_momentum_tool!(&pool);
            pool.close().await;
            tool
        }
    };

    // Act: the store starts and applies the rest.
    let settings = DatabaseSettings {
        url: db.url.clone().into(),
        ..DatabaseSettings::default()
    };
    let store = shared::store::connect(&settings)
        .await
        .expect("store migrates");
    let tool = store.tool(tool).await.expect("read").expect("tool");

    // Assert: the same parameters under the legacy rule, which still trades as it did.
    assert_eq!(tool.family, "momentum_return");
    assert_eq!(
        serde_json::Value::Object(tool.parameters.clone()),
        json!({"lookback_period": 20, "threshold": 0.02})
    );
    let strategy = worker::engine::Strategy::from_params(&tool.family, &tool.parameters)
        .expect("valid under the legacy family");
    assert_eq!(
        strategy,
        worker::engine::Strategy::MomentumReturn {
            lookback: 20,
            threshold: 0.02
        }
    );
}

#[tokio::test]
async fn sqlite_momentum_made_before_version_two_keeps_its_rule() {
    momentum_made_before_version_two_keeps_its_rule(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_momentum_made_before_version_two_keeps_its_rule() {
    momentum_made_before_version_two_keeps_its_rule(Backend::Postgres).await;
}
