use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A sales order with its lines.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Order {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    /// The ordering customer's key in the same source; resolved to `customer_id` through the xref.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_ref: Option<String>,
    /// The source whose key `customer_ref` is, when not the order's own (mapping `source:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_ref_source: Option<String>,
    /// The golden customer ID, filled in by reconciliation, never by a mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_date: Option<NaiveDate>,
    /// ISO 4217 currency of every amount on the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    #[schemars(with = "Option<String>")]
    pub total_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<OrderLine>,
}

/// One line of an order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// The product's key in the same source; resolved to `product_id` through the xref.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_ref: Option<String>,
    /// The source whose key `product_ref` is, when not the order's own (mapping `source:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_ref_source: Option<String>,
    /// The golden product ID, filled in by reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    #[schemars(with = "Option<String>")]
    pub quantity: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    #[schemars(with = "Option<String>")]
    pub unit_price: Option<Decimal>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    #[schemars(with = "Option<String>")]
    pub amount: Option<Decimal>,
}

/// A bill of materials: what one unit (or `base_quantity` units) of a product is made of.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bom {
    /// The parent product's key in the same source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_ref: Option<String>,
    /// The source whose key `product_ref` is, when not the BOM's own (mapping `source:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_ref_source: Option<String>,
    /// The golden ID of the parent product, filled in by reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// Alternative or usage such as SAP `STLAL`/`STLAN`, when a product has several BOMs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    #[schemars(with = "Option<String>")]
    pub base_quantity: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<BomItem>,
}

/// One component line of a BOM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BomItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// The component product's key in the same source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_ref: Option<String>,
    /// The source whose key `component_ref` is, when not the BOM's own (mapping `source:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_ref_source: Option<String>,
    /// The golden ID of the component, filled in by reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::str_option"
    )]
    #[schemars(with = "Option<String>")]
    pub quantity: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}
