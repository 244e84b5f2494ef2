//! Blocks too large to compare whole (every company of one city or postal area) are split by a
//! second key, the words of the name, so a record is still compared with the golden records of
//! that block that share a name word with it instead of with none of them: a true pair whose
//! only common block is a large one is not lost, and the cost stays records × the block cap.

use std::collections::{BTreeMap, HashMap};

use super::compare::Profile;
use super::compare::block::BlockKey;
use super::scoring::Scorable;

/// The second keys of a record: its name words (companies) and its family name's sound
/// (persons), as the `name_token` and `family_name` block keys write them.
pub fn second_keys(profile: &Profile) -> Vec<String> {
    let mut keys = BlockKey::NameToken.values_of(profile);
    keys.extend(BlockKey::FamilyName.values_of(profile));
    keys
}

/// Large block value → second key → golden IDs of that block with that key.
#[derive(Default)]
pub struct SplitBlocks {
    by_value: HashMap<String, HashMap<String, Vec<String>>>,
}

impl SplitBlocks {
    /// Whether `value` was split.
    pub fn contains(&self, value: &str) -> bool {
        self.by_value.contains_key(value)
    }

    /// Adds golden record `id` of block `value` under the second keys of its members.
    pub fn add(&mut self, value: &str, id: &str, members: &[Scorable]) {
        let parts = self.by_value.entry(value.to_string()).or_default();
        for member in members {
            for key in second_keys(&member.profile) {
                let ids = parts.entry(key).or_default();
                if !ids.iter().any(|known| known == id) {
                    ids.push(id.to_string());
                }
            }
        }
    }

    /// The golden IDs of block `value` that share one of `keys` (a golden ID may come more than
    /// once), or `None` when `value` was not split. A key shared by more than `cap` of them is
    /// left out: a name word as common as that tells as little as the block.
    pub fn members<'s>(&'s self, value: &str, keys: &[String], cap: usize) -> Option<Vec<&'s str>> {
        let parts = self.by_value.get(value)?;
        let mut found = Vec::new();
        for key in keys {
            let ids = parts.get(key).map(Vec::as_slice).unwrap_or(&[]);
            if ids.len() <= cap {
                found.extend(ids.iter().map(String::as_str));
            }
        }
        Some(found)
    }
}

/// The parts of a block of records (indices into `scorables`) too large to compare whole: the
/// records grouped by second key, in key order, each part of two to `cap` records (a key shared
/// by more tells as little as the block and is left out).
pub fn parts(block: &[usize], scorables: &[Scorable], cap: usize) -> Vec<Vec<usize>> {
    let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &record in block {
        for key in second_keys(&scorables[record].profile) {
            let part = by_key.entry(key).or_default();
            if part.last() != Some(&record) {
                part.push(record);
            }
        }
    }
    by_key
        .into_values()
        .filter(|part| (2..=cap).contains(&part.len()))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scorable(name: &str) -> Scorable {
        let fields = match json!({ "name": name }) {
            serde_json::Value::Object(map) => map,
            _ => unreachable!(),
        };
        Scorable::prepared(Profile::new(&fields), None)
    }

    #[test]
    fn a_record_finds_the_members_of_a_large_block_sharing_a_name_word() {
        let mut split = SplitBlocks::default();
        split.add("ci:berlin", "g-1", &[scorable("Kranbau Meissner GmbH")]);
        split.add("ci:berlin", "g-2", &[scorable("Adler Optik KG")]);
        split.add("ci:berlin", "g-3", &[scorable("Meissner Textil AG")]);
        let keys = second_keys(&scorable("Kranbau Meisner GmbH").profile);
        let mut found = split.members("ci:berlin", &keys, 64).unwrap();
        found.sort_unstable();
        found.dedup();
        assert_eq!(found, ["g-1"]);
        assert!(split.members("ci:hamburg", &keys, 64).is_none());
    }

    #[test]
    fn a_name_word_as_common_as_the_block_is_left_out() {
        let mut split = SplitBlocks::default();
        for n in 0..5 {
            split.add(
                "ci:berlin",
                &format!("g-{n}"),
                &[scorable("Adler Optik KG")],
            );
        }
        split.add("ci:berlin", "g-9", &[scorable("Adler Kranbau KG")]);
        let keys = second_keys(&scorable("Adler Kranbau GmbH").profile);
        let found = split.members("ci:berlin", &keys, 3).unwrap();
        assert_eq!(found, ["g-9"], "`adler` names 6 records, over the cap of 3");
    }
}
