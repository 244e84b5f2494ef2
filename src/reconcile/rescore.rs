//! `concord reconcile rescore`: the stored source records and the open review queue judged again
//! under the current rules and weights (after `reconcile train`, or after a rule changed), so that
//! what was decided under older weights does not stay wrong for ever.
//!
//! Every pair of stored records that share a block is scored. Records of two golden records whose
//! pair now reaches the match threshold merge (as a sync would have merged them); a source record
//! that scores below the review threshold against every other record of its golden record — or is
//! vetoed by one — and shares no exact key with them is split out; an open review pair that now
//! reaches the match threshold is accepted, one that falls below the review threshold dismissed.
//! A dry run reports the same without writing. Merges and splits write events as a steward's
//! would; golden records merged by a steward's accepted review are never split.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde_json::json;

use crate::model::EntityKind;
use crate::store::{DecisionWrite, ReviewStatus, Store, StoredMember};

use super::clusters::Clusters;
use super::compare::Profile;
use super::frequency::{Frequencies, Term, record_terms};
use super::scoring::{Scorable, ScoredRule};
use super::steward::{self, Split, StewardError, identifiers_conflict};
use super::{ReconcileStats, Reconciler, matcher, split};

/// Limits of a rescore.
#[derive(Debug, Clone, Copy)]
pub struct RescoreOptions {
    /// Report what would change, write nothing.
    pub dry_run: bool,
    /// Records of one block value compared with each other at most (larger blocks are split by
    /// the records' name words, as in matching).
    pub max_block: usize,
}

impl Default for RescoreOptions {
    fn default() -> Self {
        RescoreOptions {
            dry_run: false,
            max_block: super::decide::MAX_BLOCK,
        }
    }
}

/// Two golden records that merge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedMerge {
    pub left_id: String,
    pub right_id: String,
    /// The best-scoring pair of their source records, as `source:key`.
    pub left_record: String,
    pub right_record: String,
    pub rule: String,
    pub score: f64,
}

/// A source record that leaves its golden record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedSplit {
    pub golden_id: String,
    pub source: String,
    pub key: String,
    /// Its best score against the other records of the golden record (`None`: vetoed).
    pub best_score: Option<f64>,
    /// The new golden ID (after a run that was not a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_id: Option<String>,
}

/// What a rescore found, and did unless it was a dry run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RescoreReport {
    pub entity: Option<EntityKind>,
    pub dry_run: bool,
    pub records: usize,
    /// Pairs of records scored.
    pub pairs: u64,
    pub merges: Vec<PlannedMerge>,
    pub splits: Vec<PlannedSplit>,
    /// Open review items that now reach the match threshold (they merge).
    pub reviews_accepted: Vec<i64>,
    /// Open review items that now score below the review threshold.
    pub reviews_dismissed: Vec<i64>,
    /// What writing the changes did (events and all); empty on a dry run.
    pub stats: ReconcileStats,
}

/// The stored records of one entity, prepared for scoring.
struct Prepared {
    members: Vec<StoredMember>,
    scorables: Vec<Scorable>,
    /// Exact-rule key values of each record.
    keys: Vec<HashSet<String>>,
}

/// Per record: its best total against another record of its own golden record, and whether a
/// vetoing comparison came out far against one.
#[derive(Default, Clone, Copy)]
struct Within {
    best: Option<f64>,
    vetoed: bool,
}

