//! Customer values (migration 0009) on PostgreSQL, as on SQLite: order facts read with `->>`
//! over the current versions of the golden orders, values and their events written in one
//! transaction, each table with one `UNNEST` statement.

use std::collections::HashMap;

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use sqlx::PgConnection;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PgStore, lock_outbox_order};
use crate::model::{CustomerValue, OrderFact, Stage, Tier};
use crate::store::columns::{from_text, to_text};
use crate::store::value::{order_fact, pair};
use crate::store::{CustomerValues, StoreError, ValueWrite};

/// The order fields a value pass reads, as text whatever their JSON type.
const ORDER_FACTS: &str = "SELECT f.* FROM ( \
       SELECT o.id AS order_id, r->>'customer_id' AS customer_id, r->>'order_date' AS order_date, \
       r->>'currency' AS currency, r->>'total_amount' AS total_amount \
       FROM golden o JOIN golden_version v ON v.id = o.id AND v.version = o.version \
       CROSS JOIN LATERAL (SELECT v.record::json AS r) AS j \
       WHERE o.entity = 'order' AND NOT o.deleted AND o.redirect_to IS NULL \
     ) AS f WHERE f.customer_id IS NOT NULL ORDER BY f.order_id";

fn customer_value(row: &PgRow) -> Result<CustomerValue, StoreError> {
    let tier: String = row.try_get("tier")?;
    let stage: String = row.try_get("stage")?;
    Ok(CustomerValue {
        golden_id: row.try_get("golden_id")?,
        tier: Tier::parse(&tier)
            .ok_or_else(|| StoreError::Corrupt(format!("customer value tier `{tier}`")))?,
        stage: Stage::parse(&stage)
            .ok_or_else(|| StoreError::Corrupt(format!("customer value stage `{stage}`")))?,
        order_count: row.try_get("order_count")?,
        first_order: row.try_get("first_order")?,
        last_order: row.try_get("last_order")?,
        revenue: from_text(row.try_get("revenue")?, "customer revenue")?,
        average_order_value: from_text(
            row.try_get("average_order_value")?,
            "customer average order value",
        )?,
    })
}

#[async_trait]
impl CustomerValues for PgStore {
    async fn live_customers(&self) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query(
            "SELECT id, version FROM golden WHERE entity = 'customer' AND NOT deleted \
             AND redirect_to IS NULL ORDER BY id",
        )
        .fetch(&self.pool)
        .map(|row| pair(&row?, ("id", "version")))
        .try_collect()
        .await
    }

    async fn customer_redirects(&self) -> Result<HashMap<String, String>, StoreError> {
        sqlx::query(
            "SELECT id, redirect_to FROM golden WHERE entity = 'customer' AND redirect_to IS NOT NULL",
        )
        .fetch(&self.pool)
        .map(|row| pair(&row?, ("id", "redirect_to")))
        .try_collect()
        .await
    }

    async fn order_facts(&self) -> Result<Vec<OrderFact>, StoreError> {
        sqlx::query(ORDER_FACTS)
            .fetch(&self.pool)
            .map(|row| order_fact(&row?))
            .try_collect()
            .await
    }

    fn value_stream<'a>(
        &'a self,
        ids: Option<&'a [&'a str]>,
    ) -> BoxStream<'a, Result<CustomerValue, StoreError>> {
        sqlx::query(
            "SELECT golden_id, tier, stage, order_count, first_order, last_order, revenue, \
             average_order_value FROM customer_value \
             WHERE $1::text[] IS NULL OR golden_id = ANY($1) ORDER BY golden_id",
        )
        .bind(ids)
        .fetch(&self.pool)
        .map(|row| customer_value(&row?))
        .boxed()
    }

    async fn write_values(
        &self,
        writes: &mut (dyn Iterator<Item = ValueWrite> + Send),
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut outbox_locked = false;
        for write in writes.filter(|write| !write.is_empty()) {
            if !outbox_locked && !write.events.is_empty() {
                lock_outbox_order(&mut tx).await?;
                outbox_locked = true;
            }
            write_slice(&mut tx, &write).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// One slice of a value pass, in the pass's transaction (which holds the outbox order lock once
/// the slice has events).
async fn write_slice(tx: &mut PgConnection, write: &ValueWrite) -> Result<(), StoreError> {
    if !write.values.is_empty() {
        let values = &write.values;
        sqlx::query(
            "INSERT INTO customer_value (golden_id, tier, stage, order_count, first_order, \
             last_order, revenue, average_order_value, updated_at) \
             SELECT u.*, $9 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], \
             $5::date[], $6::date[], $7::text[], $8::text[]) AS u \
             ON CONFLICT (golden_id) DO UPDATE SET tier = excluded.tier, stage = excluded.stage, \
             order_count = excluded.order_count, first_order = excluded.first_order, \
             last_order = excluded.last_order, revenue = excluded.revenue, \
             average_order_value = excluded.average_order_value, updated_at = excluded.updated_at",
        )
        .bind(
            values
                .iter()
                .map(|v| v.golden_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(values.iter().map(|v| v.tier.as_str()).collect::<Vec<_>>())
        .bind(values.iter().map(|v| v.stage.as_str()).collect::<Vec<_>>())
        .bind(values.iter().map(|v| v.order_count).collect::<Vec<_>>())
        .bind(values.iter().map(|v| v.first_order).collect::<Vec<_>>())
        .bind(values.iter().map(|v| v.last_order).collect::<Vec<_>>())
        .bind(
            values
                .iter()
                .map(|v| to_text(&v.revenue))
                .collect::<Vec<_>>(),
        )
        .bind(
            values
                .iter()
                .map(|v| to_text(&v.average_order_value))
                .collect::<Vec<_>>(),
        )
        .bind(write.at)
        .execute(&mut *tx)
        .await?;
    }
    if !write.removed.is_empty() {
        sqlx::query("DELETE FROM customer_value WHERE golden_id = ANY($1)")
            .bind(&write.removed)
            .execute(&mut *tx)
            .await?;
    }
    let events = &write.events;
    if !events.is_empty() {
        sqlx::query(
            "INSERT INTO outbox (event_id, entity, operation, golden_id, version, detail, at) \
             SELECT event_id, 'customer', operation, golden_id, version, detail, $6 \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[]) \
             WITH ORDINALITY AS u(event_id, operation, golden_id, version, detail, n) ORDER BY n",
        )
        .bind(
            events
                .iter()
                .map(|e| e.event_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            events
                .iter()
                .map(|e| e.operation.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            events
                .iter()
                .map(|e| e.golden_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(events.iter().map(|e| e.version).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.detail.as_str()).collect::<Vec<_>>())
        .bind(write.at)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
