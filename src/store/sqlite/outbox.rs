//! The outbox on SQLite: events read with the version each announces, marked once published.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::super::columns::{self, EVENT_SELECT};
use super::super::{Outbox, ParkedEvent, StoreError, StoredEvent};
use super::{SqliteStore, parked, parse_time, time_text};

fn stored_event(row: &SqliteRow) -> Result<StoredEvent, StoreError> {
    let published_at: Option<&str> = row.try_get("published_at")?;
    columns::stored_event(
        row,
        parse_time(row.try_get("at")?)?,
        published_at.map(parse_time).transpose()?,
    )
}

#[async_trait]
impl Outbox for SqliteStore {
    async fn events(&self, after_seq: i64, limit: i64) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(&format!(
            "{EVENT_SELECT} WHERE o.seq > ? ORDER BY o.seq LIMIT ?"
        ))
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored_event).collect()
    }

    async fn pending_events(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(&format!(
            "{EVENT_SELECT} WHERE o.published_at IS NULL AND o.parked_at IS NULL AND o.seq > ? \
             ORDER BY o.seq LIMIT ?"
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
        let seqs_json = Value::Array(seqs.iter().map(|&s| Value::from(s)).collect()).to_string();
        sqlx::query(
            "UPDATE outbox SET published_at = ? \
             WHERE published_at IS NULL AND seq IN (SELECT value FROM json_each(?))",
        )
        .bind(time_text(&Utc::now()))
        .bind(seqs_json)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn first_seq_since(&self, time: DateTime<Utc>) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT MIN(seq) AS seq FROM outbox WHERE at >= ?")
            .bind(time_text(&time))
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("seq")?)
    }

    async fn event_seq(&self, event_id: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT seq FROM outbox WHERE event_id = ?")
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(r.try_get("seq")?)).transpose()
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
}
