//! The store's behaviour, written once and run against both engines: SQLite (a temporary file)
//! and PostgreSQL (`CONCORD_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/test`, in a
//! fresh schema per test, dropped at the end). Each behaviour is a function taking `&dyn Store`;
//! `on_both!` turns it into one test per engine.

#[path = "store/backend.rs"]
mod backend;
#[path = "../benches/generator/mod.rs"]
mod generator;
#[path = "store/same_sync.rs"]
mod same_sync;

use std::collections::HashSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use concord::model::EntityKind;
use concord::store::{
    Batch, BlockKeyWrite, DecisionWrite, EventWrite, FieldSource, Fields, GoldenWrite, Lineage,
    MatchKeyWrite, MatchWrites, MergeWrite, Operation, QuarantineEntry, ReferenceWrite, Relink,
    ReviewStatus, ReviewWrite, RunStatus, Store, XrefWrite,
};

use backend::on_both;

const CUSTOMER: EntityKind = EntityKind::Customer;

fn fields(value: Value) -> Fields {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// A time with microseconds, as sources and the clock give them.
fn at(seconds: i64, micros: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 14, 7, 30, 0).unwrap()
        + Duration::seconds(seconds)
        + Duration::microseconds(i64::from(micros))
}

fn from(source: &str, key: &str, changed_at: Option<DateTime<Utc>>) -> FieldSource {
    FieldSource {
        source: source.into(),
        key: key.into(),
        changed_at,
    }
}

fn xref(source: &str, key: &str, golden_id: &str, record: Value) -> XrefWrite {
    let record_text = record.to_string();
    XrefWrite {
        source: source.into(),
        entity: CUSTOMER,
        key: key.into(),
        golden_id: golden_id.into(),
        content_hash: blake3::hash(record_text.as_bytes()).as_bytes()[..16].to_vec(),
        record_text,
        changed_at: Some(at(0, 250_001)),
        deleted: false,
        origin: format!("{source}/export_20240514.json:{key}"),
        field_times: Default::default(),
    }
}

fn golden(
    id: &str,
    version: i64,
    record: Value,
    lineage: Lineage,
    changed: &[&str],
) -> GoldenWrite {
    GoldenWrite {
        id: id.into(),
        entity: CUSTOMER,
        version,
        record: fields(record),
        lineage,
        deleted: false,
        changed: changed.iter().map(|c| c.to_string()).collect(),
    }
}

fn event(id: &str, operation: Operation, golden_id: &str, version: i64) -> EventWrite {
    EventWrite {
        event_id: id.into(),
        entity: CUSTOMER,
        operation,
        golden_id: golden_id.into(),
        version,
        merged: Vec::new(),
        at: at(version, 123_457),
    }
}

/// A new golden record from one source record, with its created event: what a first sync writes.
fn created(run_id: i64, source: &str, key: &str, id: &str, record: Value) -> Batch {
    let lineage: Lineage = record
        .as_object()
        .unwrap()
        .keys()
        .map(|field| (field.clone(), from(source, key, Some(at(0, 250_001)))))
        .collect();
    Batch {
        run_id,
        source: source.into(),
        xrefs: vec![xref(source, key, id, record.clone())],
        goldens: vec![golden(id, 1, record, lineage, &[])],
        events: vec![event(&format!("ev-{id}-1"), Operation::Created, id, 1)],
        ..Batch::default()
    }
}

fn quarantined(origin: &str, key: &str, reason: &str) -> QuarantineEntry {
    QuarantineEntry {
        source: "distributor".into(),
        origin: origin.into(),
        key: Some(key.into()),
        mapping: Some("mappings/distributor/customer.yaml".into()),
        reason: reason.into(),
        payload: json!({"Kundennr": key, "Firma": "   ", "PLZ": "7O173"}),
        stream: None,
    }
}

/// A batch of run 2 that merges each `(loser, survivor)` of customers, in order.
fn merging(pairs: &[(&str, &str)]) -> Batch {
    Batch {
        run_id: 2,
        source: "sap".into(),
        matching: MatchWrites {
            merges: pairs
                .iter()
                .map(|(loser, survivor)| MergeWrite {
                    entity: CUSTOMER,
                    loser: loser.to_string(),
                    survivor: survivor.to_string(),
                })
                .collect(),
            ..MatchWrites::default()
        },
        ..Batch::default()
    }
}

async fn commit(store: &dyn Store, batch: Batch) {
    store.commit(&batch).await.expect("batch commits");
}

async fn live_count(store: &dyn Store) -> i64 {
    let counts = store.counts().await.unwrap();
    counts.golden.get("customer").copied().unwrap_or(0)
}

on_both!(
    runs_are_numbered_in_the_order_they_begin,
    checkpoints_advance_only_with_a_batch_that_carries_one,
    a_batch_that_fails_leaves_nothing_behind,
    a_source_record_written_again_replaces_its_cross_reference,
    a_match_key_keeps_the_golden_record_that_claimed_it_first,
    a_golden_record_reads_back_as_written_with_its_contributors,
    every_version_is_kept_and_each_event_carries_the_version_it_announces,
    events_page_in_order_and_a_publication_is_marked_once,
    the_same_quarantined_failure_is_counted_not_repeated,
    replayed_quarantine_entries_are_resolved_or_take_their_new_reason,
    live_golden_ids_are_listed_in_byte_order,
    a_merge_moves_keys_and_references_to_the_survivor_and_redirects,
    merges_chained_in_one_batch_lead_every_key_to_the_last_survivor,
    an_unmerge_relinks_source_records_and_moves_their_keys,
    the_review_queue_keeps_one_item_per_pair_and_records_decisions,
    a_merge_closes_the_review_items_whose_sides_it_joins,
    references_wait_for_their_target_and_are_rewritten_whole,
    deleted_source_records_take_no_part_in_matching_or_training,
    a_spawned_commit_is_written_while_the_caller_goes_on,
    a_batch_being_committed_stands_in_for_the_stored_records_it_changed,
);

async fn runs_are_numbered_in_the_order_they_begin(store: &dyn Store) {
    let first = store.begin_run("sap", true).await.unwrap();
    let second = store.begin_run("erpnext", false).await.unwrap();
    assert!(second > first, "{first} then {second}");
    store
        .finish_run(first, RunStatus::Succeeded, &json!({"read": 2}), None)
        .await
        .unwrap();
    store
        .finish_run(
            second,
            RunStatus::Failed,
            &json!({"read": 0}),
            Some("erpnext: HTTP 503 Service Unavailable"),
        )
        .await
        .unwrap();
    assert!(store.begin_run("sap", false).await.unwrap() > second);
}

