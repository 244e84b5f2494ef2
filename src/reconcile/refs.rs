//! Reference resolution: orders and BOMs name customers and products by their key in the source
//! they came from; the cross-reference turns those keys into golden IDs. A golden order is linked
//! after survivorship, so each reference is read in the source that supplied it (the field's
//! lineage). A product reference the source's own cross-reference does not know (an order system
//! that keeps no item master of its own) is tried as a SKU or GTIN through the product match
//! rules, since item codes are shared across systems far more often than customer numbers are.
//! A reference whose target has not arrived is kept as pending and linked when it does.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::rules::MatchRule;
use crate::model::EntityKind;
use crate::store::{Fields, Lineage, PendingReference, ReferenceWrite, StoreError};

use super::normalize::match_value;
use super::view::StoreView;

/// A reference by source key: (source, target entity, key).
pub type RefKey = (String, EntityKind, String);

/// Golden IDs known for source keys, filled from the batch being built and then from the store.
#[derive(Debug, Default)]
pub struct KnownKeys {
    ids: HashMap<RefKey, String>,
}

impl KnownKeys {
    /// Remembers where a source record went.
    pub fn insert(&mut self, source: &str, entity: EntityKind, key: &str, golden_id: &str) {
        self.ids.insert(
            (source.to_string(), entity, key.to_string()),
            golden_id.to_string(),
        );
    }

    /// Looks up the keys not yet known: in each source's cross-reference, then (products only) as
    /// SKU or GTIN through `product_rules`.
    pub async fn load(
        &mut self,
        store: &StoreView<'_>,
        wanted: &HashSet<RefKey>,
        product_rules: &[MatchRule],
    ) -> Result<(), StoreError> {
        let mut by_source: HashMap<(&str, EntityKind), Vec<&str>> = HashMap::new();
        for (source, entity, key) in wanted {
            if !self
                .ids
                .contains_key(&(source.clone(), *entity, key.clone()))
            {
                by_source
                    .entry((source.as_str(), *entity))
                    .or_default()
                    .push(key.as_str());
            }
        }
        for ((source, entity), keys) in &by_source {
            for (key, hit) in store.xref_lookup(source, *entity, keys).await? {
                self.insert(source, *entity, &key, &hit.golden_id);
            }
        }
        let missing_products: Vec<&RefKey> = wanted
            .iter()
            .filter(|r| r.1 == EntityKind::Product && !self.ids.contains_key(*r))
            .collect();
        if missing_products.is_empty() {
            return Ok(());
        }
        for rule in product_rules {
            let [field] = rule.exact.as_slice() else {
                continue;
            };
            if field != "sku" && field != "gtin" {
                continue;
            }
            let mut by_value: HashMap<String, Vec<&RefKey>> = HashMap::new();
            for reference in &missing_products {
                if let Some(value) = match_value(field, &reference.2) {
                    by_value.entry(value).or_default().push(reference);
                }
            }
            let values: Vec<&str> = by_value.keys().map(String::as_str).collect();
            for (value, golden_id) in store
                .match_lookup(EntityKind::Product, &rule.rule, &values)
                .await?
            {
                for reference in by_value.get(&value).into_iter().flatten() {
                    self.ids
                        .entry((*reference).clone())
                        .or_insert_with(|| golden_id.clone());
                }
            }
        }
        Ok(())
    }

    /// The golden ID of a source key, if known.
    pub fn get(&self, source: &str, entity: EntityKind, key: &str) -> Option<&String> {
        self.ids.get(&(source.to_string(), entity, key.to_string()))
    }

    /// Rewrites every known ID through `redirect` (golden records merged in this batch).
    pub fn redirect(&mut self, redirect: impl Fn(&str) -> String) {
        for id in self.ids.values_mut() {
            *id = redirect(id);
        }
    }
}

