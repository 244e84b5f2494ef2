//! JSONPaths parsed once at load time and evaluated per record.
//!
//! Mapping paths are walked directly on the payload by a small evaluator (no path strings built
//! for matches, no allocation beyond the result list). It covers names, indexes, `[*]` and filters
//! made of comparisons with literals, existence tests, `!`, `&&` and `||` — what mappings use.
//!
//! The walk is array-tolerant, a deliberate departure from RFC 9535: XML cannot tell one segment
//! from a list of one, so the IDoc driver turns a single `E1EDKA1` into an object and several into
//! an array. `[*]`, `[?...]` and `[0]`/`[-1]` therefore treat a single value (object or scalar) as
//! a one-item list, where RFC 9535 would iterate an object's member values and find nothing.
//! Comparisons are made for padded SAP text: strings compare trimmed, and a string compared with a
//! number compares as the number it holds.
//!
//! Anything else (descendants `..`, slices, unions, functions) goes to jsonpath-rust and follows
//! RFC 9535 exactly.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::ControlFlow;

use jsonpath_rust::parser::errors::JsonPathError;
use jsonpath_rust::parser::model::{
    Comparable, Comparison, Filter, FilterAtom, JpQuery, Literal, Segment, Selector, SingularQuery,
    SingularQuerySegment, Test,
};
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

/// A compiled JSONPath, keeping its text for error messages.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(try_from = "String")]
#[schemars(with = "String")]
pub struct JsonPath {
    text: String,
    plan: Plan,
}

#[derive(Debug, Clone)]
enum Plan {
    /// Steps the array-tolerant walk understands.
    Walk(Vec<Step>),
    /// Everything else, evaluated by jsonpath-rust (RFC 9535).
    General(JpQuery),
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(i64),
    /// `[*]`: an array's items, or a single value as its only item.
    Each,
    /// `[?...]`: the items (as for `Each`) the condition holds for.
    Filter(Condition),
}

/// A filter expression, tested on one item.
#[derive(Debug, Clone)]
enum Condition {
    Any(Vec<Condition>),
    All(Vec<Condition>),
    Not(Box<Condition>),
    Exists(Query),
    Compare(Operand, Operator, Operand),
}

#[derive(Debug, Clone, Copy)]
enum Operator {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
}

#[derive(Debug, Clone)]
enum Operand {
    /// A literal, held as JSON so it compares like a payload value.
    Literal(Value),
    Query(Query),
}

