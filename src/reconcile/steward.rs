//! What a data steward does by hand: accept or reject a review item, split a source record out of
//! a golden record (unmerge), and read why records were or were not merged (explain). Each
//! operation is one batch, committed in one transaction with its events, like a sync batch.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::json;

use crate::model::EntityKind;
use crate::store::{
    Batch, Decision, DecisionWrite, Fields, GoldenState, Lineage, MatchKeyWrite, Relink,
    ReviewItem, ReviewStatus, RunStatus, Stewardship, Store, StoreError,
};

use super::compare::{Comparator, Level};
use super::decide::ScoredMatcher;
use super::scoring::Scorable;
use super::view::StoreView;
use super::{BatchState, ReconcileStats, Reconciler, matcher, new_golden_id};

/// Why a steward operation could not be done.
#[derive(Debug, thiserror::Error)]
pub enum StewardError {
    #[error("no review item #{0}")]
    NoReview(i64),
    #[error("review item #{0} is already {1}")]
    Decided(i64, &'static str),
    #[error("no {0} golden record {1}")]
    NoGolden(EntityKind, String),
    #[error("{source_name}:{key} is not a source record of {id}")]
    NotAContributor {
        id: String,
        source_name: String,
        key: String,
    },
    #[error("{id} has no other source record: {source_name}:{key} is already on its own")]
    Alone {
        id: String,
        source_name: String,
        key: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a source record is split out of its golden record, for its decision.
pub(super) struct Split {
    /// `unmerge` (a steward) or `rescore`.
    pub rule: &'static str,
    pub reason: String,
    pub score: Option<f64>,
}

/// The source name steward operations are recorded under in the run log.
const STEWARD_RUN: &str = "(steward)";

/// A conflict of legal identifiers (tax ID, DUNS) between two records, which forbids merging
/// them: two legal entities are never one customer.
pub fn identifiers_conflict(a: &Scorable, b: &Scorable) -> Option<String> {
    [Comparator::TaxId, Comparator::Duns]
        .into_iter()
        .find_map(|comparator| {
            let compared = comparator.compare_profiles("", &a.profile, &b.profile);
            (compared.level == Level::Far).then(|| {
                format!(
                    "{comparator:?} differs: {} vs {}",
                    compared.left.unwrap_or_default(),
                    compared.right.unwrap_or_default()
                )
            })
        })
}

/// A golden record explained: its current record and lineage, the records merged into it and
/// every decision that put records in or kept them out.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub id: String,
    /// The ID asked for, when it redirected to `id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asked: Option<String>,
    pub record: Fields,
    pub lineage: Lineage,
    pub sources: Vec<(String, String)>,
    pub merged: Vec<String>,
    pub decisions: Vec<Decision>,
    pub reviews: Vec<ReviewItem>,
}

impl Reconciler {
    /// Accepts a review item: the two golden records merge (the older ID survives).
    pub async fn accept_review(
        &self,
        store: &dyn Store,
        id: i64,
    ) -> Result<ReconcileStats, StewardError> {
        let item = open_review(store, id).await?;
        let left = resolved(store, item.entity, &item.left_id).await?;
        let right = resolved(store, item.entity, &item.right_id).await?;
        self.steward_batch(store, |batch, state| {
            batch
                .matching
                .review_decisions
                .push((id, ReviewStatus::Accepted));
            batch.matching.decisions.push(DecisionWrite {
                entity: item.entity,
                source: item.source.clone(),
                key: item.key.clone(),
                golden_id: left.clone().min(right.clone()),
                candidate_id: Some(left.clone().max(right.clone())),
                rule: item.rule.clone(),
                decision: "accepted".into(),
                score: Some(item.score),
                evidence: json!({ "review": id, "evidence": item.evidence }),
            });
            state.clusters.union(&left, &right);
            item.entity
        })
        .await
    }

    /// Rejects a review item: the pair is remembered and never merged automatically.
    pub async fn reject_review(
        &self,
        store: &dyn Store,
        id: i64,
    ) -> Result<ReconcileStats, StewardError> {
        let item = open_review(store, id).await?;
        let left = resolved(store, item.entity, &item.left_id).await?;
        let right = resolved(store, item.entity, &item.right_id).await?;
        self.steward_batch(store, |batch, _| {
            batch
                .matching
                .review_decisions
                .push((id, ReviewStatus::Rejected));
            batch.matching.distinct_pairs.push((
                left.clone(),
                right.clone(),
                format!("review #{id} rejected"),
            ));
            batch.matching.decisions.push(DecisionWrite {
                entity: item.entity,
                source: item.source.clone(),
                key: item.key.clone(),
                golden_id: left.clone(),
                candidate_id: Some(right.clone()),
                rule: item.rule.clone(),
                decision: "rejected".into(),
                score: Some(item.score),
                evidence: json!({ "review": id, "evidence": item.evidence }),
            });
            item.entity
        })
        .await
    }

    /// Splits source record `source:key` out of golden record `id` into a golden record of its
    /// own. The pair is remembered as distinct, so no later sync merges them again.
    pub async fn unmerge(
        &self,
        store: &dyn Store,
        entity: EntityKind,
        id: &str,
        source: &str,
        key: &str,
    ) -> Result<(String, ReconcileStats), StewardError> {
        let why = Split {
            rule: "unmerge",
            reason: "split out by a steward".into(),
            score: None,
        };
        self.split_out(store, entity, id, source, key, why).await
    }

    /// Splits a source record out into a golden record of its own and remembers the pair as
    /// distinct: the work of [`Reconciler::unmerge`] and of a rescore's splits.
    pub(super) async fn split_out(
        &self,
        store: &dyn Store,
        entity: EntityKind,
        id: &str,
        source: &str,
        key: &str,
        why: Split,
    ) -> Result<(String, ReconcileStats), StewardError> {
        let id = resolved(store, entity, id).await?;
        let view = StoreView {
            store,
            pending: None,
        };
        let mut golden = view
            .load_goldens(&[id.as_str()])
            .await?
            .pop()
            .ok_or_else(|| StewardError::NoGolden(entity, id.clone()))?;
        let position = golden
            .contributors
            .iter()
            .position(|c| c.source == source && c.key == key)
            .ok_or_else(|| StewardError::NotAContributor {
                id: id.clone(),
                source_name: source.into(),
                key: key.into(),
            })?;
        if golden.contributors.len() == 1 {
            return Err(StewardError::Alone {
                id,
                source_name: source.into(),
                key: key.into(),
            });
        }
        let split = golden.contributors.remove(position);
        let new_id = new_golden_id(entity);
        let run_id = store.begin_run(STEWARD_RUN, false).await?;
        let mut batch = Batch {
            run_id,
            source: STEWARD_RUN.into(),
            ..Batch::default()
        };
        let mut state = BatchState::default();
        let mut stats = ReconcileStats::default();
        batch.matching.relinks.push(Relink {
            source: source.into(),
            entity,
            key: key.into(),
            golden_id: new_id.clone(),
        });
        batch.matching.distinct_pairs.push((
            id.clone(),
            new_id.clone(),
            match why.rule {
                "unmerge" => format!("{source}:{key} unmerged"),
                rule => format!("{source}:{key} split out by {rule}"),
            },
        ));
        batch.matching.decisions.push(DecisionWrite {
            entity,
            source: source.into(),
            key: key.into(),
            golden_id: new_id.clone(),
            candidate_id: Some(id.clone()),
            rule: why.rule.into(),
            decision: "split".into(),
            score: why.score,
            evidence: json!({ "reason": why.reason }),
        });
        // Keys only the split record has follow it; keys the others share stay.
        let rules = self.exact_rules(entity);
        let kept: Vec<String> = golden
            .contributors
            .iter()
            .flat_map(|c| matcher::record_keys(entity, rules, &c.record).concat())
            .collect();
        for (rule, values) in rules
            .iter()
            .zip(matcher::record_keys(entity, rules, &split.record))
        {
            for value in values.into_iter().filter(|v| !kept.contains(v)) {
                batch.matching.moved_keys.push(MatchKeyWrite {
                    entity,
                    rule: rule.rule.clone(),
                    value,
                    golden_id: new_id.clone(),
                });
            }
        }
        for value in ScoredMatcher::block_values(
            self.scored_rules(entity),
            &super::compare::Profile::new(&split.record),
        ) {
            batch.matching.block_keys.push(crate::store::BlockKeyWrite {
                entity,
                value,
                golden_id: new_id.clone(),
            });
        }
        state.known.insert(source, entity, key, &new_id);
        let created = GoldenState {
            id: new_id.clone(),
            entity,
            version: 0,
            record: Fields::new(),
            lineage: Lineage::new(),
            deleted: true,
            contributors: vec![split],
        };
        self.write_goldens(
            &view,
            vec![golden, created],
            &HashMap::new(),
            &mut state,
            &mut batch,
            &mut stats,
        )
        .await?;
        let referrers = store.referrers_of(&[id.as_str()]).await?;
        let referrers: Vec<String> = referrers
            .into_iter()
            .filter(|r| !state.written.contains(r))
            .collect();
        if !referrers.is_empty() {
            self.recompute(&view, &referrers, &mut state, &mut batch, &mut stats)
                .await?;
        }
        commit(store, batch, &stats).await?;
        Ok((new_id, stats))
    }

    /// Runs a steward change that merges through `state.clusters`, writes and commits it.
    pub(super) async fn steward_batch(
        &self,
        store: &dyn Store,
        decide: impl FnOnce(&mut Batch, &mut BatchState) -> EntityKind,
    ) -> Result<ReconcileStats, StewardError> {
        let run_id = store.begin_run(STEWARD_RUN, false).await?;
        let mut batch = Batch {
            run_id,
            source: STEWARD_RUN.into(),
            ..Batch::default()
        };
        let mut state = BatchState::default();
        let mut stats = ReconcileStats::default();
        let entity = decide(&mut batch, &mut state);
        let view = StoreView {
            store,
            pending: None,
        };
        if !state.clusters.is_empty() {
            self.write_entity(
                &view,
                STEWARD_RUN,
                entity,
                Vec::new(),
                &mut state,
                &mut batch,
                &mut stats,
            )
            .await?;
            self.relink_referrers(&view, &mut state, &mut batch, &mut stats)
                .await?;
        }
        commit(store, batch, &stats).await?;
        Ok(stats)
    }
}

/// Commits a steward batch and closes its run.
async fn commit(store: &dyn Store, batch: Batch, stats: &ReconcileStats) -> Result<(), StoreError> {
    let run_id = batch.run_id;
    let result = store.commit(&batch).await;
    let status = if result.is_ok() {
        RunStatus::Succeeded
    } else {
        RunStatus::Failed
    };
    let error = result.as_ref().err().map(ToString::to_string);
    store
        .finish_run(
            run_id,
            status,
            &serde_json::to_value(stats).unwrap_or_default(),
            error.as_deref(),
        )
        .await?;
    result
}

async fn open_review(store: &dyn Stewardship, id: i64) -> Result<ReviewItem, StewardError> {
    let item = store.review(id).await?.ok_or(StewardError::NoReview(id))?;
    if item.status != ReviewStatus::Open {
        return Err(StewardError::Decided(id, item.status.as_str()));
    }
    Ok(item)
}

pub(super) async fn resolved(
    store: &dyn Store,
    entity: EntityKind,
    id: &str,
) -> Result<String, StewardError> {
    store
        .resolve_id(id)
        .await?
        .ok_or_else(|| StewardError::NoGolden(entity, id.to_string()))
}

/// Gathers what `concord explain` shows.
pub async fn explain(
    store: &dyn Store,
    entity: EntityKind,
    id: &str,
) -> Result<Explanation, StewardError> {
    let current = resolved(store, entity, id).await?;
    let golden = store
        .load_goldens(&[current.as_str()])
        .await?
        .pop()
        .ok_or_else(|| StewardError::NoGolden(entity, current.clone()))?;
    let merged = store.merged_into(&current).await?;
    let mut ids: Vec<&str> = vec![current.as_str()];
    ids.extend(merged.iter().map(String::as_str));
    let decisions = store.decisions(&ids).await?;
    let reviews = store
        .reviews(None, i64::MAX)
        .await?
        .into_iter()
        .filter(|r| ids.contains(&r.left_id.as_str()) || ids.contains(&r.right_id.as_str()))
        .collect();
    Ok(Explanation {
        asked: (current != id).then(|| id.to_string()),
        record: golden.record,
        lineage: golden.lineage,
        sources: golden
            .contributors
            .iter()
            .map(|c| (c.source.clone(), c.key.clone()))
            .collect(),
        merged,
        decisions,
        reviews,
        id: current,
    })
}
