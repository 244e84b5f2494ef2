//! The AsyncAPI 3.0 document of the bus: the exchange, a channel per routing key, the message of
//! each event type with its CloudEvents headers and payload schema, and the publish settings
//! consumers can rely on (persistent, mandatory, message_id = event ID).

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::events::{data_schema, event_schema, event_types};
use crate::publish::cloudevents::{
    APP_ID, DATA_CONTENT_TYPE, STRUCTURED_CONTENT_TYPE, routing_key_of,
};
use crate::publish::{BusConfig, Mode};

/// The AMQP bindings version the document is written against.
const AMQP_BINDING: &str = "0.3.0";

/// The AsyncAPI 3.0 document of the events `bus` publishes, in its configured mode.
pub fn asyncapi(bus: &BusConfig) -> Value {
    let (host, vhost) = host_and_vhost(&bus.url);
    let mut channels = Map::new();
    let mut operations = Map::new();
    let mut messages = Map::new();
    let mut schemas = Map::new();
    let mut generator = SchemaSettings::draft2020_12()
        .with(|settings| settings.definitions_path = "#/components/schemas/".into())
        .into_generator();
    for (entity, operation) in event_types() {
        let key = routing_key_of(entity, operation);
        let id = key.replace('.', "_");
        let payload = match bus.mode {
            Mode::Structured => {
                let mut envelope = event_schema(entity, operation);
                lift_definitions(&mut envelope, &mut schemas);
                envelope
            }
            Mode::Binary => data_schema(&mut generator, entity, operation),
        };
        messages.insert(
            id.clone(),
            json!({
                "name": key,
                "title": format!("{key} event"),
                "contentType": match bus.mode {
                    Mode::Structured => STRUCTURED_CONTENT_TYPE,
                    Mode::Binary => DATA_CONTENT_TYPE,
                },
                "headers": headers(bus),
                "payload": payload,
                "bindings": { "amqp": { "messageType": format!("com.concord.{key}"), "bindingVersion": AMQP_BINDING } }
            }),
        );
        channels.insert(
            id.clone(),
            json!({
                "address": key,
                "description": format!("Messages published to exchange `{}` with routing key `{key}`.", bus.exchange),
                "messages": { (id.clone()): { "$ref": format!("#/components/messages/{id}") } },
                "bindings": { "amqp": {
                    "is": "routingKey",
                    "exchange": { "name": bus.exchange, "type": "topic", "durable": true, "autoDelete": false, "vhost": vhost },
                    "bindingVersion": AMQP_BINDING
                } }
            }),
        );
        operations.insert(
            format!("publish_{id}"),
            json!({
                "action": "send",
                "channel": { "$ref": format!("#/channels/{id}") },
                "messages": [{ "$ref": format!("#/channels/{id}/messages/{id}") }],
                "bindings": { "amqp": { "deliveryMode": 2, "mandatory": true, "bindingVersion": AMQP_BINDING } }
            }),
        );
    }
    schemas.extend(generator.take_definitions(true));
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Concord change events",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every change to a golden record, published after it is stored (transactional outbox), persistent and confirmed, in order per record. Consumers de-duplicate on the AMQP message_id (the event ID) and drop a record version older than one already applied (`recordversion`)."
        },
        "defaultContentType": DATA_CONTENT_TYPE,
        "servers": { "bus": { "host": host, "protocol": "amqp", "protocolVersion": "0.9.1", "pathname": vhost } },
        "channels": channels,
        "operations": operations,
        "components": { "messages": messages, "schemas": schemas }
    })
}

/// The AMQP message properties every event carries, plus the CloudEvents attributes as
/// headers in binary mode.
fn headers(bus: &BusConfig) -> Value {
    let mut properties = Map::new();
    if bus.mode == Mode::Binary {
        let prefix = bus.header_prefix.as_str();
        for (name, schema) in [
            ("specversion", json!({ "const": "1.0" })),
            ("id", json!({ "type": "string" })),
            ("source", json!({ "type": "string" })),
            (
                "type",
                json!({ "type": "string", "pattern": "^com\\.concord\\." }),
            ),
            (
                "subject",
                json!({ "type": "string", "description": "The golden ID." }),
            ),
            ("time", json!({ "type": "string", "format": "date-time" })),
            (
                "recordversion",
                json!({ "type": "string", "pattern": "^[0-9]+$" }),
            ),
        ] {
            properties.insert(format!("{prefix}{name}"), schema);
        }
    }
    json!({
        "type": "object",
        "description": format!("AMQP properties: message_id = the event ID, delivery_mode 2 (persistent), app_id `{APP_ID}`, timestamp = the change time."),
        "properties": properties
    })
}

/// Moves an event schema's own `$defs` into the document's shared schemas and points its
/// references there.
fn lift_definitions(schema: &mut Value, shared: &mut Map<String, Value>) {
    if let Some(Value::Object(definitions)) = schema.as_object_mut().and_then(|s| s.remove("$defs"))
    {
        for (name, mut definition) in definitions {
            repoint(&mut definition);
            shared.insert(name, definition);
        }
    }
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
    }
    repoint(schema);
}

fn repoint(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object.iter_mut() {
                match inner {
                    Value::String(target) if key == "$ref" => {
                        if let Some(name) = target.strip_prefix("#/$defs/") {
                            *target = format!("#/components/schemas/{name}");
                        }
                    }
                    _ => repoint(inner),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(repoint),
        _ => {}
    }
}

/// The broker's `host:port` and virtual host from the bus URL, without its credentials.
fn host_and_vhost(url: &str) -> (String, String) {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return ("127.0.0.1:5672".into(), "/".into());
    };
    let host = parsed.host_str().unwrap_or("127.0.0.1");
    let port = parsed.port().unwrap_or(5672);
    let path = parsed.path().trim_start_matches('/');
    let vhost = if path.is_empty() {
        "/".to_string()
    } else {
        path.replace("%2f", "/").replace("%2F", "/")
    };
    (format!("{host}:{port}"), vhost)
}
