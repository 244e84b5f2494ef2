//! The outbox relay against the real RabbitMQ on 127.0.0.1:5672 (guest/guest), or the broker
//! `CONCORD_TEST_AMQP_URL` names. Each test declares its own exchange and queues, so the tests
//! run in parallel on one shared broker; connection cuts go through a proxy inside the test, so
//! the broker itself is never stopped.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicConsumeOptions, ExchangeDeleteOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ConnectionProperties};
use serde_json::{Map, Value, json};

use concord::model::EntityKind;
use concord::publish::{BusConfig, HeaderPrefix, Mode, PublishError, QueueConfig, Relay};
use concord::store::{
    BatchWriter, Event, FieldSource, Lineage, Operation, Outbox, RunLog, SqliteStore,
};

#[path = "support/outbox.rs"]
mod outbox;

fn broker_url() -> String {
    std::env::var("CONCORD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_string())
}

/// Host and port of the broker; fails the test, saying how to start RabbitMQ, when nothing
/// answers there.
fn require_broker() -> String {
    let url = broker_url();
    let uri: lapin::uri::AMQPUri = url.parse().unwrap();
    let address = format!("{}:{}", uri.authority.host, uri.authority.port);
    let reachable = address
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok());
    assert!(
        reachable,
        "RabbitMQ is not reachable at {address}: start it with `rabbitmq-server -detached` \
         (or point CONCORD_TEST_AMQP_URL at a broker)"
    );
    address
}

/// A bus config with names of its own, one queue bound to everything.
fn bus(url: &str) -> BusConfig {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let mut config = BusConfig::new(url);
    config.exchange = format!("concord.test.{id}");
    config.queues = vec![QueueConfig {
        name: format!("concord.test.{id}.all"),
        bindings: vec!["#".into()],
        quorum: false,
        dead_letter: true,
    }];
    config.confirm_timeout = 5;
    config.max_retries = 6;
    config
}

async fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/concord.db", dir.path().display());
    let store = SqliteStore::open(&url).await.unwrap();
    (dir, store)
}

/// The record an event carries, parsed.
fn record_of(event: &Event) -> Value {
    serde_json::from_str(event.record.get()).unwrap()
}

/// `versions` successive changes of `records` customers, interleaved as a sync writes them.
fn changes(records: usize, versions: i64) -> Vec<Event> {
    let mut events = Vec::new();
    for version in 1..=versions {
        for n in 0..records {
            let mut record = Map::new();
            record.insert("name".into(), json!(format!("Customer {n} v{version}")));
            let mut sources = Lineage::new();
            sources.insert(
                "name".into(),
                FieldSource {
                    source: "sap".into(),
                    key: format!("{n}"),
                    changed_at: None,
                },
            );
            events.push(Event {
                event_id: uuid::Uuid::now_v7().to_string(),
                entity: EntityKind::Customer,
                operation: if version == 1 {
                    Operation::Created
                } else {
                    Operation::Updated
                },
                golden_id: format!("cus_{n}"),
                version,
                changed: vec!["name".into()],
                record: serde_json::value::to_raw_value(&record).unwrap(),
                sources,
                merged: Vec::new(),
                detail: None,
                at: Utc::now(),
            });
        }
    }
    events
}

async fn commit(store: &SqliteStore, events: &[Event]) {
    for chunk in events.chunks(5000) {
        store.commit(&outbox::batch_of(chunk)).await.unwrap();
    }
}

async fn unpublished(store: &SqliteStore) -> i64 {
    store.counts().await.unwrap().unpublished_events
}

/// Every message in `queue` until it stays quiet for `quiet`.
async fn consume(url: &str, queue: &str, quiet: Duration) -> Vec<Delivery> {
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            "concord-test".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut deliveries = Vec::new();
    while let Ok(Some(delivery)) = tokio::time::timeout(quiet, consumer.next()).await {
        deliveries.push(delivery.unwrap());
    }
    let _ = connection.close(200, "done".into()).await;
    deliveries
}

