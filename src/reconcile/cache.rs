//! What scored matching keeps between the batches of one sync run, so that a batch does not read
//! and normalize again what the batches before it already prepared: which golden records hold
//! each block value, and the prepared (packed) source records of each golden record.
//!
//! Valid for one run: while a run holds the store's writer lock, the store changes only through
//! the run's own batches, and every batch tells the cache what it changed. A new run (or a dry
//! run, which has no run ID) starts from an empty cache, unless the caller knows that the run
//! before it committed every batch and nothing has written since ([`MatchCache::continue_run`]):
//! then the store holds just what the cache learnt. Where the store can promise that
//! (SQLite: one writer lock for the whole store), the first batch that looks up block values reads
//! the entity's whole block index in one scan and the cache is *complete*: a value it does not
//! hold is held by no golden record, and no batch asks the store again (most values a batch asks
//! for are phones and emails no other record has, each of which cost a lookup). Otherwise it
//! fills from the store as its batches ask. Block values are kept as 64-bit hashes with golden
//! records as 32-bit slots; the scanned index is one sorted array of 12 bytes a row, so the index
//! of a million records stays in tens of megabytes. Two values sharing a hash only put more
//! candidates in front of the scorer, which still decides by comparing the records.
//!
//! The cache also keeps the run's term frequencies. The store is read while the previous batch is
//! still being committed, so a count read from it may or may not hold that batch's additions, and
//! the same files would match differently from run to run. Every value a batch counts was asked
//! for in that batch's preparation, so the cache knows it before the store could have added to
//! it; from then on the cache adds each batch's counts itself and never asks the store again.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use smallvec::SmallVec;

use super::compare::Profile;
use super::compare::packed::Packed;
use super::frequency::Term;
use crate::model::EntityKind;
use crate::store::{TermCountWrite, TermCounts};

/// The fixed seed of block value hashes: the same value hashes alike in every batch.
const HASH_SEED: u64 = 0x5eed_b10c;

/// Maps keyed by what is already a hash or a slot number: hashed again cheaply.
type NumberMap<K, V> = foldhash::HashMap<K, V>;

/// The golden records (slots) holding one block value. Most values name one or two, kept in
/// place: a million records hold millions of block values, each of which would otherwise be an
/// allocation of its own.
type Slots = SmallVec<[u32; 4]>;

/// The cache of one run, per entity.
#[derive(Debug, Default)]
pub struct MatchCache {
    run_id: i64,
    entities: BTreeMap<EntityKind, Candidates>,
}

impl MatchCache {
    /// The candidates of `entity` for run `run_id`: emptied first when the cache was filled by
    /// another run. `None` for a run without an ID (a dry run), which must not keep anything.
    pub fn for_run(&mut self, run_id: i64, entity: EntityKind) -> Option<&mut Candidates> {
        if run_id <= 0 {
            return None;
        }
        if self.run_id != run_id {
            self.entities.clear();
            self.run_id = run_id;
        }
        Some(self.entities.entry(entity).or_default())
    }

    /// Lets run `to` go on from what run `from` learnt, when the store is known to hold exactly
    /// that: `from` committed every batch and nothing has written since. The sources of one
    /// `concord sync` (or of a service's schedule) then read the block index and the members of
    /// the golden records once, not once per source.
    pub fn continue_run(&mut self, from: i64, to: i64) {
        if from > 0 && self.run_id == from {
            self.run_id = to;
        }
    }
}

/// Block index and prepared members of one entity's golden records.
#[derive(Debug, Default)]
pub struct Candidates {
    /// Whether `scanned` holds the store's whole block index: a value held nowhere is absent.
    complete: bool,
    /// The store's block index as scanned, one row per (value hash, slot), sorted: `[high half
    /// of the hash, low half, slot]`, 12 bytes a row where a map entry would take three times as
    /// much.
    scanned: Vec<[u32; 3]>,
    /// Block value hash → slots of the golden records holding it: for every value asked so far,
    /// or, once complete, the values batches added to golden records after the scan.
    blocks: NumberMap<u64, Slots>,
    /// Slot ↔ golden ID.
    ids: GoldenIds,
    /// Slot → its live source records, packed; `None` until read from the store (or after a
    /// change made them stale).
    members: Vec<Option<Vec<Packed>>>,
    /// Slot merged away → the slot it went to.
    merged: NumberMap<u32, u32>,
    /// Per counted term: the counts of the values asked so far and the totals, with this run's
    /// batches added.
    terms: BTreeMap<Term, RunCounts>,
}

