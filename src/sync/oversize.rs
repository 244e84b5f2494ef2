//! The source-level `max_record_size`, enforced where raw records enter the pipeline: a record
//! over it is quarantined with its size instead of being mapped, and its stored payload is cut to
//! a prefix, so the quarantine never holds the oversized value whole.

use serde_json::{Value, json};

/// How much of an oversized record's JSON text the quarantine keeps.
pub const PAYLOAD_PREFIX: usize = 4 * 1024;

/// The size of `value` as JSON text when it is over `limit`; `None` when it is within.
///
/// A quick walk adds up what the text holds at least (strings, keys, punctuation; escapes and
/// digits left out). Far below the limit, that settles it; near or over it, the exact size is
/// counted by serializing into a counter. Only a record of mostly escaped characters could pass
/// while slightly over, and it then holds less than `limit` bytes in memory all the same.
pub fn over_limit(value: &Value, limit: u64) -> Option<u64> {
    let mut budget = Budget {
        used: 0,
        limit: limit / 2,
    };
    if budget.walk(value) {
        return None;
    }
    let mut counter = Counter::default();
    // Writing into a counter cannot fail.
    serde_json::to_writer(&mut counter, value).ok()?;
    (counter.total > limit).then_some(counter.total)
}

/// What the quarantine stores of an oversized record: its size and the first
/// [`PAYLOAD_PREFIX`] bytes of its JSON text.
pub fn truncated_payload(value: &Value, size: u64) -> Value {
    let mut prefix = Prefix::default();
    // The writer stops the serializer once the prefix is full.
    let _ = serde_json::to_writer(&mut prefix, value);
    let mut text = prefix.bytes;
    // Cut back to a whole character.
    while std::str::from_utf8(&text).is_err() && !text.is_empty() {
        text.pop();
    }
    json!({
        "truncated": true,
        "size": size,
        "prefix": String::from_utf8_lossy(&text),
    })
}

/// A lower bound of a value's JSON length, counted until it passes the limit.
struct Budget {
    used: u64,
    limit: u64,
}

impl Budget {
    /// Adds the value's length; false as soon as the total is over the limit.
    fn walk(&mut self, value: &Value) -> bool {
        self.used += match value {
            Value::Null | Value::Bool(_) => 4,
            Value::Number(_) => 1,
            Value::String(text) => text.len() as u64 + 2,
            Value::Array(items) => {
                self.used += items.len() as u64 + 1;
                for item in items {
                    if !self.walk(item) {
                        return false;
                    }
                }
                0
            }
            Value::Object(fields) => {
                self.used += fields.len() as u64 + 1;
                for (key, item) in fields {
                    self.used += key.len() as u64 + 3;
                    if !self.walk(item) {
                        return false;
                    }
                }
                0
            }
        };
        self.used <= self.limit
    }
}

/// Counts the bytes written to it.
#[derive(Default)]
struct Counter {
    total: u64,
}

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.total += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Keeps the first [`PAYLOAD_PREFIX`] bytes written, then refuses more.
#[derive(Default)]
struct Prefix {
    bytes: Vec<u8>,
}

impl std::io::Write for Prefix {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = PAYLOAD_PREFIX - self.bytes.len();
        if room == 0 {
            return Err(std::io::Error::other("prefix full"));
        }
        let n = buf.len().min(room);
        self.bytes.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_within_the_limit_passes_and_one_over_it_gets_its_exact_size() {
        let record = json!({"name": "Anna", "note": "x".repeat(100), "n": 12345});
        let exact = record.to_string().len() as u64;
        assert_eq!(over_limit(&record, exact), None);
        assert_eq!(over_limit(&record, exact - 1), Some(exact));
        assert_eq!(over_limit(&record, 10), Some(exact));
    }

    #[test]
    fn the_stored_payload_is_a_prefix_with_the_size() {
        let record = json!({"note": "ä".repeat(10_000)});
        let size = record.to_string().len() as u64;
        let stored = truncated_payload(&record, size);
        assert_eq!(stored["size"], json!(size));
        let prefix = stored["prefix"].as_str().unwrap();
        assert!(prefix.starts_with(r#"{"note":"ää"#), "{prefix}");
        assert!(prefix.len() <= PAYLOAD_PREFIX && prefix.len() > PAYLOAD_PREFIX - 4);
    }
}
