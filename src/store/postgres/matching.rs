//! The matching tables of the PostgreSQL store: writes inside a batch's transaction and the
//! lookups scored matching, review, explanations and references need. Mirrors
//! `store/sqlite/matching.rs` statement for statement.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

use super::fold::folded;
use crate::model::EntityKind;
use crate::store::TermCounts;
use crate::store::columns::{from_text, parse_entity};
use crate::store::matching::{RedirectWalk, final_survivors};
use crate::store::{
    Decision, Fields, MatchWrites, PendingReference, ReferenceWrite, ReviewItem, ReviewStatus,
    StoreError, StoredMember,
};

/// Redirect chains longer than this are treated as corrupt rather than followed for ever.
const MAX_REDIRECTS: usize = 64;

/// Applies merges: every row naming a loser names its survivor afterwards. Runs before the rest
/// of the batch is written. Merges are few and each depends on the ones before it (a survivor
/// may be merged away later in the same batch), so they are applied one by one, in order.
pub async fn apply_merges(
    tx: &mut PgConnection,
    writes: &MatchWrites,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if !writes.merges.is_empty() {
        // One pass over `match_key` (it has no index by golden ID) for all of the batch's
        // merges, each loser to its final survivor.
        sqlx::query(
            "UPDATE match_key SET golden_id = s.value FROM jsonb_each_text($1) AS s \
             WHERE match_key.golden_id = s.key",
        )
        .bind(Value::Object(final_survivors(&writes.merges)))
        .execute(&mut *tx)
        .await?;
    }
    for merge in &writes.merges {
        sqlx::query("UPDATE xref SET golden_id = $1 WHERE golden_id = $2")
            .bind(&merge.survivor)
            .bind(&merge.loser)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO block_key (entity, value, golden_id) \
             SELECT entity, value, $1 FROM block_key WHERE golden_id = $2 ON CONFLICT DO NOTHING",
        )
        .bind(&merge.survivor)
        .bind(&merge.loser)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM block_key WHERE golden_id = $1")
            .bind(&merge.loser)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE reference SET target_id = $1 WHERE target_id = $2")
            .bind(&merge.survivor)
            .bind(&merge.loser)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE golden SET redirect_to = $1, updated_at = $2 WHERE id = $3")
            .bind(&merge.survivor)
            .bind(now)
            .bind(&merge.loser)
            .execute(&mut *tx)
            .await?;
    }
    for relink in &writes.relinks {
        sqlx::query(
            "UPDATE xref SET golden_id = $1, updated_at = $2 WHERE source = $3 AND entity = $4 AND source_key = $5",
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
            "INSERT INTO match_key (entity, rule, value, golden_id) VALUES ($1, $2, $3, $4) \
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

/// Closes, as `merged`, the open review items whose two sides the batch's merges made one golden
/// record: a steward would otherwise be asked about a pair that no longer exists. Only an item
/// with a redirected side can be settled, so only those are read, then resolved in rounds of
/// redirects. Items a steward decides in this batch are marked by [`write`], which runs later.
async fn close_settled_reviews(
    tx: &mut PgConnection,
    writes: &MatchWrites,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if writes.merges.is_empty() {
        return Ok(());
    }
    let entities: Vec<&str> = writes.merges.iter().map(|m| m.entity.as_str()).collect();
    let open: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT r.id, r.left_id, r.right_id FROM review r WHERE r.status = 'open' \
         AND r.entity = ANY($1) \
         AND EXISTS (SELECT 1 FROM golden g WHERE g.id IN (r.left_id, r.right_id) AND g.redirect_to IS NOT NULL)",
    )
    .bind(entities)
    .fetch_all(&mut *tx)
    .await?;
    let mut walk = RedirectWalk::new(open);
    while let Some(ids) = walk.next_round() {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, redirect_to FROM golden WHERE id = ANY($1) AND redirect_to IS NOT NULL",
        )
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?;
        walk.found(rows);
    }
    let settled = walk.settled();
    if !settled.is_empty() {
        sqlx::query(
            "UPDATE review SET status = $1, decided_at = $2 WHERE status = 'open' AND id = ANY($3)",
        )
        .bind(ReviewStatus::Merged.as_str())
        .bind(now)
        .bind(&settled)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Writes block keys, decisions, review items and their decisions, distinct pairs and references.
pub async fn write(
    tx: &mut PgConnection,
    writes: &MatchWrites,
    run_id: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let keys = &writes.block_keys;
    if !keys.is_empty() {
        sqlx::query(
            "INSERT INTO block_key (entity, value, golden_id) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING",
        )
        .bind(keys.iter().map(|k| k.entity.as_str()).collect::<Vec<_>>())
        .bind(keys.iter().map(|k| k.value.as_str()).collect::<Vec<_>>())
        .bind(
            keys.iter()
                .map(|k| k.golden_id.as_str())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    }
    let decisions = &writes.decisions;
    if !decisions.is_empty() {
        sqlx::query(
            "INSERT INTO match_decision (entity, source, source_key, golden_id, candidate_id, rule, \
             decision, score, evidence, run_id, at) \
             SELECT entity, source, source_key, golden_id, candidate_id, rule, decision, score, \
             evidence, $10, $11 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::text[], $8::float8[], $9::text[]) WITH ORDINALITY \
             AS u(entity, source, source_key, golden_id, candidate_id, rule, decision, score, evidence, n) \
             ORDER BY n",
        )
        .bind(decisions.iter().map(|d| d.entity.as_str()).collect::<Vec<_>>())
        .bind(decisions.iter().map(|d| d.source.as_str()).collect::<Vec<_>>())
        .bind(decisions.iter().map(|d| d.key.as_str()).collect::<Vec<_>>())
        .bind(decisions.iter().map(|d| d.golden_id.as_str()).collect::<Vec<_>>())
        .bind(
            decisions
                .iter()
                .map(|d| d.candidate_id.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(decisions.iter().map(|d| d.rule.as_str()).collect::<Vec<_>>())
        .bind(decisions.iter().map(|d| d.decision.as_str()).collect::<Vec<_>>())
        .bind(decisions.iter().map(|d| d.score).collect::<Vec<_>>())
        .bind(
            decisions
                .iter()
                .map(|d| d.evidence.to_string())
                .collect::<Vec<_>>(),
        )
        .bind(run_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let reviews = &writes.reviews;
    if !reviews.is_empty() {
        sqlx::query(
            "INSERT INTO review (entity, left_id, right_id, source, source_key, rule, score, evidence, \
             created_at) \
             SELECT entity, left_id, right_id, source, source_key, rule, score, evidence, $9 \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::float8[], $8::text[]) WITH ORDINALITY \
             AS u(entity, left_id, right_id, source, source_key, rule, score, evidence, n) \
             ORDER BY n ON CONFLICT (left_id, right_id) DO NOTHING",
        )
        .bind(reviews.iter().map(|r| r.entity.as_str()).collect::<Vec<_>>())
        .bind(reviews.iter().map(|r| r.left_id.as_str()).collect::<Vec<_>>())
        .bind(reviews.iter().map(|r| r.right_id.as_str()).collect::<Vec<_>>())
        .bind(reviews.iter().map(|r| r.source.as_str()).collect::<Vec<_>>())
        .bind(reviews.iter().map(|r| r.key.as_str()).collect::<Vec<_>>())
        .bind(reviews.iter().map(|r| r.rule.as_str()).collect::<Vec<_>>())
        .bind(reviews.iter().map(|r| r.score).collect::<Vec<_>>())
        .bind(
            reviews
                .iter()
                .map(|r| r.evidence.to_string())
                .collect::<Vec<_>>(),
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for (id, status) in &writes.review_decisions {
        sqlx::query("UPDATE review SET status = $1, decided_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    for (a, b, reason) in &writes.distinct_pairs {
        let (left, right) = ordered(a, b);
        sqlx::query(
            "INSERT INTO distinct_pair (left_id, right_id, reason, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (left_id, right_id) DO UPDATE SET reason = excluded.reason, at = excluded.at",
        )
        .bind(left)
        .bind(right)
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    if !writes.term_counts.is_empty() {
        let mut summed: HashMap<(&str, &str, &str), i64> = HashMap::new();
        for t in &writes.term_counts {
            *summed
                .entry((t.entity.as_str(), t.term, t.value.as_str()))
                .or_default() += t.add;
        }
        let rows: Vec<_> = summed.into_iter().collect();
        sqlx::query(
            "INSERT INTO term_frequency (entity, term, value, count) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[]) \
             ON CONFLICT (entity, term, value) DO UPDATE SET count = term_frequency.count + excluded.count",
        )
        .bind(rows.iter().map(|((e, _, _), _)| *e).collect::<Vec<_>>())
        .bind(rows.iter().map(|((_, t, _), _)| *t).collect::<Vec<_>>())
        .bind(rows.iter().map(|((_, _, v), _)| *v).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, n)| *n).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    // A rewritten referrer keeps the references it still makes (with the time each was first
    // stored, the age `concord refs --pending` shows) and loses the others.
    if !writes.referrers.is_empty() {
        let kept = folded(&writes.references, |r| {
            (&r.referrer_id, &r.source, r.entity, &r.key)
        });
        sqlx::query(
            "DELETE FROM reference r WHERE r.referrer_id = ANY($1) AND NOT EXISTS ( \
             SELECT 1 FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[]) AS k(referrer_id, source, entity, target_key) \
             WHERE k.referrer_id = r.referrer_id AND k.source = r.source AND k.entity = r.entity \
             AND k.target_key = r.target_key)",
        )
        .bind(&writes.referrers)
        .bind(kept.iter().map(|r| r.referrer_id.as_str()).collect::<Vec<_>>())
        .bind(kept.iter().map(|r| r.source.as_str()).collect::<Vec<_>>())
        .bind(kept.iter().map(|r| r.entity.as_str()).collect::<Vec<_>>())
        .bind(kept.iter().map(|r| r.key.as_str()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    if !writes.references.is_empty() {
        let rows = folded(&writes.references, |r| {
            (&r.referrer_id, &r.source, r.entity, &r.key)
        });
        sqlx::query(
            "INSERT INTO reference (referrer_id, source, entity, target_key, target_id, since) \
             SELECT u.*, now() FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u \
             ON CONFLICT (referrer_id, source, entity, target_key) DO UPDATE SET target_id = excluded.target_id",
        )
        .bind(rows.iter().map(|r| r.referrer_id.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.source.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.entity.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.target_id.as_deref()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// A pair in stored order (byte order, as the `C` collation of the columns compares).
fn ordered<'a>(a: &'a str, b: &'a str) -> (&'a str, &'a str) {
    if a <= b { (a, b) } else { (b, a) }
}

pub async fn block_lookup(
    pool: &PgPool,
    entity: EntityKind,
    values: &[&str],
) -> Result<HashMap<String, Vec<String>>, StoreError> {
    let mut found: HashMap<String, Vec<String>> = HashMap::new();
    if values.is_empty() {
        return Ok(found);
    }
    let rows = sqlx::query(
        "SELECT value, golden_id FROM block_key WHERE entity = $1 AND value = ANY($2) \
         ORDER BY value, golden_id",
    )
    .bind(entity.as_str())
    .bind(values)
    .fetch_all(pool)
    .await?;
    for row in rows {
        found
            .entry(row.try_get("value")?)
            .or_default()
            .push(row.try_get("golden_id")?);
    }
    Ok(found)
}

pub async fn golden_records(
    pool: &PgPool,
    ids: &[&str],
) -> Result<HashMap<String, Fields>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query(
        "SELECT g.id, v.record FROM golden g JOIN golden_version v ON v.id = g.id AND v.version = g.version \
         WHERE g.id = ANY($1) AND NOT g.deleted AND g.redirect_to IS NULL",
    )
    .bind(ids)
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

pub async fn member_records(pool: &PgPool, ids: &[&str]) -> Result<Vec<StoredMember>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT golden_id, source, source_key, record FROM xref WHERE golden_id = ANY($1) AND NOT deleted \
         ORDER BY golden_id, position",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    rows.iter().map(stored_member).collect()
}

pub async fn resolve_id(pool: &PgPool, id: &str) -> Result<Option<String>, StoreError> {
    let mut current = id.to_string();
    for _ in 0..MAX_REDIRECTS {
        let row = sqlx::query("SELECT redirect_to FROM golden WHERE id = $1")
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

pub async fn merged_into(pool: &PgPool, id: &str) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "WITH RECURSIVE merged(id) AS (SELECT id FROM golden WHERE redirect_to = $1 \
         UNION SELECT g.id FROM golden g JOIN merged m ON g.redirect_to = m.id) \
         SELECT id FROM merged ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(|row| Ok(row.try_get("id")?)).collect()
}

pub async fn distinct_pairs(
    pool: &PgPool,
    ids: &[&str],
) -> Result<HashSet<(String, String)>, StoreError> {
    if ids.len() < 2 {
        return Ok(HashSet::new());
    }
    let rows = sqlx::query(
        "SELECT left_id, right_id FROM distinct_pair WHERE left_id = ANY($1) AND right_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("left_id")?, row.try_get("right_id")?)))
        .collect()
}

const REVIEW_SELECT: &str = "SELECT id, entity, left_id, right_id, source, source_key, rule, score, evidence, status, created_at FROM review";

fn review_item(row: &PgRow) -> Result<ReviewItem, StoreError> {
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
        created_at: row.try_get("created_at")?,
    })
}

pub async fn reviews(
    pool: &PgPool,
    status: Option<ReviewStatus>,
    limit: i64,
) -> Result<Vec<ReviewItem>, StoreError> {
    let rows = sqlx::query(&format!(
        "{REVIEW_SELECT} WHERE $1::text IS NULL OR status = $1 ORDER BY id LIMIT $2"
    ))
    .bind(status.map(ReviewStatus::as_str))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(review_item).collect()
}

pub async fn review(pool: &PgPool, id: i64) -> Result<Option<ReviewItem>, StoreError> {
    sqlx::query(&format!("{REVIEW_SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(review_item)
        .transpose()
}

pub async fn decisions(pool: &PgPool, ids: &[&str]) -> Result<Vec<Decision>, StoreError> {
    let rows = sqlx::query(
        "SELECT source, source_key, golden_id, candidate_id, rule, decision, score, evidence, at \
         FROM match_decision WHERE golden_id = ANY($1) OR candidate_id = ANY($1) ORDER BY id",
    )
    .bind(ids)
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
                at: row.try_get("at")?,
            })
        })
        .collect()
}

pub async fn pending_references(
    pool: &PgPool,
    entity: EntityKind,
    keys: &[&str],
) -> Result<Vec<ReferenceWrite>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT referrer_id, source, target_key FROM reference WHERE target_id IS NULL AND entity = $1 \
         AND target_key = ANY($2) ORDER BY target_key, referrer_id, source",
    )
    .bind(entity.as_str())
    .bind(keys)
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

pub async fn referrers_of(pool: &PgPool, ids: &[&str]) -> Result<Vec<String>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT DISTINCT referrer_id FROM reference WHERE target_id = ANY($1) ORDER BY referrer_id",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| Ok(row.try_get("referrer_id")?))
        .collect()
}

/// A live source record as `member_records` and `stored_members` select it.
fn stored_member(row: &PgRow) -> Result<StoredMember, StoreError> {
    Ok(StoredMember {
        golden_id: row.try_get("golden_id")?,
        source: row.try_get("source")?,
        key: row.try_get("source_key")?,
        record: from_text(row.try_get("record")?, "xref record")?,
    })
}

/// Every live source record of an entity with its golden ID, in golden ID then key order.
pub async fn stored_members(
    pool: &PgPool,
    entity: EntityKind,
) -> Result<Vec<StoredMember>, StoreError> {
    let rows = sqlx::query(
        "SELECT golden_id, source, source_key, record FROM xref WHERE entity = $1 AND NOT deleted \
         ORDER BY golden_id, source, source_key",
    )
    .bind(entity.as_str())
    .fetch_all(pool)
    .await?;
    rows.iter().map(stored_member).collect()
}

/// The counts of some values of a term, with the totals over all its values.
pub async fn term_counts(
    pool: &PgPool,
    entity: EntityKind,
    term: &str,
    values: &[&str],
) -> Result<TermCounts, StoreError> {
    let totals = sqlx::query(
        "SELECT COALESCE(SUM(count), 0)::bigint AS total, \
         COALESCE(SUM(count::float8 * count), 0.0)::float8 AS squares \
         FROM term_frequency WHERE entity = $1 AND term = $2",
    )
    .bind(entity.as_str())
    .bind(term)
    .fetch_one(pool)
    .await?;
    let total: i64 = totals.try_get("total")?;
    let mut counts = HashMap::new();
    if total > 0 && !values.is_empty() {
        let rows = sqlx::query(
            "SELECT value, count FROM term_frequency WHERE entity = $1 AND term = $2 \
             AND value = ANY($3)",
        )
        .bind(entity.as_str())
        .bind(term)
        .bind(values)
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

/// References whose target has not arrived, oldest first (of one referrer when given).
pub async fn pending_reference_list(
    pool: &PgPool,
    referrer: Option<&str>,
    limit: i64,
) -> Result<Vec<PendingReference>, StoreError> {
    let rows = sqlx::query(
        "SELECT referrer_id, source, entity, target_key, since FROM reference \
         WHERE target_id IS NULL AND ($1::text IS NULL OR referrer_id = $1) \
         ORDER BY since NULLS FIRST, referrer_id, source, target_key LIMIT $2",
    )
    .bind(referrer)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(PendingReference {
                referrer_id: row.try_get("referrer_id")?,
                source: row.try_get("source")?,
                entity: parse_entity(row.try_get("entity")?)?,
                key: row.try_get("target_key")?,
                since: row.try_get("since")?,
            })
        })
        .collect()
}
