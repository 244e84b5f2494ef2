//! `concord quarantine replay`: after a mapping is fixed, the records a mapping refused are run
//! through the current mappings again from their stored payload, reconciled and committed, as a
//! sync would have done. Stored ones are marked resolved (kept for audit); those that still fail
//! take their new reason.

use std::sync::Arc;

use serde::Serialize;

use super::{Pipeline, SyncError};
use crate::mapping::{MapOutcome, PathUsage};
use crate::model::{EntityKind, RawRecord};
use crate::reconcile::view::StoreView;
use crate::reconcile::{Incoming, ReconcileStats};
use crate::store::{Batch, QuarantineEntry, RunStatus, Store, StoredQuarantine};

/// Entries replayed per transaction.
const REPLAY_PAGE: i64 = 1_000;

/// What a replay does.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Only this source's entries; every configured source's when `None`.
    pub source: Option<String>,
    /// Map and reconcile, report, write nothing.
    pub dry_run: bool,
    /// The command on whose behalf the replay writes, named to a writer that finds it busy.
    pub command: String,
}

/// What became of one replayed entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayedEntry {
    /// The quarantine entry's ID.
    pub id: i64,
    pub origin: String,
    #[serde(flatten)]
    pub result: Replayed,
}

/// A replayed record's fate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Replayed {
    /// Mapped: reconciled and stored (or, in a dry run, would be).
    Stored { entity: EntityKind, key: String },
    /// Still refused, with the current reason.
    Failing { reason: String },
}

/// One source's replay.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReplaySummary {
    pub source: String,
    /// Entries run through the mappings again.
    pub replayed: u64,
    /// Entries whose record is now stored.
    pub stored: u64,
    /// Entries still refused.
    pub still_failing: u64,
    /// What reconciling the stored records did.
    pub reconcile: ReconcileStats,
    pub entries: Vec<ReplayedEntry>,
}

impl Pipeline {
    /// Replays the open quarantine entries of the selected sources (those a mapping refused and
    /// whose payload is stored). The caller holds the writer lock of each source.
    pub async fn replay_quarantine(
        &self,
        store: &dyn Store,
        options: &ReplayOptions,
    ) -> Result<Vec<ReplaySummary>, SyncError> {
        let selection = super::SyncOptions {
            source: options.source.clone(),
            ..super::SyncOptions::default()
        };
        let mut summaries = Vec::new();
        for name in self.selected(&selection)? {
            summaries.push(self.replay_source(store, &name, options).await?);
        }
        Ok(summaries)
    }

    async fn replay_source(
        &self,
        store: &dyn Store,
        name: &str,
        options: &ReplayOptions,
    ) -> Result<ReplaySummary, SyncError> {
        let mut summary = ReplaySummary {
            source: name.to_owned(),
            ..ReplaySummary::default()
        };
        let run_id = match options.dry_run {
            true => 0,
            false => store.begin_run(name, false).await?,
        };
        let result = self
            .replay_pages(store, name, options, run_id, &mut summary)
            .await;
        if !options.dry_run {
            let status = match result {
                Ok(()) => RunStatus::Succeeded,
                Err(_) => RunStatus::Failed,
            };
            let stats = serde_json::json!({
                "command": options.command,
                "replayed": summary.replayed,
                "stored": summary.stored,
                "still_failing": summary.still_failing,
                "reconcile": summary.reconcile,
            });
            let error = result.as_ref().err().map(ToString::to_string);
            store
                .finish_run(run_id, status, &stats, error.as_deref())
                .await?;
        }
        result.map(|()| summary)
    }

    /// Replays a page of entries at a time, each page one transaction.
    async fn replay_pages(
        &self,
        store: &dyn Store,
        name: &str,
        options: &ReplayOptions,
        run_id: i64,
        summary: &mut ReplaySummary,
    ) -> Result<(), SyncError> {
        let (_, mappings) = self.source(name)?;
        let mut after = 0;
        loop {
            let page = store.quarantine_to_replay(name, after, REPLAY_PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.id;
            let mut batch = Batch {
                run_id,
                source: name.to_owned(),
                ..Batch::default()
            };
            let mut incoming = Vec::new();
            let mut stored = Vec::new();
            let mut failing = Vec::new();
            let mut usage = PathUsage::default();
            for entry in page {
                summary.replayed += 1;
                let raw = raw_record(&entry);
                let result = match mappings.map_tracked(name, &raw, &mut usage) {
                    MapOutcome::Mapped(record) => {
                        batch.quality.extend(super::quality_entries(
                            &mut usage,
                            name,
                            &record.key,
                            &raw.origin,
                        ));
                        let result = Replayed::Stored {
                            entity: record.record.kind(),
                            key: record.key.clone(),
                        };
                        stored.push(entry.id);
                        incoming.push(Incoming {
                            record,
                            origin: raw.origin,
                        });
                        result
                    }
                    MapOutcome::Unmatched => {
                        let reason = "no mapping selects the record any more".to_owned();
                        failing.push((entry.id, still_failing(&entry, None, reason.clone())));
                        Replayed::Failing { reason }
                    }
                    MapOutcome::Failed(failure) => {
                        let mapping = failure.mapping.display().to_string();
                        let mut now = still_failing(&entry, Some(mapping), failure.reason.clone());
                        now.key = failure.key.or(now.key);
                        failing.push((entry.id, now));
                        Replayed::Failing {
                            reason: failure.reason,
                        }
                    }
                };
                summary.entries.push(ReplayedEntry {
                    id: entry.id,
                    origin: entry.entry.origin,
                    result,
                });
            }
            summary.stored += stored.len() as u64;
            summary.still_failing += failing.len() as u64;
            // Replays take their turn at reconciling like a sync's batches, so two writers never
            // both create a golden record for one customer.
            let _turn = match options.dry_run {
                true => None,
                false => Some(self.write_turn(&options.command).await?),
            };
            let view = StoreView {
                store,
                pending: None,
            };
            self.reconciler
                .apply(&view, name, incoming, &mut batch, &mut summary.reconcile)
                .await?;
            if options.dry_run {
                continue;
            }
            store.commit(&batch).await?;
            // Marked after the commit: should this stop in between, the next replay finds the
            // records stored unchanged and marks them then.
            store.resolve_quarantine(&stored).await?;
            for (id, entry) in &failing {
                store.requarantine(*id, entry).await?;
            }
        }
    }
}

/// The record as it was read, from the quarantine entry.
fn raw_record(entry: &StoredQuarantine) -> RawRecord {
    RawRecord {
        origin: entry.entry.origin.clone(),
        payload: entry.entry.payload.clone(),
        stream: entry.entry.stream.as_deref().map(Arc::from),
    }
}

/// The entry as it stands after a replay that still failed.
fn still_failing(
    entry: &StoredQuarantine,
    mapping: Option<String>,
    reason: String,
) -> QuarantineEntry {
    QuarantineEntry {
        mapping: mapping.or_else(|| entry.entry.mapping.clone()),
        reason,
        ..entry.entry.clone()
    }
}
