//! The `sql` driver: queries against PostgreSQL, MySQL/MariaDB or SQLite, for ERPs read through
//! a replica or a staging schema.
//!
//! Each stream is one query. With a `cursor`, the query pages by keyset on (change time, key):
//! `:cursor`, `:cursor_key` and `:limit` are bound as parameters (never spliced into the SQL),
//! page after page until a page comes back short, with a checkpoint after each page. Rows that
//! share one change time across a page boundary are neither lost nor read twice, because the key
//! breaks the tie. With a `lookback`, the next run starts that much before the stored change time,
//! and the store's content hash drops the rows re-read unchanged.
//!
//! A database error (refused connection, bad SQL) ends the run with
//! [`ConnectorError::Unavailable`]: the last committed cursor is kept. A row with a value that
//! cannot be read is reported on its own and the rest goes on.

pub mod cursor;
mod database;
mod mysql;
mod page;
pub mod placeholders;
mod postgres;
mod redact;
mod sqlite;
pub mod tls;
mod values;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{Connector, Cursor, PullResult};
use cursor::{Param, SqlCursor};
use database::Database;
use page::{Out, Page, Stop};
use placeholders::{Dialect, Placeholder};

use crate::url::shown as shown_url;

/// Rows per page when a stream does not say.
const DEFAULT_PAGE_SIZE: u32 = 5000;

/// How long to wait for a connection when the config does not say.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one statement may run on the server when the config does not say.
const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(300);

/// Settings of the `sql` driver.
#[derive(Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlConfig {
    /// `postgres://user:password@host/db`, `mysql://…` (MySQL and MariaDB) or `sqlite://file.db`
    /// (relative to the config file, opened read-only). Put the password in the environment
    /// (`"${ERP_DB_URL}"`): it is never shown in logs or errors.
    pub url: String,
    /// The queries to run, in order; each is a stream mappings select with `stream:`.
    pub streams: Vec<StreamConfig>,
    /// How long to wait for a connection before trying again (three more tries); default `10s`.
    /// With `statement_timeout`, it also bounds the wait for any answer of the database.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub connect_timeout: Option<Duration>,
    /// How long one query may run on the server before the server cancels it and the run fails;
    /// default `5m`.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub statement_timeout: Option<Duration>,
    /// A PEM file with the CA that signed the database server's certificate (relative to the
    /// config file), for servers behind an internal CA. TLS is verified against it, or against
    /// the public web roots when unset; TLS is the default for any host but this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for SqlConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlConfig")
            .field("url", &shown_url(&self.url))
            .field("streams", &self.streams)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// One query of an sql source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// The stream's name: it becomes each record's stream, which mappings select with
    /// `stream: NAME`, and keys the stream's cursor.
    pub name: String,
    /// The SQL. With a `cursor` it must filter on `(change time, key) > (:cursor, :cursor_key)`,
    /// order by both and end with `LIMIT :limit`; without one it is read whole on every run.
    pub query: String,
    /// Incremental reading by keyset on (change time, key); without it every run reads all rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<CursorConfig>,
    /// Rows per page (`:limit`); default 5000.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Notice rows deleted from the table: every so often `deletes.keys` lists every key, and
    /// stored records whose key is gone are marked deleted, e.g.
    /// `deletes: { scan: every 24h, keys: "SELECT id FROM customers" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletes: Option<crate::connector::scan::DeleteScan>,
}

fn default_page_size() -> u32 {
    DEFAULT_PAGE_SIZE
}

/// Which columns a stream's keyset pagination follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CursorConfig {
    /// The change-time column (or any value that only grows when a row changes), as the query
    /// selects it: its value in the last row read is bound to `:cursor`.
    pub column: String,
    /// The unique key column that orders rows sharing one change time: bound to `:cursor_key`.
    pub key: String,
    /// The first run reads rows whose change time is after this value (a time such as
    /// `"1970-01-01T00:00:00Z"`, or a number for a numeric cursor).
    pub initial: Value,
    /// How far before the stored change time the next run starts again (`5m`, `1h`), so rows
    /// that an ERP transaction committed late with an older change time are still read.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    pub lookback: Option<Duration>,
}

/// The `sql` driver.
pub struct SqlConnector {
    config: SqlConfig,
    base: PathBuf,
}

