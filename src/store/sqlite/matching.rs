//! The matching tables of the SQLite store: writes inside a batch's transaction and the lookups
//! scored matching, review, explanations and references need.

use std::collections::{HashMap, HashSet};

use futures::TryStreamExt;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};

use super::{ROWS_PER_STATEMENT, from_text, json_array, parse_entity, parse_time};
use crate::model::EntityKind;
use crate::store::TermCounts;
use crate::store::matching::{RedirectWalk, final_survivors, follow_redirects};
use crate::store::{
    Decision, MatchWrites, PendingReference, ReferenceWrite, ReviewItem, ReviewStatus, StoreError,
    StoredMember,
};

/// Redirect chains longer than this are treated as corrupt rather than followed for ever.
const MAX_REDIRECTS: usize = 64;

/// Applies merges: every row naming a loser names its survivor afterwards, but for the block
/// log, whose readers follow the redirect instead (see [`survivors`]). Runs before the rest of
/// the batch is written.
pub async fn apply_merges(
    tx: &mut SqliteConnection,
    writes: &MatchWrites,
    now: &str,
) -> Result<(), StoreError> {
    move_match_keys(tx, writes).await?;
    for merge in &writes.merges {
        sqlx::query("UPDATE xref SET golden_id = ? WHERE golden_id = ?")
            .bind(&merge.survivor)
            .bind(&merge.loser)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE reference SET target_id = ? WHERE target_id = ?")
            .bind(&merge.survivor)
            .bind(&merge.loser)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE golden SET redirect_to = ?, updated_at = ? WHERE id = ?")
            .bind(&merge.survivor)
            .bind(now)
            .bind(&merge.loser)
            .execute(&mut *tx)
            .await?;
    }
    for relink in &writes.relinks {
        sqlx::query(
            "UPDATE xref SET golden_id = ?, updated_at = ? WHERE source = ? AND entity = ? AND source_key = ?",
        )
        .bind(&relink.golden_id)
        .bind(now)
        .bind(&relink.source)
        .bind(relink.entity.as_str())
        .bind(&relink.key)
        .execute(&mut *tx)
        .await?;
    }
    for key in &writes.moved_keys {
        sqlx::query(
            "INSERT INTO match_key (entity, rule, value, golden_id) VALUES (?, ?, ?, ?) \
             ON CONFLICT (entity, rule, value) DO UPDATE SET golden_id = excluded.golden_id",
        )
        .bind(key.entity.as_str())
        .bind(&key.rule)
        .bind(&key.value)
        .bind(&key.golden_id)
        .execute(&mut *tx)
        .await?;
    }
    close_settled_reviews(tx, writes, now).await
}

