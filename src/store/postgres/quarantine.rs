//! Listing quarantined records and marking replayed ones (migration 0008), as on SQLite.

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::store::columns::from_text;
use crate::store::{QuarantineEntry, StoreError, StoredQuarantine};

const COLUMNS: &str = "id, run_id, times_seen, source, origin, source_key, mapping, reason, payload, \
                       stream, at, resolved_at";

/// Quarantined records, newest first; resolved ones only with `all`.
pub(super) async fn list(
    pool: &PgPool,
    all: bool,
    limit: i64,
) -> Result<Vec<StoredQuarantine>, StoreError> {
    let filter = if all { "" } else { "WHERE resolved_at IS NULL" };
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM quarantine {filter} ORDER BY at DESC, id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(stored).collect()
}

/// Open entries of `source` a mapping refused, with their payload, oldest first after `after_id`.
pub(super) async fn to_replay(
    pool: &PgPool,
    source: &str,
    after_id: i64,
    limit: i64,
) -> Result<Vec<StoredQuarantine>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM quarantine WHERE source = $1 AND id > $2 AND resolved_at IS NULL \
         AND mapping IS NOT NULL AND payload <> 'null' ORDER BY id LIMIT $3"
    ))
    .bind(source)
    .bind(after_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(stored).collect()
}

pub(super) async fn resolve(pool: &PgPool, ids: &[i64]) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE quarantine SET resolved_at = now() WHERE id = ANY($1) AND resolved_at IS NULL",
    )
    .bind(ids)
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives an entry its new reason. When another entry already holds the same failure of the same
/// record (a sync met it since), that one stays and this one is resolved into it.
pub(super) async fn requarantine(
    pool: &PgPool,
    id: i64,
    entry: &QuarantineEntry,
) -> Result<(), StoreError> {
    let fingerprint = entry.fingerprint();
    let mut tx = pool.begin().await?;
    let twin: Option<i64> =
        sqlx::query_scalar("SELECT id FROM quarantine WHERE fingerprint = $1 AND id <> $2")
            .bind(&fingerprint)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    if twin.is_some() {
        sqlx::query("UPDATE quarantine SET resolved_at = now() WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    } else {
        sqlx::query(
            "UPDATE quarantine SET fingerprint = $1, reason = $2, mapping = $3, source_key = $4, \
             at = now(), times_seen = times_seen + 1 WHERE id = $5",
        )
        .bind(&fingerprint)
        .bind(crate::redact::scrub(&entry.reason).into_owned())
        .bind(&entry.mapping)
        .bind(&entry.key)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

fn stored(row: &PgRow) -> Result<StoredQuarantine, StoreError> {
    Ok(StoredQuarantine {
        id: row.try_get("id")?,
        run_id: row.try_get("run_id")?,
        times_seen: row.try_get("times_seen")?,
        entry: QuarantineEntry {
            source: row.try_get("source")?,
            origin: row.try_get("origin")?,
            key: row.try_get("source_key")?,
            mapping: row.try_get("mapping")?,
            reason: row.try_get("reason")?,
            payload: from_text(row.try_get("payload")?, "quarantined payload")?,
            stream: row.try_get("stream")?,
        },
        at: row.try_get("at")?,
        resolved_at: row.try_get("resolved_at")?,
    })
}
