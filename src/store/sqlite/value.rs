//! Customer values (migration 0009) on SQLite: order facts read with `json_extract` over the
//! current versions of the golden orders, values and their events written in one transaction.

use std::collections::HashMap;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::NaiveDate;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::{ROWS_PER_STATEMENT, SqliteStore, json_array, keep_prepared, time_text};
use crate::model::{CustomerValue, OrderFact, Stage, Tier};
use crate::store::columns::{from_text, to_text};
use crate::store::value::{order_fact, pair};
use crate::store::{CustomerValues, StoreError, ValueWrite};

/// The order fields a value pass reads, as text whatever their JSON type.
const ORDER_FACTS: &str = "SELECT o.id AS order_id, \
     CAST(json_extract(v.record, '$.customer_id') AS TEXT) AS customer_id, \
     CAST(json_extract(v.record, '$.order_date') AS TEXT) AS order_date, \
     CAST(json_extract(v.record, '$.currency') AS TEXT) AS currency, \
     CAST(json_extract(v.record, '$.total_amount') AS TEXT) AS total_amount \
     FROM golden o JOIN golden_version v ON v.id = o.id AND v.version = o.version \
     WHERE o.entity = 'order' AND o.deleted = 0 AND o.redirect_to IS NULL \
     AND json_extract(v.record, '$.customer_id') IS NOT NULL ORDER BY o.id";

fn customer_value(row: &SqliteRow) -> Result<CustomerValue, StoreError> {
    let date = |column: &str| -> Result<Option<NaiveDate>, StoreError> {
        row.try_get::<Option<String>, _>(column)?
            .map(|text| {
                NaiveDate::from_str(&text).map_err(|e| {
                    StoreError::Corrupt(format!("customer value {column} `{text}`: {e}"))
                })
            })
            .transpose()
    };
    let tier: String = row.try_get("tier")?;
    let stage: String = row.try_get("stage")?;
    Ok(CustomerValue {
        golden_id: row.try_get("golden_id")?,
        tier: Tier::parse(&tier)
            .ok_or_else(|| StoreError::Corrupt(format!("customer value tier `{tier}`")))?,
        stage: Stage::parse(&stage)
            .ok_or_else(|| StoreError::Corrupt(format!("customer value stage `{stage}`")))?,
        order_count: row.try_get("order_count")?,
        first_order: date("first_order")?,
        last_order: date("last_order")?,
        revenue: from_text(row.try_get("revenue")?, "customer revenue")?,
        average_order_value: from_text(
            row.try_get("average_order_value")?,
            "customer average order value",
        )?,
    })
}

#[async_trait]
impl CustomerValues for SqliteStore {
    async fn live_customers(&self) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query(
            "SELECT id, version FROM golden WHERE entity = 'customer' AND deleted = 0 \
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
             WHERE ?1 IS NULL OR golden_id IN (SELECT value FROM json_each(?1)) ORDER BY golden_id",
        )
        .bind(ids.map(|ids| json_array(ids.iter().copied())))
        .fetch(&self.pool)
        .map(|row| customer_value(&row?))
        .boxed()
    }

    async fn write_values(
        &self,
        writes: &mut (dyn Iterator<Item = ValueWrite> + Send),
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for write in writes.filter(|write| !write.is_empty()) {
            write_slice(&mut tx, &write).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// One slice of a value pass, in the pass's transaction.
async fn write_slice(tx: &mut SqliteConnection, write: &ValueWrite) -> Result<(), StoreError> {
    let now = time_text(&write.at);
    for rows in write.values.chunks(ROWS_PER_STATEMENT) {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO customer_value (golden_id, tier, stage, order_count, first_order, \
             last_order, revenue, average_order_value, updated_at) ",
        );
        query.push_values(rows, |mut b, v| {
            b.push_bind(&v.golden_id)
                .push_bind(v.tier.as_str())
                .push_bind(v.stage.as_str())
                .push_bind(v.order_count)
                .push_bind(v.first_order.map(|d| d.to_string()))
                .push_bind(v.last_order.map(|d| d.to_string()))
                .push_bind(to_text(&v.revenue))
                .push_bind(to_text(&v.average_order_value))
                .push_bind(&now);
        });
        query.push(
            " ON CONFLICT (golden_id) DO UPDATE SET tier = excluded.tier, stage = excluded.stage, \
             order_count = excluded.order_count, first_order = excluded.first_order, \
             last_order = excluded.last_order, revenue = excluded.revenue, \
             average_order_value = excluded.average_order_value, updated_at = excluded.updated_at",
        );
        query
            .build()
            .persistent(keep_prepared(rows))
            .execute(&mut *tx)
            .await?;
    }
    if !write.removed.is_empty() {
        sqlx::query(
            "DELETE FROM customer_value WHERE golden_id IN (SELECT value FROM json_each(?))",
        )
        .bind(json_array(write.removed.iter().map(String::as_str)))
        .execute(&mut *tx)
        .await?;
    }
    for rows in write.events.chunks(ROWS_PER_STATEMENT) {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO outbox (event_id, entity, operation, golden_id, version, detail, at) ",
        );
        query.push_values(rows, |mut b, e| {
            b.push_bind(&e.event_id)
                .push_bind("customer")
                .push_bind(e.operation.as_str())
                .push_bind(&e.golden_id)
                .push_bind(e.version)
                .push_bind(&e.detail)
                .push_bind(time_text(&e.at));
        });
        query
            .build()
            .persistent(keep_prepared(rows))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
