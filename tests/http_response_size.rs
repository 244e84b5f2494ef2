//! An answer larger than the source's `max_response_size` ends its stream with an error naming
//! the source, the stream, the request path and the size, without reading on: a chunked body that
//! never ends, and a `Content-Length` far over the cap. The pages read before it are stored.

mod common;
#[path = "support/http_server.rs"]
mod http_server;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Query;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use concord::store;
use concord::sync::{NoProgress, Pipeline, SyncOptions};
use futures::StreamExt;
use serde_json::json;

use common::{Project, golden_counts, source_failure};
use http_server::serve;

const MAPPING: &str = r#"
entity: customer
stream: customers
key: { path: "$.id" }
fields:
  name: { path: "$.name", required: true }
"#;

/// How the third page (offset 4) answers.
#[derive(Clone, Copy)]
enum Oversized {
    /// Chunked, without a length, never ending.
    Endless,
    /// A `Content-Length` of 10 GiB, then nothing.
    Announced,
}

/// Customers in pages of two; the first two pages are ordinary, the third is too large.
async fn customers(Query(query): Query<HashMap<String, String>>, third: Oversized) -> Response {
    let offset: u64 = query["offset"].parse().unwrap();
    if offset < 4 {
        let page: Vec<_> = (offset + 1..=offset + 2)
            .map(|n| json!({"id": format!("C-{n}"), "name": format!("Kunde {n} GmbH")}))
            .collect();
        return axum::Json(page).into_response();
    }
    let chunk = Bytes::from(format!(
        "[{},",
        json!({"id": "C-x", "name": "x".repeat(1000)})
    ));
    let endless = futures::stream::repeat(chunk).map(Ok::<_, std::io::Error>);
    match third {
        Oversized::Endless => (
            [(CONTENT_TYPE, "application/json")],
            Body::from_stream(endless),
        )
            .into_response(),
        Oversized::Announced => (
            [
                (CONTENT_TYPE, "application/json"),
                (CONTENT_LENGTH, "10737418240"),
            ],
            Body::from_stream(futures::stream::pending::<Result<Bytes, std::io::Error>>()),
        )
            .into_response(),
    }
}

fn project(base_url: &str) -> Project {
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
    timeout: 20s
    max_response_size: 65536
    retry: {{ max_attempts: 3, initial_delay: 10ms, max_delay: 100ms }}
    streams:
      - name: customers
        path: /api/customers
        pagination: {{ type: offset, offset_param: offset, limit_param: limit, limit: 2 }}
    mappings: [maps/customer.yaml]
"#
        ),
    );
    project
}

/// Syncs against a server whose third page is `third`; returns the source's error and the
/// customers stored.
async fn sync_with(third: Oversized) -> (String, i64) {
    let router = Router::new().route("/api/customers", get(move |query| customers(query, third)));
    let project = project(&serve(router).await);
    let config = project.config();
    let store = store::open(&config.store_url()).await.unwrap();
    let started = Instant::now();
    let error = Pipeline::compile(config)
        .unwrap()
        .sync(store.as_ref(), &SyncOptions::default(), &NoProgress)
        .await
        .expect_err("the oversized page fails the source");
    // Refused at once, not after the request timeout nor after retries.
    assert!(started.elapsed() < Duration::from_secs(10), "{error}");
    let (source_name, message) = source_failure(&error);
    assert_eq!(source_name, "erp");
    assert!(message.contains("stream `customers`"), "{message}");
    assert!(
        message.contains("GET /api/customers?offset=4&limit=2"),
        "{message}"
    );
    assert!(
        message.contains("larger than `max_response_size` (65536 bytes)"),
        "{message}"
    );
    (message.to_owned(), golden_counts(store.as_ref()).await.0)
}

#[tokio::test]
async fn an_endless_chunked_answer_stops_at_the_cap_and_earlier_pages_are_kept() {
    let (message, stored) = sync_with(Oversized::Endless).await;
    assert!(message.contains("reading stopped after"), "{message}");
    assert_eq!(stored, 4, "the records of the two pages before are stored");
}

#[tokio::test]
async fn an_answer_announced_over_the_cap_is_refused_before_its_body() {
    let (message, stored) = sync_with(Oversized::Announced).await;
    assert!(
        message.contains("its Content-Length is 10737418240 bytes"),
        "{message}"
    );
    assert_eq!(stored, 4, "the records of the two pages before are stored");
}
