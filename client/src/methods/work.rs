//! The work: sessions and their optimizations, training, datasets.

use futures::Stream;
use reqwest::Method as Http;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::seg;
use crate::error::Error;
use crate::transport::{Client, Safety};
use crate::types::{
    Dataset, EndedSession, Inserted, Job, OptimizationConfig, Record, Session, SessionSummary,
    Tool, Training, TrainingStarted, Version, Wrapped,
};
use domain::optimization::Method;
use domain::training::{TrainingConfig, TrainingMethod};

/// What `promote_optimization` ends in.
#[derive(Clone, Debug)]
pub enum Promotion {
    /// The re-check passed: the new version, the tool at it, the record now promoted.
    Promoted {
        /// The new version.
        version: Box<Version>,
        /// The tool, now at that version.
        tool: Box<Tool>,
        /// The record.
        optimization: Box<Record>,
    },
    /// The re-check runs as a job (it took longer than the server waits); follow it with
    /// [`Client::wait_for_job`].
    Checking(Box<Job>),
}

/// A training applied as a new version.
#[derive(Clone, Debug, serde::Serialize, Deserialize)]
pub struct Applied {
    /// The tool at its new version.
    pub tool: Tool,
    /// The version.
    pub version: Version,
    /// The run, now applied.
    pub training: Training,
}

#[derive(Deserialize)]
struct SessionEnvelope {
    session: Session,
}

impl Client {
    /// The seed's `create_session(user_id, config)`, on one of the caller's datasets (the
    /// seed's sessions have no data; here a session optimizes on the renter's own). `config`
    /// is a JSON object (`seed`, `folds`, `time_limit_secs`, costs) or `None` for defaults.
    ///
    /// # Errors
    /// 404 when the dataset is not the caller's, 422 for a bad config.
    pub async fn create_session(
        &self,
        dataset_id: Uuid,
        config: Option<Value>,
    ) -> Result<Session, Error> {
        let mut body = json!({ "dataset_id": dataset_id });
        if let Some(c) = config {
            body["config"] = c;
        }
        let e: SessionEnvelope = self
            .call(Http::POST, "/v1/sessions", Some(&body), Safety::Once)
            .await?;
        Ok(e.session)
    }

    /// The seed's `insert_tool_into_session(session_id, user_id, tool_id, auto_optimize,
    /// optimization_config)`. With `auto_optimize` the answer carries the optimization's job.
    ///
    /// # Errors
    /// 403 without a subscription, 409 when the session ended or holds the tool.
    pub async fn insert_tool_into_session(
        &self,
        session_id: Uuid,
        tool_id: Uuid,
        auto_optimize: bool,
        optimization_config: Option<OptimizationConfig>,
    ) -> Result<Inserted, Error> {
        let body = json!({
            "tool_id": tool_id,
            "auto_optimize": auto_optimize,
            "optimization_config": optimization_config.unwrap_or_default(),
        });
        self.call(
            Http::POST,
            &format!("/v1/sessions/{}/tools", seg(session_id)),
            Some(&body),
            Safety::Once,
        )
        .await
    }

    /// The seed's `apply_optimization(session_id, tool_id, method, config)`: optimizes an
    /// inserted tool again; the job's result names the new record.
    ///
    /// # Errors
    /// 409 while its previous optimization runs.
    pub async fn apply_optimization(
        &self,
        session_id: Uuid,
        tool_id: Uuid,
        method: Method,
        config: Option<OptimizationConfig>,
    ) -> Result<Job, Error> {
        let body = json!({ "method": method, "config": config.unwrap_or_default() });
        let w: Wrapped<Job> = self
            .call(
                Http::POST,
                &format!(
                    "/v1/sessions/{}/tools/{}/optimizations",
                    seg(session_id),
                    seg(tool_id)
                ),
                Some(&body),
                Safety::Once,
            )
            .await?;
        Ok(w.inner)
    }

    /// The seed's `promote_optimization(record_id, creator_id)`: the tool's creator turns a
    /// record that passed the standards gate into a new permanent version, after a re-check
    /// against the current version.
    ///
    /// # Errors
    /// 403 for anyone but the creator, 422 with the failing checks (in the problem's
    /// `standards_report`), 409 when already promoted.
    pub async fn promote_optimization(&self, record_id: Uuid) -> Result<Promotion, Error> {
        #[derive(Deserialize)]
        struct Promoted {
            version: Version,
            tool: Tool,
            optimization: Record,
        }
        let v: Value = self
            .call(
                Http::POST,
                &format!("/v1/optimizations/{}/promote", seg(record_id)),
                None,
                Safety::Once,
            )
            .await?;
        let unexpected = |e: serde_json::Error| Error::Unexpected {
            status: 201,
            message: e.to_string(),
        };
        if v.get("job").is_some() {
            let w: Wrapped<Job> = serde_json::from_value(v).map_err(unexpected)?;
            return Ok(Promotion::Checking(Box::new(w.inner)));
        }
        let p: Promoted = serde_json::from_value(v).map_err(unexpected)?;
        Ok(Promotion::Promoted {
            version: Box::new(p.version),
            tool: Box::new(p.tool),
            optimization: Box::new(p.optimization),
        })
    }

