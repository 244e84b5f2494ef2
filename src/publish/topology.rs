//! The exchanges, queues and bindings the relay declares on every (re)connect.
//!
//! Declaring is idempotent: the same declaration twice is a no-op for RabbitMQ. A declaration
//! that differs from what the broker already has (say a classic queue now configured as quorum)
//! is refused by the broker; the error names the queue so the operator can delete or rename it.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, ExchangeKind};

use super::PublishError;
use super::config::{BusConfig, QueueConfig};

/// Declares the events exchange and, when configured, the queues with their bindings and
/// dead-letter queues.
pub async fn declare(channel: &Channel, config: &BusConfig) -> Result<(), PublishError> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            config.exchange.as_str().into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(|source| PublishError::Declare {
            what: format!("exchange `{}`", config.exchange),
            source,
        })?;
    if config.queues.iter().any(|q| q.dead_letter) {
        let dead_letter = config.dead_letter_exchange();
        channel
            .exchange_declare(
                dead_letter.as_str().into(),
                ExchangeKind::Direct,
                durable,
                FieldTable::default(),
            )
            .await
            .map_err(|source| PublishError::Declare {
                what: format!("exchange `{dead_letter}`"),
                source,
            })?;
    }
    for queue in &config.queues {
        declare_queue(channel, config, queue).await?;
    }
    Ok(())
}

/// The name of the queue that takes what consumers of `queue` reject.
pub fn dead_letter_queue(queue: &str) -> String {
    format!("{queue}.dead")
}

async fn declare_queue(
    channel: &Channel,
    config: &BusConfig,
    queue: &QueueConfig,
) -> Result<(), PublishError> {
    let failed = |what: String| move |source| PublishError::Declare { what, source };
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    let mut arguments = FieldTable::default();
    if queue.quorum {
        arguments.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
    }
    if queue.dead_letter {
        let dead = dead_letter_queue(&queue.name);
        let mut dead_arguments = FieldTable::default();
        if queue.quorum {
            dead_arguments.insert(
                "x-queue-type".into(),
                AMQPValue::LongString("quorum".into()),
            );
        }
        channel
            .queue_declare(dead.as_str().into(), durable, dead_arguments)
            .await
            .map_err(failed(format!("queue `{dead}`")))?;
        channel
            .queue_bind(
                dead.as_str().into(),
                config.dead_letter_exchange().into(),
                queue.name.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(failed(format!("binding of queue `{dead}`")))?;
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(config.dead_letter_exchange().into()),
        );
        arguments.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(queue.name.as_str().into()),
        );
    }
    channel
        .queue_declare(queue.name.as_str().into(), durable, arguments)
        .await
        .map_err(failed(format!(
            "queue `{}` (an existing queue of that name with other settings must be deleted first)",
            queue.name
        )))?;
    for pattern in &queue.bindings {
        channel
            .queue_bind(
                queue.name.as_str().into(),
                config.exchange.as_str().into(),
                pattern.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(failed(format!(
                "binding `{pattern}` of queue `{}`",
                queue.name
            )))?;
    }
    Ok(())
}
