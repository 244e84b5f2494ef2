//! Mapping tests: YAML files (`*.test.yaml`) next to the mappings they test, each case an input
//! record and what the mapping must make of it: a canonical record (the fields listed, compared
//! exactly; fields not listed are not checked), a quarantine reason, or no mapping selecting it.
//! `concord test` runs them, so a mapping change is checked in CI like code.
//!
//! ```yaml
//! mapping: customer.yaml           # relative to this file
//! tests:
//!   - name: a company with a VAT ID
//!     input: { name: CUST-0001, customer_name: "Müller GmbH", tax_id: DE123456789 }
//!     expect:
//!       key: CUST-0001
//!       fields: { name: "Müller GmbH", tax_id: DE123456789 }
//!   - name: a record without a name is refused
//!     input_file: fixtures/no-name.json
//!     expect: { quarantine: "field `name` is required" }
//!   - name: the second IDoc of a file as SAP's file port wrote it
//!     input_file: fixtures/debmas.xml
//!     record: 2
//!     expect: { key: "100002" }
//! ```

use std::path::{Path, PathBuf};

use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{MapOutcome, MappingError, MappingSet};
use crate::connector::idoc::{IdocConfig, IdocConnector};
use crate::connector::{Connector, Pulled};
use crate::model::{EntityKind, RawRecord};
use crate::yaml::{self, YamlError};

/// The suffix that marks a mapping test file.
pub const TEST_FILE_SUFFIX: &str = ".test.yaml";

/// One test file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    /// The mapping under test, relative to the test file.
    mapping: PathBuf,
    /// The source name the records are mapped for (lineage shows it); `test` when unset.
    #[serde(default)]
    source: Option<String>,
    tests: Vec<TestCase>,
}

/// One input record and what must become of it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestCase {
    name: String,
    /// The raw record, as the driver delivers it (CSV rows and IDocs in their JSON form).
    #[serde(default)]
    input: Option<Value>,
    /// A file holding the raw record, relative to the test file: JSON (the record), or SAP IDoc
    /// XML read by the idoc driver itself, so a file SAP wrote is a fixture as it stands.
    #[serde(default)]
    input_file: Option<PathBuf>,
    /// Which IDoc of an XML `input_file` (1-based; the first when unset).
    #[serde(default)]
    record: Option<usize>,
    /// The stream the record came from, for mappings that select on `stream:`.
    #[serde(default)]
    stream: Option<String>,
    expect: Expectation,
}

/// What the mapping must make of the input: exactly one of a mapped record, a quarantine reason,
/// or `unmatched`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expectation {
    #[serde(default)]
    entity: Option<EntityKind>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    deleted: Option<bool>,
    /// Canonical fields compared exactly; fields not listed are not checked.
    #[serde(default)]
    fields: Option<Map<String, Value>>,
    /// A part of the quarantine reason.
    #[serde(default)]
    quarantine: Option<String>,
    /// No mapping's `when:` selects the record.
    #[serde(default)]
    unmatched: bool,
}

/// A test file that cannot be run: unreadable, malformed, or its mapping does not compile.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error("{file}: test `{name}`: {reason}")]
    Case {
        file: PathBuf,
        name: String,
        reason: String,
    },
}

/// The outcome of one test case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    pub name: String,
    /// Each difference between what was expected and what the mapping made; empty when it passed.
    pub differences: Vec<String>,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Runs every case of one test file.
pub async fn run_file(path: &Path) -> Result<Vec<CaseResult>, SuiteError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| YamlError::at(path, 0, 0, format!("cannot read test file: {e}")))?;
    let file: TestFile = yaml::from_str(path, &text)?;
    let folder = path.parent().unwrap_or(Path::new("."));
    let mappings = MappingSet::load(&[folder.join(&file.mapping)])?;
    let source = file.source.as_deref().unwrap_or("test");
    let mut results = Vec::with_capacity(file.tests.len());
    for (n, case) in file.tests.iter().enumerate() {
        let payload = input(path, folder, case).await?;
        let raw = RawRecord {
            origin: format!("{}#{}", path.display(), n + 1),
            payload,
            stream: case.stream.as_deref().map(Into::into),
        };
        results.push(CaseResult {
            name: case.name.clone(),
            differences: compare(&case.expect, mappings.map(source, &raw)),
        });
    }
    Ok(results)
}

/// The test files under `path` (itself when it is one), in name order; hidden folders and
/// `target/` are not searched.
pub fn find(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let pattern = path.join("**").join(format!("*{TEST_FILE_SUFFIX}"));
    let options = glob::MatchOptions {
        require_literal_leading_dot: true,
        ..glob::MatchOptions::new()
    };
    let mut found: Vec<PathBuf> = glob::glob_with(&pattern.to_string_lossy(), options)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|file| {
            !file
                .strip_prefix(path)
                .unwrap_or(file)
                .components()
                .any(|part| part.as_os_str() == "target")
        })
        .collect();
    found.sort();
    found
}

async fn input(path: &Path, folder: &Path, case: &TestCase) -> Result<Value, SuiteError> {
    let broken = |reason: String| SuiteError::Case {
        file: path.to_path_buf(),
        name: case.name.clone(),
        reason,
    };
    match (&case.input, &case.input_file) {
        (Some(value), None) => Ok(value.clone()),
        (None, Some(file)) if file.extension().is_some_and(|e| e == "xml") => {
            let wanted = case.record.unwrap_or(1);
            let file = std::path::absolute(folder.join(file))
                .map_err(|e| broken(format!("{}: {e}", file.display())))?;
            let mut idocs = idocs(&file).await.map_err(broken)?;
            if wanted == 0 || wanted > idocs.len() {
                return Err(broken(format!(
                    "{} holds {} IDoc(s), not a #{wanted}",
                    file.display(),
                    idocs.len()
                )));
            }
            Ok(idocs.swap_remove(wanted - 1))
        }
        (None, Some(file)) => {
            let file = folder.join(file);
            let text = std::fs::read_to_string(&file)
                .map_err(|e| broken(format!("cannot read {}: {e}", file.display())))?;
            serde_json::from_str(&text)
                .map_err(|e| broken(format!("{} is not JSON: {e}", file.display())))
        }
        _ => Err(broken(
            "give exactly one of `input` and `input_file`".into(),
        )),
    }
}

