//! Publish: relays the outbox to RabbitMQ (AMQP 0-9-1) as CloudEvents, in order, with publisher
//! confirms.
//!
//! An event leaves the outbox (is marked published) only after the broker acknowledged it; a
//! refused (nacked) or unroutable (returned) message and a lost connection stop the drain, which
//! then starts again from the first event not acknowledged, after a backoff delay. Nothing later
//! overtakes an earlier event; a message the broker got but whose ack was lost is sent again
//! with the same `message_id`, so consumers de-duplicate on it.

pub mod cloudevents;
mod config;
pub mod connection;
pub mod parked;
mod relay;
pub mod topology;

pub use config::{BusConfig, HeaderPrefix, Mode, QueueConfig};
pub use relay::{Relay, Report};

use crate::store::StoreError;

/// Why events could not be published; the events not acknowledged stay in the outbox.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("bus URL `{url}`: {reason}")]
    Url { url: String, reason: String },
    #[error(
        "cannot reach the message bus at {url}: {source} (is RabbitMQ running? `rabbitmq-server -detached` starts a local one)"
    )]
    Connect {
        url: String,
        #[source]
        source: lapin::Error,
    },
    #[error(
        "the message bus at {url} presented a certificate that is not trusted: {source} (set `bus.ca_file` to the PEM file of the CA that signed it)"
    )]
    Certificate {
        url: String,
        #[source]
        source: lapin::Error,
    },
    #[error("declaring {what} on the bus: {source}")]
    Declare {
        what: String,
        #[source]
        source: lapin::Error,
    },
    #[error("connection to the message bus lost while publishing event {event_id}: {source}")]
    Lost {
        event_id: String,
        #[source]
        source: lapin::Error,
    },
    #[error("the message bus did not answer within {seconds} s: {what}")]
    Timeout { what: String, seconds: u64 },
    #[error("the broker refused (nacked) event {event_id} ({routing_key})")]
    Refused {
        event_id: String,
        routing_key: String,
    },
    #[error(
        "event {event_id} is unroutable: no queue is bound to `{routing_key}` on exchange `{exchange}` (bind one, e.g. under bus.queues)"
    )]
    Unroutable {
        event_id: String,
        routing_key: String,
        exchange: String,
    },
    #[error("encoding events: {0}")]
    Encode(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PublishError {
    /// True when trying again later may succeed; a bad URL or a topology the broker refuses
    /// needs the operator.
    pub fn is_transient(&self) -> bool {
        match self {
            PublishError::Url { .. }
            | PublishError::Certificate { .. }
            | PublishError::Encode(_)
            | PublishError::Store(_) => false,
            PublishError::Declare { source, .. } => !source.is_amqp_error(),
            _ => true,
        }
    }
}
