//! The quickstart end to end into a temporary SQLite store, checked against
//! `examples/quickstart/EXPECTED.md`.

mod common;

use std::path::Path;

use common::{config_with_store, golden_counts, golden_of, goldens, sync, total_events};
use concord::model::EntityKind;
use concord::store::{GoldenState, Store};
use concord::sync::{SourceSummary, SyncOptions};
use serde_json::Value;

fn quickstart() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/quickstart/concord.yaml"
    ))
}

fn summary<'a>(summaries: &'a [SourceSummary], source: &str) -> &'a SourceSummary {
    summaries
        .iter()
        .find(|s| s.source == source)
        .expect("source ran")
}

async fn customer(store: &dyn Store, source: &str, key: &str) -> GoldenState {
    golden_of(store, EntityKind::Customer, source, key).await
}

fn decimal(value: &Value) -> rust_decimal::Decimal {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a decimal: {value}"))
}

#[tokio::test]
async fn quickstart_syncs_into_the_expected_golden_records() {
    let db = tempfile::tempdir().unwrap();
    let config = config_with_store(quickstart(), db.path());
    let (store, summaries) = sync(&config, &SyncOptions::default()).await;
    let store = store.as_ref();

    for (source, read, mapped, quarantined) in [
        ("sap", 20, 20, 0),
        ("erpnext", 11, 11, 0),
        ("distributor", 8, 7, 1),
    ] {
        let s = summary(&summaries, source);
        assert_eq!(
            (s.read, s.mapped, s.quarantined),
            (read, mapped, quarantined),
            "{source}: {s:?}"
        );
        assert!(s.errors.is_empty(), "{source}: {:?}", s.errors);
    }
    assert_eq!(golden_counts(store).await, (13, 7, 6, 2));

    // The same company from three sources, spelled three ways, is one golden record; SAP's
    // spelling wins on priority although ERPNext changed the record later.
    let mueller = customer(store, "sap", "100001").await;
    assert_eq!(
        customer(store, "erpnext", "CUST-00012").await.id,
        mueller.id
    );
    assert_eq!(customer(store, "distributor", "20411").await.id, mueller.id);
    assert_eq!(mueller.record["name"], "Müller Maschinenbau GmbH");
    assert_eq!(mueller.lineage["name"].source, "sap");
    assert_eq!(mueller.lineage["name"].key, "100001");
    assert_eq!(mueller.record["tax_id"], "DE811234567");
    assert_eq!(mueller.contributors.len(), 3);
    // The sister company at the neighbouring address, with its own VAT, stays apart.
    assert_ne!(
        customer(store, "erpnext", "CUST-00019").await.id,
        mueller.id
    );
    // A person known to two systems only by email is one customer.
    let anna = customer(store, "erpnext", "CUST-00017").await;
    assert_eq!(customer(store, "distributor", "20414").await.id, anna.id);
    assert_eq!(
        anna.record["emails"],
        serde_json::json!(["anna.schmidt@web.de"])
    );
    // `&amp;` in the IDoc survives as `&`.
    assert_eq!(
        customer(store, "distributor", "20418").await.record["name"],
        "Ateliers Dubois & Fils SARL"
    );
    // Brightwater: SAP knows it not, so ERPNext (5) beats the distributor (1).
    let brightwater = customer(store, "distributor", "20413").await;
    assert_eq!(brightwater.record["name"], "Brightwater Retail Ltd");
    assert_eq!(brightwater.lineage["name"].source, "erpnext");

    // The customer SAP deleted (MSGFN 003) is no live golden record.
    let hits = store
        .xref_lookup("sap", EntityKind::Customer, &["100008"])
        .await
        .unwrap();
    let tombstone = &hits["100008"].golden_id;
    assert!(
        store
            .load_goldens(&[tombstone.as_str()])
            .await
            .unwrap()
            .iter()
            .all(|g| g.deleted)
    );

    // Orders point at golden customers and products.
    let product = |key: &'static str| async move {
        golden_of(store, EntityKind::Product, "sap", key).await.id
    };
    let sap_order = golden_of(store, EntityKind::Order, "sap", "12001").await;
    assert_eq!(
        sap_order.record["customer_id"],
        Value::String(mueller.id.clone())
    );
    assert_eq!(
        sap_order.record["lines"][0]["product_id"],
        Value::String(product("100100").await)
    );
    assert_eq!(
        decimal(&sap_order.record["total_amount"]),
        "8540".parse().unwrap()
    );
    let erp_order = golden_of(store, EntityKind::Order, "erpnext", "SAL-ORD-2024-00041").await;
    assert_eq!(
        erp_order.record["customer_id"],
        Value::String(mueller.id.clone())
    );
    assert_eq!(
        erp_order.record["lines"][0]["product_id"],
        Value::String(product("100100").await),
        "ERPNext keeps no item master: its item code resolves as the SKU"
    );

    // BOM items point at golden products.
    let bom = golden_of(store, EntityKind::Bom, "sap", "731-01").await;
    assert_eq!(
        bom.record["product_id"],
        Value::String(product("100100").await)
    );
    let components: Vec<&Value> = bom.record["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["component_id"])
        .collect();
    let mut expected = Vec::new();
    for key in ["100200", "100300", "100400", "100500", "100600"] {
        expected.push(Value::String(product(key).await));
    }
    assert_eq!(components, expected.iter().collect::<Vec<_>>());

    // The one malformed record is quarantined with its reason; the rest was stored.
    let quarantined = store.quarantined(10).await.unwrap();
    assert_eq!(quarantined.len(), 1);
    let bad = &quarantined[0].entry;
    assert_eq!(
        (bad.source.as_str(), bad.key.as_deref()),
        ("distributor", Some("20417"))
    );
    assert!(bad.origin.ends_with("customers.csv:8"), "{}", bad.origin);
    assert!(bad.reason.contains("31.02.2024"), "{}", bad.reason);

    // Every golden record's creation is one event.
    assert_eq!(
        total_events(&summaries) as i64,
        store.counts().await.unwrap().events
    );
    assert!(
        goldens(store, EntityKind::Customer)
            .await
            .iter()
            .all(|g| !g.deleted)
    );
}

