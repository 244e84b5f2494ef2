//! The contracts people build against, generated from the Rust types so they cannot drift from
//! what Concord reads and sends: JSON Schemas of the files a user writes (for editors with
//! yaml-language-server), a JSON Schema per event type, and an AsyncAPI 3 document of the bus.

mod asyncapi;
mod events;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::Value;

pub use asyncapi::asyncapi;
pub use events::{event_schema, event_types};

use crate::config::Config;
use crate::config::profile::Profile;
use crate::mapping::MappingSpec;

/// A file whose schema `concord schema` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `concord.yaml`.
    Config,
    /// A connector profile (`connectors/*.yaml`).
    Profile,
    /// A mapping file (`mappings/**/*.yaml`).
    Mapping,
}

impl FileKind {
    /// Every kind, in the order they are listed.
    pub const ALL: [FileKind; 3] = [FileKind::Config, FileKind::Profile, FileKind::Mapping];

    /// The name on the command line and in the written file's name.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Config => "config",
            FileKind::Profile => "profile",
            FileKind::Mapping => "mapping",
        }
    }

    /// The kind of that name.
    pub fn of_name(name: &str) -> Option<FileKind> {
        FileKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The JSON Schema (draft 2020-12) of files of this kind.
    pub fn schema(self) -> Value {
        match self {
            FileKind::Config => config_schema(),
            FileKind::Profile => file_schema::<Profile>("Concord connector profile"),
            FileKind::Mapping => file_schema::<MappingSpec>("Concord mapping file"),
        }
    }
}

/// The config as written: a source naming a `profile:` gives only what the profile leaves open
/// (its driver and mappings come from the profile), so such a source is checked for its name and
/// profile here and in full when the profile is merged at load.
fn config_schema() -> Value {
    let mut schema = file_schema::<Config>("Concord configuration (concord.yaml)");
    if let Some(source) = schema.pointer_mut("/$defs/SourceConfig") {
        let complete = source.take();
        *source = serde_json::json!({
            "anyOf": [
                complete,
                {
                    "type": "object",
                    "description": "A source built on a connector profile (`connectors/<profile>.yaml`): any key of a source may override the profile's.",
                    "required": ["name", "profile"],
                    "properties": {
                        "name": { "type": "string" },
                        "profile": { "type": "string" }
                    }
                }
            ]
        });
    }
    schema
}

fn file_schema<T: JsonSchema>(title: &str) -> Value {
    let mut schema: Schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>();
    schema.insert("title".into(), Value::from(title));
    schema.to_value()
}