/// A singular query inside a filter: `@.a.b` (from the item) or `$.a.b` (from the record root).
#[derive(Debug, Clone)]
struct Query {
    from_root: bool,
    steps: Vec<Step>,
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
        let plan = match walk_steps(&query.segments) {
            Some(steps) => Plan::Walk(steps),
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
            Plan::Walk(steps) => {
                let mut out = Vec::new();
                let _: ControlFlow<()> = visit(root, root, steps, &mut |node| {
                    out.push(node);
                    ControlFlow::Continue(())
                });
                out
            }
            // A query that fails at run time (e.g. a function applied to the wrong type) selects
            // nothing, as a path into a missing segment does.
            Plan::General(query) => js_path_process(query, root)
                .map(|refs| refs.into_iter().map(|r| r.val).collect())
                .unwrap_or_default(),
        }
    }

    /// True when `test` holds for some node the path selects; walked paths allocate nothing, as
    /// `when:` is tested on every record against every mapping.
    pub fn any_node<'a>(&self, root: &'a Value, mut test: impl FnMut(&'a Value) -> bool) -> bool {
        match &self.plan {
            Plan::Walk(steps) => visit(root, root, steps, &mut |node| {
                if test(node) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .is_break(),
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

    /// The text of the first non-empty value the path selects (arrays flattened one level).
    pub fn first_text<'a>(&self, root: &'a Value) -> Result<Option<Cow<'a, str>>, String> {
        let Plan::Walk(steps) = &self.plan else {
            return Ok(self.texts(root)?.into_iter().find(|t| !t.is_empty()));
        };
        let first_in = |node: &'a Value| -> Result<Option<Cow<'a, str>>, String> {
            match node {
                Value::Array(items) => {
                    for item in items {
                        if let Some(text) = scalar_text(item, &self.text)?.filter(|t| !t.is_empty())
                        {
                            return Ok(Some(text));
                        }
                    }
                    Ok(None)
                }
                other => Ok(scalar_text(other, &self.text)?.filter(|t| !t.is_empty())),
            }
        };
        let found = visit(root, root, steps, &mut |node| match first_in(node) {
            Ok(None) => ControlFlow::Continue(()),
            done => ControlFlow::Break(done),
        });
        match found {
            ControlFlow::Break(result) => result,
            ControlFlow::Continue(()) => Ok(None),
        }
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

/// Calls `found` for every node `steps` select below `node`, in document order, until it breaks.
fn visit<'a, B>(
    root: &'a Value,
    node: &'a Value,
    steps: &[Step],
    found: &mut impl FnMut(&'a Value) -> ControlFlow<B>,
) -> ControlFlow<B> {
    let Some((step, rest)) = steps.split_first() else {
        return found(node);
    };
    match step {
        Step::Key(_) | Step::Index(_) => match single_step(node, step) {
            Some(next) => visit(root, next, rest, found),
            None => ControlFlow::Continue(()),
        },
        Step::Each => {
            for item in items(node) {
                visit(root, item, rest, found)?;
            }
            ControlFlow::Continue(())
        }
        Step::Filter(condition) => {
            for item in items(node) {
                if condition.holds(root, item) {
                    visit(root, item, rest, found)?;
                }
            }
            ControlFlow::Continue(())
        }
    }
}

/// The items a wildcard or filter iterates: an array's elements, or a single value by itself
/// (XML makes one occurrence a plain value, several an array). Null has none.
fn items(node: &Value) -> &[Value] {
    match node {
        Value::Array(items) => items,
        Value::Null => &[],
        single => std::slice::from_ref(single),
    }
}

/// A name or index step; other steps select several nodes and are handled by `visit`.
fn single_step<'a>(node: &'a Value, step: &Step) -> Option<&'a Value> {
    match step {
        Step::Key(key) => node.as_object()?.get(key),
        Step::Index(i) => {
            let items = items(node);
            let index = if *i >= 0 {
                usize::try_from(*i).ok()?
            } else {
                items
                    .len()
                    .checked_sub(usize::try_from(i.unsigned_abs()).ok()?)?
            };
            items.get(index)
        }
        Step::Each | Step::Filter(_) => None,
    }
}

impl Query {
    fn resolve<'a>(&self, root: &'a Value, item: &'a Value) -> Option<&'a Value> {
        let start = if self.from_root { root } else { item };
        self.steps
            .iter()
            .try_fold(start, |node, step| single_step(node, step))
    }
}

impl Operand {
    fn resolve<'a>(&'a self, root: &'a Value, item: &'a Value) -> Option<&'a Value> {
        match self {
            Operand::Literal(value) => Some(value),
            Operand::Query(query) => query.resolve(root, item),
        }
    }
}

impl Condition {
    fn holds(&self, root: &Value, item: &Value) -> bool {
        match self {
            Condition::Any(all) => all.iter().any(|c| c.holds(root, item)),
            Condition::All(all) => all.iter().all(|c| c.holds(root, item)),
            Condition::Not(inner) => !inner.holds(root, item),
            Condition::Exists(query) => query.resolve(root, item).is_some(),
            Condition::Compare(left, operator, right) => {
                let order = compare(left.resolve(root, item), right.resolve(root, item));
                match operator {
                    Operator::Eq => order == Some(Ordering::Equal),
                    Operator::Ne => order != Some(Ordering::Equal),
                    Operator::Lt => order == Some(Ordering::Less),
                    Operator::Lte => matches!(order, Some(Ordering::Less | Ordering::Equal)),
                    Operator::Gt => order == Some(Ordering::Greater),
                    Operator::Gte => matches!(order, Some(Ordering::Greater | Ordering::Equal)),
                }
            }
        }
    }
}

