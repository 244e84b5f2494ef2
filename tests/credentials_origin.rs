//! Credentials go only to the configured origin: a redirect or a next link to another origin (a
//! second local server on another port) carries no auth, API-key or custom header.

#[path = "support/http_server.rs"]
mod http_server;

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use concord::transport::http::{AuthConfig, HttpClient, Secret, TransportConfig};
use serde_json::json;

use http_server::{Log, serve};

/// A server that logs every request and answers `/redirect?to=URL` with a 302 to that URL,
/// anything else with a JSON page.
async fn server(log: Log) -> String {
    async fn handle(
        State(log): State<Log>,
        Query(query): Query<HashMap<String, String>>,
        uri: Uri,
        headers: HeaderMap,
    ) -> Response {
        log.push(uri.path(), &query, &headers);
        match query.get("to") {
            Some(to) => (StatusCode::FOUND, [(header::LOCATION, to.clone())]).into_response(),
            None => Json(json!({"data": [{"name": "CUST-0001"}]})).into_response(),
        }
    }
    serve(Router::new().fallback(get(handle)).with_state(log)).await
}

fn client(base: &str, auth: AuthConfig) -> HttpClient {
    let mut config = TransportConfig::new(base);
    config.auth = Some(auth);
    config
        .headers
        .0
        .insert("X-Tenant-Key".into(), "tenant-4f1e9a77c2".into());
    config.retry.max_attempts = 1;
    HttpClient::new(&config).unwrap()
}

const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "x-api-key", "x-tenant-key"];

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed_with_credentials() {
    let (home_log, other_log) = (Log::default(), Log::default());
    let home = server(home_log.clone()).await;
    let other = server(other_log.clone()).await;
    let erp = client(
        &home,
        AuthConfig::ApiKey {
            header: "X-API-Key".into(),
            value: Secret::new("key-7d0c3b9e55"),
        },
    );

    // Within the origin a redirect is followed, credentials and all.
    let page = erp
        .get_json(
            "/redirect",
            &[("to".into(), format!("{home}/api/customers"))],
        )
        .await
        .unwrap();
    assert_eq!(page["data"][0]["name"], "CUST-0001");
    let seen = home_log.all();
    assert_eq!(seen.len(), 2);
    assert!(
        CREDENTIAL_HEADERS[1..]
            .iter()
            .all(|h| seen[1].headers.contains_key(*h))
    );

    // To another origin it is not followed: the error says why, the other server saw nothing.
    let err = erp
        .get_json("/redirect", &[("to".into(), format!("{other}/steal"))])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HTTP 302") && err.contains("another origin"),
        "{err}"
    );
    assert!(other_log.all().is_empty(), "{:?}", other_log.all());
}

#[tokio::test]
async fn a_next_link_to_another_origin_gets_no_credentials() {
    let (home_log, other_log) = (Log::default(), Log::default());
    let home = server(home_log.clone()).await;
    let other = server(other_log.clone()).await;
    let erp = client(
        &home,
        AuthConfig::Bearer {
            token: Secret::new("bearer-0a9f8e7d6c"),
        },
    );

    erp.get_json(&format!("{home}/api/customers?page=2"), &[])
        .await
        .unwrap();
    assert!(home_log.all()[0].headers.contains_key("authorization"));

    // The next link a server hands out points elsewhere (another port is another origin).
    erp.get_json(&format!("{other}/api/customers?page=3"), &[])
        .await
        .unwrap();
    let seen = other_log.all();
    assert_eq!(seen.len(), 1);
    for name in CREDENTIAL_HEADERS {
        assert!(
            !seen[0].headers.contains_key(name),
            "{name} leaked: {:?}",
            seen[0].headers
        );
    }
}
