//! The ready HTTP profiles (`connectors/erpnext.yaml`, `sap-s4hana-odata.yaml`,
//! `dynamics365-bc.yaml`) and their mappings, on responses shaped exactly like the real APIs'
//! (`tests/fixtures/<profile>/`): every record of every stream maps, nothing is quarantined, and
//! orders and BOMs reference customers and products by the keys those mappings give them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use concord::mapping::{MapOutcome, MappingSet};
use concord::model::RawRecord;
use concord::model::{Canonical, SourceRecord};
use serde_json::Value;

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A profile file as YAML: its `source.mappings` and, per stream, its `records` selector.
struct Profile {
    mappings: Vec<PathBuf>,
    streams: BTreeMap<String, String>,
}

fn profile(name: &str) -> Profile {
    let text = std::fs::read_to_string(repo(&format!("connectors/{name}.yaml"))).expect("profile");
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("profile is YAML");
    assert_eq!(yaml["profile"].as_str(), Some(name));
    let source = &yaml["source"];
    assert_eq!(source["driver"].as_str(), Some("http"));
    let mappings = source["mappings"]
        .as_sequence()
        .expect("mappings")
        .iter()
        .map(|m| repo(m.as_str().expect("mapping path")))
        .collect();
    let streams = source["streams"]
        .as_sequence()
        .expect("streams")
        .iter()
        .map(|s| {
            let name = s["name"].as_str().expect("stream name").to_string();
            let records = s["records"].as_str().expect("records").to_string();
            (name, records)
        })
        .collect();
    Profile { mappings, streams }
}

/// The records of a fixture response, selected with the stream's `records` JSONPath.
fn records(fixture: &str, selector: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(repo(fixture)).expect("fixture");
    let page: Value = serde_json::from_str(&text).expect("fixture is JSON");
    let envelope = match selector {
        "$.data[*]" => &page["data"],
        "$.d.results[*]" => &page["d"]["results"],
        "$.value[*]" => &page["value"],
        other => panic!("no test envelope for {other}"),
    };
    envelope.as_array().expect("records array").clone()
}

/// Maps every record of every stream; any record that does not map fails the test.
fn map_profile(name: &str, fixtures: &[(&str, &str)]) -> Vec<SourceRecord> {
    let profile = profile(name);
    let set = MappingSet::load(&profile.mappings).expect("mappings compile");
    let mut mapped = Vec::new();
    for (stream, file) in fixtures {
        let selector = &profile.streams[*stream];
        let stream_name: Arc<str> = Arc::from(*stream);
        for (n, payload) in records(file, selector).into_iter().enumerate() {
            let raw = RawRecord {
                origin: format!("{file}#{n}"),
                payload,
                stream: Some(Arc::clone(&stream_name)),
            };
            match set.map(name, &raw) {
                MapOutcome::Mapped(record) => mapped.push(record),
                other => panic!("{stream} record {n} of {file}: {other:?}"),
            }
        }
    }
    mapped
}

fn keys<'a>(records: &'a [SourceRecord], kind: &str) -> BTreeSet<&'a str> {
    records
        .iter()
        .filter(|r| r.record.kind().as_str() == kind)
        .map(|r| r.key.as_str())
        .collect()
}

fn find<'a>(records: &'a [SourceRecord], key: &str) -> &'a Canonical {
    &records
        .iter()
        .find(|r| r.key == key)
        .unwrap_or_else(|| panic!("no record {key}"))
        .record
}

/// Every order's customer and lines, and every BOM's product and items, name a mapped record.
fn assert_references_resolve(records: &[SourceRecord]) {
    let customers = keys(records, "customer");
    let products = keys(records, "product");
    for record in records {
        match &record.record {
            Canonical::Order(order) => {
                let customer = order.customer_ref.as_deref().expect("customer_ref");
                assert!(customers.contains(customer), "{}: {customer}", record.key);
                assert!(!order.lines.is_empty(), "{} has lines", record.key);
                for line in &order.lines {
                    if let Some(product) = line.product_ref.as_deref() {
                        assert!(products.contains(product), "{}: {product}", record.key);
                    }
                }
            }
            Canonical::Bom(bom) => {
                let product = bom.product_ref.as_deref().expect("product_ref");
                assert!(products.contains(product), "{}: {product}", record.key);
                assert!(!bom.items.is_empty(), "{} has items", record.key);
                for item in &bom.items {
                    let component = item.component_ref.as_deref().expect("component_ref");
                    assert!(products.contains(component), "{}: {component}", record.key);
                }
            }
            Canonical::Customer(_) | Canonical::Product(_) => {}
        }
    }
}

