//! Customer value and lifecycle: lifetime revenue, order count, first and last order and average
//! order value per golden customer, computed from its linked orders; a value tier by the 80/20
//! rule and a lifecycle stage from order recency and frequency. A pass runs after each sync and by
//! `concord value`; a change of tier or stage is announced as `customer.tier_changed` /
//! `customer.stage_changed`, queued with the stored value in one transaction.

mod compute;
mod config;
mod pass;

pub use crate::model::{CustomerValue, OrderFact, Stage, Tier};
pub use compute::{Computed, compute};
pub use config::{TierShares, ValueConfig};
pub use pass::{Change, Pass, ValueError, refresh};
