//! `concord value`: one customer value pass (also run after each sync and each source run of
//! `concord run`): figures, tiers and stages of every golden customer, with their events.

use std::fmt::Write;

use chrono::Utc;

use super::{AppError, Context, Outcome, Writes, load, open_store, open_writer, output};
use crate::store::Store;
use crate::store::lock::Locks;
use crate::value::{self, Pass, ValueConfig};

const COMMAND: &str = "value";

/// Values every golden customer as of now under the writer lock and queues the tier and stage
/// events; with `dry_run`, shows what would change, writing nothing and taking no lock.
pub async fn value(context: &Context, dry_run: bool) -> Result<Outcome, AppError> {
    let config = load(context)?;
    let pass = if dry_run {
        let store = open_store(&config).await?;
        value::refresh(store.as_ref(), &config.value, Utc::now(), true).await?
    } else {
        let (store, _lease) = open_writer(&config, context, COMMAND, Writes::Golden).await?;
        value::refresh(store.as_ref(), &config.value, Utc::now(), false).await?
    };
    output::print(&report(&pass, dry_run));
    Ok(Outcome::Done)
}

/// The pass after a sync: takes the write turn on a shared store (on SQLite the sync's store
/// lock covers it) and values every customer as of now.
pub(super) async fn after_sync(
    locks: &Locks,
    store: &dyn Store,
    config: &ValueConfig,
    command: &str,
) -> Result<Pass, AppError> {
    let _turn = locks.write_turn(command).await?;
    Ok(value::refresh(store, config, Utc::now(), false).await?)
}

/// One line for the end of a sync: how many customers, and the events queued.
pub(super) fn summary_line(pass: &Pass) -> String {
    format!(
        "customer value: {} customers ({}); {} tier or stage changes queued as events",
        pass.customers,
        counts(pass),
        pass.events
    )
}

fn counts(pass: &Pass) -> String {
    let tiers = pass
        .tiers
        .iter()
        .map(|(t, n)| format!("{n} {}", t.as_str()));
    let stages = pass
        .stages
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()));
    tiers.chain(stages).collect::<Vec<_>>().join(", ")
}

/// The command's report: the totals, each change of tier or stage, and what was left out.
fn report(pass: &Pass, dry_run: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} customers valued, tiers ranked in {}: {}",
        pass.customers,
        pass.currency.as_deref().unwrap_or("(no revenue)"),
        counts(pass)
    );
    if !pass.changes.is_empty() {
        let _ = writeln!(out, "{:<40} {:<20} {:<22}", "customer", "tier", "stage");
    }
    for change in &pass.changes {
        let ((tier, stage), (tier_after, stage_after)) = (change.before, change.after);
        let arrow = |from: &str, to: &str| match from == to {
            true => to.to_string(),
            false => format!("{from} → {to}"),
        };
        let _ = writeln!(
            out,
            "{:<40} {:<20} {:<22}",
            change.golden_id,
            arrow(tier.as_str(), tier_after.as_str()),
            arrow(stage.as_str(), stage_after.as_str()),
        );
    }
    for note in &pass.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let verb = if dry_run { "would be" } else { "were" };
    let _ = writeln!(
        out,
        "{} values {verb} written, {} events {verb} queued{}",
        pass.values_written,
        pass.events,
        if dry_run {
            " (dry run: nothing written)"
        } else {
            " (`concord publish` sends them)"
        }
    );
    out
}
