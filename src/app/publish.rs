//! `concord publish` and `concord events replay`: the outbox to the message bus.

use super::{AppError, Context, Outcome, Writes, load, open_writer, output};

use crate::publish::{BusConfig, Relay};
use crate::store::Store;

/// Publishes the events waiting in the outbox, once, in order.
pub async fn publish(context: &Context) -> Result<Outcome, AppError> {
    let config = load(context)?;
    let bus = configured_bus(&config, "events stay in the outbox")?;
    let (store, _lease) = open_writer(&config, context, "publish", Writes::Outbox).await?;
    Ok(outcome(drain_and_report(bus, store.as_ref(), None).await))
}

/// Where a replay starts.
#[derive(Debug, Clone)]
pub enum ReplayFrom {
    /// The first event stored at or after this time.
    Time(chrono::DateTime<chrono::Utc>),
    /// An event ID or a sequence number.
    Event(String),
}

/// Publishes stored events again from a point on, for a consumer that lost its data.
pub async fn replay(context: &Context, from: ReplayFrom) -> Result<Outcome, AppError> {
    let config = load(context)?;
    let bus = configured_bus(&config, "nothing to replay to")?;
    let (store, _lease) = open_writer(&config, context, "events replay", Writes::Outbox).await?;
    let first = match from {
        ReplayFrom::Time(time) => store.first_seq_since(time).await?,
        ReplayFrom::Event(from) => match from.parse::<i64>() {
            Ok(seq) => Some(seq),
            Err(_) => store.event_seq(&from).await?,
        },
    };
    let Some(first) = first else {
        return Err(AppError::Usage(
            "no stored event to replay from there".into(),
        ));
    };
    Ok(outcome(
        drain_and_report(bus, store.as_ref(), Some(first)).await,
    ))
}

/// The events the relay set aside because the broker refuses them for good.
pub async fn parked(context: &Context, limit: i64) -> Result<Outcome, AppError> {
    let store = super::open_store(&load(context)?).await?;
    output::print(&crate::publish::parked::table(
        &store.parked_events(limit).await?,
    ));
    Ok(Outcome::Done)
}

/// Puts parked events back in line (all of them when `ids` is empty) for the next publish.
pub async fn retry(context: &Context, ids: &[String]) -> Result<Outcome, AppError> {
    let config = load(context)?;
    let (store, _lease) = open_writer(&config, context, "events retry", Writes::Outbox).await?;
    let (done, unknown) = crate::publish::parked::retry(store.as_ref(), ids).await?;
    output::line(format!(
        "{} parked events put back in line for the next publish",
        done.len()
    ));
    for id in &unknown {
        crate::errln!("no parked event {id}");
    }
    Ok(if unknown.is_empty() {
        Outcome::Done
    } else {
        Outcome::Incomplete
    })
}

fn outcome(published: bool) -> Outcome {
    if published {
        Outcome::Done
    } else {
        Outcome::Incomplete
    }
}

fn configured_bus<'a>(
    config: &'a crate::config::Config,
    otherwise: &str,
) -> Result<&'a BusConfig, AppError> {
    config
        .bus
        .as_ref()
        .filter(|bus| bus.is_enabled())
        .ok_or_else(|| {
            AppError::Usage(format!(
                "no message bus configured (`bus: {{ url: ... }}` in the config): {otherwise}"
            ))
        })
}

/// Drains the outbox (then replays from `replay_from`, when given) and says what happened;
/// false when events are left in the outbox.
pub(super) async fn drain_and_report(
    bus: &BusConfig,
    store: &dyn Store,
    replay_from: Option<i64>,
) -> bool {
    let mut relay = Relay::new(store, bus);
    let result = match replay_from {
        Some(seq) => relay.replay(seq).await.map(|_| ()),
        None => relay.drain().await.map(|_| ()),
    };
    let report = relay.report();
    output::line(format!(
        "bus {} exchange `{}`: {} events published and confirmed ({} attempts retried, {} returned unroutable, {} refused, {} parked: `concord events parked`)",
        crate::url::shown(&bus.url),
        bus.exchange,
        report.published,
        report.retries,
        report.returned,
        report.nacked,
        report.parked
    ));
    match result {
        Ok(()) => true,
        Err(error) => {
            let waiting = store
                .counts()
                .await
                .map(|c| c.unpublished_events.to_string())
                .unwrap_or_else(|_| "the".into());
            crate::errln!(
                "error: publishing stopped: {error}\n{waiting} events stay in the outbox; `concord publish` sends them once the bus takes them"
            );
            false
        }
    }
}
