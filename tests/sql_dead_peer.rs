//! A database that stops answering never holds a run: sqlx 0.8 has no TCP keepalive setting,
//! so the `sql` driver bounds every wait itself. A server that accepts connections and never
//! answers fails its source after the connection tries, and the run's other sources are read;
//! a server that freezes in the middle of a query (its processes stopped, the connection left
//! open, as when its host vanished) fails the source after `statement_timeout` plus
//! `connect_timeout`.

mod common;
#[path = "support/private_postgres.rs"]
mod private_postgres;

use std::time::{Duration, Instant};

use concord::connector::sql::{SqlConfig, SqlConnector};
use concord::connector::{Connector, Pulled};
use concord::store;
use concord::sync::{NoProgress, Pipeline, SyncOptions};
use futures::StreamExt;

use common::{Project, golden_counts, source_failure};
use private_postgres::PrivatePostgres;

/// A TCP server that accepts every connection and never says a word, holding them open.
async fn silent_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

#[tokio::test]
async fn a_server_that_never_answers_fails_its_source_and_the_next_source_is_read() {
    let port = silent_server().await;
    let project = Project::new();
    project.write(
        "maps/customer.yaml",
        "entity: customer\nkey: { path: \"$.id\" }\nfields:\n  name: { path: \"$.name\", required: true }\n",
    );
    project.write("drops/customers.csv", "id,name\nD-1,Nordwind GmbH\n");
    project.write(
        "concord.yaml",
        &format!(
            r#"
store: {{ url: "sqlite://concord.db" }}
sources:
  - name: erp_db
    driver: sql
    url: "postgres://erp@127.0.0.1:{port}/erp"
    connect_timeout: 300ms
    streams:
      - {{ name: customers, query: "SELECT id, name FROM customers" }}
    mappings: [maps/customer.yaml]
  - name: distributor
    driver: csv
    files: "drops/*.csv"
    mappings: [maps/customer.yaml]
"#
        ),
    );
    let config = project.config();
    let store = store::open(&config.store_url()).await.unwrap();
    let started = Instant::now();
    let error = Pipeline::compile(config)
        .unwrap()
        .sync(store.as_ref(), &SyncOptions::default(), &NoProgress)
        .await
        .expect_err("the silent database fails its source");
    // Four tries of 300 ms and the backoff between them, not forever.
    assert!(started.elapsed() < Duration::from_secs(10), "{error}");
    let (source_name, message) = source_failure(&error);
    assert_eq!(source_name, "erp_db");
    assert!(
        message.contains("within `connect_timeout` (300ms)") && message.contains("never answers"),
        "{message}"
    );
    assert_eq!(
        golden_counts(store.as_ref()).await.0,
        1,
        "the csv source after it was read"
    );
}

#[tokio::test]
async fn a_server_frozen_mid_query_fails_the_source_after_the_statement_timeout() {
    let server = PrivatePostgres::start();
    let config: SqlConfig = serde_yaml::from_str(&format!(
        r#"
url: "{}"
connect_timeout: 1s
statement_timeout: 2s
streams:
  - {{ name: customers, query: "SELECT 1 AS id FROM pg_sleep(1.5)" }}
"#,
        server.url("127.0.0.1", "sslmode=disable")
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let connector = SqlConnector::new(config, dir.path());
    let started = Instant::now();
    let pull = tokio::spawn(connector.pull(None).collect::<Vec<_>>());
    // Connected and inside pg_sleep by now; then the host "vanishes".
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.pause();
    let items = tokio::time::timeout(Duration::from_secs(30), pull)
        .await
        .expect("the pull gives up on its own")
        .unwrap();
    let elapsed = started.elapsed();
    server.resume();
    assert!(
        !items
            .iter()
            .any(|item| matches!(item, Ok(Pulled::Record(_)))),
        "{items:?}"
    );
    let message = match items.last() {
        Some(Err(error)) if error.is_fatal() => error.to_string(),
        other => panic!("expected a fatal error last, got {other:?}"),
    };
    assert!(
        message.contains("no answer from the database within 3s"),
        "{message}"
    );
    assert!(
        elapsed >= Duration::from_secs(3) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
}
