//! The store's roles: each caller asks for the one it needs (the relay an [`Outbox`], matching a
//! [`MatchIndex`]), so what a stage may touch is visible in its signature. [`Store`] is all of them,
//! for the commands that open a store and hand its parts on.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::CustomerValues;
use super::directory::Directory;
use super::{
    Batch, Counts, Decision, Fields, GoldenState, ParkedEvent, PendingReference, QuarantineEntry,
    ReferenceWrite, ReviewItem, ReviewStatus, RunStatus, StoreError, StoredEvent, StoredMember,
    StoredQualityNote, StoredQuarantine, VersionRow, XrefHit,
};
use crate::model::EntityKind;

/// Sync runs, their counters and the cursors they leave: what a run reads first and writes last, and what an operator's health check asks.
#[async_trait]
pub trait RunLog: Send + Sync {
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
    /// The sources that hold records in the store (live or deleted), by name.
    async fn stored_sources(&self) -> Result<Vec<String>, StoreError>;
    /// Row counts.
    async fn counts(&self) -> Result<Counts, StoreError>;
}

/// The one way anything is written: a batch, its checkpoint and its events in one transaction.
#[async_trait]
pub trait BatchWriter: Send + Sync {
    /// Writes a batch, its checkpoint and its events in one transaction.
    async fn commit(&self, batch: &Batch) -> Result<(), StoreError>;
    /// Starts [`BatchWriter::commit`] on a task of its own and returns at once, so the caller can
    /// prepare the next batch while this one is written.
    fn spawn_commit(&self, batch: Arc<Batch>) -> tokio::task::JoinHandle<Result<(), StoreError>>;
}

/// What matching reads while it decides where a record belongs: cross-references, match keys, blocks, golden records and the links between them.
#[async_trait]
pub trait MatchIndex: Send + Sync {
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
    /// Golden IDs sharing each block value, for scored matching.
    async fn block_lookup(
        &self,
        entity: EntityKind,
        values: &[&str],
    ) -> Result<HashMap<String, Vec<String>>, StoreError>;
    /// Hands every block value of `entity` with its golden ID to `each`, in one scan, so that a
    /// sync run can hold the whole block index and answer a value it does not hold as absent
    /// without asking. `false`, without a call, where a run's own batches are not the only
    /// writer while it runs (PostgreSQL locks per source: other instances add block values
    /// meanwhile), so the run asks value by value instead.
    async fn block_index(
        &self,
        entity: EntityKind,
        each: &mut (dyn for<'v> FnMut(&'v str, &'v str) + Send),
    ) -> Result<bool, StoreError> {
        let _ = (entity, each);
        Ok(false)
    }
    /// The current records of live golden records (neither deleted nor merged away).
    async fn golden_records(&self, ids: &[&str]) -> Result<HashMap<String, Fields>, StoreError>;
    /// The live source records of these golden records: a new record is compared with each,
    /// since one noisy copy may hide behind the golden record's values. Each comes with its key,
    /// so that a newer copy of it in a batch not yet committed can stand in for it.
    async fn member_records(&self, ids: &[&str]) -> Result<Vec<StoredMember>, StoreError>;
    /// Where a golden ID leads: itself, or the record it was merged into (followed to the end);
    /// `None` for an unknown ID.
    async fn resolve_id(&self, id: &str) -> Result<Option<String>, StoreError>;
    /// The IDs that were merged into `id`, directly or through other merges.
    async fn merged_into(&self, id: &str) -> Result<Vec<String>, StoreError>;
    /// Among pairs of these IDs, the ones never to merge automatically (each as `(smaller, larger)`).
    async fn distinct_pairs(&self, ids: &[&str]) -> Result<HashSet<(String, String)>, StoreError>;
    /// References still waiting for a target of `entity` with one of these keys (any source).
    async fn pending_references(
        &self,
        entity: EntityKind,
        keys: &[&str],
    ) -> Result<Vec<ReferenceWrite>, StoreError>;
    /// Golden IDs of the orders and BOMs that refer to these golden records.
    async fn referrers_of(&self, target_ids: &[&str]) -> Result<Vec<String>, StoreError>;
    /// The keys of `source`'s live (not deleted) records of `entity`, for key scans.
    async fn source_keys(
        &self,
        source: &str,
        entity: EntityKind,
    ) -> Result<Vec<String>, StoreError>;
    /// How often these values of a term (`family_name`, `street`) occur, with the totals.
    async fn term_counts(
        &self,
        entity: EntityKind,
        term: &str,
        values: &[&str],
    ) -> Result<crate::store::TermCounts, StoreError>;
}

/// The events waiting for the bus and the relay's bookkeeping of them: read in order, marked once, parked when the broker refuses them for good.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Outbox events in order, from `after_seq` on, at most `limit`.
    async fn events(&self, after_seq: i64, limit: i64) -> Result<Vec<StoredEvent>, StoreError>;
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
}

/// What people inspect after the fact: version history, data-quality notes, match decisions and references still waiting.
#[async_trait]
pub trait Audit: Send + Sync {
    /// The version history of a golden record, oldest first.
    async fn history(&self, id: &str) -> Result<Vec<VersionRow>, StoreError>;
    /// Data-quality notes, newest first; with `key`, only those of that source record
    /// (`source`, `key`).
    async fn quality_notes(
        &self,
        record: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<StoredQualityNote>, StoreError>;
    /// IDs of the live golden records of one entity, for listings and tests.
    async fn golden_ids(&self, entity: EntityKind, limit: i64) -> Result<Vec<String>, StoreError>;
    /// Match decisions that put records into, or compared them with, these golden records.
    async fn decisions(&self, golden_ids: &[&str]) -> Result<Vec<Decision>, StoreError>;
    /// References whose target has not arrived, oldest first; only `referrer`'s when given.
    async fn pending_reference_list(
        &self,
        referrer: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PendingReference>, StoreError>;
}

/// What stewards and training work on: the review queue and the stored source records as mapped.
#[async_trait]
pub trait Stewardship: Send + Sync {
    /// Review items, oldest first; only those with `status` when given.
    async fn reviews(
        &self,
        status: Option<ReviewStatus>,
        limit: i64,
    ) -> Result<Vec<ReviewItem>, StoreError>;
    /// One review item.
    async fn review(&self, id: i64) -> Result<Option<ReviewItem>, StoreError>;
    /// The live source records of one entity, as last mapped, for training match weights.
    async fn source_records(&self, entity: EntityKind) -> Result<Vec<Fields>, StoreError>;
    /// Every live source record of one entity with its golden ID, for `reconcile rescore`.
    async fn stored_members(&self, entity: EntityKind) -> Result<Vec<StoredMember>, StoreError>;
}

/// Records that could not be processed, with their reasons and payloads, and what replaying them
/// after a mapping fix needs.
#[async_trait]
pub trait Quarantine: Send + Sync {
    /// Open (not replayed) quarantined records, newest first, at most `limit`.
    async fn quarantined(&self, limit: i64) -> Result<Vec<StoredQuarantine>, StoreError>;
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

/// Every role of a store, for the commands that open one and hand its parts on.
pub trait Store:
    RunLog
    + BatchWriter
    + MatchIndex
    + Outbox
    + Audit
    + Stewardship
    + Quarantine
    + Directory
    + CustomerValues
{
}

impl<
    T: RunLog
        + BatchWriter
        + MatchIndex
        + Outbox
        + Audit
        + Stewardship
        + Quarantine
        + Directory
        + CustomerValues,
> Store for T
{
}
