//! Bearer API keys. A key is 32 random bytes shown once at account creation; the store keeps
//! only its SHA-256, so a leaked database leaks no usable key. The admin key from configuration
//! is compared in constant time and acts for no account.

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use base64::Engine;
use rand::RngCore;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use shared::domain::Account;
use shared::store::NewApiKey;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// Prefix of every key, so leaked keys are easy to recognise.
const KEY_PREFIX: &str = "mk_";

/// Generates a new key: the secret for the caller and what the store keeps.
pub fn generate_key() -> (String, NewApiKey) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let key = format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let stored = NewApiKey {
        hash: hash_key(&key),
        prefix: key.chars().take(10).collect(),
    };
    (key, stored)
}

fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Whoever sent the request.
#[derive(Debug, Clone)]
pub enum Caller {
    /// An account's key.
    Account(Account),
    /// The operator's admin key.
    Admin,
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(token) = bearer(parts) {
            return authenticate(state, token).await;
        }
        // A signed-in browser reads with its dashboard cookie (event streams, plots, exports).
        let token = crate::web::auth::read_key(parts, state).ok_or(ApiError::Unauthorized)?;
        authenticate(state, &token).await
    }
}

/// The caller a key stands for: the admin key (compared in constant time) or an account's.
///
/// # Errors
/// 401 for an unknown key; a store failure.
pub(crate) async fn authenticate(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    if let Some(admin) = &state.settings.api.admin_key
        && bool::from(admin.expose_secret().as_bytes().ct_eq(token.as_bytes()))
    {
        return Ok(Caller::Admin);
    }
    if !token.starts_with(KEY_PREFIX) || token.len() > 128 {
        return Err(ApiError::Unauthorized);
    }
    match state.store.account_by_key_hash(&hash_key(token)).await? {
        Some(account) => Ok(Caller::Account(account)),
        None => Err(ApiError::Unauthorized),
    }
}

/// A caller allowed to read `GET /metrics`: the metrics token or the admin key as a bearer
/// token (compared in constant time). With neither configured, anyone.
#[derive(Debug, Clone, Copy)]
pub struct MetricsReader;

impl FromRequestParts<AppState> for MetricsReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let api = &state.settings.api;
        let accepted: Vec<&str> = [&api.metrics_token, &api.admin_key]
            .into_iter()
            .flatten()
            .map(|k| k.expose_secret())
            .collect();
        if accepted.is_empty() {
            return Ok(MetricsReader);
        }
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        // Every candidate is compared, so the time taken does not say which one matched.
        let matched = accepted.iter().fold(0u8, |m, k| {
            m | k.as_bytes().ct_eq(token.as_bytes()).unwrap_u8()
        });
        if matched == 1 {
            Ok(MetricsReader)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

/// A caller that must be an account (the admin key acts for nobody).
#[derive(Debug, Clone)]
pub struct AccountCaller(pub Account);

impl FromRequestParts<AppState> for AccountCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Account(a) => Ok(AccountCaller(a)),
            Caller::Admin => Err(ApiError::Forbidden(
                "the admin key acts for no account; use an account's key".into(),
            )),
        }
    }
}

/// A caller that must hold the admin key.
#[derive(Debug, Clone, Copy)]
pub struct AdminCaller;

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Admin => Ok(AdminCaller),
            // Operator routes do not exist for accounts (a 403 would map them).
            Caller::Account(_) => Err(ApiError::NotFound("route")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_only_their_hash_is_kept() {
        let (a, stored_a) = generate_key();
        let (b, _) = generate_key();
        assert_ne!(a, b);
        assert!(a.starts_with("mk_") && a.len() == 46, "{a}");
        assert_eq!(stored_a.hash, hash_key(&a));
        assert!(
            !stored_a.hash.contains(&a[3..]),
            "the key itself is not stored"
        );
    }
}