/// One reference slot of a record: where the key is, what it names and where the ID goes.
struct Slot {
    /// The top-level field whose lineage names the source (`customer_ref`, or `lines`).
    lineage_field: &'static str,
    /// The collection the reference sits in, if any.
    collection: Option<&'static str>,
    reference: &'static str,
    id_field: &'static str,
    target: EntityKind,
}

fn slots(entity: EntityKind) -> &'static [Slot] {
    const ORDER: &[Slot] = &[
        Slot {
            lineage_field: "customer_ref",
            collection: None,
            reference: "customer_ref",
            id_field: "customer_id",
            target: EntityKind::Customer,
        },
        Slot {
            lineage_field: "lines",
            collection: Some("lines"),
            reference: "product_ref",
            id_field: "product_id",
            target: EntityKind::Product,
        },
    ];
    const BOM: &[Slot] = &[
        Slot {
            lineage_field: "product_ref",
            collection: None,
            reference: "product_ref",
            id_field: "product_id",
            target: EntityKind::Product,
        },
        Slot {
            lineage_field: "items",
            collection: Some("items"),
            reference: "component_ref",
            id_field: "component_id",
            target: EntityKind::Product,
        },
    ];
    match entity {
        EntityKind::Order => ORDER,
        EntityKind::Bom => BOM,
        EntityKind::Customer | EntityKind::Product => &[],
    }
}

