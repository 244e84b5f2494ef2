//! A sync of real files, the same on both engines: generated ERP exports (SAP IDocs and ERPNext
//! JSON lines with products and orders; noisy customers from three systems with scored matching)
//! are synced into SQLite and into PostgreSQL, and everything a user can read back must be equal:
//! golden records with lineage and contributors, the events in order, reviews, decisions,
//! quarantine and counts. Golden IDs are random, so each is named by its first source record.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::{Value, json};

use concord::config::Config;
use concord::model::EntityKind;
use concord::store::{self, Store};
use concord::sync::{NoProgress, Pipeline, SourceSummary, SyncOptions};

use super::backend::{PgSchema, sqlite_url};
use super::generator;

/// Everything a user can read back from a store, with golden IDs replaced by names.
#[derive(Debug, PartialEq)]
struct Outcome {
    counts: Value,
    goldens: BTreeMap<String, Value>,
    events: Vec<Value>,
    reviews: Vec<Value>,
    decisions: Vec<Value>,
    quarantine: Vec<Value>,
}

/// Names golden IDs by the smallest `source:key` of the record they lead to.
struct Namer<'a> {
    store: &'a dyn Store,
    names: HashMap<String, String>,
}

impl Namer<'_> {
    async fn name(&mut self, id: &str) -> String {
        if let Some(name) = self.names.get(id) {
            return name.clone();
        }
        let resolved = self
            .store
            .resolve_id(id)
            .await
            .unwrap()
            .unwrap_or_else(|| id.to_string());
        let state = self.store.load_goldens(&[resolved.as_str()]).await.unwrap();
        let name = state
            .first()
            .and_then(|s| {
                s.contributors
                    .iter()
                    .map(|c| format!("{}:{}", c.source, c.key))
                    .min()
            })
            .unwrap_or_else(|| format!("unnamed {id}"));
        self.names.insert(id.to_string(), name.clone());
        name
    }

    /// `value` with every string that is a golden ID replaced by its name.
    async fn rename(&mut self, value: &Value) -> Value {
        let mut ids = Vec::new();
        collect_ids(value, &mut ids);
        let mut names = HashMap::new();
        for id in ids {
            let name = self.name(&id).await;
            names.insert(id, name);
        }
        replace_ids(value, &names)
    }
}

/// Golden IDs are the entity's prefix and a UUID: `cus_01a24c4a4219739eacdd3e9ad9535a4f`.
fn is_golden_id(text: &str) -> bool {
    text.split_once('_')
        .is_some_and(|(prefix, id)| prefix.len() == 3 && uuid::Uuid::parse_str(id).is_ok())
}

fn collect_ids(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if is_golden_id(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_ids(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_ids(v, out)),
        _ => {}
    }
}

fn replace_ids(value: &Value, names: &HashMap<String, String>) -> Value {
    match value {
        Value::String(s) => names
            .get(s)
            .map_or_else(|| value.clone(), |n| Value::String(n.clone())),
        Value::Array(items) => Value::Array(items.iter().map(|v| replace_ids(v, names)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), replace_ids(v, names)))
                .collect(),
        ),
        other => other.clone(),
    }
}

async fn outcome(store: &dyn Store) -> Outcome {
    let mut namer = Namer {
        store,
        names: HashMap::new(),
    };
    let mut states = Vec::new();
    let mut all_ids = Vec::new();
    for entity in EntityKind::ALL {
        let ids = store.golden_ids(entity, 1_000_000).await.unwrap();
        for chunk in ids.chunks(500) {
            let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
            states.extend(store.load_goldens(&chunk).await.unwrap());
        }
        all_ids.extend(ids);
    }
    for state in &states {
        if let Some(name) = state
            .contributors
            .iter()
            .map(|c| format!("{}:{}", c.source, c.key))
            .min()
        {
            namer.names.insert(state.id.clone(), name);
        }
    }
    let mut goldens = BTreeMap::new();
    for state in states {
        let contributors: Vec<Value> = state
            .contributors
            .iter()
            .map(|c| json!([c.source, c.key, c.deleted, c.changed_at, c.record, c.origin]))
            .collect();
        let lineage = serde_json::to_value(&state.lineage).unwrap();
        let name = namer.name(&state.id).await;
        let record = namer.rename(&Value::Object(state.record)).await;
        goldens.insert(
            name,
            json!({"entity": state.entity.as_str(), "version": state.version, "deleted": state.deleted,
                   "record": record, "lineage": lineage, "contributors": contributors}),
        );
    }
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let page = store.events(after, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        for stored in page {
            let e = stored.event;
            events.push(json!({
                "golden": namer.name(&e.golden_id).await,
                "operation": e.operation.as_str(),
                "version": e.version,
                "changed": e.changed,
                "sources": e.sources,
                "merged": e.merged.len(),
                "record": namer.rename(&serde_json::from_str(e.record.get()).unwrap()).await,
            }));
        }
    }
    let mut reviews = Vec::new();
    for r in store.reviews(None, 1_000_000).await.unwrap() {
        reviews.push(json!([
            namer.name(&r.left_id).await,
            namer.name(&r.right_id).await,
            r.source,
            r.key,
            r.rule,
            r.score,
            r.status,
            r.evidence
        ]));
    }
    let ids: Vec<&str> = all_ids.iter().map(String::as_str).collect();
    let mut decisions = Vec::new();
    for d in store.decisions(&ids).await.unwrap() {
        let candidate = match &d.candidate_id {
            Some(id) => Some(namer.name(id).await),
            None => None,
        };
        decisions.push(json!([
            d.source,
            d.key,
            namer.name(&d.golden_id).await,
            candidate,
            d.rule,
            d.decision,
            d.score,
            d.evidence
        ]));
    }
    decisions.sort_by_key(|d| d.to_string());
    let mut quarantine: Vec<Value> = store
        .quarantined(1_000_000)
        .await
        .unwrap()
        .into_iter()
        .map(|q| json!([q.entry, q.times_seen]))
        .collect();
    quarantine.sort_by_key(|q| q.to_string());
    let mut counts = serde_json::to_value(store.counts().await.unwrap()).unwrap();
    // When events were stored differs from one sync to the other.
    counts["oldest_unpublished_at"] = Value::Null;
    Outcome {
        counts,
        goldens,
        events,
        reviews,
        decisions,
        quarantine,
    }
}

