//! `concord test`: the mapping tests shipped next to the ready mappings pass, and a failing case
//! is reported field by field with exit code 1, as CI needs.

use std::path::Path;
use std::process::Command;

fn concord_test(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_concord"))
        .current_dir(dir)
        .arg("test")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn the_tests_shipped_with_the_ready_mappings_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, stdout, stderr) = concord_test(root, &["mappings"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let summary = stdout.lines().last().unwrap();
    assert!(summary.ends_with(" passed, 0 failed"), "{stdout}");
    let passed: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(passed >= 30, "{stdout}");
    // Every ready mapping ships with its tests.
    for mapping in glob::glob(&format!("{}/mappings/*/*.yaml", root.display())).unwrap() {
        let mapping = mapping.unwrap();
        let name = mapping.to_string_lossy().into_owned();
        if name.ends_with(".test.yaml") {
            continue;
        }
        let tests = name.replace(".yaml", ".test.yaml");
        assert!(Path::new(&tests).exists(), "{name} has no {tests}");
        let relative = tests.strip_prefix(&format!("{}/", root.display())).unwrap();
        assert!(
            stdout.contains(&format!("ok      {relative}: ")),
            "{stdout}"
        );
    }
}

#[test]
fn a_failing_case_shows_each_difference_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("crm")).unwrap();
    std::fs::write(
        dir.path().join("crm/accounts.yaml"),
        "entity: customer\nkey: { path: \"$.AccountNumber\", transforms: [trim] }\nfields:\n  name: { path: \"$.Name\", transforms: [trim], required: true }\n  tax_id: { path: \"$['USt-IdNr']\", transforms: [trim] }\n",
    )
    .unwrap();
    // The export's header is `USt-IdNr.` (with the dot): the mapping's path misses it.
    std::fs::write(
        dir.path().join("crm/accounts.test.yaml"),
        "mapping: accounts.yaml\ntests:\n  - name: an account from the CRM export\n    input: { AccountNumber: \"A-1\", Name: Kunde GmbH, \"USt-IdNr.\": DE111 }\n    expect: { key: A-1, fields: { name: Kunde GmbH, tax_id: DE111 } }\n  - name: an account without a name\n    input: { AccountNumber: \"A-2\" }\n    expect: { quarantine: \"`name`\" }\n",
    )
    .unwrap();

    let (code, stdout, stderr) = concord_test(dir.path(), &[]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("FAILED  crm/accounts.test.yaml: an account from the CRM export"),
        "{stdout}"
    );
    assert!(
        stdout.contains("field `tax_id`: expected \"DE111\", got nothing"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok      crm/accounts.test.yaml: an account without a name"),
        "{stdout}"
    );
    assert!(stdout.ends_with("1 passed, 1 failed\n"), "{stdout}");

    // One file can be run on its own.
    let (code, stdout, _) = concord_test(dir.path(), &["crm/accounts.test.yaml"]);
    assert_eq!(code, Some(1));
    assert!(stdout.ends_with("1 passed, 1 failed\n"), "{stdout}");
}

#[test]
fn a_folder_without_tests_or_a_broken_test_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = concord_test(dir.path(), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no mapping tests"), "{stderr}");

    std::fs::write(
        dir.path().join("broken.test.yaml"),
        "mapping: missing.yaml\ntests: []\n",
    )
    .unwrap();
    let (code, _, stderr) = concord_test(dir.path(), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("missing.yaml"), "{stderr}");
}

#[test]
fn an_idoc_file_is_read_by_the_idoc_driver_and_a_missing_idoc_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(
        root.join("mappings/sap-idoc/debmas.yaml"),
        dir.path().join("debmas.yaml"),
    )
    .unwrap();
    std::fs::copy(
        root.join("mappings/sap-idoc/fixtures/debmas07.xml"),
        dir.path().join("debmas07.xml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("debmas.test.yaml"),
        "mapping: debmas.yaml\ntests:\n  - name: second\n    input_file: debmas07.xml\n    record: 2\n    expect: { key: \"100002\", fields: { name: Huber Ernst } }\n",
    )
    .unwrap();
    let (code, stdout, stderr) = concord_test(dir.path(), &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");

    std::fs::write(
        dir.path().join("debmas.test.yaml"),
        "mapping: debmas.yaml\ntests:\n  - name: third\n    input_file: debmas07.xml\n    record: 3\n    expect: { key: \"100003\" }\n",
    )
    .unwrap();
    let (code, _, stderr) = concord_test(dir.path(), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("test `third`: ")
            && stderr.contains("debmas07.xml holds 2 IDoc(s), not a #3"),
        "{stderr}"
    );
}
