//! The license server's HTTP API, over reqwest with rustls and timeouts.
//!
//! Errors tell apart what a person must do differently: the server is unreachable (work
//! offline), the TLS handshake failed (a certificate problem), the server refused with a reason
//! (its message is passed on), or it answered something that is not Tenure's API.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tenure_core::protocol::{
    AccountLicense, ActivationRequest, ErrorBody, GraceExtensionRequest, Health, KeysResponse,
    LicenseResponse, RebindRequest, ValidationRequest,
};

/// Default time allowed for a whole request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Time allowed to open the connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request did not produce an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The server URL is not usable.
    #[error(
        "the server URL {url:?} is not valid: {reason}. Use a URL like https://licenses.example.com"
    )]
    BadUrl {
        /// As given.
        url: String,
        /// Why.
        reason: String,
    },
    /// No connection: offline, wrong address, server down.
    #[error("the license server is unreachable (offline, or the address is wrong): {url}")]
    Offline {
        /// The server.
        url: String,
    },
    /// The server took too long.
    #[error("the license server did not answer within {secs} s: {url}")]
    Timeout {
        /// The server.
        url: String,
        /// The limit.
        secs: u64,
    },
    /// The TLS handshake failed.
    #[error(
        "a secure connection to the license server could not be made (certificate problem): {detail}"
    )]
    Tls {
        /// What failed.
        detail: String,
    },
    /// The server refused, with its reason.
    #[error("the license server refused: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Stable code, e.g. `bound_elsewhere`.
        code: String,
        /// The server's sentence.
        message: String,
    },
    /// The license moved: its account activated it elsewhere. The notice is the server's
    /// signed word for it, which the workstation verifies before believing it.
    #[error("the license server refused: {message}")]
    Moved {
        /// The server's sentence.
        message: String,
        /// The signed `TENURE LICENSE MOVED` document.
        notice: String,
    },
    /// An answer that is not Tenure's API.
    #[error("the license server's answer could not be understood ({detail}): is the URL right?")]
    Malformed {
        /// What was wrong.
        detail: String,
    },
    /// Credentials are needed and none are stored.
    #[error("this needs the account's credentials: sign in first")]
    NotSignedIn,
    /// The account's token would travel unencrypted.
    #[error(
        "the account's token is not sent over plain http:// except to this computer: use the server's https:// address ({url})"
    )]
    InsecureCredentials {
        /// The server.
        url: String,
    },
}

impl ApiError {
    /// True when the server could not be reached at all (as opposed to refusing).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ApiError::Offline { .. } | ApiError::Timeout { .. })
    }
}

/// An account's credentials, sent as `Bearer ACCOUNT:TOKEN`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Credentials {
    /// Account name.
    pub account: String,
    /// Account token (secret).
    pub token: String,
}

impl std::fmt::Debug for Credentials {
    /// Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, token hidden)", self.account)
    }
}

/// A client for one license server.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: reqwest::Url,
    http: reqwest::Client,
    timeout: Duration,
}

impl ApiClient {
    /// A client for `base_url` with the default timeouts.
    pub fn new(base_url: &str) -> Result<Self, ApiError> {
        Self::with_options(base_url, DEFAULT_TIMEOUT, &[])
    }

