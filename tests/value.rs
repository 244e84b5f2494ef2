//! Customer value and lifecycle on a hand-computed order history, on both engines: revenue per
//! currency, order counts, first and last orders, average order value, 80/20 tiers (with a rate
//! for USD and GBP left out for want of one), lifecycle stages with churn, and exactly the tier
//! and stage events a second pass's new order and passing time cause, with their data.

#[path = "store/backend.rs"]
mod backend;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use concord::model::EntityKind;
use concord::publish::{BusConfig, cloudevents};
use concord::schema::event_schema;
use concord::store::{
    Batch, EventWrite, Fields, GoldenWrite, MatchWrites, MergeWrite, Operation, Store, StoredEvent,
};
use concord::value::{CustomerValue, Stage, Tier, ValueConfig, refresh};

use backend::on_both;

fn fields(value: Value) -> Fields {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn noon(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

fn date(text: &str) -> Option<NaiveDate> {
    Some(text.parse().unwrap())
}

fn amounts(pairs: &[(&str, &str)]) -> BTreeMap<String, Decimal> {
    pairs
        .iter()
        .map(|(c, a)| (c.to_string(), a.parse().unwrap()))
        .collect()
}

fn golden(id: &str, entity: EntityKind, version: i64, record: Value, deleted: bool) -> GoldenWrite {
    GoldenWrite {
        id: id.into(),
        entity,
        version,
        record: fields(record),
        lineage: Default::default(),
        deleted,
        changed: Vec::new(),
    }
}

fn created(id: &str, version: i64) -> EventWrite {
    EventWrite {
        event_id: format!("ev-{id}-{version}"),
        entity: EntityKind::Customer,
        operation: if version == 1 {
            Operation::Created
        } else {
            Operation::Updated
        },
        golden_id: id.into(),
        version,
        merged: Vec::new(),
        at: noon(2024, 1, 1),
    }
}

fn order(id: &str, customer: &str, day: &str, currency: &str, total: &str) -> GoldenWrite {
    golden(
        id,
        EntityKind::Order,
        1,
        json!({"order_number": id, "customer_id": customer, "order_date": day, "currency": currency, "total_amount": total}),
        false,
    )
}

/// Five customers with orders, one without; `cus_g` updated once so its current version is 2.
async fn history(store: &dyn Store) {
    let run_id = store.begin_run("erp", false).await.unwrap();
    let mut goldens = Vec::new();
    let mut events = Vec::new();
    for id in ["cus_a", "cus_b", "cus_c", "cus_d", "cus_e", "cus_g"] {
        goldens.push(golden(
            id,
            EntityKind::Customer,
            1,
            json!({"name": id}),
            false,
        ));
        events.push(created(id, 1));
    }
    goldens.extend([
        // A: 6000 EUR in four orders, ordering every 159 days on average, last 60 days ago.
        order("ord_a1", "cus_a", "2024-01-10", "EUR", "3000.00"),
        order("ord_a2", "cus_a", "2024-04-10", "EUR", "1000.00"),
        order("ord_a3", "cus_a", "2024-07-10", "EUR", "1000.00"),
        order("ord_a4", "cus_a", "2025-05-01", "EUR", "1000.00"),
        // B: 2000 EUR, last order 455 days ago.
        order("ord_b1", "cus_b", "2024-02-01", "EUR", "500.00"),
        order("ord_b2", "cus_b", "2024-03-01", "EUR", "500.00"),
        order("ord_b3", "cus_b", "2024-04-01", "EUR", "1000.00"),
        // C: 1000 USD (900 EUR at 0.9) in two orders: fewer than three.
        order("ord_c1", "cus_c", "2024-09-01", "USD", "400.00"),
        order("ord_c2", "cus_c", "2024-10-01", "USD", "600.00"),
        // D: 1000 EUR monthly, then silent for 211 days.
        order("ord_d1", "cus_d", "2024-10-01", "EUR", "400.00"),
        order("ord_d2", "cus_d", "2024-11-01", "EUR", "300.00"),
        order("ord_d3", "cus_d", "2024-12-01", "EUR", "300.00"),
        // G: a first order 46 days ago, and one in GBP, which has no rate.
        order("ord_g1", "cus_g", "2025-05-15", "EUR", "100.00"),
        order("ord_g2", "cus_g", "2025-06-01", "GBP", "50.00"),
        // Deleted: counts nowhere.
        golden(
            "ord_a9",
            EntityKind::Order,
            2,
            json!({"customer_id": "cus_a", "order_date": "2025-06-01", "currency": "EUR", "total_amount": "9999.00"}),
            true,
        ),
        // Not linked to a customer: valued for nobody.
        golden(
            "ord_x1",
            EntityKind::Order,
            1,
            json!({"customer_ref": "999", "order_date": "2025-06-01", "currency": "EUR", "total_amount": "5.00"}),
            false,
        ),
    ]);
    let mut renamed = golden(
        "cus_g",
        EntityKind::Customer,
        2,
        json!({"name": "G GmbH"}),
        false,
    );
    renamed.changed = vec!["name".into()];
    goldens.push(renamed);
    events.push(created("cus_g", 2));
    let batch = Batch {
        run_id,
        source: "erp".into(),
        goldens,
        events,
        ..Batch::default()
    };
    store.commit(&batch).await.expect("history commits");
}

fn config() -> ValueConfig {
    ValueConfig {
        rates: amounts(&[("USD", "0.9")]),
        ..ValueConfig::default()
    }
}

#[allow(clippy::too_many_arguments)]
fn value(
    id: &str,
    tier: Tier,
    stage: Stage,
    order_count: i64,
    first: &str,
    last: &str,
    revenue: &[(&str, &str)],
    average: &[(&str, &str)],
) -> CustomerValue {
    CustomerValue {
        golden_id: id.into(),
        tier,
        stage,
        order_count,
        first_order: date(first),
        last_order: date(last),
        revenue: amounts(revenue),
        average_order_value: amounts(average),
    }
}

fn expected_first_pass() -> Vec<CustomerValue> {
    vec![
        value(
            "cus_a",
            Tier::Platinum,
            Stage::Stable,
            4,
            "2024-01-10",
            "2025-05-01",
            &[("EUR", "6000.00")],
            &[("EUR", "1500.00")],
        ),
        value(
            "cus_b",
            Tier::Gold,
            Stage::Churned,
            3,
            "2024-02-01",
            "2024-04-01",
            &[("EUR", "2000.00")],
            &[("EUR", "666.67")],
        ),
        value(
            "cus_c",
            Tier::Iron,
            Stage::Formation,
            2,
            "2024-09-01",
            "2024-10-01",
            &[("USD", "1000.00")],
            &[("USD", "500.00")],
        ),
        value(
            "cus_d",
            Tier::Iron,
            Stage::Decline,
            3,
            "2024-10-01",
            "2024-12-01",
            &[("EUR", "1000.00")],
            &[("EUR", "333.33")],
        ),
        CustomerValue {
            golden_id: "cus_e".into(),
            tier: Tier::Lead,
            stage: Stage::Prospect,
            order_count: 0,
            first_order: None,
            last_order: None,
            revenue: BTreeMap::new(),
            average_order_value: BTreeMap::new(),
        },
        value(
            "cus_g",
            Tier::Lead,
            Stage::Formation,
            2,
            "2025-05-15",
            "2025-06-01",
            &[("EUR", "100.00"), ("GBP", "50.00")],
            &[("EUR", "100.00"), ("GBP", "50.00")],
        ),
    ]
}

/// The value events in the outbox, as `(operation, golden ID, version, from, to)`.
fn changes(events: &[StoredEvent]) -> Vec<(Operation, String, i64, Value, Value)> {
    events
        .iter()
        .filter_map(|e| {
            let detail = e.event.detail.as_ref()?;
            let key = match e.event.operation {
                Operation::TierChanged => "tier",
                Operation::StageChanged => "stage",
                _ => return None,
            };
            Some((
                e.event.operation,
                e.event.golden_id.clone(),
                e.event.version,
                detail[key]["from"].clone(),
                detail[key]["to"].clone(),
            ))
        })
        .collect()
}

fn change(
    op: Operation,
    id: &str,
    version: i64,
    from: Value,
    to: &str,
) -> (Operation, String, i64, Value, Value) {
    (op, id.into(), version, from, json!(to))
}

async fn first_pass_values_every_customer_with_one_event_per_tier_and_stage(store: &dyn Store) {
    history(store).await;
    let pass = refresh(store, &config(), noon(2025, 6, 30), false)
        .await
        .unwrap();
    assert_eq!(
        pass.currency.as_deref(),
        Some("EUR"),
        "the currency most orders are in"
    );
    assert_eq!(
        pass.notes,
        vec![
            "revenue in GBP is left out of tiering: no rate into EUR under value.rates".to_string()
        ]
    );
    assert_eq!(
        store.customer_values(None).await.unwrap(),
        expected_first_pass()
    );

    // Each departure from what a new customer is (lead, prospect); E has no orders: no event.
    let before = store.events(0, 1000).await.unwrap();
    let (tier, stage) = (Operation::TierChanged, Operation::StageChanged);
    let (lead, prospect) = (json!("lead"), json!("prospect"));
    assert_eq!(
        changes(&before),
        vec![
            change(tier, "cus_a", 1, lead.clone(), "platinum"),
            change(stage, "cus_a", 1, prospect.clone(), "stable"),
            change(tier, "cus_b", 1, lead.clone(), "gold"),
            change(stage, "cus_b", 1, prospect.clone(), "churned"),
            change(tier, "cus_c", 1, lead.clone(), "iron"),
            change(stage, "cus_c", 1, prospect.clone(), "formation"),
            change(tier, "cus_d", 1, lead.clone(), "iron"),
            change(stage, "cus_d", 1, prospect.clone(), "decline"),
            change(stage, "cus_g", 2, prospect.clone(), "formation"),
        ]
    );
    // The same day again: nothing changed, nothing written, nothing announced.
    let again = refresh(store, &config(), noon(2025, 6, 30), false)
        .await
        .unwrap();
    assert_eq!((again.values_written, again.events), (0, 0));
    assert_eq!(store.events(0, 1000).await.unwrap().len(), before.len());
}

async fn a_new_order_changes_a_tier_and_time_churns_a_customer(store: &dyn Store) {
    history(store).await;
    refresh(store, &config(), noon(2025, 6, 30), false)
        .await
        .unwrap();
    let last_seq = store.events(0, 1000).await.unwrap().last().unwrap().seq;

    // G orders 1900 EUR: 2000 EUR ranks it second among 11,900 (before it 8000, under 80%).
    // By 15 October C has not ordered for 379 days: churned. D, silent 318 days, is not yet.
    let run_id = store.begin_run("erp", false).await.unwrap();
    let batch = Batch {
        run_id,
        source: "erp".into(),
        goldens: vec![order("ord_g3", "cus_g", "2025-07-01", "EUR", "1900.00")],
        ..Batch::default()
    };
    store.commit(&batch).await.unwrap();
    let pass = refresh(store, &config(), noon(2025, 10, 15), false)
        .await
        .unwrap();
    assert_eq!(pass.events, 2);

    let new = store.events(last_seq, 100).await.unwrap();
    let (tier, stage) = (Operation::TierChanged, Operation::StageChanged);
    assert_eq!(
        changes(&new),
        vec![
            change(stage, "cus_c", 1, json!("formation"), "churned"),
            change(tier, "cus_g", 2, json!("lead"), "gold"),
        ]
    );
    let mut expected = expected_first_pass();
    expected[2].stage = Stage::Churned;
    expected[5] = value(
        "cus_g",
        Tier::Gold,
        Stage::Formation,
        3,
        "2025-05-15",
        "2025-07-01",
        &[("EUR", "2000.00"), ("GBP", "50.00")],
        &[("EUR", "1000.00"), ("GBP", "50.00")],
    );
    assert_eq!(store.customer_values(None).await.unwrap(), expected);
    assert_eq!(
        store.customer_values(Some(&["cus_g"])).await.unwrap(),
        vec![expected[5].clone()]
    );

    // The tier event as published: the customer's current record, the change and its figures,
    // valid against its type's schema.
    let tier_event = new.iter().find(|e| e.event.operation == tier).unwrap();
    let message = cloudevents::encode(&tier_event.event, &BusConfig::new("amqp://x"));
    assert_eq!(message.routing_key, "customer.tier_changed");
    let body: Value = serde_json::from_slice(&message.body).unwrap();
    assert_eq!(body["type"], "com.concord.customer.tier_changed");
    assert_eq!(body["subject"], "cus_g");
    assert_eq!(body["recordversion"], 2);
    assert_eq!(body["data"]["record"], json!({"name": "G GmbH"}));
    assert_eq!(
        body["data"]["changed"],
        json!([]),
        "the record did not change"
    );
    assert_eq!(body["data"]["sources"], json!({}));
    assert_eq!(body["data"]["tier"], json!({"from": "lead", "to": "gold"}));
    assert_eq!(
        body["data"]["value"],
        json!({
            "golden_id": "cus_g", "tier": "gold", "stage": "formation", "order_count": 3,
            "first_order": "2025-05-15", "last_order": "2025-07-01",
            "revenue": {"EUR": "2000.00", "GBP": "50.00"},
            "average_order_value": {"EUR": "1000.00", "GBP": "50.00"}
        })
    );
    for event in &new {
        let schema = event_schema(EntityKind::Customer, event.event.operation);
        let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
        let message = cloudevents::encode(&event.event, &BusConfig::new("amqp://x"));
        let body: Value = serde_json::from_slice(&message.body).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
}

async fn a_dry_run_writes_nothing_and_deleted_customers_lose_their_value(store: &dyn Store) {
    history(store).await;
    let dry = refresh(store, &config(), noon(2025, 6, 30), true)
        .await
        .unwrap();
    assert_eq!(
        (dry.values_written, dry.events, dry.changes.len()),
        (6, 9, 5)
    );
    assert!(store.customer_values(None).await.unwrap().is_empty());
    assert!(changes(&store.events(0, 1000).await.unwrap()).is_empty());

    refresh(store, &config(), noon(2025, 6, 30), false)
        .await
        .unwrap();
    let run_id = store.begin_run("erp", false).await.unwrap();
    let batch = Batch {
        run_id,
        source: "erp".into(),
        goldens: vec![golden(
            "cus_e",
            EntityKind::Customer,
            2,
            json!({"name": "cus_e"}),
            true,
        )],
        ..Batch::default()
    };
    store.commit(&batch).await.unwrap();
    let pass = refresh(store, &config(), noon(2025, 6, 30), false)
        .await
        .unwrap();
    assert_eq!((pass.customers, pass.events), (5, 0));
    let ids: Vec<String> = store
        .customer_values(None)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.golden_id)
        .collect();
    assert_eq!(ids, ["cus_a", "cus_b", "cus_c", "cus_d", "cus_g"]);
}

async fn orders_of_a_customer_merged_away_count_for_the_one_it_was_merged_into(store: &dyn Store) {
    history(store).await;
    refresh(store, &config(), noon(2025, 6, 30), false)
        .await
        .unwrap();
    let run_id = store.begin_run("erp", false).await.unwrap();
    let batch = Batch {
        run_id,
        source: "erp".into(),
        matching: MatchWrites {
            // B into D, then D into A: B's orders follow the chain to A.
            merges: vec![
                MergeWrite {
                    entity: EntityKind::Customer,
                    loser: "cus_b".into(),
                    survivor: "cus_d".into(),
                },
                MergeWrite {
                    entity: EntityKind::Customer,
                    loser: "cus_d".into(),
                    survivor: "cus_a".into(),
                },
            ],
            ..MatchWrites::default()
        },
        ..Batch::default()
    };
    store.commit(&batch).await.unwrap();
    refresh(store, &config(), noon(2025, 6, 30), false)
        .await
        .unwrap();
    let values = store.customer_values(None).await.unwrap();
    let a = values.iter().find(|v| v.golden_id == "cus_a").unwrap();
    assert_eq!(
        (a.order_count, a.first_order, a.revenue.clone()),
        (10, date("2024-01-10"), amounts(&[("EUR", "9000.00")]))
    );
    assert!(
        values
            .iter()
            .all(|v| v.golden_id != "cus_b" && v.golden_id != "cus_d")
    );
}

on_both!(
    orders_of_a_customer_merged_away_count_for_the_one_it_was_merged_into,
    first_pass_values_every_customer_with_one_event_per_tier_and_stage,
    a_new_order_changes_a_tier_and_time_churns_a_customer,
    a_dry_run_writes_nothing_and_deleted_customers_lose_their_value,
);

/// The quickstart in a folder of its own, without a bus, for the command line.
fn quickstart_project() -> tempfile::TempDir {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let source = root.join("examples/quickstart");
    for entry in walk(&source) {
        let target = dir.path().join(entry.strip_prefix(&source).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &target).unwrap();
    }
    let config = std::fs::read_to_string(source.join("concord.yaml")).unwrap();
    let without_bus: Vec<&str> = config
        .lines()
        .skip_while(|line| !line.starts_with("sources:"))
        .collect();
    let text = format!(
        "store: {{ url: \"sqlite://concord.db\" }}\n{}\n",
        without_bus.join("\n")
    )
    .replace(
        "../../mappings",
        &root.join("mappings").display().to_string(),
    );
    std::fs::write(dir.path().join("concord.yaml"), text).unwrap();
    dir
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        match path.is_dir() {
            true => files.extend(walk(&path)),
            false => files.push(path),
        }
    }
    files
}

fn concord(dir: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_concord"))
        .current_dir(dir)
        .env_remove("CONCORD_CONFIG")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn sync_values_the_customers_and_show_and_value_see_it() {
    let project = quickstart_project();
    let dir = project.path();
    let synced = concord(dir, &["sync"]);
    assert!(
        synced.contains("customer value: 13 customers (1 platinum, 12 lead, 8 prospect, 5 churned); 6 tier or stage changes queued as events"),
        "{synced}"
    );
    assert!(
        synced.contains("note: revenue in CHF, GBP is left out of tiering"),
        "{synced}"
    );

    // Its orders of 13 and 15 May 2024 make SAP's 100001 the biggest customer, long churned.
    let shown: Value = serde_json::from_str(&concord(
        dir,
        &["show", "customer", "sap:100001", "--format", "jsonl"],
    ))
    .unwrap();
    assert_eq!(shown["value"]["tier"], "platinum");
    assert_eq!(shown["value"]["stage"], "churned");
    assert_eq!(shown["value"]["order_count"], 2);
    assert_eq!(shown["value"]["revenue"], json!({"EUR": "13639.15"}));
    let table = concord(dir, &["show", "customer", "sap:100001"]);
    assert!(
        table.contains("  tier                 platinum\n"),
        "{table}"
    );
    assert!(
        table.contains("  stage                churned\n"),
        "{table}"
    );

    let events = concord(dir, &["events", "--format", "jsonl", "--limit", "1000"]);
    let count = |key: &str| events.lines().filter(|l| l.contains(key)).count();
    assert_eq!(
        (count("\"tier_changed\""), count("\"stage_changed\"")),
        (1, 5)
    );

    let again = concord(dir, &["value"]);
    assert!(
        again.contains("0 values were written, 0 events were queued"),
        "{again}"
    );
    let dry = concord(dir, &["value", "--dry-run"]);
    assert!(
        dry.contains("13 customers valued, tiers ranked in EUR"),
        "{dry}"
    );
}

#[tokio::test]
async fn the_service_values_the_customers_after_a_source_run() {
    let project = quickstart_project();
    let dir = project.path();
    // Created and migrated before the service starts, so the two never migrate it at once.
    let store = concord::store::open(&backend::sqlite_url(dir))
        .await
        .unwrap();
    let mut service = std::process::Command::new(env!("CARGO_BIN_EXE_concord"))
        .current_dir(dir)
        .env_remove("CONCORD_CONFIG")
        .args(["run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut valued = Vec::new();
    while std::time::Instant::now() < deadline {
        if let Ok(values) = store.customer_values(None).await
            && values
                .iter()
                .any(|v| v.tier == Tier::Platinum && v.order_count == 2)
        {
            valued = values;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    service.kill().unwrap();
    service.wait().unwrap();
    assert!(
        valued
            .iter()
            .any(|v| v.tier == Tier::Platinum && v.order_count == 2),
        "{valued:?}"
    );
}

#[test]
fn a_value_section_that_cannot_hold_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("concord.yaml");
    std::fs::write(
        &path,
        "store: { url: \"sqlite://concord.db\" }\nsources:\n  - { name: crm, driver: csv, files: \"in/*.csv\", mappings: [m.yaml] }\nvalue:\n  tiers: { platinum: 0.9, gold: 0.8 }\n",
    )
    .unwrap();
    let error = concord::config::Config::load(&path)
        .unwrap_err()
        .to_string();
    assert!(error.contains(":4:"), "{error}");
    assert!(error.contains("value.tiers: shares must rise"), "{error}");
    std::fs::write(
        &path,
        "store: { url: \"sqlite://concord.db\" }\nsources:\n  - { name: crm, driver: csv, files: \"in/*.csv\", mappings: [m.yaml] }\nvalue:\n  churn: 30d\n",
    )
    .unwrap();
    let error = concord::config::Config::load(&path)
        .unwrap_err()
        .to_string();
    assert!(error.contains("churn"), "unknown keys are refused: {error}");
}
