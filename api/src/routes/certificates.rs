//! Promotion certificates: every promoted version carries one (see
//! [`shared::domain::certificate`]). Anyone who may see the tool may read a version's
//! certificate and have it verified: a `verify` job checks its seal and its chain and re-runs
//! the promotion's re-check from the certificate alone, comparing every metric bit for bit. The
//! request waits for the job like a promotion does (`sessions.promote_wait_secs`), then answers
//! 202 with the job.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use shared::domain::certificate::{CertificateBody, Verification};
use shared::jobs::{JobStatus, VerifyCertificateJob};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::AccountCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::routes::jobs::{JobEnvelope, accepted, enqueue, wait_for_job};
use crate::routes::tools::visible_tool;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_certificate))
        .routes(routes!(verify_certificate))
}

/// Priority of verifications: a caller waits on them, and they are short.
const VERIFY_PRIORITY: i32 = 20;

/// A version's certificate as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    /// The tool.
    pub tool_id: Uuid,
    /// The version it certifies.
    pub version: i32,
    /// SHA-256 (hex) of `sealed_text`.
    pub hash: String,
    /// The hash of the tool's previous certificate, as the body names it.
    pub previous_hash: Option<String>,
    /// Whether `sealed_text` still has `hash` (checked on every read).
    pub sealed: bool,
    /// When it was sealed.
    pub issued_at: DateTime<Utc>,
    /// The body's exact text as sealed: canonical JSON (keys sorted, no spaces), so
    /// `jq -j .certificate.sealed_text | sha256sum` gives `hash`.
    pub sealed_text: String,
    /// The same, parsed; `null` if the stored text no longer parses.
    pub body: Option<CertificateBody>,
}

/// `{certificate}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateEnvelope {
    /// The certificate.
    pub certificate: CertificateView,
}

/// A version's promotion certificate: what its promotion's re-check ran from (data by hash,
/// folds, costs, seeds, the search's trials, the gate, engine and family versions, the version
/// judged against) and found (metrics per fold, the full gate report), sealed with its SHA-256
/// and chained to the tool's previous certificate. 404 for a version made otherwise (created,
/// updated, trained, rolled back).
#[utoipa::path(get, path = "/v1/tools/{id}/versions/{n}/certificate", tag = "tools", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id"), ("n" = i32, Path, description = "version")),
    responses((status = 200, body = CertificateEnvelope), (status = 404, body = crate::error::Problem)))]
async fn get_certificate(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath((id, n)): ApiPath<(Uuid, i32)>,
) -> ApiResult<Json<CertificateEnvelope>> {
    visible_tool(&state, &caller, id).await?;
    let certificate = state
        .store
        .certificates(id)
        .await?
        .into_iter()
        .find(|c| c.version == n)
        .ok_or(ApiError::NotFound("certificate"))?;
    Ok(Json(CertificateEnvelope {
        certificate: CertificateView {
            tool_id: certificate.tool_id,
            version: certificate.version,
            sealed: certificate.sealed(),
            body: certificate.content().ok(),
            hash: certificate.hash,
            previous_hash: certificate.previous_hash,
            issued_at: certificate.created_at,
            sealed_text: certificate.body,
        },
    }))
}

/// `{verification}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationEnvelope {
    /// What the verification found.
    pub verification: Verification,
}

/// Verifies a version's certificate: its seal, the tool's chain up to it, and its numbers,
/// re-run from the certificate alone (the data by content hash, the artifact by id and hash)
/// and compared bit for bit. 200 with the verdict (`verified` false names what failed: an
/// edited text, a broken link, a metric that did not reproduce, or data no longer stored), 202
/// with the job when it outlasts `sessions.promote_wait_secs`, 404 without a certificate.
#[utoipa::path(post, path = "/v1/tools/{id}/versions/{n}/certificate/verify", tag = "tools", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "tool id"), ("n" = i32, Path, description = "version")),
    responses((status = 200, body = VerificationEnvelope), (status = 202, body = JobEnvelope),
        (status = 404, body = crate::error::Problem), (status = 503, body = crate::error::Problem)))]
async fn verify_certificate(
    State(state): State<AppState>,
    AccountCaller(caller): AccountCaller,
    ApiPath((id, n)): ApiPath<(Uuid, i32)>,
) -> ApiResult<Response> {
    visible_tool(&state, &caller, id).await?;
    if !state
        .store
        .certificates(id)
        .await?
        .iter()
        .any(|c| c.version == n)
    {
        return Err(ApiError::NotFound("certificate"));
    }
    let payload = VerifyCertificateJob {
        tool_id: id,
        version: n,
    };
    let job = enqueue(&state, caller.id, payload, VERIFY_PRIORITY).await?;
    let job = wait_for_job(&state, job.id).await?;
    match job.status {
        JobStatus::Succeeded => {
            let verification: Verification =
                serde_json::from_value(job.result.clone().unwrap_or(Value::Null))
                    .map_err(|e| ApiError::Unexpected(e.into()))?;
            tracing::info!(tool_id = %id, version = n, verified = verification.verified, "certificate verified");
            Ok((StatusCode::OK, Json(VerificationEnvelope { verification })).into_response())
        }
        JobStatus::Failed | JobStatus::Canceled => Err(ApiError::Conflict(
            job.error
                .as_ref()
                .map_or("the verification did not complete", |e| e.detail.as_str())
                .to_owned(),
        )),
        JobStatus::Queued | JobStatus::Running => Ok(accepted(&job).into_response()),
    }
}
