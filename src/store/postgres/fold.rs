//! Batches folded to one row per key before a multi-row upsert: PostgreSQL refuses an
//! `INSERT … ON CONFLICT` that touches one row twice, where SQLite applies the rows in turn.

use std::collections::HashMap;
use std::hash::Hash;

/// The rows of `rows` with distinct keys, each where its key first appears, holding the last row
/// with that key: what one-after-the-other upserts leave behind.
pub fn folded<'a, T, K: Hash + Eq>(rows: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut position: HashMap<K, usize> = HashMap::with_capacity(rows.len());
    let mut kept: Vec<&T> = Vec::with_capacity(rows.len());
    for row in rows {
        let key = key(row);
        match position.get(&key) {
            Some(&at) => kept[at] = row,
            None => {
                position.insert(key, kept.len());
                kept.push(row);
            }
        }
    }
    kept
}