/// Fails with the first part that differs, briefly, rather than two whole stores.
fn assert_same(sqlite: &Outcome, postgres: &Outcome) {
    assert_eq!(sqlite.counts, postgres.counts, "counts");
    let only = |a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>| {
        a.keys()
            .filter(|k| !b.contains_key(*k))
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        (
            only(&sqlite.goldens, &postgres.goldens),
            only(&postgres.goldens, &sqlite.goldens)
        ),
        (vec![], vec![]),
        "golden records only in (sqlite, postgres)"
    );
    for (name, record) in &sqlite.goldens {
        assert_eq!(record, &postgres.goldens[name], "golden record {name}");
    }
    for (part, a, b) in [
        ("events", &sqlite.events, &postgres.events),
        ("reviews", &sqlite.reviews, &postgres.reviews),
        ("decisions", &sqlite.decisions, &postgres.decisions),
        ("quarantine", &sqlite.quarantine, &postgres.quarantine),
    ] {
        assert_eq!(a.len(), b.len(), "number of {part}");
        for (n, (x, y)) in a.iter().zip(b).enumerate() {
            assert_eq!(x, y, "{part} #{n}");
        }
    }
}

async fn sync(config: &Config, store: &dyn Store, full: bool) -> Vec<SourceSummary> {
    let options = SyncOptions {
        full,
        batch_size: 300,
        ..SyncOptions::default()
    };
    Pipeline::compile(config.clone())
        .expect("mappings compile")
        .sync(store, &options, &NoProgress)
        .await
        .expect("sync runs")
}

/// Syncs the project at `config` into both engines (and once more with `--full`, which must
/// change nothing) and compares what each holds.
async fn sync_on_both(dir: &Path, config: &Path) -> Outcome {
    let config = Config::load(config).expect("generated config loads");
    let sqlite = store::open(&sqlite_url(dir)).await.expect("sqlite opens");
    let first = sync(&config, sqlite.as_ref(), false).await;
    let expected = outcome(sqlite.as_ref()).await;
    assert!(
        first.iter().all(|s| s.errors.is_empty()),
        "{first:?} reads cleanly"
    );

    let schema = PgSchema::create().await;
    let postgres = store::open(&schema.url()).await.expect("postgres opens");
    schema
        .run(async {
            let on_postgres = sync(&config, postgres.as_ref(), false).await;
            let events = |s: &[SourceSummary]| s.iter().map(|s| s.reconcile.events).sum::<u64>();
            assert_eq!(events(&on_postgres), events(&first));
            assert_same(&expected, &outcome(postgres.as_ref()).await);

            let again = sync(&config, postgres.as_ref(), true).await;
            assert_eq!(events(&again), 0, "an unchanged re-sync changes nothing");
            assert_same(&expected, &outcome(postgres.as_ref()).await);
        })
        .await;
    expected
}

#[tokio::test]
async fn erp_exports_with_products_and_orders_sync_alike_on_both_engines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = generator::generate(
        dir.path(),
        &generator::GenSpec {
            customers: 600,
            overlap: 0.3,
            seed: 17,
        },
    )
    .expect("generates");
    let outcome = sync_on_both(dir.path(), &manifest.config).await;
    let golden = |entity: &str| outcome.counts["golden"][entity].as_i64().unwrap_or(0);
    assert_eq!(golden("customer"), manifest.distinct_companies as i64);
    assert_eq!(golden("product"), manifest.products as i64);
    assert_eq!(golden("order"), manifest.orders as i64);
}

#[tokio::test]
async fn noisy_customers_matched_by_score_sync_alike_on_both_engines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = generator::noisy::generate(
        dir.path(),
        &generator::noisy::NoisySpec {
            records: 800,
            seed: 5,
        },
    )
    .expect("generates");
    let outcome = sync_on_both(dir.path(), &manifest.config).await;
    assert!(!outcome.reviews.is_empty(), "some pairs wait for review");
    assert!(!outcome.decisions.is_empty());
}
