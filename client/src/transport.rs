//! The client and how one call travels: the key, retries with backoff, problem decoding.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Problem};
use crate::types::Signup;

/// When a call is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (1: never retried).
    pub attempts: u32,
    /// Wait before the first retry; doubled each time, with jitter, at most 10 s (a server's
    /// `Retry-After` wins when it says longer).
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            backoff: Duration::from_millis(250),
        }
    }
}

/// Which failures a call may be retried after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Safety {
    /// A read: any transport failure, 429, 502, 503, 504.
    Read,
    /// Carries an `Idempotency-Key`, so a replay is answered with the first outcome: as a read.
    Idempotent,
    /// May act twice if replayed: only what the server refused before acting (429, 503, a
    /// connection never made).
    Once,
}

/// A marketplace account's handle on the API. Cheap to clone (one connection pool).
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
    retry: RetryPolicy,
    page_size: u32,
}

impl Client {
    /// A client of the server at `base_url` (`http://127.0.0.1:8080`) acting as the account
    /// whose API key is `api_key`.
    ///
    /// # Errors
    /// [`Error::Config`] when `base_url` is not an http(s) URL.
    pub fn new(base_url: &str, api_key: impl Into<String>) -> Result<Self, Error> {
        let mut c = Self::anonymous(base_url)?;
        c.key = Some(api_key.into());
        Ok(c)
    }

    /// A client without a key: it can only sign up ([`Client::signup`]) and read what is
    /// public.
    ///
    /// # Errors
    /// [`Error::Config`] when `base_url` is not an http(s) URL.
    pub fn anonymous(base_url: &str) -> Result<Self, Error> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base)
            .map_err(|e| Error::Config(format!("server address {base_url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(Error::Config(format!(
                "server address {base_url:?}: expected http://host:port"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("marketplace-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(e.to_string()))?;
        Ok(Self {
            http,
            base,
            key: None,
            retry: RetryPolicy::default(),
            page_size: 100,
        })
    }

    /// Creates an account named `name` on the server at `base_url` and returns a client acting
    /// as it (its key: [`Client::api_key`]; it is shown only once, keep it).
    ///
    /// # Errors
    /// [`Error::Api`] when the server refuses (a bad name, too many sign-ups from here).
    pub async fn signup(base_url: &str, name: &str) -> Result<Self, Error> {
        let anonymous = Self::anonymous(base_url)?;
        let created: Signup = anonymous
            .call(
                Method::POST,
                "/v1/accounts",
                Some(&serde_json::json!({ "name": name })),
                Safety::Once,
            )
            .await?;
        Ok(Self {
            key: Some(created.api_key),
            ..anonymous
        })
    }

    /// The same client with another retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The same client fetching listings `size` items a page (1..=100; 100 by default).
    #[must_use]
    pub fn with_page_size(mut self, size: u32) -> Self {
        self.page_size = size.clamp(1, 100);
        self
    }

    pub(crate) fn page_size(&self) -> u32 {
        self.page_size
    }

    /// The server's address.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The API key this client sends.
    pub fn api_key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_with(method, path, &[])
    }

    /// A request of `path` with the query `params` (percent-encoded).
    pub(crate) fn request_with(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, String)],
    ) -> RequestBuilder {
        let url = format!("{}{path}", self.base);
        let url = match reqwest::Url::parse(&url) {
            Ok(mut u) if !params.is_empty() => {
                u.query_pairs_mut()
                    .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
                u.to_string()
            }
            _ => url,
        };
        let req = self.http.request(method, url);
        match &self.key {
            Some(k) => req.bearer_auth(k),
            None => req,
        }
    }

    /// Sends `method path` with a JSON `body`, retried as `safety` allows, and decodes the
    /// answer as `T` (a problem answer is [`Error::Api`]).
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        safety: Safety,
    ) -> Result<T, Error> {
        let idempotency_key =
            (safety == Safety::Idempotent).then(|| uuid::Uuid::new_v4().to_string());
        let res = self
            .send_with_retries(safety, || {
                let mut req = self.request(method.clone(), path);
                if let Some(k) = &idempotency_key {
                    req = req.header("Idempotency-Key", k);
                }
                if let Some(b) = body {
                    req = req.json(b);
                }
                req
            })
            .await?;
        decode(res).await
    }

    /// `GET path` with query `params`, decoded as `T`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<T, Error> {
        let res = self
            .send_with_retries(Safety::Read, || {
                self.request_with(Method::GET, path, params)
            })
            .await?;
        decode(res).await
    }

    /// Sends what `build` makes until an answer that is not retried under `safety`, or the
    /// policy's attempts are spent.
    pub(crate) async fn send_with_retries(
        &self,
        safety: Safety,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.retry.attempts.max(1);
            let wait = match build().send().await {
                Ok(res) if !last && retried_status(res.status(), safety) => {
                    retry_after(&res).unwrap_or_else(|| self.backoff(attempt))
                }
                Ok(res) => return Ok(res),
                Err(e) if !last && retried_failure(&e, safety) => self.backoff(attempt),
                Err(e) => return Err(Error::Transport(e)),
            };
            tokio::time::sleep(wait).await;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.retry.backoff.as_millis() as u64;
        let exp = base.saturating_mul(1 << (attempt - 1).min(6)).min(10_000);
        // Full jitter: clients that failed together do not come back together.
        Duration::from_millis(rand::random_range(exp / 2..=exp.max(1)))
    }
}

