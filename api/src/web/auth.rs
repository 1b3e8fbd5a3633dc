//! Dashboard sign-in. A person signs in with an API key (or the operator's admin key); the key
//! is kept in one cookie, encrypted and authenticated (AES-256-GCM, the `cookie` crate's private
//! jar) with a key derived from `api.session_secret`, and sent back `HttpOnly`, `Secure`,
//! `SameSite=Lax` and `__Host-` prefixed. Every request re-checks the key exactly as a bearer
//! header would be checked, so revoking a key signs its browser sessions out too.
//!
//! The cookie also carries a random CSRF token that every form of the dashboard repeats in a
//! hidden field; a form whose token does not match changes nothing. The JSON API accepts the
//! cookie on reads only (`GET`/`HEAD`: event streams, plots, exports), so a cross-site page can
//! never make a signed-in browser write through it.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, Key, PrivateCookieJar, SameSite};
use rand::RngCore;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};
use shared::config::ApiSettings;
use subtle::ConstantTimeEq;

use crate::auth::{Caller, authenticate};
use crate::error::ApiError;
use crate::state::AppState;

/// The sign-in cookie's name (`__Host-`: secure, whole site, no domain).
pub const COOKIE: &str = "__Host-marketplace";
/// How long a sign-in lasts.
const MAX_AGE: chrono::TimeDelta = chrono::TimeDelta::hours(12);

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Self {
        state.cookie_key.clone()
    }
}

/// The key cookies are encrypted with: derived from the configured secret, else random (sign-ins
/// then last as long as the process).
pub fn cookie_key(api: &ApiSettings) -> Key {
    match &api.session_secret {
        Some(secret) => Key::from(&Sha512::digest(secret.expose_secret().as_bytes())),
        None => Key::generate(),
    }
}

/// What the cookie holds.
#[derive(Serialize, Deserialize)]
struct Payload {
    key: String,
    csrf: String,
    expires: i64,
}

/// A signed-in person: who they are to the API, and their form token.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The caller, checked as a bearer key would be.
    pub caller: Caller,
    /// The token every form must repeat.
    pub csrf: String,
}

impl SignedIn {
    /// The account's name, or `operator` for the admin key.
    pub fn name(&self) -> &str {
        match &self.caller {
            Caller::Account(a) => &a.name,
            Caller::Admin => "operator",
        }
    }

    /// Whether the admin key signed in.
    pub fn is_admin(&self) -> bool {
        matches!(self.caller, Caller::Admin)
    }

    /// Refuses a form whose token is not this sign-in's (compared in constant time).
    ///
    /// # Errors
    /// 403 when it does not match.
    pub fn check_csrf(&self, token: &str) -> Result<(), ApiError> {
        if bool::from(self.csrf.as_bytes().ct_eq(token.as_bytes())) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "the form's token does not match this sign-in; reload the page and try again"
                    .into(),
            ))
        }
    }
}

/// A new sign-in cookie for `key`.
pub fn sign_in(jar: PrivateCookieJar, key: &str) -> PrivateCookieJar {
    let mut csrf = [0u8; 24];
    rand::rng().fill_bytes(&mut csrf);
    let payload = Payload {
        key: key.to_owned(),
        csrf: hex::encode(csrf),
        expires: (chrono::Utc::now() + MAX_AGE).timestamp(),
    };
    let value = serde_json::to_string(&payload).unwrap_or_default();
    let cookie = Cookie::build((COOKIE, value))
        .path("/")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .build();
    jar.add(cookie)
}

/// The jar without the sign-in cookie.
pub fn sign_out(jar: PrivateCookieJar) -> PrivateCookieJar {
    jar.remove(Cookie::build(COOKIE).path("/"))
}

fn payload(jar: &PrivateCookieJar) -> Option<Payload> {
    let cookie = jar.get(COOKIE)?;
    let payload: Payload = serde_json::from_str(cookie.value()).ok()?;
    (payload.expires > chrono::Utc::now().timestamp()).then_some(payload)
}

/// The API key of the request's sign-in cookie, for reads of the JSON API (`GET` and `HEAD`
/// only; a write must carry its key in the `Authorization` header).
pub(crate) fn read_key(parts: &Parts, state: &AppState) -> Option<String> {
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return None;
    }
    let jar = PrivateCookieJar::from_headers(&parts.headers, state.cookie_key.clone());
    payload(&jar).map(|p| p.key)
}

/// The answer to a page that needs a sign-in: to the sign-in page, coming back afterwards.
pub struct ToSignIn(String);

impl IntoResponse for ToSignIn {
    fn into_response(self) -> Response {
        let next = super::percent_encode(&self.0);
        (
            StatusCode::SEE_OTHER,
            [(
                axum::http::header::LOCATION,
                format!("/sign-in?next={next}"),
            )],
        )
            .into_response()
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let here = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let jar = PrivateCookieJar::from_headers(&parts.headers, state.cookie_key.clone());
        let Some(p) = payload(&jar) else {
            return Err(ToSignIn(here).into_response());
        };
        match authenticate(state, &p.key).await {
            Ok(caller) => Ok(SignedIn {
                caller,
                csrf: p.csrf,
            }),
            Err(ApiError::Unauthorized) => Err((sign_out(jar), ToSignIn(here)).into_response()),
            Err(e) => Err(super::PageError::from(e).into_response()),
        }
    }
}

/// Where to go after signing in: a local path of visible ASCII only (never another site:
/// browsers drop tabs and line breaks from a URL, so `/\t/evil.example` would become
/// `//evil.example`; and a `Location` header holds nothing else). The pages' own links are
/// percent-encoded, so they pass.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.chars().all(|c| c.is_ascii_graphic()) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/tools?x=1")), "/tools?x=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/\n/evil.example")), "/");
        assert_eq!(safe_next(Some("/caf\u{e9}")), "/", "not a header value");
        assert_eq!(safe_next(None), "/");
    }

    fn sent_back(jar: PrivateCookieJar) -> axum::http::HeaderMap {
        let res = jar.into_response();
        let set = res
            .headers()
            .get(axum::http::header::SET_COOKIE)
            .expect("a cookie is set")
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            set.contains("HttpOnly") && set.contains("Secure") && set.contains("SameSite=Lax"),
            "{set}"
        );
        let pair = set.split(';').next().expect("name=value").to_owned();
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(axum::http::header::COOKIE, pair.parse().expect("header"));
        headers
    }

    #[test]
    fn a_cookie_reads_back_only_with_its_key_and_untouched() {
        let key = Key::generate();
        let secret = "mk_0123456789abcdef0123456789abcdef0123456789a";
        let headers = sent_back(sign_in(PrivateCookieJar::new(key.clone()), secret));
        let raw = headers[axum::http::header::COOKIE].to_str().expect("ascii");
        assert!(
            !raw.contains("mk_"),
            "the key is not readable in the cookie: {raw}"
        );
        let read = payload(&PrivateCookieJar::from_headers(&headers, key.clone()));
        assert_eq!(read.map(|p| p.key).as_deref(), Some(secret));
        assert!(
            payload(&PrivateCookieJar::from_headers(&headers, Key::generate())).is_none(),
            "another server's key does not open it"
        );
        let mut tampered = raw.to_owned();
        let last = tampered.pop().expect("non-empty");
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        let mut forged = axum::http::HeaderMap::new();
        forged.insert(
            axum::http::header::COOKIE,
            tampered.parse().expect("header"),
        );
        assert!(
            payload(&PrivateCookieJar::from_headers(&forged, key)).is_none(),
            "a changed cookie is refused"
        );
    }
}