async fn checkpoints_advance_only_with_a_batch_that_carries_one(store: &dyn Store) {
    assert_eq!(store.checkpoint("sap").await.unwrap(), None);
    let cursor =
        json!({"mappings": "5f3a", "cursor": {"file": "sap/DEBMAS_0001.xml", "offset": 18_433}});
    let mut batch = created(1, "sap", "4711", "g-1", json!({"name": "Müller GmbH"}));
    batch.checkpoint = Some(cursor.clone());
    commit(store, batch).await;
    assert_eq!(store.checkpoint("sap").await.unwrap(), Some(cursor.clone()));

    commit(
        store,
        created(1, "sap", "4712", "g-2", json!({"name": "Schmidt AG"})),
    )
    .await;
    assert_eq!(
        store.checkpoint("sap").await.unwrap(),
        Some(cursor),
        "a batch without a checkpoint leaves the cursor where it was"
    );
    assert_eq!(store.checkpoint("erpnext").await.unwrap(), None);

    let next = json!({"mappings": "5f3a", "cursor": {"modified": "2024-05-14 09:31:22.000417"}});
    commit(
        store,
        Batch {
            run_id: 2,
            source: "sap".into(),
            checkpoint: Some(next.clone()),
            ..Batch::default()
        },
    )
    .await;
    assert_eq!(store.checkpoint("sap").await.unwrap(), Some(next));
}

