//! The read-only API on the quickstart store, over real HTTP on 127.0.0.1: golden records by ID
//! and by SOURCE:KEY, search, a customer's orders, the change feed's pages, problem details, the
//! OpenAPI document; `concord find` through the real binary; and the same searches on PostgreSQL.

#[allow(dead_code, unused_macros, unused_imports)]
#[path = "store/backend.rs"]
mod backend;
mod common;
mod web_support;

use std::collections::HashSet;
use std::path::Path;

use concord::config::Config;
use concord::model::EntityKind;
use concord::store::{SearchQuery, Store};
use concord::sync::SyncOptions;
use reqwest::StatusCode;
use serde_json::Value;
use web_support::{Served, quickstart_project, serve};

/// Golden customer #1 of examples/quickstart/EXPECTED.md.
const MULLER: &str = "Müller Maschinenbau GmbH";

async fn synced_quickstart(dir: &Path) -> (std::path::PathBuf, Box<dyn Store>) {
    let config_path = quickstart_project(dir);
    let config = Config::load(&config_path).expect("config loads");
    let (store, _) = common::sync(&config, &SyncOptions::default()).await;
    (config_path, store)
}

async fn get(served: &Served, path: &str) -> (StatusCode, Value, String) {
    let response = reqwest::get(served.url(path)).await.expect("request");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.json().await.expect("a JSON body");
    (status, body, content_type)
}

