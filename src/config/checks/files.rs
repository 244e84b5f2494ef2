//! A file source's pattern: valid, and whether it finds files now.

use std::path::Path;

use super::Findings;
use crate::connector::ConnectorError;
use crate::connector::files::expand;

/// `drop_folder`: files arrive over time, so an empty folder is no surprise (still said).
pub(super) fn check(pattern: &str, base: &Path, drop_folder: bool, findings: &mut Findings<'_>) {
    match expand(pattern, base) {
        Ok((files, errors)) => {
            for error in errors {
                findings.warning("files", error.to_string());
            }
            if files.is_empty() {
                let when = if drop_folder {
                    "the drop folder is empty"
                } else {
                    "a run would read nothing"
                };
                findings.warning("files", format!("`{pattern}` matches no file now ({when})"));
            }
        }
        Err(ConnectorError::Pattern { message, .. }) => {
            findings.error("files", format!("invalid pattern `{pattern}`: {message}"));
        }
        // A plain path that does not exist: an error when a run starts, but the export may
        // not have arrived yet.
        Err(error) => findings.warning("files", error.to_string()),
    }
}
