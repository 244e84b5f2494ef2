//! The `odoo` driver: Odoo's models read over its external JSON-RPC API.
//!
//! Each configured model is one stream. Records are read with `search_read` sorted by
//! `write_date, id` and paged by keyset on that pair (a record changed during the pull moves
//! behind the keyset and is read, none is skipped or read twice by shifting offsets); a checkpoint
//! with every model's last `(write_date, id)` follows each page. The next run starts at the stored
//! `write_date` minus `lookback` with `>=`, so records sharing the last second are read again and
//! dropped by their content hash rather than lost.
//!
//! Odoo writes `false` for an empty field of any type; the driver turns it into `null` for every
//! field that is not a boolean (types from `fields_get`), so mappings see an empty value and
//! `$.country_id[1]` of an empty many2one finds nothing. Child models (order lines, BOM lines)
//! are read per page with `[[parent_field, "in", ids]]` and nested under `lines`; the targets of
//! `related` many2one fields likewise, under `related.<field>`.
//!
//! A requested field the server does not have (`fields_get` does not list it: a module not
//! installed, a field renamed between Odoo versions) is left out with one warning rather than
//! failing the model. A model that fails is reported and the next model is read; the run fails at
//! its end.

pub mod config;
mod rpc;

pub use config::{OdooConfig, OdooLines, OdooModel, OdooRelated};

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{NaiveDateTime, TimeDelta};
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{Connector, ConnectorError, Cursor, PullResult, Pulled, RawRecord};
use rpc::Session;

/// Pages the reader may hold ready beyond the one being consumed.
const PAGES_READY: usize = 2;

/// Odoo's datetime form (UTC).
const ODOO_DATETIME: &str = "%Y-%m-%d %H:%M:%S";

/// The `odoo` driver.
pub struct OdooConnector {
    config: OdooConfig,
}

impl OdooConnector {
    /// A connector for one configured source; `base` is the config file's folder, against which
    /// a relative `ca_file` resolves.
    pub fn new(mut config: OdooConfig, base: &std::path::Path) -> Self {
        config.ca_file = config.ca_file.map(|file| base.join(file));
        Self { config }
    }
}

impl Connector for OdooConnector {
    fn pull(&self, since: Option<Cursor>) -> BoxStream<'static, PullResult> {
        let (sender, receiver) = mpsc::channel::<Vec<PullResult>>(PAGES_READY);
        tokio::spawn(pull_source(self.config.clone(), since, sender));
        ReceiverStream::new(receiver)
            .flat_map(futures::stream::iter)
            .boxed()
    }
}

/// Where each model's reading stopped: its last record's `write_date` and `id`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Positions {
    models: BTreeMap<String, Position>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Position {
    write_date: String,
    id: i64,
}

impl Positions {
    /// A stored cursor of another shape (the source changed driver) counts as none.
    fn from_cursor(cursor: Option<Cursor>) -> Positions {
        cursor
            .and_then(|Cursor(value)| serde_json::from_value(value).ok())
            .unwrap_or_default()
    }

    fn to_cursor(&self) -> Cursor {
        Cursor(json!(self))
    }
}

type Sender = mpsc::Sender<Vec<PullResult>>;

/// Logs in and reads every model in order; a failure ends the stream after its error.
async fn pull_source(config: OdooConfig, since: Option<Cursor>, sender: Sender) {
    let mut positions = Positions::from_cursor(since);
    let outcome = async {
        let session = Session::login(&config).await?;
        for model in &config.models {
            let reader = ModelReader {
                session: &session,
                config: &config,
                model,
                stream: Arc::from(model.name.as_str()),
            };
            match reader.read(&mut positions, &sender).await {
                Ok(true) => {}
                Ok(false) => break,
                // This model failed: say so, and read the next one.
                Err(error) => {
                    let failure = ConnectorError::StreamFailed {
                        stream: model.name.clone(),
                        message: error.to_string(),
                    };
                    if sender.send(vec![Err(failure)]).await.is_err() {
                        break;
                    }
                }
            }
        }
        Ok::<(), ConnectorError>(())
    }
    .await;
    if let Err(error) = outcome {
        let _ = sender.send(vec![Err(error)]).await;
    }
}

