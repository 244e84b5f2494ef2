//! The `http` driver against local servers that answer like the real systems: ERPNext (Frappe
//! REST), Dynamics 365 Business Central (OData v4), SAP S/4HANA (OData v2), and generic REST APIs
//! paged by page number, cursor token and `Link` header.

mod common;
#[path = "support/http_server.rs"]
mod http_server;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use concord::connector::http::{HttpConfig, HttpConnector};
use concord::connector::{Connector, ConnectorError, Cursor, PullResult, Pulled};
use concord::sync::{NoProgress, Pipeline, SyncOptions};
use futures::StreamExt;
use serde_json::{Value, json};

use common::{Project, golden_of, source_failure, sync};
use concord::model::EntityKind;
use http_server::{Log, serve};

type Params = Query<HashMap<String, String>>;

/// Pulls a source configured by `yaml` (the driver's keys, without `driver:`), to the end.
async fn pull(yaml: &str, since: Option<Value>) -> Vec<PullResult> {
    let config: HttpConfig = serde_yaml::from_str(yaml).expect("http config parses");
    HttpConnector::new(config, std::path::Path::new("."))
        .pull(since.map(Cursor))
        .collect()
        .await
}

/// (origin, payload) of every record pulled.
fn records(items: &[PullResult]) -> Vec<(String, Value)> {
    items
        .iter()
        .filter_map(|item| match item {
            Ok(Pulled::Record(raw)) => Some((raw.origin.clone(), raw.payload.clone())),
            _ => None,
        })
        .collect()
}

fn errors(items: &[PullResult]) -> Vec<&ConnectorError> {
    items
        .iter()
        .filter_map(|item| item.as_ref().err())
        .collect()
}

fn last_cursor(items: &[PullResult]) -> Option<Value> {
    items.iter().rev().find_map(|item| match item {
        Ok(Pulled::Checkpoint(cursor)) => Some(cursor.0.clone()),
        _ => None,
    })
}

