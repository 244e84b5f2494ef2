//! Authentication of HTTP requests: the schemes ERP and SCM APIs use, and the OAuth2
//! client-credentials token cache.
//!
//! Every credential is a [`Secret`]: its `Debug` and `Serialize` print `***`, so a config dumped
//! to a log or an error never shows it, and the header it becomes is marked sensitive.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize, Serializer};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::TransportError;

/// How long before its stated expiry a cached OAuth2 token is replaced, so a request never
/// leaves with a token that expires on the way.
const TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// Token lifetime assumed when the token endpoint states none (`expires_in` is optional in
/// RFC 6749); a 401 replaces the token earlier if the server disagrees.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// A credential from the config (usually `${ENV}`); shown as `***` everywhere but in the request
/// that needs it, and registered with [`crate::redact`] as soon as it is read, so no output shows
/// it even where a server echoes it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl schemars::JsonSchema for Secret {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "writeOnly": true,
            "description": "A credential; write `${ENV_VAR}` so it stays out of the file."
        })
    }
}

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Secret {
        let value = value.into();
        crate::redact::register_secret(&value);
        Secret(value)
    }

    /// The credential itself, for building the request that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

/// How requests to a source authenticate, chosen by `type:`.
#[derive(Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    /// HTTP Basic (`Authorization: Basic base64(username:password)`), as SAP S/4HANA and
    /// Business Central web-service keys use.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// A static bearer token (`Authorization: Bearer <token>`).
    Bearer {
        /// The token.
        token: Secret,
    },
    /// An API key in a header of its own.
    ApiKey {
        /// The header that carries the key, e.g. `X-API-Key`.
        header: String,
        /// The key.
        value: Secret,
    },
    /// Frappe / ERPNext API keys (`Authorization: token <key>:<secret>`).
    FrappeToken {
        /// The API key of the integration user.
        key: Secret,
        /// The API secret of the integration user.
        secret: Secret,
    },
    /// OAuth2 client credentials (Dynamics 365 Business Central via Microsoft Entra ID, SAP BTP):
    /// a token fetched from `token_url`, cached, refreshed before it expires and once on a 401.
    #[serde(rename = "oauth2_client_credentials")]
    OAuth2ClientCredentials {
        /// The token endpoint, e.g.
        /// `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`.
        token_url: String,
        /// The application (client) ID.
        client_id: String,
        /// The client secret, sent in the form body (`client_secret_post`).
        client_secret: Secret,
        /// Space-separated scopes, e.g. `https://api.businesscentral.dynamics.com/.default`.
        #[serde(default)]
        scope: Option<String>,
    },
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthConfig::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"***")
                .finish(),
            AuthConfig::Bearer { .. } => f.debug_struct("Bearer").field("token", &"***").finish(),
            AuthConfig::ApiKey { header, .. } => f
                .debug_struct("ApiKey")
                .field("header", header)
                .field("value", &"***")
                .finish(),
            AuthConfig::FrappeToken { .. } => f
                .debug_struct("FrappeToken")
                .field("key", &"***")
                .field("secret", &"***")
                .finish(),
            AuthConfig::OAuth2ClientCredentials {
                token_url,
                client_id,
                scope,
                ..
            } => f
                .debug_struct("OAuth2ClientCredentials")
                .field("token_url", token_url)
                .field("client_id", client_id)
                .field("client_secret", &"***")
                .field("scope", scope)
                .finish(),
        }
    }
}