#[tokio::test]
async fn a_second_sync_of_the_quickstart_changes_nothing() {
    let db = tempfile::tempdir().unwrap();
    let config = config_with_store(quickstart(), db.path());
    let (store, _) = sync(&config, &SyncOptions::default()).await;
    let before = store.counts().await.unwrap();

    let (_, again) = sync(&config, &SyncOptions::default()).await;
    let (_, full) = sync(
        &config,
        &SyncOptions {
            full: true,
            ..SyncOptions::default()
        },
    )
    .await;
    assert_eq!(total_events(&again) + total_events(&full), 0);
    assert_eq!(
        full.iter().map(|s| s.read).sum::<u64>(),
        0,
        "every file has the content hash it was read with"
    );
    let after = store.counts().await.unwrap();
    assert_eq!(after.versions, before.versions, "no new versions");
    assert_eq!(after.events, before.events, "no new events");
    assert_eq!(after.golden, before.golden);
    let quarantined = store.quarantined(10).await.unwrap();
    assert_eq!(quarantined.len(), 1, "the same failure is kept once");
    assert_eq!(quarantined[0].times_seen, 1, "the bad row was read once");
}

#[tokio::test]
async fn tiny_batches_give_the_same_golden_records() {
    // Batches of two records: each batch is reconciled while the previous one is still being
    // committed, so matches across batches go through the pending-batch view.
    let db = tempfile::tempdir().unwrap();
    let config = config_with_store(quickstart(), db.path());
    let options = SyncOptions {
        batch_size: 2,
        ..SyncOptions::default()
    };
    let (store, summaries) = sync(&config, &options).await;
    assert_eq!(golden_counts(store.as_ref()).await, (13, 7, 6, 2));
    let mueller = customer(store.as_ref(), "sap", "100001").await;
    assert_eq!(mueller.contributors.len(), 3);
    assert_eq!(mueller.record["name"], "Müller Maschinenbau GmbH");
    assert_eq!(total_events(&summaries), 34);
    let bom = golden_of(store.as_ref(), EntityKind::Bom, "sap", "731-01").await;
    assert!(
        bom.record["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i.get("component_id").is_some())
    );
}
