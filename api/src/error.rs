//! One error type for every handler, rendered as `application/problem+json` (RFC 9457).
//! 5xx bodies are generic; the cause chain is logged once, here, and never sent to the client.
//! The request id is added as `instance` by [`crate::startup`]'s problem middleware.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use shared::jobs::{FailureKind, JobFailure};
use shared::standards::StandardsReport;
use shared::store::StoreError;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a 422.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON path of the field (`monthly_price`, `parameters.fast`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A problem details body.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What happened this time.
    pub detail: String,
    /// The request (its id), filled in by middleware.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Invalid fields (422 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Members particular to the kind of problem (RFC 9457 extensions), e.g. a refused
    /// promotion's `standards_report` or an entitlement's `limit`.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    #[schema(ignore)]
    pub extensions: Map<String, Value>,
}

impl Problem {
    /// A problem of the one `type` scheme (`/problems/{slug}`), the only place one is made.
    fn new(status: StatusCode, slug: &str, title: impl Into<String>, detail: String) -> Self {
        Self {
            kind: format!("/problems/{slug}"),
            title: title.into(),
            status: status.as_u16(),
            detail,
            instance: None,
            errors: Vec::new(),
            extensions: Map::new(),
        }
    }

    /// A job's failure (its `error`), with the status a request failing the same way would get.
    pub fn of_job(failure: &JobFailure) -> Self {
        let (status, slug) = match failure.kind {
            FailureKind::InvalidInput => (StatusCode::UNPROCESSABLE_ENTITY, "invalid-job-input"),
            FailureKind::Transient => (StatusCode::SERVICE_UNAVAILABLE, "transient-failure"),
            FailureKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal-failure"),
            FailureKind::TimedOut => (StatusCode::GATEWAY_TIMEOUT, "timed-out"),
            FailureKind::Conflict => (StatusCode::CONFLICT, "conflict"),
            FailureKind::Canceled => (StatusCode::CONFLICT, "canceled"),
            FailureKind::WorkerLost => (StatusCode::INTERNAL_SERVER_ERROR, "worker-lost"),
        };
        Self::new(status, slug, failure.title.clone(), failure.detail.clone())
    }
}

/// Most field errors one 422 lists.
pub const MAX_FIELD_ERRORS: usize = 20;

/// `text` cut to `max` characters, marked with an ellipsis when cut, so no error echoes an
/// arbitrarily long input back.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Everything a handler can fail with.
#[derive(thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be read (malformed JSON, bad id, bad cursor).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid credentials.
    #[error("missing or invalid API key")]
    Unauthorized,
    /// 402: the balance does not cover the charge.
    #[error("{0}")]
    PaymentRequired(String),
    /// 403: authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404: nothing the caller may see is there.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 413: body over the limit (which limit, in words).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: body of the wrong media type.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed but invalid.
    #[error("{detail}")]
    Validation {
        /// Summary.
        detail: String,
        /// Invalid fields.
        errors: Vec<FieldError>,
    },
    /// 403: beyond what the caller's tier includes; `limit` names the limit.
    #[error("{detail}")]
    Entitlement {
        /// What was asked and what the tier allows.
        detail: String,
        /// The limit that refused it.
        limit: u64,
        /// The caller's tier (or `creator`).
        tier: String,
    },
    /// 422: the standards gate refused; every failing check is listed in `errors` and the whole
    /// report travels as `standards_report`.
    #[error("{detail}")]
    StandardsFailed {
        /// Summary.
        detail: String,
        /// The gate's report.
        report: Box<StandardsReport>,
    },
    /// 429: over the account's quota; retry once some of its work has finished.
    #[error("{detail}")]
    QuotaExceeded {
        /// What is over which limit.
        detail: String,
        /// The limit.
        limit: i64,
        /// Seconds after which a retry may pass (`Retry-After`); `None` for limits that time
        /// does not lift (stored data: delete something first).
        retry_after: Option<u64>,
    },
    /// 429: over the request rate of the key (or of the address, without a key).
    #[error("too many requests; retry in {retry_after} s")]
    RateLimited {
        /// Seconds until a request would be accepted.
        retry_after: u64,
    },
    /// 503: a dependency is down.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an outage; details only in the log.
    #[error("internal error")]
    Unexpected(#[from] anyhow::Error),
}

impl std::fmt::Debug for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        shared::error_chain_fmt(self, f)
    }
}