/// Reads one model page by page.
struct ModelReader<'a> {
    session: &'a Session,
    config: &'a OdooConfig,
    model: &'a OdooModel,
    stream: Arc<str>,
}

impl ModelReader<'_> {
    /// Reads the model from its stored position; `false` when the consumer went away.
    async fn read(
        &self,
        positions: &mut Positions,
        sender: &Sender,
    ) -> Result<bool, ConnectorError> {
        let model = self.model;
        let types = self.field_types(&model.model).await?;
        let line_types = match &model.lines {
            Some(lines) => self.field_types(&lines.model).await?,
            None => HashMap::new(),
        };
        let fields = with_required(
            &known_fields(&model.model, &model.fields, &types),
            &["id", "write_date"],
        );
        let line_fields = match &model.lines {
            Some(lines) => known_fields(&lines.model, &lines.fields, &line_types),
            None => Vec::new(),
        };
        let mut related = Vec::with_capacity(model.related.len());
        for target in &model.related {
            let target_types = self.field_types(&target.model).await?;
            let fields = known_fields(&target.model, &target.fields, &target_types);
            related.push((target, target_types, fields));
        }
        let start = positions
            .models
            .get(&model.name)
            .map(|p| minus_lookback(&p.write_date, self.config.lookback));
        let mut after: Option<Position> = None;
        loop {
            let domain = page_domain(&model.domain, start.as_deref(), after.as_ref());
            let kwargs = json!({
                "fields": fields,
                "offset": 0,
                "limit": self.config.page_size,
                "order": "write_date asc, id asc",
            });
            let answer = self
                .session
                .execute_kw(&model.model, "search_read", json!([domain]), kwargs)
                .await?;
            let mut rows = self.rows(answer, &model.model)?;
            let full_page = rows.len() as u64 >= self.config.page_size;
            if rows.is_empty() {
                return Ok(true);
            }
            for row in &mut rows {
                nullify_false(row, &types);
            }
            if let Some(lines) = &model.lines {
                self.nest_lines(lines, &line_fields, &line_types, &mut rows)
                    .await?;
            }
            for (target, target_types, fields) in &related {
                self.nest_related(target, fields, target_types, &mut rows)
                    .await?;
            }
            let last = rows
                .last()
                .and_then(position_of)
                .ok_or_else(|| self.failure("a record without `id` or `write_date`"))?;
            let mut page: Vec<PullResult> = rows
                .into_iter()
                .map(|row| {
                    let id = row.get("id").map(Value::to_string).unwrap_or_default();
                    Ok(Pulled::Record(RawRecord {
                        origin: format!("{}#{id}", model.model),
                        payload: Value::Object(row),
                        stream: Some(self.stream.clone()),
                    }))
                })
                .collect();
            positions.models.insert(model.name.clone(), last.clone());
            page.push(Ok(Pulled::Checkpoint(positions.to_cursor())));
            if sender.send(page).await.is_err() {
                return Ok(false);
            }
            if !full_page {
                return Ok(true);
            }
            after = Some(last);
        }
    }

    /// The type of each field of `model` (`char`, `many2one`, `boolean`, ...).
    async fn field_types(&self, model: &str) -> Result<HashMap<String, String>, ConnectorError> {
        let answer = self
            .session
            .execute_kw(
                model,
                "fields_get",
                json!([]),
                json!({"attributes": ["type"]}),
            )
            .await?;
        let Value::Object(fields) = answer else {
            return Err(self.failure(&format!("{model} fields_get: the answer is not an object")));
        };
        Ok(fields
            .into_iter()
            .filter_map(|(name, spec)| Some((name, spec.get("type")?.as_str()?.to_owned())))
            .collect())
    }

    /// The records of a `search_read` answer.
    fn rows(&self, answer: Value, model: &str) -> Result<Vec<Map<String, Value>>, ConnectorError> {
        let Value::Array(items) = answer else {
            return Err(self.failure(&format!("{model} search_read: the answer is not a list")));
        };
        items
            .into_iter()
            .map(|item| match item {
                Value::Object(row) => Ok(row),
                _ => Err(self.failure(&format!("{model} search_read: a record is not an object"))),
            })
            .collect()
    }

    /// Reads the child records of a page's parents and nests them under `lines`.
    async fn nest_lines(
        &self,
        lines: &OdooLines,
        fields: &[String],
        types: &HashMap<String, String>,
        parents: &mut [Map<String, Value>],
    ) -> Result<(), ConnectorError> {
        let ids: Vec<i64> = parents
            .iter()
            .filter_map(|p| p.get("id").and_then(Value::as_i64))
            .collect();
        let fields = with_required(fields, &["id", &lines.parent_field]);
        let answer = self
            .session
            .execute_kw(
                &lines.model,
                "search_read",
                json!([[[lines.parent_field, "in", ids]]]),
                json!({"fields": fields, "order": "id asc"}),
            )
            .await?;
        let mut by_parent: HashMap<i64, Vec<Value>> = HashMap::new();
        for mut line in self.rows(answer, &lines.model)? {
            nullify_false(&mut line, types);
            let parent = match line.get(&lines.parent_field) {
                Some(Value::Array(pair)) => pair.first().and_then(Value::as_i64),
                Some(other) => other.as_i64(),
                None => None,
            };
            if let Some(parent) = parent {
                by_parent
                    .entry(parent)
                    .or_default()
                    .push(Value::Object(line));
            }
        }
        for parent in parents {
            let id = parent.get("id").and_then(Value::as_i64);
            let children = id.and_then(|id| by_parent.remove(&id)).unwrap_or_default();
            parent.insert("lines".into(), Value::Array(children));
        }
        Ok(())
    }

    /// Reads the records a many2one field of the page's rows points to and nests each under
    /// `related.<field>` of its row (archived targets included).
    async fn nest_related(
        &self,
        target: &OdooRelated,
        fields: &[String],
        types: &HashMap<String, String>,
        rows: &mut [Map<String, Value>],
    ) -> Result<(), ConnectorError> {
        let mut ids: Vec<i64> = rows
            .iter()
            .filter_map(|row| many2one_id(row.get(&target.field)))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(());
        }
        let answer = self
            .session
            .execute_kw(
                &target.model,
                "search_read",
                json!([[["id", "in", ids]]]),
                json!({
                    "fields": with_required(fields, &["id"]),
                    "context": {"active_test": false},
                }),
            )
            .await?;
        let mut by_id: HashMap<i64, Value> = HashMap::new();
        for mut found in self.rows(answer, &target.model)? {
            nullify_false(&mut found, types);
            if let Some(id) = found.get("id").and_then(Value::as_i64) {
                by_id.insert(id, Value::Object(found));
            }
        }
        for row in rows {
            let Some(found) = many2one_id(row.get(&target.field)).and_then(|id| by_id.get(&id))
            else {
                continue;
            };
            let related = row
                .entry("related")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(related) = related {
                related.insert(target.field.clone(), found.clone());
            }
        }
        Ok(())
    }

    fn failure(&self, message: &str) -> ConnectorError {
        ConnectorError::Unavailable {
            origin: format!("odoo model {}", self.model.model),
            message: message.to_owned(),
        }
    }
}

