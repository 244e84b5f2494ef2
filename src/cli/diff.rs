//! What `concord preview --diff` prints: a summary line, then each golden record the sync would
//! write with its fields before and after, then the records that would be quarantined.

use std::fmt::Write as _;

use serde_json::Value;

use crate::model::Operation;
use crate::sync::{ChangePreview, GoldenChange};

/// The whole preview as text.
pub fn change_preview(source: &str, preview: &ChangePreview) -> String {
    let stats = &preview.stats;
    let mut out = String::new();
    let read = if preview.truncated {
        format!("the first {} records", preview.read)
    } else {
        format!("{} records", preview.read)
    };
    let _ = writeln!(
        out,
        "source `{source}`, {read}, against the store (nothing is written):\n\
         {} unchanged, {} created, {} updated, {} matched to existing records, {} merged, \
         {} deleted, {} to review, {} quarantined, {} events",
        stats.unchanged,
        stats.created,
        stats.updated,
        stats.matched,
        stats.merged,
        stats.deleted,
        stats.review,
        preview.quarantine.len(),
        stats.events,
    );
    for change in &preview.changes {
        out.push('\n');
        golden_change(&mut out, change);
    }
    if !preview.quarantine.is_empty() {
        out.push_str("\nwould be quarantined:\n");
        for entry in &preview.quarantine {
            let _ = writeln!(out, "  {}  {}", entry.origin, entry.reason);
        }
    }
    out
}

fn golden_change(out: &mut String, change: &GoldenChange) {
    let mark = match (change.before_version, change.deleted) {
        (_, true) => '-',
        (None, false) => '+',
        (Some(_), false) => '~',
    };
    let versions = match change.before_version {
        Some(before) => format!("v{before} → v{}", change.after_version),
        None => format!("new, v{}", change.after_version),
    };
    let events: Vec<String> = change
        .events
        .iter()
        .map(|op| format!("{}.{}", change.entity.as_str(), op.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "{mark} {} {} ({versions})  {}",
        change.entity.as_str(),
        change.id,
        events.join(", ")
    );
    if change.events.contains(&Operation::Merged) && !change.merged.is_empty() {
        let _ = writeln!(out, "    merges {}", change.merged.join(", "));
    }
    for field in &change.fields {
        let from = field
            .source
            .as_ref()
            .map(|s| format!("   ({}:{})", s.source, s.key))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    {}: {} → {}{from}",
            field.field,
            shown(field.before.as_ref()),
            shown(field.after.as_ref())
        );
    }
}

fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "(empty)".into(),
        Some(value) => value.to_string(),
    }
}