impl Reconciler {
    /// Re-scores the stored records and the review queue of `entity`, and applies the merges and
    /// splits it finds (unless `options.dry_run`).
    pub async fn rescore(
        &self,
        store: &dyn Store,
        entity: EntityKind,
        options: RescoreOptions,
    ) -> Result<RescoreReport, StewardError> {
        let rules = self.scored_rules(entity);
        let mut report = RescoreReport {
            entity: Some(entity),
            dry_run: options.dry_run,
            ..RescoreReport::default()
        };
        if rules.is_empty() {
            return Ok(report);
        }
        let prepared = self.prepare_members(store, entity).await?;
        report.records = prepared.members.len();
        let (candidates, within, pairs) = score_pairs(rules, &prepared, options.max_block);
        report.pairs = pairs;

        let ids: Vec<&str> = candidates
            .iter()
            .flat_map(|c| [c.left_id.as_str(), c.right_id.as_str()])
            .collect();
        let distinct = store.distinct_pairs(&ids).await?;
        report.merges = plan_merges(candidates, &distinct, rules, &prepared);
        report.splits = self.plan_splits(store, rules, &prepared, &within).await?;
        let reviews = store.reviews(Some(ReviewStatus::Open), i64::MAX).await?;
        let mut by_golden: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, m) in prepared.members.iter().enumerate() {
            by_golden.entry(m.golden_id.as_str()).or_default().push(i);
        }
        let mut review_merges = Vec::new();
        for item in reviews.into_iter().filter(|r| r.entity == entity) {
            let left = steward::resolved(store, entity, &item.left_id).await?;
            let right = steward::resolved(store, entity, &item.right_id).await?;
            let best = best_between(rules, &prepared, &by_golden, &left, &right);
            match best {
                Some((total, rule)) if total >= rule.match_threshold => {
                    report.reviews_accepted.push(item.id);
                    review_merges.push((item, left, right, total));
                }
                Some((total, rule)) if total < rule.review_threshold => {
                    report.reviews_dismissed.push(item.id);
                }
                None if left == right => report.reviews_dismissed.push(item.id),
                _ => {}
            }
        }
        // A review pair that now merges is told once, as an accepted review.
        report.merges.retain(|m| {
            !review_merges.iter().any(|(_, l, r, _)| {
                (m.left_id == *l && m.right_id == *r) || (m.left_id == *r && m.right_id == *l)
            })
        });
        if options.dry_run {
            return Ok(report);
        }

