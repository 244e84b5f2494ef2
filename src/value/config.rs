//! The `value:` section of concord.yaml: how customers are ranked into value tiers and placed in
//! a lifecycle stage.

use std::collections::BTreeMap;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Customer value and lifecycle settings; every field has a default, so the section is optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueConfig {
    /// ISO 4217 currency tiers are ranked in (`EUR`); by default the currency most orders are in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Exchange rates into `currency`: `USD: 0.92` means one USD counts as 0.92 of it. Revenue in
    /// a currency without a rate is left out of tiering (and said once per pass), never guessed.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub rates: BTreeMap<String, Decimal>,
    /// Cumulative revenue shares of the tiers (the 80/20 customer pyramid).
    #[serde(default)]
    pub tiers: TierShares,
    /// A customer is in formation while its first order is more recent than this (`180d`).
    #[serde(default = "default_formation", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub formation: Duration,
    /// A customer with fewer orders than this is in formation however old its first order.
    #[serde(default = "default_min_orders")]
    pub min_orders: u32,
    /// A customer is in decline when it has not ordered for longer than this factor times its
    /// own average interval between orders: a monthly buyer silent for two months, a yearly one
    /// for two years.
    #[serde(default = "default_decline_factor")]
    pub decline_factor: f64,
    /// A customer is churned when its last order is older than this (`365d`).
    #[serde(default = "default_churn_after", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub churn_after: Duration,
}

/// Customers sorted by revenue, largest first: those that make the first `platinum` share of all
/// revenue are platinum, those up to `gold` gold, up to `iron` iron; the rest, and customers
/// without revenue, are lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TierShares {
    /// Share of revenue made by the platinum customers (default 0.5).
    #[serde(default = "default_platinum")]
    pub platinum: f64,
    /// Share made by platinum and gold customers together (default 0.8).
    #[serde(default = "default_gold")]
    pub gold: f64,
    /// Share made by platinum, gold and iron customers together (default 0.95).
    #[serde(default = "default_iron")]
    pub iron: f64,
}

fn default_platinum() -> f64 {
    0.5
}

fn default_gold() -> f64 {
    0.8
}

fn default_iron() -> f64 {
    0.95
}

fn default_formation() -> Duration {
    Duration::from_secs(180 * 86_400)
}

fn default_min_orders() -> u32 {
    3
}

fn default_decline_factor() -> f64 {
    2.0
}

fn default_churn_after() -> Duration {
    Duration::from_secs(365 * 86_400)
}

impl Default for TierShares {
    fn default() -> Self {
        TierShares {
            platinum: default_platinum(),
            gold: default_gold(),
            iron: default_iron(),
        }
    }
}

impl Default for ValueConfig {
    fn default() -> Self {
        ValueConfig {
            currency: None,
            rates: BTreeMap::new(),
            tiers: TierShares::default(),
            formation: default_formation(),
            min_orders: default_min_orders(),
            decline_factor: default_decline_factor(),
            churn_after: default_churn_after(),
        }
    }
}

impl ValueConfig {
    /// What is wrong with these settings, for `concord validate` and start-up.
    pub fn problem(&self) -> Option<String> {
        let TierShares {
            platinum,
            gold,
            iron,
        } = self.tiers;
        if !(0.0 < platinum && platinum <= gold && gold <= iron && iron <= 1.0) {
            return Some(format!(
                "value.tiers: shares must rise within (0, 1] (platinum {platinum} ≤ gold {gold} ≤ iron {iron})"
            ));
        }
        if !(self.decline_factor.is_finite() && self.decline_factor > 0.0) {
            return Some(format!(
                "value.decline_factor must be above 0, not {}",
                self.decline_factor
            ));
        }
        if let Some((currency, rate)) = self.rates.iter().find(|(_, rate)| **rate <= Decimal::ZERO)
        {
            return Some(format!(
                "value.rates.{currency}: a rate must be above 0, not {rate}"
            ));
        }
        if self.churn_after.is_zero() {
            return Some("value.churn_after must be longer than 0".into());
        }
        None
    }
}
