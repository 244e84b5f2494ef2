//! Writer locks: one writer per store, whatever starts it (a cron job, a second terminal, a second
//! daemon).
//!
//! SQLite: the whole store is one lock, an OS file lock on `<store file>.lock` beside the store
//! (the file holds who took it). PostgreSQL: one advisory lock per source, one for the outbox
//! relay and one for the write turn (reconcile and commit of a batch), each on a connection of
//! its own. Both kinds die with the process that holds them, so a crashed holder never blocks
//! for ever: the OS drops a dead process's file locks, PostgreSQL ends a dead client's session
//! (at once when its TCP connection closes, after the keepalive time when its host vanished).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection, Row};

/// How often a waiting writer tries again.
const RETRY_EVERY: Duration = Duration::from_millis(200);

/// Who holds a lock: what a refused writer is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub command: String,
    pub since: DateTime<Utc>,
}

impl Holder {
    /// This process, running `command`.
    pub fn this_process(command: &str) -> Holder {
        Holder {
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            command: command.to_string(),
            since: Utc::now(),
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`concord {}` (pid {} on {}, since {})",
            self.command,
            self.pid,
            self.host,
            self.since.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }
}

/// A lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process writes; the CLI exits with code 3 on this one.
    #[error(
        "{what} is being written by another Concord process: {holder}; try again when it ends, or give `--wait DURATION`"
    )]
    Held { what: String, holder: String },
    #[error("the writer lock {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the writer lock on PostgreSQL: {0}")]
    Database(#[from] sqlx::Error),
}

/// What is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Everything a command writes (SQLite: the store; PostgreSQL: the write turn).
    Store,
    /// One source's pulls and checkpoint (PostgreSQL; on SQLite the store lock covers it).
    Source(&'a str),
    /// The outbox relay (PostgreSQL; on SQLite the store lock covers it).
    Relay,
}

/// The locks of one store, named by its URL.
#[derive(Debug, Clone)]
pub enum Locks {
    /// A SQLite file: one OS lock on this path.
    File(PathBuf),
    /// A PostgreSQL database: advisory locks, each on its own connection.
    Postgres(String),
    /// An in-memory store lives in one process: nothing to exclude.
    None,
}

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct Lease {
    _held: Held,
}

#[derive(Debug)]
enum Held {
    Nothing,
    File { _file: File },
    Session { _session: Box<PgConnection> },
}

impl Lease {
    /// A lease that holds nothing, where the store needs no lock for a scope.
    pub fn nothing() -> Lease {
        Lease {
            _held: Held::Nothing,
        }
    }
}

impl Locks {
    /// The locks of the store at `url` (a resolved `sqlite://` path or a `postgres://` URL).
    pub fn for_url(url: &str) -> Locks {
        if let Some(rest) = url.strip_prefix("sqlite://") {
            let file = rest.split_once('?').map_or(rest, |(file, _)| file);
            if file.is_empty() || file.contains(":memory:") {
                return Locks::None;
            }
            let mut lock = PathBuf::from(file).into_os_string();
            lock.push(".lock");
            Locks::File(PathBuf::from(lock))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Locks::Postgres(url.to_string())
        } else {
            Locks::None
        }
    }

    /// True when one lock covers the whole store (SQLite): the command takes [`Scope::Store`]
    /// before it starts, and per-source and relay locks hold nothing.
    pub fn is_whole_store(&self) -> bool {
        matches!(self, Locks::File(_) | Locks::None)
    }

