//! A JSON Schema per event type: the CloudEvents envelope of a structured-mode message with the
//! record of its entity as `data.record`, so consumers validate and generate code from it.

use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use crate::model::{Bom, Customer, EntityKind, FieldSource, Operation, Order, Product};
use crate::model::{CustomerValue, Stage, Tier};
use crate::publish::cloudevents::{DATA_CONTENT_TYPE, routing_key_of};

/// Every operation an event of any entity announces.
pub const OPERATIONS: [Operation; 4] = [
    Operation::Created,
    Operation::Updated,
    Operation::Deleted,
    Operation::Merged,
];

/// The operations only customer events announce: a value pass's changes.
pub const CUSTOMER_VALUE_OPERATIONS: [Operation; 2] =
    [Operation::TierChanged, Operation::StageChanged];

/// Every event type as its routing key (`customer.created`, …), entity by entity.
pub fn event_types() -> Vec<(EntityKind, Operation)> {
    EntityKind::ALL
        .into_iter()
        .flat_map(|entity| {
            let value = match entity {
                EntityKind::Customer => &CUSTOMER_VALUE_OPERATIONS[..],
                _ => &[],
            };
            OPERATIONS
                .into_iter()
                .chain(value.iter().copied())
                .map(move |operation| (entity, operation))
        })
        .collect()
}

/// The schema of one event type's structured-mode message body (the whole CloudEvent).
pub fn event_schema(entity: EntityKind, operation: Operation) -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let data = data_schema(&mut generator, entity, operation);
    let key = routing_key_of(entity, operation);
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("{key} event"),
        "description": format!(
            "A `{key}` change event: a CloudEvents 1.0 envelope published with routing key `{key}`."
        ),
        "type": "object",
        "required": ["specversion", "id", "source", "type", "subject", "time", "recordversion", "datacontenttype", "data"],
        "properties": {
            "specversion": { "const": "1.0" },
            "id": { "type": "string", "description": "The event ID, also the AMQP message_id: consumers de-duplicate on it." },
            "source": { "type": "string", "description": "The bus's `source` setting." },
            "type": { "const": format!("com.concord.{key}") },
            "subject": { "type": "string", "description": "The golden ID of the record." },
            "time": { "type": "string", "format": "date-time" },
            "recordversion": { "type": "integer", "minimum": 1, "description": "The golden record's version this event announces; drop a copy older than one already applied." },
            "datacontenttype": { "const": DATA_CONTENT_TYPE },
            "data": data
        },
        "additionalProperties": false
    });
    let definitions = generator.take_definitions(true);
    if !definitions.is_empty() {
        schema["$defs"] = Value::Object(definitions);
    }
    schema
}

/// The schema of an event's `data`, which is also a binary-mode message's whole body.
pub fn data_schema(
    generator: &mut SchemaGenerator,
    entity: EntityKind,
    operation: Operation,
) -> Value {
    let record = match entity {
        EntityKind::Customer => generator.subschema_for::<Customer>(),
        EntityKind::Product => generator.subschema_for::<Product>(),
        EntityKind::Order => generator.subschema_for::<Order>(),
        EntityKind::Bom => generator.subschema_for::<Bom>(),
    };
    let source = generator.subschema_for::<FieldSource>();
    let mut data = json!({
        "type": "object",
        "required": ["record", "changed", "sources"],
        "properties": {
            "record": record,
            "changed": { "type": "array", "items": { "type": "string" }, "description": "The fields this change set." },
            "sources": {
                "type": "object",
                "additionalProperties": source,
                "description": "Field → the source record that supplied its value, for the changed fields."
            }
        },
        "additionalProperties": false
    });
    if operation == Operation::Merged {
        data["properties"]["merged"] = json!({
            "type": "array",
            "items": { "type": "string" },
            "description": "Golden IDs folded into this record; they redirect here from now on."
        });
        data["required"] = json!(["record", "changed", "sources", "merged"]);
    }
    let change = match operation {
        Operation::TierChanged => Some(("tier", generator.subschema_for::<Tier>())),
        Operation::StageChanged => Some(("stage", generator.subschema_for::<Stage>())),
        _ => None,
    };
    if let Some((key, names)) = change {
        data["properties"][key] = json!({
            "type": "object",
            "required": ["from", "to"],
            "properties": {
                "from": { "allOf": [names.clone()], "description": "Before this pass; a customer valued for the first time was `lead` and `prospect`." },
                "to": names
            },
            "additionalProperties": false,
            "description": format!("The customer's {key} before and after.")
        });
        data["properties"]["value"] = json!(generator.subschema_for::<CustomerValue>());
        data["required"] = json!(["record", "changed", "sources", key, "value"]);
    }
    data
}
