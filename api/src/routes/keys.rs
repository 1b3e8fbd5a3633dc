//! The caller's API keys: create (the secret shown once), list (never a secret) and revoke.
//! Rotation is create-new-then-revoke-old; the store refuses to revoke an account's last active
//! key, so nobody locks themselves out, and a revoked key is refused on the very next request
//! (every request looks its key up).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::store::ApiKeyInfo;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::{AccountCaller, generate_key};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, OptionalJson};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_key, list_keys))
        .routes(routes!(revoke_key))
}

/// An API key as its owner sees it (never the key itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    /// Id (what `DELETE /v1/accounts/me/keys/{id}` names).
    pub id: Uuid,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    /// The owner's name for it, if any.
    pub label: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked (it no longer authenticates); absent while active.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&ApiKeyInfo> for ApiKeyView {
    fn from(k: &ApiKeyInfo) -> Self {
        Self {
            id: k.id,
            prefix: k.prefix.clone(),
            label: k.label.clone(),
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// Body of `POST /v1/accounts/me/keys` (may be empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// Where the key is used ("ci", "laptop"), 1-100 characters.
    pub label: Option<String>,
}

/// A new key and its secret (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyCreated {
    /// The key.
    pub key: ApiKeyView,
    /// Bearer key; only its hash is stored.
    pub api_key: String,
}

/// Creates another API key for the caller's account (at most 20 active ones). To rotate a key,
/// create its successor here, switch to it, then revoke the old one.
#[utoipa::path(post, path = "/v1/accounts/me/keys", tag = "accounts", security(("bearer" = [])),
    request_body = CreateKey,
    responses((status = 201, body = KeyCreated), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem, description = "the account already holds 20 active keys"),
        (status = 415, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn create_key(
    State(state): State<AppState>,
    AccountCaller(account): AccountCaller,
    OptionalJson(body): OptionalJson<CreateKey>,
) -> ApiResult<(StatusCode, Json<KeyCreated>)> {
    let label = body
        .label
        .map(|l| super::required_text("label", &l, 100))
        .transpose()
        .map_err(|e| ApiError::invalid_fields(vec![e]))?;
    let (api_key, stored) = generate_key();
    let key = state
        .store
        .create_api_key(account.id, &stored, label.as_deref(), state.now())
        .await?;
    tracing::info!(account_id = %account.id, key_id = %key.id, "api key created");
    Ok((
        StatusCode::CREATED,
        Json(KeyCreated {
            key: ApiKeyView::from(&key),
            api_key,
        }),
    ))
}

/// `{keys}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    /// Every key of the account, newest first, revoked ones included.
    pub keys: Vec<ApiKeyView>,
}

/// The caller's API keys, newest first, revoked ones included (never a secret).
#[utoipa::path(get, path = "/v1/accounts/me/keys", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = KeyList), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem)))]
async fn list_keys(
    State(state): State<AppState>,
    AccountCaller(account): AccountCaller,
) -> ApiResult<Json<KeyList>> {
    let keys = state.store.api_keys(account.id).await?;
    Ok(Json(KeyList {
        keys: keys.iter().map(ApiKeyView::from).collect(),
    }))
}

/// Revokes one of the caller's API keys; it is refused from the next request on. Revoking a
/// revoked key changes nothing. The account's last active key cannot be revoked (409).
#[utoipa::path(delete, path = "/v1/accounts/me/keys/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "key id")),
    responses((status = 204, description = "revoked"), (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem, description = "the account's last active key")))]
async fn revoke_key(
    State(state): State<AppState>,
    AccountCaller(account): AccountCaller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let key = state
        .store
        .revoke_api_key(account.id, id, state.now())
        .await
        .map_err(|e| match e {
            shared::store::StoreError::NotFound => ApiError::NotFound("API key"),
            e => e.into(),
        })?;
    tracing::info!(account_id = %account.id, key_id = %key.id, "api key revoked");
    Ok(StatusCode::NO_CONTENT)
}
