//! The HTTP client every HTTP-based driver shares: base URL, default headers, authentication,
//! timeouts, retries with exponential backoff and jitter (honouring `Retry-After`), a rate limit
//! and a limit on requests in flight.
//!
//! Drivers build requests with a closure ([`HttpClient::send`]) so a retried request is built
//! afresh; the client reads the whole body inside the retry loop, so a connection dropped halfway
//! through a page is retried like one refused outright. A body is read up to
//! `max_response_size` and no further. TLS is always verified, against the public web roots and
//! the source's `ca_file`.

mod auth;
mod body;
mod ca_file;
mod limit;
mod origin;

pub use auth::{AuthConfig, Secret};
pub use body::Oversize;
pub use ca_file::load_ca_file;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Semaphore;

use auth::Authenticator;
use limit::RateLimiter;
use origin::Origin;

/// How much of an error response's body an error message quotes.
const ERROR_BODY_CHARS: usize = 300;

/// Everything the client needs to reach one server.
#[derive(Debug, Clone, PartialEq)]
pub struct TransportConfig {
    /// Scheme, host and optional path prefix; request paths are appended to it.
    pub base_url: String,
    /// How requests authenticate; none when unset.
    pub auth: Option<AuthConfig>,
    /// Headers sent with every request.
    pub headers: Headers,
    /// How long one request (connect, send, read the whole answer) may take.
    pub timeout: Duration,
    /// Retries of failed requests.
    pub retry: RetryConfig,
    /// At most this many requests per second; unlimited when unset.
    pub rate_limit: Option<f64>,
    /// At most this many requests in flight at once.
    pub concurrency: usize,
    /// A PEM file of CA certificates trusted besides the public web roots (an internal CA);
    /// resolved against the config file's folder by the driver.
    pub ca_file: Option<PathBuf>,
    /// The largest answer body read, in bytes; a larger answer fails its request.
    pub max_response_size: u64,
}

impl TransportConfig {
    /// Settings for `base_url` with the defaults: no auth, 30 s timeout, 5 attempts, no rate
    /// limit, one request at a time, the public web roots, answers up to 64 MiB.
    pub fn new(base_url: impl Into<String>) -> TransportConfig {
        TransportConfig {
            base_url: base_url.into(),
            auth: None,
            headers: Headers::default(),
            timeout: default_timeout(),
            retry: RetryConfig::default(),
            rate_limit: None,
            concurrency: 1,
            ca_file: None,
            max_response_size: default_max_response_size(),
        }
    }
}

/// The request timeout unless a source sets one.
pub fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

/// The largest answer body unless a source sets one: 64 MiB, far above any sane page of records
/// and far below what would endanger the process.
pub fn default_max_response_size() -> u64 {
    64 * 1024 * 1024
}

/// Extra headers by name. Their values are printed as `***` by `Debug`: a user may put a
/// credential in a header of their own.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Headers(pub BTreeMap<String, String>);

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|name| (name, "***")))
            .finish()
    }
}

/// When and how often a failed request is tried again: after a connection error, a timeout, a
/// 429 or a 5xx answer. `Retry-After` (seconds or an HTTP date) replaces the computed delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Tries in all, the first included; 1 means no retry.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: usize,
    /// Delay before the first retry; it doubles with each further one, with random jitter.
    #[serde(default = "default_initial_delay", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub initial_delay: Duration,
    /// The longest delay between tries; a server asking (by `Retry-After`) for a longer wait
    /// fails the request instead of stalling the run.
    #[serde(default = "default_max_delay", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub max_delay: Duration,
}

fn default_max_attempts() -> usize {
    5
}

fn default_initial_delay() -> Duration {
    Duration::from_millis(500)
}

fn default_max_delay() -> Duration {
    Duration::from_secs(30)
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: default_max_attempts(),
            initial_delay: default_initial_delay(),
            max_delay: default_max_delay(),
        }
    }
}

