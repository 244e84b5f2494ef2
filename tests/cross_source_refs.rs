//! References across sources: orders from a JSON-lines file name their customers by the CRM's
//! numbers (`customer_ref: { path: "$.kunde", source: crm }`), and the customers come from a CSV
//! source. The references wait while the CRM has not been read, are listed with their source and
//! age, and are linked when the CRM's customers arrive.

mod common;

use common::{Project, golden_of, sync};
use concord::model::EntityKind;
use concord::sync::SyncOptions;
use serde_json::json;

const ORDERS: &str = r#"
entity: order
key: { path: "$.auftrag" }
fields:
  order_number: { path: "$.auftrag" }
  customer_ref: { path: "$.kunde", source: crm }
  lines:
    each: "$.positionen"
    fields:
      product_ref: { path: "$.artikel" }
      quantity: { path: "$.menge", transforms: [decimal] }
"#;

const CUSTOMERS: &str = r#"
entity: customer
key: { path: "$.kundennr", transforms: [trim] }
fields:
  name: { path: "$.name", required: true }
"#;

fn project() -> Project {
    let project = Project::new();
    project.write("maps/orders.yaml", ORDERS);
    project.write("maps/customers.yaml", CUSTOMERS);
    project.write(
        "orders.jsonl",
        "{\"auftrag\": \"A-1\", \"kunde\": \"K-1001\", \"positionen\": [{\"artikel\": \"P-1\", \"menge\": \"2\"}]}\n\
         {\"auftrag\": \"A-2\", \"kunde\": \"K-1002\", \"positionen\": []}\n",
    );
    project.write(
        "crm.csv",
        "kundennr;name\nK-1001;Mueller Maschinenbau GmbH\nK-1002;Anna Schmidt\n",
    );
    project.write(
        "concord.yaml",
        r#"store: { url: "sqlite://concord.db" }
sources:
  - { name: shop, driver: json, files: "orders.jsonl", mappings: [maps/orders.yaml] }
  - { name: crm, driver: csv, files: "crm.csv", delimiter: ";", mappings: [maps/customers.yaml] }
"#,
    );
    project
}

#[tokio::test]
async fn an_order_naming_a_crm_customer_waits_for_the_crm_and_is_then_linked() {
    let project = project();
    let config = project.config();
    let only = |source: &str| SyncOptions {
        source: Some(source.into()),
        ..SyncOptions::default()
    };

    let (store, summaries) = sync(&config, &only("shop")).await;
    assert_eq!(
        summaries[0].reconcile.unresolved_refs, 3,
        "{:?}",
        summaries[0]
    );
    let order = golden_of(store.as_ref(), EntityKind::Order, "shop", "A-1").await;
    assert!(order.record.get("customer_id").is_none());
    let pending = store.pending_reference_list(None, 100).await.unwrap();
    let waiting: Vec<(String, &str, String)> = pending
        .iter()
        .map(|p| (p.source.clone(), p.entity.as_str(), p.key.clone()))
        .collect();
    assert!(
        waiting.contains(&("crm".into(), "customer", "K-1001".into())),
        "{waiting:?}"
    );
    assert!(
        waiting.contains(&("shop".into(), "product", "P-1".into())),
        "a line's product is the shop's own key: {waiting:?}"
    );
    assert!(pending.iter().all(|p| p.since.is_some()));
    let table = concord::reconcile::refs::pending_table(&pending, chrono::Utc::now());
    assert!(table.contains("crm") && table.contains("K-1001"), "{table}");
    let for_order = store
        .pending_reference_list(Some(&order.id), 100)
        .await
        .unwrap();
    assert_eq!(for_order.len(), 2, "{for_order:?}");

    // The CRM's customers arrive: the orders are linked to them.
    let (store, _) = sync(&config, &only("crm")).await;
    let mueller = golden_of(store.as_ref(), EntityKind::Customer, "crm", "K-1001").await;
    let anna = golden_of(store.as_ref(), EntityKind::Customer, "crm", "K-1002").await;
    let order = golden_of(store.as_ref(), EntityKind::Order, "shop", "A-1").await;
    assert_eq!(order.record["customer_id"], json!(mueller.id));
    let order = golden_of(store.as_ref(), EntityKind::Order, "shop", "A-2").await;
    assert_eq!(order.record["customer_id"], json!(anna.id));
    let pending = store.pending_reference_list(None, 100).await.unwrap();
    let left: Vec<&str> = pending.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(left, ["P-1"], "only the product no source has sent");
}

#[test]
fn source_is_refused_on_a_field_that_is_not_a_reference() {
    let project = Project::new();
    let path = project.write(
        "maps/bad.yaml",
        "entity: order\nkey: { path: \"$.id\" }\nfields:\n  order_number: { path: \"$.nr\", source: crm }\n",
    );
    let Err(error) = concord::mapping::MappingSet::load(&[path]) else {
        panic!("`source:` on order_number is refused")
    };
    let error = error.to_string();
    assert!(error.contains("only for reference fields"), "{error}");
    assert!(error.contains("bad.yaml:4"), "{error}");
}
