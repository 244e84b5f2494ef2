//! The service's Prometheus metrics: what each run, the relay and the store report, recorded
//! through the `metrics` facade and rendered by its Prometheus exporter.

use std::time::Duration;

use chrono::{DateTime, Utc};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::publish::Report;
use crate::store::Counts;
use crate::sync::SourceSummary;

/// Sync durations span a second to an hour.
const DURATION_BUCKETS: &[f64] = &[
    0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// Installs the process's recorder; the handle renders the text `/metrics` serves. `None` when
/// a recorder is already installed (a second service in one process, as in tests).
pub fn install() -> Option<PrometheusHandle> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full("concord_sync_duration_seconds".into()),
            DURATION_BUCKETS,
        )
        .ok()?
        .install_recorder()
        .ok()
}

/// A source run ended without failing (it may still have quarantined records).
pub fn run_succeeded(summary: &SourceSummary) {
    let source = summary.source.clone();
    counter!("concord_records_read_total", "source" => source.clone()).increment(summary.read);
    counter!("concord_records_mapped_total", "source" => source.clone()).increment(summary.mapped);
    counter!("concord_records_quarantined_total", "source" => source.clone())
        .increment(summary.quarantined);
    let stored = summary.reconcile.created + summary.reconcile.updated + summary.reconcile.deleted;
    counter!("concord_records_stored_total", "source" => source.clone()).increment(stored);
    counter!("concord_records_unchanged_total", "source" => source.clone())
        .increment(summary.reconcile.unchanged);
    counter!("concord_events_queued_total", "source" => source.clone())
        .increment(summary.reconcile.events);
    counter!("concord_runs_total", "source" => source.clone(), "result" => "succeeded")
        .increment(1);
    histogram!("concord_sync_duration_seconds", "source" => source.clone())
        .record(summary.elapsed.as_secs_f64());
    gauge!("concord_last_success_timestamp_seconds", "source" => source)
        .set(Utc::now().timestamp() as f64);
}

/// A source run failed; the source backs off.
pub fn run_failed(source: &str, elapsed: Duration) {
    counter!("concord_runs_total", "source" => source.to_string(), "result" => "failed")
        .increment(1);
    histogram!("concord_sync_duration_seconds", "source" => source.to_string())
        .record(elapsed.as_secs_f64());
}

/// Whether this instance holds a source (on a shared store, one instance at a time does).
pub fn source_held(source: &str, held: bool) {
    gauge!("concord_source_held", "source" => source.to_string()).set(f64::from(u8::from(held)));
}

/// What one relay drain did, and whether the broker took the connection.
pub fn relay_drained(report: &Report, connected: bool) {
    counter!("concord_events_published_total").increment(report.published);
    counter!("concord_events_returned_total").increment(report.returned);
    counter!("concord_events_refused_total").increment(report.nacked);
    counter!("concord_events_retried_total").increment(report.retries);
    gauge!("concord_broker_connected").set(f64::from(u8::from(connected)));
}

/// The store's gauges, read when `/metrics` is scraped.
pub fn store_counts(counts: &Counts, now: DateTime<Utc>) {
    gauge!("concord_outbox_depth").set(counts.unpublished_events as f64);
    let age = counts
        .oldest_unpublished_at
        .as_deref()
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .map(|at| (now - at.with_timezone(&Utc)).num_milliseconds().max(0) as f64 / 1000.0)
        .unwrap_or(0.0);
    gauge!("concord_outbox_oldest_age_seconds").set(age);
    gauge!("concord_review_queue_size").set(counts.open_reviews as f64);
    gauge!("concord_quarantined_records").set(counts.quarantined as f64);
    for (entity, n) in &counts.golden {
        gauge!("concord_golden_records", "entity" => entity.clone()).set(*n as f64);
    }
}
