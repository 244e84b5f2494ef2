//! The YAML shape of a mapping file (see the mapping contract). Paths, regexes, transforms and
//! timezones are checked while deserializing, so their errors carry the node's line and column;
//! checks that need the whole file happen in `compile`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::lookup::LookupDef;
use super::path::JsonPath;
use super::scalar::Scalar;
use super::transform::{LookupRef, Pattern, TransformSpec};

/// One mapping file as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    /// The canonical entity this mapping produces.
    #[schemars(with = "crate::model::EntityKind")]
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

impl schemars::JsonSchema for When {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "When".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let condition = generator.subschema_for::<ConditionSpec>();
        schemars::json_schema!({
            "anyOf": [condition.clone(), { "type": "array", "items": condition }]
        })
    }
}

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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