        let merges = report.merges.clone();
        let dismissed = report.reviews_dismissed.clone();
        if !merges.is_empty() || !review_merges.is_empty() || !dismissed.is_empty() {
            let stats = self
                .steward_batch(store, |batch, state| {
                    for m in &merges {
                        if let Some((loser, survivor)) = state.clusters.union(&m.left_id, &m.right_id)
                        {
                            batch.matching.decisions.push(DecisionWrite {
                                entity,
                                source: String::new(),
                                key: m.left_record.clone(),
                                golden_id: survivor,
                                candidate_id: Some(loser),
                                rule: m.rule.clone(),
                                decision: "merged".into(),
                                score: Some(m.score),
                                evidence: json!({
                                    "reason": "rescore: the pair reaches the match threshold under the current weights",
                                    "left": m.left_record, "right": m.right_record,
                                }),
                            });
                        }
                    }
                    for (item, left, right, total) in &review_merges {
                        batch
                            .matching
                            .review_decisions
                            .push((item.id, ReviewStatus::Accepted));
                        batch.matching.decisions.push(DecisionWrite {
                            entity,
                            source: item.source.clone(),
                            key: item.key.clone(),
                            golden_id: left.clone(),
                            candidate_id: Some(right.clone()),
                            rule: item.rule.clone(),
                            decision: "accepted".into(),
                            score: Some(*total),
                            evidence: json!({ "review": item.id, "reason": "rescore: the pair now reaches the match threshold" }),
                        });
                        state.clusters.union(left, right);
                    }
                    for id in &dismissed {
                        batch
                            .matching
                            .review_decisions
                            .push((*id, ReviewStatus::Dismissed));
                    }
                    entity
                })
                .await?;
            add(&mut report.stats, &stats);
        }
        for split in &mut report.splits {
            let why = Split {
                rule: "rescore",
                reason: match split.best_score {
                    Some(score) => format!(
                        "rescore: best score {score:.2} against the other records is below the review threshold"
                    ),
                    None => "rescore: a vetoing comparison conflicts with another record".into(),
                },
                score: split.best_score,
            };
            let (new_id, stats) = self
                .split_out(
                    store,
                    entity,
                    &split.golden_id,
                    &split.source,
                    &split.key,
                    why,
                )
                .await?;
            split.new_id = Some(new_id);
            add(&mut report.stats, &stats);
        }
        Ok(report)
    }

    /// Loads the stored records and prepares them, with the stored term frequencies.
    async fn prepare_members(
        &self,
        store: &dyn Store,
        entity: EntityKind,
    ) -> Result<Prepared, StewardError> {
        let members = store.stored_members(entity).await?;
        let profiles: Vec<Profile> = super::parallel::map(&members, |m| Profile::new(&m.record));
        let mut frequencies = Frequencies::default();
        for term in Term::ALL {
            let values: HashSet<String> = profiles
                .iter()
                .flat_map(record_terms)
                .filter(|(t, _)| *t == term)
                .map(|(_, v)| v)
                .collect();
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            let counts = store.term_counts(entity, term.as_str(), &values).await?;
            frequencies.terms.insert(term, counts);
        }
        let exact = self.exact_rules(entity);
        let keys = members
            .iter()
            .map(|m| {
                matcher::record_keys(entity, exact, &m.record)
                    .into_iter()
                    .enumerate()
                    .flat_map(|(rule, values)| {
                        values.into_iter().map(move |v| format!("{rule}:{v}"))
                    })
                    .collect()
            })
            .collect();
        let scorables = profiles
            .into_iter()
            .map(|p| Scorable::prepared(p, Some(&frequencies)))
            .collect();
        Ok(Prepared {
            members,
            scorables,
            keys,
        })
    }

    /// Records to split out: scored below the review threshold against every other record of
    /// their golden record (or vetoed by one), sharing no exact key with them, in a golden record
    /// no steward merged by hand.
    async fn plan_splits(
        &self,
        store: &dyn Store,
        rules: &[ScoredRule],
        prepared: &Prepared,
        within: &[Within],
    ) -> Result<Vec<PlannedSplit>, StewardError> {
        let review_threshold = rules
            .iter()
            .map(|r| r.review_threshold)
            .fold(f64::INFINITY, f64::min);
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, m) in prepared.members.iter().enumerate() {
            groups.entry(m.golden_id.as_str()).or_default().push(i);
        }
        let mut splits = Vec::new();
        for (golden, members) in groups.into_iter().filter(|(_, m)| m.len() > 1) {
            let lonely: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&i| {
                    let w = within[i];
                    let low = w.vetoed || w.best.is_some_and(|b| b < review_threshold);
                    let shares_key = members
                        .iter()
                        .any(|&j| j != i && !prepared.keys[i].is_disjoint(&prepared.keys[j]));
                    low && !shares_key
                })
                .collect();
            // Splitting every record of a golden record leaves nothing: keep the first.
            let lonely: Vec<usize> = if lonely.len() == members.len() {
                lonely.into_iter().skip(1).collect()
            } else {
                lonely
            };
            if lonely.is_empty() {
                continue;
            }
            let by_steward = store
                .decisions(&[golden])
                .await?
                .iter()
                .any(|d| d.decision == "accepted");
            if by_steward {
                continue;
            }
            for i in lonely {
                let m = &prepared.members[i];
                splits.push(PlannedSplit {
                    golden_id: golden.to_string(),
                    source: m.source.clone(),
                    key: m.key.clone(),
                    best_score: if within[i].vetoed {
                        None
                    } else {
                        within[i].best
                    },
                    new_id: None,
                });
            }
        }
        Ok(splits)
    }
}

/// A scored pair of records of two golden records at or above the match threshold.
struct Candidate {
    left_id: String,
    right_id: String,
    left: usize,
    right: usize,
    rule: usize,
    total: f64,
}