fn ids(items: &[PullResult], field: &str) -> Vec<String> {
    records(items)
        .iter()
        .map(|(_, payload)| payload[field].as_str().unwrap_or_default().to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// ERPNext: offset pages, incremental second run, the whole pipeline into SQLite.

/// An ERPNext site: `/api/resource/Customer` with `fields`, `filters`, `order_by`,
/// `limit_start` and `limit_page_length`, answering `{"data": [...]}` behind API-key auth.
#[derive(Clone, Default)]
struct Erpnext {
    customers: Arc<Mutex<Vec<Value>>>,
    log: Log,
    /// Answer every request with this status instead (a server in trouble).
    failing: Arc<Mutex<Option<StatusCode>>>,
}

fn erp_customer(name: &str, customer_name: &str, modified: &str) -> Value {
    json!({
        "name": name, "owner": "Administrator", "creation": "2024-01-02 08:00:00.000000",
        "modified": modified, "modified_by": "Administrator", "docstatus": 0, "idx": 0,
        "naming_series": "CUST-.YYYY.-", "customer_name": customer_name,
        "customer_type": "Company", "customer_group": "Commercial", "territory": "Germany",
        "tax_id": null, "disabled": 0, "default_currency": "EUR"
    })
}

async fn erp_customers(
    State(erp): State<Erpnext>,
    Query(query): Params,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    erp.log.push(uri.path(), &query, &headers);
    if let Some(status) = *erp.failing.lock().unwrap() {
        return (status, "<html><body>502 Bad Gateway</body></html>").into_response();
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some("token 3f1a9c0d2b7e4f6:9b8c7d6e5f4a3b2")
    {
        let body =
            json!({"exc_type": "AuthenticationError", "_server_messages": "[\"Invalid API key\"]"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let filters: Value = serde_json::from_str(query.get("filters").map_or("[]", String::as_str))
        .expect("filters are JSON");
    let since = filters[0][2].as_str().unwrap_or("").to_string();
    assert_eq!(filters[0][0], "modified");
    assert_eq!(filters[0][1], ">=");
    assert_eq!(
        query.get("order_by").map(String::as_str),
        Some("modified asc, name asc")
    );
    let start: usize = query["limit_start"].parse().unwrap();
    let length: usize = query["limit_page_length"].parse().unwrap();
    let mut rows: Vec<Value> = erp
        .customers
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c["modified"].as_str().unwrap() >= since.as_str())
        .cloned()
        .collect();
    rows.sort_by_key(|c| (c["modified"].to_string(), c["name"].to_string()));
    let page: Vec<Value> = rows.into_iter().skip(start).take(length).collect();
    Json(json!({ "data": page })).into_response()
}

const ERP_MAPPING: &str = r#"
entity: customer
stream: customers
key: { path: "$.name" }
changed_at:
  path: "$.modified"
  transforms: [{ datetime: { format: "%Y-%m-%d %H:%M:%S%.f", timezone: Europe/Berlin } }]
fields:
  name: { path: "$.customer_name", transforms: [trim], required: true }
  segment: { path: "$.customer_group" }
"#;

fn erp_project(base_url: &str) -> Project {
    let project = Project::new();
    project.write("maps/customer.yaml", ERP_MAPPING);
    project.write(
        "concord.yaml",
        &format!(
            r#"
store: {{ url: "sqlite://concord.db" }}
sources:
  - name: erp
    driver: http
    base_url: "{base_url}"
    auth: {{ type: frappe_token, key: "3f1a9c0d2b7e4f6", secret: "9b8c7d6e5f4a3b2" }}
    headers: {{ Accept: application/json }}
    timeout: 5s
    retry: {{ max_attempts: 3, initial_delay: 10ms, max_delay: 2s }}
    concurrency: 2
    streams:
      - name: customers
        path: /api/resource/Customer
        query: {{ fields: '["*"]', order_by: "modified asc, name asc", filters: '[["modified", ">=", "{{{{cursor}}}}"]]' }}
        records: "$.data[*]"
        pagination: {{ type: offset, offset_param: limit_start, limit_param: limit_page_length, limit: 3 }}
        incremental: {{ field: modified, key: name, initial: "1970-01-01 00:00:00", lookback: 10m }}
    mappings: [maps/customer.yaml]
"#
        ),
    );
    project
}

async fn erp_server() -> (Erpnext, String) {
    let erp = Erpnext::default();
    *erp.customers.lock().unwrap() = (1..=7)
        .map(|n| {
            erp_customer(
                &format!("CUST-2024-{n:05}"),
                &format!("Kunde {n} GmbH"),
                &format!("2024-03-0{n} 10:00:00.{n:06}"),
            )
        })
        .collect();
    let router = Router::new()
        .route("/api/resource/Customer", get(erp_customers))
        .with_state(erp.clone());
    let base = serve(router).await;
    (erp, base)
}

#[tokio::test]
async fn erpnext_offset_pages_then_an_incremental_run_reads_only_what_changed() {
    let (erp, base) = erp_server().await;
    let project = erp_project(&base);
    let config = project.config();

    let (store, summaries) = sync(&config, &SyncOptions::default()).await;
    assert_eq!(summaries[0].read, 7);
    assert_eq!(summaries[0].reconcile.created, 7);
    let first: Vec<_> = erp.log.all();
    // Pages at 0, 3, 6 (the last one short); pages fetched ahead past the end are harmless.
    let starts: Vec<&str> = first
        .iter()
        .map(|s| s.query["limit_start"].as_str())
        .collect();
    assert!(starts.starts_with(&["0", "3", "6"]), "{starts:?}");
    assert!(
        first
            .iter()
            .all(|s| s.query["filters"].contains("1970-01-01 00:00:00"))
    );
    let stored = store.checkpoint("erp").await.unwrap().unwrap();
    assert_eq!(
        stored["cursor"],
        json!({"customers": {"changed": "2024-03-07 10:00:00.000007", "key": "CUST-2024-00007"}})
    );

    // One customer renamed, one added; the rest unchanged.
    {
        let mut customers = erp.customers.lock().unwrap();
        customers[1]["customer_name"] = json!("Kunde 2 AG");
        customers[1]["modified"] = json!("2024-03-08 09:00:00.000001");
        customers.push(erp_customer(
            "CUST-2024-00008",
            "Neukunde KG",
            "2024-03-08 09:30:00.000000",
        ));
    }
    erp.log.clear();
    let pipeline = Pipeline::compile(config.clone()).unwrap();
    let second = pipeline
        .sync(store.as_ref(), &SyncOptions::default(), &NoProgress)
        .await
        .unwrap();
    let seen = erp.log.all();
    // The stored change time minus the 10 minute look-back, in ERPNext's own format.
    assert_eq!(
        seen[0].query["filters"],
        r#"[["modified", ">=", "2024-03-07 09:50:00.000007"]]"#
    );
    // CUST-7 again (inside the look-back window, dropped as unchanged), CUST-2 and CUST-8.
    assert_eq!(second[0].read, 3);
    assert_eq!(second[0].reconcile.unchanged, 1);
    assert_eq!(second[0].reconcile.updated, 1);
    assert_eq!(second[0].reconcile.created, 1);
    let renamed = golden_of(
        store.as_ref(),
        EntityKind::Customer,
        "erp",
        "CUST-2024-00002",
    )
    .await;
    assert_eq!(renamed.record["name"], "Kunde 2 AG");
}

#[tokio::test]
async fn a_server_failing_until_retries_run_out_fails_the_run_and_keeps_the_cursor() {
    let (erp, base) = erp_server().await;
    let project = erp_project(&base);
    let config = project.config();
    let (store, _) = sync(&config, &SyncOptions::default()).await;
    let before = store.checkpoint("erp").await.unwrap();

    *erp.failing.lock().unwrap() = Some(StatusCode::BAD_GATEWAY);
    erp.log.clear();
    let pipeline = Pipeline::compile(config.clone()).unwrap();
    let error = pipeline
        .sync(store.as_ref(), &SyncOptions::default(), &NoProgress)
        .await
        .unwrap_err();
    let (source_name, message) = source_failure(&error);
    assert_eq!(source_name, "erp");
    assert!(message.contains("HTTP 502"), "{message}");
    assert!(message.contains("/api/resource/Customer"), "{message}");
    assert!(message.contains("retry.max_attempts"), "{message}");
    // Three attempts at the first page (max_attempts: 3), for each page fetched ahead.
    let first_page = erp
        .log
        .all()
        .iter()
        .filter(|s| s.query["limit_start"] == "0")
        .count();
    assert_eq!(first_page, 3);
    assert_eq!(store.checkpoint("erp").await.unwrap(), before);
}

#[tokio::test]
async fn a_record_that_is_not_an_object_is_reported_and_the_page_goes_on() {
    let router = Router::new().route(
        "/api/resource/Customer",
        get(|| async { Json(json!({"data": [{"name": "A"}, 42, {"name": "B"}]})) }),
    );
    let base = serve(router).await;
    let items = pull(
        &format!(
            "base_url: {base}\nstreams: [{{ name: customers, path: /api/resource/Customer, records: '$.data[*]' }}]"
        ),
        None,
    )
    .await;
    assert_eq!(ids(&items, "name"), ["A", "B"]);
    let errors = errors(&items);
    assert_eq!(errors.len(), 1);
    assert!(!errors[0].is_fatal());
    assert_eq!(
        errors[0].to_string(),
        "/api/resource/Customer:2: record 2 is not a JSON object: 42"
    );
    assert!(last_cursor(&items).is_some());
}

#[tokio::test]
async fn a_page_that_is_not_json_ends_its_stream() {
    let router = Router::new().route(
        "/odata/customers",
        get(|| async { "<html><body>Login</body></html>" }),
    );
    let base = serve(router).await;
    let items = pull(
        &format!("base_url: {base}\nstreams: [{{ name: customers, path: /odata/customers }}]"),
        None,
    )
    .await;
    assert_eq!(items.len(), 1);
    let error = items[0].as_ref().unwrap_err();
    assert!(error.is_stream_failure());
    assert!(error.to_string().contains("not JSON"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// OData: Business Central (v4, absolute nextLink) and S/4HANA (v2, relative __next).

const BC_COMPANY: &str = "/api/v2.0/companies(5d115c9c-44e3-ea11-bb43-000d3a2feca1)";

async fn bc_customers(Query(query): Params, headers: HeaderMap) -> Json<Value> {
    let host = headers["host"].to_str().unwrap().to_string();
    let skip: usize = query.get("$skiptoken").map_or(0, |s| s.parse().unwrap());
    let all: Vec<Value> = (1..=5)
        .map(|n| {
            json!({
                "@odata.etag": format!("W/\"JzQ0O{n}\""),
                "id": format!("00000000-0000-0000-0000-00000000000{n}"),
                "number": format!("1000{n}"), "displayName": format!("Adatum {n}"),
                "type": "Company", "country": "DE", "taxRegistrationNumber": "",
                "lastModifiedDateTime": format!("2024-05-0{n}T08:00:00.{n}Z")
            })
        })
        .collect();
    let page: Vec<Value> = all.iter().skip(skip).take(2).cloned().collect();
    let mut body = json!({
        "@odata.context": format!("http://{host}/api/v2.0/$metadata#companies(5d115c9c-44e3-ea11-bb43-000d3a2feca1)/customers"),
        "value": page,
    });
    if skip + 2 < all.len() {
        body["@odata.nextLink"] = json!(format!(
            "http://{host}{BC_COMPANY}/customers?$skiptoken={}",
            skip + 2
        ));
    }
    Json(body)
}

#[tokio::test]
async fn odata_v4_pages_follow_the_absolute_next_link() {
    let router = Router::new().route(&format!("{BC_COMPANY}/customers"), get(bc_customers));
    let base = serve(router).await;
    let yaml = format!(
        r#"
base_url: "{base}{BC_COMPANY}"
streams:
  - name: customers
    path: customers
    query: {{ "$filter": "lastModifiedDateTime gt {{{{cursor}}}}" }}
    records: "$.value[*]"
    pagination: {{ type: next_link, path: "$['@odata.nextLink']" }}
    incremental: {{ field: lastModifiedDateTime, key: number, initial: "1970-01-01T00:00:00Z" }}
"#
    );
    let items = pull(&yaml, None).await;
    assert!(errors(&items).is_empty(), "{:?}", errors(&items));
    assert_eq!(
        ids(&items, "number"),
        ["10001", "10002", "10003", "10004", "10005"]
    );
    let origins: Vec<String> = records(&items).into_iter().map(|(o, _)| o).collect();
    assert_eq!(origins[0], "customers?page=1#1");
    assert_eq!(origins[4], "customers?page=3#1");
    assert_eq!(
        last_cursor(&items).unwrap(),
        json!({"customers": {"changed": "2024-05-05T08:00:00.5Z", "key": "10005"}})
    );
}

async fn s4_partners(Query(query): Params) -> Json<Value> {
    let skip: usize = query.get("$skiptoken").map_or(0, |s| s.parse().unwrap());
    let results: Vec<Value> = (skip + 1..=(skip + 2).min(3))
        .map(|n| {
            json!({
                "__metadata": {
                    "id": format!("https://s4.example.com/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner('1000{n}')"),
                    "uri": format!("https://s4.example.com/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner('1000{n}')"),
                    "type": "API_BUSINESS_PARTNER.A_BusinessPartnerType"
                },
                "BusinessPartner": format!("1000{n}"),
                "BusinessPartnerFullName": format!("Partner {n}"),
                "LastChangeDate": format!("/Date(17000000{n}0000)/")
            })
        })
        .collect();
    let mut d = json!({ "results": results });
    if skip + 2 < 3 {
        d["__next"] = json!(format!("A_BusinessPartner?$skiptoken={}", skip + 2));
    }
    Json(json!({ "d": d }))
}

#[tokio::test]
async fn odata_v2_pages_follow_the_relative_next_link() {
    let router = Router::new().route(
        "/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner",
        get(s4_partners),
    );
    let base = serve(router).await;
    let yaml = format!(
        r#"
base_url: "{base}/sap/opu/odata/sap/API_BUSINESS_PARTNER"
streams:
  - name: partners
    path: A_BusinessPartner
    query: {{ "$format": json }}
    records: "$.d.results[*]"
    pagination: {{ type: next_link, path: "$.d.__next" }}
    incremental: {{ field: LastChangeDate, initial: "/Date(0)/" }}
"#
    );
    let items = pull(&yaml, None).await;
    assert!(errors(&items).is_empty(), "{:?}", errors(&items));
    assert_eq!(ids(&items, "BusinessPartner"), ["10001", "10002", "10003"]);
    assert_eq!(
        last_cursor(&items).unwrap()["partners"]["changed"],
        "/Date(1700000030000)/"
    );
}

// ---------------------------------------------------------------------------------------------
// Generic REST: page numbers, cursor tokens, Link headers.

#[tokio::test]
async fn page_numbers_stop_at_the_first_short_page() {
    let log = Log::default();
    let handler_log = log.clone();
    let router = Router::new().route(
        "/v1/products",
        get(
            move |Query(query): Params, uri: Uri, headers: HeaderMap| async move {
                handler_log.push(uri.path(), &query, &headers);
                let page: usize = query["page"].parse().unwrap();
                let per_page: usize = query["per_page"].parse().unwrap();
                let items: Vec<Value> = (1..=5)
                    .map(|n| json!({"sku": format!("SKU-{n}"), "title": format!("Item {n}")}))
                    .skip((page - 1) * per_page)
                    .take(per_page)
                    .collect();
                Json(json!({"items": items, "total": 5, "page": page}))
            },
        ),
    );
    let base = serve(router).await;
    let yaml = format!(
        r#"
base_url: "{base}"
streams:
  - name: products
    path: /v1/products
    records: "$.items[*]"
    pagination: {{ type: page_number, page_param: page, size_param: per_page, size: 2 }}
"#
    );
    let items = pull(&yaml, None).await;
    assert_eq!(
        ids(&items, "sku"),
        ["SKU-1", "SKU-2", "SKU-3", "SKU-4", "SKU-5"]
    );
    assert_eq!(records(&items)[2].0, "/v1/products?page=2#1");
    let pages: Vec<String> = log.all().iter().map(|s| s.query["page"].clone()).collect();
    assert_eq!(pages, ["1", "2", "3"]);
}

#[tokio::test]
async fn cursor_tokens_are_sent_back_until_the_last_page() {
    let router = Router::new().route(
        "/api/orders",
        get(|Query(query): Params| async move {
            let (data, next) = match query.get("cursor").map(String::as_str) {
                None => (
                    json!([{"id": "SO-1"}, {"id": "SO-2"}]),
                    json!("eyJvZmZzZXQiOjJ9"),
                ),
                Some("eyJvZmZzZXQiOjJ9") => (json!([{"id": "SO-3"}]), json!(null)),
                Some(other) => panic!("unexpected cursor {other}"),
            };
            Json(json!({"data": data, "meta": {"next_cursor": next}}))
        }),
    );
    let base = serve(router).await;
    let yaml = format!(
        r#"
base_url: "{base}"
streams:
  - name: orders
    path: /api/orders
    records: "$.data[*]"
    pagination: {{ type: cursor, token_path: "$.meta.next_cursor", token_param: cursor }}
"#
    );
    let items = pull(&yaml, None).await;
    assert_eq!(ids(&items, "id"), ["SO-1", "SO-2", "SO-3"]);
}

#[tokio::test]
async fn link_header_pages_are_followed() {
    let router = Router::new().route(
        "/repos/items",
        get(|Query(query): Params| async move {
            let page: usize = query.get("page").map_or(1, |p| p.parse().unwrap());
            let mut headers = HeaderMap::new();
            if page < 3 {
                let link = format!(
                    r#"</repos/items?page={}>; rel="next", </repos/items?page=3>; rel="last""#,
                    page + 1
                );
                headers.insert("link", link.parse().unwrap());
            }
            (
                headers,
                Json(json!([{"id": page * 10}, {"id": page * 10 + 1}])),
            )
        }),
    );
    let base = serve(router).await;
    let yaml = format!(
        "base_url: {base}\nstreams: [{{ name: items, path: /repos/items, pagination: {{ type: link_header }} }}]"
    );
    let items = pull(&yaml, None).await;
    let got: Vec<i64> = records(&items)
        .iter()
        .map(|(_, p)| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, [10, 11, 20, 21, 30, 31]);
}

// ---------------------------------------------------------------------------------------------
// Throttling.

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_then_the_page_is_read() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let router = Router::new().route(
        "/api/items",
        get(move || {
            let counter = counter.clone();
            async move {
                if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    let mut headers = HeaderMap::new();
                    headers.insert("retry-after", "1".parse().unwrap());
                    (StatusCode::TOO_MANY_REQUESTS, headers, "Too Many Requests").into_response()
                } else {
                    Json(json!([{"id": 1}])).into_response()
                }
            }
        }),
    );
    let base = serve(router).await;
    let started = Instant::now();
    // The computed backoff would be 10 ms; the server's Retry-After says 1 s.
    let items = pull(
        &format!(
            "base_url: {base}\nretry: {{ initial_delay: 10ms }}\nstreams: [{{ name: items, path: /api/items }}]"
        ),
        None,
    )
    .await;
    assert_eq!(records(&items).len(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_retry_after_longer_than_max_delay_fails_at_once_with_advice() {
    let router = Router::new().route(
        "/api/items",
        get(|| async {
            let mut headers = HeaderMap::new();
            headers.insert("retry-after", "3600".parse().unwrap());
            (StatusCode::SERVICE_UNAVAILABLE, headers, "maintenance")
        }),
    );
    let base = serve(router).await;
    let items = pull(
        &format!("base_url: {base}\nstreams: [{{ name: items, path: /api/items }}]"),
        None,
    )
    .await;
    let error = items[0].as_ref().unwrap_err().to_string();
    assert!(error.contains("retry after 3600 s"), "{error}");
    assert!(error.contains("retry.max_delay"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Authentication.

/// A server that records the auth headers of each request.
async fn header_echo() -> (Log, String) {
    let log = Log::default();
    let handler_log = log.clone();
    let router = Router::new().route(
        "/data",
        get(
            move |Query(query): Params, uri: Uri, headers: HeaderMap| async move {
                handler_log.push(uri.path(), &query, &headers);
                Json(json!([{"id": 1}]))
            },
        ),
    );
    let base = serve(router).await;
    (log, base)
}

#[tokio::test]
async fn each_auth_scheme_sends_its_header() {
    let cases = [
        (
            "{ type: basic, username: CONCORD_USER, password: 'Pa55:word' }",
            "authorization",
            "Basic Q09OQ09SRF9VU0VSOlBhNTU6d29yZA==",
        ),
        (
            "{ type: bearer, token: eyJ0eXAi.abc }",
            "authorization",
            "Bearer eyJ0eXAi.abc",
        ),
        (
            "{ type: api_key, header: X-API-Key, value: k-123 }",
            "x-api-key",
            "k-123",
        ),
        (
            "{ type: frappe_token, key: 3f1a9c0d2b7e4f6, secret: 9b8c7d6e5f4a3b2 }",
            "authorization",
            "token 3f1a9c0d2b7e4f6:9b8c7d6e5f4a3b2",
        ),
    ];
    for (auth, header, expected) in cases {
        let (log, base) = header_echo().await;
        let items = pull(
            &format!("base_url: {base}\nauth: {auth}\nstreams: [{{ name: d, path: /data }}]"),
            None,
        )
        .await;
        assert_eq!(records(&items).len(), 1, "{auth}");
        let seen = log.all();
        assert_eq!(seen[0].headers[header], expected, "{auth}");
    }
}

/// A Business Central-like API behind an Entra ID-like token endpoint: tokens are numbered, and
/// the API accepts only the newest one.
#[derive(Clone, Default)]
struct OAuthServer {
    issued: Arc<AtomicUsize>,
    forms: Arc<Mutex<Vec<HashMap<String, String>>>>,
    api: Log,
    /// Tokens the API refuses although they have not expired (revoked).
    revoked: Arc<Mutex<Vec<String>>>,
}

async fn issue_token(
    State(server): State<OAuthServer>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Json<Value> {
    server.forms.lock().unwrap().push(form);
    let n = server.issued.fetch_add(1, Ordering::SeqCst) + 1;
    Json(
        json!({"token_type": "Bearer", "expires_in": 61, "ext_expires_in": 61, "access_token": format!("at-{n}")}),
    )
}

async fn bc_api(
    State(server): State<OAuthServer>,
    Query(query): Params,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    server.api.push(uri.path(), &query, &headers);
    let token = headers["authorization"]
        .to_str()
        .unwrap()
        .trim_start_matches("Bearer ");
    if server.revoked.lock().unwrap().iter().any(|t| t == token) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"code": "Authentication_InvalidCredentials"}})),
        )
            .into_response();
    }
    Json(json!({"value": [{"number": "10000"}]})).into_response()
}

#[tokio::test]
async fn oauth2_client_credentials_fetch_cache_and_refresh_the_token() {
    let server = OAuthServer::default();
    let router = Router::new()
        .route("/tenant-1/oauth2/v2.0/token", post(issue_token))
        .route("/api/v2.0/customers", get(bc_api))
        .with_state(server.clone());
    let base = serve(router).await;
    let config: HttpConfig = serde_yaml::from_str(&format!(
        r#"
base_url: "{base}/api/v2.0"
auth:
  type: oauth2_client_credentials
  token_url: "{base}/tenant-1/oauth2/v2.0/token"
  client_id: 8f7e6d5c
  client_secret: "cl1ent-s3cret"
  scope: "https://api.businesscentral.dynamics.com/.default"
streams: [{{ name: customers, path: customers, records: "$.value[*]" }}]
"#
    ))
    .unwrap();
    let connector = HttpConnector::new(config, std::path::Path::new("."));
    let pulled = |connector: &HttpConnector| connector.pull(None).collect::<Vec<PullResult>>();
    let bearer = |log: &Log| -> Vec<String> {
        log.all()
            .iter()
            .map(|s| s.headers["authorization"].to_str().unwrap().to_string())
            .collect()
    };

    // Each pull builds its client: a token is fetched, then used.
    let items = pulled(&connector).await;
    assert_eq!(records(&items).len(), 1);
    assert_eq!(bearer(&server.api), ["Bearer at-1"]);
    let form = server.forms.lock().unwrap()[0].clone();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], "8f7e6d5c");
    assert_eq!(form["client_secret"], "cl1ent-s3cret");
    assert_eq!(
        form["scope"],
        "https://api.businesscentral.dynamics.com/.default"
    );

    // A token the API refuses (401) is replaced once, and the request goes through.
    server.revoked.lock().unwrap().push("at-2".into());
    server.api.clear();
    let items = pulled(&connector).await;
    assert!(errors(&items).is_empty(), "{:?}", errors(&items));
    assert_eq!(bearer(&server.api), ["Bearer at-2", "Bearer at-3"]);

    // A refused login that a new token does not cure ends the source with advice.
    server
        .revoked
        .lock()
        .unwrap()
        .extend(["at-4".into(), "at-5".into()]);
    let items = pulled(&connector).await;
    let error = items[0].as_ref().unwrap_err().to_string();
    assert!(
        error.contains("HTTP 401") && error.contains("`auth`"),
        "{error}"
    );
    assert_eq!(server.issued.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn an_oauth2_token_is_reused_until_shortly_before_it_expires() {
    use concord::transport::http::{AuthConfig, HttpClient, Secret, TransportConfig};
    let server = OAuthServer::default();
    let router = Router::new()
        .route("/token", post(issue_token))
        .route("/customers", get(bc_api))
        .with_state(server.clone());
    let base = serve(router).await;
    let mut config = TransportConfig::new(base.clone());
    config.auth = Some(AuthConfig::OAuth2ClientCredentials {
        token_url: format!("{base}/token"),
        client_id: "app".into(),
        client_secret: Secret::new("s"),
        scope: None,
    });
    let client = HttpClient::new(&config).unwrap();
    client.get_json("customers", &[]).await.unwrap();
    client.get_json("/customers", &[]).await.unwrap();
    assert_eq!(server.issued.load(Ordering::SeqCst), 1);
    // expires_in 61 s, renewed 60 s early: after one second the next request fetches a new one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.get_json("customers", &[]).await.unwrap();
    assert_eq!(server.issued.load(Ordering::SeqCst), 2);
    let used: Vec<String> = server
        .api
        .all()
        .iter()
        .map(|s| s.headers["authorization"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(used, ["Bearer at-1", "Bearer at-1", "Bearer at-2"]);
}

// ---------------------------------------------------------------------------------------------
// Secrets.

/// A tracing writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_show_in_logs_errors_or_debug_output() {
    const SECRET: &str = "9b8c7d6e5f4a3b2";
    // A server that first fails (retries are logged), then refuses the key and echoes the
    // Authorization header back in its error page, as some misconfigured proxies do.
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let router = Router::new().route(
        "/api/resource/Customer",
        get(move |headers: HeaderMap| {
            let counter = counter.clone();
            async move {
                let auth = headers["authorization"].to_str().unwrap().to_string();
                if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("busy, your header was {auth}"),
                    );
                }
                (StatusCode::FORBIDDEN, format!("denied for header {auth}"))
            }
        }),
    );
    let base = serve(router).await;
    let yaml = format!(
        r#"
base_url: "{base}"
auth: {{ type: frappe_token, key: 3f1a9c0d2b7e4f6, secret: "{SECRET}" }}
headers: {{ X-Frappe-Site-Key: "{SECRET}" }}
retry: {{ max_attempts: 2, initial_delay: 10ms }}
streams: [{{ name: customers, path: /api/resource/Customer }}]
"#
    );
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let config: HttpConfig = serde_yaml::from_str(&yaml).unwrap();
    let debug = format!("{config:?}");
    let items = pull(&yaml, None).await;
    let error = items[0].as_ref().unwrap_err().to_string();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        error.contains("HTTP 403") && error.contains("denied for header token ***"),
        "{error}"
    );
    assert!(logs.contains("retrying"), "{logs}");
    for (what, text) in [("error", &error), ("logs", &logs), ("debug", &debug)] {
        assert!(!text.contains(SECRET), "{what} shows the secret: {text}");
    }
}

#[tokio::test]
async fn an_unreachable_server_is_retried_then_reported() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let items = pull(
        &format!(
            "base_url: {base}\nretry: {{ max_attempts: 2, initial_delay: 10ms }}\nstreams: [{{ name: items, path: /api/items }}]"
        ),
        None,
    )
    .await;
    let error = items[0].as_ref().unwrap_err();
    assert!(error.is_stream_failure());
    let text = error.to_string();
    assert!(
        text.contains("cannot connect") && text.contains("2 attempt"),
        "{text}"
    );
}

#[tokio::test]
async fn a_cursor_of_another_stream_is_kept_in_the_checkpoint() {
    let (_erp, base) = erp_server().await;
    let yaml = format!(
        r#"
base_url: "{base}"
auth: {{ type: frappe_token, key: 3f1a9c0d2b7e4f6, secret: 9b8c7d6e5f4a3b2 }}
streams:
  - name: customers
    path: /api/resource/Customer
    query: {{ order_by: "modified asc, name asc", filters: '[["modified", ">=", "{{{{cursor}}}}"]]' }}
    records: "$.data[*]"
    pagination: {{ type: offset, offset_param: limit_start, limit_param: limit_page_length, limit: 500 }}
    incremental: {{ field: modified, key: name, initial: "1970-01-01 00:00:00" }}
"#
    );
    let since = json!({"customers": {"changed": "2024-03-06 10:00:00.000006", "key": "CUST-2024-00006"}, "items": {"changed": "2024-01-01 00:00:00"}});
    let items = pull(&yaml, Some(since)).await;
    assert_eq!(ids(&items, "name"), ["CUST-2024-00006", "CUST-2024-00007"]);
    assert_eq!(
        last_cursor(&items).unwrap(),
        json!({"customers": {"changed": "2024-03-07 10:00:00.000007", "key": "CUST-2024-00007"}, "items": {"changed": "2024-01-01 00:00:00"}})
    );
}

// ---------------------------------------------------------------------------------------------
// Pagination that would loop.

#[tokio::test]
async fn next_links_that_lead_back_end_the_stream_with_an_error_and_the_next_stream_is_read() {
    // Page A names B, B names A again (a server whose skip tokens wrap around).
    let router = Router::new()
        .route(
            "/odata/customers",
            get(|Query(query): Params, headers: HeaderMap| async move {
                let host = headers["host"].to_str().unwrap().to_string();
                let (records, next) = match query.get("$skiptoken").map(String::as_str) {
                    Some("B") => (vec![json!({"id": "3"}), json!({"id": "4"})], String::new()),
                    _ => (
                        vec![json!({"id": "1"}), json!({"id": "2"})],
                        "?$skiptoken=B".into(),
                    ),
                };
                Json(json!({
                    "value": records,
                    "@odata.nextLink": format!("http://{host}/odata/customers{next}")
                }))
            }),
        )
        .route(
            "/odata/items",
            get(|| async { Json(json!({"value": [{"id": "I-1"}]})) }),
        );
    let base = serve(router).await;
    let items = tokio::time::timeout(
        Duration::from_secs(20),
        pull(
            &format!(
                r#"base_url: {base}
streams:
  - {{ name: customers, path: /odata/customers, records: "$.value[*]", pagination: {{ type: next_link, path: "$['@odata.nextLink']" }} }}
  - {{ name: items, path: /odata/items, records: "$.value[*]" }}
"#
            ),
            None,
        ),
    )
    .await
    .expect("the pull ends");
    assert_eq!(ids(&items, "id"), ["1", "2", "3", "4", "I-1"]);
    let errors = errors(&items);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let message = errors[0].to_string();
    assert!(errors[0].is_stream_failure());
    assert!(message.starts_with("stream `customers`: "), "{message}");
    assert!(message.contains("`/odata/customers`"), "{message}");
    assert!(message.contains("read before"), "{message}");
}

#[tokio::test]
async fn a_server_ignoring_the_offset_ends_the_stream_with_an_error() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = Router::new().route(
        "/api/resource/Customer",
        get(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                // Always the same full page, whatever `limit_start` says.
                Json(json!({"data": [{"name": "A"}, {"name": "B"}]}))
            }
        }),
    );
    let base = serve(router).await;
    let items = tokio::time::timeout(
        Duration::from_secs(20),
        pull(
            &format!(
                r#"base_url: {base}
streams:
  - name: customers
    path: /api/resource/Customer
    records: "$.data[*]"
    pagination: {{ type: offset, offset_param: limit_start, limit_param: limit_page_length, limit: 2 }}
"#
            ),
            None,
        ),
    )
    .await
    .expect("the pull ends");
    assert_eq!(ids(&items, "name"), ["A", "B"]);
    let errors = errors(&items);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let message = errors[0].to_string();
    assert!(message.starts_with("stream `customers`: "), "{message}");
    assert!(message.contains("limit_start=2"), "{message}");
    assert!(message.contains("same 2 record(s)"), "{message}");
    assert!(hits.load(Ordering::SeqCst) < 10);
}

#[tokio::test]
async fn a_server_error_with_the_same_body_twice_is_not_retried_further() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = Router::new().route(
        "/api/resource/Customer",
        get(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let body = json!({
                    "exc_type": "ProgrammingError",
                    "exception": "pymysql.err.ProgrammingError: (1054, \"Unknown column 'tabCustomer.gstin' in 'field list'\")"
                });
                (StatusCode::INTERNAL_SERVER_ERROR, Json(body))
            }
        }),
    );
    let base = serve(router).await;
    let items = pull(
        &format!(
            "base_url: {base}\nretry: {{ max_attempts: 5, initial_delay: 10ms }}\nstreams: [{{ name: customers, path: /api/resource/Customer, records: '$.data[*]' }}]"
        ),
        None,
    )
    .await;
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    let message = errors(&items)[0].to_string();
    assert!(message.contains("HTTP 500"), "{message}");
    assert!(message.contains("Unknown column"), "{message}");
    assert!(message.contains("check the stream's `query`"), "{message}");
}

