//! A connection pool to one of the supported databases, and the bounds that keep a source from
//! hanging on it.
//!
//! sqlx 0.8 has no TCP keepalive setting for PostgreSQL or MySQL connections (libpq's
//! `keepalives_idle` and friends are client options it does not read), so a database that
//! vanishes without closing the connection (a host powered off, a firewall dropping the flow)
//! would leave a read waiting forever. Every wait is bounded on this side instead: a connection
//! by `connect_timeout` per try, and a statement (preparing it, or reading its rows) by
//! `statement_timeout` plus `connect_timeout` — the server cancels a statement at
//! `statement_timeout`, so a healthy server has answered by then, and the extra
//! `connect_timeout` is the time its cancellation may take to arrive.

use std::time::Duration;

use super::cursor::Param;
use super::page::{Page, Stop};
use super::placeholders::{self, Dialect, Rewritten};
use super::{mysql, postgres, sqlite, tls};
use crate::url::shown as shown_url;

/// A connection pool to one of the supported databases.
enum Pool {
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
    Sqlite(sqlx::SqlitePool),
}

/// A source's database: its pool and how long any one answer may take.
pub(super) struct Database {
    pool: Pool,
    /// The longest wait for the database's answer to a statement.
    patience: Duration,
}

/// A stream's query, rewritten for the backend and checked by it.
pub(super) struct Prepared {
    pub rewritten: Rewritten,
    /// The parameter types PostgreSQL inferred, in bind order (empty for the other backends).
    postgres_types: Vec<sqlx::postgres::PgTypeInfo>,
}

impl Database {
    /// Connects with `timeout` per try and three tries for errors that may pass (a refused or
    /// dropped connection, a timeout); a refused login, an unknown database or a refused
    /// certificate fails at once.
    pub(super) async fn connect(
        url: &str,
        timeout: Duration,
        limits: tls::Limits<'_>,
    ) -> Result<Database, String> {
        use backon::{ExponentialBuilder, Retryable};
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_max_times(3)
            .with_jitter();
        let attempt = || async {
            let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
            match scheme {
                "postgres" | "postgresql" => postgres::connect(url, timeout, limits)
                    .await
                    .map(Pool::Postgres),
                "mysql" | "mariadb" => mysql::connect(url, timeout, limits).await.map(Pool::MySql),
                "sqlite" => sqlite::connect(url, timeout).await.map(Pool::Sqlite),
                _ => Err(sqlx::Error::Configuration(
                    format!(
                        "unknown database `{scheme}`: the url must start with postgres://, \
                         mysql:// or sqlite://"
                    )
                    .into(),
                )),
            }
        };
        let pool = attempt
            .retry(backoff)
            .when(is_transient)
            .notify(|error, wait| {
                tracing::warn!(url = %shown_url(url), %error, ?wait, "database connection failed, trying again");
            })
            .await
            .map_err(|error| match &error {
                _ if is_certificate_error(&error) => format!(
                    "{error}; the server's TLS certificate was refused: if an internal CA \
                     signed it, set the source's `ca_file` to that CA's PEM file, and connect \
                     by a host name the certificate carries"
                ),
                sqlx::Error::PoolTimedOut => format!(
                    "no working connection within `connect_timeout` ({}), four tries: the \
                     server accepts no connection or never answers one",
                    humantime::format_duration(timeout)
                ),
                _ => error.to_string(),
            })?;
        Ok(Database {
            pool,
            patience: limits.statement_timeout + timeout,
        })
    }

    fn dialect(&self) -> Dialect {
        match &self.pool {
            Pool::Postgres(_) => Dialect::Postgres,
            Pool::MySql(_) => Dialect::MySql,
            Pool::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Rewrites the placeholders and has the database check the query.
    pub(super) async fn prepare(&self, query: &str) -> Result<Prepared, Stop> {
        let rewritten = placeholders::rewrite(query, self.dialect());
        let checked = async {
            match &self.pool {
                Pool::Postgres(pool) => postgres::parameter_types(pool, &rewritten.sql).await,
                Pool::MySql(pool) => mysql::check(pool, &rewritten.sql)
                    .await
                    .map(|()| Vec::new()),
                Pool::Sqlite(pool) => sqlite::check(pool, &rewritten.sql)
                    .await
                    .map(|()| Vec::new()),
            }
        };
        let postgres_types = self
            .bounded(checked)
            .await?
            .map_err(|error| Stop::Failed(format!("the query was refused: {error}")))?;
        Ok(Prepared {
            rewritten,
            postgres_types,
        })
    }

    /// Runs a prepared query with `params` and hands every row to `page`.
    pub(super) async fn fetch(
        &self,
        query: &Prepared,
        params: &[Param],
        page: &mut Page<'_>,
    ) -> Result<(), Stop> {
        let sql = &query.rewritten.sql;
        let fetched = async {
            match &self.pool {
                Pool::Postgres(pool) => {
                    postgres::fetch(pool, sql, &query.postgres_types, params, page).await
                }
                Pool::MySql(pool) => mysql::fetch(pool, sql, params, page).await,
                Pool::Sqlite(pool) => sqlite::fetch(pool, sql, params, page).await,
            }
        };
        self.bounded(fetched).await?
    }

    /// `work`, unless the database has not finished it within its patience.
    async fn bounded<T>(&self, work: impl Future<Output = T>) -> Result<T, Stop> {
        tokio::time::timeout(self.patience, work)
            .await
            .map_err(|_| {
                Stop::Failed(format!(
                    "no answer from the database within {} (`statement_timeout` plus \
                     `connect_timeout`): the server or the network to it is gone",
                    humantime::format_duration(self.patience)
                ))
            })
    }

    pub(super) async fn close(self) {
        match self.pool {
            Pool::Postgres(pool) => pool.close().await,
            Pool::MySql(pool) => pool.close().await,
            Pool::Sqlite(pool) => pool.close().await,
        }
    }
}

/// Errors worth another connection attempt: not a refused certificate, which stays refused.
fn is_transient(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_)
    ) && !is_certificate_error(error)
}

/// Whether the server's TLS certificate was refused (unknown issuer, another host name).
fn is_certificate_error(error: &sqlx::Error) -> bool {
    crate::transport::tls::is_certificate_error(error)
}
