//! Survivorship: which source's value each golden field takes.
//!
//! Per field, among the live source records that have a non-empty value, by the field's strategy:
//! `priority` (the highest source priority, then the most recent change of that field),
//! `most_recent`,
//! `most_complete` (the longest text, list or object), or `union` (every distinct value of a list
//! field, the best-ranked source's first). Ties fall back to priority, recency and finally source
//! name and key, so results repeat. "Recent" is per field: each source record keeps the time each
//! of its fields last changed value ([`field_times`]), so an edit of one field at a source does
//! not make that source's other, unchanged fields the newest. Each value's source is recorded as
//! lineage; a union field also keeps the source of each element (`emails[1]`).

use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::reconcile::rules::{Strategy, SurvivorshipSpec};
use crate::store::{Contributor, FieldSource, FieldTimes, Fields, Lineage};

use super::normalize::match_value;

/// Which contributors a golden field's value comes from.
enum Pick {
    /// One contributor's whole value.
    Value { field: String, winner: usize },
    /// The distinct elements of a list field, each from the contributor that had it first;
    /// `lead` is the best-ranked holder.
    Items {
        field: String,
        lead: usize,
        items: Vec<(usize, usize)>,
    },
}

/// Builds a golden record from its contributors. Deleted contributors take no part. The
/// contributors are consumed: each surviving value is moved into the golden record, not copied
/// (a golden record is written once per change, and copying nested addresses and lists was most
/// of its cost).
pub fn survive(
    mut contributors: Vec<Contributor>,
    priorities: &HashMap<String, i32>,
    spec: Option<&SurvivorshipSpec>,
) -> (Fields, Lineage) {
    let picks = pick(&contributors, priorities, spec);
    let mut record = Fields::new();
    let mut lineage = Lineage::new();
    for pick in picks {
        match pick {
            Pick::Value { field, winner } => {
                let contributor = &mut contributors[winner];
                lineage.insert(field.clone(), field_source(contributor, &field));
                let value = contributor.record.remove(&field).unwrap_or_default();
                record.insert(field, value);
            }
            Pick::Items { field, lead, items } => {
                let mut values = Vec::with_capacity(items.len());
                for (index, (holder, item)) in items.into_iter().enumerate() {
                    let contributor = &mut contributors[holder];
                    lineage.insert(
                        format!("{field}[{index}]"),
                        field_source(contributor, &field),
                    );
                    let taken = contributor
                        .record
                        .get_mut(&field)
                        .and_then(|list| list.get_mut(item))
                        .map(Value::take);
                    values.push(taken.unwrap_or_default());
                }
                lineage.insert(field.clone(), field_source(&contributors[lead], &field));
                record.insert(field, Value::Array(values));
            }
        }
    }
    (record, lineage)
}

/// Decides, per field, whose value survives (by index into `contributors`), in field order.
fn pick(
    contributors: &[Contributor],
    priorities: &HashMap<String, i32>,
    spec: Option<&SurvivorshipSpec>,
) -> Vec<Pick> {
    let mut ranked: Vec<usize> = (0..contributors.len())
        .filter(|&i| !contributors[i].deleted)
        .collect();
    ranked.sort_by(|&a, &b| rank(&contributors[a], &contributors[b], priorities));
    let mut fields: Vec<&String> = ranked
        .iter()
        .flat_map(|&i| contributors[i].record.keys())
        .collect();
    fields.sort();
    fields.dedup();
    let mut picks = Vec::with_capacity(fields.len());
    for field in fields {
        let strategy = spec.map(|s| s.strategy(field)).unwrap_or_default();
        let mut holders: Vec<(usize, &Value)> = ranked
            .iter()
            .filter_map(|&i| {
                contributors[i]
                    .record
                    .get(field)
                    .filter(|v| !is_empty(v))
                    .map(|v| (i, v))
            })
            .collect();
        if holders.is_empty() {
            continue;
        }
        let of = |i: usize| &contributors[i];
        match strategy {
            Strategy::Priority => holders.sort_by(|&(a, _), &(b, _)| {
                priority(of(b), priorities)
                    .cmp(&priority(of(a), priorities))
                    .then_with(|| of(b).field_time(field).cmp(&of(a).field_time(field)))
                    .then_with(|| rank(of(a), of(b), priorities))
            }),
            Strategy::MostRecent => holders.sort_by(|&(a, _), &(b, _)| {
                of(b)
                    .field_time(field)
                    .cmp(&of(a).field_time(field))
                    .then_with(|| rank(of(a), of(b), priorities))
            }),
            Strategy::MostComplete => holders.sort_by(|&(a, va), &(b, vb)| {
                completeness(vb)
                    .cmp(&completeness(va))
                    .then_with(|| rank(of(a), of(b), priorities))
            }),
            Strategy::Union => {
                if let Some(items) = union(field, &holders) {
                    picks.push(Pick::Items {
                        field: field.clone(),
                        lead: holders[0].0,
                        items,
                    });
                    continue;
                }
            }
        }
        picks.push(Pick::Value {
            field: field.clone(),
            winner: holders[0].0,
        });
    }
    picks
}

