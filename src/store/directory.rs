//! What people look up rather than what the pipeline needs: golden records found by name, tax
//! ID, email or phone, the orders and BOMs linked to a golden record, and the last runs. Read by
//! the HTTP API, the steward page and `concord find`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::{Fields, StoreError};
use crate::model::EntityKind;

/// What to look for. `any` matches a record when one of its name, tax ID, email or phone
/// matches; the other fields must all match when given. Values are compared the way people type
/// them: a name case-insensitively anywhere in the name, a tax ID without spaces, dots or dashes
/// and in any case, an email whole in any case (also a contact's), a phone by its last digits
/// (`+49 30 1234567` finds `030/1234567`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    pub any: Option<String>,
    pub name: Option<String>,
    pub tax_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Digits a phone search needs at least: fewer would match most numbers.
pub const MIN_PHONE_DIGITS: usize = 5;

impl SearchQuery {
    /// True when nothing is asked.
    pub fn is_empty(&self) -> bool {
        self.terms().is_empty()
    }

    /// The name part as a `LIKE` pattern: lower case, wildcards in the text escaped (with `\`).
    pub fn name_pattern(text: &str) -> String {
        let mut pattern = String::from("%");
        for c in text.trim().to_lowercase().chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        pattern
    }

    /// A tax ID as compared: upper case, without spaces, dots, dashes or slashes.
    pub fn tax_id_key(text: &str) -> String {
        text.chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '/'))
            .flat_map(char::to_uppercase)
            .collect()
    }

    /// The digits a phone search compares: the last ones the query has, without the national or
    /// international prefix, which sources write differently. `None` with too few digits.
    pub fn phone_digits(text: &str) -> Option<String> {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let tail: String = digits
            .chars()
            .skip(digits.len().saturating_sub(8))
            .collect();
        (tail.len() >= MIN_PHONE_DIGITS).then_some(tail)
    }

    /// The terms a store compares, each already normalized; `any` fans out to every kind.
    pub fn terms(&self) -> Vec<(Term, String, bool)> {
        let mut terms = Vec::new();
        let mut add = |text: &Option<String>, any: bool, kinds: &[Term]| {
            let Some(text) = text.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
                return;
            };
            for kind in kinds {
                let value = match kind {
                    Term::Name => Some(Self::name_pattern(text)),
                    Term::TaxId => Some(Self::tax_id_key(text)).filter(|k| !k.is_empty()),
                    Term::Email => Some(text.to_lowercase()),
                    Term::Phone => Self::phone_digits(text),
                };
                if let Some(value) = value {
                    terms.push((*kind, value, any));
                }
            }
        };
        add(
            &self.any,
            true,
            &[Term::Name, Term::TaxId, Term::Email, Term::Phone],
        );
        add(&self.name, false, &[Term::Name]);
        add(&self.tax_id, false, &[Term::TaxId]);
        add(&self.email, false, &[Term::Email]);
        add(&self.phone, false, &[Term::Phone]);
        terms
    }
}

/// One kind of comparison a search makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    Name,
    TaxId,
    Email,
    Phone,
}

/// A live golden record, as a listing shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoldenSummary {
    pub id: String,
    pub entity: EntityKind,
    pub version: i64,
    pub record: Fields,
    pub updated_at: DateTime<Utc>,
}

/// A sync run (or a steward change, recorded as a run of `(steward)`), as the run log holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    pub id: i64,
    pub source: String,
    pub full: bool,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The run's counters, as it stored them.
    pub stats: Option<Value>,
    pub error: Option<String>,
}

/// Look-ups for people: search, linked records and the run log.
#[async_trait]
pub trait Directory: Send + Sync {
    /// Live golden records of `entity` that match `query`, by golden ID, at most `limit`.
    /// An empty query finds nothing.
    async fn search(
        &self,
        entity: EntityKind,
        query: &SearchQuery,
        limit: i64,
    ) -> Result<Vec<GoldenSummary>, StoreError>;
    /// Live golden records of `entity` (orders, BOMs) that refer to golden record `target`,
    /// newest first, at most `limit`.
    async fn linked(
        &self,
        target: &str,
        entity: EntityKind,
        limit: i64,
    ) -> Result<Vec<GoldenSummary>, StoreError>;
    /// The last runs, newest first, at most `limit`.
    async fn runs(&self, limit: i64) -> Result<Vec<RunRow>, StoreError>;
}

/// Appends the search's conditions to a query whose `WHERE` clause is open: the terms of `q`
/// joined by `OR` in one group, every explicit term by `AND`. Each engine writes a single term
/// its own way (`push_term`).
pub(super) fn push_conditions<'args, DB: sqlx::Database>(
    builder: &mut sqlx::QueryBuilder<'args, DB>,
    terms: Vec<(Term, String, bool)>,
    push_term: impl Fn(&mut sqlx::QueryBuilder<'args, DB>, Term, String),
) {
    let (any, all): (Vec<_>, Vec<_>) = terms.into_iter().partition(|(_, _, any)| *any);
    if !any.is_empty() {
        builder.push(" AND (");
        for (i, (term, value, _)) in any.into_iter().enumerate() {
            if i > 0 {
                builder.push(" OR ");
            }
            push_term(builder, term, value);
        }
        builder.push(")");
    }
    for (term, value, _) in all {
        builder.push(" AND ");
        push_term(builder, term, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_normalized_the_way_people_type_them() {
        assert_eq!(SearchQuery::name_pattern(" Acme 100%_"), "%acme 100\\%\\_%");
        assert_eq!(SearchQuery::tax_id_key("de 123.456-789"), "DE123456789");
        assert_eq!(
            SearchQuery::phone_digits("+49 (30) 1234-5678").as_deref(),
            Some("12345678")
        );
        assert_eq!(SearchQuery::phone_digits("12-34"), None);
    }

    #[test]
    fn a_free_query_asks_every_kind_and_a_blank_one_asks_nothing() {
        let any = SearchQuery {
            any: Some("ACME".into()),
            ..Default::default()
        };
        let kinds: Vec<Term> = any.terms().into_iter().map(|(k, _, _)| k).collect();
        assert_eq!(kinds, [Term::Name, Term::TaxId, Term::Email]);
        let blank = SearchQuery {
            name: Some("  ".into()),
            ..Default::default()
        };
        assert!(blank.is_empty());
    }
}
