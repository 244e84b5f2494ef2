//! Runs a [`CompiledMapping`] on one payload: the hot path. Values stay borrowed from the payload
//! until a transform changes them; the only copies made are the strings of the output record.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::model::RawRecord;
use crate::model::{Canonical, EntityKind, SourceRecord};

use super::compile::{
    CompiledMapping, Condition, FieldPlan, Source, TemplatePart, Test, ValueField,
};
use super::path::{JsonPath, scalar_text};
use super::{MapFailure, QualityNote};

impl CompiledMapping {
    /// True when every `when:` condition holds for `payload`.
    pub fn selects(&self, raw: &RawRecord) -> bool {
        let stream_matches = match &self.stream {
            Some(wanted) => raw.stream.as_deref() == Some(wanted.as_str()),
            None => true,
        };
        stream_matches && self.when.iter().all(|c| c.holds(&raw.payload))
    }

    /// The key this mapping gives a payload, without mapping its fields: a key scan lists only
    /// keys.
    pub fn key_of(&self, payload: &Value) -> Option<String> {
        let key = self.key.eval(payload).ok()?.into_iter().next()?;
        Some(key.into_owned())
    }

    /// Whether this mapping reads records of `stream`.
    pub fn reads_stream(&self, stream: &str) -> bool {
        self.stream.as_deref().is_none_or(|s| s == stream)
    }

    /// Maps a payload this mapping selected.
    pub fn map_payload(&self, source: &str, payload: &Value) -> Result<SourceRecord, MapFailure> {
        self.map_payload_noted(source, payload, &mut Vec::new())
    }

    /// Maps a payload this mapping selected. A value that cannot be read in a field that is not
    /// required (a bad date, a lookup miss) leaves the field empty and adds a note to `notes`;
    /// the same in a required field fails the record.
    pub fn map_payload_noted(
        &self,
        source: &str,
        payload: &Value,
        notes: &mut Vec<QualityNote>,
    ) -> Result<SourceRecord, MapFailure> {
        let fail = |key: Option<&str>, reason: String| MapFailure {
            mapping: self.file.clone(),
            key: key.map(str::to_string),
            reason,
        };
        let key = self
            .key
            .eval(payload)
            .map_err(|reason| fail(None, format!("key: {reason}")))?
            .into_iter()
            .next()
            .ok_or_else(|| fail(None, format!("key {} is empty", self.key.source.describe())))?
            .into_owned();
        let with_key = |reason: String| fail(Some(&key), reason);
        let changed_at = match &self.changed_at {
            Some(field) => changed_at(field, payload).map_err(with_key)?,
            None => None,
        };
        let deleted = self.deleted.as_ref().is_some_and(|c| c.holds(payload));
        let fields = self.fields(payload, notes).map_err(with_key)?;
        let record = match Canonical::from_fields(self.entity, Value::Object(fields)) {
            Ok(record) => record,
            // The fields were moved into the failed attempt; rebuilding them is cheaper than
            // cloning every record's fields for the rare record that fails here.
            Err(error) => self
                .without_optional_offenders(payload, notes)
                .map_err(|reason| with_key(reason.unwrap_or_else(|| error.to_string())))?,
        };
        Ok(SourceRecord {
            source: source.to_string(),
            key,
            changed_at,
            deleted,
            record,
        })
    }

    /// The record with every value the model cannot hold left out, one note each, when all of
    /// them are in optional fields; else the reason naming the first required one.
    fn without_optional_offenders(
        &self,
        payload: &Value,
        notes: &mut Vec<QualityNote>,
    ) -> Result<Canonical, Option<String>> {
        let mut fields = self.fields(payload, &mut Vec::new()).map_err(Some)?;
        for _ in 0..=fields.len() + 64 {
            let Some(offence) = offence(self.entity, &fields) else {
                return Canonical::from_fields(self.entity, Value::Object(fields))
                    .map_err(|error| Some(error.to_string()));
            };
            if !self.is_optional(&offence) {
                return Err(Some(offence.reason));
            }
            offence.remove_from(&mut fields);
            notes.push(QualityNote {
                field: offence.label(),
                reason: offence.reason,
            });
        }
        Err(None)
    }

