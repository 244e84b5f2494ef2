//! Configuration: one YAML file naming the store, the sources and the match rules.
//!
//! Relative paths in it (data files, mappings, the SQLite file) resolve against the config file's
//! own folder, so a copied example runs from anywhere.

pub mod checks;
pub mod env;
pub mod profile;
pub mod serve;
pub mod service;

use crate::reconcile::rules::{MatchRule, Matching, SurvivorshipSpec};
pub use service::{OperationsConfig, Schedule};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::connector::DriverConfig;
use crate::model::{self, EntityKind};
use crate::yaml::{self, YamlError};

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where golden records, cross-references, lineage, checkpoints, quarantine and the outbox live.
    pub store: StoreConfig,
    /// The systems records are pulled from, in the order a sync runs them.
    pub sources: Vec<SourceConfig>,
    /// How records of each entity are matched to existing golden records, per entity
    /// (`customer`, `product`, `order`, `bom`); rules are tried in order.
    #[serde(default, rename = "match")]
    pub match_rules: BTreeMap<EntityKind, Vec<MatchRule>>,
    /// How each golden field's value is chosen among the source records, per entity: a default
    /// strategy and per-field strategies (`priority`, `most_recent`, `most_complete`, `union`).
    #[serde(default)]
    pub survivorship: BTreeMap<EntityKind, SurvivorshipSpec>,
    /// The message bus (RabbitMQ) change events are published to; without it events stay in the
    /// outbox.
    #[serde(default)]
    pub bus: Option<crate::publish::BusConfig>,
    /// How `concord run` serves: health and metrics address, shutdown grace, relay pace.
    #[serde(default)]
    pub operations: OperationsConfig,
    /// Customer value and lifecycle: the currency tiers are ranked in, exchange rates, tier
    /// shares and the lifecycle thresholds; computed after each sync and by `concord value`.
    #[serde(default)]
    pub value: crate::value::ValueConfig,
    /// The read-only API and the steward page (`concord serve`, and `concord run` on the
    /// operations address): its address and who may log in.
    #[serde(default)]
    pub serve: serve::ServeConfig,
    /// The folder of the config file; relative paths resolve against it. Set by [`Config::load`].
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// The unified store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://concord.db` (a path relative to the config file, created when missing),
    /// `sqlite::memory:`, or `postgres://user:password@host:5432/database` for a shared store.
    pub url: String,
}

/// One source system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SourceConfig {
    /// A short unique name: it prefixes cross-references, lineage and checkpoints, so never rename
    /// a source that has been synced.
    pub name: String,
    /// A connector profile (`connectors/<profile>.yaml`) whose settings this source's keys are
    /// merged over, so a source gives only its URL and credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The transport and its settings, chosen by `driver:`.
    #[serde(flatten)]
    pub driver: DriverConfig,
    /// Survivorship: when sources disagree on a field, the higher priority wins.
    #[serde(default)]
    pub priority: i32,
    /// Mapping files for this source's records, tried in order.
    pub mappings: Vec<PathBuf>,
    /// When `concord run` pulls this source (`every: 5m` or `cron: "…"`, with `jitter`); every
    /// five minutes without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Largest record taken from this source, in bytes (default 16 MiB), measured as its JSON
    /// text. A bigger one is quarantined with its size (its stored payload cut to a prefix) and
    /// the run goes on, so one runaway record cannot exhaust memory; the file drivers apply it
    /// while reading (an IDoc, a JSON item or line, a CSV line), before a record is loaded whole.
    #[serde(default = "crate::connector::files::default_max_record_size")]
    pub max_record_size: u64,
}

impl SourceConfig {
    /// The file drivers cap a record while reading it, before it is loaded whole: they are given
    /// the source's `max_record_size`.
    fn hand_max_record_size_to_driver(&mut self) {
        let limit = self.max_record_size;
        match &mut self.driver {
            DriverConfig::Csv(c) => c.max_record_size = limit,
            DriverConfig::Json(c) => c.max_record_size = limit,
            DriverConfig::Idoc(c) => c.max_record_size = limit,
            DriverConfig::Http(_)
            | DriverConfig::Odoo(_)
            | DriverConfig::Sql(_)
            | DriverConfig::Exec(_) => {}
        }
    }
}

/// A config that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Yaml(#[from] YamlError),
}

