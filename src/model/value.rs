//! What a value pass computes per golden customer, as stored and published: shared by the
//! value pass that computes it, the store that keeps it and the views and events that show it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A value tier by the 80/20 rule: the few customers that make most of the revenue at the top.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Among the customers making the first `tiers.platinum` share of revenue.
    Platinum,
    /// Up to the `tiers.gold` share.
    Gold,
    /// Up to the `tiers.iron` share.
    Iron,
    /// The long tail, and customers without (rankable) revenue.
    Lead,
}

/// Where a customer is in its lifecycle, from order recency and frequency.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// No orders yet.
    Prospect,
    /// A recent first order, or fewer than `min_orders`.
    Formation,
    /// Ordering at its usual pace.
    Stable,
    /// Silent for longer than `decline_factor` times its usual interval between orders.
    Decline,
    /// No order for longer than `churn_after`.
    Churned,
}

impl Tier {
    /// The name stored and published.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Platinum => "platinum",
            Tier::Gold => "gold",
            Tier::Iron => "iron",
            Tier::Lead => "lead",
        }
    }

    /// The tier a stored name means.
    pub fn parse(text: &str) -> Option<Tier> {
        [Tier::Platinum, Tier::Gold, Tier::Iron, Tier::Lead]
            .into_iter()
            .find(|tier| tier.as_str() == text)
    }
}

impl Stage {
    /// The name stored and published.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Prospect => "prospect",
            Stage::Formation => "formation",
            Stage::Stable => "stable",
            Stage::Decline => "decline",
            Stage::Churned => "churned",
        }
    }

    /// The stage a stored name means.
    pub fn parse(text: &str) -> Option<Stage> {
        [
            Stage::Prospect,
            Stage::Formation,
            Stage::Stable,
            Stage::Decline,
            Stage::Churned,
        ]
        .into_iter()
        .find(|stage| stage.as_str() == text)
    }
}

/// One golden customer's value figures, tier and stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CustomerValue {
    /// The golden customer.
    pub golden_id: String,
    pub tier: Tier,
    pub stage: Stage,
    /// Live orders linked to the customer.
    pub order_count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_order: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_order: Option<NaiveDate>,
    /// Lifetime revenue per ISO 4217 currency (order totals summed, never converted).
    #[schemars(with = "BTreeMap<String, String>")]
    pub revenue: BTreeMap<String, Decimal>,
    /// Average order value per currency: that currency's revenue over its orders with a total,
    /// rounded to cents.
    #[schemars(with = "BTreeMap<String, String>")]
    pub average_order_value: BTreeMap<String, Decimal>,
}

/// One live order as a value pass reads it: the fields it needs from the golden order's JSON,
/// as text, so one bad value costs only itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFact {
    /// The golden order.
    pub order_id: String,
    /// The golden customer the order is linked to (a merged customer already followed).
    pub customer_id: String,
    pub order_date: Option<String>,
    pub currency: Option<String>,
    pub total_amount: Option<String>,
}
