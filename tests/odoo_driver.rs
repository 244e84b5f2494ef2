//! The `odoo` driver against a local server speaking Odoo's JSON-RPC API: paged pulls, the
//! incremental domain of a second run, lines nested into their orders, a refused password.

mod common;
#[path = "support/odoo.rs"]
mod odoo;
#[path = "support/tls.rs"]
mod tls;

use std::sync::{Arc, Mutex};

use concord::connector::{
    Connector, ConnectorError, Cursor, DriverConfig, PullResult, Pulled, RawRecord,
};
use futures::StreamExt;
use serde_json::{Value, json};

fn partner(id: i64, name: &str, write_date: &str, country: Value) -> Value {
    json!({"id": id, "name": name, "is_company": true, "vat": false, "email": format!("info{id}@example.com"),
           "country_id": country, "customer_rank": 1, "write_date": write_date})
}

fn partners() -> Vec<Value> {
    vec![
        partner(
            1,
            "Azure Interior",
            "2024-05-01 08:00:00",
            json!([57, "Germany"]),
        ),
        partner(2, "Deco Addict", "2024-05-01 09:00:00", json!(false)),
        // Two records changed in the same second, across a page boundary.
        partner(
            3,
            "Gemini Furniture",
            "2024-05-01 10:00:00",
            json!([233, "United States"]),
        ),
        partner(
            4,
            "Lumber Inc",
            "2024-05-01 10:00:00",
            json!([57, "Germany"]),
        ),
        partner(
            5,
            "Ready Mat",
            "2024-05-01 11:00:00",
            json!([57, "Germany"]),
        ),
        // Not a customer: the profile's domain leaves it out.
        json!({"id": 6, "name": "Vendor", "is_company": true, "vat": false, "email": false,
               "country_id": false, "customer_rank": 0, "write_date": "2024-05-01 12:00:00"}),
    ]
}

fn connector(url: &str, password: &str, page_size: u64) -> Box<dyn Connector> {
    let yaml = format!(
        r#"
driver: odoo
url: "{url}"
database: {db}
username: "{login}"
password: "{password}"
page_size: {page_size}
lookback: 1h
retry: {{ max_attempts: 1 }}
models:
  - {{ name: partners, model: res.partner, fields: [name, is_company, vat, email, country_id, write_date], domain: [["customer_rank", ">", 0]] }}
  - name: orders
    model: sale.order
    fields: [name, partner_id, write_date]
    lines: {{ model: sale.order.line, parent_field: order_id, fields: [product_id, product_uom_qty] }}
"#,
        db = odoo::DB,
        login = odoo::LOGIN,
    );
    let config: DriverConfig = serde_yaml::from_str(&yaml).unwrap();
    config.connector(std::path::Path::new("."))
}

fn data() -> odoo::OdooData {
    let mut data = odoo::OdooData::default();
    odoo::add(
        &mut data,
        "res.partner",
        partners(),
        &[
            ("vat", "char"),
            ("email", "char"),
            ("customer_rank", "integer"),
        ],
    );
    odoo::add(
        &mut data,
        "sale.order",
        vec![
            json!({"id": 10, "name": "S00010", "partner_id": [1, "Azure Interior"], "order_line": [100, 101], "write_date": "2024-05-02 08:00:00"}),
            json!({"id": 11, "name": "S00011", "partner_id": [3, "Gemini Furniture"], "order_line": [], "write_date": "2024-05-02 09:00:00"}),
        ],
        &[],
    );
    odoo::add(
        &mut data,
        "sale.order.line",
        vec![
            json!({"id": 100, "order_id": [10, "S00010"], "product_id": [7, "[DESK] Desk"], "product_uom_qty": 2.0}),
            json!({"id": 101, "order_id": [10, "S00010"], "product_id": [8, "[LAMP] Lamp"], "product_uom_qty": 1.5}),
            json!({"id": 102, "order_id": [99, "S00099"], "product_id": [8, "[LAMP] Lamp"], "product_uom_qty": 9.0}),
        ],
        &[],
    );
    data
}

async fn pull(connector: &dyn Connector, since: Option<Cursor>) -> Vec<PullResult> {
    connector.pull(since).collect().await
}

fn records<'a>(items: &'a [PullResult], stream: &str) -> Vec<&'a RawRecord> {
    items
        .iter()
        .filter_map(|item| match item {
            Ok(Pulled::Record(r)) if r.stream.as_deref() == Some(stream) => Some(r),
            _ => None,
        })
        .collect()
}

