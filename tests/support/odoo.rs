//! A local Odoo speaking the external JSON-RPC API as Odoo does: `POST /jsonrpc` with
//! `common.authenticate` and `object.execute_kw` (`fields_get`, `search_read` with domains in
//! prefix notation, `fields`, `offset`, `limit`, `order`), `false` for empty fields, many2one
//! values as `[id, "Display Name"]`, `write_date` as "YYYY-MM-DD HH:MM:SS" UTC, and Odoo's error
//! objects for a refused password, a field the model does not have (`ValueError: Invalid field
//! 'mobile' on model 'res.partner'`, as Odoo 16–18 answer `search_read`) and a model the user may
//! not read (`AccessError`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};

pub const DB: &str = "acme";
pub const LOGIN: &str = "concord@acme.example";
pub const PASSWORD: &str = "api-key-7f3a9c-very-secret";
const UID: i64 = 2;

/// The server's data and what it was asked.
#[derive(Default)]
pub struct OdooData {
    /// Records per model, each with its `id` and `write_date`.
    pub models: BTreeMap<String, Vec<Value>>,
    /// Field types per model, as `fields_get` reports them.
    pub types: BTreeMap<String, BTreeMap<String, String>>,
    /// Every `execute_kw` call: (model, method, args, kwargs).
    pub calls: Vec<(String, String, Value, Value)>,
    /// Models the user may not read: every call on them answers an `AccessError`.
    pub forbidden: Vec<String>,
}

pub type Shared = Arc<Mutex<OdooData>>;

/// The server's routes over `data`, to serve as a test likes (over HTTPS, say).
pub fn router(data: OdooData) -> (axum::Router, Shared) {
    let shared: Shared = Arc::new(Mutex::new(data));
    let app = axum::Router::new()
        .route("/jsonrpc", post(jsonrpc))
        .with_state(shared.clone());
    (app, shared)
}

/// Starts the server on a free local port; returns its URL and its data.
pub async fn start(data: OdooData) -> (String, Shared) {
    let (app, shared) = router(data);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, shared)
}

/// Adds records of `model` with the field types of their first record (strings `char`, numbers
/// `float`, pairs `many2one`, booleans `boolean`), overridden by `types`.
pub fn add(data: &mut OdooData, model: &str, records: Vec<Value>, types: &[(&str, &str)]) {
    let entry = data.types.entry(model.to_owned()).or_default();
    if let Some(Value::Object(first)) = records.first() {
        for (name, value) in first {
            let kind = match value {
                Value::String(_) => "char",
                Value::Number(_) => "float",
                Value::Array(_) => "many2one",
                Value::Bool(_) => "boolean",
                _ => "char",
            };
            entry.insert(name.clone(), kind.to_owned());
        }
    }
    for (name, kind) in types {
        entry.insert((*name).to_owned(), (*kind).to_owned());
    }
    data.models
        .entry(model.to_owned())
        .or_default()
        .extend(records);
}

fn error(name: &str, message: &str) -> Value {
    json!({"code": 200, "message": "Odoo Server Error",
           "data": {"name": name, "debug": "Traceback (most recent call last): ...", "message": message, "arguments": [message], "context": {}}})
}

async fn jsonrpc(State(shared): State<Shared>, Json(body): Json<Value>) -> Json<Value> {
    let id = body["id"].clone();
    let params = &body["params"];
    let args = params["args"].as_array().cloned().unwrap_or_default();
    let outcome = match (params["service"].as_str(), params["method"].as_str()) {
        (Some("common"), Some("authenticate")) => {
            let ok = args.first() == Some(&json!(DB))
                && args.get(1) == Some(&json!(LOGIN))
                && args.get(2) == Some(&json!(PASSWORD));
            Ok(if ok { json!(UID) } else { json!(false) })
        }
        (Some("object"), Some("execute_kw")) => execute_kw(&shared, &args),
        _ => Err(error(
            "werkzeug.exceptions.NotFound",
            "unknown service or method",
        )),
    };
    Json(match outcome {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
    })
}

