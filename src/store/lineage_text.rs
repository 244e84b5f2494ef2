//! The stored form of lineage. Most fields of a golden record come from the same one or two
//! source records, so the source records are written once and each field names one by index:
//! `{"from": [["sap", "4711", "2024-05-14T07:30:00Z"]], "fields": {"name": 0, "tax_id": 0}}`.
//! That is a fifth of the size of one object per field, and lineage is stored with every version.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{FieldSource, Lineage, StoreError};

#[derive(Deserialize)]
struct Stored {
    from: Vec<(String, String, Option<DateTime<Utc>>)>,
    fields: BTreeMap<String, usize>,
}

/// [`Stored`] borrowing from the lineage it encodes: written with every golden version, so
/// encoding copies no string.
#[derive(Serialize)]
struct Encoded<'a> {
    from: Vec<(&'a str, &'a str, Option<DateTime<Utc>>)>,
    /// In the lineage's (sorted) field order.
    #[serde(serialize_with = "as_map")]
    fields: Vec<(&'a str, usize)>,
}

fn as_map<S: serde::Serializer>(fields: &[(&str, usize)], out: S) -> Result<S::Ok, S::Error> {
    out.collect_map(fields.iter().map(|(field, index)| (field, index)))
}

/// Lineage as stored text.
pub fn encode(lineage: &Lineage) -> String {
    let mut encoded = Encoded {
        from: Vec::new(),
        fields: Vec::with_capacity(lineage.len()),
    };
    for (field, source) in lineage {
        let known = encoded.from.iter().position(|(s, k, at)| {
            *s == source.source && *k == source.key && *at == source.changed_at
        });
        let index = known.unwrap_or_else(|| {
            encoded
                .from
                .push((&source.source, &source.key, source.changed_at));
            encoded.from.len() - 1
        });
        encoded.fields.push((field, index));
    }
    serde_json::to_string(&encoded).unwrap_or_else(|_| "{}".to_string())
}

/// Lineage from stored text.
pub fn decode(text: &str) -> Result<Lineage, StoreError> {
    let stored: Stored =
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("lineage: {e}")))?;
    stored
        .fields
        .into_iter()
        .map(|(field, index)| {
            let (source, key, changed_at) = stored.from.get(index).cloned().ok_or_else(|| {
                StoreError::Corrupt(format!("lineage of `{field}` names source #{index}"))
            })?;
            Ok((
                field,
                FieldSource {
                    source,
                    key,
                    changed_at,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn round_trips_and_writes_each_source_record_once() {
        let sap = FieldSource {
            source: "sap".into(),
            key: "4711".into(),
            changed_at: Some(Utc.with_ymd_and_hms(2024, 5, 14, 7, 30, 0).unwrap()),
        };
        let shop = FieldSource {
            source: "shop".into(),
            key: "C-1".into(),
            changed_at: None,
        };
        let lineage = Lineage::from([
            ("name".to_string(), sap.clone()),
            ("tax_id".to_string(), sap),
            ("emails".to_string(), shop),
        ]);
        let text = encode(&lineage);
        assert_eq!(text.matches("4711").count(), 1, "{text}");
        assert_eq!(decode(&text).unwrap(), lineage);
    }

    #[test]
    fn a_dangling_index_is_reported() {
        assert!(decode(r#"{"from": [], "fields": {"name": 0}}"#).is_err());
    }
}