#[test]
fn erpnext_resource_api_records_map() {
    let records = map_profile(
        "erpnext",
        &[
            ("customers", "tests/fixtures/erpnext/customer.json"),
            ("items", "tests/fixtures/erpnext/item.json"),
            ("sales_orders", "tests/fixtures/erpnext/sales_order.json"),
            ("boms", "tests/fixtures/erpnext/bom.json"),
        ],
    );
    assert_eq!(records.len(), 3 + 4 + 2 + 1);
    assert_references_resolve(&records);
    let Canonical::Customer(mueller) = find(&records, "CUST-00012") else {
        panic!("customer")
    };
    assert_eq!(mueller.name.as_deref(), Some("Mueller Maschinenbau GmbH"));
    assert_eq!(mueller.tax_id.as_deref(), Some("DE 123 456 789"));
    assert_eq!(mueller.emails, ["einkauf@mueller-maschinenbau.de"]);
    assert_eq!(mueller.status.as_deref(), Some("active"));
    let Canonical::Customer(nordlicht) = find(&records, "CUST-00014") else {
        panic!("customer")
    };
    assert_eq!(nordlicht.status.as_deref(), Some("disabled"));
    let Canonical::Product(pump) = find(&records, "100100") else {
        panic!("product")
    };
    assert_eq!(pump.unit.as_deref(), Some("pc"));
    assert_eq!(
        pump.list_price.map(|p| p.to_string()).as_deref(),
        Some("1950.0")
    );
    let Canonical::Order(order) = find(&records, "SAL-ORD-2024-00041") else {
        panic!("order")
    };
    assert_eq!(order.lines.len(), 2);
    assert_eq!(order.lines[1].product_ref.as_deref(), Some("100500"));
    assert_eq!(
        order.total_amount.map(|a| a.to_string()).as_deref(),
        Some("5099.15")
    );
    let Canonical::Bom(bom) = find(&records, "BOM-100100-001") else {
        panic!("bom")
    };
    assert_eq!(
        bom.items[1].quantity.map(|q| q.to_string()).as_deref(),
        Some("4.0")
    );
    let changed = records[0].changed_at.expect("changed_at").to_rfc3339();
    assert_eq!(changed, "2024-05-13T12:55:02.118+00:00");
}

#[test]
fn sap_s4hana_odata_v2_records_map() {
    let records = map_profile(
        "sap-s4hana-odata",
        &[
            (
                "business_partners",
                "tests/fixtures/sap-s4hana-odata/business_partner.json",
            ),
            ("products", "tests/fixtures/sap-s4hana-odata/product.json"),
            (
                "sales_orders",
                "tests/fixtures/sap-s4hana-odata/sales_order.json",
            ),
            ("boms", "tests/fixtures/sap-s4hana-odata/bom.json"),
        ],
    );
    assert_eq!(records.len(), 3 + 4 + 2 + 1);
    assert_references_resolve(&records);
    let Canonical::Customer(mueller) = find(&records, "17100001") else {
        panic!("customer")
    };
    assert_eq!(mueller.tax_id.as_deref(), Some("DE123456789"));
    assert_eq!(mueller.phones, ["+49 711 4711-0"]);
    assert_eq!(mueller.addresses[0].city.as_deref(), Some("Stuttgart"));
    assert_eq!(mueller.addresses[0].house_number.as_deref(), Some("12"));
    let Canonical::Customer(anna) = find(&records, "17100003") else {
        panic!("customer")
    };
    assert_eq!(anna.given_name.as_deref(), Some("Anna"));
    // Never changed: the creation date stands in for the change date.
    let nordlicht = records.iter().find(|r| r.key == "17100002").expect("bp");
    assert_eq!(
        nordlicht.changed_at.expect("changed_at").to_rfc3339(),
        "2024-03-05T08:50:00+00:00"
    );
    let Canonical::Customer(blocked) = &nordlicht.record else {
        panic!("customer")
    };
    assert_eq!(blocked.status.as_deref(), Some("blocked"));
    let Canonical::Product(pump) = find(&records, "100100") else {
        panic!("product")
    };
    assert_eq!(
        pump.name.as_deref(),
        Some("Centrifugal pump KP-50 complete")
    );
    assert_eq!(pump.gtin.as_deref(), Some("4006381333931"));
    let Canonical::Product(casing) = find(&records, "200010") else {
        panic!("product")
    };
    assert_eq!(casing.name.as_deref(), Some("Pump casing GG-25"));
    let sealant = records.iter().find(|r| r.key == "900001").expect("product");
    assert!(
        sealant.deleted,
        "IsMarkedForDeletion marks the product deleted"
    );
    let Canonical::Order(order) = find(&records, "5000041") else {
        panic!("order")
    };
    assert_eq!(
        order.order_date.map(|d| d.to_string()).as_deref(),
        Some("2024-05-13")
    );
    assert_eq!(
        order.delivery_date.map(|d| d.to_string()).as_deref(),
        Some("2024-05-31")
    );
    assert_eq!(order.lines[0].position.as_deref(), Some("10"));
    assert_eq!(order.lines[0].unit.as_deref(), Some("pc"));
    let Canonical::Bom(bom) = find(&records, "731-01") else {
        panic!("bom")
    };
    assert_eq!(bom.variant.as_deref(), Some("1/01"));
    assert_eq!(
        bom.valid_from.map(|d| d.to_string()).as_deref(),
        Some("2024-02-01")
    );
    assert_eq!(bom.items[0].position.as_deref(), Some("10"));
}

