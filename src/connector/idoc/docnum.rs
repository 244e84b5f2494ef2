//! The DOCNUMs read in one run, so that an IDoc number seen a second time with different content
//! is flagged instead of applied twice. (The same IDoc sent twice unchanged goes on: the store's
//! content hash drops it.)

use std::collections::HashMap;

use serde_json::Value;

/// Where a DOCNUM was first read, and a hash of that IDoc.
struct Seen {
    hash: [u8; 16],
    origin: Box<str>,
}

/// The DOCNUMs of one run.
#[derive(Default)]
pub struct DocnumRegistry {
    seen: HashMap<Box<str>, Seen>,
}

impl DocnumRegistry {
    /// Notes an IDoc; returns where the same DOCNUM was read before with other content.
    pub fn check(&mut self, docnum: &str, origin: &str, idoc: &Value) -> Option<String> {
        let hash = content_hash(idoc);
        match self.seen.get(docnum) {
            Some(earlier) if earlier.hash != hash => Some(earlier.origin.to_string()),
            Some(_) => None,
            None => {
                self.seen.insert(
                    docnum.into(),
                    Seen {
                        hash,
                        origin: origin.into(),
                    },
                );
                None
            }
        }
    }
}

fn content_hash(idoc: &Value) -> [u8; 16] {
    let mut hasher = blake3::Hasher::new();
    // Writing into a hasher cannot fail; a failure would only make two IDocs look different.
    let _ = serde_json::to_writer(&mut hasher, idoc);
    let mut out = [0u8; 16];
    out.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_docnum_again_with_other_content_names_the_first() {
        let mut registry = DocnumRegistry::default();
        let first = json!({"EDI_DC40": {"DOCNUM": "1"}, "E1KNA1M": {"NAME1": "A"}});
        let changed = json!({"EDI_DC40": {"DOCNUM": "1"}, "E1KNA1M": {"NAME1": "B"}});
        assert_eq!(registry.check("1", "a.xml#1", &first), None);
        assert_eq!(
            registry.check("1", "b.xml#4", &first),
            None,
            "same IDoc resent"
        );
        assert_eq!(
            registry.check("1", "b.xml#5", &changed).as_deref(),
            Some("a.xml#1")
        );
        assert_eq!(registry.check("2", "b.xml#6", &changed), None);
    }
}