/// Visits each reference of a golden record with the source whose key it is: the one its
/// mapping named (`<reference>_source`, from `source:`), else the one it was read in.
/// One reference a record makes: the source and key it names, what it names, and where its
/// resolved ID goes (top level, or an item of a collection).
struct Reference {
    source: String,
    target: EntityKind,
    key: String,
    id_field: &'static str,
    item: Option<(&'static str, usize)>,
}

/// The references of a record, read without changing it.
fn references(entity: EntityKind, record: &Fields, lineage: &Lineage) -> Vec<Reference> {
    let mut found = Vec::new();
    for slot in slots(entity) {
        let Some(read_in) = lineage.get(slot.lineage_field).map(|l| l.source.as_str()) else {
            continue;
        };
        let source_field = format!("{}_source", slot.reference);
        // A top-level reference's named source counts only when it came from the same source
        // record as the reference (survivorship picks each field on its own).
        let top_level_named = slot.collection.is_none()
            && lineage.get(&source_field).map(|l| l.source.as_str()) == Some(read_in);
        let mut read_one = |fields: &Fields, item: Option<(&'static str, usize)>| {
            let named = fields
                .get(&source_field)
                .and_then(Value::as_str)
                .filter(|_| slot.collection.is_some() || top_level_named);
            if let Some(key) = fields.get(slot.reference).and_then(Value::as_str) {
                found.push(Reference {
                    source: named.unwrap_or(read_in).to_string(),
                    target: slot.target,
                    key: key.to_string(),
                    id_field: slot.id_field,
                    item,
                });
            }
        };
        match slot.collection {
            None => read_one(record, None),
            Some(collection) => {
                let items = record.get(collection).and_then(Value::as_array);
                for (index, item) in items.into_iter().flatten().enumerate() {
                    if let Some(fields) = item.as_object() {
                        read_one(fields, Some((collection, index)));
                    }
                }
            }
        }
    }
    found
}

/// The references a golden record makes, by source key.
pub fn wanted(entity: EntityKind, record: &Fields, lineage: &Lineage) -> Vec<RefKey> {
    references(entity, record, lineage)
        .into_iter()
        .map(|r| (r.source, r.target, r.key))
        .collect()
}

/// Fills the `*_id` field next to each `*_ref` whose target is known, and returns the reference
/// rows to store (unresolved ones with no target, to be linked when the target arrives).
pub fn link(
    entity: EntityKind,
    golden_id: &str,
    record: &mut Fields,
    lineage: &Lineage,
    known: &KnownKeys,
) -> Vec<ReferenceWrite> {
    let found = references(entity, record, lineage);
    let mut rows = Vec::with_capacity(found.len());
    for reference in found {
        let target_id = known
            .get(&reference.source, reference.target, &reference.key)
            .cloned();
        let fields = match reference.item {
            None => Some(&mut *record),
            Some((collection, index)) => record
                .get_mut(collection)
                .and_then(|v| v.get_mut(index))
                .and_then(Value::as_object_mut),
        };
        if let Some(fields) = fields {
            match &target_id {
                Some(id) => {
                    fields.insert(reference.id_field.to_string(), id.clone().into());
                }
                None => {
                    fields.remove(reference.id_field);
                }
            }
        }
        rows.push(ReferenceWrite {
            referrer_id: golden_id.to_string(),
            source: reference.source,
            entity: reference.target,
            key: reference.key,
            target_id,
        });
    }
    rows
}

/// Pending references as a table: referrer, what it waits for (entity, source, key) and since
/// when, oldest first, as `concord refs --pending` and `concord show` print them.
pub fn pending_table(pending: &[PendingReference], now: DateTime<Utc>) -> String {
    if pending.is_empty() {
        return "no pending references\n".into();
    }
    let mut out = format!(
        "{:<40} {:<9} {:<16} {:<24} {}\n",
        "referrer", "entity", "source", "key", "pending for"
    );
    for reference in pending {
        let age = reference
            .since
            .map_or_else(|| "unknown".to_string(), |since| age(now - since));
        out.push_str(&format!(
            "{:<40} {:<9} {:<16} {:<24} {}\n",
            reference.referrer_id,
            reference.entity.as_str(),
            reference.source,
            reference.key,
            age
        ));
    }
    out
}

/// A duration as people read an age: `3d 4h`, `5h 12m`, `42s`.
fn age(duration: chrono::TimeDelta) -> String {
    let seconds = duration.num_seconds().max(0);
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m {}s", seconds % 60)
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FieldSource;
    use serde_json::json;

    fn lineage(fields: &[&str], source: &str) -> Lineage {
        fields
            .iter()
            .map(|f| {
                (
                    f.to_string(),
                    FieldSource {
                        source: source.into(),
                        key: "k".into(),
                        changed_at: None,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn links_known_references_in_the_source_that_supplied_them() {
        let mut known = KnownKeys::default();
        known.insert("sap", EntityKind::Customer, "4711", "cus_a");
        known.insert("sap", EntityKind::Product, "100", "prd_x");
        known.insert("shop", EntityKind::Product, "999", "prd_shop");
        let mut order = json!({
            "customer_ref": "4711",
            "lines": [{"product_ref": "100"}, {"product_ref": "999"}]
        })
        .as_object()
        .unwrap()
        .clone();
        let lineage = lineage(&["customer_ref", "lines"], "sap");
        assert_eq!(wanted(EntityKind::Order, &order, &lineage).len(), 3);
        let refs = link(EntityKind::Order, "ord_1", &mut order, &lineage, &known);
        assert_eq!(order["customer_id"], "cus_a");
        assert_eq!(order["lines"][0]["product_id"], "prd_x");
        assert!(
            order["lines"][1].get("product_id").is_none(),
            "999 is a shop key, not SAP's"
        );
        assert_eq!(refs.iter().filter(|r| r.target_id.is_none()).count(), 1);
    }

    #[test]
    fn links_bom_parent_and_components() {
        let mut known = KnownKeys::default();
        known.insert("sap", EntityKind::Product, "1", "prd_1");
        known.insert("sap", EntityKind::Product, "2", "prd_2");
        let mut bom = json!({"product_ref": "1", "items": [{"component_ref": "2"}]})
            .as_object()
            .unwrap()
            .clone();
        let refs = link(
            EntityKind::Bom,
            "bom_1",
            &mut bom,
            &lineage(&["product_ref", "items"], "sap"),
            &known,
        );
        assert!(refs.iter().all(|r| r.target_id.is_some()));
        assert_eq!(bom["product_id"], "prd_1");
        assert_eq!(bom["items"][0]["component_id"], "prd_2");
    }
}
