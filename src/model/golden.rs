//! The golden-record types every stage shares: a record's fields, where each came from, and the
//! change events that announce a new version.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::EntityKind;

/// A canonical record's fields, as stored and published.
pub type Fields = Map<String, Value>;

/// Where one field of a golden record came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FieldSource {
    pub source: String,
    pub key: String,
    /// The source's own change time of the record, when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<DateTime<Utc>>,
}

/// Field name → the source record that supplied the golden value.
pub type Lineage = BTreeMap<String, FieldSource>;

/// What happened to a golden record; the second half of an event's routing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Created,
    Updated,
    Deleted,
    /// Other golden records were folded into this one; their IDs redirect to it from now on.
    Merged,
    /// A customer's value tier changed (a value pass): the data carries `tier: {from, to}` and
    /// the customer's figures as `value`.
    TierChanged,
    /// A customer's lifecycle stage changed (a value pass): the data carries `stage: {from, to}`
    /// and the customer's figures as `value`.
    StageChanged,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Created => "created",
            Operation::Updated => "updated",
            Operation::Deleted => "deleted",
            Operation::Merged => "merged",
            Operation::TierChanged => "tier_changed",
            Operation::StageChanged => "stage_changed",
        }
    }
}

/// A change event, written to the outbox with the change it reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// Unique and stable: consumers de-duplicate on it.
    pub event_id: String,
    pub entity: EntityKind,
    pub operation: Operation,
    pub golden_id: String,
    pub version: i64,
    pub changed: Vec<String>,
    /// The golden record after the change, as the store holds it: every reader of events (the
    /// relay, `concord events`, the change feed) passes it on as written, so it is never parsed
    /// into a map on the way.
    pub record: Box<RawValue>,
    /// The sources of the changed fields.
    pub sources: Lineage,
    /// For a `merged` event: the golden IDs folded into this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<String>,
    /// Further keys of the event's data, for events that report more than a new version
    /// (`tier_changed`: `tier` and `value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Fields>,
    pub at: DateTime<Utc>,
}
