//! Survivorship: which source's value each golden field takes.
//!
//! Per field, among the live source records that have a non-empty value, by the field's strategy:
//! `priority` (the highest source priority, then the most recent change), `most_recent`,
//! `most_complete` (the longest text, list or object), or `union` (every distinct value of a list
//! field, the best-ranked source's first). Ties fall back to priority, recency and finally source
//! name and key, so results repeat. Each value's source is recorded as lineage; a union field also
//! keeps the source of each element (`emails[1]`).

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::Value;

use crate::config::matching::{Strategy, SurvivorshipSpec};
use crate::store::{Contributor, FieldSource, Fields, Lineage};

use super::normalize::match_value;

/// Builds a golden record from its contributors. Deleted contributors take no part.
pub fn survive(
    contributors: &[Contributor],
    priorities: &HashMap<String, i32>,
    spec: Option<&SurvivorshipSpec>,
) -> (Fields, Lineage) {
    let mut ranked: Vec<&Contributor> = contributors.iter().filter(|c| !c.deleted).collect();
    ranked.sort_by(|a, b| rank(a, b, priorities));
    let mut fields: Vec<&String> = ranked.iter().flat_map(|c| c.record.keys()).collect();
    fields.sort();
    fields.dedup();
    let mut record = Fields::new();
    let mut lineage = Lineage::new();
    for field in fields {
        let strategy = spec.map(|s| s.strategy(field)).unwrap_or_default();
        let mut holders: Vec<(&Contributor, &Value)> = ranked
            .iter()
            .filter_map(|c| {
                c.record
                    .get(field)
                    .filter(|v| !is_empty(v))
                    .map(|v| (*c, v))
            })
            .collect();
        if holders.is_empty() {
            continue;
        }
        match strategy {
            Strategy::Priority => {}
            Strategy::MostRecent => holders.sort_by(|(a, _), (b, _)| {
                b.changed_at
                    .cmp(&a.changed_at)
                    .then_with(|| rank(a, b, priorities))
            }),
            Strategy::MostComplete => holders.sort_by(|(a, va), (b, vb)| {
                completeness(vb)
                    .cmp(&completeness(va))
                    .then_with(|| rank(a, b, priorities))
            }),
            Strategy::Union => {
                if let Some((value, sources)) = union(field, &holders) {
                    for (index, source) in sources.into_iter().enumerate() {
                        lineage.insert(format!("{field}[{index}]"), field_source(source));
                    }
                    lineage.insert(field.clone(), field_source(holders[0].0));
                    record.insert(field.clone(), value);
                    continue;
                }
            }
        }
        let (winner, value) = holders[0];
        record.insert(field.clone(), value.clone());
        lineage.insert(field.clone(), field_source(winner));
    }
    (record, lineage)
}

fn field_source(contributor: &Contributor) -> FieldSource {
    FieldSource {
        source: contributor.source.clone(),
        key: contributor.key.clone(),
        changed_at: contributor.changed_at,
    }
}

