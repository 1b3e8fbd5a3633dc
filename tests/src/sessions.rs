//! Session helpers: a creator's tool rented by a renter, a session on the renter's data, and
//! waiting for an optimization's record.

use chrono::Utc;
use serde_json::{Value, json};
use shared::domain::{SessionConfig, Tool};
use shared::store::{NewSession, NewSessionTool};
use uuid::Uuid;

use crate::{TestApp, User};

/// A creator, a renter subscribed at `tier`, the creator's tool and a session of the renter.
pub struct SessionSetup {
    /// The tool's creator.
    pub creator: User,
    /// The subscriber who owns the session.
    pub renter: User,
    /// The tool's id.
    pub tool: String,
    /// The renter's dataset.
    pub dataset: String,
    /// The renter's session.
    pub session: String,
}

/// The product's default standards gate (`null`: the tool keeps no gate of its own). Every
/// verdict is reproducible: `execution_time` is a deterministic cost model.
pub fn default_standards() -> Value {
    Value::Null
}

/// A momentum tool whose optimization passes the default gate on [`trending_data`] with the
/// session seed 7 (and 8 of 18 other pairs of data and session seeds at 40 trials): its 5-bar
/// lookback without a threshold trades noise and pays commission on every flip; a long lookback
/// with a threshold rides the regimes, out of sample too.
pub fn momentum_tool(name: &str, standards: Value) -> Value {
    json!({
        "name": name,
        "description": "momentum over a lookback",
        "category": "trading",
        "family": "momentum",
        "monthly_price": 20.0,
        "tier": "basic",
        "parameters": {"lookback_period": 5, "threshold": 0.0},
        "standards": standards,
    })
}

/// A regime-switching series with long trends (2,000 daily bars).
pub fn trending_data() -> Value {
    json!({"kind": "regime_switching", "bars": 2000, "seed": 2})
}

impl TestApp {
    /// Overwrites a stored certificate's text and hash behind the application's back, as
    /// someone with access to the database would (tests of tamper evidence).
    pub async fn tamper_certificate(&self, tool: uuid::Uuid, version: i32, body: &str, hash: &str) {
        use secrecy::ExposeSecret;
        let url = self.settings.database.url.expose_secret().to_owned();
        let sql =
            "UPDATE certificates SET body = $1, hash = $2 WHERE tool_id = $3 AND version = $4";
        let changed = if url.starts_with("sqlite") {
            let pool = sqlx::SqlitePool::connect(&url).await.expect("sqlite");
            let r = sqlx::query(sql)
                .bind(body)
                .bind(hash)
                .bind(tool)
                .bind(version)
                .execute(&pool)
                .await;
            pool.close().await;
            r.expect("updated").rows_affected()
        } else {
            let pool = sqlx::PgPool::connect(&url).await.expect("postgres");
            let r = sqlx::query(sql)
                .bind(body)
                .bind(hash)
                .bind(tool)
                .bind(version)
                .execute(&pool)
                .await;
            pool.close().await;
            r.expect("updated").rows_affected()
        };
        assert_eq!(changed, 1, "one certificate edited");
    }

    /// A session of `owner`'s on a new dataset of theirs with `tool` inserted at version 1,
    /// written through the store (no subscription, no job): its id.
    pub async fn store_session_with_tool(&self, owner: &User, tool: &Tool) -> Uuid {
        let dataset = self.dataset(owner).await;
        let session = self
            .store
            .create_session(
                &NewSession {
                    owner_id: owner.id,
                    dataset_id: dataset,
                    config: SessionConfig::default(),
                },
                i64::MAX,
                Utc::now(),
            )
            .await
            .expect("session");
        self.store
            .insert_session_tool(
                &NewSessionTool {
                    session_id: session.id,
                    tool_id: tool.id,
                    base_version: 1,
                    parameters: tool.parameters.clone(),
                },
                None,
                Utc::now(),
                Utc::now(),
            )
            .await
            .expect("inserted");
        session.id
    }

    /// Creator, renter (subscribed at `tier` with enough credit), tool from `tool_body`, the
    /// renter's dataset from `generator`, and a session on it with `config`.
    pub async fn session_setup(
        &self,
        tool_body: Value,
        tier: &str,
        generator: Value,
        config: Value,
    ) -> SessionSetup {
        let creator = self.user("creator").await;
        let renter = self.funded_user("renter", 1_000.0).await;
        let tool = self.tool(&creator, tool_body).await["id"]
            .as_str()
            .expect("tool id")
            .to_owned();
        self.post(
            "/v1/subscriptions",
            &renter.key,
            &json!({"tool_id": tool, "tier": tier, "months": 1}),
        )
        .await
        .expect(201);
        let dataset = self.generated_dataset(&renter, generator).await["id"]
            .as_str()
            .expect("dataset id")
            .to_owned();
        let session = self.open_session(&renter, &json!(dataset), config).await;
        SessionSetup {
            creator,
            renter,
            tool,
            dataset,
            session,
        }
    }

    /// Inserts `tool` into `session` with auto-optimization, waits for the job and returns the
    /// finished job.
    pub async fn insert_and_optimize(
        &self,
        owner: &User,
        session: &str,
        tool: &str,
        optimization_config: Value,
    ) -> Value {
        let body = self
            .post(
                &format!("/v1/sessions/{session}/tools"),
                &owner.key,
                &json!({"tool_id": tool, "auto_optimize": true, "optimization_config": optimization_config}),
            )
            .await
            .expect(202);
        let job = body["job"]["id"].as_str().expect("job id").to_owned();
        let done = self.wait_job(&job, &owner.key, 120).await;
        assert_eq!(
            done["status"],
            json!("succeeded"),
            "optimization ran: {done}"
        );
        done
    }

    /// Opens a session of `owner` on `dataset` (an id) with `config`; returns its id.
    pub async fn open_session(&self, owner: &User, dataset: &Value, config: Value) -> String {
        self.post(
            "/v1/sessions",
            &owner.key,
            &json!({"dataset_id": dataset, "config": config}),
        )
        .await
        .expect(201)["session"]["id"]
            .as_str()
            .expect("session id")
            .to_owned()
    }

    /// `POST /v1/optimizations/{record}/promote` as `key`'s account.
    pub async fn promote(&self, record: &str, key: &str) -> crate::Resp {
        self.post(
            &format!("/v1/optimizations/{record}/promote"),
            key,
            &json!({}),
        )
        .await
    }

    /// Ends `session` as its owner (200 expected) and returns the answer.
    pub async fn end_session(
        &self,
        owner: &User,
        session: &str,
        promote_successful: bool,
    ) -> Value {
        self.post(
            &format!("/v1/sessions/{session}/end"),
            &owner.key,
            &json!({"promote_successful": promote_successful}),
        )
        .await
        .expect(200)
    }

    /// The session as its owner sees it (`{session, optimizations}`).
    pub async fn session_view(&self, owner: &User, session: &str) -> Value {
        self.get(&format!("/v1/sessions/{session}"), &owner.key)
            .await
            .expect(200)
    }
}