    /// The seed's `end_session(session_id, promote_successful)`: ends it (running
    /// optimizations are canceled); with `promote_successful` its passed records are listed for
    /// their creators (and promoted at once for tools with auto-promotion).
    ///
    /// # Errors
    /// 409 when it already ended.
    pub async fn end_session(
        &self,
        session_id: Uuid,
        promote_successful: bool,
    ) -> Result<EndedSession, Error> {
        self.call(
            Http::POST,
            &format!("/v1/sessions/{}/end", seg(session_id)),
            Some(&json!({ "promote_successful": promote_successful })),
            Safety::Once,
        )
        .await
    }

    /// A session with its tools and records.
    ///
    /// # Errors
    /// 404 when it is not the caller's.
    pub async fn get_session(&self, session_id: Uuid) -> Result<Session, Error> {
        let e: SessionEnvelope = self
            .get(&format!("/v1/sessions/{}", seg(session_id)), &[])
            .await?;
        Ok(e.session)
    }

    /// The caller's sessions, newest first.
    pub fn list_sessions(
        &self,
    ) -> impl Stream<Item = Result<SessionSummary, Error>> + Send + 'static {
        self.pages("/v1/sessions", "sessions", json!({}))
    }

    /// An optimization record (its renter, or its tool's creator once listed).
    ///
    /// # Errors
    /// 404 when the caller may not see it.
    pub async fn get_optimization(&self, record_id: Uuid) -> Result<Record, Error> {
        let w: Wrapped<Record> = self
            .get(&format!("/v1/optimizations/{}", seg(record_id)), &[])
            .await?;
        Ok(w.inner)
    }

    /// The seed's `train_tool(creator_id, tool_id, method, config, training_data)`:
    /// `training_data` is one of the creator's datasets. The seed's `epochs` is accepted for
    /// every method (an optimization engine's trials).
    ///
    /// # Errors
    /// 403 for anyone but the creator, 422 with the invalid config fields.
    pub async fn train_tool(
        &self,
        tool_id: Uuid,
        method: TrainingMethod,
        config: &TrainingConfig,
        training_data: Uuid,
    ) -> Result<TrainingStarted, Error> {
        let body = json!({ "method": method, "config": config, "dataset_id": training_data });
        self.call(
            Http::POST,
            &format!("/v1/tools/{}/trainings", seg(tool_id)),
            Some(&body),
            Safety::Once,
        )
        .await
    }

    /// The seed's `apply_training_results(creator_id, tool_id, training_result)`: a succeeded
    /// run (its id) becomes the tool's new version.
    ///
    /// # Errors
    /// 409 when the run has not succeeded or was applied.
    pub async fn apply_training_results(&self, training_id: Uuid) -> Result<Applied, Error> {
        self.call(
            Http::POST,
            &format!("/v1/trainings/{}/apply", seg(training_id)),
            None,
            Safety::Once,
        )
        .await
    }

    /// The seed's `get_training_recommendations(creator_id, tool_id)`: methods and configs to
    /// try, best first, each with its reason (`dataset_id` shapes them by the data's size).
    ///
    /// # Errors
    /// 403 for anyone but the creator.
    pub async fn get_training_recommendations(
        &self,
        tool_id: Uuid,
        dataset_id: Option<Uuid>,
    ) -> Result<Value, Error> {
        self.get(
            &format!("/v1/tools/{}/training-recommendations", seg(tool_id)),
            &dataset_id
                .map(|d| vec![("dataset_id", d.to_string())])
                .unwrap_or_default(),
        )
        .await
    }

    /// A training run.
    ///
    /// # Errors
    /// 404 when it is not the caller's.
    pub async fn get_training(&self, training_id: Uuid) -> Result<Training, Error> {
        let w: Wrapped<Training> = self
            .get(&format!("/v1/trainings/{}", seg(training_id)), &[])
            .await?;
        Ok(w.inner)
    }

    /// A synthetic dataset of the caller's (`kind`: `regime_switching`, `random_walk`...).
    ///
    /// # Errors
    /// 422 for a bad generator.
    pub async fn generate_dataset(
        &self,
        name: &str,
        kind: &str,
        bars: u32,
        seed: u64,
    ) -> Result<Dataset, Error> {
        let body = json!({"name": name, "generator": {"kind": kind, "bars": bars, "seed": seed}});
        let w: Wrapped<Dataset> = self
            .call(Http::POST, "/v1/datasets", Some(&body), Safety::Once)
            .await?;
        Ok(w.inner)
    }

    /// Uploads bars as CSV (`timestamp,open,high,low,close,volume`) as a dataset of the
    /// caller's.
    ///
    /// # Errors
    /// 422 with the first bad row, 413 past the size limit.
    pub async fn upload_dataset(&self, name: &str, csv: Vec<u8>) -> Result<Dataset, Error> {
        let csv = bytes::Bytes::from(csv);
        let res = self
            .send_with_retries(Safety::Once, || {
                self.request_with(Http::POST, "/v1/datasets", &[("name", name.to_owned())])
                    .header(reqwest::header::CONTENT_TYPE, "text/csv")
                    .body(csv.clone())
            })
            .await?;
        let w: Wrapped<Dataset> = crate::transport::decode(res).await?;
        Ok(w.inner)
    }

    /// The caller's datasets, newest first.
    pub fn list_datasets(&self) -> impl Stream<Item = Result<Dataset, Error>> + Send + 'static {
        self.pages("/v1/datasets", "datasets", json!({}))
    }
}