/// Deletes what a test declared.
async fn clean_up(url: &str, config: &BusConfig) {
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    for queue in &config.queues {
        for name in [queue.name.clone(), format!("{}.dead", queue.name)] {
            let _ = channel
                .queue_delete(name.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
    }
    for exchange in [config.exchange.clone(), config.dead_letter_exchange()] {
        let _ = channel
            .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
            .await;
    }
    let _ = connection.close(200, "done".into()).await;
}

fn message_id(delivery: &Delivery) -> String {
    delivery
        .properties
        .message_id()
        .as_ref()
        .unwrap()
        .to_string()
}

fn header(delivery: &Delivery, name: &str) -> Option<String> {
    match delivery.properties.headers().as_ref()?.inner().get(name)? {
        AMQPValue::LongString(text) => Some(text.to_string()),
        _ => None,
    }
}

#[tokio::test]
async fn structured_mode_delivers_exactly_the_stored_events_with_keys_ids_and_attributes() {
    require_broker();
    let url = broker_url();
    let (_dir, store) = store().await;
    let mut config = bus(&url);
    config.queues[0].quorum = true;
    config.source = "urn:concord:test".into();
    let mut events = changes(3, 2);
    events[0].entity = EntityKind::Product;
    events[0].golden_id = "prd_0".into();
    commit(&store, &events).await;

    let mut relay = Relay::new(&store, &config);
    let report = relay.drain().await.unwrap().clone();
    assert_eq!(report.published, 6);
    assert_eq!(unpublished(&store).await, 0);

    let deliveries = consume(&url, &config.queues[0].name, Duration::from_secs(1)).await;
    clean_up(&url, &config).await;
    assert_eq!(deliveries.len(), events.len());
    for (event, delivery) in events.iter().zip(&deliveries) {
        let key = format!("{}.{}", event.entity.as_str(), event.operation.as_str());
        assert_eq!(delivery.routing_key.as_str(), key);
        assert_eq!(message_id(delivery), event.event_id);
        let properties = &delivery.properties;
        assert_eq!(properties.delivery_mode(), &Some(2));
        assert_eq!(
            properties.content_type().as_ref().unwrap().as_str(),
            "application/cloudevents+json"
        );
        assert_eq!(properties.app_id().as_ref().unwrap().as_str(), "concord");
        assert_eq!(properties.timestamp(), &Some(event.at.timestamp() as u64));
        let body: Value = serde_json::from_slice(&delivery.data).unwrap();
        assert_eq!(body["specversion"], "1.0");
        assert_eq!(body["id"], event.event_id.as_str());
        assert_eq!(body["source"], "urn:concord:test");
        assert_eq!(body["type"], format!("com.concord.{key}"));
        assert_eq!(body["subject"], event.golden_id.as_str());
        assert_eq!(body["data"]["record"], record_of(event));
        assert_eq!(body["data"]["changed"], json!(["name"]));
        assert_eq!(body["data"]["sources"]["name"]["source"], "sap");
    }
    assert_eq!(deliveries[0].routing_key.as_str(), "product.created");
    assert_eq!(deliveries[4].routing_key.as_str(), "customer.updated");
}

#[tokio::test]
async fn binary_mode_carries_the_attributes_as_prefixed_headers() {
    require_broker();
    let url = broker_url();
    let (_dir, store) = store().await;
    let mut config = bus(&url);
    config.mode = Mode::Binary;
    config.header_prefix = HeaderPrefix::Ce;
    let events = changes(2, 1);
    commit(&store, &events).await;

    Relay::new(&store, &config).drain().await.unwrap();
    let deliveries = consume(&url, &config.queues[0].name, Duration::from_secs(1)).await;
    clean_up(&url, &config).await;
    assert_eq!(deliveries.len(), 2);
    for (event, delivery) in events.iter().zip(&deliveries) {
        assert_eq!(message_id(delivery), event.event_id);
        assert_eq!(
            delivery
                .properties
                .content_type()
                .as_ref()
                .unwrap()
                .as_str(),
            "application/json"
        );
        assert_eq!(header(delivery, "ce-specversion").as_deref(), Some("1.0"));
        assert_eq!(header(delivery, "ce-id"), Some(event.event_id.clone()));
        assert_eq!(
            header(delivery, "ce-type").as_deref(),
            Some("com.concord.customer.created")
        );
        assert_eq!(
            header(delivery, "ce-subject"),
            Some(event.golden_id.clone())
        );
        assert_eq!(
            header(delivery, "ce-source").as_deref(),
            Some("urn:concord")
        );
        assert!(header(delivery, "ce-time").is_some());
        assert!(header(delivery, "cloudEvents_id").is_none());
        let body: Value = serde_json::from_slice(&delivery.data).unwrap();
        assert_eq!(body["record"], record_of(event));
    }
}

#[tokio::test]
async fn a_second_drain_with_nothing_new_publishes_nothing() {
    require_broker();
    let url = broker_url();
    let (_dir, store) = store().await;
    let config = bus(&url);
    commit(&store, &changes(5, 1)).await;

    Relay::new(&store, &config).drain().await.unwrap();
    let first = consume(&url, &config.queues[0].name, Duration::from_millis(500)).await;
    let mut again = Relay::new(&store, &config);
    let report = again.drain().await.unwrap().clone();
    let second = consume(&url, &config.queues[0].name, Duration::from_millis(500)).await;
    clean_up(&url, &config).await;
    assert_eq!(first.len(), 5);
    assert_eq!(report.published, 0);
    assert!(
        second.is_empty(),
        "{} messages published again",
        second.len()
    );
}

#[tokio::test]
async fn a_connection_cut_mid_drain_loses_nothing_and_keeps_per_record_order() {
    let broker = require_broker();
    let url = broker_url();
    let proxy = Proxy::start(&broker);
    let (_dir, store) = store().await;
    let mut config = bus(&url);
    config.url = url.replacen(&broker, &proxy.address, 1);
    let events = changes(50, 100);
    commit(&store, &events).await;

    proxy.cut_after_bytes(400_000);
    let restorer = {
        let proxy = proxy.clone();
        std::thread::spawn(move || {
            for _ in 0..1500 {
                if proxy.is_cut() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            std::thread::sleep(Duration::from_secs(1));
            proxy.restore();
        })
    };
    let mut relay = Relay::new(&store, &config);
    let report = relay.drain().await.unwrap().clone();
    restorer.join().unwrap();
    let deliveries = consume(&url, &config.queues[0].name, Duration::from_secs(1)).await;
    clean_up(&url, &config).await;

    assert!(report.retries >= 1, "the link was never cut: {report:?}");
    assert_eq!(unpublished(&store).await, 0);
    let stored: HashMap<&str, &Event> = events.iter().map(|e| (e.event_id.as_str(), e)).collect();
    let mut bodies: HashMap<String, Vec<u8>> = HashMap::new();
    let mut last_version: HashMap<String, i64> = HashMap::new();
    for delivery in &deliveries {
        let id = message_id(delivery);
        let event = stored
            .get(id.as_str())
            .unwrap_or_else(|| panic!("{id} was never stored"));
        if let Some(body) = bodies.get(&id) {
            assert_eq!(body, &delivery.data, "a duplicate of {id} differs");
            continue;
        }
        bodies.insert(id.clone(), delivery.data.clone());
        let last = last_version.insert(event.golden_id.clone(), event.version);
        assert_eq!(
            last.unwrap_or(0) + 1,
            event.version,
            "{} out of order",
            event.golden_id
        );
    }
    let received: HashSet<&String> = bodies.keys().collect();
    assert_eq!(received.len(), events.len(), "events lost");
}

/// Asserts every delivery is a distinct stored event and each golden record's versions arrive in
/// ascending order; returns the delivered event IDs.
fn once_each_in_version_order(events: &[Event], deliveries: &[Delivery]) -> HashSet<String> {
    let stored: HashMap<&str, &Event> = events.iter().map(|e| (e.event_id.as_str(), e)).collect();
    let mut seen = HashSet::new();
    let mut last_version: HashMap<&str, i64> = HashMap::new();
    for delivery in deliveries {
        let id = message_id(delivery);
        let event = stored[id.as_str()];
        assert!(seen.insert(id.clone()), "{id} was delivered twice");
        let last = last_version.insert(&event.golden_id, event.version);
        assert!(
            last.unwrap_or(0) < event.version,
            "{} v{} after v{last:?}",
            event.golden_id,
            event.version
        );
    }
    seen
}

#[tokio::test]
async fn an_unroutable_event_is_parked_and_the_rest_go_out_once_in_order() {
    require_broker();
    let url = broker_url();
    let (dir, store) = store().await;
    let mut config = bus(&url);
    // Consumers bound `created` and `updated`; nobody bound `customer.deleted`.
    config.queues[0].bindings = vec!["customer.created".into(), "customer.updated".into()];
    config.confirm_window = 50;
    let mut events = changes(20, 3);
    let poison = events
        .iter()
        .position(|e| e.golden_id == "cus_7" && e.version == 2)
        .unwrap();
    events[poison].operation = Operation::Deleted;
    commit(&store, &events).await;

    let mut relay = Relay::new(&store, &config);
    relay.drain().await.unwrap();
    let report = relay.report().clone();
    let deliveries = consume(&url, &config.queues[0].name, Duration::from_millis(500)).await;

    assert_eq!((report.published, report.parked), (59, 1), "{report:?}");
    assert_eq!(report.retries, 0, "{report:?}");
    let delivered = once_each_in_version_order(&events, &deliveries);
    assert_eq!(delivered.len(), 59);
    assert!(!delivered.contains(&events[poison].event_id));
    let parked = store.parked_events(10).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].event_id, events[poison].event_id);
    assert!(
        parked[0].reason.contains("customer.deleted"),
        "{}",
        parked[0].reason
    );
    assert_eq!(unpublished(&store).await, 1, "the parked event waits");

    // The command line lists it with its reason, and `events retry ID` puts it back in line.
    std::fs::write(
        dir.path().join("concord.yaml"),
        "store: { url: \"sqlite://concord.db\" }\nsources:\n  - { name: crm, driver: csv, files: \"in/*.csv\", mappings: [m.yaml] }\n",
    )
    .unwrap();
    let concord = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_concord"))
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let listed = concord(&["events", "parked"]);
    assert!(
        listed.contains(&events[poison].event_id) && listed.contains("customer.deleted"),
        "{listed}"
    );
    config.queues[0].bindings.push("customer.deleted".into());
    let retried = concord(&["events", "retry", &events[poison].event_id]);
    assert!(retried.starts_with("1 parked events put back"), "{retried}");
    assert_eq!(concord(&["events", "parked"]), "no parked events\n");
    Relay::new(&store, &config).drain().await.unwrap();
    let deliveries = consume(&url, &config.queues[0].name, Duration::from_millis(500)).await;
    clean_up(&url, &config).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(message_id(&deliveries[0]), events[poison].event_id);
    assert_eq!(unpublished(&store).await, 0);
}

/// RabbitMQ acks several publishes at once (`multiple`) under load, and lapin hands a returned
/// message to whichever of the covered confirms it resolves first: with many returns in a wide
/// window, the relay must still park exactly the unroutable events and deliver every other one.
#[tokio::test]
async fn among_many_returns_in_a_wide_window_exactly_the_unroutable_events_are_parked() {
    require_broker();
    let url = broker_url();
    let (_dir, store) = store().await;
    let mut config = bus(&url);
    config.queues[0].bindings = vec!["customer.created".into()];
    config.confirm_window = 500;
    let mut events = changes(3000, 1);
    let mut unroutable = HashSet::new();
    for (n, event) in events.iter_mut().enumerate() {
        if n % 7 == 3 {
            event.operation = Operation::Deleted;
            unroutable.insert(event.event_id.clone());
        }
    }
    commit(&store, &events).await;

    let mut relay = Relay::new(&store, &config);
    relay.drain().await.unwrap();
    let report = relay.report().clone();
    let deliveries = consume(&url, &config.queues[0].name, Duration::from_millis(500)).await;
    clean_up(&url, &config).await;

    let parked: HashSet<String> = store
        .parked_events(10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.event_id)
        .collect();
    assert_eq!(parked.len(), unroutable.len(), "{report:?}");
    assert!(
        parked == unroutable,
        "a routable event was parked in place of an unroutable one"
    );
    let delivered = once_each_in_version_order(&events, &deliveries);
    assert_eq!(
        delivered.len(),
        events.len() - unroutable.len(),
        "{report:?}"
    );
    assert!(delivered.is_disjoint(&unroutable));
    assert_eq!(unpublished(&store).await, unroutable.len() as i64);
}

#[tokio::test]
async fn an_event_larger_than_the_bus_takes_is_parked_and_the_rest_go_out() {
    require_broker();
    let url = broker_url();
    let (_dir, store) = store().await;
    let mut config = bus(&url);
    config.max_message_size = 4096;
    let mut events = changes(5, 1);
    let mut record = record_of(&events[2]);
    record["notes"] = json!("x".repeat(10_000));
    events[2].record = serde_json::value::to_raw_value(&record).unwrap();
    commit(&store, &events).await;

    let mut relay = Relay::new(&store, &config);
    relay.drain().await.unwrap();
    let report = relay.report().clone();
    let deliveries = consume(&url, &config.queues[0].name, Duration::from_millis(500)).await;
    clean_up(&url, &config).await;

    assert_eq!((report.published, report.parked), (4, 1), "{report:?}");
    let delivered = once_each_in_version_order(&events, &deliveries);
    assert!(!delivered.contains(&events[2].event_id));
    let parked = store.parked_events(10).await.unwrap();
    assert!(
        parked[0].reason.contains("max_message_size"),
        "{}",
        parked[0].reason
    );
}

/// Sets the local RabbitMQ's `max_message_size` (a broker-wide setting, so the limit is far
/// above any other test's messages) and puts the old value back when dropped, even on a panic.
struct BrokerMessageLimit(String);

impl BrokerMessageLimit {
    fn set(bytes: usize) -> BrokerMessageLimit {
        let old = rabbitmqctl_eval("application:get_env(rabbit, max_message_size).");
        let old = old
            .trim()
            .strip_prefix("{ok,")
            .and_then(|v| v.strip_suffix('}'))
            .unwrap_or_else(|| panic!("rabbitmqctl said {old}"))
            .to_string();
        rabbitmqctl_eval(&format!(
            "application:set_env(rabbit, max_message_size, {bytes})."
        ));
        BrokerMessageLimit(old)
    }
}

impl Drop for BrokerMessageLimit {
    fn drop(&mut self) {
        rabbitmqctl_eval(&format!(
            "application:set_env(rabbit, max_message_size, {}).",
            self.0
        ));
    }
}

fn rabbitmqctl_eval(expression: &str) -> String {
    let output = std::process::Command::new("rabbitmqctl")
        .args(["eval", expression])
        .output()
        .expect("rabbitmqctl (the local broker's control tool) runs");
    assert!(
        output.status.success(),
        "rabbitmqctl eval {expression}: {output:?}"
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The broker, not the config, knows the smaller limit: it closes the channel with 406 on the
/// large event, and every confirm in the window fails with that one error. Only the event that
/// closed it may be parked; the others are published (some twice: routed before the close,
/// never acked — consumers deduplicate by event ID).
#[tokio::test]
async fn a_channel_closed_on_one_event_in_a_window_parks_that_event_alone() {
    require_broker();
    let url = broker_url();
    let (_dir, store) = store().await;
    let config = bus(&url);
    let mut events = changes(60, 1);
    let mut record = record_of(&events[25]);
    record["notes"] = json!("x".repeat(100_000));
    events[25].record = serde_json::value::to_raw_value(&record).unwrap();
    commit(&store, &events).await;

    let report = {
        let _limit = BrokerMessageLimit::set(65_536);
        let mut relay = Relay::new(&store, &config);
        relay.drain().await.unwrap();
        relay.report().clone()
    };
    let deliveries = consume(&url, &config.queues[0].name, Duration::from_millis(500)).await;
    clean_up(&url, &config).await;

    assert_eq!((report.published, report.parked), (59, 1), "{report:?}");
    let parked = store.parked_events(10).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].event_id, events[25].event_id);
    assert!(
        parked[0].reason.contains("PRECONDITION_FAILED"),
        "{}",
        parked[0].reason
    );
    let delivered: HashSet<String> = deliveries.iter().map(message_id).collect();
    let expected: HashSet<String> = events
        .iter()
        .filter(|e| e.event_id != events[25].event_id)
        .map(|e| e.event_id.clone())
        .collect();
    assert_eq!(delivered, expected);
    assert_eq!(
        unpublished(&store).await,
        1,
        "only the parked event is left"
    );
}

#[tokio::test]
async fn an_unreachable_broker_leaves_the_events_queued_and_never_shows_the_password() {
    let (_dir, store) = store().await;
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut config = BusConfig::new(format!("amqp://guest:s3cr3tpw@{closed}/%2f"));
    config.max_retries = 1;
    commit(&store, &changes(2, 1)).await;

    let error = Relay::new(&store, &config).drain().await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, PublishError::Connect { .. }), "{message}");
    assert!(!message.contains("s3cr3tpw"), "{message}");
    assert!(message.contains("rabbitmq-server -detached"), "{message}");
    assert_eq!(unpublished(&store).await, 2);
}

