//! Configuration: one YAML file naming the store, the bus, the sources and the match rules.
pub mod yaml;