/// Every distinct element of a list field across its holders, best-ranked holder first; `None`
/// when the field is not a list.
fn union<'a>(
    field: &str,
    holders: &[(&'a Contributor, &Value)],
) -> Option<(Value, Vec<&'a Contributor>)> {
    let mut seen: Vec<String> = Vec::new();
    let mut values = Vec::new();
    let mut sources = Vec::new();
    for (contributor, value) in holders {
        for item in value.as_array()? {
            let identity = match item {
                Value::String(s) => match_value(field, s).unwrap_or_else(|| s.clone()),
                other => other.to_string(),
            };
            if !seen.contains(&identity) {
                seen.push(identity);
                values.push(item.clone());
                sources.push(*contributor);
            }
        }
    }
    Some((Value::Array(values), sources))
}

/// How much a value holds, for `most_complete`.
fn completeness(value: &Value) -> usize {
    match value {
        Value::String(s) => s.trim().chars().count(),
        Value::Array(a) => a.len(),
        Value::Object(o) => o.values().filter(|v| !is_empty(v)).count(),
        _ => 1,
    }
}

/// Best first: higher priority, then more recent, then by source and key.
fn rank(a: &Contributor, b: &Contributor, priorities: &HashMap<String, i32>) -> Ordering {
    let priority = |c: &Contributor| priorities.get(&c.source).copied().unwrap_or(0);
    priority(b)
        .cmp(&priority(a))
        .then_with(|| b.changed_at.cmp(&a.changed_at))
        .then_with(|| a.source.cmp(&b.source))
        .then_with(|| a.key.cmp(&b.key))
}

/// Null, an empty string, list or object carries no value and never wins.
pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// The fields whose values differ between two versions, sorted.
pub fn changed_fields(before: &Fields, after: &Fields) -> Vec<String> {
    let mut changed: Vec<String> = after
        .iter()
        .filter(|(field, value)| before.get(*field) != Some(value))
        .map(|(field, _)| field.clone())
        .chain(
            before
                .keys()
                .filter(|field| !after.contains_key(*field))
                .cloned(),
        )
        .collect();
    changed.sort();
    changed.dedup();
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn contributor(source: &str, day: u32, record: Value) -> Contributor {
        Contributor {
            source: source.into(),
            key: format!("{source}-1"),
            record: record.as_object().unwrap().clone(),
            changed_at: Some(Utc.with_ymd_and_hms(2024, 5, day, 0, 0, 0).unwrap()),
            deleted: false,
            origin: "test".into(),
        }
    }

    fn priorities() -> HashMap<String, i32> {
        HashMap::from([("sap".into(), 10), ("shop".into(), 5), ("csv".into(), 5)])
    }

    #[test]
    fn higher_priority_wins_and_lower_fills_gaps() {
        let contributors = [
            contributor(
                "shop",
                9,
                json!({"name": "Mueller GmbH", "emails": ["a@m.de"]}),
            ),
            contributor("sap", 1, json!({"name": "Müller GmbH", "tax_id": ""})),
        ];
        let (record, lineage) = survive(&contributors, &priorities(), None);
        assert_eq!(record["name"], "Müller GmbH");
        assert_eq!(lineage["name"].source, "sap");
        assert_eq!(record["emails"], json!(["a@m.de"]));
        assert_eq!(lineage["emails"].source, "shop");
        assert!(!record.contains_key("tax_id"));
    }

    #[test]
    fn equal_priority_takes_the_most_recent_value() {
        let contributors = [
            contributor("csv", 3, json!({"name": "Old"})),
            contributor("shop", 7, json!({"name": "New"})),
        ];
        let (record, lineage) = survive(&contributors, &priorities(), None);
        assert_eq!(record["name"], "New");
        assert_eq!(lineage["name"].source, "shop");
    }

    #[test]
    fn deleted_contributors_supply_nothing() {
        let mut gone = contributor("sap", 1, json!({"name": "Gone"}));
        gone.deleted = true;
        let (record, _) = survive(
            &[gone, contributor("csv", 1, json!({"name": "Kept"}))],
            &priorities(),
            None,
        );
        assert_eq!(record["name"], "Kept");
    }

    #[test]
    fn per_field_strategies_union_lists_and_prefer_complete_or_recent_values() {
        let spec: SurvivorshipSpec = serde_json::from_value(json!({
            "default": "priority",
            "fields": {"emails": "union", "name": "most_complete", "segment": "most_recent"}
        }))
        .unwrap();
        let contributors = [
            contributor(
                "sap",
                1,
                json!({"name": "Acme", "emails": ["a@acme.de"], "segment": "old"}),
            ),
            contributor(
                "shop",
                9,
                json!({"name": "Acme Anlagenbau GmbH", "emails": ["A@acme.de", "b@acme.de"], "segment": "new"}),
            ),
        ];
        let (record, lineage) = survive(&contributors, &priorities(), Some(&spec));
        assert_eq!(record["emails"], json!(["a@acme.de", "b@acme.de"]));
        assert_eq!(lineage["emails[0]"].source, "sap");
        assert_eq!(lineage["emails[1]"].source, "shop");
        assert_eq!(record["name"], "Acme Anlagenbau GmbH");
        assert_eq!(lineage["name"].source, "shop");
        assert_eq!(record["segment"], "new");
    }

    #[test]
    fn changed_fields_lists_added_removed_and_modified() {
        let before = json!({"a": 1, "b": 2, "c": 3}).as_object().unwrap().clone();
        let after = json!({"a": 1, "b": 5, "d": 4}).as_object().unwrap().clone();
        assert_eq!(changed_fields(&before, &after), vec!["b", "c", "d"]);
        assert!(changed_fields(&after, &after).is_empty());
    }
}