fn retried_status(status: StatusCode, safety: Safety) -> bool {
    match safety {
        Safety::Read | Safety::Idempotent => matches!(status.as_u16(), 429 | 502 | 503 | 504),
        Safety::Once => matches!(status.as_u16(), 429 | 503),
    }
}

fn retried_failure(e: &reqwest::Error, safety: Safety) -> bool {
    match safety {
        Safety::Read | Safety::Idempotent => e.is_connect() || e.is_timeout() || e.is_request(),
        Safety::Once => e.is_connect(),
    }
}

fn retry_after(res: &Response) -> Option<Duration> {
    let secs: u64 = res
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(30)))
}

/// A success as `T`, a problem as [`Error::Api`].
pub(crate) async fn decode<T: DeserializeOwned>(res: Response) -> Result<T, Error> {
    let res = check(res).await?;
    let status = res.status().as_u16();
    let bytes = res.bytes().await.map_err(Error::Transport)?;
    // `()` and other unit answers (204) read from `null`.
    let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
    serde_json::from_slice(bytes).map_err(|e| Error::Unexpected {
        status,
        message: e.to_string(),
    })
}

/// The response when it is a success, its problem as [`Error::Api`] otherwise.
pub(crate) async fn check(res: Response) -> Result<Response, Error> {
    let status = res.status();
    if status.is_success() {
        return Ok(res);
    }
    let bytes = res.bytes().await.map_err(Error::Transport)?;
    match serde_json::from_slice::<Problem>(&bytes) {
        Ok(p) => Err(Error::Api(Box::new(p))),
        Err(_) => Err(Error::Unexpected {
            status: status.as_u16(),
            message: String::from_utf8_lossy(&bytes).chars().take(300).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A server that answers `answers` in turn (status and body), one per connection, and
    /// keeps each request's head.
    async fn server(answers: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bound");
        let addr = listener.local_addr().expect("address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let kept = seen.clone();
        tokio::spawn(async move {
            for (status, body) in answers {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = vec![0u8; 8192];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                kept.lock()
                    .expect("lock")
                    .push(String::from_utf8_lossy(&buf[..n]).to_lowercase());
                let kind = if status >= 400 {
                    "application/problem+json"
                } else {
                    "application/json"
                };
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            }
        });
        (format!("http://{addr}"), seen)
    }

    fn fast(client: Client) -> Client {
        client.with_retry(RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(5),
        })
    }

    const PROBLEM_503: &str =
        r#"{"type":"/problems/unavailable","title":"Unavailable","status":503,"detail":"busy"}"#;

    fn idempotency_key(head: &str) -> Option<String> {
        head.lines()
            .find_map(|l| l.strip_prefix("idempotency-key: "))
            .map(str::to_owned)
    }

    #[tokio::test]
    async fn a_money_call_is_retried_with_the_same_idempotency_key() {
        let (url, seen) = server(vec![(503, PROBLEM_503), (503, PROBLEM_503), (200, "{}")]).await;
        let c = fast(Client::new(&url, "k").expect("client"));
        let _: Value = c
            .call(
                Method::POST,
                "/v1/subscriptions",
                Some(&serde_json::json!({})),
                Safety::Idempotent,
            )
            .await
            .expect("the third attempt answers");
        let heads = seen.lock().expect("lock").clone();
        assert_eq!(heads.len(), 3);
        let keys: Vec<_> = heads.iter().map(|h| idempotency_key(h)).collect();
        assert!(keys[0].is_some(), "{}", heads[0]);
        assert!(
            keys.iter().all(|k| *k == keys[0]),
            "one key for every attempt: {keys:?}"
        );
        assert!(heads[0].contains("authorization: bearer k"));
    }

    #[tokio::test]
    async fn a_call_that_may_act_twice_is_not_retried_after_a_bad_gateway() {
        let bad_gateway =
            r#"{"type":"/problems/x","title":"Bad gateway","status":502,"detail":"upstream"}"#;
        let (url, seen) = server(vec![(502, bad_gateway), (200, "{}")]).await;
        let c = fast(Client::new(&url, "k").expect("client"));
        let e = c
            .call::<Value>(Method::POST, "/v1/tools", None, Safety::Once)
            .await
            .expect_err("not retried");
        assert_eq!(e.status(), Some(502));
        assert_eq!(e.problem().map(|p| p.detail.as_str()), Some("upstream"));
        assert_eq!(seen.lock().expect("lock").len(), 1);
        assert!(idempotency_key(&seen.lock().expect("lock")[0]).is_none());
    }

    #[tokio::test]
    async fn a_read_is_retried_until_the_attempts_are_spent() {
        let (url, seen) = server(vec![(503, PROBLEM_503); 3]).await;
        let c = fast(Client::new(&url, "k").expect("client"));
        let e = c.get::<Value>("/v1/tools", &[]).await.expect_err("spent");
        assert_eq!(e.status(), Some(503));
        assert_eq!(seen.lock().expect("lock").len(), 3);
    }

    #[tokio::test]
    async fn an_answer_that_is_not_a_problem_is_unexpected() {
        let (url, _) = server(vec![(500, "<html>oops</html>")]).await;
        let c = fast(Client::new(&url, "k").expect("client"));
        let e = c.get::<Value>("/x", &[]).await.expect_err("not ours");
        assert!(
            matches!(&e, Error::Unexpected { status: 500, message } if message.contains("oops")),
            "{e:?}"
        );
    }
}
