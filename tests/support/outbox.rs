//! Writes hand-made change events into a store the way reconciliation does: each event with the
//! golden version it announces (the outbox row carries no payload of its own).

use concord::store::{Batch, Event, EventWrite, GoldenWrite, Operation};

/// A batch holding `events` and their golden versions.
pub fn batch_of(events: &[Event]) -> Batch {
    let mut batch = Batch::default();
    for event in events {
        batch.goldens.push(GoldenWrite {
            id: event.golden_id.clone(),
            entity: event.entity,
            version: event.version,
            record: serde_json::from_str(event.record.get())
                .expect("an event record is a JSON object"),
            lineage: event.sources.clone(),
            deleted: event.operation == Operation::Deleted,
            changed: event.changed.clone(),
        });
        batch.events.push(EventWrite {
            event_id: event.event_id.clone(),
            entity: event.entity,
            operation: event.operation,
            golden_id: event.golden_id.clone(),
            version: event.version,
            merged: event.merged.clone(),
            at: event.at,
        });
    }
    batch
}