impl AuthConfig {
    /// The secret texts of this scheme, scrubbed from every error message as a last line of
    /// defence (a server may echo a credential back in an error page).
    pub(super) fn secrets(&self) -> Vec<String> {
        let secrets: Vec<&Secret> = match self {
            AuthConfig::Basic { password, .. } => vec![password],
            AuthConfig::Bearer { token } => vec![token],
            AuthConfig::ApiKey { value, .. } => vec![value],
            AuthConfig::FrappeToken { key, secret } => vec![key, secret],
            AuthConfig::OAuth2ClientCredentials { client_secret, .. } => vec![client_secret],
        };
        secrets
            .into_iter()
            .map(|s| s.expose().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// A header marked sensitive, so reqwest and hyper never print it.
fn sensitive(value: String) -> Result<HeaderValue, TransportError> {
    let mut header = HeaderValue::try_from(value).map_err(|_| {
        TransportError::Config("a credential contains characters not allowed in a header".into())
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// An access token and when it must be replaced.
pub(super) struct Token {
    header: HeaderValue,
    renew_at: Instant,
}

/// Authenticates requests: a fixed header, or an OAuth2 token kept fresh.
pub(super) enum Authenticator {
    Fixed(HeaderName, HeaderValue),
    OAuth2 {
        token_url: String,
        client_id: String,
        client_secret: Secret,
        scope: Option<String>,
        /// One refresh at a time: concurrent requests wait for the token the first one fetches.
        cache: Mutex<Option<Token>>,
    },
}

/// The parts of a token endpoint's answer that matter (RFC 6749 §5.1).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Authenticator {
    pub(super) fn new(config: &AuthConfig) -> Result<Authenticator, TransportError> {
        let engine = base64::engine::general_purpose::STANDARD;
        Ok(match config {
            AuthConfig::Basic { username, password } => {
                crate::redact::register_basic(username, password.expose());
                let pair = format!("{username}:{}", password.expose());
                let value = sensitive(format!("Basic {}", engine.encode(pair)))?;
                Authenticator::Fixed(AUTHORIZATION, value)
            }
            AuthConfig::Bearer { token } => Authenticator::Fixed(
                AUTHORIZATION,
                sensitive(format!("Bearer {}", token.expose()))?,
            ),
            AuthConfig::ApiKey { header, value } => {
                let name = HeaderName::try_from(header.as_str()).map_err(|_| {
                    TransportError::Config(format!("`{header}` is not a valid header name"))
                })?;
                Authenticator::Fixed(name, sensitive(value.expose().to_string())?)
            }
            AuthConfig::FrappeToken { key, secret } => Authenticator::Fixed(
                AUTHORIZATION,
                sensitive(format!("token {}:{}", key.expose(), secret.expose()))?,
            ),
            AuthConfig::OAuth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
            } => Authenticator::OAuth2 {
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                scope: scope.clone(),
                cache: Mutex::new(None),
            },
        })
    }

    /// Whether a 401 may be cured by fetching a new token.
    pub(super) fn refreshable(&self) -> bool {
        matches!(self, Authenticator::OAuth2 { .. })
    }

    /// The header to send, fetching an OAuth2 token first when none is cached or it is about to
    /// expire.
    pub(super) async fn header(
        &self,
        client: &super::HttpClient,
    ) -> Result<(HeaderName, HeaderValue), TransportError> {
        match self {
            Authenticator::Fixed(name, value) => Ok((name.clone(), value.clone())),
            Authenticator::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scope,
                cache,
            } => {
                let mut cached = cache.lock().await;
                if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.renew_at) {
                    return Ok((AUTHORIZATION, token.header.clone()));
                }
                let mut form = vec![
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id.as_str()),
                    ("client_secret", client_secret.expose()),
                ];
                if let Some(scope) = scope {
                    form.push(("scope", scope.as_str()));
                }
                let token_error = |message: String| TransportError::Token {
                    token_url: super::display_url(token_url),
                    message,
                };
                let response = client
                    .send_unauthenticated(|http| http.post(token_url.as_str()).form(&form))
                    .await
                    .map_err(|e| token_error(e.to_string()))?;
                let answer: TokenResponse = serde_json::from_slice(&response.body)
                    .map_err(|e| token_error(format!("the answer holds no access_token: {e}")))?;
                crate::redact::register_secret(&answer.access_token);
                let lifetime = answer
                    .expires_in
                    .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
                let header = sensitive(format!("Bearer {}", answer.access_token))?;
                *cached = Some(Token {
                    header: header.clone(),
                    renew_at: Instant::now() + lifetime.saturating_sub(TOKEN_EXPIRY_MARGIN),
                });
                tracing::debug!(
                    token_url = %super::display_url(token_url),
                    lifetime_s = lifetime.as_secs(),
                    "OAuth2 token fetched"
                );
                Ok((AUTHORIZATION, header))
            }
        }
    }

    /// Drops the cached token if it is still `refused`, so the next request fetches a new one
    /// (a concurrent request may already have replaced it).
    pub(super) async fn invalidate(&self, refused: &HeaderValue) {
        if let Authenticator::OAuth2 { cache, .. } = self {
            let mut cached = cache.lock().await;
            if cached.as_ref().is_some_and(|t| t.header == refused) {
                *cached = None;
            }
        }
    }
}
