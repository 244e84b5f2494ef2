//! The ready HTTP profiles pulled end to end: a config that names only the profile, the server's
//! URL and credentials; the real `http` driver and profile loader; `Pipeline` into a temporary
//! SQLite store. Each local server answers like the real system — its envelope, its paging, its
//! filter syntax, its auth scheme — serving the fixtures of `tests/fixtures/<profile>/` (and,
//! where the profile's page size is larger than the fixtures, older filler records so that a
//! stream spans two pages). A second run after one record changed must ask for the stored cursor
//! and read only what changed plus the profile's look-back window.

mod common;
#[path = "support/http_server.rs"]
mod http_server;

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use concord::model::EntityKind;
use concord::store::Store;
use concord::sync::{SourceSummary, SyncOptions};
use serde_json::{Value, json};

use common::{Project, golden_counts, golden_of, sync};
use http_server::{Log, Seen, serve};

type Params = Query<HashMap<String, String>>;

/// The records of a fixture response (`{"data": [...]}`, `{"d": {"results": [...]}}` or
/// `{"value": [...]}`).
fn fixture(profile: &str, file: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(profile)
        .join(file);
    let page: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let records = if page.get("data").is_some() {
        &page["data"]
    } else if page.get("d").is_some() {
        &page["d"]["results"]
    } else {
        &page["value"]
    };
    records.as_array().unwrap().clone()
}

/// What a server holds and saw: its tables (by resource), the requests, and every request it
/// had to refuse (bad auth, a filter or parameter the real system would not take).
#[derive(Clone, Default)]
struct Served {
    tables: Arc<Mutex<BTreeMap<String, Vec<Value>>>>,
    log: Log,
    refused: Arc<Mutex<Vec<String>>>,
    /// OAuth2 token requests (form fields), for Business Central.
    token_forms: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

impl Served {
    fn with(tables: &[(&str, Vec<Value>)]) -> Served {
        let served = Served::default();
        *served.tables.lock().unwrap() = tables
            .iter()
            .map(|(name, rows)| (name.to_string(), rows.clone()))
            .collect();
        served
    }

    fn refuse(&self, status: StatusCode, why: String, body: Value) -> Response {
        self.refused.lock().unwrap().push(why);
        (status, Json(body)).into_response()
    }

    fn refused(&self) -> Vec<String> {
        self.refused.lock().unwrap().clone()
    }

    /// Changes one record of `table` (the first whose `key` field is `value`).
    fn change(&self, table: &str, key: &str, value: &str, change: impl FnOnce(&mut Value)) {
        let mut tables = self.tables.lock().unwrap();
        let row = tables
            .get_mut(table)
            .unwrap()
            .iter_mut()
            .find(|r| r[key] == value)
            .unwrap();
        change(row);
    }

    /// The requests whose path ends with `suffix`.
    fn requests(&self, suffix: &str) -> Vec<Seen> {
        self.log
            .all()
            .into_iter()
            .filter(|s| s.path.ends_with(suffix))
            .collect()
    }
}

fn summary_ok(summary: &SourceSummary) {
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!(summary.quarantined, 0, "{summary:?}");
    assert_eq!(summary.unmatched, 0, "{summary:?}");
    assert_eq!(summary.reconcile.unresolved_refs, 0, "{summary:?}");
}

async fn no_quarantine(store: &dyn Store) {
    let quarantined = store.quarantined(10).await.unwrap();
    assert!(quarantined.is_empty(), "{quarantined:?}");
}

/// A change time as the servers compare them: OData v2 `/Date(ms[+offset])/`, RFC 3339, or a
/// naive `YYYY-MM-DD[ T]HH:MM:SS[.f]` (read as UTC).
fn time_of(value: &Value) -> Option<DateTime<Utc>> {
    let text = value.as_str()?;
    if let Some(inner) = text
        .strip_prefix("/Date(")
        .and_then(|t| t.strip_suffix(")/"))
    {
        let millis = inner.split(['+', '-']).next()?.parse::<i64>().ok()?;
        return DateTime::from_timestamp_millis(millis);
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .map(|t| t.and_utc())
}

/// Compares two field values the way a database orders them: times as times, nulls first.
fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (time_of(a), time_of(b)) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => match (a, b) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Less,
            (_, Value::Null) => Ordering::Greater,
            (Value::String(a), Value::String(b)) => a.cmp(b),
            _ => a.to_string().cmp(&b.to_string()),
        },
    }
}