/// Points the match keys of every loser of the batch's merges at its final survivor, in one pass
/// over `match_key`: looked up by value, the table has no index by golden ID, and a statement
/// per merge read all of it for each (at a million records, 3,700 merges of a table growing to
/// 390,000 rows).
async fn move_match_keys(
    tx: &mut SqliteConnection,
    writes: &MatchWrites,
) -> Result<(), StoreError> {
    if writes.merges.is_empty() {
        return Ok(());
    }
    let survivors = Value::Object(final_survivors(&writes.merges)).to_string();
    sqlx::query(
        "UPDATE match_key SET golden_id = ?1 ->> golden_id \
         WHERE golden_id IN (SELECT key FROM json_each(?1))",
    )
    .bind(survivors)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Closes, as `merged`, the open review items whose two sides the batch's merges made one golden
/// record: a steward would otherwise be asked about a pair that no longer exists. Only an item
/// with a redirected side can be settled, so only those are read, then resolved in rounds of
/// redirects. Items a steward decides in this batch are marked by [`write`], which runs later.
async fn close_settled_reviews(
    tx: &mut SqliteConnection,
    writes: &MatchWrites,
    now: &str,
) -> Result<(), StoreError> {
    if writes.merges.is_empty() {
        return Ok(());
    }
    let entities = json_array(writes.merges.iter().map(|m| m.entity.as_str()));
    let open: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT r.id, r.left_id, r.right_id FROM review r WHERE r.status = 'open' \
         AND r.entity IN (SELECT value FROM json_each(?)) \
         AND EXISTS (SELECT 1 FROM golden g WHERE g.id IN (r.left_id, r.right_id) AND g.redirect_to IS NOT NULL)",
    )
    .bind(entities)
    .fetch_all(&mut *tx)
    .await?;
    let mut walk = RedirectWalk::new(open);
    while let Some(ids) = walk.next_round() {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, redirect_to FROM golden WHERE id IN (SELECT value FROM json_each(?)) \
             AND redirect_to IS NOT NULL",
        )
        .bind(json_array(ids.iter().map(String::as_str)))
        .fetch_all(&mut *tx)
        .await?;
        walk.found(rows);
    }
    let settled = walk.settled();
    for ids in settled.chunks(ROWS_PER_STATEMENT) {
        sqlx::query(
            "UPDATE review SET status = ?, decided_at = ? WHERE status = 'open' \
             AND id IN (SELECT value FROM json_each(?))",
        )
        .bind(ReviewStatus::Merged.as_str())
        .bind(now)
        .bind(Value::from(ids.to_vec()).to_string())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Writes block keys, decisions, review items and their decisions, distinct pairs and references.
pub async fn write(
    tx: &mut SqliteConnection,
    writes: &MatchWrites,
    run_id: i64,
    now: &str,
) -> Result<(), StoreError> {
    for rows in writes.block_keys.chunks(ROWS_PER_STATEMENT) {
        let mut query: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO block_log (entity, value, golden_id) ");
        query.push_values(rows, |mut b, k| {
            b.push_bind(k.entity.as_str())
                .push_bind(&k.value)
                .push_bind(&k.golden_id);
        });
        query.build().execute(&mut *tx).await?;
    }
    for rows in writes.decisions.chunks(ROWS_PER_STATEMENT) {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO match_decision (entity, source, source_key, golden_id, candidate_id, rule, decision, score, evidence, run_id, at) ",
        );
        query.push_values(rows, |mut b, d| {
            b.push_bind(d.entity.as_str())
                .push_bind(&d.source)
                .push_bind(&d.key)
                .push_bind(&d.golden_id)
                .push_bind(&d.candidate_id)
                .push_bind(&d.rule)
                .push_bind(&d.decision)
                .push_bind(d.score)
                .push_bind(d.evidence.to_string())
                .push_bind(run_id)
                .push_bind(now);
        });
        query.build().execute(&mut *tx).await?;
    }
    for rows in writes.reviews.chunks(ROWS_PER_STATEMENT) {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO review (entity, left_id, right_id, source, source_key, rule, score, evidence, created_at) ",
        );
        query.push_values(rows, |mut b, r| {
            b.push_bind(r.entity.as_str())
                .push_bind(&r.left_id)
                .push_bind(&r.right_id)
                .push_bind(&r.source)
                .push_bind(&r.key)
                .push_bind(&r.rule)
                .push_bind(r.score)
                .push_bind(r.evidence.to_string())
                .push_bind(now);
        });
        query.push(" ON CONFLICT (left_id, right_id) DO NOTHING");
        query.build().execute(&mut *tx).await?;
    }
    for (id, status) in &writes.review_decisions {
        sqlx::query("UPDATE review SET status = ?, decided_at = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    for (a, b, reason) in &writes.distinct_pairs {
        let (left, right) = ordered(a, b);
        sqlx::query(
            "INSERT INTO distinct_pair (left_id, right_id, reason, at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (left_id, right_id) DO UPDATE SET reason = excluded.reason, at = excluded.at",
        )
        .bind(left)
        .bind(right)
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    // A rewritten referrer keeps the references it still makes (with the time each was first
    // stored, the age `concord refs --pending` shows) and loses the others.
    let kept = json_array(
        writes
            .references
            .iter()
            .map(reference_identity)
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
    );
    for ids in writes.referrers.chunks(ROWS_PER_STATEMENT) {
        sqlx::query(
            "DELETE FROM reference WHERE referrer_id IN (SELECT value FROM json_each(?)) \
             AND referrer_id || char(31) || source || char(31) || entity || char(31) || target_key \
             NOT IN (SELECT value FROM json_each(?))",
        )
        .bind(json_array(ids.iter().map(String::as_str)))
        .bind(&kept)
        .execute(&mut *tx)
        .await?;
    }
    for rows in writes.term_counts.chunks(ROWS_PER_STATEMENT) {
        let mut query: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO term_frequency (entity, term, value, count) ");
        query.push_values(rows, |mut b, t| {
            b.push_bind(t.entity.as_str())
                .push_bind(t.term)
                .push_bind(&t.value)
                .push_bind(t.add);
        });
        query.push(
            " ON CONFLICT (entity, term, value) DO UPDATE SET count = count + excluded.count",
        );
        query.build().execute(&mut *tx).await?;
    }
    for rows in writes.references.chunks(ROWS_PER_STATEMENT) {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO reference (referrer_id, source, entity, target_key, target_id, since) ",
        );
        query.push_values(rows, |mut b, r| {
            b.push_bind(&r.referrer_id)
                .push_bind(&r.source)
                .push_bind(r.entity.as_str())
                .push_bind(&r.key)
                .push_bind(&r.target_id)
                .push_bind(now);
        });
        query.push(
            " ON CONFLICT (referrer_id, source, entity, target_key) DO UPDATE SET target_id = excluded.target_id",
        );
        query.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// A live source record as `member_records` and `stored_members` select it.
fn stored_member(row: &SqliteRow) -> Result<StoredMember, StoreError> {
    Ok(StoredMember {
        golden_id: row.try_get("golden_id")?,
        source: row.try_get("source")?,
        key: row.try_get("source_key")?,
        record: from_text(row.try_get("record")?, "xref record")?,
    })
}

/// Every live source record of an entity with its golden ID, in golden ID then key order.
pub async fn stored_members(
    pool: &SqlitePool,
    entity: EntityKind,
) -> Result<Vec<StoredMember>, StoreError> {
    let rows = sqlx::query(
        "SELECT golden_id, source, source_key, record FROM xref WHERE entity = ? AND deleted = 0 \
         ORDER BY golden_id, source, source_key",
    )
    .bind(entity.as_str())
    .fetch_all(pool)
    .await?;
    rows.iter().map(stored_member).collect()
}

/// The counts of some values of a term, with the totals over all its values.
pub async fn term_counts(
    pool: &SqlitePool,
    entity: EntityKind,
    term: &str,
    values: &[&str],
) -> Result<TermCounts, StoreError> {
    let totals = sqlx::query(
        "SELECT COALESCE(SUM(count), 0) AS total, COALESCE(SUM(CAST(count AS REAL) * count), 0.0) AS squares          FROM term_frequency WHERE entity = ? AND term = ?",
    )
    .bind(entity.as_str())
    .bind(term)
    .fetch_one(pool)
    .await?;
    let total: i64 = totals.try_get("total")?;
    let mut counts = HashMap::new();
    if total > 0 && !values.is_empty() {
        let rows = sqlx::query(
            "SELECT value, count FROM term_frequency WHERE entity = ? AND term = ? \
             AND value IN (SELECT value FROM json_each(?))",
        )
        .bind(entity.as_str())
        .bind(term)
        .bind(json_array(values.iter().copied()))
        .fetch_all(pool)
        .await?;
        for row in rows {
            let count: i64 = row.try_get("count")?;
            counts.insert(row.try_get("value")?, u64::try_from(count).unwrap_or(0));
        }
    }
    Ok(TermCounts {
        counts,
        total: u64::try_from(total).unwrap_or(0),
        sum_of_squares: totals.try_get("squares")?,
    })
}

/// A pair in stored order.
pub fn ordered<'a>(a: &'a str, b: &'a str) -> (&'a str, &'a str) {
    if a <= b { (a, b) } else { (b, a) }
}

/// The golden records holding each of `values`. The log has no index by value (see
/// `migrations/sqlite/0010_block_log.sql`): it is read whole, which only a lookup outside a sync
/// run does (a dry run); a run reads the whole index once with [`block_index`].
pub async fn block_lookup(
    pool: &SqlitePool,
    entity: EntityKind,
    values: &[&str],
) -> Result<HashMap<String, Vec<String>>, StoreError> {
    let mut found: HashMap<String, Vec<String>> = HashMap::new();
    if values.is_empty() {
        return Ok(found);
    }
    let wanted: HashSet<&str> = values.iter().copied().collect();
    read_block_log(pool, entity, &mut |value, id| {
        if let Some(value) = wanted.get(value) {
            found
                .entry(value.to_string())
                .or_default()
                .push(id.to_string());
        }
    })
    .await?;
    for ids in found.values_mut() {
        ids.sort_unstable();
        ids.dedup();
    }
    Ok(found)
}

/// Every block value of `entity` with its golden ID, handed to `each` as the scan reads them (one
/// snapshot of the store, never all rows in memory at once). The store's writer lock covers the
/// whole store, so a run holding it is the only writer of what it read.
pub async fn block_index(
    pool: &SqlitePool,
    entity: EntityKind,
    each: &mut (dyn for<'v> FnMut(&'v str, &'v str) + Send),
) -> Result<bool, StoreError> {
    read_block_log(pool, entity, each).await?;
    Ok(true)
}

/// Reads the block log of `entity` in one read transaction, each row's golden ID led to the
/// golden record it was merged into, if any. A row written twice is handed over twice.
async fn read_block_log(
    pool: &SqlitePool,
    entity: EntityKind,
    each: &mut (dyn for<'v> FnMut(&'v str, &'v str) + Send),
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let survivors = survivors(&mut tx, entity).await?;
    let mut rows = sqlx::query("SELECT value, golden_id FROM block_log WHERE entity = ?")
        .bind(entity.as_str())
        .fetch(&mut *tx);
    while let Some(row) = rows.try_next().await? {
        let id: &str = row.try_get("golden_id")?;
        each(
            row.try_get("value")?,
            survivors.get(id).map_or(id, String::as_str),
        );
    }
    drop(rows);
    tx.rollback().await?;
    Ok(())
}

/// Where each golden record of `entity` merged away leads now: its redirects followed to the
/// golden record that was not merged.
async fn survivors(
    tx: &mut SqliteConnection,
    entity: EntityKind,
) -> Result<HashMap<String, String>, StoreError> {
    let redirects: HashMap<String, String> = sqlx::query_as(
        "SELECT id, redirect_to FROM golden WHERE entity = ? AND redirect_to IS NOT NULL",
    )
    .bind(entity.as_str())
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    redirects
        .iter()
        .map(
            |(id, next)| match follow_redirects(&redirects, next, MAX_REDIRECTS) {
                Ok(survivor) => Ok((id.clone(), survivor.to_string())),
                Err(_) => Err(StoreError::Corrupt(format!(
                    "golden record {id} redirects more than {MAX_REDIRECTS} times"
                ))),
            },
        )
        .collect()
}

pub async fn golden_records(
    pool: &SqlitePool,
    ids: &[&str],
) -> Result<HashMap<String, crate::store::Fields>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query(
        "SELECT g.id, v.record FROM golden g JOIN golden_version v ON v.id = g.id AND v.version = g.version \
         WHERE g.id IN (SELECT value FROM json_each(?)) AND g.deleted = 0 AND g.redirect_to IS NULL",
    )
    .bind(json_array(ids.iter().copied()))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("id")?,
                from_text(row.try_get("record")?, "golden record")?,
            ))
        })
        .collect()
}

