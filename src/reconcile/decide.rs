//! Where a new source record goes: deterministic rules first (every golden record its keys name;
//! more than one means those golden records are one), then scored rules inside blocks (merge
//! above the match threshold, review between the thresholds, apart below or on a veto).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::json;

use crate::model::EntityKind;
use crate::store::{BlockKeyWrite, StoreError, TermCountWrite};

use super::cache::Candidates;
use super::clusters::Clusters;
use super::compare::Profile;
use super::compare::packed::Packed;
use super::frequency::{Frequencies, Term};
use super::prescore::Prescored;
use super::scoring::{Evidence, Quick, Scorable, ScoredRule, Verdict};
use super::split::{SplitBlocks, second_keys};
use super::view::StoreView;

/// Golden records a block value may hold and still be compared whole: a value shared by more (a
/// common name sound in a large postal area, one city) is split by a second key
/// ([`SplitBlocks`]), so the cost stays records × this.
pub const MAX_BLOCK: usize = 64;

/// The scored rules of one entity with what a batch knows about their blocks.
pub struct ScoredMatcher<'a> {
    entity: EntityKind,
    rules: &'a [ScoredRule],
    /// Block value → golden IDs: from the store for this batch's values, then from the batch.
    blocks: HashMap<String, Vec<String>>,
    /// The source records of the golden records compared with, by golden ID: loaded from the
    /// store or made from this batch's records. A new record is scored against each and the
    /// best counts, since the cleanest copy of an entity is the one most alike to another copy.
    candidates: HashMap<String, Members>,
    /// The blocks holding more than [`MAX_BLOCK`] golden records, split by a second key.
    split: SplitBlocks,
    /// Block values written by this batch.
    pub writes: Vec<BlockKeyWrite>,
    /// Counts of the family names and streets of the batch's new records, for the term
    /// frequencies.
    term_counts: BTreeMap<(Term, String), i64>,
    /// The stored frequencies of the batch's values; `None` when no comparison is adjusted.
    frequencies: Option<Frequencies>,
}

/// Block value → golden IDs.
type BlockMap = HashMap<String, Vec<String>>;
/// Golden ID → its members, prepared.
type CandidateMap = HashMap<String, Vec<Scorable>>;

/// The prepared members of one golden record.
struct Members {
    /// Which golden record this is in the batch's [`Prescored`] scores: numbered in order of
    /// first sight, never reused.
    ordinal: u32,
    list: Vec<Scorable>,
}

/// The fields the rules' `text` comparisons read: the only texts a cached record keeps.
pub fn text_fields(rules: &[ScoredRule]) -> Vec<&str> {
    rules
        .iter()
        .flat_map(|r| &r.comparisons)
        .filter_map(|c| c.spec.field.as_deref())
        .collect()
}

/// The outcome of scoring a new record.
pub enum Scored {
    /// Merge into this golden record; the golden records after it the record matches as well
    /// (see [`ScoredMatcher::also_matches`]).
    Match(String, Evidence, Vec<(String, String)>),
    /// Keep apart, but put the pair in the review queue.
    Review(String, Evidence),
    /// No candidate reached the review threshold; the pair of a veto or a conflict that stopped
    /// a golden record which would otherwise have reached it is kept as evidence.
    Distinct(Option<(String, Evidence)>),
}

