//! Column values both engines store alike: JSON as text (read back as the same text, so a
//! record keeps its field order), entity and operation names, and an event's sources.

use chrono::{DateTime, Utc};
use sqlx::{Decode, Row, Type};

use super::{Event, Fields, Lineage, Operation, StoreError, StoredEvent, lineage_text};
use crate::model::EntityKind;

/// Outbox rows with the version each announces: the event's payload. The same on both engines.
pub const EVENT_SELECT: &str = "SELECT o.seq, o.event_id, o.entity, o.operation, o.golden_id, o.version, o.at, \
     o.published_at, o.merged, o.detail, v.record, v.lineage, v.changed \
     FROM outbox o JOIN golden_version v ON v.id = o.golden_id AND v.version = o.version";

/// An [`EVENT_SELECT`] row as an event, on either engine. Each engine stores times its own way,
/// so it decodes `at` and `published_at` itself and hands them in.
pub fn stored_event<'r, R: Row>(
    row: &'r R,
    at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
) -> Result<StoredEvent, StoreError>
where
    &'r str: sqlx::ColumnIndex<R> + Decode<'r, R::Database> + Type<R::Database>,
    Option<&'r str>: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let detail: Option<Fields> = match row.try_get::<Option<&str>, _>("detail")? {
        Some(text) => Some(from_text(text, "event detail")?),
        None => None,
    };
    // An event with a detail (a value event) reports no change of the record it carries.
    let changed: Vec<String> = match detail {
        Some(_) => Vec::new(),
        None => from_text(row.try_get::<&str, _>("changed")?, "event changed fields")?,
    };
    let sources = event_sources(
        lineage_text::decode(row.try_get::<&str, _>("lineage")?)?,
        &changed,
    );
    Ok(StoredEvent {
        seq: row.try_get("seq")?,
        event: Event {
            event_id: row.try_get("event_id")?,
            entity: parse_entity(row.try_get::<&str, _>("entity")?)?,
            operation: parse_operation(row.try_get::<&str, _>("operation")?)?,
            golden_id: row.try_get("golden_id")?,
            version: row.try_get("version")?,
            changed,
            record: from_text(row.try_get::<&str, _>("record")?, "event record")?,
            sources,
            merged: match row.try_get::<Option<&str>, _>("merged")? {
                Some(text) => from_text(text, "event merged IDs")?,
                None => Vec::new(),
            },
            detail,
            at,
        },
        published_at,
    })
}

/// A value as stored JSON text.
pub fn to_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

/// A value from stored JSON text; `what` names the column in the error.
pub fn from_text<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub fn parse_entity(text: &str) -> Result<EntityKind, StoreError> {
    EntityKind::parse(text).ok_or_else(|| StoreError::Corrupt(format!("entity `{text}`")))
}

pub fn parse_operation(text: &str) -> Result<Operation, StoreError> {
    from_text(&format!("\"{text}\""), "operation")
}

/// The lineage an event carries: that of its changed fields only. A union field's elements keep
/// their own lineage (`emails[1]`): they go with the field.
pub fn event_sources(mut lineage: Lineage, changed: &[String]) -> Lineage {
    lineage.retain(|field, _| {
        let base = field.split('[').next().unwrap_or(field);
        changed.iter().any(|c| c == base)
    });
    lineage
}
