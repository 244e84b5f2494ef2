//! Deletions found by a key scan: a stored record of the scanned stream whose key the source no
//! longer lists was deleted there. It is reconciled as a deleted source record — its last stored
//! fields, `deleted: true`, changed now — through the same survivorship as an SAP `MSGFN 003`:
//! it stops supplying values, and a golden record left with no live source record is deleted
//! with its event. A scan that would delete more than its `max_share` of the stored records
//! deletes nothing and says why.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;

use super::Incoming;
use super::view::StoreView;
use crate::connector::KeyScan;
use crate::mapping::MappingSet;
use crate::model::{Canonical, EntityKind, SourceRecord};
use crate::store::StoreError;

/// The keys a scan saw, per entity the stream's mappings make.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenKeys {
    pub stream: Arc<str>,
    pub max_share: f64,
    pub keys: BTreeMap<EntityKind, HashSet<String>>,
}

/// The mapped keys of a scan's records.
pub fn seen_keys(mappings: &MappingSet, scan: KeyScan) -> SeenKeys {
    let mut keys: BTreeMap<EntityKind, HashSet<String>> = mappings
        .stream_entities(&scan.stream)
        .into_iter()
        .map(|entity| (entity, HashSet::new()))
        .collect();
    for raw in &scan.records {
        if let Some((entity, key)) = mappings.key_of(raw) {
            keys.entry(entity).or_default().insert(key);
        }
    }
    SeenKeys {
        stream: scan.stream,
        max_share: scan.max_share,
        keys,
    }
}

/// Why a scan deleted nothing.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(
        "key scan of stream `{stream}`: {gone} of {stored} stored {entity} records are no longer listed, more than `deletes.max_share` ({max_share}) allows; none was marked deleted. Check the stream's query and the server, or raise `max_share` if so many were deleted"
    )]
    TooMany {
        stream: String,
        entity: EntityKind,
        gone: usize,
        stored: usize,
        max_share: f64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The deleted source records a scan of `source` found, ready to reconcile.
pub async fn deletions(
    store: &StoreView<'_>,
    source: &str,
    seen: &SeenKeys,
) -> Result<Vec<Incoming>, ScanError> {
    let mut deleted = Vec::new();
    for (entity, keys) in &seen.keys {
        let stored = store.store.source_keys(source, *entity).await?;
        let gone: Vec<&str> = stored
            .iter()
            .filter(|key| !keys.contains(*key))
            .map(String::as_str)
            .collect();
        if gone.is_empty() {
            continue;
        }
        if gone.len() as f64 > seen.max_share * stored.len() as f64 {
            return Err(ScanError::TooMany {
                stream: seen.stream.to_string(),
                entity: *entity,
                gone: gone.len(),
                stored: stored.len(),
                max_share: seen.max_share,
            });
        }
        let hits = store.xref_lookup(source, *entity, &gone).await?;
        let mut ids: Vec<&str> = hits.values().map(|h| h.golden_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let gone: HashSet<&str> = gone.into_iter().collect();
        for golden in store.load_goldens(&ids).await? {
            for contributor in golden.contributors {
                if contributor.source != source
                    || contributor.deleted
                    || !gone.contains(contributor.key.as_str())
                {
                    continue;
                }
                let Ok(record) = Canonical::from_fields(*entity, Value::Object(contributor.record))
                else {
                    continue;
                };
                deleted.push(Incoming {
                    record: SourceRecord {
                        source: source.to_string(),
                        key: contributor.key,
                        changed_at: Some(Utc::now()),
                        deleted: true,
                        record,
                    },
                    origin: format!("key scan of stream `{}`", seen.stream),
                });
            }
        }
    }
    Ok(deleted)
}