pub async fn member_records(
    pool: &SqlitePool,
    ids: &[&str],
) -> Result<Vec<StoredMember>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT golden_id, source, source_key, record FROM xref WHERE golden_id IN (SELECT value FROM json_each(?)) AND deleted = 0 \
         ORDER BY golden_id, rowid",
    )
    .bind(json_array(ids.iter().copied()))
    .fetch_all(pool)
    .await?;
    rows.iter().map(stored_member).collect()
}

pub async fn resolve_id(pool: &SqlitePool, id: &str) -> Result<Option<String>, StoreError> {
    let mut current = id.to_string();
    for _ in 0..MAX_REDIRECTS {
        let row = sqlx::query("SELECT redirect_to FROM golden WHERE id = ?")
            .bind(&current)
            .fetch_optional(pool)
            .await?;
        match row {
            None => return Ok(None),
            Some(row) => match row.try_get::<Option<String>, _>("redirect_to")? {
                Some(next) => current = next,
                None => return Ok(Some(current)),
            },
        }
    }
    Err(StoreError::Corrupt(format!(
        "golden record {id} redirects more than {MAX_REDIRECTS} times"
    )))
}

pub async fn merged_into(pool: &SqlitePool, id: &str) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "WITH RECURSIVE merged(id) AS (SELECT id FROM golden WHERE redirect_to = ? \
         UNION SELECT g.id FROM golden g JOIN merged m ON g.redirect_to = m.id) \
         SELECT id FROM merged ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(|row| Ok(row.try_get("id")?)).collect()
}