#[tokio::test]
async fn each_listed_record_is_read_as_its_document_and_a_gone_one_is_left_out() {
    let router = Router::new()
        .route(
            "/api/resource/Sales%20Order",
            get(|| async {
                Json(json!({"data": [
                    {"name": "SAL-ORD-2024-00041", "modified": "2024-05-13 15:02:44.218000"},
                    {"name": "SAL-ORD-2024-00099", "modified": "2024-05-13 16:00:00.000000"},
                    {"name": "SAL-ORD 2024/7", "modified": "2024-05-14 09:30:00.000000"}
                ]}))
            }),
        )
        .route(
            "/api/resource/Sales%20Order/{name}",
            get(|axum::extract::Path(name): axum::extract::Path<String>| async move {
                if name == "SAL-ORD-2024-00099" {
                    let body = json!({"exc_type": "DoesNotExistError", "_server_messages": "[\"Sales Order SAL-ORD-2024-00099 not found\"]"});
                    return (StatusCode::NOT_FOUND, Json(body)).into_response();
                }
                Json(json!({"data": {"name": name, "items": [{"item_code": "100100", "qty": 2.0}]}}))
                    .into_response()
            }),
        );
    let base = serve(router).await;
    let items = pull(
        &format!(
            r#"base_url: {base}
streams:
  - name: sales_orders
    path: /api/resource/Sales Order
    records: "$.data[*]"
    documents: {{ path: /api/resource/Sales Order, key: name, record: "$.data" }}
"#
        ),
        None,
    )
    .await;
    assert!(errors(&items).is_empty(), "{:?}", errors(&items));
    let read = records(&items);
    let names: Vec<&Value> = read.iter().map(|(_, p)| &p["name"]).collect();
    assert_eq!(
        names,
        [&json!("SAL-ORD-2024-00041"), &json!("SAL-ORD 2024/7")]
    );
    assert!(
        read.iter()
            .all(|(_, p)| p["items"][0]["item_code"] == "100100")
    );
}
