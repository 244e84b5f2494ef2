//! The embedded store: one SQLite file in WAL mode.
//!
//! Writes go in multi-row `INSERT`s of up to [`ROWS_PER_STATEMENT`] rows inside one transaction per
//! batch: one statement per row is several times slower on SQLite (see DESIGN.md). Key lookups pass
//! their keys as one JSON array expanded by `json_each`, so a batch needs one query per table.

mod commit;
mod directory;
mod library;
mod matching;
mod outbox;
mod parked;
mod quarantine;
mod value;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use super::{
    Audit, Contributor, Counts, Decision, Fields, GoldenState, MatchIndex, PendingReference,
    Quarantine, QuarantineEntry, ReferenceWrite, ReviewItem, ReviewStatus, RunLog, RunStatus,
    Stewardship, StoreError, StoredQuarantine, VersionRow, XrefHit, columns, lineage_text,
};
use super::{QualityEntry, StoredMember, StoredQualityNote};
use crate::model::EntityKind;
use columns::{from_text, parse_entity};

/// Page cache of a sync's connections: a sync touches many pages of several indexes per batch,
/// and SQLite's default 2 MB makes it re-read and spill pages all the time. Each of the two
/// connections fills its own cache on a large store, so this counts twice in a sync's memory;
/// 32 MiB holds the indexes' upper levels with room to spare, and 64 MiB cost 40–70 MiB more
/// at a full sync's peak with no gain in speed.
const SYNC_CACHE_KIB: u32 = 32_768;
/// Page cache of a reading command's connections.
const READER_CACHE_KIB: u32 = 4_096;

/// Rows per multi-row `INSERT`; keeps every statement well under SQLite's bound-parameter limit.
const ROWS_PER_STATEMENT: usize = 500;

/// Whether a multi-row statement stays in the connection's statement cache: only full ones do.
/// One cached statement per remainder size would fill the cache (100 per connection) with large
/// programs rarely used again: a multi-row upsert compiles to code for each of its rows (500 xref
/// rows: 6,544 instructions, 292 KB held by the prepared statement).
fn keep_prepared<T>(rows: &[T]) -> bool {
    rows.len() == ROWS_PER_STATEMENT
}

/// A SQLite-backed [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating when missing) and migrates the database at `url` (`sqlite://PATH` or
    /// `sqlite::memory:`), tuned for a sync.
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        Self::open_with_cache(url, SYNC_CACHE_KIB).await
    }

    /// Opens the database for a command that reads (a listing, `show`): a listing reads each
    /// page once, so a large page cache would only grow its memory with the store's size.
    pub async fn open_reader(url: &str) -> Result<SqliteStore, StoreError> {
        Self::open_with_cache(url, READER_CACHE_KIB).await
    }

    async fn open_with_cache(url: &str, cache_kib: u32) -> Result<SqliteStore, StoreError> {
        library::configure();
        let open_error = |source| StoreError::Open {
            url: url.to_string(),
            source,
        };
        let in_memory = url.contains(":memory:");
        let options = SqliteConnectOptions::from_str(url)
            .map_err(open_error)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(false)
            // WAL checkpoints every ~40 MB instead of every 4 MB.
            .pragma("cache_size", format!("-{cache_kib}"))
            .pragma("wal_autocheckpoint", "10000")
            .pragma("temp_store", "memory");
        if let Some(parent) = options
            .get_filename()
            .parent()
            .filter(|p| !in_memory && !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|e| open_error(sqlx::Error::Io(e)))?;
        }
        let give_up_at = std::time::Instant::now() + OPEN_RACE_WINDOW;
        loop {
            match connect_and_migrate(url, options.clone(), in_memory).await {
                Err(e)
                    if std::time::Instant::now() < give_up_at
                        && another_opener_holds_the_file(&e) =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                result => return result.map(|pool| SqliteStore { pool }),
            }
        }
    }
}

/// How long an open that lost a race with another opener is tried again (see
/// [`another_opener_holds_the_file`]). A store held busy past its busy timeout by a long
/// write is not a race: that attempt ends after the window and its error is returned.
const OPEN_RACE_WINDOW: Duration = Duration::from_secs(5);

