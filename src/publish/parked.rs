//! `concord events parked` and `concord events retry`: the events the relay set aside because the
//! broker refuses them for good, and putting them back in line once the cause is fixed (a queue
//! bound to their routing key, a larger `max_message_size`).

use std::fmt::Write as _;

use crate::store::{Outbox, ParkedEvent, StoreError};

/// The parked events as a table, oldest first.
pub fn table(events: &[ParkedEvent]) -> String {
    if events.is_empty() {
        return "no parked events\n".to_string();
    }
    let mut out = String::new();
    for event in events {
        let _ = writeln!(
            out,
            "#{} {} {} {} v{} parked {}\n    {}",
            event.seq,
            event.event_id,
            event.entity,
            event.golden_id,
            event.version,
            event.parked_at.format("%Y-%m-%d %H:%M:%S"),
            event.reason
        );
    }
    out
}

/// Puts the parked events named by `ids` (all parked events when `ids` is empty) back in line for
/// the next publish; returns the IDs put back and the ones that named no parked event.
pub async fn retry(
    store: &dyn Outbox,
    ids: &[String],
) -> Result<(Vec<String>, Vec<String>), StoreError> {
    let ids: Vec<String> = if ids.is_empty() {
        store
            .parked_events(i64::MAX)
            .await?
            .into_iter()
            .map(|e| e.event_id)
            .collect()
    } else {
        ids.to_vec()
    };
    let (mut done, mut unknown) = (Vec::new(), Vec::new());
    for id in ids {
        if store.unpark_event(&id).await? {
            done.push(id);
        } else {
            unknown.push(id);
        }
    }
    Ok((done, unknown))
}