/// Sorts rows by an order clause such as `modified asc, name asc` (ERPNext) or
/// `LastChangeDateTime asc,Product asc` (OData). `None` when a part is not `<field> asc|desc`.
fn sort_rows(rows: &mut [Value], order_by: &str) -> Option<()> {
    let mut keys = Vec::new();
    for part in order_by.split(',') {
        let mut words = part.split_whitespace();
        let field = words.next()?.to_string();
        let descending = match words.next().unwrap_or("asc") {
            "asc" => false,
            "desc" => true,
            _ => return None,
        };
        keys.push((field, descending));
    }
    rows.sort_by(|a, b| {
        keys.iter()
            .map(|(field, descending)| {
                let order = compare_values(&a[field], &b[field]);
                if *descending { order.reverse() } else { order }
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    Some(())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

// ---------------------------------------------------------------------------------------------
// ERPNext: Frappe's v1 resource API.

const ERP_KEY: &str = "3f1a9c0d2b7e4f6";
const ERP_SECRET: &str = "9b8c7d6e5f4a3b2";

/// `GET /api/resource/<DocType>` as Frappe answers it: `Authorization: token key:secret`,
/// `fields` (child tables only when asked for with `{"child": [...]}`), `filters` as a JSON list
/// of `[field, op, value]`, `order_by`, `limit_start`, `limit_page_length` (default 20), and
/// `{"data": [...]}`.
async fn erpnext(
    State(erp): State<Served>,
    Query(query): Params,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    erp.log.push(uri.path(), &query, &headers);
    let expected = format!("token {ERP_KEY}:{ERP_SECRET}");
    if header(&headers, "authorization") != expected {
        return erp.refuse(
            StatusCode::UNAUTHORIZED,
            format!("auth {:?}", header(&headers, "authorization")),
            json!({"exc_type": "AuthenticationError", "_server_messages": "[\"Invalid API key\"]"}),
        );
    }
    let Some(doctype) = uri.path().strip_prefix("/api/resource/") else {
        return erp.refuse(StatusCode::NOT_FOUND, uri.path().into(), json!({}));
    };
    let doctype = doctype.replace("%20", " ");
    let Some(mut rows) = erp.tables.lock().unwrap().get(&doctype).cloned() else {
        return erp.refuse(
            StatusCode::NOT_FOUND,
            format!("doctype {doctype}"),
            json!({"exc_type": "DoesNotExistError"}),
        );
    };
    // fields: "*" and child tables as {"items": ["*"]}.
    let fields: Value = match serde_json::from_str(query.get("fields").map_or("[\"name\"]", |f| f))
    {
        Ok(Value::Array(fields)) => Value::Array(fields),
        _ => {
            return erp.refuse(
                StatusCode::EXPECTATION_FAILED,
                format!("fields {:?}", query.get("fields")),
                json!({"exc_type": "DataError"}),
            );
        }
    };
    let children: Vec<String> = fields
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|o| o.keys().cloned())
        .collect();
    if !fields.as_array().unwrap().contains(&json!("*")) {
        return erp.refuse(StatusCode::EXPECTATION_FAILED, "no *".into(), json!({}));
    }
    for row in &mut rows {
        let object = row.as_object_mut().unwrap();
        object.retain(|name, value| !value.is_array() || children.contains(name));
    }
    // filters: [["modified", ">=", "<time>"]]
    let filters: Value =
        serde_json::from_str(query.get("filters").map_or("[]", |f| f)).unwrap_or(Value::Null);
    for filter in filters.as_array().into_iter().flatten() {
        let (Some(field), Some(">="), Some(since)) = (
            filter[0].as_str(),
            filter[1].as_str(),
            time_of(&filter[2]).filter(|_| !filter[2].as_str().unwrap().contains('T')),
        ) else {
            return erp.refuse(
                StatusCode::EXPECTATION_FAILED,
                format!("filter {filter}"),
                json!({"exc_type": "DataError"}),
            );
        };
        rows.retain(|r| time_of(&r[field]).is_some_and(|t| t >= since));
    }
    if let Some(order_by) = query.get("order_by")
        && sort_rows(&mut rows, order_by).is_none()
    {
        return erp.refuse(
            StatusCode::EXPECTATION_FAILED,
            format!("order_by {order_by}"),
            json!({}),
        );
    }
    let start: usize = query
        .get("limit_start")
        .map_or(Ok(0), |s| s.parse())
        .unwrap_or(0);
    let length: usize = query
        .get("limit_page_length")
        .map_or(Ok(20), |s| s.parse())
        .unwrap_or(20);
    let page: Vec<Value> = rows.into_iter().skip(start).take(length).collect();
    Json(json!({ "data": page })).into_response()
}

/// Customers older than every fixture record, so that the customers stream spans two pages of
/// the profile's 500.
fn erp_fillers(template: &Value, count: usize) -> Vec<Value> {
    (0..count)
        .map(|n| {
            let mut row = template.clone();
            row["name"] = json!(format!("CUST-9{n:04}"));
            row["customer_name"] = json!(format!("Filler Kunde {n}"));
            row["customer_type"] = json!("Company");
            row["email_id"] = Value::Null;
            row["modified"] = json!(format!("2024-01-{:02} 08:00:00.{n:06}", 1 + n % 28));
            row
        })
        .collect()
}

#[tokio::test]
async fn the_erpnext_profile_pulls_pages_then_only_what_changed() {
    let mut customers = fixture("erpnext", "customer.json");
    let fillers = erp_fillers(&customers[1], 500);
    customers.extend(fillers);
    let erp = Served::with(&[
        ("Customer", customers),
        ("Item", fixture("erpnext", "item.json")),
        ("Sales Order", fixture("erpnext", "sales_order.json")),
        ("BOM", fixture("erpnext", "bom.json")),
    ]);
    let base = serve(Router::new().fallback(erpnext).with_state(erp.clone())).await;
    let project = Project::new();
    project.write(
        "concord.yaml",
        &format!(
            "store: {{ url: 'sqlite://concord.db' }}\nsources:\n  - name: erp\n    profile: erpnext\n    base_url: '{base}'\n    auth: {{ type: frappe_token, key: '{ERP_KEY}', secret: '{ERP_SECRET}' }}\n"
        ),
    );
    let config = project.config();

    let (store, summaries) = sync(&config, &SyncOptions::default()).await;
    assert_eq!(erp.refused(), Vec::<String>::new());
    let summary = &summaries[0];
    summary_ok(summary);
    assert_eq!(summary.read, 503 + 4 + 2 + 1);
    assert_eq!(summary.reconcile.created, 510);
    no_quarantine(store.as_ref()).await;
    assert_eq!(golden_counts(store.as_ref()).await, (503, 4, 2, 1));

    // Customers came in two pages of the profile's 500, all from the initial cursor.
    let customer_requests = erp.requests("/Customer");
    let starts: Vec<&str> = customer_requests
        .iter()
        .map(|s| s.query["limit_start"].as_str())
        .collect();
    assert!(starts.starts_with(&["0", "500"]), "{starts:?}");
    assert!(customer_requests.iter().all(|s| {
        s.query["limit_page_length"] == "500"
            && s.query["filters"] == r#"[["modified", ">=", "1970-01-01 00:00:00"]]"#
    }));

    let golden = |entity, key: &'static str| {
        let store = store.as_ref();
        async move { golden_of(store, entity, "erp", key).await }
    };
    let mueller = golden(EntityKind::Customer, "CUST-00012").await;
    assert_eq!(mueller.record["name"], "Mueller Maschinenbau GmbH");
    let anna = golden(EntityKind::Customer, "CUST-00013").await;
    let pump = golden(EntityKind::Product, "100100").await;
    let seal = golden(EntityKind::Product, "100500").await;
    let casing = golden(EntityKind::Product, "200010").await;
    let service = golden(EntityKind::Product, "SRV-INST").await;

    let order = golden(EntityKind::Order, "SAL-ORD-2024-00041").await;
    assert_eq!(order.record["customer_id"], json!(mueller.id));
    let lines = order.record["lines"].as_array().unwrap();
    let products: Vec<&Value> = lines.iter().map(|l| &l["product_id"]).collect();
    assert_eq!(products, [&json!(pump.id), &json!(seal.id)]);
    let order = golden(EntityKind::Order, "SAL-ORD-2024-00042").await;
    assert_eq!(order.record["customer_id"], json!(anna.id));
    assert_eq!(order.record["lines"][0]["product_id"], json!(service.id));

    let bom = golden(EntityKind::Bom, "BOM-100100-001").await;
    assert_eq!(bom.record["product_id"], json!(pump.id));
    let components: Vec<&Value> = bom.record["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["component_id"])
        .collect();
    assert_eq!(components, [&json!(casing.id), &json!(seal.id)]);

    // Anna renamed in ERPNext; nothing else changed.
    erp.change("Customer", "name", "CUST-00013", |row| {
        row["customer_name"] = json!("Anna Schmidt-Berger");
        row["modified"] = json!("2024-05-20 09:00:00.000000");
    });
    erp.log.clear();
    let (_again, summaries) = sync(&config, &SyncOptions::default()).await;
    assert_eq!(erp.refused(), Vec::<String>::new());
    let summary = &summaries[0];
    summary_ok(summary);

    // Each stream asks from its newest stored change time minus the ten-minute look-back.
    let since = |doctype: &str| {
        let requests = erp.requests(doctype);
        assert!(!requests.is_empty(), "{doctype} read");
        let filters: Vec<String> = requests
            .iter()
            .map(|s| s.query["filters"].clone())
            .collect();
        assert!(filters.iter().all(|f| *f == filters[0]), "{filters:?}");
        filters[0].clone()
    };
    assert_eq!(
        since("/Customer"),
        r#"[["modified", ">=", "2024-05-14 07:51:10.500000"]]"#
    );
    assert_eq!(
        since("/Item"),
        r#"[["modified", ">=", "2024-05-11 16:35:12.000000"]]"#
    );
    assert_eq!(
        since("/Sales%20Order"),
        r#"[["modified", ">=", "2024-05-14 09:20:00.000000"]]"#
    );
    assert_eq!(
        since("/BOM"),
        r#"[["modified", ">=", "2024-05-12 10:10:30.000000"]]"#
    );
    // Read: Anna (changed) and, inside the look-back windows, CUST-00014, SRV-INST, the second
    // order and the BOM, which are dropped as unchanged. None of the other 505 records.
    assert_eq!(summary.read, 5, "{summary:?}");
    assert_eq!(summary.reconcile.updated, 1, "{summary:?}");
    assert_eq!(summary.reconcile.unchanged, 4, "{summary:?}");
    assert_eq!(summary.reconcile.created, 0, "{summary:?}");
    let anna = golden(EntityKind::Customer, "CUST-00013").await;
    assert_eq!(anna.record["name"], "Anna Schmidt-Berger");
}

// ---------------------------------------------------------------------------------------------
// SAP S/4HANA: OData v2 services under /sap/opu/odata/sap.

const S4_ROOT: &str = "/sap/opu/odata/sap";
const S4_USER: &str = "CONCORD_COMM_USER";
const S4_PASSWORD: &str = "S4-Passw0rd!";

/// The `$filter` each entity set of the profile must send, with the cursor literal as `{}`, and
/// the test the server applies for a cursor.
/// Which rows a filter keeps.
type RowTest = Box<dyn Fn(&Value) -> bool>;

fn s4_filter(entity_set: &str, cursor: &str) -> (String, RowTest) {
    if entity_set.ends_with("/A_BusinessPartner") {
        let since = time_of(&json!(cursor));
        (
            format!(
                "Customer ne '' and (LastChangeDate ge datetime'{cursor}' or CreationDate ge datetime'{cursor}')"
            ),
            Box::new(move |r: &Value| {
                let at_or_after =
                    |field: &str| time_of(&r[field]).is_some_and(|t| since.is_some_and(|s| t >= s));
                r["Customer"] != ""
                    && (at_or_after("LastChangeDate") || at_or_after("CreationDate"))
            }),
        )
    } else {
        let since = DateTime::parse_from_rfc3339(cursor).ok();
        (
            format!("LastChangeDateTime ge datetimeoffset'{cursor}'"),
            Box::new(move |r: &Value| {
                time_of(&r["LastChangeDateTime"]).is_some_and(|t| since.is_some_and(|s| t >= s))
            }),
        )
    }
}

/// Navigation properties not named in `$expand` come back deferred, as OData v2 has them.
fn s4_expand(row: &mut Value, expand: &[&str], prefix: &str) {
    let Some(object) = row.as_object_mut() else {
        return;
    };
    for (name, value) in object.iter_mut() {
        if !name.starts_with("to_") {
            continue;
        }
        let path = format!("{prefix}{name}");
        let expanded = expand
            .iter()
            .any(|e| *e == path || e.starts_with(&format!("{path}/")));
        if expanded {
            for child in value["results"].as_array_mut().into_iter().flatten() {
                s4_expand(child, expand, &format!("{path}/"));
            }
        } else {
            *value = json!({"__deferred": {"uri": format!("https://s4.example.com/{path}")}});
        }
    }
}

/// An S/4HANA OData v2 entity set: Basic auth, `$format=json`, `$filter` on the change time
/// (`datetime'...'` / `datetimeoffset'...'` literals), `$orderby`, `$skip`/`$top`, `$expand`,
/// and `{"d": {"results": [...]}}`.
async fn s4hana(
    State(s4): State<Served>,
    Query(query): Params,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    s4.log.push(uri.path(), &query, &headers);
    let sap_error = |message: &str| json!({"error": {"code": "/IWBEP/CM_MGW_RT/022", "message": {"lang": "en", "value": message}}});
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{S4_USER}:{S4_PASSWORD}"));
    if header(&headers, "authorization") != format!("Basic {basic}") {
        return s4.refuse(
            StatusCode::UNAUTHORIZED,
            format!("auth {:?}", header(&headers, "authorization")),
            sap_error("Logon failed"),
        );
    }
    let Some(entity_set) = uri.path().strip_prefix(S4_ROOT) else {
        return s4.refuse(
            StatusCode::NOT_FOUND,
            uri.path().into(),
            sap_error("No service"),
        );
    };
    let entity_set = entity_set.replace("%3B", ";").replace("%3D", "=");
    let Some(mut rows) = s4.tables.lock().unwrap().get(&entity_set).cloned() else {
        return s4.refuse(
            StatusCode::NOT_FOUND,
            format!("entity set {entity_set}"),
            sap_error("Resource not found"),
        );
    };
    if query.get("$format").map(String::as_str) != Some("json") {
        return s4.refuse(
            StatusCode::BAD_REQUEST,
            "no $format=json (the answer would be Atom XML)".into(),
            sap_error("$format"),
        );
    }
    let filter = query.get("$filter").cloned().unwrap_or_default();
    let cursor = filter
        .split('\'')
        .skip_while(|part| !part.ends_with("datetime") && !part.ends_with("datetimeoffset"))
        .nth(1)
        .unwrap_or("")
        .to_string();
    let (expected, keep) = s4_filter(&entity_set, &cursor);
    if filter != expected || time_of(&json!(cursor)).is_none() {
        return s4.refuse(
            StatusCode::BAD_REQUEST,
            format!("$filter {filter:?}, expected {expected:?}"),
            sap_error("Invalid filter expression"),
        );
    }
    rows.retain(|r| keep(r));
    if sort_rows(&mut rows, query.get("$orderby").map_or("", |o| o)).is_none() {
        return s4.refuse(
            StatusCode::BAD_REQUEST,
            "$orderby".into(),
            sap_error("$orderby"),
        );
    }
    let expand: Vec<&str> = query
        .get("$expand")
        .map_or(vec![], |e| e.split(',').collect());
    for row in &mut rows {
        s4_expand(row, &expand, "");
    }
    let skip: usize = query.get("$skip").map_or(Ok(0), |s| s.parse()).unwrap_or(0);
    let Some(Ok(top)) = query.get("$top").map(|t| t.parse::<usize>()) else {
        return s4.refuse(StatusCode::BAD_REQUEST, "$top".into(), sap_error("$top"));
    };
    let page: Vec<Value> = rows.into_iter().skip(skip).take(top).collect();
    Json(json!({"d": {"results": page}})).into_response()
}

/// Business partners older than every fixture record, so that the business partners stream
/// spans two pages of the profile's 500.
fn s4_fillers(template: &Value, count: usize) -> Vec<Value> {
    (0..count)
        .map(|n| {
            let mut row = template.clone();
            let number = format!("172{n:05}");
            let name = format!("Filler Partner {n} GmbH");
            row["BusinessPartner"] = json!(number);
            row["Customer"] = json!(number);
            row["BusinessPartnerFullName"] = json!(name);
            row["BusinessPartnerName"] = json!(name);
            row["OrganizationBPName1"] = json!(name);
            let created = 1_704_096_000_000_i64 + n as i64 * 60_000;
            row["CreationDate"] = json!(format!("/Date({created})/"));
            row["LastChangeDate"] = json!(format!("/Date({})/", created + 86_400_000));
            row["to_BusinessPartnerTax"] = json!({"results": []});
            row["to_BusinessPartnerAddress"]["results"][0]["to_EmailAddress"] =
                json!({"results": []});
            row
        })
        .collect()
}

#[tokio::test]
async fn the_sap_s4hana_odata_profile_pulls_pages_then_only_what_changed() {
    let mut partners = fixture("sap-s4hana-odata", "business_partner.json");
    let fillers = s4_fillers(&partners[1], 500);
    partners.extend(fillers);
    let s4 = Served::with(&[
        ("/API_BUSINESS_PARTNER/A_BusinessPartner", partners),
        (
            "/API_PRODUCT_SRV/A_Product",
            fixture("sap-s4hana-odata", "product.json"),
        ),
        (
            "/API_SALES_ORDER_SRV/A_SalesOrder",
            fixture("sap-s4hana-odata", "sales_order.json"),
        ),
        (
            "/API_BILL_OF_MATERIAL_SRV;v=0002/MaterialBOM",
            fixture("sap-s4hana-odata", "bom.json"),
        ),
    ]);
    let base = serve(Router::new().fallback(s4hana).with_state(s4.clone())).await;
    let project = Project::new();
    project.write(
        "concord.yaml",
        &format!(
            "store: {{ url: 'sqlite://concord.db' }}\nsources:\n  - name: s4\n    profile: sap-s4hana-odata\n    base_url: '{base}{S4_ROOT}'\n    auth: {{ type: basic, username: '{S4_USER}', password: '{S4_PASSWORD}' }}\n"
        ),
    );
    let config = project.config();

    let (store, summaries) = sync(&config, &SyncOptions::default()).await;
    assert_eq!(s4.refused(), Vec::<String>::new());
    let summary = &summaries[0];
    summary_ok(summary);
    assert_eq!(summary.read, 503 + 4 + 2 + 1);
    no_quarantine(store.as_ref()).await;
    // Product 900001 is marked for deletion.
    assert_eq!(golden_counts(store.as_ref()).await, (503, 3, 2, 1));

    let partner_requests = s4.requests("/A_BusinessPartner");
    let skips: Vec<&str> = partner_requests
        .iter()
        .map(|s| s.query["$skip"].as_str())
        .collect();
    assert!(skips.starts_with(&["0", "500"]), "{skips:?}");
    assert!(partner_requests.iter().all(|s| s.query["$top"] == "500"));
    assert!(
        partner_requests[0].query["$filter"].contains("datetime'1970-01-01T00:00:00'"),
        "{:?}",
        partner_requests[0].query
    );

    let golden = |entity, key: &'static str| {
        let store = store.as_ref();
        async move { golden_of(store, entity, "s4", key).await }
    };
    let mueller = golden(EntityKind::Customer, "17100001").await;
    assert_eq!(mueller.record["tax_id"], "DE123456789");
    assert_eq!(mueller.record["addresses"][0]["city"], "Stuttgart");
    let anna = golden(EntityKind::Customer, "17100003").await;
    let pump = golden(EntityKind::Product, "100100").await;
    let seal = golden(EntityKind::Product, "100500").await;
    let casing = golden(EntityKind::Product, "200010").await;

    let order = golden(EntityKind::Order, "5000041").await;
    assert_eq!(order.record["customer_id"], json!(mueller.id));
    let products: Vec<&Value> = order.record["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["product_id"])
        .collect();
    assert_eq!(products, [&json!(pump.id), &json!(seal.id)]);
    let order = golden(EntityKind::Order, "5000042").await;
    assert_eq!(order.record["customer_id"], json!(anna.id));

    let bom = golden(EntityKind::Bom, "731-1").await;
    assert_eq!(bom.record["product_id"], json!(pump.id));
    let components: Vec<&Value> = bom.record["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["component_id"])
        .collect();
    assert!(!components.is_empty());
    for component in &components {
        assert!(
            [json!(casing.id), json!(seal.id)].contains(component),
            "{components:?}"
        );
    }

    // The seal's description changed in S/4HANA; nothing else did.
    s4.change("/API_PRODUCT_SRV/A_Product", "Product", "100500", |row| {
        row["LastChangeDateTime"] = json!("/Date(1716192000000+0000)/");
        row["to_Description"]["results"][0]["ProductDescription"] =
            json!("Gleitringdichtung 28 mm SiC/SiC, verstärkt");
    });
    s4.log.clear();
    let (_again, summaries) = sync(&config, &SyncOptions::default()).await;
    assert_eq!(s4.refused(), Vec::<String>::new());
    let summary = &summaries[0];
    summary_ok(summary);
    let filter = |entity_set: &str| {
        let requests = s4.requests(entity_set);
        assert!(!requests.is_empty(), "{entity_set} read");
        let filters: Vec<String> = requests
            .iter()
            .map(|s| s.query["$filter"].clone())
            .collect();
        assert!(filters.iter().all(|f| *f == filters[0]), "{filters:?}");
        filters[0].clone()
    };
    // Business partners: the newest LastChangeDate (2024-05-14) minus the one-day look-back.
    assert_eq!(
        filter("/A_BusinessPartner"),
        "Customer ne '' and (LastChangeDate ge datetime'2024-05-13T00:00:00' or CreationDate ge datetime'2024-05-13T00:00:00')"
    );
    assert_eq!(
        filter("/A_Product"),
        "LastChangeDateTime ge datetimeoffset'2024-05-11T08:50:00Z'"
    );
    assert_eq!(
        filter("/A_SalesOrder"),
        "LastChangeDateTime ge datetimeoffset'2024-05-14T09:20:00Z'"
    );
    assert_eq!(
        filter("/MaterialBOM"),
        "LastChangeDateTime ge datetimeoffset'2024-05-12T10:10:30Z'"
    );
    // Read: the seal (changed) and, inside the look-back windows, partners 17100001 and
    // 17100003, product 900001, order 5000042 and the BOM, dropped as unchanged.
    assert_eq!(summary.read, 6, "{summary:?}");
    assert_eq!(summary.reconcile.updated, 1, "{summary:?}");
    assert_eq!(summary.reconcile.unchanged, 5, "{summary:?}");
    assert_eq!(summary.reconcile.created, 0, "{summary:?}");
    let seal = golden(EntityKind::Product, "100500").await;
    assert_eq!(
        seal.record["name"],
        "Gleitringdichtung 28 mm SiC/SiC, verstärkt"
    );
}

// ---------------------------------------------------------------------------------------------
// Dynamics 365 Business Central: API v2.0 (OData v4) behind an Entra ID token endpoint.

const BC_TENANT: &str = "6f0a3a1c-0000-4000-8000-000000000001";
const BC_COMPANY: &str = "9c1f1e2a-5b7d-ef11-9f8a-6045bde9c0a1";
const BC_CLIENT_ID: &str = "0b7c1d2e-aaaa-4bbb-8ccc-000000000042";
const BC_CLIENT_SECRET: &str = "Zq8~bc-client-secret";
const BC_SCOPE: &str = "https://api.businesscentral.dynamics.com/.default";
const BC_TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.bc-access-token";
/// Records per page when the client sends no `Prefer: odata.maxpagesize`.
const BC_PAGE: usize = 2;

/// `POST /<tenant>/oauth2/v2.0/token`, client credentials grant, as Entra ID answers it.
async fn bc_token(
    State(bc): State<Served>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    bc.token_forms.lock().unwrap().push(form.clone());
    let field = |name: &str| form.get(name).map_or("", String::as_str);
    if field("grant_type") != "client_credentials"
        || field("client_id") != BC_CLIENT_ID
        || field("client_secret") != BC_CLIENT_SECRET
        || field("scope") != BC_SCOPE
    {
        return bc.refuse(
            StatusCode::UNAUTHORIZED,
            format!("token request {form:?}"),
            json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}),
        );
    }
    Json(json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": BC_TOKEN}))
        .into_response()
}

/// `GET .../api/v2.0/companies(<id>)/<entity set>`: a bearer token, `$filter=lastModifiedDateTime
/// gt <DateTimeOffset>`, `$orderby`, `$expand` (lines only when expanded), server-driven paging
/// (`Prefer: odata.maxpagesize`, `$skiptoken`) with an absolute `@odata.nextLink`, and
/// `{"@odata.context": ..., "value": [...]}`.
async fn bc_api(
    State(bc): State<Served>,
    Query(query): Params,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    bc.log.push(uri.path(), &query, &headers);
    let bc_error = |code: &str, message: &str| json!({"error": {"code": code, "message": message}});
    if header(&headers, "authorization") != format!("Bearer {BC_TOKEN}") {
        return bc.refuse(
            StatusCode::UNAUTHORIZED,
            format!("auth {:?}", header(&headers, "authorization")),
            bc_error(
                "Authentication_InvalidCredentials",
                "The credentials provided are incorrect",
            ),
        );
    }
    let path = uri.path().replace("%28", "(").replace("%29", ")");
    let company = format!("/v2.0/{BC_TENANT}/production/api/v2.0/companies({BC_COMPANY})/");
    let Some(entity_set) = path.strip_prefix(&company).map(str::to_string) else {
        return bc.refuse(
            StatusCode::NOT_FOUND,
            path,
            bc_error("BadRequest_NotFound", "The request URL is not valid."),
        );
    };
    let Some(mut rows) = bc.tables.lock().unwrap().get(&entity_set).cloned() else {
        return bc.refuse(
            StatusCode::NOT_FOUND,
            entity_set,
            bc_error("BadRequest_NotFound", "The request URL is not valid."),
        );
    };
    let filter = query.get("$filter").cloned().unwrap_or_default();
    let since = filter
        .strip_prefix("lastModifiedDateTime gt ")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    let Some(since) = since else {
        return bc.refuse(
            StatusCode::BAD_REQUEST,
            format!("$filter {filter:?}"),
            bc_error("BadRequest", "Invalid filter expression"),
        );
    };
    rows.retain(|r| time_of(&r["lastModifiedDateTime"]).is_some_and(|t| t > since));
    rows.sort_by(|a, b| compare_values(&a["id"], &b["id"]));
    if sort_rows(&mut rows, query.get("$orderby").map_or("id", |o| o)).is_none() {
        return bc.refuse(
            StatusCode::BAD_REQUEST,
            "$orderby".into(),
            bc_error("BadRequest", "$orderby"),
        );
    }
    let expand: Vec<&str> = query
        .get("$expand")
        .map_or(vec![], |e| e.split(',').collect());
    for row in &mut rows {
        row.as_object_mut()
            .unwrap()
            .retain(|name, _| name != "salesOrderLines" || expand.contains(&"salesOrderLines"));
    }
    let size = header(&headers, "prefer")
        .strip_prefix("odata.maxpagesize=")
        .and_then(|n| n.parse().ok())
        .unwrap_or(BC_PAGE);
    let skip: usize = query
        .get("$skiptoken")
        .map_or(Ok(0), |s| s.parse())
        .unwrap_or(0);
    let total = rows.len();
    let page: Vec<Value> = rows.into_iter().skip(skip).take(size).collect();
    let mut body = json!({
        "@odata.context": format!("https://api.businesscentral.dynamics.com/v2.0/{BC_TENANT}/production/api/v2.0/$metadata#companies({BC_COMPANY})/{entity_set}"),
        "value": page,
    });
    if skip + size < total {
        let kept: Vec<&str> = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.starts_with("$skiptoken=") && !p.starts_with("%24skiptoken="))
            .collect();
        body["@odata.nextLink"] = json!(format!(
            "http://{}{}?{}&$skiptoken={}",
            header(&headers, "host"),
            uri.path(),
            kept.join("&"),
            skip + size
        ));
    }
    Json(body).into_response()
}

#[tokio::test]
async fn the_dynamics365_bc_profile_pulls_pages_then_only_what_changed() {
    let bc = Served::with(&[
        ("customers", fixture("dynamics365-bc", "customer.json")),
        ("items", fixture("dynamics365-bc", "item.json")),
        ("salesOrders", fixture("dynamics365-bc", "sales_order.json")),
    ]);
    let router = Router::new()
        .route(&format!("/{BC_TENANT}/oauth2/v2.0/token"), post(bc_token))
        .fallback(bc_api)
        .with_state(bc.clone());
    let server = serve(router).await;
    let project = Project::new();
    project.write(
        "concord.yaml",
        &format!(
            r#"store: {{ url: 'sqlite://concord.db' }}
sources:
  - name: bc
    profile: dynamics365-bc
    base_url: "{server}/v2.0/{BC_TENANT}/production/api/v2.0/companies({BC_COMPANY})"
    auth:
      type: oauth2_client_credentials
      token_url: "{server}/{BC_TENANT}/oauth2/v2.0/token"
      client_id: "{BC_CLIENT_ID}"
      client_secret: "{BC_CLIENT_SECRET}"
      scope: "{BC_SCOPE}"
"#
        ),
    );
    let config = project.config();

    let (store, summaries) = sync(&config, &SyncOptions::default()).await;
    assert_eq!(bc.refused(), Vec::<String>::new());
    assert_eq!(bc.token_forms.lock().unwrap().len(), 1, "one token, reused");
    let summary = &summaries[0];
    summary_ok(summary);
    assert_eq!(summary.read, 3 + 3 + 2);
    no_quarantine(store.as_ref()).await;
    assert_eq!(golden_counts(store.as_ref()).await, (3, 3, 2, 0));

    // Customers in two server-driven pages: the second one by the next link.
    let customer_requests = bc.requests("/customers");
    assert_eq!(customer_requests.len(), 2);
    assert_eq!(customer_requests[1].query["$skiptoken"], "2");
    assert!(
        customer_requests
            .iter()
            .all(|s| { s.query["$filter"] == "lastModifiedDateTime gt 1970-01-01T00:00:00Z" })
    );

    let golden = |entity, key: &'static str| {
        let store = store.as_ref();
        async move { golden_of(store, entity, "bc", key).await }
    };
    let mueller = golden(EntityKind::Customer, "10000").await;
    let anna = golden(EntityKind::Customer, "20000").await;
    let pump = golden(EntityKind::Product, "1000").await;
    let seal = golden(EntityKind::Product, "1100").await;
    let service = golden(EntityKind::Product, "9000").await;
    let order = golden(EntityKind::Order, "101005").await;
    assert_eq!(order.record["customer_id"], json!(mueller.id));
    let lines = order.record["lines"].as_array().unwrap();
    assert_eq!(lines[0]["product_id"], json!(pump.id));
    assert_eq!(lines[1]["product_id"], json!(seal.id));
    let order = golden(EntityKind::Order, "101006").await;
    assert_eq!(order.record["customer_id"], json!(anna.id));
    assert_eq!(order.record["lines"][0]["product_id"], json!(service.id));

    // Anna renamed in Business Central; nothing else changed.
    bc.change("customers", "number", "20000", |row| {
        row["displayName"] = json!("Anna Schmidt-Berger");
        row["lastModifiedDateTime"] = json!("2024-05-20T08:00:00Z");
    });
    bc.log.clear();
    let (_again, summaries) = sync(&config, &SyncOptions::default()).await;
    assert_eq!(bc.refused(), Vec::<String>::new());
    let summary = &summaries[0];
    summary_ok(summary);
    let filter = |entity_set: &str| {
        let requests = bc.requests(entity_set);
        assert!(!requests.is_empty(), "{entity_set} read");
        let filters: Vec<String> = requests
            .iter()
            .map(|s| s.query["$filter"].clone())
            .collect();
        assert!(filters.iter().all(|f| *f == filters[0]), "{filters:?}");
        filters[0].clone()
    };
    assert_eq!(
        filter("/customers"),
        "lastModifiedDateTime gt 2024-05-14T05:51:10.500Z"
    );
    assert_eq!(
        filter("/items"),
        "lastModifiedDateTime gt 2024-05-11T14:35:12Z"
    );
    assert_eq!(
        filter("/salesOrders"),
        "lastModifiedDateTime gt 2024-05-14T07:20:00Z"
    );
    // Read: Anna (changed) and, inside the look-back windows, customer 30000, item 9000 and
    // order 101006, dropped as unchanged.
    assert_eq!(summary.read, 4, "{summary:?}");
    assert_eq!(summary.reconcile.updated, 1, "{summary:?}");
    assert_eq!(summary.reconcile.unchanged, 3, "{summary:?}");
    assert_eq!(summary.reconcile.created, 0, "{summary:?}");
    let anna = golden(EntityKind::Customer, "20000").await;
    assert_eq!(anna.record["name"], "Anna Schmidt-Berger");
}
