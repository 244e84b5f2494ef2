//! The unified store: golden records with versions and lineage, cross-references, sync runs,
//! checkpoints, quarantine and the outbox.
//!
//! A trait with one implementation per engine (SQLite and PostgreSQL), not sqlx's `Any`
//! driver, so each engine can use its own fast paths. A sync batch, its checkpoint and its outbox
//! rows are written by one [`BatchWriter::commit`], in one transaction. The trait is split by role
//! (`roles.rs`): each caller takes the narrowest one it needs.

mod columns;
pub mod directory;
mod lineage_text;
pub mod lock;
mod matching;
mod parked;
mod postgres;
mod roles;
mod sqlite;
mod value;

pub use directory::{Directory, GoldenSummary, RunRow, SearchQuery};
pub use matching::{
    BlockKeyWrite, Decision, DecisionWrite, MatchWrites, MergeWrite, ReferenceWrite, Relink,
    ReviewItem, ReviewStatus, ReviewWrite, StoredMember, TermCountWrite, TermCounts,
};
pub use parked::ParkedEvent;
pub use postgres::PgStore;
pub use roles::{Audit, BatchWriter, MatchIndex, Outbox, Quarantine, RunLog, Stewardship, Store};
pub use sqlite::SqliteStore;
pub use value::{CustomerValues, ValueEvent, ValueWrite};

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

pub use crate::model::{Event, FieldSource, Fields, Lineage, Operation};

use crate::model::EntityKind;

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {url}: {source}")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("store: {0}")]
    Query(#[from] sqlx::Error),
    #[error("store schema migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("store holds a value it cannot read: {0}")]
    Corrupt(String),
    #[error("unsupported store URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DATABASE")]
    Unsupported(String),
    #[error("this store cannot {0} yet")]
    NotSupported(&'static str),
}

/// A reference whose target has not arrived, for `concord refs --pending` and `show`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingReference {
    /// The order or BOM that makes the reference.
    pub referrer_id: String,
    /// The source whose key the reference holds.
    pub source: String,
    pub entity: EntityKind,
    pub key: String,
    /// When the reference was first stored; unknown for references stored before this was kept.
    pub since: Option<DateTime<Utc>>,
}

/// What the store knows of one source record.
#[derive(Debug, Clone, PartialEq)]
pub struct XrefHit {
    pub golden_id: String,
    /// Hash of the record as last mapped; an equal hash means nothing changed.
    pub content_hash: Vec<u8>,
}

/// One source record that belongs to a golden record, in its last mapped form.
#[derive(Debug, Clone, PartialEq)]
pub struct Contributor {
    pub source: String,
    pub key: String,
    pub record: Fields,
    pub changed_at: Option<DateTime<Utc>>,
    pub deleted: bool,
    /// File and position (or URL) the record was last read from.
    pub origin: String,
    /// When each field's value last changed at the source; a field missing here changed at
    /// `changed_at`.
    pub field_times: FieldTimes,
}

/// Field name → when its value last changed at the source (survivorship compares these).
pub type FieldTimes = BTreeMap<String, DateTime<Utc>>;

impl Contributor {
    /// When `field`'s value last changed at the source.
    pub fn field_time(&self, field: &str) -> Option<DateTime<Utc>> {
        self.field_times.get(field).copied().or(self.changed_at)
    }
}

/// A golden record with the source records it is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct GoldenState {
    pub id: String,
    pub entity: EntityKind,
    pub version: i64,
    pub record: Fields,
    pub lineage: Lineage,
    pub deleted: bool,
    pub contributors: Vec<Contributor>,
}

/// A source record to insert or replace in the cross-reference.
#[derive(Debug, Clone, PartialEq)]
pub struct XrefWrite {
    pub source: String,
    pub entity: EntityKind,
    pub key: String,
    pub golden_id: String,
    pub content_hash: Vec<u8>,
    /// The mapped record (references linked) as JSON text: serialized once, on the hot path.
    pub record_text: String,
    pub changed_at: Option<DateTime<Utc>>,
    pub deleted: bool,
    pub origin: String,
    /// When each field's value last changed at the source.
    pub field_times: FieldTimes,
}

/// A normalized match-key value that now points at a golden record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchKeyWrite {
    pub entity: EntityKind,
    pub rule: String,
    pub value: String,
    pub golden_id: String,
}

/// A new version of a golden record (version 1 creates it).
#[derive(Debug, Clone, PartialEq)]
pub struct GoldenWrite {
    pub id: String,
    pub entity: EntityKind,
    pub version: i64,
    pub record: Fields,
    pub lineage: Lineage,
    pub deleted: bool,
    /// The fields whose values differ from the previous version.
    pub changed: Vec<String>,
}

