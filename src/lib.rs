//! Concord: integration middleware that joins CRM, ERP and SCM systems into one unified customer
//! database of golden records, and emits every change as an event.
//!
//! The data path runs one way, one stage per module: [`connector`] → [`mapping`] → [`reconcile`]
//! → [`store`] (with the outbox); [`sync`] drives a run through them, [`daemon`] schedules runs
//! and relays the outbox as a service, and [`app`] holds one function per command.

pub mod app;
pub mod cli;
pub mod config;
pub mod connector;
pub mod daemon;
pub mod mapping;
pub mod memory;
pub mod model;
pub mod publish;
pub mod reconcile;
pub mod redact;
pub mod schema;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod transport;
pub mod url;
pub mod value;
pub mod web;
pub mod yaml;
