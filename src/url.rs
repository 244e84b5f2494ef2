//! Connection URLs (stores, databases, the bus) in one place: a relative SQLite path resolved
//! against the config's folder, and a URL as it may be shown in messages and logs.

use std::path::{Path, PathBuf};

/// Resolves the path of a `sqlite://` URL against `base` when it is relative; other URLs are
/// returned unchanged.
pub fn resolve_sqlite(url: &str, base: &Path) -> String {
    let Some(rest) = url.strip_prefix("sqlite://") else {
        return url.to_string();
    };
    let (file, query) = match rest.split_once('?') {
        Some((file, query)) => (file, Some(query)),
        None => (rest, None),
    };
    let resolved = if Path::new(file).is_absolute() {
        PathBuf::from(file)
    } else {
        base.join(file)
    };
    match query {
        Some(query) => format!("sqlite://{}?{query}", resolved.display()),
        None => format!("sqlite://{}", resolved.display()),
    }
}

/// `url` without its password and query string, for origins, errors and logs.
pub fn shown(url: &str) -> String {
    let url = url.trim();
    let without_query = url.split_once('?').map_or(url, |(before, _)| before);
    let Some((scheme, rest)) = without_query.split_once("://") else {
        return without_query.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => without_query.to_string(),
        },
        None => without_query.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_store_urls_are_kept() {
        assert_eq!(
            resolve_sqlite("postgres://x/y", Path::new("/a")),
            "postgres://x/y"
        );
        assert_eq!(
            resolve_sqlite("sqlite:///abs.db", Path::new("/a")),
            "sqlite:///abs.db"
        );
    }

    #[test]
    fn urls_are_shown_without_password_or_query() {
        assert_eq!(
            shown("postgres://erp:s3cr%40t@db:5432/erp?sslmode=require&password=x"),
            "postgres://erp:***@db:5432/erp"
        );
        assert_eq!(
            shown("sqlite://data/erp.db?mode=ro"),
            "sqlite://data/erp.db"
        );
        assert_eq!(
            shown("mysql://root@127.0.0.1/test"),
            "mysql://root@127.0.0.1/test"
        );
    }

    #[test]
    fn a_bus_url_is_shown_without_its_password() {
        assert_eq!(
            shown("amqp://guest:guest@127.0.0.1:5672/%2f?heartbeat=10"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(
            shown("amqps://app:p@ss@mq:5671/prod"),
            "amqps://app:***@mq:5671/prod"
        );
    }
}