    /// A client with a request timeout and extra trusted root certificates (PEM).
    pub fn with_options(
        base_url: &str,
        timeout: Duration,
        extra_roots_pem: &[Vec<u8>],
    ) -> Result<Self, ApiError> {
        let bad = |reason: String| ApiError::BadUrl {
            url: base_url.to_owned(),
            reason,
        };
        let base = reqwest::Url::parse(base_url.trim()).map_err(|e| bad(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad("it must start with http:// or https://".into()));
        }
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .tls_backend_rustls()
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .user_agent(concat!("tenure/", env!("CARGO_PKG_VERSION")));
        for pem in extra_roots_pem {
            let cert = reqwest::Certificate::from_pem(pem).map_err(|e| ApiError::Tls {
                detail: format!("the extra root certificate is not valid PEM: {e}"),
            })?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder.build().map_err(|e| ApiError::Tls {
            detail: e.to_string(),
        })?;
        Ok(Self {
            base,
            http,
            timeout,
        })
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// `GET /v1/health`
    pub async fn health(&self) -> Result<Health, ApiError> {
        self.send(self.http.get(self.url("v1/health")?)).await
    }

    /// `POST /v1/activations`; with the account's `credentials`, an activated key of that
    /// account is activated again.
    pub async fn activate(
        &self,
        req: &ActivationRequest,
        credentials: Option<&Credentials>,
    ) -> Result<LicenseResponse, ApiError> {
        self.post("v1/activations", req, credentials).await
    }

    /// `GET /v1/keys`: the signing key's certificate and the root's revocations.
    pub async fn keys(&self) -> Result<KeysResponse, ApiError> {
        self.send(self.http.get(self.url("v1/keys")?)).await
    }

    /// `POST /v1/validations`
    pub async fn validate(&self, req: &ValidationRequest) -> Result<LicenseResponse, ApiError> {
        self.post("v1/validations", req, None).await
    }

    /// `POST /v1/grace-extensions` (credentials required)
    pub async fn extend_grace(
        &self,
        req: &GraceExtensionRequest,
        credentials: &Credentials,
    ) -> Result<LicenseResponse, ApiError> {
        self.post("v1/grace-extensions", req, Some(credentials))
            .await
    }

    /// `POST /v1/rebinds` (credentials required)
    pub async fn rebind(
        &self,
        req: &RebindRequest,
        credentials: &Credentials,
    ) -> Result<LicenseResponse, ApiError> {
        self.post("v1/rebinds", req, Some(credentials)).await
    }

    /// `GET /v1/account/licenses` (credentials required)
    pub async fn account_licenses(
        &self,
        credentials: &Credentials,
    ) -> Result<Vec<AccountLicense>, ApiError> {
        self.check_credentials_may_travel()?;
        let request = self
            .http
            .get(self.url("v1/account/licenses")?)
            .bearer_auth(format!("{}:{}", credentials.account, credentials.token));
        self.send(request).await
    }

    fn url(&self, path: &str) -> Result<reqwest::Url, ApiError> {
        let mut base = self.base.clone();
        if !base.path().ends_with('/') {
            let with_slash = format!("{}/", base.path());
            base.set_path(&with_slash);
        }
        base.join(path).map_err(|e| ApiError::BadUrl {
            url: self.base.to_string(),
            reason: e.to_string(),
        })
    }

    async fn post<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        path: &str,
        body: &Req,
        credentials: Option<&Credentials>,
    ) -> Result<Resp, ApiError> {
        let mut request = self.http.post(self.url(path)?).json(body);
        if let Some(c) = credentials {
            self.check_credentials_may_travel()?;
            request = request.bearer_auth(format!("{}:{}", c.account, c.token));
        }
        self.send(request).await
    }

    /// Refuses to send a token over plain HTTP to anything but this machine.
    fn check_credentials_may_travel(&self) -> Result<(), ApiError> {
        let host = self
            .base
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if self.base.scheme() == "https" || loopback {
            Ok(())
        } else {
            Err(ApiError::InsecureCredentials {
                url: self.base.to_string(),
            })
        }
    }

    async fn send<Resp: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<Resp, ApiError> {
        let response = request.send().await.map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(&e))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| ApiError::Malformed {
                detail: e.to_string(),
            });
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(ErrorBody {
                message,
                notice: Some(notice),
                ..
            }) => Err(ApiError::Moved { message, notice }),
            Ok(body) => Err(ApiError::Refused {
                status: status.as_u16(),
                code: body.error,
                message: body.message,
            }),
            Err(_) => Err(ApiError::Malformed {
                detail: format!("HTTP {status} without a Tenure error body"),
            }),
        }
    }

    fn transport_error(&self, e: &reqwest::Error) -> ApiError {
        let url = self.base.to_string();
        if e.is_timeout() {
            return ApiError::Timeout {
                url,
                secs: self.timeout.as_secs(),
            };
        }
        let chain = error_chain(e);
        let lower = chain.to_lowercase();
        if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
            return ApiError::Tls { detail: chain };
        }
        if e.is_connect() || e.is_request() {
            return ApiError::Offline { url };
        }
        ApiError::Malformed { detail: chain }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

pub use tenure_storage::install_crypto_provider;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_token_never_travels_over_plain_http_but_to_this_computer() {
        let credentials = Credentials {
            account: "acme".into(),
            token: "secret".into(),
        };
        let remote = ApiClient::new("http://licenses.example.com").unwrap();
        let refused = remote.account_licenses(&credentials).await;
        assert!(
            matches!(refused, Err(ApiError::InsecureCredentials { .. })),
            "{refused:?}"
        );
        for local in ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"] {
            let answer = ApiClient::new(local)
                .unwrap()
                .account_licenses(&credentials)
                .await;
            // Allowed to try: nothing listens there, so it is unreachable, not refused.
            assert!(
                matches!(answer, Err(ApiError::Offline { .. })),
                "{local}: {answer:?}"
            );
        }
    }
}
