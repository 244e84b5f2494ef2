//! Survivorship: which source's value each golden field takes.
//!
//! Per field, among the live source records that have a non-empty value: the highest source
//! priority wins, then the most recent change time, then (for repeatable results) the source name
//! and key. The winner is recorded as the field's lineage.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::Value;

use crate::store::{Contributor, FieldSource, Fields, Lineage};

/// Builds a golden record from its contributors. Deleted contributors take no part.
pub fn survive(
    contributors: &[Contributor],
    priorities: &HashMap<String, i32>,
) -> (Fields, Lineage) {
    let mut ranked: Vec<&Contributor> = contributors.iter().filter(|c| !c.deleted).collect();
    ranked.sort_by(|a, b| rank(a, b, priorities));
    let mut record = Fields::new();
    let mut lineage = Lineage::new();
    for contributor in ranked {
        for (field, value) in &contributor.record {
            if is_empty(value) || record.contains_key(field) {
                continue;
            }
            record.insert(field.clone(), value.clone());
            lineage.insert(
                field.clone(),
                FieldSource {
                    source: contributor.source.clone(),
                    key: contributor.key.clone(),
                    changed_at: contributor.changed_at,
                },
            );
        }
    }
    record.sort_keys();
    (record, lineage)
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
        let (record, lineage) = survive(&contributors, &priorities());
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
        let (record, lineage) = survive(&contributors, &priorities());
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
        );
        assert_eq!(record["name"], "Kept");
    }

    #[test]
    fn changed_fields_lists_added_removed_and_modified() {
        let before = json!({"a": 1, "b": 2, "c": 3}).as_object().unwrap().clone();
        let after = json!({"a": 1, "b": 5, "d": 4}).as_object().unwrap().clone();
        assert_eq!(changed_fields(&before, &after), vec!["b", "c", "d"]);
        assert!(changed_fields(&after, &after).is_empty());
    }
}
