//! What reconciliation reads: the store as committed, plus the batch still being committed.
//!
//! A sync reconciles batch N+1 while batch N is being written, so the two stages run on both cores
//! at once. Batch N+1 must still see everything batch N decided (a golden record it created, a
//! match key it claimed, a source record it moved); [`Pending`] indexes batch N for that, and
//! [`StoreView`] answers each lookup from it first and from the store otherwise.

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::EntityKind;
use crate::store::{
    Batch, Contributor, Fields, GoldenState, Store, StoreError, XrefHit, XrefWrite,
};

/// A batch handed to the store but perhaps not yet committed, indexed for lookups.
#[derive(Debug)]
pub struct Pending {
    batch: Arc<Batch>,
    /// (source, entity, key) → index into `batch.xrefs`.
    xrefs: HashMap<(String, EntityKind, String), usize>,
    match_keys: HashMap<(EntityKind, String, String), usize>,
    goldens: HashMap<String, usize>,
    /// Golden ID → indexes of this batch's source records that belong to it.
    members: HashMap<String, Vec<usize>>,
}

impl Pending {
    /// Indexes `batch`.
    pub fn new(batch: Arc<Batch>) -> Pending {
        let mut xrefs = HashMap::with_capacity(batch.xrefs.len());
        let mut members: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, x) in batch.xrefs.iter().enumerate() {
            members.entry(x.golden_id.clone()).or_default().push(i);
            xrefs.insert((x.source.clone(), x.entity, x.key.clone()), i);
        }
        let match_keys = batch
            .match_keys
            .iter()
            .enumerate()
            .map(|(i, k)| ((k.entity, k.rule.clone(), k.value.clone()), i))
            .collect();
        let goldens = batch
            .goldens
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.clone(), i))
            .collect();
        Pending {
            batch,
            xrefs,
            match_keys,
            goldens,
            members,
        }
    }

    /// The batch itself.
    pub fn batch(&self) -> &Arc<Batch> {
        &self.batch
    }

    fn xref(&self, source: &str, entity: EntityKind, key: &str) -> Option<&XrefWrite> {
        let i = self
            .xrefs
            .get(&(source.to_string(), entity, key.to_string()))?;
        self.batch.xrefs.get(*i)
    }

    fn golden(&self, id: &str) -> Option<GoldenState> {
        let g = self.batch.goldens.get(*self.goldens.get(id)?)?;
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
    }
}

/// The store as reconciliation sees it.
pub struct StoreView<'a> {
    pub store: &'a dyn Store,
    pub pending: Option<&'a Pending>,
}

impl StoreView<'_> {
    /// [`Store::xref_lookup`], with the pending batch's source records taking precedence.
    pub async fn xref_lookup(
        &self,
        source: &str,
        entity: EntityKind,
        keys: &[&str],
    ) -> Result<HashMap<String, XrefHit>, StoreError> {
        let mut hits = self.store.xref_lookup(source, entity, keys).await?;
        if let Some(pending) = self.pending {
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

    /// [`Store::match_lookup`], with the pending batch's claims filling in.
    pub async fn match_lookup(
        &self,
        entity: EntityKind,
        rule: &str,
        values: &[&str],
    ) -> Result<HashMap<String, String>, StoreError> {
        let mut found = self.store.match_lookup(entity, rule, values).await?;
        if let Some(pending) = self.pending {
            for value in values {
                let claim = pending
                    .match_keys
                    .get(&(entity, rule.to_string(), value.to_string()));
                if let Some(k) = claim.and_then(|i| pending.batch.match_keys.get(*i)) {
                    found
                        .entry(value.to_string())
                        .or_insert_with(|| k.golden_id.clone());
                }
            }
        }
        Ok(found)
    }

    /// [`Store::load_goldens`], with the pending batch's versions and source records applied.
    pub async fn load_goldens(&self, ids: &[&str]) -> Result<Vec<GoldenState>, StoreError> {
        let mut states = self.store.load_goldens(ids).await?;
        let Some(pending) = self.pending else {
            return Ok(states);
        };
        for state in &mut states {
            if let Some(newer) = pending.golden(&state.id) {
                state.version = newer.version;
                state.record = newer.record.clone();
                state.lineage = newer.lineage.clone();
                state.deleted = newer.deleted;
            }
        }
        for id in ids {
            if !states.iter().any(|s| s.id == *id)
                && let Some(created) = pending.golden(id)
            {
                states.push(created);
            }
        }
        for state in &mut states {
            for x in pending
                .members
                .get(&state.id)
                .into_iter()
                .flatten()
                .filter_map(|i| pending.batch.xrefs.get(*i))
            {
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
}
