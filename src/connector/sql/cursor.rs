//! The sql driver's cursor: per stream, the (change time, key) of the last row read, and the
//! values bound for the next page.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::connector::Cursor;

/// Where a stream stands: the cursor column's and the key column's values of the last row read,
/// as JSON (the way they appear in the records).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// The cursor column's value.
    pub cursor: Value,
    /// The key column's value.
    pub key: Value,
}

/// The stored cursor of an sql source: one position per stream that has a cursor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SqlCursor {
    /// Positions by stream name.
    pub streams: BTreeMap<String, Position>,
    /// Key-scan state by stream name (`deletes:`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scans: BTreeMap<String, Value>,
}

impl SqlCursor {
    /// Reads a stored cursor. One of another shape (the source changed its driver) counts as none:
    /// every row is read again and the store's content hashes drop what was seen.
    pub fn from_cursor(cursor: Option<Cursor>) -> Self {
        let Some(Cursor(value)) = cursor else {
            return Self::default();
        };
        serde_json::from_value(value).unwrap_or_else(|error| {
            tracing::warn!(%error, "stored sql cursor unreadable, reading every row again");
            Self::default()
        })
    }

    /// The cursor to store.
    pub fn to_cursor(&self) -> Cursor {
        Cursor(serde_json::to_value(self).unwrap_or(Value::Null))
    }
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// A cursor or key value as read from a row (or the configured `initial`).
    Json(Value),
    /// Lower than every key: the start of a re-read window, where no key is known. Carries a key
    /// value of the right type when one is known (a backend without typed parameters binds the
    /// lowest value of that type; with none it binds NULL).
    LowestKey(Option<Value>),
    /// The page size.
    Limit(i64),
}

/// The (cursor, key) a stream's next run starts after: the stored position moved back by
/// `lookback` (and then any key), or the configured `initial` value.
pub fn start(
    stored: Option<&Position>,
    initial: &Value,
    lookback: Option<Duration>,
) -> (Value, Param) {
    match (stored, lookback) {
        (Some(position), Some(window)) if !window.is_zero() => (
            step_back(&position.cursor, window),
            Param::LowestKey(Some(position.key.clone())),
        ),
        (Some(position), _) => (position.cursor.clone(), Param::Json(position.key.clone())),
        (None, _) => (initial.clone(), Param::LowestKey(None)),
    }
}

/// A time cursor moved back by `window`, written in the same shape it was read in (so a SQLite
/// text column compares alike). Other cursors (numbers, versions) are returned unchanged:
/// a look-back window is a span of time.
pub fn step_back(cursor: &Value, window: Duration) -> Value {
    let Value::String(text) = cursor else {
        return cursor.clone();
    };
    let Ok(window) = chrono::Duration::from_std(window) else {
        return cursor.clone();
    };
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        let use_z = text.ends_with(['Z', 'z']);
        return match instant.checked_sub_signed(window) {
            Some(earlier) => Value::String(earlier.to_rfc3339_opts(SecondsFormat::AutoSi, use_z)),
            None => cursor.clone(),
        };
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            let out = if format.contains('T') {
                "%Y-%m-%dT%H:%M:%S%.f"
            } else {
                "%Y-%m-%d %H:%M:%S%.f"
            };
            return naive
                .checked_sub_signed(window)
                .map_or(cursor.clone(), |t| Value::String(t.format(out).to_string()));
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let earlier = date
            .and_hms_opt(0, 0, 0)
            .and_then(|midnight| midnight.checked_sub_signed(window));
        return earlier.map_or(cursor.clone(), |t| {
            Value::String(t.date().format("%Y-%m-%d").to_string())
        });
    }
    cursor.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookback_moves_time_cursors_back_in_their_own_shape() {
        let five = Duration::from_secs(300);
        assert_eq!(
            step_back(&json!("2024-05-14T10:00:00Z"), five),
            json!("2024-05-14T09:55:00Z")
        );
        assert_eq!(
            step_back(&json!("2024-05-14T10:00:00.250+02:00"), five),
            json!("2024-05-14T09:55:00.250+02:00")
        );
        assert_eq!(
            step_back(&json!("2024-05-14 10:00:00"), five),
            json!("2024-05-14 09:55:00")
        );
        assert_eq!(
            step_back(&json!("2024-05-14"), Duration::from_secs(60)),
            json!("2024-05-13")
        );
        assert_eq!(step_back(&json!(1234), five), json!(1234));
        assert_eq!(step_back(&json!("v17"), five), json!("v17"));
    }

    #[test]
    fn a_run_starts_after_the_stored_position_or_the_initial_value() {
        let initial = json!("1970-01-01T00:00:00Z");
        let stored = Position {
            cursor: json!("2024-05-14T10:00:00Z"),
            key: json!(42),
        };
        assert_eq!(
            start(Some(&stored), &initial, None),
            (json!("2024-05-14T10:00:00Z"), Param::Json(json!(42)))
        );
        assert_eq!(
            start(Some(&stored), &initial, Some(Duration::from_secs(60))),
            (
                json!("2024-05-14T09:59:00Z"),
                Param::LowestKey(Some(json!(42)))
            )
        );
        assert_eq!(
            start(None, &initial, Some(Duration::from_secs(60))),
            (initial.clone(), Param::LowestKey(None))
        );
    }

    #[test]
    fn a_cursor_of_another_driver_counts_as_none() {
        let other = Cursor(json!({"files": {"a.csv": {"len": 3}}}));
        assert_eq!(SqlCursor::from_cursor(Some(other)), SqlCursor::default());
        let mut cursor = SqlCursor::default();
        cursor.streams.insert(
            "customers".into(),
            Position {
                cursor: json!("2024-01-01T00:00:00Z"),
                key: json!(7),
            },
        );
        assert_eq!(SqlCursor::from_cursor(Some(cursor.to_cursor())), cursor);
    }
}