/// How two filter operands order; `None` when they are not comparable (different kinds, a text
/// that is no number, a missing node against a present one). Texts compare trimmed, as SAP pads
/// fields; a text against a number compares as the number it holds (`"000010" == 10`).
fn compare(left: Option<&Value>, right: Option<&Value>) -> Option<Ordering> {
    let (left, right) = match (left.map(element_text), right.map(element_text)) {
        (None, None) => return Some(Ordering::Equal),
        (Some(left), Some(right)) => (left, right),
        _ => return None,
    };
    match (left, right) {
        (Value::String(a), Value::String(b)) => Some(a.trim().cmp(b.trim())),
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(text), Value::Number(n)) => {
            text.trim().parse::<f64>().ok()?.partial_cmp(&n.as_f64()?)
        }
        (Value::Number(n), Value::String(text)) => {
            n.as_f64()?.partial_cmp(&text.trim().parse::<f64>().ok()?)
        }
        (a, b) => (a == b).then_some(Ordering::Equal),
    }
}

/// An XML element with attributes compares by its text.
fn element_text(node: &Value) -> &Value {
    match node {
        Value::Object(map) => map.get("#text").unwrap_or(node),
        other => other,
    }
}

/// The walk's steps for `segments`, or `None` when some part needs the general engine.
fn walk_steps(segments: &[Segment]) -> Option<Vec<Step>> {
    segments
        .iter()
        .map(|segment| match segment {
            Segment::Selector(selector) => walk_step(selector),
            Segment::Selectors(selectors) => match selectors.as_slice() {
                [selector] => walk_step(selector),
                _ => None,
            },
            Segment::Descendant(_) => None,
        })
        .collect()
}

fn walk_step(selector: &Selector) -> Option<Step> {
    match selector {
        Selector::Name(name) => Some(Step::Key(name.clone())),
        Selector::Index(i) => Some(Step::Index(*i)),
        Selector::Wildcard => Some(Step::Each),
        Selector::Filter(filter) => condition(filter).map(Step::Filter),
        Selector::Slice(..) => None,
    }
}

fn condition(filter: &Filter) -> Option<Condition> {
    match filter {
        Filter::Or(parts) => parts
            .iter()
            .map(condition)
            .collect::<Option<_>>()
            .map(Condition::Any),
        Filter::And(parts) => parts
            .iter()
            .map(condition)
            .collect::<Option<_>>()
            .map(Condition::All),
        Filter::Atom(atom) => {
            let (inner, not) = match atom {
                FilterAtom::Filter { expr, not } => (condition(expr)?, *not),
                FilterAtom::Test { expr, not } => (Condition::Exists(test_query(expr)?), *not),
                FilterAtom::Comparison(comparison) => (compare_condition(comparison)?, false),
            };
            Some(if not {
                Condition::Not(Box::new(inner))
            } else {
                inner
            })
        }
    }
}

/// An existence test `[?@.a]` / `[?$.a]`; function tests go to the general engine.
fn test_query(test: &Test) -> Option<Query> {
    let (from_root, segments) = match test {
        Test::RelQuery(segments) => (false, segments.as_slice()),
        Test::AbsQuery(query) => (true, query.segments.as_slice()),
        Test::Function(_) => return None,
    };
    let steps = walk_steps(segments)?;
    steps
        .iter()
        .all(|s| matches!(s, Step::Key(_) | Step::Index(_)))
        .then_some(Query { from_root, steps })
}

fn compare_condition(comparison: &Comparison) -> Option<Condition> {
    let operator = match comparison {
        Comparison::Eq(..) => Operator::Eq,
        Comparison::Ne(..) => Operator::Ne,
        Comparison::Lt(..) => Operator::Lt,
        Comparison::Lte(..) => Operator::Lte,
        Comparison::Gt(..) => Operator::Gt,
        Comparison::Gte(..) => Operator::Gte,
    };
    let (left, right) = comparison.vals();
    Some(Condition::Compare(
        operand(left)?,
        operator,
        operand(right)?,
    ))
}

