//! Master-data reconciliation end to end: two sources that spell the same customers differently,
//! scored matching inside blocks, the review queue, merges with redirects and events, unmerge, and
//! orders that arrive before their customer. Real SQLite, real mapping files, real sync runs.

mod common;
#[path = "../benches/generator/mod.rs"]
mod generator;

use common::{Project, golden_of, goldens, sync};
use concord::model::EntityKind;
use concord::reconcile::Reconciler;
use concord::reconcile::rescore::RescoreOptions;
use concord::store::{Operation, ReviewStatus, Store};
use concord::sync::SyncOptions;
use serde_json::{Value, json};

const CUSTOMERS: &str = r#"
entity: customer
key: { path: "$.id" }
fields:
  name: { path: "$.name", transforms: [trim] }
  tax_id: { path: "$.vat" }
  emails: { path: "$.email", many: true }
  phones: { path: "$.phone", many: true }
  addresses:
    each: "$"
    fields:
      street: { path: "$.street" }
      house_number: { path: "$.no" }
      postal_code: { path: "$.zip" }
      city: { path: "$.city" }
      country: { path: "$.country" }
"#;

const ORDERS: &str = r#"
entity: order
when: { path: "$.type", equals: order }
key: { path: "$.id" }
fields:
  order_number: { path: "$.id" }
  customer_ref: { path: "$.customer" }
"#;

const CONFIG: &str = r#"
store: { url: "sqlite://state/concord.db" }
sources:
  - name: crm
    driver: json
    files: "crm/*.jsonl"
    priority: 10
    mappings: [maps/orders.yaml, maps/customers.yaml]
  - name: erp
    driver: json
    files: "erp/*.jsonl"
    priority: 5
    mappings: [maps/orders.yaml, maps/customers.yaml]
match:
  customer:
    - { rule: vat, exact: [tax_id] }
    - { rule: email, exact: [emails] }
    - rule: similar_company
      blocking: [postal_code, [name_phonetic, postal_code], phone]
      compare:
        - { using: company_name }
        - { using: legal_form }
        - { using: address }
        - { using: phone }
        - { using: email }
        - { using: tax_id }
      match_threshold: 12
      review_threshold: 6
survivorship:
  customer:
    default: priority
    fields: { emails: union, phones: union }
"#;

