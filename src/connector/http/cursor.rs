//! The cursor of an `http` source: per stream, the highest (change time, key) read so far, and
//! the `{{cursor}}` a next run sends (that time minus the look-back, in the source's own form).
//!
//! Change times are compared as times, not as text, whatever form the source writes them in:
//! RFC 3339 with an offset, a naive `YYYY-MM-DD HH:MM:SS[.ffffff]` (Frappe) or with a `T`, a date,
//! OData v2 `/Date(ms)/`, or a number. Other texts compare as text and get no look-back.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, TimeDelta};
use serde_json::{Map, Value, json};

use super::config::Incremental;
use crate::connector::scan::ScanState;

/// The cursor key holding each stream's key-scan state (not a stream name: it starts with `@`).
const SCANS: &str = "@scans";

/// Positions of every stream of one source, as stored in the checkpoint:
/// `{"customers": {"changed": "...", "key": "..."}, ...}`.
#[derive(Debug, Clone, Default)]
pub struct Positions(Map<String, Value>);

impl Positions {
    /// Reads a stored cursor; one of another shape (the source changed its driver) counts as
    /// none, so everything is read again and content hashes drop what was seen.
    pub fn from_stored(stored: Option<Value>) -> Positions {
        match stored {
            Some(Value::Object(map)) => Positions(map),
            _ => Positions::default(),
        }
    }

    /// The cursor to store.
    pub fn to_json(&self) -> Value {
        Value::Object(self.0.clone())
    }

    /// The key-scan state of `stream`, kept beside the positions under `@scans`.
    pub fn scan_state(&self, stream: &str) -> ScanState {
        ScanState::from_json(self.0.get(SCANS).and_then(|scans| scans.get(stream)))
    }

    /// Records the key-scan state of `stream` after this run.
    pub fn set_scan_state(&mut self, stream: &str, state: Value) {
        let scans = self
            .0
            .entry(SCANS)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(scans) = scans {
            scans.insert(stream.to_string(), state);
        }
    }

    /// The stored change time of `stream`.
    pub fn changed(&self, stream: &str) -> Option<&Value> {
        self.0.get(stream)?.get("changed").filter(|v| !v.is_null())
    }

    /// Records a read position of `stream` if it is past the stored one.
    pub fn advance(&mut self, stream: &str, changed: &Value, key: Option<&str>) {
        let newer = match self.0.get(stream) {
            None => true,
            Some(stored) => {
                let stored_changed = Sortable::of(stored.get("changed").unwrap_or(&Value::Null));
                let stored_key = stored.get("key").and_then(Value::as_str);
                (Sortable::of(changed), key) > (stored_changed, stored_key)
            }
        };
        if newer {
            let position = match key {
                Some(key) => json!({ "changed": changed, "key": key }),
                None => json!({ "changed": changed }),
            };
            self.0.insert(stream.to_string(), position);
        }
    }
}

/// The newest (change time, key) among the records of a page, each change time parsed once.
#[derive(Debug, Default)]
pub struct Newest {
    best: Option<(Sortable, Value, Option<String>)>,
}

impl Newest {
    /// Considers one record's change time and key.
    pub fn offer(&mut self, changed: &Value, key: Option<&str>) {
        let sortable = Sortable::of(changed);
        let newer = match &self.best {
            None => true,
            Some((best, _, best_key)) => (&sortable, key) > (best, best_key.as_deref()),
        };
        if newer {
            self.best = Some((sortable, changed.clone(), key.map(str::to_string)));
        }
    }

    /// Moves the stream's stored position up to the newest record offered.
    pub fn store(self, positions: &mut Positions, stream: &str) {
        if let Some((_, changed, key)) = self.best {
            positions.advance(stream, &changed, key.as_deref());
        }
    }
}

/// A change time as it orders: missing first, then numbers, then times, then other texts.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Sortable {
    Missing,
    Number(f64),
    Time(NaiveDateTime),
    Text(String),
}

impl Sortable {
    fn of(value: &Value) -> Sortable {
        match value {
            Value::Null => Sortable::Missing,
            Value::Number(n) => n.as_f64().map_or(Sortable::Missing, Sortable::Number),
            Value::String(text) => match ChangeTime::parse(text) {
                Some(time) => Sortable::Time(time.instant()),
                None => Sortable::Text(text.clone()),
            },
            other => Sortable::Text(other.to_string()),
        }
    }
}

/// The `{{cursor}}` of a stream: the stored change time minus the look-back, or `initial`.
pub fn render_cursor(stored: Option<&Value>, incremental: &Incremental) -> String {
    let Some(stored) = stored else {
        return incremental.initial.clone();
    };
    let text = match stored {
        Value::String(text) => text.as_str(),
        other => return other.to_string(),
    };
    let Some(time) = ChangeTime::parse(text) else {
        return text.to_string();
    };
    let lookback = TimeDelta::from_std(incremental.lookback).unwrap_or(TimeDelta::MAX);
    time.minus(lookback).render(incremental.format.as_deref())
}

/// A change time and the form it was written in, so it can be written back alike.
#[derive(Debug, Clone, PartialEq)]
enum ChangeTime {
    /// RFC 3339 with an offset; `zulu` when written with `Z`.
    Offset {
        time: DateTime<FixedOffset>,
        zulu: bool,
    },
    /// A local time without offset, with `T` or a space, and its count of fraction digits.
    Naive {
        time: NaiveDateTime,
        separator: char,
        fraction: usize,
    },
    /// A date without time.
    Date(NaiveDate),
    /// OData v2 `/Date(<ms since 1970 UTC>)/`.
    ODataV2(DateTime<chrono::Utc>),
}