#[tokio::test]
async fn a_replay_publishes_stored_events_again_from_a_position() {
    require_broker();
    let url = broker_url();
    let (_dir, store) = store().await;
    let config = bus(&url);
    let events = changes(4, 1);
    commit(&store, &events).await;

    Relay::new(&store, &config).drain().await.unwrap();
    let third = store.events(0, 10).await.unwrap()[2].seq;
    let mut relay = Relay::new(&store, &config);
    let report = relay.replay(third).await.unwrap().clone();
    let deliveries = consume(&url, &config.queues[0].name, Duration::from_millis(500)).await;
    clean_up(&url, &config).await;
    assert_eq!(report.published, 2);
    let ids: Vec<String> = deliveries.iter().map(message_id).collect();
    let mut expected: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
    expected.extend(events[2..].iter().map(|e| e.event_id.clone()));
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn a_queue_declared_with_other_settings_is_named_in_the_error() {
    require_broker();
    let url = broker_url();
    let (_dir, store) = store().await;
    let mut config = bus(&url);
    config.queues[0].dead_letter = false;
    let connection = Connection::connect(&url, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let mut arguments = FieldTable::default();
    arguments.insert("x-max-length".into(), AMQPValue::LongInt(5));
    channel
        .queue_declare(
            config.queues[0].name.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            arguments,
        )
        .await
        .unwrap();
    commit(&store, &changes(1, 1)).await;

    let error = Relay::new(&store, &config).drain().await.unwrap_err();
    clean_up(&url, &config).await;
    assert!(
        error.to_string().contains(&config.queues[0].name),
        "{error}"
    );
    assert!(!error.is_transient());
}

/// A TCP proxy in front of the broker that can drop every connection and refuse new ones until
/// restored, so a test can cut the link without touching the shared broker.
#[derive(Clone)]
struct Proxy {
    address: String,
    cut: Arc<AtomicBool>,
    cut_after: Arc<AtomicUsize>,
    forwarded: Arc<AtomicUsize>,
    sockets: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = Proxy {
            address: listener.local_addr().unwrap().to_string(),
            cut: Arc::new(AtomicBool::new(false)),
            cut_after: Arc::new(AtomicUsize::new(usize::MAX)),
            forwarded: Arc::new(AtomicUsize::new(0)),
            sockets: Arc::new(Mutex::new(Vec::new())),
        };
        let upstream = upstream.to_string();
        let accepting = proxy.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if accepting.is_cut() {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                accepting.track(&client);
                accepting.track(&server);
                accepting.pipe(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    true,
                );
                accepting.pipe(server, client, false);
            }
        });
        proxy
    }

    fn track(&self, socket: &TcpStream) {
        self.sockets
            .lock()
            .unwrap()
            .push(socket.try_clone().unwrap());
    }

    /// Copies one direction; the client-to-broker direction counts bytes and cuts the link when
    /// the armed threshold is passed.
    fn pipe(&self, mut from: TcpStream, mut to: TcpStream, counted: bool) {
        let proxy = self.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 16 * 1024];
            while let Ok(n) = from.read(&mut buffer) {
                if n == 0 || proxy.is_cut() || to.write_all(&buffer[..n]).is_err() {
                    break;
                }
                if counted {
                    let total = proxy.forwarded.fetch_add(n, Ordering::SeqCst) + n;
                    if total >= proxy.cut_after.load(Ordering::SeqCst) {
                        proxy.cut_after.store(usize::MAX, Ordering::SeqCst);
                        proxy.cut();
                        break;
                    }
                }
            }
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
        });
    }

    /// Cuts the link once this many bytes more went from the client to the broker.
    fn cut_after_bytes(&self, bytes: usize) {
        let start = self.forwarded.load(Ordering::SeqCst);
        self.cut_after.store(start + bytes, Ordering::SeqCst);
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for socket in self.sockets.lock().unwrap().drain(..) {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn the_quickstart_sync_delivers_exactly_its_events_and_a_second_sync_nothing() {
    require_broker();
    let url = broker_url();
    let config = bus(&url);
    let db = tempfile::tempdir().unwrap();
    let quickstart = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/quickstart/concord.yaml"
    ));
    let mut project = concord::config::Config::load(quickstart).unwrap();
    project.store.url = format!("sqlite://{}", db.path().join("concord.db").display());
    let pipeline = concord::sync::Pipeline::compile(project.clone()).unwrap();
    let store = SqliteStore::open(&project.store_url()).await.unwrap();
    let options = concord::sync::SyncOptions::default();
    let summaries = pipeline
        .sync(&store, &options, &concord::sync::NoProgress)
        .await
        .unwrap();
    let synced: u64 = summaries.iter().map(|s| s.reconcile.events).sum();
    Relay::new(&store, &config).drain().await.unwrap();

    let full = concord::sync::SyncOptions {
        full: true,
        ..options
    };
    let again = pipeline
        .sync(&store, &full, &concord::sync::NoProgress)
        .await
        .unwrap();
    assert_eq!(again.iter().map(|s| s.reconcile.events).sum::<u64>(), 0);
    let second = Relay::new(&store, &config).drain().await.unwrap().published;

    let deliveries = consume(&url, &config.queues[0].name, Duration::from_secs(1)).await;
    clean_up(&url, &config).await;
    assert_eq!(second, 0, "an unchanged sync publishes nothing");
    let stored = store.events(0, 1000).await.unwrap();
    assert_eq!(deliveries.len() as u64, synced);
    assert_eq!(deliveries.len(), stored.len());
    for (event, delivery) in stored.iter().zip(&deliveries) {
        let key = format!(
            "{}.{}",
            event.event.entity.as_str(),
            event.event.operation.as_str()
        );
        assert_eq!(delivery.routing_key.as_str(), key);
        assert_eq!(message_id(delivery), event.event.event_id);
        let body: Value = serde_json::from_slice(&delivery.data).unwrap();
        assert_eq!(body["subject"], event.event.golden_id.as_str());
        assert_eq!(body["data"]["record"], record_of(&event.event));
    }
    let keys: HashSet<&str> = deliveries.iter().map(|d| d.routing_key.as_str()).collect();
    for key in [
        "customer.created",
        "customer.updated",
        "product.created",
        "order.created",
        "bom.created",
    ] {
        assert!(keys.contains(key), "no {key} in {keys:?}");
    }
}

#[tokio::test]
async fn a_broker_that_accepts_and_never_answers_is_given_up_in_the_documented_time() {
    // A TCP listener that takes connections and never says a word (a hung broker, a firewall
    // that black-holes after the handshake).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&held);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            keep.lock().unwrap().push(stream);
        }
    });
    let (_dir, store) = store().await;
    commit(&store, &changes(2, 1)).await;
    let mut config = BusConfig::new(format!("amqp://guest:guest@{address}/%2f"));
    config.connect_timeout = 1;
    config.max_retries = 1;

    let started = std::time::Instant::now();
    let error = Relay::new(&store, &config).drain().await.unwrap_err();
    let elapsed = started.elapsed();
    // connect_timeout × (max_retries + 1) plus one backoff delay (at most 0.4 s with jitter).
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
    assert!(matches!(error, PublishError::Timeout { .. }), "{error}");
    assert_eq!(unpublished(&store).await, 2);
    assert_eq!(held.lock().unwrap().len(), 2, "one connection per attempt");
}