    /// Whether the field (or collection item field) an offence names is not required.
    fn is_optional(&self, offence: &Offence) -> bool {
        let Some((_, plan)) = self.fields.iter().find(|(name, _)| *name == offence.field) else {
            return false;
        };
        match (plan, &offence.item) {
            (FieldPlan::Single(field) | FieldPlan::List(field), None) => !field.required,
            (FieldPlan::Collection { items, .. }, Some((_, item))) => items
                .iter()
                .find(|(name, _)| name == item)
                .is_some_and(|(_, field)| !field.required),
            (FieldPlan::Collection { required, .. }, None) => !required,
            _ => false,
        }
    }
}

impl CompiledMapping {
    fn fields(
        &self,
        payload: &Value,
        notes: &mut Vec<QualityNote>,
    ) -> Result<Map<String, Value>, String> {
        let mut fields = Map::new();
        for (name, plan) in &self.fields {
            match plan.eval(name, payload, notes) {
                Ok(Some(value)) => {
                    fields.insert(name.clone(), value);
                }
                Ok(None) => {}
                Err(reason) if plan.is_optional_value() => notes.push(QualityNote {
                    field: name.clone(),
                    reason,
                }),
                Err(reason) => return Err(reason),
            }
        }
        Ok(fields)
    }
}

fn changed_at(field: &ValueField, payload: &Value) -> Result<Option<DateTime<Utc>>, String> {
    let values = field
        .eval(payload)
        .map_err(|r| format!("field `changed_at`: {r}"))?;
    if values.is_empty() && field.required {
        return Err(required("changed_at", field));
    }
    values
        .first()
        .map(|text| {
            DateTime::parse_from_rfc3339(text)
                .map(|dt| dt.with_timezone(&Utc))
                .map_err(|_| {
                    format!("field `changed_at`: `{text}` is not an RFC 3339 date-time; add a `datetime` transform")
                })
        })
        .transpose()
}

fn required(label: &str, field: &ValueField) -> String {
    format!(
        "field `{label}` is required but {} is empty",
        field.source.describe()
    )
}

impl FieldPlan {
    /// A plain or list field that is not required: a value it cannot read leaves it empty.
    /// (A collection's items have their own `required`, checked item by item.)
    fn is_optional_value(&self) -> bool {
        match self {
            FieldPlan::Single(field) | FieldPlan::List(field) => !field.required,
            FieldPlan::Collection { .. } => false,
        }
    }

    fn eval(
        &self,
        name: &str,
        root: &Value,
        notes: &mut Vec<QualityNote>,
    ) -> Result<Option<Value>, String> {
        match self {
            FieldPlan::Single(field) => {
                let values = field
                    .eval(root)
                    .map_err(|r| format!("field `{name}`: {r}"))?;
                match values.into_iter().next() {
                    Some(v) => Ok(Some(Value::String(v.into_owned()))),
                    None if field.required => Err(required(name, field)),
                    None => Ok(None),
                }
            }
            FieldPlan::List(field) => {
                let values = field
                    .eval(root)
                    .map_err(|r| format!("field `{name}`: {r}"))?;
                if values.is_empty() {
                    return if field.required {
                        Err(required(name, field))
                    } else {
                        Ok(None)
                    };
                }
                Ok(Some(Value::Array(
                    values
                        .into_iter()
                        .map(|v| Value::String(v.into_owned()))
                        .collect(),
                )))
            }
            FieldPlan::Collection {
                each,
                items,
                required,
            } => match collection(name, each, items, root, notes)? {
                None if *required => Err(format!(
                    "field `{name}` is required but `{}` selects no items with values",
                    each.text()
                )),
                found => Ok(found),
            },
        }
    }
}

