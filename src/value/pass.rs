//! One value pass over the store: read the order facts, compute, compare with the stored values
//! and write what changed with its events.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
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
    /// The customers whose tier or stage changes, as `(before, after)`; `before` is `None` for a
    /// customer valued for the first time (it was `lead` and `prospect`).
    pub changes: Vec<(Option<CustomerValue>, CustomerValue)>,
    /// Values written (new or changed figures).
    pub values_written: usize,
    pub events: usize,
    /// What was left out and why; the caller says each once (printed or logged).
    pub notes: Vec<String>,
}

/// A customer's tier and stage before a pass: as stored, and for a customer not valued before
/// what every new customer is, `lead` and `prospect`. So a first pass over a store of 100,000
/// customers announces only those with orders, not 200,000 events that say nothing.
fn baseline(before: Option<&CustomerValue>) -> (Tier, Stage) {
    before.map_or((Tier::Lead, Stage::Prospect), |b| (b.tier, b.stage))
}

/// The writes that take the store from `previous` to `computed`: changed values, values of
/// customers no longer live, and an event per change of tier and per change of stage, carrying
/// the customer's `version` (from `versions`) and its new figures. Takes the computed values and
/// keeps only the changed ones: on a large store they are most of a pass's memory.
pub fn plan(
    previous: &[CustomerValue],
    computed: Vec<CustomerValue>,
    versions: &HashMap<&str, i64>,
    at: DateTime<Utc>,
) -> ValueWrite {
    let mut stored: HashMap<&str, &CustomerValue> = previous
        .iter()
        .map(|value| (value.golden_id.as_str(), value))
        .collect();
    let mut write = ValueWrite {
        at,
        ..ValueWrite::default()
    };
    for value in computed {
        let before = stored.remove(value.golden_id.as_str());
        if before == Some(&value) {
            continue;
        }
        let version = versions.get(value.golden_id.as_str()).copied().unwrap_or(1);
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
                at,
            });
        };
        let (tier_before, stage_before) = baseline(before);
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
        write.values.push(value);
    }
    let mut removed: Vec<String> = stored.into_keys().map(str::to_string).collect();
    removed.sort();
    write.removed = removed;
    write
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
    let previous = store.customer_values(None).await?;
    let write = plan(&previous, computed.values, &versions, now);
    drop(versions);
    drop(ids);
    if !dry_run && !write.is_empty() {
        store.write_values(&write).await?;
    }
    let events = write.events.len();
    let values_written = write.values.len();
    let before: HashMap<&str, &CustomerValue> = previous
        .iter()
        .map(|value| (value.golden_id.as_str(), value))
        .collect();
    let changes = write
        .values
        .into_iter()
        .filter_map(|value| {
            let old = before.get(value.golden_id.as_str()).copied();
            let changed = baseline(old) != (value.tier, value.stage);
            changed.then(|| (old.cloned(), value))
        })
        .collect();
    Ok(Pass {
        customers,
        currency: computed.currency,
        tiers,
        stages,
        changes,
        values_written,
        events,
        notes: computed.notes,
    })
}