/// Why a request failed for good. Messages name the method and the URL path (never the host's
/// credentials or a token) and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("invalid HTTP settings: {0}")]
    Config(String),
    #[error("{method} {path}: HTTP {status}{detail}; {advice}")]
    Status {
        method: Method,
        path: String,
        status: u16,
        /// A short quote of the answer's body, after ` — `.
        detail: String,
        advice: &'static str,
    },
    #[error(
        "{method} {path}: {message} (gave up after {attempts} attempt(s); check that the server is reachable, or raise `retry.max_attempts` or `timeout`)"
    )]
    Unreachable {
        method: Method,
        path: String,
        message: String,
        attempts: usize,
    },
    #[error(
        "{method} {path}: HTTP {status} and the server asks to retry after {after_s} s, longer than `retry.max_delay` ({max_s} s); run again later or raise `retry.max_delay`"
    )]
    RetryAfterTooLong {
        method: Method,
        path: String,
        status: u16,
        after_s: u64,
        max_s: u64,
    },
    #[error("OAuth2 token from {token_url}: {message}")]
    Token { token_url: String, message: String },
    #[error("`ca_file` {path} {reason}")]
    CaFile { path: String, reason: String },
    #[error(
        "{method} {path}: the server's TLS certificate was refused ({message}); if an internal CA signed it, set the source's `ca_file` to that CA's PEM file"
    )]
    Certificate {
        method: Method,
        path: String,
        message: String,
    },
    #[error(
        "{method} {path}: the answer is larger than `max_response_size` ({limit} bytes): {size}; ask for smaller pages or raise `max_response_size`"
    )]
    TooLarge {
        method: Method,
        path: String,
        limit: u64,
        size: Oversize,
    },
    #[error(
        "{method} {path}: the answer is not JSON ({message}); check the stream's `path` and the `Accept` header"
    )]
    NotJson {
        method: Method,
        path: String,
        message: String,
    },
}

impl TransportError {
    /// The HTTP status of a refused request, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            TransportError::Status { status, .. }
            | TransportError::RetryAfterTooLong { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A successful answer, read whole.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub method: Method,
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The URL that answered (after redirects): relative next links resolve against it.
    pub url: Url,
    pub body: Bytes,
}

impl HttpResponse {
    /// The body as JSON; an HTML error page or a truncated answer is a [`TransportError::NotJson`].
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, TransportError> {
        serde_json::from_slice(&self.body).map_err(|e| TransportError::NotJson {
            method: self.method.clone(),
            path: display_url(self.url.as_str()),
            message: e.to_string(),
        })
    }
}

/// The shared client; cheap to clone (clones share the connection pool, limits and token).
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    base_url: String,
    auth: Option<Authenticator>,
    retry: RetryConfig,
    limiter: Option<RateLimiter>,
    in_flight: Semaphore,
    /// Credential texts scrubbed from every error message.
    secrets: Vec<String>,
    /// The origin of `base_url`: the only one the auth and custom headers are sent to.
    origin: Origin,
    /// The custom headers of every request to `origin`.
    headers: HeaderMap,
    /// The largest answer body read, in bytes.
    max_response_size: u64,
}

/// One failed try, and whether another may cure it.
struct Failure {
    status: Option<StatusCode>,
    retryable: bool,
    retry_after: Option<Duration>,
    message: String,
    /// Why the try failed when it is not the server's status: a refused certificate or an
    /// oversized answer end the request at once, with an error of their own.
    fault: Option<Fault>,
}

/// A failure no retry can cure that is not an HTTP status.
enum Fault {
    Certificate,
    TooLarge(Oversize),
}

impl Failure {
    /// A failure before or while reading an answer (no status).
    fn transport(message: String) -> Failure {
        Failure {
            status: None,
            retryable: true,
            retry_after: None,
            message,
            fault: None,
        }
    }
}

