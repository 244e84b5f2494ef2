//! Events as AMQP messages, after the CloudEvents 1.0 AMQP protocol binding.
//!
//! Structured mode carries the whole event as one JSON document; binary mode carries the data as
//! the body and every other attribute as a header, so consumers can route and filter on headers
//! without parsing bodies.

use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use serde_json::{Map, Value, json};

use super::config::{BusConfig, Mode};
use crate::model::{EntityKind, Operation};
use crate::store::Event;

/// The `content_type` of a structured-mode message.
pub const STRUCTURED_CONTENT_TYPE: &str = "application/cloudevents+json";
/// The `datacontenttype` of the data, and the `content_type` of a binary-mode message.
pub const DATA_CONTENT_TYPE: &str = "application/json";
/// The AMQP `app_id` of every message.
pub const APP_ID: &str = "concord";

/// One event ready to publish.
#[derive(Debug, Clone)]
pub struct Message {
    pub routing_key: String,
    pub body: Vec<u8>,
    pub properties: BasicProperties,
}

/// The routing key of an event: `<entity>.<operation>`.
pub fn routing_key(event: &Event) -> String {
    routing_key_of(event.entity, event.operation)
}

/// The routing key of events of one entity and operation.
pub fn routing_key_of(entity: EntityKind, operation: Operation) -> String {
    format!("{}.{}", entity.as_str(), operation.as_str())
}

/// The CloudEvents `type` of an event: `com.concord.<entity>.<operation>`.
pub fn event_type(event: &Event) -> String {
    format!("com.concord.{}", routing_key(event))
}

/// The event's data: the record after the change, the fields that changed and their sources;
/// a `merged` event also names the golden IDs folded into this one (they redirect here now), and
/// a value event adds its detail (`tier: {from, to}` and the customer's figures as `value`).
fn data(event: &Event) -> Value {
    let mut data = json!({
        "record": event.record,
        "changed": event.changed,
        "sources": event.sources,
    });
    if !event.merged.is_empty() {
        data["merged"] = json!(event.merged);
    }
    if let (Some(detail), Value::Object(data)) = (&event.detail, &mut data) {
        for (key, value) in detail {
            data.insert(key.clone(), value.clone());
        }
    }
    data
}

