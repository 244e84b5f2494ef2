//! Reconciliation: match each canonical record to a golden record, decide the golden ID, apply
//! survivorship per field, keep lineage, and turn every golden change into a version and an event.
//!
//! Works a batch at a time, one entity after the other in [`EntityKind::ALL`] order, so that an
//! order finds a customer of the same batch. Golden IDs are never reused: a new one is a UUIDv7
//! with the entity's prefix. When records show that golden records are one, they merge: the
//! oldest ID survives and the others redirect to it; orders and BOMs that referred to a merged
//! record are relinked to the survivor, and references that were waiting for a record are linked
//! when it arrives.

pub mod cache;
pub mod clusters;
pub mod compare;
pub mod decide;
pub mod frequency;
pub mod matcher;
pub mod normalize;
pub mod parallel;
pub mod prescore;
pub mod refs;

pub mod rescore;
pub mod row_index;
pub mod rules;
pub mod scan;
pub mod scoring;
pub mod split;
pub mod steward;
pub mod survive;
pub mod train;
pub mod view;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;
use serde::Serialize;
use uuid::Uuid;

use crate::model::{EntityKind, SourceRecord};
use crate::reconcile::rules::SurvivorshipSpec;
use crate::store::{
    Batch, Contributor, DecisionWrite, EventWrite, Fields, GoldenState, GoldenWrite, MergeWrite,
    Operation, ReviewWrite, StoreError, XrefWrite,
};
use crate::yaml::YamlError;
use cache::{Candidates, MatchCache};
use clusters::Clusters;
use compare::Profile;
use compare::packed::Packed;
use decide::{Scored, ScoredMatcher};
use frequency::Term;
use matcher::{Matcher, RecordKeys};
use refs::KnownKeys;
use rules::{MatchRule, Matching};
use scoring::{Scorable, ScoredRule};
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
    /// New source records that joined an existing golden record (by a key or a score).
    pub matched: u64,
    /// Golden records folded into another.
    pub merged: u64,
    /// Pairs put in the review queue.
    pub review: u64,
    /// References (order → customer, line → product, ...) whose target has not arrived.
    pub unresolved_refs: u64,
    pub events: u64,
}

/// Reconciles batches of one configuration.
#[derive(Debug, Clone)]
pub struct Reconciler {
    exact: BTreeMap<EntityKind, Vec<MatchRule>>,
    scored: BTreeMap<EntityKind, Vec<ScoredRule>>,
    priorities: HashMap<String, i32>,
    survivorship: BTreeMap<EntityKind, SurvivorshipSpec>,
    /// Block index and prepared members kept between the batches of a run, and on into the next
    /// run when nothing else wrote between the two (taken out for the length of a batch, so the
    /// lock is never held across a store query).
    cache: Arc<Mutex<MatchCache>>,
}

/// A source record ready for its golden record.
struct Prepared {
    key: String,
    text: String,
    fields: Fields,
    hash: Vec<u8>,
    incoming: Incoming,
    golden_id: String,
}

/// What one batch has decided so far, across its entities.
#[derive(Default)]
struct BatchState {
    known: KnownKeys,
    clusters: Clusters,
    /// Golden IDs minted by this batch (nothing stored to load or redirect).
    minted: HashSet<String>,
    /// Golden IDs this batch already wrote a version of.
    written: HashSet<String>,
    /// Keys of customers and products that got a golden record in this batch (pending references
    /// to them can now be linked).
    arrived: Vec<(EntityKind, String)>,
}

