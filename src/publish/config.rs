//! The `bus:` section of the config: where and how change events are published.

use serde::{Deserialize, Serialize};

/// The message bus (RabbitMQ, AMQP 0-9-1) change events are published to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BusConfig {
    /// `amqp://USER:PASSWORD@HOST:PORT/VHOST` or `amqps://…` (the vhost `/` is written `%2f`).
    /// Empty (e.g. `${AMQP_URL:-}` with the variable unset) means no bus: events stay in the
    /// outbox. The password is never logged.
    pub url: String,
    /// The durable topic exchange events are published to, with routing keys
    /// `<entity>.<operation>` (`customer.created`, `product.updated`, ...).
    #[serde(default = "default_exchange")]
    pub exchange: String,
    /// How events are encoded, following the CloudEvents 1.0 AMQP binding: `structured` (the
    /// whole event as an `application/cloudevents+json` body) or `binary` (the data as the body,
    /// the other attributes as headers).
    #[serde(default)]
    pub mode: Mode,
    /// In binary mode, the prefix of the CloudEvents attribute headers: `cloudEvents_` (the AMQP
    /// binding's JMS-friendly form), `cloudEvents:` (the binding's original form) or `ce-`.
    #[serde(default)]
    pub header_prefix: HeaderPrefix,
    /// The CloudEvents `source` of every event: names this Concord instance to consumers.
    #[serde(default = "default_source")]
    pub source: String,
    /// Messages published and not yet confirmed by the broker, at most. Waiting for each confirm
    /// in turn caps throughput at roughly 1.5k messages/s; a window of 1000 reaches 10k–20k.
    #[serde(default = "default_confirm_window")]
    pub confirm_window: usize,
    /// Seconds the broker may take to confirm a message before the connection is assumed lost
    /// and the relay reconnects (not counted while the broker has blocked the connection).
    #[serde(default = "default_confirm_timeout")]
    pub confirm_timeout: u64,
    /// Seconds one connection attempt may take in all — TCP, the AMQP handshake, the channel and
    /// the topology — before it counts as failed: a broker that accepts the connection and never
    /// answers is given up after `connect_timeout × (max_retries + 1)` plus the backoff delays.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: u64,
    /// Seconds the relay waits while the broker blocks the connection (a memory or disk alarm)
    /// before it gives up; the events stay in the outbox for the next run.
    #[serde(default = "default_blocked_timeout")]
    pub blocked_timeout: u64,
    /// AMQP heartbeat in seconds (unless the URL sets `?heartbeat=`): a silent dead link is
    /// noticed after about twice this.
    #[serde(default = "default_heartbeat")]
    pub heartbeat: u16,
    /// The connection name shown in the RabbitMQ management UI.
    #[serde(default = "default_connection_name")]
    pub connection_name: String,
    /// Attempts, with exponential backoff and jitter (0.2 s doubling up to 30 s), to reconnect
    /// or to publish again a message the broker refused or could not route, before giving up;
    /// the events left stay in the outbox for the next run.
    #[serde(default = "default_max_retries")]
    pub max_retries: usize,
    /// Consumer queues to declare with their bindings; consumers may also declare their own.
    #[serde(default)]
    pub queues: Vec<QueueConfig>,
    /// The broker's largest message in bytes (RabbitMQ's `max_message_size`, 128 MiB unless its
    /// config says otherwise): a larger event is parked (`concord events parked`) instead of
    /// being sent, since the broker would close the channel on it every time.
    #[serde(default = "default_max_message_size")]
    pub max_message_size: usize,
    /// A PEM file with the CA that signed the broker's certificate, for an `amqps://` broker
    /// behind an internal CA (relative to the config file); the certificate is always verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<std::path::PathBuf>,
}

