//! How database connections are secured and bounded: TLS with the server's certificate verified
//! (on by default for any host but this machine), a custom CA file for servers behind an internal
//! CA, and a statement timeout the server enforces so a hung query cannot hold a run forever.
//!
//! There is no setting that keeps TLS but skips verification: `sslmode=require` (PostgreSQL) and
//! `ssl-mode=REQUIRED` (MySQL) are read as "verify the certificate and the host name", since an
//! unverified TLS connection protects the password from nobody who can intercept it.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::postgres::{PgConnectOptions, PgSslMode};

/// What every connection of a source gets besides its URL.
#[derive(Debug, Clone, Copy)]
pub struct Limits<'a> {
    /// A PEM file of the CA that signed the server's certificate; the system's web roots when
    /// unset.
    pub ca_file: Option<&'a Path>,
    /// How long one statement may run on the server.
    pub statement_timeout: Duration,
}

/// Whether `host` is this machine (or a Unix socket), where TLS is optional.
pub fn is_local(host: &str) -> bool {
    matches!(host, "" | "localhost" | "127.0.0.1" | "::1" | "[::1]") || host.starts_with('/')
}

/// The value of query parameter `name` in `url`, case-insensitively.
fn query_param<'u>(url: &'u str, name: &str) -> Option<&'u str> {
    let (_, query) = url.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.eq_ignore_ascii_case(name).then_some(value)
    })
}

/// PostgreSQL options for `url`: `verify-full` unless the URL says otherwise or the host is this
/// machine (`prefer`), `require` read as `verify-full`, the CA file, the statement timeout.
pub fn postgres(url: &str, limits: Limits<'_>) -> Result<PgConnectOptions, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.application_name("concord");
    let local = options.get_socket().is_some() || is_local(options.get_host());
    let mode = match query_param(url, "sslmode") {
        None if local => PgSslMode::Prefer,
        None => PgSslMode::VerifyFull,
        Some(_) if matches!(options.get_ssl_mode(), PgSslMode::Require) => PgSslMode::VerifyFull,
        Some(_) => options.get_ssl_mode(),
    };
    let mut options = options.ssl_mode(mode);
    if let Some(ca) = limits.ca_file {
        options = options.ssl_root_cert(ca);
    }
    Ok(options.options([(
        "statement_timeout",
        limits.statement_timeout.as_millis().to_string(),
    )]))
}

/// MySQL / MariaDB options for `url`: `VERIFY_IDENTITY` unless the URL says otherwise or the host
/// is this machine (`PREFERRED`), `REQUIRED` read as `VERIFY_IDENTITY`, the CA file.
pub fn mysql(url: &str, limits: Limits<'_>) -> Result<MySqlConnectOptions, sqlx::Error> {
    let options = MySqlConnectOptions::from_str(url)?;
    let local = options.get_socket().is_some() || is_local(options.get_host());
    let explicit = query_param(url, "ssl-mode").or_else(|| query_param(url, "sslmode"));
    let mode = match explicit {
        None if local => MySqlSslMode::Preferred,
        None => MySqlSslMode::VerifyIdentity,
        Some(_) if matches!(options.get_ssl_mode(), MySqlSslMode::Required) => {
            MySqlSslMode::VerifyIdentity
        }
        Some(_) => options.get_ssl_mode(),
    };
    let mut options = options.ssl_mode(mode);
    if let Some(ca) = limits.ca_file {
        options = options.ssl_ca(ca);
    }
    Ok(options)
}

/// The statements that set the statement timeout on a new MySQL or MariaDB session, MariaDB's
/// first (`max_statement_time`, seconds); MySQL only knows `max_execution_time` (milliseconds).
pub fn mysql_timeout_statements(timeout: Duration) -> [String; 2] {
    [
        format!(
            "SET SESSION max_statement_time = {}",
            timeout.as_secs_f64().max(0.001)
        ),
        format!(
            "SET SESSION max_execution_time = {}",
            timeout.as_millis().max(1)
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits<'static> = Limits {
        ca_file: None,
        statement_timeout: Duration::from_secs(300),
    };

    #[test]
    fn a_remote_postgres_verifies_its_certificate_by_default_and_require_verifies_too() {
        let remote = postgres("postgres://erp:pw@db.example.com/erp", LIMITS).unwrap();
        assert!(matches!(remote.get_ssl_mode(), PgSslMode::VerifyFull));
        let required = postgres(
            "postgres://erp:pw@db.example.com/erp?sslmode=require",
            LIMITS,
        )
        .unwrap();
        assert!(matches!(required.get_ssl_mode(), PgSslMode::VerifyFull));
        let local = postgres("postgres://postgres@127.0.0.1:5432/test", LIMITS).unwrap();
        assert!(matches!(local.get_ssl_mode(), PgSslMode::Prefer));
        let verify_ca = postgres(
            "postgres://erp@db.example.com/erp?sslmode=verify-ca",
            LIMITS,
        )
        .unwrap();
        assert!(matches!(verify_ca.get_ssl_mode(), PgSslMode::VerifyCa));
        assert_eq!(
            remote.get_options(),
            Some("-c statement_timeout=300000"),
            "the server enforces the statement timeout"
        );
    }

    #[test]
    fn a_remote_mysql_verifies_its_certificate_by_default() {
        let remote = mysql("mysql://erp:pw@db.example.com/erp", LIMITS).unwrap();
        assert!(matches!(
            remote.get_ssl_mode(),
            MySqlSslMode::VerifyIdentity
        ));
        let required = mysql(
            "mysql://erp:pw@db.example.com/erp?ssl-mode=REQUIRED",
            LIMITS,
        )
        .unwrap();
        assert!(matches!(
            required.get_ssl_mode(),
            MySqlSslMode::VerifyIdentity
        ));
        let local = mysql("mysql://root@localhost/test", LIMITS).unwrap();
        assert!(matches!(local.get_ssl_mode(), MySqlSslMode::Preferred));
    }
}