fn lines(records: &[Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect::<String>()
}

fn project(crm: &[Value], erp: &[Value]) -> Project {
    let project = Project::new();
    project.write("maps/customers.yaml", CUSTOMERS);
    project.write("maps/orders.yaml", ORDERS);
    project.write("concord.yaml", CONFIG);
    project.write("crm/customers.jsonl", &lines(crm));
    project.write("erp/customers.jsonl", &lines(erp));
    project
}

fn muller_crm() -> Value {
    json!({"id": "c1", "name": "Müller Maschinenbau GmbH", "street": "Hauptstraße", "no": "5",
           "zip": "70173", "city": "Stuttgart", "country": "DE", "phone": "+49 711 123456",
           "email": "info@mueller-mb.de"})
}

fn muller_erp() -> Value {
    json!({"id": "e1", "name": "MUELLER MASCHINENBAU G.m.b.H.", "street": "Hauptstr.", "no": "5",
           "zip": "70173", "city": "Stuttgart", "country": "DE", "phone": "0711/123456"})
}

async fn golden_id(store: &dyn Store, source: &str, key: &str) -> String {
    golden_of(store, EntityKind::Customer, source, key).await.id
}

#[tokio::test]
async fn spelling_variants_merge_and_sister_companies_stay_apart() {
    let project = project(
        &[
            muller_crm(),
            json!({"id": "c2", "name": "Acme Holding GmbH", "vat": "DE111111111", "street": "Ring",
                   "no": "1", "zip": "10115", "city": "Berlin", "country": "DE"}),
        ],
        &[
            muller_erp(),
            // Tokens swapped, no email, no phone: the name and the address carry it.
            json!({"id": "e2", "name": "Maschinenbau Müller GmbH", "street": "Hauptstrasse", "no": "5",
                   "zip": "70173", "city": "Stuttgart", "country": "DE", "phone": "+49 711 123456"}),
            // Same name and address as c2, another tax ID: another legal entity.
            json!({"id": "e3", "name": "Acme Holding GmbH", "vat": "DE222222222", "street": "Ring",
                   "no": "1", "zip": "10115", "city": "Berlin", "country": "DE"}),
        ],
    );
    let (store, summaries) = sync(&project.config(), &SyncOptions::default()).await;
    let store = store.as_ref();

    let muller = golden_id(store, "crm", "c1").await;
    assert_eq!(golden_id(store, "erp", "e1").await, muller);
    assert_eq!(golden_id(store, "erp", "e2").await, muller);
    assert_ne!(
        golden_id(store, "crm", "c2").await,
        golden_id(store, "erp", "e3").await,
        "conflicting tax IDs veto the merge"
    );
    assert_eq!(goldens(store, EntityKind::Customer).await.len(), 3);
    let erp = summaries.iter().find(|s| s.source == "erp").unwrap();
    assert_eq!(erp.reconcile.matched, 2);

    // The merged record keeps both sources' phones (union) and its evidence.
    let golden = golden_of(store, EntityKind::Customer, "crm", "c1").await;
    assert_eq!(
        golden.record["name"], "Müller Maschinenbau GmbH",
        "CRM has priority"
    );
    let decisions = store.decisions(&[muller.as_str()]).await.unwrap();
    let scored = decisions
        .iter()
        .find(|d| d.key == "e1")
        .expect("a decision for e1");
    assert_eq!(scored.decision, "matched");
    assert!(scored.score.unwrap() >= 12.0, "{scored:?}");
    assert!(
        scored.evidence["comparisons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["comparison"] == "company_name"),
        "{}",
        scored.evidence
    );
    let acme = golden_id(store, "erp", "e3").await;
    let vetoed = store.decisions(&[acme.as_str()]).await.unwrap();
    assert!(
        vetoed
            .iter()
            .any(|d| d.decision == "vetoed" && d.evidence["vetoed_by"] == "tax_id"),
        "{vetoed:?}"
    );
}

/// One record per batch: every candidate comes from the run's cache (block index and packed
/// members kept between batches) or from the store behind it, never from the batch itself; the
/// decisions are those of one large batch.
#[tokio::test]
async fn one_record_per_batch_decides_as_one_batch_does() {
    let project = project(
        &[
            muller_crm(),
            json!({"id": "c2", "name": "Acme Holding GmbH", "vat": "DE111111111", "street": "Ring",
                   "no": "1", "zip": "10115", "city": "Berlin", "country": "DE"}),
        ],
        &[
            muller_erp(),
            json!({"id": "e2", "name": "Maschinenbau Müller GmbH", "street": "Hauptstrasse", "no": "5",
                   "zip": "70173", "city": "Stuttgart", "country": "DE", "phone": "+49 711 123456"}),
            json!({"id": "e3", "name": "Acme Holding GmbH", "vat": "DE222222222", "street": "Ring",
                   "no": "1", "zip": "10115", "city": "Berlin", "country": "DE"}),
        ],
    );
    let options = SyncOptions {
        batch_size: 1,
        ..SyncOptions::default()
    };
    let (store, _) = sync(&project.config(), &options).await;
    let store = store.as_ref();
    let muller = golden_id(store, "crm", "c1").await;
    assert_eq!(golden_id(store, "erp", "e1").await, muller);
    assert_eq!(golden_id(store, "erp", "e2").await, muller);
    assert_ne!(
        golden_id(store, "crm", "c2").await,
        golden_id(store, "erp", "e3").await
    );
    assert_eq!(goldens(store, EntityKind::Customer).await.len(), 3);
}

fn review_pair() -> (Value, Value) {
    (
        json!({"id": "c3", "name": "Schmidt & Partner KG", "street": "Friedrichstraße", "no": "10",
               "zip": "10117", "city": "Berlin", "country": "DE", "email": "office@schmidt-partner.de"}),
        json!({"id": "e4", "name": "Schmidt Partner", "street": "Unter den Linden", "no": "3",
               "zip": "10117", "city": "Berlin", "country": "DE"}),
    )
}

/// A project holding the review pair `(c3, e4)`, synced once: the pair waits in review.
async fn synced_pair(
    (c3, e4): (Value, Value),
) -> (Project, concord::config::Config, Box<dyn Store>) {
    let project = project(&[c3], &[e4]);
    let config = project.config();
    let (store, _) = sync(&config, &SyncOptions::default()).await;
    (project, config, store)
}

#[tokio::test]
async fn the_review_band_goes_to_review_and_a_rejection_is_remembered() {
    let (project, config, store) = synced_pair(review_pair()).await;
    let store = store.as_ref();
    let left = golden_id(store, "crm", "c3").await;
    let right = golden_id(store, "erp", "e4").await;
    assert_ne!(left, right, "a review pair is not merged");

    let open = store.reviews(Some(ReviewStatus::Open), 10).await.unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    let item = &open[0];
    assert_eq!((item.source.as_str(), item.key.as_str()), ("erp", "e4"));
    assert!(item.score >= 6.0 && item.score < 12.0, "{item:?}");

    let reconciler = Reconciler::new(&config.matching()).unwrap();
    reconciler.reject_review(store, item.id).await.unwrap();
    assert!(
        reconciler.reject_review(store, item.id).await.is_err(),
        "decided once"
    );

    // A new ERP record carrying the CRM record's email and the ERP record's... nothing merges them
    // now: it joins c3 by email, and the rejected pair stays apart.
    project.write(
        "erp/more.jsonl",
        &lines(&[json!({"id": "e5", "name": "Schmidt Partner", "email": "office@schmidt-partner.de",
                        "street": "Unter den Linden", "no": "3", "zip": "10117", "city": "Berlin", "country": "DE"})]),
    );
    let (store, _) = sync(&config, &SyncOptions::default()).await;
    let store = store.as_ref();
    assert_eq!(golden_id(store, "erp", "e5").await, left);
    assert_ne!(golden_id(store, "erp", "e4").await, left);
    assert!(
        store
            .reviews(Some(ReviewStatus::Open), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn accepting_a_review_merges_and_redirects() {
    let (_project, config, store) = synced_pair(review_pair()).await;
    let store = store.as_ref();
    let older = golden_id(store, "crm", "c3").await;
    let newer = golden_id(store, "erp", "e4").await;
    let item = store.reviews(Some(ReviewStatus::Open), 10).await.unwrap()[0].clone();

    let stats = Reconciler::new(&config.matching())
        .unwrap()
        .accept_review(store, item.id)
        .await
        .unwrap();
    assert_eq!(stats.merged, 1);
    assert_eq!(golden_id(store, "erp", "e4").await, older);
    assert_eq!(
        store.resolve_id(&newer).await.unwrap().as_deref(),
        Some(older.as_str())
    );
    let events = store.events(0, 100).await.unwrap();
    let merged = events.last().unwrap();
    assert_eq!(merged.event.operation, Operation::Merged);
    assert_eq!(merged.event.golden_id, older);
    assert_eq!(merged.event.merged, vec![newer]);
}

#[tokio::test]
async fn a_record_that_joins_a_review_pair_by_key_closes_the_review_item() {
    let (c3, mut e4) = review_pair();
    e4["vat"] = json!("DE333333333");
    let (project, config, store) = synced_pair((c3, e4)).await;
    let item = store.reviews(Some(ReviewStatus::Open), 10).await.unwrap();
    assert_eq!(item.len(), 1, "{item:?}");

    // The CRM record's email and the ERP record's tax ID: both golden records are one customer.
    project.write(
        "crm/more.jsonl",
        &lines(&[
            json!({"id": "c8", "name": "Schmidt & Partner KG", "email": "office@schmidt-partner.de",
                        "vat": "DE333333333", "zip": "10117", "city": "Berlin", "country": "DE"}),
        ]),
    );
    let (store, summaries) = sync(&config, &SyncOptions::default()).await;
    let store = store.as_ref();
    assert_eq!(summaries.iter().map(|s| s.reconcile.merged).sum::<u64>(), 1);
    assert_eq!(
        golden_id(store, "crm", "c3").await,
        golden_id(store, "erp", "e4").await
    );
    assert!(
        store
            .reviews(Some(ReviewStatus::Open), 10)
            .await
            .unwrap()
            .is_empty(),
        "the pair is one golden record now"
    );
    assert_eq!(
        store.review(item[0].id).await.unwrap().unwrap().status,
        ReviewStatus::Merged
    );
}

/// A record found by one golden record's key that scores as a match against another joins the
/// two, and the decision says it was the score, not keys, that joined them.
#[tokio::test]
async fn a_record_matching_one_golden_record_by_key_and_another_by_score_joins_them_as_scored() {
    let (project, config, store) = synced_pair(review_pair()).await;
    let reviews = store.reviews(Some(ReviewStatus::Open), 10).await.unwrap();
    assert_eq!(reviews.len(), 1, "{reviews:?}");

    // The CRM record's email (a key of c3's golden record) on the ERP record's company and
    // address (a match by score against e4's).
    project.write(
        "erp/more.jsonl",
        &lines(&[json!({"id": "e5", "name": "Schmidt Partner", "email": "office@schmidt-partner.de",
                        "street": "Unter den Linden", "no": "3", "zip": "10117", "city": "Berlin", "country": "DE"})]),
    );
    let (store, _) = sync(&config, &SyncOptions::default()).await;
    let store = store.as_ref();
    let joined = golden_id(store, "crm", "c3").await;
    assert_eq!(golden_id(store, "erp", "e4").await, joined);
    let decisions = store.decisions(&[joined.as_str()]).await.unwrap();
    let merged = decisions
        .iter()
        .find(|d| d.decision == "merged")
        .unwrap_or_else(|| panic!("a merge decision: {decisions:?}"));
    assert_eq!(merged.key, "e5");
    assert_eq!(merged.evidence["kind"], "scored", "{}", merged.evidence);
    assert_eq!(merged.rule, "similar_company");
}

/// 80 unrelated companies of Berlin (`f0`…`f79`, more than one block is compared whole when
/// blocking by city alone) and `c1`, a crane builder whose ERP copy is [`kranbau_in_erp`].
fn berlin_companies() -> Vec<Value> {
    let firsts = [
        "Adler", "Birken", "Condor", "Delta", "Eichen", "Falken", "Greif", "Hansa", "Iris",
        "Jupiter",
    ];
    let trades = [
        "Optik", "Textil", "Druck", "Moebel", "Papier", "Glas", "Leder", "Farben",
    ];
    let mut crm: Vec<Value> = firsts
        .iter()
        .flat_map(|first| trades.iter().map(move |trade| (first, trade)))
        .enumerate()
        .map(|(n, (first, trade))| {
            json!({"id": format!("f{n}"), "name": format!("{first} {trade} KG"), "street": "Allee",
                   "no": n.to_string(), "zip": format!("{}", 10000 + n), "city": "Berlin", "country": "DE"})
        })
        .collect();
    crm.push(
        json!({"id": "c1", "name": "Kranbau Meissner GmbH", "street": "Hafenweg", "no": "3",
        "zip": "13599", "city": "Berlin", "country": "DE", "phone": "+49 30 1234567"}),
    );
    crm
}

/// The ERP's copy of the crane builder `c1` of [`berlin_companies`].
fn kranbau_in_erp() -> Value {
    json!({"id": "e1", "name": "Kranbau Meisner GmbH", "street": "Hafenweg", "no": "3",
    "zip": "13599", "city": "Berlin", "country": "DE", "phone": "030 1234567"})
}

#[tokio::test]
async fn a_city_too_large_to_compare_whole_still_finds_a_true_pair_by_its_name() {
    // Blocking by city alone: 80 companies in Berlin are more than one block is compared whole.
    let mut crm = berlin_companies();
    // The same customer again in the batch that made the block large: found within the batch.
    crm.push(
        json!({"id": "c2", "name": "Kranbau Meißner", "street": "Hafenweg", "no": "3",
        "zip": "13599", "city": "Berlin", "country": "DE", "phone": "+49 30 1234567"}),
    );
    let erp = [kranbau_in_erp()];
    let project = project(&crm, &erp);
    project.write(
        "concord.yaml",
        &CONFIG.replace(
            "blocking: [postal_code, [name_phonetic, postal_code], phone]",
            "blocking: [city]",
        ),
    );
    let (store, _) = sync(&project.config(), &SyncOptions::default()).await;
    let store = store.as_ref();
    let kranbau = golden_id(store, "crm", "c1").await;
    assert_eq!(golden_id(store, "crm", "c2").await, kranbau);
    assert_eq!(golden_id(store, "erp", "e1").await, kranbau);
    assert_ne!(
        golden_id(store, "crm", "f0").await,
        golden_id(store, "crm", "f1").await
    );
}

#[tokio::test]
async fn one_record_bridging_two_golden_records_merges_them_and_their_orders() {
    let project = project(
        &[
            json!({"id": "c5", "name": "Nordwind Logistik GmbH", "email": "einkauf@nordwind.de", "zip": "20095", "city": "Hamburg", "country": "DE"}),
            json!({"id": "c6", "name": "Nordwind Logistik", "vat": "DE999999999", "zip": "22041", "city": "Hamburg", "country": "DE"}),
            json!({"type": "order", "id": "o1", "customer": "c6"}),
        ],
        &[],
    );
    let config = project.config();
    let (store, _) = sync(&config, &SyncOptions::default()).await;
    let a = golden_id(store.as_ref(), "crm", "c5").await;
    let b = golden_id(store.as_ref(), "crm", "c6").await;
    assert_ne!(a, b);
    let order = golden_of(store.as_ref(), EntityKind::Order, "crm", "o1").await;
    assert_eq!(order.record["customer_id"], b.as_str());

    project.write(
        "erp/customers.jsonl",
        &lines(&[json!({"id": "e7", "name": "Nordwind Logistik GmbH", "email": "EINKAUF@nordwind.de", "vat": "DE 999 999 999"})]),
    );
    let (store, summaries) = sync(&config, &SyncOptions::default()).await;
    let store = store.as_ref();
    let (survivor, loser) = if a < b { (a, b) } else { (b, a) };
    assert_eq!(golden_id(store, "erp", "e7").await, survivor);
    assert_eq!(golden_id(store, "crm", "c5").await, survivor);
    assert_eq!(golden_id(store, "crm", "c6").await, survivor);
    assert_eq!(
        store.resolve_id(&loser).await.unwrap(),
        Some(survivor.clone())
    );
    assert_eq!(summaries.iter().map(|s| s.reconcile.merged).sum::<u64>(), 1);

    let events = store.events(0, 1000).await.unwrap();
    let merged: Vec<_> = events
        .iter()
        .filter(|e| e.event.operation == Operation::Merged)
        .collect();
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].event.golden_id, survivor);
    assert_eq!(merged[0].event.merged, vec![loser.clone()]);
    // The order of the merged-away record now belongs to the survivor, with an event saying so.
    let order = golden_of(store, EntityKind::Order, "crm", "o1").await;
    assert_eq!(order.record["customer_id"], survivor.as_str());
    assert!(
        events
            .iter()
            .any(|e| e.event.golden_id == order.id && e.event.operation == Operation::Updated)
    );
}

#[tokio::test]
async fn an_order_that_arrives_first_is_linked_when_its_customer_arrives() {
    let project = project(
        &[json!({"type": "order", "id": "o9", "customer": "c9"})],
        &[],
    );
    let config = project.config();
    let (store, summaries) = sync(&config, &SyncOptions::default()).await;
    assert_eq!(summaries[0].reconcile.unresolved_refs, 1);
    let order = golden_of(store.as_ref(), EntityKind::Order, "crm", "o9").await;
    assert!(order.record.get("customer_id").is_none());

    project.write(
        "crm/later.jsonl",
        &lines(&[
            json!({"id": "c9", "name": "Spätkauf Berlin UG", "zip": "10999", "city": "Berlin"}),
        ]),
    );
    let (store, _) = sync(&config, &SyncOptions::default()).await;
    let store = store.as_ref();
    let customer = golden_id(store, "crm", "c9").await;
    let order = golden_of(store, EntityKind::Order, "crm", "o9").await;
    assert_eq!(order.record["customer_id"], customer.as_str());
    assert_eq!(order.version, 2, "the link is a new version with an event");
}

#[tokio::test]
async fn an_unmerged_record_stays_apart_through_later_syncs() {
    let project = project(&[muller_crm()], &[muller_erp()]);
    let config = project.config();
    let (store, _) = sync(&config, &SyncOptions::default()).await;
    let store = store.as_ref();
    let merged = golden_id(store, "crm", "c1").await;
    assert_eq!(golden_id(store, "erp", "e1").await, merged);

    let reconciler = Reconciler::new(&config.matching()).unwrap();
    let (split, stats) = reconciler
        .unmerge(store, EntityKind::Customer, &merged, "erp", "e1")
        .await
        .unwrap();
    assert_eq!(
        stats.events, 2,
        "the remaining record is updated, the split one created"
    );
    assert_eq!(golden_id(store, "erp", "e1").await, split);
    let remaining = golden_of(store, EntityKind::Customer, "crm", "c1").await;
    assert_eq!(remaining.contributors.len(), 1);
    assert!(
        reconciler
            .unmerge(store, EntityKind::Customer, &split, "erp", "e1")
            .await
            .is_err(),
        "a record on its own cannot be split further"
    );

    // The ERP record changes and a full re-sync runs: it stays on its own golden record.
    let mut changed = muller_erp();
    changed["phone"] = json!("0711/999999");
    project.write("erp/customers.jsonl", &lines(&[changed]));
    let (store, _) = sync(
        &config,
        &SyncOptions {
            full: true,
            ..SyncOptions::default()
        },
    )
    .await;
    let store = store.as_ref();
    assert_eq!(golden_id(store, "erp", "e1").await, split);
    assert_eq!(golden_id(store, "crm", "c1").await, merged);
}

const PRODUCTS: &str = r#"
entity: product
key: { path: "$.id" }
fields:
  sku: { path: "$.sku" }
  name: { path: "$.name" }
  unit: { path: "$.unit" }
"#;

#[tokio::test]
async fn products_match_by_normalized_name_and_unit_when_configured() {
    let project = Project::new();
    project.write("maps/products.yaml", PRODUCTS);
    project.write(
        "concord.yaml",
        r#"
store: { url: "sqlite://state/concord.db" }
sources:
  - { name: pim, driver: json, files: "pim/*.jsonl", priority: 10, mappings: [maps/products.yaml] }
  - { name: shop, driver: json, files: "shop/*.jsonl", mappings: [maps/products.yaml] }
match:
  product:
    - { rule: sku, exact: [sku] }
    - rule: name_and_unit
      blocking: [name_token]
      compare:
        - { using: text, field: name, weights: { exact: 12, close: 9, far: -10 } }
        - { using: unit, weights: { exact: 4, close: 0, far: -20 }, veto: true }
"#,
    );
    project.write(
        "pim/products.jsonl",
        &lines(&[
            json!({"id": "p1", "sku": "A-100", "name": "Hex Bolt M8 x 40", "unit": "PCE"}),
            json!({"id": "p2", "sku": "A-200", "name": "Copper Wire 2.5mm", "unit": "M"}),
        ]),
    );
    project.write(
        "shop/products.jsonl",
        &lines(&[
            json!({"id": "s1", "sku": "HB-M8-40", "name": "hex bolt  M8 x 40", "unit": "pcs"}),
            // Same name, sold by the kilogram: another product.
            json!({"id": "s2", "sku": "CW-25", "name": "Copper Wire 2.5mm", "unit": "KG"}),
        ]),
    );
    let (store, _) = sync(&project.config(), &SyncOptions::default()).await;
    let store = store.as_ref();
    let id = |source: &'static str, key: &'static str| async move {
        golden_of(store, EntityKind::Product, source, key).await.id
    };
    assert_eq!(id("shop", "s1").await, id("pim", "p1").await);
    assert_ne!(id("shop", "s2").await, id("pim", "p2").await);
}

#[tokio::test]
async fn training_estimates_weights_from_the_stored_records() {
    let mut crm = Vec::new();
    let mut erp = Vec::new();
    let streets = [
        "Hauptstraße",
        "Bahnhofstraße",
        "Gartenweg",
        "Lindenallee",
        "Schillerplatz",
    ];
    for i in 0..60 {
        let name = format!(
            "Firma {} {}",
            ["Alpha", "Beta", "Gamma", "Delta", "Omega"][i % 5],
            i
        );
        let street = streets[i % streets.len()];
        let zip = format!("{}", 10000 + (i % 6) * 1111);
        crm.push(
            json!({"id": format!("c{i}"), "name": format!("{name} GmbH"), "street": street,
                        "no": format!("{}", i + 1), "zip": zip, "city": "Berlin", "country": "DE",
                        "phone": format!("+49 30 5550{i:03}")}),
        );
        if i % 2 == 0 {
            erp.push(json!({"id": format!("e{i}"), "name": format!("{} G.m.b.H.", name.to_uppercase()),
                            "street": street, "no": format!("{}", i + 1), "zip": zip, "city": "Berlin",
                            "country": "DE", "phone": format!("030 5550{i:03}")}));
        }
    }
    let project = project(&crm, &erp);
    project.write(
        "concord.yaml",
        &CONFIG.replace(
            "      review_threshold: 6\n",
            "      review_threshold: 6\n      weights_file: weights.yaml\n",
        ),
    );
    let config = project.config();
    let (store, _) = sync(&config, &SyncOptions::default()).await;
    let written = concord::reconcile::train::train_config(
        &config.matching(),
        store.as_ref(),
        EntityKind::Customer,
        None,
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(written.len(), 1);
    let (path, report) = &written[0];
    assert_eq!(path, &project.path("weights.yaml"));
    assert!(report.pairs > 0);
    let name = report.trained.weights["company_name"];
    assert!(name.exact > 0.0 && name.far < 0.0, "{name:?}");
    let phone = report.trained.weights["phone"];
    assert!(phone.exact > phone.far, "{phone:?}");
    // The written file is what the next run reads.
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("similar_company"), "{text}");
    concord::reconcile::Reconciler::new(&project.config().matching())
        .expect("trained weights load");
}

#[tokio::test]
async fn rescore_applies_what_the_current_thresholds_say_after_a_dry_run() {
    let (c3, e4) = review_pair();
    let project = project(&[c3], &[e4]);
    let (store, _) = sync(&project.config(), &SyncOptions::default()).await;
    let store = store.as_ref();
    let left = golden_id(store, "crm", "c3").await;
    let right = golden_id(store, "erp", "e4").await;
    let item = store.reviews(Some(ReviewStatus::Open), 10).await.unwrap()[0].clone();

    // The steward lowers the bar: what waited in review now merges.
    project.write(
        "concord.yaml",
        &CONFIG.replace("match_threshold: 12", "match_threshold: 6"),
    );
    let reconciler = Reconciler::new(&project.config().matching()).unwrap();
    let dry = reconciler
        .rescore(
            store,
            EntityKind::Customer,
            RescoreOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(dry.reviews_accepted, vec![item.id], "{dry:?}");
    assert!(dry.merges.is_empty() && dry.splits.is_empty(), "{dry:?}");
    assert!(dry.summary().contains("would merge"), "{}", dry.summary());
    assert_ne!(
        golden_id(store, "erp", "e4").await,
        left,
        "a dry run writes nothing"
    );
    let events_before = store.events(0, 100).await.unwrap().len();

    let done = reconciler
        .rescore(store, EntityKind::Customer, RescoreOptions::default())
        .await
        .unwrap();
    assert_eq!(done.reviews_accepted, vec![item.id]);
    assert_eq!(done.stats.merged, 1, "{done:?}");
    assert_eq!(golden_id(store, "erp", "e4").await, left);
    assert_eq!(
        store.resolve_id(&right).await.unwrap().as_deref(),
        Some(left.as_str())
    );
    let events = store.events(0, 100).await.unwrap();
    assert_eq!(events.len(), events_before + 1);
    assert_eq!(events.last().unwrap().event.operation, Operation::Merged);
    assert_eq!(
        store.review(item.id).await.unwrap().unwrap().status,
        ReviewStatus::Accepted
    );
    // Nothing left to do: a second rescore changes nothing.
    let again = reconciler
        .rescore(store, EntityKind::Customer, RescoreOptions::default())
        .await
        .unwrap();
    assert!(again.merges.is_empty() && again.splits.is_empty() && again.stats.events == 0);
}

/// Rescore compares a block too large to compare whole (80 companies of one city) the way
/// matching does, by the records' name words, instead of skipping it.
#[tokio::test]
async fn rescore_finds_a_true_pair_inside_a_city_too_large_to_compare_whole() {
    let crm = berlin_companies();
    let erp = [kranbau_in_erp()];
    let project = project(&crm, &erp);
    let by_city = CONFIG.replace(
        "blocking: [postal_code, [name_phonetic, postal_code], phone]",
        "blocking: [city]",
    );
    // Synced under thresholds nothing reaches: every record its own golden record, no review.
    project.write(
        "concord.yaml",
        &by_city
            .replace("match_threshold: 12", "match_threshold: 90")
            .replace("review_threshold: 6", "review_threshold: 80"),
    );
    let (store, _) = sync(&project.config(), &SyncOptions::default()).await;
    let store = store.as_ref();
    assert_ne!(
        golden_id(store, "crm", "c1").await,
        golden_id(store, "erp", "e1").await
    );

    project.write("concord.yaml", &by_city);
    let reconciler = Reconciler::new(&project.config().matching()).unwrap();
    let done = reconciler
        .rescore(store, EntityKind::Customer, RescoreOptions::default())
        .await
        .unwrap();
    assert_eq!(done.stats.merged, 1, "{done:?}");
    assert_eq!(
        golden_id(store, "crm", "c1").await,
        golden_id(store, "erp", "e1").await
    );
    assert_ne!(
        golden_id(store, "crm", "f0").await,
        golden_id(store, "crm", "f1").await
    );
}

#[tokio::test]
async fn rescore_splits_a_record_the_old_rule_merged_wrongly_and_it_stays_apart() {
    // A subsidiary at its parent's address, with the parent's switchboard: a lax rule merged them.
    let parent = json!({"id": "c7", "name": "Nordwerk GmbH", "street": "Hafenstraße", "no": "12",
                        "zip": "20457", "city": "Hamburg", "country": "DE", "phone": "+49 40 3001234"});
    let subsidiary = json!({"id": "e7", "name": "Nordwerk Services GmbH", "street": "Hafenstr.",
                            "no": "12", "zip": "20457", "city": "Hamburg", "country": "DE",
                            "phone": "040 3001234"});
    let project = project(&[parent], &[subsidiary]);
    let lax = CONFIG
        .replace("match_threshold: 12", "match_threshold: 5")
        .replace("review_threshold: 6", "review_threshold: 2");
    project.write("concord.yaml", &lax);
    let (store, _) = sync(&project.config(), &SyncOptions::default()).await;
    let store = store.as_ref();
    let merged = golden_id(store, "crm", "c7").await;
    assert_eq!(
        golden_id(store, "erp", "e7").await,
        merged,
        "the lax rule merges"
    );

    project.write("concord.yaml", CONFIG);
    let reconciler = Reconciler::new(&project.config().matching()).unwrap();
    let report = reconciler
        .rescore(store, EntityKind::Customer, RescoreOptions::default())
        .await
        .unwrap();
    assert_eq!(report.splits.len(), 1, "{report:?}");
    let split = &report.splits[0];
    assert_eq!((split.source.as_str(), split.key.as_str()), ("erp", "e7"));
    assert!(split.best_score.is_some_and(|s| s < 6.0), "{split:?}");
    let alone = golden_id(store, "erp", "e7").await;
    assert_ne!(alone, merged);
    assert_eq!(golden_id(store, "crm", "c7").await, merged);
    assert_eq!(report.stats.created, 1, "{report:?}");

    // The split is remembered: syncing again, even under the lax rule, keeps them apart.
    project.write("concord.yaml", &lax);
    project.write(
        "erp/customers.jsonl",
        &lines(&[
            json!({"id": "e7", "name": "Nordwerk Services GmbH", "street": "Hafenstr.",
                        "no": "12", "zip": "20457", "city": "Hamburg", "country": "DE",
                        "phone": "040 3001234", "email": "service@nordwerk.de"}),
        ]),
    );
    let (store, _) = sync(&project.config(), &SyncOptions::default()).await;
    assert_ne!(golden_id(store.as_ref(), "erp", "e7").await, merged);
}

/// The golden ID of each record of person source `source` (keys `a-000001`, ...), in key order;
/// `None` for a record not stored.
async fn person_golden_ids(
    store: &dyn Store,
    source: &str,
    per_file: usize,
) -> Vec<Option<String>> {
    let keys: Vec<String> = (1..=per_file).map(|n| format!("{source}-{n:06}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut hits = store
        .xref_lookup(source, EntityKind::Customer, &refs)
        .await
        .unwrap();
    keys.iter()
        .map(|key| hits.remove(key).map(|hit| hit.golden_id))
        .collect()
}

/// Pairwise precision and recall of "same golden record" for the person set, whose record
/// `a-N` and `b-N` are one person and every other pair two.
async fn person_quality(store: &dyn Store, per_file: usize) -> (f64, f64, usize, String) {
    let mut cluster_of: Vec<(String, usize)> = Vec::new();
    let mut missing = 0;
    for source in ["a", "b"] {
        let golden_ids = person_golden_ids(store, source, per_file).await;
        for (n, golden_id) in golden_ids.into_iter().enumerate() {
            match golden_id {
                Some(golden_id) => cluster_of.push((golden_id, n)),
                None => missing += 1,
            }
        }
    }
    // What went wrong, for the failure message: the first missed pairs' records.
    let mut missed = String::new();
    let golden_of_person: std::collections::HashMap<(usize, bool), &str> = cluster_of
        .iter()
        .enumerate()
        .map(|(i, (g, n))| ((*n, i >= per_file), g.as_str()))
        .collect();
    for n in 0..per_file {
        let (Some(a), Some(b)) = (
            golden_of_person.get(&(n, false)),
            golden_of_person.get(&(n, true)),
        ) else {
            continue;
        };
        if a != b && missed.len() < 6000 {
            for member in store.member_records(&[a, b]).await.unwrap() {
                let record = Value::Object(member.record);
                missed.push_str(&format!("\n  {}: {record}", member.golden_id));
            }
            missed.push('\n');
        }
    }
    let mut clusters: std::collections::HashMap<String, Vec<usize>> = Default::default();
    for (golden, person) in cluster_of {
        clusters.entry(golden).or_default().push(person);
    }
    let (mut merged, mut correct) = (0u64, 0u64);
    for people in clusters.values() {
        for (i, a) in people.iter().enumerate() {
            for b in &people[i + 1..] {
                merged += 1;
                correct += u64::from(a == b);
            }
        }
    }
    let precision = correct as f64 / merged.max(1) as f64;
    let recall = correct as f64 / per_file as f64;
    (precision, recall, missing, missed)
}

#[tokio::test]
async fn persons_with_typos_in_every_field_match_at_f1_099() {
    let project = Project::new();
    let spec = generator::persons::PersonsSpec {
        per_file: 1500,
        seed: 7,
    };
    let manifest = generator::persons::generate(project.dir.path(), &spec).unwrap();
    let config = concord::config::Config::load(&manifest.config).unwrap();
    let (store, _) = sync(&config, &SyncOptions::default()).await;
    let (precision, recall, missing, missed) = person_quality(store.as_ref(), spec.per_file).await;
    let f1 = 2.0 * precision * recall / (precision + recall);
    assert_eq!(missing, 0, "every record is stored");
    assert!(
        f1 >= 0.99 && precision >= 0.995,
        "precision {precision:.4} recall {recall:.4} F1 {f1:.4}; missed:{missed}"
    );
}

/// The records of person sources `a` and `b` (as `a-0`, `b-0`, ...) grouped by golden record.
async fn person_groups(store: &dyn Store, per_file: usize) -> Vec<Vec<String>> {
    let mut groups: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for source in ["a", "b"] {
        let golden_ids = person_golden_ids(store, source, per_file).await;
        for (n, golden_id) in golden_ids.into_iter().enumerate() {
            if let Some(golden_id) = golden_id {
                groups
                    .entry(golden_id)
                    .or_default()
                    .push(format!("{source}-{n}"));
            }
        }
    }
    let mut groups: Vec<Vec<String>> = groups.into_values().collect();
    groups.iter_mut().for_each(|g| g.sort());
    groups.sort();
    groups
}

/// The second source of one sync goes on from what the first source's run learnt (the block
/// index and the prepared members of the golden records) instead of reading it all again, and
/// decides exactly as a process that syncs each source on its own does.
#[tokio::test]
async fn the_sources_of_one_sync_decide_as_one_process_per_source_does() {
    let spec = generator::persons::PersonsSpec {
        per_file: 400,
        seed: 11,
    };
    let options = SyncOptions {
        batch_size: 97,
        ..SyncOptions::default()
    };
    let together = Project::new();
    let manifest = generator::persons::generate(together.dir.path(), &spec).unwrap();
    let config = concord::config::Config::load(&manifest.config).unwrap();
    let (store, summaries) = sync(&config, &options).await;
    assert_eq!(summaries.len(), 2, "both sources in one sync");
    let one_sync = person_groups(store.as_ref(), spec.per_file).await;

    let apart = Project::new();
    let manifest = generator::persons::generate(apart.dir.path(), &spec).unwrap();
    let config = concord::config::Config::load(&manifest.config).unwrap();
    let mut store = None;
    for source in ["a", "b"] {
        let options = SyncOptions {
            source: Some(source.to_string()),
            ..options.clone()
        };
        store = Some(sync(&config, &options).await.0);
    }
    let per_source = person_groups(store.expect("synced").as_ref(), spec.per_file).await;

    assert_eq!(one_sync, per_source);
    assert!(
        one_sync.iter().filter(|g| g.len() > 1).count() > 300,
        "the second source joins the first's golden records"
    );
}

/// Persons matched on given and family name only, the family name weighted by its frequency: a
/// pair agreeing on both names matches only when the family name is rare.
const FREQUENCY_RULES: &str = r#"
store: { url: "sqlite://state/concord.db" }
sources:
  - name: crm
    driver: json
    files: "crm/*.jsonl"
    mappings: [maps/customers.yaml]
match:
  customer:
    - rule: person
      blocking: [family_name]
      compare:
        - { using: given_name }
        - { using: family_name }
      match_threshold: 14
      review_threshold: 4
"#;

fn person(key: &str, given: &str, family: &str) -> concord::reconcile::Incoming {
    let customer: concord::model::Customer =
        serde_json::from_value(json!({"given_name": given, "family_name": family}))
            .expect("customer");
    concord::reconcile::Incoming {
        record: concord::model::SourceRecord {
            source: "crm".into(),
            key: key.into(),
            changed_at: None,
            deleted: false,
            record: concord::model::Canonical::Customer(customer),
        },
        origin: "test".into(),
    }
}

/// Reconciles three batches of one run into a fresh store, the third while the second is
/// committed (`committed_before_third`) or still pending, as a sync does when the store is slow
/// or quick; returns whether the third batch's Anna Kowalczyk joined the first one's.
async fn third_batch_joins(project: &Project, committed_before_third: bool) -> bool {
    use concord::reconcile::view::{Pending, StoreView};
    use std::sync::Arc;

    let db = project.path(if committed_before_third {
        "a.db"
    } else {
        "b.db"
    });
    let store = concord::store::open(&format!("sqlite://{}", db.display()))
        .await
        .expect("store");
    let config = project.config();
    let reconciler = Reconciler::new(&config.matching()).expect("rules");
    let run_id = store.begin_run("crm", false).await.expect("run");
    // Forty Müllers and ten rarer names: Kowalczyk is rare.
    let mut first: Vec<_> = (0..40)
        .map(|i| person(&format!("m{i}"), &format!("Given{i:02}x"), "Müller"))
        .collect();
    for (i, family) in [
        "Kowalczyk",
        "Abel",
        "Bauer",
        "Christ",
        "Dorn",
        "Eck",
        "Fink",
        "Graf",
        "Horn",
        "Igel",
    ]
    .iter()
    .enumerate()
    {
        let given = if i == 0 { "Anna" } else { "Jonas" };
        first.push(person(&format!("r{i}"), given, family));
    }
    // Thirty more Kowalczyks make the name common.
    let given = [
        "Bert", "Carl", "Dora", "Emil", "Frida", "Gustav", "Hilde", "Ida", "Jakob", "Karl",
        "Lotte", "Max", "Nora", "Otto", "Paul", "Quirin", "Rosa", "Sepp", "Theo", "Ulla", "Vera",
        "Willi", "Xaver", "Yvonne", "Zita", "Arno", "Bodo", "Cilli", "Detlef", "Elke",
    ];
    let second: Vec<_> = given
        .iter()
        .enumerate()
        .map(|(i, g)| person(&format!("k{i}"), g, "Kowalczyk"))
        .collect();
    let third = vec![person("anna-again", "Anna", "Kowalczyk")];

    let mut stats = concord::reconcile::ReconcileStats::default();
    let mut batches = Vec::new();
    for (n, records) in [first, second, third].into_iter().enumerate() {
        let pending = match batches.last() {
            Some(previous) if n == 2 && !committed_before_third => {
                Some(Pending::new(Arc::clone(previous)))
            }
            _ => None,
        };
        let view = StoreView {
            store: store.as_ref(),
            pending: pending.as_ref(),
        };
        let mut batch = concord::store::Batch {
            run_id,
            source: "crm".into(),
            ..concord::store::Batch::default()
        };
        reconciler
            .apply(&view, "crm", records, &mut batch, &mut stats)
            .await
            .expect("reconciles");
        let batch = Arc::new(batch);
        if n < 1 || committed_before_third {
            store.commit(&batch).await.expect("commit");
        } else if n == 2 {
            store.commit(&batches[1]).await.expect("commit the second");
            store.commit(&batch).await.expect("commit the third");
        }
        batches.push(batch);
    }
    let store = store.as_ref();
    golden_id(store, "crm", "anna-again").await == golden_id(store, "crm", "r0").await
}

/// A sync reconciles a batch while the one before it is still being committed. Whether that
/// commit has finished must not change what the batch decides, or the same files give other
/// golden records from run to run: here the family name's frequency, which the second batch made
/// common, decides whether the third batch's record matches.
#[tokio::test]
async fn a_batch_decides_alike_whether_the_batch_before_has_committed_or_not() {
    let project = Project::new();
    project.write("maps/customers.yaml", PERSON_MAPPING);
    project.write("concord.yaml", FREQUENCY_RULES);
    let committed = third_batch_joins(&project, true).await;
    let pending = third_batch_joins(&project, false).await;
    assert_eq!(committed, pending);
    assert!(
        !committed,
        "Kowalczyk is common after the second batch: both names alike is not enough"
    );
}

const PERSON_MAPPING: &str = r#"
entity: customer
key: { path: "$.id" }
fields:
  given_name: { path: "$.given" }
  family_name: { path: "$.family" }
"#;

const NAMESAKE_MAPPING: &str = r#"
entity: customer
key: { path: "$.id" }
fields:
  given_name: { path: "$.given" }
  family_name: { path: "$.family" }
  date_of_birth: { path: "$.born" }
  addresses:
    each: "$"
    fields:
      street: { path: "$.street" }
      postal_code: { path: "$.zip" }
      city: { path: "$.city" }
      country: { path: "$.country" }
"#;

const NAMESAKE_RULES: &str = r#"
store: { url: "sqlite://state/concord.db" }
sources:
  - name: sap
    driver: json
    files: "sap/*.jsonl"
    mappings: [maps/customers.yaml]
  - name: shop
    driver: json
    files: "shop/*.jsonl"
    mappings: [maps/customers.yaml]
match:
  customer:
    - rule: person
      blocking: [[postal_code, family_name]]
      compare:
        - { using: given_name }
        - { using: family_name }
        - { using: date_of_birth }
        - { using: address }
      match_threshold: 10
      review_threshold: 5
"#;

/// An ERP keeps a consumer as a bare name at an address. A mother and a daughter of one name at
/// that address both score as a match against that bare record, but not against each other
/// (another date of birth): the daughter must not join the mother's golden record through it.
#[tokio::test]
async fn a_namesake_born_another_year_does_not_join_through_a_copy_without_birth_date() {
    let project = Project::new();
    project.write("maps/customers.yaml", NAMESAKE_MAPPING);
    project.write("concord.yaml", NAMESAKE_RULES);
    let at = json!({"given": "Nathalie", "family": "Michel", "street": "42 Rue Pasteur",
                    "zip": "69004", "city": "Lyon", "country": "FR"});
    let with = |id: &str, born: Option<&str>| {
        let mut record = at.clone();
        record["id"] = json!(id);
        if let Some(born) = born {
            record["born"] = json!(born);
        }
        record
    };
    project.write("sap/customers.jsonl", &lines(&[with("s1", None)]));
    project.write(
        "shop/customers.jsonl",
        &lines(&[
            with("mother", Some("1944-11-15")),
            with("daughter", Some("1974-02-23")),
        ]),
    );
    let (store, _) = sync(&project.config(), &SyncOptions::default()).await;
    let store = store.as_ref();

    let bare = golden_id(store, "sap", "s1").await;
    assert_eq!(golden_id(store, "shop", "mother").await, bare);
    let daughter = golden_id(store, "shop", "daughter").await;
    assert_ne!(
        daughter, bare,
        "the daughter joined her mother's golden record"
    );
    let decisions = store.decisions(&[daughter.as_str()]).await.unwrap();
    let stopped = decisions
        .iter()
        .find(|d| d.key == "daughter")
        .expect("a decision for the daughter");
    assert_eq!(stopped.decision, "conflicting", "{stopped:?}");
    assert!(
        stopped.evidence["comparisons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["comparison"] == "date_of_birth" && c["level"] == "far"),
        "{}",
        stopped.evidence
    );

    // Rescoring the store judges alike: the daughter scores as a match against the bare record,
    // but her mother's birth date stops the merge.
    let reconciler = Reconciler::new(&project.config().matching()).unwrap();
    let options = RescoreOptions {
        dry_run: true,
        ..RescoreOptions::default()
    };
    let report = reconciler
        .rescore(store, EntityKind::Customer, options)
        .await
        .unwrap();
    assert!(report.merges.is_empty(), "{:?}", report.merges);
}

/// Persons with both names alike are one.
const SAME_NAME_RULES: &str = r#"
store: { url: "sqlite://state/concord.db" }
sources:
  - name: crm
    driver: json
    files: "crm/*.jsonl"
    mappings: [maps/customers.yaml]
match:
  customer:
    - rule: person
      blocking: [family_name]
      compare:
        - { using: given_name, weights: { exact: 5, close: 3, similar: 0, far: -10 } }
        - { using: family_name, weights: { exact: 5, close: 3, similar: 0, far: -10 } }
      match_threshold: 6
      review_threshold: 3
"#;

/// The store of a run, counting its block lookups; with `scan` off it hides its block index, as
/// a store with other writers does, so the run asks for block values one batch at a time.
struct CountingLookups<'a> {
    store: &'a dyn Store,
    scan: bool,
    lookups: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl concord::store::MatchIndex for CountingLookups<'_> {
    async fn xref_lookup(
        &self,
        source: &str,
        entity: EntityKind,
        keys: &[&str],
    ) -> Result<
        std::collections::HashMap<String, concord::store::XrefHit>,
        concord::store::StoreError,
    > {
        self.store.xref_lookup(source, entity, keys).await
    }
    async fn match_lookup(
        &self,
        entity: EntityKind,
        rule: &str,
        values: &[&str],
    ) -> Result<std::collections::HashMap<String, String>, concord::store::StoreError> {
        self.store.match_lookup(entity, rule, values).await
    }
    async fn load_goldens(
        &self,
        ids: &[&str],
    ) -> Result<Vec<concord::store::GoldenState>, concord::store::StoreError> {
        self.store.load_goldens(ids).await
    }
    async fn block_lookup(
        &self,
        entity: EntityKind,
        values: &[&str],
    ) -> Result<std::collections::HashMap<String, Vec<String>>, concord::store::StoreError> {
        self.lookups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.store.block_lookup(entity, values).await
    }
    async fn block_index(
        &self,
        entity: EntityKind,
        each: &mut (dyn for<'v> FnMut(&'v str, &'v str) + Send),
    ) -> Result<bool, concord::store::StoreError> {
        match self.scan {
            true => self.store.block_index(entity, each).await,
            false => Ok(false),
        }
    }
    async fn golden_records(
        &self,
        ids: &[&str],
    ) -> Result<std::collections::HashMap<String, concord::store::Fields>, concord::store::StoreError>
    {
        self.store.golden_records(ids).await
    }
    async fn member_records(
        &self,
        ids: &[&str],
    ) -> Result<Vec<concord::store::StoredMember>, concord::store::StoreError> {
        self.store.member_records(ids).await
    }
    async fn resolve_id(&self, id: &str) -> Result<Option<String>, concord::store::StoreError> {
        self.store.resolve_id(id).await
    }
    async fn merged_into(&self, id: &str) -> Result<Vec<String>, concord::store::StoreError> {
        self.store.merged_into(id).await
    }
    async fn distinct_pairs(
        &self,
        ids: &[&str],
    ) -> Result<std::collections::HashSet<(String, String)>, concord::store::StoreError> {
        self.store.distinct_pairs(ids).await
    }
    async fn pending_references(
        &self,
        entity: EntityKind,
        keys: &[&str],
    ) -> Result<Vec<concord::store::ReferenceWrite>, concord::store::StoreError> {
        self.store.pending_references(entity, keys).await
    }
    async fn referrers_of(
        &self,
        target_ids: &[&str],
    ) -> Result<Vec<String>, concord::store::StoreError> {
        self.store.referrers_of(target_ids).await
    }
    async fn source_keys(
        &self,
        source: &str,
        entity: EntityKind,
    ) -> Result<Vec<String>, concord::store::StoreError> {
        self.store.source_keys(source, entity).await
    }
    async fn term_counts(
        &self,
        entity: EntityKind,
        term: &str,
        values: &[&str],
    ) -> Result<concord::store::TermCounts, concord::store::StoreError> {
        self.store.term_counts(entity, term, values).await
    }
}

/// Reconciles an earlier run, then three batches of a new one (each reconciled while the one
/// before is still pending, the second by a reconciler that starts cold, as after a restart),
/// with the store's block index read whole or asked for value by value (`scan`). Returns the
/// golden records as sets of keys, and how many block lookups the new run made.
async fn three_pending_batches(project: &Project, scan: bool) -> (Vec<Vec<String>>, usize) {
    use concord::reconcile::view::{Pending, StoreView};
    use std::sync::Arc;

    let db = project.path(if scan { "scan.db" } else { "ask.db" });
    let store = concord::store::open(&format!("sqlite://{}", db.display()))
        .await
        .expect("store");
    let config = project.config();
    let counting = CountingLookups {
        store: store.as_ref(),
        scan,
        lookups: Default::default(),
    };
    let mut earlier = vec![
        person("r0", "Anna", "Kowalczyk"),
        person("r1", "Jonas", "Abel"),
    ];
    earlier.extend((0..40).map(|i| person(&format!("f{i}"), "Otto", &format!("Filler{i:02}"))));
    let new_run = [
        vec![person("a1", "Jonas", "Abel"), person("n1", "Berta", "Neu")],
        vec![person("n2", "Berta", "Neu"), person("z1", "Emil", "Zorn")],
        vec![
            person("a0", "Anna", "Kowalczyk"),
            person("z2", "Emil", "Zorn"),
        ],
    ];
    let mut stats = concord::reconcile::ReconcileStats::default();
    let first_run = store.begin_run("crm", false).await.expect("run");
    let mut batch = concord::store::Batch {
        run_id: first_run,
        source: "crm".into(),
        ..concord::store::Batch::default()
    };
    let view = StoreView {
        store: store.as_ref(),
        pending: None,
    };
    Reconciler::new(&config.matching())
        .expect("rules")
        .apply(&view, "crm", earlier, &mut batch, &mut stats)
        .await
        .expect("reconciles");
    store.commit(&batch).await.expect("commit");

    let run_id = store.begin_run("crm", false).await.expect("run");
    let mut reconciler = Reconciler::new(&config.matching()).expect("rules");
    let mut previous: Option<Arc<concord::store::Batch>> = None;
    for (n, records) in new_run.into_iter().enumerate() {
        if n == 1 {
            reconciler = Reconciler::new(&config.matching()).expect("rules");
        }
        let pending = previous.clone().map(Pending::new);
        let view = StoreView {
            store: &counting,
            pending: pending.as_ref(),
        };
        let mut batch = concord::store::Batch {
            run_id,
            source: "crm".into(),
            ..concord::store::Batch::default()
        };
        reconciler
            .apply(&view, "crm", records, &mut batch, &mut stats)
            .await
            .expect("reconciles");
        if let Some(previous) = previous.take() {
            store.commit(&previous).await.expect("commit");
        }
        previous = Some(Arc::new(batch));
    }
    if let Some(last) = previous {
        store.commit(&last).await.expect("commit");
    }
    let mut groups: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for key in ["r0", "r1", "a0", "a1", "n1", "n2", "z1", "z2"] {
        let id = golden_id(store.as_ref(), "crm", key).await;
        groups.entry(id).or_default().push(key.to_string());
    }
    let mut groups: Vec<Vec<String>> = groups.into_values().collect();
    groups.iter_mut().for_each(|g| g.sort());
    groups.sort();
    let lookups = counting.lookups.load(std::sync::atomic::Ordering::Relaxed);
    (groups, lookups)
}

/// A run that reads the store's block index whole asks for no block value afterwards, and finds
/// what it would have found asking: records stored by an earlier run, by a batch still pending
/// when the index was read, and by a batch of its own after that.
#[tokio::test]
async fn a_run_holding_the_whole_block_index_asks_nothing_and_decides_alike() {
    let project = Project::new();
    project.write("maps/customers.yaml", PERSON_MAPPING);
    project.write("concord.yaml", SAME_NAME_RULES);
    let (scanned, lookups) = three_pending_batches(&project, true).await;
    let (asked, asked_lookups) = three_pending_batches(&project, false).await;
    assert_eq!(lookups, 0);
    assert!(asked_lookups > 0);
    assert_eq!(scanned, asked);
    let pairs: Vec<Vec<String>> = [["a0", "r0"], ["a1", "r1"], ["n1", "n2"], ["z1", "z2"]]
        .iter()
        .map(|pair| pair.iter().map(|k| k.to_string()).collect())
        .collect();
    assert_eq!(scanned, pairs);
}