/// A consumer queue declared at start-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// The queue's name, e.g. `crm.customers`.
    pub name: String,
    /// Routing-key patterns bound to the exchange (`*` one word, `#` any number of words), e.g.
    /// `customer.*`.
    pub bindings: Vec<String>,
    /// A replicated quorum queue (for RabbitMQ clusters) instead of a classic one.
    #[serde(default)]
    pub quorum: bool,
    /// Messages a consumer rejects go to the queue `<name>.dead` through the exchange
    /// `<exchange>.dead-letter`, instead of being dropped.
    #[serde(default = "default_true")]
    pub dead_letter: bool,
}

/// The CloudEvents content mode.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Structured,
    Binary,
}

/// The prefix of CloudEvents attribute headers in binary mode.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum HeaderPrefix {
    #[default]
    #[serde(rename = "cloudEvents_")]
    Underscore,
    #[serde(rename = "cloudEvents:")]
    Colon,
    #[serde(rename = "ce-")]
    Ce,
}

impl HeaderPrefix {
    pub fn as_str(self) -> &'static str {
        match self {
            HeaderPrefix::Underscore => "cloudEvents_",
            HeaderPrefix::Colon => "cloudEvents:",
            HeaderPrefix::Ce => "ce-",
        }
    }
}

impl BusConfig {
    /// A bus at `url` with every other setting at its default.
    pub fn new(url: impl Into<String>) -> BusConfig {
        BusConfig {
            url: url.into(),
            exchange: default_exchange(),
            mode: Mode::default(),
            header_prefix: HeaderPrefix::default(),
            source: default_source(),
            confirm_window: default_confirm_window(),
            confirm_timeout: default_confirm_timeout(),
            connect_timeout: default_connect_timeout(),
            blocked_timeout: default_blocked_timeout(),
            heartbeat: default_heartbeat(),
            connection_name: default_connection_name(),
            max_retries: default_max_retries(),
            queues: Vec::new(),
            max_message_size: default_max_message_size(),
            ca_file: None,
        }
    }

    /// True when a broker URL is set.
    pub fn is_enabled(&self) -> bool {
        !self.url.trim().is_empty()
    }

    /// The exchange dead-lettered messages go through.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dead-letter", self.exchange)
    }
}

fn default_exchange() -> String {
    "concord.events".to_string()
}

fn default_source() -> String {
    "urn:concord".to_string()
}

fn default_confirm_window() -> usize {
    1000
}

fn default_confirm_timeout() -> u64 {
    30
}

fn default_connect_timeout() -> u64 {
    10
}

fn default_blocked_timeout() -> u64 {
    300
}

fn default_heartbeat() -> u16 {
    30
}

fn default_connection_name() -> String {
    "concord".to_string()
}

fn default_max_retries() -> usize {
    8
}

fn default_max_message_size() -> usize {
    128 * 1024 * 1024
}

fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses_with_defaults_filled_in() {
        let text = r#"
url: "amqp://guest:guest@127.0.0.1:5672/%2f"
exchange: concord.events
mode: binary
header_prefix: "ce-"
source: "urn:concord:plant-1"
confirm_window: 500
queues:
  - { name: crm.customers, bindings: ["customer.*"], quorum: true }
"#;
        let config: BusConfig = serde_yaml::from_str(text).unwrap();
        assert_eq!(config.mode, Mode::Binary);
        assert_eq!(config.header_prefix.as_str(), "ce-");
        assert_eq!(config.confirm_window, 500);
        assert_eq!(config.heartbeat, 30);
        assert!(config.queues[0].quorum);
        assert!(config.queues[0].dead_letter);
        assert!(config.is_enabled());
    }

    #[test]
    fn an_unknown_prefix_or_key_is_refused() {
        let err = serde_yaml::from_str::<BusConfig>("url: x\nheader_prefix: \"ce_\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ce_"), "{err}");
        let err = serde_yaml::from_str::<BusConfig>("url: x\nexchnage: y\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("exchnage"), "{err}");
    }

    #[test]
    fn an_empty_url_means_no_bus() {
        assert!(!BusConfig::new("  ").is_enabled());
    }
}
