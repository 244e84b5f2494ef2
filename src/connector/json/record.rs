//! Parsing one JSON record strictly: a key written twice in one object is an error naming the key
//! (never a silent last-one-wins), and a number no `i64`, `u64` or `f64` holds exactly
//! (`123456789012345678901234567890`, `1e400`) is kept as a string of its exact text instead of
//! being rounded or failing the record.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// More significant digits than an `f64` keeps exactly.
const F64_DIGITS: usize = 17;

/// Parses one record; the error says what is wrong and where (line and column inside `bytes`).
pub fn parse_record(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let bytes = quote_inexact_numbers(bytes);
    serde_json::from_slice::<StrictValue>(&bytes).map(|StrictValue(value)| value)
}

/// A [`Value`] whose objects refuse duplicate keys.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{key}` in one object"
                )));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// The text with every number that would lose digits or overflow written as a string; borrowed
/// when there is none (almost always).
fn quote_inexact_numbers(bytes: &[u8]) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if byte == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if byte == b'-' || byte.is_ascii_digit() {
            let end = bytes[i..]
                .iter()
                .position(|b| {
                    !(b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
                })
                .map_or(bytes.len(), |n| i + n);
            let token = &bytes[i..end];
            if !is_exact(token) {
                let out = out.get_or_insert_with(|| Vec::with_capacity(bytes.len() + 16));
                out.extend_from_slice(&bytes[copied..i]);
                out.push(b'"');
                out.extend_from_slice(token);
                out.push(b'"');
                copied = end;
            }
            i = end;
            continue;
        }
        i += 1;
    }
    match out {
        None => Cow::Borrowed(bytes),
        Some(mut out) => {
            out.extend_from_slice(&bytes[copied..]);
            Cow::Owned(out)
        }
    }
}

/// Whether serde_json reads the number token without losing anything. A token that is not a
/// number at all counts as exact, so the parser reports it.
fn is_exact(token: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(token) else {
        return true;
    };
    let is_float = text.contains(['.', 'e', 'E']);
    if !is_float {
        let digits = text.trim_start_matches('-');
        return digits.is_empty() || text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok();
    }
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => {
            let mantissa = text.split(['e', 'E']).next().unwrap_or(text);
            let significant = mantissa
                .trim_start_matches('-')
                .replace('.', "")
                .trim_start_matches('0')
                .trim_end_matches('0')
                .len();
            significant <= F64_DIGITS
        }
        Ok(_) => false,
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_beyond_i64_and_f64_are_kept_as_their_text() {
        let value = parse_record(
            br#"{"big": 123456789012345678901234567890, "huge": 1e400, "neg": -99999999999999999999,
                "ok": 42, "u": 18446744073709551615, "price": 12.50, "s": "1e400", "list": [1e999, 2]}"#,
        )
        .unwrap();
        assert_eq!(value["big"], "123456789012345678901234567890");
        assert_eq!(value["huge"], "1e400");
        assert_eq!(value["neg"], "-99999999999999999999");
        assert_eq!(value["ok"], 42);
        assert_eq!(value["u"], json!(u64::MAX));
        assert_eq!(value["price"], 12.5);
        assert_eq!(value["s"], "1e400");
        assert_eq!(value["list"], json!(["1e999", 2]));
        assert_eq!(
            parse_record(b"0.12345678901234567890123").unwrap(),
            "0.12345678901234567890123"
        );
    }

    #[test]
    fn a_duplicate_key_is_an_error_naming_it() {
        let error =
            parse_record(b"{\"id\": 1,\n \"tax_id\": \"DE1\", \"tax_id\": \"42\"}").unwrap_err();
        let message = error.to_string();
        assert!(message.contains("duplicate key `tax_id`"), "{message}");
        assert_eq!(error.line(), 2);
        let nested = parse_record(br#"{"a": [{"x": 1, "x": 2}]}"#).unwrap_err();
        assert!(nested.to_string().contains("duplicate key `x`"));
        assert!(parse_record(br#"{"a": {"x": 1}, "b": {"x": 2}}"#).is_ok());
    }

    #[test]
    fn ordinary_records_parse_as_serde_json_does() {
        let text = br#"{"name": "M\u00fcller \"Sohn\"", "n": -3, "f": 1.5e-3, "t": true, "z": null, "a": []}"#;
        assert_eq!(
            parse_record(text).unwrap(),
            serde_json::from_slice::<Value>(text).unwrap()
        );
    }
}
