//! [`Directory`] on PostgreSQL: searches read the current version of each live golden record as
//! `jsonb` and compare its fields.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use super::PgStore;
use crate::model::EntityKind;
use crate::store::StoreError;
use crate::store::columns::{from_text, parse_entity};
use crate::store::directory::{
    Directory, GoldenSummary, RunRow, SearchQuery, Term, push_conditions,
};

/// The current version of live golden records, the record as `jsonb` in `r`.
const LIVE: &str = "SELECT * FROM (SELECT g.id, g.entity, g.version, g.updated_at, v.record, \
     v.record::jsonb AS r FROM golden g \
     JOIN golden_version v ON v.id = g.id AND v.version = g.version \
     WHERE NOT g.deleted AND g.redirect_to IS NULL AND g.entity = ";

/// The elements of a JSON array field, none when the field is missing or not an array.
fn elements(path: &str) -> String {
    format!(
        "jsonb_array_elements(CASE WHEN jsonb_typeof({path}) = 'array' THEN {path} ELSE '[]'::jsonb END)"
    )
}

fn push_term(builder: &mut QueryBuilder<'_, Postgres>, term: Term, value: String) {
    match term {
        Term::Name => {
            builder
                .push("(lower(coalesce(r->>'name', '')) LIKE ")
                .push_bind(value.clone())
                .push(" OR lower(coalesce(r->>'given_name', '') || ' ' || coalesce(r->>'family_name', '')) LIKE ")
                .push_bind(value)
                .push(")");
        }
        Term::TaxId => {
            builder
                .push("upper(regexp_replace(coalesce(r->>'tax_id', ''), '[ .\\-/]', '', 'g')) = ")
                .push_bind(value);
        }
        Term::Email => {
            builder
                .push(format!(
                    "(EXISTS (SELECT 1 FROM {} e WHERE lower(e #>> '{{}}') = ",
                    elements("r->'emails'")
                ))
                .push_bind(value.clone())
                .push(format!(
                    ") OR EXISTS (SELECT 1 FROM {} c WHERE lower(c->>'email') = ",
                    elements("r->'contacts'")
                ))
                .push_bind(value)
                .push("))");
        }
        Term::Phone => {
            let pattern = format!("%{value}");
            builder
                .push(format!(
                    "(EXISTS (SELECT 1 FROM {} p WHERE regexp_replace(p #>> '{{}}', '\\D', '', 'g') LIKE ",
                    elements("r->'phones'")
                ))
                .push_bind(pattern.clone())
                .push(format!(
                    ") OR EXISTS (SELECT 1 FROM {} c WHERE regexp_replace(coalesce(c->>'phone', ''), '\\D', '', 'g') LIKE ",
                    elements("r->'contacts'")
                ))
                .push_bind(pattern)
                .push("))");
        }
    }
}

fn summary(row: &PgRow) -> Result<GoldenSummary, StoreError> {
    Ok(GoldenSummary {
        id: row.try_get("id")?,
        entity: parse_entity(row.try_get("entity")?)?,
        version: row.try_get("version")?,
        record: from_text(row.try_get("record")?, "golden record")?,
        updated_at: row.try_get("updated_at")?,
    })
}

#[async_trait]
impl Directory for PgStore {
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
        let mut builder = QueryBuilder::<Postgres>::new(LIVE);
        builder.push_bind(entity.as_str()).push(") s WHERE TRUE");
        push_conditions(&mut builder, terms, push_term);
        builder.push(" ORDER BY id LIMIT ").push_bind(limit);
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
            "{LIVE}$1 AND g.id IN (SELECT referrer_id FROM reference WHERE target_id = $2)) s \
             ORDER BY updated_at DESC, id LIMIT $3"
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
             FROM sync_run ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let stats: Option<String> = row.try_get("stats")?;
                Ok(RunRow {
                    id: row.try_get("id")?,
                    source: row.try_get("source")?,
                    full: row.try_get("full_sync")?,
                    status: row.try_get("status")?,
                    started_at: row.try_get::<DateTime<Utc>, _>("started_at")?,
                    finished_at: row.try_get("finished_at")?,
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