#[test]
fn dynamics365_bc_api_v2_records_map() {
    let records = map_profile(
        "dynamics365-bc",
        &[
            ("customers", "tests/fixtures/dynamics365-bc/customer.json"),
            ("items", "tests/fixtures/dynamics365-bc/item.json"),
            (
                "sales_orders",
                "tests/fixtures/dynamics365-bc/sales_order.json",
            ),
        ],
    );
    assert_eq!(records.len(), 3 + 3 + 2);
    assert_references_resolve(&records);
    let Canonical::Customer(anna) = find(&records, "2c0c8a3e-5b7d-ef11-9f8a-6045bde9c0a2") else {
        panic!("customer")
    };
    assert_eq!(
        anna.addresses[0].street.as_deref(),
        Some("Lindenweg 3a 2. OG")
    );
    assert_eq!(anna.status.as_deref(), Some("active"));
    assert_eq!(anna.customer_number.as_deref(), Some("20000"));
    let Canonical::Customer(nordlicht) = find(&records, "2c0c8a3e-5b7d-ef11-9f8a-6045bde9c0a3")
    else {
        panic!("customer")
    };
    assert_eq!(nordlicht.status.as_deref(), Some("blocked"));
    let Canonical::Product(service) = find(&records, "5d2e7f40-5b7d-ef11-9f8a-6045bde9c0b3") else {
        panic!("product")
    };
    assert_eq!(service.unit.as_deref(), Some("h"));
    assert_eq!(service.product_type.as_deref(), Some("service"));
    let Canonical::Order(order) = find(&records, "a1b2c3d4-5b7d-ef11-9f8a-6045bde90101") else {
        panic!("order")
    };
    assert_eq!(order.lines.len(), 3);
    assert_eq!(order.order_number.as_deref(), Some("101005"));
    assert_eq!(
        order.lines[2].product_ref, None,
        "a comment line names no product"
    );
    let Canonical::Order(draft) = find(&records, "a1b2c3d4-5b7d-ef11-9f8a-6045bde90102") else {
        panic!("order")
    };
    assert_eq!(draft.delivery_date, None, "0001-01-01 is a blank date");
    assert_eq!(
        draft.currency, None,
        "an empty currency code is the local currency"
    );
}

/// The same SAP BOM read as a BOMMAT IDoc (STLAL `01`) and from S/4HANA's OData API (variant `1`)
/// gets one key and one variant, so both sources land on one golden record.
#[test]
fn an_sap_bom_has_one_key_from_idoc_and_from_odata() {
    let idoc = MappingSet::load(&[repo("mappings/sap-idoc/bommat.yaml")]).expect("compiles");
    let payload: Value = serde_json::json!({
        "EDI_DC40": {"DOCNUM": "0000000000481330", "MESTYP": "BOMMAT", "IDOCTYP": "BOMMAT04",
                     "CREDAT": "20240201", "CRETIM": "101500"},
        "E1STZUM": {
            "MSGFN": "005", "STLNR": "00000731", "STLAL": "01", "STLAN": "1",
            "E1MASTM": {"MATNR": "000000000000100100", "WERKS": "1000"},
            "E1STKOM": {"BMENG": "1.000", "BMEIN": "ST", "DATUV": "20240201"},
            "E1STPOM": [{"POSNR": "0010", "IDNRK": "000000000000100200", "MENGE": "1.000", "MEINS": "ST"}]
        }
    });
    let raw = RawRecord {
        origin: "bommat.xml#1".into(),
        payload,
        stream: None,
    };
    let MapOutcome::Mapped(from_idoc) = idoc.map("sap", &raw) else {
        panic!("the IDoc maps")
    };
    let odata = map_profile(
        "sap-s4hana-odata",
        &[("boms", "tests/fixtures/sap-s4hana-odata/bom.json")],
    );
    let from_odata = odata
        .iter()
        .find(|r| r.key == from_idoc.key)
        .unwrap_or_else(|| panic!("no OData BOM keyed {}", from_idoc.key));
    assert_eq!(from_idoc.key, "731-01");
    let (Canonical::Bom(a), Canonical::Bom(b)) = (&from_idoc.record, &from_odata.record) else {
        panic!("BOMs")
    };
    assert_eq!(a.variant, b.variant);
    assert_eq!(a.product_ref, b.product_ref);
}
