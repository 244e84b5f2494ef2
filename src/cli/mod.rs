//! What the command line prints: summaries, golden records, events and quarantine listings, and
//! the progress bar. Kept out of `main.rs` so each view can be tested with plain values.

mod progress;
mod views;

pub use progress::TerminalProgress;
pub use views::{event_line, events_table, golden_view, quarantine_table, summary_table};
