//! Singer messages: one JSON object per line, told apart by `type`.

use serde_json::{Map, Value};

/// A line of a tap's output.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A record of a stream.
    Record { stream: String, record: Value },
    /// The tap's bookmark: every record before it is covered by it.
    State(Value),
    /// A message that carries no data for Concord (SCHEMA, ACTIVATE_VERSION, BATCH).
    Other,
}

/// Parses one line; the error says what is wrong with it.
pub fn parse(line: &[u8]) -> Result<Message, String> {
    let value: Value = serde_json::from_slice(line).map_err(|error| {
        format!(
            "not JSON (column {}): {error}; starts with `{}`",
            error.column(),
            preview(line)
        )
    })?;
    let Value::Object(mut message) = value else {
        return Err(format!(
            "not a Singer message (not an object): `{}`",
            preview(line)
        ));
    };
    let kind = message
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("not a Singer message (no `type`): `{}`", preview(line)))?;
    match kind.as_str() {
        "RECORD" => {
            let stream = take_stream(&mut message)?;
            match message.remove("record") {
                Some(record @ Value::Object(_)) => Ok(Message::Record { stream, record }),
                _ => Err(format!(
                    "RECORD of stream `{stream}` without a `record` object"
                )),
            }
        }
        "STATE" => message
            .remove("value")
            .map(Message::State)
            .ok_or_else(|| "STATE without a `value`".to_string()),
        "SCHEMA" | "ACTIVATE_VERSION" | "BATCH" => Ok(Message::Other),
        other => Err(format!("unknown Singer message type `{other}`")),
    }
}

fn take_stream(message: &mut Map<String, Value>) -> Result<String, String> {
    match message.remove("stream") {
        Some(Value::String(stream)) if !stream.is_empty() => Ok(stream),
        _ => Err("RECORD without a `stream` name".into()),
    }
}

/// The first characters of a line, for an error message.
fn preview(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn singer_messages_parse() {
        let record = br#"{"type":"RECORD","stream":"customers","record":{"id":1},"time_extracted":"2024-01-01T00:00:00Z"}"#;
        assert_eq!(
            parse(record),
            Ok(Message::Record {
                stream: "customers".into(),
                record: json!({"id": 1})
            })
        );
        let state = br#"{"type":"STATE","value":{"bookmarks":{"customers":{"id":1}}}}"#;
        assert_eq!(
            parse(state),
            Ok(Message::State(json!({"bookmarks":{"customers":{"id":1}}})))
        );
        let schema =
            br#"{"type":"SCHEMA","stream":"customers","schema":{},"key_properties":["id"]}"#;
        assert_eq!(parse(schema), Ok(Message::Other));
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        assert!(
            parse(b"Traceback (most recent call last):")
                .unwrap_err()
                .contains("not JSON")
        );
        assert!(parse(b"[1,2]").unwrap_err().contains("not an object"));
        assert!(
            parse(br#"{"type":"LOG"}"#)
                .unwrap_err()
                .contains("unknown Singer message type `LOG`")
        );
        assert!(
            parse(br#"{"type":"RECORD","record":{}}"#)
                .unwrap_err()
                .contains("without a `stream`")
        );
        assert!(
            parse(br#"{"type":"RECORD","stream":"c"}"#)
                .unwrap_err()
                .contains("without a `record`")
        );
        assert!(
            parse(br#"{"type":"STATE"}"#)
                .unwrap_err()
                .contains("without a `value`")
        );
    }
}
