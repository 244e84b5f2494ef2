//! A batch written to SQLite in one transaction.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use sqlx::{QueryBuilder, Sqlite};

use super::super::columns::to_text;
use super::super::{Batch, BatchWriter, StoreError, lineage_text};
use super::{ROWS_PER_STATEMENT, SqliteStore, keep_prepared, matching, time_text};

#[async_trait]
impl BatchWriter for SqliteStore {
    async fn commit(&self, batch: &Batch) -> Result<(), StoreError> {
        let now = time_text(&Utc::now());
        let mut tx = self.pool.begin().await?;
        matching::apply_merges(&mut tx, &batch.matching, &now).await?;
        for rows in batch.xrefs.chunks(ROWS_PER_STATEMENT) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO xref (source, entity, source_key, golden_id, content_hash, record, changed_at, deleted, origin, run_id, updated_at, field_times) ",
            );
            query.push_values(rows, |mut b, x| {
                b.push_bind(&x.source)
                    .push_bind(x.entity.as_str())
                    .push_bind(&x.key)
                    .push_bind(&x.golden_id)
                    .push_bind(&x.content_hash)
                    .push_bind(&x.record_text)
                    .push_bind(x.changed_at.as_ref().map(time_text))
                    .push_bind(x.deleted)
                    .push_bind(&x.origin)
                    .push_bind(batch.run_id)
                    .push_bind(&now)
                    .push_bind(serde_json::to_string(&x.field_times).ok());
            });
            query.push(
                " ON CONFLICT (source, entity, source_key) DO UPDATE SET golden_id = excluded.golden_id, \
                 content_hash = excluded.content_hash, record = excluded.record, changed_at = excluded.changed_at, \
                 deleted = excluded.deleted, origin = excluded.origin, run_id = excluded.run_id, updated_at = excluded.updated_at, \
                 field_times = excluded.field_times",
            );
            query
                .build()
                .persistent(keep_prepared(rows))
                .execute(&mut *tx)
                .await?;
        }
        for rows in batch.match_keys.chunks(ROWS_PER_STATEMENT) {
            let mut query: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT INTO match_key (entity, rule, value, golden_id) ");
            query.push_values(rows, |mut b, k| {
                b.push_bind(k.entity.as_str())
                    .push_bind(&k.rule)
                    .push_bind(&k.value)
                    .push_bind(&k.golden_id);
            });
            query.push(" ON CONFLICT (entity, rule, value) DO NOTHING");
            query
                .build()
                .persistent(keep_prepared(rows))
                .execute(&mut *tx)
                .await?;
        }
        for rows in batch.goldens.chunks(ROWS_PER_STATEMENT) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO golden (id, entity, version, deleted, created_at, updated_at) ",
            );
            query.push_values(rows, |mut b, g| {
                b.push_bind(&g.id)
                    .push_bind(g.entity.as_str())
                    .push_bind(g.version)
                    .push_bind(g.deleted)
                    .push_bind(&now)
                    .push_bind(&now);
            });
            query.push(
                " ON CONFLICT (id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted, \
                 updated_at = excluded.updated_at",
            );
            query
                .build()
                .persistent(keep_prepared(rows))
                .execute(&mut *tx)
                .await?;

            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO golden_version (id, version, record, lineage, changed, deleted, run_id, at) ",
            );
            query.push_values(rows, |mut b, g| {
                b.push_bind(&g.id)
                    .push_bind(g.version)
                    .push_bind(to_text(&g.record))
                    .push_bind(lineage_text::encode(&g.lineage))
                    .push_bind(to_text(&g.changed))
                    .push_bind(g.deleted)
                    .push_bind(batch.run_id)
                    .push_bind(&now);
            });
            query
                .build()
                .persistent(keep_prepared(rows))
                .execute(&mut *tx)
                .await?;
        }
        for rows in batch.events.chunks(ROWS_PER_STATEMENT) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO outbox (event_id, entity, operation, golden_id, version, merged, at) ",
            );
            query.push_values(rows, |mut b, e| {
                b.push_bind(&e.event_id)
                    .push_bind(e.entity.as_str())
                    .push_bind(e.operation.as_str())
                    .push_bind(&e.golden_id)
                    .push_bind(e.version)
                    .push_bind((!e.merged.is_empty()).then(|| to_text(&e.merged)))
                    .push_bind(time_text(&e.at));
            });
            query
                .build()
                .persistent(keep_prepared(rows))
                .execute(&mut *tx)
                .await?;
        }
        for rows in batch.quarantine.chunks(ROWS_PER_STATEMENT) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO quarantine (fingerprint, run_id, source, origin, source_key, mapping, reason, payload, at, stream) ",
            );
            query.push_values(rows, |mut b, q| {
                b.push_bind(q.fingerprint())
                    .push_bind(batch.run_id)
                    .push_bind(&q.source)
                    .push_bind(&q.origin)
                    .push_bind(&q.key)
                    .push_bind(&q.mapping)
                    .push_bind(crate::redact::scrub(&q.reason).into_owned())
                    .push_bind(crate::redact::scrub_json(&q.payload).to_string())
                    .push_bind(&now)
                    .push_bind(&q.stream);
            });
            query.push(
                " ON CONFLICT (fingerprint) DO UPDATE SET run_id = excluded.run_id, at = excluded.at, \
                 times_seen = quarantine.times_seen + 1",
            );
            query
                .build()
                .persistent(keep_prepared(rows))
                .execute(&mut *tx)
                .await?;
        }
        for rows in batch.quality.chunks(ROWS_PER_STATEMENT) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO quality_note (run_id, source, source_key, field, origin, reason, at) ",
            );
            query.push_values(rows, |mut b, q| {
                b.push_bind(batch.run_id)
                    .push_bind(&q.source)
                    .push_bind(&q.key)
                    .push_bind(&q.field)
                    .push_bind(&q.origin)
                    .push_bind(&q.reason)
                    .push_bind(&now);
            });
            query.push(
                " ON CONFLICT (source, source_key, field) DO UPDATE SET run_id = excluded.run_id, \
                 origin = excluded.origin, reason = excluded.reason, at = excluded.at",
            );
            query
                .build()
                .persistent(keep_prepared(rows))
                .execute(&mut *tx)
                .await?;
        }
        matching::write(&mut tx, &batch.matching, batch.run_id, &now).await?;
        if let Some(cursor) = &batch.checkpoint {
            sqlx::query(
                "INSERT INTO checkpoint (source, cursor, run_id, updated_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, run_id = excluded.run_id, updated_at = excluded.updated_at",
            )
            .bind(&batch.source)
            .bind(cursor.to_string())
            .bind(batch.run_id)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    fn spawn_commit(&self, batch: Arc<Batch>) -> tokio::task::JoinHandle<Result<(), StoreError>> {
        let store = self.clone();
        tokio::spawn(async move { store.commit(&batch).await })
    }
}