pub async fn distinct_pairs(
    pool: &SqlitePool,
    ids: &[&str],
) -> Result<HashSet<(String, String)>, StoreError> {
    if ids.len() < 2 {
        return Ok(HashSet::new());
    }
    let ids_json = json_array(ids.iter().copied());
    let rows = sqlx::query(
        "SELECT left_id, right_id FROM distinct_pair WHERE left_id IN (SELECT value FROM json_each(?)) \
         AND right_id IN (SELECT value FROM json_each(?))",
    )
    .bind(&ids_json)
    .bind(&ids_json)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("left_id")?, row.try_get("right_id")?)))
        .collect()
}

const REVIEW_SELECT: &str = "SELECT id, entity, left_id, right_id, source, source_key, rule, score, evidence, status, created_at FROM review";

fn review_item(row: &SqliteRow) -> Result<ReviewItem, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(ReviewItem {
        id: row.try_get("id")?,
        entity: parse_entity(row.try_get("entity")?)?,
        left_id: row.try_get("left_id")?,
        right_id: row.try_get("right_id")?,
        source: row.try_get("source")?,
        key: row.try_get("source_key")?,
        rule: row.try_get("rule")?,
        score: row.try_get("score")?,
        evidence: from_text(row.try_get("evidence")?, "review evidence")?,
        status: ReviewStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("review status `{status}`")))?,
        created_at: parse_time(row.try_get("created_at")?)?,
    })
}

