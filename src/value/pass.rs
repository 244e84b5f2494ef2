//! One value pass over the store: read the order facts, compute, compare with the stored values
//! and write what changed with its events.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

use super::compute::compute;
use super::config::ValueConfig;
use crate::model::Operation;
use crate::model::{CustomerValue, OrderFact, Stage, Tier};
use crate::store::{CustomerValues, Fields, StoreError, ValueEvent, ValueWrite};

/// A value pass that could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    #[error("customer value: {0}")]
    Store(#[from] StoreError),
}

/// What a pass found and did, for the command's report and the logs.
#[derive(Debug, Clone, PartialEq)]
pub struct Pass {
    /// Live customers valued.
    pub customers: usize,
    /// The currency tiers were ranked in.
    pub currency: Option<String>,
    pub tiers: BTreeMap<Tier, usize>,
    pub stages: BTreeMap<Stage, usize>,
    /// The customers whose tier or stage changes.
    pub changes: Vec<Change>,
    /// Values written (new or changed figures).
    pub values_written: usize,
    pub events: usize,
    /// What was left out and why; the caller says each once (printed or logged).
    pub notes: Vec<String>,
}

/// One customer's change of tier or stage, as the command lists it: a first pass over a large
/// store changes a customer in five, so only what the list shows is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub golden_id: String,
    /// `lead` and `prospect` for a customer valued for the first time.
    pub before: (Tier, Stage),
    pub after: (Tier, Stage),
}

/// Changed values per write: a pass holds one slice's values and events at a time, not those of
/// a million customers, and the store writes the slices in one transaction.
const SLICE: usize = 5_000;

/// A customer's tier and stage before a pass: as stored, and for a customer not valued before
/// what every new customer is, `lead` and `prospect`. So a first pass over a store of 100,000
/// customers announces only those with orders, not 200,000 events that say nothing.
fn baseline(before: Option<&Stored>) -> (Tier, Stage) {
    before.map_or((Tier::Lead, Stage::Prospect), |b| (b.tier, b.stage))
}

/// Amounts per currency, in currency order.
type PerCurrency = Box<[(Box<str>, Decimal)]>;

/// A stored value as a pass compares it with the computed one. Read as a `CustomerValue`, a
/// value with orders holds two B-tree maps of a node each, about 1 KB; a pass over a million
/// stored values keeps this instead.
#[derive(Debug)]
struct Stored {
    tier: Tier,
    stage: Stage,
    order_count: i64,
    first_order: Option<NaiveDate>,
    last_order: Option<NaiveDate>,
    revenue: PerCurrency,
    average_order_value: PerCurrency,
}

impl Stored {
    fn of(value: &CustomerValue) -> Self {
        let compact = |amounts: &BTreeMap<String, Decimal>| -> PerCurrency {
            amounts
                .iter()
                .map(|(currency, amount)| (currency.as_str().into(), *amount))
                .collect()
        };
        Stored {
            tier: value.tier,
            stage: value.stage,
            order_count: value.order_count,
            first_order: value.first_order,
            last_order: value.last_order,
            revenue: compact(&value.revenue),
            average_order_value: compact(&value.average_order_value),
        }
    }

    /// True when `value` is what is stored: nothing to write.
    fn holds(&self, value: &CustomerValue) -> bool {
        let same = |stored: &PerCurrency, computed: &BTreeMap<String, Decimal>| {
            stored.len() == computed.len()
                && stored
                    .iter()
                    .zip(computed)
                    .all(|((currency, amount), (other, computed))| {
                        **currency == **other && amount == computed
                    })
        };
        (self.tier, self.stage, self.order_count) == (value.tier, value.stage, value.order_count)
            && (self.first_order, self.last_order) == (value.first_order, value.last_order)
            && same(&self.revenue, &value.revenue)
            && same(&self.average_order_value, &value.average_order_value)
    }
}

/// The writes that take the store from its stored values to the computed ones, planned a
/// slice at a time as the store asks for them: changed values, values of customers no longer live
/// (in the last slice), and an event per change of tier and per change of stage, carrying the
/// customer's version and its new figures. Keeps the tally of what it planned.
struct Plan<'p> {
    stored: HashMap<Box<str>, Stored>,
    computed: std::vec::IntoIter<CustomerValue>,
    versions: &'p HashMap<&'p str, i64>,
    at: DateTime<Utc>,
    finished: bool,
    changes: Vec<Change>,
    values_written: usize,
    events: usize,
}

