//! The exec driver with a real Singer tap (tests/fixtures/singer/tap_customers.py, Python stdlib):
//! records and states through the whole pipeline, the state handed back on the next run, a tap
//! that fails mid-way, a garbage line, a timeout and a program that cannot start.

mod common;

use common::{Project, golden_of, sync};
use concord::model::EntityKind;
use concord::store;
use concord::sync::{NoProgress, Pipeline, SourceSummary, SyncOptions};
use serde_json::{Value, json};

const TAP: &str = include_str!("fixtures/singer/tap_customers.py");

const MAPPING: &str = r#"
entity: customer
stream: customers
key: { path: "$.id" }
fields:
  name: { path: "$.name", required: true }
  emails: { path: "$.email", many: true }
"#;

fn customers(rows: &[(u32, &str, &str)]) -> String {
    let list: Vec<Value> = rows
        .iter()
        .map(|(seq, id, name)| json!({"seq": seq, "id": id, "name": name, "email": format!("{id}@example.com")}))
        .collect();
    serde_json::to_string(&list).unwrap()
}

/// A project running the tap as `./taps/tap_customers.py` (a path relative to the config),
/// with `extra` lines added to the source.
fn project(extra: &str) -> Project {
    let project = Project::new();
    let tap = project.write("taps/tap_customers.py", TAP);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tap, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    project.write("maps/customer.yaml", MAPPING);
    project.write("tap.json", r#"{"customers": "data/customers.json"}"#);
    project.write(
        "data/customers.json",
        &customers(&[
            (1, "C1", "Alpha"),
            (2, "C2", "Beta"),
            (3, "C3", "Gamma"),
            (4, "C4", "Delta"),
            (5, "C5", "Epsilon"),
        ]),
    );
    project.write(
        "concord.yaml",
        &format!(
            r#"
store: {{ url: "sqlite://state/concord.db" }}
sources:
  - name: tap
    driver: exec
    command: ["./taps/tap_customers.py", "--config", "tap.json"]
{extra}
    mappings: [maps/customer.yaml]
"#
        ),
    );
    project
}

async fn stored_state(project: &Project) -> Option<Value> {
    let store = store::open(&project.config().store_url()).await.unwrap();
    store
        .checkpoint("tap")
        .await
        .unwrap()
        .map(|c| c["cursor"].clone())
}

/// Runs one sync that must fail; returns its message.
async fn failing_sync(project: &Project) -> String {
    let config = project.config();
    let pipeline = Pipeline::compile(config.clone()).unwrap();
    let store = store::open(&config.store_url()).await.unwrap();
    pipeline
        .sync(store.as_ref(), &SyncOptions::default(), &NoProgress)
        .await
        .expect_err("the run fails")
        .to_string()
}

fn bookmark(seq: u32) -> Value {
    json!({"bookmarks": {"customers": {"seq": seq}}})
}

#[tokio::test]
async fn records_are_stored_and_the_last_state_is_handed_back() {
    let project = project("");
    let (store, first) = sync(&project.config(), &SyncOptions::default()).await;
    let tap: &SourceSummary = &first[0];
    assert_eq!((tap.read, tap.mapped, tap.reconcile.created), (5, 5, 5));
    let golden = golden_of(store.as_ref(), EntityKind::Customer, "tap", "C3").await;
    assert_eq!(golden.record["name"], "Gamma");
    assert_eq!(stored_state(&project).await, Some(bookmark(5)));

    // Two new customers and a change: the tap, given its state, emits only those.
    project.write(
        "data/customers.json",
        &customers(&[
            (1, "C1", "Alpha"),
            (8, "C2", "Beta Renamed"),
            (3, "C3", "Gamma"),
            (4, "C4", "Delta"),
            (5, "C5", "Epsilon"),
            (6, "C6", "Zeta"),
            (7, "C7", "Eta"),
        ]),
    );
    let (store, second) = sync(&project.config(), &SyncOptions::default()).await;
    let tap = &second[0];
    assert_eq!(tap.read, 3, "{tap:?}");
    assert_eq!((tap.reconcile.created, tap.reconcile.updated), (2, 1));
    let golden = golden_of(store.as_ref(), EntityKind::Customer, "tap", "C2").await;
    assert_eq!(golden.record["name"], "Beta Renamed");
    assert_eq!(stored_state(&project).await, Some(bookmark(8)));
}

#[tokio::test]
async fn a_failing_tap_fails_the_run_and_keeps_the_last_state_it_sent() {
    let project = project("    env: { TAP_FAIL_AFTER: \"3\", TAP_TOKEN: \"tok-s3cret-123\" }");
    let message = failing_sync(&project).await;
    assert!(message.contains("exited with exit status: 1"), "{message}");
    assert!(
        message.contains("ConnectionError: the ERP went away"),
        "the last stderr lines are shown: {message}"
    );
    assert!(
        !message.contains("tok-s3cret-123") && message.contains("using token ***"),
        "{message}"
    );
    assert_eq!(
        stored_state(&project).await,
        Some(bookmark(2)),
        "records 1 and 2 came with a STATE; record 3 did not"
    );

    // Once the tap recovers it resumes after the stored state.
    project.write(
        "concord.yaml",
        &std::fs::read_to_string(project.path("concord.yaml"))
            .unwrap()
            .replace("TAP_FAIL_AFTER: \"3\", ", ""),
    );
    let (_, resumed) = sync(&project.config(), &SyncOptions::default()).await;
    let tap = &resumed[0];
    assert_eq!(tap.read, 3, "records 3, 4 and 5: {tap:?}");
    assert_eq!(
        tap.reconcile.unchanged, 1,
        "record 3 was stored by the failed run"
    );
    assert_eq!(stored_state(&project).await, Some(bookmark(5)));
}

#[tokio::test]
async fn a_line_that_is_no_singer_message_is_quarantined_and_the_rest_goes_on() {
    let project = project("    env: { TAP_GARBAGE_AT: \"2\" }");
    let (store, summaries) = sync(&project.config(), &SyncOptions::default()).await;
    let tap = &summaries[0];
    assert_eq!((tap.read, tap.reconcile.created), (5, 5));
    assert_eq!(tap.errors.len(), 1, "{:?}", tap.errors);
    assert!(
        tap.errors[0].contains("./taps/tap_customers.py:3:") && tap.errors[0].contains("not JSON"),
        "line 1 is the SCHEMA, 2 the first record, 3 the garbage: {}",
        tap.errors[0]
    );
    let quarantined = store.quarantined(10).await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(stored_state(&project).await, Some(bookmark(5)));
}

#[tokio::test]
async fn a_tap_running_past_its_timeout_is_killed_and_fails_the_run() {
    let project = project("    env: { TAP_SLEEP: \"20\" }\n    timeout: 1s");
    let started = std::time::Instant::now();
    let message = failing_sync(&project).await;
    assert!(message.contains("timeout of 1s"), "{message}");
    assert!(started.elapsed().as_secs() < 15, "the tap was killed");
    assert!(message.contains("starting after seq 0"), "{message}");
    assert_eq!(stored_state(&project).await, None);
}

#[tokio::test]
async fn a_program_that_cannot_start_fails_the_run() {
    let project = project("");
    project.write(
        "concord.yaml",
        &std::fs::read_to_string(project.path("concord.yaml"))
            .unwrap()
            .replace("./taps/tap_customers.py", "./taps/missing-tap"),
    );
    let message = failing_sync(&project).await;
    assert!(
        message.contains("cannot start") && message.contains("missing-tap"),
        "{message}"
    );
}

/// A tap that writes the environment it was given to `env_seen.txt` and sends one record.
const ENV_TAP: &str = r#"#!/bin/sh
env > env_seen.txt
echo '{"type":"SCHEMA","stream":"customers","schema":{"type":"object"},"key_properties":["id"]}'
echo '{"type":"RECORD","stream":"customers","record":{"id":"E1","name":"Envcheck GmbH"}}'
"#;

#[test]
fn a_tap_sees_only_the_allowlist_and_its_own_env() {
    let project = project("    env: { TAP_TOKEN: \"${TAP_TOKEN}\" }");
    let tap = project.write("taps/tap_customers.py", ENV_TAP);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tap, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_concord"))
        .current_dir(project.dir.path())
        .args(["sync"])
        .env("TAP_TOKEN", "tap-token-81f2")
        .env("AMQP_URL", "amqp://concord:broker-pw-5521@mq:5672/%2f")
        .env("ERP_TOKEN", "other-source-secret-0b7c")
        .env("LANG", "de_DE.UTF-8")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let seen = std::fs::read_to_string(project.path("env_seen.txt")).unwrap();
    let names: Vec<&str> = seen
        .lines()
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .collect();
    assert!(seen.contains("TAP_TOKEN=tap-token-81f2"), "{seen}");
    assert!(seen.contains("LANG=de_DE.UTF-8"), "{seen}");
    assert!(names.contains(&"PATH"), "{seen}");
    for leaked in ["AMQP_URL", "ERP_TOKEN", "CARGO_MANIFEST_DIR"] {
        assert!(!names.contains(&leaked), "{leaked} reached the tap: {seen}");
    }
    // `sh` adds PWD (and may add SHLVL, `_`); nothing else beyond the allowlist and `env`.
    let allowed = [
        "PATH",
        "HOME",
        "LANG",
        "TZ",
        "TAP_TOKEN",
        "PWD",
        "SHLVL",
        "_",
    ];
    assert!(names.iter().all(|n| allowed.contains(n)), "{names:?}");
}