impl Reconciler {
    /// Takes match rules, survivorship and source priorities from the config; reads trained
    /// weights files.
    pub fn new(matching: &Matching<'_>) -> Result<Reconciler, YamlError> {
        let mut exact: BTreeMap<EntityKind, Vec<MatchRule>> = BTreeMap::new();
        let mut scored: BTreeMap<EntityKind, Vec<ScoredRule>> = BTreeMap::new();
        for (entity, rules) in matching.rules {
            for rule in rules {
                if rule.is_scored() {
                    scored.entry(*entity).or_default().push(ScoredRule::new(
                        *entity,
                        rule,
                        matching.base_dir,
                    )?);
                } else {
                    exact.entry(*entity).or_default().push(rule.clone());
                }
            }
        }
        Ok(Reconciler {
            exact,
            scored,
            priorities: matching.priorities.clone(),
            survivorship: matching.survivorship.clone(),
            cache: Arc::default(),
        })
    }

    fn exact_rules(&self, entity: EntityKind) -> &[MatchRule] {
        self.exact.get(&entity).map(Vec::as_slice).unwrap_or(&[])
    }

    fn scored_rules(&self, entity: EntityKind) -> &[ScoredRule] {
        self.scored.get(&entity).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Lets run `to` use what run `from` learnt about blocks and members: the caller knows that
    /// `from` committed everything it reconciled and that nothing has written to the store since.
    pub fn continue_cache(&self, from: i64, to: i64) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .continue_run(from, to);
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
        let mut state = BatchState::default();
        let mut cache =
            std::mem::take(&mut *self.cache.lock().unwrap_or_else(PoisonError::into_inner));
        for (entity, records) in group_by_entity(records) {
            let candidates = match self.scored_rules(entity) {
                [] => None,
                _ => cache.for_run(batch.run_id, entity),
            };
            self.apply_entity(
                store,
                source,
                (entity, candidates),
                records,
                &mut state,
                batch,
                stats,
            )
            .await?;
        }
        *self.cache.lock().unwrap_or_else(PoisonError::into_inner) = cache;
        self.relink_referrers(store, &mut state, batch, stats).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn apply_entity(
        &self,
        store: &StoreView<'_>,
        source: &str,
        (entity, mut cache): (EntityKind, Option<&mut Candidates>),
        records: Vec<Incoming>,
        state: &mut BatchState,
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
                    state
                        .known
                        .insert(source, entity, &incoming.record.key, &hit.golden_id);
                }
                _ => changed.push((incoming, fields, text, hash)),
            }
        }
        if changed.is_empty() {
            return Ok(());
        }

        let exact_rules = self.exact_rules(entity);
        let scored_rules = self.scored_rules(entity);
        let keys: Vec<RecordKeys> = changed
            .iter()
            .map(|(_, fields, _, _)| matcher::record_keys(entity, exact_rules, fields))
            .collect();
        let is_new: Vec<bool> = changed
            .iter()
            .map(|(i, _, _, _)| !hits.contains_key(&i.record.key))
            .collect();
        let new_keys: Vec<&RecordKeys> = keys
            .iter()
            .zip(&is_new)
            .filter(|(_, new)| **new)
            .map(|(k, _)| k)
            .collect();
        let mut exact = Matcher::prepare(store, entity, exact_rules, &new_keys).await?;
        // Each record is prepared once for blocking, term counts and scoring.
        let (profiles, block_values): (Vec<Option<Profile>>, Vec<Vec<String>>) =
            if scored_rules.is_empty() {
                changed.iter().map(|_| (None, Vec::new())).unzip()
            } else {
                parallel::map(&changed, |(_, fields, _, _)| {
                    let profile = Profile::new(fields);
                    let blocks = ScoredMatcher::block_values(scored_rules, &profile);
                    (Some(profile), blocks)
                })
                .into_iter()
                .unzip()
            };
        let new_blocks: Vec<Vec<String>> = block_values
            .iter()
            .zip(&is_new)
            .filter(|(_, new)| **new)
            .map(|(v, _)| v.clone())
            .collect();
        let new_terms: Vec<Vec<(Term, String)>> = profiles
            .iter()
            .zip(&is_new)
            .map(|(p, new)| match p {
                Some(p) if *new => frequency::record_terms(p),
                _ => Vec::new(),
            })
            .collect();
        let all_terms: Vec<(Term, String)> = new_terms.iter().flatten().cloned().collect();
        let mut scored = ScoredMatcher::prepare(
            store,
            entity,
            scored_rules,
            &new_blocks,
            &all_terms,
            cache.as_deref_mut(),
        )
        .await?;
        let text_fields = decide::text_fields(scored_rules);
        // Only new records are scored; their scores against what the store held before this
        // batch are worked out on all cores first.
        let scorables: Vec<Option<Scorable>> = profiles
            .into_iter()
            .zip(&is_new)
            .map(|(profile, new)| profile.filter(|_| *new).map(|p| scored.scorable(p)))
            .collect();
        let prescored = {
            let records: Vec<(Option<&Scorable>, &[String])> = scorables
                .iter()
                .zip(&block_values)
                .map(|(record, blocks)| (record.as_ref(), blocks.as_slice()))
                .collect();
            scored.prescore(&records)
        };
        // What the cache learns from this batch: per record, its golden ID, whether it is new,
        // and its packed profile.
        let mut learnt: Vec<(String, bool, Option<Packed>)> = Vec::new();

        let mut prepared = Vec::with_capacity(changed.len());
        let mut reviews: Vec<(String, scoring::Evidence, String)> = Vec::new();
        for ((((((incoming, fields, text, hash), keys), blocks), new_record), terms), prescored) in
            changed
                .into_iter()
                .zip(keys)
                .zip(block_values)
                .zip(scorables)
                .zip(new_terms)
                .zip(&prescored)
        {
            scored.count_terms(terms);
            let mut new_record = new_record;
            let key = incoming.record.key.clone();
            let is_new_record = !hits.contains_key(&key);
            let packed = match (&cache, &new_record) {
                (Some(_), Some(r)) => Some(Packed::new(&r.profile, &text_fields)),
                _ => None,
            };
            let mut scorable = None;
            let golden_id = match hits.get(&key) {
                Some(hit) => state.clusters.find(&hit.golden_id),
                None => {
                    let found = exact.find_all(&keys);
                    if let Some((target, rule)) = found.first() {
                        let target = state.clusters.find(target);
                        batch.matching.decisions.push(DecisionWrite {
                            entity,
                            source: source.to_string(),
                            key: key.clone(),
                            golden_id: target.clone(),
                            candidate_id: Some(target.clone()),
                            rule: rule.to_string(),
                            decision: "matched".into(),
                            score: None,
                            evidence: decide::exact_evidence(rule, &keys.concat()),
                        });
                        stats.matched += 1;
                        for (other, rule) in found.iter().skip(1) {
                            self.join(
                                store,
                                entity,
                                source,
                                &key,
                                &target,
                                other,
                                (rule, JoinedBy::Keys),
                                &scored,
                                state,
                                batch,
                                stats,
                            )
                            .await?;
                        }
                        // A record matched by key may still show by its score that another
                        // golden record is the same customer.
                        if let Some(record) = new_record.take() {
                            let also = scored.also_matches(
                                &record,
                                &blocks,
                                &target,
                                &state.clusters,
                                prescored,
                            );
                            self.join_scored(
                                store, entity, source, &key, &target, also, &scored, state, batch,
                                stats,
                            )
                            .await?;
                            scorable = Some(record);
                        }
                        state.clusters.find(&target)
                    } else if let Some(record) = new_record.take() {
                        let outcome = scored.score(&record, &blocks, &state.clusters, prescored);
                        scorable = Some(record);
                        match outcome {
                            Scored::Match(target, evidence, also) => {
                                stats.matched += 1;
                                push_decision(
                                    batch, entity, source, &key, &target, &target, "matched",
                                    evidence,
                                );
                                self.join_scored(
                                    store, entity, source, &key, &target, also, &scored, state,
                                    batch, stats,
                                )
                                .await?;
                                state.clusters.find(&target)
                            }
                            Scored::Review(candidate, evidence) => {
                                let id = mint(entity, state);
                                reviews.push((candidate, evidence, id.clone()));
                                id
                            }
                            Scored::Distinct(stopped) => {
                                let id = mint(entity, state);
                                if let Some((candidate, evidence)) = stopped {
                                    let decision = if evidence.vetoed_by.is_some() {
                                        "vetoed"
                                    } else {
                                        "conflicting"
                                    };
                                    push_decision(
                                        batch, entity, source, &key, &id, &candidate, decision,
                                        evidence,
                                    );
                                }
                                id
                            }
                        }
                    } else {
                        mint(entity, state)
                    }
                }
            };
            exact.register(keys, &golden_id);
            if scored.is_active() {
                scored.register(blocks, &golden_id, scorable);
            }
            if cache.is_some() {
                learnt.push((golden_id.clone(), is_new_record, packed));
            }
            state.known.insert(source, entity, &key, &golden_id);
            if is_new_key(&hits, &key)
                && matches!(entity, EntityKind::Customer | EntityKind::Product)
            {
                state.arrived.push((entity, key.clone()));
            }
            prepared.push(Prepared {
                key,
                text,
                fields,
                hash,
                incoming,
                golden_id,
            });
        }
        // The first record of each golden record, for the review items raised by its records.
        let mut first_record: HashMap<String, &str> = HashMap::new();
        if !reviews.is_empty() {
            for p in &prepared {
                first_record
                    .entry(state.clusters.find(&p.golden_id))
                    .or_insert(p.key.as_str());
            }
        }
        for (candidate, evidence, id) in reviews {
            stats.review += 1;
            let candidate = state.clusters.find(&candidate);
            let id = state.clusters.find(&id);
            if candidate == id {
                continue;
            }
            let (record_source, record_key) = first_record
                .get(&id)
                .map(|key| (source.to_string(), key.to_string()))
                .unwrap_or_default();
            push_decision(
                batch,
                entity,
                &record_source,
                &record_key,
                &id,
                &candidate,
                "review",
                evidence.clone(),
            );
            batch.matching.reviews.push(ReviewWrite {
                entity,
                left_id: id,
                right_id: candidate,
                source: record_source,
                key: record_key,
                rule: evidence.rule.clone(),
                score: evidence.total,
                evidence: serde_json::to_value(&evidence).unwrap_or_default(),
            });
        }
        drop(first_record);
        let term_counts = scored.take_term_counts();
        if let Some(cache) = cache {
            cache.add_term_counts(&term_counts);
            learn(cache, entity, state, &scored.writes, learnt);
        }
        batch.match_keys.append(&mut exact.writes);
        batch.matching.block_keys.append(&mut scored.writes);
        batch.matching.term_counts.extend(term_counts);
        // What scoring prepared (a profile for every member of every candidate golden record)
        // is freed before the batch's golden records are loaded and written.
        drop((scored, prescored));
        self.write_entity(store, source, entity, prepared, state, batch, stats)
            .await
    }

    /// Joins `target` with each golden record (`also`: golden ID, rule) that a record matched to
    /// `target` also scores as a match against.
    #[allow(clippy::too_many_arguments)]
    async fn join_scored(
        &self,
        store: &StoreView<'_>,
        entity: EntityKind,
        source: &str,
        key: &str,
        target: &str,
        also: Vec<(String, String)>,
        scored: &ScoredMatcher<'_>,
        state: &mut BatchState,
        batch: &mut Batch,
        stats: &mut ReconcileStats,
    ) -> Result<(), StoreError> {
        for (other, rule) in also {
            let why = (rule.as_str(), JoinedBy::Score);
            self.join(
                store, entity, source, key, target, &other, why, scored, state, batch, stats,
            )
            .await?;
        }
        Ok(())
    }

    /// Joins golden record `other` to `target` because one record belongs to both (`why`),
    /// unless the pair is known to be distinct or their tax IDs conflict (then the pair goes to
    /// review; a pair a steward kept apart is not raised again by a score).
    #[allow(clippy::too_many_arguments)]
    async fn join(
        &self,
        store: &StoreView<'_>,
        entity: EntityKind,
        source: &str,
        key: &str,
        target: &str,
        other: &str,
        (rule, why): (&str, JoinedBy),
        scored: &ScoredMatcher<'_>,
        state: &mut BatchState,
        batch: &mut Batch,
        stats: &mut ReconcileStats,
    ) -> Result<(), StoreError> {
        let (target, other) = (state.clusters.find(target), state.clusters.find(other));
        if target == other {
            return Ok(());
        }
        let ids = [target.as_str(), other.as_str()];
        let distinct = store.distinct_pairs(&ids).await?;
        if !distinct.is_empty() && matches!(why, JoinedBy::Score) {
            return Ok(());
        }
        let conflict = match (scored.candidate(&target), scored.candidate(&other)) {
            (Some(a), Some(b)) => steward::identifiers_conflict(a, b),
            _ => {
                let records = store.golden_records(&ids).await?;
                match (records.get(&target), records.get(&other)) {
                    (Some(a), Some(b)) => {
                        steward::identifiers_conflict(&Scorable::new(a), &Scorable::new(b))
                    }
                    _ => None,
                }
            }
        };
        if !distinct.is_empty() || conflict.is_some() {
            let evidence = serde_json::json!({
                "rule": rule, "kind": why.kind(), "blocked_by": conflict.unwrap_or_else(|| "distinct pair".into())
            });
            stats.review += 1;
            batch.matching.reviews.push(ReviewWrite {
                entity,
                left_id: target.clone(),
                right_id: other.clone(),
                source: source.to_string(),
                key: key.to_string(),
                rule: rule.to_string(),
                score: 0.0,
                evidence,
            });
            return Ok(());
        }
        if let Some((loser, survivor)) = state.clusters.union(&target, &other) {
            batch.matching.decisions.push(DecisionWrite {
                entity,
                source: source.to_string(),
                key: key.to_string(),
                golden_id: survivor,
                candidate_id: Some(loser),
                rule: rule.to_string(),
                decision: "merged".into(),
                score: None,
                evidence: serde_json::json!({"rule": rule, "kind": why.kind(), "reason": why.reason()}),
            });
        }
        Ok(())
    }

    /// Folds each prepared record into its golden record, applies this batch's merges and writes
    /// the golden records that changed.
    #[allow(clippy::too_many_arguments)]
    async fn write_entity(
        &self,
        store: &StoreView<'_>,
        source: &str,
        entity: EntityKind,
        prepared: Vec<Prepared>,
        state: &mut BatchState,
        batch: &mut Batch,
        stats: &mut ReconcileStats,
    ) -> Result<(), StoreError> {
        let losers: Vec<(String, String)> = state
            .clusters
            .losers()
            .into_iter()
            .filter(|(loser, _)| loser.starts_with(entity.id_prefix()))
            .collect();
        let mut ids: Vec<String> = prepared
            .iter()
            .map(|p| state.clusters.find(&p.golden_id))
            .chain(losers.iter().flat_map(|(l, s)| [l.clone(), s.clone()]))
            .filter(|id| !state.minted.contains(id))
            .collect();
        ids.sort();
        ids.dedup();
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut states: HashMap<String, GoldenState> = store
            .load_goldens(&id_refs)
            .await?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();

        let mut touched: Vec<String> = Vec::new();
        let mut touched_set: HashSet<String> = HashSet::new();
        let mut merged_into: HashMap<String, Vec<String>> = HashMap::new();
        for (loser, survivor) in &losers {
            let contributors = states
                .remove(loser)
                .map(|s| s.contributors)
                .unwrap_or_default();
            if !state.minted.contains(loser) {
                stats.merged += 1;
                merged_into
                    .entry(survivor.clone())
                    .or_default()
                    .push(loser.clone());
                batch.matching.merges.push(MergeWrite {
                    entity,
                    loser: loser.clone(),
                    survivor: survivor.clone(),
                });
            }
            let target = golden_state(&mut states, survivor, entity);
            for contributor in contributors {
                upsert_contributor(&mut target.contributors, contributor);
            }
            if touched_set.insert(survivor.clone()) {
                touched.push(survivor.clone());
            }
        }
        for p in prepared {
            let id = state.clusters.find(&p.golden_id);
            if touched_set.insert(id.clone()) {
                touched.push(id.clone());
            }
            let target = golden_state(&mut states, &id, entity);
            let previous = target
                .contributors
                .iter()
                .find(|c| c.source == source && c.key == p.key);
            let field_times =
                survive::field_times(previous, &p.fields, p.incoming.record.changed_at);
            upsert_contributor(
                &mut target.contributors,
                Contributor {
                    source: source.to_string(),
                    key: p.key.clone(),
                    record: p.fields,
                    changed_at: p.incoming.record.changed_at,
                    deleted: p.incoming.record.deleted,
                    origin: p.incoming.origin.clone(),
                    field_times: field_times.clone(),
                },
            );
            batch.xrefs.push(XrefWrite {
                source: source.to_string(),
                entity,
                key: p.key,
                golden_id: id,
                content_hash: p.hash,
                record_text: p.text,
                changed_at: p.incoming.record.changed_at,
                deleted: p.incoming.record.deleted,
                origin: p.incoming.origin,
                field_times,
            });
        }
        self.redirect_batch(state, batch);
        let goldens: Vec<GoldenState> = touched.iter().filter_map(|id| states.remove(id)).collect();
        self.write_goldens(store, goldens, &merged_into, state, batch, stats)
            .await
    }

    /// Rewrites the golden IDs of this batch's rows through its merges.
    fn redirect_batch(&self, state: &mut BatchState, batch: &mut Batch) {
        if state.clusters.is_empty() {
            return;
        }
        let find = |id: &mut String| *id = state.clusters.find(id);
        batch.xrefs.iter_mut().for_each(|x| find(&mut x.golden_id));
        batch
            .match_keys
            .iter_mut()
            .for_each(|k| find(&mut k.golden_id));
        let mut seen = HashSet::new();
        batch
            .matching
            .block_keys
            .iter_mut()
            .for_each(|k| find(&mut k.golden_id));
        batch
            .matching
            .block_keys
            .retain(|k| seen.insert((k.value.clone(), k.golden_id.clone())));
        batch
            .matching
            .decisions
            .iter_mut()
            .for_each(|d| find(&mut d.golden_id));
        for review in &mut batch.matching.reviews {
            find(&mut review.left_id);
            find(&mut review.right_id);
        }
        batch.matching.reviews.retain(|r| r.left_id != r.right_id);
        state.known.redirect(|id| state.clusters.find(id));
    }

    /// Recomputes golden records from their contributors, links their references and writes those
    /// that changed.
    async fn write_goldens(
        &self,
        store: &StoreView<'_>,
        goldens: Vec<GoldenState>,
        merged_into: &HashMap<String, Vec<String>>,
        state: &mut BatchState,
        batch: &mut Batch,
        stats: &mut ReconcileStats,
    ) -> Result<(), StoreError> {
        let mut composed = Vec::with_capacity(goldens.len());
        let mut wanted = HashSet::new();
        for mut golden in goldens {
            let spec = self.survivorship.get(&golden.entity);
            let contributors = std::mem::take(&mut golden.contributors);
            let deleted = contributors.iter().all(|c| c.deleted);
            let (record, lineage) = survive::survive(contributors, &self.priorities, spec);
            wanted.extend(refs::wanted(golden.entity, &record, &lineage));
            composed.push((golden, deleted, record, lineage));
        }
        if !wanted.is_empty() {
            let product_rules = self.exact_rules(EntityKind::Product);
            state.known.load(store, &wanted, product_rules).await?;
            let clusters = &state.clusters;
            state.known.redirect(|id| clusters.find(id));
        }
        for (golden, deleted, mut record, lineage) in composed {
            if matches!(golden.entity, EntityKind::Order | EntityKind::Bom) {
                let references = refs::link(
                    golden.entity,
                    &golden.id,
                    &mut record,
                    &lineage,
                    &state.known,
                );
                stats.unresolved_refs +=
                    references.iter().filter(|r| r.target_id.is_none()).count() as u64;
                batch.matching.referrers.push(golden.id.clone());
                batch.matching.references.extend(references);
            }
            let merged = merged_into.get(&golden.id).cloned().unwrap_or_default();
            state.written.insert(golden.id.clone());
            self.write_golden(&golden, deleted, (record, lineage), merged, batch, stats);
        }
        Ok(())
    }

    /// Writes a version and an event of a golden record when it changed (or absorbed others);
    /// `deleted` when every contributor is.
    fn write_golden(
        &self,
        state: &GoldenState,
        deleted: bool,
        (record, lineage): (Fields, crate::store::Lineage),
        merged: Vec<String>,
        batch: &mut Batch,
        stats: &mut ReconcileStats,
    ) {
        let is_new = state.version == 0;
        if is_new && deleted {
            return;
        }
        let changed = survive::changed_fields(&state.record, &record);
        if changed.is_empty() && deleted == state.deleted && merged.is_empty() {
            return;
        }
        let operation = if !merged.is_empty() {
            Operation::Merged
        } else if deleted {
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
            merged,
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

    /// Relinks orders and BOMs written earlier whose references now resolve differently: those
    /// waiting for a customer or product that arrived in this batch, and those pointing at a
    /// golden record this batch merged away.
    async fn relink_referrers(
        &self,
        store: &StoreView<'_>,
        state: &mut BatchState,
        batch: &mut Batch,
        stats: &mut ReconcileStats,
    ) -> Result<(), StoreError> {
        let mut referrers: Vec<String> = Vec::new();
        for entity in [EntityKind::Customer, EntityKind::Product] {
            let keys: Vec<&str> = state
                .arrived
                .iter()
                .filter(|(e, _)| *e == entity)
                .map(|(_, k)| k.as_str())
                .collect();
            for reference in store.pending_references(entity, &keys).await? {
                referrers.push(reference.referrer_id);
            }
        }
        let losers: Vec<String> = state
            .clusters
            .losers()
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        let losers: Vec<&str> = losers.iter().map(String::as_str).collect();
        referrers.extend(store.referrers_of(&losers).await?);
        referrers.sort();
        referrers.dedup();
        referrers.retain(|id| !state.written.contains(id));
        if referrers.is_empty() {
            return Ok(());
        }
        self.recompute(store, &referrers, state, batch, stats).await
    }

    /// Recomputes and writes golden records by ID (relinking their references).
    async fn recompute(
        &self,
        store: &StoreView<'_>,
        ids: &[String],
        state: &mut BatchState,
        batch: &mut Batch,
        stats: &mut ReconcileStats,
    ) -> Result<(), StoreError> {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let goldens = store.load_goldens(&ids).await?;
        self.write_goldens(store, goldens, &HashMap::new(), state, batch, stats)
            .await
    }
}

/// Why one record joins two golden records: the evidence a steward reads in `explain`.
#[derive(Debug, Clone, Copy)]
enum JoinedBy {
    /// Its keys name both.
    Keys,
    /// It scores above the match threshold against both.
    Score,
}

impl JoinedBy {
    fn kind(self) -> &'static str {
        match self {
            JoinedBy::Keys => "exact",
            JoinedBy::Score => "scored",
        }
    }

    fn reason(self) -> &'static str {
        match self {
            JoinedBy::Keys => "one record's keys name both golden records",
            JoinedBy::Score => {
                "one record scores above the match threshold against both golden records"
            }
        }
    }
}

