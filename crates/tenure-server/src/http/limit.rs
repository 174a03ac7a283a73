//! Rate limits on activation, per client address and overall, so a stranger cannot try keys
//! quickly: over either limit the answer is 429 with `Retry-After`. Repeated refused activations
//! from one address are logged as a warning naming the address (never the keys tried).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::HttpError;
use crate::AppState;

/// How many activations are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivationLimits {
    /// Per client address, per minute (sustained).
    pub per_address_per_minute: u32,
    /// Per client address, at once.
    pub per_address_burst: u32,
    /// From everyone together, per second (sustained).
    pub global_per_second: u32,
    /// From everyone together, at once.
    pub global_burst: u32,
}

impl Default for ActivationLimits {
    /// A site activating its workstations stays far below these; a key guesser is slowed to
    /// ten tries a minute per address.
    fn default() -> Self {
        Self {
            per_address_per_minute: 10,
            per_address_burst: 20,
            global_per_second: 50,
            global_burst: 200,
        }
    }
}

/// Refused activations from one address within a minute before each is logged as a warning.
const WARN_AFTER_REFUSALS: u64 = 3;

/// The limiters' state, shared by every request.
pub struct ActivationLimiter {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    global: DefaultDirectRateLimiter,
    refusals: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl std::fmt::Debug for ActivationLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ActivationLimiter")
    }
}

fn non_zero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl ActivationLimiter {
    /// Limiters for `limits`.
    pub fn new(limits: ActivationLimits) -> Arc<Self> {
        let per_address = Quota::per_minute(non_zero(limits.per_address_per_minute))
            .allow_burst(non_zero(limits.per_address_burst));
        let global = Quota::per_second(non_zero(limits.global_per_second))
            .allow_burst(non_zero(limits.global_burst));
        // Counts refusals: the warning starts once this small bucket is empty.
        let refusals = Quota::per_minute(non_zero(u32::try_from(WARN_AFTER_REFUSALS).unwrap_or(3)));
        Arc::new(Self {
            per_address: RateLimiter::keyed(per_address),
            global: RateLimiter::direct(global),
            refusals: RateLimiter::keyed(refusals),
            checks: AtomicU64::new(0),
        })
    }

    /// `Ok` to go ahead, or how long to wait.
    fn check(&self, address: IpAddr) -> Result<(), Duration> {
        // Forget idle addresses now and then, so a scan of many addresses cannot grow memory
        // without bound.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.per_address.retain_recent();
            self.refusals.retain_recent();
        }
        let now = DefaultClock::default().now();
        self.per_address
            .check_key(&address)
            .map_err(|wait| wait.wait_time_from(now))?;
        self.global.check().map_err(|wait| wait.wait_time_from(now))
    }

    /// Notes a refused activation; true when this address has been refused repeatedly.
    fn refused(&self, address: IpAddr) -> bool {
        self.refusals.check_key(&address).is_err()
    }
}

/// The client's address: the socket peer (unknown when served without connection info).
fn client_address(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip())
}

/// Middleware on `POST /v1/activations`.
pub async fn activations(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let address = client_address(&request);
    if let Err(wait) = state.activation_limiter.check(address) {
        let secs = wait.as_secs().max(1);
        tracing::warn!(%address, retry_after_secs = secs, "activation rate limit reached");
        let mut response = HttpError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many activation attempts: try again in {secs} s"),
        )
        .into_response();
        if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::FORBIDDEN && state.activation_limiter.refused(address) {
        tracing::warn!(%address, "repeated refused activations (wrong or unusable keys) from this address");
    }
    response
}
