//! `concord find`: golden records by name, tax ID, email or phone. The HTTP API's search calls
//! the same [`search`], so both find the same records.

use super::{AppError, Context, Format, Outcome, entity, load, open_store, output};
use crate::model::EntityKind;
use crate::store::{Directory, GoldenSummary, SearchQuery};

/// The most records one search returns.
pub const MAX_LIMIT: i64 = 1_000;

/// Searches live golden records of `kind`; a query with nothing to look for is a usage error,
/// not a listing of everything.
pub async fn search(
    store: &dyn Directory,
    kind: EntityKind,
    query: &SearchQuery,
    limit: i64,
) -> Result<Vec<GoldenSummary>, AppError> {
    if query.is_empty() {
        return Err(AppError::Usage(
            "say what to look for: a name, tax ID, email or phone (a phone needs at least 5 digits)"
                .into(),
        ));
    }
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::Usage(format!(
            "limit {limit}: give 1 to {MAX_LIMIT}"
        )));
    }
    Ok(store.search(kind, query, limit).await?)
}

/// Prints the golden records a search finds.
pub async fn find(
    context: &Context,
    entity_name: &str,
    query: &SearchQuery,
    limit: i64,
    format: Format,
) -> Result<Outcome, AppError> {
    let kind = entity(entity_name)?;
    let store = open_store(&load(context)?).await?;
    let hits = search(store.as_ref(), kind, query, limit).await?;
    output::listing(format, &hits, hits_table);
    Ok(Outcome::Done)
}

/// The fields a listing shows of a record: name, tax ID, first email, first phone, first city.
pub fn headline(record: &crate::store::Fields) -> [String; 5] {
    let text = |name: &str| {
        record
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let first = |name: &str| {
        record
            .get(name)
            .and_then(|v| v.as_array())
            .and_then(|a| a.first())
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let name = match text("name") {
        name if name.is_empty() => format!("{} {}", text("given_name"), text("family_name"))
            .trim()
            .to_string(),
        name => name,
    };
    let city = record
        .get("addresses")
        .and_then(|v| v.as_array())
        .and_then(|a| a.first())
        .and_then(|a| a.get("city"))
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    [name, text("tax_id"), first("emails"), first("phones"), city]
}

fn hits_table(hits: &[GoldenSummary]) -> String {
    if hits.is_empty() {
        return "no golden record matches\n".into();
    }
    let mut out = format!(
        "{:<40} {:<30} {:<16} {:<28} {:<18} {}\n",
        "id", "name", "tax_id", "email", "phone", "city"
    );
    for hit in hits {
        let [name, tax_id, email, phone, city] = headline(&hit.record);
        out.push_str(&format!(
            "{:<40} {name:<30} {tax_id:<16} {email:<28} {phone:<18} {city}\n",
            hit.id
        ));
    }
    out
}
