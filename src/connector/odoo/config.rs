//! Settings of the `odoo` driver.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::transport::http::{
    RetryConfig, Secret, TransportConfig, default_max_response_size, default_timeout,
};

/// Settings of the `odoo` driver: one Odoo database read over JSON-RPC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OdooConfig {
    /// The Odoo server's address (`https://odoo.example.com`); requests go to `<url>/jsonrpc`.
    pub url: String,
    /// The Odoo database to log in to (one server may host several).
    pub database: String,
    /// The login of the user Concord reads as; its access rights decide what it sees.
    pub username: String,
    /// That user's password or, better, an API key (Preferences → Account Security); shown as
    /// `***` everywhere.
    pub password: Secret,
    /// The models to read, in order; each becomes a stream its mappings select with `stream:`.
    pub models: Vec<OdooModel>,
    /// Records per `search_read` call.
    #[serde(default = "default_page_size")]
    pub page_size: u64,
    /// Re-read this window before the stored `write_date` on each run (e.g. `10m`), for
    /// transactions that committed late with older change times; records read twice are dropped
    /// by their content hash.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "String")]
    pub lookback: Duration,
    /// How long one request may take.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub timeout: Duration,
    /// Retries after connection errors, timeouts, 429 and 5xx answers.
    #[serde(default)]
    pub retry: RetryConfig,
    /// A PEM file with the CA certificate(s) that signed the server's certificate (relative to
    /// the config file), for an Odoo behind an internal CA; trusted besides the public web roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The largest answer read, in bytes (default 64 MiB): a larger one fails its model with an
    /// error naming its size; lower `page_size` when a page of a model with big fields is over.
    #[serde(default = "default_max_response_size")]
    pub max_response_size: u64,
}

/// One Odoo model read as one stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OdooModel {
    /// The stream's name, which mappings select with `stream:` (e.g. `partners`).
    pub name: String,
    /// The Odoo model (`res.partner`, `product.product`, `sale.order`, `mrp.bom`).
    pub model: String,
    /// The fields to read; `id` and `write_date` are always read, since the cursor needs them.
    pub fields: Vec<String>,
    /// An Odoo domain restricting the records, e.g. `[["customer_rank", ">", 0]]`; the driver
    /// adds the `write_date` condition of an incremental run.
    #[serde(default)]
    pub domain: Vec<Value>,
    /// A child model read along with each page and nested into its parent record under
    /// `lines` (sale order lines into orders, BOM lines into BOMs).
    #[serde(default)]
    pub lines: Option<OdooLines>,
    /// Many2one fields whose target records are read along with each page and nested under
    /// `related.<field>`: an order's `partner_id` may be a contact person under a company, and
    /// `{ field: partner_id, model: res.partner, fields: [commercial_partner_id] }` gives its
    /// company as `$.related.partner_id.commercial_partner_id`.
    #[serde(default)]
    pub related: Vec<OdooRelated>,
}

/// The target records of a many2one field, read per page and nested into each record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OdooRelated {
    /// The many2one field of the record (`partner_id`).
    pub field: String,
    /// The model it points to (`res.partner`).
    pub model: String,
    /// The target's fields to read (`commercial_partner_id`).
    pub fields: Vec<String>,
}

/// Child records of another model, nested into their parent under `lines`, ordered by `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OdooLines {
    /// The child model (`sale.order.line`, `mrp.bom.line`).
    pub model: String,
    /// The child's many2one field naming its parent (`order_id`, `bom_id`).
    pub parent_field: String,
    /// The child fields to read.
    pub fields: Vec<String>,
}

fn default_page_size() -> u64 {
    500
}

impl OdooConfig {
    /// The shared HTTP transport's settings for this server (authentication is in the JSON-RPC
    /// body, not in headers).
    pub fn transport(&self) -> TransportConfig {
        TransportConfig {
            timeout: self.timeout,
            retry: self.retry.clone(),
            ca_file: self.ca_file.clone(),
            max_response_size: self.max_response_size,
            ..TransportConfig::new(self.url.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses_and_hides_the_password() {
        let text = r#"
url: "https://odoo.example.com"
database: prod
username: concord@example.com
password: "s3cret-api-key"
models:
  - { name: partners, model: res.partner, fields: [name, vat], domain: [["customer_rank", ">", 0]] }
  - name: orders
    model: sale.order
    fields: [name, partner_id]
    lines: { model: sale.order.line, parent_field: order_id, fields: [product_id, product_uom_qty] }
page_size: 200
lookback: 10m
"#;
        let config: OdooConfig = serde_yaml::from_str(text).unwrap();
        assert_eq!(config.page_size, 200);
        assert_eq!(config.lookback, Duration::from_secs(600));
        assert_eq!(config.models[0].domain[0][2], 0);
        assert_eq!(
            config.models[1].lines.as_ref().unwrap().parent_field,
            "order_id"
        );
        assert!(!format!("{config:?}").contains("s3cret"));
        assert!(serde_yaml::from_str::<OdooConfig>(&format!("{text}\npagesize: 3\n")).is_err());
    }
}