pub async fn reviews(
    pool: &SqlitePool,
    status: Option<ReviewStatus>,
    limit: i64,
) -> Result<Vec<ReviewItem>, StoreError> {
    let rows = sqlx::query(&format!(
        "{REVIEW_SELECT} WHERE ?1 IS NULL OR status = ?1 ORDER BY id LIMIT ?2"
    ))
    .bind(status.map(ReviewStatus::as_str))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(review_item).collect()
}

pub async fn review(pool: &SqlitePool, id: i64) -> Result<Option<ReviewItem>, StoreError> {
    sqlx::query(&format!("{REVIEW_SELECT} WHERE id = ?"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(review_item)
        .transpose()
}

pub async fn decisions(pool: &SqlitePool, ids: &[&str]) -> Result<Vec<Decision>, StoreError> {
    let ids_json = json_array(ids.iter().copied());
    let rows = sqlx::query(
        "SELECT source, source_key, golden_id, candidate_id, rule, decision, score, evidence, at FROM match_decision \
         WHERE golden_id IN (SELECT value FROM json_each(?)) OR candidate_id IN (SELECT value FROM json_each(?)) ORDER BY id",
    )
    .bind(&ids_json)
    .bind(&ids_json)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Decision {
                source: row.try_get("source")?,
                key: row.try_get("source_key")?,
                golden_id: row.try_get("golden_id")?,
                candidate_id: row.try_get("candidate_id")?,
                rule: row.try_get("rule")?,
                decision: row.try_get("decision")?,
                score: row.try_get("score")?,
                evidence: from_text::<Value>(row.try_get("evidence")?, "decision evidence")?,
                at: parse_time(row.try_get("at")?)?,
            })
        })
        .collect()
}

pub async fn pending_references(
    pool: &SqlitePool,
    entity: EntityKind,
    keys: &[&str],
) -> Result<Vec<ReferenceWrite>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT referrer_id, source, target_key FROM reference WHERE target_id IS NULL AND entity = ? \
         AND target_key IN (SELECT value FROM json_each(?)) ORDER BY target_key, referrer_id, source",
    )
    .bind(entity.as_str())
    .bind(json_array(keys.iter().copied()))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ReferenceWrite {
                referrer_id: row.try_get("referrer_id")?,
                source: row.try_get("source")?,
                entity,
                key: row.try_get("target_key")?,
                target_id: None,
            })
        })
        .collect()
}

pub async fn referrers_of(pool: &SqlitePool, ids: &[&str]) -> Result<Vec<String>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT DISTINCT referrer_id FROM reference WHERE target_id IN (SELECT value FROM json_each(?)) ORDER BY referrer_id",
    )
    .bind(json_array(ids.iter().copied()))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| Ok(row.try_get("referrer_id")?))
        .collect()
}

/// A reference's identity as the stale-reference delete compares it.
fn reference_identity(r: &ReferenceWrite) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{}",
        r.referrer_id,
        r.source,
        r.entity.as_str(),
        r.key
    )
}

/// References whose target has not arrived, oldest first (of one referrer when given).
pub async fn pending_reference_list(
    pool: &SqlitePool,
    referrer: Option<&str>,
    limit: i64,
) -> Result<Vec<PendingReference>, StoreError> {
    let rows = sqlx::query(
        "SELECT referrer_id, source, entity, target_key, since FROM reference \
         WHERE target_id IS NULL AND (? IS NULL OR referrer_id = ?) \
         ORDER BY since, referrer_id, source, target_key LIMIT ?",
    )
    .bind(referrer)
    .bind(referrer)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let since: Option<String> = row.try_get("since")?;
            Ok(PendingReference {
                referrer_id: row.try_get("referrer_id")?,
                source: row.try_get("source")?,
                entity: parse_entity(row.try_get("entity")?)?,
                key: row.try_get("target_key")?,
                since: since.as_deref().map(parse_time).transpose()?,
            })
        })
        .collect()
}
