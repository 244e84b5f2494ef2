//! `concord quarantine replay` with the real binary, on SQLite and on PostgreSQL (a fresh schema
//! of the local test database): a CSV row refused by a mapping is stored once the mapping is
//! fixed, with its `created` event in the outbox, and leaves the open quarantine.

// Only the engines' set-up is used here, not the `on_both!` macro.
#[allow(unused)]
#[path = "store/backend.rs"]
mod backend;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Requires `Firma`; the distributor's export leaves it empty for private customers and puts
/// their name in `Name2`.
const MAPPING: &str = r#"
entity: customer
key: { path: "$.Kundennr", transforms: [trim] }
fields:
  name: { path: "$.Firma", transforms: [trim], required: true }
"#;

/// The fix: the name from `Firma`, else `Name2`.
const FIXED_MAPPING: &str = r#"
entity: customer
key: { path: "$.Kundennr", transforms: [trim] }
fields:
  name: { paths: ["$.Firma", "$.Name2"], transforms: [trim], required: true }
"#;

const CUSTOMERS: &str = "Kundennr;Firma;Name2\nK1;Acme GmbH;\nK2;;Hans Schmidt\nK3;Beta AG;\n";

fn concord(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_concord"))
        .current_dir(dir)
        .args(["--config", "concord.yaml"])
        .args(args)
        .output()
        .expect("concord runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn jsonl(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

fn project(dir: &Path, store_url: &str) {
    std::fs::create_dir_all(dir.join("maps")).unwrap();
    std::fs::write(dir.join("maps/customer.yaml"), MAPPING).unwrap();
    std::fs::write(dir.join("customers.csv"), CUSTOMERS).unwrap();
    std::fs::write(
        dir.join("concord.yaml"),
        format!(
            r#"
store: {{ url: "{store_url}" }}
sources:
  - name: distributor
    driver: csv
    files: customers.csv
    delimiter: ";"
    mappings: [maps/customer.yaml]
"#
        ),
    )
    .unwrap();
}

async fn replay_stores_a_refused_row_once_its_mapping_is_fixed(store_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    project(dir, store_url);

    let sync = concord(dir, &["sync"]);
    assert!(sync.status.success(), "{sync:?}");
    let listed = jsonl(&concord(dir, &["quarantine", "--format", "jsonl"]));
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["origin"], "customers.csv:3");
    assert!(
        listed[0]["reason"].as_str().unwrap().contains("name"),
        "{listed:?}"
    );

    // Replaying with the mapping unchanged stores nothing and says why.
    let unchanged = concord(dir, &["quarantine", "replay"]);
    assert_eq!(unchanged.status.code(), Some(1), "{unchanged:?}");
    let text = stdout(&unchanged);
    assert!(text.contains("customers.csv:3  still failing:"), "{text}");
    assert!(
        text.contains(
            "distributor: replayed 1, stored 0 (0 created, 0 updated, 0 unchanged), still failing 1"
        ),
        "{text}"
    );

    std::fs::write(dir.join("maps/customer.yaml"), FIXED_MAPPING).unwrap();

    // A dry run shows what would be stored and writes nothing.
    let dry = concord(dir, &["quarantine", "replay", "--dry-run"]);
    assert!(dry.status.success(), "{dry:?}");
    let text = stdout(&dry);
    assert!(
        text.contains("customers.csv:3  would be stored as customer `K2`"),
        "{text}"
    );
    assert!(text.contains("dry run: nothing was written"), "{text}");
    let missing = concord(dir, &["show", "customer", "distributor:K2"]);
    assert!(!missing.status.success(), "nothing stored by a dry run");
    assert_eq!(
        jsonl(&concord(dir, &["quarantine", "--format", "jsonl"])).len(),
        1
    );

    let replay = concord(dir, &["quarantine", "replay", "--source", "distributor"]);
    assert!(replay.status.success(), "{replay:?}");
    let text = stdout(&replay);
    assert!(
        text.contains("customers.csv:3  stored as customer `K2`"),
        "{text}"
    );
    assert!(
        text.contains(
            "distributor: replayed 1, stored 1 (1 created, 0 updated, 0 unchanged), still failing 0"
        ),
        "{text}"
    );

    let shown = concord(
        dir,
        &["show", "customer", "distributor:K2", "--format", "jsonl"],
    );
    assert!(shown.status.success(), "{shown:?}");
    let golden = &jsonl(&shown)[0];
    assert_eq!(golden["record"]["name"], "Hans Schmidt");
    let golden_id = golden["id"].as_str().unwrap();

    let events = jsonl(&concord(dir, &["events", "--format", "jsonl"]));
    assert!(
        events.iter().any(|e| e["golden_id"] == golden_id
            && e["entity"] == "customer"
            && e["operation"] == "created"),
        "{events:?}"
    );

    assert!(
        jsonl(&concord(dir, &["quarantine", "--format", "jsonl"])).is_empty(),
        "the replayed entry leaves the open quarantine"
    );
    let all = jsonl(&concord(dir, &["quarantine", "--all", "--format", "jsonl"]));
    assert_eq!(all.len(), 1, "kept for audit: {all:?}");
    assert!(all[0]["resolved_at"].is_string(), "{all:?}");

    // Nothing is left to replay.
    let again = concord(dir, &["quarantine", "replay"]);
    assert!(again.status.success(), "{again:?}");
    assert!(
        stdout(&again).contains("distributor: replayed 0, stored 0"),
        "{}",
        stdout(&again)
    );
}

#[tokio::test]
async fn replay_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    replay_stores_a_refused_row_once_its_mapping_is_fixed(&backend::sqlite_url(dir.path())).await;
}

#[tokio::test]
async fn replay_on_postgres() {
    let schema = backend::PgSchema::create().await;
    let url = schema.url();
    schema
        .run(replay_stores_a_refused_row_once_its_mapping_is_fixed(&url))
        .await;
}
