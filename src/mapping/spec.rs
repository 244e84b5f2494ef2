//! The YAML shape of a mapping file (see the mapping contract). Paths, regexes, transforms and
//! timezones are checked while deserializing, so their errors carry the node's line and column;
//! checks that need the whole file happen in `compile`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::path::JsonPath;
use super::transform::{LookupRef, Pattern, TransformSpec};

/// One mapping file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    pub entity: String,
    /// Only records of this stream of the source (an endpoint, table or tap stream).
    #[serde(default)]
    pub stream: Option<String>,
    #[serde(default)]
    pub when: Option<When>,
    pub key: FieldSpec,
    #[serde(default)]
    pub changed_at: Option<FieldSpec>,
    #[serde(default)]
    pub deleted: Option<ConditionSpec>,
    #[serde(default)]
    pub lookups: BTreeMap<String, LookupDef>,
    #[serde(default)]
    pub fields: BTreeMap<String, FieldSpec>,
}

/// `when:` is one condition or a list of conditions that must all hold.
#[derive(Debug)]
pub struct When(pub Vec<ConditionSpec>);

impl<'de> Deserialize<'de> for When {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = When;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a condition `{ path, equals|in|exists|matches }` or a list of them")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<When, A::Error> {
                ConditionSpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|c| When(vec![c]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<When, A::Error> {
                Vec::<ConditionSpec>::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(When)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A test on the value at `path`; exactly one of the tests is given (checked in `compile`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    pub path: JsonPath,
    #[serde(default)]
    pub equals: Option<Scalar>,
    #[serde(default, rename = "in")]
    pub one_of: Option<Vec<Scalar>>,
    #[serde(default)]
    pub exists: Option<bool>,
    #[serde(default)]
    pub matches: Option<Pattern>,
}

/// How one canonical field (or the key, or `changed_at`) is filled.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    #[serde(default)]
    pub path: Option<JsonPath>,
    #[serde(default)]
    pub paths: Option<Vec<JsonPath>>,
    #[serde(default)]
    pub value: Option<Scalar>,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub transforms: Vec<TransformSpec>,
    #[serde(default)]
    pub lookup: Option<LookupRef>,
    #[serde(default)]
    pub default: Option<Scalar>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub many: bool,
    /// Collection fields only: the items.
    #[serde(default)]
    pub each: Option<JsonPath>,
    /// Collection fields only: the item fields.
    #[serde(default)]
    pub fields: Option<BTreeMap<String, FieldSpec>>,
    /// Reference fields only (`customer_ref`, `product_ref`, `component_ref`): the source whose
    /// keys the value holds, when it is not the record's own (an order file naming customers by
    /// the CRM's numbers: `source: crm`).
    #[serde(default)]
    pub source: Option<String>,
}

/// A lookup table written in a mapping file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupDef {
    pub table: BTreeMap<Scalar, Scalar>,
    /// A value for unmatched input, or `keep` to pass it through; none fails the record.
    #[serde(default)]
    pub default: Option<Scalar>,
}

/// A YAML scalar read as its text, so `01`, `003` and `true` stay what was written rather than
/// becoming the numbers 1 and 3 or a boolean.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// ", did you mean `x`?" when a candidate is close to `name`, else "".
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let best = candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .min_by_key(|(distance, _)| *distance);
    match best {
        Some((distance, candidate)) if distance <= (name.chars().count() / 3).max(2) => {
            format!(", did you mean `{candidate}`?")
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_keep_their_written_text() {
        let def: LookupDef = crate::config::yaml::from_str(
            std::path::Path::new("l.yaml"),
            "table: { 01: active, 003: 1.50, true: yes }\ndefault: keep\n",
        )
        .unwrap();
        let entries: Vec<_> = def
            .table
            .iter()
            .map(|(k, v)| (k.0.as_str(), v.0.as_str()))
            .collect();
        assert_eq!(
            entries,
            vec![("003", "1.50"), ("01", "active"), ("true", "yes")]
        );
    }

    #[test]
    fn suggestions_only_for_close_names() {
        assert_eq!(
            did_you_mean("nmae", ["name", "tax_id"]),
            ", did you mean `name`?"
        );
        assert_eq!(did_you_mean("completely_else", ["name", "tax_id"]), "");
    }
}