impl HttpClient {
    /// Builds the client; fails on a bad base URL, header or credential.
    pub fn new(config: &TransportConfig) -> Result<HttpClient, TransportError> {
        let base = Url::parse(&config.base_url).map_err(|e| {
            TransportError::Config(format!(
                "`base_url` `{}`: {e}",
                display_url(&config.base_url)
            ))
        })?;
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers.0 {
            let header = HeaderName::try_from(name.as_str())
                .map_err(|_| TransportError::Config(format!("`{name}` is not a header name")))?;
            let mut value = HeaderValue::try_from(value.as_str()).map_err(|_| {
                TransportError::Config(format!(
                    "header `{name}` has characters a header cannot carry"
                ))
            })?;
            value.set_sensitive(true);
            if !is_descriptive_header(&header) {
                crate::redact::register_secret(value.to_str().unwrap_or_default());
            }
            headers.insert(header, value);
        }
        let mut builder = reqwest::Client::builder()
            .redirect(origin::redirect_policy())
            .timeout(config.timeout)
            .user_agent(concat!("concord/", env!("CARGO_PKG_VERSION")));
        if let Some(ca_file) = &config.ca_file {
            for certificate in ca_file::load_ca_file(ca_file)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder
            .build()
            .map_err(|e| TransportError::Config(e.to_string()))?;
        if config.max_response_size == 0 {
            return Err(TransportError::Config(
                "`max_response_size` must be at least 1 byte".into(),
            ));
        }
        let auth = config.auth.as_ref().map(Authenticator::new).transpose()?;
        let mut secrets: Vec<String> = config.auth.iter().flat_map(AuthConfig::secrets).collect();
        secrets.extend(config.headers.0.values().filter(|v| v.len() >= 8).cloned());
        if config.retry.max_attempts == 0 {
            return Err(TransportError::Config(
                "`retry.max_attempts` must be at least 1".into(),
            ));
        }
        let limiter = match config.rate_limit {
            Some(rate) if !(rate > 0.0 && rate.is_finite()) => {
                return Err(TransportError::Config(format!(
                    "`rate_limit` must be a positive number of requests per second, not {rate}"
                )));
            }
            Some(rate) => Some(RateLimiter::per_second(rate)),
            None => None,
        };
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client,
                base_url: config.base_url.trim_end_matches('/').to_string(),
                auth,
                retry: config.retry.clone(),
                limiter,
                in_flight: Semaphore::new(config.concurrency.max(1)),
                secrets,
                origin: Origin::of(&base),
                headers,
                max_response_size: config.max_response_size,
            }),
        })
    }

    /// `path` appended to the base URL; an absolute `http(s)://` URL is taken as it is.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}/{}", self.inner.base_url, path.trim_start_matches('/'))
        }
    }

    /// Sends the request `build` makes (called again for every retry) with the source's auth,
    /// and reads the answer. A 401 under OAuth2 fetches a new token and tries once more.
    pub async fn send<F>(&self, build: F) -> Result<HttpResponse, TransportError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let Some(auth) = &self.inner.auth else {
            return self.with_retries(&build, None).await;
        };
        let mut refreshed = false;
        loop {
            let header = auth.header(self).await?;
            let refused = header.1.clone();
            match self.with_retries(&build, Some(header)).await {
                Err(error) if error.status() == Some(401) && auth.refreshable() && !refreshed => {
                    tracing::info!("access token refused (HTTP 401): fetching a new one");
                    auth.invalidate(&refused).await;
                    refreshed = true;
                }
                outcome => return outcome,
            }
        }
    }

    /// GETs `path` (relative to the base URL) with `query` and reads the answer as JSON.
    pub async fn get_json(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<Value, TransportError> {
        let url = self.url(path);
        self.send(|http| http.get(&url).query(query)).await?.json()
    }

    /// POSTs `body` as JSON to `path` (relative to the base URL) and reads the answer as JSON.
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<Value, TransportError> {
        let url = self.url(path);
        self.send(|http| http.post(&url).json(body)).await?.json()
    }

    /// Like [`HttpClient::send`] without the source's auth: for the token endpoint itself.
    async fn send_unauthenticated<F>(&self, build: F) -> Result<HttpResponse, TransportError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        self.with_retries(&build, None).await
    }

    async fn with_retries<F>(
        &self,
        build: &F,
        auth: Option<(HeaderName, HeaderValue)>,
    ) -> Result<HttpResponse, TransportError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let retry = &self.inner.retry;
        let mut delays = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(retry.initial_delay)
            .with_max_delay(retry.max_delay)
            .with_max_times(retry.max_attempts.saturating_sub(1))
            .build();
        let mut attempts = 0;
        let mut previous_error: Option<(StatusCode, String)> = None;
        loop {
            attempts += 1;
            let mut request = build(&self.inner.client)
                .build()
                .map_err(|e| TransportError::Config(self.scrub(&e.without_url().to_string())))?;
            self.add_credentials(&mut request, auth.as_ref());
            let method = request.method().clone();
            let path = display_url(request.url().as_str());
            let mut failure = match self.attempt(request).await {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            // A server error (not a gateway's, not "unavailable") answered twice with the same
            // body is the server's answer to this request (a Frappe traceback, an OData error),
            // not a passing fault: trying it again cannot help.
            if let Some(status) = failure.status.filter(|s| {
                s.is_server_error()
                    && ![502, 503, 504].contains(&s.as_u16())
                    && failure.retry_after.is_none()
                    && !failure.message.is_empty()
            }) {
                let error = (status, failure.message.clone());
                if previous_error.as_ref() == Some(&error) {
                    failure.retryable = false;
                }
                previous_error = Some(error);
            }
            let message = self.scrub(&failure.message);
            let give_up = |attempts| match (&failure.fault, failure.status) {
                (Some(Fault::Certificate), _) => TransportError::Certificate {
                    method: method.clone(),
                    path: path.clone(),
                    message: message.clone(),
                },
                (Some(Fault::TooLarge(size)), _) => TransportError::TooLarge {
                    method: method.clone(),
                    path: path.clone(),
                    limit: self.inner.max_response_size,
                    size: *size,
                },
                (None, Some(status)) => TransportError::Status {
                    method: method.clone(),
                    path: path.clone(),
                    status: status.as_u16(),
                    detail: message.clone(),
                    advice: advice(status, failure.retryable),
                },
                (None, None) => TransportError::Unreachable {
                    method: method.clone(),
                    path: path.clone(),
                    message: message.clone(),
                    attempts,
                },
            };
            if !failure.retryable {
                return Err(give_up(attempts));
            }
            let Some(backoff) = delays.next() else {
                return Err(give_up(attempts));
            };
            let delay = match failure.retry_after {
                Some(after) if after > retry.max_delay => {
                    return Err(TransportError::RetryAfterTooLong {
                        method,
                        path,
                        status: failure.status.map_or(0, |s| s.as_u16()),
                        after_s: after.as_secs(),
                        max_s: retry.max_delay.as_secs(),
                    });
                }
                Some(after) => after,
                None => backoff,
            };
            tracing::warn!(
                %method,
                path,
                attempt = attempts,
                delay_ms = delay.as_millis() as u64,
                reason = message,
                "request failed; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One try: waits for a slot under the concurrency and rate limits, sends, reads the body
    /// (at most `max_response_size` bytes of it).
    async fn attempt(&self, request: reqwest::Request) -> Result<HttpResponse, Failure> {
        let _slot = self.inner.in_flight.acquire().await.map_err(|_| Failure {
            retryable: false,
            ..Failure::transport("the client is shutting down".into())
        })?;
        if let Some(limiter) = &self.inner.limiter {
            limiter.wait().await;
        }
        let method = request.method().clone();
        let response = self.inner.client.execute(request).await.map_err(|e| {
            if crate::transport::tls::is_certificate_error(&e) {
                Failure {
                    retryable: false,
                    fault: Some(Fault::Certificate),
                    ..Failure::transport(describe(e))
                }
            } else {
                Failure::transport(describe(e))
            }
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let url = response.url().clone();
        if status.is_success() {
            let body = body::read_capped(response, self.inner.max_response_size)
                .await
                .map_err(|error| match error {
                    body::BodyError::TooLarge(size) => Failure {
                        retryable: false,
                        fault: Some(Fault::TooLarge(size)),
                        ..Failure::transport(size.to_string())
                    },
                    body::BodyError::Broken(e) => {
                        Failure::transport(format!("the answer broke off: {}", describe(e)))
                    }
                })?;
            return Ok(HttpResponse {
                method,
                status,
                headers,
                url,
                body,
            });
        }
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = body::read_prefix(response, ERROR_BODY_CHARS * 4).await;
        let quoted: String = body.trim().chars().take(ERROR_BODY_CHARS).collect();
        Err(Failure {
            status: Some(status),
            retryable: status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error(),
            retry_after,
            message: if quoted.is_empty() {
                String::new()
            } else {
                format!(" — {quoted}")
            },
            fault: None,
        })
    }

    /// Adds the custom headers and `auth` to a request for the configured origin; a request
    /// anywhere else (a next link to another host or scheme) leaves without them.
    fn add_credentials(
        &self,
        request: &mut reqwest::Request,
        auth: Option<&(HeaderName, HeaderValue)>,
    ) {
        if !self.inner.origin.holds(request.url()) {
            tracing::debug!(
                origin = %Origin::of(request.url()),
                configured = %self.inner.origin,
                "request to another origin: sent without credentials or custom headers"
            );
            return;
        }
        let headers = request.headers_mut();
        for (name, value) in &self.inner.headers {
            if !headers.contains_key(name) {
                headers.insert(name.clone(), value.clone());
            }
        }
        if let Some((name, value)) = auth {
            headers.insert(name.clone(), value.clone());
        }
    }

    /// `text` with every credential replaced by `***`.
    fn scrub(&self, text: &str) -> String {
        self.inner
            .secrets
            .iter()
            .fold(text.to_string(), |text, secret| {
                text.replace(secret.as_str(), "***")
            })
    }
}

/// What a user can do about a refused request.
fn advice(status: StatusCode, retryable: bool) -> &'static str {
    match status.as_u16() {
        300..=399 => {
            "the server redirects to another origin, which is not followed with the source's credentials: set `base_url` to where it points"
        }
        _ if retryable => "the server kept failing; run again later, or raise `retry.max_attempts`",
        401 => "the credentials were refused: check the source's `auth` settings",
        403 => "the user is not allowed to read this: check its roles or permissions",
        404 => "no such resource: check the stream's `path` and the source's `base_url`",
        _ => "the server refused the request: check the stream's `query` and `body`",
    }
}

/// Headers that describe the request rather than authenticate it; any other custom header may
/// carry a credential and is masked in every output.
fn is_descriptive_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "accept"
            | "accept-language"
            | "accept-encoding"
            | "content-type"
            | "user-agent"
            | "prefer"
            | "odata-version"
            | "odata-maxversion"
            | "dataserviceversion"
            | "maxdataserviceversion"
            | "sap-client"
            | "sap-language"
    )
}

/// A reqwest error in words, without its URL (the caller names the path).
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut message = kind.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// A URL as error messages and origins show it: the path and query, without scheme, host or
/// user info.
pub fn display_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(parsed) => match parsed.query() {
            Some(query) => format!("{}?{query}", parsed.path()),
            None => parsed.path().to_string(),
        },
        Err(_) => "<invalid URL>".to_string(),
    }
}

