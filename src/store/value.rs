//! The store's role for customer value: the order facts a value pass reads, the values it keeps
//! per golden customer (table `customer_value`, migration 0009) and the tier and stage events it
//! writes with them.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use futures::stream::BoxStream;

use super::{Operation, StoreError};
use crate::model::{CustomerValue, OrderFact};

/// A `customer.tier_changed` or `customer.stage_changed` event as a value pass writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueEvent {
    /// Unique and stable: consumers de-duplicate on it.
    pub event_id: String,
    pub operation: Operation,
    pub golden_id: String,
    /// The customer's current version: the event carries that record.
    pub version: i64,
    /// Keys added to the event's data, as the JSON text the outbox stores: the change
    /// (`tier: {from, to}`) and the figures (`value`). Text, because a first pass queues an event
    /// for every customer with orders, and held as JSON trees until the write they took 3.5 KB
    /// each: most of a 1M-customer pass's memory.
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// One slice of what a value pass changes. A pass's slices are written in one transaction:
/// values stored and events queued together or not at all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValueWrite {
    /// Values new or different from the stored ones.
    pub values: Vec<CustomerValue>,
    /// Customers no longer live (deleted, merged away): their values go.
    pub removed: Vec<String>,
    pub events: Vec<ValueEvent>,
    pub at: DateTime<Utc>,
}

impl ValueWrite {
    /// True when committing would write nothing.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.removed.is_empty() && self.events.is_empty()
    }
}

/// What a value pass reads and writes.
#[async_trait]
pub trait CustomerValues: Send + Sync {
    /// The live golden customers (neither deleted nor merged away) with their current versions,
    /// by ID.
    async fn live_customers(&self) -> Result<Vec<(String, i64)>, StoreError>;
    /// Customers merged away → the customer each was merged into (which may itself have been
    /// merged since).
    async fn customer_redirects(&self) -> Result<HashMap<String, String>, StoreError>;
    /// Every live golden order linked to a customer, read from the record's JSON.
    async fn order_facts(&self) -> Result<Vec<OrderFact>, StoreError>;
    /// The stored values as they are read, by golden ID; only those of `ids` when given. A
    /// stream, so that a pass over a million stored values keeps only what it compares.
    fn value_stream<'a>(
        &'a self,
        ids: Option<&'a [&'a str]>,
    ) -> BoxStream<'a, Result<CustomerValue, StoreError>>;
    /// The stored values, by golden ID; only those of `ids` when given.
    async fn customer_values(
        &self,
        ids: Option<&[&str]>,
    ) -> Result<Vec<CustomerValue>, StoreError> {
        self.value_stream(ids).try_collect().await
    }
    /// Stores a pass's values and queues its events in one transaction: every slice `writes`
    /// yields, planned as the store asks for it so that a pass holds one slice at a time, or
    /// none of them.
    async fn write_values(
        &self,
        writes: &mut (dyn Iterator<Item = ValueWrite> + Send),
    ) -> Result<(), StoreError>;
}

/// An order's facts from a row of either engine's order-facts query (every column read as text).
pub(super) fn order_fact<'r, R: sqlx::Row>(row: &'r R) -> Result<OrderFact, StoreError>
where
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(OrderFact {
        order_id: row.try_get("order_id")?,
        customer_id: row.try_get("customer_id")?,
        order_date: row.try_get("order_date")?,
        currency: row.try_get("currency")?,
        total_amount: row.try_get("total_amount")?,
    })
}

/// The two columns of a row as a pair, on either engine (a golden ID and its version, or its
/// redirect).
pub(super) fn pair<'r, R: sqlx::Row, A, B>(
    row: &'r R,
    (first, second): (&'r str, &'r str),
) -> Result<(A, B), StoreError>
where
    &'r str: sqlx::ColumnIndex<R>,
    A: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    B: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok((row.try_get(first)?, row.try_get(second)?))
}
