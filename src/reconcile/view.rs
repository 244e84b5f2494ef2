//! What reconciliation reads: the store as committed, plus the batch still being committed.
//!
//! A sync reconciles batch N+1 while batch N is being written, so the two stages run on both cores
//! at once. Batch N+1 must still see everything batch N decided (a golden record it created, a
//! match key it claimed, a source record it moved); [`Pending`] indexes batch N for that, and
//! [`StoreView`] answers each lookup from it first and from the store otherwise.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::model::EntityKind;
use crate::reconcile::row_index::RowIndex;
use crate::store::{
    Batch, Contributor, Fields, GoldenState, MatchIndex, ReferenceWrite, StoreError, XrefHit,
    XrefWrite,
};

/// A batch handed to the store but perhaps not yet committed, indexed for lookups.
#[derive(Debug)]
pub struct Pending {
    batch: Arc<Batch>,
    /// `batch.xrefs` by (source, entity, key).
    xrefs: RowIndex,
    /// `batch.match_keys` by (entity, rule, value).
    match_keys: RowIndex,
    /// `batch.goldens` by ID.
    goldens: RowIndex,
    /// `batch.xrefs` by golden ID: the batch's source records of each golden record.
    members: RowIndex,
    /// Golden IDs merged away by the batch → their survivor.
    redirects: HashMap<String, String>,
    /// `batch.matching.block_keys` by (entity, value).
    blocks: RowIndex,
}

impl Pending {
    /// Indexes `batch`.
    pub fn new(batch: Arc<Batch>) -> Pending {
        let xrefs = &batch.xrefs;
        let match_keys = &batch.match_keys;
        let goldens = &batch.goldens;
        let blocks = &batch.matching.block_keys;
        Pending {
            xrefs: RowIndex::new(xrefs.len(), |n| {
                (&xrefs[n].source, xrefs[n].entity, &xrefs[n].key)
            }),
            match_keys: RowIndex::new(match_keys.len(), |n| {
                let k = &match_keys[n];
                (k.entity, &k.rule, &k.value)
            }),
            goldens: RowIndex::new(goldens.len(), |n| &goldens[n].id),
            members: RowIndex::new(xrefs.len(), |n| &xrefs[n].golden_id),
            redirects: batch
                .matching
                .merges
                .iter()
                .map(|m| (m.loser.clone(), m.survivor.clone()))
                .collect(),
            blocks: RowIndex::new(blocks.len(), |n| (blocks[n].entity, &blocks[n].value)),
            batch,
        }
    }

    /// The batch itself.
    pub fn batch(&self) -> &Arc<Batch> {
        &self.batch
    }

    /// Where a golden ID leads after the batch's merges.
    fn redirect(&self, id: &str) -> String {
        self.leads_to(id).to_string()
    }

    /// [`Pending::redirect`] without a copy.
    fn leads_to<'a>(&'a self, id: &'a str) -> &'a str {
        let mut current = id;
        while let Some(next) = self.redirects.get(current) {
            current = next;
        }
        current
    }

    fn xref(&self, source: &str, entity: EntityKind, key: &str) -> Option<&XrefWrite> {
        let xrefs = &self.batch.xrefs;
        let is_wanted = |n: usize| {
            let x = &xrefs[n];
            x.source == source && x.entity == entity && x.key == key
        };
        let n = self.xrefs.find((source, entity, key), is_wanted).next()?;
        Some(&xrefs[n])
    }

    /// The batch's source records of golden record `id`.
    fn members<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a XrefWrite> + 'a {
        let xrefs = &self.batch.xrefs;
        self.members
            .find(id, move |n| xrefs[n].golden_id == id)
            .map(move |n| &xrefs[n])
    }

    /// The golden ID the batch gave match key `value` of `rule`.
    fn match_key(&self, entity: EntityKind, rule: &str, value: &str) -> Option<&String> {
        let keys = &self.batch.match_keys;
        let is_wanted = |n: usize| {
            let k = &keys[n];
            k.entity == entity && k.rule == rule && k.value == value
        };
        let n = self
            .match_keys
            .find((entity, rule, value), is_wanted)
            .next()?;
        Some(&keys[n].golden_id)
    }

    /// Golden IDs the batch gave block value `value`.
    fn block<'a>(
        &'a self,
        entity: EntityKind,
        value: &'a str,
    ) -> impl Iterator<Item = &'a String> + 'a {
        let blocks = &self.batch.matching.block_keys;
        self.blocks
            .find((entity, value), move |n| {
                blocks[n].entity == entity && blocks[n].value == value
            })
            .map(move |n| &blocks[n].golden_id)
    }

    fn golden(&self, id: &str) -> Option<GoldenState> {
        let goldens = &self.batch.goldens;
        let n = self.goldens.find(id, |n| goldens[n].id == id).next()?;
        let g = &goldens[n];
        Some(GoldenState {
            id: g.id.clone(),
            entity: g.entity,
            version: g.version,
            record: g.record.clone(),
            lineage: g.lineage.clone(),
            deleted: g.deleted,
            contributors: Vec::new(),
        })
    }
}