impl SqlConnector {
    /// `base` is the config file's folder, against which a relative SQLite path resolves.
    pub fn new(config: SqlConfig, base: &Path) -> Self {
        Self {
            config,
            base: base.to_path_buf(),
        }
    }
}

impl Connector for SqlConnector {
    fn pull(&self, since: Option<Cursor>) -> BoxStream<'static, PullResult> {
        let (sender, receiver) = mpsc::channel(page::CHANNEL_CAPACITY);
        let mut config = self.config.clone();
        config.ca_file = config.ca_file.map(|file| self.base.join(file));
        let url = crate::url::resolve_sqlite(self.config.url.trim(), &self.base);
        tokio::spawn(async move {
            let mut out = Out::new(sender, &url);
            run(&config, &url, since, &mut out).await;
            out.flush().await;
        });
        ReceiverStream::new(receiver)
            .flat_map(futures::stream::iter)
            .boxed()
    }
}

/// Reads every stream in order; stops at the first that fails.
async fn run(config: &SqlConfig, url: &str, since: Option<Cursor>, out: &mut Out) {
    let mut state = SqlCursor::from_cursor(since);
    for stream in &config.streams {
        if let Err(message) = check(stream) {
            out.unavailable(Some(&stream.name), message).await;
            return;
        }
    }
    let timeout = config.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    let limits = tls::Limits {
        ca_file: config.ca_file.as_deref(),
        statement_timeout: config
            .statement_timeout
            .unwrap_or(DEFAULT_STATEMENT_TIMEOUT),
    };
    let database = match Database::connect(url, timeout, limits).await {
        Ok(database) => database,
        Err(error) => {
            out.unavailable(None, format!("cannot connect: {error}"))
                .await;
            return;
        }
    };
    for stream in &config.streams {
        let pulled = match pull_stream(&database, stream, &mut state, out).await {
            Ok(()) => scan_keys(&database, stream, &mut state, out).await,
            stopped => stopped,
        };
        match pulled {
            Ok(()) => {}
            Err(Stop::Cancelled) => return,
            Err(Stop::Failed(message)) => {
                out.unavailable(Some(&stream.name), message).await;
                return;
            }
        }
    }
    if out.checkpoint(state.to_cursor()).await.is_err() {
        tracing::debug!("sql pull dropped by its consumer");
    }
    database.close().await;
}

/// Lists every key of `stream` with its `deletes.keys` query when its scan is due, and yields
/// them as a key scan.
async fn scan_keys(
    database: &Database,
    stream: &StreamConfig,
    state: &mut SqlCursor,
    out: &mut Out,
) -> Result<(), Stop> {
    let Some(deletes) = &stream.deletes else {
        return Ok(());
    };
    let Some(keys) = &deletes.keys else {
        return Err(Stop::Failed(
            "`deletes` needs `keys:`, the query listing every key (`SELECT id FROM ...`)".into(),
        ));
    };
    let now = chrono::Utc::now();
    let scan = crate::connector::scan::ScanState::from_json(state.scans.get(&stream.name));
    let due = scan.due(&deletes.scan, now);
    if due {
        let query = database.prepare(keys).await?;
        let mut page = Page::collecting(&stream.name, out);
        database.fetch(&query, &[], &mut page).await?;
        let records = page.into_collected();
        out.key_scan(crate::connector::KeyScan {
            stream: std::sync::Arc::from(stream.name.as_str()),
            records,
            max_share: deletes.max_share,
        })
        .await?;
    }
    state
        .scans
        .insert(stream.name.clone(), scan.after_run(due, now));
    Ok(())
}

/// Refuses a stream whose query cannot page with its cursor settings; `concord validate` asks
/// the same before anything runs.
pub fn check(stream: &StreamConfig) -> Result<(), String> {
    let named = placeholders::rewrite(&stream.query, Dialect::Sqlite);
    let uses = |p| named.uses(p);
    if stream.page_size == 0 {
        return Err("`page_size` must be at least 1".into());
    }
    match &stream.cursor {
        Some(_) => {
            let missing: Vec<&str> = [
                (Placeholder::Cursor, ":cursor"),
                (Placeholder::CursorKey, ":cursor_key"),
                (Placeholder::Limit, ":limit"),
            ]
            .into_iter()
            .filter(|(p, _)| !uses(*p))
            .map(|(_, name)| name)
            .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "the query must use {} to page by keyset, as in `WHERE (updated_at, id) > \
                     (:cursor, :cursor_key) ORDER BY updated_at, id LIMIT :limit`",
                    missing.join(", ")
                ))
            }
        }
        None if named.binds.is_empty() => Ok(()),
        None => Err(
            "the query uses :cursor, :cursor_key or :limit but the stream has no `cursor:` \
             settings"
                .into(),
        ),
    }
}

