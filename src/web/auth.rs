//! Who is asking: a user logged in on the page (a session cookie) or named by a trusted reverse
//! proxy. Sessions live in memory, so a restart logs everyone out; each has its own CSRF token,
//! which every form that changes something must send back.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use subtle::ConstantTimeEq;

use crate::config::serve::AuthConfig;

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "concord_session";
/// The cookie that pairs a login form with the browser it was shown to: a login posted from
/// another site carries neither it (SameSite=Strict) nor the form's copy, so no one can log a
/// victim's browser into the attacker's account (login CSRF).
pub const LOGIN_COOKIE_NAME: &str = "concord_login";

/// A logged-in user and the token their forms must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub name: String,
    pub csrf: String,
    /// Logged in on the login form (a proxy's user has no session to end).
    pub has_session: bool,
}

struct Session {
    user: String,
    csrf: String,
    last_used: Instant,
}

/// The configured logins and the open sessions.
pub struct Auth {
    config: Option<AuthConfig>,
    sessions: Mutex<HashMap<String, Session>>,
    /// Keys the CSRF tokens of proxy users, who have no session to keep one in.
    secret: [u8; 32],
    /// Verified in place of an unknown user's hash, so a wrong name takes as long as a wrong
    /// password.
    decoy: String,
    /// Password checks at once: each takes argon2's memory (19 MiB by default), so a flood of
    /// logins queues instead of exhausting the machine.
    checks: tokio::sync::Semaphore,
}

/// Password checks run at once, at most.
const PARALLEL_CHECKS: usize = 2;

/// A random token of 32 bytes, as hex.
pub fn token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The argon2id hash of a password in PHC form, for `serve.auth.users`.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

impl Auth {
    /// Logins as configured (none: the page is read-only).
    pub fn new(config: Option<AuthConfig>) -> Result<Auth, String> {
        if let Some(problem) = config.as_ref().and_then(AuthConfig::problem) {
            return Err(problem);
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| e.to_string())?;
        let decoy = hash_password("decoy password")?;
        Ok(Auth {
            config,
            sessions: Mutex::default(),
            secret,
            decoy,
            checks: tokio::sync::Semaphore::new(PARALLEL_CHECKS),
        })
    }

    /// True when logins are configured: every page and API call then needs one, and changes
    /// are possible.
    pub fn enabled(&self) -> bool {
        self.config.is_some()
    }

    /// True when users log in with a password (the page shows a login form).
    pub fn has_passwords(&self) -> bool {
        self.config.as_ref().is_some_and(|c| !c.users.is_empty())
    }

    /// Whether the session cookie is marked `Secure`.
    pub fn secure_cookie(&self) -> bool {
        self.config.as_ref().is_some_and(|c| c.secure_cookie)
    }

    fn idle(&self) -> Duration {
        self.config
            .as_ref()
            .map_or(Duration::ZERO, |c| c.session_idle)
    }

