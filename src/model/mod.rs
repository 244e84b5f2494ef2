//! The canonical model: the only types the stages share.
//!
//! Mappings produce these structs; reconciliation merges them field by field into golden records.
//! Money and quantities are [`Decimal`], never floats, so that a price read from an ERP is the price
//! stored and published.

mod customer;
mod golden;
mod order;
mod product;
mod raw;
mod value;

pub use customer::{Address, Contact, Customer, CustomerType};
pub use golden::{Event, FieldSource, Fields, Lineage, Operation};
pub use order::{Bom, BomItem, Order, OrderLine};
pub use product::Product;
pub use raw::RawRecord;
pub use value::{CustomerValue, OrderFact, Stage, Tier};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Kinds of canonical record; each has its own golden records, match rules and event routing keys.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Customer,
    Product,
    Order,
    Bom,
}

impl EntityKind {
    /// Every kind, in the order a batch is reconciled: referenced records before the records that
    /// reference them, so an order in the same batch as its customer finds it.
    pub const ALL: [EntityKind; 4] = [
        EntityKind::Customer,
        EntityKind::Product,
        EntityKind::Order,
        EntityKind::Bom,
    ];

    /// The name used in config files, routing keys and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Customer => "customer",
            EntityKind::Product => "product",
            EntityKind::Order => "order",
            EntityKind::Bom => "bom",
        }
    }

    /// Short prefix of golden IDs, so an ID alone tells what it names.
    pub fn id_prefix(self) -> &'static str {
        match self {
            EntityKind::Customer => "cus",
            EntityKind::Product => "prd",
            EntityKind::Order => "ord",
            EntityKind::Bom => "bom",
        }
    }

    /// Parses a name as written in configs and on the command line.
    pub fn parse(name: &str) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mapped record of any kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "entity", rename_all = "snake_case")]
pub enum Canonical {
    Customer(Customer),
    Product(Product),
    Order(Order),
    Bom(Bom),
}

impl Canonical {
    /// Which kind this record is.
    pub fn kind(&self) -> EntityKind {
        match self {
            Canonical::Customer(_) => EntityKind::Customer,
            Canonical::Product(_) => EntityKind::Product,
            Canonical::Order(_) => EntityKind::Order,
            Canonical::Bom(_) => EntityKind::Bom,
        }
    }

    /// Builds a record of `kind` from the JSON object a mapping produced; unknown or mistyped
    /// fields are an error that names the field, so a record with a bad value is quarantined.
    pub fn from_fields(
        kind: EntityKind,
        fields: serde_json::Value,
    ) -> Result<Canonical, serde_json::Error> {
        Ok(match kind {
            EntityKind::Customer => Canonical::Customer(serde_json::from_value(fields)?),
            EntityKind::Product => Canonical::Product(serde_json::from_value(fields)?),
            EntityKind::Order => Canonical::Order(serde_json::from_value(fields)?),
            EntityKind::Bom => Canonical::Bom(serde_json::from_value(fields)?),
        })
    }

    /// The record's fields as a JSON object, empty values left out: the form survivorship, the
    /// store and events work on.
    pub fn to_fields(&self) -> serde_json::Map<String, serde_json::Value> {
        let value = match self {
            Canonical::Customer(c) => serde_json::to_value(c),
            Canonical::Product(p) => serde_json::to_value(p),
            Canonical::Order(o) => serde_json::to_value(o),
            Canonical::Bom(b) => serde_json::to_value(b),
        };
        match value {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        }
    }
}

/// One canonical record as a source delivered it: who said it, under which key, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// The configured source name.
    pub source: String,
    /// The record's key in that source (after the mapping's key transforms).
    pub key: String,
    /// When the source last changed the record, if it says so; survivorship prefers recent values.
    pub changed_at: Option<DateTime<Utc>>,
    /// True when the source reports the record deleted (SAP `MSGFN` 003, a tombstone).
    pub deleted: bool,
    /// The mapped record.
    pub record: Canonical,
}

/// The fields a mapping may fill for `kind` (reconciliation fills the `*_id` references), so a
/// typo in a mapping file is refused at start-up rather than at the first record.
pub fn field_names(kind: EntityKind) -> &'static [&'static str] {
    match kind {
        EntityKind::Customer => &[
            "name",
            "customer_type",
            "customer_number",
            "given_name",
            "family_name",
            "date_of_birth",
            "tax_id",
            "duns",
            "emails",
            "phones",
            "addresses",
            "contacts",
            "segment",
            "status",
        ],
        EntityKind::Product => &[
            "sku",
            "gtin",
            "name",
            "unit",
            "list_price",
            "currency",
            "product_type",
            "status",
        ],
        EntityKind::Order => &[
            "order_number",
            "customer_ref",
            "customer_ref_source",
            "order_date",
            "delivery_date",
            "currency",
            "status",
            "total_amount",
            "lines",
        ],
        EntityKind::Bom => &[
            "product_ref",
            "product_ref_source",
            "variant",
            "base_quantity",
            "base_unit",
            "valid_from",
            "items",
        ],
    }
}

/// For a field that holds a list of structured items (addresses, order lines, BOM items), the
/// fields of one item; `None` for plain fields.
pub fn collection_fields(kind: EntityKind, field: &str) -> Option<&'static [&'static str]> {
    match (kind, field) {
        (EntityKind::Customer, "addresses") => Some(&[
            "kind",
            "street",
            "house_number",
            "postal_code",
            "city",
            "region",
            "country",
        ]),
        (EntityKind::Customer, "contacts") => Some(&["name", "email", "phone", "role"]),
        (EntityKind::Order, "lines") => Some(&[
            "position",
            "product_ref",
            "product_ref_source",
            "description",
            "quantity",
            "unit",
            "unit_price",
            "amount",
        ]),
        (EntityKind::Bom, "items") => Some(&[
            "position",
            "component_ref",
            "component_ref_source",
            "quantity",
            "unit",
        ]),
        _ => None,
    }
}

/// Fields that hold a list of plain values (a mapping fills them with `many: true` or several
/// paths).
pub fn is_list_field(kind: EntityKind, field: &str) -> bool {
    matches!((kind, field), (EntityKind::Customer, "emails" | "phones"))
}
