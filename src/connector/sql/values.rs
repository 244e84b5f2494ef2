//! The JSON shapes of database values the backends share: times as RFC 3339 (a time without a
//! zone without an offset, so a mapping can name the zone), floats as numbers when finite, and
//! parameter values parsed back from those shapes.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value;

/// A JSON value as parameter text: strings without quotes.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A float as a JSON number; NaN and the infinities, which JSON lacks, as text.
pub fn float(value: f64) -> Value {
    serde_json::Number::from_f64(value)
        .map_or_else(|| Value::String(value.to_string()), Value::Number)
}

pub fn date(value: NaiveDate) -> Value {
    Value::String(value.format("%Y-%m-%d").to_string())
}

/// A time without a zone: ISO 8601 without an offset (`2024-05-14T09:31:22.5`).
pub fn naive(value: NaiveDateTime) -> Value {
    Value::String(value.format("%Y-%m-%dT%H:%M:%S%.f").to_string())
}

/// A time with a zone, in UTC.
pub fn instant(value: DateTime<Utc>) -> Value {
    Value::String(value.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// An RFC 3339 time (a time without an offset counts as UTC).
pub fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    match DateTime::parse_from_rfc3339(text.trim()) {
        Ok(instant) => Ok(instant.with_timezone(&Utc)),
        Err(_) => parse_naive(text).map(|naive| naive.and_utc()),
    }
}

/// A time without a zone (`T` or a space between date and time); an RFC 3339 time is taken in
/// UTC, a bare date at midnight.
pub fn parse_naive(text: &str) -> Result<NaiveDateTime, String> {
    let text = text.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(instant.naive_utc());
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .or_else(|_| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
        })
        .map_err(|_| format!("`{text}` is not a date-time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_through_their_json_shapes() {
        let instant = parse_instant("2024-05-14T11:31:22.5+02:00").unwrap();
        assert_eq!(super::instant(instant), "2024-05-14T09:31:22.500Z");
        let naive = parse_naive("2024-05-14 09:31:22").unwrap();
        assert_eq!(super::naive(naive), "2024-05-14T09:31:22");
        assert_eq!(
            parse_naive(super::naive(naive).as_str().unwrap()),
            Ok(naive)
        );
        assert_eq!(
            parse_instant("1970-01-01T00:00:00Z").unwrap().timestamp(),
            0
        );
        assert!(parse_naive("soon").is_err());
        assert_eq!(float(f64::NAN), "NaN");
    }
}