/// The requested fields `model` has (by `fields_get`); each one it lacks is left out with a
/// warning, once per run, rather than failing the model with Odoo's `Invalid field`.
fn known_fields(model: &str, fields: &[String], types: &HashMap<String, String>) -> Vec<String> {
    if types.is_empty() {
        // A server that describes no field at all: ask for what was configured.
        return fields.to_vec();
    }
    let (known, unknown): (Vec<String>, Vec<String>) =
        fields.iter().cloned().partition(|f| types.contains_key(f));
    for field in &unknown {
        tracing::warn!(
            model,
            field = field.as_str(),
            "the Odoo server has no field `{field}` on {model}: it is not read (a module not \
             installed, or a field of another Odoo version); remove it from `fields` to silence this"
        );
    }
    known
}

/// The id of a many2one value (`[7, "Azure Interior"]`, or a bare id).
fn many2one_id(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Array(pair) => pair.first().and_then(Value::as_i64),
        other => other.as_i64(),
    }
}

/// `fields` with `required` added where missing.
fn with_required(fields: &[String], required: &[&str]) -> Vec<String> {
    let mut all = fields.to_vec();
    for name in required {
        if !all.iter().any(|f| f == name) {
            all.push((*name).to_owned());
        }
    }
    all
}

/// The user's domain plus the increment: `write_date >= start` on the first page, the keyset
/// `(write_date, id) > last` on the next ones. Odoo ANDs top-level terms.
fn page_domain(base: &[Value], start: Option<&str>, after: Option<&Position>) -> Vec<Value> {
    let mut domain = base.to_vec();
    match after {
        Some(last) => domain.extend([
            json!("|"),
            json!(["write_date", ">", last.write_date]),
            json!("&"),
            json!(["write_date", "=", last.write_date]),
            json!(["id", ">", last.id]),
        ]),
        None => {
            if let Some(start) = start {
                domain.push(json!(["write_date", ">=", start]));
            }
        }
    }
    domain
}

