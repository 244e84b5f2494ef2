//! The outbox relay: reads events in `seq` order, publishes them with a window of outstanding
//! confirms, and marks them published in batches as the acks come back.
//!
//! Confirms are settled strictly in publish order, so the first failure found is the earliest
//! event not delivered; the acks of the events after it in the window are still collected and
//! marked, so the next attempt re-sends only what was not delivered (never a duplicate).
//! While a page is being published, the next one is read from the store and encoded on a
//! blocking thread, and the acks of the previous one are marked in the store.
//!
//! Order: a golden record never has two events in flight at once (the second waits for the
//! first's confirm), so when an event is refused, none of its record's later versions can overtake
//! it. Across records, events published after a refused one in the same confirm window may reach
//! consumers before it is published again; `confirm_window: 1` trades throughput for strict order.
//!
//! A returned message is matched to its event by the message ID it carries: lapin attaches it
//! to whichever confirm it resolves next, which under multiple acks is often another event's.
//!
//! Poison events: an event the broker refuses for good — larger than `max_message_size`,
//! returned as unroutable, or closing the channel with 406 PRECONDITION_FAILED — is parked in the
//! store with the reason (`concord events parked`, `concord events retry ID`) and the relay goes
//! on. Only its event ID and routing key are logged, never its body.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::FutureExt;
use lapin::Confirmation;
use lapin::options::BasicPublishOptions;
use serde::Serialize;
use tracing::{info, warn};

use super::PublishError;
use super::cloudevents;
use super::config::BusConfig;
use super::connection::{self, Link};
use super::topology;
use crate::store::{Outbox, StoredEvent};

/// What a drain or replay did; kept up to date even when it stops with an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Events the broker acknowledged.
    pub published: u64,
    /// Publishes the broker returned as unroutable (each is retried, then reported).
    pub returned: u64,
    /// Publishes the broker refused (each is retried).
    pub nacked: u64,
    /// Attempts started again after a failure (each after a backoff delay).
    pub retries: u64,
    /// Events the broker refuses for good, set aside (`concord events parked`).
    pub parked: u64,
}

/// Which events a run publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Events not yet published.
    Pending,
    /// Every stored event, published or not (a replay).
    All,
}

/// Relays a store's outbox to the bus a config names.
pub struct Relay<'a> {
    store: &'a dyn Outbox,
    config: &'a BusConfig,
    report: Report,
    /// Events up to this `seq` are published one at a time (see [`Pass::isolate_through`]).
    isolate_through: i64,
}

/// A published event waiting for its confirm.
struct InFlight {
    seq: i64,
    event_id: String,
    routing_key: String,
    golden_id: String,
    delivery: Delivery,
    /// Published with nothing else in flight until it settled, so a channel closed on it was
    /// closed by it.
    alone: bool,
}

/// One event's way to the broker: its frames written by lapin's I/O thread, then its confirm.
type Delivery = Pin<Box<dyn Future<Output = lapin::Result<Confirmation>> + Send>>;

/// Queues an event's frames on the channel and returns its delivery without waiting for the
/// write. lapin resolves a publish only once its I/O thread has written the frames; awaiting
/// that before the next publish made every event a round trip between two threads. A publish
/// queues its frames when first polled, so polling each delivery once here keeps the frames in
/// publishing order; the write and the confirm are awaited together when the event is settled,
/// under the confirm timeout.
fn deliver(
    channel: &lapin::Channel,
    exchange: &str,
    routing_key: &str,
    options: BasicPublishOptions,
    body: Vec<u8>,
    properties: lapin::BasicProperties,
) -> Delivery {
    let channel = channel.clone();
    let (exchange, routing_key) = (exchange.into(), routing_key.into());
    let mut delivery: Delivery = Box::pin(async move {
        channel
            .basic_publish(exchange, routing_key, options, &body, properties)
            .await?
            .await
    });
    match delivery.as_mut().now_or_never() {
        Some(settled) => Box::pin(std::future::ready(settled)),
        None => delivery,
    }
}

/// Why a pass over the outbox stopped before its end.
struct Interrupted {
    error: PublishError,
    /// The pass got at least one ack, so the backoff starts over.
    progressed: bool,
}