fn last_cursor(items: &[PullResult]) -> Option<Cursor> {
    items.iter().rev().find_map(|item| match item {
        Ok(Pulled::Checkpoint(c)) => Some(c.clone()),
        _ => None,
    })
}

fn search_domains(shared: &odoo::Shared, model: &str) -> Vec<Value> {
    let data = shared.lock().unwrap();
    data.calls
        .iter()
        .filter(|(m, method, _, _)| m == model && method == "search_read")
        .map(|(_, _, args, _)| args[0].clone())
        .collect()
}

#[tokio::test]
async fn a_paged_pull_reads_every_record_once_with_lines_nested_and_false_as_null() {
    let (url, shared) = odoo::start(data()).await;
    let connector = connector(&url, odoo::PASSWORD, 2);
    let items = pull(connector.as_ref(), None).await;
    assert!(items.iter().all(Result::is_ok), "{items:?}");

    let partners = records(&items, "partners");
    let ids: Vec<i64> = partners
        .iter()
        .map(|r| r.payload["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        [1, 2, 3, 4, 5],
        "the keyset keeps both records of one second, the domain drops the vendor"
    );
    assert_eq!(partners[0].payload["country_id"], json!([57, "Germany"]));
    assert_eq!(
        partners[1].payload["country_id"],
        Value::Null,
        "many2one false"
    );
    assert_eq!(partners[0].payload["vat"], Value::Null, "char false");
    assert_eq!(partners[0].payload["is_company"], json!(true));
    assert_eq!(partners[0].origin, "res.partner#1");

    // Pages of two: 2 + 2 + 1 records, the last short page ends the model.
    let domains = search_domains(&shared, "res.partner");
    assert_eq!(domains.len(), 3, "{domains:?}");
    assert_eq!(domains[0], json!([["customer_rank", ">", 0]]));
    assert_eq!(
        domains[1],
        json!([
            ["customer_rank", ">", 0],
            "|",
            ["write_date", ">", "2024-05-01 09:00:00"],
            "&",
            ["write_date", "=", "2024-05-01 09:00:00"],
            ["id", ">", 2]
        ])
    );

    let orders = records(&items, "orders");
    assert_eq!(orders.len(), 2);
    let lines = orders[0].payload["lines"].as_array().unwrap();
    let products: Vec<&Value> = lines.iter().map(|l| &l["product_id"][0]).collect();
    assert_eq!(products, [&json!(7), &json!(8)]);
    assert_eq!(orders[1].payload["lines"], json!([]));
    assert_eq!(
        search_domains(&shared, "sale.order.line"),
        [json!([["order_id", "in", [10, 11]]])]
    );

    let checkpoints = items
        .iter()
        .filter(|i| matches!(i, Ok(Pulled::Checkpoint(_))))
        .count();
    assert_eq!(
        checkpoints, 4,
        "one per page: three of partners, one of orders"
    );
    let cursor = last_cursor(&items).unwrap();
    assert_eq!(
        cursor.0["models"]["partners"],
        json!({"write_date": "2024-05-01 11:00:00", "id": 5})
    );
    assert_eq!(
        cursor.0["models"]["orders"],
        json!({"write_date": "2024-05-02 09:00:00", "id": 11})
    );
}

#[tokio::test]
async fn a_second_run_asks_only_for_what_changed_since_the_cursor_minus_the_lookback() {
    let (url, shared) = odoo::start(data()).await;
    let connector = connector(&url, odoo::PASSWORD, 100);
    let first = pull(connector.as_ref(), None).await;
    let cursor = last_cursor(&first);

    {
        let mut data = shared.lock().unwrap();
        let partners = data.models.get_mut("res.partner").unwrap();
        partners[0]["name"] = json!("Azure Interior GmbH");
        partners[0]["write_date"] = json!("2024-06-01 08:00:00");
        partners.push(partner(
            7,
            "New Customer",
            "2024-06-01 09:00:00",
            json!(false),
        ));
        data.calls.clear();
    }
    let second = pull(connector.as_ref(), cursor).await;
    let names: Vec<&str> = records(&second, "partners")
        .iter()
        .map(|r| r.payload["name"].as_str().unwrap())
        .collect();
    // 11:00 minus the 1 h look-back re-reads Ready Mat (10:00 and later), then the two changes.
    assert_eq!(
        names,
        [
            "Gemini Furniture",
            "Lumber Inc",
            "Ready Mat",
            "Azure Interior GmbH",
            "New Customer"
        ]
    );
    assert_eq!(
        search_domains(&shared, "res.partner")[0],
        json!([
            ["customer_rank", ">", 0],
            ["write_date", ">=", "2024-05-01 10:00:00"]
        ])
    );
    assert_eq!(
        search_domains(&shared, "sale.order")[0],
        json!([["write_date", ">=", "2024-05-02 08:00:00"]])
    );
}

#[tokio::test]
async fn a_refused_password_ends_the_stream_with_an_error_that_never_shows_the_password() {
    let (url, _shared) = odoo::start(data()).await;
    let wrong = "wrong-password-d41d8cd98f";
    let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = {
        let logs = logs.clone();
        move || LogWriter(logs.clone())
    };
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let connector = connector(&url, wrong, 100);
    let items = pull(connector.as_ref(), None).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let Err(error @ ConnectorError::Unavailable { .. }) = &items[0] else {
        panic!("{items:?}")
    };
    assert!(error.is_fatal());
    let message = error.to_string();
    assert!(
        message.contains("login refused for user `concord@acme.example` on database `acme`"),
        "{message}"
    );
    assert!(!message.contains(wrong), "{message}");
    assert!(!format!("{error:?}").contains(wrong));
    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(!logs.contains(wrong), "{logs}");
}

#[tokio::test]
async fn a_sync_with_a_refused_password_fails_the_run_and_stores_nothing() {
    let (url, _shared) = odoo::start(data()).await;
    let project = common::Project::new();
    project.write(
        "concord.yaml",
        &format!(
            "store: {{ url: 'sqlite://concord.db' }}\nsources:\n  - name: odoo\n    profile: odoo\n    url: '{url}'\n    database: {}\n    username: '{}'\n    password: 'not-the-key-0b1c2d'\n",
            odoo::DB,
            odoo::LOGIN
        ),
    );
    let config = project.config();
    let pipeline = concord::sync::Pipeline::compile(config.clone()).unwrap();
    let store = concord::store::open(&config.store_url()).await.unwrap();
    let error = pipeline
        .sync(
            store.as_ref(),
            &Default::default(),
            &concord::sync::NoProgress,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("source `odoo`") && error.contains("login refused"),
        "{error}"
    );
    assert!(!error.contains("not-the-key-0b1c2d"), "{error}");
    assert_eq!(common::golden_counts(store.as_ref()).await, (0, 0, 0, 0));
    assert_eq!(store.checkpoint("odoo").await.unwrap(), None);
}

/// Collects log output for the secret check.
struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_odoo_behind_an_internal_ca_is_read_with_ca_file_and_answers_are_capped() {
    let ca = tls::TestCa::new("ACME Internal Root CA");
    let (router, _shared) = odoo::router(data());
    let url = tls::serve_https(router, &ca.issue(&["localhost"]), "localhost").await;
    let dir = tempfile::tempdir().unwrap();
    ca.write_pem(dir.path(), "odoo-ca.pem");
    let connector = |extra: &str| {
        let yaml = format!(
            r#"
driver: odoo
url: "{url}"
database: {db}
username: "{login}"
password: "{password}"
retry: {{ max_attempts: 1 }}
ca_file: odoo-ca.pem
{extra}
models:
  - {{ name: partners, model: res.partner, fields: [name, write_date] }}
"#,
            db = odoo::DB,
            login = odoo::LOGIN,
            password = odoo::PASSWORD,
        );
        let config: DriverConfig = serde_yaml::from_str(&yaml).unwrap();
        config.connector(dir.path())
    };

    // The CA file, relative to the config's folder, makes the server trusted.
    let items = pull(connector("").as_ref(), None).await;
    assert_eq!(records(&items, "partners").len(), 6, "{items:?}");

    // The shared transport's cap holds for Odoo's answers too.
    let items = pull(connector("max_response_size: 300").as_ref(), None).await;
    let errors: Vec<String> = items
        .iter()
        .filter_map(|item| item.as_ref().err().map(ToString::to_string))
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("larger than `max_response_size` (300 bytes)")),
        "{errors:?}"
    );
}