async fn a_batch_that_fails_leaves_nothing_behind(store: &dyn Store) {
    let mut first = created(1, "sap", "4711", "g-1", json!({"name": "Müller GmbH"}));
    first.checkpoint = Some(json!({"cursor": 1}));
    commit(store, first).await;
    let before = store.counts().await.unwrap();

    // The second batch reuses an event ID: the outbox refuses it, and with it the whole batch.
    let mut second = created(2, "sap", "4712", "g-2", json!({"name": "Schmidt AG"}));
    second.events[0].event_id = "ev-g-1-1".into();
    second.checkpoint = Some(json!({"cursor": 2}));
    second.quarantine = vec![quarantined(
        "sap/DEBMAS_0002.xml:7",
        "4713",
        "name is required",
    )];
    second.matching.block_keys = vec![BlockKeyWrite {
        entity: CUSTOMER,
        value: "70173|MLR".into(),
        golden_id: "g-2".into(),
    }];
    assert!(store.commit(&second).await.is_err());

    assert_eq!(store.counts().await.unwrap(), before);
    assert_eq!(
        store.checkpoint("sap").await.unwrap(),
        Some(json!({"cursor": 1}))
    );
    assert!(
        store
            .xref_lookup("sap", CUSTOMER, &["4712"])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.load_goldens(&["g-2"]).await.unwrap().is_empty());
    assert!(
        store
            .block_lookup(CUSTOMER, &["70173|MLR"])
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_source_record_written_again_replaces_its_cross_reference(store: &dyn Store) {
    commit(
        store,
        created(1, "sap", "4711", "g-1", json!({"name": "Müller GmbH"})),
    )
    .await;
    commit(
        store,
        created(1, "sap", "4712", "g-2", json!({"name": "Schmidt AG"})),
    )
    .await;
    let changed = xref(
        "sap",
        "4711",
        "g-2",
        json!({"name": "Müller GmbH", "city": "Stuttgart"}),
    );
    commit(
        store,
        Batch {
            run_id: 2,
            source: "sap".into(),
            xrefs: vec![changed.clone()],
            ..Batch::default()
        },
    )
    .await;
    let hits = store
        .xref_lookup("sap", CUSTOMER, &["4711", "4712", "9999"])
        .await
        .unwrap();
    assert_eq!(hits.len(), 2, "an unknown key is left out: {hits:?}");
    assert_eq!(hits["4711"].golden_id, "g-2");
    assert_eq!(hits["4711"].content_hash, changed.content_hash);
    assert!(
        store
            .xref_lookup("erpnext", CUSTOMER, &["4711"])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .xref_lookup("sap", EntityKind::Product, &["4711"])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.counts().await.unwrap().xrefs, 2);

    // A key delivered twice in one batch ends as its last delivery.
    let twice = Batch {
        run_id: 3,
        source: "sap".into(),
        xrefs: vec![
            xref("sap", "4713", "g-1", json!({"name": "Weber KG"})),
            xref("sap", "4713", "g-2", json!({"name": "Weber KG Ulm"})),
        ],
        ..Batch::default()
    };
    commit(store, twice).await;
    let hits = store.xref_lookup("sap", CUSTOMER, &["4713"]).await.unwrap();
    assert_eq!(hits["4713"].golden_id, "g-2");
    // Training reads source records in the order they were first stored; an update keeps its place.
    let names: Vec<Value> = store
        .source_records(CUSTOMER)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, vec!["Müller GmbH", "Schmidt AG", "Weber KG Ulm"]);
}

async fn a_match_key_keeps_the_golden_record_that_claimed_it_first(store: &dyn Store) {
    let key = |value: &str, golden_id: &str| MatchKeyWrite {
        entity: CUSTOMER,
        rule: "tax_id".into(),
        value: value.into(),
        golden_id: golden_id.into(),
    };
    let batch = |keys| Batch {
        run_id: 1,
        source: "sap".into(),
        match_keys: keys,
        ..Batch::default()
    };
    commit(store, batch(vec![key("DE123456789", "g-1")])).await;
    commit(
        store,
        batch(vec![
            key("DE123456789", "g-2"),
            key("ATU12345678", "g-3"),
            key("ATU12345678", "g-4"),
        ]),
    )
    .await;
    let found = store
        .match_lookup(CUSTOMER, "tax_id", &["DE123456789", "ATU12345678", "FR999"])
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found["DE123456789"], "g-1");
    assert_eq!(found["ATU12345678"], "g-3", "the first in a batch wins too");
    assert!(
        store
            .match_lookup(CUSTOMER, "email", &["DE123456789"])
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_golden_record_reads_back_as_written_with_its_contributors(store: &dyn Store) {
    // Fields in mapping order (not alphabetical), nested values, non-Latin text and quotes.
    let record = json!({
        "name": "Müller & Söhne \"Präzision\" GmbH",
        "tax_id": "DE123456789",
        "addresses": [{"street": "Königstraße 1", "city": "Stuttgart", "country": "DE"}],
        "emails": ["info@mueller-soehne.de", "einkauf@mueller-soehne.de"],
        "credit_limit": 25000.5,
        "blocked": false,
        "note": "株式会社ミュラー 取引先\nzweite Zeile\ttab",
        "fax": null
    });
    let lineage: Lineage = [
        ("name", from("sap", "0000004711", Some(at(0, 1)))),
        ("tax_id", from("sap", "0000004711", Some(at(0, 1)))),
        ("addresses", from("sap", "0000004711", Some(at(0, 1)))),
        ("emails", from("shop", "C-1", None)),
        (
            "emails[1]",
            from("erpnext", "CUST-00042", Some(at(60, 999_999))),
        ),
        (
            "credit_limit",
            from("erpnext", "CUST-00042", Some(at(60, 999_999))),
        ),
    ]
    .into_iter()
    .map(|(field, source)| (field.to_string(), source))
    .collect();
    let mut batch = Batch {
        run_id: 1,
        source: "sap".into(),
        goldens: vec![golden("g-1", 1, record.clone(), lineage.clone(), &[])],
        ..Batch::default()
    };
    for (source, key) in [
        ("shop", "C-1"),
        ("sap", "0000004711"),
        ("erpnext", "CUST-00042"),
    ] {
        batch.xrefs.push(xref(
            source,
            key,
            "g-1",
            json!({"name": format!("{source} {key}"), "zip": "70173"}),
        ));
    }
    batch.xrefs[2].changed_at = None;
    batch.xrefs[2].deleted = true;
    commit(store, batch).await;

    let mut loaded = store.load_goldens(&["g-1", "g-unknown"]).await.unwrap();
    assert_eq!(loaded.len(), 1);
    let state = loaded.pop().unwrap();
    assert_eq!((state.id.as_str(), state.version), ("g-1", 1));
    assert_eq!(state.entity, CUSTOMER);
    assert_eq!(Value::Object(state.record.clone()), record);
    let order: Vec<&String> = state.record.keys().collect();
    assert_eq!(
        order,
        [
            "name",
            "tax_id",
            "addresses",
            "emails",
            "credit_limit",
            "blocked",
            "note",
            "fax"
        ],
        "fields keep their order"
    );
    assert_eq!(state.lineage, lineage, "lineage with its microseconds");
    assert!(!state.deleted);
    let contributors: Vec<(&str, &str, bool)> = state
        .contributors
        .iter()
        .map(|c| (c.source.as_str(), c.key.as_str(), c.deleted))
        .collect();
    assert_eq!(
        contributors,
        [
            ("erpnext", "CUST-00042", true),
            ("sap", "0000004711", false),
            ("shop", "C-1", false)
        ],
        "by source, then key"
    );
    assert_eq!(state.contributors[0].changed_at, None);
    assert_eq!(state.contributors[1].changed_at, Some(at(0, 250_001)));
    assert_eq!(
        state.contributors[1].origin,
        "sap/export_20240514.json:0000004711"
    );
    assert_eq!(state.contributors[1].record["zip"], "70173");
}

async fn every_version_is_kept_and_each_event_carries_the_version_it_announces(store: &dyn Store) {
    commit(
        store,
        created(1, "sap", "4711", "g-1", json!({"name": "Müller GmbH"})),
    )
    .await;
    let mut lineage: Lineage = [
        (
            "name".to_string(),
            from("sap", "4711", Some(at(0, 250_001))),
        ),
        ("emails".to_string(), from("shop", "C-1", Some(at(90, 0)))),
        ("emails[1]".to_string(), from("erpnext", "E-7", None)),
    ]
    .into_iter()
    .collect();
    let updated = json!({"name": "Müller GmbH", "emails": ["info@mueller.de", "ap@mueller.de"]});
    commit(
        store,
        Batch {
            run_id: 2,
            source: "shop".into(),
            goldens: vec![golden(
                "g-1",
                2,
                updated.clone(),
                lineage.clone(),
                &["emails"],
            )],
            events: vec![event("ev-g-1-2", Operation::Updated, "g-1", 2)],
            ..Batch::default()
        },
    )
    .await;
    lineage.remove("emails[1]");
    let mut gone = golden("g-1", 3, updated.clone(), lineage, &[]);
    gone.deleted = true;
    commit(
        store,
        Batch {
            run_id: 3,
            source: "sap".into(),
            goldens: vec![gone],
            events: vec![event("ev-g-1-3", Operation::Deleted, "g-1", 3)],
            ..Batch::default()
        },
    )
    .await;

    let history = store.history("g-1").await.unwrap();
    let summary: Vec<(i64, bool, i64, Vec<String>)> = history
        .iter()
        .map(|v| (v.version, v.deleted, v.run_id, v.changed.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, false, 1, vec![]),
            (2, false, 2, vec!["emails".to_string()]),
            (3, true, 3, vec![])
        ]
    );
    assert_eq!(Value::Object(history[1].record.clone()), updated);

    let events = store.events(0, 10).await.unwrap();
    let operations: Vec<(Operation, i64)> = events
        .iter()
        .map(|e| (e.event.operation, e.event.version))
        .collect();
    assert_eq!(
        operations,
        [
            (Operation::Created, 1),
            (Operation::Updated, 2),
            (Operation::Deleted, 3)
        ]
    );
    let update = &events[1].event;
    assert_eq!(update.changed, ["emails"]);
    assert_eq!(
        serde_json::from_str::<Value>(update.record.get()).unwrap(),
        updated
    );
    let sources: Vec<&str> = update.sources.keys().map(String::as_str).collect();
    assert_eq!(
        sources,
        ["emails", "emails[1]"],
        "the changed field's lineage, its elements included"
    );
    assert_eq!(update.at, at(2, 123_457), "event times keep microseconds");
    assert!(events.iter().all(|e| e.published_at.is_none()));

    let counts = store.counts().await.unwrap();
    assert_eq!((counts.versions, counts.events), (3, 3));
    assert_eq!(live_count(store).await, 0, "a deleted record is not live");
    let state = store.load_goldens(&["g-1"]).await.unwrap().pop().unwrap();
    assert!(state.deleted);
    assert_eq!(state.version, 3);
}

async fn events_page_in_order_and_a_publication_is_marked_once(store: &dyn Store) {
    let ids = ["g-1", "g-2", "g-3", "g-4", "g-5"];
    for (n, id) in ids.iter().enumerate() {
        commit(
            store,
            created(
                1,
                "sap",
                &format!("47{n}"),
                id,
                json!({"name": format!("Kunde {n}")}),
            ),
        )
        .await;
    }
    let mut merged = created(2, "sap", "480", "g-6", json!({"name": "Kunde 6"}));
    merged.events[0].operation = Operation::Merged;
    merged.events[0].merged = vec!["g-4".into(), "g-5".into()];
    commit(store, merged).await;

    let all = store.events(0, 100).await.unwrap();
    assert_eq!(all.len(), 6);
    let seqs: Vec<i64> = all.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let golden_ids: Vec<&str> = all.iter().map(|e| e.event.golden_id.as_str()).collect();
    assert_eq!(golden_ids, ["g-1", "g-2", "g-3", "g-4", "g-5", "g-6"]);
    assert_eq!(all[5].event.merged, ["g-4", "g-5"]);
    assert!(all[0].event.merged.is_empty());

    let page = store.events(seqs[1], 2).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), &seqs[2..4]);

    store.mark_published(&seqs[..2]).await.unwrap();
    let pending = store.pending_events(0, 100).await.unwrap();
    assert_eq!(
        pending.iter().map(|e| e.seq).collect::<Vec<_>>(),
        &seqs[2..]
    );
    let pending = store.pending_events(seqs[3], 1).await.unwrap();
    assert_eq!(pending.iter().map(|e| e.seq).collect::<Vec<_>>(), [seqs[4]]);
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.unpublished_events, 4);
    assert_eq!(
        counts.oldest_unpublished_at.as_deref(),
        Some("2024-05-14T07:30:01.123457Z"),
        "the oldest waiting event's time"
    );

    let first_publication = store.events(0, 1).await.unwrap()[0].published_at;
    assert!(first_publication.is_some());
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store.mark_published(&seqs[..3]).await.unwrap();
    let again = store.events(0, 3).await.unwrap();
    assert_eq!(
        again[0].published_at, first_publication,
        "a second acknowledgement keeps the first publication time"
    );
    assert!(again[2].published_at > first_publication);

    assert_eq!(store.event_seq("ev-g-3-1").await.unwrap(), Some(seqs[2]));
    assert_eq!(store.event_seq("no-such-event").await.unwrap(), None);
    // Event times are at(version, …): every created event is at(1, …), the merged one too.
    assert_eq!(
        store.first_seq_since(at(1, 0)).await.unwrap(),
        Some(seqs[0])
    );
    assert_eq!(store.first_seq_since(at(1, 123_458)).await.unwrap(), None);
}

