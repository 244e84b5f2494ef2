//! `concord validate` checks what it can without running (issue 12 §9), with the real binary:
//! the store URL, file patterns, SQL placeholders and http stream settings. Each problem names
//! its source, stream and setting; errors fail the command, warnings do not.

use std::path::Path;
use std::process::{Command, Output};

const MAPPING: &str = r#"
entity: customer
key: { path: "$.id" }
fields:
  name: { path: "$.name" }
"#;

/// Writes `concord.yaml` with `store_url` and `sources` (YAML, indented as list items).
fn project(dir: &Path, store_url: &str, sources: &str) {
    std::fs::write(dir.join("m.yaml"), MAPPING).unwrap();
    std::fs::write(
        dir.join("concord.yaml"),
        format!("store: {{ url: \"{store_url}\" }}\nsources:\n{sources}"),
    )
    .unwrap();
}

fn validate(dir: &Path) -> (Option<i32>, String, String) {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_concord"))
        .current_dir(dir)
        .args(["--config", "concord.yaml", "validate"])
        .output()
        .expect("concord runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const CSV_SOURCE: &str = r#"  - name: shop
    driver: csv
    files: "exports/*.csv"
    mappings: [m.yaml]
"#;

#[test]
fn a_store_file_to_be_created_and_a_glob_matching_nothing_are_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    project(dir, "sqlite://state/concord.db", CSV_SOURCE);
    let (code, stdout, stderr) = validate(dir);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains("warning: store: `url`: store file")
            && stderr.contains("state/concord.db does not exist yet and will be created"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: source `shop`: `files`: `exports/*.csv` matches no file now"),
        "{stderr}"
    );
    assert!(stdout.contains("ok, 2 warning(s) (1 sources)"), "{stdout}");
    assert!(!dir.join("state").exists(), "validate creates nothing");

    // Once the store and a file exist, nothing is left to say.
    std::fs::create_dir_all(dir.join("exports")).unwrap();
    std::fs::write(dir.join("exports/a.csv"), "id,name\n1,A\n").unwrap();
    std::fs::create_dir_all(dir.join("state")).unwrap();
    std::fs::write(dir.join("state/concord.db"), "").unwrap();
    let (code, stdout, stderr) = validate(dir);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert!(stdout.contains(": ok (1 sources)"), "{stdout}");
}

#[test]
fn store_urls_that_cannot_work_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("taken"), "a file, not a folder").unwrap();
    for (url, expected) in [
        ("sqlite://taken/concord.db", "taken is not a folder"),
        (
            "mongodb://db/concord",
            "unknown store `mongodb://db/concord`",
        ),
        (
            "postgres://concord@db:notaport/concord",
            "is not a PostgreSQL URL",
        ),
    ] {
        project(dir, url, CSV_SOURCE);
        let (code, stdout, stderr) = validate(dir);
        assert_eq!(code, Some(1), "{url}: {stdout}{stderr}");
        assert!(stderr.contains("error: store: `url`: "), "{url}: {stderr}");
        assert!(stderr.contains(expected), "{url}: {stderr}");
        assert!(stdout.contains("1 error(s)"), "{url}: {stdout}");
    }
}

#[test]
fn sql_placeholders_the_driver_does_not_bind_are_errors_naming_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    project(
        dir,
        "sqlite://concord.db",
        r#"  - name: erp
    driver: sql
    url: "sqlite://erp.db"
    streams:
      - name: customers
        query: "SELECT * FROM customers WHERE (updated_at, id) > (:cursor, :cursor_key) AND note <> ':draft' ORDER BY updated_at, id LIMIT :limit"
        cursor: { column: updated_at, key: id, initial: "1970-01-01" }
      - name: orders
        query: "SELECT * FROM orders WHERE changed > :since AND id > {{cursor}}"
      - name: products
        query: "SELECT * FROM products WHERE updated_at > :cursor ORDER BY updated_at"
        cursor: { column: updated_at, key: id, initial: "1970-01-01" }
    mappings: [m.yaml]
"#,
    );
    let (code, stdout, stderr) = validate(dir);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 3, "the good stream passes: {stderr}");
    assert!(
        stderr.contains("error: source `erp` stream `orders`: `query`: `:since` is not a placeholder the sql driver binds (:cursor, :cursor_key, :limit)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: source `erp` stream `orders`: `query`: `{{cursor}}` is the http driver's template syntax"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "error: source `erp` stream `products`: `query`: the query must use :cursor_key, :limit"
        ),
        "{stderr}"
    );
}

#[test]
fn http_stream_settings_a_run_would_trip_over_are_errors_naming_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    project(
        dir,
        "sqlite://concord.db",
        r#"  - name: shop
    driver: http
    base_url: "https://shop.example.com"
    streams:
      - name: customers
        path: /api/customers
        records: "$.data[?(@.active"
        pagination: { type: offset, offset_param: start, limit_param: "", limit: 0 }
      - name: orders
        path: /api/orders
        query: { since: "{{cursor}}" }
        records: "$.data[*]"
        pagination: { type: page_number, page_param: page, size: 100 }
        incremental: { field: modified, initial: "2024-01-01" }
      - name: products
        path: /api/products
        pagination: { type: next_link, path: "$.links[" }
        incremental: { field: modified, initial: "2024-01-01" }
    mappings: [m.yaml]
"#,
    );
    let (code, stdout, stderr) = validate(dir);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    for expected in [
        "error: source `shop` stream `customers`: `records`: invalid JSONPath `$.data[?(@.active`",
        "error: source `shop` stream `customers`: `pagination.limit_param`: is empty",
        "error: source `shop` stream `customers`: `pagination.limit`: page size 0",
        "error: source `shop` stream `products`: `pagination.path`: invalid JSONPath `$.links[`",
        "warning: source `shop` stream `products`: `incremental`: no `query` value or `body` holds `{{cursor}}`",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    assert!(
        !stderr.contains("stream `orders`"),
        "a good stream passes: {stderr}"
    );
}

#[test]
fn a_json_source_records_path_that_does_not_parse_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("export.json"), r#"{"data": []}"#).unwrap();
    project(
        dir,
        "sqlite://concord.db",
        r#"  - name: erp
    driver: json
    files: export.json
    records: "$.data["
    mappings: [m.yaml]
"#,
    );
    let (code, stdout, stderr) = validate(dir);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("error: source `erp`: `records`: invalid JSONPath `$.data[`"),
        "{stderr}"
    );
}

#[test]
fn a_ca_file_that_cannot_serve_and_an_answer_cap_of_zero_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(
        dir.join("erp-ca.pem"),
        "-----BEGIN PRIVATE KEY-----\nMIIB\n",
    )
    .unwrap();
    project(
        dir,
        "sqlite://concord.db",
        r#"  - name: erp
    driver: http
    base_url: "https://erp.example.com/api"
    ca_file: certs/missing-ca.pem
    max_response_size: 0
    streams:
      - { name: customers, path: /customers, records: "$.data[*]" }
    mappings: [m.yaml]
  - name: db
    driver: sql
    url: "postgres://reader@db.example.com/erp"
    ca_file: erp-ca.pem
    streams:
      - { name: customers, query: "SELECT * FROM customers" }
    mappings: [m.yaml]
"#,
    );
    let (code, stdout, stderr) = validate(dir);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("error: source `erp`: `ca_file`: `ca_file`")
            && stderr.contains("missing-ca.pem cannot be read"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: source `erp`: `max_response_size`: must be at least 1 byte"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: source `db`: `ca_file`: ") && stderr.contains("erp-ca.pem"),
        "{stderr}"
    );
}
