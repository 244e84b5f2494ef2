//! JSONPaths parsed once at load time and evaluated per record.
//!
//! Most mapping paths are plain chains of names and indexes (`$.E1KNA1M.KUNNR`); those are walked
//! directly on the payload, which is many times faster than the general engine (no path strings
//! are built for the matches). Everything else (wildcards, filters, slices, descendants) goes to
//! jsonpath-rust.

use std::borrow::Cow;

use jsonpath_rust::parser::errors::JsonPathError;
use jsonpath_rust::parser::model::{JpQuery, Segment, Selector};
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

/// A compiled JSONPath, keeping its text for error messages.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct JsonPath {
    text: String,
    plan: Plan,
}

#[derive(Debug, Clone)]
enum Plan {
    /// Only name and index steps: at most one match, found by walking the tree.
    Direct(Vec<Step>),
    General(JpQuery),
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(i64),
}

impl TryFrom<String> for JsonPath {
    type Error = String;

    fn try_from(text: String) -> Result<JsonPath, String> {
        JsonPath::parse(&text)
    }
}

impl JsonPath {
    /// Parses `text`; the error says what is wrong and where in the path.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let query = parse_json_path(text)
            .map_err(|e| format!("invalid JSONPath `{text}`: {}", describe(&e)))?;
        let plan = match direct_steps(&query) {
            Some(steps) => Plan::Direct(steps),
            None => Plan::General(query),
        };
        Ok(JsonPath {
            text: text.to_string(),
            plan,
        })
    }

    /// The path as written in the mapping file.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every node the path selects, in document order.
    pub fn all<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        match &self.plan {
            Plan::Direct(steps) => walk(root, steps).into_iter().collect(),
            // A query that fails at run time (e.g. a function applied to the wrong type) selects
            // nothing, as a path into a missing segment does.
            Plan::General(query) => js_path_process(query, root)
                .map(|refs| refs.into_iter().map(|r| r.val).collect())
                .unwrap_or_default(),
        }
    }

    /// True when `test` holds for some node the path selects; plain paths allocate nothing, as
    /// `when:` is tested on every record against every mapping.
    pub fn any_node<'a>(&self, root: &'a Value, test: impl FnMut(&'a Value) -> bool) -> bool {
        match &self.plan {
            Plan::Direct(steps) => walk(root, steps).is_some_and(test),
            Plan::General(_) => self.all(root).into_iter().any(test),
        }
    }

    /// The text of every value the path selects: arrays are flattened one level, nulls skipped.
    pub fn texts<'a>(&self, root: &'a Value) -> Result<Vec<Cow<'a, str>>, String> {
        let mut out = Vec::new();
        for node in self.all(root) {
            push_texts(node, &self.text, &mut out)?;
        }
        Ok(out)
    }

    /// The text of the first non-empty value the path selects.
    pub fn first_text<'a>(&self, root: &'a Value) -> Result<Option<Cow<'a, str>>, String> {
        if let Plan::Direct(steps) = &self.plan
            && let Some(node) = walk(root, steps)
            && !node.is_array()
        {
            return Ok(scalar_text(node, &self.text)?.filter(|t| !t.is_empty()));
        }
        Ok(self.texts(root)?.into_iter().find(|t| !t.is_empty()))
    }
}

fn push_texts<'a>(node: &'a Value, path: &str, out: &mut Vec<Cow<'a, str>>) -> Result<(), String> {
    match node {
        Value::Array(items) => {
            for item in items {
                out.extend(scalar_text(item, path)?);
            }
        }
        other => out.extend(scalar_text(other, path)?),
    }
    Ok(())
}

/// The text of a scalar: strings as they are, numbers and booleans as their JSON text, null as
/// nothing; an XML element with attributes contributes its `#text`.
pub fn scalar_text<'a>(node: &'a Value, path: &str) -> Result<Option<Cow<'a, str>>, String> {
    match node {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(Cow::Borrowed(s))),
        Value::Number(n) => Ok(Some(Cow::Owned(n.to_string()))),
        Value::Bool(b) => Ok(Some(Cow::Borrowed(if *b { "true" } else { "false" }))),
        Value::Object(map) => match map.get("#text") {
            Some(text) => scalar_text(text, path),
            None => Err(format!("`{path}` selects an object, not a value")),
        },
        Value::Array(_) => Err(format!("`{path}` selects a nested array, not a value")),
    }
}