async fn the_same_quarantined_failure_is_counted_not_repeated(store: &dyn Store) {
    let blank = quarantined("distributor/customers.csv:17", "K-0017", "name is required");
    let zip = quarantined(
        "distributor/customers.csv:18",
        "K-0018",
        "postal_code: `7O173` is not a number",
    );
    commit(
        store,
        Batch {
            run_id: 1,
            source: "distributor".into(),
            quarantine: vec![blank.clone(), zip.clone(), blank.clone()],
            ..Batch::default()
        },
    )
    .await;
    let rows = store.quarantined(10).await.unwrap();
    assert_eq!(rows.len(), 2);
    let seen = |rows: &[concord::store::StoredQuarantine], key: &str| {
        let row = rows
            .iter()
            .find(|r| r.entry.key.as_deref() == Some(key))
            .unwrap();
        (row.times_seen, row.run_id)
    };
    assert_eq!(seen(&rows, "K-0017"), (2, 1));
    assert_eq!(seen(&rows, "K-0018"), (1, 1));

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    commit(
        store,
        Batch {
            run_id: 2,
            source: "distributor".into(),
            quarantine: vec![blank.clone()],
            ..Batch::default()
        },
    )
    .await;
    let rows = store.quarantined(10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].entry, blank,
        "newest first: the failure met again comes first"
    );
    assert_eq!(seen(&rows, "K-0017"), (3, 2));
    assert_eq!(
        rows[1].entry.payload["PLZ"], "7O173",
        "the raw payload is kept"
    );
    assert_eq!(store.quarantined(1).await.unwrap().len(), 1);
    assert_eq!(store.counts().await.unwrap().quarantined, 2);
}

async fn live_golden_ids_are_listed_in_byte_order(store: &dyn Store) {
    let ids = ["b-2", "B-1", "a-3", "_x", "ä-1", "a-10", "Z"];
    let mut batch = Batch {
        run_id: 1,
        source: "sap".into(),
        ..Batch::default()
    };
    for id in ids {
        batch
            .goldens
            .push(golden(id, 1, json!({"name": id}), Lineage::new(), &[]));
    }
    let mut gone = golden("a-0", 1, json!({"name": "gone"}), Lineage::new(), &[]);
    gone.deleted = true;
    batch.goldens.push(gone);
    batch.goldens.push(golden(
        "a-1",
        1,
        json!({"name": "merged"}),
        Lineage::new(),
        &[],
    ));
    let mut product = golden(
        "a-2",
        1,
        json!({"name": "Schraube M8"}),
        Lineage::new(),
        &[],
    );
    product.entity = EntityKind::Product;
    batch.goldens.push(product);
    commit(store, batch).await;
    commit(
        store,
        Batch {
            run_id: 2,
            source: "sap".into(),
            matching: MatchWrites {
                merges: vec![MergeWrite {
                    entity: CUSTOMER,
                    loser: "a-1".into(),
                    survivor: "a-3".into(),
                }],
                ..MatchWrites::default()
            },
            ..Batch::default()
        },
    )
    .await;

    let mut expected: Vec<&str> = ids.to_vec();
    expected.sort();
    assert_eq!(
        store.golden_ids(CUSTOMER, 100).await.unwrap(),
        expected,
        "neither deleted nor merged away nor another entity, in byte order"
    );
    assert_eq!(store.golden_ids(CUSTOMER, 3).await.unwrap(), &expected[..3]);
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.golden.get("customer"), Some(&7));
    assert_eq!(counts.golden.get("product"), Some(&1));
}

