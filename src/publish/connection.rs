//! The AMQP connection: URL parsing with the password kept out of every message, heartbeat and
//! connection name, a confirm-mode channel, and the backoff between reconnects.
//!
//! lapin does not reconnect publishers by itself in a way that keeps our ordering guarantees, so
//! the relay owns the loop: a lost connection is dropped whole and a new one opened after a
//! backoff delay.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use futures::StreamExt;
use lapin::options::ConfirmSelectOptions;
use lapin::uri::AMQPUri;
use lapin::{Channel, Connection, ConnectionProperties, Event};

use super::PublishError;
use super::config::BusConfig;

/// How long closing a connection may take before it is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// An open connection with one channel in publisher-confirm mode.
pub struct Link {
    connection: Connection,
    pub channel: Channel,
    blocked: Arc<AtomicBool>,
}

impl Link {
    /// True while the broker holds the connection blocked (a memory or disk alarm): confirms do
    /// not come, and that is not a lost connection.
    pub fn is_blocked(&self) -> bool {
        self.blocked.load(Ordering::Relaxed)
    }

    /// Closes the connection politely, waiting briefly: on a dead link the broker's reply never
    /// comes, and errors are moot since the link is being dropped anyway.
    pub async fn close(self) {
        let closing = self.connection.close(200, "concord relay done".into());
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, closing).await;
    }
}

/// Parses the bus URL, filling in the heartbeat and connect timeout the URL leaves out.
pub fn parse_url(config: &BusConfig) -> Result<AMQPUri, PublishError> {
    let mut uri: AMQPUri =
        config
            .url
            .trim()
            .parse()
            .map_err(|reason: String| PublishError::Url {
                url: crate::url::shown(&config.url),
                reason,
            })?;
    crate::redact::register_secret(&uri.authority.userinfo.password);
    uri.query.heartbeat.get_or_insert(config.heartbeat);
    uri.query
        .connection_timeout
        .get_or_insert(config.connect_timeout.max(1) * 1000);
    Ok(uri)
}

/// Opens a connection and a confirm-mode channel.
pub async fn open(config: &BusConfig) -> Result<Link, PublishError> {
    let uri = parse_url(config)?;
    // A refused certificate is told apart from a broker that is down: retrying cannot cure it.
    let lost = |source: lapin::Error| {
        let url = crate::url::shown(&config.url);
        if crate::transport::tls::is_certificate_error(&source) {
            PublishError::Certificate { url, source }
        } else {
            PublishError::Connect { url, source }
        }
    };
    let properties = ConnectionProperties::default()
        .with_connection_name(config.connection_name.as_str().into());
    let connection = match &config.ca_file {
        None => Connection::connect_uri(uri, properties).await,
        Some(file) => {
            let pem = std::fs::read_to_string(file).map_err(|e| PublishError::Url {
                url: crate::url::shown(&config.url),
                reason: format!("cannot read `ca_file` {}: {e}", file.display()),
            })?;
            let tls = lapin::tcp::OwnedTLSConfig {
                identity: None,
                cert_chain: Some(pem),
            };
            match lapin::DefaultConnectionBuilder::new() {
                Ok(builder) => {
                    builder
                        .with_uri(uri)
                        .with_properties(properties)
                        .with_tls_config(tls)
                        .connect()
                        .await
                }
                Err(error) => Err(error),
            }
        }
    }
    .map_err(lost)?;
    let blocked = Arc::new(AtomicBool::new(false));
    let mut events = connection.events_listener();
    let flag = Arc::clone(&blocked);
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            match event {
                Event::ConnectionBlocked(_) => flag.store(true, Ordering::Relaxed),
                Event::ConnectionUnblocked => flag.store(false, Ordering::Relaxed),
                _ => {}
            }
        }
    });
    let channel = connection.create_channel().await.map_err(lost)?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(lost)?;
    Ok(Link {
        connection,
        channel,
        blocked,
    })
}

/// Delays between attempts: exponential from 200 ms, doubling up to 30 s, with jitter so that
/// several instances do not hammer a broker that comes back all at once.
pub fn backoff(max_retries: usize) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(30))
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(max_retries)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_comes_from_the_config_unless_the_url_sets_it() {
        let mut config = BusConfig::new("amqp://guest:guest@127.0.0.1:5672/%2f");
        config.heartbeat = 7;
        assert_eq!(parse_url(&config).unwrap().query.heartbeat, Some(7));
        config.url = "amqp://guest:guest@127.0.0.1:5672/%2f?heartbeat=3".into();
        let uri = parse_url(&config).unwrap();
        assert_eq!(uri.query.heartbeat, Some(3));
        assert_eq!(uri.vhost, "/");
    }

    #[test]
    fn a_bad_url_is_reported_without_its_password() {
        let config = BusConfig::new("amqx://guest:topsecret@host/");
        let err = parse_url(&config).unwrap_err().to_string();
        assert!(!err.contains("topsecret"), "{err}");
        assert!(err.contains("guest:***@host"), "{err}");
    }

    #[test]
    fn backoff_grows_and_ends() {
        let delays: Vec<Duration> = backoff(4).collect();
        assert_eq!(delays.len(), 4);
        assert!(delays[3] > delays[0]);
    }
}
