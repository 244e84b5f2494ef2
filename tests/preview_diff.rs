//! `concord preview --diff`: after a mapping change, what a sync would do to the stored golden
//! records is shown field by field, with new records and events, and nothing is written.

mod common;

use std::process::Command;

use common::{Project, sync};
use concord::sync::SyncOptions;

const MAPPING: &str = r#"entity: customer
key: { path: "$.id" }
fields:
  name: { path: "$.name", transforms: [trim], required: true }
  emails: { path: "$.email", many: true }
  tax_id: { path: "$.vat" }
"#;

fn project() -> Project {
    let project = Project::new();
    project.write(
        "concord.yaml",
        "store: { url: \"sqlite://concord.db\" }\n\
         sources:\n  - name: shop\n    driver: csv\n    files: \"exports/*.csv\"\n    \
         mappings: [mapping.yaml]\n",
    );
    project.write("mapping.yaml", MAPPING);
    project.write(
        "exports/customers.csv",
        "id,name,email,vat\n1,Acme GmbH,info@acme.de,DE1\n2,Globex AG,sales@globex.ch,CHE2\n3,Initech,,\n",
    );
    project
}

fn preview_diff(project: &Project) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_concord"))
        .current_dir(project.dir.path())
        .args([
            "--config",
            "concord.yaml",
            "preview",
            "--source",
            "shop",
            "--diff",
        ])
        .output()
        .expect("concord runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_changed_mapping_shows_each_field_it_would_change_and_writes_nothing() {
    let project = project();
    let (store, _) = sync(&project.config(), &SyncOptions::default()).await;
    let before = store.counts().await.unwrap();

    let (code, out, err) = preview_diff(&project);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("3 unchanged, 0 created, 0 updated"), "{out}");

    // The names become upper case, a new row arrives, a row loses its required name.
    project.write(
        "mapping.yaml",
        &MAPPING.replace("transforms: [trim]", "transforms: [trim, upper]"),
    );
    project.write(
        "exports/customers.csv",
        "id,name,email,vat\n1,Acme GmbH,info@acme.de,DE1\n2,Globex AG,sales@globex.ch,CHE2\n\
         3,Initech,,\n4,Umbrella plc,hq@umbrella.co.uk,GB4\n5,,nobody@example.com,\n",
    );
    let (code, out, err) = preview_diff(&project);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("0 unchanged, 1 created, 3 updated"),
        "three renamed, one new: {out}"
    );
    assert!(
        out.contains(r#"name: "Acme GmbH" → "ACME GMBH"   (shop:1)"#),
        "{out}"
    );
    assert!(out.contains("customer.updated"), "{out}");
    let created = out
        .split("\n\n")
        .find(|block| block.starts_with("+ customer"))
        .unwrap_or_else(|| panic!("a new record: {out}"));
    assert!(created.contains("customer.created"), "{created}");
    assert!(
        created.contains(r#"name: (empty) → "UMBRELLA PLC""#),
        "{created}"
    );
    assert!(created.contains(r#"tax_id: (empty) → "GB4""#), "{created}");
    assert!(out.contains("would be quarantined:"), "{out}");
    assert!(
        out.contains("exports/customers.csv:6"),
        "the row without a name: {out}"
    );

    let after = store.counts().await.unwrap();
    assert_eq!(after, before, "a preview writes nothing");
}