/// Three golden records with keys, block values, a reference and a decision each; `g-a` is
/// merged into `g-b`, then `g-b` into `g-c`.
async fn a_merge_moves_keys_and_references_to_the_survivor_and_redirects(store: &dyn Store) {
    for (n, id) in ["g-a", "g-b", "g-c"].into_iter().enumerate() {
        let mut batch = created(
            1,
            "sap",
            &format!("471{n}"),
            id,
            json!({"name": "Müller GmbH"}),
        );
        batch.match_keys.push(MatchKeyWrite {
            entity: CUSTOMER,
            rule: "tax_id".into(),
            value: format!("DE10000000{n}"),
            golden_id: id.into(),
        });
        batch.matching.block_keys = vec![
            BlockKeyWrite {
                entity: CUSTOMER,
                value: "70173|MLR".into(),
                golden_id: id.into(),
            },
            BlockKeyWrite {
                entity: CUSTOMER,
                value: format!("phone|+4971112345{n}"),
                golden_id: id.into(),
            },
        ];
        batch.matching.references = vec![ReferenceWrite {
            referrer_id: format!("order-{n}"),
            source: "sap".into(),
            entity: CUSTOMER,
            key: format!("471{n}"),
            target_id: Some(id.into()),
        }];
        commit(store, batch).await;
    }
    commit(store, merging(&[("g-a", "g-b")])).await;
    commit(store, merging(&[("g-b", "g-c")])).await;

    for id in ["g-a", "g-b", "g-c"] {
        assert_eq!(store.resolve_id(id).await.unwrap().as_deref(), Some("g-c"));
    }
    assert_eq!(store.resolve_id("g-unknown").await.unwrap(), None);
    assert_eq!(store.merged_into("g-c").await.unwrap(), ["g-a", "g-b"]);
    assert_eq!(store.merged_into("g-b").await.unwrap(), ["g-a"]);
    assert!(store.merged_into("g-a").await.unwrap().is_empty());

    let hits = store
        .xref_lookup("sap", CUSTOMER, &["4710", "4711", "4712"])
        .await
        .unwrap();
    assert!(hits.values().all(|h| h.golden_id == "g-c"), "{hits:?}");
    let keys = store
        .match_lookup(CUSTOMER, "tax_id", &["DE100000000", "DE100000001"])
        .await
        .unwrap();
    assert!(keys.values().all(|id| id == "g-c") && keys.len() == 2);
    let blocks = store
        .block_lookup(CUSTOMER, &["70173|MLR", "phone|+49711123450"])
        .await
        .unwrap();
    assert_eq!(blocks["70173|MLR"], ["g-c"], "one row per survivor");
    assert_eq!(blocks["phone|+49711123450"], ["g-c"]);
    let mut indexed = Vec::new();
    let whole = store
        .block_index(CUSTOMER, &mut |value, id| {
            indexed.push((value.to_string(), id.to_string()))
        })
        .await
        .unwrap();
    if whole {
        indexed.sort();
        indexed.dedup();
        assert_eq!(
            indexed,
            [
                ("70173|MLR", "g-c"),
                ("phone|+49711123450", "g-c"),
                ("phone|+49711123451", "g-c"),
                ("phone|+49711123452", "g-c"),
            ]
            .map(|(v, id)| (v.to_string(), id.to_string())),
            "a scan of the index leads merged records to their survivor too"
        );
    }
    assert_eq!(
        store.referrers_of(&["g-c"]).await.unwrap(),
        ["order-0", "order-1", "order-2"]
    );
    assert!(store.referrers_of(&["g-a"]).await.unwrap().is_empty());
    let records = store.golden_records(&["g-a", "g-b", "g-c"]).await.unwrap();
    assert_eq!(
        records.keys().collect::<Vec<_>>(),
        ["g-c"],
        "merged records are not live"
    );
    let members = store.member_records(&["g-c"]).await.unwrap();
    assert_eq!(members.len(), 3);
    assert_eq!(live_count(store).await, 1);
}

/// One batch merges `g-a` into `g-b` and then `g-b` into `g-c`: the keys and source records of
/// both losers end at `g-c`, and a golden record the batch did not merge keeps its own.
async fn merges_chained_in_one_batch_lead_every_key_to_the_last_survivor(store: &dyn Store) {
    for (n, id) in ["g-a", "g-b", "g-c", "g-d"].into_iter().enumerate() {
        let mut batch = created(1, "sap", &format!("471{n}"), id, json!({"name": "Müller"}));
        batch.match_keys.push(MatchKeyWrite {
            entity: CUSTOMER,
            rule: "tax_id".into(),
            value: format!("DE10000000{n}"),
            golden_id: id.into(),
        });
        commit(store, batch).await;
    }
    commit(store, merging(&[("g-a", "g-b"), ("g-b", "g-c")])).await;
    let values = ["DE100000000", "DE100000001", "DE100000002", "DE100000003"];
    let keys = store
        .match_lookup(CUSTOMER, "tax_id", &values)
        .await
        .unwrap();
    let owners: Vec<&str> = values.iter().map(|v| keys[*v].as_str()).collect();
    assert_eq!(owners, ["g-c", "g-c", "g-c", "g-d"]);
    let hits = store
        .xref_lookup("sap", CUSTOMER, &["4710", "4711", "4712"])
        .await
        .unwrap();
    assert!(hits.values().all(|h| h.golden_id == "g-c"), "{hits:?}");
}