impl<'p> Plan<'p> {
    /// A plan from the `stored` values to `computed`, whose events carry the versions in
    /// `versions` (a customer missing there is at version 1).
    fn new(
        stored: HashMap<Box<str>, Stored>,
        computed: Vec<CustomerValue>,
        versions: &'p HashMap<&'p str, i64>,
        at: DateTime<Utc>,
    ) -> Self {
        Plan {
            stored,
            computed: computed.into_iter(),
            versions,
            at,
            finished: false,
            changes: Vec::new(),
            values_written: 0,
            events: 0,
        }
    }

    fn add(&mut self, value: CustomerValue, write: &mut ValueWrite) {
        let before = self.stored.remove(value.golden_id.as_str());
        if before.as_ref().is_some_and(|stored| stored.holds(&value)) {
            return;
        }
        let version = self
            .versions
            .get(value.golden_id.as_str())
            .copied()
            .unwrap_or(1);
        let figures = serde_json::to_value(&value).unwrap_or(Value::Null);
        let mut event = |operation: Operation, key: &str, from: &str, to: &str| {
            let mut detail = Fields::new();
            detail.insert(key.into(), json!({ "from": from, "to": to }));
            detail.insert("value".into(), figures.clone());
            write.events.push(ValueEvent {
                event_id: Uuid::now_v7().to_string(),
                operation,
                golden_id: value.golden_id.clone(),
                version,
                detail: Value::Object(detail).to_string(),
                at: self.at,
            });
        };
        let (tier_before, stage_before) = baseline(before.as_ref());
        if tier_before != value.tier {
            event(
                Operation::TierChanged,
                "tier",
                tier_before.as_str(),
                value.tier.as_str(),
            );
        }
        if stage_before != value.stage {
            event(
                Operation::StageChanged,
                "stage",
                stage_before.as_str(),
                value.stage.as_str(),
            );
        }
        if (tier_before, stage_before) != (value.tier, value.stage) {
            self.changes.push(Change {
                golden_id: value.golden_id.clone(),
                before: (tier_before, stage_before),
                after: (value.tier, value.stage),
            });
        }
        write.values.push(value);
    }
}

impl Iterator for Plan<'_> {
    type Item = ValueWrite;

    /// The next slice of writes; the last one also removes the values of customers no longer
    /// live, and may be empty.
    fn next(&mut self) -> Option<ValueWrite> {
        if self.finished {
            return None;
        }
        let mut write = ValueWrite {
            at: self.at,
            ..ValueWrite::default()
        };
        while write.values.len() < SLICE {
            let Some(value) = self.computed.next() else {
                self.finished = true;
                let mut removed: Vec<String> =
                    self.stored.drain().map(|(id, _)| id.to_string()).collect();
                removed.sort();
                write.removed = removed;
                break;
            };
            self.add(value, &mut write);
        }
        self.values_written += write.values.len();
        self.events += write.events.len();
        Some(write)
    }
}

/// Gives an order linked to a customer since merged away to the customer its chain of merges
/// ends at, so its revenue is not lost with the merged ID.
fn follow_merges(facts: &mut [OrderFact], redirects: &HashMap<String, String>) {
    for fact in facts {
        // A chain is at most as long as the merges stored; the bound also ends a corrupt cycle.
        for _ in 0..=redirects.len() {
            match redirects.get(&fact.customer_id) {
                Some(target) => fact.customer_id = target.clone(),
                None => break,
            }
        }
    }
}