async fn connect_and_migrate(
    url: &str,
    options: SqliteConnectOptions,
    in_memory: bool,
) -> Result<SqlitePool, StoreError> {
    let pool = SqlitePoolOptions::new()
        .max_connections(if in_memory { 1 } else { 2 })
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Open {
            url: url.to_string(),
            source,
        })?;
    sqlx::migrate!("migrations/sqlite").run(&pool).await?;
    Ok(pool)
}

/// Two processes opening a new store at once (a daemon and a listing, two cron jobs) race
/// to set it up: switching a new file to WAL can fail with "database is locked" without
/// waiting for the busy timeout, and the slower process's copy of a migration fails with
/// "table already exists" and is rolled back. Both mean another opener is setting the file up;
/// opening again finds it done.
fn another_opener_holds_the_file(error: &StoreError) -> bool {
    use sqlx::migrate::MigrateError;
    const SQLITE_BUSY: i32 = 5;
    let source = match error {
        StoreError::Migrate(MigrateError::ExecuteMigration(..)) => return true,
        StoreError::Open { source, .. } | StoreError::Migrate(MigrateError::Execute(source)) => {
            source
        }
        _ => return false,
    };
    source
        .as_database_error()
        .and_then(|db| db.code())
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == SQLITE_BUSY)
}

fn json_array<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    Value::Array(
        items
            .into_iter()
            .map(|s| Value::String(s.to_string()))
            .collect(),
    )
    .to_string()
}

fn time_text(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("time `{text}`: {e}")))
}

