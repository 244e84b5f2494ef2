//! The store URL: a known scheme; for SQLite, a file that can be opened or created; for
//! PostgreSQL, a URL the driver can read.

use std::path::Path;
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

use super::Findings;

pub(super) fn check(url: &str, findings: &mut Findings<'_>) {
    let shown = crate::url::shown(url);
    if url.starts_with("sqlite:") {
        if url.contains(":memory:") {
            findings.warning(
                "url",
                format!("{shown} is in memory: nothing is kept after the run"),
            );
            return;
        }
        match SqliteConnectOptions::from_str(url) {
            Ok(options) => check_sqlite_file(options.get_filename(), findings),
            Err(error) => findings.error("url", format!("{shown}: {error}")),
        }
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        if let Err(error) = PgConnectOptions::from_str(url) {
            findings.error("url", format!("{shown} is not a PostgreSQL URL: {error}"));
        }
    } else {
        findings.error(
            "url",
            format!("unknown store `{shown}`: use sqlite://PATH or postgres://USER@HOST/DATABASE"),
        );
    }
}

/// An existing file must be a writable file; a missing one will be created, in a folder that
/// exists (or will be created) and can be written.
fn check_sqlite_file(file: &Path, findings: &mut Findings<'_>) {
    let shown = file.display();
    match std::fs::metadata(file) {
        Ok(metadata) if !metadata.is_file() => {
            findings.error("url", format!("store file {shown} is not a file"));
        }
        Ok(metadata) if metadata.permissions().readonly() => {
            findings.error("url", format!("store file {shown} is read-only"));
        }
        Ok(_) => {}
        Err(_) => {
            let Some(folder) = file
                .ancestors()
                .skip(1)
                .find(|p| p.as_os_str().is_empty() || p.exists())
            else {
                return;
            };
            let folder = if folder.as_os_str().is_empty() {
                Path::new(".")
            } else {
                folder
            };
            match std::fs::metadata(folder) {
                Ok(metadata) if !metadata.is_dir() => findings.error(
                    "url",
                    format!("store file {shown}: {} is not a folder", folder.display()),
                ),
                Ok(metadata) if metadata.permissions().readonly() => findings.error(
                    "url",
                    format!(
                        "store file {shown} cannot be created: folder {} is read-only",
                        folder.display()
                    ),
                ),
                _ => findings.warning(
                    "url",
                    format!("store file {shown} does not exist yet and will be created"),
                ),
            }
        }
    }
}
