//! The service's customer value passes: one task, woken after source runs, so passes never
//! overlap in a process and a burst of runs costs one pass, not one each.

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::store::Store;
use crate::sync::Pipeline;

/// Runs a value pass whenever a source run ended, then wakes the relay if it queued events.
pub(super) struct ValueRunner {
    pub pipeline: Arc<Pipeline>,
    pub store: Arc<dyn Store>,
    /// Notified by the source runners after each run.
    pub runs: Arc<Notify>,
    /// Notifies the relay.
    pub committed: Arc<Notify>,
    pub shutdown: CancellationToken,
}

impl ValueRunner {
    pub(super) async fn run(self) {
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = self.runs.notified() => {}
            }
            // On a shared store the pass waits for the write turn among instances; on SQLite the
            // service's store lock covers it.
            let turn = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                turn = self.pipeline.locks().write_turn("run") => turn,
            };
            let _turn = match turn {
                Ok(turn) => turn,
                Err(error) => {
                    warn!(%error, "customer value pass skipped: no write turn");
                    continue;
                }
            };
            let config = &self.pipeline.config().value;
            match crate::value::refresh(self.store.as_ref(), config, Utc::now(), false).await {
                Ok(pass) => {
                    for note in &pass.notes {
                        warn!("customer value: {note}");
                    }
                    info!(
                        customers = pass.customers,
                        values_written = pass.values_written,
                        events = pass.events,
                        "customer value pass"
                    );
                    if pass.events > 0 {
                        self.committed.notify_one();
                    }
                }
                Err(error) => {
                    warn!(%error, "customer value pass failed; tried again after the next run")
                }
            }
        }
    }
}
