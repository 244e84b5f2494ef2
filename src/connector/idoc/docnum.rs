//! The DOCNUMs read in one run, so that an IDoc number seen a second time with different content
//! is flagged instead of applied twice. (The same IDoc sent twice unchanged goes on: the store's
//! content hash drops it.)

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};

use serde_json::Value;

/// Where a DOCNUM was first read, and a hash of that IDoc: 24 bytes, so a run of millions of IDocs
/// keeps its registry small.
struct Seen {
    hash: u64,
    file: u32,
    number: u64,
}

/// The DOCNUMs of one run, keyed by a hash of the DOCNUM.
#[derive(Default)]
pub struct DocnumRegistry {
    seen: HashMap<u64, Seen>,
    files: Vec<Box<str>>,
}

impl DocnumRegistry {
    /// Notes IDoc `number` of `file`, whose [`content_hash`] is `hash`; returns where (`file#n`)
    /// the same DOCNUM was read before with other content.
    pub fn check(&mut self, docnum: &str, file: &str, number: u64, hash: u64) -> Option<String> {
        let key = u64_of(blake3::hash(docnum.as_bytes()).as_bytes());
        match self.seen.get(&key) {
            Some(earlier) if earlier.hash != hash => {
                let name = self.files.get(earlier.file as usize).map_or("?", |f| f);
                Some(format!("{name}#{}", earlier.number))
            }
            Some(_) => None,
            None => {
                if self.files.last().is_none_or(|last| **last != *file) {
                    self.files.push(file.into());
                }
                let file = u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX);
                self.seen.insert(key, Seen { hash, file, number });
                None
            }
        }
    }
}

fn u64_of(bytes: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(first)
}

/// A hash of the IDoc's content, walked in place: serializing each IDoc only to hash it cost as
/// much as building it.
pub fn content_hash(idoc: &Value) -> u64 {
    let mut hasher = foldhash::quality::FixedState::default().build_hasher();
    hash_value(idoc, &mut hasher);
    hasher.finish()
}

fn hash_value(value: &Value, hasher: &mut impl Hasher) {
    match value {
        Value::Null => hasher.write_u8(0),
        Value::Bool(flag) => {
            hasher.write_u8(1);
            flag.hash(hasher);
        }
        Value::Number(number) => {
            hasher.write_u8(2);
            number.hash(hasher);
        }
        Value::String(text) => {
            hasher.write_u8(3);
            text.hash(hasher);
        }
        Value::Array(items) => {
            hasher.write_u8(4);
            hasher.write_usize(items.len());
            for item in items {
                hash_value(item, hasher);
            }
        }
        Value::Object(object) => {
            hasher.write_u8(5);
            hasher.write_usize(object.len());
            for (key, item) in object {
                key.hash(hasher);
                hash_value(item, hasher);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_docnum_again_with_other_content_names_the_first() {
        let mut registry = DocnumRegistry::default();
        let first = content_hash(&json!({"EDI_DC40": {"DOCNUM": "1"}, "E1KNA1M": {"NAME1": "A"}}));
        let changed =
            content_hash(&json!({"EDI_DC40": {"DOCNUM": "1"}, "E1KNA1M": {"NAME1": "B"}}));
        assert_eq!(registry.check("1", "a.xml", 1, first), None);
        assert_eq!(
            registry.check("1", "b.xml", 4, first),
            None,
            "same IDoc resent"
        );
        assert_eq!(
            registry.check("1", "b.xml", 5, changed).as_deref(),
            Some("a.xml#1")
        );
        assert_eq!(registry.check("2", "b.xml", 6, changed), None);
        assert_eq!(
            registry.check("2", "c.xml", 1, first).as_deref(),
            Some("b.xml#6")
        );
    }
}