/// `Retry-After` as a delay: seconds, or an HTTP date (a date in the past means now).
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = (chrono::Utc::now() + chrono::TimeDelta::seconds(120))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let wait = parse_retry_after(&later).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn display_url_drops_host_and_credentials() {
        assert_eq!(
            display_url("https://user:pw@erp.example.com/api/resource/Customer?limit_start=0"),
            "/api/resource/Customer?limit_start=0"
        );
    }

    #[test]
    fn debug_output_hides_credentials_and_header_values() {
        let mut config = TransportConfig::new("https://erp.example.com");
        config.auth = Some(AuthConfig::FrappeToken {
            key: Secret::new("key-1234567"),
            secret: Secret::new("s3cr3t-value"),
        });
        config
            .headers
            .0
            .insert("X-Tenant-Key".into(), "tenant-secret-42".into());
        let shown = format!("{config:?}");
        assert!(
            shown.contains("FrappeToken") && shown.contains("X-Tenant-Key"),
            "{shown}"
        );
        for secret in ["key-1234567", "s3cr3t-value", "tenant-secret-42"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn auth_config_parses_each_scheme_and_refuses_unknown_keys() {
        let parse = |text: &str| serde_yaml::from_str::<AuthConfig>(text);
        assert!(matches!(
            parse(
                "{ type: oauth2_client_credentials, token_url: 'https://t', client_id: c, client_secret: s }"
            ),
            Ok(AuthConfig::OAuth2ClientCredentials { scope: None, .. })
        ));
        assert!(matches!(
            parse("{ type: api_key, header: X-API-Key, value: v }"),
            Ok(AuthConfig::ApiKey { .. })
        ));
        assert!(parse("{ type: bearer, token: t, extra: 1 }").is_err());
        assert!(parse("{ type: kerberos }").is_err());
    }
}