/// Result alias of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A 422 for one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let e = FieldError::new(field, message);
        Self::Validation {
            detail: format!("{}: {}", e.field, e.message),
            errors: vec![e],
        }
    }

    /// A 422 for several fields. The body stays small whatever was sent: at most
    /// [`MAX_FIELD_ERRORS`] errors (the last one says how many more there were), each field
    /// name and message cut to a few hundred characters, and the detail names the first three.
    pub fn invalid_fields(errors: Vec<FieldError>) -> Self {
        let total = errors.len();
        let mut errors: Vec<FieldError> = errors
            .into_iter()
            .take(MAX_FIELD_ERRORS)
            .map(|e| FieldError::new(clip(&e.field, 100), clip(&e.message, 300)))
            .collect();
        if total > MAX_FIELD_ERRORS {
            errors.push(FieldError::new(
                "body",
                format!("and {} more invalid fields", total - MAX_FIELD_ERRORS),
            ));
        }
        let mut detail = errors
            .iter()
            .take(3)
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        if errors.len() > 3 {
            detail.push_str(&format!(" (and {} more)", total - 3));
        }
        Self::Validation { detail, errors }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Self::PaymentRequired(_) => (
                StatusCode::PAYMENT_REQUIRED,
                "insufficient-funds",
                "Insufficient funds",
            ),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            Self::Entitlement { .. } => (
                StatusCode::FORBIDDEN,
                "entitlement",
                "Beyond the tier's entitlement",
            ),
            Self::StandardsFailed { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "standards-failed",
                "Standards not met",
            ),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            Self::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            ),
            Self::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            Self::Validation { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Validation failed",
            ),
            Self::QuotaExceeded { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "quota-exceeded",
                "Over the account's quota",
            ),
            Self::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
            ),
            Self::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            Self::Unexpected(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
        }
    }

    /// The problem body of this error.
    pub fn problem(&self) -> Problem {
        let (status, slug, title) = self.parts();
        let mut extensions = Map::new();
        let errors = match self {
            Self::Validation { errors, .. } => errors.clone(),
            Self::StandardsFailed { report, .. } => {
                extensions.insert(
                    "standards_report".into(),
                    serde_json::to_value(report).unwrap_or(Value::Null),
                );
                failing_checks(report)
            }
            Self::QuotaExceeded { limit, .. } => {
                extensions.insert("limit".into(), Value::from(*limit));
                Vec::new()
            }
            Self::Entitlement { limit, tier, .. } => {
                extensions.insert("limit".into(), Value::from(*limit));
                extensions.insert("tier".into(), Value::from(tier.clone()));
                Vec::new()
            }
            _ => Vec::new(),
        };
        Problem {
            errors,
            extensions,
            ..Problem::new(status, slug, title, clip(&self.to_string(), 1_000))
        }
    }
}

/// One field error per failing check of a standards report: the check's name, its value and
/// its threshold.
fn failing_checks(report: &StandardsReport) -> Vec<FieldError> {
    report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| {
            let value = c
                .value
                .map_or_else(|| "missing".to_owned(), |v| format!("{v:.4}"));
            FieldError::new(
                format!("checks.{}", c.name),
                format!("value {value} against threshold {:.4}", c.threshold),
            )
        })
        .collect()
}

/// Renders a problem body with its status and media type. The problem also travels in the
/// response extensions so middleware can add the request id.
pub fn problem_response(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut res = (status, body).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res.extensions_mut().insert(problem);
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Unexpected(e) => {
                tracing::error!(error.cause_chain = ?e, error.message = %e, "request failed");
            }
            Self::Unavailable(_) => tracing::warn!(error.message = %self, "dependency unavailable"),
            _ => {}
        }
        let retry_after = match self {
            Self::Unavailable(_) => Some(1),
            Self::QuotaExceeded { retry_after, .. } => retry_after,
            _ => None,
        };
        let mut response = problem_response(self.problem());
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<platform::EnqueueError> for ApiError {
    fn from(e: platform::EnqueueError) -> Self {
        match e {
            platform::EnqueueError::Full { .. } => Self::Unavailable(e.to_string()),
            platform::EnqueueError::Quota { limit, .. } => Self::QuotaExceeded {
                detail: e.to_string(),
                limit,
                retry_after: Some(5),
            },
            platform::EnqueueError::Budget {
                limit, retry_after, ..
            } => Self::QuotaExceeded {
                detail: e.to_string(),
                limit,
                retry_after: Some(u64::try_from(retry_after).unwrap_or(1)),
            },
            platform::EnqueueError::Store(e) => e.into(),
            platform::EnqueueError::Encode(e) => Self::Unexpected(e.into()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound("resource"),
            StoreError::Conflict(what) => Self::Conflict(what),
            StoreError::InsufficientFunds { balance, required } => {
                Self::PaymentRequired(format!("balance {balance} does not cover {required}"))
            }
            StoreError::Quota { ref what, limit } => Self::QuotaExceeded {
                detail: format!("over the account's limit of {limit} {what}; delete some first"),
                limit,
                retry_after: None,
            },
            StoreError::IdempotencyMismatch => Self::invalid(
                "Idempotency-Key",
                "this key was already used with a different request body",
            ),
            e if e.is_contention() => {
                tracing::warn!(error.cause_chain = ?e, "transaction refused for contention");
                Self::Unavailable(
                    "the store refused this change for a conflicting concurrent one; nothing was \
                     written, retry"
                        .into(),
                )
            }
            e if e.is_unavailable() => {
                Self::Unavailable("the store is unavailable, retry later".into())
            }
            other => Self::Unexpected(anyhow::Error::new(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_stays_small_whatever_the_request_sent() {
        let long = "x".repeat(100_000);
        let errors = (0..5_000)
            .map(|i| FieldError::new(format!("{long}{i}"), format!("unknown parameter {long}")))
            .collect();
        let body = serde_json::to_vec(&ApiError::invalid_fields(errors).problem()).expect("json");
        assert!(body.len() < 16 * 1024, "{} bytes", body.len());
        let p = ApiError::invalid_fields(vec![FieldError::new("a", "b"); 25]).problem();
        assert_eq!(p.errors.len(), MAX_FIELD_ERRORS + 1);
        assert_eq!(
            p.errors[MAX_FIELD_ERRORS].message,
            "and 5 more invalid fields"
        );
        let p = ApiError::BadRequest(long).problem();
        assert!(p.detail.chars().count() <= 1_001);
    }

    #[test]
    fn validation_problems_list_fields_and_hide_nothing_else() {
        let p = ApiError::invalid("monthly_price", "must have at most 2 decimal places").problem();
        assert_eq!(p.status, 422);
        assert_eq!(p.kind, "/problems/validation");
        assert_eq!(p.errors[0].field, "monthly_price");
        let p = ApiError::Unexpected(anyhow::anyhow!("password=hunter2 in the sql")).problem();
        assert_eq!(p.status, 500);
        assert!(
            !p.detail.contains("hunter2"),
            "internal text never reaches the client"
        );
    }
}