fn execute_kw(shared: &Shared, args: &[Value]) -> Result<Value, Value> {
    if args.first() != Some(&json!(DB))
        || args.get(1) != Some(&json!(UID))
        || args.get(2) != Some(&json!(PASSWORD))
    {
        return Err(error("odoo.exceptions.AccessDenied", "Access Denied"));
    }
    let model = args
        .get(3)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let method = args
        .get(4)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let call_args = args.get(5).cloned().unwrap_or(json!([]));
    let kwargs = args.get(6).cloned().unwrap_or(json!({}));
    let mut data = shared.lock().unwrap();
    data.calls.push((
        model.clone(),
        method.clone(),
        call_args.clone(),
        kwargs.clone(),
    ));
    if data.forbidden.contains(&model) {
        return Err(error(
            "odoo.exceptions.AccessError",
            &format!("You are not allowed to access '{model}' records."),
        ));
    }
    let Some(records) = data.models.get(&model) else {
        return Err(error("builtins.KeyError", &model));
    };
    match method.as_str() {
        "fields_get" => {
            let types = &data.types[&model];
            Ok(Value::Object(
                types
                    .iter()
                    .map(|(name, kind)| (name.clone(), json!({"type": kind})))
                    .collect(),
            ))
        }
        "search_read" => {
            let domain = call_args[0].as_array().cloned().unwrap_or_default();
            let mut rows: Vec<&Value> = records.iter().filter(|r| matches(&domain, r)).collect();
            rows.sort_by(|a, b| {
                let key = |r: &Value| {
                    (
                        r["write_date"].as_str().unwrap_or("").to_owned(),
                        r["id"].as_i64(),
                    )
                };
                match kwargs["order"].as_str() {
                    Some(o) if o.starts_with("write_date") => key(a).cmp(&key(b)),
                    _ => a["id"].as_i64().cmp(&b["id"].as_i64()),
                }
            });
            let offset = kwargs["offset"].as_u64().unwrap_or(0) as usize;
            let limit = kwargs["limit"]
                .as_u64()
                .filter(|&l| l > 0)
                .map_or(usize::MAX, |l| l as usize);
            let fields: Option<Vec<String>> = kwargs["fields"].as_array().map(|f| {
                f.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            });
            let types = &data.types[&model];
            if let Some(unknown) = fields
                .iter()
                .flatten()
                .find(|f| *f != "id" && !types.contains_key(*f))
            {
                return Err(error(
                    "builtins.ValueError",
                    &format!("Invalid field '{unknown}' on model '{model}'"),
                ));
            }
            Ok(Value::Array(
                rows.into_iter()
                    .skip(offset)
                    .take(limit)
                    .map(|r| match &fields {
                        Some(fields) => {
                            let mut out = serde_json::Map::new();
                            out.insert("id".into(), r["id"].clone());
                            for f in fields {
                                out.insert(f.clone(), r.get(f).cloned().unwrap_or(json!(false)));
                            }
                            Value::Object(out)
                        }
                        None => r.clone(),
                    })
                    .collect(),
            ))
        }
        other => Err(error(
            "builtins.AttributeError",
            &format!("no method {other}"),
        )),
    }
}

/// Evaluates an Odoo domain (prefix notation, top-level terms ANDed) on a record.
fn matches(domain: &[Value], record: &Value) -> bool {
    let mut at = 0;
    let mut all = true;
    while at < domain.len() {
        all &= term(domain, &mut at, record);
    }
    all
}

fn term(domain: &[Value], at: &mut usize, record: &Value) -> bool {
    let item = &domain[*at];
    *at += 1;
    match item.as_str() {
        Some("|") => {
            let a = term(domain, at, record);
            let b = term(domain, at, record);
            a || b
        }
        Some("&") => {
            let a = term(domain, at, record);
            let b = term(domain, at, record);
            a && b
        }
        Some("!") => !term(domain, at, record),
        _ => leaf(item, record),
    }
}

fn leaf(leaf: &Value, record: &Value) -> bool {
    let field = leaf[0].as_str().unwrap_or_default();
    let op = leaf[1].as_str().unwrap_or_default();
    let wanted = &leaf[2];
    // A many2one compares by its id.
    let value = match &record[field] {
        Value::Array(pair) => pair.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    let order = match (&value, wanted) {
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
        _ => None,
    };
    use std::cmp::Ordering::*;
    match op {
        "=" => value == *wanted,
        "!=" => value != *wanted,
        ">" => order == Some(Greater),
        ">=" => matches!(order, Some(Greater | Equal)),
        "<" => order == Some(Less),
        "<=" => matches!(order, Some(Less | Equal)),
        "in" => wanted.as_array().is_some_and(|list| list.contains(&value)),
        _ => false,
    }
}
