//! Credentials go only to the configured origin (scheme, host and port of `base_url`): a request
//! to any other origin — a next link to another host, an `http://` downgrade — leaves without the
//! source's auth and custom headers, and a redirect to another origin is not followed.

use reqwest::Url;
use reqwest::redirect::{Attempt, Policy};

/// Scheme, host and port of a URL; two URLs are the same origin when these are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Origin {
    /// The origin of `url`.
    pub fn of(url: &Url) -> Origin {
        Origin {
            scheme: url.scheme().to_ascii_lowercase(),
            host: url.host_str().unwrap_or_default().to_ascii_lowercase(),
            port: url.port_or_known_default(),
        }
    }

    /// Whether `url` is at this origin.
    pub fn holds(&self, url: &Url) -> bool {
        *self == Origin::of(url)
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}://{}:{port}", self.scheme, self.host),
            None => write!(f, "{}://{}", self.scheme, self.host),
        }
    }
}

/// Follows redirects (up to 10) only within the origin the request was sent to; a redirect to
/// another origin is answered as it came (a 3xx the client reports), since following it would
/// carry the request's credentials there.
pub fn redirect_policy() -> Policy {
    Policy::custom(|attempt: Attempt<'_>| {
        let Some(first) = attempt.previous().first() else {
            return attempt.stop();
        };
        if attempt.previous().len() > 10 {
            attempt.error("more than 10 redirects")
        } else if Origin::of(first).holds(attempt.url()) {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn scheme_host_and_port_make_the_origin() {
        let origin = Origin::of(&url("https://erp.example.com/api?x=1"));
        assert!(origin.holds(&url("https://ERP.example.com:443/other")));
        assert!(!origin.holds(&url("http://erp.example.com/api")));
        assert!(!origin.holds(&url("https://erp.example.com:8443/api")));
        assert!(!origin.holds(&url("https://evil.example.com/api")));
        assert_eq!(origin.to_string(), "https://erp.example.com:443");
    }
}
