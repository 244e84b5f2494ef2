//! The application layer: one function per command, called by the command line and by the
//! daemon alike (`sync` is one run of what `run` schedules). `main.rs` only parses arguments.
//!
//! Every command that writes takes the store's writer lock before it reads anything it will
//! write; commands that only read never wait for it.

mod find;
mod inspect;
mod mapping_tests;
pub mod output;
pub mod publish;
mod quarantine;
mod run;
mod schema;
mod steward;
mod sync;
mod value;

pub use find::{find, headline, search};
pub use inspect::{
    RecordView, events, explain, golden_record, preview, preview_diff, quality, quarantine, refs,
    show, validate,
};
pub use mapping_tests::test;
pub use output::Format;
pub use publish::{publish, replay};
pub use quarantine::quarantine_replay;
pub use run::run;
pub use run::stop_on_signal;
pub use schema::schema;
pub use steward::{
    decide_review, decide_review_in_service, rescore, review_accept, review_list, review_reject,
    train, unmerge,
};
pub use sync::sync;
pub use value::value;

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Config, ConfigError};
use crate::model::EntityKind;
use crate::store::lock::{Lease, LockError, Locks, Scope};
use crate::store::{self, MatchIndex, Store, StoreError};

/// What every command is given besides its own arguments.
#[derive(Debug, Clone)]
pub struct Context {
    /// The config file.
    pub config: PathBuf,
    /// How long a writing command waits for another writer to finish; refused at once without.
    pub wait: Option<Duration>,
}

/// How a command ended when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything was done.
    Done,
    /// Some work is left (a file that could not be read, events still in the outbox); what was
    /// done is stored.
    Incomplete,
}

/// Why a command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Sync(#[from] crate::sync::SyncError),
    #[error("the store {url}: {source}")]
    Store {
        url: String,
        #[source]
        source: StoreError,
    },
    #[error(transparent)]
    StoreQuery(#[from] StoreError),
    /// Another process writes; the command line exits with code 3.
    #[error(transparent)]
    Locked(#[from] LockError),
    #[error(transparent)]
    Steward(#[from] crate::reconcile::steward::StewardError),
    #[error(transparent)]
    Train(#[from] crate::reconcile::train::TrainError),
    #[error("match rules: {0}")]
    MatchRules(#[from] crate::yaml::YamlError),
    #[error(transparent)]
    Publish(#[from] crate::publish::PublishError),
    #[error(transparent)]
    Daemon(#[from] crate::daemon::DaemonError),
    #[error(transparent)]
    Value(#[from] crate::value::ValueError),
    #[error("{0}")]
    Usage(String),
    /// What was asked for is not in the store (the HTTP API answers 404).
    #[error("{0}")]
    NotFound(String),
}

impl AppError {
    /// True when the command was refused because another process holds the writer lock.
    pub fn is_locked(&self) -> bool {
        matches!(
            self,
            AppError::Locked(LockError::Held { .. })
                | AppError::Sync(crate::sync::SyncError::Lock(LockError::Held { .. }))
        )
    }
}

/// Loads the config a command names.
pub(crate) fn load(context: &Context) -> Result<Config, AppError> {
    Ok(Config::load(&context.config)?)
}

/// Opens the configured store for reading.
pub(crate) async fn open_store(config: &Config) -> Result<Box<dyn Store>, AppError> {
    let url = config.store_url();
    store::open_reader(&url).await.map_err(store_error(&url))
}

/// A store that could not be opened, named by its URL without secrets.
fn store_error(url: &str) -> impl FnOnce(StoreError) -> AppError {
    let url = crate::url::shown(url);
    move |source| AppError::Store { url, source }
}

/// What a writing command writes, which decides the lock it takes on a shared store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writes {
    /// Sources' records (`sync`): each source and each batch's write turn are locked as the run
    /// reaches them.
    Sources,
    /// The outbox's published marks (`publish`, `events replay`): the relay lock.
    Outbox,
    /// Golden records outside a source run (stewardship, training): the write turn.
    Golden,
}

/// Takes the writer lock for `command`, then opens the store. On SQLite that is the lock of the
/// whole store whatever the command writes; on PostgreSQL the lock of what it writes.
async fn open_writer(
    config: &Config,
    context: &Context,
    command: &str,
    writes: Writes,
) -> Result<(Box<dyn Store>, Lease), AppError> {
    let url = config.store_url();
    let locks = Locks::for_url(&url);
    let lease = match writes {
        _ if locks.is_whole_store() => locks.acquire(Scope::Store, command, context.wait).await?,
        // The run takes each source's lock and each batch's turn as it reaches them.
        Writes::Sources => Lease::nothing(),
        Writes::Outbox => locks.acquire(Scope::Relay, command, context.wait).await?,
        Writes::Golden => locks.write_turn(command).await?,
    };
    let store = store::open(&url).await.map_err(store_error(&url))?;
    Ok((store, lease))
}

/// An entity named on the command line.
fn entity(name: &str) -> Result<EntityKind, AppError> {
    EntityKind::parse(name).ok_or_else(|| {
        AppError::Usage(format!(
            "unknown entity `{name}`: use customer, product, order or bom"
        ))
    })
}

/// The golden ID an argument names: itself, or the golden record of a `SOURCE:KEY`.
async fn golden_id(store: &dyn MatchIndex, kind: EntityKind, id: &str) -> Result<String, AppError> {
    let Some((source, key)) = id.split_once(':') else {
        return Ok(id.to_string());
    };
    let hits = store.xref_lookup(source, kind, &[key]).await?;
    match hits.get(key) {
        Some(hit) => Ok(hit.golden_id.clone()),
        None => Err(AppError::NotFound(format!(
            "source `{source}` has delivered no {kind} with key `{key}`"
        ))),
    }
}
