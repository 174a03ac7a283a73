//! Rate limits on activation, per client address and overall, so a stranger cannot try keys
//! quickly: over either limit the answer is 429 with `Retry-After`. Repeated refused activations
//! from one address are logged as a warning naming the address (never the keys tried).
//!
//! Who the client is: the socket's peer, or — only when the peer is a proxy named with
//! `serve --trusted-proxy` — the nearest address in `Forwarded`/`X-Forwarded-For` that is not
//! such a proxy. An IPv6 client counts by its /64 (one customer's network hands out endless
//! addresses), an IPv4 client by its address. A flood cannot lock customers out: once the
//! anonymous budgets are spent, an activation carrying a valid account token still goes ahead,
//! within a budget of that account's own.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

use super::error::HttpError;
use crate::AppState;

/// How many activations are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivationLimits {
    /// Per client address (IPv6: per /64), per minute (sustained). Also each account's own
    /// budget once the anonymous ones are spent.
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
    limits: ActivationLimits,
    trusted_proxies: Vec<IpNet>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    per_account: DefaultKeyedRateLimiter<String>,
    global: DefaultDirectRateLimiter,
    refusals: DefaultKeyedRateLimiter<IpAddr>,
    /// Console sign-ins per client address, a budget of their own at the per-address rate:
    /// each costs the server an argon2 hash, so a stranger cycling through names is slowed.
    sign_ins: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl std::fmt::Debug for ActivationLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivationLimiter")
            .field("limits", &self.limits)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish_non_exhaustive()
    }
}

fn non_zero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl ActivationLimiter {
    /// Limiters for `limits`, believing forwarded client addresses only from `trusted_proxies`.
    pub fn new(limits: ActivationLimits, trusted_proxies: Vec<IpNet>) -> Arc<Self> {
        let per_address = Quota::per_minute(non_zero(limits.per_address_per_minute))
            .allow_burst(non_zero(limits.per_address_burst));
        let global = Quota::per_second(non_zero(limits.global_per_second))
            .allow_burst(non_zero(limits.global_burst));
        // Counts refusals: the warning starts once this small bucket is empty.
        let refusals = Quota::per_minute(non_zero(u32::try_from(WARN_AFTER_REFUSALS).unwrap_or(3)));
        Arc::new(Self {
            limits,
            trusted_proxies,
            per_address: RateLimiter::keyed(per_address),
            per_account: RateLimiter::keyed(per_address),
            global: RateLimiter::direct(global),
            refusals: RateLimiter::keyed(refusals),
            sign_ins: RateLimiter::keyed(per_address),
            checks: AtomicU64::new(0),
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> ActivationLimits {
        self.limits
    }

    /// The proxies whose forwarded addresses are believed.
    pub fn trusted_proxies(&self) -> &[IpNet] {
        &self.trusted_proxies
    }

    /// `Ok` to go ahead, or how long to wait.
    fn check(&self, client: IpAddr) -> Result<(), Duration> {
        // Forget idle addresses now and then, so a scan of many addresses cannot grow memory
        // without bound.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.per_address.retain_recent();
            self.per_account.retain_recent();
            self.refusals.retain_recent();
            self.sign_ins.retain_recent();
        }
        let now = DefaultClock::default().now();
        self.per_address
            .check_key(&client)
            .map_err(|wait| wait.wait_time_from(now))?;
        self.global.check().map_err(|wait| wait.wait_time_from(now))
    }

    /// `Ok` when `client` may try one more console sign-in, or how long to wait.
    fn check_sign_in(&self, client: IpAddr) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.sign_ins.retain_recent();
        }
        let now = DefaultClock::default().now();
        self.sign_ins
            .check_key(&client)
            .map_err(|wait| wait.wait_time_from(now))
    }

    /// `Ok` when the account's own budget allows one more activation.
    fn check_account(&self, account: &str) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        self.per_account
            .check_key(&account.to_owned())
            .map_err(|wait| wait.wait_time_from(now))
    }

    /// Notes a refused activation; true when this address has been refused repeatedly.
    fn refused(&self, client: IpAddr) -> bool {
        self.refusals.check_key(&client).is_err()
    }

    fn is_trusted_proxy(&self, address: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|net| net.contains(&address))
    }

    /// Who sent `request`: the peer, or behind trusted proxies the nearest forwarded address
    /// that is not one of them.
    pub fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.is_trusted_proxy(peer) {
            return peer;
        }
        let chain = forwarded_chain(headers);
        for hop in chain.iter().rev() {
            match hop {
                Some(address) if self.is_trusted_proxy(*address) => {}
                Some(address) => return *address,
                // An address hidden or damaged by the proxies: the proxy itself stands for it,
                // which limits more, never less.
                None => return peer,
            }
        }
        peer
    }
}

