//! The TLS and size settings a source or the bus shares: a `ca_file` must be a readable PEM file
//! of certificates (checked as the HTTP client loads it; the database and AMQP clients read the
//! same PEM form), and an answer cap of 0 bytes would refuse every answer.

use std::path::{Path, PathBuf};

use super::Findings;
use crate::transport::http::load_ca_file;

/// Checks a `ca_file` setting, resolved against the config's folder as a run resolves it.
pub(super) fn check_ca_file(ca_file: Option<&PathBuf>, base: &Path, findings: &mut Findings<'_>) {
    if let Some(file) = ca_file
        && let Err(error) = load_ca_file(&base.join(file))
    {
        findings.error("ca_file", error.to_string());
    }
}

/// Checks a `max_response_size` setting.
pub(super) fn check_response_cap(max_response_size: u64, findings: &mut Findings<'_>) {
    if max_response_size == 0 {
        findings.error("max_response_size", "must be at least 1 byte");
    }
}
