//! The generated contracts: every ready file validates against the schema of its kind and a
//! broken one does not; every event the quickstart produces validates against its type's schema;
//! the AsyncAPI document lists every event type and its references resolve; the schemas kept in
//! `schema/` are the ones the code generates.

mod common;

use std::path::{Path, PathBuf};

use concord::model::EntityKind;
use concord::publish::{BusConfig, Mode, cloudevents};
use concord::schema::{FileKind, asyncapi, event_schema, event_types};
use concord::sync::SyncOptions;
use serde_json::{Value, json};

use common::{config_with_store, sync};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_as_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn errors(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("the schema compiles");
    validator
        .iter_errors(instance)
        .map(|error| format!("{} at {}", error, error.instance_path))
        .collect()
}

fn files(pattern: &str) -> Vec<PathBuf> {
    let found: Vec<PathBuf> = glob::glob(&root().join(pattern).to_string_lossy())
        .unwrap()
        .map(Result::unwrap)
        .filter(|path| !path.to_string_lossy().ends_with(".test.yaml"))
        .collect();
    assert!(!found.is_empty(), "no file matches {pattern}");
    found
}

#[test]
fn every_example_profile_and_mapping_validates_against_its_schema() {
    let kinds = [
        (FileKind::Config, "examples/*/concord.yaml"),
        (FileKind::Profile, "connectors/*.yaml"),
        (FileKind::Mapping, "mappings/*/*.yaml"),
        (FileKind::Mapping, "examples/quickstart/mappings/*.yaml"),
        (FileKind::Mapping, "benches/mappings/*.yaml"),
    ];
    for (kind, pattern) in kinds {
        let schema = kind.schema();
        for file in files(pattern) {
            let found = errors(&schema, &yaml_as_json(&file));
            assert!(found.is_empty(), "{}: {found:#?}", file.display());
        }
    }
}

#[test]
fn broken_files_do_not_validate() {
    let config = FileKind::Config.schema();
    let misspelt_key = json!({
        "store": { "url": "sqlite://concord.db" },
        "sources": [{ "name": "sap", "driver": "idoc", "file": "in/*.xml", "mappings": [] }]
    });
    assert!(
        !errors(&config, &misspelt_key).is_empty(),
        "`file` for `files`"
    );
    let unknown_driver = json!({
        "store": { "url": "sqlite://concord.db" },
        "sources": [{ "name": "x", "driver": "ftp", "files": "*.xml", "mappings": [] }]
    });
    assert!(!errors(&config, &unknown_driver).is_empty());

    let mapping = FileKind::Mapping.schema();
    let valid = json!({
        "entity": "customer",
        "key": { "path": "$.id" },
        "fields": { "name": { "path": "$.name", "transforms": ["trim", { "date": "%d.%m.%Y" }] } }
    });
    assert_eq!(errors(&mapping, &valid), Vec::<String>::new());
    let mut unknown_transform = valid.clone();
    unknown_transform["fields"]["name"]["transforms"] = json!(["trimm"]);
    assert!(!errors(&mapping, &unknown_transform).is_empty());
    let mut two_keys = valid.clone();
    two_keys["fields"]["name"]["transforms"] = json!([{ "prefix": "A", "suffix": "B" }]);
    assert!(
        !errors(&mapping, &two_keys).is_empty(),
        "one transform per map"
    );
    let mut unknown_entity = valid;
    unknown_entity["entity"] = json!("invoice");
    assert!(!errors(&mapping, &unknown_entity).is_empty());
}

