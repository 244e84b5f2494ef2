//! Column values both engines store alike: JSON as text (read back as the same text, so a
//! record keeps its field order), entity and operation names, and an event's sources.

use super::{Lineage, Operation, StoreError};
use crate::model::EntityKind;

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
