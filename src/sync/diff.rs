//! `concord preview --diff`: what a sync of one source would do to the golden records under the
//! current mappings and match rules — fields, new records, merges, events, quarantine — computed
//! by the sync's own reader, mapper and reconciler against the store, and never committed.

use std::collections::HashMap;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Chunk, Pipeline, SyncError, read_and_map};
use crate::model::{EntityKind, FieldSource, Operation};
use crate::reconcile::ReconcileStats;
use crate::reconcile::view::StoreView;
use crate::store::{Batch, GoldenState, QuarantineEntry, Store};

/// What a sync would change, for one source.
#[derive(Debug, Clone, Default)]
pub struct ChangePreview {
    /// Raw records read.
    pub read: u64,
    /// Counts as a sync would report them (unchanged, created, updated, merged, review, …).
    pub stats: ReconcileStats,
    /// Each golden record the sync would write, with its fields before and after.
    pub changes: Vec<GoldenChange>,
    /// Records that would go to the quarantine.
    pub quarantine: Vec<QuarantineEntry>,
    /// True when the read stopped at the record limit.
    pub truncated: bool,
}

/// One golden record as it is and as the sync would leave it.
#[derive(Debug, Clone)]
pub struct GoldenChange {
    pub id: String,
    pub entity: EntityKind,
    /// The stored version, none for a record the sync would create.
    pub before_version: Option<i64>,
    pub after_version: i64,
    /// The events the sync would emit for this record.
    pub events: Vec<Operation>,
    /// For a merge: the golden IDs folded into this one.
    pub merged: Vec<String>,
    pub deleted: bool,
    pub fields: Vec<FieldChange>,
}

/// One field that would change.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// The source record that would supply the new value.
    pub source: Option<FieldSource>,
}

impl Pipeline {
    /// Reads `source` from its beginning (at most `limit` records), maps and reconciles it
    /// against `store` as a sync would, and returns what would change. Nothing is written and no
    /// lock is taken. Records read are reconciled as one batch, so memory grows with them: give
    /// a limit for a large source. Deletions found by key scans are not previewed.
    pub async fn preview_changes(
        &self,
        store: &dyn Store,
        name: &str,
        limit: Option<usize>,
    ) -> Result<ChangePreview, SyncError> {
        let (source, mappings) = self.source(name)?;
        let stream = source.driver.connector(&self.config.base_dir).pull(None);
        let (sender, mut receiver) = mpsc::channel::<Chunk>(1);
        let cancel = CancellationToken::new();
        let chunk_size = limit
            .unwrap_or(super::DEFAULT_BATCH_SIZE)
            .clamp(1, super::DEFAULT_BATCH_SIZE);
        let reader = tokio::spawn(read_and_map(
            stream,
            mappings.clone(),
            name.to_string(),
            (chunk_size, source.max_record_size),
            sender,
            cancel.clone(),
        ));
        let mut preview = ChangePreview::default();
        let mut incoming = Vec::new();
        while let Some(chunk) = receiver.recv().await {
            preview.read += chunk.read;
            incoming.extend(chunk.records);
            preview.quarantine.extend(chunk.quarantine);
            if limit.is_some_and(|limit| preview.read >= limit as u64) {
                preview.truncated = true;
                cancel.cancel();
                break;
            }
        }
        drop(receiver);
        let _ = reader.await;

        let mut batch = Batch {
            source: name.to_string(),
            ..Batch::default()
        };
        let view = StoreView {
            store,
            pending: None,
        };
        self.reconciler
            .apply(&view, name, incoming, &mut batch, &mut preview.stats)
            .await?;
        preview.changes = changes(store, &batch).await?;
        Ok(preview)
    }
}

/// The golden records `batch` would write, each beside its stored state.
async fn changes(store: &dyn Store, batch: &Batch) -> Result<Vec<GoldenChange>, SyncError> {
    let ids: Vec<&str> = batch.goldens.iter().map(|g| g.id.as_str()).collect();
    let stored: HashMap<String, GoldenState> = store
        .load_goldens(&ids)
        .await?
        .into_iter()
        .map(|state| (state.id.clone(), state))
        .collect();
    let mut changes = Vec::with_capacity(batch.goldens.len());
    for golden in &batch.goldens {
        let before = stored.get(&golden.id);
        let events = batch
            .events
            .iter()
            .filter(|e| e.golden_id == golden.id && e.version == golden.version)
            .collect::<Vec<_>>();
        let fields = golden
            .changed
            .iter()
            .map(|field| FieldChange {
                field: field.clone(),
                before: before.and_then(|b| b.record.get(field).cloned()),
                after: golden.record.get(field).cloned(),
                source: golden.lineage.get(field).cloned(),
            })
            .collect();
        changes.push(GoldenChange {
            id: golden.id.clone(),
            entity: golden.entity,
            before_version: before.map(|b| b.version),
            after_version: golden.version,
            events: events.iter().map(|e| e.operation).collect(),
            merged: events.iter().flat_map(|e| e.merged.clone()).collect(),
            deleted: golden.deleted,
            fields,
        });
    }
    Ok(changes)
}
