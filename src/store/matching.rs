//! What the matching stage keeps between runs: block values, decisions with their evidence,
//! the review queue, pairs never to merge, merges (redirects) and references waiting for their
//! target.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::EntityKind;

/// The matching part of a batch, written in the batch's transaction. Merges are applied first,
/// so every other row of the batch already names surviving golden IDs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatchWrites {
    pub merges: Vec<MergeWrite>,
    pub block_keys: Vec<BlockKeyWrite>,
    pub decisions: Vec<DecisionWrite>,
    pub reviews: Vec<ReviewWrite>,
    /// Review items decided (accepted or rejected).
    pub review_decisions: Vec<(i64, ReviewStatus)>,
    /// Pairs of golden IDs never to merge automatically, with the reason.
    pub distinct_pairs: Vec<(String, String, String)>,
    /// References of the referrers named here are replaced by these rows.
    pub references: Vec<ReferenceWrite>,
    /// Golden records whose references are rewritten (every row of theirs is replaced).
    pub referrers: Vec<String>,
    /// Source records moved to another golden record (an unmerge).
    pub relinks: Vec<Relink>,
    /// Match-key values that move to another golden record (an unmerge).
    pub moved_keys: Vec<super::MatchKeyWrite>,
    /// Counts added to the term frequencies (family names, streets) of new source records.
    pub term_counts: Vec<TermCountWrite>,
}

impl MatchWrites {
    pub fn is_empty(&self) -> bool {
        self.merges.is_empty()
            && self.block_keys.is_empty()
            && self.decisions.is_empty()
            && self.reviews.is_empty()
            && self.review_decisions.is_empty()
            && self.distinct_pairs.is_empty()
            && self.references.is_empty()
            && self.referrers.is_empty()
            && self.relinks.is_empty()
            && self.moved_keys.is_empty()
            && self.term_counts.is_empty()
    }
}

/// Counts of one term: the counts of some values, and the totals over all values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TermCounts {
    /// Count per value (only the values asked for).
    pub counts: HashMap<String, u64>,
    /// Sum of all counts.
    pub total: u64,
    /// Sum of squared counts.
    pub sum_of_squares: f64,
}

/// Occurrences of one value of a term (a family name, a street) to add to its count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermCountWrite {
    pub entity: EntityKind,
    /// `family_name` or `street`.
    pub term: &'static str,
    pub value: String,
    pub add: i64,
}

/// Golden record `loser` folded into `survivor`: its source records, match and block keys and
/// references move to the survivor, and its ID redirects there forever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeWrite {
    pub entity: EntityKind,
    pub loser: String,
    pub survivor: String,
}

/// A block value of a golden record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlockKeyWrite {
    pub entity: EntityKind,
    pub value: String,
    pub golden_id: String,
}

/// A match decision and its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionWrite {
    pub entity: EntityKind,
    pub source: String,
    pub key: String,
    /// Where the record went.
    pub golden_id: String,
    /// The golden record it was compared with.
    pub candidate_id: Option<String>,
    pub rule: String,
    /// `matched`, `review`, `distinct`, `vetoed`, `merged`, `split`, `accepted`, `rejected`.
    pub decision: String,
    pub score: Option<f64>,
    pub evidence: Value,
}

/// A stored decision, for `concord explain`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub source: String,
    pub key: String,
    pub golden_id: String,
    pub candidate_id: Option<String>,
    pub rule: String,
    pub decision: String,
    pub score: Option<f64>,
    pub evidence: Value,
    pub at: DateTime<Utc>,
}

/// A pair for the review queue.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewWrite {
    pub entity: EntityKind,
    /// The golden record of the record that raised the pair.
    pub left_id: String,
    /// The candidate it scored against.
    pub right_id: String,
    pub source: String,
    pub key: String,
    pub rule: String,
    pub score: f64,
    pub evidence: Value,
}

