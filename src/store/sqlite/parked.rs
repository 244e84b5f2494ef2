//! The parked events of the outbox (migration 0005).

use chrono::Utc;
use sqlx::{Row, SqlitePool};

use super::{parse_time, time_text};
use crate::model::EntityKind;
use crate::store::{ParkedEvent, StoreError};

pub(super) async fn park(pool: &SqlitePool, seq: i64, reason: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox SET parked_at = ?, parked_reason = ? WHERE seq = ? AND published_at IS NULL",
    )
    .bind(time_text(&Utc::now()))
    .bind(crate::redact::scrub(reason).into_owned())
    .bind(seq)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn list(pool: &SqlitePool, limit: i64) -> Result<Vec<ParkedEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, event_id, entity, golden_id, version, parked_at, parked_reason FROM outbox \
         WHERE parked_at IS NOT NULL AND published_at IS NULL ORDER BY seq LIMIT ?",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let entity: String = row.try_get("entity")?;
            let parked_at: String = row.try_get("parked_at")?;
            Ok(ParkedEvent {
                seq: row.try_get("seq")?,
                event_id: row.try_get("event_id")?,
                entity: EntityKind::parse(&entity)
                    .ok_or_else(|| StoreError::Corrupt(format!("outbox entity `{entity}`")))?,
                golden_id: row.try_get("golden_id")?,
                version: row.try_get("version")?,
                parked_at: parse_time(&parked_at)?,
                reason: row
                    .try_get::<Option<String>, _>("parked_reason")?
                    .unwrap_or_default(),
            })
        })
        .collect()
}

pub(super) async fn unpark(pool: &SqlitePool, event_id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE outbox SET parked_at = NULL, parked_reason = NULL \
         WHERE event_id = ? AND parked_at IS NOT NULL AND published_at IS NULL",
    )
    .bind(event_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}
