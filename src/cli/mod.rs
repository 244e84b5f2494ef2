//! What the command line prints: summaries, golden records, events and quarantine listings, and
//! the progress bar. Kept out of `main.rs` so each view can be tested with plain values.

mod diff;
mod progress;
mod replay;
mod steward;
mod views;

pub use diff::change_preview;
pub use progress::TerminalProgress;
pub use replay::replay_report;
pub use steward::{evidence_lines, explanation, review_list};
pub use views::{
    customer_value_view, event_line, events_table, golden_view, quality_table, quarantine_table,
    summary_table,
};