/// Scoring reads a golden record's members while the batch before is still being committed. The
/// batch's copy of a source record is the current one whether or not its commit has finished:
/// never the stale stored copy beside it, never both copies, and never a record the batch moved
/// to another golden record or deleted.
async fn a_batch_being_committed_stands_in_for_the_stored_records_it_changed(store: &dyn Store) {
    use concord::reconcile::view::{Pending, StoreView};
    use std::sync::Arc;

    let mut first = created(1, "sap", "4711", "g-1", json!({"name": "Müller GmbH"}));
    for (key, name) in [("4712", "Müller Logistik"), ("4713", "Müller Service")] {
        first
            .xrefs
            .push(xref("sap", key, "g-1", json!({"name": name})));
    }
    commit(store, first).await;
    let mut gone = xref("sap", "4713", "g-1", json!({"name": "Müller Service"}));
    gone.deleted = true;
    let second = Arc::new(Batch {
        run_id: 2,
        source: "sap".into(),
        xrefs: vec![
            xref("sap", "4711", "g-1", json!({"name": "Müller AG"})),
            xref("sap", "4712", "g-2", json!({"name": "Müller Logistik"})),
            gone,
            xref("shop", "C-9", "g-1", json!({"name": "Mueller AG"})),
        ],
        ..Batch::default()
    });
    let pending = Pending::new(Arc::clone(&second));
    let view = StoreView {
        store,
        pending: Some(&pending),
    };
    let names = async || {
        let mut names: Vec<String> = view
            .member_records(CUSTOMER, &["g-1"])
            .await
            .unwrap()
            .into_iter()
            .map(|(id, record)| format!("{id} {}", record["name"]))
            .collect();
        names.sort();
        names
    };
    let expected = [r#"g-1 "Mueller AG""#, r#"g-1 "Müller AG""#];
    assert_eq!(names().await, expected, "before the batch commits");
    store.commit(&second).await.expect("batch commits");
    assert_eq!(names().await, expected, "after the batch commits");
}

async fn an_unmerge_relinks_source_records_and_moves_their_keys(store: &dyn Store) {
    let mut batch = created(1, "sap", "4711", "g-1", json!({"name": "Müller GmbH"}));
    batch
        .xrefs
        .push(xref("shop", "C-9", "g-1", json!({"name": "Müller Jr."})));
    batch.match_keys = vec![MatchKeyWrite {
        entity: CUSTOMER,
        rule: "email".into(),
        value: "jr@mueller.de".into(),
        golden_id: "g-1".into(),
    }];
    commit(store, batch).await;
    let mut split = created(2, "shop", "C-9", "g-2", json!({"name": "Müller Jr."}));
    split.xrefs.clear();
    split.matching.relinks = vec![Relink {
        source: "shop".into(),
        entity: CUSTOMER,
        key: "C-9".into(),
        golden_id: "g-2".into(),
    }];
    split.matching.moved_keys = vec![MatchKeyWrite {
        entity: CUSTOMER,
        rule: "email".into(),
        value: "jr@mueller.de".into(),
        golden_id: "g-2".into(),
    }];
    split.matching.distinct_pairs = vec![("g-2".into(), "g-1".into(), "unmerged".into())];
    commit(store, split).await;

    let hits = store.xref_lookup("shop", CUSTOMER, &["C-9"]).await.unwrap();
    assert_eq!(hits["C-9"].golden_id, "g-2");
    let keys = store
        .match_lookup(CUSTOMER, "email", &["jr@mueller.de"])
        .await
        .unwrap();
    assert_eq!(keys["jr@mueller.de"], "g-2");
    let pairs = store.distinct_pairs(&["g-1", "g-2", "g-3"]).await.unwrap();
    assert_eq!(
        pairs,
        HashSet::from([("g-1".to_string(), "g-2".to_string())]),
        "stored smaller first"
    );
    assert!(store.distinct_pairs(&["g-1"]).await.unwrap().is_empty());
    let state = store.load_goldens(&["g-1"]).await.unwrap().pop().unwrap();
    assert_eq!(state.contributors.len(), 1);
}

async fn the_review_queue_keeps_one_item_per_pair_and_records_decisions(store: &dyn Store) {
    let review = |left: &str, right: &str, score: f64| ReviewWrite {
        entity: CUSTOMER,
        left_id: left.into(),
        right_id: right.into(),
        source: "erpnext".into(),
        key: "CUST-00042".into(),
        rule: "similar_company".into(),
        score,
        evidence: json!({"company_name": {"level": "similar", "weight": 4.2}}),
    };
    let decision = |golden_id: &str, candidate: &str, verdict: &str| DecisionWrite {
        entity: CUSTOMER,
        source: "erpnext".into(),
        key: "CUST-00042".into(),
        golden_id: golden_id.into(),
        candidate_id: Some(candidate.into()),
        rule: "similar_company".into(),
        decision: verdict.into(),
        score: Some(7.25),
        evidence: json!({"total": 7.25, "thresholds": [5, 10]}),
    };
    commit(
        store,
        Batch {
            run_id: 1,
            source: "erpnext".into(),
            matching: MatchWrites {
                reviews: vec![
                    review("g-1", "g-2", 7.25),
                    review("g-3", "g-4", 6.0),
                    review("g-1", "g-2", 9.0),
                ],
                decisions: vec![
                    decision("g-1", "g-2", "review"),
                    decision("g-3", "g-4", "review"),
                ],
                ..MatchWrites::default()
            },
            ..Batch::default()
        },
    )
    .await;
    commit(
        store,
        Batch {
            run_id: 2,
            source: "erpnext".into(),
            matching: MatchWrites {
                reviews: vec![review("g-1", "g-2", 8.0)],
                ..MatchWrites::default()
            },
            ..Batch::default()
        },
    )
    .await;
    let open = store.reviews(Some(ReviewStatus::Open), 10).await.unwrap();
    let pairs: Vec<(&str, &str, f64)> = open
        .iter()
        .map(|r| (r.left_id.as_str(), r.right_id.as_str(), r.score))
        .collect();
    assert_eq!(
        pairs,
        [("g-1", "g-2", 7.25), ("g-3", "g-4", 6.0)],
        "one item per pair, the first score kept, oldest first"
    );
    assert_eq!(store.counts().await.unwrap().open_reviews, 2);
    let first = open[0].id;
    commit(
        store,
        Batch {
            run_id: 3,
            source: "steward".into(),
            matching: MatchWrites {
                review_decisions: vec![(first, ReviewStatus::Rejected)],
                decisions: vec![decision("g-1", "g-2", "rejected")],
                distinct_pairs: vec![("g-1".into(), "g-2".into(), "review rejected".into())],
                ..MatchWrites::default()
            },
            ..Batch::default()
        },
    )
    .await;
    let item = store.review(first).await.unwrap().expect("review item");
    assert_eq!(item.status, ReviewStatus::Rejected);
    assert_eq!(item.evidence["company_name"]["weight"], 4.2);
    assert_eq!(store.review(first + 1000).await.unwrap(), None);
    assert_eq!(
        store
            .reviews(Some(ReviewStatus::Open), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .reviews(Some(ReviewStatus::Rejected), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.reviews(None, 10).await.unwrap().len(), 2);
    assert_eq!(store.counts().await.unwrap().open_reviews, 1);
    assert_eq!(store.reviews(None, 1).await.unwrap()[0].id, first);

    let decisions = store.decisions(&["g-2"]).await.unwrap();
    let verdicts: Vec<&str> = decisions.iter().map(|d| d.decision.as_str()).collect();
    assert_eq!(verdicts, ["review", "rejected"], "as a candidate, in order");
    assert_eq!(decisions[0].score, Some(7.25));
    assert_eq!(store.decisions(&["g-3"]).await.unwrap().len(), 1);
    assert!(
        store
            .distinct_pairs(&["g-2", "g-1"])
            .await
            .unwrap()
            .contains(&("g-1".to_string(), "g-2".to_string()))
    );
}

/// The open review pairs, as `(left, right)`.
async fn open_pairs(store: &dyn Store) -> Vec<(String, String)> {
    store
        .reviews(Some(ReviewStatus::Open), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.left_id, r.right_id))
        .collect()
}

async fn a_merge_closes_the_review_items_whose_sides_it_joins(store: &dyn Store) {
    for (n, id) in ["g-1", "g-2", "g-3", "g-4", "g-5", "g-6", "g-7"]
        .into_iter()
        .enumerate()
    {
        let name = json!({"name": format!("Müller {n} GmbH")});
        commit(store, created(1, "sap", &format!("471{n}"), id, name)).await;
    }
    let review = |left: &str, right: &str| ReviewWrite {
        entity: CUSTOMER,
        left_id: left.into(),
        right_id: right.into(),
        source: "erpnext".into(),
        key: format!("CUST-{left}"),
        rule: "similar_company".into(),
        score: 7.0,
        evidence: json!({}),
    };
    commit(
        store,
        Batch {
            run_id: 2,
            source: "erpnext".into(),
            matching: MatchWrites {
                reviews: vec![
                    review("g-2", "g-1"),
                    review("g-2", "g-5"),
                    review("g-3", "g-4"),
                    review("g-6", "g-7"),
                ],
                ..MatchWrites::default()
            },
            ..Batch::default()
        },
    )
    .await;
    let merge = |run_id: i64, loser: &str, survivor: &str| Batch {
        run_id,
        source: "sap".into(),
        matching: MatchWrites {
            merges: vec![MergeWrite {
                entity: CUSTOMER,
                loser: loser.into(),
                survivor: survivor.into(),
            }],
            ..MatchWrites::default()
        },
        ..Batch::default()
    };
    let pair = |left: &str, right: &str| (left.to_string(), right.to_string());

    commit(store, merge(3, "g-2", "g-1")).await;
    assert_eq!(
        open_pairs(store).await,
        [pair("g-2", "g-5"), pair("g-3", "g-4"), pair("g-6", "g-7")],
        "the joined pair is closed; a pair with one merged side is still two records"
    );
    let closed = store.reviews(Some(ReviewStatus::Merged), 10).await.unwrap();
    assert_eq!(closed.len(), 1);
    assert_eq!(
        (closed[0].left_id.as_str(), closed[0].right_id.as_str()),
        ("g-2", "g-1")
    );
    assert_eq!(store.counts().await.unwrap().open_reviews, 3);

    commit(store, merge(4, "g-5", "g-1")).await;
    assert_eq!(
        open_pairs(store).await,
        [pair("g-3", "g-4"), pair("g-6", "g-7")],
        "a side merged earlier is followed through its redirect"
    );

    // A steward accepting an item merges its pair: the item is accepted, not closed as merged.
    let item = store.reviews(Some(ReviewStatus::Open), 10).await.unwrap()[1].clone();
    let mut accept = merge(5, "g-7", "g-6");
    accept.matching.review_decisions = vec![(item.id, ReviewStatus::Accepted)];
    commit(store, accept).await;
    assert_eq!(
        store.review(item.id).await.unwrap().unwrap().status,
        ReviewStatus::Accepted
    );
    assert_eq!(open_pairs(store).await, [pair("g-3", "g-4")]);
}

async fn references_wait_for_their_target_and_are_rewritten_whole(store: &dyn Store) {
    let reference = |referrer: &str, key: &str, target: Option<&str>| ReferenceWrite {
        referrer_id: referrer.into(),
        source: "sap".into(),
        entity: CUSTOMER,
        key: key.into(),
        target_id: target.map(str::to_string),
    };
    commit(
        store,
        Batch {
            run_id: 1,
            source: "sap".into(),
            matching: MatchWrites {
                references: vec![
                    reference("order-1", "0000004711", None),
                    reference("order-2", "0000004711", None),
                    reference("order-2", "0000004799", None),
                ],
                referrers: vec!["order-1".into(), "order-2".into()],
                ..MatchWrites::default()
            },
            ..Batch::default()
        },
    )
    .await;
    let pending = store
        .pending_references(CUSTOMER, &["0000004711"])
        .await
        .unwrap();
    let referrers: Vec<&str> = pending.iter().map(|r| r.referrer_id.as_str()).collect();
    assert_eq!(referrers, ["order-1", "order-2"]);
    assert!(
        store
            .pending_references(EntityKind::Product, &["0000004711"])
            .await
            .unwrap()
            .is_empty()
    );

    // The customer arrives: order-2's references are rewritten whole, the same key twice last wins.
    commit(
        store,
        Batch {
            run_id: 2,
            source: "sap".into(),
            matching: MatchWrites {
                references: vec![
                    reference("order-2", "0000004711", None),
                    reference("order-2", "0000004711", Some("g-1")),
                ],
                referrers: vec!["order-2".into()],
                ..MatchWrites::default()
            },
            ..Batch::default()
        },
    )
    .await;
    let pending = store
        .pending_references(CUSTOMER, &["0000004711", "0000004799"])
        .await
        .unwrap();
    let referrers: Vec<&str> = pending.iter().map(|r| r.referrer_id.as_str()).collect();
    assert_eq!(referrers, ["order-1"], "order-2's old row for 4799 is gone");
    assert_eq!(store.referrers_of(&["g-1"]).await.unwrap(), ["order-2"]);
}

async fn deleted_source_records_take_no_part_in_matching_or_training(store: &dyn Store) {
    let mut batch = created(1, "sap", "4711", "g-1", json!({"name": "Müller GmbH"}));
    let mut gone = xref("shop", "C-1", "g-1", json!({"name": "Mueller"}));
    gone.deleted = true;
    batch.xrefs.push(gone);
    batch.xrefs.push(xref(
        "erpnext",
        "E-1",
        "g-1",
        json!({"name": "Müller G.m.b.H."}),
    ));
    commit(store, batch).await;
    let members = store.member_records(&["g-1", "g-2"]).await.unwrap();
    let names: Vec<&Value> = members.iter().map(|m| &m.record["name"]).collect();
    assert_eq!(names, [&json!("Müller GmbH"), &json!("Müller G.m.b.H.")]);
    assert!(members.iter().all(|m| m.golden_id == "g-1"));
    assert_eq!(store.source_records(CUSTOMER).await.unwrap().len(), 2);
    assert!(
        store
            .source_records(EntityKind::Product)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_spawned_commit_is_written_while_the_caller_goes_on(store: &dyn Store) {
    let batch = std::sync::Arc::new(created(
        1,
        "sap",
        "4711",
        "g-1",
        json!({"name": "Müller GmbH"}),
    ));
    let handle = store.spawn_commit(batch);
    let next = created(1, "sap", "4712", "g-2", json!({"name": "Schmidt AG"}));
    handle.await.expect("task").expect("commit");
    commit(store, next).await;
    assert_eq!(live_count(store).await, 2);
}

#[tokio::test]
async fn a_store_that_cannot_be_reached_is_named_without_its_password() {
    let error = concord::store::open("postgres://concord:s3cr3t-pw@127.0.0.1:1/concord")
        .await
        .err()
        .expect("nothing listens on port 1")
        .to_string();
    assert!(!error.contains("s3cr3t-pw"), "{error}");
    assert!(error.contains("127.0.0.1:1/concord"), "{error}");

    let error = concord::store::open("mysql://root@127.0.0.1:3306/test")
        .await
        .err()
        .expect("no MySQL store")
        .to_string();
    assert!(
        error.contains("postgres://"),
        "says what is supported: {error}"
    );
}

async fn replayed_quarantine_entries_are_resolved_or_take_their_new_reason(store: &dyn Store) {
    let blank = quarantined("distributor/customers.csv:17", "K-0017", "name is required");
    let zip = QuarantineEntry {
        stream: Some("customers".into()),
        ..quarantined(
            "distributor/customers.csv:18",
            "K-0018",
            "postal_code: not a number",
        )
    };
    let unreadable = QuarantineEntry {
        mapping: None,
        payload: Value::Null,
        ..quarantined(
            "distributor/customers.csv:19",
            "K-0019",
            "3 cells, header has 4",
        )
    };
    let other_source = QuarantineEntry {
        source: "sap".into(),
        ..quarantined("sap/debmas.xml#1", "4711", "name is required")
    };
    commit(
        store,
        Batch {
            run_id: 1,
            source: "distributor".into(),
            quarantine: vec![blank, zip.clone(), unreadable, other_source],
            ..Batch::default()
        },
    )
    .await;

    // Only what a mapping refused, with its payload, of the source asked for, oldest first.
    let to_replay = store
        .quarantine_to_replay("distributor", 0, 10)
        .await
        .unwrap();
    let keys: Vec<_> = to_replay.iter().map(|q| q.entry.key.as_deref()).collect();
    assert_eq!(keys, vec![Some("K-0017"), Some("K-0018")]);
    assert_eq!(to_replay[1].entry.stream.as_deref(), Some("customers"));
    let after_first = store
        .quarantine_to_replay("distributor", to_replay[0].id, 10)
        .await
        .unwrap();
    assert_eq!(after_first.len(), 1);

    store.resolve_quarantine(&[to_replay[0].id]).await.unwrap();
    let still = QuarantineEntry {
        reason: "postal_code: `7O173` is not a number".into(),
        ..zip
    };
    store.requarantine(to_replay[1].id, &still).await.unwrap();

    let open = store.quarantined(10).await.unwrap();
    assert_eq!(open.len(), 3, "the resolved entry is hidden: {open:?}");
    assert!(
        open.iter()
            .all(|q| q.entry.key.as_deref() != Some("K-0017"))
    );
    let zip_row = open.iter().find(|q| q.id == to_replay[1].id).unwrap();
    assert_eq!(zip_row.entry.reason, still.reason);
    assert_eq!(zip_row.resolved_at, None);
    assert_eq!(store.counts().await.unwrap().quarantined, 3);

    let all = store.quarantined_all(10).await.unwrap();
    assert_eq!(all.len(), 4, "kept for audit");
    let resolved = all.iter().find(|q| q.id == to_replay[0].id).unwrap();
    assert!(resolved.resolved_at.is_some());
    let left = store
        .quarantine_to_replay("distributor", 0, 10)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, to_replay[1].id);

    // The same failure met again by a sync counts on the updated entry, not as a new one.
    commit(
        store,
        Batch {
            run_id: 2,
            source: "distributor".into(),
            quarantine: vec![still.clone()],
            ..Batch::default()
        },
    )
    .await;
    assert_eq!(store.quarantined(10).await.unwrap().len(), 3);
}

/// A SQLite store written before the block index became a log keeps its index: the migration
/// moves the rows of `block_key` into `block_log`, and a sync run's scan reads them.
#[tokio::test]
async fn a_store_from_before_the_block_log_keeps_its_block_index() {
    let dir = tempfile::tempdir().unwrap();
    let url = backend::sqlite_url(dir.path());
    let store = concord::store::open(&url).await.unwrap();
    commit(
        &*store,
        created(1, "sap", "4711", "g-1", json!({"name": "Müller GmbH"})),
    )
    .await;
    drop(store);
    // Back to the schema before migration 10, holding rows as that schema did.
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for statement in [
        "DROP INDEX golden_redirected",
        "DROP TABLE block_log",
        "CREATE TABLE block_key (entity TEXT NOT NULL, value TEXT NOT NULL, golden_id TEXT NOT NULL, \
         PRIMARY KEY (entity, value, golden_id)) WITHOUT ROWID",
        "CREATE INDEX block_key_by_golden ON block_key (golden_id)",
        "INSERT INTO block_key VALUES ('customer', '70173|MLR', 'g-1'), \
         ('customer', 'phone|+497111234', 'g-1'), ('product', 'gtin|4006381333931', 'p-1')",
        "DELETE FROM _sqlx_migrations WHERE version = 10",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = concord::store::open(&url).await.unwrap();
    let mut indexed = Vec::new();
    assert!(
        store
            .block_index(CUSTOMER, &mut |value, id| {
                indexed.push((value.to_string(), id.to_string()))
            })
            .await
            .unwrap()
    );
    indexed.sort();
    assert_eq!(
        indexed,
        [("70173|MLR", "g-1"), ("phone|+497111234", "g-1")]
            .map(|(v, id)| (v.to_string(), id.to_string()))
    );
    let blocks = store.block_lookup(CUSTOMER, &["70173|MLR"]).await.unwrap();
    assert_eq!(blocks["70173|MLR"], ["g-1"]);
}
