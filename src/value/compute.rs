//! The computation of a value pass: order facts in, figures, tiers and stages out. Pure: the
//! date it judges recency from is passed in, never read from the clock.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::config::ValueConfig;
use crate::model::{CustomerValue, OrderFact, Stage, Tier};

/// What one pass computed: a value per live customer, and what it had to leave out.
#[derive(Debug, Clone, PartialEq)]
pub struct Computed {
    /// One per live customer, by golden ID.
    pub values: Vec<CustomerValue>,
    /// The currency tiers were ranked in; none when no order has a total.
    pub currency: Option<String>,
    /// What was left out and why, each said once per pass.
    pub notes: Vec<String>,
}

/// A customer's orders as they accumulate.
#[derive(Debug, Default)]
struct Tally {
    orders: i64,
    dates: Vec<NaiveDate>,
    revenue: BTreeMap<String, Decimal>,
    priced: BTreeMap<String, i64>,
}

/// What the pass left out, counted.
#[derive(Debug, Default)]
struct LeftOut {
    bad_dates: usize,
    bad_amounts: usize,
    no_currency: usize,
    unknown_customer: usize,
    unrated: BTreeSet<String>,
}

/// Computes the value of every customer in `customers` (the live golden customers) from the
/// linked live orders in `facts`, judging recency as of `today`.
pub fn compute(
    config: &ValueConfig,
    customers: &[String],
    facts: &[OrderFact],
    today: NaiveDate,
) -> Computed {
    let mut tallies: BTreeMap<&str, Tally> = customers
        .iter()
        .map(|id| (id.as_str(), Tally::default()))
        .collect();
    let mut left_out = LeftOut::default();
    let mut orders_per_currency: HashMap<String, i64> = HashMap::new();
    for fact in facts {
        let Some(tally) = tallies.get_mut(fact.customer_id.as_str()) else {
            left_out.unknown_customer += 1;
            continue;
        };
        tally.orders += 1;
        if let Some(text) = &fact.order_date {
            match NaiveDate::from_str(text.trim()) {
                Ok(date) => tally.dates.push(date),
                Err(_) => left_out.bad_dates += 1,
            }
        }
        let Some(text) = &fact.total_amount else {
            continue;
        };
        let Ok(amount) = Decimal::from_str(text.trim()) else {
            left_out.bad_amounts += 1;
            continue;
        };
        let Some(currency) = fact
            .currency
            .as_deref()
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
        else {
            left_out.no_currency += 1;
            continue;
        };
        *tally.revenue.entry(currency.clone()).or_default() += amount;
        *tally.priced.entry(currency.clone()).or_default() += 1;
        *orders_per_currency.entry(currency).or_default() += 1;
    }
    let currency = config
        .currency
        .as_ref()
        .map(|c| c.trim().to_ascii_uppercase())
        .or_else(|| most_common(&orders_per_currency));
    let ranked: BTreeMap<&str, Decimal> = tallies
        .iter()
        .map(|(id, tally)| {
            let amount = currency
                .as_deref()
                .map(|into| ranked_revenue(config, into, &tally.revenue, &mut left_out.unrated))
                .unwrap_or_default();
            (*id, amount)
        })
        .collect();
    let tiers = tiers(config, &ranked);
    let values = tallies
        .into_iter()
        .map(|(id, tally)| {
            let first_order = tally.dates.iter().min().copied();
            let last_order = tally.dates.iter().max().copied();
            let stage = stage(config, &tally, today);
            let average_order_value = tally
                .revenue
                .iter()
                .filter_map(|(currency, amount)| {
                    let count = *tally.priced.get(currency)?;
                    Some((
                        currency.clone(),
                        (amount / Decimal::from(count)).round_dp(2),
                    ))
                })
                .collect();
            CustomerValue {
                golden_id: id.to_string(),
                tier: tiers.get(id).copied().unwrap_or(Tier::Lead),
                stage,
                order_count: tally.orders,
                first_order,
                last_order,
                revenue: tally.revenue,
                average_order_value,
            }
        })
        .collect();
    Computed {
        values,
        notes: left_out.notes(currency.as_deref()),
        currency,
    }
}

/// The currency most orders are in; the first by name among equals, so a pass is repeatable.
fn most_common(orders_per_currency: &HashMap<String, i64>) -> Option<String> {
    orders_per_currency
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(currency, _)| currency.clone())
}

/// A customer's revenue in the ranking currency; currencies without a rate are left out and
/// named in `unrated`.
fn ranked_revenue(
    config: &ValueConfig,
    into: &str,
    revenue: &BTreeMap<String, Decimal>,
    unrated: &mut BTreeSet<String>,
) -> Decimal {
    revenue
        .iter()
        .map(|(currency, amount)| {
            if currency == into {
                *amount
            } else if let Some(rate) = config.rates.get(currency) {
                amount * rate
            } else {
                unrated.insert(currency.clone());
                Decimal::ZERO
            }
        })
        .sum()
}

