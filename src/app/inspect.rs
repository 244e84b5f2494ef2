//! The commands that only read: `validate`, `preview`, `show`, `events`, `explain`,
//! `quality`, `quarantine`. None of them takes the writer lock, so none waits for a running sync.

use super::{AppError, Context, Format, Outcome, entity, golden_id, load, open_store, output};
use crate::cli;
use crate::config::checks::{self, Severity};
use crate::mapping::MapOutcome;
use crate::model::EntityKind;
use crate::reconcile;
use crate::store::{Audit, GoldenState, PendingReference, Store, StoredQualityNote, VersionRow};
use crate::sync::Pipeline;

/// Loads the config and compiles every mapping (a problem there is an error naming
/// file:line:col), then checks what can be checked without running: the store URL, file
/// patterns, SQL placeholders, http paths and paging. Each finding is printed naming its source,
/// stream and setting; errors make the command fail, warnings do not.
pub async fn validate(context: &Context) -> Result<Outcome, AppError> {
    let pipeline = Pipeline::compile(load(context)?)?;
    let config = pipeline.config();
    let findings = checks::check(config);
    for finding in &findings {
        crate::errln!("{finding}");
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    let verdict = match (errors, warnings) {
        (0, 0) => "ok".to_owned(),
        (0, w) => format!("ok, {w} warning(s)"),
        (e, w) => format!("{e} error(s), {w} warning(s)"),
    };
    output::line(format!(
        "{}: {verdict} ({} sources)",
        context.config.display(),
        config.sources.len()
    ));
    for source in &config.sources {
        output::line(format!(
            "  {} ({} mapping files, priority {})",
            source.name,
            source.mappings.len(),
            source.priority
        ));
    }
    Ok(if errors > 0 {
        Outcome::Incomplete
    } else {
        Outcome::Done
    })
}

/// The first `limit` raw records of a source beside what the mappings make of them.
/// What a sync of `source` would change in the store under the current mappings and match
/// rules, record by record and field by field; nothing is written.
pub async fn preview_diff(
    context: &Context,
    source: &str,
    limit: Option<usize>,
) -> Result<Outcome, AppError> {
    let config = load(context)?;
    let store = open_store(&config).await?;
    let pipeline = Pipeline::compile(config)?;
    let preview = pipeline
        .preview_changes(store.as_ref(), source, limit)
        .await?;
    output::print(&cli::change_preview(source, &preview));
    Ok(Outcome::Done)
}

pub async fn preview(context: &Context, source: &str, limit: usize) -> Result<Outcome, AppError> {
    let pipeline = Pipeline::compile(load(context)?)?;
    for row in pipeline.preview(source, limit).await? {
        let text = match row {
            Err(error) => format!("read error: {error}\n"),
            Ok(row) => {
                let mapped = match row.outcome {
                    MapOutcome::Mapped(record) => format!("mapped: {}", pretty(&record)),
                    MapOutcome::Unmatched => "mapped: (no mapping selects this record)".into(),
                    MapOutcome::Failed(failure) => {
                        format!("failed: {} ({})", failure.reason, failure.mapping.display())
                    }
                };
                format!(
                    "── {}\nraw:    {}\n{mapped}\n",
                    row.raw.origin,
                    pretty(&row.raw.payload)
                )
            }
        };
        output::line(text);
    }
    Ok(Outcome::Done)
}

fn pretty<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("(not printable: {e})"))
}

/// A golden record as `show` and the HTTP API give it: the record with each field's source, its
/// versions, its data-quality notes and the references it still waits for.
#[derive(Debug, Clone)]
pub struct RecordView {
    /// The ID asked for, when it was merged into `state.id`.
    pub merged_away: Option<String>,
    pub state: GoldenState,
    pub history: Vec<VersionRow>,
    pub notes: Vec<StoredQualityNote>,
    pub pending: Vec<PendingReference>,
    /// A customer's value, tier and stage; `None` for other entities and before a value pass.
    pub value: Option<crate::value::CustomerValue>,
}

impl RecordView {
    /// The view as one JSON object (`show --format jsonl`, `GET /api/customers/{id}`).
    pub fn to_json(&self) -> serde_json::Value {
        let state = &self.state;
        let mut json = serde_json::json!({"id": state.id, "entity": state.entity, "version": state.version, "deleted": state.deleted, "record": state.record, "lineage": state.lineage, "history": self.history, "pending_references": self.pending, "quality_notes": self.notes});
        if state.entity == EntityKind::Customer {
            json["value"] = serde_json::json!(self.value);
        }
        json
    }
}

/// Gathers a golden record by golden ID (an ID merged away leads to its survivor) or
/// `SOURCE:KEY`; [`AppError::NotFound`] when the store has no such record of `kind`.
pub async fn golden_record(
    store: &dyn Store,
    kind: EntityKind,
    id: &str,
) -> Result<RecordView, AppError> {
    let asked = golden_id(store, kind, id).await?;
    let id = store.resolve_id(&asked).await?.unwrap_or(asked.clone());
    let Some(state) = store
        .load_goldens(&[id.as_str()])
        .await?
        .into_iter()
        .next()
        .filter(|s| s.entity == kind)
    else {
        return Err(AppError::NotFound(format!(
            "no {kind} with golden ID `{id}`"
        )));
    };
    let history = store.history(&id).await?;
    let notes = record_notes(store, &state).await?;
    let pending = store.pending_reference_list(Some(&id), 1000).await?;
    let value = match kind {
        EntityKind::Customer => store
            .customer_values(Some(&[id.as_str()]))
            .await?
            .into_iter()
            .next(),
        _ => None,
    };
    Ok(RecordView {
        merged_away: (id != asked).then_some(asked),
        state,
        history,
        notes,
        pending,
        value,
    })
}

