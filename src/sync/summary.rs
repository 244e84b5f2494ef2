//! What a sync run did, per source, and how progress is shown while it runs.

use std::time::Duration;

use serde::Serialize;

use crate::reconcile::ReconcileStats;

/// Counters of one source's run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SourceSummary {
    pub source: String,
    pub run_id: i64,
    /// Raw records read.
    pub read: u64,
    /// Records a mapping turned into canonical records.
    pub mapped: u64,
    /// Records no mapping selected (counted, not stored).
    pub unmatched: u64,
    /// Records, or unreadable parts of files, put in quarantine.
    pub quarantined: u64,
    #[serde(flatten)]
    pub reconcile: ReconcileStats,
    /// Read errors (a malformed file, an unreadable line), each naming where.
    pub errors: Vec<String>,
    /// Records stored with an optional value left empty because it could not be read (a bad
    /// date, a lookup miss); the run's warnings name the fields.
    pub quality_notes: u64,
    /// Said once per run: mapping paths that matched nothing in any record, each naming the
    /// mapping, the field and the path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(serialize_with = "as_millis")]
    pub elapsed: Duration,
}

impl SourceSummary {
    pub fn new(source: &str, run_id: i64) -> SourceSummary {
        SourceSummary {
            source: source.to_string(),
            run_id,
            ..SourceSummary::default()
        }
    }
}

fn as_millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(duration.as_millis() as u64)
}

/// Receives a source's counters after every batch (a progress bar on a terminal, nothing in tests
/// and under a scheduler).
pub trait Progress: Send + Sync {
    fn update(&self, summary: &SourceSummary);
    fn finish(&self, summary: &SourceSummary);
}

/// Shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&self, _: &SourceSummary) {}
    fn finish(&self, _: &SourceSummary) {}
}