/// The key a client is counted under: an IPv4 address, or an IPv6 address's /64.
pub fn limit_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                IpAddr::V4(v4)
            } else {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        }
    }
}

/// The client addresses the proxies recorded, farthest first: `Forwarded`'s `for=` values if
/// the request has that header, else `X-Forwarded-For`'s. `None` for a hop that is not an
/// address (`unknown`, an obfuscated name, garbage).
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>()
    };
    let forwarded = values(header::FORWARDED.as_str());
    if !forwarded.is_empty() {
        return forwarded
            .into_iter()
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, value)| parse_node(value))
            })
            .collect();
    }
    values("x-forwarded-for")
        .into_iter()
        .map(parse_node)
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Some(rest) = text.strip_prefix('[') {
        return rest
            .split_once(']')?
            .0
            .parse::<Ipv6Addr>()
            .ok()
            .map(IpAddr::V6);
    }
    text.parse::<IpAddr>().ok().or_else(|| {
        text.rsplit_once(':')
            .and_then(|(host, _port)| host.parse::<Ipv4Addr>().ok())
            .map(IpAddr::V4)
    })
}

/// The socket peer (unknown when served without connection info).
fn peer_address(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip())
}

/// The account the request proves with `Bearer ACCOUNT:TOKEN`, if it proves one.
async fn proven_account(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let (account, token) = value.split_once(':')?;
    state
        .vendor
        .accounts()
        .authenticate(account, token)
        .await
        .ok()
        .map(|()| account.to_owned())
}

/// 429 with `Retry-After`: too many `what` (`activation attempts`) from this client.
fn too_many(what: &str, wait: Duration) -> Response {
    let secs = wait.as_secs().max(1);
    let mut response = HttpError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many {what}: try again in {secs} s"),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Middleware on `POST /v1/activations`.
pub async fn activations(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limiter = &state.activation_limiter;
    let client = limiter.client_of(peer_address(&request), request.headers());
    let key = limit_key(client);
    if let Err(wait) = limiter.check(key) {
        // The anonymous budgets are spent; the account's own customers still get through.
        let within_account = match proven_account(&state, request.headers()).await {
            Some(account) => limiter.check_account(&account),
            None => Err(wait),
        };
        if let Err(wait) = within_account {
            tracing::warn!(client = %key, retry_after_secs = wait.as_secs().max(1), "activation rate limit reached");
            return too_many("activation attempts", wait);
        }
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::FORBIDDEN && limiter.refused(key) {
        tracing::warn!(client = %key, "repeated refused activations (wrong or unusable keys) from this address");
    }
    response
}

/// Middleware on `POST /console/sign-in`: the per-name limit (in the staff service) cannot
/// stop a stranger who tries a new name each time, so each client address has a budget too.
pub async fn sign_ins(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limiter = &state.activation_limiter;
    let key = limit_key(limiter.client_of(peer_address(&request), request.headers()));
    if let Err(wait) = limiter.check_sign_in(key) {
        tracing::warn!(client = %key, "console sign-in rate limit reached");
        return too_many("sign-in attempts", wait);
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv6_clients_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            limit_key(ip("2001:db8:1:2:ffff:1:2:3")),
            limit_key(ip("2001:db8:1:2::9"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:3::1")),
            limit_key(ip("2001:db8:1:2::1"))
        );
        assert_eq!(limit_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(limit_key(ip("192.0.2.7")), ip("192.0.2.7"));
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let limiter = ActivationLimiter::new(
            ActivationLimits::default(),
            vec!["10.0.0.0/8".parse().unwrap()],
        );
        let forged = headers(&[("x-forwarded-for", "198.51.100.1")]);
        // From a stranger, the header is ignored.
        assert_eq!(
            limiter.client_of(ip("203.0.113.9"), &forged),
            ip("203.0.113.9")
        );
        // From the balancer, the nearest untrusted hop is the client, whatever the client
        // itself wrote before it (the leftmost entry is the client's own word).
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.1, 10.0.0.2")]);
        assert_eq!(
            limiter.client_of(ip("10.0.0.1"), &chain),
            ip("198.51.100.1")
        );
        let rfc7239 = headers(&[(
            "forwarded",
            r#"for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711""#,
        )]);
        assert_eq!(
            limiter.client_of(ip("10.0.0.1"), &rfc7239),
            ip("2001:db8:cafe::17")
        );
        let hidden = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(limiter.client_of(ip("10.0.0.1"), &hidden), ip("10.0.0.1"));
        let nothing = HeaderMap::new();
        assert_eq!(limiter.client_of(ip("10.0.0.1"), &nothing), ip("10.0.0.1"));
        assert_eq!(parse_node("\"192.0.2.43:47011\""), Some(ip("192.0.2.43")));
    }
}
