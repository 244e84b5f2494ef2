//! Reconciliation: match each canonical record to a golden record, decide the golden ID, apply
//! survivorship per field, keep lineage, and turn every golden change into a version and an event.
//!
//! Works a batch at a time, one entity after the other in [`EntityKind::ALL`] order, so that an
//! order finds a customer of the same batch. Golden IDs are never reused: a new one is a UUIDv7
//! with the entity's prefix.

pub mod compare;
pub mod matcher;
pub mod normalize;
pub mod refs;
pub mod survive;
pub mod view;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use serde::Serialize;
use uuid::Uuid;

use crate::config::{Config, MatchRule};
use crate::model::{EntityKind, SourceRecord};
use crate::store::{
    Batch, Contributor, EventWrite, Fields, GoldenState, GoldenWrite, Operation, StoreError,
    XrefWrite,
};
use matcher::{Matcher, RecordKeys};
use refs::KnownKeys;
use view::StoreView;

/// A mapped record on its way into the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub record: SourceRecord,
    /// Where the raw record was read.
    pub origin: String,
}

/// What reconciliation did with a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileStats {
    /// Source records whose content hash equals the stored one: nothing to do.
    pub unchanged: u64,
    pub created: u64,
    pub updated: u64,
    pub deleted: u64,
    /// References (order → customer, line → product, ...) whose target has not arrived.
    pub unresolved_refs: u64,
    pub events: u64,
}

/// Reconciles batches of one configuration.
#[derive(Debug, Clone)]
pub struct Reconciler {
    rules: BTreeMap<EntityKind, Vec<MatchRule>>,
    priorities: HashMap<String, i32>,
}

/// A source record ready for its golden record.
struct Prepared {
    key: String,
    /// `fields` as stored: serialized once, after references were linked.
    text: String,
    fields: Fields,
    hash: Vec<u8>,
    incoming: Incoming,
    golden_id: String,
}

impl Reconciler {
    /// Takes match rules and source priorities from the config.
    pub fn new(config: &Config) -> Reconciler {
        Reconciler {
            rules: config.match_rules.clone(),
            priorities: config
                .sources
                .iter()
                .map(|s| (s.name.clone(), s.priority))
                .collect(),
        }
    }