/// The IDocs of an XML file, read by the idoc driver as a sync reads them.
async fn idocs(file: &Path) -> Result<Vec<Value>, String> {
    let config = IdocConfig::new(file.display().to_string());
    let connector = IdocConnector::new(config, Path::new("/"));
    let mut stream = connector.pull(None);
    let mut records = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(Pulled::Record(raw)) => records.push(raw.payload),
            Ok(_) => {}
            Err(error) => return Err(error.to_string()),
        }
    }
    Ok(records)
}

/// The differences between what a case expects and what the mapping made of its input.
fn compare(expect: &Expectation, outcome: MapOutcome) -> Vec<String> {
    let mut differences = Vec::new();
    match outcome {
        MapOutcome::Mapped(record) => {
            if let Some(wanted) = &expect.quarantine {
                differences.push(format!(
                    "expected quarantine ({wanted}), the record was mapped"
                ));
            }
            if expect.unmatched {
                differences.push("expected no mapping to select the record, one did".into());
            }
            if let Some(entity) = expect.entity
                && entity != record.record.kind()
            {
                differences.push(format!(
                    "entity: expected {entity}, got {}",
                    record.record.kind()
                ));
            }
            if let Some(key) = &expect.key
                && *key != record.key
            {
                differences.push(format!("key: expected {key:?}, got {:?}", record.key));
            }
            if let Some(deleted) = expect.deleted
                && deleted != record.deleted
            {
                differences.push(format!(
                    "deleted: expected {deleted}, got {}",
                    record.deleted
                ));
            }
            let fields = record.record.to_fields();
            for (name, wanted) in expect.fields.iter().flatten() {
                match fields.get(name) {
                    Some(got) if got == wanted => {}
                    Some(got) => {
                        differences.push(format!("field `{name}`: expected {wanted}, got {got}"))
                    }
                    None if wanted.is_null() => {}
                    None => {
                        differences.push(format!("field `{name}`: expected {wanted}, got nothing"))
                    }
                }
            }
        }
        MapOutcome::Failed(failure) => match &expect.quarantine {
            Some(wanted) if failure.reason.contains(wanted.as_str()) => {}
            Some(wanted) => differences.push(format!(
                "quarantine reason: expected one containing {wanted:?}, got {:?}",
                failure.reason
            )),
            None => differences.push(format!("quarantined: {}", failure.reason)),
        },
        MapOutcome::Unmatched if expect.unmatched => {}
        MapOutcome::Unmatched => {
            differences.push("no mapping's `when:` selects the record".into());
        }
    }
    differences
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(mapping: &str, tests: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("customers.yaml"), mapping).unwrap();
        std::fs::write(dir.path().join("customers.test.yaml"), tests).unwrap();
        dir
    }

    const MAPPING: &str = "entity: customer\nkey: { path: \"$.id\" }\nfields:\n  name: { path: \"$.name\", transforms: [trim], required: true }\n  tax_id: { path: \"$.vat\", transforms: [trim, upper] }\n";

    #[tokio::test]
    async fn a_mapped_record_is_compared_field_by_field() {
        let dir = project(
            MAPPING,
            "mapping: customers.yaml\ntests:\n  - name: right\n    input: { id: \"7\", name: \" ACME \", vat: de1 }\n    expect: { key: \"7\", fields: { name: ACME, tax_id: DE1 } }\n  - name: wrong\n    input: { id: \"8\", name: ACME, vat: de2 }\n    expect: { key: \"9\", fields: { tax_id: DE1, emails: [a@b.c] } }\n",
        );
        let results = run_file(&dir.path().join("customers.test.yaml"))
            .await
            .unwrap();
        assert!(results[0].passed(), "{:?}", results[0]);
        assert_eq!(
            results[1].differences,
            vec![
                "key: expected \"9\", got \"8\"".to_string(),
                "field `tax_id`: expected \"DE1\", got \"DE2\"".to_string(),
                "field `emails`: expected [\"a@b.c\"], got nothing".to_string(),
            ]
        );
    }

    #[tokio::test]
    async fn a_quarantine_is_expected_by_part_of_its_reason() {
        let dir = project(
            MAPPING,
            "mapping: customers.yaml\ntests:\n  - name: refused\n    input: { id: \"7\", name: \"  \" }\n    expect: { quarantine: \"`name`\" }\n  - name: refused but mapped was expected\n    input: { id: \"7\" }\n    expect: { key: \"7\" }\n",
        );
        let results = run_file(&dir.path().join("customers.test.yaml"))
            .await
            .unwrap();
        assert!(results[0].passed(), "{:?}", results[0]);
        assert!(
            results[1].differences[0].starts_with("quarantined: "),
            "{:?}",
            results[1]
        );
    }

    #[tokio::test]
    async fn a_case_without_input_names_the_file_and_the_test() {
        let dir = project(
            MAPPING,
            "mapping: customers.yaml\ntests:\n  - name: empty\n    expect: { unmatched: true }\n",
        );
        let error = run_file(&dir.path().join("customers.test.yaml"))
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("customers.test.yaml: test `empty`"),
            "{error}"
        );
    }
}
