//! The data path end to end on small inline sources: files → mapping → reconciliation → SQLite →
//! outbox, against a real SQLite file.

mod common;

use common::{Project, golden_of, goldens, sync, total_events};
use concord::model::EntityKind;
use concord::sync::{Pipeline, SyncOptions};

const DEBMAS: &str = r#"
entity: customer
when: { path: "$.EDI_DC40.MESTYP", equals: DEBMAS }
key: { path: "$.E1KNA1M.KUNNR", transforms: [trim, strip_leading_zeros] }
deleted: { path: "$.E1KNA1M.MSGFN", equals: "003" }
fields:
  name: { path: "$.E1KNA1M.NAME1", transforms: [trim], required: true }
  tax_id: { path: "$.E1KNA1M.STCEG", transforms: [trim] }
  addresses:
    each: "$.E1KNA1M"
    fields:
      city: { path: "$.ORT01", transforms: [trim] }
      country: { path: "$.LAND1", lookup: iso_country }
"#;

fn idoc(docnum: u32, kunnr: &str, name: &str, vat: &str, msgfn: &str) -> String {
    format!(
        r#"<IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><TABNAM>EDI_DC40</TABNAM><DOCNUM>{docnum:016}</DOCNUM><IDOCTYP>DEBMAS07</IDOCTYP><MESTYP>DEBMAS</MESTYP></EDI_DC40><E1KNA1M SEGMENT="1"><MSGFN>{msgfn}</MSGFN><KUNNR>{kunnr}</KUNNR><LAND1>DE</LAND1><NAME1>{name}</NAME1><ORT01>Stuttgart</ORT01><STCEG>{vat}</STCEG></E1KNA1M></IDOC>"#
    )
}

fn idoc_file(idocs: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DEBMAS07>{}</DEBMAS07>\n",
        idocs.join("\n")
    )
}

fn sap_project() -> Project {
    let project = Project::new();
    project.write("maps/debmas.yaml", DEBMAS);
    project.write(
        "maps/shop.yaml",
        r#"
entity: customer
key: { path: "$.id" }
changed_at: { path: "$.modified", transforms: [{ datetime: { format: "%Y-%m-%d %H:%M:%S", timezone: "Europe/Berlin" } }] }
fields:
  name: { path: "$.company", transforms: [trim], required: true }
  tax_id: { path: "$.vat" }
  emails: { path: "$.email", many: true }
"#,
    );
    project.write(
        "concord.yaml",
        r#"
store: { url: "sqlite://state/concord.db" }
sources:
  - name: sap
    driver: idoc
    files: "sap/*.xml"
    priority: 10
    mappings: [maps/debmas.yaml]
  - name: shop
    driver: json
    files: "shop/*.json"
    records: "$.data[*]"
    priority: 5
    mappings: [maps/shop.yaml]
match:
  customer:
    - { rule: tax_id, exact: [tax_id] }
"#,
    );
    project
}

fn shop_json(rows: &[(&str, &str, &str, &str)]) -> String {
    let data: Vec<serde_json::Value> = rows
        .iter()
        .map(|(id, company, vat, email)| {
            serde_json::json!({"id": id, "company": company, "vat": vat, "email": email, "modified": "2024-05-14 09:31:22"})
        })
        .collect();
    serde_json::json!({ "data": data }).to_string()
}