/// Tells the run's cache what a batch changed: merges, the block values it gave golden records,
/// its new records' prepared profiles, and the golden records whose stored records changed.
fn learn(
    cache: &mut Candidates,
    entity: EntityKind,
    state: &BatchState,
    block_writes: &[crate::store::BlockKeyWrite],
    learnt: Vec<(String, bool, Option<Packed>)>,
) {
    for (loser, survivor) in state.clusters.losers() {
        if loser.starts_with(entity.id_prefix()) {
            cache.merge(&loser, &survivor, state.minted.contains(&loser));
        }
    }
    for write in block_writes {
        cache.add_block(&write.value, &state.clusters.find(&write.golden_id));
    }
    for (golden_id, is_new, packed) in learnt {
        let golden_id = state.clusters.find(&golden_id);
        match (is_new, packed) {
            (true, Some(packed)) => {
                let minted = state.minted.contains(&golden_id);
                cache.add_member(&golden_id, packed, minted);
            }
            (true, None) => {}
            (false, _) => cache.forget_members(&golden_id),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn push_decision(
    batch: &mut Batch,
    entity: EntityKind,
    source: &str,
    key: &str,
    golden_id: &str,
    candidate: &str,
    decision: &str,
    evidence: scoring::Evidence,
) {
    batch.matching.decisions.push(DecisionWrite {
        entity,
        source: source.to_string(),
        key: key.to_string(),
        golden_id: golden_id.to_string(),
        candidate_id: Some(candidate.to_string()),
        rule: evidence.rule.clone(),
        decision: decision.to_string(),
        score: Some(evidence.total),
        evidence: serde_json::to_value(&evidence).unwrap_or_default(),
    });
}

fn is_new_key(hits: &HashMap<String, crate::store::XrefHit>, key: &str) -> bool {
    !hits.contains_key(key)
}

/// A fresh golden ID, remembered as minted by this batch.
fn mint(entity: EntityKind, state: &mut BatchState) -> String {
    let id = new_golden_id(entity);
    state.minted.insert(id.clone());
    id
}

/// The state of a golden record in `states`, created empty when it is new.
fn golden_state<'a>(
    states: &'a mut HashMap<String, GoldenState>,
    id: &str,
    entity: EntityKind,
) -> &'a mut GoldenState {
    states.entry(id.to_string()).or_insert_with(|| GoldenState {
        id: id.to_string(),
        entity,
        version: 0,
        record: Fields::new(),
        lineage: Default::default(),
        deleted: true,
        contributors: Vec::new(),
    })
}

/// Puts a contributor in place of the one with the same source and key, or adds it.
fn upsert_contributor(contributors: &mut Vec<Contributor>, contributor: Contributor) {
    match contributors
        .iter_mut()
        .find(|c| c.source == contributor.source && c.key == contributor.key)
    {
        Some(existing) => *existing = contributor,
        None => contributors.push(contributor),
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
pub fn new_golden_id(entity: EntityKind) -> String {
    format!("{}_{}", entity.id_prefix(), Uuid::now_v7().simple())
}

/// A record's fields as JSON text, in the canonical struct's field order.
fn record_text(fields: &Fields) -> String {
    serde_json::to_string(fields).unwrap_or_default()
}

/// The hash that tells whether a source record changed since it was stored.
fn content_hash(text: &str, deleted: bool) -> Vec<u8> {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[u8::from(deleted)]);
    hasher.update(text.as_bytes());
    hasher.finalize().as_bytes()[..16].to_vec()
}
