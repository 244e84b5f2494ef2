//! The `sql` driver's TLS against a real PostgreSQL with `ssl=on` whose certificate a test CA
//! signed (a private server, so the shared one keeps its config): `verify-full` with the CA in
//! `ca_file` reads the rows; another CA is refused with a certificate error naming the source;
//! `sslmode=require` checks the host name too, since TLS without verification protects nothing.

mod common;
#[path = "support/private_postgres.rs"]
mod private_postgres;
#[path = "support/tls.rs"]
mod tls;

use std::time::{Duration, Instant};

use concord::store;
use concord::sync::{NoProgress, Pipeline, SyncError, SyncOptions};
use sqlx::Connection;

use common::{Project, golden_counts};
use private_postgres::{PrivatePostgres, ServerTls};
use tls::TestCa;

const MAPPING: &str = r#"
entity: customer
stream: customers
key: { path: "$.id" }
fields:
  name: { path: "$.name", required: true }
"#;

/// A private server with TLS by a certificate of `ca` for `names`, holding two customers.
async fn server(ca: &TestCa, names: &[&str]) -> PrivatePostgres {
    let issued = ca.issue(names);
    let server = PrivatePostgres::start_with_tls(ServerTls {
        cert_pem: &issued.cert_pem,
        key_pem: &issued.key_pem,
    });
    let mut admin = sqlx::PgConnection::connect(&server.url("127.0.0.1", "sslmode=disable"))
        .await
        .expect("the private server accepts a connection");
    sqlx::raw_sql(
        "CREATE TABLE customers (id text PRIMARY KEY, name text NOT NULL);
         INSERT INTO customers VALUES ('K-1', 'Nordwind GmbH'), ('K-2', 'Südhafen AG');",
    )
    .execute(&mut admin)
    .await
    .expect("seed");
    server
}

/// A project reading `url` with `ca_file: ca.pem` (the CA written there by the caller).
fn project(url: &str) -> Project {
    let project = Project::new();
    project.write("maps/customer.yaml", MAPPING);
    project.write(
        "concord.yaml",
        &format!(
            r#"
store: {{ url: "sqlite://concord.db" }}
sources:
  - name: erp_db
    driver: sql
    url: "{url}"
    connect_timeout: 5s
    ca_file: ca.pem
    streams:
      - {{ name: customers, query: "SELECT id, name FROM customers ORDER BY id" }}
    mappings: [maps/customer.yaml]
"#
        ),
    );
    project
}

/// One sync; the source's failure message (if any) and the customers stored.
async fn run(project: &Project) -> (Option<String>, i64) {
    let config = project.config();
    let store = store::open(&config.store_url()).await.unwrap();
    let outcome = Pipeline::compile(config)
        .unwrap()
        .sync(store.as_ref(), &SyncOptions::default(), &NoProgress)
        .await;
    let failure = match outcome {
        Ok(_) => None,
        Err(SyncError::SourceFailed {
            source_name,
            message,
        }) => {
            assert_eq!(source_name, "erp_db");
            Some(message)
        }
        Err(other) => panic!("expected the source to fail, got {other}"),
    };
    (failure, golden_counts(store.as_ref()).await.0)
}

#[tokio::test]
async fn verify_full_reads_with_the_servers_ca_and_refuses_another_ca() {
    let ca = TestCa::new("ACME Database CA");
    let server = server(&ca, &["localhost"]).await;
    let url = server.url("localhost", "sslmode=verify-full");

    let trusted = project(&url);
    ca.write_pem(trusted.dir.path(), "ca.pem");
    let (failure, stored) = run(&trusted).await;
    assert_eq!(failure, None);
    assert_eq!(stored, 2);

    let untrusted = project(&url);
    TestCa::new("Some Other CA").write_pem(untrusted.dir.path(), "ca.pem");
    let started = Instant::now();
    let (failure, stored) = run(&untrusted).await;
    let message = failure.expect("a certificate of an unknown CA is refused");
    assert!(message.contains("UnknownIssuer"), "{message}");
    assert!(message.contains("certificate was refused"), "{message}");
    assert!(message.contains("ca_file"), "{message}");
    assert_eq!(stored, 0);
    // Refused at once: a certificate is not a passing fault worth three more connections (their
    // backoff alone would take 1.4 s).
    assert!(started.elapsed() < Duration::from_secs(1), "{message}");
}

#[tokio::test]
async fn sslmode_require_checks_the_host_name_like_verify_full() {
    let ca = TestCa::new("ACME Database CA");
    // A certificate for another host than the one the URL names.
    let server = server(&ca, &["erp-db.acme.internal"]).await;
    let project = project(&server.url("localhost", "sslmode=require"));
    ca.write_pem(project.dir.path(), "ca.pem");

    let (failure, stored) = run(&project).await;
    let message = failure.expect("a certificate for another host is refused");
    assert!(
        message.contains("not valid for name \"localhost\""),
        "{message}"
    );
    assert!(message.contains("certificate was refused"), "{message}");
    assert_eq!(stored, 0);
}
