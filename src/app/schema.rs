//! `concord schema`: prints or writes the generated contracts — the JSON Schemas of the config,
//! profile and mapping files, a JSON Schema per event type, and the AsyncAPI document of the bus.

use std::path::Path;

use serde_json::{Map, Value};

use super::{AppError, Context, Outcome, output};
use crate::config::Config;
use crate::publish::BusConfig;
use crate::publish::cloudevents::routing_key_of;
use crate::schema::{FileKind, asyncapi, event_schema, event_types};

/// What `concord schema` can print.
pub const WHAT: &[&str] = &["config", "profile", "mapping", "events", "asyncapi"];

/// Prints the schema named `what`, or writes every schema under `output` when it is given.
pub async fn schema(
    context: &Context,
    what: Option<&str>,
    output_dir: Option<&Path>,
) -> Result<Outcome, AppError> {
    if let Some(dir) = output_dir {
        write_all(context, dir)?;
        return Ok(Outcome::Done);
    }
    let what = what.ok_or_else(|| {
        AppError::Usage(format!(
            "name what to print ({}) or give --output DIR to write them all",
            WHAT.join(", ")
        ))
    })?;
    let document = match (FileKind::of_name(what), what) {
        (Some(kind), _) => kind.schema(),
        (None, "events") => Value::Object(events()),
        (None, "asyncapi") => asyncapi(&bus(context)?),
        (None, other) => {
            return Err(AppError::Usage(format!(
                "`concord schema {other}`: choose one of {}",
                WHAT.join(", ")
            )));
        }
    };
    output::line(pretty(&document));
    Ok(Outcome::Done)
}

/// Every event type's schema by routing key.
fn events() -> Map<String, Value> {
    event_types()
        .into_iter()
        .map(|(entity, operation)| {
            (
                routing_key_of(entity, operation),
                event_schema(entity, operation),
            )
        })
        .collect()
}

/// The bus of the config when there is one, else the defaults (the document then names the
/// local broker and the default exchange).
fn bus(context: &Context) -> Result<BusConfig, AppError> {
    let configured = if context.config.exists() {
        Config::load(&context.config)?.bus
    } else {
        None
    };
    Ok(configured.unwrap_or_else(|| BusConfig::new("amqp://127.0.0.1:5672/%2f")))
}

fn write_all(context: &Context, dir: &Path) -> Result<(), AppError> {
    let write = |name: &str, document: &Value| -> Result<(), AppError> {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| AppError::Usage(format!("{}: {error}", parent.display())))?;
        }
        std::fs::write(&path, pretty(document) + "\n")
            .map_err(|error| AppError::Usage(format!("{}: {error}", path.display())))?;
        output::line(format!("wrote {}", path.display()));
        Ok(())
    };
    for kind in FileKind::ALL {
        write(&format!("{}.schema.json", kind.name()), &kind.schema())?;
    }
    for (key, schema) in events() {
        write(&format!("events/{key}.schema.json"), &schema)?;
    }
    write("asyncapi.json", &asyncapi(&bus(context)?))
}

fn pretty(document: &Value) -> String {
    serde_json::to_string_pretty(document).unwrap_or_else(|_| document.to_string())
}