fn names(found: &Value) -> Vec<String> {
    found["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            item["record"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// A problem details body with this status (RFC 9457).
fn assert_problem(answer: &(StatusCode, Value, String), status: StatusCode) {
    let (got, body, content_type) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["status"], status.as_u16());
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
}

#[tokio::test]
async fn golden_records_are_found_by_id_and_source_key_with_lineage_and_orders() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _store) = synced_quickstart(dir.path()).await;
    let served = serve(&config, None).await;

    let (status, by_key, _) = get(&served, "/api/customers/erpnext:CUST-00012").await;
    assert_eq!(status, StatusCode::OK, "{by_key}");
    let id = by_key["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("cus_"));
    assert_eq!(by_key["record"]["name"], MULLER);
    // SAP has the highest priority: its name wins, and lineage says so.
    assert_eq!(by_key["lineage"]["name"]["source"], "sap");
    assert_eq!(by_key["lineage"]["name"]["key"], "100001");
    assert_eq!(by_key["lineage"]["emails"]["source"], "erpnext");
    assert!(!by_key["history"].as_array().unwrap().is_empty());

    let (status, by_id, _) = get(&served, &format!("/api/customers/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_id, by_key);

    let (_, orders, _) = get(&served, &format!("/api/customers/{id}/orders")).await;
    let numbers: HashSet<&str> = orders["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["record"]["order_number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, HashSet::from(["12001", "SAL-ORD-2024-00041"]));

    let (status, product, _) = get(&served, "/api/products/sap:100100").await;
    assert_eq!(status, StatusCode::OK, "{product}");
    assert!(product["id"].as_str().unwrap().starts_with("prd_"));
    // A product ID is not a customer.
    let product_id = product["id"].as_str().unwrap().to_string();
    assert_problem(
        &get(&served, &format!("/api/customers/{product_id}")).await,
        StatusCode::NOT_FOUND,
    );
}

#[tokio::test]
async fn search_finds_customers_by_name_tax_id_email_and_phone() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _store) = synced_quickstart(dir.path()).await;
    let served = serve(&config, None).await;

    let (_, by_name, _) = get(&served, "/api/customers?q=maschinenbau").await;
    let mut found = names(&by_name);
    found.sort();
    assert_eq!(
        found,
        [MULLER, "Müller Maschinenbau Service GmbH"],
        "{by_name}"
    );
    for query in [
        "q=de%20811%20234.567",           // tax ID, written with spaces and dots
        "tax_id=DE811234567",             // the explicit parameter
        "q=INFO@mueller-maschinenbau.de", // email, any case
        "phone=07161%2098760",            // phone, national form of +49 7161 9876-0
        "name=m%C3%BCller&phone=%2B49%207161%209876-0", // both must match
    ] {
        let (status, found, _) = get(&served, &format!("/api/customers?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {found}");
        assert_eq!(names(&found), vec![MULLER.to_string()], "{query}");
    }
    let (_, anna, _) = get(&served, "/api/customers?email=anna.schmidt@web.de").await;
    assert_eq!(names(&anna), vec!["Anna Schmidt".to_string()]);
    // Every parameter must match: Müller's name with another customer's email finds nothing.
    let (_, none, _) = get(
        &served,
        "/api/customers?name=m%C3%BCller&email=anna.schmidt@web.de",
    )
    .await;
    assert_eq!(names(&none), Vec::<String>::new());
    // A wildcard is a character, not a pattern.
    let (_, literal, _) = get(&served, "/api/customers?q=%25").await;
    assert_eq!(names(&literal), Vec::<String>::new());
}

#[tokio::test]
async fn the_change_feed_pages_through_every_event_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (config, store) = synced_quickstart(dir.path()).await;
    let stored: Vec<String> = store
        .events(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.event_id)
        .collect();
    assert!(stored.len() > 10);
    let served = serve(&config, None).await;

    let mut seen = Vec::new();
    let mut next = Some("/api/events?limit=7".to_string());
    let mut pages = 0;
    while let Some(path) = next {
        let (status, page, _) = get(&served, &path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for event in page["items"].as_array().unwrap() {
            seen.push(event["event_id"].as_str().unwrap().to_string());
        }
        next = page["next"].as_str().map(str::to_string);
        pages += 1;
        assert!(pages <= stored.len(), "the feed does not end");
    }
    assert_eq!(seen, stored);
    assert_eq!(pages, stored.len().div_ceil(7));
    // From the middle: only what came after.
    let (_, tail, _) = get(&served, &format!("/api/events?after={}", stored[4])).await;
    assert_eq!(tail["items"].as_array().unwrap().len(), stored.len() - 5);
    assert_eq!(tail["items"][0]["event_id"], stored[5].as_str());
}

#[tokio::test]
async fn unknown_ids_are_404_and_bad_queries_400_as_problem_details() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _store) = synced_quickstart(dir.path()).await;
    let served = serve(&config, None).await;

    for path in [
        "/api/customers/cus_00000000000000000000000000000000",
        "/api/customers/sap:999999",
        "/api/customers/nosuchsource:1",
        "/api/customers/cus_unknown/orders",
        "/api/products/sap:100001", // a customer's key, not a product's
        "/api/nothing-here",
    ] {
        assert_problem(&get(&served, path).await, StatusCode::NOT_FOUND);
    }
    for path in [
        "/api/customers",
        "/api/customers?q=%20%20",
        "/api/customers?phone=12",
        "/api/customers?q=x&limit=0",
        "/api/customers?q=x&limit=100000",
        "/api/customers?q=x&limit=many",
        "/api/events?after=not-an-event",
        "/api/events?limit=-1",
    ] {
        assert_problem(&get(&served, path).await, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn with_logins_configured_the_api_answers_only_a_logged_in_caller() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _store) = synced_quickstart(dir.path()).await;
    let auth = concord::web::AuthConfig {
        users: vec![concord::web::UserConfig {
            name: "ada".into(),
            password_hash: concord::web::auth::hash_password("pw").unwrap(),
        }],
        header: None,
        trusted_proxies: Vec::new(),
        secure_cookie: false,
        session_idle: std::time::Duration::from_secs(60),
    };
    let served = serve(&config, Some(auth)).await;
    assert_problem(
        &get(&served, "/api/customers/sap:100001").await,
        StatusCode::UNAUTHORIZED,
    );
    assert_problem(&get(&served, "/api/events").await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_openapi_document_parses_and_describes_every_route_as_it_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _store) = synced_quickstart(dir.path()).await;
    let served = serve(&config, None).await;

    let (status, doc, _) = get(&served, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths: HashSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        paths,
        HashSet::from([
            "/api/customers",
            "/api/customers/{id}",
            "/api/customers/{id}/orders",
            "/api/products",
            "/api/products/{id}",
            "/api/events",
        ])
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    // Each documented route answers, with a status the document lists for it.
    for (path, item) in doc["paths"].as_object().unwrap() {
        let get_op = &item["get"];
        assert!(get_op.is_object(), "{path} has a GET");
        let concrete = path
            .replace("{id}", "sap:100001")
            .replace("/products/sap:100001", "/products/sap:100100");
        let query = if concrete.ends_with("/customers") || concrete.ends_with("/products") {
            "?q=a"
        } else {
            ""
        };
        let (status, body, _) = get(&served, &format!("{concrete}{query}")).await;
        assert_eq!(status, StatusCode::OK, "{concrete}{query}: {body}");
        assert!(
            get_op["responses"]["200"].is_object(),
            "{path} documents 200"
        );
        if path.contains("{id}") {
            assert!(
                get_op["responses"]["404"].is_object(),
                "{path} documents 404"
            );
        }
    }
}

#[tokio::test]
async fn concord_find_prints_what_the_api_search_finds() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _store) = synced_quickstart(dir.path()).await;
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_concord"))
            .arg("--config")
            .arg(&config)
            .arg("find")
            .args(args)
            .output()
            .expect("concord runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, table, _) = run(&["DE 811 234 567"]);
    assert_eq!(code, Some(0));
    assert!(table.contains(MULLER), "{table}");
    assert_eq!(
        table.lines().count(),
        2,
        "a header and one record:\n{table}"
    );

    let (code, lines, _) = run(&["--phone", "+49 7161 98760", "--format", "jsonl"]);
    assert_eq!(code, Some(0));
    let found: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["record"]["name"], MULLER);

    let (code, _, error) = run(&[]);
    assert_eq!(code, Some(2), "nothing to look for is a usage error");
    assert!(error.contains("say what to look for"), "{error}");
}

