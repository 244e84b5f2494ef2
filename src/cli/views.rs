//! Plain-text views of store contents.

use std::fmt::Write;

use serde_json::Value;

use crate::store::{GoldenState, StoredEvent, StoredQuarantine, VersionRow};
use crate::sync::SourceSummary;

/// The end-of-sync summary: one row per source.
pub fn summary_table(summaries: &[SourceSummary]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14} {:>9} {:>9} {:>9} {:>11} {:>9} {:>9} {:>9} {:>9} {:>8} {:>9}",
        "source",
        "read",
        "mapped",
        "skipped",
        "quarantined",
        "unchanged",
        "created",
        "updated",
        "deleted",
        "events",
        "seconds"
    );
    for s in summaries {
        let _ = writeln!(
            out,
            "{:<14} {:>9} {:>9} {:>9} {:>11} {:>9} {:>9} {:>9} {:>9} {:>8} {:>9.2}",
            s.source,
            s.read,
            s.mapped,
            s.unmatched,
            s.quarantined,
            s.reconcile.unchanged,
            s.reconcile.created,
            s.reconcile.updated,
            s.reconcile.deleted,
            s.reconcile.events,
            s.elapsed.as_secs_f64()
        );
        for error in &s.errors {
            let _ = writeln!(out, "  error: {error}");
        }
        for warning in &s.warnings {
            let _ = writeln!(out, "  warning: {warning}");
        }
        if s.reconcile.unresolved_refs > 0 {
            let _ = writeln!(
                out,
                "  {} references point at records not yet received",
                s.reconcile.unresolved_refs
            );
        }
    }
    out
}

pub(super) fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A golden record with each field's source, its source records and its history.
pub fn golden_view(state: &GoldenState, history: &[VersionRow]) -> String {
    let mut out = String::new();
    let status = if state.deleted { "deleted" } else { "live" };
    let _ = writeln!(
        out,
        "{} {}  version {}  {status}",
        state.entity, state.id, state.version
    );
    let _ = writeln!(out);
    let width = state.record.keys().map(String::len).max().unwrap_or(0);
    for (field, value) in &state.record {
        let source = state
            .lineage
            .get(field)
            .map(|s| match s.changed_at {
                Some(at) => format!("{}:{} ({})", s.source, s.key, at.to_rfc3339()),
                None => format!("{}:{}", s.source, s.key),
            })
            .unwrap_or_default();
        let _ = writeln!(out, "  {field:<width$}  {:<40}  ← {source}", scalar(value));
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "source records:");
    for c in &state.contributors {
        let deleted = if c.deleted {
            "  (deleted at source)"
        } else {
            ""
        };
        let _ = writeln!(out, "  {}:{}  from {}{deleted}", c.source, c.key, c.origin);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "history:");
    for v in history {
        let _ = writeln!(
            out,
            "  v{}  {}  run {}  changed: {}",
            v.version,
            v.at.to_rfc3339(),
            v.run_id,
            v.changed.join(", ")
        );
    }
    out
}

/// Outbox events as a table.
pub fn events_table(events: &[StoredEvent]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>6}  {:<27}  {:<22}  {:<36}  {:>3}  {:<9}  changed",
        "seq", "time", "routing key", "golden id", "ver", "published"
    );
    for e in events {
        let routing = format!("{}.{}", e.event.entity, e.event.operation.as_str());
        let published = if e.published_at.is_some() {
            "yes"
        } else {
            "no"
        };
        let _ = writeln!(
            out,
            "{:>6}  {:<27}  {:<22}  {:<36}  {:>3}  {:<9}  {}",
            e.seq,
            e.event
                .at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            routing,
            e.event.golden_id,
            e.event.version,
            published,
            e.event.changed.join(",")
        );
    }
    out
}

/// One event as one line of JSON.
pub fn event_line(event: &StoredEvent) -> String {
    serde_json::to_string(event).unwrap_or_default()
}

/// Data-quality notes: stored records with an optional value left empty, and why.
pub fn quality_table(notes: &[crate::store::StoredQualityNote]) -> String {
    let mut out = String::new();
    for note in notes {
        let _ = writeln!(
            out,
            "{}  source {}  key {}  field {}  at {}",
            note.at.to_rfc3339(),
            note.entry.source,
            note.entry.key,
            note.entry.field,
            note.entry.origin
        );
        let _ = writeln!(out, "    {}", note.entry.reason);
    }
    out
}

/// Quarantined records with their reasons.
pub fn quarantine_table(entries: &[StoredQuarantine]) -> String {
    let mut out = String::new();
    for q in entries {
        let key = q.entry.key.as_deref().unwrap_or("-");
        let _ = writeln!(
            out,
            "#{}  {}  source {}  key {}  at {}",
            q.id,
            q.at.to_rfc3339(),
            q.entry.source,
            key,
            q.entry.origin
        );
        let _ = writeln!(out, "    reason: {}", q.entry.reason);
        if q.times_seen > 1 {
            let _ = writeln!(
                out,
                "    seen in {} runs, last in run {}",
                q.times_seen, q.run_id
            );
        }
        if let Some(mapping) = &q.entry.mapping {
            let _ = writeln!(out, "    mapping: {mapping}");
        }
        if let Some(resolved) = q.resolved_at {
            let _ = writeln!(
                out,
                "    resolved: replayed and stored at {}",
                resolved.to_rfc3339()
            );
        }
    }
    out
}

/// A customer's value: tier, stage and the figures they come from, for `concord show customer`.
pub fn customer_value_view(value: Option<&crate::value::CustomerValue>) -> String {
    let mut out = String::new();
    let Some(value) = value else {
        let _ = writeln!(out, "value: not computed yet (`concord value`)");
        return out;
    };
    let per_currency = |amounts: &std::collections::BTreeMap<String, rust_decimal::Decimal>| {
        let parts: Vec<String> = amounts.iter().map(|(c, a)| format!("{a} {c}")).collect();
        match parts.is_empty() {
            true => "-".to_string(),
            false => parts.join(", "),
        }
    };
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or("-".into());
    let _ = writeln!(out, "value:");
    let _ = writeln!(out, "  tier                 {}", value.tier.as_str());
    let _ = writeln!(out, "  stage                {}", value.stage.as_str());
    let _ = writeln!(out, "  orders               {}", value.order_count);
    let _ = writeln!(out, "  first order          {}", date(value.first_order));
    let _ = writeln!(out, "  last order           {}", date(value.last_order));
    let _ = writeln!(
        out,
        "  revenue              {}",
        per_currency(&value.revenue)
    );
    let _ = writeln!(
        out,
        "  average order value  {}",
        per_currency(&value.average_order_value)
    );
    out
}