/// A term's counts as this run knows them. Values are kept as hashes, as block values are.
#[derive(Debug, Default)]
struct RunCounts {
    counts: NumberMap<u64, u64>,
    total: u64,
    sum_of_squares: f64,
}

fn hash(value: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(HASH_SEED).hash_one(value)
}

/// The golden IDs of the slots, in one text found through their hashes: a complete index names
/// every golden record, and a million IDs kept one allocation each, as a slot's ID and again as
/// a map key, take about 150 MB where this takes about 80 MB.
#[derive(Debug, Default)]
struct GoldenIds {
    /// Every ID, one after the other.
    text: String,
    /// Slot → where its ID ends in `text` (it starts where the slot before ends).
    ends: Vec<usize>,
    /// ID hash → the slot of the first ID with that hash.
    by_hash: NumberMap<u64, u32>,
    /// The IDs whose hash an earlier ID has (of a million IDs, two share one about once in 40
    /// million runs).
    collided: HashMap<Box<str>, u32>,
}

impl GoldenIds {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, slot: u32) -> Option<&str> {
        let slot = slot as usize;
        let end = *self.ends.get(slot)?;
        let start = slot.checked_sub(1).map_or(0, |before| self.ends[before]);
        self.text.get(start..end)
    }

    fn find(&self, id: &str) -> Option<u32> {
        match self.by_hash.get(&hash(id)) {
            Some(&slot) if self.get(slot) == Some(id) => Some(slot),
            Some(_) => self.collided.get(id).copied(),
            None => None,
        }
    }

    /// Gives `id`, which has none yet, the next slot.
    fn push(&mut self, id: &str) -> u32 {
        let slot = self.ends.len() as u32;
        self.text.push_str(id);
        self.ends.push(self.text.len());
        match self.by_hash.entry(hash(id)) {
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(slot);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.collided.insert(id.into(), slot);
            }
        }
        slot
    }
}

/// A hash as the first two words of a scanned row (in the rows' sort order).
fn halves(hash: u64) -> [u32; 2] {
    [(hash >> 32) as u32, hash as u32]
}

/// The scan of a store's block index into a cache; the cache is complete when it finishes.
pub struct IndexScan<'c> {
    cache: &'c mut Candidates,
    rows: Vec<[u32; 3]>,
}

impl IndexScan<'_> {
    /// One row of the store's index: golden record `golden_id` holds block value `value`.
    pub fn row(&mut self, value: &str, golden_id: &str) {
        let [high, low] = halves(hash(value));
        let slot = self.cache.slot(golden_id);
        self.rows.push([high, low, slot]);
    }

    /// Every row was read: the cache answers every value from now on.
    pub fn finish(self) {
        let mut rows = self.rows;
        rows.sort_unstable();
        rows.dedup();
        rows.shrink_to_fit();
        self.cache.scanned = rows;
        self.cache.complete = true;
    }
}

impl Candidates {
    fn slot(&mut self, id: &str) -> u32 {
        if let Some(slot) = self.ids.find(id) {
            return slot;
        }
        self.members.push(None);
        self.ids.push(id)
    }

    /// Where a slot's records are now, after merges.
    fn resolve(&self, mut slot: u32) -> u32 {
        for _ in 0..64 {
            match self.merged.get(&slot) {
                Some(&next) if next != slot => slot = next,
                _ => break,
            }
        }
        slot
    }

