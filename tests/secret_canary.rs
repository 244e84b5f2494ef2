//! A canary secret through every output of the real binary at trace level: log lines (text and
//! JSON), errors printed by `main`, `validate`, the sync summary, `concord quarantine`, and the
//! store file itself (the `sync_run` record and quarantine entries). Every canary comes from
//! `${VAR}` or is an OAuth token the server issued, and the server does what real ones do: echo the
//! `Authorization` header and the request URL in its error pages.

#[path = "support/http_server.rs"]
mod http_server;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::json;

const ERP_TOKEN: &str = "tok-CANARY-5e2d81";
const CLIENT_SECRET: &str = "cs-CANARY-a19f";
const S4_PASSWORD: &str = "pw-CANARY-77b";
const ISSUED_TOKEN: &str = "oauth-CANARY-3c4d";
const NUMERIC_PASSWORD: &str = "90817263545";

/// Every form a canary might be written in.
fn forbidden() -> Vec<String> {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("erp-user:{S4_PASSWORD}"));
    vec!["CANARY".into(), basic, NUMERIC_PASSWORD.into()]
}

fn assert_clean(what: &str, text: &str) {
    for canary in forbidden() {
        assert!(!text.contains(&canary), "{what} shows `{canary}`:\n{text}");
    }
}

/// A Business Central-like server: an OAuth token endpoint, an OData list that fails twice with
/// a 503 page quoting the request, and a Basic-auth endpoint whose 500 page echoes the header.
async fn server() -> String {
    #[derive(Clone, Default)]
    struct Calls(Arc<AtomicUsize>);

    async fn token() -> Json<serde_json::Value> {
        Json(json!({"token_type": "Bearer", "expires_in": 3600, "access_token": ISSUED_TOKEN}))
    }
    async fn customers(
        State(calls): State<Calls>,
        Query(_): Query<HashMap<String, String>>,
        uri: Uri,
        headers: HeaderMap,
    ) -> Response {
        let authorization = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if calls.0.fetch_add(1, Ordering::SeqCst) < 2 {
            let page =
                format!("<html><body>Service Unavailable: {uri} ({authorization})</body></html>");
            return (StatusCode::SERVICE_UNAVAILABLE, page).into_response();
        }
        Json(json!({"value": [
            {"No": "10000", "Name": "Adatum Corporation"},
            {"No": "10001", "Name": null, "Comment": format!("debug: {authorization}")},
        ]}))
        .into_response()
    }
    async fn basic(headers: HeaderMap) -> Response {
        let authorization = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let page =
            format!("Internal Server Error\nrequest headers:\nAuthorization: {authorization}\n");
        (StatusCode::INTERNAL_SERVER_ERROR, page).into_response()
    }
    let router = Router::new()
        .route("/oauth2/token", post(token))
        .route("/odata/customers", get(customers))
        .route("/basic/customers", get(basic))
        .with_state(Calls::default());
    http_server::serve(router).await
}

const MAPPING: &str = r#"
entity: customer
key: { path: "$.No" }
fields:
  name: { path: "$.Name", required: true }
"#;

fn config(base: &str, extra: &str) -> String {
    format!(
        r#"
store: {{ url: "sqlite://concord.db" }}
sources:
  - name: bc
    driver: http
    base_url: {base}
    auth: {{ type: oauth2_client_credentials, token_url: "{base}/oauth2/token", client_id: concord, client_secret: "${{CLIENT_SECRET}}" }}
    retry: {{ max_attempts: 3, initial_delay: 10ms, max_delay: 50ms }}
    streams:
      - name: customers
        path: /odata/customers
        query: {{ api_key: ${{ERP_TOKEN}} }}
        records: "$.value[*]"
    mappings: [customer.yaml]
  - name: s4
    driver: http
    base_url: {base}
    auth: {{ type: basic, username: erp-user, password: ${{S4_PASSWORD}} }}
    retry: {{ max_attempts: 2, initial_delay: 10ms, max_delay: 50ms }}
    streams: [{{ name: customers, path: /basic/customers, records: "$.value[*]" }}]
    mappings: [customer.yaml]
{extra}"#
    )
}

fn concord(dir: &Path, config: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_concord"))
        .current_dir(dir)
        .args(["--config", config])
        .args(args)
        .env("CONCORD_LOG", "trace")
        .env("ERP_TOKEN", ERP_TOKEN)
        .env("CLIENT_SECRET", CLIENT_SECRET)
        .env("S4_PASSWORD", S4_PASSWORD)
        .env("NUMERIC_PASSWORD", NUMERIC_PASSWORD)
        .output()
        .expect("concord runs")
}

fn both(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn no_output_of_a_full_run_shows_a_secret() {
    let base = server().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("customer.yaml"), MAPPING).unwrap();
    std::fs::write(dir.path().join("concord.yaml"), config(&base, "")).unwrap();
    let run = |args: &'static [&'static str]| {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || concord(&dir, "concord.yaml", args))
    };

    let validate = run(&["validate"]).await.unwrap();
    assert!(validate.status.success(), "{}", both(&validate));
    assert_clean("validate", &both(&validate));

    let sync = run(&["sync"]).await.unwrap();
    let text = both(&sync);
    assert!(!sync.status.success(), "the s4 source fails: {text}");
    assert!(
        text.contains("request failed; retrying"),
        "trace-level logs ran: {text}"
    );
    assert!(text.contains("HTTP 500"), "the s4 error is shown: {text}");
    assert_clean("sync at trace level", &text);

    let json_logs = run(&["--log-format", "json", "sync", "--full"])
        .await
        .unwrap();
    assert_clean("sync with JSON logs", &both(&json_logs));

    let quarantine = run(&["quarantine", "--format", "jsonl"]).await.unwrap();
    let text = both(&quarantine);
    assert!(
        text.contains("10001"),
        "the record without a name is quarantined: {text}"
    );
    assert_clean("concord quarantine", &text);

    // The store's files: sync_run errors and stats, quarantine reasons and payloads.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert_clean(
            &path.display().to_string(),
            &String::from_utf8_lossy(&bytes),
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn config_type_errors_do_not_echo_a_secret() {
    let base = server().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("customer.yaml"), MAPPING).unwrap();
    let typed = config(&base, "").replacen(
        "mappings: [customer.yaml]",
        "priority: ${ERP_TOKEN}\n    mappings: [customer.yaml]",
        1,
    );
    std::fs::write(dir.path().join("priority.yaml"), typed).unwrap();
    let numeric = config(&base, "").replace("${S4_PASSWORD}", "${NUMERIC_PASSWORD}");
    std::fs::write(dir.path().join("numeric.yaml"), numeric).unwrap();

    for file in ["priority.yaml", "numeric.yaml"] {
        let dir = dir.path().to_path_buf();
        let output = tokio::task::spawn_blocking(move || concord(&dir, file, &["validate"]))
            .await
            .unwrap();
        let text = both(&output);
        assert_eq!(output.status.code(), Some(2), "{file}: {text}");
        assert!(
            text.contains(&format!("{file}:")),
            "the error names the file: {text}"
        );
        assert!(text.contains("invalid type"), "{text}");
        assert_clean(file, &text);
    }
}
