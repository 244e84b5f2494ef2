//! Each of the odoo, sap-idoc and csv-drop profiles pulled end to end into a temporary store,
//! named in the config with only their URL, credentials or folder.

mod common;
#[path = "support/odoo.rs"]
mod odoo;

use common::{Project, golden_counts, golden_of, goldens, sync};
use concord::model::EntityKind;
use concord::sync::SyncOptions;
use serde_json::{Value, json};

/// An Odoo `version` database: two companies and a contact person of the first (not a customer
/// itself), three products, an order placed by the contact person, a BOM. Odoo 18 has no
/// `mobile` on partners any more; the profile still asks for it, for 16 and 17.
fn odoo_data(version: u8) -> odoo::OdooData {
    let mut data = odoo::OdooData::default();
    let partner = |id: i64, name: &str, vat: Value, country: Value, code: Value| {
        let mut partner = json!({"id": id, "name": name, "is_company": true, "vat": vat, "email": format!("sales{id}@example.com"),
               "phone": "+49 30 1234", "mobile": false, "street": "Hauptstr. 1", "street2": false,
               "zip": "10115", "city": "Berlin", "state_id": false, "country_id": country,
               "country_code": code, "active": true, "customer_rank": 2,
               "commercial_partner_id": [id, name],
               "write_date": format!("2024-05-01 08:00:0{id}")});
        if version >= 18 {
            partner.as_object_mut().unwrap().remove("mobile");
        }
        partner
    };
    let mut contact = partner(
        9,
        "Azure Interior, Anna Meier",
        json!(false),
        json!(false),
        json!(false),
    );
    contact["is_company"] = json!(false);
    contact["customer_rank"] = json!(0);
    contact["commercial_partner_id"] = json!([7, "Azure Interior"]);
    let mut types = vec![
        ("vat", "char"),
        ("street2", "char"),
        ("state_id", "many2one"),
        ("country_code", "char"),
        ("customer_rank", "integer"),
    ];
    if version < 18 {
        types.push(("mobile", "char"));
    }
    odoo::add(
        &mut data,
        "res.partner",
        vec![
            partner(
                7,
                "Azure Interior",
                json!("DE123456789"),
                json!([57, "Germany"]),
                json!("DE"),
            ),
            partner(8, "Deco Addict", json!(false), json!(false), json!(false)),
            contact,
        ],
        &types,
    );
    let product = |id: i64, code: &str, name: &str, price: f64| {
        json!({"id": id, "default_code": code, "barcode": false, "name": name, "uom_id": [1, "Units"],
               "list_price": price, "currency_id": [1, "EUR"], "type": "consu", "active": true,
               "write_date": "2024-05-01 09:00:00"})
    };
    odoo::add(
        &mut data,
        "product.product",
        vec![
            product(20, "DESK-01", "Office Desk", 450.0),
            product(21, "LEG-01", "Desk Leg", 12.5),
            product(22, "TOP-01", "Desk Top", 80.0),
        ],
        &[("barcode", "char")],
    );
    odoo::add(
        &mut data,
        "sale.order",
        vec![
            json!({"id": 30, "name": "S00030", "partner_id": [9, "Azure Interior, Anna Meier"],
                    "date_order": "2024-05-02 10:15:00", "commitment_date": false,
                    "currency_id": [1, "EUR"], "state": "sale", "amount_total": 925.0,
                    "order_line": [300, 301, 302], "write_date": "2024-05-02 10:16:00"}),
        ],
        &[("commitment_date", "datetime")],
    );
    odoo::add(
        &mut data,
        "sale.order.line",
        vec![
            json!({"id": 300, "order_id": [30, "S00030"], "sequence": 10, "product_id": [20, "[DESK-01] Office Desk"],
                   "name": "Office Desk", "product_uom_qty": 2.0, "product_uom": [1, "Units"],
                   "price_unit": 450.0, "price_subtotal": 900.0, "display_type": false}),
            json!({"id": 301, "order_id": [30, "S00030"], "sequence": 11, "product_id": false,
                   "name": "Delivery notes", "product_uom_qty": 0.0, "product_uom": false,
                   "price_unit": 0.0, "price_subtotal": 0.0, "display_type": "line_note"}),
            json!({"id": 302, "order_id": [30, "S00030"], "sequence": 12, "product_id": [21, "[LEG-01] Desk Leg"],
                   "name": "Desk Leg", "product_uom_qty": 2.0, "product_uom": [1, "Units"],
                   "price_unit": 12.5, "price_subtotal": 25.0, "display_type": false}),
        ],
        &[("display_type", "selection")],
    );
    odoo::add(
        &mut data,
        "mrp.bom",
        vec![
            json!({"id": 40, "code": "STD", "product_tmpl_id": [15, "[DESK-01] Office Desk"],
                    "product_id": [20, "[DESK-01] Office Desk"], "product_qty": 1.0,
                    "product_uom_id": [1, "Units"], "type": "normal", "active": true,
                    "bom_line_ids": [400, 401], "write_date": "2024-05-03 07:00:00"}),
        ],
        &[],
    );
    odoo::add(
        &mut data,
        "mrp.bom.line",
        vec![
            json!({"id": 400, "bom_id": [40, "STD"], "sequence": 1, "product_id": [21, "[LEG-01] Desk Leg"],
                   "product_qty": 4.0, "product_uom_id": [1, "Units"]}),
            json!({"id": 401, "bom_id": [40, "STD"], "sequence": 2, "product_id": [22, "[TOP-01] Desk Top"],
                   "product_qty": 1.0, "product_uom_id": [1, "Units"]}),
        ],
        &[],
    );
    data
}