/// The context attributes other than `data` and `datacontenttype`, in the binding's order.
/// `recordversion` (an extension) lets consumers drop a stale copy of a record.
fn attributes(event: &Event, config: &BusConfig) -> [(&'static str, Value); 7] {
    [
        ("specversion", json!("1.0")),
        ("id", json!(event.event_id)),
        ("source", json!(config.source)),
        ("type", json!(event_type(event))),
        ("subject", json!(event.golden_id)),
        (
            "time",
            json!(
                event
                    .at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            ),
        ),
        ("recordversion", json!(event.version)),
    ]
}

/// Encodes an event as a persistent AMQP message in the configured mode.
pub fn encode(event: &Event, config: &BusConfig) -> Message {
    let base = BasicProperties::default()
        .with_delivery_mode(2)
        .with_message_id(ShortString::from(event.event_id.as_str()))
        .with_timestamp(u64::try_from(event.at.timestamp()).unwrap_or(0))
        .with_app_id(ShortString::from(APP_ID));
    let (body, properties) = match config.mode {
        Mode::Structured => {
            let mut envelope = Map::new();
            for (name, value) in attributes(event, config) {
                envelope.insert(name.to_string(), value);
            }
            envelope.insert("datacontenttype".into(), json!(DATA_CONTENT_TYPE));
            envelope.insert("data".into(), data(event));
            (
                Value::Object(envelope).to_string(),
                base.with_content_type(ShortString::from(STRUCTURED_CONTENT_TYPE)),
            )
        }
        Mode::Binary => {
            let prefix = config.header_prefix.as_str();
            let mut headers = FieldTable::default();
            for (name, value) in attributes(event, config) {
                let text = match value {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                headers.insert(
                    ShortString::from(format!("{prefix}{name}")),
                    AMQPValue::LongString(LongString::from(text)),
                );
            }
            (
                data(event).to_string(),
                base.with_content_type(ShortString::from(DATA_CONTENT_TYPE))
                    .with_headers(headers),
            )
        }
    };
    Message {
        routing_key: routing_key(event),
        body: body.into_bytes(),
        properties,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EntityKind;
    use crate::store::{FieldSource, Lineage, Operation};
    use chrono::TimeZone;

    fn event() -> Event {
        let mut record = Map::new();
        record.insert("name".into(), json!("ACME GmbH"));
        let mut sources = Lineage::new();
        sources.insert(
            "name".into(),
            FieldSource {
                source: "sap".into(),
                key: "4711".into(),
                changed_at: None,
            },
        );
        Event {
            event_id: "0190-abc".into(),
            entity: EntityKind::Customer,
            operation: Operation::Updated,
            golden_id: "cus_1".into(),
            version: 3,
            changed: vec!["name".into()],
            record,
            sources,
            merged: Vec::new(),
            detail: None,
            at: chrono::Utc.with_ymd_and_hms(2024, 5, 14, 8, 0, 0).unwrap(),
        }
    }

    fn header(properties: &BasicProperties, name: &str) -> Option<String> {
        match properties.headers().as_ref()?.inner().get(name)? {
            AMQPValue::LongString(text) => Some(text.to_string()),
            _ => None,
        }
    }

    #[test]
    fn structured_mode_carries_the_whole_event() {
        let message = encode(&event(), &BusConfig::new("amqp://x"));
        assert_eq!(message.routing_key, "customer.updated");
        let body: Value = serde_json::from_slice(&message.body).unwrap();
        assert_eq!(body["specversion"], "1.0");
        assert_eq!(body["id"], "0190-abc");
        assert_eq!(body["type"], "com.concord.customer.updated");
        assert_eq!(body["subject"], "cus_1");
        assert_eq!(body["source"], "urn:concord");
        assert_eq!(body["time"], "2024-05-14T08:00:00.000000Z");
        assert_eq!(body["data"]["record"]["name"], "ACME GmbH");
        assert_eq!(body["data"]["changed"], json!(["name"]));
        assert_eq!(body["data"]["sources"]["name"]["key"], "4711");
        let properties = &message.properties;
        assert_eq!(properties.delivery_mode(), &Some(2));
        assert_eq!(
            properties.message_id().as_ref().map(|s| s.as_str()),
            Some("0190-abc")
        );
        assert_eq!(
            properties.content_type().as_ref().map(|s| s.as_str()),
            Some(STRUCTURED_CONTENT_TYPE)
        );
        assert_eq!(properties.timestamp(), &Some(1_715_673_600));
        assert!(properties.headers().is_none());
    }

    #[test]
    fn binary_mode_puts_attributes_in_prefixed_headers() {
        let mut config = BusConfig::new("amqp://x");
        config.mode = Mode::Binary;
        let message = encode(&event(), &config);
        let body: Value = serde_json::from_slice(&message.body).unwrap();
        assert_eq!(body["record"]["name"], "ACME GmbH");
        let properties = &message.properties;
        assert_eq!(
            properties.content_type().as_ref().map(|s| s.as_str()),
            Some(DATA_CONTENT_TYPE)
        );
        assert_eq!(
            header(properties, "cloudEvents_type").as_deref(),
            Some("com.concord.customer.updated")
        );
        assert_eq!(
            header(properties, "cloudEvents_recordversion").as_deref(),
            Some("3")
        );
        config.header_prefix = crate::publish::HeaderPrefix::Colon;
        let message = encode(&event(), &config);
        assert_eq!(
            header(&message.properties, "cloudEvents:subject").as_deref(),
            Some("cus_1")
        );
    }
}