/// Runs one pass as of `now`: values every live customer from its linked orders and, unless
/// `dry_run`, stores what changed and queues its events in one transaction. The caller holds the
/// writer lock (or the write turn on a shared store) when not a dry run.
pub async fn refresh(
    store: &dyn CustomerValues,
    config: &ValueConfig,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<Pass, ValueError> {
    let (ids, versions): (Vec<String>, Vec<i64>) =
        store.live_customers().await?.into_iter().unzip();
    let computed = {
        let mut facts = store.order_facts().await?;
        follow_merges(&mut facts, &store.customer_redirects().await?);
        compute(config, &ids, &facts, now.date_naive())
    };
    let versions: HashMap<&str, i64> = ids.iter().map(String::as_str).zip(versions).collect();
    let mut tiers = BTreeMap::new();
    let mut stages = BTreeMap::new();
    for value in &computed.values {
        *tiers.entry(value.tier).or_default() += 1;
        *stages.entry(value.stage).or_default() += 1;
    }
    let customers = computed.values.len();
    let stored = store
        .value_stream(None)
        .map_ok(|value| (value.golden_id.as_str().into(), Stored::of(&value)))
        .try_collect()
        .await?;
    let mut plan = Plan::new(stored, computed.values, &versions, now);
    if dry_run {
        plan.by_ref().for_each(drop);
    } else {
        store.write_values(&mut plan).await?;
    }
    Ok(Pass {
        customers,
        currency: computed.currency,
        tiers,
        stages,
        changes: plan.changes,
        values_written: plan.values_written,
        events: plan.events,
        notes: computed.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(id: usize, tier: Tier, stage: Stage) -> CustomerValue {
        CustomerValue {
            golden_id: format!("cus_{id:06}"),
            tier,
            stage,
            order_count: 0,
            first_order: None,
            last_order: None,
            revenue: BTreeMap::new(),
            average_order_value: BTreeMap::new(),
        }
    }

    fn with_revenue(mut value: CustomerValue, euros: i64) -> CustomerValue {
        value
            .revenue
            .insert("EUR".into(), Decimal::new(euros * 100, 2));
        value
    }

    /// A pass over more customers than a slice plans them a slice at a time, and every change,
    /// event and removal lands in exactly one slice; a value whose figures did not change is not
    /// written, one whose figures changed without its tier or stage is written without an event.
    #[test]
    fn a_large_pass_is_planned_in_slices_that_together_hold_every_change_once() {
        let customers = 2 * SLICE + 7;
        let mut previous: Vec<CustomerValue> = (0..=customers)
            .map(|id| value(id, Tier::Lead, Stage::Stable))
            .collect();
        previous[1] = with_revenue(value(1, Tier::Lead, Stage::Stable), 10);
        previous[2] = with_revenue(value(2, Tier::Lead, Stage::Stable), 5);
        // Every third customer becomes gold; the last stored one is no longer live.
        let mut computed: Vec<CustomerValue> = (0..customers)
            .map(|id| match id % 3 {
                0 => value(id, Tier::Gold, Stage::Stable),
                _ => value(id, Tier::Lead, Stage::Stable),
            })
            .collect();
        computed[1] = with_revenue(value(1, Tier::Lead, Stage::Stable), 10);
        computed[2] = with_revenue(value(2, Tier::Lead, Stage::Stable), 7);
        let versions = HashMap::from([("cus_000003", 4)]);
        let stored = previous
            .iter()
            .map(|value| (value.golden_id.as_str().into(), Stored::of(value)))
            .collect();
        let mut plan = Plan::new(stored, computed, &versions, Utc::now());
        let slices: Vec<ValueWrite> = plan.by_ref().collect();

        let changed = customers.div_ceil(3);
        assert!(slices.iter().all(|write| write.values.len() <= SLICE));
        assert_eq!(slices.len(), (changed + 1).div_ceil(SLICE));
        let written: Vec<&str> = slices
            .iter()
            .flat_map(|write| &write.values)
            .map(|value| value.golden_id.as_str())
            .collect();
        let expected: Vec<String> = (0..customers)
            .filter(|id| id % 3 == 0 || *id == 2)
            .map(|id| format!("cus_{id:06}"))
            .collect();
        assert_eq!(written, expected);
        let events: Vec<&ValueEvent> = slices.iter().flat_map(|write| &write.events).collect();
        assert_eq!(events.len(), changed);
        assert!(
            events
                .iter()
                .all(|event| event.operation == Operation::TierChanged)
        );
        assert_eq!(events[1].golden_id, "cus_000003");
        assert_eq!(events[1].version, 4);
        assert_eq!(events[0].version, 1);
        let removed: Vec<&String> = slices.iter().flat_map(|write| &write.removed).collect();
        assert_eq!(removed, [&format!("cus_{customers:06}")]);
        assert!(slices.last().is_some_and(|write| !write.removed.is_empty()));
        assert_eq!((plan.values_written, plan.events), (changed + 1, changed));
        assert_eq!(plan.changes.len(), changed);
        assert_eq!(
            plan.changes[0],
            Change {
                golden_id: "cus_000000".into(),
                before: (Tier::Lead, Stage::Stable),
                after: (Tier::Gold, Stage::Stable),
            }
        );
    }
}
