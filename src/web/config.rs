//! The `serve:` settings: where the API and the steward page listen and who may use them.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How `concord serve` (and the operations address of `concord run`) serves the read-only API
/// and the steward page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// The address `concord serve` listens on when `--listen` is not given
    /// (e.g. `127.0.0.1:8080`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// Who may use the page and the API. Without it everything is readable by anyone who can
    /// reach the address and nothing can be changed: the page says it is read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
}

/// Logins: configured users with argon2 password hashes, and/or a user name a trusted reverse
/// proxy puts in a request header. With either, every page and API call needs a login.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Users who log in with a password on the page's login form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserConfig>,
    /// A request header (e.g. `X-Remote-User`) naming the user a reverse proxy has
    /// authenticated; honoured only on connections from `trusted_proxies`, so a client cannot
    /// name itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// The addresses of the reverse proxies whose `header` is believed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<IpAddr>,
    /// Mark the session cookie `Secure`, so browsers send it over HTTPS only: set it when the
    /// page is reached through HTTPS (a TLS-terminating proxy), leave it off for plain HTTP.
    #[serde(default)]
    pub secure_cookie: bool,
    /// How long a login lasts without use (`8h`, `30m`).
    #[serde(default = "default_session_idle", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub session_idle: Duration,
}

/// One user who may log in with a password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The login name.
    pub name: String,
    /// The password's argon2 hash in PHC form (`$argon2id$v=19$m=…`), as
    /// `concord serve --hash-password` prints it; never the password itself.
    pub password_hash: String,
}

fn default_session_idle() -> Duration {
    Duration::from_secs(8 * 3600)
}

impl AuthConfig {
    /// Why these settings cannot be used, if they cannot: no way to log in, a header without a
    /// proxy to believe, a hash that is not a PHC string.
    pub fn problem(&self) -> Option<String> {
        if self.users.is_empty() && self.header.is_none() {
            return Some("`serve.auth` needs `users` or `header`".into());
        }
        if self.header.is_some() && self.trusted_proxies.is_empty() {
            return Some("`serve.auth.header` needs `trusted_proxies`: the addresses of the proxies that set it".into());
        }
        if let Some(header) = &self.header
            && axum::http::HeaderName::from_bytes(header.as_bytes()).is_err()
        {
            return Some(format!(
                "`serve.auth.header` `{header}` is not a header name"
            ));
        }
        self.users.iter().find_map(|user| {
            argon2::PasswordHash::new(&user.password_hash)
                .err()
                .map(|e| {
                    format!(
                        "`serve.auth.users` `{}`: password_hash is not an argon2 PHC string ({e})",
                        user.name
                    )
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_serve_block_reads_with_its_defaults_and_a_misspelt_key_is_refused() {
        let text = "listen: 127.0.0.1:8080\nauth:\n  header: X-Remote-User\n  trusted_proxies: [127.0.0.1]\n";
        let config: ServeConfig = serde_yaml::from_str(text).unwrap();
        let auth = config.auth.unwrap();
        assert_eq!(auth.session_idle, Duration::from_secs(8 * 3600));
        assert!(!auth.secure_cookie);
        assert_eq!(auth.problem(), None);
        let misspelt = serde_yaml::from_str::<ServeConfig>("auth: { user: [] }").unwrap_err();
        assert!(misspelt.to_string().contains("user"), "{misspelt}");
    }
}