/// The change time of each field of a source record's new version: a field whose value equals
/// the previous version's keeps its time; a new or changed one takes the record's `changed_at`.
/// Without a previous version every field changed at `changed_at` (and needs no entry).
pub fn field_times(
    previous: Option<&Contributor>,
    fields: &Fields,
    changed_at: Option<DateTime<Utc>>,
) -> FieldTimes {
    let Some(previous) = previous else {
        return FieldTimes::new();
    };
    fields
        .iter()
        .filter_map(|(field, value)| {
            let time = if previous.record.get(field) == Some(value) {
                previous.field_time(field)
            } else {
                changed_at
            };
            // Only times that differ from the record's own need storing.
            time.filter(|t| Some(*t) != changed_at)
                .map(|t| (field.clone(), t))
        })
        .collect()
}

fn field_source(contributor: &Contributor, field: &str) -> FieldSource {
    FieldSource {
        source: contributor.source.clone(),
        key: contributor.key.clone(),
        changed_at: contributor.field_time(field),
    }
}

fn priority(contributor: &Contributor, priorities: &HashMap<String, i32>) -> i32 {
    priorities.get(&contributor.source).copied().unwrap_or(0)
}

/// Every distinct element of a list field across its holders, best-ranked holder first, as
/// (holder, element index); `None` when the field is not a list. A lone element needs no
/// comparing, which spares the common single-address, single-phone record its normalising.
fn union(field: &str, holders: &[(usize, &Value)]) -> Option<Vec<(usize, usize)>> {
    let lists: Vec<(usize, &Vec<Value>)> = holders
        .iter()
        .map(|(holder, value)| value.as_array().map(|list| (*holder, list)))
        .collect::<Option<_>>()?;
    if let [(holder, list)] = lists.as_slice()
        && list.len() == 1
    {
        return Some(vec![(*holder, 0)]);
    }
    let mut seen: Vec<String> = Vec::new();
    let mut items = Vec::new();
    for (holder, list) in lists {
        for (index, item) in list.iter().enumerate() {
            let identity = match item {
                Value::String(s) => match_value(field, s).unwrap_or_else(|| s.clone()),
                other => other.to_string(),
            };
            if !seen.contains(&identity) {
                seen.push(identity);
                items.push((holder, index));
            }
        }
    }
    Some(items)
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
            field_times: FieldTimes::new(),
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
        let (record, lineage) = survive(contributors.to_vec(), &priorities(), None);
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
        let (record, lineage) = survive(contributors.to_vec(), &priorities(), None);
        assert_eq!(record["name"], "New");
        assert_eq!(lineage["name"].source, "shop");
    }

    #[test]
    fn deleted_contributors_supply_nothing() {
        let mut gone = contributor("sap", 1, json!({"name": "Gone"}));
        gone.deleted = true;
        let (record, _) = survive(
            vec![gone, contributor("csv", 1, json!({"name": "Kept"}))],
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
        let (record, lineage) = survive(contributors.to_vec(), &priorities(), Some(&spec));
        assert_eq!(record["emails"], json!(["a@acme.de", "b@acme.de"]));
        assert_eq!(lineage["emails[0]"].source, "sap");
        assert_eq!(lineage["emails[1]"].source, "shop");
        assert_eq!(record["name"], "Acme Anlagenbau GmbH");
        assert_eq!(lineage["name"].source, "shop");
        assert_eq!(record["segment"], "new");
    }

    /// Two ERPs of equal priority hold a product. ERP b edits only the price on day 9: the price
    /// is b's, but the SKU and type stay with a, whose values changed later than b's did.
    #[test]
    fn an_edit_of_one_field_does_not_make_the_sources_other_fields_newest() {
        let a = contributor(
            "shop",
            5,
            json!({"sku": "KP-50", "product_type": "goods", "list_price": "1900"}),
        );
        let b_before = contributor(
            "csv",
            3,
            json!({"sku": "kp50", "product_type": "spare", "list_price": "1950"}),
        );
        let mut b = contributor(
            "csv",
            9,
            json!({"sku": "kp50", "product_type": "spare", "list_price": "1990"}),
        );
        b.field_times = field_times(Some(&b_before), &b.record, b.changed_at);
        assert_eq!(
            b.field_times.keys().collect::<Vec<_>>(),
            ["product_type", "sku"],
            "unchanged fields keep day 3; the price changed on day 9, the record's own time"
        );
        let (record, lineage) = survive(vec![a.clone(), b.clone()], &priorities(), None);
        assert_eq!(record["list_price"], "1990");
        assert_eq!(lineage["list_price"].source, "csv");
        assert_eq!(record["sku"], "KP-50");
        assert_eq!(record["product_type"], "goods");
        assert_eq!(lineage["sku"].source, "shop");
        assert_eq!(
            lineage["sku"].changed_at,
            Some(Utc.with_ymd_and_hms(2024, 5, 5, 0, 0, 0).unwrap())
        );
        // Without per-field times (the record's change time for every field), b would win all.
        b.field_times.clear();
        let (record, _) = survive(vec![a, b], &priorities(), None);
        assert_eq!(record["sku"], "kp50");
    }

    #[test]
    fn changed_fields_lists_added_removed_and_modified() {
        let before = json!({"a": 1, "b": 2, "c": 3}).as_object().unwrap().clone();
        let after = json!({"a": 1, "b": 5, "d": 4}).as_object().unwrap().clone();
        assert_eq!(changed_fields(&before, &after), vec!["b", "c", "d"]);
        assert!(changed_fields(&after, &after).is_empty());
    }
}