    /// Whether the cache holds the store's whole block index.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Starts reading the store's whole block index into the cache (see [`IndexScan`]); a scan
    /// dropped unfinished leaves the cache as it was, asking the store value by value.
    pub fn scan(&mut self) -> IndexScan<'_> {
        IndexScan {
            cache: self,
            rows: Vec::new(),
        }
    }

    /// The values among `values` the cache has not seen: to be looked up in the store (none
    /// once the cache is complete).
    pub fn unknown_values<'v>(&self, values: &[&'v str]) -> Vec<&'v str> {
        if self.complete {
            return Vec::new();
        }
        values
            .iter()
            .copied()
            .filter(|v| !self.blocks.contains_key(&hash(v)))
            .collect()
    }

    /// Remembers the store's golden records for values asked (a value the store does not know
    /// holds none).
    pub fn learn_blocks(&mut self, asked: &[&str], found: &HashMap<String, Vec<String>>) {
        for value in asked {
            let ids = found.get(*value).map(Vec::as_slice).unwrap_or(&[]);
            let slots: Vec<u32> = ids.iter().map(|id| self.slot(id)).collect();
            let entry = self.blocks.entry(hash(value)).or_default();
            for slot in slots {
                if !entry.contains(&slot) {
                    entry.push(slot);
                }
            }
        }
    }

    /// The golden IDs holding a value, after merges, each once.
    pub fn block(&self, value: &str) -> Vec<String> {
        let key = hash(value);
        let [high, low] = halves(key);
        let start = self.scanned.partition_point(|r| [r[0], r[1]] < [high, low]);
        let scanned = self.scanned[start..]
            .iter()
            .take_while(|r| r[0] == high && r[1] == low)
            .map(|r| r[2]);
        let added = self.blocks.get(&key).into_iter().flatten().copied();
        let mut slots: Vec<u32> = scanned.chain(added).map(|s| self.resolve(s)).collect();
        let mut seen = Vec::with_capacity(slots.len());
        slots.retain(|s| {
            let new = !seen.contains(s);
            seen.push(*s);
            new
        });
        slots
            .into_iter()
            .filter_map(|s| self.ids.get(s).map(str::to_string))
            .collect()
    }

    /// Which of these golden records have no prepared members yet.
    pub fn unloaded<'i>(&self, ids: &[&'i str]) -> Vec<&'i str> {
        ids.iter()
            .copied()
            .filter(|id| {
                self.ids
                    .find(id)
                    .and_then(|s| self.members.get(s as usize))
                    .is_none_or(Option::is_none)
            })
            .collect()
    }

    /// Keeps the prepared members of golden records read from the store: every ID asked gets a
    /// (perhaps empty) list. A record given twice is kept once: the store and the batch still
    /// being committed both return it once that batch has committed, only the batch before, and
    /// what is compared must not depend on which.
    pub fn learn_members(&mut self, asked: &[&str], members: &[(String, Packed)]) {
        for id in asked {
            let slot = self.slot(id) as usize;
            self.members[slot] = Some(Vec::new());
        }
        for (id, packed) in members {
            let slot = self.slot(id) as usize;
            let list = self.members[slot].get_or_insert_with(Vec::new);
            if !list.contains(packed) {
                list.push(packed.clone());
            }
        }
    }

    /// The prepared members of a golden record, unpacked.
    pub fn members(&self, id: &str) -> Vec<Profile> {
        self.ids
            .find(id)
            .and_then(|s| self.members.get(s as usize))
            .and_then(Option::as_ref)
            .map(|list| list.iter().map(Packed::unpack).collect())
            .unwrap_or_default()
    }

    /// A block value a batch gave a golden record; until the cache is complete, only values
    /// already asked for are kept (the store answers for the others).
    pub fn add_block(&mut self, value: &str, golden_id: &str) {
        let key = hash(value);
        if self.complete {
            let slot = self.slot(golden_id);
            let entry = self.blocks.entry(key).or_default();
            if !entry.contains(&slot) {
                entry.push(slot);
            }
            return;
        }
        if !self.blocks.contains_key(&key) {
            return;
        }
        let slot = self.slot(golden_id);
        if let Some(entry) = self.blocks.get_mut(&key)
            && !entry.contains(&slot)
        {
            entry.push(slot);
        }
    }

    /// A new source record of a golden record: kept when the golden record's members are known
    /// (or it was created by this batch, `minted`).
    pub fn add_member(&mut self, golden_id: &str, packed: Packed, minted: bool) {
        let slot = self.slot(golden_id) as usize;
        match &mut self.members[slot] {
            Some(list) => list.push(packed),
            None if minted => self.members[slot] = Some(vec![packed]),
            None => {}
        }
    }

    /// A golden record's members changed in a way the cache cannot follow (a source record
    /// updated or deleted): they are read again when next needed.
    pub fn forget_members(&mut self, golden_id: &str) {
        if let Some(slot) = self.ids.find(golden_id) {
            self.members[slot as usize] = None;
        }
    }

    /// Golden record `loser` was merged into `survivor`. A loser the cache never saw either was
    /// created by the batch (`minted`: its records are added one by one) or its records are not
    /// among the survivor's packed members, which are then read again when needed.
    pub fn merge(&mut self, loser: &str, survivor: &str, minted: bool) {
        let Some(loser) = self.ids.find(loser) else {
            if !minted {
                self.forget_members(survivor);
            }
            return;
        };
        let survivor = self.slot(survivor);
        if loser == survivor {
            return;
        }
        self.merged.insert(loser, survivor);
        let moved = self.members[loser as usize].take();
        match (&mut self.members[survivor as usize], moved) {
            (Some(list), Some(moved)) => list.extend(moved),
            (survivor, _) => *survivor = None,
        }
    }

    /// The values of `term` among `values` whose counts the store must tell (all of them, and
    /// the totals, when the term was never asked for in this run).
    pub fn unknown_terms<'v>(&self, term: Term, values: &[&'v str]) -> Option<Vec<&'v str>> {
        let Some(known) = self.terms.get(&term) else {
            return Some(values.to_vec());
        };
        let unknown: Vec<&str> = values
            .iter()
            .copied()
            .filter(|v| !known.counts.contains_key(&hash(v)))
            .collect();
        (!unknown.is_empty()).then_some(unknown)
    }

    /// Remembers the store's counts of values asked for (a value it does not hold counts 0);
    /// the totals are taken the first time the term is asked for, and kept by the cache after.
    pub fn learn_terms(&mut self, term: Term, asked: &[&str], found: &TermCounts) {
        let known = self.terms.entry(term).or_insert_with(|| RunCounts {
            counts: NumberMap::default(),
            total: found.total,
            sum_of_squares: found.sum_of_squares,
        });
        for value in asked {
            let count = found.counts.get(*value).copied().unwrap_or(0);
            known.counts.entry(hash(value)).or_insert(count);
        }
    }

    /// The counts of `values` (each asked for before) with the totals, as frequencies read.
    pub fn term_counts(&self, term: Term, values: &[&str]) -> TermCounts {
        let Some(known) = self.terms.get(&term) else {
            return TermCounts::default();
        };
        TermCounts {
            counts: values
                .iter()
                .filter_map(|v| Some((v.to_string(), *known.counts.get(&hash(v))?)))
                .filter(|(_, count)| *count > 0)
                .collect(),
            total: known.total,
            sum_of_squares: known.sum_of_squares,
        }
    }

    /// Adds the counts a batch writes to the store.
    pub fn add_term_counts(&mut self, writes: &[TermCountWrite]) {
        for write in writes {
            let Some(term) = Term::ALL.into_iter().find(|t| t.as_str() == write.term) else {
                continue;
            };
            let Some(known) = self.terms.get_mut(&term) else {
                continue;
            };
            let count = known.counts.entry(hash(&write.value)).or_default();
            let before = *count as f64;
            *count = count.saturating_add_signed(write.add);
            let after = *count as f64;
            known.total = known.total.saturating_add_signed(write.add);
            known.sum_of_squares += after * after - before * before;
        }
    }

    /// Golden records known and packed members held, for tests and diagnostics.
    pub fn sizes(&self) -> (usize, usize) {
        let members = self.members.iter().flatten().map(Vec::len).sum();
        (self.ids.len(), members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn packed(name: &str) -> Packed {
        let record = json!({ "name": name });
        let fields = record.as_object().cloned().unwrap_or_default();
        Packed::new(&Profile::new(&fields), &[])
    }

    #[test]
    fn a_cache_serves_one_run_only() {
        let mut cache = MatchCache::default();
        assert!(cache.for_run(0, EntityKind::Customer).is_none());
        let candidates = cache.for_run(7, EntityKind::Customer).expect("run 7");
        candidates.learn_blocks(&["np:acme"], &HashMap::new());
        assert!(candidates.unknown_values(&["np:acme"]).is_empty());
        let again = cache.for_run(8, EntityKind::Customer).expect("run 8");
        assert_eq!(again.unknown_values(&["np:acme"]), vec!["np:acme"]);
    }

    #[test]
    fn a_run_goes_on_from_the_run_before_only_when_told() {
        let mut cache = MatchCache::default();
        let candidates = cache.for_run(7, EntityKind::Customer).expect("run 7");
        candidates.learn_blocks(&["np:acme"], &HashMap::new());
        cache.continue_run(7, 8);
        let carried = cache.for_run(8, EntityKind::Customer).expect("run 8");
        assert!(carried.unknown_values(&["np:acme"]).is_empty(), "kept");
        cache.continue_run(5, 9);
        let fresh = cache.for_run(9, EntityKind::Customer).expect("run 9");
        assert_eq!(
            fresh.unknown_values(&["np:acme"]),
            vec!["np:acme"],
            "run 5 is not what the cache holds"
        );
    }

    #[test]
    fn blocks_and_members_follow_the_batches() {
        let mut c = Candidates::default();
        let found = HashMap::from([("np:acme".to_string(), vec!["cus_1".to_string()])]);
        c.learn_blocks(&["np:acme", "np:zeta"], &found);
        assert_eq!(c.block("np:acme"), vec!["cus_1"]);
        assert!(c.block("np:zeta").is_empty());
        assert_eq!(c.unloaded(&["cus_1"]), vec!["cus_1"]);
        c.learn_members(&["cus_1"], &[("cus_1".to_string(), packed("Acme GmbH"))]);
        assert!(c.unloaded(&["cus_1"]).is_empty());
        assert_eq!(c.members("cus_1")[0].company.joined, "acme");

        // A batch adds a golden record to a known block and ignores unknown values.
        c.add_block("np:acme", "cus_2");
        c.add_block("np:other", "cus_2");
        assert_eq!(c.block("np:acme"), vec!["cus_1", "cus_2"]);
        assert!(c.unknown_values(&["np:other"]) == vec!["np:other"]);
        c.add_member("cus_2", packed("Acme AG"), true);
        c.add_member("cus_3", packed("Acme SE"), false);
        assert_eq!(c.members("cus_2").len(), 1);
        assert!(c.members("cus_3").is_empty());

        // A merge sends the block to the survivor once, with both members.
        c.merge("cus_9", "cus_1", true);
        assert!(c.unloaded(&["cus_1"]).is_empty());
        c.merge("cus_2", "cus_1", false);
        assert_eq!(c.block("np:acme"), vec!["cus_1"]);
        assert_eq!(c.members("cus_1").len(), 2);
        c.forget_members("cus_1");
        assert_eq!(c.unloaded(&["cus_1"]), vec!["cus_1"]);
    }

    #[test]
    fn golden_ids_sharing_a_hash_keep_their_own_slots() {
        let mut ids = GoldenIds::default();
        assert_eq!(ids.push("cus_a"), 0);
        // As if `cus_b` hashed like `cus_a`.
        ids.by_hash.insert(hash("cus_b"), 0);
        assert_eq!(ids.find("cus_b"), None);
        assert_eq!(ids.push("cus_b"), 1);
        assert_eq!(ids.push("cus_c"), 2);
        assert_eq!(ids.find("cus_a"), Some(0));
        assert_eq!(ids.find("cus_b"), Some(1));
        assert_eq!(ids.find("cus_c"), Some(2));
        assert_eq!(ids.get(1), Some("cus_b"));
        assert_eq!(ids.get(3), None);
        assert_eq!(ids.len(), 3);
    }

    #[test]
    fn a_complete_cache_answers_every_value_and_follows_the_batches() {
        let mut c = Candidates::default();
        let mut scan = c.scan();
        scan.row("np:acme", "cus_2");
        scan.row("np:acme", "cus_1");
        scan.row("ph:123", "cus_1");
        scan.row("np:acme", "cus_1");
        // Unfinished, a scan leaves the store to answer.
        drop(scan);
        assert!(!c.is_complete());
        assert_eq!(c.unknown_values(&["np:acme"]), vec!["np:acme"]);

        let mut scan = c.scan();
        scan.row("np:acme", "cus_2");
        scan.row("np:acme", "cus_1");
        scan.row("ph:123", "cus_1");
        scan.row("np:acme", "cus_1");
        scan.finish();
        assert!(c.is_complete());
        // A value the store never held is absent without asking it.
        assert!(c.unknown_values(&["np:acme", "em:new@x.de"]).is_empty());
        assert!(c.block("em:new@x.de").is_empty());
        let mut acme = c.block("np:acme");
        acme.sort();
        assert_eq!(acme, vec!["cus_1", "cus_2"]);

        // A batch's new values are kept, known or not; a merge leads the scanned rows on.
        c.add_block("em:new@x.de", "cus_3");
        c.add_block("ph:123", "cus_3");
        assert_eq!(c.block("em:new@x.de"), vec!["cus_3"]);
        assert_eq!(c.block("ph:123"), vec!["cus_1", "cus_3"]);
        c.merge("cus_2", "cus_1", false);
        assert_eq!(c.block("np:acme"), vec!["cus_1"]);
    }
}
