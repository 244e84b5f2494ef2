//! A source's `max_record_size`, with the real binary: a record over it is quarantined with its
//! size (its stored payload cut to a prefix), and the good records around it are stored — for a
//! CSV file (a line over the limit is skipped unread) and for a Singer tap (checked where records
//! enter the sync).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const MAPPING: &str = r#"
entity: customer
key: { path: "$.id" }
fields:
  name: { path: "$.name", required: true }
"#;

const LIMIT: usize = 2048;

fn concord(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_concord"))
        .current_dir(dir)
        .args(["--config", "concord.yaml"])
        .args(args)
        .output()
        .expect("concord runs")
}

fn jsonl(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// Writes the project: one source given as `source` (indented YAML keys), the mapping above.
fn project(dir: &Path, source: &str) {
    std::fs::create_dir_all(dir.join("maps")).unwrap();
    std::fs::write(dir.join("maps/customer.yaml"), MAPPING).unwrap();
    std::fs::write(
        dir.join("concord.yaml"),
        format!(
            "store: {{ url: \"sqlite://concord.db\" }}\nsources:\n  - name: feed\n{source}    max_record_size: {LIMIT}\n    mappings: [maps/customer.yaml]\n"
        ),
    )
    .unwrap();
}

/// Syncs; checks the good records are stored and the big one is quarantined with its size.
/// Returns the quarantine entry.
fn sync_and_check(dir: &Path, good: &[&str]) -> Value {
    let sync = concord(dir, &["sync"]);
    assert_ne!(sync.status.code(), Some(2), "the run goes on: {sync:?}");
    for key in good {
        let shown = concord(dir, &["show", "customer", &format!("feed:{key}")]);
        assert!(shown.status.success(), "{key} is stored: {shown:?}");
    }
    let quarantined = jsonl(&concord(dir, &["quarantine", "--format", "jsonl"]));
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    let entry = quarantined[0].clone();
    assert_eq!(entry["source"], "feed");
    let reason = entry["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("larger than max_record_size ({LIMIT})")),
        "{reason}"
    );
    entry
}

#[test]
fn a_csv_line_over_max_record_size_is_quarantined_with_its_size_and_the_rest_stored() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let big = "x".repeat(10_000);
    std::fs::write(
        dir.join("customers.csv"),
        format!("id,name\nC1,Alpha\nC2,{big}\nC3,Gamma\n"),
    )
    .unwrap();
    project(dir, "    driver: csv\n    files: customers.csv\n");
    let entry = sync_and_check(dir, &["C1", "C3"]);
    assert_eq!(entry["origin"], "customers.csv:3");
    let size = 3 + big.len();
    assert!(
        entry["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("line of {size} bytes")),
        "{entry}"
    );
    assert_eq!(entry["payload"], Value::Null, "never loaded: {entry}");
}

#[cfg(unix)]
#[test]
fn a_tap_record_over_max_record_size_is_quarantined_with_its_size_and_a_prefix() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let big = "y".repeat(10_000);
    let record = |id: &str, name: &str| {
        format!(
            r#"{{"type":"RECORD","stream":"customers","record":{{"id":"{id}","name":"{name}"}}}}"#
        )
    };
    let tap = format!(
        "#!/bin/sh\ncat <<'EOF'\n{}\n{}\n{}\nEOF\n",
        record("C1", "Alpha"),
        record("C2", &big),
        record("C3", "Gamma")
    );
    let path = dir.join("tap.sh");
    std::fs::write(&path, tap).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    project(dir, "    driver: exec\n    command: [\"./tap.sh\"]\n");

    let entry = sync_and_check(dir, &["C1", "C3"]);
    let size = format!(r#"{{"id":"C2","name":"{big}"}}"#).len();
    assert!(
        entry["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("record of {size} bytes")),
        "{entry}"
    );
    let payload = &entry["payload"];
    assert_eq!(payload["truncated"], true, "{payload}");
    assert_eq!(payload["size"], size);
    let prefix = payload["prefix"].as_str().unwrap();
    assert!(prefix.starts_with(r#"{"id":"C2","name":"yyy"#), "{prefix}");
    assert_eq!(prefix.len(), 4096, "a prefix, never the whole record");
}
