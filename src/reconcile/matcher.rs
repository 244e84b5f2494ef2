//! The match step: which golden record a new source record belongs to.
//!
//! Deterministic rules: records whose normalized key values are equal share a golden record. The
//! step sees a whole batch at once (to look keys up in one query per rule, and so that two new
//! records with the same key in one batch become one golden record). Scored, typo-tolerant rules
//! are in [`super::scoring`].

use std::collections::{HashMap, HashSet};

use super::rules::MatchRule;
use crate::model::{self, EntityKind};
use crate::store::{Fields, MatchKeyWrite, StoreError};

use super::view::StoreView;

use super::normalize::{match_value_in, record_country};

/// Separates the values of a rule over several fields inside one key.
const FIELD_SEPARATOR: char = '\u{1f}';

/// The normalized key values a record has under `rule`: one per value of a list field, the
/// fields of a multi-field rule joined. Empty when a field is missing.
pub fn rule_values(entity: EntityKind, rule: &MatchRule, record: &Fields) -> Vec<String> {
    // A VAT number without its prefix or a national phone number reads with the record's country.
    let country = record_country(record);
    let mut combined: Vec<String> = vec![String::new()];
    for (index, field) in rule.exact.iter().enumerate() {
        let raw: Vec<&str> = match record.get(field) {
            Some(serde_json::Value::String(s)) => vec![s.as_str()],
            Some(serde_json::Value::Array(items)) if model::is_list_field(entity, field) => {
                items.iter().filter_map(|v| v.as_str()).collect()
            }
            _ => Vec::new(),
        };
        let values: Vec<String> = raw
            .into_iter()
            .filter_map(|v| match_value_in(field, v, country))
            .collect();
        if values.is_empty() {
            return Vec::new();
        }
        combined = combined
            .iter()
            .flat_map(|prefix| {
                values.iter().map(move |value| {
                    if index == 0 {
                        value.clone()
                    } else {
                        format!("{prefix}{FIELD_SEPARATOR}{value}")
                    }
                })
            })
            .collect();
    }
    let mut seen = HashSet::new();
    combined.retain(|v| seen.insert(v.clone()));
    combined
}

/// Assigns golden IDs to one entity's records of a batch.
pub struct Matcher<'a> {
    entity: EntityKind,
    rules: &'a [MatchRule],
    /// Rule index → value → golden ID: from the store, then from this batch.
    known: Vec<HashMap<String, String>>,
    /// Key values written by this batch, to be stored with it.
    pub writes: Vec<MatchKeyWrite>,
}

impl<'a> Matcher<'a> {
    /// Prepares matching for records with these key values, looking the values up in the store,
    /// one query per rule.
    pub async fn prepare(
        store: &StoreView<'_>,
        entity: EntityKind,
        rules: &'a [MatchRule],
        records: &[&RecordKeys],
    ) -> Result<Matcher<'a>, StoreError> {
        let mut known = Vec::with_capacity(rules.len());
        for (index, rule) in rules.iter().enumerate() {
            let values: HashSet<&str> = records
                .iter()
                .flat_map(|keys| keys[index].iter().map(String::as_str))
                .collect();
            let values: Vec<&str> = values.into_iter().collect();
            known.push(store.match_lookup(entity, &rule.rule, &values).await?);
        }
        Ok(Matcher {
            entity,
            rules,
            known,
            writes: Vec::new(),
        })
    }

    /// The golden records a new source record's keys name, each once, in rule order: the first
    /// decides where the record goes; any other is joined to it (matches are transitive).
    pub fn find_all(&self, keys: &RecordKeys) -> Vec<(String, &str)> {
        let mut found: Vec<(String, &str)> = Vec::new();
        for ((known, values), rule) in self.known.iter().zip(keys).zip(self.rules) {
            for value in values {
                if let Some(id) = known.get(value)
                    && !found.iter().any(|(f, _)| f == id)
                {
                    found.push((id.clone(), rule.rule.as_str()));
                }
            }
        }
        found
    }

    /// Records that a record with these key values belongs to `golden_id`, so later records of
    /// the batch with the same values match it and the values are stored. A value that already
    /// names another golden record keeps it.
    pub fn register(&mut self, keys: RecordKeys, golden_id: &str) {
        for ((rule, known), values) in self.rules.iter().zip(self.known.iter_mut()).zip(keys) {
            for value in values {
                if known.contains_key(&value) {
                    continue;
                }
                known.insert(value.clone(), golden_id.to_string());
                self.writes.push(MatchKeyWrite {
                    entity: self.entity,
                    rule: rule.rule.clone(),
                    value,
                    golden_id: golden_id.to_string(),
                });
            }
        }
    }
}

/// A record's normalized key values, one list per match rule, computed once per record.
pub type RecordKeys = Vec<Vec<String>>;

/// The key values of `record` under each of `rules`.
pub fn record_keys(entity: EntityKind, rules: &[MatchRule], record: &Fields) -> RecordKeys {
    rules
        .iter()
        .map(|rule| rule_values(entity, rule, record))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(fields: &[&str]) -> MatchRule {
        MatchRule::exact("r", fields)
    }

    #[test]
    fn list_fields_give_one_value_each() {
        let record = json!({"emails": ["A@x.de", "b@x.de", "a@x.de"]})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(
            rule_values(EntityKind::Customer, &rule(&["emails"]), &record),
            vec!["a@x.de", "b@x.de"]
        );
    }

    #[test]
    fn keys_read_national_values_with_the_records_country() {
        let with_prefix = json!({"tax_id": "DE 811.234.567", "phones": ["+49 30 1234567"]})
            .as_object()
            .unwrap()
            .clone();
        let national = json!({
            "tax_id": "811234567",
            "phones": ["030/1234567"],
            "addresses": [{"country": "DE"}]
        })
        .as_object()
        .unwrap()
        .clone();
        for field in ["tax_id", "phones"] {
            let values = |r| rule_values(EntityKind::Customer, &rule(&[field]), r);
            assert_eq!(values(&with_prefix), values(&national), "{field}");
            assert!(!values(&national).is_empty());
        }
    }

    #[test]
    fn multi_field_rules_need_every_field() {
        let record = json!({"name": "Acme", "tax_id": "de 1"})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(
            rule_values(EntityKind::Customer, &rule(&["tax_id", "name"]), &record),
            vec![format!("DE1{FIELD_SEPARATOR}acme")]
        );
        let partial = json!({"name": "Acme"}).as_object().unwrap().clone();
        assert!(rule_values(EntityKind::Customer, &rule(&["tax_id", "name"]), &partial).is_empty());
    }
}
