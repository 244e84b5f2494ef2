//! [`Directory`] on SQLite: searches read the current version of each live golden record and
//! compare its JSON fields with `json_extract` / `json_each`.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{SqliteStore, parse_time};
use crate::model::EntityKind;
use crate::store::StoreError;
use crate::store::columns::{from_text, parse_entity};
use crate::store::directory::{
    Directory, GoldenSummary, RunRow, SearchQuery, Term, push_conditions,
};

/// The current version of live golden records.
const LIVE: &str = "SELECT g.id, g.entity, g.version, g.updated_at, v.record FROM golden g \
     JOIN golden_version v ON v.id = g.id AND v.version = g.version \
     WHERE g.deleted = 0 AND g.redirect_to IS NULL AND g.entity = ";

/// A phone value without the punctuation sources write into numbers.
fn digits(column: &str) -> String {
    let mut sql = column.to_string();
    for c in [" ", "-", "(", ")", "/", ".", "+"] {
        sql = format!("replace({sql}, '{c}', '')");
    }
    sql
}

fn push_term(builder: &mut QueryBuilder<'_, Sqlite>, term: Term, value: String) {
    match term {
        Term::Name => {
            builder
                .push("(lower(coalesce(json_extract(v.record, '$.name'), '')) LIKE ")
                .push_bind(value.clone())
                .push(" ESCAPE '\\' OR lower(coalesce(json_extract(v.record, '$.given_name'), '') || ' ' || coalesce(json_extract(v.record, '$.family_name'), '')) LIKE ")
                .push_bind(value)
                .push(" ESCAPE '\\')");
        }
        Term::TaxId => {
            builder
                .push("upper(replace(replace(replace(replace(coalesce(json_extract(v.record, '$.tax_id'), ''), ' ', ''), '.', ''), '-', ''), '/', '')) = ")
                .push_bind(value);
        }
        Term::Email => {
            builder
                .push("(EXISTS (SELECT 1 FROM json_each(v.record, '$.emails') e WHERE lower(e.value) = ")
                .push_bind(value.clone())
                .push(") OR EXISTS (SELECT 1 FROM json_each(v.record, '$.contacts') c WHERE lower(json_extract(c.value, '$.email')) = ")
                .push_bind(value)
                .push("))");
        }
        Term::Phone => {
            let pattern = format!("%{value}");
            builder
                .push(format!(
                    "(EXISTS (SELECT 1 FROM json_each(v.record, '$.phones') p WHERE {} LIKE ",
                    digits("p.value")
                ))
                .push_bind(pattern.clone())
                .push(format!(
                    ") OR EXISTS (SELECT 1 FROM json_each(v.record, '$.contacts') c WHERE {} LIKE ",
                    digits("coalesce(json_extract(c.value, '$.phone'), '')")
                ))
                .push_bind(pattern)
                .push("))");
        }
    }
}

fn summary(row: &SqliteRow) -> Result<GoldenSummary, StoreError> {
    Ok(GoldenSummary {
        id: row.try_get("id")?,
        entity: parse_entity(row.try_get("entity")?)?,
        version: row.try_get("version")?,
        record: from_text(row.try_get("record")?, "golden record")?,
        updated_at: parse_time(row.try_get("updated_at")?)?,
    })
}

#[async_trait]
impl Directory for SqliteStore {
    async fn search(
        &self,
        entity: EntityKind,
        query: &SearchQuery,
        limit: i64,
    ) -> Result<Vec<GoldenSummary>, StoreError> {
        let terms = query.terms();
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let mut builder = QueryBuilder::<Sqlite>::new(LIVE);
        builder.push_bind(entity.as_str());
        push_conditions(&mut builder, terms, push_term);
        builder.push(" ORDER BY g.id LIMIT ").push_bind(limit);
        let rows = builder.build().fetch_all(&self.pool).await?;
        rows.iter().map(summary).collect()
    }

    async fn linked(
        &self,
        target: &str,
        entity: EntityKind,
        limit: i64,
    ) -> Result<Vec<GoldenSummary>, StoreError> {
        let sql = format!(
            "{LIVE}? AND g.id IN (SELECT referrer_id FROM reference WHERE target_id = ?) \
             ORDER BY g.updated_at DESC, g.id LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(entity.as_str())
            .bind(target)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(summary).collect()
    }

    async fn runs(&self, limit: i64) -> Result<Vec<RunRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, source, full_sync, status, started_at, finished_at, stats, error \
             FROM sync_run ORDER BY id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let finished: Option<String> = row.try_get("finished_at")?;
                let stats: Option<String> = row.try_get("stats")?;
                Ok(RunRow {
                    id: row.try_get("id")?,
                    source: row.try_get("source")?,
                    full: row.try_get("full_sync")?,
                    status: row.try_get("status")?,
                    started_at: parse_time(row.try_get("started_at")?)?,
                    finished_at: finished.as_deref().map(parse_time).transpose()?,
                    stats: stats
                        .as_deref()
                        .map(|s| from_text(s, "run stats"))
                        .transpose()?,
                    error: row.try_get("error")?,
                })
            })
            .collect()
    }
}