impl ChangeTime {
    fn parse(text: &str) -> Option<ChangeTime> {
        let text = text.trim();
        if let Some(ms) = text
            .strip_prefix("/Date(")
            .and_then(|rest| rest.strip_suffix(")/"))
        {
            let digits = ms.split(['+', '-']).find(|part| !part.is_empty())?;
            let millis: i64 = digits.parse().ok()?;
            let millis = if ms.starts_with('-') { -millis } else { millis };
            return DateTime::from_timestamp_millis(millis).map(ChangeTime::ODataV2);
        }
        if let Ok(time) = DateTime::parse_from_rfc3339(text) {
            return Some(ChangeTime::Offset {
                time,
                zulu: text.ends_with(['Z', 'z']),
            });
        }
        for separator in [' ', 'T'] {
            let format = format!("%Y-%m-%d{separator}%H:%M:%S%.f");
            if let Ok(time) = NaiveDateTime::parse_from_str(text, &format) {
                let fraction = text.rsplit_once('.').map_or(0, |(_, digits)| digits.len());
                return Some(ChangeTime::Naive {
                    time,
                    separator,
                    fraction,
                });
            }
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(ChangeTime::Date)
    }

    /// A point on one time line for comparisons (naive times as written).
    fn instant(&self) -> NaiveDateTime {
        match self {
            ChangeTime::Offset { time, .. } => time.naive_utc(),
            ChangeTime::Naive { time, .. } => *time,
            ChangeTime::Date(date) => date.and_time(chrono::NaiveTime::MIN),
            ChangeTime::ODataV2(time) => time.naive_utc(),
        }
    }

    fn minus(self, delta: TimeDelta) -> ChangeTime {
        match self {
            ChangeTime::Offset { time, zulu } => ChangeTime::Offset {
                time: time.checked_sub_signed(delta).unwrap_or(time),
                zulu,
            },
            ChangeTime::Naive {
                time,
                separator,
                fraction,
            } => ChangeTime::Naive {
                time: time.checked_sub_signed(delta).unwrap_or(time),
                separator,
                fraction,
            },
            ChangeTime::Date(date) => {
                let time = date.and_time(chrono::NaiveTime::MIN);
                ChangeTime::Date(time.checked_sub_signed(delta).unwrap_or(time).date())
            }
            ChangeTime::ODataV2(time) => {
                ChangeTime::ODataV2(time.checked_sub_signed(delta).unwrap_or(time))
            }
        }
    }

    fn render(&self, format: Option<&str>) -> String {
        if let Some(format) = format {
            return match self {
                ChangeTime::Offset { time, .. } => time.format(format).to_string(),
                _ => self.instant().format(format).to_string(),
            };
        }
        match self {
            ChangeTime::Offset { time, zulu } => time.to_rfc3339_opts(SecondsFormat::AutoSi, *zulu),
            ChangeTime::Naive {
                time,
                separator,
                fraction,
            } => {
                let fraction = match fraction {
                    0 => "",
                    3 => "%.3f",
                    6 => "%.6f",
                    9 => "%.9f",
                    _ => "%.f",
                };
                time.format(&format!("%Y-%m-%d{separator}%H:%M:%S{fraction}"))
                    .to_string()
            }
            ChangeTime::Date(date) => date.format("%Y-%m-%d").to_string(),
            ChangeTime::ODataV2(time) => format!("/Date({})/", time.timestamp_millis()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn incremental(lookback_s: u64, format: Option<&str>) -> Incremental {
        Incremental {
            field: "modified".into(),
            key: None,
            initial: "1970-01-01 00:00:00".into(),
            lookback: Duration::from_secs(lookback_s),
            format: format.map(str::to_string),
        }
    }

    #[test]
    fn the_cursor_is_rendered_in_the_sources_own_form_minus_the_lookback() {
        let cases = [
            ("2024-03-14 10:15:00.123456", "2024-03-14 10:05:00.123456"),
            ("2024-03-14T10:15:00Z", "2024-03-14T10:05:00Z"),
            (
                "2024-03-14T10:15:00.5+01:00",
                "2024-03-14T10:05:00.500+01:00",
            ),
            ("2024-03-14T10:15:00", "2024-03-14T10:05:00"),
            ("/Date(1710411300000)/", "/Date(1710410700000)/"),
        ];
        for (stored, expected) in cases {
            assert_eq!(
                render_cursor(Some(&json!(stored)), &incremental(600, None)),
                expected,
                "{stored}"
            );
        }
        assert_eq!(
            render_cursor(None, &incremental(600, None)),
            "1970-01-01 00:00:00"
        );
        assert_eq!(
            render_cursor(
                Some(&json!("/Date(1710411300000)/")),
                &incremental(0, Some("%Y-%m-%dT%H:%M:%S"))
            ),
            "2024-03-14T10:15:00"
        );
    }

    #[test]
    fn positions_keep_the_highest_time_then_key_per_stream() {
        let mut positions = Positions::from_stored(Some(json!({"items": {"changed": "x"}})));
        positions.advance("customers", &json!("2024-03-14 10:00:00.5"), Some("C-2"));
        positions.advance("customers", &json!("2024-03-14 09:59:59"), Some("C-9"));
        positions.advance(
            "customers",
            &json!("2024-03-14 10:00:00.500000"),
            Some("C-3"),
        );
        positions.advance(
            "customers",
            &json!("2024-03-14 10:00:00.500000"),
            Some("C-1"),
        );
        assert_eq!(
            positions.to_json(),
            json!({
                "items": {"changed": "x"},
                "customers": {"changed": "2024-03-14 10:00:00.500000", "key": "C-3"}
            })
        );
        assert!(Positions::from_stored(Some(json!(["files"]))).to_json() == json!({}));
    }
}
