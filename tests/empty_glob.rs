//! A `files:` pattern that matches no file (issue 12 §7), with the real binary: `concord sync`
//! warns naming the pattern, and the run goes on with the other sources.

use std::path::Path;
use std::process::{Command, Output};

const MAPPING: &str = r#"
entity: customer
key: { path: "$.id" }
fields:
  name: { path: "$.name", required: true }
"#;

fn concord(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_concord"))
        .current_dir(dir)
        .args(["--config", "concord.yaml"])
        .args(args)
        .env_remove("CONCORD_LOG")
        .env_remove("RUST_LOG")
        .output()
        .expect("concord runs")
}

#[test]
fn a_glob_matching_no_file_is_warned_about_and_the_other_sources_run() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::create_dir_all(dir.join("maps")).unwrap();
    std::fs::create_dir_all(dir.join("inbound/sap")).unwrap();
    std::fs::write(dir.join("maps/customer.yaml"), MAPPING).unwrap();
    // The IDocs were dropped as `.XML`: the pattern finds none of them.
    std::fs::write(dir.join("inbound/sap/DEBMAS_1.XML"), "<DEBMAS07/>").unwrap();
    std::fs::write(dir.join("customers.csv"), "id,name\nC1,Alpha\nC2,Beta\n").unwrap();
    std::fs::write(
        dir.join("concord.yaml"),
        r#"
store: { url: "sqlite://concord.db" }
sources:
  - name: sap
    driver: idoc
    files: "inbound/sap/*.xml"
    mappings: [maps/customer.yaml]
  - name: shop
    driver: csv
    files: customers.csv
    mappings: [maps/customer.yaml]
"#,
    )
    .unwrap();

    let sync = concord(dir, &["sync"]);
    assert!(sync.status.success(), "{sync:?}");
    let log = String::from_utf8_lossy(&sync.stderr);
    let warnings: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("matches no file"))
        .collect();
    assert_eq!(warnings.len(), 1, "said once: {log}");
    assert!(warnings[0].contains("WARN"), "{log}");
    assert!(
        warnings[0].contains("inbound/sap/*.xml"),
        "names the glob: {log}"
    );
    assert!(
        warnings[0].contains(r#"source="sap""#),
        "names the source: {log}"
    );

    for key in ["C1", "C2"] {
        let shown = concord(dir, &["show", "customer", &format!("shop:{key}")]);
        assert!(shown.status.success(), "{key} stored: {shown:?}");
    }
}
