//! `concord sync`: one run of every source (or one), then the outbox to the bus.

use std::io::IsTerminal;

use super::{AppError, Context, Outcome, Writes, load, open_writer, output};
use crate::cli;
use crate::publish::BusConfig;
use crate::store::lock::Scope;
use crate::sync::{NoProgress, Pipeline, Progress, SyncOptions};

/// Publish retries after a sync (about a second in all); `concord publish` uses the configured
/// count.
const SYNC_PUBLISH_RETRIES: usize = 3;

/// Runs every selected source once under the store's writer lock, prints the summary and
/// publishes what the run queued. The summary is printed after the commits: a reader of stdout
/// that has gone away changes nothing that is stored or published.
pub async fn sync(context: &Context, options: SyncOptions) -> Result<Outcome, AppError> {
    let pipeline = Pipeline::compile(load(context)?)?;
    let config = pipeline.config();
    let (store, _lease) = open_writer(config, context, "sync", Writes::Sources).await?;
    // On a shared store each source is held for the run; a daemon holding one refuses it.
    let mut _source_leases = Vec::new();
    for name in pipeline.selected(&options)? {
        _source_leases.push(
            pipeline
                .locks()
                .acquire(Scope::Source(&name), "sync", context.wait)
                .await?,
        );
    }
    let progress: Box<dyn Progress> = if std::io::stderr().is_terminal() {
        Box::new(cli::TerminalProgress::new())
    } else {
        Box::new(NoProgress)
    };
    let summaries = pipeline
        .sync(store.as_ref(), &options, progress.as_ref())
        .await?;
    // The records are stored whatever becomes of the value pass: their summary comes first.
    let pass = super::value::after_sync(
        pipeline.locks(),
        store.as_ref(),
        &config.value,
        &options.command,
    )
    .await;
    output::print(&cli::summary_table(&summaries));
    let pass = pass?;
    output::line(super::value::summary_line(&pass));
    for note in &pass.notes {
        output::line(format!("  note: {note}"));
    }
    let counts = store.counts().await?;
    let golden: Vec<String> = counts
        .golden
        .iter()
        .map(|(e, n)| format!("{n} {e}"))
        .collect();
    output::line(format!(
        "store: {}; {} events waiting in the outbox",
        golden.join(", "),
        counts.unpublished_events
    ));
    let published = match config.bus.as_ref().filter(|bus| bus.is_enabled()) {
        Some(bus) => {
            // A one-shot sync does not wait out a long broker outage: a few quick retries, then
            // the events stay in the outbox for `concord publish`.
            let bus = BusConfig {
                max_retries: bus.max_retries.min(SYNC_PUBLISH_RETRIES),
                ..bus.clone()
            };
            super::publish::drain_and_report(&bus, store.as_ref(), None).await
        }
        None => {
            output::line(
                "publishing to a message bus is not configured: events stay in the outbox (`concord events`)",
            );
            true
        }
    };
    let failed = summaries.iter().any(|s| !s.errors.is_empty()) || !published;
    Ok(if failed {
        Outcome::Incomplete
    } else {
        Outcome::Done
    })
}
