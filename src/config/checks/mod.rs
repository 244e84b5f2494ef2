//! What `concord validate` checks beyond parsing, without running anything: the store URL, each
//! source's file patterns, SQL queries' placeholders, http streams' paths and paging, and every
//! `ca_file` and answer cap. Each
//! finding names the source (and stream) and the setting; errors would fail a run, warnings
//! (a store file still to be created, a pattern that matches no file now) would not.

mod files;
mod http;
mod sql;
mod store;
mod tls;

use super::{Config, SourceConfig};
use crate::connector::DriverConfig;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// A run would fail or misread: `validate` exits non-zero.
    Error,
    /// Worth knowing, not wrong: `validate` still succeeds.
    Warning,
}

/// One thing `validate` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// Where: `store`, `source `erp``, `source `erp` stream `customers``.
    pub place: String,
    /// The setting at fault, as written in the config (`pagination.limit`, `query`).
    pub setting: String,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{severity}: {}: `{}`: {}",
            self.place, self.setting, self.message
        )
    }
}

/// Collects the findings of one place.
pub(crate) struct Findings<'a> {
    place: String,
    found: &'a mut Vec<Finding>,
}

impl Findings<'_> {
    fn push(&mut self, severity: Severity, setting: &str, message: String) {
        self.found.push(Finding {
            severity,
            place: self.place.clone(),
            setting: setting.to_owned(),
            message,
        });
    }

    pub(crate) fn error(&mut self, setting: &str, message: impl Into<String>) {
        self.push(Severity::Error, setting, message.into());
    }

    pub(crate) fn warning(&mut self, setting: &str, message: impl Into<String>) {
        self.push(Severity::Warning, setting, message.into());
    }

    /// The findings of a stream of this source.
    pub(crate) fn stream(&mut self, name: &str) -> Findings<'_> {
        Findings {
            place: format!("{} stream `{name}`", self.place),
            found: self.found,
        }
    }
}

/// Everything `validate` can check of a loaded config without connecting to anything.
pub fn check(config: &Config) -> Vec<Finding> {
    let mut found = Vec::new();
    store::check(
        &config.store_url(),
        &mut Findings {
            place: "store".into(),
            found: &mut found,
        },
    );
    for source in &config.sources {
        let mut findings = Findings {
            place: format!("source `{}`", source.name),
            found: &mut found,
        };
        check_source(config, source, &mut findings);
    }
    if let Some(bus) = &config.bus {
        tls::check_ca_file(
            bus.ca_file.as_ref(),
            &config.base_dir,
            &mut Findings {
                place: "bus".into(),
                found: &mut found,
            },
        );
    }
    found
}

fn check_source(config: &Config, source: &SourceConfig, findings: &mut Findings<'_>) {
    if source.max_record_size == 0 {
        findings.error("max_record_size", "must be at least 1 byte");
    }
    let base = &config.base_dir;
    match &source.driver {
        DriverConfig::Csv(c) => {
            let pattern = match &c.folder {
                Some(folder) => format!("{}/{}", folder.trim_end_matches('/'), c.files),
                None => c.files.clone(),
            };
            files::check(&pattern, base, c.folder.is_some(), findings);
        }
        DriverConfig::Json(c) => {
            files::check(&c.files, base, false, findings);
            if let Some(records) = &c.records {
                http::check_jsonpath("records", records, findings);
            }
        }
        DriverConfig::Idoc(c) => files::check(&c.files, base, false, findings),
        DriverConfig::Http(c) => {
            http::check(c, findings);
            tls::check_ca_file(c.ca_file.as_ref(), base, findings);
            tls::check_response_cap(c.max_response_size, findings);
        }
        DriverConfig::Sql(c) => {
            sql::check(c, findings);
            tls::check_ca_file(c.ca_file.as_ref(), base, findings);
        }
        DriverConfig::Odoo(c) => {
            tls::check_ca_file(c.ca_file.as_ref(), base, findings);
            tls::check_response_cap(c.max_response_size, findings);
        }
        DriverConfig::Exec(_) => {}
    }
}
