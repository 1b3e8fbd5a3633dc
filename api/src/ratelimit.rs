//! Request rates: each key gets a token bucket (`rate_limit_per_sec` sustained, `rate_limit_burst`
//! at once); requests without a key count against their client address, and account creation has
//! its own hourly bucket per address (`signups_per_hour`), since every account brings fresh
//! quotas. Over a limit: 429 problem+json with `Retry-After`, before any work or store access.
//!
//! The buckets live in this process (GCRA from `governor`, one timestamp per key): each API
//! replica counts on its own. A key is identified by a hash of what was sent, so no secret is
//! kept and an unknown key is limited like a known one.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use sha2::{Digest, Sha256};
use shared::config::ApiSettings;

use crate::error::ApiError;

/// Whose bucket a request draws from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Who {
    /// The first 16 bytes of the SHA-256 of the bearer token sent.
    Key([u8; 16]),
    /// The client address, for requests without a key.
    Address(IpAddr),
}

/// The API's request-rate limiters.
pub struct RateLimits {
    requests: Option<DefaultKeyedRateLimiter<Who>>,
    signups: Option<DefaultKeyedRateLimiter<IpAddr>>,
    checks: AtomicU64,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("requests", &self.requests.is_some())
            .field("signups", &self.signups.is_some())
            .finish()
    }
}

/// Past this many tracked keys, buckets that have refilled are dropped (checked every 4,096
/// requests), so a flood of made-up keys costs bounded memory.
const PRUNE_ABOVE: usize = 50_000;

impl RateLimits {
    /// The limiters the settings ask for (none when a limit is 0).
    pub fn new(api: &ApiSettings) -> Self {
        let requests = NonZeroU32::new(api.rate_limit_per_sec).map(|rate| {
            let burst = NonZeroU32::new(api.rate_limit_burst).unwrap_or(rate);
            DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        let signups = NonZeroU32::new(api.signups_per_hour)
            .map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_hour(n).allow_burst(n)));
        Self {
            requests,
            signups,
            checks: AtomicU64::new(0),
        }
    }

    /// `Err(wait)` when `who` is over its rate.
    fn check_request(&self, who: &Who) -> Result<(), Duration> {
        let Some(limiter) = &self.requests else {
            return Ok(());
        };
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(4_096)
            && limiter.len() > PRUNE_ABOVE
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        check(limiter, who)
    }

    fn check_signup(&self, address: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = &self.signups else {
            return Ok(());
        };
        check(limiter, &address)
    }
}

/// `Err(wait)` when `key` is over `limiter`'s rate.
fn check<K: Clone + Eq + std::hash::Hash>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
) -> Result<(), Duration> {
    limiter
        .check_key(key)
        .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

fn who(req: &Request) -> Who {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes)
        .filter(|v| !v.is_empty());
    match token {
        Some(token) => {
            let digest = Sha256::digest(token);
            let mut id = [0u8; 16];
            id.copy_from_slice(&digest[..16]);
            Who::Key(id)
        }
        None => Who::Address(address(req)),
    }
}

fn address(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// Middleware: refuses a request over its key's (or address') rate, and an account creation over
/// its address' hourly allowance. The probes and `/metrics` are not limited.
pub async fn limit(State(limits): State<Arc<RateLimits>>, req: Request, next: Next) -> Response {
    if crate::openapi::UNLIMITED_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let checked = limits.check_request(&who(&req)).and_then(|()| {
        if req.method() == Method::POST && req.uri().path() == "/v1/accounts" {
            limits.check_signup(address(&req))
        } else {
            Ok(())
        }
    });
    match checked {
        Ok(()) => next.run(req).await,
        Err(wait) => too_many(wait),
    }
}

fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    crate::metrics::rate_limited();
    let mut res = ApiError::RateLimited { retry_after: secs }.into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(rate: u32, burst: u32, signups: u32) -> ApiSettings {
        ApiSettings {
            rate_limit_per_sec: rate,
            rate_limit_burst: burst,
            signups_per_hour: signups,
            ..ApiSettings::default()
        }
    }

    #[test]
    fn a_key_gets_its_burst_then_waits_and_others_are_unaffected() {
        let limits = RateLimits::new(&settings(1, 3, 0));
        let alice = Who::Key([1; 16]);
        for _ in 0..3 {
            assert_eq!(limits.check_request(&alice), Ok(()));
        }
        let wait = limits.check_request(&alice).expect_err("over the burst");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert_eq!(limits.check_request(&Who::Key([2; 16])), Ok(()));
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let limits = RateLimits::new(&settings(0, 0, 0));
        for _ in 0..10_000 {
            assert_eq!(limits.check_request(&Who::Key([1; 16])), Ok(()));
            assert_eq!(limits.check_signup(IpAddr::V4(Ipv4Addr::LOCALHOST)), Ok(()));
        }
    }

    #[test]
    fn signups_are_counted_per_address_per_hour() {
        let limits = RateLimits::new(&settings(0, 0, 2));
        let here = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(limits.check_signup(here), Ok(()));
        assert_eq!(limits.check_signup(here), Ok(()));
        let wait = limits.check_signup(here).expect_err("third in the hour");
        assert!(
            wait > Duration::from_secs(60),
            "waits for the hour to refill: {wait:?}"
        );
        assert_eq!(
            limits.check_signup(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            Ok(())
        );
    }
}
