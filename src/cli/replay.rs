//! What `concord quarantine replay` prints: each entry's fate, then a summary per source.

use std::fmt::Write as _;

use crate::sync::{ReplaySummary, Replayed};

/// Each replayed entry (stored or still failing, and why), then one summary line per source.
pub fn replay_report(summaries: &[ReplaySummary], dry_run: bool) -> String {
    let mut out = String::new();
    let stored = if dry_run { "would be stored" } else { "stored" };
    for summary in summaries {
        for entry in &summary.entries {
            let _ = match &entry.result {
                Replayed::Stored { entity, key } => writeln!(
                    out,
                    "#{}  {}  {stored} as {entity} `{key}`",
                    entry.id, entry.origin
                ),
                Replayed::Failing { reason } => writeln!(
                    out,
                    "#{}  {}  still failing: {reason}",
                    entry.id, entry.origin
                ),
            };
        }
    }
    for s in summaries {
        let _ = writeln!(
            out,
            "{}: replayed {}, {stored} {} ({} created, {} updated, {} unchanged), still failing {}",
            s.source,
            s.replayed,
            s.stored,
            s.reconcile.created,
            s.reconcile.updated,
            s.reconcile.unchanged,
            s.still_failing
        );
    }
    if dry_run {
        out.push_str("dry run: nothing was written\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EntityKind;
    use crate::sync::ReplayedEntry;

    #[test]
    fn the_report_names_each_entry_and_sums_up_per_source() {
        let mut summary = ReplaySummary {
            source: "drop".into(),
            replayed: 2,
            stored: 1,
            still_failing: 1,
            ..ReplaySummary::default()
        };
        summary.reconcile.created = 1;
        summary.entries = vec![
            ReplayedEntry {
                id: 4,
                origin: "c.csv:3".into(),
                result: Replayed::Stored {
                    entity: EntityKind::Customer,
                    key: "K3".into(),
                },
            },
            ReplayedEntry {
                id: 5,
                origin: "c.csv:4".into(),
                result: Replayed::Failing {
                    reason: "field `name` is required".into(),
                },
            },
        ];
        let text = replay_report(&[summary], true);
        assert!(
            text.contains("#4  c.csv:3  would be stored as customer `K3`"),
            "{text}"
        );
        assert!(
            text.contains("#5  c.csv:4  still failing: field `name` is required"),
            "{text}"
        );
        assert!(
            text.contains("drop: replayed 2, would be stored 1 (1 created, 0 updated, 0 unchanged), still failing 1"),
            "{text}"
        );
        assert!(text.ends_with("dry run: nothing was written\n"), "{text}");
    }
}
