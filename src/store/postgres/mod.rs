//! The shared store: PostgreSQL, for production and for several Concord instances on one store.
//!
//! Same tables, semantics and orderings as the SQLite store (see `migrations/postgres/`). A batch
//! is written with one multi-row statement per table, each column bound as one array and expanded
//! by `UNNEST` (see [`commit`]): one statement per row would cost a network round trip each.
//! Lookups pass their keys as one array too (`= ANY($1)`).
//!
//! Advisory locks taken here use the two-key form with [`LOCK_CLASS`] as the first key, so they
//! never collide with other users of the database; the second key says what is locked.

mod commit;
mod directory;
mod fold;
mod matching;
mod outbox;
mod parked;
mod quarantine;
mod value;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Row, migrate::Migrator};

use super::columns::{from_text, parse_entity};
use super::{
    Audit, Batch, BatchWriter, Contributor, Counts, Decision, Fields, GoldenState, MatchIndex,
    QualityEntry, Quarantine, QuarantineEntry, ReferenceWrite, ReviewItem, ReviewStatus, RunLog,
    RunStatus, Stewardship, StoreError, StoredMember, StoredQualityNote, StoredQuarantine,
    VersionRow, XrefHit, lineage_text,
};
use crate::model::EntityKind;

/// First key of every advisory lock Concord takes (`"conc"` in ASCII).
pub const LOCK_CLASS: i32 = 0x636f_6e63;
/// Second key of the lock that outbox writers hold from their insert to their commit.
pub const OUTBOX_ORDER_LOCK: i32 = 1;

/// Takes the lock every outbox writer holds from its insert to its commit, so sequence numbers
/// become visible in the order they are drawn (a reader after seq N never later finds a smaller
/// one committed).
async fn lock_outbox_order(tx: &mut sqlx::PgConnection) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(LOCK_CLASS)
        .bind(OUTBOX_ORDER_LOCK)
        .execute(tx)
        .await?;
    Ok(())
}

/// Connections per process: the sync's reads beside the batch being committed, and the relay.
const POOL_SIZE: u32 = 4;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// A PostgreSQL-backed [`Store`].
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, with any libpq-style
    /// parameters sqlx accepts, such as `sslmode` or `options=-csearch_path%3Dconcord`) and
    /// migrates the schema. The tables go into the first schema of the search path.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        let open_error = |source| StoreError::Open {
            url: crate::url::shown(url),
            source,
        };
        // Every lookup passes a batch's keys as one array. A cached generic plan cannot see how
        // many: PostgreSQL then scans the source's whole index range and tests each row against
        // the array one element at a time (4 s instead of 17 ms for 5,000 keys among 50,000).
        // Planning each statement for its actual arguments costs well under a millisecond.
        let options = PgConnectOptions::from_str(url)
            .map_err(open_error)?
            .options([("plan_cache_mode", "force_custom_plan")]);
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(open_error)?;
        MIGRATOR.run(&pool).await?;
        Ok(PgStore { pool })
    }
}

fn contributor(row: &PgRow) -> Result<(String, Contributor), StoreError> {
    Ok((
        row.try_get("golden_id")?,
        Contributor {
            source: row.try_get("source")?,
            key: row.try_get("source_key")?,
            record: from_text(row.try_get("record")?, "xref record")?,
            changed_at: row.try_get("changed_at")?,
            deleted: row.try_get("deleted")?,
            origin: row.try_get("origin")?,
            field_times: match row.try_get::<Option<String>, _>("field_times")? {
                Some(text) => from_text(&text, "xref field times")?,
                None => Default::default(),
            },
        },
    ))
}

#[async_trait]
impl RunLog for PgStore {
    async fn begin_run(&self, source: &str, full: bool) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO sync_run (source, full_sync, started_at, status) VALUES ($1, $2, $3, 'running') RETURNING id",
        )
        .bind(source)
        .bind(full)
        .bind(Utc::now())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    async fn finish_run(
        &self,
        run_id: i64,
        status: RunStatus,
        stats: &Value,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let status = match status {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        };
        sqlx::query(
            "UPDATE sync_run SET finished_at = $1, status = $2, stats = $3, error = $4 WHERE id = $5",
        )
        .bind(Utc::now())
        .bind(status)
        .bind(crate::redact::scrub(&stats.to_string()).into_owned())
        .bind(error.map(|e| crate::redact::scrub(e).into_owned()))
        .bind(run_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn checkpoint(&self, source: &str) -> Result<Option<Value>, StoreError> {
        let row = sqlx::query("SELECT cursor FROM checkpoint WHERE source = $1")
            .bind(source)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| from_text(r.try_get("cursor")?, "checkpoint"))
            .transpose()
    }

    async fn stored_sources(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT DISTINCT source FROM xref ORDER BY source")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| Ok(row.try_get("source")?)).collect()
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        let mut counts = Counts::default();
        let rows = sqlx::query(
            "SELECT entity, COUNT(*) AS n FROM golden WHERE NOT deleted AND redirect_to IS NULL GROUP BY entity",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            counts
                .golden
                .insert(row.try_get("entity")?, row.try_get("n")?);
        }
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM golden_version) AS versions, (SELECT COUNT(*) FROM xref) AS xrefs, \
             (SELECT COUNT(*) FROM outbox) AS events, \
             (SELECT COUNT(*) FROM outbox WHERE published_at IS NULL) AS unpublished, \
             (SELECT at FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT 1) AS oldest_unpublished, \
             (SELECT COUNT(*) FROM quarantine WHERE resolved_at IS NULL) AS quarantined, \
             (SELECT COUNT(*) FROM review WHERE status = 'open') AS open_reviews",
        )
        .fetch_one(&self.pool)
        .await?;
        counts.versions = row.try_get("versions")?;
        counts.xrefs = row.try_get("xrefs")?;
        counts.events = row.try_get("events")?;
        counts.unpublished_events = row.try_get("unpublished")?;
        counts.oldest_unpublished_at = row
            .try_get::<Option<DateTime<Utc>>, _>("oldest_unpublished")?
            .map(|at| at.to_rfc3339_opts(SecondsFormat::Micros, true));
        counts.quarantined = row.try_get("quarantined")?;
        counts.open_reviews = row.try_get("open_reviews")?;
        Ok(counts)
    }
}

