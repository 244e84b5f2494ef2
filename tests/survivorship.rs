//! Survivorship by field across syncs: each source field keeps the time its value last changed at
//! that source, stored with the source record, so an edit of one field at one system does not
//! flip the golden record's other fields to that system's values.

mod common;

use common::{Project, golden_of, sync};
use concord::model::EntityKind;
use concord::sync::SyncOptions;

const MAPPING: &str = r#"
entity: product
key: { path: "$.id" }
changed_at: { path: "$.changed", transforms: [datetime] }
fields:
  sku: { path: "$.sku" }
  gtin: { path: "$.gtin" }
  product_type: { path: "$.type" }
  list_price: { path: "$.price", transforms: [decimal] }
"#;

fn project() -> Project {
    let project = Project::new();
    project.write("maps/product.yaml", MAPPING);
    project.write(
        "concord.yaml",
        r#"store: { url: "sqlite://concord.db" }
sources:
  - { name: erp_a, driver: json, files: "a.json", mappings: [maps/product.yaml] }
  - { name: erp_b, driver: json, files: "b.json", mappings: [maps/product.yaml] }
match:
  product:
    - { rule: gtin, exact: [gtin] }
"#,
    );
    project
}

#[tokio::test]
async fn a_price_edit_in_one_erp_leaves_the_other_fields_with_the_newer_values() {
    let project = project();
    // ERP A set SKU and type on 5 May; ERP B's values date from 3 May.
    project.write(
        "a.json",
        r#"[{"id": "A-100", "gtin": "4006381333931", "sku": "KP-50", "type": "goods", "price": "1900", "changed": "2024-05-05T08:00:00Z"}]"#,
    );
    project.write(
        "b.json",
        r#"[{"id": "4711", "gtin": "4006381333931", "sku": "kp50", "type": "spare", "price": "1950", "changed": "2024-05-03T08:00:00Z"}]"#,
    );
    let config = project.config();
    let (store, _) = sync(&config, &SyncOptions::default()).await;
    let product = golden_of(store.as_ref(), EntityKind::Product, "erp_b", "4711").await;
    assert_eq!(product.record["sku"], "KP-50");
    assert_eq!(product.record["list_price"], "1900");

    // ERP B changes only the price, on 9 May.
    project.write(
        "b.json",
        r#"[{"id": "4711", "gtin": "4006381333931", "sku": "kp50", "type": "spare", "price": "1990", "changed": "2024-05-09T08:00:00Z"}]"#,
    );
    let (store, _) = sync(&config, &SyncOptions::default()).await;
    let product = golden_of(store.as_ref(), EntityKind::Product, "erp_b", "4711").await;
    assert_eq!(product.record["list_price"], "1990");
    assert_eq!(product.lineage["list_price"].source, "erp_b");
    assert_eq!(
        product.record["sku"], "KP-50",
        "B's SKU did not change on 9 May"
    );
    assert_eq!(product.record["product_type"], "goods");
    assert_eq!(product.lineage["sku"].source, "erp_a");
}