    /// Who sent a request: the user of its session cookie, or the user a trusted proxy names.
    pub fn viewer(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<Viewer> {
        let config = self.config.as_ref()?;
        if let Some(token) = session_cookie(headers)
            && let Some(viewer) = self.session(&token)
        {
            return Some(viewer);
        }
        let header = config.header.as_deref()?;
        let peer: IpAddr = peer?.ip();
        let trusted = config
            .trusted_proxies
            .iter()
            .any(|p| *p == peer || p.to_canonical() == peer.to_canonical());
        if !trusted {
            return None;
        }
        let name = headers.get(header)?.to_str().ok()?.trim();
        if name.is_empty() {
            return None;
        }
        let mac = blake3::keyed_hash(&self.secret, format!("csrf\0{name}").as_bytes());
        Some(Viewer {
            name: name.to_string(),
            csrf: mac.to_hex().to_string(),
            has_session: false,
        })
    }

    fn session(&self, token: &str) -> Option<Viewer> {
        let mut sessions = self.sessions.lock().ok()?;
        let idle = self.idle();
        sessions.retain(|_, s| s.last_used.elapsed() < idle);
        let session = sessions.get_mut(token)?;
        session.last_used = Instant::now();
        Some(Viewer {
            name: session.user.clone(),
            csrf: session.csrf.clone(),
            has_session: true,
        })
    }

    /// Checks a name and password against the configured users; on success opens a session
    /// and returns its token. A wrong name costs the same time as a wrong password.
    pub fn login(&self, name: &str, password: &str) -> Option<String> {
        let users = &self.config.as_ref()?.users;
        let user = users.iter().find(|u| u.name == name);
        let hash = user.map_or(self.decoy.as_str(), |u| u.password_hash.as_str());
        let parsed = PasswordHash::new(hash).ok()?;
        let verified = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        let user = user.filter(|_| verified)?;
        let (token, csrf) = (token().ok()?, token().ok()?);
        self.sessions.lock().ok()?.insert(
            token.clone(),
            Session {
                user: user.name.clone(),
                csrf,
                last_used: Instant::now(),
            },
        );
        Some(token)
    }

    /// A turn at checking a password: [`Auth::login`] waits for one, so a flood of logins queues.
    pub async fn check_turn(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.checks.acquire().await.ok()
    }

    /// Ends the session of a request's cookie.
    pub fn logout(&self, headers: &HeaderMap) {
        if let (Some(token), Ok(mut sessions)) = (session_cookie(headers), self.sessions.lock()) {
            sessions.remove(&token);
        }
    }

    /// The `Set-Cookie` value that opens a session.
    pub fn session_cookie(&self, token: &str) -> String {
        let secure = if self.secure_cookie() { "; Secure" } else { "" };
        format!("{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Strict{secure}")
    }

    /// The `Set-Cookie` value that removes it.
    pub fn cleared_cookie(&self) -> String {
        format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    }

    /// The `Set-Cookie` value that pairs a login form, holding `token`, with this browser.
    pub fn login_form_cookie(&self, token: &str) -> String {
        let secure = if self.secure_cookie() { "; Secure" } else { "" };
        format!("{LOGIN_COOKIE_NAME}={token}; Path=/login; HttpOnly; SameSite=Strict{secure}")
    }
}

/// True when a posted login form carries the token of the form this browser was shown.
pub fn login_form_ok(headers: &HeaderMap, sent: Option<&str>) -> bool {
    match (cookie(headers, LOGIN_COOKIE_NAME), sent) {
        (Some(kept), Some(sent)) if !kept.is_empty() => {
            bool::from(sent.as_bytes().ct_eq(kept.as_bytes()))
        }
        _ => false,
    }
}

/// True when a form's token is the viewer's (compared in constant time).
pub fn csrf_ok(viewer: &Viewer, sent: Option<&str>) -> bool {
    sent.is_some_and(|sent| bool::from(sent.as_bytes().ct_eq(viewer.csrf.as_bytes())))
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE_NAME)
}

fn cookie(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::serve::UserConfig;

    fn auth() -> Auth {
        Auth::new(Some(AuthConfig {
            users: vec![UserConfig {
                name: "ada".into(),
                password_hash: hash_password("correct horse").unwrap(),
            }],
            header: Some("X-Remote-User".into()),
            trusted_proxies: vec!["127.0.0.2".parse().unwrap()],
            secure_cookie: true,
            session_idle: Duration::from_secs(60),
        }))
        .unwrap()
    }

    fn with_cookie(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            format!("a=b; {COOKIE_NAME}={token}").parse().unwrap(),
        );
        headers
    }

    #[test]
    fn only_the_right_password_opens_a_session_and_its_cookie_finds_the_user() {
        let auth = auth();
        assert_eq!(auth.login("ada", "wrong"), None);
        assert_eq!(auth.login("eve", "correct horse"), None);
        let token = auth.login("ada", "correct horse").unwrap();
        let viewer = auth.viewer(&with_cookie(&token), None).unwrap();
        assert_eq!(viewer.name, "ada");
        assert!(csrf_ok(&viewer, Some(&viewer.csrf)));
        assert!(!csrf_ok(&viewer, Some("forged")));
        assert!(!csrf_ok(&viewer, None));
        assert!(
            auth.session_cookie(&token)
                .contains("HttpOnly; SameSite=Strict; Secure")
        );
        auth.logout(&with_cookie(&token));
        assert_eq!(auth.viewer(&with_cookie(&token), None), None);
    }

    #[test]
    fn a_proxy_header_counts_only_from_a_trusted_proxy() {
        let auth = auth();
        let mut headers = HeaderMap::new();
        headers.insert("x-remote-user", "grace".parse().unwrap());
        let proxy: SocketAddr = "127.0.0.2:4000".parse().unwrap();
        let other: SocketAddr = "127.0.0.3:4000".parse().unwrap();
        assert_eq!(auth.viewer(&headers, Some(proxy)).unwrap().name, "grace");
        assert_eq!(auth.viewer(&headers, Some(other)), None);
    }

    #[test]
    fn settings_that_cannot_log_anyone_in_are_refused() {
        let mut config = auth().config.unwrap();
        config.trusted_proxies.clear();
        assert!(config.problem().unwrap().contains("trusted_proxies"));
        config.header = None;
        config.users[0].password_hash = "secret".into();
        assert!(config.problem().unwrap().contains("PHC"));
    }
}