/// The same searches on both stores give the same records.
#[tokio::test]
async fn postgres_finds_what_sqlite_finds() {
    let dir = tempfile::tempdir().unwrap();
    let (config_path, sqlite) = synced_quickstart(dir.path()).await;
    let schema = backend::PgSchema::create().await;
    let mut config = Config::load(&config_path).unwrap();
    config.store.url = schema.url();
    schema
        .run(async move {
            let (pg, _) = common::sync(&config, &SyncOptions::default()).await;
            let queries = [
                SearchQuery {
                    any: Some("maschinenbau".into()),
                    ..Default::default()
                },
                SearchQuery {
                    any: Some("de811234567".into()),
                    ..Default::default()
                },
                SearchQuery {
                    email: Some("ANNA.SCHMIDT@web.de".into()),
                    ..Default::default()
                },
                SearchQuery {
                    phone: Some("07161 98760".into()),
                    name: Some("müller".into()),
                    ..Default::default()
                },
                SearchQuery {
                    any: Some("100%".into()),
                    ..Default::default()
                },
            ];
            for query in &queries {
                let names = |hits: Vec<concord::store::GoldenSummary>| -> Vec<String> {
                    let mut names: Vec<String> =
                        hits.iter().map(|h| h.record["name"].to_string()).collect();
                    names.sort();
                    names
                };
                let on_sqlite = names(
                    sqlite
                        .search(EntityKind::Customer, query, 50)
                        .await
                        .unwrap(),
                );
                let on_pg = names(pg.search(EntityKind::Customer, query, 50).await.unwrap());
                assert_eq!(on_pg, on_sqlite, "{query:?}");
            }
            let muller =
                common::golden_of(pg.as_ref(), EntityKind::Customer, "sap", "100001").await;
            let orders = pg.linked(&muller.id, EntityKind::Order, 10).await.unwrap();
            assert_eq!(orders.len(), 2);
            let runs = pg.runs(10).await.unwrap();
            assert_eq!(runs.len(), 3, "one run per source");
            assert!(
                runs.iter()
                    .all(|r| r.status == "succeeded" && r.finished_at.is_some())
            );
            assert!(runs.windows(2).all(|w| w[0].id > w[1].id), "newest first");
        })
        .await;
}

/// `concord run` serves the API beside /healthz on its operations address.
#[tokio::test]
async fn concord_run_serves_the_api_on_its_operations_address() {
    let dir = tempfile::tempdir().unwrap();
    let config = quickstart_project(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!("operations: {{ listen: \"127.0.0.1:{port}\" }}\n"));
    std::fs::write(&config, text).unwrap();
    let mut service = std::process::Command::new(env!("CARGO_BIN_EXE_concord"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("concord run starts");
    let url = format!("http://127.0.0.1:{port}/api/customers/sap:100001");
    let mut answer = None;
    for _ in 0..300 {
        if let Ok(response) = reqwest::get(&url).await
            && response.status() == StatusCode::OK
        {
            answer = response.json::<Value>().await.ok();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let health = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
    let _ = service.kill();
    let _ = service.wait();
    let answer = answer.expect("the API answers once the first sync is stored");
    assert_eq!(answer["record"]["name"], MULLER);
    assert_eq!(health.unwrap().status(), StatusCode::OK);
}