/// Maps every item `each` selects; an item none of whose payload fields has a value is left out
/// (a segment present but blank), so constants such as `kind: main` do not make empty items.
/// A value an optional item field cannot read is left out with a note.
fn collection(
    name: &str,
    each: &JsonPath,
    fields: &[(String, ValueField)],
    root: &Value,
    notes: &mut Vec<QualityNote>,
) -> Result<Option<Value>, String> {
    let mut out = Vec::new();
    let mut index = 0;
    for node in each.all(root) {
        let items: &[Value] = match node {
            Value::Array(items) => items,
            Value::Null => &[],
            single => std::slice::from_ref(single),
        };
        for item in items {
            index += 1;
            let mut object = Map::new();
            let mut from_payload = false;
            let mut missing_required = None;
            for (field_name, field) in fields {
                let label = || format!("{name}[{index}].{field_name}");
                let values = match field.eval(item) {
                    Ok(values) => values,
                    Err(r) if field.required => return Err(format!("field `{}`: {r}", label())),
                    Err(r) => {
                        notes.push(QualityNote {
                            field: label(),
                            reason: format!("field `{}`: {r}", label()),
                        });
                        continue;
                    }
                };
                match values.into_iter().next() {
                    Some(v) => {
                        from_payload |= !matches!(field.source, Source::Value(_));
                        object.insert(field_name.clone(), Value::String(v.into_owned()));
                    }
                    None if field.required => {
                        missing_required =
                            missing_required.or_else(|| Some(required(&label(), field)))
                    }
                    None => {}
                }
            }
            if !from_payload {
                continue;
            }
            if let Some(reason) = missing_required {
                return Err(reason);
            }
            out.push(Value::Object(object));
        }
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

impl ValueField {
    /// The field's values after transforms and default; empty when missing. `Err` is a
    /// transform's reason (without the field name).
    pub(super) fn eval<'a>(&'a self, root: &'a Value) -> Result<Vec<Cow<'a, str>>, String> {
        let mut values = match &self.source {
            Source::Path(path) if self.many => path.texts(root)?,
            Source::Path(path) => path.first_text(root)?.into_iter().collect(),
            Source::Paths(paths) if self.many => {
                let mut all = Vec::new();
                for path in paths {
                    all.extend(path.texts(root)?);
                }
                self.transform(&mut all)?;
                all
            }
            Source::Paths(paths) => self.coalesce(paths, root)?,
            Source::Value(value) => vec![Cow::Borrowed(value.as_str())],
            Source::Template(parts) => render(parts, root)?.into_iter().collect(),
        };
        if !matches!(self.source, Source::Paths(_)) {
            self.transform(&mut values)?;
        }
        if values.is_empty()
            && let Some(default) = &self.default
        {
            values.push(Cow::Borrowed(default.as_str()));
        }
        if !self.many {
            values.truncate(1);
        }
        Ok(values)
    }

    fn transform<'a>(&'a self, values: &mut Vec<Cow<'a, str>>) -> Result<(), String> {
        values.retain(|v| !v.is_empty());
        for t in &self.transforms {
            t.apply_all(values)?;
        }
        Ok(())
    }

    /// The first path whose value is non-empty after transforms.
    fn coalesce<'a>(
        &'a self,
        paths: &'a [JsonPath],
        root: &'a Value,
    ) -> Result<Vec<Cow<'a, str>>, String> {
        for path in paths {
            let mut values: Vec<_> = path.first_text(root)?.into_iter().collect();
            self.transform(&mut values)?;
            if !values.is_empty() {
                return Ok(values);
            }
        }
        Ok(Vec::new())
    }
}

impl Source {
    /// Where the value comes from, for "is required but ... is empty".
    pub(super) fn describe(&self) -> String {
        match self {
            Source::Path(path) => format!("`{}`", path.text()),
            Source::Paths(paths) => {
                let texts: Vec<String> = paths.iter().map(|p| format!("`{}`", p.text())).collect();
                texts.join(", ")
            }
            Source::Value(value) => format!("the value `{value}`"),
            Source::Template(_) => "the template".to_string(),
        }
    }
}