/// The state of one pass on one connection.
struct Pass<'a> {
    config: &'a BusConfig,
    link: &'a Link,
    store: &'a dyn Outbox,
    in_flight: VecDeque<InFlight>,
    /// Events in flight per golden record: a record's next event waits until this is zero.
    busy: HashMap<String, usize>,
    acked: Vec<i64>,
    /// Events the broker returned as unroutable, by event ID, whose own confirm has not been
    /// settled yet. lapin hands a returned message to whichever confirm it resolves next (with a
    /// multiple ack, any of the tags it covers), so a return is matched to its event by the
    /// message ID it carries, never by the confirm it came with.
    returned: HashSet<String>,
    /// The last event settled without a failure: the next pass starts after it.
    after: i64,
    /// When the broker closes the channel on a message it will never take (406), every confirm
    /// in flight fails with that same error, so which event it was is unknown; parking them
    /// all would set aside events that were fine, some already delivered. The events that
    /// were in flight, up to this `seq`, are published again one at a time: the one the channel
    /// then closes on is the one parked.
    isolate_through: i64,
}

impl<'a> Relay<'a> {
    pub fn new(store: &'a dyn Outbox, config: &'a BusConfig) -> Relay<'a> {
        Relay {
            store,
            config,
            report: Report::default(),
            isolate_through: 0,
        }
    }

    /// What the relay has done so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Publishes every event not yet published, in order, until the outbox is empty.
    pub async fn drain(&mut self) -> Result<&Report, PublishError> {
        self.run(Scope::Pending, 0).await?;
        Ok(&self.report)
    }

    /// Publishes again every stored event from `first_seq` on, for a consumer that lost its
    /// data; the outbox is drained first so that no event goes out ahead of an older one.
    pub async fn replay(&mut self, first_seq: i64) -> Result<&Report, PublishError> {
        self.run(Scope::Pending, 0).await?;
        self.run(Scope::All, first_seq.saturating_sub(1)).await?;
        Ok(&self.report)
    }

    async fn run(&mut self, scope: Scope, start_after: i64) -> Result<(), PublishError> {
        let mut after = start_after;
        let mut delays = connection::backoff(self.config.max_retries);
        loop {
            let result = match self.connect().await {
                Ok(link) => {
                    let result = self.pass(&link, scope, &mut after).await;
                    link.close().await;
                    result
                }
                Err(error) => Err(Interrupted {
                    error,
                    progressed: false,
                }),
            };
            let Err(Interrupted { error, progressed }) = result else {
                return Ok(());
            };
            if !error.is_transient() {
                return Err(error);
            }
            if progressed {
                delays = connection::backoff(self.config.max_retries);
            }
            let Some(delay) = delays.next() else {
                return Err(error);
            };
            self.report.retries += 1;
            retrying(&error, delay);
            tokio::time::sleep(delay).await;
        }
    }

    /// Connects and declares the topology within `connect_timeout`: a half-open link or a
    /// broker that accepts the connection and never answers can swallow a request without any
    /// error.
    async fn connect(&self) -> Result<Link, PublishError> {
        let limit = Duration::from_secs(self.config.connect_timeout.max(1));
        let connecting = async {
            let link = connection::open(self.config).await?;
            topology::declare(&link.channel, self.config).await?;
            Ok(link)
        };
        tokio::time::timeout(limit, connecting)
            .await
            .map_err(|_| PublishError::Timeout {
                what: "connecting and declaring the topology".into(),
                seconds: limit.as_secs(),
            })?
    }

    /// One pass on one connection, from `after` to the end of the outbox.
    async fn pass(
        &mut self,
        link: &Link,
        scope: Scope,
        after: &mut i64,
    ) -> Result<(), Interrupted> {
        let settled_before = self.report.published + self.report.parked;
        let mut pass = Pass {
            config: self.config,
            link,
            store: self.store,
            in_flight: VecDeque::new(),
            busy: HashMap::new(),
            acked: Vec::new(),
            returned: HashSet::new(),
            after: *after,
            isolate_through: self.isolate_through,
        };
        let result = pass.run(self.store, scope, &mut self.report).await;
        let marked = pass.mark(self.store).await;
        *after = pass.after;
        // Isolating the refused event is progress too: the next pass parks it.
        let isolating = pass.isolate_through > self.isolate_through;
        self.isolate_through = pass.isolate_through;
        let progressed = isolating || self.report.published + self.report.parked > settled_before;
        match (result, marked) {
            (Err(error), _) | (Ok(()), Err(error)) => Err(Interrupted { error, progressed }),
            (Ok(()), Ok(())) => Ok(()),
        }
    }
}

/// An event encoded and ready to publish.
struct Encoded {
    seq: i64,
    event_id: String,
    golden_id: String,
    message: cloudevents::Message,
}