/// Scores every pair of records sharing a block under each rule: the pairs across golden records
/// that reach the match threshold, and per record how it scores within its own golden record.
fn score_pairs(
    rules: &[ScoredRule],
    prepared: &Prepared,
    max_block: usize,
) -> (Vec<Candidate>, Vec<Within>, u64) {
    let members = &prepared.members;
    let mut within = vec![Within::default(); members.len()];
    let mut candidates = Vec::new();
    let mut scored = 0u64;
    for (r, rule) in rules.iter().enumerate() {
        let mut blocks: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, s) in prepared.scorables.iter().enumerate() {
            for value in rule.block_values_of(&s.profile) {
                blocks.entry(value).or_default().push(i);
            }
        }
        let mut seen: HashSet<(usize, usize)> = HashSet::new();
        let mut values: Vec<&String> = blocks.keys().collect();
        values.sort();
        for value in values {
            let block = &blocks[value];
            let split_parts;
            let parts: Vec<&[usize]> = if block.len() > max_block {
                // A value this common tells little alone: as in matching, only records that
                // also share a name word are compared.
                split_parts = split::parts(block, &prepared.scorables, max_block);
                split_parts.iter().map(Vec::as_slice).collect()
            } else {
                vec![block.as_slice()]
            };
            for block in parts {
                for (x, &i) in block.iter().enumerate() {
                    for &j in &block[x + 1..] {
                        if !seen.insert((i.min(j), i.max(j))) {
                            continue;
                        }
                        scored += 1;
                        let (a, b) = (&prepared.scorables[i], &prepared.scorables[j]);
                        let quick = rule.quick_score(a, b);
                        let (total, veto) = (quick.total, quick.vetoed_by);
                        if members[i].golden_id == members[j].golden_id {
                            for k in [i, j] {
                                let w = &mut within[k];
                                w.vetoed |= veto.is_some();
                                w.best = Some(w.best.map_or(total, |b: f64| b.max(total)));
                            }
                        } else if veto.is_none()
                            && total >= rule.match_threshold
                            && identifiers_conflict(a, b).is_none()
                        {
                            candidates.push(Candidate {
                                left_id: members[i].golden_id.clone(),
                                right_id: members[j].golden_id.clone(),
                                left: i,
                                right: j,
                                rule: r,
                                total,
                            });
                        }
                    }
                }
            }
        }
    }
    // Plans are written best first, and ties in a fixed order, so a rerun says the same.
    candidates.sort_by(|a, b| {
        b.total
            .total_cmp(&a.total)
            .then_with(|| (a.left, a.right).cmp(&(b.left, b.right)))
    });
    (candidates, within, scored)
}

/// One merge per pair of golden records (the best-scoring record pair stands for it), best pair
/// first, pairs a steward or an unmerge declared distinct left out. As in a sync, two golden
/// records become one only if no record of the one [stops](ScoredRule::stops) a record of the
/// other, counting the merges planned before: a bare name at an address that scores as a match
/// against two namesakes born in different years does not join them.
fn plan_merges(
    candidates: Vec<Candidate>,
    distinct: &HashSet<(String, String)>,
    rules: &[ScoredRule],
    prepared: &Prepared,
) -> Vec<PlannedMerge> {
    let record = |i: usize| {
        let m = &prepared.members[i];
        format!("{}:{}", m.source, m.key)
    };
    // Surviving golden ID → the records of the golden record the planned merges make.
    let mut planned_members: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, m) in prepared.members.iter().enumerate() {
        planned_members
            .entry(m.golden_id.clone())
            .or_default()
            .push(i);
    }
    let mut clusters = Clusters::default();
    let mut planned: Vec<PlannedMerge> = Vec::new();
    for c in candidates {
        let pair = if c.left_id <= c.right_id {
            (c.left_id.clone(), c.right_id.clone())
        } else {
            (c.right_id.clone(), c.left_id.clone())
        };
        let (left, right) = (clusters.find(&c.left_id), clusters.find(&c.right_id));
        if left == right || distinct.contains(&pair) {
            continue;
        }
        let rule = &rules[c.rule];
        let members = |id: &str| planned_members.get(id).map(Vec::as_slice).unwrap_or(&[]);
        let stopped = members(&left).iter().any(|&i| {
            members(&right).iter().any(|&j| {
                rule.stops(&rule.quick_score(&prepared.scorables[i], &prepared.scorables[j]))
            })
        });
        if stopped {
            continue;
        }
        if let Some((loser, survivor)) = clusters.union(&left, &right) {
            let moved = planned_members.remove(&loser).unwrap_or_default();
            planned_members.entry(survivor).or_default().extend(moved);
        }
        planned.push(PlannedMerge {
            left_id: c.left_id,
            right_id: c.right_id,
            left_record: record(c.left),
            right_record: record(c.right),
            rule: rule.name.clone(),
            score: (c.total * 100.0).round() / 100.0,
        });
    }
    planned
}

