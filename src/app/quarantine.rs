//! `concord quarantine replay`: the records a mapping refused, run through the current mappings
//! again from their stored payload.

use super::{AppError, Context, Outcome, Writes, load, open_store, open_writer, output};
use crate::cli;
use crate::store::lock::Scope;
use crate::sync::{Pipeline, ReplayOptions};

const COMMAND: &str = "quarantine replay";

/// Replays the open quarantine entries of every source (or `source`) under the writer lock, as
/// `sync` writes; with `dry_run`, reports what would be stored and what still fails, writing
/// nothing and taking no lock. Exits incomplete when entries still fail.
pub async fn quarantine_replay(
    context: &Context,
    source: Option<String>,
    dry_run: bool,
) -> Result<Outcome, AppError> {
    let pipeline = Pipeline::compile(load(context)?)?;
    let config = pipeline.config();
    let options = ReplayOptions {
        source,
        dry_run,
        command: COMMAND.into(),
    };
    if dry_run {
        let store = open_store(config).await?;
        let summaries = pipeline.replay_quarantine(store.as_ref(), &options).await?;
        output::print(&cli::replay_report(&summaries, true));
        return Ok(Outcome::Done);
    }
    let (store, _lease) = open_writer(config, context, COMMAND, Writes::Sources).await?;
    let selection = crate::sync::SyncOptions {
        source: options.source.clone(),
        ..crate::sync::SyncOptions::default()
    };
    // On a shared store each source is held while its entries are replayed, as by `sync`.
    let mut _source_leases = Vec::new();
    for name in pipeline.selected(&selection)? {
        _source_leases.push(
            pipeline
                .locks()
                .acquire(Scope::Source(&name), COMMAND, context.wait)
                .await?,
        );
    }
    let summaries = pipeline.replay_quarantine(store.as_ref(), &options).await?;
    output::print(&cli::replay_report(&summaries, false));
    let counts = store.counts().await?;
    output::line(format!(
        "{} events waiting in the outbox (`concord publish` sends them)",
        counts.unpublished_events
    ));
    Ok(outcome(&summaries))
}

/// Incomplete while entries still fail: a script sees that the quarantine is not empty yet.
fn outcome(summaries: &[crate::sync::ReplaySummary]) -> Outcome {
    match summaries.iter().any(|s| s.still_failing > 0) {
        true => Outcome::Incomplete,
        false => Outcome::Done,
    }
}
