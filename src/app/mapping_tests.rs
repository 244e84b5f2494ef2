//! `concord test`: runs the mapping tests (`*.test.yaml`) under the given paths and reports each
//! case, with a field-by-field list of what differed, and `N passed, M failed`.

use std::path::PathBuf;

use super::output;
use super::{AppError, Outcome};
use crate::mapping::suite;

/// Runs the test files under `paths` (the current folder when none is given). A failing case
/// makes the command incomplete (exit 1); a test file that cannot be run is an error (exit 2).
pub async fn test(paths: &[PathBuf]) -> Result<Outcome, AppError> {
    let roots = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let files: Vec<PathBuf> = roots.iter().flat_map(|root| suite::find(root)).collect();
    if files.is_empty() {
        return Err(AppError::Usage(format!(
            "no mapping tests (`*{}`) under {}",
            suite::TEST_FILE_SUFFIX,
            roots
                .iter()
                .map(|root| root.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        let results = suite::run_file(file)
            .await
            .map_err(|error| AppError::Usage(error.to_string()))?;
        for result in results {
            if result.passed() {
                passed += 1;
                output::line(format!("ok      {}: {}", file.display(), result.name));
            } else {
                failed += 1;
                output::line(format!("FAILED  {}: {}", file.display(), result.name));
                for difference in &result.differences {
                    output::line(format!("        {difference}"));
                }
            }
        }
    }
    output::line(format!("{passed} passed, {failed} failed"));
    Ok(if failed == 0 {
        Outcome::Done
    } else {
        Outcome::Incomplete
    })
}