fn contributor(row: &SqliteRow) -> Result<(String, Contributor), StoreError> {
    let changed_at: Option<String> = row.try_get("changed_at")?;
    Ok((
        row.try_get("golden_id")?,
        Contributor {
            source: row.try_get("source")?,
            key: row.try_get("source_key")?,
            record: from_text(row.try_get("record")?, "xref record")?,
            changed_at: changed_at.as_deref().map(parse_time).transpose()?,
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
impl RunLog for SqliteStore {
    async fn begin_run(&self, source: &str, full: bool) -> Result<i64, StoreError> {
        let row = sqlx::query("INSERT INTO sync_run (source, full_sync, started_at, status) VALUES (?, ?, ?, 'running') RETURNING id")
            .bind(source)
            .bind(full)
            .bind(time_text(&Utc::now()))
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
            "UPDATE sync_run SET finished_at = ?, status = ?, stats = ?, error = ? WHERE id = ?",
        )
        .bind(time_text(&Utc::now()))
        .bind(status)
        .bind(crate::redact::scrub(&stats.to_string()).into_owned())
        .bind(error.map(|e| crate::redact::scrub(e).into_owned()))
        .bind(run_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn checkpoint(&self, source: &str) -> Result<Option<Value>, StoreError> {
        let row = sqlx::query("SELECT cursor FROM checkpoint WHERE source = ?")
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
            "SELECT entity, COUNT(*) AS n FROM golden WHERE deleted = 0 AND redirect_to IS NULL GROUP BY entity",
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
        counts.oldest_unpublished_at = row.try_get("oldest_unpublished")?;
        counts.quarantined = row.try_get("quarantined")?;
        counts.open_reviews = row.try_get("open_reviews")?;
        Ok(counts)
    }
}

#[async_trait]
impl MatchIndex for SqliteStore {
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
             WHERE source = ? AND entity = ? AND source_key IN (SELECT value FROM json_each(?))",
        )
        .bind(source)
        .bind(entity.as_str())
        .bind(json_array(keys.iter().copied()))
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
            "SELECT value, golden_id FROM match_key \
             WHERE entity = ? AND rule = ? AND value IN (SELECT value FROM json_each(?))",
        )
        .bind(entity.as_str())
        .bind(rule)
        .bind(json_array(values.iter().copied()))
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
        let ids_json = json_array(ids.iter().copied());
        let golden_rows = sqlx::query(
            "SELECT g.id, g.entity, g.version, v.record, v.lineage, g.deleted FROM golden g \
             JOIN golden_version v ON v.id = g.id AND v.version = g.version \
             WHERE g.id IN (SELECT value FROM json_each(?)) ORDER BY g.id",
        )
        .bind(&ids_json)
        .fetch_all(&self.pool)
        .await?;
        let xref_rows = sqlx::query(
            "SELECT golden_id, source, source_key, record, changed_at, deleted, origin, field_times FROM xref \
             WHERE golden_id IN (SELECT value FROM json_each(?)) ORDER BY source, source_key",
        )
        .bind(&ids_json)
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

    async fn block_lookup(
        &self,
        entity: EntityKind,
        values: &[&str],
    ) -> Result<HashMap<String, Vec<String>>, StoreError> {
        matching::block_lookup(&self.pool, entity, values).await
    }

    async fn block_index(
        &self,
        entity: EntityKind,
        each: &mut (dyn for<'v> FnMut(&'v str, &'v str) + Send),
    ) -> Result<bool, StoreError> {
        matching::block_index(&self.pool, entity, each).await
    }

    async fn golden_records(&self, ids: &[&str]) -> Result<HashMap<String, Fields>, StoreError> {
        matching::golden_records(&self.pool, ids).await
    }

    async fn member_records(&self, ids: &[&str]) -> Result<Vec<StoredMember>, StoreError> {
        matching::member_records(&self.pool, ids).await
    }

    async fn term_counts(
        &self,
        entity: EntityKind,
        term: &str,
        values: &[&str],
    ) -> Result<crate::store::TermCounts, StoreError> {
        matching::term_counts(&self.pool, entity, term, values).await
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

    async fn source_keys(
        &self,
        source: &str,
        entity: EntityKind,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT source_key FROM xref WHERE source = ? AND entity = ? AND deleted = 0 ORDER BY source_key",
        )
        .bind(source)
        .bind(entity.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok(row.try_get("source_key")?))
            .collect()
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
impl Audit for SqliteStore {
    async fn history(&self, id: &str) -> Result<Vec<VersionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, record, lineage, changed, deleted, run_id, at FROM golden_version WHERE id = ? ORDER BY version",
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
                    at: parse_time(row.try_get("at")?)?,
                })
            })
            .collect()
    }

    async fn quality_notes(
        &self,
        record: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<StoredQualityNote>, StoreError> {
        let (source, key) = record.unzip();
        let rows = sqlx::query(
            "SELECT run_id, source, source_key, field, origin, reason, at FROM quality_note \
             WHERE (?1 IS NULL OR (source = ?1 AND source_key = ?2)) ORDER BY at DESC, id DESC LIMIT ?3",
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
                    at: parse_time(row.try_get("at")?)?,
                })
            })
            .collect()
    }

    async fn golden_ids(&self, entity: EntityKind, limit: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT id FROM golden WHERE entity = ? AND deleted = 0 AND redirect_to IS NULL ORDER BY id LIMIT ?")
            .bind(entity.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| Ok(row.try_get("id")?)).collect()
    }

    async fn decisions(&self, golden_ids: &[&str]) -> Result<Vec<Decision>, StoreError> {
        matching::decisions(&self.pool, golden_ids).await
    }

    async fn pending_reference_list(
        &self,
        referrer: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PendingReference>, StoreError> {
        matching::pending_reference_list(&self.pool, referrer, limit).await
    }
}

#[async_trait]
impl Stewardship for SqliteStore {
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
        let rows =
            sqlx::query("SELECT record FROM xref WHERE entity = ? AND deleted = 0 ORDER BY rowid")
                .bind(entity.as_str())
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| from_text(row.try_get("record")?, "xref record"))
            .collect()
    }
}

#[async_trait]
impl Quarantine for SqliteStore {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Two commands started at once on a store that does not exist yet (a daemon and a listing,
    /// two cron jobs) both migrate it; both must open it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stores_opened_at_once_on_a_new_file_all_open() {
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/concord.db", dir.path().display());
            let opening: Vec<_> = (0..4)
                .map(|_| {
                    let url = url.clone();
                    tokio::spawn(async move { SqliteStore::open(&url).await.map(|_| ()) })
                })
                .collect();
            for opened in opening {
                opened.await.unwrap().unwrap();
            }
        }
    }
}
