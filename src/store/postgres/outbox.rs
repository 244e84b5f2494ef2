//! The outbox on PostgreSQL: events read with the version each announces, marked once published.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::super::columns::{self, EVENT_SELECT};
use super::super::{Outbox, ParkedEvent, StoreError, StoredEvent};
use super::{PgStore, parked};

fn stored_event(row: &PgRow) -> Result<StoredEvent, StoreError> {
    columns::stored_event(row, row.try_get("at")?, row.try_get("published_at")?)
}

#[async_trait]
impl Outbox for PgStore {
    async fn events(&self, after_seq: i64, limit: i64) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(&format!(
            "{EVENT_SELECT} WHERE o.seq > $1 ORDER BY o.seq LIMIT $2"
        ))
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_event).collect()
    }

    async fn park_event(&self, seq: i64, reason: &str) -> Result<(), StoreError> {
        parked::park(&self.pool, seq, reason).await
    }

    async fn parked_events(&self, limit: i64) -> Result<Vec<ParkedEvent>, StoreError> {
        parked::list(&self.pool, limit).await
    }

    async fn unpark_event(&self, event_id: &str) -> Result<bool, StoreError> {
        parked::unpark(&self.pool, event_id).await
    }

    async fn pending_events(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(&format!(
            "{EVENT_SELECT} WHERE o.published_at IS NULL AND o.parked_at IS NULL AND o.seq > $1 \
             ORDER BY o.seq LIMIT $2"
        ))
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_event).collect()
    }

    async fn mark_published(&self, seqs: &[i64]) -> Result<(), StoreError> {
        if seqs.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "UPDATE outbox SET published_at = $1 WHERE published_at IS NULL AND seq = ANY($2)",
        )
        .bind(Utc::now())
        .bind(seqs)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn first_seq_since(&self, time: DateTime<Utc>) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT MIN(seq) AS seq FROM outbox WHERE at >= $1")
            .bind(time)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("seq")?)
    }

    async fn event_seq(&self, event_id: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT seq FROM outbox WHERE event_id = $1")
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(r.try_get("seq")?)).transpose()
    }
}