/// Reads one stream: all of it, or page by page from its stored position.
async fn pull_stream(
    database: &Database,
    stream: &StreamConfig,
    state: &mut SqlCursor,
    out: &mut Out,
) -> Result<(), Stop> {
    let query = database.prepare(&stream.query).await?;
    let Some(cursor) = &stream.cursor else {
        let mut page = Page::new(&stream.name, None, out);
        database.fetch(&query, &[], &mut page).await?;
        return Ok(());
    };
    let (mut at, mut key) = cursor::start(
        state.streams.get(&stream.name),
        &cursor.initial,
        cursor.lookback,
    );
    let limit = i64::from(stream.page_size);
    loop {
        let params: Vec<Param> = query
            .rewritten
            .binds
            .iter()
            .map(|bind| match bind {
                Placeholder::Cursor => Param::Json(at.clone()),
                Placeholder::CursorKey => key.clone(),
                Placeholder::Limit => Param::Limit(limit),
            })
            .collect();
        let mut page = Page::new(&stream.name, Some(cursor), out);
        database.fetch(&query, &params, &mut page).await?;
        let (rows, last) = page.finish();
        let Some(last) = last else {
            return Ok(());
        };
        if rows >= limit && last.cursor == at && Param::Json(last.key.clone()) == key {
            return Err(Stop::Failed(
                "a full page did not get past the last row's (cursor, key): the query must \
                 filter on `(cursor column, key) > (:cursor, :cursor_key)` and order by both"
                    .into(),
            ));
        }
        at = last.cursor.clone();
        key = Param::Json(last.key.clone());
        state.streams.insert(stream.name.clone(), last);
        out.checkpoint(state.to_cursor()).await?;
        if rows < limit {
            return Ok(());
        }
    }
}

/// A database error as the stream's failure message.
fn failed(error: sqlx::Error) -> Stop {
    Stop::Failed(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(query: &str, cursor: bool) -> StreamConfig {
        StreamConfig {
            name: "customers".into(),
            query: query.into(),
            cursor: cursor.then(|| CursorConfig {
                column: "updated_at".into(),
                key: "id".into(),
                initial: serde_json::json!("1970-01-01T00:00:00Z"),
                lookback: None,
            }),
            page_size: 10,
            deletes: None,
        }
    }

    #[test]
    fn a_cursor_query_must_use_every_placeholder() {
        let paged = "SELECT * FROM c WHERE (updated_at, id) > (:cursor, :cursor_key) \
                     ORDER BY updated_at, id LIMIT :limit";
        assert!(check(&stream(paged, true)).is_ok());
        let error = check(&stream("SELECT * FROM c WHERE updated_at > :cursor", true)).unwrap_err();
        assert!(error.contains(":cursor_key, :limit"), "{error}");
        assert!(check(&stream("SELECT * FROM c", false)).is_ok());
        assert!(
            check(&stream(paged, false))
                .unwrap_err()
                .contains("no `cursor:`")
        );
    }

    #[test]
    fn config_parses_and_its_debug_hides_the_password() {
        let yaml = r#"
url: "postgres://erp:hunter2@db/erp"
connect_timeout: 5s
streams:
  - name: customers
    query: "SELECT * FROM c WHERE (updated_at, id) > (:cursor, :cursor_key) ORDER BY updated_at, id LIMIT :limit"
    cursor: { column: updated_at, key: id, initial: "1970-01-01T00:00:00Z", lookback: 5m }
    page_size: 500
"#;
        let config: SqlConfig = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(config.streams[0].page_size, 500);
        assert_eq!(
            config.streams[0].cursor.as_ref().unwrap().lookback,
            Some(Duration::from_secs(300))
        );
        assert_eq!(config.connect_timeout, Some(Duration::from_secs(5)));
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("hunter2") && debug.contains("erp:***@db"),
            "{debug}"
        );
        let unknown = "url: x\nstreams: []\npassword: y\n";
        assert!(serde_yaml::from_str::<SqlConfig>(unknown).is_err());
    }
}
