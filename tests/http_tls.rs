//! The `http` driver over HTTPS against a server whose certificate an internal CA signed: with
//! the CA in `ca_file` the source reads its records; without it the run fails with a certificate
//! error naming the source and stores nothing. Verification is never skipped.

mod common;
#[path = "support/tls.rs"]
mod tls;

use axum::Json;
use axum::Router;
use axum::routing::get;
use concord::store;
use concord::sync::{NoProgress, Pipeline, SyncError, SyncOptions};
use serde_json::json;

use common::{Project, golden_counts, source_failure};
use tls::{TestCa, serve_https};

const MAPPING: &str = r#"
entity: customer
stream: customers
key: { path: "$.id" }
fields:
  name: { path: "$.name", required: true }
"#;

/// An internal ERP's customer endpoint over HTTPS, its certificate for `localhost` signed by
/// `ca`.
async fn internal_erp(ca: &TestCa) -> String {
    let router = Router::new().route(
        "/api/customers",
        get(|| async {
            Json(json!([
                {"id": "C-1", "name": "Nordwind GmbH"},
                {"id": "C-2", "name": "Südhafen AG"}
            ]))
        }),
    );
    serve_https(router, &ca.issue(&["localhost", "127.0.0.1"]), "localhost").await
}

/// A project reading `base_url` with the extra source settings `tls` (e.g. a `ca_file` line).
fn project(base_url: &str, tls: &str) -> Project {
    let project = Project::new();
    project.write("maps/customer.yaml", MAPPING);
    project.write(
        "concord.yaml",
        &format!(
            r#"
store: {{ url: "sqlite://concord.db" }}
sources:
  - name: erp
    driver: http
    base_url: "{base_url}"
    timeout: 5s
    retry: {{ max_attempts: 3, initial_delay: 1s, max_delay: 2s }}
{tls}
    streams:
      - {{ name: customers, path: /api/customers }}
    mappings: [maps/customer.yaml]
"#
        ),
    );
    project
}

/// Runs one sync; the store is returned whatever the outcome, to look at what was stored.
async fn run(project: &Project) -> (Box<dyn store::Store>, Result<u64, SyncError>) {
    let config = project.config();
    let store = store::open(&config.store_url()).await.expect("store opens");
    let outcome = Pipeline::compile(config)
        .expect("config compiles")
        .sync(store.as_ref(), &SyncOptions::default(), &NoProgress)
        .await
        .map(|summaries| summaries[0].reconcile.created);
    (store, outcome)
}

#[tokio::test]
async fn a_source_reads_a_server_signed_by_the_ca_in_its_ca_file() {
    let ca = TestCa::new("ACME Internal Root CA");
    let base_url = internal_erp(&ca).await;
    let project = project(&base_url, "    ca_file: certs/acme-root.pem");
    std::fs::create_dir_all(project.path("certs")).unwrap();
    // Relative to the config file's folder, not the working directory.
    ca.write_pem(&project.path("certs"), "acme-root.pem");

    let (store, outcome) = run(&project).await;
    assert_eq!(outcome.expect("the sync runs"), 2);
    assert_eq!(golden_counts(store.as_ref()).await.0, 2);
}

#[tokio::test]
async fn without_the_ca_the_certificate_is_refused_and_nothing_is_stored() {
    let ca = TestCa::new("ACME Internal Root CA");
    let base_url = internal_erp(&ca).await;

    let started = std::time::Instant::now();
    let (store, outcome) = run(&project(&base_url, "")).await;
    // At once: a refused certificate is not retried (a retry would wait 1 s first).
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    let error = outcome.expect_err("an unknown issuer is refused");
    let (source_name, message) = source_failure(&error);
    assert_eq!(source_name, "erp");
    assert!(message.contains("certificate"), "{message}");
    assert!(message.contains("UnknownIssuer"), "{message}");
    assert!(message.contains("ca_file"), "{message}");
    assert_eq!(golden_counts(store.as_ref()).await.0, 0);
}

#[tokio::test]
async fn another_ca_in_ca_file_does_not_make_the_server_trusted() {
    let ca = TestCa::new("ACME Internal Root CA");
    let base_url = internal_erp(&ca).await;
    let project = project(&base_url, "    ca_file: other-ca.pem");
    TestCa::new("Some Other CA").write_pem(project.dir.path(), "other-ca.pem");

    let (store, outcome) = run(&project).await;
    let message = outcome.expect_err("the wrong CA is refused").to_string();
    assert!(
        message.contains("source `erp`") && message.contains("certificate"),
        "{message}"
    );
    assert_eq!(golden_counts(store.as_ref()).await.0, 0);
}

#[tokio::test]
async fn a_ca_file_that_is_not_pem_fails_the_source_naming_the_file() {
    let ca = TestCa::new("ACME Internal Root CA");
    let base_url = internal_erp(&ca).await;
    let project = project(&base_url, "    ca_file: acme-root.der");
    project.write("acme-root.der", "this is not a certificate\n");

    let (_store, outcome) = run(&project).await;
    let message = outcome.expect_err("a bad CA file is refused").to_string();
    assert!(message.contains("source `erp`"), "{message}");
    assert!(message.contains("acme-root.der"), "{message}");
    assert!(message.contains("no PEM certificate"), "{message}");
}