/// The best total between a record of golden record `left` and one of `right`, with its rule.
fn best_between<'r>(
    rules: &'r [ScoredRule],
    prepared: &Prepared,
    by_golden: &HashMap<&str, Vec<usize>>,
    left: &str,
    right: &str,
) -> Option<(f64, &'r ScoredRule)> {
    if left == right {
        return None;
    }
    let (l, r) = (by_golden.get(left)?, by_golden.get(right)?);
    let mut best: Option<(f64, &ScoredRule)> = None;
    for rule in rules {
        for &i in l {
            for &j in r {
                let quick = rule.quick_score(&prepared.scorables[i], &prepared.scorables[j]);
                let total = if quick.vetoed_by.is_some() {
                    f64::NEG_INFINITY
                } else {
                    quick.total
                };
                if best.is_none_or(|(b, _)| total > b) {
                    best = Some((total, rule));
                }
            }
        }
    }
    best
}

/// Adds one batch's counts to a running total.
fn add(total: &mut ReconcileStats, more: &ReconcileStats) {
    total.created += more.created;
    total.updated += more.updated;
    total.deleted += more.deleted;
    total.merged += more.merged;
    total.events += more.events;
}

impl RescoreReport {
    /// The report as the command prints it: counts, then every change.
    pub fn summary(&self) -> String {
        let entity = self.entity.map(|e| e.to_string()).unwrap_or_default();
        let verb = if self.dry_run { "would" } else { "did" };
        let mut out = format!(
            "{entity}: {} source records, {} pairs scored; {verb} merge {} pairs of golden records, \
             split out {} source records, accept {} and dismiss {} review items\n",
            self.records,
            self.pairs,
            self.merges.len(),
            self.splits.len(),
            self.reviews_accepted.len(),
            self.reviews_dismissed.len(),
        );
        for m in &self.merges {
            out.push_str(&format!(
                "  merge {} + {}  ({} ~ {}, {} {:.2})\n",
                m.left_id, m.right_id, m.left_record, m.right_record, m.rule, m.score
            ));
        }
        for s in &self.splits {
            let score = s
                .best_score
                .map_or_else(|| "vetoed".to_string(), |b| format!("best {b:.2}"));
            let new_id = s
                .new_id
                .as_ref()
                .map(|id| format!(" -> {id}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  split {}:{} out of {} ({score}){new_id}\n",
                s.source, s.key, s.golden_id
            ));
        }
        for id in &self.reviews_accepted {
            out.push_str(&format!("  review #{id} accepted\n"));
        }
        for id in &self.reviews_dismissed {
            out.push_str(&format!("  review #{id} dismissed\n"));
        }
        if !self.dry_run && self.stats.events > 0 {
            out.push_str(&format!("{} events queued\n", self.stats.events));
        }
        out
    }
}