impl<'a> ScoredMatcher<'a> {
    /// Looks up the block values of the batch's new records and loads the golden records they
    /// name, one query each.
    pub async fn prepare(
        store: &StoreView<'_>,
        entity: EntityKind,
        rules: &'a [ScoredRule],
        block_values: &[Vec<String>],
        terms: &[(Term, String)],
        cache: Option<&mut Candidates>,
    ) -> Result<ScoredMatcher<'a>, StoreError> {
        let adjusted: HashSet<Term> = rules
            .iter()
            .flat_map(|r| r.comparisons.iter().filter_map(|c| c.term))
            .collect();
        let mut cache = cache;
        let frequencies = if adjusted.is_empty() {
            None
        } else {
            let mut frequencies = Frequencies::default();
            for term in adjusted {
                let mut values: Vec<&str> = terms
                    .iter()
                    .filter(|(t, _)| *t == term)
                    .map(|(_, v)| v.as_str())
                    .collect();
                values.sort_unstable();
                values.dedup();
                let counts = match cache.as_deref_mut() {
                    // The run's own counts: the store may or may not have committed the batch
                    // before this one yet.
                    Some(cache) => {
                        if let Some(unknown) = cache.unknown_terms(term, &values) {
                            let found = store.term_counts(entity, term.as_str(), &unknown).await?;
                            cache.learn_terms(term, &unknown, &found);
                        }
                        cache.term_counts(term, &values)
                    }
                    None => store.term_counts(entity, term.as_str(), &values).await?,
                };
                frequencies.terms.insert(term, counts);
            }
            Some(frequencies)
        };
        let mut values: Vec<&str> = block_values.iter().flatten().map(String::as_str).collect();
        values.sort_unstable();
        values.dedup();
        let (blocks, candidates) = if rules.is_empty() || values.is_empty() {
            (HashMap::new(), HashMap::new())
        } else {
            match cache {
                Some(cache) => Self::from_cache(store, entity, rules, &values, cache).await?,
                None => Self::from_store(store, entity, &values).await?,
            }
        };
        let mut split = SplitBlocks::default();
        for (value, ids) in blocks.iter().filter(|(_, ids)| ids.len() > MAX_BLOCK) {
            for id in ids {
                let members = candidates.get(id).map(Vec::as_slice).unwrap_or(&[]);
                split.add(value, id, members);
            }
        }
        let candidates = candidates
            .into_iter()
            .zip(0..)
            .map(|((id, list), ordinal)| (id, Members { ordinal, list }))
            .collect();
        Ok(ScoredMatcher {
            entity,
            rules,
            blocks,
            candidates,
            split,
            writes: Vec::new(),
            term_counts: BTreeMap::new(),
            frequencies,
        })
    }

    /// The golden records sharing `values` and their members, read from the store and prepared.
    async fn from_store(
        store: &StoreView<'_>,
        entity: EntityKind,
        values: &[&str],
    ) -> Result<(BlockMap, CandidateMap), StoreError> {
        let blocks = store.block_lookup(entity, values).await?;
        let ids: HashSet<&str> = blocks.values().flatten().map(String::as_str).collect();
        let ids: Vec<&str> = ids.into_iter().collect();
        let members = store.member_records(entity, &ids).await?;
        let profiles = super::parallel::map(&members, |(_, fields)| Profile::new(fields));
        let mut candidates: CandidateMap = HashMap::new();
        for ((id, _), profile) in members.into_iter().zip(profiles) {
            candidates
                .entry(id)
                .or_default()
                .push(Scorable::prepared(profile, None));
        }
        Ok((blocks, candidates))
    }

    /// The same from the run's cache: the first time, the store's whole block index is read
    /// into it where the store allows; then only block values and golden records it has not
    /// seen are read from the store, and kept.
    async fn from_cache(
        store: &StoreView<'_>,
        entity: EntityKind,
        rules: &[ScoredRule],
        values: &[&str],
        cache: &mut Candidates,
    ) -> Result<(BlockMap, CandidateMap), StoreError> {
        if !cache.is_complete() {
            let mut scan = cache.scan();
            if store
                .block_index(entity, &mut |value, id| scan.row(value, id))
                .await?
            {
                scan.finish();
            }
        }
        let unknown = cache.unknown_values(values);
        if !unknown.is_empty() {
            let found = store.block_lookup(entity, &unknown).await?;
            cache.learn_blocks(&unknown, &found);
        }
        let mut blocks: BlockMap = HashMap::with_capacity(values.len());
        for value in values {
            let ids = cache.block(value);
            if !ids.is_empty() {
                blocks.insert(value.to_string(), ids);
            }
        }
        let mut ids: Vec<&str> = blocks.values().flatten().map(String::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        let unloaded = cache.unloaded(&ids);
        if !unloaded.is_empty() {
            let members = store.member_records(entity, &unloaded).await?;
            let text_fields = text_fields(rules);
            let packed = super::parallel::map(&members, |(id, fields)| {
                (id.clone(), Packed::new(&Profile::new(fields), &text_fields))
            });
            cache.learn_members(&unloaded, &packed);
        }
        let cache = &*cache;
        let profiles = super::parallel::map(&ids, |id| cache.members(id));
        let candidates = ids
            .iter()
            .zip(profiles)
            .map(|(id, profiles)| {
                let members = profiles
                    .into_iter()
                    .map(|p| Scorable::prepared(p, None))
                    .collect();
                (id.to_string(), members)
            })
            .collect();
        Ok((blocks, candidates))
    }

    /// A new record ready to be scored, with the term-frequency adjustments of its values.
    pub fn scorable(&self, profile: Profile) -> Scorable {
        Scorable::prepared(profile, self.frequencies.as_ref())
    }

    /// Counts a new record's family name and streets towards the term frequencies.
    pub fn count_terms(&mut self, terms: Vec<(Term, String)>) {
        if self.frequencies.is_none() {
            return;
        }
        for term in terms {
            *self.term_counts.entry(term).or_default() += 1;
        }
    }

    /// The counts this batch adds to the term frequencies.
    pub fn take_term_counts(&mut self) -> Vec<TermCountWrite> {
        std::mem::take(&mut self.term_counts)
            .into_iter()
            .map(|((term, value), add)| TermCountWrite {
                entity: self.entity,
                term: term.as_str(),
                value,
                add,
            })
            .collect()
    }

    /// Whether there are scored rules at all.
    pub fn is_active(&self) -> bool {
        !self.rules.is_empty()
    }

    /// The block values of a prepared record under every rule, each prefixed with its rule's
    /// name: taken once per record, for its lookups, its scoring under each rule and its
    /// registration.
    pub fn block_values(rules: &[ScoredRule], profile: &Profile) -> Vec<String> {
        let mut values: Vec<String> = rules
            .iter()
            .flat_map(|r| r.block_values_of(profile))
            .collect();
        values.sort();
        values.dedup();
        values
    }

    /// The golden records of block `value` a record is compared with: all of them, or of a
    /// block over [`MAX_BLOCK`] (a value this common tells little alone) those sharing a second
    /// key with the record (`keys`, taken from the record when first needed).
    fn block_members<'m>(
        &'m self,
        value: &str,
        record: &Scorable,
        keys: &mut Option<Vec<String>>,
    ) -> Vec<&'m str> {
        let whole = self.blocks.get(value).map(Vec::as_slice).unwrap_or(&[]);
        if whole.len() > MAX_BLOCK {
            let keys = keys.get_or_insert_with(|| second_keys(&record.profile));
            self.split
                .members(value, keys, MAX_BLOCK)
                .unwrap_or_default()
        } else {
            whole.iter().map(String::as_str).collect()
        }
    }

    /// Scores a new record against the golden records sharing its blocks, rule by rule; the first
    /// rule that matches or asks for review decides. The best candidate is the highest total;
    /// of equal totals the oldest golden record (the smallest ID: IDs grow with creation), so
    /// the outcome never depends on the order in which blocks list their golden records.
    ///
    /// A golden record is a candidate only when none of its members vetoes the record or
    /// [conflicts](super::scoring::Quick::conflicts) with it below the match threshold, however
    /// well another member scores: a record joins a customer only if it could be every copy of
    /// that customer. Else a
    /// record without a birth date or an email (a bare name at an address, as ERPs keep
    /// consumers) would join the namesake it scores best against, and chain every namesake in a
    /// postal area into one golden record, one bare copy after another.
    pub fn score(
        &self,
        record: &Scorable,
        blocks: &[String],
        clusters: &Clusters,
        prescored: &Prescored,
    ) -> Scored {
        // The stopped golden record that came closest to the review threshold: (its best total
        // without the veto, golden ID, rule, the member that stopped it).
        let mut stopped: Option<(f64, String, &ScoredRule, usize)> = None;
        let mut keys: Option<Vec<String>> = None;
        for (rule_index, rule) in self.rules.iter().enumerate() {
            let mut seen = foldhash::HashSet::default();
            let mut best: Option<(f64, String, usize)> = None;
            for value in of_rule(rule, blocks) {
                for id in self.block_members(value, record, &mut keys) {
                    let id = clusters.root(id);
                    if !seen.insert(id) {
                        continue;
                    }
                    let scores = self.scores(rule_index, record, id, prescored);
                    let (total, member, stopped_by) = against_members(rule, scores);
                    match stopped_by {
                        Some((without, by)) => {
                            let closest = total.max(without);
                            if closest >= rule.review_threshold
                                && stopped
                                    .as_ref()
                                    .is_none_or(|(v, v_id, ..)| ahead((closest, id), (*v, v_id)))
                            {
                                stopped = Some((closest, id.to_string(), rule, by));
                            }
                        }
                        None if best
                            .as_ref()
                            .is_none_or(|(b, b_id, _)| ahead((total, id), (*b, b_id))) =>
                        {
                            best = Some((total, id.to_string(), member));
                        }
                        None => {}
                    }
                }
            }
            if let Some((_, id, member)) = best {
                let Some(candidate) = self.members(&id).get(member) else {
                    continue;
                };
                let evidence = rule.score(record, candidate);
                match evidence.verdict() {
                    Verdict::Match => {
                        let also = self.also_matches(record, blocks, &id, clusters, prescored);
                        return Scored::Match(id, evidence, also);
                    }
                    Verdict::Review => return Scored::Review(id, evidence),
                    Verdict::Distinct => {}
                }
            }
        }
        Scored::Distinct(stopped.and_then(|(_, id, rule, member)| {
            let candidate = self.members(&id).get(member)?;
            Some((id, rule.score(record, candidate)))
        }))
    }

    /// The scores of a record against every member of golden record `id` by rule `rule_index`:
    /// looked up where [`ScoredMatcher::prescore`] worked them out, scored for the members the
    /// batch added since.
    fn scores<'s>(
        &'s self,
        rule_index: usize,
        record: &'s Scorable,
        id: &str,
        prescored: &'s Prescored,
    ) -> impl Iterator<Item = Quick> + 's {
        let members = self.candidates.get(id);
        let known = members.map_or(&[][..], |m| prescored.get(rule_index, m.ordinal));
        let rule = &self.rules[rule_index];
        let added = members.map_or(&[][..], |m| &m.list[known.len()..]);
        known.iter().copied().chain(
            added
                .iter()
                .map(|candidate| rule.quick_score(record, candidate)),
        )
    }

    /// Scores, on all cores, each record (with its block values) against the members the
    /// golden records of its blocks hold now, before the batch adds to them: what
    /// [`ScoredMatcher::score`] and [`ScoredMatcher::also_matches`] then look up. A record
    /// without a profile gets no scores.
    pub fn prescore(&self, records: &[(Option<&Scorable>, &[String])]) -> Vec<Prescored> {
        super::parallel::map(records, |(record, blocks)| {
            let mut prescored = Prescored::default();
            let Some(record) = record else {
                return prescored;
            };
            let mut keys: Option<Vec<String>> = None;
            for (rule_index, rule) in self.rules.iter().enumerate() {
                let mut seen = foldhash::HashSet::default();
                for value in of_rule(rule, blocks) {
                    for id in self.block_members(value, record, &mut keys) {
                        let Some(members) = self.candidates.get(id) else {
                            continue;
                        };
                        if seen.insert(members.ordinal) {
                            let scores = members.list.iter().map(|c| rule.quick_score(record, c));
                            prescored.add(rule_index, members.ordinal, scores);
                        }
                    }
                }
            }
            prescored.finish()
        })
    }

    /// The golden records other than `target` that `record` matches too, by a rule's match
    /// threshold and without a veto, each once, in ID order. Matches are transitive: a record
    /// that is the same customer as two golden records shows them to be one, as a record whose
    /// keys name two does (a CRM copy matching both the ERP copy and the shop copy that had too
    /// little in common to match each other). Only golden records that could be the same as
    /// `target` on their own are named: no member pair of the two is vetoed, and their best
    /// pair reaches the review threshold, so one record never chains two customers together
    /// that nothing else relates, and the two never [conflict](ScoredRule::conflicts) (family
    /// members at one address with one phone reach the review threshold, but their given
    /// names differ). Each comes with the rule that matched it.
    pub fn also_matches(
        &self,
        record: &Scorable,
        blocks: &[String],
        target: &str,
        clusters: &Clusters,
        prescored: &Prescored,
    ) -> Vec<(String, String)> {
        let target = clusters.root(target);
        let mut found: Vec<(String, String)> = Vec::new();
        let mut keys: Option<Vec<String>> = None;
        for (rule_index, rule) in self.rules.iter().enumerate() {
            let mut seen = foldhash::HashSet::default();
            for value in of_rule(rule, blocks) {
                for id in self.block_members(value, record, &mut keys) {
                    let id = clusters.root(id);
                    if id == target || found.iter().any(|(f, _)| f == id) || !seen.insert(id) {
                        continue;
                    }
                    let mut scores = self.scores(rule_index, record, id, prescored);
                    let mut reaches = false;
                    let stopped = scores.any(|q| {
                        reaches |= q.total >= rule.match_threshold;
                        rule.stops(&q)
                    });
                    let matched = reaches && !stopped;
                    if matched && self.related(rule, target, id) {
                        found.push((id.to_string(), rule.name.clone()));
                    }
                }
            }
        }
        found.sort_unstable();
        found
    }

    /// Whether golden records `a` and `b` could be one by `rule` on their own: no pair of their
    /// members vetoed or in conflict, and the best pair at least at the review threshold.
    fn related(&self, rule: &ScoredRule, a: &str, b: &str) -> bool {
        let mut best = f64::NEG_INFINITY;
        for left in self.members(a) {
            for right in self.members(b) {
                let quick = rule.quick_score(left, right);
                if quick.vetoed_by.is_some() || quick.conflicts {
                    return false;
                }
                best = best.max(quick.total);
            }
        }
        best >= rule.review_threshold
    }

    /// Records that a record with these block values belongs to `golden_id`, so later records of
    /// the batch find it, and the values are stored; the record itself (when it was scored) is
    /// compared with later records as one of the golden record's members.
    pub fn register(&mut self, values: Vec<String>, golden_id: &str, record: Option<Scorable>) {
        if let Some(record) = record {
            let ordinal = self.candidates.len() as u32;
            self.candidates
                .entry(golden_id.to_string())
                .or_insert_with(|| Members {
                    ordinal,
                    list: Vec::new(),
                })
                .list
                .push(record);
        }
        for value in values {
            let ids = self.blocks.entry(value.clone()).or_default();
            if ids.iter().any(|id| id == golden_id) {
                if self.split.contains(&value) {
                    // A new member may bring name words its golden record had not.
                    let members = members_of(&self.candidates, golden_id);
                    self.split.add(&value, golden_id, members);
                }
                continue;
            }
            ids.push(golden_id.to_string());
            if ids.len() > MAX_BLOCK {
                // Split the block the first time it grows past the cap, then add to its parts.
                let added = if self.split.contains(&value) {
                    &ids[ids.len() - 1..]
                } else {
                    &ids[..]
                };
                for id in added {
                    let members = members_of(&self.candidates, id);
                    self.split.add(&value, id, members);
                }
            }
            self.writes.push(BlockKeyWrite {
                entity: self.entity,
                value,
                golden_id: golden_id.to_string(),
            });
        }
    }

    /// A source record of a golden record, if known to this batch.
    pub fn candidate(&self, id: &str) -> Option<&Scorable> {
        self.members(id).first()
    }

    /// The prepared members of golden record `id` known to this batch.
    fn members(&self, id: &str) -> &[Scorable] {
        members_of(&self.candidates, id)
    }
}

