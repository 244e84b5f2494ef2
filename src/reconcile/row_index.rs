//! Rows of a batch found by a key they hold, without copying the keys.
//!
//! Indexing the batch being committed (see [`super::view::Pending`]) is on the writer's thread for
//! every batch; a map keyed by owned strings copied every source key, golden ID and match value
//! of the batch once more. This index keeps only row numbers, each under the hash of its row's
//! key; a lookup hashes the borrowed key it is given and the caller compares it with the rows
//! that share the hash.

use std::hash::{BuildHasher, Hash};

use foldhash::fast::RandomState;
use hashbrown::HashTable;

/// Row numbers of a list of rows, by the hash of a key each row holds (several rows may share
/// one key).
#[derive(Debug, Default)]
pub struct RowIndex {
    /// (hash of the row's key, row number).
    rows: HashTable<(u64, usize)>,
    hasher: RandomState,
}

impl RowIndex {
    /// Indexes row `n` under `key(n)` for every `n` below `count`. A key must hash as the
    /// borrowed form later given to [`RowIndex::find`] does (`String` and `&str` hash alike).
    pub fn new<K: Hash>(count: usize, key: impl Fn(usize) -> K) -> RowIndex {
        let hasher = RandomState::default();
        let mut rows = HashTable::with_capacity(count);
        for number in 0..count {
            let hash = hasher.hash_one(key(number));
            rows.insert_unique(hash, (hash, number), |(hash, _)| *hash);
        }
        RowIndex { rows, hasher }
    }

    /// The numbers of the rows whose key may be `wanted`, in no particular order: those sharing
    /// its hash, for which `is_wanted` confirms the key.
    pub fn find<'a>(
        &'a self,
        wanted: impl Hash,
        is_wanted: impl Fn(usize) -> bool + 'a,
    ) -> impl Iterator<Item = usize> + 'a {
        let hash = self.hasher.hash_one(wanted);
        self.rows
            .iter_hash(hash)
            .map(|(_, number)| *number)
            .filter(move |&number| is_wanted(number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_row_with_the_key_and_no_other() {
        let rows = [
            ("sap".to_string(), "1"),
            ("erp".to_string(), "1"),
            ("sap".to_string(), "2"),
            ("sap".to_string(), "1"),
        ];
        let index = RowIndex::new(rows.len(), |n| (&rows[n].0, rows[n].1));
        let find = |source: &str, key: &str| {
            let mut found: Vec<usize> = index
                .find((source, key), |n| rows[n].0 == source && rows[n].1 == key)
                .collect();
            found.sort();
            found
        };
        assert_eq!(find("sap", "1"), [0, 3]);
        assert_eq!(find("erp", "1"), [1]);
        assert!(find("erp", "2").is_empty());
    }
}