#[async_trait]
impl BatchWriter for PgStore {
    async fn commit(&self, batch: &Batch) -> Result<(), StoreError> {
        commit::commit(&self.pool, batch).await
    }

    fn spawn_commit(&self, batch: Arc<Batch>) -> tokio::task::JoinHandle<Result<(), StoreError>> {
        let store = self.clone();
        tokio::spawn(async move { store.commit(&batch).await })
    }
}

#[async_trait]
impl MatchIndex for PgStore {
    async fn xref_lookup(
        &self,
        source: &str,
        entity: EntityKind,
        keys: &[&str],
    ) -> Result<HashMap<String, XrefHit>, StoreError> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query(
            "SELECT source_key, golden_id, content_hash FROM xref \
             WHERE source = $1 AND entity = $2 AND source_key = ANY($3)",
        )
        .bind(source)
        .bind(entity.as_str())
        .bind(keys)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("source_key")?,
                    XrefHit {
                        golden_id: row.try_get("golden_id")?,
                        content_hash: row.try_get("content_hash")?,
                    },
                ))
            })
            .collect()
    }

    async fn match_lookup(
        &self,
        entity: EntityKind,
        rule: &str,
        values: &[&str],
    ) -> Result<HashMap<String, String>, StoreError> {
        if values.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query(
            "SELECT value, golden_id FROM match_key WHERE entity = $1 AND rule = $2 AND value = ANY($3)",
        )
        .bind(entity.as_str())
        .bind(rule)
        .bind(values)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("value")?, row.try_get("golden_id")?)))
            .collect()
    }

    async fn load_goldens(&self, ids: &[&str]) -> Result<Vec<GoldenState>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let golden_rows = sqlx::query(
            "SELECT g.id, g.entity, g.version, v.record, v.lineage, g.deleted FROM golden g \
             JOIN golden_version v ON v.id = g.id AND v.version = g.version \
             WHERE g.id = ANY($1) ORDER BY g.id",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        let xref_rows = sqlx::query(
            "SELECT golden_id, source, source_key, record, changed_at, deleted, origin, field_times FROM xref \
             WHERE golden_id = ANY($1) ORDER BY source, source_key",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        let mut contributors: HashMap<String, Vec<Contributor>> = HashMap::new();
        for row in &xref_rows {
            let (golden_id, contributor) = contributor(row)?;
            contributors.entry(golden_id).or_default().push(contributor);
        }
        golden_rows
            .iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                Ok(GoldenState {
                    entity: parse_entity(row.try_get("entity")?)?,
                    version: row.try_get("version")?,
                    record: from_text(row.try_get("record")?, "golden record")?,
                    lineage: lineage_text::decode(row.try_get("lineage")?)?,
                    deleted: row.try_get("deleted")?,
                    contributors: contributors.remove(&id).unwrap_or_default(),
                    id,
                })
            })
            .collect()
    }

    async fn term_counts(
        &self,
        entity: EntityKind,
        term: &str,
        values: &[&str],
    ) -> Result<crate::store::TermCounts, StoreError> {
        matching::term_counts(&self.pool, entity, term, values).await
    }

    async fn source_keys(
        &self,
        source: &str,
        entity: EntityKind,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT source_key FROM xref WHERE source = $1 AND entity = $2 AND NOT deleted \
             ORDER BY source_key",
        )
        .bind(source)
        .bind(entity.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok(row.try_get("source_key")?))
            .collect()
    }

    async fn block_lookup(
        &self,
        entity: EntityKind,
        values: &[&str],
    ) -> Result<HashMap<String, Vec<String>>, StoreError> {
        matching::block_lookup(&self.pool, entity, values).await
    }

    async fn golden_records(&self, ids: &[&str]) -> Result<HashMap<String, Fields>, StoreError> {
        matching::golden_records(&self.pool, ids).await
    }

    async fn member_records(&self, ids: &[&str]) -> Result<Vec<StoredMember>, StoreError> {
        matching::member_records(&self.pool, ids).await
    }

    async fn resolve_id(&self, id: &str) -> Result<Option<String>, StoreError> {
        matching::resolve_id(&self.pool, id).await
    }

    async fn merged_into(&self, id: &str) -> Result<Vec<String>, StoreError> {
        matching::merged_into(&self.pool, id).await
    }

    async fn distinct_pairs(&self, ids: &[&str]) -> Result<HashSet<(String, String)>, StoreError> {
        matching::distinct_pairs(&self.pool, ids).await
    }

    async fn pending_references(
        &self,
        entity: EntityKind,
        keys: &[&str],
    ) -> Result<Vec<ReferenceWrite>, StoreError> {
        matching::pending_references(&self.pool, entity, keys).await
    }

    async fn referrers_of(&self, target_ids: &[&str]) -> Result<Vec<String>, StoreError> {
        matching::referrers_of(&self.pool, target_ids).await
    }
}