/// Reads the next page and encodes it off the publishing task.
async fn fetch(
    store: &dyn Outbox,
    config: &BusConfig,
    scope: Scope,
    after: i64,
    limit: i64,
) -> Result<Vec<Encoded>, PublishError> {
    let page: Vec<StoredEvent> = match scope {
        Scope::Pending => store.pending_events(after, limit).await,
        Scope::All => store.events(after, limit).await,
    }?;
    let config = config.clone();
    tokio::task::spawn_blocking(move || {
        page.into_iter()
            .map(|stored| Encoded {
                message: cloudevents::encode(&stored.event, &config),
                seq: stored.seq,
                golden_id: stored.event.golden_id,
                event_id: stored.event.event_id,
            })
            .collect()
    })
    .await
    .map_err(|error| PublishError::Encode(error.to_string()))
}

impl Pass<'_> {
    async fn run(
        &mut self,
        store: &dyn Outbox,
        scope: Scope,
        report: &mut Report,
    ) -> Result<(), PublishError> {
        let page_size = i64::try_from(self.config.confirm_window.max(250) * 2).unwrap_or(2000);
        let mut page = fetch(store, self.config, scope, self.after, page_size).await?;
        while let Some(last) = page.last().map(|e| e.seq) {
            let acked = std::mem::take(&mut self.acked);
            let (next, marked, published) = futures::join!(
                fetch(store, self.config, scope, last, page_size),
                store.mark_published(&acked),
                self.publish_page(page, report)
            );
            if let Err(error) = marked {
                self.acked.extend(acked);
                return Err(error.into());
            }
            published?;
            page = next?;
        }
        while let Some(in_flight) = self.in_flight.pop_front() {
            self.settle_or_stop(in_flight, report).await?;
        }
        Ok(())
    }

    /// Settles one confirm; on a failure, first collects the outcome of every event still in
    /// flight (acks are marked, poison events parked), so the next pass re-sends only those not
    /// delivered.
    async fn settle_or_stop(
        &mut self,
        in_flight: InFlight,
        report: &mut Report,
    ) -> Result<(), PublishError> {
        let Err(error) = self.settle(in_flight, report).await else {
            return Ok(());
        };
        let limit = Duration::from_secs(self.config.confirm_timeout.max(1));
        let rest = async {
            while let Some(next) = self.in_flight.pop_front() {
                // Their failures repeat the first one's cause; it is the one reported.
                let _ = self.settle(next, report).await;
            }
        };
        let _ = tokio::time::timeout(limit, rest).await;
        Err(error)
    }

    /// Sets an event the broker refuses for good aside, with the reason.
    async fn park(
        &mut self,
        seq: i64,
        event_id: &str,
        routing_key: &str,
        reason: &str,
        report: &mut Report,
    ) -> Result<(), PublishError> {
        self.store.park_event(seq, reason).await?;
        crate::telemetry::event_parked(seq, event_id, routing_key, reason);
        report.parked += 1;
        Ok(())
    }

    async fn publish_page(
        &mut self,
        page: Vec<Encoded>,
        report: &mut Report,
    ) -> Result<(), PublishError> {
        let configured_window = self.config.confirm_window.max(1);
        let options = BasicPublishOptions {
            mandatory: true,
            ..BasicPublishOptions::default()
        };
        for Encoded {
            seq,
            event_id,
            golden_id,
            message,
        } in page
        {
            if message.body.len() > self.config.max_message_size {
                let reason = format!(
                    "the message is {} bytes, more than the bus's max_message_size of {} bytes",
                    message.body.len(),
                    self.config.max_message_size
                );
                self.park(seq, &event_id, &message.routing_key, &reason, report)
                    .await?;
                continue;
            }
            let window = if seq <= self.isolate_through {
                1
            } else {
                configured_window
            };
            // An event published alone stays alone until it settles.
            while self.in_flight.len() >= window
                || self.in_flight.back().is_some_and(|last| last.alone)
                || self.busy.contains_key(&golden_id)
            {
                let Some(oldest) = self.in_flight.pop_front() else {
                    break;
                };
                self.settle_or_stop(oldest, report).await?;
            }
            let delivery = deliver(
                &self.link.channel,
                self.config.exchange.as_str(),
                &message.routing_key,
                options,
                message.body,
                message.properties,
            );
            *self.busy.entry(golden_id.clone()).or_default() += 1;
            self.in_flight.push_back(InFlight {
                seq,
                event_id,
                routing_key: message.routing_key,
                golden_id,
                delivery,
                alone: window == 1,
            });
        }
        Ok(())
    }

    /// Waits for the oldest outstanding confirm; an ack moves the pass on, anything else stops it.
    async fn settle(
        &mut self,
        mut in_flight: InFlight,
        report: &mut Report,
    ) -> Result<(), PublishError> {
        let limit = Duration::from_secs(self.config.confirm_timeout.max(1));
        // Under load the oldest confirm has usually arrived already: take it without arming a
        // timer; only a confirm still outstanding waits under the timeout.
        let ready = in_flight.delivery.as_mut().now_or_never();
        let blocked_limit = Duration::from_secs(self.config.blocked_timeout);
        let mut blocked_for = Duration::ZERO;
        let confirmation = loop {
            if let Some(confirmation) = ready {
                break confirmation;
            }
            match tokio::time::timeout(limit, in_flight.delivery.as_mut()).await {
                Ok(confirmation) => break confirmation,
                Err(_) if self.link.is_blocked() && blocked_for < blocked_limit => {
                    blocked_for += limit;
                    info!(
                        event_id = in_flight.event_id,
                        blocked_s = blocked_for.as_secs(),
                        "the broker blocked the connection (resource alarm): waiting"
                    );
                }
                Err(_) if self.link.is_blocked() => {
                    return Err(PublishError::Timeout {
                        what: "the broker kept the connection blocked (resource alarm); the events stay in the outbox".into(),
                        seconds: blocked_for.as_secs(),
                    });
                }
                Err(_) => {
                    return Err(PublishError::Timeout {
                        what: format!("the confirm of event {}", in_flight.event_id),
                        seconds: limit.as_secs(),
                    });
                }
            }
        };
        if let Some(count) = self.busy.get_mut(&in_flight.golden_id) {
            *count -= 1;
            if *count == 0 {
                self.busy.remove(&in_flight.golden_id);
            }
        }
        let (acked, returned) = match confirmation {
            Ok(Confirmation::Ack(returned)) => (Ok(true), returned),
            Ok(Confirmation::Nack(returned)) => (Ok(false), returned),
            Ok(Confirmation::NotRequested) => (Ok(true), None),
            Err(source) => (Err(source), None),
        };
        if let Some(message) = returned {
            let event_id = message
                .properties
                .message_id()
                .as_ref()
                .map_or_else(|| in_flight.event_id.clone(), |id| id.as_str().to_owned());
            self.returned.insert(event_id);
        }
        let unroutable = self.returned.remove(&in_flight.event_id);
        match acked {
            Ok(_) if unroutable => {
                report.returned += 1;
                let unroutable = PublishError::Unroutable {
                    event_id: in_flight.event_id.clone(),
                    routing_key: in_flight.routing_key.clone(),
                    exchange: self.config.exchange.clone(),
                };
                crate::telemetry::event_returned(
                    &in_flight.event_id,
                    &in_flight.routing_key,
                    "unroutable",
                );
                self.park(
                    in_flight.seq,
                    &in_flight.event_id,
                    &in_flight.routing_key,
                    &unroutable.to_string(),
                    report,
                )
                .await?;
                self.after = in_flight.seq;
                Ok(())
            }
            Ok(true) => {
                report.published += 1;
                self.after = in_flight.seq;
                self.acked.push(in_flight.seq);
                Ok(())
            }
            Ok(false) => {
                report.nacked += 1;
                crate::telemetry::event_returned(
                    &in_flight.event_id,
                    &in_flight.routing_key,
                    "refused (nack)",
                );
                Err(PublishError::Refused {
                    event_id: in_flight.event_id,
                    routing_key: in_flight.routing_key,
                })
            }
            Err(source) => {
                if let Some(reason) = refused_for_good(&source) {
                    if !in_flight.alone {
                        let last_in_flight = self.in_flight.back().map_or(0, |last| last.seq);
                        self.isolate_through =
                            self.isolate_through.max(last_in_flight.max(in_flight.seq));
                        return Err(PublishError::Lost {
                            event_id: in_flight.event_id,
                            source,
                        });
                    }
                    self.park(
                        in_flight.seq,
                        &in_flight.event_id,
                        &in_flight.routing_key,
                        &reason,
                        report,
                    )
                    .await?;
                }
                Err(PublishError::Lost {
                    event_id: in_flight.event_id,
                    source,
                })
            }
        }
    }

    async fn mark(&mut self, store: &dyn Outbox) -> Result<(), PublishError> {
        store.mark_published(&self.acked).await?;
        self.acked.clear();
        Ok(())
    }
}

/// The broker's reason when it closed the channel on a message it will never take (406
/// PRECONDITION_FAILED: larger than its `max_message_size`).
fn refused_for_good(error: &lapin::Error) -> Option<String> {
    match error.kind() {
        lapin::ErrorKind::ProtocolError(amqp) if amqp.get_id() == 406 => Some(format!(
            "the broker refused it for good: {}",
            amqp.get_message()
        )),
        _ => None,
    }
}

/// A pass stopped and will be tried again after `delay`.
fn retrying(error: &PublishError, delay: Duration) {
    warn!(
        error = %error,
        delay_ms = delay.as_millis() as u64,
        "publishing interrupted: trying again from the first event not acknowledged"
    );
}