    /// Takes the lock of `scope` for `command`, waiting up to `wait` (refusing at once without).
    pub async fn acquire(
        &self,
        scope: Scope<'_>,
        command: &str,
        wait: Option<Duration>,
    ) -> Result<Lease, LockError> {
        let deadline = wait.map(|wait| tokio::time::Instant::now() + wait);
        loop {
            let refused = match self.try_acquire(scope, command).await? {
                Ok(lease) => return Ok(lease),
                Err(refused) => refused,
            };
            match deadline {
                Some(deadline) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(RETRY_EVERY).await
                }
                _ => return Err(refused),
            }
        }
    }

    /// Waits as long as it takes for the turn at reconciling and committing among the instances
    /// sharing a PostgreSQL store. On SQLite the store lock the command holds already keeps every
    /// other process out.
    pub async fn write_turn(&self, command: &str) -> Result<Lease, LockError> {
        let Locks::Postgres(url) = self else {
            return Ok(Lease::nothing());
        };
        let mut session = session(url, command).await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(key(Scope::Store, url))
            .execute(&mut session)
            .await?;
        Ok(Lease {
            _held: Held::Session {
                _session: Box::new(session),
            },
        })
    }

    /// One attempt: the lease, or the refusal naming the holder.
    async fn try_acquire(
        &self,
        scope: Scope<'_>,
        command: &str,
    ) -> Result<Result<Lease, LockError>, LockError> {
        match (self, scope) {
            (Locks::None, _) => Ok(Ok(Lease::nothing())),
            (Locks::File(path), Scope::Store) => try_lock_file(path, command),
            (Locks::File(_), _) => Ok(Ok(Lease::nothing())),
            (Locks::Postgres(url), scope) => try_lock_session(url, scope, command).await,
        }
    }
}

fn file_error(path: &Path) -> impl Fn(std::io::Error) -> LockError + '_ {
    move |source| LockError::File {
        path: path.to_path_buf(),
        source,
    }
}

fn try_lock_file(path: &Path, command: &str) -> Result<Result<Lease, LockError>, LockError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(file_error(path))?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(file_error(path))?;
    match file.try_lock() {
        Ok(()) => {
            let holder = serde_json::to_string(&Holder::this_process(command))
                .map_err(|e| file_error(path)(e.into()))?;
            file.set_len(0).map_err(file_error(path))?;
            file.seek(SeekFrom::Start(0)).map_err(file_error(path))?;
            file.write_all(holder.as_bytes())
                .map_err(file_error(path))?;
            Ok(Ok(Lease {
                _held: Held::File { _file: file },
            }))
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            // The holder writes its name just after taking the lock: an empty file is a holder
            // that has not written it yet.
            let holder = match file.read_to_string(&mut text) {
                Ok(_) => serde_json::from_str::<Holder>(&text)
                    .map(|h| h.to_string())
                    .unwrap_or_else(|_| "a process that has not said who it is yet".into()),
                Err(_) => "a process whose name cannot be read".into(),
            };
            let store = path.with_extension("");
            Ok(Err(LockError::Held {
                what: format!("the store {}", store.display()),
                holder,
            }))
        }
        Err(std::fs::TryLockError::Error(error)) => Err(file_error(path)(error)),
    }
}

/// The advisory-lock key of a scope in the store at `url`: stable across versions and instances.
/// Advisory locks are per database, so stores in different schemas of one database (named by the
/// URL's `options=-csearch_path=…`) get keys of their own.
fn key(scope: Scope<'_>, url: &str) -> i64 {
    let schema = url
        .split_once('?')
        .map(|(_, query)| query)
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("options="))
        .unwrap_or_default();
    let name = match scope {
        Scope::Store => format!("concord:{schema}:write-turn"),
        Scope::Source(source) => format!("concord:{schema}:source:{source}"),
        Scope::Relay => format!("concord:{schema}:relay"),
    };
    let hash = blake3::hash(name.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hash.as_bytes()[..8]);
    i64::from_be_bytes(bytes)
}

/// A session of its own, named after its holder so a refused writer can say who holds the lock.
async fn session(url: &str, command: &str) -> Result<PgConnection, LockError> {
    let holder = Holder::this_process(command);
    // PostgreSQL keeps 63 bytes of an application name.
    let name: String = format!(
        "concord {} pid {} {} {}",
        holder.command,
        holder.pid,
        holder.host,
        holder.since.format("%Y-%m-%dT%H:%M:%SZ")
    )
    .chars()
    .take(63)
    .collect();
    let options = PgConnectOptions::from_str(url)?.application_name(&name);
    Ok(options.connect().await?)
}