/// An event as reconciliation writes it: the payload is the golden version it announces.
#[derive(Debug, Clone, PartialEq)]
pub struct EventWrite {
    /// Unique and stable: consumers de-duplicate on it.
    pub event_id: String,
    pub entity: EntityKind,
    pub operation: Operation,
    pub golden_id: String,
    /// The version written in the same batch.
    pub version: i64,
    /// For a `merged` event: the golden IDs folded into `golden_id`.
    pub merged: Vec<String>,
    pub at: DateTime<Utc>,
}

/// An outbox row: an event with its position and whether it has been published.
#[derive(Debug, Clone, Serialize)]
pub struct StoredEvent {
    pub seq: i64,
    #[serde(flatten)]
    pub event: Event,
    pub published_at: Option<DateTime<Utc>>,
}

/// A record that could not be mapped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuarantineEntry {
    pub source: String,
    pub origin: String,
    pub key: Option<String>,
    pub mapping: Option<String>,
    pub reason: String,
    pub payload: Value,
    /// The stream the record came from (an endpoint, a query, a tap stream), for replaying it
    /// through the mappings of that stream.
    pub stream: Option<String>,
}

/// A stored record's data-quality note: an optional field left empty because its value could not
/// be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityEntry {
    pub source: String,
    /// The record's key in its source.
    pub key: String,
    /// Where the record was read (`file:line`, `file#n`).
    pub origin: String,
    /// The field left empty (`date_of_birth`, `addresses[2].country`).
    pub field: String,
    /// Why, naming the value.
    pub reason: String,
}

/// A quality note as stored, with the last run that met it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredQualityNote {
    pub run_id: i64,
    #[serde(flatten)]
    pub entry: QualityEntry,
    pub at: DateTime<Utc>,
}

impl QuarantineEntry {
    /// Identifies the same failure of the same record, so a re-sync does not pile up duplicates.
    pub fn fingerprint(&self) -> Vec<u8> {
        let mut hasher = blake3::Hasher::new();
        for part in [&self.source, &self.origin, &self.reason] {
            hasher.update(part.as_bytes());
            hasher.update(&[0]);
        }
        hasher.update(self.payload.to_string().as_bytes());
        hasher.finalize().as_bytes()[..16].to_vec()
    }
}

/// A quarantined record as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredQuarantine {
    pub id: i64,
    /// The last run that met the failure.
    pub run_id: i64,
    /// How many runs met it.
    pub times_seen: i64,
    #[serde(flatten)]
    pub entry: QuarantineEntry,
    pub at: DateTime<Utc>,
    /// When `concord quarantine replay` stored the record; kept for audit.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// One version of a golden record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionRow {
    pub version: i64,
    pub record: Fields,
    pub lineage: Lineage,
    pub changed: Vec<String>,
    pub deleted: bool,
    pub run_id: i64,
    pub at: DateTime<Utc>,
}

/// Everything one batch changes, committed in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub run_id: i64,
    pub source: String,
    pub xrefs: Vec<XrefWrite>,
    pub match_keys: Vec<MatchKeyWrite>,
    pub goldens: Vec<GoldenWrite>,
    pub events: Vec<EventWrite>,
    pub quarantine: Vec<QuarantineEntry>,
    /// Data-quality notes of records stored with an optional value left empty.
    pub quality: Vec<QualityEntry>,
    /// The source's cursor after this batch, when the batch reached a checkpoint.
    pub checkpoint: Option<Value>,
    /// Matching state: block values, decisions, review items, merges, references.
    pub matching: MatchWrites,
}

impl Batch {
    /// True when committing would write nothing.
    pub fn is_empty(&self) -> bool {
        self.xrefs.is_empty()
            && self.match_keys.is_empty()
            && self.goldens.is_empty()
            && self.events.is_empty()
            && self.quarantine.is_empty()
            && self.quality.is_empty()
            && self.checkpoint.is_none()
            && self.matching.is_empty()
    }
}

/// How a sync run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Succeeded,
    Failed,
}

/// Row counts, for summaries and tests.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Live (not deleted, not merged away) golden records per entity.
    pub golden: BTreeMap<String, i64>,
    pub versions: i64,
    pub xrefs: i64,
    pub events: i64,
    pub unpublished_events: i64,
    /// When the oldest event still waiting in the outbox was stored (RFC 3339), for the age a
    /// daemon reports: a growing age means the bus is not taking events.
    pub oldest_unpublished_at: Option<String>,
    pub quarantined: i64,
    /// Review items waiting for a steward.
    pub open_reviews: i64,
}

/// Opens the store a URL names for a command that only reads: on SQLite with a small page cache,
/// so listing millions of rows holds little memory.
pub async fn open_reader(url: &str) -> Result<Box<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Box::new(SqliteStore::open_reader(url).await?))
    } else {
        open(url).await
    }
}

/// Opens the store a URL names, creating and migrating it when needed.
pub async fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Box::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Box::new(PgStore::open(url).await?))
    } else {
        Err(StoreError::Unsupported(crate::url::shown(url)))
    }
}
