//! Views of matching for stewards: review items and explanations, with the evidence of each
//! comparison, so a steward sees why two records were (or were not) merged.

use std::fmt::Write;

use serde_json::Value;

use crate::reconcile::steward::Explanation;
use crate::store::ReviewItem;

use super::views::scalar;

/// Review items as a list, each with its evidence.
pub fn review_list(items: &[ReviewItem]) -> String {
    let mut out = String::new();
    if items.is_empty() {
        let _ = writeln!(out, "no review items");
    }
    for item in items {
        let _ = writeln!(
            out,
            "#{}  {}  {} ↔ {}  rule {}  score {:.2}  [{}]  raised by {}:{}",
            item.id,
            item.entity,
            item.left_id,
            item.right_id,
            item.rule,
            item.score,
            item.status.as_str(),
            item.source,
            item.key
        );
        out.push_str(&evidence_lines(&item.evidence, "    "));
    }
    out
}

/// The comparisons of a scored evidence object, one per line; other evidence as JSON.
pub fn evidence_lines(evidence: &Value, indent: &str) -> String {
    let mut out = String::new();
    let Some(comparisons) = evidence.get("comparisons").and_then(Value::as_array) else {
        let _ = writeln!(out, "{indent}{evidence}");
        return out;
    };
    for c in comparisons {
        let text = |name: &str| c.get(name).map(scalar).unwrap_or_default();
        let similarity = c
            .get("similarity")
            .and_then(Value::as_f64)
            .map(|s| format!(" ({s:.2})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{indent}{:<16} {:<8} {:>+7.2}  {} | {}{similarity}",
            text("comparison"),
            text("level"),
            c.get("weight").and_then(Value::as_f64).unwrap_or_default(),
            text("left"),
            text("right"),
        );
    }
    let number = |name: &str| {
        evidence
            .get(name)
            .and_then(Value::as_f64)
            .unwrap_or_default()
    };
    let _ = writeln!(
        out,
        "{indent}total {:.2}  (match ≥ {:.2}, review ≥ {:.2}){}",
        number("total"),
        number("match_threshold"),
        number("review_threshold"),
        evidence
            .get("vetoed_by")
            .and_then(Value::as_str)
            .map(|v| format!("  vetoed by {v}"))
            .unwrap_or_default()
    );
    out
}

/// A golden record's explanation: sources, merges, decisions and reviews.
pub fn explanation(e: &Explanation) -> String {
    let mut out = String::new();
    if let Some(asked) = &e.asked {
        let _ = writeln!(out, "{asked} was merged into {}", e.id);
    }
    let _ = writeln!(out, "{}", e.id);
    let _ = writeln!(out, "source records:");
    for (source, key) in &e.sources {
        let _ = writeln!(out, "  {source}:{key}");
    }
    if !e.merged.is_empty() {
        let _ = writeln!(out, "merged into it: {}", e.merged.join(", "));
    }
    let _ = writeln!(out, "decisions:");
    if e.decisions.is_empty() {
        let _ = writeln!(
            out,
            "  none recorded: each source record above was matched by its own key or had no candidate"
        );
    }
    for d in &e.decisions {
        let _ = writeln!(
            out,
            "  {}  {}:{}  {}  → {}{}  rule {}{}",
            d.at.to_rfc3339(),
            d.source,
            d.key,
            d.decision,
            d.golden_id,
            d.candidate_id
                .as_ref()
                .map(|c| format!(" (compared with {c})"))
                .unwrap_or_default(),
            d.rule,
            d.score
                .map(|s| format!("  score {s:.2}"))
                .unwrap_or_default(),
        );
        out.push_str(&evidence_lines(&d.evidence, "      "));
    }
    if !e.reviews.is_empty() {
        let _ = writeln!(out, "review items:");
        out.push_str(&review_list(&e.reviews));
    }
    out
}