#[tokio::test]
async fn overlapping_sources_become_one_golden_record_with_lineage() {
    let project = sap_project();
    project.write(
        "sap/debmas_001.xml",
        &idoc_file(&[
            idoc(
                1,
                "0000004711",
                "Müller Maschinenbau GmbH   ",
                "DE123456789",
                "009",
            ),
            idoc(2, "0000004712", "Schmidt Logistik AG", "DE987654321", "009"),
        ]),
    );
    project.write(
        "shop/customers.json",
        &shop_json(&[
            (
                "C-1",
                "MUELLER MASCHINENBAU GMBH",
                "de 123 456 789",
                "info@mueller.de",
            ),
            (
                "C-2",
                "Nordwind Handel KG",
                "DE111222333",
                "kontakt@nordwind.de",
            ),
        ]),
    );
    let config = project.config();
    let (store, summaries) = sync(&config, &SyncOptions::default()).await;

    assert_eq!(goldens(store.as_ref(), EntityKind::Customer).await.len(), 3);
    let from_sap = golden_of(store.as_ref(), EntityKind::Customer, "sap", "4711").await;
    let from_shop = golden_of(store.as_ref(), EntityKind::Customer, "shop", "C-1").await;
    assert_eq!(
        from_sap.id, from_shop.id,
        "same VAT, different spelling: one golden record"
    );
    assert_eq!(
        from_sap.record["name"], "Müller Maschinenbau GmbH",
        "sap has the higher priority"
    );
    assert_eq!(from_sap.lineage["name"].source, "sap");
    assert_eq!(from_sap.lineage["name"].key, "4711");
    assert_eq!(
        from_sap.record["emails"],
        serde_json::json!(["info@mueller.de"])
    );
    assert_eq!(from_sap.lineage["emails"].source, "shop");
    assert!(
        from_sap.lineage["emails"].changed_at.is_some(),
        "the shop's change time is kept"
    );
    assert_eq!(from_sap.contributors.len(), 2);
    assert_eq!(
        total_events(&summaries),
        4,
        "3 created + 1 updated (the shop filled the email)"
    );

    let events = store.events(0, 100).await.unwrap();
    assert_eq!(events.len(), 4);
    let update = events
        .iter()
        .find(|e| e.event.golden_id == from_sap.id && e.event.version == 2)
        .expect("update event");
    assert_eq!(update.event.changed, vec!["emails"]);
    assert_eq!(update.event.sources["emails"].source, "shop");
    assert_eq!(store.history(&from_sap.id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn unchanged_data_changes_nothing_and_a_change_makes_one_version() {
    let project = sap_project();
    project.write(
        "sap/debmas_001.xml",
        &idoc_file(&[idoc(1, "0000004711", "Müller GmbH", "DE1", "009")]),
    );
    project.write(
        "shop/customers.json",
        &shop_json(&[("C-1", "Mueller", "DE1", "a@m.de")]),
    );
    let config = project.config();
    let (store, _) = sync(&config, &SyncOptions::default()).await;
    let before = store.counts().await.unwrap();

    let (_, incremental) = sync(&config, &SyncOptions::default()).await;
    assert_eq!(
        incremental.iter().map(|s| s.read).sum::<u64>(),
        0,
        "unchanged files are skipped by the cursor"
    );
    let (_, full) = sync(
        &config,
        &SyncOptions {
            full: true,
            ..SyncOptions::default()
        },
    )
    .await;
    assert_eq!(
        full.iter().map(|s| s.read).sum::<u64>(),
        0,
        "files with the content hash they were read with are not read again"
    );
    assert_eq!(total_events(&incremental) + total_events(&full), 0);
    let after = store.counts().await.unwrap();
    assert_eq!(
        (after.versions, after.events),
        (before.versions, before.events)
    );

    project.write(
        "shop/customers.json",
        &shop_json(&[("C-1", "Mueller", "DE1", "new@m.de")]),
    );
    let (store, changed) = sync(&config, &SyncOptions::default()).await;
    assert_eq!(total_events(&changed), 1);
    let golden = golden_of(store.as_ref(), EntityKind::Customer, "sap", "4711").await;
    assert_eq!(
        golden.version, 3,
        "created by sap, filled by the shop, changed by the shop"
    );
    assert_eq!(golden.record["emails"], serde_json::json!(["new@m.de"]));

    // A file rewritten under its old size and time is missed by the cursor; `--full` reads it.
    let path = project.path("shop/customers.json");
    let stamp = std::fs::metadata(&path).unwrap().modified().unwrap();
    project.write(
        "shop/customers.json",
        &shop_json(&[("C-1", "Mueller", "DE1", "old@m.de")]),
    );
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(stamp)
        .unwrap();
    let (_, missed) = sync(&config, &SyncOptions::default()).await;
    assert_eq!(total_events(&missed), 0);
    let (store, full) = sync(
        &config,
        &SyncOptions {
            full: true,
            ..SyncOptions::default()
        },
    )
    .await;
    assert_eq!(
        full.iter().map(|s| s.read).sum::<u64>(),
        1,
        "only the shop file"
    );
    let golden = golden_of(store.as_ref(), EntityKind::Customer, "sap", "4711").await;
    assert_eq!(golden.record["emails"], serde_json::json!(["old@m.de"]));
}

#[tokio::test]
async fn a_deletion_at_the_only_source_deletes_the_golden_record() {
    let project = sap_project();
    project.write("shop/customers.json", &shop_json(&[]));
    project.write(
        "sap/a.xml",
        &idoc_file(&[idoc(1, "0000000042", "Gone GmbH", "DE42", "009")]),
    );
    let config = project.config();
    let (store, _) = sync(&config, &SyncOptions::default()).await;
    let id = golden_of(store.as_ref(), EntityKind::Customer, "sap", "42")
        .await
        .id;

    project.write(
        "sap/b.xml",
        &idoc_file(&[idoc(2, "0000000042", "Gone GmbH", "DE42", "003")]),
    );
    let (store, summaries) = sync(&config, &SyncOptions::default()).await;
    assert_eq!(summaries[0].reconcile.deleted, 1);
    let golden = store
        .load_goldens(&[id.as_str()])
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert!(golden.deleted);
    let events = store.events(0, 100).await.unwrap();
    assert_eq!(events.last().unwrap().event.operation.as_str(), "deleted");
    assert!(
        goldens(store.as_ref(), EntityKind::Customer)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_malformed_idoc_file_is_reported_with_its_offset_and_the_rest_is_stored() {
    let project = sap_project();
    project.write("shop/customers.json", &shop_json(&[]));
    project.write(
        "sap/1_good.xml",
        &idoc_file(&[
            idoc(1, "1", "Alpha GmbH", "DE1", "009"),
            idoc(2, "2", "Beta GmbH", "DE2", "009"),
        ]),
    );
    let truncated = idoc_file(&[
        idoc(3, "3", "Gamma GmbH", "DE3", "009"),
        idoc(4, "4", "Delta GmbH", "DE4", "009"),
    ]);
    let cut = truncated.find("<NAME1>Delta").unwrap() + 9;
    project.write("sap/2_broken.xml", &truncated[..cut]);

    let config = project.config();
    let (store, summaries) = sync(&config, &SyncOptions::default()).await;
    let sap = &summaries[0];
    assert_eq!(sap.errors.len(), 1, "{:?}", sap.errors);
    assert!(sap.errors[0].contains("2_broken.xml"), "{}", sap.errors[0]);
    assert!(sap.errors[0].contains("byte"), "{}", sap.errors[0]);
    let names: Vec<String> = goldens(store.as_ref(), EntityKind::Customer)
        .await
        .iter()
        .map(|g| g.record["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names.len(),
        3,
        "the IDoc before the break is stored: {names:?}"
    );
    assert!(names.contains(&"Gamma GmbH".to_string()));
    let quarantined = store.quarantined(10).await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert!(quarantined[0].entry.origin.ends_with("2_broken.xml"));
}

/// Issue 12.1: IDoc 57 of 99 has a mismatched end tag; the 98 others are stored, and the broken
/// one is quarantined with its number, DOCNUM and byte offset.
#[tokio::test]
async fn a_malformed_idoc_in_the_middle_costs_only_itself() {
    let project = sap_project();
    project.write("shop/customers.json", &shop_json(&[]));
    let idocs: Vec<String> = (1..=99)
        .map(|n| {
            let name = format!("Kunde {n} GmbH");
            let idoc = idoc(n, &n.to_string(), &name, &format!("DE{n:09}"), "009");
            if n == 57 {
                idoc.replace("</ORT01>", "</ORT1>")
            } else {
                idoc
            }
        })
        .collect();
    project.write("sap/DEBMAS_99.xml", &idoc_file(&idocs));

    let config = project.config();
    let (store, summaries) = sync(&config, &SyncOptions::default()).await;
    let sap = &summaries[0];
    assert_eq!((sap.read, sap.quarantined), (98, 1), "{:?}", sap.errors);
    assert_eq!(
        goldens(store.as_ref(), EntityKind::Customer).await.len(),
        98
    );
    let quarantined = store.quarantined(10).await.unwrap();
    assert_eq!(quarantined.len(), 1);
    let entry = &quarantined[0].entry;
    assert_eq!(entry.origin, "sap/DEBMAS_99.xml#57");
    assert_eq!(entry.key.as_deref(), Some("DOCNUM 0000000000000057"));
    assert!(
        entry.reason.contains("at byte ") && entry.reason.contains("</ORT1>"),
        "{}",
        entry.reason
    );

    let (_, again) = sync(&config, &SyncOptions::default()).await;
    assert_eq!(again[0].read, 0, "the file counts as read: {:?}", again[0]);
}

#[tokio::test]
async fn a_record_failing_its_mapping_is_quarantined_and_the_batch_goes_on() {
    let project = sap_project();
    project.write(
        "sap/a.xml",
        &idoc_file(&[idoc(1, "1", "Alpha GmbH", "DE9", "009")]),
    );
    project.write(
        "shop/customers.json",
        &shop_json(&[
            ("C-1", "Fine GmbH", "DE1", "a@b.de"),
            ("C-2", "   ", "DE2", "c@d.de"),
        ]),
    );
    let config = project.config();
    let (store, summaries) = sync(&config, &SyncOptions::default()).await;
    let shop = &summaries[1];
    assert_eq!((shop.read, shop.mapped, shop.quarantined), (2, 1, 1));
    let quarantined = store.quarantined(10).await.unwrap();
    assert_eq!(quarantined[0].entry.key.as_deref(), Some("C-2"));
    assert!(
        quarantined[0].entry.reason.contains("name"),
        "{}",
        quarantined[0].entry.reason
    );
    assert_eq!(
        quarantined[0].entry.payload["id"], "C-2",
        "the raw payload is kept for replay"
    );
}

#[tokio::test]
async fn a_broken_mapping_is_refused_with_file_line_and_column() {
    let project = sap_project();
    project.write(
        "maps/debmas.yaml",
        "entity: customer\nkey: { path: \"$.E1KNA1M.KUNNR\" }\nfields:\n  name: { path: \"$.E1KNA1M.NAME1\", transforms: [trimm] }\n",
    );
    let error = Pipeline::compile(project.config())
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("debmas.yaml:4:"), "{error}");
    assert!(error.contains("did you mean `trim`"), "{error}");
}

#[tokio::test]
async fn records_of_one_source_in_consecutive_batches_still_match() {
    // One record per batch: the second is reconciled while the first may still be committing.
    let project = sap_project();
    project.write("sap/a.xml", &idoc_file(&[]));
    project.write(
        "shop/customers.json",
        &shop_json(&[
            ("C-1", "Acme GmbH", "DE 1", "a@acme.de"),
            ("C-2", "ACME GMBH", "DE1", "b@acme.de"),
            ("C-3", "Acme", "DE-1", ""),
        ]),
    );
    let config = project.config();
    let options = SyncOptions {
        batch_size: 1,
        ..SyncOptions::default()
    };
    let (store, summaries) = sync(&config, &options).await;
    let golden = golden_of(store.as_ref(), EntityKind::Customer, "shop", "C-3").await;
    assert_eq!(golden.contributors.len(), 3, "{:?}", golden.contributors);
    assert_eq!(goldens(store.as_ref(), EntityKind::Customer).await.len(), 1);
    assert_eq!(
        golden.record["name"], "Acme GmbH",
        "equal priority and time: the first key wins"
    );
    assert_eq!(golden.version, 1, "C-2 and C-3 change no surviving value");
    assert_eq!(total_events(&summaries), 1);
}

#[tokio::test]
async fn a_failing_source_does_not_keep_the_others_from_running() {
    let project = Project::new();
    project.write(
        "maps/shop.yaml",
        "entity: customer\nkey: { path: \"$.id\" }\nfields:\n  name: { path: \"$.company\" }\n",
    );
    project.write(
        "shop/customers.json",
        r#"[{"id": "C-1", "company": "Acme"}, {"id": "C-2", "company": "Globex"}]"#,
    );
    project.write(
        "concord.yaml",
        r#"
store: { url: "sqlite://state/concord.db" }
sources:
  - { name: tap, driver: exec, command: ["./no-such-tap"], mappings: [maps/shop.yaml] }
  - { name: shop, driver: json, files: "shop/*.json", mappings: [maps/shop.yaml] }
"#,
    );
    let config = project.config();
    let pipeline = Pipeline::compile(config.clone()).unwrap();
    let store = concord::store::open(&config.store_url()).await.unwrap();
    let result = pipeline
        .sync(
            store.as_ref(),
            &SyncOptions::default(),
            &concord::sync::NoProgress,
        )
        .await;
    assert!(
        matches!(&result, Err(concord::sync::SyncError::SourceFailed { source_name, .. }) if source_name == "tap"),
        "{result:?}"
    );
    assert_eq!(goldens(store.as_ref(), EntityKind::Customer).await.len(), 2);
}

const CRM_CSV: &str =
    "Kundennr;Firma;USt-IdNr.\nK-1;Acme GmbH;DE111111111\nK-2;Beta AG;DE222222222\n";

fn crm_project(delimiter: Option<&str>) -> Project {
    let project = Project::new();
    project.write(
        "maps/crm.yaml",
        r#"
entity: customer
key: { path: "$.Kundennr" }
fields:
  name: { path: "$.Firma", required: true }
  tax_id: { path: "$['USt-IdNr']" }
"#,
    );
    project.write("concord.yaml", &crm_config(delimiter));
    project
}

fn crm_config(delimiter: Option<&str>) -> String {
    let delimiter = delimiter
        .map(|d| format!("    delimiter: \"{d}\"\n"))
        .unwrap_or_default();
    format!(
        "store: {{ url: \"sqlite://state/concord.db\" }}\nsources:\n  - name: crm\n    driver: csv\n    files: \"crm/*.csv\"\n{delimiter}    mappings: [maps/crm.yaml]\n"
    )
}

/// Issue 12.7: a path that matched nothing in every record of the run is said once, naming the
/// path and listing the CSV header's columns; with a forgotten delimiter, the hint names it.
#[tokio::test]
async fn a_path_that_matches_nothing_is_warned_about_with_the_columns() {
    let project = crm_project(Some(";"));
    project.write("crm/kunden.csv", CRM_CSV);
    let (_, summaries) = sync(&project.config(), &SyncOptions::default()).await;
    let crm = &summaries[0];
    assert_eq!(crm.mapped, 2);
    assert_eq!(crm.warnings.len(), 1, "{:?}", crm.warnings);
    let warning = &crm.warnings[0];
    assert!(
        warning.contains("crm.yaml")
            && warning.contains(
                "field `tax_id` (`$['USt-IdNr']`) matched nothing in any of the 2 records"
            )
            && warning.contains("`Kundennr`, `Firma`, `USt-IdNr.`"),
        "{warning}"
    );

    let forgot = crm_project(None);
    forgot.write("crm/kunden.csv", CRM_CSV);
    let (_, summaries) = sync(&forgot.config(), &SyncOptions::default()).await;
    let warnings = summaries[0].warnings.join("\n");
    assert!(
        warnings.contains("set `delimiter: ';'` on the source?"),
        "{warnings}"
    );
}

/// Issue 12.8: fixing a forgotten `delimiter` reads the file again, although it is unchanged and
/// marked read by the run that used the wrong delimiter.
#[tokio::test]
async fn a_changed_read_setting_sets_the_cursor_aside() {
    let project = crm_project(None);
    project.write("crm/kunden.csv", CRM_CSV);
    let (store, first) = sync(&project.config(), &SyncOptions::default()).await;
    assert_eq!((first[0].read, first[0].mapped), (2, 0));
    drop(store);

    project.write("concord.yaml", &crm_config(Some(";")));
    let (store, second) = sync(&project.config(), &SyncOptions::default()).await;
    assert_eq!(
        (second[0].read, second[0].mapped),
        (2, 2),
        "{:?}",
        second[0]
    );
    assert_eq!(goldens(store.as_ref(), EntityKind::Customer).await.len(), 2);

    let (_, third) = sync(&project.config(), &SyncOptions::default()).await;
    assert_eq!(
        third[0].read, 0,
        "the new cursor is kept while the settings stay"
    );
}

/// Issue 12.7: a mapping's `stream:` the source does not have is refused at start-up.
#[tokio::test]
async fn a_mapping_stream_the_source_lacks_is_refused() {
    let project = crm_project(Some(";"));
    project.write(
        "maps/crm.yaml",
        "entity: customer\nstream: customers\nkey: { path: \"$.Kundennr\" }\n",
    );
    let error = Pipeline::compile(project.config())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        error.contains("crm.yaml")
            && error.contains("`stream: customers` is not a stream of this source"),
        "{error}"
    );
}

/// Issue 15.3: a date of birth with one wrong digit leaves the field empty; the person is stored
/// and matched, the note is counted in the summary and kept in the store for `concord quality`.
#[tokio::test]
async fn a_bad_optional_value_costs_the_field_not_the_record() {
    let project = crm_project(Some(";"));
    project.write(
        "maps/crm.yaml",
        r#"
entity: customer
key: { path: "$.Kundennr" }
fields:
  name: { path: "$.Firma", required: true }
  date_of_birth: { path: "$.Geburtsdatum", transforms: [{ date: "%d.%m.%Y" }] }
"#,
    );
    project.write(
        "crm/kunden.csv",
        "Kundennr;Firma;Geburtsdatum\nK-1;Erika Mustermann;12.08.1964\nK-2;Max Mustermann;31.13.1962\n",
    );
    let (store, summaries) = sync(&project.config(), &SyncOptions::default()).await;
    let crm = &summaries[0];
    assert_eq!((crm.mapped, crm.quarantined, crm.quality_notes), (2, 0, 1));
    assert_eq!(goldens(store.as_ref(), EntityKind::Customer).await.len(), 2);
    let notes = store.quality_notes(None, 10).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(
        (notes[0].entry.key.as_str(), notes[0].entry.field.as_str()),
        ("K-2", "date_of_birth")
    );
    assert_eq!(notes[0].entry.origin, "crm/kunden.csv:3");
    assert!(
        notes[0].entry.reason.contains("31.13.1962"),
        "{}",
        notes[0].entry.reason
    );
    assert_eq!(
        store
            .quality_notes(Some(("crm", "K-1")), 10)
            .await
            .unwrap()
            .len(),
        0
    );
}

/// Issue 12.7: a source renamed in the config leaves its records behind; the run says so.
#[tokio::test]
async fn a_source_no_longer_in_the_config_is_named() {
    let project = crm_project(Some(";"));
    project.write("crm/kunden.csv", CRM_CSV);
    let (store, _) = sync(&project.config(), &SyncOptions::default()).await;
    drop(store);
    project.write(
        "concord.yaml",
        &crm_config(Some(";")).replace("name: crm", "name: crm_de"),
    );
    let pipeline = Pipeline::compile(project.config()).unwrap();
    let store = concord::store::open(&project.config().store_url())
        .await
        .unwrap();
    assert_eq!(
        pipeline.sources_gone(store.as_ref()).await.unwrap(),
        ["crm"]
    );
}

/// Issue 13.9: a drop-folder file with a row that fails its mapping is not archived as done: once
/// its good rows are stored it goes to `rejected/`, its bad row waits in the quarantine.
#[tokio::test]
async fn a_drop_file_with_a_quarantined_row_goes_to_rejected() {
    let project = crm_project(Some(";"));
    project.write(
        "concord.yaml",
        &crm_config(Some(";"))
            .replace("files: \"crm/*.csv\"", "folder: drop\n    files: \"*.csv\""),
    );
    project.write(
        "drop/kunden.csv",
        "Kundennr;Firma;USt-IdNr.\nK-1;Acme GmbH;DE1\nK-2;;DE2\n",
    );
    project.write(
        "drop/lieferanten.csv",
        "Kundennr;Firma;USt-IdNr.\nK-3;Gamma KG;DE3\n",
    );
    let (store, summaries) = sync(&project.config(), &SyncOptions::default()).await;
    assert_eq!((summaries[0].mapped, summaries[0].quarantined), (2, 1));
    assert_eq!(
        store.quarantined(10).await.unwrap()[0].entry.origin,
        "drop/kunden.csv:3"
    );
    assert!(project.path("drop/rejected/kunden.csv").exists());
    assert!(project.path("drop/archive/lieferanten.csv").exists());
    assert!(!project.path("drop/archive/kunden.csv").exists());
}