#[tokio::test]
async fn every_event_of_the_quickstart_validates_against_its_type_in_both_modes() {
    let db = tempfile::tempdir().unwrap();
    let config = config_with_store(&root().join("examples/quickstart/concord.yaml"), db.path());
    let (store, _) = sync(&config, &SyncOptions::default()).await;
    let events = store.events(0, 1000).await.unwrap();
    assert!(events.len() > 30, "{} events", events.len());

    let structured = BusConfig::new("amqp://127.0.0.1:5672/%2f");
    let mut binary = structured.clone();
    binary.mode = Mode::Binary;
    let mut seen = std::collections::BTreeSet::new();
    for stored in &events {
        let event = &stored.event;
        let schema = event_schema(event.entity, event.operation);
        let body: Value =
            serde_json::from_slice(&cloudevents::encode(event, &structured).body).unwrap();
        let found = errors(&schema, &body);
        assert!(found.is_empty(), "{}: {found:#?}\n{body:#}", event.event_id);

        let data: Value =
            serde_json::from_slice(&cloudevents::encode(event, &binary).body).unwrap();
        let mut data_schema = schema["properties"]["data"].clone();
        data_schema["$defs"] = schema["$defs"].clone();
        let found = errors(&data_schema, &data);
        assert!(found.is_empty(), "binary {}: {found:#?}", event.event_id);
        seen.insert(cloudevents::routing_key(event));
    }
    for entity in EntityKind::ALL {
        assert!(
            seen.iter().any(|key| key.starts_with(entity.as_str())),
            "the quickstart has no {entity:?} event: {seen:?}"
        );
    }

    let mut wrong =
        serde_json::from_slice::<Value>(&cloudevents::encode(&events[0].event, &structured).body)
            .unwrap();
    wrong["data"]["record"]["name"] = json!(42);
    wrong["recordversion"] = json!("1");
    assert_eq!(
        errors(
            &event_schema(events[0].event.entity, events[0].event.operation),
            &wrong
        )
        .len(),
        2
    );
}

/// Every `$ref` in `value` points at something in `document`.
fn unresolved_refs(document: &Value, value: &Value, missing: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object {
                match inner {
                    Value::String(target) if key == "$ref" => {
                        let pointer = target.trim_start_matches('#');
                        if document.pointer(pointer).is_none() {
                            missing.push(target.clone());
                        }
                    }
                    _ => unresolved_refs(document, inner, missing),
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|i| unresolved_refs(document, i, missing)),
        _ => {}
    }
}

#[test]
fn the_asyncapi_document_has_every_event_type_and_its_references_resolve() {
    for mode in [Mode::Structured, Mode::Binary] {
        let mut bus = BusConfig::new("amqp://user:secret@broker.example:5671/prod");
        bus.mode = mode;
        bus.exchange = "erp.events".into();
        let document = asyncapi(&bus);
        assert_eq!(document["asyncapi"], "3.0.0");
        assert_eq!(document["servers"]["bus"]["host"], "broker.example:5671");
        assert!(!document.to_string().contains("secret"), "no credentials");
        for (entity, operation) in event_types() {
            let key = format!("{}.{}", entity.as_str(), operation.as_str());
            let id = key.replace('.', "_");
            let channel = &document["channels"][&id];
            assert_eq!(channel["address"], key.as_str());
            assert_eq!(
                channel["bindings"]["amqp"]["exchange"]["name"],
                "erp.events"
            );
            assert_eq!(
                document["operations"][format!("publish_{id}")]["action"],
                "send"
            );
            assert!(document["components"]["messages"][&id]["payload"].is_object());
        }
        let mut missing = Vec::new();
        unresolved_refs(&document, &document, &mut missing);
        assert!(missing.is_empty(), "{mode:?}: {missing:?}");
        if mode == Mode::Binary {
            let headers = &document["components"]["messages"]["customer_created"]["headers"];
            assert!(
                headers["properties"]["cloudEvents_id"].is_object(),
                "{headers}"
            );
        }
    }
}

#[test]
fn the_schemas_kept_in_the_repository_are_the_generated_ones() {
    let dir = root().join("schema");
    let kept = |name: &str| -> Value {
        let text = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    let mut generated: Vec<(String, Value)> = FileKind::ALL
        .into_iter()
        .map(|kind| (format!("{}.schema.json", kind.name()), kind.schema()))
        .collect();
    for (entity, operation) in event_types() {
        generated.push((
            format!(
                "events/{}.{}.schema.json",
                entity.as_str(),
                operation.as_str()
            ),
            event_schema(entity, operation),
        ));
    }
    for (name, schema) in generated {
        assert!(
            kept(&name) == schema,
            "schema/{name} is out of date: run `cargo run -- schema --output schema`"
        );
    }
}
