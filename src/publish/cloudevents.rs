//! Events as AMQP messages, after the CloudEvents 1.0 AMQP protocol binding.
//!
//! Structured mode carries the whole event as one JSON document; binary mode carries the data as
//! the body and every other attribute as a header, so consumers can route and filter on headers
//! without parsing bodies.

use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use serde::Serialize;

use super::config::{BusConfig, Mode};
use crate::model::{EntityKind, Operation};
use crate::store::{Event, Fields, Lineage};
use serde_json::value::RawValue;

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
/// Serialized straight from the stored event: no copy of the record is built on the way.
#[derive(Serialize)]
struct Data<'a> {
    record: &'a RawValue,
    changed: &'a [String],
    sources: &'a Lineage,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    merged: &'a [String],
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    detail: Option<&'a Fields>,
}

impl<'a> Data<'a> {
    fn of(event: &'a Event) -> Data<'a> {
        Data {
            record: &event.record,
            changed: &event.changed,
            sources: &event.sources,
            merged: &event.merged,
            detail: event.detail.as_ref(),
        }
    }
}

/// The context attributes other than `data` and `datacontenttype`, in the binding's order.
/// `recordversion` (an extension) lets consumers drop a stale copy of a record.
#[derive(Serialize)]
struct Attributes<'a> {
    specversion: &'static str,
    id: &'a str,
    source: &'a str,
    #[serde(rename = "type")]
    event_type: String,
    subject: &'a str,
    time: String,
    recordversion: i64,
}

impl<'a> Attributes<'a> {
    fn of(event: &'a Event, config: &'a BusConfig) -> Attributes<'a> {
        Attributes {
            specversion: "1.0",
            id: &event.event_id,
            source: &config.source,
            event_type: event_type(event),
            subject: &event.golden_id,
            time: event
                .at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            recordversion: event.version,
        }
    }

    /// The attributes as (name, text) pairs, for binary mode's headers: taken from their
    /// serialization, so both modes name and order them alike.
    fn as_texts(&self) -> Vec<(String, String)> {
        let Ok(serde_json::Value::Object(attributes)) = serde_json::to_value(self) else {
            return Vec::new();
        };
        attributes
            .into_iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(text) => (name, text),
                other => (name, other.to_string()),
            })
            .collect()
    }
}

/// A structured-mode message body: the attributes, then `datacontenttype` and `data`.
#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(flatten)]
    attributes: Attributes<'a>,
    datacontenttype: &'static str,
    data: Data<'a>,
}

/// Encodes an event as a persistent AMQP message in the configured mode.
pub fn encode(event: &Event, config: &BusConfig) -> Message {
    let base = BasicProperties::default()
        .with_delivery_mode(2)
        .with_message_id(ShortString::from(event.event_id.as_str()))
        .with_timestamp(u64::try_from(event.at.timestamp()).unwrap_or(0))
        .with_app_id(ShortString::from(APP_ID));
    let attributes = Attributes::of(event, config);
    let (body, properties) = match config.mode {
        Mode::Structured => (
            to_body(&Envelope {
                attributes,
                datacontenttype: DATA_CONTENT_TYPE,
                data: Data::of(event),
            }),
            base.with_content_type(ShortString::from(STRUCTURED_CONTENT_TYPE)),
        ),
        Mode::Binary => {
            let prefix = config.header_prefix.as_str();
            let mut headers = FieldTable::default();
            for (name, text) in attributes.as_texts() {
                headers.insert(
                    ShortString::from(format!("{prefix}{name}")),
                    AMQPValue::LongString(LongString::from(text)),
                );
            }
            (
                to_body(&Data::of(event)),
                base.with_content_type(ShortString::from(DATA_CONTENT_TYPE))
                    .with_headers(headers),
            )
        }
    };
    Message {
        routing_key: routing_key(event),
        body,
        properties,
    }
}

/// Serializes a body. Maps with string keys, strings and numbers cannot fail to serialize.
fn to_body(value: &impl Serialize) -> Vec<u8> {
    let mut body = Vec::with_capacity(1024);
    serde_json::to_writer(&mut body, value).expect("a JSON map always serializes");
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EntityKind;
    use crate::store::{FieldSource, Lineage, Operation};
    use chrono::TimeZone;
    use serde_json::{Map, Value, json};

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
            record: serde_json::value::to_raw_value(&record).unwrap(),
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