impl Config {
    /// Reads a config file: environment variables substituted, paths resolved, names checked.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| YamlError::at(path, 0, 0, format!("cannot read config: {e}")))?;
        let text = env::interpolate(path, &text, |name| std::env::var(name).ok())?;
        // A config in the working directory has an empty folder: paths stay as written.
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let doc = yaml::from_str(path, &text)?;
        let mut config: Config = match profile::expand_sources(path, &text, doc, &base_dir)? {
            Some(expanded) => profile::config_from_expanded(path, &text, expanded)?,
            None => yaml::from_str(path, &text)?,
        };
        config.base_dir = base_dir;
        config.check(path, &text)?;
        if let Some(ca_file) = config.bus.as_mut().and_then(|bus| bus.ca_file.as_mut()) {
            *ca_file = config.base_dir.join(&*ca_file);
        }
        for source in &mut config.sources {
            for mapping in &mut source.mappings {
                *mapping = config.base_dir.join(&*mapping);
            }
            source.hand_max_record_size_to_driver();
        }
        Ok(config)
    }

    /// The source named `name`.
    pub fn source(&self, name: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// The mapping files of a source, built-in copies where no file on disk overrides them.
    pub fn mapping_files(&self, source: &SourceConfig) -> Vec<crate::mapping::MappingFile> {
        profile::mapping_files(&self.base_dir, &source.mappings)
    }

    /// What reconciliation needs of this config.
    pub fn matching(&self) -> Matching<'_> {
        Matching {
            rules: &self.match_rules,
            survivorship: &self.survivorship,
            priorities: self
                .sources
                .iter()
                .map(|s| (s.name.clone(), s.priority))
                .collect(),
            base_dir: &self.base_dir,
        }
    }

    /// The store URL with a relative SQLite path resolved against the config's folder.
    pub fn store_url(&self) -> String {
        crate::url::resolve_sqlite(&self.store.url, &self.base_dir)
    }

    fn check(&self, path: &Path, text: &str) -> Result<(), YamlError> {
        let at = |key: &str, message: String| {
            let (line, column) = yaml::locate_key(text, key).unwrap_or((0, 0));
            YamlError::at(path, line, column, message)
        };
        let at_text = |needle: &str, message: String| {
            let (line, column) = yaml::locate_text(text, needle).unwrap_or((0, 0));
            YamlError::at(path, line, column, message)
        };
        if self.sources.is_empty() {
            return Err(at("sources", "no sources configured".into()));
        }
        if let Some(problem) = self.value.problem() {
            return Err(at("value", problem));
        }
        let mut names = std::collections::HashSet::new();
        for source in &self.sources {
            if !names.insert(source.name.as_str()) {
                return Err(at(
                    "name",
                    format!("source `{}` is configured twice", source.name),
                ));
            }
            if let Some(problem) = source.schedule.as_ref().and_then(Schedule::problem) {
                return Err(at(
                    "schedule",
                    format!("source `{}`: schedule: {problem}", source.name),
                ));
            }
            if source.mappings.is_empty() {
                return Err(at(
                    "mappings",
                    format!("source `{}` has no mappings", source.name),
                ));
            }
        }
        for (entity, rules) in &self.match_rules {
            for rule in rules {
                if rule.exact.is_empty() == rule.compare.is_empty() {
                    return Err(at_text(
                        &rule.rule,
                        format!(
                            "match rule `{}`: give either `exact:` fields or `compare:` comparisons",
                            rule.rule
                        ),
                    ));
                }
                if rule.is_scored() && rule.blocking.is_empty() {
                    return Err(at_text(
                        &rule.rule,
                        format!(
                            "match rule `{}`: a scored rule needs `blocking:` keys, or every record would be compared with every other",
                            rule.rule
                        ),
                    ));
                }
                if let Err(reason) = rule.check_thresholds() {
                    return Err(at_text(&rule.rule, reason));
                }
                for comparison in &rule.compare {
                    if let Some(field) = &comparison.field
                        && !model::field_names(*entity).contains(&field.as_str())
                    {
                        return Err(at_text(
                            field,
                            format!(
                                "match rule `{}`: {entity} has no field `{field}`",
                                rule.rule
                            ),
                        ));
                    }
                }

                for field in &rule.exact {
                    if !model::field_names(*entity).contains(&field.as_str()) {
                        return Err(at_text(
                            field,
                            format!(
                                "match rule `{}`: {entity} has no field `{field}` (fields: {})",
                                rule.rule,
                                model::field_names(*entity).join(", ")
                            ),
                        ));
                    }
                }
            }
        }
        for (entity, survive) in &self.survivorship {
            for field in survive.fields.keys() {
                if !model::field_names(*entity).contains(&field.as_str()) {
                    return Err(at_text(
                        field,
                        format!("survivorship: {entity} has no field `{field}`"),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("concord.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }

    const VALID: &str = r#"
store: { url: "sqlite://data/concord.db" }
sources:
  - name: sap
    driver: idoc
    files: "inbound/*.xml"
    priority: 10
    mappings: [maps/debmas.yaml]
match:
  customer:
    - { rule: vat, exact: [tax_id] }
"#;

    #[test]
    fn relative_paths_resolve_against_the_config_folder() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(&write(dir.path(), VALID)).unwrap();
        assert_eq!(
            config.store_url(),
            format!("sqlite://{}/data/concord.db", dir.path().display())
        );
        assert_eq!(
            config.sources[0].mappings[0],
            dir.path().join("maps/debmas.yaml")
        );
        assert_eq!(config.sources[0].priority, 10);
        assert_eq!(
            config.matching().rules_of(EntityKind::Customer)[0].exact,
            vec!["tax_id"]
        );
        assert!(config.matching().rules_of(EntityKind::Product).is_empty());
    }

    #[test]
    fn a_misspelt_source_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let text = VALID.replace("priority: 10", "prioritty: 10");
        let err = Config::load(&write(dir.path(), &text))
            .unwrap_err()
            .to_string();
        assert!(err.contains("prioritty"), "{err}");
    }

    #[test]
    fn a_match_rule_on_an_unknown_field_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let text = VALID.replace("exact: [tax_id]", "exact: [vat_id]");
        let err = Config::load(&write(dir.path(), &text))
            .unwrap_err()
            .to_string();
        assert!(err.contains("concord.yaml:11:28:"), "{err}");
        assert!(err.contains("no field `vat_id`"), "{err}");
    }
}
