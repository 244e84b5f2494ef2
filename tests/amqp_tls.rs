//! `amqps://` with the bus's `ca_file`: the real RabbitMQ on 127.0.0.1:5672 behind a TLS
//! terminator whose certificate a test CA signed (the broker's own config stays as it is). With
//! the CA the connection opens and a confirm-mode channel works; with another CA it is refused.

#[path = "support/tls.rs"]
mod tls;

use concord::publish::BusConfig;
use concord::publish::connection;

use tls::{TestCa, serve_tls_proxy};

/// A TLS port in front of the local RabbitMQ, its certificate for `localhost` signed by `ca`.
async fn broker_behind_tls(ca: &TestCa) -> u16 {
    let target = "127.0.0.1:5672".parse().unwrap();
    serve_tls_proxy(&ca.issue(&["localhost"]), target).await
}

fn bus(port: u16, ca_file: &std::path::Path) -> BusConfig {
    let mut config = BusConfig::new(format!("amqps://guest:guest@localhost:{port}/%2f"));
    config.ca_file = Some(ca_file.to_path_buf());
    config.connect_timeout = 5;
    config
}

#[tokio::test]
async fn amqps_trusts_the_broker_signed_by_the_ca_in_ca_file() {
    let ca = TestCa::new("ACME Messaging CA");
    let port = broker_behind_tls(&ca).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write_pem(dir.path(), "mq-ca.pem");

    let link = connection::open(&bus(port, &ca_file))
        .await
        .expect("the broker behind TLS is reached");
    let queue = link
        .channel
        .queue_declare(
            "concord.test.amqps".into(),
            lapin::options::QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            Default::default(),
        )
        .await
        .expect("the channel works over TLS");
    assert_eq!(queue.name().as_str(), "concord.test.amqps");
    link.close().await;
}

#[tokio::test]
async fn amqps_refuses_a_broker_signed_by_another_ca() {
    let ca = TestCa::new("ACME Messaging CA");
    let port = broker_behind_tls(&ca).await;
    let dir = tempfile::tempdir().unwrap();
    let other = TestCa::new("Some Other CA").write_pem(dir.path(), "other-ca.pem");

    let error = match connection::open(&bus(port, &other)).await {
        Ok(_) => panic!("a broker signed by an unknown CA must be refused"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.contains("invalid peer certificate: UnknownIssuer"),
        "{error}"
    );
    assert!(error.contains("set `bus.ca_file`"), "{error}");
    assert!(!error.contains("is RabbitMQ running"), "{error}");
    assert!(!error.contains("guest:guest"), "{error}");
}