#[async_trait]
impl Audit for PgStore {
    async fn history(&self, id: &str) -> Result<Vec<VersionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, record, lineage, changed, deleted, run_id, at FROM golden_version WHERE id = $1 ORDER BY version",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(VersionRow {
                    version: row.try_get("version")?,
                    record: from_text::<Fields>(row.try_get("record")?, "version record")?,
                    lineage: lineage_text::decode(row.try_get("lineage")?)?,
                    changed: from_text(row.try_get("changed")?, "version changed fields")?,
                    deleted: row.try_get("deleted")?,
                    run_id: row.try_get("run_id")?,
                    at: row.try_get("at")?,
                })
            })
            .collect()
    }

    async fn pending_reference_list(
        &self,
        referrer: Option<&str>,
        limit: i64,
    ) -> Result<Vec<super::PendingReference>, StoreError> {
        matching::pending_reference_list(&self.pool, referrer, limit).await
    }

    async fn quality_notes(
        &self,
        record: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<StoredQualityNote>, StoreError> {
        let (source, key) = record.unzip();
        let rows = sqlx::query(
            "SELECT run_id, source, source_key, field, origin, reason, at FROM quality_note \
             WHERE ($1::text IS NULL OR (source = $1 AND source_key = $2)) \
             ORDER BY at DESC, id DESC LIMIT $3",
        )
        .bind(source)
        .bind(key)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredQualityNote {
                    run_id: row.try_get("run_id")?,
                    entry: QualityEntry {
                        source: row.try_get("source")?,
                        key: row.try_get("source_key")?,
                        origin: row.try_get("origin")?,
                        field: row.try_get("field")?,
                        reason: row.try_get("reason")?,
                    },
                    at: row.try_get("at")?,
                })
            })
            .collect()
    }

    async fn golden_ids(&self, entity: EntityKind, limit: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM golden WHERE entity = $1 AND NOT deleted AND redirect_to IS NULL ORDER BY id LIMIT $2",
        )
        .bind(entity.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok(row.try_get("id")?)).collect()
    }

    async fn decisions(&self, golden_ids: &[&str]) -> Result<Vec<Decision>, StoreError> {
        matching::decisions(&self.pool, golden_ids).await
    }
}

#[async_trait]
impl Stewardship for PgStore {
    async fn stored_members(&self, entity: EntityKind) -> Result<Vec<StoredMember>, StoreError> {
        matching::stored_members(&self.pool, entity).await
    }

    async fn reviews(
        &self,
        status: Option<ReviewStatus>,
        limit: i64,
    ) -> Result<Vec<ReviewItem>, StoreError> {
        matching::reviews(&self.pool, status, limit).await
    }

    async fn review(&self, id: i64) -> Result<Option<ReviewItem>, StoreError> {
        matching::review(&self.pool, id).await
    }

    async fn source_records(&self, entity: EntityKind) -> Result<Vec<Fields>, StoreError> {
        let rows = sqlx::query(
            "SELECT record FROM xref WHERE entity = $1 AND NOT deleted ORDER BY position",
        )
        .bind(entity.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| from_text(row.try_get("record")?, "xref record"))
            .collect()
    }
}

#[async_trait]
impl Quarantine for PgStore {
    async fn quarantined(&self, limit: i64) -> Result<Vec<StoredQuarantine>, StoreError> {
        quarantine::list(&self.pool, false, limit).await
    }

    async fn quarantined_all(&self, limit: i64) -> Result<Vec<StoredQuarantine>, StoreError> {
        quarantine::list(&self.pool, true, limit).await
    }

    async fn quarantine_to_replay(
        &self,
        source: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredQuarantine>, StoreError> {
        quarantine::to_replay(&self.pool, source, after_id, limit).await
    }

    async fn resolve_quarantine(&self, ids: &[i64]) -> Result<(), StoreError> {
        quarantine::resolve(&self.pool, ids).await
    }

    async fn requarantine(&self, id: i64, entry: &QuarantineEntry) -> Result<(), StoreError> {
        quarantine::requarantine(&self.pool, id, entry).await
    }
}