/// A golden record, by golden ID or `SOURCE:KEY`, with each field's source and its versions.
pub async fn show(
    context: &Context,
    entity_name: &str,
    id: &str,
    format: Format,
) -> Result<Outcome, AppError> {
    let kind = entity(entity_name)?;
    let store = open_store(&load(context)?).await?;
    let view = golden_record(store.as_ref(), kind, id).await?;
    if let Some(asked) = &view.merged_away {
        crate::errln!("{asked} was merged into {}", view.state.id);
    }
    match format {
        Format::Table => {
            output::print(&cli::golden_view(&view.state, &view.history));
            if kind == EntityKind::Customer {
                output::print(&cli::customer_value_view(view.value.as_ref()));
            }
            if !view.pending.is_empty() {
                output::line("pending references:");
                output::print(&reconcile::refs::pending_table(
                    &view.pending,
                    chrono::Utc::now(),
                ));
            }
            if !view.notes.is_empty() {
                output::line("data-quality notes:");
                output::print(&cli::quality_table(&view.notes));
            }
        }
        Format::Jsonl => output::line(view.to_json().to_string()),
    }
    Ok(Outcome::Done)
}

/// Events a page at a time, so a listing of millions holds one page in memory.
const EVENTS_PAGE: i64 = 1_000;

/// Outbox events in order, after a sequence number, at most `limit`.
pub async fn events(
    context: &Context,
    after: i64,
    limit: i64,
    format: Format,
) -> Result<Outcome, AppError> {
    let store = open_store(&load(context)?).await?;
    let mut after = after;
    let mut left = limit;
    let mut first_page = true;
    while left > 0 && !output::closed() {
        let asked = left.min(EVENTS_PAGE);
        let page = store.events(after, asked).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        left -= page.len() as i64;
        match format {
            Format::Table => {
                let table = cli::events_table(&page);
                // One header for the whole listing.
                let rows = if first_page {
                    table.as_str()
                } else {
                    table.split_once('\n').map_or("", |(_, rows)| rows)
                };
                output::print(rows);
            }
            Format::Jsonl => output::listing(format, &page, cli::events_table),
        }
        first_page = false;
        if (page.len() as i64) < asked {
            break;
        }
    }
    Ok(Outcome::Done)
}

/// Why a golden record holds the source records it holds.
pub async fn explain(
    context: &Context,
    entity_name: &str,
    id: &str,
    format: Format,
) -> Result<Outcome, AppError> {
    let kind = entity(entity_name)?;
    let store = open_store(&load(context)?).await?;
    let id = golden_id(store.as_ref(), kind, id).await?;
    let explained = reconcile::steward::explain(store.as_ref(), kind, &id).await?;
    let mut notes = Vec::new();
    for state in &store.load_goldens(&[id.as_str()]).await? {
        notes.extend(record_notes(store.as_ref(), state).await?);
    }
    match format {
        Format::Table => {
            output::print(&cli::explanation(&explained));
            if !notes.is_empty() {
                output::line("data-quality notes:");
                output::print(&cli::quality_table(&notes));
            }
        }
        Format::Jsonl => {
            let mut value = serde_json::to_value(&explained).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                object.insert("quality_notes".into(), serde_json::json!(notes));
            }
            output::line(value.to_string());
        }
    }
    Ok(Outcome::Done)
}

/// The data-quality notes of a golden record's source records.
async fn record_notes(
    store: &dyn Audit,
    state: &GoldenState,
) -> Result<Vec<StoredQualityNote>, AppError> {
    let mut notes = Vec::new();
    for contributor in &state.contributors {
        let record = (contributor.source.as_str(), contributor.key.as_str());
        notes.extend(store.quality_notes(Some(record), 100).await?);
    }
    Ok(notes)
}

/// References still waiting for their target, with the source whose key they hold and their age.
pub async fn refs(context: &Context, pending: bool, limit: i64) -> Result<Outcome, AppError> {
    if !pending {
        return Err(AppError::Usage(
            "say which references to list: `concord refs --pending`".into(),
        ));
    }
    let store = open_store(&load(context)?).await?;
    let references = store.pending_reference_list(None, limit).await?;
    output::print(&reconcile::refs::pending_table(
        &references,
        chrono::Utc::now(),
    ));
    Ok(Outcome::Done)
}

/// Data-quality notes, newest first: stored records whose optional value could not be read.
pub async fn quality(context: &Context, limit: i64, format: Format) -> Result<Outcome, AppError> {
    let store = open_store(&load(context)?).await?;
    let notes = store.quality_notes(None, limit).await?;
    output::listing(format, &notes, cli::quality_table);
    Ok(Outcome::Done)
}

/// Quarantined records with their reasons, newest first; those a replay stored only with `all`.
pub async fn quarantine(
    context: &Context,
    all: bool,
    limit: i64,
    format: Format,
) -> Result<Outcome, AppError> {
    let store = open_store(&load(context)?).await?;
    let entries = match all {
        true => store.quarantined_all(limit).await?,
        false => store.quarantined(limit).await?,
    };
    output::listing(format, &entries, cli::quarantine_table);
    Ok(Outcome::Done)
}