fn operand(comparable: &Comparable) -> Option<Operand> {
    match comparable {
        Comparable::Literal(literal) => Some(Operand::Literal(match literal {
            Literal::Int(i) => Value::from(*i),
            Literal::Float(f) => Value::Number(serde_json::Number::from_f64(*f)?),
            Literal::String(s) => Value::String(s.clone()),
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Null => Value::Null,
        })),
        Comparable::SingularQuery(query) => {
            let (from_root, segments) = match query {
                SingularQuery::Current(segments) => (false, segments),
                SingularQuery::Root(segments) => (true, segments),
            };
            let steps = segments
                .iter()
                .map(|s| match s {
                    SingularQuerySegment::Name(name) => Step::Key(name.clone()),
                    SingularQuerySegment::Index(i) => Step::Index(*i),
                })
                .collect();
            Some(Operand::Query(Query { from_root, steps }))
        }
        Comparable::Function(_) => None,
    }
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

    fn texts(path: &str, doc: &Value) -> Vec<String> {
        let path = JsonPath::parse(path).unwrap();
        assert!(
            matches!(path.plan, Plan::Walk(_)),
            "{} not walked",
            path.text
        );
        path.texts(doc)
            .unwrap()
            .into_iter()
            .map(Cow::into_owned)
            .collect()
    }

    fn first(path: &str, doc: &Value) -> Option<String> {
        JsonPath::parse(path)
            .unwrap()
            .first_text(doc)
            .unwrap()
            .map(Cow::into_owned)
    }

    /// The same partner segments once as XML's single object and once as an array.
    fn partners() -> (Value, Value) {
        let single = json!({"E1EDKA1": {"PARVW": "AG ", "PARTN": "0000004711", "ILNNR": "42", "ACTIVE": true}});
        let many = json!({"E1EDKA1": [
            {"PARVW": "WE", "PARTN": "0000000815", "ILNNR": "7"},
            {"PARVW": "AG ", "PARTN": "0000004711", "ILNNR": "42", "ACTIVE": true},
            {"PARVW": "RE", "PARTN": "0000000999", "ILNNR": 0.5}
        ]});
        (single, many)
    }

    #[test]
    fn plain_paths_walk_names_and_indexes() {
        let doc = json!({"a": {"b": [10, 20, 30]}, "x": "y"});
        let p = JsonPath::parse("$.a.b[1]").unwrap();
        assert!(matches!(p.plan, Plan::Walk(_)));
        assert_eq!(p.all(&doc), vec![&json!(20)]);
        assert_eq!(
            JsonPath::parse("$.a.b[-1]").unwrap().all(&doc),
            vec![&json!(30)]
        );
        assert_eq!(
            JsonPath::parse("$['x']").unwrap().all(&doc),
            vec![&json!("y")]
        );
        assert_eq!(JsonPath::parse("$").unwrap().all(&doc), vec![&doc]);
        assert!(JsonPath::parse("$.a.c").unwrap().all(&doc).is_empty());
        assert!(JsonPath::parse("$.a.b[7]").unwrap().all(&doc).is_empty());
        assert!(JsonPath::parse("$.a.b[-4]").unwrap().all(&doc).is_empty());
    }

    #[test]
    fn index_zero_on_a_single_segment_is_the_segment() {
        let (single, many) = partners();
        assert_eq!(
            first("$.E1EDKA1[0].PARTN", &single).as_deref(),
            Some("0000004711")
        );
        assert_eq!(
            first("$.E1EDKA1[-1].PARTN", &single).as_deref(),
            Some("0000004711")
        );
        assert_eq!(first("$.E1EDKA1[1].PARTN", &single), None);
        assert_eq!(
            first("$.E1EDKA1[0].PARTN", &many).as_deref(),
            Some("0000000815")
        );
        assert_eq!(
            first("$.E1EDKA1[1].PARTN", &many).as_deref(),
            Some("0000004711")
        );
    }

    #[test]
    fn wildcard_treats_a_single_segment_as_one_item() {
        let (single, many) = partners();
        assert_eq!(texts("$.E1EDKA1[*].PARTN", &single), vec!["0000004711"]);
        assert_eq!(
            texts("$.E1EDKA1[*].PARTN", &many),
            vec!["0000000815", "0000004711", "0000000999"]
        );
        assert_eq!(texts("$.E1EDKA1.*.PARTN", &single), vec!["0000004711"]);
        assert_eq!(
            JsonPath::parse("$.E1EDKA1[*]").unwrap().all(&single),
            vec![&single["E1EDKA1"]]
        );
        assert!(texts("$.missing[*]", &single).is_empty());
        assert!(texts("$.n[*]", &json!({"n": null})).is_empty());
        assert_eq!(texts("$.TELF1[*]", &json!({"TELF1": "0711"})), vec!["0711"]);
    }

    #[test]
    fn string_equality_compares_trimmed_text() {
        let (single, many) = partners();
        for doc in [&single, &many] {
            assert_eq!(
                texts("$.E1EDKA1[?@.PARVW=='AG'].PARTN", doc),
                vec!["0000004711"]
            );
            assert_eq!(
                texts("$.E1EDKA1[?@.PARVW == \"AG \"].PARTN", doc),
                vec!["0000004711"]
            );
            assert_eq!(
                texts("$.E1EDKA1[?('AG' == @.PARVW)].PARTN", doc),
                vec!["0000004711"]
            );
            assert!(texts("$.E1EDKA1[?@.PARVW=='ZZ'].PARTN", doc).is_empty());
        }
    }

    #[test]
    fn not_equal_selects_the_others_and_segments_without_the_field() {
        let (single, many) = partners();
        assert!(texts("$.E1EDKA1[?@.PARVW!='AG'].PARTN", &single).is_empty());
        assert_eq!(
            texts("$.E1EDKA1[?@.PARVW!='WE'].PARTN", &single),
            vec!["0000004711"]
        );
        assert_eq!(
            texts("$.E1EDKA1[?@.PARVW!='AG'].PARTN", &many),
            vec!["0000000815", "0000000999"]
        );
        assert_eq!(
            texts("$.E1EDKA1[?@.NOPE!='AG'].PARTN", &single),
            vec!["0000004711"]
        );
    }

    #[test]
    fn numbers_compare_numerically_and_texts_as_the_number_they_hold() {
        let (single, many) = partners();
        for doc in [&single, &many] {
            assert_eq!(
                texts("$.E1EDKA1[?@.ILNNR==42].PARTN", doc),
                vec!["0000004711"]
            );
            assert_eq!(
                texts("$.E1EDKA1[?@.ILNNR==42.0].PARTN", doc),
                vec!["0000004711"]
            );
            assert_eq!(
                texts("$.E1EDKA1[?@.ILNNR=='42'].PARTN", doc),
                vec!["0000004711"]
            );
        }
        assert_eq!(
            texts("$.E1EDKA1[?@.ILNNR==0.5].PARTN", &many),
            vec!["0000000999"]
        );
        assert_eq!(
            texts("$.E1EDKA1[?@.ILNNR > 10].PARTN", &many),
            vec!["0000004711"]
        );
        assert_eq!(
            texts("$.E1EDKA1[?@.ILNNR <= 7].PARTN", &many),
            vec!["0000000815", "0000000999"]
        );
        let padded = json!({"E1EDP01": {"POSEX": "000010", "MENGE": "5"}});
        assert_eq!(texts("$.E1EDP01[?@.POSEX==10].MENGE", &padded), vec!["5"]);
        assert!(texts("$.E1EDP01[?@.POSEX=='10'].MENGE", &padded).is_empty());
        let text = json!({"E1EDP01": {"POSEX": "abc", "MENGE": "5"}});
        assert!(texts("$.E1EDP01[?@.POSEX==0].MENGE", &text).is_empty());
    }

    #[test]
    fn booleans_and_null_compare_by_equality() {
        let (single, many) = partners();
        for doc in [&single, &many] {
            assert_eq!(
                texts("$.E1EDKA1[?@.ACTIVE==true].PARTN", doc),
                vec!["0000004711"]
            );
            assert!(texts("$.E1EDKA1[?@.ACTIVE==false].PARTN", doc).is_empty());
        }
        let nulls = json!({"s": [{"v": null, "n": "a"}, {"v": "x", "n": "b"}]});
        assert_eq!(texts("$.s[?@.v==null].n", &nulls), vec!["a"]);
    }

    #[test]
    fn and_or_not_and_existence() {
        let (single, many) = partners();
        for doc in [&single, &many] {
            assert_eq!(
                texts("$.E1EDKA1[?@.PARVW=='AG' && @.ILNNR=='42'].PARTN", doc),
                vec!["0000004711"]
            );
            assert!(texts("$.E1EDKA1[?@.PARVW=='AG' && @.ILNNR=='7'].PARTN", doc).is_empty());
            assert_eq!(texts("$.E1EDKA1[?@.ACTIVE].PARTN", doc), vec!["0000004711"]);
            assert!(texts("$.E1EDKA1[?@.NOPE].PARTN", doc).is_empty());
        }
        assert_eq!(
            texts("$.E1EDKA1[?@.PARVW=='WE' || @.PARVW=='RE'].PARTN", &many),
            vec!["0000000815", "0000000999"]
        );
        assert_eq!(
            texts("$.E1EDKA1[?@.PARVW=='WE' || @.PARVW=='AG'].PARTN", &single),
            vec!["0000004711"]
        );
        assert_eq!(
            texts("$.E1EDKA1[?!@.ACTIVE].PARTN", &many),
            vec!["0000000815", "0000000999"]
        );
        assert_eq!(
            texts(
                "$.E1EDKA1[?(@.PARVW=='WE' || @.PARVW=='RE') && @.ILNNR<1].PARTN",
                &many
            ),
            vec!["0000000999"]
        );
    }

    #[test]
    fn filters_can_compare_with_the_record_root() {
        let doc = json!({"EDI_DC40": {"SNDPRN": "AG"}, "E1EDKA1": {"PARVW": "AG", "PARTN": "1"}});
        assert_eq!(
            texts("$.E1EDKA1[?@.PARVW==$.EDI_DC40.SNDPRN].PARTN", &doc),
            vec!["1"]
        );
        assert_eq!(texts("$.E1EDKA1[?$.EDI_DC40].PARTN", &doc), vec!["1"]);
    }

    #[test]
    fn attributes_compare_by_their_text() {
        let doc = json!({"E1EDK03": {"IDDAT": {"@q": "x", "#text": "002"}, "DATUM": "20240514"}});
        assert_eq!(
            texts("$.E1EDK03[?@.IDDAT=='002'].DATUM", &doc),
            vec!["20240514"]
        );
    }

    #[test]
    fn nested_filters_under_a_wildcard() {
        let doc = json!({"E1EDP01": [
            {"POSEX": "10", "E1EDP19": {"QUALF": "002", "IDTNR": "MAT-1"}},
            {"POSEX": "20", "E1EDP19": [
                {"QUALF": "001", "IDTNR": "CUST-2"},
                {"QUALF": "002", "IDTNR": "MAT-2"}
            ]},
            {"POSEX": "30"}
        ]});
        assert_eq!(
            texts("$.E1EDP01[*].E1EDP19[?@.QUALF=='002'].IDTNR", &doc),
            vec!["MAT-1", "MAT-2"]
        );
        let single = json!({"E1EDP01": {"E1EDP19": {"QUALF": "002", "IDTNR": "MAT-1"}}});
        assert_eq!(
            texts("$.E1EDP01[*].E1EDP19[?@.QUALF=='002'].IDTNR", &single),
            vec!["MAT-1"]
        );
    }

    #[test]
    fn first_text_and_any_node_stop_at_the_first_match() {
        let (_, many) = partners();
        assert_eq!(
            first("$.E1EDKA1[*].PARTN", &many).as_deref(),
            Some("0000000815")
        );
        let p = JsonPath::parse("$.E1EDKA1[*].PARVW").unwrap();
        let mut seen = 0;
        assert!(p.any_node(&many, |node| {
            seen += 1;
            node.as_str().is_some_and(|s| s.trim() == "AG")
        }));
        assert_eq!(seen, 2);
        assert!(!p.any_node(&many, |node| node == "XX"));
        let blank_then_value = json!({"s": [{"v": ""}, {"v": ["", "b"]}]});
        assert_eq!(first("$.s[*].v", &blank_then_value).as_deref(), Some("b"));
        let err = JsonPath::parse("$.s[*]")
            .unwrap()
            .first_text(&blank_then_value)
            .unwrap_err();
        assert!(err.contains("selects an object"), "{err}");
    }

    #[test]
    fn orders05_with_single_partner_date_and_text_segments() {
        let idoc = json!({
            "EDI_DC40": {"@SEGMENT": "1", "MESTYP": "ORDERS", "IDOCTYP": "ORDERS05"},
            "E1EDK01": {"CURCY": "EUR", "BELNR": "4500012345"},
            "E1EDKA1": {"@SEGMENT": "1", "PARVW": "AG", "PARTN": "0000100001", "NAME1": "ACME GmbH"},
            "E1EDK03": {"@SEGMENT": "1", "IDDAT": "002", "DATUM": "20240520"},
            "E1EDP01": [
                {"POSEX": "000010", "MENGE": "5.000", "MENEE": "ST",
                 "E1EDP19": {"QUALF": "002", "IDTNR": "MAT-100"}},
                {"POSEX": "000020", "MENGE": "2.000", "MENEE": "KGM",
                 "E1EDP19": [{"QUALF": "001", "IDTNR": "C-9"}, {"QUALF": "002", "IDTNR": "MAT-200"}]}
            ]
        });
        assert_eq!(
            first("$.E1EDKA1[?@.PARVW=='AG'].PARTN", &idoc).as_deref(),
            Some("0000100001")
        );
        assert_eq!(first("$.E1EDKA1[?@.PARVW=='WE'].PARTN", &idoc), None);
        assert_eq!(
            first("$.E1EDK03[?@.IDDAT=='002'].DATUM", &idoc).as_deref(),
            Some("20240520")
        );
        assert_eq!(texts("$.E1EDP01[*].MENGE", &idoc), vec!["5.000", "2.000"]);
        assert_eq!(
            texts("$.E1EDP01[*].E1EDP19[?@.QUALF=='002'].IDTNR", &idoc),
            vec!["MAT-100", "MAT-200"]
        );
        let p = JsonPath::parse("$.EDI_DC40[?@.IDOCTYP=='ORDERS05'].MESTYP").unwrap();
        assert!(p.any_node(&idoc, |n| n == "ORDERS"));
    }

    #[test]
    fn other_paths_use_the_engine_with_rfc_9535_semantics() {
        let doc = json!({"items": [{"n": "a"}, {"n": "b"}, {"n": "c"}], "one": {"n": "x"}});
        let general = |text: &str| {
            let path = JsonPath::parse(text).unwrap();
            assert!(matches!(path.plan, Plan::General(_)), "{text} walked");
            path
        };
        let mut descendants = general("$..n").texts(&doc).unwrap();
        descendants.sort();
        assert_eq!(descendants, vec!["a", "b", "c", "x"]);
        assert_eq!(
            general("$.items[1:].n").texts(&doc).unwrap(),
            vec!["b", "c"]
        );
        assert_eq!(
            general("$.items[0,2].n").texts(&doc).unwrap(),
            vec!["a", "c"]
        );
        assert_eq!(
            general("$.items[?length(@.n) == 1].n").texts(&doc).unwrap(),
            vec!["a", "b", "c"]
        );
        // RFC 9535: a filter on an object tests its member values, so no item here has `n`.
        assert!(
            general("$..one[?@.n == 'x']")
                .texts(&doc)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            general("$..items[?@.n == 'b'].n").texts(&doc).unwrap(),
            vec!["b"]
        );
    }

    #[test]
    fn walk_and_engine_agree_on_arrays() {
        let doc = json!({"a": [{"b": "1", "c": {"d": "x"}}, {"b": "2", "c": {"d": "y"}}]});
        for text in [
            "$.a[0].b",
            "$.a[*].c.d",
            "$.a[?@.b == '2'].c.d",
            "$.a[?@.c.d].b",
            "$.a[-1].b",
        ] {
            let walked = JsonPath::parse(text).unwrap();
            assert!(matches!(walked.plan, Plan::Walk(_)), "{text}");
            let general = JsonPath {
                text: text.into(),
                plan: Plan::General(parse_json_path(text).unwrap()),
            };
            assert_eq!(walked.all(&doc), general.all(&doc), "{text}");
        }
    }

    #[test]
    fn texts_flatten_arrays_and_read_scalars() {
        let doc = json!({"e": ["a@x.de", null, "b@x.de"], "n": 12.5, "t": true, "x": {"@a": "1", "#text": "v"}});
        assert_eq!(texts("$.e", &doc), vec!["a@x.de", "b@x.de"]);
        assert_eq!(first("$.n", &doc).as_deref(), Some("12.5"));
        assert_eq!(first("$.t", &doc).as_deref(), Some("true"));
        assert_eq!(first("$.x", &doc).as_deref(), Some("v"));
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