async fn try_lock_session(
    url: &str,
    scope: Scope<'_>,
    command: &str,
) -> Result<Result<Lease, LockError>, LockError> {
    let mut session = session(url, command).await?;
    let key = key(scope, url);
    let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(&mut session)
        .await?;
    if taken {
        return Ok(Ok(Lease {
            _held: Held::Session {
                _session: Box::new(session),
            },
        }));
    }
    // A bigint advisory key shows in pg_locks as its high half (classid) and low half (objid).
    let holder = sqlx::query(
        "SELECT a.application_name, a.client_addr::text AS addr FROM pg_locks l \
         JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
         AND l.classid::bigint = $1 AND l.objid::bigint = $2 LIMIT 1",
    )
    .bind((key >> 32) & 0xffff_ffff)
    .bind(key & 0xffff_ffff)
    .fetch_optional(&mut session)
    .await?;
    session.close().await.ok();
    let holder = match holder {
        Some(row) => {
            let name: Option<String> = row.try_get("application_name").ok();
            let addr: Option<String> = row.try_get("addr").ok().flatten();
            format!(
                "`{}`{}",
                name.unwrap_or_default(),
                addr.map(|a| format!(" from {a}")).unwrap_or_default()
            )
        }
        None => "a session that has just let go".into(),
    };
    let what = match scope {
        Scope::Store => "the store's write turn".to_string(),
        Scope::Source(source) => format!("source `{source}`"),
        Scope::Relay => "the outbox relay".to_string(),
    };
    Ok(Err(LockError::Held { what, holder }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_writer_is_refused_naming_the_first_and_gets_the_lock_once_it_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/concord.db", dir.path().display());
        let locks = Locks::for_url(&url);
        let first = locks.acquire(Scope::Store, "sync", None).await.unwrap();
        let refused = locks
            .acquire(Scope::Store, "publish", Some(Duration::from_millis(300)))
            .await
            .unwrap_err()
            .to_string();
        assert!(refused.contains("`concord sync`"), "{refused}");
        assert!(
            refused.contains(&format!("pid {}", std::process::id())),
            "{refused}"
        );
        drop(first);
        locks.acquire(Scope::Store, "publish", None).await.unwrap();
    }

    #[tokio::test]
    async fn a_waiting_writer_gets_the_lock_when_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let locks = Locks::for_url(&format!("sqlite://{}/c.db", dir.path().display()));
        let first = locks.acquire(Scope::Store, "sync", None).await.unwrap();
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            drop(first);
        });
        locks
            .acquire(Scope::Store, "sync", Some(Duration::from_secs(10)))
            .await
            .unwrap();
        release.await.unwrap();
    }

    #[test]
    fn keys_differ_per_scope_and_memory_stores_need_no_lock() {
        let url = "postgres://h/db";
        assert_ne!(key(Scope::Source("a"), url), key(Scope::Source("b"), url));
        assert_ne!(key(Scope::Relay, url), key(Scope::Store, url));
        assert_ne!(
            key(Scope::Relay, url),
            key(
                Scope::Relay,
                "postgres://h/db?options=-csearch_path%3Dother"
            )
        );
        assert!(matches!(Locks::for_url("sqlite::memory:"), Locks::None));
        assert!(matches!(
            Locks::for_url("postgres://x/y"),
            Locks::Postgres(_)
        ));
    }

    fn pg_url() -> String {
        std::env::var("CONCORD_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
    }

    #[tokio::test]
    async fn on_postgres_a_source_is_held_by_one_session_at_a_time() {
        let locks = Locks::for_url(&pg_url());
        let source = format!("lock-test-{}", std::process::id());
        let first = locks
            .acquire(Scope::Source(&source), "run", None)
            .await
            .unwrap();
        let refused = locks
            .acquire(Scope::Source(&source), "sync", None)
            .await
            .unwrap_err()
            .to_string();
        assert!(refused.contains("concord run pid"), "{refused}");
        // Other sources and the relay are free.
        locks
            .acquire(Scope::Source(&format!("{source}-other")), "run", None)
            .await
            .unwrap();
        drop(first);
        locks
            .acquire(Scope::Source(&source), "sync", Some(Duration::from_secs(5)))
            .await
            .unwrap();
    }
}
