//! Paths into an answer: the records, a change time, a key, a next-page token or link.
//!
//! The common shapes (`$.data[*]`, `$.d.results[*]`, `$['@odata.nextLink']`, a bare field name)
//! are walked directly, and the records are moved out of the answer rather than copied; anything
//! else goes to jsonpath-rust.

use jsonpath_rust::JsonPath as _;
use serde_json::Value;

/// A compiled path.
#[derive(Debug, Clone)]
pub enum Selector {
    /// Member names from the root, then optionally every item of the array reached.
    Simple { keys: Vec<String>, each: bool },
    /// Any other JSONPath.
    General(String),
}

impl Selector {
    /// Parses a JSONPath (`$...`) or a bare field name.
    pub fn parse(text: &str) -> Result<Selector, String> {
        let Some(rest) = text.strip_prefix('$') else {
            return Ok(Selector::Simple {
                keys: vec![text.to_string()],
                each: false,
            });
        };
        if let Some(simple) = parse_simple(rest) {
            return Ok(simple);
        }
        Value::Null
            .query(text)
            .map_err(|e| format!("invalid JSONPath `{text}`: {e}"))?;
        Ok(Selector::General(text.to_string()))
    }

    /// The values selected, moved out of `document`.
    pub fn take_all(&self, document: Value) -> Vec<Value> {
        match self {
            Selector::Simple { keys, each } => {
                let mut node = document;
                for key in keys {
                    node = match node {
                        Value::Object(mut map) => match map.remove(key) {
                            Some(value) => value,
                            None => return Vec::new(),
                        },
                        _ => return Vec::new(),
                    };
                }
                match (each, node) {
                    (true, Value::Array(items)) => items,
                    (true, _) | (false, Value::Null) => Vec::new(),
                    (false, value) => vec![value],
                }
            }
            Selector::General(path) => document
                .query(path)
                .map(|found| found.into_iter().cloned().collect())
                .unwrap_or_default(),
        }
    }

    /// The first value selected in `document`.
    pub fn first<'a>(&self, document: &'a Value) -> Option<&'a Value> {
        match self {
            Selector::Simple { keys, each } => {
                let node = keys.iter().try_fold(document, |node, key| node.get(key))?;
                if *each { node.get(0) } else { Some(node) }
            }
            Selector::General(path) => document.query(path).ok()?.into_iter().next(),
        }
    }
}

/// `.name`, `['name']` and `["name"]` steps, then an optional final `[*]`.
fn parse_simple(mut rest: &str) -> Option<Selector> {
    let mut keys = Vec::new();
    while !rest.is_empty() {
        if rest == "[*]" {
            return Some(Selector::Simple { keys, each: true });
        }
        if let Some(after) = rest.strip_prefix('.') {
            let end = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '@' || c == '-'))
                .unwrap_or(after.len());
            if end == 0 {
                return None;
            }
            keys.push(after[..end].to_string());
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix("['").or_else(|| rest.strip_prefix("[\"")) {
            let quote = if rest.starts_with("['") { "']" } else { "\"]" };
            let end = after.find(quote)?;
            let key = &after[..end];
            if key.contains(['\\', '\'', '"']) {
                return None;
            }
            keys.push(key.to_string());
            rest = &after[end + 2..];
        } else {
            return None;
        }
    }
    Some(Selector::Simple { keys, each: false })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn common_envelopes_are_walked_and_moved() {
        let page = json!({"d": {"results": [{"a": 1}, {"a": 2}], "__next": "x"}});
        let records = Selector::parse("$.d.results[*]").unwrap();
        assert!(matches!(records, Selector::Simple { each: true, .. }));
        assert_eq!(
            records.take_all(page.clone()),
            vec![json!({"a": 1}), json!({"a": 2})]
        );
        let next = Selector::parse("$.d.__next").unwrap();
        assert_eq!(next.first(&page), Some(&json!("x")));
        let odata = Selector::parse("$['@odata.nextLink']").unwrap();
        assert_eq!(
            odata.first(&json!({"@odata.nextLink": "y"})),
            Some(&json!("y"))
        );
        assert_eq!(
            Selector::parse("modified")
                .unwrap()
                .first(&json!({"modified": 3})),
            Some(&json!(3))
        );
    }

    #[test]
    fn other_paths_go_to_jsonpath_rust_and_bad_ones_are_refused() {
        let filtered = Selector::parse("$.data[?@.ok == true]").unwrap();
        assert!(matches!(filtered, Selector::General(_)));
        let page = json!({"data": [{"ok": true, "n": 1}, {"ok": false, "n": 2}]});
        assert_eq!(filtered.take_all(page), vec![json!({"ok": true, "n": 1})]);
        assert!(Selector::parse("$.data[").is_err());
    }
}
