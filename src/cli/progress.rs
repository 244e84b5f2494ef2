//! A progress bar per source while a sync runs on a terminal.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::sync::{Progress, SourceSummary};

/// Draws one spinner line per source on stderr with running counters.
pub struct TerminalProgress {
    bar: Mutex<Option<(String, ProgressBar)>>,
}

impl TerminalProgress {
    pub fn new() -> TerminalProgress {
        TerminalProgress {
            bar: Mutex::new(None),
        }
    }

    fn message(summary: &SourceSummary) -> String {
        format!(
            "{}: {} read, {} mapped, {} quarantined, {} created, {} updated, {} unchanged",
            summary.source,
            summary.read,
            summary.mapped,
            summary.quarantined,
            summary.reconcile.created,
            summary.reconcile.updated,
            summary.reconcile.unchanged
        )
    }
}

impl Default for TerminalProgress {
    fn default() -> Self {
        TerminalProgress::new()
    }
}

impl Progress for TerminalProgress {
    fn update(&self, summary: &SourceSummary) {
        let Ok(mut slot) = self.bar.lock() else {
            return;
        };
        let bar = match slot.as_ref() {
            Some((source, bar)) if *source == summary.source => bar.clone(),
            _ => {
                let bar = ProgressBar::new_spinner();
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {elapsed_precise} {msg} ({per_sec})")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                *slot = Some((summary.source.clone(), bar.clone()));
                bar
            }
        };
        bar.set_position(summary.read);
        bar.set_message(Self::message(summary));
    }

    /// The summary table follows the run, so the bar just goes away.
    fn finish(&self, _: &SourceSummary) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some((_, bar)) = slot.take()
        {
            bar.finish_and_clear();
        }
    }
}
