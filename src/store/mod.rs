//! The unified store: golden records with versions and lineage, cross-references, sync runs,
//! checkpoints, quarantine and the outbox.
//!
//! A trait with one implementation per engine (SQLite and PostgreSQL), not sqlx's `Any`
//! driver, so each engine can use its own fast paths. A sync batch, its checkpoint and its outbox
//! rows are written by one [`Store::commit`], in one transaction.

mod columns;
mod lineage_text;
pub mod lock;
mod matching;
mod parked;
mod postgres;
mod sqlite;

pub use matching::{
    BlockKeyWrite, Decision, DecisionWrite, MatchWrites, MergeWrite, ReferenceWrite, Relink,
    ReviewItem, ReviewStatus, ReviewWrite, StoredMember, TermCountWrite,
};
pub use parked::ParkedEvent;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// The store's operations. Every method is one statement or one transaction.
#[async_trait]
pub trait Store: Send + Sync {
    /// Records the start of a sync run of `source`; returns its ID.
    async fn begin_run(&self, source: &str, full: bool) -> Result<i64, StoreError>;
    /// Records how a run ended, with its counters.
    async fn finish_run(
        &self,
        run_id: i64,
        status: RunStatus,
        stats: &Value,
        error: Option<&str>,
    ) -> Result<(), StoreError>;
    /// The cursor last committed for `source`.
    async fn checkpoint(&self, source: &str) -> Result<Option<Value>, StoreError>;
    /// Looks up source records by key.
    async fn xref_lookup(
        &self,
        source: &str,
        entity: EntityKind,
        keys: &[&str],
    ) -> Result<HashMap<String, XrefHit>, StoreError>;
    /// Looks up normalized match-key values of one rule; returns value → golden ID.
    async fn match_lookup(
        &self,
        entity: EntityKind,
        rule: &str,
        values: &[&str],
    ) -> Result<HashMap<String, String>, StoreError>;
    /// Loads golden records with their contributors; unknown IDs are left out.
    async fn load_goldens(&self, ids: &[&str]) -> Result<Vec<GoldenState>, StoreError>;
    /// Writes a batch, its checkpoint and its events in one transaction.
    async fn commit(&self, batch: &Batch) -> Result<(), StoreError>;
    /// Starts [`Store::commit`] on a task of its own and returns at once, so the caller can
    /// prepare the next batch while this one is written.
    fn spawn_commit(&self, batch: Arc<Batch>) -> tokio::task::JoinHandle<Result<(), StoreError>>;
    /// The version history of a golden record, oldest first.
    async fn history(&self, id: &str) -> Result<Vec<VersionRow>, StoreError>;
    /// Outbox events in order, from `after_seq` on, at most `limit`.
    async fn events(&self, after_seq: i64, limit: i64) -> Result<Vec<StoredEvent>, StoreError>;
    /// Open (not replayed) quarantined records, newest first, at most `limit`.
    async fn quarantined(&self, limit: i64) -> Result<Vec<StoredQuarantine>, StoreError>;
    /// The sources that hold records in the store (live or deleted), by name.
    async fn stored_sources(&self) -> Result<Vec<String>, StoreError>;
    /// Data-quality notes, newest first; with `key`, only those of that source record
    /// (`source`, `key`).
    async fn quality_notes(
        &self,
        record: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<StoredQualityNote>, StoreError>;
    /// Row counts.
    async fn counts(&self) -> Result<Counts, StoreError>;
    /// IDs of the live golden records of one entity, for listings and tests.
    async fn golden_ids(&self, entity: EntityKind, limit: i64) -> Result<Vec<String>, StoreError>;
    /// Outbox events not yet published, in order, from `after_seq` on, at most `limit`.
    async fn pending_events(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError>;
    /// Marks outbox events published (the broker acknowledged them); a row already marked keeps
    /// its first publication time.
    async fn mark_published(&self, seqs: &[i64]) -> Result<(), StoreError>;
    /// The sequence number of the first event stored at or after `time`, for replays.
    async fn first_seq_since(&self, time: DateTime<Utc>) -> Result<Option<i64>, StoreError>;
    /// The sequence number of the event with this ID, for replays.
    async fn event_seq(&self, event_id: &str) -> Result<Option<i64>, StoreError>;
    /// Sets an unpublished event aside with the broker's reason: the relay skips it from now on.
    async fn park_event(&self, seq: i64, reason: &str) -> Result<(), StoreError>;
    /// Parked events, oldest first, at most `limit`.
    async fn parked_events(&self, limit: i64) -> Result<Vec<ParkedEvent>, StoreError>;
    /// Puts a parked event back in line; false when no parked event has this ID.
    async fn unpark_event(&self, event_id: &str) -> Result<bool, StoreError>;

    /// Golden IDs sharing each block value, for scored matching.
    async fn block_lookup(
        &self,
        entity: EntityKind,
        values: &[&str],
    ) -> Result<HashMap<String, Vec<String>>, StoreError>;
    /// The current records of live golden records (neither deleted nor merged away).
    async fn golden_records(&self, ids: &[&str]) -> Result<HashMap<String, Fields>, StoreError>;
    /// The live source records of these golden records, as `(golden ID, record)`: a new record
    /// is compared with each, since one noisy copy may hide behind the golden record's values.
    async fn member_records(&self, ids: &[&str]) -> Result<Vec<(String, Fields)>, StoreError>;
    /// Where a golden ID leads: itself, or the record it was merged into (followed to the end);
    /// `None` for an unknown ID.
    async fn resolve_id(&self, id: &str) -> Result<Option<String>, StoreError>;
    /// The IDs that were merged into `id`, directly or through other merges.
    async fn merged_into(&self, id: &str) -> Result<Vec<String>, StoreError>;
    /// Among pairs of these IDs, the ones never to merge automatically (each as `(smaller, larger)`).
    async fn distinct_pairs(&self, ids: &[&str]) -> Result<HashSet<(String, String)>, StoreError>;
    /// Review items, oldest first; only those with `status` when given.
    async fn reviews(
        &self,
        status: Option<ReviewStatus>,
        limit: i64,
    ) -> Result<Vec<ReviewItem>, StoreError>;
    /// One review item.
    async fn review(&self, id: i64) -> Result<Option<ReviewItem>, StoreError>;
    /// Match decisions that put records into, or compared them with, these golden records.
    async fn decisions(&self, golden_ids: &[&str]) -> Result<Vec<Decision>, StoreError>;
    /// References still waiting for a target of `entity` with one of these keys (any source).
    async fn pending_references(
        &self,
        entity: EntityKind,
        keys: &[&str],
    ) -> Result<Vec<ReferenceWrite>, StoreError>;
    /// The live source records of one entity, as last mapped, for training match weights.
    async fn source_records(&self, entity: EntityKind) -> Result<Vec<Fields>, StoreError>;
    /// Golden IDs of the orders and BOMs that refer to these golden records.
    async fn referrers_of(&self, target_ids: &[&str]) -> Result<Vec<String>, StoreError>;
    /// The keys of `source`'s live (not deleted) records of `entity`, for key scans.
    async fn source_keys(
        &self,
        _source: &str,
        _entity: EntityKind,
    ) -> Result<Vec<String>, StoreError> {
        Err(StoreError::NotSupported("list a source's keys"))
    }
    /// References whose target has not arrived, oldest first; only `referrer`'s when given.
    async fn pending_reference_list(
        &self,
        _referrer: Option<&str>,
        _limit: i64,
    ) -> Result<Vec<PendingReference>, StoreError> {
        Err(StoreError::NotSupported("list pending references"))
    }
    /// Every live source record of one entity with its golden ID, for `reconcile rescore`.
    async fn stored_members(&self, entity: EntityKind) -> Result<Vec<StoredMember>, StoreError>;
    /// How often these values of a term (`family_name`, `street`) occur, with the totals.
    async fn term_counts(
        &self,
        entity: EntityKind,
        term: &str,
        values: &[&str],
    ) -> Result<crate::reconcile::frequency::TermCounts, StoreError>;

    // ---- Quarantine replay (`concord quarantine replay`, migration 0008) ----

    /// Quarantined records, newest first, at most `limit`, resolved ones included
    /// (`concord quarantine --all`).
    async fn quarantined_all(&self, limit: i64) -> Result<Vec<StoredQuarantine>, StoreError>;
    /// Open quarantine entries of `source` that a mapping refused and that hold the record as
    /// read: what a replay runs through the mappings again. Oldest first, after ID `after_id`,
    /// at most `limit`.
    async fn quarantine_to_replay(
        &self,
        source: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredQuarantine>, StoreError>;
    /// Marks replayed entries resolved: their records are stored; the entries stay for audit.
    async fn resolve_quarantine(&self, ids: &[i64]) -> Result<(), StoreError>;
    /// A replayed entry that still fails: it takes the new reason and mapping of `entry`.
    async fn requarantine(&self, id: i64, entry: &QuarantineEntry) -> Result<(), StoreError>;
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