fn odoo_project(url: &str) -> Project {
    let project = Project::new();
    project.write(
        "concord.yaml",
        &format!(
            "store: {{ url: 'sqlite://concord.db' }}\nsources:\n  - name: odoo\n    profile: odoo\n    url: '{url}'\n    database: {}\n    username: '{}'\n    password: '{}'\n",
            odoo::DB,
            odoo::LOGIN,
            odoo::PASSWORD
        ),
    );
    project
}

/// The odoo profile against an Odoo `version` server: a full pull, then an incremental one after
/// a price change, a new order and a cancelled one.
async fn the_odoo_profile_pulls_from(version: u8) {
    let (url, shared) = odoo::start(odoo_data(version)).await;
    let project = odoo_project(&url);
    let config = project.config();
    let (store, summaries) = sync(&config, &SyncOptions::default()).await;
    assert!(summaries[0].errors.is_empty(), "{:?}", summaries[0]);
    assert_eq!(summaries[0].quarantined, 0, "{:?}", summaries[0]);
    assert_eq!(
        summaries[0].reconcile.unresolved_refs, 0,
        "{:?}",
        summaries[0]
    );
    assert_eq!(golden_counts(store.as_ref()).await, (2, 3, 1, 1));
    // Odoo 18 has no `mobile`: the partners were read without it.
    let partner_fields: Vec<Value> = shared
        .lock()
        .unwrap()
        .calls
        .iter()
        .filter(|(model, method, _, kwargs)| {
            model == "res.partner"
                && method == "search_read"
                && kwargs["fields"].as_array().unwrap().len() > 2
        })
        .map(|(_, _, _, kwargs)| kwargs["fields"].clone())
        .collect();
    assert_eq!(
        partner_fields[0]
            .as_array()
            .unwrap()
            .contains(&json!("mobile")),
        version < 18
    );

    let azure = golden_of(store.as_ref(), EntityKind::Customer, "odoo", "7").await;
    assert_eq!(azure.record["name"], "Azure Interior");
    assert_eq!(azure.record["tax_id"], "DE123456789");
    assert_eq!(azure.record["customer_type"], "b2b");
    assert_eq!(azure.record["addresses"][0]["country"], "DE");
    let deco = golden_of(store.as_ref(), EntityKind::Customer, "odoo", "8").await;
    assert_eq!(deco.record.get("tax_id"), None, "Odoo's false is no tax id");

    let order = golden_of(store.as_ref(), EntityKind::Order, "odoo", "30").await;
    assert_eq!(order.record["order_number"], "S00030");
    assert_eq!(
        order.record["customer_id"],
        json!(azure.id),
        "an order placed by a contact person is linked to its company"
    );
    assert_eq!(order.record["order_date"], "2024-05-02");
    let lines = order.record["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "the note line is left out: {lines:?}");
    let desk = golden_of(store.as_ref(), EntityKind::Product, "odoo", "20").await;
    let leg = golden_of(store.as_ref(), EntityKind::Product, "odoo", "21").await;
    assert_eq!(desk.record["sku"], "DESK-01");
    assert_eq!(desk.record["unit"], "pc");
    assert_eq!(lines[0]["product_id"], json!(desk.id));
    assert_eq!(lines[1]["product_id"], json!(leg.id));
    assert_eq!(
        lines[0]["quantity"], "2.0",
        "Odoo sends floats; kept as the decimal written"
    );

    let bom = golden_of(store.as_ref(), EntityKind::Bom, "odoo", "40").await;
    assert_eq!(bom.record["product_id"], json!(desk.id));
    let top = golden_of(store.as_ref(), EntityKind::Product, "odoo", "22").await;
    let items = bom.record["items"].as_array().unwrap();
    let components: Vec<&Value> = items.iter().map(|i| &i["component_id"]).collect();
    assert_eq!(
        components,
        [&json!(leg.id), &json!(top.id)],
        "BOM items linked to products"
    );
    let events_before = store.events(0, 10_000).await.unwrap().len();

    // A price change, a new order by Deco Addict, and order S00030 cancelled.
    {
        let mut data = shared.lock().unwrap();
        let products = data.models.get_mut("product.product").unwrap();
        products[1]["list_price"] = json!(13.9);
        products[1]["write_date"] = json!("2024-06-01 09:00:00");
        let orders = data.models.get_mut("sale.order").unwrap();
        orders[0]["state"] = json!("cancel");
        orders[0]["write_date"] = json!("2024-06-01 10:00:00");
        let mut new_order = orders[0].clone();
        new_order["id"] = json!(31);
        new_order["name"] = json!("S00031");
        new_order["state"] = json!("sale");
        new_order["partner_id"] = json!([8, "Deco Addict"]);
        new_order["write_date"] = json!("2024-06-01 11:00:00");
        orders.push(new_order);
        let lines = data.models.get_mut("sale.order.line").unwrap();
        let mut line = lines[0].clone();
        line["id"] = json!(310);
        line["order_id"] = json!([31, "S00031"]);
        lines.push(line);
    }
    let (_again, summaries) = sync(&config, &SyncOptions::default()).await;
    let summary = &summaries[0];
    assert!(summary.errors.is_empty(), "{summary:?}");
    assert_eq!(summary.reconcile.updated, 1, "{summary:?}");
    assert_eq!(summary.reconcile.created, 1, "{summary:?}");
    assert_eq!(summary.reconcile.deleted, 1, "{summary:?}");
    assert_eq!(golden_counts(store.as_ref()).await, (2, 3, 1, 1));
    let leg = golden_of(store.as_ref(), EntityKind::Product, "odoo", "21").await;
    assert_eq!(leg.record["list_price"], "13.9");
    let new_order = golden_of(store.as_ref(), EntityKind::Order, "odoo", "31").await;
    assert_eq!(new_order.record["customer_id"], json!(deco.id));
    assert_eq!(new_order.record["lines"][0]["product_id"], json!(desk.id));
    let events: Vec<(String, String)> = store.events(0, 10_000).await.unwrap()[events_before..]
        .iter()
        .map(|e| {
            (
                format!("{}.{}", e.event.entity.as_str(), e.event.operation.as_str()),
                e.event.golden_id.clone(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("product.updated".to_string(), leg.id.clone()),
            ("order.deleted".to_string(), order.id.clone()),
            ("order.created".to_string(), new_order.id.clone()),
        ]
    );
}

#[tokio::test]
async fn the_odoo_profile_reads_odoo_16() {
    the_odoo_profile_pulls_from(16).await;
}

#[tokio::test]
async fn the_odoo_profile_reads_odoo_17() {
    the_odoo_profile_pulls_from(17).await;
}

#[tokio::test]
async fn the_odoo_profile_reads_odoo_18() {
    the_odoo_profile_pulls_from(18).await;
}

/// The user may not read sales orders: the orders model fails, the BOMs after it are read, and
/// the run fails at its end naming the model.
#[tokio::test]
async fn a_model_the_user_may_not_read_does_not_stop_the_next_model() {
    let mut data = odoo_data(17);
    data.forbidden.push("sale.order".into());
    let (url, _shared) = odoo::start(data).await;
    let config = odoo_project(&url).config();
    let pipeline = concord::sync::Pipeline::compile(config.clone()).unwrap();
    let store = concord::store::open(&config.store_url()).await.unwrap();
    let error = pipeline
        .sync(
            store.as_ref(),
            &SyncOptions::default(),
            &concord::sync::NoProgress,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("stream `orders`"), "{error}");
    assert!(error.contains("AccessError"), "{error}");
    assert_eq!(golden_counts(store.as_ref()).await, (2, 3, 0, 1));
}

/// The quickstart's SAP IDoc files copied into a project.
fn idoc_project(source: &str) -> Project {
    let project = Project::new();
    let from =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart/inbound/sap");
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        project.write(
            &format!("inbound/{name}"),
            &std::fs::read_to_string(&path).unwrap(),
        );
    }
    project.write(
        "concord.yaml",
        &format!("store: {{ url: 'sqlite://concord.db' }}\nsources:\n{source}"),
    );
    project
}

#[tokio::test]
async fn the_sap_idoc_profile_reads_what_the_hand_written_source_reads() {
    let with_profile =
        idoc_project("  - name: sap\n    profile: sap-idoc\n    files: 'inbound/*.xml'\n");
    let (store, _) = sync(&with_profile.config(), &SyncOptions::default()).await;
    let repo = env!("CARGO_MANIFEST_DIR");
    let by_hand = idoc_project(&format!(
        "  - name: sap\n    driver: idoc\n    files: 'inbound/*.xml'\n    mappings: ['{repo}/mappings/sap-idoc/debmas.yaml', '{repo}/mappings/sap-idoc/matmas.yaml', '{repo}/mappings/sap-idoc/orders05.yaml', '{repo}/mappings/sap-idoc/bommat.yaml']\n"
    ));
    let (reference, _) = sync(&by_hand.config(), &SyncOptions::default()).await;

    let counts = golden_counts(store.as_ref()).await;
    assert_eq!(counts, golden_counts(reference.as_ref()).await);
    let (customers, products, orders, boms) = counts;
    assert!(
        customers > 0 && products > 0 && orders > 0 && boms > 0,
        "{counts:?}"
    );

    let customer_ids: Vec<String> = goldens(store.as_ref(), EntityKind::Customer)
        .await
        .into_iter()
        .map(|g| g.id)
        .collect();
    let product_ids: Vec<String> = goldens(store.as_ref(), EntityKind::Product)
        .await
        .into_iter()
        .map(|g| g.id)
        .collect();
    let linked_orders = goldens(store.as_ref(), EntityKind::Order)
        .await
        .iter()
        .filter(|o| {
            o.record["customer_id"]
                .as_str()
                .is_some_and(|id| customer_ids.iter().any(|c| c == id))
        })
        .count();
    assert!(linked_orders > 0, "orders linked to customers");
    let linked_items = goldens(store.as_ref(), EntityKind::Bom)
        .await
        .iter()
        .flat_map(|b| b.record["items"].as_array().cloned().unwrap_or_default())
        .filter(|i| {
            i["component_id"]
                .as_str()
                .is_some_and(|id| product_ids.iter().any(|p| p == id))
        })
        .count();
    assert!(linked_items > 0, "BOM items linked to products");
}

#[tokio::test]
async fn the_csv_drop_profile_archives_stored_files_and_rejects_unreadable_ones() {
    let project = Project::new();
    project.write(
        "concord.yaml",
        "store: { url: 'sqlite://concord.db' }\nsources:\n  - name: shop\n    profile: csv-drop\n    folder: drop\n",
    );
    project.write(
        "drop/customers-0501.csv",
        "customer_id,name,customer_type,tax_id,email,phone,street,postal_code,city,country,changed_at\n\
         C-1,Müller GmbH,company,DE811111111,info@mueller.de;Sales@Mueller.de,030 111,Hauptstr. 1,10115,Berlin,Germany,2024-05-01 08:00:00\n\
         C-2,Jane Roe,person,,jane@example.com,,Elm St 5,02134,Boston,US,2024-05-01T09:00:00Z\n\
         C-3,,company,,,,,,,DE,\n",
    );
    project.write("drop/broken.csv", "customer_id,name,name\nC-9,X,Y\n");
    let config = project.config();
    let (store, summaries) = sync(&config, &SyncOptions::default()).await;
    assert_eq!(golden_counts(store.as_ref()).await.0, 2);
    let mueller = golden_of(store.as_ref(), EntityKind::Customer, "shop", "C-1").await;
    assert_eq!(
        mueller.record["emails"],
        json!(["info@mueller.de", "sales@mueller.de"])
    );
    assert_eq!(mueller.record["customer_type"], "b2b");
    assert_eq!(mueller.record["addresses"][0]["country"], "DE");
    assert_eq!(
        summaries[0].quarantined, 2,
        "the row without a name and the broken file"
    );

    let quarantine = store.quarantined(10).await.unwrap();
    let reasons: Vec<String> = quarantine.iter().map(|q| q.entry.reason.clone()).collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("broken.csv:1: column `name` appears twice")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("field `name` is required")),
        "{reasons:?}"
    );

    // The file with a quarantined row (C-3) is rejected once its good rows are stored (issue 13.9).
    assert!(!project.path("drop/customers-0501.csv").exists());
    assert!(project.path("drop/rejected/customers-0501.csv").exists());
    assert!(project.path("drop/rejected/broken.csv").exists());

    // A new file under the same name is read on the next run and archived.
    project.write(
        "drop/customers-0501.csv",
        "customer_id,name,email,changed_at\nC-4,Neu AG,neu@ag.de,2024-05-02 08:00:00\n",
    );
    let (store, _) = sync(&config, &SyncOptions::default()).await;
    assert_eq!(golden_counts(store.as_ref()).await.0, 3);
    assert!(project.path("drop/archive/customers-0501.csv").exists());
}
