//! Telemetry: one function per event, so every place that reports an event logs it the same way
//! (fields first, then a short sentence) and the daemon's metrics can hook in at one spot.

use std::time::Duration;

use tracing::{info, warn};

/// A sync run of one source started.
pub fn run_started(source: &str, run_id: i64, full: bool, resumed: bool) {
    info!(source, run_id, full, resumed, "sync run started");
}

/// A batch was committed (records, checkpoint and events in one transaction).
pub fn batch_committed(source: &str, records: usize, events: usize, elapsed: Duration) {
    info!(
        source,
        records,
        events,
        elapsed_ms = elapsed.as_millis() as u64,
        "batch committed"
    );
}

/// A record could not be mapped and went to quarantine.
pub fn record_quarantined(source: &str, origin: &str, key: Option<&str>, reason: &str) {
    warn!(source, origin, key, reason, "record quarantined");
}

/// A source could not be read (a file, or the rest of a file); the rest of the source goes on.
pub fn source_error(source: &str, error: &str) {
    warn!(source, error, "source read error");
}

/// A stored cursor was set aside because the source's mappings changed since it was written.
pub fn cursor_reset(source: &str) {
    info!(
        source,
        "mappings changed since the last run: reading the source in full"
    );
}

/// A sync run of one source ended.
pub fn run_finished(
    source: &str,
    run_id: i64,
    read: u64,
    events: u64,
    failed: bool,
    elapsed: Duration,
) {
    info!(
        source,
        run_id,
        read,
        events,
        failed,
        elapsed_ms = elapsed.as_millis() as u64,
        "sync run finished"
    );
}

/// The log filter: `CONCORD_LOG` (an `EnvFilter` directive such as `info` or `concord=debug`),
/// `warn` when unset. lapin's own report of a returned message is switched off whatever the
/// directive: it logs the whole message, customer data included, at WARN; the relay logs the event
/// ID and routing key instead ([`event_returned`]).
pub fn log_filter() -> tracing_subscriber::EnvFilter {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CONCORD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    match "lapin::returned_messages=off".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

/// Where log lines go: stderr, every secret masked ([`crate::redact`]).
pub fn log_writer() -> crate::redact::RedactingMakeWriter<fn() -> std::io::Stderr> {
    crate::redact::RedactingMakeWriter::new(std::io::stderr as fn() -> std::io::Stderr)
}

/// The broker returned or refused an event: only its ID and routing key are logged, never its
/// body (customer data).
pub fn event_returned(event_id: &str, routing_key: &str, reason: &str) {
    warn!(event_id, routing_key, reason, "event not delivered");
}

/// An event the broker refuses for good was parked; the relay goes on with the next ones.
pub fn event_parked(seq: i64, event_id: &str, routing_key: &str, reason: &str) {
    warn!(
        seq,
        event_id, routing_key, reason, "event parked: `concord events retry ID` sends it again"
    );
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    #[test]
    fn a_returned_message_is_logged_by_id_and_routing_key_never_by_body() {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(super::log_filter())
            .with_writer(crate::redact::RedactingMakeWriter::new(captured.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            // What lapin 4 logs for every returned message: the whole message, body included.
            tracing::warn!(
                target: "lapin::returned_messages",
                message = "BasicReturnMessage { delivery: Delivery { data: [123, 34, 110, 97, 109, 101] } }",
                "Server returned us a message"
            );
            super::event_returned("0190a1b2-c3d4", "customer.deleted", "unroutable");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("Server returned us a message"), "{text}");
        assert!(!text.contains("Delivery"), "{text}");
        assert!(
            text.contains("0190a1b2-c3d4") && text.contains("customer.deleted"),
            "{text}"
        );
    }
}