fn contributor(x: &XrefWrite) -> Contributor {
    Contributor {
        source: x.source.clone(),
        key: x.key.clone(),
        record: serde_json::from_str::<Fields>(&x.record_text).unwrap_or_default(),
        changed_at: x.changed_at,
        deleted: x.deleted,
        origin: x.origin.clone(),
        field_times: x.field_times.clone(),
    }
}

/// The store as reconciliation sees it.
pub struct StoreView<'a> {
    pub store: &'a dyn MatchIndex,
    pub pending: Option<&'a Pending>,
}

impl StoreView<'_> {
    /// [`MatchIndex::xref_lookup`], with the pending batch's source records taking precedence.
    pub async fn xref_lookup(
        &self,
        source: &str,
        entity: EntityKind,
        keys: &[&str],
    ) -> Result<HashMap<String, XrefHit>, StoreError> {
        let mut hits = self.store.xref_lookup(source, entity, keys).await?;
        if let Some(pending) = self.pending {
            for hit in hits.values_mut() {
                hit.golden_id = pending.redirect(&hit.golden_id);
            }
            for key in keys {
                if let Some(x) = pending.xref(source, entity, key) {
                    let hit = XrefHit {
                        golden_id: x.golden_id.clone(),
                        content_hash: x.content_hash.clone(),
                    };
                    hits.insert(key.to_string(), hit);
                }
            }
        }
        Ok(hits)
    }

    /// [`MatchIndex::match_lookup`], with the pending batch's claims filling in.
    pub async fn match_lookup(
        &self,
        entity: EntityKind,
        rule: &str,
        values: &[&str],
    ) -> Result<HashMap<String, String>, StoreError> {
        let mut found = self.store.match_lookup(entity, rule, values).await?;
        if let Some(pending) = self.pending {
            for id in found.values_mut() {
                *id = pending.redirect(id);
            }
            for value in values {
                if let Some(id) = pending.match_key(entity, rule, value) {
                    found.entry(value.to_string()).or_insert_with(|| id.clone());
                }
            }
        }
        Ok(found)
    }

    /// [`MatchIndex::load_goldens`], with the pending batch's versions and source records applied.
    pub async fn load_goldens(&self, ids: &[&str]) -> Result<Vec<GoldenState>, StoreError> {
        let mut states = self.store.load_goldens(ids).await?;
        let Some(pending) = self.pending else {
            return Ok(states);
        };
        for state in &mut states {
            if let Some(newer) = pending.golden(&state.id) {
                state.version = newer.version;
                state.record = newer.record;
                state.lineage = newer.lineage;
                state.deleted = newer.deleted;
            }
        }
        let stored: HashSet<&str> = states.iter().map(|s| s.id.as_str()).collect();
        let created: Vec<GoldenState> = ids
            .iter()
            .filter(|id| !stored.contains(**id))
            .filter_map(|id| pending.golden(id))
            .collect();
        states.extend(created);
        for state in &mut states {
            for x in pending.members(&state.id) {
                let contributor = contributor(x);
                match state
                    .contributors
                    .iter_mut()
                    .find(|c| c.source == x.source && c.key == x.key)
                {
                    Some(existing) => *existing = contributor,
                    None => state.contributors.push(contributor),
                }
            }
        }
        Ok(states)
    }

    /// Golden IDs sharing each block value, the batch's included.
    pub async fn block_lookup(
        &self,
        entity: EntityKind,
        values: &[&str],
    ) -> Result<HashMap<String, Vec<String>>, StoreError> {
        let mut found = self.store.block_lookup(entity, values).await?;
        if let Some(pending) = self.pending {
            for value in values {
                let mut ids = pending.block(entity, value).cloned().peekable();
                if ids.peek().is_some() {
                    found.entry(value.to_string()).or_default().extend(ids);
                }
            }
            for ids in found.values_mut() {
                let mut seen = HashSet::new();
                *ids = ids
                    .iter()
                    .map(|id| pending.redirect(id))
                    .filter(|id| seen.insert(id.clone()))
                    .collect();
            }
        }
        Ok(found)
    }

    /// [`MatchIndex::block_index`], with the pending batch's block values and merges applied
    /// (whether or not the scan saw that batch committed, the same index comes out).
    pub async fn block_index(
        &self,
        entity: EntityKind,
        each: &mut (dyn for<'v> FnMut(&'v str, &'v str) + Send),
    ) -> Result<bool, StoreError> {
        let Some(pending) = self.pending else {
            return self.store.block_index(entity, each).await;
        };
        let mut redirected = |value: &str, id: &str| each(value, pending.leads_to(id));
        if !self.store.block_index(entity, &mut redirected).await? {
            return Ok(false);
        }
        for key in pending
            .batch
            .matching
            .block_keys
            .iter()
            .filter(|k| k.entity == entity)
        {
            each(&key.value, pending.leads_to(&key.golden_id));
        }
        Ok(true)
    }

    /// Current records of live golden records, the batch's versions first.
    pub async fn golden_records(
        &self,
        ids: &[&str],
    ) -> Result<HashMap<String, Fields>, StoreError> {
        let mut found = self.store.golden_records(ids).await?;
        if let Some(pending) = self.pending {
            for id in ids {
                if pending.redirects.contains_key(*id) {
                    found.remove(*id);
                } else if let Some(newer) = pending.golden(id) {
                    if newer.deleted {
                        found.remove(*id);
                    } else {
                        found.insert(id.to_string(), newer.record);
                    }
                }
            }
        }
        Ok(found)
    }

    /// Live source records of these golden records of `entity`, the batch's included. The
    /// batch's copy of a source record is the newer one whether or not it has been committed:
    /// a stored record the batch updated, moved or deleted is left out, and every record comes
    /// once.
    pub async fn member_records(
        &self,
        entity: EntityKind,
        ids: &[&str],
    ) -> Result<Vec<(String, Fields)>, StoreError> {
        let stored = self.store.member_records(ids).await?;
        let Some(pending) = self.pending else {
            return Ok(stored
                .into_iter()
                .map(|m| (m.golden_id, m.record))
                .collect());
        };
        let mut found: Vec<(String, Fields)> = stored
            .into_iter()
            .filter(|m| pending.xref(&m.source, entity, &m.key).is_none())
            .map(|m| (m.golden_id, m.record))
            .collect();
        for id in ids {
            for x in pending.members(id).filter(|x| !x.deleted) {
                found.push((id.to_string(), contributor(x).record));
            }
        }
        Ok(found)
    }

    /// How often these values of a term occur, as committed (the pending batch's counts are not
    /// added: frequencies lag one batch, which moves an adjustment by a fraction of a bit).
    pub async fn term_counts(
        &self,
        entity: EntityKind,
        term: &str,
        values: &[&str],
    ) -> Result<crate::store::TermCounts, StoreError> {
        self.store.term_counts(entity, term, values).await
    }

    /// Pairs among `ids` never to merge automatically, the batch's included.
    pub async fn distinct_pairs(
        &self,
        ids: &[&str],
    ) -> Result<HashSet<(String, String)>, StoreError> {
        let mut found = self.store.distinct_pairs(ids).await?;
        if let Some(pending) = self.pending {
            for (a, b, _) in &pending.batch.matching.distinct_pairs {
                if ids.contains(&a.as_str()) && ids.contains(&b.as_str()) {
                    let pair = if a <= b {
                        (a.clone(), b.clone())
                    } else {
                        (b.clone(), a.clone())
                    };
                    found.insert(pair);
                }
            }
        }
        Ok(found)
    }

    /// References waiting for a target with one of these keys, the batch's included.
    pub async fn pending_references(
        &self,
        entity: EntityKind,
        keys: &[&str],
    ) -> Result<Vec<ReferenceWrite>, StoreError> {
        let mut found = self.store.pending_references(entity, keys).await?;
        if let Some(pending) = self.pending {
            found.extend(
                pending
                    .batch
                    .matching
                    .references
                    .iter()
                    .filter(|r| {
                        r.target_id.is_none()
                            && r.entity == entity
                            && keys.contains(&r.key.as_str())
                    })
                    .cloned(),
            );
        }
        Ok(found)
    }

    /// Orders and BOMs referring to these golden records, the batch's included.
    pub async fn referrers_of(&self, ids: &[&str]) -> Result<Vec<String>, StoreError> {
        let mut found = self.store.referrers_of(ids).await?;
        if let Some(pending) = self.pending {
            found.extend(
                pending
                    .batch
                    .matching
                    .references
                    .iter()
                    .filter(|r| r.target_id.as_deref().is_some_and(|t| ids.contains(&t)))
                    .map(|r| r.referrer_id.clone()),
            );
        }
        Ok(found)
    }
}
