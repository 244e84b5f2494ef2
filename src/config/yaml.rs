//! The one place YAML is parsed, so the parser can be swapped in one line and every YAML error
//! reads the same: `file:line:col: reason`.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// A YAML file that could not be read or did not have the expected shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{}: {message}", path.display(), position(*line, *column))]
pub struct YamlError {
    pub path: PathBuf,
    /// 1-based line of the offending node (0 when unknown).
    pub line: usize,
    /// 1-based column of the offending node (0 when unknown).
    pub column: usize,
    pub message: String,
}

/// `:line:col`, or nothing when the error is about the file as a whole.
fn position(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}:{column}")
    }
}

impl YamlError {
    /// An error at a known position of `path`.
    pub fn at(path: &Path, line: usize, column: usize, message: impl Into<String>) -> YamlError {
        YamlError {
            path: path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// Deserializes `text`, read from `path`, into `T`; errors carry the node's line and column.
pub fn from_str<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, YamlError> {
    serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let message = strip_location(&e.to_string());
        YamlError::at(path, line, column, message)
    })
}

/// Serializes `value` as YAML, for files Concord writes itself (trained weights).
pub fn to_string<T: serde::Serialize>(path: &Path, value: &T) -> Result<String, YamlError> {
    serde_yaml::to_string(value).map_err(|e| YamlError::at(path, 0, 0, e.to_string()))
}

/// Reads and deserializes a YAML file.
pub fn from_file<T: DeserializeOwned>(path: &Path) -> Result<T, YamlError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| YamlError::at(path, 0, 0, format!("cannot read file: {e}")))?;
    from_str(path, &text)
}

/// Finds where `key:` is written in `text` (the first line whose first token is that key), for
/// errors found after parsing, such as a field name the entity does not have.
pub fn locate_key(text: &str, key: &str) -> Option<(usize, usize)> {
    text.lines().enumerate().find_map(|(i, line)| {
        let trimmed = line.trim_start().trim_start_matches("- ");
        let rest = trimmed.strip_prefix(key)?;
        let rest = rest.trim_start_matches(['"', '\'']);
        rest.trim_start()
            .starts_with(':')
            .then(|| (i + 1, line.len() - trimmed.len() + 1))
    })
}

/// Finds the first place `needle` is written in `text`, for errors about a value rather than a
/// key (a field name inside a flow list, a duplicated name).
pub fn locate_text(text: &str, needle: &str) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .find_map(|(i, line)| line.find(needle).map(|col| (i + 1, col + 1)))
}

/// serde_yaml appends " at line L column C" to its messages; the position is reported in front.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
    }

    #[test]
    fn unknown_key_reports_line_and_column() {
        let err = from_str::<Sample>(Path::new("x.yaml"), "name: a\nnmae: b\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, 1));
        assert!(
            err.to_string()
                .starts_with("x.yaml:2:1: unknown field `nmae`"),
            "{err}"
        );
    }

    #[test]
    fn locates_a_key_written_in_the_text() {
        let text = "entity: customer\nfields:\n  nmae: { path: \"$.a\" }\n";
        assert_eq!(locate_key(text, "nmae"), Some((3, 3)));
        assert_eq!(locate_key(text, "name"), None);
        assert_eq!(locate_text(text, "$.a"), Some((3, 18)));
    }
}
