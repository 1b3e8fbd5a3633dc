//! Request extractors whose every rejection is a problem+json error: JSON bodies (with field
//! paths in 422s), path ids, query strings and the `Idempotency-Key` header.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, header, request::Parts};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, FieldError};

/// A JSON body, required.
pub struct ApiJson<T>(pub T);

/// A JSON body that may be absent (an empty body means `T::default()`).
pub struct OptionalJson<T>(pub T);

/// A JSON body with the hash of its canonical form, for idempotency checks.
pub struct HashedJson<T> {
    /// The body.
    pub value: T,
    /// SHA-256 (hex) of the body re-serialized with sorted keys: whitespace and key order do
    /// not make two requests different.
    pub hash: String,
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<(bool, Bytes), ApiError> {
    let json = is_json(req.headers());
    let bytes = Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge("request body too large".into())
        } else {
            ApiError::BadRequest(format!(
                "could not read the request body: {}",
                e.body_text()
            ))
        }
    })?;
    Ok((json, bytes))
}

fn parse_value(json: bool, bytes: &[u8]) -> Result<Value, ApiError> {
    if !json {
        return Err(ApiError::UnsupportedMediaType(
            "expected Content-Type: application/json".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))
}

/// Deserializes a JSON value into `T`, naming the offending field in a 422.
///
/// # Errors
/// A 422 naming the field.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        // serde reports missing and unknown fields at the parent: name the field itself.
        let named = ["missing field `", "unknown field `"].iter().find_map(|p| {
            message
                .strip_prefix(p)
                .and_then(|rest| rest.split('`').next())
        });
        let field = match (named, path.as_str()) {
            (Some(name), "." | "") => name.to_owned(),
            (Some(name), p) if p == name || p.ends_with(&format!(".{name}")) => p.to_owned(),
            (Some(name), parent) => format!("{parent}.{name}"),
            (None, ".") => "body".to_owned(),
            (None, p) => p.to_owned(),
        };
        ApiError::invalid_fields(vec![FieldError::new(field, message)])
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (json, bytes) = read_body(req, state).await?;
        Ok(ApiJson(from_value(parse_value(json, &bytes)?)?))
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (json, bytes) = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        Ok(OptionalJson(from_value(parse_value(json, &bytes)?)?))
    }
}

impl<T: DeserializeOwned> HashedJson<T> {
    /// The body a JSON value stands for, with its hash (a dashboard form's fields).
    ///
    /// # Errors
    /// 422 naming the field that does not fit `T`.
    pub fn of(value: Value) -> Result<Self, ApiError> {
        let canonical = serde_json::to_vec(&value).unwrap_or_default();
        let hash = hex::encode(Sha256::digest(&canonical));
        Ok(HashedJson {
            value: from_value(value)?,
            hash,
        })
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for HashedJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (json, bytes) = read_body(req, state).await?;
        Self::of(parse_value(json, &bytes)?)
    }
}

/// Path parameters; a malformed id is a 400, not a 500 or a plain-text error.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| ApiError::BadRequest(format!("invalid path parameter: {}", e.body_text())))
    }
}

/// Query string; a malformed one is a 400.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::BadRequest(format!("invalid query string: {}", e.body_text())))
    }
}

/// The optional `Idempotency-Key` header (1 to 255 visible ASCII characters).
pub struct IdempotencyKeyHeader(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKeyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Some(raw) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKeyHeader(None));
        };
        let key = raw
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                ApiError::invalid(
                    "Idempotency-Key",
                    "must be 1 to 255 visible ASCII characters",
                )
            })?;
        Ok(IdempotencyKeyHeader(Some(key.to_owned())))
    }
}
