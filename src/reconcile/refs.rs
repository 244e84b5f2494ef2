//! Reference resolution: orders and BOMs name customers and products by their key in the same
//! source; the cross-reference turns those keys into golden IDs. A product reference the source's
//! own cross-reference does not know (an order system that keeps no item master of its own) is
//! tried as a SKU or GTIN through the product match rules, since item codes are shared across
//! systems far more often than customer numbers are.

use std::collections::{HashMap, HashSet};

use crate::config::MatchRule;
use crate::model::EntityKind;
use crate::store::{Fields, StoreError};

use super::view::StoreView;

use super::normalize::match_value;

/// Golden IDs already known for source keys: `(entity, key) → golden ID` of one source, filled from
/// the batch being built and then from the store.
#[derive(Debug, Default)]
pub struct KnownKeys {
    ids: HashMap<(EntityKind, String), String>,
}

impl KnownKeys {
    /// Remembers where a source record of this batch went.
    pub fn insert(&mut self, entity: EntityKind, key: &str, golden_id: &str) {
        self.ids
            .insert((entity, key.to_string()), golden_id.to_string());
    }

    /// Looks up the keys not yet known: in the source's cross-reference, then (products only) as
    /// SKU or GTIN through `product_rules`.
    pub async fn load(
        &mut self,
        store: &StoreView<'_>,
        source: &str,
        wanted: &HashSet<(EntityKind, String)>,
        product_rules: &[MatchRule],
    ) -> Result<(), StoreError> {
        for entity in [EntityKind::Customer, EntityKind::Product] {
            let keys = self.missing(wanted, entity);
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            for (key, hit) in store.xref_lookup(source, entity, &keys).await? {
                self.ids.insert((entity, key), hit.golden_id);
            }
        }
        for rule in product_rules {
            let [field] = rule.exact.as_slice() else {
                continue;
            };
            if field != "sku" && field != "gtin" {
                continue;
            }
            let by_value: HashMap<String, String> = self
                .missing(wanted, EntityKind::Product)
                .into_iter()
                .filter_map(|key| Some((match_value(field, &key)?, key)))
                .collect();
            let values: Vec<&str> = by_value.keys().map(String::as_str).collect();
            for (value, golden_id) in store
                .match_lookup(EntityKind::Product, &rule.rule, &values)
                .await?
            {
                if let Some(key) = by_value.get(&value) {
                    self.ids
                        .insert((EntityKind::Product, key.clone()), golden_id);
                }
            }
        }
        Ok(())
    }

    fn missing(&self, wanted: &HashSet<(EntityKind, String)>, entity: EntityKind) -> Vec<String> {
        wanted
            .iter()
            .filter(|(e, key)| *e == entity && !self.ids.contains_key(&(entity, key.clone())))
            .map(|(_, key)| key.clone())
            .collect()
    }

    fn get(&self, entity: EntityKind, key: &str) -> Option<&String> {
        self.ids.get(&(entity, key.to_string()))
    }
}

/// The (entity, key) pairs an order or BOM refers to.
pub fn wanted(entity: EntityKind, record: &Fields) -> Vec<(EntityKind, String)> {
    let mut out = Vec::new();
    let mut add = |target: EntityKind, fields: &Fields, name: &str| {
        if let Some(key) = fields.get(name).and_then(|v| v.as_str()) {
            out.push((target, key.to_string()));
        }
    };
    match entity {
        EntityKind::Order => {
            add(EntityKind::Customer, record, "customer_ref");
            for line in items(record, "lines") {
                add(EntityKind::Product, line, "product_ref");
            }
        }
        EntityKind::Bom => {
            add(EntityKind::Product, record, "product_ref");
            for item in items(record, "items") {
                add(EntityKind::Product, item, "component_ref");
            }
        }
        EntityKind::Customer | EntityKind::Product => {}
    }
    out
}

/// Fills the `*_id` fields next to each `*_ref` whose target is known. Returns how many
/// references stay unresolved (the record arrived before what it refers to).
pub fn resolve(entity: EntityKind, record: &mut Fields, known: &KnownKeys) -> usize {
    let mut unresolved = 0;
    let mut link = |fields: &mut Fields, target: EntityKind, reference: &str, id_field: &str| {
        let Some(key) = fields.get(reference).and_then(|v| v.as_str()) else {
            return;
        };
        match known.get(target, key) {
            Some(id) => {
                fields.insert(id_field.to_string(), id.clone().into());
            }
            None => unresolved += 1,
        }
    };
    match entity {
        EntityKind::Order => {
            link(record, EntityKind::Customer, "customer_ref", "customer_id");
            for line in items_mut(record, "lines") {
                link(line, EntityKind::Product, "product_ref", "product_id");
            }
        }
        EntityKind::Bom => {
            link(record, EntityKind::Product, "product_ref", "product_id");
            for item in items_mut(record, "items") {
                link(item, EntityKind::Product, "component_ref", "component_id");
            }
        }
        EntityKind::Customer | EntityKind::Product => {}
    }
    unresolved
}

fn items<'a>(record: &'a Fields, field: &str) -> impl Iterator<Item = &'a Fields> {
    record
        .get(field)
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_object())
}

fn items_mut<'a>(record: &'a mut Fields, field: &str) -> impl Iterator<Item = &'a mut Fields> {
    record
        .get_mut(field)
        .and_then(|v| v.as_array_mut())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_object_mut())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn links_known_references_and_counts_the_rest() {
        let mut known = KnownKeys::default();
        known.insert(EntityKind::Customer, "4711", "cus_a");
        known.insert(EntityKind::Product, "100", "prd_x");
        let mut order = json!({
            "customer_ref": "4711",
            "lines": [{"product_ref": "100"}, {"product_ref": "999"}]
        })
        .as_object()
        .unwrap()
        .clone();
        assert_eq!(wanted(EntityKind::Order, &order).len(), 3);
        assert_eq!(resolve(EntityKind::Order, &mut order, &known), 1);
        assert_eq!(order["customer_id"], "cus_a");
        assert_eq!(order["lines"][0]["product_id"], "prd_x");
        assert!(order["lines"][1].get("product_id").is_none());
    }

    #[test]
    fn links_bom_parent_and_components() {
        let mut known = KnownKeys::default();
        known.insert(EntityKind::Product, "1", "prd_1");
        known.insert(EntityKind::Product, "2", "prd_2");
        let mut bom = json!({"product_ref": "1", "items": [{"component_ref": "2"}]})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(resolve(EntityKind::Bom, &mut bom, &known), 0);
        assert_eq!(bom["product_id"], "prd_1");
        assert_eq!(bom["items"][0]["component_id"], "prd_2");
    }
}