fn render(parts: &[TemplatePart], root: &Value) -> Result<Option<Cow<'static, str>>, String> {
    let mut out = String::new();
    for part in parts {
        match part {
            TemplatePart::Text(text) => out.push_str(text),
            TemplatePart::Path(path) => {
                if let Some(text) = path.first_text(root)? {
                    out.push_str(&text);
                }
            }
        }
    }
    let trimmed = out.trim();
    Ok((!trimmed.is_empty()).then(|| Cow::Owned(trimmed.to_string())))
}

impl Condition {
    /// True when some value at the path passes the test. `equals` and `in` compare the trimmed
    /// text (SAP pads fields); `matches` sees the text as it is; `exists` means a value that is
    /// neither null nor an empty string.
    pub(super) fn holds(&self, root: &Value) -> bool {
        match &self.test {
            Test::Exists(want) => {
                let present = self.path.any_node(root, |node| match node {
                    Value::Null => false,
                    Value::String(s) => !s.is_empty(),
                    _ => true,
                });
                present == *want
            }
            Test::Equals(expected) => any_text(&self.path, root, |t| t.trim() == expected),
            Test::OneOf(options) => {
                any_text(&self.path, root, |t| options.iter().any(|o| o == t.trim()))
            }
            Test::Matches(regex) => any_text(&self.path, root, |t| regex.is_match(t)),
        }
    }
}

fn any_text(path: &JsonPath, root: &Value, mut test: impl FnMut(&str) -> bool) -> bool {
    let mut check = |node: &Value| matches!(scalar_text(node, ""), Ok(Some(t)) if test(&t));
    path.any_node(root, |node| match node {
        Value::Array(items) => items.iter().any(&mut check),
        other => check(other),
    })
}

/// A value the model cannot hold: in field `field`, or in item `item.0` (from 0) field `item.1`
/// of a collection.
struct Offence {
    field: String,
    item: Option<(usize, String)>,
    /// `field `name`: "x" is not valid: ...`, naming the field.
    reason: String,
}

impl Offence {
    fn label(&self) -> String {
        match &self.item {
            Some((i, item)) => format!("{}[{}].{item}", self.field, i + 1),
            None => self.field.clone(),
        }
    }

    fn remove_from(&self, fields: &mut Map<String, Value>) {
        match &self.item {
            None => {
                fields.remove(&self.field);
            }
            Some((i, item)) => {
                if let Some(Value::Object(object)) = fields
                    .get_mut(&self.field)
                    .and_then(|items| items.get_mut(*i))
                {
                    object.remove(item);
                }
            }
        }
    }
}

/// Finds the field whose value the model cannot hold (a bad date, an unknown customer type).
fn offence(kind: EntityKind, fields: &Map<String, Value>) -> Option<Offence> {
    let alone = |name: &str, value: &Value| {
        let mut one = Map::new();
        one.insert(name.to_string(), value.clone());
        Canonical::from_fields(kind, Value::Object(one)).err()
    };
    for (name, value) in fields {
        let Some(error) = alone(name, value) else {
            continue;
        };
        if let Value::Array(items) = value {
            for (i, item) in items.iter().enumerate() {
                for (item_name, item_value) in item.as_object().into_iter().flatten() {
                    let mut one = Map::new();
                    one.insert(item_name.clone(), item_value.clone());
                    if let Some(e) = alone(name, &Value::Array(vec![Value::Object(one)])) {
                        return Some(Offence {
                            field: name.clone(),
                            item: Some((i, item_name.clone())),
                            reason: format!(
                                "field `{name}[{}].{item_name}`: {item_value} is not valid: {e}",
                                i + 1
                            ),
                        });
                    }
                }
            }
        }
        return Some(Offence {
            field: name.clone(),
            item: None,
            reason: format!("field `{name}`: {value} is not valid: {error}"),
        });
    }
    None
}
