//! Pieces every part of a mapping file's reading shares: scalars kept as written, and the
//! "did you mean" hint of every unknown-name error.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A YAML scalar read as its text, so `01`, `003` and `true` stay what was written rather than
/// becoming the numbers 1 and 3 or a boolean.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Scalar(pub String);

impl schemars::JsonSchema for Scalar {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Scalar".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": ["string", "number", "integer", "boolean"] })
    }
}

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
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn scalars_keep_their_written_text() {
        let table: BTreeMap<Scalar, Scalar> = crate::yaml::from_str(
            std::path::Path::new("l.yaml"),
            "{ 01: active, 003: 1.50, true: yes }\n",
        )
        .unwrap();
        let entries: Vec<_> = table
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