    /// Reconciles the records of one batch of `source` into `batch` (nothing is written until the
    /// batch is committed).
    pub async fn apply(
        &self,
        store: &StoreView<'_>,
        source: &str,
        records: Vec<Incoming>,
        batch: &mut Batch,
        stats: &mut ReconcileStats,
    ) -> Result<(), StoreError> {
        let mut known = KnownKeys::default();
        for (entity, records) in group_by_entity(records) {
            self.apply_entity(store, source, entity, records, &mut known, batch, stats)
                .await?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn apply_entity(
        &self,
        store: &StoreView<'_>,
        source: &str,
        entity: EntityKind,
        records: Vec<Incoming>,
        known: &mut KnownKeys,
        batch: &mut Batch,
        stats: &mut ReconcileStats,
    ) -> Result<(), StoreError> {
        let keys: Vec<&str> = records.iter().map(|r| r.record.key.as_str()).collect();
        let hits = store.xref_lookup(source, entity, &keys).await?;

        let mut changed: Vec<(Incoming, Fields, String, Vec<u8>)> =
            Vec::with_capacity(records.len());
        for incoming in records {
            let fields = incoming.record.record.to_fields();
            let text = record_text(&fields);
            let hash = content_hash(&text, incoming.record.deleted);
            match hits.get(&incoming.record.key) {
                Some(hit) if hit.content_hash == hash => {
                    stats.unchanged += 1;
                    known.insert(entity, &incoming.record.key, &hit.golden_id);
                }
                _ => changed.push((incoming, fields, text, hash)),
            }
        }
        if changed.is_empty() {
            return Ok(());
        }

        let wanted: HashSet<(EntityKind, String)> = changed
            .iter()
            .flat_map(|(_, f, _, _)| refs::wanted(entity, f))
            .collect();
        if !wanted.is_empty() {
            let product_rules = self
                .rules
                .get(&EntityKind::Product)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            known.load(store, source, &wanted, product_rules).await?;
        }

        let rules = self.rules.get(&entity).map(Vec::as_slice).unwrap_or(&[]);
        let keys: Vec<RecordKeys> = changed
            .iter()
            .map(|(_, fields, _, _)| matcher::record_keys(entity, rules, fields))
            .collect();
        let new_records: Vec<&RecordKeys> = changed
            .iter()
            .zip(&keys)
            .filter(|((i, _, _, _), _)| !hits.contains_key(&i.record.key))
            .map(|(_, keys)| keys)
            .collect();
        let mut matcher = Matcher::prepare(store, entity, rules, &new_records).await?;
        let mut prepared = Vec::with_capacity(changed.len());
        let mut minted: HashSet<String> = HashSet::new();
        for ((incoming, mut fields, mut text, hash), keys) in changed.into_iter().zip(keys) {
            if matches!(entity, EntityKind::Order | EntityKind::Bom) {
                stats.unresolved_refs += refs::resolve(entity, &mut fields, known) as u64;
                text = record_text(&fields);
            }
            let golden_id = match hits.get(&incoming.record.key) {
                Some(hit) => hit.golden_id.clone(),
                None => matcher.find(&keys).unwrap_or_else(|| {
                    let id = new_golden_id(entity);
                    minted.insert(id.clone());
                    id
                }),
            };
            matcher.register(keys, &golden_id);
            known.insert(entity, &incoming.record.key, &golden_id);
            prepared.push(Prepared {
                key: incoming.record.key.clone(),
                text,
                fields,
                hash,
                incoming,
                golden_id,
            });
        }
        batch.match_keys.append(&mut matcher.writes);

        // Golden records minted in this batch have nothing stored to load.
        let ids: Vec<&str> = {
            let mut seen = HashSet::new();
            prepared
                .iter()
                .map(|p| p.golden_id.as_str())
                .filter(|id| !minted.contains(*id) && seen.insert(*id))
                .collect()
        };
        let mut states: HashMap<String, GoldenState> = store
            .load_goldens(&ids)
            .await?
            .into_iter()
            .map(|state| (state.id.clone(), state))
            .collect();
        let mut touched: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for p in prepared {
            if seen.insert(p.golden_id.clone()) {
                touched.push(p.golden_id.clone());
            }
            let state = states
                .entry(p.golden_id.clone())
                .or_insert_with(|| GoldenState {
                    id: p.golden_id.clone(),
                    entity,
                    version: 0,
                    record: Fields::new(),
                    lineage: Default::default(),
                    deleted: true,
                    contributors: Vec::new(),
                });
            let contributor = Contributor {
                source: source.to_string(),
                key: p.key.clone(),
                record: p.fields,
                changed_at: p.incoming.record.changed_at,
                deleted: p.incoming.record.deleted,
                origin: p.incoming.origin.clone(),
            };
            match state
                .contributors
                .iter_mut()
                .find(|c| c.source == source && c.key == p.key)
            {
                Some(existing) => *existing = contributor,
                None => state.contributors.push(contributor),
            }
            batch.xrefs.push(XrefWrite {
                source: source.to_string(),
                entity,
                key: p.key,
                golden_id: p.golden_id,
                content_hash: p.hash,
                record_text: p.text,
                changed_at: p.incoming.record.changed_at,
                deleted: p.incoming.record.deleted,
                origin: p.incoming.origin,
            });
        }
        for id in touched {
            if let Some(state) = states.get(&id) {
                self.write_golden(state, batch, stats);
            }
        }
        Ok(())
    }

    /// Recomputes a golden record from its contributors; writes a version and an event when it
    /// changed.
    fn write_golden(&self, state: &GoldenState, batch: &mut Batch, stats: &mut ReconcileStats) {
        let (record, lineage) = survive::survive(&state.contributors, &self.priorities);
        let deleted = state.contributors.iter().all(|c| c.deleted);
        let is_new = state.version == 0;
        if is_new && deleted {
            return;
        }
        let changed = survive::changed_fields(&state.record, &record);
        if changed.is_empty() && deleted == state.deleted {
            return;
        }
        let operation = if deleted {
            stats.deleted += 1;
            Operation::Deleted
        } else if is_new {
            stats.created += 1;
            Operation::Created
        } else {
            stats.updated += 1;
            Operation::Updated
        };
        let version = state.version + 1;
        batch.events.push(EventWrite {
            event_id: Uuid::now_v7().to_string(),
            entity: state.entity,
            operation,
            golden_id: state.id.clone(),
            version,
            at: Utc::now(),
        });
        stats.events += 1;
        batch.goldens.push(GoldenWrite {
            id: state.id.clone(),
            entity: state.entity,
            version,
            record,
            lineage,
            deleted,
            changed,
        });
    }
}

/// Splits a batch by entity in reconciliation order; a key delivered twice keeps its last record.
fn group_by_entity(records: Vec<Incoming>) -> Vec<(EntityKind, Vec<Incoming>)> {
    let mut groups: BTreeMap<EntityKind, (Vec<Incoming>, HashMap<String, usize>)> = BTreeMap::new();
    for incoming in records {
        let (list, index) = groups.entry(incoming.record.record.kind()).or_default();
        match index.get(&incoming.record.key) {
            Some(&i) => list[i] = incoming,
            None => {
                index.insert(incoming.record.key.clone(), list.len());
                list.push(incoming);
            }
        }
    }
    groups
        .into_iter()
        .map(|(entity, (list, _))| (entity, list))
        .collect()
}

/// A fresh golden ID: never reused, sortable by creation time.
fn new_golden_id(entity: EntityKind) -> String {
    format!("{}_{}", entity.id_prefix(), Uuid::now_v7().simple())
}

/// A record's fields as JSON text, in the canonical struct's field order.
fn record_text(fields: &Fields) -> String {
    serde_json::to_string(fields).unwrap_or_default()
}

/// The hash that tells whether a source record changed since it was stored: of the mapped
/// record before references were linked, so a re-sync compares like with like.
fn content_hash(text: &str, deleted: bool) -> Vec<u8> {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[u8::from(deleted)]);
    hasher.update(text.as_bytes());
    hasher.finalize().as_bytes()[..16].to_vec()
}