/// Tiers by cumulative revenue share: a customer belongs to the tier whose share the revenue of
/// the customers ranked above it has not yet filled, so the biggest customer is always platinum.
fn tiers<'a>(config: &ValueConfig, ranked: &BTreeMap<&'a str, Decimal>) -> HashMap<&'a str, Tier> {
    let mut order: Vec<(&str, Decimal)> = ranked
        .iter()
        .filter(|(_, amount)| **amount > Decimal::ZERO)
        .map(|(id, amount)| (*id, *amount))
        .collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let total: Decimal = order.iter().map(|(_, amount)| *amount).sum();
    // Through the shortest decimal text: 0.8 as a binary float is a hair above 0.8, which would
    // put a customer at exactly 80 % in gold instead of iron.
    let share =
        |fraction: f64| Decimal::from_str(&fraction.to_string()).unwrap_or(Decimal::ONE) * total;
    let bounds = [
        (share(config.tiers.platinum), Tier::Platinum),
        (share(config.tiers.gold), Tier::Gold),
        (share(config.tiers.iron), Tier::Iron),
    ];
    let mut before = Decimal::ZERO;
    let mut tiers = HashMap::new();
    for (id, amount) in order {
        let tier = bounds
            .iter()
            .find(|(bound, _)| before < *bound)
            .map(|(_, tier)| *tier)
            .unwrap_or(Tier::Lead);
        tiers.insert(id, tier);
        before += amount;
    }
    tiers
}

/// The lifecycle stage of a customer's orders as of `today`.
fn stage(config: &ValueConfig, tally: &Tally, today: NaiveDate) -> Stage {
    if tally.orders == 0 {
        return Stage::Prospect;
    }
    let days = |duration: std::time::Duration| (duration.as_secs() / 86_400) as i64;
    let (Some(first), Some(last)) = (tally.dates.iter().min(), tally.dates.iter().max()) else {
        // Orders without dates say nothing of recency: only their number counts.
        return match tally.orders < i64::from(config.min_orders) {
            true => Stage::Formation,
            false => Stage::Stable,
        };
    };
    let silent = (today - *last).num_days();
    if silent > days(config.churn_after) {
        return Stage::Churned;
    }
    if (today - *first).num_days() < days(config.formation)
        || tally.orders < i64::from(config.min_orders)
    {
        return Stage::Formation;
    }
    let intervals = tally.dates.len().saturating_sub(1);
    if intervals > 0 {
        let average = (*last - *first).num_days() as f64 / intervals as f64;
        if silent as f64 > config.decline_factor * average {
            return Stage::Decline;
        }
    }
    Stage::Stable
}

impl LeftOut {
    fn notes(&self, currency: Option<&str>) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.unrated.is_empty() {
            let names: Vec<&str> = self.unrated.iter().map(String::as_str).collect();
            notes.push(format!(
                "revenue in {} is left out of tiering: no rate into {} under value.rates",
                names.join(", "),
                currency.unwrap_or("the ranking currency")
            ));
        }
        let counted = [
            (
                self.bad_dates,
                "an order_date that is not a date (YYYY-MM-DD): left out of first, last and recency",
            ),
            (
                self.bad_amounts,
                "a total_amount that is not a number: left out of revenue",
            ),
            (
                self.no_currency,
                "a total_amount but no currency: left out of revenue",
            ),
            (
                self.unknown_customer,
                "a customer_id that is no live golden customer: left out",
            ),
        ];
        for (count, what) in counted {
            if count > 0 {
                notes.push(format!("{count} orders with {what}"));
            }
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(
        customer: &str,
        date: Option<&str>,
        currency: Option<&str>,
        total: Option<&str>,
    ) -> OrderFact {
        OrderFact {
            order_id: format!("ord_{customer}_{date:?}"),
            customer_id: customer.into(),
            order_date: date.map(str::to_string),
            currency: currency.map(str::to_string),
            total_amount: total.map(str::to_string),
        }
    }

    #[test]
    fn unreadable_order_values_cost_only_themselves_and_are_said() {
        let customers = vec!["cus_a".to_string()];
        let facts = vec![
            fact("cus_a", Some("2025-01-10"), Some("eur"), Some("100.50")),
            fact("cus_a", Some("31.02.2025"), Some("EUR"), Some("n/a")),
            fact("cus_a", None, None, Some("10")),
            fact("cus_gone", Some("2025-01-01"), Some("EUR"), Some("5")),
        ];
        let today = NaiveDate::from_ymd_opt(2025, 2, 1).unwrap();
        let computed = compute(&ValueConfig::default(), &customers, &facts, today);
        let value = &computed.values[0];
        assert_eq!(value.order_count, 3, "every linked order counts");
        assert_eq!(
            value.revenue.get("EUR").map(|a| a.to_string()).as_deref(),
            Some("100.50")
        );
        assert_eq!(value.first_order, NaiveDate::from_ymd_opt(2025, 1, 10));
        assert_eq!(
            (value.tier, value.stage),
            (Tier::Platinum, Stage::Formation)
        );
        assert_eq!(
            computed.notes,
            vec![
                "1 orders with an order_date that is not a date (YYYY-MM-DD): left out of first, last and recency",
                "1 orders with a total_amount that is not a number: left out of revenue",
                "1 orders with a total_amount but no currency: left out of revenue",
                "1 orders with a customer_id that is no live golden customer: left out",
            ]
        );
    }

    #[test]
    fn the_largest_customer_is_platinum_even_above_the_whole_share() {
        let customers = vec!["cus_a".to_string(), "cus_b".to_string()];
        let facts = vec![
            fact("cus_a", Some("2025-01-10"), Some("EUR"), Some("900")),
            fact("cus_b", Some("2025-01-10"), Some("EUR"), Some("100")),
        ];
        let today = NaiveDate::from_ymd_opt(2025, 2, 1).unwrap();
        let computed = compute(&ValueConfig::default(), &customers, &facts, today);
        let tiers: Vec<Tier> = computed.values.iter().map(|v| v.tier).collect();
        // Before B: 90 % of revenue, past gold's 80 % but under iron's 95 %.
        assert_eq!(tiers, [Tier::Platinum, Tier::Iron]);
    }
}