fn walk<'a>(root: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    steps.iter().try_fold(root, |node, step| match step {
        Step::Key(key) => node.as_object()?.get(key),
        Step::Index(i) => {
            let items = node.as_array()?;
            let index = if *i >= 0 {
                usize::try_from(*i).ok()?
            } else {
                items
                    .len()
                    .checked_sub(usize::try_from(i.unsigned_abs()).ok()?)?
            };
            items.get(index)
        }
    })
}

fn direct_steps(query: &JpQuery) -> Option<Vec<Step>> {
    query
        .segments
        .iter()
        .map(|segment| match segment {
            Segment::Selector(Selector::Name(name)) => Some(Step::Key(name.clone())),
            Segment::Selector(Selector::Index(i)) => Some(Step::Index(*i)),
            _ => None,
        })
        .collect()
}

/// pest's message spans several lines with a caret drawing; keep what and where.
fn describe(error: &JsonPathError) -> String {
    match error {
        JsonPathError::PestError(e) => {
            let position = e
                .to_string()
                .lines()
                .find_map(|l| l.trim().strip_prefix("--> ").map(str::to_string));
            match position.and_then(|p| p.split(':').nth(1).map(str::to_string)) {
                Some(col) => format!("{} at character {col}", e.variant.message()),
                None => e.variant.message().into_owned(),
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_paths_walk_names_and_indexes() {
        let doc = json!({"a": {"b": [10, 20, 30]}, "x": "y"});
        let p = JsonPath::parse("$.a.b[1]").unwrap();
        assert!(matches!(p.plan, Plan::Direct(_)));
        assert_eq!(p.all(&doc).first().copied(), Some(&json!(20)));
        assert_eq!(
            JsonPath::parse("$.a.b[-1]")
                .unwrap()
                .all(&doc)
                .first()
                .copied(),
            Some(&json!(30))
        );
        assert_eq!(
            JsonPath::parse("$['x']")
                .unwrap()
                .all(&doc)
                .first()
                .copied(),
            Some(&json!("y"))
        );
        assert_eq!(
            JsonPath::parse("$").unwrap().all(&doc).first().copied(),
            Some(&doc)
        );
        assert_eq!(
            JsonPath::parse("$.a.c").unwrap().all(&doc).first().copied(),
            None
        );
        assert_eq!(
            JsonPath::parse("$.a.b[7]")
                .unwrap()
                .all(&doc)
                .first()
                .copied(),
            None
        );
    }

    #[test]
    fn general_paths_use_the_engine() {
        let doc = json!({"items": [{"n": "a"}, {"n": "b"}]});
        let p = JsonPath::parse("$.items[*].n").unwrap();
        assert!(matches!(p.plan, Plan::General(_)));
        assert_eq!(p.texts(&doc).unwrap(), vec!["a", "b"]);
        let filtered = JsonPath::parse("$.items[?@.n == 'b'].n").unwrap();
        assert_eq!(filtered.texts(&doc).unwrap(), vec!["b"]);
    }

    #[test]
    fn direct_and_general_agree() {
        let doc = json!({"a": {"b": {"c": "v"}}});
        let direct = JsonPath::parse("$.a.b.c").unwrap();
        let general = JsonPath {
            text: "$.a.b.c".into(),
            plan: Plan::General(parse_json_path("$.a.b.c").unwrap()),
        };
        assert_eq!(direct.all(&doc), general.all(&doc));
    }

    #[test]
    fn texts_flatten_arrays_and_read_scalars() {
        let doc = json!({"e": ["a@x.de", null, "b@x.de"], "n": 12.5, "t": true, "x": {"@a": "1", "#text": "v"}});
        assert_eq!(
            JsonPath::parse("$.e").unwrap().texts(&doc).unwrap(),
            vec!["a@x.de", "b@x.de"]
        );
        assert_eq!(
            JsonPath::parse("$.n")
                .unwrap()
                .first_text(&doc)
                .unwrap()
                .unwrap(),
            "12.5"
        );
        assert_eq!(
            JsonPath::parse("$.t")
                .unwrap()
                .first_text(&doc)
                .unwrap()
                .unwrap(),
            "true"
        );
        assert_eq!(
            JsonPath::parse("$.x")
                .unwrap()
                .first_text(&doc)
                .unwrap()
                .unwrap(),
            "v"
        );
        let err = JsonPath::parse("$").unwrap().first_text(&doc).unwrap_err();
        assert!(err.contains("selects an object"), "{err}");
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = JsonPath::parse("$.a[").unwrap_err();
        assert!(err.starts_with("invalid JSONPath `$.a[`"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}
