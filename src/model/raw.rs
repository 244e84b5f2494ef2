//! A record as its source delivered it: what connectors produce and mappings read.

use std::sync::Arc;

/// One record as the source delivered it, before mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    /// Where the record was read: the file plus a position (`#3` for the third IDoc, `:12` for a
    /// line), so an error or a quarantined record can be traced back to its origin.
    pub origin: String,
    /// The record as JSON (XML and CSV are turned into JSON by documented rules).
    pub payload: serde_json::Value,
    /// The stream (endpoint, table, tap stream) of a source that reads several; mappings select
    /// on it with `stream:`. `None` for file drivers, whose records carry their own type.
    pub stream: Option<Arc<str>>,
}