/// The prepared members of golden record `id` in `candidates`.
fn members_of<'c>(candidates: &'c HashMap<String, Members>, id: &str) -> &'c [Scorable] {
    candidates
        .get(id)
        .map_or(&[], |members| members.list.as_slice())
}

/// A record's scores against every member of a golden record by `rule`: the best total and its
/// member, and the member that stops the pair with what it would have scored without its veto.
/// A member stops it when it vetoes the record, or conflicts with it and does not match it
/// anyway (the rest of the evidence can outweigh one strong disagreement).
fn against_members(
    rule: &ScoredRule,
    scores: impl Iterator<Item = Quick>,
) -> (f64, usize, Option<(f64, usize)>) {
    let mut best = (f64::NEG_INFINITY, 0);
    let mut stopped_by = None;
    for (member, quick) in scores.enumerate() {
        if quick.total > best.0 {
            best = (quick.total, member);
        }
        if stopped_by.is_none() && rule.stops(&quick) {
            let veto = quick
                .vetoed_by
                .map_or(0.0, |i| rule.comparisons[i].weights.far);
            stopped_by = Some((quick.total - veto, member));
        }
    }
    (best.0, best.1, stopped_by)
}

/// The values of `rule` among a record's [block values](ScoredMatcher::block_values).
fn of_rule<'v>(rule: &ScoredRule, values: &'v [String]) -> impl Iterator<Item = &'v str> {
    values.iter().map(String::as_str).filter(|value| {
        value
            .strip_prefix(rule.name.as_str())
            .is_some_and(|rest| rest.starts_with('|'))
    })
}

/// Whether a candidate with `total` and golden ID `id` goes before `other`: a higher total, or an
/// equal one and an older golden record. An exact order, not the first found, so that the
/// candidate chosen does not depend on the order blocks list their golden records in (which
/// differs with whether the store has committed the batch before).
fn ahead((total, id): (f64, &str), (other_total, other_id): (f64, &str)) -> bool {
    total > other_total || (total == other_total && id < other_id)
}

/// Evidence of a deterministic match, for explanations.
pub fn exact_evidence(rule: &str, values: &[String]) -> serde_json::Value {
    json!({ "rule": rule, "kind": "exact", "values": values })
}
