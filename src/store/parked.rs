//! Events the broker refuses for good, set aside so the relay goes on.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::EntityKind;

/// An outbox event parked by the relay, with why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParkedEvent {
    /// Its place in the outbox.
    pub seq: i64,
    /// The CloudEvents `id` and AMQP `message_id`.
    pub event_id: String,
    pub entity: EntityKind,
    pub golden_id: String,
    pub version: i64,
    /// When the relay parked it.
    pub parked_at: DateTime<Utc>,
    /// What the broker said (too large, unroutable).
    pub reason: String,
}
