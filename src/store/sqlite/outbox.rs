//! The outbox on SQLite: events read with the version each announces, marked once published.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::super::{
    Event, Fields, Outbox, ParkedEvent, StoreError, StoredEvent, columns, lineage_text,
};
use super::{SqliteStore, parked, parse_time, time_text};
use columns::{from_text, parse_entity, parse_operation};

/// Outbox rows with the version each announces: the event's payload.
const EVENT_SELECT: &str = "SELECT o.seq, o.event_id, o.entity, o.operation, o.golden_id, o.version, o.at, \
     o.published_at, o.merged, o.detail, v.record, v.lineage, v.changed \
     FROM outbox o JOIN golden_version v ON v.id = o.golden_id AND v.version = o.version";

fn stored_event(row: &SqliteRow) -> Result<StoredEvent, StoreError> {
    let published_at: Option<String> = row.try_get("published_at")?;
    let detail: Option<Fields> = match row.try_get::<Option<String>, _>("detail")? {
        Some(text) => Some(from_text(&text, "event detail")?),
        None => None,
    };
    // An event with a detail (a value event) reports no change of the record it carries.
    let changed: Vec<String> = match detail {
        Some(_) => Vec::new(),
        None => from_text(row.try_get("changed")?, "event changed fields")?,
    };
    let lineage = columns::event_sources(lineage_text::decode(row.try_get("lineage")?)?, &changed);
    Ok(StoredEvent {
        seq: row.try_get("seq")?,
        event: Event {
            event_id: row.try_get("event_id")?,
            entity: parse_entity(row.try_get("entity")?)?,
            operation: parse_operation(row.try_get("operation")?)?,
            golden_id: row.try_get("golden_id")?,
            version: row.try_get("version")?,
            changed,
            record: from_text(row.try_get("record")?, "event record")?,
            sources: lineage,
            merged: match row.try_get::<Option<String>, _>("merged")? {
                Some(text) => from_text(&text, "event merged IDs")?,
                None => Vec::new(),
            },
            detail,
            at: parse_time(row.try_get("at")?)?,
        },
        published_at: published_at.as_deref().map(parse_time).transpose()?,
    })
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
