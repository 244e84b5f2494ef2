//! Writing a batch: one transaction, one `INSERT … SELECT FROM UNNEST(…)` per table with every
//! column bound as one array, so a batch of 10,000 records costs a handful of round trips.
//!
//! SQLite applies the rows of a multi-row upsert one after the other; PostgreSQL refuses a
//! statement that updates one row twice. Rows sharing a key are therefore folded first, the way
//! SQLite would leave them: the position of the first, the values of the last.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::fold::folded;
use super::{lock_outbox_order, matching};
use crate::store::columns::to_text;
use crate::store::{Batch, StoreError, lineage_text};

/// Writes a batch, its checkpoint and its events in one transaction.
pub async fn commit(pool: &PgPool, batch: &Batch) -> Result<(), StoreError> {
    let now = Utc::now();
    let mut tx = pool.begin().await?;
    matching::apply_merges(&mut tx, &batch.matching, now).await?;
    write_xrefs(&mut tx, batch, now).await?;
    write_match_keys(&mut tx, batch).await?;
    write_goldens(&mut tx, batch, now).await?;
    write_quarantine(&mut tx, batch, now).await?;
    write_quality(&mut tx, batch, now).await?;
    matching::write(&mut tx, &batch.matching, batch.run_id, now).await?;
    if let Some(cursor) = &batch.checkpoint {
        sqlx::query(
            "INSERT INTO checkpoint (source, cursor, run_id, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, run_id = excluded.run_id, \
             updated_at = excluded.updated_at",
        )
        .bind(&batch.source)
        .bind(cursor.to_string())
        .bind(batch.run_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    // Last, so the outbox lock is held only for this insert and the commit.
    write_events(&mut tx, batch).await?;
    tx.commit().await?;
    Ok(())
}

async fn write_xrefs(
    tx: &mut PgConnection,
    batch: &Batch,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if batch.xrefs.is_empty() {
        return Ok(());
    }
    let rows = folded(&batch.xrefs, |x| (&x.source, x.entity, &x.key));
    sqlx::query(
        "INSERT INTO xref (source, entity, source_key, golden_id, content_hash, record, changed_at, \
         deleted, origin, field_times, run_id, updated_at) \
         SELECT u.*, $11, $12 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], \
         $6::text[], $7::timestamptz[], $8::boolean[], $9::text[], $10::text[]) AS u \
         ON CONFLICT (source, entity, source_key) DO UPDATE SET golden_id = excluded.golden_id, \
         content_hash = excluded.content_hash, record = excluded.record, changed_at = excluded.changed_at, \
         deleted = excluded.deleted, origin = excluded.origin, field_times = excluded.field_times, \
         run_id = excluded.run_id, updated_at = excluded.updated_at",
    )
    .bind(rows.iter().map(|x| x.source.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|x| x.entity.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|x| x.key.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|x| x.golden_id.as_str()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|x| x.content_hash.as_slice())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|x| x.record_text.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|x| x.changed_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|x| x.deleted).collect::<Vec<_>>())
    .bind(rows.iter().map(|x| x.origin.as_str()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|x| serde_json::to_string(&x.field_times).ok())
            .collect::<Vec<_>>(),
    )
    .bind(batch.run_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn write_match_keys(tx: &mut PgConnection, batch: &Batch) -> Result<(), StoreError> {
    let keys = &batch.match_keys;
    if keys.is_empty() {
        return Ok(());
    }
    // DO NOTHING keeps the first of equal keys within one statement too, as SQLite does.
    sqlx::query(
        "INSERT INTO match_key (entity, rule, value, golden_id) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) \
         ON CONFLICT (entity, rule, value) DO NOTHING",
    )
    .bind(keys.iter().map(|k| k.entity.as_str()).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.rule.as_str()).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.value.as_str()).collect::<Vec<_>>())
    .bind(
        keys.iter()
            .map(|k| k.golden_id.as_str())
            .collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn write_goldens(
    tx: &mut PgConnection,
    batch: &Batch,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let goldens = &batch.goldens;
    if goldens.is_empty() {
        return Ok(());
    }
    let current = folded(goldens, |g| g.id.as_str());
    sqlx::query(
        "INSERT INTO golden (id, entity, version, deleted, created_at, updated_at) \
         SELECT u.*, $5, $5 FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::boolean[]) AS u \
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted, \
         updated_at = excluded.updated_at",
    )
    .bind(current.iter().map(|g| g.id.as_str()).collect::<Vec<_>>())
    .bind(
        current
            .iter()
            .map(|g| g.entity.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(current.iter().map(|g| g.version).collect::<Vec<_>>())
    .bind(current.iter().map(|g| g.deleted).collect::<Vec<_>>())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO golden_version (id, version, record, lineage, changed, deleted, run_id, at) \
         SELECT u.*, $7, $8 FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
         $6::boolean[]) AS u",
    )
    .bind(goldens.iter().map(|g| g.id.as_str()).collect::<Vec<_>>())
    .bind(goldens.iter().map(|g| g.version).collect::<Vec<_>>())
    .bind(goldens.iter().map(|g| to_text(&g.record)).collect::<Vec<_>>())
    .bind(
        goldens
            .iter()
            .map(|g| lineage_text::encode(&g.lineage))
            .collect::<Vec<_>>(),
    )
    .bind(goldens.iter().map(|g| to_text(&g.changed)).collect::<Vec<_>>())
    .bind(goldens.iter().map(|g| g.deleted).collect::<Vec<_>>())
    .bind(batch.run_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn write_quarantine(
    tx: &mut PgConnection,
    batch: &Batch,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if batch.quarantine.is_empty() {
        return Ok(());
    }
    // The same failure twice in one batch is one row seen twice, as in SQLite: the first entry's
    // columns, counted once per occurrence.
    let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut rows: Vec<(Vec<u8>, &crate::store::QuarantineEntry, i64)> = Vec::new();
    for entry in &batch.quarantine {
        let fingerprint = entry.fingerprint();
        match seen.get(&fingerprint) {
            Some(&at) => rows[at].2 += 1,
            None => {
                seen.insert(fingerprint.clone(), rows.len());
                rows.push((fingerprint, entry, 1));
            }
        }
    }
    sqlx::query(
        "INSERT INTO quarantine (fingerprint, times_seen, source, origin, source_key, mapping, reason, \
         payload, stream, run_id, at) \
         SELECT u.*, $9, $10 FROM UNNEST($1::bytea[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
         $6::text[], $7::text[], $8::text[], $11::text[]) AS u \
         ON CONFLICT (fingerprint) DO UPDATE SET run_id = excluded.run_id, at = excluded.at, \
         times_seen = quarantine.times_seen + excluded.times_seen",
    )
    .bind(rows.iter().map(|r| r.0.as_slice()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.2).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1.source.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1.origin.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1.key.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.1.mapping.as_deref()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| crate::redact::scrub(&r.1.reason).into_owned())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| crate::redact::scrub_json(&r.1.payload).to_string())
            .collect::<Vec<_>>(),
    )
    .bind(batch.run_id)
    .bind(now)
    .bind(rows.iter().map(|r| r.1.stream.as_deref()).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Upserts the batch's data-quality notes: the last note per source record and field wins, as
/// on SQLite.
async fn write_quality(
    tx: &mut PgConnection,
    batch: &Batch,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut latest: HashMap<(&str, &str, &str), &crate::store::QualityEntry> = HashMap::new();
    for note in &batch.quality {
        latest.insert((&note.source, &note.key, &note.field), note);
    }
    if latest.is_empty() {
        return Ok(());
    }
    let notes: Vec<_> = latest.into_values().collect();
    sqlx::query(
        "INSERT INTO quality_note (source, source_key, field, origin, reason, run_id, at) \
         SELECT u.*, $6, $7 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u \
         ON CONFLICT (source, source_key, field) DO UPDATE SET run_id = excluded.run_id, \
         origin = excluded.origin, reason = excluded.reason, at = excluded.at",
    )
    .bind(notes.iter().map(|n| n.source.as_str()).collect::<Vec<_>>())
    .bind(notes.iter().map(|n| n.key.as_str()).collect::<Vec<_>>())
    .bind(notes.iter().map(|n| n.field.as_str()).collect::<Vec<_>>())
    .bind(notes.iter().map(|n| n.origin.as_str()).collect::<Vec<_>>())
    .bind(notes.iter().map(|n| n.reason.as_str()).collect::<Vec<_>>())
    .bind(batch.run_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Inserts the batch's events in order. The transaction first takes the outbox lock and keeps it
/// until it commits, so sequence numbers are committed in the order they are drawn.
async fn write_events(tx: &mut PgConnection, batch: &Batch) -> Result<(), StoreError> {
    let events = &batch.events;
    if events.is_empty() {
        return Ok(());
    }
    lock_outbox_order(tx).await?;
    sqlx::query(
        "INSERT INTO outbox (event_id, entity, operation, golden_id, version, merged, at) \
         SELECT event_id, entity, operation, golden_id, version, merged, at \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], \
         $7::timestamptz[]) WITH ORDINALITY AS u(event_id, entity, operation, golden_id, version, \
         merged, at, n) ORDER BY n",
    )
    .bind(
        events
            .iter()
            .map(|e| e.event_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(events.iter().map(|e| e.entity.as_str()).collect::<Vec<_>>())
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
    .bind(
        events
            .iter()
            .map(|e| (!e.merged.is_empty()).then(|| to_text(&e.merged)))
            .collect::<Vec<_>>(),
    )
    .bind(events.iter().map(|e| e.at).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::folded;

    #[test]
    fn folding_keeps_first_positions_and_last_values() {
        let rows = [("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5)];
        let kept: Vec<(&str, i32)> = folded(&rows, |r| r.0).into_iter().copied().collect();
        assert_eq!(kept, vec![("a", 3), ("b", 5), ("c", 4)]);
    }
}