/// Where a review item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Open,
    Accepted,
    Rejected,
    /// Closed by `concord reconcile rescore`: under the current weights the pair scores below the
    /// review threshold (no distinct pair is remembered; a later sync may raise it again).
    Dismissed,
    /// Closed because a merge (by key, by score, or a steward accepting another item) made both
    /// sides one golden record: nothing is left for a steward to decide.
    Merged,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Open => "open",
            ReviewStatus::Accepted => "accepted",
            ReviewStatus::Rejected => "rejected",
            ReviewStatus::Dismissed => "dismissed",
            ReviewStatus::Merged => "merged",
        }
    }

    pub fn parse(text: &str) -> Option<ReviewStatus> {
        [
            ReviewStatus::Open,
            ReviewStatus::Accepted,
            ReviewStatus::Rejected,
            ReviewStatus::Dismissed,
            ReviewStatus::Merged,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// Settles open review items after a batch's merges. Both engines read the open items with a
/// redirected side, then feed the redirects their sides lead through, round by round, until no
/// new ID is asked for; [`RedirectWalk::settled`] then names the items whose two sides lead to
/// one golden record. The walk is shared so that both engines close the same items.
pub(super) struct RedirectWalk {
    open: Vec<(i64, String, String)>,
    redirects: HashMap<String, String>,
    asked: HashSet<String>,
    next: Vec<String>,
    rounds: usize,
}

impl RedirectWalk {
    /// Rounds of redirects followed at most, so a corrupt cycle ends instead of looping.
    const MAX_ROUNDS: usize = 64;

    /// Starts from the open items `(id, left, right)`.
    pub(super) fn new(open: Vec<(i64, String, String)>) -> RedirectWalk {
        let next = open
            .iter()
            .flat_map(|(_, left, right)| [left.clone(), right.clone()])
            .collect();
        RedirectWalk {
            open,
            redirects: HashMap::new(),
            asked: HashSet::new(),
            next,
            rounds: 0,
        }
    }

    /// The golden IDs whose redirects the next round reads; `None` when the walk is done.
    pub(super) fn next_round(&mut self) -> Option<&[String]> {
        let asked = &mut self.asked;
        self.next.retain(|id| asked.insert(id.clone()));
        if self.next.is_empty() || self.rounds == Self::MAX_ROUNDS {
            return None;
        }
        self.rounds += 1;
        Some(&self.next)
    }

    /// The redirects (loser → survivor) the round found among the IDs asked.
    pub(super) fn found(&mut self, redirects: Vec<(String, String)>) {
        self.next = redirects.iter().map(|(_, to)| to.clone()).collect();
        self.redirects.extend(redirects);
    }

    /// The open items whose two sides now lead to one golden record: the items the merges settled.
    pub(super) fn settled(&self) -> Vec<i64> {
        let resolve = |id| {
            follow_redirects(&self.redirects, id, self.redirects.len() + 1).unwrap_or_else(|at| at)
        };
        self.open
            .iter()
            .filter(|(_, left, right)| resolve(left) == resolve(right))
            .map(|(id, _, _)| *id)
            .collect()
    }
}

/// Where each loser of a batch's merges ends up once they are all applied, as a JSON object
/// (loser → survivor): a survivor may itself be merged away later in the batch. For the tables
/// that are moved in one statement for all of a batch's merges; a chain longer than the batch
/// (a corrupt cycle) stops where the batch's merges run out.
pub(super) fn final_survivors(merges: &[MergeWrite]) -> serde_json::Map<String, Value> {
    let next: HashMap<&str, &str> = merges
        .iter()
        .map(|m| (m.loser.as_str(), m.survivor.as_str()))
        .collect();
    next.iter()
        .map(|(loser, survivor)| {
            let survivor = follow_redirects(&next, survivor, merges.len()).unwrap_or_else(|at| at);
            (loser.to_string(), Value::from(survivor))
        })
        .collect()
}

/// Where `start` leads through `redirects` (each golden ID to the one it was merged into): the
/// first ID without a redirect, or `Err` with the ID reached after `hops` redirects (a corrupt
/// cycle, or a chain longer than the caller allows).
pub(super) fn follow_redirects<'m, K, V>(
    redirects: &'m HashMap<K, V>,
    start: &'m str,
    hops: usize,
) -> Result<&'m str, &'m str>
where
    K: Borrow<str> + Hash + Eq,
    V: AsRef<str>,
{
    let mut at = start;
    for _ in 0..hops {
        match redirects.get(at) {
            Some(next) => at = next.as_ref(),
            None => return Ok(at),
        }
    }
    Err(at)
}

/// A stored review item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewItem {
    pub id: i64,
    pub entity: EntityKind,
    pub left_id: String,
    pub right_id: String,
    pub source: String,
    pub key: String,
    pub rule: String,
    pub score: f64,
    pub evidence: Value,
    pub status: ReviewStatus,
    pub created_at: DateTime<Utc>,
}

/// A reference of an order or BOM (`referrer_id`) to a customer or product by its source key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReferenceWrite {
    pub referrer_id: String,
    pub source: String,
    pub entity: EntityKind,
    pub key: String,
    /// `None` while the target has not arrived.
    pub target_id: Option<String>,
}

/// A live source record with the golden record it belongs to, for re-scoring.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMember {
    pub golden_id: String,
    pub source: String,
    pub key: String,
    pub record: super::Fields,
}

/// A source record moved to another golden record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relink {
    pub source: String,
    pub entity: EntityKind,
    pub key: String,
    pub golden_id: String,
}

#[cfg(test)]
mod tests {
    use super::{MergeWrite, RedirectWalk, final_survivors};
    use crate::model::EntityKind;

    fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(from, to)| (from.to_string(), to.to_string()))
            .collect()
    }

    /// Item 1's sides meet through two hops, item 2's never do, and a corrupt cycle in the
    /// redirects (c ↔ d) ends the walk instead of looping.
    #[test]
    fn items_whose_sides_lead_to_one_record_are_settled_and_a_cycle_ends() {
        let open = vec![
            (1, "a".to_string(), "b".to_string()),
            (2, "c".to_string(), "e".to_string()),
        ];
        let mut walk = RedirectWalk::new(open);
        let mut rounds = 0;
        while let Some(ids) = walk.next_round() {
            rounds += 1;
            let found: Vec<_> = ids
                .iter()
                .filter_map(|id| match id.as_str() {
                    "a" => Some(("a", "x")),
                    "x" => Some(("x", "b")),
                    "c" => Some(("c", "d")),
                    "d" => Some(("d", "c")),
                    _ => None,
                })
                .collect();
            walk.found(pairs(&found));
        }
        assert!(rounds <= 3, "{rounds} rounds");
        assert_eq!(walk.settled(), vec![1]);
    }

    /// A survivor merged away later in the same batch passes its losers on; a corrupt cycle
    /// ends instead of looping.
    #[test]
    fn each_loser_of_a_batch_leads_to_its_final_survivor() {
        let merges: Vec<MergeWrite> = [("a", "b"), ("b", "c"), ("d", "c"), ("x", "y"), ("y", "x")]
            .into_iter()
            .map(|(loser, survivor)| MergeWrite {
                entity: EntityKind::Customer,
                loser: loser.into(),
                survivor: survivor.into(),
            })
            .collect();
        let survivors = final_survivors(&merges);
        for loser in ["a", "b", "d"] {
            assert_eq!(survivors[loser], "c", "{loser}");
        }
        assert_eq!(survivors.len(), 5);
    }
}