/// `write_date` minus the look-back, in Odoo's form; unparsable text is used as it is.
fn minus_lookback(write_date: &str, lookback: std::time::Duration) -> String {
    let Ok(time) = NaiveDateTime::parse_from_str(write_date, ODOO_DATETIME) else {
        return write_date.to_owned();
    };
    let lookback = TimeDelta::from_std(lookback).unwrap_or(TimeDelta::zero());
    time.checked_sub_signed(lookback)
        .unwrap_or(time)
        .format(ODOO_DATETIME)
        .to_string()
}

/// `false` becomes `null` in every field that is not a boolean.
fn nullify_false(row: &mut Map<String, Value>, types: &HashMap<String, String>) {
    for (name, value) in row.iter_mut() {
        if *value == Value::Bool(false) && types.get(name).is_none_or(|t| t != "boolean") {
            *value = Value::Null;
        }
    }
}

/// A record's keyset position.
fn position_of(row: &Map<String, Value>) -> Option<Position> {
    Some(Position {
        write_date: row.get("write_date")?.as_str()?.to_owned(),
        id: row.get("id")?.as_i64()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_page_starts_at_the_lookback_and_later_pages_follow_the_keyset() {
        let base = vec![json!(["customer_rank", ">", 0])];
        assert_eq!(page_domain(&base, None, None), base);
        let start = minus_lookback("2024-05-01 10:00:00", std::time::Duration::from_secs(600));
        assert_eq!(start, "2024-05-01 09:50:00");
        assert_eq!(
            json!(page_domain(&base, Some(&start), None)),
            json!([
                ["customer_rank", ">", 0],
                ["write_date", ">=", "2024-05-01 09:50:00"]
            ])
        );
        let last = Position {
            write_date: "2024-05-01 10:00:00".into(),
            id: 7,
        };
        assert_eq!(
            json!(page_domain(&base, Some(&start), Some(&last))),
            json!([
                ["customer_rank", ">", 0],
                "|",
                ["write_date", ">", "2024-05-01 10:00:00"],
                "&",
                ["write_date", "=", "2024-05-01 10:00:00"],
                ["id", ">", 7]
            ])
        );
    }

    #[test]
    fn false_is_null_except_in_boolean_fields() {
        let types: HashMap<String, String> = [("active", "boolean"), ("vat", "char")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        let Value::Object(mut row) =
            json!({"active": false, "vat": false, "country_id": false, "name": "A"})
        else {
            unreachable!()
        };
        nullify_false(&mut row, &types);
        assert_eq!(
            Value::Object(row),
            json!({"active": false, "vat": null, "country_id": null, "name": "A"})
        );
    }
}
